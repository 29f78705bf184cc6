//! Owns the schema as data: [`ModelMeta`], [`FieldMeta`], [`FieldType`] and the constraint
//! and relation descriptions. The derive macro builds one `ModelMeta` per model; the query
//! layer, the drivers' DDL, the model checks (and later migrations and the admin) read it.

use crate::value::Value;

/// The storage type of a field. Nullability is a separate flag on [`FieldMeta`].
///
/// ```
/// use throughline_core::FieldType;
/// assert_eq!(FieldType::AutoI64.as_reference(), FieldType::I64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Auto-increment 64-bit integer primary key.
    AutoI64,
    /// `smallint`.
    I16,
    /// `integer`.
    I32,
    /// `bigint`.
    I64,
    /// Double precision float.
    F64,
    /// Boolean.
    Bool,
    /// Text, optionally limited in length (in characters).
    String {
        /// Maximum length in characters, checked before any SQL is sent.
        max_length: Option<u32>,
    },
    /// Calendar date.
    Date,
    /// UTC timestamp with microseconds.
    DateTime,
    /// JSON document.
    Json,
    /// UUID.
    Uuid,
    /// Bytes.
    Bytes,
    /// An exact decimal of at most `max_digits` digits, `decimal_places` of them after
    /// the point (Django's `DecimalField`): `numeric(p, s)` on PostgreSQL, `DECIMAL(p, s)`
    /// on MySQL, canonical text compared as a number on SQLite. `max_digits` is 1 to
    /// [`DECIMAL_MAX_DIGITS`].
    Decimal {
        /// The most digits a value may have, before and after the point.
        max_digits: u8,
        /// The digits after the point every value is stored with.
        decimal_places: u8,
    },
}

/// The most digits a decimal field may hold: rust_decimal's 96-bit mantissa holds every
/// 28-digit number.
///
/// ```
/// assert_eq!(throughline_core::schema::DECIMAL_MAX_DIGITS, 28);
/// ```
pub const DECIMAL_MAX_DIGITS: u8 = 28;

impl FieldType {
    /// The type of a column that refers to a column of this type (a foreign key to an
    /// auto-increment key is a plain `bigint`).
    ///
    /// ```
    /// use throughline_core::FieldType;
    /// assert_eq!(FieldType::I32.as_reference(), FieldType::I32);
    /// ```
    pub const fn as_reference(self) -> FieldType {
        match self {
            FieldType::AutoI64 => FieldType::I64,
            other => other,
        }
    }
}

/// What the database does with referring rows when the referred row is deleted.
///
/// ```
/// use throughline_core::OnDelete;
/// assert_eq!(OnDelete::default(), OnDelete::Cascade);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    /// Delete the referring rows (`ON DELETE CASCADE`).
    #[default]
    Cascade,
    /// Refuse the delete while referring rows exist (deferred check on PostgreSQL: `NO ACTION`).
    Protect,
    /// Refuse the delete at once (`ON DELETE RESTRICT`).
    Restrict,
    /// Set the referring column to NULL (`ON DELETE SET NULL`); the field must be nullable.
    SetNull,
    /// Leave the referring rows alone and let the database decide (no action).
    DoNothing,
}

/// How a field gets its value when the caller gives none.
///
/// ```
/// use throughline_core::{DefaultValue, Value};
/// let d = DefaultValue::Const(Value::from("active"));
/// assert!(d.is_some());
/// assert!(!DefaultValue::None.is_some());
/// ```
#[derive(Debug, Clone)]
pub enum DefaultValue {
    /// No default: the value must be given.
    None,
    /// A constant.
    Const(Value),
    /// A function called for each new row.
    Func(fn() -> Value),
    /// The current time when the row is created.
    AutoNowAdd,
    /// The current time whenever the row is saved.
    AutoNow,
}

impl PartialEq for DefaultValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (DefaultValue::None, DefaultValue::None)
            | (DefaultValue::AutoNowAdd, DefaultValue::AutoNowAdd)
            | (DefaultValue::AutoNow, DefaultValue::AutoNow) => true,
            (DefaultValue::Const(a), DefaultValue::Const(b)) => a == b,
            (DefaultValue::Func(a), DefaultValue::Func(b)) => std::ptr::fn_addr_eq(*a, *b),
            _ => false,
        }
    }
}

