//! Owns the instance operations behind [`crate::Model`]'s methods (insert, save, delete,
//! get by key) and the mapping of database errors to the model (naming SQLite's unique
//! constraints from the columns it reports).

use crate::Model;
use crate::constraint_names::attach_model;
use crate::hooks::HookPoint;
use crate::validation::validate_instance;
use throughline_core::{Error, ModelMeta, Result, Value};
use throughline_db::{Access, Executor, op};
use throughline_query::{
    Conflict, FieldName, FieldPath, Filter, FilterGroup, InsertQuery, Lookup, SelectQuery,
    UpdateQuery,
};

/// The insert of one instance: every field except an unset auto key, returning the key.
pub(crate) fn insert_statement<M: Model>(values: &[Value]) -> InsertQuery {
    let meta = M::meta();
    let mut fields = Vec::new();
    let mut row = Vec::new();
    for (field, value) in meta.fields.iter().zip(values) {
        if field.is_auto() && value.is_null() {
            continue;
        }
        fields.push(FieldName::Borrowed(&field.name));
        row.push(value.clone());
    }
    InsertQuery {
        model: meta,
        fields,
        rows: vec![row],
        conflict: Conflict::Error,
        returning: vec![FieldName::Borrowed(&meta.pk().name)],
    }
}

pub(crate) async fn create<M: Model, E: Executor>(mut instance: M, exec: &E) -> Result<M> {
    instance.before_save(true);
    let values = instance.to_values();
    let meta = M::meta();
    validate_instance(meta, &values)?;
    let stmt = insert_statement::<M>(&values).into_statement(exec.backend())?;
    // A direct write to a hooked through model fires the relation's add hooks.
    let hooked = crate::hooks::through_is_hooked(M::MODEL_NAME);
    let access = if hooked {
        Access::Atomic
    } else {
        Access::WriteOne
    };
    let key = exec
        .run(
            access,
            op(move |conn| {
                Box::pin(async move {
                    let rows = [values];
                    let points = (HookPoint::BeforeAdd, HookPoint::AfterAdd);
                    if hooked {
                        crate::hooks::fire_through_rows(conn, meta, &rows, points, true).await?;
                    }
                    let mut key = Value::Null;
                    conn.query(&stmt, &mut |row| {
                        key = row.value_as(0, M::PK_TYPE)?;
                        Ok(())
                    })
                    .await?;
                    if hooked {
                        crate::hooks::fire_through_rows(conn, meta, &rows, points, false).await?;
                    }
                    Ok(key)
                })
            }),
        )
        .await
        .map_err(|e| attach_model(e, meta))?;
    set_pk(&mut instance, key)?;
    Ok(instance)
}

/// Sets the key returned by the insert.
fn set_pk<M: Model>(instance: &mut M, key: Value) -> Result<()> {
    if key.is_null() {
        return Err(Error::invalid_query(
            M::MODEL_NAME,
            "the insert returned no key",
        ));
    }
    instance.set_pk_value(key)
}

pub(crate) async fn save<M: Model, E: Executor>(instance: &mut M, exec: &E) -> Result<()> {
    let meta = M::meta();
    let pk = instance.pk_value();
    if pk.is_null() {
        let saved = create(instance.clone(), exec).await?;
        *instance = saved;
        return Ok(());
    }
    instance.before_save(false);
    let values = instance.to_values();
    validate_instance(meta, &values)?;
    let set: Vec<(String, Value)> = meta
        .fields
        .iter()
        .zip(&values)
        .filter(|(f, _)| !f.primary_key)
        .map(|(f, v)| (f.name.clone(), v.clone()))
        .collect();
    let backend = exec.backend();
    let update = UpdateQuery {
        model: meta,
        set,
        groups: vec![key_group(meta, pk)],
    }
    .render(backend)?;
    let insert = insert_statement::<M>(&values).into_statement(backend)?;
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                if conn.execute(&update).await? == 0 {
                    conn.query(&insert, &mut |_| Ok(())).await?;
                }
                Ok(())
            })
        }),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// `WHERE pk = key`.
pub(crate) fn key_group(meta: &ModelMeta, key: Value) -> FilterGroup {
    FilterGroup::filter(Filter::cond(
        FieldPath::local(&meta.pk().name),
        Lookup::Exact(key),
    ))
}

pub(crate) async fn delete<M: Model, E: Executor>(instance: &M, exec: &E) -> Result<u64> {
    let meta = M::meta();
    let key = instance.pk_value();
    if key.is_null() {
        return Err(Error::Unsaved {
            model: meta.name.clone(),
            action: "delete() needs a saved row".to_owned(),
        });
    }
    crate::queryset::QuerySet::<M>::from_groups(vec![key_group(meta, key)])
        .delete(exec)
        .await
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
    query.groups.push(key_group(meta, key));
    crate::queryset::QuerySet::<M>::from_query(query)
        .get_inner(exec)
        .await
}
