//! Runs the workloads on a target, side by side: a warm-up round first (throughline's
//! statements are recorded there, through [`throughline::Counting`]), then `runs` rounds
//! in which every side runs once, in an order that rotates from round to round; the
//! medians are reported. Every round checks that all sides returned the same information
//! (W8's rounds only when no side met an error: W8 counts its errors instead of stopping).

use crate::BoxError;
use crate::concurrency::{self, Errors};
use crate::fixture::{Fixture, Hand, HandPool, Target, key};
use crate::hand::{AddResult, Counted, SetResult};
use crate::models::Enrollment;
use crate::{hand_mysql, hand_postgres, hand_sqlite, orm};
use std::sync::Arc;
use std::time::{Duration, Instant};
use throughline::prelude::*;

/// A workload of SPEC §6 (W1–W5), issue 17 (W6) or issue 19 (W7 and W8, which that issue
/// calls "W6" and "W7": the ids published before them are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Link N students to a course with through values, one call.
    BulkAdd,
    /// `set()` replacing 10 % of N links.
    SetChurn,
    /// 1,000 separate `add` calls of one target each.
    SingleAdds,
    /// N/50 courses × 50 students: every through row with its student.
    Prefetch,
    /// A course's students filtered on a through field (N/10 of N match).
    Filter,
    /// W4's N/50 courses, each with its student count and mean grade points (aggregates
    /// over N through rows).
    Aggregates,
    /// W7s: N already-linked students re-added with another grade under the skip policy
    /// (the default): nothing is written, all N are reported as differing.
    ReaddSkip,
    /// W7u: the same re-add under `on_existing(OnExisting::Update)`: the N rows get the
    /// new grade.
    ReaddUpdate,
    /// W8: 64 concurrent tasks, each making 100 single adds to its own course, each add
    /// followed by a read of the course's students, on the pool (see `concurrency`).
    Concurrency,
}

impl Workload {
    /// Every workload, in order.
    pub const ALL: [Workload; 9] = [
        Workload::BulkAdd,
        Workload::SetChurn,
        Workload::SingleAdds,
        Workload::Prefetch,
        Workload::Filter,
        Workload::Aggregates,
        Workload::ReaddSkip,
        Workload::ReaddUpdate,
        Workload::Concurrency,
    ];

    /// The short name, `W1`...
    pub fn id(self) -> &'static str {
        match self {
            Workload::BulkAdd => "W1",
            Workload::SetChurn => "W2",
            Workload::SingleAdds => "W3",
            Workload::Prefetch => "W4",
            Workload::Filter => "W5",
            Workload::Aggregates => "W6",
            Workload::ReaddSkip => "W7s",
            Workload::ReaddUpdate => "W7u",
            Workload::Concurrency => "W8",
        }
    }

    /// Whether `--only`'s `asked` (upper case) selects it: its id, or its family (`W7`
    /// selects `W7s` and `W7u`).
    pub fn selected_by(self, asked: &str) -> bool {
        let id = self.id();
        id.eq_ignore_ascii_case(asked)
            || id
                .strip_suffix(['s', 'u'])
                .is_some_and(|family| family == asked)
    }

    /// What it does, for the tables.
    pub fn title(self) -> &'static str {
        match self {
            Workload::BulkAdd => "bulk add",
            Workload::SetChurn => "set churn 10%",
            Workload::SingleAdds => "1,000 single adds",
            Workload::Prefetch => "prefetch",
            Workload::Filter => "filter on grade",
            Workload::Aggregates => "aggregates",
            Workload::ReaddSkip => "re-add differing, skip",
            Workload::ReaddUpdate => "re-add differing, update",
            Workload::Concurrency => "64 tasks × 100 (add + read)",
        }
    }

    /// The number of items it handles at `n` (for times per item; W8's operations).
    pub fn items(self, n: usize) -> usize {
        match self {
            Workload::Concurrency => concurrency::OPERATIONS,
            Workload::BulkAdd | Workload::Prefetch | Workload::Aggregates => n,
            Workload::SetChurn | Workload::ReaddSkip | Workload::ReaddUpdate => n,
            Workload::SingleAdds => crate::fixture::SINGLE_ADDS.min(n),
            Workload::Filter => n / 10,
        }
    }
}

/// Who runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// throughline.
    Orm,
    /// Hand-written on the raw driver, async (SQLite: behind a connection thread;
    /// PostgreSQL: tokio-postgres; MariaDB: sqlx's MySQL driver, as throughline).
    Hand,
    /// Hand-written rusqlite called directly (SQLite only): the physical limit.
    HandSync,
}

