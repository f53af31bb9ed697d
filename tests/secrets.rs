//! No password, generated password, token, bind password or database password appears in any log
//! line, `Debug` or `Display` output produced by a realistic flow.
//!
//! Every log event and span at TRACE level, from every crate (Clientele, sea-orm, sqlx), is
//! captured into a buffer; every value and error the flow produces is rendered with `{:?}` and
//! `{}` (with its source chain) into the same text. The test then greps that text for each
//! secret. It proves it can fail: the secrets are long and distinct, the capture recorded the
//! flow's spans, and a canary secret logged on purpose is found by the same grep.

use std::io::Write;
use std::sync::{Arc, Mutex};

use clientele::Directory;
use clientele_backend::InMemoryBackend;
use clientele_model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

#[path = "../crates/db/tests/common/mod.rs"]
mod common;
#[path = "../crates/directory/tests/support/kat.rs"]
mod kat;

use common::{Fixture, Kind};

/// A log sink shared by every thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

/// Everything rendered from values and errors.
#[derive(Default)]
struct Rendered(String);

impl Rendered {
    fn debug(&mut self, what: &str, v: &impl std::fmt::Debug) {
        self.0.push_str(&format!("{what}: {v:?}\n{what}: {v:#?}\n"));
    }

    fn result<T: std::fmt::Debug>(&mut self, what: &str, r: &Result<T, clientele::Error>) {
        self.debug(what, r);
        if let Err(e) = r {
            self.error(what, e);
        }
    }

