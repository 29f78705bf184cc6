//! The add and change pages: a form generated from the model's metadata, and for each
//! many-to-many relation the model declares, either a table of its through rows (every
//! extra field editable; rows added, changed and deleted in the same submit) or, for a
//! plain relation, a multi-select. One submit is one transaction: the object through
//! `engine::crud`, the links through the relation engine (hooks fire, outcomes are told
//! in words), the history entry; a validation error anywhere saves nothing and shows the
//! form again with the user's input and the error beside its field.

use super::{Crumb, base_context, capitalized, model_for, render, ser};
use crate::auth::{self, Action, CurrentUser, Permissions};
use crate::fields;
use crate::models::{AdminLog, LogAction};
use crate::site::{SiteRef, app_segment};
use crate::web::{self, Failure, FormData, Page};
use axum::Extension;
use axum::extract::{Path, State};
use serde::Serialize;
use std::collections::BTreeMap;
use throughline::engine::{self, OnExisting, Relation, read};
use throughline::prelude::*;
use throughline::{
    Error, FieldMeta, FieldPath, Filter, Lookup, ManyToManyMeta, ModelMeta, SelectQuery, Value,
};

/// How many empty rows an inline offers for new links.
const EXTRA_ROWS: usize = 3;
/// Past this many rows, a foreign key is typed as a key instead of chosen from a list.
const SELECT_LIMIT: u64 = 500;

#[derive(Serialize, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One field of the form, as the template shows it.
#[derive(Serialize, Clone)]
struct FormField {
    name: String,
    label: String,
    widget: &'static str,
    value: String,
    checked: bool,
    options: Vec<Choice>,
    max_length: Option<u32>,
    step: Option<String>,
    required: bool,
    help_text: String,
    errors: Vec<String>,
}

#[derive(Serialize)]
struct InlineRow {
    prefix: String,
    id: String,
    delete: bool,
    cells: Vec<FormField>,
    errors: bool,
}

#[derive(Serialize)]
struct InlineTable {
    prefix: String,
    title: String,
    /// Whether stored rows have a "Delete?" box (the through model's delete permission).
    deletable: bool,
    columns: Vec<String>,
    rows: Vec<InlineRow>,
    errors: Vec<String>,
}

#[derive(Serialize)]
struct Link {
    label: String,
    url: String,
}

/// `GET /{app}/{model}/add/`.
pub async fn add_form(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model)): Path<(String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::Add).await?;
    let row = initial_row(meta);
    let editor = Editor::new(&site, meta, None, permissions);
    let form = editor.fields_from_row(&row, true).await?;
    let inlines = editor.inlines_from_db(None).await?;
    editor.page(&current, form, inlines, Vec::new()).await
}

/// `GET /{app}/{model}/{key}/change/`.
pub async fn change_form(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model, key)): Path<(String, String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::View).await?;
    let (key, row) = load(&site, meta, &key).await?;
    let read_only = !permissions.allows(&meta.name, Action::Change);
    let mut editor = Editor::new(&site, meta, Some(key), permissions);
    editor.name = meta.display_string(&row);
    editor.read_only = read_only;
    let form = editor.fields_from_row(&row, false).await?;
    let inlines = editor.inlines_from_db(Some(&row)).await?;
    editor.page(&current, form, inlines, Vec::new()).await
}

/// `POST /{app}/{model}/add/`.
pub async fn add(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Extension(form): Extension<FormData>,
    Path((app, model)): Path<(String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::Add).await?;
    let editor = Editor::new(&site, meta, None, permissions);
    editor.submit(&current, &form, None).await
}

/// `POST /{app}/{model}/{key}/change/`.
pub async fn change(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Extension(form): Extension<FormData>,
    Path((app, model, key)): Path<(String, String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::Change).await?;
    let (key, row) = load(&site, meta, &key).await?;
    let mut editor = Editor::new(&site, meta, Some(key), permissions);
    editor.name = meta.display_string(&row);
    editor.submit(&current, &form, Some(row)).await
}

/// The row of `meta` whose key is the URL segment `key`: 404 when it is not a key of
/// the model's type or no row has it.
pub async fn load(
    site: &SiteRef,
    meta: &'static ModelMeta,
    key: &str,
) -> Result<(Value, Vec<Value>), Failure> {
    let not_found = || Failure::not_found(format!("No {} with the key {key}.", meta.verbose_name));
    let key = fields::parse_key(meta.pk(), key).ok_or_else(not_found)?;
    let mut query = SelectQuery::new(meta);
    query.filter(Filter::cond(
        FieldPath::local(&meta.pk().name),
        Lookup::Exact(key.clone()),
    ));
    query.limit = Some(1);
    let row = read::select(&site.db, query)
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    Ok((key, row))
}

/// The values a new row's form starts with: each field's default, else NULL (empty).
fn initial_row(meta: &ModelMeta) -> Vec<Value> {
    let now = throughline::value::now();
    meta.fields
        .iter()
        .map(|f| f.new_row_default(now).unwrap_or(Value::Null))
        .collect()
}

/// An inline's relation: the relation engine's view from this model, and the through
/// model's fields the inline edits (every field but the key and the two link keys).
struct InlineSpec {
    declaration: &'static ManyToManyMeta,
    relation: Relation,
    extra: Vec<&'static FieldMeta>,
    prefix: String,
}

/// A model's rows as a select offers them: (key text, display string).
type Related = Vec<(String, String)>;

/// One submitted inline row, parsed.
struct SubmittedRow {
    /// The through row's key (none for a new row).
    id: Option<Value>,
    delete: bool,
    target: Value,
    extra: Vec<(&'static str, Value)>,
    cells: Vec<FormField>,
    errors: bool,
}

/// The page of one model's object (new when `key` is `None`).
struct Editor<'s> {
    site: &'s SiteRef,
    meta: &'static ModelMeta,
    key: Option<Value>,
    /// The object's display string (for a change page).
    name: String,
    /// What the user may do (an inline's rows need the through model's permissions).
    permissions: Permissions,
    read_only: bool,
    /// The rows a foreign key's select offers, by target model, read once per request
    /// (`None`: too many rows, the key is typed), so that an inline's rows do not each
    /// read them.
    related: std::sync::Mutex<BTreeMap<String, Option<Related>>>,
}

