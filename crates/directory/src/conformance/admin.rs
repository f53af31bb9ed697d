//! The admin views from the other end of a relation (a company's users, a service's users,
//! preference search), and groups and services administered through the Directory.

use clientele_backend::CatalogChanges;
use clientele_model::catalog::{GROUP_FIELD, SERVICE_FIELD};

use super::*;
use crate::conformance::case;

/// A company's users: primary and related, each marked, a user that is both listed once,
/// invalid users included.
pub async fn company_users_from_the_company_end(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "prim", "P", "Rimary", "ACME").await;
    add(dir, "both", "B", "Oth", "ACME").await;
    add(dir, "rel", "R", "Elated", "GLOBEX").await;
    add(dir, "other", "O", "Ther", "GLOBEX").await;
    add(dir, "gone", "G", "One", "ACME").await;
    for login in ["both", "rel"] {
        dir.relate_company(login, "ACME", true, BY)
            .await
            .expect("relate");
    }
    dir.invalidate_customer_user("gone", BY)
        .await
        .expect("invalidate");
    let users = dir
        .users_of_company("ACME", None)
        .await
        .expect("users of ACME");
    let seen: Vec<(&str, bool, bool)> = users
        .iter()
        .map(|u| (u.login.as_str(), u.primary, u.related))
        .collect();
    assert_eq!(
        seen,
        [
            ("both", true, true),
            ("gone", true, false),
            ("prim", true, false),
            ("rel", false, true),
        ]
    );
    assert!(
        dir.users_of_company("INITECH", None)
            .await
            .expect("no users")
            .is_empty()
    );
}
case!(company_users_from_the_company_end);

/// A company is invalidated, never deleted; an unknown one is `NotFound`.
pub async fn company_invalidated(dir: &Directory) {
    seed_companies(dir).await;
    let c = dir
        .invalidate_company("GLOBEX", BY)
        .await
        .expect("invalidate");
    assert_eq!(c.validity, Validity::Invalid);
    let valid = dir
        .search_companies(None, true, None)
        .await
        .expect("search");
    assert!(valid.iter().all(|c| c.customer_id.as_str() != "GLOBEX"));
    assert!(dir.company("GLOBEX").await.expect("get").is_some(), "kept");
    let missing = dir.invalidate_company("NOPE", BY).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}
case!(company_invalidated);

/// A service's users (without the default pseudo-login, marked default instead), and a user's
/// own services without the default fallback.
pub async fn service_users_and_own_services(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "svc1", "S", "V", "ACME").await;
    add(dir, "svc2", "S", "V", "ACME").await;
    dir.add_service("Email", BY).await.expect("service");
    dir.add_service("VPN", BY).await.expect("service");
    dir.set_default_service("Email", true, BY)
        .await
        .expect("default");
    dir.assign_service("svc1", "VPN", true, BY)
        .await
        .expect("assign");
    dir.assign_service("svc2", "Email", true, BY)
        .await
        .expect("assign");
    let email = dir.service_users("Email").await.expect("users of Email");
    assert!(email.default);
    let logins: Vec<&str> = email.logins.iter().map(|l| l.as_str()).collect();
    assert_eq!(logins, ["svc2"]);
    let vpn = dir.service_users("VPN").await.expect("users of VPN");
    assert!(!vpn.default);
    assert_eq!(vpn.logins.len(), 1);
    let missing = dir.service_users("nope").await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    dir.assign_service("svc2", "Email", false, BY)
        .await
        .expect("remove");
    assert!(
        dir.own_services("svc2").await.expect("own").is_empty(),
        "no own services: no default fallback either"
    );
    assert_eq!(
        dir.services_for("svc2").await.expect("services").len(),
        1,
        "services_for still falls back"
    );
}
case!(service_users_and_own_services);

