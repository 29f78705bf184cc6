//! Owns the autodetector: the operations that take the replayed migration state to the
//! application's models. It asks nothing itself: renames come from [`Hints`], and it never
//! guesses. As Django's autodetector, a removed and an added field of the same type and
//! options (or a removed and an added model with the same fields) is a rename candidate:
//! it becomes a [`Question`] in [`Detection::questions`] until the hints answer it (renamed,
//! or ruled out). Only a removal that is not a rename is reported as a drop, and nothing is
//! dropped unless [`Hints::allow_drop`] says so (it goes to [`Detection::refused`]
//! instead). A detection with questions or refusals is incomplete: the caller writes
//! nothing ([`Detection::is_complete`]).
//!
//! A many-to-many relation whose through model changed (seed 004: an implicit junction
//! table becoming an explicit `CourseTag` model, or the reverse, or one through model for
//! another) is recognised from the relation declarations and becomes a state-only model
//! rename plus a table rename when the table changed; fields the new through model adds are
//! ordinary `AddField`s. No row is touched.

use crate::operations::Operation;
use crate::state::{DefaultState, FieldState, ModelState, ProjectState};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use throughline_core::{MigrationError, Result};

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
    /// Removed fields that were not renamed: (model, old field, the one added field it was
    /// not renamed to, or `None` for none of them).
    pub not_renamed_fields: Vec<(String, String, Option<String>)>,
    /// Removed models that were not renamed: (old model, the one added model it was not
    /// renamed to, or `None` for none of them).
    pub not_renamed_models: Vec<(String, Option<String>)>,
}

impl Hints {
    /// Records the answer to `question`: a rename hint, or the candidate ruled out.
    ///
    /// ```
    /// use throughline_migrate::{Hints, Question};
    /// let mut hints = Hints::default();
    /// let question = Question::RenameField {
    ///     model: "Course".into(),
    ///     from: "title".into(),
    ///     to: "name".into(),
    /// };
    /// hints.answer(&question, true);
    /// assert_eq!(hints.field_renames, [("Course".into(), "title".into(), "name".into())]);
    /// ```
    pub fn answer(&mut self, question: &Question, renamed: bool) {
        match (question, renamed) {
            (Question::RenameModel { from, to }, true) => {
                self.model_renames.push((from.clone(), to.clone()));
            }
            (Question::RenameModel { from, to }, false) => {
                self.not_renamed_models
                    .push((from.clone(), Some(to.clone())));
            }
            (Question::RenameField { model, from, to }, true) => {
                self.field_renames
                    .push((model.clone(), from.clone(), to.clone()));
            }
            (Question::RenameField { model, from, to }, false) => {
                self.not_renamed_fields
                    .push((model.clone(), from.clone(), Some(to.clone())));
            }
        }
    }

    /// Checks that every hint names a model and field that exist: a renamed model in `from`
    /// and its new name in `to`, a renamed field in the old model and its new name in the
    /// new one, a backfilled field in `to`. A typo is an error, never a silently unused hint.
    ///
    /// ```
    /// use throughline_migrate::{Hints, ProjectState};
    /// let hints = Hints {
    ///     field_renames: vec![("Course".into(), "titel".into(), "name".into())],
    ///     ..Hints::default()
    /// };
    /// let error = hints.validate(&ProjectState::default(), &ProjectState::default());
    /// assert!(error.unwrap_err().to_string().contains("--rename-field Course.titel=name"));
    /// ```
    pub fn validate(&self, from: &ProjectState, to: &ProjectState) -> Result<()> {
        let refuse = |flag: String, reason: String| {
            Err(MigrationError::new(format!("{flag}: {reason}")).into())
        };
        let known =
            |state: &ProjectState| state.models.keys().cloned().collect::<Vec<_>>().join(", ");
        for (old, new) in &self.model_renames {
            let flag = format!("--rename-model {old}={new}");
            if !from.models.contains_key(old) {
                return refuse(
                    flag,
                    format!(
                        "the migrations have no model {old} (they have: {})",
                        known(from)
                    ),
                );
            }
            if !to.models.contains_key(new) {
                return refuse(
                    flag,
                    format!("the application has no model {new} (it has: {})", known(to)),
                );
            }
        }
        // A model renamed by hint or detected as renamed without a question (same table,
        // a relation's new through model) is known under its new name too.
        let renames = certain_model_renames(from, to, self);
        let old_model = |model: &str| -> Option<&ModelState> {
            from.models.get(model).or_else(|| {
                renames
                    .iter()
                    .find(|(_, new)| new == model)
                    .and_then(|(old, _)| from.models.get(old))
            })
        };
        let fields_of = |model: &ModelState| {
            model
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Why `model.field` is not a field of the migrations' (or the application's) state.
        let in_migrations = |model: &str, field: &str| -> std::result::Result<(), String> {
            let Some(before) = old_model(model) else {
                return Err(format!(
                    "the migrations have no model {model} (they have: {})",
                    known(from)
                ));
            };
            match before.field(field) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "the migrations' {model} has no field {field} (it has: {})",
                    fields_of(before)
                )),
            }
        };
        let in_application = |model: &str, field: &str| -> std::result::Result<(), String> {
            let Some(wanted) = to.models.get(model) else {
                return Err(format!(
                    "the application has no model {model} (it has: {})",
                    known(to)
                ));
            };
            match wanted.field(field) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "the application's {model} has no field {field} (it has: {})",
                    fields_of(wanted)
                )),
            }
        };
        for (model, old, new) in &self.field_renames {
            // The application's model first, then the old field, then the new one.
            let checked = if to.models.contains_key(model) {
                in_migrations(model, old).and_then(|()| in_application(model, new))
            } else {
                in_application(model, new)
            };
            if let Err(reason) = checked {
                return refuse(format!("--rename-field {model}.{old}={new}"), reason);
            }
        }
        for (model, old, _) in &self.not_renamed_fields {
            if let Err(reason) = in_migrations(model, old) {
                return refuse(format!("--not-renamed {model}.{old}"), reason);
            }
        }
        for (old, _) in &self.not_renamed_models {
            if !from.models.contains_key(old) {
                return refuse(
                    format!("--not-renamed {old}"),
                    format!(
                        "the migrations have no model {old} (they have: {})",
                        known(from)
                    ),
                );
            }
        }
        for (model, field) in self.backfill.keys() {
            if let Err(reason) = in_application(model, field) {
                return refuse(format!("--backfill {model}.{field}"), reason);
            }
        }
        Ok(())
    }

    fn field_ruled_out(&self, model: &str, old: &str, new: &str) -> bool {
        self.not_renamed_fields
            .iter()
            .any(|(m, o, n)| m == model && o == old && n.as_deref().is_none_or(|n| n == new))
    }

    fn model_ruled_out(&self, old: &str, new: &str) -> bool {
        self.not_renamed_models
            .iter()
            .any(|(o, n)| o == old && n.as_deref().is_none_or(|n| n == new))
    }
}

