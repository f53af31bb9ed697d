//! Groups and services administered: the users of a service, renames, comments, validity, and
//! OTOBO's `Parent::Child` service hierarchy.

use std::collections::BTreeSet;

use clientele_model::Validity;
use clientele_model::catalog::parent_service;

use super::{BY, Case, Stores, user};
use crate::error::{Entity, Error};
use crate::traits::*;

/// The services' names, sorted.
async fn service_names(s: &Stores) -> Vec<String> {
    let mut names: Vec<String> = s
        .relations
        .services()
        .await
        .expect("services")
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

/// The id of the service with this name.
async fn service_id(s: &Stores, name: &str) -> i64 {
    s.relations
        .services()
        .await
        .expect("services")
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("service {name} is stored"))
        .id
}

fn not_found_key(result: crate::Result<impl std::fmt::Debug>, what: &str) -> (Entity, String) {
    match result {
        Err(Error::NotFound { entity, key }) => (entity, key),
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// The users of a service: every login it is assigned to, the default pseudo-login included,
/// sorted, whatever the service's validity; an unknown service is `NotFound`.
pub async fn store_service_users(s: Stores) {
    for l in ["jdoe", "anna"] {
        s.writer
            .add(&user(&s, l, "S", "ACME"), None, &BY)
            .await
            .expect("add");
    }
    let vpn = s
        .relations
        .add_service("vpn", Validity::Valid, &BY)
        .await
        .expect("service");
    let old = s
        .relations
        .add_service("legacy", Validity::Invalid, &BY)
        .await
        .expect("service");
    for login in ["jdoe", "anna", DEFAULT_SERVICES_LOGIN, "jdoe"] {
        s.relations
            .set_user_service(login, vpn.id, true, &BY)
            .await
            .expect("assign");
    }
    s.relations
        .set_user_service("anna", old.id, true, &BY)
        .await
        .expect("assign");
    let mut want = vec![DEFAULT_SERVICES_LOGIN, "anna", "jdoe"];
    want.sort();
    assert_eq!(
        s.relations.service_users(vpn.id).await.expect("users"),
        want,
        "every assignment once, the default pseudo-login included"
    );
    assert_eq!(
        s.relations.service_users(old.id).await.expect("users"),
        ["anna"],
        "an invalid service still lists its assignments"
    );
    s.relations
        .set_user_service("jdoe", vpn.id, false, &BY)
        .await
        .expect("remove");
    assert!(
        !s.relations
            .service_users(vpn.id)
            .await
            .unwrap()
            .contains(&"jdoe".to_owned())
    );
    let (entity, _) = not_found_key(s.relations.service_users(999_999).await, "unknown service");
    assert_eq!(entity, Entity::Service);
}
super::case!(store_service_users);

/// A group is renamed, commented and invalidated in place; a taken name is refused and an
/// unknown group is `NotFound`.
pub async fn store_update_group(s: Stores) {
    let billing = s
        .relations
        .add_group("billing", Validity::Valid, &BY)
        .await
        .expect("group");
    assert_eq!(billing.comment, None);
    s.relations
        .add_group("sales", Validity::Valid, &BY)
        .await
        .expect("group");
    let changed = s
        .relations
        .update_group(
            billing.id,
            &CatalogChanges::new()
                .rename("invoicing")
                .comment(Some("Invoices and refunds".into())),
            &BY,
        )
        .await
        .expect("rename and comment");
    assert_eq!(changed.id, billing.id);
    assert_eq!(changed.name, "invoicing");
    assert_eq!(changed.comment.as_deref(), Some("Invoices and refunds"));
    let stored = s.relations.groups().await.expect("groups");
    let stored = stored.iter().find(|g| g.id == billing.id).expect("kept");
    assert_eq!(stored, &changed, "groups() reads back what was written");
    let invalid = s
        .relations
        .update_group(
            billing.id,
            &CatalogChanges::new().validity(Validity::Invalid),
            &BY,
        )
        .await
        .expect("invalidate");
    assert_eq!(invalid.validity, Validity::Invalid);
    assert_eq!(
        invalid.comment.as_deref(),
        Some("Invoices and refunds"),
        "what is not named stays"
    );
    let cleared = s
        .relations
        .update_group(billing.id, &CatalogChanges::new().comment(None), &BY)
        .await
        .expect("clear comment");
    assert_eq!(cleared.comment, None);
    let taken = s
        .relations
        .update_group(billing.id, &CatalogChanges::new().rename("sales"), &BY)
        .await;
    assert!(
        matches!(taken, Err(Error::AlreadyExists { .. })),
        "a taken name: {taken:?}"
    );
    let (entity, _) = not_found_key(
        s.relations
            .update_group(
                clientele_model::permission::GroupId(999_999),
                &CatalogChanges::new().rename("x"),
                &BY,
            )
            .await,
        "unknown group",
    );
    assert_eq!(entity, Entity::Group);
}
super::case!(store_update_group);

/// OTOBO's service hierarchy: a child needs its parent; renaming a parent renames all its
/// descendants (and nothing that merely shares a prefix); assignments follow by id; a rename
/// that can't be done changes nothing.
pub async fn store_service_hierarchy(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "H", "ACME"), None, &BY)
        .await
        .expect("add");
    let orphan = s
        .relations
        .add_service("Email::Outbound", Validity::Valid, &BY)
        .await;
    assert_eq!(
        not_found_key(orphan, "a child without its parent"),
        (Entity::Service, "Email".to_owned()),
        "the error names the missing parent"
    );
    for name in [
        "Email",
        "Email::Outbound",
        "Email::Outbound::SMTP",
        "Email::Inbound",
        "Emails",
        "Mailbox",
    ] {
        s.relations
            .add_service(name, Validity::Valid, &BY)
            .await
            .unwrap_or_else(|e| panic!("add {name}: {e}"));
    }
    let smtp = service_id(&s, "Email::Outbound::SMTP").await;
    s.relations
        .set_user_service("jdoe", smtp, true, &BY)
        .await
        .expect("assign");

    let email = service_id(&s, "Email").await;
    let renamed = s
        .relations
        .update_service(
            email,
            &CatalogChanges::new()
                .rename("Mail")
                .comment(Some("Mail in and out".into())),
            &BY,
        )
        .await
        .expect("rename the parent");
    assert_eq!(renamed.name, "Mail");
    assert_eq!(renamed.comment.as_deref(), Some("Mail in and out"));
    assert_eq!(
        service_names(&s).await,
        [
            "Emails",
            "Mail",
            "Mail::Inbound",
            "Mail::Outbound",
            "Mail::Outbound::SMTP",
            "Mailbox"
        ],
        "every descendant renamed, nothing else"
    );
    assert_eq!(
        service_id(&s, "Mail::Outbound::SMTP").await,
        smtp,
        "ids stay"
    );
    let own: Vec<String> = s
        .relations
        .user_services("jdoe")
        .await
        .expect("services")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(own, ["Mail::Outbound::SMTP"], "assignments follow the id");

    // Moving a subtree below another parent.
    let outbound = service_id(&s, "Mail::Outbound").await;
    s.relations
        .update_service(outbound, &CatalogChanges::new().rename("Mailbox::Out"), &BY)
        .await
        .expect("move below another parent");
    assert!(
        service_names(&s)
            .await
            .contains(&"Mailbox::Out::SMTP".to_owned())
    );

    // Refused renames leave everything as it was.
    let before = service_names(&s).await;
    let mail = service_id(&s, "Mail").await;
    let missing_parent = s
        .relations
        .update_service(mail, &CatalogChanges::new().rename("Nowhere::Mail"), &BY)
        .await;
    assert_eq!(
        not_found_key(missing_parent, "a new name below a missing parent"),
        (Entity::Service, "Nowhere".to_owned())
    );
    let taken = s
        .relations
        .update_service(mail, &CatalogChanges::new().rename("Emails"), &BY)
        .await;
    assert!(
        matches!(taken, Err(Error::AlreadyExists { .. })),
        "a taken name: {taken:?}"
    );
    let below_itself = s
        .relations
        .update_service(
            mail,
            &CatalogChanges::new().rename("Mail::Inbound::Mail"),
            &BY,
        )
        .await;
    assert!(
        matches!(below_itself, Err(Error::Invalid(_))),
        "a service can't move below itself: {below_itself:?}"
    );
    assert_eq!(service_names(&s).await, before, "nothing changed");
    let mailbox = service_id(&s, "Mailbox").await;
    let invalid = s
        .relations
        .update_service(
            mailbox,
            &CatalogChanges::new().validity(Validity::Invalid),
            &BY,
        )
        .await
        .expect("invalidate");
    assert_eq!(invalid.name, "Mailbox");
    assert_eq!(invalid.validity, Validity::Invalid);
    let (entity, _) = not_found_key(
        s.relations
            .update_service(999_999, &CatalogChanges::new().rename("x"), &BY)
            .await,
        "unknown service",
    );
    assert_eq!(entity, Entity::Service);
}
super::case!(store_service_hierarchy);

