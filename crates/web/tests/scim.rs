//! SCIM 2.0 over the router with an in-memory Directory: discovery, Users CRUD, filters and
//! paging, PATCH as identity providers send it, DELETE / active, ETags, Groups, token scopes.

mod scim_common;

use std::sync::Arc;

use axum::http::StatusCode;
use clientele_directory::{Directory, InMemoryBackend};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Validity};
use clientele_web::scim::{ScimConfig, ScimSettings};
use clientele_web::{BearerTokens, TokenScope, WebConfig, issue_scoped_token, router};
use scim_common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_resources() {
    let f = fixture(ScimSettings::default()).await;
    let r = f.call("GET", "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "application/scim+json");
    let spc = r.json();
    assert_eq!(spc["patch"]["supported"], json!(true));
    assert_eq!(spc["filter"]["supported"], json!(true));
    assert_eq!(spc["etag"]["supported"], json!(true));
    assert_eq!(spc["bulk"]["supported"], json!(false));
    let r = f.call("GET", "/scim/v2/Schemas", None).await.json();
    let ids: Vec<&str> = r["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"));
    assert!(ids.contains(&ENTERPRISE) && ids.contains(&OURS));
    let r = f
        .call(
            "GET",
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    assert_eq!(r.json()["name"], "Group");
    let r = f.call("GET", "/scim/v2/ResourceTypes", None).await.json();
    assert_eq!(r["totalResults"], 2);
    let user = f
        .call("GET", "/scim/v2/ResourceTypes/User", None)
        .await
        .json();
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE);
    assert_error(&f.call("GET", "/scim/v2/Nothing", None).await, 404, None);
}

#[tokio::test]
async fn user_lifecycle() {
    let f = fixture(ScimSettings::default()).await;
    let r = f
        .call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!r.body.contains(SECRET));
    let u = r.json();
    assert_eq!(u["id"], "bob");
    assert_eq!(u["userName"], "bob");
    assert_eq!(u["externalId"], "ext-bob");
    assert_eq!(u["name"]["givenName"], "Bob");
    assert_eq!(u["emails"][0]["value"], "bob@acme-corp.com");
    assert_eq!(
        u["phoneNumbers"][1],
        json!({"value": "+49 2", "type": "mobile"})
    );
    assert_eq!(u["addresses"][0]["locality"], "Berlin");
    assert_eq!(u[ENTERPRISE]["organization"], "Acme Corp");
    assert_eq!(u[OURS]["customerId"], "ACME");
    assert!(u.get("password").is_none());
    assert_eq!(r.etag.as_deref(), u["meta"]["version"].as_str());
    // The password went through the policy and works.
    f.dir
        .authenticate("bob", &SECRET.into())
        .await
        .expect("the SCIM password logs in");
    // Taken.
    let again = f
        .call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    assert_error(&again, 409, Some("uniqueness"));
    // Unknown company without a default.
    let mut body = new_user("carl");
    body[ENTERPRISE]["organization"] = json!("Nobody Inc");
    let r = f.call("POST", "/scim/v2/Users", Some(body)).await;
    assert_error(&r, 400, Some("invalidValue"));
    // PUT replaces.
    let mut body = new_user("bob");
    body["name"]["familyName"] = json!("Rock");
    body.as_object_mut().unwrap().remove("password");
    body[ENTERPRISE]["organization"] = json!("Globex");
    let r = f.call("PUT", "/scim/v2/Users/bob", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"]["familyName"], "Rock");
    assert_eq!(r.json()[OURS]["customerId"], "GLOBEX");
    assert_error(
        &f.call("GET", "/scim/v2/Users/nobody", None).await,
        404,
        None,
    );
}

