//! Owns fixtures: writing a database's rows as JSON in Django's layout ([`dump`], the
//! `dumpdata` command) and loading such files back ([`load`], `loaddata`), on the model
//! metadata of a [`Registry`] alone, with no user type.
//!
//! # The layout (Django's)
//!
//! A fixture is a JSON array of objects `{"model": "app.model", "pk": 1, "fields": {...}}`.
//! The label is the model's application (its crate's name, `-` read as `_`, or
//! `#[throughline(app = "...")]`) and its name, lower-case, as Django's `app_label.modelname`.
//! A foreign key is its target's key under the field's name; a many-to-many relation
//! without a through model of its own is the list of its targets' keys under the relation's
//! name in the source's `fields`; a relation through an explicit model is not listed: the
//! through model's rows are objects of their own. Values are as Django's JSON serializer
//! writes them (ISO 8601 datetimes with `Z`, dates `YYYY-MM-DD`, UUIDs as strings, bytes in
//! base64, JSON fields as JSON).
//!
//! # Dumping
//!
//! Models come in an order where the models a foreign key refers to come first (a cycle
//! between models is broken at the model registered first), each model's rows in key order,
//! and each list of many-to-many targets in key order. The generated through models of
//! implicit relations are not dumped on their own (as Django). Each model is read with its
//! own statement, in one operation; given a [`Transaction`](throughline_db::Transaction),
//! every table is read inside it (one snapshot where its isolation gives one: SQLite's
//! write transaction, MariaDB's `REPEATABLE READ`; PostgreSQL's `READ COMMITTED` reads
//! each table at its own moment, as Django's `dumpdata` does).
//!
//! # Loading
//!
//! Every file is parsed and checked before any SQL is sent: the JSON, the layout, each
//! model label, each field name and the type of each value (strictly: `"12"` is not an
//! integer), the required fields (a missing field takes its default, as Django builds the
//! object; `auto_now` fields keep the file's value, as Django's raw save), and the checks
//! every write makes (length, choices, ranges). Then, in one transaction for all the files:
//! each foreign key and many-to-many target must be a row of the fixtures or of the
//! database; each row is inserted, or saved over the row with the same key (as Django's
//! `loaddata`); each implicit many-to-many list replaces the source's links (Django's
//! `set()`); and PostgreSQL's sequences are moved past the largest key
//! ([`Dialect::sequence_reset`](throughline_query::Dialect::sequence_reset)). Any problem
//! refuses the whole load with [`Error::Fixture`]: the file, the line of the object or of
//! the field, the object's position in the file, and the reason; nothing is loaded.
//!
//! New rows are written in multi-row inserts, each run of rows of one model in as few
//! statements as the backend's bind-parameter limit allows; when the database refuses
//! one, the load is rolled back and run again one object at a time, so that the error
//! names the object.
//!
//! Rows are inserted after the rows of the fixtures they refer to, whatever the order of
//! the file (foreign keys are checked at once on PostgreSQL and MariaDB, and this needs no
//! deferred or disabled constraint). A cycle of rows referring to each other (a self
//! reference to a later row included) is broken at an optional foreign key, set by an
//! `UPDATE` once its target exists; a cycle of required keys only is refused.
//!
//! # Differences from Django
//!
//! - Loading is raw, as Django's, and fires no relation hook (Django sends its signals
//!   with `raw=True`; throughline's hooks are relation hooks, and a fixture load, like raw
//!   SQL and migrations, fires none).
//! - Values must have their field's JSON type; Django converts (`"12"` into `12`).
//! - A naive datetime (no `Z`, no offset) is read as UTC; Django reads it in the current
//!   time zone, with a warning.
//! - Datetimes are written with their microseconds when they are not whole milliseconds
//!   (Django cuts them to milliseconds, losing data; it reads six digits back). The keys
//!   of a JSON document come out sorted.
//! - Natural keys, other formats (XML, YAML, JSONL), compressed files and fixture folders
//!   are not supported: a fixture is a path (or `-`, standard input, in the CLI).
//! - A key of an object that names no row of the model is refused, as are unknown fields
//!   and unknown keys beside `model`, `pk` and `fields` (Django ignores the latter, and
//!   unknown fields with `--ignorenonexistent`).
//! - The rows dumped are every row of the table (Django's `--all`): a model's default
//!   filter belongs to the typed querysets.

mod json;
mod order;
mod values;

use crate::constraint_names::attach_model;
use crate::crud::{
    insert_returning_key, insert_statement, insert_statements, key_group, row_update,
};
use json::{ElementPos, Lines, Node};
use order::Edge;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use throughline_core::validate::validate_value;
use throughline_core::{
    Error, FieldMeta, FixtureError, FixtureErrorKind as Kind, Key, ModelMeta, Registry, Result,
    Value,
};
use throughline_db::{Access, Conn, Executor, op};
use throughline_query::{
    Conflict, DeleteQuery, FieldPath, Filter, FilterGroup, Lookup, OrderBy, Projection,
    SelectQuery, Statement, UpdateQuery,
};

/// A model's label in fixtures: its application and its name, lower-case
/// (`school.enrollment`, Django's `app_label.modelname`); the application is its crate's
/// name with `-` as `_` unless the model names one. A model without an application (built
/// by hand) is its name alone.
///
/// ```
/// use throughline_core::ModelMeta;
/// let mut meta = ModelMeta::new("TopicSystem", "topic_system", vec![]);
/// assert_eq!(throughline_engine::fixtures::label(&meta), "topicsystem");
/// meta.app = "my-school".into();
/// assert_eq!(throughline_engine::fixtures::label(&meta), "my_school.topicsystem");
/// ```
pub fn label(meta: &ModelMeta) -> String {
    let model = meta.name.to_lowercase();
    let app = app_label(meta);
    if app.is_empty() {
        model
    } else {
        format!("{app}.{model}")
    }
}

/// The application part of a label.
fn app_label(meta: &ModelMeta) -> String {
    normalize(&meta.app)
}

/// A label as given, in the form labels are compared in.
fn normalize(text: &str) -> String {
    text.trim().replace('-', "_").to_lowercase()
}

/// Whether `meta` is the generated through model of an implicit many-to-many relation.
fn auto_created(registry: &Registry, meta: &ModelMeta) -> bool {
    registry.models().iter().any(|m| {
        m.many_to_many
            .iter()
            .any(|r| r.auto_created && r.through == meta.name)
    })
}

