//! Owns reading rows as values: the rows of a model matching a filter, each field at its
//! declared type, in key order. What code without model types (the admin's change list, a
//! fixture dump, the engine's own tests) reads with; the typed shell's querysets decode
//! straight into the user's structs instead.

use throughline_core::{Error, FieldType, ModelMeta, Result, Value};
use throughline_db::{Access, Executor, op};
use throughline_query::{FieldPath, Filter, OrderBy, Projection, SelectQuery};

/// The rows of `meta` matching `filter` ([`Filter::All`] for every row), each as its field
/// values in [`ModelMeta::fields`] order, ordered by key.
///
/// ```
/// # use throughline_core::*;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
/// let mut id = FieldMeta::new("id", FieldType::AutoI64);
/// id.primary_key = true;
/// let name = FieldMeta::new("name", FieldType::String { max_length: None });
/// let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id, name])));
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// throughline_engine::create_tables(&db, Registry::new().register(tag)).await?;
/// throughline_engine::crud::create(&db, tag, &[("name", Value::from("rust"))]).await?;
/// let rows = throughline_engine::read::rows(&db, tag, throughline_query::Filter::All).await?;
/// assert_eq!(rows, vec![vec![Value::I64(1), Value::from("rust")]]);
/// # Ok(()) }
/// ```
pub async fn rows(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    filter: Filter,
) -> Result<Vec<Vec<Value>>> {
    let mut query = SelectQuery::new(meta);
    query.filter(filter);
    query.order_by = vec![OrderBy::asc(FieldPath::local(&meta.pk().name))];
    let stmt = query.render(exec.backend())?;
    exec.run(
        Access::Read,
        op(move |conn| {
            Box::pin(async move {
                let decode = crate::row_values(meta);
                let mut out = Vec::new();
                conn.query(&stmt, &mut |row| {
                    out.push(decode(row)?);
                    Ok(())
                })
                .await?;
                Ok(out)
            })
        }),
    )
    .await
}

/// The rows of a [`SelectQuery`] with [`Projection::Rows`]: each row is the model's field
/// values, then the field values of each `select_related` chain's last model (NULLs when
/// a nullable key has no row), in that order, each in its field's canonical form
/// ([`Value::coerce`]: booleans, datetimes, dates, UUIDs and JSON alike on every backend).
/// The query's filter, ordering (its own, else
/// the model's default ordering), limit and offset apply. What a change list reads: one
/// statement whatever the number of rows or foreign-key columns shown.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::doc_support;
/// # use throughline_query::{Hop, SelectQuery};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let (enrollment, student) = (school.get("Enrollment").unwrap(), school.get("Student").unwrap());
/// let mut query = SelectQuery::new(enrollment);
/// query.select_related.push(vec![Hop::forward(enrollment, "student", student)?]);
/// query.limit = Some(10);
/// for row in throughline_engine::read::select(&db, query).await? {
///     assert_eq!(row.len(), enrollment.fields.len() + student.fields.len());
/// }
/// # Ok(()) }
/// ```
pub async fn select(exec: &impl Executor, query: SelectQuery) -> Result<Vec<Vec<Value>>> {
    if !matches!(query.projection, Projection::Rows) {
        return Err(Error::invalid_query(
            &query.model.name,
            "read::select reads whole rows; use read::count for a count",
        ));
    }
    let mut models: Vec<&'static ModelMeta> = vec![query.model];
    for chain in &query.select_related {
        if let Some(hop) = chain.last() {
            models.push(hop.to);
        }
    }
    let stmt = query.render(exec.backend())?;
    exec.run(
        Access::Read,
        op(move |conn| {
            Box::pin(async move {
                let mut out = Vec::new();
                conn.query(&stmt, &mut |row| {
                    let mut values = Vec::new();
                    let mut index = 0;
                    for meta in &models {
                        for field in &meta.fields {
                            let value = row.value_as(index, field.ty.as_reference())?;
                            values.push(value.coerce(field.ty));
                            index += 1;
                        }
                    }
                    out.push(values);
                    Ok(())
                })
                .await?;
                Ok(out)
            })
        }),
    )
    .await
}

/// The number of rows a [`SelectQuery`] matches (its ordering, limit and offset ignored).
///
/// ```
/// # use throughline_engine::doc_support;
/// # use throughline_query::SelectQuery;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = throughline_engine::read::count(&db, SelectQuery::new(school.get("Student").unwrap())).await?;
/// assert!(students > 0);
/// # Ok(()) }
/// ```
pub async fn count(exec: &impl Executor, mut query: SelectQuery) -> Result<u64> {
    query.projection = Projection::Count;
    query.order_by.clear();
    query.limit = None;
    query.offset = None;
    query.select_related.clear();
    let stmt = query.render(exec.backend())?;
    exec.run(
        Access::Read,
        op(move |conn| {
            Box::pin(async move {
                let mut total: i64 = 0;
                conn.query(&stmt, &mut |row| {
                    total = row.value_as(0, FieldType::I64)?.as_i64().unwrap_or(0);
                    Ok(())
                })
                .await?;
                Ok(u64::try_from(total).unwrap_or(0))
            })
        }),
    )
    .await
}
