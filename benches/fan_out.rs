//! The Directory asks its sources at once: three sources that each answer after 50 ms.
//! Asked in turn they would take 150 ms; asked together, the slowest one's 50 ms plus the
//! merge. Prints the medians of a search and of a look-up.
//!
//! ```text
//! cargo bench --bench fan_out
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clientele::backend::{
    CompanySettings, CustomerUserSource, CustomerUserWriter, InMemoryBackend, ListedUser, Result,
    SourceSettings,
};
use clientele::directory::{Directory, DirectoryConfig, Source};
use clientele::model::search::{CustomerUserSearch, DetailSearch, Expr, UserQuery};
use clientele::model::{CustomerId, CustomerUser, EmailCheck, Login, NewCustomerUser, Rules};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const SOURCES: usize = 3;
const DELAY: Duration = Duration::from_millis(50);

/// An in-memory source that answers every read after [`DELAY`], like a remote server.
struct Slow(InMemoryBackend);

#[async_trait]
impl CustomerUserSource for Slow {
    fn settings(&self) -> &SourceSettings {
        CustomerUserSource::settings(&self.0)
    }
    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        tokio::time::sleep(DELAY).await;
        self.0.get(login).await
    }
    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>> {
        tokio::time::sleep(DELAY).await;
        self.0.search(query).await
    }
    async fn search_list(&self, query: &UserQuery) -> Result<Vec<ListedUser>> {
        tokio::time::sleep(DELAY).await;
        self.0.search_list(query).await
    }
    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>> {
        tokio::time::sleep(DELAY).await;
        self.0.search_detail(query).await
    }
    async fn count_detail(&self, query: &DetailSearch) -> Result<u64> {
        tokio::time::sleep(DELAY).await;
        self.0.count_detail(query).await
    }
    async fn customer_id_list(&self, term: Option<&Expr>, valid: bool) -> Result<Vec<CustomerId>> {
        tokio::time::sleep(DELAY).await;
        self.0.customer_id_list(term, valid).await
    }
}

async fn directory() -> Directory {
    let mut builder = Directory::builder().config(DirectoryConfig {
        require_company: false,
        ..DirectoryConfig::default()
    });
    for s in 0..SOURCES {
        let store = InMemoryBackend::with_settings(
            SourceSettings {
                name: format!("source{s}"),
                cache_ttl: 0,
                ..SourceSettings::default()
            },
            CompanySettings::default(),
        );
        let login = format!("user{s}");
        let user = NewCustomerUser::new(&login, "U", "S", &format!("{login}@acme-corp.com"), "C")
            .validate(&Rules {
                map: &CustomerUserSource::settings(&store).map,
                email: &EmailCheck::disabled(),
            })
            .expect("valid user");
        store.add(&user, None, &"1".into()).await.expect("add");
        builder = builder.source(Source::read_only(Arc::new(Slow(store))));
    }
    builder.build().expect("directory")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = rt.block_on(directory());
    let mut searches = Vec::new();
    let mut lookups = Vec::new();
    let mut g = c.benchmark_group("fan-out, 3 sources answering after 50 ms");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("search", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                let hits = rt.block_on(dir.search(&CustomerUserSearch::term("user*")));
                assert_eq!(hits.expect("search").len(), SOURCES);
            }
            let e = t.elapsed();
            searches.push(e / iters.max(1) as u32);
            e
        })
    });
    g.bench_function("look-up of the last source's user", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                let user = rt.block_on(dir.customer_user(&format!("user{}", SOURCES - 1)));
                assert!(user.expect("look-up").is_some());
            }
            let e = t.elapsed();
            lookups.push(e / iters.max(1) as u32);
            e
        })
    });
    g.finish();
    println!(
        "\n| fan-out, {SOURCES} sources × {DELAY:?} | median | asked in turn would be |\n\
         |---|---:|---:|\n| search | {:.1?} | {:.0?} |\n| look-up (last source) | {:.1?} | {:.0?} |\n",
        median(searches),
        DELAY * SOURCES as u32,
        median(lookups),
        DELAY * SOURCES as u32,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
