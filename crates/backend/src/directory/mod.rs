//! The [`Directory`]: the one object a host talks to. It chains up to eleven customer-user
//! sources in OTOBO's order (`CustomerUser`, `CustomerUser1` … `CustomerUser10`), validates
//! input, hashes passwords, caches, and owns the merge rules.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use clientele_model::search::{
    CompanyQuery, CustomerUserSearch, DetailSearch, Expr, FieldSet, Pattern, SearchKind, UserQuery,
    parse_term,
};
use clientele_model::{
    AttributeValue, CustomerCompany, CustomerCompanyChanges, CustomerId, CustomerUser,
    CustomerUserChanges, EmailCheck, EmailCheckConfig, Login, NewCustomerCompany, NewCustomerUser,
    Password, Rules, Token, ValidationError, Validity, keys,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

mod follow;
mod permissions;

pub use permissions::EffectivePermission;

use crate::cache::SourceCache;
use crate::changes::{Change, ChangeFeed};
use crate::error::{Entity, Error, Result};
use crate::memory::InMemoryBackend;
use crate::password::{
    PasswordConfig, PasswordHasher, Verification, generate_password, generate_token,
};
use crate::settings::SourceSettings;
use crate::traits::*;

/// OTOBO allows the default source plus `CustomerUser1` … `CustomerUser10`.
pub const MAX_SOURCES: usize = 11;

/// Preference keys that can't be set through preferences (OTOBO's blacklist, reference §2.15):
/// they are user data, and changing them there would bypass validation.
pub const PROTECTED_PREFERENCE_KEYS: [&str; 23] = [
    "UserID",
    "UserLogin",
    "UserPassword",
    "UserFirstname",
    "UserLastname",
    "UserFullname",
    "UserStreet",
    "UserCity",
    "UserZip",
    "UserCountry",
    "UserComment",
    "UserCustomerID",
    "UserTitle",
    "UserEmail",
    "ChangeTime",
    "ChangeBy",
    "CreateTime",
    "CreateBy",
    "UserPhone",
    "UserMobile",
    "UserFax",
    "UserMailString",
    "ValidID",
];

/// Preference holding the failed-login counter (OTOBO `UserLoginFailed`).
pub const PREF_LOGIN_FAILED: &str = "UserLoginFailed";
/// Preference holding the last successful login, epoch seconds (OTOBO `UserLastLogin`).
pub const PREF_LAST_LOGIN: &str = "UserLastLogin";
/// Preference holding the digest of the one-time token (OTOBO `UserToken`).
pub const PREF_TOKEN: &str = "UserToken";

/// Directory-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// The email syntax check (OTOBO `CheckEmail*`).
    pub email_check: EmailCheckConfig,
    /// Password hashing, verification and generation.
    pub passwords: PasswordConfig,
    /// The source new users go to, by name; `None` = the first writable source.
    pub add_target: Option<String>,
    /// Cap on a merged search result across all sources; `None` = the query's limit (or the
    /// first source's limit). OTOBO has no overall cap (Limit × number of backends).
    pub overall_search_limit: Option<usize>,
    /// Refuse a user whose primary company does not exist (SPEC §2; on when company support is).
    pub require_company: bool,
    /// Customer groups: support switch, permission types, always-groups, contexts, ticket
    /// access rules (OTOBO `CustomerGroup*`, `System::Customer::Permission`).
    pub permissions: clientele_permissions::PermissionConfig,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            email_check: EmailCheckConfig::default(),
            passwords: PasswordConfig::default(),
            add_target: None,
            overall_search_limit: None,
            require_company: true,
            permissions: clientele_permissions::PermissionConfig::default(),
        }
    }
}

/// One customer-user source as the Directory holds it: its read side and whichever write,
/// password and bind capabilities it has.
pub struct Source {
    reader: Arc<dyn CustomerUserSource>,
    writer: Option<Arc<dyn CustomerUserWriter>>,
    passwords: Option<Arc<dyn PasswordStore>>,
    binder: Option<Arc<dyn BindAuthenticator>>,
}

impl Source {
    /// A source that only reads (an LDAP directory, a read-only view).
    pub fn read_only<B: CustomerUserSource + 'static>(backend: Arc<B>) -> Self {
        Source {
            reader: backend,
            writer: None,
            passwords: None,
            binder: None,
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
        }
    }

    /// Adds bind authentication (an LDAP bind) to the source.
    pub fn with_bind_authenticator(mut self, binder: Arc<dyn BindAuthenticator>) -> Self {
        self.binder = Some(binder);
        self
    }

    /// Adds a password-hash store to the source.
    pub fn with_password_store(mut self, store: Arc<dyn PasswordStore>) -> Self {
        self.passwords = Some(store);
        self
    }
}

struct Slot {
    source: Source,
    cache: SourceCache,
    rules_email: EmailCheck,
}

impl Slot {
    fn settings(&self) -> &SourceSettings {
        self.source.reader.settings()
    }
    fn name(&self) -> &str {
        &self.settings().name
    }
    fn writer(&self) -> Result<&Arc<dyn CustomerUserWriter>> {
        match &self.source.writer {
            Some(w) if !self.settings().read_only => Ok(w),
            _ => Err(Error::ReadOnly {
                backend: self.name().to_owned(),
            }),
        }
    }
    fn rules(&self) -> Rules<'_> {
        Rules {
            map: &self.settings().map,
            email: &self.rules_email,
        }
    }

    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        if let Some(hit) = self.cache.user(login) {
            return Ok(hit);
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.get", backend = %self.name());
        let found = self.source.reader.get(login).instrument(span).await?;
        self.cache.put_user(login, found.clone(), seen);
        Ok(found)
    }

    async fn search(&self, query: UserQuery) -> Result<Vec<CustomerUser>> {
        if let Some(hit) = self.cache.search(&query) {
            return Ok(hit);
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.search", backend = %self.name());
        let found = self.source.reader.search(&query).instrument(span).await?;
        self.cache.put_search(query, found.clone(), seen);
        Ok(found)
    }

    /// A list search: from a cached list, from a cached full search of the same query, or from
    /// the source (and then cached).
    async fn search_list(&self, query: UserQuery) -> Result<Vec<ListedUser>> {
        if let Some(hit) = self.cache.list(&query) {
            return Ok(hit);
        }
        if let Some(users) = self.cache.search(&query) {
            let settings = self.settings();
            return Ok(users.iter().map(|u| ListedUser::of(u, settings)).collect());
        }
        let seen = self.cache.generation();
        let span = tracing::debug_span!("backend.search_list", backend = %self.name());
        let found = self
            .source
            .reader
            .search_list(&query)
            .instrument(span)
            .await?;
        self.cache.put_list(query, found.clone(), seen);
        Ok(found)
    }
}

