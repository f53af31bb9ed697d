//! SCIM list with a filter at 100 000 users: `GET /scim/v2/Users?filter=userName sw "a"` (the
//! first page of 100, `totalResults` counted) through the router, on the in-memory store, beside
//! the Directory's own count and page of the same detail search. Medians go to
//! docs/benchmarks.md.
//!
//! ```text
//! cargo bench -p clientele-web --bench scim
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_backend::{CompanySettings, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::search::{
    DetailSearch, Direction, FieldCondition, Part, Pattern, SelectionCondition,
};
use clientele_model::{NewCustomerCompany, NewCustomerUser, keys};
use clientele_web::scim::{ScimConfig, ScimSettings};
use clientele_web::{BearerTokens, TokenScope, WebConfig, issue_scoped_token, router};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

const USERS: usize = 100_000;

fn scim(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = rt.block_on(async {
        // Cheap hashing and no email check across 100 000 users: only the set-up is faster.
        let config: DirectoryConfig = serde_json::from_value(serde_json::json!({
            "passwords": { "argon2": { "memory_kib": 64, "iterations": 1, "parallelism": 1 } }
        }))
        .expect("config");
        let settings = SourceSettings {
            email_unique_check: false,
            ..SourceSettings::default()
        };
        let store = Arc::new(InMemoryBackend::with_settings(
            settings,
            CompanySettings::default(),
        ));
        let dir = Arc::new(Directory::in_memory_with(store, config).expect("directory"));
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "bench")
            .await
            .expect("company");
        let letters: Vec<char> = ('a'..='z').collect();
        for i in 0..USERS {
            // Logins spread over the alphabet: about 1 in 26 starts with "a".
            let login = format!("{}{i:06}", letters[(i * 7) % 26]);
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
    let issued = issue_scoped_token("bench", TokenScope::Scim).expect("token");
    let tokens = BearerTokens::scoped(std::slice::from_ref(&issued.stored), TokenScope::Scim)
        .expect("tokens");
    let app = router(
        dir.clone(),
        WebConfig::new(BearerTokens::new(&[]).expect("none"))
            .scim(ScimConfig::new(tokens, ScimSettings::default())),
    );
    let bearer = format!("Bearer {}", issued.token.as_str());
    let uri = "/scim/v2/Users?filter=userName%20sw%20%22a%22&count=100";

    let mut group = c.benchmark_group("scim");
    group.sample_size(20);
    group.bench_function("count + page of 100 (Directory detail search)", |b| {
        let search = DetailSearch {
            conditions: vec![FieldCondition {
                attribute: keys::LOGIN.into(),
                pattern: Pattern::new([Part::Literal("a".into()), Part::Wildcard]),
            }],
            selections: vec![SelectionCondition {
                attribute: keys::VALID.into(),
                values: vec!["1".into(), "3".into()],
            }],
            order_by: vec![(keys::LOGIN.into(), Direction::Ascending)],
            valid_only: false,
            limit: Some(100),
            ..DetailSearch::default()
        };
        b.iter(|| {
            rt.block_on(async {
                let n = dir.count_detail(&search).await.expect("count");
                let page = dir.search_detail(&search).await.expect("page");
                (n, page)
            })
        });
    });
    group.bench_function(
        "GET /scim/v2/Users?filter=userName sw \"a\" (100 of ~3 850)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let res = app
                        .clone()
                        .oneshot(
                            Request::get(uri)
                                .header(header::AUTHORIZATION, bearer.as_str())
                                .body(Body::empty())
                                .expect("request"),
                        )
                        .await
                        .expect("response");
                    assert_eq!(res.status(), StatusCode::OK);
                    res.into_body().collect().await.expect("body").to_bytes()
                })
            });
        },
    );
    group.finish();
}

criterion_group!(benches, scim);
criterion_main!(benches);
