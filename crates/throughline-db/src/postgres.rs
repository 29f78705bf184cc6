//! Owns the PostgreSQL driver: the pool (deadpool-postgres over tokio-postgres, with its
//! per-connection statement cache), `Lease` (a pooled connection that is discarded, not
//! reused, if it comes back inside a transaction), binding [`Value`]s to the prepared
//! statement's parameter types, and mapping SQLSTATEs to typed errors.

use crate::conn::{Access, BoxFuture, Conn, Op, Row, RowFn};
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_core::Stream;
use std::time::{Duration, Instant};
use throughline_core::{Backend, DatabaseError, Error, IntegrityKind, Result, Value};
use throughline_query::Statement;
use tokio_postgres::types::{IsNull, ToSql, Type};

/// A failed TLS handshake's message, with what to do about it.
fn with_tls_hint(message: String) -> String {
    let hint = if message.contains("NotValidForName") || message.contains("not valid for name") {
        "the server's certificate does not name the host connected to: connect by a name its subject alternative names carry (rustls does not read the common name)"
    } else if message.contains("invalid peer certificate") {
        "the server's certificate does not chain to the trusted roots: give its CA's PEM file with sslrootcert=PATH (Mozilla's roots are used otherwise), or sslmode=require to encrypt without checking it"
    } else {
        return message;
    };
    format!("{message} ({hint})")
}

/// A query that failed, and how many rows it had handed out by then (a failed query is
/// retried only if none).
struct Failed {
    error: Error,
    rows: u64,
}

/// Pool settings for PostgreSQL, for [`Database::open_postgres`](crate::Database::open_postgres)
/// (a `postgres://` URL sets them through its parameters).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use throughline_db::{Database, Executor, PgOptions, PgTls, SslMode};
/// let options = PgOptions {
///     max_size: 4,
///     wait_timeout: Duration::from_secs(5),
///     tls: PgTls { mode: SslMode::Require, root_cert: None },
///     search_path: Some("app,public".into()),
/// };
/// let config: throughline_db::tokio_postgres::Config = "host=db.internal user=app".parse()?;
/// // Nothing is connected yet: connections open on first use.
/// let db = Database::open_postgres(config.clone(), &options)?;
/// assert_eq!(db.backend(), throughline_core::Backend::Postgres);
/// let refused = PgOptions { search_path: Some("app; DROP TABLE t".into()), ..options };
/// assert!(Database::open_postgres(config, &refused).is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Largest number of connections.
    pub max_size: usize,
    /// How long to wait for a free connection.
    pub wait_timeout: Duration,
    /// TLS (`sslmode` and `sslrootcert` in the URL).
    pub tls: crate::PgTls,
    /// The schemas every connection searches, in order (`search_path=app,public` in the
    /// URL): plain names (letters, digits, `_`, `$`), separated by commas.
    pub search_path: Option<String>,
}

/// Checks a `search_path` (see [`PgOptions::search_path`]) and returns it as a server
/// setting (`-c search_path=app,public`).
fn search_path_setting(path: &str) -> Result<String> {
    let valid = path.split(',').all(|schema| {
        let schema = schema.trim();
        !schema.is_empty()
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    });
    if !valid {
        return Err(Error::Config(format!(
            "invalid search_path {path:?}: schema names of letters, digits, _ and $, separated by commas"
        )));
    }
    let list: Vec<&str> = path.split(',').map(str::trim).collect();
    Ok(format!("-c search_path={}", list.join(",")))
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_size: 16,
            wait_timeout: Duration::from_secs(30),
            tls: crate::PgTls::default(),
            search_path: None,
        }
    }
}

/// A pool of PostgreSQL connections.
pub struct PgPool {
    pool: Pool,
    wait_timeout: Duration,
    /// `host:port` of the server, named in connection errors.
    target: String,
}