impl<'s> Editor<'s> {
    fn new(
        site: &'s SiteRef,
        meta: &'static ModelMeta,
        key: Option<Value>,
        permissions: Permissions,
    ) -> Self {
        Editor {
            site,
            meta,
            key,
            permissions,
            name: String::new(),
            read_only: false,
            related: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The fields shown, in order: every field but an automatic key.
    fn shown(&self) -> impl Iterator<Item = &'static FieldMeta> {
        let adding = self.key.is_none();
        self.meta
            .fields
            .iter()
            .filter(move |f| !(f.primary_key && (f.is_auto() || adding && !fields::is_edited(f))))
    }

    /// Whether the form edits `field` (a key is edited only when adding).
    fn edits(&self, field: &FieldMeta) -> bool {
        if self.read_only || !fields::is_edited(field) {
            return false;
        }
        if self.meta.fields.iter().any(|f| std::ptr::eq(f, field)) {
            return !(field.primary_key && self.key.is_some());
        }
        // A field of an inline's through model: editable with its add or change permission.
        self.site
            .registry
            .models()
            .iter()
            .find(|m| m.fields.iter().any(|f| std::ptr::eq(f, field)))
            .is_none_or(|m| self.may(m, Action::Change) || self.may(m, Action::Add))
    }

    /// Whether the user may `action` on `model`.
    fn may(&self, model: &ModelMeta, action: Action) -> bool {
        self.permissions.allows(&model.name, action)
    }

    /// The form's fields with the values of `row`.
    async fn fields_from_row(
        &self,
        row: &[Value],
        adding: bool,
    ) -> Result<Vec<FormField>, Failure> {
        let mut out = Vec::new();
        for field in self.shown() {
            let index = self.meta.field_index(&field.name).unwrap_or(0);
            let value = &row[index];
            let text = if adding && value.is_null() {
                String::new()
            } else {
                fields::form_text(field, value)
            };
            out.push(
                self.form_field(field, &field.name, text, value, Vec::new())
                    .await?,
            );
        }
        for spec in self.multi_specs()? {
            let linked = match &self.key {
                Some(key) => {
                    let through = spec.relation.through;
                    let index = through.field_index(spec.relation.target_field).unwrap_or(0);
                    self.through_rows(&spec, key)
                        .await?
                        .iter()
                        .map(|row| row[index].display())
                        .collect()
                }
                None => Vec::new(),
            };
            out.push(self.multi_field(&spec, &linked, Vec::new()).await?);
        }
        Ok(out)
    }

    /// A plain many-to-many relation's multi-select, with `selected` (key texts) chosen.
    async fn multi_field(
        &self,
        spec: &InlineSpec,
        selected: &[String],
        errors: Vec<String>,
    ) -> Result<FormField, Failure> {
        // Past SELECT_LIMIT targets, the keys are typed, separated by commas (an empty
        // multi-select would unlink everything on save).
        let related = self
            .related_rows(spec.relation.target, spec.relation.target_referred())
            .await?;
        let typed = related.is_none();
        let options = related
            .unwrap_or_default()
            .into_iter()
            .map(|(value, label)| Choice {
                selected: selected.contains(&value),
                value,
                label,
            })
            .collect();
        let widget = match (self.read_only, typed) {
            (true, _) => "readonly",
            (false, true) => "text",
            (false, false) => "multiselect",
        };
        Ok(FormField {
            name: spec.prefix.clone(),
            label: capitalized(&spec.declaration.name.replace('_', " ")),
            widget,
            value: selected.join(", "),
            checked: false,
            options,
            max_length: None,
            step: None,
            required: false,
            help_text: String::new(),
            errors,
        })
    }

    /// The keys a multi-select sent, checked: each a key of an existing target row.
    async fn parse_multi(
        &self,
        spec: &InlineSpec,
        form: &FormData,
    ) -> Result<(Vec<Value>, Vec<String>), Failure> {
        let target = spec.relation.target;
        let referred = spec.relation.target_referred();
        let typed = self.related_rows(target, referred).await?.is_none();
        let sent: Vec<&str> = if typed {
            form.all(&spec.prefix)
                .iter()
                .flat_map(|text| text.split(','))
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .collect()
        } else {
            form.all(&spec.prefix)
        };
        let mut keys = Vec::new();
        for text in &sent {
            match fields::parse_key(referred, text) {
                Some(key) if !keys.contains(&key) => keys.push(key),
                Some(_) => {}
                None => {
                    return Ok((
                        Vec::new(),
                        vec![format!(
                            "Select a valid choice. {text} is not one of the available choices."
                        )],
                    ));
                }
            }
        }
        if !keys.is_empty() {
            let mut query = SelectQuery::new(target);
            query.filter(Filter::cond(
                FieldPath::local(&referred.name),
                Lookup::In(keys.clone()),
            ));
            if read::count(&self.site.db, query).await? != keys.len() as u64 {
                return Ok((
                    Vec::new(),
                    vec!["Select a valid choice. One of the choices is not available.".into()],
                ));
            }
        }
        Ok((keys, Vec::new()))
    }

    /// A field of the form as the template shows it.
    async fn form_field(
        &self,
        field: &'static FieldMeta,
        name: &str,
        text: String,
        value: &Value,
        errors: Vec<String>,
    ) -> Result<FormField, Failure> {
        let edited = self.edits(field);
        let mut widget = if edited {
            fields::widget(field)
        } else {
            "readonly"
        };
        let mut options = Vec::new();
        if widget == "select" {
            options = self.options(field, &text).await?;
            if options.is_empty() && field.foreign_key.is_some() {
                widget = "text";
            }
        }
        let shown = if widget == "readonly" {
            self.readonly_text(field, value).await?
        } else {
            text
        };
        Ok(FormField {
            name: name.to_owned(),
            label: capitalized(&field.verbose_name),
            widget,
            checked: matches!(value, Value::Bool(true)),
            value: shown,
            options,
            max_length: match field.ty {
                throughline::FieldType::String { max_length } => max_length,
                _ => None,
            },
            step: step(field.ty),
            required: edited
                && !field.nullable
                && !field.blank
                && field.ty != throughline::FieldType::Bool,
            help_text: field.help_text.clone(),
            errors,
        })
    }

    /// What a read-only field shows: a foreign key's related display string, a choice's
    /// label, the value.
    async fn readonly_text(&self, field: &FieldMeta, value: &Value) -> Result<String, Failure> {
        if let (Some(fk), false) = (&field.foreign_key, value.is_null())
            && let Some(target) = self.site.registry.get(&fk.to)
        {
            let mut query = SelectQuery::new(target);
            query.filter(Filter::cond(
                FieldPath::local(&fk.referenced(target).name),
                Lookup::Exact(value.clone()),
            ));
            if let Some(row) = read::select(&self.site.db, query).await?.first() {
                return Ok(target.display_string(row));
            }
        }
        Ok(fields::list_text(field, value))
    }

    /// The choices of a select: a choices field's labels, or the related rows of a
    /// foreign key (none past [`SELECT_LIMIT`] rows: the key is typed instead).
    async fn options(&self, field: &FieldMeta, selected: &str) -> Result<Vec<Choice>, Failure> {
        let mut options = Vec::new();
        if field.nullable || field.blank || selected.is_empty() {
            options.push(Choice {
                value: String::new(),
                label: "---------".into(),
                selected: selected.is_empty(),
            });
        }
        if !field.choices.is_empty() {
            options.extend(field.choices.iter().map(|c| Choice {
                selected: c.value == selected,
                value: c.value.clone(),
                label: c.label.clone(),
            }));
            return Ok(options);
        }
        let Some((fk, target)) = field
            .foreign_key
            .as_ref()
            .and_then(|fk| Some((fk, self.site.registry.get(&fk.to)?)))
        else {
            return Ok(Vec::new());
        };
        let Some(rows) = self.related_rows(target, fk.referenced(target)).await? else {
            return Ok(Vec::new());
        };
        options.extend(rows.into_iter().map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        }));
        Ok(options)
    }

    /// The (key, display string) pairs of `target`'s rows, or `None` past
    /// [`SELECT_LIMIT`] rows; read once per request.
    async fn related_rows(
        &self,
        target: &'static ModelMeta,
        referred: &FieldMeta,
    ) -> Result<Option<Related>, Failure> {
        let cache_key = format!("{}.{}", target.name, referred.name);
        if let Some(rows) = self
            .related
            .lock()
            .ok()
            .and_then(|cache| cache.get(&cache_key).cloned())
        {
            return Ok(rows);
        }
        let mut query = SelectQuery::new(target);
        query.limit = Some(SELECT_LIMIT + 1);
        let pk_index = target.field_index(&referred.name).unwrap_or(0);
        let rows = read::select(&self.site.db, query).await?;
        let pairs = (rows.len() as u64 <= SELECT_LIMIT).then(|| {
            rows.iter()
                .map(|row| (row[pk_index].display(), target.display_string(row)))
                .collect::<Vec<_>>()
        });
        if let Ok(mut cache) = self.related.lock() {
            cache.insert(cache_key, pairs.clone());
        }
        Ok(pairs)
    }

    /// The inlines of the model: one per many-to-many relation it declares through a
    /// model of its own.
    fn inline_specs(&self) -> Result<Vec<InlineSpec>, Failure> {
        self.relation_specs(false)
    }

    /// The plain many-to-many relations of the model (no through model of its own),
    /// edited as multi-selects.
    fn multi_specs(&self) -> Result<Vec<InlineSpec>, Failure> {
        self.relation_specs(true)
    }

    /// The relations the model declares, with or without a through model of their own.
    fn relation_specs(&self, plain: bool) -> Result<Vec<InlineSpec>, Failure> {
        let mut specs = Vec::new();
        for declaration in self
            .meta
            .many_to_many
            .iter()
            .filter(|d| d.auto_created == plain)
        {
            let relation = Relation::find(&self.site.registry, &self.meta.name, &declaration.name)?;
            if !plain && !self.may(relation.through, Action::View) {
                // An inline of a through model the user may not see is not shown.
                continue;
            }
            let extra = relation
                .through
                .fields
                .iter()
                .filter(|f| {
                    !f.primary_key
                        && f.name != relation.source_field
                        && f.name != relation.target_field
                })
                .collect();
            specs.push(InlineSpec {
                declaration,
                extra,
                prefix: declaration.name.clone(),
                relation,
            });
        }
        Ok(specs)
    }

    /// The inlines with the stored through rows (and empty rows for new links).
    async fn inlines_from_db(&self, _row: Option<&[Value]>) -> Result<Vec<InlineTable>, Failure> {
        let mut tables = Vec::new();
        for spec in self.inline_specs()? {
            let stored = match &self.key {
                Some(key) => self.through_rows(&spec, key).await?,
                None => Vec::new(),
            };
            let through = spec.relation.through;
            let target_index = through.field_index(spec.relation.target_field).unwrap_or(0);
            let pk_index = through.field_index(&through.pk().name).unwrap_or(0);
            let mut rows = Vec::new();
            for (i, stored_row) in stored.iter().enumerate() {
                let cells = self
                    .inline_cells(&spec, &stored_row[target_index], |f| {
                        let index = through.field_index(&f.name).unwrap_or(0);
                        stored_row[index].clone()
                    })
                    .await?;
                rows.push(InlineRow {
                    prefix: format!("{}-{i}", spec.prefix),
                    id: stored_row[pk_index].display(),
                    delete: false,
                    cells,
                    errors: false,
                });
            }
            let defaults = initial_row(through);
            let extra_rows = if self.may(through, Action::Add) && !self.read_only {
                EXTRA_ROWS
            } else {
                0
            };
            for i in stored.len()..stored.len() + extra_rows {
                let cells = self
                    .inline_cells(&spec, &Value::Null, |f| {
                        let index = through.field_index(&f.name).unwrap_or(0);
                        if fields::is_edited(f) {
                            defaults[index].clone()
                        } else {
                            Value::Null
                        }
                    })
                    .await?;
                rows.push(InlineRow {
                    prefix: format!("{}-{i}", spec.prefix),
                    id: String::new(),
                    delete: false,
                    cells,
                    errors: false,
                });
            }
            tables.push(self.inline_table(&spec, rows, Vec::new()));
        }
        Ok(tables)
    }

    fn inline_table(
        &self,
        spec: &InlineSpec,
        rows: Vec<InlineRow>,
        errors: Vec<String>,
    ) -> InlineTable {
        let through = spec.relation.through;
        let mut columns = vec![capitalized(&spec.relation.target.verbose_name)];
        columns.extend(spec.extra.iter().map(|f| capitalized(&f.verbose_name)));
        InlineTable {
            prefix: spec.prefix.clone(),
            deletable: !self.read_only && self.may(through, Action::Delete),
            title: if spec.declaration.auto_created {
                capitalized(&spec.relation.target.verbose_name_plural)
            } else {
                capitalized(&through.verbose_name_plural)
            },
            columns,
            rows,
            errors,
        }
    }

    /// The cells of one inline row: the target, then each extra field.
    async fn inline_cells(
        &self,
        spec: &InlineSpec,
        target: &Value,
        value_of: impl Fn(&FieldMeta) -> Value,
    ) -> Result<Vec<FormField>, Failure> {
        let through = spec.relation.through;
        let target_field = through
            .field(spec.relation.target_field)
            .ok_or_else(|| Failure::not_found("The relation's through model has no target key."))?;
        let mut cells = vec![
            self.form_field(
                target_field,
                "target",
                fields::form_text(target_field, target),
                target,
                Vec::new(),
            )
            .await?,
        ];
        for field in &spec.extra {
            let value = value_of(field);
            cells.push(
                self.form_field(
                    field,
                    &field.name,
                    fields::form_text(field, &value),
                    &value,
                    Vec::new(),
                )
                .await?,
            );
        }
        Ok(cells)
    }

    /// The through rows linking the object, in key order.
    async fn through_rows(
        &self,
        spec: &InlineSpec,
        key: &Value,
    ) -> Result<Vec<Vec<Value>>, Failure> {
        let through = spec.relation.through;
        let mut query = SelectQuery::new(through);
        let source = spec.relation.source;
        // A key to a unique field (`to_field`) holds that field: the source's rows are
        // found by its key across the relation.
        let path = if spec.relation.source_referred().primary_key {
            FieldPath::local(spec.relation.source_field)
        } else {
            FieldPath {
                hops: vec![throughline::Hop::forward(
                    through,
                    spec.relation.source_field,
                    source,
                )?],
                field: source.pk().name.clone(),
            }
        };
        query.filter(Filter::cond(path, Lookup::Exact(key.clone())));
        query
            .order_by
            .push(throughline::OrderBy::asc(FieldPath::local(
                &through.pk().name,
            )));
        Ok(read::select(&self.site.db, query).await?)
    }

    /// Renders the page.
    async fn page(
        &self,
        current: &CurrentUser,
        form: Vec<FormField>,
        inlines: Vec<InlineTable>,
        form_errors: Vec<String>,
    ) -> Page {
        let meta = self.meta;
        let errors_count = form.iter().filter(|f| !f.errors.is_empty()).count()
            + inlines
                .iter()
                .map(|t| t.rows.iter().filter(|r| r.errors).count() + t.errors.len())
                .sum::<usize>()
            + form_errors.len();
        let (heading, object_links, delete_url, object_crumb) = match &self.key {
            None => (
                format!("Add {}", meta.verbose_name),
                Vec::new(),
                None,
                format!("Add {}", meta.verbose_name),
            ),
            Some(key) => {
                let key_text = key.display();
                let links = vec![Link {
                    label: "History".into(),
                    url: self.site.object_url(meta, &key_text, "history"),
                }];
                let permissions = auth::permissions(&self.site.db, &current.user).await?;
                let delete = permissions
                    .allows(&meta.name, Action::Delete)
                    .then(|| self.site.object_url(meta, &key_text, "delete"));
                let verb = if self.read_only { "View" } else { "Change" };
                (
                    format!("{verb} {}", meta.verbose_name),
                    links,
                    delete,
                    self.name.clone(),
                )
            }
        };
        let base = base_context(self.site, current).await?;
        render(
            self.site,
            "change_form.html",
            base,
            minijinja::context! {
                heading => heading,
                object_links => ser(&object_links),
                delete_url => delete_url,
                fields => ser(&form),
                inlines => ser(&inlines),
                form_errors => form_errors,
                errors_count => errors_count,
                read_only => self.read_only,
                breadcrumbs => ser(&[
                    Crumb { label: capitalized(&app_segment(meta)), url: None },
                    Crumb { label: capitalized(&meta.verbose_name_plural), url: Some(self.site.changelist_url(meta)) },
                    Crumb { label: object_crumb, url: None },
                ]),
            },
        )
    }

    /// Handles a submit: parse and check everything, then write it all in one
    /// transaction, or show the form again with the errors and write nothing.
    async fn submit(
        &self,
        current: &CurrentUser,
        form: &FormData,
        stored: Option<Vec<Value>>,
    ) -> Page {
        let meta = self.meta;
        let specs = self.inline_specs()?;
        let multis = self.multi_specs()?;
        check_names(meta, form, &specs, &multis)?;
        let adding = stored.is_none();
        let mut row = match &stored {
            Some(row) => row.clone(),
            None => initial_row(meta),
        };
        let mut given: Vec<(&'static str, Value)> = Vec::new();
        let mut shown = Vec::new();
        let mut invalid = false;
        for field in self.shown() {
            let index = meta.field_index(&field.name).unwrap_or(0);
            if !self.edits(field) {
                shown.push(
                    self.form_field(field, &field.name, String::new(), &row[index], Vec::new())
                        .await?,
                );
                continue;
            }
            let sent = form.get(&field.name);
            let mut errors = Vec::new();
            let before = stored.as_ref().map(|row| &row[index]);
            match fields::parse_keeping(field, sent, before) {
                Ok(value) => {
                    if let Some(message) = self.check_reference(field, &value).await? {
                        errors.push(message);
                    } else {
                        row[index] = value.clone();
                        given.push((field.name.as_str(), value));
                    }
                }
                Err(message) => errors.push(message),
            }
            invalid |= !errors.is_empty();
            let text = sent.unwrap_or("").to_owned();
            let shown_value = if field.ty == throughline::FieldType::Bool {
                Value::Bool(sent.is_some())
            } else {
                row[index].clone()
            };
            shown.push(
                self.form_field(field, &field.name, text, &shown_value, errors)
                    .await?,
            );
        }

        // The multi-selects of plain relations, then the inlines, parsed.
        let mut chosen: Vec<Vec<Value>> = Vec::new();
        for spec in &multis {
            let (keys, errors) = if self.read_only {
                (Vec::new(), Vec::new())
            } else {
                self.parse_multi(spec, form).await?
            };
            invalid |= !errors.is_empty();
            let texts: Vec<String> = form
                .all(&spec.prefix)
                .iter()
                .map(|t| (*t).to_owned())
                .collect();
            shown.push(self.multi_field(spec, &texts, errors).await?);
            chosen.push(keys);
        }
        let mut submitted: Vec<Vec<SubmittedRow>> = Vec::new();
        for spec in &specs {
            let existing = match &self.key {
                Some(key) => self.through_rows(spec, key).await?,
                None => Vec::new(),
            };
            let rows = self.parse_inline(spec, form, &existing).await?;
            invalid |= rows.iter().any(|r| r.errors);
            submitted.push(rows);
        }

        let mut form_errors = Vec::new();
        if !invalid {
            match self
                .write(
                    current,
                    &row,
                    &given,
                    adding,
                    &specs,
                    &submitted,
                    &multis.iter().zip(chosen).collect::<Vec<_>>(),
                    stored.as_deref(),
                )
                .await
            {
                Ok(Saved { key, words }) => {
                    let name = meta.display_string(&key.1);
                    let verb = if adding { "added" } else { "changed" };
                    let mut message = format!(
                        "The {} “{name}” was {verb} successfully.",
                        meta.verbose_name
                    );
                    if !words.is_empty() {
                        message.push(' ');
                        message.push_str(&words);
                    }
                    auth::set_flash(&self.site.db, &current.session, &message).await?;
                    let location = if form.get("_continue").is_some() {
                        self.site.object_url(meta, &key.0.display(), "change")
                    } else {
                        self.site.changelist_url(meta)
                    };
                    return Ok(web::redirect(&location));
                }
                Err(Refused::Field(name, message)) => {
                    if let Some(field) = shown.iter_mut().find(|f| f.name == name) {
                        field.errors.push(message);
                    } else {
                        form_errors.push(message);
                    }
                }
                Err(Refused::Form(message)) => form_errors.push(message),
                Err(Refused::Forbidden(message)) => return Err(Failure::forbidden(message)),
                Err(Refused::Failed(failure)) => return Err(failure),
            }
        }
        let inlines = specs
            .iter()
            .zip(submitted)
            .map(|(spec, rows)| {
                let rows = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| InlineRow {
                        prefix: format!("{}-{i}", spec.prefix),
                        id: r.id.as_ref().map(Value::display).unwrap_or_default(),
                        delete: r.delete,
                        cells: r.cells,
                        errors: r.errors,
                    })
                    .collect();
                self.inline_table(spec, rows, Vec::new())
            })
            .collect();
        self.page(current, shown, inlines, form_errors).await
    }

    /// An error message when `value` is a foreign key to no row of its model.
    async fn check_reference(
        &self,
        field: &FieldMeta,
        value: &Value,
    ) -> Result<Option<String>, Failure> {
        let Some(fk) = &field.foreign_key else {
            return Ok(None);
        };
        if value.is_null() {
            return Ok(None);
        }
        let Some(target) = self.site.registry.get(&fk.to) else {
            return Ok(None);
        };
        let mut query = SelectQuery::new(target);
        query.filter(Filter::cond(
            FieldPath::local(&fk.referenced(target).name),
            Lookup::Exact(value.clone()),
        ));
        Ok((read::count(&self.site.db, query).await? == 0).then(|| {
            "Select a valid choice. That choice is not one of the available choices.".to_owned()
        }))
    }

    /// Parses one inline's rows: `{prefix}-TOTAL` rows of `{prefix}-{i}-id`,
    /// `-target`, the extra fields and `-DELETE`. A row id that is not one of this
    /// object's through rows is 400.
    async fn parse_inline(
        &self,
        spec: &InlineSpec,
        form: &FormData,
        existing: &[Vec<Value>],
    ) -> Result<Vec<SubmittedRow>, Failure> {
        let through = spec.relation.through;
        let total: usize = match form.get(&format!("{}-TOTAL", spec.prefix)) {
            None => return Ok(Vec::new()),
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| Failure::bad_request("The inline's row count is not valid."))?,
        };
        let pk = through.pk();
        let pk_index = through.field_index(&pk.name).unwrap_or(0);
        let target_field = through
            .field(spec.relation.target_field)
            .ok_or_else(|| Failure::not_found("The relation has no target key."))?;
        let defaults = initial_row(through);
        let mut rows = Vec::new();
        for i in 0..total {
            let name = |field: &str| format!("{}-{i}-{field}", spec.prefix);
            let id_text = form.get(&name("id")).unwrap_or("");
            let id = if id_text.is_empty() {
                None
            } else {
                let id = fields::parse_key(pk, id_text)
                    .filter(|id| existing.iter().any(|row| row[pk_index] == *id))
                    .ok_or_else(|| {
                        Failure::bad_request(format!(
                            "Row {i} of {} is not a link of this object.",
                            spec.prefix
                        ))
                    })?;
                Some(id)
            };
            let delete = form.get(&name("DELETE")).is_some();
            let target_text = form.get(&name("target")).unwrap_or("").trim();
            let extra_texts: Vec<Option<&str>> = spec
                .extra
                .iter()
                .map(|f| form.get(&name(&f.name)))
                .collect();
            // A new row left as the page offered it (no target, the other fields empty
            // or at their defaults) is not a row.
            let blank = id.is_none()
                && target_text.is_empty()
                && spec.extra.iter().zip(&extra_texts).all(|(f, sent)| {
                    let default = defaults.get(through.field_index(&f.name).unwrap_or(0));
                    if !fields::is_edited(f)
                        || matches!(f.default, throughline::DefaultValue::Func(_))
                    {
                        // Not typed by the user (a default computed per row, such as a
                        // UUID, differs at every request).
                        return true;
                    }
                    if f.ty == throughline::FieldType::Bool {
                        return sent.is_some() == matches!(default, Some(Value::Bool(true)));
                    }
                    let sent = sent.unwrap_or("").trim();
                    sent.is_empty() || default.is_some_and(|d| fields::form_text(f, d) == sent)
                });
            if blank {
                continue;
            }
            let mut errors_any = false;
            let mut cells = Vec::new();
            let mut target_errors = Vec::new();
            let target = if delete {
                existing
                    .iter()
                    .find(|row| Some(&row[pk_index]) == id.as_ref())
                    .and_then(|row| {
                        through
                            .field_index(spec.relation.target_field)
                            .map(|index| row[index].clone())
                    })
                    .unwrap_or(Value::Null)
            } else {
                match fields::parse_key(target_field, target_text) {
                    Some(key) => match self.check_reference(target_field, &key).await? {
                        Some(message) => {
                            target_errors.push(message);
                            Value::Null
                        }
                        None => key,
                    },
                    None => {
                        target_errors.push(if target_text.is_empty() {
                            "This field is required.".to_owned()
                        } else {
                            "Select a valid choice. That choice is not one of the available choices.".to_owned()
                        });
                        Value::Null
                    }
                }
            };
            errors_any |= !target_errors.is_empty();
            cells.push(
                self.form_field(
                    target_field,
                    "target",
                    target_text.to_owned(),
                    &target,
                    target_errors,
                )
                .await?,
            );
            let mut extra = Vec::new();
            for (field, sent) in spec.extra.iter().zip(&extra_texts) {
                if !fields::is_edited(field) {
                    let stored = existing
                        .iter()
                        .find(|row| Some(&row[pk_index]) == id.as_ref())
                        .and_then(|row| {
                            through
                                .field_index(&field.name)
                                .map(|index| row[index].clone())
                        })
                        .unwrap_or(Value::Null);
                    cells.push(
                        self.form_field(field, &field.name, String::new(), &stored, Vec::new())
                            .await?,
                    );
                    continue;
                }
                let mut errors = Vec::new();
                let before = existing
                    .iter()
                    .find(|row| Some(&row[pk_index]) == id.as_ref())
                    .and_then(|row| through.field_index(&field.name).map(|index| &row[index]));
                let parsed = if delete {
                    Ok(Value::Null)
                } else {
                    fields::parse_keeping(field, *sent, before)
                };
                let value = match parsed {
                    Ok(value) => {
                        if let Some(message) = self.check_reference(field, &value).await? {
                            errors.push(message);
                        }
                        value
                    }
                    Err(message) => {
                        errors.push(message);
                        Value::Null
                    }
                };
                errors_any |= !errors.is_empty();
                let shown = if field.ty == throughline::FieldType::Bool {
                    Value::Bool(sent.is_some())
                } else {
                    value.clone()
                };
                cells.push(
                    self.form_field(
                        field,
                        &field.name,
                        sent.unwrap_or("").to_owned(),
                        &shown,
                        errors,
                    )
                    .await?,
                );
                extra.push((field.name.as_str(), value));
            }
            rows.push(SubmittedRow {
                id,
                delete,
                target,
                extra,
                cells,
                errors: errors_any && !delete,
            });
        }
        Ok(rows)
    }

    /// Writes the object, its links and the history entry in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        current: &CurrentUser,
        row: &[Value],
        given: &[(&'static str, Value)],
        adding: bool,
        specs: &[InlineSpec],
        submitted: &[Vec<SubmittedRow>],
        multis: &[(&InlineSpec, Vec<Value>)],
        stored: Option<&[Value]>,
    ) -> Result<Saved, Refused> {
        let meta = self.meta;
        let tx = self.site.db.begin().await.map_err(Refused::from_error)?;
        let written = if adding {
            engine::crud::create(&tx, meta, given).await
        } else {
            let mut row = row.to_vec();
            engine::defaults::touch(meta, &mut row, false);
            engine::crud::save(&tx, meta, row.clone())
                .await
                .map(|_| row)
        }
        .map_err(|e| Refused::from_write(meta, e))?;
        let pk_index = meta.field_index(&meta.pk().name).unwrap_or(0);
        let key = written[pk_index].clone();
        let mut words = Vec::new();
        // The value each relation links this row by: its key, or a `to_field`'s value.
        let link_of = |spec: &InlineSpec| {
            let referred = spec.relation.source_referred();
            meta.field_index(&referred.name)
                .and_then(|i| written.get(i))
                .cloned()
                .unwrap_or_else(|| key.clone())
        };
        // A row whose referred value (`to_field`) is NULL has no links and can get none
        // (as Django refuses); with nothing asked of the relation it is left alone.
        let unlinkable = |spec: &InlineSpec| {
            let referred = spec.relation.source_referred();
            Refused::from_write(
                meta,
                engine::null_reference(meta, referred, spec.relation.name),
            )
        };
        for (spec, keys) in multis {
            let link = link_of(spec);
            if link.is_null() {
                if keys.is_empty() {
                    continue;
                }
                return Err(unlinkable(spec));
            }
            let told = set_links(&tx, spec, &link, keys.clone()).await?;
            if !told.is_empty() {
                words.push(told);
            }
        }
        for (spec, rows) in specs.iter().zip(submitted) {
            let link = link_of(spec);
            if link.is_null() {
                if rows.is_empty() {
                    continue;
                }
                return Err(unlinkable(spec));
            }
            let told = self.write_links(&tx, spec, &link, rows).await?;
            if !told.is_empty() {
                words.push(told);
            }
        }
        let changed: Vec<String> = match stored {
            None => Vec::new(),
            Some(before) => meta
                .fields
                .iter()
                .zip(before.iter().zip(&written))
                .filter(|(f, (a, b))| fields::is_edited(f) && a != b)
                .map(|(f, _)| f.verbose_name.clone())
                .collect(),
        };
        let mut message = if adding {
            "Added.".to_owned()
        } else if changed.is_empty() {
            "No fields changed.".to_owned()
        } else {
            format!("Changed {}.", join_words(&changed))
        };
        for told in &words {
            message.push(' ');
            message.push_str(told);
        }
        AdminLog {
            id: None,
            user: ForeignKey::to(&current.user),
            action_time: chrono::Utc::now(),
            model: meta.name.clone(),
            object_key: truncate(&key.display(), 200),
            object_repr: truncate(&meta.display_string(&written), 200),
            action: if adding {
                LogAction::Add
            } else {
                LogAction::Change
            },
            message,
        }
        .create(&tx)
        .await
        .map_err(Refused::from_error)?;
        tx.commit().await.map_err(Refused::from_error)?;
        Ok(Saved {
            key: (key, written),
            words: words.join(" "),
        })
    }

    /// Applies one inline's rows through the relation engine and tells what happened.
    async fn write_links(
        &self,
        tx: &throughline::Transaction<'_>,
        spec: &InlineSpec,
        key: &Value,
        rows: &[SubmittedRow],
    ) -> Result<String, Refused> {
        let relation = &spec.relation;
        let through = relation.through;
        let linking = relation.from(key.clone()).on_existing(OnExisting::Skip);
        let target = relation.target;
        let name_of = |key: &Value, names: &BTreeMap<String, String>| {
            names
                .get(&key.display())
                .cloned()
                .unwrap_or_else(|| key.display())
        };
        let names = target_names(tx, target, relation.target_referred(), rows)
            .await
            .map_err(Refused::Failed)?;
        let mut removed = 0usize;
        let mut changed = 0usize;
        let mut new_items = Vec::new();
        let pk_name = &through.pk().name;
        let refuse = |action: Action| {
            Refused::Forbidden(format!(
                "You may not {} {}.",
                action.name(),
                through.verbose_name_plural
            ))
        };
        for row in rows {
            match (&row.id, row.delete) {
                (Some(id), true) => {
                    if !self.may(through, Action::Delete) {
                        return Err(refuse(Action::Delete));
                    }
                    let pk_filter =
                        Filter::cond(FieldPath::local(pk_name), Lookup::Exact(id.clone()));
                    removed += linking
                        .remove_where(
                            row.target.clone(),
                            pk_filter,
                            engine::row_values(through),
                            tx,
                        )
                        .await
                        .map_err(|e| Refused::from_write(through, e))?
                        .len();
                }
                (None, true) => {}
                (Some(id), false) => {
                    // An existing link: a new target is a remove and an add; new values
                    // are a save of the through row.
                    let mut query = SelectQuery::new(through);
                    query.filter(Filter::cond(
                        FieldPath::local(pk_name),
                        Lookup::Exact(id.clone()),
                    ));
                    let Some(stored) = read::select(tx, query)
                        .await
                        .map_err(Refused::from_error)?
                        .into_iter()
                        .next()
                    else {
                        continue;
                    };
                    let target_index = through.field_index(relation.target_field).unwrap_or(0);
                    let mut updated = stored.clone();
                    for (name, value) in &row.extra {
                        if let Some(index) = through.field_index(name) {
                            updated[index] = value.clone();
                        }
                    }
                    let is_change = stored[target_index] != row.target || updated != stored;
                    if is_change && !self.may(through, Action::Change) {
                        return Err(refuse(Action::Change));
                    }
                    if stored[target_index] != row.target {
                        let pk_filter =
                            Filter::cond(FieldPath::local(pk_name), Lookup::Exact(id.clone()));
                        removed += linking
                            .remove_where(
                                stored[target_index].clone(),
                                pk_filter,
                                engine::row_values(through),
                                tx,
                            )
                            .await
                            .map_err(|e| Refused::from_write(through, e))?
                            .len();
                        new_items.push((row.target.clone(), row.extra.clone()));
                        continue;
                    }
                    if updated != stored {
                        engine::defaults::touch(through, &mut updated, false);
                        engine::crud::save(tx, through, updated)
                            .await
                            .map_err(|e| Refused::from_write(through, e))?;
                        changed += 1;
                    }
                }
                (None, false) => {
                    if !self.may(through, Action::Add) {
                        return Err(refuse(Action::Add));
                    }
                    new_items.push((row.target.clone(), row.extra.clone()));
                }
            }
        }
        let mut words = Vec::new();
        if !new_items.is_empty() {
            if relation_has_link_key(relation) {
                let items = new_items
                    .into_iter()
                    .map(|(target, extra)| relation.values(extra).map(|values| (target, values)))
                    .collect::<Result<Vec<_>, Error>>()
                    .map_err(Refused::from_error)?;
                let outcome = linking
                    .add(items, tx)
                    .await
                    .map_err(|e| Refused::from_write(through, e))?;
                if !outcome.linked.is_empty() {
                    words.push(format!("{} linked", outcome.linked.len()));
                }
                for existing in &outcome.already_linked {
                    let differing = outcome.differing.iter().find(|d| &d.target == existing);
                    match differing {
                        Some(d) => {
                            let diffs: Vec<String> = d
                                .fields
                                .iter()
                                .map(|f| {
                                    let label = through
                                        .field(&f.field)
                                        .map(|m| m.verbose_name.clone())
                                        .unwrap_or_else(|| f.field.clone());
                                    format!(
                                        "{label} differs: stored {}, given {}",
                                        f.stored.display(),
                                        f.given.display()
                                    )
                                })
                                .collect();
                            words.push(format!(
                                "{} already linked, {} — kept",
                                name_of(existing, &names),
                                diffs.join(", ")
                            ));
                        }
                        None => words.push(format!("{} already linked", name_of(existing, &names))),
                    }
                }
            } else {
                // No constraint on the pair: every row is its own link (several rows per
                // pair, differing by their other fields), inserted as a through row.
                let source_field = relation.source_field;
                let target_field = relation.target_field;
                for (target, extra) in new_items {
                    let mut given: Vec<(&str, Value)> =
                        vec![(source_field, key.clone()), (target_field, target)];
                    given.extend(extra);
                    engine::crud::create(tx, through, &given)
                        .await
                        .map_err(|e| Refused::from_write(through, e))?;
                    words_count_linked(&mut words);
                }
            }
        }
        if changed > 0 {
            words.push(format!("{changed} changed"));
        }
        if removed > 0 {
            words.push(format!("{removed} removed"));
        }
        if words.is_empty() {
            return Ok(String::new());
        }
        Ok(format!(
            "{}: {}.",
            capitalized(&through.verbose_name_plural),
            words.join("; ")
        ))
    }
}

