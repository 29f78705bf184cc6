//! Owns the key forms shared across the crate: [`KeyBuf`] (a key hashed without
//! allocating, integers of any width as one `i64`), the foldhash-keyed sets and maps, key
//! equality and key text, and the position of a key column. Relation writes
//! ([`crate::m2m`]), prefetch grouping ([`crate::group`]) and hooks all use them; living
//! here, none of those modules imports another for them.

use crate::Model;
use std::collections::{HashMap, HashSet};
use throughline_core::{Error, Result, Value};

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
    /// The key of `value`.
    pub(crate) fn of(value: &Value) -> KeyBuf {
        match value.as_i64() {
            Some(v) => KeyBuf::Int(v),
            None => KeyBuf::Text(value.display()),
        }
    }

    /// Whether this is the key of `value` (without building that key for an integer).
    pub(crate) fn is(&self, value: &Value) -> bool {
        match (self, value.as_i64()) {
            (KeyBuf::Int(a), Some(b)) => *a == b,
            (KeyBuf::Text(text), None) => *text == value.display(),
            _ => false,
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
