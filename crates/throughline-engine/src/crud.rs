//! Owns the writes of whole rows over a [`ModelMeta`] and values: insert (with the key
//! returned), create from the values given by name (defaults filled), save (update, or
//! insert when no row has the key, as Django), delete by key or by filter, a filtered
//! update, and bulk inserts within the backend's bind-parameter limit. Each is one
//! operation; a write to a hooked through model, or a delete of a hooked relation's source
//! or target rows, fires the relation's hooks ([`crate::hooks`]) inside its transaction.
//!
//! Rows are given in [`ModelMeta::fields`] order and written as given (the typed shell has
//! already filled `auto_now` fields into its struct); code without a typed struct fills
//! them with [`crate::defaults::new_row`] and [`crate::defaults::touch`], or calls
//! [`create`], which does.

use crate::constraint_names::attach_model;
use crate::hooks::{before_delete, endpoint_is_hooked, fire_through_rows, through_is_hooked};
use crate::validation::validate_instance;
use throughline_core::{Error, ModelMeta, Result, Value};
use throughline_db::{Access, Conn, Executor, HookPoint, Row, op};
use throughline_query::{
    Conflict, DeleteQuery, Expression, FieldName, FieldPath, Filter, FilterGroup, InsertQuery,
    Lookup, Statement, UpdateQuery,
};

/// The insert of one row: every field except an unset auto key, returning the key.
pub(crate) fn insert_statement(meta: &'static ModelMeta, row: &[Value]) -> InsertQuery {
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (field, value) in meta.fields.iter().zip(row) {
        if field.is_auto() && value.is_null() {
            continue;
        }
        fields.push(FieldName::Borrowed(&field.name));
        values.push(value.clone());
    }
    InsertQuery {
        model: meta,
        fields,
        rows: vec![values],
        conflict: Conflict::Error,
        returning: vec![FieldName::Borrowed(&meta.pk().name)],
    }
}

/// Runs an insert of a `meta` row built by [`insert_statement`] and reads the key it
/// returns; an insert that returns no key is an error.
pub(crate) async fn insert_returning_key(
    conn: &mut dyn Conn,
    stmt: &Statement,
    meta: &ModelMeta,
) -> Result<Value> {
    let key_type = meta.pk().ty.as_reference();
    let mut key = Value::Null;
    conn.query(stmt, &mut |row| {
        key = row.value_as(0, key_type)?;
        Ok(())
    })
    .await?;
    if key.is_null() {
        return Err(Error::invalid_query(
            &meta.name,
            "the insert returned no key",
        ));
    }
    Ok(key)
}

/// `WHERE pk = key`.
///
/// ```
/// # use throughline_core::*;
/// let mut id = FieldMeta::new("id", FieldType::AutoI64);
/// id.primary_key = true;
/// let meta = ModelMeta::new("Tag", "tag", vec![id]);
/// let group = throughline_engine::crud::key_group(&meta, Value::I64(1));
/// # let _ = group;
/// ```
pub fn key_group(meta: &ModelMeta, key: Value) -> FilterGroup {
    FilterGroup::filter(Filter::cond(
        FieldPath::local(&meta.pk().name),
        Lookup::Exact(key),
    ))
}

