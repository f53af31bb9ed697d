//! The read-only part of the Directory-level suite: look-ups, searches, customer ids and
//! authentication through a [`Directory`] whose sources already hold the storage level's seed
//! data set ([`SEED`]). A Directory over a read-only source (LDAP) runs this part and nothing
//! else; one over a writable source runs it as well as the rest of the suite, seeded through
//! the Directory with [`seed_directory`].
//!
//! The seed's answers assume every source searches the fields of [`SEARCH_KEYS`] with the
//! suffix `*` and the prefix `*` or none (OTOBO's DB default or its LDAP example): each term
//! below matches its users at the start of a value, so both prefixes find the same users. The
//! answers of term and other searches are stated for case-insensitive sources (OTOBO's
//! default); with a case-sensitive source those cases are passed by.
//!
//! ```ignore
//! struct Memory(Directory);
//! #[async_trait::async_trait]
//! impl clientele_directory::conformance::read::ReadHarness for Memory {
//!     async fn setup() -> Self {
//!         let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
//!         seed_directory(&dir).await;
//!         Memory(dir)
//!     }
//!     fn directory(&self) -> &Directory { &self.0 }
//!     fn passwords_known(&self) -> bool { true }
//!     async fn teardown(self) {}
//! }
//! fn main() {
//!     let args = libtest_mimic::Arguments::from_args();
//!     libtest_mimic::run(&args, read_trials::<Memory>("memory", None)).exit();
//! }
//! ```
//!
//! Each function panics with a message naming the behaviour when the Directory misbehaves.
//!
//! [`SEARCH_KEYS`]: clientele_backend::conformance::read::SEARCH_KEYS

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use clientele_backend::Error;
use clientele_backend::conformance::case_trials;
pub use clientele_backend::conformance::read::{SEED, SeedUser};
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Direction, FieldCondition, Pattern,
};
use clientele_model::{NewCustomerCompany, Password, keys};

use crate::Directory;

/// Sets up and tears down one Directory whose sources hold [`SEED`] (or hands out one seeded
/// once, since no case writes).
#[async_trait]
pub trait ReadHarness: Sized + Send + Sync + 'static {
    /// A Directory whose sources hold exactly the seed (see the module documentation for the
    /// search settings the answers assume).
    async fn setup() -> Self;
    /// The Directory under test.
    fn directory(&self) -> &Directory;
    /// Whether the seed users' passwords ([`SeedUser::password`]) log them in: a bind against
    /// a directory that has them, or hashes the Directory stored when it seeded.
    fn passwords_known(&self) -> bool;
    /// Removes the store.
    async fn teardown(self);
}

/// What a read case runs against.
#[derive(Clone, Copy)]
pub struct Seeded<'a> {
    /// The Directory over the seeded sources.
    pub directory: &'a Directory,
    /// [`ReadHarness::passwords_known`].
    pub passwords_known: bool,
}

/// One registered read-only behaviour (see [`read_trials`]).
pub struct ReadCase {
    /// The behaviour's name (its function's).
    pub name: &'static str,
    /// Runs it through a seeded Directory.
    pub run: for<'a> fn(Seeded<'a>) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
}

inventory::collect!(ReadCase);

macro_rules! read_case {
    ($name:ident) => {
        const _: () = {
            fn run<'a>(
                s: Seeded<'a>,
            ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
                Box::pin($name(s))
            }
            inventory::submit! {
                ReadCase { name: stringify!($name), run }
            }
        };
    };
}

/// One `libtest-mimic` trial per registered read-only behaviour, named `prefix::behaviour`,
/// each on a Directory from `H` in a runtime of its own. `ignored` marks them all ignored with
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
        run(Seeded {
            directory: harness.directory(),
            passwords_known: harness.passwords_known(),
        })
        .await;
        harness.teardown().await;
    })
}

/// Writes the seed through a Directory: every customer id as a company (when the Directory
/// has a company store), then every user with its password and validity into the source an
/// add goes to (secondary ids where that source keeps them).
pub async fn seed_directory(dir: &Directory) {
    if dir.companies().is_ok() {
        let mut ids: Vec<&str> = SEED
            .iter()
            .flat_map(|u| {
                std::iter::once(u.customer_id).chain(u.secondary_customer_ids.iter().copied())
            })
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            dir.add_company(NewCustomerCompany::new(id, &format!("{id} Ltd")), super::BY)
                .await
                .unwrap_or_else(|e| panic!("seeding company {id}: {e}"));
        }
    }
    let target = dir
        .add_target(None)
        .unwrap_or_else(|e| panic!("seeding needs a writable source: {e}"))
        .to_owned();
    let settings = dir
        .source_settings(&target)
        .unwrap_or_else(|| panic!("no settings for {target}"))
        .clone();
    for seed in SEED {
        dir.add_customer_user(seed.new_user(&settings).password(seed.password), super::BY)
            .await
            .unwrap_or_else(|e| panic!("seeding {}: {e}", seed.login));
    }
}

