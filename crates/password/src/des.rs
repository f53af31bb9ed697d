//! Unix `crypt(3)` hashes built on DES: the traditional 13-character
//! "descrypt" and the BSDi extended 20-character "bsdicrypt".
//!
//! Plain safe Rust, no dependencies. The DES core works bit by bit with
//! the textbook tables (bits numbered 1.. from the most significant end);
//! the only precomputation is the combined S-box + P table, built by a
//! `const fn` at compile time.

/// The crypt64 alphabet: each character encodes 6 bits.
const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Initial permutation (IP).
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, //
    62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, //
    57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, //
    61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Final permutation (the inverse of IP).
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, //
    38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29, //
    36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, //
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

/// Permuted choice 1: 64-bit key -> 56 bits (C then D), dropping the low
/// ("parity") bit of every byte.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, //
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, //
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, //
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: 56-bit C||D -> 48-bit round key.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, //
    23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, //
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, //
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotation applied to both key halves before each round.
const KEY_SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// Permutation P applied to the S-box outputs.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, //
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/// The eight S-boxes, each as 4 rows of 16 columns.
const SBOX: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, //
        0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, //
        4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, //
        15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, //
        3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, //
        0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, //
        13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, //
        13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, //
        13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, //
        1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, //
        13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, //
        10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, //
        3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, //
        14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, //
        4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, //
        11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, //
        10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, //
        9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, //
        4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, //
        13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, //
        1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, //
        6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, //
        1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, //
        7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, //
        2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// `SP[i][x]` is the output of S-box `i` for the 6-bit input `x`, already
/// placed in its nibble of the 32-bit word and run through P. Since P is
/// a bit permutation it distributes over OR, so the round function's
/// result is just the OR of eight lookups.
const SP: [[u32; 64]; 8] = build_sp();

const fn build_sp() -> [[u32; 64]; 8] {
    let mut sp = [[0u32; 64]; 8];
    let mut i = 0;
    while i < 8 {
        let mut x = 0;
        while x < 64 {
            // The outer two bits of the 6-bit input pick the row, the
            // middle four the column.
            let row = ((x >> 4) & 2) | (x & 1);
            let col = (x >> 1) & 0xf;
            let nibble = SBOX[i][row * 16 + col] as u64;
            let placed = nibble << (28 - 4 * i);
            sp[i][x] = permute(placed, 32, &P) as u32;
            x += 1;
        }
        i += 1;
    }
    sp
}

/// Generic DES bit permutation: output bit `k` (counted from the most
/// significant end) is input bit `table[k]`, where input bits are
/// numbered 1..=`width` from the most significant end.
const fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    let mut out = 0u64;
    let mut k = 0;
    while k < table.len() {
        let shift = width - table[k] as u32;
        out = (out << 1) | ((input >> shift) & 1);
        k += 1;
    }
    out
}

/// Rotate a 28-bit key half left by `n` (1 or 2).
fn rotl28(x: u32, n: u32) -> u32 {
    ((x << n) | (x >> (28 - n))) & 0x0fff_ffff
}

/// The sixteen 48-bit round keys for a 64-bit DES key.
fn key_schedule(key: u64) -> [u64; 16] {
    let cd = permute(key, 64, &PC1);
    let mut c = (cd >> 28) as u32;
    let mut d = (cd & 0x0fff_ffff) as u32;
    let mut keys = [0u64; 16];
    for (k, &shift) in keys.iter_mut().zip(KEY_SHIFTS.iter()) {
        c = rotl28(c, shift);
        d = rotl28(d, shift);
        *k = permute((u64::from(c) << 28) | u64::from(d), 56, &PC2);
    }
    keys
}

/// The E expansion of the 32-bit right half to 48 bits.
fn expand(r: u32) -> u64 {
    // Each 6-bit group is one nibble of R plus the neighbouring bit on
    // either side, wrapping around: group i is R bits 4i..4i+5 (1-based,
    // bit 0 meaning bit 32). Rotating that window down to the bottom of
    // the word and masking picks it out.
    let mut e = 0u64;
    for i in 0..8 {
        let group = r.rotate_left((5 + 4 * i) % 32) & 0x3f;
        e = (e << 6) | u64::from(group);
    }
    e
}

