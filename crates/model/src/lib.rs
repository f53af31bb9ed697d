//! # clientele-model
//!
//! The vocabulary of Clientele: customer users, customer companies, validity, the attribute
//! map (OTOBO's `Map`), the validation rules driven by it, permission types, and the search
//! language every backend compiles. Plain data and rules: no I/O, no async, no backend types.
//!
//! ```
//! use clientele_model::{AttributeMap, AttributeMapping, EmailCheck, NewCustomerUser, Rules};
//! use clientele_model::search::{parse_term, SearchSyntax};
//!
//! // OTOBO's default map plus an extra attribute: configuration, not code.
//! let mut map = AttributeMap::otobo_customer_user();
//! map.push(AttributeMapping::new("UserRoom", "Room", "room"));
//!
//! let email = EmailCheck::default();
//! let user = NewCustomerUser::new("jdoe", "John", "Doe", "john.doe@acme-corp.com", "ACME")
//!     .with("UserRoom", "B-201")
//!     .validate(&Rules { map: &map, email: &email })
//!     .unwrap();
//! assert_eq!(user.attribute("UserRoom").unwrap().to_text(), "B-201");
//!
//! // Validation errors name the field.
//! let err = NewCustomerUser::new("jdoe", "John", "Doe", "not-an-address", "ACME")
//!     .validate(&Rules { map: &map, email: &email })
//!     .unwrap_err();
//! assert_eq!(err.field(), "UserEmail");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actor;
pub mod attribute;
pub mod catalog;
mod company;
pub mod dynamic_field;
mod email;
mod error;
mod ids;
pub mod limits;
mod password_policy;
pub mod permission;
pub mod search;
pub mod secret;
mod user;
mod validation;
mod validity;

pub use actor::Actor;
pub use attribute::{
    AttributeMap, AttributeMapping, AttributeValue, Attributes, Selections, Shown, StorageType,
    keys,
};
pub use company::{COMPANY_KEYS, CustomerCompany, CustomerCompanyChanges, NewCustomerCompany};
pub use email::{EmailCheck, EmailCheckConfig};
pub use error::ValidationError;
pub use ids::{CustomerId, Email, Login};
pub use password_policy::{PasswordPolicy, PasswordRule};
pub use secret::{Password, Token};
pub use user::{Audit, CustomerUser, CustomerUserChanges, NewCustomerUser, STANDARD_KEYS};
pub use validation::{Mode, Rules, validate};
pub use validity::Validity;

/// The one case-folding rule of Clientele: Unicode lower case, as OTOBO's `lc` and the
/// databases' `LOWER()` apply it. Logins, customer ids and emails compared case-insensitively
/// are compared through this, and cache keys are made with it. A value without upper-case
/// letters is returned as it is, without an allocation.
///
/// ```
/// use clientele_model::fold_case;
///
/// assert_eq!(fold_case("JDoe"), "jdoe");
/// assert_eq!(fold_case("ÄRGER"), "ärger");
/// assert!(matches!(fold_case("jdoe"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn fold_case(value: &str) -> std::borrow::Cow<'_, str> {
    let already_folded = if value.is_ascii() {
        !value.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        value
            .chars()
            .all(|c| !c.is_uppercase() && c.to_lowercase().eq([c]))
    };
    if already_folded {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(value.to_lowercase())
    }
}
