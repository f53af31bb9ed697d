//! The per-source cache (OTOBO `CacheTTL`): user look-ups and search results, kept for a TTL
//! and dropped by the Directory on every write that could change them.
//!
//! Unlike OTOBO's cache it is bounded: `quick_cache` keeps at most
//! [`SourceSettings::cache_capacity`](clientele_backend::SourceSettings::cache_capacity) users,
//! evicting the least useful first. "No such user" answers live in a cache of their own, a
//! quarter of that size, so a stream of made-up logins (an unauthenticated caller can send one
//! per login attempt) evicts only other made-up logins. Search results are weighed by their
//! rows, and a search that may return more than [`MAX_CACHED_SEARCH_LIMIT`] rows is not cached
//! at all. Values are shared behind `Arc`, so a hit copies a pointer, not a record.

use std::borrow::Cow;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clientele_backend::{ListedUser, SourcePage};
use clientele_model::search::UserQuery;
use clientele_model::{CustomerCompany, CustomerUser};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Searches whose limit is larger than this are never cached: an export or an "everyone"
/// listing would otherwise fill the cache with one entry nobody asks for again.
pub(crate) const MAX_CACHED_SEARCH_LIMIT: usize = 1_000;

/// The smallest capacity of each part of the cache, whatever the settings say.
const MIN_CAPACITY: usize = 64;

/// A cached value and when it was stored; expired entries are ignored on read and left for
/// eviction.
#[derive(Clone)]
struct Entry<V> {
    at: Instant,
    value: V,
}

/// A cached search result: the page's rows, shared, and whether more matched.
#[derive(Clone)]
pub(crate) struct Cached<T> {
    /// The rows.
    pub(crate) rows: Arc<[T]>,
    /// More matched than the rows ([`SourcePage::more_matched`]).
    pub(crate) more_matched: bool,
}

impl<T: Clone> Cached<T> {
    /// The page again (a copy of the rows).
    pub(crate) fn page(&self) -> SourcePage<T> {
        SourcePage {
            hits: self.rows.to_vec(),
            more_matched: self.more_matched,
        }
    }
}

impl<T> From<&SourcePage<T>> for Cached<T>
where
    T: Clone,
{
    fn from(page: &SourcePage<T>) -> Self {
        Cached {
            rows: page.hits.as_slice().into(),
            more_matched: page.more_matched,
        }
    }
}

/// Weighs a cached search result by its rows (at least 1), so the bound is on rows held.
#[derive(Clone, Copy)]
struct Rows;

impl<T> Weighter<UserQuery, Entry<Cached<T>>> for Rows {
    fn weight(&self, _: &UserQuery, entry: &Entry<Cached<T>>) -> u64 {
        entry.value.rows.len().max(1) as u64
    }
}

/// A bounded map whose entries expire after the TTL, and whose writes are dropped when an
/// invalidation happened since the value was read from the store.
struct TtlCache<K, V, W = quick_cache::UnitWeighter> {
    ttl: Duration,
    map: Cache<K, Entry<V>, W>,
}

impl<K: Eq + Hash, V: Clone, W: Weighter<K, Entry<V>> + Clone> TtlCache<K, V, W> {
    fn get<Q: Hash + quick_cache::Equivalent<K> + ?Sized>(&self, key: &Q) -> Option<V> {
        let entry = self.map.get(key)?;
        (entry.at.elapsed() < self.ttl).then_some(entry.value)
    }

    /// Stores `value` unless `generation` moved past `seen` (a write invalidated while the value
    /// was being read). An invalidation racing with the insert is caught by the second look:
    /// invalidations bump the generation *before* they remove, so either the removal comes after
    /// this insert or this insert sees the new generation and takes its entry out again.
    fn put_if_current(&self, key: K, value: V, generation: &AtomicU64, seen: u64)
    where
        K: Clone,
    {
        if generation.load(Ordering::SeqCst) != seen {
            return;
        }
        self.map.insert(
            key.clone(),
            Entry {
                at: Instant::now(),
                value,
            },
        );
        if generation.load(Ordering::SeqCst) != seen {
            self.map.remove(&key);
        }
    }

    fn remove<Q: Hash + quick_cache::Equivalent<K> + ?Sized>(&self, key: &Q) {
        self.map.remove(key);
    }

