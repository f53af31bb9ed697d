//! # clientele-backend
//!
//! The traits a source of customer data implements, and the [`Directory`]: the one object a
//! host talks to. The Directory chains up to eleven customer-user sources in OTOBO's order
//! (`CustomerUser`, `CustomerUser1` … `CustomerUser10`), validates input against each
//! source's attribute map, keeps logins unique across sources, refuses writes to read-only
//! sources with [`Error::ReadOnly`], caches per source with a TTL, hashes and verifies passwords
//! ([`password`]: argon2id, and every format an OTOBO database may hold), and answers
//! effective permissions through `clientele-permissions`.
//!
//! Traits ([`CustomerUserSource`], [`CustomerUserWriter`], [`PasswordStore`],
//! [`BindAuthenticator`], [`CompanyStore`], [`RelationStore`], [`PreferenceStore`]) are split so
//! a read-only directory simply lacks the write side. [`InMemoryBackend`] implements all of them;
//! the `conformance` module (feature `testkit`) is the suite every backend runs against itself.
//! Several Directories sharing one store keep each other's caches current through a
//! [`changes::ChangeFeed`].
//!
//! ```
//! use std::sync::Arc;
//! use clientele_backend::{Directory, Error, InMemoryBackend};
//! use clientele_model::search::CustomerUserSearch;
//! use clientele_model::{NewCustomerCompany, NewCustomerUser, Password};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
//! dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
//! dir.add_customer_user(
//!     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME").password("s3cret!"),
//!     "admin",
//! )
//! .await?;
//!
//! // A second user with the same login, in any case, is refused.
//! let dup = NewCustomerUser::new("JDOE", "J", "D", "other@acme-corp.com", "ACME");
//! assert!(matches!(dir.add_customer_user(dup, "admin").await, Err(Error::AlreadyExists { .. })));
//!
//! // Unknown users and wrong passwords get the same error.
//! assert!(matches!(dir.authenticate("jdoe", &Password::new("nope")).await, Err(Error::AuthenticationFailed)));
//! assert_eq!(dir.authenticate("JDoe", &Password::new("s3cret!")).await?, "jdoe");
//!
//! let hits = dir.search(&CustomerUserSearch::term("do*")).await?;
//! assert_eq!(hits[0].display, "\"John Doe\" <jdoe@acme-corp.com>");
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
pub mod changes;
#[cfg(feature = "testkit")]
pub mod conformance;
pub mod directory;
pub mod error;
pub mod matching;
mod memory;
pub mod password;
pub mod settings;
pub mod traits;

pub use directory::{
    Added, Directory, DirectoryBuilder, DirectoryConfig, ListHit, SearchHit, Source,
};
pub use error::{BoxError, Entity, Error, Result};
pub use memory::InMemoryBackend;
pub use settings::{CompanySettings, SourceSettings};
pub use traits::*;
