//! Owns the querysets that read computed values back, typed: [`Annotated`] (each row of
//! the model with its annotations, Django's `annotate`), [`GroupBy`] and [`Grouped`] (one
//! row per group of key values with its aggregates, Django's `values(...).annotate(...)`),
//! and [`QuerySet::aggregate`] (one row over the whole queryset, Django's `aggregate`).
//!
//! Every one of them is one statement, whatever the number of rows or related rows.
//!
//! ```
//! use throughline::prelude::*;
//! use throughline::expr::count_rows;
//! # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
//! # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, genre: String, pages: i32 }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
//! # throughline::create_tables(&db, &r).await?;
//! let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
//! Author { id: None, name: "bo".into() }.create(&db).await?;
//! for (genre, pages) in [("scifi", 300), ("novel", 200)] {
//!     Book { id: None, author: ForeignKey::to(&ann), genre: genre.into(), pages }.create(&db).await?;
//! }
//! // Each author with a computed value (annotate).
//! let authors: Vec<(Author, i64)> = Author::objects()
//!     .annotate(Author::BOOKS.count())
//!     .order_by([Author::NAME.asc()])
//!     .all(&db)
//!     .await?;
//! let counts: Vec<(&str, i64)> = authors.iter().map(|(a, n)| (a.name.as_str(), *n)).collect();
//! assert_eq!(counts, [("ann", 2), ("bo", 0)]);
//! // One row per group (values(...).annotate(...)), and one row over all (aggregate).
//! let genres: Vec<(String, i64)> = Book::objects()
//!     .group_by(Book::GENRE)
//!     .annotate(count_rows())
//!     .order_by([Book::GENRE.asc()])
//!     .all(&db)
//!     .await?;
//! assert_eq!(genres, [("novel".into(), 1), ("scifi".into(), 1)]);
//! assert_eq!(Book::objects().aggregate(Book::PAGES.sum(), &db).await?, Some(500));
//! # Ok(()) }
//! ```

use crate::Model;
use crate::expr::Selection;
use crate::fields::Q;
use crate::queryset::QuerySet;
use std::marker::PhantomData;
use throughline_core::{Error, Result};
use throughline_db::{Access, Executor, op};
use throughline_query::{Expression, OrderBy, Projection, SelectQuery, Statement};

