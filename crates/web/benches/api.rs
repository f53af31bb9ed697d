//! What the web layer costs on top of the Directory: a user search and a user look-up through
//! the router (authentication, routing, query parsing, JSON) against the same Directory calls
//! made directly, on the in-memory store with 1 000 users. Medians go to docs/benchmarks.md.
//!
//! ```text
//! cargo bench -p clientele-web --bench api
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::search::CustomerUserSearch;
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use clientele_web::{BearerTokens, WebConfig, issue_token, router};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn api(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = rt.block_on(async {
        // Cheap hashing: the set-up adds a thousand users, and no password is checked here.
        let config: DirectoryConfig = serde_json::from_value(serde_json::json!({
            "passwords": { "argon2": { "memory_kib": 64, "iterations": 1, "parallelism": 1 } }
        }))
        .expect("config");
        let store = Arc::new(InMemoryBackend::new());
        let dir = Arc::new(Directory::in_memory_with(store, config).expect("directory"));
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "bench")
            .await
            .expect("company");
        for i in 0..1000 {
            let login = format!("user{i:04}");
            dir.add_customer_user(
                NewCustomerUser::new(
                    &login,
                    "Bench",
                    &login,
                    &format!("{login}@acme.test"),
                    "ACME",
                )
                .password("Bench-Password-1!"),
                "bench",
            )
            .await
            .expect("user");
        }
        dir
    });
    let issued = issue_token("bench").expect("token");
    // Ten tokens stored: every request compares its digest with all of them.
    let mut stored = vec![issued.stored.clone()];
    for _ in 0..9 {
        stored.push(issue_token("other").expect("token").stored);
    }
    let tokens = BearerTokens::new(&stored).expect("tokens");
    let app = router(dir.clone(), WebConfig::new(tokens.clone()));
    let bearer = format!("Bearer {}", issued.token.as_str());
    let request = |uri: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, bearer.as_str())
            .body(Body::empty())
            .expect("request")
    };

    let mut group = c.benchmark_group("web");
    group.bench_function("search 10 of 1000 (Directory)", |b| {
        let search = CustomerUserSearch::term("user01*").limit(10);
        b.iter(|| rt.block_on(dir.search_page(&search)).expect("search"));
    });
    group.bench_function("search 10 of 1000 (GET /api/v1/users)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = app
                    .clone()
                    .oneshot(request("/api/v1/users?term=user01*&limit=10"))
                    .await
                    .expect("response");
                assert_eq!(res.status(), StatusCode::OK);
                res.into_body().collect().await.expect("body").to_bytes()
            })
        });
    });
    group.bench_function("look-up (Directory)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let found = dir
                    .customer_user_with_source("user0500")
                    .await
                    .expect("user");
                let ids = dir.customer_ids("user0500").await.expect("ids");
                (found, ids)
            })
        });
    });
    group.bench_function("look-up (GET /api/v1/users/{login})", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = app
                    .clone()
                    .oneshot(request("/api/v1/users/user0500"))
                    .await
                    .expect("response");
                assert_eq!(res.status(), StatusCode::OK);
                res.into_body().collect().await.expect("body").to_bytes()
            })
        });
    });
    group.bench_function("bearer check, 10 tokens stored", |b| {
        use clientele_web::Authenticator;
        let (parts, _) = request("/").into_parts();
        b.iter(|| rt.block_on(tokens.authenticate(&parts)).expect("known"));
    });
    group.finish();
}

criterion_group!(benches, api);
criterion_main!(benches);
