//! Owns the MySQL/MariaDB driver: the pool (sqlx's MySQL driver, chosen by measurement in
//! `benches/mysql-drivers/`: as fast as mysql_async on this workload, fewer crates, no C,
//! and it drains a cancelled query's rows where mysql_async hands them to the next
//! query), `MyLease` (a pooled connection that is closed, not reused, if it comes back
//! with a statement cut off or a transaction open), the session every connection starts
//! with (strict mode, `ANSI_QUOTES`, `utf8mb4`, UTC), binding [`Value`]s, and mapping
//! server error numbers to typed errors.

use crate::conn::{Access, BoxFuture, Conn, Op, Row, RowFn};
use futures_core::Stream;
use sqlx_core::arguments::Arguments;
use sqlx_core::executor::Executor as _;
use sqlx_core::pool::PoolConnection;
use sqlx_core::sql_str::AssertSqlSafe;
use sqlx_mysql::{MySql, MySqlArguments, MySqlConnectOptions, MySqlPoolOptions};
use std::time::{Duration, Instant};
use throughline_core::{Backend, DatabaseError, Error, IntegrityKind, Result, Value};
use throughline_query::Statement;

/// The session settings of every connection: strict mode (a value that does not fit is an
/// error, never truncated), identifiers in double quotes (the hand-written SQL of the
/// engine and migrations quotes with `"`), no silent engine substitution, and the
/// assignments of an `UPDATE` all reading the row as it was (`SET a = b, b = a` swaps, as
/// on PostgreSQL and SQLite; MariaDB otherwise reads the values assigned to its left).
const SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ANSI_QUOTES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,SIMULTANEOUS_ASSIGNMENT'";

/// Pool settings for MySQL/MariaDB.
///
/// ```
/// let options = throughline_db::MyOptions::default();
/// assert_eq!(options.max_size, 16);
/// ```
#[derive(Debug, Clone)]
pub struct MyOptions {
    /// Largest number of connections.
    pub max_size: u32,
    /// How long to wait for a free connection.
    pub wait_timeout: Duration,
}

impl Default for MyOptions {
    fn default() -> Self {
        MyOptions {
            max_size: 16,
            wait_timeout: Duration::from_secs(30),
        }
    }
}

/// A pool of MySQL/MariaDB connections.
pub struct MyPool {
    pool: sqlx_core::pool::Pool<MySql>,
    wait_timeout: Duration,
    /// `host:port` of the server, named in connection errors.
    target: String,
}

impl MyPool {
    /// Builds the pool (connections open lazily).
    pub(crate) fn new(options: MySqlConnectOptions, settings: &MyOptions) -> MyPool {
        let target = format!(
            "MySQL/MariaDB at {}:{}{}",
            options.get_host(),
            options.get_port(),
            options
                .get_database()
                .map(|db| format!(" (database {db})"))
                .unwrap_or_default()
        );
        let options = options
            .charset("utf8mb4")
            .pipes_as_concat(false)
            .timezone(Some("+00:00".to_owned()));
        let pool = MySqlPoolOptions::new()
            .max_connections(settings.max_size)
            .acquire_timeout(settings.wait_timeout)
            .after_connect(|conn, _meta| {
                Box::pin(async move { conn.execute(SESSION).await.map(drop) })
            })
            .connect_lazy_with(options);
        MyPool {
            pool,
            wait_timeout: settings.wait_timeout,
            target,
        }
    }

    /// Opens one connection now (and returns it to the pool), so that a server that is down
    /// or refuses the credentials is reported by `connect`, not by the first query.
    ///
    /// The server must be MariaDB 10.6 or later: throughline's SQL there needs `RETURNING`
    /// (MariaDB 10.5+; MySQL has none) and `JSON_TABLE` (MariaDB 10.6+, MySQL 8).
    pub(crate) async fn check(&self) -> Result<()> {
        let mut lease = self.lease().await?;
        let mut version = String::new();
        lease
            .query_async(
                &Statement::new("SELECT VERSION()", Vec::new()),
                &mut |row| {
                    version = <String as crate::Decode>::decode(row, 0)?;
                    Ok(())
                },
            )
            .await?;
        server_supported(&version)
    }

