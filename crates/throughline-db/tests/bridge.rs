//! The async bridge to SQLite's connection threads: panics become errors and the thread
//! survives; an operation may await other async work (a timer); every statement emits a tracing event.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};
use throughline_core::Error;
use throughline_db::{Access, Conn, Database, Executor, op};
use throughline_query::Statement;

#[tokio::test]
async fn a_panicking_operation_is_an_error_and_the_thread_survives() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    let result: Result<(), Error> = db
        .run(
            Access::WriteOne,
            op(|_conn: &mut dyn Conn| Box::pin(async move { panic!("boom in an operation") })),
        )
        .await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Panicked { .. }), "{err:?}");
    assert!(err.to_string().contains("boom in an operation"), "{err}");
    db.execute_batch("CREATE TABLE t (x integer)")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_operation_may_await_a_timer_on_the_connection_thread() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    let result: Result<u8, Error> = db
        .run(
            Access::Read,
            op(|_conn: &mut dyn Conn| {
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    Ok(3)
                })
            }),
        )
        .await;
    assert_eq!(result.unwrap(), 3);
}

#[tokio::test]
async fn an_operation_that_waits_forever_times_out_and_is_rolled_back() {
    let db = Database::connect("sqlite::memory:?write_timeout_ms=300")
        .await
        .unwrap();
    db.execute_batch("CREATE TABLE t (x integer)")
        .await
        .unwrap();
    let result: Result<(), Error> = db
        .run(
            Access::Atomic,
            op(|conn: &mut dyn Conn| {
                Box::pin(async move {
                    conn.execute(&Statement::new("INSERT INTO t VALUES (1)", vec![]))
                        .await?;
                    std::future::pending::<()>().await;
                    Ok(())
                })
            }),
        )
        .await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    let count: i64 = db
        .run(
            Access::Read,
            op(|conn: &mut dyn Conn| {
                Box::pin(async move {
                    let mut n = 0;
                    conn.query(
                        &Statement::new("SELECT count(*) FROM t", vec![]),
                        &mut |row| {
                            n = row.get::<i64>(0)?;
                            Ok(())
                        },
                    )
                    .await?;
                    Ok(n)
                })
            }),
        )
        .await
        .unwrap();
    assert_eq!(count, 0, "the timed-out operation was rolled back");
    db.begin().await.unwrap().commit().await.unwrap();
}

/// Collects the `sql` field of every event.
struct Collector(Arc<Mutex<Vec<(String, String)>>>);

struct FieldVisitor<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl tracing::Subscriber for Collector {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "throughline::sql" {
            let mut fields = Vec::new();
            event.record(&mut FieldVisitor(&mut fields));
            self.0.lock().unwrap().extend(fields);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn every_statement_emits_a_debug_event() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(Collector(seen.clone())).unwrap();
    let db = Database::connect("sqlite::memory:").await.unwrap();
    let stmt = Statement::new("SELECT ?", vec![1i64.into()]);
    db.run(
        Access::Read,
        op(move |conn| Box::pin(async move { conn.query(&stmt, &mut |_| Ok(())).await })),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    let field = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(field("sql").as_deref(), Some("SELECT ?"));
    assert_eq!(field("params").as_deref(), Some("1"));
    assert_eq!(field("rows").as_deref(), Some("1"));
    assert!(field("elapsed_us").is_some());
}
