//! A running `clientele serve` follows `clientele serve token add|revoke` without a restart:
//! a revoked token is refused, an added one accepted, within a second of the change.
#![cfg(feature = "web")]

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::{Env, Server};

/// The status code of one `GET` over a plain TCP stream.
fn status(addr: &str, path: &str, token: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

/// Starts `clientele serve` on a free loopback port; (server, address, its log).
fn start(env: &Env) -> (Server, String, std::process::ChildStderr) {
    let (mut server, addr) = env.serve(Stdio::piped());
    let stderr = server.0.stderr.take().unwrap();
    (server, addr, stderr)
}

fn token(env: &Env, actor: &str) -> (String, String) {
    let added = env.json(&["serve", "token", "add", "--actor", actor]);
    (
        added["token"].as_str().unwrap().to_owned(),
        added["id"].as_str().unwrap().to_owned(),
    )
}

/// Past the server's once-a-second look at the file.
fn after_the_next_check() {
    std::thread::sleep(Duration::from_millis(1300));
}

#[test]
fn a_running_server_follows_token_add_and_revoke_without_a_restart() {
    let env = Env::new("");
    env.ok(&["init"]);
    let (first, first_id) = token(&env, "first");
    let (server, addr, stderr) = start(&env);
    let pid = server.0.id();

    assert_eq!(status(&addr, "/api/v1/groups", &first), 200);
    // A token added while the server runs is accepted.
    let (second, second_id) = token(&env, "second");
    after_the_next_check();
    assert_eq!(status(&addr, "/api/v1/groups", &second), 200);
    assert_eq!(status(&addr, "/api/v1/groups", &first), 200);

    // Revoked: the next request after the server's next look is refused; the other stays.
    env.ok(&["serve", "token", "revoke", &first_id]);
    after_the_next_check();
    assert_eq!(status(&addr, "/api/v1/groups", &first), 401);
    assert_eq!(status(&addr, "/api/v1/groups", &second), 200);

    // A configuration file broken meanwhile keeps the list the server has.
    let good = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        format!("{good}\n[web\nurl = \"postgres://u:hunter2@db\"\n"),
    )
    .unwrap();
    after_the_next_check();
    assert_eq!(status(&addr, "/api/v1/groups", &second), 200);
    assert_eq!(status(&addr, "/api/v1/groups", &first), 401);
    std::fs::write(&env.config, &good).unwrap();

    env.ok(&["serve", "token", "revoke", &second_id]);
    after_the_next_check();
    assert_eq!(status(&addr, "/api/v1/groups", &second), 401);
    // The same process all along.
    assert_eq!(server.0.id(), pid);
    drop(server);

    // The log warned about the broken file without quoting it, and shows no token.
    let mut log = String::new();
    BufReader::new(stderr).read_to_string(&mut log).unwrap();
    assert!(log.contains("could not be re-read"), "{log}");
    for secret in ["hunter2", first.as_str(), second.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}
