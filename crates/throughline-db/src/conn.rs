//! Owns the contract between ORM operations and drivers: [`Conn`] (run one statement on
//! one connection), [`Row`] (a row of either backend, read in place), [`Op`] (one ORM
//! operation: async code over a `Conn`) and [`Access`] (what the operation does, which
//! decides connection, transaction and locking).
//!
//! An operation is written once, as async code over `&mut dyn Conn`. On PostgreSQL it is
//! awaited for real. On SQLite the whole operation is sent as one job to the connection's
//! thread, where every `Conn` future is already complete when created, so the operation
//! finishes in a single poll: one hop per operation, not per statement (SPEC §8.5).

use std::future::Future;
use std::pin::Pin;
use throughline_core::{Backend, Result};
use throughline_query::Statement;

/// A boxed, `Send` future, the return type of [`Conn`] methods and operations.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A row of a result, read in place (decoding happens while the driver still holds it).
pub enum Row<'a> {
    /// A SQLite row.
    #[cfg(feature = "sqlite")]
    Sqlite(&'a rusqlite::Row<'a>),
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(&'a tokio_postgres::Row),
    /// A MySQL/MariaDB row.
    #[cfg(feature = "mysql")]
    Mysql(&'a sqlx_mysql::MySqlRow),
}

impl Row<'_> {
    /// The number of columns.
    pub fn len(&self) -> usize {
        match self {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => row.as_ref().column_count(),
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => row.len(),
            #[cfg(feature = "mysql")]
            Row::Mysql(row) => sqlx_core::row::Row::len(*row),
        }
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the columns, in order (as the query names them).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Database, Executor, op};
    /// use throughline_query::Statement;
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let names = db
    ///     .run(Access::Read, op(|conn| Box::pin(async move {
    ///         let mut names = Vec::new();
    ///         conn.query(&Statement::new("SELECT 1 AS a, 2 AS b", vec![]), &mut |row| {
    ///             names = row.column_names();
    ///             Ok(())
    ///         }).await?;
    ///         Ok(names)
    ///     })))
    ///     .await?;
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok(()) }
    /// ```
    pub fn column_names(&self) -> Vec<String> {
        match self {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => {
                let stmt = row.as_ref();
                (0..stmt.column_count())
                    .map(|i| stmt.column_name(i).unwrap_or_default().to_owned())
                    .collect()
            }
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => row.columns().iter().map(|c| c.name().to_owned()).collect(),
            #[cfg(feature = "mysql")]
            Row::Mysql(row) => sqlx_core::row::Row::columns(*row)
                .iter()
                .map(|c| sqlx_core::column::Column::name(c).to_owned())
                .collect(),
        }
    }

    /// Whether column `index` is NULL, read without decoding the value (a LEFT JOIN's
    /// missing row, say). An index past the last column is an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Database, Executor, op};
    /// use throughline_query::Statement;
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let nulls = db
    ///     .run(Access::Read, op(|conn| Box::pin(async move {
    ///         let mut nulls = Vec::new();
    ///         let stmt = Statement::new("SELECT NULL, 1", vec![]);
    ///         conn.query(&stmt, &mut |row| {
    ///             nulls.push((row.is_null(0)?, row.is_null(1)?));
    ///             Ok(())
    ///         }).await?;
    ///         Ok(nulls)
    ///     })))
    ///     .await?;
    /// assert_eq!(nulls, vec![(true, false)]);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn is_null(&self, index: usize) -> throughline_core::Result<bool> {
        crate::decode::is_null(self, index)
    }

    /// Decodes column `index` as a [`Value`](throughline_core::Value) of the declared
    /// type `ty`, which is how keys are read: an integer comes back at its declared width
    /// on both backends, and PostgreSQL skips the per-row lookup of the column's type that
    /// decoding an untyped `Value` needs. NULL is `Value::Null`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_core::{FieldType, Value};
    /// use throughline_db::{Access, Database, Executor, op};
    /// use throughline_query::Statement;
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let values = db
    ///     .run(Access::Read, op(|conn| Box::pin(async move {
    ///         let mut values = Vec::new();
    ///         let stmt = Statement::new("SELECT 7, NULL", vec![]);
    ///         conn.query(&stmt, &mut |row| {
    ///             values.push(row.value_as(0, FieldType::I32)?);
    ///             values.push(row.value_as(1, FieldType::I64)?);
    ///             Ok(())
    ///         }).await?;
    ///         Ok(values)
    ///     })))
    ///     .await?;
    /// assert_eq!(values, vec![Value::I32(7), Value::Null]);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn value_as(
        &self,
        index: usize,
        ty: throughline_core::FieldType,
    ) -> throughline_core::Result<throughline_core::Value> {
        crate::decode::typed_value(self, index, ty)
    }

    /// Decodes column `index` as `T`.
    #[inline]
    pub fn get<T: crate::Decode>(&self, index: usize) -> Result<T> {
        T::decode(self, index)
    }

    /// Calls `f` with column `index` as borrowed text, without allocating.
    pub fn with_str<R>(&self, index: usize, f: impl FnOnce(&str) -> Result<R>) -> Result<R> {
        let error = |reason: String| throughline_core::Error::Decode {
            column: index.to_string(),
            reason,
        };
        match self {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => match row.get_ref(index).map_err(|e| error(e.to_string()))? {
                rusqlite::types::ValueRef::Text(bytes) => {
                    f(std::str::from_utf8(bytes).map_err(|e| error(e.to_string()))?)
                }
                other => Err(error(format!(
                    "expected text, found {:?}",
                    other.data_type()
                ))),
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => f(row
                .try_get::<_, &str>(index)
                .map_err(|e| error(e.to_string()))?),
            #[cfg(feature = "mysql")]
            Row::Mysql(row) => f(sqlx_core::row::Row::try_get::<&str, _>(*row, index)
                .map_err(|e| error(e.to_string()))?),
        }
    }
}

