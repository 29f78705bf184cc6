//! Relation keys: reading them from saved instances, hashing them without allocating
//! (integers of any width as one `i64`), and splitting a wanted set against the linked one.

use crate::Model;
use std::collections::{HashMap, HashSet};
use throughline_core::{Error, Result, Value};

pub(super) fn saved_key<T: Model>(target: &T) -> Result<Value> {
    let key = target.pk_value();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: T::MODEL_NAME.to_owned(),
            action: "linking it needs a saved row".to_owned(),
        });
    }
    Ok(key)
}

pub(super) fn keys_of<'t, T: Model>(
    targets: impl IntoIterator<Item = &'t T>,
) -> Result<Vec<Value>> {
    targets.into_iter().map(saved_key).collect()
}

/// Splits wanted targets against existing ones: (kept, to add, to remove).
pub(super) fn split(wanted: &[Value], existing: &[Value]) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    use std::collections::hash_map::Entry;
    /// Where a key stands, in one map over both lists (one hash table instead of three).
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        /// Linked, not (yet) wanted.
        Linked,
        /// Linked and wanted: kept.
        Kept,
        /// Wanted and not linked: added.
        Added,
        /// Linked, not wanted, listed for removal.
        Removed,
    }
    let mut seen: KeyMap<KeyBuf, Seen> = KeyMap::default();
    seen.reserve(existing.len() + wanted.len() / 8);
    for key in existing {
        seen.insert(KeyBuf::of(key), Seen::Linked);
    }
    let mut kept = Vec::new();
    let mut add = Vec::new();
    for key in wanted {
        match seen.entry(KeyBuf::of(key)) {
            Entry::Vacant(slot) => {
                slot.insert(Seen::Added);
                add.push(key.clone());
            }
            Entry::Occupied(mut slot) => {
                if *slot.get() == Seen::Linked {
                    slot.insert(Seen::Kept);
                    kept.push(key.clone());
                }
            }
        }
    }
    let remove = existing
        .iter()
        .filter(|k| match seen.get_mut(&KeyBuf::of(k)) {
            Some(state) if *state == Seen::Linked => {
                *state = Seen::Removed;
                true
            }
            _ => false,
        })
        .cloned()
        .collect();
    (kept, add, remove)
}

/// A set of relation keys. Hashed with foldhash rather than the standard SipHash: a
/// relation write hashes every key of the call two or three times, and with SipHash that
/// was a tenth of a 10,000-target `set` (measured with callgrind). The seed is still random
/// per process.
pub(crate) type KeySet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A map from relation keys, hashed as [`KeySet`].
pub(crate) type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`KeySet`] with room for `capacity` keys.
pub(crate) fn key_set<K>(capacity: usize) -> KeySet<K> {
    KeySet::with_capacity_and_hasher(capacity, Default::default())
}

/// The position of field `field` among `M`'s fields (for [`Model::related_key`]).
pub(crate) fn key_column<M: Model>(field: &str) -> Result<usize> {
    M::meta()
        .field_index(field)
        .ok_or_else(|| Error::invalid_query(M::MODEL_NAME, format!("no field `{field}`")))
}

/// A hashable key without allocating for integer keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyBuf {
    /// An integer key of any width.
    Int(i64),
    /// Any other key, as text.
    Text(String),
}

impl std::hash::Hash for KeyBuf {
    /// One write for an integer key (the derived hash writes the variant too; a relation
    /// write hashes every key of the call several times). An integer and a text that hash
    /// alike are still told apart by equality.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            KeyBuf::Int(v) => state.write_i64(*v),
            KeyBuf::Text(text) => text.hash(state),
        }
    }
}

/// Key equality with integers compared inline (the derived `PartialEq` of `Value` is a
/// call per key).
#[inline]
pub(crate) fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::I64(x), Value::I64(y)) => x == y,
        (Value::I32(x), Value::I32(y)) => x == y,
        _ => a == b,
    }
}

impl KeyBuf {
    pub(crate) fn of(value: &Value) -> KeyBuf {
        match value.as_i64() {
            Some(v) => KeyBuf::Int(v),
            None => KeyBuf::Text(value.display()),
        }
    }
}

/// A hashable form of a key (integers of any width compare equal).
pub(crate) fn key_text(value: &Value) -> String {
    match value.as_i64() {
        Some(v) => v.to_string(),
        None => value.display(),
    }
}
