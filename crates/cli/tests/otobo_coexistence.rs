//! Beside a running OTOBO (`[otobo] coexist = true`): every password Clientele writes — on
//! `user add`, `user set-password` and when a login upgrades a stored hash — passes OTOBO's own
//! check, run in Perl with OTOBO's modules (scripts/otobo-auth-check.pl); with OTOBO's CryptType
//! `plain`, stored raw passwords shaped like hashes log in and nothing is ever written.

mod common;
#[path = "../../password/tests/support/otobo_perl.rs"]
mod otobo_perl;

use std::path::Path;

use clientele::db::sea_orm::{ConnectionTrait, Database, Statement, Value};
use common::Env;
use otobo_perl::otobo_accepts;

/// A SQLite source with OTOBO coexistence on; bcrypt at a low cost to keep the test quick.
fn coexisting(crypt_type: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clientele.sqlite");
    let text = format!(
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n\n\
         [passwords]\nbcrypt_cost = 4\nargon2 = {{ memory_kib = 64, iterations = 1, parallelism = 1 }}\n\n\
         [otobo]\ncoexist = true\ncrypt_type = \"{crypt_type}\"\n",
        db.display()
    );
    Env::with_config(dir, &text)
}

/// Turns coexistence on or off in the configuration.
fn set_coexist(env: &Env, on: bool) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let (from, to) = if on {
        ("coexist = false", "coexist = true")
    } else {
        ("coexist = true", "coexist = false")
    };
    std::fs::write(&env.config, text.replace(from, to)).unwrap();
}

/// `clientele init` and the company ACME every test's users belong to.
fn init_with_acme(env: &Env) {
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
}

fn sql(db: &Path, sql: &str, values: Vec<Value>) -> Vec<Option<String>> {
    let url = format!("sqlite://{}?mode=rw", db.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Database::connect(&url).await.unwrap();
        let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
        if sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
            let rows = conn.query_all_raw(stmt).await.unwrap();
            rows.iter()
                .map(|r| r.try_get_by_index::<Option<String>>(0).unwrap())
                .collect()
        } else {
            conn.execute_raw(stmt).await.unwrap();
            Vec::new()
        }
    })
}

fn stored_pw(env: &Env, login: &str) -> Option<String> {
    sql(
        &env.path("clientele.sqlite"),
        "SELECT pw FROM customer_user WHERE login = ?",
        vec![login.into()],
    )
    .into_iter()
    .next()
    .expect("the user exists")
}

fn set_pw(env: &Env, login: &str, pw: &str) {
    sql(
        &env.path("clientele.sqlite"),
        "UPDATE customer_user SET pw = ? WHERE login = ?",
        vec![pw.into(), login.into()],
    );
}

fn add_user(env: &Env, login: &str, password: Option<&str>) -> std::process::Output {
    let email = format!("{login}@acme.example");
    let mut args = vec![
        "user",
        "add",
        "--login",
        login,
        "--first-name",
        "Jane",
        "--last-name",
        "Doe",
        "--email",
        &email,
        "--customer-id",
        "ACME",
    ];
    match password {
        Some(pw) => {
            args.push("--password-stdin");
            env.run_stdin(&args, &format!("{pw}\n"))
        }
        None => env.run(&args),
    }
}

