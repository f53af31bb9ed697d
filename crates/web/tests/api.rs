//! The JSON API through the router, as a host mounts it: authentication on every route, the
//! body limit, problem details, a round trip checked against the Directory afterwards, the
//! OpenAPI document against the routes served (tests/secrets.rs checks bodies and logs for
//! secrets).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_model::Validity;
use common::{ROUTES, call, concrete, fixture};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn every_route_refuses_a_request_without_accepted_credentials() {
    let f = fixture(64 * 1024).await;
    let mut routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), concrete(p)))
        .collect();
    routes.push(("get".into(), clientele_web::OPENAPI_PATH.into()));
    routes.push(("get".into(), "/no/such/route".into()));
    for (method, uri) in &routes {
        for token in [None, Some("clientele_not-a-token"), Some("")] {
            let body = (method != "get").then(|| json!({}));
            let r = call(&f.app, method, uri, token, body).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {token:?}: {}",
                r.body
            );
            assert_eq!(r.content_type, "application/problem+json", "{method} {uri}");
            assert_eq!(r.json()["status"], 401);
        }
    }
    // Nothing was written by the refused requests.
    let anna = f.dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.validity, Validity::Valid);
    assert_eq!(anna.audit.changed_by.as_deref(), Some("seed"));
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let f = fixture(64 * 1024).await;
    let r = call(
        &f.app,
        "get",
        clientele_web::OPENAPI_PATH,
        Some(&f.token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let mut listed: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                listed.push((method.clone(), path.clone()));
                let op = &item[method];
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path}"
                );
            }
        }
    }
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
    // Every listed route is served: none answers with the router's "no route".
    for (method, path) in &listed {
        let body = (method != "get").then(|| json!({}));
        let r = call(&f.app, method, &concrete(path), Some(&f.token), body).await;
        if r.status == StatusCode::NOT_FOUND || r.status == StatusCode::METHOD_NOT_ALLOWED {
            assert_ne!(
                r.json()["type"],
                "urn:clientele:problem:no-route",
                "{method} {path}"
            );
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    // And a route not in the document is not served.
    let r = call(&f.app, "get", "/api/v1/tickets", Some(&f.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["type"], "urn:clientele:problem:no-route");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let f = fixture(1024).await;
    let big = json!({
        "login": "big", "first_name": "B", "last_name": "G", "email": "big@acme-corp.com",
        "customer_id": "ACME", "attributes": { "UserComment": "x".repeat(4096) }
    });
    let r = call(&f.app, "post", "/api/v1/users", Some(&f.token), Some(big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.json()["status"], 413);
    assert!(f.dir.customer_user("big").await.unwrap().is_none());
}

#[tokio::test]
async fn add_search_grant_effective_invalidate_round_trip() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());

    let r = call(
        &f.app,
        "post",
        "/api/v1/users",
        t,
        Some(json!({
            "login": "jdoe", "first_name": "John", "last_name": "Doe",
            "email": "jdoe@acme-corp.com", "customer_id": "ACME",
            "customer_ids": ["GLOBEX"],
            "attributes": { "UserCity": "Berlin" }
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let added = r.json();
    assert_eq!(added["login"], "jdoe");
    let generated = added["generated_password"]
        .as_str()
        .expect("a generated password")
        .to_owned();
    assert!(!generated.is_empty());
    // The generated password is the user's.
    f.dir
        .authenticate("jdoe", &clientele_model::Password::new(generated.clone()))
        .await
        .expect("the generated password logs in");

    let r = call(&f.app, "get", "/api/v1/users?term=doe&limit=5", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = r.json();
    assert_eq!(page["limit"], 5);
    assert_eq!(page["more_matched"], false);
    assert_eq!(page["users"][0]["login"], "jdoe");
    assert_eq!(
        page["users"][0]["display"],
        "\"John Doe\" <jdoe@acme-corp.com>"
    );

    let r = call(&f.app, "get", "/api/v1/users?limit=1", t, None).await;
    assert_eq!(
        r.json()["more_matched"],
        true,
        "two users, limit 1: {}",
        r.body
    );
    assert_eq!(r.json()["users"].as_array().unwrap().len(), 1);

    let r = call(&f.app, "get", "/api/v1/users/JDOE", t, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let shown = r.json();
    assert_eq!(shown["customer_ids"], json!(["ACME", "GLOBEX"]));
    assert_eq!(shown["city"], "Berlin");

    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/billing/grants",
        t,
        Some(json!({
            "user": "jdoe", "change": "add", "permissions": ["rw"]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["permissions"], json!(["rw"]));
    assert!(f.dir.has_permission("jdoe", "billing", "rw").await.unwrap());
    assert!(!f.dir.has_permission("anna", "billing", "rw").await.unwrap());

    let r = call(&f.app, "get", "/api/v1/users/jdoe/groups", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let groups = r.json();
    let billing = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "billing")
        .expect("billing among the effective groups");
    assert!(
        billing["effective"]
            .as_array()
            .unwrap()
            .contains(&json!("rw")),
        "{billing}"
    );
    assert!(
        billing["effective"]
            .as_array()
            .unwrap()
            .contains(&json!("ro")),
        "{billing}"
    );

    let r = call(
        &f.app,
        "get",
        "/api/v1/groups/billing/members?effective=true",
        t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("jdoe"), "{}", r.body);

    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/billing/grants",
        t,
        Some(json!({
            "company": "GLOBEX", "context": "other", "change": "add", "permissions": ["ro"]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["context"], "Ticket::CustomerID::Other");

    let r = call(
        &f.app,
        "put",
        "/api/v1/users/jdoe/services/Printing",
        t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(
        &f.app,
        "get",
        "/api/v1/users/jdoe/services?own=true",
        t,
        None,
    )
    .await;
    assert_eq!(r.json()["services"][0]["name"], "Printing", "{}", r.body);

    let r = call(&f.app, "post", "/api/v1/users/jdoe/invalidate", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["validity"], "invalid");

    // The Directory afterwards: what the API said it did, made by the token's actor.
    let jdoe = f.dir.customer_user("jdoe").await.unwrap().unwrap();
    assert_eq!(jdoe.validity, Validity::Invalid);
    assert_eq!(jdoe.audit.created_by.as_deref(), Some("api-admin"));
    assert_eq!(jdoe.audit.changed_by.as_deref(), Some("api-admin"));
    let ids: Vec<String> = f
        .dir
        .customer_ids("jdoe")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX"]);
    let services: Vec<String> = f
        .dir
        .own_services("jdoe")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(services, ["Printing"]);
    // An invalid user is left out of a default search, found with `all`.
    let r = call(&f.app, "get", "/api/v1/users?term=jdoe", t, None).await;
    assert_eq!(r.json()["users"], json!([]));
    let r = call(&f.app, "get", "/api/v1/users?term=jdoe&all=true", t, None).await;
    assert_eq!(r.json()["users"][0]["login"], "jdoe");
}

#[tokio::test]
async fn companies_are_added_changed_and_invalidated() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let r = call(&f.app, "post", "/api/v1/companies", t, Some(json!({
        "customer_id": "INITECH", "name": "Initech", "attributes": { "CustomerCompanyCity": "Austin" }
    }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(
        &f.app,
        "patch",
        "/api/v1/companies/INITECH",
        t,
        Some(json!({ "name": "Initech Corp" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "Initech Corp");
    let r = call(&f.app, "get", "/api/v1/companies?term=init*", t, None).await;
    assert_eq!(
        r.json()["companies"][0]["customer_id"],
        "INITECH",
        "{}",
        r.body
    );
    let r = call(&f.app, "get", "/api/v1/companies/ACME/users", t, None).await;
    assert_eq!(r.json()["users"][0]["login"], "anna", "{}", r.body);
    let r = call(
        &f.app,
        "post",
        "/api/v1/companies/INITECH/invalidate?temporarily=true",
        t,
        None,
    )
    .await;
    assert_eq!(r.json()["validity"], "invalid-temporarily", "{}", r.body);
    let c = f.dir.company("INITECH").await.unwrap().unwrap();
    assert_eq!(c.validity, Validity::InvalidTemporarily);
    assert_eq!(c.name, "Initech Corp");
}

#[tokio::test]
async fn problems_name_the_field() {
    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let user = |email: &str| {
        json!({
            "login": "bad", "first_name": "B", "last_name": "D", "email": email, "customer_id": "ACME"
        })
    };

    // Refused by the model's rules.
    let r = call(
        &f.app,
        "post",
        "/api/v1/users",
        t,
        Some(user("not-an-address")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.json()["field"], "UserEmail", "{}", r.body);

    // Missing from the body.
    let r = call(
        &f.app,
        "post",
        "/api/v1/users",
        t,
        Some(json!({ "first_name": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["field"].is_string(), "{}", r.body);

    // Not a field the API knows.
    let mut extra = user("bad@acme-corp.com");
    extra["colour"] = json!("red");
    let r = call(&f.app, "post", "/api/v1/users", t, Some(extra)).await;
    assert_eq!(r.json()["field"], "colour", "{}", r.body);

    // An attribute of the wrong shape.
    let mut shaped = user("bad@acme-corp.com");
    shaped["attributes"] = json!({ "UserCity": true });
    let r = call(&f.app, "post", "/api/v1/users", t, Some(shaped)).await;
    assert_eq!(r.json()["field"], "attributes.UserCity", "{}", r.body);

    // Taken.
    let mut taken = user("anna@acme-corp.com");
    taken["login"] = json!("ANNA");
    let r = call(&f.app, "post", "/api/v1/users", t, Some(taken)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.json()["field"], "UserLogin", "{}", r.body);

    // Not found.
    let r = call(&f.app, "get", "/api/v1/users/nobody", t, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["field"], "login");
    assert_eq!(r.json()["key"], "nobody");
    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/nogroup/grants",
        t,
        Some(json!({
            "user": "anna", "change": "add", "permissions": ["ro"]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.json()["field"], "group");

    // A permission type that is not configured.
    let r = call(
        &f.app,
        "post",
        "/api/v1/groups/billing/grants",
        t,
        Some(json!({
            "user": "anna", "change": "add", "permissions": ["fly"]
        })),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert!(r.json()["field"].is_string(), "{}", r.body);

    // A bad query parameter.
    let r = call(&f.app, "get", "/api/v1/users?limit=many", t, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["field"], "limit", "{}", r.body);
    let r = call(&f.app, "get", "/api/v1/users?limit=0", t, None).await;
    assert_eq!(r.json()["field"], "limit", "{}", r.body);

    // A search term the language refuses.
    let r = call(&f.app, "get", "/api/v1/users?term=%22open", t, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["field"], "term");

    // Not JSON at all.
    let req = Request::post("/api/v1/users")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(f.dir.customer_user("bad").await.unwrap().is_none());
}
