//! `dumpdata` and `loaddata` through the CLI library, as an application's own binary runs
//! them, on SQLite, PostgreSQL and MariaDB (each test on fresh databases): a round trip of
//! a school with a through model with extra fields, an implicit many-to-many, a nullable
//! self reference closing a cycle, dates, datetimes, JSON, UUIDs and bytes (dump, load into
//! an empty database, dump again: identical); each kind of bad file refused with its line
//! and reason, the database unchanged; the auto-increment counters moved past the loaded
//! keys; a file as Django 5.2 writes it; loading over existing rows; the dump's arguments.
#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use std::path::PathBuf;
use throughline::{Database, Model, chrono, uuid};
use throughline_cli::{Cli, CliError, Outcome};

mod models {
    use throughline::prelude::*;
    use throughline::{chrono, uuid};

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
    pub enum Status {
        #[default]
        Active,
        Completed,
        Dropped,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(app = "school")]
    pub struct Student {
        pub id: Option<i64>,
        #[throughline(max_length = 100)]
        pub name: String,
        #[throughline(max_length = 200, unique)]
        pub email: String,
        pub born: Option<chrono::NaiveDate>,
        pub token: uuid::Uuid,
        pub profile: serde_json::Value,
        pub photo: Option<Vec<u8>>,
        #[throughline(on_delete = "set_null", related_name = "mentees")]
        pub mentor: Option<ForeignKey<Student>>,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(app = "school")]
    #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    #[throughline(many_to_many(name = "tags", to = Tag, related_name = "courses"))]
    pub struct Course {
        pub id: Option<i64>,
        #[throughline(max_length = 200)]
        pub title: String,
        pub credits: i32,
        pub weight: f64,
        pub open: bool,
        #[throughline(max_digits = 6, decimal_places = 2)]
        pub fee: Option<Decimal>,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(app = "school")]
    #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    pub struct Enrollment {
        pub id: Option<i64>,
        #[throughline(related_name = "enrollments")]
        pub student: ForeignKey<Student>,
        #[throughline(related_name = "enrollments")]
        pub course: ForeignKey<Course>,
        #[throughline(auto_now_add)]
        pub enrolled_at: DateTime<Utc>,
        #[throughline(max_length = 2, blank)]
        pub grade: String,
        pub status: Status,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(app = "school")]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 50, unique)]
        pub name: String,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::new();
        registry
            .register(Student::meta())
            .register(Course::meta())
            .register(Enrollment::meta())
            .register(Tag::meta());
        registry
    }
}

