//! The standalone `throughline` command: what needs no models (`migrate`, `showmigrations`,
//! `sqlmigrate`). `makemigrations` and `check` need the application's models: call
//! `throughline_cli::main_with(Some(&registry))` from the application's own binary.

fn main() -> std::process::ExitCode {
    throughline_cli::main_with(None)
}
