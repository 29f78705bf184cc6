//! Owns [`Model`], the trait `#[derive(Model)]` implements: the link between a Rust struct
//! and its [`ModelMeta`], row decoding straight into the struct, and the instance
//! operations (`create`, `save`, `refresh`, `delete`): each fills the struct's automatic
//! fields, lowers the write to the engine ([`throughline_engine::crud`]) with the struct's
//! values, and puts the key it returns back into the struct.

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
    const MODEL_NAME: &'static str;
    /// The storage type of the primary key.
    const PK_TYPE: FieldType;
    /// The primary key's position among [`ModelMeta::fields`] (its column in a row read
    /// with [`Model::from_row`] at 0).
    const PK_INDEX: usize;

    /// The model's schema.
    fn meta() -> &'static ModelMeta;
    /// Decodes an instance from `row`, its fields starting at column `start`.
    fn from_row(row: &Row<'_>, start: usize) -> Result<Self>;
    /// Every field's value, in [`ModelMeta::fields`] order.
    fn to_values(&self) -> Vec<Value>;
    /// The value of the field called `name` (without building the others).
    fn field_value(&self, name: &str) -> Option<Value>;
    /// The primary key (NULL when unsaved).
    fn pk_value(&self) -> Value;
    /// Sets the primary key (after an insert).
    fn set_pk_value(&mut self, key: Value) -> Result<()>;
    /// Fills `auto_now` (and, when `adding`, `auto_now_add`) fields.
    fn before_save(&mut self, adding: bool);
    /// The key held by the foreign-key field at position `field` of [`ModelMeta::fields`]
    /// (`None` for another field, or an optional key that is unset).
    fn related_key(&self, field: usize) -> Option<&Value>;
    /// An empty batch for the rows of foreign key `field` that a `select_related` query
    /// loads (an error for a field that is not a foreign key).
    fn related_rows(field: &str) -> Result<Box<dyn crate::foreign_key::RelatedBatch>>;
    /// Loads the row of foreign key `field` from `row` at `start` into `batch`, the
    /// query's [`Model::related_rows`] for that field (`select_related`).
    fn load_related(
        &mut self,
        field: &str,
        row: &Row<'_>,
        start: usize,
        batch: &mut dyn crate::foreign_key::RelatedBatch,
    ) -> Result<()>;

    /// A queryset over every row of the model.
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
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
    fn delete<'a, E: Executor>(
        &'a self,
        exec: &'a E,
    ) -> impl Future<Output = Result<u64>> + Send + 'a {
        crud::delete(exec, Self::meta(), self.pk_value())
    }
}
