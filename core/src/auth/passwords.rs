//! argon2id password hashing.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use rand::RngCore;

use super::AuthError;
use crate::error::FieldError;

/// Minimum password length, characters.
pub const PASSWORD_MIN: usize = 10;
/// Maximum password length, bytes: argon2 input stays bounded.
pub const PASSWORD_MAX_BYTES: usize = 1024;

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|_| AuthError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Hash)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Password hashing and verification (about 19 MiB and tens of milliseconds each) run on the
/// blocking pool, at most this many at once: a flood of logins waits its turn instead of
/// exhausting memory or starving the rest of the server. Set once at start (`auth.password_concurrency`).
static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();

/// Sets how many password operations run at once (0: one per core); the first call wins.
pub fn set_concurrency(n: usize) {
    let n = if n == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        n
    };
    let _ = PERMITS.set(tokio::sync::Semaphore::new(n));
}

fn permits() -> &'static tokio::sync::Semaphore {
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Hashes a password off the async workers, within the concurrency bound.
pub async fn hash_password_bounded(password: &str) -> Result<String, AuthError> {
    let _permit = permits().acquire().await.map_err(|_| AuthError::Hash)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| AuthError::Hash)?
}

/// Verifies a password off the async workers, within the concurrency bound.
pub async fn verify_password_bounded(password: &str, hash: &str) -> bool {
    let Ok(_permit) = permits().acquire().await else {
        return false;
    };
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// A hash of nothing anyone knows, verified against when the account does not exist, so that
/// a login for an unknown e-mail takes as long as one with a wrong password.
pub(crate) fn decoy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

/// The password rules, as field errors.
pub(crate) fn check_password(password: &str, errors: &mut Vec<FieldError>) {
    if password.chars().count() < PASSWORD_MIN {
        errors.push(FieldError::new(
            "password",
            "minLength",
            format!("at least {PASSWORD_MIN} characters"),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        errors.push(FieldError::new(
            "password",
            "maxLength",
            format!("at most {PASSWORD_MAX_BYTES} bytes"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("كلمة-سر-طويلة").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("كلمة-سر-طويلة", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("anything", decoy_hash()));
    }
}