impl<M: Model> QuerySet<M> {
    /// Adds computed values to each row (Django's `annotate`): an aggregate over related
    /// rows (`Course::STUDENTS.count()`), an expression, or a tuple of them. The rows are
    /// read back as `(M, value)` pairs, the value typed (`(Course, i64)`,
    /// `(Course, (i64, Option<f64>))`).
    ///
    /// As Django, an aggregate across a multi-valued relation reads the related rows kept
    /// by the `filter` calls made *before* `annotate` (filter then annotate counts the
    /// matching students); a `filter` after it is a condition on the rows, or on the group
    /// when it compares an aggregate (`HAVING`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, #[throughline(related_name = "books")] author: ForeignKey<Author>, pages: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
    /// let bo = Author { id: None, name: "bo".into() }.create(&db).await?;
    /// for (author, pages) in [(&ann, 100), (&ann, 300), (&bo, 50)] {
    ///     Book { id: None, author: ForeignKey::to(author), pages }.create(&db).await?;
    /// }
    /// let pages = Author::BOOKS.then(Book::PAGES);
    /// let rows = Author::objects()
    ///     .annotate((Author::BOOKS.count(), pages.avg()))
    ///     .filter(Author::BOOKS.count().gt(1))
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(rows.len(), 1);
    /// let (author, (books, mean)) = &rows[0];
    /// assert_eq!((author.name.as_str(), *books, *mean), ("ann", 2, Some(200.0)));
    /// # Ok(()) }
    /// ```
    pub fn annotate<S: Selection<M> + 'static>(mut self, selection: S) -> Annotated<M, S> {
        let mut expressions = Vec::new();
        selection.expressions(&mut expressions);
        for expression in expressions {
            self.query.annotate(expression);
        }
        Annotated {
            rows: self,
            _selection: PhantomData,
        }
    }

    /// Computes aggregates over every matching row, in one row (Django's `aggregate`):
    /// one aggregate or a tuple of them, read back typed.
    ///
    /// A sliced, distinct or aggregate-filtered queryset is aggregated over the rows it
    /// selects, each once, as Django does through a subquery (`SUM(age)` of
    /// `filter(courses__open).distinct()` adds each student's age once). An aggregate across
    /// a relation then reads every related row of those rows: the queryset's filters on
    /// the relation do not restrict it (Django's subquery keeps them). Refused
    /// ([`Error::InvalidQuery`]): a value that is not an aggregate (use
    /// [`QuerySet::group_by`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Line { id: Option<i64>, qty: i32, price: f64 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Line::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for (qty, price) in [(2, 1.5), (1, 4.0)] {
    ///     Line { id: None, qty, price }.create(&db).await?;
    /// }
    /// let total = (Line::PRICE * 1.0).sum();
    /// let (count, units, _) = Line::objects()
    ///     .aggregate((throughline::expr::count_rows(), Line::QTY.sum(), total), &db)
    ///     .await?;
    /// assert_eq!((count, units), (2, Some(3)));
    /// # Ok(()) }
    /// ```
    pub async fn aggregate<S: Selection<M> + 'static>(
        &self,
        selection: S,
        exec: &impl Executor,
    ) -> Result<S::Output> {
        let refuse = |why: &str| Err(Error::invalid_query(M::MODEL_NAME, why));
        let mut expressions = Vec::new();
        selection.expressions(&mut expressions);
        if expressions.iter().any(|e| !e.is_aggregated()) {
            return refuse(
                "aggregate() computes aggregates only (count, sum, avg, min, max); values per group are read with group_by(...).annotate(...)",
            );
        }
        let mut query = self.query_for(Projection::Expressions(expressions), exec)?;
        let having = query.groups.iter().any(|g| g.filter.has_aggregate());
        if query.limit.is_some() || query.offset.is_some() || query.distinct || having {
            // The rows the queryset selects, by key, each read once (as Django's subquery
            // of a distinct or grouped queryset gives them).
            let mut rows = query.clone();
            rows.projection = Projection::Keys;
            query.groups.clear();
            query.keys_of = Some(Box::new(rows));
            query.limit = None;
            query.offset = None;
            query.distinct = false;
        }
        query.order_by.clear();
        query.annotations.clear();
        let stmt = query.render(exec.backend())?;
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut out = None;
                    conn.query(&stmt, &mut |row| {
                        out = Some(S::decode(row, 0)?);
                        Ok(())
                    })
                    .await?;
                    out.ok_or_else(|| {
                        Error::invalid_query(M::MODEL_NAME, "the aggregate query returned no row")
                    })
                })
            }),
        )
        .await
    }

    /// Groups the matching rows by `keys` (a field, an expression, or a tuple of them):
    /// continue with [`GroupBy::annotate`] for the aggregates of each group (Django's
    /// `values(...).annotate(...)`). The model's default ordering does not apply (it
    /// would split the groups, as Django since 3.1); order with [`Grouped::order_by`].
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::expr::count_rows;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// for (name, age) in [("ann", 20), ("bo", 20), ("cy", 31)] {
    ///     Student { id: None, name: name.into(), age }.create(&db).await?;
    /// }
    /// let per_age: Vec<(i32, i64)> = Student::objects()
    ///     .group_by(Student::AGE)
    ///     .annotate(count_rows())
    ///     .order_by([Student::AGE.asc()])
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(per_age, [(20, 2), (31, 1)]);
    /// # Ok(()) }
    /// ```
    pub fn group_by<K: Selection<M> + 'static>(self, keys: K) -> GroupBy<M, K> {
        let mut expressions = Vec::new();
        keys.expressions(&mut expressions);
        GroupBy {
            rows: self,
            keys: expressions,
            _keys: PhantomData,
        }
    }
}

/// The rows of `M`, each with the values of the selection `S` (from
/// [`QuerySet::annotate`]).
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
/// let rows: Vec<(Author, i64)> = Author::objects()
///     .annotate(Author::BOOKS.count())
///     .order_by([Author::NAME.asc()])
///     .all(&db)
///     .await?;
/// let counts: Vec<(&str, i64)> = rows.iter().map(|(a, n)| (a.name.as_str(), *n)).collect();
/// assert_eq!(counts, [("ann", 2), ("bo", 1), ("cy", 0)]);
/// # Ok(()) }
/// ```
pub struct Annotated<M: Model, S> {
    rows: QuerySet<M>,
    _selection: PhantomData<fn() -> S>,
}

