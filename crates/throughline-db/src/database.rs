//! Owns [`Database`], the pool a program opens once by URL, and URL parsing.
//!
//! URLs: `sqlite::memory:`; `sqlite://path/to/app.db?mode=rwc` (also `sqlite:app.db`), with
//! `mode=rwc` (create if missing, the default) or `mode=rw`, `synchronous=full|normal`,
//! `busy_timeout_ms=`, `write_timeout_ms=`, `readers=`; `postgres://user@host:port/db`
//! (also `postgresql://`) with tokio-postgres's own options plus `pool_max_size=`,
//! `pool_timeout_ms=`, `sslmode=` and `sslrootcert=` (TLS, [`crate::postgres_tls`]);
//! `mysql://user@host:port/db` (also `mariadb://`) with sqlx's options
//! plus the same two. A URL of a backend whose cargo feature is off is an
//! [`Error::NotSupported`].

use crate::conn::{Access, Op};
use crate::executor::Executor;
use crate::hooks::Hooks;
#[cfg(feature = "mysql")]
use crate::mysql::{MyOptions, MyPool};
#[cfg(feature = "postgres")]
use crate::postgres::{PgOptions, PgPool};
#[cfg(feature = "sqlite")]
use crate::sqlite::{SqliteOptions, SqlitePool};
use crate::transaction::Transaction;
use std::sync::Arc;
use std::time::Duration;
use throughline_core::{Backend, Error, Result};

/// A connection pool to one database. Cheap to clone (shared).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// use throughline_db::{Database, Executor};
/// let db = Database::connect("sqlite::memory:").await?;
/// db.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)").await?;
/// let clone = db.clone(); // the same pool: the same in-memory database
/// assert_eq!(clone.backend(), throughline_core::Backend::Sqlite);
/// clone.execute_batch("INSERT INTO t VALUES (2)").await?; // the table is there
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Pools>,
    /// The relation hooks registered on this database (shared by its clones).
    pub(crate) hooks: Hooks,
    /// Read replicas: plain reads go to them in turn; writes, transactions and the reads
    /// writes depend on stay on `inner`, the primary.
    replicas: Replicas,
}

/// The read replicas of a [`Database`] and whose turn it is.
#[derive(Clone, Default)]
struct Replicas {
    pools: Arc<[Arc<Pools>]>,
    next: Arc<std::sync::atomic::AtomicUsize>,
}

impl Replicas {
    /// The replica for the next read, in turn (`None` without replicas).
    fn pick(&self) -> Option<Arc<Pools>> {
        if self.pools.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.pools.get(turn % self.pools.len()).cloned()
    }
}

/// The concrete pools, one per backend (an enum, not a flattened "any" driver).
pub(crate) enum Pools {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "mysql")]
    Mysql(MyPool),
}

impl Database {
    /// Opens a database by URL. A PostgreSQL server is reached at once (one connection is
    /// opened and checked), so an unreachable server or refused credentials give
    /// [`Error::Connect`] here, naming the host, port and cause. A URL of a backend this
    /// build has no driver for (its cargo feature is off) is an [`Error::NotSupported`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::Executor;
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(db.backend(), throughline_core::Backend::Sqlite);
    /// assert!(throughline_db::Database::connect("oracle://x").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Database> {
        Database::connect_url(url).await
    }

    /// Opens the database named by the `DATABASE_URL` environment variable, as
    /// [`Database::connect`] (the convention of sqlx, Diesel and twelve-factor apps); an
    /// unset or non-UTF-8 variable is an [`Error::Config`] saying so.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// // SAFETY (test): nothing else reads the environment meanwhile.
    /// unsafe { std::env::set_var("DATABASE_URL", "sqlite::memory:") };
    /// let db = throughline_db::Database::from_env().await?;
    /// unsafe { std::env::remove_var("DATABASE_URL") };
    /// assert!(throughline_db::Database::from_env().await.is_err());
    /// # drop(db); Ok(()) }
    /// ```
    pub async fn from_env() -> Result<Database> {
        let url = std::env::var("DATABASE_URL").map_err(|e| {
            Error::Config(format!(
                "DATABASE_URL: {e} (set it to a URL such as sqlite://app.db?mode=rwc, postgres://user@host/db or mysql://user@host/db)"
            ))
        })?;
        Database::connect_url(&url).await
    }

    async fn connect_url(url: &str) -> Result<Database> {
        match url_backend(url)? {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let rest = url.strip_prefix("sqlite:").unwrap_or(url);
                Database::open_sqlite(&parse_sqlite(rest)?)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let (config, options) = parse_postgres(url)?;
                let pool = PgPool::new(config, &options)?;
                pool.check().await?;
                Ok(Database::from_pools(Pools::Postgres(pool)))
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                let (config, options) = parse_mysql(url)?;
                let pool = MyPool::new(config, &options);
                pool.check().await?;
                Ok(Database::from_pools(Pools::Mysql(pool)))
            }
            #[allow(unreachable_patterns)]
            missing => Err(not_compiled(missing)),
        }
    }
}

