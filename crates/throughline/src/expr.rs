//! Owns the typed expressions: [`Expr`] (a value of type `T` computed for each row of
//! model `M`: a field, arithmetic, a function), [`Agg`] (an aggregate over related rows,
//! with `distinct` and `filter`), [`Operand`] (what an expression is compared with or
//! combined with: a constant, a field, another expression) and [`Selection`] (what
//! [`QuerySet::annotate`](crate::QuerySet::annotate),
//! [`QuerySet::aggregate`](crate::QuerySet::aggregate) and
//! [`QuerySet::group_by`](crate::QuerySet::group_by) read back, typed). The functions
//! [`coalesce`], [`lower`], [`upper`], [`now`], [`when`] and [`count_rows`] build the rest;
//! [`year`], [`month`], [`day`], [`week_day`], [`hour`] and [`minute`] read a part of a
//! date or a time (Django's `__year`, ... lookups).
//!
//! The result types follow from the inputs at compile time: a count is an `i64`, a sum
//! of integers an `Option<i64>` (NULL over no row, as SQL and Django), a mean an
//! `Option<f64>` (of decimals an `Option<Decimal>`, as Django), the smallest of `Option<i32>` values an `Option<i32>`.
//!
//! ```
//! use throughline::prelude::*;
//! use throughline::expr::coalesce;
//! # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
//! # #[derive(Debug, Clone, Model)] struct Lesson { id: Option<i64>, #[throughline(related_name = "lessons")] course: ForeignKey<Course>, minutes: i32 }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Course::meta()).register(Lesson::meta());
//! # throughline::create_tables(&db, &r).await?;
//! let math = Course { id: None, title: "math".into() }.create(&db).await?;
//! Course { id: None, title: "art".into() }.create(&db).await?;
//! for minutes in [30, 45] {
//!     Lesson { id: None, course: ForeignKey::to(&math), minutes }.create(&db).await?;
//! }
//! let lessons = Course::LESSONS.count();
//! let minutes = coalesce(Course::LESSONS.then(Lesson::MINUTES).sum(), 0);
//! let rows: Vec<(Course, (i64, i64))> = Course::objects()
//!     .annotate((lessons.clone(), minutes))
//!     .order_by([lessons.desc()])
//!     .all(&db)
//!     .await?;
//! let summary: Vec<(&str, i64, i64)> =
//!     rows.iter().map(|(c, (n, m))| (c.title.as_str(), *n, *m)).collect();
//! assert_eq!(summary, [("math", 2, 75), ("art", 0, 0)]);
//! # Ok(()) }
//! ```

use crate::fields::{Field, Q, Rel};
use crate::value_types::FieldValue;
use chrono::{DateTime, NaiveDate, Utc};
use std::marker::PhantomData;
use throughline_core::{FieldType, Result};
use throughline_db::Row;
use throughline_query::{
    Aggregate, AggregateFunction, ArithOp, CompareOp, DatePart, Expression, Filter, Function,
    OrderBy, Related, RelatedRead,
};

/// A value of type `T` computed by the database for each row of `M` (or each group):
/// a field (Django's `F`), a constant, arithmetic, a function, `CASE WHEN`.
///
/// Build one from a field with [`Field::expr`] or an operator (`Product::PRICE * 1.1`),
/// compare it with [`Expr::gt`] and the other comparisons (a field against another field:
/// `Product::STOCK.expr().lt(Product::RESERVED)`), order by it with [`Expr::desc`], assign
/// it with [`Field::set_expr`], read it back with
/// [`QuerySet::annotate`](crate::QuerySet::annotate).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Product::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
/// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
/// # }
/// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
/// use throughline::expr::Expr;
/// let free: Expr<Product, i32> = Product::STOCK - Product::RESERVED;
/// let names = Product::objects()
///     .filter(free.gt(0))
///     .values_list(Product::NAME, &db)
///     .await?;
/// assert_eq!(names, ["pen"]);
/// # Ok(()) }
/// ```
pub struct Expr<M, T> {
    expression: Expression,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Expr<M, T> {
    fn clone(&self) -> Self {
        Expr::new(self.expression.clone())
    }
}

impl<M, T> std::fmt::Debug for Expr<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.expression.fmt(f)
    }
}

impl<M, T> Expr<M, T> {
    /// Wraps an untyped expression, whose value the caller declares to be a `T`.
    ///
    /// ```
    /// use throughline::expr::Expr;
    /// use throughline::{Expression, FieldPath};
    /// # #[derive(Debug, Clone, throughline::Model)] struct Tag { id: Option<i64>, name: String }
    /// let e: Expr<Tag, String> = Expr::new(Expression::field(FieldPath::local("name")));
    /// assert_eq!(e.expression(), &Expression::field(FieldPath::local("name")));
    /// ```
    pub fn new(expression: Expression) -> Self {
        Expr {
            expression,
            _types: PhantomData,
        }
    }

    /// The untyped expression.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// use throughline::{Expression, FieldPath};
    /// assert_eq!(Product::NAME.expr().expression(), &Expression::field(FieldPath::local("name")));
    /// # Ok(()) }
    /// ```
    pub fn expression(&self) -> &Expression {
        &self.expression
    }

    /// The untyped expression, taken.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// use throughline::{Expression, FieldPath};
    /// assert_eq!(Product::NAME.expr().into_expression(), Expression::field(FieldPath::local("name")));
    /// # Ok(()) }
    /// ```
    pub fn into_expression(self) -> Expression {
        self.expression
    }

    fn compare(&self, op: CompareOp, other: impl Operand<M, T>) -> Q<M> {
        Q::new(Filter::compare(
            self.expression.clone(),
            op,
            other.into_expression(),
        ))
    }

