//! The throughline command line (clap), usable two ways: as a library that the
//! application calls from its own binary with its [`Registry`], so that `makemigrations`,
//! `check`, `dumpdata` and `loaddata` see the compiled models (as Django's `manage.py`),
//! and standalone (`throughline ...`) for what needs no models.
//!
//! ```no_run
//! // src/bin/manage.rs of an application; the folder is relative to the application's
//! // Cargo.toml, usually "migrations" (this example uses this crate's test fixtures)
//! static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
//!     throughline::embed_migrations!("tests/fixtures/migrations");
//!
//! fn main() -> std::process::ExitCode {
//!     let mut registry = throughline::Registry::new();
//!     // registry.register(Student::meta())...
//!     throughline_cli::main_with_migrations(Some(&registry), MIGRATIONS)
//! }
//! ```
//!
//! The database comes from `--database-url` or `DATABASE_URL`. The migrations are the ones
//! embedded in the application's binary (so `migrate` works from any directory and in a
//! deployed binary), else the folder `--migrations-dir` (default `migrations`), which must
//! exist: a missing folder is an error, never "nothing to do" or a fresh `0001_initial`.
//!
//! `makemigrations` writes a migration whole or not at all: a rename candidate (a removed
//! and an added field of the same type and options, or models with the same fields) is
//! asked on a terminal and refused without one (the flags that answer it are printed), a
//! drop needs `--allow-drop`, a new NOT NULL field needs a value; until every change is
//! decided, nothing is written and the exit code is non-zero. Every failure is a message
//! on stderr (Display, never Debug) and a non-zero exit code, never a panic.

