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

use crate::Model;
use crate::crud::attach_model;
use crate::fields::Q;
use crate::group::Runs;
use crate::hooks::{HookContext, HookPoint, HookedRelation, RelationHooks};
use crate::queryset::QuerySet;
use crate::through::{AddWithoutValues, ThroughValues, ThroughValuesFor};
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;
use throughline_core::validate::validate_value;
use throughline_core::{DefaultValue, Error, FieldMeta, FieldType, ModelMeta, Result, Value};
use throughline_db::{Access, BoxFuture, Conn, Decode, Executor, op};
use throughline_query::{
    Conflict, DeleteQuery, FieldPath, Filter, FilterGroup, Hop, InsertQuery, Lookup, Projection,
    SelectQuery, UpdateQuery,
};

/// What `add_with` does with pairs that are already linked.
///
/// ```
/// assert_eq!(throughline::OnExisting::default(), throughline::OnExisting::Skip);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
        let sort_here = Th::meta().ordering.is_empty()
            && matches!(
                Th::meta().pk().ty.as_reference(),
                FieldType::I64 | FieldType::I32 | FieldType::I16
            );
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
            for group in &mut groups {
                // Checked first: cheaper than the sort's own pass over rows already in order
                // (W4 on SQLite: 0.6 M instructions).
                if !group.is_sorted_by_key(|row| row.pk_value().as_i64()) {
                    group.sort_by_key(|row| row.pk_value().as_i64());
                }
            }
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
        let none = no_values();
        let items = keys_of(targets)?
            .into_iter()
            .map(|k| (k, none.clone()))
            .collect();
        self.write_add(items, exec).await
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
        let passed = owned(values.passed());
        let items = keys_of(targets)?
            .into_iter()
            .map(|k| (k, passed.clone()))
            .collect();
        self.write_add(items, exec).await
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
            prepared.push((saved_key(target)?, owned(values.passed())));
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
        self.create_inner(target, owned(values.passed()), exec)
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
        crate::crud::validate_instance(T::meta(), &row)?;
        let insert = crate::crud::insert_statement::<T>(&row).render(exec.backend())?;
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
        self.write_set(keys_of(targets)?, owned(values.passed()), false, exec)
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
        self.write_set(keys_of(targets)?, owned(values.passed()), true, exec)
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
        let link_extra: Vec<String> = if pair_constraint {
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
                        .cloned()
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

/// Everything a relation write needs, owned, so it can move into an operation.
struct WritePlan {
    relation: &'static str,
    target_model: &'static str,
    through: &'static ModelMeta,
    source_field: &'static str,
    target_field: &'static str,
    /// The declared types of the two key columns, to read returned keys without looking
    /// up each column's type per row.
    source_type: FieldType,
    target_type: FieldType,
    symmetrical: bool,
    pair_constraint: bool,
    /// The other fields of a wider link key (a unique constraint over the two keys and more,
    /// such as (topic, system, service)): links are identified by all of them.
    link_extra: Vec<String>,
    declaring: &'static ModelMeta,
    declared_on_source: bool,
    /// The hooks registered on the relation when the operation started.
    hooks: RelationHooks,
}

/// The targets of an add, each with the values given for its through row.
type Items = Vec<(Value, Values)>;

/// Values given for a through row, as `(field name, value)`; shared by the targets of a
/// call (10,000 targets do not copy them 10,000 times).
type Values = Arc<[(String, Value)]>;

/// The defaults of a through model's fields, computed once per call: a few fields, so a
/// list searched by name (no hashing).
#[derive(Default)]
struct Defaults<'m>(Vec<(&'m str, Value)>);

impl Defaults<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// Rows inserted by one array insert, which differ only in one key.
struct ArrayGroup {
    /// The key field that varies (the target for forward rows, the source for mirror rows).
    varying: String,
    /// Its values, one per row.
    keys: Vec<Value>,
    /// The other key, the same for every row.
    constant: Value,
    /// Every other field's value, the constant key's included.
    constants: Vec<(String, Value)>,
}

/// A through row to insert: source key, target key, and the values given (borrowed from
/// the call's items: a 10,000-target add copies no key to plan its rows).
type NewRow<'a> = (&'a Value, &'a Value, &'a Values);

impl WritePlan {
    /// The declared type of `field`, one of the two key columns.
    fn key_type(&self, field: &str) -> FieldType {
        if field == self.source_field {
            self.source_type
        } else {
            self.target_type
        }
    }

