//! Owns migration files: [`Migration`] (a name, its dependencies and its operations),
//! written as pretty JSON, one file per migration (`migrations/0002_course_tag.json`), so
//! they are readable and reviewable without compiling anything; the loader that reads a
//! folder, checks the files and orders them by their dependency graph; and replaying them
//! into a [`ProjectState`].

use crate::operations::Operation;
use crate::state::ProjectState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use throughline_core::{Error, MigrationError, Result};

fn problem(reason: String) -> Error {
    Error::Migration(MigrationError::new(reason))
}

/// One migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// Its name (the file name without `.json`).
    pub name: String,
    /// The migrations it comes after.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Its operations, applied in order.
    pub operations: Vec<Operation>,
}

impl Migration {
    /// Whether every operation can be migrated backwards.
    pub fn reversible(&self) -> bool {
        self.operations.iter().all(Operation::reversible)
    }
}

/// Reads every `*.json` migration of `dir` and returns them in dependency order. A missing
/// folder has no migrations; a malformed file (invalid JSON, with its line; an operation
/// that does not apply, such as a model without a primary key or a default longer than its
/// field), a file whose `name` differs from its file name, a dependency on an unknown
/// migration, or a cycle is an [`Error::Migration`] naming the file.
pub fn load(dir: &Path) -> Result<Vec<Migration>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| problem(format!("cannot read {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut migrations = Vec::new();
    let mut files = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| problem(format!("cannot read {}: {e}", path.display())))?;
        let migration: Migration = serde_json::from_str(&text).map_err(|e| {
            Error::Migration(
                MigrationError::new(format!("malformed migration file: {e}"))
                    .in_file(path.display().to_string())
                    .at_line(e.line()),
            )
        })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if migration.name != stem {
            return Err(problem(format!(
                "migration file {} is named {:?} inside; the name must match the file name",
                path.display(),
                migration.name
            )));
        }
        files.insert(migration.name.clone(), path.display().to_string());
        migrations.push(migration);
    }
    let ordered = order(migrations)?;
    // Replaying checks every operation; a problem names the file, not only the migration.
    replay(&ordered).map_err(|e| match e {
        Error::Migration(mut m) => {
            if let Some(path) = m.file.as_ref().and_then(|name| files.get(name)) {
                m.file = Some(path.clone());
            }
            Error::Migration(m)
        }
        other => other,
    })?;
    Ok(ordered)
}

/// Orders migrations so that each comes after its dependencies (ties by name).
pub fn order(migrations: Vec<Migration>) -> Result<Vec<Migration>> {
    let names: BTreeSet<String> = migrations.iter().map(|m| m.name.clone()).collect();
    for migration in &migrations {
        for dependency in &migration.dependencies {
            if !names.contains(dependency) {
                return Err(Error::Migration(
                    MigrationError::new(format!(
                        "migration {} depends on {dependency}, which does not exist",
                        migration.name
                    ))
                    .in_file(&migration.name),
                ));
            }
        }
    }
    let mut remaining: BTreeMap<String, Migration> = migrations
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
    let mut ordered: Vec<Migration> = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining
            .values()
            .find(|m| {
                m.dependencies
                    .iter()
                    .all(|d| ordered.iter().any(|o| &o.name == d))
            })
            .map(|m| m.name.clone());
        let Some(name) = ready else {
            let stuck: Vec<&String> = remaining.keys().collect();
            return Err(problem(format!(
                "migrations form a dependency cycle: {stuck:?}"
            )));
        };
        if let Some(migration) = remaining.remove(&name) {
            ordered.push(migration);
        }
    }
    Ok(ordered)
}

/// The state after applying `migrations` in order; an operation that does not apply is an
/// [`Error::Migration`] naming the migration and the operation.
pub fn replay(migrations: &[Migration]) -> Result<ProjectState> {
    let mut state = ProjectState::default();
    for migration in migrations {
        for operation in &migration.operations {
            operation.apply(&mut state).map_err(|e| {
                let problem = match e {
                    Error::Migration(problem) => problem,
                    other => MigrationError::new(other.to_string()),
                };
                let problem = if problem.file.is_none() {
                    problem.in_file(&migration.name)
                } else {
                    problem
                };
                Error::Migration(if problem.operation.is_none() {
                    problem.at_operation(operation.describe())
                } else {
                    problem
                })
            })?;
        }
    }
    Ok(state)
}

/// Writes `migration` to `dir` as `<name>.json` (creating the folder), returning the path.
pub fn write(dir: &Path, migration: &Migration) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| problem(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(format!("{}.json", migration.name));
    let text = serde_json::to_string_pretty(migration).map_err(|e| {
        problem(format!(
            "cannot serialize migration {}: {e}",
            migration.name
        ))
    })?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| problem(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// The name of the next migration after `existing`: a four-digit number and a label
/// (`initial` for the first, else derived from the operations unless given).
pub fn next_name(existing: &[Migration], operations: &[Operation], label: Option<&str>) -> String {
    let number = existing
        .iter()
        .filter_map(|m| m.name.split('_').next().and_then(|n| n.parse::<u32>().ok()))
        .max()
        .map_or(1, |n| n + 1);
    let label = match label {
        Some(label) => label.to_owned(),
        None if existing.is_empty() => "initial".to_owned(),
        None => auto_label(operations),
    };
    format!("{number:04}_{label}")
}

fn auto_label(operations: &[Operation]) -> String {
    let parts: Vec<String> = operations
        .iter()
        .take(2)
        .map(|op| match op {
            Operation::CreateModel { model } => model.name.to_lowercase(),
            Operation::DeleteModel { name } => format!("delete_{}", name.to_lowercase()),
            Operation::AddField { model, field, .. } => {
                format!("{}_{}", model.to_lowercase(), field.name)
            }
            Operation::RemoveField { model, field } => {
                format!("remove_{}_{}", model.to_lowercase(), field)
            }
            Operation::AlterField { model, field, .. } => {
                format!("alter_{}_{}", model.to_lowercase(), field.name)
            }
            Operation::StateOnly { operations } => auto_label(operations),
            Operation::RenameModel { to, .. } => format!("rename_{}", to.to_lowercase()),
            _ => "auto".to_owned(),
        })
        .collect();
    let label = parts.join("_");
    label.chars().take(40).collect()
}
