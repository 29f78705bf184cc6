//! Owns the filter tree: [`Filter`] (AND / OR / NOT of conditions), [`Condition`] (a field
//! path and a [`Lookup`]). Built by the typed shell's field methods or by the dynamic core.

use crate::path::FieldPath;
use throughline_core::Value;

/// How a field is compared.
///
/// Text lookups: `Contains`, `StartsWith`, `EndsWith` are case-sensitive on every backend;
/// the `I*` variants fold ASCII letters only (`A`–`Z` equal `a`–`z`), the same rule on every
/// backend (SQLite's own case folding is ASCII-only, so PostgreSQL is brought to it).
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
