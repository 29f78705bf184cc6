//! Owns value validation: the checks run on every value before any SQL is sent (not null,
//! type, max length, choices, and that the value can be read back unchanged: no NaN or
//! infinite floats, dates and datetimes in years 1 to 9999, JSON no deeper than
//! [`JSON_MAX_DEPTH`]), giving [`Error::Validation`] naming the model and field.
//!
//! ```
//! use throughline_core::validate::{validate_row, validate_value};
//! use throughline_core::{FieldMeta, FieldType, ModelMeta, Value};
//! let price = FieldMeta::new("price", FieldType::F64);
//! let title = FieldMeta::new("title", FieldType::String { max_length: Some(5) });
//! let book = ModelMeta::new("Book", "book", vec![price.clone(), title.clone()]);
//! assert!(validate_row(&book, &[(&price, Value::F64(9.5)), (&title, Value::from("Emma"))]).is_ok());
//! // A NaN would not read back unchanged, and a title may not be NULL: refused before any SQL.
//! let nan = validate_value(&book, &price, &Value::F64(f64::NAN));
//! assert!(matches!(nan, Err(e) if e.is_validation()));
//! let null = validate_value(&book, &title, &Value::Null);
//! assert!(matches!(null, Err(e) if e.to_string().starts_with("invalid value for Book.title")));
//! ```

use crate::error::{Error, Result};
use crate::schema::{FieldMeta, FieldType, ModelMeta};
use crate::value::Value;

/// The deepest nesting of JSON arrays and objects a field accepts. Documents are read back
/// with serde_json, whose parser refuses 128 levels or more, so a deeper document would be
/// written and then fail every read of its table; it is refused on write instead.
///
/// ```
/// assert_eq!(throughline_core::validate::JSON_MAX_DEPTH, 127);
/// ```
pub const JSON_MAX_DEPTH: usize = 127;

/// The years a date or datetime may fall in, on every backend: SQLite stores them as text
/// that sorts correctly only with four-digit years, as Django's format requires.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Checks that `value` fits `field` of `model`.
///
/// ```
/// use throughline_core::{validate::validate_value, FieldMeta, FieldType, ModelMeta, Value};
/// let f = FieldMeta::new("grade", FieldType::String { max_length: Some(2) });
/// let m = ModelMeta::new("Enrollment", "enrollment", vec![f.clone()]);
/// assert!(validate_value(&m, &f, &Value::from("A+")).is_ok());
/// let err = validate_value(&m, &f, &Value::from("A++")).unwrap_err();
/// assert_eq!(err.to_string(), "invalid value for Enrollment.grade: 3 characters, at most 2 allowed");
/// ```
pub fn validate_value(model: &ModelMeta, field: &FieldMeta, value: &Value) -> Result<()> {
    let fail = |reason: String| Err(Error::validation(&model.name, &field.name, reason));
    if value.is_null() {
        if field.nullable || field.is_auto() {
            return Ok(());
        }
        return fail("NULL is not allowed (the field is not optional)".to_owned());
    }
    let fits = matches!(
        (field.ty, value),
        (
            FieldType::AutoI64 | FieldType::I64,
            Value::I64(_) | Value::I32(_) | Value::I16(_)
        ) | (FieldType::I32, Value::I32(_) | Value::I16(_))
            | (FieldType::I16, Value::I16(_))
            | (FieldType::F64, Value::F64(_))
            | (FieldType::Bool, Value::Bool(_))
            | (FieldType::String { .. }, Value::String(_))
            | (FieldType::Date, Value::Date(_))
            | (FieldType::DateTime, Value::DateTime(_))
            | (FieldType::Json, Value::Json(_))
            | (FieldType::Uuid, Value::Uuid(_))
            | (FieldType::Bytes, Value::Bytes(_))
            | (FieldType::Decimal { .. }, Value::Decimal(_))
    );
    let fits = fits || narrow_integer_fits(field.ty, value);
    if !fits {
        return fail(format!(
            "a {} value does not fit a {:?} field",
            value.kind_name(),
            field.ty
        ));
    }
    if let (
        FieldType::String {
            max_length: Some(max),
        },
        Value::String(text),
    ) = (field.ty, value)
    {
        let len = text.chars().count();
        if len > max as usize {
            return fail(format!("{len} characters, at most {max} allowed"));
        }
    }
    if let (
        FieldType::Decimal {
            max_digits,
            decimal_places,
        },
        Value::Decimal(d),
    ) = (field.ty, value)
        && let Some(reason) = decimal_does_not_fit(*d, max_digits, decimal_places)
    {
        return fail(reason);
    }
    if let Some(reason) = unreadable(value) {
        return fail(reason);
    }
    if !field.choices.is_empty()
        && let Value::String(text) = value
        && !field.choices.iter().any(|c| &c.value == text)
    {
        let allowed: Vec<&str> = field.choices.iter().map(|c| c.value.as_str()).collect();
        return fail(format!(
            "{text:?} is not one of the choices {}",
            allowed.join(", ")
        ));
    }
    Ok(())
}

