//! # clientele-web
//!
//! The web side of Clientele: an axum [`Router`] over a [`Directory`] that a host nests under
//! a path of its own. Today it serves the JSON API under `/api/v1` — customer users, companies,
//! group grants and members, user ↔ company relations, services — described by an OpenAPI 3
//! document at `/api/v1/openapi.json`, with errors as RFC 9457 problem details; the admin
//! screens under `/admin` ([`ui`]): HTML rendered on the server, with a browser login, session
//! cookies and CSRF checks; and SCIM 2.0 provisioning under `/scim/v2` ([`scim`]) for identity
//! providers, behind tokens of its own scope.
//!
//! Every route asks the host's [`Authenticator`] first: a request it does not accept gets
//! `401`, and the writes of one it accepts are made by its [`Principal`]'s actor. Request
//! bodies are limited in size (`413` beyond [`WebConfig::body_limit`]). The API adds no
//! queries of its own: each handler calls the Directory, as the command line does. No
//! response, problem or log line carries a password, a hash or a token.
//!
//! ```
//! use std::sync::Arc;
//! use clientele_directory::{Directory, InMemoryBackend};
//! use clientele_web::{BearerTokens, WebConfig, issue_token, router};
//!
//! let directory = Arc::new(Directory::in_memory(Arc::new(InMemoryBackend::new())));
//! let issued = issue_token("alice")?;
//! let auth = BearerTokens::new(&[issued.stored])?;
//! // The host mounts it where it likes, with its own layers around it.
//! let app: axum::Router = axum::Router::new()
//!     .nest("/customers", router(directory, WebConfig::new(auth)));
//! # let _ = app;
//! # Ok::<(), clientele_web::TokenError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
pub mod auth;
pub mod problem;
pub mod scim;
pub mod ui;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use clientele_directory::Directory;
use serde::Deserialize;

/// The attribute an [`Authenticator`] implementation needs.
pub use async_trait::async_trait;
/// The axum this crate is built on, so a host mounts the router with the same version.
pub use axum;

pub use auth::{
    Authenticator, BearerTokens, IssuedToken, Principal, StoredToken, TOKEN_PREFIX, TokenError,
    TokenScope, issue_scoped_token, issue_token, token_digest,
};
pub use problem::{PROBLEM_JSON, Problem};

/// Where the JSON API's OpenAPI document is served, relative to where the router is mounted.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The default limit of a request body: 64 KiB, far above any single record.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How the router behaves: who may ask ([`Authenticator`]) and how large a body may be.
#[derive(Clone)]
pub struct WebConfig {
    authenticator: Arc<dyn Authenticator>,
    body_limit: usize,
    screens: ui::ScreenSettings,
    scim: Option<scim::ScimConfig>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Every route behind `authenticator`; bodies up to [`DEFAULT_BODY_LIMIT`].
    pub fn new(authenticator: impl Authenticator) -> Self {
        WebConfig {
            authenticator: Arc::new(authenticator),
            body_limit: DEFAULT_BODY_LIMIT,
            screens: ui::ScreenSettings::default(),
            scim: None,
        }
    }

    /// Every route behind an authenticator the host shares with other parts of itself.
    pub fn with_shared(authenticator: Arc<dyn Authenticator>) -> Self {
        WebConfig {
            authenticator,
            body_limit: DEFAULT_BODY_LIMIT,
            screens: ui::ScreenSettings::default(),
            scim: None,
        }
    }

    /// Refuses request bodies larger than `bytes` with `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Serves SCIM 2.0 under [`scim::SCIM_PATH`], behind the SCIM part's own authenticator.
    pub fn scim(mut self, scim: scim::ScimConfig) -> Self {
        self.scim = Some(scim);
        self
    }

    /// The body limit in bytes.
    pub fn limit(&self) -> usize {
        self.body_limit
    }
}