/// Inserts `row` (every field of `meta`, in order; an unset auto key NULL) after
/// validating it, and returns the key the database gave it. A row of a hooked through
/// model fires the relation's add hooks around the insert, in one transaction.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::school_db().await?;
/// let student = school.get("Student").unwrap();
/// let key = crud::insert(&db, student, vec![Value::Null, "ada".into()]).await?;
/// assert_eq!(key, Value::I64(1));
/// let too_long = Value::from("x".repeat(101).as_str());
/// assert!(crud::insert(&db, student, vec![Value::Null, too_long]).await.is_err());
/// # Ok(()) }
/// ```
pub async fn insert(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    row: Vec<Value>,
) -> Result<Value> {
    validate_instance(meta, &row)?;
    let stmt = insert_statement(meta, &row).into_statement(exec.backend())?;
    // A direct write to a hooked through model fires the relation's add hooks.
    let hooks = exec.hooks();
    let hooked = through_is_hooked(hooks, &meta.name);
    let access = if hooked {
        Access::Atomic
    } else {
        Access::WriteOne
    };
    let hooks = hooked.then(|| hooks.clone());
    exec.run(
        access,
        op(move |conn| {
            Box::pin(async move {
                let rows = [row];
                let points = (HookPoint::BeforeAdd, HookPoint::AfterAdd);
                if let Some(hooks) = &hooks {
                    fire_through_rows(conn, hooks, meta, &rows, points, true).await?;
                }
                let key = insert_returning_key(conn, &stmt, meta).await?;
                if let Some(hooks) = &hooks {
                    fire_through_rows(conn, hooks, meta, &rows, points, false).await?;
                }
                Ok(key)
            })
        }),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// Creates a row of `meta` from the values `given` by field name: the others get their
/// defaults ([`crate::defaults::new_row`]); returns the whole row as written, its key
/// included.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let enrollment = school.get("Enrollment").unwrap();
/// let given = [("course", Value::I64(1)), ("student", Value::I64(2))];
/// let row = crud::create(&db, enrollment, &given).await?;
/// // The key the database gave, the values given, and `grade`'s default.
/// assert_eq!(row, vec![Value::I64(1), Value::I64(1), Value::I64(2), Value::from("")]);
/// # Ok(()) }
/// ```
pub async fn create(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    given: &[(&str, Value)],
) -> Result<Vec<Value>> {
    let mut row = crate::defaults::new_row(meta, given)?;
    let key = insert(exec, meta, row.clone()).await?;
    if let Some(index) = meta.fields.iter().position(|f| f.primary_key) {
        row[index] = key;
    }
    Ok(row)
}

/// Saves `row`: an insert when its key is NULL (returning the new key), otherwise an
/// update of every other field, or an insert when no row has that key (as Django); in one
/// transaction. Returns the row's key.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// # use throughline_query::Filter;
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let student = school.get("Student").unwrap();
/// assert_eq!(crud::save(&db, student, vec![Value::I64(1), "ada l.".into()]).await?, Value::I64(1));
/// assert_eq!(crud::save(&db, student, vec![Value::Null, "dee".into()]).await?, Value::I64(4));
/// let rows = throughline_engine::read::rows(&db, student, Filter::All).await?;
/// assert_eq!((rows.len(), &rows[0][1]), (4, &Value::from("ada l.")));
/// # Ok(()) }
/// ```
pub async fn save(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    row: Vec<Value>,
) -> Result<Value> {
    let pk_index = meta.fields.iter().position(|f| f.primary_key).unwrap_or(0);
    let key = row.get(pk_index).cloned().unwrap_or(Value::Null);
    if key.is_null() {
        return insert(exec, meta, row).await;
    }
    validate_instance(meta, &row)?;
    let backend = exec.backend();
    let update = row_update(meta, &row, key.clone()).render(backend)?;
    let insert = insert_statement(meta, &row).into_statement(backend)?;
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                if conn.execute(&update).await? == 0 {
                    conn.query(&insert, &mut |_| Ok(())).await?;
                }
                Ok(key)
            })
        }),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// The `UPDATE` writing every field of `row` but the key to the row whose key is `key`.
pub(crate) fn row_update(meta: &'static ModelMeta, row: &[Value], key: Value) -> UpdateQuery {
    let set = meta
        .fields
        .iter()
        .zip(row)
        .filter(|(f, _)| !f.primary_key)
        .map(|(f, v)| (f.name.clone(), v.clone()))
        .collect();
    UpdateQuery {
        model: meta,
        set,
        computed: Vec::new(),
        groups: vec![key_group(meta, key)],
    }
}

/// Deletes the row of `meta` whose key is `key` (see [`delete_where`]); a NULL key is
/// [`Error::Unsaved`].
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let student = school.get("Student").unwrap();
/// assert_eq!(crud::delete(&db, student, Value::I64(2)).await?, 1);
/// assert_eq!(crud::delete(&db, student, Value::I64(2)).await?, 0);
/// assert!(crud::delete(&db, student, Value::Null).await.is_err());
/// # Ok(()) }
/// ```
pub async fn delete(exec: &impl Executor, meta: &'static ModelMeta, key: Value) -> Result<u64> {
    if key.is_null() {
        return Err(Error::Unsaved {
            model: meta.name.clone(),
            action: "delete() needs a saved row".to_owned(),
        });
    }
    delete_where(exec, meta, vec![key_group(meta, key)]).await
}

