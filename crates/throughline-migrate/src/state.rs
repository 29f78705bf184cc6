//! Owns the schema as migrations see it: [`ProjectState`], a set of [`ModelState`]s that
//! serialize to the migration files and convert to and from the core's [`ModelMeta`].
//! Only what touches the database is kept (plus the many-to-many declarations, so that a
//! change of a relation's through model can be recognised); display metadata is not.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use throughline_core::{
    DefaultValue, Error, FieldMeta, FieldType, ForeignKeyMeta, IndexMeta, MigrationError,
    ModelMeta, OnDelete, Registry, Result, UniqueConstraint, Value,
};

/// A migration problem with its reason (the executor and the loader add the file and the
/// operation).
pub(crate) fn refuse(reason: impl Into<String>) -> Error {
    Error::Migration(MigrationError::new(reason))
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A field's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// The field name.
    pub name: String,
    /// The column name.
    pub column: String,
    /// The storage type: `auto`, `i16`, `i32`, `i64`, `f64`, `bool`, `string`,
    /// `string(N)`, `date`, `datetime`, `json`, `uuid`, `bytes`.
    #[serde(rename = "type")]
    pub ty: String,
    /// NULL allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// The primary key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary_key: bool,
    /// A single-column unique constraint.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// A single-column index.
    #[serde(default, skip_serializing_if = "is_false")]
    pub index: bool,
    /// The default the application applies (migrations use a constant one to fill
    /// existing rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultState>,
    /// The foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_key: Option<ForeignKeyState>,
}

/// A field's default, as recorded in a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultState {
    /// A constant.
    Value(serde_json::Value),
    /// A function of the application (not usable by a migration to fill rows).
    Function,
    /// The time of creation.
    AutoNowAdd,
    /// The time of each save.
    AutoNow,
}

/// A foreign key's target and on-delete action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeyState {
    /// The target model.
    pub to: String,
    /// `cascade`, `protect`, `restrict`, `set_null` or `do_nothing`.
    pub on_delete: String,
    /// The target's field referred to (Django's `to_field`), when not its primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_field: Option<String>,
}

/// A named unique constraint or index over fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstraintState {
    /// The name in the database.
    pub name: String,
    /// Field names.
    pub fields: Vec<String>,
}

/// A many-to-many relation declared on a model (it has no table of its own: its through
/// model does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationState {
    /// The accessor name.
    pub name: String,
    /// The target model.
    pub target: String,
    /// The through model.
    pub through: String,
}

/// A model's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    /// The model name.
    pub name: String,
    /// The table.
    pub table: String,
    /// Fields in column order.
    pub fields: Vec<FieldState>,
    /// Named unique constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique_constraints: Vec<ConstraintState>,
    /// Named indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<ConstraintState>,
    /// Many-to-many relations declared on the model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub many_to_many: Vec<RelationState>,
    /// Whether the model is the generated junction of an implicit many-to-many.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_created: bool,
}

impl ModelState {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldState> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The primary-key field.
    pub fn pk(&self) -> Option<&FieldState> {
        self.fields.iter().find(|f| f.primary_key)
    }

    /// Refuses a model a migration must not create or leave behind: no fields (PostgreSQL
    /// would create a zero-column table), no primary key, a field whose type or default is
    /// malformed, or whose constant default does not fit it (a default longer than the
    /// field's `max_length` would be written into existing rows as is on SQLite).
    ///
    /// ```
    /// # use throughline_migrate::state::*;
    /// let model = ModelState {
    ///     name: "Tag".into(), table: "tag".into(), fields: vec![],
    ///     unique_constraints: vec![], indexes: vec![], many_to_many: vec![], auto_created: false,
    /// };
    /// assert!(model.validate().unwrap_err().is_migration());
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.fields.is_empty() {
            return Err(refuse(format!(
                "model {} would have no fields (table {:?} with no columns)",
                self.name, self.table
            )));
        }
        if self.pk().is_none() {
            return Err(refuse(format!(
                "model {} has no primary key (one field needs \"primary_key\": true)",
                self.name
            )));
        }
        for field in &self.fields {
            let ty = parse_type(&field.ty)?;
            if let Some(DefaultState::Value(value)) = &field.default {
                check_fits(&self.name, field, ty, value, "default")?;
            }
        }
        Ok(())
    }
}

