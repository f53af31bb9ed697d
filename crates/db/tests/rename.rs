//! A user rename through the Directory moves the record, its preferences and its relations in
//! one transaction when one database holds them all. A trigger that refuses the preference rows'
//! move makes the whole rename fail: the record must then still be under its old login, with its
//! grants and preferences (before, the record was renamed in a transaction of its own and the
//! rest followed in two more, so a failure left them split between two logins).

mod common;

use std::sync::Arc;

use clientele_db::DbBackend;
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser, keys};
use common::{Fixture, Kind};

fn directory(db: &Arc<DbBackend>) -> Directory {
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    Directory::builder()
        .source(Source::writable(db.clone()).with_bulk_writer(db.clone()))
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(config)
        .build()
        .unwrap()
}

/// A fresh database with `jdoe` (company ACME, `rw` on `billing`, preference `UserLanguage`).
async fn seeded(kind: Kind) -> (Fixture, Directory) {
    let fx = Fixture::new(kind).await;
    let dir = directory(&fx.db);
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "1")
        .await
        .unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        "1",
    )
    .await
    .unwrap();
    dir.add_group("billing", "1").await.unwrap();
    dir.grant_user("jdoe", "billing", &["rw"], "1")
        .await
        .unwrap();
    dir.set_preference("jdoe", "UserLanguage", "de")
        .await
        .unwrap();
    (fx, dir)
}

async fn rename_is_one_transaction(kind: Kind, refuse_preference_moves: &[&str]) {
    let (fx, dir) = seeded(kind).await;
    for sql in refuse_preference_moves {
        fx.exec(sql).await;
    }

    let renamed = dir
        .update_customer_user(
            "jdoe",
            CustomerUserChanges::new().set(keys::LOGIN, "john.doe"),
            "1",
        )
        .await;
    assert!(
        renamed.is_err(),
        "the refused preference move fails the rename"
    );
    dir.clear_caches();
    assert!(dir.customer_user("john.doe").await.unwrap().is_none());
    assert!(dir.customer_user("jdoe").await.unwrap().is_some());
    assert!(dir.has_permission("jdoe", "billing", "rw").await.unwrap());
    assert_eq!(
        dir.preferences("jdoe").await.unwrap().get("UserLanguage"),
        Some(&"de".to_owned())
    );
    fx.finish().await;
}

async fn rename_moves_everything(kind: Kind) {
    let (fx, dir) = seeded(kind).await;
    dir.update_customer_user(
        "jdoe",
        CustomerUserChanges::new().set(keys::LOGIN, "john.doe"),
        "1",
    )
    .await
    .unwrap();
    assert!(dir.customer_user("jdoe").await.unwrap().is_none());
    assert!(
        dir.has_permission("john.doe", "billing", "rw")
            .await
            .unwrap()
    );
    assert_eq!(
        dir.preferences("john.doe")
            .await
            .unwrap()
            .get("UserLanguage"),
        Some(&"de".to_owned())
    );
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rename_moves_everything() {
    rename_moves_everything(Kind::SqliteFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rename_is_one_transaction() {
    rename_is_one_transaction(
        Kind::SqliteFile,
        &[
            "CREATE TRIGGER refuse_move BEFORE UPDATE OF user_id ON customer_preferences \
           BEGIN SELECT RAISE(ABORT, 'preference moves refused'); END",
        ],
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_rename_moves_everything() {
    rename_moves_everything(Kind::Postgres).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_rename_is_one_transaction() {
    rename_is_one_transaction(
        Kind::Postgres,
        &[
            "CREATE FUNCTION refuse_move() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'preference moves refused'; END $$",
            "CREATE TRIGGER refuse_move BEFORE UPDATE OF user_id ON customer_preferences \
             FOR EACH ROW EXECUTE FUNCTION refuse_move()",
        ],
    )
    .await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mariadb_rename_is_one_transaction() {
    rename_is_one_transaction(
        Kind::MySql,
        &[
            "CREATE TRIGGER refuse_move BEFORE UPDATE ON customer_preferences FOR EACH ROW \
           SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'preference moves refused'",
        ],
    )
    .await;
}
