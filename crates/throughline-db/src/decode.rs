//! Owns [`Decode`]: reading one column of a [`Row`] straight into a Rust value, per
//! backend, without going through [`Value`] (the typed read path, SPEC §8.7). `Value`
//! itself also decodes, for the dynamic core.

use crate::conn::Row;
use chrono::{DateTime, NaiveDate, Utc};
#[cfg(feature = "mysql")]
use mysql_columns::*;
#[cfg(feature = "postgres")]
use postgres_columns::*;
#[cfg(feature = "sqlite")]
use sqlite_columns::*;
use throughline_core::{Error, FieldType, Result, Value};

/// A Rust type that can be read from a column.
pub trait Decode: Sized {
    /// Reads column `index` of `row`.
    fn decode(row: &Row<'_>, index: usize) -> Result<Self>;

    /// Reads column `index` of `row`, NULL as `None`. The default asks whether the
    /// column is NULL and then decodes it; the integer and text types override it to read
    /// the column once.
    #[inline]
    fn decode_option(row: &Row<'_>, index: usize) -> Result<Option<Self>> {
        if is_null(row, index)? {
            Ok(None)
        } else {
            Self::decode(row, index).map(Some)
        }
    }
}

#[cold]
fn decode_error(index: usize, reason: impl std::fmt::Display) -> Error {
    Error::Decode {
        column: index.to_string(),
        reason: reason.to_string(),
    }
}

/// Reading SQLite columns.
#[cfg(feature = "sqlite")]
mod sqlite_columns {
    use super::decode_error;
    pub(super) use rusqlite::types::ValueRef;
    use throughline_core::Result;
    pub(super) use throughline_core::value::parse_datetime;

    #[inline]
    pub(super) fn sqlite_ref<'a>(row: &'a rusqlite::Row<'a>, index: usize) -> Result<ValueRef<'a>> {
        row.get_ref(index).map_err(|e| decode_error(index, e))
    }

    #[inline]
    pub(super) fn sqlite_text<'a>(value: ValueRef<'a>, index: usize) -> Result<&'a str> {
        match value {
            ValueRef::Text(bytes) => std::str::from_utf8(bytes).map_err(|e| decode_error(index, e)),
            other => Err(decode_error(
                index,
                format!("expected text, found {:?}", other.data_type()),
            )),
        }
    }

    #[inline]
    pub(super) fn sqlite_int(value: ValueRef<'_>, index: usize) -> Result<i64> {
        match value {
            ValueRef::Integer(v) => Ok(v),
            other => Err(decode_error(
                index,
                format!("expected integer, found {:?}", other.data_type()),
            )),
        }
    }
}

/// Reading PostgreSQL columns.
#[cfg(feature = "postgres")]
mod postgres_columns {
    use super::decode_error;
    use throughline_core::Result;

    #[inline]
    pub(super) fn pg_get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        index: usize,
    ) -> Result<T> {
        row.try_get(index).map_err(|e| decode_error(index, e))
    }

    /// Accepts any PostgreSQL type, only to learn whether the column is NULL.
    pub(super) struct RawPresence;

    impl<'a> tokio_postgres::types::FromSql<'a> for RawPresence {
        fn from_sql(
            _: &tokio_postgres::types::Type,
            _: &'a [u8],
        ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(RawPresence)
        }
        fn accepts(_: &tokio_postgres::types::Type) -> bool {
            true
        }
    }
}

/// Reading MySQL/MariaDB columns (the binary protocol's typed values, through sqlx).
#[cfg(feature = "mysql")]
mod mysql_columns {
    use super::decode_error;
    use sqlx_mysql::{MySql, MySqlRow};
    use throughline_core::{Result, Value};

