//! Exists for the documentation's examples only, and is not API (hidden, free to change):
//! the metas of a tiny school, `Student(id, name)`, `Course(id, title)` with the
//! many-to-many `Course.students` (reverse `Student.courses`) through
//! `Enrollment(id, course, student, grade)` (a unique pair, `grade` defaulting to `""`),
//! and an in-memory SQLite database holding its tables.

use throughline_core::{
    DefaultValue, FieldMeta, FieldType, ForeignKeyMeta, ManyToManyMeta, ModelMeta, OnDelete,
    Registry, Result, UniqueConstraint, Value,
};
use throughline_db::Database;

fn leak(meta: ModelMeta) -> &'static ModelMeta {
    Box::leak(Box::new(meta))
}

fn pk() -> FieldMeta {
    let mut id = FieldMeta::new("id", FieldType::AutoI64);
    id.primary_key = true;
    id
}

fn string(name: &str, max_length: Option<u32>) -> FieldMeta {
    FieldMeta::new(name, FieldType::String { max_length })
}

fn foreign_key(name: &str, to: &str) -> FieldMeta {
    let mut field = FieldMeta::new(name, FieldType::I64);
    field.column = format!("{name}_id");
    field.foreign_key = Some(ForeignKeyMeta {
        to: to.into(),
        on_delete: OnDelete::Cascade,
        related_name: None,
        to_field: None,
    });
    field
}

/// The school's registry (its metas are leaked: call it once per example).
pub fn school() -> Registry {
    let student = ModelMeta::new("Student", "student", vec![pk(), string("name", Some(100))]);
    let mut course = ModelMeta::new("Course", "course", vec![pk(), string("title", None)]);
    course.many_to_many.push(ManyToManyMeta {
        name: "students".into(),
        target: "Student".into(),
        through: "Enrollment".into(),
        source_field: "course".into(),
        target_field: "student".into(),
        related_name: Some("courses".into()),
        symmetrical: false,
        auto_created: false,
        through_fields_given: false,
    });
    let mut grade = string("grade", Some(2));
    grade.default = DefaultValue::Const("".into());
    let mut enrollment = ModelMeta::new(
        "Enrollment",
        "enrollment",
        vec![
            pk(),
            foreign_key("course", "Course"),
            foreign_key("student", "Student"),
            grade,
        ],
    );
    enrollment.unique_constraints.push(UniqueConstraint {
        name: "enrollment_pair".into(),
        fields: vec!["course".into(), "student".into()],
    });
    let mut registry = Registry::new();
    registry
        .register(leak(student))
        .register(leak(course))
        .register(leak(enrollment));
    registry
}

/// An in-memory SQLite database with the school's (empty) tables, and its registry.
pub async fn school_db() -> Result<(Database, Registry)> {
    let db = Database::connect("sqlite::memory:").await?;
    let registry = school();
    crate::create_tables(&db, &registry).await?;
    Ok((db, registry))
}

/// [`school_db`] with the course `math` (key 1) and the students `ada`, `bob` and `cy`
/// (keys 1, 2, 3), none enrolled.
pub async fn seeded_school_db() -> Result<(Database, Registry)> {
    let (db, registry) = school_db().await?;
    let get = |name: &str| {
        registry
            .get(name)
            .ok_or_else(|| throughline_core::Error::Config(format!("no model {name}")))
    };
    crate::crud::create(&db, get("Course")?, &[("title", Value::from("math"))]).await?;
    for name in ["ada", "bob", "cy"] {
        crate::crud::create(&db, get("Student")?, &[("name", Value::from(name))]).await?;
    }
    Ok((db, registry))
}

/// Registers on `hooks` a hook at `point` on `relation` that records each change as
/// `(source, targets)`; returns the record.
#[allow(clippy::type_complexity)]
pub fn record(
    hooks: &throughline_db::Hooks,
    relation: &crate::Relation,
    point: throughline_db::HookPoint,
) -> std::sync::Arc<std::sync::Mutex<Vec<(Value, Vec<Value>)>>> {
    let record = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = record.clone();
    relation.on(hooks, point, move |ctx| {
        let log = log.clone();
        Box::pin(async move {
            if let Ok(mut log) = log.lock() {
                log.push((ctx.change.source.clone(), ctx.change.targets.clone()));
            }
            Ok(())
        })
    });
    record
}