/// The registered model whose label is `text` (compared case-insensitively, `-` as `_`).
fn find_model(registry: &Registry, text: &str) -> Option<&'static ModelMeta> {
    let wanted = normalize(text);
    registry
        .models()
        .iter()
        .copied()
        .find(|m| label(m) == wanted)
}

/// The labels of the models a dump can name, for messages.
fn known_labels(registry: &Registry) -> String {
    let labels: Vec<String> = registry
        .models()
        .iter()
        .filter(|m| !auto_created(registry, m))
        .map(|m| label(m))
        .collect();
    labels.join(", ")
}

/// The models `dumpdata` writes for `labels`: an application (`school`) is its models, a
/// model label (`school.student`) one model; no label is every registered model. The
/// generated through models of implicit relations are left out unless named. The result
/// is in dependency order (the models a foreign key refers to first). A label naming
/// nothing is [`Error::Fixture`] ([`FixtureErrorKind::UnknownModel`](Kind::UnknownModel)).
///
/// ```
/// let school = throughline_engine::doc_support::school();
/// let models = throughline_engine::fixtures::select_models(&school, &["enrollment", "student"]).unwrap();
/// let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
/// assert_eq!(names, ["Student", "Enrollment"]);
/// assert!(throughline_engine::fixtures::select_models(&school, &["nope"]).is_err());
/// ```
pub fn select_models<S: AsRef<str>>(
    registry: &Registry,
    labels: &[S],
) -> Result<Vec<&'static ModelMeta>> {
    let dumpable = |m: &ModelMeta| !auto_created(registry, m);
    let mut chosen: Vec<&'static ModelMeta> = Vec::new();
    if labels.is_empty() {
        chosen = registry
            .models()
            .iter()
            .copied()
            .filter(|m| dumpable(m))
            .collect();
    }
    for text in labels {
        let text = text.as_ref();
        let wanted = normalize(text);
        let app: Vec<&'static ModelMeta> = if wanted.contains('.') {
            Vec::new()
        } else {
            registry
                .models()
                .iter()
                .copied()
                .filter(|m| app_label(m) == wanted && dumpable(m))
                .collect()
        };
        let found = if app.is_empty() {
            find_model(registry, &wanted).into_iter().collect()
        } else {
            app
        };
        if found.is_empty() {
            return Err(FixtureError::new(
                Kind::UnknownModel,
                format!(
                    "no application or model `{text}` (the models are: {})",
                    known_labels(registry)
                ),
            )
            .into());
        }
        for model in found {
            if !chosen.iter().any(|c| std::ptr::eq(*c, model)) {
                chosen.push(model);
            }
        }
    }
    let position = |m: &ModelMeta| {
        registry
            .models()
            .iter()
            .position(|r| std::ptr::eq(*r, m))
            .unwrap_or(usize::MAX)
    };
    chosen.sort_by_key(|m| position(m));
    Ok(order::models_in_dependency_order(&chosen))
}

/// One object of a dump: its model, its key and its fields as JSON, fields in declaration
/// order, then the lists of implicit many-to-many targets.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = throughline_engine::doc_support::seeded_school_db().await?;
/// let dump = throughline_engine::fixtures::dump(&db, &school, &["course"]).await?;
/// let math = &dump.objects()[0];
/// assert_eq!((math.model.name.as_str(), &math.pk), ("Course", &serde_json::json!(1)));
/// assert_eq!(math.fields, vec![("title".to_owned(), serde_json::json!("math"))]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Object {
    /// The model.
    pub model: &'static ModelMeta,
    /// The primary key.
    pub pk: Json,
    /// Every other field, by name, then each implicit many-to-many relation's target keys.
    pub fields: Vec<(String, Json)>,
}

impl Object {
    /// The object as Django's serializer builds it: `model`, `pk`, `fields`.
    fn node(&self) -> Node {
        Node::Object(vec![
            (
                "model".to_owned(),
                Node::Json(Json::String(label(self.model))),
            ),
            ("pk".to_owned(), Node::Json(self.pk.clone())),
            (
                "fields".to_owned(),
                Node::Object(
                    self.fields
                        .iter()
                        .map(|(name, value)| (name.clone(), Node::Json(value.clone())))
                        .collect(),
                ),
            ),
        ])
    }
}

/// The objects a [`dump`] read, in the order they are written.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = throughline_engine::doc_support::seeded_school_db().await?;
/// let dump = throughline_engine::fixtures::dump(&db, &school, &["student"]).await?;
/// assert_eq!(dump.len(), 3);
/// assert_eq!(dump.objects()[0].pk, serde_json::json!(1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dump {
    objects: Vec<Object>,
}

impl Dump {
    /// The objects, in order.
    ///
    /// ```
    /// assert!(throughline_engine::fixtures::Dump::default().objects().is_empty());
    /// ```
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// The number of objects.
    ///
    /// ```
    /// assert_eq!(throughline_engine::fixtures::Dump::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there is no object.
    ///
    /// ```
    /// assert!(throughline_engine::fixtures::Dump::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The fixture's text, byte for byte as Django's `dumpdata` prints it: on one line
    /// without `indent` (`[{"model": ..., "pk": 1, "fields": {...}}, ...]`, no final
    /// newline); with one, each object and each of its values on a line of its own, and a
    /// final newline.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let (db, school) = throughline_engine::doc_support::seeded_school_db().await?;
    /// let dump = throughline_engine::fixtures::dump(&db, &school, &["course"]).await?;
    /// assert_eq!(dump.to_json(None), r#"[{"model": "course", "pk": 1, "fields": {"title": "math"}}]"#);
    /// assert_eq!(
    ///     dump.to_json(Some(2)),
    ///     "[\n{\n  \"model\": \"course\",\n  \"pk\": 1,\n  \"fields\": {\n    \"title\": \"math\"\n  }\n}\n]\n"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn to_json(&self, indent: Option<usize>) -> String {
        // Django frames the objects with newlines only for a non-zero indent (Python's
        // `if indent:`); each object is `json.dump`ed with the indent as given.
        let framed = indent.is_some_and(|n| n > 0);
        let mut out = String::from("[");
        for (i, object) in self.objects.iter().enumerate() {
            if i > 0 {
                out.push(',');
                if !framed {
                    out.push(' ');
                }
            }
            if framed {
                out.push('\n');
            }
            json::write(&mut out, &object.node(), indent, 0);
        }
        if framed {
            out.push('\n');
        }
        out.push(']');
        if framed {
            out.push('\n');
        }
        out
    }
}

