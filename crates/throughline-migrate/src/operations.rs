//! Owns [`Operation`], one step of a migration: how it changes the [`ProjectState`]
//! (`apply`), the SQL that makes the database follow, forwards and backwards, what it costs
//! the running database, and whether it can be reversed.
//!
//! An operation says *what* changes; the backend's schema editor ([`crate::editor`]) says
//! how: its literals and statements, and whether a change is made in place or by
//! rebuilding the table. A rebuild (SQLite's, for most column changes) creates the new
//! table, copies each field from its old column, drops the old table, renames the new one
//! and recreates the indexes, between the editor's statements before and after it
//! (SQLite's `legacy_alter_table`, so that views and other tables' triggers that refer to
//! the table do not fail the rename); the executor runs it with foreign keys off, set
//! before `BEGIN`, and checks them before `COMMIT` (SPEC §4), keeps the table's triggers
//! and the indexes throughline does not manage ([`Action::Preserve`]), and restores the
//! setting the editor names. A change made in place (PostgreSQL's) renames a changed
//! column first; a narrowing change takes the editor's lock before its row checks.
//! Literals (backfills) read back exactly whatever the session's settings.
//!
//! What runs is a list of [`Action`]s ([`Operation::actions`]): the SQL that `sqlmigrate`
//! prints ([`Operation::forwards`]), plus what needs the database at run time — the check
//! that a created table does not exist yet, the row checks of a narrowing change
//! ([`crate::narrowing`]), and keeping a rebuilt table's triggers. `apply` refuses a
//! malformed operation (a model without fields or primary key, a default or backfill that
//! does not fit its field) with [`throughline_core::Error::Migration`].

