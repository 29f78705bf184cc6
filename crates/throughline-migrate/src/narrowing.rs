//! Owns the row checks that run before a narrowing `alter_field` (SPEC §7, "a narrowing
//! change checks the rows first"): a shorter string, a smaller integer type, a string or a
//! float becoming an integer, a string becoming a float, a 64-bit integer becoming a float
//! (exact only up to 2^53), an integer becoming a boolean (only 0 and 1), a nullable field
//! becoming NOT NULL without a value for its NULL rows. Each check is a query over the
//! table, run by the executor inside the migration's transaction before the change; any row
//! that does not fit refuses the migration with the count and up to five example keys, and
//! nothing changes. A change that no check can make exact — a datetime becoming a date,
//! which drops the time of day — is refused outright.
//!
//! PostgreSQL would otherwise truncate (`USING name::varchar(3)` turns 'long' into 'lon'),
//! round (`2.5::bigint`) or guess (`5::boolean` is true); SQLite's rebuild would copy a
//! too-long string into a `varchar(3)` column unchanged, or keep 'abc' as text in an
//! integer column. Both backends refuse the same rows.
//!
//! A row written between the checks and the change could slip past them: SQLite's
//! migration holds the writer, so none can be; on PostgreSQL the migration first takes the
//! table's `ACCESS EXCLUSIVE` lock (which the `ALTER` needs anyway), so the rows checked are
//! the rows changed; on MySQL/MariaDB it takes `LOCK TABLES ... WRITE` before the checks and
//! releases it after the `ALTER` (which there would round 2.5 into an integer column
//! silently). The PostgreSQL conversions fail rather than round or truncate should a
//! value get past the checks anyway (SQL run by hand from `sqlmigrate`): no explicit cast to
//! a bounded string (the assignment refuses a too-long value), a float becomes an integer
//! only when whole, an integer becomes a boolean through its text form ('0' or '1').

use crate::editor::SchemaEditor;
use crate::state::{FieldState, ModelState, parse_type};
use throughline_core::{Error, FieldType, MigrationError, Result, Value};
use throughline_query::ddl::quote;

/// How a row returned by a [`RowCheck`]'s query is judged.
///
/// ```
/// use throughline_migrate::narrowing::Test;
/// assert_ne!(Test::Every, Test::ParseFloat);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Every row returned does not fit (the query selects exactly those).
    Every,
    /// The value (a string) must be an integer within `min..=max`.
    ParseInt {
        /// The smallest value the new type holds.
        min: i64,
        /// The largest value the new type holds.
        max: i64,
    },
    /// The value (a string) must be a finite number.
    ParseFloat,
    /// The value must be a number of at most `max_digits` digits, `decimal_places` of them
    /// after the point: nothing is rounded (PostgreSQL and MySQL would round the extra
    /// places away) and nothing overflows.
    Decimal {
        /// The new field's `max_digits`.
        max_digits: u8,
        /// The new field's `decimal_places`.
        decimal_places: u8,
    },
}