/// The display strings of the targets named in `rows`, by key text.
async fn target_names(
    exec: &impl Executor,
    target: &'static ModelMeta,
    referred: &FieldMeta,
    rows: &[SubmittedRow],
) -> Result<BTreeMap<String, String>, Failure> {
    let keys: Vec<Value> = rows
        .iter()
        .filter(|r| !r.target.is_null())
        .map(|r| r.target.clone())
        .collect();
    if keys.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut query = SelectQuery::new(target);
    query.filter(Filter::cond(
        FieldPath::local(&referred.name),
        Lookup::In(keys),
    ));
    let pk_index = target.field_index(&referred.name).unwrap_or(0);
    Ok(read::select(exec, query)
        .await?
        .iter()
        .map(|row| (row[pk_index].display(), target.display_string(row)))
        .collect())
}

/// Makes a plain relation's links exactly `keys` (the relation engine's `set`: kept
/// links untouched, hooks fired) and tells what changed.
async fn set_links(
    tx: &throughline::Transaction<'_>,
    spec: &InlineSpec,
    key: &Value,
    keys: Vec<Value>,
) -> Result<String, Refused> {
    let relation = &spec.relation;
    let outcome = relation
        .from(key.clone())
        .set(
            keys,
            engine::no_values(),
            false,
            engine::row_values(relation.through),
            tx,
        )
        .await
        .map_err(|e| Refused::from_write(relation.through, e))?;
    let mut words = Vec::new();
    if !outcome.added.linked.is_empty() {
        words.push(format!("{} linked", outcome.added.linked.len()));
    }
    if !outcome.removed.is_empty() {
        words.push(format!("{} removed", outcome.removed.len()));
    }
    if words.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "{}: {}.",
        capitalized(&spec.declaration.name.replace('_', " ")),
        words.join("; ")
    ))
}

