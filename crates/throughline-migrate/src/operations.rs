//! Owns [`Operation`], one step of a migration: how it changes the [`ProjectState`]
//! (`apply`), the SQL that makes the database follow, forwards and backwards, per backend,
//! what it costs the running database, and whether it can be reversed.
//!
//! SQLite alters most columns by rebuilding the table (create the new table, copy each
//! field from its old column, drop the old table, rename, recreate the indexes), with
//! `legacy_alter_table` on so that views and other tables' triggers that refer to the table
//! do not fail the rename; the executor runs it with foreign keys off, set before `BEGIN`,
//! and checks them before `COMMIT` (SPEC §4), keeps the table's triggers and the indexes
//! throughline does not manage ([`Action::Preserve`]), and restores `legacy_alter_table`.
//! PostgreSQL alters in place: a changed column is renamed, a narrowing change locks the
//! table before its row checks. Literals (backfills) read back exactly whatever the
//! session's settings.
//!
//! What runs is a list of [`Action`]s ([`Operation::actions`]): the SQL that `sqlmigrate`
//! prints ([`Operation::forwards`]), plus what needs the database at run time — the check
//! that a created table does not exist yet, the row checks of a narrowing change
//! ([`crate::narrowing`]), and keeping a rebuilt table's triggers. `apply` refuses a
//! malformed operation (a model without fields or primary key, a default or backfill that
//! does not fit its field) with [`throughline_core::Error::Migration`].

use crate::narrowing::{self, RowCheck};
use crate::state::{
    ConstraintState, FieldState, ModelState, ProjectState, check_fits, field_meta, from_json,
    model_meta, parse_type, refuse,
};
use serde::{Deserialize, Serialize};
use throughline_core::{Backend, Error, FieldMeta, Result, Value};
use throughline_query::ddl::{self, TargetOf, quote};

/// What an operation costs the running database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Changes metadata only.
    MetadataOnly,
    /// Rewrites the table (and blocks writes to it meanwhile).
    RewritesTable,
    /// Blocks writes to the table while it runs (an index build, a backfill).
    BlocksWrites,
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cost::MetadataOnly => "metadata only",
            Cost::RewritesTable => "rewrites the table",
            Cost::BlocksWrites => "blocks writes",
        })
    }
}

/// What an operation does to the database when it runs, in order ([`Operation::actions`]).
///
/// ```
/// use throughline_migrate::operations::Action;
/// let action = Action::Absent("tag".into());
/// assert!(matches!(action, Action::Absent(table) if table == "tag"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A statement (what `sqlmigrate` prints).
    Sql(String),
    /// The table must not exist yet (`create_model`): a migration never adopts a table it
    /// did not create (unless `fake_initial` verified its shape).
    Absent(String),
    /// Rows checked before a narrowing change; any that does not fit refuses it.
    Check(RowCheck),
    /// SQLite: read the table's triggers, and its indexes not named in `managed`, before a
    /// rebuild drops them...
    Preserve {
        /// The table rebuilt.
        table: String,
        /// The index names throughline creates itself (the rebuild recreates those).
        managed: Vec<String>,
    },
    /// ... and recreate them after it.
    Restore {
        /// The table rebuilt.
        table: String,
    },
}

