//! The read-only part of the storage-level suite: behaviours of the read side
//! ([`CustomerUserSource`], and [`PasswordStore`] or [`BindAuthenticator`] where the store has
//! them) over a fixed data set, [`SEED`], that the store already holds. A read-only store (an
//! LDAP directory) runs this part and nothing else; a writable one runs it as well as the
//! rest of the suite, seeded through its writer with [`seed_store`].
//!
//! The seed is what every backend can represent: a login, first and last name, email, primary
//! customer id, secondary customer ids (kept only where the source's map has a
//! `UserCustomerIDs` row), valid or invalid (an LDAP valid filter knows no third state) and a
//! password. Its answers are stated for the search fields OTOBO's DB backend searches by
//! default — login, first name, last name and customer id — and the email as the postmaster
//! field; a harness configures its store that way (each case checks it first). The search
//! answers are also stated for OTOBO's default case rule (case-insensitive): a case-sensitive
//! store runs every case but passes the searches by term and by field set (and the term
//! filters of the customer-id list) by.
//!
//! A store runs the cases with a [`ReadHarness`] and [`read_trials`] in a test target with
//! `harness = false`:
//!
//! ```ignore
//! struct Memory(Arc<InMemoryBackend>);
//! #[async_trait::async_trait]
//! impl clientele_backend::conformance::read::ReadHarness for Memory {
//!     async fn setup() -> Self {
//!         let store = Arc::new(InMemoryBackend::new());
//!         seed_store(&*store, store.settings()).await;
//!         Memory(store)
//!     }
//!     fn stores(&self) -> ReadStores { ReadStores::new(self.0.clone()).with_passwords(self.0.clone()) }
//!     async fn teardown(self) {}
//! }
//! fn main() {
//!     let args = libtest_mimic::Arguments::from_args();
//!     libtest_mimic::run(&args, read_trials::<Memory>("memory", None)).exit();
//! }
//! ```
//!
//! Each function panics with a message naming the behaviour when the store misbehaves.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use clientele_model::search::{
    DetailSearch, Direction, Expr, FieldCondition, FieldSet, Part, Pattern, SearchSyntax,
    UserQuery, parse_term,
};
use clientele_model::{
    AttributeValue, CustomerUser, EmailCheck, NewCustomerUser, Password, Rules, Validity, keys,
};

use super::case_trials;
use crate::matching::field_keys;
use crate::settings::SourceSettings;
use crate::traits::{
    BindAuthenticator, CustomerUserSource, CustomerUserWriter, ListedUser, PasswordStore,
};

/// One user of the seed data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedUser {
    /// The login, in its stored case.
    pub login: &'static str,
    /// First name.
    pub first_name: &'static str,
    /// Last name.
    pub last_name: &'static str,
    /// Email.
    pub email: &'static str,
    /// Primary customer id.
    pub customer_id: &'static str,
    /// Secondary customer ids (stored where the source's map has a `UserCustomerIDs` row).
    pub secondary_customer_ids: &'static [&'static str],
    /// `Valid` or `Invalid` (what an LDAP valid filter can tell apart).
    pub validity: Validity,
    /// The password (a bind checks it; a Directory hashes it when it seeds).
    pub password: &'static str,
}

/// The seed data set: mixed-case and non-ASCII logins, non-ASCII names in three scripts, four
/// primary customer ids (one of them only on the invalid user), secondary ids, emails.
///
/// | login | first / last name | customer id | secondary ids | valid |
/// |---|---|---|---|---|
/// | `JDoe` | John Doe | acme | GLOBEX | yes |
/// | `MMuster` | Max Muster | GLOBEX | – | yes |
/// | `anna` | Anna Åberg | acme | – | yes |
/// | `annette` | Annette Berg | Umbrella | – | **no** |
/// | `jmüller` | Jürgen Müller | GLOBEX | acme, Initech | yes |
/// | `otsuka` | カスミ Ōtsuka | Initech | – | yes |
pub const SEED: &[SeedUser] = &[
    SeedUser {
        login: "JDoe",
        first_name: "John",
        last_name: "Doe",
        email: "john.doe@acme-corp.test",
        customer_id: "acme",
        secondary_customer_ids: &["GLOBEX"],
        validity: Validity::Valid,
        password: "jdoe-Secret-1",
    },
    SeedUser {
        login: "MMuster",
        first_name: "Max",
        last_name: "Muster",
        email: "max.muster@globex.test",
        customer_id: "GLOBEX",
        secondary_customer_ids: &[],
        validity: Validity::Valid,
        password: "mmuster-Secret-1",
    },
    SeedUser {
        login: "anna",
        first_name: "Anna",
        last_name: "Åberg",
        email: "anna.aberg@acme-corp.test",
        customer_id: "acme",
        secondary_customer_ids: &[],
        validity: Validity::Valid,
        password: "anna-Secret-1",
    },
    SeedUser {
        login: "annette",
        first_name: "Annette",
        last_name: "Berg",
        email: "annette.berg@umbrella.test",
        customer_id: "Umbrella",
        secondary_customer_ids: &[],
        validity: Validity::Invalid,
        password: "annette-Secret-1",
    },
    SeedUser {
        login: "jmüller",
        first_name: "Jürgen",
        last_name: "Müller",
        email: "juergen.mueller@globex.test",
        customer_id: "GLOBEX",
        secondary_customer_ids: &["acme", "Initech"],
        validity: Validity::Valid,
        password: "müller-Secret-1",
    },
    SeedUser {
        login: "otsuka",
        first_name: "カスミ",
        last_name: "Ōtsuka",
        email: "kasumi.otsuka@initech.test",
        customer_id: "Initech",
        secondary_customer_ids: &[],
        validity: Validity::Valid,
        password: "otsuka-Secret-1",
    },
];