impl DefaultValue {
    /// Whether the field has any default.
    ///
    /// ```
    /// assert!(throughline_core::DefaultValue::AutoNow.is_some());
    /// ```
    pub fn is_some(&self) -> bool {
        !matches!(self, DefaultValue::None)
    }
}

impl FieldMeta {
    /// The value a new row gets for this field when none is given: the constant, the
    /// function's result, the current time (`now`, as a date for a date field) for
    /// `auto_now` and `auto_now_add`, NULL for a nullable field without default; `None`
    /// when the value must be given. Every insert the engine builds, and the migrations'
    /// backfill of `auto_now` fields, take their defaults from here.
    ///
    /// ```
    /// use throughline_core::{DefaultValue, FieldMeta, FieldType, Value};
    /// let now = throughline_core::value::now();
    /// let mut f = FieldMeta::new("status", FieldType::String { max_length: None });
    /// assert_eq!(f.new_row_default(now), None);
    /// f.default = DefaultValue::Const(Value::from("active"));
    /// assert_eq!(f.new_row_default(now), Some(Value::from("active")));
    /// let mut d = FieldMeta::new("on", FieldType::Date);
    /// d.default = DefaultValue::AutoNowAdd;
    /// assert_eq!(d.new_row_default(now), Some(Value::Date(now.date_naive())));
    /// ```
    pub fn new_row_default(&self, now: chrono::DateTime<chrono::Utc>) -> Option<Value> {
        match &self.default {
            DefaultValue::Const(v) => Some(v.clone()),
            DefaultValue::Func(f) => Some(f()),
            DefaultValue::AutoNowAdd | DefaultValue::AutoNow => Some(self.time_value(now)),
            DefaultValue::None if self.nullable => Some(Value::Null),
            DefaultValue::None => None,
        }
    }

    /// `now` in this field's form: a date for a date field, else the timestamp.
    ///
    /// ```
    /// use throughline_core::{FieldMeta, FieldType, Value};
    /// let now = throughline_core::value::now();
    /// assert_eq!(FieldMeta::new("at", FieldType::DateTime).time_value(now), Value::DateTime(now));
    /// ```
    pub fn time_value(&self, now: chrono::DateTime<chrono::Utc>) -> Value {
        match self.ty {
            FieldType::Date => Value::Date(now.date_naive()),
            _ => Value::DateTime(now),
        }
    }
}

/// One allowed value of a choices field, with its human label.
///
/// ```
/// let c = throughline_core::Choice { value: "active".into(), label: "Active".into() };
/// assert_eq!(c.value, "active");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The stored text.
    pub value: String,
    /// The label shown to people.
    pub label: String,
}

/// A foreign key's target and behaviour.
///
/// ```
/// use throughline_core::{ForeignKeyMeta, OnDelete};
/// let fk = ForeignKeyMeta { to: "Student".into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None };
/// assert_eq!(fk.to, "Student");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyMeta {
    /// The target model's name.
    pub to: String,
    /// The on-delete action, enforced by the database.
    pub on_delete: OnDelete,
    /// The reverse accessor's name on the target; `None` means `<model>_set` in snake case.
    pub related_name: Option<String>,
    /// The target's field the key refers to (Django's `to_field`): a unique field of the
    /// target; `None` means its primary key.
    pub to_field: Option<String>,
}

