//! Owns the SQLite driver: connection threads (`Worker`), the pool of one writer and a
//! few readers ([`SqlitePool`], SPEC §8.4), binding [`Value`]s, mapping rusqlite errors,
//! and `SqliteConn`, the [`Conn`] an operation sees on the connection's thread.
//!
//! Written by hand because no crate gives an async rusqlite with these rules (one job per
//! operation, serialized writers with `BEGIN IMMEDIATE`, readers beside them, jobs that
//! finish even when their future is dropped, panics caught): tokio-rusqlite hops once per
//! call and has no writer/reader split.

use crate::conn::{Access, BoxFuture, Conn, Op, Row, RowFn};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use throughline_core::value::format_datetime;
use throughline_core::{Backend, DatabaseError, Error, IntegrityKind, Result, Value};
use throughline_query::Statement;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// A job run on a connection's thread.
type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// A thread that owns one SQLite connection and runs jobs on it in order.
#[derive(Clone)]
pub(crate) struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Set while a batched read (a stream) holds the connection, parked between batches
    /// until its reader takes them: reads are then sent to another connection.
    streaming: Arc<AtomicBool>,
}

std::thread_local! {
    /// The `streaming` flag of the reader connection this thread owns; none on the writer,
    /// where a batched read does not park (see [`SqliteConn::query_batched`]).
    static READER_STREAMING: std::cell::RefCell<Option<Arc<AtomicBool>>> =
        const { std::cell::RefCell::new(None) };
}

/// Marks this thread's reader as streaming until dropped.
struct StreamingMark(Arc<AtomicBool>);

impl StreamingMark {
    /// The mark, if this thread is a reader's (`None` on the writer).
    fn on_this_reader() -> Option<StreamingMark> {
        READER_STREAMING
            .with(|flag| flag.borrow().clone())
            .map(|flag| {
                flag.store(true, Ordering::Release);
                StreamingMark(flag)
            })
    }
}

impl Drop for StreamingMark {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Worker {
    fn spawn(conn: rusqlite::Connection, name: String, reader: bool) -> Result<Worker> {
        let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
        let streaming = Arc::new(AtomicBool::new(false));
        let flag = reader.then(|| streaming.clone());
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                READER_STREAMING.with(|own| *own.borrow_mut() = flag);
                let mut conn = conn;
                while let Ok(job) = receiver.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| Error::Config(format!("cannot start a SQLite connection thread: {e}")))?;
        Ok(Worker { jobs, streaming })
    }

    /// Whether a stream holds this connection.
    fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Acquire)
    }

    /// Runs `f` on the connection's thread. The job runs to completion even if the
    /// returned future is dropped; a panic inside it becomes an error.
    pub(crate) fn run<T, F>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<T>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|panic| Err(crate::unwind::panicked(panic)));
            let _ = done.send(outcome);
        });
        let sent = self.jobs.send(job).map_err(|_| thread_gone());
        async move {
            sent?;
            result.await.map_err(|_| thread_gone())?
        }
    }

    /// Queues `sql` without waiting for it (used from `Drop` to roll back).
    pub(crate) fn fire(&self, sql: String) {
        let _ = self.jobs.send(Box::new(move |conn| {
            if let Err(error) = conn.execute_batch(&sql) {
                tracing::warn!(target: "throughline::sql", %error, sql, "background statement failed");
            }
        }));
    }
}

fn thread_gone() -> Error {
    Error::Database(DatabaseError::new(
        "the SQLite connection thread has stopped",
        None,
        None,
    ))
}

