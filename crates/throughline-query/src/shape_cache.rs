//! Owns the cache of rendered SQL text by statement shape.
//!
//! Rendering with sea-query builds a statement tree and writes it out: about 13,000
//! instructions for a one-row insert, as much as SQLite then spends running it (counted with
//! callgrind, `benches/instructions.sh`). A statement whose parameters are exactly its
//! values, in order, renders the same text for every statement of the same shape (table,
//! columns, conflict handling, returned columns, row count, value kinds), so the text is
//! kept and only the parameters change. A shape is cached only after a rendering showed
//! that property (a value sea-query writes inline, or a `NaN`, keeps its shape uncached),
//! so a cached text is always the text sea-query would write. Written by hand: no crate
//! caches sea-query output, and the key is specific to our statements. Shapes are hashed
//! with foldhash (SipHash cost ~340 instructions a lookup, a tenth of a single relation
//! add's own work).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

/// Shapes kept at most; the cache is emptied when full (an application has a bounded number
/// of statement shapes, so this only bounds a pathological caller).
const CAPACITY: usize = 1024;

/// Read far more often than written: concurrent inserts share the read lock.
static TEXTS: LazyLock<RwLock<Texts>> = LazyLock::new(Default::default);

/// SQL texts by shape key.
type Texts = HashMap<Vec<u8>, Arc<str>, foldhash::fast::RandomState>;

/// The SQL text rendered before for `shape`, if any (shared, not copied).
pub(crate) fn get(shape: &[u8]) -> Option<Arc<str>> {
    let texts = TEXTS.read().unwrap_or_else(PoisonError::into_inner);
    texts.get(shape).cloned()
}

/// Keeps `sql` as the text of `shape`.
pub(crate) fn put(shape: Vec<u8>, sql: &Arc<str>) {
    let mut texts = TEXTS.write().unwrap_or_else(PoisonError::into_inner);
    if texts.len() >= CAPACITY {
        texts.clear();
    }
    texts.insert(shape, sql.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_and_returns_texts() {
        assert_eq!(get(b"test-shape-a"), None);
        put(b"test-shape-a".to_vec(), &Arc::from("SELECT 1"));
        assert_eq!(get(b"test-shape-a").as_deref(), Some("SELECT 1"));
    }
}
