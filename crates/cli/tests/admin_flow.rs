//! The whole admin flow through the real binary: companies, users with generated passwords,
//! search, edit, invalidate, relations, groups and effective permissions, services, exit codes.

mod common;

use common::{Env, user_add_args};
use serde_json::Value;

fn logins(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn admin_flow() {
    let env = Env::new("");
    let init = env.ok(&["init"]);
    assert!(init.contains("schema ready"), "{init}");

    // Companies.
    env.ok(&[
        "company",
        "add",
        "ACME",
        "--name",
        "Acme Corporation",
        "--city",
        "Berlin",
    ]);
    let globex = env.json(&["company", "add", "GLOBEX", "--name", "Globex Inc."]);
    assert_eq!(globex["customer_id"], "GLOBEX");
    let listed = env.json(&["company", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let found = env.json(&["company", "search", "acme"]);
    assert_eq!(found[0]["name"], "Acme Corporation");

    // A user without a password: one is generated and printed once.
    let out = env.ok(&[
        "user",
        "add",
        "--login",
        "jdoe",
        "--first-name",
        "John",
        "--last-name",
        "Doe",
        "--email",
        "john.doe@acme-corp.com",
        "--customer-id",
        "ACME",
        "--phone",
        "+49 30 1",
    ]);
    assert!(out.contains("added customer user jdoe"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("generated password"))
        .expect("the generated password is printed");
    let password = line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(password.len(), 16, "{line}");
    assert!(!env.ok(&["user", "show", "jdoe"]).contains(&password));
    assert!(
        !env.ok(&["--json", "user", "show", "jdoe"])
            .contains(&password)
    );
    let auth = env.run_stdin(&["auth", "check", "jdoe"], &format!("{password}\n"));
    assert!(
        auth.status.success(),
        "{}",
        String::from_utf8_lossy(&auth.stderr)
    );
    let wrong = env.run_stdin(&["auth", "check", "jdoe"], "not-it\n");
    assert_eq!(wrong.status.code(), Some(1));

    let added = env.json(&[
        "user",
        "add",
        "--login",
        "asmith",
        "--first-name",
        "Anna",
        "--last-name",
        "Smith",
        "--email",
        "anna@acme-corp.com",
        "--customer-id",
        "ACME",
    ]);
    assert_eq!(added["login"], "asmith");
    assert_eq!(added["generated_password"].as_str().unwrap().len(), 16);

    // Search.
    assert_eq!(logins(&env.json(&["user", "search", "doe"])), ["jdoe"]);
    assert_eq!(logins(&env.json(&["user", "search", "*smi*"])), ["asmith"]);
    assert_eq!(logins(&env.json(&["user", "search"])), ["asmith", "jdoe"]);
    assert_eq!(
        logins(&env.json(&["user", "search", "--email", "anna@acme-corp.com"])),
        ["asmith"]
    );
    let table = env.ok(&["user", "search", "j*"]);
    assert!(table.starts_with("LOGIN"), "{table}");
    assert!(table.contains("john.doe@acme-corp.com"), "{table}");

    // Edit.
    let edited = env.json(&[
        "user",
        "update",
        "jdoe",
        "--city",
        "Hamburg",
        "--attr",
        "UserComment=VIP",
        "--phone",
        "",
    ]);
    assert_eq!(edited["city"], "Hamburg");
    assert_eq!(edited["comment"], "VIP");
    assert_eq!(edited["phone"], Value::Null);
    let shown = env.json(&["user", "show", "jdoe"]);
    assert_eq!(shown["city"], "Hamburg");
    assert_eq!(shown["source"], "Database Backend");

    // Invalidate: gone from default searches, there with --all.
    env.ok(&["user", "invalidate", "asmith"]);
    assert_eq!(logins(&env.json(&["user", "search", "*"])), ["jdoe"]);
    assert_eq!(
        logins(&env.json(&["user", "search", "*", "--all"])),
        ["asmith", "jdoe"]
    );
    assert_eq!(env.json(&["user", "show", "asmith"])["validity"], "invalid");

    // Relate to a second company.
    env.ok(&["user", "relate-company", "jdoe", "GLOBEX"]);
    assert_eq!(
        env.json(&["user", "customers", "jdoe"]),
        serde_json::json!(["ACME", "GLOBEX"])
    );

    // Groups, grants, effective permissions.
    env.ok(&["group", "add", "support"]);
    env.ok(&["group", "add", "billing"]);
    env.ok(&["group", "add", "sales"]);
    env.ok(&["group", "grant", "support", "--user", "jdoe", "ro"]);
    env.ok(&["group", "grant", "billing", "--company", "GLOBEX", "rw"]);
    env.ok(&[
        "group",
        "grant",
        "sales",
        "--company",
        "GLOBEX",
        "--context",
        "other",
        "ro",
    ]);
    let eff = env.json(&["group", "effective", "jdoe"]);
    assert_eq!(eff["permission_types"], serde_json::json!(["ro", "rw"]));
    let groups = eff["groups"].as_array().unwrap();
    let by_name = |n: &str| groups.iter().find(|g| g["group"] == n).cloned();
    assert_eq!(
        by_name("support").unwrap()["effective"],
        serde_json::json!(["ro"])
    );
    assert_eq!(
        by_name("support").unwrap()["direct"],
        serde_json::json!(["ro"])
    );
    // Inherited through the related company GLOBEX in the "same customer" context.
    assert_eq!(
        by_name("billing").unwrap()["effective"],
        serde_json::json!(["ro", "rw"])
    );
    assert_eq!(by_name("billing").unwrap()["direct"], serde_json::json!([]));
    // The "other customers" context never counts here.
    assert!(by_name("sales").is_none(), "{eff}");
    let matrix = env.ok(&["group", "effective", "jdoe"]);
    assert!(
        matrix.lines().next().unwrap().starts_with("GROUP"),
        "{matrix}"
    );
    assert!(matrix.contains("support"), "{matrix}");

    env.ok(&["group", "grant", "support", "--user", "jdoe", "rw"]);
    let eff = env.json(&["group", "effective", "jdoe"]);
    let support = eff["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "support")
        .unwrap()
        .clone();
    assert_eq!(support["effective"], serde_json::json!(["ro", "rw"]));
    env.ok(&["group", "revoke", "support", "--user", "jdoe"]);
    env.ok(&["user", "relate-company", "jdoe", "GLOBEX", "--remove"]);
    let eff = env.json(&["group", "effective", "jdoe"]);
    assert_eq!(eff["groups"], serde_json::json!([]), "{eff}");

    // Services and default services.
    env.ok(&["service", "add", "printing"]);
    env.ok(&["service", "add", "vpn"]);
    env.ok(&["service", "default", "vpn"]);
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(env.json(&["service", "list", "--user", "jdoe"])),
        ["vpn"]
    );
    env.ok(&["service", "assign", "jdoe", "printing"]);
    assert_eq!(
        names(env.json(&["service", "list", "--user", "jdoe"])),
        ["printing"]
    );
    let all = env.json(&["service", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["default"], true);
    env.ok(&["service", "assign", "jdoe", "printing", "--remove"]);
    assert_eq!(
        names(env.json(&["service", "list", "--user", "jdoe"])),
        ["vpn"]
    );

    // Set a password from standard input.
    let set = env.run_stdin(&["user", "set-password", "jdoe"], "n3w-secret\n");
    assert!(set.status.success());
    assert!(
        env.run_stdin(&["auth", "check", "jdoe"], "n3w-secret\n")
            .status
            .success()
    );
    assert!(
        !env.run_stdin(&["auth", "check", "jdoe"], &format!("{password}\n"))
            .status
            .success()
    );
}

#[test]
fn bad_input_exits_1_and_says_what_to_fix() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);

    let (code, err) = env.fails(&["user", "show", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("nobody") && err.contains("not found"), "{err}");

    let (code, err) = env.fails(&[
        "user",
        "add",
        "--login",
        "x",
        "--first-name",
        "X",
        "--last-name",
        "Y",
        "--email",
        "not-an-address",
        "--customer-id",
        "ACME",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("UserEmail"), "{err}");

    let (code, err) = env.fails(&[
        "user",
        "add",
        "--login",
        "x",
        "--first-name",
        "X",
        "--last-name",
        "Y",
        "--email",
        "x@acme-corp.com",
        "--customer-id",
        "NOPE",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("company add"), "{err}");

    let (code, err) = env.fails(&["company", "add", "ACME", "--name", "Other"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    let (code, err) = env.fails(&["user", "update", "nobody", "--city", "X"]);
    assert_eq!(code, 1, "{err}");

    let (code, err) = env.fails(&["group", "grant", "nogroup", "--user", "x", "ro"]);
    assert_eq!(code, 1, "{err}");

    let (code, err) = env.fails(&["user", "add", "--attr", "room=1"]);
    assert_eq!(
        code, 1,
        "a usage error is bad input, not a backend failure: {err}"
    );

    let (code, err) = env.fails(&["user", "search", "+"]);
    assert_eq!(code, 1, "{err}");

    let (code, err) = env.fails(&[
        "user",
        "add",
        "--login",
        "y",
        "--first-name",
        "X",
        "--last-name",
        "Y",
        "--email",
        "y@acme-corp.com",
        "--customer-id",
        "ACME",
        "--attr",
        "room=B-201",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("room") && err.contains("attribute map"),
        "{err}"
    );
}

#[test]
fn extra_map_attributes_get_a_column_and_an_option() {
    let env = Env::new(
        r#"
[[customer_user.settings.map]]
key = "UserFirstname"
storage = "first_name"
required = true
[[customer_user.settings.map]]
key = "UserLastname"
storage = "last_name"
required = true
[[customer_user.settings.map]]
key = "UserLogin"
storage = "login"
required = true
[[customer_user.settings.map]]
key = "UserPassword"
storage = "pw"
[[customer_user.settings.map]]
key = "UserEmail"
storage = "email"
required = true
[[customer_user.settings.map]]
key = "UserCustomerID"
storage = "customer_id"
required = true
[[customer_user.settings.map]]
key = "ValidID"
storage = "valid_id"
storage_type = "integer"
required = true
[[customer_user.settings.map]]
key = "UserRoom"
label = "Room"
storage = "room"
shown = "always"
"#,
    );
    let init = env.ok(&["init"]);
    assert!(init.contains("added column customer_user.room"), "{init}");
    assert!(
        !env.ok(&["init"]).contains("added column"),
        "init is idempotent"
    );
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    env.ok(&[
        "user",
        "add",
        "--login",
        "jdoe",
        "--first-name",
        "J",
        "--last-name",
        "D",
        "--email",
        "j@acme-corp.com",
        "--customer-id",
        "ACME",
        "--attr",
        "room=B-201",
    ]);
    let shown = env.json(&["user", "show", "jdoe"]);
    assert_eq!(shown["extra"]["UserRoom"], "B-201");
    env.ok(&["user", "update", "jdoe", "--attr", "UserRoom=C-3"]);
    assert_eq!(
        env.json(&["user", "show", "jdoe"])["extra"]["UserRoom"],
        "C-3"
    );
}

#[test]
fn an_unreachable_database_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // SQLite cannot open a file in a directory that does not exist: the database is
    // unavailable, exactly as a server that does not answer.
    let env = Env::with_config(
        dir,
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite:///clientele-no-such-dir/x/db.sqlite?mode=rwc\"\n",
    );
    let (code, err) = env.fails(&["user", "show", "jdoe"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unavailable"), "{err}");
}

#[cfg(feature = "postgres")]
#[test]
fn an_unreachable_postgres_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::with_config(
        dir,
        "[[customer_user]]\ntype = \"db\"\nurl = \"postgres://clientele@127.0.0.1:1/clientele\"\nconnect_timeout_ms = 2000\n",
    );
    let (code, err) = env.fails(&["user", "show", "jdoe"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_missing_schema_says_run_init() {
    let env = Env::new("");
    let (code, err) = env.fails(&["user", "show", "jdoe"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("clientele init"), "{err}");
}

#[test]
fn no_config_file_means_a_local_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["--json", "init"])
        .current_dir(dir.path())
        .env_remove("CLIENTELE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("clientele.sqlite").exists());
}

#[test]
fn init_creates_search_indexes_that_searches_then_use() {
    let env = Env::new("");
    let init = env.ok(&["init", "--search-indexes"]);
    assert!(init.contains("search indexes: ready"), "{init}");
    // Again: nothing to do, still fine.
    let again = env.json(&["init", "--search-indexes"]);
    assert_eq!(again["sources"][0]["search_indexes"], "ready");
    env.ok(&["company", "add", "ACME", "--name", "Acme Corporation"]);
    for (login, first, last) in [
        ("jdoe", "John", "Doe"),
        ("anna", "Anna", "Smith"),
        ("bmüller", "Björn", "Müller"),
    ] {
        env.ok(&[
            "user",
            "add",
            "--login",
            login,
            "--first-name",
            first,
            "--last-name",
            last,
            "--email",
            &format!("{first}@acme-corp.com").to_lowercase(),
            "--customer-id",
            "ACME",
        ]);
    }
    assert_eq!(logins(&env.json(&["user", "search", "smit"])), ["anna"]);
    assert_eq!(logins(&env.json(&["user", "search", "MÜLL"])), ["bmüller"]);
    assert_eq!(
        logins(&env.json(&["user", "search", "%"])),
        Vec::<String>::new()
    );
    env.ok(&["user", "update", "anna", "--last-name", "Jones"]);
    assert!(logins(&env.json(&["user", "search", "smit"])).is_empty());
    assert_eq!(logins(&env.json(&["user", "search", "jone"])), ["anna"]);
}

/// `grant` adds types and `revoke` removes the named ones, so an `ro` granted before an `rw`
/// survives revoking the `rw`; `grant --set` replaces the set; `revoke` alone removes all.
#[test]
fn grant_adds_and_revoke_removes_single_types() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    env.ok(&[
        "user",
        "add",
        "--login",
        "jdoe",
        "--first-name",
        "John",
        "--last-name",
        "Doe",
        "--email",
        "jdoe@acme-corp.com",
        "--customer-id",
        "ACME",
    ]);
    env.ok(&["group", "add", "billing"]);
    let perms = |args: &[&str]| env.json(args)["permissions"].clone();
    let user = ["--user", "jdoe"];
    let grant = |types: &[&str]| {
        let mut a = vec!["group", "grant", "billing"];
        a.extend(user);
        a.extend(types);
        perms(&a)
    };
    assert_eq!(grant(&["ro"]), serde_json::json!(["ro"]));
    assert_eq!(grant(&["rw"]), serde_json::json!(["ro", "rw"]));
    let mut revoke = vec!["group", "revoke", "billing"];
    revoke.extend(user);
    revoke.push("rw");
    assert_eq!(perms(&revoke), serde_json::json!(["ro"]));
    assert_eq!(grant(&["--set", "rw"]), serde_json::json!(["rw"]));
    let mut all = vec!["group", "revoke", "billing"];
    all.extend(user);
    assert_eq!(perms(&all), serde_json::json!([]));

    // Company grants the same way, per context.
    let company = |verb: &str, types: &[&str]| {
        let mut a = vec![
            "group",
            verb,
            "billing",
            "--company",
            "ACME",
            "--context",
            "same",
        ];
        a.extend(types);
        perms(&a)
    };
    assert_eq!(company("grant", &["ro"]), serde_json::json!(["ro"]));
    assert_eq!(company("grant", &["rw"]), serde_json::json!(["ro", "rw"]));
    assert_eq!(company("revoke", &["ro"]), serde_json::json!(["rw"]));

    // A type that is not configured is refused with the input exit code, naming it.
    let (code, err) = env.fails(&["group", "grant", "billing", "--user", "jdoe", "owner"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("owner"), "{err}");
}

/// `--customer-ids` on OTOBO's default map (no `UserCustomerIDs` row) relates the user to the
/// companies instead of failing, and refuses an unknown company before writing anything.
#[test]
fn customer_ids_on_the_default_map_become_relations() {
    let env = Env::new("");
    env.ok(&["init"]);
    for id in ["ACME", "GLOBEX", "INITECH"] {
        env.ok(&["company", "add", id, "--name", id]);
    }
    let add = |ids: &str| {
        env.run(&user_add_args(
            "jdoe",
            "john.doe@acme-corp.com",
            "ACME",
            &["--customer-ids", ids],
        ))
    };
    let refused = add("GLOBEX;NOPE");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("\"NOPE\" not found"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        env.json(&["user", "search", "--all"])
            .as_array()
            .unwrap()
            .is_empty(),
        "a refused add wrote a user"
    );

    let added = add("GLOBEX");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let ids = env.json(&["user", "customers", "jdoe"]);
    let ids: Vec<&str> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX"]);

    env.ok(&["user", "update", "jdoe", "--customer-ids", "INITECH"]);
    let ids = env.json(&["user", "customers", "jdoe"]);
    assert_eq!(ids.as_array().unwrap().len(), 3, "{ids}");
}
