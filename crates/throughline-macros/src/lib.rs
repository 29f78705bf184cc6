//! The macros of throughline: `#[derive(Model)]`, `#[derive(Choices)]` and
//! `embed_migrations!` (the migration files compiled into the application's binary).
//!
//! `Model` reads the struct and its `#[throughline(...)]` attributes, reports mistakes at
//! compile time with a spanned error, and generates the `Model` implementation, one
//! `ModelMeta` (built once), typed field constants (`Student::NAME`), relation constants
//! (`Enrollment::STUDENT`), and the reverse side of each relation as an extension trait
//! implemented for the target (`EnrollmentStudentReverse` gives `Student::ENROLLMENTS` and
//! `student.enrollments()`).
//!
//! This file only declares the macros; each concept has its module: `attrs` (reading the
//! attributes), `model` (the `Model` derive), `relations` (foreign keys, reverse accessors,
//! many-to-many), `through` (through-model traits), `choices`, `embed`, `names`, `types`.
//! `expansion_tests` snapshots whole expansions.
//!
//! This is an internal crate: use the macros through the `throughline` facade.

mod attrs;
mod choices;
mod embed;
mod model;
mod names;
mod relations;
mod test_attr;
mod through;
mod types;

#[cfg(test)]
mod expansion_tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, LitStr, parse_macro_input};

/// Derives `throughline::Model` for a struct with named fields.
///
/// Struct attributes: `table = "..."`, `ordering("-field", ...)`,
/// `unique(name = "...", fields("a", "b"))`, `index(name = "...", fields("a"))`,
/// `verbose_name = "..."`, `verbose_name_plural = "..."`, `app = "..."` (the admin's
/// grouping; default: the crate's package name), `display("field", ...)` (the fields that
/// name an instance in the admin; default: "Course object (1)").
///
/// Field attributes: `primary_key`, `column = "..."`, `max_length = N`, `max_digits = N`
/// and `decimal_places = M` (both required on a `Decimal` field, N from 1 to 28, and
/// allowed on no other type), `unique`, `index`,
/// `default = <expr>`, `default_fn = path`, `auto_now_add`, `auto_now`,
/// `related_name = "..."`, `on_delete = "cascade" | "protect" | "restrict" | "set_null" |
/// "do_nothing"`, `to_field = "field"` (a foreign key to a unique field of the target
/// rather than its primary key, Django's `to_field`; a misspelled field does not compile),
/// `verbose_name = "..."`, `help_text = "..."`, `blank`, `editable = false`.
///
/// The reverse side of a relation (a foreign key's `related_name`, default `{model}_set`,
/// and a many-to-many's) is an extension trait declared beside the model, named
/// `{Model}{Relation}Reverse` (`EnrollmentStudentReverse`, `CourseStudentsReverse`) and
/// implemented for the target, which may be in another crate.
#[proc_macro_derive(Model, attributes(throughline))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Derives `throughline::Choices` (and `FieldValue`) for an enum of unit variants stored as
/// text. Variant attributes: `value = "..."` (default: the variant name in snake case),
/// `label = "..."` (default: the variant name). The default variant is marked `#[default]`
/// (with `#[derive(Default)]`) or `#[throughline(default)]`. The enum also gets serde's
/// `Serialize` and `Deserialize`, as its stored value (do not derive them too).
#[proc_macro_derive(Choices, attributes(throughline))]
pub fn derive_choices(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match choices::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Embeds an application's migration files in its binary: `embed_migrations!("migrations")`
/// lists the folder (relative to the crate's `CARGO_MANIFEST_DIR`) when the crate is
/// compiled and expands to a `throughline::migrations::files::EmbeddedMigrations` holding
/// every `*.json` file's name and contents (through `include_str!`, so an edited file
/// rebuilds the crate). A missing folder is a compile error (a misspelled path would
/// otherwise embed nothing, and `migrate` would find nothing to apply): create it, empty
/// with a `.gitkeep`, before the first `makemigrations`. Cargo does not see a *new* file by
/// itself: add a
/// `build.rs` with `println!("cargo:rerun-if-changed=migrations");`.
///
/// ```ignore
/// static MIGRATIONS: throughline::migrations::files::EmbeddedMigrations =
///     throughline::embed_migrations!("migrations");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let literal = parse_macro_input!(input as LitStr);
    match embed::expand(&literal) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// A test on a fresh database (as `#[sqlx::test]`): the `async fn` takes the
/// [`Database`](../throughline/struct.Database.html) and becomes a `#[test]` running on a
/// tokio runtime of its own. The database is SQLite in memory, or, when
/// `THROUGHLINE_TEST_DATABASE_URL` names a server, a PostgreSQL schema or a MySQL database
/// of the test's own, dropped when the test passes (kept when it fails). Arguments:
/// `migrations = MIGRATIONS` (a static from `embed_migrations!`, all applied) or
/// `tables = registry` (a function returning the `Registry` whose tables are created).
/// The body may return `()` or a `Result`, whose error fails the test.
///
/// ```ignore
/// #[throughline::test(tables = registry)]
/// async fn enrolling_twice_is_reported(db: Database) -> throughline::Result<()> {
///     let math = Course { id: None, title: "Math".into() }.create(&db).await?;
///     // ...
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match test_attr::expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}
