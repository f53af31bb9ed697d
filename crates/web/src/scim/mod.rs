//! SCIM 2.0 provisioning (RFC 7643, RFC 7644) under [`SCIM_PATH`]: Users, Groups (one per group
//! and permission type), and the discovery resources `ServiceProviderConfig`, `Schemas` and
//! `ResourceTypes`.
//!
//! The part has its own authenticator ([`ScimConfig`]): `clientele serve` accepts only tokens of
//! scope `scim` here ([`TokenScope`](crate::TokenScope)), and the JSON API accepts none of
//! them. Every handler calls the [`Directory`], as the JSON API does; errors are SCIM error
//! documents (`application/scim+json`). No response or log line carries a password, a hash or
//! a token.
//!
//! ```
//! use std::sync::Arc;
//! use clientele_directory::{Directory, InMemoryBackend};
//! use clientele_web::scim::{ScimConfig, ScimSettings};
//! use clientele_web::{BearerTokens, TokenScope, WebConfig, issue_scoped_token, router};
//!
//! let directory = Arc::new(Directory::in_memory(Arc::new(InMemoryBackend::new())));
//! let idp = issue_scoped_token("entra", TokenScope::Scim)?;
//! let scim = ScimConfig::new(
//!     BearerTokens::scoped(&[idp.stored], TokenScope::Scim)?,
//!     ScimSettings::default(),
//! );
//! let api = BearerTokens::new(&[])?;
//! let app = router(directory, WebConfig::new(api).scim(scim));
//! # let _ = app;
//! # Ok::<(), clientele_web::TokenError>(())
//! ```

mod discovery;
mod error;
mod filter;
mod groups;
mod patch;
mod user;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clientele_directory::Directory;
use serde::Deserialize;
use serde_json::Value;

use crate::{Authenticator, Principal};
use error::ScimError;

/// Where SCIM is served, relative to where the router is mounted.
pub const SCIM_PATH: &str = "/scim/v2";
/// The media type of SCIM bodies.
pub const SCIM_JSON: &str = "application/scim+json";
/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension: `organization` is the company's name.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Clientele's User extension: `customerId` and `secondaryCustomerIds`.
pub const CLIENTELE_SCHEMA: &str = "urn:clientele:params:scim:schemas:extension:clientele:2.0:User";
/// A list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH body.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// An error response.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `[web.scim]` section of the configuration file.
///
/// ```
/// let s: clientele_web::scim::ScimSettings = serde_json::from_str("{}").unwrap();
/// assert_eq!(s.max_results, 200);
/// assert!(s.default_customer_id.is_none());
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScimSettings {
    /// `default_customer_id`: the customer id of a user whose `organization` names no company
    /// (or who has none); without it such a user is refused with `400 invalidValue`.
    pub default_customer_id: Option<String>,
    /// `source`: the source new users are added to; default: the Directory's add target.
    pub source: Option<String>,
    /// `max_results`: the most resources one list returns (`count` is cut to it).
    pub max_results: usize,
}

impl Default for ScimSettings {
    fn default() -> Self {
        ScimSettings {
            default_customer_id: None,
            source: None,
            max_results: 200,
        }
    }
}

/// The SCIM part's authenticator and settings, given to
/// [`WebConfig::scim`](crate::WebConfig::scim). Without it the router serves no SCIM.
#[derive(Clone)]
pub struct ScimConfig {
    authenticator: Arc<dyn Authenticator>,
    settings: ScimSettings,
}

impl std::fmt::Debug for ScimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimConfig")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ScimConfig {
    /// SCIM behind `authenticator` (for `clientele serve`: the tokens of scope `scim`).
    pub fn new(authenticator: impl Authenticator, settings: ScimSettings) -> Self {
        ScimConfig {
            authenticator: Arc::new(authenticator),
            settings,
        }
    }
}

/// What every SCIM handler gets.
#[derive(Clone)]
pub(crate) struct ScimState {
    pub(crate) dir: Arc<Directory>,
    pub(crate) settings: Arc<ScimSettings>,
}

