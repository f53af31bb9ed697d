//! Honest result sets: a search that stopped at its limit says so (on stderr, and in the
//! `--envelope` JSON), and a source that fails is named on stderr while the other sources'
//! users are listed.

mod common;

#[path = "../../ldap/tests/slapd/server.rs"]
mod server;

use common::*;
use serde_json::Value;

fn logins(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect()
}

/// Runs and expects success; returns (stdout, stderr).
fn run_ok(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.run(args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "clientele {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

/// A SQLite-backed environment with companies ACME and GLOBEX and the users anna, bert, carl.
fn seeded(extra: &str) -> Env {
    let env = Env::new(extra);
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    env.ok(&["company", "add", "GLOBEX", "--name", "Globex"]);
    for login in ["anna", "bert", "carl"] {
        let mail = format!("{login}@acme-corp.test");
        env.ok(&user_add_args(login, &mail, "ACME", &[]));
    }
    env
}

const MORE: &str = "more match — raise --limit";

#[test]
fn a_search_that_stopped_at_its_limit_says_so() {
    let env = seeded("");
    let (stdout, stderr) = run_ok(&env, &["user", "search", "--limit", "2"]);
    assert!(
        stdout.contains("anna") && stdout.contains("bert"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("carl") && !stdout.contains(MORE),
        "{stdout}"
    );
    assert!(stderr.contains(&format!("2 shown, {MORE}")), "{stderr}");
    let (_, stderr) = run_ok(&env, &["user", "search", "--limit", "3"]);
    assert!(!stderr.contains(MORE), "everything was shown: {stderr}");

    // The JSON list stays a list; --envelope carries the flag and the limit.
    assert_eq!(
        logins(&env.json(&["user", "search", "--limit", "2"])),
        ["anna", "bert"]
    );
    let page = env.json(&["user", "search", "--limit", "2", "--envelope"]);
    assert_eq!(logins(&page["users"]), ["anna", "bert"]);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["more_matched"], true);
    assert_eq!(page["missing_sources"], serde_json::json!([]));
    let page = env.json(&["user", "search", "--envelope"]);
    assert_eq!(logins(&page["users"]), ["anna", "bert", "carl"]);
    assert_eq!(page["limit"], 250, "OTOBO's default limit");
    assert_eq!(page["more_matched"], false);

    // Companies too.
    let (stdout, stderr) = run_ok(&env, &["company", "list", "--limit", "1"]);
    assert!(
        stdout.contains("ACME") && !stdout.contains("GLOBEX"),
        "{stdout}"
    );
    assert!(stderr.contains(&format!("1 shown, {MORE}")), "{stderr}");
    let (_, stderr) = run_ok(&env, &["company", "search", "*", "--limit", "2"]);
    assert!(!stderr.contains(MORE), "{stderr}");
    let page = env.json(&["company", "list", "--limit", "1", "--envelope"]);
    assert_eq!(page["companies"].as_array().unwrap().len(), 1);
    assert_eq!(
        (page["limit"].as_u64(), page["more_matched"].as_bool()),
        (Some(1), Some(true))
    );
}

/// The same environment with a second, LDAP source appended (written after seeding: adds
/// are refused while a source cannot be checked for the login).
fn with_ldap(env: &Env, ldap: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        format!("{text}\n[[customer_user]]\ntype = \"ldap\"\n{ldap}"),
    )
    .unwrap();
}

/// Asserts a search lists the DB's users and warns about the LDAP source on stderr, in text
/// and in JSON.
fn searches_name_the_missing_source(env: &Env, source: &str) {
    let (stdout, stderr) = run_ok(env, &["user", "search"]);
    for login in ["anna", "bert", "carl"] {
        assert!(stdout.contains(login), "{stdout}");
    }
    assert!(
        stderr.contains(&format!("warning: source \"{source}\" was left out")),
        "{stderr}"
    );
    assert!(
        !stdout.contains("warning"),
        "stdout stays the rows: {stdout}"
    );
    let page = env.json(&["user", "search", "--envelope"]);
    assert_eq!(logins(&page["users"]), ["anna", "bert", "carl"]);
    assert_eq!(page["missing_sources"][0]["source"], source);
    // A look-up of a login no answering source has is an error, not "not found".
    let out = env.run(&["user", "show", "nobody-here"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(source), "{stderr}");
}

#[test]
fn a_source_that_is_down_is_named_and_the_others_listed() {
    let env = seeded("");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    with_ldap(
        &env,
        &format!(
            "url = \"ldap://127.0.0.1:{port}\"\nbase_dn = \"dc=example,dc=org\"\n\
             connect_timeout_ms = 1000\nsettings = {{ name = \"Corporate LDAP\" }}\n"
        ),
    );
    searches_name_the_missing_source(&env, "Corporate LDAP");
}

#[test]
#[ignore = "needs slapd: run scripts/test.sh"]
fn a_wrong_ldap_bind_password_does_not_fail_db_searches() {
    let s = server::Slapd::start();
    let env = seeded("");
    with_ldap(
        &env,
        &format!(
            "url = \"{}\"\nbase_dn = \"ou=people,dc=example,dc=org\"\nbind_dn = \"{}\"\n\
             bind_password = \"not-the-password\"\ncustomer_id = \"o\"\n\
             settings = {{ name = \"Corporate LDAP\" }}\n",
            s.url(),
            s.var("CLIENTELE_LDAP_BIND_DN")
        ),
    );
    searches_name_the_missing_source(&env, "Corporate LDAP");
    let (_, stderr) = run_ok(&env, &["user", "search"]);
    assert!(stderr.contains("refused"), "names the cause: {stderr}");
    // With the right password the LDAP users are there and nothing is missing.
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("not-the-password", &s.var("CLIENTELE_LDAP_BIND_PW"));
    std::fs::write(&env.config, text).unwrap();
    let page = env.json(&["user", "search", "--envelope"]);
    assert_eq!(page["missing_sources"], serde_json::json!([]));
    assert!(logins(&page["users"]).contains(&"jdoe"), "{page}");
}