use crate::editor::{SchemaEditor, editor};
use crate::narrowing::{self, RowCheck};
use crate::state::{
    ConstraintState, FieldState, ModelState, ProjectState, check_fits, field_meta, from_json,
    model_meta, parse_type, refuse,
};
use serde::{Deserialize, Serialize};
use throughline_core::{Backend, FieldMeta, ForeignKeyMeta, Result, Value};
use throughline_query::ddl::{TargetOf, quote};

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
    /// A statement that takes or releases a lock and changes nothing (printed by
    /// `sqlmigrate` too): where DDL is not transactional, it is not a step of its own in
    /// the migration's recorded progress.
    Lock(String),
    /// The table must not exist yet (`create_model`): a migration never adopts a table it
    /// did not create (unless `fake_initial` verified its shape).
    Absent(String),
    /// Rows checked before a narrowing change; any that does not fit refuses it.
    Check(RowCheck),
    /// Before a table rebuild (SQLite's): read the table's triggers, and its indexes not
    /// named in `managed`, which the rebuild drops...
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

    /// What the operation costs the running database on `backend` (on a backend without a
    /// schema editor, where nothing can run: the most any operation costs).
    ///
    /// ```
    /// # use throughline_migrate::{Cost, Operation};
    /// let op: Operation = serde_json::from_str(r#"{"op": "remove_field", "model": "Tag", "field": "note"}"#).unwrap();
    /// assert_eq!(op.cost(throughline_core::Backend::Sqlite), Cost::RewritesTable);
    /// assert_eq!(op.cost(throughline_core::Backend::Postgres), Cost::MetadataOnly);
    /// ```
    pub fn cost(&self, backend: Backend) -> Cost {
        match editor(backend) {
            Ok(editor) => self.cost_with(editor),
            Err(_) => Cost::RewritesTable,
        }
    }

    /// What the operation costs the running database, `editor` deciding what differs.
    fn cost_with(&self, editor: &dyn SchemaEditor) -> Cost {
        match self {
            Operation::StateOnly { .. }
            | Operation::AlterRelations { .. }
            | Operation::RenameModel { .. }
            | Operation::AlterModelTable { .. }
            | Operation::RenameField { .. }
            | Operation::DeleteModel { .. }
            | Operation::CreateModel { .. } => Cost::MetadataOnly,
            // A table constraint dropped by rebuilding the table (SQLite).
            Operation::RemoveConstraint { .. } if editor.drops_unique_constraint_by_rebuild() => {
                Cost::RewritesTable
            }
            // A foreign key that loses its covering index gets its own back: an index build.
            Operation::RemoveConstraint { .. } | Operation::RemoveIndex { .. } => {
                Cost::BlocksWrites
            }
            Operation::AddField {
                field, backfill, ..
            } => {
                if backfill.is_some() {
                    Cost::BlocksWrites
                } else if !field.nullable && field.foreign_key.is_some() {
                    editor.add_not_null_foreign_key_cost()
                } else {
                    Cost::MetadataOnly
                }
            }
            Operation::RemoveField { .. } => editor.drop_column_cost(),
            Operation::AlterField { .. } => Cost::RewritesTable,
            Operation::AddIndex { .. }
            | Operation::AddConstraint { .. }
            | Operation::RunSql { .. } => Cost::BlocksWrites,
            Operation::DatabaseOnly { operations } => operations
                .iter()
                .map(|o| o.cost_with(editor))
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
                // Keys referring to the renamed field (`to_field`) follow it, as Django's.
                for other in state.models.values_mut() {
                    for field in other.fields.iter_mut() {
                        if let Some(fk) = field
                            .foreign_key
                            .as_mut()
                            .filter(|fk| &fk.to == model && fk.to_field.as_ref() == Some(from))
                        {
                            fk.to_field = Some(to.clone());
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
        let editor = editor(backend)?;
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
                let checks = narrowing::checks(old, previous, field, filled, editor)?;
                if !checks.is_empty()
                    && let Some(lock) = editor.lock_for_row_checks_sql(&old.table)
                {
                    // No row may be written between the checks and the change.
                    out.push(Action::Lock(lock));
                    out.extend(checks.into_iter().map(Action::Check));
                    out.extend(
                        self.forwards_sql(before, after, editor)?
                            .into_iter()
                            .map(Action::Sql),
                    );
                    out.extend(editor.unlock_after_row_checks_sql().map(Action::Lock));
                    return Ok(out);
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
        let rebuilt = self.rebuilt(before, editor)?;
        if let Some((table, managed)) = &rebuilt {
            out.push(Action::Preserve {
                table: table.clone(),
                managed: managed.clone(),
            });
        }
        out.extend(
            self.forwards_sql(before, after, editor)?
                .into_iter()
                .map(Action::Sql),
        );
        if let Some((table, _)) = rebuilt {
            out.push(Action::Restore { table });
        }
        Ok(out)
    }

    /// The table `editor` rebuilds for this operation, with the index names throughline
    /// manages on it (its rebuild recreates those; any other index is the user's).
    fn rebuilt(
        &self,
        before: &ProjectState,
        editor: &dyn SchemaEditor,
    ) -> Result<Option<(String, Vec<String>)>> {
        let model = match self {
            Operation::AlterField { model, .. } if editor.alters_column_by_rebuild() => model,
            Operation::RemoveConstraint { model, .. }
                if editor.drops_unique_constraint_by_rebuild() =>
            {
                model
            }
            Operation::RemoveField { model, field } => {
                let removed = before
                    .model(model)?
                    .field(field)
                    .ok_or_else(|| refuse(format!("field {model}.{field} does not exist")))?;
                if !editor.drops_column_by_rebuild(removed) {
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

    /// The statements of the operation, as `editor` spells them.
    fn forwards_sql(
        &self,
        before: &ProjectState,
        after: &ProjectState,
        editor: &dyn SchemaEditor,
    ) -> Result<Vec<String>> {
        let target_of = |fk: &ForeignKeyMeta| after.target_of(fk);
        let target_of: TargetOf<'_> = &target_of;
        Ok(match self {
            Operation::CreateModel { model } => {
                editor.create_table_sql(&model_meta(model)?, target_of)?
            }
            Operation::DeleteModel { name } => {
                // No IF EXISTS: a table the migration expects and does not find is an
                // error, not a silent success.
                vec![editor.delete_table_sql(&before.model(name)?.table)?]
            }
            Operation::AddField {
                model,
                field,
                backfill,
            } => {
                let m = after.model(model)?;
                add_field(m, field, backfill.as_ref(), target_of, editor)?
            }
            Operation::RemoveField { model, field } => {
                let old = before.model(model)?;
                let new = after.model(model)?;
                let removed = old
                    .field(field)
                    .ok_or_else(|| refuse(format!("field {model}.{field} does not exist")))?;
                if editor.drops_column_by_rebuild(removed) {
                    rebuild(old, new, &[], target_of, editor)?
                } else {
                    let mut sql: Vec<String> = editor
                        .drop_foreign_key_sql(&old.table, removed)
                        .into_iter()
                        .collect();
                    let old_meta = model_meta(old)?;
                    if let Some(f) = old_meta.field(field).filter(|f| old_meta.has_own_index(f)) {
                        sql.push(editor.drop_own_index_sql(&old_meta, f));
                    }
                    sql.push(editor.drop_column_sql(&old.table, &removed.column)?);
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
                if editor.alters_column_by_rebuild() {
                    let fills: Vec<(String, Value)> = fill
                        .map(|v| (field.column.clone(), v))
                        .into_iter()
                        .collect();
                    rebuild(old, new, &fills, target_of, editor)?
                } else {
                    // A changed column is renamed first (with its data); what follows uses
                    // the new name.
                    // The own indexes it gains come before the change, those it loses
                    // after: MySQL refuses to drop a unique index that is the last one a
                    // foreign key can use.
                    let mut sql = rename_column(old, new, &field.name, &field.name, editor)?;
                    let (creates, drops) = own_index_split(old, new, editor)?;
                    sql.extend(creates);
                    sql.extend(editor.alter_column_sql(old, previous, field, fill.as_ref())?);
                    sql.extend(drops);
                    sql
                }
            }
            Operation::RenameField { model, from, to } => {
                rename_column(before.model(model)?, after.model(model)?, from, to, editor)?
            }
            Operation::RenameModel { .. }
            | Operation::AlterRelations { .. }
            | Operation::StateOnly { .. } => Vec::new(),
            Operation::AlterModelTable { model, table } => {
                let old = before.model(model)?;
                if &old.table == table {
                    Vec::new()
                } else {
                    vec![editor.rename_table_sql(&old.table, table)?]
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
                // The keys' own indexes it covers go after it (MySQL refuses to drop the
                // last index a foreign key can use), or first when the declared index
                // reuses the name of the one it replaces.
                let old = before.model(model)?;
                let old_meta = model_meta(old)?;
                let replaced = old_meta
                    .own_indexes()
                    .find(|field| old_meta.own_index_name(field) == index.name);
                let changes = own_index_changes(old, m, editor)?;
                let create = editor.create_index_sql(&m.table, &index.name, &columns, unique);
                match replaced {
                    None => [create].into_iter().chain(changes).collect(),
                    Some(field) => {
                        match editor.replace_index_sql(&m.table, &index.name, &columns, unique) {
                            Some(replace) => {
                                let drop = editor.drop_own_index_sql(&old_meta, field);
                                changes
                                    .into_iter()
                                    .filter(|sql| *sql != drop)
                                    .chain([replace])
                                    .collect()
                            }
                            None => changes.into_iter().chain([create]).collect(),
                        }
                    }
                }
            }
            Operation::RemoveIndex { model, name } => {
                let old = before.model(model)?;
                let drop = vec![editor.drop_index_sql(&old.table, name)];
                around_removal(drop, name, old, after.model(model)?, editor)?
            }
            Operation::RemoveConstraint { model, name } => {
                // A constraint created with the table is part of its definition: dropped in
                // place where the backend can (PostgreSQL), else by a rebuild (SQLite).
                let (old, new) = (before.model(model)?, after.model(model)?);
                if editor.drops_unique_constraint_by_rebuild() {
                    rebuild(old, new, &[], target_of, editor)?
                } else {
                    let drop = editor.drop_unique_constraint_sql(&old.table, name)?;
                    around_removal(drop, name, old, new, editor)?
                }
            }
            Operation::RunSql { sql, .. } => sql.clone(),
            Operation::DatabaseOnly { operations } => {
                let mut sql = Vec::new();
                let mut state = before.clone();
                for op in operations {
                    let mut next = state.clone();
                    op.apply(&mut next)?;
                    sql.extend(op.forwards(&state, &next, editor.backend())?);
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
            Action::Sql(sql) | Action::Lock(sql) => Some(sql),
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
/// rows are filled, then the default is dropped where the backend can
/// ([`SchemaEditor::drop_fill_default_sql`]) — throughline keeps defaults in the
/// application, not the database.
fn add_field(
    model: &ModelState,
    field: &FieldState,
    backfill: Option<&serde_json::Value>,
    target_of: TargetOf<'_>,
    editor: &dyn SchemaEditor,
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
    let fill = fill.map(|v| editor.storage_form(v));
    let nullable_fill = if field.nullable { fill.as_ref() } else { None };
    let mut sql = editor.add_column_sql(
        &meta,
        &field_meta,
        target_of,
        if field.nullable { None } else { fill.as_ref() },
    )?;
    if let Some(value) = nullable_fill {
        sql.push(update_all(&model.table, &field.column, value, editor));
    }
    if !field.nullable {
        sql.extend(editor.drop_fill_default_sql(&model.table, &field.column));
    }
    Ok(sql)
}

/// `UPDATE table SET column = value` with the value as a literal.
fn update_all(table: &str, column: &str, value: &Value, editor: &dyn SchemaEditor) -> String {
    format!(
        "UPDATE {} SET {} = {}",
        quote(table),
        quote(column),
        editor.literal(value)
    )
}

/// The table rebuild of a backend that cannot alter in place: create the new table under
/// a temporary name, copy the fields both versions have (by name, from the old column to
/// the new one, filling `fills` where the old value is NULL), drop the old table, rename,
/// and recreate the indexes — between the editor's statements before and after it
/// (SQLite's `legacy_alter_table`: since SQLite 3.26 the rename re-checks every view and
/// trigger of the schema, and one that refers to the table fails it while the old table
/// is gone; the executor restores the setting after the migration, failed or not).
fn rebuild(
    old: &ModelState,
    new: &ModelState,
    fills: &[(String, Value)],
    target_of: TargetOf<'_>,
    editor: &dyn SchemaEditor,
) -> Result<Vec<String>> {
    let mut temporary = model_meta(new)?;
    let final_table = temporary.table.clone();
    temporary.table = format!("{}__new", final_table);
    let create_table = editor
        .create_table_sql(&temporary, target_of)?
        .into_iter()
        .next()
        .ok_or_else(|| refuse(format!("no CREATE TABLE for the rebuild of {}", old.table)))?;
    let mut sql = editor.before_rebuild_sql();
    sql.push(create_table);
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
                    editor.literal(value)
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
    sql.push(editor.rename_table_sql(&temporary.table, &final_table)?);
    sql.extend(editor.after_rebuild_sql());
    // The indexes, on the final table.
    let final_meta = model_meta(new)?;
    sql.extend(
        editor
            .create_table_sql(&final_meta, target_of)?
            .into_iter()
            .skip(1),
    );
    Ok(sql)
}

/// The single-column indexes to create or drop when a model changes from `old` to `new`
/// in place: a foreign key loses its own index when a unique constraint or index comes to
/// start with it, and gets it back when that goes (`ModelMeta::has_own_index`).
fn own_index_changes(
    old: &ModelState,
    new: &ModelState,
    editor: &dyn SchemaEditor,
) -> Result<Vec<String>> {
    let (creates, drops) = own_index_split(old, new, editor)?;
    Ok(drops.into_iter().chain(creates).collect())
}

/// [`own_index_changes`] as the indexes created and the indexes dropped.
fn own_index_split(
    old: &ModelState,
    new: &ModelState,
    editor: &dyn SchemaEditor,
) -> Result<(Vec<String>, Vec<String>)> {
    let (old, new) = (model_meta(old)?, model_meta(new)?);
    let mut drops = Vec::new();
    for field in &old.fields {
        let kept = new.field(&field.name).is_some_and(|f| new.has_own_index(f));
        if old.has_own_index(field) && !kept {
            drops.push(editor.drop_own_index_sql(&old, field));
        }
    }
    let mut creates = Vec::new();
    for field in new.own_indexes() {
        if !old.field(&field.name).is_some_and(|f| old.has_own_index(f)) {
            creates.push(editor.create_own_index_sql(&new, field));
        }
    }
    Ok((creates, drops))
}

/// The removal of index or unique constraint `name` (the statements `drop`) with the own
/// indexes of the foreign keys it covered ([`own_index_changes`]) created *before* it:
/// MySQL refuses to drop the last index a foreign key can use. When an own index takes the
/// removed one's name, both are one statement where the backend needs it
/// ([`SchemaEditor::replace_index_sql`]), else the removal goes first.
fn around_removal(
    drop: Vec<String>,
    name: &str,
    old: &ModelState,
    new: &ModelState,
    editor: &dyn SchemaEditor,
) -> Result<Vec<String>> {
    let new_meta = model_meta(new)?;
    let reused = new_meta
        .own_indexes()
        .find(|field| new_meta.own_index_name(field) == name);
    let changes = own_index_changes(old, new, editor)?;
    Ok(match reused {
        None => changes.into_iter().chain(drop).collect(),
        Some(field) => {
            let columns = std::slice::from_ref(&field.column);
            match editor.replace_index_sql(&new.table, name, columns, false) {
                Some(replace) => {
                    let create = editor.create_own_index_sql(&new_meta, field);
                    changes
                        .into_iter()
                        .filter(|sql| *sql != create)
                        .chain([replace])
                        .collect()
                }
                None => drop.into_iter().chain(changes).collect(),
            }
        }
    })
}

/// Renames the column of field `from` (in `old`) to that of field `to` (in `new`) in place,
/// when it changed, with the names derived from the column, which later operations find
/// by those names: the field's own index (`<table>_<column>_idx`, when it keeps one) and
/// its single-column unique constraint where the backend names it
/// ([`SchemaEditor::rename_column_unique_sql`]).
fn rename_column(
    old: &ModelState,
    new: &ModelState,
    from: &str,
    to: &str,
    editor: &dyn SchemaEditor,
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
    let mut sql = vec![editor.rename_column_sql(&old.table, &before.column, &after.column)];
    if old_meta.has_own_index(before) && new_meta.has_own_index(after) {
        sql.extend(editor.rename_own_index_sql(&old_meta, before, &new_meta, after));
    }
    if before.unique {
        sql.extend(editor.rename_column_unique_sql(&old.table, &before.column, &after.column));
    }
    Ok(sql)
}