use clap::{Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use throughline::migrations::{self, EmbeddedMigrations, Hints, Migration, ProjectState, Question};
use throughline::{Backend, CheckLevel, Database, Error, MigrationError, Registry};

/// Why a command failed; its `Display` is the message the CLI prints after `error: `.
///
/// ```
/// let error = throughline_cli::CliError::Usage("no database: pass --database-url".into());
/// assert_eq!(error.to_string(), "no database: pass --database-url");
/// ```
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong or incomplete (a missing database URL, a malformed flag, a
    /// command that needs the application's models).
    Usage(String),
    /// `makemigrations` wrote nothing: some changes need a decision (the message lists
    /// them, with the flags that decide them).
    Undecided(String),
    /// An error from throughline (migration files, the database).
    Throughline(Error),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(message) | CliError::Undecided(message) => f.write_str(message),
            CliError::Throughline(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        CliError::Throughline(error)
    }
}

impl From<MigrationError> for CliError {
    fn from(error: MigrationError) -> Self {
        CliError::Throughline(error.into())
    }
}

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "throughline",
    version,
    about = "Migrations, checks and fixtures for throughline applications",
    long_about = "Migrations and checks for throughline applications.\n\nThe database comes from --database-url or DATABASE_URL (sqlite://app.db?mode=rwc, postgres://user@host/db). makemigrations, check, dumpdata and loaddata need the application's models: run them through the application's own binary, which calls throughline_cli::main_with(Some(&registry))."
)]
pub struct Cli {
    /// The database URL.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The folder holding the migration files (default: the application's, else
    /// `migrations`).
    #[arg(long, global = true)]
    pub migrations_dir: Option<PathBuf>,
    /// Never ask (rename questions are then refused with the flags that answer them), as
    /// Django's --noinput; also the case under CI=true.
    #[arg(long, global = true)]
    pub no_input: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// The migrations embedded in the application's binary ([`main_with_migrations`]),
    /// used unless `--migrations-dir` is given.
    #[arg(skip)]
    pub embedded: Option<EmbeddedMigrations>,
    /// The admin's settings when the application installs the admin
    /// ([`main_with_admin`]): `migrate` then applies the admin's migrations too, and
    /// `admin` serves it.
    #[arg(skip)]
    pub admin: Option<throughline_admin::AdminConfig>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a migration for the changes between the migration files and the models.
    ///
    /// A removed and an added field of the same type (or models with the same fields) may be
    /// a rename: on a terminal it is asked, otherwise --rename-field / --rename-model or
    /// --not-renamed must answer it. Nothing is dropped unless --allow-drop is given (a drop
    /// deletes data); new NOT NULL fields without a constant default need --backfill. Until
    /// every change is decided nothing is written and the exit code is 1.
    ///
    /// Example: app makemigrations --rename-field Course.title=name
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
        /// A removed field (Model.field) or model (Model) that was not renamed: its removal
        /// is a drop (which --allow-drop confirms).
        #[arg(long, value_name = "MODEL[.FIELD]")]
        not_renamed: Vec<String>,
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
    /// TARGET is a migration's name or a unique prefix of it (0002).
    ///
    /// Example: throughline migrate --database-url sqlite://app.db 0002_course_tag
    Migrate {
        /// The migration to stop at (applied included), or a unique prefix of its name;
        /// migrates backwards if it is older.
        target: Option<String>,
        /// Record a migration that creates tables as applied without running it when all
        /// of its tables already exist, after checking that their columns, types,
        /// nullability, keys and unique constraints are the migration's (any difference is
        /// listed and nothing is recorded), as Django's --fake-initial.
        #[arg(long)]
        fake_initial: bool,
    },
    /// List the migrations, each marked X when applied.
    ///
    /// Example: throughline showmigrations --database-url postgres://postgres@127.0.0.1/app
    Showmigrations,
    /// Print a migration's SQL for a backend, with what each operation costs.
    ///
    /// Example: throughline sqlmigrate 0002_course_tag --backend postgres
    Sqlmigrate {
        /// The migration, or a unique prefix of its name (0002).
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
    /// Print the rows of the models as JSON in Django's fixture layout (needs the
    /// application's models): every model, an application's models (APP) or one model
    /// (APP.MODEL), the models a foreign key refers to first, each model's rows in key
    /// order. A many-to-many relation without a through model of its own is the list of
    /// its targets' keys; a through model's rows are objects of their own.
    ///
    /// Example: app dumpdata school.student school.enrollment --indent 2 -o school.json
    Dumpdata {
        /// The applications and models to dump (none: every model).
        #[arg(value_name = "APP[.MODEL]")]
        labels: Vec<String>,
        /// Indent the JSON by N spaces per level (without it the dump is one line, as
        /// Django's).
        #[arg(long, value_name = "N")]
        indent: Option<usize>,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load fixture files (JSON in Django's layout, as dumpdata writes) in one transaction
    /// (needs the application's models): each object is inserted, or saved over the row
    /// with its key; a bad file (malformed, an unknown model or field, a wrong value, a
    /// foreign key to a missing row, a row the database refuses) is refused with its line
    /// and reason, and nothing is loaded. No hook fires (a raw load, as Django's).
    ///
    /// Example: app loaddata fixtures/school.json fixtures/more.json
    Loaddata {
        /// The fixture files; `-` reads one from standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Serve the web admin (needs the application's binary with the admin installed, and
    /// its tables migrated).
    ///
    /// Example: app admin --bind 127.0.0.1:8000
    Admin {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8000")]
        bind: String,
    },
    /// Create an admin user with every permission. The password is read from stdin with
    /// --password-stdin (one line), else asked twice on the terminal (not echoed).
    ///
    /// Example: echo "$PASSWORD" | app createsuperuser --username admin --password-stdin
    Createsuperuser {
        /// The user name (asked on a terminal when missing).
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an admin user's password (and close its sessions).
    ///
    /// Example: app changepassword admin
    Changepassword {
        /// The user name.
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// A backend named on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// Parses the process arguments and runs the command; the exit code says whether it
/// succeeded. Pass the application's registry to enable `makemigrations`, `check`,
/// `dumpdata` and `loaddata`. The migrations are read from `--migrations-dir` (default
/// `migrations`, which must exist); an application passes its embedded migrations to
/// [`main_with_migrations`] instead.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     throughline_cli::main_with(None)
/// }
/// ```
pub fn main_with(registry: Option<&Registry>) -> ExitCode {
    main_with_dir(registry, None)
}

/// [`main_with`], with the application's migrations folder as the default of
/// `--migrations-dir`. Prefer [`main_with_migrations`]: a folder is only found from the
/// right working directory, and a deployed binary has none.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
///     throughline_cli::main_with_dir(None, Some(dir))
/// }
/// ```
pub fn main_with_dir(registry: Option<&Registry>, migrations_dir: Option<&Path>) -> ExitCode {
    let mut cli = Cli::parse();
    if cli.migrations_dir.is_none() {
        cli.migrations_dir = migrations_dir.map(Path::to_path_buf);
    }
    execute(&cli, registry)
}

/// [`main_with`] for an application's own binary, with the migrations compiled into it by
/// `throughline::embed_migrations!`: `migrate`, `showmigrations` and `sqlmigrate` work from
/// any directory and in a deployed binary; `makemigrations` writes into the folder they
/// were embedded from.
///
/// ```no_run
/// // Relative to the application's Cargo.toml, usually "migrations" (here this crate's
/// // test fixtures).
/// static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
///     throughline::embed_migrations!("tests/fixtures/migrations");
///
/// fn main() -> std::process::ExitCode {
///     throughline_cli::main_with_migrations(Some(&throughline::Registry::new()), MIGRATIONS)
/// }
/// ```
pub fn main_with_migrations(
    registry: Option<&Registry>,
    migrations: EmbeddedMigrations,
) -> ExitCode {
    let mut cli = Cli::parse();
    cli.embedded = Some(migrations);
    execute(&cli, registry)
}

/// [`main_with_migrations`] for an application that installs the web admin: `migrate`
/// applies the admin's migrations beside the application's, `admin` serves it with
/// `config`, `createsuperuser` and `changepassword` manage its users.
///
/// ```no_run
/// static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
///     throughline::embed_migrations!("tests/fixtures/migrations");
///
/// fn main() -> std::process::ExitCode {
///     let registry = throughline::Registry::new();
///     throughline_cli::main_with_admin(Some(&registry), MIGRATIONS, throughline_admin::AdminConfig::default())
/// }
/// ```
pub fn main_with_admin(
    registry: Option<&Registry>,
    migrations: EmbeddedMigrations,
    config: throughline_admin::AdminConfig,
) -> ExitCode {
    let mut cli = Cli::parse();
    cli.embedded = Some(migrations);
    cli.admin = Some(config);
    execute(&cli, registry)
}

/// Runs a parsed command line to completion on a new runtime, printing its output or
/// its error; the exit code says whether it succeeded. For an application that builds
/// its [`Cli`] itself (a default database URL, the admin installed).
///
/// ```no_run
/// use clap::Parser;
/// let mut cli = throughline_cli::Cli::parse();
/// cli.database_url.get_or_insert_with(|| "sqlite://app.db?mode=rwc".into());
/// std::process::exit(if throughline_cli::execute(&cli, None) == std::process::ExitCode::SUCCESS { 0 } else { 1 });
/// ```
pub fn execute(cli: &Cli, registry: Option<&Registry>) -> ExitCode {
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
    match runtime.block_on(run(cli, registry)) {
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

/// Runs one command; on a terminal (stdin is a tty), `makemigrations` asks about rename
/// candidates, otherwise it refuses them ([`run_asking`] with no one to ask). Nothing is
/// asked with `--no-input` or under `CI=true` (a CI job with a pseudo-terminal would
/// otherwise wait for an answer).
///
/// ```no_run
/// use clap::Parser;
/// # async fn f() -> Result<(), throughline_cli::CliError> {
/// let cli = throughline_cli::Cli::parse_from(["throughline", "sqlmigrate", "0001", "--backend", "sqlite"]);
/// print!("{}", throughline_cli::run(&cli, None).await?.output);
/// # Ok(()) }
/// ```
pub async fn run(cli: &Cli, registry: Option<&Registry>) -> Result<Outcome, CliError> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !cli.no_input && !in_ci && std::io::stdin().is_terminal() {
        run_asking(cli, registry, Some(&mut ask_on_terminal)).await
    } else {
        run_asking(cli, registry, None).await
    }
}

/// Asks `question` on stderr and reads the answer from stdin: `y`/`yes` is "renamed",
/// `n`/`no` or an empty line (the prompt's capital N) is "not renamed", anything else is
/// asked again, and the end of input (Ctrl-D, a closed stdin) leaves it undecided, which
/// refuses the migration.
fn ask_on_terminal(question: &Question) -> Option<bool> {
    for _ in 0..3 {
        eprint!("{} ", question.prompt());
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                eprintln!();
                return None;
            }
            Ok(_) => match line.trim().to_lowercase().as_str() {
                "y" | "yes" => return Some(true),
                "" | "n" | "no" => return Some(false),
                _ => eprintln!("Please answer y or n."),
            },
        }
    }
    None
}

/// Who answers `makemigrations`' rename questions: `Some(true)` for "renamed",
/// `Some(false)` for "not renamed", `None` to leave the question open (the migration is
/// then refused, with the flags that answer it).
///
/// ```
/// let mut always: Box<dyn FnMut(&throughline::migrations::Question) -> Option<bool>> =
///     Box::new(|_| Some(true));
/// let _ask: throughline_cli::Ask<'_> = &mut *always;
/// ```
pub type Ask<'a> = &'a mut dyn FnMut(&Question) -> Option<bool>;

/// Runs one command; `ask` answers `makemigrations`' rename questions (`None`: no one to
/// ask, so an open question refuses the whole migration).
///
/// ```no_run
/// use clap::Parser;
/// # async fn f(registry: &throughline::Registry) -> Result<(), throughline_cli::CliError> {
/// let cli = throughline_cli::Cli::parse_from(["app", "makemigrations"]);
/// let mut yes = |_: &throughline::migrations::Question| Some(true);
/// throughline_cli::run_asking(&cli, Some(registry), Some(&mut yes)).await?;
/// # Ok(()) }
/// ```
pub async fn run_asking(
    cli: &Cli,
    registry: Option<&Registry>,
    ask: Option<Ask<'_>>,
) -> Result<Outcome, CliError> {
    let mut out = Outcome::default();
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
            not_renamed,
            backfill,
            dry_run,
            check,
        } => {
            let registry = needs_models(registry, "makemigrations")?;
            let migrations_dir = makemigrations_dir(cli)?;
            let existing = migrations::load(&migrations_dir)?;
            if let Some(embedded) = &cli.embedded {
                let on_disk: Vec<&str> = existing.iter().map(|m| m.name.as_str()).collect();
                for migration in embedded.load()? {
                    if !on_disk.contains(&migration.name.as_str()) {
                        return Err(MigrationError::new(format!(
                            "this binary embeds migration {} but the folder lacks it: restore the file before making a new migration",
                            migration.name
                        ))
                        .in_file(migrations_dir.display().to_string())
                        .into());
                    }
                }
            }
            let from = migrations::replay(&existing)?;
            let to = ProjectState::from_registry(registry);
            let mut hints = Hints {
                model_renames: rename_model
                    .iter()
                    .map(|r| split_pair(r, "--rename-model OLD=NEW"))
                    .collect::<Result<_, _>>()?,
                field_renames: rename_field
                    .iter()
                    .map(|r| {
                        let (path, new) = split_pair(r, "--rename-field MODEL.OLD=NEW")?;
                        let (model, old) = path.split_once('.').ok_or_else(|| {
                            CliError::Usage(format!("--rename-field {r}: expected MODEL.OLD=NEW"))
                        })?;
                        Ok((model.to_owned(), old.to_owned(), new))
                    })
                    .collect::<Result<_, CliError>>()?,
                allow_drop: *allow_drop,
                backfill: parse_backfill(backfill)?,
                ..Hints::default()
            };
            for item in not_renamed {
                match item.split_once('.') {
                    Some((model, field)) if !model.is_empty() && !field.is_empty() => hints
                        .not_renamed_fields
                        .push((model.to_owned(), field.to_owned(), None)),
                    None if !item.is_empty() => {
                        hints.not_renamed_models.push((item.clone(), None));
                    }
                    _ => {
                        return Err(CliError::Usage(format!(
                            "--not-renamed {item}: expected MODEL or MODEL.FIELD"
                        )));
                    }
                }
            }
            hints.validate(&from, &to)?;
            // Ask one question at a time: an answer can change the other candidates.
            let mut answered: Vec<(Question, bool)> = Vec::new();
            let mut ask = ask;
            let detection = loop {
                let detection = migrations::detect(&from, &to, &hints);
                let Some(ask) = ask.as_mut() else {
                    break detection;
                };
                let open = detection
                    .questions
                    .iter()
                    .find(|q| !answered.iter().any(|(a, _)| a == *q));
                let Some(question) = open.cloned() else {
                    break detection;
                };
                let Some(renamed) = ask(&question) else {
                    break detection;
                };
                hints.answer(&question, renamed);
                answered.push((question, renamed));
            };
            if !detection.is_complete() {
                return Err(CliError::Undecided(undecided(&detection, &answered)));
            }
            if detection.operations.is_empty() {
                push(&mut out, "No changes detected".to_owned());
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
        Command::Migrate {
            target,
            fake_initial,
        } => {
            let files = applicable_migrations(cli)?;
            let target = match target.as_deref() {
                None => None,
                Some("zero") => Some("zero".to_owned()),
                Some(prefix) => Some(migrations::find(&files, prefix)?.name.clone()),
            };
            let db = connect(cli).await?;
            check_history(&db, &files, cli).await?;
            let options = migrations::MigrateOptions::default().fake_initial(*fake_initial);
            let steps = migrations::migrate_with(&db, &files, target.as_deref(), &options).await?;
            if steps.is_empty() {
                push(&mut out, "No migrations to apply.".to_owned());
            }
            for step in steps {
                let verb = match (step.forwards, step.faked) {
                    (true, true) => "Faked (its tables match)",
                    (true, false) => "Applied",
                    (false, _) => "Unapplied",
                };
                push(&mut out, format!("{verb} {}", step.name));
            }
        }
        Command::Showmigrations => {
            let files = applicable_migrations(cli)?;
            let db = connect(cli).await?;
            check_history(&db, &files, cli).await?;
            for (name, state) in migrations::status_detail(&db, &files).await? {
                push(
                    &mut out,
                    match state {
                        migrations::MigrationState::Applied => format!("[X] {name}"),
                        migrations::MigrationState::Pending => format!("[ ] {name}"),
                        partial => format!("[~] {name} ({partial})"),
                    },
                );
            }
            if files.is_empty() {
                push(&mut out, format!("(no migrations in {})", source(cli)));
            }
        }
        Command::Sqlmigrate {
            name,
            backend,
            backwards,
        } => {
            let files = applicable_migrations(cli)?;
            let backend = match backend {
                Some(BackendArg::Sqlite) => Backend::Sqlite,
                Some(BackendArg::Postgres) => Backend::Postgres,
                Some(BackendArg::Mysql) => Backend::Mysql,
                None => backend_of_url(cli.database_url.as_deref())?,
            };
            let migration = migrations::find(&files, name)?;
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
            for statement in migrations::sql(&files, &migration.name, backend, *backwards)? {
                push(&mut out, format!("{statement};"));
            }
        }
        Command::Inspectdb => {
            let db = connect(cli).await?;
            let tables = migrations::read_schema(&db).await?;
            let inspection = migrations::generate(&tables);
            out.output.push_str(&inspection.code);
        }
        Command::Admin { bind } => {
            let registry = needs_models(registry, "admin")?;
            let config = cli.admin.clone().ok_or_else(not_installed)?;
            let db = connect(cli).await?;
            let admin_migrations = throughline_admin::models::MIGRATIONS.load()?;
            let pending: Vec<String> = migrations::status(&db, &admin_migrations)
                .await?
                .into_iter()
                .filter(|(_, applied)| !applied)
                .map(|(name, _)| name)
                .collect();
            if !pending.is_empty() {
                return Err(CliError::Usage(format!(
                    "the admin's tables are not there yet: run migrate first (pending: {})",
                    pending.join(", ")
                )));
            }
            let prefix = config.prefix.clone();
            let router = throughline_admin::router(registry.clone(), db, config)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let listener = tokio::net::TcpListener::bind(bind.as_str())
                .await
                .map_err(|e| CliError::Usage(format!("cannot listen on {bind}: {e}")))?;
            eprintln!("Serving the admin at http://{bind}{prefix}/ (Ctrl-C stops it)");
            throughline_admin::serve(listener, router)
                .await
                .map_err(|e| CliError::Usage(format!("the server stopped: {e}")))?;
        }
        Command::Createsuperuser {
            username,
            password_stdin,
        } => {
            let db = connect(cli).await?;
            let username = match username {
                Some(name) => name.clone(),
                None => ask_line("Username: ")?,
            };
            let password = read_password(*password_stdin)?;
            throughline_admin::auth::create_user(
                &db,
                &username,
                &password,
                throughline_admin::auth::Role::Superuser,
            )
            .await
            .map_err(account_error)?;
            push(&mut out, format!("Superuser {} created.", username.trim()));
        }
        Command::Changepassword {
            username,
            password_stdin,
        } => {
            let db = connect(cli).await?;
            let password = read_password(*password_stdin)?;
            throughline_admin::auth::set_password(&db, username, &password)
                .await
                .map_err(account_error)?;
            push(&mut out, format!("Password changed for {username}."));
        }
        Command::Dumpdata {
            labels,
            indent,
            output,
        } => {
            let registry = needs_models(registry, "dumpdata")?;
            // An unknown label is reported before connecting.
            throughline::fixtures::select_models(registry, labels)?;
            let db = connect(cli).await?;
            let dump = throughline::fixtures::dump(&db, registry, labels).await?;
            let text = dump.to_json(*indent);
            match output {
                Some(path) => std::fs::write(path, text).map_err(|e| {
                    CliError::Usage(format!("cannot write {}: {e}", path.display()))
                })?,
                None => out.output.push_str(&text),
            }
        }
        Command::Loaddata { files } => {
            let registry = needs_models(registry, "loaddata")?;
            let mut fixtures = Vec::with_capacity(files.len());
            for file in files {
                if file == "-" {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                        .map_err(|e| {
                            CliError::Usage(format!("cannot read a fixture from stdin: {e}"))
                        })?;
                    fixtures.push(throughline::fixtures::Fixture::new("-", text));
                } else {
                    fixtures.push(throughline::fixtures::Fixture::read(file)?);
                }
            }
            let db = connect(cli).await?;
            let report = throughline::fixtures::load(&db, registry, &fixtures).await?;
            push(&mut out, report.to_string());
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

/// The message of a `makemigrations` that wrote nothing: each open question with the flag
/// that answers it (the rename first), then each refused change.
fn undecided(detection: &migrations::Detection, answered: &[(Question, bool)]) -> String {
    let count = detection.questions.len() + detection.refused.len();
    let mut text = format!(
        "makemigrations wrote nothing: {count} change(s) need a decision first (a migration is written whole or not at all)"
    );
    for question in &detection.questions {
        let what = match question {
            Question::RenameModel { from, to } => format!(
                "model {from} was removed and model {to} added with the same fields; if it was renamed (its table and rows are kept), pass"
            ),
            Question::RenameField { model, from, to } => format!(
                "{model}.{from} was removed and {model}.{to} added with the same type and options; if it was renamed (its column and data are kept), pass"
            ),
        };
        text.push_str(&format!(
            "\n  {what}\n      {}\n    if it was not, pass {} (its removal is then a drop, which deletes its data)",
            question.rename_flag(),
            question.not_renamed_flag()
        ));
    }
    for refused in &detection.refused {
        text.push_str(&format!("\n  {refused}"));
    }
    if !answered.is_empty() {
        let flags: Vec<String> = answered
            .iter()
            .map(|(q, renamed)| {
                if *renamed {
                    q.rename_flag()
                } else {
                    q.not_renamed_flag()
                }
            })
            .collect();
        text.push_str(&format!(
            "\n  (your answers, as flags: {})",
            flags.join(" ")
        ));
    }
    text
}

/// Where the migrations come from, for messages.
fn source(cli: &Cli) -> String {
    match (&cli.migrations_dir, &cli.embedded) {
        (Some(dir), _) => dir.display().to_string(),
        (None, Some(embedded)) => format!("this binary (embedded from {})", embedded.dir),
        (None, None) => "migrations".to_owned(),
    }
}

/// A migrations folder that must exist: a missing one means the wrong working directory
/// or a wrong `--migrations-dir`, never "no migrations".
fn existing_dir(dir: &Path, fix: &str) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "?".to_owned());
    Err(MigrationError::new(format!(
        "there is no migrations folder here (the working directory is {cwd}): {fix}"
    ))
    .in_file(dir.display().to_string())
    .into())
}

/// The migrations `migrate`, `showmigrations` and `sqlmigrate` use: `--migrations-dir`
/// if given, else the embedded ones, else the folder `migrations`.
fn applicable_migrations(cli: &Cli) -> Result<Vec<Migration>, CliError> {
    let mut files = application_migrations(cli)?;
    if cli.admin.is_some() {
        files.extend(throughline_admin::models::MIGRATIONS.load()?);
    }
    Ok(files)
}

/// The application's own migrations (see [`applicable_migrations`]).
fn application_migrations(cli: &Cli) -> Result<Vec<Migration>, CliError> {
    match (&cli.migrations_dir, &cli.embedded) {
        (Some(dir), _) => {
            existing_dir(dir, "pass the application's migrations folder")?;
            Ok(migrations::load(dir)?)
        }
        (None, Some(embedded)) => Ok(embedded.load()?),
        (None, None) => {
            let dir = Path::new("migrations");
            existing_dir(
                dir,
                "run from the application's directory, pass --migrations-dir, or use the application's own binary (its migrations are embedded)",
            )?;
            Ok(migrations::load(dir)?)
        }
    }
}

/// The folder `makemigrations` reads and writes: `--migrations-dir`, else the folder the
/// embedded migrations came from, else `migrations`; it must exist.
fn makemigrations_dir(cli: &Cli) -> Result<PathBuf, CliError> {
    let (dir, fix) = match (&cli.migrations_dir, &cli.embedded) {
        (Some(dir), _) => (dir.clone(), "create it to start a new history, or pass the application's folder".to_owned()),
        (None, Some(embedded)) => (
            embedded.dir().to_path_buf(),
            format!(
                "makemigrations writes into the application's source folder this binary was built from; to start a new history create it (mkdir -p {})",
                embedded.dir
            ),
        ),
        (None, None) => (
            PathBuf::from("migrations"),
            "run from the application's directory or pass --migrations-dir; to start a new history create the folder first".to_owned(),
        ),
    };
    existing_dir(&dir, &fix)?;
    Ok(dir)
}

/// Refuses a database whose record names migrations that the files (or the binary) lack:
/// the wrong folder, or a binary older than the database.
async fn check_history(db: &Database, files: &[Migration], cli: &Cli) -> Result<(), CliError> {
    let applied = migrations::executor::applied(db).await?;
    let unknown: Vec<&String> = applied
        .iter()
        .filter(|name| !files.iter().any(|m| &m.name == *name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
    Err(MigrationError::new(format!(
        "the database has applied {} which {} not among the {} migration(s) of {}: the wrong migrations folder, or a binary older than the database",
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" },
        files.len(),
        source(cli)
    ))
    .into())
}

/// The error of an admin command in a binary that does not install the admin.
fn not_installed() -> CliError {
    CliError::Usage(
        "this binary does not install the admin: the application's manage binary calls throughline_cli::main_with_admin".into(),
    )
}

/// An account operation's failure, as the CLI reports it.
fn account_error(error: throughline_admin::auth::AccountError) -> CliError {
    match error {
        throughline_admin::auth::AccountError::Invalid(message) => CliError::Usage(message),
        throughline_admin::auth::AccountError::Database(error) => CliError::Throughline(error),
    }
}

/// One line asked on the terminal (an error when stdin is not one).
fn ask_line(prompt: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{} is needed: pass it as an option (stdin is not a terminal)",
            prompt.trim_end_matches(": ").to_lowercase()
        )));
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    Ok(line.trim().to_owned())
}

/// A new password: the first line of stdin with `--password-stdin`, else asked twice on
/// the terminal without echo.
fn read_password(from_stdin: bool) -> Result<String, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::Usage(format!("cannot read the password from stdin: {e}")))?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err(CliError::Usage("no password on stdin".into()));
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "no password: pass --password-stdin, or run on a terminal to be asked".into(),
        ));
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))
    };
    let first = read("Password: ")?;
    let second = read("Password (again): ")?;
    if first != second {
        return Err(CliError::Usage(
            "the two passwords differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

fn needs_models<'r>(
    registry: Option<&'r Registry>,
    command: &str,
) -> Result<&'r Registry, CliError> {
    registry.ok_or_else(|| {
        CliError::Usage(format!(
            "{command} needs the application's models: run it through the application's own binary, which calls throughline_cli::main_with_migrations(Some(&registry), ...)"
        ))
    })
}

async fn connect(cli: &Cli) -> Result<Database, CliError> {
    let url = cli.database_url.as_deref().ok_or_else(|| {
        CliError::Usage("no database: pass --database-url or set DATABASE_URL".to_owned())
    })?;
    let db = Database::connect(url).await?;
    // Fail now, with a clear message, if the server cannot be reached.
    db.execute_batch("SELECT 1")
        .await
        .map_err(|e| CliError::Usage(format!("cannot reach the database at {url}: {e}")))?;
    Ok(db)
}

fn backend_of_url(url: Option<&str>) -> Result<Backend, CliError> {
    match url {
        Some(url) if url.starts_with("sqlite:") => Ok(Backend::Sqlite),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Backend::Postgres)
        }
        Some(url) if url.starts_with("mysql://") || url.starts_with("mariadb://") => {
            Ok(Backend::Mysql)
        }
        _ => Err(CliError::Usage(
            "give --backend sqlite|postgres|mysql or a database URL".to_owned(),
        )),
    }
}

fn split_pair(text: &str, usage: &str) -> Result<(String, String), CliError> {
    text.split_once('=')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| CliError::Usage(format!("{text}: expected {usage}")))
}

fn parse_backfill(
    items: &[String],
) -> Result<HashMap<(String, String), serde_json::Value>, CliError> {
    let mut out = HashMap::new();
    for item in items {
        let (path, value) = split_pair(item, "--backfill MODEL.FIELD=JSON")?;
        let (model, field) = path.split_once('.').ok_or_else(|| {
            CliError::Usage(format!("--backfill {item}: expected MODEL.FIELD=JSON"))
        })?;
        let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
        out.insert((model.to_owned(), field.to_owned()), value);
    }
    Ok(out)
}
