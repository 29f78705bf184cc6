//! SQLite's SQL: `?` placeholders, lists and array inserts through the `rarray` table
//! function (rusqlite's `array` feature), `GLOB` for case-sensitive matches (SQLite's
//! `LIKE` ignores ASCII case), a `LIMIT` before any `OFFSET`, and the storage types of the
//! bundled SQLite (datetimes as text in Django's format, UUIDs as 32 hex digits).
//!
//! ```
//! use throughline_query::dialect::{Dialect, sqlite::Sqlite};
//! assert_eq!(Sqlite.backend(), throughline_core::Backend::Sqlite);
//! assert_eq!(Sqlite.limit_for_offset_alone(), Some(i64::MAX as u64)); // LIMIT before OFFSET
//! ```

use super::{
    ArrayRows, Dialect, SchemaTree, Tree, common_column_type, render_schema_with, render_with,
};
use crate::render::to_sea;
use sea_query::{Alias, ColumnDef, Expr, SqliteQueryBuilder, Values};
use throughline_core::{Backend, Capabilities, FieldType, Value};

/// The name of the collation that orders decimal text as numbers, which every SQLite
/// connection throughline opens registers.
///
/// ```
/// use throughline_query::dialect::sqlite::{DECIMAL_COLLATION, decimal_column_type};
/// assert_eq!(DECIMAL_COLLATION, "throughline_decimal");
/// assert!(decimal_column_type(8, 2).ends_with(&format!("COLLATE {DECIMAL_COLLATION}")));
/// ```
pub const DECIMAL_COLLATION: &str = "throughline_decimal";

/// The declared type of a decimal column on SQLite: exact text (the name contains `TEXT`,
/// so the column has TEXT affinity and SQLite never turns `"0.10"` into a float), compared
/// and ordered as numbers by the [`DECIMAL_COLLATION`], with the precision in the name for
/// introspection. SQLite's own `DECIMAL` type would be NUMERIC affinity, which keeps 15
/// significant digits.
///
/// ```
/// assert_eq!(
///     throughline_query::dialect::sqlite::decimal_column_type(10, 2),
///     "decimal_text(10, 2) COLLATE throughline_decimal"
/// );
/// ```
pub fn decimal_column_type(max_digits: u8, decimal_places: u8) -> String {
    format!("decimal_text({max_digits}, {decimal_places}) COLLATE {DECIMAL_COLLATION}")
}

/// SQLite's dialect.
///
/// ```
/// use throughline_query::dialect::{Dialect, Sqlite};
/// assert_eq!(Sqlite.param(3, throughline_core::FieldType::I64), "?");
/// assert_eq!(Sqlite.array_rows(1, throughline_core::FieldType::I64).unwrap().element, "value");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn cast_type(&self, ty: FieldType) -> Option<&'static str> {
        // Dates, times, UUIDs and JSON are stored as text and compared as such.
        match ty {
            FieldType::I16 | FieldType::I32 | FieldType::I64 | FieldType::AutoI64 => {
                Some("INTEGER")
            }
            FieldType::Bool => Some("INTEGER"),
            FieldType::F64 => Some("REAL"),
            FieldType::String { .. } => Some("TEXT"),
            _ => None,
        }
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    /// `strftime` reads the stored text (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    fn date_part(&self, part: crate::DatePart, datetime: bool) -> String {
        let _ = datetime;
        let (format, shift) = match part {
            crate::DatePart::Year => ("%Y", ""),
            crate::DatePart::Month => ("%m", ""),
            crate::DatePart::Day => ("%d", ""),
            // `%w` counts from 0 on Sunday; Django's week_day from 1.
            crate::DatePart::WeekDay => ("%w", " + 1"),
            crate::DatePart::Hour => ("%H", ""),
            crate::DatePart::Minute => ("%M", ""),
        };
        format!("(CAST(strftime('{format}', $1) AS INTEGER){shift})")
    }

    fn decimal_expression(&self, value: Expr) -> Expr {
        Expr::cust_with_exprs(format!("(? COLLATE {DECIMAL_COLLATION})"), [value])
    }

    /// SQLite computes decimals in floating point: a value computed for a decimal column
    /// is rounded to its decimal places (as `numeric(p, s)` and `DECIMAL(p, s)` do), so
    /// that the stored text is the value read back and filtered on.
    fn stored_value(&self, ty: FieldType, value: Expr) -> Expr {
        match ty {
            FieldType::Decimal { decimal_places, .. } => {
                Expr::cust_with_exprs("ROUND(?, ?)", [value, Expr::val(i64::from(decimal_places))])
            }
            _ => value,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            insert_returning: true,
            update_returning: true,
            delete_returning: true,
            on_conflict_do_nothing: true,
            on_conflict_do_update: true,
            on_conflict_target: true,
            select_for_update: false,
            array_params: true,
            statement_error_aborts_transaction: false,
            // SQLITE_MAX_VARIABLE_NUMBER of the bundled build.
            max_bind_params: 32_766,
        }
    }

    fn render(&self, tree: Tree<'_>) -> (String, Values) {
        render_with(SqliteQueryBuilder, tree)
    }

    fn render_schema(&self, tree: SchemaTree<'_>) -> String {
        render_schema_with(SqliteQueryBuilder, tree)
    }

    fn shape_tag(&self) -> u8 {
        b's'
    }

    fn limit_for_offset_alone(&self) -> Option<u64> {
        // SQLite needs a LIMIT before OFFSET; the largest one means none.
        Some(u64::MAX >> 1)
    }

    fn in_list(&self, col: Expr, values: &[Value]) -> Expr {
        let list = Expr::val(to_sea(&Value::List(values.to_vec())));
        Expr::cust_with_exprs("? IN rarray(?)", [col, list])
    }

    fn case_sensitive_match(&self, col: Expr, glob: &str, _like: &str) -> Expr {
        Expr::cust_with_exprs("? GLOB ?", [col, Expr::val(glob)])
    }

    fn ascii_insensitive_match(&self, col: Expr, pattern: String) -> Expr {
        // SQLite's LIKE folds ASCII case only: exactly the rule.
        Expr::cust_with_exprs("? LIKE ? ESCAPE '\\'", [col, Expr::val(pattern)])
    }

    fn param(&self, _index: usize, _ty: FieldType) -> String {
        "?".to_owned()
    }

    fn array_rows(&self, _index: usize, _ty: FieldType) -> Option<ArrayRows> {
        // `WHERE true`: SQLite's parser needs it before `ON CONFLICT` in INSERT ... SELECT.
        Some(ArrayRows {
            element: "value".to_owned(),
            source: "rarray(?) WHERE true".to_owned(),
        })
    }

    fn column_type(&self, ty: FieldType, def: &mut ColumnDef) {
        match ty {
            // `integer PRIMARY KEY AUTOINCREMENT` is SQLite's rowid alias.
            FieldType::AutoI64 => {
                def.integer();
            }
            FieldType::DateTime => {
                def.custom(Alias::new("datetime"));
            }
            FieldType::Uuid => {
                def.char_len(32);
            }
            FieldType::Decimal {
                max_digits,
                decimal_places,
            } => {
                def.custom(Alias::new(decimal_column_type(max_digits, decimal_places)));
            }
            other => common_column_type(other, def),
        }
    }

    fn drop_table_cascades(&self) -> bool {
        false
    }
}