    fn clear(&self) {
        self.map.clear();
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// A cache of search results holding at most `capacity` rows.
fn rows<T: Clone>(capacity: usize) -> Cache<UserQuery, Entry<Cached<T>>, Rows> {
    Cache::with_weighter((capacity / 16).max(MIN_CAPACITY), capacity as u64, Rows)
}

/// The cache key of a login or customer id: folded unless the store compares case-sensitively.
/// A value already in its folded form is used as it is, without an allocation.
fn cache_key(case_sensitive: bool, value: &str) -> Cow<'_, str> {
    if case_sensitive {
        Cow::Borrowed(value)
    } else {
        clientele_model::fold_case(value)
    }
}

/// The parts of a source's cache; absent when the TTL is 0.
struct Parts {
    users: TtlCache<Box<str>, Arc<CustomerUser>>,
    missing: TtlCache<Box<str>, ()>,
    searches: TtlCache<UserQuery, Cached<CustomerUser>, Rows>,
    lists: TtlCache<UserQuery, Cached<ListedUser>, Rows>,
}

/// One source's cache.
pub(crate) struct SourceCache {
    case_sensitive: bool,
    generation: AtomicU64,
    parts: Option<Parts>,
}

/// Sizes of a source's cache, for tests and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Users cached.
    pub users: usize,
    /// Logins cached as "no such user".
    pub missing: usize,
    /// Search and list results cached.
    pub searches: usize,
}

impl CacheStats {
    /// Every entry, of every kind.
    pub fn entries(&self) -> usize {
        self.users + self.missing + self.searches
    }
}

impl SourceCache {
    /// A cache keeping entries for `ttl_seconds` (0 = no caching) and at most `capacity` users.
    pub(crate) fn new(ttl_seconds: u64, capacity: usize, case_sensitive: bool) -> Self {
        let ttl = Duration::from_secs(ttl_seconds);
        let capacity = capacity.max(MIN_CAPACITY);
        let negative = (capacity / 4).max(MIN_CAPACITY);
        let parts = (!ttl.is_zero()).then(|| Parts {
            users: TtlCache {
                ttl,
                map: Cache::new(capacity),
            },
            missing: TtlCache {
                ttl,
                map: Cache::new(negative),
            },
            searches: TtlCache {
                ttl,
                map: rows(capacity),
            },
            lists: TtlCache {
                ttl,
                map: rows(capacity),
            },
        });
        SourceCache {
            case_sensitive,
            generation: AtomicU64::new(0),
            parts,
        }
    }

    fn key<'a>(&self, login: &'a str) -> Cow<'a, str> {
        cache_key(self.case_sensitive, login)
    }

    /// The generation to hand back to a `put_*` after reading the store.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `Some(Some(user))` for a cached user, `Some(None)` for a cached "no such user", `None`
    /// when the cache does not know.
    pub(crate) fn user(&self, login: &str) -> Option<Option<Arc<CustomerUser>>> {
        let parts = self.parts.as_ref()?;
        let key = self.key(login);
        if let Some(user) = parts.users.get(key.as_ref()) {
            return Some(Some(user));
        }
        parts.missing.get(key.as_ref()).map(|()| None)
    }

    /// Caches a look-up's answer (unless a write invalidated since `seen`).
    pub(crate) fn put_user(&self, login: &str, user: Option<Arc<CustomerUser>>, seen: u64) {
        let Some(parts) = &self.parts else { return };
        let key: Box<str> = self.key(login).into();
        match user {
            Some(user) => parts
                .users
                .put_if_current(key, user, &self.generation, seen),
            None => parts
                .missing
                .put_if_current(key, (), &self.generation, seen),
        }
    }

    /// A cached search result.
    pub(crate) fn search(&self, query: &UserQuery) -> Option<Cached<CustomerUser>> {
        self.parts.as_ref()?.searches.get(query)
    }

    /// Caches a search result (a copy), when its query is bounded enough to be worth it.
    pub(crate) fn put_search(
        &self,
        query: &UserQuery,
        users: &SourcePage<CustomerUser>,
        seen: u64,
    ) {
        if let Some(parts) = &self.parts
            && query.limit <= MAX_CACHED_SEARCH_LIMIT
        {
            parts
                .searches
                .put_if_current(query.clone(), users.into(), &self.generation, seen);
        }
    }

    /// A cached list-search result.
    pub(crate) fn list(&self, query: &UserQuery) -> Option<Cached<ListedUser>> {
        self.parts.as_ref()?.lists.get(query)
    }

    /// Caches a list-search result (a copy), when its query is bounded enough to be worth it.
    pub(crate) fn put_list(&self, query: &UserQuery, users: &SourcePage<ListedUser>, seen: u64) {
        if let Some(parts) = &self.parts
            && query.limit <= MAX_CACHED_SEARCH_LIMIT
        {
            parts
                .lists
                .put_if_current(query.clone(), users.into(), &self.generation, seen);
        }
    }

    /// Drops what a write of `login` could have changed: its look-up and every search.
    pub(crate) fn invalidate_user(&self, login: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(parts) = &self.parts {
            let key = self.key(login);
            parts.users.remove(key.as_ref());
            parts.missing.remove(key.as_ref());
            parts.searches.clear();
            parts.lists.clear();
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(parts) = &self.parts {
            parts.users.clear();
            parts.missing.clear();
            parts.searches.clear();
            parts.lists.clear();
        }
    }

    /// How many entries each part holds now.
    pub(crate) fn stats(&self) -> CacheStats {
        self.parts
            .as_ref()
            .map(|p| CacheStats {
                users: p.users.len(),
                missing: p.missing.len(),
                searches: p.searches.len() + p.lists.len(),
            })
            .unwrap_or_default()
    }
}

