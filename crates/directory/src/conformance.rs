//! The conformance suite: one public async function per behaviour every customer-user backend
//! must show, run through a [`Directory`] over the backend under test.
//!
//! A backend crate runs the whole suite with [`conformance_suite!`](crate::conformance_suite)
//! and a [`Harness`] that builds a fresh, empty Directory per test (a new database, a new
//! store) with default settings (OTOBO's: case-insensitive, prefix and suffix `*`, email
//! uniqueness on, company required) and removes it afterwards:
//!
//! ```ignore
//! struct Memory(Directory);
//! #[async_trait::async_trait]
//! impl clientele_directory::conformance::Harness for Memory {
//!     async fn setup() -> Self { Memory(Directory::in_memory(Arc::new(InMemoryBackend::new()))) }
//!     fn directory(&self) -> &Directory { &self.0 }
//!     async fn teardown(self) {}
//! }
//! clientele_directory::conformance_suite!(Memory);
//! // server-backed: clientele_directory::conformance_suite!(Postgres, #[ignore = "needs PostgreSQL"]);
//! ```
//!
//! Every function panics with a message naming the behaviour when the backend misbehaves.
//! The calling crate needs `tokio` (macros, rt-multi-thread) and `async-trait` as dev-dependencies.

use async_trait::async_trait;
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Direction, FieldCondition, Pattern, SelectionCondition,
};
use clientele_model::{
    CustomerCompanyChanges, CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password,
    ValidationError, Validity, keys,
};

use crate::{Directory, PROTECTED_PREFERENCE_KEYS};
use clientele_backend::Error;

/// Sets up and tears down one Directory over the backend under test.
#[async_trait]
pub trait Harness: Sized + Send + Sync {
    /// A fresh, empty Directory (default settings) over a new store.
    async fn setup() -> Self;
    /// The Directory under test.
    fn directory(&self) -> &Directory;
    /// Removes the store (drops the database, deletes the file).
    async fn teardown(self);
}

/// The email domain the suite uses (OTOBO's default deny pattern refuses `example.*`).
pub const DOMAIN: &str = "acme-corp.test";

fn mail(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// Adds companies `ACME` and `GLOBEX` (and `INITECH`).
pub async fn seed_companies(dir: &Directory) {
    for (id, name) in [
        ("ACME", "Acme Corporation"),
        ("GLOBEX", "Globex"),
        ("INITECH", "Initech"),
    ] {
        dir.add_company(NewCustomerCompany::new(id, name), "conformance")
            .await
            .expect("seed company");
    }
}

async fn add(dir: &Directory, login: &str, first: &str, last: &str, company: &str) {
    dir.add_customer_user(
        NewCustomerUser::new(login, first, last, &mail(&email_local(login)), company),
        "conformance",
    )
    .await
    .unwrap_or_else(|e| panic!("adding {login:?} failed: {e}"));
}

/// A distinct, valid email local part for any login: ASCII letters and digits kept, every other
/// character written as `-u<code point>`.
fn email_local(login: &str) -> String {
    let mut out = String::from("u");
    for c in login.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push_str(&format!("-u{:x}", c as u32));
        }
    }
    out
}

/// The logins a search finds, sorted.
///
/// Every search also runs as a list search first (so the list comes from the source, not from
/// the cached full search), which must find the same users in the same order, with the same
/// sources and display strings.
async fn logins(dir: &Directory, search: CustomerUserSearch) -> Vec<String> {
    let listed = dir
        .search_list(&search)
        .await
        .unwrap_or_else(|e| panic!("list search {search:?} failed: {e}"));
    let hits = dir
        .search(&search)
        .await
        .unwrap_or_else(|e| panic!("search {search:?} failed: {e}"));
    let as_listed: Vec<(String, String, String)> = hits
        .iter()
        .map(|h| {
            (
                h.user.login.to_string(),
                h.source.clone(),
                h.display.clone(),
            )
        })
        .collect();
    let listed: Vec<(String, String, String)> = listed
        .into_iter()
        .map(|h| (h.login.into_string(), h.source, h.display))
        .collect();
    assert_eq!(
        listed, as_listed,
        "search_list and search disagree on {search:?}"
    );
    let mut v: Vec<String> = hits
        .into_iter()
        .map(|h| h.user.login.into_string())
        .collect();
    v.sort();
    v
}

/// Asserts that a plain search for `term` finds exactly `expected` (sorted logins).
async fn expect_logins(dir: &Directory, term: &str, expected: &[&str]) {
    assert_eq!(
        logins(dir, CustomerUserSearch::term(term)).await,
        expected,
        "search {term:?}"
    );
}

fn assert_field<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::Invalid(e)) => assert_eq!(e.field(), field, "error names the wrong field: {e}"),
        other => panic!("expected a validation error naming {field}, got {other:?}"),
    }
}

fn assert_exists<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::AlreadyExists { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected AlreadyExists on {field}, got {other:?}"),
    }
}

