//! Owns [`Executor`]: what every ORM operation takes, either the [`crate::Database`] pool
//! or an open [`crate::Transaction`] (SPEC §8.6).

use crate::conn::{Access, Op};
use crate::hooks::Hooks;
use std::future::Future;
use throughline_core::{Backend, Result};

/// Something an operation can run on: the pool or an open transaction.
///
/// Methods return `impl Future + Send` rather than being `async fn`, so futures stay
/// `Send` in generic code (and `tokio::spawn` accepts them).
pub trait Executor: Send + Sync {
    /// The backend operations will run on.
    fn backend(&self) -> Backend;

    /// The relation hooks of the database this executor runs on (shared by its
    /// transactions and wrappers).
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
