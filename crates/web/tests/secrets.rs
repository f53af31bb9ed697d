//! No response body and no log line shows a password, a password hash or a bearer token. Its
//! own test binary: the log capture is the process's one subscriber, so no other test's
//! requests race its callsites.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::{ROUTES, SEEDED_PASSWORD, call, concrete, fixture};
use serde_json::{Value, json};

/// A `Write` into a shared buffer, for the log lines of one test.
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
    let mut bodies = Vec::new();
    let r = call(
        &f.app,
        "post",
        "/api/v1/users",
        t,
        Some(json!({
            "login": "carl", "first_name": "Carl", "last_name": "Dorn",
            "email": "carl@acme-corp.com", "customer_id": "ACME", "password": "Given-Secret-77!"
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["generated_password"], Value::Null);
    bodies.push(r.body);
    for (method, path) in ROUTES {
        let body = (*method != "get").then(|| json!({ "password": SEEDED_PASSWORD }));
        bodies.push(call(&f.app, method, &concrete(path), t, body).await.body);
    }
    for uri in [
        "/api/v1/users/anna",
        "/api/v1/users/carl",
        "/api/v1/users?term=*",
        "/api/v1/users?email=anna*",
    ] {
        bodies.push(call(&f.app, "get", uri, t, None).await.body);
    }
    // A wrong token, and the right one in the wrong place.
    bodies.push(
        call(
            &f.app,
            "get",
            "/api/v1/users",
            Some("clientele_wrong"),
            None,
        )
        .await
        .body,
    );
    let uri = format!("/api/v1/users?term={}", f.token);
    bodies.push(call(&f.app, "get", &uri, None, None).await.body);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    let secrets = [SEEDED_PASSWORD, "Given-Secret-77!", f.token.as_str()];
    for text in bodies.iter().chain(std::iter::once(&logs)) {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret shows in: {text}");
        }
        // Stored password hashes: argon2id, bcrypt, OTOBO's sha2 in hex.
        for marker in ["$argon2", "$2a$", "$2b$", "$2y$", "UserPassword", "\"pw\""] {
            assert!(!text.contains(marker), "{marker} shows in: {text}");
        }
    }
}