/// Deletes every row of `meta` matching `groups` in one statement (the database applies
/// on-delete actions to rows referring to them); returns the number of rows deleted from
/// this table. Hooked relations: the through rows of deleted sources or targets are
/// deleted explicitly first (firing their hooks), and deleted through rows fire theirs.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// # use throughline_query::{FieldPath, Filter, FilterGroup, Lookup};
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let student = school.get("Student").unwrap();
/// let named = Lookup::In(vec!["ada".into(), "cy".into()]);
/// let groups = vec![FilterGroup::filter(Filter::cond(FieldPath::local("name"), named))];
/// assert_eq!(crud::delete_where(&db, student, groups).await?, 2);
/// let left = throughline_engine::read::rows(&db, student, Filter::All).await?;
/// assert_eq!(left, vec![vec![Value::I64(2), Value::from("bob")]]);
/// # Ok(()) }
/// ```
pub async fn delete_where(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    groups: Vec<FilterGroup>,
) -> Result<u64> {
    let hooks = exec.hooks();
    let through_hooked = through_is_hooked(hooks, &meta.name);
    let hooked = through_hooked || endpoint_is_hooked(hooks, &meta.name);
    let stmt = DeleteQuery {
        model: meta,
        groups: groups.clone(),
        returning: if through_hooked {
            meta.fields.iter().map(|f| f.name.clone()).collect()
        } else {
            Vec::new()
        },
    }
    .render(exec.backend())?;
    if !hooked {
        return exec
            .run(
                Access::WriteOne,
                op(move |conn| Box::pin(async move { conn.execute(&stmt).await })),
            )
            .await
            .map_err(|e| attach_model(e, meta));
    }
    let hooks = hooks.clone();
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                before_delete(conn, &hooks, meta, &groups).await?;
                if !through_hooked {
                    return conn.execute(&stmt).await;
                }
                let decode = crate::row_values(meta);
                let mut rows = Vec::new();
                conn.query(&stmt, &mut |row| {
                    rows.push(decode(row)?);
                    Ok(())
                })
                .await?;
                let points = (HookPoint::BeforeRemove, HookPoint::AfterRemove);
                fire_through_rows(conn, &hooks, meta, &rows, points, false).await?;
                Ok(rows.len() as u64)
            })
        }),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// Sets fields on every row of `meta` matching `groups` in one statement; returns the
/// number of rows. The values are validated first; `auto_now` fields the assignments do not
/// name are set to the current time (as a save would). Fires no hook.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// # use throughline_query::Filter;
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let student = school.get("Student").unwrap();
/// let bob = vec![crud::key_group(student, Value::I64(2))];
/// let n = crud::update_where(&db, student, bob, vec![("name".into(), "rob".into())]).await?;
/// assert_eq!(n, 1);
/// let rows = throughline_engine::read::rows(&db, student, Filter::All).await?;
/// assert_eq!(rows[1], vec![Value::I64(2), Value::from("rob")]);
/// # Ok(()) }
/// ```
pub async fn update_where(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    groups: Vec<FilterGroup>,
    assignments: Vec<(String, Value)>,
) -> Result<u64> {
    update_computed_where(exec, meta, groups, assignments, Vec::new()).await
}

