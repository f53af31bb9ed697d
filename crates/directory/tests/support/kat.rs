//! The known-answer vectors (from `clientele-password`'s `fixtures/password_kat.tsv`) and the
//! mixed-database login check every password store runs.
#![allow(dead_code)]

use clientele_backend::{CustomerUserWriter, Error, PasswordStore};
use clientele_directory::{Directory, DirectoryConfig};
use clientele_model::{Login, NewCustomerCompany, NewCustomerUser, Password};
use clientele_password::{Argon2Params, PasswordConfig};

#[path = "../../../password/tests/support/vectors.rs"]
mod vectors;
pub use vectors::*;

/// A Directory configuration with cheap argon2 parameters: the test is about formats and
/// upgrades, not about hashing cost (the default parameters are used everywhere else).
pub fn cheap_hashing() -> DirectoryConfig {
    DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        ..DirectoryConfig::default()
    }
}

/// An OTOBO-style mixed database: one user per vector whose hash was written in that format
/// (straight into the store, as OTOBO would have). Each must refuse the wrong password, accept
/// the right one, hold an argon2id hash afterwards, and still log in with it.
///
/// `crypt_login` vectors are left out: their salt is derived from the login at verification
/// time, and the test's logins carry a suffix to stay unique.
pub async fn mixed_logins<S: CustomerUserWriter + PasswordStore>(dir: &Directory, store: &S) {
    dir.add_company(
        NewCustomerCompany::new("ACME", "Acme"),
        clientele_model::Actor::System,
    )
    .await
    .expect("company");
    let mut tried = std::collections::BTreeSet::new();
    for v in vectors() {
        if v.format == "crypt_login" || v.password.is_empty() {
            continue;
        }
        let login = format!("{}-{}", v.login.trim(), v.line);
        let Ok(checked) = Login::new(login.clone()) else {
            continue;
        };
        dir.add_customer_user(
            NewCustomerUser::new(
                &login,
                "Legacy",
                "User",
                &format!("line{}@acme-corp.test", v.line),
                "ACME",
            )
            .password("initial"),
            clientele_model::Actor::System,
        )
        .await
        .unwrap_or_else(|e| panic!("line {}: add {login:?}: {e}", v.line));
        store
            .set_password_hash(&checked, &v.stored)
            .await
            .expect("store legacy hash");
        assert!(
            matches!(
                dir.authenticate(&login, &Password::new(v.wrong.clone()))
                    .await,
                Err(Error::AuthenticationFailed)
            ),
            "line {} ({}): wrong password accepted",
            v.line,
            v.format
        );
        let ok = dir
            .authenticate(&login, &Password::new(v.password.clone()))
            .await;
        assert!(
            ok.is_ok(),
            "line {} ({}): right password refused: {ok:?}",
            v.line,
            v.format
        );
        let (_, now) = store
            .password_hash(&login)
            .await
            .expect("read hash")
            .expect("user");
        let now = now.expect("a hash");
        assert!(
            now.starts_with("$argon2id$"),
            "line {} ({}): not upgraded, still {now}",
            v.line,
            v.format
        );
        assert!(
            dir.authenticate(&login, &Password::new(v.password))
                .await
                .is_ok(),
            "line {} ({}): the upgraded hash must work",
            v.line,
            v.format
        );
        tried.insert(v.format);
    }
    for f in LEGACY_FORMATS {
        assert!(
            tried.contains(f),
            "no vector of format {f} was tried; tried {tried:?}"
        );
    }
}
