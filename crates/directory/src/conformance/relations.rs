//! Customer ids, relations, grants, services, preferences, tokens, companies and the
//! merged record.

use super::*;
use crate::conformance::case;

/// `customer_ids`: secondary ids, then the primary, then relations, without duplicates.
pub async fn customer_ids_order(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "multi", "M", "C", "ACME").await;
    dir.relate_company("multi", "INITECH", true, BY)
        .await
        .expect("relate");
    dir.relate_company("multi", "GLOBEX", true, BY)
        .await
        .expect("relate");
    dir.relate_company("multi", "ACME", true, BY)
        .await
        .expect("relate to primary too");
    let ids: Vec<String> = dir
        .customer_ids("multi")
        .await
        .expect("ids")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX", "INITECH"]);
    match dir.customer_ids("ghost").await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("customer_ids of an unknown user must be NotFound, got {other:?}"),
    }
}
case!(customer_ids_order);

/// Relating is idempotent and can be undone; relating to an unknown company is refused.
pub async fn relations_idempotent(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "rel", "R", "L", "ACME").await;
    for _ in 0..3 {
        dir.relate_company("rel", "GLOBEX", true, BY)
            .await
            .expect("relate");
    }
    assert_eq!(
        dir.company_members("GLOBEX").await.expect("members"),
        ["rel"]
    );
    dir.relate_company("rel", "GLOBEX", false, BY)
        .await
        .expect("unrelate");
    dir.relate_company("rel", "GLOBEX", false, BY)
        .await
        .expect("unrelate twice");
    assert!(
        dir.company_members("GLOBEX")
            .await
            .expect("members")
            .is_empty()
    );
    assert!(dir.relate_company("rel", "NOPE", true, BY).await.is_err());
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert!(snap.user_companies.is_empty());
}
case!(relations_idempotent);

/// Setting a grant replaces the (user, group) set; `rw` stands for all (SPEC §6.2).
pub async fn grants_replace(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "granted", "G", "R", "ACME").await;
    dir.add_group("support", BY).await.expect("group");
    dir.grant_user("granted", "support", &["ro"], BY)
        .await
        .expect("grant");
    dir.grant_user("granted", "support", &["rw"], BY)
        .await
        .expect("grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    let perms: Vec<&str> = snap
        .user_grants
        .iter()
        .map(|g| g.permission.as_str())
        .collect();
    assert_eq!(perms, ["rw"], "no stale ro row");
    assert_field(
        dir.grant_user("granted", "support", &["move_into"], BY)
            .await,
        "permission_key",
    );
    dir.grant_user("granted", "support", &["ro", "rw"], BY)
        .await
        .expect("grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert_eq!(snap.user_grants.len(), 1);
    assert_eq!(snap.user_grants[0].permission, "rw");
    dir.grant_company("ACME", "support", "Ticket::CustomerID::Same", &["ro"], BY)
        .await
        .expect("company grant");
    dir.grant_company("ACME", "support", "Ticket::CustomerID::Same", &["rw"], BY)
        .await
        .expect("company grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert_eq!(snap.company_grants.len(), 1);
    dir.grant_user("granted", "support", &[], BY)
        .await
        .expect("revoke");
    assert!(
        dir.relation_snapshot()
            .await
            .expect("snapshot")
            .user_grants
            .is_empty()
    );
    assert!(
        dir.grant_user("granted", "no-such-group", &["ro"], BY)
            .await
            .is_err()
    );
    assert!(
        dir.grant_user("granted", "support", &["r o"], BY)
            .await
            .is_err()
    );
}
case!(grants_replace);

/// Default services apply only to users without services of their own; invalid ones never count.
pub async fn services_with_defaults(dir: &Directory) {
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
    let names =
        |v: Vec<clientele_backend::Service>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(dir.services_for("svc1").await.expect("services")),
        ["VPN"],
        "own services replace defaults"
    );
    assert_eq!(
        names(dir.services_for("svc2").await.expect("services")),
        ["Email"],
        "defaults as fallback"
    );
    dir.assign_service("svc1", "VPN", false, BY)
        .await
        .expect("removing an assignment reports success");
    assert_eq!(
        names(dir.services_for("svc1").await.expect("services")),
        ["Email"]
    );
}
case!(services_with_defaults);

/// Preferences round-trip; protected keys are refused, naming the key.
pub async fn preferences(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "prefs", "P", "R", "ACME").await;
    dir.set_preference("prefs", "UserLanguage", "de")
        .await
        .expect("set");
    dir.set_preference("PREFS", "UserTheme", "dark ☾")
        .await
        .expect("set via other case");
    dir.set_preference("prefs", "UserLanguage", "fr")
        .await
        .expect("replace");
    let p = dir.preferences("prefs").await.expect("get");
    assert_eq!(p.get("UserLanguage").map(String::as_str), Some("fr"));
    assert_eq!(p.get("UserTheme").map(String::as_str), Some("dark ☾"));
    dir.delete_preference("prefs", "UserTheme")
        .await
        .expect("delete");
    assert!(
        !dir.preferences("prefs")
            .await
            .expect("get")
            .contains_key("UserTheme")
    );
    for key in PROTECTED_PREFERENCE_KEYS {
        assert_field(dir.set_preference("prefs", key, "x").await, key);
    }
    assert!(
        dir.set_preference("ghost", "UserLanguage", "de")
            .await
            .is_err()
    );
    assert_eq!(
        dir.customer_user("prefs")
            .await
            .expect("get")
            .expect("present")
            .login,
        "prefs"
    );
}
case!(preferences);

