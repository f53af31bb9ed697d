//! Bind authentication: search, then bind on a separate connection; one answer for unknown
//! users and wrong passwords; invalid users refused; the login gate and the data group.

use std::time::{Duration, Instant};

use clientele_backend::{BindAuthenticator, CustomerUserSource, Error, SourceSettings};
use clientele_ldap::{LdapConfig, MembershipStyle};
use clientele_model::Password;
use clientele_model::search::CustomerUserSearch;

use crate::common::*;

fn pw(p: &str) -> Password {
    Password::new(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn bind_checks_passwords() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    assert!(ldap.bind("jdoe", &pw("jdoe-secret")).await.unwrap());
    assert!(ldap.bind("JDOE", &pw("jdoe-secret")).await.unwrap());
    assert!(ldap.bind("jmüller", &pw("müller-secret")).await.unwrap());
    assert!(ldap.bind(r"x*(y)\z", &pw("special-secret")).await.unwrap());

    assert!(!ldap.bind("jdoe", &pw("wrong")).await.unwrap());
    assert!(!ldap.bind("jdoe", &pw("JDOE-SECRET")).await.unwrap());
    assert!(!ldap.bind("nobody", &pw("jdoe-secret")).await.unwrap());
    assert!(!ldap.bind("*", &pw("jdoe-secret")).await.unwrap());
    assert!(!ldap.bind("jdo*", &pw("jdoe-secret")).await.unwrap());
    // An empty password would be an unauthenticated bind, which slapd accepts.
    assert!(!ldap.bind("jdoe", &pw("")).await.unwrap());
    // The invalid user's password works in LDAP, but the valid filter keeps it out.
    assert!(!ldap.bind("locked", &pw("locked-secret")).await.unwrap());

    // Unknown user and wrong password take comparable time: both do one search and one bind.
    let mut unknown = Duration::ZERO;
    let mut wrong = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        assert!(!ldap.bind("nobody", &pw("x-secret")).await.unwrap());
        unknown += t.elapsed();
        let t = Instant::now();
        assert!(!ldap.bind("jdoe", &pw("x-secret")).await.unwrap());
        wrong += t.elapsed();
    }
    eprintln!("5 failed binds: unknown user {unknown:?}, wrong password {wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn directory_authentication() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let dir = ldap_directory(&ldap);
    assert_eq!(
        dir.authenticate("JDoe", &pw("jdoe-secret"))
            .await
            .unwrap()
            .as_str(),
        "jdoe"
    );
    for (login, password) in [
        ("jdoe", "wrong"),
        ("nobody", "whatever"),
        ("locked", "locked-secret"),
        ("jdoe", ""),
    ] {
        assert!(
            matches!(
                dir.authenticate(login, &pw(password)).await,
                Err(Error::AuthenticationFailed)
            ),
            "{login}"
        );
    }
    // Failed logins are counted in the preference store, as for any user.
    let prefs = dir.preferences("jdoe").await.unwrap();
    assert_eq!(prefs.get("UserLoginFailed").map(String::as_str), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn login_gate_by_group() {
    let s = Slapd::start();
    let gate = |group: &str, attr: &str, style: MembershipStyle| LdapConfig {
        auth_group_dn: Some(format!("cn={group},{GROUPS}")),
        access_attr: Some(attr.into()),
        user_attr: style,
        ..config(&s)
    };

    // groupOfNames, member DNs.
    let ldap = backend(gate("customers", "member", MembershipStyle::MemberDn));
    assert!(ldap.bind("jdoe", &pw("jdoe-secret")).await.unwrap());
    assert!(ldap.bind("jmüller", &pw("müller-secret")).await.unwrap());
    assert!(ldap.bind(r"x*(y)\z", &pw("special-secret")).await.unwrap());
    assert!(
        !ldap
            .bind("mmustermann", &pw("mmustermann-secret"))
            .await
            .unwrap()
    );
    let dir = ldap_directory(&ldap);
    assert!(dir.authenticate("jdoe", &pw("jdoe-secret")).await.is_ok());
    assert!(matches!(
        dir.authenticate("mmustermann", &pw("mmustermann-secret"))
            .await,
        Err(Error::AuthenticationFailed)
    ));
    // The gate is about logging in, not about existing.
    assert!(dir.customer_user("mmustermann").await.unwrap().is_some());

    // posixGroup, memberUid logins.
    let ldap = backend(gate(
        "customers-posix",
        "memberUid",
        MembershipStyle::MemberUid,
    ));
    assert!(ldap.bind("jdoe", &pw("jdoe-secret")).await.unwrap());
    assert!(ldap.bind("JDOE", &pw("jdoe-secret")).await.unwrap());
    assert!(!ldap.bind("jmüller", &pw("müller-secret")).await.unwrap());

    // groupOfUniqueNames, uniqueMember DNs.
    let ldap = backend(gate(
        "customers-unique",
        "uniqueMember",
        MembershipStyle::MemberDn,
    ));
    assert!(ldap.bind("asmith", &pw("asmith-secret")).await.unwrap());
    assert!(!ldap.bind("otsuka", &pw("otsuka-secret")).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn data_group_limits_who_is_a_customer_user() {
    let s = Slapd::start();
    let posix = backend(LdapConfig {
        group_dn: Some(format!("cn=customers-posix,{GROUPS}")),
        ..config(&s)
    });
    let dir = ldap_directory(&posix);
    assert_eq!(
        logins(&dir.search(&CustomerUserSearch::term("*")).await.unwrap()),
        ["asmith", "jdoe", "shared-login", "starman"]
    );
    assert!(posix.get("otsuka").await.unwrap().is_none());
    assert!(posix.get("JDOE").await.unwrap().is_some());
    assert!(!posix.bind("otsuka", &pw("otsuka-secret")).await.unwrap());

    let dn_style = backend(LdapConfig {
        group_dn: Some(format!("cn=customers,{GROUPS}")),
        group_member_attribute: "member".into(),
        group_member_style: MembershipStyle::MemberDn,
        ..config(&s)
    });
    let dir = ldap_directory(&dn_style);
    assert_eq!(
        logins(&dir.search(&CustomerUserSearch::term("*")).await.unwrap()),
        [
            "asmith",
            "fatima",
            "jdoe",
            "jmüller",
            "latin1",
            "otsuka",
            "shared-login",
            "starman",
            r"x*(y)\z"
        ]
    );
    assert!(dn_style.get("mmustermann").await.unwrap().is_none());
    assert_eq!(
        dn_style.customer_id_list(None, true).await.unwrap().len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn user_binds_never_rebind_the_service_connection() {
    let s = Slapd::start();
    // Only the reader itself may read cn=reader (slapd ACL "by self read"), so finding it
    // proves the service connection is bound as the reader.
    let whole_tree = |bound: bool| LdapConfig {
        base_dn: "dc=example,dc=org".into(),
        customer_key: "cn".into(),
        always_filter: None,
        valid_filter: None,
        bind_dn: bound.then(|| s.var("CLIENTELE_LDAP_BIND_DN")),
        bind_password: bound.then(|| pw(&s.var("CLIENTELE_LDAP_BIND_PW"))),
        settings: SourceSettings {
            name: "LDAP".into(),
            ..LdapConfig::default_settings()
        },
        ..config(&s)
    };
    let anonymous = backend(whole_tree(false));
    assert!(anonymous.get("reader").await.unwrap().is_none());

    let ldap = backend(whole_tree(true));
    assert!(ldap.get("reader").await.unwrap().is_some());
    assert!(ldap.bind("John Doe", &pw("jdoe-secret")).await.unwrap());
    assert!(!ldap.bind("Alice Smith", &pw("wrong")).await.unwrap());
    // Still the reader after user binds, wrong or right.
    assert!(ldap.get("reader").await.unwrap().is_some());
}

/// The data group's members are kept for `group_cache_ttl` seconds: a removal from the group
/// shows in look-ups once that time is over (at once with 0), while a bind always reads the
/// membership fresh, so a removed user cannot log in meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn group_membership_is_kept_for_lookups_and_read_fresh_for_binds() {
    let s = Slapd::start();
    let group = format!("cn=customers-posix,{GROUPS}");
    let kept = backend(LdapConfig {
        group_dn: Some(group.clone()),
        group_cache_ttl: 3_600,
        ..config(&s)
    });
    let uncached = backend(LdapConfig {
        group_dn: Some(group.clone()),
        group_cache_ttl: 0,
        ..config(&s)
    });
    assert!(kept.get("asmith").await.unwrap().is_some());
    assert!(uncached.get("asmith").await.unwrap().is_some());

    s.ldapadd(&format!(
        "dn: {group}\nchangetype: modify\ndelete: memberUid\nmemberUid: asmith\n"
    ));
    assert!(
        uncached.get("asmith").await.unwrap().is_none(),
        "with a TTL of 0 the group is read on every look-up"
    );
    assert!(
        kept.get("asmith").await.unwrap().is_some(),
        "within the TTL the kept members answer"
    );
    assert!(
        !kept.bind("asmith", &pw("asmith-secret")).await.unwrap(),
        "a bind reads the membership fresh"
    );
    // The fresh read is kept for the look-ups that follow.
    assert!(kept.get("asmith").await.unwrap().is_none());
}
