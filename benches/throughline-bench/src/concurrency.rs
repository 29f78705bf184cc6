//! W8, issue 19's concurrency workload (the issue numbers it W7, an id taken here):
//! [`W8_TASKS`] tokio tasks started at once, each making [`W8_ADDS`] single adds to a
//! course of its own (distinct (course, student) pairs, so every add inserts), each add
//! followed by a read of that course's students, on the target's pool. The time is the
//! wall time of the whole batch, from the first task's spawn to the last one's end.
//!
//! throughline runs on its pool (`Database`), the hand-written side on a pool of the same
//! shape and settings ([`HandPool`]): on SQLite a writer and throughline's number of
//! readers, each a connection on its own thread; on PostgreSQL deadpool-postgres; on
//! MariaDB sqlx's pool. Its add is W3's hand-written add, its read W5's join without the
//! grade. A failed operation does not stop its task: both sides count their errors (lock
//! and pool timeouts included) and keep the first messages, and a run with errors is
//! reported as failed.

use crate::fixture::{Fixture, HandPool, W8_ADDS, W8_TASKS, key};
use crate::hand::{AddResult, Counted, StudentRow};
use crate::models::{Course, Student};
use crate::{hand_mysql, hand_postgres, hand_sqlite, orm};
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};
use throughline::prelude::*;
use tokio::task::JoinSet;

/// W8's operations in a batch: an add and a read per step of each task.
pub const OPERATIONS: usize = 2 * W8_TASKS * W8_ADDS;

/// The errors a side met: how many, and the first few distinct messages.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    /// Operations that failed (and tasks that panicked).
    pub count: usize,
    /// Up to three distinct messages, in the order met.
    pub samples: Vec<String>,
}

impl Errors {
    /// Counts one error.
    pub fn push(&mut self, message: String) {
        self.count += 1;
        if self.samples.len() < 3 && !self.samples.contains(&message) {
            self.samples.push(message);
        }
    }

    /// Adds `other`'s errors.
    pub fn merge(&mut self, other: Errors) {
        self.count += other.count;
        for message in other.samples {
            if self.samples.len() < 3 && !self.samples.contains(&message) {
                self.samples.push(message);
            }
        }
    }
}

/// What a task (or a batch) did.
#[derive(Debug, Default)]
struct Tally {
    /// Targets the adds reported newly linked.
    linked: u64,
    /// Targets the adds reported linked before (none expected).
    already: u64,
    /// Rows the reads returned (`W8_TASKS × (1 + ... + W8_ADDS)` expected).
    rows: u64,
    /// The keys the reads returned, summed.
    keys: i64,
    /// Statements run (the hand-written side's count; BEGIN/COMMIT not counted).
    statements: usize,
    /// Failed operations.
    errors: Errors,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.linked += other.linked;
        self.already += other.already;
        self.rows += other.rows;
        self.keys += other.keys;
        self.statements += other.statements;
        self.errors.merge(other.errors);
    }

    fn orm_added(&mut self, result: throughline::Result<throughline::AddOutcome>) {
        match result {
            Ok(out) => {
                self.linked += out.linked.len() as u64;
                self.already += out.already_linked.len() as u64;
            }
            Err(error) => self.errors.push(format!("add: {error}")),
        }
    }

    fn orm_read(&mut self, result: throughline::Result<Vec<Student>>) {
        match result {
            Ok(students) => {
                self.rows += students.len() as u64;
                self.keys += students.iter().filter_map(|s| s.id).sum::<i64>();
            }
            Err(error) => self.errors.push(format!("read: {error}")),
        }
    }

    fn hand_added<E: Display>(&mut self, result: Result<Counted<AddResult>, E>) {
        match result {
            Ok(out) => {
                self.linked += out.value.linked.len() as u64;
                self.already += out.value.already_linked.len() as u64;
                self.statements += out.statements;
            }
            Err(error) => self.errors.push(format!("add: {error}")),
        }
    }

    fn hand_read<E: Display>(&mut self, result: Result<Counted<Vec<StudentRow>>, E>) {
        match result {
            Ok(out) => {
                self.rows += out.value.len() as u64;
                self.keys += out.value.iter().map(|s| s.id).sum::<i64>();
                self.statements += out.statements;
            }
            Err(error) => self.errors.push(format!("read: {error}")),
        }
    }
}

/// One batch of W8 on one side.
#[derive(Debug)]
pub struct Batch {
    /// Wall time from the first spawn to the last task's end.
    pub elapsed: Duration,
    /// What every side must agree on (when neither met an error): linked, already
    /// linked, rows read, keys read summed.
    pub summary: Vec<i64>,
    /// Statements run (hand-written side; throughline's are counted by `Counting`).
    pub statements: usize,
    /// Failed operations.
    pub errors: Errors,
}