/// One step of a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Creates a model and its table.
    CreateModel {
        /// The model.
        model: ModelState,
    },
    /// Deletes a model and drops its table.
    DeleteModel {
        /// The model's name.
        name: String,
    },
    /// Adds a field (a column). Existing rows get `backfill`, or the field's constant
    /// default, or NULL.
    AddField {
        /// The model.
        model: String,
        /// The field.
        field: FieldState,
        /// The value written into existing rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backfill: Option<serde_json::Value>,
    },
    /// Removes a field (drops its column).
    RemoveField {
        /// The model.
        model: String,
        /// The field's name.
        field: String,
    },
    /// Changes a field (type, nullability, uniqueness, index, column: a changed column is
    /// moved with its data). Making a field non-null writes `backfill` (or the constant
    /// default) into its NULL rows first; a field that stays nullable keeps its NULLs.
    AlterField {
        /// The model.
        model: String,
        /// The field as it becomes.
        field: FieldState,
        /// The value written into rows where the field is NULL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backfill: Option<serde_json::Value>,
    },
    /// Renames a field, and its column when the column followed the name (the name itself,
    /// or a foreign key's `{name}_id`).
    RenameField {
        /// The model.
        model: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Renames a model; its table stays (see `AlterModelTable`).
    RenameModel {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Renames a model's table.
    AlterModelTable {
        /// The model.
        model: String,
        /// The new table name.
        table: String,
    },
    /// Changes the many-to-many relations declared on a model (no table of their own).
    AlterRelations {
        /// The model.
        model: String,
        /// The relations as they become.
        many_to_many: Vec<crate::state::RelationState>,
    },
    /// Adds a named index.
    AddIndex {
        /// The model.
        model: String,
        /// The index.
        index: ConstraintState,
    },
    /// Removes a named index.
    RemoveIndex {
        /// The model.
        model: String,
        /// The index's name.
        name: String,
    },
    /// Adds a named unique constraint.
    AddConstraint {
        /// The model.
        model: String,
        /// The constraint.
        constraint: ConstraintState,
    },
    /// Removes a named unique constraint.
    RemoveConstraint {
        /// The model.
        model: String,
        /// The constraint's name.
        name: String,
    },
    /// Runs SQL; reversible when `reverse_sql` is given.
    RunSql {
        /// Statements run forwards.
        sql: Vec<String>,
        /// Statements run backwards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reverse_sql: Option<Vec<String>>,
    },
    /// Changes the state only (the database already matches).
    StateOnly {
        /// The operations whose state changes apply.
        operations: Vec<Operation>,
    },
    /// Changes the database only (the state does not change).
    DatabaseOnly {
        /// The operations whose SQL runs.
        operations: Vec<Operation>,
    },
}

impl Operation {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            Operation::CreateModel { model } => {
                format!("Create model {} (table {})", model.name, model.table)
            }
            Operation::DeleteModel { name } => format!("Delete model {name}"),
            Operation::AddField { model, field, .. } => {
                format!("Add field {}.{}", model, field.name)
            }
            Operation::RemoveField { model, field } => format!("Remove field {model}.{field}"),
            Operation::AlterField { model, field, .. } => {
                format!("Alter field {}.{}", model, field.name)
            }
            Operation::RenameField { model, from, to } => {
                format!("Rename field {model}.{from} to {to}")
            }
            Operation::RenameModel { from, to } => format!("Rename model {from} to {to}"),
            Operation::AlterModelTable { model, table } => {
                format!("Rename table of {model} to {table}")
            }
            Operation::AlterRelations { model, .. } => {
                format!("Alter the many-to-many relations of {model}")
            }
            Operation::AddIndex { model, index } => format!("Add index {} on {model}", index.name),
            Operation::RemoveIndex { model, name } => format!("Remove index {name} from {model}"),
            Operation::AddConstraint { model, constraint } => {
                format!("Add unique constraint {} on {model}", constraint.name)
            }
            Operation::RemoveConstraint { model, name } => {
                format!("Remove constraint {name} from {model}")
            }
            Operation::RunSql { sql, .. } => format!("Run SQL ({} statement(s))", sql.len()),
            Operation::StateOnly { operations } => format!(
                "State only: {}",
                operations
                    .iter()
                    .map(Operation::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Operation::DatabaseOnly { operations } => format!(
                "Database only: {}",
                operations
                    .iter()
                    .map(Operation::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }

    /// Whether the operation can be migrated backwards.
    pub fn reversible(&self) -> bool {
        match self {
            Operation::RunSql { reverse_sql, .. } => reverse_sql.is_some(),
            Operation::StateOnly { operations } | Operation::DatabaseOnly { operations } => {
                operations.iter().all(Operation::reversible)
            }
            _ => true,
        }
    }

    /// What the operation costs the running database on `backend`.
    pub fn cost(&self, backend: Backend) -> Cost {
        match self {
            Operation::StateOnly { .. }
            | Operation::AlterRelations { .. }
            | Operation::RenameModel { .. }
            | Operation::AlterModelTable { .. }
            | Operation::RenameField { .. }
            | Operation::DeleteModel { .. }
            | Operation::CreateModel { .. } => Cost::MetadataOnly,
            // SQLite drops a table constraint by rebuilding the table.
            Operation::RemoveConstraint { .. } if backend == Backend::Sqlite => Cost::RewritesTable,
            // A foreign key that loses its covering index gets its own back: an index build.
            Operation::RemoveConstraint { .. } | Operation::RemoveIndex { .. } => {
                Cost::BlocksWrites
            }
            Operation::AddField {
                field, backfill, ..
            } => {
                if backfill.is_some()
                    || (!field.nullable
                        && backend == Backend::Sqlite
                        && field.foreign_key.is_some())
                {
                    Cost::BlocksWrites
                } else {
                    Cost::MetadataOnly
                }
            }
            Operation::RemoveField { .. } | Operation::AlterField { .. }
                if backend == Backend::Sqlite =>
            {
                Cost::RewritesTable
            }
            Operation::RemoveField { .. } => Cost::MetadataOnly,
            Operation::AlterField { .. } => Cost::RewritesTable,
            Operation::AddIndex { .. }
            | Operation::AddConstraint { .. }
            | Operation::RunSql { .. } => Cost::BlocksWrites,
            Operation::DatabaseOnly { operations } => operations
                .iter()
                .map(|o| o.cost(backend))
                .max_by_key(|c| *c as u8)
                .unwrap_or(Cost::MetadataOnly),
        }
    }

    /// Applies the operation to the state, refusing a malformed one (a model left without
    /// fields or primary key, a default or backfill that does not fit its field) with
    /// [`throughline_core::Error::Migration`].
    ///
    /// ```
    /// # use throughline_migrate::{Operation, ProjectState};
    /// let op: Operation = serde_json::from_str(r#"{"op": "create_model", "model":
    ///     {"name": "Tag", "table": "tag", "fields": [{"name": "name", "column": "name", "type": "string"}]}}"#).unwrap();
    /// let err = op.apply(&mut ProjectState::default()).unwrap_err();
    /// assert!(err.is_migration() && err.to_string().contains("no primary key"), "{err}");
    /// ```
    pub fn apply(&self, state: &mut ProjectState) -> Result<()> {
        self.apply_unchecked(state)?;
        match self {
            Operation::CreateModel { model } => state.model(&model.name)?.validate(),
            Operation::AddField {
                model,
                field,
                backfill,
            }
            | Operation::AlterField {
                model,
                field,
                backfill,
            } => {
                state.model(model)?.validate()?;
                if let Some(value) = backfill {
                    check_fits(model, field, parse_type(&field.ty)?, value, "backfill")?;
                }
                Ok(())
            }
            Operation::RemoveField { model, .. } | Operation::RenameField { model, .. } => {
                state.model(model)?.validate()
            }
            _ => Ok(()),
        }
    }

    fn apply_unchecked(&self, state: &mut ProjectState) -> Result<()> {
        match self {
            Operation::CreateModel { model } => {
                if state.models.contains_key(&model.name) {
                    return Err(refuse(format!("model {} already exists", model.name)));
                }
                state.models.insert(model.name.clone(), model.clone());
            }
            Operation::DeleteModel { name } => {
                state.model(name)?;
                state.models.remove(name);
            }
            Operation::AddField { model, field, .. } => {
                let m = state.model_mut(model)?;
                if m.field(&field.name).is_some() {
                    return Err(refuse(format!(
                        "field {model}.{} already exists",
                        field.name
                    )));
                }
                m.fields.push(field.clone());
            }
            Operation::RemoveField { model, field } => {
                let m = state.model_mut(model)?;
                let before = m.fields.len();
                m.fields.retain(|f| &f.name != field);
                if m.fields.len() == before {
                    return Err(refuse(format!("field {model}.{field} does not exist")));
                }
            }
            Operation::AlterField { model, field, .. } => {
                let m = state.model_mut(model)?;
                let slot = m
                    .fields
                    .iter_mut()
                    .find(|f| f.name == field.name)
                    .ok_or_else(|| {
                        refuse(format!("field {model}.{} does not exist", field.name))
                    })?;
                *slot = field.clone();
            }
            Operation::RenameField { model, from, to } => {
                let m = state.model_mut(model)?;
                let slot = m
                    .fields
                    .iter_mut()
                    .find(|f| &f.name == from)
                    .ok_or_else(|| refuse(format!("field {model}.{from} does not exist")))?;
                // The column follows the name when it was derived from it: the name
                // itself, or a foreign key's `{name}_id`.
                if slot.column == *from {
                    slot.column = to.clone();
                } else if slot.foreign_key.is_some() && slot.column == format!("{from}_id") {
                    slot.column = format!("{to}_id");
                }
                slot.name = to.clone();
                for list in [&mut m.unique_constraints, &mut m.indexes] {
                    for constraint in list.iter_mut() {
                        for name in constraint.fields.iter_mut().filter(|n| *n == from) {
                            *name = to.clone();
                        }
                    }
                }
            }
            Operation::RenameModel { from, to } => {
                let mut m = state
                    .models
                    .remove(from)
                    .ok_or_else(|| refuse(format!("model {from} does not exist")))?;
                m.name = to.clone();
                for other in state.models.values_mut() {
                    for field in other.fields.iter_mut() {
                        if let Some(fk) = field.foreign_key.as_mut().filter(|fk| &fk.to == from) {
                            fk.to = to.clone();
                        }
                    }
                    for relation in other.many_to_many.iter_mut() {
                        if &relation.through == from {
                            relation.through = to.clone();
                        }
                        if &relation.target == from {
                            relation.target = to.clone();
                        }
                    }
                }
                state.models.insert(to.clone(), m);
            }
            Operation::AlterModelTable { model, table } => {
                state.model_mut(model)?.table = table.clone()
            }
            Operation::AlterRelations {
                model,
                many_to_many,
            } => {
                state.model_mut(model)?.many_to_many = many_to_many.clone();
            }
            Operation::AddIndex { model, index } => {
                state.model_mut(model)?.indexes.push(index.clone())
            }
            Operation::RemoveIndex { model, name } => {
                let m = state.model_mut(model)?;
                if !m.indexes.iter().any(|i| &i.name == name) {
                    return Err(refuse(format!("{model} has no index {name}")));
                }
                m.indexes.retain(|i| &i.name != name)
            }
            Operation::AddConstraint { model, constraint } => {
                state
                    .model_mut(model)?
                    .unique_constraints
                    .push(constraint.clone());
            }
            Operation::RemoveConstraint { model, name } => {
                let m = state.model_mut(model)?;
                if !m.unique_constraints.iter().any(|c| &c.name == name) {
                    return Err(refuse(format!("{model} has no unique constraint {name}")));
                }
                m.unique_constraints.retain(|c| &c.name != name);
            }
            Operation::RunSql { .. } | Operation::DatabaseOnly { .. } => {}
            Operation::StateOnly { operations } => {
                for op in operations {
                    op.apply(state)?;
                }
            }
        }
        Ok(())
    }

    /// The SQL that takes the database from `before` to `after` (the states around this
    /// operation): the [`Action::Sql`] of [`Operation::actions`].
    pub fn forwards(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        backend: Backend,
    ) -> Result<Vec<String>> {
        Ok(sql_only(self.actions(before, after, backend)?))
    }

    /// What running the operation forwards does, in order: its SQL, and what needs the
    /// database at run time (the created table's absence, the row checks of a narrowing
    /// change, a SQLite rebuild's triggers kept).
    ///
    /// ```
    /// # use throughline_migrate::{Operation, ProjectState, operations::Action};
    /// let op: Operation = serde_json::from_str(r#"{"op": "create_model", "model": {"name": "Tag",
    ///     "table": "tag", "fields": [{"name": "id", "column": "id", "type": "auto", "primary_key": true}]}}"#).unwrap();
    /// let mut after = ProjectState::default();
    /// op.apply(&mut after).unwrap();
    /// let actions = op.actions(&ProjectState::default(), &after, throughline_core::Backend::Sqlite).unwrap();
    /// assert_eq!(actions[0], Action::Absent("tag".into()));
    /// assert!(matches!(&actions[1], Action::Sql(s) if s.starts_with(r#"CREATE TABLE "tag""#)));
    /// ```
    pub fn actions(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        backend: Backend,
    ) -> Result<Vec<Action>> {
        let mut out = Vec::new();
        match self {
            Operation::CreateModel { model } => out.push(Action::Absent(model.table.clone())),
            Operation::AlterField {
                model,
                field,
                backfill,
            } => {
                let old = before.model(model)?;
                let previous = old.field(&field.name).ok_or_else(|| {
                    refuse(format!("field {model}.{} does not exist", field.name))
                })?;
                let filled = fill_value(field, backfill.as_ref())?.is_some();
                let checks = narrowing::checks(old, previous, field, filled, backend)?;
                if backend == Backend::Postgres && !checks.is_empty() {
                    // No row may be written between the checks and the change: the lock
                    // the ALTER takes anyway, taken before the checks (taking a weaker one
                    // first would risk a deadlock when the ALTER upgrades it).
                    out.push(Action::Sql(format!(
                        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                        quote(&old.table)
                    )));
                }
                out.extend(checks.into_iter().map(Action::Check));
            }
            Operation::DatabaseOnly { operations } => {
                let mut state = before.clone();
                for op in operations {
                    let mut next = state.clone();
                    op.apply(&mut next)?;
                    out.extend(op.actions(&state, &next, backend)?);
                    state = next;
                }
                return Ok(out);
            }
            _ => {}
        }
        let rebuilt = self.rebuilt(before, backend)?;
        if let Some((table, managed)) = &rebuilt {
            out.push(Action::Preserve {
                table: table.clone(),
                managed: managed.clone(),
            });
        }
        out.extend(
            self.forwards_sql(before, after, backend)?
                .into_iter()
                .map(Action::Sql),
        );
        if let Some((table, _)) = rebuilt {
            out.push(Action::Restore { table });
        }
        Ok(out)
    }

    /// The table SQLite rebuilds for this operation, with the index names throughline
    /// manages on it (its rebuild recreates those; any other index is the user's).
    fn rebuilt(
        &self,
        before: &ProjectState,
        backend: Backend,
    ) -> Result<Option<(String, Vec<String>)>> {
        if backend != Backend::Sqlite {
            return Ok(None);
        }
        let model = match self {
            Operation::AlterField { model, .. } | Operation::RemoveConstraint { model, .. } => {
                model
            }
            Operation::RemoveField { model, field } => {
                let removed = before
                    .model(model)?
                    .field(field)
                    .ok_or_else(|| refuse(format!("field {model}.{field} does not exist")))?;
                if !needs_rebuild_to_drop(removed) {
                    return Ok(None);
                }
                model
            }
            _ => return Ok(None),
        };
        let old = before.model(model)?;
        let meta = model_meta(old)?;
        let mut managed: Vec<String> = old
            .indexes
            .iter()
            .chain(&old.unique_constraints)
            .map(|c| c.name.clone())
            .collect();
        managed.extend(meta.fields.iter().map(|f| meta.own_index_name(f)));
        Ok(Some((old.table.clone(), managed)))
    }

    fn forwards_sql(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        backend: Backend,
    ) -> Result<Vec<String>> {
        let target_of = |name: &str| after.target_of(name);
        let target_of: TargetOf<'_> = &target_of;
        Ok(match self {
            Operation::CreateModel { model } => {
                ddl::create_table_with(&model_meta(model)?, target_of, backend)?
            }
            Operation::DeleteModel { name } => {
                // Plain DROP TABLE: a table the migration expects and does not find is an
                // error, not a silent success.
                let table = quote(&before.model(name)?.table);
                vec![match backend {
                    Backend::Sqlite => format!("DROP TABLE {table}"),
                    Backend::Postgres => format!("DROP TABLE {table} CASCADE"),
                }]
            }
            Operation::AddField {
                model,
                field,
                backfill,
            } => {
                let m = after.model(model)?;
                add_field(m, field, backfill.as_ref(), target_of, backend)?
            }
            Operation::RemoveField { model, field } => {
                let old = before.model(model)?;
                let new = after.model(model)?;
                let removed = old
                    .field(field)
                    .ok_or_else(|| refuse(format!("field {model}.{field} does not exist")))?;
                if backend == Backend::Sqlite && needs_rebuild_to_drop(removed) {
                    rebuild(old, new, &[], target_of, backend)?
                } else {
                    let mut sql = Vec::new();
                    let old_meta = model_meta(old)?;
                    if let Some(f) = old_meta.field(field).filter(|f| old_meta.has_own_index(f)) {
                        sql.push(ddl::drop_own_index(&old_meta, f, backend));
                    }
                    sql.push(ddl::drop_column(&old.table, &removed.column, backend));
                    sql
                }
            }
            Operation::AlterField {
                model,
                field,
                backfill,
            } => {
                let old = before.model(model)?;
                let new = after.model(model)?;
                let previous = old.field(&field.name).ok_or_else(|| {
                    refuse(format!("field {model}.{} does not exist", field.name))
                })?;
                // Only a field that becomes NOT NULL has its NULL rows filled; without a
                // value for them, the executor's row check refuses the change when there
                // are any (`narrowing`). A field that stays nullable keeps its NULLs.
                let fill = if previous.nullable && !field.nullable {
                    fill_value(field, backfill.as_ref())?
                } else {
                    None
                };
                match backend {
                    Backend::Sqlite => {
                        let fills: Vec<(String, Value)> = fill
                            .map(|v| (field.column.clone(), v))
                            .into_iter()
                            .collect();
                        rebuild(old, new, &fills, target_of, backend)?
                    }
                    Backend::Postgres => {
                        let mut sql = alter_column_postgres(old, new, previous, field, fill)?;
                        sql.extend(own_index_changes(old, new, backend)?);
                        sql
                    }
                }
            }
            Operation::RenameField { model, from, to } => {
                rename_column(before.model(model)?, after.model(model)?, from, to, backend)?
            }
            Operation::RenameModel { .. }
            | Operation::AlterRelations { .. }
            | Operation::StateOnly { .. } => Vec::new(),
            Operation::AlterModelTable { model, table } => {
                let old = before.model(model)?;
                if &old.table == table {
                    Vec::new()
                } else {
                    vec![ddl::rename_table(&old.table, table, backend)]
                }
            }
            Operation::AddIndex { model, index }
            | Operation::AddConstraint {
                model,
                constraint: index,
            } => {
                let m = after.model(model)?;
                let columns = columns_of(m, &index.fields)?;
                let unique = matches!(self, Operation::AddConstraint { .. });
                // The keys' own indexes it covers go first: a declared index may reuse the
                // name of the one it replaces.
                let mut sql = own_index_changes(before.model(model)?, m, backend)?;
                sql.push(ddl::create_index(
                    &m.table,
                    &index.name,
                    &columns,
                    unique,
                    backend,
                ));
                sql
            }
            Operation::RemoveIndex { model, name } => {
                let mut sql = vec![ddl::drop_index(name, backend)];
                sql.extend(own_index_changes(
                    before.model(model)?,
                    after.model(model)?,
                    backend,
                )?);
                sql
            }
            Operation::RemoveConstraint { model, name } => match backend {
                // Constraints created with the table are table constraints on PostgreSQL and
                // unnamed-in-place on SQLite (which then needs a rebuild).
                Backend::Postgres => {
                    let old = before.model(model)?;
                    let mut sql = vec![drop_unique_postgres(&old.table, name)];
                    sql.extend(own_index_changes(old, after.model(model)?, backend)?);
                    sql
                }
                Backend::Sqlite => rebuild(
                    before.model(model)?,
                    after.model(model)?,
                    &[],
                    target_of,
                    backend,
                )?,
            },
            Operation::RunSql { sql, .. } => sql.clone(),
            Operation::DatabaseOnly { operations } => {
                let mut sql = Vec::new();
                let mut state = before.clone();
                for op in operations {
                    let mut next = state.clone();
                    op.apply(&mut next)?;
                    sql.extend(op.forwards(&state, &next, backend)?);
                    state = next;
                }
                sql
            }
        })
    }

    /// The SQL that takes the database back from `after` to `before`; an irreversible
    /// operation is an error naming it.
    pub fn backwards(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        backend: Backend,
    ) -> Result<Vec<String>> {
        Ok(sql_only(self.backwards_actions(before, after, backend)?))
    }

    /// What running the operation backwards does ([`Operation::actions`] of its inverse);
    /// an irreversible operation is an error naming it.
    ///
    /// ```
    /// # use throughline_migrate::{Operation, ProjectState};
    /// let op = Operation::RunSql { sql: vec!["SELECT 1".into()], reverse_sql: None };
    /// let state = ProjectState::default();
    /// assert!(op.backwards_actions(&state, &state, throughline_core::Backend::Sqlite).is_err());
    /// ```
    pub fn backwards_actions(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        backend: Backend,
    ) -> Result<Vec<Action>> {
        let inverse = match self {
            Operation::CreateModel { model } => Operation::DeleteModel {
                name: model.name.clone(),
            },
            Operation::DeleteModel { name } => Operation::CreateModel {
                model: before.model(name)?.clone(),
            },
            Operation::AddField { model, field, .. } => Operation::RemoveField {
                model: model.clone(),
                field: field.name.clone(),
            },
            Operation::RemoveField { model, field } => Operation::AddField {
                model: model.clone(),
                field: before
                    .model(model)?
                    .field(field)
                    .cloned()
                    .ok_or_else(|| refuse(format!("field {model}.{field} does not exist")))?,
                backfill: None,
            },
            Operation::AlterField { model, field, .. } => {
                let previous = before
                    .model(model)?
                    .field(&field.name)
                    .cloned()
                    .ok_or_else(|| {
                        refuse(format!("field {model}.{} does not exist", field.name))
                    })?;
                Operation::AlterField {
                    model: model.clone(),
                    field: previous,
                    backfill: None,
                }
            }
            Operation::RenameField { model, from, to } => Operation::RenameField {
                model: model.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Operation::RenameModel { from, to } => Operation::RenameModel {
                from: to.clone(),
                to: from.clone(),
            },
            Operation::AlterModelTable { model, .. } => Operation::AlterModelTable {
                model: model.clone(),
                table: before.model(model)?.table.clone(),
            },
            Operation::AlterRelations { model, .. } => Operation::AlterRelations {
                model: model.clone(),
                many_to_many: before.model(model)?.many_to_many.clone(),
            },
            Operation::AddIndex { model, index } => Operation::RemoveIndex {
                model: model.clone(),
                name: index.name.clone(),
            },
            Operation::RemoveIndex { model, name } => Operation::AddIndex {
                model: model.clone(),
                index: before
                    .model(model)?
                    .indexes
                    .iter()
                    .find(|i| &i.name == name)
                    .cloned()
                    .ok_or_else(|| refuse(format!("index {name} does not exist")))?,
            },
            Operation::AddConstraint { model, constraint } => Operation::RemoveConstraint {
                model: model.clone(),
                name: constraint.name.clone(),
            },
            Operation::RemoveConstraint { model, name } => Operation::AddConstraint {
                model: model.clone(),
                constraint: before
                    .model(model)?
                    .unique_constraints
                    .iter()
                    .find(|c| &c.name == name)
                    .cloned()
                    .ok_or_else(|| refuse(format!("constraint {name} does not exist")))?,
            },
            Operation::RunSql {
                reverse_sql: Some(reverse),
                ..
            } => return Ok(reverse.iter().cloned().map(Action::Sql).collect()),
            Operation::RunSql {
                reverse_sql: None, ..
            } => {
                return Err(refuse(format!(
                    "{} is irreversible (it has no reverse_sql)",
                    self.describe()
                )));
            }
            Operation::StateOnly { .. } => return Ok(Vec::new()),
            Operation::DatabaseOnly { operations } => {
                // Undo the inner operations in reverse order.
                let mut states = vec![before.clone()];
                for op in operations {
                    let mut next = states.last().cloned().unwrap_or_default();
                    op.apply(&mut next)?;
                    states.push(next);
                }
                let mut actions = Vec::new();
                for (i, op) in operations.iter().enumerate().rev() {
                    actions.extend(op.backwards_actions(&states[i], &states[i + 1], backend)?);
                }
                return Ok(actions);
            }
        };
        inverse.actions(after, before, backend)
    }
}

/// The statements of `actions`.
fn sql_only(actions: Vec<Action>) -> Vec<String> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Sql(sql) => Some(sql),
            _ => None,
        })
        .collect()
}

fn columns_of(model: &ModelState, fields: &[String]) -> Result<Vec<String>> {
    fields
        .iter()
        .map(|name| {
            model
                .field(name)
                .map(|f| f.column.clone())
                .ok_or_else(|| refuse(format!("{} has no field {name}", model.name)))
        })
        .collect()
}

/// The value existing rows get for a new or altered field: the backfill, else the
/// field's constant default.
fn fill_value(field: &FieldState, backfill: Option<&serde_json::Value>) -> Result<Option<Value>> {
    let ty = parse_type(&field.ty)?;
    if let Some(value) = backfill {
        return from_json(value, ty).map(Some);
    }
    match &field.default {
        Some(crate::state::DefaultState::Value(value)) => from_json(value, ty).map(Some),
        Some(crate::state::DefaultState::AutoNowAdd | crate::state::DefaultState::AutoNow) => Ok(
            Some(field_meta(field)?.time_value(throughline_core::value::now())),
        ),
        _ => Ok(None),
    }
}

/// `ADD COLUMN`: a NOT NULL column gets the fill value as a temporary default, so existing
/// rows are filled, then the default is dropped (PostgreSQL) — throughline keeps defaults
/// in the application, not the database.
fn add_field(
    model: &ModelState,
    field: &FieldState,
    backfill: Option<&serde_json::Value>,
    target_of: TargetOf<'_>,
    backend: Backend,
) -> Result<Vec<String>> {
    let meta = model_meta(model)?;
    let field_meta: FieldMeta = field_meta(field)?;
    let fill = fill_value(field, backfill)?;
    if !field.nullable && fill.is_none() {
        return Err(refuse(format!(
            "{}.{} is NOT NULL with no constant default: give a backfill value for the existing rows",
            model.name, field.name
        )));
    }
    let fill = fill.map(|v| storage_form(v, backend));
    let nullable_fill = if field.nullable { fill.as_ref() } else { None };
    let mut sql = ddl::add_column(
        &meta,
        &field_meta,
        target_of,
        if field.nullable { None } else { fill.as_ref() },
        backend,
    )?;
    if let Some(value) = nullable_fill {
        sql.push(update_all(&model.table, &field.column, value, backend));
    }
    if !field.nullable && backend == Backend::Postgres {
        sql.push(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            quote(&model.table),
            quote(&field.column)
        ));
    }
    Ok(sql)
}

/// A value in the form the backend stores it (SQLite: datetimes in Django's text format,
/// UUIDs as 32 hex digits), for literals in DDL.
fn storage_form(value: Value, backend: Backend) -> Value {
    match (backend, value) {
        (Backend::Sqlite, Value::DateTime(t)) => {
            Value::String(throughline_core::value::format_datetime(&t))
        }
        (Backend::Sqlite, Value::Uuid(u)) => Value::String(u.simple().to_string()),
        (Backend::Sqlite, Value::Date(d)) => Value::String(d.format("%Y-%m-%d").to_string()),
        (_, other) => other,
    }
}

/// `UPDATE table SET column = value` with the value as a literal.
fn update_all(table: &str, column: &str, value: &Value, backend: Backend) -> String {
    format!(
        "UPDATE {} SET {} = {}",
        quote(table),
        quote(column),
        literal(value, backend)
    )
}

/// A value as an SQL literal (migrations run as plain SQL so that `sqlmigrate` prints
/// exactly what runs), read back exactly whatever the session's settings: a datetime
/// carries its offset (`+00:00`, not shifted by PostgreSQL's `TimeZone`), and text is an
/// escape string on PostgreSQL (`E'...'`, which reads backslashes the same whether
/// `standard_conforming_strings` is on or off).
fn literal(value: &Value, backend: Backend) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => match backend {
            Backend::Sqlite => (if *b { "1" } else { "0" }).into(),
            Backend::Postgres => (if *b { "TRUE" } else { "FALSE" }).into(),
        },
        Value::I16(_) | Value::I32(_) | Value::I64(_) | Value::F64(_) => value.display(),
        Value::Uuid(u) if backend == Backend::Sqlite => format!("'{}'", u.simple()),
        Value::DateTime(t) if backend == Backend::Postgres => {
            format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f+00:00"))
        }
        other => text_literal(&other.display(), backend),
    }
}

