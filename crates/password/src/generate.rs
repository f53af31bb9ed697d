//! Random passwords and one-time tokens.

use clientele_model::Password;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::PasswordError;

/// Length of tokens from [`generate_token`]. OTOBO's `TokenGenerate` made 14 characters
/// (about 83 bits); 32 alphanumeric characters carry about 190 bits.
pub const TOKEN_LENGTH: usize = 32;

/// Longest password [`generate_password`] makes.
pub const MAX_GENERATED_LENGTH: usize = 1024;

const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the operating system's CSPRNG (`getrandom`).
///
/// # Panics
///
/// When the operating system has no random source to give, as `rand::rng()` would; no input
/// reaches this, and carrying on without randomness would make guessable secrets.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random source failed: {err}");
    }
}

/// `len` characters drawn uniformly from `[0-9A-Za-z]`: random bytes, each below 248 (4 × 62)
/// taken modulo 62, the rest rejected so no character is likelier than another.
pub(crate) fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random_bytes(&mut buf);
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
        }
    }
    out
}

/// A random password of `len` characters from `[0-9A-Za-z]` (OTOBO's
/// `GenerateRandomPassword` alphabet for the DB backend), from a CSPRNG.
///
/// `len` must be 1..=1024; [`PasswordHasher::generate_password`] uses the configured length
/// (default 16).
///
/// [`PasswordHasher::generate_password`]: crate::PasswordHasher::generate_password
///
/// # Errors
///
/// [`PasswordError::InvalidPasswordLength`] for 0 or more than 1024.
///
/// ```
/// use clientele_password::generate_password;
///
/// let pw = generate_password(12).unwrap();
/// assert_eq!(pw.expose().len(), 12);
/// assert!(pw.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
/// assert!(generate_password(0).is_err());
/// ```
pub fn generate_password(len: usize) -> Result<Password, PasswordError> {
    if len == 0 || len > MAX_GENERATED_LENGTH {
        return Err(PasswordError::InvalidPasswordLength {
            length: len,
            min: 1,
            max: MAX_GENERATED_LENGTH,
        });
    }
    Ok(Password::new(random_alphanumeric(len)))
}

/// A one-time token of [`TOKEN_LENGTH`] (32) characters from `[0-9A-Za-z]`, from a CSPRNG:
/// for password-reset links (OTOBO `TokenGenerate`, which made 14).
///
/// The caller stores it (OTOBO: preference `UserToken`) and checks a presented one with
/// [`token_matches`], clearing the stored one after a match so it is used once.
///
/// ```
/// use clientele_password::generate_token;
///
/// let token = generate_token();
/// assert_eq!(token.len(), 32);
/// assert_ne!(token, generate_token());
/// ```
pub fn generate_token() -> String {
    random_alphanumeric(TOKEN_LENGTH)
}

/// The value to store for a one-time token instead of the token itself: its SHA-256 in
/// lower-case hex. A leaked preferences table then yields no usable reset link. Tokens
/// from [`generate_token`] carry about 190 random bits, so a fast unsalted digest is
/// enough; compare a presented token by its digest.
///
/// ```
/// use clientele_password::{generate_token, token_digest};
///
/// let token = generate_token();
/// let stored = token_digest(&token);
/// assert_eq!(stored.len(), 64);
/// assert_eq!(stored, token_digest(&token));
/// assert_ne!(stored, token);
/// ```
pub fn token_digest(token: &str) -> String {
    lower_hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// Whether a presented token equals the stored one, compared in constant time. An empty
/// stored token (OTOBO resets `UserToken` to `''` after use) never matches.
///
/// ```
/// use clientele_password::token_matches;
///
/// assert!(token_matches("Ab3xYz", "Ab3xYz"));
/// assert!(!token_matches("Ab3xYz", "ab3xyz"));
/// assert!(!token_matches("", ""));
/// ```
pub fn token_matches(stored: &str, presented: &str) -> bool {
    !stored.is_empty() && bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::*;

    #[test]
    fn generated_passwords_have_length_and_charset() {
        for len in [1, 8, 16, 100, MAX_GENERATED_LENGTH] {
            let pw = generate_password(len).unwrap();
            assert_eq!(pw.expose().len(), len);
            assert!(pw.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert!(matches!(
            generate_password(0),
            Err(PasswordError::InvalidPasswordLength { length: 0, .. })
        ));
        assert!(generate_password(MAX_GENERATED_LENGTH + 1).is_err());
    }

    #[test]
    fn generated_passwords_use_the_whole_alphabet() {
        let seen: HashSet<u8> = (0..200)
            .flat_map(|_| generate_password(64).unwrap().expose().as_bytes().to_vec())
            .collect();
        assert_eq!(seen.len(), 62, "digits, upper and lower case all appear");
    }

    #[test]
    fn tokens_are_unique_and_alphanumeric() {
        let tokens: HashSet<String> = (0..10_000).map(|_| generate_token()).collect();
        assert_eq!(tokens.len(), 10_000);
        assert!(
            tokens
                .iter()
                .all(|t| t.len() == TOKEN_LENGTH && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn token_digest_is_sha256_hex() {
        // printf abc | sha256sum
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn token_comparison() {
        let token = generate_token();
        assert!(token_matches(&token, &token.clone()));
        assert!(!token_matches(&token, &token[..TOKEN_LENGTH - 1]));
        assert!(!token_matches("", "x"));
    }
}
