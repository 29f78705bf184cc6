//! Owns [`QuerySet`], the typed, lazy query over one model: building (filter, exclude,
//! order, slice, distinct, select_related) and the operations that run it (all, first, get,
//! count, exists, values, update, delete, bulk_create, get_or_create, update_or_create).
//! Each operation is one [`Op`](throughline_db::Op): one hop to SQLite's connection thread.
//!
//! ```
//! use throughline::prelude::*;
//! # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Student::meta());
//! # throughline::create_tables(&db, &r).await?;
//! for (name, age) in [("ada", 20), ("bob", 17), ("cy", 30)] {
//!     Student { id: None, name: name.into(), age }.create(&db).await?;
//! }
//! // Building runs nothing; each operation is one statement.
//! let adults = Student::objects().filter(Student::AGE.gte(18)).order_by([Student::AGE.desc()]);
//! assert_eq!(adults.count(&db).await?, 2);
//! let oldest = adults.first(&db).await?.map(|s| s.name);
//! assert_eq!(oldest.as_deref(), Some("cy"));
//! let updated = Student::objects().filter(Student::AGE.lt(18)).update(vec![Student::AGE.set(18)], &db).await?;
//! assert_eq!(updated, 1);
//! # Ok(()) }
//! ```

use crate::Model;
use crate::fields::{Field, Q, Rel};
use crate::value_types::FieldValue;
use std::marker::PhantomData;
use throughline_core::{Error, Result, Value};
use throughline_db::{Access, Decode, Executor, op};
use throughline_engine::crud;
use throughline_query::{
    Conflict, FieldPath, Filter, FilterGroup, LockWait, Lookup, OrderBy, Projection, SelectQuery,
};

/// A lazy query over the rows of `M`. Nothing runs until an async method is awaited.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
///     Student { id: None, name: name.into(), age }.create(&db).await?;
/// }
/// let names: Vec<String> = Student::objects()
///     .filter(Student::AGE.gte(21) | Student::NAME.startswith("a"))
///     .order_by([Student::AGE.desc()])
///     .values_list(Student::NAME, &db)
///     .await?;
/// assert_eq!(names, ["bob", "carol", "alice"]);
/// # Ok(()) }
/// ```
pub struct QuerySet<M: Model> {
    pub(crate) query: SelectQuery,
    /// `select_related` foreign keys of `M`: field name and the related model's width.
    related: Vec<(String, usize)>,
    /// Whether the next `filter` call shares the joins of the previous one (a relation
    /// manager's queryset: the caller's conditions apply to the same through row).
    sticky: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Clone for QuerySet<M> {
    fn clone(&self) -> Self {
        QuerySet {
            query: self.query.clone(),
            related: self.related.clone(),
            sticky: self.sticky,
            _model: PhantomData,
        }
    }
}

impl<M: Model> std::fmt::Debug for QuerySet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySet")
            .field("model", &M::MODEL_NAME)
            .field("query", &self.query)
            .finish()
    }
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        QuerySet::new()
    }
}

/// One `field = value` assignment of a queryset [`QuerySet::update`].
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
/// let assignments: Vec<throughline::Assignment<Student>> = vec![Student::AGE.set(18)];
/// assert_eq!(Student::objects().update(assignments, &db).await?, 3);
/// # Ok(()) }
/// ```
pub struct Assignment<M> {
    field: &'static str,
    value: Assigned,
    _model: PhantomData<fn() -> M>,
}

/// The value an [`Assignment`] writes.
enum Assigned {
    /// A value, validated before any SQL.
    Value(Value),
    /// An expression the database computes from the row.
    Computed(throughline_query::Expression),
}

impl<M: Model, T: FieldValue> Field<M, T> {
    /// An assignment for [`QuerySet::update`].
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
    /// Student::objects()
    ///     .filter(Student::NAME.eq("alice"))
    ///     .update(vec![Student::NAME.set("Alice"), Student::AGE.set(21)], &db)
    ///     .await?;
    /// let alice = Student::objects().get(Student::NAME.eq("Alice"), &db).await?;
    /// assert_eq!(alice.age, 21);
    /// # Ok(()) }
    /// ```
    pub fn set(&self, value: impl crate::fields::FieldArg<T>) -> Assignment<M> {
        Assignment {
            field: self.name(),
            value: Assigned::Value(self.column_value(value.into_field_value())),
            _model: PhantomData,
        }
    }

