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

/// The keys of saved `targets`, in order.
pub(crate) fn keys_of<'t, T: Model>(
    targets: impl IntoIterator<Item = &'t T>,
) -> Result<Vec<Value>> {
    targets.into_iter().map(saved_key).collect()
}
