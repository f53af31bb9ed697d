//! Newtypes for the identifiers: [`Login`], [`Email`], [`CustomerId`].

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ValidationError, shorten};
use crate::limits;

/// Checks the rules every stored text shares: at most `max` characters, no NUL or other
/// control character (tab excepted in free text is not allowed in identifiers).
pub(crate) fn check_text(
    field: &str,
    value: &str,
    max: usize,
    allow_newlines: bool,
) -> Result<(), ValidationError> {
    let mut len = 0;
    for (position, c) in value.chars().enumerate() {
        len += 1;
        let allowed_ws = allow_newlines && matches!(c, '\n' | '\r' | '\t');
        if c.is_control() && !allowed_ws {
            return Err(ValidationError::ForbiddenCharacter {
                field: field.into(),
                character: c,
                position,
            });
        }
    }
    if len > max {
        return Err(ValidationError::TooLong {
            field: field.into(),
            len,
            max,
            value: shorten(value),
        });
    }
    Ok(())
}

fn check_identifier(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Required {
            field: field.into(),
        });
    }
    check_text(field, value, max, false)?;
    if value.trim() != value {
        return Err(ValidationError::Invalid {
            field: field.into(),
            value: shorten(value),
            reason: "leading or trailing white space".into(),
        });
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps a value given by a user or caller.
            pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                check_identifier($field, &value, $max)?;
                Ok($name(value))
            }

            /// Wraps a value read back from a store without re-validating it (an existing OTOBO
            /// database or directory may hold values that today's rules would refuse).
            pub fn from_stored(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, owned.
            pub fn into_string(self) -> String {
                self.0
            }

            /// The value case-folded ([`fold_case`](crate::fold_case)), the key for
            /// case-insensitive comparison.
            pub fn folded(&self) -> String {
                crate::fold_case(&self.0).into_owned()
            }

            /// Case-insensitive equality ([`fold_case`](crate::fold_case) on both sides).
            pub fn eq_ignore_case(&self, other: &str) -> bool {
                self.0 == other || crate::fold_case(&self.0) == crate::fold_case(other)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                $name::new(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

identifier!(
    /// A customer user's login (OTOBO `UserLogin`, column `login VARCHAR(191)`).
    ///
    /// Non-empty, at most 191 characters, no control characters, no leading or trailing white
    /// space. Any other character — `&`, `_`, `%`, quotes, non-Latin scripts — is allowed and
    /// stored exactly.
    ///
    /// ```
    /// use clientele_model::Login;
    /// assert!(Login::new("jürgen&co_1").is_ok());
    /// assert!(Login::new("").is_err());
    /// assert!(Login::new("a\0b").is_err());
    /// ```
    Login,
    "UserLogin",
    limits::LOGIN
);

identifier!(
    /// An email address as stored (OTOBO `UserEmail`, column `email VARCHAR(150)`).
    ///
    /// The newtype only guarantees it is storable (non-empty, ≤ 150 characters, no control
    /// characters); the syntax check is [`EmailCheck`](crate::EmailCheck), because OTOBO lets an
    /// invalid user keep an address that fails it.
    Email,
    "UserEmail",
    limits::EMAIL
);

identifier!(
    /// A customer (company) id (OTOBO `CustomerID`, column `customer_id VARCHAR(150)`).
    ///
    /// ```
    /// use clientele_model::CustomerId;
    /// let id = CustomerId::new("ACME-1").unwrap();
    /// assert_eq!(id.as_str(), "ACME-1");
    /// ```
    CustomerId,
    "CustomerID",
    limits::CUSTOMER_ID
);

impl CustomerId {
    /// Splits OTOBO's `UserCustomerIDs` string: on the first of `;`, `,`, `|` that occurs,
    /// trimming each part and dropping empty ones (OTOBO `CustomerIDs`, reference §3.9).
    ///
    /// ```
    /// use clientele_model::CustomerId;
    /// let ids = CustomerId::split_list(" a ; b,c ;");
    /// assert_eq!(ids.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["a", "b,c"]);
    /// ```
    pub fn split_list(value: &str) -> Vec<CustomerId> {
        let sep = [';', ',', '|'].into_iter().find(|c| value.contains(*c));
        let parts: Vec<&str> = match sep {
            Some(sep) => value.split(sep).collect(),
            None => vec![value],
        };
        parts
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(CustomerId::from_stored)
            .collect()
    }

    /// Joins ids the way they are stored in a `customer_ids` column (`;`-separated).
    pub fn join_list(ids: &[CustomerId]) -> String {
        ids.iter()
            .map(CustomerId::as_str)
            .collect::<Vec<_>>()
            .join(";")
    }
}
