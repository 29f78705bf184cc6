//! Owns many-to-many relation writes over values (SPEC §3): [`Relation`], a relation seen
//! from one side and resolved against its through model once (its two keys, their types,
//! its link key and the declaring side), and [`Linking`], the relation from one source row,
//! whose methods are the whole write API (`add`, `create`, `set`, `plan_set`, `remove`,
//! `remove_where`, `clear`) with their policies and outcomes.
//!
//! Every write is one operation (one transaction, one hop to SQLite's thread) with a
//! constant number of statements, whatever the number of targets: lock the declaring
//! side's row(s) (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` serializes writers),
//! read the existing rows of the requested pairs, insert the missing ones
//! (`ON CONFLICT DO NOTHING RETURNING` when a pair constraint exists), and, with
//! [`OnExisting::Update`], update the differing ones. Deletes return the deleted through
//! rows in full, each decoded by the caller's decoder (the typed shell decodes straight into
//! its struct; [`row_values`] gives the values).
//!
//! The plan each write runs and its statements are in `write`; key hashing and the diff of
//! a `set` in `keys`; the outcomes in `outcome`.

mod keys;
mod outcome;
mod write;

pub use keys::split;
pub use outcome::{AddOutcome, Differing, FieldDiff, OnExisting, SetOutcome, SetPlan};
pub use write::{Items, Values, no_values};

use crate::constraint_names::attach_model;
use crate::hooks::RelationHooks;
use std::sync::Arc;
use throughline_core::{Error, FieldMeta, FieldType, ModelMeta, Registry, Result, Value};
use throughline_db::{
    Access, BoxFuture, Executor, HookContext, HookPoint, HookedRelation, Hooks, Row, op,
};
use throughline_query::{FieldPath, Filter, Statement};
use write::WritePlan;

/// What [`Linking::get_or_create`] did: found a linked target (updated when asked), or
/// created one and linked it (its key and the add's outcome).
#[derive(Debug)]
pub enum Found<R> {
    /// The linked target found (after the update, for `update_or_create`).
    Existing(R),
    /// The key of the target created, and the outcome of linking it.
    Created(Value, AddOutcome),
}

/// The change `update_or_create` makes to the target it found: the updated target and its
/// row (every field, in order) to write back.
pub type UpdateFound<R> = Box<dyn FnOnce(R) -> Result<(R, Vec<Value>)> + Send>;

/// A many-to-many relation seen from one side (the source), resolved against its through
/// model: which of its foreign keys points at each side, their types, the link key (a
/// unique constraint over the two keys, or over them and more fields) and which side
/// declared it. Built once per call by the typed shell, or found by name in a
/// [`Registry`] ([`Relation::find`]) by code that has no model types (the admin, the CLI).
///
/// ```
/// # use throughline_core::*;
/// # fn pk() -> FieldMeta { let mut f = FieldMeta::new("id", FieldType::AutoI64); f.primary_key = true; f }
/// # fn fk(name: &str, to: &str) -> FieldMeta { let mut f = FieldMeta::new(name, FieldType::I64);
/// #   f.foreign_key = Some(ForeignKeyMeta { to: to.into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None }); f }
/// # fn leak(m: ModelMeta) -> &'static ModelMeta { Box::leak(Box::new(m)) }
/// let mut course = ModelMeta::new("Course", "course", vec![pk()]);
/// course.many_to_many.push(ManyToManyMeta {
///     name: "students".into(), target: "Student".into(), through: "Enrollment".into(),
///     source_field: "course".into(), target_field: "student".into(), related_name: Some("courses".into()),
///     symmetrical: false, auto_created: false, through_fields_given: false,
/// });
/// let mut registry = Registry::new();
/// registry
///     .register(leak(course))
///     .register(leak(ModelMeta::new("Student", "student", vec![pk()])))
///     .register(leak(ModelMeta::new("Enrollment", "enrollment", vec![pk(), fk("course", "Course"), fk("student", "Student")])));
/// let forward = throughline_engine::Relation::find(&registry, "Course", "students").unwrap();
/// assert_eq!((forward.source_field, forward.target_field), ("course", "student"));
/// let reverse = throughline_engine::Relation::find(&registry, "Student", "courses").unwrap();
/// assert_eq!(reverse.declared, "Course.students");
/// assert!(!reverse.declared_on_source);
/// assert!(throughline_engine::Relation::find(&registry, "Student", "nope").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Relation {
    /// The relation's name from this side, `Model.accessor` (`Student.courses`).
    pub name: &'static str,
    /// The relation's declared name, the same from both sides (`Course.students`).
    pub declared: &'static str,
    /// The model whose rows the writes start from.
    pub source: &'static ModelMeta,
    /// The other model.
    pub target: &'static ModelMeta,
    /// The through model.
    pub through: &'static ModelMeta,
    /// The through model's foreign key to the source.
    pub source_field: &'static str,
    /// The through model's foreign key to the target.
    pub target_field: &'static str,
    /// Whether links are written in both directions.
    pub symmetrical: bool,
    /// Whether the source is the model that declared the relation.
    pub declared_on_source: bool,
    /// The through model's two key fields, and their declared types.
    source_key: &'static FieldMeta,
    target_key: &'static FieldMeta,
    /// The fields of the source and the target that the two keys refer to: their primary
    /// keys, or the unique fields a `to_field` names.
    source_referred: &'static FieldMeta,
    target_referred: &'static FieldMeta,
    source_type: FieldType,
    target_type: FieldType,
    /// Whether a unique constraint covers exactly the two keys.
    pair_constraint: bool,
    /// The other fields of a wider link key (a unique constraint over the two keys and
    /// more, such as (topic, system, service)).
    link_extra: Arc<[&'static str]>,
}

