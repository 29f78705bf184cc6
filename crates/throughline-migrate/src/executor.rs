//! Owns applying migrations: [`migrate`] runs the pending migrations in order (or migrates
//! backwards to a named one), each in one transaction with its record (SQLite and
//! PostgreSQL DDL is transactional), under PostgreSQL's advisory lock; [`status`] lists
//! applied and pending ones ([`status_detail`]: and how far one stopped half-way got);
//! [`sql`] renders a migration's SQL (`sqlmigrate`). A recorded history that disagrees
//! with the files stops everything with an error naming the migration.
//!
//! Where DDL is not transactional (MySQL and MariaDB commit each schema change on its
//! own; [`SchemaEditor::transactional_ddl`]), a migration cannot be all or nothing, so it
//! is exact instead: it runs under `GET_LOCK` in autocommit, and after every statement the
//! executor records how far it got ([`recorder::Progress`]). A failure half-way reports
//! which operations and statements are in effect; `showmigrations` shows the same; the
//! next `migrate` resumes from the failed statement, and migrating back to an earlier
//! migration undoes the operations in effect. One case is refused rather than guessed: an
//! operation stopped between two of its statements can be finished (forwards) but not
//! undone automatically.
//!
//! Migrations refuse rather than guess (SPEC §7): a table a migration creates must not
//! exist yet — unless [`MigrateOptions::fake_initial`] is set and introspection shows the
//! existing tables already have the migration's shape ([`crate::shape`]), in which case the
//! migration is recorded without running; a narrowing change checks the rows first
//! ([`crate::narrowing`]); a SQLite rebuild keeps the table's triggers, and the
//! `legacy_alter_table` setting it turns on is restored as found, whatever happens. Every
//! problem is an [`Error::Migration`] naming the migration and the operation.

use crate::editor::{RestoredSetting, SchemaEditor, editor};
use crate::files::{Migration, replay};
use crate::introspect;
use crate::operations::{Action, Operation};
use crate::recorder::{self, Progress};
use crate::state::{ModelState, ProjectState, reason_of};
use std::collections::{BTreeSet, HashMap};
use throughline_core::{Backend, Error, MigrationError, Result, Value};
use throughline_db::{Access, Conn, Database, Decode, Executor, op};
use throughline_query::Statement;
use throughline_query::ddl::quote;

/// One migration applied or unapplied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The migration.
    pub name: String,
    /// Applied (`true`) or unapplied (`false`).
    pub forwards: bool,
    /// Recorded as applied without running, its tables being already there with its shape
    /// ([`MigrateOptions::fake_initial`]).
    pub faked: bool,
}

/// How [`migrate_with`] applies migrations.
///
/// ```
/// let options = throughline_migrate::MigrateOptions::default().fake_initial(true);
/// assert!(options.fake_initial);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Django's `--fake-initial`: a migration that creates tables which all exist already
    /// is recorded as applied without running, *after* introspection confirmed that each of
    /// them has the migration's columns, types, nullability, primary key, foreign keys and
    /// unique constraints (otherwise it is refused, listing the differences). Only a
    /// migration made of table creations (and the fields, indexes and constraints it adds
    /// to them) can be faked. Without it, an existing table fails the migration.
    pub fake_initial: bool,
}

impl MigrateOptions {
    /// Sets [`MigrateOptions::fake_initial`].
    ///
    /// ```
    /// assert!(!throughline_migrate::MigrateOptions::default().fake_initial(false).fake_initial);
    /// ```
    pub fn fake_initial(mut self, fake_initial: bool) -> Self {
        self.fake_initial = fake_initial;
        self
    }
}

/// Adds the migration's name and the operation to a migration error (or makes one of
/// another error).
fn locate(error: Error, name: &str, operation: Option<&str>) -> Error {
    let mut problem = match error {
        Error::Migration(problem) => problem,
        other => MigrationError::new(other.to_string()),
    };
    if problem.file.is_none() {
        problem = problem.in_file(name);
    }
    if let (None, Some(operation)) = (&problem.operation, operation) {
        problem = problem.at_operation(operation);
    }
    Error::Migration(problem)
}

/// Names the migration in a failure of its step as a whole (a foreign-key check or the
/// `COMMIT` after its operations); connection problems, timeouts and panics keep their own
/// kinds.
fn name_failure(error: Error, name: &str) -> Error {
    match error {
        Error::Migration(_) | Error::Integrity { .. } | Error::Database(_) => {
            locate(error, name, None)
        }
        other => other,
    }
}

