//! Owns the autodetector: the operations that take the replayed migration state to the
//! application's models. It asks nothing interactively: renames come from [`Hints`], and it
//! never drops a table or a column unless [`Hints::allow_drop`] says so (it returns
//! [`Detection::refused`] instead).
//!
//! A many-to-many relation whose through model changed (seed 004: an implicit junction
//! table becoming an explicit `CourseTag` model, or the reverse, or one through model for
//! another) is recognised from the relation declarations and becomes a state-only model
//! rename plus a table rename when the table changed; fields the new through model adds are
//! ordinary `AddField`s. No row is touched.

use crate::operations::Operation;
use crate::state::{DefaultState, ModelState, ProjectState};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the caller tells the autodetector.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Model renames, old name to new name.
    pub model_renames: Vec<(String, String)>,
    /// Field renames: (model, old name, new name).
    pub field_renames: Vec<(String, String, String)>,
    /// Whether dropping tables and columns is confirmed.
    pub allow_drop: bool,
    /// Values for existing rows of new or altered NOT NULL fields: (model, field) → value.
    pub backfill: HashMap<(String, String), serde_json::Value>,
}

/// The autodetector's result.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// The operations, in order.
    pub operations: Vec<Operation>,
    /// Changes that were not made, and why (drops without confirmation, NOT NULL fields
    /// without a value for existing rows).
    pub refused: Vec<String>,
}

/// Diffs `from` (the replayed migrations) against `to` (the models).
pub fn detect(from: &ProjectState, to: &ProjectState, hints: &Hints) -> Detection {
    let mut out = Detection::default();
    let mut state = from.clone();

    // 1. Model renames: hinted, then through models of the same relation, then a removed
    //    and an added model sharing a table.
    let mut renames: Vec<(String, String)> = hints.model_renames.clone();
    for model in to.models.values() {
        for relation in &model.many_to_many {
            let before = from
                .models
                .get(&model.name)
                .and_then(|m| m.many_to_many.iter().find(|r| r.name == relation.name));
            if let Some(before) = before
                && before.through != relation.through
                && from.models.contains_key(&before.through)
                && !to.models.contains_key(&before.through)
                && !from.models.contains_key(&relation.through)
            {
                renames.push((before.through.clone(), relation.through.clone()));
            }
        }
    }
    let removed: Vec<&ModelState> = from
        .models
        .values()
        .filter(|m| !to.models.contains_key(&m.name))
        .collect();
    for added in to
        .models
        .values()
        .filter(|m| !from.models.contains_key(&m.name))
    {
        if renames.iter().any(|(_, new)| new == &added.name) {
            continue;
        }
        if let Some(old) = removed
            .iter()
            .find(|m| m.table == added.table && !renames.iter().any(|(o, _)| o == &m.name))
        {
            renames.push((old.name.clone(), added.name.clone()));
        }
    }
    for (old, new) in &renames {
        if !state.models.contains_key(old) || state.models.contains_key(new) {
            continue;
        }
        let (Some(previous), Some(next)) = (from.models.get(old), to.models.get(new)) else {
            continue;
        };
        // The rows stay where they are: a state-only rename (which also repoints the
        // relation declarations and foreign keys naming the old model), then the table
        // rename if the new model uses another table.
        let rename = Operation::StateOnly {
            operations: vec![Operation::RenameModel {
                from: old.clone(),
                to: new.clone(),
            }],
        };
        apply(&mut state, &mut out, rename);
        if previous.table != next.table {
            apply(
                &mut state,
                &mut out,
                Operation::AlterModelTable {
                    model: new.clone(),
                    table: next.table.clone(),
                },
            );
        }
    }

    // 2. New models, referred models first.
    let mut pending: Vec<&ModelState> = to
        .models
        .values()
        .filter(|m| !state.models.contains_key(&m.name))
        .collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|m| {
                m.fields.iter().all(|f| {
                    f.foreign_key.as_ref().is_none_or(|fk| {
                        fk.to == m.name
                            || state.models.contains_key(&fk.to)
                            || !pending.iter().any(|p| p.name == fk.to)
                    })
                })
            })
            .unwrap_or(0);
        let model = pending.remove(ready);
        apply(
            &mut state,
            &mut out,
            Operation::CreateModel {
                model: model.clone(),
            },
        );
    }

    // 3. Fields, tables, constraints and relations of the models both sides have.
    let names: Vec<String> = to.models.keys().cloned().collect();
    for name in &names {
        let (Some(current), Some(wanted)) = (state.models.get(name).cloned(), to.models.get(name))
        else {
            continue;
        };
        if current.table != wanted.table {
            apply(
                &mut state,
                &mut out,
                Operation::AlterModelTable {
                    model: name.clone(),
                    table: wanted.table.clone(),
                },
            );
        }
        for (model, old, new) in hints.field_renames.iter().filter(|(m, ..)| m == name) {
            if current.field(old).is_some()
                && wanted.field(new).is_some()
                && current.field(new).is_none()
            {
                apply(
                    &mut state,
                    &mut out,
                    Operation::RenameField {
                        model: model.clone(),
                        from: old.clone(),
                        to: new.clone(),
                    },
                );
            }
        }
        let current = state.models.get(name).cloned().unwrap_or(current);
        for field in &wanted.fields {
            match current.field(&field.name) {
                None => {
                    let backfill = hints
                        .backfill
                        .get(&(name.clone(), field.name.clone()))
                        .cloned();
                    let constant = matches!(
                        field.default,
                        Some(
                            DefaultState::Value(_)
                                | DefaultState::AutoNowAdd
                                | DefaultState::AutoNow
                        )
                    );
                    if !field.nullable && backfill.is_none() && !constant {
                        out.refused.push(format!(
                            "{name}.{} is new and NOT NULL with no constant default: make it optional, give it a default, or pass a backfill value (--backfill {name}.{}=VALUE)",
                            field.name, field.name
                        ));
                        continue;
                    }
                    apply(
                        &mut state,
                        &mut out,
                        Operation::AddField {
                            model: name.clone(),
                            field: field.clone(),
                            backfill,
                        },
                    );
                }
                Some(existing) if existing != field => {
                    let backfill = hints
                        .backfill
                        .get(&(name.clone(), field.name.clone()))
                        .cloned();
                    let becomes_required = existing.nullable && !field.nullable;
                    let constant = matches!(field.default, Some(DefaultState::Value(_)));
                    if becomes_required && backfill.is_none() && !constant {
                        out.refused.push(format!(
                            "{name}.{} becomes NOT NULL: give it a default or pass a backfill value for the rows where it is NULL (--backfill {name}.{}=VALUE)",
                            field.name, field.name
                        ));
                        continue;
                    }
                    if schema_differs(existing, field) {
                        apply(
                            &mut state,
                            &mut out,
                            Operation::AlterField {
                                model: name.clone(),
                                field: field.clone(),
                                backfill,
                            },
                        );
                    } else {
                        // Only the application-side default changed: state only.
                        apply(
                            &mut state,
                            &mut out,
                            Operation::StateOnly {
                                operations: vec![Operation::AlterField {
                                    model: name.clone(),
                                    field: field.clone(),
                                    backfill: None,
                                }],
                            },
                        );
                    }
                }
                Some(_) => {}
            }
        }
        for field in current
            .fields
            .iter()
            .filter(|f| wanted.field(&f.name).is_none())
        {
            if hints.allow_drop {
                apply(
                    &mut state,
                    &mut out,
                    Operation::RemoveField {
                        model: name.clone(),
                        field: field.name.clone(),
                    },
                );
            } else {
                out.refused.push(format!("{name}.{} was removed from the model: its column is kept until you confirm the drop (--allow-drop)", field.name));
            }
        }
        diff_named(
            &mut state,
            &mut out,
            name,
            &current.unique_constraints,
            &wanted.unique_constraints,
            true,
        );
        diff_named(
            &mut state,
            &mut out,
            name,
            &current.indexes,
            &wanted.indexes,
            false,
        );
        if current.many_to_many != wanted.many_to_many {
            apply(
                &mut state,
                &mut out,
                Operation::AlterRelations {
                    model: name.clone(),
                    many_to_many: wanted.many_to_many.clone(),
                },
            );
        }
    }

    // 4. Removed models, referring models first.
    let removed: BTreeSet<String> = state
        .models
        .keys()
        .filter(|n| !to.models.contains_key(*n))
        .cloned()
        .collect();
    for name in removed.iter().rev() {
        if hints.allow_drop {
            apply(
                &mut state,
                &mut out,
                Operation::DeleteModel { name: name.clone() },
            );
        } else {
            out.refused.push(format!("model {name} was removed: its table is kept until you confirm the drop (--allow-drop)"));
        }
    }
    out
}

