//! OTOBO's customer password check run by Perl (scripts/otobo-auth-check.pl with
//! Crypt::Eksblowfish::Bcrypt, Digest::SHA and Crypt::PasswdMD5, the modules OTOBO uses): an
//! implementation of the check that is not Clientele's. A missing Perl or module fails the
//! test that asks; scripts/test.sh installs them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether OTOBO, configured with `crypt_type`, lets `login` in with `password` when its
/// table holds `stored`.
pub fn otobo_accepts(crypt_type: &str, login: &str, stored: &str, password: &str) -> bool {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/otobo-auth-check.pl");
    let mut child = Command::new("perl")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run perl {}: {e}", script.display()));
    let input = [crypt_type, login, stored, password].join("\0");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("write to perl");
    drop(stdin);
    let out = child.wait_with_output().expect("perl runs");
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!(
            "OTOBO's password check could not run (scripts/test.sh installs its Perl modules): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