/// `text` as a string literal: SQLite doubles the quotes (it has no backslash escapes);
/// PostgreSQL gets an escape string with its backslashes doubled too.
fn text_literal(text: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("'{}'", text.replace('\'', "''")),
        Backend::Postgres => format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
    }
}

/// PostgreSQL: drops the unique constraint `name` of `table`, which is a table constraint
/// when it came with the table (`create_model`) and a unique index when `add_constraint`
/// added it. The catalogue decides which, at run time; when it is neither, the migration
/// fails (it never silently does nothing, as `IF EXISTS` did).
fn drop_unique_postgres(table: &str, name: &str) -> String {
    let (table_id, name_id) = (quote(table), quote(name));
    let regclass = format!("{}::regclass", text_literal(&table_id, Backend::Postgres));
    // `::name` truncates as identifiers are (63 bytes).
    let name_text = format!("{}::name", text_literal(name, Backend::Postgres));
    let body = format!(
        "BEGIN IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = {regclass} AND conname = {name_text}) THEN ALTER TABLE {table_id} DROP CONSTRAINT {name_id}; \
         ELSIF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = {regclass} AND i.indisunique AND c.relname = {name_text}) THEN DROP INDEX {name_id}; \
         ELSE RAISE EXCEPTION 'table % has no unique constraint or unique index %', {regclass}, {name_text}; END IF; END"
    );
    let mut tag = "$throughline$".to_owned();
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$throughline{n}$");
    }
    format!("DO {tag} {body} {tag}")
}

