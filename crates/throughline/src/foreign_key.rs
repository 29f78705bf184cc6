//! Owns [`ForeignKey`], a model field that refers to a row of another model: the key, the
//! row once loaded (`select_related`, or [`ForeignKey::get`]), and the batches a
//! `select_related` query loads rows into ([`RelatedRows`], [`RelatedBatch`]) and the
//! slots generated code fills ([`RelatedSlot`]).
//!
//! ```
//! use throughline::prelude::*;
//! # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
//! #[derive(Debug, Clone, Model)]
//! struct Book {
//!     id: Option<i64>,
//!     author: ForeignKey<Author>, // the column author_id
//!     title: String,
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
//! # throughline::create_tables(&db, &r).await?;
//! let ann = Author { id: None, name: "ann".into() }.create(&db).await?;
//! Book { id: None, author: ForeignKey::to(&ann), title: "One".into() }.create(&db).await?;
//! // A plain read holds the key only; `get` reads the row.
//! let book = Book::objects().get(Book::TITLE.eq("One"), &db).await?;
//! assert_eq!(book.author.key(), &ann.pk_value());
//! assert!(book.author.loaded().is_none());
//! assert_eq!(book.author.get(&db).await?.name, "ann");
//! // `select_related` reads it in the same query.
//! let book = Book::objects().select_related(Book::AUTHOR).get(Book::TITLE.eq("One"), &db).await?;
//! assert_eq!(book.author.loaded().map(|a| a.name.as_str()), Some("ann"));
//! # Ok(()) }
//! ```

use crate::Model;
use crate::value_types::FieldValue;
use std::sync::{Arc, OnceLock};
use throughline_core::{FieldType, ForeignKeyMeta, Result, Value};
use throughline_db::Row;

/// A foreign key to `T`: the referred row's key, and the row itself once loaded
/// (`select_related`, or [`ForeignKey::get`]).
///
/// The rows one query loads for one relation are stored together and shared by the keys
/// that refer to them (one allocation per query, not one per row): a loaded row lives as
/// long as any key of its query that holds it.
///
/// ```
/// use throughline::ForeignKey;
/// # #[derive(Debug, Clone, throughline::Model)]
/// # struct Student { id: Option<i64>, name: String }
/// let fk: ForeignKey<Student> = ForeignKey::new(7);
/// assert_eq!(fk.key(), &throughline::Value::I64(7));
/// assert!(fk.loaded().is_none());
/// ```
///
/// A key declared with `to_field` (Django's foreign key to a unique non-key column) holds
/// that field's value: `ForeignKey::new("Toyota")` for a key to `Car.make`. A key built from
/// an instance ([`ForeignKey::to`]) takes the field's value from the instance when its
/// model is saved.
#[derive(Debug, Clone)]
pub struct ForeignKey<T: Model> {
    key: Value,
    cached: Option<Loaded<T>>,
    /// The target's field the key holds a value of (`None`: its primary key, or not known
    /// yet: a key built in code learns it when its model is saved or read).
    to_field: Option<&'static str>,
    /// For a key built from an instance ([`ForeignKey::to`]) of a model with unique
    /// fields: their values, one of which a `to_field` key takes when saved.
    alternates: Option<Arc<[(&'static str, Value)]>>,
}

/// A loaded row: its place among the rows its query loaded for the relation.
#[derive(Clone)]
struct Loaded<T> {
    rows: Arc<OnceLock<Vec<T>>>,
    index: usize,
}

impl<T> Loaded<T> {
    /// A row loaded on its own.
    fn single(row: T) -> Self {
        Loaded {
            rows: Arc::new(OnceLock::from(vec![row])),
            index: 0,
        }
    }

    /// The row (`None` only while its query is still reading rows).
    fn get(&self) -> Option<&T> {
        self.rows.get().and_then(|rows| rows.get(self.index))
    }
}

/// Shows the row alone (not the other rows of its query), as the boxed row showed before.
impl<T: std::fmt::Debug> std::fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(row) => row.fmt(f),
            None => f.write_str("<loading>"),
        }
    }
}

