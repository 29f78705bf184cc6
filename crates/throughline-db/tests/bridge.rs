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
    let count = count_rows(&db, "t").await;
    assert_eq!(count, 0, "the timed-out operation was rolled back");
    db.begin().await.unwrap().commit().await.unwrap();
}

/// Holds a value whose destructor panics, then waits forever: cut off by the write timeout,
/// its drop panics too.
fn panics_when_dropped() -> throughline_db::Op<()> {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("a destructor panicked");
        }
    }
    op(|conn: &mut dyn Conn| {
        Box::pin(async move {
            conn.execute(&Statement::new("INSERT INTO t VALUES (1)", vec![]))
                .await?;
            let _bomb = Bomb;
            std::future::pending::<()>().await;
            Ok(())
        })
    })
}

/// The number of rows of `table`.
async fn count_rows(db: &Database, table: &str) -> i64 {
    let select = format!("SELECT count(*) FROM {table}");
    db.run(
        Access::Read,
        op(move |conn: &mut dyn Conn| {
            Box::pin(async move {
                let mut n = 0;
                conn.query(&Statement::new(select, vec![]), &mut |row| {
                    n = row.get::<i64>(0)?;
                    Ok(())
                })
                .await?;
                Ok(n)
            })
        }),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_while_dropping_a_cut_off_operation_still_rolls_back() {
    let dir = std::env::temp_dir().join(format!("throughline-bridge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.db");
    let url = format!("sqlite://{}?mode=rwc&write_timeout_ms=300", path.display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_batch("CREATE TABLE t (x integer)")
        .await
        .unwrap();
    let result = db.run(Access::Atomic, panics_when_dropped()).await;
    assert!(result.is_err(), "{result:?}");
    db.execute_batch("INSERT INTO t VALUES (2)").await.unwrap();
    let other = Database::connect(&format!("sqlite://{}?mode=rw", path.display()))
        .await
        .unwrap();
    assert_eq!(
        count_rows(&other, "t").await,
        1,
        "only the later insert, committed"
    );
    // Inside a transaction: the savepoint is rolled back, the transaction commits without it.
    let tx = db.begin().await.unwrap();
    assert!(tx.run(Access::Atomic, panics_when_dropped()).await.is_err());
    tx.commit().await.unwrap();
    assert_eq!(count_rows(&other, "t").await, 1);
    drop(other);
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

/// On PostgreSQL a failed statement aborts the transaction, and `COMMIT` then silently
/// rolls back: an operation that handled such an error and returned Ok gets
/// `TransactionAborted`, not a success that stored nothing.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_commit_of_an_aborted_postgresql_transaction_is_an_error() {
    let url = std::env::var("THROUGHLINE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = match Database::connect(&url).await {
        Ok(db) => db,
        Err(error) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL at {url} is unreachable in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED (PostgreSQL unreachable at {url}: {error})");
            return;
        }
    };
    let table = format!("bridge_aborted_{}", std::process::id());
    db.execute_batch(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (x integer)"
    ))
    .await
    .unwrap();
    let insert = format!("INSERT INTO {table} VALUES (1)");
    let bad = format!("INSERT INTO {table} VALUES ('not a number')");
    let result: Result<(), Error> = db
        .run(
            Access::Atomic,
            op(move |conn: &mut dyn Conn| {
                Box::pin(async move {
                    conn.execute(&Statement::new(insert, vec![])).await?;
                    assert!(conn.execute(&Statement::new(bad, vec![])).await.is_err());
                    Ok(())
                })
            }),
        )
        .await;
    assert!(
        matches!(result, Err(Error::TransactionAborted { .. })),
        "{result:?}"
    );
    let n = count_rows(&db, &table).await;
    assert_eq!(n, 0);
    db.execute_batch(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
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