/// How a SQLite database is opened: the options a `sqlite:` URL sets, for
/// [`Database::open_sqlite`](crate::Database::open_sqlite).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// use std::time::Duration;
/// use throughline_db::{Database, SqliteOptions};
/// let options = SqliteOptions {
///     path: None, // in memory
///     busy_timeout: Duration::from_secs(1),
///     pragmas: vec![("cache_size".into(), "-20000".into())],
///     ..SqliteOptions::default()
/// };
/// let db = Database::open_sqlite(&options)?;
/// db.execute_batch("CREATE TABLE t (x INTEGER)").await?;
/// let refused = SqliteOptions { pragmas: vec![("foreign_keys".into(), "OFF".into())], ..options };
/// assert!(Database::open_sqlite(&refused).is_err()); // throughline's own pragma
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The file path, or `None` for an in-memory database.
    pub path: Option<String>,
    /// Create the file if it does not exist (`mode=rwc`).
    pub create: bool,
    /// `synchronous=FULL` (true, the default) or `NORMAL`.
    pub synchronous_full: bool,
    /// How long a connection waits on a lock held by another process.
    pub busy_timeout: Duration,
    /// How long an operation waits for the writer.
    pub write_timeout: Duration,
    /// Reader connections for a file database.
    pub readers: usize,
    /// Further pragmas set on every connection after throughline's own, as `(name,
    /// value)` (`pragma.cache_size=-20000` in the URL): names are letters and
    /// underscores, values letters, digits, `-` and `_`. The pragmas throughline relies on
    /// (`foreign_keys`, `journal_mode`, `synchronous`, `busy_timeout`, `query_only`) are
    /// refused: they have options of their own or must not change.
    pub pragmas: Vec<(String, String)>,
}

impl SqliteOptions {
    /// Checks a further pragma (see [`SqliteOptions::pragmas`]).
    ///
    /// ```
    /// use throughline_db::SqliteOptions;
    /// assert!(SqliteOptions::check_pragma("cache_size", "-20000").is_ok());
    /// assert!(SqliteOptions::check_pragma("foreign_keys", "OFF").is_err());
    /// assert!(SqliteOptions::check_pragma("cache_size", "1; DROP TABLE t").is_err());
    /// ```
    pub fn check_pragma(name: &str, value: &str) -> Result<()> {
        const OWN: [&str; 5] = [
            "foreign_keys",
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "query_only",
        ];
        // Pragmas that would block the readers, or let rows and schema break the
        // constraints and migrations throughline relies on.
        const UNSAFE: [&str; 6] = [
            "locking_mode",
            "writable_schema",
            "ignore_check_constraints",
            "legacy_alter_table",
            "defer_foreign_keys",
            "recursive_triggers",
        ];
        let lower = name.to_ascii_lowercase();
        if OWN.contains(&lower.as_str()) {
            return Err(Error::Config(format!(
                "the SQLite pragma {name} is throughline's own (foreign_keys is always on; use the synchronous and busy_timeout_ms options)"
            )));
        }
        if UNSAFE.contains(&lower.as_str()) {
            return Err(Error::Config(format!(
                "the SQLite pragma {name} is refused: it would block readers or break the constraints and migrations throughline relies on"
            )));
        }
        let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
        let value_ok = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if name_ok && value_ok {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "invalid SQLite pragma {name:?} = {value:?}: names are letters and underscores, values letters, digits, - and _"
            )))
        }
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            path: None,
            create: true,
            synchronous_full: true,
            busy_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            readers: 2,
            pragmas: Vec::new(),
        }
    }
}

/// One writer and a few readers on a SQLite database (or one shared connection for
/// `:memory:`, where each connection would be a different database).
pub struct SqlitePool {
    writer: Worker,
    writer_lock: Arc<Mutex<()>>,
    readers: Vec<Worker>,
    next_reader: AtomicUsize,
    write_timeout: Duration,
}

impl SqlitePool {
    /// Opens the database and starts the connection threads.
    pub(crate) fn open(options: &SqliteOptions) -> Result<SqlitePool> {
        let writer = Worker::spawn(
            open_connection(options, false)?,
            "throughline-sqlite-w".into(),
            false,
        )?;
        let mut readers = Vec::new();
        if options.path.is_some() {
            for i in 0..options.readers {
                readers.push(Worker::spawn(
                    open_connection(options, true)?,
                    format!("throughline-sqlite-r{i}"),
                    true,
                )?);
            }
        }
        Ok(SqlitePool {
            writer,
            writer_lock: Arc::new(Mutex::new(())),
            readers,
            next_reader: AtomicUsize::new(0),
            write_timeout: options.write_timeout,
        })
    }

