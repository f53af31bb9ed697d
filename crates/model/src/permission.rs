//! The permission vocabulary: permission type names, the configured list of types, group ids and
//! the contexts a company grant is given in.
//!
//! These are plain values shared by every crate that stores or evaluates customer-group
//! permissions. The evaluation itself (effective permissions, ticket access) lives in the
//! `clientele-permissions` crate.
//!
//! ```
//! use clientele_model::permission::{PermissionContext, PermissionType, PermissionTypes};
//!
//! // OTOBO's default `System::Customer::Permission` is `[ro, rw]`.
//! let types = PermissionTypes::default();
//! assert_eq!(types.index_of("ro"), Some(0));
//! assert_eq!(types.rw_index(), 1);
//!
//! // Custom types are allowed; `rw` must stay the last entry.
//! let types = PermissionTypes::new(["ro", "move_into", "rw"]).unwrap();
//! assert_eq!(types.len(), 3);
//! assert!(PermissionTypes::new(["rw", "ro"]).is_err());
//!
//! assert!(PermissionType::new("move_into").is_ok());
//! assert!(PermissionType::new("move-into").is_err());
//!
//! let same: PermissionContext = "Ticket::CustomerID::Same".parse().unwrap();
//! assert_eq!(same, PermissionContext::SameCustomer);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest permission type name: OTOBO's `permission_key` column is `VARCHAR(20)`.
pub const MAX_PERMISSION_TYPE_LEN: usize = 20;

/// The most permission types one configuration may hold (a permission set is a 64-bit set).
pub const MAX_PERMISSION_TYPES: usize = 64;

/// The longest named permission context: OTOBO's `permission_context` column is `VARCHAR(100)`.
pub const MAX_PERMISSION_CONTEXT_LEN: usize = 100;

/// The name of a permission type such as `ro`, `rw` or `move_into`.
///
/// OTOBO calls it a permission key (`permission_key` in `group_customer_user` and
/// `group_customer`). A valid name is 1 to [`MAX_PERMISSION_TYPE_LEN`] ASCII letters, digits or
/// underscores. Names are case-sensitive, as in OTOBO.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PermissionType(String);

/// Why a permission type name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PermissionTypeError {
    /// The name is empty.
    #[error("a permission type name must not be empty")]
    Empty,
    /// The name is longer than [`MAX_PERMISSION_TYPE_LEN`] characters.
    #[error(
        "permission type name {name:?} is {len} characters long; at most {MAX_PERMISSION_TYPE_LEN} are allowed"
    )]
    TooLong {
        /// The refused name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// The name holds a character other than an ASCII letter, digit or underscore.
    #[error(
        "permission type name {name:?} contains {character:?}; only ASCII letters, digits and '_' are allowed"
    )]
    InvalidCharacter {
        /// The refused name.
        name: String,
        /// The first offending character.
        character: char,
    },
}

impl PermissionType {
    /// The read-only type, `ro`.
    pub const RO: &'static str = "ro";
    /// The read-write type, `rw`, which implies every other type.
    pub const RW: &'static str = "rw";

    /// Validates and wraps a permission type name.
    pub fn new(name: impl Into<String>) -> Result<Self, PermissionTypeError> {
        let name = name.into();
        if name.is_empty() {
            return Err(PermissionTypeError::Empty);
        }
        if let Some(character) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(PermissionTypeError::InvalidCharacter { name, character });
        }
        // Only ASCII is left, so the byte length is the character count.
        if name.len() > MAX_PERMISSION_TYPE_LEN {
            let len = name.len();
            return Err(PermissionTypeError::TooLong { name, len });
        }
        Ok(PermissionType(name))
    }

    /// The `ro` type.
    pub fn ro() -> Self {
        PermissionType(Self::RO.to_owned())
    }

    /// The `rw` type.
    pub fn rw() -> Self {
        PermissionType(Self::RW.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `true` for `rw`, the type that implies every other one.
    pub fn is_rw(&self) -> bool {
        self.0 == Self::RW
    }
}

impl fmt::Display for PermissionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PermissionType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for PermissionType {
    type Err = PermissionTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PermissionType::new(s)
    }
}

impl TryFrom<String> for PermissionType {
    type Error = PermissionTypeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PermissionType::new(s)
    }
}

impl TryFrom<&str> for PermissionType {
    type Error = PermissionTypeError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        PermissionType::new(s)
    }
}

impl From<PermissionType> for String {
    fn from(t: PermissionType) -> Self {
        t.0
    }
}

/// The configured, ordered list of permission types (OTOBO `System::Customer::Permission`).
///
/// The default is `["ro", "rw"]`. The list is never empty, holds no duplicates and at most
/// [`MAX_PERMISSION_TYPES`] entries, and `rw` is always its last entry ("rw must remain the last
/// entry" in OTOBO's SysConfig): `rw` implies every other type, and no other type implies
/// anything.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<PermissionType>", into = "Vec<PermissionType>")]
pub struct PermissionTypes(Vec<PermissionType>);

