//! Owns [`Transaction`]: an open transaction (or, nested, a savepoint) used as an
//! [`Executor`]. Dropping one that was not committed rolls it back: on SQLite a rollback is
//! queued on the writer's thread before the writer is released (a `begin()` dropped while
//! its `BEGIN` was queued included); on PostgreSQL the connection is discarded (the server
//! rolls back), or a dropped savepoint is rolled back before the next statement.
//!
//! Each operation given a transaction runs in its own savepoint and is rolled back to it on
//! an error or a panic. An operation whose future is dropped before it finished on
//! PostgreSQL (its statements may be half sent) *poisons* the transaction: every later
//! operation and `commit()` return [`Error::TransactionAborted`], and `commit()` rolls back,
//! so half an operation can never be committed (SPEC §7). On SQLite an operation is one job
//! that runs to its end (savepoint released or rolled back) even when its future is dropped.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::conn::Conn;
use crate::conn::{Access, Op};
use crate::database::{Database, Pools};
use crate::executor::Executor;
use crate::hooks::Hooks;
#[cfg(feature = "mysql")]
use crate::mysql::MyLease;
#[cfg(feature = "postgres")]
use crate::postgres::Lease;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use throughline_core::{Backend, Error, Result};
use tokio::sync::Mutex;
#[cfg(feature = "sqlite")]
use {
    crate::sqlite::{Driver, Worker, drive},
    tokio::sync::OwnedMutexGuard,
};

/// An open transaction. Operations given `&tx` run inside it, each in its own savepoint.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// let mut tx = db.begin().await?;
/// let inner = tx.transaction().await?; // a savepoint; `tx` cannot be used while it is open
/// inner.rollback().await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub struct Transaction<'p> {
    handle: Arc<Mutex<TxHandle>>,
    backend: Backend,
    depth: usize,
    finished: bool,
    poison: Arc<Poison>,
    /// The hooks of the database the transaction belongs to.
    hooks: Hooks,
    _parent: PhantomData<&'p mut ()>,
}

/// Why a transaction can no longer commit, set once by the first thing that aborted it.
#[derive(Default)]
struct Poison(OnceLock<String>);

impl Poison {
    fn set(&self, reason: &str) {
        let _ = self.0.set(reason.to_owned());
    }