/// Reads the rows of the models `labels` name (see [`select_models`]; none: every
/// model) as fixture objects, in dependency order, each model's rows in key order.
///
/// ```
/// # use throughline_core::Value;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = throughline_engine::doc_support::seeded_school_db().await?;
/// let enrollment = school.get("Enrollment").unwrap();
/// throughline_engine::crud::create(&db, enrollment, &[("course", Value::I64(1)), ("student", Value::I64(2))]).await?;
/// let dump = throughline_engine::fixtures::dump(&db, &school, &[] as &[&str]).await?;
/// let labels: Vec<String> = dump.objects().iter().map(|o| throughline_engine::fixtures::label(o.model)).collect();
/// assert_eq!(labels, ["student", "student", "student", "course", "enrollment"]);
/// assert!(dump.to_json(None).ends_with(r#"{"model": "enrollment", "pk": 1, "fields": {"course": 1, "student": 2, "grade": ""}}]"#));
/// # Ok(()) }
/// ```
pub async fn dump<S: AsRef<str>>(
    exec: &impl Executor,
    registry: &Registry,
    labels: &[S],
) -> Result<Dump> {
    let models = select_models(registry, labels)?;
    let backend = exec.backend();
    let mut reads = Vec::with_capacity(models.len());
    for meta in models {
        let mut rows = SelectQuery::new(meta);
        rows.order_by = vec![OrderBy::asc(FieldPath::local(&meta.pk().name))];
        let rows = rows.render(backend)?;
        let mut lists = Vec::new();
        for relation in meta.many_to_many.iter().filter(|r| r.auto_created) {
            let (through, source, target) = implicit_through(registry, meta, &relation.name)?;
            let mut links = SelectQuery::new(through);
            links.projection = Projection::Columns(vec![
                FieldPath::local(&source.name),
                FieldPath::local(&target.name),
            ]);
            links.order_by = vec![
                OrderBy::asc(FieldPath::local(&source.name)),
                OrderBy::asc(FieldPath::local(&target.name)),
            ];
            let types = (source.ty.as_reference(), target.ty.as_reference());
            lists.push((relation.name.clone(), types, links.render(backend)?));
        }
        reads.push((meta, rows, lists));
    }
    type Read = (
        &'static ModelMeta,
        Vec<Vec<Value>>,
        Vec<(String, Vec<(Value, Value)>)>,
    );
    let read: Vec<Read> = exec
        .run(
            Access::Read,
            op(move |conn| {
                Box::pin(async move {
                    let mut out = Vec::with_capacity(reads.len());
                    for (meta, stmt, lists) in &reads {
                        let decode = crate::row_values(meta);
                        let mut rows = Vec::new();
                        conn.query(stmt, &mut |row| {
                            rows.push(decode(row)?);
                            Ok(())
                        })
                        .await?;
                        let mut links = Vec::with_capacity(lists.len());
                        for (name, (source, target), stmt) in lists {
                            let mut pairs = Vec::new();
                            conn.query(stmt, &mut |row| {
                                pairs.push((row.value_as(0, *source)?, row.value_as(1, *target)?));
                                Ok(())
                            })
                            .await?;
                            links.push((name.clone(), pairs));
                        }
                        out.push((*meta, rows, links));
                    }
                    Ok(out)
                })
            }),
        )
        .await?;
    let mut objects = Vec::new();
    for (meta, rows, links) in read {
        let pk_index = meta.fields.iter().position(|f| f.primary_key).unwrap_or(0);
        let mut lists: Vec<(String, HashMap<Key, Vec<Value>>)> = Vec::with_capacity(links.len());
        for (name, pairs) in links {
            let mut by_source: HashMap<Key, Vec<Value>> = HashMap::new();
            for (source, target) in pairs {
                by_source.entry(Key::of(&source)).or_default().push(target);
            }
            lists.push((name, by_source));
        }
        for row in rows {
            let pk_value = row.get(pk_index).cloned().unwrap_or(Value::Null);
            let unwritable = |field: &str, reason: String| -> Error {
                FixtureError::new(
                    Kind::InvalidValue,
                    format!(
                        "{} pk {}: field `{field}` cannot be written: {reason}",
                        label(meta),
                        pk_value.display()
                    ),
                )
                .into()
            };
            let mut fields = Vec::with_capacity(meta.fields.len() + lists.len());
            let mut pk = Json::Null;
            for (field, value) in meta.fields.iter().zip(row.iter()) {
                let json = values::to_json(&value.clone().coerce(field.ty))
                    .map_err(|reason| unwritable(&field.name, reason))?;
                if field.primary_key {
                    pk = json;
                } else {
                    fields.push((field.name.clone(), json));
                }
            }
            for (name, by_source) in &lists {
                let targets = by_source
                    .get(&Key::of(&pk_value))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let targets = targets
                    .iter()
                    .map(values::to_json)
                    .collect::<std::result::Result<Vec<Json>, String>>()
                    .map_err(|reason| unwritable(name, reason))?;
                fields.push((name.clone(), Json::Array(targets)));
            }
            objects.push(Object {
                model: meta,
                pk,
                fields,
            });
        }
    }
    Ok(Dump { objects })
}

/// The generated through model of `meta`'s implicit relation `name`, and its keys to the
/// source and the target.
fn implicit_through(
    registry: &Registry,
    meta: &ModelMeta,
    name: &str,
) -> Result<(&'static ModelMeta, &'static FieldMeta, &'static FieldMeta)> {
    let missing = |what: String| Error::invalid_query(&meta.name, what);
    let relation = meta
        .many_to_many
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| missing(format!("no relation `{name}`")))?;
    let through = registry.get(&relation.through).ok_or_else(|| {
        missing(format!(
            "the through model {} of {name} is not registered",
            relation.through
        ))
    })?;
    let key = |field: &str| {
        through
            .field(field)
            .ok_or_else(|| missing(format!("{} has no field `{field}`", through.name)))
    };
    Ok((
        through,
        key(&relation.source_field)?,
        key(&relation.target_field)?,
    ))
}

/// One fixture file: its name (for messages) and its text.
///
/// ```
/// let fixture = throughline_engine::fixtures::Fixture::new("inline.json", "[]");
/// assert_eq!(fixture.name, "inline.json");
/// ```
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The name errors give (the path, or `-` for standard input).
    pub name: String,
    /// The JSON text.
    pub text: String,
}

