//! The account pages: login (with its own CSRF cookie, the login limiter and a safe
//! `next`), logout (POST only) and password change.

use crate::auth::{self, CurrentUser};
use crate::site::SiteRef;
use crate::web::{self, Failure, FormData, Page};
use crate::{password, token};
use axum::Extension;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::collections::HashMap;
use std::net::SocketAddr;

/// `GET /login/`: the login form (or the index when already logged in).
pub async fn login_form(
    State(site): State<SiteRef>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Page {
    if let Some(token) = web::cookie(request.headers(), web::SESSION_COOKIE)
        && auth::load_session(&site.db, token).await?.is_some()
    {
        return Ok(web::redirect(&format!("{}/", site.config.prefix)));
    }
    let next = safe_next(&site, query.get("next").map(String::as_str));
    login_page(&site, &next, "", None, StatusCode::OK)
}

/// Renders the login form with a fresh CSRF cookie.
fn login_page(
    site: &SiteRef,
    next: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    let csrf = token::random().map_err(|_| Failure::bad_request("No random source."))?;
    let page = site
        .templates
        .get_template("login.html")?
        .render(minijinja::context! {
            site_title => site.config.site_title.clone(),
            prefix => site.config.prefix.clone(),
            csrf_token => csrf.clone(),
            next => next,
            username_given => username,
            error => error,
        })?;
    let cookie = web::set_cookie(
        web::LOGIN_CSRF_COOKIE,
        &csrf,
        &site.config.prefix,
        3600,
        site.config.secure_cookies,
    );
    Ok((status, [(header::SET_COOKIE, cookie)], web::html(page)).into_response())
}

/// `POST /login/`: checks the CSRF cookie, the limiter, then the password; opens a
/// session and redirects to `next` (a path inside the admin) or the index.
pub async fn login(State(site): State<SiteRef>, request: Request) -> Page {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string())
        .unwrap_or_else(|| "local".to_owned());
    let expected = web::cookie(request.headers(), web::LOGIN_CSRF_COOKIE)
        .unwrap_or("")
        .to_owned();
    let form = web::read_form(request.into_body()).await?;
    let sent = form.get("csrf_token").unwrap_or("");
    if expected.is_empty() || !token::same(sent, &expected) {
        return Err(Failure::forbidden(
            "CSRF verification failed: reload the login page and try again.",
        ));
    }
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let given = form.get("password").unwrap_or("");
    let next = safe_next(&site, form.get("next"));
    if !site.throttle.attempt(&username, &address) {
        return Err(Failure {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Too many failed logins: wait a minute and try again.".into(),
        });
    }
    let Some(user) = auth::authenticate(&site.db, &username, given).await? else {
        return login_page(
            &site,
            &next,
            &username,
            Some(
                "Please enter the correct user name and password for a staff account. Both fields may be case-sensitive.",
            ),
            StatusCode::OK,
        );
    };
    site.throttle.succeeded(&username, &address);
    let session = auth::open_session(&site.db, &user, site.config.session_age).await?;
    let cookie = web::set_cookie(
        web::SESSION_COOKIE,
        &session.token,
        &site.config.prefix,
        site.config.session_age.as_secs(),
        site.config.secure_cookies,
    );
    let clear = web::set_cookie(
        web::LOGIN_CSRF_COOKIE,
        "",
        &site.config.prefix,
        0,
        site.config.secure_cookies,
    );
    let mut response = web::redirect(&next);
    for value in [cookie, clear] {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `next` if it is a path inside the admin (never another site: no scheme, no `//`, no
/// backslash), else the index.
fn safe_next(site: &SiteRef, next: Option<&str>) -> String {
    let index = format!("{}/", site.config.prefix);
    match next {
        Some(path)
            if path.starts_with(&index)
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => index,
    }
}

/// `POST /logout/`: closes the session and deletes the cookie.
pub async fn logout(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
) -> Page {
    auth::close_session_by_id(&site.db, &current.session).await?;
    let mut response = web::redirect(&format!("{}/login/", site.config.prefix));
    let clear = web::set_cookie(
        web::SESSION_COOKIE,
        "",
        &site.config.prefix,
        0,
        site.config.secure_cookies,
    );
    if let Ok(value) = clear.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /password_change/`.
pub async fn password_form(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
) -> Page {
    let base = super::base_context(&site, &current).await?;
    super::render(&site, "password_change.html", base, minijinja::context! {})
}

/// `POST /password_change/`: the old password, then the new one twice; on success every
/// session of the user is closed and a new one opened for this browser.
pub async fn password_change(
    State(site): State<SiteRef>,
    Extension(current): Extension<CurrentUser>,
    Extension(form): Extension<FormData>,
) -> Page {
    let old = form.get("old_password").unwrap_or("");
    let new = form.get("new_password1").unwrap_or("");
    let again = form.get("new_password2").unwrap_or("");
    let error = if !password::verify(old, &current.user.password).await {
        Some("Your old password was entered incorrectly. Please enter it again.".to_owned())
    } else if new != again {
        Some("The two password fields didn't match.".to_owned())
    } else {
        match auth::set_password(&site.db, &current.user.username, new).await {
            Ok(()) => None,
            Err(auth::AccountError::Invalid(message)) => Some(message),
            Err(auth::AccountError::Database(error)) => return Err(error.into()),
        }
    };
    if let Some(error) = error {
        let base = super::base_context(&site, &current).await?;
        return super::render(
            &site,
            "password_change.html",
            base,
            minijinja::context! { error => error },
        );
    }
    let session = auth::open_session(&site.db, &current.user, site.config.session_age).await?;
    auth::set_flash_by_token(&site.db, &session.token, "Your password was changed.").await?;
    let mut response = web::redirect(&format!("{}/", site.config.prefix));
    let cookie = web::set_cookie(
        web::SESSION_COOKIE,
        &session.token,
        &site.config.prefix,
        site.config.session_age.as_secs(),
        site.config.secure_cookies,
    );
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
