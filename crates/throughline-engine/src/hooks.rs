//! Owns when relation hooks fire and with which keys: around every relation write, around
//! direct writes to a through model, and before deletes of a relation's source or target
//! rows. The hooks themselves are registered on the database
//! ([`throughline_db::Hooks`], reached through [`throughline_db::Executor::hooks`]).
//!
//! Where they fire: every write through the relation API, from either side (`add*`,
//! `create*`, `set*`, `clear_and_set*`, `remove*`, `clear`); direct writes to the through
//! model (`create`, `save` of a new row, `bulk_create`, `delete`, queryset `delete`); and
//! deletes of a source or target row (`Model::delete`, queryset `delete`), whose through
//! rows are then deleted explicitly (`DELETE ... RETURNING`) before the row itself, so that
//! the database's cascade cannot bypass the hooks. Raw SQL, migrations and a queryset
//! `update` of a through row's keys fire none.
//!
//! Events are reported in the relation's declared direction: one event per row of the
//! declaring model, with the keys of the other side. `before_*` hooks receive the planned
//! keys, `after_*` hooks the keys actually affected (empty changes fire nothing). A hook
//! that returns an error aborts the operation, which is rolled back.
//!
//! A hook may await ordinary async work (timers, channels, network) besides the executor it
//! is given; on SQLite it runs on the connection's thread with the caller's tokio runtime
//! entered, and holds the writer while it waits. A hook that panics fails the operation with
//! [`throughline_core::Error::Panicked`] and nothing of it is applied, on every backend.

use crate::constraint_names::attach_model;
use crate::keys::KeyMap;
use throughline_core::{Key, ModelMeta, Result, Value};
use throughline_db::{
    Conn, HookContext, HookExecutor, HookFn, HookPoint, HookedRelation, Hooks, LinkChange,
};
use throughline_query::{
    DeleteQuery, FieldPath, Filter, FilterGroup, Lookup, Projection, SelectQuery,
};

/// The hooks of one relation, captured when an operation starts.
///
/// ```
/// # use throughline_db::{HookPoint, Hooks};
/// # use throughline_engine::{doc_support, hooks::*, Relation};
/// # fn main() -> throughline_core::Result<()> {
/// let school = doc_support::school();
/// let students = Relation::find(&school, "Course", "students")?;
/// let hooks = Hooks::new();
/// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
/// let captured = RelationHooks::of(&hooks, "Course.students");
/// assert!(captured.has(&[HookPoint::AfterAdd]));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct RelationHooks {
    hooks: Vec<(HookPoint, HookFn)>,
    relation: &'static str,
    /// The registry, handed to the executor a hook runs on (its nested writes fire hooks);
    /// kept only when the relation has hooks.
    registry: Option<Hooks>,
}

impl RelationHooks {
    /// The hooks registered in `registry` on the relation declared as `relation`.
    ///
    /// ```
    /// # use throughline_db::{HookPoint, Hooks};
    /// # use throughline_engine::{doc_support, hooks::*, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let hooks = Hooks::new();
    /// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
    /// assert!(!RelationHooks::of(&hooks, "Course.students").is_empty());
    /// assert!(RelationHooks::of(&hooks, "Course.teachers").is_empty());
    /// # Ok(()) }
    /// ```
    pub fn of(registry: &Hooks, relation: &'static str) -> RelationHooks {
        let hooks = registry
            .matching(|r| r.relation == relation)
            .into_iter()
            .flat_map(|(_, list)| list)
            .collect();
        RelationHooks::from_list(registry, relation, hooks)
    }

    /// The hooks `list` of the relation declared as `relation`, found in `registry`.
    fn from_list(
        registry: &Hooks,
        relation: &'static str,
        hooks: Vec<(HookPoint, HookFn)>,
    ) -> RelationHooks {
        RelationHooks {
            registry: (!hooks.is_empty()).then(|| registry.clone()),
            hooks,
            relation,
        }
    }