/// One-time tokens work exactly once; a new token replaces the old.
pub async fn tokens_single_use(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "tok", "T", "K", "ACME").await;
    let t1 = dir.generate_token("tok").await.expect("token");
    assert!(t1.expose().len() >= 14);
    let t2 = dir.generate_token("tok").await.expect("token");
    assert_ne!(t1, t2);
    assert!(
        !dir.check_token("tok", t1.expose()).await.expect("check"),
        "replaced token is dead"
    );
    assert!(!dir.check_token("other", t2.expose()).await.expect("check"));
    assert!(dir.check_token("tok", t2.expose()).await.expect("check"));
    assert!(
        !dir.check_token("tok", t2.expose()).await.expect("check"),
        "single use"
    );
    assert!(!dir.check_token("tok", "").await.expect("check"));
    assert!(
        !dir.preferences("tok")
            .await
            .expect("prefs")
            .values()
            .any(|v| v == t2.expose()),
        "token not stored in plain text"
    );
}
case!(tokens_single_use);

/// Companies: add, get, search, update; duplicate id or name refused.
pub async fn companies(dir: &Directory) {
    seed_companies(dir).await;
    let c = dir
        .company("acme")
        .await
        .expect("get")
        .expect("case-insensitive company look-up");
    assert_eq!(c.name, "Acme Corporation");
    assert_exists(
        dir.add_company(NewCustomerCompany::new("ACME", "Other"), BY)
            .await,
        keys::COMPANY_ID,
    );
    assert_exists(
        dir.add_company(NewCustomerCompany::new("NEW", "Globex"), BY)
            .await,
        keys::COMPANY_NAME,
    );
    let found: Vec<String> = dir
        .search_companies(Some("glo"), true, None)
        .await
        .expect("search")
        .into_iter()
        .map(|c| c.customer_id.into_string())
        .collect();
    assert_eq!(found, ["GLOBEX"]);
    let u = dir
        .update_company(
            "GLOBEX",
            CustomerCompanyChanges::new()
                .set(keys::COMPANY_CITY, "Springfield")
                .validity(Validity::Invalid),
            BY,
        )
        .await
        .expect("update");
    assert_eq!(u.city.as_deref(), Some("Springfield"));
    assert!(
        dir.search_companies(Some("glo"), true, None)
            .await
            .expect("search")
            .is_empty()
    );
    assert_eq!(
        dir.search_companies(Some("glo"), false, None)
            .await
            .expect("search")
            .len(),
        1
    );
    assert_eq!(
        dir.search_companies(None, false, None)
            .await
            .expect("list")
            .len(),
        3
    );
    assert!(
        dir.update_company(
            "NOPE",
            CustomerCompanyChanges::new().set(keys::COMPANY_CITY, "X"),
            BY
        )
        .await
        .is_err()
    );
}
case!(companies);

/// The merged record has user, company and preference attributes (OTOBO `CustomerUserDataGet`).
pub async fn merged_record(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "merged", "Mer", "Ged", "ACME").await;
    dir.set_preference("merged", "UserLanguage", "de")
        .await
        .expect("pref");
    let r = dir
        .merged_record("merged")
        .await
        .expect("record")
        .expect("present");
    assert_eq!(
        r.get("UserLogin").map(|v| v.to_text()).as_deref(),
        Some("merged")
    );
    assert_eq!(
        r.get("CustomerCompanyName").map(|v| v.to_text()).as_deref(),
        Some("Acme Corporation")
    );
    assert_eq!(
        r.get("UserLanguage").map(|v| v.to_text()).as_deref(),
        Some("de")
    );
    assert_eq!(
        r.get("UserFullname").map(|v| v.to_text()).as_deref(),
        Some("Mer Ged")
    );
    assert_eq!(
        r.get("ValidID").map(|v| v.to_text()).as_deref(),
        Some("1"),
        "the user's validity wins"
    );
}
case!(merged_record);

/// With customer-group support off (OTOBO's default) every user has every type on every
/// valid group and nothing on an invalid one.
pub async fn permissions_without_group_support(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "perm", "P", "M", "ACME").await;
    dir.add_group("users", BY).await.expect("group");
    dir.add_group("billing", BY).await.expect("group");
    assert!(
        dir.has_permission("perm", "billing", "rw")
            .await
            .expect("check")
    );
    assert!(
        dir.has_permission("PERM", "users", "ro")
            .await
            .expect("check")
    );
    dir.set_group_validity("billing", Validity::Invalid)
        .await
        .expect("invalidate group");
    assert!(
        !dir.has_permission("perm", "billing", "ro")
            .await
            .expect("check"),
        "invalid groups grant nothing"
    );
    let eff = dir.effective_permissions("perm").await.expect("effective");
    assert_eq!(
        eff.iter().map(|e| e.group.as_str()).collect::<Vec<_>>(),
        ["users"]
    );
    assert!(
        dir.has_permission("ghost", "users", "ro").await.is_err(),
        "unknown user is an error"
    );
}
case!(permissions_without_group_support);
