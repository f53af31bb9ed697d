//! Error paths a person can act on: no stray database file, JSON errors under `--json`, no
//! password in any error, and a quiet exit when the reader of standard output goes away.

mod common;

use std::process::{Command, Stdio};

use common::Env;

fn clientele(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clientele"));
    c.current_dir(dir)
        .env_remove("CLIENTELE_CONFIG")
        .env_remove("CLIENTELE_BY");
    c
}

#[test]
fn a_read_without_a_database_creates_no_file_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = clientele(dir.path())
        .args(["user", "show", "jdoe"])
        .output()
        .unwrap();
    // A missing database is unavailable, as a server that does not answer (exit 2).
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("clientele init"), "{stderr}");
    assert!(
        !dir.path().join("clientele.sqlite").exists(),
        "a read command must not create the database"
    );

    // Under --json the error is JSON on stderr.
    let out = clientele(dir.path())
        .args(["--json", "user", "show", "jdoe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["error"]["exit_code"], 2);
    assert!(
        report["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("clientele init")
    );
    assert!(!dir.path().join("clientele.sqlite").exists());

    // check-config connects to nothing and needs no database.
    let out = clientele(dir.path()).arg("check-config").output().unwrap();
    assert!(out.status.success());
    assert!(!dir.path().join("clientele.sqlite").exists());
}

#[test]
fn no_error_shows_a_database_password() {
    let dir = tempfile::tempdir().unwrap();
    // A mistyped scheme: the driver's own error quotes the whole URL.
    let env = Env::with_config(
        dir,
        "[[customer_user]]\ntype = \"db\"\nurl = \"pstgres://app:Secr3tPw@127.0.0.1:5432/otobo?sslpassword=K3yPw\"\n",
    );
    for json in [false, true] {
        let mut args = vec!["user", "search", "x"];
        if json {
            args.insert(0, "--json");
        }
        let out = env.run(&args);
        assert!(!out.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("Secr3tPw") && !all.contains("K3yPw"),
            "a password was shown: {all}"
        );
        assert!(all.contains("app:***@127.0.0.1"), "{all}");
    }
}

#[test]
fn a_closed_reader_ends_the_command_quietly() {
    let env = Env::new("");
    env.ok(&["init"]);
    for i in 0..50 {
        env.ok(&[
            "company",
            "add",
            &format!("C{i:03}"),
            "--name",
            &format!("Company {i}"),
        ]);
    }
    for args in [&["company", "list"][..], &["--json", "company", "list"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_clientele"))
            .arg("--config")
            .arg(&env.config)
            .args(args)
            .current_dir(env.dir.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

/// Imports rows with a NUL or another control character beside good rows, under
/// `--on-error continue`: each bad row is refused on its own line naming its field, the good
/// ones are stored, and nothing is reported as a database failure or a timeout.
fn import_refuses_control_characters_row_by_row(env: &Env) {
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    let csv = env.path("users.csv");
    std::fs::write(
        &csv,
        "UserLogin,UserFirstname,UserLastname,UserEmail,UserCustomerID\n\
         ok1,Ann,One,ok1@acme-corp.com,ACME\n\
         ba\0d,Bad,Login,bad@acme-corp.com,ACME\n\
         ok2,Bob,Two,ok2@acme-corp.com,ACME\n\
         nul,Jo\0hn,Name,nul@acme-corp.com,ACME\n\
         ctl,A\u{1}x,Name,ctl@acme-corp.com,ACME\n",
    )
    .unwrap();
    let jsonl = env.path("users.jsonl");
    std::fs::write(
        &jsonl,
        "{\"UserLogin\":\"j\\u0000x\",\"UserFirstname\":\"J\",\"UserLastname\":\"X\",\"UserEmail\":\"jx@acme-corp.com\",\"UserCustomerID\":\"ACME\"}\n\
         {\"UserLogin\":\"ok3\",\"UserFirstname\":\"C\",\"UserLastname\":\"Three\",\"UserEmail\":\"ok3@acme-corp.com\",\"UserCustomerID\":\"ACME\"}\n",
    )
    .unwrap();
    for (file, refused) in [
        (
            &csv,
            &[(3, "UserLogin"), (5, "UserFirstname"), (6, "UserFirstname")][..],
        ),
        (&jsonl, &[(1, "UserLogin")][..]),
    ] {
        let file = file.to_str().unwrap();
        let out = env.run(&["--json", "import", "users", file, "--on-error", "continue"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "bad rows are bad input: {stderr}"
        );
        assert!(!stderr.contains("timed out"), "{stderr}");
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(summary["failed"], refused.len(), "{summary}");
        assert_eq!(summary["stopped_early"], false, "{summary}");
        for (error, (line, field)) in summary["errors"].as_array().unwrap().iter().zip(refused) {
            assert_eq!(error["line"], *line, "{summary}");
            let text = error["error"].as_str().unwrap();
            assert!(
                text.contains(field) && text.contains("forbidden character"),
                "line {line}: {text}"
            );
        }
    }
    for login in ["ok1", "ok2", "ok3"] {
        env.ok(&["user", "show", login]);
    }
}

#[test]
fn an_import_refuses_control_characters_row_by_row_on_sqlite() {
    import_refuses_control_characters_row_by_row(&Env::new(""));
}

/// PostgreSQL refuses a NUL in any bound text: before, the first look-up of such a login
/// failed in the database and stopped the whole import (once even as a timeout).
#[cfg(feature = "postgres")]
#[test]
#[ignore = "needs the PostgreSQL test server (CLIENTELE_TEST_POSTGRES_URL)"]
fn an_import_refuses_control_characters_row_by_row_on_postgres() {
    let db = common::PostgresDb::new();
    let env = Env::with_config(
        tempfile::tempdir().unwrap(),
        &format!(
            "[[customer_user]]\ntype = \"db\"\nurl = \"{}\"\n\n{}",
            db.url,
            common::CHEAP_PASSWORDS
        ),
    );
    import_refuses_control_characters_row_by_row(&env);
}

/// `[password_policy]` on: a weak password is refused on add and set-password naming the rule
/// it breaks (as JSON under `--json`), a strong one is taken, and the failed logins after which
/// the user becomes invalid-temporarily are counted by `auth check`.
#[test]
fn the_password_policy_names_the_rule_and_locks_after_failed_logins() {
    let env = Env::new(
        "[password_policy]\nmin_size = 10\nmin_2_lower_2_upper_characters = true\n\
         need_digit = true\nmax_login_failed = 2\n",
    );
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    let add = common::user_add_args("jdoe", "jdoe@acme-corp.com", "ACME", &["--password-stdin"]);
    let out = env.run_stdin(&add, "short1A\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("password policy") && stderr.contains("min_size"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short1A"),
        "the password is never shown: {stderr}"
    );

    let mut json_add = vec!["--json"];
    json_add.extend_from_slice(&add);
    let out = env.run_stdin(&json_add, "alllowercase12\n");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("min_2_lower_2_upper_characters"),
        "{message}"
    );

    let out = env.run_stdin(&add, "Str0ngEnough\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run_stdin(&["user", "set-password", "jdoe"], "NoDigitsAtAll\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need_digit"));

    // A generated password meets the policy and logs in.
    let generated = env.json(&["user", "set-password", "jdoe", "--generate"]);
    let generated = generated["generated_password"]
        .as_str()
        .unwrap_or_else(|| panic!("{generated}"))
        .to_owned();
    assert!(
        env.run_stdin(&["auth", "check", "jdoe"], &format!("{generated}\n"))
            .status
            .success()
    );

    for _ in 0..2 {
        let out = env.run_stdin(&["auth", "check", "jdoe"], "Wr0ngPassword\n");
        assert!(!out.status.success());
    }
    assert_eq!(
        env.json(&["user", "show", "jdoe"])["validity"],
        "invalid-temporarily"
    );
    let out = env.run_stdin(&["auth", "check", "jdoe"], &format!("{generated}\n"));
    assert!(!out.status.success(), "a locked user cannot log in");
}

#[cfg(feature = "ldap")]
#[path = "../../ldap/tests/slapd/server.rs"]
mod server;

/// `clientele ldap test --login` shows the filter it sends: the login escaped, AND-ed with the
/// configured always-filter — not the bare, unescaped `(uid=<login>)` it showed before.
#[cfg(feature = "ldap")]
#[test]
#[ignore = "needs slapd: run scripts/test.sh"]
fn ldap_test_shows_the_escaped_filter_it_sends() {
    let slapd = server::Slapd::start();
    let env = Env::with_config(
        tempfile::tempdir().unwrap(),
        &format!(
            "[[customer_user]]\ntype = \"ldap\"\nurl = \"{}\"\nbase_dn = \"ou=people,dc=example,dc=org\"\n\
             bind_dn = \"{}\"\nbind_password_env = \"CLIENTELE_TEST_LDAP_PW\"\n\
             always_filter = \"(objectClass=inetOrgPerson)\"\ncustomer_id = \"o\"\n",
            slapd.url(),
            slapd.var("CLIENTELE_LDAP_BIND_DN"),
        ),
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
            .arg("--config")
            .arg(&env.config)
            .args(args)
            .current_dir(env.dir.path())
            .env(
                "CLIENTELE_TEST_LDAP_PW",
                slapd.var("CLIENTELE_LDAP_BIND_PW"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let shown = run(&["ldap", "test", "--login", "jdoe"]);
    assert!(
        shown.contains("filter:   (&(uid=jdoe)(objectClass=inetOrgPerson))"),
        "{shown}"
    );
    assert!(shown.contains("entry jdoe"), "{shown}");

    // Specials in a login are escaped as the backend sends them, and match nothing.
    let report: serde_json::Value =
        serde_json::from_str(&run(&["--json", "ldap", "test", "--login", "j*(d)\\"])).unwrap();
    assert_eq!(
        report[0]["filter"], r"(&(uid=j\2a\28d\29\5c)(objectClass=inetOrgPerson))",
        "{report}"
    );
    assert_eq!(
        report[0]["entries"].as_array().unwrap().len(),
        0,
        "{report}"
    );
}

/// Standard output and standard error of a run, together.
fn all_output(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `args` with and without `--json`; each must fail with `code`, show none of `secrets`,
/// and, under `--json`, report the error as JSON on standard error. Returns the plain run's
/// output.
fn fails_without_secrets(env: &Env, args: &[&str], code: i32, secrets: &[&str]) -> String {
    let mut plain = String::new();
    for json in [false, true] {
        let mut all = args.to_vec();
        if json {
            all.insert(0, "--json");
        }
        let out = env.run(&all);
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(code), "{all:?}: {text}");
        for secret in secrets {
            assert!(!text.contains(secret), "{all:?} shows {secret}: {text}");
        }
        if json {
            let report: serde_json::Value = serde_json::from_slice(&out.stderr)
                .unwrap_or_else(|e| panic!("{all:?}: not JSON ({e}): {text}"));
            assert_eq!(report["error"]["exit_code"], code, "{report}");
        } else {
            plain = text;
        }
    }
    plain
}

/// A port on which a listener accepts connections and never answers: the server that stopped
/// answering, a firewall that swallows the handshake.
fn silent_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A port nobody listens on.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Well under the 30 s of the acquire and query timeouts: proves "failed fast", not a time.
const FAST: std::time::Duration = std::time::Duration::from_secs(15);

#[cfg(any(feature = "postgres", feature = "mysql"))]
#[test]
fn an_unreachable_server_fails_fast_with_its_cause_and_no_password() {
    let (_silent, silent) = silent_port();
    let refused = refused_port();
    let mut cases = Vec::new();
    #[cfg(feature = "postgres")]
    cases.extend([
        ("postgres", refused, "refused"),
        ("postgres", silent, "connect_timeout_ms = 1000 ms"),
    ]);
    #[cfg(feature = "mysql")]
    cases.extend([
        ("mysql", refused, "refused"),
        ("mysql", silent, "connect_timeout_ms = 1000 ms"),
    ]);
    for (scheme, port, cause) in cases {
        let env = Env::with_config(
            tempfile::tempdir().unwrap(),
            &format!(
                "[[customer_user]]\ntype = \"db\"\n\
                 url = \"{scheme}://app:Secr3tPw@127.0.0.1:{port}/otobo?password=Q3ryPw\"\n\
                 connect_timeout_ms = 1000\n"
            ),
        );
        let started = std::time::Instant::now();
        let text =
            fails_without_secrets(&env, &["user", "search", "x"], 2, &["Secr3tPw", "Q3ryPw"]);
        assert!(
            started.elapsed() < FAST * 2,
            "{scheme} on port {port}: {:?}",
            started.elapsed()
        );
        assert!(
            text.to_lowercase().contains(cause),
            "{scheme} on port {port} must say {cause:?}: {text}"
        );
        assert_eq!(text.matches(cause).count().min(1), 1, "{text}");
        // init and its plan report the same, without the password.
        for args in [&["init"][..], &["init", "--plan"][..]] {
            fails_without_secrets(&env, args, 2, &["Secr3tPw", "Q3ryPw"]);
        }
    }
}

/// A database name that does not exist on a running server: the server's reason, no password.
#[cfg(feature = "postgres")]
#[test]
#[ignore = "needs the PostgreSQL test server (CLIENTELE_TEST_POSTGRES_URL)"]
fn a_missing_database_is_named_without_the_password() {
    let server = std::env::var("CLIENTELE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let (scheme, rest) = server.trim_end_matches('/').split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    let user = user.split(':').next().unwrap();
    let env = Env::with_config(
        tempfile::tempdir().unwrap(),
        &format!(
            "[[customer_user]]\ntype = \"db\"\n\
             url = \"{scheme}://{user}:Secr3tPw@{host}/clientele_no_such_database?password=Q3ryPw\"\n"
        ),
    );
    let text = fails_without_secrets(&env, &["user", "show", "jdoe"], 2, &["Secr3tPw", "Q3ryPw"]);
    assert!(
        text.contains("clientele_no_such_database") && text.contains("does not exist"),
        "{text}"
    );
}

/// A configuration file whose mistake quotes a URL or a password: the error says where, never
/// what the secret is; check-config shows the URL redacted.
#[test]
fn configuration_errors_and_check_config_show_no_password() {
    let secrets = ["Secr3tPw", "Q3ryPw"];
    for text in [
        "[[customer_user]]\ntype = \"pstgres://app:Secr3tPw@db/otobo?password=Q3ryPw\"\n",
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n\
         max_connections = \"mysql://app:Secr3tPw@db/otobo?password=Q3ryPw\"\n",
        "[[customer_user]]\ntype = \"ldap\"\nurl = \"ldap://127.0.0.1:1\"\nbase_dn = \"o=x\"\n\
         bind_password = 12345678\n",
    ] {
        let env = Env::with_config(tempfile::tempdir().unwrap(), text);
        let shown = fails_without_secrets(&env, &["check-config"], 1, &secrets);
        assert!(shown.contains("line"), "{shown}");
        assert!(!shown.contains("12345678"), "{shown}");
        fails_without_secrets(&env, &["user", "search", "x"], 1, &secrets);
    }

    let env = Env::with_config(
        tempfile::tempdir().unwrap(),
        "[[customer_user]]\ntype = \"db\"\nurl = \"postgres://app:Secr3tPw@127.0.0.1:1/otobo?password=Q3ryPw\"\n",
    );
    for args in [&["check-config"][..], &["--json", "check-config"][..]] {
        let out = env.run(args);
        let text = all_output(&out);
        assert!(out.status.success(), "{text}");
        assert!(
            !text.contains("Secr3tPw") && !text.contains("Q3ryPw"),
            "{text}"
        );
        assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    }
}

#[test]
fn a_usage_error_under_json_is_json() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--json", "user", "bogus"][..],
        &["--json", "user", "show"][..],
        &["user", "--json", "show"][..],
    ] {
        let out = clientele(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(report["error"]["exit_code"], 1, "{report}");
        assert!(!report["error"]["message"].as_str().unwrap().is_empty());
    }
    // Without --json, clap's own text.
    let out = clientele(dir.path())
        .args(["user", "bogus"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
}

/// A configured SQLite file that does not exist: a command that reads says so and how to create
/// it, and leaves no file behind; only `init` creates it.
#[test]
fn a_configured_sqlite_file_is_created_by_init_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite");
    let env = Env::with_config(
        dir,
        &format!(
            "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n\n{}",
            db.display(),
            common::CHEAP_PASSWORDS
        ),
    );
    for args in [
        &["user", "show", "jdoe"][..],
        &["user", "search", "x"][..],
        &["company", "list"][..],
        &["export", "users"][..],
        &["check-config", "--stored"][..],
    ] {
        let text = fails_without_secrets(&env, args, 2, &[]);
        assert!(
            text.contains("does not exist") && text.contains("clientele init"),
            "{args:?}: {text}"
        );
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
    // check-config without --stored connects to nothing.
    env.ok(&["check-config"]);
    assert!(!db.exists());
    env.ok(&["init"]);
    assert!(db.exists());
    env.ok(&["company", "list"]);
}

/// Every kind of output a command writes ends quietly when its reader goes away.
#[test]
fn a_closed_reader_ends_imports_exports_and_searches_quietly() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    let csv = env.path("users.csv");
    let mut rows = String::from("UserLogin,UserFirstname,UserLastname,UserEmail,UserCustomerID\n");
    for i in 0..200 {
        rows.push_str(&format!("u{i:03},U,Ser,u{i:03}@acme-corp.com,ACME\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let csv = csv.to_str().unwrap();
    for args in [
        &["import", "users", csv][..],
        &["export", "users"][..],
        &["--json", "export", "users", "--format", "jsonl"][..],
        &["user", "search", "*"][..],
        &["--json", "user", "search", "*"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_clientele"))
            .arg("--config")
            .arg(&env.config)
            .args(args)
            .current_dir(env.dir.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}
