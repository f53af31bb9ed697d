//! What the admin screens' user list costs: OTOBO's list of the first 1 000 users (`*`, limit
//! 1 000) at 100 000 users, rendered as a page through the router (session cookie, routing,
//! the Directory search, the maud template), against the same Directory search made directly.
//! In-memory store. Medians go to docs/benchmarks.md ("The web layer").
//!
//! ```text
//! cargo bench -p clientele-web --bench pages
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clientele_backend::settings::{CompanySettings, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::search::CustomerUserSearch;
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use clientele_web::{BearerTokens, WebConfig, issue_token, router};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// How many users the store holds.
const USERS: usize = 100_000;

async fn body_of(app: &Router, req: Request<Body>) -> (StatusCode, Vec<String>, String) {
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            v.to_str()
                .ok()
                .map(|c| c.split(';').next().unwrap_or("").to_owned())
        })
        .collect();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        cookies,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Signs in through the login form; the session cookie.
async fn sign_in(app: &Router, token: &str) -> String {
    let (_, cookies, page) = body_of(
        app,
        Request::get("/admin/login")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let marker = r#"name="csrf" value=""#;
    let at = page.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &page[at..at + page[at..].find('"').expect("end of the value")];
    let form = format!("csrf={csrf}&token={token}");
    let req = Request::post("/admin/login")
        .header(header::COOKIE, cookies[0].as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let (status, cookies, _) = body_of(app, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed in");
    cookies[0].clone()
}

fn pages(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = rt.block_on(async {
        // Cheap hashing parameters: nothing here checks a password.
        let config: DirectoryConfig = serde_json::from_value(serde_json::json!({
            "passwords": { "argon2": { "memory_kib": 64, "iterations": 1, "parallelism": 1 } }
        }))
        .expect("config");
        // The in-memory store checks a new email against every stored user (a scan), which
        // would make loading 100 000 users quadratic; the generated addresses are unique anyway.
        let store = Arc::new(InMemoryBackend::with_settings(
            SourceSettings {
                name: "memory".into(),
                cache_ttl: 0,
                email_unique_check: false,
                ..SourceSettings::default()
            },
            CompanySettings {
                name: "memory".into(),
                cache_ttl: 0,
                ..CompanySettings::default()
            },
        ));
        let dir = Arc::new(Directory::in_memory_with(store, config).expect("directory"));
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "bench")
            .await
            .expect("company");
        // The bulk path of `clientele import`, in batches; no passwords (none is checked).
        let mut rows = Vec::with_capacity(10_000);
        for i in 0..USERS {
            let login = format!("user{i:06}");
            let email = format!("{login}@acme.test");
            rows.push(NewCustomerUser::new(
                &login, "Bench", &login, &email, "ACME",
            ));
            if rows.len() == 10_000 || i + 1 == USERS {
                let report = dir
                    .import_customer_users(std::mem::take(&mut rows), "bench")
                    .await
                    .expect("import");
                assert!(report.rejected.is_empty(), "every row imported");
            }
        }
        dir
    });
    let issued = issue_token("bench").expect("token");
    let tokens = BearerTokens::new(std::slice::from_ref(&issued.stored)).expect("tokens");
    let app = router(dir.clone(), WebConfig::new(tokens));
    let cookie = rt.block_on(sign_in(&app, &issued.token));
    let page = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, cookie.as_str())
            .body(Body::empty())
            .expect("request")
    };
    // The page lists 1 000 users and says more match.
    let (status, _, body) = rt.block_on(body_of(&app, page("/admin/users?term=*&limit=1000")));
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("1000 shown") && body.contains(r#"id="more""#));

    let mut group = c.benchmark_group("pages");
    group.sample_size(20);
    group.bench_function("list * 1000 of 100000 (Directory)", |b| {
        let search = CustomerUserSearch::term("*").limit(1000);
        b.iter(|| rt.block_on(dir.search_page(&search)).expect("search"));
    });
    for (name, uri) in [
        (
            "list * 1000 of 100000 (GET /admin/users)",
            "/admin/users?term=*&limit=1000",
        ),
        (
            "list user01* 1000 of 100000 (GET /admin/users)",
            "/admin/users?term=user01*&limit=1000",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let res = app.clone().oneshot(page(uri)).await.expect("response");
                    assert_eq!(res.status(), StatusCode::OK);
                    res.into_body().collect().await.expect("body").to_bytes()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
