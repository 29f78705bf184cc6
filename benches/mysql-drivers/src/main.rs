//! Driver bake-off for throughline's MySQL/MariaDB backend: `mysql_async` against `sqlx`.
//!
//! Both drivers get one connection to the same server and run the same three workloads, each on a
//! fresh table `bench_<driver>`: 1,000 autocommit single-row inserts reading back the generated
//! id, one 10,000-row insert as multi-row `INSERT`s of 1,000 rows in a transaction, and a
//! 10,000-row `SELECT` decoded into a `Vec<Student>`. Every workload runs one warm-up and then
//! `RUNS` measured times, the drivers taking turns (and swapping who goes first), and the medians
//! are printed as a Markdown table. Afterwards the program probes what an ORM cares about:
//! `INSERT ... RETURNING`, the shape of a duplicate-key error, and whether a connection survives a
//! query future dropped halfway.
//!
//! Run from this folder: `CARGO_TARGET_DIR=/tmp/mysql-drivers-target cargo run --release`
//! (`MYSQL_URL` overrides the server, default `mysql://root@127.0.0.1:3306/test`).

use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::{AssertSqlSafe, Connection, Row, SqlSafeStr};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const SINGLE_INSERTS: usize = 1_000;
const BULK_ROWS: usize = 10_000;
const CHUNK_ROWS: usize = 1_000;
const RUNS: usize = 7;

/// The decoded row of workload 3.
#[allow(dead_code)] // Only built, never read: the decoding is what is measured.
struct Student {
    id: i64,
    name: String,
    grade: String,
    n: i64,
}

/// The values of row `i`.
fn row(i: usize) -> (String, &'static str, i64) {
    const GRADES: [&str; 5] = ["A", "B+", "B", "C", "D"];
    (
        format!("student {i:05}"),
        GRADES[i % GRADES.len()],
        i as i64,
    )
}

fn create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         grade VARCHAR(2) NOT NULL, n BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
}

fn insert_sql(table: &str, rows: usize) -> String {
    let values = vec!["(?, ?, ?)"; rows].join(", ");
    format!("INSERT INTO {table} (name, grade, n) VALUES {values}")
}

fn select_sql(table: &str) -> String {
    format!("SELECT id, name, grade, n FROM {table} ORDER BY id")
}

/// `mysql_async` with one `Conn`; statements go through its per-connection statement cache.
mod my {
    use super::*;
    use mysql_async::{Conn, Params, TxOpts, Value};

    pub const TABLE: &str = "bench_mysql_async";

    pub async fn fresh_table(c: &mut Conn) -> Result<()> {
        c.query_drop(format!("DROP TABLE IF EXISTS {TABLE}"))
            .await?;
        c.query_drop(create_sql(TABLE)).await?;
        Ok(())
    }

    pub async fn single_inserts(c: &mut Conn) -> Result<()> {
        let sql = insert_sql(TABLE, 1);
        for i in 0..SINGLE_INSERTS {
            c.exec_drop(sql.as_str(), row(i)).await?;
            let id = c.last_insert_id().ok_or("no last_insert_id")?;
            assert_eq!(id, i as u64 + 1);
        }
        Ok(())
    }

