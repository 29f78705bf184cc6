//! Owns the test helper: [`TestDatabase`], a fresh database for one test, and the runner
//! behind the [`#[throughline::test]`](crate::test) attribute (as `#[sqlx::test]`).
//!
//! The database is SQLite in memory, unless `THROUGHLINE_TEST_DATABASE_URL` names another:
//! on PostgreSQL each test gets a schema of its own (`t_<test>_<hash>_<pid>_<random>`, the
//! search path of every connection of its pool, replacing the URL's), on MySQL/MariaDB a
//! database of its own, with a `sqlite://` URL a file of its own in the temporary folder;
//! each is dropped when the test passes and kept for a look when it fails. The tables
//! come from the application's migrations ([`EmbeddedMigrations`]) or straight from a
//! registry ([`create_tables`](crate::create_tables)).
//!
//! ```
//! use throughline::Executor;
//! use throughline::testing::{Setup, TestDatabase};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! let test = TestDatabase::new("doc::testing", Setup::Empty).await?;
//! throughline::raw::execute(test.db(), "CREATE TABLE t (x integer)", vec![]).await?;
//! assert!(!test.db().in_transaction());
//! test.close().await?; // a server's schema is dropped; SQLite in memory just goes away
//! # Ok(()) }
//! ```

use crate::{Database, Executor};
use std::future::Future;
use throughline_core::{Backend, Registry, Result};
use throughline_migrate::EmbeddedMigrations;

/// The environment variable naming the server tests run on (default: SQLite in memory).
///
/// ```
/// use throughline::testing::DATABASE_URL_VARIABLE;
/// assert_eq!(DATABASE_URL_VARIABLE, "THROUGHLINE_TEST_DATABASE_URL");
/// // e.g. THROUGHLINE_TEST_DATABASE_URL=postgres://localhost/test cargo test
/// let on_a_server = std::env::var(DATABASE_URL_VARIABLE).is_ok();
/// # let _ = on_a_server;
/// ```
pub const DATABASE_URL_VARIABLE: &str = "THROUGHLINE_TEST_DATABASE_URL";

/// What a test's database holds before the test starts.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// use throughline::testing::{Setup, TestDatabase};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let mut registry = Registry::new();
/// registry.register(Tag::meta());
/// let empty = TestDatabase::new("doc::setup_empty", Setup::Empty).await?;
/// assert!(Tag::objects().count(empty.db()).await.is_err()); // no table
/// let tables = TestDatabase::new("doc::setup_tables", Setup::Tables(&registry)).await?;
/// assert_eq!(Tag::objects().count(tables.db()).await?, 0);
/// # empty.close().await?; tables.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Setup<'a> {
    /// Nothing: the test creates what it needs.
    Empty,
    /// The tables of a registry's models ([`create_tables`](crate::create_tables)).
    Tables(&'a Registry),
    /// The application's migrations, all applied.
    Migrations(&'a EmbeddedMigrations),
}

/// A fresh database for one test.
///
/// ```
/// # use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// use throughline::testing::{Setup, TestDatabase};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// let mut registry = Registry::new();
/// registry.register(Tag::meta());
/// let test = TestDatabase::new("tags::create", Setup::Tables(&registry)).await?;
/// Tag { id: None, name: "rust".into() }.create(test.db()).await?;
/// assert_eq!(Tag::objects().count(test.db()).await?, 1);
/// test.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TestDatabase {
    db: Database,
    /// How the test's schema, database or file goes away.
    cleanup: Option<Cleanup>,
}

/// How a test's own namespace is removed.
#[derive(Debug)]
enum Cleanup {
    /// The server connection that created the schema or database, and the statement that
    /// drops it.
    Drop(Database, String),
    /// A SQLite file (and its WAL files).
    RemoveFile(std::path::PathBuf),
}

