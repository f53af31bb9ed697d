//! `init` as a good neighbour of a running OTOBO: [`clientele_db::plan_migration`] says exactly
//! what [`clientele_db::migrate_with`] then does; rows the constraints cannot take stop it
//! before any change; with coexistence it adds nothing to OTOBO's tables, OTOBO's own writes
//! keep working, and a database set up without coexistence loses Clientele's constraints.
//!
//! Every case runs on OTOBO's schema ([`common::otobo`]) in SQLite, PostgreSQL and MariaDB.
//! The server cases are marked ignored (`--include-ignored` runs them; they fail when the
//! server is missing).

mod common;

use std::collections::BTreeSet;

use clientele_backend::{PreferenceStore, RelationStore};
use clientele_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine};
use clientele_db::{
    Change, ConflictKind, MigrateOptions, MigrationRefused, ObjectKind, migrate_with,
    plan_migration,
};
use common::catalog::{assert_as_planned, dump, recorded, snapshot};
use common::{Kind, TestDb, exec};

const NORMAL: MigrateOptions = MigrateOptions { coexist: false };
const COEXIST: MigrateOptions = MigrateOptions { coexist: true };

/// OTOBO's tables (the eleven and the dynamic-field ones): what coexistence leaves alone.
fn otobo_tables() -> BTreeSet<&'static str> {
    common::otobo::TABLES
        .iter()
        .chain(common::otobo::DYNAMIC_FIELD_TABLES.iter())
        .copied()
        .collect()
}

/// A user, a company, a group and a service as OTOBO's installer and admin screens leave them.
async fn otobo_data(conn: &DatabaseConnection) {
    for sql in [
        "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, \
         comments, valid_id, create_time, create_by, change_time, change_by) VALUES ('ACME', \
         'Acme', '', '', '', '', '', '', 1, current_timestamp, 1, current_timestamp, 1)",
        "INSERT INTO customer_user (title, first_name, last_name, login, email, customer_id, \
         phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, \
         create_by, change_time, change_by) VALUES ('', 'John', 'Doe', 'jdoe', \
         'jdoe@acme.example', 'ACME', '', '', '', '', '', '', '', '', 1, current_timestamp, 1, \
         current_timestamp, 1)",
        "INSERT INTO service (name, valid_id, comments, create_time, create_by, change_time, \
         change_by) VALUES ('IT', 1, '', current_timestamp, 1, current_timestamp, 1)",
    ] {
        exec(conn, sql).await;
    }
}

/// A database of `kind` (OTOBO's schema for the `Otobo*` kinds) with a connection.
async fn database(kind: Kind) -> (TestDb, DatabaseConnection) {
    let test_db = TestDb::new(kind).await;
    let conn = clientele_db::sea_orm::Database::connect(clientele_db::connect_options(
        &test_db.url,
        &clientele_db::DbConfig::default(),
    ))
    .await
    .expect("connect");
    (test_db, conn)
}

async fn finish(test_db: TestDb, conn: DatabaseConnection) {
    let _ = conn.close().await;
    test_db.drop().await;
}

