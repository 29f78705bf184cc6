#![doc = include_str!("../../../README.md")]

pub mod annotated;
pub mod expr;
pub mod fields;
pub mod foreign_key;
pub mod m2m;
pub mod model;
pub mod queryset;
pub mod raw;
pub mod relation;
pub mod stream;
pub mod testing;
pub mod through;
pub mod value_types;

mod convert;
mod group;
mod hops;
mod keys;

/// Relation hooks: async callbacks registered on a database for a many-to-many relation,
/// run before and after links are added, removed or cleared, inside the operation's
/// transaction and given an executor on it (Django's `m2m_changed`, without its blind
/// spots). Register them with [`ManyRelation::on`](crate::ManyRelation::on).
///
/// Where they fire: every write through the relation manager, from either side (`add*`,
/// `create*`, `set*`, `clear_and_set*`, `remove*`, `clear`); direct writes to the through
/// model (`create`, `save` of a new row, `bulk_create`, `delete`, queryset `delete`); and
/// deletes of a source or target row (`Model::delete`, queryset `delete`), whose through
/// rows are then deleted explicitly (`DELETE ... RETURNING`) before the row itself, so that
/// the database's cascade cannot bypass the hooks. Raw SQL, migrations and a queryset
/// `update` of a through row's keys fire none.
///
/// Events are reported in the relation's declared direction: one event per row of the
/// declaring model, with the keys of the other side. `before_*` hooks receive the planned
/// keys, `after_*` hooks the keys actually affected (empty changes fire nothing). A hook
/// that returns an error aborts the operation, which is rolled back.
///
/// Hooks belong to the database they were registered on (its clones, transactions and
/// [`Counting`] wrappers share them), not to the process: two databases,
/// or two tests, do not see each other's.
///
/// A hook may await ordinary async work (timers, channels, network) besides the executor it
/// is given; on SQLite it runs on the connection's thread with the caller's tokio runtime
/// entered, and holds the writer while it waits. A hook that panics fails the operation with
/// [`crate::Error::Panicked`] and nothing of it is applied, on every backend.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
/// # struct Post { id: Option<i64>, title: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// let post = Post { id: None, title: "hello".into() }.create(&db).await?;
/// let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
/// let spam = Tag { id: None, name: "spam".into() }.create(&db).await?;
/// let spam_key = spam.pk_value();
/// // Refuse any link to the tag `spam`, before anything is written.
/// Post::TAGS_RELATION.on(&db, HookPoint::BeforeAdd, move |ctx| {
///     let refused = ctx.change.targets.contains(&spam_key);
///     Box::pin(async move {
///         if refused {
///             return Err(throughline::Error::validation("Post", "tags", "no spam"));
///         }
///         Ok(())
///     })
/// })?;
/// assert!(post.tags().add([&rust, &spam], &db).await.is_err());
/// assert_eq!(post.tags().count(&db).await?, 0); // rolled back: not even `rust`
/// post.tags().add([&rust], &db).await?;
/// assert_eq!(post.tags().count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub mod hooks {
    pub use throughline_db::hooks::{
        HookContext, HookExecutor, HookFn, HookPoint, HookedRelation, Hooks, LinkChange,
    };
}

/// `create_tables` and `drop_tables`: the tables of a registry's models, before
/// migrations exist (the engine's [`throughline_engine::tables`]).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let mut registry = Registry::new();
/// registry.register(Tag::meta());
/// throughline::schema::create_tables(&db, &registry).await?;
/// Tag { id: None, name: "rust".into() }.create(&db).await?;
/// assert_eq!(Tag::objects().count(&db).await?, 1);
/// throughline::schema::drop_tables(&db, &registry).await?;
/// assert!(Tag::objects().count(&db).await.is_err()); // no table any more
/// # Ok(()) }
/// ```
pub mod schema {
    pub use throughline_engine::tables::{create_tables, drop_tables};
}

