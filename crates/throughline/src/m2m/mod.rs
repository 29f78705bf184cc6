//! Owns many-to-many relations: [`ManyRelation`] (the relation, generated as a constant by
//! `#[throughline(many_to_many(...))]`), [`ManyRelated`] (the relation seen from one saved
//! instance: `course.students()`), the write operations and their outcomes (SPEC §3).
//!
//! Every write is one operation (one transaction, one hop to SQLite's thread) with a
//! constant number of statements, whatever the number of targets: lock the declaring
//! side's row(s) (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` serializes writers),
//! read the existing rows of the requested pairs, insert the missing ones
//! (`ON CONFLICT DO NOTHING RETURNING` when a pair constraint exists), and, with
//! [`OnExisting::Update`], update the differing ones. Deletes return the deleted through
//! rows in full.
//!
//! The plan each write runs and its statements are in `write`; key hashing and the diff of
//! a `set` in `keys`.

mod keys;
mod write;

use crate::keys::key_column;
use keys::{keys_of, saved_key, split};
use write::items_of;
use write::{Items, Values, WritePlan, no_values};

use crate::Model;
use crate::constraint_names::attach_model;
use crate::fields::Q;
use crate::group::{self, Runs};
use crate::hooks::{HookContext, HookPoint, HookedRelation, RelationHooks};
use crate::queryset::QuerySet;
use crate::through::{AddWithoutValues, ThroughValues, ThroughValuesFor};
use std::marker::PhantomData;
use throughline_core::{Error, FieldMeta, Result, Value};
use throughline_db::{Access, BoxFuture, Executor, op};
use throughline_query::{FieldPath, Filter, FilterGroup, Hop, Lookup};

/// What `add_with` does with pairs that are already linked.
///
/// ```
/// assert_eq!(throughline::OnExisting::default(), throughline::OnExisting::Skip);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnExisting {
    /// Leave them as they are (as Django); the outcome lists them, and those whose stored
    /// values differ from the given ones.
    #[default]
    Skip,
    /// Write the given values into them (only the fields given).
    Update,
    /// Fail with [`Error::AlreadyLinked`] and write nothing.
    Fail,
}

/// One field whose stored value differs from the value given to `add_with`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// The through model's field.
    pub field: String,
    /// The value in the database.
    pub stored: Value,
    /// The value given.
    pub given: Value,
}

/// An already-linked target whose stored through values differ from the given ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Differing {
    /// The target's key.
    pub target: Value,
    /// The fields that differ.
    pub fields: Vec<FieldDiff>,
}

/// What an `add` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddOutcome {
    /// Targets newly linked, in the order given.
    pub linked: Vec<Value>,
    /// Targets that were already linked (nothing was inserted for them).
    pub already_linked: Vec<Value>,
    /// Already-linked targets whose stored values differ from the given ones (only the
    /// fields given are compared).
    pub differing: Vec<Differing>,
    /// Already-linked targets whose values were updated ([`OnExisting::Update`]).
    pub updated: Vec<Value>,
}

/// What a `set` did.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOutcome<Th> {
    /// Targets that stayed linked; their through rows were not touched.
    pub kept: Vec<Value>,
    /// The add of the new targets.
    pub added: AddOutcome,
    /// The through rows deleted, in full.
    pub removed: Vec<Th>,
}

/// What a `set` would do (a dry run): nothing was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SetPlan<Th> {
    /// Targets that would stay linked.
    pub keep: Vec<Value>,
    /// Targets that would be linked.
    pub add: Vec<Value>,
    /// The through rows that would be deleted.
    pub remove: Vec<Th>,
}

/// A many-to-many relation from `S` to `T` through `Th`, `P` naming its two keys. The
/// derive macro generates one per declared relation (and its reverse).
pub struct ManyRelation<S, T, Th, P> {
    /// The relation's name for messages, `Model.accessor`.
    pub name: &'static str,
    /// The name of the relation as declared (the same for both directions).
    pub declared: &'static str,
    /// The through model's foreign key to `S`.
    pub source_field: &'static str,
    /// The through model's foreign key to `T`.
    pub target_field: &'static str,
    /// Whether links are written in both directions.
    pub symmetrical: bool,
    /// Whether `S` is the model that declared the relation (its rows are the ones locked).
    pub declared_on_source: bool,
    _types: Types<S, T, Th, P>,
}