/// What a Directory search collects from each source: whole records ([`Directory::search`]) or
/// listed users ([`Directory::search_list`]).
trait Found: Sized + Send {
    fn login(&self) -> &Login;
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<Vec<Self>>>;
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl Found for CustomerUser {
    fn login(&self) -> &Login {
        &self.login
    }
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<Vec<Self>>> {
        Box::pin(slot.search(query))
    }
}

impl Found for ListedUser {
    fn login(&self) -> &Login {
        &self.login
    }
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<Vec<Self>>> {
        Box::pin(slot.search_list(query))
    }
}

/// A search result: the user, the source it came from, and OTOBO's display string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// The user.
    pub user: CustomerUser,
    /// The source's name.
    pub source: String,
    /// The list fields joined with spaces, shaped as `"Name" <email>` (OTOBO's display string).
    pub display: String,
}

/// A list-search result ([`Directory::search_list`]): the login, the source it came from, and
/// OTOBO's display string, without the rest of the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListHit {
    /// The stored login.
    pub login: Login,
    /// The source's name.
    pub source: String,
    /// The list fields joined with spaces, shaped as `"Name" <email>` (OTOBO's display string).
    pub display: String,
}

/// The outcome of adding a user.
#[derive(Debug)]
pub struct Added {
    /// The login.
    pub login: Login,
    /// The source it was stored in.
    pub source: String,
    /// The generated password, when none was given: shown once, never stored in plain text.
    pub generated_password: Option<Password>,
}

/// Builds a [`Directory`].
pub struct DirectoryBuilder {
    sources: Vec<Source>,
    companies: Option<Arc<dyn CompanyStore>>,
    relations: Option<Arc<dyn RelationStore>>,
    preferences: Option<Arc<dyn PreferenceStore>>,
    feed: Option<Arc<dyn ChangeFeed>>,
    config: DirectoryConfig,
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
    /// instances' (see [`changes`](crate::changes)); start listening with
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
        if self.sources.is_empty() {
            return Err(Error::Config(
                "a directory needs at least one customer-user source".into(),
            ));
        }
        if self.sources.len() > MAX_SOURCES {
            return Err(Error::Config(format!(
                "{} customer-user sources configured; at most {MAX_SOURCES} are allowed (CustomerUser, CustomerUser1 … CustomerUser10)",
                self.sources.len()
            )));
        }
        let mut names = HashSet::new();
        for s in &self.sources {
            let name = &s.reader.settings().name;
            if !names.insert(name.clone()) {
                return Err(Error::Config(format!(
                    "two customer-user sources are named {name:?}; names must differ"
                )));
            }
        }
        if let Some(target) = &self.config.add_target
            && !names.contains(target)
        {
            return Err(Error::Config(format!(
                "add_target {target:?} names no configured source"
            )));
        }
        let email = EmailCheck::new(&self.config.email_check)?;
        let hasher = PasswordHasher::new(self.config.passwords.clone())
            .map_err(|e| Error::Config(format!("passwords: {e}")))?;
        let slots = self
            .sources
            .into_iter()
            .map(|source| {
                let s = source.reader.settings();
                let cache = SourceCache::new(s.cache_ttl, s.case_sensitive);
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
                companies: self.companies,
                relations: self.relations,
                preferences: self.preferences,
                email,
                hasher: Arc::new(hasher),
                config: self.config,
                access: permissions::AccessState::default(),
                feed: self.feed,
                follower: Mutex::new(None),
            }),
        })
    }
}

