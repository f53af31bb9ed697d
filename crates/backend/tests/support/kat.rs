//! The known-answer vectors of `fixtures/password_kat.tsv`, shared by the tests that use them,
//! and the mixed-database login check every password store runs.
#![allow(dead_code)]

use clientele_backend::password::{Argon2Params, PasswordConfig};
use clientele_backend::{CustomerUserWriter, Directory, DirectoryConfig, Error, PasswordStore};
use clientele_model::{Login, NewCustomerCompany, NewCustomerUser, Password};

const FIXTURE: &str = include_str!("../fixtures/password_kat.tsv");

/// One vector: a stored value computed by an independent tool, its password and a wrong one.
pub struct Vector {
    pub line: usize,
    pub format: String,
    pub login: String,
    pub password: String,
    pub stored: String,
    pub wrong: String,
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            other => panic!("bad escape \\{other:?} in fixture field {field:?}"),
        }
    }
    out
}

/// Every vector of the fixture file.
pub fn vectors() -> Vec<Vector> {
    FIXTURE
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .map(|(i, line)| {
            let fields: Vec<String> = line.split('\t').map(unescape).collect();
            let [format, login, password, stored, wrong, _source] = <[String; 6]>::try_from(fields)
                .unwrap_or_else(|f| panic!("line {}: {} fields", i + 1, f.len()));
            Vector {
                line: i + 1,
                format,
                login,
                password,
                stored,
                wrong,
            }
        })
        .collect()
}

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

/// The legacy formats an OTOBO database may hold.
pub const LEGACY_FORMATS: [&str; 8] = [
    "des",
    "md5_crypt",
    "apr1",
    "sha1",
    "sha256",
    "sha512",
    "otobo_bcrypt",
    "plain",
];

/// An OTOBO-style mixed database: one user per vector whose hash was written in that format
/// (straight into the store, as OTOBO would have). Each must refuse the wrong password, accept
/// the right one, hold an argon2id hash afterwards, and still log in with it.
///
/// `crypt_login` vectors are left out: their salt is derived from the login at verification
/// time, and the test's logins carry a suffix to stay unique.
pub async fn mixed_logins<S: CustomerUserWriter + PasswordStore>(dir: &Directory, store: &S) {
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
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
            "t",
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
