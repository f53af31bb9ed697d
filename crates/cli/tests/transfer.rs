//! `export all` and `import all`: everything moved between databases and back, compared on
//! natural keys (ids may differ), audit values and password hashes included; and an import that
//! only works when its rows are applied in file order.

mod common;

use std::collections::BTreeMap;

use common::{Env, user_add_args};
use serde_json::Value;

/// Companies, users (one with a password), groups (one invalid), grants of both kinds,
/// relations, services (one invalid), default services, assignments and preferences.
fn fill(env: &Env) {
    env.ok(&["init"]);
    // Companies through a file that carries their audit values, as an earlier export would.
    std::fs::write(
        env.path("setup.jsonl"),
        concat!(
            r#"{"kind":"company","CustomerID":"ACME","CustomerCompanyName":"Acme Corporation","CustomerCompanyCity":"Berlin","ValidID":1,"CreateTime":"2001-09-09 01:46:40","CreateBy":"1","ChangeTime":"2004-11-04 10:13:20","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"company","CustomerID":"GLOBEX","CustomerCompanyName":"Globex","ValidID":2}"#,
            "\n",
            r#"{"kind":"group","name":"archive","valid":2,"comment":"Closed cases","CreateTime":"2005-01-02 03:04:05","CreateBy":"1","ChangeTime":"2006-01-02 03:04:05","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"service","name":"legacy","valid":2,"comment":"Old lines","CreateTime":"2007-01-02 03:04:05","CreateBy":"1","ChangeTime":"2008-01-02 03:04:05","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"user","UserLogin":"old","UserFirstname":"Olga","UserLastname":"Old","UserEmail":"old@acme-corp.com","UserCustomerID":"ACME","ValidID":2,"CreateTime":"2010-01-01 00:00:00","CreateBy":"1","ChangeTime":"2011-02-03 04:05:06","ChangeBy":"1","password_hash":"{SHA256}not-a-real-hash"}"#,
            "\n",
        ),
    )
    .unwrap();
    env.ok(&["import", "all", "setup.jsonl"]);
    let added = env.run_stdin(
        &user_add_args("jdoe", "jdoe@acme-corp.com", "ACME", &["--password-stdin"]),
        "Secret-Pass-123\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    env.ok(&user_add_args(
        "asmith",
        "asmith@acme-corp.com",
        "ACME",
        &[],
    ));
    env.ok(&["user", "relate-company", "jdoe", "GLOBEX"]);
    env.ok(&["group", "add", "support"]);
    env.ok(&["group", "grant", "support", "--user", "jdoe", "ro"]);
    env.ok(&["group", "grant", "support", "--user", "asmith", "rw"]);
    env.ok(&[
        "group",
        "grant",
        "support",
        "--company",
        "GLOBEX",
        "--context",
        "other",
        "ro",
    ]);
    env.ok(&["service", "add", "printing"]);
    env.ok(&["service", "add", "vpn"]);
    env.ok(&["service", "default", "vpn"]);
    env.ok(&["service", "assign", "jdoe", "printing"]);
    env.ok(&["service", "assign", "asmith", "legacy"]);
    std::fs::write(
        env.path("prefs.jsonl"),
        concat!(
            r#"{"kind":"preference","login":"jdoe","key":"UserLanguage","value":"de"}"#,
            "\n",
            r#"{"kind":"preference","login":"asmith","key":"UserTimeZone","value":"Europe/Berlin"}"#,
            "\n",
            // Relations and grants recorded elsewhere, with the times they were made there.
            r#"{"kind":"user_company","login":"old","customer_id":"GLOBEX","CreateTime":"2012-01-01 00:00:01","CreateBy":"1","ChangeTime":"2012-01-01 00:00:02","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"user_grant","login":"old","group":"archive","permission":"ro","CreateTime":"2012-01-01 00:00:03","CreateBy":"1","ChangeTime":"2012-01-01 00:00:04","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"company_grant","customer_id":"ACME","group":"archive","permission":"ro","context":"Ticket::CustomerID::Same","CreateTime":"2012-01-01 00:00:05","CreateBy":"1","ChangeTime":"2012-01-01 00:00:06","ChangeBy":"1"}"#,
            "\n",
            r#"{"kind":"user_service","login":"old","service":"printing","CreateTime":"2012-01-01 00:00:07","CreateBy":"1"}"#,
            "\n",
        ),
    )
    .unwrap();
    env.ok(&["import", "all", "prefs.jsonl"]);
}