/// Each operation of migration `name` (its description) with what it does, forwards or
/// backwards, on `backend`, in the migration's order (backwards: what undoes each, to be
/// run last first). `in_effect` limits a backwards plan to the first operations (those in
/// effect in a migration stopped half-way).
fn plan(
    migrations: &[Migration],
    name: &str,
    backend: Backend,
    backwards: bool,
    in_effect: Option<usize>,
) -> Result<Vec<(String, Vec<Action>)>> {
    let index = position(migrations, name)?;
    let mut state = replay(&migrations[..index])?;
    let migration = &migrations[index];
    let mut states = vec![state.clone()];
    for operation in &migration.operations {
        operation
            .apply(&mut state)
            .map_err(|e| locate(e, name, Some(&operation.describe())))?;
        states.push(state.clone());
    }
    let mut out = Vec::new();
    for (i, operation) in migration.operations.iter().enumerate() {
        if backwards && in_effect.is_some_and(|n| i >= n) {
            break;
        }
        let actions = if backwards {
            operation.backwards_actions(&states[i], &states[i + 1], backend)
        } else {
            operation.actions(&states[i], &states[i + 1], backend)
        }
        .map_err(|e| locate(e, name, Some(&operation.describe())))?;
        out.push((operation.describe(), actions));
    }
    Ok(out)
}

/// The SQL of `name`, forwards or backwards, for `backend`.
pub fn sql(
    migrations: &[Migration],
    name: &str,
    backend: Backend,
    backwards: bool,
) -> Result<Vec<String>> {
    let mut operations = plan(migrations, name, backend, backwards, None)?;
    if backwards {
        operations.reverse();
    }
    Ok(operations
        .into_iter()
        .flat_map(|(_, actions)| actions)
        .filter_map(|action| match action {
            Action::Sql(sql) | Action::Lock(sql) => Some(sql),
            _ => None,
        })
        .collect())
}

fn position(migrations: &[Migration], name: &str) -> Result<usize> {
    migrations
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| Error::Migration(MigrationError::new(format!("unknown migration {name}"))))
}

/// The applied migrations recorded in the database (creating the record table under the
/// migration lock, since PostgreSQL's `CREATE TABLE IF NOT EXISTS` races otherwise).
pub async fn applied(db: &Database) -> Result<Vec<String>> {
    db.run(
        Access::Schema,
        op(|conn| {
            Box::pin(async move {
                recorder::ensure(conn).await?;
                recorder::applied(conn).await
            })
        }),
    )
    .await
}

/// The applied migrations and, where DDL is not transactional, those stopped half-way
/// (an applied migration's leftover progress is dropped: the record wins).
async fn history(db: &Database) -> Result<(Vec<String>, Vec<Progress>)> {
    db.run(
        Access::Schema,
        op(|conn| {
            Box::pin(async move {
                recorder::ensure(conn).await?;
                let applied = recorder::applied(conn).await?;
                let partial = recorder::progress(conn)
                    .await?
                    .into_iter()
                    .filter(|p| !applied.contains(&p.name))
                    .filter(|p| p.operations > 0 || p.statements > 0)
                    .collect();
                Ok((applied, partial))
            })
        }),
    )
    .await
}

/// Each migration with whether it is applied, after checking that the record and the
/// files agree (a migration stopped half-way is not applied: see [`status_detail`]).
pub async fn status(db: &Database, migrations: &[Migration]) -> Result<Vec<(String, bool)>> {
    Ok(status_detail(db, migrations)
        .await?
        .into_iter()
        .map(|(name, state)| (name, state == MigrationState::Applied))
        .collect())
}

/// Where a migration stands in a database ([`status_detail`]).
///
/// ```
/// use throughline_migrate::executor::MigrationState;
/// let state = MigrationState::Partial { operations: 1, of: 3, next: "add_field Tag.note".into(), statements: 0, backwards: false };
/// assert_eq!(state.to_string(), "partially applied: 1 of 3 operations in effect; next: add_field Tag.note");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied and recorded.
    Applied,
    /// Not applied.
    Pending,
    /// Stopped half-way where DDL is not transactional (MySQL, MariaDB): its first
    /// `operations` of `of` operations are in effect.
    Partial {
        /// How many operations (from the first) are in effect.
        operations: usize,
        /// How many operations it has.
        of: usize,
        /// The operation in progress (the next to apply, or the one being undone).
        next: String,
        /// How many statements of that operation ran (or were undone).
        statements: usize,
        /// Whether that operation was being undone.
        backwards: bool,
    },
}

