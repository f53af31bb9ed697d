//! [`DirectoryBuilder`]: sources, stores, change feed and settings, checked once in `build`.

use std::sync::{Arc, Mutex};

use clientele_backend::changes::ChangeFeed;
use clientele_backend::error::{Error, Result};
use clientele_backend::traits::*;
use clientele_model::EmailCheck;
use clientele_password::PasswordHasher;

use crate::cache::{CompanyCache, SourceCache};
use crate::config::{DirectoryConfig, check_sources};
use crate::source::{Slot, Source};
use crate::{Directory, Inner};

/// Builds a [`Directory`].
pub struct DirectoryBuilder {
    pub(crate) sources: Vec<Source>,
    pub(crate) companies: Option<Arc<dyn CompanyStore>>,
    pub(crate) relations: Option<Arc<dyn RelationStore>>,
    pub(crate) preferences: Option<Arc<dyn PreferenceStore>>,
    pub(crate) feed: Option<Arc<dyn ChangeFeed>>,
    pub(crate) config: DirectoryConfig,
}

impl DirectoryBuilder {
    /// Appends a source (OTOBO order: the first is `CustomerUser`, then `CustomerUser1` …).
    pub fn source(mut self, source: Source) -> Self {
        self.sources.push(source);
        self
    }

    /// Appends a writable source ([`Source::writable`]).
    pub fn writable_source<B: CustomerUserSource + CustomerUserWriter + PasswordStore + 'static>(
        self,
        backend: Arc<B>,
    ) -> Self {
        self.source(Source::writable(backend))
    }

    /// Appends a read-only source ([`Source::read_only`]).
    pub fn read_only_source<B: CustomerUserSource + 'static>(self, backend: Arc<B>) -> Self {
        self.source(Source::read_only(backend))
    }

    /// Sets the company store (OTOBO `CustomerCompany`).
    pub fn company_store(mut self, store: Arc<dyn CompanyStore>) -> Self {
        self.companies = Some(store);
        self
    }

    /// Sets the relation store (user ↔ company, grants, services).
    pub fn relation_store(mut self, store: Arc<dyn RelationStore>) -> Self {
        self.relations = Some(store);
        self
    }

    /// Sets the preference store.
    pub fn preference_store(mut self, store: Arc<dyn PreferenceStore>) -> Self {
        self.preferences = Some(store);
        self
    }

    /// Sets the feed on which this Directory announces its writes and hears of other
    /// instances' (see [`clientele_backend::changes`]); start listening with
    /// [`Directory::follow_changes`].
    pub fn change_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Self {
        self.feed = Some(feed);
        self
    }

    /// Sets the directory-wide configuration.
    pub fn config(mut self, config: DirectoryConfig) -> Self {
        self.config = config;
        self
    }

    /// Checks the configuration and builds the Directory.
    pub fn build(self) -> Result<Directory> {
        let names: Vec<&str> = (self.sources.iter())
            .map(|s| s.reader.settings().name.as_str())
            .collect();
        check_sources(&names, self.config.add_target.as_deref())
            .map_err(|e| Error::Config(e.to_string()))?;
        let email = EmailCheck::new(&self.config.email_check)?;
        let hasher = PasswordHasher::new(self.config.effective_passwords())
            .map_err(|e| Error::Config(format!("passwords: {e}")))?;
        let slots = self
            .sources
            .into_iter()
            .map(|source| {
                let s = source.reader.settings();
                let cache = SourceCache::new(s.cache_ttl, s.cache_capacity, s.case_sensitive);
                Slot {
                    source,
                    cache,
                    rules_email: email.clone(),
                }
            })
            .collect();
        Ok(Directory {
            inner: Arc::new(Inner {
                slots,
                company_cache: match &self.companies {
                    Some(c) => {
                        let s = c.settings();
                        CompanyCache::new(s.cache_ttl, s.cache_capacity, s.case_sensitive)
                    }
                    None => CompanyCache::new(0, 0, false),
                },
                companies: self.companies,
                relations: self.relations,
                preferences: self.preferences,
                email,
                hasher: Arc::new(hasher),
                config: self.config,
                access: crate::access::AccessState::default(),
                feed: self.feed,
                follower: Mutex::new(None),
            }),
        })
    }
}
