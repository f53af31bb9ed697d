//! The read side through a Directory: look-ups, every search form, validity, limits, customer
//! ids, detail searches, read-only refusal and preferences. (Every function of
//! `clientele_directory::conformance` seeds its data by adding users through the Directory, which
//! a read-only source refuses; these are the same read-side behaviours written out against the
//! seeded directory.)

use clientele_backend::{CustomerUserSource, Error};
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Direction, FieldCondition, Pattern, SelectionCondition,
};
use clientele_model::{CustomerUserChanges, NewCustomerUser, Password, Validity, keys};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn lookup_by_login() {
    let s = Slapd::start();
    let ldap = backend(config(&s));

    let u = ldap.get("jdoe").await.unwrap().expect("jdoe");
    assert_eq!(u.login.as_str(), "jdoe");
    assert_eq!(u.first_name, "John");
    assert_eq!(u.last_name, "Doe");
    assert_eq!(u.email.as_str(), "jdoe@acme.example");
    assert_eq!(u.customer_id.as_str(), "acme");
    assert_eq!(u.secondary_customer_ids.len(), 1);
    assert_eq!(u.secondary_customer_ids[0].as_str(), "globex");
    assert_eq!(u.phone.as_deref(), Some("+49 30 1234567"));
    assert_eq!(
        u.street.as_deref(),
        Some("Main Street 1$Springfield, IL 62701$USA")
    );
    assert_eq!(u.comment.as_deref(), Some("ordinary user"));
    assert_eq!(u.validity, Validity::Valid);

    // Case-insensitive, like the DB backend's default; the stored login comes back.
    assert_eq!(
        ldap.get("JDOE").await.unwrap().unwrap().login.as_str(),
        "jdoe"
    );
    let j = ldap
        .get("JMÜLLER")
        .await
        .unwrap()
        .expect("unicode login, other case");
    assert_eq!(j.login.as_str(), "jmüller");
    assert_eq!(j.first_name, "Jürgen");
    assert_eq!(
        ldap.get("otsuka").await.unwrap().unwrap().last_name,
        "Ōtsuka"
    );

    // Exact: wildcards and filter specials in a login are literal.
    assert!(ldap.get(r"x*(y)\z").await.unwrap().is_some());
    assert!(ldap.get("x*").await.unwrap().is_none());
    assert!(ldap.get("*").await.unwrap().is_none());
    assert!(ldap.get("jdo").await.unwrap().is_none());
    // LDAP's matching rule ignores the leading space; the login rule does not.
    assert!(ldap.get(" jdoe").await.unwrap().is_none());
    assert!(ldap.get("nobody").await.unwrap().is_none());
    assert!(ldap.get("").await.unwrap().is_none());

    // Multi-valued mail: the first value is the address.
    assert_eq!(
        ldap.get("asmith").await.unwrap().unwrap().email.as_str(),
        "alice.smith@acme.example"
    );
    // The invalid user is found, marked invalid.
    assert_eq!(
        ldap.get("locked").await.unwrap().unwrap().validity,
        Validity::Invalid
    );

    let dir = ldap_directory(&ldap);
    let (u, source) = dir
        .customer_user_with_source("JDoe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.login.as_str(), source.as_str()), ("jdoe", "LDAP"));
    assert_eq!(
        dir.customer_name("jdoe").await.unwrap().as_deref(),
        Some("John Doe")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn search_forms() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let find = |q: CustomerUserSearch| {
        let dir = &dir;
        async move { logins(&dir.search(&q).await.unwrap()) }
    };

    // Term: prefix '' and suffix '*' (OTOBO's LDAP example) over uid, cn, mail.
    assert_eq!(find(CustomerUserSearch::term("alice")).await, ["asmith"]);
    assert_eq!(find(CustomerUserSearch::term("*smith*")).await, ["asmith"]);
    assert_eq!(find(CustomerUserSearch::term("Jürg")).await, ["jmüller"]);
    assert_eq!(find(CustomerUserSearch::term("*カスミ")).await, ["otsuka"]);
    assert_eq!(find(CustomerUserSearch::term("فاطمة")).await, ["fatima"]);
    assert!(find(CustomerUserSearch::term("smi")).await.is_empty());

    // Email: exact, case-insensitive, any value of the postmaster field.
    assert_eq!(
        find(CustomerUserSearch::email("ALICE.SMITH@acme.example")).await,
        ["asmith"]
    );
    assert_eq!(
        find(CustomerUserSearch::email("alice@home.example")).await,
        ["asmith"]
    );
    assert!(find(CustomerUserSearch::email("alice")).await.is_empty());

    // Login: exact, `*` explicit.
    assert_eq!(find(CustomerUserSearch::login("jdo*")).await, ["jdoe"]);
    assert_eq!(find(CustomerUserSearch::login("JDOE")).await, ["jdoe"]);
    assert!(find(CustomerUserSearch::login("jdo")).await.is_empty());

    // Customer id with wildcards, and raw (exact, `*` literal).
    let acme = ["asmith", "jdoe", "latin1"];
    assert_eq!(find(CustomerUserSearch::customer_id("acm*")).await, acme);
    assert_eq!(find(CustomerUserSearch::customer_id("ACME")).await, acme);
    assert_eq!(
        find(CustomerUserSearch::customer_id_raw("acme")).await,
        acme
    );
    assert!(
        find(CustomerUserSearch::customer_id_raw("acm*"))
            .await
            .is_empty()
    );
    // Only the primary id counts (jdoe's secondary globex does not).
    assert_eq!(
        find(CustomerUserSearch::customer_id("globex")).await,
        ["jmüller", "mmustermann"]
    );

    // Hits carry the source and OTOBO's display string from the list fields (cn, mail).
    let hits = dir
        .search(&CustomerUserSearch::login("jdoe"))
        .await
        .unwrap();
    assert_eq!(hits[0].source, "LDAP");
    assert_eq!(hits[0].display, "jdoe@acme.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn wildcards_and_boolean_terms() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let term = |t: &str| {
        let dir = &dir;
        let q = CustomerUserSearch::term(t);
        async move { logins(&dir.search(&q).await.unwrap()) }
    };
    assert_eq!(term("j*").await, ["jdoe", "jmüller"]);
    assert_eq!(term("jdoe+john").await, ["jdoe"]);
    assert!(term("jdoe+!john").await.is_empty());
    assert_eq!(term("jdoe+!nobody").await, ["jdoe"]);
    assert_eq!(term("jdoe OR asmith").await, ["asmith", "jdoe"]);
    assert_eq!(term("j*+!jdoe").await, ["jmüller"]);
    assert_eq!(term("\"John Doe\"").await, ["jdoe"]);
    assert_eq!(term("john   doe").await, ["jdoe"]);
    assert_eq!(term("*ü*").await, ["jmüller"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn valid_only_hides_invalid_users() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    assert!(
        dir.search(&CustomerUserSearch::term("locked"))
            .await
            .unwrap()
            .is_empty()
    );
    let all = dir
        .search(&CustomerUserSearch::term("locked").include_invalid())
        .await
        .unwrap();
    assert_eq!(logins(&all), ["locked"]);
    assert_eq!(all[0].user.validity, Validity::Invalid);

    let acme = dir
        .search(&CustomerUserSearch::customer_id("acme").include_invalid())
        .await
        .unwrap();
    assert_eq!(logins(&acme), ["asmith", "jdoe", "latin1", "locked"]);
    for hit in &acme {
        assert_eq!(hit.user.validity.is_valid(), hit.user.login != "locked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn limits_are_honoured() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let ten = dir
        .search(&CustomerUserSearch::term("bulk").limit(10))
        .await
        .unwrap();
    assert_eq!(ten.len(), 10);
    assert!(
        ten.iter()
            .all(|h| h.user.login.as_str().starts_with("bulk"))
    );
    let l = logins(&ten);
    let mut sorted = l.clone();
    sorted.sort();
    assert_eq!(l, sorted, "sorted by login");
    // The source's default limit (OTOBO CustomerUserSearchListLimit 250).
    assert_eq!(
        dir.search(&CustomerUserSearch::term("bulk"))
            .await
            .unwrap()
            .len(),
        250
    );
    assert!(
        dir.search(&CustomerUserSearch::term("bulk").limit(0))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn customer_ids_in_otobo_order() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let ids = |login: &'static str| {
        let dir = &dir;
        async move {
            dir.customer_ids(login)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.into_string())
                .collect::<Vec<_>>()
        }
    };
    // Secondary ids (in the directory's order), then the primary.
    assert_eq!(ids("mmustermann").await, ["acme", "initech", "globex"]);
    assert_eq!(ids("jdoe").await, ["globex", "acme"]);
    assert_eq!(ids("otsuka").await, ["initech"]);
    assert!(matches!(
        dir.customer_ids("nobody").await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn writes_are_refused_as_read_only() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let new = || NewCustomerUser::new("newbie", "New", "Bie", "newbie@acme.example", "acme");
    let read_only = |r: Result<_, Error>| matches!(r, Err(Error::ReadOnly { ref backend }) if backend == "LDAP");
    assert!(read_only(
        dir.add_customer_user(new(), clientele_model::Actor::System)
            .await
            .map(|_| ())
    ));
    assert!(read_only(
        dir.add_customer_user_to("LDAP", new(), clientele_model::Actor::System)
            .await
            .map(|_| ())
    ));
    assert!(read_only(
        dir.update_customer_user(
            "jdoe",
            CustomerUserChanges::new().set(keys::FIRST_NAME, "Johnny"),
            clientele_model::Actor::System
        )
        .await
        .map(|_| ())
    ));
    assert!(read_only(
        dir.set_password("jdoe", &Password::new("new-secret")).await
    ));
    assert!(read_only(
        dir.invalidate_customer_user("jdoe", clientele_model::Actor::System)
            .await
            .map(|_| ())
    ));
    // Nothing changed.
    assert_eq!(
        dir.customer_user("jdoe").await.unwrap().unwrap().first_name,
        "John"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn preferences_of_ldap_users_live_in_the_preference_store() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    dir.set_preference("JDOE", "UserLanguage", "de")
        .await
        .unwrap();
    let prefs = dir.preferences("jdoe").await.unwrap();
    assert_eq!(prefs.get("UserLanguage").map(String::as_str), Some("de"));
    assert!(matches!(
        dir.set_preference("jdoe", "UserEmail", "x@y.example").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        dir.set_preference("nobody", "UserLanguage", "de").await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn detail_search_count_and_customer_id_list() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let strs =
        |v: Vec<clientele_model::Login>| v.into_iter().map(|l| l.into_string()).collect::<Vec<_>>();

    let by_last_name = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: keys::LAST_NAME.into(),
            pattern: Pattern::from_wildcards("M*"),
        }],
        order_by: vec![(keys::LAST_NAME.into(), Direction::Ascending)],
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(
        strs(dir.search_detail(&by_last_name).await.unwrap()),
        ["mmustermann", "jmüller"]
    );
    assert_eq!(dir.count_detail(&by_last_name).await.unwrap(), 2);

    let initech = DetailSearch {
        customer_ids: vec!["initech".into()],
        order_by: vec![(keys::LOGIN.into(), Direction::Ascending)],
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(
        strs(dir.search_detail(&initech).await.unwrap()),
        ["fatima", "otsuka", "starman", r"x*(y)\z"]
    );

    let invalid_only = DetailSearch {
        selections: vec![SelectionCondition {
            attribute: keys::VALID.into(),
            values: vec!["2".into()],
        }],
        ..DetailSearch::default()
    };
    assert_eq!(
        strs(dir.search_detail(&invalid_only).await.unwrap()),
        ["locked"]
    );

    // Exclusion list; OTOBO's default order is the login, descending.
    let acme_but_jdoe = DetailSearch {
        customer_ids: vec!["acme".into()],
        exclude_logins: vec!["JDOE".into()],
        ..DetailSearch::default()
    };
    assert_eq!(
        strs(dir.search_detail(&acme_but_jdoe).await.unwrap()),
        ["locked", "latin1", "asmith"]
    );

    // Counting everything needs paged results (1 211 entries, size limit 500).
    let everyone_valid = DetailSearch {
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(dir.count_detail(&everyone_valid).await.unwrap(), 1210);
    assert_eq!(
        dir.count_detail(&DetailSearch::default()).await.unwrap(),
        1211
    );
    let limited = DetailSearch {
        limit: Some(3),
        order_by: vec![(keys::LOGIN.into(), Direction::Ascending)],
        ..DetailSearch::default()
    };
    assert_eq!(
        strs(dir.search_detail(&limited).await.unwrap()),
        ["asmith", "bulk0001", "bulk0002"]
    );

    let ids: Vec<String> = dir
        .customer_id_list(None, true)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    let mut expected = vec!["acme".to_owned()];
    expected.extend((1..=12).map(|i| format!("bulk-{i:02}")));
    expected.extend(["globex", "initech", "ldap-customer"].map(String::from));
    assert_eq!(ids, expected);
    let glo: Vec<String> = dir
        .customer_id_list(Some("glo"), true)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(glo, ["globex"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn case_sensitive_is_applied_client_side() {
    let s = Slapd::start();
    let mut cfg = config(&s);
    cfg.settings.case_sensitive = true;
    let ldap = backend(cfg);
    assert!(ldap.get("JDOE").await.unwrap().is_none());
    assert!(ldap.get("jdoe").await.unwrap().is_some());
    let dir = ldap_directory(&ldap);
    let find = |q: CustomerUserSearch| {
        let dir = &dir;
        async move { logins(&dir.search(&q).await.unwrap()) }
    };
    assert!(find(CustomerUserSearch::term("JOHN")).await.is_empty());
    assert_eq!(find(CustomerUserSearch::term("John")).await, ["jdoe"]);
    assert!(
        find(CustomerUserSearch::email("JDOE@acme.example"))
            .await
            .is_empty()
    );
    assert_eq!(
        find(CustomerUserSearch::email("jdoe@acme.example")).await,
        ["jdoe"]
    );
    assert!(find(CustomerUserSearch::login("JD*")).await.is_empty());
    assert_eq!(find(CustomerUserSearch::login("jd*")).await, ["jdoe"]);
}