/// The attribute keys the seed's search answers are stated for: the source's search fields
/// must stand for exactly these (OTOBO's DB default `login first_name last_name customer_id`;
/// for LDAP e.g. `uid givenname sn o`).
pub const SEARCH_KEYS: [&str; 4] = [
    keys::LOGIN,
    keys::FIRST_NAME,
    keys::LAST_NAME,
    keys::CUSTOMER_ID,
];

impl SeedUser {
    /// The seed user with this login (exact case).
    pub fn named(login: &str) -> &'static SeedUser {
        SEED.iter()
            .find(|u| u.login == login)
            .unwrap_or_else(|| panic!("{login:?} is not a seed user"))
    }

    /// Whether a source with these settings stores secondary customer ids (its map has a
    /// `UserCustomerIDs` row).
    pub fn keeps_secondary_ids(settings: &SourceSettings) -> bool {
        settings.map.by_key(keys::CUSTOMER_IDS).is_some()
    }

    /// The user as a new record for a source with these settings: secondary ids only where
    /// the source keeps them.
    pub fn new_user(&self, settings: &SourceSettings) -> NewCustomerUser {
        let mut new = NewCustomerUser::new(
            self.login,
            self.first_name,
            self.last_name,
            self.email,
            self.customer_id,
        )
        .validity(self.validity);
        if Self::keeps_secondary_ids(settings) && !self.secondary_customer_ids.is_empty() {
            let ids = self.secondary_customer_ids.iter().map(|s| s.to_string());
            new = new.with(keys::CUSTOMER_IDS, AttributeValue::List(ids.collect()));
        }
        new
    }

    /// The validated record for a source with these settings (email syntax only; the seed is
    /// known to pass).
    pub fn record(&self, settings: &SourceSettings) -> CustomerUser {
        self.new_user(settings)
            .validate(&Rules {
                map: &settings.map,
                email: &EmailCheck::disabled(),
            })
            .unwrap_or_else(|e| panic!("seed user {}: {e}", self.login))
    }

    /// The same login with the case of every letter flipped (`JDoe` → `jdOE`).
    pub fn other_case_login(&self) -> String {
        other_case(self.login)
    }
}

/// `s` with the case of every letter flipped.
pub fn other_case(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().collect::<Vec<_>>()
            } else {
                c.to_lowercase().collect::<Vec<_>>()
            }
        })
        .collect()
}

/// The stand-in password hash [`seed_store`] stores: the storage level never verifies a
/// password (hashing is the Directory's), it keeps what it is given.
pub const SEED_HASH: &str = "{seed}not-a-real-hash";

/// Writes the seed into a writable store, each user with [`SEED_HASH`] as its password hash.
pub async fn seed_store(writer: &(dyn CustomerUserWriter + '_), settings: &SourceSettings) {
    for seed in SEED {
        writer
            .add(
                &seed.record(settings),
                Some(SEED_HASH),
                &clientele_model::Actor::System,
            )
            .await
            .unwrap_or_else(|e| panic!("seeding {}: {e}", seed.login));
    }
}

/// The read capabilities of the store under test, as trait objects.
#[derive(Clone)]
pub struct ReadStores {
    /// The read side.
    pub users: Arc<dyn CustomerUserSource>,
    /// Stored password hashes, when the store keeps them.
    pub passwords: Option<Arc<dyn PasswordStore>>,
    /// Password checks by the store itself, when it makes them (an LDAP bind).
    pub binder: Option<Arc<dyn BindAuthenticator>>,
}

impl ReadStores {
    /// The read side alone.
    pub fn new(users: Arc<dyn CustomerUserSource>) -> ReadStores {
        ReadStores {
            users,
            passwords: None,
            binder: None,
        }
    }

    /// With the store's password hashes.
    pub fn with_passwords(mut self, passwords: Arc<dyn PasswordStore>) -> ReadStores {
        self.passwords = Some(passwords);
        self
    }

    /// With the store's own password check.
    pub fn with_binder(mut self, binder: Arc<dyn BindAuthenticator>) -> ReadStores {
        self.binder = Some(binder);
        self
    }
}

/// Sets up and tears down one store holding [`SEED`] per behaviour (or hands out a store
/// seeded once, since no case writes).
#[async_trait]
pub trait ReadHarness: Sized + Send + Sync + 'static {
    /// A store holding exactly the seed, with the search fields of [`SEARCH_KEYS`] and the
    /// email as the postmaster field.
    async fn setup() -> Self;
    /// Its read capabilities.
    fn stores(&self) -> ReadStores;
    /// Removes the store.
    async fn teardown(self);
}

