//! Clientele and a running OTOBO on one database, on OTOBO's own installer schema (the eleven
//! tables, initial rows and foreign keys): what OTOBO writes by its own SQL Clientele reads;
//! what Clientele writes OTOBO's own statements read back; and a login through Clientele leaves
//! a hash that OTOBO's own password check (Perl, OTOBO's modules) accepts.
//!
//! SQLite holds OTOBO's schema in its closest equivalent; PostgreSQL and MariaDB are ignored by
//! plain `cargo test` and run by scripts/test.sh, failing when the server is missing. All need
//! OTOBO's Perl modules for the password check (scripts/test.sh installs them).

mod common;
#[path = "../../password/tests/support/otobo_perl.rs"]
mod otobo_perl;

use clientele_db::sea_orm::{ConnectionTrait, Statement, Value};
use clientele_directory::{Directory, DirectoryConfig, OtoboConfig};
use clientele_model::{Actor, NewCustomerUser, Password};
use clientele_password::PasswordConfig;
use clientele_permissions::PermissionConfig;

use common::{Fixture, Kind, test_config};
use otobo_perl::otobo_accepts;

/// sha256("secret"): what OTOBO's default CryptType `sha2` stored.
const SHA256_SECRET: &str = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

async fn rows(f: &Fixture, sql: &str, values: Vec<Value>) -> Vec<Vec<Option<String>>> {
    let conn = f.db.connection();
    let engine = conn.get_database_backend();
    let sql = if engine == clientele_db::sea_orm::DbBackend::Postgres {
        // OTOBO's statements use `?`; PostgreSQL numbers its parameters.
        let mut n = 0;
        sql.chars()
            .flat_map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}").chars().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    let found = conn
        .query_all_raw(Statement::from_sql_and_values(engine, &sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    found
        .iter()
        .map(|r| {
            (0..)
                .map_while(|i| match r.try_get_by_index::<Option<String>>(i) {
                    Ok(v) => Some(v),
                    Err(_) => r
                        .try_get_by_index::<Option<i64>>(i)
                        .or_else(|_| {
                            r.try_get_by_index::<Option<i32>>(i)
                                .map(|v| v.map(i64::from))
                        })
                        .or_else(|_| {
                            r.try_get_by_index::<Option<i16>>(i)
                                .map(|v| v.map(i64::from))
                        })
                        .ok()
                        .map(|v| v.map(|n| n.to_string())),
                })
                .collect()
        })
        .collect()
}

fn directory(f: &Fixture) -> Directory {
    let config = DirectoryConfig {
        passwords: PasswordConfig {
            bcrypt_cost: 4,
            ..PasswordConfig::default()
        },
        otobo: OtoboConfig {
            coexist: true,
            ..OtoboConfig::default()
        },
        permissions: PermissionConfig {
            customer_group_support: true,
            ..PermissionConfig::default()
        },
        ..DirectoryConfig::default()
    };
    let db = f.db.clone();
    Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db)
        .config(config)
        .build()
        .expect("directory")
}

async fn side_by_side(kind: Kind) {
    let mut config = test_config();
    config.settings.cache_ttl = 0;
    let f = Fixture::with_config(kind, config).await;
    let dir = directory(&f);
    let now = "current_timestamp";

    // OTOBO writes a company, a customer user (CustomerUserAdd: '' for empty optional fields,
    // pw NULL, then SetPassword with its default sha2), a group and a grant.
    f.exec(&format!(
        "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, \
         comments, valid_id, create_time, create_by, change_time, change_by) VALUES \
         ('ACME', 'Acme Corp', '', '', '', '', '', '', 1, {now}, 1, {now}, 1)"
    ))
    .await;
    f.exec(&format!(
        "INSERT INTO customer_user (title, first_name, last_name, login, email, customer_id, \
         phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, \
         create_by, change_time, change_by) VALUES ('', 'Olga', 'Otobo', 'olga', \
         'olga@acme-corp.test', 'ACME', '', '', '', '', '', '', '', '', 1, {now}, 1, {now}, 1)"
    ))
    .await;
    f.exec(&format!(
        "UPDATE customer_user SET pw = '{SHA256_SECRET}' WHERE login = 'olga'"
    ))
    .await;
    f.exec(&format!(
        "INSERT INTO groups_table (name, comments, valid_id, create_time, create_by, \
         change_time, change_by) VALUES ('support', '', 1, {now}, 1, {now}, 1)"
    ))
    .await;
    f.exec(&format!(
        "INSERT INTO group_customer_user (user_id, group_id, permission_key, permission_value, \
         create_time, create_by, change_time, change_by) SELECT 'olga', id, 'rw', 1, {now}, 1, \
         {now}, 1 FROM groups_table WHERE name = 'support'"
    ))
    .await;

    // Clientele reads it.
    let olga = dir.customer_user("olga").await.unwrap().expect("olga");
    assert_eq!(
        (olga.first_name.as_str(), olga.customer_id.as_str()),
        ("Olga", "ACME")
    );
    assert_eq!(olga.phone, None, "'' reads as absent");
    assert!(dir.has_permission("olga", "support", "ro").await.unwrap());
    assert!(dir.company("ACME").await.unwrap().is_some());

    // A login through Clientele upgrades the sha2 hash to one OTOBO verifies.
    dir.authenticate("olga", &Password::new("secret"))
        .await
        .expect("login");
    let stored = rows(
        &f,
        "SELECT pw, login FROM customer_user WHERE login = ?",
        vec!["olga".into()],
    )
    .await;
    let pw = stored[0][0].clone().expect("a hash");
    assert!(pw.starts_with("BCRYPT:4:"), "{pw}");
    assert!(otobo_accepts("bcrypt", "olga", &pw, "secret"));

    // Clientele writes as root@localhost; OTOBO's statements read it back.
    let root = Actor::Named("root@localhost".into());
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("carl", "Carl", "Clientele", "carl@acme-corp.test", "ACME")
                .password("Grüße 2024"),
            &root,
        )
        .await
        .expect("add");
    assert!(added.generated_password.is_none());
    dir.add_user_permissions("carl", "support", &["ro"], &root)
        .await
        .expect("grant");
    // CustomerUserDataGet (§3.4) and CustomerAuth::DB (§3.8).
    let carl = rows(
        &f,
        "SELECT first_name, last_name, email, customer_id, valid_id, create_by, change_by, phone \
         FROM customer_user WHERE LOWER(login) = LOWER(?)",
        vec!["CARL".into()],
    )
    .await;
    assert_eq!(
        carl,
        [[
            Some("Carl".into()),
            Some("Clientele".into()),
            Some("carl@acme-corp.test".into()),
            Some("ACME".into()),
            Some("1".into()),
            Some("1".into()),
            Some("1".into()),
            Some(String::new()),
        ]]
    );
    let pw = rows(
        &f,
        "SELECT pw, login FROM customer_user WHERE login = ?",
        vec!["carl".into()],
    )
    .await;
    let pw = pw[0][0].clone().expect("a hash");
    assert!(otobo_accepts("bcrypt", "carl", &pw, "Grüße 2024"));
    assert!(!otobo_accepts("bcrypt", "carl", &pw, "Grüsse 2024"));
    // GroupMemberList's direct grants (§7.5).
    let grants = rows(
        &f,
        "SELECT g.name, gu.permission_key FROM group_customer_user gu, groups_table g \
         WHERE g.valid_id IN (1) AND g.id = gu.group_id AND gu.permission_value = 1 \
         AND gu.user_id = ?",
        vec!["carl".into()],
    )
    .await;
    assert_eq!(grants, [[Some("support".into()), Some("ro".into())]]);

    // An agent OTOBO does not know is refused before anything is written.
    let refused = dir
        .add_customer_user(
            NewCustomerUser::new("dora", "Dora", "D", "dora@acme-corp.test", "ACME"),
            "no.such.agent",
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        rows(
            &f,
            "SELECT login FROM customer_user WHERE login = ?",
            vec!["dora".into()]
        )
        .await
        .is_empty()
    );
    drop(dir);
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs OTOBO's Perl modules: scripts/test.sh installs them"]
async fn side_by_side_sqlite() {
    side_by_side(Kind::OtoboSqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and OTOBO's Perl modules: scripts/test.sh provides them"]
async fn side_by_side_postgres() {
    side_by_side(Kind::OtoboPostgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB and OTOBO's Perl modules: scripts/test.sh provides them"]
async fn side_by_side_mysql() {
    side_by_side(Kind::OtoboMySql).await;
}