/// Counts a linked row into the words ("3 linked").
fn words_count_linked(words: &mut Vec<String>) {
    match words
        .iter_mut()
        .find(|w| w.ends_with(" linked") && w.split(' ').count() == 2)
    {
        Some(word) => {
            let count: usize = word
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            *word = format!("{} linked", count + 1);
        }
        None => words.push("1 linked".to_owned()),
    }
}

/// Whether the relation identifies a link by a unique constraint (on the pair, or on the
/// pair and more): then a new row goes through `add`, which reports existing links.
fn relation_has_link_key(relation: &Relation) -> bool {
    let through = relation.through;
    through.unique_constraints.iter().any(|c| {
        c.fields.iter().any(|f| f == relation.source_field)
            && c.fields.iter().any(|f| f == relation.target_field)
    })
}

/// Refuses a form whose field names are not the page's: an unknown name is 400.
fn check_names(
    meta: &ModelMeta,
    form: &FormData,
    specs: &[InlineSpec],
    multis: &[InlineSpec],
) -> Result<(), Failure> {
    for (name, _) in &form.0 {
        let known = matches!(name.as_str(), "csrf_token" | "_save" | "_continue")
            || meta
                .field(name)
                .is_some_and(|f| !f.primary_key || !f.is_auto())
            || specs.iter().any(|spec| inline_name(spec, name))
            || multis.iter().any(|spec| spec.prefix == *name);
        if !known {
            return Err(Failure::bad_request(format!("Unknown form field {name}.")));
        }
    }
    Ok(())
}