impl std::fmt::Display for MigrationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrationState::Applied => f.write_str("applied"),
            MigrationState::Pending => f.write_str("pending"),
            MigrationState::Partial {
                operations,
                of,
                next,
                statements,
                backwards,
            } => {
                write!(
                    f,
                    "partially applied: {operations} of {of} operations in effect; "
                )?;
                match (statements, backwards) {
                    (0, false) => write!(f, "next: {next}"),
                    (0, true) => write!(f, "being undone: {next}"),
                    (n, false) => write!(f, "{next} stopped after {n} of its statements"),
                    (n, true) => write!(f, "{next} half undone ({n} of its statements)"),
                }
            }
        }
    }
}

/// Each migration with where it stands ([`MigrationState`]), after checking that the
/// record and the files agree.
///
/// ```
/// # use throughline_migrate::executor::{MigrationState, status_detail};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// let initial: throughline_migrate::Migration = serde_json::from_str(r#"{"name": "0001_initial", "operations": []}"#).unwrap();
/// assert_eq!(status_detail(&db, &[initial]).await?, [("0001_initial".to_owned(), MigrationState::Pending)]);
/// # Ok(()) }
/// ```
pub async fn status_detail(
    db: &Database,
    migrations: &[Migration],
) -> Result<Vec<(String, MigrationState)>> {
    let (applied, partial) = history(db).await?;
    check_history(migrations, &applied, &partial)?;
    Ok(migrations
        .iter()
        .map(|m| {
            let state = if applied.contains(&m.name) {
                MigrationState::Applied
            } else if let Some(p) = partial.iter().find(|p| p.name == m.name) {
                let index = if p.backwards {
                    p.operations.saturating_sub(1)
                } else {
                    p.operations
                };
                MigrationState::Partial {
                    operations: p.operations,
                    of: m.operations.len(),
                    next: m
                        .operations
                        .get(index)
                        .map(Operation::describe)
                        .unwrap_or_default(),
                    statements: p.statements,
                    backwards: p.backwards,
                }
            } else {
                MigrationState::Pending
            };
            (m.name.clone(), state)
        })
        .collect())
}

/// Refuses a record that names a migration the files lack, or that applied a migration
/// without one it depends on (a migration stopped half-way counts as applied here).
fn check_history(migrations: &[Migration], applied: &[String], partial: &[Progress]) -> Result<()> {
    let touched: Vec<String> = applied
        .iter()
        .cloned()
        .chain(partial.iter().map(|p| p.name.clone()))
        .collect();
    for name in &touched {
        let Some(migration) = migrations.iter().find(|m| &m.name == name) else {
            return Err(Error::Migration(MigrationError::new(format!(
                "the database records migration {name}, which is not among the migration files: the history and the files disagree"
            ))));
        };
        for dependency in &migration.dependencies {
            if !touched.contains(dependency) {
                return Err(Error::Migration(MigrationError::new(format!(
                    "the database records migration {name} as applied but not its dependency {dependency}: the history and the files disagree"
                ))));
            }
        }
    }
    Ok(())
}

/// Applies the pending migrations in order, up to `target` if given; if `target` is
/// applied, migrates backwards to it (`"zero"` unapplies everything). Each migration runs
/// in its own transaction: a failure leaves the database at the previous migration.
/// [`migrate_with`] with the default options.
pub async fn migrate(
    db: &Database,
    migrations: &[Migration],
    target: Option<&str>,
) -> Result<Vec<Step>> {
    migrate_with(db, migrations, target, &MigrateOptions::default()).await
}

