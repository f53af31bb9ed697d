//! The admin screens in a real browser: Debian's headless Chromium driven through
//! `chromedriver` (WebDriver, with fantoccini). The router is served on a loopback port, the
//! driver listens on another. The scenario signs in with a token, adds a company and a user,
//! searches with a wildcard, grants `rw` in the group matrix and invalidates the user; it
//! checks what the pages show and what the Directory then holds, and writes screenshots to
//! `target/screenshots/`.
//!
//! Ignored by default like the server tests (`scripts/test.sh` runs it, after installing
//! `chromium` and `chromium-driver`); it fails, never skips, when either is missing.
//!
//! ```text
//! cargo test -p clientele-web --all-features --test browser -- --ignored
//! ```

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_backend::settings::{CompanySettings, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, InMemoryBackend};
use clientele_model::attribute::{AttributeMap, AttributeMapping, Selections};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Password, Validity};
use clientele_web::{BearerTokens, WebConfig, issue_token, router};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long any one wait for the browser may take.
const WAIT: Duration = Duration::from_secs(30);

/// The chromedriver process, ended (by its id) when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh Chromium profile directory, removed at the end.
struct Profile(PathBuf);

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path of an executable on `PATH` (or the one an environment variable names).
fn executable(env: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found on PATH (nor in ${env}): install it with \
         `apt-get install chromium chromium-driver` (scripts/test.sh does)",
        names.join(" or ")
    );
}

/// A loopback port free right now.
fn free_port() -> u16 {
    StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("a loopback port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Starts chromedriver, waits (with the deadline) for the line that says it listens, and opens
/// a session with headless Chromium.
async fn browser(profile: &Path) -> (Driver, Client) {
    let chromium = executable("CHROMIUM", &["chromium", "chromium-browser"]);
    let chromedriver = executable("CHROMEDRIVER", &["chromedriver"]);
    let port = free_port();
    let mut child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", chromedriver.display()));
    let stdout = child.stdout.take().expect("the driver's output");
    let driver = Driver(child);
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("started successfully") {
                let _ = ready.send(());
            }
        }
    });
    tokio::task::spawn_blocking(move || started.recv_timeout(WAIT))
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("{} did not start within {WAIT:?}", chromedriver.display()));
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--no-sandbox",
                "--headless=new",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session with {}: {e}", chromium.display()));
    (driver, client)
}

/// Waits (with the deadline) for an element.
async fn find(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within {WAIT:?}: {e}"))
}

/// Waits (with the deadline) until the element at `xpath` contains `needle`; its text.
async fn shows(c: &Client, xpath: &str, needle: &str) -> String {
    let query = format!("{xpath}[contains(., '{needle}')]");
    match c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&query))
        .await
    {
        Ok(e) => e.text().await.expect("its text"),
        Err(e) => {
            let source = c.source().await.unwrap_or_default();
            panic!("{xpath} never showed {needle:?} ({e}): {source}");
        }
    }
}

/// Types into an input.
async fn fill(c: &Client, css: &str, text: &str) {
    let e = find(c, css).await;
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(screenshots().join(name), png).expect("write the screenshot");
}

