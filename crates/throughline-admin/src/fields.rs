//! Owns a field's form side: the text a form shows for a stored value, the widget it is
//! edited with, and the parsing of what a form sends back into a [`Value`] of the field's
//! type, with Django's messages for what does not fit ("This field is required.", "Enter
//! a whole number.", "Select a valid choice."). Nothing here touches the database.

use throughline::{FieldMeta, FieldType, Value};

/// How a field is edited in a form.
///
/// ```
/// use throughline::{FieldMeta, FieldType};
/// use throughline_admin::fields::widget;
/// assert_eq!(widget(&FieldMeta::new("done", FieldType::Bool)), "checkbox");
/// assert_eq!(widget(&FieldMeta::new("n", FieldType::I32)), "number");
/// ```
pub fn widget(field: &FieldMeta) -> &'static str {
    if !field.editable || field.is_auto() || matches!(field.ty, FieldType::Bytes) {
        return "readonly";
    }
    if !field.choices.is_empty() || field.foreign_key.is_some() {
        return "select";
    }
    match field.ty {
        FieldType::Bool => "checkbox",
        FieldType::I16
        | FieldType::I32
        | FieldType::I64
        | FieldType::F64
        | FieldType::Decimal { .. } => "number",
        FieldType::Date => "date",
        FieldType::DateTime => "datetime-local",
        FieldType::String { max_length: None } | FieldType::Json => "textarea",
        _ => "text",
    }
}

/// Whether a form edits the field (automatic keys, `auto_now`/`auto_now_add` times and
/// non-editable fields are shown, not edited).
///
/// ```
/// use throughline::{DefaultValue, FieldMeta, FieldType};
/// let mut at = FieldMeta::new("at", FieldType::DateTime);
/// assert!(throughline_admin::fields::is_edited(&at));
/// at.default = DefaultValue::AutoNowAdd;
/// assert!(!throughline_admin::fields::is_edited(&at));
/// ```
pub fn is_edited(field: &FieldMeta) -> bool {
    use throughline::DefaultValue;
    widget(field) != "readonly"
        && !matches!(
            field.default,
            DefaultValue::AutoNow | DefaultValue::AutoNowAdd
        )
}

/// The text a form shows for a stored value (empty for NULL); datetimes in the
/// `datetime-local` input's format.
///
/// ```
/// use throughline::{FieldMeta, FieldType, Value};
/// let f = FieldMeta::new("n", FieldType::I32);
/// assert_eq!(throughline_admin::fields::form_text(&f, &Value::I32(7)), "7");
/// assert_eq!(throughline_admin::fields::form_text(&f, &Value::Null), "");
/// ```
pub fn form_text(field: &FieldMeta, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::DateTime(t) if field.editable => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        Value::Json(json) => json.to_string(),
        other => other.display(),
    }
}

/// The text a change list shows for a stored value: choice labels, "yes"/"no", "-" for
/// NULL.
///
/// ```
/// use throughline::{FieldMeta, FieldType, Value};
/// let f = FieldMeta::new("done", FieldType::Bool);
/// assert_eq!(throughline_admin::fields::list_text(&f, &Value::Bool(true)), "yes");
/// ```
pub fn list_text(field: &FieldMeta, value: &Value) -> String {
    if let Some(choice) = field
        .choices
        .iter()
        .find(|c| Value::from(c.value.as_str()) == *value)
    {
        return choice.label.clone();
    }
    match value {
        Value::Null => "-".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        other => other.display(),
    }
}

