//! MySQL's and MariaDB's schema editor, [`MysqlEditor`]: everything is altered in place
//! (`MODIFY COLUMN` with the column's whole definition, `RENAME COLUMN`, `RENAME INDEX`),
//! an index is dropped `ON` its table, a unique constraint is a unique index, and a
//! foreign key is dropped by name before its column. DDL is not transactional here: each
//! statement commits on its own, so the executor records every step it completes
//! ([`SchemaEditor::transactional_ddl`] is false; see [`crate::executor`]).
//!
//! Literals assume the session the driver opens (`ANSI_QUOTES`, backslash escapes on, UTC):
//! identifiers in double quotes, text with its backslashes and quotes doubled, datetimes
//! without an offset. The catalogue is read from `information_schema` for the connection's
//! database, names bound as parameters and compared as bytes (the catalogue's own
//! collation ignores case). MariaDB's `json` is `longtext` with a `json_valid` check: a
//! column with that check reads back as `json`. The index MySQL adds by itself to back a
//! foreign key (named after the constraint, or after the column when the constraint has no
//! name) is not listed among the indexes; an inline `UNIQUE` (a unique index named after
//! its column) is listed without a name, as the field's own unique.
//!
//! A narrowing change locks its table (`LOCK TABLES ... WRITE`) before its row checks and
//! unlocks it after the `ALTER`, so that no row written in between slips past them (a
//! fractional float would otherwise be rounded to an integer without a warning).

use super::SchemaEditor;
use crate::introspect::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableInfo, int, rows, text};
use crate::operations::Cost;
use crate::state::{FieldState, ModelState, field_meta};
use std::collections::BTreeMap;
use throughline_core::{Backend, FieldMeta, FieldType, ModelMeta, Result, Value};
use throughline_db::{BoxFuture, Conn};
use throughline_query::ddl::{self, quote};

/// The schema editor of MySQL and MariaDB (see the [module](self) documentation).
///
/// ```
/// use throughline_migrate::editor::{SchemaEditor, mysql::MysqlEditor};
/// use throughline_core::Value;
/// assert_eq!(MysqlEditor.literal(&Value::Bool(true)), "TRUE");
/// assert_eq!(MysqlEditor.text_literal(r"a'\b"), r"'a''\\b'");
/// assert_eq!(MysqlEditor.placeholder(2), "?");
/// assert!(!MysqlEditor.transactional_ddl());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MysqlEditor;