    /// Equal to `other` (a constant, a field or an expression of the same type). A NULL
    /// side matches nothing, as SQL.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED;
    /// assert_eq!(Product::objects().filter(free.eq(8)).values_list(Product::NAME, &db).await?, ["pen"]);
    /// assert_eq!(Product::objects().filter(Product::STOCK.expr().eq(Product::RESERVED)).count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn eq(&self, other: impl Operand<M, T>) -> Q<M> {
        self.compare(CompareOp::Eq, other)
    }

    /// Not equal: the negation of [`Expr::eq`], which keeps the rows where either side
    /// is NULL (as `exclude`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().filter(Product::STOCK.expr().ne(Product::RESERVED)).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn ne(&self, other: impl Operand<M, T>) -> Q<M> {
        !self.eq(other)
    }

    /// Less than `other`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let short = Product::objects().filter(Product::STOCK.expr().lt(Product::RESERVED));
    /// assert_eq!(short.values_list(Product::NAME, &db).await?, ["ink"]);
    /// # Ok(()) }
    /// ```
    pub fn lt(&self, other: impl Operand<M, T>) -> Q<M> {
        self.compare(CompareOp::Lt, other)
    }

    /// Less than or equal to `other`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().filter(Product::STOCK.expr().lte(Product::RESERVED)).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn lte(&self, other: impl Operand<M, T>) -> Q<M> {
        self.compare(CompareOp::Lte, other)
    }

    /// Greater than `other`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Product { id: None, stock: 5, reserved: 7 }.create(&db).await?;
    /// Product { id: None, stock: 9, reserved: 2 }.create(&db).await?;
    /// // A field against another field of the same row (Django's `F`).
    /// let oversold = Product::objects()
    ///     .filter(Product::RESERVED.expr().gt(Product::STOCK))
    ///     .count(&db)
    ///     .await?;
    /// assert_eq!(oversold, 1);
    /// # Ok(()) }
    /// ```
    pub fn gt(&self, other: impl Operand<M, T>) -> Q<M> {
        self.compare(CompareOp::Gt, other)
    }

    /// Greater than or equal to `other`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().filter(Product::STOCK.expr().gte(Product::RESERVED)).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn gte(&self, other: impl Operand<M, T>) -> Q<M> {
        self.compare(CompareOp::Gte, other)
    }

    /// Ascending order on the value.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED; // pen 8, ink -2, pad 0
    /// let names = Product::objects().order_by([free.asc()]).values_list(Product::NAME, &db).await?;
    /// assert_eq!(names, ["ink", "pad", "pen"]);
    /// # Ok(()) }
    /// ```
    pub fn asc(&self) -> OrderBy {
        OrderBy {
            expression: self.expression.clone(),
            descending: false,
        }
    }

    /// Descending order on the value.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let value = Product::PRICE * 2.0; // pen 3.0, ink 8.0, pad 5.0
    /// let names = Product::objects().order_by([value.desc()]).values_list(Product::NAME, &db).await?;
    /// assert_eq!(names, ["ink", "pad", "pen"]);
    /// # Ok(()) }
    /// ```
    pub fn desc(&self) -> OrderBy {
        OrderBy {
            expression: self.expression.clone(),
            descending: true,
        }
    }

    /// The number of rows where the value is not NULL.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let n = Product::objects().aggregate(Product::STOCK.expr().count(), &db).await?;
    /// assert_eq!(n, 3);
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> Agg<M, i64> {
        Agg::new(
            AggregateFunction::Count,
            Some(self.expression.clone()),
            None,
        )
    }
}

impl<M, T: Numeric> Expr<M, T> {
    /// The sum over the group: `None` when no row has a value.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED;
    /// assert_eq!(Product::objects().aggregate(free.sum(), &db).await?, Some(6));
    /// # Ok(()) }
    /// ```
    pub fn sum(&self) -> Agg<M, T::Total> {
        Agg::new(
            AggregateFunction::Sum,
            Some(self.expression.clone()),
            T::TOTAL_CAST,
        )
    }

    /// The mean over the group (a float, a decimal for decimals): `None` when no row has
    /// a value.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED;
    /// assert_eq!(Product::objects().aggregate(free.avg(), &db).await?, Some(2.0));
    /// # Ok(()) }
    /// ```
    pub fn avg(&self) -> Agg<M, T::Mean> {
        Agg::new(
            AggregateFunction::Avg,
            Some(self.expression.clone()),
            T::MEAN_CAST,
        )
    }
}

impl<M, T: Comparable> Expr<M, T> {
    /// The smallest value of the group: `None` when no row has one.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED;
    /// assert_eq!(Product::objects().aggregate(free.min(), &db).await?, Some(-2));
    /// # Ok(()) }
    /// ```
    pub fn min(&self) -> Agg<M, Option<T::Inner>> {
        Agg::new(AggregateFunction::Min, Some(self.expression.clone()), None)
    }

    /// The largest value of the group: `None` when no row has one.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// let free = Product::STOCK - Product::RESERVED;
    /// assert_eq!(Product::objects().aggregate(free.max(), &db).await?, Some(8));
    /// # Ok(()) }
    /// ```
    pub fn max(&self) -> Agg<M, Option<T::Inner>> {
        Agg::new(AggregateFunction::Max, Some(self.expression.clone()), None)
    }
}

/// An aggregate over the rows of a group (Django's `Count`, `Sum`, `Avg`, `Min`, `Max`),
/// from [`Rel::count`], [`Field::sum`] and the like. [`Agg::distinct`] counts equal values
/// once; [`Agg::filter`] reads only the rows matching a condition. Use it wherever an
/// [`Expr`] goes.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
/// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
/// # Author { id: None, name: "cy".into() }.create(&db).await?;
/// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
/// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
/// # }
/// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
/// use throughline::expr::Agg;
/// let books: Agg<Author, i64> = Author::BOOKS.count();
/// let names = Author::objects()
///     .filter(books.clone().gte(2))
///     .values_list(Author::NAME, &db)
///     .await?;
/// assert_eq!(names, ["ann"]);
/// assert_eq!(Book::objects().aggregate(Book::PAGES.sum(), &db).await?, Some(600));
/// # Ok(()) }
/// ```
pub struct Agg<M, T> {
    aggregate: Aggregate,
    cast: Option<FieldType>,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Agg<M, T> {
    fn clone(&self) -> Self {
        Agg {
            aggregate: self.aggregate.clone(),
            cast: self.cast,
            _types: PhantomData,
        }
    }
}

impl<M, T> std::fmt::Debug for Agg<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.aggregate.fmt(f)
    }
}

impl<M, T> Agg<M, T> {
    fn new(
        function: AggregateFunction,
        argument: Option<Expression>,
        cast: Option<FieldType>,
    ) -> Self {
        Agg {
            aggregate: Aggregate {
                function,
                argument,
                distinct: false,
                filter: None,
            },
            cast,
            _types: PhantomData,
        }
    }

    /// Equal values count once (`COUNT(DISTINCT ...)`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Visit { id: Option<i64>, page: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Visit::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for page in ["/", "/", "/about"] {
    ///     Visit { id: None, page: page.into() }.create(&db).await?;
    /// }
    /// let pages = Visit::objects().aggregate(Visit::PAGE.count().distinct(), &db).await?;
    /// assert_eq!(pages, 2);
    /// # Ok(()) }
    /// ```
    pub fn distinct(mut self) -> Self {
        self.aggregate.distinct = true;
        self
    }

