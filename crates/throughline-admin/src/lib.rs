//! throughline's web admin: every registered model listed, searched, filtered, sorted and
//! edited from the browser, through models edited inline on their parent's page, deletes
//! confirmed with what they take along, a history of every change, per-model permissions,
//! login with Argon2id, CSRF protection, escaped output and pages that need no script.
//!
//! The admin knows the application only through its [`Registry`]: it reads with the
//! engine's [`read`](throughline::engine::read) and writes with its
//! [`crud`](throughline::engine::crud) and relation API, so every write has the typed
//! API's semantics, outcomes and hooks. Its own tables ([`models`]) come as migrations
//! of the `admin` app ([`models::MIGRATIONS`]).
//!
//! ```no_run
//! # async fn app(registry: throughline::Registry) -> Result<(), Box<dyn std::error::Error>> {
//! let db = throughline::Database::connect("sqlite://app.db?mode=rwc").await?;
//! throughline_admin::install(&db).await?; // or `manage migrate` with the admin installed
//! let admin = throughline_admin::router(registry, db, throughline_admin::AdminConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! throughline_admin::serve(listener, admin).await?;
//! # Ok(()) }
//! ```
//!
//! The [guide] (`docs/admin.md`): set-up, configuration, the security model, and how it
//! differs from Django's admin.

pub mod auth;
pub mod config;
/// The admin guide (`docs/admin.md`): set-up, configuration, the security model, and how
/// it differs from Django's admin.
pub mod guide {
    #![doc = include_str!("../../../docs/admin.md")]
}
pub mod fields;
pub mod models;
pub mod password;
mod site;
mod templates;
pub mod throttle;
pub mod token;
mod views;
mod web;

pub use config::{AdminConfig, ModelAdmin};

use axum::Router;
use axum::routing::{get, post};
use site::{Site, SiteRef};
use std::sync::Arc;
use throughline::{Database, Registry};

/// Why [`router`] refused a configuration.
///
/// ```
/// let error = throughline_admin::ConfigError("no registered model is named Nope".into());
/// assert_eq!(error.to_string(), "admin configuration: no registered model is named Nope");
/// ```
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "admin configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The admin as an axum [`Router`] serving every page under `config.prefix`, to be
/// merged into the application's router or served alone ([`serve`]). The configuration
/// is checked here: a [`ModelAdmin`] naming an unknown model or field is refused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// let config = throughline_admin::AdminConfig::default()
///     .model("Nope", throughline_admin::ModelAdmin::default());
/// let error = throughline_admin::router(throughline::Registry::new(), db, config).unwrap_err();
/// assert!(error.to_string().contains("Nope"));
/// # }
/// ```
pub fn router(
    registry: Registry,
    db: Database,
    config: AdminConfig,
) -> Result<Router, ConfigError> {
    check_config(&registry, &config)?;
    let templates = templates::environment().map_err(|e| ConfigError(format!("templates: {e}")))?;
    let throttle = throttle::Throttle::new(config.login_attempts_per_minute);
    let prefix = config.prefix.clone();
    // The admin reads on the primary: a session just written, a row just saved, and the
    // checks before a save must not come from a replica that lags.
    let db = db.primary();
    let site: SiteRef = Arc::new(Site {
        registry,
        db,
        config,
        templates,
        throttle,
    });
    let at = |path: &str| format!("{prefix}{path}");
    let gated = Router::new()
        .route(&at("/"), get(views::list::index))
        .route(&at("/logout/"), post(views::account::logout))
        .route(
            &at("/password_change/"),
            get(views::account::password_form).post(views::account::password_change),
        )
        .route(&at("/{app}/{model}/"), get(views::list::changelist))
        .route(
            &at("/{app}/{model}/add/"),
            get(views::form::add_form).post(views::form::add),
        )
        .route(
            &at("/{app}/{model}/{key}/change/"),
            get(views::form::change_form).post(views::form::change),
        )
        .route(
            &at("/{app}/{model}/{key}/delete/"),
            get(views::delete::confirm).post(views::delete::delete),
        )
        .route(
            &at("/{app}/{model}/{key}/history/"),
            get(views::history::history),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            site.clone(),
            web::require_login,
        ));
    let open = Router::new()
        .route(
            &at("/login/"),
            get(views::account::login_form).post(views::account::login),
        )
        .route(&at("/static/admin.css"), get(stylesheet));
    Ok(gated
        .merge(open)
        .layer(axum::middleware::from_fn(web::security_headers))
        .with_state(site))
}

/// The stylesheet, cacheable for a day.
async fn stylesheet() -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        templates::STYLESHEET,
    )
        .into_response()
}

/// Refuses settings that name unknown models or fields.
fn check_config(registry: &Registry, config: &AdminConfig) -> Result<(), ConfigError> {
    for (model, admin) in &config.models {
        let meta = registry
            .get(model)
            .ok_or_else(|| ConfigError(format!("no registered model is named {model}")))?;
        for (setting, names) in [
            ("list_display", &admin.list_display),
            ("search_fields", &admin.search_fields),
            ("list_filter", &admin.list_filter),
        ] {
            for name in names {
                let field = meta.field(name).ok_or_else(|| {
                    ConfigError(format!("{model}.{setting} names unknown field {name}"))
                })?;
                if let Some(fk) = &field.foreign_key
                    && registry.get(&fk.to).is_none()
                {
                    return Err(ConfigError(format!(
                        "{model}.{name} refers to {}, which is not registered",
                        fk.to
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Applies the admin's migrations ([`models::MIGRATIONS`]) to `db`: for an application
/// that creates its tables without migrations. An application with migrations applies
/// them with its own through `manage migrate` instead (the CLI adds the admin's).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// throughline_admin::install(&db).await.unwrap();
/// throughline_admin::install(&db).await.unwrap(); // nothing left to do
/// # }
/// ```
pub async fn install(db: &Database) -> throughline::Result<()> {
    let migrations = models::MIGRATIONS.load()?;
    throughline::migrations::migrate(db, &migrations, None).await?;
    Ok(())
}

/// Serves `router` on `listener` until the process stops, with each connection's
/// address available to the login limiter.
///
/// ```no_run
/// # async fn run(router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// throughline_admin::serve(listener, router).await
/// # }
/// ```
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}