// ------------------------------------------------------------------ helpers

/// The logins a search finds, in the order returned (the list search checked against it).
async fn found(dir: &Directory, search: &CustomerUserSearch) -> Vec<String> {
    super::found_logins(dir, search).await
}

async fn expect(dir: &Directory, search: CustomerUserSearch, expected: &[&str]) {
    assert_eq!(found(dir, &search).await, expected, "{search:?}");
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

/// Whether the source that owns `login` compares logins case-sensitively.
async fn owner_case_sensitive(dir: &Directory, login: &str) -> bool {
    let (_, source) = dir
        .customer_user_with_source(login)
        .await
        .unwrap_or_else(|e| panic!("look-up {login}: {e}"))
        .unwrap_or_else(|| panic!("{login} not found"));
    dir.source_settings(&source)
        .unwrap_or_else(|| panic!("no settings for {source}"))
        .case_sensitive
}

/// Panics unless every source is configured as the seed's answers assume: the search fields
/// of [`SEARCH_KEYS`], the email as the postmaster field, suffix `*` and prefix `*` or none.
///
/// [`SEARCH_KEYS`]: clientele_backend::conformance::read::SEARCH_KEYS
fn check_sources(dir: &Directory) {
    use clientele_backend::conformance::read::SEARCH_KEYS;
    use clientele_backend::matching::field_keys;
    use clientele_model::search::FieldSet;
    for name in dir.source_names() {
        let s = dir
            .source_settings(&name)
            .unwrap_or_else(|| panic!("no settings for {name}"));
        let searched = field_keys(
            s,
            FieldSet::SearchFields {
                exclude_customer_id: false,
            },
        );
        let searched: BTreeSet<&str> = searched.iter().map(String::as_str).collect();
        assert!(
            searched == BTreeSet::from(SEARCH_KEYS) && s.search_fields.len() == SEARCH_KEYS.len(),
            "harness: the search fields {:?} of {name} must stand for exactly {SEARCH_KEYS:?}",
            s.search_fields
        );
        assert_eq!(
            field_keys(s, FieldSet::PostmasterFields),
            [keys::EMAIL],
            "harness: the postmaster fields of {name} must be the email"
        );
        assert!(
            s.syntax.suffix == "*" && ["", "*"].contains(&s.syntax.prefix.as_str()),
            "harness: {name} must search with suffix `*` and prefix `*` or none, not {:?}",
            s.syntax
        );
    }
}

async fn any_case_sensitive(dir: &Directory) -> bool {
    dir.source_names()
        .iter()
        .any(|n| dir.source_settings(n).is_some_and(|s| s.case_sensitive))
}

// ------------------------------------------------------------------ cases

/// Every seed user is found with its data, its source and its name; by any case of its login
/// when the owning source ignores case; unknown logins are `None`.
pub async fn read_find_customer_user(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    for seed in SEED {
        let (u, source) = dir
            .customer_user_with_source(seed.login)
            .await
            .unwrap_or_else(|e| panic!("look-up {}: {e}", seed.login))
            .unwrap_or_else(|| panic!("{} not found", seed.login));
        assert!(dir.source_names().contains(&source), "{source} is a source");
        assert_eq!(u.login.as_str(), seed.login);
        assert_eq!(
            (u.first_name.as_str(), u.last_name.as_str()),
            (seed.first_name, seed.last_name)
        );
        assert_eq!(u.email.as_str(), seed.email);
        assert_eq!(u.customer_id.as_str(), seed.customer_id);
        assert_eq!(u.validity, seed.validity, "validity of {}", seed.login);
        assert_eq!(
            dir.customer_name(seed.login)
                .await
                .expect("name")
                .as_deref(),
            Some(format!("{} {}", seed.first_name, seed.last_name).as_str()),
            "the name of {}",
            seed.login
        );
        let other = dir
            .customer_user(&seed.other_case_login())
            .await
            .unwrap_or_else(|e| panic!("look-up {}: {e}", seed.other_case_login()));
        if owner_case_sensitive(dir, seed.login).await {
            assert!(
                other.is_none(),
                "{} found as {}",
                seed.login,
                seed.other_case_login()
            );
        } else {
            assert_eq!(
                other.map(|u| u.login.into_string()).as_deref(),
                Some(seed.login),
                "{} by another case, stored case returned",
                seed.other_case_login()
            );
        }
    }
    for login in ["nobody", "JDo", "JDoe*", "*", "%", "jmüll"] {
        assert!(
            dir.customer_user(login).await.expect("look-up").is_none(),
            "{login:?} must find nobody"
        );
    }
}
read_case!(read_find_customer_user);

/// The batched look-up answers each login as `customer_user` does, in the order asked: stored
/// and other cases, unknown and empty logins, a malformed one (refused alike), a login given
/// twice, and a list long enough to need several statements of a SQL source; asked twice, so
/// the second answers come from whatever the first cached.
pub async fn read_customer_users_by_logins(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    let mut logins: Vec<String> = Vec::new();
    for seed in SEED {
        logins.push(seed.login.to_owned());
        logins.push(seed.other_case_login());
        logins.push(seed.login.to_uppercase());
    }
    for other in [
        "nobody",
        "JDo",
        "JDoe*",
        "*",
        "%",
        "jmüll",
        "",
        "nul\0login",
    ] {
        logins.push(other.to_owned());
    }
    logins.push("x".repeat(crate::search::MAX_SEARCH_VALUE + 1));
    logins.push(SEED[0].login.to_owned());
    logins.extend((0..2_100).map(|i| format!("user-{i:05}")));
    logins.push(SEED[1].other_case_login());
    for round in ["first", "second"] {
        let many = dir
            .customer_users_by_logins(&logins)
            .await
            .unwrap_or_else(|e| panic!("{round} batched look-up: {e}"));
        assert_eq!(many.len(), logins.len(), "one answer per login asked");
        for (login, answer) in logins.iter().zip(many) {
            let one = dir.customer_user(login).await;
            match (answer, one) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{round} batched and single look-up of {login:?}")
                }
                (Err(a), Err(b)) => assert_eq!(
                    a.to_string(),
                    b.to_string(),
                    "{round}: both refuse {login:?} alike"
                ),
                (a, b) => {
                    panic!("{round}: batched look-up of {login:?} answered {a:?}, single {b:?}")
                }
            }
        }
    }
    let none = dir
        .customer_users_by_logins::<&str>(&[])
        .await
        .expect("a look-up of no logins");
    assert!(none.is_empty());
}
read_case!(read_customer_users_by_logins);

