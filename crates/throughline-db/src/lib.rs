//! throughline's drivers: SQLite through rusqlite on connection threads and PostgreSQL
//! through tokio-postgres with a pool, behind one [`Executor`] trait that ORM operations
//! run on ([`Database`], [`Transaction`], [`Counting`]).
//!
//! Each backend's driver is compiled only with its cargo feature: `sqlite` (the default),
//! `postgres` and `mysql` (MySQL and MariaDB, through sqlx). At least one is needed; a URL of a backend that is not compiled in is an
//! [`Error::NotSupported`](throughline_core::Error::NotSupported) from
//! [`Database::connect`].
//!
//! This is an internal crate: its API is re-exported by the `throughline` facade.

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "throughline needs at least one backend: enable the `sqlite`, `postgres` or `mysql` feature"
);

pub mod conn;
pub mod counting;
pub mod database;
pub mod decode;
pub mod executor;
pub mod hooks;
pub mod statement_log;
pub mod transaction;
pub mod unwind;

// The drivers, one module per backend feature.
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
pub mod postgres_tls;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use conn::{Access, BoxFuture, Conn, Op, Row, RowFn, op};
pub use counting::Counting;
pub use database::Database;
pub use decode::Decode;
pub use executor::Executor;
pub use hooks::{HookContext, HookExecutor, HookFn, HookPoint, HookedRelation, Hooks, LinkChange};
#[cfg(feature = "mysql")]
pub use mysql::MyOptions;
#[cfg(feature = "postgres")]
pub use postgres_tls::{PgTls, SslMode};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteOptions;
pub use transaction::Transaction;
#[cfg(feature = "postgres")]
pub use {postgres::PgOptions, tokio_postgres};

pub(crate) use statement_log::trace_statement;
