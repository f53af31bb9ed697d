//! # Clientele
//!
//! Customer users for ticket systems: the people at client companies who open tickets, their
//! companies, the groups they may read or write, the services they may request, and the
//! sources their records live in — a SQL database, an LDAP directory, or several at once. It
//! does what the customer-user subsystem of OTOBO / Znuny does, and runs against their
//! existing databases.
//!
//! This facade re-exports the crates; each is usable on its own:
//!
//! | crate | what it holds |
//! |---|---|
//! | [`model`] (`clientele-model`) | customer users, companies, validity, attribute map, validation, the search language |
//! | [`permissions`] (`clientele-permissions`) | the permission matrix: effective permissions and ticket access by lookup |
//! | [`backend`] (`clientele-backend`) | backend traits, the [`Directory`] that chains sources, cache, passwords, in-memory backend |
//! | [`db`] (`clientele-db`) | the sea-orm backend: SQLite, PostgreSQL, MySQL/MariaDB, OTOBO-compatible schema |
//! | [`dynamic_fields`] (`clientele-dynamic-fields`) | copies customer data into ticket dynamic fields on ticket events |
//! | `web` (`clientele-web`, feature `web`) | an axum router: the JSON API with its OpenAPI document |
//!
//! ```
//! use std::sync::Arc;
//! use clientele::{Directory, InMemoryBackend};
//! use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser};
//! use clientele::model::search::CustomerUserSearch;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
//! dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), Actor::System).await?;
//! let added = dir
//!     .add_customer_user(NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"), Actor::System)
//!     .await?;
//! println!("generated password, shown once: {}", added.generated_password.unwrap().expose());
//!
//! let hits = dir.search(&CustomerUserSearch::term("doe")).await?;
//! assert_eq!(hits[0].display, "\"John Doe\" <jdoe@acme-corp.com>");
//! # Ok::<(), clientele::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod records;

pub use clientele_backend as backend;
pub use clientele_db as db;
pub use clientele_directory as directory;
pub use clientele_dynamic_fields as dynamic_fields;
pub use clientele_model as model;
pub use clientele_password as password;
pub use clientele_permissions as permissions;
/// The web side: the JSON API router, its authenticators and the `[web]` settings (feature
/// `web`).
#[cfg(feature = "web")]
pub use clientele_web as web;

pub use clientele_backend::{CompanySettings, Error, InMemoryBackend, Result, SourceSettings};
pub use clientele_db::{DbBackend, DbConfig};
pub use clientele_directory::{
    Added, Directory, DirectoryBuilder, DirectoryConfig, MissingSource, SearchHit, SearchPage,
    Source,
};
pub use config::{Config, ConfigError, OpenOptions, Opened, open, open_with};
pub use records::DirectoryRecords;

/// The README's code, compiled as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