/// [`migrate`] with options: `fake_initial` records a migration whose tables all exist
/// with its shape as applied without running it ([`MigrateOptions::fake_initial`]).
///
/// ```
/// # use throughline_migrate::{Migration, MigrateOptions, migrate_with};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// db.execute_batch(r#"CREATE TABLE "tag" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT)"#).await?;
/// let initial: Migration = serde_json::from_str(r#"{"name": "0001_initial", "operations": [
///     {"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
///         {"name": "id", "column": "id", "type": "auto", "primary_key": true}]}}]}"#).unwrap();
/// // Without the option the existing table is refused; with it, verified and recorded.
/// assert!(migrate_with(&db, std::slice::from_ref(&initial), None, &MigrateOptions::default()).await.is_err());
/// let steps = migrate_with(&db, &[initial], None, &MigrateOptions::default().fake_initial(true)).await?;
/// assert!(steps[0].faked);
/// # Ok(()) }
/// ```
pub async fn migrate_with(
    db: &Database,
    migrations: &[Migration],
    target: Option<&str>,
    options: &MigrateOptions,
) -> Result<Vec<Step>> {
    let (recorded, partial) = history(db).await?;
    check_history(migrations, &recorded, &partial)?;
    // What must be undone to migrate backwards: the applied migrations and those stopped
    // half-way.
    let applied: Vec<String> = recorded
        .iter()
        .cloned()
        .chain(partial.iter().map(|p| p.name.clone()))
        .collect();
    let done: BTreeSet<&String> = recorded.iter().collect();
    let backend = db.backend();
    let mut steps = Vec::new();
    let target_index = match target {
        None => None,
        Some("zero") => Some(None),
        Some(name) => Some(Some(position(migrations, name)?)),
    };
    let backwards = match target_index {
        Some(None) => true,
        Some(Some(index)) => migrations[index + 1..]
            .iter()
            .any(|m| applied.contains(&m.name)),
        None => false,
    };
    if backwards {
        let keep = match target_index {
            Some(Some(index)) => index + 1,
            _ => 0,
        };
        let doomed: Vec<&Migration> = migrations[keep..]
            .iter()
            .filter(|m| applied.contains(&m.name))
            .collect();
        for migration in doomed.into_iter().rev() {
            // A migration stopped half-way undoes only the operations in effect.
            let in_effect = partial
                .iter()
                .find(|p| p.name == migration.name)
                .map(|p| p.operations.min(migration.operations.len()));
            let undone = &migration.operations[..in_effect.unwrap_or(migration.operations.len())];
            if let Some(op) = undone.iter().find(|o| !o.reversible()) {
                return Err(Error::Migration(
                    MigrationError::new(format!(
                        "migration {} cannot be unapplied: {} is irreversible",
                        migration.name,
                        op.describe()
                    ))
                    .in_file(&migration.name)
                    .at_operation(op.describe()),
                ));
            }
            let actions = plan(migrations, &migration.name, backend, true, in_effect)?;
            let operations = migration
                .operations
                .iter()
                .map(Operation::describe)
                .collect();
            run_step(db, &migration.name, operations, actions, false, None)
                .await
                .map_err(|e| name_failure(e, &migration.name))?;
            steps.push(Step {
                name: migration.name.clone(),
                forwards: false,
                faked: false,
            });
        }
        return Ok(steps);
    }
    let last = match target_index {
        Some(Some(index)) => index + 1,
        _ => migrations.len(),
    };
    for migration in migrations[..last]
        .iter()
        .filter(|m| !done.contains(&m.name))
    {
        let actions = plan(migrations, &migration.name, backend, false, None)?;
        let fake = if options.fake_initial {
            Some(fake_plan(migrations, migration)?)
        } else {
            None
        };
        let operations = migration
            .operations
            .iter()
            .map(Operation::describe)
            .collect();
        match run_step(db, &migration.name, operations, actions, true, fake)
            .await
            .map_err(|e| name_failure(e, &migration.name))?
        {
            Outcome::Skipped => {}
            outcome => steps.push(Step {
                name: migration.name.clone(),
                forwards: true,
                faked: outcome == Outcome::Faked,
            }),
        }
    }
    Ok(steps)
}

/// What [`run_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Ran the migration.
    Ran,
    /// Recorded it without running (`fake_initial`).
    Faked,
    /// Nothing: another process applied (or unapplied) it meanwhile.
    Skipped,
}

/// What `fake_initial` needs to judge a migration: the models it creates as they are after
/// it (with the state, for foreign-key targets), and why it cannot be faked, if so.
struct FakePlan {
    models: Vec<ModelState>,
    state: ProjectState,
    not_fakeable: Option<String>,
}

