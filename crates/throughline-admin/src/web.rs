//! Owns the HTTP plumbing the views share: the login gate (a middleware that loads the
//! session from its cookie, checks the CSRF token of every state-changing request before
//! any handler runs, and hands the handlers the user and the parsed form), the security
//! headers on every response, cookies, redirects and error pages.

use crate::auth::{self, CurrentUser};
use crate::site::SiteRef;
use crate::token;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tl_admin_session";
/// The cookie carrying the login form's CSRF token (before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "tl_admin_csrf";
/// The largest form body accepted (4 MiB); larger is 413.
pub const MAX_FORM_BYTES: usize = 4 << 20;

/// A form's fields as sent, in order (a multi-select sends a name several times).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value sent for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent for `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An error page: a status and a message, shown escaped.
#[derive(Debug)]
pub struct Failure {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the user.
    pub message: String,
}

impl Failure {
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<throughline::Error> for Failure {
    fn from(error: throughline::Error) -> Self {
        tracing::error!(%error, "admin request failed");
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("The database refused the request: {error}"),
        }
    }
}

impl From<minijinja::Error> for Failure {
    fn from(error: minijinja::Error) -> Self {
        tracing::error!(%error, "admin template failed");
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "The page could not be rendered.".into(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title></head><body><h1>{status}</h1><p>{message}</p></body></html>",
            status = self.status,
            message = escape(&self.message),
        );
        (
            self.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// What a handler returns.
pub type Page = Result<Response, Failure>;

/// HTML-escapes text for the error page (the templates escape by themselves).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// A rendered page.
pub fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// A `303 See Other` to `location` (after a POST, the browser GETs it).
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, scoped to the admin's path; `max_age`
/// 0 deletes it.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Adds the headers every admin response carries: a Content-Security-Policy that allows
/// no script and only the admin's own stylesheet, no framing, no sniffing, no caching.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, private"),
        );
    }
    response
}

/// Reads a request's urlencoded form body (at most [`MAX_FORM_BYTES`]).
pub async fn read_form(body: Body) -> Result<FormData, Failure> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| Failure {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: "The form is too large.".into(),
        })?;
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map(FormData)
        .map_err(|_| Failure::bad_request("The form could not be read."))
}

/// The login gate in front of every page but the login page: loads the session its
/// cookie names (else a redirect to the login page, or 403 for a non-GET request); for
/// a state-changing request, reads the form and refuses it with 403 unless its
/// `csrf_token` is the session's. Handlers find [`CurrentUser`] and [`FormData`] in the
/// request's extensions.
pub async fn require_login(State(site): State<SiteRef>, request: Request, next: Next) -> Response {
    let current = match cookie(request.headers(), SESSION_COOKIE) {
        Some(token) => match auth::load_session(&site.db, token).await {
            Ok(current) => current,
            Err(error) => return Failure::from(error).into_response(),
        },
        None => None,
    };
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(current) = current else {
        if safe {
            let next_path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            return redirect(&format!(
                "{}/login/?next={}",
                site.config.prefix,
                crate::fields::url_encode(&next_path)
            ));
        }
        return Failure::forbidden("You are not logged in.").into_response();
    };
    let (mut parts, body) = request.into_parts();
    if !safe {
        let form = match read_form(body).await {
            Ok(form) => form,
            Err(failure) => return failure.into_response(),
        };
        let sent = form.get("csrf_token").unwrap_or("");
        if !token::same(sent, &current.session.csrf_token) {
            return Failure::forbidden("CSRF verification failed. The request was refused.")
                .into_response();
        }
        parts.extensions.insert(form);
    }
    parts.extensions.insert::<CurrentUser>(current);
    next.run(Request::from_parts(parts, Body::empty())).await
}