impl SchemaEditor for MysqlEditor {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    /// Booleans are `TRUE` and `FALSE`; datetimes in UTC without an offset (the session's
    /// time zone is UTC); bytes as a hex literal; UUIDs in their hyphenated form
    /// (`char(36)`).
    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).into(),
            Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::F64(_) => value.display(),
            Value::Bytes(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("X'{hex}'")
            }
            other => self.text_literal(&other.display()),
        }
    }

    /// Quotes and backslashes doubled (the driver's session keeps backslash escapes on).
    fn text_literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    }

    /// Datetimes as UTC text without an offset, dates as `YYYY-MM-DD`, UUIDs hyphenated,
    /// JSON as its text: what the columns hold.
    fn storage_form(&self, value: Value) -> Value {
        match value {
            Value::DateTime(t) => Value::String(throughline_core::value::format_datetime(&t)),
            Value::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Value::Uuid(u) => Value::String(u.to_string()),
            Value::Json(j) => Value::String(j.to_string()),
            other => other,
        }
    }

    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }

    /// As [`read_catalogue`](SchemaEditor::read_catalogue) reports it: integer types
    /// without their display width, a boolean `tinyint(1)`.
    fn catalogue_type(&self, field: &FieldMeta) -> Result<String> {
        Ok(match field.ty {
            FieldType::Bool => "tinyint(1)".into(),
            FieldType::Decimal {
                max_digits,
                decimal_places,
            } => format!("decimal({max_digits},{decimal_places})"),
            _ => ddl::column_type(field, self.backend())?,
        })
    }

    fn auto_key_definition(&self) -> &'static str {
        "bigint NOT NULL AUTO_INCREMENT PRIMARY KEY"
    }

    fn timestamp_type(&self) -> &'static str {
        "datetime(6)"
    }

    /// InnoDB, every text column `utf8mb4` compared byte for byte (as the models' tables).
    fn table_options_sql(&self) -> &'static str {
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
    }

    fn char_length_sql(&self, expression: &str) -> String {
        format!("CHAR_LENGTH(CAST({expression} AS CHAR))")
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn drop_fill_default_sql(&self, table: &str, column: &str) -> Option<String> {
        Some(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            quote(table),
            quote(column)
        ))
    }

    /// `RENAME TABLE`, which moves the foreign keys that refer to it along.
    fn rename_table_sql(&self, from: &str, to: &str) -> Result<String> {
        Ok(format!("RENAME TABLE {} TO {}", quote(from), quote(to)))
    }

    /// The unique index a field's `unique` creates is `<table>_<column>_key`.
    fn rename_column_unique_sql(&self, table: &str, from: &str, to: &str) -> Vec<String> {
        vec![format!(
            "ALTER TABLE {} RENAME INDEX {} TO {}",
            quote(table),
            quote(&format!("{table}_{from}_key")),
            quote(&format!("{table}_{to}_key"))
        )]
    }

    /// One `ALTER TABLE` adding the column, its unique index (`<table>_<column>_key`) and
    /// its foreign key as a named constraint (`<table>_<column>_fkey`), as the table's
    /// creation names them, rather than an inline `REFERENCES` (which MySQL ignores and
    /// MariaDB names itself) or `UNIQUE` (named after the column).
    fn add_column_sql(
        &self,
        model: &ModelMeta,
        field: &FieldMeta,
        target_of: ddl::TargetOf<'_>,
        fill: Option<&Value>,
    ) -> Result<Vec<String>> {
        let mut plain = field.clone();
        plain.foreign_key = None;
        plain.unique = false;
        let mut add = ddl::add_column(model, &plain, target_of, fill, self.backend())?
            .into_iter()
            .next()
            .unwrap_or_default();
        // A unique field's own unique index, named as the table's creation names it.
        if field.unique && !field.primary_key {
            add.push_str(&format!(
                ", ADD CONSTRAINT {} UNIQUE ({})",
                quote(&format!("{}_{}_key", model.table, field.column)),
                quote(&field.column)
            ));
        }
        if let Some(fk) = &field.foreign_key {
            let (target, key) = target_of(fk).ok_or_else(|| {
                throughline_core::Error::invalid_query(
                    &model.name,
                    format!(
                        "foreign key `{}` refers to unknown model {}",
                        field.name, fk.to
                    ),
                )
            })?;
            let action = crate::shape::action(fk.on_delete);
            add.push_str(&format!(
                ", ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {action}",
                quote(&format!("{}_{}_fkey", model.table, field.column)),
                quote(&field.column),
                quote(&target),
                quote(&key)
            ));
        }
        let mut sql = vec![add];
        if model.has_own_index(field) {
            sql.push(self.create_own_index_sql(model, field));
        }
        Ok(sql)
    }

    /// MySQL refuses to drop a column its foreign key uses: the constraint goes first,
    /// found by its column in the catalogue when the migration runs (a renamed column or
    /// table keeps its constraint's former name). No such constraint fails the migration.
    fn drop_foreign_key_sql(&self, table: &str, field: &FieldState) -> Option<String> {
        field.foreign_key.as_ref().map(|_| {
            let prefix = self.text_literal(&format!("ALTER TABLE {} DROP FOREIGN KEY ", quote(table)));
            let missing = self.text_literal(&format!(
                "SELECT 1 FROM {}",
                quote(&format!("(no foreign key on {table}.{})", field.column))
            ));
            format!(
                "SET @throughline_fk = COALESCE((SELECT CONCAT({prefix}, '\"', REPLACE(constraint_name, '\"', '\"\"'), '\"') \
                 FROM information_schema.key_column_usage WHERE table_schema = DATABASE() \
                 AND BINARY table_name = {} AND BINARY column_name = {} AND referenced_table_name IS NOT NULL LIMIT 1), {missing}); \
                 PREPARE throughline_fk FROM @throughline_fk; EXECUTE throughline_fk; DEALLOCATE PREPARE throughline_fk",
                self.text_literal(table),
                self.text_literal(&field.column)
            )
        })
    }

    fn drops_column_by_rebuild(&self, _field: &FieldState) -> bool {
        false
    }

    fn alters_column_by_rebuild(&self) -> bool {
        false
    }

    /// `MODIFY COLUMN` with the whole new definition (type and nullability, after the
    /// NULL rows are filled), then `ADD CONSTRAINT <table>_<column>_key UNIQUE` or `DROP
    /// INDEX` of it; strict mode refuses a value that does not fit rather than truncating
    /// it. A changed foreign key is [`throughline_core::Error::NotSupported`] (remove the
    /// field and add a new one).
    fn alter_column_sql(
        &self,
        model: &ModelState,
        previous: &FieldState,
        field: &FieldState,
        fill: Option<&Value>,
    ) -> Result<Vec<String>> {
        if previous.foreign_key != field.foreign_key {
            return Err(self.unsupported(&format!(
                "changing the foreign key of {}.{} in place (remove the field and add a new one)",
                model.name, field.name
            )));
        }
        let table = quote(&model.table);
        let column = quote(&field.column);
        let mut sql = Vec::new();
        if previous.nullable
            && !field.nullable
            && let Some(value) = fill
        {
            sql.push(format!(
                "UPDATE {table} SET {column} = {} WHERE {column} IS NULL",
                self.literal(&self.storage_form(value.clone()))
            ));
        }
        if previous.ty != field.ty || previous.nullable != field.nullable {
            let meta = field_meta(field)?;
            let sql_type = ddl::column_type(&meta, self.backend())?;
            let null = if field.nullable { "NULL" } else { "NOT NULL" };
            // MODIFY takes the whole definition: an auto key keeps its AUTO_INCREMENT.
            let auto = if meta.is_auto() {
                " AUTO_INCREMENT"
            } else {
                ""
            };
            sql.push(format!(
                "ALTER TABLE {table} MODIFY COLUMN {column} {sql_type} {null}{auto}"
            ));
        }
        let key = quote(&format!("{}_{}_key", model.table, field.column));
        if !previous.unique && field.unique {
            sql.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {key} UNIQUE ({column})"
            ));
        } else if previous.unique && !field.unique {
            sql.push(format!("ALTER TABLE {table} DROP INDEX {key}"));
        }
        Ok(sql)
    }

    /// `LOCK TABLES ... WRITE` on the table (and on the migration record and progress,
    /// which the executor writes between the statements: a session holding table locks
    /// may touch no other table), released by
    /// [`SchemaEditor::unlock_after_row_checks_sql`] after the change, and by the driver
    /// when the migration stops.
    fn lock_for_row_checks_sql(&self, table: &str) -> Option<String> {
        Some(format!(
            "LOCK TABLES {} WRITE, {} WRITE, {} WRITE",
            quote(table),
            quote(crate::recorder::TABLE),
            quote(crate::recorder::PROGRESS)
        ))
    }

    fn unlock_after_row_checks_sql(&self) -> Option<String> {
        Some("UNLOCK TABLES".to_owned())
    }

    /// `DROP INDEX name ON table`.
    fn drop_index_sql(&self, table: &str, name: &str) -> String {
        format!("DROP INDEX {} ON {}", quote(name), quote(table))
    }

    /// `ALTER TABLE ... DROP INDEX name, ADD INDEX name (...)`: one statement, so that a
    /// foreign key never lacks an index.
    fn replace_index_sql(
        &self,
        table: &str,
        name: &str,
        columns: &[String],
        unique: bool,
    ) -> Option<String> {
        let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        Some(format!(
            "ALTER TABLE {} DROP INDEX {}, ADD {}INDEX {} ({})",
            quote(table),
            quote(name),
            if unique { "UNIQUE " } else { "" },
            quote(name),
            columns.join(", ")
        ))
    }

    /// `DROP INDEX IF EXISTS name ON table` (MariaDB's form).
    fn drop_own_index_sql(&self, model: &ModelMeta, field: &FieldMeta) -> String {
        format!(
            "DROP INDEX IF EXISTS {} ON {}",
            quote(&model.own_index_name(field)),
            quote(&model.table)
        )
    }

    /// `ALTER TABLE ... RENAME INDEX` (a field's column is renamed on its table as it is).
    fn rename_own_index_sql(
        &self,
        old: &ModelMeta,
        before: &FieldMeta,
        new: &ModelMeta,
        after: &FieldMeta,
    ) -> Vec<String> {
        vec![format!(
            "ALTER TABLE {} RENAME INDEX {} TO {}",
            quote(&old.table),
            quote(&old.own_index_name(before)),
            quote(&new.own_index_name(after))
        )]
    }

    fn drops_unique_constraint_by_rebuild(&self) -> bool {
        false
    }

    /// A unique constraint is a unique index: `DROP INDEX`, an error when there is none.
    fn drop_unique_constraint_sql(&self, table: &str, name: &str) -> Result<Vec<String>> {
        Ok(vec![self.drop_index_sql(table, name)])
    }

    /// InnoDB rebuilds the table to drop a column (MariaDB 10.4+ can do it instantly, but
    /// not for every table format).
    fn drop_column_cost(&self) -> Cost {
        Cost::RewritesTable
    }

    /// The rows' references are checked, under a lock that blocks writes.
    fn add_not_null_foreign_key_cost(&self) -> Cost {
        Cost::BlocksWrites
    }

    /// In the connection's database, compared as bytes.
    fn table_exists_sql(&self) -> &'static str {
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND BINARY table_name = ?"
    }

    fn read_catalogue<'a>(
        &'a self,
        conn: &'a mut dyn Conn,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>>> {
        Box::pin(read_mysql(conn))
    }
}