/// What the typed shell (or [`Relation::find`]) knows of a relation before it is resolved.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, Relation, RelationSpec};
/// # fn main() -> throughline_core::Result<()> {
/// let school = doc_support::school();
/// # let (course, student, through) = (school.get("Course").unwrap(), school.get("Student").unwrap(), school.get("Enrollment").unwrap());
/// let spec = RelationSpec {
///     name: "Course.students", declared: "Course.students",
///     source: course, target: student, through,
///     source_field: "course", target_field: "student",
///     symmetrical: false, declared_on_source: true,
/// };
/// assert_eq!(Relation::new(spec)?.target.name, "Student");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RelationSpec {
    /// The relation's name from this side, `Model.accessor`.
    pub name: &'static str,
    /// The relation's declared name.
    pub declared: &'static str,
    /// The source model.
    pub source: &'static ModelMeta,
    /// The target model.
    pub target: &'static ModelMeta,
    /// The through model.
    pub through: &'static ModelMeta,
    /// The through model's foreign key to the source.
    pub source_field: &'static str,
    /// The through model's foreign key to the target.
    pub target_field: &'static str,
    /// Whether links are written in both directions.
    pub symmetrical: bool,
    /// Whether the source declared the relation.
    pub declared_on_source: bool,
}

impl RelationSpec {
    /// The relation in its declared direction, as the hook registry holds it (no
    /// resolution needed: hooks find the key columns by name when they fire).
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, RelationSpec};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// # let (course, student, through) = (school.get("Course").unwrap(), school.get("Student").unwrap(), school.get("Enrollment").unwrap());
    /// // The relation seen from Student: hooks hold it in its declared direction.
    /// let spec = RelationSpec {
    ///     name: "Student.courses", declared: "Course.students",
    ///     source: student, target: course, through,
    ///     source_field: "student", target_field: "course",
    ///     symmetrical: false, declared_on_source: false,
    /// };
    /// let hooked = spec.hooked();
    /// assert_eq!((hooked.source_model, hooked.source_field), ("Course", "course"));
    /// # Ok(()) }
    /// ```
    pub fn hooked(&self) -> HookedRelation {
        let (source_field, target_field, source_model, target_model) = if self.declared_on_source {
            (
                self.source_field,
                self.target_field,
                self.source.name.as_str(),
                self.target.name.as_str(),
            )
        } else {
            (
                self.target_field,
                self.source_field,
                self.target.name.as_str(),
                self.source.name.as_str(),
            )
        };
        HookedRelation {
            relation: self.declared,
            through: self.through,
            source_field,
            target_field,
            source_model,
            target_model,
        }
    }
}

