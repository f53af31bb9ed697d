//! How many searches reach the server per call: one per query, never one per hit. Counted
//! from the backend's own `tracing` spans.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clientele_backend::CustomerUserSource;
use clientele_ldap::LdapConfig;
use clientele_model::search::{CustomerUserSearch, DetailSearch};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::*;

/// Counts spans by name; nothing else.
struct SpanCounter {
    names: &'static [&'static str],
    count: Arc<AtomicUsize>,
}

impl Subscriber for SpanCounter {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if self.names.contains(&span.metadata().name()) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

// One thread, so the subscriber set for this thread sees every span of the calls.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn one_search_per_query_not_per_hit() {
    let s = Slapd::start();
    let count = Arc::new(AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(SpanCounter {
        names: &["ldap.search", "ldap.group_members"],
        count: count.clone(),
    });
    let ldap = backend(config(&s));
    let dir = ldap_directory(&ldap);
    let mut measure = Vec::new();
    // Other tests of this binary run on other threads without this subscriber; one of them
    // may register a span's callsite while this thread's subscriber is being set, leaving it
    // cached as "never interesting". Ask again once and warm the callsites before counting.
    tracing::callsite::rebuild_interest_cache();
    assert!(ldap.get("warm-up-login").await.unwrap().is_none());
    tracing::callsite::rebuild_interest_cache();

    count.store(0, Ordering::SeqCst);
    let hits = dir.search(&CustomerUserSearch::term("bulk")).await.unwrap();
    assert_eq!(hits.len(), 250);
    measure.push(("term search, 250 hits", count.swap(0, Ordering::SeqCst), 1));

    let hits = dir
        .search(&CustomerUserSearch::term("*").limit(5000))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1210);
    measure.push((
        "paged search, 1 210 hits",
        count.swap(0, Ordering::SeqCst),
        1,
    ));

    let hits = dir
        .search(&CustomerUserSearch::term("*").include_invalid().limit(20))
        .await
        .unwrap();
    assert_eq!(hits.len(), 20);
    measure.push((
        "search including invalid users (+1 for validity)",
        count.swap(0, Ordering::SeqCst),
        2,
    ));

    assert!(ldap.get("jdoe").await.unwrap().is_some());
    measure.push((
        "get (+1 for validity, concurrent)",
        count.swap(0, Ordering::SeqCst),
        2,
    ));

    let n = dir
        .count_detail(&DetailSearch {
            valid_only: true,
            ..DetailSearch::default()
        })
        .await
        .unwrap();
    assert_eq!(n, 1210);
    measure.push(("count of 1 210", count.swap(0, Ordering::SeqCst), 1));

    let grouped = ldap_directory(&backend(LdapConfig {
        group_dn: Some(format!("cn=customers-posix,{GROUPS}")),
        ..config(&s)
    }));
    let hits = grouped
        .search(&CustomerUserSearch::term("*"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 4);
    measure.push((
        "search with a data group (+1 for members, concurrent)",
        count.swap(0, Ordering::SeqCst),
        2,
    ));

    for (what, got, want) in measure {
        assert_eq!(got, want, "{what}");
    }
}
