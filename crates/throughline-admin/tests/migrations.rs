//! The admin's migrations create exactly its models: replaying `migrations/` and diffing
//! against the models finds nothing to do. To write the next migration after changing a
//! model: `THROUGHLINE_ADMIN_MAKEMIGRATIONS=1 cargo test -p throughline-admin --test migrations`.

use throughline::migrations::{self, Hints, Migration, ProjectState};

#[test]
fn migrations_match_models() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
    let existing = migrations::load(dir).expect("admin migrations load");
    let from = migrations::replay(&existing).expect("admin migrations replay");
    let to = ProjectState::from_registry(&throughline_admin::models::registry());
    let detection = migrations::detect(&from, &to, &Hints::default());
    assert!(detection.is_complete(), "{:?}", detection.refused);
    if detection.operations.is_empty() {
        return;
    }
    if std::env::var("THROUGHLINE_ADMIN_MAKEMIGRATIONS").is_ok() {
        let name = format!(
            "admin_{}",
            migrations::next_name(&existing, &detection.operations, None)
        );
        let migration = Migration {
            name,
            dependencies: existing
                .last()
                .map(|m| m.name.clone())
                .into_iter()
                .collect(),
            operations: detection.operations,
        };
        migrations::write(dir, &migration).expect("write the migration");
        return;
    }
    panic!(
        "the admin's models changed without a migration: {:?}",
        detection.operations
    );
}