fn fake_plan(migrations: &[Migration], migration: &Migration) -> Result<FakePlan> {
    let index = position(migrations, &migration.name)?;
    let state = replay(&migrations[..=index])?;
    let mut created = Vec::new();
    let mut not_fakeable = None;
    for operation in &migration.operations {
        match operation {
            Operation::CreateModel { model } => created.push(model.name.clone()),
            Operation::AddField { model, .. }
            | Operation::AddIndex { model, .. }
            | Operation::AddConstraint { model, .. }
                if created.contains(model) => {}
            Operation::AlterRelations { .. } | Operation::StateOnly { .. } => {}
            other => {
                not_fakeable.get_or_insert_with(|| {
                    format!(
                        "{} is not the creation of a table (only a migration that creates tables can be faked)",
                        other.describe()
                    )
                });
            }
        }
    }
    let models = created
        .iter()
        .filter_map(|name| state.models.get(name).cloned())
        .collect();
    Ok(FakePlan {
        models,
        state,
        not_fakeable,
    })
}

/// Runs one migration's actions (each operation's, in the migration's order: see
/// [`plan`]) and its record in one schema transaction, or step by step where DDL is not
/// transactional. `operations` describes every operation of the migration.
async fn run_step(
    db: &Database,
    name: &str,
    operations: Vec<String>,
    actions: Vec<(String, Vec<Action>)>,
    forwards: bool,
    fake: Option<FakePlan>,
) -> Result<Outcome> {
    let name = name.to_owned();
    db.run(
        Access::Schema,
        op(move |conn| {
            Box::pin(async move {
                recorder::ensure(conn).await?;
                let applied = recorder::applied(conn).await?.contains(&name);
                let editor = editor(conn.backend())?;
                let partial = recorder::progress(conn)
                    .await?
                    .into_iter()
                    .find(|p| p.name == name && !applied);
                if applied == forwards && (forwards || partial.is_none()) {
                    return Ok(Outcome::Skipped);
                }
                if partial.is_none()
                    && let Some(fake) = &fake
                    && try_fake(conn, &name, &actions, fake).await?
                {
                    recorder::record(conn, &name).await?;
                    return Ok(Outcome::Faked);
                }
                if !editor.transactional_ddl() {
                    let at = match partial {
                        Some(partial) => partial,
                        None => Progress {
                            name: name.clone(),
                            operations: if applied { operations.len() } else { 0 },
                            statements: 0,
                            backwards: false,
                        },
                    };
                    let run = Recorded {
                        name: &name,
                        operations: &operations,
                        actions: &actions,
                        forwards,
                        applied,
                    };
                    run.run(conn, editor, at).await?;
                    return Ok(Outcome::Ran);
                }
                // A setting the backend's rebuilds change (SQLite's `legacy_alter_table`):
                // restored as found, whatever happens (the setting belongs to the
                // connection, not the transaction).
                let restore = match editor.restored_setting() {
                    Some(setting) => Some((setting, setting_is_on(conn, setting).await?)),
                    None => None,
                };
                let mut kept: HashMap<String, Vec<Kept>> = HashMap::new();
                let mut outcome = Ok(());
                // Backwards, the last operation is undone first.
                let ordered: Vec<&(String, Vec<Action>)> = if forwards {
                    actions.iter().collect()
                } else {
                    actions.iter().rev().collect()
                };
                'run: for (operation, actions) in ordered {
                    for action in actions {
                        if let Err(e) = perform(conn, editor, action, &mut kept).await {
                            outcome = Err(locate(e, &name, Some(operation)));
                            break 'run;
                        }
                    }
                }
                if let Some((setting, on)) = restore {
                    let restored = conn
                        .batch(if on {
                            setting.turn_on
                        } else {
                            setting.turn_off
                        })
                        .await;
                    outcome?;
                    restored?;
                } else {
                    outcome?;
                }
                if forwards {
                    recorder::record(conn, &name).await?;
                } else {
                    recorder::forget(conn, &name).await?;
                }
                Ok(Outcome::Ran)
            })
        }),
    )
    .await
}

/// The rest of a migration where DDL is not transactional: which migration, its
/// operations, what each does in this run's direction, and whether it is recorded applied.
struct Recorded<'a> {
    name: &'a str,
    /// Every operation of the migration, described.
    operations: &'a [String],
    /// Each operation's actions, in the migration's order (backwards: only those of the
    /// operations in effect when planned).
    actions: &'a [(String, Vec<Action>)],
    forwards: bool,
    applied: bool,
}