impl PgPool {
    /// Builds the pool (connections open lazily).
    pub(crate) fn new(config: tokio_postgres::Config, options: &PgOptions) -> Result<PgPool> {
        let target = describe_target(&config);
        let mut config = config;
        if let Some(path) = &options.search_path {
            let setting = search_path_setting(path)?;
            let options = match config.get_options() {
                Some(existing) if !existing.is_empty() => format!("{existing} {setting}"),
                _ => setting,
            };
            config.options(&options);
        }
        let manager_config = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        // The URL's `sslmode` (in `options`); for a configuration given directly
        // (`open_postgres`), tokio-postgres's own `require` too. Its default, `prefer`, stays
        // without TLS, as before TLS was supported.
        let tls = if options.tls.mode == crate::SslMode::Disable
            && config.get_ssl_mode() == tokio_postgres::config::SslMode::Require
        {
            crate::PgTls {
                mode: crate::SslMode::Require,
                root_cert: None,
            }
        } else {
            options.tls.clone()
        };
        config.ssl_mode(tls.postgres_mode());
        let manager = if tls.mode == crate::SslMode::Disable {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config())
        } else {
            Manager::from_config(config, tls.connector()?, manager_config())
        };
        let pool = Pool::builder(manager)
            .max_size(options.max_size)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.wait_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the PostgreSQL pool: {e}")))?;
        Ok(PgPool {
            pool,
            wait_timeout: options.wait_timeout,
            target,
        })
    }

    /// Opens one connection now (and returns it to the pool), so that a server that is down
    /// or refuses the credentials is reported by `connect`, not by the first query.
    pub(crate) async fn check(&self) -> Result<()> {
        self.lease().await.map(drop)
    }

    /// Takes a connection from the pool.
    pub(crate) async fn lease(&self) -> Result<Lease> {
        use deadpool_postgres::{PoolError, TimeoutType};
        match self.pool.get().await {
            Ok(object) => Ok(Lease {
                object: Some(object),
                clean: true,
            }),
            Err(PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle)) => {
                Err(Error::Connect {
                    target: self.target.clone(),
                    source: DatabaseError::new(
                        format!(
                            "no connection within {} ms (is the server up and reachable?)",
                            self.wait_timeout.as_millis()
                        ),
                        None,
                        None,
                    ),
                })
            }
            Err(PoolError::Timeout(_)) => Err(Error::Timeout {
                what: "a PostgreSQL connection".to_owned(),
                millis: self.wait_timeout.as_millis() as u64,
            }),
            Err(PoolError::Backend(e)) => Err(Error::Connect {
                target: self.target.clone(),
                source: DatabaseError::new(
                    with_tls_hint(error_chain(&e)),
                    e.as_db_error().map(|db| db.code().code().to_owned()),
                    Some(Box::new(e)),
                ),
            }),
            Err(other) => Err(Error::Database(DatabaseError::new(
                format!("cannot get a PostgreSQL connection: {other}"),
                None,
                None,
            ))),
        }
    }

    /// Runs an operation outside any transaction.
    pub(crate) async fn run<T: Send + 'static>(&self, access: Access, op: Op<T>) -> Result<T> {
        let mut lease = self.lease().await?;
        match access {
            Access::Read | Access::ReadPrimary | Access::WriteOne => {
                crate::unwind::CatchPanicBoxed::new(op(&mut lease)).await
            }
            Access::Atomic | Access::Schema => {
                lease.begin("BEGIN").await?;
                if access == Access::Schema {
                    // Held until the transaction ends: one migrating process at a time.
                    lease
                        .batch("SELECT pg_advisory_xact_lock(7418253901)")
                        .await?;
                }
                match crate::unwind::CatchPanicBoxed::new(op(&mut lease)).await {
                    Ok(value) => {
                        lease.commit().await?;
                        Ok(value)
                    }
                    Err(error) => {
                        lease.rollback().await?;
                        Err(error)
                    }
                }
            }
        }
    }
}

/// A pooled connection. If it is dropped while a transaction is open (its future was
/// dropped mid-operation), the connection is detached from the pool and closed, so it is
/// never handed on holding locks; the server rolls the transaction back.
pub(crate) struct Lease {
    object: Option<Object>,
    clean: bool,
}

impl Lease {
    fn client(&self) -> Result<&Object> {
        self.object.as_ref().ok_or_else(|| {
            Error::Database(DatabaseError::new(
                "the PostgreSQL connection was discarded",
                None,
                None,
            ))
        })
    }

