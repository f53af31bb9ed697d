//! The per-source cache (OTOBO `CacheTTL`): user look-ups and search results, kept for a TTL
//! and dropped by the Directory on every write that could change them.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clientele_model::CustomerUser;
use clientele_model::search::UserQuery;
use dashmap::DashMap;

use crate::traits::ListedUser;

struct Entry<V> {
    at: Instant,
    value: V,
}

/// A TTL map; a TTL of zero stores nothing.
struct TtlMap<K: Eq + Hash, V> {
    ttl: Duration,
    map: DashMap<K, Entry<V>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new(ttl: Duration) -> Self {
        TtlMap {
            ttl,
            map: DashMap::new(),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let hit = self
            .map
            .get(key)
            .and_then(|e| (e.at.elapsed() < self.ttl).then(|| e.value.clone()));
        if hit.is_none() {
            self.map.remove_if(key, |_, e| e.at.elapsed() >= self.ttl);
        }
        hit
    }

    /// Stores `value` unless an invalidation happened since the reader took `seen` from
    /// `generation`. The check and the insert happen under the entry's lock, and invalidations
    /// bump the generation *before* removing, so a value read before a write can never be left
    /// in the map after that write's invalidation.
    fn put_if_current(&self, key: K, value: V, generation: &AtomicU64, seen: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let entry = self.map.entry(key);
        if generation.load(Ordering::SeqCst) == seen {
            entry.insert(Entry {
                at: Instant::now(),
                value,
            });
        }
    }

    fn remove(&self, key: &K) {
        self.map.remove(key);
    }

    fn clear(&self) {
        self.map.clear();
    }
}

/// The cache of one source. Keys are logins folded to lower case, so `JDoe` and `jdoe` share
/// an entry exactly when the source compares logins case-insensitively.
pub(crate) struct SourceCache {
    case_sensitive: bool,
    /// Bumped by every invalidation; see [`TtlMap::put_if_current`].
    generation: AtomicU64,
    users: TtlMap<String, Option<CustomerUser>>,
    searches: TtlMap<UserQuery, Vec<CustomerUser>>,
    lists: TtlMap<UserQuery, Vec<ListedUser>>,
}

impl SourceCache {
    pub(crate) fn new(ttl_seconds: u64, case_sensitive: bool) -> Self {
        let ttl = Duration::from_secs(ttl_seconds);
        SourceCache {
            case_sensitive,
            generation: AtomicU64::new(0),
            users: TtlMap::new(ttl),
            searches: TtlMap::new(ttl),
            lists: TtlMap::new(ttl),
        }
    }

    fn key(&self, login: &str) -> String {
        if self.case_sensitive {
            login.to_owned()
        } else {
            login.to_lowercase()
        }
    }

    /// The generation a read takes before it asks the source; pass it to the `put_*` call.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A cached look-up: `Some(None)` is a cached "no such user".
    pub(crate) fn user(&self, login: &str) -> Option<Option<CustomerUser>> {
        self.users.get(&self.key(login))
    }

    /// Caches a look-up made by a read that started at generation `seen`.
    pub(crate) fn put_user(&self, login: &str, user: Option<CustomerUser>, seen: u64) {
        self.users
            .put_if_current(self.key(login), user, &self.generation, seen);
    }

    pub(crate) fn search(&self, query: &UserQuery) -> Option<Vec<CustomerUser>> {
        self.searches.get(query)
    }

    /// Caches a search made by a read that started at generation `seen`.
    pub(crate) fn put_search(&self, query: UserQuery, users: Vec<CustomerUser>, seen: u64) {
        self.searches
            .put_if_current(query, users, &self.generation, seen);
    }

    pub(crate) fn list(&self, query: &UserQuery) -> Option<Vec<ListedUser>> {
        self.lists.get(query)
    }

    /// Caches a list search made by a read that started at generation `seen`.
    pub(crate) fn put_list(&self, query: UserQuery, users: Vec<ListedUser>, seen: u64) {
        self.lists
            .put_if_current(query, users, &self.generation, seen);
    }

    /// Drops what a write of `login` could have changed: its look-up and every search.
    pub(crate) fn invalidate_user(&self, login: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.remove(&self.key(login));
        self.searches.clear();
        self.lists.clear();
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.clear();
        self.searches.clear();
        self.lists.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::{AttributeMap, EmailCheck, NewCustomerUser, Rules};

    fn user() -> CustomerUser {
        let map = AttributeMap::otobo_customer_user();
        NewCustomerUser::new("JDoe", "J", "D", "j@acme-corp.com", "A")
            .validate(&Rules {
                map: &map,
                email: &EmailCheck::disabled(),
            })
            .unwrap()
    }

    #[test]
    fn ttl_zero_stores_nothing() {
        let c = SourceCache::new(0, false);
        c.put_user("jdoe", Some(user()), c.generation());
        assert!(c.user("jdoe").is_none());
    }

    #[test]
    fn folded_keys_and_invalidation() {
        let c = SourceCache::new(60, false);
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
    fn a_read_older_than_an_invalidation_is_not_stored() {
        let c = SourceCache::new(60, false);
        let seen = c.generation();
        // A write invalidates while the read is in flight …
        c.invalidate_user("jdoe");
        // … so the read's possibly stale result must not be cached.
        c.put_user("jdoe", Some(user()), seen);
        assert!(c.user("jdoe").is_none());
        c.put_user("jdoe", Some(user()), c.generation());
        assert!(c.user("jdoe").is_some());
    }
}
