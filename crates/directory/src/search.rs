//! Searches across sources: the term parsed per source, every source asked, results merged by
//! login with the earlier source winning; detail searches and customer-id lists.

use std::collections::HashSet;

use clientele_backend::error::Result;
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
    fn fetch(slot: &Slot, query: UserQuery) -> BoxFuture<'_, Result<Vec<Self>>>;
}

pub(crate) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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
    pub(crate) async fn collect<T: Found>(
        &self,
        search: &CustomerUserSearch,
    ) -> Result<Vec<(&Slot, T)>> {
        let (field, value) = match &search.kind {
            SearchKind::Term { term, .. } => ("Search", term),
            SearchKind::Email(email) => ("PostMasterSearch", email),
            SearchKind::Login(login) => (keys::LOGIN, login),
            SearchKind::CustomerId(id) => ("CustomerID", id),
            SearchKind::CustomerIdRaw(id) => ("CustomerIDRaw", id),
        };
        check_search_value(field, value)?;
        // Every source is asked at once; the answers are merged in source order, so the result
        // is the same as asking in turn, and the latency is the slowest source's, not the sum.
        let answers = join_all(self.inner.slots.iter().map(|slot| async move {
            let query = self.query_for(slot, search)?;
            T::fetch(slot, query).await
        }))
        .await;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        let mut answered = false;
        let mut outage = None;
        for (slot, answer) in self.inner.slots.iter().zip(answers) {
            // A source that is down is left out (logged) while another one answers.
            let found = match answer {
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
        sort_by_login(&mut hits, |h| h.1.login().as_str());
        let cap = merged_limit(search.limit, self.inner.config.overall_search_limit, || {
            self.inner.slots[0].settings().search_limit
        });
        hits.truncate(cap);
        Ok(hits)
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
