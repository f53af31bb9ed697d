//! A source that is down: the Directory keeps serving the other sources' users for reads, and
//! refuses writes whose checks need the missing source.

use std::sync::Arc;

use async_trait::async_trait;
use clientele_backend::{CustomerUserSource, Error, InMemoryBackend, Result, SourceSettings};
use clientele_directory::{Directory, Source};
use clientele_model::search::{CustomerUserSearch, DetailSearch, Expr, UserQuery};
use clientele_model::{CustomerId, CustomerUser, Login, NewCustomerCompany, NewCustomerUser};

/// A source that fails every read with the error `fail` makes: by default one whose server
/// is unreachable.
struct Down(SourceSettings, fn(&str) -> Error);

impl Down {
    fn unreachable(settings: SourceSettings) -> Down {
        Down(settings, down)
    }
}

fn down(name: &str) -> Error {
    Error::Unavailable {
        backend: name.into(),
        source: "connection refused".into(),
    }
}

/// What an LDAP source whose service account has the wrong password answers: a backend
/// failure, not an outage.
fn bind_refused(name: &str) -> Error {
    Error::Backend {
        backend: name.into(),
        source: "service bind as \"cn=admin\" refused (LDAP result 49: invalidCredentials)".into(),
    }
}

#[async_trait]
impl CustomerUserSource for Down {
    fn settings(&self) -> &SourceSettings {
        &self.0
    }
    async fn get(&self, _: &str) -> Result<Option<CustomerUser>> {
        Err((self.1)(&self.0.name))
    }
    async fn search(&self, _: &UserQuery) -> Result<Vec<CustomerUser>> {
        Err((self.1)(&self.0.name))
    }
    async fn search_detail(&self, _: &DetailSearch) -> Result<Vec<Login>> {
        Err((self.1)(&self.0.name))
    }
    async fn count_detail(&self, _: &DetailSearch) -> Result<u64> {
        Err((self.1)(&self.0.name))
    }
    async fn customer_id_list(&self, _: Option<&Expr>, _: bool) -> Result<Vec<CustomerId>> {
        Err((self.1)(&self.0.name))
    }
}

async fn directory() -> Directory {
    directory_failing(down).await
}

/// A read-only source "ldap" failing with `fail`, chained before a seeded in-memory source.
async fn directory_failing(fail: fn(&str) -> Error) -> Directory {
    let store = Arc::new(InMemoryBackend::new());
    let ldap = SourceSettings {
        name: "ldap".into(),
        read_only: true,
        cache_ttl: 0,
        ..SourceSettings::default()
    };
    let dir = Directory::builder()
        .source(Source::read_only(Arc::new(Down(ldap, fail))))
        .writable_source(store.clone())
        .company_store(store.clone())
        .relation_store(store.clone())
        .preference_store(store.clone())
        .build()
        .unwrap();
    // Seed through the store's own Directory (the chained one refuses adds while LDAP is down).
    let seed = Directory::in_memory(store);
    seed.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    seed.add_customer_user(
        NewCustomerUser::new("dbuser", "D", "B", "db@acme-corp.test", "ACME"),
        "t",
    )
    .await
    .unwrap();
    dir
}

#[tokio::test]
async fn reads_skip_a_source_that_is_down() {
    let dir = directory().await;
    assert_eq!(
        dir.customer_user("dbuser").await.unwrap().unwrap().login,
        "dbuser"
    );
    let hits = dir.search(&CustomerUserSearch::term("db*")).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].source, "memory");
}

