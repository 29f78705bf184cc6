//! `throughline-bench`: SPEC §6's workloads W1–W5, issue 17's W6 (aggregates), issue 19's
//! re-add with differing values as W7 (N linked targets re-added with other through
//! values: W7s under the skip policy, W7u under the update policy; issue 19 calls it "W6",
//! a name already taken here) and issue 19's concurrency workload as W8 (64 tokio tasks at
//! once, each making 100 single adds to its own course, each followed by a read of the
//! course's students, on the pool; the issue's "W7"), run side by side with throughline and
//! with the best hand-written code on the raw drivers (rusqlite behind an async hop to a
//! connection thread, rusqlite called directly, tokio-postgres, sqlx's MySQL driver; for
//! W8 on pools of the shape and settings of throughline's), on a SQLite file database at
//! `synchronous=FULL` and at `NORMAL`, on PostgreSQL and on MariaDB. Prints one table per
//! target (medians of interleaved runs after a warm-up), W8's throughput and errors (a run
//! in which an operation failed is reported as failed, and the program exits with status
//! 1), the statements throughline ran, and with `--scaling` how W1, W2 and W4 grow from
//! N = 1,000 to 100,000.
//!
//! ```text
//! cargo run --release -p throughline-bench -- [--n 10000] [--runs 7]
//!     [--backend sqlite|postgres|mariadb|all] [--scaling] [--sql] [--json PATH] [--no-hand]
//!     [--only W1,W3,W7,W8] [--side orm|hand|sync] [--sync full|normal]
//! ```
//!
//! PostgreSQL is `THROUGHLINE_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), MariaDB `THROUGHLINE_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`); each target gets a fresh schema (PostgreSQL) or
//! database (MariaDB), dropped at the end. With `--backend all` a server that does not
//! answer is skipped with a message. See `docs/benchmarks.md` for the results and their
//! reading.

mod concurrency;
mod fixture;
mod hand;
mod hand_mysql;
mod hand_postgres;
mod hand_sqlite;
mod models;
mod orm;
mod report;
mod runner;
mod trace;

use fixture::{Fixture, Target};
use runner::{Measured, Plan, Side, Workload};

