#!/usr/bin/env python3
"""Generate known-answer vectors for clientele_backend::password.

Writes crates/password/tests/fixtures/password_kat.tsv. Every stored value in that file is
computed here by tools that share no code with Clientele, so the Rust tests check our
verification against independent implementations of each format OTOBO may have written:

  format        producer (cross-checked against, when available)
  ------------  ---------------------------------------------------------------------------
  des           Python `crypt` (the system's libcrypt) as OTOBO's `crypt(pw, login)` when
                that gives 13 characters: DES, salt = the login's first 2 chars (perl's crypt)
  crypt_login   the same call when it gives anything else, for OTOBO's last branch
                "otherwise crypt(pw, login)": bigcrypt (login > 13 bytes and password > 8
                bytes) and BSDi extended DES (login shaped `_CCCCSSSS`)  (perl's crypt)
  md5_crypt     `openssl passwd -1`, salt = first 8 bytes of the login, as OTOBO's
                `unix_md5_crypt(pw, login)`    (Crypt::PasswdMD5::unix_md5_crypt, Python crypt)
  apr1          `openssl passwd -apr1`, same salt rule     (Crypt::PasswdMD5::apache_md5_crypt)
  sha1/sha256/sha512
                hashlib hex digests of the UTF-8 bytes               (`openssl dgst`)
  otobo_bcrypt  OTOBO's `BCRYPT:<cost>:<16-char salt>:<hash>`, see below
                                        (Crypt::Eksblowfish::Bcrypt::bcrypt_hash, key_nul => 1)
  bcrypt        Python `bcrypt` ($2b$), plus $2a$ from Crypt::Eksblowfish::Bcrypt::bcrypt
                and $2y$ relabelled (2a/2b/2y differ only for keys longer than 255 bytes)
  argon2id      argon2-cffi (the reference C implementation), small parameters
  argon2i       the same, variant i
  plain         the password itself (only for passwords that do not look like any hash)

OTOBO's BCRYPT framing without Perl: OTOBO computes
`en_base64(bcrypt_hash({key_nul => 1, cost => C, salt => S}, pw))` where S is the 16-byte
salt string and en_base64 is bcrypt's base64 alphabet without padding. A standard `$2b$`
string is `$2b$CC$` + bcrypt_b64(salt16)[:22] + bcrypt_b64(hash23): the 23 bytes at its end
are the same eksblowfish output, because standard bcrypt also keys with the password plus a
trailing NUL, truncated to 72 bytes (that is exactly what key_nul => 1 means). So hashing
the password with Python's bcrypt and the salt S encoded into the `$2b$` salt field gives the
OTOBO hash as the last 31 characters. Every such value is also computed with OTOBO's own
module, Crypt::Eksblowfish::Bcrypt, and the two must agree, which checks the reasoning.
Python's bcrypt >= 5 refuses keys over 72 bytes instead of truncating; we pass pw[:72],
which yields the same key (for len >= 72 the NUL falls off in both cases).

Every row also carries a wrong password that the producing tool confirms does NOT give the
stored value (for DES, bigcrypt and bcrypt it differs within the bytes they read).

Usage:  python3 scripts/gen-password-fixtures.py            # write the fixture
        python3 scripts/gen-password-fixtures.py --check    # fail if the file differs
Needs:  python3 (3.11: the `crypt` module), openssl, `pip install bcrypt argon2-cffi`, and
        perl with OTOBO's own modules (Debian: libcrypt-eksblowfish-perl
        libcrypt-passwdmd5-perl), which every md5-crypt, apr1, DES and BCRYPT value is
        cross-checked against.
Salts are fixed, so the output is reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # deprecated since 3.11 but present; it is the system's crypt(3)

import argon2.exceptions
import argon2.low_level as argon2_ll
import bcrypt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "password", "tests", "fixtures", "password_kat.tsv")

PASSWORDS = [
    "password",
    "Secret123!",
    "correct horse battery staple",
    " leading and trailing ",
    "Пароль-Кириллица",
    "كلمة السر",
    "Mädchen-ä",
    "カス",
    "tab\there",
    "new\nline",
    "a" * 64,
    "'UNION'",
    "';",
    "' OR 1=1 --",
    "b" * 80,
]

# (login, comment). DES salts are the login's first two characters, so those must be
# crypt(3) salt characters; md5/apr1 salts are the login's first 8 bytes, anything goes.
LOGINS = ["mgr", "jdoe", "customer@example.com", "jürgen@example.org", "Zx"]

BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
STD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def bcrypt_b64(data: bytes) -> str:
    """bcrypt's base64 (Crypt::Eksblowfish::Bcrypt::en_base64): standard bit order,
    alphabet ./A-Za-z0-9, no padding."""
    std = base64.b64encode(data).decode().rstrip("=")
    return std.translate(str.maketrans(STD_B64, BCRYPT_B64))


def escape(field: str) -> str:
    return (
        field.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def run(args: list[bytes | str]) -> str:
    return subprocess.run(args, check=True, capture_output=True).stdout.decode().rstrip("\n")


def have_perl_modules() -> bool:
    if shutil.which("perl") is None:
        return False
    probe = subprocess.run(
        ["perl", "-MCrypt::Eksblowfish::Bcrypt", "-MCrypt::PasswdMD5", "-e1"],
        capture_output=True,
    )
    return probe.returncode == 0


PERL = have_perl_modules()

# Arguments go to Perl hex-encoded so no byte is mangled by the command line.
PERL_PROGRAM = r"""
use strict; use warnings;
use Crypt::PasswdMD5 qw(unix_md5_crypt apache_md5_crypt);
use Crypt::Eksblowfish::Bcrypt qw(bcrypt_hash en_base64 bcrypt);
my ($what, @args) = @ARGV;
@args = map { pack('H*', $_) } @args;
if ($what eq 'md5')   { print unix_md5_crypt($args[0], $args[1]); }
elsif ($what eq 'apr1') { print apache_md5_crypt($args[0], $args[1]); }
elsif ($what eq 'crypt') { print crypt($args[0], $args[1]); }
elsif ($what eq 'otobo_bcrypt') {
    my ($pw, $cost, $salt) = @args;
    print en_base64(bcrypt_hash({ key_nul => 1, cost => $cost, salt => $salt }, $pw));
}
elsif ($what eq 'bcrypt') { print bcrypt($args[0], $args[1]); }
else { die "unknown $what" }
"""


def perl(what: str, *args: bytes) -> str:
    if not PERL:
        sys.exit(
            "perl with Crypt::Eksblowfish::Bcrypt and Crypt::PasswdMD5 is required "
            "(Debian: apt-get install libcrypt-eksblowfish-perl libcrypt-passwdmd5-perl)"
        )
    return run(["perl", "-e", PERL_PROGRAM, what, *[a.hex() for a in args]])


def agree(label: str, value: str, *others: str | None) -> str:
    for other in others:
        if other is not None and other != value:
            sys.exit(f"producers disagree for {label}: {value!r} != {other!r}")
    return value


def py_crypt(pw: str, setting: str) -> str | None:
    # Python's crypt refuses NUL and returns None/'*0' for settings libcrypt rejects.
    try:
        value = crypt.crypt(pw, setting)
    except (ValueError, OSError):
        return None
    if value is None or value.startswith("*"):
        return None
    return value


def md5_salt(login: str) -> bytes:
    # Crypt::PasswdMD5: strip a leading magic, cut at the last '$', keep 8 *bytes*.
    return login.encode()[:8]


def looks_hashed(value: str) -> bool:
    """OTOBO's Auth would not treat this stored value as plain (§3.8 order)."""
    if len(value) == 13:
        return True
    return bool(
        re.fullmatch(r"\$.+?\$.+?\$.*", value, re.S)
        or re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}", value)
        or value.startswith("BCRYPT:")
    )


