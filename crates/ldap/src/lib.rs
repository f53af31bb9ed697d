//! # clientele-ldap
//!
//! A read-only customer-user source on an LDAP directory (OpenLDAP, Active Directory, 389 DS, …)
//! for Clientele, on the pure-Rust [`ldap3`] client with rustls. It is OTOBO's
//! `Kernel::System::CustomerUser::LDAP` and `Kernel::System::CustomerAuth::LDAP` in one
//! [`LdapBackend`], configured by one serde struct, [`LdapConfig`], whose keys are OTOBO's in
//! snake_case.
//!
//! What it does:
//!
//! * every search form of the model ([`UserQuery`](clientele_model::search::UserQuery): term,
//!   email, login, customer id, raw customer id), detail searches, counts and customer-id lists,
//!   each compiled into **one RFC 4515 filter** with every user-typed character escaped — only
//!   the search language's own `*` stays a wildcard;
//! * the always-filter and the valid filter (honoured for valid-only searches, SPEC §6.6),
//!   a group-membership filter (`memberUid` logins or `member`/`uniqueMember` DNs), the source
//!   charset (values in e.g. ISO-8859-1 are decoded, invalid bytes are an error naming the
//!   attribute);
//! * **paged results** (RFC 2696) when a search may return more than the server's size limit;
//! * **bind authentication** (search, then bind as the user on a separate short-lived
//!   connection) with an optional login gate (a group the user must be in);
//! * one multiplexed service connection, reopened after a failure; a server that is down gives
//!   [`Error::Unavailable`](clientele_backend::Error::Unavailable) (or `Timeout`) within the
//!   configured timeouts.
//!
//! It implements [`CustomerUserSource`](clientele_backend::CustomerUserSource) and
//! [`BindAuthenticator`](clientele_backend::BindAuthenticator) and **no write trait**: a
//! Directory (`clientele-directory`) refuses adds, updates and password changes for
//! its users with [`Error::ReadOnly`](clientele_backend::Error::ReadOnly). Preferences of LDAP
//! users live in the Directory's preference store.
//!
//! ## Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use clientele_backend::InMemoryBackend;
//! use clientele_directory::{Directory, Source};
//! use clientele_ldap::{LdapBackend, LdapConfig};
//! use clientele_model::search::CustomerUserSearch;
//!
//! # async fn run() -> Result<(), clientele_backend::Error> {
//! let config = LdapConfig {
//!     starttls: true,
//!     ca_file: Some("/etc/ssl/certs/corporate-ca.pem".into()),
//!     bind_dn: Some("cn=reader,ou=system,dc=example,dc=org".into()),
//!     bind_password_env: Some("LDAP_READER_PASSWORD".into()),
//!     customer_id: "o".into(),
//!     customer_ids_attribute: Some("departmentNumber".into()),
//!     always_filter: Some("(objectClass=inetOrgPerson)".into()),
//!     valid_filter: Some("(!(description=gesperrt))".into()),
//!     ..LdapConfig::new("ldap://ldap.example.org", "ou=people,dc=example,dc=org")
//! };
//! let ldap = Arc::new(LdapBackend::connect(config).await?);
//!
//! // LDAP is read-only; preferences go to another store.
//! let prefs = Arc::new(InMemoryBackend::new());
//! let directory = Directory::builder()
//!     .source(Source::read_only(ldap.clone()).with_bind_authenticator(ldap))
//!     .preference_store(prefs)
//!     .build()?;
//!
//! let hits = directory.search(&CustomerUserSearch::term("smi")).await?;
//! for hit in &hits {
//!     println!("{}", hit.display);
//! }
//! let login = directory.authenticate("jdoe", &"jdoe-secret".into()).await?;
//! # let _ = login;
//! # Ok(())
//! # }
//! ```
//!
//! ## Differences from OTOBO
//!
//! * The valid filter is applied only when valid users are asked for, and invalid users found
//!   otherwise are marked `invalid` (OTOBO applied it always and never marked anyone).
//! * Detail-search values are escaped (OTOBO put them into the filter unescaped).
//! * The data group ([`group_dn`](LdapConfig::group_dn)) is checked with one search per call,
//!   not one per result, and applies to look-ups by login as well as to searches.
//! * `case_sensitive = true` is applied client-side, since LDAP matching rules for `uid`, `cn`
//!   and `mail` ignore case.
//! * Paged results make searches complete beyond the server's size limit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod charset;
mod config;
mod conn;
mod entry;
mod error;
mod filter;

pub use backend::LdapBackend;
pub use config::{LdapConfig, MembershipStyle, Paging, SearchScope};
pub use error::LdapSourceError;