/// Whether SQLite needs a rebuild to drop this column (it cannot drop a key, unique,
/// indexed or foreign-key column in place).
fn needs_rebuild_to_drop(field: &FieldState) -> bool {
    field.primary_key || field.unique || field.foreign_key.is_some()
}

/// SQLite's table rebuild: create the new table under a temporary name, copy the fields
/// both versions have (by name, from the old column to the new one, filling `fills` where
/// the old value is NULL), drop the old table, rename, and recreate the indexes.
///
/// It runs with `legacy_alter_table` on: since SQLite 3.26 the rename re-checks every view
/// and trigger of the schema, and one that refers to the table (a view over it, a trigger
/// on another table that writes to it) fails it while the old table is gone. The executor
/// restores the setting it found after the migration, failed or not.
fn rebuild(
    old: &ModelState,
    new: &ModelState,
    fills: &[(String, Value)],
    target_of: TargetOf<'_>,
    backend: Backend,
) -> Result<Vec<String>> {
    let mut temporary = model_meta(new)?;
    let final_table = temporary.table.clone();
    temporary.table = format!("{}__new", final_table);
    let create = ddl::create_table_with(&temporary, target_of, backend)?;
    let mut sql = vec![
        "PRAGMA legacy_alter_table = ON".to_owned(),
        create[0].clone(),
    ];
    let mut targets = Vec::new();
    let mut sources = Vec::new();
    // Fields are matched by name: an altered field may have changed its column.
    for field in &new.fields {
        if let Some(previous) = old.fields.iter().find(|f| f.name == field.name) {
            targets.push(quote(&field.column));
            match fills.iter().find(|(c, _)| c == &field.column) {
                Some((_, value)) => sources.push(format!(
                    "COALESCE({}, {})",
                    quote(&previous.column),
                    literal(value, backend)
                )),
                None => sources.push(quote(&previous.column)),
            }
        }
    }
    sql.push(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {}",
        quote(&temporary.table),
        targets.join(", "),
        sources.join(", "),
        quote(&old.table)
    ));
    sql.push(format!("DROP TABLE {}", quote(&old.table)));
    sql.push(ddl::rename_table(&temporary.table, &final_table, backend));
    sql.push("PRAGMA legacy_alter_table = OFF".to_owned());
    // The indexes, on the final table.
    let final_meta = model_meta(new)?;
    sql.extend(
        ddl::create_table_with(&final_meta, target_of, backend)?
            .into_iter()
            .skip(1),
    );
    Ok(sql)
}

