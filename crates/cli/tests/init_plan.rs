//! `clientele init --plan`: lists what `init` would add, drop and merge, and the rows that would
//! stop it, changing nothing; `init` then does exactly that, or refuses naming the rows.

mod common;

use std::path::Path;

use clientele::db::sea_orm::{ConnectionTrait, Database, Statement};
use common::{CHEAP_PASSWORDS, Env};

/// Runs `sql` on the SQLite file; a `SELECT`'s rows, each value as text.
fn sql(db: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let url = format!("sqlite://{}?mode=rw", db.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Database::connect(&url).await.unwrap();
        let stmt = Statement::from_string(conn.get_database_backend(), sql.to_owned());
        let out = if sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
            let rows = conn.query_all_raw(stmt).await.unwrap();
            rows.iter()
                .map(|r| {
                    let mut values = Vec::new();
                    let mut i = 0;
                    while let Ok(v) = r.try_get_by_index::<Option<String>>(i) {
                        values.push(v);
                        i += 1;
                    }
                    values
                })
                .collect()
        } else {
            conn.execute_raw(stmt).await.unwrap();
            Vec::new()
        };
        let _ = conn.close().await;
        out
    })
}

/// The schema: every table and index with its SQL, as SQLite keeps it.
fn schema(db: &Path) -> Vec<Vec<Option<String>>> {
    sql(
        db,
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    )
}

fn config(db: &Path, coexist: bool) -> String {
    format!(
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n\n{CHEAP_PASSWORDS}\n\
         [otobo]\ncoexist = {coexist}\n",
        db.display()
    )
}

/// Every object of `plan` (one source's `migrations` of `init --plan --json`) as
/// `(change, kind, table, name)`.
fn objects(plan: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for step in plan["steps"].as_array().unwrap() {
        for o in step["objects"].as_array().unwrap() {
            let text = |k: &str| o[k].as_str().unwrap().to_owned();
            out.push((text("change"), text("kind"), text("table"), text("name")));
        }
    }
    out
}

fn has(objects: &[(String, String, String, String)], kind: &str, name: &str) -> bool {
    objects.iter().any(|(_, k, _, n)| k == kind && n == name)
}

#[test]
fn plan_lists_what_init_does_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clientele.sqlite");
    let env = Env::with_config(dir, &config(&db, true));

    // Beside OTOBO: OTOBO's tables (this database has none yet) and Clientele's own, no
    // constraint of Clientele's.
    let plan = env.json(&["init", "--plan"]);
    assert_eq!(plan["coexist"], true);
    assert_eq!(plan["refused"], false);
    let migrations = &plan["sources"][0]["migrations"];
    let listed = objects(migrations);
    for table in [
        "customer_user",
        "customer_preferences",
        "clientele_migrations",
    ] {
        assert!(has(&listed, "table", table), "{table}: {listed:?}");
    }
    assert!(has(&listed, "table", "clientele_change_log"));
    assert!(has(
        &listed,
        "rows",
        "m20250601_000002_correctness_constraints"
    ));
    assert!(!has(
        &listed,
        "unique_index",
        "customer_preferences_clientele_uniq"
    ));
    let step = &migrations["steps"][1]["objects"][0];
    assert!(
        step["sql"][0].as_str().unwrap().starts_with("CREATE TABLE"),
        "{step}"
    );
    assert!(schema(&db).is_empty(), "the plan created something");

    let text = env.ok(&["init", "--plan"]);
    assert!(text.contains("+ table customer_user"), "{text}");
    assert!(text.contains("CREATE TABLE"), "{text}");
    assert!(text.contains("nothing on OTOBO's tables"), "{text}");
    assert!(schema(&db).is_empty(), "the plan created something");

    env.ok(&["init"]);
    let ready = schema(&db);
    assert!(
        !ready
            .iter()
            .any(|r| r[1].as_deref() == Some("customer_preferences_clientele_uniq")),
        "coexistence adds no index to OTOBO's tables"
    );
    assert!(env.ok(&["init", "--plan"]).contains("change nothing"));

    // Coexistence off: the plan lists Clientele's constraints, and they are not there yet.
    std::fs::write(&env.config, config(&db, false)).unwrap();
    let plan = env.json(&["init", "--plan"]);
    let listed = objects(&plan["sources"][0]["migrations"]);
    for index in [
        "customer_user_customer_clientele_uniq",
        "group_customer_user_clientele_uniq",
        "group_customer_clientele_uniq",
        "service_customer_user_clientele_uniq",
        "customer_preferences_clientele_uniq",
        "customer_user_login_lower",
        "customer_company_customer_id_lower",
    ] {
        assert!(has(&listed, "unique_index", index), "{index}: {listed:?}");
    }
    assert!(has(&listed, "index", "customer_user_email_lower"));
    assert_eq!(schema(&db), ready, "the plan changed the schema");

    // Rows that disagree: the plan names them and exits 1; init refuses, changing nothing.
    sql(
        &db,
        "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) VALUES \
         ('jdoe', 'UserLanguage', 'de'), ('jdoe', 'UserLanguage', 'en'), \
         ('anna', 'UserTimeZone', 'UTC'), ('anna', 'UserTimeZone', 'UTC')",
    );
    let rows_before = sql(&db, "SELECT * FROM customer_preferences ORDER BY 1, 2, 3");
    let out = env.run(&["init", "--plan"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("preferences_value=\"de\""), "{text}");
    assert!(text.contains("preferences_value=\"en\""), "{text}");
    assert!(
        text.contains("merge 2 identical row(s) of customer_preferences"),
        "{text}"
    );
    let (code, err) = env.fails(&["init"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("init refused"), "{err}");
    assert!(err.contains("preferences_value=\"de\""), "{err}");
    assert!(err.contains("preferences_value=\"en\""), "{err}");
    assert_eq!(schema(&db), ready, "a refused init changed the schema");
    assert_eq!(
        sql(&db, "SELECT * FROM customer_preferences ORDER BY 1, 2, 3"),
        rows_before,
        "a refused init changed rows"
    );

    // Resolved: init merges the exact duplicates and adds the constraints.
    sql(
        &db,
        "DELETE FROM customer_preferences WHERE preferences_value = 'en'",
    );
    let done = env.ok(&["init"]);
    assert!(
        done.contains("+ unique index customer_preferences_clientele_uniq"),
        "{done}"
    );
    assert!(done.contains("merged 2 duplicate row(s)"), "{done}");
    assert_eq!(
        sql(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM customer_preferences"
        )[0][0]
            .as_deref(),
        Some("2")
    );
    assert!(env.ok(&["init", "--plan"]).contains("change nothing"));
}

#[test]
fn plan_lists_the_columns_of_extra_map_rows() {
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
    let db = env.path("clientele.sqlite");
    // A new database: the tables come with the migrations, the column with the map.
    for _ in 0..2 {
        let plan = env.json(&["init", "--plan"]);
        let columns = plan["sources"][0]["map_columns"].as_array().unwrap();
        assert_eq!(columns.len(), 1, "{plan}");
        assert_eq!(columns[0]["table"], "customer_user");
        assert_eq!(columns[0]["name"], "room");
        assert!(
            columns[0]["sql"][0]
                .as_str()
                .unwrap()
                .contains("ALTER TABLE"),
            "{plan}"
        );
        assert!(schema(&db).is_empty(), "the plan created something");
    }
    let text = env.ok(&["init", "--plan"]);
    assert!(text.contains("+ column customer_user.room"), "{text}");
    assert!(
        env.ok(&["init"])
            .contains("added column customer_user.room")
    );
    assert!(env.ok(&["init", "--plan"]).contains("change nothing"));
}