impl<M: Model, S> Clone for Annotated<M, S> {
    fn clone(&self) -> Self {
        Annotated {
            rows: self.rows.clone(),
            _selection: PhantomData,
        }
    }
}

impl<M: Model, S: Selection<M> + 'static> Annotated<M, S> {
    /// Keeps the rows matching `q`; a condition on an aggregate keeps the groups
    /// (`HAVING`). See [`QuerySet::filter`].
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
    /// let busy = Author::objects().annotate(Author::BOOKS.count())
    ///     .filter(Author::BOOKS.count().gt(0))
    ///     .order_by([Author::NAME.asc()])
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(busy.iter().map(|(a, n)| (a.name.as_str(), *n)).collect::<Vec<_>>(), [("ann", 2), ("bo", 1)]);
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, q: Q<M>) -> Self {
        self.rows = self.rows.filter(q);
        self
    }

    /// Removes the rows matching `q`. See [`QuerySet::exclude`].
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
    /// let others = Author::objects().annotate(Author::BOOKS.count()).exclude(Author::NAME.eq("ann"));
    /// assert_eq!(others.count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn exclude(mut self, q: Q<M>) -> Self {
        self.rows = self.rows.exclude(q);
        self
    }

    /// Orders by fields or expressions, aggregates included (`Course::STUDENTS.count().desc()`).
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
    /// let top = Author::objects().annotate(Author::BOOKS.count())
    ///     .order_by([Author::BOOKS.count().desc()])
    ///     .first(&db)
    ///     .await?
    ///     .unwrap();
    /// assert_eq!((top.0.name.as_str(), top.1), ("ann", 2));
    /// # Ok(()) }
    /// ```
    pub fn order_by(mut self, terms: impl IntoIterator<Item = OrderBy>) -> Self {
        self.rows = self.rows.order_by(terms);
        self
    }

    /// At most `n` rows.
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
    /// let rows = Author::objects().annotate(Author::BOOKS.count()).order_by([Author::NAME.asc()]).limit(2).all(&db).await?;
    /// assert_eq!(rows.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn limit(mut self, n: u64) -> Self {
        self.rows = self.rows.limit(n);
        self
    }

    /// Skips the first `n` rows.
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
    /// let rows = Author::objects().annotate(Author::BOOKS.count()).order_by([Author::NAME.asc()]).limit(10).offset(2).all(&db).await?;
    /// assert_eq!(rows.iter().map(|(a, n)| (a.name.as_str(), *n)).collect::<Vec<_>>(), [("cy", 0)]);
    /// # Ok(()) }
    /// ```
    pub fn offset(mut self, n: u64) -> Self {
        self.rows = self.rows.offset(n);
        self
    }

    /// Removes duplicate rows (from joins across multi-valued relations).
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
    /// assert_eq!(Author::objects().annotate(Author::BOOKS.count()).distinct().count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub fn distinct(mut self) -> Self {
        self.rows = self.rows.distinct();
        self
    }

    /// The untyped query.
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
    /// let annotated = Author::objects().annotate(Author::BOOKS.count()).limit(1);
    /// assert_eq!(annotated.query().limit, Some(1));
    /// # Ok(()) }
    /// ```
    pub fn query(&self) -> &SelectQuery {
        self.rows.query()
    }

    /// The SQL and parameters the rows are read with on `backend` (see [`QuerySet::sql`]).
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
    /// let stmt = Author::objects().annotate(Author::BOOKS.count()).sql(throughline::Backend::Sqlite)?;
    /// assert!(stmt.sql.contains("COUNT("));
    /// # Ok(()) }
    /// ```
    pub fn sql(&self, backend: throughline_core::Backend) -> Result<Statement> {
        self.rows.sql(backend)
    }

    /// Every matching row with its values, in one statement.
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
    /// let rows = Author::objects().annotate(Author::BOOKS.count()).all(&db).await?;
    /// let total: i64 = rows.iter().map(|(_, n)| n).sum();
    /// assert_eq!((rows.len(), total), (3, 3));
    /// # Ok(()) }
    /// ```
    pub async fn all(&self, exec: &impl Executor) -> Result<Vec<(M, S::Output)>> {
        self.rows
            .fold_annotated(
                exec,
                Vec::new(),
                |row, start| S::decode(row, start),
                |out, instance, values| {
                    out.push((instance, values));
                    Ok(())
                },
            )
            .await
    }

    /// The first row with its values (by the ordering, else by primary key), if any.
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
    /// let (author, books) = Author::objects().annotate(Author::BOOKS.count()).first(&db).await?.unwrap();
    /// assert_eq!((author.name.as_str(), books), ("ann", 2));
    /// # Ok(()) }
    /// ```
    pub async fn first(&self, exec: &impl Executor) -> Result<Option<(M, S::Output)>> {
        let mut first = self.clone();
        if first.rows.query.order_by.is_empty() && M::meta().ordering.is_empty() {
            first.rows.query.order_by = vec![OrderBy::asc(throughline_query::FieldPath::local(
                &M::meta().pk().name,
            ))];
        }
        first.rows.query.limit = Some(1);
        Ok(first.all(exec).await?.into_iter().next())
    }

    /// The number of rows [`Annotated::all`] returns.
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
    /// assert_eq!(Author::objects().annotate(Author::BOOKS.count()).filter(Author::BOOKS.count().eq(0)).count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, exec: &impl Executor) -> Result<u64> {
        self.rows.count(exec).await
    }
}

