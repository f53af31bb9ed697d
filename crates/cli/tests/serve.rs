//! `clientele serve token add|list|revoke` edit the configuration file (only digests in it),
//! and `clientele serve` answers the JSON API on a loopback port, as the token's actor.
#![cfg(feature = "web")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use common::Env;

/// One HTTP/1.1 request over a plain TCP stream; (status line, body).
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn token_add_stores_only_the_digest_and_revoke_removes_it() {
    let env = Env::new("# the operator's own comment stays\n");
    let added = env.json(&["serve", "token", "add", "--actor", "1"]);
    let token = added["token"].as_str().unwrap().to_owned();
    let id = added["id"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("clientele_") && token.len() >= 10 + 32,
        "{token}"
    );

    let text = std::fs::read_to_string(&env.config).unwrap();
    assert!(
        !text.contains(&token),
        "the token itself is in the file:\n{text}"
    );
    assert!(
        !text.contains(token.trim_start_matches("clientele_")),
        "{text}"
    );
    assert!(text.contains("[[web.token]]"), "{text}");
    assert!(text.contains(&format!("id = \"{id}\"")), "{text}");
    assert!(
        text.contains("# the operator's own comment stays"),
        "{text}"
    );
    // The file still reads.
    env.ok(&["check-config"]);

    let second = env.json(&["serve", "token", "add", "--actor", "2"]);
    assert_ne!(second["token"], added["token"]);
    let listed = env.json(&["serve", "token", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains(&token));

    env.ok(&["serve", "token", "revoke", &id]);
    let listed = env.json(&["serve", "token", "list"]);
    assert_eq!(
        listed,
        serde_json::json!([{ "id": second["id"], "actor": "2" }])
    );

    let (code, stderr) = env.fails(&["serve", "token", "revoke", &id]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&id), "{stderr}");
    env.ok(&["serve", "token", "revoke", "--actor", "2"]);
    assert_eq!(env.json(&["serve", "token", "list"]), serde_json::json!([]));

    let (code, stderr) = env.fails(&["serve", "token", "add", "--actor", " "]);
    assert_eq!(code, 1);
    assert!(stderr.contains("actor"), "{stderr}");
}

#[test]
fn serve_answers_on_a_loopback_port_as_the_tokens_actor() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme Corp"]);
    let token = env.json(&["serve", "token", "add", "--actor", "7"])["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (server, addr) = env.serve(Stdio::null());
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let (status, body) = http(&addr, "GET", "/api/v1/companies", None, "");
    assert!(status.contains("401"), "{status} {body}");
    let (status, _) = http(
        &addr,
        "GET",
        "/api/v1/companies",
        Some("clientele_wrong"),
        "",
    );
    assert!(status.contains("401"), "{status}");

    let (status, body) = http(&addr, "GET", "/api/v1/companies", Some(&token), "");
    assert!(status.contains("200"), "{status} {body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["companies"][0]["customer_id"], "ACME", "{body}");

    let new_user = r#"{"login":"jdoe","first_name":"John","last_name":"Doe",
        "email":"jdoe@acme-corp.com","customer_id":"ACME"}"#;
    let (status, body) = http(&addr, "POST", "/api/v1/users", Some(&token), new_user);
    assert!(status.contains("201"), "{status} {body}");
    let (status, body) = http(&addr, "GET", "/api/v1/openapi.json", Some(&token), "");
    assert!(
        status.contains("200") && body.contains("\"openapi\""),
        "{status}"
    );
    drop(server);

    // The write is the token's actor's, as the command line sees it.
    let shown = env.json(&["user", "show", "jdoe"]);
    assert_eq!(shown["audit"]["created_by"], "7", "{shown}");
}

#[test]
fn scim_tokens_open_scim_and_api_tokens_the_api() {
    let env = Env::new("");
    env.ok(&["init"]);
    let api = env.json(&["serve", "token", "add", "--actor", "1"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = env.json(&["serve", "token", "add", "--actor", "2", "--scim"]);
    assert_eq!(added["scope"], "scim");
    let scim = added["token"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&env.config).unwrap();
    assert!(text.contains("scope = \"scim\""), "{text}");
    assert!(!text.contains(&scim), "{text}");
    let listed = env.json(&["serve", "token", "list"]);
    assert_eq!(listed[1]["scope"], "scim", "{listed}");
    env.ok(&["check-config"]);

    let (server, addr) = env.serve(Stdio::null());
    let spc = "/scim/v2/ServiceProviderConfig";
    let (status, body) = http(&addr, "GET", spc, Some(&scim), "");
    assert!(
        status.contains("200") && body.contains("\"patch\""),
        "{status} {body}"
    );
    let (status, _) = http(&addr, "GET", spc, Some(&api), "");
    assert!(status.contains("401"), "{status}");
    let (status, _) = http(&addr, "GET", "/api/v1/companies", Some(&scim), "");
    assert!(status.contains("401"), "{status}");
    let (status, _) = http(&addr, "GET", "/api/v1/companies", Some(&api), "");
    assert!(status.contains("200"), "{status}");
    drop(server);
}
