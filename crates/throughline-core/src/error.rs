//! Owns [`Error`], the one error type of throughline, and the [`Result`] alias.
//!
//! Users match on the kinds; a driver's own error is wrapped opaquely (as
//! [`DatabaseError`]) so that upgrading a driver does not change this enum.

use std::fmt;

/// The result type of every fallible throughline operation.
///
/// ```
/// use throughline_core::{Error, Result};
/// fn positive(n: i64) -> Result<i64> {
///     if n > 0 { Ok(n) } else { Err(Error::invalid_query("Order", "quantity must be positive")) }
/// }
/// assert_eq!(positive(2)?, 2);
/// assert!(positive(0).unwrap_err().to_string().contains("quantity must be positive"));
/// # Ok::<(), Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of integrity rule the database refused the statement for.
///
/// ```
/// use throughline_core::IntegrityKind;
/// assert_ne!(IntegrityKind::Unique, IntegrityKind::ForeignKey);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityKind {
    /// A unique constraint or primary key.
    Unique,
    /// A foreign key (a missing parent, or a refused delete of a referred row).
    ForeignKey,
    /// A NOT NULL column.
    NotNull,
    /// A CHECK constraint.
    Check,
}

impl fmt::Display for IntegrityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrityKind::Unique => "unique",
            IntegrityKind::ForeignKey => "foreign key",
            IntegrityKind::NotNull => "not null",
            IntegrityKind::Check => "check",
        })
    }
}