impl Fixture {
    /// A fixture from its name and text.
    ///
    /// ```
    /// let fixture = throughline_engine::fixtures::Fixture::new("-", r#"[{"model": "student", "pk": 1, "fields": {"name": "ada"}}]"#);
    /// assert!(fixture.text.starts_with('['));
    /// ```
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Fixture {
        Fixture {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads the fixture at `path` (UTF-8 JSON); a file that cannot be read is
    /// [`Error::Fixture`] ([`FixtureErrorKind::Unreadable`](Kind::Unreadable)).
    ///
    /// ```
    /// let error = throughline_engine::fixtures::Fixture::read("no/such/file.json").unwrap_err();
    /// assert!(error.to_string().contains("no/such/file.json"));
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<Fixture> {
        let path = path.as_ref();
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Fixture { name, text }),
            Err(error) => Err(FixtureError::new(
                Kind::Unreadable,
                format!("cannot read the file: {error}"),
            )
            .in_file(name)
            .into()),
        }
    }
}

/// What a [`load`] did; its `Display` is Django's message.
///
/// ```
/// let report = throughline_engine::fixtures::LoadReport { objects: 3, fixtures: 1 };
/// assert_eq!(report.to_string(), "Installed 3 object(s) from 1 fixture(s)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// The objects read from the fixtures (each saved).
    pub objects: usize,
    /// The fixture files.
    pub fixtures: usize,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Installed {} object(s) from {} fixture(s)",
            self.objects, self.fixtures
        )
    }
}

/// Where an object (or one of its fields) is: the fixture, the line, the object's
/// position.
#[derive(Debug, Clone, Copy)]
struct At {
    fixture: usize,
    line: usize,
    object: usize,
}

/// An object of the fixtures, checked and ready to write.
struct Planned {
    meta: &'static ModelMeta,
    /// Every field's value, in field order; the key NULL when the database gives it.
    row: Vec<Value>,
    /// Where the object is.
    at: At,
    /// The line of each field's value (the object's line for a default).
    field_lines: Vec<usize>,
    /// The implicit many-to-many lists: the relation's name and the targets' keys.
    links: Vec<Links>,
}

/// An implicit many-to-many list of an object.
struct Links {
    relation: String,
    through: &'static ModelMeta,
    source_field: &'static str,
    target_field: &'static str,
    target_model: &'static ModelMeta,
    targets: Vec<Value>,
    line: usize,
}

impl Planned {
    fn pk_index(&self) -> usize {
        self.meta
            .fields
            .iter()
            .position(|f| f.primary_key)
            .unwrap_or(0)
    }

    fn pk(&self) -> &Value {
        self.row.get(self.pk_index()).unwrap_or(&Value::Null)
    }

    /// `school.student pk 3` (or `(new)` for a key the database gives), for messages.
    fn describe(&self) -> String {
        let pk = self.pk();
        if pk.is_null() {
            format!("{} (new)", label(self.meta))
        } else {
            format!("{} pk {}", label(self.meta), pk.display())
        }
    }
}

/// Builds fixture errors at a place in the fixtures.
struct Locator {
    names: Vec<String>,
}

impl Locator {
    fn error(&self, at: At, line: usize, kind: Kind, reason: String) -> Error {
        let name = self.names.get(at.fixture).cloned().unwrap_or_default();
        FixtureError::new(kind, reason)
            .in_file(name)
            .at(line, at.object)
            .into()
    }
}

/// Loads `fixtures` in one transaction (a savepoint when `exec` is a transaction): every
/// object inserted, or saved over the row with the same key; every implicit many-to-many
/// list set; PostgreSQL's sequences moved past the largest key. Any problem refuses all of
/// it with [`Error::Fixture`] (file, line, object, reason) and nothing is loaded. No hook
/// fires. See the [module documentation](self) for the rules.
///
/// ```
/// # use throughline_engine::fixtures::{load, Fixture};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = throughline_engine::doc_support::school_db().await?;
/// let text = r#"[
///   {"model": "student", "pk": 1, "fields": {"name": "ada"}},
///   {"model": "course", "pk": 1, "fields": {"title": "math"}},
///   {"model": "enrollment", "pk": 1, "fields": {"course": 1, "student": 1, "grade": "A"}}
/// ]"#;
/// let report = load(&db, &school, &[Fixture::new("school.json", text)]).await?;
/// assert_eq!(report.to_string(), "Installed 3 object(s) from 1 fixture(s)");
///
/// // A foreign key to a row that exists nowhere: refused, naming the line; nothing loaded.
/// let bad = r#"[
///   {"model": "student", "pk": 2, "fields": {"name": "bob"}},
///   {"model": "enrollment", "pk": 2, "fields": {"course": 9, "student": 2}}
/// ]"#;
/// let error = load(&db, &school, &[Fixture::new("bad.json", bad)]).await.unwrap_err();
/// assert!(error.to_string().starts_with("fixture error in bad.json, line 3 (object 2): enrollment pk 2: field `course`"), "{error}");
/// let students = throughline_engine::read::rows(&db, school.get("Student").unwrap(), throughline_query::Filter::All).await?;
/// assert_eq!(students.len(), 1);
/// # Ok(()) }
/// ```
pub async fn load(
    exec: &impl Executor,
    registry: &Registry,
    fixtures: &[Fixture],
) -> Result<LoadReport> {
    let locator = Locator {
        names: fixtures.iter().map(|f| f.name.clone()).collect(),
    };
    let now = throughline_core::value::now();
    let mut planned: Vec<Planned> = Vec::new();
    let mut index: HashMap<(&'static str, Key), usize> = HashMap::new();
    let mut objects = 0;
    for (fixture_index, fixture) in fixtures.iter().enumerate() {
        for object in parse_fixture(registry, fixture, fixture_index, &locator, now)? {
            objects += 1;
            let pk = object.pk().clone();
            if pk.is_null() {
                planned.push(object);
                continue;
            }
            match index.entry((object.meta.name.as_str(), Key::of(&pk))) {
                std::collections::hash_map::Entry::Occupied(entry) => {
                    // The same row twice: the later object is saved over the earlier one
                    // (as Django saves both in turn); its lists replace the earlier's.
                    let earlier = &mut planned[*entry.get()];
                    let mut links = std::mem::take(&mut earlier.links);
                    links.retain(|l| !object.links.iter().any(|o| o.relation == l.relation));
                    *earlier = object;
                    earlier.links.extend(links);
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(planned.len());
                    planned.push(object);
                }
            }
        }
    }
    // References between objects order the inserts; the others must be in the database.
    let mut edges = Vec::new();
    let mut external: Vec<Reference> = Vec::new();
    // The position in `external` of the references to `target`.
    let reference = |external: &mut Vec<Reference>, target: &'static ModelMeta| -> usize {
        match external.iter().position(|r| std::ptr::eq(r.model, target)) {
            Some(at) => at,
            None => {
                external.push(Reference::new(target));
                external.len() - 1
            }
        }
    };
    for (from, object) in planned.iter().enumerate() {
        for (field_index, field) in object.meta.fields.iter().enumerate() {
            let (Some(fk), Some(value)) = (&field.foreign_key, object.row.get(field_index)) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let target = registry.get(&fk.to).ok_or_else(|| {
                locator.error(
                    object.at,
                    object.field_lines[field_index],
                    Kind::UnknownModel,
                    format!(
                        "{}: field `{}` refers to {}, which is not registered",
                        object.describe(),
                        field.name,
                        fk.to
                    ),
                )
            })?;
            match index.get(&(target.name.as_str(), Key::of(value))) {
                Some(&to) => edges.push(Edge {
                    from,
                    field: field_index,
                    to,
                    nullable: field.nullable,
                }),
                None => {
                    let at = reference(&mut external, target);
                    external[at].push(
                        value.clone(),
                        from,
                        object.field_lines[field_index],
                        &field.name,
                    );
                }
            }
        }
        for links in &object.links {
            for value in &links.targets {
                let key = (links.target_model.name.as_str(), Key::of(value));
                if !index.contains_key(&key) {
                    let at = reference(&mut external, links.target_model);
                    external[at].push(value.clone(), from, links.line, &links.relation);
                }
            }
        }
    }
    let order::RowOrder {
        rows: order,
        deferred,
    } = order::rows_in_dependency_order(planned.len(), &edges).map_err(|row| {
            let object = &planned[row];
            locator.error(
                object.at,
                object.at.line,
                Kind::Cycle,
                format!(
                    "{} is in a cycle of rows referring to each other through required foreign keys, which no order of inserts can load (make one of the keys optional)",
                    object.describe()
                ),
            )
        })?;
    let plan = std::sync::Arc::new(Plan {
        planned,
        order,
        deferred,
        external,
        locator,
    });
    // Batched first; a refused batch names no object, so the load is run again (all of it
    // rolled back) one object at a time, which names the object the database refuses.
    match run_plan(exec, plan.clone(), Mode::Batched).await {
        Err(Error::Fixture(problem))
            if problem.kind == Kind::Database && problem.object.is_none() =>
        {
            run_plan(exec, plan, Mode::OneByOne).await?;
        }
        other => other?,
    }
    Ok(LoadReport {
        objects,
        fixtures: fixtures.len(),
    })
}