use models::{Course, Enrollment, Status, Student, Tag};

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// A folder for this process's fixture files and SQLite databases.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("throughline-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh database of `backend` with the models' tables, and its URL; `None` (with a
/// message) when the server is unreachable outside CI.
async fn fresh(backend: Backend, name: &str) -> Option<(Database, String)> {
    let name = format!("t_fx_{name}_{}", std::process::id());
    let skip = |what: &str, base: &str, error: String| {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{what} at {base} is unreachable in CI: {error}");
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED ({what} unreachable at {base}: {error}): {name}"
        );
    };
    let url = match backend {
        Backend::Sqlite => {
            let path = scratch().join(format!("{name}.db"));
            let _ = std::fs::remove_file(&path);
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Backend::Postgres => {
            let base = std::env::var("THROUGHLINE_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let created = match Database::connect(&base).await {
                Ok(db) => db
                    .execute_batch(&format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
                    ))
                    .await
                    .map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = created {
                skip("PostgreSQL", &base, error);
                return None;
            }
            format!("{base}?options=-csearch_path%3D{name}")
        }
        Backend::Mysql => {
            let base = std::env::var("THROUGHLINE_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
            let created = match Database::connect(&base).await {
                Ok(db) => db
                    .execute_batch(&format!(
                        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                    ))
                    .await
                    .map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = created {
                skip("MariaDB", &base, error);
                return None;
            }
            let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
            format!("{server}/{name}")
        }
    };
    let db = Database::connect(&url).await.unwrap();
    throughline::create_tables(&db, &models::registry())
        .await
        .unwrap();
    Some((db, url))
}

/// Runs `app --database-url URL ARGS...` with the models, as the application's binary.
async fn manage(url: &str, args: &[&str]) -> Result<Outcome, CliError> {
    let mut all = vec!["app", "--no-input", "--database-url", url];
    all.extend_from_slice(args);
    let cli = Cli::try_parse_from(all).unwrap();
    throughline_cli::run_asking(&cli, Some(&models::registry()), None).await
}

/// `dumpdata ARGS...`'s output.
async fn dumpdata(url: &str, args: &[&str]) -> String {
    let mut all = vec!["dumpdata"];
    all.extend_from_slice(args);
    manage(url, &all).await.unwrap().output
}

/// Writes `text` to a fixture file of this process and returns its path.
fn fixture_file(name: &str, text: &str) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn datetime(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// The school: three students (ada's mentor is cy, whose mentor is ada: a cycle through a
/// nullable self reference, with ada's key before cy's), two courses, two tags linked
/// through the implicit `Course.tags`, three enrollments with their own data.
async fn populate(db: &Database) {
    let student = |name: &str, born: Option<(i32, u32, u32)>, photo: Option<Vec<u8>>| Student {
        id: None,
        name: name.into(),
        email: format!(
            "{}@example.com",
            name.to_lowercase().replace(['"', '\n', ' '], "")
        ),
        born: born.and_then(|(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d)),
        token: uuid::Uuid::from_u128(
            0x6f1c_2e4a_8a0b_4d7e_9c3f_2b5a_1d0e_7f11 + name.len() as u128,
        ),
        profile: serde_json::json!({"langs": ["rust", "sql"], "level": name.len(), "nested": {"a": null}}),
        photo,
        mentor: None,
    };
    let mut ada = student("Ada", Some((1990, 5, 17)), Some(vec![0, 1, 2, 255, 254]))
        .create(db)
        .await
        .unwrap();
    student("Bob \"the\"\nbuilder", None, None)
        .create(db)
        .await
        .unwrap();
    let mut cy = student("Zoë", Some((2001, 12, 31)), Some(Vec::new()));
    cy.mentor = Some(ForeignKeyOf::to(&ada));
    let cy = cy.create(db).await.unwrap();
    ada.mentor = Some(ForeignKeyOf::to(&cy));
    ada.save(db).await.unwrap();

    let course = |title: &str, credits: i32, weight: f64, open: bool| Course {
        id: None,
        title: title.into(),
        credits,
        weight,
        open,
        fee: open.then(|| "120.5".parse().unwrap()),
    };
    let math = course("Math", 5, 1.5, true).create(db).await.unwrap();
    let art = course("Art", 3, 0.25, false).create(db).await.unwrap();
    let core = Tag {
        id: None,
        name: "core".into(),
    }
    .create(db)
    .await
    .unwrap();
    let elective = Tag {
        id: None,
        name: "elective".into(),
    }
    .create(db)
    .await
    .unwrap();
    math.tags().add([&elective, &core], db).await.unwrap();
    art.tags().add([&elective], db).await.unwrap();

    for (student, course, at, grade, status) in [
        (
            &ada,
            &math,
            "2024-01-02T03:04:05.123456Z",
            "A",
            Status::Completed,
        ),
        (&cy, &math, "2024-01-02T03:04:05Z", "", Status::Active),
        (
            &ada,
            &art,
            "2024-02-29T23:59:59.250Z",
            "B+",
            Status::Dropped,
        ),
    ] {
        let mut row = Enrollment {
            id: None,
            student: ForeignKeyOf::to(student),
            course: ForeignKeyOf::to(course),
            enrolled_at: datetime(at),
            grade: grade.into(),
            status,
        }
        .create(db)
        .await
        .unwrap();
        // `auto_now_add` set the creation time: the row keeps the given one.
        row.enrolled_at = datetime(at);
        row.save(db).await.unwrap();
    }
}

type ForeignKeyOf<T> = throughline::ForeignKey<T>;

/// Runs a test body once per backend, each on fresh databases.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                super::$name(super::Backend::Mysql).await;
            }
        }
    )*};
}

backend_tests!(
    round_trip_is_identical,
    bad_files_are_refused_with_their_line_and_load_nothing,
    counters_move_past_loaded_keys,
    a_file_written_by_django_loads,
    loading_saves_over_existing_rows,
    any_order_of_objects_loads_and_fires_no_hook,
);

