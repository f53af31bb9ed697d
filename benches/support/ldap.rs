//! A throwaway slapd for the LDAP benchmark (scripts/slapd.sh, loopback only, its own
//! directory), and the generated customer users it is loaded with.
//!
//! The same start/stop handling as the slapd tests (`crates/ldap/tests/slapd/common.rs`), which
//! a bench cannot reach: kernel-chosen ports, the script's `export` lines parsed, the server
//! stopped and its directory removed on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::datagen;

/// Where the generated customer users live (the script's seed uses `ou=people`).
pub const CUSTOMERS: &str = "ou=customers,dc=example,dc=org";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slapd.sh")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Parses the `export NAME='value'` lines scripts/slapd.sh prints.
fn parse_exports(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_owned(), v.replace(r"'\''", "'"))
        })
        .collect()
}

/// A running slapd in its own directory; stopped and removed on drop.
pub struct Slapd {
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Slapd {
    /// Starts a fresh, seeded server (scripts/slapd.sh installs slapd and ldap-utils first if
    /// they are missing). Panics when it cannot.
    pub fn start() -> Slapd {
        let mut last = String::new();
        for _ in 0..3 {
            let (ldap, ldaps) = (free_port(), free_port());
            let out = Command::new("bash")
                .arg(script())
                .arg("start")
                .env("CLIENTELE_LDAP_PORT", ldap.to_string())
                .env("CLIENTELE_LDAPS_PORT", ldaps.to_string())
                .output()
                .expect("scripts/slapd.sh could not be run");
            if out.status.success() {
                let env = parse_exports(&String::from_utf8_lossy(&out.stdout));
                let dir = PathBuf::from(
                    env.get("CLIENTELE_LDAP_DIR")
                        .expect("scripts/slapd.sh printed no CLIENTELE_LDAP_DIR"),
                );
                return Slapd { dir, env };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            if !last.contains("in use") && !last.contains("could not bind") {
                break;
            }
        }
        panic!("scripts/slapd.sh start failed:\n{last}");
    }

    /// A variable from the script's output, e.g. `CLIENTELE_LDAP_URL`.
    pub fn var(&self, name: &str) -> String {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("scripts/slapd.sh printed no {name}"))
            .clone()
    }

    pub fn url(&self) -> String {
        self.var("CLIENTELE_LDAP_URL")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds the entries of an LDIF text as the rootdn, in one `ldapadd` run.
    pub fn ldapadd(&self, ldif: &str) {
        let file = self.dir.join("bench.ldif");
        std::fs::write(&file, ldif).expect("write bench.ldif");
        let out = Command::new("ldapadd")
            .env("LDAPNOINIT", "1")
            .args(["-x", "-H", &self.url()])
            .args(["-D", &self.var("CLIENTELE_LDAP_ADMIN_DN")])
            .args(["-w", &self.var("CLIENTELE_LDAP_ADMIN_PW")])
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .output()
            .expect("ldapadd could not be run");
        assert!(
            out.status.success(),
            "ldapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

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
