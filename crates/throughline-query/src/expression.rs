//! Owns [`Expression`], the value side of the query tree: a field (Django's `F`), a
//! constant, arithmetic, functions (`COALESCE`, `LOWER`, `UPPER`), `CASE WHEN`, casts, and
//! the aggregates (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`, each with `DISTINCT` and a filter).
//!
//! A [`SelectQuery`](crate::SelectQuery) annotates its rows with expressions, groups when
//! one holds an aggregate, and filters on them (`HAVING`); an
//! [`UpdateQuery`](crate::UpdateQuery) assigns them. Rendering lives with the join planner
//! in [`crate::select`], which knows the tables a path reaches.

use crate::filter::{Comparison, Condition, Filter};
use crate::path::{FieldPath, Hop};
use crate::select::OrderBy;
use throughline_core::{FieldType, Value};

/// A value computed by the database for each row (or each group).
///
/// ```
/// use throughline_query::{AggregateFunction, Expression, FieldPath};
/// let total = Expression::aggregate(AggregateFunction::Sum, Expression::field(FieldPath::local("stock")));
/// assert!(total.has_aggregate());
/// assert!(!Expression::field(FieldPath::local("stock")).has_aggregate());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// A field, possibly across relations (Django's `F("course__title")`).
    Field(FieldPath),
    /// A constant, bound as a parameter (`NULL` is written as the keyword).
    Value(Value),
    /// `left op right`.
    Arith(Box<Expression>, ArithOp, Box<Expression>),
    /// A scalar function of its arguments.
    Function(Function, Vec<Expression>),
    /// `CASE WHEN filter THEN value ... ELSE default END`.
    Case(Vec<(Filter, Expression)>, Box<Expression>),
    /// The expression converted to a storage type (so that every backend returns the same
    /// type: PostgreSQL's `SUM` of `bigint` is `numeric`, MariaDB's `AVG` is `DECIMAL`).
    Cast(Box<Expression>, FieldType),
    /// An aggregate over the rows of a group.
    Aggregate(Box<Aggregate>),
    /// A value read from the rows related to the row, in a correlated subquery (Django's
    /// `Exists`, and `Subquery` with `OuterRef`).
    Related(Box<Related>),
}

/// The rows related to the outer row across `hops` (the first hop's columns correlate the
/// subquery with the outer row), kept by `filter` and ordered by `order_by` (both relative
/// to the last model of `hops`), and what is read from them.
///
/// ```
/// use throughline_query::{Expression, Filter, Related, RelatedRead};
/// let any = Expression::Related(Box::new(Related {
///     hops: Vec::new(), filter: Filter::All, order_by: Vec::new(), read: RelatedRead::Exists,
/// }));
/// assert!(!any.has_aggregate());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    /// From the outer model to the related one.
    pub hops: Vec<Hop>,
    /// Which related rows count.
    pub filter: Filter,
    /// Their order (for [`RelatedRead::First`]).
    pub order_by: Vec<OrderBy>,
    /// What is read.
    pub read: RelatedRead,
}

/// What a [`Related`] subquery reads.
#[derive(Debug, Clone, PartialEq)]
pub enum RelatedRead {
    /// Whether any related row matches (`EXISTS`).
    Exists,
    /// How many do (`(SELECT COUNT(*) ...)`): unlike a count over a join, not multiplied by
    /// the query's other joins.
    Count,
    /// The value of the first related row by the ordering, NULL when there is none.
    First(Expression),
}