struct Inner {
    slots: Vec<Slot>,
    companies: Option<Arc<dyn CompanyStore>>,
    relations: Option<Arc<dyn RelationStore>>,
    preferences: Option<Arc<dyn PreferenceStore>>,
    email: EmailCheck,
    hasher: Arc<PasswordHasher>,
    config: DirectoryConfig,
    access: permissions::AccessState,
    feed: Option<Arc<dyn ChangeFeed>>,
    /// The task started by [`Directory::follow_changes`], stopped with the last clone.
    follower: Mutex<Option<tokio::task::AbortHandle>>,
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
/// See [`InMemoryBackend`] for a runnable example.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

fn epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// OTOBO's display string: `s/^(.*)\s(.+?\@.+?\..+?)(\s|)$/"$1" <$2>/` applied to the joined
/// list-field values.
pub fn mail_string(parts: &[String]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    match joined.rsplit_once(' ') {
        Some((name, mail)) if looks_like_mail(mail) && !name.trim().is_empty() => {
            format!("\"{name}\" <{mail}>")
        }
        _ => joined,
    }
}

fn looks_like_mail(s: &str) -> bool {
    s.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    })
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
        Self::in_memory_with(store, DirectoryConfig::default())
    }

    /// A Directory over one [`InMemoryBackend`] with the given configuration.
    pub fn in_memory_with(store: Arc<InMemoryBackend>, config: DirectoryConfig) -> Self {
        let built = Directory::builder()
            .writable_source(store.clone())
            .company_store(store.clone())
            .relation_store(store.clone())
            .preference_store(store)
            .config(config)
            .build();
        match built {
            Ok(d) => d,
            // One source with a unique name cannot fail the checks above; a bad config can.
            Err(e) => panic!("in-memory directory: {e}"),
        }
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

    fn slot(&self, name: &str) -> Result<&Slot> {
        self.inner
            .slots
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Backend,
                key: name.to_owned(),
            })
    }

    fn companies(&self) -> Result<&Arc<dyn CompanyStore>> {
        self.inner
            .companies
            .as_ref()
            .ok_or_else(|| Error::Config("no company store configured".into()))
    }

    fn relations(&self) -> Result<&Arc<dyn RelationStore>> {
        self.inner
            .relations
            .as_ref()
            .ok_or_else(|| Error::Config("no relation store configured".into()))
    }

    fn preference_store(&self) -> Result<&Arc<dyn PreferenceStore>> {
        self.inner
            .preferences
            .as_ref()
            .ok_or_else(|| Error::Config("no preference store configured".into()))
    }

    // ---------------------------------------------------------------- look-ups

    /// The user with this login from the first source that has it (OTOBO `CustomerUserDataGet`).
    pub async fn customer_user(&self, login: &str) -> Result<Option<CustomerUser>> {
        Ok(self.find(login).await?.map(|(u, _)| u))
    }

    /// The user and the name of the source that owns it.
    pub async fn customer_user_with_source(
        &self,
        login: &str,
    ) -> Result<Option<(CustomerUser, String)>> {
        Ok(self
            .find(login)
            .await?
            .map(|(u, i)| (u, self.inner.slots[i].name().to_owned())))
    }

    async fn find(&self, login: &str) -> Result<Option<(CustomerUser, usize)>> {
        if login.is_empty() {
            return Ok(None);
        }
        // A source that is down is skipped so the others keep serving their users; when the
        // login is found nowhere else, its error is returned rather than a false "not found".
        let mut outage = None;
        for (i, slot) in self.inner.slots.iter().enumerate() {
            match slot.get(login).await {
                Ok(Some(user)) => return Ok(Some((user, i))),
                Ok(None) => {}
                Err(e) if e.is_outage() => {
                    tracing::warn!(backend = %slot.name(), error = %e, "source skipped for a look-up");
                    outage.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        match outage {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    async fn require(&self, login: &str) -> Result<(CustomerUser, usize)> {
        self.find(login)
            .await?
            .ok_or_else(|| Error::user_not_found(login))
    }

    /// The display name (OTOBO `CustomerName`): the source's name fields joined.
    pub async fn customer_name(&self, login: &str) -> Result<Option<String>> {
        Ok(self.find(login).await?.and_then(|(user, i)| {
            let s = self.inner.slots[i].settings();
            let keys = s.keys_for(&s.name_fields);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let name = user.name_from(&keys, &s.name_fields_join);
            (!name.is_empty()).then_some(name)
        }))
    }

    /// OTOBO's `"Name" <email>` string of a user, from the list fields of the given source.
    pub fn display_string(&self, user: &CustomerUser, source: &str) -> String {
        let settings = self
            .source_settings(source)
            .or_else(|| self.inner.slots.first().map(|s| s.settings()));
        let Some(s) = settings else {
            return user.login.to_string();
        };
        mail_string(&s.list_values(user))
    }

    /// The user's customer ids (OTOBO `CustomerIDs`): the secondary ids stored on the user, then
    /// the primary id (unless the source excludes it), then the related companies, without
    /// duplicates. `NotFound` for an unknown user.
    pub async fn customer_ids(&self, login: &str) -> Result<Vec<CustomerId>> {
        let (user, i) = self.require(login).await?;
        let settings = self.inner.slots[i].settings();
        let mut out: Vec<CustomerId> = Vec::new();
        let push = |id: CustomerId, out: &mut Vec<CustomerId>| {
            if !id.as_str().is_empty() && !out.contains(&id) {
                out.push(id);
            }
        };
        for id in user.secondary_customer_ids.iter().cloned() {
            push(id, &mut out);
        }
        if !settings.exclude_primary_customer_id {
            push(user.customer_id.clone(), &mut out);
        }
        if let Some(rel) = &self.inner.relations {
            for id in rel.user_companies(user.login.as_str()).await? {
                push(id, &mut out);
            }
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- search

    fn query_for(&self, slot: &Slot, search: &CustomerUserSearch) -> Result<UserQuery> {
        let s = slot.settings();
        let limit = search.limit.unwrap_or(s.search_limit);
        let (fields, expr) = match &search.kind {
            SearchKind::Term {
                term,
                customer_user_only,
            } => (
                FieldSet::SearchFields {
                    exclude_customer_id: *customer_user_only,
                },
                parse_term(term, &s.syntax)?,
            ),
            SearchKind::Email(email) => (
                FieldSet::PostmasterFields,
                Expr::Match(Pattern::exact(email.trim())),
            ),
            SearchKind::Login(login) => {
                (FieldSet::Login, Expr::Match(Pattern::from_wildcards(login)))
            }
            SearchKind::CustomerId(id) => (
                FieldSet::CustomerId,
                Expr::Match(Pattern::from_wildcards(id)),
            ),
            SearchKind::CustomerIdRaw(id) => (
                FieldSet::CustomerId,
                Expr::Match(Pattern::exact(id.as_str())),
            ),
        };
        Ok(UserQuery {
            fields,
            expr,
            valid_only: search.valid_only,
            limit,
            case_sensitive: s.case_sensitive,
        })
    }

    /// Searches every source (one query each), merges by login — the earlier source wins — and
    /// cuts the merged list to the overall limit (OTOBO `CustomerSearch`).
    ///
    /// For a result list that shows only names and emails, [`search_list`](Self::search_list)
    /// finds the same users and reads less.
    pub async fn search(&self, search: &CustomerUserSearch) -> Result<Vec<SearchHit>> {
        let found = self.collect::<CustomerUser>(search).await?;
        Ok(found
            .into_iter()
            .map(|(slot, user)| SearchHit {
                display: mail_string(&slot.settings().list_values(&user)),
                source: slot.name().to_owned(),
                user,
            })
            .collect())
    }

    /// The same search as [`search`](Self::search) — same users, order and limit — returning
    /// only each user's login, source and display string, which is what OTOBO's
    /// `CustomerSearch` returns. Sources read just the login and list-field columns
    /// ([`CustomerUserSource::search_list`]), so a search with many hits costs less than one
    /// returning whole records.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::{Directory, InMemoryBackend};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    /// use clientele_model::search::CustomerUserSearch;
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// dir.add_customer_user(
    ///     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
    ///     "admin",
    /// )
    /// .await?;
    /// let hits = dir.search_list(&CustomerUserSearch::term("doe")).await?;
    /// assert_eq!(hits[0].login.as_str(), "jdoe");
    /// assert_eq!(hits[0].display, "\"John Doe\" <jdoe@acme-corp.com>");
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn search_list(&self, search: &CustomerUserSearch) -> Result<Vec<ListHit>> {
        let found = self.collect::<ListedUser>(search).await?;
        Ok(found
            .into_iter()
            .map(|(slot, listed)| ListHit {
                display: mail_string(&listed.list_values),
                source: slot.name().to_owned(),
                login: listed.login,
            })
            .collect())
    }

    /// The merge behind [`search`](Self::search) and [`search_list`](Self::search_list): one
    /// query per source, a source that is down left out while another answers, the first
    /// source's user kept for a login, sorted by login, cut to the overall limit.
    async fn collect<T: Found>(&self, search: &CustomerUserSearch) -> Result<Vec<(&Slot, T)>> {
        let (field, value) = match &search.kind {
            SearchKind::Term { term, .. } => ("Search", term),
            SearchKind::Email(email) => ("PostMasterSearch", email),
            SearchKind::Login(login) => (keys::LOGIN, login),
            SearchKind::CustomerId(id) => ("CustomerID", id),
            SearchKind::CustomerIdRaw(id) => ("CustomerIDRaw", id),
        };
        check_search_value(field, value)?;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        let mut answered = false;
        let mut outage = None;
        for slot in &self.inner.slots {
            let query = self.query_for(slot, search)?;
            // A source that is down is left out (logged) while another one answers.
            let found = match T::fetch(slot, query).await {
                Ok(found) => {
                    answered = true;
                    found
                }
                Err(e) if e.is_outage() => {
                    tracing::warn!(backend = %slot.name(), error = %e, "source left out of a search");
                    outage.get_or_insert(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for item in found {
                if seen.insert(item.login().folded()) {
                    hits.push((slot, item));
                }
            }
        }
        if let (false, Some(e)) = (answered, outage) {
            return Err(e);
        }
        hits.sort_by(|a, b| a.1.login().as_str().cmp(b.1.login().as_str()));
        let cap = self
            .inner
            .config
            .overall_search_limit
            .or(search.limit)
            .unwrap_or_else(|| self.inner.slots[0].settings().search_limit);
        hits.truncate(cap);
        Ok(hits)
    }

    /// A detail search over every source (OTOBO `CustomerSearchDetail`): logins, ordered as
    /// asked. When several sources answer, the merged list is re-sorted and cut to the limit.
    pub async fn search_detail(&self, search: &DetailSearch) -> Result<Vec<Login>> {
        check_detail_search(search)?;
        let mut per_source = Vec::new();
        for slot in &self.inner.slots {
            let found = slot.source.reader.search_detail(search).await?;
            if !found.is_empty() {
                per_source.push(found);
            }
        }
        if per_source.len() <= 1 {
            return Ok(per_source.pop().unwrap_or_default());
        }
        let mut seen = HashSet::new();
        let mut users = Vec::new();
        for login in per_source.into_iter().flatten() {
            if seen.insert(login.folded())
                && let Some(u) = self.customer_user(login.as_str()).await?
            {
                users.push(u);
            }
        }
        crate::matching::sort_detail(&mut users, search);
        if let Some(limit) = search.limit {
            users.truncate(limit);
        }
        Ok(users.into_iter().map(|u| u.login).collect())
    }

    /// The number of users matching a detail search, summed over the sources.
    pub async fn count_detail(&self, search: &DetailSearch) -> Result<u64> {
        check_detail_search(search)?;
        let mut n = 0;
        for slot in &self.inner.slots {
            n += slot.source.reader.count_detail(search).await?;
        }
        Ok(n)
    }

    /// Distinct primary customer ids of all users, optionally filtered by a term with each
    /// source's prefix and suffix (OTOBO `CustomerIDList`), sorted case-insensitively.
    pub async fn customer_id_list(
        &self,
        term: Option<&str>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>> {
        if let Some(t) = term {
            check_search_value("Search", t)?;
        }
        let mut all = Vec::new();
        for slot in &self.inner.slots {
            let expr = match term {
                Some(t) if !t.trim().is_empty() => Some(parse_term(t, &slot.settings().syntax)?),
                _ => None,
            };
            all.extend(
                slot.source
                    .reader
                    .customer_id_list(expr.as_ref(), valid_only)
                    .await?,
            );
        }
        let mut seen = HashSet::new();
        all.retain(|c| seen.insert(c.as_str().to_owned()));
        all.sort_by_key(|c| c.as_str().to_lowercase());
        Ok(all)
    }

    // ---------------------------------------------------------------- writes

    fn target(&self) -> Result<&Slot> {
        match &self.inner.config.add_target {
            Some(name) => self.slot(name),
            None => self
                .inner
                .slots
                .iter()
                .find(|s| s.writer().is_ok())
                .ok_or_else(|| Error::ReadOnly {
                    backend: self.inner.slots[0].name().to_owned(),
                }),
        }
    }

    /// Adds a user to the configured target source (default: the first writable one).
    pub async fn add_customer_user(&self, new: NewCustomerUser, by: &str) -> Result<Added> {
        let name = self.target()?.name().to_owned();
        self.add_customer_user_to(&name, new, by).await
    }

    /// Adds a user to the named source (OTOBO `CustomerUserAdd` with `Source`).
    ///
    /// Checks, in order: the source is writable; the input against the source's map (required
    /// fields, lengths, characters, email syntax); the primary company exists (when required);
    /// the login is unused in *every* source; then the source stores it, refusing a taken login
    /// or email atomically. A blank password is replaced by a generated one, returned once.
    pub async fn add_customer_user_to(
        &self,
        source: &str,
        new: NewCustomerUser,
        by: &str,
    ) -> Result<Added> {
        let slot = self.slot(source)?;
        let writer = slot.writer()?.clone();
        let user = new.validate(&slot.rules())?;
        self.check_company(slot, &user).await?;
        for other in &self.inner.slots {
            if other.get(user.login.as_str()).await?.is_some() {
                return Err(Error::AlreadyExists {
                    entity: Entity::CustomerUser,
                    field: keys::LOGIN.into(),
                    value: user.login.to_string(),
                    backend: Some(other.name().to_owned()),
                });
            }
        }
        let (password, generated) = match new.password {
            Some(p) if !p.is_empty() => (p, None),
            _ => {
                let p = generate_password(self.inner.hasher.config().generated_length)
                    .map_err(|e| Error::Config(format!("passwords: {e}")))?;
                (p.clone(), Some(p))
            }
        };
        let hash = self.hash(&password).await?;
        let span = tracing::info_span!("backend.add", backend = %slot.name());
        let result = writer.add(&user, Some(&hash), by).instrument(span).await;
        slot.cache.invalidate_user(user.login.as_str());
        result?;
        self.announce(&[Change::User {
            source: slot.name().to_owned(),
            login: user.login.as_str().to_owned(),
        }])
        .await;
        Ok(Added {
            login: user.login,
            source: slot.name().to_owned(),
            generated_password: generated,
        })
    }

    async fn check_company(&self, slot: &Slot, user: &CustomerUser) -> Result<()> {
        if !(self.inner.config.require_company && slot.settings().company_support) {
            return Ok(());
        }
        let Some(companies) = &self.inner.companies else {
            return Ok(());
        };
        if companies
            .company(user.customer_id.as_str())
            .await?
            .is_none()
        {
            return Err(ValidationError::Invalid {
                field: keys::CUSTOMER_ID.into(),
                value: user.customer_id.to_string(),
                reason: "no customer company has this id; add the company first".into(),
            }
            .into());
        }
        Ok(())
    }

    async fn hash(&self, password: &Password) -> Result<String> {
        let hasher = self.inner.hasher.clone();
        let password = password.clone();
        let hashed = tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| Error::backend("password hashing", e.to_string()))?;
        hashed
            .map(|h| h.into_string())
            .map_err(|e| Error::Config(format!("passwords: {e}")))
    }

    /// Changes a user in the source that owns it (OTOBO `CustomerUserUpdate`). A new
    /// `UserLogin` renames the user (refused when any source has that login, unless only the
    /// case changes); preferences and relations follow the rename. `NotFound` for an unknown user.
    pub async fn update_customer_user(
        &self,
        login: &str,
        changes: CustomerUserChanges,
        by: &str,
    ) -> Result<CustomerUser> {
        self.update_inner(login, changes, Expected::Any, by).await
    }

    /// Like [`update_customer_user`](Self::update_customer_user), but fails with
    /// [`Error::Conflict`] when the user changed since the caller read it (`read.audit.changed_at`).
    pub async fn update_customer_user_checked(
        &self,
        read: &CustomerUser,
        changes: CustomerUserChanges,
        by: &str,
    ) -> Result<CustomerUser> {
        self.update_inner(
            read.login.as_str(),
            changes,
            Expected::ChangedAt(read.audit.changed_at),
            by,
        )
        .await
    }

    async fn update_inner(
        &self,
        login: &str,
        changes: CustomerUserChanges,
        expected: Expected,
        by: &str,
    ) -> Result<CustomerUser> {
        let (cached, i) = self.require(login).await?;
        let slot = &self.inner.slots[i];
        let writer = slot.writer()?.clone();
        // Changes are applied to the stored record, never to a cached copy: applying them to a
        // stale copy would write its old values back over another writer's change.
        let current = slot
            .source
            .reader
            .get(cached.login.as_str())
            .await?
            .ok_or_else(|| Error::user_not_found(login))?;
        let updated = changes.apply(&current, &slot.rules())?;
        let renamed = updated.login.as_str() != current.login.as_str();
        if renamed && !updated.login.eq_ignore_case(current.login.as_str()) {
            for other in &self.inner.slots {
                if other.get(updated.login.as_str()).await?.is_some() {
                    return Err(Error::AlreadyExists {
                        entity: Entity::CustomerUser,
                        field: keys::LOGIN.into(),
                        value: updated.login.to_string(),
                        backend: Some(other.name().to_owned()),
                    });
                }
            }
        }
        if updated.customer_id != current.customer_id {
            self.check_company(slot, &updated).await?;
        }
        let span = tracing::info_span!("backend.update", backend = %slot.name());
        let result = writer
            .update(&current.login, &updated, expected, by)
            .instrument(span)
            .await;
        slot.cache.invalidate_user(current.login.as_str());
        slot.cache.invalidate_user(updated.login.as_str());
        self.inner.access.forget_user(current.login.as_str());
        self.inner.access.forget_user(updated.login.as_str());
        result?;
        let mut announced = vec![Change::User {
            source: slot.name().to_owned(),
            login: current.login.as_str().to_owned(),
        }];
        if renamed {
            announced.push(Change::User {
                source: slot.name().to_owned(),
                login: updated.login.as_str().to_owned(),
            });
            announced.push(Change::Permissions);
        }
        if renamed {
            // Grants moved to the new login in the store; rebuild the matrix from it.
            self.inner.access.reset();
            if let Some(p) = &self.inner.preferences {
                p.rename_preferences(current.login.as_str(), updated.login.as_str())
                    .await?;
            }
            if let Some(r) = &self.inner.relations {
                r.rename_user(current.login.as_str(), updated.login.as_str())
                    .await?;
            }
        }
        if let Some(pw) = &changes.password
            && !pw.is_empty()
        {
            let hash = self.hash(pw).await?;
            let stored = writer.set_password_hash(&updated.login, &hash).await;
            // The record changed even if the password could not be stored.
            self.announce(&announced).await;
            stored?;
        } else {
            self.announce(&announced).await;
        }
        self.require(updated.login.as_str()).await.map(|(u, _)| u)
    }

    /// Sets a user's validity; users are never deleted (SPEC §2).
    pub async fn set_validity(
        &self,
        login: &str,
        validity: Validity,
        by: &str,
    ) -> Result<CustomerUser> {
        self.update_customer_user(login, CustomerUserChanges::new().validity(validity), by)
            .await
    }

    /// Invalidates a user: it can no longer log in and disappears from default searches.
    pub async fn invalidate_customer_user(&self, login: &str, by: &str) -> Result<CustomerUser> {
        self.set_validity(login, Validity::Invalid, by).await
    }

    /// Sets a new password (hashed with the current algorithm) in the owning source.
    pub async fn set_password(&self, login: &str, password: &Password) -> Result<()> {
        if password.is_empty() {
            return Err(ValidationError::Required {
                field: keys::PASSWORD.into(),
            }
            .into());
        }
        let (user, i) = self.require(login).await?;
        let slot = &self.inner.slots[i];
        let writer = slot.writer()?.clone();
        let hash = self.hash(password).await?;
        writer.set_password_hash(&user.login, &hash).await?;
        slot.cache.invalidate_user(user.login.as_str());
        self.announce(&[Change::User {
            source: slot.name().to_owned(),
            login: user.login.as_str().to_owned(),
        }])
        .await;
        Ok(())
    }

    /// A new random password of the configured length (OTOBO `GenerateRandomPassword`).
    pub fn generate_password(&self) -> Result<Password> {
        generate_password(self.inner.hasher.config().generated_length)
            .map_err(|e| Error::Config(format!("passwords: {e}")))
    }

    // ---------------------------------------------------------------- authentication

    /// Checks a login and password (OTOBO `CustomerAuth`). The owning source decides how: a
    /// stored hash (any OTOBO format; a legacy hash is upgraded on success when configured) or a
    /// bind. Unknown users, wrong passwords, empty passwords and invalid users all get
    /// [`Error::AuthenticationFailed`], after comparable work. Failed attempts are counted in the
    /// `UserLoginFailed` preference; success resets it and records `UserLastLogin`.
    pub async fn authenticate(&self, login: &str, password: &Password) -> Result<Login> {
        let outcome = self.check_credentials(login, password).await?;
        let Some(user_login) = outcome.login else {
            if let Some(known) = outcome.known_login {
                self.count_failure(known.as_str()).await;
            }
            return Err(Error::AuthenticationFailed);
        };
        if let Some(p) = &self.inner.preferences {
            p.set_preference(user_login.as_str(), PREF_LOGIN_FAILED, "0")
                .await?;
            p.set_preference(user_login.as_str(), PREF_LAST_LOGIN, &epoch().to_string())
                .await?;
        }
        Ok(user_login)
    }

    async fn count_failure(&self, login: &str) {
        let Some(p) = &self.inner.preferences else {
            return;
        };
        let current = match p.preferences(login).await {
            Ok(prefs) => prefs
                .get(PREF_LOGIN_FAILED)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0),
            Err(_) => return,
        };
        if let Err(e) = p
            .set_preference(login, PREF_LOGIN_FAILED, &(current + 1).to_string())
            .await
        {
            tracing::warn!(error = %e, "could not record a failed login");
        }
    }

    async fn check_credentials(&self, login: &str, password: &Password) -> Result<AuthOutcome> {
        let fail = |known: Option<Login>| AuthOutcome {
            login: None,
            known_login: known,
        };
        let found = self.find(login).await?;
        let Some((user, i)) = found else {
            self.dummy_verify(password).await;
            return Ok(fail(None));
        };
        if password.is_empty() || !user.validity.is_valid() {
            self.dummy_verify(password).await;
            return Ok(fail(Some(user.login)));
        }
        let slot = &self.inner.slots[i];
        if let Some(store) = &slot.source.passwords {
            let Some((stored_login, hash)) = store.password_hash(login).await? else {
                self.dummy_verify(password).await;
                return Ok(fail(Some(user.login)));
            };
            let Some(hash) = hash.filter(|h| !h.is_empty()) else {
                self.dummy_verify(password).await;
                return Ok(fail(Some(user.login)));
            };
            let hasher = self.inner.hasher.clone();
            let (pw, h, l) = (password.clone(), hash.clone(), stored_login.to_string());
            let verdict = tokio::task::spawn_blocking(move || hasher.verify(&h, &l, &pw))
                .await
                .map_err(|e| Error::backend("password verification", e.to_string()))?;
            return match verdict {
                Verification::Valid { needs_rehash } => {
                    // The hasher decides: legacy formats when upgrading is on, and hashes
                    // made with other algorithms or parameters than the current ones.
                    if needs_rehash && let Ok(writer) = slot.writer() {
                        let new_hash = self.hash(password).await?;
                        writer.set_password_hash(&stored_login, &new_hash).await?;
                    }
                    Ok(AuthOutcome {
                        login: Some(stored_login),
                        known_login: None,
                    })
                }
                Verification::Invalid => Ok(fail(Some(user.login))),
            };
        }
        if let Some(binder) = &slot.source.binder {
            let ok = binder.bind(user.login.as_str(), password).await?;
            return Ok(if ok {
                AuthOutcome {
                    login: Some(user.login),
                    known_login: None,
                }
            } else {
                fail(Some(user.login))
            });
        }
        self.dummy_verify(password).await;
        Ok(fail(Some(user.login)))
    }

    async fn dummy_verify(&self, password: &Password) {
        let hasher = self.inner.hasher.clone();
        let pw = password.clone();
        // The result is irrelevant; the work keeps unknown users as slow as known ones.
        let _ = tokio::task::spawn_blocking(move || hasher.dummy_verify(&pw)).await;
    }

    // ---------------------------------------------------------------- companies

    /// The company with this id.
    pub async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>> {
        self.companies()?.company(customer_id).await
    }

    /// Adds a company (validated against the company map).
    pub async fn add_company(&self, new: NewCustomerCompany, by: &str) -> Result<CustomerCompany> {
        let store = self.companies()?;
        let settings = store.settings();
        if settings.read_only {
            return Err(Error::ReadOnly {
                backend: settings.name.clone(),
            });
        }
        let company = new.validate(&Rules {
            map: &settings.map,
            email: &self.inner.email,
        })?;
        store.add_company(&company, by).await?;
        self.inner
            .access
            .company_validity_changed(company.customer_id.as_str(), company.validity.is_valid());
        self.announce(&[Change::Permissions]).await;
        Ok(store
            .company(company.customer_id.as_str())
            .await?
            .unwrap_or(company))
    }

    /// Changes a company; `NotFound` when it does not exist.
    pub async fn update_company(
        &self,
        customer_id: &str,
        changes: CustomerCompanyChanges,
        by: &str,
    ) -> Result<CustomerCompany> {
        let store = self.companies()?;
        let settings = store.settings();
        if settings.read_only {
            return Err(Error::ReadOnly {
                backend: settings.name.clone(),
            });
        }
        let current = store
            .company(customer_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            })?;
        let updated = changes.apply(
            &current,
            &Rules {
                map: &settings.map,
                email: &self.inner.email,
            },
        )?;
        store.update_company(&updated, by).await?;
        self.inner
            .access
            .company_validity_changed(updated.customer_id.as_str(), updated.validity.is_valid());
        if updated.validity != current.validity {
            self.announce(&[Change::Permissions]).await;
        }
        Ok(store.company(customer_id).await?.unwrap_or(updated))
    }

    /// Searches companies with the search language (`None` lists them all).
    pub async fn search_companies(
        &self,
        term: Option<&str>,
        valid_only: bool,
        limit: Option<usize>,
    ) -> Result<Vec<CustomerCompany>> {
        if let Some(t) = term {
            check_search_value("Search", t)?;
        }
        let store = self.companies()?;
        let s = store.settings();
        let expr = match term {
            Some(t) if !t.trim().is_empty() => Some(parse_term(t, &s.syntax)?),
            _ => None,
        };
        let query = CompanyQuery {
            expr,
            valid_only,
            limit: limit.unwrap_or(s.search_limit),
            case_sensitive: s.case_sensitive,
        };
        store.search_companies(&query).await
    }

    // ---------------------------------------------------------------- relations

    /// Relates a user to an extra company, or removes the relation (OTOBO
    /// `CustomerUserCustomerMemberAdd`). The user and (when a company store exists) the company
    /// must exist.
    pub async fn relate_company(
        &self,
        login: &str,
        customer_id: &str,
        active: bool,
        by: &str,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        if active
            && let Some(c) = &self.inner.companies
            && c.company(customer_id).await?.is_none()
        {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            });
        }
        self.relations()?
            .set_user_company(user.login.as_str(), customer_id, active, by)
            .await?;
        self.inner.access.forget_user(user.login.as_str());
        self.announce(&[Change::Relations {
            login: user.login.as_str().to_owned(),
        }])
        .await;
        Ok(())
    }

    /// The users related to a company through extra relations.
    pub async fn company_members(&self, customer_id: &str) -> Result<Vec<Login>> {
        self.relations()?.company_users(customer_id).await
    }

    /// Adds a group.
    pub async fn add_group(&self, name: &str, by: &str) -> Result<Group> {
        if name.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "group".into(),
            }
            .into());
        }
        let g = self
            .relations()?
            .add_group(name, Validity::Valid, by)
            .await?;
        self.inner.access.reset();
        self.announce(&[Change::Permissions]).await;
        Ok(g)
    }

    /// All groups.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        self.relations()?.groups().await
    }

    /// The group with this name.
    pub async fn group(&self, name: &str) -> Result<Group> {
        self.groups()
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Group,
                key: name.to_owned(),
            })
    }

    /// Sets a group's validity (invalid groups grant nothing).
    pub async fn set_group_validity(&self, name: &str, validity: Validity) -> Result<()> {
        let g = self.group(name).await?;
        self.relations()?.set_group_validity(g.id, validity).await?;
        self.inner.access.reset();
        self.announce(&[Change::Permissions]).await;
        Ok(())
    }

    /// Replaces the user's permission set on a group (SPEC §6.2: no stale rows). `rw` stands
    /// for every type. An empty set revokes.
    pub async fn grant_user(
        &self,
        login: &str,
        group: &str,
        permissions: &[&str],
        by: &str,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        let g = self.group(group).await?;
        let perms = self.checked_permissions(permissions)?;
        self.relations()?
            .set_user_grant(user.login.as_str(), g.id, &perms, by)
            .await?;
        self.inner
            .access
            .user_grant_changed(user.login.as_str(), g.id, &perms);
        self.announce(&[Change::Permissions]).await;
        Ok(())
    }

    /// Replaces a company's permission set on a group in a context
    /// (`Ticket::CustomerID::Same` or `Ticket::CustomerID::Other`).
    pub async fn grant_company(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        permissions: &[&str],
        by: &str,
    ) -> Result<()> {
        if let Some(c) = &self.inner.companies
            && c.company(customer_id).await?.is_none()
        {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            });
        }
        if context.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "permission_context".into(),
            }
            .into());
        }
        let g = self.group(group).await?;
        let perms = self.checked_permissions(permissions)?;
        self.relations()?
            .set_company_grant(customer_id, g.id, context, &perms, by)
            .await?;
        self.inner
            .access
            .company_grant_changed(customer_id, g.id, context, &perms);
        self.announce(&[Change::Permissions]).await;
        Ok(())
    }

    /// Everything stored about groups, grants and company relations.
    pub async fn relation_snapshot(&self) -> Result<RelationSnapshot> {
        self.relations()?.relation_snapshot().await
    }

    /// Normalises a permission list and refuses types that are not configured
    /// (`System::Customer::Permission`), naming the offending type.
    fn checked_permissions(&self, permissions: &[&str]) -> Result<Vec<String>> {
        let perms = normalise_permissions(permissions)?;
        let configured = &self.inner.config.permissions.permission_types;
        if let Some(p) = perms.iter().find(|p| !configured.contains(p)) {
            let names: Vec<&str> = configured.iter().map(|t| t.as_str()).collect();
            return Err(ValidationError::Invalid {
                field: "permission_key".into(),
                value: p.clone(),
                reason: format!(
                    "not a configured permission type (configured: {})",
                    names.join(", ")
                ),
            }
            .into());
        }
        Ok(perms)
    }

    // ---------------------------------------------------------------- services

    /// Adds a service.
    pub async fn add_service(&self, name: &str, by: &str) -> Result<Service> {
        if name.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "service".into(),
            }
            .into());
        }
        self.relations()?
            .add_service(name, Validity::Valid, by)
            .await
    }

    /// All services.
    pub async fn services(&self) -> Result<Vec<Service>> {
        self.relations()?.services().await
    }

    async fn service(&self, name: &str) -> Result<Service> {
        self.services()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Service,
                key: name.to_owned(),
            })
    }

    /// Assigns a service to a user or removes it; success is reported either way (OTOBO returned
    /// false for a successful removal, SPEC §6.4).
    pub async fn assign_service(
        &self,
        login: &str,
        service: &str,
        active: bool,
        by: &str,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        let s = self.service(service).await?;
        self.relations()?
            .set_user_service(user.login.as_str(), s.id, active, by)
            .await
    }

    /// Makes a service a default service (for users without services of their own) or not.
    pub async fn set_default_service(&self, service: &str, active: bool, by: &str) -> Result<()> {
        let s = self.service(service).await?;
        self.relations()?
            .set_user_service(DEFAULT_SERVICES_LOGIN, s.id, active, by)
            .await
    }

    /// The default services.
    pub async fn default_services(&self) -> Result<Vec<Service>> {
        self.relations()?
            .user_services(DEFAULT_SERVICES_LOGIN)
            .await
    }

    /// The valid services a user may request: their own, or the default services when they have
    /// none (a fallback, not a merge).
    pub async fn services_for(&self, login: &str) -> Result<Vec<Service>> {
        let (user, _) = self.require(login).await?;
        let own = self.relations()?.user_services(user.login.as_str()).await?;
        if own.is_empty() {
            self.default_services().await
        } else {
            Ok(own)
        }
    }

    // ---------------------------------------------------------------- preferences

    /// All preferences of a user (the user must exist).
    pub async fn preferences(&self, login: &str) -> Result<BTreeMap<String, String>> {
        let (user, _) = self.require(login).await?;
        self.preference_store()?
            .preferences(user.login.as_str())
            .await
    }

    /// Sets a preference. Works for users of read-only sources too; protected keys (login,
    /// email, validity, …) are refused with an error naming the key.
    pub async fn set_preference(&self, login: &str, key: &str, value: &str) -> Result<()> {
        check_preference(key, value)?;
        if PROTECTED_PREFERENCE_KEYS.contains(&key) || key == PREF_TOKEN {
            return Err(ValidationError::Invalid {
                field: key.into(),
                value: String::new(),
                reason: "this key is user data or security state and can't be set as a preference"
                    .into(),
            }
            .into());
        }
        let (user, i) = self.require(login).await?;
        self.preference_store()?
            .set_preference(user.login.as_str(), key, value)
            .await?;
        let slot = &self.inner.slots[i];
        slot.cache.invalidate_user(user.login.as_str());
        self.announce(&[Change::User {
            source: slot.name().to_owned(),
            login: user.login.as_str().to_owned(),
        }])
        .await;
        Ok(())
    }

    /// Removes a preference.
    pub async fn delete_preference(&self, login: &str, key: &str) -> Result<()> {
        let (user, _) = self.require(login).await?;
        self.preference_store()?
            .delete_preference(user.login.as_str(), key)
            .await
    }

    // ---------------------------------------------------------------- tokens

    /// A new one-time token for the user (OTOBO `TokenGenerate`), e.g. for a password-reset
    /// link. Only a digest is stored; a new token replaces the old one. The [`Token`] never
    /// shows in `Debug` output; [`Token::expose`] gives its text.
    pub async fn generate_token(&self, login: &str) -> Result<Token> {
        let (user, _) = self.require(login).await?;
        let token = Token::new(generate_token());
        self.preference_store()?
            .set_preference(
                user.login.as_str(),
                PREF_TOKEN,
                &token_digest(token.expose()),
            )
            .await?;
        Ok(token)
    }

    /// Checks and consumes a token (OTOBO `TokenCheck`): `true` once, `false` afterwards and for
    /// any other value. Two concurrent checks of one token cannot both succeed.
    pub async fn check_token(&self, login: &str, token: &str) -> Result<bool> {
        if token.is_empty() {
            return Ok(false);
        }
        let Some((user, _)) = self.find(login).await? else {
            return Ok(false);
        };
        self.preference_store()?
            .take_preference(user.login.as_str(), PREF_TOKEN, &token_digest(token))
            .await
    }

    /// Drops every cached entry of every source.
    pub fn clear_caches(&self) {
        for s in &self.inner.slots {
            s.cache.clear();
        }
    }

    /// All attributes of a user merged with its company and preferences, as OTOBO's
    /// `CustomerUserDataGet` returns them: company attributes (its validity as
    /// `CustomerCompanyValidID`), overridden by the user's, then `UserFullname`, then the
    /// preferences (which can't hold user data: those keys are protected). The token digest is
    /// left out.
    pub async fn merged_record(
        &self,
        login: &str,
    ) -> Result<Option<BTreeMap<String, AttributeValue>>> {
        let Some((user, i)) = self.find(login).await? else {
            return Ok(None);
        };
        let mut record = BTreeMap::new();
        if self.inner.slots[i].settings().company_support
            && let Some(c) = &self.inner.companies
            && let Some(company) = c.company(user.customer_id.as_str()).await?
        {
            for (k, v) in company.attributes() {
                if k == keys::VALID {
                    record.insert("CustomerCompanyValidID".to_owned(), v);
                } else {
                    record.insert(k, v);
                }
            }
        }
        record.extend(user.attributes());
        if let Some(name) = self.customer_name(user.login.as_str()).await? {
            record.insert("UserFullname".into(), AttributeValue::Text(name));
        }
        if let Some(p) = &self.inner.preferences {
            for (k, v) in p.preferences(user.login.as_str()).await? {
                if k != PREF_TOKEN {
                    record.insert(k, AttributeValue::Text(v));
                }
            }
        }
        Ok(Some(record))
    }
}