/// A catalogue column type in the form [`MysqlEditor::catalogue_type`] gives: integer
/// types without the display width MariaDB and MySQL 5 add (`bigint(20)`), except the
/// boolean `tinyint(1)`.
fn normal_type(column_type: &str) -> String {
    let lower = column_type.to_lowercase();
    let (base, rest) = lower.split_once('(').unwrap_or((lower.as_str(), ""));
    let integer = matches!(
        base,
        "bigint" | "int" | "integer" | "smallint" | "mediumint"
    );
    if integer && !rest.is_empty() {
        // `bigint(20) unsigned` keeps its `unsigned`.
        let after = rest.split_once(')').map_or("", |(_, after)| after);
        return format!("{base}{after}");
    }
    if base == "tinyint" && !lower.starts_with("tinyint(1)") && !rest.is_empty() {
        let after = rest.split_once(')').map_or("", |(_, after)| after);
        return format!("{base}{after}");
    }
    lower
}

async fn read_mysql(conn: &mut dyn Conn) -> Result<Vec<TableInfo>> {
    let names = rows(
        conn,
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' \
         AND table_name NOT IN ('throughline_migrations', 'throughline_migration_progress', 'django_migrations') \
         ORDER BY BINARY table_name",
        Vec::new(),
        1,
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let table = Value::from(name.clone());
        let json_columns: Vec<String> = rows(
            conn,
            "SELECT constraint_name, CONVERT(check_clause USING utf8mb4) FROM information_schema.check_constraints \
             WHERE constraint_schema = DATABASE() AND BINARY table_name = ?",
            vec![table.clone()],
            2,
        )
        .await?
        .iter()
        .filter(|c| {
            // The server quotes the column as the session does (`ANSI_QUOTES`: "x").
            let (name, clause) = (text(&c[0]), text(&c[1]));
            clause == format!("json_valid({})", quote(&name))
                || clause == format!("json_valid(`{}`)", name.replace('`', "``"))
        })
        .map(|c| text(&c[0]))
        .collect();
        let columns = rows(
            conn,
            "SELECT column_name, column_type, is_nullable, column_key, extra \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND BINARY table_name = ? ORDER BY ordinal_position",
            vec![table.clone()],
            5,
        )
        .await?
        .iter()
        .map(|c| {
            let name = text(&c[0]);
            let declared = normal_type(&text(&c[1]));
            let json = declared == "longtext" && json_columns.contains(&name);
            ColumnInfo {
                sql_type: if json { "json".into() } else { declared },
                nullable: text(&c[2]) == "YES",
                primary_key: text(&c[3]) == "PRI",
                auto: text(&c[4]).to_lowercase().contains("auto_increment"),
                name,
            }
        })
        .collect();
        // Foreign keys of one column (by constraint name, columns in order).
        let mut keys: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
        for key in rows(
            conn,
            "SELECT k.constraint_name, k.column_name, k.referenced_table_name, \
             k.referenced_column_name, r.delete_rule \
             FROM information_schema.key_column_usage k \
             JOIN information_schema.referential_constraints r \
               ON r.constraint_schema = k.constraint_schema \
              AND r.constraint_name = k.constraint_name AND r.table_name = k.table_name \
             WHERE k.table_schema = DATABASE() AND BINARY k.table_name = ? \
               AND k.referenced_table_name IS NOT NULL \
             ORDER BY k.constraint_name, k.ordinal_position",
            vec![table.clone()],
            5,
        )
        .await?
        {
            keys.entry(text(&key[0])).or_default().push(key);
        }
        let foreign_keys = keys
            .values()
            .filter(|columns| columns.len() == 1)
            .map(|columns| {
                let k = &columns[0];
                ForeignKeyInfo {
                    column: text(&k[1]),
                    table: text(&k[2]),
                    to_column: text(&k[3]),
                    on_delete: text(&k[4]).to_uppercase(),
                }
            })
            .collect();
        // Indexes: prefix and expression indexes left out, as the index MySQL adds by
        // itself to back a foreign key (it carries the constraint's name).
        let mut indexes: BTreeMap<String, (bool, Vec<String>, bool)> = BTreeMap::new();
        for index in rows(
            conn,
            "SELECT index_name, non_unique, column_name, sub_part \
             FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND BINARY table_name = ? AND index_name <> 'PRIMARY' \
             ORDER BY index_name, seq_in_index",
            vec![table],
            4,
        )
        .await?
        {
            let entry =
                indexes
                    .entry(text(&index[0]))
                    .or_insert((int(&index[1]) == 0, Vec::new(), false));
            if matches!(index[2], Value::Null) || !matches!(index[3], Value::Null) {
                entry.2 = true;
            }
            entry.1.push(text(&index[2]));
        }
        let mut uniques = Vec::new();
        let mut plain = Vec::new();
        let key_columns: Vec<String> = keys
            .values()
            .filter(|columns| columns.len() == 1)
            .map(|columns| text(&columns[0][1]))
            .collect();
        for (index_name, (unique, columns, partial)) in indexes {
            // The server's own index for a foreign key is named after the constraint, or
            // after the column when the constraint has no name of its own.
            let server_made = matches!(columns.as_slice(), [column] if *column == index_name
                && key_columns.contains(column))
                || keys.contains_key(&index_name);
            if partial || (!unique && server_made) {
                continue;
            }
            // An inline `UNIQUE` gets its column's name: the field's own unique.
            let generated =
                unique && matches!(columns.as_slice(), [column] if *column == index_name);
            let info = IndexInfo {
                name: (!generated).then_some(index_name),
                columns,
            };
            if unique {
                uniques.push(info);
            } else {
                plain.push(info);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::normal_type;

    #[test]
    fn display_widths_are_dropped_but_the_boolean_kept() {
        assert_eq!(normal_type("bigint(20)"), "bigint");
        assert_eq!(normal_type("int(11) unsigned"), "int unsigned");
        assert_eq!(normal_type("tinyint(1)"), "tinyint(1)");
        assert_eq!(normal_type("tinyint(4)"), "tinyint");
        assert_eq!(normal_type("varchar(50)"), "varchar(50)");
        assert_eq!(normal_type("datetime(6)"), "datetime(6)");
    }
}