/// One registered read-only behaviour.
pub struct ReadCase {
    /// The behaviour's name (its function's).
    pub name: &'static str,
    /// Runs it against a seeded store.
    pub run: fn(ReadStores) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

inventory::collect!(ReadCase);

macro_rules! read_case {
    ($name:ident) => {
        inventory::submit! {
            ReadCase { name: stringify!($name), run: |s| Box::pin($name(s)) }
        }
    };
}

/// One `libtest-mimic` trial per registered read-only behaviour, named `prefix::behaviour`,
/// each on a store from `H` in a runtime of its own. `ignored` marks them all ignored with
/// that reason (server-backed stores; `--include-ignored` runs them).
pub fn read_trials<H: ReadHarness>(
    prefix: &str,
    ignored: Option<&str>,
) -> Vec<libtest_mimic::Trial> {
    let cases = inventory::iter::<ReadCase>
        .into_iter()
        .map(|c| (c.name, c.run));
    case_trials(prefix, ignored, cases, |run| async move {
        let harness = H::setup().await;
        run(harness.stores()).await;
        harness.teardown().await;
    })
}

// ------------------------------------------------------------------ helpers

/// Panics unless the store is configured as the seed's answers assume.
fn check_settings(s: &ReadStores) {
    let settings = s.users.settings();
    let searched = field_keys(
        settings,
        FieldSet::SearchFields {
            exclude_customer_id: false,
        },
    );
    let searched: BTreeSet<&str> = searched.iter().map(String::as_str).collect();
    assert!(
        searched == BTreeSet::from(SEARCH_KEYS)
            && settings.search_fields.len() == SEARCH_KEYS.len(),
        "harness: the search fields {:?} must stand for exactly {SEARCH_KEYS:?}",
        settings.search_fields
    );
    assert_eq!(
        field_keys(settings, FieldSet::PostmasterFields),
        [keys::EMAIL],
        "harness: the postmaster fields must be the email"
    );
}

/// A term in the search language with no implicit wildcards: `*` only where written.
fn expr(term: &str) -> Expr {
    let explicit = SearchSyntax {
        prefix: String::new(),
        suffix: String::new(),
        space_means_and: false,
    };
    parse_term(term, &explicit).unwrap_or_else(|e| panic!("term {term:?}: {e}"))
}

fn query(
    s: &ReadStores,
    fields: FieldSet,
    expr: Expr,
    valid_only: bool,
    limit: usize,
) -> UserQuery {
    UserQuery {
        fields,
        expr,
        valid_only,
        limit,
        case_sensitive: s.users.settings().case_sensitive,
    }
}

const SEARCH: FieldSet = FieldSet::SearchFields {
    exclude_customer_id: false,
};

/// A term over the search fields, valid users only, a limit above the seed's size.
fn term(s: &ReadStores, t: &str) -> UserQuery {
    query(s, SEARCH, expr(t), true, 100)
}

/// The same, invalid users included.
fn term_all(s: &ReadStores, t: &str) -> UserQuery {
    query(s, SEARCH, expr(t), false, 100)
}

/// The logins a search finds, in the order returned; the list search must agree.
async fn found(s: &ReadStores, q: &UserQuery) -> Vec<String> {
    let users = s
        .users
        .search(q)
        .await
        .unwrap_or_else(|e| panic!("search {q:?}: {e}"));
    let listed = s
        .users
        .search_list(q)
        .await
        .unwrap_or_else(|e| panic!("search_list {q:?}: {e}"));
    let expected: Vec<ListedUser> = users
        .iter()
        .map(|u| ListedUser::of(u, s.users.settings()))
        .collect();
    assert_eq!(listed, expected, "search_list and search disagree on {q:?}");
    users.into_iter().map(|u| u.login.into_string()).collect()
}

/// The seed's logins, sorted by code point, optionally valid ones only.
fn seed_logins(valid_only: bool) -> Vec<&'static str> {
    let mut v: Vec<&str> = SEED
        .iter()
        .filter(|u| !valid_only || u.validity.is_valid())
        .map(|u| u.login)
        .collect();
    v.sort();
    v
}

fn assert_sorted(logins: &[String], what: &str) {
    let mut sorted = logins.to_vec();
    sorted.sort();
    assert_eq!(logins, sorted, "{what}: results sorted by login");
}

/// Asserts a search finds exactly `expected` (in this order) and is sorted.
async fn expect(s: &ReadStores, q: &UserQuery, expected: &[&str]) {
    let got = found(s, q).await;
    assert_eq!(
        got, expected,
        "search {:?} (valid only: {})",
        q.expr, q.valid_only
    );
}

