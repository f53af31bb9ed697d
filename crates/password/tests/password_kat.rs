//! Known-answer tests: every stored value in `fixtures/password_kat.tsv` was computed by a
//! tool that shares no code with Clientele (libcrypt, OpenSSL, hashlib, Python bcrypt,
//! Crypt::Eksblowfish, argon2-cffi; see `scripts/gen-password-fixtures.py`). Each one must
//! verify with its password, be read as the right format, ask for a rehash, and refuse the
//! row's wrong password.

use clientele_model::Password;
use clientele_password::{Argon2Params, HashFormat, PasswordConfig, PasswordHasher, Verification};

#[path = "support/vectors.rs"]
mod vectors;

use vectors::{Vector, vectors};

fn expected_format(name: &str) -> HashFormat {
    match name {
        "des" => HashFormat::DesCrypt,
        "crypt_login" | "plain" => HashFormat::Other,
        "md5_crypt" => HashFormat::Md5Crypt,
        "apr1" => HashFormat::Apr1,
        "sha1" => HashFormat::Sha1Hex,
        "sha256" => HashFormat::Sha256Hex,
        "sha512" => HashFormat::Sha512Hex,
        "otobo_bcrypt" => HashFormat::OtoboBcrypt,
        "bcrypt" => HashFormat::Bcrypt,
        "argon2id" | "argon2i" => HashFormat::Argon2,
        other => panic!("unknown format {other} in fixture"),
    }
}

/// The default config except for cheap argon2 parameters, which differ from the
/// fixture's, so every vector (even argon2id) must ask for a rehash.
fn hasher() -> PasswordHasher {
    PasswordHasher::new(PasswordConfig {
        argon2: Argon2Params {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        },
        ..PasswordConfig::default()
    })
    .unwrap()
}

#[test]
fn fixture_covers_every_format_and_the_awkward_passwords() {
    let vectors = vectors();
    for format in [
        "des",
        "crypt_login",
        "md5_crypt",
        "apr1",
        "sha1",
        "sha256",
        "sha512",
        "otobo_bcrypt",
        "bcrypt",
        "argon2id",
        "argon2i",
        "plain",
    ] {
        let rows: Vec<&Vector> = vectors.iter().filter(|v| v.format == format).collect();
        assert!(rows.len() >= 3, "{format}: only {} vectors", rows.len());
        if matches!(format, "crypt_login" | "plain" | "argon2i") {
            continue;
        }
        for needle in ["Пароль", "كلمة", "ä", "カス", "\t", "\n", "'UNION'", "';"] {
            assert!(
                rows.iter().any(|v| v.password.contains(needle)),
                "{format}: no password with {needle:?}"
            );
        }
        assert!(
            rows.iter().any(|v| v.password == "a".repeat(64)),
            "{format}: no 64 x a"
        );
    }
}

#[test]
fn every_vector_verifies_and_asks_for_rehash() {
    let hasher = hasher();
    for v in vectors() {
        assert_eq!(
            HashFormat::detect(&v.stored),
            expected_format(&v.format),
            "line {}: format of {:?}",
            v.line,
            v.stored
        );
        assert_eq!(
            hasher.verify(&v.stored, &v.login, &Password::new(v.password.as_str())),
            Verification::Valid { needs_rehash: true },
            "line {}: {} for login {:?}",
            v.line,
            v.format,
            v.login
        );
    }
}

#[test]
fn every_wrong_password_fails() {
    let hasher = hasher();
    for v in vectors() {
        assert_eq!(
            hasher.verify(&v.stored, &v.login, &Password::new(v.wrong.as_str())),
            Verification::Invalid,
            "line {}: {} accepted the wrong password",
            v.line,
            v.format
        );
        assert_eq!(
            hasher.verify(&v.stored, &v.login, &Password::new("")),
            Verification::Invalid,
            "line {}: empty password",
            v.line
        );
    }
}

#[test]
fn no_stored_value_is_its_own_password() {
    let hasher = hasher();
    for v in vectors().iter().filter(|v| v.format != "plain") {
        assert_eq!(
            hasher.verify(&v.stored, &v.login, &Password::new(v.stored.as_str())),
            Verification::Invalid,
            "line {}: {} accepted the stored value as password",
            v.line,
            v.format
        );
    }
}

#[test]
fn without_rehash_flag_legacy_vectors_stay() {
    let hasher = PasswordHasher::new(PasswordConfig {
        rehash_legacy_on_login: false,
        ..PasswordConfig::default()
    })
    .unwrap();
    for v in vectors() {
        let outcome = hasher.verify(&v.stored, &v.login, &Password::new(v.password.as_str()));
        let ours = matches!(v.format.as_str(), "bcrypt" | "argon2id" | "argon2i");
        // Our own formats still differ from the config (cost, parameters, variant).
        assert_eq!(
            outcome,
            Verification::Valid { needs_rehash: ours },
            "line {}: {}",
            v.line,
            v.format
        );
    }
}
