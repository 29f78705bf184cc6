//! Rebuilds the crate when an admin migration is added or removed: `embed_migrations!`
//! compiles the files of `migrations/` into it, and cargo tracks a new file only through
//! the folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