    /// Waits for exclusive use of the writer (a free writer is taken at once, without
    /// arming the timeout's timer).
    pub(crate) async fn lock_writer(&self) -> Result<OwnedMutexGuard<()>> {
        if let Ok(guard) = self.writer_lock.clone().try_lock_owned() {
            return Ok(guard);
        }
        tokio::time::timeout(self.write_timeout, self.writer_lock.clone().lock_owned())
            .await
            .map_err(|_| Error::Timeout {
                what:
                    "the SQLite writer (is a transaction open in this task? use it as the executor)"
                        .to_owned(),
                millis: self.write_timeout.as_millis() as u64,
            })
    }

    /// How operations started from the current task are driven on a connection's thread.
    pub(crate) fn driver(&self) -> Driver {
        Driver {
            runtime: tokio::runtime::Handle::try_current().ok(),
            limit: self.write_timeout,
        }
    }

    /// The writer's worker.
    pub(crate) fn writer(&self) -> &Worker {
        &self.writer
    }

    /// Runs an operation outside any transaction. The writer is held until the job has
    /// ended, even if this future is dropped: the job owns the writer's guard, so no other
    /// operation can queue behind a transaction it did not begin.
    pub(crate) async fn run<T: Send + 'static>(&self, access: Access, op: Op<T>) -> Result<T> {
        let driver = self.driver();
        if matches!(access, Access::Read | Access::ReadPrimary) && !self.readers.is_empty() {
            // The next reader in turn that no stream holds (a stream's reader is parked
            // until its consumer, maybe this very task, takes a batch); the writer if a
            // stream holds every reader.
            let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
            let free = (0..self.readers.len())
                .map(|k| &self.readers[(start + k) % self.readers.len()])
                .find(|reader| !reader.is_streaming());
            if let Some(reader) = free {
                return reader.run(move |conn| drive(conn, &driver, op)).await;
            }
        }
        let guard = self.lock_writer().await?;
        self.writer
            .run(move |conn| {
                let _writer = guard;
                let result = match access {
                    Access::Read | Access::ReadPrimary | Access::WriteOne => {
                        drive(conn, &driver, op)
                    }
                    Access::Schema => run_schema(conn, &driver, op),
                    Access::Atomic => run_atomic(conn, &driver, op),
                };
                // A pool operation never leaves the writer inside a transaction (an operation
                // that ran its own BEGIN, say): roll it back before the writer is released.
                if !conn.is_autocommit() {
                    tracing::warn!(
                        target: "throughline::sql",
                        "an operation left the SQLite writer inside a transaction; rolled back"
                    );
                    let _ = conn.execute_batch("ROLLBACK");
                    return result.and(Err(Error::TransactionAborted {
                        reason: "the operation left a transaction open; it was rolled back"
                            .to_owned(),
                    }));
                }
                result
            })
            .await
    }
}

/// Runs `body` in a transaction: `BEGIN IMMEDIATE`, then `COMMIT`, or `ROLLBACK` on any
/// error (the writer is never left inside a transaction).
fn in_transaction<T>(
    conn: &mut rusqlite::Connection,
    body: impl FnOnce(&mut rusqlite::Connection) -> Result<T>,
) -> Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(map_error)?;
    let outcome = body(conn).and_then(|value| {
        conn.execute_batch("COMMIT").map_err(map_error)?;
        Ok(value)
    });
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Runs an operation in its own transaction (a panic is an error, so it rolls back too).
fn run_atomic<T>(conn: &mut rusqlite::Connection, driver: &Driver, op: Op<T>) -> Result<T> {
    in_transaction(conn, |conn| drive(conn, driver, op))
}

/// Runs a schema operation: foreign keys off before `BEGIN`, a foreign-key check before
/// `COMMIT` (any violation fails and rolls back), and foreign keys restored afterwards.
fn run_schema<T>(conn: &mut rusqlite::Connection, driver: &Driver, op: Op<T>) -> Result<T> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(map_error)?;
    let result = in_transaction(conn, |conn| {
        let value = drive(conn, driver, op)?;
        let violations: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .map_err(map_error)?;
        if violations > 0 {
            return Err(Error::Integrity {
                kind: IntegrityKind::ForeignKey,
                constraint: None,
                model: None,
                message: format!(
                    "{violations} row(s) violate a foreign key after the schema change"
                ),
            });
        }
        Ok(value)
    });
    let restored = conn
        .execute_batch("PRAGMA foreign_keys = ON")
        .map_err(map_error);
    let value = result?;
    restored?;
    Ok(value)
}