/// Parses what a form sent for `field` (`None`: the field was absent, which for a
/// checkbox means unchecked) into a value of its type, or says why not. Text is stripped
/// of surrounding whitespace (as Django's forms); an empty value is NULL for a nullable
/// field, `""` for a text field that may be blank, else "This field is required."; a NUL
/// character (which PostgreSQL cannot store in text) is refused.
///
/// ```
/// use throughline::{FieldMeta, FieldType, Value};
/// use throughline_admin::fields::parse;
/// let age = FieldMeta::new("age", FieldType::I32);
/// assert_eq!(parse(&age, Some("42")), Ok(Value::I32(42)));
/// assert_eq!(parse(&age, Some("4x")), Err("Enter a whole number.".into()));
/// assert_eq!(parse(&age, Some("")), Err("This field is required.".into()));
/// let name = FieldMeta::new("name", FieldType::String { max_length: Some(3) });
/// assert_eq!(parse(&name, Some("abcd")), Err("Ensure this value has at most 3 characters (it has 4).".into()));
/// assert_eq!(parse(&name, Some("a\0b")), Err("Null characters are not allowed.".into()));
/// ```
pub fn parse(field: &FieldMeta, sent: Option<&str>) -> Result<Value, String> {
    if field.ty == FieldType::Bool && field.choices.is_empty() {
        return Ok(Value::Bool(sent.is_some_and(|s| s == "on" || s == "true")));
    }
    // Text is stripped of surrounding whitespace, as Django's form fields do.
    let text = sent.unwrap_or("").trim();
    if text.contains('\0') {
        return Err("Null characters are not allowed.".into());
    }
    let is_text = matches!(field.ty, FieldType::String { .. });
    if text.is_empty() {
        if field.nullable {
            return Ok(Value::Null);
        }
        if is_text && field.blank {
            return Ok(Value::from(""));
        }
        return Err("This field is required.".into());
    }
    if !field.choices.is_empty() {
        return match field.choices.iter().find(|c| c.value == text) {
            Some(choice) => Ok(choice_value(field, &choice.value)),
            None => Err(format!(
                "Select a valid choice. {text} is not one of the available choices."
            )),
        };
    }
    let trimmed = text.trim();
    match field.ty {
        FieldType::String { max_length } => {
            let length = text.chars().count();
            match max_length {
                Some(max) if length > max as usize => Err(format!(
                    "Ensure this value has at most {max} characters (it has {length})."
                )),
                _ => Ok(Value::from(text)),
            }
        }
        FieldType::I16 => parse_int(trimmed).and_then(|v| {
            i16::try_from(v)
                .map(Value::I16)
                .map_err(|_| out_of_range(i64::from(i16::MIN), i64::from(i16::MAX)))
        }),
        FieldType::I32 => parse_int(trimmed).and_then(|v| {
            i32::try_from(v)
                .map(Value::I32)
                .map_err(|_| out_of_range(i64::from(i32::MIN), i64::from(i32::MAX)))
        }),
        FieldType::I64 | FieldType::AutoI64 => parse_int(trimmed).map(Value::I64),
        FieldType::F64 => match trimmed.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Value::F64(v)),
            _ => Err("Enter a number.".into()),
        },
        FieldType::Bool => match trimmed {
            "true" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("Enter true or false.".into()),
        },
        FieldType::Date => chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| "Enter a valid date (YYYY-MM-DD).".into()),
        FieldType::DateTime => parse_datetime_local(trimmed)
            .map(Value::DateTime)
            .ok_or_else(|| "Enter a valid date/time (YYYY-MM-DDTHH:MM).".into()),
        FieldType::Json => serde_json::from_str(trimmed)
            .map(Value::Json)
            .map_err(|e| format!("Enter a valid JSON document: {e}.")),
        FieldType::Uuid => uuid_value(trimmed),
        FieldType::Bytes => Err("This field cannot be edited here.".into()),
        FieldType::Decimal {
            max_digits,
            decimal_places,
        } => parse_decimal(trimmed, max_digits, decimal_places),
    }
}

