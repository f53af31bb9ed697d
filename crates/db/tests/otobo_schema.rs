//! An existing OTOBO database seen through four of its tables: OTOBO's own `customer_user`,
//! `customer_company`, `customer_user_customer` and `customer_preferences`, as OTOBO's installer
//! creates them (`common::otobo`, without foreign keys), filled the way OTOBO fills them — and
//! read, searched and migrated by Clientele.
//!
//! OTOBO's whole schema (the eleven tables, the dynamic-field tables, initial rows and foreign
//! keys) is loaded by `otobo_conformance.rs`, which runs the conformance suites on it, and by
//! `otobo_tables.rs`, which compares it with the tables Clientele creates. OTOBO has no SQLite
//! schema; the SQLite variant is its closest equivalent, to run the same checks without a
//! server.

mod common;

use clientele_backend::{
    CompanyStore, CustomerUserSource, CustomerUserWriter, Error, PasswordStore, PreferenceStore,
    RelationStore,
};
use clientele_db::DbConfig;
use clientele_model::search::{
    DetailSearch, Direction, Expr, FieldSet, Pattern, SearchSyntax, UserQuery, parse_term,
};
use clientele_model::{
    AttributeMap, AttributeMapping, EmailCheck, NewCustomerUser, Rules, StorageType, Validity,
};

use common::{Kind, TestDb, exec, otobo};

/// sha256("secret") in hex: OTOBO's default `CryptType`.
const SHA256_SECRET: &str = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

/// The four tables this file's OTOBO database has, without foreign keys (OTOBO's DDL is in
/// `common::otobo`).
fn otobo_ddl(kind: Kind) -> Vec<String> {
    otobo::tables_without_references(
        kind.engine(),
        &[
            "customer_user",
            "customer_company",
            "customer_user_customer",
            "customer_preferences",
        ],
    )
}

/// Rows as OTOBO writes them: empty optional values as `''`, agent ids in the audit columns,
/// sha256-hex passwords, `valid_id` 1/2/3.
fn otobo_rows() -> Vec<String> {
    let t = "'2023-05-04 10:11:12'";
    vec![
        format!(
            "INSERT INTO customer_user (login, email, customer_id, pw, title, first_name, last_name, \
             phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, create_by, \
             change_time, change_by) VALUES \
             ('mmustermann', 'max@mustermann-gmbh.de', 'MUSTER', '{SHA256_SECRET}', '', 'Max', 'Mustermann', \
              '+49 89 123', '', '', 'Hauptstr. 1', '80331', 'München', 'Deutschland', '', 1, {t}, 2, {t}, 3)"
        ),
        format!(
            "INSERT INTO customer_user (login, email, customer_id, pw, title, first_name, last_name, \
             phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, create_by, \
             change_time, change_by) VALUES \
             ('Erika.Muster', 'erika@mustermann-gmbh.de', 'MUSTER', NULL, 'Dr.', 'Erika', 'Mustermann', \
              '', '', '', '', '', '', '', 'left the company', 2, {t}, 1, {t}, 1)"
        ),
        format!(
            "INSERT INTO customer_user (login, email, customer_id, pw, title, first_name, last_name, \
             phone, fax, mobile, street, zip, city, country, comments, valid_id, create_time, create_by, \
             change_time, change_by) VALUES \
             ('jb', 'jb@blau.de', 'BLAU', '', '', 'Jana', 'Blau', '', '', '', '', '', '', '', '', 1, {t}, 1, {t}, 1)"
        ),
        format!(
            "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, comments, \
             valid_id, create_time, create_by, change_time, change_by) VALUES \
             ('MUSTER', 'Mustermann GmbH', 'Hauptstr. 1', '80331', 'München', 'Deutschland', '', '', 1, {t}, 2, {t}, 2)"
        ),
        format!(
            "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, comments, \
             valid_id, create_time, create_by, change_time, change_by) VALUES \
             ('BLAU', 'Blau AG', '', '', '', '', '', '', 2, {t}, 1, {t}, 1)"
        ),
        // OTOBO has no unique constraint here: a double click leaves duplicates.
        format!(
            "INSERT INTO customer_user_customer VALUES ('mmustermann', 'BLAU', {t}, 1, {t}, 1)"
        ),
        format!(
            "INSERT INTO customer_user_customer VALUES ('mmustermann', 'BLAU', {t}, 1, {t}, 1)"
        ),
        "INSERT INTO customer_preferences VALUES ('mmustermann', 'UserLanguage', 'de')".into(),
        "INSERT INTO customer_preferences VALUES ('mmustermann', 'UserLanguage', 'de')".into(),
    ]
}

