//! Owns [`ModelStream`], the rows of a queryset read as an async stream with bounded
//! memory ([`QuerySet::stream`](crate::QuerySet::stream)): a server-side cursor on
//! PostgreSQL, the statement stepped batch by batch on SQLite, the result stream read as
//! far as it is consumed on MySQL ([`Conn::query_batched`](throughline_db::Conn)).
//!
//! The reading operation is not spawned: the stream polls it itself, so it works on any
//! runtime (a current-thread one too) and on any executor, a transaction included. Decoded
//! rows pass through a channel of one batch: at most three batches of instances are in
//! memory at once (the one being read, the one in the channel, the one being handed out).
//!
//! ```
//! use throughline::prelude::*;
//! # #[derive(Debug, Clone, Model)] struct Reading { id: Option<i64>, value: i64 }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Reading::meta());
//! # throughline::create_tables(&db, &r).await?;
//! for value in 1..=10 {
//!     Reading { id: None, value }.create(&db).await?;
//! }
//! // Read 4 rows at a time; only a few batches are ever in memory.
//! let mut readings = Reading::objects().order_by([Reading::VALUE.asc()]).stream_in_batches(4, &db);
//! let mut total = 0;
//! while let Some(reading) = readings.next().await {
//!     total += reading?.value;
//! }
//! assert_eq!(total, 55);
//! # Ok(()) }
//! ```

use crate::model::Model;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use throughline_core::{Error, Result};
use throughline_db::{Access, Executor, op};
use tokio::sync::mpsc;

/// The rows read by default per batch (Django's `iterator()` reads 2,000).
///
/// ```
/// assert_eq!(throughline::stream::DEFAULT_BATCH, 1000);
/// ```
pub const DEFAULT_BATCH: usize = 1000;

type Producer<'a> = Pin<Box<dyn Future<Output = Result<u64>> + Send + 'a>>;

/// Decodes one row into the batch being read.
pub(crate) type DecodeFn<M> =
    Arc<dyn Fn(&throughline_db::Row<'_>, &mut Batch<M>) -> Result<()> + Send + Sync>;

/// Starts an empty batch.
pub(crate) type NewBatchFn<M> = Arc<dyn Fn() -> Result<Batch<M>> + Send + Sync>;

/// The instances of a queryset, read in batches as they are consumed: a
/// [`futures_core::Stream`] of `Result<M>`, also readable without any stream combinator
/// through [`ModelStream::next`]. It holds a connection until it ends or is dropped
/// (dropping it stops the read: on PostgreSQL the connection, inside its cursor's
/// transaction, is closed rather than returned to the pool), never one the loop's own
/// statements need: on SQLite, other reads go to another reader (or the writer), and on
/// the writer (an in-memory database, a pool without readers) every row is read before
/// the first is handed out. Inside a transaction, whose one connection the loop may use,
/// the rows are also read whole first: memory is bounded on the pool only.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Reading { id: Option<i64>, value: i64 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Reading::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for value in 0..5 { Reading { id: None, value }.create(&db).await?; }
/// let mut total = 0;
/// let mut readings = Reading::objects().order_by([Reading::VALUE.asc()]).stream(&db);
/// while let Some(reading) = readings.next().await {
///     total += reading?.value;
/// }
/// assert_eq!(total, 10);
/// # Ok(()) }
/// ```
pub struct ModelStream<'a, M> {
    producer: Option<Producer<'a>>,
    /// Inside a transaction: nothing is handed out before the reading operation has
    /// ended (its savepoint released), so that the consumer can use the transaction.
    whole_first: bool,
    receiver: mpsc::Receiver<VecDeque<M>>,
    current: VecDeque<M>,
    failed: Option<Error>,
}

