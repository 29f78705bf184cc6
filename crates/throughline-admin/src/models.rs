//! Owns the admin's own tables, as throughline models of the `admin` app: its users,
//! their sessions, their per-model permissions and the log of every change made through
//! the admin. They are created by the admin's migrations ([`MIGRATIONS`]), which `manage
//! migrate` applies beside the application's when the application installs the admin.

use chrono::{DateTime, Utc};
use throughline::prelude::*;

/// The admin's migrations, compiled into the crate (the folder `migrations/` beside this
/// crate's `Cargo.toml`). Their names start with `admin_`, so they sit beside the
/// application's own in the one migration history.
///
/// ```
/// let migrations = throughline_admin::models::MIGRATIONS.load().unwrap();
/// assert!(migrations[0].name.starts_with("admin_"));
/// ```
pub static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
    throughline::embed_migrations!("migrations");

/// A person who may log in to the admin.
///
/// ```
/// let meta = <throughline_admin::models::AdminUser as throughline::Model>::meta();
/// assert_eq!(meta.table, "throughline_admin_user");
/// ```
#[derive(Debug, Clone, Model)]
#[throughline(
    table = "throughline_admin_user",
    app = "admin",
    display("username"),
    ordering("username"),
    verbose_name = "user"
)]
pub struct AdminUser {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The login name.
    #[throughline(max_length = 150, unique)]
    pub username: String,
    /// The Argon2id hash of the password, as a PHC string (`$argon2id$v=19$...`); an
    /// empty string for a user who cannot log in with a password.
    #[throughline(max_length = 255)]
    pub password: String,
    /// Has every permission.
    pub is_superuser: bool,
    /// May log in to the admin.
    pub is_staff: bool,
    /// An inactive user cannot log in (its sessions stop working).
    pub is_active: bool,
    /// When the user last logged in.
    pub last_login: Option<DateTime<Utc>>,
    /// When the user was created.
    #[throughline(auto_now_add)]
    pub date_joined: DateTime<Utc>,
}

/// A logged-in session: the hash of the token its cookie carries, never the token.
///
/// ```
/// let meta = <throughline_admin::models::AdminSession as throughline::Model>::meta();
/// assert!(meta.field("token_hash").unwrap().unique);
/// ```
#[derive(Debug, Clone, Model)]
#[throughline(
    table = "throughline_admin_session",
    app = "admin",
    verbose_name = "session"
)]
pub struct AdminSession {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// SHA-256 of the cookie's token, in hex.
    #[throughline(max_length = 64, unique)]
    pub token_hash: String,
    /// Whose session.
    #[throughline(related_name = "sessions")]
    pub user: ForeignKey<AdminUser>,
    /// The token every form of this session must send back (CSRF).
    #[throughline(max_length = 64)]
    pub csrf_token: String,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// A message for the next page (after a save, the outcome in words); blank if none.
    #[throughline(blank)]
    pub flash: String,
}

/// One permission of a staff user: an action (`view`, `add`, `change`, `delete`) on a
/// model, by the model's name.
///
/// ```
/// let meta = <throughline_admin::models::AdminPermission as throughline::Model>::meta();
/// assert_eq!(meta.unique_constraints[0].name, "throughline_admin_permission_unique");
/// ```
#[derive(Debug, Clone, Model)]
#[throughline(
    table = "throughline_admin_permission",
    app = "admin",
    verbose_name = "permission",
    unique(
        name = "throughline_admin_permission_unique",
        fields("user", "model", "action")
    )
)]
pub struct AdminPermission {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Whose permission.
    #[throughline(related_name = "permissions")]
    pub user: ForeignKey<AdminUser>,
    /// The model's name (`Course`).
    #[throughline(max_length = 200)]
    pub model: String,
    /// `view`, `add`, `change` or `delete`.
    #[throughline(max_length = 10)]
    pub action: String,
}

/// What an entry of the admin's history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
pub enum LogAction {
    /// An object was added.
    #[default]
    Add,
    /// An object was changed.
    Change,
    /// An object was deleted.
    Delete,
}

/// One change made through the admin: who, when, which object, what.
///
/// ```
/// let meta = <throughline_admin::models::AdminLog as throughline::Model>::meta();
/// assert_eq!(meta.ordering, vec!["-action_time".to_owned()]);
/// ```
#[derive(Debug, Clone, Model)]
#[throughline(
    table = "throughline_admin_log",
    app = "admin",
    verbose_name = "log entry",
    verbose_name_plural = "log entries",
    ordering("-action_time"),
    index(name = "throughline_admin_log_object", fields("model", "object_key"))
)]
pub struct AdminLog {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Who made the change.
    #[throughline(related_name = "log_entries")]
    pub user: ForeignKey<AdminUser>,
    /// When.
    #[throughline(auto_now_add)]
    pub action_time: DateTime<Utc>,
    /// The model's name.
    #[throughline(max_length = 200)]
    pub model: String,
    /// The object's key, as text.
    #[throughline(max_length = 200)]
    pub object_key: String,
    /// The object's display string at the time.
    #[throughline(max_length = 200)]
    pub object_repr: String,
    /// Added, changed or deleted.
    pub action: LogAction,
    /// What changed, in words.
    #[throughline(blank)]
    pub message: String,
}

/// The admin's models, for its migrations and checks.
///
/// ```
/// assert_eq!(throughline_admin::models::registry().models().len(), 4);
/// ```
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(AdminUser::meta())
        .register(AdminSession::meta())
        .register(AdminPermission::meta())
        .register(AdminLog::meta());
    registry
}
