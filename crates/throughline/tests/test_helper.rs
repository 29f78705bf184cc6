//! The test helper (issue 18): `#[throughline::test]` gives each test a fresh database
//! with the application's migrations or a registry's tables; `TestDatabase` isolates tests
//! on a server (a schema of their own on PostgreSQL, a database on MySQL), dropped when the
//! test passes and kept when it fails.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::Value;
use throughline::migrations::EmbeddedMigrations;
use throughline::prelude::*;
use throughline::testing::{Setup, TestDatabase};

#[derive(Debug, Clone, Model)]
pub struct Note {
    pub id: Option<i64>,
    #[throughline(max_length = 200)]
    pub body: String,
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(Note::meta());
    registry
}

static MIGRATIONS: EmbeddedMigrations =
    throughline::embed_migrations!("tests/fixtures/test_helper_migrations");

#[throughline::test(tables = registry)]
async fn tables_are_created(db: Database) -> throughline::Result<()> {
    Note {
        id: None,
        body: "first".into(),
    }
    .create(&db)
    .await?;
    assert_eq!(Note::objects().count(&db).await?, 1);
    Ok(())
}

#[throughline::test(migrations = MIGRATIONS)]
async fn migrations_are_applied(db: Database) {
    let files = MIGRATIONS.load().unwrap();
    let status = throughline::migrations::status(&db, &files).await.unwrap();
    assert_eq!(status, vec![("0001_initial".to_owned(), true)]);
    Note {
        id: None,
        body: "migrated".into(),
    }
    .create(&db)
    .await
    .unwrap();
}

#[throughline::test]
async fn an_empty_database_has_no_tables(db: Database) {
    let tables = throughline::migrations::read_schema(&db).await.unwrap();
    assert!(tables.is_empty(), "{tables:?}");
}

/// `name`'s current schema (PostgreSQL) or database (MySQL).
async fn own_namespace(db: &Database) -> String {
    let sql = match db.backend() {
        throughline::Backend::Postgres => "SELECT current_schema()::text",
        _ => "SELECT DATABASE()",
    };
    match &throughline::raw::rows(db, sql, vec![]).await.unwrap()[0][0] {
        Value::String(name) => name.clone(),
        other => panic!("{other:?}"),
    }
}

async fn namespace_exists(server: &Database, name: &str) -> bool {
    let sql = match server.backend() {
        throughline::Backend::Postgres => {
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1"
        }
        _ => "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?",
    };
    let rows = throughline::raw::rows(server, sql, vec![Value::from(name)])
        .await
        .unwrap();
    rows[0][0].as_i64() == Some(1)
}

/// Two tests on one server see only their own rows; a passed test's namespace is dropped,
/// a failed one's kept.
async fn isolated_on(url: &str) {
    let server = Database::connect(url).await.unwrap();
    let a = TestDatabase::at(Some(url), "helper::isolated_a", Setup::Tables(&registry()))
        .await
        .unwrap();
    let b = TestDatabase::at(
        Some(url),
        "helper::isolated_b",
        Setup::Migrations(&MIGRATIONS),
    )
    .await
    .unwrap();
    Note {
        id: None,
        body: "only in a".into(),
    }
    .create(a.db())
    .await
    .unwrap();
    assert_eq!(Note::objects().count(a.db()).await.unwrap(), 1);
    assert_eq!(Note::objects().count(b.db()).await.unwrap(), 0);
    let (a_name, b_name) = (own_namespace(a.db()).await, own_namespace(b.db()).await);
    assert!(a_name.starts_with("t_isolated_a_"), "{a_name}");
    assert_ne!(a_name, b_name);
    a.close().await.unwrap();
    b.close().await.unwrap();
    assert!(!namespace_exists(&server, &a_name).await);
    assert!(!namespace_exists(&server, &b_name).await);

    // Through the runner (on a thread of its own: it starts its own runtime): a passing
    // test's namespace is dropped, a failing one's kept for a look (`.ci/run` drops the
    // `t_*` leftovers).
    let passed = run_recording(url, "helper::passes", false);
    assert!(!namespace_exists(&server, &passed).await, "{passed}");
    let failed = run_recording(url, "helper::fails", true);
    assert!(namespace_exists(&server, &failed).await, "{failed}");
}

/// Runs a test through `run_at` on `url`, failing it when asked; returns its namespace.
fn run_recording(url: &str, name: &'static str, fail: bool) -> String {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let recorded = seen.clone();
    let url = url.to_owned();
    let outcome = std::thread::spawn(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            throughline::testing::run_at(Some(&url), name, Setup::Empty, |db| async move {
                *recorded.lock().unwrap() = own_namespace(&db).await;
                assert!(!fail, "the test failed");
            });
        }))
    })
    .join()
    .unwrap();
    assert_eq!(outcome.is_err(), fail);
    seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tests_get_a_schema_of_their_own() {
    if common::postgres("helper::probe").await.is_some() {
        isolated_on(&common::postgres_url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_tests_get_a_database_of_their_own() {
    if common::mysql("helper::probe").await.is_some() {
        isolated_on(&common::mysql_url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_urls_own_schema_or_database_is_replaced() {
    // PostgreSQL: a search_path in the URL does not win over the test's schema.
    if common::postgres("helper::probe_pg").await.is_some() {
        let url = common::postgres_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let with_path = format!("{url}{separator}search_path=public");
        let test = TestDatabase::at(
            Some(&with_path),
            "helper::pg_path",
            Setup::Tables(&registry()),
        )
        .await
        .unwrap();
        assert!(own_namespace(test.db()).await.starts_with("t_pg_path_"));
        test.close().await.unwrap();
    }
    // MySQL: a URL without a database names the server only.
    if common::mysql("helper::probe_my").await.is_some() {
        let url = common::mysql_url();
        let server_only = match url
            .find("://")
            .and_then(|s| url[s + 3..].find('/').map(|p| s + 3 + p))
        {
            Some(end) => url[..end].to_owned(),
            None => url.clone(),
        };
        let test = TestDatabase::at(Some(&server_only), "helper::my_bare", Setup::Empty)
            .await
            .unwrap();
        assert!(own_namespace(test.db()).await.starts_with("t_my_bare_"));
        test.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_url_gives_each_test_a_file_of_its_own() {
    let a = TestDatabase::at(
        Some("sqlite://shared.db"),
        "helper::file_a",
        Setup::Tables(&registry()),
    )
    .await
    .unwrap();
    let b = TestDatabase::at(
        Some("sqlite://shared.db"),
        "helper::file_b",
        Setup::Tables(&registry()),
    )
    .await
    .unwrap();
    Note {
        id: None,
        body: "a".into(),
    }
    .create(a.db())
    .await
    .unwrap();
    assert_eq!(Note::objects().count(b.db()).await.unwrap(), 0);
    a.close().await.unwrap();
    b.close().await.unwrap();
    assert!(!std::path::Path::new("shared.db").exists());
}