    /// Reads only the rows matching `q` (Django's `filter=Q(...)`); the others count as
    /// NULL. Several calls all apply.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Task { id: Option<i64>, done: bool }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Task::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for done in [true, false, true] {
    ///     Task { id: None, done }.create(&db).await?;
    /// }
    /// let all = throughline::expr::count_rows::<Task>();
    /// let done = all.clone().filter(Task::DONE.eq(true));
    /// assert_eq!(Task::objects().aggregate((all, done), &db).await?, (3, 2));
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, q: Q<M>) -> Self {
        let filter = match self.aggregate.filter.take() {
            Some(existing) => existing.and(q.into_filter()),
            None => q.into_filter(),
        };
        self.aggregate.filter = Some(filter);
        self
    }

    /// The aggregate as an expression.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// let doubled = Author::BOOKS.count().expr() * 2;
    /// let rows = Author::objects().annotate(doubled).order_by([Author::NAME.asc()]).all(&db).await?;
    /// assert_eq!(rows.iter().map(|(_, n)| *n).collect::<Vec<i64>>(), [4, 2, 0]);
    /// # Ok(()) }
    /// ```
    pub fn expr(&self) -> Expr<M, T> {
        let aggregate = Expression::Aggregate(Box::new(self.aggregate.clone()));
        Expr::new(match self.cast {
            Some(ty) => Expression::Cast(Box::new(aggregate), ty),
            None => aggregate,
        })
    }

    /// Equal to `other` (see [`Expr::eq`]); in a `filter`, a condition on the group
    /// (`HAVING`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().eq(1)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["bo"]);
    /// # Ok(()) }
    /// ```
    pub fn eq(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().eq(other)
    }

    /// Not equal (see [`Expr::ne`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().ne(1)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["ann", "cy"]);
    /// # Ok(()) }
    /// ```
    pub fn ne(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().ne(other)
    }

    /// Less than (see [`Expr::lt`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().lt(2)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["bo", "cy"]);
    /// # Ok(()) }
    /// ```
    pub fn lt(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().lt(other)
    }

    /// Less than or equal (see [`Expr::lte`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().lte(0)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["cy"]);
    /// # Ok(()) }
    /// ```
    pub fn lte(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().lte(other)
    }

    /// Greater than (see [`Expr::gt`]): `Course::STUDENTS.count().gt(10)` keeps the
    /// courses with more than ten students.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().gt(0)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["ann", "bo"]);
    /// # Ok(()) }
    /// ```
    pub fn gt(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().gt(other)
    }

    /// Greater than or equal (see [`Expr::gte`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// assert_eq!(Author::objects().filter(Author::BOOKS.count().gte(1)).order_by([Author::NAME.asc()]).values_list(Author::NAME, &db).await?, ["ann", "bo"]);
    /// # Ok(()) }
    /// ```
    pub fn gte(&self, other: impl Operand<M, T>) -> Q<M> {
        self.expr().gte(other)
    }

    /// Ascending order on the aggregate.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// let names = Author::objects().order_by([Author::BOOKS.count().asc()]).values_list(Author::NAME, &db).await?;
    /// assert_eq!(names, ["cy", "bo", "ann"]);
    /// # Ok(()) }
    /// ```
    pub fn asc(&self) -> OrderBy {
        self.expr().asc()
    }

    /// Descending order on the aggregate.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, genre, pages) in [(&ann, "scifi", 300), (&ann, "novel", 200), (&bo, "scifi", 100)] {
    /// #     Book { id: None, author: ForeignKey::to(author), genre: genre.into(), pages }.create(&db).await?;
    /// # }
    /// // Authors ann (books: scifi 300 pages, novel 200), bo (scifi 100) and cy (none).
    /// let names = Author::objects().order_by([Author::BOOKS.count().desc()]).values_list(Author::NAME, &db).await?;
    /// assert_eq!(names, ["ann", "bo", "cy"]);
    /// # Ok(()) }
    /// ```
    pub fn desc(&self) -> OrderBy {
        self.expr().desc()
    }
}

impl<M, T> From<Agg<M, T>> for Expr<M, T> {
    fn from(agg: Agg<M, T>) -> Self {
        agg.expr()
    }
}

impl<M, T> From<Field<M, T>> for Expr<M, T> {
    fn from(field: Field<M, T>) -> Self {
        field.expr()
    }
}

impl<M, T> Field<M, T> {
    /// The field as an expression (Django's `F("field")`), to compare with another field,
    /// compute with, or aggregate.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// // Products whose stock does not cover what is reserved (a field against a field).
    /// let names = Product::objects()
    ///     .filter(Product::STOCK.expr().lt(Product::RESERVED))
    ///     .values_list(Product::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["ink"]);
    /// # Ok(()) }
    /// ```
    pub fn expr(&self) -> Expr<M, T> {
        Expr::new(Expression::Field(self.path()))
    }

    /// The number of rows where the field is not NULL (`Count("field")`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().aggregate(Product::NAME.count(), &db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> Agg<M, i64> {
        self.expr().count()
    }
}

impl<M, T: Numeric> Field<M, T> {
    /// The sum of the field over the group (`Sum("field")`); `None` when no row has a
    /// value.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().aggregate(Product::STOCK.sum(), &db).await?, Some(15));
    /// let none = Product::objects().filter(Product::STOCK.gt(99)).aggregate(Product::STOCK.sum(), &db).await?;
    /// assert_eq!(none, None);
    /// # Ok(()) }
    /// ```
    pub fn sum(&self) -> Agg<M, T::Total> {
        self.expr().sum()
    }

    /// The mean of the field over the group (`Avg("field")`), as a float (a decimal for
    /// a decimal field).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().aggregate(Product::STOCK.avg(), &db).await?, Some(5.0));
    /// # Ok(()) }
    /// ```
    pub fn avg(&self) -> Agg<M, T::Mean> {
        self.expr().avg()
    }
}

impl<M, T: Comparable> Field<M, T> {
    /// The smallest value of the field over the group (`Min("field")`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().aggregate(Product::PRICE.min(), &db).await?, Some(1.5));
    /// # Ok(()) }
    /// ```
    pub fn min(&self) -> Agg<M, Option<T::Inner>> {
        self.expr().min()
    }

    /// The largest value of the field over the group (`Max("field")`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, name: String, price: f64, stock: i32, reserved: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, price, stock, reserved) in [("pen", 1.5, 10, 2), ("ink", 4.0, 3, 5), ("pad", 2.5, 2, 2)] {
    /// #     Product { id: None, name: name.into(), price, stock, reserved }.create(&db).await?;
    /// # }
    /// // Products (price, stock, reserved): pen (1.5, 10, 2), ink (4.0, 3, 5), pad (2.5, 2, 2).
    /// assert_eq!(Product::objects().aggregate(Product::PRICE.max(), &db).await?, Some(4.0));
    /// # Ok(()) }
    /// ```
    pub fn max(&self) -> Agg<M, Option<T::Inner>> {
        self.expr().max()
    }
}

impl<M, T> Rel<M, T> {
    /// The number of related rows (Django's `Count("students")`): zero for a row with
    /// none. Across a many-to-many relation it counts the through rows, without joining
    /// the target's table.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// Author { id: None, name: "bo".into() }.create(&db).await?;
    /// Book { id: None, author: ForeignKey::to(&ann) }.create(&db).await?;
    /// let prolific: Vec<String> = Author::objects()
    ///     .filter(Author::BOOKS.count().gte(1))
    ///     .values_list(Author::NAME, &db)
    ///     .await?;
    /// assert_eq!(prolific, ["ann"]);
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> Agg<M, i64> {
        Agg::new(
            AggregateFunction::Count,
            Some(Expression::Field(self.key_path())),
            None,
        )
    }
}

