//! The Directory asks its sources at once, without timing assertions: every source below
//! waits on one shared `tokio::sync::Barrier` of as many parties as there are sources, so a
//! search only completes when all of them are asked together (asking in turn would wait forever;
//! the test's timeout turns that into a failure). Authentication is not fanned out: a password
//! goes only to the source that owns the login.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use clientele_backend::{
    BindAuthenticator, CompanySettings, CustomerUserSource, CustomerUserWriter, InMemoryBackend,
    ListedUser, Result, SourceSettings,
};
use clientele_directory::{Directory, DirectoryConfig, Error, Source};
use clientele_model::search::{CustomerUserSearch, DetailSearch, Expr, UserQuery};
use clientele_model::{
    CustomerId, CustomerUser, EmailCheck, Login, NewCustomerUser, Password, Rules,
};
use tokio::sync::Barrier;

const SOURCES: usize = 4;
/// Long enough never to fire on a loaded machine when the sources are asked together.
const PATIENCE: Duration = Duration::from_secs(30);

/// An in-memory source whose every read first waits until all sources are being asked.
struct Gated {
    store: InMemoryBackend,
    barrier: Arc<Barrier>,
}

#[async_trait]
impl CustomerUserSource for Gated {
    fn settings(&self) -> &SourceSettings {
        CustomerUserSource::settings(&self.store)
    }
    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        self.barrier.wait().await;
        self.store.get(login).await
    }
    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>> {
        self.barrier.wait().await;
        self.store.search(query).await
    }
    async fn search_list(&self, query: &UserQuery) -> Result<Vec<ListedUser>> {
        self.barrier.wait().await;
        self.store.search_list(query).await
    }
    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>> {
        self.barrier.wait().await;
        self.store.search_detail(query).await
    }
    async fn count_detail(&self, query: &DetailSearch) -> Result<u64> {
        self.barrier.wait().await;
        self.store.count_detail(query).await
    }
    async fn customer_id_list(
        &self,
        term: Option<&Expr>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>> {
        self.barrier.wait().await;
        self.store.customer_id_list(term, valid_only).await
    }
}

/// A store named `name` (cache off) holding `user<i>` for each i in `logins`.
async fn store(name: &str, logins: &[usize]) -> InMemoryBackend {
    let store = InMemoryBackend::with_settings(
        SourceSettings {
            name: name.into(),
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        CompanySettings::default(),
    );
    for i in logins {
        let login = format!("user{i}");
        let mail = format!("{login}@acme-corp.test");
        let user = NewCustomerUser::new(&login, "U", name, &mail, &format!("C{i}"))
            .validate(&Rules {
                map: &CustomerUserSource::settings(&store).map,
                email: &EmailCheck::disabled(),
            })
            .unwrap();
        store.add(&user, None, &"test".into()).await.unwrap();
    }
    store
}

/// `SOURCES` gated read-only sources; source `s` holds `user<s>` and the shared `user9`.
async fn gated_directory() -> Directory {
    let barrier = Arc::new(Barrier::new(SOURCES));
    let mut builder = Directory::builder().config(DirectoryConfig {
        require_company: false,
        ..DirectoryConfig::default()
    });
    for s in 0..SOURCES {
        let gated = Gated {
            store: store(&format!("source{s}"), &[s, 9]).await,
            barrier: barrier.clone(),
        };
        builder = builder.source(Source::read_only(Arc::new(gated)));
    }
    builder.build().unwrap()
}

async fn in_time<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: the sources were not asked together"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_ask_every_source_at_once_and_merge_in_source_order() {
    let dir = gated_directory().await;
    let hits = in_time("search", dir.search(&CustomerUserSearch::term("user*")))
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.user.login.as_str(), h.source.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("user0", "source0"),
            ("user1", "source1"),
            ("user2", "source2"),
            ("user3", "source3"),
            // In every source: the first source's record wins.
            ("user9", "source0"),
        ]
    );
    let listed = in_time(
        "list search",
        dir.search_list(&CustomerUserSearch::term("user*")),
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[4].source, "source0");

    let detail = DetailSearch::default();
    let logins = in_time("detail search", dir.search_detail(&detail))
        .await
        .unwrap();
    assert_eq!(logins.len(), 5);
    assert_eq!(
        in_time("count", dir.count_detail(&detail)).await.unwrap(),
        8
    );
    let ids = in_time("customer ids", dir.customer_id_list(None, true))
        .await
        .unwrap();
    assert_eq!(ids.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_up_asks_every_source_at_once_and_the_first_owner_wins() {
    let dir = gated_directory().await;
    let (user, source) = in_time("look-up", dir.customer_user_with_source("USER2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((user.login.as_str(), source.as_str()), ("user2", "source2"));
    let (_, source) = in_time("look-up", dir.customer_user_with_source("user9"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source, "source0");
}

/// Counts the binds it is asked for, and refuses every one.
#[derive(Default)]
struct CountingBinder(AtomicUsize);

#[async_trait]
impl BindAuthenticator for CountingBinder {
    async fn bind(&self, _login: &str, _password: &Password) -> Result<bool> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(false)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_goes_only_to_the_source_that_owns_the_login() {
    let first = Arc::new(InMemoryBackend::new());
    let directory_store = Arc::new(store("directory", &[7]).await);
    let binder = Arc::new(CountingBinder::default());
    let dir = Directory::builder()
        .writable_source(first.clone())
        .source(Source::read_only(directory_store).with_bind_authenticator(binder.clone()))
        .company_store(first.clone())
        .relation_store(first.clone())
        .preference_store(first.clone())
        .config(DirectoryConfig {
            require_company: false,
            ..DirectoryConfig::default()
        })
        .build()
        .unwrap();
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("local", "L", "U", "local@acme-corp.test", "ACME")
                .password("Local-Secret-1"),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(added.login.as_str(), "local");

    // The first source's user: right and wrong passwords, no bind anywhere.
    let ok = dir
        .authenticate("local", &Password::new("Local-Secret-1"))
        .await;
    assert_eq!(ok.unwrap().as_str(), "local");
    let wrong = dir.authenticate("local", &Password::new("nope")).await;
    assert!(matches!(wrong, Err(Error::AuthenticationFailed)));
    assert_eq!(
        binder.0.load(Ordering::SeqCst),
        0,
        "no bind for a DB user's login"
    );

    // The directory's own user is checked by its bind, once.
    let bound = dir.authenticate("user7", &Password::new("whatever")).await;
    assert!(matches!(bound, Err(Error::AuthenticationFailed)));
    assert_eq!(binder.0.load(Ordering::SeqCst), 1);
}
