//! Owns reading an existing database's catalogue ([`read_schema`]) with the project's own
//! drivers into [`TableInfo`]s — the catalogue queries are the backend's schema editor's
//! ([`crate::editor::SchemaEditor::read_catalogue`]: SQLite's pragmas, PostgreSQL's
//! `pg_catalog`) — columns, primary key, foreign keys with their on-delete action, unique
//! constraints and indexes with the database's own names (SQLite's inline `UNIQUE` has
//! none: its index is `sqlite_autoindex_...`, which SQL cannot name).
//!
//! Written by hand because sea-schema's discovery pulls in sqlx, whose SQLite library
//! conflicts with rusqlite's. Names are bound parameters in every catalogue query (SQLite's
//! table-valued `pragma_*` functions, PostgreSQL's `$1`), never spliced into the SQL.

use crate::editor::editor;
use throughline_core::{Result, Value};
use throughline_db::{Access, Conn, Database, Decode, Executor, op};
use throughline_query::Statement;

/// A column as the database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The declared type, lower case (`integer`, `varchar(100)`, `timestamp with time zone`).
    pub sql_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Whether the column is (part of) the primary key.
    pub primary_key: bool,
    /// Whether the database generates it (auto-increment / identity / serial).
    pub auto: bool,
}

/// A foreign key of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyInfo {
    /// The referring column.
    pub column: String,
    /// The referred table.
    pub table: String,
    /// The referred column.
    pub to_column: String,
    /// `CASCADE`, `RESTRICT`, `SET NULL`, `NO ACTION`, ...
    pub on_delete: String,
}

/// A table's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// The table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyInfo>,
    /// Unique constraints and unique indexes, the primary key excluded.
    pub uniques: Vec<IndexInfo>,
    /// The other indexes (plain column lists; partial and expression indexes are left out).
    pub indexes: Vec<IndexInfo>,
}

/// A unique constraint or an index over columns.
///
/// ```
/// let unique = throughline_migrate::IndexInfo {
///     name: Some("person_email_key".into()),
///     columns: vec!["email".into()],
/// };
/// assert_eq!(unique.columns, ["email"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its name in the database, or `None` when the database generated one that SQL cannot
    /// name (SQLite's `sqlite_autoindex_*` of an inline `UNIQUE`).
    pub name: Option<String>,
    /// The columns, in order.
    pub columns: Vec<String>,
}

impl TableInfo {
    /// The primary-key columns.
    pub fn primary_key(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The foreign key of `column`, if any.
    pub fn foreign_key(&self, column: &str) -> Option<&ForeignKeyInfo> {
        self.foreign_keys.iter().find(|f| f.column == column)
    }
}

/// The rows of `sql` (with `params` bound), `width` values each.
pub(crate) async fn rows(
    conn: &mut dyn Conn,
    sql: &str,
    params: Vec<Value>,
    width: usize,
) -> Result<Vec<Vec<Value>>> {
    let stmt = Statement::new(sql, params);
    let mut out = Vec::new();
    conn.query(&stmt, &mut |row| {
        out.push(
            (0..width)
                .map(|i| <Value as Decode>::decode(row, i))
                .collect::<Result<Vec<_>>>()?,
        );
        Ok(())
    })
    .await?;
    Ok(out)
}

/// A catalogue value as text (NULL: empty).
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.display(),
    }
}

/// A catalogue value as an integer (`true`: 1; anything else not a number: 0).
pub(crate) fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or({
        if matches!(value, Value::Bool(true)) {
            1
        } else {
            0
        }
    })
}

/// Reads every user table of the database (SQLite: the main database; PostgreSQL: the
/// schemas on the search path), skipping throughline's migration record.
pub async fn read_schema(db: &Database) -> Result<Vec<TableInfo>> {
    let mut tables = db
        .run(
            Access::ReadPrimary,
            op(|conn| Box::pin(async move { editor(conn.backend())?.read_catalogue(conn).await })),
        )
        .await?;
    // Foreign keys in column order (SQLite lists them last declared first).
    for table in &mut tables {
        let position = |column: &str| {
            table
                .columns
                .iter()
                .position(|c| c.name == column)
                .unwrap_or(usize::MAX)
        };
        let mut keys = std::mem::take(&mut table.foreign_keys);
        keys.sort_by_key(|k| position(&k.column));
        table.foreign_keys = keys;
    }
    Ok(tables)
}

/// Whether a table (or view) called `name` exists where a migration would create it
/// (SQLite: the main database; PostgreSQL: the current schema), the name bound as a
/// parameter.
///
/// ```
/// # use throughline_db::{Access, Executor, op};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// db.execute_batch(r#"CREATE TABLE "we""ird" ("id" integer)"#).await?;
/// let found = db.run(Access::Read, op(|conn| Box::pin(async move {
///     throughline_migrate::introspect::table_exists(conn, "we\"ird").await
/// }))).await?;
/// assert!(found);
/// # Ok(()) }
/// ```
pub async fn table_exists(conn: &mut dyn Conn, name: &str) -> Result<bool> {
    let sql = editor(conn.backend())?.table_exists_sql();
    let found = rows(conn, sql, vec![Value::from(name)], 1).await?;
    Ok(found.first().is_some_and(|row| int(&row[0]) > 0))
}

/// Reads the tables called `names` inside the caller's transaction (a name not found is
/// left out), as [`read_schema`] reads them all.
///
/// ```
/// # use throughline_db::{Access, Executor, op};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// db.execute_batch(r#"CREATE TABLE "tag" ("id" integer NOT NULL PRIMARY KEY)"#).await?;
/// let tables = db.run(Access::Read, op(|conn| Box::pin(async move {
///     throughline_migrate::introspect::read_tables(conn, &["tag".to_owned()]).await
/// }))).await?;
/// assert_eq!(tables[0].primary_key(), ["id"]);
/// # Ok(()) }
/// ```
pub async fn read_tables(conn: &mut dyn Conn, names: &[String]) -> Result<Vec<TableInfo>> {
    let tables = editor(conn.backend())?.read_catalogue(conn).await?;
    Ok(tables
        .into_iter()
        .filter(|t| names.contains(&t.name))
        .collect())
}
