//! `makemigrations`, `migrate`, `showmigrations` and `sqlmigrate` through the CLI library,
//! with models, as an application's own binary runs them: rename candidates are asked (or
//! refused without a terminal, with the flag that answers them first), a migration is
//! written whole or not at all, hint flags naming unknown models or fields are errors, the
//! migrations embedded in the binary work from any directory, a history unknown to them is
//! an error, names accept unique prefixes, and migration problems are `Error::Migration`.
//! Database steps run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use std::path::{Path, PathBuf};
use throughline::migrations::{EmbeddedMigrations, Question};
use throughline::{Database, Error, Model, Registry};
use throughline_cli::{Cli, CliError, Outcome};

mod v1 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    pub struct Course {
        pub id: Option<i64>,
        #[throughline(max_length = 200)]
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Room {
        pub id: Option<i64>,
        pub seats: i32,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register(Course::meta()).register(Room::meta());
        registry
    }
}

/// `Course.title` renamed to `name`.
mod v2 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    pub struct Course {
        pub id: Option<i64>,
        #[throughline(max_length = 200)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Room {
        pub id: Option<i64>,
        pub seats: i32,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register(Course::meta()).register(Room::meta());
        registry
    }
}

/// Five changes from v1: `Course.title` renamed to `name` (a question), a new NOT NULL
/// `Course.code` without a default (needs a value), `Room` removed and `Hall` added with
/// the same fields (a question), a new nullable `Course.summary` and a new model `Teacher`
/// (both decided).
mod v3 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    pub struct Course {
        pub id: Option<i64>,
        #[throughline(max_length = 200)]
        pub name: String,
        pub code: i32,
        pub summary: Option<String>,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Hall {
        pub id: Option<i64>,
        pub seats: i32,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Teacher {
        pub id: Option<i64>,
        #[throughline(max_length = 100)]
        pub name: String,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::new();
        registry
            .register(Course::meta())
            .register(Hall::meta())
            .register(Teacher::meta());
        registry
    }
}

/// `Course` renamed to `Class` on the same table (a rename without a question), and its
/// `title` renamed to `name` (a question).
mod v4 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(table = "course")]
    pub struct Class {
        pub id: Option<i64>,
        #[throughline(max_length = 200)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Room {
        pub id: Option<i64>,
        pub seats: i32,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register(Class::meta()).register(Room::meta());
        registry
    }
}