/// The rows of one relation loaded by one `select_related` query, collected while the
/// rows are read and shared by the foreign keys once the query has finished. Used by the
/// derive macro's generated code.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
/// use throughline::__private::{RelatedBatch, RelatedRows};
/// let mut batch = RelatedRows::<Author>::default();
/// batch.finish();
/// ```
pub struct RelatedRows<T> {
    pending: Vec<T>,
    shared: Arc<OnceLock<Vec<T>>>,
}

impl<T> Default for RelatedRows<T> {
    fn default() -> Self {
        RelatedRows {
            pending: Vec::new(),
            shared: Arc::new(OnceLock::new()),
        }
    }
}

impl<T> RelatedRows<T> {
    /// Keeps `row`; the returned handle reads it once the batch is finished.
    fn push(&mut self, row: T) -> Loaded<T> {
        self.pending.push(row);
        Loaded {
            rows: Arc::clone(&self.shared),
            index: self.pending.len() - 1,
        }
    }
}

/// A [`RelatedRows`] of any model, as a query holds one per related field. Made by the
/// derive's [`Model::related_rows`]; applications do not use it themselves.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
/// let batch: Box<dyn throughline::foreign_key::RelatedBatch> = Book::related_rows("author")?;
/// # drop(batch);
/// # Ok::<(), throughline::Error>(())
/// ```
pub trait RelatedBatch: Send {
    /// Publishes the rows collected to the foreign keys that refer to them.
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// let mut batch = Book::related_rows("author")?;
    /// batch.finish(); // once, after the query's last row
    /// # Ok::<(), throughline::Error>(())
    /// ```
    fn finish(&mut self);
    /// The batch, to be downcast to its [`RelatedRows`].
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: ForeignKey<Author> }
    /// use throughline::foreign_key::RelatedRows;
    /// let mut batch = Book::related_rows("author")?;
    /// assert!(batch.as_any().downcast_mut::<RelatedRows<Author>>().is_some());
    /// assert!(batch.as_any().downcast_mut::<RelatedRows<Book>>().is_none());
    /// # Ok::<(), throughline::Error>(())
    /// ```
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}