fn open_connection(options: &SqliteOptions, reader: bool) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = match &options.path {
        None => rusqlite::Connection::open_in_memory(),
        Some(path) => {
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if options.create && !reader {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            rusqlite::Connection::open_with_flags(path, flags)
        }
    }
    .map_err(|e| Error::Connect {
        target: match &options.path {
            Some(path) => format!("the SQLite database {path}"),
            None => "an in-memory SQLite database".to_owned(),
        },
        source: DatabaseError::new(e.to_string(), None, Some(Box::new(e))),
    })?;
    let synchronous = if options.synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    let mut pragmas = format!(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA synchronous = {synchronous};",
        options.busy_timeout.as_millis()
    );
    if options.path.is_some() && !reader {
        pragmas.push_str(" PRAGMA journal_mode = WAL;");
    }
    // A reader never writes: a write sent to one (hand-written SQL through
    // `raw::rows`, say) fails at once rather than racing the writer for the lock.
    if options.path.is_some() && reader {
        pragmas.push_str(" PRAGMA query_only = ON;");
    }
    for (name, value) in &options.pragmas {
        SqliteOptions::check_pragma(name, value)?;
        pragmas.push_str(&format!(" PRAGMA {name} = {value};"));
    }
    conn.execute_batch(&pragmas).map_err(map_error)?;
    conn.set_prepared_statement_cache_capacity(256);
    rusqlite::vtab::array::load_module(&conn).map_err(map_error)?;
    conn.create_collation(
        throughline_query::dialect::sqlite::DECIMAL_COLLATION,
        compare_decimals,
    )
    .map_err(map_error)?;
    Ok(conn)
}