/// Runs a load's writes in one transaction (a savepoint inside a caller's).
async fn run_plan(exec: &impl Executor, plan: std::sync::Arc<Plan>, mode: Mode) -> Result<()> {
    exec.run(
        Access::Atomic,
        op(move |conn| Box::pin(async move { plan.write(conn, mode).await })),
    )
    .await
}

/// How a load writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each run of new rows of one model (in the load's order) in multi-row inserts, as
    /// few as the backend's bind-parameter limit allows, and the implicit lists of every
    /// source of a through model together: a load of 10,000 rows is a few statements. A
    /// statement the database refuses names no object.
    Batched,
    /// One statement per object, so that the one the database refuses is named.
    OneByOne,
}

/// The keys of one model that objects refer to without the fixtures holding them.
struct Reference {
    model: &'static ModelMeta,
    keys: Vec<Value>,
    /// For each key: the referring object, the line and the field (or relation).
    from: Vec<(usize, usize, String)>,
}

impl Reference {
    fn new(model: &'static ModelMeta) -> Reference {
        Reference {
            model,
            keys: Vec::new(),
            from: Vec::new(),
        }
    }

    fn push(&mut self, key: Value, object: usize, line: usize, field: &str) {
        self.keys.push(key);
        self.from.push((object, line, field.to_owned()));
    }
}

/// Everything a load writes, checked, in its order.
struct Plan {
    planned: Vec<Planned>,
    order: Vec<usize>,
    /// `(object, field)`: written NULL first, set once its target exists.
    deferred: Vec<(usize, usize)>,
    external: Vec<Reference>,
    locator: Locator,
}

