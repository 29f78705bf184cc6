//! The hand-written PostgreSQL side: the best statements we can write on tokio-postgres
//! (prepared once, id sets bound as one `bigint[]` parameter with `unnest`/`= ANY`, one
//! `INSERT ... SELECT` for a bulk add, one `DELETE ... RETURNING` for a set, one join for the
//! prefetch, one grouped join for the aggregates). Adds are one autocommit statement (`ON
//! CONFLICT DO NOTHING` makes them idempotent without a lock); a set locks the course row
//! first (`FOR UPDATE`), so concurrent sets leave one of the lists, as the ORM guarantees.
//! A re-add of linked targets (W7) reads their stored grades first; under the update
//! policy it locks the course row, reads, and updates the differing pairs in one
//! `UPDATE ... WHERE student_id = ANY($3)`.

use crate::hand::{
    AddResult, Counted, CourseStats, EnrollmentRow, HashMap, HashSet, LinkRow, SetResult,
    StudentRow, classify, dedupe, group_links, merge_added, split_inserted,
};
use tokio_postgres::{Client, GenericClient, Row, Statement};

/// Single add: one autocommit statement.
const ADD_ONE: &str = "INSERT INTO enrollment (student_id, course_id, grade) VALUES ($1, $2, $3) \
     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING student_id";

/// A course's students (W8's read): W5's join without the grade.
const STUDENTS: &str = "SELECT s.id, s.name, s.email FROM student s \
     JOIN enrollment e ON e.student_id = s.id WHERE e.course_id = $1";

/// The prepared statements.
pub struct Prepared {
    add_many: Statement,
    add_one: Statement,
    stored: Statement,
    update_grade: Statement,
    lock: Statement,
    linked: Statement,
    delete_listed: Statement,
    links: Statement,
    filter: Statement,
    aggregates: Statement,
}

impl Prepared {
    /// Prepares every statement on `client`.
    pub async fn new(client: &Client) -> Result<Prepared, tokio_postgres::Error> {
        Ok(Prepared {
            add_many: client
                .prepare(
                    "INSERT INTO enrollment (student_id, course_id, grade) \
                     SELECT s, $1, $2 FROM unnest($3::bigint[]) AS s \
                     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING student_id",
                )
                .await?,
            add_one: client.prepare(ADD_ONE).await?,
            stored: client
                .prepare(
                    "SELECT student_id, grade FROM enrollment \
                     WHERE course_id = $1 AND student_id = ANY($2)",
                )
                .await?,
            update_grade: client
                .prepare(
                    "UPDATE enrollment SET grade = $1 \
                     WHERE course_id = $2 AND student_id = ANY($3)",
                )
                .await?,
            lock: client
                .prepare("SELECT id FROM course WHERE id = $1 FOR UPDATE")
                .await?,
            linked: client
                .prepare("SELECT student_id FROM enrollment WHERE course_id = $1")
                .await?,
            delete_listed: client
                .prepare(
                    "DELETE FROM enrollment e USING unnest($2::bigint[]) AS d(s) \
                     WHERE e.course_id = $1 AND e.student_id = d.s \
                     RETURNING e.id, e.student_id, e.course_id, e.grade",
                )
                .await?,
            links: client
                .prepare(
                    "SELECT e.id, e.student_id, e.course_id, e.grade, s.id, s.name, s.email \
                     FROM enrollment e JOIN student s ON s.id = e.student_id \
                     WHERE e.course_id = ANY($1)",
                )
                .await?,
            filter: client
                .prepare(
                    "SELECT s.id, s.name, s.email FROM student s \
                     JOIN enrollment e ON e.student_id = s.id \
                     WHERE e.course_id = $1 AND e.grade = $2",
                )
                .await?,
            // The points as `float8` constants (`4.0` alone is `numeric`, whose mean
            // tokio-postgres does not decode into an `f64`, and which PostgreSQL adds more
            // slowly).
            aggregates: client
                .prepare(
                    "SELECT c.id, c.title, COUNT(e.student_id), \
                     AVG(CASE e.grade WHEN 'A' THEN 4::float8 WHEN 'B' THEN 3::float8 \
                     WHEN 'C' THEN 2::float8 ELSE 0::float8 END) \
                     FROM course c LEFT JOIN enrollment e ON e.course_id = c.id \
                     WHERE c.id = ANY($1) GROUP BY c.id ORDER BY c.id",
                )
                .await?,
        })
    }
}

