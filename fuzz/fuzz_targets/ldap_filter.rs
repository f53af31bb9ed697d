//! The LDAP filter compiler: for any query the filter is valid RFC 4515 (ldap3's own parser
//! accepts it) — a user's `(`, `)`, `*`, `\` or NUL can never change the filter's structure.
#![no_main]

use std::sync::OnceLock;

use clientele_fuzz::FuzzQuery;
use clientele_ldap::{LdapBackend, LdapConfig};
use libfuzzer_sys::fuzz_target;

fn backend() -> &'static LdapBackend {
    static B: OnceLock<LdapBackend> = OnceLock::new();
    B.get_or_init(|| {
        LdapBackend::new(LdapConfig {
            customer_id: "o".into(),
            customer_ids_attribute: Some("departmentNumber".into()),
            always_filter: Some("objectClass=inetOrgPerson".into()),
            valid_filter: Some("(!(description=gesperrt))".into()),
            ..LdapConfig::new("ldap://127.0.0.1:1", "ou=people,dc=example,dc=org")
        })
        .expect("ldap config")
    })
}

fuzz_target!(|input: FuzzQuery| {
    let Some(query) = input.query() else {
        return;
    };
    let filter = backend().search_filter(&query);
    assert!(
        ldap3::parse_filter(&filter).is_ok(),
        "invalid filter {filter:?} for {query:?}"
    );
    // Every user byte is escaped: a filter never contains a raw NUL.
    assert!(!filter.contains('\0'), "raw NUL in {filter:?}");
});