/// The DES round function f(R, K), with crypt's salt perturbation.
fn feistel(r: u32, subkey: u64, salt_mask: u32) -> u32 {
    let mut e = expand(r);
    // crypt's salt: for every set salt bit, swap E-output bit i with bit
    // i + 24 (left and right halves of the 48 bits). This makes the DES
    // variant depend on the salt, so ordinary DES hardware and
    // precomputed tables can't be reused. Swapping two bits = XORing both
    // with their difference where the mask is set.
    let diff = ((e >> 24) ^ e) & u64::from(salt_mask);
    e ^= diff | (diff << 24);
    e ^= subkey;
    let mut out = 0u32;
    for (i, sp) in SP.iter().enumerate() {
        let six = (e >> (42 - 6 * i)) & 0x3f;
        out |= sp[six as usize];
    }
    out
}

/// Encrypt `block` `iterations` times in a row (at least once) with the
/// given round keys and salt mask.
fn des_iterate(block: u64, keys: &[u64; 16], salt_mask: u32, iterations: u32) -> u64 {
    // FP and IP are inverses, so chaining encryptions only needs IP at
    // the start and FP at the end; in between, the halves just swap.
    let ip = permute(block, 64, &IP);
    let mut l = (ip >> 32) as u32;
    let mut r = ip as u32;
    for _ in 0..iterations.max(1) {
        for &k in keys {
            let next = l ^ feistel(r, k, salt_mask);
            l = r;
            r = next;
        }
        // DES outputs R16 || L16 (no swap after the last round).
        core::mem::swap(&mut l, &mut r);
    }
    permute((u64::from(l) << 32) | u64::from(r), 64, &FP)
}

/// Spread a salt of up to 24 bits into the mask used by [`feistel`]:
/// salt bit `i` (least significant first) controls E-output bit `i`
/// counted from the most significant end of the left 24-bit half.
fn salt_mask(salt: u32) -> u32 {
    (0..24)
        .filter(|i| salt & (1 << i) != 0)
        .fold(0, |m, i| m | (1 << (23 - i)))
}

/// Value (0..64) of a crypt64 character. Callers validate the alphabet;
/// anything else maps to 0 rather than panicking.
fn crypt64_value(c: u8) -> u32 {
    let v = match c {
        b'.'..=b'9' => c - b'.',
        b'A'..=b'Z' => c - b'A' + 12,
        b'a'..=b'z' => c - b'a' + 38,
        _ => 0,
    };
    u32::from(v)
}

/// The canonical crypt64 character for `c` (itself, when `c` is valid).
fn crypt64_canonical(c: u8) -> char {
    char::from(CRYPT64[(crypt64_value(c) & 0x3f) as usize])
}

/// Little-endian crypt64 number: the first character holds the lowest
/// 6 bits.
fn crypt64_decode(chars: &[u8]) -> u32 {
    chars
        .iter()
        .rev()
        .fold(0, |acc, &c| (acc << 6) | crypt64_value(c))
}

/// Up to 8 password bytes as a DES key block. Each byte is shifted left
/// by one: DES ignores the low bit of each key byte, so this keeps the
/// 7 ASCII bits and drops the high bit. Missing bytes are zero.
fn key_block(bytes: &[u8]) -> u64 {
    (0..8).fold(0u64, |acc, i| {
        let b = bytes.get(i).copied().unwrap_or(0);
        (acc << 8) | u64::from(b << 1)
    })
}

/// Append the 64-bit result as 11 crypt64 characters.
fn encode_hash(out: &mut String, block: u64) {
    // 11 characters hold 66 bits: the 64 hash bits are read most
    // significant first, 6 at a time, with two zero bits padding the
    // last character.
    let bits = u128::from(block) << 2;
    for i in (0..11).rev() {
        let six = (bits >> (6 * i)) & 0x3f;
        out.push(char::from(CRYPT64[six as usize]));
    }
}

