//! The hand-written SQLite side: the best statements we can write on rusqlite (prepared and
//! cached, id sets bound as one `rarray(?)` parameter, one `INSERT ... SELECT` for a bulk
//! add, one `DELETE ... RETURNING` for a set, one join for the prefetch, one read and one
//! `UPDATE ... IN rarray(?)` for a re-add that updates), run either
//! directly (the synchronous physical limit) or behind [`SqliteThread`], the same kind of
//! async hop an async API needs: a dedicated connection thread fed by a channel, one hop per
//! operation (as throughline's own SQLite driver, SPEC §8.5).

use crate::hand::{
    AddResult, Counted, CourseStats, EnrollmentRow, HashMap, HashSet, LinkRow, SetResult,
    StudentRow, classify, dedupe, group_links, merge_added, split_inserted,
};
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use std::rc::Rc;

/// Bulk add: every new pair in one statement; the keys returned are the newly linked ones.
const ADD_MANY: &str = "INSERT INTO enrollment (student_id, course_id, grade) \
     SELECT value, ?1, ?2 FROM rarray(?3) WHERE true \
     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING student_id";

/// Single add.
const ADD_ONE: &str = "INSERT INTO enrollment (student_id, course_id, grade) VALUES (?1, ?2, ?3) \
     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING student_id";

/// The stored grades of already-linked pairs (only run when some pair was linked before).
const STORED: &str =
    "SELECT student_id, grade FROM enrollment WHERE course_id = ?1 AND student_id IN rarray(?2)";

/// Re-add with the update policy (W7u), under the writer lock: the given grade into the
/// differing pairs, one statement for all of them.
const UPDATE_GRADE: &str =
    "UPDATE enrollment SET grade = ?1 WHERE course_id = ?2 AND student_id IN rarray(?3)";

/// Set, read first: the students linked now.
const LINKED: &str = "SELECT student_id FROM enrollment WHERE course_id = ?1";

/// Set, read first: delete the listed pairs (one probe of the pair index each).
const DELETE_LISTED: &str = "DELETE FROM enrollment WHERE course_id = ?1 \
     AND student_id IN rarray(?2) RETURNING id, student_id, course_id, grade";

/// Prefetch: every through row of the courses with its student, one join; each course's
/// rows are put in id order by `group_links` (an `ORDER BY e.course_id, e.id` here measured
/// 7.1–7.6 ms against 5.6–5.9 ms, for the same instruction count).
const LINKS: &str = "SELECT e.id, e.student_id, e.course_id, e.grade, s.id, s.name, s.email \
     FROM enrollment e JOIN student s ON s.id = e.student_id \
     WHERE e.course_id IN rarray(?1)";

/// Filter across the relation on a through field.
const FILTER: &str = "SELECT s.id, s.name, s.email FROM student s \
     JOIN enrollment e ON e.student_id = s.id WHERE e.course_id = ?1 AND e.grade = ?2";

/// A course's students (W8's read): W5's join without the grade.
const STUDENTS: &str = "SELECT s.id, s.name, s.email FROM student s \
     JOIN enrollment e ON e.student_id = s.id WHERE e.course_id = ?1";

/// Aggregates: each course with its number of students and the mean of its enrollments'
/// grade points, one grouped join (the course's columns, then the aggregates).
const AGGREGATES: &str = "SELECT c.id, c.title, COUNT(e.student_id), \
     AVG(CASE e.grade WHEN 'A' THEN 4.0 WHEN 'B' THEN 3.0 WHEN 'C' THEN 2.0 ELSE 0.0 END) \
     FROM course c LEFT JOIN enrollment e ON e.course_id = c.id \
     WHERE c.id IN rarray(?1) GROUP BY c.id ORDER BY c.id";

/// Opens a connection with the settings throughline uses (WAL, foreign keys, busy timeout,
/// the given `synchronous`) and the `rarray` module.
pub fn open(path: &str, synchronous_full: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    let sync = if synchronous_full { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;"
    ))?;
    rusqlite::vtab::array::load_module(&conn)?;
    Ok(conn)
}

fn array(ids: &[i64]) -> Rc<Vec<Value>> {
    Rc::new(ids.iter().map(|id| Value::Integer(*id)).collect())
}

