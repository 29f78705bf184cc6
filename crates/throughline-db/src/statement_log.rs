//! Owns what the statement events say: every statement is a `tracing` debug event (target
//! `throughline::sql`: SQL, parameter count, duration, rows); [`log_bound_values`] adds the
//! bound values (off by default: they may hold secrets), and [`warn_slow_statements`] makes
//! a statement slower than a threshold a warning (target `throughline::sql::slow`, on by
//! default above one second). Process-wide settings, as a logger's are.
//!
//! ```rust,standalone_crate
//! use std::time::Duration;
//! use throughline_db::statement_log;
//! // At startup (process-wide): the bound values in the debug events, as on a test database,
//! // and a warning for every statement of 200 ms or more.
//! statement_log::log_bound_values(true);
//! statement_log::warn_slow_statements(Some(Duration::from_millis(200)));
//! assert!(statement_log::logs_bound_values());
//! assert_eq!(statement_log::slow_statement_threshold(), Some(Duration::from_millis(200)));
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use throughline_core::{Error, Result};
use throughline_query::Statement;

// The examples that change these settings are `standalone_crate` doctests, each run in a
// process of its own: in the one process of the merged doctests they would race.
static BOUND_VALUES: AtomicBool = AtomicBool::new(false);
/// The slow-statement threshold in microseconds; `u64::MAX`: never.
static SLOW_MICROS: AtomicU64 = AtomicU64::new(1_000_000);

/// Whether statement events carry their bound values (`values = [..]`).
///
/// ```rust,standalone_crate
/// throughline_db::statement_log::log_bound_values(true);
/// assert!(throughline_db::statement_log::logs_bound_values());
/// throughline_db::statement_log::log_bound_values(false);
/// ```
pub fn log_bound_values(on: bool) {
    BOUND_VALUES.store(on, Ordering::Relaxed);
}

/// Whether statement events carry their bound values.
///
/// ```rust,standalone_crate
/// use throughline_db::statement_log::{log_bound_values, logs_bound_values};
/// log_bound_values(true);
/// assert!(logs_bound_values());
/// log_bound_values(false); // the default: values may hold secrets
/// assert!(!logs_bound_values());
/// ```
pub fn logs_bound_values() -> bool {
    BOUND_VALUES.load(Ordering::Relaxed)
}

/// Statements that take at least `threshold` are also a warning (`None`: never). One
/// second by default.
///
/// ```rust,standalone_crate
/// use std::time::Duration;
/// throughline_db::statement_log::warn_slow_statements(Some(Duration::from_millis(250)));
/// assert_eq!(throughline_db::statement_log::slow_statement_threshold(), Some(Duration::from_millis(250)));
/// throughline_db::statement_log::warn_slow_statements(Some(Duration::from_secs(1)));
/// ```
pub fn warn_slow_statements(threshold: Option<Duration>) {
    let micros = threshold.map_or(u64::MAX, |t| {
        u64::try_from(t.as_micros()).unwrap_or(u64::MAX - 1)
    });
    SLOW_MICROS.store(micros, Ordering::Relaxed);
}

/// The slow-statement threshold, if any.
///
/// ```rust,standalone_crate
/// use std::time::Duration;
/// use throughline_db::statement_log::{slow_statement_threshold, warn_slow_statements};
/// warn_slow_statements(None); // never warn
/// assert_eq!(slow_statement_threshold(), None);
/// warn_slow_statements(Some(Duration::from_secs(1))); // the default
/// assert_eq!(slow_statement_threshold(), Some(Duration::from_secs(1)));
/// ```
pub fn slow_statement_threshold() -> Option<Duration> {
    match SLOW_MICROS.load(Ordering::Relaxed) {
        u64::MAX => None,
        micros => Some(Duration::from_micros(micros)),
    }
}

/// Emits the events of one statement that ran from `started`: its row count, or its error
/// (a statement cancelled by `statement_timeout` or a lock wait is often the slowest).
pub(crate) fn traced(stmt: &Statement, started: Instant, result: Result<u64>) -> Result<u64> {
    match &result {
        Ok(rows) => trace_statement(stmt, started, *rows),
        Err(error) => trace_failure(stmt, started, error),
    }
    result
}

#[cold]
fn trace_failure(stmt: &Statement, started: Instant, error: &Error) {
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if elapsed_us >= SLOW_MICROS.load(Ordering::Relaxed) {
        tracing::warn!(target: "throughline::sql::slow", sql = %stmt.sql, elapsed_us, %error, "slow statement failed");
    }
    if logs_bound_values() {
        tracing::debug!(target: "throughline::sql", sql = %stmt.sql, values = ?stmt.params, elapsed_us, %error, "statement failed");
    } else {
        tracing::debug!(target: "throughline::sql", sql = %stmt.sql, params = stmt.params.len(), elapsed_us, %error, "statement failed");
    }
}

/// Emits the events of one statement that ran from `started` and returned (or changed)
/// `rows` rows.
pub(crate) fn trace_statement(stmt: &Statement, started: Instant, rows: u64) {
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let values = logs_bound_values();
    if elapsed_us >= SLOW_MICROS.load(Ordering::Relaxed) {
        if values {
            tracing::warn!(target: "throughline::sql::slow", sql = %stmt.sql, values = ?stmt.params, elapsed_us, rows, "slow statement");
        } else {
            tracing::warn!(target: "throughline::sql::slow", sql = %stmt.sql, params = stmt.params.len(), elapsed_us, rows, "slow statement");
        }
    }
    if values {
        tracing::debug!(target: "throughline::sql", sql = %stmt.sql, values = ?stmt.params, elapsed_us, rows, "statement");
    } else {
        tracing::debug!(target: "throughline::sql", sql = %stmt.sql, params = stmt.params.len(), elapsed_us, rows, "statement");
    }
}