impl<T: Model> RelatedBatch for RelatedRows<T> {
    fn finish(&mut self) {
        let rows = std::mem::take(&mut self.pending);
        // A batch is finished once, by the query that filled it.
        let _ = self.shared.set(rows);
    }
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl<T: Model> ForeignKey<T> {
    /// A foreign key to the row whose primary key is `key` (an integer literal of any width
    /// is widened or narrowed to the key's integer type).
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
    /// let book = Book { id: None, title: "Dune".into(), author: ForeignKey::new(ann.id.unwrap()) }.create(&db).await?;
    /// assert_eq!(book.author.get(&db).await?.name, "Ann");
    /// // A key of no row is refused when saved.
    /// let orphan = Book { id: None, title: "?".into(), author: ForeignKey::new(999) }.create(&db).await;
    /// assert!(orphan.is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(key: impl Into<Value>) -> Self {
        let key = key.into();
        let key = match (T::PK_TYPE.as_reference(), key.as_i64()) {
            (FieldType::I64, Some(v)) => Value::I64(v),
            (FieldType::I32, Some(v)) => i32::try_from(v).map_or(key, Value::I32),
            (FieldType::I16, Some(v)) => i16::try_from(v).map_or(key, Value::I16),
            _ => key,
        };
        ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates: None,
        }
    }

    /// The value this key holds: the referred row's primary key (NULL when built from an
    /// unsaved instance), or for a key declared with `to_field`, the referred field's value
    /// once the key was read or its model saved (a key built with [`ForeignKey::to`] holds
    /// the primary key until then). Two keys are equal when they hold the same value.
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
    /// let fk: ForeignKey<Author> = ForeignKey::to(&ann);
    /// assert_eq!(fk.key(), &throughline::Value::from(ann.id.unwrap()));
    /// assert!(ForeignKey::to(&Author { id: None, name: "new".into() }).key().is_null());
    /// # Ok(()) }
    /// ```
    pub fn key(&self) -> &Value {
        &self.key
    }

    /// The referred row, if it was loaded.
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
    /// Book { id: None, title: "Dune".into(), author: ForeignKey::to(&ann) }.create(&db).await?;
    /// let plain = Book::objects().first(&db).await?.unwrap();
    /// assert!(plain.author.loaded().is_none());
    /// let joined = Book::objects().select_related(Book::AUTHOR).first(&db).await?.unwrap();
    /// assert_eq!(joined.author.loaded().map(|a| a.name.as_str()), Some("Ann"));
    /// # Ok(()) }
    /// ```
    pub fn loaded(&self) -> Option<&T> {
        self.cached.as_ref().and_then(Loaded::get)
    }

    /// The referred row: the loaded one, or one query.
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, author: ForeignKey<Author> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let author = Author { id: None, name: "Ann".into() }.create(&db).await?;
    /// let book = Book { id: None, author: ForeignKey::to(&author) }.create(&db).await?;
    /// assert_eq!(book.author.get(&db).await?.name, "Ann");
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, exec: &impl throughline_db::Executor) -> Result<T> {
        if let Some(row) = self.loaded() {
            return Ok(row.clone());
        }
        match self.to_field {
            Some(field) => crate::queryset::get_by_field::<T>(exec, field, self.key.clone()).await,
            None => crate::queryset::get_by_key::<T>(exec, self.key.clone()).await,
        }
    }

    /// A foreign key to `target` (its key is NULL if it is unsaved; saving then fails with
    /// [`crate::Error::Unsaved`]).
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
    /// let book = Book { id: None, title: "Dune".into(), author: ForeignKey::to(&ann) }.create(&db).await?;
    /// assert_eq!(book.author, ForeignKey::to(&ann));
    /// // A key to an unsaved instance cannot be saved.
    /// let ghost = Author { id: None, name: "Ghost".into() };
    /// let err = Book { id: None, title: "?".into(), author: ForeignKey::to(&ghost) }.create(&db).await;
    /// assert!(matches!(err, Err(throughline::Error::Unsaved { .. })));
    /// # Ok(()) }
    /// ```
    ///
    /// A key to a model that has unique fields also keeps their values, so that a key
    /// declared with `to_field` takes the field's value when its model is saved.
    pub fn to(target: &T) -> Self {
        let key = target.pk_value();
        let alternates = if key.is_null() {
            None
        } else {
            alternate_keys(target)
        };
        ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates,
        }
    }

    /// The value this key stores in a column referring to `T`'s field `field` (Django's
    /// `to_field`): for a key built from an instance, the instance's value of that field
    /// (NULL if the instance is unsaved), else the key held.
    fn column_value(&self, field: &str) -> Value {
        if self.to_field.is_none()
            && field != T::meta().pk().name
            && let Some(alternates) = &self.alternates
        {
            return alternates
                .iter()
                .find(|(name, _)| *name == field)
                .map_or(Value::Null, |(_, value)| value.clone());
        }
        self.key.clone()
    }

    /// Makes this key hold `T`'s field `field` (a key declared with `to_field`, when its
    /// model is saved): the instance's value for a key built from one.
    fn refer_to(&mut self, field: &'static str) {
        if self.to_field != Some(field) {
            self.key = self.column_value(field);
            self.to_field = Some(field);
            self.alternates = None;
        }
    }
}

