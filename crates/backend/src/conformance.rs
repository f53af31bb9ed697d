//! The storage-level conformance suite (feature `testkit`): one function per behaviour every
//! store of customer data must show, run against the store's trait objects directly.
//!
//! Nothing sits between the suite and the store here — no Directory validating input first,
//! no cache answering for it, no merge of sources — so a store that breaks the contract cannot
//! hide behind them. (What needs hashing, caching, several sources or the Directory's own
//! checks is the Directory-level suite's, in `clientele-directory`'s `conformance` module.)
//!
//! Every function registers itself; a backend crate runs them all without keeping a list, with
//! a [`StoreHarness`] and [`trials`] in a test target that has `harness = false`:
//!
//! ```ignore
//! struct Memory(Arc<InMemoryBackend>);
//! #[async_trait::async_trait]
//! impl clientele_backend::conformance::StoreHarness for Memory {
//!     async fn setup() -> Self { Memory(Arc::new(InMemoryBackend::new())) }
//!     fn stores(&self) -> Stores { Stores::all(self.0.clone()) }
//!     async fn teardown(self) {}
//! }
//! fn main() {
//!     let args = libtest_mimic::Arguments::from_args();
//!     libtest_mimic::run(&args, clientele_backend::conformance::trials::<Memory>("memory", None)).exit();
//! }
//! ```
//!
//! Each function panics with a message naming the behaviour when the store misbehaves.

pub mod read;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use clientele_model::permission::{GroupId, PermissionContext, PermissionType, Stored};
use clientele_model::search::{Expr, FieldSet, UserQuery, parse_term};
use clientele_model::{
    Actor, CustomerCompany, CustomerUser, EmailCheck, Login, NewCustomerCompany, NewCustomerUser,
    Rules, Validity, keys,
};

use crate::error::Error;
use crate::traits::*;

/// Who the suite's writes are by.
const BY: Actor = Actor::System;

/// A well-formed permission type.
fn ptype(name: &str) -> PermissionType {
    PermissionType::new(name).expect("a well-formed permission type")
}

/// The capabilities of the store under test, as trait objects.
#[derive(Clone)]
pub struct Stores {
    /// The read side.
    pub users: Arc<dyn CustomerUserSource>,
    /// The write side.
    pub writer: Arc<dyn CustomerUserWriter>,
    /// Stored password hashes.
    pub passwords: Arc<dyn PasswordStore>,
    /// Companies.
    pub companies: Arc<dyn CompanyStore>,
    /// Relations, groups, grants, services.
    pub relations: Arc<dyn RelationStore>,
    /// Preferences.
    pub preferences: Arc<dyn PreferenceStore>,
    /// The bulk writer, when the store has one.
    pub bulk: Option<Arc<dyn BulkWriter>>,
}

impl Stores {
    /// Every capability from one store that has them all (a database, the in-memory backend).
    pub fn all<S>(store: Arc<S>) -> Stores
    where
        S: CustomerUserSource
            + CustomerUserWriter
            + PasswordStore
            + CompanyStore
            + RelationStore
            + PreferenceStore
            + BulkWriter
            + 'static,
    {
        Stores {
            users: store.clone(),
            writer: store.clone(),
            passwords: store.clone(),
            companies: store.clone(),
            relations: store.clone(),
            preferences: store.clone(),
            bulk: Some(store),
        }
    }
}

/// Sets up and tears down one empty store (a new database, a new file) per behaviour.
#[async_trait]
pub trait StoreHarness: Sized + Send + Sync + 'static {
    /// A fresh, empty store with default settings.
    async fn setup() -> Self;
    /// Its capabilities.
    fn stores(&self) -> Stores;
    /// Removes the store.
    async fn teardown(self);
}

