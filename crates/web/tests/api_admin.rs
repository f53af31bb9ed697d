//! The API's administration operations, each checked against the Directory afterwards:
//! password changes through the password policy (given, or generated and shown once), the
//! catalog of groups (add, rename, comment, invalidate, validate) and of services (add with
//! `Parent::Child`, rename with descendants, comment, invalidate, validate), and company grants
//! in a context.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Password, Validity};
use clientele_web::{BearerTokens, WebConfig, issue_token, router};
use common::{Fixture, SEEDED_PASSWORD, call, fixture};
use serde_json::{Value, json};

/// The common fixture, but with a password policy: 12 characters and a digit at least.
async fn strict_fixture() -> Fixture {
    let mut config = DirectoryConfig::default();
    config.password_policy.min_size = 12;
    config.password_policy.need_digit = true;
    let dir = Arc::new(
        Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config).expect("directory"),
    );
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "seed")
        .await
        .unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "Berg", "anna@acme-corp.com", "ACME")
            .password(SEEDED_PASSWORD),
        "seed",
    )
    .await
    .unwrap();
    let issued = issue_token("api-admin").unwrap();
    let auth = BearerTokens::new(std::slice::from_ref(&issued.stored)).unwrap();
    Fixture {
        app: router(dir.clone(), WebConfig::new(auth)),
        dir,
        token: issued.token.as_str().to_owned(),
    }
}