/// The relation's types, held without owning values of them.
type Types<S, T, Th, P> = PhantomData<fn() -> (S, T, Th, P)>;

impl<S, T, Th, P> Clone for ManyRelation<S, T, Th, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, T, Th, P> Copy for ManyRelation<S, T, Th, P> {}

impl<S: Model, T: Model, Th: Model, P> ManyRelation<S, T, Th, P> {
    /// A relation description (generated by the macro).
    pub const fn new(
        name: &'static str,
        declared: &'static str,
        source_field: &'static str,
        target_field: &'static str,
        symmetrical: bool,
        declared_on_source: bool,
    ) -> Self {
        ManyRelation {
            name,
            declared,
            source_field,
            target_field,
            symmetrical,
            declared_on_source,
            _types: PhantomData,
        }
    }

    /// Registers an async hook on the relation (both directions, direct writes to the
    /// through model, and deletes of either side's rows; see [`crate::hooks`]).
    ///
    /// ```ignore
    /// Course::STUDENTS_RELATION.on(HookPoint::AfterAdd, |ctx| Box::pin(async move {
    ///     println!("{:?} linked to {:?}", ctx.change.source, ctx.change.targets);
    ///     Ok(())
    /// }));
    /// ```
    pub fn on<F>(&self, point: HookPoint, hook: F)
    where
        F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        crate::hooks::register(self.hooked(), point, std::sync::Arc::new(hook));
    }

    /// Removes every hook of the relation.
    pub fn clear_hooks(&self) {
        crate::hooks::clear(self.declared);
    }

    /// The relation in its declared direction, for the hook registry.
    fn hooked(&self) -> HookedRelation {
        let (source_field, target_field, source_model, target_model) = if self.declared_on_source {
            (
                self.source_field,
                self.target_field,
                S::MODEL_NAME,
                T::MODEL_NAME,
            )
        } else {
            (
                self.target_field,
                self.source_field,
                T::MODEL_NAME,
                S::MODEL_NAME,
            )
        };
        HookedRelation {
            relation: self.declared,
            through: Th::MODEL_NAME,
            through_meta: Th::meta,
            source_field: source_field.to_owned(),
            target_field: target_field.to_owned(),
            source_model,
            target_model,
        }
    }

    /// The relation seen from `source`.
    pub fn of(&self, source: &S) -> ManyRelated<S, T, Th, P> {
        ManyRelated {
            relation: *self,
            source: source.pk_value(),
            on_existing: OnExisting::Skip,
        }
    }

    fn column(&self, field: &str) -> Result<&'static FieldMeta> {
        Th::meta().field(field).ok_or_else(|| {
            Error::invalid_query(
                Th::MODEL_NAME,
                format!(
                    "through model has no field `{field}` (relation {})",
                    self.name
                ),
            )
        })
    }

    /// The hop from `T` to the through rows referring to it.
    fn target_to_through(&self) -> Result<Hop> {
        Hop::reverse(T::meta(), Th::meta(), self.target_field)
    }

    /// The through rows of every source, each with its target loaded, in one query, aligned
    /// with `sources` (Django's `prefetch_related` of a many-to-many, with the through
    /// rows). Each source's rows are ordered by the through model's default ordering, else
    /// by its key.
    pub async fn prefetch(&self, sources: &[S], exec: &impl Executor) -> Result<Vec<Vec<Th>>> {
        let keys: Vec<Value> = sources
            .iter()
            .map(Model::pk_value)
            .filter(|k| !k.is_null())
            .collect();
        if keys.is_empty() {
            return Ok(sources.iter().map(|_| Vec::new()).collect());
        }
        // Each source's rows are sorted here by an integer key rather than by the database:
        // PostgreSQL would sort every joined row before sending the first (a Sort over the
        // hash join, ~15 % of a 10,000-row prefetch), and SQLite needs a temporary B-tree
        // unless the source column has an index of its own (it does not when the pair's
        // unique constraint starts with it). Rows that arrive in order (SQLite reading the
        // source's own index) cost one check.
        let sort_here = group::sorted_here::<Th>();
        let column = key_column::<Th>(self.source_field)?;
        let runs = self
            .links_query(Lookup::In(keys), !sort_here)?
            .fold(exec, Runs::default(), move |runs, link| {
                runs.push(link, |link| link.related_key(column));
                Ok(())
            })
            .await?;
        let mut groups = runs.into_groups(sources.iter().map(Model::pk_value));
        if sort_here {
            group::in_key_order(&mut groups);
        }
        Ok(groups)
    }

    /// Through rows whose source key matches `lookup`, with the target loaded; ordered by
    /// the through model's default ordering, else (if `ordered`) by source, then key.
    fn links_query(&self, lookup: Lookup, ordered: bool) -> Result<QuerySet<Th>> {
        let hop = Hop::forward(Th::meta(), self.target_field, T::meta())?;
        // Without a default ordering and unless the caller sorts: by source, then key.
        let mut order = Vec::new();
        if Th::meta().ordering.is_empty() && ordered {
            for field in [self.source_field, Th::meta().pk().name.as_str()] {
                order.push(throughline_query::OrderBy {
                    path: FieldPath::local(field),
                    descending: false,
                });
            }
        }
        let qs = QuerySet::<Th>::from_groups(vec![FilterGroup::filter(Filter::cond(
            FieldPath::local(self.source_field),
            lookup,
        ))])
        .select_related_hops(self.target_field, vec![hop]);
        Ok(if order.is_empty() {
            qs
        } else {
            qs.order_by(order)
        })
    }
}

