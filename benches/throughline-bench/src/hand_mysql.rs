//! The hand-written MariaDB side: the best statements we can write on the driver
//! throughline uses there, sqlx's MySQL driver (`sqlx-mysql` through `sqlx-core`, without
//! the `sqlx` facade), on one connection with throughline's session settings (strict mode,
//! `ANSI_QUOTES`, `utf8mb4`, UTC). Statements are prepared once per connection (sqlx's
//! statement cache) and id sets are bound as one JSON parameter read through
//! `JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$'))`, so no statement's text depends on N.
//!
//! MariaDB has no `ON CONFLICT`, and `INSERT IGNORE` is not an option (even in strict mode it
//! truncates values and drops rows whose foreign key fails, as warnings), so an add cannot
//! be one idempotent insert as on SQLite and PostgreSQL: it locks the course row
//! (`SELECT ... FOR UPDATE`), reads the existing pairs and inserts the missing ones with one
//! `INSERT ... SELECT ... FROM JSON_TABLE ... RETURNING`, in one transaction — what
//! throughline does there too. A re-add under the update policy (W7u) then updates the
//! differing pairs with one `UPDATE` joined to `JSON_TABLE`. A set locks the course row,
//! reads its through rows, deletes the unwanted ones by key (a `DELETE` joined to
//! `JSON_TABLE`: see `DELETE_ROWS` for why not `DELETE ... WHERE ... IN (...) RETURNING`)
//! and inserts the new ones.

use crate::hand::{
    AddResult, Counted, CourseStats, EnrollmentRow, HashMap, HashSet, LinkRow, SetResult,
    StudentRow, classify, dedupe, group_links, merge_added, split_inserted,
};
use sqlx_core::connection::{ConnectOptions, Connection};
use sqlx_core::executor::Executor;
use sqlx_core::query::Query;
use sqlx_core::row::Row;
use sqlx_core::sql_str::AssertSqlSafe;
use sqlx_mysql::{MySql, MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlRow};
use std::fmt::Write as _;

/// The session settings of every throughline connection (`throughline-db`'s `mysql.rs`),
/// run on the hand-written connection too, so that both sides' statements run alike.
const SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ANSI_QUOTES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE'";

/// Locks the course row: concurrent adds and sets of one course run one after the other,
/// so the read of the existing pairs stays true until the insert.
const LOCK: &str = "SELECT id FROM course WHERE id = ? FOR UPDATE";

/// Bulk add, under the lock: the stored grades of the requested pairs that exist.
const STORED: &str = "SELECT student_id, grade FROM enrollment \
     WHERE course_id = ? AND student_id IN \
     (SELECT j.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j)";

/// Bulk add and set, under the lock: every missing pair in one statement; the keys returned
/// are the newly linked ones.
const ADD_MANY: &str = "INSERT INTO enrollment (student_id, course_id, grade) \
     SELECT j.v, ?, ? FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j \
     RETURNING student_id";

/// Re-add with the update policy (W7u), under the lock: the given grade into the
/// differing pairs, a join on `JSON_TABLE` (one probe of the pair index each; a single-table
/// `UPDATE ... WHERE student_id IN (SELECT j.v FROM JSON_TABLE(...))` would run the subquery
/// per row of the table, as `DELETE_ROWS` explains).
const UPDATE_GRADE: &str = "UPDATE enrollment e \
     JOIN JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j ON e.student_id = j.v \
     SET e.grade = ? WHERE e.course_id = ?";

/// Single add, under the lock: whether the pair exists (one probe of the pair index).
const LINKED_ONE: &str = "SELECT 1 FROM enrollment WHERE student_id = ? AND course_id = ?";

/// Single add, under the lock, when the pair is missing.
const ADD_ONE: &str = "INSERT INTO enrollment (student_id, course_id, grade) VALUES (?, ?, ?)";

/// Set, under the lock: the course's through rows (the rows to delete are decoded in full
/// from here, the others only for their student).
const LINKED: &str = "SELECT student_id, id, course_id, grade FROM enrollment WHERE course_id = ?";

