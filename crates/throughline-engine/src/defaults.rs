//! Owns filling in the values a write was not given: the defaults of a through row's extra
//! fields (computed once per call and shared by its rows), the full row of an untyped
//! insert, and the `auto_now` fields a save or a queryset update refreshes. The rule for
//! one field is [`throughline_core::FieldMeta::new_row_default`]; the clock is
//! [`throughline_core::value::now`].
//!
//! (The typed shell's generated `before_save` fills `auto_now` fields of the user's struct
//! itself, from the same clock, so the struct it returns holds the stored values.)

use throughline_core::{DefaultValue, Error, ModelMeta, Result, Value};

/// The defaults of a model's fields for the new rows of one call, computed once (one
/// `now` for every row; a default function called once): a few fields, so a list searched
/// by name (no hashing).
#[derive(Default)]
pub(crate) struct Defaults<'m>(Vec<(&'m str, Value)>);

impl<'m> Defaults<'m> {
    /// The defaults of `meta`'s fields, but for auto keys and the fields `skip` names.
    pub(crate) fn of(meta: &'m ModelMeta, skip: impl Fn(&str) -> bool) -> Defaults<'m> {
        let mut now = None;
        let mut out = Vec::new();
        for field in &meta.fields {
            if field.is_auto() || skip(&field.name) {
                continue;
            }
            // The clock is read once, and only for a field that takes the time.
            let at = if matches!(
                field.default,
                DefaultValue::AutoNow | DefaultValue::AutoNowAdd
            ) {
                *now.get_or_insert_with(throughline_core::value::now)
            } else {
                chrono::DateTime::UNIX_EPOCH
            };
            if let Some(value) = field.new_row_default(at) {
                out.push((field.name.as_str(), value));
            }
        }
        Defaults(out)
    }

    /// The default of the field called `name`, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// The full row of a new instance of `meta` from the values `given` by field name: each
/// field's given value, else its default (the current time for `auto_now` and
/// `auto_now_add`), else NULL for an auto key or a nullable field; a required field
/// without value or default is a validation error, and an unknown name an invalid query.
///
/// ```
/// use throughline_core::{FieldMeta, FieldType, ModelMeta, Value};
/// let mut id = FieldMeta::new("id", FieldType::AutoI64);
/// id.primary_key = true;
/// let meta = ModelMeta::new("Tag", "tag", vec![id, FieldMeta::new("name", FieldType::String { max_length: None })]);
/// let row = throughline_engine::defaults::new_row(&meta, &[("name", Value::from("rust"))]).unwrap();
/// assert_eq!(row, vec![Value::Null, Value::from("rust")]);
/// assert!(throughline_engine::defaults::new_row(&meta, &[]).is_err());
/// assert!(throughline_engine::defaults::new_row(&meta, &[("nope", Value::Null)]).is_err());
/// ```
pub fn new_row(meta: &ModelMeta, given: &[(&str, Value)]) -> Result<Vec<Value>> {
    for (name, _) in given {
        if meta.field(name).is_none() {
            return Err(Error::invalid_query(
                &meta.name,
                format!("no field `{name}`"),
            ));
        }
    }
    let now = throughline_core::value::now();
    meta.fields
        .iter()
        .map(|field| {
            if let Some((_, value)) = given.iter().find(|(n, _)| *n == field.name) {
                return Ok(value.clone());
            }
            if field.is_auto() {
                return Ok(Value::Null);
            }
            field.new_row_default(now).ok_or_else(|| {
                Error::validation(
                    &meta.name,
                    &field.name,
                    "no value was given and the field has no default",
                )
            })
        })
        .collect()
}

/// Sets the `auto_now` fields of `row` (and, when `adding`, the `auto_now_add` ones) to
/// the current time: what saving a row does to them.
///
/// ```
/// use throughline_core::{DefaultValue, FieldMeta, FieldType, ModelMeta, Value};
/// let mut at = FieldMeta::new("at", FieldType::DateTime);
/// at.default = DefaultValue::AutoNow;
/// let meta = ModelMeta::new("Log", "log", vec![at]);
/// let mut row = vec![Value::Null];
/// throughline_engine::defaults::touch(&meta, &mut row, false);
/// assert!(matches!(row[0], Value::DateTime(_)));
/// ```
pub fn touch(meta: &ModelMeta, row: &mut [Value], adding: bool) {
    let now = throughline_core::value::now();
    for (field, value) in meta.fields.iter().zip(row.iter_mut()) {
        let refreshed = match field.default {
            DefaultValue::AutoNow => true,
            DefaultValue::AutoNowAdd => adding,
            _ => false,
        };
        if refreshed {
            *value = field.time_value(now);
        }
    }
}

/// The `auto_now` fields of `meta` that an update assigning `assigned` must refresh, with
/// the current time (a queryset update, as a save, keeps them current; a field the update
/// assigns itself is left to it).
pub(crate) fn auto_now_assignments(
    meta: &ModelMeta,
    assigned: &[(String, Value)],
) -> Vec<(String, Value)> {
    let now = throughline_core::value::now();
    meta.fields
        .iter()
        .filter(|f| f.default == DefaultValue::AutoNow)
        .filter(|f| !assigned.iter().any(|(name, _)| *name == f.name))
        .map(|f| (f.name.clone(), f.time_value(now)))
        .collect()
}