/// One registered behaviour.
pub struct Case {
    /// The behaviour's name (its function's).
    pub name: &'static str,
    /// Runs it against a store.
    pub run: fn(Stores) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

inventory::collect!(Case);

macro_rules! case {
    ($name:ident) => {
        inventory::submit! {
            Case { name: stringify!($name), run: |s| Box::pin($name(s)) }
        }
    };
}
pub(crate) use case;

pub mod catalog;

/// One `libtest-mimic` trial per registered behaviour, named `prefix::behaviour`, each on a
/// fresh store from `H` in a runtime of its own. `ignored` marks them all ignored with that
/// reason (server-backed stores; `--include-ignored` runs them).
pub fn trials<H: StoreHarness>(prefix: &str, ignored: Option<&str>) -> Vec<libtest_mimic::Trial> {
    let cases = inventory::iter::<Case>.into_iter().map(|c| (c.name, c.run));
    case_trials(prefix, ignored, cases, |run| async move {
        let harness = H::setup().await;
        run(harness.stores()).await;
        harness.teardown().await;
    })
}

/// One trial per registered case, sorted by name and named `prefix::case`, each run by
/// `trial` (set-up, the case, tear-down) through [`async_trial`]: what every suite's `trials`
/// function returns, at either level.
pub fn case_trials<R, Fut>(
    prefix: &str,
    ignored: Option<&str>,
    cases: impl IntoIterator<Item = (&'static str, R)>,
    trial: impl Fn(R) -> Fut + Clone + Send + 'static,
) -> Vec<libtest_mimic::Trial>
where
    R: Send + 'static,
    Fut: Future<Output = ()>,
{
    let mut cases: Vec<(&'static str, R)> = cases.into_iter().collect();
    cases.sort_by_key(|(name, _)| *name);
    cases
        .into_iter()
        .map(|(name, run)| {
            let trial = trial.clone();
            async_trial(format!("{prefix}::{name}"), ignored, move || trial(run))
        })
        .collect()
}

/// A `libtest-mimic` trial named `name` that runs `body` to completion in a multi-thread
/// runtime of its own (a panic fails the trial); marked ignored when `ignored` gives a reason.
/// Both conformance suites build their trials with it.
pub fn async_trial<F, Fut>(name: String, ignored: Option<&str>, body: F) -> libtest_mimic::Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let trial = libtest_mimic::Trial::test(name, move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        rt.block_on(body());
        Ok(())
    });
    match ignored {
        Some(_) => trial.with_ignored_flag(true),
        None => trial,
    }
}

/// The suite's email domain (OTOBO's default deny pattern refuses `example.*`).
const DOMAIN: &str = "acme-corp.test";

fn user(s: &Stores, login: &str, first: &str, customer_id: &str) -> CustomerUser {
    let map = &s.users.settings().map;
    NewCustomerUser::new(
        login,
        first,
        "Tester",
        &format!("{login}@{DOMAIN}"),
        customer_id,
    )
    .validate(&Rules {
        map,
        email: &EmailCheck::disabled(),
    })
    .unwrap_or_else(|e| panic!("test user {login}: {e}"))
}

fn company(s: &Stores, id: &str, name: &str) -> CustomerCompany {
    NewCustomerCompany::new(id, name)
        .validate(&Rules {
            map: &s.companies.settings().map,
            email: &EmailCheck::disabled(),
        })
        .unwrap_or_else(|e| panic!("test company {id}: {e}"))
}

fn login(l: &str) -> Login {
    Login::new(l).unwrap_or_else(|e| panic!("login {l}: {e}"))
}

fn taken_field(result: crate::Result<()>, what: &str) -> String {
    match result {
        Err(Error::AlreadyExists { field, .. }) => field,
        other => panic!("{what}: expected AlreadyExists, got {other:?}"),
    }
}

fn term(s: &Stores, t: &str, limit: usize) -> UserQuery {
    UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term(t, &s.users.settings().syntax).unwrap_or_else(|e| panic!("{t}: {e}")),
        valid_only: true,
        limit,
        case_sensitive: s.users.settings().case_sensitive,
    }
}