    /// Whether the relation has no hook at all (the writes then skip every hook step).
    ///
    /// ```
    /// # use throughline_db::{HookPoint, Hooks};
    /// # use throughline_engine::{doc_support, hooks::*, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let hooks = Hooks::new();
    /// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
    /// assert!(!RelationHooks::of(&hooks, "Course.students").is_empty());
    /// assert!(RelationHooks::of(&Hooks::new(), "Course.students").is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Whether a hook is registered at any of `points`.
    ///
    /// ```
    /// # use throughline_db::{HookPoint, Hooks};
    /// # use throughline_engine::{doc_support, hooks::*, Relation};
    /// # fn main() -> throughline_core::Result<()> {
    /// let school = doc_support::school();
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let hooks = Hooks::new();
    /// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
    /// let captured = RelationHooks::of(&hooks, "Course.students");
    /// assert!(captured.has(&[HookPoint::BeforeAdd, HookPoint::AfterAdd]));
    /// assert!(!captured.has(&[HookPoint::BeforeAdd, HookPoint::AfterRemove]));
    /// # Ok(()) }
    /// ```
    pub fn has(&self, points: &[HookPoint]) -> bool {
        self.hooks.iter().any(|(p, _)| points.contains(p))
    }

    /// Runs the hooks of `point` for `(declaring key, other key)` pairs, one event per
    /// declaring row.
    ///
    /// ```
    /// # use throughline_core::Value;
    /// # use throughline_db::{op, Access, Executor, HookPoint};
    /// # use throughline_engine::{doc_support, hooks::*, no_values, Relation};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = doc_support::seeded_school_db().await?;
    /// let students = Relation::find(&school, "Course", "students")?;
    /// let seen = doc_support::record(db.hooks(), &students, HookPoint::AfterAdd);
    /// let captured = RelationHooks::of(db.hooks(), "Course.students");
    /// let pairs = vec![(Value::I64(1), Value::I64(2)), (Value::I64(1), Value::I64(3))];
    /// db.run(Access::Atomic, op(move |conn| Box::pin(async move {
    ///     captured.fire(conn, HookPoint::AfterAdd, &pairs).await
    /// }))).await?;
    /// // One event per declaring row.
    /// assert_eq!(*seen.lock().unwrap(), vec![(Value::I64(1), vec![Value::I64(2), Value::I64(3)])]);
    /// # Ok(()) }
    /// ```
    pub async fn fire(
        &self,
        conn: &mut dyn Conn,
        point: HookPoint,
        pairs: &[(Value, Value)],
    ) -> Result<()> {
        let selected: Vec<&HookFn> = self
            .hooks
            .iter()
            .filter(|(p, _)| *p == point)
            .map(|(_, h)| h)
            .collect();
        if selected.is_empty() || pairs.is_empty() {
            return Ok(());
        }
        let exec = HookExecutor::new(conn, self.registry.clone().unwrap_or_default());
        for (source, targets) in group(pairs) {
            for hook in &selected {
                let context = HookContext {
                    change: LinkChange {
                        point,
                        relation: self.relation,
                        source: source.clone(),
                        targets: targets.clone(),
                    },
                    exec: &exec,
                };
                hook(&context).await?;
            }
        }
        Ok(())
    }
}

/// Groups pairs by their first key, keeping first-seen order.
fn group(pairs: &[(Value, Value)]) -> Vec<(Value, Vec<Value>)> {
    let mut out: Vec<(Value, Vec<Value>)> = Vec::new();
    let mut index: KeyMap<Key, usize> = KeyMap::default();
    for (source, target) in pairs {
        let key = Key::of(source);
        match index.get(&key) {
            Some(i) => out[*i].1.push(target.clone()),
            None => {
                index.insert(key, out.len());
                out.push((source.clone(), vec![target.clone()]));
            }
        }
    }
    out
}

/// Whether any hook is registered on a relation through `through`.
///
/// ```
/// # use throughline_db::{HookPoint, Hooks};
/// # use throughline_engine::{doc_support, hooks::*, Relation};
/// # fn main() -> throughline_core::Result<()> {
/// let school = doc_support::school();
/// let students = Relation::find(&school, "Course", "students")?;
/// let hooks = Hooks::new();
/// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
/// assert!(through_is_hooked(&hooks, "Enrollment"));
/// assert!(!through_is_hooked(&hooks, "Student"));
/// # Ok(()) }
/// ```
pub fn through_is_hooked(hooks: &Hooks, through: &str) -> bool {
    hooks.any(|r| r.through.name == through)
}

