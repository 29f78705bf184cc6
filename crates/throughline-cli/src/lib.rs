//! The throughline command line (clap), usable two ways: as a library that the
//! application calls from its own binary with its [`Registry`], so that `makemigrations`
//! and `check` see the compiled models (as Django's `manage.py`), and standalone
//! (`throughline ...`) for what needs no models.
//!
//! ```no_run
//! // src/bin/manage.rs of an application
//! fn main() -> std::process::ExitCode {
//!     let mut registry = throughline::Registry::new();
//!     // registry.register(Student::meta())...
//!     throughline_cli::main_with(Some(&registry))
//! }
//! ```
//!
//! The database comes from `--database-url` or `DATABASE_URL`; migrations live in
//! `--migrations-dir` (default `migrations`). Every failure is a message on stderr and a
//! non-zero exit code, never a panic.

use clap::{Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use throughline::migrations::{self, Hints, Migration, ProjectState};
use throughline::{Backend, CheckLevel, Database, Error, Registry};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "throughline",
    version,
    about = "Migrations and checks for throughline applications",
    long_about = "Migrations and checks for throughline applications.\n\nThe database comes from --database-url or DATABASE_URL (sqlite://app.db?mode=rwc, postgres://user@host/db). makemigrations and check need the application's models: run them through the application's own binary, which calls throughline_cli::main_with(Some(&registry))."
)]
pub struct Cli {
    /// The database URL.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The folder holding the migration files (default: the application's, else
    /// `migrations`).
    #[arg(long, global = true)]
    pub migrations_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a migration for the changes between the migration files and the models.
    ///
    /// Nothing is dropped unless --allow-drop is given; renames come from --rename-model and
    /// --rename-field; new NOT NULL fields without a constant default need --backfill.
    ///
    /// Example: app makemigrations --name tag_author --backfill ArticleTag.tagged_by='"import"'
    Makemigrations {
        /// The migration's label (default: derived from its operations).
        #[arg(long)]
        name: Option<String>,
        /// Confirms dropping tables and columns of removed models and fields.
        #[arg(long)]
        allow_drop: bool,
        /// A model rename, OLD=NEW.
        #[arg(long, value_name = "OLD=NEW")]
        rename_model: Vec<String>,
        /// A field rename, Model.old=new.
        #[arg(long, value_name = "MODEL.OLD=NEW")]
        rename_field: Vec<String>,
        /// The value existing rows get for a NOT NULL field, Model.field=JSON.
        #[arg(long, value_name = "MODEL.FIELD=JSON")]
        backfill: Vec<String>,
        /// Show the operations without writing a file.
        #[arg(long)]
        dry_run: bool,
        /// Exit with status 1 if the models have changes without a migration (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Apply the pending migrations, or migrate backwards to TARGET ("zero" for none).
    ///
    /// Example: throughline migrate --database-url sqlite://app.db 0002_course_tag
    Migrate {
        /// The migration to stop at (applied included); migrates backwards if it is older.
        target: Option<String>,
    },
    /// List the migrations, each marked X when applied.
    ///
    /// Example: throughline showmigrations --database-url postgres://postgres@127.0.0.1/app
    Showmigrations,
    /// Print a migration's SQL for a backend, with what each operation costs.
    ///
    /// Example: throughline sqlmigrate 0002_course_tag --backend postgres
    Sqlmigrate {
        /// The migration.
        name: String,
        /// The backend (default: the database URL's).
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// The SQL that unapplies it.
        #[arg(long)]
        backwards: bool,
    },
    /// Read an existing database and print model code for it, recognising junction tables
    /// as many-to-many relations.
    ///
    /// Example: throughline inspectdb --database-url sqlite://legacy.db > src/models.rs
    Inspectdb,
    /// Run the model checks (needs the application's models).
    ///
    /// Example: app check
    Check,
}

/// A backend named on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Parses the process arguments and runs the command; the exit code says whether it
/// succeeded. Pass the application's registry to enable `makemigrations` and `check`.
pub fn main_with(registry: Option<&Registry>) -> ExitCode {
    main_with_dir(registry, None)
}

/// [`main_with`], with the application's migrations folder as the default of
/// `--migrations-dir`.
pub fn main_with_dir(registry: Option<&Registry>, migrations_dir: Option<&Path>) -> ExitCode {
    let mut cli = Cli::parse();
    if cli.migrations_dir.is_none() {
        cli.migrations_dir = migrations_dir.map(Path::to_path_buf);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli, registry)) {
        Ok(outcome) => {
            print!("{}", outcome.output);
            if outcome.failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What a command printed, and whether it reports a failure (checks, `--check`).
#[derive(Debug, Default)]
pub struct Outcome {
    /// The text for stdout.
    pub output: String,
    /// Whether the exit status is non-zero.
    pub failed: bool,
}

/// Runs one command.
pub async fn run(cli: &Cli, registry: Option<&Registry>) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    let migrations_dir = cli
        .migrations_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("migrations"));
    let push = |out: &mut Outcome, line: String| {
        out.output.push_str(&line);
        out.output.push('\n');
    };
    match &cli.command {
        Command::Makemigrations {
            name,
            allow_drop,
            rename_model,
            rename_field,
            backfill,
            dry_run,
            check,
        } => {
            let registry = needs_models(registry, "makemigrations")?;
            let existing = migrations::load(&migrations_dir)?;
            let from = migrations::replay(&existing)?;
            let to = ProjectState::from_registry(registry);
            let hints = Hints {
                model_renames: rename_model
                    .iter()
                    .map(|r| split_pair(r, "--rename-model OLD=NEW"))
                    .collect::<Result<_, _>>()?,
                field_renames: rename_field
                    .iter()
                    .map(|r| {
                        let (path, new) = split_pair(r, "--rename-field MODEL.OLD=NEW")?;
                        let (model, old) = path.split_once('.').ok_or_else(|| {
                            Error::Config(format!("--rename-field {r}: expected MODEL.OLD=NEW"))
                        })?;
                        Ok((model.to_owned(), old.to_owned(), new))
                    })
                    .collect::<Result<_, Error>>()?,
                allow_drop: *allow_drop,
                backfill: parse_backfill(backfill)?,
            };
            let detection = migrations::detect(&from, &to, &hints);
            for refused in &detection.refused {
                push(&mut out, format!("not done: {refused}"));
            }
            if detection.operations.is_empty() {
                push(&mut out, "No changes detected".to_owned());
                out.failed = !detection.refused.is_empty();
                return Ok(out);
            }
            let migration = Migration {
                name: migrations::next_name(&existing, &detection.operations, name.as_deref()),
                dependencies: existing
                    .last()
                    .map(|m| vec![m.name.clone()])
                    .unwrap_or_default(),
                operations: detection.operations,
            };
            if *check {
                push(
                    &mut out,
                    format!(
                        "The models have changes without a migration ({}):",
                        migration.name
                    ),
                );
                out.failed = true;
            }
            for operation in &migration.operations {
                push(&mut out, format!("  - {}", operation.describe()));
            }
            if *dry_run || *check {
                return Ok(out);
            }
            let path = migrations::write(&migrations_dir, &migration)?;
            push(&mut out, format!("Wrote {}", path.display()));
        }
        Command::Migrate { target } => {
            let files = migrations::load(&migrations_dir)?;
            let db = connect(cli).await?;
            let steps = migrations::migrate(&db, &files, target.as_deref()).await?;
            if steps.is_empty() {
                push(&mut out, "No migrations to apply.".to_owned());
            }
            for step in steps {
                let verb = if step.forwards {
                    "Applied"
                } else {
                    "Unapplied"
                };
                push(&mut out, format!("{verb} {}", step.name));
            }
        }
        Command::Showmigrations => {
            let files = migrations::load(&migrations_dir)?;
            let db = connect(cli).await?;
            for (name, applied) in migrations::status(&db, &files).await? {
                push(
                    &mut out,
                    format!("[{}] {name}", if applied { "X" } else { " " }),
                );
            }
            if files.is_empty() {
                push(
                    &mut out,
                    format!("(no migrations in {})", migrations_dir.display()),
                );
            }
        }
        Command::Sqlmigrate {
            name,
            backend,
            backwards,
        } => {
            let files = migrations::load(&migrations_dir)?;
            let backend = match backend {
                Some(BackendArg::Sqlite) => Backend::Sqlite,
                Some(BackendArg::Postgres) => Backend::Postgres,
                None => backend_of_url(cli.database_url.as_deref())?,
            };
            let migration = files
                .iter()
                .find(|m| &m.name == name)
                .ok_or_else(|| Error::Config(format!("unknown migration {name}")))?;
            push(
                &mut out,
                format!(
                    "-- {} ({}{})",
                    migration.name,
                    backend.name(),
                    if *backwards { ", backwards" } else { "" }
                ),
            );
            for operation in &migration.operations {
                push(
                    &mut out,
                    format!("-- {} [{}]", operation.describe(), operation.cost(backend)),
                );
            }
            for statement in migrations::sql(&files, name, backend, *backwards)? {
                push(&mut out, format!("{statement};"));
            }
        }
        Command::Inspectdb => {
            let db = connect(cli).await?;
            let tables = migrations::read_schema(&db).await?;
            let inspection = migrations::generate(&tables);
            out.output.push_str(&inspection.code);
        }
        Command::Check => {
            let registry = needs_models(registry, "check")?;
            let problems = registry.check();
            for problem in &problems {
                let level = if problem.level == CheckLevel::Error {
                    "ERROR"
                } else {
                    "WARNING"
                };
                push(&mut out, format!("{level} {problem}"));
            }
            let errors = problems
                .iter()
                .filter(|p| p.level == CheckLevel::Error)
                .count();
            push(
                &mut out,
                format!(
                    "System check identified {} issue(s) ({errors} error(s)).",
                    problems.len()
                ),
            );
            out.failed = errors > 0;
        }
    }
    Ok(out)
}

fn needs_models<'r>(registry: Option<&'r Registry>, command: &str) -> Result<&'r Registry, Error> {
    registry.ok_or_else(|| {
        Error::Config(format!(
            "{command} needs the application's models: run it through the application's own binary, which calls throughline_cli::main_with(Some(&registry))"
        ))
    })
}

