//! The server going away and coming back: fast typed failures, other sources still served,
//! and recovery without rebuilding anything.

use std::time::{Duration, Instant};

use clientele_backend::{CustomerUserSource, Error};
use clientele_model::NewCustomerUser;
use clientele_model::search::CustomerUserSearch;

use crate::common::*;

const CONNECT_MS: u64 = 1_000;
const OPERATION_MS: u64 = 2_000;

fn timeouts(s: &Slapd) -> clientele_ldap::LdapConfig {
    clientele_ldap::LdapConfig {
        connect_timeout_ms: CONNECT_MS,
        operation_timeout_ms: OPERATION_MS,
        ..config(s)
    }
}

/// The bound a failing call must stay under: the longest configured timeout plus one second of
/// slack (a bound, not a performance figure).
fn bound() -> Duration {
    Duration::from_millis(CONNECT_MS.max(OPERATION_MS) + 1_000)
}

fn unavailable_or_timeout(e: &Error) -> bool {
    matches!(e, Error::Unavailable { backend, .. } | Error::Timeout { backend, .. } if backend == "LDAP")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn server_stopped_then_restarted() {
    let mut s = Slapd::start();
    let ldap = backend(timeouts(&s));
    let db = db().await;
    let db_first = chained(&db, &ldap, false);
    let ldap_first = chained(&db, &ldap, true);
    assert!(ldap.get("jdoe").await.unwrap().is_some());
    assert!(db_first.customer_user("jdoe").await.unwrap().is_some());

    s.kill();

    // The backend: a typed, retryable error, fast.
    let t = Instant::now();
    let e = ldap.get("jdoe").await.unwrap_err();
    let took = t.elapsed();
    eprintln!("get with slapd stopped: {e} after {took:?}");
    assert!(unavailable_or_timeout(&e), "{e}");
    assert!(e.is_retryable());
    assert!(took < bound(), "{took:?}");
    let t = Instant::now();
    let e = ldap
        .search(&clientele_model::search::UserQuery {
            fields: clientele_model::search::FieldSet::Login,
            expr: clientele_model::search::Expr::Match(clientele_model::search::Pattern::exact(
                "jdoe",
            )),
            valid_only: true,
            limit: 10,
            case_sensitive: false,
        })
        .await
        .unwrap_err();
    assert!(unavailable_or_timeout(&e), "{e}");
    assert!(t.elapsed() < bound());

    // [DB, LDAP]: DB users are still found by login (the DB answers first).
    let t = Instant::now();
    let u = db_first
        .customer_user("dbuser")
        .await
        .unwrap()
        .expect("dbuser from DB");
    assert_eq!(u.login.as_str(), "dbuser");
    assert_eq!(
        db_first
            .authenticate("dbuser", &"dbuser-secret".into())
            .await
            .unwrap()
            .as_str(),
        "dbuser"
    );
    // An LDAP user cannot be found, and the caller learns why.
    let e = db_first.customer_user("jdoe").await.unwrap_err();
    assert!(unavailable_or_timeout(&e), "{e}");
    // Searches leave the source that is down out while another one answers.
    let hits = db_first
        .search(&CustomerUserSearch::term("db"))
        .await
        .unwrap();
    assert_eq!(logins(&hits), ["dbacme", "dbuser", "shared-login"]);
    let hits = ldap_first
        .search(&CustomerUserSearch::term("db"))
        .await
        .unwrap();
    assert_eq!(logins(&hits), ["dbacme", "dbuser", "shared-login"]);
    // [LDAP, DB]: the DB user is found behind the failing LDAP source too.
    assert!(ldap_first.customer_user("dbuser").await.unwrap().is_some());
    // New users are refused while login uniqueness cannot be checked against LDAP.
    let e = db_first
        .add_customer_user(
            NewCustomerUser::new("newbie", "New", "Bie", "newbie@db.example", "acme"),
            clientele_model::Actor::System,
        )
        .await
        .unwrap_err();
    assert!(unavailable_or_timeout(&e), "{e}");
    let took = t.elapsed();
    eprintln!("Directory calls with LDAP down (8 calls): {took:?}");
    assert!(took < bound() * 4, "{took:?}");

    // Back again: the same backend and Directories reconnect on their own.
    s.restart();
    assert!(ldap.get("jdoe").await.unwrap().is_some());
    assert!(db_first.customer_user("jdoe").await.unwrap().is_some());
    assert_eq!(
        logins(
            &ldap_first
                .search(&CustomerUserSearch::login("jdoe"))
                .await
                .unwrap()
        ),
        ["jdoe"]
    );
    assert!(
        db_first
            .authenticate("jdoe", &"jdoe-secret".into())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn frozen_server_times_out() {
    let s = Slapd::start();
    let ldap = backend(timeouts(&s));
    assert!(ldap.get("jdoe").await.unwrap().is_some());

    s.freeze();
    let t = Instant::now();
    let e = ldap.get("jdoe").await.unwrap_err();
    let took = t.elapsed();
    s.thaw();
    eprintln!("get with slapd frozen: {e} after {took:?}");
    assert!(
        matches!(&e, Error::Timeout { backend, millis } if backend == "LDAP" && *millis == OPERATION_MS),
        "{e}"
    );
    assert!(
        took >= Duration::from_millis(OPERATION_MS) && took < bound(),
        "{took:?}"
    );

    // Thawed: answers again.
    assert!(ldap.get("jdoe").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn server_down_before_first_use() {
    let s = Slapd::start();
    let ldap = backend(timeouts(&s));
    s.kill();
    let t = Instant::now();
    let e = ldap.get("jdoe").await.unwrap_err();
    assert!(
        matches!(&e, Error::Unavailable { backend, .. } if backend == "LDAP"),
        "{e}"
    );
    assert!(t.elapsed() < bound());
    let e = clientele_ldap::LdapBackend::connect(timeouts(&s))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
}