/// The number of statements (not checks or locks) among `actions`.
fn statements(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Sql(_)))
        .count()
}

impl Recorded<'_> {
    /// An error about this migration.
    fn refuse<T>(&self, reason: String) -> Result<T> {
        Err(Error::Migration(
            MigrationError::new(reason).in_file(self.name),
        ))
    }

    /// The actions of operation `index` in this run's direction, if planned.
    fn of(&self, index: usize) -> Option<&[Action]> {
        self.actions.get(index).map(|(_, a)| a.as_slice())
    }

    /// Checks `at` against the migration as planned (a file edited after the migration
    /// stopped no longer matches its record), and counts an operation whose statements
    /// all ran as done.
    fn settle(&self, mut at: Progress) -> Result<Progress> {
        let total = self.operations.len();
        let mismatch = || {
            format!(
                "the recorded progress of migration {} ({} operation(s) in effect, {} statement(s) of the next) does not match its file ({total} operation(s)): the file was changed after the migration stopped; restore it, finish or undo the migration, then change it in a new migration",
                self.name, at.operations, at.statements
            )
        };
        if at.operations > total || (!self.forwards && at.operations > self.actions.len()) {
            return self.refuse(mismatch());
        }
        if at.statements == 0 {
            return Ok(at);
        }
        // The operation in progress, in the direction it was going.
        let (index, going_forwards) = if at.backwards {
            (at.operations.checked_sub(1), false)
        } else {
            (Some(at.operations), true)
        };
        let Some(index) = index.filter(|i| *i < total) else {
            return self.refuse(mismatch());
        };
        if going_forwards != self.forwards {
            let operation = &self.operations[index];
            return self.refuse(format!(
                "migration {} stopped half-way through {operation} ({} of its statements {}); it cannot be {} automatically: {}",
                self.name,
                at.statements,
                if at.backwards { "undone" } else { "ran" },
                if self.forwards { "applied again from there" } else { "undone from there" },
                if self.forwards {
                    "migrate back to the migration before it to finish undoing it, or repair the table by hand"
                } else {
                    "migrate forwards to finish it first, or repair the table by hand"
                }
            ));
        }
        let Some(actions) = self.of(index) else {
            return self.refuse(mismatch());
        };
        let count = statements(actions);
        if at.statements > count {
            return self.refuse(mismatch());
        }
        if at.statements == count {
            at = Progress {
                operations: if self.forwards { index + 1 } else { index },
                statements: 0,
                ..at
            };
        }
        Ok(at)
    }

    /// Runs the rest of the migration from `at` (how far it got before), recording after
    /// every statement how far it got, so that a failure leaves a state the record
    /// describes exactly. A resumed operation skips its statements that ran and runs its
    /// locks and row checks again (never its "table absent" check: the table is its own).
    async fn run(
        &self,
        conn: &mut dyn Conn,
        editor: &dyn SchemaEditor,
        at: Progress,
    ) -> Result<()> {
        let (name, forwards) = (self.name, self.forwards);
        let total = self.operations.len();
        let mut at = self.settle(at)?;
        if at.statements == 0 {
            at.backwards = !forwards;
        }
        // Undoing an applied migration drops its record just before its first statement
        // runs (a row check refusing before that leaves it applied), after recording it as
        // in progress: a stop in between leaves both, which reads as applied.
        let mut recorded = !forwards && self.applied;
        let mut kept = HashMap::new();
        let order: Vec<usize> = if forwards {
            (at.operations..total).collect()
        } else {
            (0..at.operations).rev().collect()
        };
        let save = |operations: usize, statements: usize| Progress {
            name: name.to_owned(),
            operations,
            statements,
            backwards: !forwards,
        };
        for index in order {
            let Some(list) = self.of(index) else {
                return self.refuse(format!(
                    "operation {} of migration {name} was not planned: run the command again",
                    index + 1
                ));
            };
            let operation = &self.operations[index];
            let resumed = if forwards {
                index == at.operations
            } else {
                index + 1 == at.operations
            };
            let skip = if resumed { at.statements } else { 0 };
            let count = statements(list);
            // Where the operation stands: `forwards`, operation `index` not in effect yet;
            // backwards, in effect until undone.
            let in_effect = if forwards { index } else { index + 1 };
            let mut ran = 0;
            for action in list {
                let statement = matches!(action, Action::Sql(_));
                if statement && ran < skip {
                    ran += 1;
                    continue;
                }
                if skip > 0 && matches!(action, Action::Absent(_)) {
                    continue;
                }
                if statement && recorded {
                    recorder::save_progress(conn, &save(in_effect, ran)).await?;
                    recorder::forget(conn, name).await?;
                    recorded = false;
                }
                if let Err(e) = perform(conn, editor, action, &mut kept).await {
                    let what = if statement {
                        format!("statement {} of {count} failed: {}", ran + 1, reason_of(&e))
                    } else {
                        reason_of(&e)
                    };
                    let fresh = forwards && at.operations == 0 && index == 0 && ran == 0;
                    let reason = if recorded {
                        format!("{what} (nothing was undone: the migration is still applied)")
                    } else if fresh {
                        format!("{what} (nothing of the migration was applied)")
                    } else {
                        let state = if forwards {
                            format!(
                                "operations 1 to {index} of {total} are in effect, and {ran} statement(s) of this one ran"
                            )
                        } else {
                            format!(
                                "operations 1 to {} of {total} are in effect, and {ran} statement(s) of this one were undone",
                                index + 1
                            )
                        };
                        format!(
                            "{what}. DDL commits on its own here, so nothing is rolled back: {state}. `migrate` {} from here once the cause is fixed; `showmigrations` shows the same",
                            if forwards {
                                "resumes"
                            } else {
                                "(back to the same target) resumes undoing"
                            }
                        )
                    };
                    return Err(locate(
                        Error::Migration(MigrationError::new(reason)),
                        name,
                        Some(operation),
                    ));
                }
                if statement {
                    ran += 1;
                    recorder::save_progress(conn, &save(in_effect, ran)).await?;
                }
            }
            let finished = if forwards {
                index + 1 == total
            } else {
                index == 0
            };
            if !finished && !recorded {
                let done = if forwards { index + 1 } else { index };
                recorder::save_progress(conn, &save(done, 0)).await?;
            }
        }
        if forwards {
            recorder::record(conn, name).await?;
        } else if recorded {
            recorder::forget(conn, name).await?;
        }
        recorder::clear_progress(conn, name).await
    }
}

