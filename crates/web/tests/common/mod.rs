//! What the web tests share: a Directory with a company, a user, a group and a service, the
//! router over it behind one bearer token, and a request helper.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use clientele_web::{BearerTokens, WebConfig, issue_token, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A password no response or log line may show.
pub const SEEDED_PASSWORD: &str = "Seeded-Secret-42!";

/// Every (method, path) the API serves; the OpenAPI document must list exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{login}"),
    ("patch", "/api/v1/users/{login}"),
    ("post", "/api/v1/users/{login}/invalidate"),
    ("put", "/api/v1/users/{login}/password"),
    ("get", "/api/v1/users/{login}/preferences"),
    ("put", "/api/v1/users/{login}/preferences/{key}"),
    ("delete", "/api/v1/users/{login}/preferences/{key}"),
    ("get", "/api/v1/users/{login}/companies"),
    ("put", "/api/v1/users/{login}/companies/{customer_id}"),
    ("delete", "/api/v1/users/{login}/companies/{customer_id}"),
    ("get", "/api/v1/users/{login}/groups"),
    ("get", "/api/v1/users/{login}/services"),
    ("put", "/api/v1/users/{login}/services/{service}"),
    ("delete", "/api/v1/users/{login}/services/{service}"),
    ("get", "/api/v1/companies"),
    ("post", "/api/v1/companies"),
    ("get", "/api/v1/companies/{customer_id}"),
    ("patch", "/api/v1/companies/{customer_id}"),
    ("post", "/api/v1/companies/{customer_id}/invalidate"),
    ("get", "/api/v1/companies/{customer_id}/users"),
    ("get", "/api/v1/groups"),
    ("post", "/api/v1/groups"),
    ("get", "/api/v1/groups/{group}"),
    ("patch", "/api/v1/groups/{group}"),
    ("post", "/api/v1/groups/{group}/invalidate"),
    ("post", "/api/v1/groups/{group}/validate"),
    ("get", "/api/v1/groups/{group}/members"),
    ("post", "/api/v1/groups/{group}/grants"),
    ("get", "/api/v1/services"),
    ("post", "/api/v1/services"),
    ("get", "/api/v1/services/{service}"),
    ("patch", "/api/v1/services/{service}"),
    ("post", "/api/v1/services/{service}/invalidate"),
    ("post", "/api/v1/services/{service}/validate"),
    ("get", "/api/v1/services/{service}/users"),
    ("put", "/api/v1/services/{service}/default"),
    ("delete", "/api/v1/services/{service}/default"),
];

pub struct Fixture {
    pub app: Router,
    pub dir: Arc<Directory>,
    pub token: String,
}

pub async fn fixture(body_limit: usize) -> Fixture {
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let dir = Arc::new(
        Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config).expect("directory"),
    );
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "seed")
        .await
        .unwrap();
    dir.add_company(NewCustomerCompany::new("GLOBEX", "Globex"), "seed")
        .await
        .unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "Berg", "anna@acme-corp.com", "ACME")
            .password(SEEDED_PASSWORD),
        "seed",
    )
    .await
    .unwrap();
    dir.add_group("billing", "seed").await.unwrap();
    dir.add_service("Printing", "seed").await.unwrap();
    let issued = issue_token("api-admin").unwrap();
    let auth = BearerTokens::new(std::slice::from_ref(&issued.stored)).unwrap();
    let app = router(dir.clone(), WebConfig::new(auth).body_limit(body_limit));
    Fixture {
        app,
        dir,
        token: issued.token.as_str().to_owned(),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap())
        .uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A concrete URI for a route template.
pub fn concrete(path: &str) -> String {
    path.replace("{login}", "anna")
        .replace("{customer_id}", "ACME")
        .replace("{group}", "billing")
        .replace("{service}", "Printing")
        .replace("{key}", "UserLanguage")
}
