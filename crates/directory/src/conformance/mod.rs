//! The Directory-level conformance suite: one public async function per behaviour every
//! customer-user backend must show, run through a [`Directory`] over the backend under test —
//! the behaviours that need the Directory's validation, hashing, caching or merging. What a
//! store must do on its own is checked one level down, against its trait objects, by
//! `clientele_backend::conformance` (feature `testkit` of the contract crate).
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

mod relations;
mod search;
mod updates;
mod users;

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
