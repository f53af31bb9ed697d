//! The generated customer users the LDAP benchmark loads into its throwaway slapd (the server
//! itself is the tests' `crates/ldap/tests/slapd/server.rs`).
#![allow(dead_code)]

use std::fmt::Write as _;

use crate::datagen;

/// Where the generated customer users live (the script's seed uses `ou=people`).
pub const CUSTOMERS: &str = "ou=customers,dc=example,dc=org";

/// Standard base64 (RFC 4648), for LDIF `attr:: value` lines.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One LDIF attribute line; values that are not a plain ASCII "SAFE-STRING" (RFC 2849) are
/// base64-encoded.
fn line(out: &mut String, attr: &str, value: &str) {
    let safe = value
        .bytes()
        .all(|b| b.is_ascii() && b != b'\n' && b != b'\r' && b != 0)
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        let _ = writeln!(out, "{attr}: {value}");
    } else {
        let _ = writeln!(out, "{attr}:: {}", base64(value.as_bytes()));
    }
}

/// `mail` is an IA5String (ASCII): what [`datagen::ascii`] leaves of a non-ASCII letter (`ć`)
/// is folded here too.
fn ia5(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'ć' | 'ĉ' => Some('c'),
            c if c.is_ascii() => Some(c),
            _ => None,
        })
        .collect()
}

/// The customer id of generated user `i`: one of `companies` large customers, in turn.
pub fn customer_of(i: usize, companies: usize) -> String {
    datagen::company_id(i % companies)
}

/// LDIF for `ou=customers` and generated users `0..valid + invalid` of `seed`: names, login,
/// email, phone, city and title from `benches/support/gen.rs`; the primary customer id (`o`)
/// one of `companies` customers in turn, so each has exactly `valid / companies` valid users
/// when `valid` is a multiple of `companies`. The last `invalid` users carry
/// `description: gesperrt` (outside the valid filter).
pub fn customers_ldif(seed: u64, valid: usize, invalid: usize, companies: usize) -> String {
    let mut out = String::with_capacity((valid + invalid) * 400);
    let _ = writeln!(
        out,
        "dn: {CUSTOMERS}\nobjectClass: organizationalUnit\nou: customers\n"
    );
    for i in 0..valid + invalid {
        let mut u = datagen::user(seed, i);
        u.login = ia5(&u.login);
        u.email = ia5(&u.email);
        let _ = writeln!(out, "dn: uid={},{CUSTOMERS}", u.login);
        out.push_str("objectClass: inetOrgPerson\n");
        line(&mut out, "uid", &u.login);
        line(&mut out, "cn", &format!("{} {}", u.first_name, u.last_name));
        line(&mut out, "givenName", u.first_name);
        line(&mut out, "sn", u.last_name);
        line(&mut out, "mail", &u.email);
        line(&mut out, "o", &customer_of(i, companies));
        line(&mut out, "telephoneNumber", &u.phone);
        line(&mut out, "l", u.city);
        line(&mut out, "postalAddress", u.city);
        if let Some(t) = u.title {
            line(&mut out, "title", t);
        }
        if i >= valid {
            line(&mut out, "description", "gesperrt");
        }
        out.push('\n');
    }
    out
}