/// The result of one workload on one target.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The workload.
    pub workload: Workload,
    /// The target's name.
    pub target: String,
    /// N.
    pub n: usize,
    /// Median time of throughline.
    pub orm: Duration,
    /// Median time of the hand-written async side, if run.
    pub hand: Option<Duration>,
    /// Median time of the hand-written synchronous side (SQLite), if run.
    pub hand_sync: Option<Duration>,
    /// The fastest and slowest throughline runs.
    pub orm_range: (Duration, Duration),
    /// Statements per call of throughline (BEGIN/COMMIT not counted), and whether the call
    /// runs in a transaction.
    pub orm_statements: (f64, bool),
    /// Statements per call of the hand-written side, and whether it uses a transaction.
    pub hand_statements: Option<(f64, bool)>,
    /// The SQL throughline ran for one call (from the warm-up round).
    pub orm_sql: Vec<String>,
    /// The statements of throughline's last measured call, as its driver timed them, and
    /// that call's total time (with `--sql`).
    pub orm_trace: Option<(Vec<crate::trace::Traced>, Duration)>,
    /// SQLite's query plan of each of throughline's statements (with `--sql`).
    pub orm_plans: Vec<(String, Vec<String>)>,
    /// The errors throughline met over every round, the warm-up included (W8; the other
    /// workloads stop at the first).
    pub orm_errors: Errors,
    /// The errors the hand-written async side met, if run (W8).
    pub hand_errors: Option<Errors>,
}

impl Measured {
    /// Whether a side met an error (the run failed).
    pub fn failed(&self) -> bool {
        self.orm_errors.count > 0 || self.hand_errors.as_ref().is_some_and(|e| e.count > 0)
    }
}

/// What one call returned, reduced to numbers every side must agree on.
type Summary = Vec<i64>;

/// The settings of a measurement.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Measured rounds after the warm-up.
    pub runs: usize,
    /// Whether to run the hand-written sides.
    pub hand: bool,
    /// Whether to record throughline's per-statement timings in the last round.
    pub trace: bool,
    /// Run this side only (for instruction counts under valgrind).
    pub side: Option<Side>,
}

/// Measures `workloads` on `target` with `fixture`.
pub async fn measure(
    target: &mut Target,
    fixture: &mut Fixture,
    workloads: &[Workload],
    plan: Plan,
) -> Result<Vec<Measured>, BoxError> {
    let mut sides = vec![Side::Orm];
    if let Some(only) = plan.side {
        // PostgreSQL and MariaDB have no synchronous hand-written side: their hand sides
        // are tokio-postgres and sqlx-mysql.
        let sqlite = matches!(target.hand, Hand::Sqlite { .. });
        sides = vec![if only == Side::HandSync && !sqlite {
            Side::Hand
        } else {
            only
        }];
    } else if plan.hand {
        sides.push(Side::Hand);
        if matches!(target.hand, Hand::Sqlite { .. }) {
            sides.push(Side::HandSync);
        }
    }
    let all_sides = sides;
    let mut out = Vec::new();
    for &workload in workloads {
        // W8 has no synchronous side (its tasks are async): `--side sync` runs the async
        // hand-written side there.
        let mut sides: Vec<Side> = Vec::new();
        for side in &all_sides {
            let side = match (workload, side) {
                (Workload::Concurrency, Side::HandSync) => Side::Hand,
                (_, side) => *side,
            };
            if !sides.contains(&side) {
                sides.push(side);
            }
        }
        let mut times: Vec<Vec<Duration>> = sides.iter().map(|_| Vec::new()).collect();
        let mut errors: Vec<Errors> = sides.iter().map(|_| Errors::default()).collect();
        let mut orm_sql = Vec::new();
        let mut orm_transaction = false;
        let mut hand_statements = None;
        let mut orm_trace = None;
        for round in 0..=plan.runs {
            let mut order: Vec<usize> = (0..sides.len()).collect();
            order.rotate_left(round % sides.len());
            let mut summaries: Vec<(Side, Summary)> = Vec::new();
            let mut round_errors = 0;
            for i in order {
                let side = sides[i];
                let counting = round == 0 && side == Side::Orm;
                let tracing = plan.trace && round == plan.runs && side == Side::Orm;
                crate::trace::capture(tracing);
                let (elapsed, summary, statements, failed) =
                    run_one(target, fixture, workload, side, counting).await?;
                round_errors += failed.count;
                errors[i].merge(failed);
                if tracing {
                    crate::trace::capture(false);
                    orm_trace = Some((crate::trace::take(), elapsed));
                }
                match (side, statements) {
                    (Side::Orm, Stmts::Sql(sql, transactions)) => {
                        orm_sql = sql;
                        orm_transaction = transactions > 0;
                    }
                    (Side::Hand, Stmts::Count(count)) => hand_statements = Some(count),
                    _ => {}
                }
                if round > 0 {
                    times[i].push(elapsed);
                }
                summaries.push((side, summary));
            }
            if round_errors == 0 && workload == Workload::Concurrency {
                let expected = concurrency::expected_summary(fixture);
                if let Some((side, other)) = summaries.iter().find(|(_, s)| *s != expected) {
                    return Err(format!(
                        "W8 on {}: {side:?} returned {other:?}, expected {expected:?}",
                        target.name
                    )
                    .into());
                }
            }
            if round_errors == 0
                && let Some((first_side, first)) = summaries.first()
                && let Some((side, other)) = summaries.iter().find(|(_, s)| s != first)
            {
                return Err(format!(
                    "{} on {}: {first_side:?} returned {first:?} but {side:?} returned {other:?}",
                    workload.id(),
                    target.name
                )
                .into());
            }
        }
        let calls = match workload {
            Workload::SingleAdds => fixture.w3_students.len().max(1),
            Workload::Concurrency => concurrency::OPERATIONS,
            _ => 1,
        };
        let orm_count = orm_sql.len() as f64 / calls as f64;
        if workload == Workload::Concurrency {
            // Adds and reads interleave in any order: each distinct statement once.
            let mut distinct: Vec<String> = Vec::new();
            for sql in orm_sql {
                if !distinct.contains(&sql) {
                    distinct.push(sql);
                }
            }
            orm_sql = distinct;
        } else {
            orm_sql.truncate(orm_sql.len() / calls);
        }
        let median_of = |side: Side| {
            sides
                .iter()
                .position(|s| *s == side)
                .map(|i| median(&mut times[i].clone()))
        };
        let orm_times = &times[sides.iter().position(|s| *s == Side::Orm).unwrap_or(0)];
        let range = (
            orm_times.iter().min().copied().unwrap_or_default(),
            orm_times.iter().max().copied().unwrap_or_default(),
        );
        out.push(Measured {
            workload,
            target: target.name.clone(),
            n: fixture.n,
            orm: median_of(Side::Orm).unwrap_or_default(),
            hand: median_of(Side::Hand),
            hand_sync: median_of(Side::HandSync),
            orm_range: range,
            orm_statements: (orm_count, orm_transaction),
            hand_statements: hand_statements.map(|(count, tx)| (count as f64 / calls as f64, tx)),
            orm_plans: if plan.trace {
                query_plans(&target.hand, &orm_sql)
            } else {
                Vec::new()
            },
            orm_sql,
            orm_trace,
            orm_errors: sides
                .iter()
                .position(|s| *s == Side::Orm)
                .map(|i| errors[i].clone())
                .unwrap_or_default(),
            hand_errors: sides
                .iter()
                .position(|s| *s == Side::Hand)
                .map(|i| errors[i].clone()),
        });
    }
    Ok(out)
}

