//! Owns applying migrations: [`migrate`] runs the pending migrations in order (or migrates
//! backwards to a named one), each in one transaction with its record (SQLite and
//! PostgreSQL DDL is transactional), under PostgreSQL's advisory lock; [`status`] lists
//! applied and pending ones; [`sql`] renders a migration's SQL (`sqlmigrate`). A recorded
//! history that disagrees with the files stops everything with an error naming the
//! migration.

use crate::files::{Migration, replay};
use crate::recorder;
use std::collections::BTreeSet;
use throughline_core::{Backend, Error, MigrationError, Result};
use throughline_db::{Access, Database, Executor, op};

/// One migration applied or unapplied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The migration.
    pub name: String,
    /// Applied (`true`) or unapplied (`false`).
    pub forwards: bool,
}

/// The SQL of `name`, forwards or backwards, for `backend`.
pub fn sql(
    migrations: &[Migration],
    name: &str,
    backend: Backend,
    backwards: bool,
) -> Result<Vec<String>> {
    let index = position(migrations, name)?;
    let mut state = replay(&migrations[..index])?;
    let migration = &migrations[index];
    let mut states = vec![state.clone()];
    for operation in &migration.operations {
        operation
            .apply(&mut state)
            .map_err(|e| in_migration(name, e))?;
        states.push(state.clone());
    }
    let mut out = Vec::new();
    if backwards {
        for (i, operation) in migration.operations.iter().enumerate().rev() {
            out.extend(
                operation
                    .backwards(&states[i], &states[i + 1], backend)
                    .map_err(|e| in_migration(name, e))?,
            );
        }
    } else {
        for (i, operation) in migration.operations.iter().enumerate() {
            out.extend(
                operation
                    .forwards(&states[i], &states[i + 1], backend)
                    .map_err(|e| in_migration(name, e))?,
            );
        }
    }
    Ok(out)
}

fn in_migration(name: &str, error: Error) -> Error {
    match error {
        Error::Migration(e) if e.file.is_none() => e.in_file(name).into(),
        Error::Migration(e) => e.into(),
        other => MigrationError::new(other.to_string()).in_file(name).into(),
    }
}

fn position(migrations: &[Migration], name: &str) -> Result<usize> {
    migrations
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| MigrationError::new(format!("unknown migration {name}")).into())
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

/// Each migration with whether it is applied, after checking that the record and the
/// files agree.
pub async fn status(db: &Database, migrations: &[Migration]) -> Result<Vec<(String, bool)>> {
    let applied = applied(db).await?;
    check_history(migrations, &applied)?;
    Ok(migrations
        .iter()
        .map(|m| (m.name.clone(), applied.contains(&m.name)))
        .collect())
}

/// Refuses a record that names a migration the files lack, or that applied a migration
/// without one it depends on.
fn check_history(migrations: &[Migration], applied: &[String]) -> Result<()> {
    for name in applied {
        let Some(migration) = migrations.iter().find(|m| &m.name == name) else {
            return Err(MigrationError::new(format!(
                "the database records migration {name}, which is not among the migration files: the history and the files disagree"
            ))
            .into());
        };
        for dependency in &migration.dependencies {
            if !applied.contains(dependency) {
                return Err(MigrationError::new(format!(
                    "the database records migration {name} as applied but not its dependency {dependency}: the history and the files disagree"
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// Applies the pending migrations in order, up to `target` if given; if `target` is
/// applied, migrates backwards to it (`"zero"` unapplies everything). Each migration runs
/// in its own transaction: a failure leaves the database at the previous migration.
pub async fn migrate(
    db: &Database,
    migrations: &[Migration],
    target: Option<&str>,
) -> Result<Vec<Step>> {
    let applied = applied(db).await?;
    check_history(migrations, &applied)?;
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
            if let Some(op) = migration.operations.iter().find(|o| !o.reversible()) {
                return Err(Error::Config(format!(
                    "migration {} cannot be unapplied: {} is irreversible",
                    migration.name,
                    op.describe()
                )));
            }
            let statements = sql(migrations, &migration.name, backend, true)?;
            run_step(db, &migration.name, statements, false).await?;
            steps.push(Step {
                name: migration.name.clone(),
                forwards: false,
            });
        }
        return Ok(steps);
    }
    let last = match target_index {
        Some(Some(index)) => index + 1,
        _ => migrations.len(),
    };
    let done: BTreeSet<&String> = applied.iter().collect();
    for migration in migrations[..last]
        .iter()
        .filter(|m| !done.contains(&m.name))
    {
        let statements = sql(migrations, &migration.name, backend, false)?;
        if run_step(db, &migration.name, statements, true).await? {
            steps.push(Step {
                name: migration.name.clone(),
                forwards: true,
            });
        }
    }
    Ok(steps)
}

/// Runs one migration's statements and its record in one schema transaction; returns
/// false when another process applied (or unapplied) it meanwhile.
async fn run_step(
    db: &Database,
    name: &str,
    statements: Vec<String>,
    forwards: bool,
) -> Result<bool> {
    let name = name.to_owned();
    db.run(
        Access::Schema,
        op(move |conn| {
            Box::pin(async move {
                recorder::ensure(conn).await?;
                let applied = recorder::applied(conn).await?;
                if applied.contains(&name) == forwards {
                    return Ok(false);
                }
                for statement in &statements {
                    conn.batch(statement).await.map_err(|e| {
                        Error::Config(format!(
                            "migration {name} failed (nothing of it was applied): {e}"
                        ))
                    })?;
                }
                if forwards {
                    recorder::record(conn, &name).await?;
                } else {
                    recorder::forget(conn, &name).await?;
                }
                Ok(true)
            })
        }),
    )
    .await
}