/// The rows of `M` grouped by the keys `K` (from [`QuerySet::group_by`]), waiting for
/// their aggregates.
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
/// use throughline::expr::count_rows;
/// let by_genre: throughline::GroupBy<Book, _> = Book::objects().group_by(Book::GENRE);
/// let rows: Vec<(String, i64)> = by_genre.annotate(count_rows()).order_by([Book::GENRE.asc()]).all(&db).await?;
/// assert_eq!(rows, [("novel".to_string(), 1), ("scifi".to_string(), 2)]);
/// # Ok(()) }
/// ```
pub struct GroupBy<M: Model, K> {
    rows: QuerySet<M>,
    keys: Vec<Expression>,
    _keys: PhantomData<fn() -> K>,
}

impl<M: Model, K: Selection<M> + 'static> GroupBy<M, K> {
    /// The aggregates of each group: one or a tuple of them. A queryset filtered on an
    /// aggregate before `group_by` is refused when run ([`Error::InvalidQuery`]): filter
    /// the groups after `annotate` instead.
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
    /// use throughline::expr::count_rows;
    /// let rows: Vec<(String, (i64, Option<i64>))> = Book::objects().group_by(Book::GENRE)
    ///     .annotate((count_rows(), Book::PAGES.sum()))
    ///     .order_by([Book::GENRE.asc()])
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(rows, [("novel".into(), (1, Some(200))), ("scifi".into(), (2, Some(400)))]);
    /// # Ok(()) }
    /// ```
    pub fn annotate<A: Selection<M> + 'static>(self, aggregates: A) -> Grouped<M, K, A> {
        let refused = self
            .rows
            .query
            .groups
            .iter()
            .any(|g| g.filter.has_aggregate())
            || self.keys.iter().any(Expression::has_aggregate);
        let mut expressions = self.keys;
        aggregates.expressions(&mut expressions);
        // Recorded as annotations: each reads the joins of the filter calls made so far,
        // and a condition repeating one after `annotate` reads the same joins.
        let mut rows = self.rows;
        for expression in &expressions {
            rows.query.annotate(expression.clone());
        }
        Grouped {
            rows,
            expressions,
            refused,
            _types: PhantomData,
        }
    }
}

/// One row per group of key values `K`, with the aggregates `A` (from
/// [`GroupBy::annotate`]): read as `(keys, aggregates)` pairs.
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
/// let grouped: throughline::Grouped<Book, _, _> = Book::objects().group_by(Book::GENRE).annotate(Book::PAGES.max());
/// let mut rows: Vec<(String, Option<i32>)> = grouped.all(&db).await?;
/// rows.sort();
/// assert_eq!(rows, [("novel".into(), Some(200)), ("scifi".into(), Some(300))]);
/// # Ok(()) }
/// ```
pub struct Grouped<M: Model, K, A> {
    rows: QuerySet<M>,
    expressions: Vec<Expression>,
    refused: bool,
    _types: PhantomData<fn() -> (K, A)>,
}