impl<M, T> Rel<M, T> {
    /// The related rows of each row as a correlated subquery (Django's `Exists(...)` and
    /// `Subquery(...)` with `OuterRef("pk")`): filter and order them, then read whether
    /// one exists, how many there are, or a field of the first. Unlike an aggregate over a
    /// join, a subquery is not multiplied by the query's other joins, and groups nothing.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// Author { id: None, name: "bo".into() }.create(&db).await?;
    /// for (title, year) in [("Early", 1990), ("Late", 2020)] {
    ///     Book { id: None, author: ForeignKey::to(&ann), title: title.into(), year }.create(&db).await?;
    /// }
    /// let books = Author::BOOKS.related();
    /// let latest = books.clone().order_by([Book::YEAR.desc()]).first(Book::TITLE);
    /// let recent = books.filter(Book::YEAR.gte(2000)).exists();
    /// let rows = Author::objects()
    ///     .annotate((latest, recent.clone()))
    ///     .order_by([Author::NAME.asc()])
    ///     .all(&db)
    ///     .await?;
    /// let got: Vec<(&str, Option<&str>, bool)> =
    ///     rows.iter().map(|(a, (t, r))| (a.name.as_str(), t.as_deref(), *r)).collect();
    /// assert_eq!(got, [("ann", Some("Late"), true), ("bo", None, false)]);
    /// let n = Author::objects().filter(recent.is_true()).count(&db).await?;
    /// assert_eq!(n, 1);
    /// # Ok(()) }
    /// ```
    pub fn related(&self) -> RelatedRows<M, T> {
        RelatedRows {
            hops: self.hops(),
            filter: Filter::All,
            order_by: Vec::new(),
            _types: PhantomData,
        }
    }
}

/// The rows of `T` related to each row of `M`, read in a correlated subquery (from
/// [`Rel::related`]).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
/// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
/// # Author { id: None, name: "cy".into() }.create(&db).await?;
/// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
/// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
/// # }
/// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
/// use throughline::expr::RelatedRows;
/// let books: RelatedRows<Author, Book> = Author::BOOKS.related();
/// let rows = Author::objects()
///     .annotate(books.count())
///     .order_by([Author::NAME.asc()])
///     .all(&db)
///     .await?;
/// assert_eq!(rows.iter().map(|(_, n)| *n).collect::<Vec<i64>>(), [2, 1, 0]);
/// # Ok(()) }
/// ```
pub struct RelatedRows<M, T> {
    hops: Vec<throughline_query::Hop>,
    filter: Filter,
    order_by: Vec<OrderBy>,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for RelatedRows<M, T> {
    fn clone(&self) -> Self {
        RelatedRows {
            hops: self.hops.clone(),
            filter: self.filter.clone(),
            order_by: self.order_by.clone(),
            _types: PhantomData,
        }
    }
}

impl<M, T> RelatedRows<M, T> {
    /// Keeps the related rows matching `q` (several calls all apply).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let recent = Author::BOOKS.related().filter(Book::YEAR.gte(2000)).count();
    /// let rows = Author::objects().annotate(recent).order_by([Author::NAME.asc()]).all(&db).await?;
    /// assert_eq!(rows.iter().map(|(_, n)| *n).collect::<Vec<i64>>(), [1, 1, 0]);
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, q: Q<T>) -> Self {
        self.filter = std::mem::replace(&mut self.filter, Filter::All).and(q.into_filter());
        self
    }

    /// Orders the related rows, for [`RelatedRows::first`].
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let oldest = Author::BOOKS.related().order_by([Book::YEAR.asc()]).first(Book::TITLE);
    /// let (_, title) = Author::objects().annotate(oldest).first(&db).await?.unwrap();
    /// assert_eq!(title.as_deref(), Some("Early"));
    /// # Ok(()) }
    /// ```
    pub fn order_by(mut self, terms: impl IntoIterator<Item = OrderBy>) -> Self {
        self.order_by = terms.into_iter().collect();
        self
    }

    fn read(self, read: RelatedRead) -> Expression {
        Expression::Related(Box::new(Related {
            hops: self.hops,
            filter: self.filter,
            order_by: self.order_by,
            read,
        }))
    }

    /// Whether any related row matches (`EXISTS`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let writes = Author::BOOKS.related().exists();
    /// let names = Author::objects()
    ///     .filter(writes.is_true())
    ///     .order_by([Author::NAME.asc()])
    ///     .values_list(Author::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["ann", "bo"]);
    /// # Ok(()) }
    /// ```
    pub fn exists(self) -> Expr<M, bool> {
        Expr::new(self.read(RelatedRead::Exists))
    }

    /// The number of matching related rows (`(SELECT COUNT(*) ...)`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let books = Author::BOOKS.related().count();
    /// let names = Author::objects().filter(books.gte(2)).values_list(Author::NAME, &db).await?;
    /// assert_eq!(names, ["ann"]);
    /// # Ok(()) }
    /// ```
    pub fn count(self) -> Expr<M, i64> {
        Expr::new(self.read(RelatedRead::Count))
    }

    /// `field` of the first matching related row by the ordering; `None` when there is
    /// none (Django's `Subquery(qs.values(field)[:1])`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let first_year = Author::BOOKS.related().order_by([Book::YEAR.asc()]).first(Book::YEAR);
    /// let rows = Author::objects().annotate(first_year).order_by([Author::NAME.asc()]).all(&db).await?;
    /// assert_eq!(rows.iter().map(|(_, y)| *y).collect::<Vec<_>>(), [Some(1990), Some(2005), None]);
    /// # Ok(()) }
    /// ```
    pub fn first<V: Comparable>(self, field: Field<T, V>) -> Expr<M, Option<V::Inner>> {
        let value = Expression::Field(field.path());
        Expr::new(self.read(RelatedRead::First(value)))
    }
}

impl<M> Expr<M, bool> {
    /// The rows where the value is true (`EXISTS(...)` in a filter).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, title: String, year: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// # let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// # Author { id: None, name: "cy".into() }.create(&db).await?;
    /// # for (author, title, year) in [(&ann, "Early", 1990), (&ann, "Late", 2020), (&bo, "Middle", 2005)] {
    /// #     Book { id: None, author: ForeignKey::to(author), title: title.into(), year }.create(&db).await?;
    /// # }
    /// // Authors ann (books Early 1990, Late 2020), bo (Middle 2005) and cy (none).
    /// let wrote_late = Author::BOOKS.related().filter(Book::YEAR.gt(2010)).exists();
    /// let n = Author::objects().filter(wrote_late.is_true()).count(&db).await?;
    /// assert_eq!(n, 1);
    /// assert_eq!(Author::objects().exclude(wrote_late.is_true()).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn is_true(&self) -> Q<M> {
        self.eq(true)
    }
}

/// `COUNT(*)`: the number of rows (of the queryset for
/// [`QuerySet::aggregate`](crate::QuerySet::aggregate), of each group for
/// [`QuerySet::group_by`](crate::QuerySet::group_by)).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Tag::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let n = Tag::objects().aggregate(throughline::expr::count_rows(), &db).await?;
/// assert_eq!(n, 0);
/// # Ok(()) }
/// ```
pub fn count_rows<M>() -> Agg<M, i64> {
    Agg::new(AggregateFunction::Count, None, None)
}