/// Terms over the search fields, in any case and script, with AND, OR and NOT; valid users
/// only unless invalid ones are asked for.
pub async fn read_search_terms(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    if any_case_sensitive(dir).await {
        return;
    }
    let t = CustomerUserSearch::term;
    expect(dir, t("ann"), &["anna"]).await;
    expect(dir, t("ann").include_invalid(), &["anna", "annette"]).await;
    expect(dir, t("j"), &["JDoe", "jmüller"]).await;
    expect(dir, t("müll"), &["jmüller"]).await;
    expect(dir, t("MÜLLER"), &["jmüller"]).await;
    expect(dir, t("ōtsuka"), &["otsuka"]).await;
    expect(dir, t("カスミ"), &["otsuka"]).await;
    expect(dir, t("JDOE"), &["JDoe"]).await;
    expect(dir, t("acme"), &["JDoe", "anna"]).await;
    expect(dir, t("umbrella"), &[]).await;
    expect(dir, t("umbrella").include_invalid(), &["annette"]).await;
    expect(dir, t("ann OR müll"), &["anna", "jmüller"]).await;
    expect(dir, t("j+!müll"), &["JDoe"]).await;
    expect(dir, t("nobody"), &[]).await;
}
read_case!(read_search_terms);

/// Login, email, customer-id and exact customer-id searches.
pub async fn read_search_kinds(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    if any_case_sensitive(dir).await {
        return;
    }
    expect(dir, CustomerUserSearch::login("j*"), &["JDoe", "jmüller"]).await;
    expect(dir, CustomerUserSearch::login("JMÜLLER"), &["jmüller"]).await;
    expect(dir, CustomerUserSearch::login("JDo"), &[]).await;
    expect(
        dir,
        CustomerUserSearch::email("JOHN.DOE@acme-corp.test"),
        &["JDoe"],
    )
    .await;
    expect(dir, CustomerUserSearch::email("john.doe"), &[]).await;
    expect(
        dir,
        CustomerUserSearch::customer_id("glob*"),
        &["MMuster", "jmüller"],
    )
    .await;
    expect(
        dir,
        CustomerUserSearch::customer_id_raw("GLOBEX"),
        &["MMuster", "jmüller"],
    )
    .await;
    expect(dir, CustomerUserSearch::customer_id_raw("GLOB*"), &[]).await;
    expect(
        dir,
        CustomerUserSearch::customer_id("Umbrella").include_invalid(),
        &["annette"],
    )
    .await;
}
read_case!(read_search_kinds);