pub use annotated::{Annotated, GroupBy, Grouped};
pub use fields::{Field, FieldArg, Q, Rel, TextField};
pub use hooks::{HookContext, HookExecutor, HookPoint, LinkChange};
pub use m2m::{
    AddOutcome, Differing, FieldDiff, ManyRelated, ManyRelation, OnExisting, SetOutcome, SetPlan,
};
pub use model::Model;
pub use queryset::{Assignment, QuerySet};
pub use schema::{create_tables, drop_tables};
pub use throughline_core::schema::single_unique_name;
/// The checks every value passes before any SQL (`validate_value`), and the digit count
/// of decimals (`decimal_digits`).
pub use throughline_core::validate;
pub use throughline_core::validate::JSON_MAX_DEPTH;
pub use throughline_core::{
    Backend, CheckLevel, CheckMessage, Choice, DefaultValue, Error, FieldMeta, FieldType,
    FixtureError, FixtureErrorKind, ForeignKeyMeta, IndexMeta, IntegrityKind, Key, ManyToManyMeta,
    MigrationError, ModelMeta, OnDelete, Registry, Result, UniqueConstraint, Value,
};
/// What the statement events (`tracing`, target `throughline::sql`) carry: bound values
/// when asked for, and a warning above a slow-statement threshold.
pub use throughline_db::statement_log;
pub use throughline_db::{Access, Counting, Database, Executor, Transaction};
/// The untyped engine every typed write lowers to: rows and relations over a registry and
/// values, for code without model types (an admin, fixtures).
pub use throughline_engine as engine;
/// Fixtures: a database's rows as JSON in Django's layout ([`fixtures::dump`], `manage
/// dumpdata`) and loading such files in one transaction ([`fixtures::load`], `manage
/// loaddata`), on a [`Registry`] alone. The [fixtures guide](crate::fixtures_guide) tells
/// the rules and the differences from Django.
pub use throughline_engine::fixtures;
// The backends' own options, each with its cargo feature (`sqlite`, the default;
// `postgres`).
#[cfg(feature = "mysql")]
pub use throughline_db::MyOptions;
#[cfg(feature = "sqlite")]
pub use throughline_db::SqliteOptions;
#[cfg(feature = "postgres")]
pub use throughline_db::{PgOptions, PgTls, SslMode};
/// ```
/// use throughline::prelude::*;
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Choices)]
/// enum Status {
///     #[default]
///     Active,
///     Dropped,
/// }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment { id: Option<i64>, status: Status }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Enrollment::meta());
/// # throughline::create_tables(&db, &r).await?;
/// Enrollment { id: None, status: Status::Dropped }.create(&db).await?;
/// let dropped = Enrollment::objects().filter(Enrollment::STATUS.eq(Status::Dropped)).count(&db).await?;
/// assert_eq!(dropped, 1);
/// // Stored as text: the variant's name, in snake case.
/// let stored = throughline::raw::rows(&db, "SELECT status FROM enrollment", vec![]).await?;
/// assert_eq!(stored, [[throughline::Value::from("dropped")]]);
/// # Ok(()) }
/// ```
pub use throughline_macros::Choices;
/// ```
/// use throughline::prelude::*;
///
/// #[derive(Debug, Clone, Model)]
/// struct Student {
///     id: Option<i64>, // the auto-increment primary key, None until saved
///     #[throughline(max_length = 100)]
///     name: String,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let mut registry = Registry::new();
/// registry.register(Student::meta());
/// throughline::create_tables(&db, &registry).await?;
/// let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
/// assert_eq!(alice.id, Some(1));
/// assert_eq!(Student::objects().get(Student::NAME.eq("alice"), &db).await?.id, alice.id);
/// let too_long = Student { id: None, name: "x".repeat(101) }.create(&db).await;
/// assert!(too_long.is_err()); // max_length is checked before any SQL
/// # Ok(()) }
/// ```
pub use throughline_macros::Model;
/// ```
/// static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
///     throughline::embed_migrations!("migrations"); // this crate's doc fixtures
///
/// let names: Vec<String> = MIGRATIONS.load()?.into_iter().map(|m| m.name).collect();
/// assert_eq!(names, ["0001_initial"]);
/// assert!(MIGRATIONS.dir().ends_with("migrations"));
/// # Ok::<(), throughline::Error>(())
/// ```
pub use throughline_macros::embed_migrations;
/// The attribute's function is a `#[test]`, compiled by `cargo test` only; here the same
/// body runs through [`testing::run`], as the attribute does:
///
/// ```
/// use throughline::prelude::*;
/// use throughline::testing::{Setup, run};
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// fn registry() -> Registry {
///     let mut registry = Registry::new();
///     registry.register(Tag::meta());
///     registry
/// }
///
/// #[throughline::test(tables = registry)]
/// async fn tags_start_empty(db: Database) -> throughline::Result<()> {
///     assert_eq!(Tag::objects().count(&db).await?, 0);
///     Ok(())
/// }
/// # fn main() {
/// run("doc::tags_start_empty", Setup::Tables(&registry()), |db| async move {
///     assert_eq!(Tag::objects().count(&db).await?, 0);
///     Ok::<(), throughline::Error>(())
/// });
/// # }
/// ```
pub use throughline_macros::test;
// Re-exported so that generated code (inspectdb) and applications use the same versions.
pub use chrono;
pub use serde_json;
pub use uuid;

