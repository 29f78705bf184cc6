//! Owns relation paths: a [`Hop`] is one step across a foreign key (forward, to the
//! referred model, or reverse, to the referring rows), and a [`FieldPath`] is a chain of
//! hops ending at a field. The typed shell builds them from generated constants; the
//! dynamic core can build them from names with a registry.

use throughline_core::{Error, ModelMeta, Result};

/// One step across a foreign key.
///
/// A forward hop goes from the model holding the key to the model it refers to (one row);
/// a reverse hop goes from the referred model to the rows referring to it (many rows).
///
/// ```
/// # use throughline_core::*;
/// # use throughline_query::{FieldPath, Hop};
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let student: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student", vec![id.clone()])));
/// # let mut fk = FieldMeta::new("student", FieldType::I64); fk.column = "student_id".into();
/// # fk.foreign_key = Some(ForeignKeyMeta { to: "Student".into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None });
/// # let enrollment: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![id, fk])));
/// let hop = Hop::forward(enrollment, "student", student)?; // enrollment -> its student
/// assert_eq!((hop.from.name.as_str(), hop.to.name.as_str(), hop.many), ("Enrollment", "Student", false));
/// let path = FieldPath { hops: vec![hop], field: "name".into() }; // student__name
/// assert!(!path.is_many());
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hop {
    /// The model the hop starts from.
    pub from: &'static ModelMeta,
    /// The model the hop arrives at.
    pub to: &'static ModelMeta,
    /// The column of `from` compared in the join.
    pub from_column: String,
    /// The column of `to` compared in the join.
    pub to_column: String,
    /// Whether the hop can reach several rows (a reverse foreign key).
    pub many: bool,
    /// Whether the arriving row may be missing (a nullable forward key, or any reverse hop).
    pub optional: bool,
}

/// Two hops are the same step when they join the same tables on the same columns.
impl PartialEq for Hop {
    fn eq(&self, other: &Hop) -> bool {
        self.from.table == other.from.table
            && self.to.table == other.to.table
            && self.from_column == other.from_column
            && self.to_column == other.to_column
            && self.many == other.many
            && self.optional == other.optional
    }
}

impl Hop {
    /// The forward hop across `from`'s foreign-key field `field` to `to`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::Hop;
    /// # fn models() -> (&'static ModelMeta, &'static ModelMeta) {
    /// #   let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// #   let s: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student", vec![id.clone()])));
    /// #   let mut fk = FieldMeta::new("student", FieldType::I64); fk.column = "student_id".into();
    /// #   fk.foreign_key = Some(ForeignKeyMeta { to: "Student".into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None });
    /// #   let e: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![id, fk])));
    /// #   (s, e) }
    /// let (student, enrollment) = models();
    /// let hop = Hop::forward(enrollment, "student", student).unwrap();
    /// assert_eq!(hop.from_column, "student_id");
    /// assert!(!hop.many);
    /// assert!(Hop::forward(enrollment, "nope", student).is_err());
    /// ```
    pub fn forward(from: &'static ModelMeta, field: &str, to: &'static ModelMeta) -> Result<Hop> {
        let meta = foreign_key(from, field, to)?;
        Ok(Hop::forward_by_column(
            from,
            &meta.column,
            to,
            meta.nullable,
        ))
    }

    /// The forward hop from `from` across the foreign key stored in `column` to `to`'s
    /// key (one row, missing only when the key is `optional`), without checking the
    /// field: for generated code, which knows it.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::Hop;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let s: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student", vec![id.clone()])));
    /// # let e: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![id])));
    /// let hop = Hop::forward_by_column(e, "student_id", s, false);
    /// assert_eq!((hop.from_column.as_str(), hop.to_column.as_str(), hop.many), ("student_id", "id", false));
    /// ```
    pub fn forward_by_column(
        from: &'static ModelMeta,
        column: &str,
        to: &'static ModelMeta,
        optional: bool,
    ) -> Hop {
        Hop {
            from,
            to,
            from_column: column.to_owned(),
            to_column: referenced_column(from, column, to),
            many: false,
            optional,
        }
    }

