//! `clientele group members` (raw and `--effective`), `group effective` with the origins of each
//! permission, and `group access-filter`, on a SQLite database.

mod common;

use common::{Env, user_add_args};
use serde_json::{Value, json};

/// ACME and GLOBEX; jdoe (ACME, related to GLOBEX) and asmith (GLOBEX); the groups support and
/// billing (plus the always-group users); jdoe has ro on support, GLOBEX rw on billing and ro
/// on support in the "other customers" context.
fn seeded() -> Env {
    let env = Env::new("");
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        "customer_group_support = true\n",
        "customer_group_support = true\nother_customers_context = true\n",
    );
    std::fs::write(&env.config, text).unwrap();
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    env.ok(&["company", "add", "GLOBEX", "--name", "Globex"]);
    env.ok(&user_add_args("jdoe", "jdoe@acme.test", "ACME", &[]));
    env.ok(&user_add_args(
        "asmith",
        "asmith@globex.test",
        "GLOBEX",
        &[],
    ));
    env.ok(&["user", "relate-company", "jdoe", "GLOBEX"]);
    for g in ["users", "support", "billing"] {
        env.ok(&["group", "add", g]);
    }
    env.ok(&["group", "grant", "support", "--user", "jdoe", "ro"]);
    env.ok(&["group", "grant", "billing", "--company", "GLOBEX", "rw"]);
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
    env
}

#[test]
fn members_lists_the_stored_grants_of_users_and_companies() {
    let env = seeded();
    let support = env.json(&["group", "members", "support"]);
    assert_eq!(support["group"], "support");
    assert_eq!(support["always_group"], false);
    assert_eq!(
        support["users"],
        json!([{"login": "jdoe", "permissions": ["ro"]}])
    );
    assert_eq!(
        support["companies"],
        json!([{
            "customer_id": "GLOBEX",
            "context": "Ticket::CustomerID::Other",
            "permissions": ["ro"],
        }])
    );
    let users = env.json(&["group", "members", "users"]);
    assert_eq!(users["always_group"], true);
    assert_eq!(users["users"], json!([]));

    let table = env.ok(&["group", "members", "billing"]);
    assert!(table.starts_with("KIND"), "{table}");
    assert!(
        table.contains("company  GLOBEX  Ticket::CustomerID::Same  rw"),
        "{table}"
    );
    let (_, err) = env.fails(&["group", "members", "nope"]);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn effective_members_name_each_origin_and_report_always_groups_as_everyone() {
    let env = seeded();
    let billing = env.json(&["group", "members", "billing", "--effective"]);
    assert_eq!(billing["every_valid_user"], Value::Null);
    let members = billing["members"].as_array().unwrap();
    let logins: Vec<&str> = members
        .iter()
        .map(|m| m["login"].as_str().unwrap())
        .collect();
    // asmith through its primary company, jdoe through the related one.
    assert_eq!(logins, ["asmith", "jdoe"]);
    for m in members {
        assert_eq!(m["permissions"], json!(["ro", "rw"]));
        assert_eq!(
            m["origins"],
            json!([{
                "source": "company",
                "customer_id": "GLOBEX",
                "context": "Ticket::CustomerID::Same",
                "permissions": ["ro", "rw"],
            }])
        );
    }
    // The "other customers" context gives no group permission: only jdoe's own grant counts.
    let support = env.json(&["group", "members", "support", "--effective"]);
    assert_eq!(
        support["members"],
        json!([{
            "login": "jdoe",
            "permissions": ["ro"],
            "origins": [{"source": "direct", "permissions": ["ro"]}],
        }])
    );
    let users = env.json(&["group", "members", "users", "--effective"]);
    assert_eq!(users["every_valid_user"], "always_group");
    assert_eq!(users["members"], json!([]), "never enumerated");

    let table = env.ok(&["group", "members", "billing", "--effective"]);
    assert!(table.starts_with("LOGIN   ro  rw  FROM"), "{table}");
    assert!(
        table.contains("jdoe    x   x   company GLOBEX (context Ticket::CustomerID::Same)"),
        "{table}"
    );
    let text = env.ok(&["group", "members", "users", "--effective"]);
    assert!(text.contains("every valid customer user"), "{text}");

    // Invalid users are not listed.
    env.ok(&["user", "invalidate", "asmith"]);
    let billing = env.json(&["group", "members", "billing", "--effective"]);
    assert_eq!(billing["members"].as_array().unwrap().len(), 1);
    assert_eq!(billing["members"][0]["login"], "jdoe");
}

#[test]
fn effective_shows_where_each_permission_comes_from() {
    let env = seeded();
    env.ok(&["group", "grant", "billing", "--user", "jdoe", "ro"]);
    let eff = env.json(&["group", "effective", "jdoe"]);
    let groups = eff["groups"].as_array().unwrap();
    let group = |n: &str| groups.iter().find(|g| g["group"] == n).unwrap().clone();
    assert_eq!(
        group("billing")["origins"],
        json!([
            {"source": "direct", "permissions": ["ro"]},
            {
                "source": "company",
                "customer_id": "GLOBEX",
                "context": "Ticket::CustomerID::Same",
                "permissions": ["ro", "rw"],
            },
        ])
    );
    assert_eq!(group("billing")["effective"], json!(["ro", "rw"]));
    assert_eq!(group("billing")["direct"], json!(["ro"]));
    assert_eq!(
        group("users")["origins"],
        json!([
            {"source": "always_group", "permissions": ["ro", "rw"]},
            {"source": "company_always_group", "permissions": ["ro", "rw"]},
        ])
    );
    let table = env.ok(&["group", "effective", "jdoe"]);
    assert!(table.lines().next().unwrap().ends_with("FROM"), "{table}");
    assert!(
        table.contains("direct grant; company GLOBEX (context Ticket::CustomerID::Same)"),
        "{table}"
    );
    assert!(
        table.contains("always-group; company always-group"),
        "{table}"
    );
}

#[test]
fn access_filter_gives_the_lists_of_the_ticket_check() {
    let env = seeded();
    let ids: Value = env.json(&["group", "list"]);
    let id = |name: &str| {
        ids.as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    let filter = env.json(&["group", "access-filter", "jdoe", "--type", "ro"]);
    assert_eq!(filter["customer_user"], "jdoe");
    assert_eq!(filter["permission_type"], "ro");
    assert_eq!(
        filter["group_ids"],
        json!([id("users"), id("support"), id("billing")])
    );
    assert_eq!(filter["customer_ids"], json!(["ACME", "GLOBEX"]));
    assert_eq!(filter["other_context_group_ids"], json!([id("support")]));
    assert_eq!(filter["default_clauses"], true);
    let rw = env.json(&["group", "access-filter", "jdoe", "--type", "rw"]);
    assert_eq!(rw["group_ids"], json!([id("users"), id("billing")]));
    assert_eq!(rw["other_context_group_ids"], json!([]));
    let text = env.ok(&["group", "access-filter", "jdoe"]);
    assert!(
        text.contains("customer ids:              ACME GLOBEX"),
        "{text}"
    );
    assert!(
        text.contains("visible when: (queue group in group ids AND"),
        "{text}"
    );
    let (_, err) = env.fails(&["group", "access-filter", "jdoe", "--type", "nope"]);
    assert!(err.contains("nope"), "{err}");
}