    fn error(&mut self, what: &str, e: &(dyn std::error::Error + 'static)) {
        self.0.push_str(&format!("{what}: {e}\n"));
        let mut source = e.source();
        while let Some(s) = source {
            self.0.push_str(&format!("{what} caused by: {s} / {s:?}\n"));
            source = s.source();
        }
    }
}

const GIVEN: &str = "Gx7#kP2!vQ9@wL4$given";
const WRONG: &str = "Wr0ng-Guess-9876!zzq";
const CHANGED: &str = "N3w-Secr3t-Pa55w0rd-set";
const UPDATED: &str = "Upd4ted-Via-Changes-77x";
const BIND: &str = "Bind-Pa55-For-Ldap-k2v";
const DB_PASSWORD: &str = "Db-S3cret-Pw-42-url";
const CANARY: &str = "Canary-S3cret-Should-Be-Found";

/// The flow on one Directory; returns the generated password and the token it produced.
async fn flow(dir: &Directory, out: &mut Rendered, tag: &str) -> Vec<String> {
    let by = &clientele::model::Actor::System;
    let r = dir
        .add_company(NewCustomerCompany::new("ACME", "ACME Corp"), by)
        .await;
    out.result("add company", &r);

    let given = NewCustomerUser::new(
        &format!("given-{tag}"),
        "Gina",
        "Given",
        &format!("gina-{tag}@acme-corp.test"),
        "ACME",
    )
    .password(GIVEN);
    out.debug("new user with a password", &given);
    let r = dir.add_customer_user(given.clone(), by).await;
    out.result("add with password", &r);

    let blank = NewCustomerUser::new(
        &format!("gen-{tag}"),
        "Gene",
        "Rated",
        &format!("gene-{tag}@acme-corp.test"),
        "ACME",
    );
    let added = dir.add_customer_user(blank, by).await;
    out.result("add with a generated password", &added);
    let added = added.expect("add with a generated password");
    let generated = added
        .generated_password
        .clone()
        .expect("a password was generated");
    out.debug("generated password", &generated);
    let generated = generated.expose().to_owned();

    // Refusals that carry the input: a duplicate, a bad email, a missing company.
    let r = dir.add_customer_user(given.clone(), by).await;
    out.result("duplicate add", &r);
    let r = dir
        .add_customer_user(
            NewCustomerUser::new("bad-mail", "B", "M", "not an email", "ACME").password(GIVEN),
            by,
        )
        .await;
    out.result("bad email", &r);
    let r = dir
        .add_customer_user(
            NewCustomerUser::new("no-company", "N", "C", "nc@acme-corp.test", "NOPE")
                .password(GIVEN),
            by,
        )
        .await;
    out.result("missing company", &r);

    // Logins: right, wrong, unknown user, empty password.
    let given_login = format!("given-{tag}");
    let gen_login = format!("gen-{tag}");
    for (what, login, pw) in [
        ("login right", given_login.as_str(), GIVEN),
        ("login wrong", given_login.as_str(), WRONG),
        ("login generated", gen_login.as_str(), generated.as_str()),
        ("login unknown", "nobody", GIVEN),
        ("login empty", given_login.as_str(), ""),
    ] {
        let r = dir.authenticate(login, &Password::new(pw)).await;
        out.result(what, &r);
    }

    // Password changes: set_password, and through an update.
    let r = dir
        .set_password(&given_login, &Password::new(CHANGED))
        .await;
    out.result("set password", &r);
    let r = dir.set_password(&given_login, &Password::new("")).await;
    out.result("set empty password", &r);
    let r = dir.set_password("nobody", &Password::new(CHANGED)).await;
    out.result("set password of nobody", &r);
    let r = dir
        .authenticate(&given_login, &Password::new(CHANGED))
        .await;
    out.result("login changed", &r);
    let changes = CustomerUserChanges::new()
        .set("UserComment", "changed")
        .password(UPDATED);
    out.debug("changes with a password", &changes);
    let r = dir.update_customer_user(&gen_login, changes, by).await;
    out.result("update with password", &r);
    let r = dir.authenticate(&gen_login, &Password::new(UPDATED)).await;
    out.result("login updated", &r);

    // Tokens: generate, check right, wrong and for another user, and a reuse.
    let token = dir.generate_token(&given_login).await;
    out.result("generate token", &token);
    let token = token.expect("token");
    out.debug("token", &token);
    let token = token.expose().to_owned();
    let wrong: String = token.chars().rev().collect();
    for (what, login, t) in [
        ("token wrong", given_login.as_str(), wrong.as_str()),
        ("token other user", gen_login.as_str(), token.as_str()),
        ("token right", given_login.as_str(), token.as_str()),
        ("token reused", given_login.as_str(), token.as_str()),
    ] {
        let r = dir.check_token(login, t).await;
        out.result(what, &r);
    }
    let r = dir.preferences(&given_login).await;
    out.result("preferences", &r);
    let r = dir.customer_user(&given_login).await;
    out.result("read user", &r);
    vec![generated, token]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_debug_or_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let mut out = Rendered::default();
    let mut secrets: Vec<String> = [GIVEN, WRONG, CHANGED, UPDATED, BIND, DB_PASSWORD]
        .map(String::from)
        .to_vec();

    let memory =
        Directory::in_memory_with(Arc::new(InMemoryBackend::new()), kat::cheap_hashing()).unwrap();
    secrets.extend(flow(&memory, &mut out, "mem").await);

    let fx = Fixture::new(Kind::SqliteFile).await;
    let db = fx.db.clone();
    let sql = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(kat::cheap_hashing())
        .build()
        .expect("directory");
    out.debug("db backend", &db);
    secrets.extend(flow(&sql, &mut out, "db").await);

    // Configuration holding secrets: a database URL with a password, an LDAP bind password.
    let toml = format!(
        "[[customer_user]]\ntype = \"db\"\nurl = \"postgres://app:{DB_PASSWORD}@db.example/otobo\"\n"
    );
    match clientele::Config::from_toml_str(&toml) {
        Ok(c) => out.debug("config", &c),
        Err(e) => {
            out.debug("config error", &e);
            out.error("config error", &e);
        }
    }
    let bad_toml =
        format!("[[customer_user]]\ntype = \"db\"\nurl = 7\npassword = \"{DB_PASSWORD}\"\n");
    if let Err(e) = clientele::Config::from_toml_str(&bad_toml) {
        // A parse error quotes the offending line; the line here is the url, not the password.
        out.debug("bad config error", &e);
    }
    let ldap = clientele_ldap::LdapConfig {
        bind_dn: Some("cn=admin,dc=example,dc=org".into()),
        bind_password: Some(Password::new(BIND)),
        ..clientele_ldap::LdapConfig::new("ldap://127.0.0.1:1", "ou=people,dc=example,dc=org")
    };
    out.debug("ldap config", &ldap);
    match clientele_ldap::LdapBackend::new(ldap.clone()) {
        Ok(b) => out.debug("ldap backend", &b),
        Err(e) => out.result::<()>("ldap backend", &Err(e)),
    }
    // Connecting to a port nobody listens on: the error must not carry the bind password.
    let r = clientele_ldap::LdapBackend::connect(ldap).await.map(|_| ());
    out.result("ldap connect", &r);

    drop(sql);
    fx.finish().await;

    // The canary goes through the same capture and the same grep.
    tracing::info!(canary = CANARY, "canary");

    let logs = capture.text();
    let everything = format!("{logs}\n{}", out.0);

    // The test can fail: secrets are non-trivial, the capture saw the flow, the grep finds a
    // secret that was logged.
    assert_eq!(secrets.len(), 10);
    for s in &secrets {
        assert!(
            s.chars().count() >= 16,
            "secret too short to grep for: {s:?}"
        );
    }
    let distinct: std::collections::BTreeSet<_> = secrets.iter().collect();
    assert_eq!(distinct.len(), secrets.len(), "secrets are distinct");
    let lines = logs.lines().count();
    assert!(lines > 50, "only {lines} log lines captured");
    for marker in ["backend.add", "backend.update", "sqlx", "TRACE", "DEBUG"] {
        assert!(logs.contains(marker), "capture has no {marker:?}:\n{logs}");
    }
    assert!(
        everything.contains(CANARY),
        "the grep finds a logged secret"
    );
    println!(
        "secrets: {} secrets checked against {lines} log lines and {} rendered values and errors \
         ({} bytes in all)",
        secrets.len(),
        out.0.lines().count(),
        everything.len()
    );

    let leaks: Vec<String> = secrets
        .iter()
        .filter_map(|s| {
            everything
                .lines()
                .find(|l| l.contains(s.as_str()))
                .map(|l| {
                    let l: String = l.chars().take(300).collect();
                    format!("{s:?} in: {l}")
                })
        })
        .collect();
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