/// Why a list of permission types was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PermissionTypesError {
    /// One of the names is not a valid permission type name.
    #[error(transparent)]
    InvalidType(#[from] PermissionTypeError),
    /// The list does not contain `rw`.
    #[error("the permission type list must contain \"rw\"")]
    MissingRw,
    /// `rw` is present but not the last entry.
    #[error("\"rw\" must be the last permission type, but the list ends with {last:?}")]
    RwNotLast {
        /// The actual last entry.
        last: String,
    },
    /// A name occurs twice.
    #[error("permission type {name:?} is listed twice")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// More than [`MAX_PERMISSION_TYPES`] types.
    #[error("{count} permission types configured; at most {MAX_PERMISSION_TYPES} are supported")]
    TooMany {
        /// How many were given.
        count: usize,
    },
}

impl PermissionTypes {
    /// Validates a list of type names (see the type's documentation for the rules).
    pub fn new<I, S>(names: I) -> Result<Self, PermissionTypesError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let types = names
            .into_iter()
            .map(|n| PermissionType::new(n))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_types(types)
    }

    /// Validates a list of already-validated type names.
    pub fn from_types(types: Vec<PermissionType>) -> Result<Self, PermissionTypesError> {
        if types.len() > MAX_PERMISSION_TYPES {
            return Err(PermissionTypesError::TooMany { count: types.len() });
        }
        for (i, t) in types.iter().enumerate() {
            if types[..i].contains(t) {
                return Err(PermissionTypesError::Duplicate { name: t.0.clone() });
            }
        }
        match types.last() {
            None => return Err(PermissionTypesError::MissingRw),
            Some(last) if !last.is_rw() => {
                return Err(if types.iter().any(PermissionType::is_rw) {
                    PermissionTypesError::RwNotLast {
                        last: last.0.clone(),
                    }
                } else {
                    PermissionTypesError::MissingRw
                });
            }
            Some(_) => {}
        }
        Ok(PermissionTypes(types))
    }

    /// The types, in configured order (`rw` last).
    pub fn as_slice(&self) -> &[PermissionType] {
        &self.0
    }

    /// Iterates over the types in configured order.
    pub fn iter(&self) -> std::slice::Iter<'_, PermissionType> {
        self.0.iter()
    }

    /// How many types are configured (at least 1: `rw`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: the list holds at least `rw`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The position of a type name in the list, if it is configured.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|t| t.0 == name)
    }

    /// `true` when the name is a configured type.
    pub fn contains(&self, name: &str) -> bool {
        self.index_of(name).is_some()
    }

    /// The position of `rw` (always the last one).
    pub fn rw_index(&self) -> usize {
        self.0.len().saturating_sub(1)
    }

    /// The type at a position.
    pub fn get(&self, index: usize) -> Option<&PermissionType> {
        self.0.get(index)
    }
}

impl Default for PermissionTypes {
    fn default() -> Self {
        PermissionTypes(vec![PermissionType::ro(), PermissionType::rw()])
    }
}

impl TryFrom<Vec<PermissionType>> for PermissionTypes {
    type Error = PermissionTypesError;
    fn try_from(types: Vec<PermissionType>) -> Result<Self, Self::Error> {
        PermissionTypes::from_types(types)
    }
}

impl From<PermissionTypes> for Vec<PermissionType> {
    fn from(types: PermissionTypes) -> Self {
        types.0
    }
}

impl<'a> IntoIterator for &'a PermissionTypes {
    type Item = &'a PermissionType;
    type IntoIter = std::slice::Iter<'a, PermissionType>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A group's id: OTOBO's integer `groups_table.id` (`groups` in Znuny/OTRS).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct GroupId(pub u64);

impl GroupId {
    /// The id as an integer.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for GroupId {
    fn from(id: u64) -> Self {
        GroupId(id)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The context a company grant is given in (OTOBO `CustomerGroupPermissionContext`).
///
/// Serialised as OTOBO's stored value (`permission_context` column), and ordered by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PermissionContext {
    /// "Same customer" (`Ticket::CustomerID::Same`): the company's own users get the
    /// permission. The only context that counts for effective group permissions.
    SameCustomer,
    /// "Other customers" (`Ticket::CustomerID::Other`): the company's users may see tickets of
    /// the other companies that have the group. Used by ticket access and by the list of
    /// visible companies only.
    OtherCustomers,
    /// Any further configured context. Stored and returned, but no rule evaluates it.
    Named(String),
}

/// Why a permission context name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PermissionContextError {
    /// The name is empty.
    #[error("a permission context name must not be empty")]
    Empty,
    /// The name is longer than [`MAX_PERMISSION_CONTEXT_LEN`] characters.
    #[error(
        "permission context {name:?} is {len} characters long; at most {MAX_PERMISSION_CONTEXT_LEN} are allowed"
    )]
    TooLong {
        /// The refused name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
}

