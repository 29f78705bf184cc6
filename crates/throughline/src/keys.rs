//! Owns reading keys from typed instances: a saved instance's key (an unsaved one cannot
//! be linked), the keys of many, and the position of a key column for
//! [`Model::related_key`]. The key itself is [`throughline_core::Key`]; the hashed sets
//! are the engine's ([`throughline_engine::keys`]).

use crate::Model;
use throughline_core::{Error, Result, Value};

/// The position of field `field` among `M`'s fields (for [`Model::related_key`]).
pub(crate) fn key_column<M: Model>(field: &str) -> Result<usize> {
    M::meta()
        .field_index(field)
        .ok_or_else(|| Error::invalid_query(M::MODEL_NAME, format!("no field `{field}`")))
}

/// The key of a saved `target`; an unsaved one (no key yet) cannot be linked.
pub(crate) fn saved_key<T: Model>(target: &T) -> Result<Value> {
    let key = target.pk_value();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: T::MODEL_NAME.to_owned(),
            action: "linking it needs a saved row".to_owned(),
        });
    }
    Ok(key)
}

/// The value of `row` that keys referring to its field `referred` hold: that field's value
/// (a `to_field`), or its primary key (`None`). NULL when the row has none.
pub(crate) fn referred_value<T: Model>(row: &T, referred: Option<&str>) -> Value {
    match referred {
        Some(field) => row.field_value(field).unwrap_or(Value::Null),
        None => row.pk_value(),
    }
}

/// The value a saved `row` is linked by through a key referring to its field `referred`
/// (a `to_field`; `None`: its primary key). An unsaved row is [`Error::Unsaved`]; a NULL
/// referred value cannot be linked (a validation error naming the field and `relation`).
pub(crate) fn link_value<T: Model>(
    row: &T,
    referred: Option<&'static str>,
    relation: &str,
) -> Result<Value> {
    let key = saved_key(row)?;
    let Some(field) = referred else {
        return Ok(key);
    };
    let value = referred_value(row, Some(field));
    if value.is_null() {
        let meta = T::meta();
        return Err(throughline_engine::null_reference(
            meta,
            meta.field(field).unwrap_or_else(|| meta.pk()),
            relation,
        ));
    }
    Ok(value)
}
