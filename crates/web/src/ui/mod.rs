//! The admin screens under `/admin`: HTML rendered on the server (maud templates compiled with
//! the crate), no JavaScript at all, one small stylesheet.
//!
//! They mirror OTOBO's admin screens from both sides: customer users (search with the limit and
//! "more matched", add and edit forms built from the source's attribute map, password reset,
//! invalidate), companies, the user ↔ group and company ↔ group matrices, a user's companies and
//! services, and the default services. Every screen calls the [`Directory`], as the JSON API
//! does; none queries a store of its own.
//!
//! # Login
//!
//! By default the screens have a login page at `/admin/login` where an agent pastes a bearer
//! token that the router's [`Authenticator`] accepts (the tokens of `clientele serve`). It
//! answers with a session cookie: 128 random bits, `HttpOnly`, `SameSite=Strict`, its `Path` the
//! screens' path, `Secure` when [`WebConfig::secure_cookies`] says so, ending after
//! [`WebConfig::session_lifetime`]. `POST /admin/logout` ends it. A page asked for without a
//! session answers `303 See Other` to the login page.
//!
//! A host that has its own agent session plugs in its own [`Authenticator`] for the screens
//! instead ([`WebConfig::screens_behind`]): every request is asked of it, and a request it
//! refuses is sent (`303`) to the host's login page.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use axum::http::request::Parts;
//! use clientele_directory::{Directory, InMemoryBackend};
//! use clientele_web::{Authenticator, BearerTokens, Principal, WebConfig, router};
//!
//! /// The host's own agent session: here, the name its proxy puts in `X-Agent`.
//! struct HostSession;
//!
//! #[async_trait]
//! impl Authenticator for HostSession {
//!     async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
//!         let name = parts.headers.get("x-agent")?.to_str().ok()?;
//!         (!name.is_empty()).then(|| Principal::new(name))
//!     }
//! }
//!
//! let directory = Arc::new(Directory::in_memory(Arc::new(InMemoryBackend::new())));
//! let config = WebConfig::new(BearerTokens::new(&[])?)
//!     .screens_behind(HostSession, "/agent/login")
//!     .secure_cookies(true);
//! let app = router(directory, config);
//! # let _ = app;
//! # Ok::<(), clientele_web::TokenError>(())
//! ```
//!
//! # CSRF and other headers
//!
//! Every form carries the session's CSRF token in a hidden `csrf` field; a `POST` without it
//! or with another one is refused with `403` before any handler runs. Pages are sent with a
//! content security policy (`default-src 'self'; frame-ancestors 'none'`, so no inline script
//! runs and no other site frames them), `X-Frame-Options: DENY`, `Cache-Control: no-store`
//! and `Referrer-Policy: same-origin`. No page shows a password hash or a token; a generated
//! password is shown once, on the page that answers the add or reset that made it.

mod companies;
mod form;
mod groups;
mod services;
mod session;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_directory::Directory;
use clientele_model::Actor;
use maud::{DOCTYPE, Markup, html};

pub use session::{CSRF_FIELD, SESSION_COOKIE};

use crate::{AppState, Authenticator, Principal, Problem, WebConfig};

/// Where the screens are served, relative to where the router is mounted.
pub const SCREENS_PATH: &str = "/admin";

/// How long a browser session lasts by default: eight hours, a working day.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// The content security policy of every page: nothing but this origin, no inline script or
/// style, no framing, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How the screens know who is asking.
#[derive(Clone)]
enum Login {
    /// The screens' own login page takes a bearer token the router's authenticator accepts.
    Tokens,
    /// The host's own session: its authenticator, and where it sends a browser to log in.
    Host {
        authenticator: Arc<dyn Authenticator>,
        login_url: String,
    },
}

/// The admin screens' settings, part of [`WebConfig`].
#[derive(Clone)]
pub(crate) struct ScreenSettings {
    login: Login,
    secure_cookies: bool,
    session_lifetime: Duration,
}

impl Default for ScreenSettings {
    fn default() -> Self {
        ScreenSettings {
            login: Login::Tokens,
            secure_cookies: false,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        }
    }
}

impl WebConfig {
    /// Marks the screens' session cookie `Secure`, so a browser sends it over HTTPS only. Turn
    /// it on whenever a TLS-terminating proxy is in front (the usual set-up); it is off by
    /// default so that plain `http://127.0.0.1` works.
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.screens.secure_cookies = secure;
        self
    }

    /// How long a browser session of the screens lasts after login
    /// (default [`DEFAULT_SESSION_LIFETIME`]).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.screens.session_lifetime = lifetime;
        self
    }

    /// Puts the screens behind the host's own agent session: `authenticator` is asked for
    /// every screen request (the screens' token login page is not served), and a browser it
    /// refuses is sent to `login_url` with `303 See Other`. The module documentation has an
    /// example.
    pub fn screens_behind(
        mut self,
        authenticator: impl Authenticator,
        login_url: impl Into<String>,
    ) -> Self {
        self.screens.login = Login::Host {
            authenticator: Arc::new(authenticator),
            login_url: login_url.into(),
        };
        self
    }
}