/// What a hostile search may answer: nothing; for a value with a NUL (which no stored value
/// holds, and which PostgreSQL cannot even take as a parameter) also a refusal, of any kind.
/// Never a match.
fn nothing<T: std::fmt::Debug>(r: crate::Result<Vec<T>>, may_refuse: bool, what: &str) {
    match r {
        Ok(v) => assert!(
            v.is_empty(),
            "{what} must match nothing literally, found {v:?}"
        ),
        Err(e) if may_refuse => assert!(
            !e.is_outage(),
            "{what} may be refused, but not reported as an outage: {e:?}"
        ),
        Err(e) => panic!("{what} must be taken literally, not refused: {e}"),
    }
}

// ------------------------------------------------------------------ cases

/// Every seed user reads back as seeded, by its stored login and — under a case-insensitive
/// rule — by any case of it (the stored case returned); case-sensitive sources find only the
/// stored case.
pub async fn read_get_by_login_case_rule(s: ReadStores) {
    check_settings(&s);
    let settings = s.users.settings();
    for seed in SEED {
        let got = s
            .users
            .get(seed.login)
            .await
            .unwrap_or_else(|e| panic!("get {}: {e}", seed.login))
            .unwrap_or_else(|| panic!("seed user {} not found", seed.login));
        assert_eq!(got.login.as_str(), seed.login);
        assert_eq!(got.first_name, seed.first_name, "{}", seed.login);
        assert_eq!(got.last_name, seed.last_name, "{}", seed.login);
        assert_eq!(got.email.as_str(), seed.email, "{}", seed.login);
        assert_eq!(got.customer_id.as_str(), seed.customer_id, "{}", seed.login);
        assert_eq!(got.validity, seed.validity, "{}", seed.login);
        if SeedUser::keeps_secondary_ids(settings) {
            let got_ids: BTreeSet<&str> = got
                .secondary_customer_ids
                .iter()
                .map(|c| c.as_str())
                .collect();
            let want: BTreeSet<&str> = seed.secondary_customer_ids.iter().copied().collect();
            assert_eq!(got_ids, want, "secondary customer ids of {}", seed.login);
        }
        let other = s
            .users
            .get(&seed.other_case_login())
            .await
            .unwrap_or_else(|e| panic!("get {}: {e}", seed.other_case_login()));
        if settings.case_sensitive {
            assert!(
                other.is_none(),
                "a case-sensitive source must not find {} as {}",
                seed.login,
                seed.other_case_login()
            );
        } else {
            let other = other.unwrap_or_else(|| {
                panic!("{} not found as {}", seed.login, seed.other_case_login())
            });
            assert_eq!(
                other.login.as_str(),
                seed.login,
                "the stored case of the login is returned"
            );
        }
    }
}
read_case!(read_get_by_login_case_rule);

/// Unknown logins — prefixes, wildcards and SQL or LDAP specials among them — are `None`.
pub async fn read_get_unknown_is_none(s: ReadStores) {
    check_settings(&s);
    for login in [
        "nobody", "JDo", "JDoe ", "JDoe*", "*", "J*", "%", "JD%", "JD_e", "jmüll", "jmuller", "(",
        "*)(uid=*", "\\",
    ] {
        let got = s
            .users
            .get(login)
            .await
            .unwrap_or_else(|e| panic!("get {login:?}: {e}"));
        assert!(
            got.is_none(),
            "get {login:?} must find nobody, found {got:?}"
        );
    }
}
read_case!(read_get_unknown_is_none);

/// `get_many` answers each login as `get` does, in the order asked: stored and other cases,
/// unknown logins (specials among them), the empty login, a login given more than once — and
/// in a list long enough to need several statements of a SQL store.
pub async fn read_get_many_agrees_with_get(s: ReadStores) {
    check_settings(&s);
    let mut logins: Vec<String> = Vec::new();
    for seed in SEED {
        logins.push(seed.login.to_owned());
        logins.push(seed.other_case_login());
        logins.push(seed.login.to_lowercase());
        logins.push(seed.login.to_uppercase());
    }
    for unknown in [
        "nobody", "JDo", "JDoe ", "JDoe*", "*", "%", "JD_e", "jmuller", "\\", "",
    ] {
        logins.push(unknown.to_owned());
    }
    logins.push(SEED[0].login.to_owned());
    logins.push(SEED[0].other_case_login());
    let short = logins.clone();
    // Thousands of logins, most unknown, the seeds among them again at the end.
    logins.extend((0..2_500).map(|i| format!("user-{i:05}")));
    logins.extend(short.iter().cloned());
    for list in [&short, &logins] {
        let asked: Vec<&str> = list.iter().map(String::as_str).collect();
        let many = s
            .users
            .get_many(&asked)
            .await
            .unwrap_or_else(|e| panic!("get_many of {} logins: {e}", asked.len()));
        assert_eq!(many.len(), asked.len(), "one answer per login asked");
        for (login, answer) in asked.iter().zip(many) {
            let one = s.users.get(login).await;
            match (answer, one) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "get_many and get of {login:?}"),
                (Err(a), Err(b)) => assert_eq!(
                    a.to_string(),
                    b.to_string(),
                    "get_many and get refuse {login:?} alike"
                ),
                (a, b) => panic!("get_many of {login:?} answered {a:?}, get {b:?}"),
            }
        }
    }
    let none = s
        .users
        .get_many(&[])
        .await
        .unwrap_or_else(|e| panic!("get_many of no logins: {e}"));
    assert!(none.is_empty(), "no logins, no answers");
}
read_case!(read_get_many_agrees_with_get);

