//! A Directory with a writable SQLite DB source (clientele-db) and the LDAP source, in both
//! orders.

use clientele_backend::Error;
use clientele_model::search::CustomerUserSearch;
use clientele_model::{CustomerUserChanges, NewCustomerUser, Password, keys};

use crate::common::*;

fn source_of(hits: &[clientele_directory::SearchHit], login: &str) -> String {
    hits.iter()
        .find(|h| h.user.login.as_str() == login)
        .map(|h| h.source.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn db_first_then_ldap() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let db = db().await;
    let dir = chained(&db, &ldap, false);

    // Merge order: the first source wins.
    let (u, src) = dir
        .customer_user_with_source("shared-login")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (src.as_str(), u.email.as_str()),
        ("DB", "shared-login@db.example")
    );
    let hits = dir
        .search(&CustomerUserSearch::login("shared-login"))
        .await
        .unwrap();
    assert_eq!(logins(&hits), ["shared-login"]);
    assert_eq!(hits[0].source, "DB");

    // Search across both.
    let acme = dir
        .search(&CustomerUserSearch::customer_id("acme"))
        .await
        .unwrap();
    assert_eq!(logins(&acme), ["asmith", "dbacme", "jdoe", "latin1"]);
    assert_eq!(source_of(&acme, "dbacme"), "DB");
    assert_eq!(source_of(&acme, "jdoe"), "LDAP");

    // Login uniqueness across both: LDAP has jdoe (in any case).
    for login in ["jdoe", "JDOE"] {
        let e = dir
            .add_customer_user(
                NewCustomerUser::new(login, "J", "D", "jd@db.example", "acme"),
                clientele_model::Actor::System,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::AlreadyExists { field, backend: Some(b), .. } if field == keys::LOGIN && b == "LDAP"),
            "{e}"
        );
    }
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("newdb", "New", "Db", "newdb@db.example", "acme")
                .password("newdb-secret"),
            clientele_model::Actor::System,
        )
        .await
        .unwrap();
    assert_eq!(added.source, "DB");

    // Read-only refusal for the LDAP user, writes to the DB user work.
    let rename = CustomerUserChanges::new().set(keys::FIRST_NAME, "Changed");
    assert!(matches!(
        dir.update_customer_user("jdoe", rename.clone(), clientele_model::Actor::System).await,
        Err(Error::ReadOnly { ref backend }) if backend == "LDAP"
    ));
    assert!(matches!(
        dir.set_password("asmith", &Password::new("x-secret")).await,
        Err(Error::ReadOnly { .. })
    ));
    assert_eq!(
        dir.update_customer_user("newdb", rename, clientele_model::Actor::System)
            .await
            .unwrap()
            .first_name,
        "Changed"
    );

    // Authentication by the owning source: hash for DB users, bind for LDAP users.
    assert_eq!(
        dir.authenticate("dbuser", &"dbuser-secret".into())
            .await
            .unwrap()
            .as_str(),
        "dbuser"
    );
    assert_eq!(
        dir.authenticate("jdoe", &"jdoe-secret".into())
            .await
            .unwrap()
            .as_str(),
        "jdoe"
    );
    // shared-login belongs to the DB here: its LDAP password does not count.
    assert!(matches!(
        dir.authenticate("shared-login", &"shared-login-secret".into())
            .await,
        Err(Error::AuthenticationFailed)
    ));
    assert!(
        dir.authenticate("shared-login", &"db-shared-secret".into())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn ldap_first_then_db() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let db = db().await;
    let dir = chained(&db, &ldap, true);

    let (u, src) = dir
        .customer_user_with_source("shared-login")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (src.as_str(), u.email.as_str()),
        ("LDAP", "shared-login@ldap.example")
    );
    let hits = dir
        .search(&CustomerUserSearch::term("shared"))
        .await
        .unwrap();
    assert_eq!(logins(&hits), ["shared-login"]);
    assert_eq!(hits[0].source, "LDAP");
    assert_eq!(
        dir.customer_user_with_source("dbuser")
            .await
            .unwrap()
            .unwrap()
            .1,
        "DB"
    );
    let acme = dir
        .search(&CustomerUserSearch::customer_id("acme"))
        .await
        .unwrap();
    assert_eq!(logins(&acme), ["asmith", "dbacme", "jdoe", "latin1"]);

    // New users go to the first writable source, the DB; LDAP's logins stay taken.
    assert!(matches!(
        dir.add_customer_user(NewCustomerUser::new("asmith", "A", "S", "as@db.example", "acme"), clientele_model::Actor::System).await,
        Err(Error::AlreadyExists { backend: Some(ref b), .. }) if b == "LDAP"
    ));
    assert_eq!(
        dir.add_customer_user(
            NewCustomerUser::new("newdb2", "N", "D", "n2@db.example", "acme"),
            clientele_model::Actor::System
        )
        .await
        .unwrap()
        .source,
        "DB"
    );
    assert!(matches!(
        dir.add_customer_user_to(
            "LDAP",
            NewCustomerUser::new("x1", "X", "Y", "x1@db.example", "acme"),
            clientele_model::Actor::System
        )
        .await,
        Err(Error::ReadOnly { .. })
    ));

    // shared-login now belongs to LDAP: the bind decides.
    assert!(
        dir.authenticate("shared-login", &"shared-login-secret".into())
            .await
            .is_ok()
    );
    assert!(matches!(
        dir.authenticate("shared-login", &"db-shared-secret".into())
            .await,
        Err(Error::AuthenticationFailed)
    ));
}