#[cfg(feature = "sqlite")]
impl Database {
    /// Opens a SQLite database with explicit options.
    ///
    /// ```
    /// let db = throughline_db::Database::open_sqlite(&Default::default()).unwrap();
    /// # drop(db);
    /// ```
    pub fn open_sqlite(options: &SqliteOptions) -> Result<Database> {
        Ok(Database::from_pools(Pools::Sqlite(SqlitePool::open(
            options,
        )?)))
    }
}

#[cfg(feature = "postgres")]
impl Database {
    /// Opens a PostgreSQL pool from a tokio-postgres configuration. Connections open
    /// lazily, on first use (use [`Database::connect`] to check the server at once).
    ///
    /// ```
    /// let config: tokio_postgres::Config = "host=127.0.0.1 user=postgres".parse().unwrap();
    /// let db = throughline_db::Database::open_postgres(config, &Default::default()).unwrap();
    /// # drop(db);
    /// ```
    pub fn open_postgres(config: tokio_postgres::Config, options: &PgOptions) -> Result<Database> {
        Ok(Database::from_pools(Pools::Postgres(PgPool::new(
            config, options,
        )?)))
    }
}

/// Shows the backend (the pools hold connections, not printable state).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// assert_eq!(format!("{db:?}"), "Database { backend: Sqlite }");
/// # Ok(()) }
/// ```
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &crate::Executor::backend(self))
            .finish()
    }
}

impl Database {
    /// A database over `pools`, with no hooks registered.
    fn from_pools(pools: Pools) -> Database {
        Database {
            inner: Arc::new(pools),
            hooks: Hooks::default(),
            replicas: Replicas::default(),
        }
    }

    /// This database (the primary) with read replicas: plain reads (`all`, `get`, `count`,
    /// relation reads, streams) go to the replicas in turn; writes, transactions (and every
    /// read inside one), migrations, and the reads relation writes depend on (the links
    /// `add`, `set` and `remove` compare with) run on the primary, so that a lagging
    /// replica cannot make a write lose data (Django's ticket #33641). The replicas'
    /// hooks are not used: hooks are the primary's. Every replica must be of the
    /// primary's backend.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::Database;
    /// let primary = Database::connect("postgres://app@db-primary/app").await?;
    /// let replica = Database::connect("postgres://app@db-replica/app").await?;
    /// let db = primary.with_replicas([replica])?;
    /// assert_eq!(db.replica_count(), 1);
    /// let fresh = db.primary(); // reads that must see the latest writes
    /// assert_eq!(fresh.replica_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn with_replicas(&self, replicas: impl IntoIterator<Item = Database>) -> Result<Database> {
        let backend = crate::Executor::backend(self);
        let mut pools = Vec::new();
        for replica in replicas {
            let theirs = crate::Executor::backend(&replica);
            if theirs != backend {
                return Err(Error::Config(format!(
                    "a replica of a {backend:?} database must be {backend:?} too, not {theirs:?}"
                )));
            }
            pools.push(replica.inner.clone());
        }
        Ok(Database {
            inner: self.inner.clone(),
            hooks: self.hooks.clone(),
            replicas: Replicas {
                pools: pools.into(),
                next: Arc::default(),
            },
        })
    }

    /// This database without its replicas: every read on the primary (Django's
    /// `using("default")`), for reads that must see the latest writes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(db.primary().replica_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn primary(&self) -> Database {
        Database {
            inner: self.inner.clone(),
            hooks: self.hooks.clone(),
            replicas: Replicas::default(),
        }
    }

    /// How many read replicas plain reads go to.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(db.replica_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn replica_count(&self) -> usize {
        self.replicas.pools.len()
    }

    /// Starts a transaction. Dropping it without [`Transaction::commit`] rolls it back.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// let tx = db.begin().await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin(&self) -> Result<Transaction<'static>> {
        Transaction::begin(self).await
    }

    /// Runs SQL without parameters on the writer (DDL, set-up scripts).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// db.execute_batch("CREATE TABLE t (x integer)").await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute_batch(&self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        self.run(
            Access::Atomic,
            crate::op(move |conn| Box::pin(async move { conn.batch(&sql).await })),
        )
        .await
    }
}