    fn check(&self) -> Result<()> {
        match self.0.get() {
            Some(reason) => Err(Error::TransactionAborted {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Poisons the transaction when dropped armed: the operation it guards did not finish.
struct OpGuard {
    poison: Arc<Poison>,
    armed: bool,
}

impl OpGuard {
    /// A guard that poisons the transaction unless [`OpGuard::disarm`]ed.
    fn arm(poison: &Arc<Poison>) -> OpGuard {
        OpGuard {
            poison: poison.clone(),
            armed: true,
        }
    }

    /// The guarded work finished: dropping the guard no longer poisons.
    fn disarm(mut self) {
        self.armed = false;
    }
}

/// The SQL that ends savepoint `name` (already quoted): released when its work succeeded,
/// otherwise rolled back to and released, so that the enclosing transaction goes on
/// without that work.
///
/// ```
/// use throughline_db::transaction::end_savepoint;
/// assert_eq!(end_savepoint("\"sp\"", true), "RELEASE SAVEPOINT \"sp\"");
/// assert_eq!(
///     end_savepoint("\"sp\"", false),
///     "ROLLBACK TO SAVEPOINT \"sp\"; RELEASE SAVEPOINT \"sp\""
/// );
/// ```
pub fn end_savepoint(name: &str, succeeded: bool) -> String {
    if succeeded {
        format!("RELEASE SAVEPOINT {name}")
    } else {
        format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
    }
}

impl Drop for OpGuard {
    fn drop(&mut self) {
        if self.armed {
            self.poison.set(
                "an operation inside it did not finish (its future was dropped or its savepoint could not be closed)",
            );
        }
    }
}

/// The connection a transaction holds, shared by its savepoints.
struct TxHandle {
    conn: TxConn,
    /// Savepoint rollbacks queued by dropped nested transactions (PostgreSQL), run before
    /// the next statement.
    pending: Vec<String>,
    open: bool,
}

enum TxConn {
    #[cfg(feature = "sqlite")]
    Sqlite {
        worker: Worker,
        driver: Arc<Driver>,
        _writer: OwnedMutexGuard<()>,
    },
    #[cfg(feature = "postgres")]
    Postgres(Box<Lease>),
    #[cfg(feature = "mysql")]
    Mysql(Box<MyLease>),
}

impl Drop for TxHandle {
    fn drop(&mut self) {
        // PostgreSQL: an open lease is not clean, so its connection is discarded.
        #[cfg(feature = "sqlite")]
        if self.open
            && let TxConn::Sqlite { worker, .. } = &self.conn
        {
            // Queued before the writer guard (a field) is released.
            worker.fire("ROLLBACK".to_owned());
        }
    }
}

impl TxHandle {
    async fn batch(&mut self, sql: String) -> Result<()> {
        match &mut self.conn {
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite { worker, .. } => {
                worker
                    .run(move |conn| conn.execute_batch(&sql).map_err(crate::sqlite::map_error))
                    .await
            }
            #[cfg(feature = "postgres")]
            TxConn::Postgres(lease) => lease.batch(&sql).await,
            #[cfg(feature = "mysql")]
            TxConn::Mysql(lease) => lease.batch(&sql).await,
        }
    }

    /// Rolls the whole transaction back, as far as the connection allows: on failure the
    /// handle stays open, so dropping it queues the rollback (SQLite) or discards the
    /// connection (PostgreSQL).
    async fn roll_back_all(&mut self) {
        self.pending.clear();
        let rolled_back = match &mut self.conn {
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite { .. } => self.batch("ROLLBACK".to_owned()).await,
            #[cfg(feature = "postgres")]
            TxConn::Postgres(lease) => lease.rollback().await,
            #[cfg(feature = "mysql")]
            TxConn::Mysql(lease) => lease.rollback().await,
        };
        if rolled_back.is_ok() {
            self.open = false;
        }
    }

    async fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sql = std::mem::take(&mut self.pending).join("; ");
        self.batch(sql).await
    }
}

impl Transaction<'static> {
    pub(crate) async fn begin(db: &Database) -> Result<Transaction<'static>> {
        let (handle, backend) = match &*db.inner {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(pool) => {
                let guard = pool.lock_writer().await?;
                let worker = pool.writer().clone();
                // The handle exists before BEGIN is queued: if this future is dropped while
                // BEGIN waits, dropping the handle queues its ROLLBACK behind it, before the
                // writer is released.
                let mut handle = TxHandle {
                    conn: TxConn::Sqlite {
                        worker: worker.clone(),
                        driver: Arc::new(pool.driver()),
                        _writer: guard,
                    },
                    pending: Vec::new(),
                    open: true,
                };
                let begun = worker
                    .run(|conn| {
                        conn.execute_batch("BEGIN IMMEDIATE")
                            .map_err(crate::sqlite::map_error)
                    })
                    .await;
                if let Err(error) = begun {
                    handle.open = false;
                    return Err(error);
                }
                (handle, Backend::Sqlite)
            }
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => {
                let mut lease = pool.lease().await?;
                lease.begin("BEGIN").await?;
                (
                    TxHandle {
                        conn: TxConn::Postgres(Box::new(lease)),
                        pending: Vec::new(),
                        open: true,
                    },
                    Backend::Postgres,
                )
            }
            #[cfg(feature = "mysql")]
            Pools::Mysql(pool) => {
                let mut lease = pool.lease().await?;
                lease.begin("BEGIN").await?;
                (
                    TxHandle {
                        conn: TxConn::Mysql(Box::new(lease)),
                        pending: Vec::new(),
                        open: true,
                    },
                    Backend::Mysql,
                )
            }
        };
        Ok(Transaction {
            handle: Arc::new(Mutex::new(handle)),
            backend,
            depth: 0,
            finished: false,
            poison: Arc::default(),
            hooks: db.hooks.clone(),
            _parent: PhantomData,
        })
    }
}

impl<'p> Transaction<'p> {
    fn savepoint_name(&self) -> String {
        // Quoted as every identifier is (SPEC §7), though the name is ours.
        format!("\"tl_sp_{}\"", self.depth)
    }

    /// Starts a nested transaction (a savepoint). While it is open, this transaction is
    /// borrowed and cannot be used.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// db.execute_batch("CREATE TABLE t (x INTEGER)").await?;
    /// let insert = |sql: &'static str| op(move |conn: &mut dyn Conn| Box::pin(conn.batch(sql)));
    /// let mut tx = db.begin().await?;
    /// tx.run(Access::WriteOne, insert("INSERT INTO t VALUES (1)")).await?;
    /// let inner = tx.transaction().await?;
    /// inner.run(Access::WriteOne, insert("INSERT INTO t VALUES (2)")).await?;
    /// inner.rollback().await?; // undoes 2 only
    /// tx.commit().await?;
    /// let count = throughline_query::Statement::new("SELECT count(*) FROM t", vec![]);
    /// let rows = db
    ///     .run(Access::Read, op(move |conn: &mut dyn Conn| Box::pin(async move {
    ///         let mut n = 0i64;
    ///         conn.query(&count, &mut |row| { n = row.get(0)?; Ok(()) }).await?;
    ///         Ok(n)
    ///     })))
    ///     .await?;
    /// assert_eq!(rows, 1);
    /// # Ok(()) }
    /// ```
    pub async fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.poison.check()?;
        let depth = self.depth + 1;
        let mut handle = self.handle.lock().await;
        let guard = OpGuard::arm(&self.poison);
        handle.flush_pending().await?;
        handle.batch(format!("SAVEPOINT \"tl_sp_{depth}\"")).await?;
        guard.disarm();
        drop(handle);
        Ok(Transaction {
            handle: self.handle.clone(),
            backend: self.backend,
            depth,
            finished: false,
            poison: self.poison.clone(),
            hooks: self.hooks.clone(),
            _parent: PhantomData,
        })
    }

    /// Whether the transaction was aborted (an operation inside it did not finish): it can
    /// then only be rolled back, and [`Transaction::commit`] returns
    /// [`Error::TransactionAborted`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// let tx = db.begin().await?;
    /// assert!(!tx.is_aborted());
    /// # Ok(()) }
    /// ```
    pub fn is_aborted(&self) -> bool {
        self.poison.0.get().is_some()
    }

    /// Commits (or, nested, releases the savepoint). A transaction that was aborted (see
    /// [`Transaction::is_aborted`]) is rolled back instead, and the error says why.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let tx = db.begin().await?;
    /// tx.run(Access::WriteOne, op(|conn: &mut dyn Conn| Box::pin(conn.batch("CREATE TABLE t (x INTEGER)")))).await?;
    /// tx.commit().await?;
    /// db.execute_batch("INSERT INTO t VALUES (1)").await?; // the table was committed
    /// # Ok(()) }
    /// ```
    pub async fn commit(mut self) -> Result<()> {
        let mut handle = self.handle.lock().await;
        if let Err(aborted) = self.poison.check() {
            self.finished = true;
            if self.depth == 0 {
                handle.roll_back_all().await;
            }
            return Err(aborted);
        }
        let guard = OpGuard::arm(&self.poison);
        handle.flush_pending().await?;
        guard.disarm();
        if self.depth == 0 {
            match &mut handle.conn {
                #[cfg(feature = "sqlite")]
                TxConn::Sqlite { worker, .. } => {
                    // On failure the handle stays open, so dropping it queues the rollback.
                    worker
                        .run(|conn| {
                            conn.execute_batch("COMMIT")
                                .map_err(crate::sqlite::map_error)
                        })
                        .await?;
                }
                #[cfg(feature = "postgres")]
                TxConn::Postgres(lease) => lease.commit().await?,
                #[cfg(feature = "mysql")]
                TxConn::Mysql(lease) => lease.commit().await?,
            }
            handle.open = false;
        } else {
            handle
                .batch(end_savepoint(&self.savepoint_name(), true))
                .await?;
        }
        self.finished = true;
        Ok(())
    }

    /// Rolls back (or, nested, rolls back to the savepoint).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let tx = db.begin().await?;
    /// tx.run(Access::WriteOne, op(|conn: &mut dyn Conn| Box::pin(conn.batch("CREATE TABLE t (x INTEGER)")))).await?;
    /// tx.rollback().await?;
    /// assert!(db.execute_batch("INSERT INTO t VALUES (1)").await.is_err()); // no table
    /// # Ok(()) }
    /// ```
    pub async fn rollback(mut self) -> Result<()> {
        let mut handle = self.handle.lock().await;
        if self.depth == 0 {
            handle.pending.clear();
            match &mut handle.conn {
                #[cfg(feature = "sqlite")]
                TxConn::Sqlite { .. } => handle.batch("ROLLBACK".to_owned()).await?,
                #[cfg(feature = "postgres")]
                TxConn::Postgres(lease) => lease.rollback().await?,
                #[cfg(feature = "mysql")]
                TxConn::Mysql(lease) => lease.rollback().await?,
            }
            handle.open = false;
        } else {
            self.poison.check()?;
            handle.flush_pending().await?;
            handle
                .batch(end_savepoint(&self.savepoint_name(), false))
                .await?;
        }
        self.finished = true;
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.finished || self.depth == 0 {
            // A top-level transaction rolls back when its handle drops.
            return;
        }
        let sql = end_savepoint(&self.savepoint_name(), false);
        match self.handle.try_lock() {
            Ok(mut handle) => {
                let handle = &mut *handle;
                match &handle.conn {
                    #[cfg(feature = "sqlite")]
                    TxConn::Sqlite { worker, .. } => worker.fire(sql),
                    #[cfg(feature = "postgres")]
                    TxConn::Postgres(_) => handle.pending.push(sql),
                    #[cfg(feature = "mysql")]
                    TxConn::Mysql(_) => handle.pending.push(sql),
                }
            }
            Err(_) => self
                .poison
                .set("a savepoint was dropped while an operation held the connection"),
        }
    }
}

const OP_SAVEPOINT: &str = "\"tl_op\"";

impl Executor for Transaction<'_> {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    fn in_transaction(&self) -> bool {
        true
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        let handle = self.handle.clone();
        let poison = self.poison.clone();
        async move {
            poison.check()?;
            let mut handle = handle.lock().await;
            let guard = OpGuard::arm(&poison);
            handle.flush_pending().await?;
            match &mut handle.conn {
                #[cfg(feature = "sqlite")]
                TxConn::Sqlite { worker, driver, .. } => {
                    // A failed SQLite statement does not abort the transaction, so only
                    // multi-statement operations need a savepoint. The job runs to its end
                    // even if this future is dropped, so it disarms the guard itself.
                    let savepoint = matches!(access, Access::Atomic | Access::Schema);
                    let driver = driver.clone();
                    guard.disarm();
                    let job_poison = poison.clone();
                    worker
                        .run(move |conn| {
                            if savepoint {
                                conn.execute_batch(&format!("SAVEPOINT {OP_SAVEPOINT}"))
                                    .map_err(crate::sqlite::map_error)?;
                            }
                            let result = drive(conn, &driver, op);
                            if savepoint {
                                let end = end_savepoint(OP_SAVEPOINT, result.is_ok());
                                if let Err(error) = conn.execute_batch(&end) {
                                    job_poison.set("an operation's savepoint could not be closed");
                                    return Err(crate::sqlite::map_error(error));
                                }
                            }
                            result
                        })
                        .await
                }
                #[cfg(feature = "postgres")]
                TxConn::Postgres(lease) => {
                    // Any failed PostgreSQL statement aborts the transaction: always a
                    // savepoint, whatever the access.
                    let _ = access;
                    lease.batch(&format!("SAVEPOINT {OP_SAVEPOINT}")).await?;
                    let result =
                        crate::unwind::CatchPanicBoxed::new(op(lease.as_mut() as &mut dyn Conn))
                            .await;
                    lease
                        .batch(&end_savepoint(OP_SAVEPOINT, result.is_ok()))
                        .await?;
                    guard.disarm();
                    result
                }
                #[cfg(feature = "mysql")]
                TxConn::Mysql(lease) => {
                    // A savepoint, so that a failed operation undoes its own writes.
                    let _ = access;
                    lease.batch(&format!("SAVEPOINT {OP_SAVEPOINT}")).await?;
                    let result =
                        crate::unwind::CatchPanicBoxed::new(op(lease.as_mut() as &mut dyn Conn))
                            .await;
                    lease
                        .batch(&end_savepoint(OP_SAVEPOINT, result.is_ok()))
                        .await?;
                    guard.disarm();
                    result
                }
            }
        }
    }
}
