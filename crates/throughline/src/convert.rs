//! Owns the conversion of a dynamic [`Value`] into a Rust field type (returned keys, the
//! dynamic core), accepting the forms each backend returns (SQLite gives every integer as
//! `i64` and datetimes, dates, UUIDs and JSON as text).

use chrono::{DateTime, NaiveDate, Utc};
use throughline_core::value::parse_datetime;
use throughline_core::{Error, Result, Value};

/// A Rust type built from a [`Value`].
pub(crate) trait FromDynamic: Sized {
    fn from_dynamic(value: Value) -> Option<Self>;
}

pub(crate) fn from_value<T: FromDynamic>(value: Value) -> Result<T> {
    let kind = value.kind_name();
    T::from_dynamic(value).ok_or_else(|| Error::Decode {
        column: "value".to_owned(),
        reason: format!(
            "a {kind} value does not convert to {}",
            std::any::type_name::<T>()
        ),
    })
}

macro_rules! from_int {
    ($($ty:ty),*) => {$(
        impl FromDynamic for $ty {
            fn from_dynamic(value: Value) -> Option<Self> {
                value.as_i64().and_then(|v| <$ty>::try_from(v).ok())
            }
        }
    )*};
}
from_int!(i16, i32, i64);

impl FromDynamic for f64 {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::F64(v) => Some(v),
            other => other.as_i64().map(|v| v as f64),
        }
    }
}

impl FromDynamic for bool {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Bool(v) => Some(v),
            other => other.as_i64().map(|v| v != 0),
        }
    }
}

impl FromDynamic for String {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::String(v) => Some(v),
            _ => None,
        }
    }
}

impl FromDynamic for Vec<u8> {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Bytes(v) => Some(v),
            _ => None,
        }
    }
}

impl FromDynamic for NaiveDate {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Date(v) => Some(v),
            Value::String(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok(),
            _ => None,
        }
    }
}

impl FromDynamic for DateTime<Utc> {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::DateTime(v) => Some(v),
            Value::String(s) => parse_datetime(&s),
            _ => None,
        }
    }
}

impl FromDynamic for serde_json::Value {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Json(v) => Some(v),
            Value::String(s) => serde_json::from_str(&s).ok(),
            _ => None,
        }
    }
}

impl FromDynamic for throughline_core::Decimal {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Decimal(v) => Some(v),
            Value::String(s) => throughline_core::value::parse_decimal(&s),
            Value::F64(v) => throughline_core::value::decimal_from_f64(v),
            other => other.as_i64().map(Into::into),
        }
    }
}

impl FromDynamic for uuid::Uuid {
    fn from_dynamic(value: Value) -> Option<Self> {
        match value {
            Value::Uuid(v) => Some(v),
            Value::String(s) => uuid::Uuid::parse_str(&s).ok(),
            Value::Bytes(b) => uuid::Uuid::from_slice(&b).ok(),
            _ => None,
        }
    }
}