/// A driver's error, kept opaque: its message, and the SQLSTATE (PostgreSQL) or extended
/// result code (SQLite) when there is one.
#[derive(Debug)]
pub struct DatabaseError {
    /// The driver's message.
    pub message: String,
    /// The SQLSTATE or SQLite result code, when known.
    pub code: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DatabaseError {
    /// Wraps a driver error.
    ///
    /// ```
    /// let e = throughline_core::DatabaseError::new("boom", Some("XX000".into()), None);
    /// assert_eq!(e.code.as_deref(), Some("XX000"));
    /// ```
    pub fn new(
        message: impl Into<String>,
        code: Option<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        DatabaseError {
            message: message.into(),
            code,
            source,
        }
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} (code {code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Every way a throughline operation can fail.
///
/// ```
/// use throughline_core::Error;
/// let e = Error::DoesNotExist { model: "Student".into() };
/// assert!(e.is_does_not_exist());
/// assert_eq!(e.to_string(), "Student matching the query does not exist");
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `get` found no row.
    #[error("{model} matching the query does not exist")]
    DoesNotExist {
        /// The model queried.
        model: String,
    },
    /// `get` found more than one row.
    #[error("get() returned more than one {model} (it returned {count})")]
    MultipleObjectsReturned {
        /// The model queried.
        model: String,
        /// How many rows matched (at least 2; counting stops early).
        count: usize,
    },
    /// The database refused the statement for an integrity rule.
    #[error("{kind} constraint violated{}{}: {message}", constraint.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(), model.as_ref().map(|m| format!(" on {m}")).unwrap_or_default())]
    Integrity {
        /// Which rule.
        kind: IntegrityKind,
        /// The constraint's name, when the backend gives it or it can be derived.
        constraint: Option<String>,
        /// The model written, when known.
        model: Option<String>,
        /// The database's message.
        message: String,
    },
    /// A value failed validation before any SQL was sent.
    #[error("invalid value for {model}.{field}: {reason}")]
    Validation {
        /// The model.
        model: String,
        /// The field.
        field: String,
        /// Why, in words.
        reason: String,
    },
    /// An instance that has no primary key yet was used where a saved one is required.
    #[error("{model} instance is not saved (it has no primary key yet): {action}")]
    Unsaved {
        /// The model of the unsaved instance.
        model: String,
        /// What was attempted.
        action: String,
    },
    /// A relation write with the `Fail` policy met pairs that were already linked; nothing
    /// was written.
    #[error("{relation}: already linked to {}", targets.join(", "))]
    AlreadyLinked {
        /// The relation, as `Model.accessor`.
        relation: String,
        /// The keys of the targets already linked.
        targets: Vec<String>,
    },
    /// The backend lacks a feature the operation needs.
    #[error("{backend} does not support {feature}")]
    NotSupported {
        /// The backend's name.
        backend: String,
        /// What is missing.
        feature: String,
    },
    /// A query named something that does not exist (a field, a relation, a lookup).
    #[error("invalid query on {model}: {reason}")]
    InvalidQuery {
        /// The model queried.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// A database URL or connection option could not be understood.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// A value read from the database does not fit the Rust type.
    #[error("cannot decode column {column}: {reason}")]
    Decode {
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// Waiting for a connection (the SQLite writer or a pooled PostgreSQL connection)
    /// took longer than the configured timeout.
    #[error("timed out after {millis} ms waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The timeout in milliseconds.
        millis: u64,
    },
    /// The connection was lost while `COMMIT` was in flight: the transaction may or may not
    /// have been committed.
    #[error("commit outcome unknown: {0}")]
    CommitOutcomeUnknown(DatabaseError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(DatabaseError),
    /// The database could not be reached: the target names the host and port (or the
    /// SQLite file) and the source says why.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// Where: `host:port` (PostgreSQL) or the file path (SQLite).
        target: String,
        /// The driver's reason.
        source: DatabaseError,
    },
    /// An operation (a hook included) panicked. Its writes were rolled back: nothing of it
    /// was applied.
    #[error("an operation panicked and was rolled back: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// A transaction can no longer commit: an operation inside it did not finish (its
    /// future was dropped mid-way) or failed in a way that left it unusable. `commit()`
    /// returns this error and rolls the transaction back.
    #[error("the transaction was aborted and rolled back: {reason}")]
    TransactionAborted {
        /// What happened to it.
        reason: String,
    },
    /// A migration file or a migration operation is wrong, or cannot be applied as it
    /// stands (an existing table, rows that would not fit, an unknown migration).
    #[error("{0}")]
    Migration(MigrationError),
    /// A fixture (`loaddata`, `dumpdata`) was refused: where (file, line, object) and why.
    /// Nothing of it was loaded.
    #[error("{0}")]
    Fixture(FixtureError),
}

/// Where and why a migration problem arose.
///
/// ```
/// let e = throughline_core::MigrationError::new("the table \"student\" already exists")
///     .in_file("migrations/0001_initial.json")
///     .at_operation("create_model Student");
/// assert_eq!(
///     e.to_string(),
///     "migration error in migrations/0001_initial.json, operation create_model Student: the table \"student\" already exists"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationError {
    /// The migration file (or migration name), when known.
    pub file: Option<String>,
    /// The line in the file, when known.
    pub line: Option<usize>,
    /// The operation, in words (`add_field Course.name`), when known.
    pub operation: Option<String>,
    /// What is wrong, in words.
    pub reason: String,
}

impl MigrationError {
    /// A migration problem with only its reason.
    ///
    /// ```
    /// let e = throughline_core::MigrationError::new("unknown migration 0009");
    /// assert_eq!(e.to_string(), "migration error: unknown migration 0009");
    /// ```
    pub fn new(reason: impl Into<String>) -> Self {
        MigrationError {
            file: None,
            line: None,
            operation: None,
            reason: reason.into(),
        }
    }

    /// Names the file (or migration).
    ///
    /// ```
    /// let e = throughline_core::MigrationError::new("bad").in_file("0001_initial");
    /// assert_eq!(e.file.as_deref(), Some("0001_initial"));
    /// ```
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Names the line in the file.
    ///
    /// ```
    /// let e = throughline_core::MigrationError::new("bad").in_file("a.json").at_line(3);
    /// assert_eq!(e.to_string(), "migration error in a.json:3: bad");
    /// ```
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Names the operation.
    ///
    /// ```
    /// let e = throughline_core::MigrationError::new("bad").at_operation("remove_field A.b");
    /// assert_eq!(e.operation.as_deref(), Some("remove_field A.b"));
    /// ```
    pub fn at_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("migration error")?;
        if let Some(file) = &self.file {
            write!(f, " in {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        if let Some(operation) = &self.operation {
            if self.file.is_some() {
                f.write_str(",")?;
            }
            write!(f, " operation {operation}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl From<MigrationError> for Error {
    fn from(error: MigrationError) -> Self {
        Error::Migration(error)
    }
}

/// What kind of problem refused a fixture.
///
/// ```
/// use throughline_core::FixtureErrorKind;
/// assert_ne!(FixtureErrorKind::UnknownModel, FixtureErrorKind::UnknownField);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FixtureErrorKind {
    /// The file could not be read.
    Unreadable,
    /// The text is not JSON, or not Django's layout (an array of objects with `model`,
    /// `pk` and `fields`).
    Malformed,
    /// A model label that names no registered model.
    UnknownModel,
    /// A field name the model does not have.
    UnknownField,
    /// A value of the wrong JSON type for its field, or one the field refuses (too long,
    /// not among its choices, not a date).
    InvalidValue,
    /// A required field without a value or a default.
    MissingField,
    /// A foreign key (or a many-to-many target) to a row that is neither in the fixtures
    /// nor in the database.
    MissingReference,
    /// Rows that refer to each other through required foreign keys only: no order of
    /// inserts can load them (a cycle through an optional key is loaded, the key set last).
    Cycle,
    /// The database refused a row (a unique constraint, say): the cause is
    /// [`FixtureError::source`].
    Database,
}

/// Where and why a fixture was refused: the file, the line of the object (or of its field)
/// and its position in the file (from 1), and the reason in words. A database error is
/// kept as the source, so that `is_integrity` questions can be asked of it.
///
/// ```
/// use throughline_core::{FixtureError, FixtureErrorKind};
/// let e = FixtureError::new(FixtureErrorKind::UnknownField, "school.student: unknown field `nmae`")
///     .in_file("data.json")
///     .at(7, 2);
/// assert_eq!(
///     e.to_string(),
///     "fixture error in data.json, line 7 (object 2): school.student: unknown field `nmae`"
/// );
/// ```
#[derive(Debug)]
pub struct FixtureError {
    /// The fixture file (its path, or `-` for stdin), when known.
    pub file: Option<String>,
    /// The line in the file (from 1), when known.
    pub line: Option<usize>,
    /// The object's position in the file's array (from 1), when known.
    pub object: Option<usize>,
    /// What kind of problem.
    pub kind: FixtureErrorKind,
    /// What is wrong, in words.
    pub reason: String,
    /// The database's error, for [`FixtureErrorKind::Database`].
    pub source: Option<Box<Error>>,
}

impl FixtureError {
    /// A fixture problem with only its kind and reason.
    ///
    /// ```
    /// use throughline_core::{FixtureError, FixtureErrorKind};
    /// let e = FixtureError::new(FixtureErrorKind::UnknownModel, "unknown model `x.y`");
    /// assert_eq!(e.to_string(), "fixture error: unknown model `x.y`");
    /// ```
    pub fn new(kind: FixtureErrorKind, reason: impl Into<String>) -> Self {
        FixtureError {
            file: None,
            line: None,
            object: None,
            kind,
            reason: reason.into(),
            source: None,
        }
    }

    /// Names the file.
    ///
    /// ```
    /// # use throughline_core::{FixtureError, FixtureErrorKind};
    /// let e = FixtureError::new(FixtureErrorKind::Malformed, "not JSON").in_file("a.json");
    /// assert_eq!(e.file.as_deref(), Some("a.json"));
    /// ```
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Names the line and the object's position (both from 1).
    ///
    /// ```
    /// # use throughline_core::{FixtureError, FixtureErrorKind};
    /// let e = FixtureError::new(FixtureErrorKind::Malformed, "bad").at(3, 1);
    /// assert_eq!((e.line, e.object), (Some(3), Some(1)));
    /// ```
    pub fn at(mut self, line: usize, object: usize) -> Self {
        self.line = Some(line);
        self.object = Some(object);
        self
    }

    /// Names the line only (a syntax error before any object is known).
    ///
    /// ```
    /// # use throughline_core::{FixtureError, FixtureErrorKind};
    /// let e = FixtureError::new(FixtureErrorKind::Malformed, "bad").in_file("a.json").at_line(4);
    /// assert_eq!(e.to_string(), "fixture error in a.json, line 4: bad");
    /// ```
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Keeps the database error that refused the row.
    ///
    /// ```
    /// # use throughline_core::{Error, FixtureError, FixtureErrorKind};
    /// let cause = Error::Config("x".into());
    /// let e = FixtureError::new(FixtureErrorKind::Database, "refused").caused_by(cause);
    /// assert!(e.source.is_some());
    /// ```
    pub fn caused_by(mut self, error: Error) -> Self {
        self.source = Some(Box::new(error));
        self
    }
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fixture error")?;
        if let Some(file) = &self.file {
            write!(f, " in {file}")?;
        }
        if let Some(line) = self.line {
            let sep = if self.file.is_some() { "," } else { " at" };
            write!(f, "{sep} line {line}")?;
        }
        if let Some(object) = self.object {
            write!(f, " (object {object})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for FixtureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<FixtureError> for Error {
    fn from(error: FixtureError) -> Self {
        Error::Fixture(error)
    }
}

/// The message, as [`Display`](std::fmt::Display) shows it: `main() -> throughline::Result<()>`
/// prints `Error: Student matching the query does not exist`, not a nested structure. Match
/// on the variants to tell errors apart.
///
/// ```
/// let e = throughline_core::Error::DoesNotExist { model: "Student".into() };
/// assert_eq!(format!("{e:?}"), "Student matching the query does not exist");
/// ```
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// Whether `get` found no row.
    ///
    /// ```
    /// assert!(!throughline_core::Error::Config("x".into()).is_does_not_exist());
    /// ```
    pub fn is_does_not_exist(&self) -> bool {
        matches!(self, Error::DoesNotExist { .. })
    }

    /// Whether this is an integrity error of the given kind.
    ///
    /// ```
    /// use throughline_core::{Error, IntegrityKind};
    /// let e = Error::Integrity { kind: IntegrityKind::Unique, constraint: None, model: None, message: String::new() };
    /// assert!(e.is_integrity(IntegrityKind::Unique));
    /// ```
    pub fn is_integrity(&self, kind: IntegrityKind) -> bool {
        matches!(self, Error::Integrity { kind: k, .. } if *k == kind)
    }

    /// The constraint named by an integrity error.
    ///
    /// ```
    /// use throughline_core::{Error, IntegrityKind};
    /// let e = Error::Integrity { kind: IntegrityKind::Unique, constraint: Some("u".into()), model: None, message: String::new() };
    /// assert_eq!(e.constraint(), Some("u"));
    /// ```
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Integrity { constraint, .. } => constraint.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a validation error.
    ///
    /// ```
    /// let e = throughline_core::Error::Validation { model: "S".into(), field: "name".into(), reason: "too long".into() };
    /// assert!(e.is_validation());
    /// ```
    pub fn is_validation(&self) -> bool {
        matches!(self, Error::Validation { .. })
    }

    /// Whether retrying the whole operation may succeed: serialization failures (40001),
    /// deadlocks (40P01), SQLite busy/locked, and timeouts waiting for a connection.
    ///
    /// ```
    /// use throughline_core::{DatabaseError, Error};
    /// let e = Error::Database(DatabaseError::new("deadlock", Some("40P01".into()), None));
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Database(db) => matches!(
                db.code.as_deref(),
                Some("40001" | "40P01" | "SQLITE_BUSY" | "SQLITE_LOCKED")
            ),
            _ => false,
        }
    }

    /// Whether this is a migration problem (a malformed file, an operation that cannot be
    /// applied as it stands).
    ///
    /// ```
    /// let e: throughline_core::Error = throughline_core::MigrationError::new("x").into();
    /// assert!(e.is_migration());
    /// ```
    pub fn is_migration(&self) -> bool {
        matches!(self, Error::Migration(_))
    }

    /// Whether a fixture was refused (`loaddata`: a malformed file, an unknown model or
    /// field, a wrong value, a missing reference, a row the database refused).
    ///
    /// ```
    /// use throughline_core::{Error, FixtureError, FixtureErrorKind};
    /// let e: Error = FixtureError::new(FixtureErrorKind::Malformed, "x").into();
    /// assert!(e.is_fixture());
    /// ```
    pub fn is_fixture(&self) -> bool {
        matches!(self, Error::Fixture(_))
    }

    /// Shorthand for a validation error.
    ///
    /// ```
    /// let e = throughline_core::Error::validation("Student", "name", "too long");
    /// assert_eq!(e.to_string(), "invalid value for Student.name: too long");
    /// ```
    pub fn validation(model: &str, field: &str, reason: impl Into<String>) -> Self {
        Error::Validation {
            model: model.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an invalid-query error.
    ///
    /// ```
    /// let e = throughline_core::Error::invalid_query("Student", "no field `nme`");
    /// assert!(e.to_string().contains("nme"));
    /// ```
    pub fn invalid_query(model: &str, reason: impl Into<String>) -> Self {
        Error::InvalidQuery {
            model: model.to_owned(),
            reason: reason.into(),
        }
    }
}
