//! # clientele-backend
//!
//! The contract a source of customer data implements: the capability traits, the settings each
//! source carries, the one error type, the change-feed trait several instances share, and an
//! honest in-memory backend. It is small and stable on purpose: a third party implementing a
//! source compiles this crate and `clientele-model` and nothing else — no password hashing, no
//! database driver, no async runtime. The Directory that chains sources, validates, caches and
//! hashes is `clientele-directory`.
//!
//! Traits ([`CustomerUserSource`], [`CustomerUserWriter`], [`PasswordStore`],
//! [`BindAuthenticator`], [`CompanyStore`], [`RelationStore`], [`PreferenceStore`]) are split so
//! a read-only directory simply lacks the write side. Backends receive input that is already
//! validated and queries that are already parsed; they translate, store and fetch.
//! [`InMemoryBackend`] implements every trait.
//!
//! ```
//! use clientele_backend::{CustomerUserSource, CustomerUserWriter, InMemoryBackend};
//! use clientele_model::search::{FieldSet, UserQuery, parse_term};
//! use clientele_model::{EmailCheck, NewCustomerUser, Rules};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = InMemoryBackend::new();
//! // A backend stores what it is given: validation is the caller's (the Directory's) job.
//! let user = NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME")
//!     .validate(&Rules { map: &store.settings().map, email: &EmailCheck::disabled() })?;
//! store.add(&user, None, &"admin".into()).await?;
//!
//! // Look-ups follow the source's case rule (case-insensitive by default).
//! assert!(store.get("JDOE").await?.is_some());
//! let query = UserQuery {
//!     fields: FieldSet::SearchFields { exclude_customer_id: false },
//!     expr: parse_term("do*", &store.settings().syntax)?,
//!     valid_only: true,
//!     limit: 250,
//!     case_sensitive: false,
//! };
//! assert_eq!(store.search(&query).await?[0].login.as_str(), "jdoe");
//! # Ok::<(), clientele_backend::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod changes;
#[cfg(feature = "testkit")]
pub mod conformance;
pub mod error;
pub mod matching;
mod memory;
pub mod settings;
pub mod traits;

pub use error::{BoxError, Entity, Error, MapRowProblem, Result};
pub use memory::InMemoryBackend;
pub use settings::{CompanySettings, SourceSettings};
pub use traits::*;

/// The README's code, compiled as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
