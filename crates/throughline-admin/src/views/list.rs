//! The index (the models the user may see, grouped by app) and a model's change list:
//! columns from its [`ModelAdmin`](crate::ModelAdmin), search, filters, sorting and
//! pages, read in two statements (a count and one page of rows, foreign-key columns
//! through joins) whatever the number of rows shown.

use super::{Crumb, base_context, capitalized, model_for, render, ser};
use crate::auth::{self, Action, CurrentUser};
use crate::fields;
use crate::site::{SiteRef, app_segment};
use crate::web::{Failure, Page};
use axum::Extension;
use axum::extract::{Path, Query, State};
use chrono::Datelike;
use serde::Serialize;
use std::collections::BTreeMap;
use throughline::engine::read;
use throughline::{
    FieldMeta, FieldPath, FieldType, Filter, Hop, Lookup, ModelMeta, OrderBy, SelectQuery, Value,
};

#[derive(Serialize)]
struct ModelLink {
    plural: String,
    url: String,
    add_url: Option<String>,
}

#[derive(Serialize)]
struct AppGroup {
    name: String,
    models: Vec<ModelLink>,
}

/// `GET /`: the models the user may view, grouped by app.
pub async fn index(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
) -> Page {
    let permissions = auth::permissions(&site.db, &current.user).await?;
    let mut groups: BTreeMap<String, Vec<ModelLink>> = BTreeMap::new();
    for meta in site.registry.models() {
        if !permissions.allows(&meta.name, Action::View) {
            continue;
        }
        let url = site.changelist_url(meta);
        groups
            .entry(app_segment(meta))
            .or_default()
            .push(ModelLink {
                plural: capitalized(&meta.verbose_name_plural),
                add_url: permissions
                    .allows(&meta.name, Action::Add)
                    .then(|| format!("{url}add/")),
                url,
            });
    }
    let apps: Vec<AppGroup> = groups
        .into_iter()
        .map(|(name, mut models)| {
            models.sort_by(|a, b| a.plural.cmp(&b.plural));
            AppGroup {
                name: capitalized(&name),
                models,
            }
        })
        .collect();
    let base = base_context(&site, &current).await?;
    render(
        &site,
        "index.html",
        base,
        minijinja::context! { apps => ser(&apps) },
    )
}

/// A change-list column.
enum Column {
    /// The row's display string.
    Display,
    /// A field of the row; a foreign key shows the related row's display string, read
    /// through the join at `join` (its index among the query's `select_related`).
    Field {
        field: &'static FieldMeta,
        join: Option<usize>,
    },
}

#[derive(Serialize)]
struct ColumnHead {
    label: String,
    sort_url: Option<String>,
    sorted: Option<&'static str>,
}

#[derive(Serialize)]
struct ListRow {
    url: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct PageLink {
    number: u64,
    url: String,
    current: bool,
}

#[derive(Serialize)]
struct FilterChoice {
    label: String,
    url: String,
    selected: bool,
}

#[derive(Serialize)]
struct FilterBox {
    label: String,
    choices: Vec<FilterChoice>,
}

/// The query string parameters a change list understands.
const SEARCH: &str = "q";
const ORDER: &str = "o";
const PAGE: &str = "p";
/// A filter parameter is `f.<field>`.
const FILTER: &str = "f.";

/// `GET /{app}/{model}/`: the change list.
pub async fn changelist(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::View).await?;
    let admin = site.config.model_admin(&meta.name);
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    // Columns, each foreign key joined once.
    let mut query = SelectQuery::new(meta);
    let mut columns = Vec::new();
    if admin.list_display.is_empty() {
        columns.push(Column::Display);
    }
    for name in &admin.list_display {
        let field = meta
            .field(name)
            .ok_or_else(|| Failure::not_found(format!("No field {name}.")))?;
        let join = match &field.foreign_key {
            Some(fk) => {
                let target = site
                    .registry
                    .get(&fk.to)
                    .ok_or_else(|| Failure::not_found(format!("No model {}.", fk.to)))?;
                query
                    .select_related
                    .push(vec![Hop::forward(meta, &field.name, target)?]);
                Some(query.select_related.len() - 1)
            }
            None => None,
        };
        columns.push(Column::Field { field, join });
    }

    // Search: every word in some search field.
    let search_fields = search_fields(meta, &admin.search_fields);
    let search = param(SEARCH).unwrap_or("").trim().to_owned();
    if search.chars().count() > 500 || search.contains('\0') {
        return Err(Failure::bad_request(
            "The search is too long or holds a NUL character.",
        ));
    }
    if !search.is_empty() && !search_fields.is_empty() {
        for word in search.split_whitespace() {
            query.filter(Filter::Or(
                search_fields
                    .iter()
                    .map(|f| {
                        Filter::cond(FieldPath::local(&f.name), Lookup::IContains(word.into()))
                    })
                    .collect(),
            ));
        }
    }