/// Refuses a constant (a default or a backfill) that is not a value of `field`'s type, or
/// is longer than its `max_length`.
///
/// ```
/// # use throughline_migrate::state::*;
/// let field: FieldState = serde_json::from_str(r#"{"name": "code", "column": "code", "type": "string(3)"}"#).unwrap();
/// let ty = parse_type(&field.ty).unwrap();
/// assert!(check_fits("Tag", &field, ty, &serde_json::json!("abc"), "default").is_ok());
/// let err = check_fits("Tag", &field, ty, &serde_json::json!("toolong"), "default").unwrap_err();
/// assert!(err.is_migration() && err.to_string().contains("max_length 3"));
/// ```
pub fn check_fits(
    model: &str,
    field: &FieldState,
    ty: FieldType,
    value: &serde_json::Value,
    what: &str,
) -> Result<()> {
    let converted = from_json(value, ty).map_err(|e| {
        refuse(format!(
            "the {what} of {model}.{} does not fit its type: {}",
            field.name,
            reason_of(&e)
        ))
    })?;
    if let (
        FieldType::String {
            max_length: Some(n),
        },
        Value::String(s),
    ) = (ty, &converted)
    {
        let length = s.chars().count();
        if length > n as usize {
            return Err(refuse(format!(
                "the {what} of {model}.{} is {length} characters long, longer than its max_length {n}",
                field.name
            )));
        }
    }
    if converted.is_null() && !field.nullable {
        return Err(refuse(format!(
            "the {what} of {model}.{} is null but the field is NOT NULL",
            field.name
        )));
    }
    Ok(())
}

/// The reason of an error, without the kind's prefix for a migration error.
pub(crate) fn reason_of(error: &Error) -> String {
    match error {
        Error::Migration(m) => m.reason.clone(),
        other => other.to_string(),
    }
}

/// The schema of every model, rebuilt by replaying migrations or read from a registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectState {
    /// Models by name.
    pub models: BTreeMap<String, ModelState>,
}

impl ProjectState {
    /// The state of a registry's models (the application as compiled).
    pub fn from_registry(registry: &Registry) -> ProjectState {
        let mut models = BTreeMap::new();
        let auto: Vec<&str> = registry
            .models()
            .iter()
            .flat_map(|m| {
                m.many_to_many
                    .iter()
                    .filter(|r| r.auto_created)
                    .map(|r| r.through.as_str())
            })
            .collect();
        for meta in registry.models() {
            let mut state = model_state(meta);
            state.auto_created = auto.contains(&meta.name.as_str());
            models.insert(meta.name.clone(), state);
        }
        ProjectState { models }
    }

    /// The model called `name`, or an error naming it.
    pub fn model(&self, name: &str) -> Result<&ModelState> {
        self.models
            .get(name)
            .ok_or_else(|| refuse(format!("the migration state has no model {name}")))
    }

    /// The model called `name`, mutably.
    pub fn model_mut(&mut self, name: &str) -> Result<&mut ModelState> {
        self.models
            .get_mut(name)
            .ok_or_else(|| refuse(format!("the migration state has no model {name}")))
    }

    /// The table and referred column of foreign key `fk` (for foreign keys in DDL): its
    /// `to_field`'s column, else the target's primary key.
    pub fn target_of(&self, fk: &ForeignKeyMeta) -> Option<(String, String)> {
        let model = self.models.get(&fk.to)?;
        let column = match &fk.to_field {
            Some(name) => model
                .fields
                .iter()
                .find(|f| &f.name == name)?
                .column
                .clone(),
            None => model.pk()?.column.clone(),
        };
        Some((model.table.clone(), column))
    }
}

/// The migration state of one model.
pub fn model_state(meta: &ModelMeta) -> ModelState {
    ModelState {
        name: meta.name.clone(),
        table: meta.table.clone(),
        fields: meta.fields.iter().map(field_state).collect(),
        unique_constraints: meta
            .unique_constraints
            .iter()
            .map(|c| ConstraintState {
                name: c.name.clone(),
                fields: c.fields.clone(),
            })
            .collect(),
        indexes: meta
            .indexes
            .iter()
            .map(|c| ConstraintState {
                name: c.name.clone(),
                fields: c.fields.clone(),
            })
            .collect(),
        many_to_many: meta
            .many_to_many
            .iter()
            .map(|r| RelationState {
                name: r.name.clone(),
                target: r.target.clone(),
                through: r.through.clone(),
            })
            .collect(),
        auto_created: false,
    }
}