#[tokio::test]
async fn unknown_company_with_a_default() {
    let f = fixture(ScimSettings {
        default_customer_id: Some("GLOBEX".into()),
        ..ScimSettings::default()
    })
    .await;
    let mut body = new_user("carl");
    body[ENTERPRISE]["organization"] = json!("Nobody Inc");
    let r = f.call("POST", "/scim/v2/Users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()[OURS]["customerId"], "GLOBEX");
}

#[tokio::test]
async fn delete_and_active() {
    let f = fixture(ScimSettings::default()).await;
    f.call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    // active=false: invalid-temporarily, still visible.
    let off = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]});
    let r = f.call("PATCH", "/scim/v2/Users/bob", Some(off)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["active"], json!(false));
    let stored = f.dir.customer_user("bob").await.unwrap().unwrap();
    assert_eq!(stored.validity, Validity::InvalidTemporarily);
    let list = f
        .call(
            "GET",
            "/scim/v2/Users?filter=userName%20eq%20%22bob%22",
            None,
        )
        .await
        .json();
    assert_eq!(list["totalResults"], 1);
    // DELETE: invalid, then 404 and gone from lists.
    let r = f.call("DELETE", "/scim/v2/Users/bob", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let stored = f.dir.customer_user("bob").await.unwrap().unwrap();
    assert_eq!(stored.validity, Validity::Invalid);
    assert_error(&f.call("GET", "/scim/v2/Users/bob", None).await, 404, None);
    assert_error(
        &f.call("DELETE", "/scim/v2/Users/bob", None).await,
        404,
        None,
    );
    let list = f.call("GET", "/scim/v2/Users", None).await.json();
    assert_eq!(list["totalResults"], 1, "{list}");
    // POST of the deleted userName makes it valid again, updated.
    let mut body = new_user("bob");
    body["name"]["givenName"] = json!("Robert");
    let r = f.call("POST", "/scim/v2/Users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["name"]["givenName"], "Robert");
    let stored = f.dir.customer_user("bob").await.unwrap().unwrap();
    assert_eq!(stored.validity, Validity::Valid);
}

#[tokio::test]
async fn filters_and_paging() {
    let f = fixture(ScimSettings::default()).await;
    for login in ["al", "alba", "albert", "bea", "ben"] {
        let r = f
            .call("POST", "/scim/v2/Users", Some(new_user(login)))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let logins = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |filter: &str| {
        let mut s = String::new();
        for b in filter.bytes() {
            if b.is_ascii_alphanumeric() {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        format!("/scim/v2/Users?filter={s}")
    };
    let r = f.call("GET", &q(r#"userName sw "al""#), None).await.json();
    assert_eq!(logins(&r), ["al", "alba", "albert"]);
    assert_eq!(r["totalResults"], 3);
    let r = f
        .call(
            "GET",
            &format!("{}&startIndex=2&count=1", q(r#"userName sw "al""#)),
            None,
        )
        .await
        .json();
    assert_eq!(logins(&r), ["alba"]);
    assert_eq!(r["totalResults"], 3);
    assert_eq!(r["startIndex"], 2);
    assert_eq!(r["itemsPerPage"], 1);
    let r = f
        .call(
            "GET",
            &q(r#"userName eq "bea" or (userName co "ber" and active eq true)"#),
            None,
        )
        .await
        .json();
    assert_eq!(logins(&r), ["albert", "bea"]);
    let r = f.call("GET", &q(r#"emails co "ANNA@""#), None).await.json();
    assert_eq!(logins(&r), ["anna"]);
    let r = f
        .call("GET", &q(r#"externalId eq "ext-ben""#), None)
        .await
        .json();
    assert_eq!(logins(&r), ["ben"]);
    let r = f
        .call("GET", &q("phoneNumbers pr and userName sw \"b\""), None)
        .await
        .json();
    assert_eq!(logins(&r), ["bea", "ben"]);
    // Special characters are literal: nothing matches, nothing breaks.
    for literal in ["%", "*", ")(", "a%", "_", "\\\\"] {
        let r = f
            .call("GET", &q(&format!(r#"userName co "{literal}""#)), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{literal}: {}", r.body);
        assert_eq!(r.json()["totalResults"], 0, "{literal}");
    }
    // NUL, unsupported operators and attributes: 400 invalidFilter.
    for bad in [
        "userName eq \"a\u{0}\"",
        r#"userName ne "al""#,
        r#"userName ew "al""#,
        r#"not (userName eq "al")"#,
        r#"nickName eq "x""#,
        r#"userName eq "al" and"#,
        r#"(userName eq "al""#,
    ] {
        let r = f.call("GET", &q(bad), None).await;
        assert_error(&r, 400, Some("invalidFilter"));
    }
    let r = f.call("GET", "/scim/v2/Users?count=0", None).await.json();
    assert_eq!(r["totalResults"], 6);
    assert_eq!(r["Resources"], json!([]));
}

#[tokio::test]
async fn patch_as_identity_providers_send_it() {
    let f = fixture(ScimSettings::default()).await;
    f.call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    let ops = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "robert@acme-corp.com"},
        {"op": "Replace", "value": {"name.givenName": "Robert", "active": "True"}},
        {"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+49 3"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:organization"), "value": "Globex"},
        {"op": "Remove", "path": "addresses"},
    ]});
    let r = f.call("PATCH", "/scim/v2/Users/bob", Some(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = f.dir.customer_user("bob").await.unwrap().unwrap();
    assert_eq!(stored.email.as_str(), "robert@acme-corp.com");
    assert_eq!(stored.first_name, "Robert");
    assert_eq!(stored.fax.as_deref(), Some("+49 3"));
    assert_eq!(stored.customer_id.as_str(), "GLOBEX");
    assert!(stored.city.as_deref().unwrap_or("").is_empty());
    // A path-less replace with an object.
    let ops = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"name": {"familyName": "Rock"}, "externalId": "e2"}}]});
    let r = f
        .call("PATCH", "/scim/v2/Users/bob", Some(ops))
        .await
        .json();
    assert_eq!(r["name"]["familyName"], "Rock");
    assert_eq!(r["name"]["givenName"], "Robert");
    assert_eq!(r["externalId"], "e2");
    // A new password through PATCH, policy checked, never echoed.
    let ops = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "password", "value": "Another-Secret-99!"}]});
    let r = f.call("PATCH", "/scim/v2/Users/bob", Some(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("Another-Secret-99!"));
    f.dir
        .authenticate("bob", &"Another-Secret-99!".into())
        .await
        .expect("the new password logs in");
    // Refusals.
    let bad = json!({"schemas": [PATCH], "Operations": [{"op": "move", "path": "x"}]});
    assert_error(
        &f.call("PATCH", "/scim/v2/Users/bob", Some(bad)).await,
        400,
        Some("invalidSyntax"),
    );
    let bad = json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]});
    assert_error(
        &f.call("PATCH", "/scim/v2/Users/bob", Some(bad)).await,
        400,
        Some("invalidSyntax"),
    );
    let bad = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "emails[type", "value": "x"}]});
    assert_error(
        &f.call("PATCH", "/scim/v2/Users/bob", Some(bad)).await,
        400,
        Some("invalidPath"),
    );
    let bad = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]});
    assert_error(
        &f.call("PATCH", "/scim/v2/Users/bob", Some(bad)).await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn etags_and_if_match() {
    let f = fixture(ScimSettings::default()).await;
    let created = f
        .call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    let first = created.etag.clone().expect("an ETag");
    let shown = f.call("GET", "/scim/v2/Users/bob", None).await;
    assert_eq!(shown.etag.as_deref(), Some(first.as_str()));
    let op = |name: &str| {
        json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "name.givenName", "value": name}]})
    };
    // Two PATCHes within one second, both with the first ETag: the second gets 412.
    let a = send(
        &f.app,
        "PATCH",
        "/scim/v2/Users/bob",
        Some(&f.scim),
        Some(op("One")),
        Some(&first),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_ne!(a.etag.as_deref(), Some(first.as_str()));
    let b = send(
        &f.app,
        "PATCH",
        "/scim/v2/Users/bob",
        Some(&f.scim),
        Some(op("Two")),
        Some(&first),
    )
    .await;
    assert_error(&b, 412, None);
    assert_eq!(
        f.dir
            .customer_user("bob")
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "One"
    );
    // The new ETag works; `*` matches anything.
    let c = send(
        &f.app,
        "PATCH",
        "/scim/v2/Users/bob",
        Some(&f.scim),
        Some(op("Three")),
        a.etag.as_deref(),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let d = send(
        &f.app,
        "PATCH",
        "/scim/v2/Users/bob",
        Some(&f.scim),
        Some(op("Four")),
        Some("*"),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let e = send(
        &f.app,
        "DELETE",
        "/scim/v2/Users/bob",
        Some(&f.scim),
        None,
        Some(&first),
    )
    .await;
    assert_error(&e, 412, None);
}

#[tokio::test]
async fn concurrent_patches_with_one_etag_let_one_through() {
    let f = fixture(ScimSettings::default()).await;
    let created = f
        .call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    let first = created.etag.clone().unwrap();
    let op = |name: &str| {
        json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "name.givenName", "value": name}]})
    };
    let (a, b) = tokio::join!(
        send(
            &f.app,
            "PATCH",
            "/scim/v2/Users/bob",
            Some(&f.scim),
            Some(op("A")),
            Some(&first)
        ),
        send(
            &f.app,
            "PATCH",
            "/scim/v2/Users/bob",
            Some(&f.scim),
            Some(op("B")),
            Some(&first)
        ),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
}