/// What the screens' handlers share.
#[derive(Clone)]
pub(crate) struct Ui {
    pub(crate) dir: Arc<Directory>,
    sessions: Arc<session::Sessions>,
    settings: ScreenSettings,
    /// The router's own authenticator: a pasted token is checked with it.
    tokens: Arc<dyn Authenticator>,
    body_limit: usize,
}

/// The screens under [`SCREENS_PATH`], with their login, sessions and CSRF checks.
pub(crate) fn router(state: AppState, config: &WebConfig) -> Router {
    let ui = Ui {
        dir: state.dir,
        sessions: Arc::new(session::Sessions::new(config.screens.session_lifetime)),
        settings: config.screens.clone(),
        tokens: config.authenticator.clone(),
        body_limit: config.body_limit,
    };
    let pages = Router::new()
        .route("/admin", get(home))
        .route("/admin/logout", post(logout))
        .route("/admin/users", get(users::list).post(users::add))
        .route("/admin/users/new", get(users::new_form))
        .route("/admin/users/{login}", get(users::edit).post(users::update))
        .route("/admin/users/{login}/invalidate", post(users::invalidate))
        .route("/admin/users/{login}/password", post(users::reset_password))
        .route(
            "/admin/users/{login}/groups",
            get(groups::user_matrix).post(groups::save_user_matrix),
        )
        .route(
            "/admin/users/{login}/companies",
            get(users::companies).post(users::relate),
        )
        .route(
            "/admin/users/{login}/services",
            get(services::user_services).post(services::save_user_services),
        )
        .route(
            "/admin/companies",
            get(companies::list).post(companies::add),
        )
        .route("/admin/companies/new", get(companies::new_form))
        .route(
            "/admin/companies/{customer_id}",
            get(companies::edit).post(companies::update),
        )
        .route(
            "/admin/companies/{customer_id}/invalidate",
            post(companies::invalidate),
        )
        .route(
            "/admin/companies/{customer_id}/groups",
            get(groups::company_matrix).post(groups::save_company_matrix),
        )
        .route("/admin/groups", get(groups::list))
        .route(
            "/admin/groups/{group}",
            get(groups::members).post(groups::save_members),
        )
        .route(
            "/admin/services",
            get(services::list).post(services::save_defaults),
        )
        .route("/admin/services/{service}", get(services::users))
        .layer(middleware::from_fn_with_state(ui.clone(), gate));
    let mut public = Router::new().route("/admin/style.css", get(stylesheet));
    if matches!(ui.settings.login, Login::Tokens) {
        public = public.route("/admin/login", get(login_form).post(login));
    }
    public
        .merge(pages)
        .with_state(ui)
        .layer(middleware::map_response(security_headers))
}

// ------------------------------------------------------------------ the request's page

/// What every page knows of its request: where the screens are, who asks, and the CSRF token
/// its forms carry.
#[derive(Clone)]
pub(crate) struct Page {
    /// The screens' path as the browser sees it (`/admin`, or `/customers/admin` when the
    /// host nests the router under `/customers`).
    pub(crate) base: String,
    pub(crate) actor: Actor,
    pub(crate) csrf: String,
}

impl Page {
    /// A path below the screens.
    pub(crate) fn href(&self, rest: &str) -> String {
        format!("{}{rest}", self.base)
    }

    /// The hidden CSRF field of a form.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// A `303` to a path below the screens.
    pub(crate) fn redirect(&self, rest: &str) -> Response {
        Redirect::to(&self.href(rest)).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Page>()
            .cloned()
            .ok_or_else(|| StatusCode::UNAUTHORIZED.into_response())
    }
}

/// The screens' path as the browser sees it, from the original and the routed URI.
fn base_of(parts: &Parts) -> String {
    let routed = parts.uri.path();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| o.0.path().to_owned())
        .unwrap_or_else(|| routed.to_owned());
    let prefix = original.strip_suffix(routed).unwrap_or("");
    format!("{prefix}{SCREENS_PATH}")
}

/// The body of a form, as name–value pairs in order.
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(bytes: &[u8]) -> Self {
        Fields(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        // The gate has read the body within the limit already.
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
        Ok(Fields::parse(&bytes))
    }
}

// ------------------------------------------------------------------ the gate

