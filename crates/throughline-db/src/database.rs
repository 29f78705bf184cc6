//! Owns [`Database`], the pool a program opens once by URL, and URL parsing.
//!
//! URLs: `sqlite::memory:`; `sqlite://path/to/app.db?mode=rwc` (also `sqlite:app.db`), with
//! `mode=rwc` (create if missing, the default) or `mode=rw`, `synchronous=full|normal`,
//! `busy_timeout_ms=`, `write_timeout_ms=`, `readers=`; `postgres://user@host:port/db`
//! (also `postgresql://`) with tokio-postgres's own options plus `pool_max_size=` and
//! `pool_timeout_ms=`.

use crate::conn::{Access, Op};
use crate::executor::Executor;
use crate::postgres::{PgOptions, PgPool};
use crate::sqlite::{SqliteOptions, SqlitePool};
use crate::transaction::Transaction;
use std::sync::Arc;
use std::time::Duration;
use throughline_core::{Backend, Error, Result};

/// A connection pool to one database. Cheap to clone (shared).
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Pools>,
}

/// The concrete pools, one per backend (an enum, not a flattened "any" driver).
pub(crate) enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Database {
    /// Opens a database by URL. A PostgreSQL server is reached at once (one connection is
    /// opened and checked), so an unreachable server or refused credentials give
    /// [`Error::Connect`] here, naming the host, port and cause.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// use throughline_db::Executor;
    /// let db = throughline_db::Database::connect("sqlite::memory:").await?;
    /// assert_eq!(db.backend(), throughline_core::Backend::Sqlite);
    /// assert!(throughline_db::Database::connect("mysql://x").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Database> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            return Database::open_sqlite(&parse_sqlite(rest)?);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (config, options) = parse_postgres(url)?;
            let db = Database::open_postgres(config, &options)?;
            if let Pools::Postgres(pool) = &*db.inner {
                pool.check().await?;
            }
            return Ok(db);
        }
        Err(Error::Config(format!(
            "unsupported database URL {url:?}: use sqlite://path, sqlite::memory: or postgres://..."
        )))
    }

    /// Opens a SQLite database with explicit options.
    ///
    /// ```
    /// let db = throughline_db::Database::open_sqlite(&Default::default()).unwrap();
    /// # drop(db);
    /// ```
    pub fn open_sqlite(options: &SqliteOptions) -> Result<Database> {
        Ok(Database {
            inner: Arc::new(Pools::Sqlite(SqlitePool::open(options)?)),
        })
    }

    /// Opens a PostgreSQL pool from a tokio-postgres configuration. Connections open
    /// lazily, on first use (use [`Database::connect`] to check the server at once).
    ///
    /// ```
    /// let config: tokio_postgres::Config = "host=127.0.0.1 user=postgres".parse().unwrap();
    /// let db = throughline_db::Database::open_postgres(config, &Default::default()).unwrap();
    /// # drop(db);
    /// ```
    pub fn open_postgres(config: tokio_postgres::Config, options: &PgOptions) -> Result<Database> {
        Ok(Database {
            inner: Arc::new(Pools::Postgres(PgPool::new(config, options)?)),
        })
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
    fn backend(&self) -> Backend {
        match &*self.inner {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        let inner = self.inner.clone();
        async move {
            match &*inner {
                Pools::Sqlite(pool) => pool.run(access, op).await,
                Pools::Postgres(pool) => pool.run(access, op).await,
            }
        }
    }
}

use std::future::Future;

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
            other => {
                return Err(Error::Config(format!(
                    "unknown SQLite URL option {other:?}"
                )));
            }
        }
    }
    Ok(options)
}

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
                options.max_size = value.parse().map_err(|_| {
                    Error::Config(format!("pool_max_size must be a number, got {value:?}"))
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
        .parse::<tokio_postgres::Config>()
        .map_err(|e| Error::Config(format!("invalid PostgreSQL URL: {e}")))?;
    Ok((config, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        let o = parse_sqlite("//app.db?mode=rwc&synchronous=normal").unwrap();
        assert_eq!(o.path.as_deref(), Some("app.db"));
        assert!(!o.synchronous_full);
        assert!(parse_sqlite(":memory:").unwrap().path.is_none());
        assert!(parse_sqlite("//x.db?mode=bogus").is_err());
        assert!(parse_sqlite("//x.db?nope=1").is_err());
    }

    #[test]
    fn postgres_urls() {
        let (config, options) =
            parse_postgres("postgres://postgres@127.0.0.1:5432/test?pool_max_size=3").unwrap();
        assert_eq!(options.max_size, 3);
        assert_eq!(config.get_dbname(), Some("test"));
    }
}