def wrong_for(pw: str) -> str:
    """A wrong password; formats that read only a prefix use `first_differs` instead."""
    return pw + "x"


def first_differs(pw: str) -> str:
    """A wrong password that differs in its first byte, for the formats that read only a
    prefix: DES (8 bytes), bigcrypt (128), bcrypt (72)."""
    return ("R" if pw.startswith("Q") else "Q") + pw[1:]


rows: list[tuple[str, str, str, str, str, str]] = []


def add(fmt: str, login: str, pw: str, stored: str, wrong: str, source: str) -> None:
    if wrong == pw:
        sys.exit(f"wrong password equals the password for {fmt}")
    rows.append((fmt, login, pw, stored, wrong, source))


def gen_crypt() -> None:
    """OTOBO's CryptType `crypt` stores `crypt(pw, login)`. With libcrypt (libxcrypt) that is
    traditional DES (13 chars, salt = the login's first 2 chars) unless the login is longer
    than 13 bytes and the password longer than 8, when it is bigcrypt (2 + 11 chars per 8
    bytes of password, at most 16 blocks). OTOBO's Auth verifies 13-char values as DES
    with the stored salt and the others in its last branch, `crypt(pw, login)`; a login
    shaped `_CCCCSSSS` (BSDi extended DES) also lands there."""
    cases = [(pw, ["mgr", "jdoe", "Zx", "ab", "customer"][i % 5]) for i, pw in enumerate(PASSWORDS)]
    cases += [
        ("Secret123!", "customer@example.com"),
        ("Пароль-Кириллица", "customer@example.com"),
        ("tab\tand more", "customer@example.com"),
        ("new\nline and more", "service.desk@example.com"),
        ("exactly8", "service.desk@example.com"),
        ("sixteen-chars-xy", "service.desk@example.com"),
        ("c" * 140, "service.desk@example.com"),
        ("password", "_J9..cust"),
        ("Пароль-Кириллица", "_J9..cust"),
        ("correct horse battery staple", "_/...otob"),
    ]
    for pw, login in cases:
        stored = py_crypt(pw, login)
        if stored is None:
            sys.exit(f"libcrypt refused crypt({pw!r}, {login!r})")
        stored = agree("crypt", stored, perl("crypt", pw.encode(), login.encode()))
        wrong = first_differs(pw)
        if py_crypt(wrong, login) == stored:
            sys.exit(f"crypt wrong password still matches for {pw!r}")
        if len(stored) == 13:
            fmt, source = "des", "python3 crypt (libcrypt descrypt)"
        elif login.startswith("_"):
            fmt, source = "crypt_login", "python3 crypt (libcrypt bsdicrypt)"
        else:
            fmt, source = "crypt_login", "python3 crypt (libcrypt bigcrypt)"
        add(fmt, login, pw, stored, wrong, source)


