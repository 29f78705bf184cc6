//! The admin's commands: `createsuperuser` and `changepassword` through the binary (the
//! password on stdin), and, through the library with the admin installed, `migrate`
//! applying the admin's migrations beside the application's and `admin` refusing to serve
//! before they are applied.
#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use std::io::Write;
use std::process::{Command, Stdio};
use throughline::Database;

fn workspace(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "throughline-cli-admin-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    dir
}

/// Runs the binary with `stdin` as its input.
fn run_with_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn createsuperuser_and_changepassword_read_the_password_from_stdin() {
    let dir = workspace("users");
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    let rt = runtime();
    rt.block_on(async {
        let db = Database::connect(&url).await.unwrap();
        throughline_admin::install(&db).await.unwrap();
    });
    let create = [
        "--database-url",
        &url,
        "createsuperuser",
        "--username",
        "root",
        "--password-stdin",
    ];
    let (ok, out, err) = run_with_stdin(&dir, &create, "correct horse battery\n");
    assert!(ok, "{err}");
    assert!(out.contains("Superuser root created."), "{out}");
    // The same name again, a short password, no password: refused, nothing written.
    let (ok, _, err) = run_with_stdin(&dir, &create, "another good one\n");
    assert!(!ok && err.contains("root is taken"), "{err}");
    let short = [
        "--database-url",
        &url,
        "createsuperuser",
        "--username",
        "other",
        "--password-stdin",
    ];
    let (ok, _, err) = run_with_stdin(&dir, &short, "short\n");
    assert!(!ok && err.contains("too short"), "{err}");
    let (ok, _, err) = run_with_stdin(&dir, &short, "");
    assert!(!ok && err.contains("no password"), "{err}");
    let asked = [
        "--database-url",
        &url,
        "createsuperuser",
        "--username",
        "other",
    ];
    let (ok, _, err) = run_with_stdin(&dir, &asked, "");
    assert!(!ok && err.contains("--password-stdin"), "{err}");
    // changepassword.
    let change = [
        "--database-url",
        &url,
        "changepassword",
        "root",
        "--password-stdin",
    ];
    let (ok, out, err) = run_with_stdin(&dir, &change, "a brand new secret\n");
    assert!(ok && out.contains("Password changed for root."), "{err}");
    let missing = [
        "--database-url",
        &url,
        "changepassword",
        "nobody",
        "--password-stdin",
    ];
    let (ok, _, err) = run_with_stdin(&dir, &missing, "a brand new secret\n");
    assert!(!ok && err.contains("there is no user nobody"), "{err}");
    rt.block_on(async {
        let db = Database::connect(&url).await.unwrap();
        let root = throughline_admin::auth::authenticate(&db, "root", "a brand new secret")
            .await
            .unwrap()
            .expect("root logs in with the new password");
        assert!(root.is_superuser && root.is_staff && root.is_active);
        assert!(
            throughline_admin::auth::authenticate(&db, "root", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            throughline_admin::auth::find_user(&db, "other")
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn migrate_applies_the_admins_migrations_when_installed() {
    let dir = workspace("migrate");
    std::fs::write(
        dir.join("migrations/0001_notes.json"),
        r#"{"name": "0001_notes", "operations": [{"op": "create_model", "model": {"name": "Note", "table": "note", "fields": [{"name": "id", "column": "id", "type": "auto", "primary_key": true}]}}]}"#,
    )
    .unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("app.db").display());
    let migrations_dir = dir.join("migrations");
    let command = |args: &[&str]| {
        let mut argv = vec!["app", "--database-url", &url, "--migrations-dir"];
        argv.push(migrations_dir.to_str().unwrap());
        argv.extend_from_slice(args);
        let mut cli = throughline_cli::Cli::parse_from(argv);
        cli.admin = Some(throughline_admin::AdminConfig::default());
        cli
    };
    let registry = throughline::Registry::new();
    runtime().block_on(async {
        // Before migrate, `admin` refuses to serve and says why.
        let error = throughline_cli::run(
            &command(&["admin", "--bind", "127.0.0.1:0"]),
            Some(&registry),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("run migrate first") && error.contains("admin_0001_initial"),
            "{error}"
        );
        let out = throughline_cli::run(&command(&["migrate"]), None)
            .await
            .unwrap()
            .output;
        assert!(
            out.contains("Applied 0001_notes") && out.contains("Applied admin_0001_initial"),
            "{out}"
        );
        let out = throughline_cli::run(&command(&["showmigrations"]), None)
            .await
            .unwrap()
            .output;
        assert!(out.contains("[X] admin_0001_initial"), "{out}");
        // Without the admin installed, the admin commands say how to install it.
        let mut plain = command(&["admin"]);
        plain.admin = None;
        let error = throughline_cli::run(&plain, Some(&registry))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("main_with_admin"), "{error}");
    });
}