/// SQLite's `EXPLAIN QUERY PLAN` of each statement (parameters bound to NULL), on the
/// synchronous connection; nothing on PostgreSQL and MariaDB.
fn query_plans(hand: &Hand, statements: &[String]) -> Vec<(String, Vec<String>)> {
    let Hand::Sqlite { sync, .. } = hand else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sql in statements {
        if !(sql.starts_with("SELECT") || sql.starts_with("DELETE") || sql.starts_with("INSERT")) {
            continue;
        }
        let plan = sync
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .and_then(|mut stmt| {
                let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
                stmt.query_map(rusqlite::params_from_iter(nulls), |row| {
                    row.get::<_, String>(3)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap_or_else(|e| vec![format!("(no plan: {e})")]);
        out.push((sql.clone(), plan));
    }
    out
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    match times.len() {
        0 => Duration::ZERO,
        n if !n.is_multiple_of(2) => times[n / 2],
        n => (times[n / 2 - 1] + times[n / 2]) / 2,
    }
}

/// What a side tells about its statements: throughline's SQL and how many of its operations
/// ran in a transaction, or the hand-written count.
enum Stmts {
    Sql(Vec<String>, usize),
    Count((usize, bool)),
    None,
}

/// Runs one workload once on one side; returns the elapsed time (set-up and clean-up
/// excluded), the summary, the statements, and the errors counted (W8; the other workloads
/// return their first error).
async fn run_one(
    target: &mut Target,
    fixture: &mut Fixture,
    workload: Workload,
    side: Side,
    counting: bool,
) -> Result<(Duration, Summary, Stmts, Errors), BoxError> {
    if workload == Workload::Concurrency {
        let (batch, statements) = match side {
            Side::Orm if counting => {
                let counting = Arc::new(Counting::new(target.db.clone()));
                let batch = concurrency::orm(counting.clone(), fixture).await;
                let statements = Stmts::Sql(counting.statements(), counting.transactions());
                (batch, statements)
            }
            Side::Orm => (
                concurrency::orm(Arc::new(target.db.clone()), fixture).await,
                Stmts::None,
            ),
            Side::Hand | Side::HandSync => {
                let batch = concurrency::hand(&target.pool, fixture).await;
                // MariaDB's add is a transaction (lock, probe, insert), as W3's.
                let transaction = matches!(target.pool, HandPool::Mysql(_));
                let statements = Stmts::Count((batch.statements, transaction));
                (batch, statements)
            }
        };
        crate::trace::capture(false);
        fixture.w8_linked = (batch.errors.count == 0).then_some(batch.summary[0]);
        untimed_clean_up(target, fixture, workload).await?;
        return Ok((batch.elapsed, batch.summary, statements, batch.errors));
    }
    let result = match side {
        Side::Orm if counting => {
            let counting = Counting::new(&target.db);
            let (elapsed, summary) = run_orm(&counting, fixture, workload).await?;
            (
                elapsed,
                summary,
                Stmts::Sql(counting.statements(), counting.transactions()),
            )
        }
        Side::Orm => {
            let (elapsed, summary) = run_orm(&target.db, fixture, workload).await?;
            (elapsed, summary, Stmts::None)
        }
        Side::Hand | Side::HandSync => run_hand(&mut target.hand, fixture, workload, side).await?,
    };
    // The trace (`--sql`) is of the call: W7u's clean-up checks its rows through throughline.
    crate::trace::capture(false);
    untimed_clean_up(target, fixture, workload).await?;
    Ok((result.0, result.1, result.2, Errors::default()))
}

/// The clean-up after each run, not timed: W1 and W3 start from an empty course; W2 flips
/// its list; W7u checks that its N rows hold the grade it gave and flips the grade the next
/// run gives (so every re-add differs; W7s writes nothing). After every write SQLite's WAL
/// is checkpointed; after the bulk deletes and W7u's updates PostgreSQL's table is
/// vacuumed, and after the bulk deletes MariaDB's is rebuilt (its background purge may
/// lag), so that no side's timing includes work the others caused. Between two markers, so
/// that `benches/instructions.sh` can leave its instructions out (callgrind dumps its
/// counts when each marker is entered).
async fn untimed_clean_up(
    target: &mut Target,
    fixture: &mut Fixture,
    workload: Workload,
) -> Result<(), BoxError> {
    clean_up_starts();
    let result = clean_up(target, fixture, workload).await;
    clean_up_ends();
    result
}

/// Marks the start of the untimed clean-up for callgrind (`--dump-before`).
#[inline(never)]
fn clean_up_starts() {
    // Distinct bodies: identical functions may be folded into one symbol.
    std::hint::black_box(1u8);
}

/// Marks the end of the untimed clean-up for callgrind (`--dump-before`).
#[inline(never)]
fn clean_up_ends() {
    std::hint::black_box(2u16);
}

async fn clean_up(
    target: &mut Target,
    fixture: &mut Fixture,
    workload: Workload,
) -> Result<(), BoxError> {
    match workload {
        Workload::BulkAdd | Workload::SingleAdds => {
            let course = if workload == Workload::BulkAdd {
                key(&fixture.w1_course)
            } else {
                key(&fixture.w3_course)
            };
            target
                .execute(&format!(
                    "DELETE FROM enrollment WHERE course_id = {course}"
                ))
                .await?;
            match target.hand {
                Hand::Postgres { .. } => target.execute("VACUUM enrollment").await?,
                // The deleted rows stay in the indexes, marked, until InnoDB's background
                // purge removes them, which an old snapshot of another session can hold
                // off: the next run's reads of the course would step over them (W1's read
                // of the existing pairs took 11–36 ms instead of under 1 ms). Rebuilt.
                Hand::Mysql { .. } => target.execute("OPTIMIZE TABLE enrollment").await?,
                Hand::Sqlite { .. } => {}
            }
        }
        Workload::SetChurn => fixture.w2_state = 1 - fixture.w2_state,
        Workload::ReaddUpdate => {
            let (_, given) = fixture.w7_grades();
            let updated = fixture
                .w7_course
                .students()
                .links()?
                .filter(Enrollment::GRADE.eq(given))
                .count(&target.db)
                .await?;
            if updated != fixture.n as u64 {
                return Err(format!(
                    "W7u on {}: {updated} of {} rows hold the grade {given:?} given",
                    target.name, fixture.n
                )
                .into());
            }
            fixture.w7_state = 1 - fixture.w7_state;
            // The N old row versions: vacuumed, so that no side reads past another's.
            if let Hand::Postgres { .. } = target.hand {
                target.execute("VACUUM enrollment").await?;
            }
        }
        Workload::Concurrency => {
            // Every link the batch reported is stored (and no other), then all are removed.
            if let Some(linked) = fixture.w8_linked {
                let mut stored = 0;
                for course in &fixture.w8_courses {
                    stored += course.students().count(&target.db).await?;
                }
                if stored as i64 != linked {
                    return Err(format!(
                        "W8 on {}: {stored} links stored, {linked} reported linked",
                        target.name
                    )
                    .into());
                }
            }
            let courses: Vec<String> = fixture
                .w8_courses
                .iter()
                .map(|c| key(c).to_string())
                .collect();
            target
                .execute(&format!(
                    "DELETE FROM enrollment WHERE course_id IN ({})",
                    courses.join(", ")
                ))
                .await?;
            match target.hand {
                Hand::Postgres { .. } => target.execute("VACUUM enrollment").await?,
                // As after W1 and W3: no side reads past the other's deleted entries.
                Hand::Mysql { .. } => target.execute("OPTIMIZE TABLE enrollment").await?,
                Hand::Sqlite { .. } => {}
            }
        }
        Workload::Prefetch | Workload::Filter | Workload::Aggregates | Workload::ReaddSkip => {}
    }
    if matches!(
        workload,
        Workload::BulkAdd
            | Workload::SetChurn
            | Workload::SingleAdds
            | Workload::ReaddUpdate
            | Workload::Concurrency
    ) && let Hand::Sqlite { .. } = target.hand
    {
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(())
}

fn add_summary(linked: usize, already: usize, differing: usize) -> Summary {
    vec![linked as i64, already as i64, differing as i64]
}

/// W7's summary: the counts of an add's lists, the differing targets' keys (summed, and
/// weighted by position: both sides report them in the order given), how many of them
/// report the grade stored before the call (`stored`: W7u flips it from run to run), and the
/// updated targets' keys weighted by position.
fn readd_summary<'a>(
    linked: usize,
    already: usize,
    differing: impl Iterator<Item = (i64, Option<&'a str>)>,
    updated: impl Iterator<Item = i64>,
    stored: &str,
) -> Summary {
    let mut summary = vec![linked as i64, already as i64, 0, 0, 0, 0, 0, 0];
    for (position, (id, reported)) in differing.enumerate() {
        summary[2] += 1;
        summary[3] += id;
        summary[4] += position as i64 * id;
        summary[5] += i64::from(reported == Some(stored));
    }
    for (position, id) in updated.enumerate() {
        summary[6] += 1;
        summary[7] += position as i64 * id;
    }
    summary
}

/// W7's summary of the ORM's outcome (one differing field, the grade, per target).
fn orm_readd_summary(out: &throughline::AddOutcome, stored: &str) -> Summary {
    readd_summary(
        out.linked.len(),
        out.already_linked.len(),
        out.differing.iter().map(|d| {
            let reported = match d.fields.as_slice() {
                [only] if only.field == "grade" => only.stored.as_str(),
                _ => None,
            };
            (d.target.as_i64().unwrap_or_default(), reported)
        }),
        out.updated.iter().map(|k| k.as_i64().unwrap_or_default()),
        stored,
    )
}

fn hand_readd_summary(out: &AddResult, stored: &str) -> Summary {
    readd_summary(
        out.linked.len(),
        out.already_linked.len(),
        out.differing
            .iter()
            .map(|(id, reported)| (*id, Some(reported.as_str()))),
        out.updated.iter().copied(),
        stored,
    )
}

/// W7's students: the first N, all linked to W7's course.
fn w7_students(fixture: &Fixture) -> &[crate::models::Student] {
    &fixture.students[..fixture.n]
}

/// W8 runs in `concurrency`, called from [`run_one`].
const W8_ELSEWHERE: &str = "W8 runs in `concurrency`";

async fn run_orm(
    exec: &impl Executor,
    fixture: &Fixture,
    workload: Workload,
) -> Result<(Duration, Summary), BoxError> {
    let started = Instant::now();
    let summary = match workload {
        Workload::BulkAdd => {
            let out =
                orm::bulk_add(&fixture.w1_course, &fixture.students[..fixture.n], exec).await?;
            let elapsed = started.elapsed();
            return Ok((
                elapsed,
                add_summary(
                    out.linked.len(),
                    out.already_linked.len(),
                    out.differing.len(),
                ),
            ));
        }
        Workload::SetChurn => {
            let wanted = &fixture.w2_sets[1 - fixture.w2_state];
            let out = orm::set(&fixture.w2_course, wanted, exec).await?;
            let elapsed = started.elapsed();
            let removed: i64 = out
                .removed
                .iter()
                .map(|e| e.student.key().as_i64().unwrap_or_default() + e.grade.len() as i64)
                .sum();
            return Ok((
                elapsed,
                vec![
                    out.kept.len() as i64,
                    out.added.linked.len() as i64,
                    out.removed.len() as i64,
                    removed - fixture.w2_dropped[1 - fixture.w2_state],
                ],
            ));
        }
        Workload::SingleAdds => {
            let linked = orm::single_adds(&fixture.w3_course, &fixture.w3_students, exec).await?;
            vec![linked as i64]
        }
        Workload::Prefetch => {
            let groups = orm::prefetch(&fixture.w4_courses, exec).await?;
            let elapsed = started.elapsed();
            let rows: usize = groups.iter().map(Vec::len).sum();
            let mut check = [0i64; 4];
            for group in &groups {
                for (position, e) in group.iter().enumerate() {
                    check[0] += e.id.unwrap_or_default() + e.grade.len() as i64;
                    // Order-sensitive: both sides return each course's rows by id.
                    check[3] += position as i64 * e.id.unwrap_or_default();
                    if let Some(s) = e.student.loaded() {
                        check[1] += s.id.unwrap_or_default();
                        check[2] += (s.name.len() + s.email.len()) as i64;
                    }
                }
            }
            let mut summary = vec![groups.len() as i64, rows as i64];
            summary.extend(check);
            return Ok((elapsed, summary));
        }
        Workload::Filter => {
            let students = orm::filter(&fixture.w5_course, "A", exec).await?;
            let elapsed = started.elapsed();
            let ids: i64 = students.iter().filter_map(|s| s.id).sum();
            let text: usize = students.iter().map(|s| s.name.len() + s.email.len()).sum();
            return Ok((elapsed, vec![students.len() as i64, ids, text as i64]));
        }
        Workload::ReaddSkip | Workload::ReaddUpdate => {
            let policy = if workload == Workload::ReaddUpdate {
                OnExisting::Update
            } else {
                OnExisting::Skip
            };
            let (stored, given) = fixture.w7_grades();
            let out = orm::readd(
                &fixture.w7_course,
                w7_students(fixture),
                given,
                policy,
                exec,
            )
            .await?;
            let elapsed = started.elapsed();
            return Ok((elapsed, orm_readd_summary(&out, stored)));
        }
        Workload::Concurrency => return Err(W8_ELSEWHERE.into()),
        Workload::Aggregates => {
            let rows = orm::aggregates(&fixture.w4_courses, exec).await?;
            let elapsed = started.elapsed();
            let stats = rows.iter().map(|(course, (students, mean))| {
                (
                    course.id.unwrap_or_default(),
                    course.title.len(),
                    *students,
                    *mean,
                )
            });
            return Ok((elapsed, stats_summary(stats)));
        }
    };
    Ok((started.elapsed(), summary))
}

fn hand_add_summary(out: &AddResult) -> Summary {
    add_summary(
        out.linked.len(),
        out.already_linked.len(),
        out.differing.len(),
    )
}

/// W2's summary; the deleted rows' keys are checked against what the set should delete.
fn hand_set_summary(out: &SetResult, fixture: &Fixture) -> Summary {
    let removed: i64 = out
        .removed
        .iter()
        .map(|e| e.student_id + e.grade.len() as i64)
        .sum();
    vec![
        out.kept.len() as i64,
        out.added.linked.len() as i64,
        out.removed.len() as i64,
        removed - fixture.w2_dropped[1 - fixture.w2_state],
    ]
}

fn ids(students: &[crate::models::Student]) -> Vec<i64> {
    students.iter().filter_map(|s| s.id).collect()
}

/// Statements of a hand-written call and whether it used a transaction.
fn counted<T>(c: &Counted<T>, transaction: bool) -> (usize, bool) {
    (c.statements, transaction)
}

async fn run_hand(
    hand: &mut Hand,
    fixture: &Fixture,
    workload: Workload,
    side: Side,
) -> Result<(Duration, Summary, Stmts), BoxError> {
    let n = fixture.n;
    match hand {
        Hand::Sqlite { thread, sync } => {
            let started = Instant::now();
            let (summary, stmts) = match (workload, side) {
                (Workload::Concurrency, _) => return Err(W8_ELSEWHERE.into()),
                (Workload::BulkAdd, Side::HandSync) => {
                    let out = hand_sqlite::add_many(
                        sync,
                        key(&fixture.w1_course),
                        &ids(&fixture.students[..n]),
                        "B",
                    )?;
                    (hand_add_summary(&out.value), counted(&out, false))
                }
                (Workload::BulkAdd, _) => {
                    let course = key(&fixture.w1_course);
                    let targets = ids(&fixture.students[..n]);
                    let out = thread
                        .run(move |c| hand_sqlite::add_many(c, course, &targets, "B"))
                        .await?;
                    (hand_add_summary(&out.value), counted(&out, false))
                }
                (Workload::SetChurn, Side::HandSync) => {
                    let wanted = ids(&fixture.w2_sets[1 - fixture.w2_state]);
                    let out = hand_sqlite::set(sync, key(&fixture.w2_course), &wanted, "B")?;
                    (hand_set_summary(&out.value, fixture), counted(&out, true))
                }
                (Workload::SetChurn, _) => {
                    let course = key(&fixture.w2_course);
                    let wanted = ids(&fixture.w2_sets[1 - fixture.w2_state]);
                    let out = thread
                        .run(move |c| hand_sqlite::set(c, course, &wanted, "B"))
                        .await?;
                    (hand_set_summary(&out.value, fixture), counted(&out, true))
                }
                (Workload::SingleAdds, Side::HandSync) => {
                    let course = key(&fixture.w3_course);
                    let mut linked = 0;
                    let mut statements = 0;
                    for student in &fixture.w3_students {
                        let out = hand_sqlite::add_one(sync, course, key(student))?;
                        linked += out.value.linked.len();
                        statements += out.statements;
                    }
                    (vec![linked as i64], (statements, false))
                }
                (Workload::SingleAdds, _) => {
                    let course = key(&fixture.w3_course);
                    let mut linked = 0;
                    let mut statements = 0;
                    for student in &fixture.w3_students {
                        let id = key(student);
                        let out = thread
                            .run(move |c| hand_sqlite::add_one(c, course, id))
                            .await?;
                        linked += out.value.linked.len();
                        statements += out.statements;
                    }
                    (vec![linked as i64], (statements, false))
                }
                (Workload::Prefetch, Side::HandSync) => {
                    let courses = ids_of_courses(fixture);
                    let out = hand_sqlite::links(sync, &courses)?;
                    (links_summary(&out.value), counted(&out, false))
                }
                (Workload::Prefetch, _) => {
                    let courses = ids_of_courses(fixture);
                    let out = thread.run(move |c| hand_sqlite::links(c, &courses)).await?;
                    (links_summary(&out.value), counted(&out, false))
                }
                (Workload::Filter, Side::HandSync) => {
                    let out = hand_sqlite::filter(sync, key(&fixture.w5_course), "A")?;
                    (students_summary(&out.value), counted(&out, false))
                }
                (Workload::Filter, _) => {
                    let course = key(&fixture.w5_course);
                    let out = thread
                        .run(move |c| hand_sqlite::filter(c, course, "A"))
                        .await?;
                    (students_summary(&out.value), counted(&out, false))
                }
                (Workload::Aggregates, Side::HandSync) => {
                    let out = hand_sqlite::aggregates(sync, &ids_of_courses(fixture))?;
                    (hand_stats_summary(&out.value), counted(&out, false))
                }
                (Workload::Aggregates, _) => {
                    let courses = ids_of_courses(fixture);
                    let out = thread
                        .run(move |c| hand_sqlite::aggregates(c, &courses))
                        .await?;
                    (hand_stats_summary(&out.value), counted(&out, false))
                }
                (Workload::ReaddSkip, Side::HandSync) => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let out =
                        hand_sqlite::readd_skip(sync, course, &ids(w7_students(fixture)), given)?;
                    (hand_readd_summary(&out.value, stored), counted(&out, false))
                }
                (Workload::ReaddSkip, _) => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out = thread
                        .run(move |c| hand_sqlite::readd_skip(c, course, &targets, given))
                        .await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, false))
                }
                (Workload::ReaddUpdate, Side::HandSync) => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out = hand_sqlite::readd_update(sync, course, &targets, given)?;
                    (hand_readd_summary(&out.value, stored), counted(&out, true))
                }
                (Workload::ReaddUpdate, _) => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out = thread
                        .run(move |c| hand_sqlite::readd_update(c, course, &targets, given))
                        .await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, true))
                }
            };
            Ok((started.elapsed(), summary, Stmts::Count(stmts)))
        }
        Hand::Postgres { client, prepared } => {
            let p = &*prepared;
            let started = Instant::now();
            let (summary, stmts) = match workload {
                Workload::Concurrency => return Err(W8_ELSEWHERE.into()),
                Workload::BulkAdd => {
                    let out = hand_postgres::add_many(
                        client,
                        p,
                        key(&fixture.w1_course),
                        &ids(&fixture.students[..n]),
                        "B",
                    )
                    .await?;
                    (hand_add_summary(&out.value), counted(&out, false))
                }
                Workload::SetChurn => {
                    let wanted = ids(&fixture.w2_sets[1 - fixture.w2_state]);
                    let course = key(&fixture.w2_course);
                    let out = hand_postgres::set(client, p, course, &wanted, "B").await?;
                    (hand_set_summary(&out.value, fixture), counted(&out, true))
                }
                Workload::SingleAdds => {
                    let course = key(&fixture.w3_course);
                    let mut linked = 0;
                    let mut statements = 0;
                    for student in &fixture.w3_students {
                        let out = hand_postgres::add_one(client, p, course, key(student)).await?;
                        linked += out.value.linked.len();
                        statements += out.statements;
                    }
                    (vec![linked as i64], (statements, false))
                }
                Workload::Prefetch => {
                    let out = hand_postgres::links(client, p, &ids_of_courses(fixture)).await?;
                    (links_summary(&out.value), counted(&out, false))
                }
                Workload::Filter => {
                    let out =
                        hand_postgres::filter(client, p, key(&fixture.w5_course), "A").await?;
                    (students_summary(&out.value), counted(&out, false))
                }
                Workload::Aggregates => {
                    let out =
                        hand_postgres::aggregates(client, p, &ids_of_courses(fixture)).await?;
                    (hand_stats_summary(&out.value), counted(&out, false))
                }
                Workload::ReaddSkip => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out = hand_postgres::readd_skip(client, p, course, &targets, given).await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, false))
                }
                Workload::ReaddUpdate => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out =
                        hand_postgres::readd_update(client, p, course, &targets, given).await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, true))
                }
            };
            Ok((started.elapsed(), summary, Stmts::Count(stmts)))
        }
        Hand::Mysql { conn } => {
            let started = Instant::now();
            let (summary, stmts) = match workload {
                Workload::Concurrency => return Err(W8_ELSEWHERE.into()),
                Workload::BulkAdd => {
                    let course = key(&fixture.w1_course);
                    let out = hand_mysql::add_many(conn, course, &ids(&fixture.students[..n]), "B")
                        .await?;
                    (hand_add_summary(&out.value), counted(&out, true))
                }
                Workload::SetChurn => {
                    let wanted = ids(&fixture.w2_sets[1 - fixture.w2_state]);
                    let course = key(&fixture.w2_course);
                    let out = hand_mysql::set(conn, course, &wanted, "B").await?;
                    (hand_set_summary(&out.value, fixture), counted(&out, true))
                }
                Workload::SingleAdds => {
                    let course = key(&fixture.w3_course);
                    let mut linked = 0;
                    let mut statements = 0;
                    for student in &fixture.w3_students {
                        let out = hand_mysql::add_one(conn, course, key(student)).await?;
                        linked += out.value.linked.len();
                        statements += out.statements;
                    }
                    (vec![linked as i64], (statements, true))
                }
                Workload::Prefetch => {
                    let out = hand_mysql::links(conn, &ids_of_courses(fixture)).await?;
                    (links_summary(&out.value), counted(&out, false))
                }
                Workload::Filter => {
                    let out = hand_mysql::filter(conn, key(&fixture.w5_course), "A").await?;
                    (students_summary(&out.value), counted(&out, false))
                }
                Workload::Aggregates => {
                    let out = hand_mysql::aggregates(conn, &ids_of_courses(fixture)).await?;
                    (hand_stats_summary(&out.value), counted(&out, false))
                }
                Workload::ReaddSkip => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let out = hand_mysql::add_many(conn, course, &ids(w7_students(fixture)), given)
                        .await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, true))
                }
                Workload::ReaddUpdate => {
                    let (stored, given) = fixture.w7_grades();
                    let course = key(&fixture.w7_course);
                    let targets = ids(w7_students(fixture));
                    let out = hand_mysql::readd_update(conn, course, &targets, given).await?;
                    (hand_readd_summary(&out.value, stored), counted(&out, true))
                }
            };
            Ok((started.elapsed(), summary, Stmts::Count(stmts)))
        }
    }
}

