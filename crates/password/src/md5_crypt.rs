//! md5-crypt (`$1$`) and Apache's variant (`$apr1$`), over the `md-5` crate.
//!
//! Written here rather than taken from a crypt crate because OTOBO used the *login* as the salt
//! (`unix_md5_crypt(pw, login)`, Crypt::PasswdMD5), so salts hold `@`, `-`, `_` or UTF-8
//! bytes, which such crates refuse. The algorithm is Poul-Henning Kamp's; apr1
//! differs only in its magic string.

use md5::{Digest, Md5};

/// crypt(3)'s base64 alphabet.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Crypt::PasswdMD5 keeps at most 8 bytes of salt.
pub(crate) const MAX_SALT_BYTES: usize = 8;

/// `magic` + salt (truncated to 8 bytes) + `$` + 22 characters, as bytes: the salt may
/// be cut inside a UTF-8 character, exactly as Crypt::PasswdMD5 cuts octets.
pub(crate) fn md5_crypt(magic: &[u8], password: &[u8], salt: &[u8]) -> Vec<u8> {
    let salt = &salt[..salt.len().min(MAX_SALT_BYTES)];

    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut context = Md5::new();
    context.update(password);
    context.update(magic);
    context.update(salt);
    for chunk_start in (0..password.len()).step_by(16) {
        let len = (password.len() - chunk_start).min(16);
        context.update(&alternate[..len]);
    }
    // The original's quirk: for each bit of the length, a NUL byte or the first byte of
    // the password.
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest = context.finalize();

    for round in 0..1000 {
        let mut context = Md5::new();
        if round % 2 == 1 {
            context.update(password);
        } else {
            context.update(digest);
        }
        if round % 3 != 0 {
            context.update(salt);
        }
        if round % 7 != 0 {
            context.update(password);
        }
        if round % 2 == 1 {
            context.update(digest);
        } else {
            context.update(password);
        }
        digest = context.finalize();
    }

    let mut out = Vec::with_capacity(magic.len() + salt.len() + 1 + 22);
    out.extend_from_slice(magic);
    out.extend_from_slice(salt);
    out.push(b'$');
    let d = &digest;
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        let group = (u32::from(d[a]) << 16) | (u32::from(d[b]) << 8) | u32::from(d[c]);
        push_crypt64(&mut out, group, 4);
    }
    push_crypt64(&mut out, u32::from(d[11]), 2);
    out
}

/// Appends `count` characters of crypt(3) base64, least significant six bits first.
fn push_crypt64(out: &mut Vec<u8>, mut value: u32, count: usize) {
    for _ in 0..count {
        out.push(ITOA64[(value & 0x3f) as usize]);
        value >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::md5_crypt;

    #[test]
    fn matches_published_values() {
        // pwhash's documented example and `openssl passwd -apr1 -salt 'jo@ex' password`.
        assert_eq!(
            md5_crypt(b"$1$", b"password", b"5pZSV9va"),
            b"$1$5pZSV9va$azfrPr6af3Fc7dLblQXVa0"
        );
        assert_eq!(
            md5_crypt(b"$apr1$", b"password", b"jo@ex"),
            b"$apr1$jo@ex$5/DgfZzBIrl1c0Oij/Ujv1"
        );
    }

    #[test]
    fn keeps_eight_bytes_of_salt() {
        // `openssl passwd -1 -salt customer@example.com x`
        assert_eq!(
            md5_crypt(b"$1$", b"x", b"customer@example.com"),
            b"$1$customer$l76Drld1X89G.4BJFveOA/"
        );
    }
}