fn tag(backend: Backend, name: &str) -> String {
    format!("{name}_{}", format!("{backend:?}").to_lowercase())
}

async fn round_trip_is_identical(backend: Backend) {
    let Some((source, source_url)) = fresh(backend, &tag(backend, "rt_src")).await else {
        return;
    };
    populate(&source).await;
    let first = dumpdata(&source_url, &["--indent", "2"]).await;
    // Django's layout: labels, the implicit many-to-many as key lists, the through model's
    // rows as objects of their own, values as Django writes them.
    for expected in [
        "[\n{\n  \"model\": \"school.student\",\n  \"pk\": 1,\n  \"fields\": {\n    \"name\": \"Ada\",",
        "\"born\": \"1990-05-17\"",
        "\"token\": \"6f1c2e4a-8a0b-4d7e-9c3f-2b5a1d0e7f14\"",
        "\"photo\": \"AAEC//4=\"",
        "\"mentor\": 3\n",
        "\"name\": \"Bob \\\"the\\\"\\nbuilder\"",
        "\"name\": \"Zoë\"",
        "\"weight\": 1.5",
        "\"fee\": \"120.50\"",
        "\"open\": false",
        "\"tags\": [\n      1,\n      2\n    ]",
        "\"model\": \"school.enrollment\"",
        "\"enrolled_at\": \"2024-01-02T03:04:05.123456Z\"",
        "\"enrolled_at\": \"2024-02-29T23:59:59.250Z\"",
        "\"status\": \"completed\"",
    ] {
        assert!(first.contains(expected), "{expected} not in\n{first}");
    }
    assert!(!first.contains("\"students\""), "{first}");
    assert!(!first.contains("coursetags"), "{first}");
    assert!(first.ends_with("}\n]\n"), "{first}");
    let order: Vec<&str> = first
        .lines()
        .filter_map(|l| l.strip_prefix("  \"model\": \""))
        .collect();
    assert_eq!(
        order,
        [
            "school.student\",",
            "school.student\",",
            "school.student\",",
            "school.course\",",
            "school.course\",",
            "school.enrollment\",",
            "school.enrollment\",",
            "school.enrollment\",",
            "school.tag\",",
            "school.tag\","
        ]
    );
    let path = fixture_file(&format!("{}.json", tag(backend, "round_trip")), &first);
    let Some((target, target_url)) = fresh(backend, &tag(backend, "rt_dst")).await else {
        return;
    };
    let loaded = manage(&target_url, &["loaddata", path.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(loaded.output, "Installed 10 object(s) from 1 fixture(s)\n");
    let second = dumpdata(&target_url, &["--indent", "2"]).await;
    assert_eq!(first, second);
    assert_eq!(
        dumpdata(&source_url, &[]).await,
        dumpdata(&target_url, &[]).await
    );
    // The rows, read back through the typed API.
    let ada = Student::objects()
        .get(Student::NAME.eq("Ada"), &target)
        .await
        .unwrap();
    assert_eq!(
        ada.mentor.as_ref().unwrap().key(),
        &throughline::Value::I64(3)
    );
    assert_eq!(ada.photo.as_deref(), Some(&[0u8, 1, 2, 255, 254][..]));
    let math = Course::objects()
        .get(Course::TITLE.eq("Math"), &target)
        .await
        .unwrap();
    assert_eq!(math.tags().count(&target).await.unwrap(), 2);
    let grades: Vec<String> = math
        .students()
        .links()
        .unwrap()
        .all(&target)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.grade)
        .collect();
    assert_eq!(grades.len(), 2, "{grades:?}");
    assert_eq!(Enrollment::objects().count(&target).await.unwrap(), 3);
}

async fn bad_files_are_refused_with_their_line_and_load_nothing(backend: Backend) {
    let Some((db, url)) = fresh(backend, &tag(backend, "bad")).await else {
        return;
    };
    populate(&db).await;
    let before = dumpdata(&url, &[]).await;
    // Each bad file: a valid new tag first (so that "nothing loaded" shows), then the
    // bad object; the line the error must name and words of its reason.
    let tag_ok = r#"{"model": "school.tag", "pk": 40, "fields": {"name": "fresh"}}"#;
    let cases: Vec<(&str, String, usize, usize, &str)> = vec![
        (
            "malformed",
            format!("[\n{tag_ok},\n{{\"model\": \"school.tag\" \"pk\": 41}}\n]"),
            3,
            0,
            "not valid JSON",
        ),
        (
            "not_an_array",
            "{\"model\": \"school.tag\"}".to_owned(),
            1,
            0,
            "a fixture is a JSON array",
        ),
        (
            "unknown_model",
            format!(
                "[\n{tag_ok},\n{{\n  \"model\": \"school.teacher\",\n  \"pk\": 1,\n  \"fields\": {{}}\n}}\n]"
            ),
            4,
            2,
            "unknown model `school.teacher`",
        ),
        (
            "unknown_field",
            format!(
                "[\n{tag_ok},\n{{\n  \"model\": \"school.tag\",\n  \"pk\": 41,\n  \"fields\": {{\n    \"name\": \"x\",\n    \"colour\": \"red\"\n  }}\n}}\n]"
            ),
            8,
            2,
            "school.tag pk 41: school.tag has no field `colour`",
        ),
        (
            "unknown_key",
            format!("[\n{tag_ok},\n{{\"model\": \"school.tag\", \"pk\": 41, \"feilds\": {{}}}}\n]"),
            3,
            2,
            "unknown key `feilds`",
        ),
        (
            "wrong_type",
            format!(
                "[\n{tag_ok},\n{{\n  \"model\": \"school.course\",\n  \"pk\": 9,\n  \"fields\": {{\n    \"title\": \"Music\",\n    \"credits\": \"five\",\n    \"weight\": 1,\n    \"open\": true\n  }}\n}}\n]"
            ),
            8,
            2,
            "school.course pk 9: field `credits`: expected an integer",
        ),
        (
            "bad_datetime",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.enrollment\", \"pk\": 9, \"fields\": {{\"student\": 2, \"course\": 2, \"enrolled_at\": \"yesterday\", \"grade\": \"\", \"status\": \"active\"}}}}\n]"
            ),
            3,
            2,
            "field `enrolled_at`: \"yesterday\" is not a datetime",
        ),
        (
            "too_long",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.enrollment\", \"pk\": 9, \"fields\": {{\"student\": 2, \"course\": 2, \"grade\": \"ABC\", \"status\": \"active\"}}}}\n]"
            ),
            3,
            2,
            "field `grade`: 3 characters, at most 2 allowed",
        ),
        (
            "not_a_choice",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.enrollment\", \"pk\": 9, \"fields\": {{\"student\": 2, \"course\": 2, \"grade\": \"\", \"status\": \"asleep\"}}}}\n]"
            ),
            3,
            2,
            "field `status`",
        ),
        (
            "missing_field",
            format!(
                "[\n{tag_ok},\n{{\n  \"model\": \"school.course\",\n  \"pk\": 9,\n  \"fields\": {{\"credits\": 1, \"weight\": 1.0, \"open\": true}}\n}}\n]"
            ),
            6,
            2,
            "school.course pk 9: required field `title` is missing",
        ),
        (
            "null_required",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.tag\", \"pk\": 41, \"fields\": {{\"name\": null}}}}\n]"
            ),
            3,
            2,
            "field `name`: null is not allowed",
        ),
        (
            "missing_reference",
            format!(
                "[\n{tag_ok},\n{{\n  \"model\": \"school.enrollment\",\n  \"pk\": 9,\n  \"fields\": {{\n    \"student\": 999,\n    \"course\": 1,\n    \"grade\": \"\",\n    \"status\": \"active\"\n  }}\n}}\n]"
            ),
            7,
            2,
            "field `student` refers to school.student with key 999, which is neither in the fixtures nor in the database",
        ),
        (
            "missing_many_to_many_target",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.course\", \"pk\": 9, \"fields\": {{\"title\": \"Music\", \"credits\": 1, \"weight\": 1.0, \"open\": true, \"tags\": [40, 77]}}}}\n]"
            ),
            3,
            2,
            "field `tags` refers to school.tag with key 77",
        ),
        (
            "through_as_list",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.course\", \"pk\": 9, \"fields\": {{\"title\": \"Music\", \"credits\": 1, \"weight\": 1.0, \"open\": true, \"students\": [1]}}}}\n]"
            ),
            3,
            2,
            "`students` goes through Enrollment, whose rows are objects of their own (model \"school.enrollment\")",
        ),
        (
            // A second student with an e-mail already taken: the database refuses it
            // after the tag and a new student were written.
            "unique_violation",
            format!(
                "[\n{tag_ok},\n{{\"model\": \"school.student\", \"pk\": 50, \"fields\": {{\"name\": \"Eve\", \"email\": \"eve@example.com\", \"token\": \"00000000-0000-0000-0000-000000000001\", \"profile\": {{}}}}}},\n{{\n  \"model\": \"school.student\",\n  \"pk\": 51,\n  \"fields\": {{\"name\": \"Ada 2\", \"email\": \"ada@example.com\", \"token\": \"00000000-0000-0000-0000-000000000002\", \"profile\": []}}\n}}\n]"
            ),
            4,
            3,
            "school.student pk 51: the database refused the row: unique constraint violated",
        ),
    ];
    for (name, text, line, object, reason) in cases {
        let path = fixture_file(&format!("{}.json", tag(backend, name)), &text);
        let error = manage(&url, &["loaddata", path.to_str().unwrap()])
            .await
            .unwrap_err();
        let message = error.to_string();
        let place = if object > 0 {
            format!(
                "fixture error in {}, line {line} (object {object}): ",
                path.display()
            )
        } else {
            format!("fixture error in {}, line {line}: ", path.display())
        };
        assert!(
            message.starts_with(&place),
            "{name}: {message}\nexpected {place}"
        );
        assert!(
            message.contains(reason),
            "{name}: {message}\nexpected {reason}"
        );
        let CliError::Throughline(error) = error else {
            panic!("{name}: not a throughline error");
        };
        assert!(error.is_fixture(), "{name}: {error}");
        assert_eq!(
            dumpdata(&url, &[]).await,
            before,
            "{name} changed the database"
        );
    }
    // The unique violation keeps the database's error.
    let path = scratch().join(format!("{}.json", tag(backend, "unique_violation")));
    let error = throughline::fixtures::load(
        &db,
        &models::registry(),
        &[throughline::fixtures::Fixture::read(&path).unwrap()],
    )
    .await
    .unwrap_err();
    let throughline::Error::Fixture(problem) = error else {
        panic!("not a fixture error");
    };
    assert_eq!(problem.kind, throughline::FixtureErrorKind::Database);
    assert!(
        problem
            .source
            .as_deref()
            .is_some_and(|e| e.is_integrity(throughline::IntegrityKind::Unique)),
        "{problem}"
    );
    // A file that does not exist.
    let error = manage(&url, &["loaddata", "/no/such/fixture.json"])
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fixture error in /no/such/fixture.json: cannot read the file"),
        "{error}"
    );
    assert_eq!(dumpdata(&url, &[]).await, before);
}

