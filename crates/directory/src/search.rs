//! Searches across sources: the term parsed per source, every source asked, results merged by
//! login with the earlier source winning; detail searches and customer-id lists.

use std::collections::HashSet;

use clientele_backend::error::{Error, Result};
use clientele_backend::traits::*;
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Expr, FieldSet, Pattern, SearchKind, UserQuery, parse_term,
    sort_by_login,
};
use clientele_model::{CustomerId, CustomerUser, Login, ValidationError, keys};
use serde::Serialize;

use futures_util::future::join_all;

use crate::Directory;
use crate::source::Slot;
use crate::users::mail_string;

/// What a Directory search collects from each source: whole records ([`Directory::search`]) or
/// listed users ([`Directory::search_list`]).
pub(crate) trait Found: Sized + Send {
    fn login(&self) -> &Login;
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<SourcePage<Self>>>;
    /// The hit for a whole record of the slot's source.
    fn of_user(user: CustomerUser, slot: &Slot) -> Self;
}

pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl Found for CustomerUser {
    fn login(&self) -> &Login {
        &self.login
    }
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<SourcePage<Self>>> {
        Box::pin(slot.search_page(query))
    }
    fn of_user(user: CustomerUser, _: &Slot) -> Self {
        user
    }
}

impl Found for ListedUser {
    fn login(&self) -> &Login {
        &self.login
    }
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<SourcePage<Self>>> {
        Box::pin(slot.search_list_page(query))
    }
    fn of_user(user: CustomerUser, slot: &Slot) -> Self {
        ListedUser::of(&user, slot.settings())
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

/// One page of a search: the hits, the limit that cut them, whether more matched, and the
/// sources that could not be asked.
///
/// A list that stopped at its limit says so (`more_matched`), and a search that went on while
/// a source failed names the source (`missing_sources`): the hits are then what the other
/// sources hold, and a user of the missing source may be absent.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use clientele_backend::InMemoryBackend;
/// use clientele_directory::Directory;
/// use clientele_model::{NewCustomerCompany, NewCustomerUser};
/// use clientele_model::search::CustomerUserSearch;
///
/// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
/// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
/// for login in ["anna", "bert", "carl"] {
///     let mail = format!("{login}@acme-corp.com");
///     dir.add_customer_user(NewCustomerUser::new(login, "A", "B", &mail, "ACME"), "admin")
///         .await?;
/// }
/// let page = dir.search_page(&CustomerUserSearch::login("*").limit(2)).await?;
/// assert_eq!(page.hits.len(), 2);
/// assert_eq!(page.limit, 2);
/// assert!(page.more_matched);
/// assert!(page.missing_sources.is_empty());
/// # Ok::<(), clientele_backend::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchPage<T> {
    /// What was found, at most `limit`.
    pub hits: Vec<T>,
    /// The limit applied to the merged list.
    pub limit: usize,
    /// More matched than `hits` shows: the merged list was cut to `limit`, or a source had
    /// more matches than its own limit (for an LDAP source also: the server stopped at its
    /// size limit). A user found in several sources counts once in the merged list, so with
    /// per-source limits below `limit` this can be true of a list that a larger limit would
    /// not lengthen; it is never false of a list that stopped short.
    pub more_matched: bool,
    /// The sources that failed and were left out, in source order. Empty when every source
    /// answered.
    pub missing_sources: Vec<MissingSource>,
}

impl<T> SearchPage<T> {
    /// `true` when a source was left out: the hits may lack users it holds.
    pub fn is_partial(&self) -> bool {
        !self.missing_sources.is_empty()
    }
}

/// A source left out of a search because it failed ([`SearchPage::missing_sources`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingSource {
    /// The source's name.
    pub source: String,
    /// Why, as the error says it (no secrets: errors never carry a password).
    pub reason: String,
}

impl MissingSource {
    /// The source `slot`, left out of a search because of `error` (logged).
    fn left_out(slot: &Slot, error: &Error) -> MissingSource {
        tracing::warn!(backend = %slot.name(), %error, "source left out of a search");
        MissingSource {
            source: slot.name().to_owned(),
            reason: error.to_string(),
        }
    }
}

