//! throughline's migrations, on the dynamic core: the schema state ([`state`]), operations
//! ([`operations`]), the autodetector ([`autodetector`]), migration files ([`files`]), the
//! record of applied migrations ([`recorder`]) and the executor ([`executor`]), with the
//! row checks of narrowing changes ([`narrowing`]) and the comparison of existing tables
//! with a migration's models behind `fake_initial` ([`shape`]). Operations say *what*
//! changes; each backend's schema editor ([`editor`]) says how. Migrations refuse rather
//! than guess (SPEC §7): every problem is a `throughline_core::Error::Migration`.
//!
//! Migrations are stored in the application's repository as readable JSON files, one per
//! migration, with their dependencies; the state is rebuilt by replaying them. This is an
//! internal crate: use it through the `throughline` CLI (`makemigrations`, `migrate`,
//! `showmigrations`, `sqlmigrate`).

pub mod autodetector;
pub mod editor;
pub mod executor;
pub mod files;
pub mod inspect;
pub mod introspect;
pub mod narrowing;
pub mod operations;
pub mod recorder;
pub mod shape;
pub mod state;

pub use autodetector::{Detection, Hints, Question, detect};
pub use editor::SchemaEditor;
pub use executor::{
    MigrateOptions, MigrationState, Step, migrate, migrate_with, sql, status, status_detail,
};
pub use files::{EmbeddedMigrations, Migration, find, load, next_name, replay, write};
pub use inspect::{Inspection, generate};
pub use introspect::{IndexInfo, TableInfo, read_schema};
pub use operations::{Cost, Operation};
pub use state::ProjectState;