impl Plan {
    /// The whole load, on one connection inside its transaction.
    async fn write(&self, conn: &mut dyn Conn, mode: Mode) -> Result<()> {
        let backend = conn.backend();
        // Every reference outside the fixtures names an existing row; the first missing
        // one in the files is reported.
        type Missing<'p> = (&'p Reference, &'p Value, &'p (usize, usize, String));
        let mut missing: Option<Missing<'_>> = None;
        let place = |from: &(usize, usize, String)| {
            let at = self.planned[from.0].at;
            (at.fixture, at.object, from.1)
        };
        for reference in &self.external {
            let found = existing_keys(conn, reference.model, reference.keys.clone()).await?;
            for (key, from) in reference.keys.iter().zip(&reference.from) {
                let earlier = missing.is_none_or(|(_, _, first)| place(from) < place(first));
                if earlier && !found.contains(&Key::of(key)) {
                    missing = Some((reference, key, from));
                }
            }
        }
        if let Some((reference, key, (object, line, field))) = missing {
            let planned = &self.planned[*object];
            return Err(self.locator.error(
                planned.at,
                *line,
                Kind::MissingReference,
                format!(
                    "{}: field `{field}` refers to {} with key {}, which is neither in the fixtures nor in the database",
                    planned.describe(),
                    label(reference.model),
                    key.display()
                ),
            ));
        }
        // The rows that exist already are saved over.
        let mut keys_by_model: HashMap<&'static str, (&'static ModelMeta, Vec<Value>)> =
            HashMap::new();
        for object in &self.planned {
            if !object.pk().is_null() {
                keys_by_model
                    .entry(object.meta.name.as_str())
                    .or_insert_with(|| (object.meta, Vec::new()))
                    .1
                    .push(object.pk().clone());
            }
        }
        let mut existing: HashSet<(&'static str, Key)> = HashSet::new();
        let mut explicit_keys: Vec<&'static ModelMeta> = Vec::new();
        for (name, (meta, keys)) in keys_by_model {
            if meta.pk().is_auto() {
                explicit_keys.push(meta);
            }
            for key in existing_keys(conn, meta, keys).await? {
                existing.insert((name, key));
            }
        }
        let mut deferred_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for (object, field) in &self.deferred {
            deferred_of.entry(*object).or_default().push(*field);
        }
        // The rows with their keys, each after the rows it refers to; then (once the
        // sequences are past the keys of the files) the rows whose key the database
        // gives, which no row refers to.
        let (keyed, keyless): (Vec<usize>, Vec<usize>) = self
            .order
            .iter()
            .copied()
            .partition(|index| !self.planned[*index].pk().is_null());
        let mut keys: Vec<Value> = vec![Value::Null; self.planned.len()];
        let mut saved_over = vec![false; self.planned.len()];
        // New rows of one model, in order, not written yet (batched mode).
        let mut run: Vec<usize> = Vec::new();
        for &index in &keyed {
            let object = &self.planned[index];
            let meta = object.meta;
            let refused = |error: Error| self.refused(object, error);
            let pk = object.pk().clone();
            keys[index] = pk.clone();
            let exists = existing.contains(&(meta.name.as_str(), Key::of(&pk)));
            let same_model = run
                .first()
                .is_none_or(|first| std::ptr::eq(self.planned[*first].meta, meta));
            if !(mode == Mode::Batched && !exists && same_model) {
                // What was gathered goes first: this row may refer to it.
                self.insert_run(conn, &run, &deferred_of).await?;
                run.clear();
            }
            if mode == Mode::Batched && !exists {
                run.push(index);
                continue;
            }
            let row = self.row_of(index, &deferred_of);
            if exists {
                saved_over[index] = true;
                if meta.fields.len() > 1 {
                    let update = row_update(meta, &row, pk).render(backend)?;
                    conn.execute(&update).await.map_err(refused)?;
                }
            } else {
                let insert = insert_statement(meta, &row).into_statement(backend)?;
                keys[index] = insert_returning_key(conn, &insert, meta)
                    .await
                    .map_err(refused)?;
            }
        }
        self.insert_run(conn, &run, &deferred_of).await?;
        // The sequences of keys written explicitly move past the largest one.
        let dialect = throughline_query::dialect::of(backend)?;
        for meta in explicit_keys {
            if let Some(reset) = dialect.sequence_reset(&meta.table, &meta.pk().column) {
                conn.query(&reset, &mut |_| Ok(())).await?;
            }
        }
        for &index in &keyless {
            let object = &self.planned[index];
            let insert = insert_statement(object.meta, &object.row).into_statement(backend)?;
            keys[index] = insert_returning_key(conn, &insert, object.meta)
                .await
                .map_err(|e| self.refused(object, e))?;
        }
        // The references that closed a cycle, now that their targets exist.
        for (index, field) in &self.deferred {
            let object = &self.planned[*index];
            let Some(meta_field) = object.meta.fields.get(*field) else {
                continue;
            };
            let value = object.row.get(*field).cloned().unwrap_or(Value::Null);
            let update = UpdateQuery {
                model: object.meta,
                set: vec![(meta_field.name.clone(), value)],
                computed: Vec::new(),
                groups: vec![key_group(object.meta, keys[*index].clone())],
            }
            .render(backend)?;
            conn.execute(&update)
                .await
                .map_err(|e| self.refused(object, e))?;
        }
        // The implicit many-to-many lists replace the links of their source.
        let mut batched_links: Vec<(&'static ModelMeta, Vec<Vec<Value>>)> = Vec::new();
        for (index, object) in self.planned.iter().enumerate() {
            for links in &object.links {
                let source = keys[index].clone();
                let refused = |error: Error| self.refused(object, error);
                if saved_over[index] {
                    let clear = DeleteQuery {
                        model: links.through,
                        groups: vec![FilterGroup::filter(Filter::cond(
                            FieldPath::local(links.source_field),
                            Lookup::Exact(source.clone()),
                        ))],
                        returning: Vec::new(),
                    }
                    .render(backend)?;
                    conn.execute(&clear).await.map_err(refused)?;
                }
                let mut seen = HashSet::new();
                let mut rows = Vec::new();
                for target in &links.targets {
                    if seen.insert(Key::of(target)) {
                        let given = [
                            (links.source_field, source.clone()),
                            (links.target_field, target.clone()),
                        ];
                        rows.push(crate::defaults::new_row(links.through, &given)?);
                    }
                }
                if rows.is_empty() {
                    continue;
                }
                if mode == Mode::Batched {
                    match batched_links
                        .iter_mut()
                        .find(|(through, _)| std::ptr::eq(*through, links.through))
                    {
                        Some((_, all)) => all.extend(rows),
                        None => batched_links.push((links.through, rows)),
                    }
                    continue;
                }
                for stmt in insert_statements(links.through, &rows, Conflict::Error, backend)? {
                    conn.query(&stmt, &mut |_| Ok(()))
                        .await
                        .map_err(|e| attach_model(e, links.through))
                        .map_err(refused)?;
                }
            }
        }
        for (through, rows) in batched_links {
            insert_rows(conn, through, &rows).await?;
        }
        Ok(())
    }

    /// The row of object `index` as first written: NULL in its references that close a
    /// cycle.
    fn row_of(&self, index: usize, deferred_of: &HashMap<usize, Vec<usize>>) -> Vec<Value> {
        let mut row = self.planned[index].row.clone();
        for field in deferred_of.get(&index).into_iter().flatten() {
            if let Some(value) = row.get_mut(*field) {
                *value = Value::Null;
            }
        }
        row
    }

    /// Inserts the new rows `run` (objects of one model, keys given) together.
    async fn insert_run(
        &self,
        conn: &mut dyn Conn,
        run: &[usize],
        deferred_of: &HashMap<usize, Vec<usize>>,
    ) -> Result<()> {
        let Some(first) = run.first() else {
            return Ok(());
        };
        let rows: Vec<Vec<Value>> = run.iter().map(|i| self.row_of(*i, deferred_of)).collect();
        insert_rows(conn, self.planned[*first].meta, &rows).await
    }

    /// The error of a row the database refused.
    fn refused(&self, object: &Planned, error: Error) -> Error {
        let error = attach_model(error, object.meta);
        let reason = format!(
            "{}: the database refused the row: {error}",
            object.describe()
        );
        let name = self
            .locator
            .names
            .get(object.at.fixture)
            .cloned()
            .unwrap_or_default();
        FixtureError::new(Kind::Database, reason)
            .in_file(name)
            .at(object.at.line, object.at.object)
            .caused_by(error)
            .into()
    }
}