type PgResult<T> = Result<Counted<T>, tokio_postgres::Error>;

fn enrollment(row: &Row) -> EnrollmentRow {
    EnrollmentRow {
        id: row.get(0),
        student_id: row.get(1),
        course_id: row.get(2),
        grade: row.get(3),
    }
}

/// Adds `ids` to `course` with `grade` (see [`crate::hand_sqlite::add_many`]).
pub async fn add_many(
    client: &Client,
    p: &Prepared,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> PgResult<AddResult> {
    let wanted = dedupe(ids);
    let inserted: HashSet<i64> = client
        .query(&p.add_many, &[&course, &grade, &wanted])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut result = split_inserted(&wanted, &inserted);
    let mut statements = 1;
    if !result.already_linked.is_empty() {
        statements += 1;
        for row in client
            .query(&p.stored, &[&course, &result.already_linked])
            .await?
        {
            let stored: String = row.get(1);
            if stored != grade {
                result.differing.push((row.get(0), stored));
            }
        }
    }
    Ok(Counted {
        value: result,
        statements,
    })
}

/// W7: adds `ids` to `course` with `grade` reading first, for targets expected to be
/// linked already (see `hand_sqlite::readd`): one read of the stored grades, an insert only
/// of missing targets, and with `update` one `UPDATE` of the differing pairs.
async fn readd(
    client: &impl GenericClient,
    p: &Prepared,
    course: i64,
    ids: &[i64],
    grade: &str,
    update: bool,
) -> PgResult<AddResult> {
    let wanted = dedupe(ids);
    let mut stored: HashMap<i64, String> =
        HashMap::with_capacity_and_hasher(wanted.len(), Default::default());
    for row in client.query(&p.stored, &[&course, &wanted]).await? {
        stored.insert(row.get(0), row.get(1));
    }
    let (mut result, missing) = classify(&wanted, &mut stored, grade);
    let mut statements = 1;
    if !missing.is_empty() {
        statements += 1;
        let inserted: HashSet<i64> = client
            .query(&p.add_many, &[&course, &grade, &missing])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        merge_added(&mut result, split_inserted(&missing, &inserted));
    }
    if update && !result.differing.is_empty() {
        statements += 1;
        let keys: Vec<i64> = result.differing.iter().map(|(id, _)| *id).collect();
        client
            .execute(&p.update_grade, &[&grade, &course, &keys])
            .await?;
        result.updated = keys;
    }
    Ok(Counted {
        value: result,
        statements,
    })
}

/// W7s, re-add under the skip policy: one autocommit read (and an insert only for missing
/// targets; W7 has none). The differing pairs are reported, not written.
pub async fn readd_skip(
    client: &Client,
    p: &Prepared,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> PgResult<AddResult> {
    readd(client, p, course, ids, grade, false).await
}

/// W7u, re-add under the update policy: one transaction of three statements: lock the
/// course row (so the read stays true until the update, as the ORM's add does), read the
/// stored grades, one `UPDATE` of the differing pairs.
pub async fn readd_update(
    client: &mut Client,
    p: &Prepared,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> PgResult<AddResult> {
    let tx = client.transaction().await?;
    tx.query(&p.lock, &[&course]).await?;
    let mut out = readd(&tx, p, course, ids, grade, true).await?;
    tx.commit().await?;
    out.statements += 1;
    Ok(out)
}

/// Adds one target with the default grade: one autocommit statement.
pub async fn add_one(client: &Client, p: &Prepared, course: i64, id: i64) -> PgResult<AddResult> {
    let linked = client
        .query_opt(&p.add_one, &[&id, &course, &""])
        .await?
        .is_some();
    Ok(added_one(id, linked))
}

/// What a single add of `id` reports, given whether its insert returned a row.
fn added_one(id: i64, linked: bool) -> Counted<AddResult> {
    let value = if linked {
        AddResult {
            linked: vec![id],
            ..AddResult::default()
        }
    } else {
        AddResult {
            already_linked: vec![id],
            ..AddResult::default()
        }
    };
    Counted {
        value,
        statements: 1,
    }
}

/// Makes the course's students exactly `ids`, in one transaction: lock the course row, read
/// its linked students, delete the unwanted pairs (returned in full; a join on `unnest`, one
/// index probe each), insert only the new ones. (A single `DELETE ... NOT IN (SELECT
/// unnest($2))` followed by an insert of every wanted key is one statement fewer but
/// measured slower.)
pub async fn set(
    client: &mut Client,
    p: &Prepared,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> PgResult<SetResult> {
    let wanted = dedupe(ids);
    let tx = client.transaction().await?;
    tx.query(&p.lock, &[&course]).await?;
    let existing: HashSet<i64> = tx
        .query(&p.linked, &[&course])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let wanted_set: HashSet<i64> = wanted.iter().copied().collect();
    let drop: Vec<i64> = existing
        .iter()
        .copied()
        .filter(|id| !wanted_set.contains(id))
        .collect();
    let (kept, add): (Vec<i64>, Vec<i64>) = wanted.iter().partition(|id| existing.contains(id));
    let mut statements = 2;
    let removed = if drop.is_empty() {
        Vec::new()
    } else {
        statements += 1;
        tx.query(&p.delete_listed, &[&course, &drop])
            .await?
            .iter()
            .map(enrollment)
            .collect()
    };
    let added = if add.is_empty() {
        AddResult::default()
    } else {
        statements += 1;
        let inserted: HashSet<i64> = tx
            .query(&p.add_many, &[&course, &grade, &add])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        split_inserted(&add, &inserted)
    };
    tx.commit().await?;
    Ok(Counted {
        value: SetResult {
            kept,
            added,
            removed,
        },
        statements,
    })
}

/// Every through row of `courses` with its student, grouped by course, each course's rows
/// by id.
pub async fn links(client: &Client, p: &Prepared, courses: &[i64]) -> PgResult<Vec<Vec<LinkRow>>> {
    let rows = client
        .query(&p.links, &[&courses])
        .await?
        .iter()
        .map(|row| LinkRow {
            enrollment: enrollment(row),
            student: StudentRow {
                id: row.get(4),
                name: row.get(5),
                email: row.get(6),
            },
        })
        .collect();
    Ok(Counted {
        value: group_links(courses, rows),
        statements: 1,
    })
}

/// The course's students whose enrollment has `grade`.
pub async fn filter(
    client: &Client,
    p: &Prepared,
    course: i64,
    grade: &str,
) -> PgResult<Vec<StudentRow>> {
    let value = client
        .query(&p.filter, &[&course, &grade])
        .await?
        .iter()
        .map(|row| StudentRow {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
        })
        .collect();
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// Each of `courses` with its number of students and mean grade points, by key.
pub async fn aggregates(
    client: &Client,
    p: &Prepared,
    courses: &[i64],
) -> PgResult<Vec<CourseStats>> {
    let value = client
        .query(&p.aggregates, &[&courses])
        .await?
        .iter()
        .map(|row| CourseStats {
            id: row.get(0),
            title: row.get(1),
            students: row.get(2),
            mean_points: row.get(3),
        })
        .collect();
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// W8's hand-written pool: deadpool-postgres over tokio-postgres with the settings of
/// throughline's pool (`max_size` connections, `RecyclingMethod::Fast`, `wait` for a free
/// connection or a new one), on the same configuration (schema in `search_path`).
pub fn pool(
    config: tokio_postgres::Config,
    max_size: usize,
    wait: std::time::Duration,
) -> Result<deadpool_postgres::Pool, deadpool_postgres::BuildError> {
    use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(wait))
        .create_timeout(Some(wait))
        .runtime(Runtime::Tokio1)
        .build()
}

/// W8's single add on a pooled connection: [`add_one`]'s statement, prepared once per
/// connection (deadpool's statement cache, as throughline's driver).
pub async fn add_one_pooled(
    client: &deadpool_postgres::Client,
    course: i64,
    id: i64,
) -> PgResult<AddResult> {
    let insert = client.prepare_cached(ADD_ONE).await?;
    let linked = client
        .query_opt(&insert, &[&id, &course, &""])
        .await?
        .is_some();
    Ok(added_one(id, linked))
}

/// W8's read on a pooled connection: the course's students.
pub async fn students_pooled(
    client: &deadpool_postgres::Client,
    course: i64,
) -> PgResult<Vec<StudentRow>> {
    let select = client.prepare_cached(STUDENTS).await?;
    let value = client
        .query(&select, &[&course])
        .await?
        .iter()
        .map(|row| StudentRow {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
        })
        .collect();
    Ok(Counted {
        value,
        statements: 1,
    })
}