struct AuthOutcome {
    login: Option<Login>,
    known_login: Option<Login>,
}

fn check_preference(key: &str, value: &str) -> Result<()> {
    let bad = |field: &str, reason: &str| -> Error {
        ValidationError::Invalid {
            field: field.into(),
            value: String::new(),
            reason: reason.into(),
        }
        .into()
    };
    if key.is_empty() {
        return Err(ValidationError::Required {
            field: "preferences_key".into(),
        }
        .into());
    }
    if key.chars().count() > clientele_model::limits::PREFERENCE_KEY
        || key.chars().any(char::is_control)
    {
        return Err(bad(
            "preferences_key",
            "at most 150 characters, no control characters",
        ));
    }
    if value.chars().count() > clientele_model::limits::PREFERENCE_VALUE || value.contains('\0') {
        return Err(bad(
            key,
            "a preference value has at most 250 characters and no NUL",
        ));
    }
    Ok(())
}

/// OTOBO's `GroupMemberAdd` rule: `rw` includes everything, so `{rw, …}` is stored as `{rw}`.
fn normalise_permissions(permissions: &[&str]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in permissions {
        let ok = !p.is_empty()
            && p.len() <= 20
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(ValidationError::Invalid {
                field: "permission_key".into(),
                value: (*p).to_owned(),
                reason: "permission types are 1–20 ASCII letters, digits or _".into(),
            }
            .into());
        }
        if !out.iter().any(|x| x == p) {
            out.push((*p).to_owned());
        }
    }
    if out.iter().any(|p| p == "rw") {
        out = vec!["rw".to_owned()];
    }
    out.sort();
    Ok(out)
}