impl PermissionContext {
    /// OTOBO's stored value for "same customer".
    pub const SAME_CUSTOMER: &'static str = "Ticket::CustomerID::Same";
    /// OTOBO's stored value for "other customers".
    pub const OTHER_CUSTOMERS: &'static str = "Ticket::CustomerID::Other";

    /// Parses OTOBO's stored value; the two known values map to their variants, anything else
    /// non-empty and at most [`MAX_PERMISSION_CONTEXT_LEN`] characters long is a named context.
    pub fn new(value: impl Into<String>) -> Result<Self, PermissionContextError> {
        let value = value.into();
        match value.as_str() {
            Self::SAME_CUSTOMER => Ok(PermissionContext::SameCustomer),
            Self::OTHER_CUSTOMERS => Ok(PermissionContext::OtherCustomers),
            "" => Err(PermissionContextError::Empty),
            _ => {
                let len = value.chars().count();
                if len > MAX_PERMISSION_CONTEXT_LEN {
                    Err(PermissionContextError::TooLong { name: value, len })
                } else {
                    Ok(PermissionContext::Named(value))
                }
            }
        }
    }

    /// OTOBO's stored value for this context.
    pub fn as_str(&self) -> &str {
        match self {
            PermissionContext::SameCustomer => Self::SAME_CUSTOMER,
            PermissionContext::OtherCustomers => Self::OTHER_CUSTOMERS,
            PermissionContext::Named(name) => name,
        }
    }
}

impl Ord for PermissionContext {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for PermissionContext {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PermissionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PermissionContext {
    type Err = PermissionContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PermissionContext::new(s)
    }
}

impl TryFrom<String> for PermissionContext {
    type Error = PermissionContextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PermissionContext::new(s)
    }
}

impl From<PermissionContext> for String {
    fn from(c: PermissionContext) -> Self {
        match c {
            PermissionContext::Named(name) => name,
            other => other.as_str().to_owned(),
        }
    }
}

impl PartialEq<str> for PermissionType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for PermissionType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl AsRef<str> for PermissionContext {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A permission type or context as a stored grant row names it: a value the configuration
/// knows, or a name it does not.
///
/// A store reads a row's name into [`Stored::Known`] when it is a well-formed value and into
/// [`Stored::Unknown`] otherwise; whoever holds the configuration (the Directory) turns a
/// well-formed but unconfigured value into `Unknown` too ([`Stored::configured`]). An unknown
/// row is kept and reported (`clientele check-config --stored`), never dropped, and never makes
/// loading fail; it grants nothing.
///
/// ```
/// use clientele_model::permission::{PermissionType, PermissionTypes, Stored};
///
/// let types = PermissionTypes::default();
/// let rw: Stored<PermissionType> = Stored::parse("rw");
/// assert_eq!(rw.known(), Some(&PermissionType::rw()));
/// let typo: Stored<PermissionType> = Stored::parse("r-w");
/// assert_eq!(typo, Stored::Unknown("r-w".into()));
/// let owner = Stored::<PermissionType>::parse("owner").configured(|t| types.contains(t.as_str()));
/// assert_eq!(owner, Stored::Unknown("owner".into()));
/// assert_eq!(owner.as_str(), "owner");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored<T> {
    /// A value the reader knows.
    Known(T),
    /// A stored name that is malformed or not configured, exactly as stored.
    Unknown(String),
}

impl<T> Stored<T> {
    /// The known value, if it is one.
    pub fn known(&self) -> Option<&T> {
        match self {
            Stored::Known(t) => Some(t),
            Stored::Unknown(_) => None,
        }
    }

    /// The same row with a known value the configuration lacks (`is_configured` says no)
    /// turned into [`Stored::Unknown`].
    pub fn configured(self, is_configured: impl FnOnce(&T) -> bool) -> Stored<T>
    where
        T: AsRef<str>,
    {
        match self {
            Stored::Known(t) if !is_configured(&t) => Stored::Unknown(t.as_ref().to_owned()),
            other => other,
        }
    }
}

impl<T: TryFrom<String>> Stored<T> {
    /// Reads a stored name: [`Stored::Known`] when it is a well-formed value, otherwise
    /// [`Stored::Unknown`] with the name as stored.
    pub fn parse(name: impl Into<String>) -> Stored<T> {
        let name = name.into();
        match T::try_from(name.clone()) {
            Ok(t) => Stored::Known(t),
            Err(_) => Stored::Unknown(name),
        }
    }
}

