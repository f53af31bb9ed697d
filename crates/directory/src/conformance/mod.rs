//! The Directory-level conformance suite: one public async function per behaviour every
//! customer-user backend must show, run through a [`Directory`] over the backend under test —
//! the behaviours that need the Directory's validation, hashing, caching or merging. What a
//! store must do on its own is checked one level down, against its trait objects, by
//! `clientele_backend::conformance` (feature `testkit` of the contract crate).
//!
//! Every behaviour function registers itself, so nothing keeps a list of them. A backend crate
//! runs them all with a [`Harness`] that builds a fresh, empty Directory per test (a new
//! database, a new store) with default settings (OTOBO's: case-insensitive, prefix and suffix
//! `*`, email uniqueness on, company required) and removes it afterwards, and [`trials`] in a
//! test target with `harness = false` (one named test per behaviour):
//!
//! ```ignore
//! struct Memory(Directory);
//! #[async_trait::async_trait]
//! impl clientele_directory::conformance::Harness for Memory {
//!     async fn setup() -> Self { Memory(Directory::in_memory(Arc::new(InMemoryBackend::new()))) }
//!     fn directory(&self) -> &Directory { &self.0 }
//!     async fn teardown(self) {}
//! }
//! fn main() {
//!     let args = libtest_mimic::Arguments::from_args();
//!     let trials = clientele_directory::conformance::trials::<Memory>("memory", None);
//!     // server-backed: trials::<Postgres>("postgres", Some("needs PostgreSQL"))
//!     libtest_mimic::run(&args, trials).exit();
//! }
//! ```
//!
//! Every function panics with a message naming the behaviour when the backend misbehaves.
//! The calling crate needs `libtest-mimic` and `async-trait` as dev-dependencies.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use clientele_backend::conformance::case_trials;
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Direction, FieldCondition, Pattern, SelectionCondition,
};
use clientele_model::{
    CustomerCompanyChanges, CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password,
    ValidationError, Validity, keys,
};

use crate::{Directory, PROTECTED_PREFERENCE_KEYS};

/// The actor of every write the suite makes: nobody in particular, which every store records
/// (a DB backend as its system agent).
const BY: clientele_model::Actor = clientele_model::Actor::System;

mod admin;
pub mod read;
mod relations;
mod search;
mod updates;
mod users;

pub use admin::*;
use clientele_backend::Error;
pub use relations::*;
pub use search::*;
pub use updates::*;
pub use users::*;

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

/// One registered behaviour (see [`trials`]).
pub struct Case {
    /// The behaviour's name (its function's).
    pub name: &'static str,
    /// Runs it through a Directory.
    pub run: for<'a> fn(&'a Directory) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
}

inventory::collect!(Case);

/// Registers a behaviour function, so [`trials`] runs it without a hand-kept list.
macro_rules! case {
    ($name:ident) => {
        const _: () = {
            fn run<'a>(
                dir: &'a $crate::Directory,
            ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
                Box::pin($name(dir))
            }
            inventory::submit! {
                $crate::conformance::Case { name: stringify!($name), run }
            }
        };
    };
}
pub(crate) use case;

/// One `libtest-mimic` trial per registered behaviour, named `prefix::behaviour`, each on a
/// fresh Directory from `H` in a runtime of its own. `ignored` marks them all ignored with that
/// reason (server-backed stores; `--include-ignored` runs them).
pub fn trials<H: Harness + 'static>(
    prefix: &str,
    ignored: Option<&str>,
) -> Vec<libtest_mimic::Trial> {
    let cases = inventory::iter::<Case>.into_iter().map(|c| (c.name, c.run));
    case_trials(prefix, ignored, cases, |run| async move {
        let harness = H::setup().await;
        run(harness.directory()).await;
        harness.teardown().await;
    })
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
        dir.add_company(NewCustomerCompany::new(id, name), BY)
            .await
            .expect("seed company");
    }
}

async fn add(dir: &Directory, login: &str, first: &str, last: &str, company: &str) {
    dir.add_customer_user(
        NewCustomerUser::new(login, first, last, &mail(&email_local(login)), company),
        BY,
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
    let mut v = found_logins(dir, &search).await;
    v.sort();
    v
}

/// The logins a search finds, in the order returned. The list search must find the same
/// users in the same order, from the same sources, with the same display strings.
async fn found_logins(dir: &Directory, search: &CustomerUserSearch) -> Vec<String> {
    let listed = dir
        .search_list(search)
        .await
        .unwrap_or_else(|e| panic!("list search {search:?} failed: {e}"));
    let hits = dir
        .search(search)
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
    hits.into_iter()
        .map(|h| h.user.login.into_string())
        .collect()
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
