//! Owns [`Model`], the trait `#[derive(Model)]` implements: the link between a Rust struct
//! and its [`ModelMeta`], row decoding straight into the struct, and the instance
//! operations (`create`, `save`, `refresh`, `delete`): each fills the struct's automatic
//! fields, lowers the write to the engine ([`throughline_engine::crud`]) with the struct's
//! values, and puts the key it returns back into the struct.
//!
//! ```
//! use throughline::prelude::*;
//!
//! #[derive(Debug, Clone, Model)]
//! struct Course {
//!     id: Option<i64>,
//!     #[throughline(max_length = 50)]
//!     title: String,
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Course::meta());
//! # throughline::create_tables(&db, &r).await?;
//! assert_eq!(Course::meta().table, "course");
//! let mut math = Course { id: None, title: "math".into() }.create(&db).await?;
//! assert_eq!(math.id, Some(1)); // the key the database gave, put back into the struct
//! math.title = "algebra".into();
//! math.save(&db).await?; // an UPDATE of the saved row
//! assert_eq!(Course::objects().get(Course::ID.eq(1), &db).await?.title, "algebra");
//! math.delete(&db).await?;
//! assert_eq!(Course::objects().count(&db).await?, 0);
//! # Ok(()) }
//! ```

use crate::queryset::QuerySet;
use std::future::Future;
use throughline_core::{FieldType, ModelMeta, Result, Value};
use throughline_db::{Executor, Row};
use throughline_engine::crud;

