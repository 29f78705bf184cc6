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
pub type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`KeySet`] with room for `capacity` keys.
pub fn key_set<K>(capacity: usize) -> KeySet<K> {
    KeySet::with_capacity_and_hasher(capacity, Default::default())
}