/// The values of `target`'s unique fields other than its primary key (those a `to_field`
/// key may refer to); `None` when its model has none.
fn alternate_keys<T: Model>(target: &T) -> Option<Arc<[(&'static str, Value)]>> {
    let values: Vec<(&'static str, Value)> = T::meta()
        .fields
        .iter()
        .filter(|f| f.unique && !f.primary_key)
        .map(|f| {
            let value = target.field_value(&f.name).unwrap_or(Value::Null);
            (f.name.as_str(), value)
        })
        .collect();
    (!values.is_empty()).then(|| values.into())
}

#[doc(hidden)]
/// A foreign-key field declared with `to_field`: `ForeignKey<T>` or
/// `Option<ForeignKey<T>>`. The derive macro reads, writes and prepares such a field
/// through this trait, naming the target field. Not part of the public API.
pub trait ReferringKey: Sized {
    /// Decodes the key at `index`, a value of type `ty` of the target's field `field`.
    fn decode_referring(
        row: &Row<'_>,
        index: usize,
        ty: FieldType,
        field: &'static str,
    ) -> Result<Self>;
    /// The value stored in the column: for a key built from an instance, the instance's
    /// value of `field`; else the key held.
    fn referring_value(&self, field: &'static str) -> Value;
    /// Before a save: the key takes the target field's value.
    fn prepare_referring(&mut self, field: &'static str);
}

impl<T: Model> ReferringKey for ForeignKey<T> {
    fn decode_referring(
        row: &Row<'_>,
        index: usize,
        ty: FieldType,
        field: &'static str,
    ) -> Result<Self> {
        Ok(ForeignKey {
            key: row.value_as(index, ty)?,
            cached: None,
            to_field: Some(field),
            alternates: None,
        })
    }
    fn referring_value(&self, field: &'static str) -> Value {
        self.column_value(field)
    }
    fn prepare_referring(&mut self, field: &'static str) {
        self.refer_to(field);
    }
}

impl<T: Model> ReferringKey for Option<ForeignKey<T>> {
    fn decode_referring(
        row: &Row<'_>,
        index: usize,
        ty: FieldType,
        field: &'static str,
    ) -> Result<Self> {
        let key = row.value_as(index, ty)?;
        Ok((!key.is_null()).then_some(ForeignKey {
            key,
            cached: None,
            to_field: Some(field),
            alternates: None,
        }))
    }
    fn referring_value(&self, field: &'static str) -> Value {
        self.as_ref()
            .map_or(Value::Null, |fk| fk.column_value(field))
    }
    fn prepare_referring(&mut self, field: &'static str) {
        if let Some(fk) = self {
            fk.refer_to(field);
        }
    }
}

#[doc(hidden)]
/// The storage type of field `name` of `M`, whose constant is `_field`, for the column of
/// a key referring to it (`to_field`): its declared type (a `max_length`, decimal digits),
/// else its Rust type's. Used by the derive macro.
pub fn referred_type<M: Model, V: FieldValue>(
    _field: &crate::fields::Field<M, V>,
    name: &str,
) -> FieldType {
    M::declared_type(name).unwrap_or(V::TYPE).as_reference()
}

impl<T: Model> From<&T> for ForeignKey<T> {
    fn from(target: &T) -> Self {
        ForeignKey::to(target)
    }
}

impl<T: Model> PartialEq for ForeignKey<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: Model> crate::value_types::PrimaryKey for ForeignKey<T> {
    type Key = ForeignKey<T>;
}

impl<T: Model> FieldValue for ForeignKey<T> {
    const TYPE: FieldType = T::PK_TYPE.as_reference();
    fn to_value(&self) -> Value {
        self.key.clone()
    }
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        Ok(ForeignKey {
            key: row.value_as(index, T::PK_TYPE)?,
            cached: None,
            to_field: None,
            alternates: None,
        })
    }
    fn decode_option(row: &Row<'_>, index: usize) -> Result<Option<Self>> {
        let key = row.value_as(index, T::PK_TYPE)?;
        Ok((!key.is_null()).then_some(ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates: None,
        }))
    }
    fn from_value(value: Value) -> Result<Self> {
        Ok(ForeignKey::new(value))
    }
    fn decode_for(
        row: &Row<'_>,
        index: usize,
        field: &throughline_core::FieldMeta,
    ) -> Result<Self> {
        let referred = field.foreign_key.as_ref().and_then(|fk| {
            let name = fk.to_field.as_deref()?;
            // The name as the target's metadata holds it (a `'static` string).
            T::meta().field(name).map(|f| f.name.as_str())
        });
        match referred {
            Some(name) => Self::decode_referring(row, index, field.ty.as_reference(), name),
            None => Self::decode(row, index),
        }
    }
    fn to_value_for(&self, field: &throughline_core::FieldMeta) -> Value {
        match field
            .foreign_key
            .as_ref()
            .and_then(|fk| fk.to_field.as_deref())
        {
            Some(to_field) => self.column_value(to_field),
            None => self.key.clone(),
        }
    }
    fn foreign_key() -> Option<ForeignKeyMeta> {
        Some(ForeignKeyMeta {
            to: T::MODEL_NAME.to_owned(),
            on_delete: throughline_core::OnDelete::Cascade,
            related_name: None,
            to_field: None,
        })
    }
}

/// A field that can hold a row loaded by `select_related`: `ForeignKey<T>` and
/// `Option<ForeignKey<T>>`. Used by the derive macro.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
/// use throughline::RelatedSlot;
/// fn columns<S: RelatedSlot>() -> usize {
///     S::width()
/// }
/// assert_eq!(columns::<ForeignKey<Author>>(), 2); // id, name
/// assert_eq!(columns::<Option<ForeignKey<Author>>>(), 2);
/// ```
pub trait RelatedSlot {
    /// The referred model.
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// use throughline::RelatedSlot;
    /// fn target<S: RelatedSlot>() -> &'static str {
    ///     <S::Target as Model>::MODEL_NAME
    /// }
    /// assert_eq!(target::<Option<ForeignKey<Author>>>(), "Author");
    /// ```
    type Target: Model;
    /// The number of columns of the referred model.
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String, born: i32 }
    /// use throughline::RelatedSlot;
    /// assert_eq!(<ForeignKey<Author> as RelatedSlot>::width(), 3);
    /// ```
    fn width() -> usize;
    /// Decodes the referred row from `row` starting at column `start` into `batch` (the
    /// query's [`RelatedRows`] of the target); an all-NULL row (a missing optional
    /// relation) loads nothing. `select_related` calls it for each row (a row is not
    /// public):
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)] struct Book { id: Option<i64>, title: String, author: Option<ForeignKey<Author>> }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Author::meta()).register(Book::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// Book { id: None, title: "Anonymous".into(), author: None }.create(&db).await?;
    /// let books = Book::objects().select_related(Book::AUTHOR).all(&db).await?;
    /// assert!(books[0].author.is_none()); // the all-NULL author loaded nothing
    /// # Ok(()) }
    /// ```
    fn load(&mut self, row: &Row<'_>, start: usize, batch: &mut dyn RelatedBatch) -> Result<()>;
    /// The key held (`None` for an unset optional key).
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Author { id: Option<i64>, name: String }
    /// use throughline::{RelatedSlot, Value};
    /// assert_eq!(ForeignKey::<Author>::new(7).key(), &Value::I64(7)); // the inherent method
    /// assert_eq!(RelatedSlot::key(&ForeignKey::<Author>::new(7)), Some(&Value::I64(7)));
    /// assert_eq!(RelatedSlot::key(&None::<ForeignKey<Author>>), None);
    /// ```
    fn key(&self) -> Option<&Value>;
}

impl<T: Model> RelatedSlot for ForeignKey<T> {
    type Target = T;
    fn width() -> usize {
        T::meta().fields.len()
    }
    fn load(&mut self, row: &Row<'_>, start: usize, batch: &mut dyn RelatedBatch) -> Result<()> {
        if row.is_null(start + T::PK_INDEX)? {
            return Ok(());
        }
        let loaded = T::from_row(row, start)?;
        self.cached = Some(match batch.as_any().downcast_mut::<RelatedRows<T>>() {
            Some(rows) => rows.push(loaded),
            None => Loaded::single(loaded),
        });
        Ok(())
    }
    fn key(&self) -> Option<&Value> {
        Some(&self.key)
    }
}

impl<T: Model> RelatedSlot for Option<ForeignKey<T>> {
    type Target = T;
    fn width() -> usize {
        T::meta().fields.len()
    }
    fn load(&mut self, row: &Row<'_>, start: usize, batch: &mut dyn RelatedBatch) -> Result<()> {
        match self {
            Some(fk) => fk.load(row, start, batch),
            None => Ok(()),
        }
    }
    fn key(&self) -> Option<&Value> {
        self.as_ref().map(|fk| &fk.key)
    }
}

/// A foreign key serializes as its key (`7`, `"NORTH"`, a UUID's text; `null` unsaved),
/// not the loaded row, so a model with foreign keys (a through model) can derive
/// `Serialize` for a JSON API.
///
/// ```
/// # #[derive(Debug, Clone, throughline::Model)]
/// # struct Student { id: Option<i64>, name: String }
/// let fk: throughline::ForeignKey<Student> = throughline::ForeignKey::new(7);
/// assert_eq!(throughline::serde_json::to_string(&fk).unwrap(), "7");
/// ```
impl<T: Model> serde::Serialize for ForeignKey<T> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match &self.key {
            Value::Null => serializer.serialize_none(),
            Value::I16(v) => serializer.serialize_i64(i64::from(*v)),
            Value::I32(v) => serializer.serialize_i64(i64::from(*v)),
            Value::I64(v) => serializer.serialize_i64(*v),
            Value::String(v) => serializer.serialize_str(v),
            other => serializer.collect_str(&other.display()),
        }
    }
}