async fn otobo_database(kind: Kind) -> TestDb {
    let test_db = TestDb::empty(kind).await;
    let db = test_db.connect(DbConfig::default()).await;
    for sql in otobo_ddl(kind).into_iter().chain(otobo_rows()) {
        exec(db.connection(), &sql).await;
    }
    let _ = db.connection().close_by_ref().await;
    test_db
}

fn term(t: &str, valid_only: bool) -> UserQuery {
    UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term(t, &SearchSyntax::default()).unwrap(),
        valid_only,
        limit: 250,
        case_sensitive: false,
    }
}

fn epoch(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

/// Reads and searches OTOBO's rows with OTOBO's default configuration, no migration run.
async fn reads_otobo_rows(kind: Kind) {
    let test_db = otobo_database(kind).await;
    let db = test_db.connect(DbConfig::default()).await;

    let max = db.get("MMUSTERMANN").await.unwrap().expect("OTOBO's row");
    assert_eq!(max.login.as_str(), "mmustermann");
    assert_eq!(max.email.as_str(), "max@mustermann-gmbh.de");
    assert_eq!(max.customer_id.as_str(), "MUSTER");
    assert_eq!(max.title, None, "OTOBO's empty string reads as no value");
    assert_eq!(max.phone.as_deref(), Some("+49 89 123"));
    assert_eq!(max.city.as_deref(), Some("München"));
    assert_eq!(max.fax, None);
    assert_eq!(max.validity, Validity::Valid);
    assert_eq!(max.audit.created_at, Some(epoch("2023-05-04 10:11:12")));
    assert_eq!(max.audit.created_by.as_deref(), Some("2"));
    assert_eq!(max.audit.changed_by.as_deref(), Some("3"));
    let erika = db.get("erika.muster").await.unwrap().unwrap();
    assert_eq!(erika.login.as_str(), "Erika.Muster");
    assert_eq!(erika.validity, Validity::Invalid);
    assert_eq!(erika.comment.as_deref(), Some("left the company"));

    // OTOBO's sha256 hex comes back as stored; NULL and '' mean "no password".
    let (login, hash) = db.password_hash("mmustermann").await.unwrap().unwrap();
    assert_eq!(login.as_str(), "mmustermann");
    assert_eq!(hash.as_deref(), Some(SHA256_SECRET));
    assert_eq!(
        db.password_hash("Erika.Muster").await.unwrap().unwrap().1,
        None
    );
    assert_eq!(db.password_hash("jb").await.unwrap().unwrap().1, None);

    let logins = |users: Vec<clientele_model::CustomerUser>| {
        users
            .into_iter()
            .map(|u| u.login.into_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        logins(db.search(&term("muster", true)).await.unwrap()),
        ["mmustermann"]
    );
    assert_eq!(
        logins(db.search(&term("muster", false)).await.unwrap()),
        ["Erika.Muster", "mmustermann"]
    );
    assert_eq!(
        logins(db.search(&term("blau", true)).await.unwrap()),
        ["jb"]
    );
    let detail = DetailSearch {
        order_by: vec![("UserLastname".into(), Direction::Ascending)],
        valid_only: false,
        ..Default::default()
    };
    let found: Vec<String> = db
        .search_detail(&detail)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["jb", "mmustermann", "Erika.Muster"]);
    assert_eq!(db.count_detail(&detail).await.unwrap(), 3);
    let ids: Vec<String> = db
        .customer_id_list(Some(&Expr::Match(Pattern::from_wildcards("m*"))), true)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["MUSTER"]);

    let muster = db.company("muster").await.unwrap().unwrap();
    assert_eq!(muster.name, "Mustermann GmbH");
    assert_eq!(muster.city.as_deref(), Some("München"));
    assert_eq!(muster.url, None);
    assert_eq!(muster.audit.created_by.as_deref(), Some("2"));
    assert_eq!(
        db.company("BLAU").await.unwrap().unwrap().validity,
        Validity::Invalid
    );

    // Relations and preferences read through duplicates OTOBO may have left.
    assert_eq!(db.user_companies("mmustermann").await.unwrap().len(), 1);
    assert_eq!(
        db.preferences("mmustermann").await.unwrap()["UserLanguage"],
        "de"
    );

    // Writes on an unmigrated OTOBO database: PostgreSQL and SQLite need nothing more; MySQL's
    // email lock rows come with the constraints migration, and without them the add says so.
    let new = NewCustomerUser::new("neu", "Neu", "Kunde", "neu@mustermann-gmbh.de", "MUSTER")
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_user(),
            email: &EmailCheck::default(),
        })
        .unwrap();
    match (kind, db.add(&new, Some(SHA256_SECRET), &"1".into()).await) {
        (Kind::MySql, Err(Error::Config(m))) => {
            assert!(m.contains("clientele_db::migrate"), "{m}");
            assert!(m.contains("run `clientele init`"), "{m}");
        }
        (Kind::MySql, other) => panic!("expected the missing-lock-table error, got {other:?}"),
        (_, result) => {
            result.unwrap();
            assert_eq!(db.get("NEU").await.unwrap().unwrap().last_name, "Kunde");
        }
    }
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

