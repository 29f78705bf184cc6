//! The example's management command, as Django's `manage.py`: the throughline CLI with the
//! blog's models and its migrations embedded in the binary (`embed_migrations!`), so that
//! `makemigrations` and `check` see the models and `migrate` works from any directory.
//!
//! `cargo run -p school --bin manage -- makemigrations --dry-run`

// The example binary uses the rest of the module.
#[allow(dead_code)]
#[path = "../blog.rs"]
mod blog;

fn main() -> std::process::ExitCode {
    throughline_cli::main_with_migrations(Some(&blog::registry()), blog::MIGRATIONS)
}