/// Inserts `rows` (every field of `meta`, in order) in as few statements as the backend's
/// bind-parameter limit allows, returning nothing. A statement the database refuses is a
/// [`Kind::Database`] error naming no object (the load then runs one object at a time).
async fn insert_rows(
    conn: &mut dyn Conn,
    meta: &'static ModelMeta,
    rows: &[Vec<Value>],
) -> Result<()> {
    let backend = conn.backend();
    let skip_auto = |i: usize| meta.fields[i].is_auto() && rows.iter().all(|r| r[i].is_null());
    let kept: Vec<usize> = (0..meta.fields.len()).filter(|i| !skip_auto(*i)).collect();
    let fields: Vec<throughline_query::FieldName> = kept
        .iter()
        .map(|i| throughline_query::FieldName::Borrowed(&meta.fields[*i].name))
        .collect();
    let max_params = throughline_query::dialect::capabilities(backend)?.max_bind_params;
    let per_statement = (max_params / fields.len().max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let stmt = throughline_query::InsertQuery {
            model: meta,
            fields: fields.clone(),
            rows: chunk
                .iter()
                .map(|row| kept.iter().map(|i| row[*i].clone()).collect())
                .collect(),
            conflict: Conflict::Error,
            returning: Vec::new(),
        }
        .into_statement(backend)?;
        conn.execute(&stmt).await.map_err(|error| {
            let error = attach_model(error, meta);
            Error::from(
                FixtureError::new(
                    Kind::Database,
                    format!(
                        "the database refused a batch of {} rows: {error}",
                        label(meta)
                    ),
                )
                .caused_by(error),
            )
        })?;
    }
    Ok(())
}

/// The keys among `keys` that rows of `meta` have, read in one statement.
async fn existing_keys(
    conn: &mut dyn Conn,
    meta: &'static ModelMeta,
    keys: Vec<Value>,
) -> Result<HashSet<Key>> {
    let mut found = HashSet::new();
    if keys.is_empty() {
        return Ok(found);
    }
    let pk = meta.pk();
    let mut query = SelectQuery::new(meta);
    query.projection = Projection::Keys;
    query.filter(Filter::cond(FieldPath::local(&pk.name), Lookup::In(keys)));
    let stmt: Statement = query.render(conn.backend())?;
    let ty = pk.ty.as_reference();
    conn.query(&stmt, &mut |row| {
        found.insert(Key::of(&row.value_as(0, ty)?));
        Ok(())
    })
    .await?;
    Ok(found)
}

/// Parses and checks one fixture: its objects, each with every field's value.
fn parse_fixture(
    registry: &Registry,
    fixture: &Fixture,
    fixture_index: usize,
    locator: &Locator,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Planned>> {
    let malformed_at = |line: usize, reason: String| -> Error {
        FixtureError::new(Kind::Malformed, reason)
            .in_file(fixture.name.clone())
            .at_line(line)
            .into()
    };
    // A byte-order mark (a file saved by some Windows editors) is not JSON; it holds no
    // newline, so the lines stay those of the file.
    let text = fixture
        .text
        .strip_prefix('\u{feff}')
        .unwrap_or(&fixture.text);
    let document: Json = serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let reason = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(reason, _)| reason);
        malformed_at(
            error.line().max(1),
            format!("not valid JSON (column {}): {reason}", error.column()),
        )
    })?;
    let Json::Array(elements) = document else {
        return Err(malformed_at(
            1,
            format!(
                "a fixture is a JSON array of objects (Django's layout), found {}",
                values::describe(&document)
            ),
        ));
    };
    let positions = json::element_positions(text);
    let lines = Lines::of(text);
    let mut out = Vec::with_capacity(elements.len());
    for (i, element) in elements.into_iter().enumerate() {
        let position = positions.get(i).cloned().unwrap_or_default();
        let at = At {
            fixture: fixture_index,
            line: lines.line(position.start),
            object: i + 1,
        };
        out.push(parse_object(
            registry, element, at, &position, &lines, locator, now,
        )?);
    }
    Ok(out)
}