fn ids_of_courses(fixture: &Fixture) -> Vec<i64> {
    fixture.w4_courses.iter().map(key).collect()
}

fn links_summary(groups: &[Vec<crate::hand::LinkRow>]) -> Summary {
    let rows: usize = groups.iter().map(Vec::len).sum();
    let mut check = [0i64; 4];
    for group in groups {
        for (position, l) in group.iter().enumerate() {
            check[0] += l.enrollment.id + l.enrollment.grade.len() as i64;
            check[1] += l.student.id;
            check[2] += (l.student.name.len() + l.student.email.len()) as i64;
            check[3] += position as i64 * l.enrollment.id;
        }
    }
    let mut summary = vec![groups.len() as i64, rows as i64];
    summary.extend(check);
    summary
}

fn students_summary(students: &[crate::hand::StudentRow]) -> Summary {
    vec![
        students.len() as i64,
        students.iter().map(|s| s.id).sum::<i64>(),
        students
            .iter()
            .map(|s| (s.name.len() + s.email.len()) as i64)
            .sum::<i64>(),
    ]
}

/// W6's summary, from `(course key, title length, students, mean points)` in the order
/// returned: the rows, the sums of the keys, title lengths and counts, the means weighted
/// by position (in millionths, so that the sides' floats compare as integers), the courses
/// without a mean, and the keys weighted by position (the order).
fn stats_summary(rows: impl Iterator<Item = (i64, usize, i64, Option<f64>)>) -> Summary {
    let mut summary = vec![0i64; 7];
    for (position, (id, title, students, mean)) in rows.enumerate() {
        let position = position as i64;
        summary[0] += 1;
        summary[1] += id;
        summary[2] += title as i64;
        summary[3] += students;
        match mean {
            Some(mean) => summary[4] += (position + 1) * (mean * 1e6).round() as i64,
            None => summary[5] += 1,
        }
        summary[6] += position * id;
    }
    summary
}

fn hand_stats_summary(rows: &[crate::hand::CourseStats]) -> Summary {
    stats_summary(
        rows.iter()
            .map(|r| (r.id, r.title.len(), r.students, r.mean_points)),
    )
}