    /// The value of `name`, a through field other than the two keys, for a new row: the
    /// one given, else the field's default, else a validation error.
    fn extra_value(&self, name: &str, values: &Values, defaults: &Defaults<'_>) -> Result<Value> {
        if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        defaults.get(name).cloned().ok_or_else(|| {
            Error::validation(
                &self.through.name,
                name,
                "no value was given and the field has no default (use add_with)",
            )
        })
    }

    /// The identity of a requested link: the target, plus the link key's other fields.
    fn item_link(&self, target: &Value, values: &Values) -> String {
        let mut link = key_text(target);
        for extra in &self.link_extra {
            let value = values.iter().find(|(n, _)| n == extra).map(|(_, v)| v);
            link.push('|');
            link.push_str(&value.map(key_text).unwrap_or_default());
        }
        link
    }

    /// The identity of a stored link: its target, plus the stored link-key fields (the
    /// first columns of `stored`).
    fn row_link(&self, target_text: &str, stored: &[Value]) -> String {
        let mut link = target_text.to_owned();
        for value in stored.iter().take(self.link_extra.len()) {
            link.push('|');
            link.push_str(&key_text(value));
        }
        link
    }

    /// Keeps the first request of each link.
    fn dedupe(&self, items: Items) -> Items {
        if items.len() < 2 {
            return items;
        }
        if self.link_extra.is_empty() {
            let mut seen: KeySet<KeyBuf> = key_set(items.len());
            return items
                .into_iter()
                .filter(|(k, _)| seen.insert(KeyBuf::of(k)))
                .collect();
        }
        let mut seen = KeySet::default();
        items
            .into_iter()
            .filter(|(k, values)| seen.insert(self.item_link(k, values)))
            .collect()
    }

    fn cond(field: &str, lookup: Lookup) -> Filter {
        Filter::cond(FieldPath::local(field), lookup)
    }

    /// Rows of `source` (and, symmetrical, rows pointing back at it), optionally only those
    /// whose other side is in `targets`.
    fn pair_filter(&self, source: &Value, targets: Option<&[Value]>) -> Filter {
        let other = |field: &str| match targets {
            Some(keys) => Self::cond(field, Lookup::In(keys.to_vec())),
            None => Filter::All,
        };
        let forward = Self::cond(self.source_field, Lookup::Exact(source.clone()))
            .and(other(self.target_field));
        if self.symmetrical {
            forward.or(Self::cond(self.target_field, Lookup::Exact(source.clone()))
                .and(other(self.source_field)))
        } else {
            forward
        }
    }

    /// Locks the declaring side's row(s) in key order (PostgreSQL; SQLite's writer
    /// transaction is already exclusive).
    async fn lock(&self, conn: &mut dyn Conn, source: &Value, targets: &[Value]) -> Result<()> {
        let backend = conn.backend();
        if !backend.capabilities().select_for_update {
            return Ok(());
        }
        let mut keys: Vec<Value> = if self.declared_on_source || self.symmetrical {
            vec![source.clone()]
        } else {
            targets.to_vec()
        };
        if self.symmetrical {
            keys.extend(targets.iter().cloned());
        }
        if keys.is_empty() {
            return Ok(());
        }
        let mut query = SelectQuery::new(self.declaring);
        query.filter(Self::cond(&self.declaring.pk().name, Lookup::In(keys)));
        query.projection = Projection::Keys;
        query.order_by = vec![throughline_query::OrderBy {
            path: FieldPath::local(&self.declaring.pk().name),
            descending: false,
        }];
        query.for_update = true;
        let stmt = query.render(backend)?;
        conn.query(&stmt, &mut |_| Ok(())).await?;
        Ok(())
    }