/// Services as `Parent::Child`: the parent must exist, bad names name the field, a rename
/// carries the descendants, comments and validity change in place.
pub async fn service_hierarchy_through_the_directory(dir: &Directory) {
    let orphan = dir.add_service("Email::Outbound", BY).await;
    assert!(
        matches!(&orphan, Err(Error::NotFound { key, .. }) if key == "Email"),
        "the missing parent is named: {orphan:?}"
    );
    for bad in ["Email::", "A::::B", "A:::B", " "] {
        match dir.add_service(bad, BY).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field(), SERVICE_FIELD, "{bad}"),
            other => panic!("{bad:?}: expected a validation error, got {other:?}"),
        }
    }
    dir.add_service("Email", BY).await.expect("parent");
    dir.add_service("Email::Outbound", BY).await.expect("child");
    let renamed = dir
        .update_service("Email", CatalogChanges::new().rename("Mail"), BY)
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Mail");
    let names: Vec<String> = dir
        .services()
        .await
        .expect("services")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Mail", "Mail::Outbound"]);
    let bad = dir
        .update_service("Mail", CatalogChanges::new().rename("Mail::::X"), BY)
        .await;
    assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");
    let commented = dir
        .update_service(
            "Mail::Outbound",
            CatalogChanges::new()
                .comment(Some("SMTP relays".into()))
                .validity(Validity::Invalid),
            BY,
        )
        .await
        .expect("comment and invalidate");
    assert_eq!(commented.comment.as_deref(), Some("SMTP relays"));
    assert_eq!(commented.validity, Validity::Invalid);
    let long = dir
        .update_service(
            "Mail",
            CatalogChanges::new().comment(Some("c".repeat(251))),
            BY,
        )
        .await;
    match long {
        Err(Error::Invalid(e)) => assert_eq!(e.field(), "comments"),
        other => panic!("a comment too long: {other:?}"),
    }
}
case!(service_hierarchy_through_the_directory);

/// A group renamed keeps its grants; invalidated, it grants nothing; a bad name names the field.
pub async fn groups_administered(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "grp1", "G", "R", "ACME").await;
    dir.add_group("billing", BY).await.expect("group");
    dir.change_user_permissions(
        "grp1",
        "billing",
        clientele_backend::GrantChange::Add,
        &["ro"],
        BY,
    )
    .await
    .expect("grant");
    let g = dir
        .update_group(
            "billing",
            CatalogChanges::new()
                .rename("invoicing")
                .comment(Some("Invoices".into())),
            BY,
        )
        .await
        .expect("rename");
    assert_eq!(g.comment.as_deref(), Some("Invoices"));
    let snapshot = dir.relation_snapshot().await.expect("snapshot");
    assert!(
        snapshot
            .user_grants
            .iter()
            .any(|grant| grant.login == "grp1" && grant.group_id == g.id),
        "the grant follows the group: {snapshot:?}"
    );
    assert!(
        dir.has_permission("grp1", "invoicing", "ro")
            .await
            .expect("check")
    );
    assert!(matches!(
        dir.has_permission("grp1", "billing", "ro").await,
        Err(Error::NotFound { .. })
    ));
    dir.update_group(
        "invoicing",
        CatalogChanges::new().validity(Validity::Invalid),
        BY,
    )
    .await
    .expect("invalidate");
    assert!(
        !dir.has_permission("grp1", "invoicing", "ro")
            .await
            .expect("check"),
        "an invalid group grants nothing"
    );
    match dir
        .update_group("invoicing", CatalogChanges::new().rename(""), BY)
        .await
    {
        Err(Error::Invalid(e)) => assert_eq!(e.field(), GROUP_FIELD),
        other => panic!("an empty name: {other:?}"),
    }
}
case!(groups_administered);

/// Which users have a preference, by exact value or at all; the token can't be searched.
pub async fn preference_search(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "pref1", "P", "One", "ACME").await;
    add(dir, "pref2", "P", "Two", "ACME").await;
    dir.set_preference("pref1", "UserLanguage", "de")
        .await
        .expect("set");
    dir.set_preference("pref2", "UserLanguage", "d%")
        .await
        .expect("set");
    let found = dir
        .users_with_preference("UserLanguage", Some("de"))
        .await
        .expect("search");
    let logins: Vec<&str> = found.iter().map(|m| m.login.as_str()).collect();
    assert_eq!(logins, ["pref1"]);
    let literal = dir
        .users_with_preference("UserLanguage", Some("d%"))
        .await
        .expect("search");
    assert_eq!(literal.len(), 1, "% is literal: {literal:?}");
    assert_eq!(literal[0].login.as_str(), "pref2");
    let any = dir
        .users_with_preference("UserLanguage", None)
        .await
        .expect("search");
    assert_eq!(any.len(), 2);
    assert!(matches!(
        dir.users_with_preference(crate::PREF_TOKEN, None).await,
        Err(Error::Invalid(_))
    ));
}
case!(preference_search);
