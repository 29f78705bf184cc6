//! PostgreSQL's schema editor, [`PostgresEditor`]: everything is altered in place — a
//! changed column is renamed, its type converted with a `USING` that fails rather than
//! rounds or truncates, a narrowing change locks the table before its row checks.
//! Literals read back exactly whatever the session's settings (escape strings, datetimes
//! with their offset); a unique constraint is dropped as whichever the catalogue says it
//! is (a table constraint or a unique index); the catalogue is read from `pg_catalog` for
//! the schemas on the search path, names bound as `$1`.

use super::SchemaEditor;
use crate::introspect::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableInfo, rows, text};
use crate::operations::Cost;
use crate::state::{FieldState, ModelState, parse_type};
use throughline_core::{Backend, FieldMeta, FieldType, ModelMeta, Result, Value};
use throughline_db::{BoxFuture, Conn};
use throughline_query::ddl::{self, quote};

/// The schema editor of PostgreSQL (see the [module](self) documentation).
///
/// ```
/// use throughline_migrate::editor::{SchemaEditor, postgres::PostgresEditor};
/// assert_eq!(PostgresEditor.text_literal(r"a\b"), r"E'a\\b'");
/// assert_eq!(PostgresEditor.placeholder(2), "$2");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostgresEditor;

impl SchemaEditor for PostgresEditor {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    /// Booleans are `TRUE` and `FALSE`; a datetime carries its offset (`+00:00`, not
    /// shifted by the session's `TimeZone`); text is an escape string.
    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).into(),
            Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::F64(_) => value.display(),
            Value::DateTime(t) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f+00:00")),
            other => self.text_literal(&other.display()),
        }
    }

    /// An escape string (`E'...'`, which reads backslashes the same whether
    /// `standard_conforming_strings` is on or off) with its backslashes and quotes doubled.
    fn text_literal(&self, text: &str) -> String {
        format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    }

    /// Every value as it is: PostgreSQL has a type for each.
    fn storage_form(&self, value: Value) -> Value {
        value
    }

    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    /// As `format_type` reports it: `varchar(n)` is `character varying(n)`.
    fn catalogue_type(&self, field: &FieldMeta) -> Result<String> {
        Ok(match field.ty {
            FieldType::String {
                max_length: Some(n),
            } => format!("character varying({n})"),
            FieldType::Decimal {
                max_digits,
                decimal_places,
            } => format!("numeric({max_digits},{decimal_places})"),
            _ => ddl::column_type(field, self.backend())?,
        })
    }

    fn auto_key_definition(&self) -> &'static str {
        "bigserial NOT NULL PRIMARY KEY"
    }

    fn timestamp_type(&self) -> &'static str {
        "timestamp with time zone"
    }

    fn char_length_sql(&self, expression: &str) -> String {
        format!("char_length(CAST({expression} AS text))")
    }

    fn drop_fill_default_sql(&self, table: &str, column: &str) -> Option<String> {
        Some(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            quote(table),
            quote(column)
        ))
    }

    /// The constraint a field's `unique` creates is `<table>_<column>_key`.
    fn rename_column_unique_sql(&self, table: &str, from: &str, to: &str) -> Vec<String> {
        vec![format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            quote(table),
            quote(&format!("{table}_{from}_key")),
            quote(&format!("{table}_{to}_key"))
        )]
    }

    fn drops_column_by_rebuild(&self, _field: &FieldState) -> bool {
        false
    }

    fn alters_column_by_rebuild(&self) -> bool {
        false
    }

    /// `ALTER COLUMN ... TYPE ... USING`, `SET`/`DROP NOT NULL` (after the NULL rows are
    /// filled), `ADD`/`DROP CONSTRAINT <table>_<column>_key`; a changed foreign key is
    /// [`throughline_core::Error::NotSupported`] (remove the field and add a new one).
    fn alter_column_sql(
        &self,
        model: &ModelState,
        previous: &FieldState,
        field: &FieldState,
        fill: Option<&Value>,
    ) -> Result<Vec<String>> {
        let table = quote(&model.table);
        let column = quote(&field.column);
        let mut sql = Vec::new();
        if previous.ty != field.ty {
            let sql_type = postgres_type(&field.ty)?;
            use FieldType as T;
            // The row checks decide (under the table lock); the conversions never round or
            // truncate a value that slipped past them, they fail.
            let using = match (parse_type(&previous.ty)?, parse_type(&field.ty)?) {
                // No explicit cast: `::varchar(3)` truncates, the assignment cast refuses.
                (T::String { .. }, T::String { .. }) => None,
                // The text form, assigned (not cast) to the string type: refused if too long.
                (_, T::String { .. }) => Some(format!("CAST({column} AS text)")),
                // `::bigint` rounds 2.5; NaN makes the cast fail instead.
                (T::F64, T::I16 | T::I32 | T::I64 | T::AutoI64) => Some(format!(
                    "CAST(CASE WHEN {column} = trunc({column}) THEN {column} ELSE 'NaN'::double precision END AS {sql_type})"
                )),
                // `5::boolean` is true; '5' is not a boolean's text form ('0' and '1' are).
                (T::I16 | T::I32 | T::I64 | T::AutoI64, T::Bool) => {
                    Some(format!("CAST(CAST({column} AS text) AS boolean)"))
                }
                _ => Some(format!("{column}::{sql_type}")),
            };
            sql.push(match using {
                None => format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type}"),
                Some(using) => format!(
                    "ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type} USING {using}"
                ),
            });
        }
        if previous.nullable && !field.nullable {
            if let Some(value) = fill {
                sql.push(format!(
                    "UPDATE {table} SET {column} = {} WHERE {column} IS NULL",
                    self.literal(value)
                ));
            }
            sql.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
            ));
        } else if !previous.nullable && field.nullable {
            sql.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL"
            ));
        }
        let key = quote(&format!("{}_{}_key", model.table, field.column));
        if !previous.unique && field.unique {
            sql.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {key} UNIQUE ({column})"
            ));
        } else if previous.unique && !field.unique {
            sql.push(format!("ALTER TABLE {table} DROP CONSTRAINT {key}"));
        }
        if previous.foreign_key != field.foreign_key {
            return Err(self.unsupported(&format!(
                "changing the foreign key of {}.{} in place (remove the field and add a new one)",
                model.name, field.name
            )));
        }
        Ok(sql)
    }

    /// The lock the `ALTER` takes anyway, taken before the checks (taking a weaker one
    /// first would risk a deadlock when the `ALTER` upgrades it).
    fn lock_for_row_checks_sql(&self, table: &str) -> Option<String> {
        Some(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            quote(table)
        ))
    }

    /// `ALTER INDEX IF EXISTS ... RENAME TO` (`IF EXISTS` as
    /// [`SchemaEditor::drop_own_index_sql`]: an older database may have it under a former
    /// table name).
    fn rename_own_index_sql(
        &self,
        old: &ModelMeta,
        before: &FieldMeta,
        new: &ModelMeta,
        after: &FieldMeta,
    ) -> Vec<String> {
        vec![format!(
            "ALTER INDEX IF EXISTS {} RENAME TO {}",
            quote(&old.own_index_name(before)),
            quote(&new.own_index_name(after))
        )]
    }

    fn drops_unique_constraint_by_rebuild(&self) -> bool {
        false
    }

    /// The unique constraint `name` of `table` is a table constraint when it came with the
    /// table (`create_model`) and a unique index when `add_constraint` added it. The
    /// catalogue decides which, at run time (a `DO` block); when it is neither, the
    /// migration fails (it never silently does nothing, as `IF EXISTS` did).
    fn drop_unique_constraint_sql(&self, table: &str, name: &str) -> Result<Vec<String>> {
        let (table_id, name_id) = (quote(table), quote(name));
        let regclass = format!("{}::regclass", self.text_literal(&table_id));
        // `::name` truncates as identifiers are (63 bytes).
        let name_text = format!("{}::name", self.text_literal(name));
        let body = format!(
            "BEGIN IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = {regclass} AND conname = {name_text}) THEN ALTER TABLE {table_id} DROP CONSTRAINT {name_id}; \
             ELSIF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = {regclass} AND i.indisunique AND c.relname = {name_text}) THEN DROP INDEX {name_id}; \
             ELSE RAISE EXCEPTION 'table % has no unique constraint or unique index %', {regclass}, {name_text}; END IF; END"
        );
        let mut tag = "$throughline$".to_owned();
        let mut n = 0;
        while body.contains(&tag) {
            n += 1;
            tag = format!("$throughline{n}$");
        }
        Ok(vec![format!("DO {tag} {body} {tag}")])
    }

    /// Dropping a column only marks it dropped.
    fn drop_column_cost(&self) -> Cost {
        Cost::MetadataOnly
    }

    fn add_not_null_foreign_key_cost(&self) -> Cost {
        Cost::MetadataOnly
    }

    /// In the current schema.
    fn table_exists_sql(&self) -> &'static str {
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname = $1"
    }

    /// The tables of the schemas on the search path, from `pg_catalog` (foreign keys of
    /// one column; partial and expression indexes left out).
    fn read_catalogue<'a>(
        &'a self,
        conn: &'a mut dyn Conn,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>>> {
        Box::pin(read_postgres(conn))
    }
}