    /// Takes a connection from the pool.
    pub(crate) async fn lease(&self) -> Result<MyLease> {
        match self.pool.acquire().await {
            Ok(conn) => Ok(MyLease {
                conn: Some(conn),
                clean: true,
                busy: false,
            }),
            Err(sqlx_core::Error::PoolTimedOut) => Err(Error::Timeout {
                what: "a MySQL/MariaDB connection".to_owned(),
                millis: self.wait_timeout.as_millis() as u64,
            }),
            Err(error) => Err(Error::Connect {
                target: self.target.clone(),
                source: DatabaseError::new(error.to_string(), None, Some(Box::new(error))),
            }),
        }
    }

    /// Runs an operation outside any transaction.
    pub(crate) async fn run<T: Send + 'static>(&self, access: Access, op: Op<T>) -> Result<T> {
        let mut lease = self.lease().await?;
        match access {
            Access::Read | Access::ReadPrimary | Access::WriteOne => {
                crate::unwind::CatchPanicBoxed::new(op(&mut lease)).await
            }
            Access::Atomic => {
                lease.begin("BEGIN").await?;
                match crate::unwind::CatchPanicBoxed::new(op(&mut lease)).await {
                    Ok(value) => lease.commit().await.map(|()| value),
                    Err(error) => {
                        lease.rollback().await?;
                        Err(error)
                    }
                }
            }
            Access::Schema => {
                // DDL commits each statement on its own here: a migration runs in
                // autocommit (its steps recorded one by one by the executor), one migrating
                // process at a time under a named lock held by this connection. Until the
                // lock is released the lease is marked unclean, so that a cancelled or
                // failed run closes the connection, which frees the lock.
                lease.clean = false;
                lease.take_lock(MIGRATION_LOCK_WAIT).await?;
                let result = crate::unwind::CatchPanicBoxed::new(op(&mut lease)).await;
                // A migration stopped between `LOCK TABLES` and its `UNLOCK TABLES` (a
                // narrowing change's row checks) leaves its table locks: released here.
                let released = match lease.batch_async("UNLOCK TABLES").await {
                    Ok(()) => {
                        lease
                            .batch_async(&format!("SELECT RELEASE_LOCK({MIGRATION_LOCK})"))
                            .await
                    }
                    Err(error) => Err(error),
                };
                // The operation's own error comes first; a connection whose locks could
                // not be released stays marked and is closed, which releases them.
                let value = result?;
                released?;
                lease.clean = true;
                Ok(value)
            }
        }
    }
}

/// The name of the lock (`GET_LOCK`) that keeps two processes from migrating the same
/// database at once, as an SQL expression (the lock is server-wide: its name carries the
/// database's, hashed to stay within the 64 characters a lock name may have).
const MIGRATION_LOCK: &str = "CONCAT('throughline_migrate_', MD5(COALESCE(DATABASE(), '')))";

/// How long a migration waits for another process's migration to finish.
const MIGRATION_LOCK_WAIT: Duration = Duration::from_secs(600);

/// Refuses a server throughline's MySQL SQL does not run on, by its `VERSION()`:
/// MariaDB before 10.6 (no `JSON_TABLE`), and MySQL (no `RETURNING`).
fn server_supported(version: &str) -> Result<()> {
    let unsupported = |feature: String| {
        Err(Error::NotSupported {
            backend: "MySQL/MariaDB".to_owned(),
            feature,
        })
    };
    if !version.contains("MariaDB") {
        return unsupported(format!(
            "MySQL server {version}: throughline needs INSERT/DELETE ... RETURNING, which only MariaDB has (10.6 or later); MySQL 8 is not supported yet"
        ));
    }
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (10, 6) {
        return unsupported(format!(
            "MariaDB {version}: throughline needs JSON_TABLE (MariaDB 10.6 or later)"
        ));
    }
    Ok(())
}