/// Whether `setting` is on.
async fn setting_is_on(conn: &mut dyn Conn, setting: RestoredSetting) -> Result<bool> {
    let mut on = false;
    query_rows(conn, setting.read, Vec::new(), 1, &mut |row| {
        on = row[0].as_i64().is_some_and(|v| v != 0);
    })
    .await?;
    Ok(on)
}

/// The tables the actions create.
fn created_tables(actions: &[(String, Vec<Action>)]) -> Vec<String> {
    actions
        .iter()
        .flat_map(|(_, actions)| actions)
        .filter_map(|a| match a {
            Action::Absent(table) => Some(table.clone()),
            _ => None,
        })
        .collect()
}

/// `fake_initial`: true when every table the migration creates exists with its shape (the
/// migration is then recorded without running); false when none exists (it runs); an
/// error when only some exist, when the migration does more than create tables, or when a
/// table's shape differs (every difference listed).
async fn try_fake(
    conn: &mut dyn Conn,
    name: &str,
    actions: &[(String, Vec<Action>)],
    fake: &FakePlan,
) -> Result<bool> {
    let tables = created_tables(actions);
    if tables.is_empty() {
        return Ok(false);
    }
    let mut existing = Vec::new();
    for table in &tables {
        if introspect::table_exists(conn, table).await? {
            existing.push(table.clone());
        }
    }
    let refuse = |reason: String| {
        Err(Error::Migration(
            MigrationError::new(reason)
                .in_file(name)
                .at_operation("fake_initial"),
        ))
    };
    if existing.is_empty() {
        return Ok(false);
    }
    if existing.len() < tables.len() {
        let missing: Vec<String> = tables
            .iter()
            .filter(|t| !existing.contains(t))
            .map(|t| quote(t))
            .collect();
        let present: Vec<String> = existing.iter().map(|t| quote(t)).collect();
        return refuse(format!(
            "cannot fake migration {name}: tables {} exist but {} do not; nothing was changed",
            present.join(", "),
            missing.join(", ")
        ));
    }
    if let Some(reason) = &fake.not_fakeable {
        return refuse(format!("cannot fake migration {name}: {reason}"));
    }
    let infos = introspect::read_tables(conn, &tables).await?;
    let mut differences = Vec::new();
    for model in &fake.models {
        match infos.iter().find(|t| t.name == model.table) {
            Some(info) => differences.extend(crate::shape::differences(
                model,
                info,
                &fake.state,
                conn.backend(),
            )?),
            None => differences.push(format!("{}: not readable", quote(&model.table))),
        }
    }
    if !differences.is_empty() {
        return refuse(format!(
            "cannot fake migration {name}: the existing tables differ from it:\n  {}\nnothing was changed",
            differences.join("\n  ")
        ));
    }
    Ok(true)
}

