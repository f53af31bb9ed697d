//! Paged results (RFC 2696): complete answers past the server's size limit of 500, and the
//! limit honoured on both sides of it.

use std::time::Instant;

use clientele_ldap::Paging;
use clientele_model::search::CustomerUserSearch;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn paged_search_returns_everything_past_the_size_limit() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));

    let t = Instant::now();
    let all = dir
        .search(&CustomerUserSearch::term("*").include_invalid().limit(5000))
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(all.len(), 1211);
    eprintln!("paged search of 1 211 entries (page size 250): {took:?}");
    let mut l = logins(&all);
    l.dedup();
    assert_eq!(l.len(), 1211, "no duplicates across pages");

    let valid = dir
        .search(&CustomerUserSearch::term("*").limit(5000))
        .await
        .unwrap();
    assert_eq!(valid.len(), 1210);
    assert!(valid.iter().all(|h| h.user.validity.is_valid()));
    let invalid: Vec<_> = all.iter().filter(|h| !h.user.validity.is_valid()).collect();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].user.login.as_str(), "locked");

    assert_eq!(
        dir.search(&CustomerUserSearch::customer_id("bulk-01").limit(5000))
            .await
            .unwrap()
            .len(),
        100
    );

    // Without paging the server stops at its limit: the reason paging exists.
    let unpaged = ldap_directory(&backend(clientele_ldap::LdapConfig {
        paging: Paging::Never,
        ..config(&s)
    }));
    assert_eq!(
        unpaged
            .search(&CustomerUserSearch::term("*").limit(5000))
            .await
            .unwrap()
            .len(),
        500
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn the_limit_is_honoured() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    for limit in [1, 10, 499, 500, 501, 1000, 1210] {
        let hits = dir
            .search(&CustomerUserSearch::term("*").limit(limit))
            .await
            .unwrap();
        assert_eq!(hits.len(), limit, "limit {limit}");
    }
    // Paging every search, with small pages, cut in the middle of a page.
    let small_pages = ldap_directory(&backend(clientele_ldap::LdapConfig {
        paging: Paging::Always,
        page_size: 100,
        ..config(&s)
    }));
    for limit in [10, 150, 1210] {
        assert_eq!(
            small_pages
                .search(&CustomerUserSearch::term("*").limit(limit))
                .await
                .unwrap()
                .len(),
            limit,
            "limit {limit} with pages of 100"
        );
    }
    // The connection is still good after a cut-short paged search.
    assert_eq!(
        logins(
            &small_pages
                .search(&CustomerUserSearch::login("jdoe"))
                .await
                .unwrap()
        ),
        ["jdoe"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn concurrent_paged_searches_share_the_connection() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let dir = ldap_directory(&ldap);
    let all = CustomerUserSearch::term("*").limit(5000);
    let bulk = CustomerUserSearch::term("bulk").limit(1000);
    let (a, b, c, d) = tokio::join!(
        dir.search(&all),
        dir.search(&bulk),
        dir.search(&all),
        dir.search(&bulk)
    );
    assert_eq!(a.unwrap().len(), 1210);
    assert_eq!(b.unwrap().len(), 1000);
    assert_eq!(c.unwrap().len(), 1210);
    assert_eq!(d.unwrap().len(), 1000);
}

/// A search that stopped at a limit says so: at the limit asked for (one entry more is
/// fetched), and at the server's own size limit (result code 4), which is then no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn a_page_says_when_more_matched() {
    let s = Slapd::start();
    let dir = ldap_directory(&backend(config(&s)));
    let all = || CustomerUserSearch::term("*").include_invalid();
    for (limit, more) in [(1, true), (500, true), (1210, true), (1211, false)] {
        let page = dir.search_page(&all().limit(limit)).await.unwrap();
        assert_eq!(page.hits.len(), limit, "limit {limit}");
        assert_eq!(page.more_matched, more, "limit {limit}");
        assert_eq!(page.limit, limit);
        let list = dir.search_list_page(&all().limit(limit)).await.unwrap();
        assert_eq!((list.hits.len(), list.more_matched), (limit, more));
    }

    // Without paging the server stops at its own limit of 500, below the one asked for.
    let unpaged = ldap_directory(&backend(clientele_ldap::LdapConfig {
        paging: Paging::Never,
        ..config(&s)
    }));
    let page = unpaged.search_page(&all().limit(5000)).await.unwrap();
    assert_eq!(page.hits.len(), 500);
    assert!(
        page.more_matched,
        "the server's size limit is \"more matched\""
    );
    assert!(page.missing_sources.is_empty());
}
