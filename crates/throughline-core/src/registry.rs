//! Owns [`Registry`], the set of models an application declares (Django's installed
//! models), the reverse relations derived from it, and [`Registry::check`], the model checks
//! with stable ids (Django's system checks).

use crate::naming::default_related_name;
use crate::schema::{FieldMeta, ModelMeta, OnDelete};
use std::collections::{HashMap, HashSet};

/// How serious a check message is.
///
/// ```
/// assert_ne!(throughline_core::CheckLevel::Error, throughline_core::CheckLevel::Warning);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckLevel {
    /// The models cannot work as declared.
    Error,
    /// The models work, but something is likely a mistake.
    Warning,
}

/// One problem found by [`Registry::check`].
///
/// ```
/// let m = throughline_core::CheckMessage {
///     id: "throughline.E001", level: throughline_core::CheckLevel::Error,
///     model: "A".into(), message: "duplicate table".into(),
/// };
/// assert_eq!(m.to_string(), "A: (throughline.E001) duplicate table");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckMessage {
    /// A stable id, such as `throughline.E002`.
    pub id: &'static str,
    /// Error or warning.
    pub level: CheckLevel,
    /// The model the message is about.
    pub model: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for CheckMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ({}) {}", self.model, self.id, self.message)
    }
}

/// A reverse foreign key seen from its target: `Student.enrollments` for
/// `Enrollment.student`.
#[derive(Debug, Clone)]
pub struct ReverseRelation<'a> {
    /// The accessor name on the target (`related_name`, or `<model>_set`).
    pub name: String,
    /// The model holding the foreign key.
    pub from: &'static ModelMeta,
    /// The foreign-key field on `from`.
    pub field: &'a FieldMeta,
}

/// The models of an application.
///
/// ```
/// use throughline_core::{FieldMeta, FieldType, ModelMeta, Registry};
/// static M: std::sync::LazyLock<ModelMeta> = std::sync::LazyLock::new(|| {
///     let mut id = FieldMeta::new("id", FieldType::AutoI64);
///     id.primary_key = true;
///     ModelMeta::new("Student", "student", vec![id])
/// });
/// let mut registry = Registry::new();
/// registry.register(&M);
/// assert!(registry.check().is_empty());
/// assert!(registry.get("Student").is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Registry {
    models: Vec<&'static ModelMeta>,
}

impl Registry {
    /// An empty registry.
    ///
    /// ```
    /// assert!(throughline_core::Registry::new().models().is_empty());
    /// ```
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds a model; registering the same model twice keeps one entry.
    ///
    /// ```
    /// # use throughline_core::*;
    /// static M: std::sync::LazyLock<ModelMeta> = std::sync::LazyLock::new(|| ModelMeta::new("A", "a", vec![]));
    /// let mut r = Registry::new();
    /// r.register(&M).register(&M);
    /// assert_eq!(r.models().len(), 1);
    /// ```
    pub fn register(&mut self, meta: &'static ModelMeta) -> &mut Self {
        if !self.models.iter().any(|m| std::ptr::eq(*m, meta)) {
            self.models.push(meta);
            for companion in &meta.companions.0 {
                self.register(companion());
            }
        }
        self
    }

    /// The registered models, in registration order.
    ///
    /// ```
    /// assert_eq!(throughline_core::Registry::new().models().len(), 0);
    /// ```
    pub fn models(&self) -> &[&'static ModelMeta] {
        &self.models
    }

