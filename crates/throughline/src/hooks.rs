//! Owns relation hooks: async callbacks registered on a many-to-many relation, run before
//! and after links are added, removed or cleared, inside the operation's transaction and
//! given an executor on it (Django's `m2m_changed`, without its blind spots).
//!
//! Where they fire: every write through the relation manager, from either side (`add*`,
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
//!
//! A hook may await ordinary async work (timers, channels, network) besides the executor it
//! is given; on SQLite it runs on the connection's thread with the caller's tokio runtime
//! entered, and holds the writer while it waits. A hook that panics fails the operation with
//! [`crate::Error::Panicked`] and nothing of it is applied, on every backend.

use crate::constraint_names::attach_model;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use throughline_core::{Backend, ModelMeta, Result, Value};
use throughline_db::{Access, BoxFuture, Conn, Executor, Op};
use throughline_query::{
    DeleteQuery, FieldPath, Filter, FilterGroup, Lookup, Projection, SelectQuery,
};

/// When a hook runs.
///
/// ```
/// assert_ne!(throughline::HookPoint::BeforeAdd, throughline::HookPoint::AfterAdd);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HookPoint {
    /// Before links are inserted (planned targets).
    BeforeAdd,
    /// After links were inserted (targets newly linked).
    AfterAdd,
    /// Before links are deleted (planned targets).
    BeforeRemove,
    /// After links were deleted (targets whose rows were deleted).
    AfterRemove,
    /// Before every link of a row is deleted (its linked targets).
    BeforeClear,
    /// After every link of a row was deleted (targets whose rows were deleted).
    AfterClear,
}

/// What a hook is told: which relation, which declaring row, which targets.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkChange {
    /// When this runs.
    pub point: HookPoint,
    /// The relation, as declared: `Course.students`.
    pub relation: &'static str,
    /// The key of the declaring model's row.
    pub source: Value,
    /// The keys of the other side's rows.
    pub targets: Vec<Value>,
}

/// The executor a hook runs its queries on: the operation's own connection, inside its
/// transaction.
pub struct HookExecutor<'c> {
    conn: tokio::sync::Mutex<&'c mut dyn Conn>,
    backend: Backend,
}

// The trait requires `impl Future + Send`; an `async fn` would not promise `Send`.
#[allow(clippy::manual_async_fn)]
impl Executor for HookExecutor<'_> {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            // An operation a hook runs gets its own savepoint, as on a `Transaction`: an
            // error the hook handles leaves neither half an operation (SQLite) nor an aborted
            // transaction that would silently not commit (PostgreSQL, where any failed
            // statement aborts the transaction, so every operation gets one).
            let mut conn = self.conn.lock().await;
            let conn: &mut dyn Conn = &mut **conn;
            let savepoint = self.backend == Backend::Postgres
                || matches!(access, Access::Atomic | Access::Schema);
            if !savepoint {
                return op(conn).await;
            }
            conn.batch("SAVEPOINT \"tl_hook\"").await?;
            let result = op(&mut *conn).await;
            conn.batch(&throughline_db::transaction::end_savepoint(
                "\"tl_hook\"",
                result.is_ok(),
            ))
            .await?;
            result
        }
    }
}

/// A hook's argument: the change and an executor inside the operation's transaction.
pub struct HookContext<'a, 'c> {
    /// What changed (or is about to).
    pub change: LinkChange,
    /// Runs queries in the operation's transaction.
    pub exec: &'a HookExecutor<'c>,
}

/// A registered hook.
pub type HookFn =
    Arc<dyn for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync>;

/// A relation as hooks see it: declared direction, through model and its two keys.
#[derive(Clone)]
pub(crate) struct HookedRelation {
    pub(crate) relation: &'static str,
    pub(crate) through: &'static str,
    pub(crate) through_meta: fn() -> &'static ModelMeta,
    pub(crate) source_field: String,
    pub(crate) target_field: String,
    pub(crate) source_model: &'static str,
    pub(crate) target_model: &'static str,
}

struct Entry {
    relation: HookedRelation,
    point: HookPoint,
    hook: HookFn,
}

static HOOKS: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

/// Registers `hook` at `point` on `relation` (called by `ManyRelation::on`).
pub(crate) fn register(relation: HookedRelation, point: HookPoint, hook: HookFn) {
    let mut hooks = match HOOKS.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    hooks.push(Entry {
        relation,
        point,
        hook,
    });
}

/// Removes every hook of `relation` (tests, reloading).
pub(crate) fn clear(relation: &str) {
    let mut hooks = match HOOKS.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    hooks.retain(|e| e.relation.relation != relation);
}

/// The hooked relations matching `pick`, with their hooks.
fn matching(
    pick: impl Fn(&HookedRelation) -> bool,
) -> Vec<(HookedRelation, Vec<(HookPoint, HookFn)>)> {
    let hooks = match HOOKS.read() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut out: Vec<(HookedRelation, Vec<(HookPoint, HookFn)>)> = Vec::new();
    for entry in hooks.iter().filter(|e| pick(&e.relation)) {
        match out
            .iter_mut()
            .find(|(r, _)| r.relation == entry.relation.relation)
        {
            Some((_, list)) => list.push((entry.point, entry.hook.clone())),
            None => out.push((
                entry.relation.clone(),
                vec![(entry.point, entry.hook.clone())],
            )),
        }
    }
    out
}

