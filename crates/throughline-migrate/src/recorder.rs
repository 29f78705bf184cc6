//! Owns the record of applied migrations: the table `throughline_migrations` (name and
//! time of each applied migration), read and written inside the migration's own
//! transaction.

use throughline_core::{Backend, Result, Value};
use throughline_db::{Conn, Decode};
use throughline_query::Statement;

/// The table holding the applied migrations.
pub const TABLE: &str = "throughline_migrations";

/// Creates the record table if needed.
pub async fn ensure(conn: &mut dyn Conn) -> Result<()> {
    let id = match conn.backend() {
        Backend::Sqlite => "integer NOT NULL PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "bigserial NOT NULL PRIMARY KEY",
    };
    let time = match conn.backend() {
        Backend::Sqlite => "datetime",
        Backend::Postgres => "timestamp with time zone",
    };
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
    let backend = conn.backend();
    let placeholder = |n: usize| match backend {
        Backend::Sqlite => "?".to_owned(),
        Backend::Postgres => format!("${n}"),
    };
    let sql = format!(
        "INSERT INTO \"{TABLE}\" (\"name\", \"applied_at\") VALUES ({}, {})",
        placeholder(1),
        placeholder(2)
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
    let placeholder = match conn.backend() {
        Backend::Sqlite => "?",
        Backend::Postgres => "$1",
    };
    let sql = format!("DELETE FROM \"{TABLE}\" WHERE \"name\" = {placeholder}");
    conn.execute(&Statement::new(sql, vec![Value::from(name)]))
        .await?;
    Ok(())
}
