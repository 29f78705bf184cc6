//! Owns the models of a crate other than the one referring to them: the throughline tests
//! declare foreign keys and many-to-many relations to [`Author`] and use their reverse
//! accessors (`author.books()`), which are generated as extension traits beside the
//! referring models because an inherent impl on a foreign type is refused (E0116).

use throughline::prelude::*;

/// An author, referred to by models of another crate.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"))]
pub struct Author {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The author's name.
    #[throughline(max_length = 100)]
    pub name: String,
}