async fn counters_move_past_loaded_keys(backend: Backend) {
    let Some((db, url)) = fresh(backend, &tag(backend, "seq")).await else {
        return;
    };
    let text = r#"[
{"model": "school.tag", "pk": 10, "fields": {"name": "ten"}},
{"model": "school.tag", "pk": 20, "fields": {"name": "twenty"}},
{"model": "school.tag", "fields": {"name": "keyless"}}
]"#;
    let path = fixture_file(&format!("{}.json", tag(backend, "seq")), text);
    let out = manage(&url, &["loaddata", path.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(out.output, "Installed 3 object(s) from 1 fixture(s)\n");
    // The next row the ORM creates gets a key past the loaded ones, not a collision.
    let next = Tag {
        id: None,
        name: "next".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let keys: Vec<i64> = Tag::objects()
        .order_by([Tag::ID.asc()])
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|t| t.id)
        .collect();
    // The row without a key is written after the rows with theirs (its key cannot
    // collide with a key of the files).
    assert_eq!(keys, [10, 20, 21, 22]);
    assert_eq!(next.id, Some(22));
}

/// A fixture as Django 5.2's `dumpdata --indent 2` prints it for these models.
const DJANGO: &str = r#"[
{
  "model": "school.student",
  "pk": 1,
  "fields": {
    "name": "Ada",
    "email": "ada@example.com",
    "born": "1990-05-17",
    "token": "6f1c2e4a-8a0b-4d7e-9c3f-2b5a1d0e7f11",
    "profile": {
      "langs": [
        "rust"
      ]
    },
    "photo": "AAEC/w==",
    "mentor": null
  }
},
{
  "model": "school.course",
  "pk": 1,
  "fields": {
    "title": "Math",
    "credits": 5,
    "weight": 1.5,
    "open": true,
    "fee": "12.50",
    "tags": [
      1
    ]
  }
},
{
  "model": "school.enrollment",
  "pk": 1,
  "fields": {
    "student": 1,
    "course": 1,
    "enrolled_at": "2024-01-02T03:04:05Z",
    "grade": "A",
    "status": "completed"
  }
},
{
  "model": "school.tag",
  "pk": 1,
  "fields": {
    "name": "core"
  }
}
]
"#;

