//! What needs no server: an address nobody listens on.

use std::time::{Duration, Instant};

use clientele_backend::{BindAuthenticator, CustomerUserSource, Error};
use clientele_ldap::{LdapBackend, LdapConfig};
use clientele_model::Password;
use clientele_model::search::CustomerUserSearch;

use crate::common::ldap_directory;

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn refused_connection_is_unavailable_at_once() {
    let config = LdapConfig {
        connect_timeout_ms: 1_000,
        operation_timeout_ms: 1_000,
        ..LdapConfig::new(
            format!("ldap://127.0.0.1:{}", closed_port()),
            "dc=example,dc=org",
        )
    };
    let ldap = std::sync::Arc::new(LdapBackend::new(config).unwrap());
    let t = Instant::now();
    let e = ldap.get("jdoe").await.unwrap_err();
    assert!(
        matches!(&e, Error::Unavailable { backend, .. } if backend == "LDAP Backend"),
        "{e}"
    );
    assert!(e.to_string().contains("LDAP Backend"));
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        ldap.bind("jdoe", &Password::new("x")).await,
        Err(Error::Unavailable { .. })
    ));
    // An empty password is refused before any connection is tried.
    assert!(!ldap.bind("jdoe", &Password::new("")).await.unwrap());
    let dir = ldap_directory(&ldap);
    assert!(matches!(
        dir.search(&CustomerUserSearch::term("x")).await,
        Err(Error::Unavailable { .. })
    ));
}

#[tokio::test]
async fn every_url_is_tried_in_order() {
    let config = LdapConfig {
        urls: vec![format!("ldap://127.0.0.1:{}", closed_port())],
        connect_timeout_ms: 500,
        ..LdapConfig::new(
            format!("ldap://127.0.0.1:{}", closed_port()),
            "dc=example,dc=org",
        )
    };
    assert_eq!(config.server_urls().len(), 2);
    let ldap = LdapBackend::new(config).unwrap();
    assert!(matches!(
        ldap.get("x").await,
        Err(Error::Unavailable { .. })
    ));
}