impl ForeignKeyMeta {
    /// The target's field this key refers to: the `to_field` named, else the primary key.
    /// A `to_field` that `target` lacks is reported by the model check (E012); this falls
    /// back to the primary key so that no caller panics.
    ///
    /// ```
    /// use throughline_core::{FieldMeta, FieldType, ForeignKeyMeta, ModelMeta, OnDelete};
    /// let mut id = FieldMeta::new("id", FieldType::AutoI64);
    /// id.primary_key = true;
    /// let mut make = FieldMeta::new("make", FieldType::String { max_length: Some(20) });
    /// make.unique = true;
    /// let car = ModelMeta::new("Car", "car", vec![id, make]);
    /// let mut fk = ForeignKeyMeta { to: "Car".into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None };
    /// assert_eq!(fk.referenced(&car).name, "id");
    /// fk.to_field = Some("make".into());
    /// assert_eq!(fk.referenced(&car).column, "make");
    /// ```
    pub fn referenced<'m>(&self, target: &'m ModelMeta) -> &'m FieldMeta {
        self.to_field
            .as_deref()
            .and_then(|name| target.field(name))
            .unwrap_or_else(|| target.pk())
    }
}

/// One field of a model: its column and everything the core needs to validate, render DDL
/// and (later) show it in the admin.
///
/// ```
/// use throughline_core::{FieldMeta, FieldType};
/// let f = FieldMeta::new("name", FieldType::String { max_length: Some(100) });
/// assert_eq!(f.column, "name");
/// assert!(!f.nullable);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMeta {
    /// The Rust field name.
    pub name: String,
    /// The column name.
    pub column: String,
    /// The storage type.
    pub ty: FieldType,
    /// Whether NULL is allowed (`Option<T>` in Rust).
    pub nullable: bool,
    /// Whether this is the primary key.
    pub primary_key: bool,
    /// A single-column unique constraint.
    pub unique: bool,
    /// A single-column index.
    pub index: bool,
    /// The default.
    pub default: DefaultValue,
    /// The allowed values, for a choices field (empty otherwise).
    pub choices: Vec<Choice>,
    /// The foreign key, if the field is one.
    pub foreign_key: Option<ForeignKeyMeta>,
    /// A human name for forms and the admin.
    pub verbose_name: String,
    /// Help text for forms and the admin.
    pub help_text: String,
    /// Whether a form may leave it blank.
    pub blank: bool,
    /// Whether forms show it as editable.
    pub editable: bool,
}

impl FieldMeta {
    /// A non-null field with no default whose column is its name.
    ///
    /// ```
    /// let f = throughline_core::FieldMeta::new("age", throughline_core::FieldType::I32);
    /// assert_eq!(f.verbose_name, "age");
    /// ```
    pub fn new(name: &str, ty: FieldType) -> Self {
        FieldMeta {
            name: name.to_owned(),
            column: name.to_owned(),
            ty,
            nullable: false,
            primary_key: false,
            unique: false,
            index: false,
            default: DefaultValue::None,
            choices: Vec::new(),
            foreign_key: None,
            verbose_name: name.replace('_', " "),
            help_text: String::new(),
            blank: false,
            editable: true,
        }
    }

    /// Whether the database generates the value (auto-increment key).
    ///
    /// ```
    /// use throughline_core::{FieldMeta, FieldType};
    /// assert!(FieldMeta::new("id", FieldType::AutoI64).is_auto());
    /// ```
    pub fn is_auto(&self) -> bool {
        self.ty == FieldType::AutoI64
    }
}

/// A named unique constraint over one or more fields.
///
/// ```
/// let u = throughline_core::UniqueConstraint { name: "uniq_pair".into(), fields: vec!["a".into(), "b".into()] };
/// assert_eq!(u.fields.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueConstraint {
    /// The constraint name, as created in the database.
    pub name: String,
    /// Field names (not columns).
    pub fields: Vec<String>,
}

/// A named index over one or more fields.
///
/// ```
/// let i = throughline_core::IndexMeta { name: "idx_name".into(), fields: vec!["name".into()] };
/// assert_eq!(i.name, "idx_name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMeta {
    /// The index name.
    pub name: String,
    /// Field names (not columns).
    pub fields: Vec<String>,
}

