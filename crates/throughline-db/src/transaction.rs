//! Owns [`Transaction`]: an open transaction (or, nested, a savepoint) used as an
//! [`Executor`]. Dropping one that was not committed rolls it back: on SQLite a rollback is
//! queued on the writer's thread before the writer is released; on PostgreSQL the
//! connection is discarded (the server rolls back), or a dropped savepoint is rolled back
//! before the next statement.

use crate::conn::{Access, Conn, Op};
use crate::database::{Database, Pools};
use crate::executor::Executor;
use crate::postgres::Lease;
use crate::sqlite::{Worker, drive};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use throughline_core::{Backend, Result};
use tokio::sync::{Mutex, OwnedMutexGuard};

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
    _parent: PhantomData<&'p mut ()>,
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
    Sqlite {
        worker: Worker,
        _writer: OwnedMutexGuard<()>,
    },
    Postgres(Box<Lease>),
}

impl Drop for TxHandle {
    fn drop(&mut self) {
        // PostgreSQL: an open lease is not clean, so its connection is discarded.
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
            TxConn::Sqlite { worker, .. } => {
                worker
                    .run(move |conn| conn.execute_batch(&sql).map_err(crate::sqlite::map_error))
                    .await
            }
            TxConn::Postgres(lease) => lease.batch(&sql).await,
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
        let (conn, backend) = match &*db.inner {
            Pools::Sqlite(pool) => {
                let guard = pool.lock_writer().await?;
                let worker = pool.writer().clone();
                worker
                    .run(|conn| {
                        conn.execute_batch("BEGIN IMMEDIATE")
                            .map_err(crate::sqlite::map_error)
                    })
                    .await?;
                (
                    TxConn::Sqlite {
                        worker,
                        _writer: guard,
                    },
                    Backend::Sqlite,
                )
            }
            Pools::Postgres(pool) => {
                let mut lease = pool.lease().await?;
                lease.begin("BEGIN").await?;
                (TxConn::Postgres(Box::new(lease)), Backend::Postgres)
            }
        };
        Ok(Transaction {
            handle: Arc::new(Mutex::new(TxHandle {
                conn,
                pending: Vec::new(),
                open: true,
            })),
            backend,
            depth: 0,
            finished: false,
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
    pub async fn transaction(&mut self) -> Result<Transaction<'_>> {
        let depth = self.depth + 1;
        let mut handle = self.handle.lock().await;
        handle.flush_pending().await?;
        handle.batch(format!("SAVEPOINT \"tl_sp_{depth}\"")).await?;
        drop(handle);
        Ok(Transaction {
            handle: self.handle.clone(),
            backend: self.backend,
            depth,
            finished: false,
            _parent: PhantomData,
        })
    }

    /// Commits (or, nested, releases the savepoint).
    pub async fn commit(mut self) -> Result<()> {
        let mut handle = self.handle.lock().await;
        handle.flush_pending().await?;
        if self.depth == 0 {
            match &mut handle.conn {
                TxConn::Sqlite { worker, .. } => {
                    // On failure the handle stays open, so dropping it queues the rollback.
                    worker
                        .run(|conn| {
                            conn.execute_batch("COMMIT")
                                .map_err(crate::sqlite::map_error)
                        })
                        .await?;
                }
                TxConn::Postgres(lease) => lease.commit().await?,
            }
            handle.open = false;
        } else {
            handle
                .batch(format!("RELEASE SAVEPOINT {}", self.savepoint_name()))
                .await?;
        }
        self.finished = true;
        Ok(())
    }

    /// Rolls back (or, nested, rolls back to the savepoint).
    pub async fn rollback(mut self) -> Result<()> {
        let mut handle = self.handle.lock().await;
        handle.flush_pending().await?;
        if self.depth == 0 {
            match &mut handle.conn {
                TxConn::Sqlite { .. } => handle.batch("ROLLBACK".to_owned()).await?,
                TxConn::Postgres(lease) => lease.rollback().await?,
            }
            handle.open = false;
        } else {
            let name = self.savepoint_name();
            handle
                .batch(format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))
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
        let name = self.savepoint_name();
        let sql = format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}");
        if let Ok(mut handle) = self.handle.try_lock() {
            match &handle.conn {
                TxConn::Sqlite { worker, .. } => worker.fire(sql),
                TxConn::Postgres(_) => handle.pending.push(sql),
            }
        }
    }
}

const OP_SAVEPOINT: &str = "\"tl_op\"";

impl Executor for Transaction<'_> {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        let handle = self.handle.clone();
        async move {
            let mut handle = handle.lock().await;
            handle.flush_pending().await?;
            match &mut handle.conn {
                TxConn::Sqlite { worker, .. } => {
                    // A failed SQLite statement does not abort the transaction, so only
                    // multi-statement operations need a savepoint.
                    let savepoint = matches!(access, Access::Atomic | Access::Schema);
                    worker
                        .run(move |conn| {
                            if savepoint {
                                conn.execute_batch(&format!("SAVEPOINT {OP_SAVEPOINT}"))
                                    .map_err(crate::sqlite::map_error)?;
                            }
                            let result = drive(conn, op);
                            if savepoint {
                                let end = if result.is_ok() {
                                    format!("RELEASE SAVEPOINT {OP_SAVEPOINT}")
                                } else {
                                    format!("ROLLBACK TO SAVEPOINT {OP_SAVEPOINT}; RELEASE SAVEPOINT {OP_SAVEPOINT}")
                                };
                                conn.execute_batch(&end).map_err(crate::sqlite::map_error)?;
                            }
                            result
                        })
                        .await
                }
                TxConn::Postgres(lease) => {
                    // Any failed PostgreSQL statement aborts the transaction: always a savepoint.
                    lease.batch(&format!("SAVEPOINT {OP_SAVEPOINT}")).await?;
                    let result = op(lease.as_mut() as &mut dyn Conn).await;
                    let end = if result.is_ok() {
                        format!("RELEASE SAVEPOINT {OP_SAVEPOINT}")
                    } else {
                        format!(
                            "ROLLBACK TO SAVEPOINT {OP_SAVEPOINT}; RELEASE SAVEPOINT {OP_SAVEPOINT}"
                        )
                    };
                    lease.batch(&end).await?;
                    result
                }
            }
        }
    }
}
