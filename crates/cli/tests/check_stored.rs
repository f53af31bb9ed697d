//! `clientele check-config --stored`: stored grants whose permission type or context the
//! configuration lacks are listed (and fail the check), while every other command keeps
//! working with them in the database.

mod common;

use common::{CHEAP_PASSWORDS, Env};

fn config(db: &std::path::Path, permissions: &str) -> String {
    format!(
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n\n[permissions]\ncustomer_group_support = true\n{permissions}\n\n{CHEAP_PASSWORDS}",
        db.display()
    )
}

#[test]
fn stored_grants_the_configuration_lacks_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clientele.sqlite");
    let wide = config(
        &db,
        "permission_types = [\"ro\", \"owner\", \"rw\"]\nextra_contexts = [\"Partner\"]",
    );
    let env = Env::with_config(dir, &wide);
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
        "jdoe@acme.example",
        "--customer-id",
        "ACME",
    ]);
    env.ok(&["group", "add", "support"]);
    env.ok(&["group", "grant", "support", "--user", "jdoe", "owner"]);
    env.ok(&[
        "group",
        "grant",
        "support",
        "--company",
        "ACME",
        "--context",
        "Partner",
        "ro",
    ]);
    // Everything stored is configured.
    let out = env.ok(&["check-config", "--stored"]);
    assert!(
        out.contains("every permission type and context is configured"),
        "{out}"
    );

    // The same database under a narrower configuration.
    std::fs::write(&env.config, config(&db, "")).unwrap();
    let listed = env.run(&["check-config", "--stored"]);
    assert_eq!(listed.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        stdout.contains("user jdoe") && stdout.contains("owner"),
        "{stdout}"
    );
    assert!(
        stdout.contains("company ACME") && stdout.contains("Partner"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(stderr.contains("2 stored grant(s)"), "{stderr}");

    let json = env.run(&["--json", "check-config", "--stored"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        report["unknown_grants"]["user_grants"][0]["permission"],
        "owner"
    );
    assert_eq!(
        report["unknown_grants"]["company_grants"][0]["context"],
        "Partner"
    );

    // Nothing fails because of them, and they grant nothing.
    let eff = env.json(&["group", "effective", "jdoe"]);
    let groups = eff["groups"].as_array().unwrap();
    assert!(
        groups.iter().all(|g| g["group"] != "support"),
        "an unknown type grants nothing: {eff}"
    );
    // Without --stored the check connects to nothing and passes.
    env.ok(&["check-config"]);
}
