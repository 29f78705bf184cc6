//! Owns `create_tables` and `drop_tables`: creating the tables of a registry's models
//! (before migrations exist) in dependency order, in one transaction.

use throughline_core::{Error, ModelMeta, Registry, Result};
use throughline_db::{Access, Executor, op};
use throughline_query::{create_table, drop_table};

/// Creates the tables, foreign keys, constraints and indexes of every registered model
/// that does not exist yet, referred tables first, in one transaction.
///
/// ```
/// # use throughline_core::*;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
/// let mut id = FieldMeta::new("id", FieldType::AutoI64);
/// id.primary_key = true;
/// let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// let mut registry = Registry::new();
/// registry.register(tag);
/// throughline_engine::create_tables(&db, &registry).await?;
/// throughline_engine::crud::create(&db, tag, &[]).await?;
/// throughline_engine::drop_tables(&db, &registry).await?;
/// # Ok(()) }
/// ```
pub async fn create_tables(exec: &impl Executor, registry: &Registry) -> Result<()> {
    let problems: Vec<String> = registry
        .check()
        .into_iter()
        .filter(|m| m.level == throughline_core::CheckLevel::Error)
        .map(|m| m.to_string())
        .collect();
    if !problems.is_empty() {
        return Err(Error::Config(format!(
            "model checks failed:\n{}",
            problems.join("\n")
        )));
    }
    let mut sql = Vec::new();
    for model in dependency_order(registry) {
        sql.extend(create_table(model, registry, exec.backend())?);
    }
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                for statement in &sql {
                    conn.batch(statement).await?;
                }
                Ok(())
            })
        }),
    )
    .await
}

/// Drops the tables of every registered model (referring tables first).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::school_db().await?;
/// let student = school.get("Student").unwrap();
/// throughline_engine::drop_tables(&db, &school).await?;
/// assert!(crud::create(&db, student, &[("name", Value::from("ada"))]).await.is_err());
/// throughline_engine::create_tables(&db, &school).await?;
/// assert_eq!(crud::create(&db, student, &[("name", Value::from("ada"))]).await?[0], Value::I64(1));
/// # Ok(()) }
/// ```
pub async fn drop_tables(exec: &impl Executor, registry: &Registry) -> Result<()> {
    let backend = exec.backend();
    let sql: Vec<String> = dependency_order(registry)
        .into_iter()
        .rev()
        .map(|m| drop_table(m, backend))
        .collect::<Result<_>>()?;
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                for statement in &sql {
                    conn.batch(statement).await?;
                }
                Ok(())
            })
        }),
    )
    .await
}

/// Models ordered so that a referred model comes before the models referring to it
/// (cycles and self-references keep registration order).
fn dependency_order(registry: &Registry) -> Vec<&'static ModelMeta> {
    let mut placed: Vec<&'static ModelMeta> = Vec::new();
    let mut remaining: Vec<&'static ModelMeta> = registry.models().to_vec();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|m| {
            m.foreign_keys().all(|f| {
                let to = f
                    .foreign_key
                    .as_ref()
                    .map(|fk| fk.to.as_str())
                    .unwrap_or("");
                to == m.name || placed.iter().any(|p| p.name == to) || registry.get(to).is_none()
            })
        });
        let next = remaining.remove(ready.unwrap_or(0));
        placed.push(next);
    }
    placed
}