async fn a_file_written_by_django_loads(backend: Backend) {
    let Some((db, url)) = fresh(backend, &tag(backend, "django")).await else {
        return;
    };
    let path = fixture_file(&format!("{}.json", tag(backend, "django")), DJANGO);
    let out = manage(&url, &["loaddata", path.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(out.output, "Installed 4 object(s) from 1 fixture(s)\n");
    let enrollment = Enrollment::objects()
        .get(Enrollment::GRADE.eq("A"), &db)
        .await
        .unwrap();
    assert_eq!(enrollment.enrolled_at, datetime("2024-01-02T03:04:05Z"));
    assert_eq!(enrollment.status, Status::Completed);
    let ada = Student::objects()
        .get(Student::NAME.eq("Ada"), &db)
        .await
        .unwrap();
    assert_eq!(ada.photo, Some(vec![0, 1, 2, 255]));
    assert_eq!(ada.profile, serde_json::json!({"langs": ["rust"]}));
    assert_eq!(ada.born, chrono::NaiveDate::from_ymd_opt(1990, 5, 17));
    let math = Course::objects()
        .get(Course::TITLE.eq("Math"), &db)
        .await
        .unwrap();
    let tags = math.tags().all(&db).await.unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].name, "core");
    // Dumped again, it is the file Django wrote.
    assert_eq!(dumpdata(&url, &["--indent", "2"]).await, DJANGO);
}

