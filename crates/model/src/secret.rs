//! Secret values that must never be printed.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// A plain-text password on its way to be hashed or verified.
///
/// It never shows in `Debug` output (which prints `Password(<redacted>)`), has no `Display`,
/// no `Serialize`, and its memory is zeroised when dropped.
///
/// ```
/// use clientele_model::Password;
/// let pw = Password::new("s3cret");
/// assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
/// assert_eq!(pw.expose(), "s3cret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a plain-text password.
    pub fn new(plain: impl Into<String>) -> Self {
        Password(Zeroizing::new(plain.into()))
    }

    /// The plain text, for hashing or verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` for the empty password (which authentication always refuses).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password::new(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Password::new)
    }
}

/// A one-time token (for a password-reset link, say) as the Directory hands it out: meant to
/// reach the user once, never a log.
///
/// Like [`Password`], it never shows in `Debug` output (`Token(<redacted>)`), has no
/// `Display` and no `Serialize`, and its memory is zeroised when dropped; [`Token::expose`]
/// gives the text to put in the mail.
///
/// ```
/// use clientele_model::Token;
/// let t = Token::new("k3Wq9");
/// assert_eq!(format!("{t:?}"), "Token(<redacted>)");
/// assert_eq!(t.expose(), "k3Wq9");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token's text.
    pub fn new(text: impl Into<String>) -> Self {
        Token(Zeroizing::new(text.into()))
    }

    /// The token's text, to send to its user or to check.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}