/// A parsed term with wildcards — prefix, suffix, infix, none — finds what it should over the
/// search fields, in any case, in any script; AND, OR and NOT combine words.
pub async fn read_search_terms(s: ReadStores) {
    check_settings(&s);
    if s.users.settings().case_sensitive {
        return;
    }
    expect(&s, &term(&s, "ann*"), &["anna"]).await;
    expect(&s, &term(&s, "j*"), &["JDoe", "jmüller"]).await;
    expect(&s, &term(&s, "*üll*"), &["jmüller"]).await;
    expect(&s, &term(&s, "MÜLLER"), &["jmüller"]).await;
    expect(&s, &term(&s, "m*r"), &["MMuster", "jmüller"]).await;
    expect(&s, &term(&s, "ōtsuka"), &["otsuka"]).await;
    expect(&s, &term(&s, "カスミ"), &["otsuka"]).await;
    expect(&s, &term(&s, "JDOE"), &["JDoe"]).await;
    expect(&s, &term(&s, "*BERG"), &["anna"]).await;
    // The customer id is a search field; the secondary ids are not.
    expect(&s, &term(&s, "ACME"), &["JDoe", "anna"]).await;
    let without_id = query(
        &s,
        FieldSet::SearchFields {
            exclude_customer_id: true,
        },
        expr("ACME"),
        true,
        100,
    );
    expect(&s, &without_id, &[]).await;
    // The email is not a search field here.
    expect(&s, &term(&s, "*@*"), &[]).await;
    expect(&s, &term(&s, "ann* OR *üll*"), &["anna", "jmüller"]).await;
    expect(&s, &term(&s, "j*+*oe"), &["JDoe"]).await;
    expect(&s, &term(&s, "j*+!*üll*"), &["JDoe"]).await;
    expect(&s, &term(&s, "nobody*"), &[]).await;
}
read_case!(read_search_terms);

/// The other field sets: the login alone, the customer id alone, the postmaster (email) field.
pub async fn read_search_field_sets(s: ReadStores) {
    check_settings(&s);
    if s.users.settings().case_sensitive {
        return;
    }
    let q = |fields, p: &str| {
        query(
            &s,
            fields,
            Expr::Match(Pattern::from_wildcards(p)),
            true,
            100,
        )
    };
    expect(&s, &q(FieldSet::Login, "m*"), &["MMuster"]).await;
    expect(&s, &term(&s, "m*"), &["MMuster", "jmüller"]).await;
    expect(&s, &q(FieldSet::Login, "JMÜLLER"), &["jmüller"]).await;
    expect(
        &s,
        &q(FieldSet::CustomerId, "glob*"),
        &["MMuster", "jmüller"],
    )
    .await;
    expect(&s, &q(FieldSet::CustomerId, "Initech"), &["otsuka"]).await;
    let mail = |e: &str| {
        query(
            &s,
            FieldSet::PostmasterFields,
            Expr::Match(Pattern::exact(e)),
            true,
            100,
        )
    };
    expect(&s, &mail("JOHN.DOE@acme-corp.test"), &["JDoe"]).await;
    expect(&s, &mail("john.doe@acme-corp"), &[]).await;
}
read_case!(read_search_field_sets);

/// Valid-only searches leave the invalid user out; searches of all users include it, marked
/// invalid.
pub async fn read_search_valid_only_and_all(s: ReadStores) {
    check_settings(&s);
    expect(&s, &term(&s, "ann*"), &["anna"]).await;
    expect(&s, &term_all(&s, "ann*"), &["anna", "annette"]).await;
    expect(&s, &term(&s, "*erg"), &["anna"]).await;
    expect(&s, &term_all(&s, "*erg"), &["anna", "annette"]).await;
    expect(&s, &term(&s, "umbrella"), &[]).await;
    let all = s.users.search(&term_all(&s, "*")).await.expect("search");
    for u in &all {
        let seed = SeedUser::named(u.login.as_str());
        assert_eq!(
            u.validity, seed.validity,
            "validity of {} in a search",
            seed.login
        );
    }
    let valid = found(&s, &term(&s, "*")).await;
    assert_eq!(valid, seed_logins(true), "every valid user, nothing else");
}
read_case!(read_search_valid_only_and_all);

