//! Customer users: look-ups, display strings, customer ids, and the writes (add, update, rename,
//! validity) with validation against the target source's map.

use clientele_model::Actor;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesOrdered;

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::*;
use clientele_model::search::{Expr, FieldSet, Pattern, UserQuery};
use clientele_model::{
    AttributeValue, CustomerId, CustomerUser, CustomerUserChanges, Login, NewCustomerUser,
    Password, ValidationError, Validity, keys,
};
use tracing::Instrument;

use crate::Directory;
use crate::auth::PREF_TOKEN;
use crate::source::Slot;

/// One source's answer for one login: the user, no such user, or its refusal.
type Answer = Result<Option<Arc<CustomerUser>>>;

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

pub(crate) fn looks_like_mail(s: &str) -> bool {
    s.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    })
}

impl Directory {
    /// The user with this login from the first source that has it (OTOBO `CustomerUserDataGet`).
    pub async fn customer_user(&self, login: &str) -> Result<Option<CustomerUser>> {
        Ok(self
            .find(login)
            .await?
            .map(|(u, _)| Arc::unwrap_or_clone(u)))
    }

    /// Like [`customer_user`](Self::customer_user), but shared with the cache: a cached hit
    /// costs a look-up and a reference count, not a copy of the record. For hosts that read
    /// the same users often (a ticket list showing each customer).
    pub async fn customer_user_shared(&self, login: &str) -> Result<Option<Arc<CustomerUser>>> {
        Ok(self.find(login).await?.map(|(u, _)| u))
    }

    /// The user and the name of the source that owns it.
    pub async fn customer_user_with_source(
        &self,
        login: &str,
    ) -> Result<Option<(CustomerUser, String)>> {
        Ok(self.find(login).await?.map(|(u, i)| {
            (
                Arc::unwrap_or_clone(u),
                self.inner.slots[i].name().to_owned(),
            )
        }))
    }