async fn loading_saves_over_existing_rows(backend: Backend) {
    let Some((db, url)) = fresh(backend, &tag(backend, "over")).await else {
        return;
    };
    populate(&db).await;
    // Ada renamed, Math's tags replaced by [core], a new tag; across two files, in one
    // transaction. Fields left out take their defaults (as Django builds the object).
    let first = r#"[
{"model": "school.student", "pk": 1, "fields": {"name": "Ada L.", "email": "ada@example.com", "token": "6f1c2e4a-8a0b-4d7e-9c3f-2b5a1d0e7f14", "profile": {}, "mentor": 3}},
{"model": "school.course", "pk": 1, "fields": {"title": "Math", "credits": 6, "weight": 1.5, "open": true, "tags": [2]}}
]"#;
    let second = r#"[{"model": "school.tag", "pk": 3, "fields": {"name": "new"}}]"#;
    let a = fixture_file(&format!("{}-1.json", tag(backend, "over")), first);
    let b = fixture_file(&format!("{}-2.json", tag(backend, "over")), second);
    let out = manage(
        &url,
        &["loaddata", a.to_str().unwrap(), b.to_str().unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(out.output, "Installed 3 object(s) from 2 fixture(s)\n");
    assert_eq!(Student::objects().count(&db).await.unwrap(), 3);
    let ada = Student::objects()
        .get(Student::ID.eq(1), &db)
        .await
        .unwrap();
    assert_eq!(ada.name, "Ada L.");
    assert_eq!(ada.born, None);
    assert_eq!(ada.photo, None);
    let math = Course::objects().get(Course::ID.eq(1), &db).await.unwrap();
    assert_eq!(math.credits, 6);
    let tags: Vec<String> = math
        .tags()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tags, ["elective"]);
    // The enrollments of the saved-over course are untouched.
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 3);
    assert_eq!(Tag::objects().count(&db).await.unwrap(), 3);
}

