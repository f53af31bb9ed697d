//! Effective permissions through the Directory with customer-group support on: grants,
//! company grants through every customer id, always-groups, and immediate invalidation on
//! relation and grant changes (SPEC §6.3).

use std::sync::Arc;

use clientele_backend::{Entity, InMemoryBackend};
use clientele_directory::{Directory, DirectoryConfig};
use clientele_model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser, keys};
use clientele_permissions::{GroupId, PermissionConfig, PermissionTypes, Ticket};

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";

async fn directory() -> Directory {
    let config = DirectoryConfig {
        permissions: PermissionConfig {
            customer_group_support: true,
            other_customers_context: true,
            permission_types: PermissionTypes::new(["ro", "move_into", "rw"]).unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config).unwrap();
    for (id, name) in [("ACME", "Acme"), ("GLOBEX", "Globex")] {
        dir.add_company(NewCustomerCompany::new(id, name), "t")
            .await
            .unwrap();
    }
    for g in ["users", "hardware", "billing", "sales"] {
        dir.add_group(g, "t").await.unwrap();
    }
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "A", "anna@acme-corp.test", "ACME"),
        "t",
    )
    .await
    .unwrap();
    dir
}

#[tokio::test]
async fn direct_company_and_always_groups() {
    let dir = directory().await;
    dir.grant_user("anna", "hardware", &["ro"], "t")
        .await
        .unwrap();
    dir.grant_company("ACME", "billing", SAME, &["rw"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("anna", "hardware", "ro").await.unwrap());
    assert!(!dir.has_permission("anna", "hardware", "rw").await.unwrap());
    assert!(
        dir.has_permission("anna", "billing", "ro").await.unwrap(),
        "rw implies ro"
    );
    assert!(
        dir.has_permission("anna", "users", "rw").await.unwrap(),
        "always-group"
    );
    assert!(!dir.has_permission("anna", "sales", "ro").await.unwrap());
    let eff = dir.effective_permissions("anna").await.unwrap();
    let hw = eff.iter().find(|e| e.group == "hardware").unwrap();
    assert_eq!(hw.effective, ["ro"]);
    assert_eq!(hw.direct, ["ro"]);
    let billing = eff.iter().find(|e| e.group == "billing").unwrap();
    assert_eq!(
        billing.effective,
        ["ro", "move_into", "rw"],
        "rw implies every configured type"
    );
    assert!(billing.direct.is_empty());
}

#[tokio::test]
async fn changes_are_visible_immediately() {
    let dir = directory().await;
    assert!(!dir.has_permission("anna", "sales", "ro").await.unwrap());
    dir.grant_company("GLOBEX", "sales", SAME, &["ro"], "t")
        .await
        .unwrap();
    assert!(
        !dir.has_permission("anna", "sales", "ro").await.unwrap(),
        "not yet related to GLOBEX"
    );
    dir.relate_company("anna", "GLOBEX", true, "t")
        .await
        .unwrap();
    assert!(
        dir.has_permission("anna", "sales", "ro").await.unwrap(),
        "relation change seen at once"
    );
    dir.relate_company("anna", "GLOBEX", false, "t")
        .await
        .unwrap();
    assert!(!dir.has_permission("anna", "sales", "ro").await.unwrap());
    dir.update_customer_user(
        "anna",
        CustomerUserChanges::new().set(keys::CUSTOMER_ID, "GLOBEX"),
        "t",
    )
    .await
    .unwrap();
    assert!(
        dir.has_permission("anna", "sales", "ro").await.unwrap(),
        "primary company change seen at once"
    );
    dir.grant_company("GLOBEX", "sales", SAME, &[], "t")
        .await
        .unwrap();
    assert!(
        !dir.has_permission("anna", "sales", "ro").await.unwrap(),
        "revocation seen at once"
    );
    dir.grant_user("anna", "hardware", &["move_into"], "t")
        .await
        .unwrap();
    assert!(
        !dir.has_permission("anna", "hardware", "ro").await.unwrap(),
        "move_into implies nothing"
    );
    dir.set_group_validity("hardware", clientele_model::Validity::Invalid)
        .await
        .unwrap();
    assert!(
        !dir.has_permission("anna", "hardware", "move_into")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn rename_keeps_grants() {
    let dir = directory().await;
    dir.grant_user("anna", "hardware", &["rw"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("anna", "hardware", "rw").await.unwrap());
    dir.update_customer_user(
        "anna",
        CustomerUserChanges::new().set(keys::LOGIN, "anna.b"),
        "t",
    )
    .await
    .unwrap();
    assert!(
        dir.has_permission("anna.b", "hardware", "rw")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn ticket_access_and_other_customers() {
    let dir = directory().await;
    let hardware = dir.group("hardware").await.unwrap();
    dir.grant_user("anna", "hardware", &["ro"], "t")
        .await
        .unwrap();
    let own_company = Ticket {
        customer_user: Some("bob"),
        customer_id: Some("ACME"),
        queue_group: hardware.id,
    };
    let other_company = Ticket {
        customer_user: Some("carl"),
        customer_id: Some("GLOBEX"),
        queue_group: hardware.id,
    };
    assert!(
        dir.can_access_ticket("anna", &own_company, "ro")
            .await
            .unwrap()
    );
    assert!(
        !dir.can_access_ticket("anna", &other_company, "ro")
            .await
            .unwrap()
    );
    dir.grant_company("ACME", "hardware", OTHER, &["ro"], "t")
        .await
        .unwrap();
    let visible = dir.visible_companies("anna").await.unwrap();
    assert!(
        visible.contains(&"ACME".to_string()),
        "own company: {visible:?}"
    );
    assert!(
        dir.grant_user("anna", "hardware", &["priority"], "t")
            .await
            .is_err(),
        "unconfigured type refused"
    );
}

/// Regression: an unknown group answered `Ok(false)`, and an unknown permission type came back
/// as a missing *group*. Both are now `NotFound` naming the value and what it is.
#[tokio::test]
async fn unknown_groups_and_types_are_typed_errors() {
    let dir = directory().await;
    let not_found = |r: clientele_backend::Result<bool>| match r {
        Err(clientele_backend::Error::NotFound { entity, key }) => (entity, key),
        other => panic!("expected NotFound, got {other:?}"),
    };
    assert_eq!(
        not_found(dir.has_permission("anna", "no-such-group", "ro").await),
        (Entity::Group, "no-such-group".to_owned())
    );
    assert_eq!(
        not_found(dir.has_permission("anna", "hardware", "create").await),
        (Entity::PermissionType, "create".to_owned())
    );
    let ticket = Ticket {
        queue_group: GroupId(1),
        customer_user: Some("anna"),
        customer_id: Some("ACME"),
    };
    assert_eq!(
        not_found(dir.can_access_ticket("anna", &ticket, "create").await),
        (Entity::PermissionType, "create".to_owned())
    );
    // A known but invalid group is no error: it grants nothing.
    dir.set_group_validity("sales", clientele_model::Validity::Invalid)
        .await
        .unwrap();
    assert!(!dir.has_permission("anna", "sales", "ro").await.unwrap());
}

/// A stored grant whose type or context the configuration lacks loads as `Stored::Unknown`:
/// reported by `unknown_grants`, granting nothing, never making a check fail or vanishing.
#[tokio::test]
async fn unconfigured_types_and_contexts_load_as_unknown() {
    use clientele_backend::{Error, RelationStore};
    use clientele_model::permission::{PermissionContext, PermissionType, Stored};

    let store = Arc::new(InMemoryBackend::new());
    let config = |extra: Vec<PermissionContext>| DirectoryConfig {
        permissions: PermissionConfig {
            customer_group_support: true,
            extra_contexts: extra,
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = Directory::in_memory_with(store.clone(), config(vec![])).unwrap();
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    let hardware = dir.add_group("hardware", "t").await.unwrap();
    let billing = dir.add_group("billing", "t").await.unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "A", "anna@acme-corp.test", "ACME"),
        "t",
    )
    .await
    .unwrap();
    dir.grant_user("anna", "hardware", &["ro"], "t")
        .await
        .unwrap();
    // Written straight to the store, as another system sharing it could have: a type this
    // configuration lacks and a context it does not list.
    let owner = PermissionType::new("owner").unwrap();
    let partner = PermissionContext::new("Partner").unwrap();
    let by = "other-system".into();
    store
        .set_user_grant("anna", billing.id, &[owner], &by)
        .await
        .unwrap();
    store
        .set_company_grant("ACME", hardware.id, &partner, &[PermissionType::rw()], &by)
        .await
        .unwrap();

    let dir = Directory::in_memory_with(store.clone(), config(vec![])).unwrap();
    assert!(dir.has_permission("anna", "hardware", "ro").await.unwrap());
    assert!(!dir.has_permission("anna", "hardware", "rw").await.unwrap());
    assert!(!dir.has_permission("anna", "billing", "ro").await.unwrap());
    let unknown = dir.unknown_grants().await.unwrap();
    assert_eq!(unknown.user_grants.len(), 1);
    assert_eq!(
        unknown.user_grants[0].permission,
        Stored::Unknown("owner".into())
    );
    assert_eq!(unknown.company_grants.len(), 1);
    assert_eq!(
        unknown.company_grants[0].context,
        Stored::Unknown("Partner".into())
    );
    assert_eq!(
        unknown.company_grants[0].permission,
        Stored::Known(PermissionType::rw())
    );
    // Nothing was dropped: the store still holds both.
    let stored = store.relation_snapshot().await.unwrap();
    assert_eq!(stored.user_grants.len(), 2);
    assert_eq!(stored.company_grants.len(), 1);

    // A typo in a context is refused, naming the field, instead of creating a context that
    // grants nothing.
    match dir
        .grant_company("ACME", "hardware", "Ticket::CustomerID::Sme", &["ro"], "t")
        .await
    {
        Err(Error::Invalid(clientele_model::ValidationError::Invalid { field, value, .. })) => {
            assert_eq!(field, "permission_context");
            assert_eq!(value, "Ticket::CustomerID::Sme");
        }
        other => panic!("{other:?}"),
    }

    // Configured, the context is known (and still evaluated by no rule).
    let dir = Directory::in_memory_with(store, config(vec![partner.clone()])).unwrap();
    let unknown = dir.unknown_grants().await.unwrap();
    assert!(unknown.company_grants.is_empty(), "{unknown:?}");
    assert_eq!(
        unknown.user_grants.len(),
        1,
        "owner is still not configured"
    );
    dir.grant_company("ACME", "hardware", "Partner", &["ro"], "t")
        .await
        .unwrap();
}

/// Adding and removing single types through the Directory keeps the permission checks current
/// and leaves the other types alone.
#[tokio::test]
async fn adding_and_removing_types_keeps_checks_current() {
    let dir = directory().await;
    dir.add_user_permissions("anna", "hardware", &["ro"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("anna", "hardware", "ro").await.unwrap());
    assert!(
        !dir.has_permission("anna", "hardware", "move_into")
            .await
            .unwrap()
    );
    dir.add_user_permissions("anna", "hardware", &["rw"], "t")
        .await
        .unwrap();
    assert!(
        dir.has_permission("anna", "hardware", "move_into")
            .await
            .unwrap()
    );
    dir.remove_user_permissions("anna", "hardware", &["rw"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("anna", "hardware", "ro").await.unwrap());
    assert!(!dir.has_permission("anna", "hardware", "rw").await.unwrap());

    dir.add_company_permissions("ACME", "billing", SAME, &["move_into"], "t")
        .await
        .unwrap();
    assert!(
        dir.has_permission("anna", "billing", "move_into")
            .await
            .unwrap()
    );
    dir.remove_company_permissions("ACME", "billing", SAME, &["move_into"], "t")
        .await
        .unwrap();
    assert!(
        !dir.has_permission("anna", "billing", "move_into")
            .await
            .unwrap()
    );
    // Adding an unconfigured type is refused; removing one is allowed (clean-up).
    assert!(
        dir.add_user_permissions("anna", "hardware", &["owner"], "t")
            .await
            .is_err()
    );
    dir.remove_user_permissions("anna", "hardware", &["owner"], "t")
        .await
        .unwrap();
}

/// OTOBO answers yes for an always-group whatever type string is asked, a typo included.
/// Clientele's always-groups give every *configured* type; an unconfigured type is refused the
/// same way by a check and by a grant, on an always-group as on any other group.
#[tokio::test]
async fn always_groups_give_every_configured_type_and_nothing_else() {
    let dir = directory().await;
    for ty in ["ro", "move_into", "rw"] {
        assert!(
            dir.has_permission("anna", "users", ty).await.unwrap(),
            "{ty}"
        );
    }
    match dir.has_permission("anna", "users", "create").await {
        Err(clientele_backend::Error::NotFound { entity, key }) => {
            assert_eq!((entity, key.as_str()), (Entity::PermissionType, "create"));
        }
        other => panic!("expected NotFound for an unconfigured type, got {other:?}"),
    }
    let refused = dir
        .grant_user("anna", "users", &["create"], "t")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("create"), "{refused}");
    let refused = dir
        .add_user_permissions("anna", "users", &["create"], "t")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("create"), "{refused}");
}