/// The hooks of one relation, captured when an operation starts.
#[derive(Clone, Default)]
pub(crate) struct RelationHooks {
    hooks: Vec<(HookPoint, HookFn)>,
    relation: &'static str,
}

impl RelationHooks {
    /// The hooks registered on the relation called `relation`.
    pub(crate) fn of(relation: &'static str) -> RelationHooks {
        let hooks = matching(|r| r.relation == relation)
            .into_iter()
            .flat_map(|(_, list)| list)
            .collect();
        RelationHooks { hooks, relation }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    pub(crate) fn has(&self, points: &[HookPoint]) -> bool {
        self.hooks.iter().any(|(p, _)| points.contains(p))
    }

    /// Runs the hooks of `point` for `(declaring key, other key)` pairs, one event per
    /// declaring row.
    pub(crate) async fn fire(
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
        let backend = conn.backend();
        let exec = HookExecutor {
            conn: tokio::sync::Mutex::new(conn),
            backend,
        };
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
    let mut index: HashMap<String, usize> = HashMap::new();
    for (source, target) in pairs {
        let key = crate::keys::key_text(source);
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
pub(crate) fn through_is_hooked(through: &str) -> bool {
    !matching(|r| r.through == through).is_empty()
}

/// Whether any hook is registered on a relation whose source or target is `model`.
pub(crate) fn endpoint_is_hooked(model: &str) -> bool {
    !matching(|r| r.source_model == model || r.target_model == model).is_empty()
}

/// Fires the add hooks for rows written directly to the through model `through`, given as
/// the field values of each row.
pub(crate) async fn fire_through_rows(
    conn: &mut dyn Conn,
    through: &'static ModelMeta,
    rows: &[Vec<Value>],
    points: (HookPoint, HookPoint),
    before: bool,
) -> Result<()> {
    for (relation, list) in matching(|r| r.through == through.name) {
        let (Some(s), Some(t)) = (
            through.field_index(&relation.source_field),
            through.field_index(&relation.target_field),
        ) else {
            continue;
        };
        let pairs: Vec<(Value, Value)> =
            rows.iter().map(|r| (r[s].clone(), r[t].clone())).collect();
        let hooks = RelationHooks {
            hooks: list,
            relation: relation.relation,
        };
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
    let through = (relation.through_meta)();
    let type_of = |name: &str| {
        through
            .field(name)
            .map(|f| f.ty.as_reference())
            .ok_or_else(|| {
                throughline_core::Error::invalid_query(&through.name, format!("no field {name}"))
            })
    };
    let (source_ty, target_ty) = (
        type_of(&relation.source_field)?,
        type_of(&relation.target_field)?,
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
pub(crate) async fn before_delete(
    conn: &mut dyn Conn,
    model: &'static ModelMeta,
    groups: &[FilterGroup],
) -> Result<()> {
    let backend = conn.backend();
    for (relation, list) in matching(|r| r.through == model.name) {
        let hooks = RelationHooks {
            hooks: list,
            relation: relation.relation,
        };
        if !hooks.has(&[HookPoint::BeforeRemove]) {
            continue;
        }
        let mut query = SelectQuery::new(model);
        query.groups = groups.to_vec();
        query.projection = Projection::Columns(vec![
            FieldPath::local(&relation.source_field),
            FieldPath::local(&relation.target_field),
        ]);
        let pairs = read_pairs(conn, &relation, &query.render(backend)?).await?;
        hooks.fire(conn, HookPoint::BeforeRemove, &pairs).await?;
    }
    for (relation, list) in
        matching(|r| r.source_model == model.name || r.target_model == model.name)
    {
        let through = (relation.through_meta)();
        let hooks = RelationHooks {
            hooks: list,
            relation: relation.relation,
        };
        let mut keys = SelectQuery::new(model);
        keys.groups = groups.to_vec();
        keys.projection = Projection::Keys;
        let stmt = keys.render(backend)?;
        let mut doomed = Vec::new();
        let key_type = model.pk().ty.as_reference();
        conn.query(&stmt, &mut |row| {
            doomed.push(row.value_as(0, key_type)?);
            Ok(())
        })
        .await?;
        if doomed.is_empty() {
            continue;
        }
        let mut sides = Vec::new();
        if relation.source_model == model.name {
            sides.push(Filter::cond(
                FieldPath::local(&relation.source_field),
                Lookup::In(doomed.clone()),
            ));
        }
        if relation.target_model == model.name {
            sides.push(Filter::cond(
                FieldPath::local(&relation.target_field),
                Lookup::In(doomed.clone()),
            ));
        }
        let filter = Filter::Or(sides);
        let columns = vec![
            FieldPath::local(&relation.source_field),
            FieldPath::local(&relation.target_field),
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
            returning: vec![relation.source_field.clone(), relation.target_field.clone()],
        }
        .render(backend)?;
        let deleted = read_pairs(conn, &relation, &delete)
            .await
            .map_err(|e| attach_model(e, through))?;
        hooks.fire(conn, HookPoint::AfterRemove, &deleted).await?;
    }
    Ok(())
}
