//! The databases under test and their data. A [`Target`] is one backend with one set of
//! connection settings (SQLite file at `synchronous=FULL`, at `NORMAL`, PostgreSQL on a
//! fresh schema, MariaDB on a fresh database), opened twice: through throughline and
//! through the raw driver. The [`Fixture`] is the data every side works on, created once
//! per target (not timed): N + N/10 students; a course for W1 and one for W3 (emptied
//! after each run); a course for W2 linked to the first N students; N/50 courses of 50
//! students each for W4 and W6, graded "A", "B", "C" in turn by student; a course linked
//! to N students, every tenth with grade "A", for W5; a course linked to N students, all
//! with one grade, for W7 (issue 19's re-add with differing values); 64 courses without
//! links for W8 (issue 19's concurrency workload), one per task, emptied after each run.
//! A target also holds W8's hand-written pool ([`HandPool`]), shaped as throughline's.

use crate::BoxError;
use crate::hand_mysql;
use crate::hand_postgres::{self, Prepared};
use crate::hand_sqlite::{self, SqliteThread};
use crate::models::{self, Course, Enrollment, Student};
use std::sync::Arc;
use throughline::prelude::*;
use throughline::{Conflict, MyOptions, PgOptions, SqliteOptions};

/// The raw-driver side of a target.
pub enum Hand {
    /// rusqlite: one connection behind a thread (the async side) and one used directly.
    Sqlite {
        /// The async side's connection thread.
        thread: SqliteThread,
        /// The synchronous side's connection (also runs the untimed clean-ups).
        sync: rusqlite::Connection,
    },
    /// tokio-postgres: one client with its prepared statements.
    Postgres {
        /// The client.
        client: tokio_postgres::Client,
        /// Its prepared statements.
        prepared: Prepared,
    },
    /// sqlx's MySQL driver: one connection (its statements prepared once and cached).
    Mysql {
        /// The connection.
        conn: sqlx_mysql::MySqlConnection,
    },
}

/// W8's hand-written pool on a target: the shape and settings of throughline's pool there
/// (SQLite: one writer thread and throughline's number of reader threads; PostgreSQL:
/// deadpool-postgres; MariaDB: sqlx's pool; the same sizes and timeouts), so that the
/// concurrent tasks of both sides queue alike.
pub enum HandPool {
    /// A writer and readers, each a connection on its own thread.
    Sqlite(Arc<hand_sqlite::SqlitePool>),
    /// deadpool-postgres over tokio-postgres.
    Postgres(deadpool_postgres::Pool),
    /// sqlx's MySQL pool.
    Mysql(sqlx_core::pool::Pool<sqlx_mysql::MySql>),
}

/// One backend with one set of settings, opened through throughline and the raw driver.
pub struct Target {
    /// Short name: `sqlite-full`, `sqlite-normal`, `postgres`, `mariadb`.
    pub name: String,
    /// The settings both sides use, printed above the table.
    pub settings: String,
    /// throughline's pool.
    pub db: Database,
    /// The raw driver.
    pub hand: Hand,
    /// The raw driver's pool (W8).
    pub pool: HandPool,
    /// What to remove when done (SQLite folder, PostgreSQL schema or MariaDB database, with
    /// the admin connection that drops it).
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(std::path::PathBuf),
    Schema(tokio_postgres::Client, String),
    Database(sqlx_mysql::MySqlConnection, String),
}