/// The decimal collation: two texts compared as the decimals they write (`"9.5" <
/// "10.00"`, `"1.5" = "1.50"`), so that decimal columns, stored as exact text, filter,
/// order, group and stay unique by value. A text that is not a decimal (written by another
/// program) sorts after every decimal, by its bytes. Never panics: SQLite calls it with
/// whatever the column holds.
fn compare_decimals(a: &str, b: &str) -> std::cmp::Ordering {
    use throughline_core::value::parse_decimal;
    match (parse_decimal(a), parse_decimal(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// What drives an operation on a connection's thread: the caller's tokio runtime (entered
/// while the operation runs, so that its timers and channels work) and how long the
/// operation may wait on something other than its connection.
pub(crate) struct Driver {
    runtime: Option<tokio::runtime::Handle>,
    limit: Duration,
}

/// Runs an operation to completion on this thread. The statements of [`SqliteConn`] are
/// ready when created, so an operation that awaits only its connection completes in one
/// poll (one hop per operation). An operation that awaits other async work (a hook on a
/// timer or a channel) is driven here with the caller's tokio runtime entered, the thread
/// parked between polls and woken by the runtime; one that waits longer than the pool's
/// write timeout in all (a hook waiting on its own caller, say) is dropped and fails with
/// [`Error::Timeout`], so it cannot hold the writer forever. A panic becomes
/// [`Error::Panicked`]. Either way the caller's transaction or savepoint is then rolled back
/// like on any error.
pub(crate) fn drive<T>(conn: &mut rusqlite::Connection, driver: &Driver, op: Op<T>) -> Result<T> {
    // Everything, the drop of the operation's future included (a destructor may panic too),
    // runs under catch_unwind: nothing unwinds past the caller's ROLLBACK.
    std::panic::catch_unwind(AssertUnwindSafe(|| drive_inner(conn, driver, op)))
        .unwrap_or_else(|panic| Err(crate::unwind::panicked(panic)))
}

fn drive_inner<T>(conn: &mut rusqlite::Connection, driver: &Driver, op: Op<T>) -> Result<T> {
    let _entered = driver.runtime.as_ref().map(tokio::runtime::Handle::enter);
    let mut sqlite = SqliteConn { conn };
    let future = op(&mut sqlite);
    let mut future = crate::unwind::CatchPanicBoxed::new(future);
    let mut future = std::pin::Pin::new(&mut future);
    let mut context = Context::from_waker(Waker::noop());
    if let Poll::Ready(result) = future.as_mut().poll(&mut context) {
        return result;
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let deadline = Instant::now() + driver.limit;
    loop {
        if let Poll::Ready(result) = future.as_mut().poll(&mut context) {
            return result;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                what: "an operation (a hook?) awaiting something other than its SQLite connection while holding it".to_owned(),
                millis: driver.limit.as_millis() as u64,
            });
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// Runs `future` to completion on this connection thread, parked between polls: how a
/// batched query waits, between two rows of its statement, for its reader to take a
/// batch (the statement cannot be held across an `await`: it is bound to this thread).
fn wait_on_this_thread<T>(future: BoxFuture<'static, Result<T>>) -> Result<T> {
    let mut future = future;
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(result) = future.as_mut().poll(&mut context) {
            return result;
        }
        std::thread::park();
    }
}

/// Wakes a connection thread parked in [`drive`].
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The [`Conn`] of a SQLite connection, used on its own thread.
pub(crate) struct SqliteConn<'c> {
    conn: &'c mut rusqlite::Connection,
}

impl SqliteConn<'_> {
    fn query_sync(&mut self, stmt: &Statement, on_row: RowFn<'_>) -> Result<u64> {
        let started = Instant::now();
        let mut run = || -> Result<u64> {
            let mut prepared = self.conn.prepare_cached(&stmt.sql).map_err(map_error)?;
            let params: Vec<SqliteParam<'_>> = stmt.params.iter().map(SqliteParam).collect();
            let mut rows = prepared
                .query(rusqlite::params_from_iter(params.iter()))
                .map_err(map_error)?;
            let mut count = 0u64;
            while let Some(row) = rows.next().map_err(map_error)? {
                on_row(&Row::Sqlite(row))?;
                count += 1;
            }
            Ok(count)
        };
        let result = run();
        crate::statement_log::traced(stmt, started, result)
    }

    fn execute_sync(&mut self, stmt: &Statement) -> Result<u64> {
        let started = Instant::now();
        let run = || -> Result<u64> {
            let mut prepared = self.conn.prepare_cached(&stmt.sql).map_err(map_error)?;
            let params: Vec<SqliteParam<'_>> = stmt.params.iter().map(SqliteParam).collect();
            Ok(prepared
                .execute(rusqlite::params_from_iter(params.iter()))
                .map_err(map_error)? as u64)
        };
        crate::statement_log::traced(stmt, started, run())
    }
}

impl Conn for SqliteConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn query<'a>(
        &'a mut self,
        stmt: &'a Statement,
        on_row: RowFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        let result = self.query_sync(stmt, on_row);
        Box::pin(std::future::ready(result))
    }

    fn query_batched<'a>(
        &'a mut self,
        stmt: &'a Statement,
        batch: usize,
        on_row: RowFn<'a>,
        flush: crate::conn::FlushFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        // Only a reader parks between batches: the writer (an in-memory database, whose
        // rows are in memory anyway; a pool without readers; a transaction) must stay free
        // for the consumer's other statements, so there every row is read before the one
        // flush.
        let mark = StreamingMark::on_this_reader();
        let batch = if mark.is_some() {
            batch.max(1) as u64
        } else {
            u64::MAX
        };
        let mut read = 0u64;
        let result = self
            .query_sync(stmt, &mut |row| {
                on_row(row)?;
                read += 1;
                if read.is_multiple_of(batch) {
                    wait_on_this_thread(flush())?;
                }
                Ok(())
            })
            .and_then(|rows| wait_on_this_thread(flush()).map(|()| rows));
        drop(mark);
        Box::pin(std::future::ready(result))
    }

    fn execute<'a>(&'a mut self, stmt: &'a Statement) -> BoxFuture<'a, Result<u64>> {
        let result = self.execute_sync(stmt);
        Box::pin(std::future::ready(result))
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        let started = Instant::now();
        let result = self.conn.execute_batch(sql).map_err(map_error);
        crate::trace_statement(&Statement::new(sql, Vec::new()), started, 0);
        Box::pin(std::future::ready(result))
    }
}