/// An object of a rebuilt table kept across the rebuild.
struct Kept {
    /// `trigger` or `index`.
    kind: String,
    name: String,
    sql: String,
}

async fn query_rows(
    conn: &mut dyn Conn,
    sql: &str,
    params: Vec<Value>,
    width: usize,
    each: &mut (dyn FnMut(Vec<Value>) + Send),
) -> Result<()> {
    let stmt = Statement::new(sql, params);
    conn.query(&stmt, &mut |row| {
        let values = (0..width)
            .map(|i| <Value as Decode>::decode(row, i))
            .collect::<Result<Vec<_>>>()?;
        each(values);
        Ok(())
    })
    .await?;
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.display(),
    }
}

/// Performs one action inside the migration's transaction, with `editor`'s catalogue
/// queries.
async fn perform(
    conn: &mut dyn Conn,
    editor: &dyn SchemaEditor,
    action: &Action,
    kept: &mut HashMap<String, Vec<Kept>>,
) -> Result<()> {
    match action {
        Action::Lock(sql) => conn.batch(sql).await,
        Action::Sql(sql) => conn.batch(sql).await.map_err(|e| {
            Error::Migration(MigrationError::new(if editor.transactional_ddl() {
                format!("failed (nothing of the migration was applied): {e}")
            } else {
                e.to_string()
            }))
        }),
        Action::Absent(table) => {
            if introspect::table_exists(conn, table).await? {
                return Err(Error::Migration(MigrationError::new(format!(
                    "table {} already exists: a migration does not adopt a table it did not create (drop or rename it, or, if it already has this migration's shape, migrate with fake_initial / --fake-initial); nothing was changed",
                    quote(table)
                ))));
            }
            Ok(())
        }
        Action::Check(check) => {
            let width = match check.test {
                crate::narrowing::Test::Every => 1,
                _ => 2,
            };
            let mut count = 0usize;
            let mut examples = Vec::new();
            query_rows(conn, &check.sql, Vec::new(), width, &mut |row| {
                let fits = row.get(1).is_some_and(|value| check.fits(value));
                if !fits {
                    count += 1;
                    if examples.len() < 5
                        && let Some(key) = row.first()
                    {
                        examples.push(key.display());
                    }
                }
            })
            .await?;
            if count > 0 {
                return Err(check.refusal(count, &examples));
            }
            Ok(())
        }
        Action::Preserve { table, managed } => {
            let mut objects = Vec::new();
            query_rows(
                conn,
                editor.rebuild_kept_objects_sql()?,
                vec![Value::from(table.as_str())],
                3,
                &mut |row| {
                    let (kind, name, sql) = (text(&row[0]), text(&row[1]), text(&row[2]));
                    if kind == "trigger" || !managed.contains(&name) {
                        objects.push(Kept { kind, name, sql });
                    }
                },
            )
            .await?;
            kept.insert(table.clone(), objects);
            Ok(())
        }
        Action::Restore { table } => {
            for object in kept.remove(table).unwrap_or_default() {
                let mut present = false;
                query_rows(
                    conn,
                    editor.object_exists_sql()?,
                    vec![
                        Value::from(object.kind.as_str()),
                        Value::from(object.name.as_str()),
                    ],
                    1,
                    &mut |row| present = row[0].as_i64().is_some_and(|n| n > 0),
                )
                .await?;
                if present {
                    continue;
                }
                conn.batch(&object.sql).await.map_err(|e| {
                    Error::Migration(MigrationError::new(format!(
                        "the {} {} of table {} cannot be recreated after the table's rebuild (nothing was changed): {}",
                        object.kind,
                        quote(&object.name),
                        quote(table),
                        reason_of(&e)
                    )))
                })?;
            }
            Ok(())
        }
    }
}