impl Executor for Database {
    fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    fn backend(&self) -> Backend {
        match &*self.inner {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Pools::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Pools::Mysql(_) => Backend::Mysql,
        }
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        let inner = match access {
            Access::Read => self.replicas.pick().unwrap_or_else(|| self.inner.clone()),
            _ => self.inner.clone(),
        };
        async move {
            match &*inner {
                #[cfg(feature = "sqlite")]
                Pools::Sqlite(pool) => pool.run(access, op).await,
                #[cfg(feature = "postgres")]
                Pools::Postgres(pool) => pool.run(access, op).await,
                #[cfg(feature = "mysql")]
                Pools::Mysql(pool) => pool.run(access, op).await,
            }
        }
    }
}

use std::future::Future;

/// The backend a database URL names, by its scheme, whether or not its driver is compiled
/// in.
fn url_backend(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        Ok(Backend::Mysql)
    } else {
        Err(Error::Config(format!(
            "unsupported database URL {url:?}: use sqlite://path, sqlite::memory:, postgres://... or mysql://..."
        )))
    }
}

/// The error for a backend whose driver this build does not have: its cargo feature is off.
fn not_compiled(backend: Backend) -> Error {
    let feature = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::Mysql => "mysql",
        _ => "backend's",
    };
    Error::NotSupported {
        backend: backend.name().to_owned(),
        feature: format!(
            "connections in this build: throughline was compiled without the `{feature}` feature (enable it in Cargo.toml)"
        ),
    }
}

#[cfg(feature = "sqlite")]
fn parse_sqlite(rest: &str) -> Result<SqliteOptions> {
    let mut options = SqliteOptions::default();
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    options.path = match path {
        "" | ":memory:" => None,
        p => Some(p.to_owned()),
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let millis = || {
            value
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| {
                    Error::Config(format!(
                        "{key} must be a number of milliseconds, got {value:?}"
                    ))
                })
        };
        match key {
            "mode" => match value {
                "rwc" => options.create = true,
                "rw" => options.create = false,
                "memory" => options.path = None,
                other => {
                    return Err(Error::Config(format!(
                        "unknown SQLite mode {other:?} (use rwc or rw)"
                    )));
                }
            },
            "synchronous" => match value.to_ascii_lowercase().as_str() {
                "full" => options.synchronous_full = true,
                "normal" => options.synchronous_full = false,
                other => {
                    return Err(Error::Config(format!(
                        "unknown synchronous {other:?} (use full or normal)"
                    )));
                }
            },
            "busy_timeout_ms" => options.busy_timeout = millis()?,
            "write_timeout_ms" => options.write_timeout = millis()?,
            "readers" => {
                options.readers = value.parse().map_err(|_| {
                    Error::Config(format!("readers must be a number, got {value:?}"))
                })?;
            }
            pragma if pragma.starts_with("pragma.") => {
                let name = &pragma["pragma.".len()..];
                SqliteOptions::check_pragma(name, value)?;
                options.pragmas.push((name.to_owned(), value.to_owned()));
            }
            other => {
                return Err(Error::Config(format!(
                    "unknown SQLite URL option {other:?}"
                )));
            }
        }
    }
    Ok(options)
}

/// A `mysql://` or `mariadb://` URL: sqlx's own options (`ssl-mode`, `charset`, ...) plus
/// `pool_max_size=` and `pool_timeout_ms=`.
#[cfg(feature = "mysql")]
fn parse_mysql(url: &str) -> Result<(sqlx_mysql::MySqlConnectOptions, MyOptions)> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url.as_str(), ""),
    };
    let mut options = MyOptions::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "pool_max_size" => {
                options.max_size = value.parse().ok().filter(|n: &u32| *n > 0).ok_or_else(|| {
                    Error::Config(format!(
                        "pool_max_size must be a number of connections of at least 1, got {value:?}"
                    ))
                })?;
            }
            "pool_timeout_ms" => {
                options.wait_timeout =
                    value
                        .parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| {
                            Error::Config(format!(
                                "pool_timeout_ms must be a number, got {value:?}"
                            ))
                        })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let config = url
        .parse::<sqlx_mysql::MySqlConnectOptions>()
        .map_err(|e| Error::Config(format!("invalid MySQL/MariaDB URL: {e}")))?;
    Ok((config, options))
}