/// Every standard attribute survives an add and a get unchanged.
pub async fn add_get_round_trip(dir: &Directory) {
    seed_companies(dir).await;
    let new = NewCustomerUser::new("jdoe", "John", "Doe", &mail("john.doe"), "ACME")
        .with(keys::TITLE, "Dr.")
        .with(keys::PHONE, "+49 30 1234-5")
        .with(keys::FAX, "+49 30 1234-6")
        .with(keys::MOBILE, "+49 170 999")
        .with(keys::STREET, "Hauptstraße 1")
        .with(keys::ZIP, "10115")
        .with(keys::CITY, "Berlin")
        .with(keys::COUNTRY, "Germany")
        .with(keys::COMMENT, "first line\nsecond line")
        .password("Secret-1");
    let added = dir
        .add_customer_user(new, "conformance")
        .await
        .expect("add");
    assert_eq!(added.login, "jdoe");
    assert!(
        added.generated_password.is_none(),
        "a given password must not be replaced"
    );
    let u = dir
        .customer_user("jdoe")
        .await
        .expect("get")
        .expect("user present");
    assert_eq!(u.first_name, "John");
    assert_eq!(u.last_name, "Doe");
    assert_eq!(u.email.as_str(), mail("john.doe"));
    assert_eq!(u.customer_id.as_str(), "ACME");
    assert_eq!(u.title.as_deref(), Some("Dr."));
    assert_eq!(u.phone.as_deref(), Some("+49 30 1234-5"));
    assert_eq!(u.fax.as_deref(), Some("+49 30 1234-6"));
    assert_eq!(u.mobile.as_deref(), Some("+49 170 999"));
    assert_eq!(u.street.as_deref(), Some("Hauptstraße 1"));
    assert_eq!(u.zip.as_deref(), Some("10115"));
    assert_eq!(u.city.as_deref(), Some("Berlin"));
    assert_eq!(u.country.as_deref(), Some("Germany"));
    assert_eq!(u.comment.as_deref(), Some("first line\nsecond line"));
    assert_eq!(u.validity, Validity::Valid);
    assert!(
        u.audit.created_at.is_some()
            || u.audit.changed_at.is_some()
            || u.audit == Default::default()
    );
}

/// Logins with non-Latin scripts, `&`, `_`, `%`, quotes and backslashes are stored exactly.
pub async fn unusual_logins_round_trip(dir: &Directory) {
    seed_companies(dir).await;
    for login in [
        "jürgen.müller",
        "カスタマー",
        "فاطمة",
        "a&b_c",
        "100%_sure",
        "o'brien",
        "back\\slash",
    ] {
        add(dir, login, "Uni", "Code", "ACME").await;
        let u = dir
            .customer_user(login)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{login:?} not found"));
        assert_eq!(u.login.as_str(), login);
    }
    assert!(
        dir.customer_user("a&b%c").await.expect("get").is_none(),
        "`%` in a lookup must be literal"
    );
    assert!(dir.customer_user("a&b_").await.expect("get").is_none());
}

/// Look-up by login ignores case by default (OTOBO `CaseSensitive = 0`).
pub async fn lookup_is_case_insensitive(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "JDoe", "John", "Doe", "ACME").await;
    for variant in ["jdoe", "JDOE", "JDoe", "jDoE"] {
        let u = dir
            .customer_user(variant)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{variant} not found"));
        assert_eq!(u.login.as_str(), "JDoe", "the stored spelling is returned");
    }
    assert!(dir.customer_user("jdoe ").await.expect("get").is_none());
    assert!(dir.customer_user("").await.expect("get").is_none());
}

/// A blank password is replaced by a generated one (16 characters), returned once, that works.
pub async fn generated_password_on_blank(dir: &Directory) {
    seed_companies(dir).await;
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("gen", "G", "P", &mail("gen"), "ACME"),
            "conformance",
        )
        .await
        .expect("add");
    let pw = added.generated_password.expect("a generated password");
    assert_eq!(pw.expose().chars().count(), 16);
    assert!(pw.expose().chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        dir.authenticate("gen", &pw)
            .await
            .expect("login with generated password"),
        "gen"
    );
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("gen2", "G", "P", &mail("gen2"), "ACME").password(""),
            "conformance",
        )
        .await
        .expect("add");
    assert!(
        added.generated_password.is_some(),
        "an empty password counts as blank"
    );
}

/// A given password authenticates; the login's case follows the lookup rule (SPEC §6.9).
pub async fn given_password_authenticates(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("Alice", "A", "L", &mail("alice"), "ACME").password("Pässwort 1"),
        "t",
    )
    .await
    .expect("add");
    assert_eq!(
        dir.authenticate("Alice", &Password::new("Pässwort 1"))
            .await
            .expect("login"),
        "Alice"
    );
    assert_eq!(
        dir.authenticate("alice", &Password::new("Pässwort 1"))
            .await
            .expect("login lower"),
        "Alice"
    );
}

/// Unknown user, wrong password and empty password all give the same error.
pub async fn failed_logins_look_alike(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("bob", "B", "B", &mail("bob"), "ACME").password("right"),
        "t",
    )
    .await
    .expect("add");
    for (login, pw) in [
        ("bob", "wrong"),
        ("nobody", "right"),
        ("bob", ""),
        ("", "right"),
        ("bob", "RIGHT"),
    ] {
        match dir.authenticate(login, &Password::new(pw)).await {
            Err(Error::AuthenticationFailed) => {}
            other => panic!("login {login:?}/{pw:?}: expected AuthenticationFailed, got {other:?}"),
        }
    }
    let prefs = dir.preferences("bob").await.expect("prefs");
    assert_eq!(
        prefs.get("UserLoginFailed").map(String::as_str),
        Some("3"),
        "failed logins are counted"
    );
    dir.authenticate("bob", &Password::new("right"))
        .await
        .expect("login");
    let prefs = dir.preferences("bob").await.expect("prefs");
    assert_eq!(prefs.get("UserLoginFailed").map(String::as_str), Some("0"));
    assert!(prefs.contains_key("UserLastLogin"));
}