/// The first of `value` and `fallback` that is not NULL (`COALESCE`): a sum over no row
/// read as zero.
///
/// ```
/// use throughline::prelude::*;
/// use throughline::expr::coalesce;
/// # #[derive(Debug, Clone, Model)] struct Line { id: Option<i64>, qty: Option<i32> }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Line::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let total = Line::objects().aggregate(coalesce(Line::QTY.sum(), 0), &db).await?;
/// assert_eq!(total, 0);
/// # Ok(()) }
/// ```
pub fn coalesce<M, T>(
    value: impl Operand<M, Option<T>>,
    fallback: impl Operand<M, T>,
) -> Expr<M, T> {
    Expr::new(Expression::Function(
        Function::Coalesce,
        vec![value.into_expression(), fallback.into_expression()],
    ))
}

/// A date or a date and time whose parts can be read ([`year`], [`month`], [`day`],
/// [`week_day`]): `NaiveDate`, `DateTime<Utc>` and their `Option`s (whose parts are
/// `Option<i32>`, NULL for a NULL value).
///
/// ```
/// use throughline::expr::Temporal;
/// fn part_of<T: Temporal>() {}
/// part_of::<chrono::NaiveDate>();
/// part_of::<Option<chrono::DateTime<chrono::Utc>>>();
/// ```
pub trait Temporal: FieldValue {
    /// The type of a part: `i32`, or `Option<i32>` for an optional value.
    type Part: FieldValue;
}
impl Temporal for NaiveDate {
    type Part = i32;
}
impl Temporal for DateTime<Utc> {
    type Part = i32;
}
impl Temporal for Option<NaiveDate> {
    type Part = Option<i32>;
}
impl Temporal for Option<DateTime<Utc>> {
    type Part = Option<i32>;
}

/// A date and time, whose [`hour`] and [`minute`] can be read too.
///
/// ```
/// use throughline::expr::Clock;
/// fn time_of<T: Clock>() {}
/// time_of::<chrono::DateTime<chrono::Utc>>();
/// ```
pub trait Clock: Temporal {}
impl Clock for DateTime<Utc> {}
impl Clock for Option<DateTime<Utc>> {}

/// `part` of `value`, as an integer in UTC.
fn date_part<M, T: Temporal>(value: impl Operand<M, T>, part: DatePart) -> Expr<M, T::Part> {
    Expr::new(Expression::Function(
        Function::Extract(part),
        vec![value.into_expression()],
    ))
}

/// The year of a date or a date and time, in UTC (Django's `__year`).
///
/// ```
/// use throughline::prelude::*;
/// use throughline::expr::{day, month, week_day, year};
/// # #[derive(Debug, Clone, Model)] struct Post { id: Option<i64>, title: String, published: DateTime<Utc> }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
/// for (title, published) in [("old", "2023-12-31T23:30:00Z"), ("new", "2024-02-29T08:00:00Z")] {
///     Post { id: None, title: title.into(), published: at(published) }.create(&db).await?;
/// }
/// let in_2024 = Post::objects().filter(year(Post::PUBLISHED).eq(2024)).values_list(Post::TITLE, &db).await?;
/// assert_eq!(in_2024, ["new"]);
/// let leap = Post::objects().filter(month(Post::PUBLISHED).eq(2) & day(Post::PUBLISHED).eq(29));
/// assert_eq!(leap.count(&db).await?, 1);
/// // 2024-02-29 was a Thursday: 5, counting from Sunday = 1 as Django.
/// let (first,) = Post::objects().filter(Post::TITLE.eq("new")).annotate((week_day(Post::PUBLISHED),)).all(&db).await?.remove(0).1;
/// assert_eq!(first, 5);
/// # Ok(()) }
/// ```
pub fn year<M, T: Temporal>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::Year)
}

/// The month, 1 to 12, in UTC (Django's `__month`); see [`year`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Visit { id: Option<i64>, on: chrono::NaiveDate }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Visit::meta());
/// # throughline::create_tables(&db, &r).await?;
/// Visit { id: None, on: chrono::NaiveDate::from_ymd_opt(2024, 7, 14).unwrap() }.create(&db).await?;
/// let july = Visit::objects().filter(throughline::expr::month(Visit::ON).eq(7));
/// assert_eq!(july.count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub fn month<M, T: Temporal>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::Month)
}

/// The day of the month, 1 to 31, in UTC (Django's `__day`); see [`year`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Visit { id: Option<i64>, on: chrono::NaiveDate }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Visit::meta());
/// # throughline::create_tables(&db, &r).await?;
/// Visit { id: None, on: chrono::NaiveDate::from_ymd_opt(2024, 7, 14).unwrap() }.create(&db).await?;
/// assert_eq!(Visit::objects().filter(throughline::expr::day(Visit::ON).gte(10)).count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub fn day<M, T: Temporal>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::Day)
}

/// The day of the week, 1 (Sunday) to 7 (Saturday), in UTC (Django's `__week_day`); see
/// [`year`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Visit { id: Option<i64>, on: chrono::NaiveDate }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Visit::meta());
/// # throughline::create_tables(&db, &r).await?;
/// // 2024-07-14 was a Sunday.
/// Visit { id: None, on: chrono::NaiveDate::from_ymd_opt(2024, 7, 14).unwrap() }.create(&db).await?;
/// assert_eq!(Visit::objects().filter(throughline::expr::week_day(Visit::ON).eq(1)).count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub fn week_day<M, T: Temporal>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::WeekDay)
}

/// The hour, 0 to 23, in UTC (Django's `__hour`), of a date and time.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Post { id: Option<i64>, published: DateTime<Utc> }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let at: DateTime<Utc> = "2024-02-29T08:45:00Z".parse().unwrap();
/// Post { id: None, published: at }.create(&db).await?;
/// let morning = Post::objects().filter(throughline::expr::hour(Post::PUBLISHED).lt(12));
/// assert_eq!(morning.count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub fn hour<M, T: Clock>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::Hour)
}

/// The minute, 0 to 59 (Django's `__minute`), of a date and time; see [`hour`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Post { id: Option<i64>, published: DateTime<Utc> }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let at: DateTime<Utc> = "2024-02-29T08:45:00Z".parse().unwrap();
/// Post { id: None, published: at }.create(&db).await?;
/// assert_eq!(Post::objects().filter(throughline::expr::minute(Post::PUBLISHED).eq(45)).count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub fn minute<M, T: Clock>(value: impl Operand<M, T>) -> Expr<M, T::Part> {
    date_part(value, DatePart::Minute)
}

/// The text in lower case (`LOWER`). SQLite folds ASCII letters only; PostgreSQL and
/// MariaDB fold every letter.
///
/// ```
/// use throughline::prelude::*;
/// use throughline::expr::lower;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Tag::meta());
/// # throughline::create_tables(&db, &r).await?;
/// Tag { id: None, name: "Rust".into() }.create(&db).await?;
/// let n = Tag::objects().filter(lower(Tag::NAME).eq("rust")).count(&db).await?;
/// assert_eq!(n, 1);
/// # Ok(()) }
/// ```
pub fn lower<M, T: Text>(value: impl Operand<M, T>) -> Expr<M, T> {
    Expr::new(Expression::Function(
        Function::Lower,
        vec![value.into_expression()],
    ))
}