    /// The model called `name`.
    ///
    /// ```
    /// assert!(throughline_core::Registry::new().get("Nope").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&'static ModelMeta> {
        self.models.iter().copied().find(|m| m.name == name)
    }

    /// The reverse relations pointing at `target`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// static M: std::sync::LazyLock<ModelMeta> = std::sync::LazyLock::new(|| ModelMeta::new("A", "a", vec![]));
    /// let mut r = Registry::new();
    /// r.register(&M);
    /// assert!(r.reverse_relations("A").is_empty());
    /// ```
    pub fn reverse_relations(&self, target: &str) -> Vec<ReverseRelation<'static>> {
        let mut out = Vec::new();
        for model in &self.models {
            let model: &'static ModelMeta = model;
            for field in model.foreign_keys() {
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                if fk.to == target && fk.related_name.as_deref() != Some("+") {
                    out.push(ReverseRelation {
                        name: fk
                            .related_name
                            .clone()
                            .unwrap_or_else(|| default_related_name(&model.name)),
                        from: model,
                        field,
                    });
                }
            }
        }
        out
    }

    /// Runs every model check and returns all problems at once, errors first.
    ///
    /// Ids: `E001` duplicate table name, `E002` foreign key to an unregistered model,
    /// `E003` a field name clashing with a reverse accessor, `E004` no primary key or more
    /// than one, `E005` two reverse accessors with one name, `E006` `SetNull` on a
    /// non-optional foreign key, `E007` a constraint, index or ordering naming an unknown
    /// field, `E008` two fields with one column, `E009` two models with one name,
    /// `E010` a choices field that is not text or has a default outside its choices,
    /// `E011` a decimal field whose `max_digits` is not 1 to 28 or is below its
    /// `decimal_places`, `E012` a foreign key's `to_field` that is not a unique field of
    /// its target.
    ///
    /// Many-to-many relations: `E101` the through model is not registered, `E102` the
    /// through model has no foreign key to the source or to the target, `E103` the through
    /// model has several foreign keys to one side and no `through_fields`, `E104` a
    /// `through_fields` name is missing from the through model or is not a foreign key to
    /// the expected model, `E105` a symmetrical relation to another model, `E106` two
    /// relations or reverse accessors with one name on a model, `E107` a symmetrical
    /// relation whose two keys refer to different fields. Warning `W101`: the through
    /// model has no unique constraint on the pair (concurrent writes from outside
    /// throughline can then duplicate a pair).
    ///
    /// ```
    /// # use throughline_core::*;
    /// static M: std::sync::LazyLock<ModelMeta> = std::sync::LazyLock::new(|| ModelMeta::new("A", "a", vec![]));
    /// let mut r = Registry::new();
    /// r.register(&M);
    /// let problems = r.check();
    /// assert_eq!(problems[0].id, "throughline.E004");
    /// ```
    pub fn check(&self) -> Vec<CheckMessage> {
        let mut out = Vec::new();
        let mut error = |id: &'static str, model: &str, message: String| {
            out.push(CheckMessage {
                id,
                level: CheckLevel::Error,
                model: model.to_owned(),
                message,
            });
        };
        let mut tables: HashMap<&str, &str> = HashMap::new();
        let mut names: HashSet<&str> = HashSet::new();
        for model in &self.models {
            if !names.insert(&model.name) {
                error(
                    "throughline.E009",
                    &model.name,
                    "two registered models have this name".to_owned(),
                );
            }
            if let Some(other) = tables.insert(&model.table, &model.name) {
                error(
                    "throughline.E001",
                    &model.name,
                    format!("table `{}` is also used by model {other}", model.table),
                );
            }
            let pks = model.fields.iter().filter(|f| f.primary_key).count();
            if pks != 1 {
                error(
                    "throughline.E004",
                    &model.name,
                    format!("a model needs exactly one primary key field, found {pks}"),
                );
            }
            let mut columns = HashSet::new();
            for field in &model.fields {
                if !columns.insert(field.column.as_str()) {
                    error(
                        "throughline.E008",
                        &model.name,
                        format!("column `{}` is used by two fields", field.column),
                    );
                }
                if let Some(fk) = &field.foreign_key {
                    if let (Some(name), Some(target)) = (&fk.to_field, self.get(&fk.to)) {
                        // Unique by itself, or by a unique constraint over it alone.
                        let unique = target.field(name).is_some_and(|f| {
                            f.unique
                                || f.primary_key
                                || target
                                    .unique_constraints
                                    .iter()
                                    .any(|c| c.fields.len() == 1 && &c.fields[0] == name)
                        });
                        if !unique {
                            error(
                                "throughline.E012",
                                &model.name,
                                format!(
                                    "field `{}` refers to `{}.{name}` (to_field), which is not a unique field of {}",
                                    field.name, fk.to, fk.to
                                ),
                            );
                        }
                    }
                    if self.get(&fk.to).is_none() {
                        error(
                            "throughline.E002",
                            &model.name,
                            format!(
                                "field `{}` is a foreign key to `{}`, which is not registered",
                                field.name, fk.to
                            ),
                        );
                    }
                    if fk.on_delete == OnDelete::SetNull && !field.nullable {
                        error(
                            "throughline.E006",
                            &model.name,
                            format!(
                                "field `{}` uses on_delete = set_null but is not optional (use Option<ForeignKey<_>>)",
                                field.name
                            ),
                        );
                    }
                }
                if let crate::FieldType::Decimal {
                    max_digits,
                    decimal_places,
                } = field.ty
                    && (max_digits == 0
                        || max_digits > crate::schema::DECIMAL_MAX_DIGITS
                        || decimal_places > max_digits)
                {
                    error(
                        "throughline.E011",
                        &model.name,
                        format!(
                            "decimal field `{}` has max_digits {max_digits} and decimal_places {decimal_places}: max_digits must be 1 to {} and at least decimal_places (set both with #[throughline(max_digits = N, decimal_places = M)])",
                            field.name,
                            crate::schema::DECIMAL_MAX_DIGITS
                        ),
                    );
                }
                if !field.choices.is_empty() {
                    let text = matches!(field.ty, crate::FieldType::String { .. });
                    let bad_default = match &field.default {
                        crate::DefaultValue::Const(crate::Value::String(v)) => {
                            !field.choices.iter().any(|c| &c.value == v)
                        }
                        _ => false,
                    };
                    if !text || bad_default {
                        error(
                            "throughline.E010",
                            &model.name,
                            format!(
                                "choices field `{}` must be text with a default among its choices",
                                field.name
                            ),
                        );
                    }
                }
            }
            let known = |name: &String| model.field(name.trim_start_matches('-')).is_some();
            for (what, list) in model
                .unique_constraints
                .iter()
                .map(|c| (format!("unique constraint `{}`", c.name), &c.fields))
                .chain(
                    model
                        .indexes
                        .iter()
                        .map(|i| (format!("index `{}`", i.name), &i.fields)),
                )
                .chain(std::iter::once(("ordering".to_owned(), &model.ordering)))
            {
                for name in list.iter().filter(|n| !known(n)) {
                    error(
                        "throughline.E007",
                        &model.name,
                        format!("{what} names unknown field `{name}`"),
                    );
                }
            }
            let mut accessors: HashMap<String, &str> = HashMap::new();
            for reverse in self.reverse_relations(&model.name) {
                if model.field(&reverse.name).is_some() {
                    error(
                        "throughline.E003",
                        &model.name,
                        format!(
                            "field `{}` clashes with the reverse accessor of {}.{}; set a related_name on it",
                            reverse.name, reverse.from.name, reverse.field.name
                        ),
                    );
                }
                if let Some(other) = accessors.insert(reverse.name.clone(), &reverse.from.name) {
                    error(
                        "throughline.E005",
                        &model.name,
                        format!(
                            "reverse accessor `{}` is defined by both {other} and {}.{}; set a related_name on one of them",
                            reverse.name, reverse.from.name, reverse.field.name
                        ),
                    );
                }
            }
        }
        self.check_many_to_many(&mut out);
        out.sort_by_key(|m| (m.level == CheckLevel::Warning, m.id));
        out
    }

    fn check_many_to_many(&self, out: &mut Vec<CheckMessage>) {
        let mut push = |id: &'static str, level: CheckLevel, model: &str, message: String| {
            out.push(CheckMessage {
                id,
                level,
                model: model.to_owned(),
                message,
            });
        };
        for model in &self.models {
            let mut names: HashSet<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
            for m2m in &model.many_to_many {
                let label = format!("{}.{}", model.name, m2m.name);
                if !names.insert(m2m.name.as_str()) {
                    push(
                        "throughline.E106",
                        CheckLevel::Error,
                        &model.name,
                        format!(
                            "relation `{label}` clashes with another field or relation of the model"
                        ),
                    );
                }
                if m2m.symmetrical && m2m.target != model.name {
                    push(
                        "throughline.E105",
                        CheckLevel::Error,
                        &model.name,
                        format!("{label} is symmetrical but does not relate the model to itself"),
                    );
                }
                let Some(through) = self.get(&m2m.through) else {
                    push(
                        "throughline.E101",
                        CheckLevel::Error,
                        &model.name,
                        format!(
                            "{label} goes through `{}`, which is not registered",
                            m2m.through
                        ),
                    );
                    continue;
                };
                // A symmetrical relation writes each link both ways: its two keys must
                // hold values of one field.
                let to_field = |name: &str| {
                    through
                        .field(name)
                        .and_then(|f| f.foreign_key.as_ref())
                        .map(|fk| fk.to_field.clone())
                };
                if m2m.symmetrical && to_field(&m2m.source_field) != to_field(&m2m.target_field) {
                    push(
                        "throughline.E107",
                        CheckLevel::Error,
                        &model.name,
                        format!(
                            "{label} is symmetrical but its two keys refer to different fields (to_field); links are written both ways"
                        ),
                    );
                }
                let keys_to = |to: &str| {
                    through
                        .foreign_keys()
                        .filter(|f| f.foreign_key.as_ref().is_some_and(|fk| fk.to == to))
                        .count()
                };
                for (side, to) in [
                    ("source", model.name.as_str()),
                    ("target", m2m.target.as_str()),
                ] {
                    let count = keys_to(to);
                    let ambiguous = if model.name == m2m.target {
                        count > 2
                    } else {
                        count > 1
                    };
                    if count == 0 {
                        push(
                            "throughline.E102",
                            CheckLevel::Error,
                            &model.name,
                            format!(
                                "{label}: the through model {} has no foreign key to the {side} model {to}",
                                through.name
                            ),
                        );
                    } else if ambiguous && !m2m.through_fields_given && !m2m.auto_created {
                        push(
                            "throughline.E103",
                            CheckLevel::Error,
                            &model.name,
                            format!(
                                "{label}: the through model {} has several foreign keys to {to}; name the two keys with through_fields",
                                through.name
                            ),
                        );
                    }
                }
                for (field, to) in [
                    (&m2m.source_field, &model.name),
                    (&m2m.target_field, &m2m.target),
                ] {
                    let ok = through
                        .field(field)
                        .is_some_and(|f| f.foreign_key.as_ref().is_some_and(|fk| &fk.to == to));
                    if !ok {
                        push(
                            "throughline.E104",
                            CheckLevel::Error,
                            &model.name,
                            format!(
                                "{label}: `{}.{field}` is not a foreign key to {to}",
                                through.name
                            ),
                        );
                    }
                }
                // The pair, or a wider link key over the pair and more fields.
                let pair = through.unique_constraints.iter().any(|c| {
                    c.fields.contains(&m2m.source_field) && c.fields.contains(&m2m.target_field)
                });
                if !pair {
                    push(
                        "throughline.W101",
                        CheckLevel::Warning,
                        &model.name,
                        format!(
                            "{label}: the through model {} has no unique constraint on ({}, {}); throughline's own writes stay idempotent (they lock the declaring row), but writes from outside can duplicate a pair",
                            through.name, m2m.source_field, m2m.target_field
                        ),
                    );
                }
            }
        }
    }
}
