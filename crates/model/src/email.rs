//! Email syntax check, configurable like OTOBO's `CheckEmail*` settings. No DNS look-ups here:
//! the model does no I/O (OTOBO's `CheckMXRecord` is left to the host).

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, shorten};

/// Configuration of the email check (OTOBO `CheckEmailAddresses`, `CheckEmailValidAddress`,
/// `CheckEmailInvalidAddress`), with OTOBO's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailCheckConfig {
    /// Check addresses at all (OTOBO `CheckEmailAddresses`, default on).
    pub enabled: bool,
    /// Addresses matching this regex are accepted without further checks
    /// (OTOBO `CheckEmailValidAddress`, default `^(root@localhost|admin@localhost)$`).
    pub allow_pattern: Option<String>,
    /// Addresses matching this regex are refused (OTOBO `CheckEmailInvalidAddress`, default
    /// `@(example)\.(..|...)$`, which refuses `@example.com` and `@example.org`).
    pub deny_pattern: Option<String>,
}

impl Default for EmailCheckConfig {
    fn default() -> Self {
        EmailCheckConfig {
            enabled: true,
            allow_pattern: Some("^(root@localhost|admin@localhost)$".into()),
            deny_pattern: Some(r"@(example)\.(..|...)$".into()),
        }
    }
}

/// A compiled email check.
///
/// ```
/// use clientele_model::{EmailCheck, EmailCheckConfig};
/// let check = EmailCheck::new(&EmailCheckConfig::default()).unwrap();
/// assert!(check.check("UserEmail", "jane.doe@acme-corp.com").is_ok());
/// assert!(check.check("UserEmail", "jane@example.com").is_err()); // OTOBO's deny default
/// assert!(check.check("UserEmail", "jane..doe@acme-corp.com").is_err());
/// assert!(check.check("UserEmail", "root@localhost").is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct EmailCheck {
    enabled: bool,
    allow: Option<Regex>,
    deny: Option<Regex>,
}

impl Default for EmailCheck {
    fn default() -> Self {
        // The default patterns are constants known to compile.
        EmailCheck::new(&EmailCheckConfig::default()).unwrap_or(EmailCheck {
            enabled: true,
            allow: None,
            deny: None,
        })
    }
}

impl EmailCheck {
    /// Compiles a configuration; a bad regex is an error naming the setting.
    pub fn new(config: &EmailCheckConfig) -> Result<Self, ValidationError> {
        let compile = |name: &str, p: &Option<String>| -> Result<Option<Regex>, ValidationError> {
            match p {
                None => Ok(None),
                Some(p) if p.is_empty() => Ok(None),
                Some(p) => Regex::new(p)
                    .map(Some)
                    .map_err(|e| ValidationError::Invalid {
                        field: name.into(),
                        value: shorten(p),
                        reason: e.to_string(),
                    }),
            }
        };
        Ok(EmailCheck {
            enabled: config.enabled,
            allow: compile("allow_pattern", &config.allow_pattern)?,
            deny: compile("deny_pattern", &config.deny_pattern)?,
        })
    }

    /// A check that accepts every storable address (OTOBO `CheckEmailAddresses = 0`).
    pub fn disabled() -> Self {
        EmailCheck {
            enabled: false,
            allow: None,
            deny: None,
        }
    }

    /// Checks `value` (the content of attribute `field`).
    pub fn check(&self, field: &str, value: &str) -> Result<(), ValidationError> {
        if !self.enabled {
            return Ok(());
        }
        if self.allow.as_ref().is_some_and(|r| r.is_match(value)) {
            return Ok(());
        }
        let fail = |reason: &str| ValidationError::InvalidEmail {
            field: field.into(),
            value: shorten(value),
            reason: reason.into(),
        };
        syntax(value).map_err(fail)?;
        if self.deny.as_ref().is_some_and(|r| r.is_match(value)) {
            return Err(fail("the address matches the configured deny pattern"));
        }
        Ok(())
    }
}

/// RFC 5322 addr-spec without comments or domain literals: a dot-atom or quoted local part and a
/// dot-separated host name with at least two labels.
fn syntax(value: &str) -> Result<(), &'static str> {
    let at = value.rfind('@').ok_or("no @")?;
    let (local, domain) = (&value[..at], &value[at + 1..]);
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.chars().count() > 64 {
        return Err("local part longer than 64 characters");
    }
    if local.starts_with('"') {
        if local.len() < 2 || !local.ends_with('"') {
            return Err("unbalanced quotes in local part");
        }
        let inner = &local[1..local.len() - 1];
        let mut escaped = false;
        for c in inner.chars() {
            if c.is_control() {
                return Err("control character in local part");
            }
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => return Err("unescaped quote in local part"),
                _ => {}
            }
        }
        if escaped {
            return Err("dangling backslash in local part");
        }
    } else {
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("misplaced dot in local part");
        }
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
        if !local.chars().all(atext) {
            return Err("character not allowed in local part");
        }
    }
    if domain.is_empty() {
        return Err("empty domain");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("domain has no dot");
    }
    for label in &labels {
        if label.is_empty() {
            return Err("empty domain label");
        }
        if label.chars().count() > 63 {
            return Err("domain label longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with a hyphen");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("character not allowed in domain");
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err("top-level domain must be at least two characters and not numeric");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        let c = EmailCheck::default();
        for ok in [
            "a@b.co",
            "\"john doe\"@acme.de",
            "jürgen@müller.de",
            "o'brien@acme.ie",
            "a+tag@x.io",
        ] {
            assert!(c.check("UserEmail", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a.@b.co",
            "a..b@c.de",
            "a@-b.de",
            "a b@c.de",
            "a@b.c",
            "x@example.com",
            "a@1.2",
            "a\0@b.de",
        ] {
            assert!(c.check("UserEmail", bad).is_err(), "{bad:?}");
        }
        assert!(
            EmailCheck::disabled()
                .check("UserEmail", "anything")
                .is_ok()
        );
    }

    #[test]
    fn bad_regex_is_named() {
        let cfg = EmailCheckConfig {
            deny_pattern: Some("(".into()),
            ..Default::default()
        };
        let err = EmailCheck::new(&cfg).unwrap_err();
        assert_eq!(err.field(), "deny_pattern");
    }
}