    /// Checks the values given for through rows before any SQL: every field exists and its
    /// value fits, and the fields of a wider link key are given.
    fn check_values(&self, items: &Items) -> Result<()> {
        let through = self.through;
        let mut checked: Option<&Values> = None;
        for (_, values) in items {
            // The targets of one call usually share their values: check each set once.
            if checked.is_some_and(|c| same_values(c, values)) {
                continue;
            }
            checked = Some(values);
            for (name, value) in values.iter() {
                let field = through.field(name).ok_or_else(|| {
                    Error::invalid_query(&through.name, format!("no field `{name}`"))
                })?;
                validate_value(through, field, value)?;
            }
            for extra in &self.link_extra {
                if !values.iter().any(|(n, _)| n == extra) {
                    return Err(Error::validation(
                        &through.name,
                        extra,
                        "is part of the relation's link key, so every add must give it",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Inserts links for targets known to be unlinked, with the add hooks.
    async fn add_unlinked(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        items: Items,
    ) -> Result<AddOutcome> {
        let mut outcome = AddOutcome::default();
        if items.is_empty() {
            return Ok(outcome);
        }
        self.check_values(&items)?;
        let targets: Vec<Value> = items.iter().map(|(t, _)| t.clone()).collect();
        self.hooks
            .fire(
                conn,
                HookPoint::BeforeAdd,
                &self.declared_pairs(source, &targets),
            )
            .await?;
        let rows: Vec<NewRow<'_>> = items.iter().map(|(t, v)| (source, t, v)).collect();
        let inserted = self.insert_rows(conn, &rows).await?;
        let source_key = KeyBuf::of(source);
        for target in targets {
            if inserted.contains(&(source_key.clone(), KeyBuf::of(&target))) {
                outcome.linked.push(target);
            } else {
                outcome.already_linked.push(target);
            }
        }
        self.hooks
            .fire(
                conn,
                HookPoint::AfterAdd,
                &self.declared_pairs(source, &outcome.linked),
            )
            .await?;
        Ok(outcome)
    }

    /// Whether an add can insert first and ask afterwards: a unique constraint makes the
    /// insert idempotent (`ON CONFLICT DO NOTHING`), existing links are skipped, no hook is
    /// registered, links go one way, and every target gets the same values.
    fn can_insert_first(&self, items: &Items, on_existing: OnExisting) -> bool {
        (self.pair_constraint || !self.link_extra.is_empty())
            && on_existing == OnExisting::Skip
            && self.hooks.is_empty()
            && !self.symmetrical
            && items.windows(2).all(|w| same_values(&w[0].1, &w[1].1))
    }

    /// An add in one statement when every target is new: insert with `ON CONFLICT DO
    /// NOTHING RETURNING`, then read the stored values of the targets that were already
    /// linked (only when values were given, to report those that differ).
    async fn add_insert_first(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        items: Items,
    ) -> Result<AddOutcome> {
        let through = self.through;
        self.check_values(&items)?;
        let items = self.dedupe(items);
        let mut outcome = AddOutcome::default();
        let Some(values) = items.first().map(|(_, v)| v.clone()) else {
            return Ok(outcome);
        };
        let rows: Vec<NewRow<'_>> = items.iter().map(|(t, _)| (source, t, &values)).collect();
        let inserted = self.insert_rows(conn, &rows).await?;
        drop(rows);
        let source_key = KeyBuf::of(source);
        let mut probe = (source_key, KeyBuf::Int(0));
        outcome.linked.reserve(inserted.len());
        for (target, _) in items {
            probe.1 = KeyBuf::of(&target);
            if inserted.contains(&probe) {
                outcome.linked.push(target);
            } else {
                outcome.already_linked.push(target);
            }
        }
        let compared: Vec<&(String, Value)> = values
            .iter()
            .filter(|(n, _)| !self.link_extra.contains(n))
            .collect();
        if outcome.already_linked.is_empty() || compared.is_empty() {
            return Ok(outcome);
        }
        let mut filter =
            Self::cond(self.source_field, Lookup::Exact(source.clone())).and(Self::cond(
                self.target_field,
                Lookup::In(outcome.already_linked.clone()),
            ));
        for extra in &self.link_extra {
            if let Some((_, v)) = values.iter().find(|(n, _)| n == extra) {
                filter = filter.and(Self::cond(extra, Lookup::Exact(v.clone())));
            }
        }
        let mut query = SelectQuery::new(through);
        query.filter(filter);
        let mut columns = vec![FieldPath::local(self.target_field)];
        columns.extend(compared.iter().map(|(n, _)| FieldPath::local(n)));
        query.projection = Projection::Columns(columns);
        let stmt = query.render(conn.backend())?;
        let types: Vec<_> = compared
            .iter()
            .map(|(n, _)| through.field(n).map(|f| f.ty))
            .collect();
        let mut seen = KeySet::default();
        let mut differing = Vec::new();
        conn.query(&stmt, &mut |row| {
            let target = <Value as Decode>::decode(row, 0)?;
            if !seen.insert(key_text(&target)) {
                return Ok(());
            }
            let mut fields = Vec::new();
            for (i, ((name, given), ty)) in compared.iter().zip(&types).enumerate() {
                let stored = <Value as Decode>::decode(row, i + 1)?;
                let stored = match ty {
                    Some(ty) => stored.coerce(*ty),
                    None => stored,
                };
                if &stored != given {
                    fields.push(FieldDiff {
                        field: name.clone(),
                        stored,
                        given: given.clone(),
                    });
                }
            }
            if !fields.is_empty() {
                differing.push(Differing { target, fields });
            }
            Ok(())
        })
        .await?;
        // In the order the targets were given.
        for target in &outcome.already_linked {
            if let Some(position) = differing
                .iter()
                .position(|d| key_text(&d.target) == key_text(target))
            {
                outcome.differing.push(differing.swap_remove(position));
            }
        }
        Ok(outcome)
    }

    async fn add(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        items: Items,
        on_existing: OnExisting,
    ) -> Result<AddOutcome> {
        let keys: Vec<Value> = items.iter().map(|(k, _)| k.clone()).collect();
        self.lock(conn, source, &keys).await?;
        self.add_locked(conn, source, items, on_existing).await
    }

    /// The add itself, once the declaring row is locked.
    async fn add_locked(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        items: Items,
        on_existing: OnExisting,
    ) -> Result<AddOutcome> {
        let through = self.through;
        self.check_values(&items)?;
        let items = self.dedupe(items);
        let mut outcome = AddOutcome::default();
        if items.is_empty() {
            return Ok(outcome);
        }
        // 1. The existing rows of the requested pairs, with the fields given.
        let compared: Vec<String> = {
            let mut names: Vec<String> = self.link_extra.clone();
            for (_, values) in &items {
                for (name, _) in values.iter() {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
            names
        };
        let keys: Vec<Value> = items.iter().map(|(k, _)| k.clone()).collect();
        let mut columns = vec![
            FieldPath::local(self.source_field),
            FieldPath::local(self.target_field),
        ];
        columns.extend(compared.iter().map(|n| FieldPath::local(n)));
        let mut query = SelectQuery::new(through);
        query.filter(self.pair_filter(source, Some(&keys)));
        query.projection = Projection::Columns(columns);
        query.order_by = vec![throughline_query::OrderBy {
            path: FieldPath::local(&through.pk().name),
            descending: false,
        }];
        let stmt = query.render(conn.backend())?;
        let width = compared.len() + 2;
        let mut forward: HashMap<String, Vec<Value>> = HashMap::new();
        let mut mirror: HashSet<String> = HashSet::new();
        let source_text = key_text(source);
        let compared_types: Vec<_> = compared
            .iter()
            .map(|n| through.field(n).map(|f| f.ty))
            .collect();
        conn.query(&stmt, &mut |row| {
            let mut values = (0..width)
                .map(|i| <Value as Decode>::decode(row, i))
                .collect::<Result<Vec<_>>>()?;
            let stored: Vec<Value> = values
                .split_off(2)
                .into_iter()
                .zip(&compared_types)
                .map(|(v, ty)| match ty {
                    Some(ty) => v.coerce(*ty),
                    None => v,
                })
                .collect();
            let (row_source, row_target) = (key_text(&values[0]), key_text(&values[1]));
            if row_source == source_text {
                let link = self.row_link(&row_target, &stored);
                forward.entry(link).or_insert(stored);
            }
            if self.symmetrical && row_target == source_text {
                mirror.insert(row_source);
            }
            Ok(())
        })
        .await?;

        // 2. Sort the items: new pairs, and already-linked ones with their differences.
        let mut to_insert: Vec<NewRow<'_>> = Vec::new();
        let mut to_update: Vec<(Value, &Values)> = Vec::new();
        for (target, values) in &items {
            let text = key_text(target);
            match forward.get(&self.item_link(target, values)) {
                None => {
                    outcome.linked.push(target.clone());
                    to_insert.push((source, target, values));
                }
                Some(stored) => {
                    outcome.already_linked.push(target.clone());
                    let mut diffs = Vec::new();
                    for (name, given) in values.iter().filter(|(n, _)| !self.link_extra.contains(n))
                    {
                        let index = compared.iter().position(|n| n == name).unwrap_or(0);
                        let stored_value = stored.get(index).cloned().unwrap_or(Value::Null);
                        if &stored_value != given {
                            diffs.push(FieldDiff {
                                field: name.clone(),
                                stored: stored_value,
                                given: given.clone(),
                            });
                        }
                    }
                    if !diffs.is_empty() {
                        outcome.differing.push(Differing {
                            target: target.clone(),
                            fields: diffs,
                        });
                        to_update.push((target.clone(), values));
                    }
                }
            }
            if self.symmetrical && !mirror.contains(&text) && text != key_text(source) {
                to_insert.push((target, source, values));
            }
        }
        if on_existing == OnExisting::Fail && !outcome.already_linked.is_empty() {
            return Err(Error::AlreadyLinked {
                relation: self.relation.to_owned(),
                targets: outcome
                    .already_linked
                    .iter()
                    .map(|k| format!("{} {}", self.target_model, k.display()))
                    .collect(),
            });
        }

        // 3. Insert the missing rows (batched under the bind limit).
        if !to_insert.is_empty() {
            let planned = self.declared_pairs(source, &outcome.linked);
            self.hooks
                .fire(conn, HookPoint::BeforeAdd, &planned)
                .await?;
            let inserted = self.insert_rows(conn, &to_insert).await?;
            // Rows skipped by ON CONFLICT were linked meanwhile by another writer.
            let mut still_linked = Vec::new();
            let source_key = KeyBuf::of(source);
            outcome.linked.retain(|t| {
                let ok = inserted.contains(&(source_key.clone(), KeyBuf::of(t)));
                if !ok {
                    still_linked.push(t.clone());
                }
                ok
            });
            outcome.already_linked.extend(still_linked);
            let linked = self.declared_pairs(source, &outcome.linked);
            self.hooks.fire(conn, HookPoint::AfterAdd, &linked).await?;
        }

        // 4. Update policy: write the given fields into the differing rows.
        if on_existing == OnExisting::Update {
            for (target, values) in to_update {
                let mut pair = Self::cond(self.source_field, Lookup::Exact(source.clone()))
                    .and(Self::cond(self.target_field, Lookup::Exact(target.clone())));
                if self.symmetrical {
                    pair = pair.or(Self::cond(self.source_field, Lookup::Exact(target.clone()))
                        .and(Self::cond(self.target_field, Lookup::Exact(source.clone()))));
                }
                // A wider link key: only the row of this link, and its key is not rewritten.
                for extra in &self.link_extra {
                    if let Some((_, v)) = values.iter().find(|(n, _)| n == extra) {
                        pair = pair.and(Self::cond(extra, Lookup::Exact(v.clone())));
                    }
                }
                let set: Vec<(String, Value)> = values
                    .iter()
                    .filter(|(n, _)| !self.link_extra.contains(n))
                    .cloned()
                    .collect();
                let stmt = UpdateQuery {
                    model: through,
                    set,
                    groups: vec![FilterGroup::filter(pair)],
                }
                .render(conn.backend())?;
                conn.execute(&stmt)
                    .await
                    .map_err(|e| attach_model(e, through))?;
                outcome.updated.push(target);
            }
        }
        Ok(outcome)
    }

    /// Inserts through rows; returns the (source, target) pairs inserted.
    async fn insert_rows(
        &self,
        conn: &mut dyn Conn,
        rows: &[NewRow<'_>],
    ) -> Result<KeySet<(KeyBuf, KeyBuf)>> {
        let through = self.through;
        let now = Value::from(chrono::Utc::now());
        // Defaults computed once per call, shared by every row.
        let mut defaults = Defaults::default();
        let mut fields = Vec::new();
        for field in &through.fields {
            if field.is_auto() {
                continue;
            }
            fields.push(field.name.clone());
            if field.name == self.source_field || field.name == self.target_field {
                continue;
            }
            let default = match &field.default {
                DefaultValue::Const(v) => Some(v.clone()),
                DefaultValue::Func(f) => Some(f()),
                DefaultValue::AutoNowAdd | DefaultValue::AutoNow => Some(now.clone()),
                DefaultValue::None if field.nullable => Some(Value::Null),
                DefaultValue::None => None,
            };
            if let Some(value) = default {
                defaults.0.push((&field.name, value));
            }
        }
        let backend = conn.backend();
        let conflict_fields = (self.pair_constraint || !self.link_extra.is_empty()).then(|| {
            let mut target = vec![self.source_field.to_owned(), self.target_field.to_owned()];
            target.extend(self.link_extra.iter().cloned());
            target
        });
        let mut inserted = key_set(rows.len());
        // The common case, one statement whatever the number of rows: the rows of one call
        // share their values and differ only in one key (the targets, or for the mirror
        // rows of a symmetrical relation, the sources).
        // (A single row is a plain one-row insert: cheaper than an array for SQLite.)
        let groups = if rows.len() > 1 {
            self.array_groups(rows, &fields, &defaults)?
        } else {
            None
        };
        if let Some(groups) = groups {
            for group in groups {
                // The other key is one constant: only the varying one comes back.
                let constant = KeyBuf::of(&group.constant);
                let varying_is_source = group.varying == self.source_field;
                let varying_type = self.key_type(&group.varying);
                let stmt = throughline_query::ArrayInsert {
                    model: through,
                    varying: group.varying.clone(),
                    keys: group.keys,
                    constants: group.constants,
                    conflict: conflict_fields.clone(),
                    returning: vec![group.varying],
                }
                .render(backend)?;
                conn.query(&stmt, &mut |row| {
                    let key = KeyBuf::of(&row.value_as(0, varying_type)?);
                    inserted.insert(if varying_is_source {
                        (key, constant.clone())
                    } else {
                        (constant.clone(), key)
                    });
                    Ok(())
                })
                .await
                .map_err(|e| attach_model(e, through))?;
            }
            return Ok(inserted);
        }
        // Per-row values (add_each): multi-row inserts under the bind limit, returning both
        // keys of each new row.
        let returning = vec![self.source_field.to_owned(), self.target_field.to_owned()];
        let mut record = |row: &throughline_db::Row<'_>| -> Result<()> {
            let s = row.value_as(0, self.source_type)?;
            let t = row.value_as(1, self.target_type)?;
            inserted.insert((KeyBuf::of(&s), KeyBuf::of(&t)));
            Ok(())
        };
        let mut built = Vec::with_capacity(rows.len());
        for (source, target, values) in rows {
            let mut row = Vec::with_capacity(fields.len());
            for name in &fields {
                let value = if name == self.source_field {
                    (*source).clone()
                } else if name == self.target_field {
                    (*target).clone()
                } else {
                    self.extra_value(name, values, &defaults)?
                };
                row.push(value);
            }
            built.push(row);
        }
        let per_statement = (backend.capabilities().max_bind_params / fields.len().max(1)).max(1);
        let conflict = match conflict_fields {
            Some(target) => Conflict::Update {
                target,
                fields: Vec::new(),
            },
            None => Conflict::Error,
        };
        // One query, its rows moved in chunk by chunk (a single row copies nothing).
        let mut query = InsertQuery {
            model: through,
            fields,
            rows: Vec::new(),
            conflict,
            returning,
        };
        let mut rest = built;
        while !rest.is_empty() {
            let tail = rest.split_off(per_statement.min(rest.len()));
            query.rows = std::mem::replace(&mut rest, tail);
            let stmt = query.render(backend)?;
            conn.query(&stmt, &mut record)
                .await
                .map_err(|e| attach_model(e, through))?;
        }
        Ok(inserted)
    }

    /// Splits rows into at most two groups whose rows share every value but one key
    /// (forward rows: the source is constant; mirror rows: the target is), as
    /// (varying field, keys, constant field values); `None` when that takes more groups.
    /// Works on the rows as given, without building each row's values.
    fn array_groups(
        &self,
        rows: &[NewRow<'_>],
        fields: &[String],
        defaults: &Defaults<'_>,
    ) -> Result<Option<Vec<ArrayGroup>>> {
        let Some(first) = rows.first() else {
            return Ok(Some(Vec::new()));
        };
        // (varying field, constant key, values, keys)
        let mut groups: Vec<(&str, &Value, &Values, Vec<Value>)> = Vec::new();
        for &(source, target, values) in rows {
            let (varying, constant, key) = if same_key(source, first.0) {
                (self.target_field, source, target)
            } else if self.symmetrical && same_key(target, first.0) {
                (self.source_field, target, source)
            } else {
                return Ok(None);
            };
            // Rows of one call share `varying` (one of two fields of the plan) and usually
            // their values (one `Arc`): compare by address first.
            match groups.iter_mut().find(|(v, c, vals, _)| {
                v.as_ptr() == varying.as_ptr() && same_key(c, constant) && same_values(vals, values)
            }) {
                Some((.., keys)) => keys.push(key.clone()),
                None => {
                    if groups.len() == 2 {
                        return Ok(None);
                    }
                    groups.push((varying, constant, values, vec![key.clone()]));
                }
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (varying, constant, values, keys) in groups {
            let mut constants = Vec::new();
            for name in fields.iter().filter(|f| *f != varying) {
                let value = if name == self.source_field || name == self.target_field {
                    constant.clone()
                } else {
                    self.extra_value(name, values, defaults)?
                };
                constants.push((name.clone(), value));
            }
            out.push(ArrayGroup {
                varying: varying.to_owned(),
                keys,
                constant: constant.clone(),
                constants,
            });
        }
        Ok(Some(out))
    }

    /// The targets linked from `source` (forward rows).
    async fn linked_targets(&self, conn: &mut dyn Conn, source: &Value) -> Result<Vec<Value>> {
        let mut query = SelectQuery::new(self.through);
        query.filter(Self::cond(self.source_field, Lookup::Exact(source.clone())));
        query.projection = Projection::Columns(vec![FieldPath::local(self.target_field)]);
        let stmt = query.render(conn.backend())?;
        let mut out = Vec::new();
        conn.query(&stmt, &mut |row| {
            out.push(row.value_as(0, self.target_type)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The through rows of `source` with the given targets (for a dry run).
    async fn select_rows<Th: Model>(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        targets: &[Value],
    ) -> Result<Vec<Th>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = SelectQuery::new(self.through);
        query.filter(self.pair_filter(source, Some(targets)));
        let stmt = query.render(conn.backend())?;
        let mut out = Vec::new();
        conn.query(&stmt, &mut |row| {
            out.push(Th::from_row(row, 0)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Deletes the rows of `source` (with the given targets, or all) and returns them,
    /// firing the remove hooks (the clear hooks when `targets` is `None`).
    async fn delete_rows<Th: Model>(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        targets: Option<&[Value]>,
    ) -> Result<Vec<Th>> {
        let points = match targets {
            Some(_) => (HookPoint::BeforeRemove, HookPoint::AfterRemove),
            None => (HookPoint::BeforeClear, HookPoint::AfterClear),
        };
        self.delete_matching::<Th>(conn, self.pair_filter(source, targets), source, points)
            .await
    }

    /// Deletes the through rows matching `filter` and returns them; hooks see the rows of
    /// `source` (for a symmetrical relation, not the mirror rows).
    async fn delete_matching<Th: Model>(
        &self,
        conn: &mut dyn Conn,
        filter: Filter,
        source: &Value,
        points: (HookPoint, HookPoint),
    ) -> Result<Vec<Th>> {
        let backend = conn.backend();
        let source_text = key_text(source);
        if self.hooks.has(&[points.0]) {
            let mut query = SelectQuery::new(self.through);
            query.filter(filter.clone());
            query.projection = Projection::Columns(vec![
                FieldPath::local(self.source_field),
                FieldPath::local(self.target_field),
            ]);
            let stmt = query.render(backend)?;
            let mut targets = Vec::new();
            conn.query(&stmt, &mut |row| {
                let s = row.value_as(0, self.source_type)?;
                if key_text(&s) == source_text {
                    targets.push(row.value_as(1, self.target_type)?);
                }
                Ok(())
            })
            .await?;
            let pairs = self.declared_pairs(source, &targets);
            self.hooks.fire(conn, points.0, &pairs).await?;
        }
        let stmt = DeleteQuery {
            model: self.through,
            groups: vec![FilterGroup::filter(filter)],
            returning: self.through.fields.iter().map(|f| f.name.clone()).collect(),
        }
        .render(backend)?;
        let mut out = Vec::new();
        conn.query(&stmt, &mut |row| {
            out.push(Th::from_row(row, 0)?);
            Ok(())
        })
        .await
        .map_err(|e| attach_model(e, self.through))?;
        if !self.hooks.is_empty() {
            let targets: Vec<Value> = out
                .iter()
                .filter(|row| {
                    row.field_value(self.source_field)
                        .is_some_and(|v| key_text(&v) == source_text)
                })
                .filter_map(|row| row.field_value(self.target_field))
                .collect();
            let pairs = self.declared_pairs(source, &targets);
            self.hooks.fire(conn, points.1, &pairs).await?;
        }
        Ok(out)
    }

    /// `(declaring key, other key)` pairs for hooks, from the caller's direction.
    fn declared_pairs(&self, source: &Value, targets: &[Value]) -> Vec<(Value, Value)> {
        targets
            .iter()
            .map(|t| {
                if self.declared_on_source {
                    (source.clone(), t.clone())
                } else {
                    (t.clone(), source.clone())
                }
            })
            .collect()
    }
}

/// Splits wanted targets against existing ones: (kept, to add, to remove).
fn split(wanted: &[Value], existing: &[Value]) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    use std::collections::hash_map::Entry;
    /// Where a key stands, in one map over both lists (one hash table instead of three).
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        /// Linked, not (yet) wanted.
        Linked,
        /// Linked and wanted: kept.
        Kept,
        /// Wanted and not linked: added.
        Added,
        /// Linked, not wanted, listed for removal.
        Removed,
    }
    let mut seen: KeyMap<KeyBuf, Seen> = KeyMap::default();
    seen.reserve(existing.len() + wanted.len() / 8);
    for key in existing {
        seen.insert(KeyBuf::of(key), Seen::Linked);
    }
    let mut kept = Vec::new();
    let mut add = Vec::new();
    for key in wanted {
        match seen.entry(KeyBuf::of(key)) {
            Entry::Vacant(slot) => {
                slot.insert(Seen::Added);
                add.push(key.clone());
            }
            Entry::Occupied(mut slot) => {
                if *slot.get() == Seen::Linked {
                    slot.insert(Seen::Kept);
                    kept.push(key.clone());
                }
            }
        }
    }
    let remove = existing
        .iter()
        .filter(|k| match seen.get_mut(&KeyBuf::of(k)) {
            Some(state) if *state == Seen::Linked => {
                *state = Seen::Removed;
                true
            }
            _ => false,
        })
        .cloned()
        .collect();
    (kept, add, remove)
}

/// Whether two items' values are the same: shared (the usual case, one `Arc` per call,
/// compared by address) or equal.
#[inline]
fn same_values(a: &Values, b: &Values) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// No values: a plain `add` (one shared empty list, so a call allocates nothing for it).
fn no_values() -> Values {
    static EMPTY: std::sync::LazyLock<Values> = std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    EMPTY.clone()
}

fn saved_key<T: Model>(target: &T) -> Result<Value> {
    let key = target.pk_value();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: T::MODEL_NAME.to_owned(),
            action: "linking it needs a saved row".to_owned(),
        });
    }
    Ok(key)
}

fn keys_of<'t, T: Model>(targets: impl IntoIterator<Item = &'t T>) -> Result<Vec<Value>> {
    targets.into_iter().map(saved_key).collect()
}

fn owned(values: Vec<(&'static str, Value)>) -> Values {
    values.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
}

/// A set of relation keys. Hashed with foldhash rather than the standard SipHash: a
/// relation write hashes every key of the call two or three times, and with SipHash that
/// was a tenth of a 10,000-target `set` (measured with callgrind). The seed is still random
/// per process.
pub(crate) type KeySet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A map from relation keys, hashed as [`KeySet`].
pub(crate) type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`KeySet`] with room for `capacity` keys.
pub(crate) fn key_set<K>(capacity: usize) -> KeySet<K> {
    KeySet::with_capacity_and_hasher(capacity, Default::default())
}

/// The position of field `field` among `M`'s fields (for [`Model::related_key`]).
pub(crate) fn key_column<M: Model>(field: &str) -> Result<usize> {
    M::meta()
        .field_index(field)
        .ok_or_else(|| Error::invalid_query(M::MODEL_NAME, format!("no field `{field}`")))
}

/// A hashable key without allocating for integer keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyBuf {
    /// An integer key of any width.
    Int(i64),
    /// Any other key, as text.
    Text(String),
}

impl std::hash::Hash for KeyBuf {
    /// One write for an integer key (the derived hash writes the variant too; a relation
    /// write hashes every key of the call several times). An integer and a text that hash
    /// alike are still told apart by equality.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            KeyBuf::Int(v) => state.write_i64(*v),
            KeyBuf::Text(text) => text.hash(state),
        }
    }
}

/// Key equality with integers compared inline (the derived `PartialEq` of `Value` is a
/// call per key).
#[inline]
pub(crate) fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::I64(x), Value::I64(y)) => x == y,
        (Value::I32(x), Value::I32(y)) => x == y,
        _ => a == b,
    }
}

impl KeyBuf {
    pub(crate) fn of(value: &Value) -> KeyBuf {
        match value.as_i64() {
            Some(v) => KeyBuf::Int(v),
            None => KeyBuf::Text(value.display()),
        }
    }
}

/// A hashable form of a key (integers of any width compare equal).
pub(crate) fn key_text(value: &Value) -> String {
    match value.as_i64() {
        Some(v) => v.to_string(),
        None => value.display(),
    }
}
