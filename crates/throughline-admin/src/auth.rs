//! Owns who is logged in: creating users and setting passwords (what `manage
//! createsuperuser` and `changepassword` call), checking a login, opening, loading and
//! closing sessions, and per-model permissions. Sessions are rows of
//! [`AdminSession`] found by the SHA-256 of the cookie's token.

use crate::models::{AdminPermission, AdminSession, AdminUser};
use crate::{password, token};
use chrono::Utc;
use throughline::Error;
use throughline::prelude::*;

/// Why an account operation failed.
///
/// ```
/// let error = throughline_admin::auth::AccountError::Invalid("the user name admin is taken".into());
/// assert_eq!(error.to_string(), "the user name admin is taken");
/// ```
#[derive(Debug)]
pub enum AccountError {
    /// The input is wrong (a blank or over-long user name, a weak password, a taken name,
    /// an unknown user); the message says what.
    Invalid(String),
    /// The database failed.
    Database(Error),
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountError::Invalid(message) => f.write_str(message),
            AccountError::Database(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for AccountError {}

impl From<Error> for AccountError {
    fn from(error: Error) -> Self {
        AccountError::Database(error)
    }
}

/// Which kind of user [`create_user`] makes.
///
/// ```
/// assert_ne!(throughline_admin::auth::Role::Superuser, throughline_admin::auth::Role::Staff);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every permission.
    Superuser,
    /// May log in; sees what its permissions allow.
    Staff,
}

/// Creates an active user who may log in to the admin, with `password` hashed (Argon2id).
/// A blank or over-long (150) name, a name taken, or a password shorter than
/// [`password::MIN_LENGTH`] is refused and nothing is written.
///
/// ```
/// # use throughline_admin::auth::{create_user, Role};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// throughline_admin::install(&db).await.unwrap();
/// let admin = create_user(&db, "admin", "correct horse", Role::Superuser).await.unwrap();
/// assert!(admin.is_superuser);
/// assert!(create_user(&db, "admin", "correct horse", Role::Staff).await.is_err());
/// # }
/// ```
pub async fn create_user(
    db: &Database,
    username: &str,
    password: &str,
    role: Role,
) -> Result<AdminUser, AccountError> {
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 150 {
        return Err(AccountError::Invalid(
            "the user name must have 1 to 150 characters".into(),
        ));
    }
    let hashed = password::hash(password)
        .await
        .map_err(|e| AccountError::Invalid(e.to_string()))?;
    let user = AdminUser {
        id: None,
        username: username.to_owned(),
        password: hashed,
        is_superuser: role == Role::Superuser,
        is_staff: true,
        is_active: true,
        last_login: None,
        date_joined: Utc::now(),
    };
    match user.create(db).await {
        Ok(user) => Ok(user),
        Err(error) if error.constraint().is_some() => Err(AccountError::Invalid(format!(
            "the user name {username} is taken"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// Sets `username`'s password (Argon2id) and closes its sessions.
///
/// ```
/// # use throughline_admin::auth::{create_user, set_password, Role};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// # throughline_admin::install(&db).await.unwrap();
/// create_user(&db, "admin", "correct horse", Role::Superuser).await.unwrap();
/// set_password(&db, "admin", "battery staple").await.unwrap();
/// assert!(set_password(&db, "nobody", "battery staple").await.is_err());
/// # }
/// ```
pub async fn set_password(
    db: &Database,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    let hashed = password::hash(password)
        .await
        .map_err(|e| AccountError::Invalid(e.to_string()))?;
    let mut user = find_user(db, username)
        .await?
        .ok_or_else(|| AccountError::Invalid(format!("there is no user {username}")))?;
    user.password = hashed;
    let tx = db.begin().await?;
    user.save(&tx).await?;
    AdminSession::objects()
        .filter(AdminSession::USER_ID.eq(&user))
        .delete(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The user named `username`, if any.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// # throughline_admin::install(&db).await.unwrap();
/// assert!(throughline_admin::auth::find_user(&db, "nobody").await.unwrap().is_none());
/// # }
/// ```
pub async fn find_user(db: &Database, username: &str) -> Result<Option<AdminUser>, Error> {
    AdminUser::objects()
        .filter(AdminUser::USERNAME.eq(username))
        .first(db)
        .await
}

/// The user whose name and password match, if active and staff; `None` otherwise (a wrong
/// password, an unknown name and an inactive user look the same, and take the same time).
///
/// ```
/// # use throughline_admin::auth::{authenticate, create_user, Role};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// # throughline_admin::install(&db).await.unwrap();
/// create_user(&db, "ann", "correct horse", Role::Staff).await.unwrap();
/// assert!(authenticate(&db, "ann", "correct horse").await.unwrap().is_some());
/// assert!(authenticate(&db, "ann", "wrong horse").await.unwrap().is_none());
/// assert!(authenticate(&db, "bob", "correct horse").await.unwrap().is_none());
/// # }
/// ```
pub async fn authenticate(
    db: &Database,
    username: &str,
    password: &str,
) -> Result<Option<AdminUser>, Error> {
    let user = find_user(db, username).await?;
    let stored = user.as_ref().map(|u| u.password.as_str()).unwrap_or("");
    let matches = password::verify(password, stored).await;
    Ok(user.filter(|u| matches && u.is_active && u.is_staff))
}

/// A session's secrets, as they leave the server.
#[derive(Debug, Clone)]
pub(crate) struct NewSession {
    /// The token for the cookie (only its hash is stored).
    pub token: String,
}

/// Opens a session for `user` lasting `age`, and records the login time.
pub(crate) async fn open_session(
    db: &Database,
    user: &AdminUser,
    age: std::time::Duration,
) -> Result<NewSession, Error> {
    let secret = |e: getrandom::Error| Error::Config(format!("no random source: {e}"));
    let token = token::random().map_err(secret)?;
    let csrf = token::random().map_err(secret)?;
    let expires =
        Utc::now() + chrono::Duration::from_std(age).unwrap_or(chrono::Duration::hours(12));
    let tx = db.begin().await?;
    AdminSession {
        id: None,
        token_hash: token::hashed(&token),
        user: ForeignKey::to(user),
        csrf_token: csrf,
        expires_at: expires,
        flash: String::new(),
    }
    .create(&tx)
    .await?;
    AdminUser::objects()
        .filter(AdminUser::ID.eq(user.id))
        .update(vec![AdminUser::LAST_LOGIN.set(Some(Utc::now()))], &tx)
        .await?;
    // Expired sessions of anyone are dropped here, so the table does not grow forever.
    AdminSession::objects()
        .filter(AdminSession::EXPIRES_AT.lt(Utc::now()))
        .delete(&tx)
        .await?;
    tx.commit().await?;
    Ok(NewSession { token })
}

/// The logged-in user of a request: the session (not expired) whose token the cookie
/// carries, with its user (active and staff), read in one statement.
#[derive(Debug, Clone)]
pub(crate) struct CurrentUser {
    /// The session row.
    pub session: AdminSession,
    /// Its user.
    pub user: AdminUser,
}

/// The session `token` opens, if it is current and its user may use the admin.
pub(crate) async fn load_session(db: &Database, token: &str) -> Result<Option<CurrentUser>, Error> {
    let session = AdminSession::objects()
        .filter(AdminSession::TOKEN_HASH.eq(token::hashed(token)))
        .filter(AdminSession::EXPIRES_AT.gt(Utc::now()))
        .select_related(AdminSession::USER)
        .first(db)
        .await?;
    let Some(session) = session else {
        return Ok(None);
    };
    let Some(user) = session.user.loaded().cloned() else {
        return Ok(None);
    };
    if !user.is_active || !user.is_staff {
        return Ok(None);
    }
    Ok(Some(CurrentUser { session, user }))
}

/// Closes `session` (logout).
pub(crate) async fn close_session_by_id(
    db: &Database,
    session: &AdminSession,
) -> Result<(), Error> {
    session.delete(db).await?;
    Ok(())
}

/// Stores a message for the next page of the session `token` opens.
pub(crate) async fn set_flash_by_token(
    db: &Database,
    token: &str,
    message: &str,
) -> Result<(), Error> {
    AdminSession::objects()
        .filter(AdminSession::TOKEN_HASH.eq(token::hashed(token)))
        .update(vec![AdminSession::FLASH.set(message.to_owned())], db)
        .await?;
    Ok(())
}

/// Stores a message for the session's next page.
pub(crate) async fn set_flash(
    db: &impl Executor,
    session: &AdminSession,
    message: &str,
) -> Result<(), Error> {
    AdminSession::objects()
        .filter(AdminSession::ID.eq(session.id))
        .update(vec![AdminSession::FLASH.set(message.to_owned())], db)
        .await?;
    Ok(())
}

/// Takes the session's pending message (clearing it), if any.
pub(crate) async fn take_flash(
    db: &Database,
    current: &CurrentUser,
) -> Result<Option<String>, Error> {
    if current.session.flash.is_empty() {
        return Ok(None);
    }
    set_flash(db, &current.session, "").await?;
    Ok(Some(current.session.flash.clone()))
}

/// An action on a model that a permission allows.
///
/// ```
/// use throughline_admin::auth::Action;
/// assert_eq!([Action::View, Action::Add, Action::Delete].map(Action::name), ["view", "add", "delete"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the change list and the objects.
    View,
    /// Add objects.
    Add,
    /// Change objects.
    Change,
    /// Delete objects.
    Delete,
}

impl Action {
    /// The stored name (`view`, `add`, `change`, `delete`).
    ///
    /// ```
    /// assert_eq!(throughline_admin::auth::Action::Change.name(), "change");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Add => "add",
            Action::Change => "change",
            Action::Delete => "delete",
        }
    }
}

/// What a user may do: everything for a superuser, else its permission rows.
///
/// ```
/// use throughline_admin::auth::{Action, Permissions};
/// assert!(!Permissions::Granted(vec![]).allows("Course", Action::View));
/// ```
#[derive(Debug, Clone)]
pub enum Permissions {
    /// A superuser.
    All,
    /// A staff user's (model, action) pairs.
    Granted(Vec<(String, String)>),
}

impl Permissions {
    /// Whether `action` on `model` is allowed. Changing implies viewing, as Django.
    ///
    /// ```
    /// use throughline_admin::auth::{Action, Permissions};
    /// let p = Permissions::Granted(vec![("Course".into(), "change".into())]);
    /// assert!(p.allows("Course", Action::View));
    /// assert!(!p.allows("Course", Action::Delete));
    /// assert!(Permissions::All.allows("Anything", Action::Delete));
    /// ```
    pub fn allows(&self, model: &str, action: Action) -> bool {
        match self {
            Permissions::All => true,
            Permissions::Granted(pairs) => pairs.iter().any(|(m, a)| {
                m == model && (a == action.name() || (action == Action::View && a == "change"))
            }),
        }
    }
}

/// The permissions of `user` (no query for a superuser).
///
/// ```
/// # use throughline_admin::auth::{create_user, permissions, Action, Role};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// # throughline_admin::install(&db).await.unwrap();
/// let clerk = create_user(&db, "clerk", "correct horse", Role::Staff).await.unwrap();
/// assert!(!permissions(&db, &clerk).await.unwrap().allows("Course", Action::View));
/// # }
/// ```
pub async fn permissions(db: &Database, user: &AdminUser) -> Result<Permissions, Error> {
    if user.is_superuser {
        return Ok(Permissions::All);
    }
    let rows = AdminPermission::objects()
        .filter(AdminPermission::USER_ID.eq(user))
        .all(db)
        .await?;
    Ok(Permissions::Granted(
        rows.into_iter().map(|p| (p.model, p.action)).collect(),
    ))
}

/// Grants `user` the permission to `action` on `model` (idempotent).
///
/// ```
/// # use throughline_admin::auth::{create_user, grant, permissions, Action, Role};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let db = throughline::Database::connect("sqlite::memory:").await.unwrap();
/// # throughline_admin::install(&db).await.unwrap();
/// let clerk = create_user(&db, "clerk", "correct horse", Role::Staff).await.unwrap();
/// grant(&db, &clerk, "Course", Action::View).await.unwrap();
/// grant(&db, &clerk, "Course", Action::View).await.unwrap();
/// assert!(permissions(&db, &clerk).await.unwrap().allows("Course", Action::View));
/// # }
/// ```
pub async fn grant(
    db: &Database,
    user: &AdminUser,
    model: &str,
    action: Action,
) -> Result<(), Error> {
    let exists = AdminPermission::objects()
        .filter(AdminPermission::USER_ID.eq(user))
        .filter(AdminPermission::MODEL.eq(model))
        .filter(AdminPermission::ACTION.eq(action.name()))
        .exists(db)
        .await?;
    if !exists {
        AdminPermission {
            id: None,
            user: ForeignKey::to(user),
            model: model.to_owned(),
            action: action.name().to_owned(),
        }
        .create(db)
        .await?;
    }
    Ok(())
}