/// The dump's arguments, on SQLite: an application, a model, `-o`, an unknown label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumpdata_arguments() {
    let (db, url) = fresh(Backend::Sqlite, "args").await.unwrap();
    populate(&db).await;
    let tags = dumpdata(&url, &["school.Tag"]).await;
    assert_eq!(
        tags,
        r#"[{"model": "school.tag", "pk": 1, "fields": {"name": "core"}}, {"model": "school.tag", "pk": 2, "fields": {"name": "elective"}}]"#
    );
    // Models named in any order come in dependency order.
    let two = dumpdata(&url, &["school.enrollment", "school.course"]).await;
    let course = two.find("school.course").unwrap();
    let enrollment = two.find("school.enrollment").unwrap();
    assert!(course < enrollment, "{two}");
    assert!(!two.contains("school.student"));
    assert_eq!(dumpdata(&url, &["school"]).await, dumpdata(&url, &[]).await);
    let out = scratch().join("args-out.json");
    let printed = dumpdata(&url, &["school.tag", "-o", out.to_str().unwrap()]).await;
    assert_eq!(printed, "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), tags);
    let error = manage(&url, &["dumpdata", "school.teacher"])
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fixture error: no application or model `school.teacher` (the models are: school.student, school.course, school.enrollment, school.tag)"),
        "{error}"
    );
    // Without the application's models: a clear error.
    let cli =
        Cli::try_parse_from(["throughline", "--database-url", &url, "loaddata", "x.json"]).unwrap();
    let error = throughline_cli::run_asking(&cli, None, None)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("needs the application's models"),
        "{error}"
    );
}

/// Objects in any order (an enrollment before its student and course, a student whose
/// mentor comes later, a mentor cycle written the other way round) load; the load fires
/// no relation hook (a raw load, as Django's `raw=True`).
async fn any_order_of_objects_loads_and_fires_no_hook(backend: Backend) {
    let Some((db, url)) = fresh(backend, &tag(backend, "order")).await else {
        return;
    };
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for point in [
        throughline::HookPoint::BeforeAdd,
        throughline::HookPoint::AfterAdd,
    ] {
        let fired = fired.clone();
        Course::STUDENTS_RELATION
            .on(&db, point, move |_| {
                fired.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Box::pin(async { Ok(()) })
            })
            .unwrap();
    }
    let student = |pk: i64, mentor: &str| {
        format!(
            r#"{{"model": "school.student", "pk": {pk}, "fields": {{"name": "s{pk}", "email": "s{pk}@example.com", "token": "00000000-0000-0000-0000-00000000000{pk}", "profile": null, "mentor": {mentor}}}}}"#
        )
    };
    let text = format!(
        "[\n{},\n{},\n{},\n{},\n{},\n{}\n]",
        r#"{"model": "school.enrollment", "pk": 7, "fields": {"student": 3, "course": 5, "grade": "C", "status": "active"}}"#,
        student(1, "2"),
        student(2, "3"),
        student(3, "1"),
        student(4, "4"),
        r#"{"model": "school.course", "pk": 5, "fields": {"title": "Late", "credits": 1, "weight": 0.5, "open": true, "tags": []}}"#,
    );
    let path = fixture_file(&format!("{}.json", tag(backend, "order")), &text);
    let out = manage(&url, &["loaddata", path.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(out.output, "Installed 6 object(s) from 1 fixture(s)\n");
    let mentors: Vec<(Option<i64>, Option<i64>)> = Student::objects()
        .order_by([Student::ID.asc()])
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.mentor.and_then(|m| m.key().as_i64())))
        .collect();
    assert_eq!(
        mentors,
        [
            (Some(1), Some(2)),
            (Some(2), Some(3)),
            (Some(3), Some(1)),
            (Some(4), Some(4))
        ]
    );
    let enrollment = Enrollment::objects()
        .get(Enrollment::ID.eq(7), &db)
        .await
        .unwrap();
    assert_eq!(enrollment.grade, "C");
    assert_eq!(fired.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The hooks are there: a write through the relation fires them.
    let late = Course::objects().get(Course::ID.eq(5), &db).await.unwrap();
    let s1 = Student::objects()
        .get(Student::ID.eq(1), &db)
        .await
        .unwrap();
    late.students()
        .add_with(
            [&s1],
            models::CourseStudentsValues {
                grade: "B".into(),
                enrolled_at: None,
                status: None,
            },
            &db,
        )
        .await
        .unwrap();
    assert_eq!(fired.load(std::sync::atomic::Ordering::SeqCst), 2);
}