    /// Column `index` as `T`.
    #[inline]
    pub(super) fn my_get<'r, T>(row: &'r MySqlRow, index: usize) -> Result<T>
    where
        T: sqlx_core::decode::Decode<'r, MySql> + sqlx_core::types::Type<MySql>,
    {
        sqlx_core::row::Row::try_get::<T, _>(row, index).map_err(|e| decode_error(index, e))
    }

    /// Column `index` as an integer of the width of `T` (any integer column).
    #[inline]
    pub(super) fn my_int<T: TryFrom<i64>>(row: &MySqlRow, index: usize) -> Result<Option<T>>
    where
        T::Error: std::fmt::Display,
    {
        match my_get::<Option<i64>>(row, index)? {
            None => Ok(None),
            Some(v) => T::try_from(v).map(Some).map_err(|e| decode_error(index, e)),
        }
    }

    /// Column `index` parsed from its text (JSON documents, UUIDs).
    pub(super) fn my_parsed<T, E: std::fmt::Display>(
        row: &MySqlRow,
        index: usize,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let text: &str = my_get(row, index)?;
        parse(text).map_err(|e| decode_error(index, e))
    }

    /// Column `index` as an untyped value, by the column's type.
    pub(super) fn my_value(row: &MySqlRow, index: usize) -> Result<Value> {
        use sqlx_core::type_info::TypeInfo;
        use sqlx_core::value::ValueRef;
        let raw =
            sqlx_core::row::Row::try_get_raw(row, index).map_err(|e| decode_error(index, e))?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let name = raw.type_info().name().to_owned();
        Ok(match name.as_str() {
            "BOOLEAN" => Value::Bool(my_get(row, index)?),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "TINYINT UNSIGNED"
            | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => {
                Value::I64(my_get(row, index)?)
            }
            "FLOAT" | "DOUBLE" => Value::F64(my_get(row, index)?),
            "DECIMAL" => Value::Decimal(my_get(row, index)?),
            "DATE" => Value::Date(my_get(row, index)?),
            "DATETIME" | "TIMESTAMP" => {
                Value::DateTime(my_get::<chrono::NaiveDateTime>(row, index)?.and_utc())
            }
            // Text in a binary collation (utf8mb4_nopad_bin, how throughline creates tables)
            // is flagged binary: it is text unless its character set is `binary`.
            "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                match sqlx_core::row::Row::try_get::<String, _>(row, index) {
                    Ok(text) => Value::String(text),
                    Err(_) => Value::Bytes(my_get(row, index)?),
                }
            }
            _ => Value::String(my_get(row, index)?),
        })
    }
}

macro_rules! decode_int {
    ($($ty:ty),*) => {$(
        impl Decode for $ty {
            #[inline]
            fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
                match row {
                    #[cfg(feature = "sqlite")]
                    Row::Sqlite(r) => {
                        let v = sqlite_int(sqlite_ref(r, index)?, index)?;
                        <$ty>::try_from(v).map_err(|e| decode_error(index, e))
                    }
                    #[cfg(feature = "postgres")]
                    Row::Postgres(r) => pg_get::<$ty>(r, index),
                    #[cfg(feature = "mysql")]
                    Row::Mysql(r) => my_int::<$ty>(r, index)?
                        .ok_or_else(|| decode_error(index, "unexpected NULL")),
                }
            }

            #[inline]
            fn decode_option(row: &Row<'_>, index: usize) -> Result<Option<Self>> {
                match row {
                    #[cfg(feature = "sqlite")]
                    Row::Sqlite(r) => match sqlite_ref(r, index)? {
                        ValueRef::Null => Ok(None),
                        value => <$ty>::try_from(sqlite_int(value, index)?)
                            .map(Some)
                            .map_err(|e| decode_error(index, e)),
                    },
                    #[cfg(feature = "postgres")]
                    Row::Postgres(r) => pg_get::<Option<$ty>>(r, index),
                    #[cfg(feature = "mysql")]
                    Row::Mysql(r) => my_int::<$ty>(r, index),
                }
            }
        }
    )*};
}
decode_int!(i16, i32, i64);

impl Decode for f64 {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => match sqlite_ref(r, index)? {
                ValueRef::Real(v) => Ok(v),
                ValueRef::Integer(v) => Ok(v as f64),
                other => Err(decode_error(
                    index,
                    format!("expected real, found {:?}", other.data_type()),
                )),
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<f64>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<f64>(r, index),
        }
    }
}

impl Decode for bool {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => Ok(sqlite_int(sqlite_ref(r, index)?, index)? != 0),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<bool>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<bool>(r, index),
        }
    }
}

impl Decode for String {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => Ok(sqlite_text(sqlite_ref(r, index)?, index)?.to_owned()),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<String>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<String>(r, index),
        }
    }

    #[inline]
    fn decode_option(row: &Row<'_>, index: usize) -> Result<Option<Self>> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => match sqlite_ref(r, index)? {
                ValueRef::Null => Ok(None),
                value => Ok(Some(sqlite_text(value, index)?.to_owned())),
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<Option<String>>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<Option<String>>(r, index),
        }
    }
}

impl Decode for Vec<u8> {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => match sqlite_ref(r, index)? {
                ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
                other => Err(decode_error(
                    index,
                    format!("expected blob, found {:?}", other.data_type()),
                )),
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<Vec<u8>>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<Vec<u8>>(r, index),
        }
    }
}

impl Decode for NaiveDate {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => {
                let text = sqlite_text(sqlite_ref(r, index)?, index)?;
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| decode_error(index, e))
            }
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<NaiveDate>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<NaiveDate>(r, index),
        }
    }
}