/// Whether `name` is one of an inline's fields (`{prefix}-TOTAL`, `{prefix}-{i}-...`).
fn inline_name(spec: &InlineSpec, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(&format!("{}-", spec.prefix)) else {
        return false;
    };
    if rest == "TOTAL" {
        return true;
    }
    let Some((index, field)) = rest.split_once('-') else {
        return false;
    };
    index.parse::<usize>().is_ok()
        && (matches!(field, "id" | "target" | "DELETE")
            || spec.extra.iter().any(|f| f.name == field))
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// At most `max` characters of `text`.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What a successful write returns: the object's key and row, the links' words.
struct Saved {
    key: (Value, Vec<Value>),
    words: String,
}

/// Why a write was refused: a field's error, the form's, or a failure.
enum Refused {
    Field(String, String),
    Form(String),
    /// A write the user has no permission for (403, nothing written).
    Forbidden(String),
    Failed(Failure),
}

impl Refused {
    fn from_error(error: Error) -> Refused {
        Refused::Failed(error.into())
    }

    /// A write's error in the user's terms: a validation error beside its field, a
    /// unique constraint beside its one field or above the form, other integrity errors
    /// above the form.
    fn from_write(meta: &ModelMeta, error: Error) -> Refused {
        match &error {
            Error::Validation { field, reason, .. } => {
                Refused::Field(field.clone(), capitalized(reason))
            }
            Error::Integrity { constraint, .. } => {
                let single = constraint.as_deref().and_then(|name| {
                    meta.fields.iter().find(|f| {
                        f.unique
                            && throughline::single_unique_name(&meta.table, &f.column, false)
                                == name
                    })
                });
                match single {
                    Some(field) => Refused::Field(
                        field.name.clone(),
                        format!(
                            "{} with this {} already exists.",
                            capitalized(&meta.verbose_name),
                            field.verbose_name
                        ),
                    ),
                    None => Refused::Form(format!("The database refused the change: {error}")),
                }
            }
            Error::AlreadyLinked { .. } | Error::Unsaved { .. } => Refused::Form(error.to_string()),
            _ => Refused::Failed(error.into()),
        }
    }
}

/// The `step` of a number input: any float, or one unit of a decimal's last place
/// (`0.01` for two places), as Django's `NumberInput`.
fn step(ty: throughline::FieldType) -> Option<String> {
    match ty {
        throughline::FieldType::F64 => Some("any".to_owned()),
        throughline::FieldType::Decimal { decimal_places, .. } => {
            Some(throughline::Decimal::new(1, u32::from(decimal_places)).to_string())
        }
        _ => None,
    }
}
