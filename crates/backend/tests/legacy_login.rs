//! OTOBO-style mixed hashes: users whose passwords were stored in every legacy format log in
//! through the Directory, wrong passwords fail, and each successful login upgrades the stored
//! hash to argon2id. Vectors come from `fixtures/password_kat.tsv` (generated independently).

use std::sync::Arc;

use clientele_backend::{CustomerUserWriter, Directory, Error, InMemoryBackend, PasswordStore};
use clientele_model::{Login, NewCustomerCompany, NewCustomerUser, Password};

struct Vector {
    format: String,
    login: String,
    password: String,
    stored: String,
    wrong: String,
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("fixtures/password_kat.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Vector {
                format: f[0].into(),
                login: unescape(f[1]),
                password: unescape(f[2]),
                stored: unescape(f[3]),
                wrong: unescape(f[4]),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_legacy_format_logs_in_and_is_upgraded() {
    let store = Arc::new(InMemoryBackend::new());
    let dir = Directory::in_memory(store.clone());
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    let mut formats = std::collections::BTreeSet::new();
    // One user per distinct (format, login) so each stored hash is tried with its own login
    // (DES and md5-crypt salts derive from it in OTOBO).
    for (i, v) in vectors().into_iter().enumerate() {
        if v.login.is_empty() || v.login.chars().any(char::is_control) || v.password.is_empty() {
            continue;
        }
        let login = format!("{}-{i}", v.login.trim());
        let Ok(login_checked) = Login::new(login.clone()) else {
            continue;
        };
        dir.add_customer_user(
            NewCustomerUser::new(
                &login,
                "Legacy",
                "User",
                &format!("user{i}@acme-corp.test"),
                "ACME",
            )
            .password("initial"),
            "t",
        )
        .await
        .unwrap();
        // The login OTOBO salted with differs from ours (suffix), so only formats that do not
        // derive the salt from the login at verification time are meaningful here.
        let salted_by_login = v.format == "crypt_login";
        if salted_by_login {
            continue;
        }
        store
            .set_password_hash(&login_checked, &v.stored)
            .await
            .unwrap();
        assert!(
            matches!(
                dir.authenticate(&login, &Password::new(v.wrong.clone()))
                    .await,
                Err(Error::AuthenticationFailed)
            ),
            "{}: wrong password accepted",
            v.format
        );
        let ok = dir
            .authenticate(&login, &Password::new(v.password.clone()))
            .await;
        assert!(
            ok.is_ok(),
            "{} ({}): right password refused: {ok:?}",
            v.format,
            v.stored
        );
        let (_, now) = store.password_hash(&login).await.unwrap().unwrap();
        let now = now.unwrap();
        assert!(
            now.starts_with("$argon2id$"),
            "{}: not upgraded, still {now}",
            v.format
        );
        assert!(
            dir.authenticate(&login, &Password::new(v.password))
                .await
                .is_ok(),
            "{}: upgraded hash works",
            v.format
        );
        formats.insert(v.format);
    }
    for f in [
        "des",
        "md5_crypt",
        "apr1",
        "sha1",
        "sha256",
        "sha512",
        "otobo_bcrypt",
        "plain",
    ] {
        assert!(
            formats.iter().any(|x| x.starts_with(f)),
            "no vector of format {f} was tried; tried {formats:?}"
        );
    }
}