/// Traditional `crypt(3)` DES hash.
///
/// `salt` must be 2 characters of the crypt64 alphabet `[./0-9A-Za-z]`
/// (not checked; other bytes are treated as `.`). Only the first 8 bytes of
/// `key` are used, 7 bits each: every byte is shifted left by one, so the
/// high bit is lost. The key must already be cut at its first NUL.
///
/// The hash is 25 DES encryptions of an all-zero block, with the salt
/// perturbing the E expansion. Returns the 13-character string: the 2 salt
/// characters followed by 11 hash characters.
pub fn des_crypt(salt: &[u8; 2], key: &[u8]) -> String {
    let keys = key_schedule(key_block(key));
    let mask = salt_mask(crypt64_decode(salt));
    // The password is the DES key, not the data: the "plaintext" is a
    // fixed all-zero block, and chaining 25 encryptions only makes each
    // guess 25 times more expensive.
    let hash = des_iterate(0, &keys, mask, 25);

    let mut out = String::with_capacity(13);
    out.extend(salt.iter().map(|&c| crypt64_canonical(c)));
    encode_hash(&mut out, hash);
    out
}

/// BSDi extended DES `crypt(3)` hash.
///
/// `setting` is `_` followed by 4 characters of round count and 4 of salt,
/// each a 24-bit crypt64 number, least significant character first (so
/// `_J9..` means 725 rounds). The characters must be in the crypt64
/// alphabet (not checked; other bytes are treated as `.`); the leading byte
/// is not inspected.
///
/// The whole key is used: the first 8 bytes form a DES key as in
/// [`des_crypt`]; while bytes remain, that key encrypts itself and the next
/// 8 bytes (shifted left by one) are XORed in. The key must already be cut
/// at its first NUL.
///
/// Returns the 20-character string `_` + count(4) + salt(4) + 11 hash
/// characters (`None` only if `setting` were shorter than 9 bytes, which its type rules out).
pub fn bsdi_crypt(setting: &[u8; 9], key: &[u8]) -> Option<String> {
    let (count_chars, salt_chars) = setting.get(1..9)?.split_at(4);
    // libxcrypt runs a count of 0 as one round rather than refusing it.
    let rounds = crypt64_decode(count_chars).max(1);
    let salt = crypt64_decode(salt_chars);

    // Fold a long key into one DES key, Merkle-Damgard style: encrypt the
    // current key with itself (no salt, one encryption), then XOR in the
    // next 8-byte chunk. A key of 8 bytes or fewer is used as-is.
    let mut chunks = key.chunks(8);
    let mut key_bits = key_block(chunks.next().unwrap_or(&[]));
    for chunk in chunks {
        let keys = key_schedule(key_bits);
        key_bits = des_iterate(key_bits, &keys, 0, 1) ^ key_block(chunk);
    }

    let keys = key_schedule(key_bits);
    let hash = des_iterate(0, &keys, salt_mask(salt), rounds);

    let mut out = String::with_capacity(20);
    out.push('_');
    out.extend(
        count_chars
            .iter()
            .chain(salt_chars)
            .map(|&c| crypt64_canonical(c)),
    );
    encode_hash(&mut out, hash);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers from the system libxcrypt (4.4.33) via
    // `perl -e 'print crypt("p\xc3\xa4ss", "ab")'` and friends.
    const DES_VECTORS: &[(&[u8; 2], &[u8], &str)] = &[
        (b"ab", b"password", "abJnggxhB/yWI"),
        (b"mg", b"password", "mgUWEB8BtyLpE"),
        (b"xy", b"ab", "xymY.41uuaUPE"),
        (b"..", b"", "..X8NBuQ4l6uQ"),
        (b"zz", b"a", "zzJZ5PtvFqi9o"),
        (b"./", b"12345678", "./qw5JW./79Vg"),
        (b"A9", b"123456789", "A9ycvnKhK0I.Y"),
        (b"ab", b"passwordEXTRA", "abJnggxhB/yWI"),
        (b"ab", b"p\xc3\xa4ssw\xc3\xb6rd", "abzp3RXJm5gNA"),
        (b"Zx", b"\xff\xfe\x80\x81", "Zx8Y36lpw0EI6"),
        (b"/.", b"hello world", "/.W2oXH8hmpsg"),
        (b"9A", b"~~~~~~~~", "9AtNdl1NgzRgk"),
        (b"Hi", b"U*U*U*U*", "HiiLbA36ffzSc"),
        (b"..", b"\x01", "..I6ZmSz0zwL2"),
        (b"zz", b"ZZZZZZZZZZZZ", "zz.gWravdNZNQ"),
        (b"qW", b" ", "qW/nUEdOKVD.6"),
        (b"aA", b"abcdefgh", "aAs/bIpP3XCck"),
        (b"aA", b"abcdefghi", "aAs/bIpP3XCck"),
        (b"..", b"\x80", "..X8NBuQ4l6uQ"),
        (b"CC", b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", "CC0QoXTL2ha8c"),
        (
            b"Mq",
            b"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
            "MqK7xQ7sRvUMY",
        ),
    ];

    const BSDI_VECTORS: &[(&[u8; 9], &[u8], &str)] = &[
        (b"_J9..abcd", b"password", "_J9..abcdIPPmXD22F8s"),
        (b"_J9..cust", b"password", "_J9..cust3dEZh59PLfg"),
        (b"_/...abcd", b"password", "_/...abcdJZJP1o1hSpg"),
        (b"_J9..abcd", b"", "_J9..abcdoj0PMidvoVc"),
        (b"_J9..abcd", b"a", "_J9..abcdynv4J1Cve9M"),
        (b"_J9..abcd", b"12345678", "_J9..abcdqpSb0NAI0Ik"),
        (b"_J9..abcd", b"123456789", "_J9..abcdk9b5n.WSxBs"),
        (b"_J9..abcd", b"1234567890123456", "_J9..abcdlRWt3cAwrPA"),
        (b"_J9..abcd", b"12345678901234567", "_J9..abcd21kyRmYgoaU"),
        (
            b"_J9..abcd",
            b"abcdefghijklmnopqrstuvwxyz0123",
            "_J9..abcdlRJfKQ6e.t.",
        ),
        (
            b"_J9..zzzz",
            b"p\xc3\xa4ssw\xc3\xb6rd",
            "_J9..zzzzjJmY4x9rpy.",
        ),
        (
            b"_K1..crsm",
            b"\xff\xfe\x80\x81\x82\x83\x84\x85\x86",
            "_K1..crsmOKrfBz2vhMg",
        ),
        (b"_/.../...", b"x", "_/.../...m9huzV9lkt6"),
        (b"_zzz.salt", b"password", "_zzz.saltW9pXTdxvc.U"),
        (b"_.../AbCd", b"hello world!!", "_.../AbCdFMzDn82dQWY"),
        (b"_z...9999", b"U*U*U*U*U*U*U*U*", "_z...9999vTp.9rJQ1Es"),
        (b"_7C/.ABw0", b"\x80", "_7C/.ABw0WeCwvjW.zlc"),
    ];

    #[test]
    fn des_known_answers() {
        for &(salt, key, expected) in DES_VECTORS {
            assert_eq!(des_crypt(salt, key), expected, "key {key:?}");
        }
    }

    #[test]
    fn bsdi_known_answers() {
        for &(setting, key, expected) in BSDI_VECTORS {
            assert_eq!(bsdi_crypt(setting, key).as_deref(), Some(expected));
        }
    }

    #[test]
    fn bsdi_zero_rounds_run_once() {
        // libxcrypt runs a count of 0 as 1 round (perl gives this value), and a stored hash
        // made that way must still verify.
        assert_eq!(
            bsdi_crypt(b"_....abcd", b"password").as_deref(),
            Some("_....abcdJZJP1o1hSpg")
        );
        assert_eq!(
            bsdi_crypt(b"_....abcd", b"password").map(|h| h[9..].to_owned()),
            bsdi_crypt(b"_/...abcd", b"password").map(|h| h[9..].to_owned())
        );
    }

    #[test]
    fn plain_des_block() {
        // FIPS 46 worked example: key 133457799BBCDFF1.
        let keys = key_schedule(0x1334_5779_9BBC_DFF1);
        assert_eq!(
            des_iterate(0x0123_4567_89AB_CDEF, &keys, 0, 1),
            0x85E8_1354_0F0A_B405
        );
    }

    #[test]
    fn sbox_rows_are_permutations() {
        for sbox in &SBOX {
            for row in sbox.chunks(16) {
                let seen = row.iter().fold(0u16, |m, &v| m | (1 << v));
                assert_eq!(seen, 0xffff);
            }
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert_eq!(des_crypt(b"\xff\x00", b"\xff").len(), 13);
        let long = [0xa5u8; 1000];
        let h = bsdi_crypt(b"_/...!!!!", &long);
        assert_eq!(h.as_deref().map(str::len), Some(20));
        assert_eq!(
            bsdi_crypt(b"\0\0\0\0\0\0\0\0\0", b"").map(|h| h.len()),
            Some(20)
        );
    }
}