impl Target {
    /// A SQLite file database in a new temporary folder, WAL, `synchronous` FULL or NORMAL.
    pub async fn sqlite(synchronous_full: bool, tag: &str) -> Result<Target, BoxError> {
        let dir = std::env::temp_dir().join(format!(
            "throughline-bench-{}-{tag}-{}",
            std::process::id(),
            if synchronous_full { "full" } else { "normal" }
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("bench.db");
        let path_text = path.display().to_string();
        let sync = if synchronous_full { "full" } else { "normal" };
        let db =
            Database::connect(&format!("sqlite://{path_text}?mode=rwc&synchronous={sync}")).await?;
        throughline::create_tables(&db, &models::registry()).await?;
        let thread = SqliteThread::spawn(hand_sqlite::open(&path_text, synchronous_full)?)?;
        let sync_conn = hand_sqlite::open(&path_text, synchronous_full)?;
        let pool = hand_sqlite::SqlitePool::open(
            &path_text,
            synchronous_full,
            SqliteOptions::default().readers,
        )?;
        Ok(Target {
            name: format!("sqlite-{sync}"),
            settings: format!(
                "SQLite {} file {path_text}: journal_mode=WAL, synchronous={}, foreign_keys=ON",
                rusqlite::version(),
                sync.to_uppercase()
            ),
            db,
            hand: Hand::Sqlite {
                thread,
                sync: sync_conn,
            },
            pool: HandPool::Sqlite(Arc::new(pool)),
            cleanup: Cleanup::Folder(dir),
        })
    }

    /// PostgreSQL at `url` on a fresh schema (`-c search_path=...`), or `None` when the
    /// server is unreachable.
    pub async fn postgres(url: &str, tag: &str) -> Result<Option<Target>, BoxError> {
        let config: tokio_postgres::Config = url.parse()?;
        let admin = match config.connect(tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client
            }
            Err(error) => {
                eprintln!("SKIPPED PostgreSQL (unreachable at {url}: {error})");
                return Ok(None);
            }
        };
        let schema = format!("tl_bench_{tag}_{}", std::process::id());
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await?;
        let version: String = admin.query_one("SHOW server_version", &[]).await?.get(0);
        let settings: Vec<String> = {
            let mut out = Vec::new();
            for name in ["synchronous_commit", "fsync", "shared_buffers"] {
                let row = admin.query_one(&format!("SHOW {name}"), &[]).await?;
                out.push(format!("{name}={}", row.get::<_, String>(0)));
            }
            out
        };
        let mut config = config;
        config.options(format!("-c search_path={schema}"));
        let options = PgOptions::default();
        let db = Database::open_postgres(config.clone(), &options)?;
        throughline::create_tables(&db, &models::registry()).await?;
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let prepared = Prepared::new(&client).await?;
        let pool = hand_postgres::pool(config, options.max_size, options.wait_timeout)?;
        Ok(Some(Target {
            name: "postgres".to_owned(),
            settings: format!(
                "PostgreSQL {version} at {url}, schema {schema}: {}",
                settings.join(", ")
            ),
            db,
            hand: Hand::Postgres { client, prepared },
            pool: HandPool::Postgres(pool),
            cleanup: Cleanup::Schema(admin, schema),
        }))
    }

    /// MariaDB (or MySQL) at `url` on a fresh database (`utf8mb4`, binary collation, as the
    /// test harness creates them), or `None` when the server is unreachable. throughline
    /// creates the tables; the hand-written side opens one connection to the same database.
    pub async fn mysql(url: &str, tag: &str) -> Result<Option<Target>, BoxError> {
        let url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let options: sqlx_mysql::MySqlConnectOptions = url.parse()?;
        let mut admin = match hand_mysql::connect(options.clone()).await {
            Ok(conn) => conn,
            Err(error) => {
                eprintln!("SKIPPED MariaDB (unreachable at {url}: {error})");
                return Ok(None);
            }
        };
        let name = format!("tl_bench_{tag}_{}", std::process::id());
        hand_mysql::batch(
            &mut admin,
            &format!(
                "DROP DATABASE IF EXISTS {name}; \
                 CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ),
        )
        .await?;
        let version = hand_mysql::text(&mut admin, "SELECT VERSION()").await?;
        let settings = hand_mysql::text(
            &mut admin,
            "SELECT CONCAT('innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit, \
             ', log_bin=', @@log_bin, ', innodb_buffer_pool_size=', \
             @@innodb_buffer_pool_size DIV 1048576, 'MB')",
        )
        .await?;
        // The same URL with the new database as its path.
        let (address, query) = match url.split_once('?') {
            Some((address, query)) => (address, format!("?{query}")),
            None => (url.as_str(), String::new()),
        };
        let server = address
            .rsplit_once('/')
            .map_or(address, |(server, _)| server);
        let database_url = format!("{server}/{name}{query}");
        let opened = async {
            let db = Database::connect(&database_url).await?;
            throughline::create_tables(&db, &models::registry()).await?;
            let conn = hand_mysql::connect(options.clone().database(&name)).await?;
            Ok::<_, BoxError>((db, conn))
        };
        let (db, conn) = match opened.await {
            Ok(opened) => opened,
            Err(error) => {
                let _ = hand_mysql::batch(&mut admin, &format!("DROP DATABASE {name}")).await;
                return Err(error);
            }
        };
        Ok(Some(Target {
            name: "mariadb".to_owned(),
            settings: format!("MariaDB {version} at {database_url}: {settings}"),
            db,
            hand: Hand::Mysql { conn },
            pool: HandPool::Mysql(hand_mysql::pool(
                options.database(&name),
                MyOptions::default().max_size,
                MyOptions::default().wait_timeout,
            )),
            cleanup: Cleanup::Database(admin, name),
        }))
    }

    /// Runs SQL without results on the raw driver (untimed set-up and clean-up).
    pub async fn execute(&mut self, sql: &str) -> Result<(), BoxError> {
        match &mut self.hand {
            Hand::Sqlite { sync, .. } => sync.execute_batch(sql)?,
            Hand::Postgres { client, .. } => client.batch_execute(sql).await?,
            Hand::Mysql { conn } => hand_mysql::batch(conn, sql).await?,
        }
        Ok(())
    }

    /// Removes the database.
    pub async fn drop_database(self) -> Result<(), BoxError> {
        drop(self.db);
        drop(self.hand);
        match self.pool {
            HandPool::Mysql(pool) => pool.close().await,
            HandPool::Postgres(pool) => pool.close(),
            HandPool::Sqlite(pool) => drop(pool),
        }
        match self.cleanup {
            Cleanup::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema(admin, schema) => {
                admin
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await?;
            }
            Cleanup::Database(mut admin, name) => {
                hand_mysql::batch(&mut admin, &format!("DROP DATABASE IF EXISTS {name}")).await?;
            }
        }
        Ok(())
    }
}

/// The data of one run of the benchmark.
pub struct Fixture {
    /// N.
    pub n: usize,
    /// N + N/10 saved students.
    pub students: Vec<Student>,
    /// W1's course (no links between runs).
    pub w1_course: Course,
    /// W2's course.
    pub w2_course: Course,
    /// W2's two lists, 10 % apart: students 0..N (linked at first) and N/10..N+N/10.
    pub w2_sets: [Vec<Student>; 2],
    /// Which of `w2_sets` is linked now.
    pub w2_state: usize,
    /// For each list, the sum of the keys a set to it deletes (the other list's first or
    /// last N/10 students), to check what every side returns as deleted.
    pub w2_dropped: [i64; 2],
    /// W3's course (no links between runs).
    pub w3_course: Course,
    /// W3's students (the first 1,000).
    pub w3_students: Vec<Student>,
    /// W4's courses, 50 students each, graded "A", "B", "C" in turn (W6 reads them too).
    pub w4_courses: Vec<Course>,
    /// W5's course: N students, every tenth with grade "A".
    pub w5_course: Course,
    /// W7's course: the first N students, all with grade `W7_GRADES[w7_state]`.
    pub w7_course: Course,
    /// Which of [`W7_GRADES`] W7's rows hold now (W7u flips it with every run).
    pub w7_state: usize,
    /// W8's courses, one per task (no links between runs).
    pub w8_courses: Vec<Course>,
    /// The links W8's last batch reported, which its clean-up checks are stored (`None`
    /// after a batch with errors, reported as failed: an add that failed may have linked).
    pub w8_linked: Option<i64>,
}

/// The two grades W7's rows hold in turn: a re-add gives the other one, so every target
/// differs in every run.
pub const W7_GRADES: [&str; 2] = ["B", "C"];

/// W3's number of calls.
pub const SINGLE_ADDS: usize = 1_000;
/// W8's concurrent tasks.
pub const W8_TASKS: usize = 64;
/// W8's adds per task, each followed by a read of the task's course.
pub const W8_ADDS: usize = 100;
/// W4's students per course.
pub const PER_COURSE: usize = 50;

impl Fixture {
    /// The grade W7's rows hold now, and the one a re-add gives (the other one).
    pub fn w7_grades(&self) -> (&'static str, &'static str) {
        (W7_GRADES[self.w7_state], W7_GRADES[1 - self.w7_state])
    }

    /// W8's task `task`: its course and its students (students `100 × task` onward, so
    /// that at N = 10,000 no two tasks share a student either; at smaller N they wrap
    /// around, the pairs still distinct since each task has its own course).
    pub fn w8_task(&self, task: usize) -> (&Course, Vec<&Student>) {
        let students = (0..W8_ADDS)
            .map(|i| &self.students[(task * W8_ADDS + i) % self.students.len()])
            .collect();
        (&self.w8_courses[task], students)
    }

    /// Creates the data on `target` (through throughline, not timed).
    pub async fn create(target: &mut Target, n: usize) -> Result<Fixture, BoxError> {
        let db = &target.db;
        let extra = n / 10;
        let students = Student::objects()
            .bulk_create(
                (0..n + extra).map(models::student).collect(),
                Conflict::Error,
                db,
            )
            .await?;
        let w1_course = models::course("W1 bulk add").create(db).await?;
        let w2_course = models::course("W2 set churn").create(db).await?;
        let w3_course = models::course("W3 single adds").create(db).await?;
        let w5_course = models::course("W5 filter").create(db).await?;
        let w7_course = models::course("W7 re-add differing").create(db).await?;
        let w4_courses = Course::objects()
            .bulk_create(
                (0..n / PER_COURSE)
                    .map(|i| models::course(&format!("W4 course {i}")))
                    .collect(),
                Conflict::Error,
                db,
            )
            .await?;
        let w8_courses = Course::objects()
            .bulk_create(
                (0..W8_TASKS)
                    .map(|i| models::course(&format!("W8 task {i}")))
                    .collect(),
                Conflict::Error,
                db,
            )
            .await?;
        let link = |student: &Student, course: &Course, grade: &str| Enrollment {
            id: None,
            student: ForeignKey::to(student),
            course: ForeignKey::to(course),
            grade: grade.to_owned(),
        };
        let mut rows = Vec::with_capacity(4 * n);
        rows.extend(students[..n].iter().map(|s| link(s, &w2_course, "B")));
        // W6's means differ from course to course (50 is not a multiple of 3); W4 reads
        // the grades as any other column.
        for (i, course) in w4_courses.iter().enumerate() {
            let first = i * PER_COURSE;
            let group = &students[first..first + PER_COURSE];
            rows.extend(group.iter().enumerate().map(|(j, s)| {
                let grade = ["A", "B", "C"][(first + j) % 3];
                link(s, course, grade)
            }));
        }
        rows.extend(students[..n].iter().enumerate().map(|(i, s)| {
            let grade = if i % 10 == 0 { "A" } else { "B" };
            link(s, &w5_course, grade)
        }));
        rows.extend(
            students[..n]
                .iter()
                .map(|s| link(s, &w7_course, W7_GRADES[0])),
        );
        Enrollment::objects()
            .bulk_create(rows, Conflict::Error, db)
            .await?;
        match target.hand {
            Hand::Sqlite { .. } => target.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?,
            Hand::Postgres { .. } => target.execute("VACUUM ANALYZE").await?,
            // Statistics of every column (PostgreSQL's ANALYZE collects them by default):
            // without them MariaDB plans W5 as a scan of the students (3× slower).
            Hand::Mysql { .. } => {
                target
                    .execute("ANALYZE TABLE student, course, enrollment PERSISTENT FOR ALL")
                    .await?
            }
        }
        Ok(Fixture {
            n,
            w2_sets: [students[..n].to_vec(), students[extra..n + extra].to_vec()],
            w2_state: 0,
            w2_dropped: [
                students[n..n + extra].iter().map(key).sum(),
                students[..extra].iter().map(key).sum(),
            ],
            w3_students: students[..SINGLE_ADDS.min(n)].to_vec(),
            students,
            w1_course,
            w2_course,
            w3_course,
            w4_courses,
            w5_course,
            w7_course,
            w7_state: 0,
            w8_courses,
            w8_linked: None,
        })
    }
}

/// The key of a saved instance.
pub fn key<M: Model>(instance: &M) -> i64 {
    instance.pk_value().as_i64().unwrap_or_default()
}