/// The longest search value accepted, in characters. Stored values are at most a few hundred
/// characters (OTOBO's column sizes), so a longer value can match nothing; refusing it keeps
/// megabyte-sized values away from the engines' own limits (SQLite's LIKE pattern length).
pub const MAX_SEARCH_VALUE: usize = 4096;

/// Refuses a search value that no stored value can match and that an engine would choke on:
/// a NUL (no field can hold one; PostgreSQL rejects it in a bound text parameter) or more than
/// [`MAX_SEARCH_VALUE`] characters. The error names the search parameter (OTOBO's names).
fn check_search_value(field: &str, value: &str) -> Result<()> {
    if let Some(position) = value.chars().position(|c| c == '\0') {
        return Err(ValidationError::ForbiddenCharacter {
            field: field.into(),
            character: '\0',
            position,
        }
        .into());
    }
    let len = value.chars().count();
    if len > MAX_SEARCH_VALUE {
        return Err(ValidationError::TooLong {
            field: field.into(),
            len,
            max: MAX_SEARCH_VALUE,
            value: value.chars().take(32).collect(),
        }
        .into());
    }
    Ok(())
}

/// [`check_search_value`] for every value of a detail search.
fn check_detail_search(search: &DetailSearch) -> Result<()> {
    for c in &search.conditions {
        check_search_value(&c.attribute, &c.pattern.display())?;
    }
    for s in &search.selections {
        for v in &s.values {
            check_search_value(&s.attribute, v)?;
        }
    }
    for login in &search.exclude_logins {
        check_search_value(keys::LOGIN, login)?;
    }
    for id in &search.customer_ids {
        check_search_value(keys::CUSTOMER_ID, id)?;
    }
    Ok(())
}