/// Merged results are sorted by login (code point order), each user once, cut to the limit;
/// the list search agrees.
pub async fn read_search_sorted_and_limited(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    let all = CustomerUserSearch::term("*").include_invalid();
    assert_eq!(
        found(dir, &all).await,
        seed_logins(false),
        "every seed user once, sorted"
    );
    assert_eq!(
        found(dir, &CustomerUserSearch::term("*")).await,
        seed_logins(true),
        "every valid seed user"
    );
    for limit in [1, 2, 5] {
        let got = found(dir, &all.clone().limit(limit)).await;
        assert_eq!(got.len(), limit, "limit {limit}");
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(got, sorted, "limited results sorted, each once");
        for l in &got {
            assert!(
                seed_logins(false).contains(&l.as_str()),
                "{l} is a seed user"
            );
        }
    }
    assert_eq!(
        found(dir, &all.clone().limit(SEED.len() + 3)).await.len(),
        SEED.len()
    );
}
read_case!(read_search_sorted_and_limited);

/// Customer ids: a user's own (secondary ids where kept, then the primary id), and the list
/// of primary ids, sorted case-insensitively, filtered by validity and term.
pub async fn read_customer_ids(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    let strings = |v: Vec<clientele_model::CustomerId>| {
        v.into_iter().map(|c| c.into_string()).collect::<Vec<_>>()
    };
    for seed in SEED {
        let ids = strings(
            dir.customer_ids(seed.login)
                .await
                .unwrap_or_else(|e| panic!("customer ids of {}: {e}", seed.login)),
        );
        let (_, source) = dir
            .customer_user_with_source(seed.login)
            .await
            .expect("look-up")
            .expect("seed user");
        let settings = dir.source_settings(&source).expect("settings");
        let secondary: Vec<&str> = if SeedUser::keeps_secondary_ids(settings) {
            seed.secondary_customer_ids.to_vec()
        } else {
            Vec::new()
        };
        let n = secondary.len();
        assert!(ids.len() > n, "{}: {ids:?}", seed.login);
        let got_secondary: BTreeSet<&str> = ids[..n].iter().map(String::as_str).collect();
        assert_eq!(
            got_secondary,
            secondary.iter().copied().collect::<BTreeSet<_>>(),
            "{}: secondary ids first",
            seed.login
        );
        assert_eq!(
            ids[n], seed.customer_id,
            "{}: then the primary id",
            seed.login
        );
    }
    assert!(matches!(
        dir.customer_ids("nobody").await,
        Err(Error::NotFound { .. })
    ));
    let list = |term: Option<&'static str>, valid_only: bool| async move {
        strings(
            dir.customer_id_list(term, valid_only)
                .await
                .unwrap_or_else(|e| panic!("customer_id_list {term:?}: {e}")),
        )
    };
    assert_eq!(list(None, true).await, ["acme", "GLOBEX", "Initech"]);
    assert_eq!(
        list(None, false).await,
        ["acme", "GLOBEX", "Initech", "Umbrella"]
    );
    if !any_case_sensitive(dir).await {
        assert_eq!(list(Some("glob"), true).await, ["GLOBEX"]);
        assert_eq!(list(Some("umb"), true).await, Vec::<String>::new());
        assert_eq!(list(Some("umb"), false).await, ["Umbrella"]);
    }
}
read_case!(read_customer_ids);

