//! The admin screens through the router (tower `oneshot`, an in-memory Directory): every
//! screen renders, a page without a session is sent to the login page, a form without the
//! session's CSRF token is refused, form errors name the field, and no page or log line shows
//! a password, a hash or a token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Request, StatusCode, header};
use clientele_backend::settings::{CompanySettings, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend, Source};
use clientele_model::attribute::{AttributeMap, AttributeMapping, Selections};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Password, Validity};
use clientele_web::{
    Authenticator, BearerTokens, Principal, StoredToken, WebConfig, issue_token, router,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SEEDED_PASSWORD: &str = "Seeded-Secret-42!";
const LDAP_PASSWORD: &str = "Ldap-Secret-99!";

/// Every page (GET) of the screens, for `anna` (memory source), `lee` (read-only source),
/// ACME, billing and Printing.
const PAGES: &[&str] = &[
    "/admin/users",
    "/admin/users?term=an*&limit=5",
    "/admin/users/new",
    "/admin/users/anna",
    "/admin/users/lee",
    "/admin/users/anna/groups",
    "/admin/users/anna/companies",
    "/admin/users/anna/services",
    "/admin/companies",
    "/admin/companies?term=AC*",
    "/admin/companies/new",
    "/admin/companies/ACME",
    "/admin/companies/ACME/groups",
    "/admin/groups",
    "/admin/groups/billing",
    "/admin/services",
    "/admin/services/Printing",
];

/// Every form target (POST) of the screens.
const FORMS: &[&str] = &[
    "/admin/logout",
    "/admin/users",
    "/admin/users/anna",
    "/admin/users/anna/invalidate",
    "/admin/users/anna/password",
    "/admin/users/anna/groups",
    "/admin/users/anna/companies",
    "/admin/users/anna/services",
    "/admin/companies",
    "/admin/companies/ACME",
    "/admin/companies/ACME/invalidate",
    "/admin/companies/ACME/groups",
    "/admin/groups/billing",
    "/admin/services",
];

struct Fixture {
    dir: Arc<Directory>,
    token: String,
    stored: StoredToken,
}

/// The customer-user map with a custom `UserRoom` row and a selection for the title.
fn user_map() -> AttributeMap {
    let mut map = AttributeMap::otobo_customer_user();
    map.push(AttributeMapping::new("UserRoom", "Room", "room"));
    let rows: Vec<AttributeMapping> = map
        .rows()
        .iter()
        .cloned()
        .map(|r| {
            if r.key == "UserTitle" {
                r.selections(Selections::of_values(["Mr.", "Ms.", "Dr."]))
            } else {
                r
            }
        })
        .collect();
    AttributeMap::new(rows)
}

async fn fixture() -> Fixture {
    let memory = Arc::new(InMemoryBackend::with_settings(
        SourceSettings {
            name: "memory".into(),
            map: user_map(),
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        CompanySettings {
            name: "memory".into(),
            cache_ttl: 0,
            ..CompanySettings::default()
        },
    ));
    // A second source that only reads, like LDAP: its user is seeded through a Directory of
    // its own.
    let ldap = Arc::new(InMemoryBackend::with_settings(
        SourceSettings {
            name: "ldap".into(),
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        CompanySettings::default(),
    ));
    let seeder = Directory::builder()
        .source(Source::writable(ldap.clone()))
        .build()
        .unwrap();
    seeder
        .add_customer_user(
            NewCustomerUser::new("lee", "Lee", "Ng", "lee@ldap.example.com", "ACME")
                .password(LDAP_PASSWORD),
            "seed",
        )
        .await
        .unwrap();
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    config.require_company = false;
    let dir = Arc::new(
        Directory::builder()
            .source(Source::writable(memory.clone()))
            .read_only_source(ldap)
            .company_store(memory.clone())
            .relation_store(memory.clone())
            .preference_store(memory.clone())
            .config(config)
            .build()
            .unwrap(),
    );
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "seed")
        .await
        .unwrap();
    dir.add_company(NewCustomerCompany::new("GLOBEX", "Globex"), "seed")
        .await
        .unwrap();
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "Berg", "anna@acme-corp.com", "ACME")
            .with("UserRoom", "B-204")
            .password(SEEDED_PASSWORD),
        "seed",
    )
    .await
    .unwrap();
    dir.add_group("billing", "seed").await.unwrap();
    dir.add_service("Printing", "seed").await.unwrap();
    let issued = issue_token("ui-admin").unwrap();
    Fixture {
        dir,
        token: issued.token.as_str().to_owned(),
        stored: issued.stored,
    }
}