/// Invalid and invalid-temporarily users cannot log in, with the same error.
pub async fn invalid_users_cannot_log_in(dir: &Directory) {
    seed_companies(dir).await;
    for (login, v) in [
        ("inv", Validity::Invalid),
        ("tmp", Validity::InvalidTemporarily),
    ] {
        dir.add_customer_user(
            NewCustomerUser::new(login, "I", "V", &mail(login), "ACME").password("pw-123"),
            "t",
        )
        .await
        .expect("add");
        dir.set_validity(login, v, "t").await.expect("invalidate");
        assert!(matches!(
            dir.authenticate(login, &Password::new("pw-123")).await,
            Err(Error::AuthenticationFailed)
        ));
        dir.set_validity(login, Validity::Valid, "t")
            .await
            .expect("revalidate");
        dir.authenticate(login, &Password::new("pw-123"))
            .await
            .expect("valid again");
    }
}

/// A second user with the same login — in any case — is refused.
pub async fn duplicate_login_refused(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "dup", "D", "U", "ACME").await;
    let again = NewCustomerUser::new("dup", "X", "Y", &mail("other1"), "ACME");
    assert_exists(dir.add_customer_user(again, "t").await, keys::LOGIN);
    let upper = NewCustomerUser::new("DUP", "X", "Y", &mail("other2"), "ACME");
    assert_exists(dir.add_customer_user(upper, "t").await, keys::LOGIN);
}

/// A second user with the same email (ignoring case) is refused, invalid users included.
pub async fn duplicate_email_refused(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("e1", "E", "M", &mail("shared"), "ACME"),
        "t",
    )
    .await
    .expect("add");
    let same = NewCustomerUser::new("e2", "E", "M", &mail("SHARED"), "ACME");
    assert_exists(dir.add_customer_user(same, "t").await, keys::EMAIL);
    dir.invalidate_customer_user("e1", "t")
        .await
        .expect("invalidate");
    let still = NewCustomerUser::new("e3", "E", "M", &mail("shared"), "ACME");
    assert_exists(dir.add_customer_user(still, "t").await, keys::EMAIL);
    assert!(
        dir.customer_user("e2").await.expect("get").is_none(),
        "nothing half-created"
    );
}

/// A user whose primary company does not exist is refused, naming `UserCustomerID`.
pub async fn missing_company_refused(dir: &Directory) {
    seed_companies(dir).await;
    let new = NewCustomerUser::new("orphan", "O", "P", &mail("orphan"), "NO-SUCH-COMPANY");
    assert_field(dir.add_customer_user(new, "t").await, keys::CUSTOMER_ID);
    assert!(dir.customer_user("orphan").await.expect("get").is_none());
}

/// Missing required attributes are refused, naming the attribute.
pub async fn required_fields_named(dir: &Directory) {
    seed_companies(dir).await;
    let cases = [
        (
            NewCustomerUser::new("r1", "", "L", &mail("r1"), "ACME"),
            keys::FIRST_NAME,
        ),
        (
            NewCustomerUser::new("r2", "F", "", &mail("r2"), "ACME"),
            keys::LAST_NAME,
        ),
        (
            NewCustomerUser::new("", "F", "L", &mail("r3"), "ACME"),
            keys::LOGIN,
        ),
        (
            NewCustomerUser::new("r4", "F", "L", "", "ACME"),
            keys::EMAIL,
        ),
        (
            NewCustomerUser::new("r5", "F", "L", &mail("r5"), ""),
            keys::CUSTOMER_ID,
        ),
    ];
    for (new, field) in cases {
        assert_field(dir.add_customer_user(new, "t").await, field);
    }
}

/// Bad email addresses are refused for valid users, naming `UserEmail`.
pub async fn invalid_email_refused(dir: &Directory) {
    seed_companies(dir).await;
    for bad in [
        "no-at-sign",
        "two@@acme-corp.test",
        "dots..@acme-corp.test",
        "x@example.com",
        "a b@acme-corp.test",
    ] {
        let new = NewCustomerUser::new("mailer", "M", "L", bad, "ACME");
        assert_field(dir.add_customer_user(new, "t").await, keys::EMAIL);
    }
    let quoted = NewCustomerUser::new(
        "quoted",
        "Q",
        "L",
        &format!("\"john doe\"@{DOMAIN}"),
        "ACME",
    );
    dir.add_customer_user(quoted, "t")
        .await
        .expect("a quoted local part is valid");
    let u = dir
        .customer_user("quoted")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(u.email.as_str(), format!("\"john doe\"@{DOMAIN}"));
}

/// Values longer than the column are refused (never truncated), naming the attribute.
pub async fn overlong_values_refused(dir: &Directory) {
    seed_companies(dir).await;
    let long_name = "x".repeat(101);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("long", &long_name, "L", &mail("long"), "ACME"),
            "t",
        )
        .await,
        keys::FIRST_NAME,
    );
    let long_login = "l".repeat(192);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new(&long_login, "F", "L", &mail("long2"), "ACME"),
            "t",
        )
        .await,
        keys::LOGIN,
    );
    let megabyte = "m".repeat(1 << 20);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("mb", "F", "L", &mail("mb"), "ACME").with(keys::CITY, megabyte),
            "t",
        )
        .await,
        keys::CITY,
    );
    let exact = "y".repeat(100);
    add(dir, "exact", &exact, "L", "ACME").await;
    assert_eq!(
        dir.customer_user("exact")
            .await
            .expect("get")
            .expect("present")
            .first_name,
        exact
    );
}