async fn connect(cli: &Cli) -> Result<Database, Error> {
    let url = cli.database_url.as_deref().ok_or_else(|| {
        Error::Config("no database: pass --database-url or set DATABASE_URL".to_owned())
    })?;
    let db = Database::connect(url).await?;
    // Fail now, with a clear message, if the server cannot be reached.
    db.execute_batch("SELECT 1")
        .await
        .map_err(|e| Error::Config(format!("cannot reach the database at {url}: {e}")))?;
    Ok(db)
}

fn backend_of_url(url: Option<&str>) -> Result<Backend, Error> {
    match url {
        Some(url) if url.starts_with("sqlite:") => Ok(Backend::Sqlite),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Backend::Postgres)
        }
        _ => Err(Error::Config(
            "give --backend sqlite|postgres or a database URL".to_owned(),
        )),
    }
}

fn split_pair(text: &str, usage: &str) -> Result<(String, String), Error> {
    text.split_once('=')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| Error::Config(format!("{text:?}: expected {usage}")))
}

fn parse_backfill(items: &[String]) -> Result<HashMap<(String, String), serde_json::Value>, Error> {
    let mut out = HashMap::new();
    for item in items {
        let (path, value) = split_pair(item, "--backfill MODEL.FIELD=JSON")?;
        let (model, field) = path.split_once('.').ok_or_else(|| {
            Error::Config(format!("--backfill {item}: expected MODEL.FIELD=JSON"))
        })?;
        let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
        out.insert((model.to_owned(), field.to_owned()), value);
    }
    Ok(out)
}