impl Relation {
    /// Resolves `spec` against its through model: both key fields must exist.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, Relation, RelationSpec};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// # let (course, student, through) = (school.get("Course").unwrap(), school.get("Student").unwrap(), school.get("Enrollment").unwrap());
    /// let spec = RelationSpec {
    ///     name: "Course.students", declared: "Course.students",
    ///     source: course, target: student, through,
    ///     source_field: "course", target_field: "student",
    ///     symmetrical: false, declared_on_source: true,
    /// };
    /// assert_eq!(Relation::new(spec)?.through.name, "Enrollment");
    /// // The through model has no field `pupil`.
    /// assert!(Relation::new(RelationSpec { target_field: "pupil", ..spec }).is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(spec: RelationSpec) -> Result<Relation> {
        let through = spec.through;
        let column = |field: &str| {
            through.field(field).ok_or_else(|| {
                Error::invalid_query(
                    &through.name,
                    format!(
                        "through model has no field `{field}` (relation {})",
                        spec.name
                    ),
                )
            })
        };
        let source = column(spec.source_field)?;
        let target = column(spec.target_field)?;
        let referred = |key: &'static FieldMeta, model: &'static ModelMeta| {
            key.foreign_key
                .as_ref()
                .map_or_else(|| model.pk(), |fk| fk.referenced(model))
        };
        let pair_constraint = through.unique_constraints.iter().any(|c| {
            c.fields.len() == 2
                && c.fields.iter().any(|f| f == &source.name)
                && c.fields.iter().any(|f| f == &target.name)
        });
        let link_extra: Vec<&'static str> = if pair_constraint {
            Vec::new()
        } else {
            through
                .unique_constraints
                .iter()
                .filter(|c| {
                    c.fields.len() > 2
                        && c.fields.contains(&source.name)
                        && c.fields.contains(&target.name)
                })
                .min_by_key(|c| c.fields.len())
                .map(|c| {
                    c.fields
                        .iter()
                        .filter(|f| **f != source.name && **f != target.name)
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Relation {
            name: spec.name,
            declared: spec.declared,
            source: spec.source,
            target: spec.target,
            through,
            source_field: &source.name,
            target_field: &target.name,
            symmetrical: spec.symmetrical,
            declared_on_source: spec.declared_on_source,
            source_key: source,
            target_key: target,
            source_referred: referred(source, spec.source),
            target_referred: referred(target, spec.target),
            source_type: source.ty.as_reference(),
            target_type: target.ty.as_reference(),
            pair_constraint,
            link_extra: if link_extra.is_empty() {
                no_link_extra()
            } else {
                link_extra.into()
            },
        })
    }

    /// The relation called `accessor` on `model`: a relation the model declares, or the
    /// reverse accessor of one declared on another model (`Student.courses`). Every model
    /// involved must be registered.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let reverse = Relation::find(&school, "Student", "courses")?;
    /// assert_eq!((reverse.name, reverse.declared), ("Student.courses", "Course.students"));
    /// assert_eq!(reverse.target.name, "Course");
    /// assert!(Relation::find(&school, "Course", "teachers").is_err());
    /// # Ok(()) }
    /// ```
    pub fn find(registry: &Registry, model: &str, accessor: &str) -> Result<Relation> {
        let unknown = |what: &str| Error::invalid_query(model, what);
        let get = |name: &str| {
            registry
                .get(name)
                .ok_or_else(|| unknown(&format!("model `{name}` is not registered")))
        };
        let source = get(model)?;
        if let Some(m2m) = source.many_to_many.iter().find(|m| m.name == accessor) {
            let name = crate::names::intern(format!("{}.{}", source.name, m2m.name));
            return Relation::new(RelationSpec {
                name,
                declared: name,
                source,
                target: get(&m2m.target)?,
                through: get(&m2m.through)?,
                source_field: &m2m.source_field,
                target_field: &m2m.target_field,
                symmetrical: m2m.symmetrical,
                declared_on_source: true,
            });
        }
        for declaring in registry.models() {
            for m2m in &declaring.many_to_many {
                if m2m.target != source.name || m2m.reverse_name(&declaring.name) != accessor {
                    continue;
                }
                // A symmetrical relation has no reverse accessor of its own.
                if m2m.symmetrical || m2m.related_name.as_deref() == Some("+") {
                    continue;
                }
                return Relation::new(RelationSpec {
                    name: crate::names::intern(format!("{}.{accessor}", source.name)),
                    declared: crate::names::intern(format!("{}.{}", declaring.name, m2m.name)),
                    source,
                    target: declaring,
                    through: get(&m2m.through)?,
                    source_field: &m2m.target_field,
                    target_field: &m2m.source_field,
                    symmetrical: false,
                    declared_on_source: false,
                });
            }
        }
        Err(unknown(&format!(
            "no many-to-many relation `{accessor}` on `{model}`"
        )))
    }

    /// The source's field the through model's key to the source refers to: its primary
    /// key, or the unique field named by the key's `to_field` (the value a source row is
    /// linked by).
    ///
    /// ```
    /// # use throughline_engine::{doc_support, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let students = Relation::find(&school, "Course", "students")?;
    /// assert_eq!(students.source_referred().name, "id");
    /// assert_eq!(students.target_referred().name, "id");
    /// # Ok(()) }
    /// ```
    pub fn source_referred(&self) -> &'static FieldMeta {
        self.source_referred
    }

    /// The target's field the through model's key to the target refers to (see
    /// [`Relation::source_referred`]): the value a target is linked by.
    ///
    /// ```
    /// # use throughline_engine::{doc_support, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let courses = Relation::find(&school, "Student", "courses")?;
    /// assert_eq!(courses.target_referred().name, "id");
    /// # Ok(()) }
    /// ```
    pub fn target_referred(&self) -> &'static FieldMeta {
        self.target_referred
    }

    /// The relation in its declared direction, as the hook registry holds it.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let hooked = Relation::find(&school, "Student", "courses")?.hooked();
    /// assert_eq!(hooked.relation, "Course.students");
    /// assert_eq!((hooked.source_model, hooked.target_field), ("Course", "student"));
    /// # Ok(()) }
    /// ```
    pub fn hooked(&self) -> HookedRelation {
        RelationSpec {
            name: self.name,
            declared: self.declared,
            source: self.source,
            target: self.target,
            through: self.through,
            source_field: self.source_field,
            target_field: self.target_field,
            symmetrical: self.symmetrical,
            declared_on_source: self.declared_on_source,
        }
        .hooked()
    }

    /// Registers an async hook at `point` on the relation in `hooks` (a database's:
    /// `db.hooks()`); it fires for writes from both sides, direct writes to the through
    /// model, and deletes of either side's rows (see [`crate::hooks`]).
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// # use std::sync::{Arc, Mutex};
    /// # use throughline_db::{Executor, HookPoint};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// students.on(db.hooks(), HookPoint::AfterAdd, move |ctx| {
    ///     let log = log.clone();
    ///     Box::pin(async move {
    ///         log.lock().unwrap().push(ctx.change.targets.clone());
    ///         Ok(())
    ///     })
    /// });
    /// students.from(Value::I64(1)).add(vec![(Value::I64(2), no_values())], &db).await?;
    /// assert_eq!(*seen.lock().unwrap(), vec![vec![Value::I64(2)]]);
    /// # Ok(()) }
    /// ```
    pub fn on<F>(&self, hooks: &Hooks, point: HookPoint, hook: F)
    where
        F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        hooks.register(self.hooked(), point, Arc::new(hook));
    }

    /// Values for through rows, by field name (`[("grade", "A".into())]`), checked against
    /// the through model's fields: the form [`Linking::add`] takes.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let values = students.values([("grade", Value::from("A"))])?;
    /// assert_eq!(&values[..], &[("grade", Value::from("A"))]);
    /// assert!(students.values([("mark", Value::from("A"))]).is_err());
    /// # Ok(()) }
    /// ```
    pub fn values<'n>(&self, given: impl IntoIterator<Item = (&'n str, Value)>) -> Result<Values> {
        let mut out = Vec::new();
        for (name, value) in given {
            let field = self.through.field(name).ok_or_else(|| {
                Error::invalid_query(&self.through.name, format!("no field `{name}`"))
            })?;
            out.push((field.name.as_str(), value));
        }
        Ok(out.into())
    }

    /// The relation seen from the source row whose key is `source` (an unsaved row, a NULL
    /// key, makes every write fail with [`Error::Unsaved`]).
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// let outcome = math.add(vec![(Value::I64(2), no_values())], &db).await?;
    /// assert_eq!(outcome.linked, vec![Value::I64(2)]);
    /// // An unsaved source (a NULL key) cannot be linked.
    /// assert!(students.from(Value::Null).add(vec![(Value::I64(2), no_values())], &db).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn from(&self, source: Value) -> Linking {
        Linking {
            relation: self.clone(),
            source,
            on_existing: OnExisting::Skip,
            protected: None,
        }
    }

    /// The write plan of one call on `exec`: its backend's capabilities, and the hooks
    /// registered when it starts.
    fn plan(&self, exec: &impl Executor) -> Result<WritePlan> {
        let declaring = if self.declared_on_source {
            self.source
        } else {
            self.target
        };
        Ok(WritePlan {
            relation: self.name,
            target_model: self.target.name.as_str(),
            through: self.through,
            source_field: self.source_field,
            target_field: self.target_field,
            source_type: self.source_type,
            target_type: self.target_type,
            symmetrical: self.symmetrical,
            pair_constraint: self.pair_constraint,
            link_extra: self.link_extra.clone(),
            declaring,
            declaring_key: if self.declared_on_source {
                &self.source_referred.name
            } else {
                &self.target_referred.name
            },
            declared_on_source: self.declared_on_source,
            hooks: RelationHooks::of(exec.hooks(), self.declared),
            capabilities: throughline_query::dialect::capabilities(exec.backend())?,
        })
    }
}