/// Lets a screen request through when it comes from a session (or the host's authenticator
/// accepts it) and, for a `POST`, carries the session's CSRF token; `303` to the login page
/// without a session, `403` with a wrong token, `413` for a body above the limit. One log line
/// a request: method, path, status, actor — never a cookie, a body or a query string.
async fn gate(State(ui): State<Ui>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let base = base_of(&parts);
    let cookie_id = session::session_id(&parts.headers);
    let current = cookie_id.as_deref().and_then(|id| ui.sessions.get(id));
    let mut set_cookie = None;
    let found = match &ui.settings.login {
        Login::Tokens => current.and_then(|s| s.actor.clone().map(|a| (a, s.csrf))),
        Login::Host { authenticator, .. } => match authenticator.authenticate(&parts).await {
            None => None,
            Some(p) => match current {
                Some(s) if s.actor.as_ref() == Some(&p.actor) => Some((p.actor, s.csrf)),
                _ => {
                    // The host's session is the login; ours only binds the CSRF token.
                    let Some(started) = ui.sessions.start(Some(p.actor.clone())) else {
                        return unavailable();
                    };
                    set_cookie = Some(session::cookie(
                        &started.id,
                        &base,
                        ui.sessions.ttl(),
                        ui.settings.secure_cookies,
                    ));
                    Some((p.actor, started.csrf))
                }
            },
        },
    };
    let Some((actor, csrf)) = found else {
        tracing::info!(%method, %path, status = 303, "refused: no session");
        let to = match &ui.settings.login {
            Login::Tokens => format!("{base}/login"),
            Login::Host { login_url, .. } => login_url.clone(),
        };
        return Redirect::to(&to).into_response();
    };
    let body = if method == Method::POST {
        let bytes = match axum::body::to_bytes(body, ui.body_limit).await {
            Ok(b) => b,
            Err(_) => {
                tracing::info!(%method, %path, status = 413, %actor, "refused: body too large");
                return message_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large",
                    "The form sent is larger than the server accepts.",
                );
            }
        };
        let fields = Fields::parse(&bytes);
        if !session::csrf_matches(&csrf, fields.get(CSRF_FIELD)) {
            tracing::info!(%method, %path, status = 403, %actor, "refused: CSRF token");
            return message_page(
                StatusCode::FORBIDDEN,
                "The form has expired",
                "The form's security token is missing or belongs to another session. \
                 Open the page again and send the form from there.",
            );
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(Principal::new(actor.clone()));
    parts.extensions.insert(Page {
        base,
        actor: actor.clone(),
        csrf,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    tracing::info!(%method, %path, status = response.status().as_u16(), %actor, "request");
    response
}

/// The headers of every screen response.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unavailable() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "The server could not start a session.",
    )
}

// ------------------------------------------------------------------ login

/// `GET /admin/login`: the form where an agent pastes a token. It starts an anonymous session
/// whose CSRF token the form carries.
async fn login_form(State(ui): State<Ui>, parts: Parts) -> Response {
    let base = base_of(&parts);
    login_page(&ui, &base, None, StatusCode::OK)
}

fn login_page(ui: &Ui, base: &str, error: Option<&str>, status: StatusCode) -> Response {
    let Some(started) = ui.sessions.start(None) else {
        return unavailable();
    };
    let body = html! {
        main.login {
            h1 { "Clientele — sign in" }
            p { "Paste an access token (see " code { "clientele serve token add" } ")." }
            form method="post" action={(base) "/login"} {
                input type="hidden" name=(CSRF_FIELD) value=(started.csrf);
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required;
                @if let Some(e) = error { p.error #token-error { (e) } }
                button type="submit" #sign-in { "Sign in" }
            }
        }
    };
    let cookie = session::cookie(
        &started.id,
        base,
        ui.sessions.ttl(),
        ui.settings.secure_cookies,
    );
    let mut response = (status, document(base, "Sign in", body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /admin/login`: checks the login form's CSRF token, then the pasted token with the
/// router's authenticator; on success a new session (a new id: the anonymous one ends) and a
/// `303` to the user list.
async fn login(State(ui): State<Ui>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let base = base_of(&parts);
    let Ok(bytes) = axum::body::to_bytes(body, ui.body_limit).await else {
        return message_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large",
            "The form sent is larger than the server accepts.",
        );
    };
    let fields = Fields::parse(&bytes);
    let anonymous = session::session_id(&parts.headers);
    let csrf_ok = anonymous
        .as_deref()
        .and_then(|id| ui.sessions.get(id))
        .is_some_and(|s| {
            s.actor.is_none() && session::csrf_matches(&s.csrf, fields.get(CSRF_FIELD))
        });
    if !csrf_ok {
        tracing::info!(path = %parts.uri.path(), status = 403, "refused: CSRF token of the login form");
        return message_page(
            StatusCode::FORBIDDEN,
            "The form has expired",
            "Open the sign-in page again and send the form from there.",
        );
    }
    if let Some(id) = &anonymous {
        ui.sessions.end(id);
    }
    let token = fields.get("token").unwrap_or("").trim();
    let principal = if token.is_empty() {
        None
    } else {
        let probe = axum::http::Request::get("/")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .map(|r| r.into_parts().0);
        match probe {
            Ok(p) => ui.tokens.authenticate(&p).await,
            Err(_) => None,
        }
    };
    let Some(principal) = principal else {
        tracing::info!(status = 401, "sign-in refused");
        return login_page(
            &ui,
            &base,
            Some("token: not accepted"),
            StatusCode::UNAUTHORIZED,
        );
    };
    let Some(started) = ui.sessions.start(Some(principal.actor.clone())) else {
        return unavailable();
    };
    tracing::info!(actor = %principal.actor, status = 303, "signed in");
    let mut response = Redirect::to(&format!("{base}/users")).into_response();
    let cookie = session::cookie(
        &started.id,
        &base,
        ui.sessions.ttl(),
        ui.settings.secure_cookies,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /admin/logout`: ends the session and removes its cookie.
async fn logout(State(ui): State<Ui>, page: Page, parts: Parts) -> Response {
    if let Some(id) = session::session_id(&parts.headers) {
        ui.sessions.end(&id);
    }
    let to = match &ui.settings.login {
        Login::Tokens => page.href("/login"),
        Login::Host { login_url, .. } => login_url.clone(),
    };
    let mut response = Redirect::to(&to).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::removal(&page.base, ui.settings.secure_cookies))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn home(page: Page) -> Response {
    page.redirect("/users")
}

// ------------------------------------------------------------------ layout

/// The stylesheet, served as a file so the policy needs no inline style.
const STYLE: &str = include_str!("style.css");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// The part of the screens a page belongs to, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Users,
    Companies,
    Groups,
    Services,
}

/// A whole HTML document.
fn document(base: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Clientele" }
                link rel="stylesheet" href={(base) "/style.css"};
            }
            body { (body) }
        }
    }
}

/// A page of the screens: navigation, who is signed in, the content.
pub(crate) fn layout(page: &Page, nav: Nav, title: &str, content: Markup) -> Markup {
    let item = |n: Nav, href: &str, label: &str| {
        html! {
            a href=(page.href(href)) class=[(n == nav).then_some("active")] { (label) }
        }
    };
    let body = html! {
        header {
            strong { "Clientele" }
            nav {
                (item(Nav::Users, "/users", "Customer users"))
                (item(Nav::Companies, "/companies", "Customers"))
                (item(Nav::Groups, "/groups", "Groups"))
                (item(Nav::Services, "/services", "Services"))
            }
            form.logout method="post" action=(page.href("/logout")) {
                (page.csrf_field())
                span.who { (page.actor.to_string()) }
                button type="submit" { "Sign out" }
            }
        }
        main {
            h1 { (title) }
            (content)
        }
    };
    document(&page.base, title, body)
}

/// A page with just a message, for refusals before a handler runs.
fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        main { h1 { (title) } p { (text) } }
    };
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " — Clientele" } }
            body { (body) }
        }
    };
    (status, doc).into_response()
}

/// A refusal a handler answers with: the problem's status and detail on a page of the screens.
pub(crate) struct Fail(Box<(Page, Problem)>);

impl Fail {
    pub(crate) fn new(page: Page, problem: Problem) -> Self {
        Fail(Box::new((page, problem)))
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (page, problem) = *self.0;
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
        let title = problem.title;
        let content = html! {
            p.error #problem { (problem.detail) }
            p { a href=(page.href("/users")) { "Back to the customer users" } }
        };
        (status, layout(&page, Nav::Users, title, content)).into_response()
    }
}

/// What the screens' handlers answer.
pub(crate) type Answer = Result<Response, Fail>;

/// Maps a Directory error to a [`Fail`] of `page`.
pub(crate) fn fail(page: &Page) -> impl Fn(clientele_directory::Error) -> Fail + '_ {
    move |e| Fail::new(page.clone(), Problem::from(e))
}

/// A percent-encoded path segment (a login or a group name may hold `/`, `?`, spaces, …).
pub(crate) fn seg(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `?saved=` after the redirect that follows a successful save on an edit page.
#[derive(serde::Deserialize)]
pub(crate) struct Notice {
    pub(crate) saved: Option<String>,
}
