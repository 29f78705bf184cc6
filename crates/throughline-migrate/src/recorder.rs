//! Owns the record of applied migrations: the table `throughline_migrations` (name and
//! time of each applied migration), read and written inside the migration's own
//! transaction. Its column types and placeholders are the backend's schema editor's
//! ([`crate::editor`]).
//!
//! Where DDL is not transactional (MySQL, MariaDB: each statement commits on its own), a
//! second table, `throughline_migration_progress`, holds how far a migration stopped
//! half-way got ([`Progress`]): written after every statement, so that `showmigrations`
//! reports it exactly and `migrate` resumes or reverses from there.

use crate::editor::editor;
use throughline_core::{Result, Value};
use throughline_db::{Conn, Decode};
use throughline_query::Statement;

/// The table holding the applied migrations.
pub const TABLE: &str = "throughline_migrations";

/// The table holding how far each migration stopped half-way got, where DDL is not
/// transactional.
pub const PROGRESS: &str = "throughline_migration_progress";

/// How far a migration got on a backend without transactional DDL, when it stopped
/// half-way (a failure, a lost connection): its first `operations` operations are in
/// effect, and `statements` statements of the next one ran (forwards), or of the last one
/// in effect were undone (`backwards`).
///
/// ```
/// let progress = throughline_migrate::recorder::Progress {
///     name: "0002_tags".into(), operations: 1, statements: 0, backwards: false,
/// };
/// assert!(!progress.operation_half_done());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The migration.
    pub name: String,
    /// How many of its operations (from the first) are in effect.
    pub operations: usize,
    /// How many statements of the operation in progress ran.
    pub statements: usize,
    /// Whether the operation in progress was being undone (operation `operations - 1`)
    /// rather than applied (operation `operations`).
    pub backwards: bool,
}

impl Progress {
    /// Whether an operation stopped between two of its statements.
    ///
    /// ```
    /// let progress = throughline_migrate::recorder::Progress {
    ///     name: "0002_tags".into(), operations: 1, statements: 2, backwards: false,
    /// };
    /// assert!(progress.operation_half_done());
    /// ```
    pub fn operation_half_done(&self) -> bool {
        self.statements > 0
    }
}

/// Creates the record table if needed.
pub async fn ensure(conn: &mut dyn Conn) -> Result<()> {
    let editor = editor(conn.backend())?;
    let id = editor.auto_key_definition();
    let time = editor.timestamp_type();
    let options = editor.table_options_sql();
    conn.batch(&format!(
        "CREATE TABLE IF NOT EXISTS \"{TABLE}\" (\"id\" {id}, \"name\" varchar(255) NOT NULL UNIQUE, \"applied_at\" {time} NOT NULL){options}"
    ))
    .await?;
    if !editor.transactional_ddl() {
        conn.batch(&format!(
            "CREATE TABLE IF NOT EXISTS \"{PROGRESS}\" (\"name\" varchar(255) NOT NULL PRIMARY KEY, \"operations\" integer NOT NULL, \"statements\" integer NOT NULL, \"backwards\" integer NOT NULL){options}"
        ))
        .await?;
    }
    Ok(())
}

/// The applied migrations' names, in the order they were applied.
pub async fn applied(conn: &mut dyn Conn) -> Result<Vec<String>> {
    let stmt = Statement::new(
        format!("SELECT \"name\" FROM \"{TABLE}\" ORDER BY \"id\""),
        Vec::new(),
    );
    let mut names = Vec::new();
    conn.query(&stmt, &mut |row| {
        names.push(<String as Decode>::decode(row, 0)?);
        Ok(())
    })
    .await?;
    Ok(names)
}

/// Records `name` as applied.
pub async fn record(conn: &mut dyn Conn, name: &str) -> Result<()> {
    let editor = editor(conn.backend())?;
    let sql = format!(
        "INSERT INTO \"{TABLE}\" (\"name\", \"applied_at\") VALUES ({}, {})",
        editor.placeholder(1),
        editor.placeholder(2)
    );
    conn.execute(&Statement::new(
        sql,
        vec![Value::from(name), Value::from(chrono::Utc::now())],
    ))
    .await?;
    Ok(())
}

/// Forgets `name` (it was migrated backwards).
pub async fn forget(conn: &mut dyn Conn, name: &str) -> Result<()> {
    let placeholder = editor(conn.backend())?.placeholder(1);
    let sql = format!("DELETE FROM \"{TABLE}\" WHERE \"name\" = {placeholder}");
    conn.execute(&Statement::new(sql, vec![Value::from(name)]))
        .await?;
    Ok(())
}

/// The migrations stopped half-way (none where DDL is transactional).
pub async fn progress(conn: &mut dyn Conn) -> Result<Vec<Progress>> {
    if editor(conn.backend())?.transactional_ddl() {
        return Ok(Vec::new());
    }
    let stmt = Statement::new(
        format!(
            "SELECT \"name\", \"operations\", \"statements\", \"backwards\" FROM \"{PROGRESS}\" ORDER BY \"name\""
        ),
        Vec::new(),
    );
    let mut out = Vec::new();
    conn.query(&stmt, &mut |row| {
        let count = |i| <i64 as Decode>::decode(row, i).map(|n| usize::try_from(n).unwrap_or(0));
        out.push(Progress {
            name: <String as Decode>::decode(row, 0)?,
            operations: count(1)?,
            statements: count(2)?,
            backwards: count(3)? != 0,
        });
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Saves how far `progress.name` got (replacing what was saved).
pub async fn save_progress(conn: &mut dyn Conn, progress: &Progress) -> Result<()> {
    let editor = editor(conn.backend())?;
    let p = |n| editor.placeholder(n);
    let values = vec![
        Value::I64(progress.operations as i64),
        Value::I64(progress.statements as i64),
        Value::I64(i64::from(progress.backwards)),
        Value::from(progress.name.as_str()),
    ];
    let updated = conn
        .execute(&Statement::new(
            format!(
                "UPDATE \"{PROGRESS}\" SET \"operations\" = {}, \"statements\" = {}, \"backwards\" = {} WHERE \"name\" = {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            values.clone(),
        ))
        .await?;
    if updated == 0 {
        conn.execute(&Statement::new(
            format!(
                "INSERT INTO \"{PROGRESS}\" (\"operations\", \"statements\", \"backwards\", \"name\") VALUES ({}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Forgets how far `name` got (it finished, either way).
pub async fn clear_progress(conn: &mut dyn Conn, name: &str) -> Result<()> {
    let editor = editor(conn.backend())?;
    if editor.transactional_ddl() {
        return Ok(());
    }
    let placeholder = editor.placeholder(1);
    let sql = format!("DELETE FROM \"{PROGRESS}\" WHERE \"name\" = {placeholder}");
    conn.execute(&Statement::new(sql, vec![Value::from(name)]))
        .await?;
    Ok(())
}