impl Batch {
    fn new(elapsed: Duration, tally: Tally) -> Batch {
        Batch {
            elapsed,
            summary: vec![
                tally.linked as i64,
                tally.already as i64,
                tally.rows as i64,
                tally.keys,
            ],
            statements: tally.statements,
            errors: tally.errors,
        }
    }
}

/// Waits for every task; a task that panicked counts as an error.
async fn join(mut tasks: JoinSet<Tally>) -> Tally {
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(tally) => total.merge(tally),
            Err(error) => total.errors.push(format!("task: {error}")),
        }
    }
    total
}

/// throughline's batch on `exec` (the pool, or a `Counting` around it in the warm-up).
pub async fn orm<E: Executor + 'static>(exec: Arc<E>, fixture: &Fixture) -> Batch {
    let inputs: Vec<(Course, Vec<Student>)> = (0..W8_TASKS)
        .map(|task| {
            let (course, students) = fixture.w8_task(task);
            (course.clone(), students.into_iter().cloned().collect())
        })
        .collect();
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for (course, students) in inputs {
        let exec = exec.clone();
        tasks.spawn(async move {
            let mut tally = Tally::default();
            for student in &students {
                tally.orm_added(orm::add_one(&course, student, &*exec).await);
                tally.orm_read(orm::students(&course, &*exec).await);
            }
            tally
        });
    }
    let tally = join(tasks).await;
    Batch::new(started.elapsed(), tally)
}

/// The hand-written batch on `pool`.
pub async fn hand(pool: &HandPool, fixture: &Fixture) -> Batch {
    let inputs: Vec<(i64, Vec<i64>)> = (0..W8_TASKS)
        .map(|task| {
            let (course, students) = fixture.w8_task(task);
            (key(course), students.into_iter().map(key).collect())
        })
        .collect();
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for (course, ids) in inputs {
        match pool {
            HandPool::Sqlite(pool) => {
                let pool = pool.clone();
                tasks.spawn(async move {
                    let mut tally = Tally::default();
                    for id in ids {
                        tally.hand_added(
                            pool.writer()
                                .run(move |c| hand_sqlite::add_one(c, course, id))
                                .await,
                        );
                        tally.hand_read(
                            pool.reader()
                                .run(move |c| hand_sqlite::students(c, course))
                                .await,
                        );
                    }
                    tally
                });
            }
            HandPool::Postgres(pool) => {
                let pool = pool.clone();
                tasks.spawn(async move {
                    let mut tally = Tally::default();
                    for id in ids {
                        let added = async {
                            let client = pool.get().await.map_err(|e| e.to_string())?;
                            hand_postgres::add_one_pooled(&client, course, id)
                                .await
                                .map_err(|e| e.to_string())
                        };
                        tally.hand_added(added.await);
                        let read = async {
                            let client = pool.get().await.map_err(|e| e.to_string())?;
                            hand_postgres::students_pooled(&client, course)
                                .await
                                .map_err(|e| e.to_string())
                        };
                        tally.hand_read(read.await);
                    }
                    tally
                });
            }
            HandPool::Mysql(pool) => {
                let pool = pool.clone();
                tasks.spawn(async move {
                    let mut tally = Tally::default();
                    for id in ids {
                        let added = async {
                            let mut conn = pool.acquire().await?;
                            hand_mysql::add_one(&mut conn, course, id).await
                        };
                        tally.hand_added(added.await);
                        let read = async {
                            let mut conn = pool.acquire().await?;
                            hand_mysql::students(&mut conn, course).await
                        };
                        tally.hand_read(read.await);
                    }
                    tally
                });
            }
        }
    }
    let tally = join(tasks).await;
    Batch::new(started.elapsed(), tally)
}

/// The summary an error-free batch returns: every add links, every read after the
/// task's `k`-th add returns its `k` students.
pub fn expected_summary(fixture: &Fixture) -> Vec<i64> {
    let mut keys = 0;
    for task in 0..W8_TASKS {
        let (_, students) = fixture.w8_task(task);
        for (i, student) in students.iter().enumerate() {
            // In every read from its own add on: W8_ADDS - i of the task's reads.
            keys += key(*student) * (W8_ADDS - i) as i64;
        }
    }
    let rows = W8_TASKS * W8_ADDS * (W8_ADDS + 1) / 2;
    vec![(W8_TASKS * W8_ADDS) as i64, 0, rows as i64, keys]
}