/// A query over a table's rows whose failing rows refuse a narrowing change (see
/// [`Operation::actions`](crate::Operation::actions), which yields them as
/// [`Action::Check`](crate::operations::Action::Check)).
///
/// ```
/// # use throughline_migrate::{Operation, ProjectState, operations::Action};
/// let initial: Operation = serde_json::from_str(r#"{"op": "create_model", "model": {"name": "Tag",
///     "table": "tag", "fields": [{"name": "id", "column": "id", "type": "auto", "primary_key": true},
///     {"name": "name", "column": "name", "type": "string(50)"}]}}"#).unwrap();
/// let shorter: Operation = serde_json::from_str(r#"{"op": "alter_field", "model": "Tag",
///     "field": {"name": "name", "column": "name", "type": "string(3)"}}"#).unwrap();
/// let mut before = ProjectState::default();
/// initial.apply(&mut before).unwrap();
/// let mut after = before.clone();
/// shorter.apply(&mut after).unwrap();
/// let actions = shorter.actions(&before, &after, throughline_core::Backend::Postgres).unwrap();
/// // PostgreSQL locks the table first: the rows checked are the rows changed.
/// assert_eq!(actions[0], Action::Lock(r#"LOCK TABLE "tag" IN ACCESS EXCLUSIVE MODE"#.into()));
/// let Action::Check(check) = &actions[1] else { panic!() };
/// assert_eq!(check.sql, r#"SELECT "id" FROM "tag" WHERE char_length(CAST("name" AS text)) > 3 ORDER BY "id""#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RowCheck {
    /// The table.
    pub table: String,
    /// The key column (the examples in the refusal).
    pub key: String,
    /// `SELECT key[, value] FROM table WHERE ...`, ordered by key.
    pub sql: String,
    /// How the rows are judged.
    pub test: Test,
    /// The change, for the message (`Tag.name from string(50) to string(3)`).
    pub change: String,
    /// Why a row does not fit (`longer than 3 characters`).
    pub reason: String,
}

impl RowCheck {
    /// Whether a row's value fits (`Test::Every`: never).
    pub(crate) fn fits(&self, value: &Value) -> bool {
        match (&self.test, value) {
            (Test::Every, _) => false,
            (_, Value::Null) => true,
            (Test::ParseInt { min, max }, Value::String(s)) => {
                s.parse::<i64>().is_ok_and(|n| (*min..=*max).contains(&n))
            }
            (Test::ParseFloat, Value::String(s)) => s.parse::<f64>().is_ok_and(f64::is_finite),
            (
                Test::Decimal {
                    max_digits,
                    decimal_places,
                },
                value,
            ) => {
                let decimal = value.clone().coerce(FieldType::Decimal {
                    max_digits: *max_digits,
                    decimal_places: *decimal_places,
                });
                matches!(decimal, Value::Decimal(d) if throughline_core::validate::decimal_does_not_fit(d, *max_digits, *decimal_places).is_none())
            }
            _ => false,
        }
    }

    /// The refusal for `count` failing rows, with their first keys.
    pub(crate) fn refusal(&self, count: usize, examples: &[String]) -> Error {
        Error::Migration(MigrationError::new(format!(
            "cannot alter {}: {count} row(s) of table {} do not fit ({}), e.g. {} {}; nothing was changed (fix or delete those rows first)",
            self.change,
            quote(&self.table),
            self.reason,
            self.key,
            examples.join(", ")
        )))
    }
}

/// The largest integer up to which a float (f64) holds every integer exactly: 2^53.
const EXACT: i64 = 1 << 53;