impl<T: AsRef<str>> Stored<T> {
    /// The name as stored.
    pub fn as_str(&self) -> &str {
        match self {
            Stored::Known(t) => t.as_ref(),
            Stored::Unknown(name) => name,
        }
    }
}

impl<T> From<T> for Stored<T> {
    fn from(t: T) -> Self {
        Stored::Known(t)
    }
}

/// Ordered by the stored name (a known value before an unknown one of the same name), the
/// order the database's rows sort in.
impl<T: AsRef<str> + Eq> Ord for Stored<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str()).then_with(|| {
            matches!(self, Stored::Unknown(_)).cmp(&matches!(other, Stored::Unknown(_)))
        })
    }
}

impl<T: AsRef<str> + Eq> PartialOrd for Stored<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: AsRef<str>> PartialEq<str> for Stored<T> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<T: AsRef<str>> PartialEq<&str> for Stored<T> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<T: AsRef<str>> fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_validated() {
        assert!(PermissionType::new("ro").is_ok());
        assert!(PermissionType::new("move_into").is_ok());
        assert!(PermissionType::new("a".repeat(20)).is_ok());
        assert_eq!(PermissionType::new(""), Err(PermissionTypeError::Empty));
        assert!(matches!(
            PermissionType::new("a".repeat(21)),
            Err(PermissionTypeError::TooLong { len: 21, .. })
        ));
        assert!(matches!(
            PermissionType::new("move-into"),
            Err(PermissionTypeError::InvalidCharacter { character: '-', .. })
        ));
        assert!(matches!(
            PermissionType::new("rö"),
            Err(PermissionTypeError::InvalidCharacter {
                character: 'ö', ..
            })
        ));
    }

    #[test]
    fn type_list_rules() {
        let default = PermissionTypes::default();
        assert_eq!(default, PermissionTypes::new(["ro", "rw"]).unwrap());
        assert_eq!(default.rw_index(), 1);
        assert_eq!(PermissionTypes::new(["rw"]).unwrap().rw_index(), 0);
        assert_eq!(
            PermissionTypes::new(Vec::<String>::new()),
            Err(PermissionTypesError::MissingRw)
        );
        assert_eq!(
            PermissionTypes::new(["ro"]),
            Err(PermissionTypesError::MissingRw)
        );
        assert_eq!(
            PermissionTypes::new(["rw", "ro"]),
            Err(PermissionTypesError::RwNotLast { last: "ro".into() })
        );
        assert_eq!(
            PermissionTypes::new(["ro", "ro", "rw"]),
            Err(PermissionTypesError::Duplicate { name: "ro".into() })
        );
        let many: Vec<String> = (0..64)
            .map(|i| format!("t{i}"))
            .chain(["rw".into()])
            .collect();
        assert_eq!(
            PermissionTypes::new(many),
            Err(PermissionTypesError::TooMany { count: 65 })
        );
        let max: Vec<String> = (0..63)
            .map(|i| format!("t{i}"))
            .chain(["rw".into()])
            .collect();
        assert_eq!(PermissionTypes::new(max).unwrap().len(), 64);
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let types = PermissionTypes::new(["ro", "move_into", "rw"]).unwrap();
        let json = serde_json::to_string(&types).unwrap();
        assert_eq!(json, r#"["ro","move_into","rw"]"#);
        assert_eq!(
            serde_json::from_str::<PermissionTypes>(&json).unwrap(),
            types
        );
        assert!(serde_json::from_str::<PermissionTypes>(r#"["rw","ro"]"#).is_err());
        assert!(serde_json::from_str::<PermissionType>(r#""a b""#).is_err());

        let ctx = PermissionContext::OtherCustomers;
        let json = serde_json::to_string(&ctx).unwrap();
        assert_eq!(json, r#""Ticket::CustomerID::Other""#);
        assert_eq!(
            serde_json::from_str::<PermissionContext>(&json).unwrap(),
            ctx
        );
        assert_eq!(
            serde_json::from_str::<PermissionContext>(r#""Partner""#).unwrap(),
            PermissionContext::Named("Partner".into())
        );
        assert!(serde_json::from_str::<PermissionContext>(r#""""#).is_err());
        assert_eq!(serde_json::to_string(&GroupId(7)).unwrap(), "7");
    }

    #[test]
    fn contexts_map_otobo_values() {
        assert_eq!(
            PermissionContext::new("Ticket::CustomerID::Same").unwrap(),
            PermissionContext::SameCustomer
        );
        assert_eq!(
            PermissionContext::OtherCustomers.as_str(),
            "Ticket::CustomerID::Other"
        );
        assert!(matches!(
            PermissionContext::new("x".repeat(101)),
            Err(PermissionContextError::TooLong { len: 101, .. })
        ));
    }
}