/// A rename candidate the hints do not answer yet.
///
/// ```
/// use throughline_migrate::{Hints, ProjectState, Question, detect};
/// use throughline_migrate::state::{FieldState, ModelState};
/// let field = |name: &str| FieldState {
///     name: name.into(), column: name.into(), ty: "string(200)".into(), nullable: false,
///     primary_key: false, unique: false, index: false, default: None, foreign_key: None,
/// };
/// let model = |f: &str| ModelState {
///     name: "Course".into(), table: "course".into(), fields: vec![field(f)],
///     unique_constraints: vec![], indexes: vec![], many_to_many: vec![], auto_created: false,
/// };
/// let state = |f: &str| ProjectState { models: [("Course".to_owned(), model(f))].into() };
/// let detection = detect(&state("title"), &state("name"), &Hints::default());
/// assert_eq!(
///     detection.questions,
///     [Question::RenameField { model: "Course".into(), from: "title".into(), to: "name".into() }]
/// );
/// assert!(detection.operations.is_empty() && !detection.is_complete());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A removed model and an added model with the same fields.
    RenameModel {
        /// The removed model.
        from: String,
        /// The added model.
        to: String,
    },
    /// A removed field and an added field of the same type and options.
    RenameField {
        /// The model.
        model: String,
        /// The removed field.
        from: String,
        /// The added field.
        to: String,
    },
}

impl Question {
    /// The question asked on a terminal.
    ///
    /// ```
    /// use throughline_migrate::Question;
    /// let q = Question::RenameField { model: "Course".into(), from: "title".into(), to: "name".into() };
    /// assert_eq!(q.prompt(), "Was Course.title renamed to Course.name? [y/N]");
    /// ```
    pub fn prompt(&self) -> String {
        match self {
            Question::RenameModel { from, to } => {
                format!("Was the model {from} renamed to {to}? [y/N]")
            }
            Question::RenameField { model, from, to } => {
                format!("Was {model}.{from} renamed to {model}.{to}? [y/N]")
            }
        }
    }

    /// The flag that answers "renamed".
    ///
    /// ```
    /// use throughline_migrate::Question;
    /// let q = Question::RenameField { model: "Course".into(), from: "title".into(), to: "name".into() };
    /// assert_eq!(q.rename_flag(), "--rename-field Course.title=name");
    /// ```
    pub fn rename_flag(&self) -> String {
        match self {
            Question::RenameModel { from, to } => format!("--rename-model {from}={to}"),
            Question::RenameField { model, from, to } => {
                format!("--rename-field {model}.{from}={to}")
            }
        }
    }

    /// The flag that answers "not renamed" (the removal is then reported as a drop).
    ///
    /// ```
    /// use throughline_migrate::Question;
    /// let q = Question::RenameModel { from: "Course".into(), to: "Lesson".into() };
    /// assert_eq!(q.not_renamed_flag(), "--not-renamed Course");
    /// ```
    pub fn not_renamed_flag(&self) -> String {
        match self {
            Question::RenameModel { from, .. } => format!("--not-renamed {from}"),
            Question::RenameField { model, from, .. } => format!("--not-renamed {model}.{from}"),
        }
    }
}