/// Detail searches and counts through the Directory.
pub async fn read_detail_search(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    let q = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: keys::FIRST_NAME.into(),
            pattern: Pattern::from_wildcards("J*"),
        }],
        order_by: vec![(keys::LAST_NAME.into(), Direction::Ascending)],
        valid_only: true,
        ..DetailSearch::default()
    };
    let logins =
        |v: Vec<clientele_model::Login>| v.into_iter().map(|l| l.into_string()).collect::<Vec<_>>();
    assert_eq!(
        logins(dir.search_detail(&q).await.expect("detail")),
        ["JDoe", "jmüller"]
    );
    assert_eq!(dir.count_detail(&q).await.expect("count"), 2);
    let invalid_too = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: keys::CUSTOMER_ID.into(),
            pattern: Pattern::from_wildcards("Umbrella"),
        }],
        valid_only: false,
        ..DetailSearch::default()
    };
    assert_eq!(
        logins(dir.search_detail(&invalid_too).await.expect("detail")),
        ["annette"]
    );
    let valid = DetailSearch {
        valid_only: true,
        ..invalid_too
    };
    assert_eq!(dir.count_detail(&valid).await.expect("count"), 0);
}
read_case!(read_detail_search);

/// Valid users log in with their password by any case of the login (when the owning source
/// ignores case), getting the stored login back; a wrong or empty password, an unknown user
/// and an invalid user all fail alike.
pub async fn read_authenticate(s: Seeded<'_>) {
    if !s.passwords_known {
        return;
    }
    let dir = s.directory;
    let fails = |login: String, pw: &'static str| async move {
        let r = dir.authenticate(&login, &Password::new(pw)).await;
        assert!(
            matches!(r, Err(Error::AuthenticationFailed)),
            "{login} with a bad password: {r:?}"
        );
    };
    for seed in SEED {
        if !seed.validity.is_valid() {
            fails(seed.login.into(), seed.password).await;
            continue;
        }
        let login = if owner_case_sensitive(dir, seed.login).await {
            seed.login.to_owned()
        } else {
            seed.other_case_login()
        };
        let ok = dir
            .authenticate(&login, &Password::new(seed.password))
            .await
            .unwrap_or_else(|e| panic!("{login} with the right password: {e}"));
        assert_eq!(ok.as_str(), seed.login, "the stored login");
        fails(seed.login.into(), "wrong-Secret-1").await;
        fails(seed.login.into(), "").await;
    }
    fails("nobody".into(), SeedUser::named("JDoe").password).await;
    fails("MMuster".into(), SeedUser::named("JDoe").password).await;
}
read_case!(read_authenticate);

/// Filter and SQL syntax in any search value is literal or refused, never a match; a NUL is
/// refused naming the search parameter.
pub async fn read_hostile_input(s: Seeded<'_>) {
    let dir = s.directory;
    check_sources(dir);
    let nothing = |r: Result<Vec<String>, Error>, what: String| match r {
        Ok(v) => assert!(v.is_empty(), "{what} must match nothing, found {v:?}"),
        Err(Error::Invalid(_)) => {}
        Err(e) => panic!("{what}: {e}"),
    };
    let logins = |r: Result<Vec<crate::SearchHit>, Error>| {
        r.map(|v| v.into_iter().map(|h| h.user.login.into_string()).collect())
    };
    for attack in [
        "*)(uid=*",
        "*)(|(objectClass=*",
        ")(uid=",
        "%",
        "_",
        "(",
        ")",
        "\\",
        "JDoe)",
        "' OR '1'='1",
    ] {
        for search in [
            CustomerUserSearch::term(attack),
            CustomerUserSearch::login(attack),
            CustomerUserSearch::email(attack),
            CustomerUserSearch::customer_id(attack),
            CustomerUserSearch::customer_id_raw(attack),
        ] {
            let search = search.include_invalid();
            nothing(logins(dir.search(&search).await), format!("{search:?}"));
        }
        assert!(
            dir.customer_user(attack).await.expect("look-up").is_none(),
            "look-up {attack:?}"
        );
        nothing(
            dir.customer_id_list(Some(attack), false)
                .await
                .map(|v| v.into_iter().map(|c| c.into_string()).collect()),
            format!("customer_id_list {attack:?}"),
        );
    }
    for nul in ["\0", "JDoe\0", "*\0*"] {
        for search in [
            CustomerUserSearch::term(nul),
            CustomerUserSearch::login(nul),
            CustomerUserSearch::email(nul),
        ] {
            assert!(
                matches!(dir.search(&search).await, Err(Error::Invalid(_))),
                "a NUL is refused: {search:?}"
            );
        }
    }
}
read_case!(read_hostile_input);