fn login(env: &Env, login: &str, password: &str) -> bool {
    env.run_stdin(&["auth", "check", login], &format!("{password}\n"))
        .status
        .success()
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn every_password_clientele_writes_passes_otobos_check() {
    let env = coexisting("bcrypt");
    init_with_acme(&env);

    // user add with a password.
    let out = add_user(&env, "jane", Some("Grüße aus Köln"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = stored_pw(&env, "jane").unwrap();
    assert!(stored.starts_with("BCRYPT:4:"), "{stored}");
    assert!(otobo_accepts("bcrypt", "jane", &stored, "Grüße aus Köln"));
    assert!(!otobo_accepts("bcrypt", "jane", &stored, "Grüsse aus Köln"));

    // user set-password.
    let out = env.run_stdin(&["user", "set-password", "jane"], "correct horse battery\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = stored_pw(&env, "jane").unwrap();
    assert!(otobo_accepts(
        "bcrypt",
        "jane",
        &stored,
        "correct horse battery"
    ));

    // A generated password (user add without one) too.
    let out = add_user(&env, "gen", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = stored_pw(&env, "gen").unwrap();
    assert!(stored.starts_with("BCRYPT:"), "{stored}");

    // A login upgrades OTOBO's weak sha256 (of "secret") to BCRYPT:, which OTOBO accepts.
    set_pw(
        &env,
        "jane",
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
    );
    assert!(login(&env, "jane", "secret"));
    let stored = stored_pw(&env, "jane").unwrap();
    assert!(stored.starts_with("BCRYPT:4:"), "{stored}");
    assert!(otobo_accepts("bcrypt", "jane", &stored, "secret"));
    // Logging in again leaves the current hash alone.
    assert!(login(&env, "jane", "secret"));
    assert_eq!(stored_pw(&env, "jane").unwrap(), stored);
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn argon2_written_before_coexistence_is_upgraded_on_login() {
    // The same database first without coexistence (argon2id), then beside OTOBO.
    let env = coexisting("bcrypt");
    set_coexist(&env, false);
    init_with_acme(&env);
    assert!(add_user(&env, "jane", Some("pässword")).status.success());
    let before = stored_pw(&env, "jane").unwrap();
    assert!(before.starts_with("$argon2id$"), "{before}");
    assert!(!otobo_accepts("bcrypt", "jane", &before, "pässword"));

    set_coexist(&env, true);
    assert!(login(&env, "jane", "pässword"));
    let after = stored_pw(&env, "jane").unwrap();
    assert!(
        otobo_accepts("bcrypt", "jane", &after, "pässword"),
        "{after}"
    );
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn sha512_is_written_when_otobo_uses_it() {
    let env = coexisting("sha512");
    init_with_acme(&env);
    let long = "a long pass phrase ".repeat(6); // over 72 bytes: sha512 takes it whole
    assert!(
        add_user(&env, "jane", Some(long.trim_end()))
            .status
            .success()
    );
    let stored = stored_pw(&env, "jane").unwrap();
    assert_eq!(stored.len(), 128, "{stored}");
    assert!(otobo_accepts("sha512", "jane", &stored, long.trim_end()));
}

#[test]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
fn beside_a_plain_text_otobo_nothing_is_written() {
    let env = coexisting("plain");
    init_with_acme(&env);
    // Adding with a password is refused, and nothing is added.
    let out = add_user(&env, "jane", Some("Summer2024abc"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CryptType is plain") && stderr.contains("bcrypt"),
        "{stderr}"
    );
    assert!(env.run(&["user", "show", "jane"]).status.code() != Some(0));

    // Without one, the user is added with no password at all (as OTOBO's own add does).
    assert!(add_user(&env, "jane", None).status.success());
    assert_eq!(stored_pw(&env, "jane"), None);

    // OTOBO stored the raw password; it looks like a DES crypt value.
    set_pw(&env, "jane", "Summer2024abc");
    assert!(otobo_accepts(
        "plain",
        "jane",
        "Summer2024abc",
        "Summer2024abc"
    ));
    assert!(login(&env, "jane", "Summer2024abc"));
    assert!(!login(&env, "jane", "summer2024abc"));
    // Never rehashed.
    assert_eq!(stored_pw(&env, "jane").as_deref(), Some("Summer2024abc"));

    // set-password is refused before any change.
    let out = env.run_stdin(&["user", "set-password", "jane"], "new password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CryptType is plain"));
    assert_eq!(stored_pw(&env, "jane").as_deref(), Some("Summer2024abc"));
}

#[test]
fn a_plain_text_table_logs_in_after_migration() {
    // Not beside OTOBO: crypt_type = "plain" alone compares raw text first, then upgrades.
    let env = coexisting("plain");
    set_coexist(&env, false);
    init_with_acme(&env);
    assert!(add_user(&env, "jane", Some("x")).status.success());
    for raw in [
        "Summer2024abc",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        set_pw(&env, "jane", raw);
        assert!(login(&env, "jane", raw), "{raw}");
        let stored = stored_pw(&env, "jane").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(login(&env, "jane", raw));
    }
}

#[test]
fn the_audit_actor_is_an_agent_before_anything_is_written() {
    let env = coexisting("bcrypt");
    env.ok(&["init"]);
    // A database Clientele created has no agent table: an id is recorded, a name refused.
    env.ok(&["--by", "99", "company", "add", "ACME", "--name", "Acme"]);
    let (_, stderr) = env.fails(&[
        "--by", "admin", "company", "add", "GLOBEX", "--name", "Globex",
    ]);
    assert!(
        stderr.contains("by") && stderr.contains("admin") && stderr.contains("agent"),
        "{stderr}"
    );
    assert!(!env.run(&["company", "show", "GLOBEX"]).status.success());

    // OTOBO's agent table: ids and logins must be agents there.
    let db = env.path("clientele.sqlite");
    sql(
        &db,
        "CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, login VARCHAR(191) NOT NULL)",
        vec![],
    );
    sql(
        &db,
        "INSERT INTO users (id, login) VALUES (1, 'root@localhost')",
        vec![],
    );
    for by in ["99", "admin"] {
        let (_, stderr) = env.fails(&["--by", by, "company", "add", "GLOBEX", "--name", "Globex"]);
        assert!(stderr.contains(by) && stderr.contains("users"), "{stderr}");
    }
    assert!(!env.run(&["company", "show", "GLOBEX"]).status.success());
    env.ok(&[
        "--by",
        "root@localhost",
        "company",
        "add",
        "GLOBEX",
        "--name",
        "Globex",
    ]);
    let by = sql(
        &db,
        "SELECT CAST(create_by AS TEXT) FROM customer_company WHERE customer_id = ?",
        vec!["GLOBEX".into()],
    );
    assert_eq!(by, [Some("1".to_owned())]);
}