    /// An assignment of a value the database computes from the row's own fields, for
    /// [`QuerySet::update`] (Django's `update(price=F("price") * 1.1)`): one statement,
    /// no row read. An expression across a relation or holding an aggregate is an
    /// [`Error::InvalidQuery`].
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Product { id: Option<i64>, price: f64, stock: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Product::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Product { id: None, price: 10.0, stock: 3 }.create(&db).await?;
    /// Product::objects()
    ///     .update(vec![Product::PRICE.set_expr(Product::PRICE * 1.5), Product::STOCK.set_expr(Product::STOCK - 1)], &db)
    ///     .await?;
    /// let p = Product::objects().first(&db).await?.unwrap();
    /// assert_eq!((p.price, p.stock), (15.0, 2));
    /// # Ok(()) }
    /// ```
    pub fn set_expr(&self, value: impl crate::expr::Operand<M, T>) -> Assignment<M> {
        Assignment {
            field: self.name(),
            value: Assigned::Computed(value.into_expression()),
            _model: PhantomData,
        }
    }
}

impl<M: Model> QuerySet<M> {
    /// The rows of `M` its default filter keeps (every row when it has none).
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
    /// let every: throughline::QuerySet<Student> = throughline::QuerySet::new();
    /// assert_eq!(every.count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub fn new() -> Self {
        QuerySet::from_groups(Vec::new())
    }