/// The text in upper case (`UPPER`); see [`lower`] for the backends' rules.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// use throughline::expr::upper;
/// let n = Student::objects().filter(upper(Student::NAME).eq("BOB")).count(&db).await?;
/// assert_eq!(n, 1);
/// # Ok(()) }
/// ```
pub fn upper<M, T: Text>(value: impl Operand<M, T>) -> Expr<M, T> {
    Expr::new(Expression::Function(
        Function::Upper,
        vec![value.into_expression()],
    ))
}

/// The current time, taken when the expression is built and bound as a parameter (the
/// same text form SQLite stores, so comparisons with stored times hold on every backend).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Event { id: Option<i64>, at: DateTime<Utc> }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Event::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let past = Event::objects().filter(Event::AT.expr().lt(throughline::expr::now())).count(&db).await?;
/// assert_eq!(past, 0);
/// # Ok(()) }
/// ```
pub fn now<M>() -> Expr<M, DateTime<Utc>> {
    Expr::new(Expression::Value(throughline_core::value::now().into()))
}

/// `CASE WHEN condition THEN value ...`: continue with [`Case::when`], end with
/// [`Case::otherwise`] (or [`Case::end`], NULL when no condition holds).
///
/// ```
/// use throughline::prelude::*;
/// use throughline::expr::when;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// for (name, age) in [("ann", 15), ("bo", 40)] {
///     Student { id: None, name: name.into(), age }.create(&db).await?;
/// }
/// let band = when(Student::AGE.lt(18), "minor").otherwise("adult");
/// let rows = Student::objects().annotate(band).all(&db).await?;
/// let bands: Vec<(&str, &str)> = rows.iter().map(|(s, b)| (s.name.as_str(), b.as_str())).collect();
/// assert_eq!(bands, [("ann", "minor"), ("bo", "adult")]);
/// # Ok(()) }
/// ```
pub fn when<M, V: Typed<M>>(condition: Q<M>, then: V) -> Case<M, V::Type> {
    Case {
        whens: vec![(condition.into_filter(), then.into_typed_expression())],
        _types: PhantomData,
    }
}

/// A value whose type is known from itself (a constant, `&str` as `String`, a field, an
/// expression): the first branch of [`when`] sets the type of the whole `CASE`.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// use throughline::expr::when;
/// // The first branch's value (`&str`, so `String`) gives the type of the `CASE`.
/// let band = when(Student::AGE.gte(30), "senior").otherwise(Student::NAME);
/// let rows = Student::objects().annotate(band).order_by([Student::AGE.asc()]).all(&db).await?;
/// let bands: Vec<&str> = rows.iter().map(|(_, b)| b.as_str()).collect();
/// assert_eq!(bands, ["alice", "carol", "senior"]);
/// # Ok(()) }
/// ```
pub trait Typed<M> {
    /// The value's type.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::Typed;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// fn type_name<T: Typed<Student>>(_: T) -> &'static str {
    ///     std::any::type_name::<T::Type>()
    /// }
    /// assert_eq!(type_name("minor"), "alloc::string::String"); // a `&str` constant is text
    /// assert_eq!(type_name(Student::AGE), "i32"); // a field has its field's type
    /// ```
    type Type;
    /// The untyped expression.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::Typed;
    /// use throughline::{Expression, Value};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// let e = <&str as Typed<Student>>::into_typed_expression("minor");
    /// assert_eq!(e, Expression::Value(Value::from("minor")));
    /// ```
    fn into_typed_expression(self) -> Expression;
}

impl<M, T: FieldValue> Typed<M> for T {
    type Type = T;
    fn into_typed_expression(self) -> Expression {
        Expression::Value(self.to_value())
    }
}

impl<M> Typed<M> for &str {
    type Type = String;
    fn into_typed_expression(self) -> Expression {
        Expression::Value(self.into())
    }
}

impl<M, T> Typed<M> for Field<M, T> {
    type Type = T;
    fn into_typed_expression(self) -> Expression {
        Expression::Field(self.path())
    }
}

impl<M, T> Typed<M> for Expr<M, T> {
    type Type = T;
    fn into_typed_expression(self) -> Expression {
        self.expression
    }
}

impl<M, T> Typed<M> for Agg<M, T> {
    type Type = T;
    fn into_typed_expression(self) -> Expression {
        self.expr().expression
    }
}

/// A `CASE` expression being built by [`when`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// use throughline::expr::{Case, when};
/// let case: Case<Student, i32> = when(Student::AGE.lt(21), 1).when(Student::AGE.lt(30), 2);
/// let rows = Student::objects().annotate(case.otherwise(3)).order_by([Student::AGE.asc()]).all(&db).await?;
/// assert_eq!(rows.iter().map(|(_, b)| *b).collect::<Vec<_>>(), [1, 2, 3]);
/// # Ok(()) }
/// ```
pub struct Case<M, T> {
    whens: Vec<(Filter, Expression)>,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Case<M, T> {
    /// Another condition, tried after the earlier ones.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
    /// #     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// # }
    /// // Students: alice (20), bob (31), carol (25).
    /// use throughline::expr::when;
    /// let band = when(Student::AGE.lt(21), "young").when(Student::AGE.lt(30), "mid").otherwise("old");
    /// let rows = Student::objects().annotate(band).order_by([Student::AGE.asc()]).all(&db).await?;
    /// let bands: Vec<&str> = rows.iter().map(|(_, b)| b.as_str()).collect();
    /// assert_eq!(bands, ["young", "mid", "old"]);
    /// # Ok(()) }
    /// ```
    pub fn when(mut self, condition: Q<M>, then: impl Operand<M, T>) -> Self {
        self.whens
            .push((condition.into_filter(), then.into_expression()));
        self
    }

    /// The value when no condition holds.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
    /// #     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// # }
    /// // Students: alice (20), bob (31), carol (25).
    /// use throughline::expr::when;
    /// // Sort bob (the oldest) first, then the others by name.
    /// let rank = when(Student::NAME.eq("bob"), 0).otherwise(1);
    /// let names = Student::objects()
    ///     .order_by([rank.asc(), Student::NAME.asc()])
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["bob", "alice", "carol"]);
    /// # Ok(()) }
    /// ```
    pub fn otherwise(self, default: impl Operand<M, T>) -> Expr<M, T> {
        Expr::new(Expression::Case(
            self.whens,
            Box::new(default.into_expression()),
        ))
    }

    /// NULL when no condition holds.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
    /// #     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// # }
    /// // Students: alice (20), bob (31), carol (25).
    /// use throughline::expr::when;
    /// let prize = when(Student::AGE.gt(30), "gold").end();
    /// let rows = Student::objects().annotate(prize).order_by([Student::AGE.asc()]).all(&db).await?;
    /// let prizes: Vec<Option<&str>> = rows.iter().map(|(_, p)| p.as_deref()).collect();
    /// assert_eq!(prizes, [None, None, Some("gold")]);
    /// # Ok(()) }
    /// ```
    pub fn end(self) -> Expr<M, Option<T>> {
        Expr::new(Expression::Case(
            self.whens,
            Box::new(Expression::Value(throughline_core::Value::Null)),
        ))
    }
}

