//! Owns the filter tree: [`Filter`] (AND / OR / NOT of conditions), [`Condition`] (a field
//! path and a [`Lookup`]). Built by the typed shell's field methods or by the dynamic core.

use crate::expression::Expression;
use crate::path::FieldPath;
use throughline_core::Value;

/// How a field is compared.
///
/// Text lookups: `Contains`, `StartsWith`, `EndsWith` are case-sensitive on every backend;
/// the `I*` variants fold ASCII letters only (`A`–`Z` equal `a`–`z`), the same rule on every
/// backend (SQLite's own case folding is ASCII-only, so PostgreSQL is brought to it).
///
/// ```
/// # use throughline_core::*;
/// # use throughline_query::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let name = FieldMeta::new("name", FieldType::String { max_length: None });
/// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id, name])));
/// let mut q = SelectQuery::new(tag);
/// q.filter(Filter::cond(FieldPath::local("name"), Lookup::IStartsWith("rust".into())));
/// q.filter(Filter::cond(FieldPath::local("id"), Lookup::In(vec![1i64.into(), 2i64.into()])));
/// let stmt = q.render(Backend::Sqlite)?;
/// assert!(stmt.sql.contains("LIKE")); // ASCII-insensitive, the same on every backend
/// assert_eq!(stmt.params[0], Value::String("rust%".into()));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Lookup {
    /// `=`; `Exact(Value::Null)` is `IS NULL` (as Django).
    Exact(Value),
    /// ASCII-case-insensitive equality.
    IExact(String),
    /// `<`.
    Lt(Value),
    /// `<=`.
    Lte(Value),
    /// `>`.
    Gt(Value),
    /// `>=`.
    Gte(Value),
    /// `IN (...)`; an empty list matches nothing.
    In(Vec<Value>),
    /// `IS NULL` (`true`) or `IS NOT NULL` (`false`).
    IsNull(bool),
    /// Case-sensitive substring.
    Contains(String),
    /// ASCII-case-insensitive substring.
    IContains(String),
    /// Case-sensitive prefix.
    StartsWith(String),
    /// ASCII-case-insensitive prefix.
    IStartsWith(String),
    /// Case-sensitive suffix.
    EndsWith(String),
    /// ASCII-case-insensitive suffix.
    IEndsWith(String),
    /// `BETWEEN low AND high` (inclusive).
    Range(Value, Value),
}

/// One condition: a field reached by a path, compared by a lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field.
    pub path: FieldPath,
    /// The comparison.
    pub lookup: Lookup,
}

/// A boolean combination of conditions.
///
/// ```
/// use throughline_query::{Filter, FieldPath, Lookup};
/// let f = Filter::cond(FieldPath::local("grade"), Lookup::Exact("A".into()))
///     .or(Filter::cond(FieldPath::local("grade"), Lookup::Exact("B".into())));
/// assert!(matches!(f, Filter::Or(ref v) if v.len() == 2));
/// assert!(matches!(!Filter::All, Filter::Not(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Matches every row.
    All,
    /// One condition.
    Cond(Box<Condition>),
    /// All of these.
    And(Vec<Filter>),
    /// Any of these.
    Or(Vec<Filter>),
    /// Not this (NULL-aware, as Django: `exclude` keeps rows whose field is NULL).
    Not(Box<Filter>),
    /// Two expressions compared (`price > cost`, `COUNT(students) >= 10`). A comparison
    /// holding an aggregate is a `HAVING` condition.
    Compare(Box<Comparison>),
}

/// How a [`Comparison`] compares its two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=` (a NULL side matches nothing, as SQL).
    Eq,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
}

/// Two expressions compared, for conditions a [`Lookup`] on one field cannot say: a field
/// against another field (Django's `F`), or an aggregate against a value (`HAVING`).
///
/// ```
/// use throughline_query::{CompareOp, Comparison, Expression, FieldPath, Filter};
/// let f = Filter::compare(Expression::field(FieldPath::local("stock")), CompareOp::Lt,
///     Expression::field(FieldPath::local("reserved")));
/// assert!(matches!(f, Filter::Compare(ref c) if c.op == CompareOp::Lt));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The left side.
    pub left: Expression,
    /// The comparison.
    pub op: CompareOp,
    /// The right side.
    pub right: Expression,
}

