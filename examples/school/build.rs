//! Rebuilds the example when a migration file is added or removed: `embed_migrations!`
//! compiles the files of `migrations/` into the binary, and cargo tracks a new file only
//! through the folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