/// What an expression of type `T` over `M` is compared or combined with: a constant of
/// the type (`5`, `"ann"`, `Some(3)` or `3` for an optional value), a field of `M` of
/// the type, or another expression.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// // A constant, a field of the same type, or an expression.
/// let older = Student::AGE.expr().gt(21);
/// let named_twice = Student::NAME.expr().eq(Student::NAME);
/// let doubled = Student::AGE.expr().lt(Student::AGE * 2);
/// let n = Student::objects().filter(older & named_twice & doubled).count(&db).await?;
/// assert_eq!(n, 2);
/// # Ok(()) }
/// ```
pub trait Operand<M, T> {
    /// The untyped expression.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::Operand;
    /// use throughline::{Expression, FieldPath, Value};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// let constant = <i32 as Operand<Student, i32>>::into_expression(5);
    /// assert_eq!(constant, Expression::Value(Value::I32(5)));
    /// let field = Operand::<Student, i32>::into_expression(Student::AGE);
    /// assert_eq!(field, Expression::field(FieldPath::local("age")));
    /// ```
    fn into_expression(self) -> Expression;
}

impl<M, T: FieldValue> Operand<M, T> for T {
    fn into_expression(self) -> Expression {
        Expression::Value(self.to_value())
    }
}

impl<M, T: FieldValue> Operand<M, Option<T>> for T {
    fn into_expression(self) -> Expression {
        Expression::Value(self.to_value())
    }
}

impl<M> Operand<M, String> for &str {
    fn into_expression(self) -> Expression {
        Expression::Value(self.into())
    }
}

impl<M> Operand<M, Option<String>> for &str {
    fn into_expression(self) -> Expression {
        Expression::Value(self.into())
    }
}

impl<M, T> Operand<M, T> for Field<M, T> {
    fn into_expression(self) -> Expression {
        Expression::Field(self.path())
    }
}

impl<M, T> Operand<M, T> for &Field<M, T> {
    fn into_expression(self) -> Expression {
        Expression::Field(self.path())
    }
}

impl<M, T> Operand<M, T> for Expr<M, T> {
    fn into_expression(self) -> Expression {
        self.expression
    }
}

impl<M, T> Operand<M, T> for Agg<M, T> {
    fn into_expression(self) -> Expression {
        self.expr().expression
    }
}

/// The numeric field types, which sum and average: the sum of integers is an
/// `Option<i64>`, of floats an `Option<f64>`, of decimals an `Option<Decimal>`; the mean
/// of integers and floats an `Option<f64>`, of decimals an `Option<Decimal>`.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// // `i32` is `Numeric`: its sum is an `Option<i64>`, its mean an `Option<f64>`.
/// let (total, mean): (Option<i64>, Option<f64>) =
///     Student::objects().aggregate((Student::AGE.sum(), Student::AGE.avg()), &db).await?;
/// assert_eq!((total, mean), (Some(76), Some(76.0 / 3.0)));
/// # Ok(()) }
/// ```
pub trait Numeric: FieldValue {
    /// Whether the values are integers (division truncates).
    ///
    /// ```
    /// use throughline::expr::Numeric;
    /// assert!(<i32 as Numeric>::INTEGER && <Option<i64> as Numeric>::INTEGER);
    /// assert!(!<f64 as Numeric>::INTEGER && !<throughline::Decimal as Numeric>::INTEGER);
    /// ```
    const INTEGER: bool;
    /// The type of a sum.
    ///
    /// ```
    /// use throughline::expr::Numeric;
    /// let total: <i16 as Numeric>::Total = Some(70_000); // sums of integers are `i64`s
    /// assert_eq!(total, Some(70_000i64));
    /// ```
    type Total: FieldValue;
    /// The type of a mean.
    ///
    /// ```
    /// use throughline::expr::Numeric;
    /// let mean: <i32 as Numeric>::Mean = Some(2.5); // the mean of integers is an `f64`
    /// assert_eq!(mean, Some(2.5f64));
    /// ```
    type Mean: FieldValue;
    /// The type a sum is cast to, so that every backend returns [`Self::Total`] (none for
    /// decimals, which every backend sums as decimals, or as floats on SQLite).
    ///
    /// ```
    /// use throughline::{FieldType, expr::Numeric};
    /// assert_eq!(<i32 as Numeric>::TOTAL_CAST, Some(FieldType::I64));
    /// assert_eq!(<throughline::Decimal as Numeric>::TOTAL_CAST, None);
    /// ```
    const TOTAL_CAST: Option<FieldType>;
    /// The type a mean is cast to.
    ///
    /// ```
    /// use throughline::{FieldType, expr::Numeric};
    /// assert_eq!(<i64 as Numeric>::MEAN_CAST, Some(FieldType::F64));
    /// assert_eq!(<throughline::Decimal as Numeric>::MEAN_CAST, None);
    /// ```
    const MEAN_CAST: Option<FieldType>;
}

macro_rules! numeric {
    ($($ty:ty => $integer:expr, $total:ty, $total_cast:expr, $mean:ty, $mean_cast:expr;)*) => {$(
        impl Numeric for $ty {
            const INTEGER: bool = $integer;
            type Total = $total;
            type Mean = $mean;
            const TOTAL_CAST: Option<FieldType> = $total_cast;
            const MEAN_CAST: Option<FieldType> = $mean_cast;
        }
    )*};
}

numeric! {
    i16 => true, Option<i64>, Some(FieldType::I64), Option<f64>, Some(FieldType::F64);
    i32 => true, Option<i64>, Some(FieldType::I64), Option<f64>, Some(FieldType::F64);
    i64 => true, Option<i64>, Some(FieldType::I64), Option<f64>, Some(FieldType::F64);
    f64 => false, Option<f64>, Some(FieldType::F64), Option<f64>, Some(FieldType::F64);
    throughline_core::Decimal => false, Option<throughline_core::Decimal>, None,
        Option<throughline_core::Decimal>, None;
}

impl<T: Numeric> Numeric for Option<T> {
    const INTEGER: bool = T::INTEGER;
    type Total = T::Total;
    type Mean = T::Mean;
    const TOTAL_CAST: Option<FieldType> = T::TOTAL_CAST;
    const MEAN_CAST: Option<FieldType> = T::MEAN_CAST;
}

/// The field types with an order, which have a smallest and a largest value.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// // `String` is `Comparable`: it has a smallest and a largest value.
/// let (first, last) = Student::objects().aggregate((Student::NAME.min(), Student::NAME.max()), &db).await?;
/// assert_eq!((first.as_deref(), last.as_deref()), (Some("alice"), Some("carol")));
/// # Ok(()) }
/// ```
pub trait Comparable: FieldValue {
    /// The type without its `Option`.
    ///
    /// ```
    /// use throughline::expr::Comparable;
    /// let smallest: <Option<String> as Comparable>::Inner = String::from("alice");
    /// assert_eq!(smallest, "alice"); // `Option<String>`'s inner type is `String`
    /// ```
    type Inner: FieldValue;
}

