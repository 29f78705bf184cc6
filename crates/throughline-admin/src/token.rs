//! Owns the secrets a session needs: random tokens (32 bytes from the operating system
//! through `getrandom`, sent base64url) and their SHA-256 hashes (`sha2`), which are what
//! the database stores, so a leaked table does not log anyone in. Comparisons of secrets
//! take the same time whatever the first difference.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new random token: 32 bytes, base64url without padding (43 characters).
///
/// ```
/// let a = throughline_admin::token::random().unwrap();
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, throughline_admin::token::random().unwrap());
/// ```
pub fn random() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of `token`, in lowercase hex (64 characters): what the session table
/// holds.
///
/// ```
/// let h = throughline_admin::token::hashed("abc");
/// assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
pub fn hashed(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two secrets are equal, in time that depends only on their lengths.
///
/// ```
/// assert!(throughline_admin::token::same("abc", "abc"));
/// assert!(!throughline_admin::token::same("abc", "abd"));
/// assert!(!throughline_admin::token::same("abc", "ab"));
/// ```
pub fn same(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