async fn logs_in(dir: &Directory, login: &str, password: &str) -> bool {
    dir.authenticate(login, &Password::new(password))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_given_password_is_set_and_never_returned() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/ANNA/password",
        t,
        Some(json!({ "password": "Brand-New-Secret-8" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["login"], "anna");
    assert_eq!(r.json()["generated_password"], Value::Null);
    assert!(!r.body.contains("Brand-New-Secret-8"), "{}", r.body);
    assert!(logs_in(&f.dir, "anna", "Brand-New-Secret-8").await);
    assert!(!logs_in(&f.dir, "anna", SEEDED_PASSWORD).await);
}

#[tokio::test]
async fn a_generated_password_is_returned_once_and_works() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/anna/password",
        t,
        Some(json!({ "generate": true })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let generated = r.json()["generated_password"]
        .as_str()
        .expect("a generated password")
        .to_owned();
    assert!(generated.len() >= 8, "{generated}");
    assert!(logs_in(&f.dir, "anna", &generated).await);
    assert!(!logs_in(&f.dir, "anna", SEEDED_PASSWORD).await);
    // Shown that once: the user's record and the search do not carry it.
    for uri in ["/api/v1/users/anna", "/api/v1/users?term=anna"] {
        let r = call(&f.app, "get", uri, t, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.body.contains(&generated), "{uri}: {}", r.body);
    }
    // A second generation gives another password; the first no longer works.
    let again = call(
        &f.app,
        "put",
        "/api/v1/users/anna/password",
        t,
        Some(json!({ "generate": true })),
    )
    .await;
    let second = again.json()["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, generated);
    assert!(!logs_in(&f.dir, "anna", &generated).await);
}

#[tokio::test]
async fn the_password_policy_refuses_naming_the_field_and_not_the_password() {
    let f = strict_fixture().await;
    let t = Some(f.token.as_str());
    for (body, rule) in [
        (json!({ "password": "short-1" }), "at least 12 characters"),
        (
            json!({ "password": "long-enough-but-no-digit" }),
            "at least 1 digit",
        ),
        (json!({ "password": "" }), ""),
    ] {
        let r = call(&f.app, "put", "/api/v1/users/anna/password", t, Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
        let p = r.json();
        assert_eq!(p["field"], "password", "{p}");
        assert!(p["detail"].as_str().unwrap().contains(rule), "{p}");
        for secret in ["short-1", "long-enough-but-no-digit", "UserPassword"] {
            assert!(!r.body.contains(secret), "{}", r.body);
        }
    }
    assert!(
        logs_in(&f.dir, "anna", SEEDED_PASSWORD).await,
        "nothing changed"
    );
    // A generated password meets the policy.
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/anna/password",
        t,
        Some(json!({ "generate": true })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let generated = r.json()["generated_password"].as_str().unwrap().to_owned();
    assert!(generated.chars().count() >= 12, "{generated}");
    assert!(generated.chars().any(|c| c.is_ascii_digit()), "{generated}");
    assert!(logs_in(&f.dir, "anna", &generated).await);
}

#[tokio::test]
async fn a_password_change_needs_exactly_one_way_and_a_known_user() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    for body in [
        json!({}),
        json!({ "generate": false }),
        json!({ "password": "Another-Secret-5", "generate": true }),
    ] {
        let r = call(&f.app, "put", "/api/v1/users/anna/password", t, Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.json()["field"], "password");
        assert!(!r.body.contains("Another-Secret-5"), "{}", r.body);
    }
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/nobody/password",
        t,
        Some(json!({ "password": "Another-Secret-5" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.json()["field"], "login");
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/anna/password",
        t,
        Some(json!({ "password": "x", "hint": "y" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        logs_in(&f.dir, "anna", SEEDED_PASSWORD).await,
        "nothing changed"
    );
}

#[tokio::test]
async fn groups_are_added_renamed_commented_invalidated_and_validated() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "post",
        "/api/v1/groups",
        t,
        Some(json!({ "name": "support", "comment": "First line" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["name"], "support");
    assert_eq!(r.json()["comment"], "First line");
    assert_eq!(r.json()["validity"], "valid");
    let g = f.dir.group("support").await.unwrap();
    assert_eq!(g.comment.as_deref(), Some("First line"));
    assert_eq!(g.id.0, r.json()["id"].as_u64().unwrap());

    let dup = call(
        &f.app,
        "post",
        "/api/v1/groups",
        t,
        Some(json!({ "name": "support" })),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);

    // A grant on it, to see it follow the rename.
    f.dir
        .grant_user("anna", "support", &["ro"], "seed")
        .await
        .unwrap();
    let r = call(
        &f.app,
        "patch",
        "/api/v1/groups/support",
        t,
        Some(json!({ "name": "helpdesk", "comment": "" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "helpdesk");
    assert_eq!(r.json()["comment"], Value::Null);
    assert!(f.dir.group("support").await.is_err());
    assert_eq!(f.dir.group("helpdesk").await.unwrap().id, g.id);
    assert!(
        f.dir
            .has_permission("anna", "helpdesk", "ro")
            .await
            .unwrap()
    );

    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/helpdesk/invalidate?temporarily=true",
        t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["validity"], "invalid-temporarily");
    assert_eq!(
        f.dir.group("helpdesk").await.unwrap().validity,
        Validity::InvalidTemporarily
    );
    assert!(
        !f.dir
            .has_permission("anna", "helpdesk", "ro")
            .await
            .unwrap()
    );

    let r = call(&f.app, "post", "/api/v1/groups/helpdesk/validate", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["validity"], "valid");
    assert!(
        f.dir
            .has_permission("anna", "helpdesk", "ro")
            .await
            .unwrap()
    );

    let r = call(&f.app, "get", "/api/v1/groups/helpdesk", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "helpdesk");
    let r = call(
        &f.app,
        "patch",
        "/api/v1/groups/helpdesk",
        t,
        Some(json!({ "validity": "invalid" })),
    )
    .await;
    assert_eq!(r.json()["validity"], "invalid", "{}", r.body);
}

#[tokio::test]
async fn group_problems_name_the_field() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    for (method, uri, body, status, field) in [
        ("post", "/api/v1/groups", json!({}), 422, "name"),
        ("post", "/api/v1/groups", json!({ "name": "" }), 422, "name"),
        (
            "post",
            "/api/v1/groups",
            json!({ "name": "x", "comment": "a\u{0}b" }),
            422,
            "comment",
        ),
        ("patch", "/api/v1/groups/billing", json!({}), 422, "name"),
        (
            "patch",
            "/api/v1/groups/billing",
            json!({ "validity": "sometimes" }),
            422,
            "",
        ),
        (
            "patch",
            "/api/v1/groups/nope",
            json!({ "name": "x" }),
            404,
            "group",
        ),
        (
            "post",
            "/api/v1/groups/nope/validate",
            Value::Null,
            404,
            "group",
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let r = call(&f.app, method, uri, t, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {uri}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
        if !field.is_empty() {
            assert_eq!(r.json()["field"], field, "{method} {uri}: {}", r.body);
        }
    }
    let r = call(&f.app, "get", "/api/v1/groups/nope", t, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nothing was added or changed by the refused requests.
    let names: Vec<String> = f
        .dir
        .groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["billing"]);
    assert_eq!(f.dir.group("billing").await.unwrap().comment, None);
}

#[tokio::test]
async fn services_are_added_below_parents_renamed_with_descendants_and_invalidated() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "post",
        "/api/v1/services",
        t,
        Some(json!({ "name": "Email", "comment": "Mail in and out" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["comment"], "Mail in and out");
    assert_eq!(r.json()["default"], false);
    let r = call(
        &f.app,
        "post",
        "/api/v1/services",
        t,
        Some(json!({ "name": "Email::Outbound", "validity": "invalid" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["validity"], "invalid");

    // A child needs its parent; the problem names what is missing.
    let r = call(
        &f.app,
        "post",
        "/api/v1/services",
        t,
        Some(json!({ "name": "Phone::Mobile" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.json()["field"], "service");
    assert_eq!(r.json()["key"], "Phone");
    for bad in ["Email::", "::Inbound", ""] {
        let r = call(
            &f.app,
            "post",
            "/api/v1/services",
            t,
            Some(json!({ "name": bad })),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], "name", "{bad}: {}", r.body);
    }
    let dup = call(
        &f.app,
        "post",
        "/api/v1/services",
        t,
        Some(json!({ "name": "Email" })),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);

    let r = call(
        &f.app,
        "patch",
        "/api/v1/services/Email",
        t,
        Some(json!({ "name": "Mail", "comment": "" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "Mail");
    assert_eq!(r.json()["comment"], Value::Null);
    let names: Vec<String> = f
        .dir
        .services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.contains(&"Mail::Outbound".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("Email")), "{names:?}");

    let r = call(
        &f.app,
        "post",
        "/api/v1/services/Mail::Outbound/validate",
        t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["validity"], "valid");
    let r = call(&f.app, "post", "/api/v1/services/Mail/invalidate", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["validity"], "invalid");
    let stored = f.dir.services().await.unwrap();
    let mail = stored.iter().find(|s| s.name == "Mail").unwrap();
    assert_eq!(mail.validity, Validity::Invalid);

    // The row shows the default flag as stored.
    f.dir
        .set_default_service("Printing", true, "seed")
        .await
        .unwrap();
    let r = call(&f.app, "get", "/api/v1/services/Printing", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["default"], true);
    let r = call(&f.app, "get", "/api/v1/services/Nope", t, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["field"], "service");
    let r = call(&f.app, "patch", "/api/v1/services/Mail", t, Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn company_grants_keep_their_context() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "post",
        "/api/v1/groups",
        t,
        Some(json!({ "name": "reports" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for (context, stored) in [
        ("same", "Ticket::CustomerID::Same"),
        ("other", "Ticket::CustomerID::Other"),
    ] {
        let r = call(
            &f.app,
            "post",
            "/api/v1/groups/reports/grants",
            t,
            Some(json!({
                "company": "ACME", "context": context, "change": "add", "permissions": ["ro"]
            })),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["context"], stored);
        assert_eq!(r.json()["permissions"], json!(["ro"]));
    }
    let snapshot = f.dir.relation_snapshot().await.unwrap();
    let contexts: Vec<String> = snapshot
        .company_grants
        .iter()
        .filter(|g| g.customer_id == "ACME")
        .map(|g| g.context.to_string())
        .collect();
    assert_eq!(contexts.len(), 2, "{contexts:?}");
    // Revoking in one context leaves the other.
    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/reports/grants",
        t,
        Some(json!({
            "company": "ACME", "context": "other", "change": "replace", "permissions": []
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["permissions"], json!([]));
    let snapshot = f.dir.relation_snapshot().await.unwrap();
    let left: Vec<String> = snapshot
        .company_grants
        .iter()
        .filter(|g| g.customer_id == "ACME")
        .map(|g| g.context.to_string())
        .collect();
    assert_eq!(left, ["Ticket::CustomerID::Same"]);
}

#[tokio::test]
async fn an_unknown_source_is_a_refused_field() {
    let f = fixture(64 * 1024).await;
    let r = call(
        &f.app,
        "post",
        "/api/v1/users",
        Some(&f.token),
        Some(json!({
            "login": "carl", "first_name": "Carl", "last_name": "Dorn",
            "email": "carl@acme-corp.com", "customer_id": "ACME", "source": "elsewhere"
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["field"], "source");
    assert_eq!(r.json()["key"], "elsewhere");
    assert!(f.dir.customer_user("carl").await.unwrap().is_none());
}

#[tokio::test]
async fn preferences_are_set_shown_and_removed_but_never_the_token() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/ANNA/preferences/UserLanguage",
        t,
        Some(json!({ "value": "de" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["login"], "anna");
    assert_eq!(r.json()["preferences"]["UserLanguage"], "de");
    assert_eq!(
        f.dir.preferences("anna").await.unwrap().get("UserLanguage"),
        Some(&"de".to_owned())
    );

    // The one-time token's digest is stored as a preference; it is never shown.
    let token = f.dir.generate_token("anna").await.unwrap();
    assert!(
        f.dir
            .preferences("anna")
            .await
            .unwrap()
            .contains_key(clientele_directory::PREF_TOKEN)
    );
    let r = call(&f.app, "get", "/api/v1/users/anna/preferences", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let shown = r.json()["preferences"].clone();
    assert_eq!(shown, json!({ "UserLanguage": "de" }), "{}", r.body);
    let stored = f.dir.preferences("anna").await.unwrap();
    assert!(!r.body.contains(&stored[clientele_directory::PREF_TOKEN]));
    assert!(!r.body.contains(token.expose()));

    // Keys that are user data or security state are refused, naming the key.
    for key in ["UserEmail", "UserToken", "UserLogin"] {
        let r = call(
            &f.app,
            "put",
            &format!("/api/v1/users/anna/preferences/{key}"),
            t,
            Some(json!({ "value": "x@example.com" })),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{key}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], key, "{}", r.body);
    }
    let long = "x".repeat(251);
    let r = call(
        &f.app,
        "put",
        "/api/v1/users/anna/preferences/UserTheme",
        t,
        Some(json!({ "value": long })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["field"], "UserTheme");
    assert_eq!(
        f.dir
            .customer_user("anna")
            .await
            .unwrap()
            .unwrap()
            .email
            .as_str(),
        "anna@acme-corp.com"
    );

    let r = call(
        &f.app,
        "delete",
        "/api/v1/users/anna/preferences/UserLanguage",
        t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["preferences"], json!({}));
    assert!(
        !f.dir
            .preferences("anna")
            .await
            .unwrap()
            .contains_key("UserLanguage")
    );
    let r = call(&f.app, "get", "/api/v1/users/nobody/preferences", t, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["field"], "login");
}

#[tokio::test]
async fn every_operation_documents_the_answers_any_request_may_get() {
    let doc = serde_json::to_value(clientele_web::openapi()).unwrap();
    for (method, path) in common::ROUTES {
        let responses = &doc["paths"][*path][*method]["responses"];
        let mut expected = vec!["400", "401", "503"];
        if *method != "get" {
            expected.push("422");
        }
        if !doc["paths"][*path][*method]["requestBody"].is_null() {
            expected.extend(["413", "415"]);
        }
        for status in expected {
            let problem = &responses[status]["content"]["application/problem+json"]["schema"];
            assert_eq!(
                problem["$ref"], "#/components/schemas/Problem",
                "{method} {path} {status}: {responses}"
            );
        }
    }
}