/// The single-column indexes to create or drop when a model changes from `old` to `new`
/// in place: a foreign key loses its own index when a unique constraint or index comes to
/// start with it, and gets it back when that goes (`ModelMeta::has_own_index`).
fn own_index_changes(old: &ModelState, new: &ModelState, backend: Backend) -> Result<Vec<String>> {
    let (old, new) = (model_meta(old)?, model_meta(new)?);
    let mut sql = Vec::new();
    for field in &old.fields {
        let kept = new.field(&field.name).is_some_and(|f| new.has_own_index(f));
        if old.has_own_index(field) && !kept {
            sql.push(ddl::drop_own_index(&old, field, backend));
        }
    }
    for field in new.own_indexes() {
        if !old.field(&field.name).is_some_and(|f| old.has_own_index(f)) {
            sql.push(ddl::create_own_index(&new, field, backend));
        }
    }
    Ok(sql)
}

/// Renames the column of field `from` (in `old`) to that of field `to` (in `new`) in place,
/// when it changed, with the names derived from the column: the field's own index
/// (`<table>_<column>_idx`, when it keeps one) and, on PostgreSQL, its single-column unique
/// constraint (`<table>_<column>_key`), which later operations find by those names.
fn rename_column(
    old: &ModelState,
    new: &ModelState,
    from: &str,
    to: &str,
    backend: Backend,
) -> Result<Vec<String>> {
    let (old_meta, new_meta) = (model_meta(old)?, model_meta(new)?);
    let missing = |model: &str, name: &str| refuse(format!("field {model}.{name} does not exist"));
    let before = old_meta
        .field(from)
        .ok_or_else(|| missing(&old.name, from))?;
    let after = new_meta.field(to).ok_or_else(|| missing(&new.name, to))?;
    if before.column == after.column {
        return Ok(Vec::new());
    }
    let table = quote(&old.table);
    let mut sql = vec![format!(
        "ALTER TABLE {table} RENAME COLUMN {} TO {}",
        quote(&before.column),
        quote(&after.column)
    )];
    if old_meta.has_own_index(before) && new_meta.has_own_index(after) {
        match backend {
            // IF EXISTS as `drop_own_index`: an older database may have it under a former
            // table name.
            Backend::Postgres => sql.push(format!(
                "ALTER INDEX IF EXISTS {} RENAME TO {}",
                quote(&old_meta.own_index_name(before)),
                quote(&new_meta.own_index_name(after))
            )),
            // SQLite cannot rename an index.
            Backend::Sqlite => {
                sql.push(ddl::drop_own_index(&old_meta, before, backend));
                sql.push(ddl::create_own_index(&new_meta, after, backend));
            }
        }
    }
    if backend == Backend::Postgres && before.unique {
        sql.push(format!(
            "ALTER TABLE {table} RENAME CONSTRAINT {} TO {}",
            quote(&format!("{}_{}_key", old.table, before.column)),
            quote(&format!("{}_{}_key", old.table, after.column))
        ));
    }
    Ok(sql)
}