/// NUL and control characters are refused, naming the attribute.
pub async fn control_characters_refused(dir: &Directory) {
    seed_companies(dir).await;
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("nul\0", "F", "L", &mail("nul"), "ACME"),
            "t",
        )
        .await,
        keys::LOGIN,
    );
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("nul", "F\0", "L", &mail("nul"), "ACME"),
            "t",
        )
        .await,
        keys::FIRST_NAME,
    );
    match dir
        .add_customer_user(
            NewCustomerUser::new("x", "F", "L", &mail("x"), "ACME").with("UserShoeSize", "44"),
            "t",
        )
        .await
    {
        Err(Error::Invalid(ValidationError::UnknownAttribute { field })) => {
            assert_eq!(field, "UserShoeSize")
        }
        other => panic!("an attribute outside the map must be refused, got {other:?}"),
    }
}

async fn search_fixture(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "jsmith", "John", "Smith", "ACME").await;
    add(dir, "asmithers", "Anna", "Smithers", "GLOBEX").await;
    add(dir, "bjones", "Bob", "Jones", "ACME").await;
    add(dir, "mmueller", "Jürgen", "Müller", "INITECH").await;
    add(dir, "x_y", "Under", "Score", "INITECH").await;
    add(dir, "x%y", "Per", "Cent", "INITECH").await;
}

/// Words match anywhere in any search field (default prefix and suffix `*`); `*` is a wildcard.
pub async fn search_words_and_wildcards(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "smith", &["asmithers", "jsmith"]).await;
    expect_logins(dir, "j*s", &["bjones", "jsmith"]).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("globex")).await,
        ["asmithers"],
        "customer_id is a search field"
    );
    assert_eq!(logins(dir, CustomerUserSearch::term("*")).await.len(), 6);
    expect_logins(dir, "nomatch", &[]).await;
    expect_logins(dir, "Müll", &["mmueller"]).await;
}

/// `+`/`AND`, `OR` and `!` work as in OTOBO.
pub async fn search_operators(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "smith+john", &["jsmith"]).await;
    expect_logins(dir, "smith AND anna", &["asmithers"]).await;
    expect_logins(dir, "smith+!john", &["asmithers"]).await;
    expect_logins(dir, "jones OR müller", &["bjones", "mmueller"]).await;
    expect_logins(dir, "jsmith+!john", &[]).await;
    expect_logins(dir, "jsmith+!nomatch", &["jsmith"]).await;
}

/// Searches ignore case by default (SearchCaseSensitive = 0), including non-ASCII letters.
pub async fn search_is_case_insensitive(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "SMITH+JOHN", &["jsmith"]).await;
    expect_logins(dir, "MÜLLER", &["mmueller"]).await;
    expect_logins(dir, "müller", &["mmueller"]).await;
}

/// `%`, `_` and `\` in a term are literal characters, never SQL wildcards.
pub async fn search_metacharacters_are_literal(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "x_y", &["x_y"]).await;
    expect_logins(dir, "x%y", &["x%y"]).await;
    assert!(
        logins(dir, CustomerUserSearch::term("%"))
            .await
            .iter()
            .all(|l| l.contains('%'))
    );
    expect_logins(dir, "_", &["x_y"]).await;
    assert!(logins(dir, CustomerUserSearch::term("\\")).await.is_empty());
    expect_logins(dir, "' OR '1'='1", &[]).await;
    expect_logins(dir, "*)(uid=*", &[]).await;
}

/// Invalid users are hidden unless asked for; searches are valid-only by default.
pub async fn search_valid_only(dir: &Directory) {
    search_fixture(dir).await;
    dir.invalidate_customer_user("jsmith", "t")
        .await
        .expect("invalidate");
    expect_logins(dir, "smith", &["asmithers"]).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("smith").include_invalid()).await,
        ["asmithers", "jsmith"]
    );
    dir.set_validity("asmithers", Validity::InvalidTemporarily, "t")
        .await
        .expect("invalidate");
    expect_logins(dir, "smith", &[]).await;
}

/// The limit caps the result.
pub async fn search_limit(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("*").limit(2))
            .await
            .len(),
        2
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::term("*").limit(100))
            .await
            .len(),
        6
    );
}

/// Email (postmaster) search is exact and ignores case; no substring, no wildcard.
pub async fn email_search_is_exact(dir: &Directory) {
    search_fixture(dir).await;
    let m = mail(&email_local("jsmith"));
    assert_eq!(logins(dir, CustomerUserSearch::email(&m)).await, ["jsmith"]);
    assert_eq!(
        logins(dir, CustomerUserSearch::email(m.to_uppercase())).await,
        ["jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::email("jsmith"))
            .await
            .is_empty()
    );
    assert!(
        logins(dir, CustomerUserSearch::email(format!("*@{DOMAIN}")))
            .await
            .is_empty()
    );
}

/// Login search is exact, with `*` as an explicit wildcard (SPEC §6.7).
pub async fn login_search(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::login("jsmith")).await,
        ["jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("JSMITH")).await,
        ["jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::login("smith"))
            .await
            .is_empty(),
        "no implicit substring"
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("*smith*")).await,
        ["asmithers", "jsmith"]
    );
    assert_eq!(logins(dir, CustomerUserSearch::login("x_y")).await, ["x_y"]);
}