async fn logins_of(s: &Stores, q: &UserQuery) -> Vec<String> {
    let mut found: Vec<String> = (s.users.search(q).await)
        .unwrap_or_else(|e| panic!("search: {e}"))
        .into_iter()
        .map(|u| u.login.into_string())
        .collect();
    found.sort();
    found
}

/// A stored user reads back as written, by any case of its login; its hash is kept.
pub async fn store_add_get_round_trip(s: Stores) {
    let u = user(&s, "JDoe", "John", "ACME");
    s.writer
        .add(&u, Some("stored-hash"), &BY)
        .await
        .expect("add");
    let got = s
        .users
        .get("jdoe")
        .await
        .expect("get")
        .expect("found by another case");
    assert_eq!(
        got.login.as_str(),
        "JDoe",
        "the stored case of the login is kept"
    );
    assert_eq!(got.first_name, u.first_name);
    assert_eq!(got.email, u.email);
    assert_eq!(got.customer_id, u.customer_id);
    assert_eq!(got.validity, Validity::Valid);
    let (stored, hash) = s
        .passwords
        .password_hash("JDOE")
        .await
        .expect("hash")
        .expect("user");
    assert_eq!(
        (stored.as_str(), hash.as_deref()),
        ("JDoe", Some("stored-hash"))
    );
    assert!(s.users.get("nobody").await.expect("get").is_none());
}
case!(store_add_get_round_trip);

/// The store itself refuses a taken login in any case, and a taken email, atomically.
pub async fn store_refuses_taken_logins_and_emails(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    let again = user(&s, "JDOE", "Other", "ACME");
    let mut again = again;
    again.email = clientele_model::Email::new(format!("other@{DOMAIN}")).expect("email");
    assert_eq!(
        taken_field(s.writer.add(&again, None, &BY).await, "login"),
        keys::LOGIN
    );
    let mut same_mail = user(&s, "someone", "Some", "ACME");
    same_mail.email = clientele_model::Email::new(format!("JDOE@{DOMAIN}")).expect("email");
    assert_eq!(
        taken_field(s.writer.add(&same_mail, None, &BY).await, "email"),
        keys::EMAIL
    );
}
case!(store_refuses_taken_logins_and_emails);

/// An update replaces the record; a rename moves it; a missing user and a stale version are
/// errors.
pub async fn store_update_rename_and_conflict(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    let mut changed = s.users.get("jdoe").await.expect("get").expect("user");
    let read_at = changed.audit.changed_at;
    changed.first_name = "Johnny".into();
    s.writer
        .update(&login("jdoe"), &changed, Expected::ChangedAt(read_at), &BY)
        .await
        .expect("update");
    assert_eq!(
        s.users.get("jdoe").await.unwrap().unwrap().first_name,
        "Johnny"
    );
    let stale = s
        .writer
        .update(&login("jdoe"), &changed, Expected::ChangedAt(read_at), &BY)
        .await;
    assert!(
        matches!(stale, Err(Error::Conflict { .. })),
        "a stale version conflicts: {stale:?}"
    );
    let mut renamed = changed.clone();
    renamed.login = login("john.doe");
    s.writer
        .update(&login("jdoe"), &renamed, Expected::Any, &BY)
        .await
        .expect("rename");
    assert!(s.users.get("jdoe").await.unwrap().is_none());
    assert!(s.users.get("john.doe").await.unwrap().is_some());
    let missing = s
        .writer
        .update(&login("ghost"), &renamed, Expected::Any, &BY)
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}
case!(store_update_rename_and_conflict);

