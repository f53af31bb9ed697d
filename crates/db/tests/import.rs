//! `DbBackend::import_customer_users`: batched inserts, duplicates reported per row (against
//! stored users and earlier rows of the same import), passwords and audit columns stored, on
//! SQLite, PostgreSQL and MariaDB.

mod common;

use clientele_backend::{CustomerUserSource, CustomerUserWriter, Error, PasswordStore};
use clientele_db::sea_orm::{ConnectionTrait, Statement};
use clientele_db::{ImportOptions, ImportRow};
use clientele_model::search::{FieldSet, SearchSyntax, UserQuery, parse_term};
use clientele_model::{AttributeMap, CustomerUser, EmailCheck, NewCustomerUser, Rules, keys};
use common::{Fixture, Kind};

fn user(login: &str, first: &str, email: &str) -> CustomerUser {
    let map = AttributeMap::otobo_customer_user();
    let check = EmailCheck::default();
    NewCustomerUser::new(login, first, "Müller", email, "ACME")
        .validate(&Rules {
            map: &map,
            email: &check,
        })
        .unwrap()
}

/// The user numbered `i`: unique login and address.
fn numbered(i: usize) -> ImportRow {
    ImportRow::new(user(
        &format!("user{i:05}"),
        "Zoë",
        &format!("user{i:05}@acme-corp.com"),
    ))
}

async fn count(f: &Fixture) -> i64 {
    let conn = f.db.connection();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM customer_user".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn taken(e: &Error) -> (String, String) {
    match e {
        Error::AlreadyExists {
            field,
            value,
            backend,
            ..
        } => {
            assert_eq!(backend.as_deref(), Some("db"));
            (field.clone(), value.clone())
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

async fn import_in_batches(kind: Kind) {
    let f = Fixture::new(kind).await;
    // Stored before the import.
    f.db.add(
        &user("stored", "Ana", "stored@acme-corp.com"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();

    let mut rows: Vec<ImportRow> = (0..2_000).map(numbered).collect();
    // 10: the stored login in another case.
    rows[10] = ImportRow::new(user("STORED", "Ana", "other10@acme-corp.com"));
    // 11: the stored address in another case.
    rows[11] = ImportRow::new(user("fresh11", "Ana", "Stored@Acme-Corp.com"));
    // 12: the login of row 3, in the same statement.
    rows[12] = ImportRow::new(user("User00003", "Ana", "other12@acme-corp.com"));
    // 13: the address of row 4, in the same statement.
    rows[13] = ImportRow::new(user("fresh13", "Ana", "USER00004@acme-corp.com"));
    // 1500: the login of row 20, several transactions later.
    rows[1500] = ImportRow::new(user("user00020", "Ana", "other1500@acme-corp.com"));
    // 1501: the address of row 21, several transactions later.
    rows[1501] = ImportRow::new(user("fresh1501", "Ana", "user00021@acme-corp.com"));
    // 7: a password hash, stored as given.
    rows[7] = numbered(7).with_password_hash("{SHA256}not-a-real-hash");

    // 100 rows per statement, 3 statements per transaction: 7 transactions.
    let report =
        f.db.import_customer_users_with(&rows, &"42".into(), ImportOptions::new(100, 3))
            .await
            .unwrap();

    let rejected: Vec<(usize, String, String)> = report
        .rejected
        .iter()
        .map(|r| {
            let (field, value) = taken(&r.error);
            (r.index, field, value)
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (10, keys::LOGIN.to_owned(), "STORED".to_owned()),
            (
                11,
                keys::EMAIL.to_owned(),
                "Stored@Acme-Corp.com".to_owned()
            ),
            (12, keys::LOGIN.to_owned(), "User00003".to_owned()),
            (
                13,
                keys::EMAIL.to_owned(),
                "USER00004@acme-corp.com".to_owned()
            ),
            (1500, keys::LOGIN.to_owned(), "user00020".to_owned()),
            (
                1501,
                keys::EMAIL.to_owned(),
                "user00021@acme-corp.com".to_owned()
            ),
        ]
    );
    assert_eq!(report.inserted, 2_000 - 6);
    assert_eq!(count(&f).await, 1 + 2_000 - 6);

    // Rows are stored whole, with the audit columns of `by`.
    let u =
        f.db.get("user01999")
            .await
            .unwrap()
            .expect("last row stored");
    assert_eq!(u.email.as_str(), "user01999@acme-corp.com");
    assert_eq!(u.attribute(keys::FIRST_NAME).unwrap().to_text(), "Zoë");
    assert_eq!(u.audit.created_by.as_deref(), Some("42"));
    assert!(u.audit.created_at.is_some());
    // The rejected rows' values are not.
    assert!(f.db.get("fresh11").await.unwrap().is_none());
    assert_eq!(
        f.db.get("stored")
            .await
            .unwrap()
            .unwrap()
            .attribute(keys::FIRST_NAME)
            .unwrap()
            .to_text(),
        "Ana"
    );
    // The password hash as given; no password where none was given.
    let (_, hash) = f.db.password_hash("user00007").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("{SHA256}not-a-real-hash"));
    let (_, hash) = f.db.password_hash("user00008").await.unwrap().unwrap();
    assert_eq!(hash, None);
    // Searchable like any other user.
    let found =
        f.db.search(&UserQuery {
            fields: FieldSet::SearchFields {
                exclude_customer_id: false,
            },
            expr: parse_term("user0199", &SearchSyntax::default()).unwrap(),
            valid_only: true,
            limit: 250,
            case_sensitive: false,
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 10);

    // A second import of the same rows adds nothing and reports every row.
    let again =
        f.db.import_customer_users(&rows[..50], &"42".into())
            .await
            .unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(again.rejected.len(), 50);
    assert_eq!(count(&f).await, 1 + 2_000 - 6);

    f.finish().await;
}

/// A read-only source refuses an import.
async fn read_only_refuses(kind: Kind) {
    let mut config = common::test_config();
    config.settings.read_only = true;
    let f = Fixture::with_config(kind, config).await;
    let err =
        f.db.import_customer_users(&[numbered(1)], &"1".into())
            .await
            .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    f.finish().await;
}

#[tokio::test]
async fn sqlite_import_in_batches() {
    import_in_batches(Kind::SqliteFile).await;
}

#[tokio::test]
async fn sqlite_memory_import_in_batches() {
    import_in_batches(Kind::SqliteMemory).await;
}

#[tokio::test]
async fn sqlite_read_only_refuses() {
    read_only_refuses(Kind::SqliteMemory).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_import_in_batches() {
    import_in_batches(Kind::Postgres).await;
}

#[cfg(feature = "mysql")]
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mysql_import_in_batches() {
    import_in_batches(Kind::MySql).await;
}