#[tokio::test]
async fn unknown_login_reports_the_outage_not_absence() {
    let dir = directory().await;
    match dir.customer_user("maybe-in-ldap").await {
        Err(Error::Unavailable { backend, .. }) => assert_eq!(backend, "ldap"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn adds_are_refused_while_uniqueness_cannot_be_checked() {
    let dir = directory().await;
    let new = NewCustomerUser::new("newbie", "N", "B", "newbie@acme-corp.test", "ACME");
    match dir.add_customer_user(new, "t").await {
        Err(e) => assert!(e.is_outage(), "expected an outage error, got {e:?}"),
        Ok(_) => {
            panic!("an add must not go through while another source can't be checked for the login")
        }
    }
}

#[tokio::test]
async fn every_source_down_is_an_error() {
    let ldap = SourceSettings {
        name: "ldap".into(),
        read_only: true,
        cache_ttl: 0,
        ..SourceSettings::default()
    };
    let dir = Directory::builder()
        .source(Source::read_only(Arc::new(Down::unreachable(ldap))))
        .build()
        .unwrap();
    assert!(
        dir.search(&CustomerUserSearch::term("x"))
            .await
            .unwrap_err()
            .is_outage()
    );
}

/// A search says which source it could not ask, whether the source is down or refuses its
/// service account (a wrong bind password); the other source's users are still found.
#[tokio::test]
async fn a_search_names_the_source_it_left_out() {
    for fail in [down as fn(&str) -> Error, bind_refused] {
        let dir = directory_failing(fail).await;
        let page = dir
            .search_page(&CustomerUserSearch::term("db*"))
            .await
            .unwrap();
        let logins: Vec<&str> = page.hits.iter().map(|h| h.user.login.as_str()).collect();
        assert_eq!(logins, ["dbuser"]);
        assert!(page.is_partial());
        assert_eq!(page.missing_sources.len(), 1);
        assert_eq!(page.missing_sources[0].source, "ldap");
        assert!(
            page.missing_sources[0].reason.contains("ldap"),
            "{:?}",
            page.missing_sources
        );
        let list = dir
            .search_list_page(&CustomerUserSearch::term("db*"))
            .await
            .unwrap();
        assert_eq!(list.hits.len(), 1);
        assert_eq!(list.missing_sources, page.missing_sources);
        // The plain search keeps answering with the other source's users.
        assert_eq!(
            dir.search(&CustomerUserSearch::term("db*"))
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// A search term is the caller's to fix, whichever source would refuse it: never a missing
/// source.
#[tokio::test]
async fn a_refused_term_is_an_error_not_a_missing_source() {
    let dir = directory_failing(bind_refused).await;
    assert!(matches!(
        dir.search_page(&CustomerUserSearch::term("+")).await,
        Err(Error::Search(_))
    ));
}

/// A look-up still never answers "no such user" while a source that might hold the login
/// failed; a user another source holds is found.
#[tokio::test]
async fn lookups_report_a_failing_source_rather_than_absence() {
    let dir = directory_failing(bind_refused).await;
    assert_eq!(
        dir.customer_user("dbuser").await.unwrap().unwrap().login,
        "dbuser"
    );
    match dir.customer_user("maybe-in-ldap").await {
        Err(Error::Backend { backend, .. }) => assert_eq!(backend, "ldap"),
        other => panic!("expected the source's failure, got {other:?}"),
    }
}

/// With every source failing for a reason other than an outage, the search fails with the
/// first source's error.
#[tokio::test]
async fn every_source_failing_is_the_first_error() {
    let settings = |name: &str| SourceSettings {
        name: name.into(),
        read_only: true,
        cache_ttl: 0,
        ..SourceSettings::default()
    };
    let dir = Directory::builder()
        .source(Source::read_only(Arc::new(Down(
            settings("ldap1"),
            bind_refused,
        ))))
        .source(Source::read_only(Arc::new(Down(settings("ldap2"), down))))
        .build()
        .unwrap();
    match dir.search_page(&CustomerUserSearch::term("x")).await {
        Err(Error::Backend { backend, .. }) => assert_eq!(backend, "ldap1"),
        other => panic!("expected ldap1's failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_batched_lookup_skips_a_source_that_is_down_and_reports_it_for_the_unknown() {
    let dir = directory().await;
    // Every login another source has: found there, as one by one.
    let found = dir
        .customer_users_by_logins(&["dbuser", "DBUSER"])
        .await
        .unwrap();
    for answer in found {
        assert_eq!(answer.unwrap().unwrap().login, "dbuser");
    }
    // A login found nowhere: the outage, not absence, for the whole call.
    match dir
        .customer_users_by_logins(&["dbuser", "maybe-in-ldap"])
        .await
    {
        Err(Error::Unavailable { backend, .. }) => assert_eq!(backend, "ldap"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_batched_lookup_reports_a_failing_source_as_one_by_one_does() {
    let dir = directory_failing(bind_refused).await;
    let one = dir.customer_user("maybe-in-ldap").await.unwrap_err();
    let many = dir
        .customer_users_by_logins(&["dbuser", "maybe-in-ldap"])
        .await
        .unwrap_err();
    assert_eq!(many.to_string(), one.to_string());
    let found = dir.customer_users_by_logins(&["dbuser"]).await.unwrap();
    assert_eq!(found[0].as_ref().unwrap().as_ref().unwrap().login, "dbuser");
}
