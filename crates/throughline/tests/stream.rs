//! `QuerySet::stream` (issue 17): every row, in the queryset's order, read in batches
//! (statement counts per backend: one statement on SQLite and MySQL, a cursor on
//! PostgreSQL), inside a transaction, with `select_related`, errors in order, and a
//! dropped stream giving its connection back. Memory is measured by the benchmark program
//! (`throughline-bench --only STREAM`), not here.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::prelude::*;
use throughline::{Backend, Error};

#[derive(Debug, Clone, Model)]
pub struct Sensor {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct Reading {
    pub id: Option<i64>,
    #[throughline(related_name = "readings")]
    pub sensor: ForeignKey<Sensor>,
    pub value: i64,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Sensor::meta()).register(Reading::meta());
    r
}

/// `n` readings of one sensor, values 0..n, inserted in a shuffled order.
async fn readings(db: &Database, n: i64) -> Sensor {
    throughline::create_tables(db, &registry()).await.unwrap();
    let sensor = Sensor {
        id: None,
        name: "s1".into(),
    }
    .create(db)
    .await
    .unwrap();
    let rows = (0..n)
        .map(|i| Reading {
            id: None,
            sensor: ForeignKey::to(&sensor),
            value: (i * 7919) % n,
        })
        .collect();
    Reading::objects()
        .bulk_create(rows, Conflict::Error, db)
        .await
        .unwrap();
    sensor
}

backend_tests!(
    every_row_in_order_in_batches,
    a_stream_inside_a_transaction_sees_its_rows,
    select_related_rows_are_loaded_per_batch,
    errors_come_through_the_stream,
    a_dropped_stream_gives_its_connection_back,
    queries_inside_the_loop_do_not_wait_for_the_stream,
    a_transaction_stays_usable_inside_the_loop,
);

async fn every_row_in_order_in_batches(db: Database) {
    readings(&db, 2_500).await;
    let counting = Counting::new(&db);
    let mut stream = Reading::objects()
        .order_by([Reading::VALUE.asc()])
        .stream_in_batches(1_000, &counting);
    let mut expected = 0;
    while let Some(reading) = stream.next().await {
        assert_eq!(reading.unwrap().value, expected);
        expected += 1;
    }
    assert_eq!(expected, 2_500);
    drop(stream);
    // One statement as the caller sees it, whatever the number of rows.
    let statements = counting.statements();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    if db.backend() == Backend::Postgres {
        // Mid-stream, the reading connection's last statement is a FETCH of its cursor.
        let mut stream = Reading::objects().stream_in_batches(100, &db);
        stream.next().await.unwrap().unwrap();
        let fetching = throughline::raw::rows(
            &db,
            "SELECT query FROM pg_stat_activity WHERE query LIKE 'FETCH FORWARD 100 FROM %' \
             AND datname = current_database()",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(fetching.len(), 1, "{fetching:?}");
    }
    // Filters, slices and a batch of one apply as in all().
    let sliced: Vec<i64> = Reading::objects()
        .filter(Reading::VALUE.lt(10))
        .order_by([Reading::VALUE.desc()])
        .limit(3)
        .stream_in_batches(1, &db)
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(sliced, [9, 8, 7]);
    // An empty result is an empty stream.
    let none = Reading::objects()
        .filter(Reading::VALUE.lt(0))
        .stream(&db)
        .collect_all()
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn a_stream_inside_a_transaction_sees_its_rows(db: Database) {
    let sensor = readings(&db, 10).await;
    let tx = db.begin().await.unwrap();
    Reading {
        id: None,
        sensor: ForeignKey::to(&sensor),
        value: 100,
    }
    .create(&tx)
    .await
    .unwrap();
    let values: Vec<i64> = Reading::objects()
        .order_by([Reading::VALUE.desc()])
        .stream_in_batches(4, &tx)
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(values.len(), 11);
    assert_eq!(values[0], 100);
    // The transaction is still usable after the stream.
    assert_eq!(Reading::objects().count(&tx).await.unwrap(), 11);
    tx.rollback().await.unwrap();
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 10);
}

async fn select_related_rows_are_loaded_per_batch(db: Database) {
    readings(&db, 25).await;
    let mut stream = Reading::objects()
        .select_related(Reading::SENSOR)
        .order_by([Reading::VALUE.asc()])
        .stream_in_batches(10, &db);
    let mut seen = 0;
    while let Some(reading) = stream.next().await {
        let reading = reading.unwrap();
        // Loaded with the row: no query (the stream holds the only statement).
        assert_eq!(reading.sensor.loaded().unwrap().name, "s1");
        seen += 1;
    }
    assert_eq!(seen, 25);
}

async fn errors_come_through_the_stream(db: Database) {
    readings(&db, 5).await;
    // A locking read outside a transaction is refused, as by all().
    let mut stream = Reading::objects().select_for_update().stream(&db);
    let first = stream.next().await;
    assert!(
        matches!(first, Some(Err(Error::InvalidQuery { .. }))),
        "{first:?}"
    );
    assert!(stream.next().await.is_none());
    // A statement the database refuses: the error, then the end.
    let mut broken = Reading::objects().filter(Reading::VALUE.gt(0)).stream(&db);
    throughline::raw::execute(&db, r#"DROP TABLE "reading""#, vec![])
        .await
        .unwrap();
    let first = broken.next().await;
    assert!(matches!(first, Some(Err(_))), "{first:?}");
    assert!(broken.next().await.is_none());
}

async fn a_dropped_stream_gives_its_connection_back(db: Database) {
    readings(&db, 3_000).await;
    for _ in 0..20 {
        let mut stream = Reading::objects().stream_in_batches(100, &db);
        let first = stream.next().await.unwrap().unwrap();
        assert!(first.value >= 0);
        drop(stream);
    }
    // The pool still serves reads and writes.
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 3_000);
    Reading::objects()
        .filter(Reading::VALUE.lt(100))
        .delete(&db)
        .await
        .unwrap();
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 2_900);
}