/// An arithmetic operator.
///
/// ```
/// # use throughline_query::*;
/// let price = Expression::field(FieldPath::local("price"));
/// let total = price.arith(ArithOp::Mul, Expression::value(3i64)); // price * 3
/// assert!(matches!(total, Expression::Arith(_, ArithOp::Mul, _)));
/// assert_ne!(ArithOp::Div, ArithOp::IntDiv); // `/` on floats, truncating on integers
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/` on floating-point values.
    Div,
    /// Division of integers, truncated toward zero on every backend (`DIV` on MariaDB,
    /// whose `/` returns a decimal).
    IntDiv,
}

/// A scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The first argument that is not NULL.
    Coalesce,
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// A part of a date or a time (Django's `__year`, `__month`, ... lookups), as an
    /// integer, in UTC.
    Extract(DatePart),
}

/// A part of a date or a date and time, read as an integer in UTC (Django's transforms).
///
/// ```
/// use throughline_query::DatePart;
/// assert_ne!(DatePart::Year, DatePart::Month);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    /// The year.
    Year,
    /// The month, 1 to 12.
    Month,
    /// The day of the month, 1 to 31.
    Day,
    /// The day of the week, 1 (Sunday) to 7 (Saturday), as Django's `week_day`.
    WeekDay,
    /// The hour, 0 to 23.
    Hour,
    /// The minute, 0 to 59.
    Minute,
}

/// The aggregate functions.
///
/// ```
/// # use throughline_core::*;
/// # use throughline_query::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let price = FieldMeta::new("price", FieldType::F64);
/// # let product: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Product", "product", vec![id, price])));
/// let mut q = SelectQuery::new(product);
/// q.annotate(Expression::aggregate(AggregateFunction::Max, Expression::field(FieldPath::local("price"))));
/// let sql = q.render(Backend::Sqlite)?.sql;
/// assert!(sql.contains(r#"MAX("product"."price")"#));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// The number of rows (no argument) or of non-NULL values.
    Count,
    /// The sum (NULL over no row, as SQL and Django).
    Sum,
    /// The mean (NULL over no row).
    Avg,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

impl AggregateFunction {
    fn sql_name(self) -> &'static str {
        match self {
            AggregateFunction::Count => "COUNT",
            AggregateFunction::Sum => "SUM",
            AggregateFunction::Avg => "AVG",
            AggregateFunction::Min => "MIN",
            AggregateFunction::Max => "MAX",
        }
    }
}

/// One aggregate: its function, argument, `DISTINCT` and filter (Django's
/// `Count("students", distinct=True, filter=Q(...))`).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function.
    pub function: AggregateFunction,
    /// The argument; `None` counts rows (`COUNT(*)`).
    pub argument: Option<Expression>,
    /// Whether equal values count once.
    pub distinct: bool,
    /// Rows of the group the aggregate reads (the others count as NULL).
    pub filter: Option<Filter>,
}

impl Aggregate {
    /// The SQL text of the aggregate around `$1`, its rendered argument (`COUNT(*)` when
    /// there is none).
    pub(crate) fn template(&self, has_argument: bool) -> String {
        let name = self.function.sql_name();
        let distinct = if self.distinct { "DISTINCT " } else { "" };
        if has_argument {
            format!("{name}({distinct}$1)")
        } else {
            format!("{name}(*)")
        }
    }
}

impl Expression {
    /// A field reference.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(matches!(Expression::field(FieldPath::local("a")), Expression::Field(_)));
    /// ```
    pub fn field(path: FieldPath) -> Expression {
        Expression::Field(path)
    }

    /// A constant.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert_eq!(Expression::value(3i64), Expression::Value(3i64.into()));
    /// ```
    pub fn value(value: impl Into<Value>) -> Expression {
        Expression::Value(value.into())
    }

    /// `COUNT(*)`: the rows of the group.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(Expression::count_rows().has_aggregate());
    /// ```
    pub fn count_rows() -> Expression {
        Expression::Aggregate(Box::new(Aggregate {
            function: AggregateFunction::Count,
            argument: None,
            distinct: false,
            filter: None,
        }))
    }