/// A parsed term finds what it should, honours validity and the limit.
pub async fn store_search_expressions(s: Stores) {
    for (l, first) in [("anna", "Anna"), ("annette", "Annette"), ("bob", "Bob")] {
        s.writer
            .add(&user(&s, l, first, "ACME"), None, &BY)
            .await
            .expect("add");
    }
    let mut gone = s.users.get("annette").await.unwrap().unwrap();
    gone.validity = Validity::Invalid;
    s.writer
        .update(&login("annette"), &gone, Expected::Any, &BY)
        .await
        .expect("invalidate");
    assert_eq!(logins_of(&s, &term(&s, "ann*", 10)).await, ["anna"]);
    let mut all = term(&s, "ann*", 10);
    all.valid_only = false;
    assert_eq!(logins_of(&s, &all).await, ["anna", "annette"]);
    assert_eq!(
        logins_of(&s, &term(&s, "ann* OR bob", 10)).await,
        ["anna", "bob"]
    );
    assert_eq!(
        logins_of(&s, &term(&s, "*", 1)).await.len(),
        1,
        "the limit holds"
    );
    let nothing = UserQuery {
        expr: Expr::Match(clientele_model::search::Pattern::exact("50%_off\\")),
        ..term(&s, "x", 10)
    };
    assert!(
        logins_of(&s, &nothing).await.is_empty(),
        "SQL wildcards are literals"
    );
}
case!(store_search_expressions);

/// Companies: stored, read by any case of their id, unique by id and by name.
pub async fn store_companies(s: Stores) {
    s.companies
        .add_company(&company(&s, "ACME", "Acme"), &BY)
        .await
        .expect("add");
    let got = s
        .companies
        .company("acme")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got.name, "Acme");
    let dup_id = s
        .companies
        .add_company(&company(&s, "acme", "Other"), &BY)
        .await;
    assert!(
        matches!(dup_id, Err(Error::AlreadyExists { .. })),
        "{dup_id:?}"
    );
    let dup_name = s
        .companies
        .add_company(&company(&s, "GLOBEX", "Acme"), &BY)
        .await;
    assert!(
        matches!(dup_name, Err(Error::AlreadyExists { .. })),
        "{dup_name:?}"
    );
    let mut changed = got.clone();
    changed.name = "Acme Corp".into();
    s.companies
        .update_company(&changed, &BY)
        .await
        .expect("update");
    assert_eq!(
        s.companies.company("ACME").await.unwrap().unwrap().name,
        "Acme Corp"
    );
}
case!(store_companies);

/// Relations are sets: setting one twice keeps one; removing it is idempotent.
pub async fn store_relations_are_sets(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    for _ in 0..2 {
        s.relations
            .set_user_company("jdoe", "GLOBEX", true, &BY)
            .await
            .expect("relate");
    }
    let ids = s.relations.user_companies("jdoe").await.expect("companies");
    assert_eq!(
        ids.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["GLOBEX"]
    );
    let users = s.relations.company_users("GLOBEX").await.expect("users");
    assert_eq!(
        users.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        ["jdoe"]
    );
    for _ in 0..2 {
        s.relations
            .set_user_company("jdoe", "GLOBEX", false, &BY)
            .await
            .expect("unrelate");
    }
    assert!(s.relations.user_companies("jdoe").await.unwrap().is_empty());
}
case!(store_relations_are_sets);

/// Setting a grant replaces the (user, group) set; company grants keep their context.
pub async fn store_grants_replace(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    s.companies
        .add_company(&company(&s, "ACME", "Acme"), &BY)
        .await
        .expect("company");
    let g = s
        .relations
        .add_group("billing", Validity::Valid, &BY)
        .await
        .expect("group");
    let dup = s.relations.add_group("billing", Validity::Valid, &BY).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    s.relations
        .set_user_grant(
            "jdoe",
            g.id,
            &[PermissionType::ro(), ptype("move_into")],
            &BY,
        )
        .await
        .expect("grant");
    s.relations
        .set_user_grant("jdoe", g.id, &[PermissionType::rw()], &BY)
        .await
        .expect("replace");
    let ctx = PermissionContext::SameCustomer;
    s.relations
        .set_company_grant("ACME", g.id, &ctx, &[PermissionType::ro()], &BY)
        .await
        .expect("company grant");
    let snap = s.relations.relation_snapshot().await.expect("snapshot");
    let user: Vec<&str> = snap
        .user_grants
        .iter()
        .map(|g| g.permission.as_str())
        .collect();
    assert_eq!(user, ["rw"], "the replaced set, nothing stale");
    assert_eq!(snap.company_grants.len(), 1);
    assert_eq!(snap.company_grants[0].context, Stored::Known(ctx));
    s.relations
        .set_user_grant("jdoe", g.id, &[], &BY)
        .await
        .expect("revoke");
    assert!(
        s.relations
            .relation_snapshot()
            .await
            .unwrap()
            .user_grants
            .is_empty()
    );
}
case!(store_grants_replace);