/// Statements on the same pool while a stream is open: the stream never holds the
/// connection they need (SQLite: another reader, or all rows read first on the writer).
async fn queries_inside_the_loop_do_not_wait_for_the_stream(db: Database) {
    let sensor = readings(&db, 100).await;
    let mut stream = Reading::objects()
        .order_by([Reading::VALUE.asc()])
        .stream_in_batches(10, &db);
    let mut seen = 0;
    while let Some(reading) = stream.next().await {
        let reading = reading.unwrap();
        if reading.value % 20 == 0 {
            // A read and a write from the loop.
            assert_eq!(Sensor::objects().count(&db).await.unwrap(), 1);
            Reading {
                id: None,
                sensor: ForeignKey::to(&sensor),
                value: 1_000 + reading.value,
            }
            .create(&db)
            .await
            .unwrap();
        }
        seen += 1;
    }
    assert!(seen >= 100, "{seen}");
}

/// The transaction a stream reads from is usable in its loop, and after leaving it early.
async fn a_transaction_stays_usable_inside_the_loop(db: Database) {
    readings(&db, 50).await;
    let tx = db.begin().await.unwrap();
    let mut stream = Reading::objects()
        .order_by([Reading::VALUE.asc()])
        .stream_in_batches(10, &tx);
    let mut seen = 0;
    while let Some(reading) = stream.next().await {
        reading.unwrap();
        assert_eq!(Reading::objects().count(&tx).await.unwrap(), 50);
        seen += 1;
        if seen == 25 {
            break;
        }
    }
    drop(stream);
    Reading::objects()
        .filter(Reading::VALUE.lt(10))
        .delete(&tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_streams_leave_a_reader_free() {
    let (db, dir) = common::sqlite_file("stream_readers").await;
    readings(&db, 300).await;
    // Two streams hold both readers; reads in the loop go to the writer.
    let mut first = Reading::objects().stream_in_batches(10, &db);
    let mut second = Reading::objects().stream_in_batches(10, &db);
    let mut seen = 0;
    while let (Some(a), Some(b)) = (first.next().await, second.next().await) {
        a.unwrap();
        b.unwrap();
        seen += 1;
        if seen % 50 == 0 {
            assert_eq!(Reading::objects().count(&db).await.unwrap(), 300);
        }
    }
    assert_eq!(seen, 300);
    drop((first, second));
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_streams_of_two_models_on_one_connection() {
    let options = throughline::PgOptions {
        max_size: 1,
        ..Default::default()
    };
    let Some(db) = common::postgres_with("stream_two_models", options).await else {
        return;
    };
    readings(&db, 30).await;
    // The FETCH of one cursor must not be reused for the other's columns.
    for _ in 0..3 {
        let sensors = Sensor::objects().stream(&db).collect_all().await.unwrap();
        assert_eq!(sensors[0].name, "s1");
        let readings = Reading::objects()
            .order_by([Reading::VALUE.asc()])
            .stream_in_batches(7, &db)
            .collect_all()
            .await
            .unwrap();
        assert_eq!(readings.len(), 30);
        assert_eq!(readings[29].value, 29);
    }
}
