//! The delete confirmation: what the delete takes with it (rows per model, through rows
//! included, and rows whose key becomes NULL), or what blocks it (`PROTECT`), read by the
//! engine's [`cascade`] plan; then the delete itself through
//! `engine::crud` (the database cascades, relation hooks fire), with its history entry,
//! in one transaction.

use super::form::load;
use super::{Crumb, base_context, capitalized, model_for, render, ser};
use crate::auth::{self, Action, CurrentUser};
use crate::models::{AdminLog, LogAction};
use crate::site::{SiteRef, app_segment};
use crate::web::{self, Failure, Page};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use throughline::engine::{self, cascade};
use throughline::prelude::*;

#[derive(Serialize)]
struct Count {
    label: String,
    count: u64,
}

#[derive(Serialize)]
struct Protected {
    model: String,
    object: String,
}

/// `GET /{app}/{model}/{key}/delete/`: the confirmation, or why it cannot be deleted.
pub async fn confirm(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model, key)): Path<(String, String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::Delete).await?;
    let (key, row) = load(&site, meta, &key).await?;
    let plan = cascade::plan(&site.db, &site.registry, meta, vec![key.clone()]).await?;
    let missing = missing_permissions(&site, &permissions, &plan);
    page(
        &site,
        &current,
        meta,
        &key,
        &row,
        &plan,
        &missing,
        StatusCode::OK,
    )
    .await
}

/// `POST /{app}/{model}/{key}/delete/`: deletes (unless blocked: the page again, 409).
pub async fn delete(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Path((app, model, key)): Path<(String, String, String)>,
) -> Page {
    let (meta, permissions) = model_for(&site, &current, &app, &model, Action::Delete).await?;
    let (key, row) = load(&site, meta, &key).await?;
    let tx = site.db.begin().await?;
    let plan = cascade::plan(&tx, &site.registry, meta, vec![key.clone()]).await?;
    let missing = missing_permissions(&site, &permissions, &plan);
    if !missing.is_empty() {
        drop(tx);
        return Err(Failure::forbidden(format!(
            "You may not delete {}, which this delete would take along.",
            missing.join(", ")
        )));
    }
    if !plan.blockers.is_empty() {
        drop(tx);
        return page(
            &site,
            &current,
            meta,
            &key,
            &row,
            &plan,
            &missing,
            StatusCode::CONFLICT,
        )
        .await;
    }
    let name = meta.display_string(&row);
    match engine::crud::delete(&tx, meta, key.clone()).await {
        Ok(_) => {}
        Err(throughline::Error::Integrity { .. }) => {
            // A row that blocks it appeared since the plan (or refers from outside the
            // registry): nothing was deleted; the page again, with what blocks it now.
            drop(tx);
            let plan = cascade::plan(&site.db, &site.registry, meta, vec![key.clone()]).await?;
            return page(
                &site,
                &current,
                meta,
                &key,
                &row,
                &plan,
                &missing,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    let taken: Vec<String> = plan
        .deleted_per_model()
        .iter()
        .map(|(m, n)| {
            format!(
                "{n} {}",
                if *n == 1 {
                    &m.verbose_name
                } else {
                    &m.verbose_name_plural
                }
            )
        })
        .collect();
    let message = if taken.is_empty() {
        "Deleted.".to_owned()
    } else {
        format!("Deleted, with {}.", taken.join(", "))
    };
    AdminLog {
        id: None,
        user: ForeignKey::to(&current.user),
        action_time: chrono::Utc::now(),
        model: meta.name.clone(),
        object_key: key.display().chars().take(200).collect(),
        object_repr: name.chars().take(200).collect(),
        action: LogAction::Delete,
        message,
    }
    .create(&tx)
    .await?;
    tx.commit().await?;
    auth::set_flash(
        &site.db,
        &current.session,
        &format!(
            "The {} “{name}” was deleted successfully.",
            meta.verbose_name
        ),
    )
    .await?;
    Ok(web::redirect(&site.changelist_url(meta)))
}

/// The models the delete would take rows of that the user may not delete (through
/// models generated for plain relations need no permission of their own, as Django's).
fn missing_permissions(
    site: &SiteRef,
    permissions: &auth::Permissions,
    plan: &cascade::CascadePlan,
) -> Vec<String> {
    plan.deleted_per_model()
        .into_iter()
        .filter(|(model, _)| {
            let generated = site.registry.models().iter().any(|m| {
                m.many_to_many
                    .iter()
                    .any(|r| r.auto_created && r.through == model.name)
            });
            !generated && !permissions.allows(&model.name, Action::Delete)
        })
        .map(|(model, _)| model.verbose_name_plural.clone())
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn page(
    site: &SiteRef,
    current: &CurrentUser,
    meta: &'static throughline::ModelMeta,
    key: &throughline::Value,
    row: &[throughline::Value],
    plan: &cascade::CascadePlan,
    missing: &[String],
    status: StatusCode,
) -> Page {
    let mut summary = vec![Count {
        label: capitalized(&meta.verbose_name_plural),
        count: 1,
    }];
    for (model, count) in plan.deleted_per_model() {
        match summary
            .iter_mut()
            .find(|c| c.label == capitalized(&model.verbose_name_plural))
        {
            Some(existing) => existing.count += count,
            None => summary.push(Count {
                label: capitalized(&model.verbose_name_plural),
                count,
            }),
        }
    }
    let set_null: Vec<Count> = plan
        .set_null
        .iter()
        .map(|r| Count {
            label: format!(
                "{} ({})",
                capitalized(&r.model.verbose_name_plural),
                r.field.verbose_name
            ),
            count: r.count,
        })
        .collect();
    let mut protected = Vec::new();
    for blocker in &plan.blockers {
        for row in &blocker.rows {
            protected.push(Protected {
                model: capitalized(&blocker.model.verbose_name),
                object: blocker.model.display_string(row),
            });
        }
        let more = blocker.count.saturating_sub(blocker.rows.len() as u64);
        if more > 0 {
            protected.push(Protected {
                model: capitalized(&blocker.model.verbose_name_plural),
                object: format!("and {more} more"),
            });
        }
    }
    let key_text = key.display();
    let object = meta.display_string(row);
    let base = base_context(site, current).await?;
    let response = render(
        site,
        "delete_confirmation.html",
        base,
        minijinja::context! {
            verbose_name => meta.verbose_name.clone(),
            object => object.clone(),
            summary => ser(&summary),
            set_null => ser(&set_null),
            protected => ser(&protected),
            missing_permissions => missing.to_vec(),
            cancel_url => site.object_url(meta, &key_text, "change"),
            breadcrumbs => ser(&[
                Crumb { label: capitalized(&app_segment(meta)), url: None },
                Crumb { label: capitalized(&meta.verbose_name_plural), url: Some(site.changelist_url(meta)) },
                Crumb { label: object, url: Some(site.object_url(meta, &key_text, "change")) },
                Crumb { label: "Delete".into(), url: None },
            ]),
        },
    )?;
    Ok((status, response).into_response())
}
