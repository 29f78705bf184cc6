//! The plan of a relation write ([`WritePlan`]): what one `add`, `set`, `remove` or `clear`
//! needs to know about the through model, owned so it moves into the operation, and the
//! statements it runs (lock, read, insert, delete), with the relation hooks around them.

use super::keys::{Inserted, KeyIndex, read_key};
use super::outcome::{AddOutcome, Differing, FieldDiff, OnExisting};
use crate::constraint_names::attach_model;
use crate::defaults::Defaults;
use crate::hooks::RelationHooks;
use crate::keys::{KeyMap, KeySet, key_set};
use std::sync::Arc;
use throughline_core::validate::validate_value;
use throughline_core::{Capabilities, Error, FieldType, Key, ModelMeta, Result, Value};
use throughline_db::{Conn, Decode, HookPoint, Row};
use throughline_query::{
    Conflict, DeleteQuery, FieldName, FieldPath, Filter, FilterGroup, InsertQuery, Lookup,
    Projection, SelectQuery, UpdateQuery,
};

/// Everything a relation write needs, owned, so it can move into an operation.
pub(crate) struct WritePlan {
    pub(crate) relation: &'static str,
    pub(crate) target_model: &'static str,
    pub(crate) through: &'static ModelMeta,
    pub(crate) source_field: &'static str,
    pub(crate) target_field: &'static str,
    /// The declared types of the two key columns, to read returned keys without looking
    /// up each column's type per row.
    pub(crate) source_type: FieldType,
    pub(crate) target_type: FieldType,
    pub(crate) symmetrical: bool,
    pub(crate) pair_constraint: bool,
    /// The other fields of a wider link key (a unique constraint over the two keys and more,
    /// such as (topic, system, service)): links are identified by all of them.
    pub(crate) link_extra: Arc<[&'static str]>,
    pub(crate) declaring: &'static ModelMeta,
    /// The declaring side's field the links refer to (its key, or a `to_field`): the rows
    /// locked are found by it.
    pub(crate) declaring_key: &'static str,
    pub(crate) declared_on_source: bool,
    /// The hooks registered on the relation when the operation started.
    pub(crate) hooks: RelationHooks,
    /// What the backend's SQL supports: the plan picks its statements by capability,
    /// never by backend.
    pub(crate) capabilities: Capabilities,
}

/// The targets of an add, each with the values given for its through row.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::Items;
/// let a = students.values([("grade", Value::from("A"))])?;
/// let items: Items = vec![(Value::I64(1), a), (Value::I64(2), no_values())];
/// let outcome = students.from(Value::I64(1)).add(items, &db).await?;
/// assert_eq!(outcome.linked, vec![Value::I64(1), Value::I64(2)]);
/// # Ok(()) }
/// ```
pub type Items = Vec<(Value, Values)>;

/// Values given for a through row, as `(field name, value)`; shared by the targets of a
/// call (10,000 targets do not copy them 10,000 times).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::{Items, Values};
/// # use throughline_query::Filter;
/// let a: Values = students.values([("grade", Value::from("A"))])?;
/// // One list for every target: each item holds a pointer to it.
/// let items: Items = (1..=3).map(|k| (Value::I64(k), a.clone())).collect();
/// students.from(Value::I64(1)).add(items, &db).await?;
/// let rows = throughline_engine::read::rows(&db, students.through, Filter::All).await?;
/// assert!(rows.iter().all(|row| row[3] == Value::from("A")));
/// # Ok(()) }
/// ```
pub type Values = Arc<[(&'static str, Value)]>;

/// Rows inserted by one array insert, which differ only in one key.
struct ArrayGroup {
    /// The key field that varies (the target for forward rows, the source for mirror rows).
    varying: FieldName,
    /// Its values, one per row.
    keys: Vec<Value>,
    /// The other key, the same for every row.
    constant: Value,
    /// Every other field's value, the constant key's included.
    constants: Vec<(FieldName, Value)>,
}

/// A through row to insert: source key, target key, and the values given (borrowed from
/// the call's items: a 10,000-target add copies no key to plan its rows).
type NewRow<'a> = (&'a Value, &'a Value, &'a Values);

/// The identity of a link: its target's key, plus the keys of a wider link key's other
/// fields (none usually: an empty box allocates nothing).
type Link = (Key, Box<[Key]>);

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
        if let Some((_, v)) = values.iter().find(|(n, _)| *n == name) {
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

    /// The identity of a requested link: the target, plus the link key's other fields (a
    /// missing one as NULL's key).
    fn item_link(&self, target: &Value, values: &Values) -> Link {
        let extra = self
            .link_extra
            .iter()
            .map(|extra| {
                let value = values.iter().find(|(n, _)| n == extra).map(|(_, v)| v);
                Key::of(value.unwrap_or(&Value::Null))
            })
            .collect();
        (Key::of(target), extra)
    }

    /// The identity of a stored link: its target, plus the stored link-key fields (the
    /// first columns of `stored`).
    fn row_link(&self, target: Key, stored: &[Value]) -> Link {
        let extra = stored
            .iter()
            .take(self.link_extra.len())
            .map(Key::of)
            .collect();
        (target, extra)
    }

    /// Keeps the first request of each link.
    fn dedupe(&self, items: Items) -> Items {
        if items.len() < 2 {
            return items;
        }
        if self.link_extra.is_empty() {
            let mut seen = KeyIndex::with_capacity(items.len());
            return items
                .into_iter()
                .filter(|(k, _)| seen.insert(Key::of(k)))
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
    /// The targets `query` lists (see [`crate::Linking::keeping`]), read on `conn`.
    pub(crate) async fn protected(
        &self,
        conn: &mut dyn Conn,
        query: Option<&throughline_query::Statement>,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        if let Some(query) = query {
            let ty = self.target_type;
            conn.query(query, &mut |row| {
                let value = row.value_as(0, ty)?;
                if !value.is_null() {
                    out.push(value);
                }
                Ok(())
            })
            .await?;
        }
        Ok(out)
    }

    /// Refuses `what` (a clear) when protected links exist: deleting them would lose them
    /// silently (Django's related manager leaves them).
    pub(crate) fn refuse_protected(&self, protected: &[Value], what: &str) -> Result<()> {
        if protected.is_empty() {
            return Ok(());
        }
        Err(Error::invalid_query(
            self.target_model,
            format!(
                "{what} would also delete the links of {} target(s) {}'s default filter hides; remove the visible ones with remove/remove_keys, or unlink through {}::objects()",
                protected.len(),
                self.target_model,
                self.through.name
            ),
        ))
    }

    pub(crate) async fn lock(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        targets: &[Value],
    ) -> Result<()> {
        let backend = conn.backend();
        if !self.capabilities.select_for_update {
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
        query.filter(Self::cond(self.declaring_key, Lookup::In(keys)));
        query.projection = Projection::Keys;
        query.order_by = vec![throughline_query::OrderBy::asc(FieldPath::local(
            self.declaring_key,
        ))];
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
            for extra in self.link_extra.iter() {
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
    pub(crate) async fn add_unlinked(
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
        for target in targets {
            if inserted.contains(source, &target) {
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
    /// insert idempotent (`ON CONFLICT (link) DO NOTHING`, where the backend has it),
    /// existing links are skipped, no hook is registered, links go one way, and every
    /// target gets the same values.
    pub(crate) fn can_insert_first(&self, items: &Items, on_existing: OnExisting) -> bool {
        (self.pair_constraint || !self.link_extra.is_empty())
            && self.capabilities.on_conflict_target
            && on_existing == OnExisting::Skip
            && self.hooks.is_empty()
            && !self.symmetrical
            && items.windows(2).all(|w| same_values(&w[0].1, &w[1].1))
    }

    /// An add in one statement when every target is new: insert with `ON CONFLICT DO
    /// NOTHING RETURNING`, then read the stored values of the targets that were already
    /// linked (only when values were given, to report those that differ).
    pub(crate) async fn add_insert_first(
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
        outcome.linked.reserve(inserted.len());
        for (target, _) in items {
            if inserted.contains(source, &target) {
                outcome.linked.push(target);
            } else {
                outcome.already_linked.push(target);
            }
        }
        let compared: Vec<&(&'static str, Value)> = values
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
        for extra in self.link_extra.iter() {
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
            let target = row.value_as(0, self.target_type)?;
            if !seen.insert(Key::of(&target)) {
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
                        field: (*name).to_owned(),
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
        // In the order the targets were given (a map: linear in the number of targets).
        let mut by_target: KeyMap<Key, Differing> = differing
            .into_iter()
            .map(|d| (Key::of(&d.target), d))
            .collect();
        for target in &outcome.already_linked {
            if let Some(found) = by_target.remove(&Key::of(target)) {
                outcome.differing.push(found);
            }
        }
        Ok(outcome)
    }

    pub(crate) async fn add(
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
    pub(crate) async fn add_locked(
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
        let compared: Vec<&'static str> = {
            let mut names = self.link_extra.to_vec();
            for (_, values) in &items {
                for (name, _) in values.iter() {
                    if !names.contains(name) {
                        names.push(name);
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
        query.order_by = vec![throughline_query::OrderBy::asc(FieldPath::local(
            &through.pk().name,
        ))];
        let stmt = query.render(conn.backend())?;
        let mut forward: KeyMap<Link, Vec<Value>> = KeyMap::default();
        let mut mirror: KeySet<Key> = key_set(0);
        let source_key = Key::of(source);
        let compared_types: Vec<_> = compared
            .iter()
            .map(|n| through.field(n).map(|f| f.ty))
            .collect();
        conn.query(&stmt, &mut |row| {
            // Keys at their declared types, so that a UUID stored as text on SQLite compares
            // equal to the UUID asked for; the compared fields in their canonical form.
            let row_source = Key::of(&row.value_as(0, self.source_type)?);
            let row_target = Key::of(&row.value_as(1, self.target_type)?);
            let stored = compared_types
                .iter()
                .enumerate()
                .map(|(i, ty)| {
                    let value = <Value as Decode>::decode(row, i + 2)?;
                    Ok(match ty {
                        Some(ty) => value.coerce(*ty),
                        None => value,
                    })
                })
                .collect::<Result<Vec<Value>>>()?;
            if self.symmetrical && row_target == source_key {
                mirror.insert(row_source.clone());
            }
            if row_source == source_key {
                let link = self.row_link(row_target, &stored);
                forward.entry(link).or_insert(stored);
            }
            Ok(())
        })
        .await?;

        // 2. Sort the items: new pairs, and already-linked ones with their differences.
        let mut to_insert: Vec<NewRow<'_>> = Vec::new();
        let mut to_update: Vec<(Value, &Values)> = Vec::new();
        for (target, values) in &items {
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
                                field: (*name).to_owned(),
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
            if self.symmetrical && !Key::same(target, source) && !mirror.contains(&Key::of(target))
            {
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
            outcome.linked.retain(|t| {
                let ok = inserted.contains(source, t);
                if !ok {
                    still_linked.push(t.clone());
                }
                ok
            });
            outcome.already_linked.extend(still_linked);
            let linked = self.declared_pairs(source, &outcome.linked);
            self.hooks.fire(conn, HookPoint::AfterAdd, &linked).await?;
        }

        // 4. Update policy: write the given fields into the differing rows, one statement
        // per run of targets given the same values (one for a whole call that shares its
        // values, whatever the number of targets).
        if on_existing == OnExisting::Update {
            let mut runs: Vec<(Vec<Value>, &Values)> = Vec::new();
            for (target, values) in to_update {
                match runs.last_mut() {
                    Some((targets, shared)) if same_values(shared, values) => targets.push(target),
                    _ => runs.push((vec![target], values)),
                }
            }
            for (targets, values) in runs {
                let lookup = |keys: &[Value]| match keys {
                    [one] => Lookup::Exact(one.clone()),
                    many => Lookup::In(many.to_vec()),
                };
                let mut pair = Self::cond(self.source_field, Lookup::Exact(source.clone()))
                    .and(Self::cond(self.target_field, lookup(&targets)));
                if self.symmetrical {
                    pair = pair.or(Self::cond(self.source_field, lookup(&targets))
                        .and(Self::cond(self.target_field, Lookup::Exact(source.clone()))));
                }
                // A wider link key: only the row of this link, and its key is not rewritten.
                for extra in self.link_extra.iter() {
                    if let Some((_, v)) = values.iter().find(|(n, _)| n == extra) {
                        pair = pair.and(Self::cond(extra, Lookup::Exact(v.clone())));
                    }
                }
                let set: Vec<(String, Value)> = values
                    .iter()
                    .filter(|(n, _)| !self.link_extra.contains(n))
                    .map(|(n, v)| ((*n).to_owned(), v.clone()))
                    .collect();
                let stmt = UpdateQuery {
                    model: through,
                    set,
                    computed: Vec::new(),
                    groups: vec![FilterGroup::filter(pair)],
                }
                .render(conn.backend())?;
                conn.execute(&stmt)
                    .await
                    .map_err(|e| attach_model(e, through))?;
                outcome.updated.extend(targets);
            }
        }
        Ok(outcome)
    }

    /// Inserts through rows; returns the (source, target) pairs inserted.
    async fn insert_rows(&self, conn: &mut dyn Conn, rows: &[NewRow<'_>]) -> Result<Inserted> {
        let mut inserted = Inserted::default();
        if rows.is_empty() {
            return Ok(inserted);
        }
        let through = self.through;
        // Defaults computed once per call, shared by every row.
        let defaults = Defaults::of(through, |name| {
            name == self.source_field || name == self.target_field
        });
        let fields: Vec<FieldName> = through
            .fields
            .iter()
            .filter(|f| !f.is_auto())
            .map(|f| FieldName::Borrowed(&f.name))
            .collect();
        let backend = conn.backend();
        let capabilities = self.capabilities;
        // Without `ON CONFLICT (target)` the insert relies on the read under the lock.
        let conflict_target = self.pair_constraint || !self.link_extra.is_empty();
        let conflict_fields = (conflict_target && capabilities.on_conflict_target).then(|| {
            let mut target = vec![
                FieldName::Borrowed(self.source_field),
                FieldName::Borrowed(self.target_field),
            ];
            target.extend(self.link_extra.iter().map(|n| FieldName::Borrowed(n)));
            target
        });
        // The common case, one statement whatever the number of rows: the rows of one call
        // share their values and differ only in one key (the targets, or for the mirror
        // rows of a symmetrical relation, the sources).
        // (A single row is a plain one-row insert: cheaper than an array for SQLite. A
        // backend without array parameters takes the multi-row path below.)
        let groups = if rows.len() > 1 && capabilities.array_params {
            self.array_groups(rows, &fields, &defaults)?
        } else {
            None
        };
        if let Some(groups) = groups {
            for group in groups {
                // The other key is one constant: only the varying one comes back.
                let varying_is_source = group.varying == self.source_field;
                let varying_type = self.key_type(&group.varying);
                let mut keys = KeyIndex::with_capacity(group.keys.len());
                let stmt = throughline_query::ArrayInsert {
                    model: through,
                    varying: group.varying.clone(),
                    keys: group.keys,
                    constants: group.constants,
                    conflict: conflict_fields.clone(),
                    returning: vec![group.varying],
                }
                .into_statement(backend)?;
                conn.query(&stmt, &mut |row| {
                    keys.insert(read_key(row, 0, varying_type)?);
                    Ok(())
                })
                .await
                .map_err(|e| attach_model(e, through))?;
                inserted.group(Key::of(&group.constant), varying_is_source, keys);
            }
            return Ok(inserted);
        }
        // Per-row values (add_each): multi-row inserts under the bind limit, returning both
        // keys of each new row.
        let returning = vec![
            FieldName::Borrowed(self.source_field),
            FieldName::Borrowed(self.target_field),
        ];
        let mut record = |row: &throughline_db::Row<'_>| -> Result<()> {
            inserted.pair(
                read_key(row, 0, self.source_type)?,
                read_key(row, 1, self.target_type)?,
            );
            Ok(())
        };
        let mut built = Vec::with_capacity(rows.len());
        for (source, target, values) in rows {
            let mut row = Vec::with_capacity(fields.len());
            for name in &fields {
                let value = if *name == self.source_field {
                    (*source).clone()
                } else if *name == self.target_field {
                    (*target).clone()
                } else {
                    self.extra_value(name, values, &defaults)?
                };
                row.push(value);
            }
            built.push(row);
        }
        let per_statement = (capabilities.max_bind_params / fields.len().max(1)).max(1);
        let conflict = match conflict_fields {
            Some(target) => Conflict::Update {
                target,
                fields: Vec::new(),
            },
            None => Conflict::Error,
        };
        // The rows moved into the statements chunk by chunk; the last statement (the only
        // one, usually) takes the query's field lists too.
        let mut query = InsertQuery {
            model: through,
            fields,
            rows: built,
            conflict,
            returning,
        };
        while query.rows.len() > per_statement {
            let tail = query.rows.split_off(per_statement);
            let chunk = InsertQuery {
                model: through,
                fields: query.fields.clone(),
                rows: std::mem::replace(&mut query.rows, tail),
                conflict: query.conflict.clone(),
                returning: query.returning.clone(),
            };
            conn.query(&chunk.into_statement(backend)?, &mut record)
                .await
                .map_err(|e| attach_model(e, through))?;
        }
        conn.query(&query.into_statement(backend)?, &mut record)
            .await
            .map_err(|e| attach_model(e, through))?;
        Ok(inserted)
    }

    /// Splits rows into at most two groups whose rows share every value but one key
    /// (forward rows: the source is constant; mirror rows: the target is), as
    /// (varying field, keys, constant field values); `None` when that takes more groups.
    /// Works on the rows as given, without building each row's values.
    fn array_groups(
        &self,
        rows: &[NewRow<'_>],
        fields: &[FieldName],
        defaults: &Defaults<'_>,
    ) -> Result<Option<Vec<ArrayGroup>>> {
        let Some(first) = rows.first() else {
            return Ok(Some(Vec::new()));
        };
        // (varying field, constant key, values, keys)
        let mut groups: Vec<(&'static str, &Value, &Values, Vec<Value>)> = Vec::new();
        for &(source, target, values) in rows {
            let (varying, constant, key) = if Key::same(source, first.0) {
                (self.target_field, source, target)
            } else if self.symmetrical && Key::same(target, first.0) {
                (self.source_field, target, source)
            } else {
                return Ok(None);
            };
            // Rows of one call share `varying` (one of two fields of the plan) and usually
            // their values (one `Arc`): compare by address first.
            match groups.iter_mut().find(|(v, c, vals, _)| {
                v.as_ptr() == varying.as_ptr()
                    && Key::same(c, constant)
                    && same_values(vals, values)
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
                varying: FieldName::Borrowed(varying),
                keys,
                constant: constant.clone(),
                constants,
            });
        }
        Ok(Some(out))
    }

    /// The targets linked from `source` (forward rows).
    pub(crate) async fn linked_targets(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
    ) -> Result<Vec<Value>> {
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

    /// The through rows of `source` with the given targets (for a dry run), each decoded
    /// by `decode`.
    pub(crate) async fn select_rows<R: Send>(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        targets: &[Value],
        decode: &(impl Fn(&Row<'_>) -> Result<R> + Sync),
    ) -> Result<Vec<R>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = SelectQuery::new(self.through);
        query.filter(self.pair_filter(source, Some(targets)));
        let stmt = query.render(conn.backend())?;
        let mut out = Vec::new();
        conn.query(&stmt, &mut |row| {
            out.push(decode(row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Deletes the rows of `source` (with the given targets, or all) and returns them,
    /// firing the remove hooks (the clear hooks when `targets` is `None`).
    pub(crate) async fn delete_rows<R: Send>(
        &self,
        conn: &mut dyn Conn,
        source: &Value,
        targets: Option<&[Value]>,
        decode: &(impl Fn(&Row<'_>) -> Result<R> + Sync),
    ) -> Result<Vec<R>> {
        let points = match targets {
            Some(_) => (HookPoint::BeforeRemove, HookPoint::AfterRemove),
            None => (HookPoint::BeforeClear, HookPoint::AfterClear),
        };
        self.delete_matching(
            conn,
            self.pair_filter(source, targets),
            source,
            points,
            decode,
        )
        .await
    }

    /// Deletes the through rows matching `filter` and returns them, each decoded by
    /// `decode`; hooks see the rows of `source` (for a symmetrical relation, not the mirror
    /// rows).
    pub(crate) async fn delete_matching<R: Send>(
        &self,
        conn: &mut dyn Conn,
        filter: Filter,
        source: &Value,
        points: (HookPoint, HookPoint),
        decode: &(impl Fn(&Row<'_>) -> Result<R> + Sync),
    ) -> Result<Vec<R>> {
        let backend = conn.backend();
        let source_key = Key::of(source);
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
                if source_key.is(&row.value_as(0, self.source_type)?) {
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
        // With after-hooks, the deleted rows' keys are read beside the rows themselves.
        let key_columns = (!self.hooks.is_empty())
            .then(|| {
                Some((
                    self.through.field_index(self.source_field)?,
                    self.through.field_index(self.target_field)?,
                ))
            })
            .flatten();
        let mut out = Vec::new();
        let mut targets = Vec::new();
        conn.query(&stmt, &mut |row| {
            out.push(decode(row)?);
            if let Some((s, t)) = key_columns
                && source_key.is(&row.value_as(s, self.source_type)?)
            {
                targets.push(row.value_as(t, self.target_type)?);
            }
            Ok(())
        })
        .await
        .map_err(|e| attach_model(e, self.through))?;
        if !self.hooks.is_empty() {
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

/// Whether two items' values are the same: shared (the usual case, one `Arc` per call,
/// compared by address) or equal.
#[inline]
pub(crate) fn same_values(a: &Values, b: &Values) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// No values: a plain `add` (one shared empty list, so a call allocates nothing for it).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_query::Filter;
/// assert!(no_values().is_empty());
/// students.from(Value::I64(1)).add(vec![(Value::I64(2), no_values())], &db).await?;
/// // The through row's other fields get their defaults.
/// let rows = throughline_engine::read::rows(&db, students.through, Filter::All).await?;
/// assert_eq!(rows, vec![vec![Value::I64(1), Value::I64(1), Value::I64(2), Value::from("")]]);
/// # Ok(()) }
/// ```
pub fn no_values() -> Values {
    static EMPTY: std::sync::LazyLock<Values> = std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    EMPTY.clone()
}
