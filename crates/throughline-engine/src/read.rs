//! Owns reading rows as values: the rows of a model matching a filter, each field at its
//! declared type, in key order. What code without model types (the admin's change list, a
//! fixture dump, the engine's own tests) reads with; the typed shell's querysets decode
//! straight into the user's structs instead.

use throughline_core::{ModelMeta, Result, Value};
use throughline_db::{Access, Executor, op};
use throughline_query::{FieldPath, Filter, OrderBy, SelectQuery};

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
    query.order_by = vec![OrderBy {
        path: FieldPath::local(&meta.pk().name),
        descending: false,
    }];
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