/// Parses and checks one object of a fixture.
fn parse_object(
    registry: &Registry,
    element: Json,
    at: At,
    position: &ElementPos,
    lines: &Lines,
    locator: &Locator,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Planned> {
    let fail = |offset: usize, kind: Kind, reason: String| {
        locator.error(at, lines.line(offset), kind, reason)
    };
    let Json::Object(mut object) = element else {
        return Err(fail(
            position.start,
            Kind::Malformed,
            format!(
                "expected an object with model, pk and fields, found {}",
                values::describe(&element)
            ),
        ));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "model" | "pk" | "fields"))
    {
        return Err(fail(
            position.key(key),
            Kind::Malformed,
            format!("unknown key `{key}` (an object has model, pk and fields)"),
        ));
    }
    let model_text = match object.get("model") {
        Some(Json::String(text)) => text.clone(),
        Some(other) => {
            return Err(fail(
                position.key("model"),
                Kind::Malformed,
                format!(
                    "`model` must be a label such as \"app.model\", found {}",
                    values::describe(other)
                ),
            ));
        }
        None => {
            return Err(fail(
                position.start,
                Kind::Malformed,
                "the object has no `model`".to_owned(),
            ));
        }
    };
    let meta = find_model(registry, &model_text).ok_or_else(|| {
        fail(
            position.key("model"),
            Kind::UnknownModel,
            format!(
                "unknown model `{model_text}` (the models are: {})",
                known_labels(registry)
            ),
        )
    })?;
    let name = label(meta);
    let fields = match object.remove("fields") {
        Some(Json::Object(fields)) => fields,
        Some(other) => {
            return Err(fail(
                position.key("fields"),
                Kind::Malformed,
                format!(
                    "{name}: `fields` must be an object, found {}",
                    values::describe(&other)
                ),
            ));
        }
        None => {
            return Err(fail(
                position.start,
                Kind::Malformed,
                format!("{name}: the object has no `fields`"),
            ));
        }
    };
    let pk_field = meta.pk();
    let pk = match object.get("pk") {
        None | Some(Json::Null) if pk_field.is_auto() => Value::Null,
        None | Some(Json::Null) => {
            return Err(fail(
                position.key("pk"),
                Kind::MissingField,
                format!(
                    "{name}: no `pk` (its key `{}` is not generated by the database)",
                    pk_field.name
                ),
            ));
        }
        Some(json) => values::from_json(pk_field, json).map_err(|reason| {
            fail(
                position.key("pk"),
                Kind::InvalidValue,
                format!("{name}: `pk`: {reason}"),
            )
        })?,
    };
    let describe = if pk.is_null() {
        format!("{name} (new)")
    } else {
        format!("{name} pk {}", pk.display())
    };
    let mut row: Vec<Option<Value>> = vec![None; meta.fields.len()];
    let mut field_lines = vec![at.line; meta.fields.len()];
    let pk_index = meta.fields.iter().position(|f| f.primary_key).unwrap_or(0);
    row[pk_index] = Some(pk);
    let mut links = Vec::new();
    // In the file's order, so that the first problem reported is the first in the file.
    let mut fields: Vec<(String, Json)> = fields.into_iter().collect();
    fields.sort_by_key(|(field_name, _)| position.field(field_name));
    for (field_name, json) in fields {
        let offset = position.field(&field_name);
        if let Some(index) = meta.field_index(&field_name) {
            let field = &meta.fields[index];
            if field.primary_key {
                return Err(fail(
                    offset,
                    Kind::UnknownField,
                    format!(
                        "{describe}: `{field_name}` is the primary key: give it as \"pk\", beside \"fields\""
                    ),
                ));
            }
            let value = values::from_json(field, &json).map_err(|reason| {
                fail(
                    offset,
                    Kind::InvalidValue,
                    format!("{describe}: field `{field_name}`: {reason}"),
                )
            })?;
            row[index] = Some(value);
            field_lines[index] = lines.line(offset);
        } else if let Some(relation) = meta.many_to_many.iter().find(|r| r.name == field_name) {
            if !relation.auto_created {
                return Err(fail(
                    offset,
                    Kind::UnknownField,
                    format!(
                        "{describe}: `{field_name}` goes through {}, whose rows are objects of their own (model \"{}\"), not a list",
                        relation.through,
                        registry
                            .get(&relation.through)
                            .map_or_else(|| relation.through.to_lowercase(), label)
                    ),
                ));
            }
            let (through, source, target) = implicit_through(registry, meta, &field_name)?;
            let target_model = registry.get(&relation.target).ok_or_else(|| {
                Error::invalid_query(&meta.name, format!("{} is not registered", relation.target))
            })?;
            let Json::Array(items) = json else {
                return Err(fail(
                    offset,
                    Kind::InvalidValue,
                    format!(
                        "{describe}: `{field_name}` is a many-to-many relation: expected a list of {} keys, found {}",
                        label(target_model),
                        values::describe(&json)
                    ),
                ));
            };
            let mut targets = Vec::with_capacity(items.len());
            for item in &items {
                let mut key_field = target.clone();
                key_field.nullable = false;
                let value = values::from_json(&key_field, item).map_err(|reason| {
                    fail(
                        offset,
                        Kind::InvalidValue,
                        format!("{describe}: `{field_name}`: a target key: {reason}"),
                    )
                })?;
                targets.push(value);
            }
            links.push(Links {
                relation: field_name.clone(),
                through,
                source_field: source.name.as_str(),
                target_field: target.name.as_str(),
                target_model,
                targets,
                line: lines.line(offset),
            });
        } else {
            let known: Vec<&str> = meta
                .fields
                .iter()
                .filter(|f| !f.primary_key)
                .map(|f| f.name.as_str())
                .chain(
                    meta.many_to_many
                        .iter()
                        .filter(|r| r.auto_created)
                        .map(|r| r.name.as_str()),
                )
                .collect();
            return Err(fail(
                offset,
                Kind::UnknownField,
                format!(
                    "{describe}: {name} has no field `{field_name}` (its fields are: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut values = Vec::with_capacity(row.len());
    for (index, (field, value)) in meta.fields.iter().zip(row).enumerate() {
        let value = match value {
            Some(value) => value,
            None => field.new_row_default(now).ok_or_else(|| {
                fail(
                    position.key("fields"),
                    Kind::MissingField,
                    format!(
                        "{describe}: required field `{}` is missing (it has no default)",
                        field.name
                    ),
                )
            })?,
        };
        if !(field.is_auto() && value.is_null()) {
            validate_value(meta, field, &value).map_err(|error| {
                let reason = match error {
                    Error::Validation { reason, .. } => reason,
                    other => other.to_string(),
                };
                locator.error(
                    at,
                    field_lines[index],
                    Kind::InvalidValue,
                    format!("{describe}: field `{}`: {reason}", field.name),
                )
            })?;
        }
        values.push(value);
    }
    Ok(Planned {
        meta,
        row: values,
        at,
        field_lines,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn school() -> Result<(throughline_db::Database, Registry)> {
        crate::doc_support::school_db().await
    }

    fn message(result: Result<LoadReport>) -> String {
        match result {
            Ok(report) => format!("loaded: {report}"),
            Err(error) => error.to_string(),
        }
    }

    #[tokio::test]
    async fn a_byte_order_mark_is_skipped() -> Result<()> {
        let (db, registry) = school().await?;
        let text =
            "\u{feff}[\n{\"model\": \"student\", \"pk\": 1, \"fields\": {\"name\": \"ada\"}}\n]";
        let report = load(&db, &registry, &[Fixture::new("bom.json", text)]).await?;
        assert_eq!(report.objects, 1);
        let bad = "\u{feff}[\n{\"model\": \"nope\", \"fields\": {}}\n]";
        let error = message(load(&db, &registry, &[Fixture::new("bom.json", bad)]).await);
        assert!(
            error.starts_with("fixture error in bom.json, line 2 (object 1): unknown model `nope`"),
            "{error}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn the_first_bad_field_in_the_file_is_reported() -> Result<()> {
        let (db, registry) = school().await?;
        let text = "[{\"model\": \"enrollment\", \"pk\": 1, \"fields\": {\n\"student\": \"x\",\n\"course\": \"y\"}}]";
        let error = message(load(&db, &registry, &[Fixture::new("f.json", text)]).await);
        assert!(
            error.starts_with(
                "fixture error in f.json, line 2 (object 1): enrollment pk 1: field `student`"
            ),
            "{error}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_load_inside_a_transaction_is_rolled_back_with_it() -> Result<()> {
        let (db, registry) = school().await?;
        let text = "[{\"model\": \"student\", \"pk\": 5, \"fields\": {\"name\": \"ada\"}}]";
        let tx = db.begin().await?;
        load(&tx, &registry, &[Fixture::new("t.json", text)]).await?;
        // A failed load in the same transaction leaves the first one in place.
        let bad = "[{\"model\": \"student\", \"pk\": 6, \"fields\": {}}]";
        assert!(
            load(&tx, &registry, &[Fixture::new("t.json", bad)])
                .await
                .is_err()
        );
        let inside = dump(&tx, &registry, &["student"]).await?;
        assert_eq!(inside.len(), 1);
        tx.rollback().await?;
        assert!(dump(&db, &registry, &["student"]).await?.is_empty());
        Ok(())
    }
}