impl Fixture {
    fn tokens(&self) -> BearerTokens {
        BearerTokens::new(std::slice::from_ref(&self.stored)).unwrap()
    }
}

fn app(f: &Fixture, limit: usize) -> Router {
    router(f.dir.clone(), WebConfig::new(f.tokens()).body_limit(limit))
}

struct Reply {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    csp: String,
    frame: String,
    body: String,
}

impl Reply {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF field: {}", self.body));
        let rest = &self.body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// The `name=value` of the session cookie set.
    fn session(&self) -> String {
        let c = self
            .cookies
            .iter()
            .find(|c| c.starts_with("clientele_session="))
            .unwrap_or_else(|| panic!("no session cookie: {:?}", self.cookies));
        c.split(';').next().unwrap().to_owned()
    }
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let req = match form {
        Some(pairs) => {
            let body = form_body(pairs);
            req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
        }
        None => req.body(Body::empty()),
    }
    .unwrap();
    raw(app, req).await
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn raw(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let h = |name: header::HeaderName| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let location = h(header::LOCATION);
    let csp = h(header::CONTENT_SECURITY_POLICY);
    let frame = h(header::X_FRAME_OPTIONS);
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        location,
        cookies,
        csp,
        frame,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Signs in with `token`; the session cookie.
async fn login(app: &Router, token: &str) -> String {
    let form = send(app, "GET", "/admin/login", None, None).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let anon = form.session();
    let r = send(
        app,
        "POST",
        "/admin/login",
        Some(&anon),
        Some(&[("csrf", &form.csrf()), ("token", token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/admin/users");
    let session = r.session();
    assert_ne!(session, anon, "a new session id after login");
    session
}

/// A page's CSRF token for the session.
async fn csrf(app: &Router, cookie: &str) -> String {
    send(app, "GET", "/admin/users", Some(cookie), None)
        .await
        .csrf()
}

#[tokio::test]
async fn every_screen_renders_with_its_headers() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    for page in PAGES {
        let r = send(&app, "GET", page, Some(&c), None).await;
        assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.body);
        assert!(r.body.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(r.csp.contains("default-src 'self'"), "{page}: {}", r.csp);
        assert!(r.csp.contains("frame-ancestors 'none'"), "{page}");
        assert_eq!(r.frame, "DENY", "{page}");
        assert!(!r.body.contains("<script"), "{page} has a script");
        assert!(!r.body.contains("style="), "{page} has an inline style");
        assert!(r.body.contains("ui-admin"), "{page} names who is signed in");
    }
    let home = send(&app, "GET", "/admin", Some(&c), None).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location, "/admin/users");
    let css = send(&app, "GET", "/admin/style.css", None, None).await;
    assert_eq!(css.status, StatusCode::OK);
}

#[tokio::test]
async fn the_user_list_shows_the_limit_and_more_matched() {
    let f = fixture().await;
    for i in 0..4 {
        f.dir
            .add_customer_user(
                NewCustomerUser::new(
                    &format!("ann{i}"),
                    "Ann",
                    "Tal",
                    &format!("ann{i}@acme-corp.com"),
                    "ACME",
                ),
                "seed",
            )
            .await
            .unwrap();
    }
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let r = send(
        &app,
        "GET",
        "/admin/users?term=ann*&limit=3",
        Some(&c),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("3 shown"), "{}", r.body);
    assert!(r.body.contains(r#"id="more""#), "{}", r.body);
    let r = send(&app, "GET", "/admin/users?term=ann*", Some(&c), None).await;
    assert!(r.body.contains("5 shown"), "{}", r.body);
    assert!(!r.body.contains(r#"id="more""#), "{}", r.body);
    // Both sources are searched: lee comes from the read-only one.
    let r = send(&app, "GET", "/admin/users?term=*", Some(&c), None).await;
    assert!(
        r.body.contains(">lee<") && r.body.contains(">ldap<"),
        "{}",
        r.body
    );
    let r = send(&app, "GET", "/admin/users?limit=zero", Some(&c), None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("limit:"), "{}", r.body);
}

#[tokio::test]
async fn forms_are_built_from_the_attribute_map() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let new = send(&app, "GET", "/admin/users/new", Some(&c), None).await;
    assert!(new.body.contains(r#"name="UserRoom""#), "the custom row");
    assert!(
        new.body.contains(r#"<label for="f-UserRoom">Room</label>"#),
        "{}",
        new.body
    );
    assert!(
        new.body
            .contains(r#"<select id="f-UserTitle" name="UserTitle""#),
        "{}",
        new.body
    );
    assert!(new.body.contains(r#"<option value="Dr.">"#), "{}", new.body);
    assert!(
        new.body.contains(r#"Lastname<span class="required""#),
        "{}",
        new.body
    );
    let edit = send(&app, "GET", "/admin/users/anna", Some(&c), None).await;
    assert!(edit.body.contains(r#"value="B-204""#), "{}", edit.body);
    assert!(edit.body.contains(r#"id="edit""#));
    // The read-only source's user: shown, no form to edit it.
    let lee = send(&app, "GET", "/admin/users/lee", Some(&c), None).await;
    assert_eq!(lee.status, StatusCode::OK);
    assert!(lee.body.contains("read-only"), "{}", lee.body);
    assert!(!lee.body.contains(r#"id="edit""#), "{}", lee.body);
    assert!(lee.body.contains("lee@ldap.example.com"));
}

#[tokio::test]
async fn a_page_without_a_session_is_sent_to_the_login_page() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    for page in PAGES.iter().chain(std::iter::once(&"/admin")) {
        let r = send(&app, "GET", page, None, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(r.location, "/admin/login", "{page}");
        // A bearer token is for the API: the screens want their session.
        let req = Request::get(*page)
            .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
            .body(Body::empty())
            .unwrap();
        assert_eq!(raw(&app, req).await.status, StatusCode::SEE_OTHER, "{page}");
        let forged = send(&app, "GET", page, Some("clientele_session=00ff"), None).await;
        assert_eq!(forged.status, StatusCode::SEE_OTHER, "{page}");
    }
    for form in FORMS {
        let r = send(&app, "POST", form, None, Some(&[("csrf", "x")])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{form}");
        assert_eq!(r.location, "/admin/login", "{form}");
    }
    // The anonymous session of the login form is no session of the screens.
    let form = send(&app, "GET", "/admin/login", None, None).await;
    let r = send(&app, "GET", "/admin/users", Some(&form.session()), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let other = login(&app, &f.token).await;
    let foreign = csrf(&app, &other).await;
    for form in FORMS {
        let r = send(&app, "POST", form, Some(&c), Some(&[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form}: no token");
        let r = send(&app, "POST", form, Some(&c), Some(&[("csrf", "0123")])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form}: a wrong token");
        let r = send(&app, "POST", form, Some(&c), Some(&[("csrf", &foreign)])).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{form}: another session's token"
        );
    }
    // Nothing happened.
    let anna = f.dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.validity, Validity::Valid);
    let r = send(&app, "GET", "/admin/users", Some(&c), None).await;
    assert_eq!(r.status, StatusCode::OK, "the session still works");
    // The login form has its own token.
    let r = send(
        &app,
        "POST",
        "/admin/login",
        None,
        Some(&[("token", &f.token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookies.is_empty());
}

#[tokio::test]
async fn login_cookie_and_logout() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let form = send(&app, "GET", "/admin/login", None, None).await;
    let r = send(
        &app,
        "POST",
        "/admin/login",
        Some(&form.session()),
        Some(&[("csrf", &form.csrf()), ("token", "clientele_wrong")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("token: not accepted"), "{}", r.body);
    assert!(
        !r.body.contains("clientele_wrong"),
        "the token is not echoed"
    );

    let form = send(&app, "GET", "/admin/login", None, None).await;
    let r = send(
        &app,
        "POST",
        "/admin/login",
        Some(&form.session()),
        Some(&[("csrf", &form.csrf()), ("token", &f.token)]),
    )
    .await;
    let cookie = r.cookies.join("\n");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=28800",
    ] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not Secure unless configured");
    let id = r.session();
    assert!(
        id.len() >= "clientele_session=".len() + 32,
        "128 bits: {id}"
    );
    // The anonymous session ended with the login.
    let replay = send(
        &app,
        "POST",
        "/admin/login",
        Some(&form.session()),
        Some(&[("csrf", &form.csrf()), ("token", &f.token)]),
    )
    .await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN);

    let token = csrf(&app, &id).await;
    let out = send(
        &app,
        "POST",
        "/admin/logout",
        Some(&id),
        Some(&[("csrf", &token)]),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location, "/admin/login");
    assert!(out.cookies.join("").contains("Max-Age=0"));
    let after = send(&app, "GET", "/admin/users", Some(&id), None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session ended");

    // Secure cookies when configured.
    let secure = router(
        f.dir.clone(),
        WebConfig::new(f.tokens()).secure_cookies(true),
    );
    let form = send(&secure, "GET", "/admin/login", None, None).await;
    assert!(form.cookies.join("").contains("; Secure"));
}

#[tokio::test]
async fn an_oversized_form_is_refused() {
    let f = fixture().await;
    let app = app(&f, 1024);
    let c = login(&app, &f.token).await;
    let token = csrf(&app, &c).await;
    let big = "x".repeat(4096);
    let r = send(
        &app,
        "POST",
        "/admin/users/anna",
        Some(&c),
        Some(&[("csrf", &token), ("UserComment", &big)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = send(&app, "POST", "/admin/login", None, Some(&[("token", &big)])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn adding_a_user_shows_the_generated_password_once() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let token = csrf(&app, &c).await;
    let r = send(
        &app,
        "POST",
        "/admin/users",
        Some(&c),
        Some(&[
            ("csrf", &token),
            ("source", "memory"),
            ("UserLogin", "carl"),
            ("UserFirstname", "Carl"),
            ("UserLastname", "Dorn"),
            ("UserEmail", "carl@acme-corp.com"),
            ("UserCustomerID", "ACME"),
            ("UserTitle", "Dr."),
            ("UserRoom", "C-1"),
            ("password", ""),
            ("validity", "valid"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let at = r.body.find(r#"<output id="generated-password">"#).unwrap();
    let rest = &r.body[at + r#"<output id="generated-password">"#.len()..];
    let password = &rest[..rest.find('<').unwrap()];
    assert!(password.len() >= 8, "{password}");
    let carl = f.dir.customer_user("carl").await.unwrap().unwrap();
    assert_eq!(
        carl.extra.get("UserRoom").map(|v| v.to_text()).as_deref(),
        Some("C-1")
    );
    assert_eq!(carl.title.as_deref(), Some("Dr."));
    f.dir
        .authenticate("carl", &Password::new(password))
        .await
        .expect("the shown password is the stored one");
    // Shown once: the user's page does not show it.
    let page = send(&app, "GET", "/admin/users/carl", Some(&c), None).await;
    assert!(!page.body.contains(password));

    // A password reset shows the new one once, and it works.
    let r = send(
        &app,
        "POST",
        "/admin/users/carl/password",
        Some(&c),
        Some(&[("csrf", &token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let at = r.body.find(r#"<output id="generated-password">"#).unwrap();
    let rest = &r.body[at + r#"<output id="generated-password">"#.len()..];
    let new = &rest[..rest.find('<').unwrap()];
    assert_ne!(new, password);
    f.dir
        .authenticate("carl", &Password::new(new))
        .await
        .unwrap();
}

/// Posts the add form with one field changed from a valid user.
async fn add_with(app: &Router, c: &str, token: &str, key: &str, value: &str) -> Reply {
    let mut fields = vec![
        ("csrf", token),
        ("UserLogin", "dora"),
        ("UserFirstname", "Dora"),
        ("UserLastname", "Eck"),
        ("UserEmail", "dora@acme-corp.com"),
        ("UserCustomerID", "ACME"),
    ];
    fields.retain(|(k, _)| *k != key);
    fields.push((key, value));
    send(app, "POST", "/admin/users", Some(c), Some(&fields)).await
}

#[tokio::test]
async fn form_errors_name_the_field_next_to_it() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let token = csrf(&app, &c).await;

    let r = add_with(&app, &c, &token, "UserEmail", "not-an-address").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-UserEmail-error""#), "{}", r.body);
    assert!(r.body.contains("UserEmail"), "{}", r.body);
    assert!(
        r.body.contains(r#"value="Dora""#),
        "the form keeps what was typed"
    );

    let r = add_with(&app, &c, &token, "UserLastname", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains(r#"id="f-UserLastname-error""#),
        "{}",
        r.body
    );

    let r = add_with(&app, &c, &token, "UserLogin", "anna").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-UserLogin-error""#), "{}", r.body);

    let r = add_with(&app, &c, &token, "UserTitle", "King").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-UserTitle-error""#), "{}", r.body);

    let r = add_with(&app, &c, &token, "validity", "gone").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-validity-error""#), "{}", r.body);
    assert!(f.dir.customer_user("dora").await.unwrap().is_none());

    // Editing.
    let r = send(
        &app,
        "POST",
        "/admin/users/anna",
        Some(&c),
        Some(&[("csrf", &token), ("UserEmail", "nope")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-UserEmail-error""#), "{}", r.body);
    assert!(r.body.contains(r#"value="nope""#));

    // Companies.
    let r = send(
        &app,
        "POST",
        "/admin/companies",
        Some(&c),
        Some(&[
            ("csrf", &token),
            ("CustomerID", "NEW"),
            ("CustomerCompanyName", ""),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains(r#"id="f-CustomerCompanyName-error""#),
        "{}",
        r.body
    );

    // Relating to a company that does not exist.
    let r = send(
        &app,
        "POST",
        "/admin/users/anna/companies",
        Some(&c),
        Some(&[("csrf", &token), ("customer_id", "NOPE")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"id="f-customer_id-error""#), "{}", r.body);
    assert!(r.body.contains("customer_id:"), "{}", r.body);
}

#[tokio::test]
async fn edit_invalidate_relate_grant_and_assign() {
    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let c = login(&app, &f.token).await;
    let token = csrf(&app, &c).await;
    let post = |uri: &'static str, fields: Vec<(&'static str, String)>| {
        let app = app.clone();
        let c = c.clone();
        let token = token.clone();
        async move {
            let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
            all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            send(&app, "POST", uri, Some(&c), Some(&all)).await
        }
    };

    let r = post("/admin/users/anna", vec![("UserRoom", "B-205".into())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/admin/users/anna?saved=1");
    let anna = f.dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.extra.get("UserRoom").unwrap().to_text(), "B-205");
    assert_eq!(
        anna.audit.changed_by.as_deref().unwrap_or(""),
        "ui-admin",
        "written as the session's actor"
    );

    let r = post(
        "/admin/users/anna/companies",
        vec![("customer_id", "GLOBEX".into())],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ids = f.dir.customer_ids("anna").await.unwrap();
    assert!(ids.iter().any(|i| i.as_str() == "GLOBEX"));
    let page = send(&app, "GET", "/admin/users/anna/companies", Some(&c), None).await;
    assert!(page.body.contains("GLOBEX") && page.body.contains("related"));
    post(
        "/admin/users/anna/companies",
        vec![("remove", "GLOBEX".into())],
    )
    .await;
    let ids = f.dir.customer_ids("anna").await.unwrap();
    assert!(!ids.iter().any(|i| i.as_str() == "GLOBEX"));

    let types = &f.dir.config().permissions.permission_types;
    let rw = types.index_of("rw").unwrap();
    let ro = types.index_of("ro").unwrap();
    let r = post(
        "/admin/users/anna/groups",
        vec![
            ("group", "billing".into()),
            ("perm", format!("{rw}|billing")),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(f.dir.has_permission("anna", "billing", "rw").await.unwrap());
    let page = send(&app, "GET", "/admin/users/anna/groups", Some(&c), None).await;
    assert!(
        page.body.contains(&format!(
            r#"value="{rw}|billing" title="billing: rw" checked"#
        )),
        "{}",
        page.body
    );
    // Unchecking revokes.
    post(
        "/admin/users/anna/groups",
        vec![("group", "billing".into())],
    )
    .await;
    assert!(!f.dir.has_permission("anna", "billing", "rw").await.unwrap());

    // The group's side: grant ro to anna.
    let r = post(
        "/admin/groups/billing",
        vec![("new_login", "anna".into()), ("new_perm", ro.to_string())],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(f.dir.has_permission("anna", "billing", "ro").await.unwrap());
    let r = post("/admin/groups/billing", vec![("new_login", "anna".into())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("new_perm:"), "{}", r.body);

    // A company grant in the same-customer context.
    let r = post(
        "/admin/companies/GLOBEX/groups",
        vec![
            ("group", "billing".into()),
            ("perm", format!("0|{rw}|billing")),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let m = f.dir.group_members("billing").await.unwrap();
    assert_eq!(m.companies.len(), 1);
    assert_eq!(m.companies[0].customer_id, "GLOBEX");
    assert_eq!(m.companies[0].context, "Ticket::CustomerID::Same");
    assert_eq!(m.companies[0].permissions, ["rw"]);
    let page = send(&app, "GET", "/admin/groups/billing", Some(&c), None).await;
    assert!(page.body.contains("GLOBEX") && page.body.contains("Ticket::CustomerID::Same"));

    // Services and default services.
    let r = post(
        "/admin/users/anna/services",
        vec![
            ("listed", "Printing".into()),
            ("service", "Printing".into()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let own = f.dir.own_services("anna").await.unwrap();
    assert_eq!(own.len(), 1);
    let r = post(
        "/admin/services",
        vec![
            ("service", "Printing".into()),
            ("default", "Printing".into()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(f.dir.default_services().await.unwrap().len(), 1);
    let page = send(&app, "GET", "/admin/services/Printing", Some(&c), None).await;
    assert!(page.body.contains("anna") && page.body.contains("A default service"));

    // Companies: edit and invalidate.
    let r = post(
        "/admin/companies/GLOBEX",
        vec![("CustomerCompanyCity", "Springfield".into())],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let globex = f.dir.company("GLOBEX").await.unwrap().unwrap();
    assert_eq!(globex.city.as_deref(), Some("Springfield"));
    post("/admin/companies/GLOBEX/invalidate", vec![]).await;
    let globex = f.dir.company("GLOBEX").await.unwrap().unwrap();
    assert_eq!(globex.validity, Validity::Invalid);

    // Invalidating a user.
    let r = post("/admin/users/anna/invalidate", vec![]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let anna = f.dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.validity, Validity::Invalid);
    let page = send(&app, "GET", "/admin/users/anna", Some(&c), None).await;
    assert!(
        page.body
            .contains(r#"<strong id="validity">invalid</strong>"#)
    );

    // Unknown records answer 404 on a page.
    let r = send(&app, "GET", "/admin/users/nobody", Some(&c), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&app, "GET", "/admin/companies/NOPE", Some(&c), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The host's own agent session: the name its proxy puts in `X-Agent`.
struct HostSession;

#[async_trait]
impl Authenticator for HostSession {
    async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
        let name = parts.headers.get("x-agent")?.to_str().ok()?;
        (!name.is_empty()).then(|| Principal::new(name))
    }
}

#[tokio::test]
async fn a_host_session_can_stand_in_for_the_login() {
    let f = fixture().await;
    let config = WebConfig::new(f.tokens()).screens_behind(HostSession, "/agent/login");
    let app = Router::new().nest("/customers", router(f.dir.clone(), config));

    let r = send(&app, "GET", "/customers/admin/users", None, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/agent/login");
    let host = |uri: &str, cookie: Option<&str>, form: Option<String>| {
        let mut req = Request::builder()
            .method(if form.is_some() { "POST" } else { "GET" })
            .uri(uri)
            .header("x-agent", "agent-7");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.unwrap_or_default()))
            .unwrap()
    };
    let page = raw(&app, host("/customers/admin/users", None, None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("agent-7"));
    assert!(
        page.body.contains(r#"action="/customers/admin/users/new""#)
            || page.body.contains(r#"href="/customers/admin/users/new""#)
    );
    let cookie = page.session();
    assert!(
        page.cookies[0].contains("Path=/customers/admin"),
        "{:?}",
        page.cookies
    );
    let token = page.csrf();
    // A form needs the token bound to the cookie.
    let r = raw(
        &app,
        host(
            "/customers/admin/users/anna/invalidate",
            Some(&cookie),
            Some(String::new()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = raw(
        &app,
        host(
            "/customers/admin/users/anna/invalidate",
            Some(&cookie),
            Some(form_body(&[("csrf", &token)])),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/customers/admin/users/anna?saved=1");
    let anna = f.dir.customer_user("anna").await.unwrap().unwrap();
    assert_eq!(anna.validity, Validity::Invalid);
    assert_eq!(anna.audit.changed_by.as_deref().unwrap_or(""), "agent-7");
    // The token login page is not served then.
    let r = send(&app, "GET", "/customers/admin/login", None, None).await;
    assert_ne!(r.status, StatusCode::OK);
}

/// A `Write` into a shared buffer, for the log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_page_or_log_line_shows_a_password_a_hash_or_a_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let f = fixture().await;
    let app = app(&f, 64 * 1024);
    let mut bodies = Vec::new();
    let c = login(&app, &f.token).await;
    let token = csrf(&app, &c).await;
    for page in PAGES {
        bodies.push(send(&app, "GET", page, Some(&c), None).await.body);
    }
    // Forms carrying a password where none belongs, and an add with a given one.
    for form in FORMS.iter().filter(|f| **f != "/admin/logout") {
        let r = send(
            &app,
            "POST",
            form,
            Some(&c),
            Some(&[
                ("csrf", &token),
                ("password", SEEDED_PASSWORD),
                ("UserEmail", "bad"),
            ]),
        )
        .await;
        bodies.push(r.body);
    }
    let r = add_with(&app, &c, &token, "password", "Given-Secret-77!").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    bodies.push(r.body);
    let r = add_with(&app, &c, &token, "UserEmail", "bad").await;
    bodies.push(r.body);
    let form = send(&app, "GET", "/admin/login", None, None).await;
    let wrong = format!("{}x", f.token);
    bodies.push(
        send(
            &app,
            "POST",
            "/admin/login",
            Some(&form.session()),
            Some(&[("csrf", &form.csrf()), ("token", &wrong)]),
        )
        .await
        .body,
    );

    let mut hashes = Vec::new();
    for (source, login) in [("memory", "anna"), ("memory", "dora")] {
        let hash = f.dir.stored_password_hash(source, login).await.unwrap();
        hashes.push(hash.expect("a stored hash"));
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    let session_id = c.trim_start_matches("clientele_session=");
    let secrets = [
        SEEDED_PASSWORD,
        LDAP_PASSWORD,
        "Given-Secret-77!",
        f.token.as_str(),
        wrong.as_str(),
    ];
    for text in bodies.iter().chain(std::iter::once(&logs)) {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret shows in: {text}");
        }
        for hash in &hashes {
            assert!(!text.contains(hash.as_str()), "a hash shows in: {text}");
        }
        for marker in ["$argon2", "$2a$", "$2b$", "$2y$", "UserPassword"] {
            assert!(!text.contains(marker), "{marker} shows in: {text}");
        }
    }
    assert!(!logs.contains(session_id), "a session id shows in the log");
    assert!(!logs.contains(&token), "a CSRF token shows in the log");
}