async fn directory() -> Arc<Directory> {
    let mut map = AttributeMap::otobo_customer_user();
    map.push(AttributeMapping::new("UserRoom", "Room", "room"));
    let map = AttributeMap::new(
        map.rows()
            .iter()
            .cloned()
            .map(|r| {
                if r.key == "UserTitle" {
                    r.selections(Selections::of_values(["Mr.", "Ms.", "Dr."]))
                } else {
                    r
                }
            })
            .collect(),
    );
    let store = Arc::new(InMemoryBackend::with_settings(
        SourceSettings {
            name: "memory".into(),
            map,
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        CompanySettings {
            name: "memory".into(),
            cache_ttl: 0,
            ..CompanySettings::default()
        },
    ));
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let dir = Arc::new(Directory::in_memory_with(store, config).expect("directory"));
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "seed")
        .await
        .unwrap();
    for (login, first, last) in [
        ("anna", "Anna", "Berg"),
        ("ben", "Ben", "Cole"),
        ("clara", "Clara", "Diaz"),
        ("david", "David", "Eng"),
        ("petra", "Petra", "Fox"),
    ] {
        dir.add_customer_user(
            NewCustomerUser::new(
                login,
                first,
                last,
                &format!("{login}@acme-corp.com"),
                "ACME",
            )
            .with("UserRoom", "A-1"),
            "seed",
        )
        .await
        .unwrap();
    }
    for group in ["billing", "support", "sales"] {
        dir.add_group(group, "seed").await.unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver: run scripts/test.sh"]
async fn an_agent_works_through_the_screens_in_chromium() {
    let dir = directory().await;
    let issued = issue_token("agent-ui").unwrap();
    let auth = BearerTokens::new(std::slice::from_ref(&issued.stored)).unwrap();
    let app = router(dir.clone(), WebConfig::new(auth));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(clientele_web::serve(listener, app, async {
        stopped.await.ok();
    }));

    let profile = Profile(std::env::temp_dir().join(format!(
        "clientele-chromium-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ u128::from(free_port())
    )));
    std::fs::create_dir_all(&profile.0).unwrap();
    let (_driver, c) = browser(&profile.0).await;

    // A page without a session goes to the login page.
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    find(&c, "#token").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    shot(&c, "login.png").await;
    fill(&c, "#token", &issued.token).await;
    find(&c, "#sign-in").await.click().await.unwrap();
    find(&c, "#users").await;
    shows(&c, "//span[@class='who']", "agent-ui").await;

    // Add a company.
    find(&c, "nav a[href$='/companies']")
        .await
        .click()
        .await
        .unwrap();
    find(&c, "#add-company").await.click().await.unwrap();
    fill(&c, "#f-CustomerID", "INITECH").await;
    fill(&c, "#f-CustomerCompanyName", "Initech").await;
    fill(&c, "#f-CustomerCompanyCity", "Austin").await;
    find(&c, "#save").await.click().await.unwrap();
    shows(&c, "//*[@id='saved']", "Saved.").await;
    let initech = dir.company("INITECH").await.unwrap().expect("the company");
    assert_eq!(initech.city.as_deref(), Some("Austin"));
    assert_eq!(initech.audit.created_by.as_deref(), Some("agent-ui"));

    // Add a user to it, with the custom room and a title from the selection.
    c.goto(&format!("{base}/admin/users/new")).await.unwrap();
    find(&c, "#f-UserTitle")
        .await
        .select_by_value("Dr.")
        .await
        .unwrap();
    fill(&c, "#f-UserFirstname", "Peter").await;
    fill(&c, "#f-UserLastname", "Gibbons").await;
    fill(&c, "#f-UserLogin", "peter").await;
    fill(&c, "#f-UserEmail", "peter@initech.example.com").await;
    fill(&c, "#f-UserCustomerID", "INITECH").await;
    fill(&c, "#f-UserRoom", "B-17").await;
    find(&c, "#save").await.click().await.unwrap();
    let password = find(&c, "#generated-password").await.text().await.unwrap();
    assert!(password.len() >= 8, "a generated password: {password:?}");
    shot(&c, "user-added.png").await;
    let peter = dir.customer_user("peter").await.unwrap().expect("the user");
    assert_eq!(peter.customer_id.as_str(), "INITECH");
    assert_eq!(peter.title.as_deref(), Some("Dr."));
    assert_eq!(
        peter.extra.get("UserRoom").map(|v| v.to_text()).as_deref(),
        Some("B-17")
    );
    dir.authenticate("peter", &Password::new(password.as_str()))
        .await
        .expect("the password shown is the one stored");

    // Search with a wildcard.
    find(&c, "nav a[href$='/users']")
        .await
        .click()
        .await
        .unwrap();
    fill(&c, "#term", "pet*").await;
    find(&c, "#search").await.click().await.unwrap();
    shows(&c, "//*[@id='summary']", "2 shown").await;
    let rows = shows(&c, "//table[@id='users']/tbody", "peter").await;
    assert!(rows.contains("petra") && !rows.contains("anna"), "{rows}");
    fill(&c, "#term", "*").await;
    find(&c, "#search").await.click().await.unwrap();
    shows(&c, "//*[@id='summary']", "6 shown").await;
    shot(&c, "user-list.png").await;

    // The edit form, then the group matrix: grant rw on billing.
    find(&c, "#users a[href$='/users/peter']")
        .await
        .click()
        .await
        .unwrap();
    find(&c, "#edit").await;
    let room = find(&c, "#f-UserRoom").await.prop("value").await.unwrap();
    assert_eq!(room.as_deref(), Some("B-17"));
    shot(&c, "user-edit.png").await;
    find(&c, "#groups-link").await.click().await.unwrap();
    find(&c, "input[title='billing: rw']")
        .await
        .click()
        .await
        .unwrap();
    find(&c, "input[title='support: ro']")
        .await
        .click()
        .await
        .unwrap();
    find(&c, "#save").await.click().await.unwrap();
    find(&c, "input[title='billing: rw'][checked]").await;
    shows(&c, "//form[@id='matrix']", "direct").await;
    shot(&c, "group-matrix.png").await;
    assert!(dir.has_permission("peter", "billing", "rw").await.unwrap());
    assert!(dir.has_permission("peter", "support", "ro").await.unwrap());
    assert!(!dir.has_permission("peter", "sales", "ro").await.unwrap());

    // Invalidate the user.
    find(&c, "#edit-link").await.click().await.unwrap();
    find(&c, "#invalidate").await.click().await.unwrap();
    shows(&c, "//*[@id='validity']", "invalid").await;
    let peter = dir.customer_user("peter").await.unwrap().unwrap();
    assert_eq!(peter.validity, Validity::Invalid);
    assert_eq!(peter.audit.changed_by.as_deref(), Some("agent-ui"));
    assert!(
        dir.authenticate("peter", &Password::new(password.as_str()))
            .await
            .is_err(),
        "an invalid user cannot log in"
    );

    // Sign out: the screens want a new login.
    find(&c, "form.logout button").await.click().await.unwrap();
    find(&c, "#token").await;
    c.goto(&format!("{base}/admin/users")).await.unwrap();
    find(&c, "#token").await;

    c.close().await.unwrap();
    stop.send(()).ok();
    server.await.unwrap().unwrap();
}