/// A foreign key deserializes from its key, of the referred model's key type (an integer,
/// a string, a UUID's text); anything else is an error naming what was expected. A key
/// declared with `to_field` holds another field's value: give its field
/// `#[serde(with = "throughline::serde_to_field")]` (or `serde_to_field_option` for an
/// `Option`), which takes any integer or text.
///
/// ```
/// # #[derive(Debug, Clone, throughline::Model)]
/// # struct Student { id: Option<i64>, name: String }
/// let fk: throughline::ForeignKey<Student> = throughline::serde_json::from_str("7").unwrap();
/// assert_eq!(fk.key(), &throughline::Value::I64(7));
/// assert!(throughline::serde_json::from_str::<throughline::ForeignKey<Student>>("\"7\"").is_err());
/// ```
impl<'de, T: Model> serde::Deserialize<'de> for ForeignKey<T> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let json = serde_json::Value::deserialize(deserializer)?;
        let ty = T::PK_TYPE.as_reference();
        let key = match (ty, &json) {
            (FieldType::I16 | FieldType::I32 | FieldType::I64, serde_json::Value::Number(n)) => {
                n.as_i64().map(|v| Value::I64(v).coerce(ty))
            }
            (FieldType::String { .. }, serde_json::Value::String(text)) => {
                Some(Value::String(text.clone()))
            }
            (FieldType::Uuid, serde_json::Value::String(text)) => {
                uuid::Uuid::parse_str(text).ok().map(Value::Uuid)
            }
            _ => None,
        };
        let key = key.ok_or_else(|| {
            D::Error::custom(format!(
                "a key of {} ({ty:?}) was expected, not {json}",
                T::MODEL_NAME
            ))
        })?;
        Ok(ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates: None,
        })
    }
}