pub use foreign_key::{ForeignKey, RelatedSlot, serde_to_field, serde_to_field_option};
/// rust_decimal itself, for its macros-free helpers (`RoundingStrategy`, `prelude`).
pub use rust_decimal;
/// The exact decimal of `Decimal` fields (rust_decimal's `Decimal`, re-exported so that
/// applications use the same version): `#[throughline(max_digits = 8, decimal_places = 2)]
/// price: Decimal`.
pub use throughline_core::Decimal;
/// Text forms of values (the datetime format SQLite stores, its parser) and the clock.
pub use throughline_core::value;
/// Migrations: the schema state, operations, the autodetector, files and the executor.
pub use throughline_migrate as migrations;
/// Each backend's SQL and capabilities ([`dialect::of`]`(backend)`).
pub use throughline_query::dialect;
pub use throughline_query::{
    AggregateFunction, ArithOp, Conflict, Expression, FieldPath, Filter, Hop, LockWait, Lookup,
    OrderBy, SelectQuery,
};
pub use value_types::{Choices, FieldValue};

/// The relations guide: declaring many-to-many relations, writing and reading through them,
/// and the differences from Django.
pub mod guide {
    #![doc = include_str!("../../../docs/relations.md")]
}

/// Django's QuerySet API, entry by entry, and throughline's equivalent.
pub mod coming_from_django {
    #![doc = include_str!("../../../docs/coming-from-django.md")]
}

/// The migrations guide: commands, operations, seed 004, guarantees.
pub mod migrations_guide {
    #![doc = include_str!("../../../docs/migrations.md")]
}

/// The fixtures guide: `dumpdata` and `loaddata`, the layout, the load's guarantees and
/// the differences from Django.
pub mod fixtures_guide {
    #![doc = include_str!("../../../docs/fixtures.md")]
}

/// The replicas guide: a primary with read replicas, what runs where, and why relation
/// writes never read a replica.
pub mod replicas_guide {
    #![doc = include_str!("../../../docs/replicas.md")]
}

/// Everything an application needs in scope: `use throughline::prelude::*;`.
///
/// ```
/// use throughline::prelude::*;
///
/// #[derive(Debug, Clone, Model)]
/// struct Post {
///     id: Option<i64>,
///     title: String,
///     published: DateTime<Utc>,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let mut registry = Registry::new();
/// registry.register(Post::meta());
/// throughline::create_tables(&db, &registry).await?;
/// Post { id: None, title: "Hello".into(), published: Utc::now() }.create(&db).await?;
/// // `TextField` brings the text lookups, `Q` the filter type.
/// let hello: Q<Post> = Post::TITLE.istartswith("hel");
/// assert_eq!(Post::objects().filter(hello).count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub mod prelude {
    pub use crate::{
        Choices, Conflict, Counting, Database, Executor, ForeignKey, HookPoint, LockWait, Model,
        OnExisting, Q, Registry, TextField, Transaction,
    };
    /// The datetime types of `DateTime<Utc>` fields.
    pub use chrono::{DateTime, Utc};
    /// The exact decimal of `Decimal` fields.
    pub use throughline_core::Decimal;
}

/// Items the derive macros' generated code refers to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::fields::Now;
    pub use crate::foreign_key::{ReferringKey, RelatedBatch, RelatedRows, referred_type};
    pub use crate::hops::{forward_hop, into_through_hop, out_of_through_hop, reverse_hop};
    pub use crate::through::{
        AddWithoutValues, FieldHasDefault, FieldKey, HasDefault, HasForeignKey, NoValues,
        OptionalSlot, ThroughField, ThroughValues, ThroughValuesFor, ValueSlot,
    };
    pub use crate::value_types::{DecimalField, PrimaryKey, field_meta, in_field};
    pub use serde;
    pub use throughline_core;
    #[cfg(feature = "postgres")]
    pub use throughline_db::tokio_postgres::{Config as PgConfig, NoTls};
    pub use throughline_db::{Decode, Row, op};
    pub use throughline_query::Hop;
    pub use throughline_query::Statement;
}