/// The `[web]` section of the configuration file, read by `clientele serve`: where to listen,
/// the body limit and the bearer tokens (as digests).
///
/// ```
/// let s: clientele_web::ServeSettings = serde_json::from_str("{}").unwrap();
/// assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
/// assert!(s.token.is_empty());
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSettings {
    /// `bind`: the address and port to listen on; loopback by default (`127.0.0.1:8080`), so
    /// that only a reverse proxy on the same machine (terminating TLS) reaches it.
    #[serde(deserialize_with = "bind_address")]
    pub bind: SocketAddr,
    /// `body_limit`: the largest request body accepted, in bytes.
    pub body_limit: usize,
    /// `[[web.token]]`: the bearer tokens, each with its actor and scope; see
    /// `clientele serve token`.
    pub token: Vec<StoredToken>,
    /// `[web.scim]`: SCIM provisioning, served to the tokens of scope `scim`.
    pub scim: scim::ScimSettings,
}

/// `bind` as text, refused with a message naming the key.
fn bind_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "bind: {text:?} is not an address and port, e.g. \"127.0.0.1:8080\""
        ))
    })
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            body_limit: DEFAULT_BODY_LIMIT,
            token: Vec::new(),
            scim: scim::ScimSettings::default(),
        }
    }
}

impl ServeSettings {
    /// The router's configuration for these settings: the `api` tokens for the JSON API, the
    /// `scim` tokens and `[web.scim]` for SCIM, and the body limit.
    pub fn web_config(&self) -> Result<WebConfig, TokenError> {
        let scim = scim::ScimConfig::new(
            BearerTokens::scoped(&self.token, TokenScope::Scim)?,
            self.scim.clone(),
        );
        Ok(WebConfig::new(BearerTokens::new(&self.token)?)
            .body_limit(self.body_limit)
            .scim(scim))
    }
}

/// What every handler gets: the Directory.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) dir: Arc<Directory>,
}

/// The router over `directory`: the JSON API under `/api/v1` and its OpenAPI document at
/// [`OPENAPI_PATH`], every route behind `config`'s authenticator, and SCIM 2.0 under
/// [`scim::SCIM_PATH`] when `config` has a [`scim::ScimConfig`]. Nest it under any path.
///
/// Each part of the web side is a router of its own with its own authentication layer, merged
/// here; a path no part serves answers `401` to a request without accepted credentials and
/// `404` otherwise, so the set of routes is not readable without credentials.
///
/// The crate documentation has an example.
pub fn router(directory: Arc<Directory>, config: WebConfig) -> Router {
    let state = AppState { dir: directory };
    let auth = config.authenticator.clone();
    Router::new()
        .merge(api_router(state.clone(), &config))
        .merge(ui::router(state.clone(), &config))
        .merge(scim::router(state.dir, config.scim.as_ref()))
        .fallback(move |request: Request| no_route(auth.clone(), request))
        .layer(DefaultBodyLimit::max(config.body_limit))
}

/// The JSON API and its document, behind the bearer authenticator.
fn api_router(state: AppState, config: &WebConfig) -> Router {
    let (api, doc) = api::routes().split_for_parts();
    let doc = Arc::new(doc);
    api.route(
        OPENAPI_PATH,
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .with_state(state)
    .layer(middleware::from_fn_with_state(
        config.authenticator.clone(),
        authenticate,
    ))
}

/// The OpenAPI document of the JSON API, as served at [`OPENAPI_PATH`].
///
/// ```
/// let doc = clientele_web::openapi();
/// assert!(doc.paths.paths.contains_key("/api/v1/users"));
/// ```
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().split_for_parts().1
}

/// A path no part serves: `401` without accepted credentials, `404` with them.
async fn no_route(auth: Arc<dyn Authenticator>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if auth.authenticate(&parts).await.is_none() {
        tracing::info!(method = %parts.method, %path, status = 401, "refused: no accepted credentials");
        return Problem::unauthorized().into_response();
    }
    Problem::no_route(&path).into_response()
}

/// Lets a request through when the authenticator accepts it, with its [`Principal`] in the
/// request's extensions; `401` otherwise. One log line per request: method, path, status,
/// actor — never a header, a body or a query string.
async fn authenticate(
    State(auth): State<Arc<dyn Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let Some(principal) = auth.authenticate(&parts).await else {
        tracing::info!(%method, %path, status = 401, "refused: no accepted credentials");
        return Problem::unauthorized().into_response();
    };
    let actor = principal.actor.to_string();
    parts.extensions.insert(principal);
    let response = next.run(Request::from_parts(parts, body)).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), %actor, "request");
    response
}

/// Serves `router` on `listener` until `shutdown` completes (for example on Ctrl-C).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