fn apply(state: &mut ProjectState, out: &mut Detection, op: Operation) {
    match op.apply(state) {
        Ok(()) => out.operations.push(op),
        Err(error) => out.refused.push(format!("{}: {error}", op.describe())),
    }
}

/// Whether two versions of a field differ in the database (not only in the application
/// default).
fn schema_differs(a: &crate::state::FieldState, b: &crate::state::FieldState) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.default = None;
    b.default = None;
    a != b
}

fn diff_named(
    state: &mut ProjectState,
    out: &mut Detection,
    model: &str,
    current: &[crate::state::ConstraintState],
    wanted: &[crate::state::ConstraintState],
    unique: bool,
) {
    let current_by: BTreeMap<&str, _> = current.iter().map(|c| (c.name.as_str(), c)).collect();
    let wanted_by: BTreeMap<&str, _> = wanted.iter().map(|c| (c.name.as_str(), c)).collect();
    for (name, item) in &current_by {
        if wanted_by.get(name) != Some(item) {
            let op = if unique {
                Operation::RemoveConstraint {
                    model: model.to_owned(),
                    name: (*name).to_owned(),
                }
            } else {
                Operation::RemoveIndex {
                    model: model.to_owned(),
                    name: (*name).to_owned(),
                }
            };
            apply(state, out, op);
        }
    }
    for (name, item) in &wanted_by {
        if current_by.get(name) != Some(item) {
            let op = if unique {
                Operation::AddConstraint {
                    model: model.to_owned(),
                    constraint: (*item).clone(),
                }
            } else {
                Operation::AddIndex {
                    model: model.to_owned(),
                    index: (*item).clone(),
                }
            };
            apply(state, out, op);
        }
    }
}