/// A many-to-many relation declared on a model (the source), through a model holding
/// two foreign keys (auto-created for an implicit relation).
///
/// ```
/// let m = throughline_core::ManyToManyMeta {
///     name: "students".into(), target: "Student".into(), through: "Enrollment".into(),
///     source_field: "course".into(), target_field: "student".into(),
///     related_name: Some("courses".into()), symmetrical: false, auto_created: false,
///     through_fields_given: false,
/// };
/// assert_eq!(m.reverse_name("Course"), "courses");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManyToManyMeta {
    /// The accessor on the source model.
    pub name: String,
    /// The target model's name.
    pub target: String,
    /// The through model's name.
    pub through: String,
    /// The through model's foreign key to the source.
    pub source_field: String,
    /// The through model's foreign key to the target.
    pub target_field: String,
    /// The accessor on the target; `None` means `<source>_set`; `"+"` means none.
    pub related_name: Option<String>,
    /// Whether a link is written in both directions (self-referential relations).
    pub symmetrical: bool,
    /// Whether the through model was generated (an implicit relation).
    pub auto_created: bool,
    /// Whether `through_fields` named the two keys (otherwise they were derived from the
    /// models' names).
    pub through_fields_given: bool,
}

impl ManyToManyMeta {
    /// The reverse accessor's name on the target, given the source model's name.
    ///
    /// ```
    /// # let mut m = throughline_core::ManyToManyMeta { name: "tags".into(), target: "Tag".into(),
    /// #   through: "CourseTags".into(), source_field: "course".into(), target_field: "tag".into(),
    /// #   related_name: None, symmetrical: false, auto_created: true, through_fields_given: false };
    /// assert_eq!(m.reverse_name("Course"), "course_set");
    /// ```
    pub fn reverse_name(&self, source: &str) -> String {
        self.related_name
            .clone()
            .unwrap_or_else(|| crate::naming::default_related_name(source))
    }
}

/// A model: its table, fields, constraints and display metadata.
///
/// ```
/// use throughline_core::{FieldMeta, FieldType, ModelMeta};
/// let m = ModelMeta::new("Student", "student", vec![
///     { let mut f = FieldMeta::new("id", FieldType::AutoI64); f.primary_key = true; f },
///     FieldMeta::new("name", FieldType::String { max_length: Some(100) }),
/// ]);
/// assert_eq!(m.pk().name, "id");
/// assert_eq!(m.field("name").unwrap().column, "name");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    /// The model (struct) name.
    pub name: String,
    /// The table name.
    pub table: String,
    /// Fields in declaration order; the order of columns in `SELECT` and `INSERT`.
    pub fields: Vec<FieldMeta>,
    /// Named multi-field unique constraints.
    pub unique_constraints: Vec<UniqueConstraint>,
    /// Named indexes.
    pub indexes: Vec<IndexMeta>,
    /// Default ordering, as field names with an optional leading `-` for descending.
    pub ordering: Vec<String>,
    /// Human name.
    pub verbose_name: String,
    /// Human plural name.
    pub verbose_name_plural: String,
    /// The application the model belongs to (the admin groups models by it): the crate's
    /// package name unless the model says otherwise (`#[throughline(app = "...")]`); empty
    /// for a model built by hand.
    pub app: String,
    /// The fields whose values, joined by spaces, name an instance for people (the admin's
    /// links and messages): `#[throughline(display("name"))]`. Empty: the verbose name and
    /// the key, as Django's "Course object (1)".
    pub display: Vec<String>,
    /// Many-to-many relations declared on this model.
    pub many_to_many: Vec<ManyToManyMeta>,
    /// Models generated with this one (the through models of its implicit many-to-many
    /// relations), registered with it.
    pub companions: Companions,
}

/// The models generated with a model, as functions returning their metadata (functions,
/// so that models referring to each other do not initialize each other recursively).
/// Never compared: two metas are equal whatever their companions.
#[derive(Clone, Default)]
pub struct Companions(pub Vec<fn() -> &'static ModelMeta>);

impl PartialEq for Companions {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Companions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Companions({})", self.0.len())
    }
}