/// The error type of the benchmark: any error, with its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str =
    "usage: throughline-bench [--n N] [--runs R] [--backend sqlite|postgres|mariadb|all] \
[--scaling] [--sql] [--json PATH] [--no-hand] [--only W1,W3,W7,W8] [--side S] [--sync full|normal]

  --n N          targets per relation (default 10000; W3 is always 1,000 adds, W8 always
                 64 tasks x 100 adds and 100 reads)
  --runs R       measured runs per side after one warm-up (default 7)
  --backend B    sqlite (file, synchronous FULL and NORMAL), postgres, mariadb (also
                 mysql), or all (default; a server that does not answer is skipped)
  --scaling      run W1, W2, W4 at N = 1,000, 10,000 and 100,000 instead, time per item
  --sql          print the SQL throughline ran for one call of each workload, with the
                 time its driver spent on each statement (in the last run)
  --json PATH    also write the results as JSON (read by benches/django/bench.py)
  --no-hand      run throughline only (for the Django comparison)
  --only LIST    run only these workloads (comma-separated ids, e.g. W1,W3): W1..W6,
                 W7s and W7u (issue 19's re-add with differing values under the skip and
                 the update policy; W7 selects both), W8 (issue 19's concurrency: 64
                 tasks at once on the pool, each 100 single adds to its own course, each
                 add followed by a read of the course's students; throughput and errors)
  --side S       run one side only: orm, hand (async) or sync (bare rusqlite; the async
                 hand-written side on PostgreSQL and MariaDB, and for W8), for counting
                 instructions under valgrind (benches/instructions.sh)
  --sync MODE    SQLite at synchronous=full or normal only (default: both)
";

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    n: usize,
    runs: usize,
    sqlite: bool,
    postgres: bool,
    mysql: bool,
    scaling: bool,
    sql: bool,
    json: Option<String>,
    hand: bool,
    only: Option<Vec<String>>,
    side: Option<Side>,
    sync: Option<bool>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: 10_000,
        runs: 7,
        sqlite: true,
        postgres: true,
        mysql: true,
        scaling: false,
        sql: false,
        json: None,
        hand: true,
        only: None,
        side: None,
        sync: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--n" => {
                args.n = value("--n")?
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|e| format!("--n: {e}"))?;
            }
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
            }
            "--backend" => match value("--backend")?.as_str() {
                "sqlite" => (args.sqlite, args.postgres, args.mysql) = (true, false, false),
                "postgres" => (args.sqlite, args.postgres, args.mysql) = (false, true, false),
                "mariadb" | "mysql" => {
                    (args.sqlite, args.postgres, args.mysql) = (false, false, true);
                }
                "all" => (args.sqlite, args.postgres, args.mysql) = (true, true, true),
                other => return Err(format!("unknown backend {other:?}")),
            },
            "--scaling" => args.scaling = true,
            "--sql" => args.sql = true,
            "--json" => args.json = Some(value("--json")?),
            "--no-hand" => args.hand = false,
            "--only" => {
                let list: Vec<String> = value("--only")?
                    .split(',')
                    .map(|w| w.trim().to_uppercase())
                    .collect();
                if let Some(bad) = list
                    .iter()
                    .find(|w| !Workload::ALL.iter().any(|x| x.selected_by(w)))
                {
                    return Err(format!(
                        "unknown workload {bad:?} (use W1..W6, W7s, W7u, W7, W8)"
                    ));
                }
                args.only = Some(list);
            }
            "--side" => {
                args.side = Some(match value("--side")?.as_str() {
                    "orm" => Side::Orm,
                    "hand" => Side::Hand,
                    "sync" => Side::HandSync,
                    other => return Err(format!("unknown side {other:?} (orm, hand, sync)")),
                });
            }
            "--sync" => {
                args.sync = Some(match value("--sync")?.as_str() {
                    "full" => true,
                    "normal" => false,
                    other => return Err(format!("unknown synchronous mode {other:?}")),
                });
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if args.n < 1_000 || !args.n.is_multiple_of(50) {
        return Err("--n must be at least 1000 and a multiple of 50".into());
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(args)
}

/// The load average (`/proc/loadavg`), printed with each table: another busy process on
/// the machine shows there.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn postgres_url() -> String {
    std::env::var("THROUGHLINE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn mysql_url() -> String {
    std::env::var("THROUGHLINE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// Opens the targets the arguments select (`tag` keeps their files, schemas and databases
/// apart). A server that does not answer is skipped, unless it is the only backend asked for.
async fn targets(args: &Args, tag: &str) -> Result<Vec<Target>, BoxError> {
    let alone = [args.sqlite, args.postgres, args.mysql]
        .iter()
        .filter(|on| **on)
        .count()
        == 1;
    let mut out = Vec::new();
    if args.sqlite {
        for full in [true, false] {
            if args.sync.is_none_or(|only| only == full) {
                out.push(Target::sqlite(full, tag).await?);
            }
        }
    }
    if args.postgres {
        match Target::postgres(&postgres_url(), tag).await? {
            Some(target) => out.push(target),
            None if alone => return Err("PostgreSQL is unreachable".into()),
            None => {}
        }
    }
    if args.mysql {
        match Target::mysql(&mysql_url(), tag).await? {
            Some(target) => out.push(target),
            None if alone => return Err("MariaDB is unreachable".into()),
            None => {}
        }
    }
    Ok(out)
}

async fn run(args: Args) -> Result<(), BoxError> {
    let plan = Plan {
        runs: args.runs,
        hand: args.hand,
        trace: args.sql,
        side: args.side,
    };
    if args.sql {
        trace::install();
    }
    let started = std::time::Instant::now();
    println!(
        "throughline-bench: {} cores, release={}; median of {} interleaved runs after 1 warm-up",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        !cfg!(debug_assertions),
        args.runs
    );
    let mut all: Vec<Measured> = Vec::new();
    let mut settings: Vec<(String, String)> = Vec::new();
    let sizes: Vec<usize> = if args.scaling {
        vec![1_000, 10_000, 100_000]
    } else {
        vec![args.n]
    };
    let mut workloads: Vec<Workload> = if args.scaling {
        vec![Workload::BulkAdd, Workload::SetChurn, Workload::Prefetch]
    } else {
        Workload::ALL.to_vec()
    };
    if let Some(only) = &args.only {
        workloads.retain(|w| only.iter().any(|o| w.selected_by(o)));
    }
    for n in sizes {
        for mut target in targets(&args, &format!("n{n}")).await? {
            let set_up = std::time::Instant::now();
            let mut fixture = match Fixture::create(&mut target, n).await {
                Ok(fixture) => fixture,
                Err(error) => {
                    let _ = target.drop_database().await;
                    return Err(error);
                }
            };
            println!(
                "\n{} — N = {n} (data set up in {}; load average before: {})\n{}",
                target.name,
                report::fmt_duration(set_up.elapsed()),
                load_average(),
                target.settings
            );
            // A failed check still removes the database (schema or folder) before reporting.
            let results = match runner::measure(&mut target, &mut fixture, &workloads, plan).await {
                Ok(results) => results,
                Err(error) => {
                    let _ = target.drop_database().await;
                    return Err(error);
                }
            };
            println!("load average after: {}", load_average());
            if args.scaling {
                print!("{}", report::scaling(&results));
            } else {
                print!("{}", report::comparison(&results));
                print!("{}", report::concurrency(&results));
            }
            if args.sql {
                print!("{}", report::sql(&results));
            }
            settings.push((target.name.clone(), target.settings.clone()));
            all.extend(results);
            target.drop_database().await?;
        }
    }
    if args.scaling {
        all.sort_by_key(|m| (m.workload as u8, m.target.clone(), m.n));
        println!("\nScaling (time per item = time / N; W4 reads N rows of N/50 courses):");
        print!("{}", report::scaling(&all));
    }
    println!(
        "\nratio = throughline / hand-written async; TL/sync = throughline / bare synchronous \
         rusqlite.\nstmts = statements per call, BEGIN/COMMIT not counted; +tx = inside a \
         transaction.\ntotal time {}",
        report::fmt_duration(started.elapsed())
    );
    if let Some(path) = &args.json {
        std::fs::write(path, report::json(&all, &settings))?;
        println!("results written to {path}");
    }
    let failed: Vec<String> = all
        .iter()
        .filter(|m| m.failed())
        .map(|m| format!("{} on {}", m.workload.id(), m.target))
        .collect();
    if !failed.is_empty() {
        return Err(format!(
            "operations failed in {} (errors above): the run failed",
            failed.join(", ")
        )
        .into());
    }
    Ok(())
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
    if let Err(error) = runtime.block_on(run(args)) {
        eprintln!("throughline-bench failed: {error}");
        std::process::exit(1);
    }
}