/// The company cache (`CompanySettings::cache_ttl`, `cache_capacity`): look-ups by customer id,
/// "no such company" included, bounded like the user cache.
pub(crate) struct CompanyCache {
    case_sensitive: bool,
    generation: AtomicU64,
    companies: Option<TtlCache<Box<str>, Option<Arc<CustomerCompany>>>>,
}

impl CompanyCache {
    /// A cache keeping companies for `ttl_seconds` (0 = no caching), at most `capacity`.
    pub(crate) fn new(ttl_seconds: u64, capacity: usize, case_sensitive: bool) -> Self {
        let ttl = Duration::from_secs(ttl_seconds);
        CompanyCache {
            case_sensitive,
            generation: AtomicU64::new(0),
            companies: (!ttl.is_zero()).then(|| TtlCache {
                ttl,
                map: Cache::new(capacity.max(MIN_CAPACITY)),
            }),
        }
    }

    fn key<'a>(&self, customer_id: &'a str) -> Cow<'a, str> {
        cache_key(self.case_sensitive, customer_id)
    }

    /// The generation to hand back to [`put`](Self::put) after reading the store.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `Some(answer)` when the cache knows the company (or that there is none).
    pub(crate) fn get(&self, customer_id: &str) -> Option<Option<Arc<CustomerCompany>>> {
        self.companies.as_ref()?.get(self.key(customer_id).as_ref())
    }

    /// Caches a look-up's answer (unless an invalidation happened since `seen`).
    pub(crate) fn put(&self, customer_id: &str, company: Option<Arc<CustomerCompany>>, seen: u64) {
        if let Some(c) = &self.companies {
            let key: Box<str> = self.key(customer_id).into();
            c.put_if_current(key, company, &self.generation, seen);
        }
    }

    /// Drops one company.
    pub(crate) fn invalidate(&self, customer_id: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(c) = &self.companies {
            c.remove(self.key(customer_id).as_ref());
        }
    }

    /// Drops every company.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(c) = &self.companies {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::search::{Expr, FieldSet, Pattern};
    use clientele_model::{AttributeMap, EmailCheck, NewCustomerUser, Rules};

    fn user() -> Arc<CustomerUser> {
        let map = AttributeMap::otobo_customer_user();
        Arc::new(
            NewCustomerUser::new("JDoe", "J", "D", "j@acme-corp.com", "A")
                .validate(&Rules {
                    map: &map,
                    email: &EmailCheck::disabled(),
                })
                .unwrap(),
        )
    }

    fn query(limit: usize) -> UserQuery {
        UserQuery {
            fields: FieldSet::Login,
            expr: Expr::Match(Pattern::from_wildcards("j*")),
            valid_only: true,
            limit,
            case_sensitive: false,
        }
    }

    #[test]
    fn ttl_zero_stores_nothing() {
        let c = SourceCache::new(0, 100, false);
        c.put_user("jdoe", Some(user()), c.generation());
        assert!(c.user("jdoe").is_none());
        assert_eq!(c.stats(), CacheStats::default());
    }

    #[test]
    fn folded_keys_and_invalidation() {
        let c = SourceCache::new(60, 100, false);
        c.put_user("JDoe", Some(user()), c.generation());
        assert!(c.user("jdoe").is_some());
        c.invalidate_user("JDOE");
        assert!(c.user("jdoe").is_none());
        c.put_user("nobody", None, c.generation());
        assert_eq!(c.user("nobody"), Some(None));
        c.clear();
        assert!(c.user("nobody").is_none());
    }

    #[test]
    fn case_sensitive_keys_are_not_folded() {
        let c = SourceCache::new(60, 100, true);
        c.put_user("JDoe", Some(user()), c.generation());
        assert!(c.user("JDoe").is_some());
        assert!(c.user("jdoe").is_none());
    }

    #[test]
    fn a_read_older_than_an_invalidation_is_not_stored() {
        let c = SourceCache::new(60, 100, false);
        let seen = c.generation();
        // A write invalidates while the read is in flight …
        c.invalidate_user("jdoe");
        // … so the read's possibly stale result must not be cached.
        c.put_user("jdoe", Some(user()), seen);
        assert!(c.user("jdoe").is_none());
        c.put_user("jdoe", Some(user()), c.generation());
        assert!(c.user("jdoe").is_some());
    }

    #[test]
    fn unknown_logins_stay_within_their_own_bound_and_evict_no_user() {
        let c = SourceCache::new(60, 256, false);
        c.put_user("jdoe", Some(user()), c.generation());
        for i in 0..10_000 {
            c.put_user(&format!("made-up-{i}"), None, c.generation());
        }
        let stats = c.stats();
        assert!(stats.missing <= 256 / 4 + MIN_CAPACITY, "{stats:?}");
        assert!(c.user("jdoe").is_some_and(|u| u.is_some()));
    }

    #[test]
    fn companies_are_cached_bounded_and_invalidated() {
        let c = CompanyCache::new(60, 100, false);
        let map = AttributeMap::otobo_customer_company();
        let acme = clientele_model::NewCustomerCompany::new("ACME", "Acme")
            .validate(&Rules {
                map: &map,
                email: &EmailCheck::disabled(),
            })
            .unwrap();
        let acme = Arc::new(acme);
        c.put("ACME", Some(acme), c.generation());
        assert!(c.get("acme").is_some_and(|c| c.is_some()));
        c.invalidate("Acme");
        assert!(c.get("acme").is_none());
        for i in 0..5_000 {
            c.put(&format!("C{i}"), None, c.generation());
        }
        assert!(c.companies.as_ref().unwrap().len() <= 100);
        let off = CompanyCache::new(0, 100, false);
        off.put("ACME", None, off.generation());
        assert!(off.get("ACME").is_none());
    }

    #[test]
    fn users_stay_within_the_capacity() {
        let c = SourceCache::new(60, 100, false);
        for i in 0..5_000 {
            c.put_user(&format!("user{i}"), Some(user()), c.generation());
        }
        assert!(c.stats().users <= 100, "{:?}", c.stats());
    }

    #[test]
    fn large_searches_are_not_cached_and_rows_are_bounded() {
        let c = SourceCache::new(60, 100, false);
        let rows = SourcePage {
            hits: (0..10).map(|_| (*user()).clone()).collect(),
            more_matched: true,
        };
        c.put_search(&query(MAX_CACHED_SEARCH_LIMIT + 1), &rows, c.generation());
        assert!(c.search(&query(MAX_CACHED_SEARCH_LIMIT + 1)).is_none());
        c.put_search(&query(10), &rows, c.generation());
        assert_eq!(c.search(&query(10)).map(|r| r.rows.len()), Some(10));
        assert!(c.search(&query(10)).is_some_and(|r| r.more_matched));
        for limit in 11..200 {
            c.put_search(&query(limit), &rows, c.generation());
        }
        // Each entry weighs its 10 rows: at most 100 rows are held.
        assert!(c.stats().searches <= 10, "{:?}", c.stats());
    }
}