/// `clientele_db::migrate` on OTOBO's database: adds the missing tables and the constraints,
/// merging the duplicate rows OTOBO left, and keeps every row.
async fn migrates_otobo_database(kind: Kind) {
    let test_db = otobo_database(kind).await;
    let db = test_db.connect(DbConfig::default()).await;
    clientele_db::migrate(db.connection())
        .await
        .expect("migrate an OTOBO database");
    clientele_db::migrate(db.connection())
        .await
        .expect("and again");
    assert_eq!(
        db.get("mmustermann").await.unwrap().unwrap().first_name,
        "Max"
    );
    assert_eq!(
        db.user_companies("mmustermann").await.unwrap().len(),
        1,
        "duplicates merged"
    );
    assert_eq!(db.preferences("mmustermann").await.unwrap().len(), 1);
    // The unique indexes now hold.
    db.set_user_company("mmustermann", "BLAU", true, &"1".into())
        .await
        .unwrap();
    let snapshot = db.relation_snapshot().await.unwrap();
    assert_eq!(snapshot.user_companies.len(), 1);
    db.set_preference("mmustermann", "UserLanguage", "en")
        .await
        .unwrap();
    assert_eq!(
        db.preferences("mmustermann").await.unwrap()["UserLanguage"],
        "en"
    );
    // Writes work on every database now.
    let new = NewCustomerUser::new("neu", "Neu", "Kunde", "neu@mustermann-gmbh.de", "MUSTER")
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_user(),
            email: &EmailCheck::default(),
        })
        .unwrap();
    db.add(&new, None, &"1".into()).await.unwrap();
    match db.add(&new, None, &"1".into()).await {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "UserEmail"),
        other => panic!("{other:?}"),
    }
    let group = db
        .add_group("users", Validity::Valid, &"1".into())
        .await
        .unwrap();
    db.set_user_grant(
        "mmustermann",
        group.id,
        &[clientele_model::permission::PermissionType::rw()],
        &"1".into(),
    )
    .await
    .unwrap();
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

