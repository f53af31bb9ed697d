#!/usr/bin/env bash
# Runs every test of the workspace, including those that need real servers: it starts
# PostgreSQL and MariaDB when they are down, installs slapd when it is missing (the LDAP tests
# start their own throwaway slapd through scripts/slapd.sh), installs the Perl modules of
# OTOBO's password check when they are missing, and runs the server tests that
# plain `cargo test` lists as ignored. A server that cannot be reached fails the run.
# It also follows docs/guide.md: crates/cli/tests/guide.rs runs every shell block of the guide
# in order with the built `clientele` (a block marked `<!-- guide-test: skip -->` excepted).
#
#   scripts/test.sh                 everything
#   scripts/test.sh -p clientele-db  extra arguments go to `cargo test`
#
# Server URLs can be overridden:
#   CLIENTELE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432)
#   CLIENTELE_TEST_MYSQL_URL    (default mysql://root@127.0.0.1:3306)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CLIENTELE_TEST_POSTGRES_URL="${CLIENTELE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
export CLIENTELE_TEST_MYSQL_URL="${CLIENTELE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"

log() { printf 'test.sh: %s\n' "$*" >&2; }

# True when 127.0.0.1:$1 accepts connections.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
    local port=$1 name=$2 i
    for ((i = 0; i < 150; i++)); do
        listening "$port" && return 0
        sleep 0.2
    done
    log "$name is not listening on 127.0.0.1:$port after 30 s"
    return 1
}

ensure_postgres() {
    listening 5432 && return 0
    log "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    wait_for 5432 PostgreSQL
}

ensure_mariadb() {
    listening 3306 && return 0
    log "starting MariaDB"
    if [[ -x /usr/sbin/mariadbd ]]; then
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    fi
    wait_for 3306 MariaDB
}

# OTOBO's own Perl modules for its password check: the coexistence tests verify every hash
# Clientele writes with scripts/otobo-auth-check.pl, an implementation that is not Clientele's.
ensure_otobo_perl() {
    perl -MCrypt::Eksblowfish::Bcrypt -MCrypt::PasswdMD5 -MDigest::SHA -e1 2>/dev/null && return 0
    command -v apt-get >/dev/null 2>&1 || { log "Perl modules for OTOBO's password check missing and no apt-get"; return 1; }
    log "installing OTOBO's password-check Perl modules from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get -qq update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
        -o DPkg::Lock::Timeout=120 perl libcrypt-eksblowfish-perl libcrypt-passwdmd5-perl >&2
    perl -MCrypt::Eksblowfish::Bcrypt -MCrypt::PasswdMD5 -MDigest::SHA -e1
}

# Headless Chromium and its WebDriver for the admin screens' browser test
# (crates/web/tests/browser.rs), from Debian.
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || { log "chromium/chromedriver missing and no apt-get"; return 1; }
    log "installing chromium and chromium-driver from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get -qq update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
        -o DPkg::Lock::Timeout=120 chromium chromium-driver >&2
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

drop_leftovers() {
    # Databases of test runs that died before their own clean-up (prefix clientele_t_).
    if command -v psql >/dev/null 2>&1; then
        psql "$CLIENTELE_TEST_POSTGRES_URL/postgres" -Atc \
            "select datname from pg_database where datname like 'clientele\_t\_%'" 2>/dev/null |
            while read -r db; do psql "$CLIENTELE_TEST_POSTGRES_URL/postgres" -qc "drop database if exists \"$db\"" || true; done
    fi
    if command -v mariadb >/dev/null 2>&1; then
        mariadb -h 127.0.0.1 -u root -N -e "show databases like 'clientele\_t\_%'" 2>/dev/null |
            while read -r db; do mariadb -h 127.0.0.1 -u root -e "drop database if exists \`$db\`" || true; done
    fi
}

ensure_postgres
ensure_mariadb
scripts/slapd.sh install
ensure_otobo_perl
ensure_chromium
drop_leftovers
trap drop_leftovers EXIT

log "running the whole test suite (server tests included)"
cargo test --workspace --all-features "$@" -- --include-ignored
scripts/openapi-check.sh

log "SCIM conformance against a live server (scim2-tester; scripts/scim-check.sh)"
scripts/scim-check.sh
