//! Owns turning panics into errors: [`CatchPanic`], a future that polls an operation inside
//! `catch_unwind` so that a panicking operation (a hook included) becomes
//! [`Error::Panicked`] on every backend, and its transaction or savepoint is then rolled
//! back by the ordinary error path (SPEC §7).
//!
//! Written by hand (a dozen lines) rather than taking `futures-util` for its
//! `catch_unwind` combinator.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use throughline_core::{Error, Result};

/// A future that turns a panic while polling `inner` into [`Error::Panicked`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use throughline_db::unwind::CatchPanic;
/// let result: throughline_core::Result<()> =
///     CatchPanic::new(async { panic!("boom") }).await;
/// assert!(matches!(result, Err(throughline_core::Error::Panicked { .. })));
/// # }
/// ```
pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

/// [`CatchPanic`] over a future that is already pinned in a box (an operation's
/// [`BoxFuture`](crate::BoxFuture)), without boxing it again.
pub(crate) struct CatchPanicBoxed<F> {
    inner: F,
}

impl<F> CatchPanicBoxed<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchPanicBoxed { inner }
    }
}

impl<T, F: Future<Output = Result<T>> + Unpin> Future for CatchPanicBoxed<F> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let inner = Pin::new(&mut self.inner);
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => Poll::Ready(Err(panicked(panic))),
        }
    }
}

impl<F> CatchPanic<F> {
    /// Wraps a future.
    ///
    /// ```
    /// let f = throughline_db::unwind::CatchPanic::new(async { Ok::<_, throughline_core::Error>(1) });
    /// # drop(f);
    /// ```
    pub fn new(inner: F) -> Self {
        CatchPanic {
            inner: Box::pin(inner),
        }
    }
}

impl<T, F: Future<Output = Result<T>>> Future for CatchPanic<F> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => Poll::Ready(Err(panicked(panic))),
        }
    }
}

/// The error a caught panic becomes, with the panic's message when it has one.
pub(crate) fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    Error::Panicked { message }
}
