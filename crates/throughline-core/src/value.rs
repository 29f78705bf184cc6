//! Owns [`Value`], the dynamically typed value that the dynamic core (query tree, admin,
//! migrations, CLI, introspection) passes around and that the drivers bind as parameters.
//!
//! The typed read path does not go through `Value`: rows decode straight into the user's
//! structs (SPEC §8.7). `Value` is the currency of writes, filters and the dynamic core.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use throughline_core::Value;
//! use throughline_core::value::{format_datetime, parse_datetime, parse_decimal};
//! // Values come from Rust's types; `None` is NULL.
//! assert_eq!(Value::from(3_i64), Value::I64(3));
//! assert_eq!(Value::from(None::<&str>), Value::Null);
//! // The text form SQLite stores datetimes in (Django's), read back from the usual forms.
//! let t = parse_datetime("2025-06-11T14:30:00Z").ok_or("not a datetime")?;
//! assert_eq!(format_datetime(&t), "2025-06-11 14:30:00.000000");
//! assert_eq!(parse_decimal("1.5E+2").ok_or("not a decimal")?.to_string(), "150");
//! # Ok(()) }
//! ```

use chrono::{DateTime, NaiveDate, Utc};

/// One SQL value, independent of any backend.
///
/// ```
/// use throughline_core::Value;
/// let v: Value = "alice".into();
/// assert_eq!(v, Value::String("alice".to_owned()));
/// assert!(Value::Null.is_null());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer (`smallint`).
    I16(i16),
    /// A 32-bit integer (`integer`).
    I32(i32),
    /// A 64-bit integer (`bigint`).
    I64(i64),
    /// A double precision float.
    F64(f64),
    /// Text.
    String(String),
    /// Bytes (`bytea` / `blob`).
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(NaiveDate),
    /// A UTC timestamp with microsecond precision.
    DateTime(DateTime<Utc>),
    /// A JSON document.
    Json(serde_json::Value),
    /// A UUID.
    Uuid(uuid::Uuid),
    /// An exact decimal (`numeric` on PostgreSQL, `DECIMAL` on MySQL, canonical text on
    /// SQLite).
    Decimal(rust_decimal::Decimal),
    /// A list of values bound as one array parameter (`= ANY($1)` on PostgreSQL,
    /// `IN rarray(?)` on SQLite), so that the SQL text does not depend on its length.
    List(Vec<Value>),
}