    /// The reverse hop from `target` to the rows of `child` whose foreign key `field`
    /// refers to it.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::Hop;
    /// # fn models() -> (&'static ModelMeta, &'static ModelMeta) {
    /// #   let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// #   let s: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student", vec![id.clone()])));
    /// #   let mut fk = FieldMeta::new("student", FieldType::I64); fk.column = "student_id".into();
    /// #   fk.foreign_key = Some(ForeignKeyMeta { to: "Student".into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None });
    /// #   let e: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![id, fk])));
    /// #   (s, e) }
    /// let (student, enrollment) = models();
    /// let hop = Hop::reverse(student, enrollment, "student").unwrap();
    /// assert_eq!(hop.to_column, "student_id");
    /// assert!(hop.many);
    /// ```
    pub fn reverse(
        target: &'static ModelMeta,
        child: &'static ModelMeta,
        field: &str,
    ) -> Result<Hop> {
        let meta = foreign_key(child, field, target)?;
        Ok(Hop::reverse_by_column(target, child, &meta.column))
    }

    /// The reverse hop from `target`'s key to the rows of `child` whose foreign key is
    /// stored in `column` (any number of rows), without checking the field: for generated
    /// code, which knows it.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::Hop;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let s: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student", vec![id.clone()])));
    /// # let e: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![id])));
    /// let hop = Hop::reverse_by_column(s, e, "student_id");
    /// assert_eq!((hop.from_column.as_str(), hop.to_column.as_str(), hop.many), ("id", "student_id", true));
    /// ```
    pub fn reverse_by_column(
        target: &'static ModelMeta,
        child: &'static ModelMeta,
        column: &str,
    ) -> Hop {
        Hop {
            from: target,
            to: child,
            from_column: referenced_column(child, column, target),
            to_column: column.to_owned(),
            many: true,
            optional: true,
        }
    }
}

/// The column of `target` that `model`'s foreign key stored in `column` refers to: its
/// `to_field`'s column, else the target's primary key.
fn referenced_column(model: &ModelMeta, column: &str, target: &ModelMeta) -> String {
    model
        .fields
        .iter()
        .find(|f| f.column == column)
        .and_then(|f| f.foreign_key.as_ref())
        .map_or_else(
            || target.pk().column.clone(),
            |fk| fk.referenced(target).column.clone(),
        )
}

fn foreign_key<'m>(
    model: &'m ModelMeta,
    field: &str,
    to: &ModelMeta,
) -> Result<&'m throughline_core::FieldMeta> {
    let meta = model
        .field(field)
        .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{field}`")))?;
    match &meta.foreign_key {
        Some(fk) if fk.to == to.name => Ok(meta),
        _ => Err(Error::invalid_query(
            &model.name,
            format!("field `{field}` is not a foreign key to {}", to.name),
        )),
    }
}

/// A chain of hops from a query's model, ending at a field of the last model reached.
///
/// ```
/// use throughline_query::FieldPath;
/// let p = FieldPath::local("name");
/// assert!(p.hops.is_empty());
/// assert_eq!(p.field, "name");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    /// The hops, in order from the query's model.
    pub hops: Vec<Hop>,
    /// The field name on the last model.
    pub field: String,
}

impl FieldPath {
    /// A field of the query's own model.
    ///
    /// ```
    /// assert_eq!(throughline_query::FieldPath::local("id").field, "id");
    /// ```
    pub fn local(field: &str) -> FieldPath {
        FieldPath {
            hops: Vec::new(),
            field: field.to_owned(),
        }
    }

    /// The same path reached through `prefix` first.
    ///
    /// ```
    /// let p = throughline_query::FieldPath::local("name").prefixed(&[]);
    /// assert_eq!(p.field, "name");
    /// ```
    pub fn prefixed(mut self, prefix: &[Hop]) -> FieldPath {
        let mut hops = prefix.to_vec();
        hops.append(&mut self.hops);
        self.hops = hops;
        self
    }

    /// Whether the path crosses a reverse (many-valued) relation.
    ///
    /// ```
    /// assert!(!throughline_query::FieldPath::local("id").is_many());
    /// ```
    pub fn is_many(&self) -> bool {
        self.hops.iter().any(|h| h.many)
    }
}