/// Why decimal `d` does not fit `max_digits` digits with `decimal_places` after the point
/// (Django's `DecimalValidator`, except that trailing zeros after the point are not
/// counted: `1.500` fits two decimal places, as it is the same number as `1.50`).
///
/// ```
/// use throughline_core::{validate::decimal_does_not_fit, Decimal};
/// let d = |s: &str| s.parse::<Decimal>().unwrap();
/// assert_eq!(decimal_does_not_fit(d("999.99"), 5, 2), None);
/// assert_eq!(decimal_does_not_fit(d("1.500"), 5, 2), None);
/// assert_eq!(
///     decimal_does_not_fit(d("1000"), 5, 2).unwrap(),
///     "1000 has 4 digits before the point, at most 3 allowed (max_digits 5, decimal_places 2)"
/// );
/// assert_eq!(
///     decimal_does_not_fit(d("0.125"), 5, 2).unwrap(),
///     "0.125 has 3 digits after the point, at most 2 allowed"
/// );
/// ```
pub fn decimal_does_not_fit(
    d: rust_decimal::Decimal,
    max_digits: u8,
    decimal_places: u8,
) -> Option<String> {
    let (whole_digits, places) = decimal_digits(d);
    if places > u32::from(decimal_places) {
        return Some(format!(
            "{d} has {places} digits after the point, at most {decimal_places} allowed"
        ));
    }
    let allowed = u32::from(max_digits.saturating_sub(decimal_places));
    (whole_digits > allowed).then(|| {
        format!(
            "{d} has {whole_digits} digits before the point, at most {allowed} allowed (max_digits {max_digits}, decimal_places {decimal_places})"
        )
    })
}

/// The digits of `d` before and after the point, trailing zeros after it not counted
/// (`12.500` has 2 and 1).
///
/// ```
/// use throughline_core::{validate::decimal_digits, Decimal};
/// assert_eq!(decimal_digits("12.500".parse::<Decimal>().unwrap()), (2, 1));
/// assert_eq!(decimal_digits("-0.05".parse::<Decimal>().unwrap()), (0, 2));
/// ```
pub fn decimal_digits(d: rust_decimal::Decimal) -> (u32, u32) {
    let normal = d.normalize();
    let whole = normal.trunc().abs();
    let whole_digits = if whole.is_zero() {
        0
    } else {
        whole.to_string().len() as u32
    };
    (whole_digits, normal.scale())
}

/// Why `value` could not be read back unchanged, if it could not.
fn unreadable(value: &Value) -> Option<String> {
    use chrono::Datelike;
    match value {
        Value::F64(v) if v.is_nan() => Some(
            "NaN cannot be stored (SQLite would store NULL; use an Option and None)".to_owned(),
        ),
        Value::F64(v) if v.is_infinite() => Some(format!(
            "{v} cannot be stored (infinities are refused on every backend)"
        )),
        Value::Date(d) if !YEARS.contains(&d.year()) => {
            Some(format!("the date {d} is outside years 1 to 9999"))
        }
        Value::DateTime(d) if !YEARS.contains(&d.year()) => {
            Some(format!("the datetime {d} is outside years 1 to 9999"))
        }
        Value::Json(v) => {
            let depth = json_depth(v);
            (depth > JSON_MAX_DEPTH).then(|| {
                format!(
                    "the JSON document is nested {depth} levels deep, at most {JSON_MAX_DEPTH} can be read back"
                )
            })
        }
        _ => None,
    }
}

/// How deeply arrays and objects nest in `value` (a scalar is 0), without recursion, so a
/// hostile document cannot overflow the stack.
fn json_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// An `i64` given for an `i32`/`i16` column fits when its value is in range.
fn narrow_integer_fits(ty: FieldType, value: &Value) -> bool {
    match (ty, value.as_i64()) {
        (FieldType::I32, Some(v)) => i32::try_from(v).is_ok(),
        (FieldType::I16, Some(v)) => i16::try_from(v).is_ok(),
        _ => false,
    }
}

/// Validates a whole row given as `(field, value)` pairs.
///
/// ```
/// use throughline_core::{validate::validate_row, FieldMeta, FieldType, ModelMeta, Value};
/// let m = ModelMeta::new("S", "s", vec![FieldMeta::new("n", FieldType::I32)]);
/// assert!(validate_row(&m, &[(&m.fields[0], Value::Null)]).is_err());
/// ```
pub fn validate_row(model: &ModelMeta, row: &[(&FieldMeta, Value)]) -> Result<()> {
    row.iter()
        .try_for_each(|(field, value)| validate_value(model, field, value))
}
