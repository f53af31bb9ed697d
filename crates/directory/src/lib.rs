//! # clientele-directory
//!
//! The [`Directory`]: the one object a host talks to. It chains up to eleven customer-user
//! sources (the contract of `clientele-backend`) in OTOBO's order (`CustomerUser`,
//! `CustomerUser1` … `CustomerUser10`), validates input against each source's attribute map,
//! keeps logins unique across sources, refuses writes to read-only sources with
//! [`Error::ReadOnly`], caches per source, hashes and verifies passwords through
//! `clientele-password`, answers effective permissions through `clientele-permissions`, and
//! announces every write on a [`ChangeFeed`] (the
//! contract crate's `changes` module).
//!
//! It is split by concern, one module a facet, so a change has one place to go:
//!
//! | facet | what |
//! |---|---|
//! | [`users`] | look-ups, display strings, customer ids; add, update, rename, validity |
//! | [`import`] | many new users at once, through a source's bulk writer |
//! | [`search`] | term, list, detail and customer-id searches merged across sources |
//! | [`auth`] | authentication, password changes, generated passwords, one-time tokens |
//! | [`companies`] | companies and user ↔ company relations |
//! | [`access`] | groups, grants and effective permissions |
//! | [`permission_views`] | permissions from the group's end, their origins, the ticket access filter |
//! | [`services`] | services and default services |
//! | [`preferences`] | per-user preferences and OTOBO's protected keys |
//!
//! Set-up lives in [`config`] (settings), [`source`] (a source and its capabilities) and
//! [`builder`]; the per-source cache in `cache`, the change-feed follower in `follow`, and the
//! Directory-level conformance suite in [`conformance`] (feature `testkit`).
//!
//! ```
//! use std::sync::Arc;
//! use clientele_backend::{Error, InMemoryBackend};
//! use clientele_directory::Directory;
//! use clientele_model::search::CustomerUserSearch;
//! use clientele_model::{NewCustomerCompany, NewCustomerUser, Password};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
//! dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
//! dir.add_customer_user(
//!     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME").password("s3cret!"),
//!     "admin",
//! )
//! .await?;
//!
//! // A second user with the same login, in any case, is refused.
//! let dup = NewCustomerUser::new("JDOE", "J", "D", "other@acme-corp.com", "ACME");
//! assert!(matches!(dir.add_customer_user(dup, "admin").await, Err(Error::AlreadyExists { .. })));
//!
//! // Unknown users and wrong passwords get the same error.
//! assert!(matches!(dir.authenticate("jdoe", &Password::new("nope")).await, Err(Error::AuthenticationFailed)));
//! assert_eq!(dir.authenticate("JDoe", &Password::new("s3cret!")).await?, "jdoe");
//!
//! let hits = dir.search(&CustomerUserSearch::term("do*")).await?;
//! assert_eq!(hits[0].display, "\"John Doe\" <jdoe@acme-corp.com>");
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod auth;
pub mod builder;
mod cache;
pub mod companies;
pub mod config;
#[cfg(feature = "testkit")]
pub mod conformance;
mod follow;
pub mod grants;
pub mod import;
pub mod permission_views;
mod policy;
pub mod preferences;
pub mod search;
pub mod services;
pub mod source;
pub mod transfer;
pub mod users;

pub use access::{EffectivePermission, MatrixStats, UnknownGrants};
pub use auth::{PREF_LAST_LOGIN, PREF_LOGIN_FAILED, PREF_TOKEN};
pub use builder::DirectoryBuilder;
pub use cache::CacheStats;
pub use companies::CompanyUser;
pub use config::{DirectoryConfig, OtoboConfig, SourceListError, check_sources};
pub use permission_views::{
    EffectiveGroupMembers, EffectiveMember, EveryValidUser, ExplainedPermission, GrantedCompany,
    GrantedUser, GroupMembers, PermissionOrigin,
};
pub use preferences::{PROTECTED_PREFERENCE_KEYS, PreferenceMatch};
pub use search::{ListHit, MAX_SEARCH_VALUE, MissingSource, SearchHit, SearchPage};
pub use services::ServiceUsers;
pub use source::Source;
pub use transfer::RecordedUser;
pub use users::{Added, mail_string};

// The contract a source implements, re-exported so a host needs one import path.
pub use clientele_backend::{Entity, Error, InMemoryBackend, Result};

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use clientele_backend::changes::ChangeFeed;
use clientele_backend::settings::SourceSettings;
use clientele_backend::traits::*;
use clientele_model::EmailCheck;
use clientele_password::PasswordHasher;

use crate::source::Slot;

/// OTOBO allows the default source plus `CustomerUser1` … `CustomerUser10`.
pub const MAX_SOURCES: usize = 11;

