//! What the SCIM tests share: a Directory with two companies, a user and a group, the router
//! with an api and a scim token, and a request helper.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use clientele_web::scim::{ScimConfig, ScimSettings};
use clientele_web::{BearerTokens, TokenScope, WebConfig, issue_scoped_token, issue_token, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const OURS: &str = "urn:clientele:params:scim:schemas:extension:clientele:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SECRET: &str = "Scim-Secret-Password-77!";

pub struct Fixture {
    pub app: Router,
    pub dir: Arc<Directory>,
    pub scim: String,
    pub api: String,
}

pub async fn fixture(settings: ScimSettings) -> Fixture {
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
        NewCustomerUser::new("anna", "Anna", "Berg", "anna@acme-corp.com", "ACME"),
        "seed",
    )
    .await
    .unwrap();
    dir.add_group("billing", "seed").await.unwrap();
    let api = issue_token("admin").unwrap();
    let scim = issue_scoped_token("idp", TokenScope::Scim).unwrap();
    let stored = [api.stored.clone(), scim.stored.clone()];
    let config = WebConfig::new(BearerTokens::new(&stored).unwrap()).scim(ScimConfig::new(
        BearerTokens::scoped(&stored, TokenScope::Scim).unwrap(),
        settings,
    ));
    Fixture {
        app: router(dir.clone(), config),
        dir,
        scim: scim.token.as_str().to_owned(),
        api: api.token.as_str().to_owned(),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub etag: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Reply {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(v) = if_match {
        req = req.header(header::IF_MATCH, v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let get = |h| {
        res.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = get(header::CONTENT_TYPE).unwrap_or_default();
    let etag = get(header::ETAG);
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        etag,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

impl Fixture {
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        send(&self.app, method, uri, Some(&self.scim), body, None).await
    }
}

pub fn new_user(login: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": login,
        "externalId": format!("ext-{login}"),
        "name": {"givenName": "Bob", "familyName": "Stone"},
        "emails": [{"value": format!("{login}@acme-corp.com"), "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+49 1", "type": "work"}, {"value": "+49 2", "type": "mobile"}],
        "addresses": [{"streetAddress": "Main 1", "locality": "Berlin", "postalCode": "10115",
                       "country": "DE", "type": "work"}],
        "active": true,
        "password": SECRET,
        ENTERPRISE: {"organization": "Acme Corp"},
    })
}

pub fn assert_error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.content_type, "application/scim+json");
    let v = r.json();
    assert_eq!(v["schemas"], json!([ERROR]));
    assert_eq!(v["status"], json!(status.to_string()));
    if let Some(t) = scim_type {
        assert_eq!(v["scimType"], json!(t), "{}", r.body);
    }
}