impl ModelMeta {
    /// A model with no constraints, indexes or ordering; names are derived from `name`.
    ///
    /// ```
    /// let m = throughline_core::ModelMeta::new("Course", "course", vec![]);
    /// assert_eq!(m.verbose_name_plural, "courses");
    /// ```
    pub fn new(name: &str, table: &str, fields: Vec<FieldMeta>) -> Self {
        let verbose = crate::naming::snake_case(name).replace('_', " ");
        ModelMeta {
            name: name.to_owned(),
            table: table.to_owned(),
            fields,
            unique_constraints: Vec::new(),
            indexes: Vec::new(),
            ordering: Vec::new(),
            verbose_name_plural: format!("{verbose}s"),
            verbose_name: verbose,
            app: String::new(),
            display: Vec::new(),
            many_to_many: Vec::new(),
            companions: Companions::default(),
        }
    }

    /// How an instance is named for people, from its field values in [`ModelMeta::fields`]
    /// order: the [`display`](ModelMeta::display) fields' values joined by a space (a NULL
    /// shown as empty), else `"<Verbose name> object (<key>)"` as Django's default.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let mut id = FieldMeta::new("id", FieldType::AutoI64);
    /// id.primary_key = true;
    /// let mut m = ModelMeta::new("Course", "course", vec![id, FieldMeta::new("title", FieldType::String { max_length: None })]);
    /// let row = [Value::I64(7), Value::from("Algebra")];
    /// assert_eq!(m.display_string(&row), "Course object (7)");
    /// m.display = vec!["title".into()];
    /// assert_eq!(m.display_string(&row), "Algebra");
    /// ```
    pub fn display_string(&self, row: &[Value]) -> String {
        let shown: Vec<String> = self
            .display
            .iter()
            .filter_map(|name| self.field_index(name))
            .filter_map(|index| row.get(index))
            .map(|value| match value {
                Value::Null => String::new(),
                other => other.display(),
            })
            .collect();
        if !shown.is_empty() {
            return shown.join(" ");
        }
        let key = self
            .fields
            .iter()
            .position(|f| f.primary_key)
            .and_then(|index| row.get(index))
            .map(Value::display)
            .unwrap_or_default();
        let mut verbose = self.verbose_name.clone();
        if let Some(first) = verbose.get(..1) {
            let upper = first.to_uppercase();
            verbose.replace_range(..1, &upper);
        }
        format!("{verbose} object ({key})")
    }

    /// The primary-key field. A model without one is reported by the model checks; this
    /// falls back to the first field so that no caller panics.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let m = ModelMeta::new("T", "t", vec![FieldMeta::new("code", FieldType::I32)]);
    /// assert_eq!(m.pk().name, "code");
    /// ```
    pub fn pk(&self) -> &FieldMeta {
        self.fields
            .iter()
            .find(|f| f.primary_key)
            .unwrap_or(&self.fields[0])
    }

    /// The field called `name`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let m = ModelMeta::new("T", "t", vec![FieldMeta::new("code", FieldType::I32)]);
    /// assert!(m.field("nope").is_none());
    /// ```
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The position of the field called `name` in [`ModelMeta::fields`].
    ///
    /// ```
    /// # use throughline_core::*;
    /// let m = ModelMeta::new("T", "t", vec![FieldMeta::new("a", FieldType::I32), FieldMeta::new("b", FieldType::I32)]);
    /// assert_eq!(m.field_index("b"), Some(1));
    /// ```
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The foreign-key fields, in declaration order.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let m = ModelMeta::new("T", "t", vec![]);
    /// assert_eq!(m.foreign_keys().count(), 0);
    /// ```
    pub fn foreign_keys(&self) -> impl Iterator<Item = &FieldMeta> {
        self.fields.iter().filter(|f| f.foreign_key.is_some())
    }

