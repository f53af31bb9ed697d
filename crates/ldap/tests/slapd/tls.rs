//! StartTLS and ldaps with the test CA; the wrong CA is refused.

use std::time::Instant;

use clientele_backend::{BindAuthenticator, CustomerUserSource, Error};
use clientele_ldap::{LdapConfig, LdapSourceError};
use clientele_model::Password;

use crate::common::*;

fn with_tls(s: &Slapd, url: String, starttls: bool, ca: &str) -> LdapConfig {
    LdapConfig {
        url: Some(url),
        starttls,
        ca_file: Some(s.var(ca).into()),
        ..config(s)
    }
}

fn is_tls_refusal(e: &Error) -> bool {
    match e {
        Error::Backend { backend, source } if backend == "LDAP" => matches!(
            source.downcast_ref::<LdapSourceError>(),
            Some(LdapSourceError::Tls { message, .. }) if message.contains("UnknownIssuer") || message.contains("certificate")
        ),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn starttls_and_ldaps_with_the_test_ca() {
    let s = Slapd::start();
    for (url, starttls) in [(s.url(), true), (s.ldaps_url(), false)] {
        let ldap = backend(with_tls(&s, url.clone(), starttls, "CLIENTELE_LDAP_CA"));
        let u = ldap
            .get("jdoe")
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(u.is_some(), "{url}");
        // Binds go over TLS the same way.
        assert!(
            ldap.bind("jdoe", &Password::new("jdoe-secret"))
                .await
                .unwrap(),
            "{url}"
        );
        assert!(
            !ldap.bind("jdoe", &Password::new("wrong")).await.unwrap(),
            "{url}"
        );
    }
    // The CA also verifies the name `localhost` (the certificate's DNS SAN).
    let localhost = s.ldaps_url().replace("127.0.0.1", "localhost");
    let ldap = backend(with_tls(&s, localhost, false, "CLIENTELE_LDAP_CA"));
    assert!(ldap.get("asmith").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn the_wrong_ca_is_refused() {
    let s = Slapd::start();
    for (url, starttls) in [(s.url(), true), (s.ldaps_url(), false)] {
        let ldap = backend(with_tls(
            &s,
            url.clone(),
            starttls,
            "CLIENTELE_LDAP_WRONG_CA",
        ));
        let t = Instant::now();
        let e = ldap.get("jdoe").await.unwrap_err();
        eprintln!("{url} with the wrong CA: {e} ({:?})", t.elapsed());
        assert!(is_tls_refusal(&e), "{url}: {e:?}");
        assert!(
            !e.is_retryable(),
            "a certificate problem is not fixed by retrying"
        );
        let e = ldap
            .bind("jdoe", &Password::new("jdoe-secret"))
            .await
            .unwrap_err();
        assert!(is_tls_refusal(&e), "{url}: {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn no_verify_accepts_any_certificate() {
    let s = Slapd::start();
    let ldap = backend(LdapConfig {
        url: Some(s.ldaps_url()),
        tls_no_verify: true,
        ..config(&s)
    });
    assert!(ldap.get("jdoe").await.unwrap().is_some());
}