impl<M: Model, K: Selection<M> + 'static, A: Selection<M> + 'static> Grouped<M, K, A> {
    /// Keeps the rows matching `q` before grouping; a condition on an aggregate keeps the
    /// groups (`HAVING`).
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
    /// // Before grouping, on rows:
    /// let long = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).filter(Book::PAGES.gt(150)).order_by([Book::GENRE.asc()]).all(&db).await?;
    /// assert_eq!(long, [("novel".into(), 1), ("scifi".into(), 1)]);
    /// // On an aggregate, on groups (`HAVING`):
    /// let popular = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).filter(throughline::expr::count_rows().gt(1)).all(&db).await?;
    /// assert_eq!(popular, [("scifi".into(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn filter(mut self, q: Q<M>) -> Self {
        self.rows = self.rows.filter(q);
        self
    }

    /// Removes the rows (or, on an aggregate, the groups) matching `q`.
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
    /// let rows = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).exclude(Book::GENRE.eq("novel")).all(&db).await?;
    /// assert_eq!(rows, [("scifi".into(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn exclude(mut self, q: Q<M>) -> Self {
        self.rows = self.rows.exclude(q);
        self
    }

    /// Orders the groups by keys or aggregates.
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
    /// let rows = Book::objects().group_by(Book::GENRE)
    ///     .annotate(Book::PAGES.sum())
    ///     .order_by([Book::PAGES.sum().desc()])
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(rows, [("scifi".into(), Some(400)), ("novel".into(), Some(200))]);
    /// # Ok(()) }
    /// ```
    pub fn order_by(mut self, terms: impl IntoIterator<Item = OrderBy>) -> Self {
        self.rows = self.rows.order_by(terms);
        self
    }

    /// At most `n` groups.
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
    /// let rows = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).order_by([Book::GENRE.desc()]).limit(1).all(&db).await?;
    /// assert_eq!(rows, [("scifi".into(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn limit(mut self, n: u64) -> Self {
        self.rows = self.rows.limit(n);
        self
    }

    /// Skips the first `n` groups.
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
    /// let rows = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).order_by([Book::GENRE.desc()]).limit(10).offset(1).all(&db).await?;
    /// assert_eq!(rows, [("novel".into(), 1)]);
    /// # Ok(()) }
    /// ```
    pub fn offset(mut self, n: u64) -> Self {
        self.rows = self.rows.offset(n);
        self
    }

    fn check(&self) -> Result<()> {
        if self.refused {
            return Err(Error::invalid_query(
                M::MODEL_NAME,
                "a condition on an aggregate before group_by, or an aggregate among the keys: filter the groups after annotate",
            ));
        }
        Ok(())
    }

    fn statement(&self, exec: &impl Executor) -> Result<Statement> {
        self.check()?;
        let projection = Projection::Expressions(self.expressions.clone());
        self.rows
            .query_for(projection, exec)?
            .render(exec.backend())
    }

    /// The SQL and parameters the groups are read with on `backend`.
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
    /// let stmt = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).sql(throughline::Backend::Postgres)?;
    /// assert!(stmt.sql.contains("GROUP BY"));
    /// # Ok(()) }
    /// ```
    pub fn sql(&self, backend: throughline_core::Backend) -> Result<Statement> {
        self.check()?;
        let mut query = self.rows.query.clone();
        query.projection = Projection::Expressions(self.expressions.clone());
        query.render(backend)
    }

    /// Every group: its keys and its aggregates, in one statement.
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
    /// let mut rows: Vec<(String, i64)> = Book::objects().group_by(Book::GENRE).annotate(throughline::expr::count_rows()).all(&db).await?;
    /// rows.sort();
    /// assert_eq!(rows, [("novel".into(), 1), ("scifi".into(), 2)]);
    /// # Ok(()) }
    /// ```
    pub async fn all(&self, exec: &impl Executor) -> Result<Vec<(K::Output, A::Output)>> {
        let stmt = self.statement(exec)?;
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    conn.query(&stmt, &mut |row| {
                        let keys = K::decode(row, 0)?;
                        let values = A::decode(row, K::WIDTH)?;
                        out.push((keys, values));
                        Ok(())
                    })
                    .await?;
                    Ok(out)
                })
            }),
        )
        .await
    }
}