def gen_md5(kind: str) -> None:
    flag = "-1" if kind == "md5_crypt" else "-apr1"
    for i, pw in enumerate(PASSWORDS):
        login = LOGINS[i % len(LOGINS)]
        salt = md5_salt(login)
        stored = run(["openssl", "passwd", flag, "-salt", salt, pw.encode()])
        others = [perl("md5" if kind == "md5_crypt" else "apr1", pw.encode(), login.encode())]
        if kind == "md5_crypt":
            try:
                others.append(py_crypt(pw, "$1$" + salt.decode() + "$"))
            except UnicodeDecodeError:
                pass
        stored = agree(kind, stored, *others)
        wrong = wrong_for(pw)
        if run(["openssl", "passwd", flag, "-salt", salt, wrong.encode()]) == stored:
            sys.exit(f"{kind} wrong password still matches")
        add(kind, login, pw, stored, wrong, f"openssl passwd {flag}")


def gen_hex() -> None:
    for algo, fmt in [("sha1", "sha1"), ("sha256", "sha256"), ("sha512", "sha512")]:
        for i, pw in enumerate(PASSWORDS):
            digest = hashlib.new(algo, pw.encode()).hexdigest()
            proc = subprocess.run(
                ["openssl", "dgst", f"-{algo}", "-r"], input=pw.encode(),
                capture_output=True, check=True,
            )
            dgst = proc.stdout.decode().split()[0]
            digest = agree(fmt, digest, dgst)
            login = LOGINS[i % len(LOGINS)]
            add(fmt, login, pw, digest, wrong_for(pw), f"python3 hashlib {algo}")
        # OTOBO's regexes accept upper-case hex; Clientele compares case-insensitively.
        pw = "Secret123!"
        add(fmt, "mgr", pw, hashlib.new(algo, pw.encode()).hexdigest().upper(), wrong_for(pw),
            f"python3 hashlib {algo}, upper-cased")


def otobo_salt(i: int) -> bytes:
    # OTOBO's salt: 16 random [A-Za-z0-9]; fixed here for reproducibility.
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alnum[(i * 7 + k * 13) % 62] for k in range(16)).encode()


def eksblowfish_via_python(pw: bytes, cost: int, salt: bytes) -> str:
    setting = f"$2b${cost:02d}$".encode() + bcrypt_b64(salt)[:22].encode()
    full = bcrypt.hashpw(pw[:72], setting).decode()
    assert full.startswith(setting.decode()), full
    return full[-31:]


