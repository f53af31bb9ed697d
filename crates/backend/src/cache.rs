//! The per-source cache (OTOBO `CacheTTL`): user look-ups and search results, kept for a TTL
//! and dropped by the Directory on every write that could change them.

use std::hash::Hash;
use std::time::{Duration, Instant};

use clientele_model::CustomerUser;
use clientele_model::search::UserQuery;
use dashmap::DashMap;

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

    fn put(&self, key: K, value: V) {
        if !self.ttl.is_zero() {
            self.map.insert(
                key,
                Entry {
                    at: Instant::now(),
                    value,
                },
            );
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
    users: TtlMap<String, Option<CustomerUser>>,
    searches: TtlMap<UserQuery, Vec<CustomerUser>>,
}

impl SourceCache {
    pub(crate) fn new(ttl_seconds: u64, case_sensitive: bool) -> Self {
        let ttl = Duration::from_secs(ttl_seconds);
        SourceCache {
            case_sensitive,
            users: TtlMap::new(ttl),
            searches: TtlMap::new(ttl),
        }
    }

    fn key(&self, login: &str) -> String {
        if self.case_sensitive {
            login.to_owned()
        } else {
            login.to_lowercase()
        }
    }

    /// A cached look-up: `Some(None)` is a cached "no such user".
    pub(crate) fn user(&self, login: &str) -> Option<Option<CustomerUser>> {
        self.users.get(&self.key(login))
    }

    pub(crate) fn put_user(&self, login: &str, user: Option<CustomerUser>) {
        self.users.put(self.key(login), user);
    }

    pub(crate) fn search(&self, query: &UserQuery) -> Option<Vec<CustomerUser>> {
        self.searches.get(query)
    }

    pub(crate) fn put_search(&self, query: UserQuery, users: Vec<CustomerUser>) {
        self.searches.put(query, users);
    }

    /// Drops what a write of `login` could have changed: its look-up and every search.
    pub(crate) fn invalidate_user(&self, login: &str) {
        self.users.remove(&self.key(login));
        self.searches.clear();
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.users.clear();
        self.searches.clear();
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
        c.put_user("jdoe", Some(user()));
        assert!(c.user("jdoe").is_none());
    }

    #[test]
    fn folded_keys_and_invalidation() {
        let c = SourceCache::new(60, false);
        c.put_user("JDoe", Some(user()));
        assert!(c.user("jdoe").is_some());
        c.invalidate_user("JDOE");
        assert!(c.user("jdoe").is_none());
        c.put_user("nobody", None);
        assert_eq!(c.user("nobody"), Some(None));
        c.clear();
        assert!(c.user("nobody").is_none());
    }
}
