//! Which format a stored password value is in, decided from the value alone.

/// The format of a stored password value, as [`HashFormat::detect`] reads it.
///
/// Detection follows OTOBO's `Kernel/System/CustomerAuth/DB.pm::Auth`, which looks at the
/// stored value and not at the configured CryptType, so a table written over the years
/// with different settings keeps working. Our own formats are recognised first.
///
/// | stored value | format |
/// |---|---|
/// | empty, `*0`, `*1` (crypt(3) failure tokens) | [`Unusable`](Self::Unusable) |
/// | `$argon2id$…`, `$argon2i$…`, `$argon2d$…` | [`Argon2`](Self::Argon2) |
/// | `$2b$…`, `$2a$…`, `$2y$…` | [`Bcrypt`](Self::Bcrypt) |
/// | 13 characters of `[./0-9A-Za-z]` | [`DesCrypt`](Self::DesCrypt) |
/// | other 13 characters: `$<digit>$…` / anything else | `Unusable` / [`Other`](Self::Other) |
/// | `$1$<salt>$…` | [`Md5Crypt`](Self::Md5Crypt) |
/// | `$apr1$<salt>$…` | [`Apr1`](Self::Apr1) |
/// | any other `$<id>$<salt>$…` (OTOBO would run md5-crypt and never match) | `Unusable` |
/// | 64 hex digits | [`Sha256Hex`](Self::Sha256Hex) |
/// | 128 hex digits | [`Sha512Hex`](Self::Sha512Hex) |
/// | `BCRYPT:…` | [`OtoboBcrypt`](Self::OtoboBcrypt) |
/// | 40 hex digits | [`Sha1Hex`](Self::Sha1Hex) |
/// | anything else | `Other` |
///
/// ```
/// use clientele_password::HashFormat;
///
/// assert_eq!(HashFormat::detect("mgUWEB8BtyLpE"), HashFormat::DesCrypt);
/// assert_eq!(HashFormat::detect("$1$mgr$YmxCrgiPcBnE3fyljVimC/"), HashFormat::Md5Crypt);
/// assert_eq!(
///     HashFormat::detect("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"),
///     HashFormat::Sha256Hex,
/// );
/// assert_eq!(HashFormat::detect("my old password"), HashFormat::Other);
/// assert!(HashFormat::Sha256Hex.is_legacy());
/// assert!(!HashFormat::Argon2.is_legacy());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashFormat {
    /// A PHC string of argon2id, argon2i or argon2d (what Clientele writes by default).
    Argon2,
    /// Standard bcrypt, `$2b$`, `$2a$` or `$2y$` (what Clientele writes when configured
    /// for bcrypt).
    Bcrypt,
    /// OTOBO's `BCRYPT:<cost>:<16-character salt>:<hash>`: eksblowfish of the password
    /// plus a trailing NUL, the salt string's 16 bytes as salt, hash in bcrypt's base64.
    OtoboBcrypt,
    /// md5-crypt, `$1$<salt>$<hash>` (OTOBO CryptType `md5`, salt = the login's first 8
    /// bytes).
    Md5Crypt,
    /// Apache's md5-crypt variant, `$apr1$<salt>$<hash>` (CryptType `apr1`).
    Apr1,
    /// Hex SHA-1 of the password, 40 digits (CryptType `sha1`).
    Sha1Hex,
    /// Hex SHA-256 of the password, 64 digits (CryptType `sha2`, OTOBO's default).
    Sha256Hex,
    /// Hex SHA-512 of the password, 128 digits (CryptType `sha512`).
    Sha512Hex,
    /// Traditional DES crypt(3), 13 characters, salt = the first two (CryptType `crypt`).
    DesCrypt,
    /// None of the above. OTOBO's last resort applies: `crypt(password, login)`, which
    /// verifies the bigcrypt values libxcrypt writes for logins longer than 13 bytes (and
    /// BSDi extended DES for logins shaped `_CCCCSSSS`); then, only when
    /// [`PasswordConfig::accept_plain`](super::PasswordConfig::accept_plain) is set, a
    /// plain-text comparison.
    Other,
    /// A value no password matches: empty, a crypt(3) failure token, or a shape OTOBO
    /// could never verify.
    Unusable,
}

