//! Owns [`Counting`], an executor wrapper that records every statement an operation runs,
//! so tests can assert statement counts (Django's `assertNumQueries`): select_related is one
//! query, prefetch is two, a bulk add does not grow with the number of targets.

use crate::conn::{Access, BoxFuture, Conn, Op, RowFn};
use crate::executor::Executor;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use throughline_core::{Backend, Result};
use throughline_query::Statement;

/// Wraps an executor and records the SQL of every statement run through it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// use throughline_db::{Counting, Database};
/// let db = Database::connect("sqlite::memory:").await?;
/// let counting = Counting::new(&db);
/// assert_eq!(counting.count(), 0);
/// # Ok(()) }
/// ```
pub struct Counting<E> {
    inner: E,
    log: Arc<Mutex<Vec<String>>>,
    transactions: Arc<AtomicUsize>,
}

impl<E: Executor> Counting<E> {
    /// Starts counting statements run through `inner` (the pool, a transaction, or a
    /// reference to either).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Counting, Database, Executor};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let tx = db.begin().await?;
    /// let counting = Counting::new(&tx);
    /// assert!(counting.in_transaction()); // it runs where `inner` runs
    /// # Ok(()) }
    /// ```
    pub fn new(inner: E) -> Self {
        Counting {
            inner,
            log: Arc::new(Mutex::new(Vec::new())),
            transactions: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The number of operations that ran in a transaction of their own (or a savepoint of
    /// the caller's), as opposed to one autocommit statement or reads.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Counting, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let counting = Counting::new(&db);
    /// counting.run(Access::Atomic, op(|_conn| Box::pin(async { Ok(()) }))).await?;
    /// counting.run(Access::Read, op(|_conn| Box::pin(async { Ok(()) }))).await?;
    /// assert_eq!(counting.transactions(), 1);
    /// # Ok(()) }
    /// ```
    pub fn transactions(&self) -> usize {
        self.transactions.load(Ordering::Relaxed)
    }

    /// The number of statements recorded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Counting, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let counting = Counting::new(&db);
    /// counting.run(Access::WriteOne, op(|conn: &mut dyn Conn| Box::pin(conn.batch("CREATE TABLE t (x INTEGER)")))).await?;
    /// assert_eq!(counting.count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> usize {
        self.statements().len()
    }

    /// The SQL of the statements recorded, in order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Counting, Database, Executor, op};
    /// use throughline_query::Statement;
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let counting = Counting::new(&db);
    /// counting
    ///     .run(Access::Read, op(|conn: &mut dyn Conn| Box::pin(async move {
    ///         conn.query(&Statement::new("SELECT 1", vec![]), &mut |_row| Ok(())).await
    ///     })))
    ///     .await?;
    /// assert_eq!(counting.statements(), ["SELECT 1"]);
    /// # Ok(()) }
    /// ```
    pub fn statements(&self) -> Vec<String> {
        match self.log.lock() {
            Ok(log) => log.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Forgets the recorded statements and transactions.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Counting, Database, Executor, op};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let counting = Counting::new(&db);
    /// counting.run(Access::Atomic, op(|conn: &mut dyn Conn| Box::pin(conn.batch("CREATE TABLE t (x INTEGER)")))).await?;
    /// assert_eq!((counting.count(), counting.transactions()), (1, 1));
    /// counting.reset(); // e.g. after a test's setup
    /// assert_eq!((counting.count(), counting.transactions()), (0, 0));
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        match self.log.lock() {
            Ok(mut log) => log.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
        self.transactions.store(0, Ordering::Relaxed);
    }
}

struct CountingConn<'c> {
    inner: &'c mut dyn Conn,
    log: Arc<Mutex<Vec<String>>>,
}

impl CountingConn<'_> {
    fn record(&self, sql: &str) {
        match self.log.lock() {
            Ok(mut log) => log.push(sql.to_owned()),
            Err(poisoned) => poisoned.into_inner().push(sql.to_owned()),
        }
    }
}

impl Conn for CountingConn<'_> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn query<'a>(
        &'a mut self,
        stmt: &'a Statement,
        on_row: RowFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        self.record(&stmt.sql);
        self.inner.query(stmt, on_row)
    }

    fn query_batched<'a>(
        &'a mut self,
        stmt: &'a Statement,
        batch: usize,
        on_row: RowFn<'a>,
        flush: crate::conn::FlushFn<'a>,
    ) -> BoxFuture<'a, Result<u64>> {
        self.record(&stmt.sql);
        self.inner.query_batched(stmt, batch, on_row, flush)
    }

    fn execute<'a>(&'a mut self, stmt: &'a Statement) -> BoxFuture<'a, Result<u64>> {
        self.record(&stmt.sql);
        self.inner.execute(stmt)
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        self.record(sql);
        self.inner.batch(sql)
    }
}

impl<E: Executor> Executor for Counting<E> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn hooks(&self) -> &crate::hooks::Hooks {
        self.inner.hooks()
    }

    fn in_transaction(&self) -> bool {
        self.inner.in_transaction()
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        if matches!(access, Access::Atomic | Access::Schema) {
            self.transactions.fetch_add(1, Ordering::Relaxed);
        }
        let log = self.log.clone();
        self.inner.run(
            access,
            crate::op(move |conn| {
                Box::pin(async move {
                    let mut counting = CountingConn { inner: conn, log };
                    op(&mut counting).await
                })
            }),
        )
    }
}