/// The export of everything, line by line in its order (the natural keys are in the lines; ids
/// are not).
fn export_all(env: &Env) -> Vec<String> {
    let file = env.path("all.jsonl");
    env.ok(&[
        "export",
        "all",
        file.to_str().unwrap(),
        "--with-password-hashes",
    ]);
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The lines in one order, for comparing two exports line by line.
fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

/// Imports `lines` (an export) into the freshly initialised `env`.
fn import_into(env: &Env, lines: &[String]) {
    env.ok(&["init"]);
    std::fs::write(env.path("in.jsonl"), lines.join("\n") + "\n").unwrap();
    let summary = env.json(&["import", "all", "in.jsonl"]);
    assert_eq!(summary["failed"], 0, "{summary}");
}

/// jdoe's password was moved with its hash: it still lets jdoe in.
fn logs_in(env: &Env) {
    let auth = env.run_stdin(&["auth", "check", "jdoe"], "Secret-Pass-123\n");
    assert!(
        auth.status.success(),
        "{}",
        String::from_utf8_lossy(&auth.stderr)
    );
}

fn kinds(lines: &[String]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        *out.entry(v["kind"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    out
}

fn user_line(lines: &[String], login: &str) -> Value {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["kind"] == "user" && v["UserLogin"] == login)
        .unwrap_or_else(|| panic!("no user {login} in the export"))
}

/// What the first database holds, checked once, so the comparisons below compare something.
fn check_source_export(lines: &[String]) {
    let expected: BTreeMap<String, usize> = [
        ("company", 2),
        ("company_grant", 2),
        ("default_service", 1),
        ("group", 2),
        ("preference", 2),
        ("service", 3),
        ("user", 3),
        ("user_company", 2),
        ("user_grant", 3),
        ("user_service", 3),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(kinds(lines), expected, "{lines:#?}");
    let old = user_line(lines, "old");
    assert_eq!(old["CreateTime"], "2010-01-01 00:00:00");
    assert_eq!(old["ChangeTime"], "2011-02-03 04:05:06");
    assert_eq!(old["ValidID"], 2);
    assert_eq!(old["password_hash"], "{SHA256}not-a-real-hash");
    let jdoe = user_line(lines, "jdoe");
    assert!(
        jdoe["password_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with('$')),
        "{jdoe}"
    );
    let acme = lines
        .iter()
        .find(|l| l.contains(r#""CustomerID":"ACME""#))
        .unwrap();
    assert!(
        acme.contains(r#""CreateTime":"2001-09-09 01:46:40""#),
        "{acme}"
    );
    // Groups, services, relations and grants keep their comments and audit values too.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (kind, key, value) in [
        ("group", "comment", "Closed cases"),
        ("group", "CreateTime", "2005-01-02 03:04:05"),
        ("group", "ChangeTime", "2006-01-02 03:04:05"),
        ("service", "comment", "Old lines"),
        ("service", "CreateTime", "2007-01-02 03:04:05"),
        ("user_company", "CreateTime", "2012-01-01 00:00:01"),
        ("user_company", "ChangeTime", "2012-01-01 00:00:02"),
        ("user_grant", "CreateTime", "2012-01-01 00:00:03"),
        ("user_grant", "ChangeTime", "2012-01-01 00:00:04"),
        ("company_grant", "CreateTime", "2012-01-01 00:00:05"),
        ("company_grant", "ChangeTime", "2012-01-01 00:00:06"),
        ("user_service", "CreateTime", "2012-01-01 00:00:07"),
    ] {
        assert!(
            parsed.iter().any(|v| v["kind"] == kind && v[key] == value),
            "no {kind} line with {key} = {value}: {lines:#?}"
        );
    }
    // Rows written by this run carry their own audit values.
    let jdoe_grant = parsed
        .iter()
        .find(|v| v["kind"] == "user_grant" && v["login"] == "jdoe")
        .unwrap();
    assert!(jdoe_grant["CreateTime"].is_string(), "{jdoe_grant}");
}

#[test]
fn everything_survives_a_round_trip_between_sqlite_databases() {
    let first = Env::new("");
    fill(&first);
    let exported = export_all(&first);
    check_source_export(&exported);

    let second = Env::new("");
    import_into(&second, &exported);
    assert_eq!(sorted(export_all(&second)), sorted(exported.clone()));

    // A second import of the same export changes nothing.
    std::fs::write(second.path("again.jsonl"), exported.join("\n") + "\n").unwrap();
    let summary = second.json(&["import", "all", "again.jsonl"]);
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["updated"], 0, "{summary}");
    assert_eq!(sorted(export_all(&second)), sorted(exported.clone()));
    // The password moved: the user logs in on the second database (which records the login).
    logs_in(&second);
}

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod servers {
    use super::*;
    use clientele::db::sea_orm::{ConnectionTrait, Database};

    fn base(var: &str, default: &str) -> String {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .trim_end_matches('/')
            .to_owned()
    }

    /// A new database on a server, dropped when the test is done (also when it fails).
    struct ServerDb {
        admin_url: String,
        name: String,
        postgres: bool,
    }

    impl ServerDb {
        fn new(postgres: bool) -> ServerDb {
            let admin_url = if postgres {
                format!(
                    "{}/postgres",
                    base(
                        "CLIENTELE_TEST_POSTGRES_URL",
                        "postgres://postgres@127.0.0.1:5432"
                    )
                )
            } else {
                base("CLIENTELE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
            };
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let name = format!("clientele_t_{}_transfer_{nanos}", std::process::id());
            let create = if postgres {
                format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'")
            } else {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            };
            run(&admin_url, &create);
            ServerDb {
                admin_url,
                name,
                postgres,
            }
        }

        fn url(&self) -> String {
            let server = self.admin_url.trim_end_matches("/postgres");
            format!("{server}/{}", self.name)
        }

        fn env(&self) -> Env {
            let text = format!(
                "[[customer_user]]\ntype = \"db\"\nurl = \"{}\"\n\n[permissions]\ncustomer_group_support = true\n\n{}",
                self.url(),
                common::CHEAP_PASSWORDS
            );
            Env::with_config(tempfile::tempdir().unwrap(), &text)
        }
    }

    impl Drop for ServerDb {
        fn drop(&mut self) {
            let drop = if self.postgres {
                format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)
            } else {
                format!("DROP DATABASE IF EXISTS `{}`", self.name)
            };
            run(&self.admin_url, &drop);
        }
    }

    fn run(url: &str, sql: &str) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let conn = Database::connect(url).await.unwrap_or_else(|e| {
                panic!("cannot reach the test server at {url}: {e} (run scripts/test.sh)")
            });
            conn.execute_unprepared(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            conn.close().await.ok();
        });
    }

    #[test]
    #[ignore = "needs PostgreSQL and MariaDB: run scripts/test.sh"]
    fn everything_survives_sqlite_to_postgres_to_mariadb() {
        let sqlite = Env::new("");
        fill(&sqlite);
        let exported = export_all(&sqlite);
        check_source_export(&exported);

        let pg_db = ServerDb::new(true);
        let postgres = pg_db.env();
        import_into(&postgres, &exported);
        let from_postgres = export_all(&postgres);
        assert_eq!(
            sorted(from_postgres.clone()),
            sorted(exported.clone()),
            "SQLite → PostgreSQL"
        );

        let my_db = ServerDb::new(false);
        let mariadb = my_db.env();
        import_into(&mariadb, &from_postgres);
        assert_eq!(
            sorted(export_all(&mariadb)),
            sorted(exported),
            "PostgreSQL → MariaDB"
        );
        logs_in(&mariadb);
    }
}

/// Read top to bottom, this file is valid: ann takes an address, gives it up, and bob takes it.
/// Applied out of order (bob before ann's second row), bob's or ann's add is refused.
#[test]
fn rows_are_applied_in_file_order() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    std::fs::write(
        env.path("users.csv"),
        "UserLogin,UserFirstname,UserLastname,UserEmail,UserCustomerID\n\
         ann,Ann,A,shared@acme-corp.com,ACME\n\
         ann,Ann,A,ann@acme-corp.com,ACME\n\
         bob,Bob,B,shared@acme-corp.com,ACME\n",
    )
    .unwrap();
    for on_error in ["continue", "stop"] {
        let env = if on_error == "continue" {
            &env
        } else {
            &{
                let e = Env::new("");
                e.ok(&["init"]);
                e.ok(&["company", "add", "ACME", "--name", "Acme"]);
                std::fs::copy(env.path("users.csv"), e.path("users.csv")).unwrap();
                e
            }
        };
        let summary = env.json(&["import", "users", "users.csv", "--on-error", on_error]);
        assert_eq!(summary["failed"], 0, "{on_error}: {summary}");
        assert_eq!(summary["added"], 2, "{on_error}: {summary}");
        assert_eq!(summary["updated"], 1, "{on_error}: {summary}");
        let ann = env.json(&["user", "show", "ann"]);
        let bob = env.json(&["user", "show", "bob"]);
        assert!(ann.to_string().contains("\"ann@acme-corp.com\""), "{ann}");
        assert!(
            bob.to_string().contains("\"shared@acme-corp.com\""),
            "{bob}"
        );
    }
}
