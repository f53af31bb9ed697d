//! # clientele-password
//!
//! Password hashing and verification, generated passwords and one-time tokens, usable without
//! the rest of Clientele: it depends on `clientele-model` (for the secret [`Password`] type) and
//! the hash crates only.
//!
//! New passwords are hashed with argon2id (a PHC string), or standard bcrypt (`$2b$`) if
//! configured. Verification accepts every format an OTOBO/Znuny customer-user table may
//! hold, chosen from the stored value as OTOBO's `CustomerAuth::DB` does, so an existing
//! database keeps working; a successful login against a legacy value reports
//! `needs_rehash` so the caller can store a fresh hash (see [`HashFormat`] for the
//! formats and [`PasswordHasher::verify`] for the rules).
//!
//! Plain-text passwords are always a [`Password`], which never
//! prints and is zeroised on drop; no error of this crate carries one.
//!
//! ```
//! use clientele_password::{
//!     Argon2Params, PasswordConfig, PasswordHasher, Verification, generate_token,
//! };
//! use clientele_model::Password;
//!
//! let hasher = PasswordHasher::new(PasswordConfig {
//!     argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
//!     ..PasswordConfig::default()
//! })?;
//!
//! // A new customer user without a password gets a generated one, shown once.
//! let initial = hasher.generate_password();
//! assert_eq!(initial.expose().len(), 16);
//! let stored = hasher.hash(&initial)?.into_string();
//!
//! // Login.
//! match hasher.verify(&stored, "jdoe", &initial) {
//!     Verification::Valid { needs_rehash: true } => { /* store hasher.hash(..) */ }
//!     Verification::Valid { needs_rehash: false } => {}
//!     Verification::Invalid => unreachable!(),
//! }
//!
//! // OTOBO's md5-crypt with the login as salt still works, and asks to be replaced.
//! let legacy = "$1$mgr$YmxCrgiPcBnE3fyljVimC/";
//! assert!(hasher.verify(legacy, "mgr", &Password::new("password")).needs_rehash());
//!
//! // Password-reset token.
//! assert_eq!(generate_token().len(), 32);
//! # Ok::<(), clientele_password::PasswordError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod des;
mod error;
mod format;
mod generate;
mod hasher;
mod md5_crypt;
mod otobo_bcrypt;
mod unix_crypt;

pub use clientele_model::Password;
pub use config::{Argon2Params, CryptType, HashAlgorithm, PasswordConfig, PlainText};
pub use error::PasswordError;
pub use format::HashFormat;
pub use generate::{
    MAX_GENERATED_LENGTH, TOKEN_LENGTH, generate_password, generate_token, token_digest,
    token_matches,
};
pub use hasher::{MAX_ARGON2_MEMORY_KIB, PasswordHasher, StoredHash, Verification};

#[cfg(test)]
mod tests;

/// The README's code, compiled as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
