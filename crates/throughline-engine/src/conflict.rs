//! Owns [`crate::crud::bulk_insert`]'s conflict handling on a backend without
//! `ON CONFLICT` (MySQL and MariaDB: their `INSERT IGNORE` also truncates values and drops
//! rows whose foreign key fails, as warnings, and `ON DUPLICATE KEY UPDATE` fires on *any*
//! unique key rather than the target, so neither is used). Inside the insert's transaction
//! the existing rows the batch would conflict with are read under a row lock (`FOR
//! UPDATE`: on InnoDB it locks the index gaps too, so no other transaction inserts them
//! meanwhile), then:
//!
//! - [`Conflict::Ignore`]: the rows that conflict with neither an existing row nor an
//!   earlier row of the batch, on any unique key (the primary key, unique fields, unique
//!   constraints), are inserted and returned; the others are skipped;
//! - [`Conflict::Update`]: the rows whose target matches an existing row overwrite its
//!   listed fields (one `UPDATE ... CASE` per chunk) and are read back; the others are
//!   inserted. Two rows of the batch with the same target are refused, as PostgreSQL
//!   refuses them ("cannot affect row a second time").
//!
//! A NULL in a key never conflicts, as in SQL's unique constraints. Statements: one locked
//! read per unique key (Ignore) or one for the target (Update), then the inserts, updates
//! and the read-back in chunks of the bind-parameter limit, whatever the number of rows.
//! The reads use the unique index (checked with `EXPLAIN` on MariaDB 10.11; a two-column
//! key locks the ranges of its first column). Concurrent calls can deadlock on InnoDB's gap
//! locks: the caller runs a call that owns its transaction again, which fires a hooked
//! through model's before-add hooks again (their database writes were rolled back with
//! the deadlocked attempt; anything else they did was not).

use std::collections::{HashMap, HashSet};
use throughline_core::{Backend, Error, Key, ModelMeta, Result, Value};
use throughline_db::{Conn, Row};
use throughline_query::ddl::quote;
use throughline_query::{FieldName, FieldPath, Filter, Lookup, SelectQuery, Statement};

/// A unique key of a model: the positions of its fields in [`ModelMeta::fields`].
type UniqueKey = Vec<usize>;

/// A row's values of a unique key, as keys.
type Tuple = Vec<Key>;

/// The unique keys of `meta`: the primary key, each unique field, each unique constraint.
fn unique_keys(meta: &ModelMeta) -> Vec<UniqueKey> {
    let mut keys: Vec<UniqueKey> = meta
        .fields
        .iter()
        .enumerate()
        .filter(|(_, field)| field.primary_key || field.unique)
        .map(|(i, _)| vec![i])
        .collect();
    for constraint in &meta.unique_constraints {
        let key: Option<UniqueKey> = constraint
            .fields
            .iter()
            .map(|name| meta.fields.iter().position(|f| &f.name == name))
            .collect();
        keys.extend(key);
    }
    keys
}

/// The positions of the fields named `names`.
fn positions(meta: &ModelMeta, names: &[FieldName]) -> Result<UniqueKey> {
    names
        .iter()
        .map(|name| {
            meta.fields
                .iter()
                .position(|f| f.name == name.as_ref())
                .ok_or_else(|| {
                    Error::invalid_query(&meta.name, format!("no field `{}`", name.as_ref()))
                })
        })
        .collect()
}

/// `row`'s values of `key`, or `None` when one is NULL (a NULL never conflicts).
fn tuple(row: &[Value], key: &[usize]) -> Option<Tuple> {
    key.iter()
        .map(|i| row.get(*i).filter(|v| !v.is_null()).map(Key::of))
        .collect()
}

/// A row read back in [`ModelMeta::fields`] order, in canonical values.
fn values_of(meta: &ModelMeta, row: &Row<'_>) -> Result<Vec<Value>> {
    meta.fields
        .iter()
        .enumerate()
        .map(|(i, field)| Ok(row.value_as(i, field.ty.as_reference())?.coerce(field.ty)))
        .collect()
}

