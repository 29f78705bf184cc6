//! MySQL's and MariaDB's SQL (the connection runs with `ANSI_QUOTES` and strict mode):
//! `?` placeholders; id lists as one JSON parameter read through `JSON_TABLE` (MariaDB
//! 10.6+, MySQL 8), so the statement text does not grow with the list; `LIKE BINARY` for
//! case-sensitive matches and `LOWER(col) LIKE` for the ASCII-insensitive ones; tables in
//! `utf8mb4` with the binary collation without padding (`utf8mb4_nopad_bin`: the padding
//! `utf8mb4_bin` counts `'a'` and `'a '` equal), so equality, `IN` and unique constraints
//! compare exactly as on the other backends; `DATETIME(6)` holding UTC; `CHAR(36)` UUIDs.
//!
//! What this backend lacks is declared in its capabilities and the engine takes its other
//! paths: no `UPDATE ... RETURNING`, and no "skip the conflicting
//! rows": `INSERT IGNORE` would do it, but even in strict mode it also truncates values
//! and drops rows whose foreign key fails, as warnings (checked on MariaDB 10.11; see
//! `docs/design/mariadb.md`), so it is never used.

use super::{
    ArrayRows, Dialect, SchemaTree, Tree, common_column_type, render_schema_with, render_with,
};
use sea_query::{Alias, ColumnDef, Expr, MysqlQueryBuilder, TableCreateStatement, Values};
use throughline_core::{Backend, Capabilities, FieldType, Value};

/// The decimal type every value of a decimal field fits (28 digits before the point and 28
/// after), for casts and list elements.
const DECIMAL_WIDE: &str = "DECIMAL(56, 28)";

/// MySQL's and MariaDB's dialect.
///
/// ```
/// use throughline_query::dialect::{Dialect, Mysql};
/// assert_eq!(Mysql.param(2, throughline_core::FieldType::I64), "?");
/// let rows = Mysql.array_rows(1, throughline_core::FieldType::I64).unwrap();
/// assert_eq!(rows.source, "JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j");
/// assert!(!Mysql.capabilities().update_returning);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mysql;

/// The `JSON_TABLE` column type of text elements: in the tables' collation, which
/// compares them exactly (`utf8mb4_nopad_bin`; the connection's would be an illegal mix).
const TEXT_ELEMENT: &str = "VARCHAR(3072) CHARSET utf8mb4 COLLATE utf8mb4_nopad_bin";

impl Mysql {
    /// The type of a `JSON_TABLE` column holding elements like `value`.
    fn json_column_type(value: Option<&Value>) -> &'static str {
        match value {
            Some(Value::I16(_) | Value::I32(_) | Value::I64(_)) => "BIGINT",
            Some(Value::F64(_)) => "DOUBLE",
            Some(Value::Bool(_)) => "BOOLEAN",
            _ => TEXT_ELEMENT,
        }
    }
}

impl Dialect for Mysql {
    fn cast_type(&self, ty: FieldType) -> Option<&'static str> {
        match ty {
            FieldType::I16 | FieldType::I32 | FieldType::I64 | FieldType::AutoI64 => Some("SIGNED"),
            FieldType::F64 => Some("DOUBLE"),
            FieldType::String { .. } => Some("CHAR"),
            FieldType::Date => Some("DATE"),
            FieldType::DateTime => Some("DATETIME(6)"),
            // Without a size MySQL's DECIMAL is DECIMAL(10, 0), which rounds.
            FieldType::Decimal { .. } => Some(DECIMAL_WIDE),
            _ => None,
        }
    }

    fn integer_division(&self) -> &'static str {
        "($1 DIV $2)"
    }

    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // MariaDB's; MySQL 8 has no RETURNING (a later slice asks the server).
            insert_returning: true,
            update_returning: false,
            delete_returning: true,
            on_conflict_do_nothing: false,
            on_conflict_do_update: false,
            on_conflict_target: false,
            select_for_update: true,
            // One JSON document bound for a whole list, read through JSON_TABLE.
            array_params: true,
            statement_error_aborts_transaction: false,
            max_bind_params: 65_535,
        }
    }

    fn render(&self, tree: Tree<'_>) -> (String, Values) {
        render_with(MysqlQueryBuilder, tree)
    }

    fn render_schema(&self, tree: SchemaTree<'_>) -> String {
        render_schema_with(MysqlQueryBuilder, tree)
    }

    fn shape_tag(&self) -> u8 {
        b'm'
    }

    fn limit_for_offset_alone(&self) -> Option<u64> {
        // MySQL needs a LIMIT before OFFSET; the largest one means none.
        Some(u64::MAX)
    }

    fn in_list(&self, col: Expr, values: &[Value]) -> Expr {
        // One key (a single add, a lock of the declaring row) is compared directly: MariaDB
        // runs the JSON_TABLE subquery at 0.2 ms a statement, several times a plain `=`.
        // Two statement texts in all, still whatever the number of keys.
        if let [value] = values {
            return sea_query::ExprTrait::eq(col, Expr::val(crate::render::to_sea(value)));
        }
        let kind = Mysql::json_column_type(values.iter().find(|v| !v.is_null()));
        let json = throughline_core::value::json_list(values);
        Expr::cust_with_exprs(
            format!(
                "? IN (SELECT j.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v {kind} PATH '$')) AS j)"
            ),
            [col, Expr::val(json)],
        )
    }

    fn case_sensitive_match(&self, col: Expr, _glob: &str, like: &str) -> Expr {
        Expr::cust_with_exprs("? LIKE BINARY ?", [col, Expr::val(like)])
    }

    fn ascii_insensitive_match(&self, col: Expr, pattern: String) -> Expr {
        Expr::cust_with_exprs("LOWER(?) LIKE BINARY ?", [col, Expr::val(pattern)])
    }

    fn param(&self, _index: usize, _ty: FieldType) -> String {
        "?".to_owned()
    }

    fn array_rows(&self, _index: usize, ty: FieldType) -> Option<ArrayRows> {
        let kind = match ty {
            FieldType::AutoI64 | FieldType::I64 | FieldType::I32 | FieldType::I16 => "BIGINT",
            FieldType::F64 => "DOUBLE",
            FieldType::Bool => "BOOLEAN",
            FieldType::Decimal { .. } => DECIMAL_WIDE,
            _ => TEXT_ELEMENT,
        };
        Some(ArrayRows {
            element: "j.v".to_owned(),
            source: format!("JSON_TABLE(?, '$[*]' COLUMNS (v {kind} PATH '$')) AS j"),
        })
    }

    fn column_type(&self, ty: FieldType, def: &mut ColumnDef) {
        match ty {
            FieldType::DateTime => {
                def.custom(Alias::new("datetime(6)"));
            }
            FieldType::Uuid => {
                def.char_len(36);
            }
            // Not MariaDB's `json` (a `longtext` with a `json_valid` check): that check
            // refuses documents nested deeper than 32 levels, which the other backends
            // keep (throughline writes only documents serde_json produced).
            FieldType::String { max_length: None } | FieldType::Json => {
                def.custom(Alias::new("longtext"));
            }
            FieldType::Bytes => {
                def.custom(Alias::new("longblob"));
            }
            other => common_column_type(other, def),
        }
    }

    /// `SET STATEMENT optimizer_switch='in_to_exists=off' FOR` before an update or delete
    /// that reads an id list through `JSON_TABLE`: the subquery is materialized once rather
    /// than run for every row (2.4 s to 11 ms on the benchmark's W2 at N = 10,000).
    fn change_statement(&self, sql: String) -> String {
        if sql.contains("JSON_TABLE(") {
            format!("SET STATEMENT optimizer_switch='in_to_exists=off' FOR {sql}")
        } else {
            sql
        }
    }

    fn drop_table_cascades(&self) -> bool {
        false
    }

    fn builder_renders_returning(&self) -> bool {
        false
    }

    fn names_unique_columns(&self) -> bool {
        true
    }

    fn foreign_keys_take_key_type(&self) -> bool {
        true
    }

    fn table_options(&self, table: &mut TableCreateStatement) {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_nopad_bin");
    }
}