/// Set, under the lock: delete the unwanted rows by key, a join on `JSON_TABLE` (one probe
/// of the primary key each). Not `DELETE FROM enrollment WHERE course_id = ? AND student_id
/// IN (SELECT j.v FROM JSON_TABLE(...)) RETURNING ...`: MariaDB before 11.1 does not turn
/// the subquery of a single-table `DELETE` into a join and, estimating the `JSON_TABLE` at
/// 40 rows, runs it again for each of the table's rows (1.7 s for 1,000 of W2's 10,000
/// rows, against 6 ms for this join).
const DELETE_ROWS: &str = "DELETE e FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j \
     JOIN enrollment e ON e.id = j.v";

/// Prefetch: every through row of the courses with its student, one join; each course's
/// rows are put in id order by `group_links`.
const LINKS: &str = "SELECT e.id, e.student_id, e.course_id, e.grade, s.id, s.name, s.email \
     FROM enrollment e JOIN student s ON s.id = e.student_id \
     WHERE e.course_id IN \
     (SELECT j.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j)";

/// Filter across the relation on a through field.
const FILTER: &str = "SELECT s.id, s.name, s.email FROM student s \
     JOIN enrollment e ON e.student_id = s.id WHERE e.course_id = ? AND e.grade = ?";

/// A course's students (W8's read): W5's join without the grade.
const STUDENTS: &str = "SELECT s.id, s.name, s.email FROM student s \
     JOIN enrollment e ON e.student_id = s.id WHERE e.course_id = ?";

/// Aggregates: each course with its number of students and the mean of its enrollments'
/// grade points, one grouped join. The points are written as `DOUBLE`s (`4e0`): `4.0` is a
/// `DECIMAL`, whose mean is a `DECIMAL` that sqlx does not decode into an `f64`.
const AGGREGATES: &str = "SELECT c.id, c.title, COUNT(e.student_id), \
     AVG(CASE e.grade WHEN 'A' THEN 4e0 WHEN 'B' THEN 3e0 WHEN 'C' THEN 2e0 ELSE 0e0 END) \
     FROM course c LEFT JOIN enrollment e ON e.course_id = c.id \
     WHERE c.id IN \
     (SELECT j.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j) \
     GROUP BY c.id ORDER BY c.id";

type MyResult<T> = Result<Counted<T>, sqlx_core::Error>;

/// Opens one connection with throughline's connection options (`utf8mb4`, `||` not
/// concatenation, UTC) and runs its session statement.
pub async fn connect(options: MySqlConnectOptions) -> Result<MySqlConnection, sqlx_core::Error> {
    let mut conn = options
        .charset("utf8mb4")
        .pipes_as_concat(false)
        .timezone(Some("+00:00".to_owned()))
        .connect()
        .await?;
    conn.execute(SESSION).await?;
    Ok(conn)
}

/// W8's hand-written pool: sqlx's pool with the settings of throughline's (`max_size`
/// connections, `wait` for one, its defaults otherwise: a connection is pinged when taken
/// and when returned), each connection opened as [`connect`] opens one.
pub fn pool(
    options: MySqlConnectOptions,
    max_size: u32,
    wait: std::time::Duration,
) -> sqlx_core::pool::Pool<MySql> {
    let options = options
        .charset("utf8mb4")
        .pipes_as_concat(false)
        .timezone(Some("+00:00".to_owned()));
    sqlx_mysql::MySqlPoolOptions::new()
        .max_connections(max_size)
        .acquire_timeout(wait)
        .after_connect(|conn, _meta| Box::pin(async move { conn.execute(SESSION).await.map(drop) }))
        .connect_lazy_with(options)
}

/// Runs SQL without results, several statements allowed (untimed set-up and clean-up).
pub async fn batch(conn: &mut MySqlConnection, sql: &str) -> Result<(), sqlx_core::Error> {
    sqlx_core::raw_sql::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .map(drop)
}

/// The first column of the first row of `sql` as text (untimed set-up).
pub async fn text(conn: &mut MySqlConnection, sql: &str) -> Result<String, sqlx_core::Error> {
    let row = sqlx_core::query::query::<MySql>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await?;
    row.try_get::<String, _>(0)
}

/// A JSON array of keys, the one parameter a `JSON_TABLE` reads.
fn json(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len() * 8 + 2);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
    out.push(']');
    out
}

/// Runs `query` and hands each row to `on_row` as it arrives (no `Vec` of rows).
async fn each_row(
    query: Query<'_, MySql, MySqlArguments>,
    conn: &mut MySqlConnection,
    mut on_row: impl FnMut(&MySqlRow) -> Result<(), sqlx_core::Error>,
) -> Result<(), sqlx_core::Error> {
    let mut stream = query.fetch(conn);
    while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        on_row(&row?)?;
    }
    Ok(())
}