/// The autodetector's result.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// The operations, in order.
    pub operations: Vec<Operation>,
    /// Changes that were not made, and why (drops without confirmation, NOT NULL fields
    /// without a value for existing rows).
    pub refused: Vec<String>,
    /// Rename candidates that need an answer before anything is decided about them.
    pub questions: Vec<Question>,
}

impl Detection {
    /// Whether every change is decided: no question is open and nothing was refused. Only
    /// a complete detection may be written as a migration (all or nothing).
    ///
    /// ```
    /// assert!(throughline_migrate::Detection::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.questions.is_empty() && self.refused.is_empty()
    }
}

/// The model renames that need no question, as (old, new): the hinted ones, a relation's
/// through model replaced by another, and a removed and an added model sharing a table.
fn certain_model_renames(
    from: &ProjectState,
    to: &ProjectState,
    hints: &Hints,
) -> Vec<(String, String)> {
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
    renames
}

/// Diffs `from` (the replayed migrations) against `to` (the models).
pub fn detect(from: &ProjectState, to: &ProjectState, hints: &Hints) -> Detection {
    let mut out = Detection::default();
    let mut state = from.clone();

    // 1. Model renames: hinted, then through models of the same relation, then a removed
    //    and an added model sharing a table.
    let renames = certain_model_renames(from, to, hints);
    let removed: Vec<&ModelState> = from
        .models
        .values()
        .filter(|m| !to.models.contains_key(&m.name))
        .collect();
    // A removed and an added model with the same fields (other tables) may be a rename:
    // a question, unless the hints ruled it out.
    let mut questioned_models: BTreeSet<String> = BTreeSet::new();
    for added in to
        .models
        .values()
        .filter(|m| !from.models.contains_key(&m.name))
    {
        if renames.iter().any(|(_, new)| new == &added.name) {
            continue;
        }
        let candidate = removed.iter().find(|m| {
            !renames.iter().any(|(o, _)| o == &m.name)
                && !questioned_models.contains(&m.name)
                && !hints.model_ruled_out(&m.name, &added.name)
                && m.auto_created == added.auto_created
                && m.fields == added.fields
        });
        if let Some(old) = candidate {
            questioned_models.insert(old.name.clone());
            questioned_models.insert(added.name.clone());
            out.questions.push(Question::RenameModel {
                from: old.name.clone(),
                to: added.name.clone(),
            });
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
        .filter(|m| !state.models.contains_key(&m.name) && !questioned_models.contains(&m.name))
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
        // A removed and an added field of the same type and options may be a rename.
        let mut claimed: BTreeSet<String> = BTreeSet::new();
        let mut questioned: BTreeSet<String> = BTreeSet::new();
        for old in current
            .fields
            .iter()
            .filter(|f| wanted.field(&f.name).is_none())
        {
            let candidate = wanted.fields.iter().find(|new| {
                current.field(&new.name).is_none()
                    && !claimed.contains(&new.name)
                    && !hints.field_ruled_out(name, &old.name, &new.name)
                    && same_shape(old, new)
            });
            if let Some(new) = candidate {
                claimed.insert(new.name.clone());
                questioned.insert(old.name.clone());
                out.questions.push(Question::RenameField {
                    model: name.clone(),
                    from: old.name.clone(),
                    to: new.name.clone(),
                });
            }
        }
        for field in wanted.fields.iter().filter(|f| !claimed.contains(&f.name)) {
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
                    // A key that starts (or stops) referring to another field of its
                    // target: the stored values would be read as the new field's (an id
                    // as a code), so it is not altered in place.
                    if let (Some(before), Some(after)) = (&existing.foreign_key, &field.foreign_key)
                        && before.to == after.to
                        && before.to_field != after.to_field
                    {
                        let shown = |f: &Option<String>| {
                            f.clone().unwrap_or_else(|| "its primary key".into())
                        };
                        out.refused.push(format!(
                            "{name}.{} would refer to {} instead of {}: the stored values would be read as the new field's; add a new key, fill it from the old one in a migration of your own, then remove the old key",
                            field.name,
                            shown(&after.to_field),
                            shown(&before.to_field)
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
            .filter(|f| wanted.field(&f.name).is_none() && !questioned.contains(&f.name))
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
                out.refused.push(format!(
                    "{name}.{} was removed from the model and not renamed: its column is kept; --allow-drop drops the column and DELETES its data in every row",
                    field.name
                ));
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
        .filter(|n| !to.models.contains_key(*n) && !questioned_models.contains(*n))
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
            out.refused.push(format!(
                "model {name} was removed and not renamed: its table is kept; --allow-drop drops the table and DELETES every row in it"
            ));
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

/// Whether a removed and an added field could be one field renamed: the same type and
/// options (the column follows the name, so it is not compared).
fn same_shape(old: &FieldState, new: &FieldState) -> bool {
    let mut old = old.clone();
    old.name.clone_from(&new.name);
    old.column.clone_from(&new.column);
    &old == new
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