/// Adding and removing single types changes only those types, and concurrent adds to one set
/// all land (the store changes the set in one step, not by read-modify-write).
pub async fn store_grant_add_and_remove(s: Stores) {
    s.companies
        .add_company(&company(&s, "ACME", "Acme"), &BY)
        .await
        .expect("company");
    let g = s
        .relations
        .add_group("billing", Validity::Valid, &BY)
        .await
        .expect("group");
    let types: Vec<PermissionType> = (0..8).map(|i| ptype(&format!("t{i}"))).collect();
    let adds: Vec<_> = types
        .iter()
        .map(|t| {
            let relations = s.relations.clone();
            let t = t.clone();
            let group = g.id;
            tokio::spawn(async move {
                relations
                    .change_user_grant("jdoe", group, GrantChange::Add, &[t], &BY)
                    .await
            })
        })
        .collect();
    for add in adds {
        add.await.expect("task").expect("concurrent add");
    }
    let held = |snap: &RelationSnapshot| -> Vec<String> {
        let mut v: Vec<String> = snap
            .user_grants
            .iter()
            .map(|g| g.permission.to_string())
            .collect();
        v.sort();
        v
    };
    let snap = s.relations.relation_snapshot().await.expect("snapshot");
    assert_eq!(
        held(&snap),
        ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    );
    // Adding a held type again changes nothing; removing takes only what is named.
    s.relations
        .change_user_grant("jdoe", g.id, GrantChange::Add, &types[..2], &BY)
        .await
        .expect("add again");
    s.relations
        .change_user_grant("jdoe", g.id, GrantChange::Remove, &types[2..5], &BY)
        .await
        .expect("remove");
    let snap = s.relations.relation_snapshot().await.expect("snapshot");
    assert_eq!(held(&snap), ["t0", "t1", "t5", "t6", "t7"]);

    let same = PermissionContext::SameCustomer;
    let other = PermissionContext::OtherCustomers;
    for (context, t) in [(&same, "ro"), (&same, "rw"), (&other, "ro")] {
        s.relations
            .change_company_grant("ACME", g.id, context, GrantChange::Add, &[ptype(t)], &BY)
            .await
            .expect("company add");
    }
    s.relations
        .change_company_grant(
            "ACME",
            g.id,
            &same,
            GrantChange::Remove,
            &[ptype("rw")],
            &BY,
        )
        .await
        .expect("company remove");
    let snap = s.relations.relation_snapshot().await.expect("snapshot");
    let mut company: Vec<(String, String)> = snap
        .company_grants
        .iter()
        .map(|g| (g.context.to_string(), g.permission.to_string()))
        .collect();
    company.sort();
    assert_eq!(
        company,
        [
            (
                PermissionContext::OTHER_CUSTOMERS.to_owned(),
                "ro".to_owned()
            ),
            (PermissionContext::SAME_CUSTOMER.to_owned(), "ro".to_owned()),
        ],
        "removing rw in one context leaves ro there and the other context alone"
    );
    let missing = s
        .relations
        .change_user_grant("jdoe", GroupId(999_999), GrantChange::Add, &types[..1], &BY)
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "an unknown group is NotFound: {missing:?}"
    );
}
case!(store_grant_add_and_remove);

