//! Mounting the Clientele JSON API inside a host's own axum application.
//!
//! ```text
//! cargo run --example embed_web --features web            # answers one request, then stops
//! cargo run --example embed_web --features web -- --stay  # keeps serving until Ctrl-C
//! ```
//!
//! The host has its own routes and its own agent sessions. It nests Clientele's router under
//! `/customers` and plugs its session check in as the [`Authenticator`]: here, a fixed session
//! cookie stands for the host's real session store. Writes through the API are recorded as
//! made by the session's agent.

use std::sync::Arc;

use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser};
use clientele::web::axum::http::header::COOKIE;
use clientele::web::axum::http::request::Parts;
use clientele::web::{Authenticator, Principal, WebConfig, async_trait, axum, router};
use clientele::{Directory, InMemoryBackend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The host's session check: the agent whose session the cookie names.
struct HostSessions;

#[async_trait]
impl Authenticator for HostSessions {
    async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
        let cookies = parts.headers.get(COOKIE)?.to_str().ok()?;
        // A real host looks the session up in its store; this one knows a single session.
        cookies
            .split(';')
            .any(|c| c.trim() == "host_session=agent-42-session")
            .then(|| Principal::new("agent.smith"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = Arc::new(Directory::in_memory(Arc::new(InMemoryBackend::new())));
    directory
        .add_company(NewCustomerCompany::new("ACME", "Acme Corp"), Actor::System)
        .await?;
    directory
        .add_customer_user(
            NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
            Actor::System,
        )
        .await?;

    // The host's application: its own pages, and Clientele under /customers.
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { "the host's start page" }),
        )
        .nest(
            "/customers",
            router(directory, WebConfig::new(HostSessions)),
        );

    // Loopback only: a TLS reverse proxy in front is what the outside world talks to.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("serving on http://{addr}; the API is under http://{addr}/customers/api/v1/");
    println!("its OpenAPI document: http://{addr}/customers/api/v1/openapi.json");

    let stay = std::env::args().any(|a| a == "--stay");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(clientele::web::serve(listener, app, async {
        let _ = stopped.await;
    }));

    if stay {
        println!("try: curl -b host_session=agent-42-session http://{addr}/customers/api/v1/users");
        tokio::signal::ctrl_c().await?;
    } else {
        // One request as a browser with the host's session would make it.
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!(
            "GET /customers/api/v1/users?term=doe HTTP/1.1\r\nHost: {addr}\r\n\
             Cookie: host_session=agent-42-session\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let status = response.lines().next().unwrap_or_default();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        println!("GET /customers/api/v1/users?term=doe -> {status}");
        println!("{body}");
        assert!(status.contains("200"), "the API answered {status}");
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
