//! The admin views from the other end of a relation (a company's users, a service's users, a
//! user's own services, who has a preference) and groups and services administered: rename,
//! comment, invalidate, OTOBO's `Parent::Child` services.

mod common;

use common::{Env, user_add_args};
use serde_json::{Value, json};

/// An environment with companies ACME and GLOBEX.
fn with_companies() -> Env {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme Corp"]);
    env.ok(&["company", "add", "GLOBEX", "--name", "Globex"]);
    env
}

fn add_user(env: &Env, login: &str, customer_id: &str) {
    let email = format!("{login}@acme-corp.test");
    env.ok(&user_add_args(login, &email, customer_id, &[]));
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn company_users_are_listed_from_the_company_end() {
    let env = with_companies();
    add_user(&env, "jdoe", "ACME");
    add_user(&env, "anna", "GLOBEX");
    add_user(&env, "both", "ACME");
    add_user(&env, "old", "ACME");
    env.ok(&["user", "relate-company", "anna", "ACME"]);
    env.ok(&["user", "relate-company", "both", "ACME"]);
    env.ok(&["user", "invalidate", "old"]);
    let listed = env.json(&["company", "users", "ACME"]);
    assert_eq!(
        listed,
        json!({
            "customer_id": "ACME",
            "users": [
                { "login": "anna", "primary": false, "related": true },
                { "login": "both", "primary": true, "related": true },
                { "login": "jdoe", "primary": true, "related": false },
                { "login": "old", "primary": true, "related": false },
            ]
        })
    );
    let table = env.ok(&["company", "users", "GLOBEX"]);
    assert!(
        table.contains("PRIMARY") && table.contains("anna"),
        "{table}"
    );
    assert!(!table.contains("jdoe"), "{table}");
    let limited = env.json(&["company", "users", "ACME", "--limit", "1"]);
    let primaries = limited["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["primary"] == true)
        .count();
    assert_eq!(primaries, 1, "{limited}");
    let none = env.ok(&["company", "users", "NOPE"]);
    assert!(none.contains("no customer user"), "{none}");
}

#[test]
fn company_invalidate_keeps_the_company_out_of_default_lists() {
    let env = with_companies();
    let out = env.json(&["company", "invalidate", "GLOBEX"]);
    assert_eq!(
        out,
        json!({ "customer_id": "GLOBEX", "validity": "invalid" })
    );
    let valid = env.json(&["company", "list"]);
    let ids: Vec<&str> = valid
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACME"], "{valid}");
    let all = env.ok(&["company", "list", "--all"]);
    assert!(all.contains("GLOBEX"), "{all}");
    let temp = env.json(&["company", "invalidate", "ACME", "--temporarily"]);
    assert_eq!(temp["validity"], "invalid-temporarily");
    let (code, err) = env.fails(&["company", "invalidate", "NOPE"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("NOPE"), "{err}");
}

#[test]
fn service_users_and_own_services_without_defaults() {
    let env = with_companies();
    add_user(&env, "jdoe", "ACME");
    add_user(&env, "anna", "ACME");
    env.ok(&["service", "add", "vpn"]);
    env.ok(&["service", "add", "printing"]);
    env.ok(&["service", "default", "vpn"]);
    env.ok(&["service", "assign", "jdoe", "printing"]);
    env.ok(&["service", "assign", "anna", "vpn"]);
    let vpn = env.json(&["service", "users", "vpn"]);
    assert_eq!(vpn["service"]["name"], "vpn");
    assert_eq!(vpn["service"]["default"], true);
    assert_eq!(
        vpn["logins"],
        json!(["anna"]),
        "the default marker is not a login"
    );
    let printing = env.json(&["service", "users", "printing"]);
    assert_eq!(printing["service"]["default"], false);
    assert_eq!(printing["logins"], json!(["jdoe"]));
    let table = env.ok(&["service", "users", "vpn"]);
    assert!(
        table.contains("default service") && table.contains("anna"),
        "{table}"
    );

    env.ok(&["service", "assign", "anna", "vpn", "--remove"]);
    assert_eq!(
        names(&env.json(&["service", "list", "--user", "anna"])),
        ["vpn"],
        "the default fallback"
    );
    assert_eq!(
        env.json(&["service", "list", "--user", "anna", "--no-default"]),
        json!([]),
        "own services only"
    );
    assert_eq!(
        names(&env.json(&["service", "list", "--user", "jdoe", "--no-default"])),
        ["printing"]
    );
    let text = env.ok(&["service", "list", "--user", "anna", "--no-default"]);
    assert!(text.contains("no services of its own"), "{text}");
    env.fails(&["service", "list", "--no-default"]);
    let (code, err) = env.fails(&["service", "users", "nope"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn services_form_a_parent_child_hierarchy() {
    let env = with_companies();
    let (code, err) = env.fails(&["service", "add", "Email::Outbound"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Email"), "the missing parent is named: {err}");
    for bad in ["Email::", "A::::B", "A:::B"] {
        let (code, err) = env.fails(&["service", "add", bad]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("service"), "{bad}: the field is named: {err}");
    }
    for name in [
        "Email",
        "Email::Outbound",
        "Email::Outbound::SMTP",
        "Emails",
    ] {
        env.ok(&["service", "add", name]);
    }
    let renamed = env.json(&["service", "rename", "Email", "Mail"]);
    assert_eq!(renamed["name"], "Mail");
    assert_eq!(
        names(&env.json(&["service", "list"])),
        ["Mail", "Mail::Outbound", "Mail::Outbound::SMTP", "Emails"]
    );
    let said = env.ok(&["service", "rename", "Mail::Outbound", "Emails::Outbound"]);
    assert!(said.contains("with its 1 descendant"), "{said}");
    let (code, err) = env.fails(&["service", "rename", "Mail", "Nowhere::Mail"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Nowhere"), "{err}");
    let (code, err) = env.fails(&["service", "rename", "Mail", "Emails"]);
    assert_eq!(code, 1, "a taken name: {err}");

    let commented = env.json(&["service", "comment", "Mail", "Mail in and out"]);
    assert_eq!(commented["comment"], "Mail in and out");
    let listed = env.json(&["service", "list"]);
    assert_eq!(listed[0]["comment"], "Mail in and out", "{listed}");
    let cleared = env.json(&["service", "comment", "Mail"]);
    assert_eq!(cleared["comment"], Value::Null);
    let long = "c".repeat(251);
    let (code, err) = env.fails(&["service", "comment", "Mail", &long]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("comments"), "{err}");

    let invalid = env.json(&["service", "invalidate", "Emails::Outbound"]);
    assert_eq!(invalid["validity"], "invalid");
    let temp = env.json(&["service", "invalidate", "Mail", "--temporarily"]);
    assert_eq!(temp["validity"], "invalid-temporarily");
    let valid = env.json(&["service", "validate", "Mail"]);
    assert_eq!(valid["validity"], "valid");
}

#[test]
fn groups_are_renamed_commented_and_invalidated() {
    let env = with_companies();
    add_user(&env, "jdoe", "ACME");
    env.ok(&["group", "add", "billing"]);
    env.ok(&["group", "grant", "billing", "--user", "jdoe", "ro"]);
    let renamed = env.json(&["group", "rename", "billing", "invoicing"]);
    assert_eq!(renamed["name"], "invoicing");
    let said = env.ok(&["group", "comment", "invoicing", "Invoices and refunds"]);
    assert!(said.contains("Invoices and refunds"), "{said}");
    let groups = env.json(&["group", "list"]);
    assert_eq!(groups[0]["name"], "invoicing");
    assert_eq!(groups[0]["comment"], "Invoices and refunds");
    let table = env.ok(&["group", "list"]);
    assert!(
        table.contains("COMMENT") && table.contains("Invoices and refunds"),
        "{table}"
    );
    let eff = env.json(&["group", "effective", "jdoe"]);
    assert_eq!(
        eff["groups"][0]["group"], "invoicing",
        "the grant follows: {eff}"
    );

    let invalid = env.json(&["group", "invalidate", "invoicing"]);
    assert_eq!(invalid["validity"], "invalid");
    let eff = env.json(&["group", "effective", "jdoe"]);
    assert_eq!(
        eff["groups"],
        json!([]),
        "an invalid group grants nothing: {eff}"
    );
    env.ok(&["group", "validate", "invoicing"]);
    let eff = env.json(&["group", "effective", "jdoe"]);
    assert_eq!(eff["groups"][0]["group"], "invoicing", "{eff}");

    env.ok(&["group", "add", "sales"]);
    let (code, err) = env.fails(&["group", "rename", "invoicing", "sales"]);
    assert_eq!(code, 1, "a taken name: {err}");
    let (code, err) = env.fails(&["group", "rename", "invoicing", ""]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("group"), "the field is named: {err}");
    let (code, err) = env.fails(&["group", "comment", "nogroup", "x"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn users_are_found_by_preference() {
    let env = with_companies();
    for (login, password) in [("jdoe", "Secret-jdoe-1"), ("anna", "Secret-anna-1")] {
        let email = format!("{login}@acme-corp.test");
        let args = user_add_args(login, &email, "ACME", &["--password-stdin"]);
        let out = env.run_stdin(&args, &format!("{password}\n"));
        assert!(out.status.success(), "{out:?}");
    }
    let ok = env.run_stdin(&["auth", "check", "jdoe"], "Secret-jdoe-1\n");
    assert!(ok.status.success(), "{ok:?}");
    let wrong = env.run_stdin(&["auth", "check", "anna"], "wrong\n");
    assert!(!wrong.status.success());

    let failed = env.json(&["user", "with-preference", "UserLoginFailed", "1"]);
    assert_eq!(failed, json!([{ "login": "anna", "value": "1" }]));
    let reset = env.json(&["user", "with-preference", "UserLoginFailed", "0"]);
    assert_eq!(
        reset[0]["login"], "jdoe",
        "a good login resets the count: {reset}"
    );
    let any = env.json(&["user", "with-preference", "UserLoginFailed"]);
    assert_eq!(any.as_array().unwrap().len(), 2, "{any}");
    let literal = env.json(&["user", "with-preference", "UserLoginFailed", "%"]);
    assert_eq!(literal, json!([]), "% is literal");
    let table = env.ok(&["user", "with-preference", "UserLastLogin"]);
    assert!(table.contains("jdoe") && !table.contains("anna"), "{table}");
    let none = env.ok(&["user", "with-preference", "UserLanguage", "de"]);
    assert!(none.contains("no customer user"), "{none}");
    let (code, err) = env.fails(&["user", "with-preference", "UserToken"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("UserToken"), "{err}");
}
