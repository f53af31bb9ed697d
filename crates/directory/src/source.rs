//! [`Source`]: one customer-user source with its capabilities, and the slot the Directory keeps
//! for it (source, cache, email rule).

use std::sync::Arc;

use clientele_backend::error::{Error, Result};
use clientele_backend::settings::SourceSettings;
use clientele_backend::traits::*;
use clientele_model::search::UserQuery;
use clientele_model::{CustomerUser, EmailCheck, Rules};
use tracing::Instrument;

use crate::cache::SourceCache;

/// One customer-user source as the Directory holds it: its read side and whichever write,
/// password and bind capabilities it has.
pub struct Source {
    pub(crate) reader: Arc<dyn CustomerUserSource>,
    pub(crate) writer: Option<Arc<dyn CustomerUserWriter>>,
    pub(crate) passwords: Option<Arc<dyn PasswordStore>>,
    pub(crate) binder: Option<Arc<dyn BindAuthenticator>>,
    pub(crate) bulk: Option<Arc<dyn BulkWriter>>,
}

impl Source {
    /// A source that only reads (an LDAP directory, a read-only view).
    pub fn read_only<B: CustomerUserSource + 'static>(backend: Arc<B>) -> Self {
        Source {
            reader: backend,
            writer: None,
            passwords: None,
            binder: None,
            bulk: None,
        }
    }

    /// A source that reads, writes and stores password hashes (a database). Writes are still
    /// refused when its settings say `read_only`.
    pub fn writable<B: CustomerUserSource + CustomerUserWriter + PasswordStore + 'static>(
        backend: Arc<B>,
    ) -> Self {
        Source {
            reader: backend.clone(),
            writer: Some(backend.clone()),
            passwords: Some(backend),
            binder: None,
            bulk: None,
        }
    }

    /// Adds bind authentication (an LDAP bind) to the source.
    pub fn with_bind_authenticator(mut self, binder: Arc<dyn BindAuthenticator>) -> Self {
        self.binder = Some(binder);
        self
    }

    /// Adds the bulk-write capability ([`Directory::import_customer_users`]
    /// writes through it; without it, an import adds one user at a time).
    ///
    /// [`Directory::import_customer_users`]: crate::Directory::import_customer_users
    pub fn with_bulk_writer(mut self, bulk: Arc<dyn BulkWriter>) -> Self {
        self.bulk = Some(bulk);
        self
    }

    /// Adds a password-hash store to the source.
    pub fn with_password_store(mut self, store: Arc<dyn PasswordStore>) -> Self {
        self.passwords = Some(store);
        self
    }
}

pub(crate) struct Slot {
    pub(crate) source: Source,
    pub(crate) cache: SourceCache,
    pub(crate) rules_email: EmailCheck,
}

impl Slot {
    pub(crate) fn settings(&self) -> &SourceSettings {
        self.source.reader.settings()
    }
    pub(crate) fn name(&self) -> &str {
        &self.settings().name
    }
    pub(crate) fn writer(&self) -> Result<&Arc<dyn CustomerUserWriter>> {
        match &self.source.writer {
            Some(w) if !self.settings().read_only => Ok(w),
            _ => Err(Error::ReadOnly {
                backend: self.name().to_owned(),
            }),
        }
    }
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules {
            map: &self.settings().map,
            email: &self.rules_email,
        }
    }

    /// The user with this login in this source: from the cache, or from the source (and then
    /// cached, "no such user" included).
    pub(crate) async fn get(&self, login: &str) -> Result<Option<Arc<CustomerUser>>> {
        if let Some(hit) = self.cache.user(login) {
            return Ok(hit);
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.get", backend = %self.name());
        let found = self
            .source
            .reader
            .get(login)
            .instrument(span)
            .await?
            .map(Arc::new);
        self.cache.put_user(login, found.clone(), seen);
        Ok(found)
    }

    /// Many users of this source ([`CustomerUserSource::get_many`]): each from the cache, the
    /// rest from the source in one call (and then cached, "no such user" included). Position
    /// `i` holds what [`get`](Self::get) would answer for `logins[i]`; the outer error is the
    /// source failing the whole call.
    pub(crate) async fn get_many(
        &self,
        logins: &[&str],
    ) -> Result<Vec<Result<Option<Arc<CustomerUser>>>>> {
        let mut answers: Vec<Option<Result<Option<Arc<CustomerUser>>>>> = logins
            .iter()
            .map(|login| self.cache.user(login).map(Ok))
            .collect();
        let missed: Vec<usize> = (0..logins.len())
            .filter(|&i| answers[i].is_none())
            .collect();
        if !missed.is_empty() {
            let asked: Vec<&str> = missed.iter().map(|&i| logins[i]).collect();
            let seen = self.cache.generation();
            let span = tracing::debug_span!("backend.get_many", backend = %self.name(), logins = asked.len());
            let found = self.source.reader.get_many(&asked).instrument(span).await?;
            if found.len() != asked.len() {
                return Err(Error::backend(
                    self.name(),
                    format!(
                        "get_many answered {} of {} logins",
                        found.len(),
                        asked.len()
                    ),
                ));
            }
            for (i, answer) in missed.into_iter().zip(found) {
                let answer = answer.map(|user| user.map(Arc::new));
                if let Ok(user) = &answer {
                    self.cache.put_user(logins[i], user.clone(), seen);
                }
                answers[i] = Some(answer);
            }
        }
        Ok(answers.into_iter().map(|a| a.unwrap_or(Ok(None))).collect())
    }

    /// A search in this source, as a page (the users and whether more matched): from the
    /// cache, or from the source (and then cached).
    pub(crate) async fn search_page(&self, query: UserQuery) -> Result<SourcePage<CustomerUser>> {
        if let Some(hit) = self.cache.search(&query) {
            return Ok(hit.page());
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.search", backend = %self.name());
        let found = self
            .source
            .reader
            .search_page(&query)
            .instrument(span)
            .await?;
        self.cache.put_search(&query, &found, seen);
        Ok(found)
    }

    /// A list search, as a page: from a cached list, from a cached full search of the same
    /// query, or from the source (and then cached).
    pub(crate) async fn search_list_page(
        &self,
        query: UserQuery,
    ) -> Result<SourcePage<ListedUser>> {
        if let Some(hit) = self.cache.list(&query) {
            return Ok(hit.page());
        }
        if let Some(users) = self.cache.search(&query) {
            let settings = self.settings();
            return Ok(SourcePage {
                hits: users
                    .rows
                    .iter()
                    .map(|u| ListedUser::of(u, settings))
                    .collect(),
                more_matched: users.more_matched,
            });
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.search_list", backend = %self.name());
        let found = self
            .source
            .reader
            .search_list_page(&query)
            .instrument(span)
            .await?;
        self.cache.put_list(&query, &found, seen);
        Ok(found)
    }
}