impl Value {
    /// Whether this is SQL `NULL`.
    ///
    /// ```
    /// assert!(throughline_core::Value::Null.is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an `i64`, if it is an integer of any width.
    ///
    /// ```
    /// use throughline_core::Value;
    /// assert_eq!(Value::I32(7).as_i64(), Some(7));
    /// assert_eq!(Value::String("7".into()).as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::I16(v) => Some(i64::from(*v)),
            Value::I32(v) => Some(i64::from(*v)),
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    ///
    /// ```
    /// use throughline_core::Value;
    /// assert_eq!(Value::from("a").as_str(), Some("a"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    ///
    /// ```
    /// assert_eq!(throughline_core::Value::I64(1).kind_name(), "i64");
    /// ```
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F64(_) => "f64",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::DateTime(_) => "datetime",
            Value::Json(_) => "json",
            Value::Uuid(_) => "uuid",
            Value::Decimal(_) => "decimal",
            Value::List(_) => "list",
        }
    }

    /// Renders the value for humans (example output, admin, CLI): text without quotes,
    /// `NULL` for null, datetimes in the SQLite storage format.
    ///
    /// ```
    /// use throughline_core::Value;
    /// assert_eq!(Value::from("B+").display(), "B+");
    /// assert_eq!(Value::Null.display(), "NULL");
    /// ```
    pub fn display(&self) -> String {
        match self {
            Value::Null => "NULL".to_owned(),
            Value::Bool(v) => v.to_string(),
            Value::I16(v) => v.to_string(),
            Value::I32(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            Value::String(v) => v.clone(),
            Value::Bytes(v) => format!("<{} bytes>", v.len()),
            Value::Date(v) => v.format("%Y-%m-%d").to_string(),
            Value::DateTime(v) => format_datetime(v),
            Value::Json(v) => v.to_string(),
            Value::Uuid(v) => v.to_string(),
            Value::Decimal(v) => v.to_string(),
            Value::List(v) => {
                let items: Vec<String> = v.iter().map(Value::display).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

impl Value {
    /// The value in the canonical form of a field of type `ty`, so that values read back
    /// from either backend compare equal to the values written (SQLite returns booleans and
    /// narrow integers as `i64`, and datetimes, dates, UUIDs and JSON as text).
    ///
    /// ```
    /// use throughline_core::{FieldType, Value};
    /// assert_eq!(Value::I64(1).coerce(FieldType::Bool), Value::Bool(true));
    /// assert_eq!(Value::I64(7).coerce(FieldType::I32), Value::I32(7));
    /// ```
    pub fn coerce(self, ty: crate::FieldType) -> Value {
        use crate::FieldType as T;
        match (ty, self) {
            (T::Bool, Value::I64(v)) => Value::Bool(v != 0),
            (T::I32, Value::I64(v)) => i32::try_from(v).map_or(Value::I64(v), Value::I32),
            (T::I16, Value::I64(v)) => i16::try_from(v).map_or(Value::I64(v), Value::I16),
            (T::AutoI64 | T::I64, Value::I32(v)) => Value::I64(i64::from(v)),
            (T::F64, Value::I64(v)) => Value::F64(v as f64),
            (T::DateTime, Value::String(s)) => {
                parse_datetime(&s).map_or(Value::String(s), Value::DateTime)
            }
            (T::Date, Value::String(s)) => {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_or(Value::String(s), Value::Date)
            }
            (T::Uuid, Value::String(s)) => {
                uuid::Uuid::parse_str(&s).map_or(Value::String(s), Value::Uuid)
            }
            (T::Json, Value::String(s)) => {
                serde_json::from_str(&s).map_or(Value::String(s), Value::Json)
            }
            (T::Decimal { .. }, Value::String(s)) => {
                parse_decimal(&s).map_or(Value::String(s), Value::Decimal)
            }
            (T::Decimal { .. }, Value::I64(v)) => Value::Decimal(v.into()),
            (T::Decimal { .. }, Value::F64(v)) => {
                decimal_from_f64(v).map_or(Value::F64(v), Value::Decimal)
            }
            (_, other) => other,
        }
    }
}

/// Parses a decimal written in plain or scientific notation (`"12.50"`, `"1.2E+3"`, as
/// SQLite and MySQL may return it), exactly.
///
/// ```
/// let d = throughline_core::value::parse_decimal("12.50").unwrap();
/// assert_eq!(d.to_string(), "12.50");
/// assert_eq!(throughline_core::value::parse_decimal("1.5E+2").unwrap().to_string(), "150");
/// assert!(throughline_core::value::parse_decimal("12,5").is_none());
/// ```
pub fn parse_decimal(text: &str) -> Option<rust_decimal::Decimal> {
    let text = text.trim();
    // rust_decimal reads `1_000` as 1000; no database or Django does.
    if text.contains('_') {
        return None;
    }
    text.parse::<rust_decimal::Decimal>()
        .ok()
        .or_else(|| rust_decimal::Decimal::from_scientific(text).ok())
}

/// The decimal a float stands for, at 15 significant digits (what SQLite keeps when it
/// turns a float into text): how a decimal stored as a float (a Django SQLite database) or
/// computed as one (SQLite's `SUM` of decimal text, `0.1 + 0.2`) is read back, `0.3` and not
/// the binary fraction's `0.30000000000000004`. `None` for NaN, infinities and magnitudes
/// beyond 28 digits.
///
/// ```
/// use throughline_core::value::decimal_from_f64;
/// assert_eq!(decimal_from_f64(0.1).unwrap().to_string(), "0.1");
/// assert_eq!(decimal_from_f64(0.1 + 0.2).unwrap().to_string(), "0.3");
/// assert_eq!(decimal_from_f64(121.75).unwrap().to_string(), "121.75");
/// assert!(decimal_from_f64(f64::NAN).is_none());
/// ```
pub fn decimal_from_f64(value: f64) -> Option<rust_decimal::Decimal> {
    if !value.is_finite() {
        return None;
    }
    let text = format!("{value:.14e}");
    rust_decimal::Decimal::from_scientific(&text)
        .ok()
        .map(|d| d.normalize())
}

/// A list as the JSON array a backend without array parameters binds for it (MySQL reads
/// it through `JSON_TABLE`): integers, floats and booleans as JSON, NULL as `null`,
/// everything else as the text its column stores (datetimes in [`format_datetime`]'s
/// form, UUIDs hyphenated, JSON documents as their text).
///
/// ```
/// use throughline_core::Value;
/// let list = [Value::I64(1), Value::Null, Value::from("a\"b")];
/// assert_eq!(throughline_core::value::json_list(&list), r#"[1,null,"a\"b"]"#);
/// ```
pub fn json_list(items: &[Value]) -> String {
    let element = |value: &Value| match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(v) => (*v).into(),
        Value::I16(v) => (*v).into(),
        Value::I32(v) => (*v).into(),
        Value::I64(v) => (*v).into(),
        Value::F64(v) => {
            serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into)
        }
        Value::DateTime(v) => format_datetime(v).into(),
        Value::Json(v) => v.to_string().into(),
        other => other.display().into(),
    };
    serde_json::Value::Array(items.iter().map(element).collect()).to_string()
}

/// Formats a UTC datetime as `YYYY-MM-DD HH:MM:SS.ffffff`, the text form SQLite stores
/// (Django's format, so databases are interchangeable).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2025, 6, 11, 14, 30, 0).unwrap();
/// assert_eq!(throughline_core::value::format_datetime(&t), "2025-06-11 14:30:00.000000");
/// ```
pub fn format_datetime(value: &DateTime<Utc>) -> String {
    value.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Parses the SQLite text form of a datetime (with or without fraction, with an optional
/// `T` separator and an optional `+00:00`/`Z` suffix).
///
/// ```
/// let t = throughline_core::value::parse_datetime("2025-06-11 14:30:00.000001").unwrap();
/// assert_eq!(t.timestamp_subsec_micros(), 1);
/// assert!(throughline_core::value::parse_datetime("2025-06-11 14:30:00 +00:00").is_some());
/// ```
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Some(fast) = parse_canonical_datetime(text.as_bytes()) {
        return Some(fast);
    }
    let trimmed = text
        .trim()
        .trim_end_matches('Z')
        .trim_end_matches("+00:00")
        .trim_end()
        .replace('T', " ");
    chrono::NaiveDateTime::parse_from_str(&trimmed, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&trimmed, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .map(|naive| naive.and_utc())
}

/// Parses exactly `YYYY-MM-DD HH:MM:SS.ffffff` (the form throughline writes) without
/// chrono's format machinery: decoding datetimes is on the hot path of every read.
fn parse_canonical_datetime(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 26
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_micro_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        num(20..26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// Truncates a datetime to microseconds, the precision both backends store.
///
/// ```
/// use chrono::{TimeZone, Utc, Timelike};
/// let t = Utc.timestamp_opt(0, 1_234_567).unwrap();
/// assert_eq!(throughline_core::value::truncate_micros(t).nanosecond(), 1_234_000);
/// ```
pub fn truncate_micros(value: DateTime<Utc>) -> DateTime<Utc> {
    let micros = value.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(value)
}

/// The clock every `auto_now` and `auto_now_add` value is read from: now, truncated to the
/// microseconds both backends keep (so a value written compares equal to the value read).
///
/// ```
/// use chrono::Timelike;
/// assert_eq!(throughline_core::value::now().nanosecond() % 1_000, 0);
/// ```
pub fn now() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::$variant(v)
            }
        })*
    };
}

value_from! {
    bool => Bool,
    i16 => I16,
    i32 => I32,
    i64 => I64,
    f64 => F64,
    String => String,
    Vec<u8> => Bytes,
    NaiveDate => Date,
    serde_json::Value => Json,
    uuid::Uuid => Uuid,
    rust_decimal::Decimal => Decimal,
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::DateTime(truncate_micros(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
