//! The school's web admin: `cargo run -p school -- admin` serves the school's models at
//! <http://127.0.0.1:8000/admin/> on a SQLite file kept between runs (created with a few
//! students, courses and enrollments the first time), and
//! `cargo run -p school -- createsuperuser --username admin` creates the user to log in
//! with. `cargo run -p school -- dumpdata --indent 2` prints that database's rows as a
//! fixture (Django's layout) and `loaddata FILE` loads one. All are the throughline CLI's
//! commands with the school's models and the admin installed.

use crate::models::{Course, CourseStudentsValues, Status, Student, registry};
use clap::Parser;
use std::process::ExitCode;
use throughline::prelude::*;
use throughline_admin::{AdminConfig, ModelAdmin};

/// The commands this module answers.
const COMMANDS: &[&str] = &[
    "admin",
    "createsuperuser",
    "changepassword",
    "dumpdata",
    "loaddata",
];

/// How the school's models show in the admin.
fn config() -> AdminConfig {
    AdminConfig::default()
        .model(
            "Student",
            ModelAdmin::default()
                .list_display(["name", "email"])
                .search_fields(["name", "email"]),
        )
        .model("Course", ModelAdmin::default().list_display(["title"]))
        .model(
            "Enrollment",
            ModelAdmin::default()
                .list_display(["student", "course", "grade", "status", "enrolled_at"])
                .list_filter(["status", "course", "enrolled_at"]),
        )
        .model(
            "TopicSystem",
            ModelAdmin::default()
                .list_display(["topic", "system", "service"])
                .list_filter(["topic", "system"]),
        )
}

/// Runs an admin command when the command line asks for one; `None` otherwise.
pub fn run_if_asked() -> Option<ExitCode> {
    let command = std::env::args().nth(1)?;
    if !COMMANDS.contains(&command.as_str()) {
        return None;
    }
    let mut cli = throughline_cli::Cli::parse();
    let url = cli.database_url.clone().unwrap_or_else(default_url);
    cli.database_url = Some(url.clone());
    cli.admin = Some(config());
    if let Err(error) = prepare(&url) {
        eprintln!("error: cannot prepare the school's database: {error}");
        return Some(ExitCode::FAILURE);
    }
    Some(throughline_cli::execute(&cli, Some(&registry())))
}

/// `school-admin.db` beside the example's other database (in the temporary folder).
fn default_url() -> String {
    let dir = std::env::temp_dir().join("throughline-school");
    let _ = std::fs::create_dir_all(&dir);
    format!(
        "sqlite://{}?mode=rwc",
        dir.join("school-admin.db").display()
    )
}

/// Creates the school's tables and the admin's (both idempotent) and, on a new database,
/// a few rows to look at.
fn prepare(url: &str) -> throughline::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| throughline::Error::Config(e.to_string()))?;
    runtime.block_on(async {
        let db = Database::connect(url).await?;
        throughline::create_tables(&db, &registry()).await?;
        throughline_admin::install(&db).await?;
        if Student::objects().exists(&db).await? {
            return Ok(());
        }
        let mut students = Vec::new();
        for name in ["alice", "bob", "carol", "dave"] {
            students.push(
                Student {
                    id: None,
                    name: name.to_owned(),
                    email: format!("{name}@school.example"),
                }
                .create(&db)
                .await?,
            );
        }
        let math = Course {
            id: None,
            title: "Mathematics".into(),
            fee: Decimal::new(12050, 2),
        }
        .create(&db)
        .await?;
        Course {
            id: None,
            title: "History".into(),
            fee: Decimal::new(9900, 2),
        }
        .create(&db)
        .await?;
        let values = CourseStudentsValues {
            grade: "B+".into(),
            enrolled_at: None,
            status: Some(Status::Active),
        };
        math.students()
            .add_with(&students[..2], values, &db)
            .await?;
        Ok(())
    })
}