/// Results come sorted by login (code point order: upper case first), each user once.
pub async fn read_search_sorted_by_login(s: ReadStores) {
    check_settings(&s);
    let all = found(&s, &term_all(&s, "*")).await;
    assert_eq!(
        all,
        seed_logins(false),
        "every seed user once, sorted by login"
    );
    assert_eq!(
        all,
        ["JDoe", "MMuster", "anna", "annette", "jmüller", "otsuka"],
        "code point order"
    );
}
read_case!(read_search_sorted_by_login);

/// At most `limit` users come back, sorted, each a match; 0 finds nothing.
pub async fn read_search_limit(s: ReadStores) {
    check_settings(&s);
    for (valid_only, limit) in [(true, 1), (true, 3), (false, 2), (false, 5)] {
        let q = query(&s, SEARCH, expr("*"), valid_only, limit);
        let got = found(&s, &q).await;
        assert_eq!(got.len(), limit, "limit {limit} (valid only: {valid_only})");
        assert_sorted(&got, "a limited search");
        let matching = seed_logins(valid_only);
        for l in &got {
            assert!(matching.contains(&l.as_str()), "{l} does not match");
        }
        let distinct: BTreeSet<&String> = got.iter().collect();
        assert_eq!(distinct.len(), got.len(), "each user once: {got:?}");
    }
    let q = query(&s, SEARCH, expr("*"), false, SEED.len() + 1);
    assert_eq!(
        found(&s, &q).await.len(),
        SEED.len(),
        "a limit above the count"
    );
    let q = query(&s, SEARCH, expr("*"), false, 0);
    assert!(found(&s, &q).await.is_empty(), "limit 0 finds nothing");
}
read_case!(read_search_limit);

/// A list search finds the same users, in the same order, as the full search, each with its
/// list-field values.
pub async fn read_search_list_agrees(s: ReadStores) {
    check_settings(&s);
    for t in ["*", "j*", "ann*", "*üll*", "acme", "nobody"] {
        for valid_only in [true, false] {
            // `found` compares the two.
            found(&s, &query(&s, SEARCH, expr(t), valid_only, 100)).await;
        }
    }
    found(&s, &query(&s, SEARCH, expr("*"), false, 2)).await;
    let listed = s
        .users
        .search_list(&term(&s, "JDoe"))
        .await
        .expect("search_list");
    let jdoe = s.users.get("JDoe").await.expect("get").expect("JDoe");
    assert_eq!(
        listed,
        [ListedUser::of(&jdoe, s.users.settings())],
        "the list values of JDoe"
    );
}
read_case!(read_search_list_agrees);

/// A limited search says whether more matched: the page of the full search and of the list
/// search holds at most the limit, the same users as a plain search, and `more_matched` is
/// true exactly when more users match than the limit (limit 0 included).
pub async fn read_search_page_says_more_matched(s: ReadStores) {
    check_settings(&s);
    for valid_only in [true, false] {
        let matching = seed_logins(valid_only).len();
        for limit in 0..=matching + 1 {
            let q = query(&s, SEARCH, expr("*"), valid_only, limit);
            let what = format!("limit {limit} of {matching} (valid only: {valid_only})");
            let page = s
                .users
                .search_page(&q)
                .await
                .unwrap_or_else(|e| panic!("search_page, {what}: {e}"));
            let logins: Vec<String> = page
                .hits
                .iter()
                .map(|u| u.login.as_str().to_owned())
                .collect();
            assert_eq!(logins.len(), limit.min(matching), "{what}: hits");
            assert_sorted(&logins, &what);
            assert_eq!(page.more_matched, limit < matching, "{what}: more matched");
            let list = s
                .users
                .search_list_page(&q)
                .await
                .unwrap_or_else(|e| panic!("search_list_page, {what}: {e}"));
            let expected: Vec<ListedUser> = page
                .hits
                .iter()
                .map(|u| ListedUser::of(u, s.users.settings()))
                .collect();
            assert_eq!(list.hits, expected, "{what}: the list page agrees");
            assert_eq!(list.more_matched, page.more_matched, "{what}: list page");
        }
    }
    let nobody = term(&s, "nobody-at-all");
    let page = s.users.search_page(&nobody).await.expect("search_page");
    assert!(
        page.hits.is_empty() && !page.more_matched,
        "no match: {page:?}"
    );
}
read_case!(read_search_page_says_more_matched);

/// Distinct primary customer ids, sorted case-insensitively, valid users' only when asked,
/// filtered by a term over the customer id.
pub async fn read_customer_id_list(s: ReadStores) {
    check_settings(&s);
    let ids = |v: Vec<clientele_model::CustomerId>| {
        v.into_iter().map(|c| c.into_string()).collect::<Vec<_>>()
    };
    let list = |term: Option<Expr>, valid_only: bool| {
        let users = s.users.clone();
        async move {
            users
                .customer_id_list(term.as_ref(), valid_only)
                .await
                .unwrap_or_else(|e| panic!("customer_id_list: {e}"))
        }
    };
    assert_eq!(
        ids(list(None, true).await),
        ["acme", "GLOBEX", "Initech"],
        "valid users' primary ids, case-insensitively sorted, secondary ids not among them"
    );
    assert_eq!(
        ids(list(None, false).await),
        ["acme", "GLOBEX", "Initech", "Umbrella"]
    );
    if !s.users.settings().case_sensitive {
        assert_eq!(ids(list(Some(expr("glob*")), true).await), ["GLOBEX"]);
        assert_eq!(
            ids(list(Some(expr("*E*")), true).await),
            ["acme", "GLOBEX", "Initech"]
        );
        assert_eq!(
            ids(list(Some(expr("umb*")), true).await),
            Vec::<String>::new()
        );
        assert_eq!(ids(list(Some(expr("umb*")), false).await), ["Umbrella"]);
    }
    assert!(list(Some(expr("nothing*")), false).await.is_empty());
}
read_case!(read_customer_id_list);

