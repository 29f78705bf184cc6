//! Owns naming the model and the constraint in an integrity error the database raised:
//! PostgreSQL names the constraint, SQLite only lists the columns of a unique violation,
//! from which the model's declared constraint is found.

use throughline_core::{Error, IntegrityKind, ModelMeta};

/// Adds the model to an integrity error, and on SQLite names the unique constraint from
/// the columns in the message (`UNIQUE constraint failed: enrollment.student_id, ...`).
///
/// ```
/// use throughline_core::{Error, IntegrityKind};
/// let school = throughline_engine::doc_support::school();
/// let raw = Error::Integrity {
///     kind: IntegrityKind::Unique,
///     constraint: None,
///     model: None,
///     message: "UNIQUE constraint failed: enrollment.course_id, enrollment.student_id".into(),
/// };
/// match throughline_engine::attach_model(raw, school.get("Enrollment").unwrap()) {
///     Error::Integrity { constraint, model, .. } => {
///         assert_eq!(constraint.as_deref(), Some("enrollment_pair"));
///         assert_eq!(model.as_deref(), Some("Enrollment"));
///     }
///     other => panic!("{other}"),
/// }
/// ```
pub fn attach_model(error: Error, meta: &ModelMeta) -> Error {
    match error {
        Error::Integrity {
            kind,
            constraint,
            model: None,
            message,
        } => {
            // MySQL names every primary key `PRIMARY`: the name the other backends give it.
            let constraint = constraint
                .map(|name| {
                    if name == "PRIMARY" {
                        format!("{}_pkey", meta.table)
                    } else {
                        name
                    }
                })
                .or_else(|| {
                    if kind != IntegrityKind::Unique {
                        return None;
                    }
                    let columns = message.split_once("failed: ")?.1;
                    let columns: Vec<&str> = columns
                        .split(", ")
                        .map(|c| c.rsplit('.').next().unwrap_or(c))
                        .collect();
                    meta.unique_constraint_for_columns(&columns)
                });
            Error::Integrity {
                kind,
                constraint,
                model: Some(meta.name.clone()),
                message,
            }
        }
        other => other,
    }
}