/// Reads a key declared with `to_field` (a make, a code) from any JSON integer or text,
/// since it need not have the type of the referred model's primary key; `null` is NULL.
fn key_of_any_type<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    model: &str,
) -> std::result::Result<Value, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let json = serde_json::Value::deserialize(deserializer)?;
    match &json {
        serde_json::Value::Null => Ok(Value::Null),
        serde_json::Value::String(text) => Ok(Value::String(text.clone())),
        serde_json::Value::Number(n) => n.as_i64().map(Value::I64).ok_or_else(|| {
            D::Error::custom(format!(
                "a key of {model} (an integer or text) was expected, not {json}"
            ))
        }),
        _ => Err(D::Error::custom(format!(
            "a key of {model} (an integer or text) was expected, not {json}"
        ))),
    }
}

/// serde for a foreign key declared with `to_field`: `#[serde(with =
/// "throughline::serde_to_field")]` on a `ForeignKey<T>` field. It writes the key as
/// [`ForeignKey`]'s `Serialize` does and reads any integer or text (the referred field's
/// value, whose type the key's own type does not tell).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
/// #[derive(Debug, Clone, Model, serde::Serialize, serde::Deserialize)]
/// struct Sale {
///     id: Option<i64>,
///     #[throughline(to_field = "make")]
///     #[serde(with = "throughline::serde_to_field")]
///     car: ForeignKey<Car>,
/// }
/// let sale: Sale = throughline::serde_json::from_str(r#"{"id": null, "car": "Toyota"}"#).unwrap();
/// assert_eq!(sale.car.key(), &throughline::Value::from("Toyota"));
/// ```
pub mod serde_to_field {
    use super::{ForeignKey, key_of_any_type};
    use crate::Model;

