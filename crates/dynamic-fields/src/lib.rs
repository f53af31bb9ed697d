//! Copies customer-user data into ticket dynamic fields when ticket events happen: the Rust
//! counterpart of OTOBO's `DynamicFieldFromCustomerUser` event module.
//!
//! A ticket system embeds it in three steps:
//!
//! 1. load a [`DynamicFieldMappingConfig`] (serde; OTOBO defaults) and check it with
//!    [`DynamicFieldMappingConfig::validate`] against the fields agents edit by hand;
//! 2. implement [`TicketSystem`] (the ticket's customer user, the ticket dynamic fields and
//!    their current values), [`DynamicFieldSink`] (writes) and [`CustomerRecordSource`] (the
//!    merged [`CustomerRecord`] of a login — the `clientele` facade provides one for its
//!    `Directory`);
//! 3. call [`DynamicFieldMapper::handle`] from the event pipeline and log the
//!    [`MappingReport`]'s [warnings](MappingReport::warnings).
//!
//! The decisions are made by [`plan`], a pure function, so they can be tested — and shown to an
//! administrator as a dry run — without a ticket system. Every rule gets exactly one entry in
//! the report: written, cleared, skipped with a [`SkipReason`], or failed to write.
//!
//! Where Clientele differs from OTOBO (defaults keep OTOBO's behaviour):
//! - per-rule [`WritePolicy`] (OTOBO always overwrites), [`OnMissing`] (OTOBO always clears)
//!   and [`MultiValueIntoSingle`] (OTOBO hands a list to the field driver as it is);
//! - an unknown, invalid or ill-fitting target is reported in the result, not only logged;
//! - writes are ordered by target field name (OTOBO: by source attribute).
//!
//! # Example
//!
//! A ticket system with two tickets and a help desk's worth of customer users, all in memory
//! (the [`memory`] module has a fuller one):
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::convert::Infallible;
//! use std::sync::Mutex;
//!
//! use async_trait::async_trait;
//! use clientele_dynamic_fields::{
//!     CurrentValue, CustomerRecord, CustomerRecordSource, DynamicFieldDefinition,
//!     DynamicFieldMapper, DynamicFieldMappingConfig, DynamicFieldSink, FieldValue,
//!     MappingOutcome, MappingRule, TicketEvent, TicketSystem, WritePolicy, keys,
//! };
//!
//! /// Tickets by id: the customer user's login, and the dynamic-field values.
//! struct Desk {
//!     customers: BTreeMap<u32, String>,
//!     values: Mutex<BTreeMap<(u32, String), FieldValue>>,
//! }
//!
//! #[async_trait]
//! impl TicketSystem for Desk {
//!     type TicketId = u32;
//!     type Error = Infallible;
//!
//!     async fn customer_user_login(&self, ticket: &u32) -> Result<Option<String>, Infallible> {
//!         Ok(self.customers.get(ticket).cloned())
//!     }
//!
//!     async fn ticket_dynamic_fields(&self) -> Result<Vec<DynamicFieldDefinition>, Infallible> {
//!         Ok(vec![
//!             DynamicFieldDefinition::text("CustomerName"),
//!             DynamicFieldDefinition::text("CustomerCompany"),
//!         ])
//!     }
//!
//!     async fn current_values(
//!         &self,
//!         ticket: &u32,
//!         fields: &[String],
//!     ) -> Result<BTreeMap<String, CurrentValue>, Infallible> {
//!         let values = self.values.lock().unwrap();
//!         Ok(fields
//!             .iter()
//!             .filter_map(|field| {
//!                 let value = values.get(&(*ticket, field.clone()))?;
//!                 Some((field.clone(), CurrentValue::automatic(value.clone())))
//!             })
//!             .collect())
//!     }
//! }
//!
//! #[async_trait]
//! impl DynamicFieldSink for Desk {
//!     type TicketId = u32;
//!     type Error = Infallible;
//!
//!     async fn set_value(&self, ticket: &u32, field: &str, value: &FieldValue) -> Result<(), Infallible> {
//!         self.values.lock().unwrap().insert((*ticket, field.to_owned()), value.clone());
//!         Ok(())
//!     }
//!
//!     async fn clear_value(&self, ticket: &u32, field: &str) -> Result<(), Infallible> {
//!         self.values.lock().unwrap().remove(&(*ticket, field.to_owned()));
//!         Ok(())
//!     }
//! }
//!
//! /// Customer records by login.
//! struct People(BTreeMap<String, CustomerRecord>);
//!
//! #[async_trait]
//! impl CustomerRecordSource for People {
//!     type Error = Infallible;
//!
//!     async fn record(&self, login: &str) -> Result<Option<CustomerRecord>, Infallible> {
//!         Ok(self.0.get(login).cloned())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = DynamicFieldMappingConfig::new()
//!     .with_enabled(true)
//!     .with_rule(MappingRule::new(keys::USER_LASTNAME, "CustomerName"))
//!     .with_rule(
//!         MappingRule::new(keys::CUSTOMER_COMPANY_NAME, "CustomerCompany")
//!             .with_policy(WritePolicy::OnlyIfEmpty),
//!     )
//!     .with_rule(MappingRule::new(keys::USER_EMAIL, "CustomerMail"));
//! let mapper = DynamicFieldMapper::new(config);
//!
//! let desk = Desk {
//!     customers: BTreeMap::from([(1, "jdoe".to_owned()), (2, "ghost".to_owned())]),
//!     values: Mutex::default(),
//! };
//! let people = People(BTreeMap::from([(
//!     "jdoe".to_owned(),
//!     CustomerRecord::builder()
//!         .user_attribute(keys::USER_LOGIN, "jdoe")
//!         .user_attribute(keys::USER_LASTNAME, "Doe")
//!         .company_attribute(keys::CUSTOMER_COMPANY_NAME, "Acme Inc.")
//!         .build(),
//! )]));
//!
//! let report = mapper
//!     .handle(&TicketEvent::TicketCreate, &1, &desk, &desk, &people)
//!     .await
//!     .unwrap();
//! let outcomes: Vec<String> = report.entries.iter().map(ToString::to_string).collect();
//! assert_eq!(outcomes, [
//!     r#"CustomerCompany <- CustomerCompanyName: written Text("Acme Inc.")"#,
//!     "CustomerMail <- UserEmail: skipped (no ticket dynamic field of this name)",
//!     r#"CustomerName <- UserLastname: written Text("Doe")"#,
//! ]);
//! assert_eq!(report.warnings().count(), 1);
//!
//! // Ticket 2's customer user is unknown: the fields are cleared, as OTOBO does.
//! let report = mapper
//!     .handle(&TicketEvent::TicketCreate, &2, &desk, &desk, &people)
//!     .await
//!     .unwrap();
//! assert!(matches!(
//!     report.entry("CustomerName").unwrap().outcome,
//!     MappingOutcome::Cleared { .. }
//! ));
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod host;
mod mapper;
pub mod memory;
mod plan;
mod report;
mod value;

pub use config::{
    ConfigError, ConfigIssue, DynamicFieldMappingConfig, ManualEdit, ManualEditConflict,
    MappingRule, MultiValueIntoSingle, OnMissing, TicketEvent, WritePolicy,
};
pub use host::{
    Cardinality, CurrentValue, CustomerRecordSource, DynamicFieldDefinition, DynamicFieldSink,
    FieldType, TicketSystem,
};
pub use mapper::{DynamicFieldMapper, MapperError};
pub use plan::{CustomerLookup, MappingPlan, PlannedWrite, fields_needing_current_values, plan};
pub use report::{
    MappingEntry, MappingOutcome, MappingReport, MissingCause, SkipReason, WriteAction,
};
pub use value::{CustomerRecord, CustomerRecordBuilder, FieldValue, keys};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