/// Customer-id search takes `*` wildcards; the raw form is exact with `*` literal.
pub async fn customer_id_search(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("ACME")).await,
        ["bjones", "jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("acme")).await,
        ["bjones", "jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("AC*")).await,
        ["bjones", "jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::customer_id("AC"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id_raw("ACME")).await,
        ["bjones", "jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::customer_id_raw("AC*"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("*"))
            .await
            .len(),
        6
    );
}

/// Search hits carry OTOBO's `"First Last" <email>` display string and their source.
pub async fn search_hit_display(dir: &Directory) {
    search_fixture(dir).await;
    let hits = dir
        .search(&CustomerUserSearch::login("jsmith"))
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].display,
        format!("\"John Smith\" <{}>", mail(&email_local("jsmith")))
    );
    assert_eq!(
        Some(hits[0].source.clone()),
        dir.source_names().first().cloned()
    );
}

/// Detail search: conditions, selections, exclusions, order and count.
pub async fn detail_search(dir: &Directory) {
    search_fixture(dir).await;
    let mut q = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    q.conditions.push(FieldCondition {
        attribute: keys::LAST_NAME.into(),
        pattern: Pattern::from_wildcards("smith*"),
    });
    let found = dir.search_detail(&q).await.expect("detail");
    let mut sorted: Vec<String> = found.iter().map(|l| l.to_string()).collect();
    sorted.sort();
    assert_eq!(sorted, ["asmithers", "jsmith"]);
    assert_eq!(dir.count_detail(&q).await.expect("count"), 2);
    q.conditions[0].pattern = Pattern::exact("SMITH");
    assert_eq!(
        dir.search_detail(&q)
            .await
            .expect("detail")
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>(),
        ["jsmith"]
    );

    let mut q = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    q.selections.push(SelectionCondition {
        attribute: keys::CUSTOMER_ID.into(),
        values: vec!["ACME".into(), "INITECH".into()],
    });
    q.exclude_logins.push("bjones".into());
    q.order_by.push((keys::LOGIN.into(), Direction::Ascending));
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["jsmith", "mmueller", "x%y", "x_y"]);
    q.order_by = vec![(keys::LOGIN.into(), Direction::Descending)];
    q.limit = Some(2);
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["x_y", "x%y"]);
    assert_eq!(
        dir.count_detail(&q).await.expect("count"),
        4,
        "count ignores limit and order"
    );
}

/// A detail search accepts a company-id list of any size (OTOBO splits at 1 000).
pub async fn detail_search_many_customer_ids(dir: &Directory) {
    search_fixture(dir).await;
    let mut ids: Vec<String> = (0..2500).map(|i| format!("NONE-{i}")).collect();
    ids.push("GLOBEX".into());
    let q = DetailSearch {
        customer_ids: ids,
        valid_only: true,
        ..Default::default()
    };
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["asmithers"]);
}

/// Update changes the given attributes and keeps the others; clearing works with `""`.
pub async fn update_changes_only_what_is_given(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("upd", "Old", "Name", &mail("upd"), "ACME")
            .with(keys::PHONE, "123")
            .with(keys::CITY, "Bonn"),
        "t",
    )
    .await
    .expect("add");
    let changes = CustomerUserChanges::new()
        .set(keys::FIRST_NAME, "New")
        .set(keys::PHONE, "");
    let u = dir
        .update_customer_user("UPD", changes, "t")
        .await
        .expect("update");
    assert_eq!(u.first_name, "New");
    assert_eq!(u.last_name, "Name");
    assert_eq!(u.phone, None);
    assert_eq!(u.city.as_deref(), Some("Bonn"));
    let again = dir
        .customer_user("upd")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(again, u, "the cache serves the updated record");
    assert_field(
        dir.update_customer_user(
            "upd",
            CustomerUserChanges::new().set(keys::EMAIL, "bad"),
            "t",
        )
        .await,
        keys::EMAIL,
    );
    assert_field(
        dir.update_customer_user(
            "upd",
            CustomerUserChanges::new().set(keys::CUSTOMER_ID, "NOPE"),
            "t",
        )
        .await,
        keys::CUSTOMER_ID,
    );
}

/// Updating a user that does not exist is an error (SPEC §6.8).
pub async fn update_missing_user_is_not_found(dir: &Directory) {
    seed_companies(dir).await;
    match dir
        .update_customer_user(
            "ghost",
            CustomerUserChanges::new().set(keys::CITY, "X"),
            "t",
        )
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    match dir.set_password("ghost", &Password::new("x")).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// A rename moves the user, its preferences and relations; a taken login is refused.
pub async fn rename(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "before", "R", "N", "ACME").await;
    add(dir, "taken", "T", "K", "ACME").await;
    dir.set_preference("before", "UserLanguage", "de")
        .await
        .expect("pref");
    dir.relate_company("before", "GLOBEX", true, "t")
        .await
        .expect("relate");
    assert_exists(
        dir.update_customer_user(
            "before",
            CustomerUserChanges::new().set(keys::LOGIN, "TAKEN"),
            "t",
        )
        .await,
        keys::LOGIN,
    );
    let u = dir
        .update_customer_user(
            "before",
            CustomerUserChanges::new().set(keys::LOGIN, "after"),
            "t",
        )
        .await
        .expect("rename");
    assert_eq!(u.login, "after");
    assert!(dir.customer_user("before").await.expect("get").is_none());
    assert_eq!(
        dir.preferences("after")
            .await
            .expect("prefs")
            .get("UserLanguage")
            .map(String::as_str),
        Some("de")
    );
    let ids: Vec<String> = dir
        .customer_ids("after")
        .await
        .expect("ids")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX"]);
    let u = dir
        .update_customer_user(
            "after",
            CustomerUserChanges::new().set(keys::LOGIN, "AFTER"),
            "t",
        )
        .await
        .expect("case-only rename");
    assert_eq!(u.login, "AFTER");
}

