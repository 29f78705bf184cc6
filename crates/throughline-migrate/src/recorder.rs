//! Owns the record of applied migrations: the table `throughline_migrations` (name and
//! time of each applied migration), read and written inside the migration's own
//! transaction. Its column types and placeholders are the backend's schema editor's
//! ([`crate::editor`]).

use crate::editor::editor;
use throughline_core::{Result, Value};
use throughline_db::{Conn, Decode};
use throughline_query::Statement;

/// The table holding the applied migrations.
pub const TABLE: &str = "throughline_migrations";

/// Creates the record table if needed.
pub async fn ensure(conn: &mut dyn Conn) -> Result<()> {
    let editor = editor(conn.backend())?;
    let id = editor.auto_key_definition();
    let time = editor.timestamp_type();
    conn.batch(&format!(
        "CREATE TABLE IF NOT EXISTS \"{TABLE}\" (\"id\" {id}, \"name\" varchar(255) NOT NULL UNIQUE, \"applied_at\" {time} NOT NULL)"
    ))
    .await
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