/// Adds `ids` to `course` with `grade`, returning the same information as `add_with`: the
/// newly linked targets and, only when some were linked before, their differing grades.
pub fn add_many(
    conn: &Connection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> rusqlite::Result<Counted<AddResult>> {
    let wanted = dedupe(ids);
    let mut insert = conn.prepare_cached(ADD_MANY)?;
    let inserted: HashSet<i64> = insert
        .query_map(params![course, grade, array(&wanted)], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut result = split_inserted(&wanted, &inserted);
    let mut statements = 1;
    if !result.already_linked.is_empty() {
        statements += 1;
        let mut stored = conn.prepare_cached(STORED)?;
        let mut rows = stored.query(params![course, array(&result.already_linked)])?;
        while let Some(row) = rows.next()? {
            let stored_grade: String = row.get(1)?;
            if stored_grade != grade {
                result.differing.push((row.get(0)?, stored_grade));
            }
        }
    }
    Ok(Counted {
        value: result,
        statements,
    })
}

/// W7: adds `ids` to `course` with `grade` reading first, for targets expected to be
/// linked already: one read of the stored grades of the requested pairs (`STORED`), which
/// sorts them into already linked (those whose grade differs with the stored one, in the
/// order given) and missing; the missing ones, if any, are inserted (`ADD_MANY`: a pair
/// linked meanwhile is skipped by `ON CONFLICT`). With `update`, the differing pairs get
/// `grade` in one `UPDATE` (the caller holds the writer lock: see [`readd_update`]).
fn readd(
    conn: &Connection,
    course: i64,
    ids: &[i64],
    grade: &str,
    update: bool,
) -> rusqlite::Result<Counted<AddResult>> {
    let wanted = dedupe(ids);
    let mut stored: HashMap<i64, String> =
        HashMap::with_capacity_and_hasher(wanted.len(), Default::default());
    {
        let mut read = conn.prepare_cached(STORED)?;
        let mut rows = read.query(params![course, array(&wanted)])?;
        while let Some(row) = rows.next()? {
            stored.insert(row.get(0)?, row.get(1)?);
        }
    }
    let (mut result, missing) = classify(&wanted, &mut stored, grade);
    let mut statements = 1;
    if !missing.is_empty() {
        statements += 1;
        let mut insert = conn.prepare_cached(ADD_MANY)?;
        let inserted: HashSet<i64> = insert
            .query_map(params![course, grade, array(&missing)], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        merge_added(&mut result, split_inserted(&missing, &inserted));
    }
    if update && !result.differing.is_empty() {
        statements += 1;
        let keys: Vec<i64> = result.differing.iter().map(|(id, _)| *id).collect();
        conn.prepare_cached(UPDATE_GRADE)?
            .execute(params![grade, course, array(&keys)])?;
        result.updated = keys;
    }
    Ok(Counted {
        value: result,
        statements,
    })
}

/// W7s, re-add under the skip policy: one autocommit read (and an insert only for missing
/// targets; W7 has none). The differing pairs are reported, not written.
pub fn readd_skip(
    conn: &Connection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> rusqlite::Result<Counted<AddResult>> {
    readd(conn, course, ids, grade, false)
}

/// W7u, re-add under the update policy: one `BEGIN IMMEDIATE` transaction (SQLite's lock
/// of the writer, so the read stays true until the update) of two statements: the read and
/// one `UPDATE` of the differing pairs (and an insert only for missing targets).
pub fn readd_update(
    conn: &mut Connection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> rusqlite::Result<Counted<AddResult>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = readd(&tx, course, ids, grade, true)?;
    tx.commit()?;
    Ok(out)
}

/// Adds one target with the default grade (`add()`): one autocommit statement.
pub fn add_one(conn: &Connection, course: i64, id: i64) -> rusqlite::Result<Counted<AddResult>> {
    let mut insert = conn.prepare_cached(ADD_ONE)?;
    let mut rows = insert.query(params![id, course, ""])?;
    // Stepped to the end, not just to the returned row: SQLite runs its WAL hook (the
    // automatic checkpoint every 1,000 pages) only when an autocommit statement finishes;
    // a statement reset after its first row commits but never checkpoints, so the WAL
    // grows and the checkpoints' fsyncs are left out of the timing.
    let mut linked = false;
    while rows.next()?.is_some() {
        linked = true;
    }
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
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// Makes the course's students exactly `ids` (new rows get `grade`), in one `BEGIN
/// IMMEDIATE` transaction of three statements: read the linked students, delete the
/// unwanted pairs (returned in full; one probe of the pair index each), insert only the new
/// ones. (A single `DELETE ... NOT IN rarray(?)` followed by an insert of every wanted key
/// is one statement fewer but measured slower: it scans the course's rows and probes 9,000
/// conflicts.)
pub fn set(
    conn: &mut Connection,
    course: i64,
    ids: &[i64],
    grade: &str,
) -> rusqlite::Result<Counted<SetResult>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let wanted = dedupe(ids);
    let existing: HashSet<i64> = {
        let mut linked = tx.prepare_cached(LINKED)?;
        linked
            .query_map(params![course], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let wanted_set: HashSet<i64> = wanted.iter().copied().collect();
    let drop: Vec<i64> = existing
        .iter()
        .copied()
        .filter(|id| !wanted_set.contains(id))
        .collect();
    let (kept, add): (Vec<i64>, Vec<i64>) = wanted.iter().partition(|id| existing.contains(id));
    let mut statements = 1;
    let removed = if drop.is_empty() {
        Vec::new()
    } else {
        statements += 1;
        let mut delete = tx.prepare_cached(DELETE_LISTED)?;
        delete
            .query_map(params![course, array(&drop)], |row| {
                Ok(EnrollmentRow {
                    id: row.get(0)?,
                    student_id: row.get(1)?,
                    course_id: row.get(2)?,
                    grade: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let added = if add.is_empty() {
        AddResult::default()
    } else {
        statements += 1;
        let mut insert = tx.prepare_cached(ADD_MANY)?;
        let inserted: HashSet<i64> = insert
            .query_map(params![course, grade, array(&add)], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        split_inserted(&add, &inserted)
    };
    tx.commit()?;
    Ok(Counted {
        value: SetResult {
            kept,
            added,
            removed,
        },
        statements,
    })
}

/// Every through row of `courses` with its student, grouped by course.
pub fn links(conn: &Connection, courses: &[i64]) -> rusqlite::Result<Counted<Vec<Vec<LinkRow>>>> {
    let mut select = conn.prepare_cached(LINKS)?;
    let rows = select
        .query_map(params![array(courses)], |row| {
            Ok(LinkRow {
                enrollment: EnrollmentRow {
                    id: row.get(0)?,
                    student_id: row.get(1)?,
                    course_id: row.get(2)?,
                    grade: row.get(3)?,
                },
                student: StudentRow {
                    id: row.get(4)?,
                    name: row.get(5)?,
                    email: row.get(6)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Counted {
        value: group_links(courses, rows),
        statements: 1,
    })
}

/// The course's students whose enrollment has `grade`.
pub fn filter(
    conn: &Connection,
    course: i64,
    grade: &str,
) -> rusqlite::Result<Counted<Vec<StudentRow>>> {
    let mut select = conn.prepare_cached(FILTER)?;
    let value = select
        .query_map(params![course, grade], |row| {
            Ok(StudentRow {
                id: row.get(0)?,
                name: row.get(1)?,
                email: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// The course's students (W8's read).
pub fn students(conn: &Connection, course: i64) -> rusqlite::Result<Counted<Vec<StudentRow>>> {
    let mut select = conn.prepare_cached(STUDENTS)?;
    let value = select
        .query_map(params![course], |row| {
            Ok(StudentRow {
                id: row.get(0)?,
                name: row.get(1)?,
                email: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// Each of `courses` with its number of students and mean grade points, by key.
pub fn aggregates(
    conn: &Connection,
    courses: &[i64],
) -> rusqlite::Result<Counted<Vec<CourseStats>>> {
    let mut select = conn.prepare_cached(AGGREGATES)?;
    let value = select
        .query_map(params![array(courses)], |row| {
            Ok(CourseStats {
                id: row.get(0)?,
                title: row.get(1)?,
                students: row.get(2)?,
                mean_points: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Counted {
        value,
        statements: 1,
    })
}

/// A job run on the connection thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A connection on its own thread, fed jobs through a channel: one hop per operation, its
/// inputs owned before the hop (the shape of throughline's SQLite driver).
pub struct SqliteThread {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl SqliteThread {
    /// Moves `conn` to a new thread.
    pub fn spawn(conn: Connection) -> std::io::Result<SqliteThread> {
        let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hand-sqlite".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = receiver.recv() {
                    job(&mut conn);
                }
            })?;
        Ok(SqliteThread { jobs })
    }

    /// Runs `f` on the connection's thread and awaits its result (a panic inside it is
    /// caught and becomes an error, as in throughline's driver).
    pub async fn run<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(rusqlite::Error::InvalidQuery));
            let _ = done.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| "the connection thread has stopped".to_owned())?;
        result
            .await
            .map_err(|_| "the connection thread has stopped".to_owned())?
            .map_err(|e| e.to_string())
    }
}

/// W8's hand-written pool, the shape of throughline's SQLite pool (SPEC §8.4): one writer
/// connection on its own thread, whose channel runs the writes one after the other (no
/// lock beside it: a single autocommit statement per job), and `readers` read-only
/// connections on their own threads, taken in turn. Shared by the tasks (`Arc`).
pub struct SqlitePool {
    writer: SqliteThread,
    readers: Vec<SqliteThread>,
    next: std::sync::atomic::AtomicUsize,
}

impl SqlitePool {
    /// Opens the writer and `readers` readers on the file at `path` (the readers with
    /// `query_only`, as throughline's).
    pub fn open(path: &str, synchronous_full: bool, readers: usize) -> Result<SqlitePool, String> {
        let writer = open(path, synchronous_full).map_err(|e| e.to_string())?;
        let writer = SqliteThread::spawn(writer).map_err(|e| e.to_string())?;
        let mut threads = Vec::with_capacity(readers);
        for _ in 0..readers {
            let conn = open(path, synchronous_full).map_err(|e| e.to_string())?;
            conn.execute_batch("PRAGMA query_only = ON")
                .map_err(|e| e.to_string())?;
            threads.push(SqliteThread::spawn(conn).map_err(|e| e.to_string())?);
        }
        Ok(SqlitePool {
            writer,
            readers: threads,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// The writer.
    pub fn writer(&self) -> &SqliteThread {
        &self.writer
    }

    /// The next reader in turn (the writer when there is none).
    pub fn reader(&self) -> &SqliteThread {
        if self.readers.is_empty() {
            return &self.writer;
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.readers[i % self.readers.len()]
    }
}
