//! Owns what an application says about its admin: [`AdminConfig`] (where it is mounted,
//! its title, sessions, login limits) and a [`ModelAdmin`] per model (the columns of its
//! change list, the fields searched and filtered), as Django's `ModelAdmin`.

use std::collections::HashMap;
use std::time::Duration;

/// How the admin runs.
///
/// ```
/// use throughline_admin::{AdminConfig, ModelAdmin};
/// let config = AdminConfig::default()
///     .prefix("/backoffice")
///     .model("Course", ModelAdmin::default().list_display(["title"]).search_fields(["title"]));
/// assert_eq!(config.prefix, "/backoffice");
/// assert_eq!(config.model_admin("Course").list_display, vec!["title".to_owned()]);
/// ```
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The path the admin is served under (default `/admin`), without a trailing slash.
    pub prefix: String,
    /// The title of every page (default "throughline administration").
    pub site_title: String,
    /// How long a login lasts (default 12 hours).
    pub session_age: Duration,
    /// Whether cookies are marked `Secure` (sent over HTTPS only). Default `false`, so the
    /// admin works on `http://127.0.0.1`; set it behind HTTPS.
    pub secure_cookies: bool,
    /// Failed logins allowed per minute for one user name from one address before further
    /// attempts get 429 (default 10).
    pub login_attempts_per_minute: u32,
    /// Rows per change-list page (default 100).
    pub page_size: u64,
    /// Per-model settings, by model name.
    pub models: HashMap<String, ModelAdmin>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            prefix: "/admin".into(),
            site_title: "throughline administration".into(),
            session_age: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            login_attempts_per_minute: 10,
            page_size: 100,
            models: HashMap::new(),
        }
    }
}

impl AdminConfig {
    /// Serves the admin under `prefix` (`"/backoffice"`; a trailing slash is dropped).
    ///
    /// ```
    /// assert_eq!(throughline_admin::AdminConfig::default().prefix("/ops/").prefix, "/ops");
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Sets the settings of the model named `model`.
    ///
    /// ```
    /// let c = throughline_admin::AdminConfig::default()
    ///     .model("Student", throughline_admin::ModelAdmin::default().search_fields(["name"]));
    /// assert_eq!(c.model_admin("Student").search_fields, vec!["name".to_owned()]);
    /// ```
    pub fn model(mut self, model: &str, admin: ModelAdmin) -> Self {
        self.models.insert(model.to_owned(), admin);
        self
    }

    /// The settings of `model` (the defaults when none were given).
    ///
    /// ```
    /// let c = throughline_admin::AdminConfig::default();
    /// assert!(c.model_admin("Anything").list_display.is_empty());
    /// ```
    pub fn model_admin(&self, model: &str) -> ModelAdmin {
        self.models.get(model).cloned().unwrap_or_default()
    }
}

/// How one model shows in the admin.
///
/// ```
/// let admin = throughline_admin::ModelAdmin::default()
///     .list_display(["student", "course", "grade"])
///     .list_filter(["status"]);
/// assert_eq!(admin.list_filter, vec!["status".to_owned()]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ModelAdmin {
    /// The change list's columns, as field names (a foreign key shows the related row's
    /// display string, read through one join). Empty: one column, the display string.
    pub list_display: Vec<String>,
    /// The fields the search box looks in (ASCII case-insensitive substring). Empty: the
    /// model's text `display` fields.
    pub search_fields: Vec<String>,
    /// The fields offered as filters beside the change list (choices, booleans, foreign
    /// keys, dates).
    pub list_filter: Vec<String>,
}

impl ModelAdmin {
    /// Sets the change list's columns.
    ///
    /// ```
    /// let a = throughline_admin::ModelAdmin::default().list_display(["name", "email"]);
    /// assert_eq!(a.list_display.len(), 2);
    /// ```
    pub fn list_display<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.list_display = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the fields searched.
    ///
    /// ```
    /// let a = throughline_admin::ModelAdmin::default().search_fields(["name"]);
    /// assert_eq!(a.search_fields, vec!["name".to_owned()]);
    /// ```
    pub fn search_fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.search_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the fields filtered on.
    ///
    /// ```
    /// let a = throughline_admin::ModelAdmin::default().list_filter(["status"]);
    /// assert_eq!(a.list_filter, vec!["status".to_owned()]);
    /// ```
    pub fn list_filter<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.list_filter = fields.into_iter().map(Into::into).collect();
        self
    }
}
