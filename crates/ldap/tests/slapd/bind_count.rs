//! A login owned by a DB source in front of LDAP never reaches LDAP as a bind, counted by the
//! server itself: back-monitor's bind counter (scripts/slapd.sh enables it), not anything the
//! backend reports about itself.

use clientele_backend::Error;
use clientele_model::Password;
use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};

use crate::common::*;

/// slapd's count of bind operations begun, read on one connection bound as the rootdn once,
/// so reading it adds no bind of its own. A bind is counted when slapd starts on it, before
/// it answers, so a bind the client has an answer for is always counted already.
struct BindCounter {
    ldap: Ldap,
}

impl BindCounter {
    async fn connect(s: &Slapd) -> BindCounter {
        let (conn, mut ldap) = LdapConnAsync::new(&s.url())
            .await
            .expect("connect to slapd");
        ldap3::drive!(conn);
        ldap.simple_bind(
            &s.var("CLIENTELE_LDAP_ADMIN_DN"),
            &s.var("CLIENTELE_LDAP_ADMIN_PW"),
        )
        .await
        .and_then(|r| r.success())
        .expect("bind as the rootdn");
        BindCounter { ldap }
    }

    async fn binds(&mut self) -> u64 {
        let (entries, _) = self
            .ldap
            .search(
                "cn=Bind,cn=Operations,cn=Monitor",
                Scope::Base,
                "(objectClass=*)",
                vec!["monitorOpInitiated"],
            )
            .await
            .and_then(|r| r.success())
            .expect("read the bind counter of cn=Monitor");
        let entry = SearchEntry::construct(entries.into_iter().next().expect("the Bind entry"));
        entry.attrs["monitorOpInitiated"][0]
            .parse()
            .expect("a number")
    }
}

async fn fails(dir: &clientele_directory::Directory, login: &str, password: &str) {
    let r = dir.authenticate(login, &Password::new(password)).await;
    assert!(
        matches!(r, Err(Error::AuthenticationFailed)),
        "{login} / {password:?}: {r:?}"
    );
}

async fn succeeds(dir: &clientele_directory::Directory, login: &str, password: &str) {
    let r = dir.authenticate(login, &Password::new(password)).await;
    assert!(r.is_ok(), "{login} / {password:?}: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn a_db_users_login_sends_no_bind_to_ldap() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let db = db().await;
    let dir = chained(&db, &ldap, false);
    let mut counter = BindCounter::connect(&s).await;

    // The LDAP source's service connection binds as the reader account when it is first
    // used; open it before counting. Later look-ups in LDAP are searches on it, not binds.
    assert!(dir.customer_user("jdoe").await.unwrap().is_some());
    let before = counter.binds().await;

    // DB users, right and wrong passwords, any case of the login; `shared-login` is in LDAP
    // too, with a password of its own there, but the DB owns it here.
    succeeds(&dir, "dbuser", "dbuser-secret").await;
    succeeds(&dir, "DBUSER", "dbuser-secret").await;
    fails(&dir, "dbuser", "wrong-secret").await;
    fails(&dir, "dbuser", "").await;
    succeeds(&dir, "dbacme", "dbacme-secret").await;
    succeeds(&dir, "shared-login", "db-shared-secret").await;
    fails(&dir, "shared-login", "shared-login-secret").await;
    fails(&dir, "Shared-Login", "wrong-secret").await;
    assert_eq!(
        counter.binds().await,
        before,
        "logins of DB users must not send a bind to LDAP"
    );

    // The control: an LDAP user's login is a bind on the server, right password or wrong.
    succeeds(&dir, "jdoe", "jdoe-secret").await;
    let after_right = counter.binds().await;
    assert!(
        after_right > before,
        "an LDAP user's login binds ({before} → {after_right})"
    );
    fails(&dir, "asmith", "wrong-secret").await;
    let after_wrong = counter.binds().await;
    assert!(
        after_wrong > after_right,
        "a wrong password for an LDAP user is a bind too ({after_right} → {after_wrong})"
    );
}
