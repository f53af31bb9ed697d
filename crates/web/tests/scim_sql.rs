//! `If-Match` on SQL stores: the version a SCIM write was sent with is checked inside the
//! write's transaction (through `Directory::update_customer_user_checked`), so of two writes
//! sent with one ETag — one after the other within a second, or at the same time — exactly one
//! lands and the other gets `412`. SQLite runs always; PostgreSQL needs the server
//! (`CLIENTELE_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432`) and fails
//! without it.

mod scim_common;

use std::sync::Arc;

use axum::http::StatusCode;
use clientele_db::sea_orm::{ConnectionTrait, Database};
use clientele_db::{DbBackend, DbConfig};
use clientele_directory::{Directory, DirectoryConfig, Error};
use clientele_model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser};
use clientele_web::scim::{ScimConfig, ScimSettings};
use clientele_web::{BearerTokens, TokenScope, WebConfig, issue_scoped_token, router};
use scim_common::{PATCH, send};
use serde_json::json;

async fn directory(url: &str) -> (Arc<Directory>, Arc<DbBackend>) {
    let mut config = DbConfig::default();
    config.settings.name = "db".into();
    config.settings.cache_ttl = 0;
    config.company_settings.name = "db-companies".into();
    config.company_settings.cache_ttl = 0;
    let db = Arc::new(
        DbBackend::connect(url, config)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}")),
    );
    clientele_db::migrate(db.connection())
        .await
        .expect("migrate");
    let dir = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(DirectoryConfig::default())
        .build()
        .expect("directory");
    let dir = Arc::new(dir);
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "1")
        .await
        .unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("bob", "Bob", "Stone", "bob@acme-corp.com", "ACME"),
        "1",
    )
    .await
    .unwrap();
    (dir, db)
}

async fn race(url: &str) {
    let (dir, db) = directory(url).await;
    // Through the Directory: two writes from one read, at the same time.
    let read = dir.customer_user("bob").await.unwrap().unwrap();
    let change = |n: &str| CustomerUserChanges::new().set("UserFirstname", n);
    let (a, b) = tokio::join!(
        dir.update_customer_user_checked(&read, change("A"), "1"),
        dir.update_customer_user_checked(&read, change("B"), "1"),
    );
    let conflicts = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(Error::Conflict { .. })))
        .count();
    assert_eq!(conflicts, 1, "{a:?} / {b:?}");
    assert!(a.is_ok() || b.is_ok());
    // One after the other, well within one second.
    let read = dir.customer_user("bob").await.unwrap().unwrap();
    dir.update_customer_user_checked(&read, change("C"), "1")
        .await
        .expect("the first write");
    let second = dir
        .update_customer_user_checked(&read, change("D"), "1")
        .await;
    assert!(matches!(second, Err(Error::Conflict { .. })), "{second:?}");

    // Through SCIM: two PATCHes with the first ETag.
    // SQL audit columns hold agent ids.
    let token = issue_scoped_token("1", TokenScope::Scim).unwrap();
    let app = router(
        dir.clone(),
        WebConfig::new(BearerTokens::new(&[]).unwrap()).scim(ScimConfig::new(
            BearerTokens::scoped(std::slice::from_ref(&token.stored), TokenScope::Scim).unwrap(),
            ScimSettings::default(),
        )),
    );
    let t = Some(token.token.as_str());
    let shown = send(&app, "GET", "/scim/v2/Users/bob", t, None, None).await;
    let etag = shown.etag.expect("an ETag");
    let op = |n: &str| {
        json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "name.givenName", "value": n}]})
    };
    let first = send(
        &app,
        "PATCH",
        "/scim/v2/Users/bob",
        t,
        Some(op("E")),
        Some(&etag),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = send(
        &app,
        "PATCH",
        "/scim/v2/Users/bob",
        t,
        Some(op("F")),
        Some(&etag),
    )
    .await;
    assert_eq!(
        second.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        second.body
    );
    let (x, y) = tokio::join!(
        send(
            &app,
            "PATCH",
            "/scim/v2/Users/bob",
            t,
            Some(op("G")),
            first.etag.as_deref()
        ),
        send(
            &app,
            "PATCH",
            "/scim/v2/Users/bob",
            t,
            Some(op("H")),
            first.etag.as_deref()
        ),
    );
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", x.body, y.body);
    // The store's detail search pages and counts, and leaves SCIM-deleted users out.
    let listed = send(
        &app,
        "GET",
        "/scim/v2/Users?filter=userName%20sw%20%22b%22",
        t,
        None,
        None,
    )
    .await;
    assert_eq!(listed.json()["totalResults"], 1, "{}", listed.body);
    let gone = send(&app, "DELETE", "/scim/v2/Users/bob", t, None, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let listed = send(
        &app,
        "GET",
        "/scim/v2/Users?filter=userName%20sw%20%22b%22",
        t,
        None,
        None,
    )
    .await;
    assert_eq!(listed.json()["totalResults"], 0, "{}", listed.body);
    let _ = db.connection().close_by_ref().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_races_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("scim.db").display());
    race(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn if_match_races_on_postgres() {
    let base = std::env::var("CLIENTELE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let admin = Database::connect(format!("{base}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is needed for this test: {e}"));
    let name = format!("clientele_scim_{}", std::process::id());
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
        .await
        .expect("create database");
    race(&format!("{base}/{name}")).await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}
