//! Every hash Clientele writes for OTOBO is accepted by OTOBO's own check, run in Perl with
//! OTOBO's modules, and refused there for a wrong password.

#[path = "support/otobo_perl.rs"]
mod otobo_perl;

use clientele_model::Password;
use clientele_password::{
    CryptType, HashAlgorithm, HashFormat, PasswordConfig, PasswordHasher, Verification,
};
use otobo_perl::otobo_accepts;

fn passwords() -> Vec<String> {
    vec![
        "secret".into(),
        "Grüße, Ünïcödé – パスワード".into(),
        "with spaces and \"quotes\" and \\ back".into(),
        // 71 bytes: the longest OTOBO's bcrypt reads whole.
        "é".repeat(35) + "a",
        // Over 72 bytes: the hex digests take it whole.
        "0123456789".repeat(12),
    ]
}

fn hasher(config: PasswordConfig) -> PasswordHasher {
    PasswordHasher::new(config).unwrap()
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn otobo_verifies_what_clientele_writes_beside_it() {
    for crypt_type in [
        CryptType::Bcrypt,
        CryptType::Sha2,
        CryptType::Sha512,
        CryptType::Md5,
    ] {
        let h = hasher(
            PasswordConfig {
                bcrypt_cost: 4,
                ..PasswordConfig::default()
            }
            .beside_otobo(crypt_type),
        );
        for pw in passwords() {
            let stored = match h.hash(&Password::new(pw.clone())) {
                Ok(s) => s.into_string(),
                Err(e) => {
                    // Only OTOBO's bcrypt refuses, and only what it would cut.
                    assert_eq!(h.config().algorithm, HashAlgorithm::OtoboBcrypt);
                    assert!(pw.len() > 71, "{e}");
                    continue;
                }
            };
            assert!(
                h.config().algorithm.otobo_verifies(),
                "{crypt_type:?} wrote {stored}"
            );
            let name = format!("{crypt_type:?}");
            let otobo_type = name.to_lowercase();
            assert!(
                otobo_accepts(&otobo_type, "jdoe", &stored, &pw),
                "OTOBO ({otobo_type}) refused {stored} for {pw:?}"
            );
            let mut wrong = pw.clone();
            wrong.push('x');
            assert!(!otobo_accepts(&otobo_type, "jdoe", &stored, &wrong));
            assert_eq!(
                h.verify(&stored, "jdoe", &Password::new(pw.clone())),
                Verification::Valid {
                    needs_rehash: false
                }
            );
        }
    }
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn otobo_verifies_bcrypt_at_the_default_cost() {
    let h = hasher(PasswordConfig::default().beside_otobo(CryptType::Bcrypt));
    assert_eq!(h.config().bcrypt_cost, 12);
    let stored = h.hash(&Password::new("Grüße")).unwrap().into_string();
    assert!(stored.starts_with("BCRYPT:12:"), "{stored}");
    assert!(otobo_accepts("bcrypt", "jdoe", &stored, "Grüße"));
    assert!(!otobo_accepts("bcrypt", "jdoe", &stored, "Grusse"));
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn argon2_and_standard_bcrypt_are_what_otobo_refuses() {
    // Why coexistence exists: the formats Clientele writes on its own lock OTOBO out.
    for algorithm in [HashAlgorithm::Argon2id, HashAlgorithm::Bcrypt] {
        let h = hasher(PasswordConfig {
            algorithm,
            bcrypt_cost: 4,
            argon2: clientele_password::Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        });
        let stored = h.hash(&Password::new("secret")).unwrap().into_string();
        assert!(
            !otobo_accepts("bcrypt", "jdoe", &stored, "secret"),
            "{stored}"
        );
    }
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn plain_values_shaped_like_hashes_log_in_on_both_sides() {
    let h = hasher(PasswordConfig::default().beside_otobo(CryptType::Plain));
    for stored in [
        "Summer2024abc",
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        assert_ne!(HashFormat::detect(stored), HashFormat::Other);
        assert!(otobo_accepts("plain", "jdoe", stored, stored));
        assert_eq!(
            h.verify(stored, "jdoe", &Password::new(stored)),
            Verification::Valid {
                needs_rehash: false
            }
        );
    }
}
