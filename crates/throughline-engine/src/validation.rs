//! Owns the check of a whole instance before any SQL is sent: every field's value against
//! its field (through the core's value validation), and a required foreign key to an
//! unsaved instance. Used by instance writes, bulk creates and relation creates alike.

use throughline_core::validate::validate_value;
use throughline_core::{Error, ModelMeta, Result, Value};

/// Validates every field value of an instance before any SQL is sent: one value per field
/// (else [`Error::InvalidQuery`]), each fitting its field; a foreign key to an unsaved
/// instance is [`Error::Unsaved`].
///
/// ```
/// use throughline_core::{FieldMeta, FieldType, ModelMeta, Value};
/// let meta = ModelMeta::new("Tag", "tag", vec![FieldMeta::new("name", FieldType::String { max_length: Some(3) })]);
/// assert!(throughline_engine::validate_instance(&meta, &[Value::from("abc")]).is_ok());
/// assert!(throughline_engine::validate_instance(&meta, &[Value::from("abcd")]).is_err());
/// assert!(throughline_engine::validate_instance(&meta, &[]).is_err());
/// ```
pub fn validate_instance(meta: &ModelMeta, values: &[Value]) -> Result<()> {
    if values.len() != meta.fields.len() {
        return Err(Error::invalid_query(
            &meta.name,
            format!(
                "a row has {} values for {} fields",
                values.len(),
                meta.fields.len()
            ),
        ));
    }
    for (field, value) in meta.fields.iter().zip(values) {
        if let (Some(fk), true) = (&field.foreign_key, value.is_null() && !field.nullable) {
            if let Some(to_field) = &fk.to_field {
                return Err(Error::Validation {
                    model: meta.name.clone(),
                    field: field.name.clone(),
                    reason: format!(
                        "refers to {}.{to_field}, which is NULL (or the {} is unsaved); the key needs a value",
                        fk.to, fk.to
                    ),
                });
            }
            return Err(Error::Unsaved {
                model: fk.to.clone(),
                action: format!(
                    "it is assigned to {}.{}, which requires a saved row",
                    meta.name, field.name
                ),
            });
        }
        validate_value(meta, field, value)?;
    }
    Ok(())
}
