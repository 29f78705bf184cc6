//! An object's history: every add, change and delete made through the admin, newest
//! first, with who and when (the admin's log, [`AdminLog`]).

use super::{Crumb, base_context, capitalized, model_for, render, ser};
use crate::auth::{Action, CurrentUser};
use crate::fields;
use crate::models::{AdminLog, AdminUser};
use crate::site::{SiteRef, app_segment};
use crate::web::{Failure, Page};
use axum::Extension;
use axum::extract::{Path, State};
use serde::Serialize;
use throughline::prelude::*;

#[derive(Serialize)]
struct Entry {
    time: String,
    user: String,
    message: String,
}

/// `GET /{app}/{model}/{key}/history/`: the log of the object, also once it is deleted.
pub async fn history(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model, key)): Path<(String, String, String)>,
) -> Page {
    let (meta, _) = model_for(&site, &current, &app, &model, Action::View).await?;
    let key = fields::parse_key(meta.pk(), &key).ok_or_else(|| {
        Failure::not_found(format!("No {} with the key {key}.", meta.verbose_name))
    })?;
    let key_text = key.display();
    // Stored keys are cut at 200 characters (the column's length).
    let stored_key: String = key_text.chars().take(200).collect();
    let entries = AdminLog::objects()
        .filter(AdminLog::MODEL.eq(meta.name.as_str()))
        .filter(AdminLog::OBJECT_KEY.eq(stored_key.as_str()))
        .select_related(AdminLog::USER)
        .order_by([AdminLog::ACTION_TIME.desc(), AdminLog::ID.desc()])
        .all(&site.db)
        .await?;
    let object = entries
        .first()
        .map(|e| e.object_repr.clone())
        .unwrap_or_else(|| format!("{} {key_text}", capitalized(&meta.verbose_name)));
    let shown: Vec<Entry> = entries
        .iter()
        .map(|e| Entry {
            time: e.action_time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            user: e
                .user
                .loaded()
                .map(|u: &AdminUser| u.username.clone())
                .unwrap_or_default(),
            message: e.message.clone(),
        })
        .collect();
    let base = base_context(&site, &current).await?;
    render(
        &site,
        "history.html",
        base,
        minijinja::context! {
            object => object.clone(),
            entries => ser(&shown),
            breadcrumbs => ser(&[
                Crumb { label: capitalized(&app_segment(meta)), url: None },
                Crumb { label: capitalized(&meta.verbose_name_plural), url: Some(site.changelist_url(meta)) },
                Crumb { label: object, url: Some(site.object_url(meta, &key_text, "change")) },
                Crumb { label: "History".into(), url: None },
            ]),
        },
    )
}
