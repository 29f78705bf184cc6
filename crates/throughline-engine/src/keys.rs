//! Owns the hashed collections of keys the engine and the typed shell share: [`KeySet`] and
//! [`KeyMap`], keyed with foldhash. The key itself is [`throughline_core::Key`].

use std::collections::{HashMap, HashSet};

/// A set of relation keys. Hashed with foldhash rather than the standard SipHash: a
/// relation write hashes every key of the call two or three times, and with SipHash that
/// was a tenth of a 10,000-target `set` (measured with callgrind). The seed is still random
/// per process.
///
/// ```
/// let mut seen = throughline_engine::keys::key_set(4);
/// assert!(seen.insert(throughline_core::Key::Int(1)));
/// assert!(!seen.insert(throughline_core::Key::Int(1)));
/// ```
pub type KeySet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A map from relation keys, hashed as [`KeySet`].
///
/// ```
/// # use throughline_core::{Key, Value};
/// # fn main() -> throughline_core::Result<()> {
/// let mut count: throughline_engine::keys::KeyMap<Key, usize> = Default::default();
/// for key in [Value::I64(1), Value::I64(2), Value::I64(1)] {
///     *count.entry(Key::of(&key)).or_default() += 1;
/// }
/// assert_eq!((count[&Key::Int(1)], count[&Key::Int(2)]), (2, 1));
/// # Ok(()) }
/// ```
pub type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`KeySet`] with room for `capacity` keys.
///
/// ```
/// # use throughline_core::{Key, Value};
/// # fn main() -> throughline_core::Result<()> {
/// let mut set = throughline_engine::keys::key_set(2);
/// assert!(set.is_empty() && set.capacity() >= 2);
/// set.insert(Key::of(&Value::I64(7)));
/// assert!(set.contains(&Key::Int(7)));
/// # Ok(()) }
/// ```
pub fn key_set<K>(capacity: usize) -> KeySet<K> {
    KeySet::with_capacity_and_hasher(capacity, Default::default())
}
