//! Customer-group permissions for Clientele: who may do what on which group, and which
//! tickets a customer user may see — answered from a prebuilt matrix by lookup.
//!
//! The rules are OTOBO's / Znuny's (`Kernel/System/CustomerGroup.pm` and
//! `CustomerTicket::Permission`):
//!
//! * Permission types are configured (`ro`, `rw` by default; custom ones such as
//!   `move_into`). `rw` implies every type; nothing else implies anything.
//! * A customer user's effective permissions on a valid group are the union of its direct
//!   grant, the "same customer" grants of **every** one of its customer ids, the company
//!   always-groups (if it has a customer id) and the user always-groups. Invalid groups give
//!   nothing. With customer-group support off, everyone has everything on every valid group.
//! * Setting a grant replaces the whole (user, group) or (company, group, context) set.
//! * Ticket access: the queue's group is required, then the user owns the ticket, shares its
//!   customer id, or reaches it through the "other customers" context; each check is
//!   switchable.
//!
//! The crate is pure and synchronous: no I/O, no async runtime. Inputs are plain data
//! ([`PermissionFacts`]); the output is a [`PermissionMatrix`] whose checks take tens of
//! nanoseconds and allocate nothing. Changes ([`Change`]) update only the rows they touch and
//! produce a new snapshot; [`PermissionResolver`] shares snapshots between threads.
//!
//! ```
//! use clientele_model::permission::{GroupId, PermissionContext, PermissionType};
//! use clientele_permissions::{
//!     PermissionConfig, PermissionFacts, PermissionMatrix, Ticket, UserCustomerIds,
//! };
//!
//! let mut facts = PermissionFacts::new(PermissionConfig {
//!     customer_group_support: true, // OTOBO's CustomerGroupSupport; off by default
//!     ..PermissionConfig::default()
//! });
//! facts
//!     .group(1, "users", true) // the default always-group
//!     .group(10, "hardware", true)
//!     .group(11, "billing", true)
//!     .customer_user("anna", UserCustomerIds::primary("acme"))
//!     .grant_user("anna", 10, [PermissionType::ro()])
//!     .grant_company("acme", 11, PermissionContext::SameCustomer, [PermissionType::rw()]);
//! let matrix = PermissionMatrix::build(&facts)?;
//!
//! let ro = matrix.type_index("ro").unwrap();
//! let rw = matrix.type_index("rw").unwrap();
//! assert!(matrix.has("anna", GroupId(10), ro)); // direct grant
//! assert!(!matrix.has("anna", GroupId(10), rw));
//! assert!(matrix.has("anna", GroupId(11), ro)); // her company's rw implies ro
//! assert!(matrix.has("anna", GroupId(1), rw)); // always-group
//!
//! let mut groups: Vec<GroupId> = matrix.groups("anna", ro).collect();
//! groups.sort();
//! assert_eq!(groups, [GroupId(1), GroupId(10), GroupId(11)]);
//!
//! // Reverse query: who has ro on "billing"? Anna, through her primary company.
//! let members: Vec<&str> = matrix.members(GroupId(11), ro).listed().unwrap().collect();
//! assert_eq!(members, ["anna"]);
//!
//! // Ticket access: queue group required, and Anna's company owns the ticket.
//! let ticket = Ticket { customer_user: Some("bob"), customer_id: Some("ACME"), queue_group: GroupId(10) };
//! assert!(matrix.can_access_ticket("anna", &ticket, ro));
//!
//! // Updates produce a new snapshot; the old one is untouched.
//! let mut next = matrix.clone();
//! next.revoke_user_grant("anna", GroupId(10))?;
//! assert!(!next.has("anna", GroupId(10), ro));
//! assert!(matrix.has("anna", GroupId(10), ro));
//! # Ok::<(), clientele_permissions::PermissionError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod change;
mod error;
mod facts;
mod matrix;
mod origin;
mod resolver;
mod set;
mod store;
mod ticket;

#[cfg(test)]
mod tests;

pub use change::Change;
pub use error::PermissionError;
pub use facts::{
    CompanyFacts, CompanyGrant, Group, PermissionConfig, PermissionFacts, UserCustomerIds,
    UserFacts, UserGrant,
};
pub use matrix::{GroupIter, MemberIter, Members, PermissionMatrix, UserPermissions};
pub use origin::Origin;
pub use resolver::PermissionResolver;
pub use set::{PermissionSet, TypeIndex};
pub use ticket::{
    Ticket, TicketAccessFilter, TicketAccessRules, TicketCheck, TicketPermissionModule,
};

/// The permission vocabulary from `clientele-model`, re-exported for crates that embed only
/// this one.
pub use clientele_model::permission::{
    GroupId, PermissionContext, PermissionType, PermissionTypes,
};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