#[cfg(test)]
mod tests {
    use crate::{FieldPath, Filter, Lookup, SelectQuery};
    use throughline_core::{Backend, FieldMeta, FieldType, ModelMeta, Value};

    fn student() -> &'static ModelMeta {
        let mut id = FieldMeta::new("id", FieldType::AutoI64);
        id.primary_key = true;
        let name = FieldMeta::new(
            "name",
            FieldType::String {
                max_length: Some(50),
            },
        );
        Box::leak(Box::new(ModelMeta::new(
            "Student",
            "student",
            vec![id, name],
        )))
    }

    #[test]
    fn lists_are_one_json_parameter_and_text_matches_are_binary() {
        let mut query = SelectQuery::new(student());
        query.filter(Filter::cond(
            FieldPath::local("id"),
            Lookup::In(vec![Value::I64(1), Value::I64(2)]),
        ));
        query.filter(Filter::cond(
            FieldPath::local("name"),
            Lookup::Contains("Al".into()),
        ));
        query.filter(Filter::cond(
            FieldPath::local("name"),
            Lookup::IContains("al".into()),
        ));
        let stmt = query.render(Backend::Mysql).expect("renders");
        assert_eq!(
            &*stmt.sql,
            "SELECT `student`.`id`, `student`.`name` FROM `student` WHERE (`student`.`id` IN (SELECT j.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j)) AND (`student`.`name` LIKE BINARY ?) AND (LOWER(`student`.`name`) LIKE BINARY ?)"
        );
        assert_eq!(stmt.params[0], Value::from("[1,2]"));
    }

    #[test]
    fn returning_is_appended() {
        let insert = crate::InsertQuery {
            model: student(),
            fields: vec!["name".into()],
            rows: vec![vec![Value::from("ann")]],
            conflict: crate::Conflict::Error,
            returning: vec!["id".into()],
        };
        let stmt = insert.into_statement(Backend::Mysql).expect("renders");
        assert_eq!(
            &*stmt.sql,
            "INSERT INTO `student` (`name`) VALUES (?) RETURNING \"id\""
        );
    }

    #[test]
    fn a_delete_by_id_list_keeps_its_subquery_materialized() {
        let delete = crate::DeleteQuery {
            model: student(),
            groups: vec![crate::FilterGroup::filter(Filter::cond(
                FieldPath::local("id"),
                Lookup::In(vec![Value::I64(1), Value::I64(2)]),
            ))],
            returning: vec!["id".into()],
        };
        let stmt = delete.render(Backend::Mysql).expect("renders");
        assert!(
            stmt.sql
                .starts_with("SET STATEMENT optimizer_switch='in_to_exists=off' FOR DELETE"),
            "{}",
            stmt.sql
        );
        let plain = crate::DeleteQuery {
            groups: Vec::new(),
            ..delete
        };
        assert!(
            plain
                .render(Backend::Mysql)
                .expect("renders")
                .sql
                .starts_with("DELETE")
        );
    }
}