/// Users are invalidated, never deleted: still readable, gone from default searches.
pub async fn invalidate_instead_of_delete(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "leaver", "L", "V", "ACME").await;
    let u = dir
        .invalidate_customer_user("leaver", "t")
        .await
        .expect("invalidate");
    assert_eq!(u.validity, Validity::Invalid);
    assert_eq!(
        dir.customer_user("leaver")
            .await
            .expect("get")
            .expect("still there")
            .validity,
        Validity::Invalid
    );
    assert!(
        logins(dir, CustomerUserSearch::login("leaver"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("leaver").include_invalid()).await,
        ["leaver"]
    );
}

/// An update based on a stale read gets `Conflict`, never a silent overwrite.
pub async fn stale_update_conflicts(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "race", "R", "C", "ACME").await;
    let read = dir
        .customer_user("race")
        .await
        .expect("get")
        .expect("present");
    dir.update_customer_user_checked(
        &read,
        CustomerUserChanges::new().set(keys::CITY, "First"),
        "admin1",
    )
    .await
    .expect("first writer wins");
    match dir
        .update_customer_user_checked(
            &read,
            CustomerUserChanges::new().set(keys::CITY, "Second"),
            "admin2",
        )
        .await
    {
        Err(Error::Conflict { login }) => assert_eq!(login, "race"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        dir.customer_user("race")
            .await
            .expect("get")
            .expect("present")
            .city
            .as_deref(),
        Some("First")
    );
}

/// `customer_ids`: secondary ids, then the primary, then relations, without duplicates.
pub async fn customer_ids_order(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "multi", "M", "C", "ACME").await;
    dir.relate_company("multi", "INITECH", true, "t")
        .await
        .expect("relate");
    dir.relate_company("multi", "GLOBEX", true, "t")
        .await
        .expect("relate");
    dir.relate_company("multi", "ACME", true, "t")
        .await
        .expect("relate to primary too");
    let ids: Vec<String> = dir
        .customer_ids("multi")
        .await
        .expect("ids")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX", "INITECH"]);
    match dir.customer_ids("ghost").await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("customer_ids of an unknown user must be NotFound, got {other:?}"),
    }
}

/// Relating is idempotent and can be undone; relating to an unknown company is refused.
pub async fn relations_idempotent(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "rel", "R", "L", "ACME").await;
    for _ in 0..3 {
        dir.relate_company("rel", "GLOBEX", true, "t")
            .await
            .expect("relate");
    }
    assert_eq!(
        dir.company_members("GLOBEX").await.expect("members"),
        ["rel"]
    );
    dir.relate_company("rel", "GLOBEX", false, "t")
        .await
        .expect("unrelate");
    dir.relate_company("rel", "GLOBEX", false, "t")
        .await
        .expect("unrelate twice");
    assert!(
        dir.company_members("GLOBEX")
            .await
            .expect("members")
            .is_empty()
    );
    assert!(dir.relate_company("rel", "NOPE", true, "t").await.is_err());
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert!(snap.user_companies.is_empty());
}

/// Setting a grant replaces the (user, group) set; `rw` stands for all (SPEC §6.2).
pub async fn grants_replace(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "granted", "G", "R", "ACME").await;
    dir.add_group("support", "t").await.expect("group");
    dir.grant_user("granted", "support", &["ro"], "t")
        .await
        .expect("grant");
    dir.grant_user("granted", "support", &["rw"], "t")
        .await
        .expect("grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    let perms: Vec<&str> = snap
        .user_grants
        .iter()
        .map(|g| g.permission.as_str())
        .collect();
    assert_eq!(perms, ["rw"], "no stale ro row");
    assert_field(
        dir.grant_user("granted", "support", &["move_into"], "t")
            .await,
        "permission_key",
    );
    dir.grant_user("granted", "support", &["ro", "rw"], "t")
        .await
        .expect("grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert_eq!(snap.user_grants.len(), 1);
    assert_eq!(snap.user_grants[0].permission, "rw");
    dir.grant_company("ACME", "support", "Ticket::CustomerID::Same", &["ro"], "t")
        .await
        .expect("company grant");
    dir.grant_company("ACME", "support", "Ticket::CustomerID::Same", &["rw"], "t")
        .await
        .expect("company grant");
    let snap = dir.relation_snapshot().await.expect("snapshot");
    assert_eq!(snap.company_grants.len(), 1);
    dir.grant_user("granted", "support", &[], "t")
        .await
        .expect("revoke");
    assert!(
        dir.relation_snapshot()
            .await
            .expect("snapshot")
            .user_grants
            .is_empty()
    );
    assert!(
        dir.grant_user("granted", "no-such-group", &["ro"], "t")
            .await
            .is_err()
    );
    assert!(
        dir.grant_user("granted", "support", &["r o"], "t")
            .await
            .is_err()
    );
}

/// Default services apply only to users without services of their own; invalid ones never count.
pub async fn services_with_defaults(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "svc1", "S", "V", "ACME").await;
    add(dir, "svc2", "S", "V", "ACME").await;
    dir.add_service("Email", "t").await.expect("service");
    dir.add_service("VPN", "t").await.expect("service");
    dir.set_default_service("Email", true, "t")
        .await
        .expect("default");
    dir.assign_service("svc1", "VPN", true, "t")
        .await
        .expect("assign");
    let names =
        |v: Vec<clientele_backend::Service>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(dir.services_for("svc1").await.expect("services")),
        ["VPN"],
        "own services replace defaults"
    );
    assert_eq!(
        names(dir.services_for("svc2").await.expect("services")),
        ["Email"],
        "defaults as fallback"
    );
    dir.assign_service("svc1", "VPN", false, "t")
        .await
        .expect("removing an assignment reports success");
    assert_eq!(
        names(dir.services_for("svc1").await.expect("services")),
        ["Email"]
    );
}