    /// `function(argument)`.
    ///
    /// ```
    /// # use throughline_query::*;
    /// let max = Expression::aggregate(AggregateFunction::Max, Expression::field(FieldPath::local("age")));
    /// assert!(matches!(max, Expression::Aggregate(ref a) if a.function == AggregateFunction::Max));
    /// ```
    pub fn aggregate(function: AggregateFunction, argument: Expression) -> Expression {
        Expression::Aggregate(Box::new(Aggregate {
            function,
            argument: Some(argument),
            distinct: false,
            filter: None,
        }))
    }

    /// `left op right`.
    ///
    /// ```
    /// # use throughline_query::*;
    /// let e = Expression::field(FieldPath::local("price")).arith(ArithOp::Mul, Expression::value(2.0));
    /// assert!(matches!(e, Expression::Arith(_, ArithOp::Mul, _)));
    /// ```
    pub fn arith(self, op: ArithOp, right: Expression) -> Expression {
        Expression::Arith(Box::new(self), op, Box::new(right))
    }

    /// Whether an aggregate occurs in the expression.
    ///
    /// ```
    /// # use throughline_query::*;
    /// let price = Expression::field(FieldPath::local("price"));
    /// assert!(!price.has_aggregate());
    /// let doubled_count = Expression::count_rows().arith(ArithOp::Mul, Expression::value(2i64));
    /// assert!(doubled_count.has_aggregate()); // found inside the arithmetic
    /// ```
    pub fn has_aggregate(&self) -> bool {
        match self {
            Expression::Field(_) | Expression::Value(_) => false,
            Expression::Aggregate(_) => true,
            Expression::Arith(left, _, right) => left.has_aggregate() || right.has_aggregate(),
            Expression::Function(_, args) => args.iter().any(Expression::has_aggregate),
            Expression::Case(whens, default) => {
                default.has_aggregate()
                    || whens
                        .iter()
                        .any(|(filter, value)| filter.has_aggregate() || value.has_aggregate())
            }
            Expression::Cast(inner, _) => inner.has_aggregate(),
            // The subquery aggregates its own rows, not the outer query's groups.
            Expression::Related(_) => false,
        }
    }

    /// The same expression with every field path reached through `prefix` first.
    ///
    /// ```
    /// # use throughline_query::*;
    /// let e = Expression::field(FieldPath::local("a")).prefixed(&[]);
    /// assert_eq!(e, Expression::field(FieldPath::local("a")));
    /// ```
    pub fn prefixed(&self, prefix: &[Hop]) -> Expression {
        if prefix.is_empty() {
            return self.clone();
        }
        match self {
            Expression::Field(path) => Expression::Field(path.clone().prefixed(prefix)),
            Expression::Value(_) => self.clone(),
            Expression::Arith(left, op, right) => Expression::Arith(
                Box::new(left.prefixed(prefix)),
                *op,
                Box::new(right.prefixed(prefix)),
            ),
            Expression::Function(function, args) => {
                Expression::Function(*function, args.iter().map(|a| a.prefixed(prefix)).collect())
            }
            Expression::Case(whens, default) => Expression::Case(
                whens
                    .iter()
                    .map(|(f, v)| (f.prefixed(prefix), v.prefixed(prefix)))
                    .collect(),
                Box::new(default.prefixed(prefix)),
            ),
            Expression::Cast(inner, ty) => Expression::Cast(Box::new(inner.prefixed(prefix)), *ty),
            Expression::Aggregate(aggregate) => Expression::Aggregate(Box::new(Aggregate {
                function: aggregate.function,
                argument: aggregate.argument.as_ref().map(|a| a.prefixed(prefix)),
                distinct: aggregate.distinct,
                filter: aggregate.filter.as_ref().map(|f| f.prefixed(prefix)),
            })),
            Expression::Related(related) => {
                let mut hops = prefix.to_vec();
                hops.extend(related.hops.iter().cloned());
                Expression::Related(Box::new(Related {
                    hops,
                    ..(**related).clone()
                }))
            }
        }
    }

