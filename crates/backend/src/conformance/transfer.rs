//! What an export walks and an import keeps: pages of every user and every preference, every
//! service assignment, and the audit values a new record carries.

use clientele_model::{Audit, Login, Validity};

use super::{BY, Case, Stores, company, user};
use crate::traits::*;

/// A login, for a cursor.
fn cursor(l: &str) -> Login {
    Login::new(l).unwrap_or_else(|e| panic!("login {l}: {e}"))
}

/// Every user, invalid ones included, in code-point order of the login, a page at a time.
pub async fn store_users_after_pages(s: Stores) {
    for l in ["carl", "Bert", "anna", "dora", "eve"] {
        let mut u = user(&s, l, "P", "ACME");
        if l == "dora" {
            u.validity = Validity::Invalid;
        }
        s.writer.add(&u, None, &BY).await.expect("add");
    }
    let mut seen = Vec::new();
    let mut after: Option<Login> = None;
    let mut pages = 0;
    loop {
        let page = s
            .users
            .users_after(after.as_ref(), 2)
            .await
            .expect("users_after");
        assert!(page.len() <= 2, "a page holds at most `limit` users");
        if page.is_empty() {
            break;
        }
        pages += 1;
        after = page.last().map(|u| u.login.clone());
        seen.extend(page.into_iter().map(|u| u.login.into_string()));
        assert!(pages <= 3, "the walk ends: {seen:?}");
    }
    assert_eq!(
        seen,
        ["Bert", "anna", "carl", "dora", "eve"],
        "each user once, sorted by login, invalid ones included"
    );
    let tail = s
        .users
        .users_after(Some(&cursor("carl")), 10)
        .await
        .expect("users_after");
    let tail: Vec<&str> = tail.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(tail, ["dora", "eve"], "a page starts after the cursor");
    assert!(
        s.users
            .users_after(None, 0)
            .await
            .expect("users_after")
            .is_empty()
    );
}
case!(store_users_after_pages);

/// The audit values of the record added are stored as given; missing ones are stamped.
pub async fn store_add_keeps_recorded_audit(s: Stores) {
    let recorded = Audit {
        created_at: Some(1_000_000_000),
        created_by: Some("3".into()),
        changed_at: Some(1_100_000_000),
        changed_by: Some("4".into()),
    };
    let mut kept = user(&s, "kept", "K", "ACME");
    kept.audit = recorded.clone();
    s.writer.add(&kept, None, &BY).await.expect("add");
    let stored = s.users.get("kept").await.unwrap().expect("stored");
    assert_eq!(
        stored.audit, recorded,
        "an added user keeps its audit values"
    );

    let fresh = user(&s, "fresh", "F", "ACME");
    s.writer.add(&fresh, None, &BY).await.expect("add");
    let stored = s.users.get("fresh").await.unwrap().expect("stored");
    assert!(
        stored.audit.created_at.is_some_and(|t| t > 1_600_000_000),
        "a record without audit values is stamped now: {:?}",
        stored.audit
    );

    if let Some(bulk) = &s.bulk {
        let mut row = user(&s, "bulk", "B", "ACME");
        row.audit = recorded.clone();
        let report = bulk
            .add_many(&[ImportRow::new(row)], &BY)
            .await
            .expect("bulk");
        assert_eq!(report.inserted, 1);
        let stored = s.users.get("bulk").await.unwrap().expect("stored");
        assert_eq!(
            stored.audit, recorded,
            "a bulk-written user keeps its audit values"
        );
    }

    let mut acme = company(&s, "ACME", "Acme Corp");
    acme.audit = recorded.clone();
    s.companies.add_company(&acme, &BY).await.expect("company");
    let stored = s.companies.company("ACME").await.unwrap().expect("stored");
    assert_eq!(
        stored.audit, recorded,
        "an added company keeps its audit values"
    );
}
case!(store_add_keeps_recorded_audit);

/// Every assignment, invalid services and default services included, sorted.
pub async fn store_service_assignments(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    let hw = s
        .relations
        .add_service("hardware", Validity::Valid, &BY)
        .await
        .expect("service");
    let old = s
        .relations
        .add_service("legacy", Validity::Invalid, &BY)
        .await
        .expect("service");
    for (login, id) in [
        ("jdoe", old.id),
        ("jdoe", hw.id),
        (DEFAULT_SERVICES_LOGIN, hw.id),
    ] {
        s.relations
            .set_user_service(login, id, true, &BY)
            .await
            .expect("assign");
    }
    let mut expected = vec![
        (DEFAULT_SERVICES_LOGIN.to_owned(), hw.id),
        ("jdoe".to_owned(), hw.id),
        ("jdoe".to_owned(), old.id),
    ];
    expected.sort();
    assert_eq!(
        s.relations
            .service_assignments()
            .await
            .expect("assignments"),
        expected
    );
}
case!(store_service_assignments);

/// Every preference, a page at a time, sorted by login and key.
pub async fn store_preferences_after_pages(s: Stores) {
    for (login, key, value) in [
        ("bob", "b", "2"),
        ("ann", "z", "1"),
        ("bob", "a", "3"),
        ("Carl", "k", ""),
        ("ann", "a", "4"),
    ] {
        s.preferences
            .set_preference(login, key, value)
            .await
            .expect("set");
    }
    let mut seen = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = s
            .preferences
            .preferences_after(after.as_ref().map(|(l, k)| (l.as_str(), k.as_str())), 2)
            .await
            .expect("preferences_after");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.0.clone(), last.1.clone()));
        seen.extend(page);
        assert!(seen.len() <= 5, "the walk ends: {seen:?}");
    }
    let seen: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(l, k, v)| (l.as_str(), k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Carl", "k", ""),
            ("ann", "a", "4"),
            ("ann", "z", "1"),
            ("bob", "a", "3"),
            ("bob", "b", "2"),
        ]
    );
}
case!(store_preferences_after_pages);