/// Services: assigned per login (the default pseudo-login included); only valid ones listed.
pub async fn store_services(s: Stores) {
    s.writer
        .add(&user(&s, "jdoe", "John", "ACME"), None, &BY)
        .await
        .expect("add");
    let hw = s
        .relations
        .add_service("hardware", Validity::Valid, &BY)
        .await
        .expect("service");
    let old = s
        .relations
        .add_service("legacy", Validity::Invalid, &BY)
        .await
        .expect("service");
    for id in [hw.id, old.id] {
        s.relations
            .set_user_service("jdoe", id, true, &BY)
            .await
            .expect("assign");
    }
    s.relations
        .set_user_service(DEFAULT_SERVICES_LOGIN, hw.id, true, &BY)
        .await
        .expect("default");
    let names = |v: Vec<Service>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(s.relations.user_services("jdoe").await.unwrap()),
        ["hardware"]
    );
    assert_eq!(
        names(
            s.relations
                .user_services(DEFAULT_SERVICES_LOGIN)
                .await
                .unwrap()
        ),
        ["hardware"]
    );
    s.relations
        .set_user_service("jdoe", hw.id, false, &BY)
        .await
        .expect("remove");
    assert!(s.relations.user_services("jdoe").await.unwrap().is_empty());
}
case!(store_services);

/// Preferences: set, replace, search, delete, and a take that succeeds once.
pub async fn store_preferences(s: Stores) {
    for l in ["jdoe", "anna"] {
        s.writer
            .add(&user(&s, l, "P", "ACME"), None, &BY)
            .await
            .expect("add");
    }
    let p = &s.preferences;
    p.set_preference("jdoe", "UserLanguage", "de")
        .await
        .expect("set");
    p.set_preference("jdoe", "UserLanguage", "en")
        .await
        .expect("replace");
    p.set_preference("anna", "UserLanguage", "en")
        .await
        .expect("set");
    assert_eq!(
        p.preferences("jdoe")
            .await
            .unwrap()
            .get("UserLanguage")
            .map(String::as_str),
        Some("en")
    );
    let mut who = p
        .search_preferences("UserLanguage", Some("en"))
        .await
        .expect("search");
    who.sort();
    assert_eq!(who.len(), 2);
    p.set_preference("jdoe", "UserToken", "digest")
        .await
        .expect("token");
    assert!(
        !p.take_preference("jdoe", "UserToken", "other")
            .await
            .unwrap()
    );
    assert!(
        p.take_preference("jdoe", "UserToken", "digest")
            .await
            .unwrap()
    );
    assert!(
        !p.take_preference("jdoe", "UserToken", "digest")
            .await
            .unwrap(),
        "once only"
    );
    p.delete_preference("jdoe", "UserLanguage")
        .await
        .expect("delete");
    assert!(
        !p.preferences("jdoe")
            .await
            .unwrap()
            .contains_key("UserLanguage")
    );
}
case!(store_preferences);

/// The bulk writer writes every free row and reports the taken ones by index.
pub async fn store_bulk_add(s: Stores) {
    let Some(bulk) = &s.bulk else { return };
    s.writer
        .add(&user(&s, "taken", "T", "ACME"), None, &BY)
        .await
        .expect("add");
    let rows: Vec<ImportRow> = ["new1", "TAKEN", "new2", "NEW1"]
        .iter()
        .map(|l| ImportRow::new(user(&s, l, "B", "ACME")))
        .collect();
    let report = bulk.add_many(&rows, &BY).await.expect("bulk");
    assert_eq!(report.inserted, 2);
    let refused: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(
        refused,
        [1, 3],
        "a stored login and an earlier row's login are refused"
    );
    assert!(s.users.get("new2").await.unwrap().is_some());
}
case!(store_bulk_add);

pub mod transfer;
