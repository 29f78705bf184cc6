//! PostgreSQL's SQL: `$n` placeholders (typed where hand-written SQL needs it), lists as
//! one array parameter (`= ANY($n)`), array inserts from `unnest`, a case-sensitive
//! `LIKE`, ASCII-only case folding through `translate` (so `ILIKE`'s locale rules never
//! apply), `jsonb`, `uuid` and `timestamp with time zone` columns, and cascading drops.

use super::{
    ArrayRows, Dialect, SchemaTree, Tree, common_column_type, render_schema_with, render_with,
};
use crate::render::to_sea;
use sea_query::{ColumnDef, Expr, PostgresQueryBuilder, Values};
use throughline_core::{Backend, Capabilities, FieldType, Value};

/// PostgreSQL's dialect.
///
/// ```
/// use throughline_query::dialect::{Dialect, Postgres};
/// let rows = Postgres.array_rows(3, throughline_core::FieldType::I64).unwrap();
/// assert_eq!(rows.source, "unnest($3::bigint[]) AS u(v)");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Postgres {
    /// The PostgreSQL type a parameter of a field of type `ty` is cast to.
    fn type_name(ty: FieldType) -> &'static str {
        match ty {
            FieldType::AutoI64 | FieldType::I64 => "bigint",
            FieldType::I32 => "integer",
            FieldType::I16 => "smallint",
            FieldType::F64 => "double precision",
            FieldType::Bool => "boolean",
            FieldType::String { .. } => "text",
            FieldType::Date => "date",
            FieldType::DateTime => "timestamptz",
            FieldType::Json => "jsonb",
            FieldType::Uuid => "uuid",
            FieldType::Bytes => "bytea",
            FieldType::Decimal { .. } => "numeric",
        }
    }
}

impl Dialect for Postgres {
    fn locks_named_tables(&self) -> bool {
        true
    }

    /// A `timestamptz` is read in UTC whatever the session's time zone; `EXTRACT` gives a
    /// numeric, cast to an integer.
    fn date_part(&self, part: crate::DatePart, datetime: bool) -> String {
        let field = match part {
            crate::DatePart::Year => "YEAR",
            crate::DatePart::Month => "MONTH",
            crate::DatePart::Day => "DAY",
            crate::DatePart::WeekDay => "DOW",
            crate::DatePart::Hour => "HOUR",
            crate::DatePart::Minute => "MINUTE",
        };
        let value = if datetime {
            "($1 AT TIME ZONE 'UTC')"
        } else {
            "$1"
        };
        let shift = if part == crate::DatePart::WeekDay {
            " + 1"
        } else {
            ""
        };
        format!("(CAST(EXTRACT({field} FROM {value}) AS integer){shift})")
    }

    fn cast_type(&self, ty: FieldType) -> Option<&'static str> {
        Some(match ty {
            FieldType::I16 => "SMALLINT",
            FieldType::I32 => "INTEGER",
            FieldType::I64 | FieldType::AutoI64 => "BIGINT",
            FieldType::F64 => "DOUBLE PRECISION",
            FieldType::Bool => "BOOLEAN",
            FieldType::String { .. } => "TEXT",
            FieldType::Date => "DATE",
            FieldType::DateTime => "TIMESTAMPTZ",
            FieldType::Uuid => "UUID",
            FieldType::Bytes => "BYTEA",
            FieldType::Json => "JSONB",
            FieldType::Decimal { .. } => "NUMERIC",
        })
    }

    fn types_expression_constants(&self) -> bool {
        true
    }

    fn sequence_reset(&self, table: &str, column: &str) -> Option<crate::Statement> {
        // Django's `sequence_reset_sql`: the next key is max + 1, or 1 in an empty table.
        // The table is given quoted (a name with capitals or quotes stays one identifier)
        // and the column as is, as `pg_get_serial_sequence` reads them.
        let col = crate::ddl::quote(column);
        Some(crate::Statement::new(
            format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({col}), 1), max({col}) IS NOT null) FROM {}",
                crate::ddl::quote(table)
            ),
            vec![
                throughline_core::Value::String(crate::ddl::quote(table)),
                throughline_core::Value::String(column.to_owned()),
            ],
        ))
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            insert_returning: true,
            update_returning: true,
            delete_returning: true,
            on_conflict_do_nothing: true,
            on_conflict_do_update: true,
            on_conflict_target: true,
            select_for_update: true,
            array_params: true,
            statement_error_aborts_transaction: true,
            max_bind_params: 65_535,
        }
    }

    fn render(&self, tree: Tree<'_>) -> (String, Values) {
        render_with(PostgresQueryBuilder, tree)
    }

    fn render_schema(&self, tree: SchemaTree<'_>) -> String {
        render_schema_with(PostgresQueryBuilder, tree)
    }

    fn shape_tag(&self) -> u8 {
        b'p'
    }

    fn limit_for_offset_alone(&self) -> Option<u64> {
        None
    }

    fn in_list(&self, col: Expr, values: &[Value]) -> Expr {
        let list = Expr::val(to_sea(&Value::List(values.to_vec())));
        Expr::cust_with_exprs("$1 = ANY($2)", [col, list])
    }

    fn case_sensitive_match(&self, col: Expr, _glob: &str, like: &str) -> Expr {
        Expr::cust_with_exprs("$1 LIKE $2", [col, Expr::val(like)])
    }

    fn ascii_insensitive_match(&self, col: Expr, pattern: String) -> Expr {
        Expr::cust_with_exprs(
            "translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') LIKE $2",
            [col, Expr::val(pattern)],
        )
    }

    fn param(&self, index: usize, ty: FieldType) -> String {
        format!("${index}::{}", Postgres::type_name(ty))
    }

    fn array_rows(&self, index: usize, ty: FieldType) -> Option<ArrayRows> {
        Some(ArrayRows {
            element: "u.v".to_owned(),
            source: format!("unnest(${index}::{}[]) AS u(v)", Postgres::type_name(ty)),
        })
    }

    fn column_type(&self, ty: FieldType, def: &mut ColumnDef) {
        match ty {
            FieldType::Json => {
                def.json_binary();
            }
            other => common_column_type(other, def),
        }
    }

    fn drop_table_cascades(&self) -> bool {
        true
    }
}