/// A pooled connection. Dropped while a statement was running (its future was dropped)
/// or inside a transaction, the connection is detached from the pool and its socket
/// closed: the server rolls the transaction back, and no later query can read its
/// leftovers.
pub(crate) struct MyLease {
    conn: Option<PoolConnection<MySql>>,
    clean: bool,
    busy: bool,
}

impl MyLease {
    /// The connection, for one statement: refused when the previous statement was cut
    /// off (its future dropped mid-way), since the server may still be reading it and
    /// would take the next statement's bytes for the rest of it. The transaction is then
    /// lost; dropping the lease closes the connection and the server rolls it back.
    fn start(&mut self) -> Result<&mut PoolConnection<MySql>> {
        if self.busy {
            return Err(Error::Database(DatabaseError::new(
                "a statement on this MySQL/MariaDB connection was cut off; the connection is discarded",
                None,
                None,
            )));
        }
        self.busy = true;
        self.conn.as_mut().ok_or_else(|| {
            Error::Database(DatabaseError::new(
                "the MySQL/MariaDB connection was discarded",
                None,
                None,
            ))
        })
    }

    /// Starts a transaction with `sql` (`BEGIN`).
    pub(crate) async fn begin(&mut self, sql: &str) -> Result<()> {
        self.clean = false;
        self.batch_async(sql).await
    }

    /// Commits; a connection lost during `COMMIT` gives [`Error::CommitOutcomeUnknown`].
    pub(crate) async fn commit(&mut self) -> Result<()> {
        let started = Instant::now();
        let result = sqlx_core::raw_sql::raw_sql("COMMIT")
            .execute(&mut **self.start()?)
            .await;
        crate::trace_statement(&Statement::new("COMMIT", Vec::new()), started, 0);
        match result {
            Ok(_) => {
                self.busy = false;
                self.clean = true;
                Ok(())
            }
            // A lost connection stays marked: it is closed, never reused.
            Err(error @ (sqlx_core::Error::Io(_) | sqlx_core::Error::Protocol(_))) => {
                Err(Error::CommitOutcomeUnknown(DatabaseError::new(
                    error.to_string(),
                    None,
                    Some(Box::new(error)),
                )))
            }
            Err(error) => Err(map_error(error)),
        }
    }

