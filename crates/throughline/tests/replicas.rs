//! Read replicas (issue 19), against a real PostgreSQL streaming replica (`.ci/replica.sh`
//! starts one on port 5433; `THROUGHLINE_REPLICA_URL` names another): plain reads go to
//! the replica, writes and transactions to the primary, and relation writes read the links
//! they compare with on the primary, so a replica that lags (replay paused) cannot make
//! `set` keep a link it should remove or `add` report a pair it did not write (Django's
//! ticket #33641).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::*;
use std::time::Duration;
use throughline::prelude::*;
use throughline::{Backend, Value};

fn grade(g: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    }
}

fn replica_url() -> String {
    std::env::var("THROUGHLINE_REPLICA_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5433/test".to_owned())
}

fn primary_url() -> String {
    std::env::var("THROUGHLINE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with `search_path` set to `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}search_path={schema}")
}

/// A scalar read by raw SQL.
async fn scalar(db: &Database, sql: &str) -> Value {
    throughline::raw::rows(db, sql, vec![])
        .await
        .unwrap()
        .remove(0)
        .remove(0)
}

/// Waits until the replica has replayed everything the primary wrote so far.
async fn caught_up(primary: &Database, replica: &Database) {
    let target = scalar(primary, "SELECT pg_current_wal_lsn()::text").await;
    let target = target.display();
    for _ in 0..200 {
        let done = scalar(
            replica,
            &format!("SELECT (pg_last_wal_replay_lsn() >= '{target}'::pg_lsn)::int"),
        )
        .await;
        if done.as_i64() == Some(1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the replica did not replay up to {target}");
}

/// The replica, or `None` outside CI when none answers (a failure in CI).
async fn replica(schema: &str) -> Option<Database> {
    match Database::connect(&in_schema(&replica_url(), schema)).await {
        Ok(db) => match throughline::raw::rows(&db, "SELECT pg_is_in_recovery()", vec![]).await {
            Ok(rows) if rows[0][0] == Value::Bool(true) => Some(db),
            other => panic!("{} is not a replica: {other:?}", replica_url()),
        },
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "the replica at {} is unreachable in CI: {error}",
                    replica_url()
                );
            }
            eprintln!(
                "SKIPPED (no replica at {}: {error}): replicas",
                replica_url()
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_relation_writes_to_the_primary() {
    let admin = Database::connect(&primary_url()).await.unwrap();
    let schema = format!("t_replicas_{}", std::process::id());
    admin
        .execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let primary = Database::connect(&in_schema(&primary_url(), &schema))
        .await
        .unwrap();
    let Some(replica) = replica(&schema).await else {
        return;
    };
    // Replay runs again whatever happened to an earlier run.
    scalar(&replica, "SELECT pg_wal_replay_resume()::text").await;
    let steps = {
        let (primary, replica) = (primary.clone(), replica.clone());
        tokio::spawn(async move { scenario(primary, replica).await })
    };
    let outcome = steps.await;
    // Whatever the scenario did, the replica replays again.
    scalar(&replica, "SELECT pg_wal_replay_resume()::text").await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
    admin
        .execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

async fn scenario(primary: Database, replica: Database) {
    assert_eq!(primary.backend(), Backend::Postgres);
    let db = primary.with_replicas([replica.clone()]).unwrap();
    assert_eq!(db.replica_count(), 1);
    common::with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    math.students()
        .add_with([&alice], grade("A"), &db)
        .await
        .unwrap();
    caught_up(&primary, &replica).await;
    assert_eq!(math.students().count(&db).await.unwrap(), 1);

    // The replica stops replaying: it lags from here on.
    scalar(&replica, "SELECT pg_wal_replay_pause()::text").await;
    let carol = student("carol").create(&db).await.unwrap();
    let named_carol = || Student::objects().filter(Student::NAME.eq("carol"));
    // A plain read goes to the replica, which has not seen carol...
    assert_eq!(named_carol().count(&db).await.unwrap(), 0);
    // ...the primary has; a transaction reads its own writes on the primary.
    assert_eq!(named_carol().count(&db.primary()).await.unwrap(), 1);
    let tx = db.begin().await.unwrap();
    assert_eq!(named_carol().count(&tx).await.unwrap(), 1);
    tx.rollback().await.unwrap();

    // Relation writes read the links they compare with on the primary.
    let added = math
        .students()
        .add_with([&bob], grade("B"), &db)
        .await
        .unwrap();
    assert_eq!(added.linked, [bob.pk_value()]);
    let again = math
        .students()
        .add_with([&bob], grade("C"), &db)
        .await
        .unwrap();
    assert_eq!(again.already_linked, [bob.pk_value()], "{again:?}");
    assert_eq!(
        again.differing.len(),
        1,
        "the stored B is read, not a stale row"
    );
    // The replica does not know bob's link; a set read there would keep it.
    let outcome = math
        .students()
        .set_with([&alice, &carol], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(outcome.kept, [alice.pk_value()]);
    assert_eq!(outcome.added.linked, [carol.pk_value()]);
    assert_eq!(outcome.removed.len(), 1, "bob's link is removed");
    assert_eq!(outcome.removed[0].student.key(), &bob.pk_value());
    let removed = math.students().remove([&carol], &db).await.unwrap();
    assert_eq!(removed.len(), 1);
    let on_primary: Vec<String> = math
        .students()
        .query()
        .unwrap()
        .order_by([Student::NAME.asc()])
        .values_list(Student::NAME, &db.primary())
        .await
        .unwrap();
    assert_eq!(on_primary, ["alice"]);
    // The lagging replica still shows the first state.
    assert_eq!(math.students().count(&db).await.unwrap(), 1);
    assert_eq!(named_carol().count(&db).await.unwrap(), 0);

    // Replay resumes: the replica catches up.
    scalar(&replica, "SELECT pg_wal_replay_resume()::text").await;
    caught_up(&primary, &replica).await;
    assert_eq!(named_carol().count(&db).await.unwrap(), 1);
    let names: Vec<String> = math
        .students()
        .query()
        .unwrap()
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(names, ["alice"]);
    // A replica of another backend is refused.
    let sqlite = Database::connect("sqlite::memory:").await.unwrap();
    assert!(primary.with_replicas([sqlite]).is_err());
}