/// PostgreSQL's in-place column changes (`old` and `new`: the model around the change).
fn alter_column_postgres(
    old: &ModelState,
    new: &ModelState,
    previous: &FieldState,
    field: &FieldState,
    fill: Option<Value>,
) -> Result<Vec<String>> {
    let model = old;
    let table = quote(&model.table);
    let column = quote(&field.column);
    // A changed column is renamed first (with its data); what follows uses the new name.
    let mut sql = rename_column(old, new, &field.name, &field.name, Backend::Postgres)?;
    if previous.ty != field.ty {
        let sql_type = postgres_type(&field.ty)?;
        use throughline_core::FieldType as T;
        // The row checks decide (under the table lock); the conversions never round or
        // truncate a value that slipped past them, they fail.
        let using = match (parse_type(&previous.ty)?, parse_type(&field.ty)?) {
            // No explicit cast: `::varchar(3)` truncates, the assignment cast refuses.
            (T::String { .. }, T::String { .. }) => None,
            // The text form, assigned (not cast) to the string type: refused if too long.
            (_, T::String { .. }) => Some(format!("CAST({column} AS text)")),
            // `::bigint` rounds 2.5; NaN makes the cast fail instead.
            (T::F64, T::I16 | T::I32 | T::I64 | T::AutoI64) => Some(format!(
                "CAST(CASE WHEN {column} = trunc({column}) THEN {column} ELSE 'NaN'::double precision END AS {sql_type})"
            )),
            // `5::boolean` is true; '5' is not a boolean's text form ('0' and '1' are).
            (T::I16 | T::I32 | T::I64 | T::AutoI64, T::Bool) => {
                Some(format!("CAST(CAST({column} AS text) AS boolean)"))
            }
            _ => Some(format!("{column}::{sql_type}")),
        };
        sql.push(match using {
            None => format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type}"),
            Some(using) => {
                format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type} USING {using}")
            }
        });
    }
    if previous.nullable && !field.nullable {
        if let Some(value) = fill {
            sql.push(format!(
                "UPDATE {table} SET {column} = {} WHERE {column} IS NULL",
                literal(&value, Backend::Postgres)
            ));
        }
        sql.push(format!(
            "ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
        ));
    } else if !previous.nullable && field.nullable {
        sql.push(format!(
            "ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL"
        ));
    }
    let key = quote(&format!("{}_{}_key", model.table, field.column));
    if !previous.unique && field.unique {
        sql.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {key} UNIQUE ({column})"
        ));
    } else if previous.unique && !field.unique {
        sql.push(format!("ALTER TABLE {table} DROP CONSTRAINT {key}"));
    }
    if previous.foreign_key != field.foreign_key {
        return Err(Error::NotSupported {
            backend: "PostgreSQL".into(),
            feature: format!(
                "changing the foreign key of {}.{} in place (remove the field and add a new one)",
                model.name, field.name
            ),
        });
    }
    Ok(sql)
}