/// Preferences round-trip; protected keys are refused, naming the key.
pub async fn preferences(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "prefs", "P", "R", "ACME").await;
    dir.set_preference("prefs", "UserLanguage", "de")
        .await
        .expect("set");
    dir.set_preference("PREFS", "UserTheme", "dark ☾")
        .await
        .expect("set via other case");
    dir.set_preference("prefs", "UserLanguage", "fr")
        .await
        .expect("replace");
    let p = dir.preferences("prefs").await.expect("get");
    assert_eq!(p.get("UserLanguage").map(String::as_str), Some("fr"));
    assert_eq!(p.get("UserTheme").map(String::as_str), Some("dark ☾"));
    dir.delete_preference("prefs", "UserTheme")
        .await
        .expect("delete");
    assert!(
        !dir.preferences("prefs")
            .await
            .expect("get")
            .contains_key("UserTheme")
    );
    for key in PROTECTED_PREFERENCE_KEYS {
        assert_field(dir.set_preference("prefs", key, "x").await, key);
    }
    assert!(
        dir.set_preference("ghost", "UserLanguage", "de")
            .await
            .is_err()
    );
    assert_eq!(
        dir.customer_user("prefs")
            .await
            .expect("get")
            .expect("present")
            .login,
        "prefs"
    );
}

/// One-time tokens work exactly once; a new token replaces the old.
pub async fn tokens_single_use(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "tok", "T", "K", "ACME").await;
    let t1 = dir.generate_token("tok").await.expect("token");
    assert!(t1.expose().len() >= 14);
    let t2 = dir.generate_token("tok").await.expect("token");
    assert_ne!(t1, t2);
    assert!(
        !dir.check_token("tok", t1.expose()).await.expect("check"),
        "replaced token is dead"
    );
    assert!(!dir.check_token("other", t2.expose()).await.expect("check"));
    assert!(dir.check_token("tok", t2.expose()).await.expect("check"));
    assert!(
        !dir.check_token("tok", t2.expose()).await.expect("check"),
        "single use"
    );
    assert!(!dir.check_token("tok", "").await.expect("check"));
    assert!(
        !dir.preferences("tok")
            .await
            .expect("prefs")
            .values()
            .any(|v| v == t2.expose()),
        "token not stored in plain text"
    );
}

/// Companies: add, get, search, update; duplicate id or name refused.
pub async fn companies(dir: &Directory) {
    seed_companies(dir).await;
    let c = dir
        .company("acme")
        .await
        .expect("get")
        .expect("case-insensitive company look-up");
    assert_eq!(c.name, "Acme Corporation");
    assert_exists(
        dir.add_company(NewCustomerCompany::new("ACME", "Other"), "t")
            .await,
        keys::COMPANY_ID,
    );
    assert_exists(
        dir.add_company(NewCustomerCompany::new("NEW", "Globex"), "t")
            .await,
        keys::COMPANY_NAME,
    );
    let found: Vec<String> = dir
        .search_companies(Some("glo"), true, None)
        .await
        .expect("search")
        .into_iter()
        .map(|c| c.customer_id.into_string())
        .collect();
    assert_eq!(found, ["GLOBEX"]);
    let u = dir
        .update_company(
            "GLOBEX",
            CustomerCompanyChanges::new()
                .set(keys::COMPANY_CITY, "Springfield")
                .validity(Validity::Invalid),
            "t",
        )
        .await
        .expect("update");
    assert_eq!(u.city.as_deref(), Some("Springfield"));
    assert!(
        dir.search_companies(Some("glo"), true, None)
            .await
            .expect("search")
            .is_empty()
    );
    assert_eq!(
        dir.search_companies(Some("glo"), false, None)
            .await
            .expect("search")
            .len(),
        1
    );
    assert_eq!(
        dir.search_companies(None, false, None)
            .await
            .expect("list")
            .len(),
        3
    );
    assert!(
        dir.update_company(
            "NOPE",
            CustomerCompanyChanges::new().set(keys::COMPANY_CITY, "X"),
            "t"
        )
        .await
        .is_err()
    );
}

/// `set_password` replaces the password; the old one stops working.
pub async fn set_password(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("pwd", "P", "W", &mail("pwd"), "ACME").password("old-one"),
        "t",
    )
    .await
    .expect("add");
    dir.set_password("pwd", &Password::new("new-one ✓"))
        .await
        .expect("set");
    assert!(
        dir.authenticate("pwd", &Password::new("old-one"))
            .await
            .is_err()
    );
    dir.authenticate("pwd", &Password::new("new-one ✓"))
        .await
        .expect("new works");
    assert_field(
        dir.set_password("pwd", &Password::new("")).await,
        keys::PASSWORD,
    );
}