    /// Takes the migration lock ([`MIGRATION_LOCK`], `GET_LOCK`) for this connection's
    /// session, waiting up to `wait`; another session holding it that long is
    /// [`Error::Timeout`].
    async fn take_lock(&mut self, wait: Duration) -> Result<()> {
        let stmt = Statement::new(
            format!("SELECT GET_LOCK({MIGRATION_LOCK}, ?)"),
            vec![Value::I64(wait.as_secs().max(1) as i64)],
        );
        let mut taken = false;
        self.query_async(&stmt, &mut |row| {
            taken = <Option<i64> as crate::Decode>::decode(row, 0)? == Some(1);
            Ok(())
        })
        .await?;
        if taken {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: "the migration lock (another process is migrating this database)".into(),
                millis: wait.as_millis() as u64,
            })
        }
    }

    /// Rolls back.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        self.batch_async("ROLLBACK").await?;
        self.clean = true;
        Ok(())
    }

    async fn query_async(&mut self, stmt: &Statement, on_row: RowFn<'_>) -> Result<u64> {
        let started = Instant::now();
        let args = arguments(&stmt.params)?;
        let conn = self.start()?;
        let query = sqlx_core::query::query_with(AssertSqlSafe(stmt.sql.clone()), args);
        let result: Result<u64> = async {
            let mut stream = std::pin::pin!(query.fetch(&mut **conn));
            let mut rows = 0;
            while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                let row = row.map_err(map_error)?;
                rows += 1;
                on_row(&Row::Mysql(&row))?;
            }
            Ok(rows)
        }
        .await;
        // The statement ended (an error too: the driver reads what is left of its rows
        // before the next one); only a dropped future leaves the connection cut off.
        self.busy = false;
        crate::statement_log::traced(stmt, started, result)
    }

    /// [`Conn::query_batched`]: the result stream is read only as far as it is
    /// consumed, flushing every `batch` rows.
    async fn query_batched_async(
        &mut self,
        stmt: &Statement,
        batch: usize,
        on_row: RowFn<'_>,
        flush: crate::conn::FlushFn<'_>,
    ) -> Result<u64> {
        let started = Instant::now();
        let args = arguments(&stmt.params)?;
        let conn = self.start()?;
        let query = sqlx_core::query::query_with(AssertSqlSafe(stmt.sql.clone()), args);
        let batch = batch.max(1) as u64;
        let result: Result<u64> = async {
            let mut stream = std::pin::pin!(query.fetch(&mut **conn));
            let mut rows = 0u64;
            while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                let row = row.map_err(map_error)?;
                rows += 1;
                on_row(&Row::Mysql(&row))?;
                if rows.is_multiple_of(batch) {
                    flush().await?;
                }
            }
            flush().await?;
            Ok(rows)
        }
        .await;
        // The statement ended (an error too: the driver reads what is left of its rows
        // before the next one); only a dropped future leaves the connection cut off.
        self.busy = false;
        crate::statement_log::traced(stmt, started, result)
    }

    async fn execute_async(&mut self, stmt: &Statement) -> Result<u64> {
        let started = Instant::now();
        let args = arguments(&stmt.params)?;
        let conn = self.start()?;
        let result = sqlx_core::query::query_with(AssertSqlSafe(stmt.sql.clone()), args)
            .execute(&mut **conn)
            .await;
        self.busy = false;
        let result = result.map_err(map_error).map(|done| done.rows_affected());
        crate::statement_log::traced(stmt, started, result)
    }

    async fn batch_async(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let conn = self.start()?;
        let result = sqlx_core::raw_sql::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&mut **conn)
            .await;
        self.busy = false;
        result.map_err(map_error)?;
        crate::trace_statement(&Statement::new(sql, Vec::new()), started, 0);
        Ok(())
    }
}

impl Drop for MyLease {
    fn drop(&mut self) {
        if (self.busy || !self.clean)
            && let Some(conn) = self.conn.take()
        {
            // Detached from the pool (which may open a replacement) and dropped: the socket
            // closes at once. A graceful close would first wait for the server, which may
            // still be waiting for the rest of a statement cut off mid-send.
            drop(conn.detach());
        }
    }
}

impl Conn for MyLease {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn query<'a>(
        &'a mut self,
        stmt: &'a Statement,
        on_row: RowFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.query_async(stmt, on_row))
    }

    fn query_batched<'a>(
        &'a mut self,
        stmt: &'a Statement,
        batch: usize,
        on_row: RowFn<'a>,
        flush: crate::conn::FlushFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.query_batched_async(stmt, batch, on_row, flush))
    }

    fn execute<'a>(&'a mut self, stmt: &'a Statement) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.execute_async(stmt))
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.batch_async(sql))
    }
}

/// The statement's parameters, bound in order: datetimes as UTC `DATETIME(6)` values,
/// JSON documents and UUIDs as text, lists as a JSON array (read through `JSON_TABLE`).
fn arguments(params: &[Value]) -> Result<MySqlArguments> {
    let mut args = MySqlArguments::default();
    for value in params {
        let added = match value {
            Value::Null => args.add(Option::<String>::None),
            Value::Bool(v) => args.add(*v),
            Value::I16(v) => args.add(*v),
            Value::I32(v) => args.add(*v),
            Value::I64(v) => args.add(*v),
            // -0.0 is stored as 0.0, as on the other backends.
            Value::F64(v) => args.add(*v + 0.0),
            Value::String(v) => args.add(v.clone()),
            Value::Bytes(v) => args.add(v.clone()),
            Value::Date(v) => args.add(*v),
            Value::DateTime(v) => args.add(v.naive_utc()),
            Value::Json(v) => args.add(v.to_string()),
            Value::Uuid(v) => args.add(v.hyphenated().to_string()),
            Value::Decimal(v) => args.add(*v),
            Value::List(items) => args.add(throughline_core::value::json_list(items)),
        };
        added.map_err(|e| {
            Error::Database(DatabaseError::new(
                format!("cannot bind a {} value: {e}", value.kind_name()),
                None,
                None,
            ))
        })?;
    }
    Ok(args)
}

