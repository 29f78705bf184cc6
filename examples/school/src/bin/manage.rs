//! The example's management command, as Django's `manage.py`: the throughline CLI with the
//! blog's models and migrations folder, so that `makemigrations` and `check` see them.
//!
//! `cargo run -p school --bin manage -- makemigrations --dry-run`

#[path = "../blog.rs"]
mod blog;

fn main() -> std::process::ExitCode {
    throughline_cli::main_with_dir(Some(&blog::registry()), Some(&blog::migrations_dir()))
}
