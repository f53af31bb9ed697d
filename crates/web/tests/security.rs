//! The JSON API's security properties route by route: every route in `ROUTES` refuses a
//! request without credentials or with a wrong one (`401`, nothing written), refuses an
//! oversized body (`413`, nothing written), and no response body or log line shows the seeded
//! password, a password hash, a token or its digest — the password route included, whose
//! generated password shows in its one response and nowhere else.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use clientele_model::Validity;
use common::{ROUTES, SEEDED_PASSWORD, call, concrete, fixture};
use serde_json::{Value, json};

/// Every route of `ROUTES` with a concrete URI, and the OpenAPI document.
fn every_route() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), concrete(p)))
        .collect();
    routes.push(("get".into(), clientele_web::OPENAPI_PATH.into()));
    routes
}

/// A body each writing route would accept were it authorised.
fn plausible_body(method: &str, uri: &str) -> Option<Value> {
    if method == "get" {
        return None;
    }
    Some(if uri.ends_with("/password") {
        json!({ "password": "Would-Be-Secret-1" })
    } else if uri.contains("/preferences/") {
        json!({ "value": "xx" })
    } else if uri.ends_with("/grants") {
        json!({ "user": "anna", "change": "add", "permissions": ["rw"] })
    } else if uri == "/api/v1/groups" || uri == "/api/v1/services" {
        json!({ "name": "intruder" })
    } else {
        json!({ "name": "Intruder", "email": "intruder@acme-corp.com", "validity": "invalid" })
    })
}

/// Nothing the refused requests would have written is there.
async fn nothing_written(dir: &clientele_directory::Directory) {
    let anna = dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.validity, Validity::Valid);
    assert_eq!(anna.audit.changed_by.as_deref(), Some("seed"));
    assert!(dir.preferences("anna").await.unwrap().is_empty());
    assert!(
        dir.authenticate("anna", &clientele_model::Password::new(SEEDED_PASSWORD))
            .await
            .is_ok(),
        "the password is unchanged"
    );
    let groups: Vec<String> = dir
        .groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, ["billing"]);
    let services: Vec<String> = dir
        .services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(services, ["Printing"]);
    assert!(
        dir.relation_snapshot()
            .await
            .unwrap()
            .user_grants
            .is_empty()
    );
    assert_eq!(
        dir.company("ACME").await.unwrap().unwrap().validity,
        Validity::Valid
    );
}

#[tokio::test]
async fn every_route_answers_401_without_or_with_wrong_credentials() {
    let f = fixture(64 * 1024).await;
    let digest = clientele_web::token_digest(&f.token);
    let wrong = [
        None,
        Some(String::new()),
        Some("clientele_0000000000000000000000000000000000000000000000000000000000000000".into()),
        // The right token with a character more, less or changed.
        Some(format!("{}0", f.token)),
        Some(f.token[..f.token.len() - 1].to_owned()),
        Some(f.token.to_ascii_uppercase()),
        // What the configuration stores is not a credential.
        Some(digest.clone()),
        Some(digest[..12].to_owned()),
    ];
    for (method, uri) in every_route() {
        for token in &wrong {
            let r = call(
                &f.app,
                &method,
                &uri,
                token.as_deref(),
                plausible_body(&method, &uri),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {token:?}"
            );
            assert_eq!(r.content_type, "application/problem+json", "{method} {uri}");
            assert_eq!(r.json()["status"], 401);
        }
    }
    // The right token under another scheme is refused too.
    let app = f.app.clone();
    for header in [format!("Basic {}", f.token), f.token.clone()] {
        let request = axum::http::Request::get("/api/v1/users")
            .header("authorization", header.as_str())
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:.8}…");
    }
    nothing_written(&f.dir).await;
}

