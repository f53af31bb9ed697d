//! A throwaway slapd per test (scripts/slapd.sh), and the configurations the tests share.

use std::sync::Arc;

use clientele_backend::{CompanySettings, InMemoryBackend, SourceSettings};
use clientele_db::{DbBackend, DbConfig};
use clientele_directory::{Directory, DirectoryConfig, SearchHit, Source};
use clientele_ldap::{LdapBackend, LdapConfig};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Password};
use clientele_password::{Argon2Params, PasswordConfig};

pub use crate::server::Slapd;

/// Where people live in the test directory.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// Where groups live.
pub const GROUPS: &str = "ou=groups,dc=example,dc=org";

/// The test directory as OTOBO would be configured for it: people below `ou=people`, the
/// reader account, `o` = primary customer id, `departmentNumber` = secondary ids, the
/// `gesperrt` valid filter.
pub fn config(s: &Slapd) -> LdapConfig {
    LdapConfig {
        bind_dn: Some(s.var("CLIENTELE_LDAP_BIND_DN")),
        bind_password: Some(Password::new(s.var("CLIENTELE_LDAP_BIND_PW"))),
        customer_id: "o".into(),
        customer_ids_attribute: Some("departmentNumber".into()),
        always_filter: Some("(objectClass=inetOrgPerson)".into()),
        valid_filter: Some("(!(description=gesperrt))".into()),
        connect_timeout_ms: 2_000,
        operation_timeout_ms: 5_000,
        settings: SourceSettings {
            name: "LDAP".into(),
            ..LdapConfig::default_settings()
        },
        ..LdapConfig::new(s.url(), PEOPLE)
    }
}

pub fn backend(config: LdapConfig) -> Arc<LdapBackend> {
    Arc::new(LdapBackend::new(config).expect("LDAP config"))
}

/// Cheap password hashing: these tests are about LDAP, not argon2's cost.
pub fn directory_config() -> DirectoryConfig {
    DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        ..DirectoryConfig::default()
    }
}

pub fn ldap_source(ldap: &Arc<LdapBackend>) -> Source {
    Source::read_only(ldap.clone()).with_bind_authenticator(ldap.clone())
}

/// A Directory with the LDAP source alone; preferences in memory.
pub fn ldap_directory(ldap: &Arc<LdapBackend>) -> Directory {
    let prefs = Arc::new(InMemoryBackend::new());
    Directory::builder()
        .source(ldap_source(ldap))
        .preference_store(prefs)
        .config(directory_config())
        .build()
        .expect("directory")
}

/// The writable "DB" source: clientele-db on an in-memory SQLite database, migrated, with its
/// own users: `dbuser` (customer db-customer, password `dbuser-secret`), `dbacme` (customer
/// acme) and a `shared-login` of its own (password `db-shared-secret`, mail
/// shared-login@db.example).
pub async fn db() -> Arc<DbBackend> {
    let config = DbConfig {
        settings: SourceSettings {
            name: "DB".into(),
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        company_settings: CompanySettings {
            name: "DB".into(),
            cache_ttl: 0,
            ..CompanySettings::default()
        },
        ..DbConfig::default()
    };
    let db = Arc::new(
        DbBackend::connect("sqlite::memory:", config)
            .await
            .expect("SQLite in memory"),
    );
    clientele_db::migrate(db.connection())
        .await
        .expect("migrations");
    let seed = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(directory_config())
        .build()
        .expect("seeding directory");
    for (id, name) in [("acme", "Acme"), ("db-customer", "DB Customer")] {
        seed.add_company(
            NewCustomerCompany::new(id, name),
            clientele_model::Actor::System,
        )
        .await
        .expect("company");
    }
    for (login, first, last, mail, customer, pw) in [
        (
            "dbuser",
            "Dora",
            "Base",
            "dora@db.example",
            "db-customer",
            "dbuser-secret",
        ),
        (
            "dbacme",
            "Dan",
            "Acme",
            "dan@db.example",
            "acme",
            "dbacme-secret",
        ),
        (
            "shared-login",
            "Shared",
            "Login (DB)",
            "shared-login@db.example",
            "db-customer",
            "db-shared-secret",
        ),
    ] {
        seed.add_customer_user(
            NewCustomerUser::new(login, first, last, mail, customer).password(pw),
            clientele_model::Actor::System,
        )
        .await
        .expect("seed user");
    }
    db
}

/// A Directory over `[DB, LDAP]` (`ldap_first = false`) or `[LDAP, DB]`; companies, relations
/// and preferences in the DB store.
pub fn chained(db: &Arc<DbBackend>, ldap: &Arc<LdapBackend>, ldap_first: bool) -> Directory {
    let db_source = Source::writable(db.clone());
    let mut b = Directory::builder();
    if ldap_first {
        b = b.source(ldap_source(ldap)).source(db_source);
    } else {
        b = b.source(db_source).source(ldap_source(ldap));
    }
    b.company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(directory_config())
        .build()
        .expect("directory")
}

/// The logins of search hits, in order.
pub fn logins(hits: &[SearchHit]) -> Vec<String> {
    hits.iter().map(|h| h.user.login.to_string()).collect()
}