impl Decode for DateTime<Utc> {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => {
                let text = sqlite_text(sqlite_ref(r, index)?, index)?;
                parse_datetime(text)
                    .ok_or_else(|| decode_error(index, format!("bad datetime {text:?}")))
            }
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<DateTime<Utc>>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<chrono::NaiveDateTime>(r, index).map(|t| t.and_utc()),
        }
    }
}

impl Decode for serde_json::Value {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => {
                let text = sqlite_text(sqlite_ref(r, index)?, index)?;
                serde_json::from_str(text).map_err(|e| decode_error(index, e))
            }
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<serde_json::Value>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_parsed(r, index, |text| {
                serde_json::from_str::<serde_json::Value>(text)
            }),
        }
    }
}

impl Decode for uuid::Uuid {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => match sqlite_ref(r, index)? {
                ValueRef::Blob(b) => uuid::Uuid::from_slice(b).map_err(|e| decode_error(index, e)),
                other => {
                    let text = sqlite_text(other, index)?;
                    uuid::Uuid::parse_str(text).map_err(|e| decode_error(index, e))
                }
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<uuid::Uuid>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_parsed(r, index, uuid::Uuid::parse_str),
        }
    }
}

impl Decode for throughline_core::Decimal {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            // Text as throughline stores it; a number as SQLite's own NUMERIC affinity (a
            // Django database) or its floating-point aggregates leave it.
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => match sqlite_ref(r, index)? {
                ValueRef::Integer(v) => Ok(v.into()),
                ValueRef::Real(v) => throughline_core::value::decimal_from_f64(v)
                    .ok_or_else(|| decode_error(index, format!("{v} is not a decimal"))),
                other => {
                    let text = sqlite_text(other, index)?;
                    throughline_core::value::parse_decimal(text)
                        .ok_or_else(|| decode_error(index, format!("bad decimal {text:?}")))
                }
            },
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => pg_get::<throughline_core::Decimal>(r, index),
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_get::<throughline_core::Decimal>(r, index),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    #[inline]
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        T::decode_option(row, index)
    }
}

/// Whether column `index` of `row` is NULL, without decoding it.
#[inline]
pub(crate) fn is_null(row: &Row<'_>, index: usize) -> Result<bool> {
    Ok(match row {
        #[cfg(feature = "sqlite")]
        Row::Sqlite(r) => matches!(sqlite_ref(r, index)?, ValueRef::Null),
        #[cfg(feature = "postgres")]
        Row::Postgres(r) => {
            let raw: Option<RawPresence> = pg_get(r, index)?;
            raw.is_none()
        }
        #[cfg(feature = "mysql")]
        Row::Mysql(r) => {
            use sqlx_core::value::ValueRef;
            sqlx_core::row::Row::try_get_raw(*r, index)
                .map_err(|e| decode_error(index, e))?
                .is_null()
        }
    })
}

impl Decode for Value {
    fn decode(row: &Row<'_>, index: usize) -> Result<Self> {
        match row {
            #[cfg(feature = "sqlite")]
            Row::Sqlite(r) => Ok(match sqlite_ref(r, index)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::I64(v),
                ValueRef::Real(v) => Value::F64(v),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
            }),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => {
                use tokio_postgres::types::Type;
                let ty = r
                    .columns()
                    .get(index)
                    .map(|c| c.type_().clone())
                    .ok_or_else(|| decode_error(index, "no such column"))?;
                let value = match ty {
                    Type::BOOL => pg_get::<Option<bool>>(r, index)?.into(),
                    Type::INT2 => pg_get::<Option<i16>>(r, index)?.into(),
                    Type::INT4 => pg_get::<Option<i32>>(r, index)?.into(),
                    Type::INT8 => pg_get::<Option<i64>>(r, index)?.into(),
                    Type::FLOAT8 => pg_get::<Option<f64>>(r, index)?.into(),
                    Type::FLOAT4 => pg_get::<Option<f32>>(r, index)?.map(f64::from).into(),
                    Type::BYTEA => pg_get::<Option<Vec<u8>>>(r, index)?.into(),
                    Type::DATE => pg_get::<Option<NaiveDate>>(r, index)?.into(),
                    Type::TIMESTAMPTZ => pg_get::<Option<DateTime<Utc>>>(r, index)?.into(),
                    Type::TIMESTAMP => pg_get::<Option<chrono::NaiveDateTime>>(r, index)?
                        .map(|t| t.and_utc())
                        .into(),
                    Type::JSON | Type::JSONB => {
                        pg_get::<Option<serde_json::Value>>(r, index)?.into()
                    }
                    Type::UUID => pg_get::<Option<uuid::Uuid>>(r, index)?.into(),
                    Type::NUMERIC => pg_get::<Option<throughline_core::Decimal>>(r, index)?.into(),
                    _ => pg_get::<Option<String>>(r, index)?.into(),
                };
                Ok(value)
            }
            #[cfg(feature = "mysql")]
            Row::Mysql(r) => my_value(r, index),
        }
    }
}

