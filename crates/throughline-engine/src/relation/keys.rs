//! Relation keys of a write: reading them from returned rows, the integer-only key index,
//! the links an insert created, and splitting a wanted set against the linked one.

use crate::keys::{KeyMap, KeySet, key_set};
use std::hash::Hash;
use throughline_core::{FieldType, Key, Result, Value};
use throughline_db::Row;

/// Splits wanted targets against existing ones: (kept, to add, to remove). Integer keys
/// (the usual case) are hashed as plain `i64`s.
///
/// ```
/// # use throughline_core::Value;
/// # fn main() -> throughline_core::Result<()> {
/// let keys = |k: &[i64]| k.iter().map(|&k| Value::I64(k)).collect::<Vec<_>>();
/// let (kept, add, remove) = throughline_engine::split(&keys(&[1, 2, 3]), &keys(&[2, 3, 4]));
/// assert_eq!((kept, add, remove), (keys(&[2, 3]), keys(&[1]), keys(&[4])));
/// # Ok(()) }
/// ```
pub fn split(wanted: &[Value], existing: &[Value]) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    if wanted.iter().chain(existing).all(|k| k.as_i64().is_some()) {
        split_by(wanted, existing, |k| k.as_i64().unwrap_or_default())
    } else {
        split_by(wanted, existing, Key::of)
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
pub(super) fn read_key(row: &Row<'_>, index: usize, ty: FieldType) -> Result<Key> {
    let int = match ty.as_reference() {
        FieldType::I64 => row.get::<i64>(index),
        FieldType::I32 => row.get::<i32>(index).map(i64::from),
        FieldType::I16 => row.get::<i16>(index).map(i64::from),
        _ => return Ok(Key::of(&row.value_as(index, ty)?)),
    };
    match int {
        Ok(key) => Ok(Key::Int(key)),
        Err(_) => Ok(Key::of(&row.value_as(index, ty)?)),
    }
}

/// A set of the keys of one column. Integer keys (the usual case) are kept as `i64`: 8 bytes
/// and one hash write each, as hand-written code keeps them; a column of other keys (text,
/// UUIDs) as [`Key`]s. Equality is [`Key`]'s: an integer never equals a text.
pub(super) enum KeyIndex {
    /// Integer keys only.
    Ints(KeySet<i64>),
    /// Any keys, once one was not an integer.
    Any(KeySet<Key>),
}

impl KeyIndex {
    /// An empty set with room for `capacity` integer keys.
    pub(super) fn with_capacity(capacity: usize) -> KeyIndex {
        KeyIndex::Ints(key_set(capacity))
    }

    /// Adds `key`; `false` if it was there already.
    pub(super) fn insert(&mut self, key: Key) -> bool {
        match (&mut *self, key) {
            (KeyIndex::Ints(set), Key::Int(v)) => set.insert(v),
            (KeyIndex::Any(set), key) => set.insert(key),
            (KeyIndex::Ints(ints), key) => {
                let mut any: KeySet<Key> = key_set(ints.len() + 1);
                any.extend(ints.drain().map(Key::Int));
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
            (KeyIndex::Any(set), _) => set.contains(&Key::of(key)),
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
    groups: Vec<(Key, bool, KeyIndex)>,
    /// Rows inserted one by one, as (source, target).
    pairs: KeySet<(Key, Key)>,
}

impl Inserted {
    /// Records a group of rows sharing `constant`, whose `varying` keys were inserted.
    pub(super) fn group(&mut self, constant: Key, varying_is_source: bool, varying: KeyIndex) {
        self.groups.push((constant, varying_is_source, varying));
    }

    /// Records one inserted row.
    pub(super) fn pair(&mut self, source: Key, target: Key) {
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
            || (!self.pairs.is_empty() && self.pairs.contains(&(Key::of(source), Key::of(target))))
    }
}
