//! Owns fixtures: writing a database's rows as JSON in Django's layout ([`dump`], the
//! `dumpdata` command) and loading such files back ([`load`], `loaddata`), on the model
//! metadata of a [`Registry`] alone, with no user type.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
//! use throughline_engine::fixtures::{Fixture, dump, load};
//! # let (db, school) = throughline_engine::doc_support::seeded_school_db().await?;
//! # let copy = throughline_db::Database::connect("sqlite::memory:").await?;
//! # throughline_engine::create_tables(&copy, &school).await?;
//! // `db` holds the students ada, bob and cy of the registry `school`; `copy` has the
//! // same tables, empty.
//! // `manage dumpdata student`, then `manage loaddata` of its output.
//! let json = dump(&db, &school, &["student"]).await?.to_json(Some(2));
//! assert!(json.contains(r#""model": "student""#));
//! let report = load(&copy, &school, &[Fixture::new("students.json", json)]).await?;
//! assert_eq!(report.to_string(), "Installed 3 object(s) from 1 fixture(s)");
//! # Ok(()) }
//! ```
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
mod parse;
mod values;
mod write;

use json::Node;
use order::Edge;
use parse::{Locator, Planned, parse_fixture};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;
use throughline_core::{
    Error, FieldMeta, FixtureError, FixtureErrorKind as Kind, Key, ModelMeta, Registry, Result,
    Value,
};
use throughline_db::{Access, Executor, op};
use throughline_query::{FieldPath, OrderBy, Projection, SelectQuery};
use write::{Mode, Plan, Reference, run_plan};

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
    // The position in `external` of the references to `target`'s field `field` (its key,
    // or the unique field a `to_field` key refers to).
    let reference = |external: &mut Vec<Reference>,
                     target: &'static ModelMeta,
                     field: &'static FieldMeta|
     -> usize {
        match external
            .iter()
            .position(|r| std::ptr::eq(r.model, target) && r.field.name == field.name)
        {
            Some(at) => at,
            None => {
                external.push(Reference::new(target, field));
                external.len() - 1
            }
        }
    };
    // The objects by the value of a unique field that `to_field` keys refer to, per
    // (model, field), built when first needed.
    let mut by_field: HashMap<(&'static str, &'static str), HashMap<Key, usize>> = HashMap::new();
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
            let referred = fk.referenced(target);
            let found = if referred.primary_key {
                index.get(&(target.name.as_str(), Key::of(value))).copied()
            } else {
                let objects = by_field
                    .entry((target.name.as_str(), referred.name.as_str()))
                    .or_insert_with(|| {
                        let at = target.field_index(&referred.name).unwrap_or(0);
                        planned
                            .iter()
                            .enumerate()
                            .filter(|(_, o)| std::ptr::eq(o.meta, target))
                            .filter_map(|(i, o)| {
                                o.row
                                    .get(at)
                                    .filter(|v| !v.is_null())
                                    .map(|v| (Key::of(v), i))
                            })
                            .collect()
                    });
                objects.get(&Key::of(value)).copied()
            };
            match found {
                Some(to) => edges.push(Edge {
                    from,
                    field: field_index,
                    to,
                    nullable: field.nullable,
                }),
                None => {
                    let at = reference(&mut external, target, referred);
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
                    let at = reference(&mut external, links.target_model, links.target_model.pk());
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