fn range(ty: FieldType) -> Option<(i64, i64)> {
    match ty {
        FieldType::I16 => Some((i16::MIN.into(), i16::MAX.into())),
        FieldType::I32 => Some((i32::MIN.into(), i32::MAX.into())),
        FieldType::I64 | FieldType::AutoI64 => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

/// The checks before `model.previous` becomes `field`; `filled` when the NULL rows get a
/// backfill or a constant default. `editor` spells the length of a string.
pub(crate) fn checks(
    model: &ModelState,
    previous: &FieldState,
    field: &FieldState,
    filled: bool,
    editor: &dyn SchemaEditor,
) -> Result<Vec<RowCheck>> {
    let key = model.pk().ok_or_else(|| {
        Error::Migration(MigrationError::new(format!(
            "model {} has no primary key",
            model.name
        )))
    })?;
    let (old, new) = (parse_type(&previous.ty)?, parse_type(&field.ty)?);
    let table = quote(&model.table);
    let column = quote(&previous.column);
    let key_column = quote(&key.column);
    let change = format!(
        "{}.{} from {}{} to {}{}",
        model.name,
        field.name,
        previous.ty,
        if previous.nullable { " NULL" } else { "" },
        field.ty,
        if field.nullable { " NULL" } else { " NOT NULL" },
    );
    let check = |condition: String, test: Test, reason: String| {
        let select = match test {
            Test::Every => key_column.clone(),
            _ => format!("{key_column}, {column}"),
        };
        RowCheck {
            table: model.table.clone(),
            key: key.column.clone(),
            sql: format!("SELECT {select} FROM {table} WHERE {condition} ORDER BY {key_column}"),
            test,
            change: change.clone(),
            reason,
        }
    };
    if matches!((old, new), (FieldType::DateTime, FieldType::Date)) {
        return Err(Error::Migration(MigrationError::new(format!(
            "cannot alter {change}: a datetime becoming a date loses its time of day, which no conversion keeps exactly; add a date field, fill it from this one (run_sql), then remove this one"
        ))));
    }
    let mut out = Vec::new();
    if previous.nullable && !field.nullable && !filled {
        out.push(check(
            format!("{column} IS NULL"),
            Test::Every,
            "NULL, and no backfill or constant default was given".into(),
        ));
    }
    if old == new {
        return Ok(out);
    }
    let text = editor.char_length_sql(&column);
    match (old, new) {
        (
            FieldType::String {
                max_length: Some(n),
            },
            FieldType::String {
                max_length: Some(m),
            },
        ) if n <= m => {}
        (_, FieldType::String { max_length: None }) => {}
        (
            _,
            FieldType::String {
                max_length: Some(m),
            },
        ) => out.push(check(
            format!("{text} > {m}"),
            Test::Every,
            format!("longer than {m} characters"),
        )),
        (from, to) if range(to).is_some() => {
            let (min, max) = range(to).unwrap_or((i64::MIN, i64::MAX));
            match from {
                FieldType::String { .. } => out.push(check(
                    format!("{column} IS NOT NULL"),
                    Test::ParseInt { min, max },
                    format!("not an integer between {min} and {max}"),
                )),
                FieldType::F64 | FieldType::Decimal { .. } => out.push(check(
                    format!("{column} <> round({column}) OR {column} < {min} OR {column} > {max}"),
                    Test::Every,
                    format!("not a whole number between {min} and {max}"),
                )),
                other => {
                    if let Some((from_min, from_max)) = range(other)
                        && (from_min < min || from_max > max)
                    {
                        out.push(check(
                            format!("{column} < {min} OR {column} > {max}"),
                            Test::Every,
                            format!("outside {min}..={max}"),
                        ));
                    }
                }
            }
        }
        (FieldType::I64 | FieldType::AutoI64, FieldType::F64) => out.push(check(
            format!("{column} < -{EXACT} OR {column} > {EXACT}"),
            Test::Every,
            format!("beyond ±{EXACT} (2^53), where a float no longer holds every integer exactly"),
        )),
        (
            FieldType::I16 | FieldType::I32 | FieldType::I64 | FieldType::AutoI64,
            FieldType::Bool,
        ) => out.push(check(
            format!("{column} NOT IN (0, 1)"),
            Test::Every,
            "neither 0 nor 1".into(),
        )),
        (FieldType::String { .. }, FieldType::F64) => out.push(check(
            format!("{column} IS NOT NULL"),
            Test::ParseFloat,
            "not a number".into(),
        )),
        (
            FieldType::Decimal {
                max_digits: p1,
                decimal_places: s1,
            },
            FieldType::Decimal {
                max_digits: p2,
                decimal_places: s2,
            },
        ) if s2 >= s1 && p2 - s2 >= p1 - s1 => {}
        (
            _,
            FieldType::Decimal {
                max_digits,
                decimal_places,
            },
        ) => out.push(check(
            format!("{column} IS NOT NULL"),
            Test::Decimal {
                max_digits,
                decimal_places,
            },
            format!(
                "not a number of at most {max_digits} digits with at most {decimal_places} after the point"
            ),
        )),
        _ => {}
    }
    Ok(out)
}
