#![doc = include_str!("../../../README.md")]

pub mod fields;
pub mod hooks;
pub mod m2m;
pub mod model;
pub mod queryset;
pub mod relation;
pub mod schema;
pub mod through;
pub mod value_types;

mod constraint_names;
mod convert;
mod crud;
mod group;
mod hops;
mod keys;
mod validation;

pub use fields::{Field, Q, Rel, TextField};
pub use hooks::{HookContext, HookExecutor, HookPoint, LinkChange};
pub use m2m::{
    AddOutcome, Differing, FieldDiff, ManyRelated, ManyRelation, OnExisting, SetOutcome, SetPlan,
};
pub use model::Model;
pub use queryset::{Assignment, QuerySet};
pub use schema::{create_tables, drop_tables};
pub use throughline_core::validate::JSON_MAX_DEPTH;
pub use throughline_core::{
    Backend, CheckLevel, CheckMessage, Choice, DefaultValue, Error, FieldMeta, FieldType,
    ForeignKeyMeta, IntegrityKind, ManyToManyMeta, MigrationError, ModelMeta, OnDelete, Registry,
    Result, Value,
};
pub use throughline_db::{Access, Counting, Database, Executor, Transaction};
// The backends' own options, each with its cargo feature (`sqlite`, the default;
// `postgres`).
#[cfg(feature = "postgres")]
pub use throughline_db::PgOptions;
#[cfg(feature = "sqlite")]
pub use throughline_db::SqliteOptions;
pub use throughline_macros::{Choices, Model, embed_migrations};
// Re-exported so that generated code (inspectdb) and applications use the same versions.
pub use chrono;
pub use serde_json;
pub use uuid;

/// Migrations: the schema state, operations, the autodetector, files and the executor.
pub use throughline_migrate as migrations;
pub use throughline_query::{Conflict, FieldPath, Filter, Lookup, OrderBy};
pub use value_types::{Choices, FieldValue, ForeignKey, RelatedSlot};

/// The relations guide: declaring many-to-many relations, writing and reading through them,
/// and the differences from Django.
pub mod guide {
    #![doc = include_str!("../../../docs/relations.md")]
}

/// The migrations guide: commands, operations, seed 004, guarantees.
pub mod migrations_guide {
    #![doc = include_str!("../../../docs/migrations.md")]
}

/// Everything an application needs in scope: `use throughline::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Choices, Conflict, Counting, Database, Executor, ForeignKey, Model, Registry, TextField,
        Transaction,
    };
}

/// Items the derive macros' generated code refers to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::fields::Now;
    pub use crate::hops::{forward_hop, into_through_hop, out_of_through_hop, reverse_hop};
    pub use crate::through::{
        AddWithoutValues, FieldHasDefault, FieldKey, HasDefault, HasForeignKey, NoValues,
        ThroughField, ThroughValues, ThroughValuesFor, ValueSlot,
    };
    pub use crate::value_types::{RelatedBatch, RelatedRows, field_meta};
    pub use throughline_core;
    #[cfg(feature = "postgres")]
    pub use throughline_db::tokio_postgres::{Config as PgConfig, NoTls};
    pub use throughline_db::{Decode, Row, op};
    pub use throughline_query::Hop;
    pub use throughline_query::Statement;
}