/// The error for a row whose field `referred`, which a relation's `to_field` key refers to,
/// is NULL: it cannot be linked, nor its links read (Django raises `ValueError`).
///
/// ```
/// # use throughline_core::{FieldMeta, FieldType, ModelMeta};
/// let car = ModelMeta::new("Car", "car", vec![FieldMeta::new("make", FieldType::String { max_length: None })]);
/// let e = throughline_engine::null_reference(&car, &car.fields[0], "Car.drivers");
/// assert!(e.to_string().contains("make"));
/// ```
pub fn null_reference(model: &ModelMeta, referred: &FieldMeta, relation: &str) -> Error {
    Error::Validation {
        model: model.name.clone(),
        field: referred.name.clone(),
        reason: format!(
            "is NULL, and relation {relation} links rows by it: a row needs a value for it to be linked"
        ),
    }
}

/// No wider link key: one shared empty list, so resolving a relation allocates nothing
/// for it.
fn no_link_extra() -> Arc<[&'static str]> {
    static EMPTY: std::sync::LazyLock<Arc<[&'static str]>> =
        std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    EMPTY.clone()
}

/// Decodes a through row returned by a delete or a dry run into its field values, each at
/// its declared type (the decoder for callers without a model type).
///
/// ```
/// # use throughline_core::*;
/// let meta: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("T", "t", vec![FieldMeta::new("id", FieldType::I64)])));
/// let decode = throughline_engine::row_values(meta);
/// # let _ = decode;
/// ```
pub fn row_values(
    meta: &'static ModelMeta,
) -> impl Fn(&Row<'_>) -> Result<Vec<Value>> + Send + Sync + Copy + 'static {
    move |row| {
        meta.fields
            .iter()
            .enumerate()
            .map(|(i, f)| row.value_as(i, f.ty.as_reference()))
            .collect()
    }
}

/// A relation from one source row: every write of SPEC §3. Deleted and planned through
/// rows come back decoded by the `decode` the caller gives ([`row_values`] for values).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_query::Filter;
/// // Linked from one side, seen from the other: the same through row.
/// let courses = Relation::find(&school, "Student", "courses")?;
/// courses.from(Value::I64(3)).add(vec![(Value::I64(1), no_values())], &db).await?;
/// let rows = throughline_engine::read::rows(&db, courses.through, Filter::All).await?;
/// assert_eq!(rows, vec![vec![Value::I64(1), Value::I64(1), Value::I64(3), Value::from("")]]);
/// let removed = students.from(Value::I64(1)).clear(row_values(students.through), &db).await?;
/// assert_eq!(removed, rows);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Linking {
    relation: Relation,
    source: Value,
    on_existing: OnExisting,
    /// A query listing targets whose links `set` keeps and `clear` refuses to delete (the
    /// targets a default filter hides), read inside the write's transaction.
    protected: Option<Statement>,
}

impl Linking {
    /// The policy for pairs that are already linked (default: skip, as Django).
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// # use throughline_engine::OnExisting;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values())], &db).await?;
    /// let a = students.values([("grade", Value::from("A"))])?;
    /// let outcome = math.clone().on_existing(OnExisting::Update).add(vec![(Value::I64(1), a)], &db).await?;
    /// assert_eq!(outcome.updated, vec![Value::I64(1)]);
    /// let strict = math.on_existing(OnExisting::Fail);
    /// assert!(strict.add(vec![(Value::I64(1), no_values())], &db).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn on_existing(mut self, policy: OnExisting) -> Self {
        self.on_existing = policy;
        self
    }

    /// Protects the links of the targets `targets` lists (one column: the values the
    /// through rows hold, such as the targets a default filter hides, as Django's related
    /// manager never sees them): [`Linking::set`] keeps them (and does not report them as
    /// kept), [`Linking::clear`] and a `set` with `clear_first` refuse to delete them. The
    /// query runs inside the write's transaction, after the lock, so a protected link
    /// added meanwhile is seen.
    ///
    /// ```
    /// # use throughline_core::{Backend, Value};
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # use throughline_query::{FieldPath, Filter, Lookup, Projection, SelectQuery};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
    /// // Student 2's link is protected: a set to student 3 keeps it.
    /// let mut hidden = SelectQuery::new(school.get("Student").unwrap());
    /// hidden.filter(Filter::cond(FieldPath::local("id"), Lookup::Exact(Value::I64(2))));
    /// hidden.projection = Projection::Keys;
    /// let guarded = math.clone().keeping(hidden.render(Backend::Sqlite)?);
    /// let outcome = guarded.set(vec![Value::I64(3)], no_values(), false, row_values(students.through), &db).await?;
    /// assert_eq!(outcome.removed.len(), 1); // student 1's link only
    /// assert!(outcome.kept.is_empty());
    /// assert!(guarded.clear(row_values(students.through), &db).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn keeping(mut self, targets: Statement) -> Self {
        self.protected = Some(targets);
        self
    }

    /// The source's key, checked: NULL (an unsaved row) is [`Error::Unsaved`], a value of
    /// another type than the through model's key field a validation error.
    fn source_key(&self) -> Result<Value> {
        if self.source.is_null() {
            return Err(Error::Unsaved {
                model: self.relation.source.name.clone(),
                action: format!("using relation {}", self.relation.name),
            });
        }
        self.check_keys(self.relation.source_key, std::iter::once(&self.source))?;
        Ok(self.source.clone())
    }

    /// The value a new target `row` will be linked by, when it is not the key the database
    /// gives it: the value of the unique field a `to_field` key refers to, which must not
    /// be NULL (Django: "the value for field ... is None").
    fn link_value_of(&self, row: &[Value]) -> Result<Option<Value>> {
        let referred = self.relation.target_referred;
        if referred.primary_key {
            return Ok(None);
        }
        let target = self.relation.target;
        let value = target
            .field_index(&referred.name)
            .and_then(|i| row.get(i))
            .cloned()
            .unwrap_or(Value::Null);
        if value.is_null() {
            return Err(null_reference(target, referred, self.relation.name));
        }
        Ok(Some(value))
    }

    /// Checks target keys before any SQL: each fits the through model's key field (a
    /// UUID key given as text, or a text key given as a number, is a validation error,
    /// never a row that later reads miss).
    fn check_targets<'k>(&self, keys: impl IntoIterator<Item = &'k Value>) -> Result<()> {
        self.check_keys(self.relation.target_key, keys)
    }

    /// Checks `keys` against `field`, one of the through model's two key fields.
    fn check_keys<'k>(
        &self,
        field: &FieldMeta,
        keys: impl IntoIterator<Item = &'k Value>,
    ) -> Result<()> {
        let through = self.relation.through;
        // The usual key, an integer for an integer column, fits without the full check.
        let integer_column =
            field.choices.is_empty() && matches!(field.ty, FieldType::I64 | FieldType::AutoI64);
        for key in keys {
            if integer_column && matches!(key, Value::I64(_)) {
                continue;
            }
            if key.is_null() {
                return Err(Error::Unsaved {
                    model: field
                        .foreign_key
                        .as_ref()
                        .map_or_else(|| through.name.clone(), |fk| fk.to.clone()),
                    action: format!("linking it through {}", self.relation.name),
                });
            }
            throughline_core::validate::validate_value(through, field, key)?;
        }
        Ok(())
    }

    /// Links the targets of `items`, each with the values for its through row (shared
    /// [`Values`] for a whole call cost nothing per target). Pairs already linked are left
    /// alone (or updated, or refused, per [`Linking::on_existing`]) and reported.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// # use throughline_engine::{AddOutcome, Differing, FieldDiff};
    /// let math = students.from(Value::I64(1));
    /// let a = students.values([("grade", Value::from("A"))])?;
    /// let outcome = math.add(vec![(Value::I64(1), a.clone()), (Value::I64(2), no_values())], &db).await?;
    /// assert_eq!(outcome.linked, vec![Value::I64(1), Value::I64(2)]);
    /// let b = students.values([("grade", Value::from("B"))])?;
    /// let again = math.add(vec![(Value::I64(1), b)], &db).await?;
    /// assert_eq!(again.already_linked, vec![Value::I64(1)]);
    /// let diff = FieldDiff { field: "grade".into(), stored: "A".into(), given: "B".into() };
    /// assert_eq!(again.differing, vec![Differing { target: Value::I64(1), fields: vec![diff] }]);
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, items: Items, exec: &impl Executor) -> Result<AddOutcome> {
        let source = self.source_key()?;
        if items.is_empty() {
            return Ok(AddOutcome::default());
        }
        self.check_targets(items.iter().map(|(k, _)| k))?;
        let plan = self.relation.plan(exec)?;
        let on_existing = self.on_existing;
        // With a unique constraint on the link, no hook and nothing to do for existing
        // links, the insert itself is idempotent: one statement, no transaction.
        let insert_first = plan.can_insert_first(&items, on_existing);
        let access = if insert_first {
            Access::WriteOne
        } else {
            Access::Atomic
        };
        exec.run(
            access,
            op(move |conn| {
                Box::pin(async move {
                    if insert_first {
                        plan.add_insert_first(conn, &source, items).await
                    } else {
                        plan.add(conn, &source, items, on_existing).await
                    }
                })
            }),
        )
        .await
    }

    /// Inserts the target row `row` (every field of the target model, in order; an unset
    /// auto key NULL) and links it with `values`, in one transaction; returns the new
    /// row's key and the add's outcome. The row is validated first.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// let new_student = vec![Value::Null, Value::from("dee")];
    /// let (key, outcome) = math.create(new_student, no_values(), &db).await?;
    /// assert_eq!(key, Value::I64(4));
    /// assert_eq!(outcome.linked, vec![Value::I64(4)]);
    /// # Ok(()) }
    /// ```
    pub async fn create(
        &self,
        row: Vec<Value>,
        values: Values,
        exec: &impl Executor,
    ) -> Result<(Value, AddOutcome)> {
        let source = self.source_key()?;
        let target = self.relation.target;
        crate::validation::validate_instance(target, &row)?;
        let link = self.link_value_of(&row)?;
        let insert = crate::crud::insert_statement(target, &row).into_statement(exec.backend())?;
        let plan = self.relation.plan(exec)?;
        let on_existing = self.on_existing;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    let key = crate::crud::insert_returning_key(conn, &insert, target)
                        .await
                        .map_err(|e| attach_model(e, target))?;
                    let link = link.unwrap_or_else(|| key.clone());
                    let outcome = plan
                        .add(conn, &source, vec![(link, values)], on_existing)
                        .await?;
                    Ok((key, outcome))
                })
            }),
        )
        .await
    }

    /// Django's related-manager `get_or_create` and `update_or_create`, in one
    /// transaction: locks the declaring row (when this side declares the relation), reads
    /// the linked target `find` selects (at most two rows: two are
    /// [`Error::MultipleObjectsReturned`]); when there is one, `update` (if any) turns it
    /// into the row to write back and returns it, else creates `row` and links it with
    /// `values`.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Found, Relation};
    /// # use throughline_query::{FieldPath, Filter, Lookup, SelectQuery};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let student = school.get("Student").unwrap();
    /// let math = Relation::find(&school, "Course", "students")?.from(Value::I64(1));
    /// let mut find = SelectQuery::new(student);
    /// find.filter(Filter::cond(FieldPath::local("name"), Lookup::Exact("zoe".into())));
    /// let find = find.render(throughline_core::Backend::Sqlite)?;
    /// let row = vec![Value::Null, "zoe".into()];
    /// let found = math
    ///     .get_or_create(find, row_values(student), row, no_values(), None, &db)
    ///     .await?;
    /// assert!(matches!(found, Found::Created(_, ref outcome) if outcome.linked.len() == 1));
    /// # Ok(()) }
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub async fn get_or_create<R: Send + 'static>(
        &self,
        find: Statement,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        row: Vec<Value>,
        values: Values,
        update: Option<UpdateFound<R>>,
        exec: &impl Executor,
    ) -> Result<Found<R>> {
        let source = self.source_key()?;
        let target = self.relation.target;
        crate::validation::validate_instance(target, &row)?;
        let link = self.link_value_of(&row)?;
        let insert = crate::crud::insert_statement(target, &row).into_statement(exec.backend())?;
        let plan = self.relation.plan(exec)?;
        let on_existing = self.on_existing;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &[]).await?;
                    let mut found = Vec::new();
                    conn.query(&find, &mut |r| {
                        found.push(decode(r)?);
                        Ok(())
                    })
                    .await?;
                    if found.len() > 1 {
                        return Err(Error::MultipleObjectsReturned {
                            model: target.name.clone(),
                            count: found.len(),
                        });
                    }
                    if let Some(existing) = found.pop() {
                        let Some(update) = update else {
                            return Ok(Found::Existing(existing));
                        };
                        let (updated, row) = update(existing)?;
                        crate::validation::validate_instance(target, &row)?;
                        let pk = target
                            .fields
                            .iter()
                            .position(|f| f.primary_key)
                            .unwrap_or(0);
                        let key = row.get(pk).cloned().unwrap_or(Value::Null);
                        let stmt =
                            crate::crud::row_update(target, &row, key).render(conn.backend())?;
                        conn.execute(&stmt)
                            .await
                            .map_err(|e| attach_model(e, target))?;
                        return Ok(Found::Existing(updated));
                    }
                    let key = crate::crud::insert_returning_key(conn, &insert, target)
                        .await
                        .map_err(|e| attach_model(e, target))?;
                    let link = link.unwrap_or_else(|| key.clone());
                    let outcome = plan
                        .add_locked(conn, &source, vec![(link, values)], on_existing)
                        .await?;
                    Ok(Found::Created(key, outcome))
                })
            }),
        )
        .await
    }

    /// Makes the linked targets exactly `wanted`: rows of pairs that stay are untouched
    /// (their values survive), the others are deleted and returned, new pairs inserted
    /// with `values`. With `clear_first` (Django's `set(objs, clear=True)`), every link is
    /// deleted first and the wanted ones inserted anew.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
    /// let wanted = vec![Value::I64(2), Value::I64(3)];
    /// let outcome = math.set(wanted, no_values(), false, row_values(students.through), &db).await?;
    /// assert_eq!(outcome.kept, vec![Value::I64(2)]);
    /// assert_eq!(outcome.added.linked, vec![Value::I64(3)]);
    /// // The through row of ada (student 1), in full.
    /// assert_eq!(outcome.removed, vec![vec![Value::I64(1), Value::I64(1), Value::I64(1), Value::from("")]]);
    /// # Ok(()) }
    /// ```
    pub async fn set<R: Send + 'static>(
        &self,
        wanted: Vec<Value>,
        values: Values,
        clear_first: bool,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        exec: &impl Executor,
    ) -> Result<SetOutcome<R>> {
        let source = self.source_key()?;
        self.check_targets(&wanted)?;
        let plan = self.relation.plan(exec)?;
        let on_existing = self.on_existing;
        let protected = self.protected.clone();
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &wanted).await?;
                    let protected = plan.protected(conn, protected.as_ref()).await?;
                    if clear_first {
                        plan.refuse_protected(&protected, "clear_and_set")?;
                        let removed = plan.delete_rows(conn, &source, None, &decode).await?;
                        let items = wanted.iter().map(|k| (k.clone(), values.clone())).collect();
                        let added = plan.add_locked(conn, &source, items, on_existing).await?;
                        return Ok(SetOutcome {
                            kept: Vec::new(),
                            added,
                            removed,
                        });
                    }
                    let existing = plan.linked_targets(conn, &source).await?;
                    // Protected links stay, unreported (the caller never asked for them).
                    let mut wanted = wanted;
                    let asked = wanted.len();
                    if !protected.is_empty() {
                        let given: std::collections::HashSet<throughline_core::Key> =
                            wanted.iter().map(throughline_core::Key::of).collect();
                        wanted.extend(
                            protected
                                .into_iter()
                                .filter(|k| !given.contains(&throughline_core::Key::of(k))),
                        );
                    }
                    let (mut kept, add, drop) = split(&wanted, &existing);
                    if wanted.len() > asked {
                        let extra: std::collections::HashSet<throughline_core::Key> = wanted
                            [asked..]
                            .iter()
                            .map(throughline_core::Key::of)
                            .collect();
                        kept.retain(|k| !extra.contains(&throughline_core::Key::of(k)));
                    }
                    let removed = if drop.is_empty() {
                        Vec::new()
                    } else {
                        plan.delete_rows(conn, &source, Some(&drop), &decode)
                            .await?
                    };
                    let items: Items = add.into_iter().map(|k| (k, values.clone())).collect();
                    // The targets to add are known to be unlinked (the row is locked): no
                    // need to read them again, unless links go both ways or have a wider key.
                    let added = if plan.symmetrical || !plan.link_extra.is_empty() {
                        plan.add_locked(conn, &source, items, on_existing).await?
                    } else {
                        plan.add_unlinked(conn, &source, items).await?
                    };
                    Ok(SetOutcome {
                        kept,
                        added,
                        removed,
                    })
                })
            }),
        )
        .await
    }

    /// What [`Linking::set`] would do, without writing.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values())], &db).await?;
    /// let plan = math.plan_set(vec![Value::I64(2)], row_values(students.through), &db).await?;
    /// assert!(plan.keep.is_empty());
    /// assert_eq!(plan.add, vec![Value::I64(2)]);
    /// assert_eq!(plan.remove, vec![vec![Value::I64(1), Value::I64(1), Value::I64(1), Value::from("")]]);
    /// // Nothing was written: ada is still linked.
    /// assert_eq!(math.plan_set(vec![], row_values(students.through), &db).await?.remove.len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn plan_set<R: Send + 'static>(
        &self,
        wanted: Vec<Value>,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        exec: &impl Executor,
    ) -> Result<SetPlan<R>> {
        let source = self.source_key()?;
        self.check_targets(&wanted)?;
        let plan = self.relation.plan(exec)?;
        exec.run(
            Access::ReadPrimary,
            op(move |conn| {
                Box::pin(async move {
                    let existing = plan.linked_targets(conn, &source).await?;
                    let (keep, add, drop) = split(&wanted, &existing);
                    let remove = plan.select_rows(conn, &source, &drop, &decode).await?;
                    Ok(SetPlan { keep, add, remove })
                })
            }),
        )
        .await
    }

    /// Unlinks the targets `keys`: deletes every through row of each pair (several if the
    /// through model allows them) and returns them.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
    /// let removed = math.remove(vec![Value::I64(1), Value::I64(3)], row_values(students.through), &db).await?;
    /// assert_eq!(removed, vec![vec![Value::I64(1), Value::I64(1), Value::I64(1), Value::from("")]]);
    /// # Ok(()) }
    /// ```
    pub async fn remove<R: Send + 'static>(
        &self,
        keys: Vec<Value>,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        exec: &impl Executor,
    ) -> Result<Vec<R>> {
        let source = self.source_key()?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.check_targets(&keys)?;
        let plan = self.relation.plan(exec)?;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &keys).await?;
                    plan.delete_rows(conn, &source, Some(&keys), &decode).await
                })
            }),
        )
        .await
    }

    /// Deletes only the through rows of the target `key` that match `filter` (a wider link
    /// key: the row of one service) and returns them.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// # use throughline_query::{FieldPath, Filter, Lookup};
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), students.values([("grade", "A".into())])?)], &db).await?;
    /// let graded = |g: &str| Filter::cond(FieldPath::local("grade"), Lookup::Exact(g.into()));
    /// let decode = row_values(students.through);
    /// assert!(math.remove_where(Value::I64(1), graded("B"), decode, &db).await?.is_empty());
    /// assert_eq!(math.remove_where(Value::I64(1), graded("A"), decode, &db).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn remove_where<R: Send + 'static>(
        &self,
        key: Value,
        filter: Filter,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        exec: &impl Executor,
    ) -> Result<Vec<R>> {
        let source = self.source_key()?;
        self.check_targets(std::iter::once(&key))?;
        let plan = self.relation.plan(exec)?;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, std::slice::from_ref(&key)).await?;
                    let pair = Filter::cond(
                        FieldPath::local(plan.source_field),
                        throughline_query::Lookup::Exact(source.clone()),
                    )
                    .and(Filter::cond(
                        FieldPath::local(plan.target_field),
                        throughline_query::Lookup::Exact(key.clone()),
                    ))
                    .and(filter);
                    plan.delete_matching(
                        conn,
                        pair,
                        &source,
                        (HookPoint::BeforeRemove, HookPoint::AfterRemove),
                        &decode,
                    )
                    .await
                })
            }),
        )
        .await
    }

    /// Unlinks every target and returns the deleted through rows.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_engine::{doc_support, no_values, row_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let math = students.from(Value::I64(1));
    /// math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
    /// assert_eq!(math.clear(row_values(students.through), &db).await?.len(), 2);
    /// assert!(math.clear(row_values(students.through), &db).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn clear<R: Send + 'static>(
        &self,
        decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
        exec: &impl Executor,
    ) -> Result<Vec<R>> {
        let source = self.source_key()?;
        let plan = self.relation.plan(exec)?;
        let protected = self.protected.clone();
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &[]).await?;
                    let protected = plan.protected(conn, protected.as_ref()).await?;
                    plan.refuse_protected(&protected, "clear")?;
                    plan.delete_rows(conn, &source, None, &decode).await
                })
            }),
        )
        .await
    }
}