/// The plan changes nothing; `init` then changes the schema exactly as planned (objects after
/// minus objects before is the plan, and nothing else is dropped), records the planned
/// migrations, and a second plan is empty.
async fn init_does_what_the_plan_says(kind: Kind, options: MigrateOptions) {
    let (test_db, conn) = database(kind).await;
    let engine = conn.get_database_backend();
    if kind.is_otobo() {
        otobo_data(&conn).await;
    }
    let before = snapshot(&conn).await;
    let rows_before = dump(&conn).await;
    let plan = plan_migration(&conn, options).await.expect("plan");
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert_eq!(snapshot(&conn).await, before, "planning changed the schema");
    assert_eq!(dump(&conn).await, rows_before, "planning changed rows");
    assert!(recorded(&conn).await.is_empty());

    let done = migrate_with(&conn, options).await.expect("init");
    let without_sql = |p: &clientele_db::MigrationPlan| -> Vec<_> {
        p.objects()
            .map(|o| (o.change, o.kind, o.table.clone(), o.name.clone()))
            .collect()
    };
    assert_eq!(
        without_sql(&done),
        without_sql(&plan),
        "init ran another plan"
    );
    let after = snapshot(&conn).await;
    assert_as_planned(&before, &after, &plan, engine);
    let planned: Vec<String> = {
        let mut v: Vec<String> = plan.migrations().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(recorded(&conn).await, planned);
    assert!(
        planned.len() == 4,
        "every migration is recorded: {planned:?}"
    );

    if options.coexist && kind.is_otobo() {
        let otobo = otobo_tables();
        for o in plan.objects().filter(|o| o.kind != ObjectKind::Rows) {
            assert!(
                !otobo.contains(o.table.as_str()),
                "coexistence added {o} to OTOBO's table {}",
                o.table
            );
        }
        // OTOBO's rows are as they were; only Clientele's own tables got rows.
        let rows_after = dump(&conn).await;
        for table in &otobo {
            assert_eq!(rows_after.get(*table), rows_before.get(*table), "{table}");
        }
    }
    // What the plan says it adds, by database and mode.
    let added: BTreeSet<(String, String)> = plan
        .objects()
        .filter(|o| {
            o.change == Change::Add
                && matches!(
                    o.kind,
                    ObjectKind::Table | ObjectKind::UniqueIndex | ObjectKind::Index
                )
        })
        .map(|o| (o.table.clone(), o.name.clone()))
        .collect();
    let has = |t: &str, n: &str| added.contains(&(t.to_owned(), n.to_owned()));
    assert!(has("clientele_migrations", "clientele_migrations"));
    assert_eq!(
        has("clientele_lock", "clientele_lock"),
        engine == Engine::MySql
    );
    assert_eq!(
        has("clientele_change_log", "clientele_change_log"),
        engine != Engine::Postgres
    );
    assert_eq!(
        has(
            "customer_preferences",
            "customer_preferences_clientele_uniq"
        ),
        !options.coexist
    );
    assert_eq!(
        has("customer_user", "customer_user_login_lower"),
        !options.coexist && engine != Engine::MySql
    );

    // Again: nothing to do, nothing done.
    let again = plan_migration(&conn, options).await.expect("plan again");
    assert!(again.is_empty(), "{again:#?}");
    migrate_with(&conn, options).await.expect("init again");
    assert_eq!(snapshot(&conn).await, after);
    finish(test_db, conn).await;
}

/// Exact duplicates (OTOBO's double clicks) are listed as merges and merged to one row each;
/// the rows that differ only in their audit columns too, keeping the first created.
async fn exact_duplicates_are_merged_as_planned(kind: Kind) {
    let (test_db, conn) = database(kind).await;
    otobo_data(&conn).await;
    let relation = "INSERT INTO customer_user_customer (user_id, customer_id, create_time, \
                    create_by, change_time, change_by) VALUES ('jdoe', 'ACME', \
                    '2024-01-02 03:04:05', 1, '2024-01-02 03:04:05', 1)";
    exec(&conn, relation).await;
    exec(&conn, relation).await;
    exec(
        &conn,
        "INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, \
         change_time, change_by) VALUES ('jdoe', 'ACME', '2024-01-02 03:04:06', 2, \
         '2024-01-02 03:04:06', 2)",
    )
    .await;
    let pref = "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) \
                VALUES ('jdoe', 'UserLanguage', 'de')";
    exec(&conn, pref).await;
    exec(&conn, pref).await;
    let token = "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) \
                 VALUES ('jdoe', 'UserToken', 'a1b2c3d4e5f6g7')";
    exec(&conn, token).await;
    exec(&conn, token).await;
    let plan = plan_migration(&conn, NORMAL).await.expect("plan");
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    let merges: Vec<_> = plan.merges().collect();
    assert_eq!(merges.len(), 3, "{merges:#?}");
    let relation_merge = merges
        .iter()
        .find(|m| m.table == "customer_user_customer")
        .unwrap();
    assert_eq!(relation_merge.dropped.len(), 2);
    assert_eq!(relation_merge.kept.get("create_by"), Some(Some("1")));
    assert_eq!(
        relation_merge.index,
        "customer_user_customer_clientele_uniq"
    );
    let shown = format!("{plan:?}");
    assert!(
        !shown.contains("a1b2c3d4e5f6g7"),
        "a token is never shown: {shown}"
    );
    migrate_with(&conn, NORMAL).await.expect("init");
    let rows = dump(&conn).await;
    assert_eq!(rows["customer_user_customer"].len(), 1);
    assert_eq!(rows["customer_preferences"].len(), 2);
    let kept = &rows["customer_user_customer"][0];
    assert!(
        kept.iter().any(|v| v
            .as_deref()
            .is_some_and(|t| t.starts_with("2024-01-02 03:04:05"))),
        "the first-created row stays: {kept:?}"
    );
    finish(test_db, conn).await;
}

/// What a refusal must leave: the schema, every row, and no migration recorded.
struct Untouched {
    schema: BTreeSet<common::catalog::Object>,
    rows: std::collections::BTreeMap<String, Vec<Vec<Option<String>>>>,
}

impl Untouched {
    async fn of(conn: &DatabaseConnection) -> Untouched {
        Untouched {
            schema: snapshot(conn).await,
            rows: dump(conn).await,
        }
    }

    async fn check(&self, conn: &DatabaseConnection) {
        assert_eq!(snapshot(conn).await, self.schema, "the schema changed");
        assert_eq!(dump(conn).await, self.rows, "rows changed");
        assert!(recorded(conn).await.is_empty(), "a migration was recorded");
    }
}

/// `init` refuses; the refusal names each of `expected` (fragments of the error text, one per
/// offending row), and nothing changed.
async fn assert_refused(conn: &DatabaseConnection, expected: &[&str], kind: ConflictKind) {
    let untouched = Untouched::of(conn).await;
    let plan = plan_migration(conn, NORMAL).await.expect("plan");
    assert!(
        plan.conflicts.iter().any(|c| c.kind == kind),
        "{:#?}",
        plan.conflicts
    );
    let e = match migrate_with(conn, NORMAL).await {
        Err(e) => e,
        Ok(done) => panic!("init must refuse, did {done:#?}"),
    };
    let refused = match &e {
        clientele_backend::Error::Backend { source, .. } => source
            .downcast_ref::<MigrationRefused>()
            .unwrap_or_else(|| panic!("not a refusal: {e}")),
        other => panic!("not a refusal: {other:?}"),
    };
    assert_eq!(refused.conflicts, plan.conflicts);
    let text = e.to_string();
    for fragment in expected {
        assert!(text.contains(fragment), "{fragment:?} not named in: {text}");
    }
    assert!(text.contains("changed nothing"), "{text}");
    untouched.check(conn).await;
    // Also with clientele_db::migrate, the default.
    assert!(clientele_db::migrate(conn).await.is_err());
    untouched.check(conn).await;
}

/// Logins and customer ids that differ only in case, which OTOBO's schema allows on
/// PostgreSQL and SQLite, stop the case-insensitive unique indexes: `init` refuses, naming
/// every row, and changes nothing — the migration record table included.
async fn case_variants_are_refused(kind: Kind) {
    let (test_db, conn) = database(kind).await;
    otobo_data(&conn).await;
    exec(
        &conn,
        "INSERT INTO customer_user (title, first_name, last_name, login, email, customer_id, \
         valid_id, create_time, create_by, change_time, change_by) VALUES ('', 'John', 'Doe', \
         'JDoe', 'jd@acme.example', 'ACME', 1, current_timestamp, 1, current_timestamp, 1)",
    )
    .await;
    exec(
        &conn,
        "INSERT INTO customer_company (customer_id, name, valid_id, create_time, create_by, \
         change_time, change_by) VALUES ('acme', 'Acme (lower)', 1, current_timestamp, 1, \
         current_timestamp, 1)",
    )
    .await;
    assert_refused(
        &conn,
        &[
            "login=\"jdoe\"",
            "login=\"JDoe\"",
            "customer_id=\"ACME\"",
            "customer_id=\"acme\"",
            "differ only in case",
            "customer_user_login_lower",
            "customer_company_customer_id_lower",
        ],
        ConflictKind::CaseVariants,
    )
    .await;
    finish(test_db, conn).await;
}

/// Preference rows of one key with different values (and grant rows with different
/// permission values) stop `init`; before, the merge kept the largest value (`en` over `de`).
/// On MariaDB's case-insensitive collation, rows whose keys differ only in case are one key.
async fn disagreeing_rows_are_refused(kind: Kind) {
    let (test_db, conn) = database(kind).await;
    otobo_data(&conn).await;
    let pref = |user: &str, value: &str| {
        format!(
            "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) \
             VALUES ('{user}', 'UserLanguage', '{value}')"
        )
    };
    exec(&conn, &pref("jdoe", "de")).await;
    exec(&conn, &pref("jdoe", "en")).await;
    let grant = |value: u8| {
        format!(
            "INSERT INTO group_customer_user (user_id, group_id, permission_key, \
             permission_value, create_time, create_by, change_time, change_by) VALUES ('jdoe', \
             1, 'rw', {value}, current_timestamp, 1, current_timestamp, 1)"
        )
    };
    exec(&conn, &grant(1)).await;
    exec(&conn, &grant(0)).await;
    let mut expected = vec![
        "preferences_value=\"de\"",
        "preferences_value=\"en\"",
        "customer_preferences_clientele_uniq",
        "group_customer_user_clientele_uniq",
        "permission_value=\"0\"",
        "permission_value=\"1\"",
    ];
    if kind.engine() == Engine::MySql {
        // The case-variant key of the MariaDB report: `JDoe`'s `en` beside `jdoe`'s `de`.
        exec(
            &conn,
            "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) \
             VALUES ('mmuster', 'UserLanguage', 'de'), ('MMuster', 'UserLanguage', 'en')",
        )
        .await;
        expected.extend(["user_id=\"mmuster\"", "user_id=\"MMuster\""]);
    }
    assert_refused(&conn, &expected, ConflictKind::Disagreeing).await;
    finish(test_db, conn).await;
}

/// After `init` with coexistence on OTOBO's schema, OTOBO's own statements succeed, as OTOBO
/// issues them (reference §3.5–3.7, §2.18, §6, §7.2–7.3, §8; audit actor 1): a user added,
/// updated and given a password; a login and a customer id that differ from stored ones only
/// in case where OTOBO's own schema allows it (PostgreSQL, SQLite; MariaDB's case-insensitive
/// keys are OTOBO's own); the relation, grant, service and preference rows inserted twice, as
/// two OTOBO processes racing through delete-then-insert leave them. Clientele reads through
/// the duplicates.
async fn otobo_writes_succeed_beside_clientele(kind: Kind, upgraded: bool) {
    let (test_db, conn) = database(kind).await;
    let engine = conn.get_database_backend();
    otobo_data(&conn).await;
    if upgraded {
        // A database `init` set up before coexistence was switched on.
        migrate_with(&conn, NORMAL)
            .await
            .expect("init without coexistence");
    }
    migrate_with(&conn, COEXIST)
        .await
        .expect("init with coexistence");

    // CustomerUserAdd (§3.5): every map column but the password, current_timestamp, agent 1.
    let add = |login: &str| {
        format!(
            "INSERT INTO customer_user (title, first_name, last_name, login, email, customer_id, \
             phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, \
             create_by, change_time, change_by) VALUES ('', 'Max', 'Muster', '{login}', \
             '{login}@acme.example', 'ACME', '', '', '', '', '', '', '', '', 1, \
             current_timestamp, 1, current_timestamp, 1)"
        )
    };
    exec(&conn, &add("mmuster")).await;
    // CustomerUserUpdate (§3.6) and SetPassword (§3.7).
    exec(
        &conn,
        "UPDATE customer_user SET title = '', first_name = 'Maximilian', last_name = 'Muster', \
         login = 'mmuster', email = 'mmuster@acme.example', customer_id = 'ACME', phone = '', \
         fax = '', mobile = '', street = '', zip = '', city = '', country = '', comments = '', \
         valid_id = 1, change_time = current_timestamp, change_by = 1 WHERE login = 'mmuster'",
    )
    .await;
    exec(
        &conn,
        "UPDATE customer_user SET pw = \
         'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
         WHERE login = 'mmuster'",
    )
    .await;
    // A case variant of a login and of a customer id: OTOBO's schema decides.
    let variants = [
        add("MMuster"),
        "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, \
         comments, valid_id, create_time, create_by, change_time, change_by) VALUES ('acme', \
         'acme (lower case)', '', '', '', '', '', '', 1, current_timestamp, 1, current_timestamp, \
         1)"
        .to_owned(),
    ];
    for sql in &variants {
        let result = conn.execute_unprepared(sql).await;
        match engine {
            Engine::MySql => {
                let e = result.expect_err("MariaDB's case-insensitive keys refuse a case variant");
                let text = e.to_string();
                assert!(
                    text.contains("customer_user_login") || text.contains("PRIMARY"),
                    "refused by OTOBO's own key, not by Clientele's: {text}"
                );
            }
            _ => {
                result.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
    // Delete-then-insert, raced by two OTOBO processes: both delete nothing, both insert.
    for _ in 0..2 {
        for sql in [
            // CustomerUserCustomerMemberAdd (§2.18).
            "INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, \
             change_time, change_by) VALUES ('jdoe', 'ACME', current_timestamp, 1, \
             current_timestamp, 1)",
            // GroupMemberAdd (§7.2).
            "INSERT INTO group_customer_user (user_id, group_id, permission_key, \
             permission_value, create_time, create_by, change_time, change_by) VALUES ('jdoe', \
             1, 'rw', 1, current_timestamp, 1, current_timestamp, 1)",
            // GroupCustomerAdd (§7.3).
            "INSERT INTO group_customer (customer_id, group_id, permission_key, \
             permission_value, permission_context, create_time, create_by, change_time, \
             change_by) VALUES ('ACME', 1, 'ro', 1, 'Ticket::CustomerID::Same', \
             current_timestamp, 1, current_timestamp, 1)",
            // CustomerUserServiceMemberAdd (§8).
            "INSERT INTO service_customer_user (customer_user_login, service_id, create_time, \
             create_by) VALUES ('jdoe', 1, current_timestamp, 1)",
            // SetPreferences (§6).
            "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) \
             VALUES ('jdoe', 'UserLanguage', 'de')",
        ] {
            exec(&conn, sql).await;
        }
    }
    // Two values of one key, and RenamePreferences (§6) onto a login that has the key.
    exec(
        &conn,
        "INSERT INTO customer_preferences (user_id, preferences_key, preferences_value) VALUES \
         ('jdoe', 'UserTimeZone', 'UTC'), ('jdoe', 'UserTimeZone', 'Europe/Berlin'), \
         ('mmuster', 'UserLanguage', 'en')",
    )
    .await;
    exec(
        &conn,
        "UPDATE customer_preferences SET user_id = 'jdoe' WHERE user_id = 'mmuster'",
    )
    .await;
    let rows = dump(&conn).await;
    assert_eq!(rows["customer_user_customer"].len(), 2);
    assert_eq!(rows["group_customer_user"].len(), 2);
    assert_eq!(rows["group_customer"].len(), 2);
    assert_eq!(rows["service_customer_user"].len(), 2);

    // Clientele reads through OTOBO's duplicates, and its own writes leave one row.
    let db = test_db.connect(common::test_config()).await;
    assert_eq!(db.user_companies("jdoe").await.unwrap().len(), 1);
    let snapshot = db.relation_snapshot().await.unwrap();
    assert_eq!(snapshot.user_grants.len(), 1);
    assert_eq!(snapshot.company_grants.len(), 1);
    db.set_preference("jdoe", "UserLanguage", "fr")
        .await
        .unwrap();
    assert_eq!(db.preferences("jdoe").await.unwrap()["UserLanguage"], "fr");
    let _ = db.connection().close_by_ref().await;
    finish(test_db, conn).await;
}

/// A database set up by an earlier version without coexistence — Clientele's unique indexes
/// on OTOBO's tables, and `groups_table_name` beside OTOBO's `groups_name` — is brought to the
/// coexistence shape by `init`: the plan lists every drop (and the new migration), and the
/// schema changes exactly so. Switching coexistence off again brings the constraints back.
async fn coexistence_drops_what_an_earlier_init_added(kind: Kind) {
    let (test_db, conn) = database(kind).await;
    let engine = conn.get_database_backend();
    otobo_data(&conn).await;
    migrate_with(&conn, NORMAL)
        .await
        .expect("init without coexistence");
    // What an older version left: the copy of OTOBO's key, and no record of migration 4.
    exec(
        &conn,
        "CREATE UNIQUE INDEX groups_table_name ON groups_table (name)",
    )
    .await;
    exec(
        &conn,
        "DELETE FROM clientele_migrations WHERE version = 'm20261201_000004_otobo_neighbour'",
    )
    .await;
    let before = snapshot(&conn).await;
    let plan = plan_migration(&conn, COEXIST).await.expect("plan");
    assert_eq!(snapshot(&conn).await, before, "planning changed the schema");
    let dropped: BTreeSet<String> = plan
        .objects()
        .filter(|o| o.change == Change::Drop)
        .map(|o| o.name.clone())
        .collect();
    let mut expected: BTreeSet<String> = [
        "customer_user_customer_clientele_uniq",
        "group_customer_user_clientele_uniq",
        "group_customer_clientele_uniq",
        "service_customer_user_clientele_uniq",
        "customer_preferences_clientele_uniq",
        "groups_table_name",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    match engine {
        Engine::MySql => {
            expected.insert("customer_user_email".into());
        }
        _ => {
            expected.extend([
                "customer_user_login_lower".to_owned(),
                "customer_company_customer_id_lower".to_owned(),
                "customer_user_email_lower".to_owned(),
            ]);
        }
    }
    assert_eq!(dropped, expected);
    assert_eq!(
        plan.migrations().collect::<Vec<_>>(),
        ["m20261201_000004_otobo_neighbour"]
    );
    migrate_with(&conn, COEXIST)
        .await
        .expect("init with coexistence");
    let after = snapshot(&conn).await;
    assert_as_planned(&before, &after, &plan, engine);
    assert!(plan_migration(&conn, COEXIST).await.unwrap().is_empty());

    // Coexistence off again: the constraints come back, as planned.
    let back = plan_migration(&conn, NORMAL).await.expect("plan");
    assert!(back.migrations().next().is_none());
    migrate_with(&conn, NORMAL)
        .await
        .expect("init without coexistence");
    assert_as_planned(&after, &snapshot(&conn).await, &back, engine);
    finish(test_db, conn).await;
}

/// Beside OTOBO the relation, service and preference tables have no unique index, and on
/// PostgreSQL neither logins nor customer ids compare case-insensitively: concurrent Clientele
/// writers of one company id (in alternating case), one relation, one service assignment and
/// one preference key still leave one row each, held by their locks.
async fn coexistence_races_leave_no_duplicates(kind: Kind) {
    use clientele_backend::CompanyStore;
    use clientele_model::{AttributeMap, EmailCheck, NewCustomerCompany, Rules};
    use std::sync::Arc;

    let (test_db, conn) = database(kind).await;
    otobo_data(&conn).await;
    migrate_with(&conn, COEXIST)
        .await
        .expect("init with coexistence");
    let db = test_db.connect(common::test_config()).await;
    let by = clientele_model::Actor::from("1");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = Arc::clone(&db);
        let by = by.clone();
        tasks.push(tokio::spawn(async move {
            let id = if i % 2 == 0 { "SHOP" } else { "shop" };
            let company = NewCustomerCompany::new(id, &format!("Shop {i}"))
                .validate(&Rules {
                    map: &AttributeMap::otobo_customer_company(),
                    email: &EmailCheck::default(),
                })
                .unwrap();
            let added = db.add_company(&company, &by).await;
            if let Err(e) = &added {
                assert!(
                    matches!(e, clientele_backend::Error::AlreadyExists { .. }),
                    "{e:?}"
                );
            }
            db.set_user_company("jdoe", "ACME", true, &by)
                .await
                .unwrap();
            db.set_user_service("jdoe", 1, true, &by).await.unwrap();
            db.set_preference("jdoe", "UserLanguage", &format!("l{i}"))
                .await
                .unwrap();
            added.is_ok()
        }));
    }
    let mut added = 0;
    for t in tasks {
        if t.await.unwrap() {
            added += 1;
        }
    }
    assert_eq!(
        added, 1,
        "one of the case variants of a company id is added"
    );
    let rows = dump(&conn).await;
    let shops = rows["customer_company"]
        .iter()
        .filter(|r| {
            r.iter().any(|v| {
                v.as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case("shop"))
            })
        })
        .count();
    assert_eq!(shops, 1);
    assert_eq!(rows["customer_user_customer"].len(), 1);
    assert_eq!(rows["service_customer_user"].len(), 1);
    assert_eq!(rows["customer_preferences"].len(), 1);
    let _ = db.connection().close_by_ref().await;
    finish(test_db, conn).await;
}

macro_rules! on {
    ($module:ident, $otobo:expr, $plain:expr $(, #[$attr:meta])*) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn otobo_init_does_what_the_plan_says() {
                init_does_what_the_plan_says($otobo, NORMAL).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn otobo_coexistence_init_does_what_the_plan_says() {
                init_does_what_the_plan_says($otobo, COEXIST).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn empty_database_init_does_what_the_plan_says() {
                init_does_what_the_plan_says($plain, NORMAL).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn empty_database_coexistence_init_does_what_the_plan_says() {
                init_does_what_the_plan_says($plain, COEXIST).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn exact_duplicates_are_merged_as_planned() {
                super::exact_duplicates_are_merged_as_planned($otobo).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn disagreeing_rows_are_refused() {
                super::disagreeing_rows_are_refused($otobo).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn otobo_writes_succeed_beside_clientele() {
                super::otobo_writes_succeed_beside_clientele($otobo, false).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn otobo_writes_succeed_after_switching_to_coexistence() {
                super::otobo_writes_succeed_beside_clientele($otobo, true).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn coexistence_races_leave_no_duplicates() {
                super::coexistence_races_leave_no_duplicates($otobo).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn coexistence_drops_what_an_earlier_init_added() {
                super::coexistence_drops_what_an_earlier_init_added($otobo).await
            }
        }
    };
}

on!(sqlite, Kind::OtoboSqlite, Kind::SqliteFile);
#[cfg(feature = "postgres")]
on!(postgres, Kind::OtoboPostgres, Kind::Postgres, #[ignore = "needs PostgreSQL: run scripts/test.sh"]);
#[cfg(feature = "mysql")]
on!(mariadb, Kind::OtoboMySql, Kind::MySql, #[ignore = "needs MariaDB: run scripts/test.sh"]);

/// Case variants of logins and customer ids exist only where OTOBO's keys compare exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_variants_are_refused_on_sqlite() {
    case_variants_are_refused(Kind::OtoboSqlite).await
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn case_variants_are_refused_on_postgres() {
    case_variants_are_refused(Kind::OtoboPostgres).await
}