/// Two migrations embedded at compile time, from this crate's test fixtures.
static FIXTURES: EmbeddedMigrations = throughline::embed_migrations!("tests/fixtures/migrations");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn workspace(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("throughline-make-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn cli(dir: &Path, args: &[&str]) -> Cli {
    let migrations = dir.join("migrations");
    let mut all = vec!["app", "--migrations-dir", migrations.to_str().unwrap()];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

async fn make(
    dir: &Path,
    registry: &Registry,
    args: &[&str],
    answers: Option<&mut Vec<(String, bool)>>,
) -> Result<Outcome, CliError> {
    let mut all = vec!["makemigrations"];
    all.extend_from_slice(args);
    let cli = cli(dir, &all);
    match answers {
        None => throughline_cli::run_asking(&cli, Some(registry), None).await,
        Some(answers) => {
            let mut ask = |question: &Question| {
                let (expected, answer) = answers.remove(0);
                assert_eq!(question.prompt(), expected);
                Some(answer)
            };
            throughline_cli::run_asking(&cli, Some(registry), Some(&mut ask)).await
        }
    }
}

fn undecided(result: Result<Outcome, CliError>) -> String {
    match result {
        Err(CliError::Undecided(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn migration_error(result: Result<Outcome, CliError>) -> throughline::MigrationError {
    match result {
        Err(CliError::Throughline(Error::Migration(error))) => error,
        other => panic!("expected a migration error, got {other:?}"),
    }
}

/// The databases the tests run on: a SQLite file, and a fresh PostgreSQL schema (skipped
/// with a message when PostgreSQL is unreachable outside CI).
async fn databases(dir: &Path, test: &str) -> Vec<String> {
    let mut urls = vec![format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("{test}.db")).display()
    )];
    let base = std::env::var("THROUGHLINE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_cli_{test}_{}", std::process::id());
    let created = match Database::connect(&base).await {
        Ok(db) => db
            .execute_batch(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match created {
        Ok(()) => urls.push(format!("{base}?options=-csearch_path%3D{schema}")),
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {base} is unreachable in CI: {error}");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (PostgreSQL unreachable at {base}: {error}): {test}"
            );
        }
    }
    urls
}

async fn command(dir: &Path, url: &str, args: &[&str]) -> Result<Outcome, CliError> {
    let mut all = vec!["--database-url", url];
    all.extend_from_slice(args);
    throughline_cli::run_asking(&cli(dir, &all), None, None).await
}

async fn embedded(url: &str, args: &[&str]) -> Result<Outcome, CliError> {
    let mut all = vec!["app", "--database-url", url];
    all.extend_from_slice(args);
    let mut cli = Cli::try_parse_from(all).unwrap();
    cli.embedded = Some(FIXTURES);
    throughline_cli::run_asking(&cli, None, None).await
}

#[test]
fn a_rename_candidate_is_asked_or_refused_never_dropped() {
    runtime().block_on(async {
        let dir = workspace("rename");
        make(&dir, &v1::registry(), &[], None).await.unwrap();
        assert_eq!(files(&dir), ["0001_initial.json"]);

        // No terminal: refused, the rename flag first, no drop or backfill suggested.
        let message = undecided(make(&dir, &v2::registry(), &[], None).await);
        let rename = message
            .find("--rename-field Course.title=name")
            .unwrap_or_else(|| panic!("{message}"));
        let not_renamed = message.find("--not-renamed Course.title").unwrap();
        assert!(rename < not_renamed, "{message}");
        assert!(!message.contains("--allow-drop"), "{message}");
        assert!(!message.contains("--backfill"), "{message}");
        assert_eq!(files(&dir), ["0001_initial.json"], "nothing written");

        // Answered N: now the drop is suggested, saying that it deletes data.
        let mut answers = vec![(
            "Was Course.title renamed to Course.name? [y/N]".into(),
            false,
        )];
        let message = undecided(make(&dir, &v2::registry(), &[], Some(&mut answers)).await);
        assert!(answers.is_empty());
        assert!(message.contains("--allow-drop"), "{message}");
        assert!(message.contains("DELETES"), "{message}");
        assert!(message.contains("--backfill Course.name"), "{message}");
        assert!(message.contains("--not-renamed Course.title"), "{message}");
        // The same by flag, without asking.
        let message = undecided(
            make(
                &dir,
                &v2::registry(),
                &["--not-renamed", "Course.title"],
                None,
            )
            .await,
        );
        assert!(message.contains("--allow-drop"), "{message}");
        assert_eq!(files(&dir), ["0001_initial.json"], "nothing written");

        // No answer (the end of input, Ctrl-D): the question stays open and is refused.
        let cli = cli(&dir, &["makemigrations"]);
        let mut no_answer = |_: &Question| None;
        let message = undecided(
            throughline_cli::run_asking(&cli, Some(&v2::registry()), Some(&mut no_answer)).await,
        );
        assert!(
            message.contains("--rename-field Course.title=name"),
            "{message}"
        );
        assert!(!message.contains("--allow-drop"), "{message}");
        assert_eq!(files(&dir), ["0001_initial.json"], "nothing written");

        // Answered y on a terminal: a rename.
        let mut answers = vec![(
            "Was Course.title renamed to Course.name? [y/N]".into(),
            true,
        )];
        let out = make(&dir, &v2::registry(), &["--dry-run"], Some(&mut answers))
            .await
            .unwrap();
        assert!(
            out.output.contains("Rename field Course.title to name"),
            "{}",
            out.output
        );
        // By flag: written, and the data survives on every backend.
        let out = make(
            &dir,
            &v2::registry(),
            &["--rename-field", "Course.title=name"],
            None,
        )
        .await
        .unwrap();
        assert!(out.output.contains("Wrote"), "{}", out.output);
        let written = files(&dir);
        assert_eq!(written.len(), 2, "{written:?}");
        let text = std::fs::read_to_string(dir.join("migrations").join(&written[1])).unwrap();
        assert!(text.contains("\"rename_field\""), "{text}");
        assert!(!text.contains("remove_field"), "{text}");

        for url in databases(&dir, "rename").await {
            command(&dir, &url, &["migrate", "0001"]).await.unwrap();
            let db = Database::connect(&url).await.unwrap();
            db.execute_batch("INSERT INTO course (title) VALUES ('Algebra'), ('Botany')")
                .await
                .unwrap();
            let out = command(&dir, &url, &["migrate"]).await.unwrap();
            assert!(out.output.contains("Applied 0002"), "{}", out.output);
            let mut names: Vec<String> = v2::Course::objects()
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.name)
                .collect();
            names.sort();
            assert_eq!(names, ["Algebra", "Botany"], "{url}");
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_migration_is_written_whole_or_not_at_all() {
    runtime().block_on(async {
        let dir = workspace("whole");
        make(&dir, &v1::registry(), &[], None).await.unwrap();

        // Five changes, three undecided: nothing is written and every one is listed.
        let message = undecided(make(&dir, &v3::registry(), &[], None).await);
        assert!(message.contains("3 change(s)"), "{message}");
        assert!(
            message.contains("--rename-field Course.title=name"),
            "{message}"
        );
        assert!(message.contains("--rename-model Room=Hall"), "{message}");
        assert!(message.contains("--backfill Course.code"), "{message}");
        assert_eq!(files(&dir), ["0001_initial.json"]);
        let message = undecided(
            make(
                &dir,
                &v3::registry(),
                &["--rename-field", "Course.title=name", "--dry-run"],
                None,
            )
            .await,
        );
        assert!(message.contains("2 change(s)"), "{message}");

        // On a terminal both questions are asked (the model first); the answers are
        // repeated as flags while the missing value still stops the migration.
        let mut answers = vec![
            ("Was the model Room renamed to Hall? [y/N]".into(), true),
            (
                "Was Course.title renamed to Course.name? [y/N]".into(),
                true,
            ),
        ];
        let message = undecided(make(&dir, &v3::registry(), &[], Some(&mut answers)).await);
        assert!(answers.is_empty(), "{answers:?}");
        assert!(message.contains("1 change(s)"), "{message}");
        assert!(
            message.contains(
                "your answers, as flags: --rename-model Room=Hall --rename-field Course.title=name"
            ),
            "{message}"
        );
        assert_eq!(files(&dir), ["0001_initial.json"]);

        // Only refused changes (nothing decided) is a refusal too, never "No changes
        // detected".
        let message = undecided(
            make(
                &dir,
                &v2::registry(),
                &["--not-renamed", "Course.title"],
                None,
            )
            .await,
        );
        assert!(message.contains("2 change(s)"), "{message}");
        assert!(!message.contains("No changes"), "{message}");
        assert_eq!(files(&dir), ["0001_initial.json"]);

        // Hints naming unknown models or fields are errors.
        for args in [
            ["--rename-field", "Course.titel=name"],
            ["--rename-field", "Course.title=nom"],
            ["--rename-field", "Cours.title=name"],
            ["--backfill", "CourseTag.nope=1"],
            ["--backfill", "Course.nope=1"],
            ["--rename-model", "Rooms=Hall"],
            ["--not-renamed", "Course.titel"],
        ] {
            let error = migration_error(make(&dir, &v3::registry(), &args, None).await);
            assert!(
                error.reason.contains(args[1].split('=').next().unwrap()),
                "{args:?}: {error}"
            );
        }

        // Every change decided: one migration with all five.
        let out = make(
            &dir,
            &v3::registry(),
            &[
                "--rename-field",
                "Course.title=name",
                "--rename-model",
                "Room=Hall",
                "--backfill",
                "Course.code=0",
            ],
            None,
        )
        .await
        .unwrap();
        assert!(out.output.contains("Wrote"), "{}", out.output);
        let again = make(&dir, &v3::registry(), &[], None).await.unwrap();
        assert_eq!(again.output.trim(), "No changes detected");
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn embedded_migrations_work_from_anywhere_and_refuse_a_foreign_history() {
    runtime().block_on(async {
        let dir = workspace("embedded");
        // The working directory has no `migrations` folder: the embedded ones are used.
        assert!(!Path::new("migrations").exists());
        for url in databases(&dir, "embedded").await {
            let out = embedded(&url, &["showmigrations"]).await.unwrap();
            assert_eq!(out.output.trim(), "[ ] 0001_notes\n[ ] 0002_note_author", "{url}");
            let out = embedded(&url, &["migrate", "0001"]).await.unwrap();
            assert_eq!(out.output.trim(), "Applied 0001_notes", "{url}");
            let out = embedded(&url, &["migrate"]).await.unwrap();
            assert_eq!(out.output.trim(), "Applied 0002_note_author", "{url}");
            // A unique prefix names a migration; an ambiguous one lists the candidates.
            let out = embedded(&url, &["sqlmigrate", "0002"]).await.unwrap();
            assert!(out.output.contains("-- 0002_note_author"), "{}", out.output);
            let error = migration_error(embedded(&url, &["sqlmigrate", "000"]).await);
            assert!(
                error.reason.contains("0001_notes") && error.reason.contains("0002_note_author"),
                "{error}"
            );
            let error = migration_error(embedded(&url, &["migrate", "0009"]).await);
            assert!(error.reason.contains("unknown migration 0009"), "{error}");
            let out = embedded(&url, &["migrate", "0001"]).await.unwrap();
            assert_eq!(out.output.trim(), "Unapplied 0002_note_author", "{url}");

            // A database that has applied a migration the binary does not know.
            let db = Database::connect(&url).await.unwrap();
            let now = if url.starts_with("sqlite") {
                "'2026-01-01 00:00:00.000000'"
            } else {
                "now()"
            };
            db.execute_batch(&format!(
                "INSERT INTO throughline_migrations (name, applied_at) VALUES ('0003_elsewhere', {now})"
            ))
            .await
            .unwrap();
            for args in [&["migrate"][..], &["showmigrations"][..]] {
                let error = migration_error(embedded(&url, args).await);
                assert!(error.reason.contains("0003_elsewhere"), "{error}");
                assert!(error.reason.contains("this binary"), "{error}");
            }
            // The same from a folder that lacks it.
            std::fs::write(
                dir.join("migrations/0001_notes.json"),
                FIXTURES.files[0].1,
            )
            .unwrap();
            let error = migration_error(command(&dir, &url, &["migrate"]).await);
            assert!(error.reason.contains("0003_elsewhere"), "{error}");
            std::fs::remove_file(dir.join("migrations/0001_notes.json")).unwrap();
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_missing_migrations_folder_is_an_error_not_a_fresh_history() {
    runtime().block_on(async {
        let dir = workspace("missing");
        std::fs::remove_dir_all(dir.join("migrations")).unwrap();
        let error = migration_error(make(&dir, &v1::registry(), &[], None).await);
        assert!(error.reason.contains("no migrations folder"), "{error}");
        assert!(!dir.join("migrations").exists(), "no folder created");
        let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
        let error = migration_error(command(&dir, &url, &["migrate"]).await);
        assert!(error.reason.contains("no migrations folder"), "{error}");
        // The folder embedded in the binary, missing on disk, is an error for makemigrations.
        let mut cli = Cli::try_parse_from(["app", "makemigrations"]).unwrap();
        cli.embedded = Some(EmbeddedMigrations {
            dir: "/nonexistent/app/migrations",
            files: &[],
        });
        let error =
            migration_error(throughline_cli::run_asking(&cli, Some(&v1::registry()), None).await);
        assert!(
            error
                .reason
                .contains("mkdir -p /nonexistent/app/migrations"),
            "{error}"
        );
        // A folder that lacks migrations the binary embeds (a deployed binary beside an
        // empty folder) does not start a fresh history either.
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        let folder: &'static str = Box::leak(
            dir.join("migrations")
                .to_str()
                .unwrap()
                .to_owned()
                .into_boxed_str(),
        );
        cli.embedded = Some(EmbeddedMigrations {
            dir: folder,
            files: FIXTURES.files,
        });
        let error =
            migration_error(throughline_cli::run_asking(&cli, Some(&v1::registry()), None).await);
        assert!(
            error.reason.contains("embeds migration 0001_notes"),
            "{error}"
        );
        assert!(files(&dir).is_empty(), "{:?}", files(&dir));
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn migration_problems_are_migration_errors_with_file_and_line() {
    runtime().block_on(async {
        let dir = workspace("kinds");
        let migrations = dir.join("migrations");
        std::fs::write(migrations.join("0001_notes.json"), FIXTURES.files[0].1).unwrap();
        std::fs::write(
            migrations.join("0002_bad.json"),
            "{\n  \"name\": \"0002_bad\",\n  \"operations\": [\n    { \"op\": \n  ]\n}\n",
        )
        .unwrap();
        let error = migration_error(command(&dir, "sqlite::memory:", &["showmigrations"]).await);
        assert!(
            error.file.as_deref().unwrap().ends_with("0002_bad.json"),
            "{error}"
        );
        assert_eq!(error.line, Some(5), "{error}");
        std::fs::write(
            migrations.join("0002_bad.json"),
            r#"{"name": "0002_bad", "dependencies": ["0001_nope"], "operations": []}"#,
        )
        .unwrap();
        let error = migration_error(command(&dir, "sqlite::memory:", &["showmigrations"]).await);
        assert_eq!(error.file.as_deref(), Some("0002_bad"), "{error}");
        assert!(error.reason.contains("0001_nope"), "{error}");
        std::fs::remove_file(migrations.join("0002_bad.json")).unwrap();
        let error =
            migration_error(command(&dir, "sqlite::memory:", &["sqlmigrate", "0009_nope"]).await);
        assert!(
            error.reason.contains("unknown migration 0009_nope"),
            "{error}"
        );
        // The library says the same to applications that call it directly.
        let loaded = FIXTURES.load().unwrap();
        let error =
            throughline::migrations::sql(&loaded, "0009", throughline::Backend::Sqlite, false)
                .unwrap_err();
        assert!(error.is_migration(), "{error}");
        let result = throughline_cli::run_asking(&cli(&dir, &["makemigrations"]), None, None).await;
        match result {
            Err(error @ CliError::Usage(_)) => {
                let text = error.to_string();
                assert!(text.contains("needs the application's models"), "{text}");
                assert!(!text.contains("invalid database configuration"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

/// The flag printed for a field rename inside a model that was renamed without a question
/// (same table) is accepted as printed.
#[test]
fn the_printed_rename_flag_works_inside_a_renamed_model() {
    runtime().block_on(async {
        let dir = workspace("rename-in-renamed");
        make(&dir, &v1::registry(), &[], None).await.unwrap();
        let message = undecided(make(&dir, &v4::registry(), &[], None).await);
        let flag = "--rename-field Class.title=name";
        assert!(message.contains(flag), "{message}");
        let out = make(
            &dir,
            &v4::registry(),
            &["--rename-field", "Class.title=name", "--dry-run"],
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("the printed flag is refused: {e}"));
        assert!(out.output.contains("Rename field"), "{}", out.output);
        assert!(!out.output.contains("Remove field"), "{}", out.output);
    });
}