/// [`update_where`] that also assigns expressions computed from each row's own fields
/// (`price = price * 1.1`). The values are validated first; the expressions are checked
/// when rendered (no field across a relation, no aggregate).
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # use throughline_query::{ArithOp, Expression, FieldPath};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::school_db().await?;
/// let student = school.get("Student").unwrap();
/// crud::insert(&db, student, vec![Value::Null, "ada".into()]).await?;
/// let shout = Expression::Function(throughline_query::Function::Upper, vec![Expression::field(FieldPath::local("name"))]);
/// let n = crud::update_computed_where(&db, student, vec![], vec![], vec![("name".into(), shout)]).await?;
/// assert_eq!(n, 1);
/// # Ok(()) }
/// ```
pub async fn update_computed_where(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    groups: Vec<FilterGroup>,
    assignments: Vec<(String, Value)>,
    computed: Vec<(String, Expression)>,
) -> Result<u64> {
    let mut set = Vec::with_capacity(assignments.len() + 1);
    for (name, value) in assignments {
        let field = meta
            .field(&name)
            .ok_or_else(|| Error::invalid_query(&meta.name, format!("no field `{name}`")))?;
        throughline_core::validate::validate_value(meta, field, &value)?;
        set.push((name, value));
    }
    // An update with no assignment still refreshes the `auto_now` fields (a "touch").
    let mut written = set.clone();
    written.extend(computed.iter().map(|(name, _)| (name.clone(), Value::Null)));
    let refreshed = crate::defaults::auto_now_assignments(meta, &written);
    set.extend(refreshed);
    if set.is_empty() && computed.is_empty() {
        return Ok(0);
    }
    for (name, _) in &computed {
        if meta.field(name).is_none() {
            return Err(Error::invalid_query(
                &meta.name,
                format!("no field `{name}`"),
            ));
        }
    }
    let mut assigned: Vec<&str> = written.iter().map(|(name, _)| name.as_str()).collect();
    assigned.sort_unstable();
    if let Some(pair) = assigned.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Error::invalid_query(
            &meta.name,
            format!("`{}` is assigned twice in one update", pair[0]),
        ));
    }
    let stmt = UpdateQuery {
        model: meta,
        set,
        computed,
        groups,
    }
    .render(exec.backend())?;
    exec.run(
        Access::WriteOne,
        op(move |conn| Box::pin(async move { conn.execute(&stmt).await })),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// Inserts `rows` (each every field of `meta`, in order) in as few statements as the
/// backend's bind-parameter limit allows, in one transaction, and returns the rows written
/// (with their keys) decoded by `decode`. With [`Conflict::Ignore`] the rows skipped are not
/// returned; with [`Conflict::Update`] the updated rows are. Rows of a hooked through model
/// fire the relation's add hooks.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// # use throughline_query::Conflict;
/// let (db, school) = doc_support::school_db().await?;
/// let student = school.get("Student").unwrap();
/// let rows = vec![vec![Value::Null, "ada".into()], vec![Value::Null, "bob".into()]];
/// let decode = throughline_engine::row_values(student);
/// let written = crud::bulk_insert(&db, student, rows, Conflict::Error, decode).await?;
/// assert_eq!(written[1], vec![Value::I64(2), Value::from("bob")]);
/// assert_eq!(written.len(), 2);
/// # Ok(()) }
/// ```
pub async fn bulk_insert<R: Send + 'static>(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    rows: Vec<Vec<Value>>,
    conflict: Conflict,
    decode: impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static,
) -> Result<Vec<R>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    for row in &rows {
        validate_instance(meta, row)?;
    }
    let backend = exec.backend();
    // Without `ON CONFLICT` the conflicting rows are read under a lock first
    // ([`crate::conflict`]); the statements depend on what is found.
    let caps = throughline_query::dialect::capabilities(backend)?;
    let emulated = match &conflict {
        Conflict::Ignore => !caps.on_conflict_do_nothing,
        Conflict::Update { .. } => !caps.on_conflict_do_update,
        _ => false,
    };
    let mut statements = if emulated {
        Vec::new()
    } else {
        insert_statements(meta, &rows, conflict.clone(), backend)?
    };
    // A bulk write to a hooked through model fires the relation's add hooks too.
    let hooks = exec.hooks();
    let hooks = through_is_hooked(hooks, &meta.name).then(|| hooks.clone());
    // Concurrent locked reads of the same gaps deadlock on InnoDB: the server rolls one
    // transaction back, and an operation that owns its transaction runs again (its read
    // then waits for the other's rows and skips them). Inside a caller's transaction the
    // deadlock is returned (retryable: the server rolled the whole transaction back).
    let attempts = if emulated && !exec.in_transaction() {
        8
    } else {
        1
    };
    let decode = std::sync::Arc::new(decode);
    let mut rows = rows;
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let last = attempt >= attempts;
        let (rows, statements) = if last {
            (std::mem::take(&mut rows), std::mem::take(&mut statements))
        } else {
            (rows.clone(), statements.clone())
        };
        let (conflict, hooks, decode) = (conflict.clone(), hooks.clone(), decode.clone());
        let result = run_bulk_insert(
            exec, meta, rows, statements, conflict, emulated, hooks, decode,
        )
        .await;
        match result {
            Err(error @ Error::Database(_)) if !last && error.is_retryable() => {
                // A pause growing with the attempts, and a jitter, so that the transactions
                // that deadlocked do not meet again at once.
                let jitter = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::from(d.subsec_nanos() % 10));
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt + jitter)).await;
            }
            other => return other.map_err(|e| attach_model(e, meta)),
        }
    }
}