    /// Many users at once, each as [`customer_user`](Self::customer_user) finds it: position
    /// `i` holds the user with the login `logins[i]` from the first source that has it, `None`
    /// when no source has it, or the refusal of that one login (a malformed key,
    /// [`Error::Ambiguous`]). A login given twice is answered twice.
    ///
    /// The difference is the cost: each source is asked once for all the logins its cache does
    /// not know ([`CustomerUserSource::get_many`]: a few statements for a SQL source), where
    /// `customer_user` asks once per login. An import comparing a batch of rows with what is
    /// stored takes this path.
    ///
    /// A source that fails is passed over, as `customer_user` passes it over; when a login is
    /// then found nowhere else, the whole call fails with that source's error (an outage is
    /// not "no such user").
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin")
    ///     .await
    ///     .unwrap();
    /// dir.add_customer_user(
    ///     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
    ///     "admin",
    /// )
    /// .await
    /// .unwrap();
    ///
    /// let found = dir.customer_users_by_logins(&["JDoe", "nobody"]).await.unwrap();
    /// assert_eq!(found[0].as_ref().unwrap().as_ref().unwrap().login.as_str(), "jdoe");
    /// assert!(found[1].as_ref().unwrap().is_none());
    /// # });
    /// ```
    pub async fn customer_users_by_logins<S: AsRef<str> + Sync>(
        &self,
        logins: &[S],
    ) -> Result<Vec<Result<Option<CustomerUser>>>> {
        let slots = &self.inner.slots;
        let mut answers: Vec<Option<Answer>> = (0..logins.len()).map(|_| None).collect();
        // Per login, the first source whose cache does not know it (as `find`): the sources
        // from there on are asked.
        let mut start: Vec<usize> = vec![slots.len(); logins.len()];
        for (i, login) in logins.iter().enumerate() {
            let login = login.as_ref();
            if login.is_empty() {
                answers[i] = Some(Ok(None));
                continue;
            }
            if let Err(e) = crate::search::check_lookup_key(keys::LOGIN, login) {
                answers[i] = Some(Err(e));
                continue;
            }
            for (j, slot) in slots.iter().enumerate() {
                match slot.cache.user(login) {
                    Some(Some(user)) => {
                        answers[i] = Some(Ok(Some(user)));
                        break;
                    }
                    Some(None) => {}
                    None => {
                        start[i] = j;
                        break;
                    }
                }
            }
            if answers[i].is_none() && start[i] == slots.len() {
                answers[i] = Some(Ok(None));
            }
        }
        // Every source asked at once, each for the logins that reach it; every call runs to its
        // end (see `find`).
        let asked: Vec<Vec<usize>> = (0..slots.len())
            .map(|j| {
                (0..logins.len())
                    .filter(|&i| answers[i].is_none() && start[i] <= j)
                    .collect()
            })
            .collect();
        let replies: Vec<Result<Vec<Answer>>> = join_all(slots.iter().zip(&asked).map(
            |(slot, positions)| async move {
                if positions.is_empty() {
                    return Ok(Vec::new());
                }
                let wanted: Vec<&str> = positions.iter().map(|&i| logins[i].as_ref()).collect();
                slot.get_many(&wanted).await
            },
        ))
        .await;
        // Per source: its answers by login position, or the error that failed the whole call.
        let mut by_source: Vec<(Vec<Option<Answer>>, Option<Error>)> =
            Vec::with_capacity(slots.len());
        for ((slot, positions), reply) in slots.iter().zip(&asked).zip(replies) {
            let mut mine: Vec<Option<Answer>> = (0..logins.len()).map(|_| None).collect();
            match reply {
                Ok(found) => {
                    for (&i, answer) in positions.iter().zip(found) {
                        mine[i] = Some(answer);
                    }
                    by_source.push((mine, None));
                }
                Err(e) if e.is_source_failure() => {
                    tracing::warn!(backend = %slot.name(), error = %e, "source skipped for a look-up");
                    by_source.push((mine, Some(e)));
                }
                Err(e) => return Err(e),
            }
        }
        // In source order per login, as `find` takes the answers.
        for (i, answer) in answers.iter_mut().enumerate() {
            if answer.is_some() {
                continue;
            }
            // The first source that failed this login: its own error, or the source's.
            let mut outage: Option<Result<Error, usize>> = None;
            for (j, (mine, failed)) in by_source.iter_mut().enumerate().skip(start[i]) {
                match mine[i].take() {
                    Some(Ok(Some(user))) => {
                        *answer = Some(Ok(Some(user)));
                        break;
                    }
                    Some(Ok(None)) => {}
                    Some(Err(e)) if e.is_source_failure() => {
                        tracing::warn!(backend = %slots[j].name(), error = %e, "source skipped for a look-up");
                        outage.get_or_insert(Ok(e));
                    }
                    Some(Err(e)) => {
                        *answer = Some(Err(e));
                        break;
                    }
                    None if failed.is_some() => {
                        outage.get_or_insert(Err(j));
                    }
                    None => {}
                }
            }
            if answer.is_none() {
                match outage {
                    Some(Ok(e)) => return Err(e),
                    Some(Err(j)) => {
                        return Err(by_source[j].1.take().unwrap_or_else(|| {
                            Error::backend(slots[j].name(), "the source failed the look-up")
                        }));
                    }
                    None => *answer = Some(Ok(None)),
                }
            }
        }
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or(Ok(None)).map(|u| u.map(Arc::unwrap_or_clone)))
            .collect())
    }

    pub(crate) async fn find(&self, login: &str) -> Result<Option<(Arc<CustomerUser>, usize)>> {
        if login.is_empty() {
            return Ok(None);
        }
        crate::search::check_lookup_key(keys::LOGIN, login)?;
        // The caches first, in source order: a cached answer needs no source and no task. A
        // source whose cache knows the login is absent is passed over as asking it would be.
        let mut unknown_from = None;
        for (i, slot) in self.inner.slots.iter().enumerate() {
            match slot.cache.user(login) {
                Some(Some(user)) => return Ok(Some((user, i))),
                Some(None) => {}
                None => {
                    unknown_from = Some(i);
                    break;
                }
            }
        }
        let Some(start) = unknown_from else {
            return Ok(None);
        };
        // A source that fails (down, or refusing its service account: `is_source_failure`) is
        // skipped so the others keep serving their users; when the login is found nowhere
        // else, its error is returned rather than a false "not found".
        // The remaining sources are asked at once and the answers taken in source order: the
        // first source that has the login wins, the same answer as asking in turn. Every
        // look-up started runs to its end: a query dropped half-way can cost a store its
        // connection (and an in-memory SQLite database its contents).
        let answers: Vec<_> = (self.inner.slots.iter().enumerate())
            .skip(start)
            .map(|(i, slot)| async move { (i, slot, slot.get(login).await) })
            .collect::<FuturesOrdered<_>>()
            .collect()
            .await;
        let mut outage = None;
        for (i, slot, answer) in answers {
            match answer {
                Ok(Some(user)) => return Ok(Some((user, i))),
                Ok(None) => {}
                Err(e) if e.is_source_failure() => {
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

    pub(crate) async fn require(&self, login: &str) -> Result<(Arc<CustomerUser>, usize)> {
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

    pub(crate) fn target(&self) -> Result<&Slot> {
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

    /// The name of the source an add goes to: `named` when given, else the configured
    /// `add_target`, else the first writable source. `NotFound` ([`Entity::Backend`]) for a
    /// name no source has; `ReadOnly` when that source, or every source, is read-only.
    pub fn add_target(&self, named: Option<&str>) -> Result<&str> {
        let slot = match named {
            Some(name) => self.slot(name)?,
            None => self.target()?,
        };
        slot.writer()?;
        Ok(slot.name())
    }

    /// Whether the source named `name` takes writes: it has a writer (an LDAP source has none)
    /// and its settings do not say `read_only`. `false` for a name no source has. An admin
    /// screen shows a user of a source that does not as a record, without an edit form.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clientele_directory::{Directory, InMemoryBackend};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// assert!(dir.is_writable_source("memory"));
    /// assert!(!dir.is_writable_source("ldap"));
    /// ```
    pub fn is_writable_source(&self, name: &str) -> bool {
        self.slot(name).is_ok_and(|s| s.writer().is_ok())
    }

    /// Adds a user to the configured target source (default: the first writable one).
    pub async fn add_customer_user(
        &self,
        new: NewCustomerUser,
        by: impl Into<Actor>,
    ) -> Result<Added> {
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
        by: impl Into<Actor>,
    ) -> Result<Added> {
        let slot = self.slot(source)?;
        let writer = slot.writer()?.clone();
        let user = new.validate(&slot.rules())?;
        self.check_new_password(new.password.as_ref())?;
        self.check_company(slot, &user).await?;
        self.login_unused(&user.login, None).await?;
        self.email_unused(&user, slot).await?;
        let (hash, generated) = match new.password {
            Some(p) if !p.is_empty() => (Some(self.hash(&p).await?), None),
            // Beside an OTOBO that keeps plain text, no password is written at all: the user
            // gets one in OTOBO, as after OTOBO's own add.
            _ if self.password_writes_refused() => (None, None),
            _ => {
                let p = self.generate_password_within_policy()?;
                (Some(self.hash(&p).await?), Some(p))
            }
        };
        let span = tracing::info_span!("backend.add", backend = %slot.name());
        let result = writer
            .add(&user, hash.as_deref(), &by.into())
            .instrument(span)
            .await;
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

    /// Refuses a login that a source already has (login uniqueness across sources), naming
    /// the source. `except` is a source left out: one that refuses taken logins itself,
    /// atomically, when it stores the user.
    pub(crate) async fn login_unused(&self, login: &Login, except: Option<&Slot>) -> Result<()> {
        let others = self
            .inner
            .slots
            .iter()
            .filter(|s| except.is_none_or(|e| !std::ptr::eq(*s, e)));
        for other in others {
            if other.get(login.as_str()).await?.is_some() {
                return Err(Error::AlreadyExists {
                    entity: Entity::CustomerUser,
                    field: keys::LOGIN.into(),
                    value: login.to_string(),
                    backend: Some(other.name().to_owned()),
                });
            }
        }
        Ok(())
    }

    /// Refuses an address that a user of another source holds (email uniqueness across
    /// sources), when the target source checks email uniqueness (`email_unique_check`, OTOBO
    /// `CustomerUserEmailUniqCheck`); the error names the field and the source that holds it.
    /// The target refuses its own taken addresses atomically when it stores the user; every
    /// other source is asked at once, with the exact, case-insensitive postmaster search that
    /// [`CustomerUserSearch::email`](clientele_model::search::CustomerUserSearch::email) runs,
    /// invalid users included. A user of the same login in another source does not count.
    pub(crate) async fn email_unused(&self, user: &CustomerUser, target: &Slot) -> Result<()> {
        if !target.settings().email_unique_check {
            return Ok(());
        }
        let query = UserQuery {
            fields: FieldSet::PostmasterFields,
            expr: Expr::Match(Pattern::exact(user.email.as_str())),
            valid_only: false,
            // The user's own login may hold it in another source; one more is someone else.
            limit: 2,
            case_sensitive: false,
        };
        let others = (self.inner.slots.iter()).filter(|s| !std::ptr::eq(*s, target));
        let answers = join_all(others.map(|slot| {
            let query = &query;
            async move { (slot, slot.source.reader.search(query).await) }
        }))
        .await;
        for (slot, answer) in answers {
            if answer?
                .iter()
                .any(|holder| !holder.login.eq_ignore_case(user.login.as_str()))
            {
                return Err(Error::AlreadyExists {
                    entity: Entity::CustomerUser,
                    field: keys::EMAIL.into(),
                    value: user.email.to_string(),
                    backend: Some(slot.name().to_owned()),
                });
            }
        }
        Ok(())
    }

    /// Refuses a user whose primary company must exist and does not.
    pub(crate) async fn check_company(&self, slot: &Slot, user: &CustomerUser) -> Result<()> {
        if self.company_missing(slot, user).await? {
            return Err(missing_company(user));
        }
        Ok(())
    }

    /// Whether the user's primary company is required (the Directory's `require_company` and
    /// the source's company support) and missing.
    pub(crate) async fn company_missing(&self, slot: &Slot, user: &CustomerUser) -> Result<bool> {
        if !(self.inner.config.require_company && slot.settings().company_support) {
            return Ok(false);
        }
        self.company_unknown(user.customer_id.as_str()).await
    }

    /// Whether no password may be written at all: the table is shared with an OTOBO whose
    /// CryptType is `plain` ([`PlainText::Shared`](clientele_password::PlainText::Shared)).
    pub(crate) fn password_writes_refused(&self) -> bool {
        self.inner.hasher.config().plain_text == clientele_password::PlainText::Shared
    }

    /// [`password_writes_refused`](Self::password_writes_refused) as the error a write that
    /// carries a password gets, before anything is changed.
    pub(crate) fn check_password_writable(&self) -> Result<()> {
        if self.password_writes_refused() {
            return Err(Error::Config(format!(
                "passwords: {}",
                clientele_password::PasswordError::PlainTextShared
            )));
        }
        Ok(())
    }

    pub(crate) async fn hash(&self, password: &Password) -> Result<String> {
        let hasher = self.inner.hasher.clone();
        let password = password.clone();
        let hashed = tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| Error::backend_failure("password hashing", e))?;
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
        by: impl Into<Actor>,
    ) -> Result<CustomerUser> {
        self.update_inner(login, changes, Expected::Any, by).await
    }

    /// Like [`update_customer_user`](Self::update_customer_user), but fails with
    /// [`Error::Conflict`] when the user changed since the caller read it (`read.audit.changed_at`).
    pub async fn update_customer_user_checked(
        &self,
        read: &CustomerUser,
        changes: CustomerUserChanges,
        by: impl Into<Actor>,
    ) -> Result<CustomerUser> {
        self.update_inner(
            read.login.as_str(),
            changes,
            Expected::ChangedAt(read.audit.changed_at),
            by,
        )
        .await
    }

    pub(crate) async fn update_inner(
        &self,
        login: &str,
        changes: CustomerUserChanges,
        expected: Expected,
        by: impl Into<Actor>,
    ) -> Result<CustomerUser> {
        if changes.password.as_ref().is_some_and(|p| !p.is_empty()) {
            self.check_password_writable()?;
            self.check_new_password(changes.password.as_ref())?;
        }
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
            self.login_unused(&updated.login, None).await?;
        }
        if updated.customer_id != current.customer_id {
            self.check_company(slot, &updated).await?;
        }
        if !updated.email.eq_ignore_case(current.email.as_str()) {
            self.email_unused(&updated, slot).await?;
        }
        let span = tracing::info_span!("backend.update", backend = %slot.name());
        // When the writer also holds this Directory's relations and preferences, a rename moves
        // them in the record's own transaction; otherwise they are moved after it.
        let related_here = renamed && self.holds_related(&writer);
        let result = if related_here {
            writer
                .update_renaming(&current.login, &updated, expected, &by.into())
                .instrument(span)
                .await
        } else {
            writer
                .update(&current.login, &updated, expected, &by.into())
                .instrument(span)
                .await
                .map(|()| false)
        };
        slot.cache.invalidate_user(current.login.as_str());
        slot.cache.invalidate_user(updated.login.as_str());
        self.inner.access.forget_user(current.login.as_str());
        self.inner.access.forget_user(updated.login.as_str());
        let moved_with_record = result?;
        let mut announced = vec![Change::User {
            source: slot.name().to_owned(),
            login: current.login.as_str().to_owned(),
        }];
        if renamed {
            announced.push(Change::User {
                source: slot.name().to_owned(),
                login: updated.login.as_str().to_owned(),
            });
            // The grants moved from the old login to the new one.
            announced.push(Change::UserGrants {
                login: current.login.as_str().to_owned(),
            });
            announced.push(Change::UserGrants {
                login: updated.login.as_str().to_owned(),
            });
        }
        if renamed {
            // Grants moved to the new login in the store; rebuild the matrix from it.
            self.inner.access.reset();
        }
        if renamed && !moved_with_record {
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
        self.require(updated.login.as_str())
            .await
            .map(|(u, _)| Arc::unwrap_or_clone(u))
    }

    /// Whether `writer` is the very store that holds this Directory's relations and
    /// preferences (one database behind all three), so it can move them in one transaction.
    fn holds_related(&self, writer: &Arc<dyn CustomerUserWriter>) -> bool {
        let same = |other: *const ()| std::ptr::eq(Arc::as_ptr(writer).cast::<()>(), other);
        let relations = self
            .inner
            .relations
            .as_ref()
            .is_none_or(|r| same(Arc::as_ptr(r).cast::<()>()));
        let preferences = self
            .inner
            .preferences
            .as_ref()
            .is_none_or(|p| same(Arc::as_ptr(p).cast::<()>()));
        relations && preferences
    }

    /// Sets a user's validity; users are never deleted (SPEC §2).
    pub async fn set_validity(
        &self,
        login: &str,
        validity: Validity,
        by: impl Into<Actor>,
    ) -> Result<CustomerUser> {
        self.update_customer_user(login, CustomerUserChanges::new().validity(validity), by)
            .await
    }

    /// Invalidates a user: it can no longer log in and disappears from default searches.
    pub async fn invalidate_customer_user(
        &self,
        login: &str,
        by: impl Into<Actor>,
    ) -> Result<CustomerUser> {
        self.set_validity(login, Validity::Invalid, by).await
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
            && let Some(company) = self.find_company(user.customer_id.as_str()).await?
        {
            for (k, v) in company.attributes() {
                if k == keys::VALID {
                    record.insert(keys::COMPANY_VALID.to_owned(), v);
                } else {
                    record.insert(k, v);
                }
            }
        }
        record.extend(user.attributes());
        if let Some(name) = self.customer_name(user.login.as_str()).await? {
            record.insert(keys::FULLNAME.into(), AttributeValue::Text(name));
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

/// The error for a user whose primary company does not exist, naming the customer id.
pub(crate) fn missing_company(user: &CustomerUser) -> Error {
    ValidationError::Invalid {
        field: keys::CUSTOMER_ID.into(),
        value: user.customer_id.to_string(),
        reason: "no customer company has this id; add the company first".into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn otobo_mail_string() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mail_string(&s(&["John", "Doe", "john@x.com"])),
            "\"John Doe\" <john@x.com>"
        );
        assert_eq!(mail_string(&s(&["john@x.com"])), "john@x.com");
        assert_eq!(mail_string(&s(&["John", "", "nomail"])), "John nomail");
    }
}