/// A many-to-many relation seen from one instance (`course.students()`): reads and writes
/// of its links. An unsaved source makes every operation fail with [`Error::Unsaved`].
pub struct ManyRelated<S, T, Th, P> {
    relation: ManyRelation<S, T, Th, P>,
    source: Value,
    on_existing: OnExisting,
}

impl<S: Model, T: Model, Th: Model, P> ManyRelated<S, T, Th, P> {
    /// The policy for pairs that are already linked (default: skip, as Django).
    pub fn on_existing(mut self, policy: OnExisting) -> Self {
        self.on_existing = policy;
        self
    }

    fn source_key(&self) -> Result<Value> {
        if self.source.is_null() {
            return Err(Error::Unsaved {
                model: S::MODEL_NAME.to_owned(),
                action: format!("using relation {}", self.relation.name),
            });
        }
        Ok(self.source.clone())
    }

    /// The targets, as a queryset (filter, order, count... on target and through fields).
    /// The first `filter` applies to the same through row as the relation's own condition
    /// (as Django), so `filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A+"))` reads
    /// the grade of this course's enrollment.
    pub fn query(&self) -> Result<QuerySet<T>> {
        let hop = self.relation.target_to_through()?;
        let path = FieldPath {
            hops: vec![hop],
            field: self.relation.source_field.to_owned(),
        };
        Ok(QuerySet::from_groups(vec![FilterGroup::filter(Filter::cond(
            path,
            Lookup::Exact(self.source_key()?),
        ))])
        .make_sticky())
    }

    /// Every target (a pair with two through rows yields its target twice, as Django; use
    /// `query()?.distinct()` for one each).
    pub async fn all(&self, exec: &impl Executor) -> Result<Vec<T>> {
        self.query()?.all(exec).await
    }

    /// The targets matching `q` (on target fields, or through fields reached from the
    /// target; conditions apply to this relation's through row).
    pub fn filter(&self, q: Q<T>) -> Result<QuerySet<T>> {
        Ok(self.query()?.filter(q))
    }

    /// The number of links (through rows).
    pub async fn count(&self, exec: &impl Executor) -> Result<u64> {
        self.query()?.count(exec).await
    }

    /// Whether any target is linked.
    pub async fn exists(&self, exec: &impl Executor) -> Result<bool> {
        self.query()?.exists(exec).await
    }

    /// Whether `target` is linked.
    pub async fn contains(&self, target: &T, exec: &impl Executor) -> Result<bool> {
        let key = saved_key(target)?;
        let pk = FieldPath::local(&T::meta().pk().name);
        let mut qs = self.query()?;
        qs = qs.filter(Q::new(Filter::cond(pk, Lookup::Exact(key))));
        qs.exists(exec).await
    }