/// The query reading the rows of `meta` whose `key` may equal one of `rows`' (each column
/// `IN` the batch's values: a superset, told apart exactly afterwards), locked when
/// `lock`; `None` when no row of the batch has the whole key.
fn read_matching(
    meta: &'static ModelMeta,
    key: &[usize],
    rows: &[Vec<Value>],
    lock: bool,
    backend: Backend,
) -> Result<Option<Statement>> {
    let with_key: Vec<&Vec<Value>> = rows.iter().filter(|r| tuple(r, key).is_some()).collect();
    if with_key.is_empty() {
        return Ok(None);
    }
    let filters = key
        .iter()
        .map(|i| {
            let mut seen = HashSet::new();
            let values = with_key
                .iter()
                .map(|row| row[*i].clone())
                .filter(|value| seen.insert(Key::of(value)))
                .collect();
            Filter::cond(FieldPath::local(&meta.fields[*i].name), Lookup::In(values))
        })
        .collect();
    let mut query = SelectQuery::new(meta);
    query.filter(Filter::And(filters));
    query.for_update = lock;
    query.render(backend).map(Some)
}

/// The `key` tuples of the existing rows the batch may conflict with, read under a lock.
async fn existing(
    conn: &mut dyn Conn,
    meta: &'static ModelMeta,
    key: &[usize],
    rows: &[Vec<Value>],
    backend: Backend,
) -> Result<HashSet<Tuple>> {
    let mut found = HashSet::new();
    if let Some(stmt) = read_matching(meta, key, rows, true, backend)? {
        conn.query(&stmt, &mut |row| {
            found.extend(tuple(&values_of(meta, row)?, key));
            Ok(())
        })
        .await?;
    }
    Ok(found)
}

/// The rows of `rows` to insert under [`Conflict::Ignore`](throughline_query::Conflict):
/// those that conflict, on no unique key, with an existing row (read under a lock) or an
/// earlier row of the batch; in their order.
pub(crate) async fn without_conflicts(
    conn: &mut dyn Conn,
    meta: &'static ModelMeta,
    rows: Vec<Vec<Value>>,
    backend: Backend,
) -> Result<Vec<Vec<Value>>> {
    let keys = unique_keys(meta);
    let mut taken = Vec::with_capacity(keys.len());
    for key in &keys {
        taken.push(existing(conn, meta, key, &rows, backend).await?);
    }
    let mut kept = Vec::new();
    for row in rows {
        let tuples: Vec<Option<Tuple>> = keys.iter().map(|key| tuple(&row, key)).collect();
        let conflicts = tuples
            .iter()
            .zip(&taken)
            .any(|(t, set)| t.as_ref().is_some_and(|t| set.contains(t)));
        if conflicts {
            continue;
        }
        for (t, set) in tuples.into_iter().zip(&mut taken) {
            set.extend(t);
        }
        kept.push(row);
    }
    Ok(kept)
}

/// The batch of a [`Conflict::Update`](throughline_query::Conflict) split by its target:
/// the rows to insert and the rows that update an existing one, with the batch's order.
pub(crate) struct UpdateSplit {
    /// The positions of the target's fields.
    pub target: UniqueKey,
    /// The rows whose target no existing row has.
    pub inserts: Vec<Vec<Value>>,
    /// The rows whose target an existing row has.
    pub updates: Vec<Vec<Value>>,
    /// For each row of the batch, in order: updates an existing row (`true`) or not.
    pub order: Vec<bool>,
}

/// Splits `rows` by whether an existing row (read under a lock) has their `target`;
/// two rows with the same target are an [`Error::InvalidQuery`].
pub(crate) async fn split_by_target(
    conn: &mut dyn Conn,
    meta: &'static ModelMeta,
    rows: Vec<Vec<Value>>,
    target: &[FieldName],
    backend: Backend,
) -> Result<UpdateSplit> {
    let target = positions(meta, target)?;
    // As PostgreSQL, the target must be a unique key (else "the row" it names is not one).
    let same = |key: &UniqueKey| {
        let (mut a, mut b) = (key.clone(), target.clone());
        a.sort_unstable();
        b.sort_unstable();
        a == b
    };
    if !unique_keys(meta).iter().any(same) {
        return Err(Error::invalid_query(
            &meta.name,
            "the conflict target of Conflict::Update must be the primary key, a unique field or a unique constraint",
        ));
    }
    let found = existing(conn, meta, &target, &rows, backend).await?;
    let mut seen = HashSet::new();
    let mut split = UpdateSplit {
        target,
        inserts: Vec::new(),
        updates: Vec::new(),
        order: Vec::new(),
    };
    for row in rows {
        let t = tuple(&row, &split.target);
        if let Some(t) = &t
            && !seen.insert(t.clone())
        {
            return Err(Error::invalid_query(
                &meta.name,
                "two rows of the batch have the same conflict target: a row cannot be updated twice by one bulk_create (as PostgreSQL refuses it)",
            ));
        }
        let update = t.is_some_and(|t| found.contains(&t));
        split.order.push(update);
        if update {
            split.updates.push(row);
        } else {
            split.inserts.push(row);
        }
    }
    Ok(split)
}