/// `customer_id_list`: distinct primary ids, filterable, valid-only by default.
pub async fn customer_id_list(dir: &Directory) {
    search_fixture(dir).await;
    let all: Vec<String> = dir
        .customer_id_list(None, true)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(all, ["ACME", "GLOBEX", "INITECH"]);
    let some: Vec<String> = dir
        .customer_id_list(Some("glo"), true)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(some, ["GLOBEX"]);
    dir.invalidate_customer_user("asmithers", "t")
        .await
        .expect("invalidate");
    assert_eq!(
        dir.customer_id_list(None, true).await.expect("list").len(),
        2
    );
    assert_eq!(
        dir.customer_id_list(None, false).await.expect("list").len(),
        3
    );
}

/// Concurrent adds of one login: exactly one succeeds, the rest get `AlreadyExists`.
pub async fn concurrent_adds_one_winner(dir: &Directory) {
    seed_companies(dir).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let d = dir.clone();
        tasks.push(tokio::spawn(async move {
            d.add_customer_user(
                NewCustomerUser::new("same", "S", "M", &mail(&format!("same{i}")), "ACME")
                    .password("p"),
                "t",
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent add may win");
}

/// The merged record has user, company and preference attributes (OTOBO `CustomerUserDataGet`).
pub async fn merged_record(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "merged", "Mer", "Ged", "ACME").await;
    dir.set_preference("merged", "UserLanguage", "de")
        .await
        .expect("pref");
    let r = dir
        .merged_record("merged")
        .await
        .expect("record")
        .expect("present");
    assert_eq!(
        r.get("UserLogin").map(|v| v.to_text()).as_deref(),
        Some("merged")
    );
    assert_eq!(
        r.get("CustomerCompanyName").map(|v| v.to_text()).as_deref(),
        Some("Acme Corporation")
    );
    assert_eq!(
        r.get("UserLanguage").map(|v| v.to_text()).as_deref(),
        Some("de")
    );
    assert_eq!(
        r.get("UserFullname").map(|v| v.to_text()).as_deref(),
        Some("Mer Ged")
    );
    assert_eq!(
        r.get("ValidID").map(|v| v.to_text()).as_deref(),
        Some("1"),
        "the user's validity wins"
    );
}

/// With customer-group support off (OTOBO's default) every user has every type on every
/// valid group and nothing on an invalid one.
pub async fn permissions_without_group_support(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "perm", "P", "M", "ACME").await;
    dir.add_group("users", "t").await.expect("group");
    dir.add_group("billing", "t").await.expect("group");
    assert!(
        dir.has_permission("perm", "billing", "rw")
            .await
            .expect("check")
    );
    assert!(
        dir.has_permission("PERM", "users", "ro")
            .await
            .expect("check")
    );
    dir.set_group_validity("billing", Validity::Invalid)
        .await
        .expect("invalidate group");
    assert!(
        !dir.has_permission("perm", "billing", "ro")
            .await
            .expect("check"),
        "invalid groups grant nothing"
    );
    let eff = dir.effective_permissions("perm").await.expect("effective");
    assert_eq!(
        eff.iter().map(|e| e.group.as_str()).collect::<Vec<_>>(),
        ["users"]
    );
    assert!(
        dir.has_permission("ghost", "users", "ro").await.is_err(),
        "unknown user is an error"
    );
}

/// Runs every behaviour for a harness; generated one test each by [`conformance_suite!`](crate::conformance_suite).
#[macro_export]
macro_rules! conformance_suite {
    ($harness:ty $(, #[$attr:meta])* $(,)?) => {
        $crate::conformance_suite!(@all $harness, [$(#[$attr])*],
            add_get_round_trip, unusual_logins_round_trip, lookup_is_case_insensitive,
            generated_password_on_blank, given_password_authenticates, failed_logins_look_alike,
            invalid_users_cannot_log_in, duplicate_login_refused, duplicate_email_refused,
            missing_company_refused, required_fields_named, invalid_email_refused,
            overlong_values_refused, control_characters_refused, search_words_and_wildcards,
            search_operators, search_is_case_insensitive, search_metacharacters_are_literal,
            search_valid_only, search_limit, email_search_is_exact, login_search,
            customer_id_search, search_hit_display, detail_search, detail_search_many_customer_ids,
            update_changes_only_what_is_given, update_missing_user_is_not_found, rename,
            invalidate_instead_of_delete, stale_update_conflicts, customer_ids_order,
            relations_idempotent, grants_replace, services_with_defaults, preferences,
            tokens_single_use, companies, set_password, customer_id_list,
            concurrent_adds_one_winner, merged_record, permissions_without_group_support
        );
    };
    (@all $harness:ty, $attrs:tt, $($name:ident),* $(,)?) => {
        $( $crate::conformance_suite!(@one $harness, $attrs, $name); )*
    };
    (@one $harness:ty, [$(#[$attr:meta])*], $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            let harness = <$harness as $crate::conformance::Harness>::setup().await;
            $crate::conformance::$name($crate::conformance::Harness::directory(&harness)).await;
            <$harness as $crate::conformance::Harness>::teardown(harness).await;
        }
    };
}
