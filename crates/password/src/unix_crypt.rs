//! The crypt(3) DES family as libxcrypt computes it, over the DES of [`crate::des`].
//!
//! OTOBO's CryptType `crypt` stored `crypt(pw, login)`. With libxcrypt (every current Linux)
//! that is traditional DES when the login is at most 13 bytes or the password at most 8,
//! and *bigcrypt* otherwise; a login shaped `_CCCCSSSS` selects BSDi extended DES. `des`
//! provides DES and BSDi; bigcrypt's chaining of DES blocks is done here.
//!
//! crypt(3) takes C strings, so the password ends at its first NUL byte.

use crate::des;
use crate::format::is_crypt64;

/// Length of a traditional DES hash: 2 salt characters and 11 hash characters.
const DES_LEN: usize = 13;
/// bigcrypt hashes at most 16 blocks of 8 bytes.
const BIGCRYPT_BLOCKS: usize = 16;
/// `_`, 4 characters of rounds, 4 of salt.
const BSDI_SETTING_LEN: usize = 9;

/// The password as crypt(3) sees it: up to the first NUL.
fn c_string(password: &[u8]) -> &[u8] {
    password
        .iter()
        .position(|&b| b == 0)
        .map_or(password, |nul| &password[..nul])
}

/// Traditional DES with the first two characters of `setting` as salt; `None` when they
/// are not salt characters (libxcrypt fails then too).
pub(crate) fn des_crypt(password: &[u8], setting: &[u8]) -> Option<String> {
    des_block(c_string(password), setting)
}

fn des_block(block: &[u8], setting: &[u8]) -> Option<String> {
    let salt = setting.get(..2)?;
    if !salt.iter().copied().all(is_crypt64) {
        return None;
    }
    let salt: &[u8; 2] = salt.try_into().ok()?;
    // Only the first 8 bytes of the key count, 7 bits each, as crypt(3) does.
    Some(des::des_crypt(salt, block))
}

/// `crypt(password, setting)` for the settings OTOBO's last branch can meet: BSDi
/// extended DES for `_…`, bigcrypt/DES for a setting starting with two salt characters.
/// `None` for anything else (libxcrypt would fail or pick a modular hash whose output
/// OTOBO never routes to this branch).
pub(crate) fn crypt(password: &[u8], setting: &[u8]) -> Option<String> {
    let password = c_string(password);
    match setting.first() {
        Some(b'_') => bsdi_crypt(password, setting),
        Some(_) => bigcrypt(password, setting),
        None => None,
    }
}

/// libxcrypt's `crypt_bigcrypt_rn`.
fn bigcrypt(password: &[u8], setting: &[u8]) -> Option<String> {
    if password.len() > 8 && setting.len() <= DES_LEN {
        return des_block(password, setting);
    }
    let mut output = des_block(password, setting)?;
    let mut rest = password.get(8..).unwrap_or_default();
    for _ in 1..BIGCRYPT_BLOCKS {
        if rest.is_empty() {
            break;
        }
        let (block, tail) = rest.split_at(rest.len().min(8));
        // The next block's salt is the first two hash characters of the previous block.
        let salt = output.get(output.len() - 11..output.len() - 9)?.to_owned();
        let hashed = des_block(block, salt.as_bytes())?;
        output.push_str(hashed.get(2..)?);
        rest = tail;
    }
    Some(output)
}

/// libxcrypt's `crypt_bsdicrypt_rn`: the setting's first 9 bytes are used.
fn bsdi_crypt(password: &[u8], setting: &[u8]) -> Option<String> {
    let setting = setting.get(..BSDI_SETTING_LEN)?;
    if !setting[1..].iter().copied().all(is_crypt64) {
        return None;
    }
    let setting: &[u8; BSDI_SETTING_LEN] = setting.try_into().ok()?;
    des::bsdi_crypt(setting, password)
}

/// Whether `stored` has the shape `crypt(_, login)` produces for this login: then it is
/// never compared as plain text, so such a hash cannot serve as its own password.
pub(crate) fn looks_like_login_crypt(stored: &str, login: &str) -> bool {
    let (stored, login) = (stored.as_bytes(), login.as_bytes());
    if !stored.iter().copied().all(|b| b == b'_' || is_crypt64(b)) {
        return false;
    }
    if login.first() == Some(&b'_') {
        stored.len() == BSDI_SETTING_LEN + 11
            && login.len() >= BSDI_SETTING_LEN
            && stored.starts_with(&login[..BSDI_SETTING_LEN])
    } else {
        stored.len() > DES_LEN
            && (stored.len() - 2) % 11 == 0
            && login.len() >= 2
            && stored.starts_with(&login[..2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from Python's crypt module (libxcrypt), as in the KAT fixture.
    #[test]
    fn des_uses_two_salt_characters_and_eight_bytes() {
        assert_eq!(
            des_crypt(b"password", b"mgr").as_deref(),
            Some("mgUWEB8BtyLpE")
        );
        assert_eq!(
            des_crypt(b"password and more", b"mg"),
            des_crypt(b"password", b"mg")
        );
        assert_eq!(des_crypt(b"x", b"a@"), None);
        assert_eq!(des_crypt(b"x", b"a"), None);
        assert_eq!(des_crypt(b"x", b"\tb"), None);
    }

    #[test]
    fn password_ends_at_nul() {
        // perl -e 'print crypt("ab\0cd", "xy")' gives the same as crypt("ab", "xy").
        assert_eq!(
            des_crypt(b"ab\0cd", b"xy").as_deref(),
            Some("xymY.41uuaUPE")
        );
        assert_eq!(crypt(b"ab\0cd", b"xy"), des_crypt(b"ab", b"xy"));
    }

    #[test]
    fn bigcrypt_only_for_long_settings_and_passwords() {
        assert_eq!(
            crypt(b"Secret123!", b"customer@example.com").as_deref(),
            Some("cuLUtzjHZRPR6CUGJwvbhmBo")
        );
        assert_eq!(
            crypt(b"Secret123!", b"customer"),
            des_crypt(b"Secret123!", b"cu")
        );
        assert_eq!(
            crypt(b"exactly8", b"service.desk@example.com").as_deref(),
            Some("se7UmDws7Jb4s")
        );
    }

    #[test]
    fn bsdi_for_underscore_settings() {
        assert_eq!(
            crypt(b"password", b"_J9..cust").as_deref(),
            Some("_J9..cust3dEZh59PLfg")
        );
        assert_eq!(crypt(b"password", b"_J9.."), None);
        assert_eq!(crypt(b"password", b"_J9..cu\tt"), None);
        assert_eq!(crypt(b"password", b""), None);
    }

    #[test]
    fn login_crypt_shapes() {
        assert!(looks_like_login_crypt(
            "cuLUtzjHZRPR6CUGJwvbhmBo",
            "customer@example.com"
        ));
        assert!(looks_like_login_crypt("_J9..cust3dEZh59PLfg", "_J9..cust"));
        assert!(!looks_like_login_crypt("cuLUtzjHZRPR6CUGJwvbhmBo", "mgr"));
        assert!(!looks_like_login_crypt("my secret", "my"));
        assert!(!looks_like_login_crypt("cuLUtzjHZRPR", "cu"));
    }
}