/// Reads column `index` as a value of the declared type `ty` (a key, mostly): on
/// PostgreSQL the column's type is not looked up and matched per row as [`Value`]'s own
/// decoding must, and on both backends an integer comes back at its declared width.
/// Types without a faster path decode as [`Value`] does, and so does a PostgreSQL column
/// whose type differs from the declared one (an `integer` foreign key to a `bigint` key in
/// a legacy schema), its integer then brought to the declared width.
#[inline]
pub(crate) fn typed_value(row: &Row<'_>, index: usize, ty: FieldType) -> Result<Value> {
    let ty = ty.as_reference();
    match row {
        #[cfg(feature = "postgres")]
        Row::Postgres(r) => {
            let typed = match ty {
                FieldType::I64 => r.try_get::<_, Option<i64>>(index).map(Value::from),
                FieldType::I32 => r.try_get::<_, Option<i32>>(index).map(Value::from),
                FieldType::I16 => r.try_get::<_, Option<i16>>(index).map(Value::from),
                FieldType::String { .. } => r.try_get::<_, Option<String>>(index).map(Value::from),
                FieldType::Uuid => r.try_get::<_, Option<uuid::Uuid>>(index).map(Value::from),
                _ => return Value::decode(row, index),
            };
            match typed {
                Ok(value) => Ok(value),
                Err(_) => at_width(Value::decode(row, index)?, ty, index),
            }
        }
        #[cfg(feature = "sqlite")]
        Row::Sqlite(r) => match (ty, sqlite_ref(r, index)?) {
            (_, ValueRef::Null) => Ok(Value::Null),
            (FieldType::I64, value) => Ok(Value::I64(sqlite_int(value, index)?)),
            (FieldType::I32 | FieldType::I16, value) => {
                at_width(Value::I64(sqlite_int(value, index)?), ty, index)
            }
            (FieldType::Uuid, _) => uuid::Uuid::decode(row, index).map(Value::Uuid),
            // SQLite returns the text as written: brought to the field's places, as the
            // other backends' `numeric(p, s)` return it.
            (FieldType::Decimal { decimal_places, .. }, _) => {
                throughline_core::Decimal::decode(row, index).map(|mut d| {
                    d.rescale(u32::from(decimal_places));
                    Value::Decimal(d)
                })
            }
            _ => Value::decode(row, index),
        },
        #[cfg(feature = "mysql")]
        Row::Mysql(r) => {
            if is_null(row, index)? {
                return Ok(Value::Null);
            }
            match ty {
                FieldType::I64 | FieldType::I32 | FieldType::I16 => {
                    at_width(Value::from(my_int::<i64>(r, index)?), ty, index)
                }
                FieldType::Bool => bool::decode(row, index).map(Value::Bool),
                FieldType::F64 => f64::decode(row, index).map(Value::F64),
                FieldType::String { .. } => String::decode(row, index).map(Value::String),
                FieldType::Date => NaiveDate::decode(row, index).map(Value::Date),
                FieldType::DateTime => DateTime::<Utc>::decode(row, index).map(Value::DateTime),
                FieldType::Json => serde_json::Value::decode(row, index).map(Value::Json),
                FieldType::Uuid => uuid::Uuid::decode(row, index).map(Value::Uuid),
                FieldType::Bytes => Vec::<u8>::decode(row, index).map(Value::Bytes),
                FieldType::Decimal { .. } => {
                    throughline_core::Decimal::decode(row, index).map(Value::Decimal)
                }
                FieldType::AutoI64 => Value::decode(row, index),
            }
        }
    }
}

/// An integer `value` at the width of `ty` (an error if it does not fit); other values as
/// they are.
fn at_width(value: Value, ty: FieldType, index: usize) -> Result<Value> {
    let Some(v) = value.as_i64() else {
        return Ok(value);
    };
    let narrowed = match ty {
        FieldType::I64 => Ok(Value::I64(v)),
        FieldType::I32 => i32::try_from(v).map(Value::I32),
        FieldType::I16 => i16::try_from(v).map(Value::I16),
        _ => return Ok(value),
    };
    narrowed.map_err(|e| decode_error(index, e))
}