/// A decimal from a form, with Django's `DecimalField` messages.
fn parse_decimal(text: &str, max_digits: u8, decimal_places: u8) -> Result<Value, String> {
    let Some(d) = throughline::value::parse_decimal(text) else {
        return Err("Enter a number.".into());
    };
    let (whole_digits, places) = throughline::validate::decimal_digits(d);
    if whole_digits + places > u32::from(max_digits) {
        return Err(format!(
            "Ensure that there are no more than {max_digits} digits in total."
        ));
    }
    if places > u32::from(decimal_places) {
        return Err(format!(
            "Ensure that there are no more than {decimal_places} decimal places."
        ));
    }
    let before = max_digits - decimal_places;
    if whole_digits > u32::from(before) {
        return Err(format!(
            "Ensure that there are no more than {before} digits before the decimal point."
        ));
    }
    Ok(Value::Decimal(d))
}

/// [`parse`], keeping `stored` when the form sent back exactly the text it was shown for
/// it (a datetime shown to the second keeps its microseconds; an untouched field is not
/// a change).
///
/// ```
/// use throughline::{FieldMeta, FieldType, Value};
/// let at = FieldMeta::new("at", FieldType::DateTime);
/// let stored = Value::DateTime(throughline::value::parse_datetime("2026-01-02 03:04:05.678901").unwrap());
/// let kept = throughline_admin::fields::parse_keeping(&at, Some("2026-01-02T03:04:05"), Some(&stored));
/// assert_eq!(kept, Ok(stored));
/// ```
pub fn parse_keeping(
    field: &FieldMeta,
    sent: Option<&str>,
    stored: Option<&Value>,
) -> Result<Value, String> {
    if let (Some(stored), Some(text)) = (stored, sent)
        && field.ty != FieldType::Bool
        && form_text(field, stored) == text.trim()
    {
        return Ok(stored.clone());
    }
    parse(field, sent)
}

/// A key from text (a URL segment, a select's value) at the type of `field`, the
/// primary key or a foreign key's target key; `None` if it cannot be one.
///
/// ```
/// use throughline::{FieldMeta, FieldType, Value};
/// let id = FieldMeta::new("id", FieldType::AutoI64);
/// assert_eq!(throughline_admin::fields::parse_key(&id, "12"), Some(Value::I64(12)));
/// assert_eq!(throughline_admin::fields::parse_key(&id, "1 OR 1=1"), None);
/// ```
pub fn parse_key(field: &FieldMeta, text: &str) -> Option<Value> {
    let mut key_field = field.clone();
    key_field.ty = field.ty.as_reference();
    key_field.nullable = false;
    key_field.choices.clear();
    key_field.blank = false;
    match key_field.ty {
        FieldType::String { .. } if text.is_empty() => None,
        _ => parse(&key_field, Some(text)).ok(),
    }
}

/// Percent-encodes a URL path segment (a key of text may hold `/`, `?`, spaces).
///
/// ```
/// assert_eq!(throughline_admin::fields::url_encode("a b/c"), "a%20b%2Fc");
/// ```
pub fn url_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The value stored for a choice: text, or an integer for an integer field.
fn choice_value(field: &FieldMeta, stored: &str) -> Value {
    match field.ty {
        FieldType::I16 | FieldType::I32 | FieldType::I64 => stored
            .parse::<i64>()
            .map(|v| Value::I64(v).coerce(field.ty))
            .unwrap_or_else(|_| Value::from(stored)),
        _ => Value::from(stored),
    }
}

fn parse_int(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .map_err(|_| "Enter a whole number.".to_owned())
}

fn out_of_range(min: i64, max: i64) -> String {
    format!("Ensure this value is between {min} and {max}.")
}

fn uuid_value(text: &str) -> Result<Value, String> {
    // The UUID's own parser, through the value's canonical form.
    match Value::from(text).coerce(FieldType::Uuid) {
        value @ Value::Uuid(_) => Ok(value),
        _ => Err("Enter a valid UUID.".into()),
    }
}

/// A `datetime-local` input's text (`YYYY-MM-DDTHH:MM[:SS]`), read as UTC, or any text
/// form the database stores.
fn parse_datetime_local(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    throughline::value::parse_datetime(text)
}