/// The callback a query calls for each row.
pub type RowFn<'a> = &'a mut (dyn FnMut(&Row<'_>) -> Result<()> + Send);

/// What a batched query awaits after each batch of rows (see [`Conn::query_batched`]):
/// typically it hands the rows decoded so far to a reader. An error stops the query.
pub type FlushFn<'a> = &'a mut (dyn FnMut() -> BoxFuture<'static, Result<()>> + Send);

/// One connection, as an operation sees it.
pub trait Conn: Send {
    /// The backend of this connection.
    fn backend(&self) -> Backend;

    /// Runs a statement that returns rows, calling `on_row` for each; returns the row count.
    fn query<'a>(
        &'a mut self,
        stmt: &'a Statement,
        on_row: RowFn<'a>,
    ) -> BoxFuture<'a, Result<u64>>;

    /// Runs a statement that returns rows in batches of at most `batch` rows: `on_row` for
    /// each row, then `flush` after each batch (and after the last, possibly empty, one),
    /// reading no further row until `flush`'s future completes, so that memory stays
    /// bounded whatever the number of rows. Returns the row count.
    ///
    /// PostgreSQL reads through a server-side cursor (`DECLARE ... CURSOR`, `FETCH`),
    /// which needs a transaction: run it under [`Access::Atomic`]. SQLite steps its
    /// statement, its connection's thread waiting for each flush. MySQL reads its result
    /// stream only as far as it is consumed (the server waits on the socket, up to its
    /// `net_write_timeout`).
    fn query_batched<'a>(
        &'a mut self,
        stmt: &'a Statement,
        batch: usize,
        on_row: RowFn<'a>,
        flush: FlushFn<'a>,
    ) -> BoxFuture<'a, Result<u64>>;

    /// Runs a statement that returns no rows; returns the number of rows affected.
    fn execute<'a>(&'a mut self, stmt: &'a Statement) -> BoxFuture<'a, Result<u64>>;

    /// Runs SQL without parameters, possibly several statements (DDL, savepoints).
    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// What an operation does, which decides where and how it runs.
///
/// ```
/// use throughline_db::Access;
/// assert_ne!(Access::Read, Access::Atomic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: a SQLite reader connection, no transaction; a read replica when the
    /// database has some ([`crate::Database::with_replicas`]).
    Read,
    /// Only reads that a write depends on (the existing links a relation write compares
    /// with): as [`Access::Read`], but always on the primary, never on a lagging replica.
    ReadPrimary,
    /// One writing statement: the SQLite writer, autocommit.
    WriteOne,
    /// Several statements that must apply together: one transaction (SQLite
    /// `BEGIN IMMEDIATE`), or a savepoint inside the caller's transaction.
    Atomic,
    /// A schema change (a migration): one transaction; on SQLite with foreign keys off
    /// around it (set before `BEGIN`, since the pragma is a no-op inside a transaction, so
    /// that a table rebuild cannot cascade-delete child rows) and `PRAGMA
    /// foreign_key_check` before `COMMIT`; on PostgreSQL under an advisory lock, so that two
    /// processes never migrate at once. On MySQL/MariaDB, where DDL commits each statement,
    /// no transaction: autocommit under a named lock (`GET_LOCK`), the migration executor
    /// recording each step. Only on the pool.
    Schema,
}

/// One ORM operation: async code run on one connection. Build it with [`op`].
pub type Op<T> = Box<dyn for<'c> FnOnce(&'c mut dyn Conn) -> BoxFuture<'c, Result<T>> + Send>;

/// Boxes an operation; the closure's argument is the connection.
///
/// ```
/// use throughline_db::{op, Conn};
/// use throughline_query::Statement;
/// let count = op(|conn: &mut dyn Conn| Box::pin(async move {
///     conn.execute(&Statement::new("DELETE FROM t", vec![])).await
/// }));
/// # drop(count);
/// ```
pub fn op<T, F>(f: F) -> Op<T>
where
    F: for<'c> FnOnce(&'c mut dyn Conn) -> BoxFuture<'c, Result<T>> + Send + 'static,
{
    Box::new(f)
}
