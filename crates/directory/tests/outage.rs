//! A source that is down: the Directory keeps serving the other sources' users for reads, and
//! refuses writes whose checks need the missing source.

use std::sync::Arc;

use async_trait::async_trait;
use clientele_backend::{CustomerUserSource, Error, InMemoryBackend, Result, SourceSettings};
use clientele_directory::{Directory, Source};
use clientele_model::search::{CustomerUserSearch, DetailSearch, Expr, UserQuery};
use clientele_model::{CustomerId, CustomerUser, Login, NewCustomerCompany, NewCustomerUser};

/// A source whose server is unreachable.
struct Down(SourceSettings);

fn down(name: &str) -> Error {
    Error::Unavailable {
        backend: name.into(),
        source: "connection refused".into(),
    }
}

#[async_trait]
impl CustomerUserSource for Down {
    fn settings(&self) -> &SourceSettings {
        &self.0
    }
    async fn get(&self, _: &str) -> Result<Option<CustomerUser>> {
        Err(down(&self.0.name))
    }
    async fn search(&self, _: &UserQuery) -> Result<Vec<CustomerUser>> {
        Err(down(&self.0.name))
    }
    async fn search_detail(&self, _: &DetailSearch) -> Result<Vec<Login>> {
        Err(down(&self.0.name))
    }
    async fn count_detail(&self, _: &DetailSearch) -> Result<u64> {
        Err(down(&self.0.name))
    }
    async fn customer_id_list(&self, _: Option<&Expr>, _: bool) -> Result<Vec<CustomerId>> {
        Err(down(&self.0.name))
    }
}

async fn directory() -> Directory {
    let store = Arc::new(InMemoryBackend::new());
    let ldap = SourceSettings {
        name: "ldap".into(),
        read_only: true,
        cache_ttl: 0,
        ..SourceSettings::default()
    };
    let dir = Directory::builder()
        .source(Source::read_only(Arc::new(Down(ldap))))
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
        .source(Source::read_only(Arc::new(Down(ldap))))
        .build()
        .unwrap();
    assert!(
        dir.search(&CustomerUserSearch::term("x"))
            .await
            .unwrap_err()
            .is_outage()
    );
}