/// Whether any hook is registered on a relation whose source or target is `model`.
///
/// ```
/// # use throughline_db::{HookPoint, Hooks};
/// # use throughline_engine::{doc_support, hooks::*, Relation};
/// # fn main() -> throughline_core::Result<()> {
/// let school = doc_support::school();
/// let students = Relation::find(&school, "Course", "students")?;
/// let hooks = Hooks::new();
/// students.on(&hooks, HookPoint::AfterAdd, |_| Box::pin(async { Ok(()) }));
/// assert!(endpoint_is_hooked(&hooks, "Student") && endpoint_is_hooked(&hooks, "Course"));
/// assert!(!endpoint_is_hooked(&hooks, "Enrollment"));
/// # Ok(()) }
/// ```
pub fn endpoint_is_hooked(hooks: &Hooks, model: &str) -> bool {
    hooks.any(|r| r.source_model == model || r.target_model == model)
}

/// Fires the add hooks for rows written directly to the through model `through`, given as
/// the field values of each row.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_db::{op, Access, Executor, HookPoint};
/// # use throughline_engine::{doc_support, hooks::*, no_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// let seen = doc_support::record(db.hooks(), &students, HookPoint::BeforeAdd);
/// let (hooks, through) = (db.hooks().clone(), students.through);
/// let rows = vec![vec![Value::Null, Value::I64(1), Value::I64(2), Value::from("")]];
/// let points = (HookPoint::BeforeAdd, HookPoint::AfterAdd);
/// db.run(Access::Atomic, op(move |conn| Box::pin(async move {
///     fire_through_rows(conn, &hooks, through, &rows, points, true).await
/// }))).await?;
/// assert_eq!(*seen.lock().unwrap(), vec![(Value::I64(1), vec![Value::I64(2)])]);
/// # Ok(()) }
/// ```
pub async fn fire_through_rows(
    conn: &mut dyn Conn,
    registry: &Hooks,
    through: &'static ModelMeta,
    rows: &[Vec<Value>],
    points: (HookPoint, HookPoint),
    before: bool,
) -> Result<()> {
    for (relation, list) in registry.matching(|r| r.through.name == through.name) {
        let (Some(s), Some(t)) = (
            through.field_index(relation.source_field),
            through.field_index(relation.target_field),
        ) else {
            continue;
        };
        let pairs: Vec<(Value, Value)> =
            rows.iter().map(|r| (r[s].clone(), r[t].clone())).collect();
        let hooks = RelationHooks::from_list(registry, relation.relation, list);
        let point = if before { points.0 } else { points.1 };
        hooks.fire(conn, point, &pairs).await?;
    }
    Ok(())
}

/// Reads `(source, target)` pairs of `relation`'s through rows, each key at its declared
/// type (a UUID key stored as text on SQLite comes back as a UUID, as on PostgreSQL).
async fn read_pairs(
    conn: &mut dyn Conn,
    relation: &HookedRelation,
    stmt: &throughline_query::Statement,
) -> Result<Vec<(Value, Value)>> {
    let through = relation.through;
    let type_of = |name: &str| {
        through
            .field(name)
            .map(|f| f.ty.as_reference())
            .ok_or_else(|| {
                throughline_core::Error::invalid_query(&through.name, format!("no field {name}"))
            })
    };
    let (source_ty, target_ty) = (
        type_of(relation.source_field)?,
        type_of(relation.target_field)?,
    );
    let mut pairs = Vec::new();
    conn.query(stmt, &mut |row| {
        pairs.push((row.value_as(0, source_ty)?, row.value_as(1, target_ty)?));
        Ok(())
    })
    .await?;
    Ok(pairs)
}