/// What every clone of a [`Directory`] shares.
pub(crate) struct Inner {
    pub(crate) slots: Vec<Slot>,
    pub(crate) companies: Option<Arc<dyn CompanyStore>>,
    /// Companies looked up, per the company store's `cache_ttl` and `cache_capacity`.
    pub(crate) company_cache: crate::cache::CompanyCache,
    pub(crate) relations: Option<Arc<dyn RelationStore>>,
    pub(crate) preferences: Option<Arc<dyn PreferenceStore>>,
    pub(crate) email: EmailCheck,
    pub(crate) hasher: Arc<PasswordHasher>,
    pub(crate) config: DirectoryConfig,
    pub(crate) access: crate::access::AccessState,
    pub(crate) feed: Option<Arc<dyn ChangeFeed>>,
    /// The task started by [`Directory::follow_changes`], stopped with the last clone.
    pub(crate) follower: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .follower
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// The one object a host talks to: customer users across all sources, companies, relations,
/// preferences, passwords and tokens. Cheap to clone (an `Arc` inside).
///
/// The crate documentation has a runnable example.
#[derive(Clone)]
pub struct Directory {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Directory {
    /// Starts building a Directory.
    pub fn builder() -> DirectoryBuilder {
        DirectoryBuilder {
            sources: Vec::new(),
            companies: None,
            relations: None,
            preferences: None,
            feed: None,
            config: DirectoryConfig::default(),
        }
    }

    /// A Directory whose every store is one [`InMemoryBackend`], with default configuration.
    pub fn in_memory(store: Arc<InMemoryBackend>) -> Self {
        match Self::in_memory_with(store, DirectoryConfig::default()) {
            Ok(dir) => dir,
            // One source and the default settings pass every check of `build`; no input
            // reaches this.
            Err(e) => unreachable!("the default in-memory directory was refused: {e}"),
        }
    }

    /// A Directory over one [`InMemoryBackend`] with the given configuration.
    ///
    /// # Errors
    ///
    /// What [`DirectoryBuilder::build`] refuses in `config` (e.g. hashing parameters out of
    /// range), as [`Error::Config`].
    pub fn in_memory_with(store: Arc<InMemoryBackend>, config: DirectoryConfig) -> Result<Self> {
        Directory::builder()
            .source(Source::writable(store.clone()).with_bulk_writer(store.clone()))
            .company_store(store.clone())
            .relation_store(store.clone())
            .preference_store(store)
            .config(config)
            .build()
    }

    /// The configuration.
    pub fn config(&self) -> &DirectoryConfig {
        &self.inner.config
    }

    /// The names of the sources, in order.
    pub fn source_names(&self) -> Vec<String> {
        self.inner
            .slots
            .iter()
            .map(|s| s.name().to_owned())
            .collect()
    }

    /// The settings of a source by name.
    pub fn source_settings(&self, name: &str) -> Option<&SourceSettings> {
        self.inner
            .slots
            .iter()
            .find(|s| s.name() == name)
            .map(|s| s.settings())
    }

    /// The password hasher in use.
    pub fn password_hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub(crate) fn slot(&self, name: &str) -> Result<&Slot> {
        self.inner
            .slots
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Backend,
                key: name.to_owned(),
            })
    }

    pub(crate) fn companies(&self) -> Result<&Arc<dyn CompanyStore>> {
        self.inner
            .companies
            .as_ref()
            .ok_or_else(|| Error::Config("no company store configured".into()))
    }

    pub(crate) fn relations(&self) -> Result<&Arc<dyn RelationStore>> {
        self.inner
            .relations
            .as_ref()
            .ok_or_else(|| Error::Config("no relation store configured".into()))
    }

    pub(crate) fn preference_store(&self) -> Result<&Arc<dyn PreferenceStore>> {
        self.inner
            .preferences
            .as_ref()
            .ok_or_else(|| Error::Config("no preference store configured".into()))
    }

    /// How many entries each source's cache holds now, by source name: for operators watching
    /// memory, and for tests of the bounds.
    pub fn cache_stats(&self) -> Vec<(String, CacheStats)> {
        self.inner
            .slots
            .iter()
            .map(|s| (s.name().to_owned(), s.cache.stats()))
            .collect()
    }

    /// Drops every cached entry of every source.
    pub fn clear_caches(&self) {
        for s in &self.inner.slots {
            s.cache.clear();
        }
        self.inner.company_cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_password::PasswordConfig;

    /// Regression: a bad configuration made `in_memory_with` panic instead of answering.
    #[test]
    fn a_bad_in_memory_configuration_is_an_error() {
        let config = DirectoryConfig {
            passwords: PasswordConfig {
                generated_length: 0,
                ..PasswordConfig::default()
            },
            ..DirectoryConfig::default()
        };
        match Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config) {
            Err(Error::Config(message)) => assert!(message.contains("passwords"), "{message}"),
            Err(other) => panic!("expected a configuration error, got {other}"),
            Ok(_) => panic!("a generated length of 0 was accepted"),
        }
    }
}
