//! throughline's engine: every write over the dynamic core, with no user type in sight.
//! Code that has only a [`Registry`](throughline_core::Registry) and values (the admin,
//! the CLI loading fixtures, the typed shell underneath) creates, saves and deletes rows,
//! links them through many-to-many relations with SPEC §3's semantics and outcomes, and
//! fires the database's relation hooks, all from here.
//!
//! - [`crud`]: insert, create (defaults filled), save, delete, filtered update and delete,
//!   bulk insert.
//! - [`Relation`] and [`Linking`]: the relation API (`add`, `create`, `set`, `plan_set`,
//!   `remove`, `remove_where`, `clear`) with [`OnExisting`] and the outcomes.
//! - [`hooks`]: when relation hooks fire (they are registered on the database).
//! - [`defaults`]: the values a write was not given.
//! - [`cascade`]: what a delete would take with it (cascades, SET NULL, blockers).
//! - [`create_tables`] and [`drop_tables`].
//! - [`fixtures`]: `dumpdata` and `loaddata` (Django's JSON layout) over a registry.
//!
//! The typed `throughline` facade lowers each of its writes to these functions, keeping
//! the generics, the compile-time refusals and the decoding into the user's structs.
//!
//! This is an internal crate: its API is re-exported by the `throughline` facade.

pub mod cascade;
pub mod constraint_names;
pub mod crud;
pub mod defaults;
#[doc(hidden)]
pub mod doc_support;
pub mod fixtures;
pub mod hooks;
pub mod keys;
pub mod read;
pub mod relation;
pub mod tables;
pub mod validation;

mod conflict;
mod names;

pub use constraint_names::attach_model;
pub use relation::{
    AddOutcome, Differing, FieldDiff, Found, Items, Linking, OnExisting, Relation, RelationSpec,
    SetOutcome, SetPlan, UpdateFound, Values, no_values, null_reference, row_values, split,
};
pub use tables::{create_tables, drop_tables};
pub use validation::validate_instance;