/// Before rows of `model` matching `groups` are deleted: for every hooked relation whose
/// source or target is `model`, deletes the through rows referring to them explicitly,
/// firing the remove hooks (so that the database's cascade cannot bypass them); for every
/// hooked relation through `model`, fires the before-remove hooks of the rows.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_db::{op, Access, Executor, HookPoint};
/// # use throughline_engine::{doc_support, hooks::*, no_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_query::Filter;
/// students.from(Value::I64(1)).add(vec![(Value::I64(2), no_values())], &db).await?;
/// let seen = doc_support::record(db.hooks(), &students, HookPoint::AfterRemove);
/// let (hooks, student) = (db.hooks().clone(), students.target);
/// let bob = vec![throughline_engine::crud::key_group(student, Value::I64(2))];
/// db.run(Access::Atomic, op(move |conn| Box::pin(async move {
///     before_delete(conn, &hooks, student, &bob).await
/// }))).await?;
/// assert_eq!(*seen.lock().unwrap(), vec![(Value::I64(1), vec![Value::I64(2)])]);
/// assert!(throughline_engine::read::rows(&db, students.through, Filter::All).await?.is_empty());
/// # Ok(()) }
/// ```
pub async fn before_delete(
    conn: &mut dyn Conn,
    registry: &Hooks,
    model: &'static ModelMeta,
    groups: &[FilterGroup],
) -> Result<()> {
    let backend = conn.backend();
    for (relation, list) in registry.matching(|r| r.through.name == model.name) {
        let hooks = RelationHooks::from_list(registry, relation.relation, list);
        if !hooks.has(&[HookPoint::BeforeRemove]) {
            continue;
        }
        let mut query = SelectQuery::new(model);
        query.groups = groups.to_vec();
        query.projection = Projection::Columns(vec![
            FieldPath::local(relation.source_field),
            FieldPath::local(relation.target_field),
        ]);
        let pairs = read_pairs(conn, &relation, &query.render(backend)?).await?;
        hooks.fire(conn, HookPoint::BeforeRemove, &pairs).await?;
    }
    for (relation, list) in
        registry.matching(|r| r.source_model == model.name || r.target_model == model.name)
    {
        let through = relation.through;
        let hooks = RelationHooks::from_list(registry, relation.relation, list);
        let mut sides = Vec::new();
        // The values read per referred field: a relation of a model to itself reads them
        // once for both sides.
        let mut read: Vec<(&str, Vec<Value>)> = Vec::new();
        for (on_this_side, key_field) in [
            (relation.source_model == model.name, relation.source_field),
            (relation.target_model == model.name, relation.target_field),
        ] {
            if !on_this_side {
                continue;
            }
            // The through rows hold the value of the field their key refers to: the
            // primary key, or a `to_field`.
            let referred = through
                .field(key_field)
                .and_then(|f| f.foreign_key.as_ref())
                .map_or_else(|| model.pk(), |fk| fk.referenced(model));
            if let Some((_, doomed)) = read.iter().find(|(name, _)| *name == referred.name) {
                if !doomed.is_empty() {
                    sides.push(Filter::cond(
                        FieldPath::local(key_field),
                        Lookup::In(doomed.clone()),
                    ));
                }
                continue;
            }
            let mut values = SelectQuery::new(model);
            values.groups = groups.to_vec();
            values.projection = Projection::Columns(vec![FieldPath::local(&referred.name)]);
            let stmt = values.render(backend)?;
            let mut doomed = Vec::new();
            let value_type = referred.ty.as_reference();
            conn.query(&stmt, &mut |row| {
                let value = row.value_as(0, value_type)?;
                if !value.is_null() {
                    doomed.push(value);
                }
                Ok(())
            })
            .await?;
            if !doomed.is_empty() {
                sides.push(Filter::cond(
                    FieldPath::local(key_field),
                    Lookup::In(doomed.clone()),
                ));
            }
            read.push((&referred.name, doomed));
        }
        if sides.is_empty() {
            continue;
        }
        let filter = Filter::Or(sides);
        let columns = vec![
            FieldPath::local(relation.source_field),
            FieldPath::local(relation.target_field),
        ];
        if hooks.has(&[HookPoint::BeforeRemove]) {
            let mut select = SelectQuery::new(through);
            select.filter(filter.clone());
            select.projection = Projection::Columns(columns);
            let pairs = read_pairs(conn, &relation, &select.render(backend)?).await?;
            hooks.fire(conn, HookPoint::BeforeRemove, &pairs).await?;
        }
        let delete = DeleteQuery {
            model: through,
            groups: vec![FilterGroup::filter(filter)],
            returning: vec![
                relation.source_field.to_owned(),
                relation.target_field.to_owned(),
            ],
        }
        .render(backend)?;
        let deleted = read_pairs(conn, &relation, &delete)
            .await
            .map_err(|e| attach_model(e, through))?;
        hooks.fire(conn, HookPoint::AfterRemove, &deleted).await?;
    }
    Ok(())
}