    // Filters.
    let mut filter_boxes = Vec::new();
    let mut applied: Vec<(String, String)> = Vec::new();
    for name in &admin.list_filter {
        let Some(field) = meta.field(name) else {
            continue;
        };
        let key = format!("{FILTER}{name}");
        let chosen = param(&key);
        if let Some(text) = chosen {
            query.filter(filter_condition(field, text)?);
            applied.push((key.clone(), text.to_owned()));
        }
        let options = filter_options(&site, field).await?;
        let mut choices = vec![FilterChoice {
            label: "All".into(),
            url: list_url(&params, &key, None),
            selected: chosen.is_none(),
        }];
        for (value, label) in options {
            choices.push(FilterChoice {
                selected: chosen == Some(value.as_str()),
                url: list_url(&params, &key, Some(&value)),
                label,
            });
        }
        filter_boxes.push(FilterBox {
            label: field.verbose_name.clone(),
            choices,
        });
    }
    for (name, _) in &params {
        if let Some(field) = name.strip_prefix(FILTER)
            && !admin.list_filter.iter().any(|f| f == field)
        {
            return Err(Failure::bad_request(format!("Cannot filter by {field}.")));
        }
    }

    // Ordering: a column chosen by the user, else the model's, else newest first; the
    // key last, so pages never overlap.
    let sortable: Vec<&FieldMeta> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Field { field, .. } => Some(*field),
            Column::Display => None,
        })
        .collect();
    let order = param(ORDER).unwrap_or("");
    let mut sorted: Option<(String, bool)> = None;
    if !order.is_empty() {
        let (name, descending) = match order.strip_prefix('-') {
            Some(name) => (name, true),
            None => (order, false),
        };
        if !sortable.iter().any(|f| f.name == name) {
            return Err(Failure::bad_request(format!("Cannot sort by {name}.")));
        }
        sorted = Some((name.to_owned(), descending));
        query.order_by.push(OrderBy {
            expression: throughline::Expression::Field(FieldPath::local(name)),
            descending,
        });
    } else {
        for item in &meta.ordering {
            let (name, descending) = match item.strip_prefix('-') {
                Some(name) => (name, true),
                None => (item.as_str(), false),
            };
            query.order_by.push(OrderBy {
                expression: throughline::Expression::Field(FieldPath::local(name)),
                descending,
            });
        }
    }
    let pk = meta.pk();
    let newest_first = meta.ordering.is_empty() && sorted.is_none();
    query.order_by.push(OrderBy {
        expression: throughline::Expression::Field(FieldPath::local(&pk.name)),
        descending: newest_first,
    });

    // One page.
    let page_number: u64 = match param(PAGE) {
        None | Some("") => 1,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Failure::bad_request("The page number is not a number."))?,
    };
    let size = site.config.page_size.max(1);
    let total = read::count(&site.db, query.clone()).await?;
    let page_count = total.div_ceil(size).max(1);
    if page_number > page_count {
        return Err(Failure::not_found("There is no such page."));
    }
    query.limit = Some(size);
    query.offset = Some((page_number - 1) * size);
    let rows = read::select(&site.db, query.clone()).await?;

    // Cells.
    let joined: Vec<&'static ModelMeta> = query
        .select_related
        .iter()
        .filter_map(|chain| chain.last().map(|hop| hop.to))
        .collect();
    let mut offsets = Vec::with_capacity(joined.len());
    let mut offset = meta.fields.len();
    for target in &joined {
        offsets.push(offset);
        offset += target.fields.len();
    }
    let pk_index = meta.field_index(&pk.name).unwrap_or(0);
    let list_rows: Vec<ListRow> = rows
        .iter()
        .map(|row| {
            let own = &row[..meta.fields.len()];
            let cells = columns
                .iter()
                .map(|column| match column {
                    Column::Display => meta.display_string(own),
                    Column::Field {
                        field,
                        join: Some(join),
                    } => {
                        let start = offsets[*join];
                        let target = joined[*join];
                        let related = &row[start..start + target.fields.len()];
                        let index = meta.field_index(&field.name).unwrap_or(0);
                        if own[index].is_null() {
                            "-".to_owned()
                        } else {
                            target.display_string(related)
                        }
                    }
                    Column::Field { field, join: None } => {
                        let index = meta.field_index(&field.name).unwrap_or(0);
                        fields::list_text(field, &own[index])
                    }
                })
                .collect();
            ListRow {
                url: site.object_url(meta, &own[pk_index].display(), "change"),
                cells,
            }
        })
        .collect();

    let heads: Vec<ColumnHead> = columns
        .iter()
        .map(|column| match column {
            Column::Display => ColumnHead {
                label: capitalized(&meta.verbose_name),
                sort_url: None,
                sorted: None,
            },
            Column::Field { field, .. } => {
                let state = sorted
                    .as_ref()
                    .filter(|(name, _)| *name == field.name)
                    .map(|(_, descending)| if *descending { "desc" } else { "asc" });
                let next = if state == Some("asc") {
                    format!("-{}", field.name)
                } else {
                    field.name.clone()
                };
                ColumnHead {
                    label: capitalized(&field.verbose_name),
                    sort_url: Some(list_url(&params, ORDER, Some(&next))),
                    sorted: state,
                }
            }
        })
        .collect();
    let pages: Vec<PageLink> = (1..=page_count)
        .filter(|n| *n <= 3 || *n + 2 >= page_count || n.abs_diff(page_number) <= 3)
        .map(|n| PageLink {
            number: n,
            url: list_url(&params, PAGE, Some(&n.to_string())),
            current: n == page_number,
        })
        .collect();
    let mut kept = applied;
    if let Some(order) = param(ORDER) {
        kept.push((ORDER.to_owned(), order.to_owned()));
    }
    let base = base_context(&site, &current).await?;
    render(
        &site,
        "change_list.html",
        base,
        minijinja::context! {
            verbose_name => meta.verbose_name.clone(),
            verbose_name_plural => meta.verbose_name_plural.clone(),
            add_url => permissions.allows(&meta.name, Action::Add).then(|| format!("{}add/", site.changelist_url(meta))),
            searchable => !search_fields.is_empty(),
            query => search.clone(),
            kept_filters => ser(&kept),
            filtered => !search.is_empty() || params.iter().any(|(n, _)| n.starts_with(FILTER)),
            total => total,
            columns => ser(&heads),
            rows => ser(&list_rows),
            pages => ser(&pages),
            filters => ser(&filter_boxes),
            breadcrumbs => ser(&[
                Crumb { label: capitalized(&app_segment(meta)), url: None },
                Crumb { label: capitalized(&meta.verbose_name_plural), url: None },
            ]),
        },
    )
}