impl<T> SearchPage<T> {
    /// The same page with each hit turned into another type.
    pub(crate) fn map<U>(self, f: impl FnMut(T) -> U) -> SearchPage<U> {
        SearchPage {
            hits: self.hits.into_iter().map(f).collect(),
            limit: self.limit,
            more_matched: self.more_matched,
            missing_sources: self.missing_sources,
        }
    }
}

/// How many merged hits a search keeps: an explicit limit is honoured as asked; the
/// Directory-wide `overall_search_limit` caps only searches that name none, and without it the
/// first source's `search_limit` does (OTOBO `CustomerUserSearchListLimit`).
pub(crate) fn merged_limit(
    explicit: Option<usize>,
    overall: Option<usize>,
    first_source: impl FnOnce() -> usize,
) -> usize {
    explicit.or(overall).unwrap_or_else(first_source)
}

/// The longest search value accepted, in characters. Stored values are at most a few hundred
/// characters (OTOBO's column sizes), so a longer value can match nothing; refusing it keeps
/// megabyte-sized values away from the engines' own limits (SQLite's LIKE pattern length).
pub const MAX_SEARCH_VALUE: usize = 4096;

/// Refuses a search value that no stored value can match and that an engine would choke on:
/// a NUL (no field can hold one; PostgreSQL rejects it in a bound text parameter) or more than
/// [`MAX_SEARCH_VALUE`] characters. The error names the search parameter (OTOBO's names).
pub(crate) fn check_search_value(field: &str, value: &str) -> Result<()> {
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

/// Refuses a key a look-up cannot be asked for, before any source is: a login or customer id
/// holding a NUL (no stored value can hold one; PostgreSQL refuses it in a bound parameter, so
/// the source would fail instead of answering "not found"), or longer than any search value.
/// The error names the key's attribute; an import reports it on the row instead of stopping.
pub(crate) fn check_lookup_key(field: &str, value: &str) -> Result<()> {
    check_search_value(field, value)
}

/// [`check_search_value`] for every value of a detail search.
pub(crate) fn check_detail_search(search: &DetailSearch) -> Result<()> {
    for c in &search.conditions {
        check_search_value(&c.attribute, &c.pattern.display())?;
    }
    for s in &search.selections {
        for v in &s.values {
            check_search_value(&s.attribute, v)?;
        }
    }
    for d in &search.dynamic_fields {
        for v in d.operators.values().flatten() {
            check_search_value(&d.attribute, v)?;
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

impl Directory {
    pub(crate) fn query_for(&self, slot: &Slot, search: &CustomerUserSearch) -> Result<UserQuery> {
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
    /// A source that fails is left out while another one answers (see
    /// [`search_page`](Self::search_page), which also says which one and whether more
    /// matched than the limit).
    ///
    /// For a result list that shows only names and emails, [`search_list`](Self::search_list)
    /// finds the same users and reads less.
    pub async fn search(&self, search: &CustomerUserSearch) -> Result<Vec<SearchHit>> {
        Ok(self.search_page(search).await?.hits)
    }

    /// [`search`](Self::search) as a [`SearchPage`]: the same hits, and whether more matched
    /// than the limit and which sources were left out because they failed.
    ///
    /// Each source is asked for one user more than its limit, so "more matched" costs no
    /// extra query. A failing source (down, timed out, refusing the service account's bind,
    /// …) is left out and named in [`missing_sources`](SearchPage::missing_sources) while
    /// another source answers; when none answers, the first source's error is returned. A
    /// search term a source refuses is an error, whatever the other sources answer.
    pub async fn search_page(&self, search: &CustomerUserSearch) -> Result<SearchPage<SearchHit>> {
        let found = self.collect::<CustomerUser>(search).await?;
        Ok(found.map(|(slot, user)| SearchHit {
            display: mail_string(&slot.settings().list_values(&user)),
            source: slot.name().to_owned(),
            user,
        }))
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
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
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
        Ok(self.search_list_page(search).await?.hits)
    }

    /// [`search_list`](Self::search_list) as a [`SearchPage`], as
    /// [`search_page`](Self::search_page) is to [`search`](Self::search).
    pub async fn search_list_page(
        &self,
        search: &CustomerUserSearch,
    ) -> Result<SearchPage<ListHit>> {
        let found = self.collect::<ListedUser>(search).await?;
        Ok(found.map(|(slot, listed)| ListHit {
            display: mail_string(&listed.list_values),
            source: slot.name().to_owned(),
            login: listed.login,
        }))
    }

    /// The merge behind [`search_page`](Self::search_page) and
    /// [`search_list_page`](Self::search_list_page): one query per source, a source that
    /// fails left out (and named) while another answers, the first source's user kept for a
    /// login, sorted by login, cut to the overall limit.
    pub(crate) async fn collect<T: Found>(
        &self,
        search: &CustomerUserSearch,
    ) -> Result<SearchPage<(&Slot, T)>> {
        let (field, value) = match &search.kind {
            SearchKind::Term { term, .. } => ("Search", term),
            SearchKind::Email(email) => ("PostMasterSearch", email),
            SearchKind::Login(login) => (keys::LOGIN, login),
            SearchKind::CustomerId(id) => ("CustomerID", id),
            SearchKind::CustomerIdRaw(id) => ("CustomerIDRaw", id),
        };
        check_search_value(field, value)?;
        // The term is parsed for every source before any is asked: a term one source's syntax
        // refuses is the caller's error, not a source's failure.
        let queries = (self.inner.slots.iter())
            .map(|slot| self.query_for(slot, search))
            .collect::<Result<Vec<_>>>()?;
        // Every source is asked at once; the answers are merged in source order, so the result
        // is the same as asking in turn, and the latency is the slowest source's, not the sum.
        let answers = join_all(
            (self.inner.slots.iter())
                .zip(queries)
                .map(|(slot, query)| T::fetch(slot, query)),
        )
        .await;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        let mut more_matched = false;
        let mut missing = Vec::new();
        let mut first_failure = None;
        for (slot, answer) in self.inner.slots.iter().zip(answers) {
            let page = match answer {
                Ok(page) => page,
                Err(e) if !e.is_source_failure() => return Err(e),
                Err(e) => {
                    missing.push(MissingSource::left_out(slot, &e));
                    first_failure.get_or_insert(e);
                    continue;
                }
            };
            more_matched |= page.more_matched;
            for item in page.hits {
                if seen.insert(item.login().folded()) {
                    hits.push((slot, item));
                }
            }
        }
        if let Some(e) = first_failure
            && missing.len() == self.inner.slots.len()
        {
            return Err(e);
        }
        if matches!(search.kind, SearchKind::Email(_)) {
            hits = self.first_owners(search, hits, &mut missing).await;
        }
        sort_by_login(&mut hits, |h| h.1.login().as_str());
        let limit = merged_limit(search.limit, self.inner.config.overall_search_limit, || {
            self.inner.slots[0].settings().search_limit
        });
        more_matched |= hits.len() > limit;
        hits.truncate(limit);
        Ok(SearchPage {
            hits,
            limit,
            more_matched,
            missing_sources: missing,
        })
    }

    /// The hits of an email search as a look-up would answer them: a hit from a later source
    /// whose login an earlier source holds becomes the earlier source's record (the one
    /// [`customer_user`](Self::customer_user) returns), or is dropped when that record is
    /// invalid and the search is for valid users. One query per earlier source, for all the
    /// logins of later sources at once; a source that fails it is named as missing and its
    /// hits stay as found.
    async fn first_owners<'a, T: Found>(
        &'a self,
        search: &CustomerUserSearch,
        hits: Vec<(&'a Slot, T)>,
        missing: &mut Vec<MissingSource>,
    ) -> Vec<(&'a Slot, T)> {
        let slots = &self.inner.slots;
        let index = |slot: &Slot| slots.iter().position(|s| std::ptr::eq(s, slot));
        let found_in: Vec<usize> = hits.iter().map(|(s, _)| index(s).unwrap_or(0)).collect();
        let is_missing = |slot: &Slot, missing: &[MissingSource]| {
            missing.iter().any(|m| m.source == slot.name())
        };
        let asks = (slots.iter().enumerate())
            .filter(|(j, slot)| !is_missing(slot, missing) && found_in.iter().any(|i| i > j))
            .map(|(j, slot)| {
                let logins: Vec<Expr> = (hits.iter().zip(&found_in))
                    .filter(|(_, i)| **i > j)
                    .map(|((_, hit), _)| Expr::Match(Pattern::exact(hit.login().as_str())))
                    .collect();
                let query = UserQuery {
                    fields: FieldSet::Login,
                    limit: logins.len(),
                    expr: Expr::Or(logins),
                    valid_only: false,
                    case_sensitive: slot.settings().case_sensitive,
                };
                async move { (j, slot, slot.source.reader.search(&query).await) }
            });
        let mut owned: Vec<(usize, &Slot, Vec<CustomerUser>)> = Vec::new();
        for (j, slot, answer) in join_all(asks).await {
            match answer {
                Ok(users) => owned.push((j, slot, users)),
                Err(e) => missing.push(MissingSource::left_out(slot, &e)),
            }
        }
        let same = |slot: &Slot, a: &Login, b: &Login| {
            a == b || (!slot.settings().case_sensitive && a.folded() == b.folded())
        };
        let mut out = Vec::with_capacity(hits.len());
        for ((slot, hit), i) in hits.into_iter().zip(found_in) {
            let owner = (owned.iter())
                .filter(|(j, _, _)| *j < i)
                .find_map(|(_, s, users)| {
                    let user = users.iter().find(|u| same(s, &u.login, hit.login()))?;
                    Some((*s, user))
                });
            match owner {
                None => out.push((slot, hit)),
                Some((_, user)) if search.valid_only && !user.validity.is_valid() => {}
                Some((s, user)) => out.push((s, T::of_user(user.clone(), s))),
            }
        }
        out
    }

    /// A detail search over every source (OTOBO `CustomerSearchDetail`): logins, ordered as
    /// asked. When several sources answer, the merged list is re-sorted and cut to the limit.
    pub async fn search_detail(&self, search: &DetailSearch) -> Result<Vec<Login>> {
        check_detail_search(search)?;
        let answers = join_all(
            self.inner
                .slots
                .iter()
                .map(|slot| slot.source.reader.search_detail(search)),
        )
        .await;
        let mut per_source = Vec::new();
        for found in answers {
            let found = found?;
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
        clientele_backend::matching::sort_detail(&mut users, search);
        if let Some(limit) = search.limit {
            users.truncate(limit);
        }
        Ok(users.into_iter().map(|u| u.login).collect())
    }

    /// The number of users matching a detail search, summed over the sources.
    pub async fn count_detail(&self, search: &DetailSearch) -> Result<u64> {
        check_detail_search(search)?;
        let answers = join_all(
            self.inner
                .slots
                .iter()
                .map(|slot| slot.source.reader.count_detail(search)),
        )
        .await;
        answers.into_iter().sum()
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
        let answers = join_all(self.inner.slots.iter().map(|slot| async move {
            let expr = match term {
                Some(t) if !t.trim().is_empty() => Some(parse_term(t, &slot.settings().syntax)?),
                _ => None,
            };
            slot.source
                .reader
                .customer_id_list(expr.as_ref(), valid_only)
                .await
        }))
        .await;
        let mut all = Vec::new();
        for ids in answers {
            all.extend(ids?);
        }
        let mut seen = HashSet::new();
        all.retain(|c| seen.insert(c.as_str().to_owned()));
        all.sort_by_key(|c| c.as_str().to_lowercase());
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirectoryConfig, Error, InMemoryBackend};
    use clientele_model::{NewCustomerCompany, NewCustomerUser};
    use std::sync::Arc;

    /// Regression: `overall_search_limit` cut an explicit larger limit for every library
    /// caller (the CLI's export had to clear the setting to get every record).
    #[tokio::test]
    async fn an_explicit_limit_is_honoured_over_the_overall_cap() {
        let dir = Directory::in_memory_with(
            Arc::new(InMemoryBackend::new()),
            DirectoryConfig {
                overall_search_limit: Some(2),
                ..DirectoryConfig::default()
            },
        )
        .unwrap();
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
            .await
            .unwrap();
        for i in 0..4 {
            let login = format!("user{i}");
            let mail = format!("{login}@acme-corp.com");
            dir.add_customer_user(NewCustomerUser::new(&login, "A", "B", &mail, "ACME"), "t")
                .await
                .unwrap();
        }
        let term = || CustomerUserSearch::term("user*");
        assert_eq!(
            dir.search(&term()).await.unwrap().len(),
            2,
            "the cap applies"
        );
        assert_eq!(dir.search(&term().limit(3)).await.unwrap().len(), 3);
        assert_eq!(dir.search_list(&term().limit(10)).await.unwrap().len(), 4);
        assert_eq!(merged_limit(None, None, || 250), 250);
        assert_eq!(merged_limit(None, Some(1000), || 250), 1000);
        assert_eq!(merged_limit(Some(5000), Some(1000), || 250), 5000);
    }

    /// A Directory over two in-memory sources, "first" and "second" (cache on), holding
    /// `user<i>` for each i of theirs, and the company ACME in the first.
    async fn two_sources(first: &[usize], second: &[usize]) -> Directory {
        two_stores(first, second).await.0
    }

    /// [`two_sources`] and its two stores, to write to behind the Directory's back.
    async fn two_stores(
        first: &[usize],
        second: &[usize],
    ) -> (Directory, Arc<InMemoryBackend>, Arc<InMemoryBackend>) {
        let store = |name: &str| {
            Arc::new(InMemoryBackend::with_settings(
                clientele_backend::SourceSettings {
                    name: name.into(),
                    ..Default::default()
                },
                clientele_backend::CompanySettings::default(),
            ))
        };
        let (a, b) = (store("first"), store("second"));
        for (s, logins) in [(&a, first), (&b, second)] {
            let seed = Directory::in_memory(s.clone());
            seed.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
                .await
                .unwrap();
            for i in logins {
                let login = format!("user{i}");
                let mail = format!("{login}@acme-corp.com");
                seed.add_customer_user(NewCustomerUser::new(&login, "A", "B", &mail, "ACME"), "t")
                    .await
                    .unwrap();
            }
        }
        let dir = Directory::builder()
            .source(crate::Source::writable(a.clone()))
            .source(crate::Source::writable(b.clone()))
            .company_store(a.clone())
            .build()
            .unwrap();
        (dir, a, b)
    }

    /// With `email_unique_check` on (the default), an address another source holds is taken:
    /// the error names the field and that source. A user of the same login elsewhere does not
    /// count.
    #[tokio::test]
    async fn an_address_is_unique_across_sources() {
        let (dir, _, _) = two_stores(&[0], &[]).await;
        let taken = |r: Result<crate::Added>| match r {
            Err(Error::AlreadyExists {
                field,
                backend: Some(b),
                ..
            }) => (field, b),
            other => panic!("expected AlreadyExists, got {other:?}"),
        };
        let new = |login: &str, mail: &str| NewCustomerUser::new(login, "N", "B", mail, "ACME");
        let (field, source) = taken(
            dir.add_customer_user_to("second", new("other", "USER0@acme-corp.com"), "t")
                .await,
        );
        assert_eq!((field.as_str(), source.as_str()), (keys::EMAIL, "first"));
        dir.add_customer_user_to("second", new("other", "other@acme-corp.com"), "t")
            .await
            .unwrap();
        let changed = dir
            .update_customer_user(
                "other",
                clientele_model::CustomerUserChanges::new().set(keys::EMAIL, "user0@acme-corp.com"),
                "t",
            )
            .await;
        assert!(
            matches!(&changed, Err(Error::AlreadyExists { field, backend: Some(b), .. }) if field == keys::EMAIL && b == "first"),
            "{changed:?}"
        );
        // The check is the target source's setting.
        let unchecked = InMemoryBackend::with_settings(
            clientele_backend::SourceSettings {
                name: "second".into(),
                email_unique_check: false,
                ..Default::default()
            },
            clientele_backend::CompanySettings::default(),
        );
        let (_, first, _) = two_stores(&[0], &[]).await;
        let dir = Directory::builder()
            .source(crate::Source::writable(first.clone()))
            .source(crate::Source::writable(Arc::new(unchecked)))
            .company_store(first)
            .build()
            .unwrap();
        dir.add_customer_user_to("second", new("other", "user0@acme-corp.com"), "t")
            .await
            .unwrap();
    }

    /// A search by email answers with the record a look-up of the login shows: the first
    /// source's, even when only a later source's record of that login has the address.
    #[tokio::test]
    async fn an_email_search_shows_the_first_sources_record() {
        let (dir, first, second) = two_stores(&[], &[]).await;
        let seed = |store: &Arc<InMemoryBackend>, mail: &str, validity| {
            let store = store.clone();
            let mail = mail.to_owned();
            async move {
                let seed = Directory::in_memory(store);
                seed.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
                    .await
                    .ok();
                seed.add_customer_user(
                    NewCustomerUser::new("shared", "S", "L", &mail, "ACME").validity(validity),
                    "t",
                )
                .await
                .unwrap();
            }
        };
        seed(
            &first,
            "shared@first.test",
            clientele_model::Validity::Valid,
        )
        .await;
        seed(
            &second,
            "shared@second.test",
            clientele_model::Validity::Valid,
        )
        .await;
        let shown = dir.customer_user("shared").await.unwrap().unwrap();
        let hits = dir
            .search(&CustomerUserSearch::email("shared@second.test"))
            .await
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].source.as_str(), &hits[0].user), ("first", &shown));
        let listed = dir
            .search_list(&CustomerUserSearch::email("shared@second.test"))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].source, "first");
        assert_eq!(listed[0].display, "\"S L\" <shared@first.test>");

        // An invalid first record hides the later one from a search for valid users.
        let (dir, first, second) = two_stores(&[], &[]).await;
        seed(
            &first,
            "shared@first.test",
            clientele_model::Validity::Invalid,
        )
        .await;
        seed(
            &second,
            "shared@second.test",
            clientele_model::Validity::Valid,
        )
        .await;
        let email = || CustomerUserSearch::email("shared@second.test");
        assert!(dir.search(&email()).await.unwrap().is_empty());
        let all = dir.search(&email().include_invalid()).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].source, "first");
    }

    /// A search that stops at its limit says so; one that found everything does not, also
    /// when the answer comes from the cache, and for companies.
    #[tokio::test]
    async fn a_page_says_whether_more_matched() {
        let dir = two_sources(&[0, 1, 2], &[]).await;
        let page = |limit| {
            let dir = &dir;
            async move {
                let p = dir
                    .search_page(&CustomerUserSearch::term("user*").limit(limit))
                    .await
                    .unwrap();
                (p.hits.len(), p.limit, p.more_matched)
            }
        };
        assert_eq!(page(2).await, (2, 2, true));
        assert_eq!(page(2).await, (2, 2, true), "from the cache");
        assert_eq!(page(3).await, (3, 3, false));
        assert_eq!(page(4).await, (3, 4, false));
        let list = dir
            .search_list_page(&CustomerUserSearch::term("user*").limit(1))
            .await
            .unwrap();
        assert_eq!((list.hits.len(), list.more_matched), (1, true));
        dir.add_company(NewCustomerCompany::new("GLOBEX", "Globex"), "t")
            .await
            .unwrap();
        let companies = |limit| {
            let dir = &dir;
            async move {
                let p = dir
                    .search_companies_page(None, true, Some(limit))
                    .await
                    .unwrap();
                (p.hits.len(), p.limit, p.more_matched)
            }
        };
        assert_eq!(companies(1).await, (1, 1, true));
        assert_eq!(companies(2).await, (2, 2, false));
    }

    /// The merged list counts a login once: two sources holding the same users fill a page of
    /// their number without "more", and the merge itself going over the limit is "more".
    #[tokio::test]
    async fn more_matched_follows_the_merge() {
        let dir = two_sources(&[0, 1], &[0, 1]).await;
        let p = dir
            .search_page(&CustomerUserSearch::term("user*").limit(2))
            .await
            .unwrap();
        assert_eq!((p.hits.len(), p.more_matched), (2, false));
        assert!(p.hits.iter().all(|h| h.source == "first"));
        let dir = two_sources(&[0, 1], &[2, 3]).await;
        let p = dir
            .search_page(&CustomerUserSearch::term("user*").limit(3))
            .await
            .unwrap();
        let logins: Vec<&str> = p.hits.iter().map(|h| h.user.login.as_str()).collect();
        assert_eq!(logins, ["user0", "user1", "user2"]);
        assert!(
            p.more_matched,
            "each source had fewer than 3, the merge had 4"
        );
        assert!(!p.is_partial());
    }

    /// Regression: a NUL in a search value made PostgreSQL searches hang until the pool's
    /// acquire timeout (30 s, reported as `Timeout`), and a 1 MB value of two-byte characters
    /// failed SQLite's exact match with an untyped backend error. Both are refused up front now,
    /// naming the search parameter (tests/hostile_input.rs runs them on every backend).
    #[tokio::test]
    pub(crate) async fn hostile_search_values_are_refused_typed() {
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
}
