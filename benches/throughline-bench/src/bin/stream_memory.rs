//! `stream-memory`: issue 17's memory check of `QuerySet::stream`. On each backend it
//! fills a table with 1,000,000 rows (hand-written SQL, so the fill allocates nothing of
//! ours), then reads every row twice, measuring the memory growth of the whole process
//! (drivers included): once with `stream()`, whose peak must stay
//! under a fixed budget whatever the row count, and once with `all()` for comparison. The
//! growth is the rise of the process's peak resident memory (`VmHWM`, reset before each
//! read through `/proc/self/clear_refs`): Linux only.
//! Exits with status 1 if a stream's peak exceeds the budget.
//!
//! ```text
//! cargo run --release -p throughline-bench --bin stream-memory -- [--rows 1000000]
//!     [--backend sqlite|postgres|mariadb|all] [--budget-mb 32]
//! ```
//!
//! PostgreSQL is `THROUGHLINE_POSTGRES_URL`, MariaDB `THROUGHLINE_MYSQL_URL` (defaults as
//! `throughline-bench`); a server that does not answer is skipped with a message.

use std::time::Instant;
use throughline::prelude::*;

/// A figure of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The resident memory now, with the peak (`VmHWM`) reset to it (Linux 4.0+:
/// `clear_refs` value 5).
fn baseline() -> usize {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_bytes("VmRSS")
}

/// How far the resident memory's peak rose above `base` since [`baseline`].
fn growth(base: usize) -> usize {
    status_bytes("VmHWM").saturating_sub(base)
}

/// The model the rows are read into.
#[derive(Debug, Clone, Model)]
#[throughline(table = "stream_row")]
pub struct StreamRow {
    /// The key.
    pub id: Option<i64>,
    /// 1 to N.
    pub value: i64,
    /// `row N`.
    pub label: String,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    rows: u64,
    backend: String,
    budget_mb: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 1_000_000,
        backend: "all".into(),
        budget_mb: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => args.rows = value()?.parse().map_err(|e| format!("--rows: {e}"))?,
            "--backend" => args.backend = value()?,
            "--budget-mb" => {
                args.budget_mb = value()?.parse().map_err(|e| format!("--budget-mb: {e}"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other}\nusage: stream-memory [--rows N] [--backend sqlite|postgres|mariadb|all] [--budget-mb MB]"
                ));
            }
        }
    }
    Ok(args)
}

/// Creates the table and fills it with `rows` rows in one statement.
async fn fill(db: &Database, rows: u64) -> Result<(), BoxError> {
    let mut registry = Registry::new();
    registry.register(StreamRow::meta());
    throughline::drop_tables(db, &registry).await?;
    throughline::create_tables(db, &registry).await?;
    let sql = match db.backend() {
        throughline::Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             INSERT INTO stream_row (value, label) SELECT i, 'row ' || i FROM n"
        ),
        throughline::Backend::Postgres => format!(
            "INSERT INTO stream_row (value, label) SELECT i, 'row ' || i FROM generate_series(1, {rows}) AS i"
        ),
        _ => format!(
            "INSERT INTO stream_row (value, label) SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{rows}"
        ),
    };
    throughline::raw::execute(db, sql, vec![]).await?;
    Ok(())
}

/// Streams and then loads every row; returns whether the stream stayed within `budget`.
async fn measure(name: &str, db: &Database, rows: u64, budget: usize) -> Result<bool, BoxError> {
    let started = Instant::now();
    fill(db, rows).await?;
    println!("{name}: {rows} rows written in {:.1?}", started.elapsed());

    let base = baseline();
    let started = Instant::now();
    let mut stream = StreamRow::objects().stream(db);
    let (mut count, mut sum) = (0u64, 0i64);
    while let Some(row) = stream.next().await {
        let row = row?;
        count += 1;
        sum += row.value;
    }
    drop(stream);
    let streamed = growth(base);
    let stream_time = started.elapsed();
    let expected_sum = (rows as i64) * (rows as i64 + 1) / 2;
    if count != rows || sum != expected_sum {
        return Err(format!("{name}: streamed {count} rows summing {sum}").into());
    }

    let base = baseline();
    let started = Instant::now();
    let all = StreamRow::objects().all(db).await?;
    let loaded = growth(base);
    let all_time = started.elapsed();
    if all.len() as u64 != rows {
        return Err(format!("{name}: all() read {} rows", all.len()).into());
    }
    drop(all);

    let mb = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    let within = streamed <= budget;
    println!(
        "{name}: stream() peak memory growth {:.1} MiB in {:.1?} ({}); all() {:.1} MiB in {:.1?}",
        mb(streamed),
        stream_time,
        if within {
            "within budget"
        } else {
            "OVER BUDGET"
        },
        mb(loaded),
        all_time,
    );
    let mut registry = Registry::new();
    registry.register(StreamRow::meta());
    throughline::drop_tables(db, &registry).await?;
    Ok(within)
}

async fn run(args: Args) -> Result<bool, BoxError> {
    let budget = args.budget_mb * 1024 * 1024;
    let wanted = |b: &str| args.backend == "all" || args.backend == b;
    let mut ok = true;
    if wanted("sqlite") {
        let dir = std::env::temp_dir().join(format!("stream-memory-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("stream.db").display());
        let db = Database::connect(&url).await?;
        ok &= measure("sqlite", &db, args.rows, budget).await?;
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
    for (name, variable, default) in [
        (
            "postgres",
            "THROUGHLINE_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        (
            "mariadb",
            "THROUGHLINE_MYSQL_URL",
            "mysql://root@127.0.0.1:3306/test",
        ),
    ] {
        let chosen = wanted(name) || (name == "mariadb" && wanted("mysql"));
        if !chosen {
            continue;
        }
        let url = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
        match Database::connect(&url).await {
            Ok(db) => ok &= measure(name, &db, args.rows, budget).await?,
            Err(error) if args.backend == "all" => println!("{name}: skipped ({error})"),
            Err(error) => return Err(error.into()),
        }
    }
    println!(
        "budget: {} MiB of memory growth for a stream",
        args.budget_mb
    );
    Ok(ok)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("stream-memory failed: {error}");
            std::process::exit(1);
        }
    }
}
