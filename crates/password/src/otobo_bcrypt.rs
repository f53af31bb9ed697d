//! OTOBO's `BCRYPT:<cost>:<salt>:<hash>` framing around the raw eksblowfish primitive of
//! the `bcrypt` crate.
//!
//! OTOBO computed `en_base64(bcrypt_hash({key_nul => 1, cost, salt}, pw))` with
//! Crypt::Eksblowfish::Bcrypt: the key is the password's bytes plus a NUL, cut to 72
//! bytes; the salt is the 16 bytes of the salt string as stored (not base64-decoded); the
//! 23-byte output is written in bcrypt's base64 alphabet without padding.

use subtle::ConstantTimeEq;

/// bcrypt's base64 alphabet (`./A-Za-z0-9`), in standard base64 bit order.
const BCRYPT64: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Eksblowfish reads at most 72 bytes of key.
const MAX_KEY_BYTES: usize = 72;
/// Eksblowfish accepts costs 0 to 31; OTOBO wrote 9 to 31.
const MAX_COST: u32 = 31;

/// The parts of a stored `BCRYPT:` value: cost, 16 salt bytes, the hash text.
struct Parts<'a> {
    cost: u32,
    salt: [u8; 16],
    hash: &'a [u8],
}

/// OTOBO's `m{^BCRYPT:(\d+):(.{16}):(.*)$}xms` on an ASCII salt.
fn parse(stored: &str) -> Option<Parts<'_>> {
    let rest = stored.strip_prefix("BCRYPT:")?;
    let (cost, rest) = rest.split_once(':')?;
    if cost.is_empty() || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cost: u32 = cost.parse().ok()?;
    if cost > MAX_COST {
        return None;
    }
    let rest = rest.as_bytes();
    let salt: [u8; 16] = rest.get(..16)?.try_into().ok()?;
    if rest.get(16) != Some(&b':') {
        return None;
    }
    Some(Parts {
        cost,
        salt,
        hash: rest.get(17..)?,
    })
}

/// Whether `password` matches the OTOBO `BCRYPT:` value `stored`; `false` for a malformed
/// value.
pub(crate) fn verify(stored: &str, password: &[u8]) -> bool {
    let Some(parts) = parse(stored) else {
        return false;
    };
    let computed = hash(parts.cost, parts.salt, password);
    computed.as_bytes().ct_eq(parts.hash).into()
}

/// The longest password whose every byte OTOBO's `BCRYPT:` reads: the key is the password
/// plus a NUL, cut to 72 bytes.
pub(crate) const MAX_PASSWORD_BYTES: usize = MAX_KEY_BYTES - 1;

/// A new `BCRYPT:<cost>:<salt>:<hash>` value as OTOBO's `SetPassword` writes it, with `salt`
/// 16 characters of `[0-9A-Za-z]` (OTOBO's `GenerateRandomString(Length => 16)`); `cost`
/// must be ≤ 31.
pub(crate) fn new_value(cost: u32, salt: &str, password: &[u8]) -> Option<String> {
    let salt_bytes: [u8; 16] = salt.as_bytes().try_into().ok()?;
    (cost <= MAX_COST).then(|| format!("BCRYPT:{cost}:{salt}:{}", hash(cost, salt_bytes, password)))
}

/// The cost of a well-formed stored `BCRYPT:` value.
pub(crate) fn cost_of(stored: &str) -> Option<u32> {
    parse(stored).map(|parts| parts.cost)
}

/// `en_base64(bcrypt_hash({key_nul => 1, cost, salt}, password))`; `cost` must be ≤ 31.
fn hash(cost: u32, salt: [u8; 16], password: &[u8]) -> String {
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(password.len() + 1));
    key.extend_from_slice(password);
    key.push(0);
    key.truncate(MAX_KEY_BYTES);
    let raw = zeroize::Zeroizing::new(bcrypt::bcrypt(cost, salt, &key));
    encode_bcrypt64(&raw[..23])
}

/// Crypt::Eksblowfish::Bcrypt::en_base64: base64 with bcrypt's alphabet, no padding.
fn encode_bcrypt64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(
                BCRYPT64[((group >> (18 - 6 * i)) & 0x3f) as usize],
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_crypt_eksblowfish() {
        // perl -MCrypt::Eksblowfish::Bcrypt=bcrypt_hash,en_base64 -e 'print en_base64(
        //   bcrypt_hash({key_nul=>1,cost=>C,salt=>"abcdefghijklmnop"},"pw"))'
        assert_eq!(
            hash(0, *b"abcdefghijklmnop", b"pw"),
            "OkPHR9nc2uo2qjvBPUdVMFp7wPL7IuW"
        );
        assert_eq!(
            hash(4, *b"abcdefghijklmnop", b"pw"),
            "zl2.2797QZ2oTI2WCPV/g9pFEdua9va"
        );
        assert!(verify(
            "BCRYPT:4:abcdefghijklmnop:zl2.2797QZ2oTI2WCPV/g9pFEdua9va",
            b"pw"
        ));
        assert!(verify(
            "BCRYPT:04:abcdefghijklmnop:zl2.2797QZ2oTI2WCPV/g9pFEdua9va",
            b"pw"
        ));
        assert!(!verify(
            "BCRYPT:4:abcdefghijklmnop:zl2.2797QZ2oTI2WCPV/g9pFEdua9vb",
            b"pw"
        ));
    }

    #[test]
    fn refuses_malformed_values() {
        for stored in [
            "BCRYPT:",
            "BCRYPT::abcdefghijklmnop:x",
            "BCRYPT:x:abcdefghijklmnop:x",
            "BCRYPT:32:abcdefghijklmnop:x",
            "BCRYPT:99999999999:abcdefghijklmnop:x",
            "BCRYPT:4:short:x",
            "BCRYPT:4:abcdefghijklmnopq:x",
            "BCRYPT:4:abcdefghijklmnop",
            "BCRYPT:4:abcdefghijklmnop:",
        ] {
            assert!(!verify(stored, b"pw"), "{stored}");
        }
    }

    #[test]
    fn new_values_verify() {
        let v = new_value(4, "abcdefghijklmnop", b"pw").unwrap();
        assert_eq!(
            v,
            "BCRYPT:4:abcdefghijklmnop:zl2.2797QZ2oTI2WCPV/g9pFEdua9va"
        );
        assert_eq!(cost_of(&v), Some(4));
        assert!(new_value(4, "short", b"pw").is_none());
        assert!(new_value(32, "abcdefghijklmnop", b"pw").is_none());
    }

    #[test]
    fn base64_has_no_padding() {
        assert_eq!(encode_bcrypt64(&[0xff]), "9u");
        assert_eq!(encode_bcrypt64(&[0, 0, 0]), "....");
        assert_eq!(encode_bcrypt64(&[0u8; 23]).len(), 31);
    }
}