macro_rules! comparable {
    ($($ty:ty),*) => {$(
        impl Comparable for $ty {
            type Inner = $ty;
        }
    )*};
}

// Not `bool` nor `uuid::Uuid`: PostgreSQL has no `MIN`/`MAX` of either.
comparable!(
    i16,
    i32,
    i64,
    f64,
    String,
    NaiveDate,
    DateTime<Utc>,
    throughline_core::Decimal
);

impl<T: Comparable> Comparable for Option<T> {
    type Inner = T::Inner;
}

/// The text field types (`String`, `Option<String>`), for [`lower`] and [`upper`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// use throughline::expr::lower;
/// let n = Student::objects().filter(lower(Student::NAME).eq("alice")).count(&db).await?;
/// assert_eq!(n, 1);
/// # Ok(()) }
/// ```
pub trait Text: FieldValue {}
impl Text for String {}
impl Text for Option<String> {}

macro_rules! arithmetic {
    ($($op:ident $method:ident $arith:expr;)*) => {$(
        impl<M, T: Numeric, R: Operand<M, T>> std::ops::$op<R> for Expr<M, T> {
            type Output = Expr<M, T>;
            fn $method(self, rhs: R) -> Expr<M, T> {
                arith(self.expression, $arith(T::INTEGER), rhs.into_expression())
            }
        }
        impl<M, T: Numeric, R: Operand<M, T>> std::ops::$op<R> for Field<M, T> {
            type Output = Expr<M, T>;
            fn $method(self, rhs: R) -> Expr<M, T> {
                arith(Expression::Field(self.path()), $arith(T::INTEGER), rhs.into_expression())
            }
        }
        impl<M, T: Numeric, R: Operand<M, T>> std::ops::$op<R> for Agg<M, T> {
            type Output = Expr<M, T>;
            fn $method(self, rhs: R) -> Expr<M, T> {
                arith(self.expr().expression, $arith(T::INTEGER), rhs.into_expression())
            }
        }
    )*};
}

fn arith<M, T>(left: Expression, op: ArithOp, right: Expression) -> Expr<M, T> {
    Expr::new(left.arith(op, right))
}

arithmetic! {
    Add add |_| ArithOp::Add;
    Sub sub |_| ArithOp::Sub;
    Mul mul |_| ArithOp::Mul;
    Div div |integer| if integer { ArithOp::IntDiv } else { ArithOp::Div };
}

/// What [`QuerySet::annotate`](crate::QuerySet::annotate),
/// [`QuerySet::aggregate`](crate::QuerySet::aggregate) and
/// [`QuerySet::group_by`](crate::QuerySet::group_by) read: one expression, aggregate or
/// field (read as its type), or a tuple of them (read as a tuple).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// use throughline::expr::count_rows;
/// // One value, or a tuple of them, read back typed.
/// let n: i64 = Student::objects().aggregate(count_rows(), &db).await?;
/// let (oldest, youngest): (Option<i32>, Option<i32>) =
///     Student::objects().aggregate((Student::AGE.max(), Student::AGE.min()), &db).await?;
/// assert_eq!((n, oldest, youngest), (3, Some(31), Some(20)));
/// # Ok(()) }
/// ```
pub trait Selection<M> {
    /// The Rust value read back.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::{Selection, count_rows};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// fn output<S: Selection<Student>>(_: &S) -> &'static str {
    ///     std::any::type_name::<S::Output>()
    /// }
    /// assert_eq!(output(&count_rows()), "i64");
    /// assert_eq!(output(&(Student::AGE.max(), count_rows())), "(core::option::Option<i32>, i64)");
    /// ```
    type Output: Send + 'static;
    /// The number of columns.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::{Selection, count_rows};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// fn width<S: Selection<Student>>(_: &S) -> usize {
    ///     S::WIDTH
    /// }
    /// assert_eq!(width(&count_rows()), 1);
    /// assert_eq!(width(&(Student::AGE.max(), Student::AGE.min(), count_rows())), 3);
    /// ```
    const WIDTH: usize;
    /// The expressions, in column order.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::{Selection, count_rows};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// let mut columns = Vec::new();
    /// Selection::<Student>::expressions((Student::AGE.max(), count_rows()), &mut columns);
    /// assert_eq!(columns.len(), 2);
    /// assert!(columns.iter().all(|e| e.has_aggregate()));
    /// ```
    fn expressions(self, out: &mut Vec<Expression>);
    /// Reads the value from the columns starting at `start`. The querysets call it on
    /// each row they read (a row is not public); the value comes back typed:
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::count_rows;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Student { id: None, name: "alice".into(), age: 20 }.create(&db).await?;
    /// // `(Option<i32>, i64)`, decoded from the row's two columns
    /// let (oldest, n) = Student::objects().aggregate((Student::AGE.max(), count_rows()), &db).await?;
    /// assert_eq!((oldest, n), (Some(20), 1));
    /// # Ok(()) }
    /// ```
    fn decode(row: &Row<'_>, start: usize) -> Result<Self::Output>;
}

impl<M, T: FieldValue> Selection<M> for Expr<M, T> {
    type Output = T;
    const WIDTH: usize = 1;
    fn expressions(self, out: &mut Vec<Expression>) {
        out.push(self.expression);
    }
    fn decode(row: &Row<'_>, start: usize) -> Result<T> {
        T::decode(row, start)
    }
}

impl<M, T: FieldValue> Selection<M> for Agg<M, T> {
    type Output = T;
    const WIDTH: usize = 1;
    fn expressions(self, out: &mut Vec<Expression>) {
        out.push(self.expr().expression);
    }
    fn decode(row: &Row<'_>, start: usize) -> Result<T> {
        T::decode(row, start)
    }
}

impl<M, T: FieldValue> Selection<M> for Field<M, T> {
    type Output = T;
    const WIDTH: usize = 1;
    fn expressions(self, out: &mut Vec<Expression>) {
        out.push(Expression::Field(self.path()));
    }
    fn decode(row: &Row<'_>, start: usize) -> Result<T> {
        T::decode(row, start)
    }
}

macro_rules! tuple_selection {
    ($($name:ident)+) => {
        impl<M, $($name: Selection<M>),+> Selection<M> for ($($name,)+) {
            type Output = ($($name::Output,)+);
            const WIDTH: usize = 0 $(+ $name::WIDTH)+;
            #[allow(non_snake_case)]
            fn expressions(self, out: &mut Vec<Expression>) {
                let ($($name,)+) = self;
                $($name.expressions(out);)+
            }
            #[allow(unused_assignments)]
            fn decode(row: &Row<'_>, start: usize) -> Result<Self::Output> {
                let mut at = start;
                Ok(($({
                    let value = $name::decode(row, at)?;
                    at += $name::WIDTH;
                    value
                },)+))
            }
        }
    };
}

tuple_selection!(A);
tuple_selection!(A B);
tuple_selection!(A B C);
tuple_selection!(A B C D);
tuple_selection!(A B C D E);
tuple_selection!(A B C D E F);