/// The migration state of one field.
pub fn field_state(field: &FieldMeta) -> FieldState {
    FieldState {
        name: field.name.clone(),
        column: field.column.clone(),
        ty: type_name(field.ty),
        nullable: field.nullable,
        primary_key: field.primary_key,
        unique: field.unique,
        index: field.index,
        default: match &field.default {
            DefaultValue::None => None,
            DefaultValue::Const(Value::Null) => None,
            DefaultValue::Const(v) => Some(DefaultState::Value(to_json(v))),
            DefaultValue::Func(_) => Some(DefaultState::Function),
            DefaultValue::AutoNowAdd => Some(DefaultState::AutoNowAdd),
            DefaultValue::AutoNow => Some(DefaultState::AutoNow),
        },
        foreign_key: field.foreign_key.as_ref().map(|fk| ForeignKeyState {
            to: fk.to.clone(),
            on_delete: on_delete_name(fk.on_delete).to_owned(),
            to_field: fk.to_field.clone(),
        }),
    }
}

/// The core field a state field describes (for rendering DDL).
pub fn field_meta(field: &FieldState) -> Result<FieldMeta> {
    let mut meta = FieldMeta::new(&field.name, parse_type(&field.ty)?);
    meta.column = field.column.clone();
    meta.nullable = field.nullable;
    meta.primary_key = field.primary_key;
    meta.unique = field.unique;
    meta.index = field.index;
    meta.foreign_key = match &field.foreign_key {
        Some(fk) => Some(ForeignKeyMeta {
            to: fk.to.clone(),
            on_delete: parse_on_delete(&fk.on_delete)?,
            related_name: Some("+".to_owned()),
            to_field: fk.to_field.clone(),
        }),
        None => None,
    };
    Ok(meta)
}

/// The core model a state model describes (for rendering DDL).
pub fn model_meta(model: &ModelState) -> Result<ModelMeta> {
    let fields = model
        .fields
        .iter()
        .map(field_meta)
        .collect::<Result<Vec<_>>>()?;
    let mut meta = ModelMeta::new(&model.name, &model.table, fields);
    meta.unique_constraints = model
        .unique_constraints
        .iter()
        .map(|c| UniqueConstraint {
            name: c.name.clone(),
            fields: c.fields.clone(),
        })
        .collect();
    meta.indexes = model
        .indexes
        .iter()
        .map(|c| IndexMeta {
            name: c.name.clone(),
            fields: c.fields.clone(),
        })
        .collect();
    Ok(meta)
}

/// The name of a storage type in migration files.
pub fn type_name(ty: FieldType) -> String {
    match ty {
        FieldType::AutoI64 => "auto".into(),
        FieldType::I16 => "i16".into(),
        FieldType::I32 => "i32".into(),
        FieldType::I64 => "i64".into(),
        FieldType::F64 => "f64".into(),
        FieldType::Bool => "bool".into(),
        FieldType::String {
            max_length: Some(n),
        } => format!("string({n})"),
        FieldType::String { max_length: None } => "string".into(),
        FieldType::Date => "date".into(),
        FieldType::DateTime => "datetime".into(),
        FieldType::Json => "json".into(),
        FieldType::Uuid => "uuid".into(),
        FieldType::Bytes => "bytes".into(),
        FieldType::Decimal {
            max_digits,
            decimal_places,
        } => format!("decimal({max_digits},{decimal_places})"),
    }
}