/// A [`Value`] bound as a SQLite parameter. Datetimes are stored as text in Django's
/// format, UUIDs as 32 hex digits (Django's `char(32)`), JSON as text.
struct SqliteParam<'a>(&'a Value);

/// A value as an owned SQLite value (elements of `rarray` lists).
fn owned_sqlite_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null | Value::List(_) => V::Null,
        Value::Bool(v) => V::Integer(i64::from(*v)),
        Value::I16(v) => V::Integer(i64::from(*v)),
        Value::I32(v) => V::Integer(i64::from(*v)),
        Value::I64(v) => V::Integer(*v),
        Value::F64(v) => V::Real(*v + 0.0),
        Value::String(v) => V::Text(v.clone()),
        Value::Bytes(v) => V::Blob(v.clone()),
        Value::Date(v) => V::Text(v.format("%Y-%m-%d").to_string()),
        Value::DateTime(v) => V::Text(format_datetime(v)),
        Value::Json(v) => V::Text(v.to_string()),
        Value::Uuid(v) => V::Text(v.simple().to_string()),
        Value::Decimal(v) => V::Text(v.to_string()),
    }
}

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            // The pointer type the `rarray` table-valued function expects.
            Value::List(items) => ToSqlOutput::from_rc(
                std::rc::Rc::new(items.iter().map(owned_sqlite_value).collect::<Vec<_>>()),
                c"rarray",
            ),
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*v))),
            Value::I16(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*v))),
            Value::I32(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*v))),
            Value::I64(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*v)),
            // `+ 0.0` stores -0.0 as 0.0 (SQLite keeps a whole REAL as an integer, which has
            // no sign of zero), as on PostgreSQL.
            Value::F64(v) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*v + 0.0)),
            Value::String(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Value::Date(v) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                v.format("%Y-%m-%d").to_string(),
            )),
            Value::DateTime(v) => {
                ToSqlOutput::Owned(rusqlite::types::Value::Text(format_datetime(v)))
            }
            Value::Json(v) => ToSqlOutput::Owned(rusqlite::types::Value::Text(v.to_string())),
            Value::Uuid(v) => {
                ToSqlOutput::Owned(rusqlite::types::Value::Text(v.simple().to_string()))
            }
            // Exact text, compared as a number by the decimal collation of the column.
            Value::Decimal(v) => ToSqlOutput::Owned(rusqlite::types::Value::Text(v.to_string())),
        })
    }
}

/// Maps a rusqlite error to a throughline error. Unique violations carry the reported
/// columns in the message (`UNIQUE constraint failed: e.c, e.s`); the ORM layer names the
/// constraint from them (SQLite reports no name).
pub(crate) fn map_error(error: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(code, message) = &error {
        let message = message.clone().unwrap_or_else(|| error.to_string());
        let kind = match code.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(IntegrityKind::Unique)
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(IntegrityKind::ForeignKey),
            ffi::SQLITE_CONSTRAINT_NOTNULL => Some(IntegrityKind::NotNull),
            ffi::SQLITE_CONSTRAINT_CHECK => Some(IntegrityKind::Check),
            // ON DELETE RESTRICT reports through the trigger code.
            _ if code.code == rusqlite::ErrorCode::ConstraintViolation
                && message.contains("FOREIGN KEY") =>
            {
                Some(IntegrityKind::ForeignKey)
            }
            _ => None,
        };
        if let Some(kind) = kind {
            return Error::Integrity {
                kind,
                constraint: None,
                model: None,
                message,
            };
        }
        let code_name = match code.code {
            rusqlite::ErrorCode::DatabaseBusy => Some("SQLITE_BUSY".to_owned()),
            rusqlite::ErrorCode::DatabaseLocked => Some("SQLITE_LOCKED".to_owned()),
            _ => Some(code.extended_code.to_string()),
        };
        return Error::Database(DatabaseError::new(
            message,
            code_name,
            Some(Box::new(error)),
        ));
    }
    Error::Database(DatabaseError::new(
        error.to_string(),
        None,
        Some(Box::new(error)),
    ))
}