/// The PostgreSQL type of a field type (`string(50)`: `varchar(50)`), for `ALTER COLUMN
/// ... TYPE`.
fn postgres_type(ty: &str) -> Result<String> {
    Ok(match parse_type(ty)? {
        FieldType::AutoI64 | FieldType::I64 => "bigint".into(),
        FieldType::I16 => "smallint".into(),
        FieldType::I32 => "integer".into(),
        FieldType::F64 => "double precision".into(),
        FieldType::Bool => "boolean".into(),
        FieldType::String {
            max_length: Some(n),
        } => format!("varchar({n})"),
        FieldType::String { max_length: None } => "text".into(),
        FieldType::Date => "date".into(),
        FieldType::DateTime => "timestamp with time zone".into(),
        FieldType::Json => "jsonb".into(),
        FieldType::Uuid => "uuid".into(),
        FieldType::Bytes => "bytea".into(),
        FieldType::Decimal {
            max_digits,
            decimal_places,
        } => format!("numeric({max_digits}, {decimal_places})"),
    })
}

async fn read_postgres(conn: &mut dyn Conn) -> Result<Vec<TableInfo>> {
    let names = rows(
        conn,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname = ANY(current_schemas(false)) \
         AND c.relname NOT IN ('throughline_migrations', 'django_migrations') ORDER BY c.relname",
        Vec::new(),
        1,
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let relation = Value::from(name.clone());
        let columns = rows(
            conn,
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
             COALESCE(a.attnum = ANY(i.indkey), false), \
             (a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
             WHERE c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            vec![relation.clone()],
            5,
        )
        .await?;
        let columns = columns
            .iter()
            .map(|c| ColumnInfo {
                name: text(&c[0]),
                sql_type: text(&c[1]).to_lowercase(),
                nullable: matches!(c[2], Value::Bool(true)),
                primary_key: matches!(c[3], Value::Bool(true)),
                auto: matches!(c[4], Value::Bool(true)),
            })
            .collect();
        let fks = rows(
            conn,
            "SELECT a.attname::text, rc.relname::text, ra.attname::text, con.confdeltype::text \
             FROM pg_constraint con \
             JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             JOIN pg_class rc ON rc.oid = con.confrelid \
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] \
             JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1] \
             WHERE con.contype = 'f' AND c.relname = $1 AND array_length(con.conkey, 1) = 1 ORDER BY con.conname",
            vec![relation.clone()],
            4,
        )
        .await?;
        let foreign_keys = fks
            .iter()
            .map(|f| ForeignKeyInfo {
                column: text(&f[0]),
                table: text(&f[1]),
                to_column: text(&f[2]),
                on_delete: match text(&f[3]).as_str() {
                    "c" => "CASCADE",
                    "r" => "RESTRICT",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    _ => "NO ACTION",
                }
                .to_owned(),
            })
            .collect();
        let index_rows = rows(
            conn,
            "SELECT ic.relname::text, i.indisunique, array_to_string(ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), chr(1)) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             WHERE c.relname = $1 AND NOT i.indisprimary AND i.indpred IS NULL AND NOT (0 = ANY(i.indkey::int2[])) \
             ORDER BY ic.relname",
            vec![relation],
            3,
        )
        .await?;
        let mut uniques = Vec::new();
        let mut plain = Vec::new();
        for row in &index_rows {
            let info = IndexInfo {
                name: Some(text(&row[0])),
                columns: text(&row[2]).split('\u{1}').map(str::to_owned).collect(),
            };
            if matches!(row[1], Value::Bool(true)) {
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
