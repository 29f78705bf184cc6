//! Owns what a delete would take with it, before it runs (Django's `Collector`, read
//! only): following every registered foreign key to the deleted rows, the rows the
//! database would delete in cascade (and theirs, and so on), the rows whose key it would
//! set to NULL, and the rows that block the delete (`PROTECT`, `RESTRICT`, or no action).
//! The admin's delete confirmation shows it; the delete itself stays one statement whose
//! cascades the database applies.
//!
//! One statement per foreign key and level reached, whatever the number of rows: keys
//! are bound as one list.

use crate::read;
use throughline_core::{FieldMeta, ModelMeta, OnDelete, Registry, Result, Value};
use throughline_db::Executor;
use throughline_query::{FieldPath, Filter, Lookup, SelectQuery};

/// At most this many blocking rows are read per foreign key (the count is exact).
pub const SHOWN_BLOCKERS: u64 = 20;

/// Rows of one model reached by a delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    /// The model.
    pub model: &'static ModelMeta,
    /// Through which of its foreign keys.
    pub field: &'static FieldMeta,
    /// How many rows.
    pub count: u64,
}

/// Rows that forbid a delete, with a few of them to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    /// The model.
    pub model: &'static ModelMeta,
    /// Its foreign key to the deleted rows.
    pub field: &'static FieldMeta,
    /// How many rows.
    pub count: u64,
    /// The first [`SHOWN_BLOCKERS`] of them, as values in field order.
    pub rows: Vec<Vec<Value>>,
}

/// What deleting some rows would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CascadePlan {
    /// Rows deleted with them, per model and foreign key, nearest first.
    pub deleted: Vec<Reached>,
    /// Rows whose key would be set to NULL.
    pub set_null: Vec<Reached>,
    /// Rows that forbid the delete; empty when it may run.
    pub blockers: Vec<Blocker>,
}

impl CascadePlan {
    /// Rows deleted per model (the models in order of first appearance).
    ///
    /// ```
    /// let plan = throughline_engine::cascade::CascadePlan::default();
    /// assert!(plan.deleted_per_model().is_empty());
    /// ```
    pub fn deleted_per_model(&self) -> Vec<(&'static ModelMeta, u64)> {
        let mut out: Vec<(&'static ModelMeta, u64)> = Vec::new();
        for reached in &self.deleted {
            match out
                .iter_mut()
                .find(|(m, _)| std::ptr::eq(*m, reached.model))
            {
                Some((_, count)) => *count += reached.count,
                None => out.push((reached.model, reached.count)),
            }
        }
        out
    }
}

/// What deleting the rows of `meta` with keys `keys` would take with it, following
/// every foreign key of `registry`'s models (including those without a reverse
/// accessor).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::doc_support;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let course = school.get("Course").unwrap();
/// throughline_engine::Relation::find(&school, "Course", "students")?
///     .from(Value::I64(1))
///     .add(vec![(Value::I64(1), throughline_engine::no_values())], &db)
///     .await?;
/// let plan = throughline_engine::cascade::plan(&db, &school, course, vec![Value::I64(1)]).await?;
/// assert_eq!(plan.deleted[0].model.name, "Enrollment");
/// assert_eq!(plan.deleted[0].count, 1);
/// assert!(plan.blockers.is_empty());
/// # Ok(()) }
/// ```
pub async fn plan(
    exec: &impl Executor,
    registry: &Registry,
    meta: &'static ModelMeta,
    keys: Vec<Value>,
) -> Result<CascadePlan> {
    let mut plan = CascadePlan::default();
    // (model, keys) still to follow, and every key already followed, per model.
    let mut pending: Vec<(&'static ModelMeta, Vec<Value>)> = vec![(meta, keys.clone())];
    let mut seen: Vec<(&'static ModelMeta, Vec<Value>)> = vec![(meta, keys)];
    while let Some((target, keys)) = pending.pop() {
        for model in registry.models().iter().copied() {
            for field in model.foreign_keys() {
                let Some(fk) = &field.foreign_key else {
                    continue;
                };
                if fk.to != target.name {
                    continue;
                }
                let mut query = SelectQuery::new(model);
                // A key to a unique field (`to_field`) holds that field, not the key: the
                // rows are found across the relation.
                let path = if fk.to_field.is_some() {
                    FieldPath {
                        hops: vec![throughline_query::Hop::forward(model, &field.name, target)?],
                        field: target.pk().name.clone(),
                    }
                } else {
                    FieldPath::local(&field.name)
                };
                query.filter(Filter::cond(path, Lookup::In(keys.clone())));
                match fk.on_delete {
                    OnDelete::Cascade => {
                        let rows = read::select(exec, query).await?;
                        if rows.is_empty() {
                            continue;
                        }
                        let pk_index = model.field_index(&model.pk().name).unwrap_or(0);
                        let followed = match seen.iter_mut().find(|(m, _)| std::ptr::eq(*m, model))
                        {
                            Some((_, followed)) => followed,
                            None => {
                                seen.push((model, Vec::new()));
                                let last = seen.len() - 1;
                                &mut seen[last].1
                            }
                        };
                        let new_keys: Vec<Value> = rows
                            .iter()
                            .map(|row| row[pk_index].clone())
                            .filter(|key| !followed.contains(key))
                            .collect();
                        if new_keys.is_empty() {
                            continue;
                        }
                        followed.extend(new_keys.iter().cloned());
                        plan.deleted.push(Reached {
                            model,
                            field,
                            count: new_keys.len() as u64,
                        });
                        pending.push((model, new_keys));
                    }
                    OnDelete::SetNull => {
                        let count = read::count(exec, query).await?;
                        if count > 0 {
                            plan.set_null.push(Reached {
                                model,
                                field,
                                count,
                            });
                        }
                    }
                    OnDelete::Protect | OnDelete::Restrict | OnDelete::DoNothing => {
                        let count = read::count(exec, query.clone()).await?;
                        if count == 0 {
                            continue;
                        }
                        query.limit = Some(SHOWN_BLOCKERS);
                        let rows = read::select(exec, query).await?;
                        plan.blockers.push(Blocker {
                            model,
                            field,
                            count,
                            rows,
                        });
                    }
                }
            }
        }
    }
    Ok(plan)
}
