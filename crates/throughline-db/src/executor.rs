//! Owns [`Executor`]: what every ORM operation takes, either the [`crate::Database`] pool
//! or an open [`crate::Transaction`] (SPEC §8.6).

use crate::conn::{Access, Op};
use crate::hooks::Hooks;
use std::future::Future;
use throughline_core::{Backend, Result};

/// Something an operation can run on: the pool or an open transaction.
///
/// Methods return `impl Future + Send` rather than being `async fn`, so futures stay
/// `Send` in generic code (and `tokio::spawn` accepts them). Code generic over where it
/// runs takes `&impl Executor`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// use throughline_db::{Database, Executor};
/// fn describe(exec: &impl Executor) -> String {
///     format!("{:?}, in a transaction: {}", exec.backend(), exec.in_transaction())
/// }
/// let db = Database::connect("sqlite::memory:").await?;
/// assert_eq!(describe(&db), "Sqlite, in a transaction: false");
/// let tx = db.begin().await?;
/// assert_eq!(describe(&tx), "Sqlite, in a transaction: true");
/// # Ok(()) }
/// ```
pub trait Executor: Send + Sync {
    /// The backend operations will run on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Database, Executor};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// assert_eq!(db.backend(), throughline_core::Backend::Sqlite);
    /// assert_eq!(db.begin().await?.backend(), throughline_core::Backend::Sqlite);
    /// # Ok(()) }
    /// ```
    fn backend(&self) -> Backend;

    /// The relation hooks of the database this executor runs on (shared by its
    /// transactions and wrappers).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Counting, Database, Executor};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// assert!(db.hooks().is_empty()); // none registered yet
    /// assert!(Counting::new(&db).hooks().is_empty()); // a wrapper shares the database's
    /// # Ok(()) }
    /// ```
    fn hooks(&self) -> &Hooks;

    /// Whether operations run inside an open transaction (a [`crate::Transaction`], or a
    /// hook's executor inside its operation's transaction): an operation that failed there
    /// cannot be retried on its own. False for the pool.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Database, Executor};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// assert!(!db.in_transaction());
    /// let tx = db.begin().await?;
    /// assert!(tx.in_transaction());
    /// # Ok(()) }
    /// ```
    fn in_transaction(&self) -> bool {
        false
    }

    /// Runs one operation. On the pool, `Access::Atomic` wraps it in a transaction; inside a
    /// transaction, every operation runs in a savepoint, so an error it returns leaves the
    /// caller's transaction usable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::{Access, Conn, Database, Executor, op};
    /// use throughline_query::Statement;
    /// let db = Database::connect("sqlite::memory:").await?;
    /// db.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)").await?;
    /// let insert = |x: i64| op(move |conn: &mut dyn Conn| Box::pin(async move {
    ///     conn.execute(&Statement::new("INSERT INTO t VALUES (?)", vec![x.into()])).await
    /// }));
    /// assert_eq!(db.run(Access::Atomic, insert(1)).await?, 1); // one row inserted
    /// let tx = db.begin().await?;
    /// assert!(tx.run(Access::Atomic, insert(1)).await.is_err()); // a duplicate ...
    /// tx.run(Access::Atomic, insert(2)).await?; // ... and the transaction goes on
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send;
}

impl<E: Executor> Executor for &E {
    fn backend(&self) -> Backend {
        (**self).backend()
    }

    fn hooks(&self) -> &Hooks {
        (**self).hooks()
    }

    fn in_transaction(&self) -> bool {
        (**self).in_transaction()
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        (**self).run(access, op)
    }
}