    /// Starts a transaction with `sql` (`BEGIN ...`).
    pub(crate) async fn begin(&mut self, sql: &str) -> Result<()> {
        self.clean = false;
        self.batch(sql).await
    }

    /// Commits; a connection lost during `COMMIT` gives [`Error::CommitOutcomeUnknown`].
    ///
    /// PostgreSQL answers `COMMIT` in a transaction that a failed statement aborted with a
    /// silent rollback, so the `COMMIT` is sent behind a `SELECT 1` in the same round trip:
    /// in an aborted transaction the `SELECT` fails (25P02), the `COMMIT` is not run, and
    /// the error is [`Error::TransactionAborted`] (the connection, still inside the
    /// transaction, is discarded, which rolls it back).
    pub(crate) async fn commit(&mut self) -> Result<()> {
        let started = Instant::now();
        let result = self.client()?.batch_execute("SELECT 1; COMMIT").await;
        crate::trace_statement(&Statement::new("COMMIT", Vec::new()), started, 0);
        match result {
            Ok(()) => {
                self.clean = true;
                Ok(())
            }
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION) => {
                Err(Error::TransactionAborted {
                    reason: "a statement inside it failed (PostgreSQL aborts the whole transaction); it was rolled back".to_owned(),
                })
            }
            Err(e) if e.is_closed() || e.as_db_error().is_none() => {
                Err(Error::CommitOutcomeUnknown(DatabaseError::new(
                    e.to_string(),
                    None,
                    Some(Box::new(e)),
                )))
            }
            Err(e) => Err(map_error(e)),
        }
    }

    /// Rolls back.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        // Clears the statement cache too (see `changes_schema`).
        self.batch("ROLLBACK").await?;
        self.clean = true;
        Ok(())
    }

    async fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        self.client()?.prepare_cached(sql).await.map_err(map_error)
    }

    /// Whether `error` is PostgreSQL's "cached plan must not change result type" (another
    /// process altered a table): the cached statement is evicted and the statement retried
    /// once (SPEC §8.9).
    fn evict_stale_plan(&self, sql: &str, error: &Error) -> bool {
        let stale = matches!(error, Error::Database(db) if db.code.as_deref() == Some("0A000") && db.message.contains("cached plan"));
        if stale && let Ok(client) = self.client() {
            client.statement_cache.remove(sql, &[]);
        }
        stale
    }

    async fn query_async(&mut self, stmt: &Statement, on_row: RowFn<'_>) -> Result<u64> {
        let started = Instant::now();
        let result = match self.stream_rows(stmt, on_row).await {
            // A stale plan fails before the first row, so nothing was handed out yet.
            Err(Failed { error, rows: 0 }) if self.evict_stale_plan(&stmt.sql, &error) => {
                self.stream_rows(stmt, on_row).await
            }
            other => other,
        }
        .map_err(|failed| failed.error);
        crate::statement_log::traced(stmt, started, result)
    }

    /// Runs a query and hands each row to `on_row` as it arrives: decoding overlaps with
    /// the server still sending, and no `Vec` of raw rows is built first.
    async fn stream_rows(
        &self,
        stmt: &Statement,
        on_row: RowFn<'_>,
    ) -> std::result::Result<u64, Failed> {
        let before_rows = |error| Failed { error, rows: 0 };
        let prepared = self.prepare(&stmt.sql).await.map_err(before_rows)?;
        let params: Vec<PgParam<'_>> = stmt.params.iter().map(PgParam).collect();
        let refs = params.iter().map(|p| p as &(dyn ToSql + Sync));
        let stream = self
            .client()
            .map_err(before_rows)?
            .query_raw(&prepared, refs)
            .await
            .map_err(|e| before_rows(map_error(e)))?;
        let mut stream = std::pin::pin!(stream);
        let mut rows = 0;
        while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            let row = row.map_err(|e| Failed {
                error: map_error(e),
                rows,
            })?;
            // An error of the caller's is never retried: count the row as handed out.
            rows += 1;
            on_row(&Row::Postgres(&row)).map_err(|error| Failed { error, rows })?;
        }
        Ok(rows)
    }

    async fn execute_async(&mut self, stmt: &Statement) -> Result<u64> {
        let started = Instant::now();
        let result = match self.run_execute(stmt).await {
            Err(error) if self.evict_stale_plan(&stmt.sql, &error) => self.run_execute(stmt).await,
            other => other,
        };
        crate::statement_log::traced(stmt, started, result)
    }

    async fn run_execute(&self, stmt: &Statement) -> Result<u64> {
        let prepared = self.prepare(&stmt.sql).await?;
        let params: Vec<PgParam<'_>> = stmt.params.iter().map(PgParam).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let affected = self
            .client()?
            .execute(&prepared, &refs)
            .await
            .map_err(map_error)?;
        Ok(affected)
    }

    async fn batch_async(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let result = self.client()?.batch_execute(sql).await.map_err(map_error);
        // Statements prepared before a schema change would fail with "cached plan must not
        // change result type" where their result columns changed, and inside a
        // transaction that failure cannot be retried: prepare anew after one.
        if changes_schema(sql)
            && let Ok(client) = self.client()
        {
            client.statement_cache.clear();
        }
        crate::trace_statement(&Statement::new(sql, Vec::new()), started, 0);
        result
    }
}