impl Filter {
    /// A single condition.
    ///
    /// ```
    /// # use throughline_query::*;
    /// let f = Filter::cond(FieldPath::local("id"), Lookup::IsNull(true));
    /// assert!(matches!(f, Filter::Cond(_)));
    /// ```
    pub fn cond(path: FieldPath, lookup: Lookup) -> Filter {
        Filter::Cond(Box::new(Condition { path, lookup }))
    }

    /// `left op right`: compares two expressions (fields, values, aggregates), where
    /// [`Filter::cond`] compares a field with a value by a [`Lookup`].
    ///
    /// ```
    /// # use throughline_query::*;
    /// // sold > stock: a field against another field
    /// let f = Filter::compare(
    ///     Expression::field(FieldPath::local("sold")),
    ///     CompareOp::Gt,
    ///     Expression::field(FieldPath::local("stock")),
    /// );
    /// assert!(matches!(&f, Filter::Compare(c) if c.op == CompareOp::Gt));
    /// assert!(!f.has_aggregate()); // a WHERE, not a HAVING
    /// ```
    pub fn compare(left: Expression, op: CompareOp, right: Expression) -> Filter {
        Filter::Compare(Box::new(Comparison { left, op, right }))
    }

    /// Whether an aggregate occurs in the filter (it then belongs in `HAVING`).
    ///
    /// ```
    /// # use throughline_query::*;
    /// let count = Expression::count_rows();
    /// assert!(Filter::compare(count, CompareOp::Gt, Expression::value(1i64)).has_aggregate());
    /// assert!(!Filter::All.has_aggregate());
    /// ```
    pub fn has_aggregate(&self) -> bool {
        match self {
            Filter::All | Filter::Cond(_) => false,
            Filter::Compare(c) => c.left.has_aggregate() || c.right.has_aggregate(),
            Filter::And(v) | Filter::Or(v) => v.iter().any(Filter::has_aggregate),
            Filter::Not(f) => f.has_aggregate(),
        }
    }

    /// Both this and `other`.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(matches!(Filter::All.and(Filter::All), Filter::All));
    /// ```
    pub fn and(self, other: Filter) -> Filter {
        match (self, other) {
            (Filter::All, f) | (f, Filter::All) => f,
            (Filter::And(mut a), Filter::And(b)) => {
                a.extend(b);
                Filter::And(a)
            }
            (Filter::And(mut a), f) => {
                a.push(f);
                Filter::And(a)
            }
            (f, g) => Filter::And(vec![f, g]),
        }
    }

    /// Either this or `other`.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(matches!(Filter::All.or(Filter::cond(FieldPath::local("a"), Lookup::IsNull(true))), Filter::All));
    /// ```
    pub fn or(self, other: Filter) -> Filter {
        match (self, other) {
            (Filter::All, _) | (_, Filter::All) => Filter::All,
            (Filter::Or(mut a), Filter::Or(b)) => {
                a.extend(b);
                Filter::Or(a)
            }
            (Filter::Or(mut a), f) => {
                a.push(f);
                Filter::Or(a)
            }
            (f, g) => Filter::Or(vec![f, g]),
        }
    }

    /// Whether any condition crosses a relation.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(!Filter::cond(FieldPath::local("a"), Lookup::IsNull(true)).has_hops());
    /// ```
    pub fn has_hops(&self) -> bool {
        match self {
            Filter::All => false,
            Filter::Cond(c) => !c.path.hops.is_empty(),
            Filter::Compare(c) => c.left.has_hops() || c.right.has_hops(),
            Filter::And(v) | Filter::Or(v) => v.iter().any(Filter::has_hops),
            Filter::Not(f) => f.has_hops(),
        }
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;
    fn not(self) -> Filter {
        match self {
            Filter::Not(inner) => *inner,
            other => Filter::Not(Box::new(other)),
        }
    }
}
