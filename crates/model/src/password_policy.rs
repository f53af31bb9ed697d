//! The password policy for customer users: OTOBO's `CustomerPreferencesGroups###Password`
//! settings (`PasswordMinSize`, `PasswordMin2Lower2UpperCharacters`, `PasswordMin2Characters`,
//! `PasswordNeedDigit`, `PasswordMaxLoginFailed`). Off by default, as in OTOBO.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::keys;
use crate::secret::Password;

/// `[password_policy]`: what a new password must contain, and after how many failed logins in
/// a row a user is set `invalid-temporarily`.
///
/// Every rule is off by default (OTOBO's defaults: `0`). [`check`](Self::check) tests a
/// password against the rules that are on and names the first one it breaks.
///
/// ```
/// use clientele_model::{Password, PasswordPolicy, PasswordRule, ValidationError};
///
/// assert!(PasswordPolicy::default().check(&Password::new("x")).is_ok());
///
/// let policy = PasswordPolicy {
///     min_size: 10,
///     min_2_lower_2_upper_characters: true,
///     need_digit: true,
///     ..PasswordPolicy::default()
/// };
/// assert!(policy.check(&Password::new("CorrectHorse7")).is_ok());
/// match policy.check(&Password::new("correcthorse7")) {
///     Err(ValidationError::PasswordPolicy { rule, .. }) => {
///         assert_eq!(rule, PasswordRule::TwoLowerTwoUpper)
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// The fewest characters a password may have; `0` = no minimum (OTOBO `PasswordMinSize`).
    pub min_size: usize,
    /// At least two lowercase and two uppercase letters (OTOBO
    /// `PasswordMin2Lower2UpperCharacters`).
    pub min_2_lower_2_upper_characters: bool,
    /// At least two letters (OTOBO `PasswordMin2Characters`).
    pub min_2_characters: bool,
    /// At least one digit (OTOBO `PasswordNeedDigit`).
    pub need_digit: bool,
    /// After this many failed logins in a row (counted in the `UserLoginFailed` preference) the
    /// user's validity becomes `invalid-temporarily`; `0` = never (OTOBO
    /// `PasswordMaxLoginFailed`).
    pub max_login_failed: u64,
}

/// One rule of a [`PasswordPolicy`], as a refused password names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordRule {
    /// Fewer characters than [`PasswordPolicy::min_size`].
    MinSize {
        /// The minimum.
        min: usize,
    },
    /// Fewer than two lowercase or two uppercase letters.
    TwoLowerTwoUpper,
    /// Fewer than two letters.
    TwoLetters,
    /// No digit.
    Digit,
}

impl PasswordRule {
    /// The rule's key in `[password_policy]` (and the OTOBO setting it stands for).
    pub fn key(&self) -> &'static str {
        match self {
            PasswordRule::MinSize { .. } => "min_size",
            PasswordRule::TwoLowerTwoUpper => "min_2_lower_2_upper_characters",
            PasswordRule::TwoLetters => "min_2_characters",
            PasswordRule::Digit => "need_digit",
        }
    }
}

impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordRule::MinSize { min } => write!(f, "at least {min} characters"),
            PasswordRule::TwoLowerTwoUpper => {
                f.write_str("at least 2 lowercase and 2 uppercase letters")
            }
            PasswordRule::TwoLetters => f.write_str("at least 2 letters"),
            PasswordRule::Digit => f.write_str("at least 1 digit"),
        }
    }
}

impl PasswordPolicy {
    /// Whether any rule about a password's content is on (the failed-login limit aside).
    pub fn checks_content(&self) -> bool {
        self.min_size > 0
            || self.min_2_lower_2_upper_characters
            || self.min_2_characters
            || self.need_digit
    }

    /// The rules `password` breaks, in the order of the fields.
    pub fn broken_rules(&self, password: &Password) -> Vec<PasswordRule> {
        let text = password.expose();
        let count = |f: fn(&char) -> bool| text.chars().filter(f).count();
        let mut broken = Vec::new();
        if self.min_size > 0 && text.chars().count() < self.min_size {
            broken.push(PasswordRule::MinSize { min: self.min_size });
        }
        if self.min_2_lower_2_upper_characters
            && (count(|c| c.is_lowercase()) < 2 || count(|c| c.is_uppercase()) < 2)
        {
            broken.push(PasswordRule::TwoLowerTwoUpper);
        }
        if self.min_2_characters && count(|c| c.is_alphabetic()) < 2 {
            broken.push(PasswordRule::TwoLetters);
        }
        if self.need_digit && count(|c| c.is_numeric()) < 1 {
            broken.push(PasswordRule::Digit);
        }
        broken
    }

    /// Checks a new password: [`ValidationError::PasswordPolicy`] naming the first rule it
    /// breaks (and how many it breaks in all), or `Ok`.
    pub fn check(&self, password: &Password) -> Result<(), ValidationError> {
        let broken = self.broken_rules(password);
        match broken.first() {
            None => Ok(()),
            Some(&rule) => Err(ValidationError::PasswordPolicy {
                field: keys::PASSWORD.into(),
                rule,
                broken: broken.len(),
            }),
        }
    }

    /// Whether `failures` failed logins in a row reach [`max_login_failed`](Self::max_login_failed)
    /// (never when it is `0`).
    pub fn locks_after(&self, failures: u64) -> bool {
        self.max_login_failed > 0 && failures >= self.max_login_failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_on() -> PasswordPolicy {
        PasswordPolicy {
            min_size: 8,
            min_2_lower_2_upper_characters: true,
            min_2_characters: true,
            need_digit: true,
            max_login_failed: 3,
        }
    }

    #[test]
    fn each_rule_is_named_when_broken() {
        let policy = all_on();
        let cases: [(&str, &[PasswordRule]); 6] = [
            ("AbCd3fgh", &[]),
            ("AbCd3fg", &[PasswordRule::MinSize { min: 8 }]),
            ("abcd3fgh", &[PasswordRule::TwoLowerTwoUpper]),
            ("ABCD3FGh", &[PasswordRule::TwoLowerTwoUpper]),
            ("AbCdefgh", &[PasswordRule::Digit]),
            (
                "!?-.",
                &[
                    PasswordRule::MinSize { min: 8 },
                    PasswordRule::TwoLowerTwoUpper,
                    PasswordRule::TwoLetters,
                    PasswordRule::Digit,
                ],
            ),
        ];
        for (password, broken) in cases {
            assert_eq!(
                policy.broken_rules(&Password::new(password)),
                broken,
                "{password}"
            );
        }
        let e = policy.check(&Password::new("abcd3fgh")).unwrap_err();
        assert_eq!(e.field(), keys::PASSWORD);
        let text = e.to_string();
        assert!(
            text.contains("min_2_lower_2_upper_characters") && !text.contains("abcd3fgh"),
            "{text}"
        );
    }

    #[test]
    fn letters_and_sizes_count_characters_not_bytes() {
        let policy = PasswordPolicy {
            min_size: 6,
            min_2_lower_2_upper_characters: true,
            ..PasswordPolicy::default()
        };
        // Six characters, twelve bytes; Ä and Ö are uppercase letters.
        assert!(policy.check(&Password::new("ÄÖäöüß")).is_ok());
        assert!(policy.check(&Password::new("ÄÖäö")).is_err());
    }

    #[test]
    fn off_by_default() {
        let policy = PasswordPolicy::default();
        assert!(!policy.checks_content());
        assert!(policy.check(&Password::new("a")).is_ok());
        assert!(!policy.locks_after(1_000_000));
        assert!(all_on().locks_after(3) && !all_on().locks_after(2));
    }
}