/// Whether a batch may change a table's columns (DDL), or bring former ones back (a
/// rollback, of a savepoint too), from its first keyword.
fn changes_schema(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("");
    ["ALTER", "CREATE", "DROP", "TRUNCATE", "ROLLBACK"]
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.clean
            && let Some(object) = self.object.take()
        {
            drop(Object::take(object));
        }
    }
}

impl Conn for Lease {
    fn backend(&self) -> Backend {
        Backend::Postgres
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

/// The name of the cursor a batched query reads through (one at a time per connection:
/// the cursor is closed before the query returns).
const STREAM_CURSOR: &str = "throughline_stream";

impl Lease {
    /// [`Conn::query_batched`]: the statement becomes a server-side cursor, read `batch`
    /// rows per `FETCH`, each batch flushed before the next is fetched.
    async fn query_batched_async(
        &mut self,
        stmt: &Statement,
        batch: usize,
        on_row: RowFn<'_>,
        flush: crate::conn::FlushFn<'_>,
    ) -> Result<u64> {
        let declare = Statement::new(
            format!("DECLARE {STREAM_CURSOR} NO SCROLL CURSOR FOR {}", stmt.sql),
            stmt.params.clone(),
        );
        self.execute_async(&declare).await?;
        let fetch = Statement::new(
            format!("FETCH FORWARD {} FROM {STREAM_CURSOR}", batch.max(1)),
            Vec::new(),
        );
        // A prepared FETCH keeps the columns of the cursor it was first prepared for: it
        // must not outlive this cursor in the statement cache (the next stream's cursor may
        // be of another model).
        let forget_fetch = |lease: &Lease| {
            if let Ok(client) = lease.client() {
                client.statement_cache.remove(&fetch.sql, &[]);
            }
        };
        forget_fetch(self);
        let mut total = 0;
        let result = async {
            loop {
                let read = self.query_async(&fetch, on_row).await?;
                total += read;
                flush().await?;
                if read < batch.max(1) as u64 {
                    break;
                }
            }
            self.batch_async(&format!("CLOSE {STREAM_CURSOR}")).await
        }
        .await;
        forget_fetch(self);
        result.map(|()| total)
    }
}

/// A [`Value`] bound to a prepared statement's parameter, converted to the parameter's
/// declared type (an `i64` bound to an `int4` parameter is range-checked and narrowed).
#[derive(Debug)]
struct PgParam<'a>(&'a Value);

impl ToSql for PgParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let int =
            |v: i64,
             out: &mut BytesMut|
             -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
                match *ty {
                    Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                    Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                    Type::FLOAT8 => (v as f64).to_sql(ty, out),
                    Type::NUMERIC => throughline_core::Decimal::from(v).to_sql(ty, out),
                    _ => v.to_sql(ty, out),
                }
            };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::I16(v) => int(i64::from(*v), out),
            Value::I32(v) => int(i64::from(*v), out),
            Value::I64(v) => int(*v, out),
            // -0.0 is stored as 0.0, as SQLite can only do.
            Value::F64(v) => (*v + 0.0).to_sql(ty, out),
            Value::String(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.to_sql(ty, out),
            Value::Date(v) => v.to_sql(ty, out),
            Value::DateTime(v) => v.to_sql(ty, out),
            Value::Json(v) => v.to_sql(ty, out),
            Value::Uuid(v) => v.to_sql(ty, out),
            Value::Decimal(v) => v.to_sql(ty, out),
            Value::List(items) => list_to_sql(items, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Binds a list as an array of the parameter's element type.
fn list_to_sql(
    items: &[Value],
    ty: &Type,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    use tokio_postgres::types::Kind;
    let Kind::Array(element) = ty.kind() else {
        return Err(format!("a list cannot be bound to a {ty} parameter").into());
    };
    fn convert<T>(
        items: &[Value],
        f: impl Fn(&Value) -> Option<T>,
    ) -> std::result::Result<Vec<Option<T>>, Box<dyn std::error::Error + Sync + Send>> {
        items
            .iter()
            .map(|v| {
                if v.is_null() {
                    Ok(None)
                } else {
                    f(v).map(Some).ok_or_else(|| {
                        format!("a {} value in a list of another type", v.kind_name()).into()
                    })
                }
            })
            .collect()
    }
    match *element {
        Type::INT2 => {
            convert(items, |v| v.as_i64().and_then(|n| i16::try_from(n).ok()))?.to_sql(ty, out)
        }
        Type::INT4 => {
            convert(items, |v| v.as_i64().and_then(|n| i32::try_from(n).ok()))?.to_sql(ty, out)
        }
        Type::INT8 => convert(items, Value::as_i64)?.to_sql(ty, out),
        Type::FLOAT8 => convert(items, |v| match v {
            Value::F64(f) => Some(*f),
            other => other.as_i64().map(|n| n as f64),
        })?
        .to_sql(ty, out),
        Type::BOOL => convert(items, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })?
        .to_sql(ty, out),
        Type::NUMERIC => convert(items, |v| match v {
            Value::Decimal(d) => Some(*d),
            other => other.as_i64().map(throughline_core::Decimal::from),
        })?
        .to_sql(ty, out),
        Type::UUID => convert(items, |v| match v {
            Value::Uuid(u) => Some(*u),
            _ => None,
        })?
        .to_sql(ty, out),
        Type::DATE => convert(items, |v| match v {
            Value::Date(d) => Some(*d),
            _ => None,
        })?
        .to_sql(ty, out),
        Type::TIMESTAMPTZ => convert(items, |v| match v {
            Value::DateTime(d) => Some(*d),
            _ => None,
        })?
        .to_sql(ty, out),
        _ => convert(items, |v| v.as_str().map(str::to_owned))?.to_sql(ty, out),
    }
}

/// `host:port` (or the socket directory) of a configuration, for connection errors.
fn describe_target(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
        })
        .collect();
    let hosts = if hosts.is_empty() {
        format!("localhost:{port}")
    } else {
        hosts.join(", ")
    };
    match config.get_dbname() {
        Some(db) => format!("PostgreSQL at {hosts} (database {db})"),
        None => format!("PostgreSQL at {hosts}"),
    }
}

/// An error's message followed by each of its causes (`a: b: c`), skipping a cause whose
/// text the message already holds.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

/// Maps a tokio-postgres error to a throughline error by SQLSTATE.
pub(crate) fn map_error(error: tokio_postgres::Error) -> Error {
    if let Some(db) = error.as_db_error() {
        let kind = match db.code().code() {
            "23505" => Some(IntegrityKind::Unique),
            "23503" => Some(IntegrityKind::ForeignKey),
            "23502" => Some(IntegrityKind::NotNull),
            "23514" => Some(IntegrityKind::Check),
            _ => None,
        };
        if let Some(kind) = kind {
            return Error::Integrity {
                kind,
                constraint: db.constraint().map(str::to_owned),
                model: None,
                message: db.message().to_owned(),
            };
        }
        let code = db.code().code().to_owned();
        let message = db.message().to_owned();
        return Error::Database(DatabaseError::new(
            message,
            Some(code),
            Some(Box::new(error)),
        ));
    }
    Error::Database(DatabaseError::new(
        error.to_string(),
        None,
        Some(Box::new(error)),
    ))
}