/// A table of another name and other columns, without audit columns (OTOBO `ForeignDB`) and
/// without validity (`CustomerValid` unset), mapped entirely by configuration.
async fn foreign_table(kind: Kind) {
    let test_db = TestDb::empty(kind).await;
    let mut config = DbConfig {
        table: "crm_contacts".into(),
        customer_key: "uid".into(),
        customer_id_column: "org".into(),
        customer_valid: Some(String::new()),
        foreign_db: true,
        ..DbConfig::default()
    };
    let m = AttributeMapping::new;
    config.settings.map = AttributeMap::new(vec![
        m("UserLogin", "Username", "uid").required(),
        m("UserFirstname", "Firstname", "given").required(),
        m("UserLastname", "Lastname", "family").required(),
        m("UserEmail", "Email", "mail").required(),
        m("UserCustomerID", "CustomerID", "org").required(),
        m("UserPassword", "Password", "secret").hidden(),
        m("UserRoom", "Room", "room"),
        m("UserLevel", "Level", "level").storage_type(StorageType::Integer),
    ]);
    config.settings.search_fields = vec!["uid".into(), "family".into(), "room".into()];
    config.settings.postmaster_fields = vec!["mail".into()];
    let db = test_db.connect(config.clone()).await;
    exec(db.connection(),
        "CREATE TABLE crm_contacts (uid VARCHAR(100) NOT NULL PRIMARY KEY, given VARCHAR(100) NOT NULL, \
         family VARCHAR(100) NOT NULL, mail VARCHAR(150) NOT NULL, org VARCHAR(150) NOT NULL, \
         secret VARCHAR(128) NULL, room VARCHAR(20) NULL, level INTEGER NULL)",
    )
    .await;
    exec(db.connection(),
        "INSERT INTO crm_contacts VALUES ('kim', 'Kim', 'Park', 'kim@park.kr', 'PARK', NULL, 'R-1', 3)",
    )
    .await;
    let kim = db.get("KIM").await.unwrap().unwrap();
    assert_eq!(kim.last_name, "Park");
    assert_eq!(
        kim.validity,
        Validity::Valid,
        "no validity column: everyone is valid"
    );
    assert_eq!(kim.audit, Default::default(), "no audit columns");
    assert_eq!(kim.attribute("UserRoom").unwrap().to_text(), "R-1");
    assert_eq!(kim.attribute("UserLevel").unwrap(), 3.into());
    let found = db.search(&term("r-1", true)).await.unwrap();
    assert_eq!(found.len(), 1);

    // Writes without audit columns; optimistic checks compare against "no change time".
    config.settings.email_unique_check = kind != Kind::MySql;
    let db = test_db.connect(config.clone()).await;
    let lee = NewCustomerUser::new("lee", "Lee", "Park", "lee@park.kr", "PARK")
        .with("UserLevel", "5")
        .validate(&Rules {
            map: &config.settings.map,
            email: &EmailCheck::default(),
        })
        .unwrap();
    db.add(&lee, Some("hash"), &"1".into()).await.unwrap();
    let mut stored = db.get("lee").await.unwrap().unwrap();
    assert_eq!(stored.attribute("UserLevel").unwrap(), 5.into());
    stored.extra.insert("UserRoom".into(), "R-2".into());
    db.update(
        &stored.login,
        &stored,
        clientele_backend::Expected::ChangedAt(None),
        &"1".into(),
    )
    .await
    .unwrap();
    assert_eq!(
        db.get("lee")
            .await
            .unwrap()
            .unwrap()
            .attribute("UserRoom")
            .unwrap()
            .to_text(),
        "R-2"
    );
    assert_eq!(
        db.password_hash("lee").await.unwrap().unwrap().1.as_deref(),
        Some("hash")
    );
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

macro_rules! on {
    ($module:ident, $kind:expr $(, #[$attr:meta])*) => {
        mod $module {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn reads_otobo_rows() {
                super::reads_otobo_rows($kind).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn migrates_otobo_database() {
                super::migrates_otobo_database($kind).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn foreign_table() {
                super::foreign_table($kind).await
            }
        }
    };
}

on!(sqlite_file, crate::common::Kind::SqliteFile);
#[cfg(feature = "postgres")]
on!(postgres, crate::common::Kind::Postgres, #[ignore = "needs PostgreSQL: run scripts/test.sh"]);
#[cfg(feature = "mysql")]
on!(mysql, crate::common::Kind::MySql, #[ignore = "needs MariaDB: run scripts/test.sh"]);

/// PostgreSQL compares logins case-sensitively in OTOBO's unique index; two logins that differ
/// only in case stop the constraints migration with a message saying how to find them.
#[cfg(feature = "postgres")]
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn case_duplicates_stop_the_postgres_migration() {
    let test_db = otobo_database(Kind::Postgres).await;
    let db = test_db.connect(DbConfig::default()).await;
    exec(db.connection(),
        "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, valid_id, \
         create_time, create_by, change_time, change_by) VALUES ('MMUSTERMANN', 'x@y.de', 'MUSTER', \
         'M', 'M', 1, now(), 1, now(), 1)",
    )
    .await;
    match clientele_db::migrate(db.connection()).await {
        Err(e) => assert!(e.to_string().contains("differ only in case"), "{e}"),
        Ok(()) => panic!("the migration must refuse case duplicates"),
    }
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

/// Regression: `set_password_hash` matched the login case-insensitively and rewrote the hash of
/// every case variant. OTOBO's own schema allows `mmustermann` beside `MMUSTERMANN` on
/// PostgreSQL and SQLite (its unique index compares exactly); only the user asked for may get
/// the new hash.
async fn password_goes_to_the_exact_case(kind: Kind) {
    use clientele_db::sea_orm::{ConnectionTrait, Statement};
    let test_db = otobo_database(kind).await;
    let db = test_db.connect(DbConfig::default()).await;
    exec(db.connection(),
        "INSERT INTO customer_user (login, email, customer_id, pw, first_name, last_name, valid_id, \
         create_time, create_by, change_time, change_by) VALUES ('MMUSTERMANN', 'x@y.de', 'MUSTER', \
         'old-hash', 'M', 'M', 1, '2023-05-04 10:11:12', 1, '2023-05-04 10:11:12', 1)",
    )
    .await;
    let upper = clientele_model::Login::new("MMUSTERMANN").unwrap();
    db.set_password_hash(&upper, "new-hash").await.unwrap();
    let pw = |login: &'static str| {
        let conn = db.connection();
        async move {
            let sql = format!("SELECT pw FROM customer_user WHERE login = '{login}'");
            let row = conn
                .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<Option<String>>(0).unwrap()
        }
    };
    assert_eq!(pw("MMUSTERMANN").await.as_deref(), Some("new-hash"));
    assert_eq!(pw("mmustermann").await.as_deref(), Some(SHA256_SECRET));
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_goes_to_the_exact_case_on_sqlite() {
    password_goes_to_the_exact_case(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn password_goes_to_the_exact_case_on_postgres() {
    password_goes_to_the_exact_case(Kind::Postgres).await;
}
