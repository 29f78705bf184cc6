//! Owns password hashing: Argon2id through the `argon2` crate (RustCrypto), with its
//! default parameters (19 MiB, 2 passes), stored as PHC strings. Hashing runs on tokio's
//! blocking pool, so a login does not stall the server's other requests.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The shortest password [`hash`] accepts.
///
/// ```
/// assert_eq!(throughline_admin::password::MIN_LENGTH, 8);
/// ```
pub const MIN_LENGTH: usize = 8;

/// Why a password was refused.
///
/// ```
/// let error = throughline_admin::password::PasswordError("too short".into());
/// assert_eq!(error.to_string(), "too short");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordError(pub String);

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PasswordError {}

/// The Argon2id hash of `password` as a PHC string, with a fresh random salt. Refuses a
/// password shorter than [`MIN_LENGTH`] characters or longer than 4096 bytes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let stored = throughline_admin::password::hash("correct horse").await.unwrap();
/// assert!(stored.starts_with("$argon2id$"));
/// assert!(throughline_admin::password::verify("correct horse", &stored).await);
/// assert!(!throughline_admin::password::verify("wrong horse", &stored).await);
/// assert!(throughline_admin::password::hash("short").await.is_err());
/// # }
/// ```
pub async fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError(format!(
            "the password is too short: at least {MIN_LENGTH} characters"
        )));
    }
    if password.len() > 4096 {
        return Err(PasswordError("the password is too long".into()));
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| PasswordError(format!("the hashing task failed: {e}")))?
}

/// Whether `password` matches the PHC string `stored`. A malformed or empty `stored`
/// (a user without a password) matches nothing; the work is the same either way, so the
/// answer's timing does not tell whether the user exists.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert!(!throughline_admin::password::verify("anything", "").await);
/// # }
/// ```
pub async fn verify(password: &str, stored: &str) -> bool {
    let password = password.to_owned();
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        let argon2 = Argon2::default();
        if stored.starts_with("$argon2") {
            argon2
                .verify_password(password.as_bytes(), stored.as_str())
                .is_ok()
        } else {
            // The same work against a hash of a password nobody knows, then no.
            let _ = argon2.verify_password(password.as_bytes(), decoy());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// The Argon2id hash (default parameters) of a random password, made once.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 32];
        let _ = getrandom::fill(&mut secret);
        Argon2::default()
            .hash_password(&secret)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}
