//! No SCIM response body and no log line shows a password, a hash or a token. Its own test
//! binary: the log capture is the process's one subscriber.

mod scim_common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use clientele_web::scim::ScimSettings;
use scim_common::*;
use serde_json::json;

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
async fn no_body_or_log_line_shows_a_password_or_a_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let f = fixture(ScimSettings::default()).await;
    let mut bodies = Vec::new();
    bodies.push(
        f.call("POST", "/scim/v2/Users", Some(new_user("bob")))
            .await
            .body,
    );
    let mut weak = new_user("weak");
    weak["password"] = json!("short");
    bodies.push(f.call("POST", "/scim/v2/Users", Some(weak)).await.body);
    bodies.push(f.call("GET", "/scim/v2/Users", None).await.body);
    bodies.push(f.call("GET", "/scim/v2/Users/bob", None).await.body);
    let pw = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "password", "value": SECRET}]});
    bodies.push(f.call("PATCH", "/scim/v2/Users/bob", Some(pw)).await.body);
    bodies.push(
        send(&f.app, "GET", "/scim/v2/Users", Some(&f.api), None, None)
            .await
            .body,
    );
    let hash = f
        .dir
        .stored_password_hash("main", "bob")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("scim request"), "requests are logged: {logs}");
    for text in bodies.iter().chain([&logs]) {
        for secret in [SECRET, "short", f.scim.as_str(), f.api.as_str()] {
            assert!(!text.contains(secret), "{secret:?} shown: {text}");
        }
        if !hash.is_empty() {
            assert!(!text.contains(&hash), "the hash is shown: {text}");
        }
        assert!(!text.to_lowercase().contains("\"password\""), "{text}");
    }
}