/// Parses a storage type name of a migration file.
pub fn parse_type(name: &str) -> Result<FieldType> {
    Ok(match name {
        "auto" => FieldType::AutoI64,
        "i16" => FieldType::I16,
        "i32" => FieldType::I32,
        "i64" => FieldType::I64,
        "f64" => FieldType::F64,
        "bool" => FieldType::Bool,
        "string" => FieldType::String { max_length: None },
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "json" => FieldType::Json,
        "uuid" => FieldType::Uuid,
        "bytes" => FieldType::Bytes,
        other if other.starts_with("decimal(") => parse_decimal_type(other)
            .ok_or_else(|| refuse(format!("unknown field type {other:?} in a migration")))?,
        other => {
            let length = other
                .strip_prefix("string(")
                .and_then(|rest| rest.strip_suffix(')'))
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| refuse(format!("unknown field type {other:?} in a migration")))?;
            FieldType::String {
                max_length: Some(length),
            }
        }
    })
}

/// `decimal(10,2)`: a decimal of 10 digits, 2 after the point, within rust_decimal's 28.
fn parse_decimal_type(name: &str) -> Option<FieldType> {
    let (digits, places) = name
        .strip_prefix("decimal(")?
        .strip_suffix(')')?
        .split_once(',')?;
    let max_digits: u8 = digits.trim().parse().ok()?;
    let decimal_places: u8 = places.trim().parse().ok()?;
    let valid = (1..=throughline_core::schema::DECIMAL_MAX_DIGITS).contains(&max_digits)
        && decimal_places <= max_digits;
    valid.then_some(FieldType::Decimal {
        max_digits,
        decimal_places,
    })
}

fn on_delete_name(on_delete: OnDelete) -> &'static str {
    match on_delete {
        OnDelete::Cascade => "cascade",
        OnDelete::Protect => "protect",
        OnDelete::Restrict => "restrict",
        OnDelete::SetNull => "set_null",
        OnDelete::DoNothing => "do_nothing",
    }
}

fn parse_on_delete(name: &str) -> Result<OnDelete> {
    Ok(match name {
        "cascade" => OnDelete::Cascade,
        "protect" => OnDelete::Protect,
        "restrict" => OnDelete::Restrict,
        "set_null" => OnDelete::SetNull,
        "do_nothing" => OnDelete::DoNothing,
        other => {
            return Err(refuse(format!(
                "unknown on_delete {other:?} in a migration"
            )));
        }
    })
}

/// A value as JSON for a migration file.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Bool(v) => J::Bool(*v),
        Value::I16(v) => J::from(*v),
        Value::I32(v) => J::from(*v),
        Value::I64(v) => J::from(*v),
        Value::F64(v) => J::from(*v),
        Value::Json(v) => v.clone(),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        other => J::String(other.display()),
    }
}

/// A JSON value of a migration file as a value of a field of type `ty`.
pub fn from_json(value: &serde_json::Value, ty: FieldType) -> Result<Value> {
    use serde_json::Value as J;
    let bad = || {
        refuse(format!(
            "the value {value} does not fit a {} field",
            type_name(ty)
        ))
    };
    Ok(match (ty, value) {
        (_, J::Null) => Value::Null,
        (FieldType::Json, v) => Value::Json(v.clone()),
        (FieldType::Bool, J::Bool(b)) => Value::Bool(*b),
        (FieldType::I16, J::Number(n)) => Value::I16(
            n.as_i64()
                .and_then(|v| i16::try_from(v).ok())
                .ok_or_else(bad)?,
        ),
        (FieldType::I32, J::Number(n)) => Value::I32(
            n.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(bad)?,
        ),
        (FieldType::I64 | FieldType::AutoI64, J::Number(n)) => {
            Value::I64(n.as_i64().ok_or_else(bad)?)
        }
        (FieldType::F64, J::Number(n)) => Value::F64(n.as_f64().ok_or_else(bad)?),
        (FieldType::String { .. }, J::String(s)) => Value::String(s.clone()),
        (FieldType::Decimal { .. }, J::String(s)) => {
            Value::Decimal(throughline_core::value::parse_decimal(s).ok_or_else(bad)?)
        }
        (FieldType::Decimal { .. }, J::Number(n)) => {
            Value::Decimal(throughline_core::value::parse_decimal(&n.to_string()).ok_or_else(bad)?)
        }
        (FieldType::Date | FieldType::DateTime | FieldType::Uuid, J::String(s)) => {
            let coerced = Value::String(s.clone()).coerce(ty);
            if matches!(coerced, Value::String(_)) {
                return Err(bad());
            }
            coerced
        }
        _ => return Err(bad()),
    })
}