#[tokio::test]
async fn groups_per_permission_type() {
    let f = fixture(ScimSettings::default()).await;
    f.call("POST", "/scim/v2/Users", Some(new_user("bob")))
        .await;
    let list = f
        .call(
            "GET",
            "/scim/v2/Groups?filter=displayName%20eq%20%22billing%3Arw%22",
            None,
        )
        .await
        .json();
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["displayName"], "billing:rw");
    assert_eq!(list["Resources"][0]["members"], json!([]));
    let add = json!({"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": "bob"}, {"value": "anna"}]}]});
    let r = f
        .call("PATCH", "/scim/v2/Groups/billing:ro", Some(add))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);
    f.dir
        .add_user_permissions("bob", "billing", &["rw"], "seed")
        .await
        .unwrap();
    let remove = json!({"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": "members[value eq \"bob\"]"}]});
    let r = f
        .call("PATCH", "/scim/v2/Groups/billing:ro", Some(remove))
        .await
        .json();
    assert_eq!(
        r["members"],
        json!([{"value": "anna", "display": "anna",
        "$ref": "/scim/v2/Users/anna", "type": "User"}])
    );
    // Only that type went: bob keeps rw.
    let members = f.dir.group_members("billing").await.unwrap();
    let bob = members.users.iter().find(|u| u.login == "bob").unwrap();
    assert_eq!(bob.permissions, ["rw"]);
    assert_error(
        &f.call("GET", "/scim/v2/Groups/billing:nope", None).await,
        404,
        None,
    );
    assert_error(
        &f.call("GET", "/scim/v2/Groups/nogroup:rw", None).await,
        404,
        None,
    );
    let rename = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "x:rw"}]});
    assert_error(
        &f.call("PATCH", "/scim/v2/Groups/billing:ro", Some(rename))
            .await,
        400,
        Some("mutability"),
    );
    let r = f
        .call(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"displayName": "support:rw",
            "members": [{"value": "anna"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["members"][0]["value"], "anna");
}

#[tokio::test]
async fn token_scopes_keep_the_parts_apart() {
    let f = fixture(ScimSettings::default()).await;
    let scim_with_api = send(&f.app, "GET", "/scim/v2/Users", Some(&f.api), None, None).await;
    assert_error(&scim_with_api, 401, None);
    let none = send(&f.app, "GET", "/scim/v2/Users", None, None, None).await;
    assert_error(&none, 401, None);
    let api_with_scim = send(&f.app, "GET", "/api/v1/users", Some(&f.scim), None, None).await;
    assert_eq!(api_with_scim.status, StatusCode::UNAUTHORIZED);
    let api_with_api = send(&f.app, "GET", "/api/v1/users", Some(&f.api), None, None).await;
    assert_eq!(api_with_api.status, StatusCode::OK);
    let scim_with_scim = send(&f.app, "GET", "/scim/v2/Users", Some(&f.scim), None, None).await;
    assert_eq!(scim_with_scim.status, StatusCode::OK);
}

#[tokio::test]
async fn read_only_sources_refuse_writes() {
    let ro = Arc::new(InMemoryBackend::new());
    let seed = Directory::in_memory(ro.clone());
    seed.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "seed")
        .await
        .unwrap();
    seed.add_customer_user(
        NewCustomerUser::new("lara", "Lara", "Ro", "lara@acme-corp.com", "ACME"),
        "seed",
    )
    .await
    .unwrap();
    let dir = Arc::new(
        Directory::builder()
            .read_only_source(ro)
            .build()
            .expect("directory"),
    );
    let scim = issue_scoped_token("idp", TokenScope::Scim).unwrap();
    let config = WebConfig::new(BearerTokens::new(&[]).unwrap()).scim(ScimConfig::new(
        BearerTokens::scoped(std::slice::from_ref(&scim.stored), TokenScope::Scim).unwrap(),
        ScimSettings::default(),
    ));
    let app = router(dir, config);
    let op = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "X"}]});
    let r = send(
        &app,
        "PATCH",
        "/scim/v2/Users/lara",
        Some(&scim.token),
        Some(op),
        None,
    )
    .await;
    assert_error(&r, 400, Some("mutability"));
    let r = send(
        &app,
        "DELETE",
        "/scim/v2/Users/lara",
        Some(&scim.token),
        None,
        None,
    )
    .await;
    assert_error(&r, 400, Some("mutability"));
}
