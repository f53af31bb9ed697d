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

/// An LDAP source whose service account has the wrong password fails every read of its own,
/// but searches still find the DB's users and name LDAP as missing; look-ups of DB users
/// work, and a login only LDAP might hold is an error, never "no such user".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn a_wrong_bind_password_leaves_ldap_out_of_searches() {
    let s = Slapd::start();
    let ldap = backend(clientele_ldap::LdapConfig {
        bind_password: Some(Password::new("not-the-password")),
        ..config(&s)
    });
    let db = db().await;
    for ldap_first in [false, true] {
        let dir = chained(&db, &ldap, ldap_first);
        let page = dir
            .search_page(&CustomerUserSearch::term("*"))
            .await
            .unwrap();
        assert_eq!(
            logins(&page.hits),
            ["dbacme", "dbuser", "shared-login"],
            "LDAP first: {ldap_first}"
        );
        assert!(page.hits.iter().all(|h| h.source == "DB"));
        assert_eq!(page.missing_sources.len(), 1);
        assert_eq!(page.missing_sources[0].source, "LDAP");
        assert!(
            page.missing_sources[0].reason.contains("refused"),
            "{:?}",
            page.missing_sources
        );
        assert_eq!(
            dir.customer_user_with_source("dbuser")
                .await
                .unwrap()
                .unwrap()
                .1,
            "DB"
        );
        assert!(matches!(
            dir.customer_user("jdoe").await,
            Err(Error::Backend { ref backend, .. }) if backend == "LDAP"
        ));
    }
}

/// With `email_unique_check` on, a DB user may not take an address an LDAP user holds (its
/// alias included), neither when added nor by an update; the error names the field and the
/// source. A search by email answers with the record a look-up of the login shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn email_addresses_are_unique_across_sources() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let db = db().await;
    let dir = chained(&db, &ldap, false);
    for email in [
        "jdoe@acme.example",
        "JDoe@Acme.Example",
        "alice@home.example",
    ] {
        let e = dir
            .add_customer_user(
                NewCustomerUser::new("newcomer", "N", "C", email, "acme"),
                clientele_model::Actor::System,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::AlreadyExists { field, backend: Some(b), .. } if field == keys::EMAIL && b == "LDAP"),
            "{email}: {e}"
        );
    }
    let e = dir
        .update_customer_user(
            "dbuser",
            CustomerUserChanges::new().set(keys::EMAIL, "jdoe@acme.example"),
            clientele_model::Actor::System,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::AlreadyExists { field, backend: Some(b), .. } if field == keys::EMAIL && b == "LDAP"),
        "{e}"
    );
    assert!(
        dir.customer_user("newcomer").await.unwrap().is_none(),
        "nothing was added"
    );

    // LDAP first: shared-login is LDAP's, so a search by the DB record's address shows the
    // LDAP record, as `customer_user` does.
    let dir = chained(&db, &ldap, true);
    let shown = dir.customer_user("shared-login").await.unwrap().unwrap();
    let hits = dir
        .search(&CustomerUserSearch::email("shared-login@db.example"))
        .await
        .unwrap();
    assert_eq!(logins(&hits), ["shared-login"]);
    assert_eq!(hits[0].source, "LDAP");
    assert_eq!(hits[0].user, shown);
    let listed = dir
        .search_list(&CustomerUserSearch::email("shared-login@db.example"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].source, "LDAP");
}
