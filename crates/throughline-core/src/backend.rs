//! Owns [`Backend`] and [`Capabilities`]: which database a connection talks to, and the
//! shape of what a backend declares it supports. Each backend's dialect (in
//! `throughline-query`) declares its capabilities; the query layer checks one before
//! rendering, so a missing one is a [`crate::Error::NotSupported`], never a sea-query
//! panic (SPEC §8.11).

use crate::error::{Error, Result};

/// The database kinds throughline speaks to.
///
/// Match with a wildcard arm: more may come.
///
/// ```
/// use throughline_core::Backend;
/// assert_eq!(Backend::Sqlite.name(), "SQLite");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite through rusqlite (bundled).
    Sqlite,
    /// PostgreSQL through tokio-postgres.
    Postgres,
    /// MariaDB (10.6 and later) and MySQL, with the `mysql` cargo feature.
    Mysql,
}

/// What a backend's SQL supports, declared per statement kind.
///
/// ```
/// let caps = throughline_core::Capabilities {
///     insert_returning: true, update_returning: false, delete_returning: true,
///     on_conflict_do_nothing: true, on_conflict_do_update: true, on_conflict_target: true,
///     select_for_update: true,
///     array_params: false, statement_error_aborts_transaction: false, max_bind_params: 65_535,
/// };
/// assert!(caps.insert_returning && !caps.array_params);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `INSERT ... RETURNING`.
    pub insert_returning: bool,
    /// `UPDATE ... RETURNING`.
    pub update_returning: bool,
    /// `DELETE ... RETURNING`.
    pub delete_returning: bool,
    /// `INSERT ... ON CONFLICT DO NOTHING`.
    pub on_conflict_do_nothing: bool,
    /// `INSERT ... ON CONFLICT (...) DO UPDATE`.
    pub on_conflict_do_update: bool,
    /// A conflict clause naming its target columns (`ON CONFLICT (a, b) DO NOTHING`):
    /// without it a relation write never inserts first, and relies on its read under the
    /// row lock instead.
    pub on_conflict_target: bool,
    /// `SELECT ... FOR UPDATE` row locks.
    pub select_for_update: bool,
    /// One parameter bound to a whole list (`IN`, an insert of one row per element).
    pub array_params: bool,
    /// Whether a failed statement aborts the whole transaction (PostgreSQL), so that any
    /// statement whose error is handled needs a savepoint of its own.
    pub statement_error_aborts_transaction: bool,
    /// The largest number of bind parameters one statement may carry.
    pub max_bind_params: usize,
}

impl Backend {
    /// The backend's display name.
    ///
    /// ```
    /// assert_eq!(throughline_core::Backend::Postgres.name(), "PostgreSQL");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL/MariaDB",
        }
    }

    /// Returns an error unless `supported`; used before rendering a statement form.
    ///
    /// ```
    /// use throughline_core::Backend;
    /// assert!(Backend::Sqlite.require(false, "SELECT ... FOR UPDATE").is_err());
    /// ```
    pub fn require(self, supported: bool, feature: &str) -> Result<()> {
        if supported {
            Ok(())
        } else {
            Err(Error::NotSupported {
                backend: self.name().to_owned(),
                feature: feature.to_owned(),
            })
        }
    }
}