    /// The through rows of this source, each with its target loaded (Django's
    /// `Enrollment.objects.filter(course=c).select_related("student")`).
    pub fn links(&self) -> Result<QuerySet<Th>> {
        self.relation
            .links_query(Lookup::Exact(self.source_key()?), true)
    }

    /// Links `targets` (rows of pairs already linked are left alone and reported). Only
    /// compiles when every extra field of the through model has a default; otherwise use
    /// [`ManyRelated::add_with`].
    pub async fn add<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_add(items_of(targets, no_values())?, exec).await
    }

    /// Links `targets` with `values` for their through rows (Django's `through_defaults`).
    /// The values are computed once, by the caller, and shared by every row of the call
    /// (both directions of a symmetrical relation included).
    pub async fn add_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_add(items_of(targets, Values::from(values.passed()))?, exec)
            .await
    }

    /// Links each target with its own values, in one call (Django rejected per-target values,
    /// ticket #9475).
    pub async fn add_each<'t>(
        &self,
        items: impl IntoIterator<Item = (&'t T, <Th as ThroughValuesFor<P>>::Values)>,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: ThroughValuesFor<P>,
    {
        let mut prepared = Vec::new();
        for (target, values) in items {
            prepared.push((saved_key(target)?, Values::from(values.passed())));
        }
        self.write_add(prepared, exec).await
    }

    /// Creates `target` and links it, in one transaction.
    pub async fn create(&self, target: T, exec: &impl Executor) -> Result<(T, AddOutcome)>
    where
        Th: AddWithoutValues<P>,
    {
        self.create_inner(target, no_values(), exec).await
    }

    /// Creates `target` and links it with `values`, in one transaction.
    pub async fn create_with(
        &self,
        target: T,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<(T, AddOutcome)>
    where
        Th: ThroughValuesFor<P>,
    {
        self.create_inner(target, Values::from(values.passed()), exec)
            .await
    }

    async fn create_inner(
        &self,
        target: T,
        values: Values,
        exec: &impl Executor,
    ) -> Result<(T, AddOutcome)> {
        let source = self.source_key()?;
        let mut target = target;
        target.before_save(true);
        let row = target.to_values();
        crate::validation::validate_instance(T::meta(), &row)?;
        let insert = crate::crud::insert_statement::<T>(&row).into_statement(exec.backend())?;
        let plan = self.plan()?;
        let on_existing = self.on_existing;
        let (key, outcome) = exec
            .run(
                Access::Atomic,
                op(move |conn| {
                    Box::pin(async move {
                        let mut key = Value::Null;
                        conn.query(&insert, &mut |r| {
                            key = r.value_as(0, T::PK_TYPE)?;
                            Ok(())
                        })
                        .await
                        .map_err(|e| attach_model(e, T::meta()))?;
                        let outcome = plan
                            .add(conn, &source, vec![(key.clone(), values)], on_existing)
                            .await?;
                        Ok((key, outcome))
                    })
                }),
            )
            .await?;
        target.set_pk_value(key)?;
        Ok((target, outcome))
    }

    async fn write_add(&self, items: Items, exec: &impl Executor) -> Result<AddOutcome> {
        let source = self.source_key()?;
        if items.is_empty() {
            return Ok(AddOutcome::default());
        }
        let plan = self.plan()?;
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

    /// Makes the linked targets exactly `targets`: rows of pairs that stay are untouched
    /// (their values survive), the others are deleted and returned, new pairs inserted.
    pub async fn set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_set(keys_of(targets)?, no_values(), false, exec)
            .await
    }

    /// [`ManyRelated::set`], with values for the rows it inserts.
    pub async fn set_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_set(
            keys_of(targets)?,
            Values::from(values.passed()),
            false,
            exec,
        )
        .await
    }

    /// Django's `set(objs, clear=True)`: deletes every link, then links `targets` anew, so
    /// the values of pairs that stay are reset (and returned among the deleted rows).
    pub async fn clear_and_set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_set(keys_of(targets)?, no_values(), true, exec)
            .await
    }

    /// [`ManyRelated::clear_and_set`] with values for the rows it inserts.
    pub async fn clear_and_set_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_set(keys_of(targets)?, Values::from(values.passed()), true, exec)
            .await
    }

    /// What [`ManyRelated::set`] would do, without writing.
    pub async fn plan_set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetPlan<Th>> {
        let source = self.source_key()?;
        let wanted = keys_of(targets)?;
        let plan = self.plan()?;
        exec.run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let existing = plan.linked_targets(conn, &source).await?;
                    let (keep, add, drop) = split(&wanted, &existing);
                    let remove = plan.select_rows::<Th>(conn, &source, &drop).await?;
                    Ok(SetPlan { keep, add, remove })
                })
            }),
        )
        .await
    }

    async fn write_set(
        &self,
        wanted: Vec<Value>,
        values: Values,
        clear_first: bool,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>> {
        let source = self.source_key()?;
        let plan = self.plan()?;
        let on_existing = self.on_existing;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &wanted).await?;
                    if clear_first {
                        let removed = plan.delete_rows::<Th>(conn, &source, None).await?;
                        let items = wanted.iter().map(|k| (k.clone(), values.clone())).collect();
                        let added = plan.add_locked(conn, &source, items, on_existing).await?;
                        return Ok(SetOutcome {
                            kept: Vec::new(),
                            added,
                            removed,
                        });
                    }
                    let existing = plan.linked_targets(conn, &source).await?;
                    let (kept, add, drop) = split(&wanted, &existing);
                    let removed = if drop.is_empty() {
                        Vec::new()
                    } else {
                        plan.delete_rows::<Th>(conn, &source, Some(&drop)).await?
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

    /// Unlinks `targets`: deletes every through row of each pair (several if the through
    /// model allows them) and returns them.
    pub async fn remove<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<Vec<Th>> {
        let source = self.source_key()?;
        let keys = keys_of(targets)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let plan = self.plan()?;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &keys).await?;
                    plan.delete_rows::<Th>(conn, &source, Some(&keys)).await
                })
            }),
        )
        .await
    }

    /// Deletes only the through rows of `target` matching `q` (a wider link key: the
    /// TopicSystem row of one service) and returns them.
    pub async fn remove_where(
        &self,
        target: &T,
        q: Q<Th>,
        exec: &impl Executor,
    ) -> Result<Vec<Th>> {
        let source = self.source_key()?;
        let key = saved_key(target)?;
        let plan = self.plan()?;
        let filter = q.into_filter();
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, std::slice::from_ref(&key)).await?;
                    let pair = Filter::cond(
                        FieldPath::local(plan.source_field),
                        Lookup::Exact(source.clone()),
                    )
                    .and(Filter::cond(
                        FieldPath::local(plan.target_field),
                        Lookup::Exact(key.clone()),
                    ))
                    .and(filter);
                    plan.delete_matching::<Th>(
                        conn,
                        pair,
                        &source,
                        (HookPoint::BeforeRemove, HookPoint::AfterRemove),
                    )
                    .await
                })
            }),
        )
        .await
    }

    /// Unlinks every target and returns the deleted through rows.
    pub async fn clear(&self, exec: &impl Executor) -> Result<Vec<Th>> {
        let source = self.source_key()?;
        let plan = self.plan()?;
        exec.run(
            Access::Atomic,
            op(move |conn| {
                Box::pin(async move {
                    plan.lock(conn, &source, &[]).await?;
                    plan.delete_rows::<Th>(conn, &source, None).await
                })
            }),
        )
        .await
    }

    fn plan(&self) -> Result<WritePlan> {
        let through = Th::meta();
        let source = self.relation.column(self.relation.source_field)?;
        let target = self.relation.column(self.relation.target_field)?;
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
        let declaring = if self.relation.declared_on_source {
            S::meta()
        } else {
            T::meta()
        };
        Ok(WritePlan {
            relation: self.relation.name,
            target_model: T::MODEL_NAME,
            through,
            source_field: &source.name,
            target_field: &target.name,
            source_type: source.ty,
            target_type: target.ty,
            symmetrical: self.relation.symmetrical,
            pair_constraint,
            link_extra,
            declaring,
            declared_on_source: self.relation.declared_on_source,
            hooks: RelationHooks::of(self.relation.declared),
        })
    }
}
