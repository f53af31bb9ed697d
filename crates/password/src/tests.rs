//! Behaviour of [`PasswordHasher`] across formats and configurations.

use clientele_model::Password;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as ValueError, MapDeserializer};

use super::*;

/// Cheap argon2 parameters: debug builds hash slowly.
fn fast() -> PasswordConfig {
    PasswordConfig {
        argon2: Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        bcrypt_cost: 4,
        ..PasswordConfig::default()
    }
}

fn hasher(config: PasswordConfig) -> PasswordHasher {
    PasswordHasher::new(config).unwrap()
}

fn pw(s: &str) -> Password {
    Password::new(s)
}

const SHA256_PASSWORD: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

#[test]
fn argon2id_round_trip() {
    let h = hasher(fast());
    let stored = h.hash(&pw("Пароль カス")).unwrap();
    assert!(stored.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    assert_eq!(HashFormat::detect(stored.as_str()), HashFormat::Argon2);
    assert_eq!(
        h.verify(stored.as_str(), "jdoe", &pw("Пароль カス")),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert_eq!(
        h.verify(stored.as_str(), "jdoe", &pw("Пароль カ")),
        Verification::Invalid
    );
    assert_ne!(
        h.hash(&pw("same")).unwrap(),
        h.hash(&pw("same")).unwrap(),
        "fresh salt every time"
    );
}

#[test]
fn default_argon2_round_trip() {
    let h = hasher(PasswordConfig::default());
    let stored = h.hash(&pw("password")).unwrap();
    assert!(
        stored
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(
        !h.verify(stored.as_str(), "x", &pw("password"))
            .needs_rehash()
    );
}

#[test]
fn bcrypt_round_trip() {
    let h = hasher(PasswordConfig {
        algorithm: HashAlgorithm::Bcrypt,
        ..fast()
    });
    let stored = h.hash(&pw("tab\there ä")).unwrap();
    assert!(stored.as_str().starts_with("$2b$04$"), "{stored:?}");
    assert_eq!(stored.as_str().len(), 60);
    assert_eq!(
        h.verify(stored.as_str(), "jdoe", &pw("tab\there ä")),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert_eq!(
        h.verify(stored.as_str(), "jdoe", &pw("tab\there a")),
        Verification::Invalid
    );
}

#[test]
fn bcrypt_refuses_passwords_it_would_truncate() {
    let h = hasher(PasswordConfig {
        algorithm: HashAlgorithm::Bcrypt,
        ..fast()
    });
    assert!(h.hash(&pw(&"a".repeat(72))).is_ok());
    assert_eq!(
        h.hash(&pw(&"a".repeat(73))),
        Err(PasswordError::PasswordTooLong {
            algorithm: "bcrypt",
            max_bytes: 72
        })
    );
}

#[test]
fn empty_password_is_refused() {
    let h = hasher(fast());
    assert_eq!(h.hash(&pw("")), Err(PasswordError::EmptyPassword));
    let stored = h.hash(&pw("x")).unwrap();
    for stored in [
        stored.as_str(),
        "",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // sha256("")
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",                         // sha1("")
        "$1$mgr$Uf2x1NlhXWV8kF2DmmVW/.",
    ] {
        assert_eq!(h.verify(stored, "mgr", &pw("")), Verification::Invalid);
    }
    assert_eq!(h.dummy_verify(&pw("")), Verification::Invalid);
}

#[test]
fn changed_argon2_parameters_ask_for_rehash() {
    let old = hasher(fast());
    let stored = old.hash(&pw("password")).unwrap();
    for argon2 in [
        Argon2Params {
            memory_kib: 128,
            ..fast().argon2
        },
        Argon2Params {
            iterations: 2,
            ..fast().argon2
        },
        Argon2Params {
            memory_kib: 128,
            parallelism: 2,
            ..fast().argon2
        },
    ] {
        let new = hasher(PasswordConfig { argon2, ..fast() });
        assert_eq!(
            new.verify(stored.as_str(), "u", &pw("password")),
            Verification::Valid { needs_rehash: true },
            "{argon2:?}"
        );
        assert!(new.needs_rehash(stored.as_str()));
    }
    assert!(!old.needs_rehash(stored.as_str()));
}

#[test]
fn switching_algorithm_asks_for_rehash() {
    let argon = hasher(fast());
    let bcrypt = hasher(PasswordConfig {
        algorithm: HashAlgorithm::Bcrypt,
        ..fast()
    });
    let a = argon.hash(&pw("password")).unwrap();
    let b = bcrypt.hash(&pw("password")).unwrap();
    assert!(
        bcrypt
            .verify(a.as_str(), "u", &pw("password"))
            .needs_rehash()
    );
    assert!(
        argon
            .verify(b.as_str(), "u", &pw("password"))
            .needs_rehash()
    );

    let costlier = hasher(PasswordConfig {
        algorithm: HashAlgorithm::Bcrypt,
        bcrypt_cost: 5,
        ..fast()
    });
    assert!(
        costlier
            .verify(b.as_str(), "u", &pw("password"))
            .needs_rehash()
    );

    let as_2a = format!("$2a${}", &b.as_str()[4..]);
    assert_eq!(
        bcrypt.verify(&as_2a, "u", &pw("password")),
        Verification::Valid { needs_rehash: true }
    );
}

#[test]
fn other_argon2_variants_verify_and_ask_for_rehash() {
    // argon2-cffi: hash_secret(b"password", b"somesaltsomesalt", t=1, m=64, p=1, Type.ID),
    // and the argon2i vector of the KAT fixture.
    let id = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM";
    let h = hasher(fast());
    assert_eq!(
        h.verify(id, "u", &pw("password")),
        Verification::Valid {
            needs_rehash: false
        }
    );
    let argon2i = h.verify(
        "$argon2i$v=19$m=64,t=1,p=1$AQYLEBUaHyQpLjM4PUJHTA$osJSs5oThrGDBEmAm0v+qoOV9fbepbkWeh82JhFBilM",
        "u",
        &pw("password"),
    );
    assert_eq!(argon2i, Verification::Valid { needs_rehash: true });
}

#[test]
fn hostile_argon2_memory_is_not_allocated() {
    let h = hasher(fast());
    let huge = "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM";
    assert_eq!(h.verify(huge, "u", &pw("password")), Verification::Invalid);
    assert_eq!(
        h.verify("$argon2id$garbage", "u", &pw("password")),
        Verification::Invalid
    );
}

#[test]
fn legacy_formats_follow_the_rehash_flag() {
    let on = hasher(fast());
    let off = hasher(PasswordConfig {
        rehash_legacy_on_login: false,
        ..fast()
    });
    for stored in [
        SHA256_PASSWORD,
        "$1$mgr$YmxCrgiPcBnE3fyljVimC/",
        "mgUWEB8BtyLpE",
        "password",
    ] {
        assert_eq!(
            on.verify(stored, "mgr", &pw("password")),
            Verification::Valid { needs_rehash: true },
            "{stored}"
        );
        assert_eq!(
            off.verify(stored, "mgr", &pw("password")),
            Verification::Valid {
                needs_rehash: false
            },
            "{stored}"
        );
    }
}

#[test]
fn hex_is_case_insensitive() {
    let h = hasher(fast());
    let upper = SHA256_PASSWORD.to_ascii_uppercase();
    assert!(h.verify(&upper, "u", &pw("password")).is_valid());
    assert!(!h.verify(&upper, "u", &pw("Password")).is_valid());
}

#[test]
fn plain_text_only_when_accepted() {
    let accepting = hasher(fast());
    let strict = hasher(PasswordConfig {
        accept_plain: false,
        ..fast()
    });
    assert!(
        accepting
            .verify("my old password", "u", &pw("my old password"))
            .is_valid()
    );
    assert!(
        !accepting
            .verify("my old password", "u", &pw("my old passwor"))
            .is_valid()
    );
    assert_eq!(
        strict.verify("my old password", "u", &pw("my old password")),
        Verification::Invalid
    );
}

#[test]
fn a_hash_is_never_its_own_password() {
    let h = hasher(fast());
    let argon = h.hash(&pw("secret")).unwrap();
    for (stored, login) in [
        (SHA256_PASSWORD, "u"),
        ("$1$mgr$YmxCrgiPcBnE3fyljVimC/", "mgr"),
        ("mgUWEB8BtyLpE", "mgr"),
        (
            "BCRYPT:9:ANan0DQdq3GTgt6J:Z9wPWDKBismT/1gmidbIss0J38Fcd3u",
            "u",
        ),
        ("cuLUtzjHZRPR6CUGJwvbhmBo", "customer@example.com"),
        ("_J9..cust3dEZh59PLfg", "_J9..cust"),
        ("$5$abc$6va2Z4O.keO7R84v9g0B9d2NkB7NOyTy0sMeQ5Z3LLA", "u"),
        (argon.as_str(), "u"),
    ] {
        assert_eq!(
            h.verify(stored, login, &pw(stored)),
            Verification::Invalid,
            "{stored}"
        );
    }
}

#[test]
fn unusable_values_never_verify() {
    let h = hasher(fast());
    for stored in ["*0", "*1", "$1$ab$cdefghi"] {
        assert_eq!(h.verify(stored, "a@b", &pw(stored)), Verification::Invalid);
        assert_eq!(h.verify(stored, "a@b", &pw("x")), Verification::Invalid);
    }
}

#[test]
fn other_branch_uses_crypt_with_the_login() {
    let h = hasher(PasswordConfig {
        accept_plain: false,
        ..fast()
    });
    // Python crypt.crypt("Secret123!", "customer@example.com") (libxcrypt bigcrypt).
    assert!(
        h.verify(
            "cuLUtzjHZRPR6CUGJwvbhmBo",
            "customer@example.com",
            &pw("Secret123!")
        )
        .needs_rehash()
    );
    assert!(
        !h.verify("cuLUtzjHZRPR6CUGJwvbhmBo", "cuXY", &pw("Secret123!"))
            .is_valid()
    );
}

#[test]
fn dummy_verify_is_invalid_and_prepared_once() {
    let h = hasher(fast());
    assert!(!format!("{h:?}").contains("dummy_ready: true"));
    assert_eq!(h.dummy_verify(&pw("whatever")), Verification::Invalid);
    assert!(format!("{h:?}").contains("dummy_ready: true"));
    assert_eq!(h.dummy_verify(&pw("whatever")), Verification::Invalid);
}

#[test]
fn debug_output_shows_no_secrets() {
    let h = hasher(fast());
    let secret = pw("hunter2-Пароль");
    let stored = h.hash(&secret).unwrap();
    let _ = h.dummy_verify(&secret);
    let outputs = [
        format!("{h:?}"),
        format!("{:?}", h.config()),
        format!("{:?}", h.verify(stored.as_str(), "u", &secret)),
        format!("{secret:?}"),
        format!("{:?}", h.hash(&pw("")).unwrap_err()),
        h.hash(&pw("")).unwrap_err().to_string(),
    ];
    for output in &outputs {
        assert!(!output.contains("hunter2"), "{output}");
        assert!(!output.contains("$argon2id$"), "{output}");
    }
}

#[test]
fn config_is_validated() {
    let bad = |config: PasswordConfig| PasswordHasher::new(config).unwrap_err();
    assert!(matches!(
        bad(PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 4,
                ..fast().argon2
            },
            ..fast()
        }),
        PasswordError::InvalidArgon2Params { memory_kib: 4, .. }
    ));
    assert!(matches!(
        bad(PasswordConfig {
            argon2: Argon2Params {
                iterations: 0,
                ..fast().argon2
            },
            ..fast()
        }),
        PasswordError::InvalidArgon2Params { iterations: 0, .. }
    ));
    assert!(matches!(
        bad(PasswordConfig {
            argon2: Argon2Params {
                parallelism: 0,
                ..fast().argon2
            },
            ..fast()
        }),
        PasswordError::InvalidArgon2Params { parallelism: 0, .. }
    ));
    assert!(matches!(
        bad(PasswordConfig {
            argon2: Argon2Params {
                memory_kib: MAX_ARGON2_MEMORY_KIB + 1,
                ..fast().argon2
            },
            ..fast()
        }),
        PasswordError::InvalidArgon2Params { .. }
    ));
    for cost in [3, 32] {
        assert!(matches!(
            bad(PasswordConfig {
                bcrypt_cost: cost,
                ..fast()
            }),
            PasswordError::InvalidBcryptCost { .. }
        ));
    }
    for length in [0, 7, MAX_GENERATED_LENGTH + 1] {
        assert!(matches!(
            bad(PasswordConfig {
                generated_length: length,
                ..fast()
            }),
            PasswordError::InvalidPasswordLength { .. }
        ));
    }
}

#[test]
fn config_defaults_and_deserialisation() {
    let config = PasswordConfig::default();
    assert_eq!(config.algorithm, HashAlgorithm::Argon2id);
    assert_eq!(config.argon2, Argon2Params::default());
    assert_eq!(config.bcrypt_cost, 12);
    assert!(config.rehash_legacy_on_login);
    assert!(config.accept_plain);
    assert_eq!(config.generated_length, 16);

    let map = |entries: Vec<(&'static str, u32)>| {
        PasswordConfig::deserialize(MapDeserializer::<_, ValueError>::new(entries.into_iter()))
    };
    let parsed = map(vec![("bcrypt_cost", 10)]).unwrap();
    assert_eq!(
        parsed,
        PasswordConfig {
            bcrypt_cost: 10,
            ..PasswordConfig::default()
        }
    );
    assert!(
        map(vec![("bcrypt_cots", 10)]).is_err(),
        "unknown fields are refused"
    );

    let algorithm = |name: &str| {
        HashAlgorithm::deserialize(IntoDeserializer::<ValueError>::into_deserializer(name))
    };
    assert_eq!(algorithm("bcrypt").unwrap(), HashAlgorithm::Bcrypt);
    assert_eq!(algorithm("argon2id").unwrap(), HashAlgorithm::Argon2id);
    assert!(algorithm("md5").is_err());
}

#[test]
fn generated_password_uses_configured_length() {
    let h = hasher(PasswordConfig {
        generated_length: 8,
        ..fast()
    });
    let generated = h.generate_password();
    assert_eq!(generated.expose().len(), 8);
    assert!(
        h.verify(h.hash(&generated).unwrap().as_str(), "u", &generated)
            .is_valid()
    );
}

#[test]
fn hasher_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PasswordHasher>();
}

fn otobo(algorithm: HashAlgorithm) -> PasswordHasher {
    hasher(PasswordConfig {
        algorithm,
        bcrypt_cost: 4,
        ..fast()
    })
}

#[test]
fn otobo_formats_are_written_and_current() {
    let h = otobo(HashAlgorithm::OtoboBcrypt);
    let stored = h.hash(&pw("Grüße, Welt")).unwrap().into_string();
    let parts: Vec<&str> = stored.splitn(4, ':').collect();
    assert_eq!(parts[..2], ["BCRYPT", "4"]);
    assert_eq!(parts[2].len(), 16);
    assert!(parts[2].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(HashFormat::detect(&stored), HashFormat::OtoboBcrypt);
    assert_eq!(
        h.verify(&stored, "u", &pw("Grüße, Welt")),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert!(!h.verify(&stored, "u", &pw("Grüsse, Welt")).is_valid());
    // Another cost asks for a rehash; so does a hash of another algorithm.
    let cost5 = hasher(PasswordConfig {
        bcrypt_cost: 5,
        ..h.config().clone()
    });
    assert!(
        cost5
            .verify(&stored, "u", &pw("Grüße, Welt"))
            .needs_rehash()
    );
    let argon = hasher(fast()).hash(&pw("x")).unwrap();
    assert!(h.verify(argon.as_str(), "u", &pw("x")).needs_rehash());

    let h = otobo(HashAlgorithm::Sha256);
    let stored = h.hash(&pw("password")).unwrap().into_string();
    assert_eq!(stored, SHA256_PASSWORD);
    assert!(!h.verify(&stored, "u", &pw("password")).needs_rehash());
    let h = otobo(HashAlgorithm::Sha512);
    let stored = h.hash(&pw("password")).unwrap().into_string();
    assert_eq!(stored.len(), 128);
    assert_eq!(HashFormat::detect(&stored), HashFormat::Sha512Hex);
    assert!(!h.verify(&stored, "u", &pw("password")).needs_rehash());
    assert!(
        h.verify(SHA256_PASSWORD, "u", &pw("password"))
            .needs_rehash()
    );
}

#[test]
fn otobo_bcrypt_refuses_what_it_would_cut() {
    let h = otobo(HashAlgorithm::OtoboBcrypt);
    let longest = "é".repeat(35) + "a"; // 71 bytes: every byte is read
    let stored = h.hash(&pw(&longest)).unwrap();
    assert!(h.verify(stored.as_str(), "u", &pw(&longest)).is_valid());
    let mut cut = longest.clone();
    cut.pop();
    assert!(!h.verify(stored.as_str(), "u", &pw(&cut)).is_valid());
    assert_eq!(
        h.hash(&pw(&(longest + "b"))),
        Err(PasswordError::PasswordTooLong {
            algorithm: "OTOBO's bcrypt",
            max_bytes: 71
        })
    );
}

#[test]
fn plain_text_tables_compare_raw_text_first() {
    // 13 characters of the DES alphabet, 64 and 40 hex digits: all hash-shaped.
    let values = [
        "Summer2024abc",
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "0123456789abcdef0123456789abcdef01234567",
    ];
    let fallback = hasher(fast());
    let first = hasher(fast().migrated_from(CryptType::Plain));
    let shared = hasher(fast().beside_otobo(CryptType::Plain));
    for stored in values {
        assert!(
            !fallback.verify(stored, "u", &pw(stored)).is_valid(),
            "{stored}"
        );
        assert_eq!(
            first.verify(stored, "u", &pw(stored)),
            Verification::Valid { needs_rehash: true },
            "{stored}"
        );
        assert_eq!(
            shared.verify(stored, "u", &pw(stored)),
            Verification::Valid {
                needs_rehash: false
            },
            "{stored}"
        );
        assert!(!shared.verify(stored, "u", &pw("other")).is_valid());
    }
    // The second value is also sha256("password"): still verified by its format.
    assert!(shared.verify(values[1], "u", &pw("password")).is_valid());
    assert!(
        !shared
            .verify(values[1], "u", &pw("password"))
            .needs_rehash()
    );
    // Nothing is ever written beside a plain-text OTOBO.
    assert_eq!(shared.hash(&pw("new")), Err(PasswordError::PlainTextShared));
    assert!(first.hash(&pw("new")).is_ok());
}

#[test]
fn beside_otobo_never_writes_what_otobo_cannot_read() {
    for crypt_type in [
        CryptType::Crypt,
        CryptType::Md5,
        CryptType::Apr1,
        CryptType::Sha1,
        CryptType::Sha2,
        CryptType::Sha512,
        CryptType::Bcrypt,
    ] {
        for algorithm in [HashAlgorithm::Argon2id, HashAlgorithm::Bcrypt] {
            let config = PasswordConfig {
                algorithm,
                ..PasswordConfig::default()
            }
            .beside_otobo(crypt_type);
            assert!(config.algorithm.otobo_verifies(), "{crypt_type:?}");
        }
    }
    // An OTOBO format chosen explicitly stays.
    let config = PasswordConfig {
        algorithm: HashAlgorithm::Sha512,
        ..PasswordConfig::default()
    }
    .beside_otobo(CryptType::Bcrypt);
    assert_eq!(config.algorithm, HashAlgorithm::Sha512);
}