    /// Every row of `M`, without its default filter.
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
    /// let every = throughline::QuerySet::<Student>::unfiltered();
    /// assert_eq!(every.count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub fn unfiltered() -> Self {
        QuerySet::from_query(SelectQuery::new(M::meta()))
    }

    pub(crate) fn from_query(mut query: SelectQuery) -> Self {
        if query.default_ordering.is_none() {
            query.default_ordering = M::default_ordering();
        }
        QuerySet {
            query,
            related: Vec::new(),
            sticky: false,
            _model: PhantomData,
        }
    }

    /// A default query of `M` (its own, or a relation's read of it): the model's default
    /// filter first, then `groups`.
    pub(crate) fn from_groups(groups: Vec<FilterGroup>) -> Self {
        let mut query = SelectQuery::new(M::meta());
        if let Some(filter) = M::default_filter() {
            query.groups.push(FilterGroup::filter(filter));
        }
        query.groups.extend(groups);
        QuerySet::from_query(query)
    }

    /// The untyped query (for the dynamic core and SQL snapshots).
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
    /// let qs = Student::objects().limit(2);
    /// assert_eq!(qs.query().limit, Some(2));
    /// # Ok(()) }
    /// ```
    pub fn query(&self) -> &SelectQuery {
        &self.query
    }

    /// The SQL and bound parameters the rows of this queryset are read with on `backend`,
    /// for debugging (Django's `str(qs.query)`); the statements actually run are also
    /// `tracing` events (target `throughline::sql`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// let stmt = Student::objects()
    ///     .filter(Student::NAME.eq("ann"))
    ///     .sql(throughline::Backend::Postgres)?;
    /// assert_eq!(&*stmt.sql, r#"SELECT "student"."id", "student"."name" FROM "student" WHERE "student"."name" = $1"#);
    /// assert_eq!(stmt.params, [throughline::Value::from("ann")]);
    /// # Ok::<(), throughline::Error>(())
    /// ```
    pub fn sql(&self, backend: throughline_core::Backend) -> Result<throughline_query::Statement> {
        self.query.render(backend)
    }

    /// Keeps rows matching `q`. The conditions of one call apply to the same related row
    /// when they cross a multi-valued relation (as Django); separate calls may match
    /// different related rows.
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
    /// let adults = Student::objects()
    ///     .filter(Student::AGE.gte(21))
    ///     .filter(Student::NAME.ne("bob"))
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(adults.len(), 1);
    /// assert_eq!(adults[0].name, "carol");
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, q: Q<M>) -> Self {
        self.query.groups.push(FilterGroup {
            filter: q.into_filter(),
            exclude: false,
            join_with_previous: self.sticky,
        });
        self.sticky = false;
        self
    }

    /// Makes the next `filter` call share the multi-valued joins of the last one.
    pub(crate) fn make_sticky(mut self) -> Self {
        self.sticky = true;
        self
    }

    /// Adds a raw `select_related` chain (for relation managers).
    pub(crate) fn select_related_hops(
        mut self,
        field: &str,
        hops: Vec<throughline_query::Hop>,
    ) -> Self {
        let width = hops.last().map_or(0, |h| h.to.fields.len());
        self.related.push((field.to_owned(), width));
        self.query.select_related.push(hops);
        self
    }

    /// Removes rows matching `q` (NULL-aware, as Django: a row whose field is NULL is not
    /// removed by `exclude(field.eq(x))`).
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
    /// let names = Student::objects()
    ///     .exclude(Student::AGE.gt(24))
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["alice"]);
    /// # Ok(()) }
    /// ```
    pub fn exclude(mut self, q: Q<M>) -> Self {
        self.query.exclude(q.into_filter());
        self
    }

    /// Orders by the given terms (`Field::asc()`, `Field::desc()`), replacing the model's
    /// default ordering. NULLs sort as the database does (first ascending on SQLite, last
    /// on PostgreSQL).
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
    /// let names = Student::objects()
    ///     .order_by([Student::AGE.desc()])
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["bob", "carol", "alice"]);
    /// # Ok(()) }
    /// ```
    pub fn order_by(mut self, terms: impl IntoIterator<Item = OrderBy>) -> Self {
        self.query.order_by = terms.into_iter().collect();
        self
    }

    /// At most `n` rows.
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
    /// let youngest = Student::objects()
    ///     .order_by([Student::AGE.asc()])
    ///     .limit(2)
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(youngest, ["alice", "carol"]);
    /// # Ok(()) }
    /// ```
    pub fn limit(mut self, n: u64) -> Self {
        self.query.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
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
    /// let rest = Student::objects()
    ///     .order_by([Student::AGE.asc()])
    ///     .limit(10)
    ///     .offset(1)
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(rest, ["carol", "bob"]);
    /// # Ok(()) }
    /// ```
    pub fn offset(mut self, n: u64) -> Self {
        self.query.offset = Some(n);
        self
    }

    /// Removes duplicate rows (from joins across multi-valued relations).
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
    /// # Student { id: None, name: "bob".into(), age: 40 }.create(&db).await?;
    /// // Two students are called bob.
    /// let names = Student::objects()
    ///     .filter(Student::NAME.eq("bob"))
    ///     .distinct()
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["bob"]);
    /// # Ok(()) }
    /// ```
    pub fn distinct(mut self) -> Self {
        self.query.distinct = true;
        self
    }

    /// Loads the row of a foreign key in the same query (one JOIN); read it with
    /// [`crate::ForeignKey::loaded`] or `get` without a query.
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
    /// let books = Book::objects()
    ///     .select_related(Book::AUTHOR)
    ///     .order_by([Book::YEAR.asc()])
    ///     .all(&db)
    ///     .await?;
    /// // Each author was read by the same query.
    /// let authors: Vec<&str> = books.iter().map(|b| b.author.loaded().unwrap().name.as_str()).collect();
    /// assert_eq!(authors, ["ann", "bo", "ann"]);
    /// # Ok(()) }
    /// ```
    pub fn select_related<T: Model>(mut self, rel: Rel<M, T>) -> Self {
        let hops = rel.hops();
        if let [hop] = hops.as_slice()
            && !hop.many
            && let Some(field) = M::meta()
                .fields
                .iter()
                .find(|f| f.column == hop.from_column)
        {
            self.related.push((field.name.clone(), hop.to.fields.len()));
        }
        self.query.select_related.push(hops);
        self
    }

    /// Locks the rows read (`SELECT ... FOR UPDATE`) until the transaction ends, so no
    /// other transaction changes or locks them meanwhile (Django's `select_for_update()`).
    /// The query must run inside a transaction (`db.begin()`), else it is an
    /// [`Error::InvalidQuery`] (Django's `TransactionManagementError`): outside one the
    /// lock would end with the statement. On SQLite there are no row locks, and none is
    /// needed: a transaction there holds the database's write lock from its start.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Seat { id: Option<i64>, taken: bool }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Seat::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # Seat { id: None, taken: false }.create(&db).await?;
    /// let tx = db.begin().await?;
    /// let free = Seat::objects()
    ///     .filter(Seat::TAKEN.eq(false))
    ///     .select_for_update()
    ///     .first(&tx)
    ///     .await?;
    /// if let Some(mut seat) = free {
    ///     seat.taken = true;
    ///     seat.save(&tx).await?;
    /// }
    /// tx.commit().await?;
    /// // Outside a transaction it is refused.
    /// assert!(Seat::objects().select_for_update().all(&db).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn select_for_update(self) -> Self {
        self.select_for_update_with(LockWait::Wait)
    }

    /// [`QuerySet::select_for_update`] that fails at once on a row another transaction
    /// locked ([`LockWait::NoWait`], Django's `nowait=True`) or leaves such rows out
    /// ([`LockWait::SkipLocked`], `skip_locked=True`: a queue's workers each take
    /// different rows). PostgreSQL and MariaDB; on SQLite no row is ever locked by
    /// another transaction, so both read every row.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::LockWait;
    /// # #[derive(Debug, Clone, Model)] struct Job { id: Option<i64>, done: bool }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Job::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # Job { id: None, done: false }.create(&db).await?;
    /// let tx = db.begin().await?;
    /// let next = Job::objects()
    ///     .filter(Job::DONE.eq(false))
    ///     .select_for_update_with(LockWait::SkipLocked)
    ///     .first(&tx)
    ///     .await?;
    /// assert!(next.is_some());
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn select_for_update_with(mut self, wait: LockWait) -> Self {
        self.query.for_update = true;
        self.query.lock_wait = wait;
        self
    }

    pub(crate) fn rows_statement(
        &self,
        exec: &impl Executor,
    ) -> Result<throughline_query::Statement> {
        if self.related.len() != self.query.select_related.len() {
            return Err(Error::invalid_query(
                M::MODEL_NAME,
                "select_related takes one forward foreign key of the model",
            ));
        }
        self.query_for(Projection::Rows, exec)?
            .render(exec.backend())
    }

    /// The query with `projection`, checked for a locking read: refused outside a
    /// transaction; without its lock where the backend has no row locks (SQLite, whose
    /// transaction holds the write lock) or for a count (an aggregate locks no row:
    /// PostgreSQL refuses `FOR UPDATE` with one).
    pub(crate) fn query_for(
        &self,
        projection: Projection,
        exec: &impl Executor,
    ) -> Result<SelectQuery> {
        let mut query = self.query.clone();
        query.projection = projection;
        if query.for_update {
            if !exec.in_transaction() {
                return Err(Error::invalid_query(
                    M::MODEL_NAME,
                    "select_for_update runs inside a transaction (db.begin()): outside one its row locks would end with the statement",
                ));
            }
            let row_locks =
                throughline_query::dialect::capabilities(exec.backend())?.select_for_update;
            if !row_locks || matches!(query.projection, Projection::Count) {
                query.for_update = false;
            }
        }
        Ok(query)
    }

    /// Refuses to reverse or re-slice a sliced queryset (as Django's "Cannot reverse a
    /// query once a slice has been taken").
    pub(crate) fn unsliced(&self, what: &str) -> Result<()> {
        if self.query.limit.is_some() || self.query.offset.is_some() {
            return Err(Error::invalid_query(
                M::MODEL_NAME,
                format!("{what} of a sliced queryset (limit/offset): take it before slicing"),
            ));
        }
        Ok(())
    }

    /// Every matching row.
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
    /// let students = Student::objects().order_by([Student::NAME.asc()]).all(&db).await?;
    /// let names: Vec<&str> = students.iter().map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["alice", "bob", "carol"]);
    /// # Ok(()) }
    /// ```
    pub async fn all(&self, exec: &impl Executor) -> Result<Vec<M>> {
        self.fold(exec, Vec::new(), |out, instance| {
            out.push(instance);
            Ok(())
        })
        .await
    }

    /// Runs the query and hands each decoded instance to `f`, which accumulates into `acc`
    /// as the rows arrive (the prefetches group them this way, without first collecting
    /// every row into one list). Rows loaded by `select_related` become readable once the
    /// query has finished: `f` must not read them.
    pub(crate) async fn fold<A, F>(&self, exec: &impl Executor, acc: A, mut f: F) -> Result<A>
    where
        A: Send + 'static,
        F: FnMut(&mut A, M) -> Result<()> + Send + 'static,
    {
        self.fold_annotated(
            exec,
            acc,
            |_, _| Ok(()),
            move |acc, instance, ()| f(acc, instance),
        )
        .await
    }

    /// [`QuerySet::fold`] that also reads, with `extra`, the columns after the model's and
    /// the `select_related` ones (the annotations), from the index it is given.
    pub(crate) async fn fold_annotated<A, X, D, F>(
        &self,
        exec: &impl Executor,
        acc: A,
        extra: D,
        mut f: F,
    ) -> Result<A>
    where
        A: Send + 'static,
        D: Fn(&throughline_db::Row<'_>, usize) -> Result<X> + Send + Sync + 'static,
        F: FnMut(&mut A, M, X) -> Result<()> + Send + 'static,
    {
        let stmt = self.rows_statement(exec)?;
        let related = self.related.clone();
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut acc = acc;
                    let mut batches = related
                        .iter()
                        .map(|(field, _)| M::related_rows(field))
                        .collect::<Result<Vec<_>>>()?;
                    conn.query(&stmt, &mut |row| {
                        let mut instance = M::from_row(row, 0)?;
                        let mut start = M::meta().fields.len();
                        for ((field, width), batch) in related.iter().zip(&mut batches) {
                            instance.load_related(field, row, start, batch.as_mut())?;
                            start += width;
                        }
                        let extra = extra(row, start)?;
                        f(&mut acc, instance, extra)
                    })
                    .await?;
                    for batch in &mut batches {
                        batch.finish();
                    }
                    Ok(acc)
                })
            }),
        )
        .await
    }

    /// The rows as an async stream, read [`DEFAULT_BATCH`](crate::stream::DEFAULT_BATCH)
    /// (1,000) at a time, so that memory stays bounded whatever their number (Django's
    /// `iterator()`): a server-side cursor on PostgreSQL (inside a transaction of its own,
    /// or a savepoint of the caller's), the statement stepped batch by batch on SQLite,
    /// the result read as far as it is consumed on MySQL. The ordering, slicing and
    /// `select_related` of the queryset apply; prefetches do not (as Django's
    /// `iterator()` without `chunk_size`). The stream holds a connection until it ends or
    /// is dropped. Memory is bounded on the pool; on a transaction, and on SQLite's writer
    /// (an in-memory database), the rows are read whole before the first is handed out,
    /// so that the loop's own statements find the connection free (see
    /// [`ModelStream`](crate::stream::ModelStream)).
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for name in ["ann", "bob"] { Student { id: None, name: name.into() }.create(&db).await?; }
    /// let mut students = Student::objects().order_by([Student::NAME.asc()]).stream(&db);
    /// let mut names = Vec::new();
    /// while let Some(student) = students.next().await {
    ///     names.push(student?.name);
    /// }
    /// assert_eq!(names, ["ann", "bob"]);
    /// # Ok(()) }
    /// ```
    pub fn stream<'a>(&self, exec: &'a impl Executor) -> crate::stream::ModelStream<'a, M> {
        self.stream_in_batches(crate::stream::DEFAULT_BATCH, exec)
    }

    /// [`QuerySet::stream`] reading `batch` rows at a time (at least one; Django's
    /// `chunk_size`).
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for name in ["ann", "bob", "cy"] { Student { id: None, name: name.into() }.create(&db).await?; }
    /// let all = Student::objects().stream_in_batches(2, &db).collect_all().await?;
    /// assert_eq!(all.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn stream_in_batches<'a>(
        &self,
        batch: usize,
        exec: &'a impl Executor,
    ) -> crate::stream::ModelStream<'a, M> {
        use crate::stream::Batch;
        let stmt = self.rows_statement(exec);
        let related = self.related.clone();
        let decode = move |row: &throughline_db::Row<'_>, batch: &mut Batch<M>| {
            let mut instance = M::from_row(row, 0)?;
            let mut start = M::meta().fields.len();
            for ((field, width), rows) in related.iter().zip(&mut batch.related) {
                instance.load_related(field, row, start, rows.as_mut())?;
                start += width;
            }
            batch.instances.push_back(instance);
            Ok(())
        };
        let fields: Vec<String> = self.related.iter().map(|(f, _)| f.clone()).collect();
        let capacity = batch.clamp(1, crate::stream::DEFAULT_BATCH);
        let new_batch = move || {
            Ok(Batch {
                instances: std::collections::VecDeque::with_capacity(capacity),
                related: fields
                    .iter()
                    .map(|field| M::related_rows(field))
                    .collect::<Result<Vec<_>>>()?,
            })
        };
        crate::stream::ModelStream::new(
            exec,
            stmt,
            batch.max(1),
            std::sync::Arc::new(decode),
            std::sync::Arc::new(new_batch),
        )
    }

    /// The first row (by the ordering, or by primary key when there is none), if any.
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
    /// let oldest = Student::objects().order_by([Student::AGE.desc()]).first(&db).await?;
    /// assert_eq!(oldest.map(|s| s.name).as_deref(), Some("bob"));
    /// let nobody = Student::objects().filter(Student::AGE.gt(90)).first(&db).await?;
    /// assert!(nobody.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn first(&self, exec: &impl Executor) -> Result<Option<M>> {
        let mut first = self.clone();
        if first.query.order_by.is_empty() && M::meta().ordering.is_empty() {
            first.query.order_by = vec![OrderBy {
                expression: throughline_query::Expression::Field(FieldPath::local(
                    &M::meta().pk().name,
                )),
                descending: false,
            }];
        }
        first.query.limit = Some(1);
        Ok(first.all(exec).await?.into_iter().next())
    }

    /// Writes `fields` of each of `objs` to its row, in one transaction and one `UPDATE`
    /// per chunk of the bind-parameter limit (Django's `bulk_update`): returns the number
    /// of rows matched. Hooks and `auto_now` are not applied (as Django); an unsaved
    /// instance is [`Error::Unsaved`], a field across a relation or the key an
    /// [`Error::InvalidQuery`], and nothing is written then.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let mut students = Vec::new();
    /// for name in ["alice", "bob"] {
    ///     students.push(Student { id: None, name: name.into(), age: 20 }.create(&db).await?);
    /// }
    /// for s in &mut students {
    ///     s.age += 1;
    /// }
    /// let n = Student::objects().bulk_update(&students, &[&Student::AGE], &db).await?;
    /// assert_eq!(n, 2);
    /// # Ok(()) }
    /// ```
    pub async fn bulk_update(
        &self,
        objs: &[M],
        fields: &[&dyn crate::fields::ModelField<M>],
        exec: &impl Executor,
    ) -> Result<u64> {
        let mut names = Vec::with_capacity(fields.len());
        for field in fields {
            let name = field.local_name().ok_or_else(|| {
                Error::invalid_query(
                    M::MODEL_NAME,
                    format!(
                        "bulk_update writes the model's own fields; `{}` is across a relation",
                        field.field_name()
                    ),
                )
            })?;
            names.push(name.into());
        }
        let rows = objs.iter().map(Model::to_values).collect();
        crud::bulk_update(exec, M::meta(), rows, names).await
    }

    /// The last row: [`QuerySet::first`] of the reversed ordering (the explicit one, else
    /// the model's, else the primary key's), as Django's `last()`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for (name, age) in [("alice", 20), ("bob", 31)] {
    ///     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// }
    /// let last = Student::objects().order_by([Student::AGE.asc()]).last(&db).await?;
    /// assert_eq!(last.map(|s| s.name).as_deref(), Some("bob"));
    /// # Ok(()) }
    /// ```
    pub async fn last(&self, exec: &impl Executor) -> Result<Option<M>> {
        self.unsliced("last()")?;
        let mut last = self.clone();
        let mut ordering = last.query.effective_ordering();
        if ordering.is_empty() {
            ordering.push(OrderBy {
                expression: throughline_query::Expression::Field(FieldPath::local(
                    &M::meta().pk().name,
                )),
                descending: false,
            });
        }
        last.query.order_by = ordering
            .into_iter()
            .map(|term| OrderBy {
                descending: !term.descending,
                ..term
            })
            .collect();
        last.query.limit = Some(1);
        Ok(last.all(exec).await?.into_iter().next())
    }

    /// The row with the smallest `field` ([`Error::DoesNotExist`] when none matches), as
    /// Django's `earliest()`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for (name, age) in [("alice", 20), ("bob", 31)] {
    ///     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// }
    /// assert_eq!(Student::objects().earliest(Student::AGE, &db).await?.name, "alice");
    /// assert_eq!(Student::objects().latest(Student::AGE, &db).await?.name, "bob");
    /// # Ok(()) }
    /// ```
    pub async fn earliest<T: FieldValue>(
        &self,
        field: Field<M, T>,
        exec: &impl Executor,
    ) -> Result<M> {
        self.extreme(field.asc(), exec).await
    }

    /// The row with the largest `field` ([`Error::DoesNotExist`] when none matches), as
    /// Django's `latest()`. See [`QuerySet::earliest`].
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
    /// assert_eq!(Student::objects().latest(Student::AGE, &db).await?.name, "bob");
    /// let none = Student::objects().filter(Student::AGE.gt(90)).latest(Student::AGE, &db).await;
    /// assert!(matches!(none, Err(throughline::Error::DoesNotExist { .. })));
    /// # Ok(()) }
    /// ```
    pub async fn latest<T: FieldValue>(
        &self,
        field: Field<M, T>,
        exec: &impl Executor,
    ) -> Result<M> {
        self.extreme(field.desc(), exec).await
    }

    async fn extreme(&self, term: OrderBy, exec: &impl Executor) -> Result<M> {
        self.unsliced("earliest()/latest()")?;
        let mut one = self.clone();
        one.query.order_by = vec![term];
        one.query.limit = Some(1);
        one.all(exec)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::DoesNotExist {
                model: M::MODEL_NAME.to_owned(),
            })
    }

    /// The one row matching `q`: [`Error::DoesNotExist`] when none,
    /// [`Error::MultipleObjectsReturned`] when several.
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
    /// let bob = Student::objects().get(Student::NAME.eq("bob"), &db).await?;
    /// assert_eq!(bob.age, 31);
    /// let none = Student::objects().get(Student::NAME.eq("dave"), &db).await;
    /// assert!(matches!(none, Err(throughline::Error::DoesNotExist { .. })));
    /// let many = Student::objects().get(Student::AGE.gt(18), &db).await;
    /// assert!(matches!(many, Err(throughline::Error::MultipleObjectsReturned { .. })));
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, q: Q<M>, exec: &impl Executor) -> Result<M> {
        self.clone().filter(q).get_inner(exec).await
    }

    pub(crate) async fn get_inner(&self, exec: &impl Executor) -> Result<M> {
        let mut limited = self.clone();
        limited.query.limit = Some(2);
        let mut rows = limited.all(exec).await?;
        match rows.len() {
            0 => Err(Error::DoesNotExist {
                model: M::MODEL_NAME.to_owned(),
            }),
            1 => Ok(rows.remove(0)),
            count => Err(Error::MultipleObjectsReturned {
                model: M::MODEL_NAME.to_owned(),
                count,
            }),
        }
    }

    async fn scalar(&self, projection: Projection, exec: &impl Executor) -> Result<i64> {
        let stmt = self.query_for(projection, exec)?.render(exec.backend())?;
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut value = 0i64;
                    conn.query(&stmt, &mut |row| {
                        value = match <Value as Decode>::decode(row, 0)? {
                            Value::Null => 0,
                            other => other.as_i64().unwrap_or(1),
                        };
                        Ok(())
                    })
                    .await?;
                    Ok(value)
                })
            }),
        )
        .await
    }

    /// The number of matching rows.
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
    /// assert_eq!(Student::objects().count(&db).await?, 3);
    /// assert_eq!(Student::objects().filter(Student::AGE.lt(30)).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, exec: &impl Executor) -> Result<u64> {
        Ok(self.scalar(Projection::Count, exec).await?.max(0) as u64)
    }

    /// Whether any row matches.
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
    /// assert!(Student::objects().filter(Student::NAME.eq("alice")).exists(&db).await?);
    /// assert!(!Student::objects().filter(Student::AGE.gt(90)).exists(&db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self, exec: &impl Executor) -> Result<bool> {
        Ok(self.scalar(Projection::Exists, exec).await? != 0)
    }

    /// The chosen fields of every matching row, as dynamic values (Django's `values_list`
    /// over several fields), each in its field's canonical form on every backend (a UUID,
    /// a date or a JSON document read from SQLite's text comes back as such).
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
    /// use throughline::Value;
    /// let rows = Student::objects()
    ///     .order_by([Student::AGE.asc()])
    ///     .limit(1)
    ///     .values(vec![Student::NAME.path(), Student::AGE.path()], &db)
    ///     .await?;
    /// assert_eq!(rows, [vec![Value::from("alice"), Value::from(20_i32)]]);
    /// # Ok(()) }
    /// ```
    pub async fn values(
        &self,
        fields: Vec<FieldPath>,
        exec: &impl Executor,
    ) -> Result<Vec<Vec<Value>>> {
        self.values_with(fields, Access::Read, exec).await
    }

    /// [`QuerySet::values`] with the given access (`ReadPrimary` for a read a write
    /// depends on).
    pub(crate) async fn values_with(
        &self,
        fields: Vec<FieldPath>,
        access: Access,
        exec: &impl Executor,
    ) -> Result<Vec<Vec<Value>>> {
        let width = fields.len();
        let types: Vec<Option<throughline_core::FieldType>> = fields
            .iter()
            .map(|path| {
                let model = path.hops.last().map_or(self.query.model, |hop| hop.to);
                model.field(&path.field).map(|f| f.ty)
            })
            .collect();
        let stmt = self
            .query_for(Projection::Columns(fields), exec)?
            .render(exec.backend())?;
        exec.run(
            access,
            op(move |conn| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    conn.query(&stmt, &mut |row| {
                        let values = (0..width)
                            .map(|i| {
                                let value = <Value as Decode>::decode(row, i)?;
                                Ok(match types[i] {
                                    Some(ty) => value.coerce(ty),
                                    None => value,
                                })
                            })
                            .collect::<Result<Vec<_>>>()?;
                        out.push(values);
                        Ok(())
                    })
                    .await?;
                    Ok(out)
                })
            }),
        )
        .await
    }

    /// One field of every matching row, typed (Django's `values_list(flat=True)`).
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
    /// let mut ages: Vec<i32> = Student::objects().values_list(Student::AGE, &db).await?;
    /// ages.sort();
    /// assert_eq!(ages, [20, 25, 31]);
    /// # Ok(()) }
    /// ```
    pub async fn values_list<T: FieldValue>(
        &self,
        field: Field<M, T>,
        exec: &impl Executor,
    ) -> Result<Vec<T>> {
        let stmt = self
            .query_for(Projection::Columns(vec![field.path()]), exec)?
            .render(exec.backend())?;
        let meta = field.meta();
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    conn.query(&stmt, &mut |row| {
                        out.push(match meta {
                            Some(meta) => T::decode_for(row, 0, meta)?,
                            None => T::decode(row, 0)?,
                        });
                        Ok(())
                    })
                    .await?;
                    Ok(out)
                })
            }),
        )
        .await
    }

    /// Sets fields on every matching row in one statement; returns the number of rows.
    /// Values are validated first; `auto_now` fields not assigned are set to the current
    /// time.
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
    /// let n = Student::objects()
    ///     .filter(Student::AGE.lt(30))
    ///     .update(vec![Student::AGE.set(30)], &db)
    ///     .await?;
    /// assert_eq!(n, 2);
    /// assert_eq!(Student::objects().filter(Student::AGE.eq(30)).count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn update(
        &self,
        assignments: Vec<Assignment<M>>,
        exec: &impl Executor,
    ) -> Result<u64> {
        let mut set = Vec::new();
        let mut computed = Vec::new();
        for assignment in assignments {
            match assignment.value {
                Assigned::Value(value) => set.push((assignment.field.to_owned(), value)),
                Assigned::Computed(expression) => {
                    computed.push((assignment.field.to_owned(), expression));
                }
            }
        }
        crud::update_computed_where(exec, M::meta(), self.query.groups.clone(), set, computed).await
    }

    /// Deletes every matching row in one statement (the database applies on-delete actions
    /// to rows referring to them); returns the number of rows deleted from this table.
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
    /// let n = Student::objects().filter(Student::AGE.gt(24)).delete(&db).await?;
    /// assert_eq!(n, 2);
    /// assert_eq!(Student::objects().values_list(Student::NAME, &db).await?, ["alice"]);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, exec: &impl Executor) -> Result<u64> {
        crud::delete_where(exec, M::meta(), self.query.groups.clone()).await
    }

    /// Inserts many instances in as few statements as the backend's bind-parameter limit
    /// allows, in one transaction, and returns the rows written (with their keys). With
    /// [`Conflict::Ignore`] the rows skipped are not returned; with [`Conflict::Update`]
    /// the updated rows are.
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
    /// let new = vec![
    ///     Student { id: None, name: "dave".into(), age: 22 },
    ///     Student { id: None, name: "erin".into(), age: 23 },
    /// ];
    /// let created = Student::objects().bulk_create(new, Conflict::Error, &db).await?;
    /// assert!(created.iter().all(|s| s.id.is_some()));
    /// assert_eq!(Student::objects().count(&db).await?, 5);
    /// # Ok(()) }
    /// ```
    pub async fn bulk_create(
        &self,
        instances: Vec<M>,
        conflict: Conflict,
        exec: &impl Executor,
    ) -> Result<Vec<M>> {
        let rows = instances
            .into_iter()
            .map(|mut instance| {
                instance.before_save(true);
                instance.to_values()
            })
            .collect();
        crud::bulk_insert(exec, M::meta(), rows, conflict, |row| M::from_row(row, 0)).await
    }

    /// The row matching `q`, or `instance` created when there is none; the flag says
    /// whether it was created. A concurrent creation (unique violation) is resolved by
    /// reading the row the other caller created, as Django.
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
    /// let dave = Student { id: None, name: "dave".into(), age: 22 };
    /// let (s, created) = Student::objects().get_or_create(Student::NAME.eq("dave"), dave.clone(), &db).await?;
    /// assert!(created);
    /// let (again, created) = Student::objects().get_or_create(Student::NAME.eq("dave"), dave, &db).await?;
    /// assert!(!created);
    /// assert_eq!(again.id, s.id);
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create(
        &self,
        q: Q<M>,
        instance: M,
        exec: &impl Executor,
    ) -> Result<(M, bool)> {
        match self.get(q.clone(), exec).await {
            Ok(found) => Ok((found, false)),
            Err(Error::DoesNotExist { .. }) => match instance.create(exec).await {
                Ok(created) => Ok((created, true)),
                Err(error) if error.is_integrity(throughline_core::IntegrityKind::Unique) => self
                    .get(q, exec)
                    .await
                    .map(|found| (found, false))
                    .map_err(|_| error),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// The row matching `q` changed by `update` and saved, or `instance` created when there
    /// is none; the flag says whether it was created.
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
    /// let new = Student { id: None, name: "bob".into(), age: 0 };
    /// let (bob, created) = Student::objects()
    ///     .update_or_create(Student::NAME.eq("bob"), new, |s| s.age += 1, &db)
    ///     .await?;
    /// assert_eq!((bob.age, created), (32, false));
    /// # Ok(()) }
    /// ```
    pub async fn update_or_create(
        &self,
        q: Q<M>,
        instance: M,
        update: impl FnOnce(&mut M) + Send,
        exec: &impl Executor,
    ) -> Result<(M, bool)> {
        match self.get(q, exec).await {
            Ok(mut found) => {
                update(&mut found);
                found.save(exec).await?;
                Ok((found, false))
            }
            Err(Error::DoesNotExist { .. }) => Ok((instance.create(exec).await?, true)),
            Err(error) => Err(error),
        }
    }
}

/// The row of `M` whose unique field `field` holds `value` (a `to_field` key's target; a
/// NULL value is no row).
pub(crate) async fn get_by_field<M: Model>(
    exec: &impl Executor,
    field: &str,
    value: Value,
) -> Result<M> {
    if value.is_null() {
        return Err(Error::DoesNotExist {
            model: M::MODEL_NAME.to_owned(),
        });
    }
    QuerySet::<M>::from_groups(vec![FilterGroup::filter(Filter::cond(
        FieldPath::local(field),
        Lookup::Exact(value),
    ))])
    .get_inner(exec)
    .await
}

/// The row of `M` whose key is `key` (a NULL key is [`Error::Unsaved`]): `refresh` and
/// [`ForeignKey::get`](crate::ForeignKey::get) load with it.
pub(crate) async fn get_by_key<M: Model>(exec: &impl Executor, key: Value) -> Result<M> {
    let meta = M::meta();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: meta.name.clone(),
            action: "loading it needs a primary key".to_owned(),
        });
    }
    let mut query = SelectQuery::new(meta);
    query.groups.push(crud::key_group(meta, key));
    QuerySet::<M>::from_query(query).get_inner(exec).await
}
