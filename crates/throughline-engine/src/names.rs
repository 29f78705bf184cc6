//! Owns the interning of relation names built at run time. A relation found by name in a
//! registry ([`crate::Relation::find`]) is named `Model.accessor`, and hooks report that
//! name as `&'static str` (as the typed shell's generated constants give it); each
//! distinct name is allocated once for the life of the process, so the memory held is
//! bounded by the number of relations.

use std::collections::HashSet;
use std::sync::Mutex;

static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// The `'static` copy of `name`, allocated the first time it is seen.
pub(crate) fn intern(name: String) -> &'static str {
    let mut names = match NAMES.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}