/// One attempt of [`bulk_insert`]: its statements, or the read-under-lock path when
/// `emulated`, in one transaction with the hooks.
#[allow(clippy::too_many_arguments)]
async fn run_bulk_insert<R: Send + 'static>(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    rows: Vec<Vec<Value>>,
    statements: Vec<Statement>,
    conflict: Conflict,
    emulated: bool,
    hooks: Option<throughline_db::Hooks>,
    decode: std::sync::Arc<impl Fn(&Row<'_>) -> Result<R> + Send + Sync + 'static>,
) -> Result<Vec<R>> {
    let backend = exec.backend();
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                let points = (HookPoint::BeforeAdd, HookPoint::AfterAdd);
                if let Some(hooks) = &hooks {
                    fire_through_rows(conn, hooks, meta, &rows, points, true).await?;
                }
                let values = crate::row_values(meta);
                let hooked = hooks.is_some();
                // Each row written, decoded, with its values when hooks need them.
                let read = |row: &Row<'_>| -> Result<(R, Option<Vec<Value>>)> {
                    Ok((decode(row)?, if hooked { Some(values(row)?) } else { None }))
                };
                let written = match conflict {
                    Conflict::Ignore if emulated => {
                        let kept =
                            crate::conflict::without_conflicts(conn, meta, rows, backend).await?;
                        let statements = insert_statements(meta, &kept, Conflict::Error, backend)?;
                        query_all(conn, &statements, &read).await?
                    }
                    Conflict::Update { target, fields } if emulated => {
                        let split =
                            crate::conflict::split_by_target(conn, meta, rows, &target, backend)
                                .await?;
                        let statements =
                            insert_statements(meta, &split.inserts, Conflict::Error, backend)?;
                        let inserted = query_all(conn, &statements, &read).await?;
                        for stmt in crate::conflict::update_statements(
                            meta,
                            &split.target,
                            &fields,
                            &split.updates,
                            backend,
                        )? {
                            conn.execute(&stmt).await?;
                        }
                        let mut updated = std::collections::HashMap::new();
                        if let Some(stmt) = crate::conflict::read_back(
                            meta,
                            &split.target,
                            &split.updates,
                            backend,
                        )? {
                            conn.query(&stmt, &mut |row| {
                                if let Some(t) =
                                    crate::conflict::target_of(meta, &split.target, row)?
                                {
                                    updated.insert(t, read(row)?);
                                }
                                Ok(())
                            })
                            .await?;
                        }
                        crate::conflict::in_batch_order(&split, inserted, updated)
                    }
                    _ => query_all(conn, &statements, &read).await?,
                };
                let mut out = Vec::with_capacity(written.len());
                let mut written_values = Vec::new();
                for (row, values) in written {
                    out.push(row);
                    written_values.extend(values);
                }
                if let Some(hooks) = &hooks {
                    fire_through_rows(conn, hooks, meta, &written_values, points, false).await?;
                }
                Ok(out)
            })
        }),
    )
    .await
}

