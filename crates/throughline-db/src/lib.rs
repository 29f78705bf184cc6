//! throughline's drivers: SQLite through rusqlite on connection threads and PostgreSQL
//! through tokio-postgres with a pool, behind one [`Executor`] trait that ORM operations
//! run on ([`Database`], [`Transaction`], [`Counting`]).
//!
//! This is an internal crate: its API is re-exported by the `throughline` facade.

pub mod conn;
pub mod counting;
pub mod database;
pub mod decode;
pub mod executor;
pub mod postgres;
pub mod sqlite;
pub mod transaction;
pub mod unwind;

pub use conn::{Access, BoxFuture, Conn, Op, Row, RowFn, op};
pub use counting::Counting;
pub use database::Database;
pub use decode::Decode;
pub use executor::Executor;
pub use postgres::PgOptions;
pub use sqlite::SqliteOptions;
pub use tokio_postgres;
pub use transaction::Transaction;

use std::time::Instant;
use throughline_query::Statement;

/// Emits the debug event every statement produces: SQL, bound value count, duration, rows.
pub(crate) fn trace_statement(stmt: &Statement, started: Instant, rows: u64) {
    tracing::debug!(
        target: "throughline::sql",
        sql = %stmt.sql,
        params = stmt.params.len(),
        elapsed_us = started.elapsed().as_micros() as u64,
        rows,
        "statement"
    );
}