    /// Writes the key.
    ///
    /// ```
    /// # #[derive(Debug, Clone, throughline::Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
    /// let fk: throughline::ForeignKey<Car> = throughline::ForeignKey::new("Toyota");
    /// let mut out = Vec::new();
    /// throughline::serde_to_field::serialize(&fk, &mut throughline::serde_json::Serializer::new(&mut out)).unwrap();
    /// assert_eq!(out, b"\"Toyota\"");
    /// ```
    pub fn serialize<T: Model, S: serde::Serializer>(
        key: &ForeignKey<T>,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serde::Serialize::serialize(key, serializer)
    }

    /// Reads a key from any integer or text.
    ///
    /// ```
    /// # #[derive(Debug, Clone, throughline::Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
    /// let mut json = throughline::serde_json::Deserializer::from_str("\"Toyota\"");
    /// let fk: throughline::ForeignKey<Car> = throughline::serde_to_field::deserialize(&mut json).unwrap();
    /// assert_eq!(fk.key(), &throughline::Value::from("Toyota"));
    /// ```
    pub fn deserialize<'de, T: Model, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<ForeignKey<T>, D::Error> {
        use serde::de::Error as _;
        let key = key_of_any_type(deserializer, T::MODEL_NAME)?;
        if key.is_null() {
            return Err(D::Error::custom(format!(
                "a key of {} (an integer or text) was expected, not null",
                T::MODEL_NAME
            )));
        }
        Ok(ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates: None,
        })
    }
}

/// [`serde_to_field`] for an optional key: `#[serde(with =
/// "throughline::serde_to_field_option")]` on an `Option<ForeignKey<T>>` field (`null` is
/// `None`).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
/// #[derive(Debug, Clone, Model, serde::Serialize, serde::Deserialize)]
/// struct Sale {
///     id: Option<i64>,
///     #[throughline(to_field = "make")]
///     #[serde(with = "throughline::serde_to_field_option")]
///     car: Option<ForeignKey<Car>>,
/// }
/// let sale: Sale = throughline::serde_json::from_str(r#"{"id": null, "car": null}"#).unwrap();
/// assert!(sale.car.is_none());
/// ```
pub mod serde_to_field_option {
    use super::{ForeignKey, key_of_any_type};
    use crate::Model;

    /// Writes the key, or `null`.
    ///
    /// ```
    /// # #[derive(Debug, Clone, throughline::Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
    /// let none: Option<throughline::ForeignKey<Car>> = None;
    /// let mut out = Vec::new();
    /// throughline::serde_to_field_option::serialize(&none, &mut throughline::serde_json::Serializer::new(&mut out)).unwrap();
    /// assert_eq!(out, b"null");
    /// ```
    pub fn serialize<T: Model, S: serde::Serializer>(
        key: &Option<ForeignKey<T>>,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serde::Serialize::serialize(key, serializer)
    }

    /// Reads `null` as `None`, else a key from any integer or text.
    ///
    /// ```
    /// # #[derive(Debug, Clone, throughline::Model)] struct Car { id: Option<i64>, #[throughline(unique)] make: String }
    /// let mut json = throughline::serde_json::Deserializer::from_str("\"Toyota\"");
    /// let fk: Option<throughline::ForeignKey<Car>> = throughline::serde_to_field_option::deserialize(&mut json).unwrap();
    /// assert!(fk.is_some());
    /// ```
    pub fn deserialize<'de, T: Model, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Option<ForeignKey<T>>, D::Error> {
        let key = key_of_any_type(deserializer, T::MODEL_NAME)?;
        Ok((!key.is_null()).then_some(ForeignKey {
            key,
            cached: None,
            to_field: None,
            alternates: None,
        }))
    }
}
