//! The admin's pages, one module per kind: the account pages (login, logout, password
//! change), the index and change lists, the add/change forms with their inlines, the
//! delete confirmation, and the history. Each handler gets the shared [`Site`], the
//! logged-in user and the checked form from the login gate ([`crate::web`]).

pub mod account;
pub mod delete;
pub mod form;
pub mod history;
pub mod list;

use crate::auth::{self, Action, CurrentUser, Permissions};
use crate::site::{Site, SiteRef};
use crate::web::Failure;
use serde::Serialize;
use throughline::ModelMeta;

/// A breadcrumb: a label, linked unless it is the current page.
#[derive(Debug, Serialize)]
pub struct Crumb {
    /// What it says.
    pub label: String,
    /// Where it goes (none for the current page).
    pub url: Option<String>,
}

/// The context every logged-in page shares: the site's title and prefix, the user, the
/// session's CSRF token, the pending message.
pub async fn base_context(site: &Site, current: &CurrentUser) -> Result<minijinja::Value, Failure> {
    let message = auth::take_flash(&site.db, current).await?;
    Ok(minijinja::context! {
        site_title => site.config.site_title.clone(),
        prefix => site.config.prefix.clone(),
        username => current.user.username.clone(),
        csrf_token => current.session.csrf_token.clone(),
        message => message,
    })
}

/// Renders `template` with the shared context and `extra`.
pub fn render(
    site: &Site,
    template: &str,
    base: minijinja::Value,
    extra: minijinja::Value,
) -> Result<axum::response::Response, Failure> {
    let page = site
        .templates
        .get_template(template)?
        .render(minijinja::context! { ..extra, ..base })?;
    Ok(crate::web::html(page))
}

/// The model at `/{app}/{model}/` that the user may `action`: 404 for an unknown model,
/// 403 without the permission.
pub async fn model_for(
    site: &SiteRef,
    current: &CurrentUser,
    app: &str,
    model: &str,
    action: Action,
) -> Result<(&'static ModelMeta, Permissions), Failure> {
    let meta = site
        .find_model(app, model)
        .ok_or_else(|| Failure::not_found("There is no such model."))?;
    let permissions = auth::permissions(&site.db, &current.user).await?;
    if !permissions.allows(&meta.name, action) {
        return Err(Failure::forbidden(format!(
            "You may not {} {}.",
            action.name(),
            meta.verbose_name_plural
        )));
    }
    Ok((meta, permissions))
}

/// A serializable value for a template's context.
pub fn ser<T: Serialize + ?Sized>(value: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// A verbose name with its first letter in capitals ("date joined" → "Date joined").
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
