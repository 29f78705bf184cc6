//! The dynamic core of throughline: [`Value`], the schema as data ([`ModelMeta`],
//! [`FieldMeta`]), the [`Registry`] of models with its checks, [`Backend`] capabilities and
//! the [`Error`] type. No driver lives here.
//!
//! This is an internal crate: its API is re-exported by the `throughline` facade, which is
//! the only semver-stable surface.

pub mod backend;
pub mod error;
pub mod key;
pub mod naming;
pub mod registry;
pub mod schema;
pub mod validate;
pub mod value;

pub use backend::{Backend, Capabilities};
pub use error::{
    DatabaseError, Error, FixtureError, FixtureErrorKind, IntegrityKind, MigrationError, Result,
};
pub use key::Key;
pub use registry::{CheckLevel, CheckMessage, Registry, ReverseRelation};
/// The exact decimal type of `Decimal` fields (rust_decimal's).
pub use rust_decimal::Decimal;
pub use schema::{
    Choice, DefaultValue, FieldMeta, FieldType, ForeignKeyMeta, IndexMeta, ManyToManyMeta,
    ModelMeta, OnDelete, UniqueConstraint,
};
pub use value::Value;