/// Renames of a parent racing each other and adds of children: every rename is atomic, so at
/// the end every child's parent exists and the whole tree carries the parent's final name.
pub async fn store_service_rename_races(s: Stores) {
    s.relations
        .add_service("Email", Validity::Valid, &BY)
        .await
        .expect("parent");
    for child in ["Email::Outbound", "Email::Outbound::SMTP", "Email::Inbound"] {
        s.relations
            .add_service(child, Validity::Valid, &BY)
            .await
            .expect("child");
    }
    let parent = service_id(&s, "Email").await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let relations = s.relations.clone();
        tasks.push(tokio::spawn(async move {
            relations
                .update_service(
                    parent,
                    &CatalogChanges::new().rename(format!("Mail{i}")),
                    &BY,
                )
                .await
                .map(|_| ())
        }));
        let relations = s.relations.clone();
        tasks.push(tokio::spawn(async move {
            // The parent may be renamed away first: then the add is refused, naming it.
            match relations
                .add_service(&format!("Email::Added{i}"), Validity::Valid, &BY)
                .await
            {
                Err(Error::NotFound { key, .. }) if key == "Email" => Ok(()),
                other => other.map(|_| ()),
            }
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("a racing write");
    }
    let services = s.relations.services().await.expect("services");
    let names: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let root = services
        .iter()
        .find(|s| s.id == parent)
        .expect("the parent")
        .name
        .clone();
    for name in &names {
        if let Some(p) = parent_service(name) {
            assert!(names.contains(p), "{name} lost its parent: {names:?}");
        }
        assert!(
            *name == root || name.starts_with(&format!("{root}::")),
            "{name} is not below the parent's final name {root}: {names:?}"
        );
    }
    for child in ["Outbound", "Outbound::SMTP", "Inbound"] {
        assert!(
            names.contains(format!("{root}::{child}").as_str()),
            "{root}::{child} missing: {names:?}"
        );
    }
}
super::case!(store_service_rename_races);

/// The grants of one user and of one company, read narrowly, are exactly the rows the full
/// snapshot holds for that login or customer id (exactly that one: not `jdoe2`, not `ACME2`).
pub async fn store_grants_of_one_holder(s: Stores) {
    use clientele_model::permission::{PermissionContext, PermissionType};
    let r = &s.relations;
    let g1 = r
        .add_group("g1", Validity::Valid, &BY)
        .await
        .expect("group");
    let g2 = r
        .add_group("g2", Validity::Valid, &BY)
        .await
        .expect("group");
    let (ro, rw) = (PermissionType::ro(), PermissionType::rw());
    let same = PermissionContext::SameCustomer;
    let other = PermissionContext::OtherCustomers;
    for (login, group, types) in [
        ("jdoe", g1.id, vec![ro.clone(), rw.clone()]),
        ("jdoe", g2.id, vec![ro.clone()]),
        ("jdoe2", g1.id, vec![rw.clone()]),
        ("anna", g2.id, vec![rw.clone()]),
    ] {
        r.set_user_grant(login, group, &types, &BY)
            .await
            .expect("user grant");
    }
    for (company, group, context, types) in [
        ("ACME", g1.id, &same, vec![ro.clone()]),
        ("ACME", g2.id, &other, vec![rw.clone()]),
        ("ACME2", g1.id, &same, vec![ro.clone()]),
    ] {
        r.set_company_grant(company, group, context, &types, &BY)
            .await
            .expect("company grant");
    }
    // A revoked set leaves nothing behind.
    r.set_user_grant("anna", g2.id, &[], &BY)
        .await
        .expect("revoke");
    let snapshot = r.relation_snapshot().await.expect("snapshot");
    for login in ["jdoe", "jdoe2", "anna", "nobody"] {
        let want: BTreeSet<UserGrant> = (snapshot.user_grants.iter())
            .filter(|g| g.login == login)
            .cloned()
            .collect();
        let got: BTreeSet<UserGrant> = r
            .user_grants_of(login)
            .await
            .expect("user grants")
            .into_iter()
            .collect();
        assert_eq!(got, want, "the grants of {login}");
    }
    assert_eq!(r.user_grants_of("jdoe").await.unwrap().len(), 3);
    assert!(r.user_grants_of("anna").await.unwrap().is_empty());
    for company in ["ACME", "ACME2", "acme", "NONE"] {
        let want: BTreeSet<CompanyGrant> = (snapshot.company_grants.iter())
            .filter(|g| g.customer_id == company)
            .cloned()
            .collect();
        let got: BTreeSet<CompanyGrant> = r
            .company_grants_of(company)
            .await
            .expect("company grants")
            .into_iter()
            .collect();
        assert_eq!(got, want, "the grants of {company}");
    }
    assert_eq!(r.company_grants_of("ACME").await.unwrap().len(), 2);
}
super::case!(store_grants_of_one_holder);
