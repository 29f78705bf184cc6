//! Relation keys: reading them from saved instances, hashing them without allocating
//! (integers of any width as one `i64`), and splitting a wanted set against the linked one.

use super::write::{Items, Values};
use crate::Model;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use throughline_core::{Error, FieldType, Result, Value};
use throughline_db::Row;

/// The key of a saved `target`; an unsaved one (no key yet) cannot be linked.
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

/// The keys of saved `targets`, in order.
pub(super) fn keys_of<'t, T: Model>(
    targets: impl IntoIterator<Item = &'t T>,
) -> Result<Vec<Value>> {
    targets.into_iter().map(saved_key).collect()
}

/// The keys of saved `targets`, each with the call's `values` (shared, not copied).
pub(super) fn items_of<'t, T: Model>(
    targets: impl IntoIterator<Item = &'t T>,
    values: Values,
) -> Result<Items> {
    targets
        .into_iter()
        .map(|t| Ok((saved_key(t)?, values.clone())))
        .collect()
}

/// Splits wanted targets against existing ones: (kept, to add, to remove). Integer keys
/// (the usual case) are hashed as plain `i64`s.
pub(super) fn split(wanted: &[Value], existing: &[Value]) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    if wanted.iter().chain(existing).all(|k| k.as_i64().is_some()) {
        split_by(wanted, existing, |k| k.as_i64().unwrap_or_default())
    } else {
        split_by(wanted, existing, KeyBuf::of)
    }
}

/// [`split`] with keys hashed as `key` gives them.
fn split_by<K: Hash + Eq>(
    wanted: &[Value],
    existing: &[Value],
    key: impl Fn(&Value) -> K,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
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
    let mut seen: KeyMap<K, Seen> = KeyMap::default();
    seen.reserve(existing.len() + wanted.len() / 8);
    for k in existing {
        seen.insert(key(k), Seen::Linked);
    }
    let mut kept = Vec::new();
    let mut add = Vec::new();
    for k in wanted {
        match seen.entry(key(k)) {
            Entry::Vacant(slot) => {
                slot.insert(Seen::Added);
                add.push(k.clone());
            }
            Entry::Occupied(mut slot) => {
                if *slot.get() == Seen::Linked {
                    slot.insert(Seen::Kept);
                    kept.push(k.clone());
                }
            }
        }
    }
    let remove = existing
        .iter()
        .filter(|k| match seen.get_mut(&key(k)) {
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

/// Reads column `index` of `row`, a key column of type `ty`, as a hashable key (an integer
/// column straight into the key, without a [`Value`] in between). A column of another
/// integer width than declared (a legacy PostgreSQL schema: an `integer` column referring
/// to a `bigint` key) is read as [`Row::value_as`] reads it: widened, or narrowed when it
/// fits.
#[inline]
pub(super) fn read_key(row: &Row<'_>, index: usize, ty: FieldType) -> Result<KeyBuf> {
    let int = match ty.as_reference() {
        FieldType::I64 => row.get::<i64>(index),
        FieldType::I32 => row.get::<i32>(index).map(i64::from),
        FieldType::I16 => row.get::<i16>(index).map(i64::from),
        _ => return Ok(KeyBuf::of(&row.value_as(index, ty)?)),
    };
    match int {
        Ok(key) => Ok(KeyBuf::Int(key)),
        Err(_) => Ok(KeyBuf::of(&row.value_as(index, ty)?)),
    }
}

/// A set of the keys of one column. Integer keys (the usual case) are kept as `i64`: 8 bytes
/// and one hash write each, as hand-written code keeps them; a column of other keys (text,
/// UUIDs) as [`KeyBuf`]s. Equality is [`KeyBuf`]'s: an integer never equals a text.
pub(super) enum KeyIndex {
    /// Integer keys only.
    Ints(KeySet<i64>),
    /// Any keys, once one was not an integer.
    Any(KeySet<KeyBuf>),
}

impl KeyIndex {
    /// An empty set with room for `capacity` integer keys.
    pub(super) fn with_capacity(capacity: usize) -> KeyIndex {
        KeyIndex::Ints(key_set(capacity))
    }

    /// Adds `key`; `false` if it was there already.
    pub(super) fn insert(&mut self, key: KeyBuf) -> bool {
        match (&mut *self, key) {
            (KeyIndex::Ints(set), KeyBuf::Int(v)) => set.insert(v),
            (KeyIndex::Any(set), key) => set.insert(key),
            (KeyIndex::Ints(ints), key) => {
                let mut any: KeySet<KeyBuf> = key_set(ints.len() + 1);
                any.extend(ints.drain().map(KeyBuf::Int));
                let inserted = any.insert(key);
                *self = KeyIndex::Any(any);
                inserted
            }
        }
    }

    /// Whether `key` is in the set.
    pub(super) fn contains(&self, key: &Value) -> bool {
        match (self, key.as_i64()) {
            (KeyIndex::Ints(set), Some(v)) => set.contains(&v),
            (KeyIndex::Ints(_), None) => false,
            (KeyIndex::Any(set), _) => set.contains(&KeyBuf::of(key)),
        }
    }

    /// How many keys the set holds.
    pub(super) fn len(&self) -> usize {
        match self {
            KeyIndex::Ints(set) => set.len(),
            KeyIndex::Any(set) => set.len(),
        }
    }
}

/// The links an insert created, to tell which requested targets were newly linked.
#[derive(Default)]
pub(super) struct Inserted {
    /// Rows inserted in groups that share one key: that key, whether the key that varies
    /// is the rows' source (the mirror rows of a symmetrical relation), and the varying
    /// keys returned.
    groups: Vec<(KeyBuf, bool, KeyIndex)>,
    /// Rows inserted one by one, as (source, target).
    pairs: KeySet<(KeyBuf, KeyBuf)>,
}

impl Inserted {
    /// Records a group of rows sharing `constant`, whose `varying` keys were inserted.
    pub(super) fn group(&mut self, constant: KeyBuf, varying_is_source: bool, varying: KeyIndex) {
        self.groups.push((constant, varying_is_source, varying));
    }

    /// Records one inserted row.
    pub(super) fn pair(&mut self, source: KeyBuf, target: KeyBuf) {
        self.pairs.insert((source, target));
    }

    /// How many links were inserted.
    pub(super) fn len(&self) -> usize {
        self.pairs.len()
            + self
                .groups
                .iter()
                .map(|(.., keys)| keys.len())
                .sum::<usize>()
    }

    /// Whether the link from `source` to `target` was inserted.
    pub(super) fn contains(&self, source: &Value, target: &Value) -> bool {
        let in_group = self
            .groups
            .iter()
            .any(|(constant, varying_is_source, keys)| {
                if *varying_is_source {
                    constant.is(target) && keys.contains(source)
                } else {
                    constant.is(source) && keys.contains(target)
                }
            });
        in_group
            || (!self.pairs.is_empty()
                && self
                    .pairs
                    .contains(&(KeyBuf::of(source), KeyBuf::of(target))))
    }
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
