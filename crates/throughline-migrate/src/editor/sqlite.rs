//! SQLite's schema editor, [`SqliteEditor`]: literals without backslash escapes, datetimes,
//! dates and UUIDs stored as text, and the table rebuild for what SQLite cannot alter in
//! place — any column change, dropping a key, unique or foreign-key column, dropping a
//! table constraint. A rebuild runs with `legacy_alter_table` on, so that views and other
//! tables' triggers that refer to the table do not fail its rename (since SQLite 3.26 the
//! rename re-checks every view and trigger of the schema); the executor restores the
//! setting it found afterwards and recreates the table's triggers and the indexes
//! throughline does not manage. The catalogue is read through the table-valued `pragma_*`
//! functions, names bound as parameters.

use super::{RestoredSetting, SchemaEditor};
use crate::introspect::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableInfo, int, rows, text};
use crate::operations::Cost;
use crate::state::{FieldState, ModelState};
use throughline_core::{Backend, FieldMeta, ModelMeta, Result, Value};
use throughline_db::{BoxFuture, Conn};
use throughline_query::ddl::{self, quote};

/// The schema editor of SQLite (see the [module](self) documentation).
///
/// ```
/// use throughline_migrate::editor::{SchemaEditor, sqlite::SqliteEditor};
/// use throughline_core::Value;
/// assert_eq!(SqliteEditor.literal(&Value::Bool(true)), "1");
/// assert_eq!(SqliteEditor.placeholder(2), "?");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteEditor;

/// `legacy_alter_table`, on around a rebuild and restored as found after a migration.
const LEGACY_ALTER_TABLE: RestoredSetting = RestoredSetting {
    read: "PRAGMA legacy_alter_table",
    turn_on: "PRAGMA legacy_alter_table = ON",
    turn_off: "PRAGMA legacy_alter_table = OFF",
};

impl SchemaEditor for SqliteEditor {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    /// Booleans are `1` and `0`; UUIDs 32 hex digits; text has its quotes doubled.
    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
            Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::F64(_) => value.display(),
            Value::Uuid(u) => format!("'{}'", u.simple()),
            other => self.text_literal(&other.display()),
        }
    }

    /// SQLite doubles the quotes (it has no backslash escapes).
    fn text_literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// Datetimes in Django's text format, UUIDs as 32 hex digits, dates as `YYYY-MM-DD`.
    fn storage_form(&self, value: Value) -> Value {
        match value {
            Value::DateTime(t) => Value::String(throughline_core::value::format_datetime(&t)),
            Value::Uuid(u) => Value::String(u.simple().to_string()),
            Value::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            other => other,
        }
    }

    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }

    /// The declared type, as `pragma_table_info` reports it (a decimal's collation is
    /// not part of it).
    fn catalogue_type(&self, field: &FieldMeta) -> Result<String> {
        let declared = ddl::column_type(field, self.backend())?;
        Ok(match declared.split_once(" collate ") {
            Some((ty, _)) => ty.to_owned(),
            None => declared,
        })
    }

    fn auto_key_definition(&self) -> &'static str {
        "integer NOT NULL PRIMARY KEY AUTOINCREMENT"
    }

    fn timestamp_type(&self) -> &'static str {
        "datetime"
    }

    fn char_length_sql(&self, expression: &str) -> String {
        format!("length(CAST({expression} AS TEXT))")
    }

    /// SQLite cannot drop a default in place: the column keeps it.
    fn drop_fill_default_sql(&self, _table: &str, _column: &str) -> Option<String> {
        None
    }

    /// An inline `UNIQUE` has no name: nothing to rename.
    fn rename_column_unique_sql(&self, _table: &str, _from: &str, _to: &str) -> Vec<String> {
        Vec::new()
    }

    /// SQLite cannot drop a key, unique, indexed or foreign-key column in place.
    fn drops_column_by_rebuild(&self, field: &FieldState) -> bool {
        field.primary_key || field.unique || field.foreign_key.is_some()
    }

    fn alters_column_by_rebuild(&self) -> bool {
        true
    }

    /// Never asked: SQLite rebuilds the table instead.
    fn alter_column_sql(
        &self,
        model: &ModelState,
        _previous: &FieldState,
        field: &FieldState,
        _fill: Option<&Value>,
    ) -> Result<Vec<String>> {
        Err(self.unsupported(&format!(
            "altering {}.{} in place (SQLite rebuilds the table)",
            model.name, field.name
        )))
    }

    /// None: the migration holds SQLite's write lock, no other writer gets in.
    fn lock_for_row_checks_sql(&self, _table: &str) -> Option<String> {
        None
    }

    /// SQLite cannot rename an index: dropped and created again.
    fn rename_own_index_sql(
        &self,
        old: &ModelMeta,
        before: &FieldMeta,
        new: &ModelMeta,
        after: &FieldMeta,
    ) -> Vec<String> {
        vec![
            self.drop_own_index_sql(old, before),
            self.create_own_index_sql(new, after),
        ]
    }

    /// A constraint created with the table is part of its definition.
    fn drops_unique_constraint_by_rebuild(&self) -> bool {
        true
    }

    /// Never asked: SQLite rebuilds the table instead.
    fn drop_unique_constraint_sql(&self, table: &str, name: &str) -> Result<Vec<String>> {
        Err(self.unsupported(&format!(
            "dropping the unique constraint {} of {} in place (SQLite rebuilds the table)",
            quote(name),
            quote(table)
        )))
    }

    /// SQLite's `DROP COLUMN` rewrites the table (and a key column takes a rebuild).
    fn drop_column_cost(&self) -> Cost {
        Cost::RewritesTable
    }

    /// The foreign keys of every row are checked before `COMMIT`.
    fn add_not_null_foreign_key_cost(&self) -> Cost {
        Cost::BlocksWrites
    }

    fn before_rebuild_sql(&self) -> Vec<String> {
        vec![LEGACY_ALTER_TABLE.turn_on.to_owned()]
    }

    fn after_rebuild_sql(&self) -> Vec<String> {
        vec![LEGACY_ALTER_TABLE.turn_off.to_owned()]
    }

    fn restored_setting(&self) -> Option<RestoredSetting> {
        Some(LEGACY_ALTER_TABLE)
    }

    fn rebuild_kept_objects_sql(&self) -> Result<&'static str> {
        Ok(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?1 AND type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY type, name",
        )
    }

    fn object_exists_sql(&self) -> Result<&'static str> {
        Ok("SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2")
    }

    /// In the main database.
    fn table_exists_sql(&self) -> &'static str {
        "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1"
    }

    /// The main database's tables through `pragma_table_info`, `pragma_foreign_key_list`,
    /// `pragma_index_list` and `pragma_index_info` (inline `UNIQUE` indexes have no name
    /// SQL can use: `None`).
    fn read_catalogue<'a>(
        &'a self,
        conn: &'a mut dyn Conn,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>>> {
        Box::pin(read_sqlite(conn))
    }
}