def gen_otobo_bcrypt() -> None:
    for i, pw in enumerate(PASSWORDS):
        # OTOBO clamps the cost it writes to 9..31; low costs keep the tests fast and
        # Auth reads whatever cost is stored.
        cost = 9 if i < 3 else 5
        salt = otobo_salt(i)
        tail = eksblowfish_via_python(pw.encode(), cost, salt)
        tail = agree("otobo_bcrypt", tail, perl("otobo_bcrypt", pw.encode(), str(cost).encode(), salt))
        stored = f"BCRYPT:{cost}:{salt.decode()}:{tail}"
        wrong = first_differs(pw) if len(pw.encode()) >= 72 else wrong_for(pw)
        if eksblowfish_via_python(wrong.encode(), cost, salt) == tail:
            sys.exit("otobo_bcrypt wrong password still matches")
        add("otobo_bcrypt", LOGINS[i % len(LOGINS)], pw, stored, wrong,
            "python3 bcrypt re-framed; perl Crypt::Eksblowfish bcrypt_hash")


def gen_bcrypt() -> None:
    for i, pw in enumerate(PASSWORDS):
        cost = 4 + (i % 2)
        salt = bytes((i * 31 + k * 17) % 256 for k in range(16))
        setting = f"$2b${cost:02d}$" + bcrypt_b64(salt)[:22]
        stored = bcrypt.hashpw(pw.encode()[:72], setting.encode()).decode()
        wrong = first_differs(pw) if len(pw.encode()) >= 72 else wrong_for(pw)
        if bcrypt.checkpw(wrong.encode()[:72], stored.encode()):
            sys.exit("bcrypt wrong password still matches")
        login = LOGINS[i % len(LOGINS)]
        add("bcrypt", login, pw, stored, wrong, "python3 bcrypt")
        if i % 3 == 0:
            as_2a = "$2a$" + stored[4:]
            agree("bcrypt $2a$", as_2a, perl("bcrypt", pw.encode(), ("$2a$" + setting[4:]).encode()))
            add("bcrypt", login, pw, as_2a, wrong, "python3 bcrypt as $2a$; perl Crypt::Eksblowfish")
        if i % 3 == 1:
            add("bcrypt", login, pw, "$2y$" + stored[4:], wrong, "python3 bcrypt as $2y$")


def gen_argon2() -> None:
    for i, pw in enumerate(PASSWORDS):
        salt = bytes((i * 11 + k * 5 + 1) % 256 for k in range(16))
        kind, fmt = argon2_ll.Type.ID, "argon2id"
        stored = argon2_ll.hash_secret(
            pw.encode(), salt, time_cost=1, memory_cost=64, parallelism=1, hash_len=32,
            type=kind,
        ).decode()
        wrong = wrong_for(pw)
        if not argon2_ll.verify_secret(stored.encode(), pw.encode(), kind):
            sys.exit("argon2 does not verify its own hash")
        try:
            argon2_ll.verify_secret(stored.encode(), wrong.encode(), kind)
            sys.exit("argon2 wrong password still matches")
        except argon2.exceptions.VerifyMismatchError:
            pass
        add(fmt, LOGINS[i % len(LOGINS)], pw, stored, wrong, "argon2-cffi (libargon2)")
        if i % 4 == 0:
            stored = argon2_ll.hash_secret(
                pw.encode(), salt, time_cost=1, memory_cost=64, parallelism=1, hash_len=32,
                type=argon2_ll.Type.I,
            ).decode()
            add("argon2i", LOGINS[i % len(LOGINS)], pw, stored, wrong, "argon2-cffi (libargon2)")


def gen_plain() -> None:
    for i, pw in enumerate(PASSWORDS):
        if looks_hashed(pw):
            continue
        add("plain", LOGINS[i % len(LOGINS)], pw, pw, wrong_for(pw), "the password itself")


def render() -> str:
    gen_crypt()
    gen_md5("md5_crypt")
    gen_md5("apr1")
    gen_hex()
    gen_otobo_bcrypt()
    gen_bcrypt()
    gen_argon2()
    gen_plain()
    lines = [
        "# Generated by scripts/gen-password-fixtures.py; do not edit by hand.",
        "# Fields are tab-separated; \\\\ \\t \\n \\r are escaped.",
        "# format\tlogin\tpassword\tstored\twrong_password\tsource",
    ]
    for row in rows:
        lines.append("\t".join(escape(f) for f in row))
    return "\n".join(lines) + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as existing:
            if existing.read() != text:
                sys.exit(f"{OUT} is out of date: rerun {sys.argv[0]}")
        print(f"{OUT}: up to date ({len(rows)} vectors)")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)
    print(f"wrote {len(rows)} vectors to {OUT}")


if __name__ == "__main__":
    main()