/// The SCIM routes under [`SCIM_PATH`], behind the SCIM authenticator; an empty router when
/// `config` is `None`.
pub(crate) fn router(dir: Arc<Directory>, config: Option<&ScimConfig>) -> Router {
    let Some(config) = config else {
        return Router::new();
    };
    let state = ScimState {
        dir,
        settings: Arc::new(config.settings.clone()),
    };
    let routes = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema_resource))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Users", get(users::list).post(users::create))
        .route(
            "/Users/{id}",
            get(users::show)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route(
            "/Groups/{id}",
            get(groups::show).patch(groups::patch).put(groups::replace),
        )
        .fallback(no_resource)
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            config.authenticator.clone(),
            authenticate,
        ));
    Router::new().nest(SCIM_PATH, routes)
}

async fn no_resource(request: Request) -> ScimError {
    ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        format!("no SCIM resource at {:?}", request.uri().path()),
    )
}

/// As the JSON API's layer, with SCIM's error document: one log line per request (method,
/// path, status, actor), never a header, a body or a query string.
async fn authenticate(
    State(auth): State<Arc<dyn Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let Some(principal) = auth.authenticate(&parts).await else {
        tracing::info!(%method, %path, status = 401, "refused: no accepted SCIM credentials");
        return ScimError::unauthorized().into_response();
    };
    let actor = principal.actor.to_string();
    parts.extensions.insert(principal);
    let response = next.run(Request::from_parts(parts, body)).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), %actor, "scim request");
    response
}

/// The request's principal, put there by [`authenticate`].
pub(crate) fn principal(headers: &axum::http::Extensions) -> Result<Principal, ScimError> {
    headers
        .get::<Principal>()
        .cloned()
        .ok_or_else(ScimError::unauthorized)
}

/// A SCIM response: `status`, the body as `application/scim+json`.
pub(crate) fn respond(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r
}

/// A resource response with its `ETag` (and `Location` when created).
pub(crate) fn respond_resource(status: StatusCode, body: &Value) -> Response {
    let mut r = respond(status, body);
    if let Some(v) = body.pointer("/meta/version").and_then(Value::as_str)
        && let Ok(h) = HeaderValue::from_str(v)
    {
        r.headers_mut().insert(header::ETAG, h);
    }
    if status == StatusCode::CREATED
        && let Some(l) = body.pointer("/meta/location").and_then(Value::as_str)
        && let Ok(h) = HeaderValue::from_str(l)
    {
        r.headers_mut().insert(header::LOCATION, h);
    }
    r
}

/// A JSON body, whatever its content type says (`application/scim+json` or `application/json`).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ScimError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field and position, never the value.
        ScimError::bad(
            "invalidSyntax",
            format!("the body is not a valid request: {e}"),
        )
    })
}

/// The `If-Match` version, when one is given (`*` counts as none).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<String>, ScimError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| ScimError::bad("invalidValue", "If-Match: not text"))?
                .trim();
            Ok((v != "*").then(|| v.to_owned()))
        }
    }
}

/// `startIndex` and `count` of a list request.
pub(crate) struct Paging {
    /// 1-based.
    pub(crate) start: usize,
    pub(crate) count: usize,
}

/// The list parameters, names compared ignoring case.
pub(crate) struct ListParams {
    pub(crate) filter: Option<String>,
    pub(crate) paging: Paging,
}

impl ListParams {
    pub(crate) fn read(query: &HashMap<String, String>, max: usize) -> Result<Self, ScimError> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| ScimError::value(format!("{name}: {v:?} is not a number")))
                })
                .transpose()
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start = number("startIndex")?.unwrap_or(1).max(1);
        let count = number("count")?.map_or(max, |c| c.max(0).min(max as i64) as usize);
        Ok(ListParams {
            filter: get("filter")
                .map(str::to_owned)
                .filter(|f| !f.trim().is_empty()),
            paging: Paging {
                start: usize::try_from(start).unwrap_or(usize::MAX),
                count,
            },
        })
    }
}

/// A list response.
pub(crate) fn list_response(total: usize, start: usize, resources: Vec<Value>) -> Response {
    respond(
        StatusCode::OK,
        &serde_json::json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}