fn token_digest(token: &str) -> String {
    crate::password::token_digest(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otobo_mail_string() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mail_string(&s(&["John", "Doe", "john@x.com"])),
            "\"John Doe\" <john@x.com>"
        );
        assert_eq!(mail_string(&s(&["john@x.com"])), "john@x.com");
        assert_eq!(mail_string(&s(&["John", "", "nomail"])), "John nomail");
    }

    /// Regression: a NUL in a search value made PostgreSQL searches hang until the pool's
    /// acquire timeout (30 s, reported as `Timeout`), and a 1 MB value of two-byte characters
    /// failed SQLite's exact match with an untyped backend error. Both are refused up front now,
    /// naming the search parameter (tests/hostile_input.rs runs them on every backend).
    #[tokio::test]
    async fn hostile_search_values_are_refused_typed() {
        let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
        let field_of = |r: Result<Vec<SearchHit>>| match r {
            Err(Error::Invalid(v)) => v.field().to_owned(),
            other => panic!("expected a typed refusal, got {other:?}"),
        };
        assert_eq!(
            field_of(dir.search(&CustomerUserSearch::term("a\0b")).await),
            "Search"
        );
        assert_eq!(
            field_of(dir.search(&CustomerUserSearch::login("\0")).await),
            keys::LOGIN
        );
        assert_eq!(
            field_of(dir.search(&CustomerUserSearch::email("x\0@y.test")).await),
            "PostMasterSearch"
        );
        let huge = "\u{e9}".repeat(1 << 19);
        assert_eq!(
            field_of(
                dir.search(&CustomerUserSearch::customer_id_raw(huge.clone()))
                    .await
            ),
            "CustomerIDRaw"
        );
        assert!(matches!(
            dir.search_companies(Some(&huge), true, None).await,
            Err(Error::Invalid(_))
        ));
        let mut detail = DetailSearch::default();
        detail.exclude_logins.push("a\0".into());
        assert!(matches!(
            dir.search_detail(&detail).await,
            Err(Error::Invalid(_))
        ));
        // At the limit, a search still runs.
        let edge = "x".repeat(MAX_SEARCH_VALUE);
        assert!(
            dir.search(&CustomerUserSearch::term(edge))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rw_swallows_the_rest() {
        assert_eq!(normalise_permissions(&["ro", "rw"]).unwrap(), vec!["rw"]);
        assert_eq!(
            normalise_permissions(&["ro", "move_into", "ro"]).unwrap(),
            vec!["move_into", "ro"]
        );
        assert!(normalise_permissions(&["r w"]).is_err());
    }
}