    pub async fn bulk_insert(c: &mut Conn) -> Result<()> {
        let sql = insert_sql(TABLE, CHUNK_ROWS);
        let mut tx = c.start_transaction(TxOpts::default()).await?;
        for start in (0..BULK_ROWS).step_by(CHUNK_ROWS) {
            let mut params = Vec::with_capacity(3 * CHUNK_ROWS);
            for i in start..start + CHUNK_ROWS {
                let (name, grade, n) = row(i);
                params.extend([Value::from(name), Value::from(grade), Value::from(n)]);
            }
            tx.exec_drop(sql.as_str(), Params::Positional(params))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn select_all(c: &mut Conn) -> Result<Vec<Student>> {
        let students = c
            .exec_map(select_sql(TABLE), (), |(id, name, grade, n)| Student {
                id,
                name,
                grade,
                n,
            })
            .await?;
        Ok(students)
    }
}

/// `sqlx` with one `MySqlConnection`; `sqlx::query` prepares and caches statements by default.
mod sq {
    use super::*;

    pub const TABLE: &str = "bench_sqlx";

    pub async fn fresh_table(c: &mut MySqlConnection) -> Result<()> {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE IF EXISTS {TABLE}")))
            .execute(&mut *c)
            .await?;
        sqlx::raw_sql(AssertSqlSafe(create_sql(TABLE)))
            .execute(&mut *c)
            .await?;
        Ok(())
    }

    pub async fn single_inserts(c: &mut MySqlConnection) -> Result<()> {
        let sql = AssertSqlSafe(insert_sql(TABLE, 1)).into_sql_str();
        for i in 0..SINGLE_INSERTS {
            let (name, grade, n) = row(i);
            let done = sqlx::query(sql.clone())
                .bind(name)
                .bind(grade)
                .bind(n)
                .execute(&mut *c)
                .await?;
            assert_eq!(done.last_insert_id(), i as u64 + 1);
        }
        Ok(())
    }

    pub async fn bulk_insert(c: &mut MySqlConnection) -> Result<()> {
        let sql = AssertSqlSafe(insert_sql(TABLE, CHUNK_ROWS)).into_sql_str();
        let mut tx = c.begin().await?;
        for start in (0..BULK_ROWS).step_by(CHUNK_ROWS) {
            let mut query = sqlx::query(sql.clone());
            for i in start..start + CHUNK_ROWS {
                let (name, grade, n) = row(i);
                query = query.bind(name).bind(grade).bind(n);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn select_all(c: &mut MySqlConnection) -> Result<Vec<Student>> {
        let students = sqlx::query(AssertSqlSafe(select_sql(TABLE)))
            .try_map(|r: MySqlRow| {
                Ok(Student {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    grade: r.try_get(2)?,
                    n: r.try_get(3)?,
                })
            })
            .fetch_all(&mut *c)
            .await?;
        Ok(students)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    SingleInserts,
    BulkInsert,
    Select,
}

impl Workload {
    const ALL: [Workload; 3] = [
        Workload::SingleInserts,
        Workload::BulkInsert,
        Workload::Select,
    ];

    fn label(self) -> String {
        match self {
            Workload::SingleInserts => {
                format!("{SINGLE_INSERTS} single-row inserts + last_insert_id")
            }
            Workload::BulkInsert => {
                format!("{BULK_ROWS}-row insert ({CHUNK_ROWS}-row chunks, 1 tx)")
            }
            Workload::Select => format!("select {BULK_ROWS} rows into Vec<Student>"),
        }
    }
}

/// Times one run of `workload` with `mysql_async` on a fresh (and, for `Select`, filled) table.
async fn time_mysql_async(c: &mut mysql_async::Conn, workload: Workload) -> Result<Duration> {
    my::fresh_table(c).await?;
    Ok(match workload {
        Workload::SingleInserts => timed(my::single_inserts(c)).await?,
        Workload::BulkInsert => timed(my::bulk_insert(c)).await?,
        Workload::Select => {
            my::bulk_insert(c).await?;
            let (elapsed, students) = timed_value(my::select_all(c)).await?;
            assert_eq!(students.len(), BULK_ROWS);
            elapsed
        }
    })
}

/// Times one run of `workload` with `sqlx` on a fresh (and, for `Select`, filled) table.
async fn time_sqlx(c: &mut MySqlConnection, workload: Workload) -> Result<Duration> {
    sq::fresh_table(c).await?;
    Ok(match workload {
        Workload::SingleInserts => timed(sq::single_inserts(c)).await?,
        Workload::BulkInsert => timed(sq::bulk_insert(c)).await?,
        Workload::Select => {
            sq::bulk_insert(c).await?;
            let (elapsed, students) = timed_value(sq::select_all(c)).await?;
            assert_eq!(students.len(), BULK_ROWS);
            elapsed
        }
    })
}

async fn timed(f: impl Future<Output = Result<()>>) -> Result<Duration> {
    Ok(timed_value(f).await?.0)
}

async fn timed_value<T>(f: impl Future<Output = Result<T>>) -> Result<(Duration, T)> {
    let start = Instant::now();
    let value = f.await?;
    Ok((start.elapsed(), value))
}

fn median_ms(mut runs: Vec<Duration>) -> f64 {
    runs.sort();
    runs[runs.len() / 2].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<()> {
    let url =
        std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let mut my_conn = mysql_async::Conn::from_url(url.as_str()).await?;
    let mut sq_conn = MySqlConnection::connect(&url).await?;
    let (major, minor, patch) = my_conn.server_version();
    println!("server {major}.{minor}.{patch}, {RUNS} measured runs after 1 warm-up\n");

    println!("| workload | mysql_async (ms) | sqlx (ms) | sqlx / mysql_async |");
    println!("|---|---:|---:|---:|");
    for workload in Workload::ALL {
        let (mut my_runs, mut sq_runs) = (Vec::new(), Vec::new());
        for run in 0..=RUNS {
            // Alternate which driver goes first so neither always follows the other's cleanup.
            let (my_time, sq_time) = if run % 2 == 0 {
                let m = time_mysql_async(&mut my_conn, workload).await?;
                (m, time_sqlx(&mut sq_conn, workload).await?)
            } else {
                let s = time_sqlx(&mut sq_conn, workload).await?;
                (time_mysql_async(&mut my_conn, workload).await?, s)
            };
            if run > 0 {
                my_runs.push(my_time);
                sq_runs.push(sq_time);
            }
        }
        let (m, s) = (median_ms(my_runs), median_ms(sq_runs));
        println!("| {} | {m:.1} | {s:.1} | {:.2} |", workload.label(), s / m);
    }

    println!("\n## ORM checks\n");
    orm_checks_mysql_async(&mut my_conn).await?;
    orm_checks_sqlx(&mut sq_conn).await?;

    my_conn.disconnect().await?;
    sq_conn.close().await?;
    Ok(())
}

const DUP_TABLE_SQL: &str = "CREATE TABLE bench_dup (id BIGINT PRIMARY KEY, \
    email VARCHAR(100) NOT NULL, UNIQUE KEY uq_bench_dup_email (email)) ENGINE=InnoDB";

/// `RETURNING`, duplicate key and a dropped query future, with `mysql_async`.
async fn orm_checks_mysql_async(c: &mut mysql_async::Conn) -> Result<()> {
    my::fresh_table(c).await?;
    let sql = format!("{} RETURNING id, name", insert_sql(my::TABLE, 2));
    let (a, b) = (row(1), row(2));
    let returned: Result<Vec<(i64, String)>, _> = c.exec(sql, (a.0, a.1, a.2, b.0, b.1, b.2)).await;
    println!("- mysql_async, prepared 2-row INSERT ... RETURNING id, name: {returned:?}");

    c.query_drop("DROP TABLE IF EXISTS bench_dup").await?;
    c.query_drop(DUP_TABLE_SQL).await?;
    let sql = "INSERT INTO bench_dup (id, email) VALUES (?, ?)";
    c.exec_drop(sql, (1, "a@example.com")).await?;
    match c.exec_drop(sql, (2, "a@example.com")).await {
        Err(mysql_async::Error::Server(e)) => println!(
            "- mysql_async, duplicate key: Error::Server {{ code: {}, state: {:?}, message: {:?} }}",
            e.code, e.state, e.message
        ),
        other => println!("- mysql_async, duplicate key: unexpected {other:?}"),
    }
    c.query_drop("DROP TABLE bench_dup").await?;

    // A query future dropped while the server is still working on it.
    let dropped =
        tokio::time::timeout(Duration::from_millis(100), c.query_drop("SELECT SLEEP(1)")).await;
    let disconnected = c.is_disconnected();
    let started = Instant::now();
    let next: Result<Option<i64>, _> = c.query_first("SELECT 42").await;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    let after: Result<Option<i64>, _> = c.query_first("SELECT 43").await;
    println!(
        "- mysql_async, `SELECT SLEEP(1)` dropped after 100 ms (timed out: {}): \
         is_disconnected() = {disconnected}, next `SELECT 42` on that Conn -> {next:?} after \
         {elapsed:.0} ms, then `SELECT 43` -> {after:?}",
        dropped.is_err()
    );
    Ok(())
}

/// `RETURNING`, duplicate key and a dropped query future, with `sqlx`.
async fn orm_checks_sqlx(c: &mut MySqlConnection) -> Result<()> {
    sq::fresh_table(c).await?;
    let sql = format!("{} RETURNING id, name", insert_sql(sq::TABLE, 2));
    let (a, b) = (row(1), row(2));
    let returned: Result<Vec<(i64, String)>, _> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(a.0)
        .bind(a.1)
        .bind(a.2)
        .bind(b.0)
        .bind(b.1)
        .bind(b.2)
        .fetch_all(&mut *c)
        .await;
    println!("- sqlx, prepared 2-row INSERT ... RETURNING id, name: {returned:?}");

    sqlx::raw_sql("DROP TABLE IF EXISTS bench_dup")
        .execute(&mut *c)
        .await?;
    sqlx::raw_sql(DUP_TABLE_SQL).execute(&mut *c).await?;
    let sql = "INSERT INTO bench_dup (id, email) VALUES (?, ?)";
    sqlx::query(sql)
        .bind(1)
        .bind("a@example.com")
        .execute(&mut *c)
        .await?;
    match sqlx::query(sql)
        .bind(2)
        .bind("a@example.com")
        .execute(&mut *c)
        .await
    {
        Err(sqlx::Error::Database(e)) => println!(
            "- sqlx, duplicate key: Error::Database {{ number: {:?}, code: {:?}, kind: {:?}, \
             constraint: {:?}, message: {:?} }}",
            e.try_downcast_ref::<MySqlDatabaseError>()
                .map(|m| m.number()),
            e.code(),
            e.kind(),
            e.constraint(),
            e.message()
        ),
        other => println!("- sqlx, duplicate key: unexpected {other:?}"),
    }
    sqlx::raw_sql("DROP TABLE bench_dup")
        .execute(&mut *c)
        .await?;

    let dropped = tokio::time::timeout(
        Duration::from_millis(100),
        sqlx::raw_sql("SELECT SLEEP(1)").execute(&mut *c),
    )
    .await;
    let started = Instant::now();
    let next: Result<i64, _> = sqlx::query_scalar("SELECT 42").fetch_one(&mut *c).await;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    let after: Result<i64, _> = sqlx::query_scalar("SELECT 43").fetch_one(&mut *c).await;
    println!(
        "- sqlx, `SELECT SLEEP(1)` dropped after 100 ms (timed out: {}): next `SELECT 42` on that \
         connection -> {next:?} after {elapsed:.0} ms, then `SELECT 43` -> {after:?}",
        dropped.is_err()
    );
    Ok(())
}
