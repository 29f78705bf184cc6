//! Owns the typed instance operations behind [`crate::Model`]'s methods: each fills the
//! struct's own automatic fields, lowers the write to the engine
//! ([`throughline_engine::crud`]) with the struct's values, and puts the key it returns
//! back into the struct; loading by key decodes straight into the struct.

use crate::Model;
use throughline_core::{Error, Result, Value};
use throughline_db::Executor;
use throughline_engine::crud;
use throughline_query::SelectQuery;

pub(crate) async fn create<M: Model, E: Executor>(mut instance: M, exec: &E) -> Result<M> {
    instance.before_save(true);
    let key = crud::insert(exec, M::meta(), instance.to_values()).await?;
    instance.set_pk_value(key)?;
    Ok(instance)
}

pub(crate) async fn save<M: Model, E: Executor>(instance: &mut M, exec: &E) -> Result<()> {
    if instance.pk_value().is_null() {
        let saved = create(instance.clone(), exec).await?;
        *instance = saved;
        return Ok(());
    }
    instance.before_save(false);
    crud::save(exec, M::meta(), instance.to_values()).await?;
    Ok(())
}

pub(crate) async fn delete<M: Model, E: Executor>(instance: &M, exec: &E) -> Result<u64> {
    crud::delete(exec, M::meta(), instance.pk_value()).await
}

pub(crate) async fn get_by_key<M: Model>(exec: &impl Executor, key: Value) -> Result<M> {
    let meta = M::meta();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: meta.name.clone(),
            action: "loading it needs a primary key".to_owned(),
        });
    }
    let mut query = SelectQuery::new(meta);
    query.groups.push(crud::key_group(meta, key));
    crate::queryset::QuerySet::<M>::from_query(query)
        .get_inner(exec)
        .await
}
