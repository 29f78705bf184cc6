//! Test support: a fresh database per test on every backend, and the models the tests use.
#![allow(dead_code, missing_docs)]

pub mod models;

use throughline::{Database, PgOptions, Registry};

/// The PostgreSQL URL: `THROUGHLINE_POSTGRES_URL`, default the CI machine's.
pub fn postgres_url() -> String {
    std::env::var("THROUGHLINE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh in-memory SQLite database.
pub async fn sqlite() -> Database {
    Database::connect("sqlite::memory:")
        .await
        .expect("open sqlite")
}

/// A fresh SQLite file database (WAL, readers beside the writer) in a temporary folder.
pub async fn sqlite_file(name: &str) -> (Database, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("throughline-test-{}-{}", std::process::id(), name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("test.db");
    let db = Database::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("open sqlite file");
    (db, dir)
}

/// The name of a test's own schema (PostgreSQL) or database (MariaDB): `t_`, a readable
/// prefix of the test's name, a hash of the whole name and the process id, within the
/// 63 bytes PostgreSQL keeps (MySQL keeps 64). `.ci/run` drops the `t_*` leftovers.
fn database_name(test: &str) -> String {
    let readable: String = test
        .rsplit("::")
        .next()
        .unwrap_or(test)
        .chars()
        .take(32)
        .collect();
    let hash = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("t_{readable}_{:08x}_{}", hash as u32, std::process::id())
}

/// A PostgreSQL database on a fresh schema, or `None` (with a message) when PostgreSQL is
/// unreachable outside CI. In CI (`CI=true`) an unreachable PostgreSQL fails the test.
pub async fn postgres(test: &str) -> Option<Database> {
    isolated(&postgres_url(), "PostgreSQL", test).await
}

/// A database of `test`'s own on the server of `url`, made by the public test helper
/// (`throughline::testing::TestDatabase`: a schema on PostgreSQL, a database on MySQL),
/// or `None` (with a message) when the server is unreachable outside CI; in CI
/// (`CI=true`) an unreachable server fails the test. The namespace is left behind for a
/// look (`.ci/run` drops the `t_*` leftovers).
async fn isolated(url: &str, server: &str, test: &str) -> Option<Database> {
    use throughline::testing::{Setup, TestDatabase};
    match TestDatabase::at(Some(url), test, Setup::Empty).await {
        Ok(own) => Some(own.db().clone()),
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{server} at {url} is unreachable in CI: {error}");
            }
            // Written past the test harness's capture, so the skip is always visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED ({server} unreachable at {url}: {error}): {test}"
            );
            None
        }
    }
}

/// [`postgres`] with explicit pool options.
pub async fn postgres_with(test: &str, options: PgOptions) -> Option<Database> {
    postgres_with_settings(test, options, "").await
}

/// [`postgres_with`] on connections that start with extra server settings
/// (`-c TimeZone=America/New_York ...`).
pub async fn postgres_with_settings(
    test: &str,
    options: PgOptions,
    settings: &str,
) -> Option<Database> {
    let url = postgres_url();
    let config: throughline::__private::PgConfig =
        url.parse().expect("valid THROUGHLINE_POSTGRES_URL");
    let admin = match config.connect(throughline::__private::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {url} is unreachable in CI: {error}");
            }
            // Written past the test harness's capture, so the skip is always visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (PostgreSQL unreachable at {url}: {error}): {test}"
            );
            return None;
        }
    };
    let schema = database_name(test);
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .expect("create test schema");
    let mut config = config;
    config.options(format!("-c search_path={schema} {settings}").trim_end());
    Some(Database::open_postgres(config, &options).expect("pool"))
}

/// The MySQL/MariaDB URL: `THROUGHLINE_MYSQL_URL`, default the CI machine's MariaDB.
pub fn mysql_url() -> String {
    std::env::var("THROUGHLINE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// A MySQL/MariaDB database of its own (created fresh), or `None` (with a message) when
/// the server is unreachable outside CI. In CI (`CI=true`) an unreachable server fails
/// the test.
pub async fn mysql(test: &str) -> Option<Database> {
    isolated(&mysql_url(), "MySQL/MariaDB", test).await
}

/// A registry of the test models with their tables created.
pub async fn with_tables(db: &Database) -> Registry {
    let registry = models::registry();
    throughline::create_tables(db, &registry)
        .await
        .expect("create tables");
    registry
}

/// Runs a test body once per backend: `backend_tests!(name);` defines `name::sqlite`,
/// `name::postgres` and `name::mysql` (MariaDB), each on its own fresh database.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::sqlite().await;
                super::$name(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::common::postgres(concat!(module_path!(), "::", stringify!($name))).await {
                    super::$name(db).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(db) = $crate::common::mysql(concat!(module_path!(), "::", stringify!($name))).await {
                    super::$name(db).await;
                }
            }
        }
    )*};
}