/// Detail searches: a condition on a field, ordered as asked; the count agrees; the customer
/// id list, the exclusion list and validity narrow the result.
pub async fn read_detail_search(s: ReadStores) {
    check_settings(&s);
    let cond = |key: &str, p: &str| FieldCondition {
        attribute: key.into(),
        pattern: Pattern::from_wildcards(p),
    };
    let run = |q: DetailSearch| {
        let users = s.users.clone();
        async move {
            let logins = users
                .search_detail(&q)
                .await
                .unwrap_or_else(|e| panic!("search_detail {q:?}: {e}"));
            let count = users
                .count_detail(&q)
                .await
                .unwrap_or_else(|e| panic!("count_detail {q:?}: {e}"));
            let logins: Vec<String> = logins.into_iter().map(|l| l.into_string()).collect();
            if q.limit.is_none() {
                assert_eq!(count, logins.len() as u64, "count of {q:?}");
            }
            (logins, count)
        }
    };
    let j_first = DetailSearch {
        conditions: vec![cond(keys::FIRST_NAME, "J*")],
        order_by: vec![(keys::LAST_NAME.into(), Direction::Ascending)],
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(run(j_first.clone()).await.0, ["JDoe", "jmüller"]);
    let down = DetailSearch {
        order_by: vec![(keys::LAST_NAME.into(), Direction::Descending)],
        ..j_first.clone()
    };
    assert_eq!(run(down.clone()).await.0, ["jmüller", "JDoe"]);
    let one = DetailSearch {
        limit: Some(1),
        ..down
    };
    let (first, count) = run(one).await;
    assert_eq!(first, ["jmüller"], "the limit cuts after ordering");
    assert_eq!(count, 2, "the count ignores the limit");

    let berg = DetailSearch {
        conditions: vec![cond(keys::LAST_NAME, "*berg")],
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(run(berg.clone()).await.0, ["anna"]);
    let mut all_berg = run(DetailSearch {
        valid_only: false,
        ..berg
    })
    .await
    .0;
    all_berg.sort();
    assert_eq!(all_berg, ["anna", "annette"]);

    let acme = DetailSearch {
        customer_ids: vec!["acme".into()],
        order_by: vec![(keys::LOGIN.into(), Direction::Ascending)],
        valid_only: true,
        ..DetailSearch::default()
    };
    assert_eq!(
        run(acme.clone()).await.0,
        ["anna", "JDoe"],
        "order keys compare case-insensitively"
    );
    let acme_but_jdoe = DetailSearch {
        exclude_logins: vec!["JDoe".into()],
        ..acme
    };
    assert_eq!(run(acme_but_jdoe).await.0, ["anna"]);
    let nobody = DetailSearch {
        conditions: vec![cond(keys::EMAIL, "*@nowhere.test")],
        valid_only: false,
        ..DetailSearch::default()
    };
    assert_eq!(run(nobody).await, (Vec::<String>::new(), 0));
}
read_case!(read_detail_search);

/// Filter and SQL syntax in a search value is literal: `*)(uid=*`, `%`, `_`, parentheses,
/// backslashes and quotes match nothing and are not refused; a value with a NUL matches nothing
/// or is refused. Never everything.
pub async fn read_hostile_terms(s: ReadStores) {
    check_settings(&s);
    let everywhere = [
        SEARCH,
        FieldSet::Login,
        FieldSet::CustomerId,
        FieldSet::PostmasterFields,
    ];
    let substring =
        |v: &str| Pattern::new([Part::Wildcard, Part::Literal(v.into()), Part::Wildcard]);
    for attack in [
        ")(uid=",
        "*)(uid=*",
        "*)(|(objectClass=*",
        "%",
        "_",
        "%%",
        "(",
        ")",
        "\\",
        "\\2a",
        "JDoe)",
        "JDoe\0",
        "\0",
        "' OR '1'='1",
    ] {
        let nul = attack.contains('\0');
        for pattern in [Pattern::exact(attack), substring(attack)] {
            for fields in everywhere {
                for valid_only in [true, false] {
                    let q = query(&s, fields, Expr::Match(pattern.clone()), valid_only, 100);
                    nothing(
                        s.users.search(&q).await,
                        nul,
                        &format!("search {pattern:?} over {fields:?}"),
                    );
                    nothing(
                        s.users.search_list(&q).await,
                        nul,
                        &format!("search_list {pattern:?} over {fields:?}"),
                    );
                }
            }
            nothing(
                s.users
                    .customer_id_list(Some(&Expr::Match(pattern.clone())), false)
                    .await,
                nul,
                &format!("customer_id_list {pattern:?}"),
            );
            let detail = DetailSearch {
                conditions: vec![FieldCondition {
                    attribute: keys::LOGIN.into(),
                    pattern: pattern.clone(),
                }],
                ..DetailSearch::default()
            };
            nothing(
                s.users.search_detail(&detail).await,
                nul,
                &format!("search_detail {pattern:?}"),
            );
            match s.users.count_detail(&detail).await {
                Ok(n) => assert_eq!(n, 0, "count_detail {pattern:?}"),
                Err(e) if nul => assert!(!e.is_outage(), "count_detail {pattern:?}: {e:?}"),
                Err(e) => panic!("count_detail {pattern:?} must be taken literally: {e}"),
            }
        }
        match s.users.get(attack).await {
            Ok(None) => {}
            Err(e) if nul => assert!(!e.is_outage(), "get {attack:?}: {e:?}"),
            other => panic!("get {attack:?} must find nobody: {other:?}"),
        }
    }
    // Wildcards only where the query has them: the control.
    let q = query(
        &s,
        SEARCH,
        Expr::Match(Pattern::new([Part::Wildcard])),
        true,
        100,
    );
    assert_eq!(found(&s, &q).await, seed_logins(true));
}
read_case!(read_hostile_terms);

/// A store that keeps password hashes finds them by the login's case rule, with the stored
/// login; unknown users have none.
pub async fn read_password_hash_case_rule(s: ReadStores) {
    let Some(passwords) = &s.passwords else {
        return;
    };
    let case_sensitive = s.users.settings().case_sensitive;
    for seed in SEED {
        let (stored, hash) = passwords
            .password_hash(seed.login)
            .await
            .unwrap_or_else(|e| panic!("password_hash {}: {e}", seed.login))
            .unwrap_or_else(|| panic!("{} has no entry", seed.login));
        assert_eq!(stored.as_str(), seed.login);
        assert!(
            hash.as_deref().is_some_and(|h| !h.is_empty()),
            "{}: a seeded user has a hash",
            seed.login
        );
        let other = passwords
            .password_hash(&seed.other_case_login())
            .await
            .unwrap_or_else(|e| panic!("password_hash {}: {e}", seed.other_case_login()));
        match (case_sensitive, other) {
            (true, None) => {}
            (false, Some((l, h))) => {
                assert_eq!(l.as_str(), seed.login, "the stored login");
                assert_eq!(h, hash, "the same user's hash");
            }
            (_, other) => panic!(
                "password_hash {} under the case rule: {other:?}",
                seed.other_case_login()
            ),
        }
    }
    for unknown in ["nobody", "*", "JDoe*", "%"] {
        let got = passwords
            .password_hash(unknown)
            .await
            .expect("password_hash");
        assert!(got.is_none(), "password_hash {unknown:?}: {got:?}");
    }
}
read_case!(read_password_hash_case_rule);

/// A store that checks passwords itself accepts the right one for a valid user, by any case
/// of the login under a case-insensitive rule, and answers `false` alike for a wrong or empty
/// password and an unknown user.
pub async fn read_bind(s: ReadStores) {
    let Some(binder) = &s.binder else {
        return;
    };
    let case_sensitive = s.users.settings().case_sensitive;
    let bind = |login: String, pw: &str| {
        let binder = binder.clone();
        let pw = Password::new(pw);
        async move {
            binder
                .bind(&login, &pw)
                .await
                .unwrap_or_else(|e| panic!("bind {login}: {e}"))
        }
    };
    for seed in SEED.iter().filter(|u| u.validity.is_valid()) {
        assert!(
            bind(seed.login.into(), seed.password).await,
            "{} binds",
            seed.login
        );
        if !case_sensitive {
            assert!(
                bind(seed.other_case_login(), seed.password).await,
                "{} binds as {}",
                seed.login,
                seed.other_case_login()
            );
        }
        assert!(
            !bind(seed.login.into(), "wrong-Secret-1").await,
            "{}: wrong password",
            seed.login
        );
        assert!(
            !bind(seed.login.into(), "").await,
            "{}: empty password",
            seed.login
        );
        assert!(
            !bind(seed.login.into(), &other_case(seed.password)).await,
            "{}: passwords are case-sensitive",
            seed.login
        );
    }
    let jdoe = SeedUser::named("JDoe");
    assert!(
        !bind("nobody".into(), jdoe.password).await,
        "an unknown user"
    );
    assert!(!bind("*".into(), jdoe.password).await, "a wildcard login");
    assert!(
        !bind("MMuster".into(), jdoe.password).await,
        "another user's password"
    );
}
read_case!(read_bind);
