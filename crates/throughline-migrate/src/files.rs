//! Owns migration files: [`Migration`] (a name, its dependencies and its operations),
//! written as pretty JSON, one file per migration (`migrations/0002_course_tag.json`), so
//! they are readable and reviewable without compiling anything; the loader that reads a
//! folder, checks the files and orders them by their dependency graph; and replaying them
//! into a [`ProjectState`]; [`EmbeddedMigrations`], the same files compiled into the
//! application's binary (`throughline::embed_migrations!`); [`find`], a migration by name or
//! unique prefix. Every problem is an [`Error::Migration`] naming the file (and the line or
//! operation when known).

use crate::operations::Operation;
use crate::state::ProjectState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use throughline_core::{Error, MigrationError, Result};

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
/// folder has no migrations (the CLI refuses a missing folder before calling this); a
/// malformed file (invalid JSON, with its line; an operation that does not apply, such as a
/// model without a primary key or a default longer than its field), a file whose `name`
/// differs from its file name, a dependency on an unknown migration, or a cycle is an
/// [`Error::Migration`] naming the file.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("tl-doc-load-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("0001_initial.json"), "{\n  \"name\": \"0001_initial\",\n  oops\n}").unwrap();
/// let error = throughline_migrate::load(&dir).unwrap_err().to_string();
/// assert!(error.contains("0001_initial.json:3"), "{error}");
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
pub fn load(dir: &Path) -> Result<Vec<Migration>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        MigrationError::new(format!("cannot read the migrations folder: {e}"))
            .in_file(dir.display().to_string())
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut migrations = Vec::new();
    let mut files = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            MigrationError::new(format!("cannot read it: {e}")).in_file(path.display().to_string())
        })?;
        let migration = parse(&path.display().to_string(), &text)?;
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

/// Parses one migration file; `file` is its path (`migrations/0002_course_tag.json`), whose
/// stem must be the migration's name. Malformed JSON is an [`Error::Migration`] with the
/// file and the line.
///
/// ```
/// let error = throughline_migrate::files::parse("m/0001_a.json", "{\"name\": 1}").unwrap_err();
/// assert!(error.to_string().starts_with("migration error in m/0001_a.json:1:"), "{error}");
/// ```
pub fn parse(file: &str, text: &str) -> Result<Migration> {
    let migration: Migration = serde_json::from_str(text).map_err(|e| {
        MigrationError::new(format!("malformed migration file: {e}"))
            .in_file(file)
            .at_line(e.line())
    })?;
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if migration.name != stem {
        return Err(MigrationError::new(format!(
            "the migration inside is named {:?}; the name must match the file name",
            migration.name
        ))
        .in_file(file)
        .into());
    }
    Ok(migration)
}

/// Migration files embedded in the application's binary at compile time by
/// `throughline::embed_migrations!`, so that `migrate` works from any directory and in a
/// deployed binary that has no source folder beside it.
///
/// ```
/// use throughline_migrate::files::EmbeddedMigrations;
/// static MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations {
///     dir: "/src/app/migrations",
///     files: &[(
///         "0001_initial.json",
///         r#"{"name": "0001_initial", "dependencies": [], "operations": []}"#,
///     )],
/// };
/// assert_eq!(MIGRATIONS.load().unwrap()[0].name, "0001_initial");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    /// The folder the files were read from when the binary was compiled (absolute).
    pub dir: &'static str,
    /// Each `*.json` file's name and contents, sorted by name.
    pub files: &'static [(&'static str, &'static str)],
}

impl EmbeddedMigrations {
    /// The embedded migrations in dependency order, checked as [`load`] checks files.
    ///
    /// ```
    /// let none = throughline_migrate::files::EmbeddedMigrations { dir: "/x", files: &[] };
    /// assert!(none.load().unwrap().is_empty());
    /// ```
    pub fn load(&self) -> Result<Vec<Migration>> {
        let dir = Path::new(self.dir);
        let migrations = self
            .files
            .iter()
            .map(|(name, text)| parse(&dir.join(name).display().to_string(), text))
            .collect::<Result<Vec<_>>>()?;
        order(migrations)
    }

    /// The folder they came from, where `makemigrations` writes the next one.
    ///
    /// ```
    /// let none = throughline_migrate::files::EmbeddedMigrations { dir: "/x", files: &[] };
    /// assert_eq!(none.dir(), std::path::Path::new("/x"));
    /// ```
    pub fn dir(&self) -> &Path {
        Path::new(self.dir)
    }
}

/// The migration called `name`, or the only one whose name starts with it (`0002` for
/// `0002_course_tag`, as Django). No match, or several, is an [`Error::Migration`] listing
/// the candidates.
///
/// ```
/// use throughline_migrate::{Migration, files::find};
/// let m = |name: &str| Migration { name: name.into(), dependencies: vec![], operations: vec![] };
/// let all = [m("0001_initial"), m("0002_tags"), m("0002_authors")];
/// assert_eq!(find(&all, "0001").unwrap().name, "0001_initial");
/// let error = find(&all, "0002").unwrap_err().to_string();
/// assert!(error.contains("0002_tags") && error.contains("0002_authors"), "{error}");
/// ```
pub fn find<'m>(migrations: &'m [Migration], name: &str) -> Result<&'m Migration> {
    if let Some(exact) = migrations.iter().find(|m| m.name == name) {
        return Ok(exact);
    }
    let matches: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !name.is_empty() && m.name.starts_with(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<&str> = migrations.iter().map(|m| m.name.as_str()).collect();
            Err(MigrationError::new(format!(
                "unknown migration {name} (the migrations are: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
            .into())
        }
        several => {
            let names: Vec<&str> = several.iter().map(|m| m.name.as_str()).collect();
            Err(MigrationError::new(format!(
                "the prefix {name} is ambiguous: it matches {}",
                names.join(", ")
            ))
            .into())
        }
    }
}

/// Orders migrations so that each comes after its dependencies (ties by name).
pub fn order(migrations: Vec<Migration>) -> Result<Vec<Migration>> {
    let names: BTreeSet<String> = migrations.iter().map(|m| m.name.clone()).collect();
    for migration in &migrations {
        for dependency in &migration.dependencies {
            if !names.contains(dependency) {
                return Err(MigrationError::new(format!(
                    "it depends on {dependency}, which does not exist"
                ))
                .in_file(migration.name.clone())
                .into());
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
            return Err(MigrationError::new(format!(
                "the migrations {} form a dependency cycle",
                stuck
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
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
    let path = dir.join(format!("{}.json", migration.name));
    let in_path = |reason: String| {
        Error::from(MigrationError::new(reason).in_file(path.display().to_string()))
    };
    std::fs::create_dir_all(dir).map_err(|e| in_path(format!("cannot create its folder: {e}")))?;
    let text = serde_json::to_string_pretty(migration)
        .map_err(|e| in_path(format!("cannot serialize it: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| in_path(format!("cannot write it: {e}")))?;
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