/// The fields searched: the configured ones, else the model's text display fields.
fn search_fields(meta: &'static ModelMeta, configured: &[String]) -> Vec<&'static FieldMeta> {
    let names: Vec<&String> = if configured.is_empty() {
        meta.display.iter().collect()
    } else {
        configured.iter().collect()
    };
    names
        .into_iter()
        .filter_map(|name| meta.field(name))
        .filter(|f| matches!(f.ty, FieldType::String { .. }))
        .collect()
}

/// The condition a filter parameter asks for; a value that cannot be one of the field's
/// is 400.
fn filter_condition(field: &FieldMeta, text: &str) -> Result<Filter, Failure> {
    let path = FieldPath::local(&field.name);
    if field.nullable && text == "none" {
        return Ok(Filter::cond(path, Lookup::IsNull(true)));
    }
    if matches!(field.ty, FieldType::Date | FieldType::DateTime) && field.choices.is_empty() {
        let now = throughline::value::now();
        let today = now.date_naive();
        let since = match text {
            "today" => today,
            "7d" => today - chrono::Duration::days(7),
            "month" => today.with_day0(0).unwrap_or(today),
            "year" => today.with_ordinal0(0).unwrap_or(today),
            _ => return Err(Failure::bad_request("Unknown date filter.")),
        };
        let start = match field.ty {
            FieldType::Date => Value::Date(since),
            _ => Value::DateTime(since.and_time(chrono::NaiveTime::MIN).and_utc()),
        };
        return Ok(Filter::cond(path, Lookup::Gte(start)));
    }
    let value = if field.foreign_key.is_some() {
        fields::parse_key(field, text)
    } else {
        fields::parse(field, Some(text)).ok()
    }
    .ok_or_else(|| Failure::bad_request(format!("Invalid value for {}.", field.name)))?;
    Ok(Filter::cond(path, Lookup::Exact(value)))
}

/// The values a filter offers, with their labels.
async fn filter_options(
    site: &SiteRef,
    field: &'static FieldMeta,
) -> Result<Vec<(String, String)>, Failure> {
    let mut options: Vec<(String, String)> = Vec::new();
    if !field.choices.is_empty() {
        options = field
            .choices
            .iter()
            .map(|c| (c.value.clone(), c.label.clone()))
            .collect();
    } else if field.ty == FieldType::Bool {
        options = vec![("on".into(), "Yes".into()), ("false".into(), "No".into())];
    } else if matches!(field.ty, FieldType::Date | FieldType::DateTime) {
        options = vec![
            ("today".into(), "Today".into()),
            ("7d".into(), "Past 7 days".into()),
            ("month".into(), "This month".into()),
            ("year".into(), "This year".into()),
        ];
    } else if let Some(fk) = &field.foreign_key
        && let Some(target) = site.registry.get(&fk.to)
    {
        let mut query = SelectQuery::new(target);
        query.limit = Some(200);
        let pk_index = target.field_index(&fk.referenced(target).name).unwrap_or(0);
        for row in read::select(&site.db, query).await? {
            options.push((row[pk_index].display(), target.display_string(&row)));
        }
    }
    if field.nullable {
        options.push(("none".into(), "None".into()));
    }
    Ok(options)
}

/// The change list's URL with parameter `name` set to `value` (or removed), the others
/// kept; changing a filter, the search or the order goes back to page 1.
fn list_url(params: &[(String, String)], name: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(n, _)| n != name && (name == PAGE || n != PAGE))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    if let Some(value) = value {
        pairs.push((name, value));
    }
    match serde_urlencoded::to_string(&pairs) {
        Ok(query) if !query.is_empty() => format!("?{query}"),
        _ => "?".to_owned(),
    }
}