/// A prepared (and cached) statement, its parameters bound with `bind` (an encoding error
/// surfaces when it runs).
fn statement(sql: &'static str) -> Query<'static, MySql, MySqlArguments> {
    sqlx_core::query::query(sql)
}

/// A through row read as `id, student_id, course_id, grade`.
fn enrollment(row: &MySqlRow) -> Result<EnrollmentRow, sqlx_core::Error> {
    Ok(EnrollmentRow {
        id: row.try_get(0)?,
        student_id: row.try_get(1)?,
        course_id: row.try_get(2)?,
        grade: row.try_get(3)?,
    })
}

/// Inserts `add` (known to be missing, under the lock) with `grade`; returns what an add
/// reports for them.
async fn insert_missing(
    conn: &mut MySqlConnection,
    course: i64,
    add: &[i64],
    grade: &str,
) -> Result<AddResult, sqlx_core::Error> {
    let mut inserted: HashSet<i64> =
        HashSet::with_capacity_and_hasher(add.len(), Default::default());
    let insert = statement(ADD_MANY).bind(course).bind(grade).bind(json(add));
    each_row(insert, conn, |row| {
        inserted.insert(row.try_get(0)?);
        Ok(())
    })
    .await?;
    Ok(split_inserted(add, &inserted))
}

/// Adds `ids` to `course` with `grade`, returning the same information as `add_with`: the
/// newly linked targets, the already linked ones and their differing grades. One
/// transaction of three statements: lock the course row, read the existing pairs, insert
/// the missing ones (W1; W7s, whose targets are all linked already, runs the first two).
pub async fn add_many(
    conn: &mut MySqlConnection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> MyResult<AddResult> {
    add(conn, course, ids, grade, false).await
}

/// W7u, re-add under the update policy: [`add_many`]'s transaction, and the differing
/// pairs get `grade` in one `UPDATE` joined to `JSON_TABLE` (`UPDATE_GRADE`): three
/// statements when every target is linked (lock, read, update).
pub async fn readd_update(
    conn: &mut MySqlConnection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> MyResult<AddResult> {
    add(conn, course, ids, grade, true).await
}

/// The add of [`add_many`]; with `update`, the update policy.
async fn add(
    conn: &mut MySqlConnection,
    course: i64,
    ids: &[i64],
    grade: &str,
    update: bool,
) -> MyResult<AddResult> {
    let wanted = dedupe(ids);
    let mut tx = conn.begin().await?;
    each_row(statement(LOCK).bind(course), &mut tx, |_| Ok(())).await?;
    let mut stored: HashMap<i64, String> = HashMap::default();
    let read = statement(STORED).bind(course).bind(json(&wanted));
    each_row(read, &mut tx, |row| {
        stored.insert(row.try_get(0)?, row.try_get(1)?);
        Ok(())
    })
    .await?;
    let mut statements = 2;
    let (mut result, missing) = if stored.is_empty() {
        (AddResult::default(), wanted)
    } else {
        classify(&wanted, &mut stored, grade)
    };
    if !missing.is_empty() {
        statements += 1;
        let added = insert_missing(&mut tx, course, &missing, grade).await?;
        merge_added(&mut result, added);
    }
    if update && !result.differing.is_empty() {
        statements += 1;
        let keys: Vec<i64> = result.differing.iter().map(|(id, _)| *id).collect();
        statement(UPDATE_GRADE)
            .bind(json(&keys))
            .bind(grade)
            .bind(course)
            .execute(&mut *tx)
            .await?;
        result.updated = keys;
    }
    tx.commit().await?;
    Ok(Counted {
        value: result,
        statements,
    })
}

/// Adds one target with the default grade (`add()`): one transaction of three statements
/// (lock, probe, insert when missing).
pub async fn add_one(conn: &mut MySqlConnection, course: i64, id: i64) -> MyResult<AddResult> {
    let mut tx = conn.begin().await?;
    each_row(statement(LOCK).bind(course), &mut tx, |_| Ok(())).await?;
    let exists = statement(LINKED_ONE)
        .bind(id)
        .bind(course)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    let value = if exists {
        AddResult {
            already_linked: vec![id],
            ..AddResult::default()
        }
    } else {
        statement(ADD_ONE)
            .bind(id)
            .bind(course)
            .bind("")
            .execute(&mut *tx)
            .await?;
        AddResult {
            linked: vec![id],
            ..AddResult::default()
        }
    };
    tx.commit().await?;
    Ok(Counted {
        statements: if exists { 2 } else { 3 },
        value,
    })
}

/// Makes the course's students exactly `ids` (new rows get `grade`), in one transaction of
/// four statements: lock the course row, read its through rows (the unwanted ones in full:
/// the lock keeps them as read until the commit), delete the unwanted rows by key, insert
/// only the new ones.
pub async fn set(
    conn: &mut MySqlConnection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> MyResult<SetResult> {
    let wanted = dedupe(ids);
    let wanted_set: HashSet<i64> = wanted.iter().copied().collect();
    let mut tx = conn.begin().await?;
    each_row(statement(LOCK).bind(course), &mut tx, |_| Ok(())).await?;
    let mut existing: HashSet<i64> =
        HashSet::with_capacity_and_hasher(wanted.len(), Default::default());
    let mut removed = Vec::new();
    each_row(statement(LINKED).bind(course), &mut tx, |row| {
        let student: i64 = row.try_get(0)?;
        existing.insert(student);
        if !wanted_set.contains(&student) {
            removed.push(EnrollmentRow {
                id: row.try_get(1)?,
                student_id: student,
                course_id: row.try_get(2)?,
                grade: row.try_get(3)?,
            });
        }
        Ok(())
    })
    .await?;
    let (kept, add): (Vec<i64>, Vec<i64>) = wanted.iter().partition(|id| existing.contains(id));
    let mut statements = 2;
    if !removed.is_empty() {
        statements += 1;
        let keys: Vec<i64> = removed.iter().map(|row| row.id).collect();
        let deleted = statement(DELETE_ROWS)
            .bind(json(&keys))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted != keys.len() as u64 {
            // Deleted meanwhile by a writer that does not lock the course row: the rows
            // read are not what was deleted. (The transaction rolls back when dropped.)
            return Err(sqlx_core::Error::Protocol(format!(
                "deleted {deleted} of {} through rows",
                keys.len()
            )));
        }
    }
    let added = if add.is_empty() {
        AddResult::default()
    } else {
        statements += 1;
        insert_missing(&mut tx, course, &add, grade).await?
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
pub async fn links(conn: &mut MySqlConnection, courses: &[i64]) -> MyResult<Vec<Vec<LinkRow>>> {
    let mut rows = Vec::new();
    each_row(statement(LINKS).bind(json(courses)), conn, |row| {
        rows.push(LinkRow {
            enrollment: enrollment(row)?,
            student: StudentRow {
                id: row.try_get(4)?,
                name: row.try_get(5)?,
                email: row.try_get(6)?,
            },
        });
        Ok(())
    })
    .await?;
    Ok(Counted {
        value: group_links(courses, rows),
        statements: 1,
    })
}

/// The course's students whose enrollment has `grade`.
pub async fn filter(
    conn: &mut MySqlConnection,
    course: i64,
    grade: &str,
) -> MyResult<Vec<StudentRow>> {
    let mut value = Vec::new();
    each_row(statement(FILTER).bind(course).bind(grade), conn, |row| {
        value.push(StudentRow {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            email: row.try_get(2)?,
        });
        Ok(())
    })
    .await?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// The course's students (W8's read).
pub async fn students(conn: &mut MySqlConnection, course: i64) -> MyResult<Vec<StudentRow>> {
    let mut value = Vec::new();
    each_row(statement(STUDENTS).bind(course), conn, |row| {
        value.push(StudentRow {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            email: row.try_get(2)?,
        });
        Ok(())
    })
    .await?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// Each of `courses` with its number of students and mean grade points, by key.
pub async fn aggregates(conn: &mut MySqlConnection, courses: &[i64]) -> MyResult<Vec<CourseStats>> {
    let mut value = Vec::with_capacity(courses.len());
    each_row(statement(AGGREGATES).bind(json(courses)), conn, |row| {
        value.push(CourseStats {
            id: row.try_get(0)?,
            title: row.try_get(1)?,
            students: row.try_get(2)?,
            mean_points: row.try_get(3)?,
        });
        Ok(())
    })
    .await?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_lists_keys() {
        assert_eq!(super::json(&[]), "[]");
        assert_eq!(super::json(&[1, -2, 30]), "[1,-2,30]");
    }
}