/// The quoted name after `marker` in a server message (`for key 'name'`).
fn quoted_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let start = message.find(marker)? + marker.len();
    let rest = &message[start..];
    let quote = rest.chars().next()?;
    let end = rest[1..].find(quote)? + 1;
    Some(&rest[1..end])
}

/// Maps a sqlx error to a throughline error by the server's error number: 1062 unique,
/// 1451/1452 foreign key, 1048 not null, 3819/4025 check, with the constraint's name
/// read from the message; deadlocks (1213) carry SQLSTATE 40001, which is retryable.
pub(crate) fn map_error(error: sqlx_core::Error) -> Error {
    if let sqlx_core::Error::Database(db) = &error {
        let number = db
            .try_downcast_ref::<sqlx_mysql::MySqlDatabaseError>()
            .map(|e| e.number());
        let message = db.message().to_owned();
        let kind = match number {
            Some(1062) => Some(IntegrityKind::Unique),
            Some(1451 | 1452) => Some(IntegrityKind::ForeignKey),
            Some(1048) => Some(IntegrityKind::NotNull),
            Some(3819 | 4025) => Some(IntegrityKind::Check),
            _ => None,
        };
        if let Some(kind) = kind {
            let constraint = match kind {
                // MySQL 8 prefixes the table: 'student.unique_email'.
                IntegrityKind::Unique => quoted_after(&message, "for key ")
                    .map(|key| key.rsplit('.').next().unwrap_or(key).to_owned()),
                IntegrityKind::ForeignKey => {
                    quoted_after(&message, "CONSTRAINT ").map(str::to_owned)
                }
                IntegrityKind::Check => quoted_after(&message, "constraint ").map(str::to_owned),
                _ => None,
            };
            return Error::Integrity {
                kind,
                constraint,
                model: None,
                message,
            };
        }
        let code = match number {
            Some(1213) => Some("40001".to_owned()),
            _ => db.code().map(|c| c.into_owned()),
        };
        return Error::Database(DatabaseError::new(message, code, Some(Box::new(error))));
    }
    Error::Database(DatabaseError::new(
        error.to_string(),
        None,
        Some(Box::new(error)),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_mariadb_10_6_and_later_is_accepted() {
        assert!(super::server_supported("10.11.19-MariaDB-0+deb12u1").is_ok());
        assert!(super::server_supported("10.6.2-MariaDB").is_ok());
        assert!(super::server_supported("11.4.3-MariaDB-log").is_ok());
        let old = super::server_supported("10.5.9-MariaDB").unwrap_err();
        assert!(old.to_string().contains("JSON_TABLE"), "{old}");
        let mysql = super::server_supported("8.0.36").unwrap_err();
        assert!(mysql.to_string().contains("RETURNING"), "{mysql}");
    }

    #[test]
    fn names_are_read_from_messages() {
        let unique = "Duplicate entry '1-1' for key 'unique_student_course'";
        assert_eq!(
            super::quoted_after(unique, "for key "),
            Some("unique_student_course")
        );
        let fk = "Cannot add or update a child row: a foreign key constraint fails (\"test\".\"t_child\", CONSTRAINT \"t_child_p_fkey\" FOREIGN KEY (\"p\") REFERENCES \"t_parent\" (\"id\"))";
        assert_eq!(
            super::quoted_after(fk, "CONSTRAINT "),
            Some("t_child_p_fkey")
        );
    }
}
