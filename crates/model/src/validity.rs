//! Validity: customer users and companies are invalidated, never deleted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// OTOBO's `valid` table: `valid` (1), `invalid` (2), `invalid-temporarily` (3).
///
/// Invalid and invalid-temporarily users cannot log in and are hidden from searches unless
/// the caller asks for them.
///
/// ```
/// use clientele_model::Validity;
/// assert_eq!(Validity::from_id(3).unwrap(), Validity::InvalidTemporarily);
/// assert_eq!(Validity::Valid.id(), 1);
/// assert_eq!("invalid-temporarily".parse::<Validity>().unwrap(), Validity::InvalidTemporarily);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    /// `valid`, OTOBO `valid_id` 1.
    #[default]
    Valid,
    /// `invalid`, OTOBO `valid_id` 2.
    Invalid,
    /// `invalid-temporarily`, OTOBO `valid_id` 3.
    InvalidTemporarily,
}

impl Validity {
    /// Every validity, in id order.
    pub const ALL: [Validity; 3] = [
        Validity::Valid,
        Validity::Invalid,
        Validity::InvalidTemporarily,
    ];

    /// The OTOBO `valid_id`.
    pub fn id(self) -> i16 {
        match self {
            Validity::Valid => 1,
            Validity::Invalid => 2,
            Validity::InvalidTemporarily => 3,
        }
    }

    /// The validity for an OTOBO `valid_id`.
    pub fn from_id(id: i64) -> Result<Self, ValidationError> {
        match id {
            1 => Ok(Validity::Valid),
            2 => Ok(Validity::Invalid),
            3 => Ok(Validity::InvalidTemporarily),
            other => Err(ValidationError::Invalid {
                field: "ValidID".into(),
                value: other.to_string(),
                reason: "valid ids are 1 (valid), 2 (invalid) and 3 (invalid-temporarily)".into(),
            }),
        }
    }

    /// OTOBO's reading of a stored `valid_id` where it only asks "valid or not" (groups,
    /// services): 1 is valid, 3 invalid-temporarily, anything else — 2, an unknown id, NULL —
    /// invalid. Unlike [`from_id`](Self::from_id) it never fails: a row with an odd id still
    /// loads, and grants nothing.
    ///
    /// ```
    /// use clientele_model::Validity;
    ///
    /// assert_eq!(Validity::from_stored_id(Some(1)), Validity::Valid);
    /// assert_eq!(Validity::from_stored_id(Some(3)), Validity::InvalidTemporarily);
    /// assert_eq!(Validity::from_stored_id(Some(7)), Validity::Invalid);
    /// assert_eq!(Validity::from_stored_id(None), Validity::Invalid);
    /// ```
    pub fn from_stored_id(id: Option<i64>) -> Self {
        match id.map(Validity::from_id) {
            Some(Ok(v)) => v,
            _ => Validity::Invalid,
        }
    }

    /// `true` only for [`Validity::Valid`].
    pub fn is_valid(self) -> bool {
        self == Validity::Valid
    }

    /// The OTOBO name (`valid`, `invalid`, `invalid-temporarily`).
    pub fn name(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::InvalidTemporarily => "invalid-temporarily",
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Validity {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "valid" | "1" => Ok(Validity::Valid),
            "invalid" | "2" => Ok(Validity::Invalid),
            "invalid-temporarily" | "3" => Ok(Validity::InvalidTemporarily),
            other => Err(ValidationError::Invalid {
                field: "ValidID".into(),
                value: other.into(),
                reason: "expected valid, invalid or invalid-temporarily".into(),
            }),
        }
    }
}
