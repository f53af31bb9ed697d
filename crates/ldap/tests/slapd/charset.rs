//! Source charset: ISO-8859-1 bytes decoded; invalid bytes a typed error naming the attribute.

use clientele_backend::{CustomerUserSource, Error};
use clientele_ldap::{LdapConfig, LdapSourceError};
use clientele_model::{AttributeMapping, AttributeValue};

use crate::common::*;

fn with_audio(s: &Slapd, charset: &str) -> LdapConfig {
    let mut c = LdapConfig {
        source_charset: charset.into(),
        ..config(s)
    };
    c.settings
        .map
        .push(AttributeMapping::new("UserAudio", "Audio", "audio"));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn latin1_values_are_decoded() {
    let s = Slapd::start();
    for charset in ["iso-8859-1", "latin1", "windows-1252"] {
        let ldap = backend(with_audio(&s, charset));
        let u = ldap.get("latin1").await.unwrap().expect("latin1");
        assert_eq!(
            u.extra.get("UserAudio"),
            Some(&AttributeValue::Text("Jürgen Müller".into())),
            "{charset}"
        );
        assert_eq!(u.first_name, "Latin");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn invalid_bytes_are_a_typed_error() {
    let s = Slapd::start();
    let ldap = backend(with_audio(&s, "utf-8"));
    let e = ldap.get("latin1").await.unwrap_err();
    let Error::Backend { backend, source } = &e else {
        panic!("expected a backend error, got {e:?}");
    };
    assert_eq!(backend, "LDAP");
    match source.downcast_ref::<LdapSourceError>() {
        Some(LdapSourceError::Charset {
            attribute,
            dn,
            charset,
        }) => {
            assert_eq!(attribute, "audio");
            assert_eq!(dn, "uid=latin1,ou=people,dc=example,dc=org");
            assert_eq!(charset, "UTF-8");
        }
        other => panic!("expected a charset error, got {other:?}"),
    }
    assert!(e.to_string().contains("LDAP"), "{e}");
    // Entries without the attribute are unaffected.
    assert!(ldap.get("jdoe").await.unwrap().is_some());
}