    /// The fields that get an index of their own (`<table>_<column>_idx`): those declared
    /// `index`, and foreign keys (so that joins and on-delete actions find their rows) unless
    /// a unique constraint or a declared index already starts with the key's column, which
    /// serves the same lookups. Primary keys and unique fields are indexed by their
    /// constraint. Django indexes every foreign key; the second index costs every insert
    /// and delete and buys nothing.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let mut student = FieldMeta::new("student", FieldType::I64);
    /// let fk = |to: &str| ForeignKeyMeta { to: to.into(), on_delete: OnDelete::Cascade, related_name: None, to_field: None };
    /// student.foreign_key = Some(fk("Student"));
    /// let mut course = FieldMeta::new("course", FieldType::I64);
    /// course.foreign_key = Some(fk("Course"));
    /// let mut m = ModelMeta::new("Enrollment", "enrollment", vec![student, course]);
    /// m.unique_constraints.push(UniqueConstraint { name: "pair".into(), fields: vec!["student".into(), "course".into()] });
    /// let own: Vec<&str> = m.own_indexes().map(|f| f.name.as_str()).collect();
    /// assert_eq!(own, ["course"]);
    /// ```
    pub fn own_indexes(&self) -> impl Iterator<Item = &FieldMeta> {
        self.fields.iter().filter(|field| self.has_own_index(field))
    }

    /// Whether `field` gets an index of its own (see [`ModelMeta::own_indexes`]).
    ///
    /// ```
    /// # use throughline_core::*;
    /// let mut f = FieldMeta::new("title", FieldType::I64);
    /// f.index = true;
    /// let m = ModelMeta::new("Book", "book", vec![f]);
    /// assert!(m.has_own_index(&m.fields[0]));
    /// ```
    pub fn has_own_index(&self, field: &FieldMeta) -> bool {
        if field.primary_key || field.unique {
            return false;
        }
        if field.index {
            return true;
        }
        let leads = |fields: &[String]| fields.first() == Some(&field.name);
        field.foreign_key.is_some()
            && !self.unique_constraints.iter().any(|c| leads(&c.fields))
            && !self.indexes.iter().any(|i| leads(&i.fields))
    }

    /// The name of the index [`ModelMeta::own_indexes`] gives `field`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let m = ModelMeta::new("Book", "book", vec![FieldMeta::new("author", FieldType::I64)]);
    /// assert_eq!(m.own_index_name(&m.fields[0]), "book_author_idx");
    /// ```
    pub fn own_index_name(&self, field: &FieldMeta) -> String {
        format!("{}_{}_idx", self.table, field.column)
    }

    /// The name of the unique constraint (declared, or the single-column one Django-style
    /// named `<table>_<column>_key`) whose columns are exactly `columns`, in any order.
    /// Used to name SQLite's unique violations, which report columns, not names.
    ///
    /// ```
    /// # use throughline_core::*;
    /// let mut m = ModelMeta::new("E", "e", vec![FieldMeta::new("s", FieldType::I64), FieldMeta::new("c", FieldType::I64)]);
    /// m.unique_constraints.push(UniqueConstraint { name: "pair".into(), fields: vec!["s".into(), "c".into()] });
    /// assert_eq!(m.unique_constraint_for_columns(&["c", "s"]).as_deref(), Some("pair"));
    /// ```
    pub fn unique_constraint_for_columns(&self, columns: &[&str]) -> Option<String> {
        let same = |fields: &[String]| {
            let mut want: Vec<&str> = columns.to_vec();
            let mut have: Vec<&str> = fields
                .iter()
                .filter_map(|f| self.field(f).map(|m| m.column.as_str()))
                .collect();
            want.sort_unstable();
            have.sort_unstable();
            want == have
        };
        if let Some(c) = self.unique_constraints.iter().find(|c| same(&c.fields)) {
            return Some(c.name.clone());
        }
        match columns {
            [single] => self
                .fields
                .iter()
                .find(|f| f.column == *single && (f.unique || f.primary_key))
                .map(|f| single_unique_name(&self.table, &f.column, f.primary_key)),
            _ => None,
        }
    }
}

/// The name throughline gives a single-column unique constraint (`<table>_<column>_key`) or
/// a primary key (`<table>_pkey`), the names PostgreSQL chooses itself.
///
/// ```
/// assert_eq!(throughline_core::schema::single_unique_name("student", "email", false), "student_email_key");
/// ```
pub fn single_unique_name(table: &str, column: &str, primary_key: bool) -> String {
    if primary_key {
        format!("{table}_pkey")
    } else {
        format!("{table}_{column}_key")
    }
}