/// `%XX` escapes of a URL parameter decoded (a path with spaces or `&`); invalid ones kept.
#[cfg(feature = "postgres")]
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(feature = "postgres")]
fn parse_postgres(url: &str) -> Result<(tokio_postgres::Config, PgOptions)> {
    let mut options = PgOptions::default();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "pool_max_size" => {
                options.max_size = value
                    .parse()
                    .ok()
                    .filter(|size: &usize| *size > 0)
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "pool_max_size must be a number of connections of at least 1, got {value:?}"
                        ))
                    })?;
            }
            "sslmode" => options.tls.mode = value.parse()?,
            "search_path" => options.search_path = Some(percent_decode(value)),
            "sslrootcert" => {
                options.tls.root_cert = Some(std::path::PathBuf::from(percent_decode(value)));
            }
            "pool_timeout_ms" => {
                options.wait_timeout =
                    value
                        .parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| {
                            Error::Config(format!(
                                "pool_timeout_ms must be a number, got {value:?}"
                            ))
                        })?;
            }
            _ => kept.push(pair),
        }
    }
    if options.tls.root_cert.is_some()
        && !matches!(
            options.tls.mode,
            crate::SslMode::Require | crate::SslMode::VerifyCa | crate::SslMode::VerifyFull
        )
    {
        return Err(Error::Config(
            "sslrootcert is only read with sslmode=require, verify-ca or verify-full: give one, or the connection would not check the certificate".to_owned(),
        ));
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let config = url
        .parse::<tokio_postgres::Config>()
        .map_err(|e| Error::Config(format!("invalid PostgreSQL URL: {e}")))?;
    Ok((config, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn tls_settings_come_from_the_url() {
        let (config, options) = parse_postgres(
            "postgres://u@h/db?sslmode=verify-ca&sslrootcert=%2Ftmp%2Fmy%20ca.pem&pool_max_size=2",
        )
        .unwrap();
        assert_eq!(options.tls.mode, crate::SslMode::VerifyCa);
        assert_eq!(
            options.tls.root_cert.as_deref(),
            Some(std::path::Path::new("/tmp/my ca.pem"))
        );
        assert_eq!(options.max_size, 2);
        assert_eq!(config.get_dbname(), Some("db"));
        let (_, plain) = parse_postgres("postgres://u@h/db").unwrap();
        assert_eq!(plain.tls.mode, crate::SslMode::Disable);
        assert!(parse_postgres("postgres://u@h/db?sslmode=on").is_err());
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(url_backend("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            url_backend("sqlite://app.db?mode=rw").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(url_backend("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(
            url_backend("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(url_backend("mysql://u@h/db").unwrap(), Backend::Mysql);
        assert_eq!(url_backend("mariadb://u@h/db").unwrap(), Backend::Mysql);
        assert!(matches!(url_backend("oracle://x"), Err(Error::Config(_))));
    }

    #[test]
    fn a_backend_compiled_out_is_named_with_its_feature() {
        let err = not_compiled(Backend::Postgres);
        assert!(
            matches!(&err, Error::NotSupported { backend, feature }
                if backend == "PostgreSQL" && feature.contains("compiled without the `postgres` feature")),
            "{err:?}"
        );
        assert!(err.to_string().contains("`postgres` feature"), "{err}");
        let err = not_compiled(Backend::Sqlite);
        assert!(
            err.to_string()
                .contains("compiled without the `sqlite` feature"),
            "{err}"
        );
    }

    /// `connect` refuses the URL of a backend compiled out, before parsing or connecting
    /// (runs only under a feature subset: `cargo test -p throughline-db --lib
    /// --no-default-features --features sqlite`, or `postgres`).
    #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
    #[tokio::test]
    async fn connecting_to_a_backend_compiled_out_is_not_supported() {
        let url = if cfg!(feature = "sqlite") {
            "postgres://postgres@127.0.0.1:1/none"
        } else {
            "sqlite::memory:"
        };
        match Database::connect(url).await {
            Err(Error::NotSupported { feature, .. }) => {
                assert!(feature.contains("compiled without the"), "{feature}")
            }
            Err(other) => panic!("expected NotSupported, got {other:?}"),
            Ok(_) => panic!("{url} connected without its backend"),
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_urls() {
        let o = parse_sqlite("//app.db?mode=rwc&synchronous=normal").unwrap();
        assert_eq!(o.path.as_deref(), Some("app.db"));
        assert!(!o.synchronous_full);
        assert!(parse_sqlite(":memory:").unwrap().path.is_none());
        assert!(parse_sqlite("//x.db?mode=bogus").is_err());
        assert!(parse_sqlite("//x.db?nope=1").is_err());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_urls() {
        let (config, options) =
            parse_postgres("postgres://postgres@127.0.0.1:5432/test?pool_max_size=3").unwrap();
        assert_eq!(options.max_size, 3);
        // A pool of no connections could never serve a query: refused, not a timeout later.
        assert!(parse_postgres("postgres://h/db?pool_max_size=0").is_err());
        assert_eq!(config.get_dbname(), Some("test"));
    }
}