/// A database model. Implemented by `#[derive(Model)]`; the methods without a default are
/// generated and not meant to be written by hand.
///
/// ```
/// use throughline::prelude::*;
///
/// #[derive(Debug, Clone, Model)]
/// struct Student {
///     id: Option<i64>,
///     #[throughline(max_length = 100)]
///     name: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let mut registry = Registry::new();
/// registry.register(Student::meta());
/// throughline::create_tables(&db, &registry).await?;
///
/// let mut alice = Student { id: None, name: "alice".into() }.create(&db).await?;
/// assert!(alice.id.is_some());
/// alice.name = "Alice".into();
/// alice.save(&db).await?;
/// let found = Student::objects().get(Student::NAME.eq("Alice"), &db).await?;
/// assert_eq!(found.id, alice.id);
/// alice.delete(&db).await?;
/// assert_eq!(Student::objects().count(&db).await?, 0);
/// # Ok(()) }
/// ```
pub trait Model: Sized + Send + Sync + Clone + 'static {
    /// The model's name.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// struct Student { id: Option<i64>, name: String }
    /// assert_eq!(Student::MODEL_NAME, "Student");
    /// assert_eq!(Student::meta().table, "student");
    /// ```
    const MODEL_NAME: &'static str;
    /// The storage type of the primary key.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::FieldType;
    /// #[derive(Debug, Clone, Model)]
    /// struct Student { id: Option<i64>, name: String }
    /// #[derive(Debug, Clone, Model)]
    /// struct Country { #[throughline(primary_key, max_length = 2)] code: String, name: String }
    /// assert_eq!(Student::PK_TYPE, FieldType::AutoI64);
    /// assert_eq!(Country::PK_TYPE, FieldType::String { max_length: Some(2) });
    /// ```
    const PK_TYPE: FieldType;
    /// The primary key's position among [`ModelMeta::fields`] (its column in a row read
    /// with [`Model::from_row`] at 0).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// struct Country { name: String, #[throughline(primary_key, max_length = 2)] code: String }
    /// assert_eq!(Country::PK_INDEX, 1);
    /// assert_eq!(Country::meta().fields[Country::PK_INDEX].name, "code");
    /// ```
    const PK_INDEX: usize;
    /// The type of a saved row's key (`i64` for `id: Option<i64>`), as relation writes by
    /// key take it (`math.students().add_keys([3, 5], &db)`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// struct Student { id: Option<i64>, name: String }
    /// let key: <Student as Model>::Key = 42_i64; // `i64` for `id: Option<i64>`
    /// assert_eq!(Student { id: Some(key), name: "ann".into() }.pk_value(), throughline::Value::I64(42));
    /// ```
    type Key: crate::FieldValue;

    /// The model's schema.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let meta = Student::meta();
    /// assert_eq!(meta.name, "Student");
    /// assert_eq!(meta.pk().name, "id");
    /// # Ok(()) }
    /// ```
    fn meta() -> &'static ModelMeta;

    /// The declared storage type of field `name` when its attributes narrow its Rust
    /// type's (`max_length`, `max_digits`); `None` otherwise. Read by keys declared with
    /// `to_field` for their column's type without building the model's metadata (which a
    /// key to the model itself would need while it is being built). Generated.
    #[doc(hidden)]
    fn declared_type(name: &str) -> Option<FieldType> {
        let _ = name;
        None
    }
    /// The default ordering as terms when it names a foreign key, which orders by the
    /// related model's own ordering (as Django); `None` (the default) when every name is
    /// a field of the model. Generated by the derive.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] #[throughline(ordering("-name"))] struct Team { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] #[throughline(ordering("team"))] struct Player { id: Option<i64>, team: ForeignKey<Team>, name: String }
    /// // Team's ordering names its own field; Player's names a foreign key (ordered by Team's).
    /// assert!(Team::default_ordering().is_none());
    /// let terms = Player::default_ordering().expect("ordering by a foreign key");
    /// assert_eq!((terms[0].path().map(|p| p.field.as_str()), terms[0].descending), (Some("name"), true));
    /// ```
    fn default_ordering() -> Option<Vec<throughline_query::OrderBy>> {
        None
    }
    /// The condition every default query of the model applies (Django's custom default
    /// manager hiding rows, e.g. soft-deleted ones): [`Model::objects`], and reads through
    /// a relation to this model. `#[throughline(default_filter = "visible")]` names an
    /// associated function returning a `Q<Self>`; [`Model::all_objects`] sees every row.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// #[throughline(default_filter = "live")]
    /// struct Post { id: Option<i64>, title: String, deleted: bool }
    /// impl Post {
    ///     fn live() -> Q<Post> {
    ///         Post::DELETED.eq(false)
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// assert!(Post::default_filter().is_some());
    /// Post { id: None, title: "gone".into(), deleted: true }.create(&db).await?;
    /// assert_eq!(Post::objects().count(&db).await?, 0);
    /// assert_eq!(Post::all_objects().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    fn default_filter() -> Option<throughline_query::Filter> {
        None
    }
    /// Decodes an instance from `row`, its fields starting at column `start`. Generated by
    /// the derive; the querysets call it on every row they read (a row is not public):
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Author { id: None, name: "Ann".into() }.create(&db).await?;
    /// let read = Author::objects().get(Author::ID.eq(ann.id), &db).await?; // from_row(row, 0)
    /// assert_eq!(read.name, "Ann");
    /// # Ok(()) }
    /// ```
    fn from_row(row: &Row<'_>, start: usize) -> Result<Self>;
    /// Decodes an instance from `row`, field `i` (in [`ModelMeta::fields`] order) from
    /// column `columns[i]` (hand-written SQL, [`Model::raw`], whose columns come in any
    /// order). Generated by the derive.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Author { id: None, name: "Ann".into() }.create(&db).await?;
    /// // The columns in another order than the fields: mapped by name.
    /// let authors = Author::raw("SELECT name, id FROM author", vec![], &db).await?;
    /// assert_eq!((authors[0].id, authors[0].name.as_str()), (Some(1), "Ann"));
    /// # Ok(()) }
    /// ```
    fn from_row_mapped(row: &Row<'_>, columns: &[usize]) -> Result<Self>;
    /// Every field's value, in [`ModelMeta::fields`] order.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// use throughline::Value;
    /// let ann = Student { id: None, name: "ann".into(), age: 20 };
    /// assert_eq!(ann.to_values(), [Value::Null, Value::from("ann"), Value::from(20_i32)]);
    /// # Ok(()) }
    /// ```
    fn to_values(&self) -> Vec<Value>;
    /// The value of the field called `name` (without building the others).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Student { id: None, name: "ann".into(), age: 20 };
    /// assert_eq!(ann.field_value("name"), Some(throughline::Value::from("ann")));
    /// assert_eq!(ann.field_value("nope"), None);
    /// # Ok(()) }
    /// ```
    fn field_value(&self, name: &str) -> Option<Value>;
    /// The primary key (NULL when unsaved).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let unsaved = Student { id: None, name: "ann".into(), age: 20 };
    /// assert!(unsaved.pk_value().is_null());
    /// let saved = unsaved.create(&db).await?;
    /// assert_eq!(saved.pk_value(), throughline::Value::from(saved.id.unwrap()));
    /// # Ok(()) }
    /// ```
    fn pk_value(&self) -> Value;
    /// Sets the primary key (after an insert).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// let mut ann = Student { id: None, name: "ann".into() };
    /// ann.set_pk_value(throughline::Value::I64(7))?;
    /// assert_eq!(ann.id, Some(7));
    /// # Ok::<(), throughline::Error>(())
    /// ```
    fn set_pk_value(&mut self, key: Value) -> Result<()>;
    /// Fills `auto_now` (and, when `adding`, `auto_now_add`) fields.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// struct Note {
    ///     id: Option<i64>,
    ///     #[throughline(auto_now_add)]
    ///     created: Option<DateTime<Utc>>,
    ///     #[throughline(auto_now)]
    ///     touched: Option<DateTime<Utc>>,
    /// }
    /// let mut note = Note { id: None, created: None, touched: None };
    /// note.before_save(false); // an update: only `auto_now`
    /// assert!(note.created.is_none() && note.touched.is_some());
    /// note.before_save(true); // an insert: both
    /// assert!(note.created.is_some());
    /// ```
    fn before_save(&mut self, adding: bool);
    /// The key held by the foreign-key field at position `field` of [`ModelMeta::fields`]
    /// (`None` for another field, or an optional key that is unset).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::Value;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// let book = Book { id: None, title: "Dune".into(), author: ForeignKey::new(7) };
    /// assert_eq!(book.related_key(2), Some(&Value::I64(7))); // field 2 is `author`
    /// assert_eq!(book.related_key(1), None); // `title` is no foreign key
    /// ```
    fn related_key(&self, field: usize) -> Option<&Value>;
    /// An empty batch for the rows of foreign key `field` that a `select_related` query
    /// loads (an error for a field that is not a foreign key).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// assert!(Book::related_rows("author").is_ok());
    /// assert!(Book::related_rows("title").is_err());
    /// ```
    fn related_rows(field: &str) -> Result<Box<dyn crate::foreign_key::RelatedBatch>>;
    /// Loads the row of foreign key `field` from `row` at `start` into `batch`, the
    /// query's [`Model::related_rows`] for that field (`select_related`). Generated by the
    /// derive; `select_related` calls it on every row:
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let ann = Author { id: None, name: "Ann".into() }.create(&db).await?;
    /// # Book { id: None, title: "Dune".into(), author: ForeignKey::new(ann.id.unwrap_or_default()) }.create(&db).await?;
    /// let book = Book::objects().select_related(Book::AUTHOR).first(&db).await?;
    /// // The author was loaded by the same query.
    /// let author = book.as_ref().and_then(|b| b.author.loaded()).map(|a| a.name.as_str());
    /// assert_eq!(author, Some("Ann"));
    /// # Ok(()) }
    /// ```
    fn load_related(
        &mut self,
        field: &str,
        row: &Row<'_>,
        start: usize,
        batch: &mut dyn crate::foreign_key::RelatedBatch,
    ) -> Result<()>;

    /// A queryset over every row of the model.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Student { id: None, name: "ann".into(), age: 20 }.create(&db).await?;
    /// assert_eq!(Student::objects().filter(Student::AGE.gt(18)).count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
    }

    /// Every row, without the model's [`Model::default_filter`] (Django's base manager,
    /// or a second plain `Manager`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// #[derive(Debug, Clone, Model)]
    /// #[throughline(default_filter = "live")]
    /// struct Post { id: Option<i64>, title: String, deleted: bool }
    /// impl Post {
    ///     fn live() -> Q<Post> {
    ///         Post::DELETED.eq(false)
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Post { id: None, title: "kept".into(), deleted: false }.create(&db).await?;
    /// Post { id: None, title: "gone".into(), deleted: true }.create(&db).await?;
    /// assert_eq!(Post::objects().count(&db).await?, 1);
    /// assert_eq!(Post::all_objects().count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    fn all_objects() -> QuerySet<Self> {
        QuerySet::unfiltered()
    }

    /// Instances from hand-written SQL with bound parameters (Django's `raw()`): the
    /// query's columns are matched to the fields by column name, in any order (see
    /// [`crate::raw::instances`]); placeholders are the backend's (`?`, or `$1` on
    /// PostgreSQL).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Student { id: None, name: "alice".into(), age: 20 }.create(&db).await?;
    /// let adults = Student::raw(
    ///     "SELECT name, age, id FROM student WHERE age >= ?",
    ///     vec![18i64.into()],
    ///     &db,
    /// )
    /// .await?;
    /// assert_eq!(adults[0].name, "alice");
    /// # Ok(()) }
    /// ```
    fn raw<'a, E: Executor>(
        sql: &'a str,
        params: Vec<Value>,
        exec: &'a E,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send + 'a {
        crate::raw::instances::<Self>(exec, sql, params)
    }

    /// Inserts the instance and returns it with its primary key and automatic fields set.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Student { id: None, name: "ann".into(), age: 20 }.create(&db).await?;
    /// assert!(ann.id.is_some());
    /// assert_eq!(Student::objects().get(Student::NAME.eq("ann"), &db).await?.id, ann.id);
    /// # Ok(()) }
    /// ```
    fn create<E: Executor>(mut self, exec: &E) -> impl Future<Output = Result<Self>> + Send {
        async move {
            self.before_save(true);
            let key = crud::insert(exec, Self::meta(), self.to_values()).await?;
            self.set_pk_value(key)?;
            Ok(self)
        }
    }

    /// Inserts the instance if it has no primary key, updates it otherwise (inserting when
    /// no row has that key, as Django).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let mut ann = Student { id: None, name: "ann".into(), age: 20 };
    /// ann.save(&db).await?; // no key: inserted
    /// assert!(ann.id.is_some());
    /// ann.age = 21;
    /// ann.save(&db).await?; // updated
    /// assert_eq!(Student::objects().values_list(Student::AGE, &db).await?, [21]);
    /// # Ok(()) }
    /// ```
    fn save<'a, E: Executor>(
        &'a mut self,
        exec: &'a E,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            if self.pk_value().is_null() {
                *self = self.clone().create(exec).await?;
                return Ok(());
            }
            self.before_save(false);
            crud::save(exec, Self::meta(), self.to_values()).await?;
            Ok(())
        }
    }

    /// Reloads every field from the database.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let mut ann = Student { id: None, name: "ann".into(), age: 20 }.create(&db).await?;
    /// Student::objects().update(vec![Student::AGE.set(30)], &db).await?;
    /// assert_eq!(ann.age, 20);
    /// ann.refresh(&db).await?;
    /// assert_eq!(ann.age, 30);
    /// # Ok(()) }
    /// ```
    fn refresh<'a, E: Executor>(
        &'a mut self,
        exec: &'a E,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            let fresh = crate::queryset::get_by_key::<Self>(exec, self.pk_value()).await?;
            *self = fresh;
            Ok(())
        }
    }

    /// Deletes the instance's row (the database applies on-delete actions to rows that
    /// refer to it) and returns the number of rows deleted from this table.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let ann = Student { id: None, name: "ann".into(), age: 20 }.create(&db).await?;
    /// assert_eq!(ann.delete(&db).await?, 1);
    /// assert!(!Student::objects().exists(&db).await?);
    /// # Ok(()) }
    /// ```
    fn delete<'a, E: Executor>(
        &'a self,
        exec: &'a E,
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        crud::delete(exec, Self::meta(), self.pk_value())
    }
}