/// Writes `fields` of each of `rows` (each every field of `meta`, in order, with its key)
/// to the row with its key, in one transaction: one `UPDATE ... SET f = CASE WHEN key = ?
/// THEN ? ... END WHERE key IN ...` per chunk of the bind-parameter limit, as Django's
/// `bulk_update` (a key given twice: its first row wins). Returns the number of rows
/// matched. A row without a key is [`Error::Unsaved`]; a field that is the key, or is
/// unknown, an [`Error::InvalidQuery`]; values are validated before any SQL.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{crud, doc_support};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::school_db().await?;
/// let student = school.get("Student").unwrap();
/// let decode = throughline_engine::row_values(student);
/// let rows = vec![vec![Value::Null, "ada".into()], vec![Value::Null, "bob".into()]];
/// let mut written = crud::bulk_insert(&db, student, rows, Default::default(), decode).await?;
/// written[0][1] = "Ada".into();
/// written[1][1] = "Bob".into();
/// assert_eq!(crud::bulk_update(&db, student, written, vec!["name".into()]).await?, 2);
/// # Ok(()) }
/// ```
pub async fn bulk_update(
    exec: &impl Executor,
    meta: &'static ModelMeta,
    rows: Vec<Vec<Value>>,
    fields: Vec<FieldName>,
) -> Result<u64> {
    if fields.is_empty() {
        return Err(Error::invalid_query(
            &meta.name,
            "bulk_update needs the names of the fields to write",
        ));
    }
    // A field listed twice is written once.
    let mut fields = fields;
    let mut seen = std::collections::HashSet::new();
    fields.retain(|name| seen.insert(name.clone()));
    if rows.is_empty() {
        return Ok(0);
    }
    let pk = meta
        .fields
        .iter()
        .position(|f| f.primary_key)
        .ok_or_else(|| Error::invalid_query(&meta.name, "the model has no primary key"))?;
    for name in &fields {
        let field = meta
            .field(name)
            .ok_or_else(|| Error::invalid_query(&meta.name, format!("no field `{name}`")))?;
        if field.primary_key {
            return Err(Error::invalid_query(
                &meta.name,
                format!("bulk_update cannot write the primary key `{name}`"),
            ));
        }
    }
    for row in &rows {
        validate_instance(meta, row)?;
        if row[pk].is_null() {
            return Err(Error::Unsaved {
                model: meta.name.clone(),
                action: "bulk_update".to_owned(),
            });
        }
    }
    let statements =
        crate::conflict::update_statements(meta, &[pk], &fields, &rows, exec.backend())?;
    exec.run(
        Access::Atomic,
        op(move |conn| {
            Box::pin(async move {
                let mut matched = 0;
                for stmt in &statements {
                    matched += conn.execute(stmt).await?;
                }
                Ok(matched)
            })
        }),
    )
    .await
    .map_err(|e| attach_model(e, meta))
}

/// The inserts of `rows` (each every field of `meta`, in order) in as few statements as
/// the backend's bind-parameter limit allows, returning every field; an unset auto key
/// is left out when no row sets it.
pub(crate) fn insert_statements(
    meta: &'static ModelMeta,
    rows: &[Vec<Value>],
    conflict: Conflict,
    backend: throughline_core::Backend,
) -> Result<Vec<Statement>> {
    let skip_auto = |i: usize| meta.fields[i].is_auto() && rows.iter().all(|r| r[i].is_null());
    let kept: Vec<usize> = (0..meta.fields.len()).filter(|i| !skip_auto(*i)).collect();
    let fields: Vec<FieldName> = kept
        .iter()
        .map(|i| FieldName::Borrowed(&meta.fields[*i].name))
        .collect();
    let max_params = throughline_query::dialect::capabilities(backend)?.max_bind_params;
    let per_statement = (max_params / fields.len().max(1)).max(1);
    let returning: Vec<FieldName> = meta
        .fields
        .iter()
        .map(|f| FieldName::Borrowed(&f.name))
        .collect();
    let mut statements = Vec::new();
    for chunk in rows.chunks(per_statement) {
        let insert = InsertQuery {
            model: meta,
            fields: fields.clone(),
            rows: chunk
                .iter()
                .map(|r| kept.iter().map(|i| r[*i].clone()).collect())
                .collect(),
            conflict: conflict.clone(),
            returning: returning.clone(),
        };
        statements.push(insert.into_statement(backend)?);
    }
    Ok(statements)
}

/// Runs `statements`, each row they return read by `read`.
async fn query_all<T: Send>(
    conn: &mut dyn Conn,
    statements: &[Statement],
    read: &(dyn Fn(&Row<'_>) -> Result<T> + Send + Sync),
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for stmt in statements {
        conn.query(stmt, &mut |row| {
            out.push(read(row)?);
            Ok(())
        })
        .await?;
    }
    Ok(out)
}