/// `UPDATE` statements (as many as the bind-parameter limit needs) that overwrite
/// `fields` of the rows matching each of `rows` on `target`, from those rows:
/// `SET f = CASE WHEN t1 = ? AND t2 = ? THEN ? ... ELSE f END WHERE (t1 = ? AND t2 = ?)
/// OR ...` (`WHERE t IN (...)` for a key of one column).
pub(crate) fn update_statements(
    meta: &'static ModelMeta,
    target: &[usize],
    fields: &[FieldName],
    rows: &[Vec<Value>],
    backend: Backend,
) -> Result<Vec<Statement>> {
    let fields = positions(meta, fields)?;
    if fields.is_empty() || rows.is_empty() {
        return Ok(Vec::new());
    }
    let dialect = throughline_query::dialect::of(backend)?;
    let per_row = target.len() * (fields.len() + 1) + fields.len();
    // A key of several columns is matched by an `OR` of conditions, which SQLite nests one
    // level per row (at most 1,000 levels): at most 500 rows a statement then.
    let rows_cap = if target.len() == 1 { usize::MAX } else { 500 };
    let chunk = (dialect.capabilities().max_bind_params / per_row).clamp(1, rows_cap);
    let mut out = Vec::new();
    for rows in rows.chunks(chunk) {
        let mut params: Vec<Value> = Vec::new();
        let mut param = |value: &Value, i: usize| {
            params.push(value.clone());
            dialect.param(params.len(), meta.fields[i].ty)
        };
        // `t1 = ? AND t2 = ?` for one row.
        let matches = |row: &[Value], param: &mut dyn FnMut(&Value, usize) -> String| {
            target
                .iter()
                .map(|i| {
                    format!(
                        "{} = {}",
                        quote(&meta.fields[*i].column),
                        param(&row[*i], *i)
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let mut sets = Vec::new();
        for f in &fields {
            let column = quote(&meta.fields[*f].column);
            let mut cases = String::new();
            for row in rows {
                let when = matches(row, &mut param);
                let then = param(&row[*f], *f);
                cases.push_str(&format!(" WHEN {when} THEN {then}"));
            }
            sets.push(format!("{column} = CASE{cases} ELSE {column} END"));
        }
        let condition = match target {
            // One column: `IN (...)`, a list (an `OR` chain nests, see above).
            [key] => {
                let listed: Vec<String> = rows.iter().map(|row| param(&row[*key], *key)).collect();
                format!(
                    "{} IN ({})",
                    quote(&meta.fields[*key].column),
                    listed.join(", ")
                )
            }
            _ => rows
                .iter()
                .map(|row| format!("({})", matches(row, &mut param)))
                .collect::<Vec<_>>()
                .join(" OR "),
        };
        let sql = format!(
            "UPDATE {} SET {} WHERE {condition}",
            quote(&meta.table),
            sets.join(", "),
        );
        out.push(Statement::new(sql, params));
    }
    Ok(out)
}

/// The query reading back the rows `rows` updated (matched on `target`), whole.
pub(crate) fn read_back(
    meta: &'static ModelMeta,
    target: &[usize],
    rows: &[Vec<Value>],
    backend: Backend,
) -> Result<Option<Statement>> {
    read_matching(meta, target, rows, false, backend)
}

/// Puts the rows written back in the batch's order: `inserted` in their order, and for each
/// updating row the row read back with its target (`read`, by target tuple).
pub(crate) fn in_batch_order<R>(
    split: &UpdateSplit,
    inserted: Vec<R>,
    mut read: HashMap<Tuple, R>,
) -> Vec<R> {
    let mut inserted = inserted.into_iter();
    let mut updates = split.updates.iter();
    let mut out = Vec::with_capacity(split.order.len());
    for update in &split.order {
        if *update {
            if let Some(t) = updates.next().and_then(|row| tuple(row, &split.target))
                && let Some(row) = read.remove(&t)
            {
                out.push(row);
            }
        } else if let Some(row) = inserted.next() {
            out.push(row);
        }
    }
    out
}

/// The target tuple of a row read back by [`read_back`].
pub(crate) fn target_of(
    meta: &ModelMeta,
    target: &[usize],
    row: &Row<'_>,
) -> Result<Option<Tuple>> {
    Ok(tuple(&values_of(meta, row)?, target))
}
