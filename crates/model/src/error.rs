//! Validation errors: each names the field (the attribute key) and the offending value.

use thiserror::Error;

/// Why an input was refused. `field` is the attribute key (`UserLogin`, `UserEmail`, …).
///
/// Values are shown shortened to at most 64 characters so an error never carries a megabyte of
/// input; the refusal itself never truncates stored data.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required attribute is missing or empty.
    #[error("{field} is required")]
    Required {
        /// The attribute key.
        field: String,
    },
    /// The value is longer than the storage column allows.
    #[error("{field} is {len} characters long; at most {max} are allowed (value starts {value:?})")]
    TooLong {
        /// The attribute key.
        field: String,
        /// Length in characters.
        len: usize,
        /// Maximum length in characters.
        max: usize,
        /// The start of the value.
        value: String,
    },
    /// The value contains a character that cannot be stored (NUL or another control character).
    #[error("{field} contains a forbidden character {character:?} at position {position}")]
    ForbiddenCharacter {
        /// The attribute key.
        field: String,
        /// The character.
        character: char,
        /// Its character position.
        position: usize,
    },
    /// The email address is not acceptable.
    #[error("email address {value:?} in {field} is not valid: {reason}")]
    InvalidEmail {
        /// The attribute key.
        field: String,
        /// The address (shortened).
        value: String,
        /// Why.
        reason: String,
    },
    /// Any other refused value.
    #[error("{field} = {value:?} is not valid: {reason}")]
    Invalid {
        /// The attribute key.
        field: String,
        /// The value (shortened).
        value: String,
        /// Why.
        reason: String,
    },
    /// The attribute is not in the attribute map, so it cannot be stored.
    #[error("attribute {field} is not in the attribute map")]
    UnknownAttribute {
        /// The attribute key.
        field: String,
    },
    /// A new password breaks a rule of the password policy
    /// ([`PasswordPolicy`](crate::PasswordPolicy)); names the rule, never the password.
    #[error(
        "{field} breaks the password policy: it needs {rule} ([password_policy] {key}){more}",
        key = rule.key(),
        more = if *broken > 1 { format!("; {} rules are broken in all", broken) } else { String::new() }
    )]
    PasswordPolicy {
        /// The attribute key (`UserPassword`).
        field: String,
        /// The first rule the password breaks.
        rule: crate::PasswordRule,
        /// How many rules it breaks.
        broken: usize,
    },
}

impl ValidationError {
    /// The attribute key the error is about.
    pub fn field(&self) -> &str {
        match self {
            ValidationError::Required { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::ForbiddenCharacter { field, .. }
            | ValidationError::InvalidEmail { field, .. }
            | ValidationError::Invalid { field, .. }
            | ValidationError::UnknownAttribute { field }
            | ValidationError::PasswordPolicy { field, .. } => field,
        }
    }
}

/// The first 64 characters of `value`, for error messages.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