    /// Whether the expression is a value per group: it holds an aggregate and reads no
    /// field outside one (`COUNT(*) + 1` is; `COUNT(*) + views` is not).
    ///
    /// ```
    /// # use throughline_query::*;
    /// let n = Expression::count_rows();
    /// assert!(n.clone().arith(ArithOp::Add, Expression::value(1i64)).is_aggregated());
    /// assert!(!n.arith(ArithOp::Add, Expression::field(FieldPath::local("views"))).is_aggregated());
    /// ```
    pub fn is_aggregated(&self) -> bool {
        self.has_aggregate() && !self.reads_bare_field()
    }

    /// Whether a field is read outside any aggregate or subquery.
    fn reads_bare_field(&self) -> bool {
        match self {
            Expression::Field(_) => true,
            Expression::Value(_) | Expression::Aggregate(_) | Expression::Related(_) => false,
            Expression::Arith(left, _, right) => {
                left.reads_bare_field() || right.reads_bare_field()
            }
            Expression::Function(_, args) => args.iter().any(Expression::reads_bare_field),
            Expression::Case(whens, default) => {
                default.reads_bare_field()
                    || whens.iter().any(|(filter, value)| {
                        filter.reads_bare_field() || value.reads_bare_field()
                    })
            }
            Expression::Cast(inner, _) => inner.reads_bare_field(),
        }
    }

    /// Whether a field reference in the expression crosses a relation.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert!(!Expression::field(FieldPath::local("a")).has_hops());
    /// ```
    pub fn has_hops(&self) -> bool {
        match self {
            Expression::Field(path) => !path.hops.is_empty(),
            Expression::Value(_) => false,
            Expression::Aggregate(aggregate) => {
                aggregate
                    .argument
                    .as_ref()
                    .is_some_and(Expression::has_hops)
                    || aggregate.filter.as_ref().is_some_and(Filter::has_hops)
            }
            Expression::Arith(left, _, right) => left.has_hops() || right.has_hops(),
            Expression::Function(_, args) => args.iter().any(Expression::has_hops),
            Expression::Case(whens, default) => {
                default.has_hops()
                    || whens
                        .iter()
                        .any(|(filter, value)| filter.has_hops() || value.has_hops())
            }
            Expression::Cast(inner, _) => inner.has_hops(),
            Expression::Related(_) => true,
        }
    }
}

impl Filter {
    /// Whether the filter reads a field outside an aggregate (every lookup does).
    fn reads_bare_field(&self) -> bool {
        match self {
            Filter::All => false,
            Filter::Cond(_) => true,
            Filter::Compare(c) => c.left.reads_bare_field() || c.right.reads_bare_field(),
            Filter::And(parts) | Filter::Or(parts) => parts.iter().any(Filter::reads_bare_field),
            Filter::Not(inner) => inner.reads_bare_field(),
        }
    }

    /// The same filter with every field path reached through `prefix` first.
    ///
    /// ```
    /// # use throughline_query::*;
    /// assert_eq!(Filter::All.prefixed(&[]), Filter::All);
    /// ```
    pub fn prefixed(&self, prefix: &[Hop]) -> Filter {
        if prefix.is_empty() {
            return self.clone();
        }
        match self {
            Filter::All => Filter::All,
            Filter::Cond(cond) => Filter::Cond(Box::new(Condition {
                path: cond.path.clone().prefixed(prefix),
                lookup: cond.lookup.clone(),
            })),
            Filter::And(parts) => Filter::And(parts.iter().map(|p| p.prefixed(prefix)).collect()),
            Filter::Or(parts) => Filter::Or(parts.iter().map(|p| p.prefixed(prefix)).collect()),
            Filter::Not(inner) => Filter::Not(Box::new(inner.prefixed(prefix))),
            Filter::Compare(c) => Filter::Compare(Box::new(Comparison {
                left: c.left.prefixed(prefix),
                op: c.op,
                right: c.right.prefixed(prefix),
            })),
        }
    }
}