async fn read_sqlite(conn: &mut dyn Conn) -> Result<Vec<TableInfo>> {
    let names = rows(
        conn,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'throughline_migrations' AND name <> 'django_migrations' ORDER BY name",
        Vec::new(),
        2,
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let create_sql = text(&row[1]).to_lowercase();
        let relation = Value::from(name.clone());
        let info = rows(
            conn,
            "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
            vec![relation.clone()],
            6,
        )
        .await?;
        let pk_count = info.iter().filter(|c| int(&c[5]) > 0).count();
        let columns: Vec<ColumnInfo> = info
            .iter()
            .map(|c| {
                let sql_type = text(&c[2]).to_lowercase();
                let primary_key = int(&c[5]) > 0;
                ColumnInfo {
                    name: text(&c[1]),
                    auto: primary_key && pk_count == 1 && sql_type == "integer",
                    nullable: int(&c[3]) == 0 && !primary_key,
                    primary_key,
                    sql_type,
                }
            })
            .collect();
        let _ = create_sql;
        let fks = rows(
            conn,
            "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1)",
            vec![relation.clone()],
            7,
        )
        .await?;
        let foreign_keys = fks
            .iter()
            .map(|f| ForeignKeyInfo {
                column: text(&f[3]),
                table: text(&f[2]),
                to_column: text(&f[4]),
                on_delete: text(&f[6]).to_uppercase(),
            })
            .collect();
        let indexes = rows(
            conn,
            "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?1)",
            vec![relation],
            5,
        )
        .await?;
        let mut uniques = Vec::new();
        let mut plain = Vec::new();
        // index_list: seq, name, unique, origin (c: CREATE INDEX, u: UNIQUE, pk), partial.
        for index in indexes
            .iter()
            .filter(|i| text(&i[3]) != "pk" && int(&i[4]) == 0)
        {
            let index_name = text(&index[1]);
            let cols = rows(
                conn,
                "SELECT seqno, cid, name FROM pragma_index_info(?1) ORDER BY seqno",
                vec![Value::from(index_name.clone())],
                3,
            )
            .await?;
            // An expression index has a column without a name.
            if cols.iter().any(|c| matches!(c[2], Value::Null)) {
                continue;
            }
            let info = IndexInfo {
                name: (!index_name.starts_with("sqlite_autoindex_")).then_some(index_name),
                columns: cols.iter().map(|c| text(&c[2])).collect(),
            };
            if int(&index[2]) == 1 {
                uniques.push(info);
            } else {
                plain.push(info);
            }
        }
        // index_list lists the newest first.
        uniques.reverse();
        plain.reverse();
        tables.push(TableInfo {
            name,
            columns,
            foreign_keys,
            uniques,
            indexes: plain,
        });
    }
    Ok(tables)
}