fn postgres_type(ty: &str) -> Result<String> {
    Ok(match parse_type(ty)? {
        throughline_core::FieldType::AutoI64 | throughline_core::FieldType::I64 => "bigint".into(),
        throughline_core::FieldType::I16 => "smallint".into(),
        throughline_core::FieldType::I32 => "integer".into(),
        throughline_core::FieldType::F64 => "double precision".into(),
        throughline_core::FieldType::Bool => "boolean".into(),
        throughline_core::FieldType::String {
            max_length: Some(n),
        } => format!("varchar({n})"),
        throughline_core::FieldType::String { max_length: None } => "text".into(),
        throughline_core::FieldType::Date => "date".into(),
        throughline_core::FieldType::DateTime => "timestamp with time zone".into(),
        throughline_core::FieldType::Json => "jsonb".into(),
        throughline_core::FieldType::Uuid => "uuid".into(),
        throughline_core::FieldType::Bytes => "bytea".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_exactly_whatever_the_session() {
        let pg = Backend::Postgres;
        assert_eq!(literal(&Value::from(r"a'\b"), pg), r"E'a''\\b'");
        assert_eq!(literal(&Value::from(r"a'\b"), Backend::Sqlite), r"'a''\b'");
        let t = chrono::DateTime::from_timestamp(1_704_164_645, 0).unwrap_or_default();
        assert_eq!(
            literal(&Value::from(t), pg),
            "'2024-01-02 03:04:05.000000+00:00'"
        );
    }
}
