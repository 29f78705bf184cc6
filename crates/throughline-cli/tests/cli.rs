//! The `throughline` binary, run as a user runs it: help, sqlmigrate, migrate and
//! showmigrations on a SQLite file (and a migration stopped half-way on MariaDB, shown and
//! resumed), and clear errors with a non-zero exit code for unknown
//! migrations, malformed files, unreachable databases and commands that need models.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

const NOTES: &str = r#"{
  "name": "0001_notes",
  "dependencies": [],
  "operations": [
    {
      "op": "create_model",
      "model": {
        "name": "Note",
        "table": "note",
        "fields": [
          { "name": "id", "column": "id", "type": "auto", "primary_key": true },
          { "name": "body", "column": "body", "type": "string(200)" }
        ]
      }
    }
  ]
}
"#;

fn workspace(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("throughline-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn help_explains_each_command_with_an_example() {
    let dir = workspace("help");
    for command in [
        "makemigrations",
        "migrate",
        "showmigrations",
        "sqlmigrate",
        "check",
        "admin",
        "createsuperuser",
        "changepassword",
        "dumpdata",
        "loaddata",
    ] {
        let (ok, out, _) = run(&dir, &[command, "--help"]);
        assert!(ok, "{command} --help");
        assert!(out.contains("Example:"), "{command}: {out}");
    }
}

#[test]
fn migrate_showmigrations_and_sqlmigrate_on_a_sqlite_file() {
    let dir = workspace("sqlite");
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    let (ok, out, err) = run(&dir, &["--database-url", &url, "showmigrations"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "[ ] 0001_notes");
    let (ok, out, err) = run(&dir, &["--database-url", &url, "migrate"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "Applied 0001_notes");
    let (ok, out, _) = run(&dir, &["--database-url", &url, "showmigrations"]);
    assert!(ok);
    assert_eq!(out.trim(), "[X] 0001_notes");
    let (ok, out, _) = run(&dir, &["--database-url", &url, "migrate"]);
    assert!(ok);
    assert_eq!(out.trim(), "No migrations to apply.");
    let (ok, out, err) = run(&dir, &["sqlmigrate", "0001_notes", "--backend", "postgres"]);
    assert!(ok, "{err}");
    // A migration creates its table with a plain CREATE TABLE: an existing one is an error.
    assert!(out.contains(r#"CREATE TABLE "note" ("#), "{out}");
    assert!(out.contains("[metadata only]"), "{out}");
    let (ok, out, _) = run(
        &dir,
        &[
            "--database-url",
            &url,
            "sqlmigrate",
            "0001_notes",
            "--backwards",
        ],
    );
    assert!(ok);
    assert!(out.contains(r#"DROP TABLE "note";"#), "{out}");
    let (ok, out, err) = run(&dir, &["--database-url", &url, "migrate", "zero"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "Unapplied 0001_notes");
}

#[test]
fn errors_are_messages_and_exit_codes() {
    let dir = workspace("errors");
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    let (ok, _, err) = run(&dir, &["sqlmigrate", "0009_nope", "--backend", "sqlite"]);
    assert!(!ok);
    assert!(err.contains("unknown migration 0009_nope"), "{err}");
    let (ok, _, err) = run(&dir, &["makemigrations"]);
    assert!(!ok);
    assert!(err.contains("needs the application's models"), "{err}");
    let (ok, _, err) = run(&dir, &["showmigrations"]);
    assert!(!ok);
    assert!(err.contains("DATABASE_URL"), "{err}");
    let (ok, _, err) = run(
        &dir,
        &[
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none?pool_timeout_ms=2000",
            "showmigrations",
        ],
    );
    assert!(!ok);
    assert!(err.starts_with("error:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::write(dir.join("migrations/0002_bad.json"), "{ not json").unwrap();
    let (ok, _, err) = run(&dir, &["sqlmigrate", "0001_notes", "--backend", "sqlite"]);
    assert!(!ok);
    assert!(
        err.contains("malformed migration file") && err.contains("0002_bad.json"),
        "{err}"
    );
}

#[test]
fn a_missing_folder_prefixes_and_error_kinds() {
    let dir = workspace("folder");
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    // From a directory without the migrations folder: an error, not "nothing to apply".
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (ok, out, err) = run(&elsewhere, &["--database-url", &url, "migrate"]);
    assert!(!ok, "{out}");
    assert!(err.contains("no migrations folder"), "{err}");
    assert!(!out.contains("No migrations to apply"), "{out}");
    // A unique prefix names a migration.
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    let (ok, out, err) = run(&dir, &["sqlmigrate", "0001", "--backend", "sqlite"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("-- 0001_notes"), "{out}");
    let (ok, out, err) = run(&dir, &["--database-url", &url, "migrate", "0001"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "Applied 0001_notes");
    // Migration problems are migration errors (Display, not Debug), not configuration.
    let (ok, _, err) = run(&dir, &["sqlmigrate", "0009", "--backend", "sqlite"]);
    assert!(!ok);
    assert!(
        err.starts_with("error: migration error: unknown migration 0009"),
        "{err}"
    );
    let (ok, _, err) = run(&dir, &["makemigrations"]);
    assert!(!ok);
    assert!(!err.contains("invalid database configuration"), "{err}");
    std::fs::write(dir.join("migrations/0002_bad.json"), "{\n  \"name\": [\n").unwrap();
    let (ok, _, err) = run(&dir, &["sqlmigrate", "0001", "--backend", "sqlite"]);
    assert!(!ok);
    assert!(err.contains("0002_bad.json:2"), "{err}");
    assert!(!err.contains("invalid database configuration"), "{err}");
    assert!(!err.contains("MigrationError {"), "{err}");
}

/// Runs SQL on a SQLite file with throughline's own driver.
fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = throughline::Database::connect(url).await.unwrap();
        db.execute_batch(sql).await.unwrap();
    });
}

#[test]
fn an_existing_table_is_refused_unless_fake_initial_verified_its_shape() {
    let dir = workspace("fake-initial");
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    // A drifted table: `body` is missing, `foo` is extra.
    let drifted = format!("sqlite://{}?mode=rwc", dir.join("drifted.db").display());
    execute(
        &drifted,
        "CREATE TABLE note (id integer PRIMARY KEY AUTOINCREMENT NOT NULL, foo text)",
    );
    let (ok, out, err) = run(&dir, &["--database-url", &drifted, "migrate"]);
    assert!(!ok, "{out}");
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("note"), "{err}");
    let (ok, _, err) = run(
        &dir,
        &["--database-url", &drifted, "migrate", "--fake-initial"],
    );
    assert!(!ok);
    assert!(err.contains("body"), "the difference is listed: {err}");
    let (_, out, _) = run(&dir, &["--database-url", &drifted, "showmigrations"]);
    assert_eq!(out.trim(), "[ ] 0001_notes", "nothing was recorded");

    // A table with the migration's shape, made by migrating another database and copying
    // its schema (the recorder table left out).
    let made = format!("sqlite://{}?mode=rwc", dir.join("made.db").display());
    let (ok, _, err) = run(&dir, &["--database-url", &made, "migrate"]);
    assert!(ok, "{err}");
    let schema = std::process::Command::new("sqlite3")
        .arg(dir.join("made.db"))
        .arg("SELECT sql || ';' FROM sqlite_master WHERE name = 'note'")
        .output()
        .unwrap();
    let create = String::from_utf8(schema.stdout).unwrap();
    assert!(create.contains("CREATE TABLE"), "{create}");
    let adopted = format!("sqlite://{}?mode=rwc", dir.join("adopted.db").display());
    execute(&adopted, &create);
    let (ok, _, err) = run(&dir, &["--database-url", &adopted, "migrate"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, err) = run(
        &dir,
        &["--database-url", &adopted, "migrate", "--fake-initial"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Faked") && out.contains("0001_notes"), "{out}");
    let (_, out, _) = run(&dir, &["--database-url", &adopted, "showmigrations"]);
    assert_eq!(out.trim(), "[X] 0001_notes");
    let _ = std::fs::remove_dir_all(dir);
}

/// A foreign-key violation found by SQLite's check after a migration's operations names
/// the migration, and nothing of it is applied.
#[test]
fn a_failure_after_the_operations_names_the_migration() {
    let dir = workspace("fk-check");
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    let orphan = r#"{
  "name": "0002_orphan",
  "dependencies": ["0001_notes"],
  "operations": [
    {
      "op": "create_model",
      "model": {
        "name": "Comment",
        "table": "comment",
        "fields": [
          { "name": "id", "column": "id", "type": "auto", "primary_key": true },
          { "name": "note", "column": "note_id", "type": "i64", "foreign_key": { "to": "Note", "on_delete": "cascade" } }
        ]
      }
    },
    { "op": "run_sql", "sql": ["INSERT INTO comment (id, note_id) VALUES (1, 999)"], "reverse_sql": [] }
  ]
}
"#;
    std::fs::write(dir.join("migrations/0002_orphan.json"), orphan).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    let (ok, out, err) = run(&dir, &["--database-url", &url, "migrate"]);
    assert!(!ok, "{out}");
    assert!(err.contains("0002_orphan"), "{err}");
    assert!(err.contains("foreign key"), "{err}");
    let (_, out, _) = run(&dir, &["--database-url", &url, "showmigrations"]);
    assert_eq!(out.trim(), "[X] 0001_notes\n[ ] 0002_orphan");
    let _ = std::fs::remove_dir_all(dir);
}

/// A migration second of two operations fails on MariaDB, where DDL commits per statement:
/// `migrate` exits non-zero naming what is in effect, `showmigrations` marks it `[~]`
/// with how far it got, and once the cause is fixed `migrate` finishes it.
#[test]
fn a_migration_stopped_half_way_on_mariadb_is_shown_and_finished() {
    let base = std::env::var("THROUGHLINE_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
    let name = format!("t_cli_stopped_{}", std::process::id());
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    let url = format!("{server}/{name}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let created = runtime.block_on(async {
        let db = throughline::Database::connect(&base).await?;
        db.execute_batch(&format!(
            "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .await
    });
    if let Err(error) = created {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "MariaDB at {base} is unreachable in CI: {error}"
        );
        eprintln!("SKIPPED (MariaDB unreachable at {base}: {error})");
        return;
    }
    let dir = workspace("stopped");
    std::fs::write(dir.join("migrations/0001_notes.json"), NOTES).unwrap();
    let tags = r#"{"name": "0002_tags", "dependencies": ["0001_notes"], "operations": [
        {"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true}]}},
        {"op": "run_sql", "sql": ["INSERT INTO \"missing\" VALUES (1)"], "reverse_sql": []}
    ]}"#;
    std::fs::write(dir.join("migrations/0002_tags.json"), tags).unwrap();
    let (ok, _, err) = run(&dir, &["--database-url", &url, "migrate"]);
    assert!(!ok);
    assert!(
        err.contains("0002_tags") && err.contains("operations 1 to 1 of 2 are in effect"),
        "{err}"
    );
    let (ok, out, err) = run(&dir, &["--database-url", &url, "showmigrations"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "[X] 0001_notes\n[~] 0002_tags (partially applied: 1 of 2 operations in effect; next: Run SQL (1 statement(s)))",
    );
    runtime.block_on(async {
        let db = throughline::Database::connect(&url).await.unwrap();
        db.execute_batch(r#"CREATE TABLE "missing" ("x" integer)"#)
            .await
            .unwrap();
    });
    let (ok, out, err) = run(&dir, &["--database-url", &url, "migrate"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "Applied 0002_tags");
    let (_, out, _) = run(&dir, &["--database-url", &url, "showmigrations"]);
    assert_eq!(out.trim(), "[X] 0001_notes\n[X] 0002_tags");
}