impl HashFormat {
    /// Reads the format of `stored`, exactly as described in the table above.
    pub fn detect(stored: &str) -> HashFormat {
        let bytes = stored.as_bytes();
        if bytes.is_empty() || stored == "*0" || stored == "*1" {
            return HashFormat::Unusable;
        }
        if ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return HashFormat::Argon2;
        }
        if ["$2b$", "$2a$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return HashFormat::Bcrypt;
        }
        if bytes.len() == 13 {
            return if bytes.iter().copied().all(is_crypt64) {
                HashFormat::DesCrypt
            } else if bytes[0] == b'$' && bytes[1].is_ascii_digit() && bytes[2] == b'$' {
                // OTOBO hands such a value whole to crypt(3) as a modular setting, whose
                // output is never 13 characters long.
                HashFormat::Unusable
            } else {
                HashFormat::Other
            };
        }
        if has_md5_crypt_shape(bytes) {
            return if split_md5_crypt(stored, "$1$").is_some() {
                HashFormat::Md5Crypt
            } else if split_md5_crypt(stored, "$apr1$").is_some() {
                HashFormat::Apr1
            } else {
                HashFormat::Unusable
            };
        }
        if is_hex(bytes, 64) {
            return HashFormat::Sha256Hex;
        }
        if is_hex(bytes, 128) {
            return HashFormat::Sha512Hex;
        }
        if stored.starts_with("BCRYPT:") {
            return HashFormat::OtoboBcrypt;
        }
        if is_hex(bytes, 40) {
            return HashFormat::Sha1Hex;
        }
        HashFormat::Other
    }

    /// `true` for every format Clientele does not write itself: OTOBO's formats,
    /// [`Other`](Self::Other) and [`Unusable`](Self::Unusable).
    pub fn is_legacy(self) -> bool {
        !matches!(self, HashFormat::Argon2 | HashFormat::Bcrypt)
    }

    /// A short stable name for logs and metrics, e.g. `"sha256-hex"`. OTOBO logged a
    /// similar `Method`.
    ///
    /// ```
    /// use clientele_password::HashFormat;
    /// assert_eq!(HashFormat::OtoboBcrypt.name(), "otobo-bcrypt");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            HashFormat::Argon2 => "argon2",
            HashFormat::Bcrypt => "bcrypt",
            HashFormat::OtoboBcrypt => "otobo-bcrypt",
            HashFormat::Md5Crypt => "md5-crypt",
            HashFormat::Apr1 => "apr1",
            HashFormat::Sha1Hex => "sha1-hex",
            HashFormat::Sha256Hex => "sha256-hex",
            HashFormat::Sha512Hex => "sha512-hex",
            HashFormat::DesCrypt => "des-crypt",
            HashFormat::Other => "other",
            HashFormat::Unusable => "unusable",
        }
    }
}

/// crypt(3)'s base64 alphabet: `./0-9A-Za-z`.
pub(crate) fn is_crypt64(byte: u8) -> bool {
    byte == b'.' || byte == b'/' || byte.is_ascii_alphanumeric()
}

fn is_hex(bytes: &[u8], len: usize) -> bool {
    bytes.len() == len && bytes.iter().all(u8::is_ascii_hexdigit)
}

/// OTOBO's `m{\A \$.+? \$.+? \$.* \z}xms`: a `$`, at least one byte, a `$`, at least one
/// byte, a `$`. Taking the earliest possible second `$` leaves the most room for the third.
fn has_md5_crypt_shape(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&b'$') {
        return false;
    }
    let Some(second) = bytes.iter().skip(2).position(|&b| b == b'$').map(|i| i + 2) else {
        return false;
    };
    bytes.iter().skip(second + 2).any(|&b| b == b'$')
}

/// For `magic` = `$1$` or `$apr1$`: the salt of a stored md5-crypt value, i.e. the
/// non-empty run of bytes after the magic up to the next `$` (which must exist).
pub(crate) fn split_md5_crypt<'a>(stored: &'a str, magic: &str) -> Option<&'a str> {
    let rest = stored.strip_prefix(magic)?;
    let end = rest.find('$')?;
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::HashFormat::{self, *};

    #[test]
    fn detects_every_shape() {
        let cases: &[(&str, HashFormat)] = &[
            ("", Unusable),
            ("*0", Unusable),
            ("*1", Unusable),
            ("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA", Argon2),
            ("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA", Argon2),
            ("$2b$04$abcdefghijklmnopqrstuu", Bcrypt),
            ("$2y$04$abcdefghijklmnopqrstuu", Bcrypt),
            ("abJnggxhB/yWI", DesCrypt),
            ("$1$ab$cdefghi", Unusable),
            ("hello world!!", Other),
            ("$1$mgr$YmxCrgiPcBnE3fyljVimC/", Md5Crypt),
            ("$apr1$jo@ex$5/DgfZzBIrl1c0Oij/Ujv1", Apr1),
            (
                "$5$abc$6va2Z4O.keO7R84v9g0B9d2NkB7NOyTy0sMeQ5Z3LLA",
                Unusable,
            ),
            ("$1$$YmxCrgiPcBnE3fyljVimC/", Other),
            ("$1$$x$YmxCrgiPcBnE3fyljVimC/", Unusable),
            ("$1$salt", Other),
            (&"a".repeat(40), Sha1Hex),
            (&"A".repeat(64), Sha256Hex),
            (&"f".repeat(128), Sha512Hex),
            (&"g".repeat(64), Other),
            ("BCRYPT:12:abcdefghijklmnop:x", OtoboBcrypt),
            ("BCRYPT:garbage", OtoboBcrypt),
            ("cuLUtzjHZRPR6CUGJwvbhmBo", Other),
            ("_J9..cust3dEZh59PLfg", Other),
            ("secret", Other),
        ];
        for (stored, expected) in cases {
            assert_eq!(HashFormat::detect(stored), *expected, "{stored:?}");
        }
    }

    #[test]
    fn only_our_formats_are_current() {
        for format in [
            OtoboBcrypt,
            Md5Crypt,
            Apr1,
            Sha1Hex,
            Sha256Hex,
            Sha512Hex,
            DesCrypt,
            Other,
            Unusable,
        ] {
            assert!(format.is_legacy(), "{}", format.name());
        }
        assert!(!Argon2.is_legacy());
        assert!(!Bcrypt.is_legacy());
    }
}