impl<'a, M: Model> ModelStream<'a, M> {
    /// Reads `stmt`'s rows on `exec`, `batch` at a time, each decoded by `decode` (which
    /// also fills the `select_related` slots of the batch's instances once it is read).
    pub(crate) fn new(
        exec: &'a impl Executor,
        stmt: Result<throughline_query::Statement>,
        batch: usize,
        decode: DecodeFn<M>,
        new_batch: NewBatchFn<M>,
    ) -> ModelStream<'a, M> {
        let (sender, receiver) = mpsc::channel(1);
        let whole_first = exec.in_transaction();
        let producer: Producer<'a> = match stmt {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(stmt) => {
                let in_transaction = exec.in_transaction();
                // PostgreSQL's cursor lives in a transaction.
                let access = match exec.backend() {
                    throughline_core::Backend::Postgres => Access::Atomic,
                    _ => Access::Read,
                };
                Box::pin(exec.run(
                    access,
                    op(move |conn| {
                        Box::pin(async move {
                            let pending = Arc::new(Mutex::new(new_batch()?));
                            let filling = Arc::clone(&pending);
                            let mut on_row = move |row: &throughline_db::Row<'_>| {
                                let mut batch = lock(&filling);
                                decode(row, &mut batch)
                            };
                            let mut flush = move || {
                                let ready = new_batch()
                                    .map(|fresh| std::mem::replace(&mut *lock(&pending), fresh));
                                let sender = sender.clone();
                                Box::pin(async move {
                                    let rows = ready?.finish();
                                    if rows.is_empty() {
                                        return Ok(());
                                    }
                                    sender.send(rows).await.map_err(|_| {
                                        Error::invalid_query(
                                            std::any::type_name::<M>(),
                                            "the stream was dropped while it was read",
                                        )
                                    })
                                })
                                    as throughline_db::BoxFuture<'static, Result<()>>
                            };
                            if in_transaction {
                                // The transaction's one connection must stay free for the
                                // consumer's own statements: every row is read first.
                                let rows = conn.query(&stmt, &mut on_row).await?;
                                flush().await?;
                                Ok(rows)
                            } else {
                                conn.query_batched(&stmt, batch, &mut on_row, &mut flush)
                                    .await
                            }
                        })
                    }),
                ))
            }
        };
        ModelStream {
            producer: Some(producer),
            whole_first,
            receiver,
            current: VecDeque::new(),
            failed: None,
        }
    }

    /// The next instance, `None` once every row was read; an error ends the stream.
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Reading { id: Option<i64>, value: i64 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Reading::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for value in [3, 1, 2] { Reading { id: None, value }.create(&db).await?; }
    /// let mut readings = Reading::objects().order_by([Reading::VALUE.asc()]).stream(&db);
    /// assert_eq!(readings.next().await.transpose()?.map(|r| r.value), Some(1));
    /// assert_eq!(readings.next().await.transpose()?.map(|r| r.value), Some(2));
    /// assert_eq!(readings.next().await.transpose()?.map(|r| r.value), Some(3));
    /// assert!(readings.next().await.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_item(cx)).await
    }

    /// Every remaining instance, in one list (the whole result in memory, as `all()`).
    ///
    /// ```
    /// # use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Reading { id: Option<i64>, value: i64 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Reading::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # for value in [3, 1, 2] { Reading { id: None, value }.create(&db).await?; }
    /// let mut readings = Reading::objects().order_by([Reading::VALUE.asc()]).stream(&db);
    /// let first = readings.next().await.transpose()?;
    /// let rest = readings.collect_all().await?; // what the stream had not handed out
    /// assert_eq!(first.map(|r| r.value), Some(1));
    /// assert_eq!(rest.iter().map(|r| r.value).collect::<Vec<_>>(), [2, 3]);
    /// # Ok(()) }
    /// ```
    pub async fn collect_all(mut self) -> Result<Vec<M>> {
        let mut out = Vec::new();
        while let Some(item) = self.next().await {
            out.push(item?);
        }
        Ok(out)
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        loop {
            if self.whole_first && self.producer.is_some() {
                self.poll_producer(cx);
                if self.producer.is_some() {
                    return Poll::Pending;
                }
            }
            if let Some(instance) = self.current.pop_front() {
                return Poll::Ready(Some(Ok(instance)));
            }
            self.poll_producer(cx);
            match self.receiver.poll_recv(cx) {
                Poll::Ready(Some(batch)) => self.current = batch,
                // Every batch was handed out: the reading operation ended (its sender
                // dropped). Its error, if any, comes last, after the rows read before it.
                Poll::Ready(None) => {
                    if let Some(error) = self.failed.take() {
                        return Poll::Ready(Some(Err(error)));
                    }
                    if self.producer.is_some() {
                        // Its transaction is still ending; polled above, it will wake us.
                        return Poll::Pending;
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if self.producer.is_none() {
                        // Failed before sending anything (the statement did not render).
                        return Poll::Ready(self.failed.take().map(Err));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<M> ModelStream<'_, M> {
    /// Drives the reading operation; once it ends, keeps its error for after the rows.
    fn poll_producer(&mut self, cx: &mut Context<'_>) {
        if let Some(producer) = self.producer.as_mut()
            && let Poll::Ready(result) = producer.as_mut().poll(cx)
        {
            self.producer = None;
            if let Err(error) = result {
                self.failed = Some(error);
            }
        }
    }
}

impl<M: Model> futures_core::Stream for ModelStream<'_, M> {
    type Item = Result<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        self.get_mut().poll_item(cx)
    }
}

impl<M> Unpin for ModelStream<'_, M> {}

/// The instances decoded from one batch of rows, and the `select_related` rows they
/// refer to, published when the batch is complete.
pub(crate) struct Batch<M> {
    pub(crate) instances: VecDeque<M>,
    pub(crate) related: Vec<Box<dyn crate::foreign_key::RelatedBatch>>,
}

impl<M> Batch<M> {
    /// The instances, their related rows readable.
    fn finish(mut self) -> VecDeque<M> {
        for related in &mut self.related {
            related.finish();
        }
        self.instances
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