#[tokio::test]
async fn every_route_that_reads_a_body_refuses_an_oversized_one_with_413() {
    let f = fixture(1024).await;
    let t = Some(f.token.as_str());
    // The routes that read a body are those whose operation documents one.
    let doc = serde_json::to_value(clientele_web::openapi()).unwrap();
    let mut checked = Vec::new();
    for (method, path) in ROUTES {
        if doc["paths"][*path][*method]["requestBody"].is_null() {
            continue;
        }
        let uri = concrete(path);
        let mut body = plausible_body(method, &uri).unwrap();
        body["padding"] = json!("x".repeat(4096));
        let r = call(&f.app, method, &uri, t, Some(body)).await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {uri}: {}",
            r.body
        );
        assert_eq!(r.content_type, "application/problem+json", "{method} {uri}");
        assert_eq!(r.json()["status"], 413);
        checked.push(format!("{method} {path}"));
    }
    // POST users, companies, groups, services, grants; PATCH users, companies, groups,
    // services; PUT password, preference.
    assert_eq!(checked.len(), 11, "{checked:?}");
    nothing_written(&f.dir).await;
}

/// A `Write` into a shared buffer, for the log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_body_or_log_line_shows_a_password_a_hash_or_a_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let f = fixture(64 * 1024).await;
    let t = Some(f.token.as_str());
    let source = f.dir.source_names()[0].clone();
    let seeded_hash = f
        .dir
        .stored_password_hash(&source, "anna")
        .await
        .unwrap()
        .expect("a stored hash");
    let mut bodies = Vec::new();

    // A given password: set, refused by deny_unknown_fields, set again.
    for body in [
        json!({ "password": "Given-Secret-77!" }),
        json!({ "password": "Given-Secret-77!", "generate": true }),
        json!({ "password": "Given-Secret-77!", "note": "x" }),
        json!({ "password": SEEDED_PASSWORD }),
    ] {
        let r = call(&f.app, "put", "/api/v1/users/anna/password", t, Some(body)).await;
        bodies.push(r.body);
    }
    let given_hash = f
        .dir
        .stored_password_hash(&source, "anna")
        .await
        .unwrap()
        .unwrap();

    // Every route, with the seeded password in the body wherever one is read.
    for (method, uri) in every_route() {
        let body = (method != "get").then(|| json!({ "password": SEEDED_PASSWORD }));
        bodies.push(call(&f.app, &method, &uri, t, body).await.body);
    }
    for uri in [
        "/api/v1/users/anna",
        "/api/v1/users?term=*",
        "/api/v1/users?email=anna*&all=true",
        "/api/v1/companies/ACME/users",
        "/api/v1/groups/billing/members?effective=true",
    ] {
        bodies.push(call(&f.app, "get", uri, t, None).await.body);
    }
    // Secrets in places they do not belong: a query string, a wrong token.
    let uri = format!("/api/v1/users?term={}", f.token);
    bodies.push(call(&f.app, "get", &uri, None, None).await.body);
    bodies.push(
        call(
            &f.app,
            "put",
            "/api/v1/users/nobody/password",
            t,
            Some(json!({ "password": SEEDED_PASSWORD })),
        )
        .await
        .body,
    );

    // The generated password: in its one response, nowhere else.
    let generated = call(
        &f.app,
        "put",
        "/api/v1/users/anna/password",
        t,
        Some(json!({ "generate": true })),
    )
    .await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.body);
    let password = generated.json()["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let generated_hash = f
        .dir
        .stored_password_hash(&source, "anna")
        .await
        .unwrap()
        .unwrap();
    for uri in ["/api/v1/users/anna", "/api/v1/users?term=anna"] {
        bodies.push(call(&f.app, "get", uri, t, None).await.body);
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    let digest = clientele_web::token_digest(&f.token);
    let secrets = [
        SEEDED_PASSWORD,
        "Given-Secret-77!",
        password.as_str(),
        f.token.as_str(),
        digest.as_str(),
        seeded_hash.as_str(),
        given_hash.as_str(),
        generated_hash.as_str(),
    ];
    for text in bodies.iter().chain(std::iter::once(&logs)) {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret shows in: {text}");
        }
        // Stored password hashes: argon2id, bcrypt, OTOBO's sha2 in hex.
        for marker in ["$argon2", "$2a$", "$2b$", "$2y$", "UserPassword", "\"pw\""] {
            assert!(!text.contains(marker), "{marker} shows in: {text}");
        }
    }
    // The generated password's own response shows it and nothing else secret.
    for secret in &secrets[..2] {
        assert!(!generated.body.contains(secret), "{}", generated.body);
    }
    assert!(
        !generated.body.contains(&generated_hash),
        "{}",
        generated.body
    );
}