impl TestDatabase {
    /// A database for test `name` (unique within the process, e.g. its module path) on
    /// `THROUGHLINE_TEST_DATABASE_URL`, else SQLite in memory, holding `setup`.
    ///
    /// ```
    /// use throughline::testing::{Setup, TestDatabase};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// let a = TestDatabase::new("doc::new_a", Setup::Empty).await?;
    /// let b = TestDatabase::new("doc::new_b", Setup::Empty).await?;
    /// throughline::raw::execute(a.db(), "CREATE TABLE t (x integer)", vec![]).await?;
    /// // Each test has its own database: b has no table t.
    /// assert!(throughline::raw::execute(b.db(), "INSERT INTO t VALUES (1)", vec![]).await.is_err());
    /// # a.close().await?; b.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(name: &str, setup: Setup<'_>) -> Result<TestDatabase> {
        let url = std::env::var(DATABASE_URL_VARIABLE).ok();
        TestDatabase::at(url.as_deref(), name, setup).await
    }

    /// [`TestDatabase::new`] on the server of `url` (`None`: SQLite in memory).
    ///
    /// ```
    /// use throughline::Executor;
    /// use throughline::testing::{Setup, TestDatabase};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// let test = TestDatabase::at(None, "empty", Setup::Empty).await?;
    /// assert_eq!(test.db().backend(), throughline::Backend::Sqlite);
    /// # Ok(()) }
    /// ```
    pub async fn at(url: Option<&str>, name: &str, setup: Setup<'_>) -> Result<TestDatabase> {
        let test = match url {
            None => TestDatabase {
                db: Database::connect("sqlite::memory:").await?,
                cleanup: None,
            },
            Some(url) => TestDatabase::on_server(url, name).await?,
        };
        match setup {
            Setup::Empty => {}
            Setup::Tables(registry) => crate::create_tables(&test.db, registry).await?,
            Setup::Migrations(migrations) => {
                let files = migrations.load()?;
                throughline_migrate::migrate(&test.db, &files, None).await?;
            }
        }
        Ok(test)
    }

    async fn on_server(url: &str, name: &str) -> Result<TestDatabase> {
        let own = own_name(name);
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        if base.starts_with("sqlite:") {
            // A file of the test's own beside the others, removed with the test.
            let path = std::env::temp_dir().join(format!("{own}.db"));
            let db = Database::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
            return Ok(TestDatabase {
                db,
                cleanup: Some(Cleanup::RemoveFile(path)),
            });
        }
        let server = Database::connect(url).await?;
        match server.backend() {
            Backend::Postgres => {
                server
                    .execute_batch(&format!(
                        "DROP SCHEMA IF EXISTS {own} CASCADE; CREATE SCHEMA {own}"
                    ))
                    .await?;
                // The test's schema replaces any search_path of the URL.
                let mut pairs: Vec<&str> = query
                    .split('&')
                    .filter(|pair| !pair.is_empty() && !pair.starts_with("search_path="))
                    .collect();
                let search_path = format!("search_path={own}");
                pairs.push(&search_path);
                let db = Database::connect(&format!("{base}?{}", pairs.join("&"))).await?;
                Ok(TestDatabase {
                    db,
                    cleanup: Some(Cleanup::Drop(
                        server,
                        format!("DROP SCHEMA IF EXISTS {own} CASCADE"),
                    )),
                })
            }
            _ => {
                server
                    .execute_batch(&format!(
                        "DROP DATABASE IF EXISTS {own}; CREATE DATABASE {own} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                    ))
                    .await?;
                // scheme://user@host:port[/database]: the test's database replaces the URL's.
                let authority_end = base
                    .find("://")
                    .map(|scheme| scheme + 3)
                    .and_then(|start| base[start..].find('/').map(|slash| start + slash))
                    .unwrap_or(base.len());
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                let db =
                    Database::connect(&format!("{}/{own}{query}", &base[..authority_end])).await?;
                Ok(TestDatabase {
                    db,
                    cleanup: Some(Cleanup::Drop(
                        server,
                        format!("DROP DATABASE IF EXISTS {own}"),
                    )),
                })
            }
        }
    }

    /// The database.
    ///
    /// ```
    /// use throughline::Executor;
    /// use throughline::testing::{Setup, TestDatabase};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// let test = TestDatabase::new("doc::db", Setup::Empty).await?;
    /// let db: &throughline::Database = test.db();
    /// let rows = throughline::raw::execute(db, "CREATE TABLE t (x integer)", vec![]).await?;
    /// assert_eq!(rows, 0);
    /// # test.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Drops the test's schema or database (nothing to do for SQLite in memory).
    ///
    /// ```
    /// use throughline::testing::{Setup, TestDatabase};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// let test = TestDatabase::new("doc::close", Setup::Empty).await?;
    /// throughline::raw::execute(test.db(), "CREATE TABLE t (x integer)", vec![]).await?;
    /// test.close().await?; // consumes it: the database cannot be used afterwards
    /// # Ok(()) }
    /// ```
    pub async fn close(self) -> Result<()> {
        let TestDatabase { db, cleanup } = self;
        drop(db);
        match cleanup {
            Some(Cleanup::Drop(server, drop_sql)) => server.execute_batch(&drop_sql).await?,
            Some(Cleanup::RemoveFile(path)) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// A schema or database name for test `name`: `t_`, a readable part of the name, a hash
/// of all of it, the process id and a random part, within the 63 bytes PostgreSQL keeps.
fn own_name(name: &str) -> String {
    let readable: String = name
        .rsplit("::")
        .next()
        .unwrap_or(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // The process id and a random part: parallel CI jobs may share a server and a pid.
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "t_{readable}_{:08x}_{}_{}",
        hash as u32,
        std::process::id(),
        &random[..6]
    )
}

/// What a test body may return: nothing, or a `Result` whose error fails the test.
///
/// ```
/// use throughline::testing::TestOutcome;
/// ().check(); // a body returning nothing passes
/// Ok::<(), throughline::Error>(()).check();
/// let failed = std::panic::catch_unwind(|| Err::<(), _>("no such row").check());
/// assert!(failed.is_err()); // an error fails the test
/// ```
pub trait TestOutcome {
    /// Fails the test (panics) on an error.
    ///
    /// ```should_panic
    /// use throughline::testing::TestOutcome;
    /// Err::<(), _>(throughline::Error::DoesNotExist { model: "Tag".into() }).check();
    /// ```
    fn check(self);
}

impl TestOutcome for () {
    fn check(self) {}
}

impl<E: std::fmt::Debug> TestOutcome for std::result::Result<(), E> {
    fn check(self) {
        if let Err(error) = self {
            panic!("the test returned an error: {error:?}");
        }
    }
}

/// Runs test `name`'s `body` on a fresh [`TestDatabase`] holding `setup`, on a tokio
/// runtime of its own; drops the database when the body returns, keeps it when the body
/// panics or fails. What the [`#[throughline::test]`](crate::test) attribute calls.
///
/// ```
/// use throughline::testing::{Setup, run};
/// run("doc::runs", Setup::Empty, |db| async move {
///     throughline::raw::execute(&db, "CREATE TABLE t (x integer)", vec![]).await
///         .map(|_| ())
/// });
/// ```
pub fn run<F, Fut, O>(name: &str, setup: Setup<'_>, body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = O>,
    O: TestOutcome,
{
    let url = std::env::var(DATABASE_URL_VARIABLE).ok();
    run_at(url.as_deref(), name, setup, body);
}

/// [`run`] on the server of `url` (`None`: SQLite in memory) rather than the one the
/// environment names.
///
/// ```
/// use throughline::Executor;
/// use throughline::testing::{Setup, run_at};
/// run_at(None, "doc::runs_at", Setup::Empty, |db| async move {
///     assert_eq!(db.backend(), throughline::Backend::Sqlite);
/// });
/// ```
pub fn run_at<F, Fut, O>(url: Option<&str>, name: &str, setup: Setup<'_>, body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = O>,
    O: TestOutcome,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("cannot start a tokio runtime for {name}: {error}"));
    runtime.block_on(async {
        let test = TestDatabase::at(url, name, setup)
            .await
            .unwrap_or_else(|error| panic!("cannot prepare the database of {name}: {error}"));
        body(test.db().clone()).await.check();
        if let Err(error) = test.close().await {
            panic!("cannot drop the database of {name}: {error}");
        }
    });
}
