#!/usr/bin/env bash
# A throwaway OpenLDAP server for Clientele's LDAP tests.
#
#   scripts/slapd.sh start [DIR]   create an instance in DIR (default: a fresh temp dir),
#                                  seed it, start slapd, print `export` lines on stdout
#   scripts/slapd.sh restart DIR   stop slapd if it still runs, start it again on the same
#                                  ports with the same data, print the `export` lines again
#   scripts/slapd.sh stop DIR      stop slapd by its PID and remove DIR
#   scripts/slapd.sh env DIR       print the `export` lines of a running instance again
#
# Typical use:  eval "$(scripts/slapd.sh start)"; ...; scripts/slapd.sh stop "$CLIENTELE_LDAP_DIR"
# Everything but the `export` lines goes to stderr. See scripts/ldap/README.md.
set -euo pipefail

PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export PATH
# The script's own ldap-utils calls must not pick up ldap.conf/.ldaprc settings.
export LDAPNOINIT=1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR
readonly SEED_DIR="$SCRIPT_DIR/ldap"
readonly SCHEMA_DIR=/etc/ldap/schema
readonly MODULE_DIR=/usr/lib/ldap

readonly SUFFIX='dc=example,dc=org'
readonly ADMIN_DN="cn=admin,$SUFFIX"
readonly ADMIN_PW='admin-secret'
readonly READER_DN="cn=reader,ou=system,$SUFFIX"
readonly READER_PW='reader-secret'
readonly SIZE_LIMIT=500
readonly BULK_COUNT=1200
# slappasswd -h '{SSHA}' -s bulk-secret (one hash shared by every generated bulk entry)
readonly BULK_PW_HASH='{SSHA}IEjTlNPX88HGdoYvNDDRB3UefJg0GZpi'

readonly DEFAULT_PORT=3389
readonly DEFAULT_TLS_PORT=3636
readonly MARKER=.clientele-slapd
readonly READY_TIMEOUT_MS=10000

log() { printf 'slapd.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Milliseconds since the epoch, without forking (bash 5's EPOCHREALTIME).
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s\n' $((t / 1000))
}

usage() {
    cat >&2 <<'EOF'
usage: scripts/slapd.sh install
       scripts/slapd.sh start [DIR]
       scripts/slapd.sh restart DIR
       scripts/slapd.sh stop DIR
       scripts/slapd.sh env DIR
EOF
    exit 2
}

# --- installation ----------------------------------------------------------------------

missing_packages() {
    local pkgs=()
    command -v slapd >/dev/null 2>&1 && command -v slapadd >/dev/null 2>&1 || pkgs+=(slapd)
    command -v ldapsearch >/dev/null 2>&1 || pkgs+=(ldap-utils)
    command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
    [[ -e "$SCHEMA_DIR/nis.schema" ]] || pkgs+=(slapd)
    if ((${#pkgs[@]})); then
        printf '%s\n' "${pkgs[@]}" | sort -u
    fi
}

ensure_installed() {
    [[ -z "$(missing_packages)" ]] && return 0
    command -v apt-get >/dev/null 2>&1 || die "slapd/ldap-utils/openssl missing and no apt-get"
    # Serialise concurrent first runs; apt would otherwise fail on its own lock.
    exec 9>/var/lock/clientele-slapd-install.lock
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    local pkgs
    mapfile -t pkgs < <(missing_packages)
    if ((${#pkgs[@]})); then
        log "installing ${pkgs[*]} from Debian"
        # No system-wide directory: the package must not create its own database or
        # start a system slapd listening on every interface.
        echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
        DEBIAN_FRONTEND=noninteractive apt-get -qq update >&2
        DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
            -o DPkg::Lock::Timeout=120 "${pkgs[@]}" >&2
        [[ -z "$(missing_packages)" ]] || die "installation of ${pkgs[*]} did not provide everything"
    fi
    exec 9>&-
}

# --- ports -----------------------------------------------------------------------------

# True when something accepts connections on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a free port: $1 if given, free and not $2, else a random free one.
pick_port() {
    local want=$1 avoid=$2 port tries
    if [[ -n "$want" && "$want" != "$avoid" ]] && ! port_busy "$want"; then
        printf '%s\n' "$want"
        return 0
    fi
    for ((tries = 0; tries < 100; tries++)); do
        port=$((20000 + RANDOM % 40000))
        if [[ "$port" != "$avoid" ]] && ! port_busy "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    die "no free loopback port found"
}

# --- instance files --------------------------------------------------------------------

write_tls() {
    local tls=$1/tls
    mkdir -p "$tls"
    cat >"$tls/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    # ECDSA P-256: generated in milliseconds, accepted by GnuTLS (slapd) and rustls.
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256)
    openssl req -x509 -config "$tls/openssl.cnf" "${ec[@]}" -days 365 \
        -subj '/O=Clientele tests/CN=Clientele test CA' -extensions ca_ext \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -x509 -config "$tls/openssl.cnf" "${ec[@]}" -days 365 \
        -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -subj '/O=Clientele tests/CN=localhost' -extensions leaf_ext \
        -keyout "$tls/server.key" -out "$tls/server.pem" 2>/dev/null
    # A CA that did not sign the server certificate, for "wrong CA is refused" tests.
    openssl req -x509 -config "$tls/openssl.cnf" "${ec[@]}" -days 365 \
        -subj '/O=Clientele tests/CN=Clientele wrong CA' -extensions ca_ext \
        -keyout "$tls/wrong-ca.key" -out "$tls/wrong-ca.pem" 2>/dev/null
    chmod 600 "$tls"/*.key
}

write_conf() {
    local dir=$1
    cat >"$dir/slapd.conf" <<EOF
# Generated by scripts/slapd.sh: a throwaway test instance, loopback only.
include $SCHEMA_DIR/core.schema
include $SCHEMA_DIR/cosine.schema
include $SCHEMA_DIR/inetorgperson.schema
include $SCHEMA_DIR/nis.schema

modulepath $MODULE_DIR
moduleload back_mdb

loglevel none

TLSCACertificateFile "$dir/tls/ca.pem"
TLSCertificateFile "$dir/tls/server.pem"
TLSCertificateKeyFile "$dir/tls/server.key"

# Root DSE and schema: readable by everyone (clients discover controls there).
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "$SUFFIX"
rootdn "$ADMIN_DN"
rootpw $ADMIN_PW
directory "$dir/data"
maxsize 268435456
dbnosync

# At most $SIZE_LIMIT entries per plain search (like OpenLDAP's default); paged searches
# (RFC 2696, built into back-mdb) may return any number in total. The rootdn is exempt.
sizelimit size.soft=$SIZE_LIMIT size.hard=$SIZE_LIMIT size.prtotal=unlimited

# Few indexes: each one slows the seeding, and 1 200 entries are scanned in no time.
index objectClass,uid,mail eq

# Passwords: usable for simple binds, never readable.
access to attrs=userPassword
    by anonymous auth
    by * none
# Service accounts: each may read itself only.
access to dn.subtree="ou=system,$SUFFIX"
    by self read
    by * none
# People, groups and the tree above them: readable by the reader account and anonymously.
access to *
    by dn.exact="$READER_DN" read
    by * read

# Operation counters (back-monitor, built into Debian's slapd): tests read what reached the
# server, e.g. monitorOpInitiated of cn=Bind,cn=Operations,cn=Monitor. The rootdn only.
database monitor
access to dn.subtree="cn=Monitor"
    by dn.exact="$ADMIN_DN" read
    by * none
EOF
}

# The generated part of the seed: uid=bulk0001 ... in ou=people, customer ids bulk-01..bulk-12.
write_bulk_ldif() {
    awk -v n="$BULK_COUNT" -v base="ou=people,$SUFFIX" -v pw="$BULK_PW_HASH" 'BEGIN {
        for (i = 1; i <= n; i++) {
            id = sprintf("%04d", i)
            printf "dn: uid=bulk%s,%s\n", id, base
            printf "objectClass: inetOrgPerson\n"
            printf "uid: bulk%s\ncn: Bulk User %s\nsn: User %s\ngivenName: Bulk\n", id, id, id
            printf "mail: bulk%s@bulk.example\n", id
            printf "o: bulk-%02d\n", (i - 1) % 12 + 1
            printf "description: generated bulk entry\n"
            printf "userPassword: %s\n\n", pw
        }
    }' >"$1/bulk.ldif"
}

read_ports() {
    local dir=$1
    [[ -f "$dir/ports" ]] || die "$dir has no ports file (not started by this script?)"
    LDAP_PORT=$(sed -n 's/^ldap=//p' "$dir/ports")
    LDAPS_PORT=$(sed -n 's/^ldaps=//p' "$dir/ports")
    [[ -n "$LDAP_PORT" && -n "$LDAPS_PORT" ]] || die "$dir/ports is incomplete"
}

write_env() {
    local dir=$1 pid=$2 name value out=
    local vars=(
        CLIENTELE_LDAP_URL "ldap://127.0.0.1:$LDAP_PORT"
        CLIENTELE_LDAPS_URL "ldaps://127.0.0.1:$LDAPS_PORT"
        CLIENTELE_LDAP_CA "$dir/tls/ca.pem"
        CLIENTELE_LDAP_WRONG_CA "$dir/tls/wrong-ca.pem"
        CLIENTELE_LDAP_BASE "$SUFFIX"
        CLIENTELE_LDAP_BIND_DN "$READER_DN"
        CLIENTELE_LDAP_BIND_PW "$READER_PW"
        CLIENTELE_LDAP_ADMIN_DN "$ADMIN_DN"
        CLIENTELE_LDAP_ADMIN_PW "$ADMIN_PW"
        CLIENTELE_LDAP_PID "$pid"
        CLIENTELE_LDAP_DIR "$dir"
    )
    set -- "${vars[@]}"
    while (($#)); do
        name=$1 value=$2
        shift 2
        # Single quotes, so that `eval` and a simple KEY='value' parser read the same.
        value=${value//"'"/"'\\''"}
        out+="export $name='$value'"$'\n'
    done
    printf '%s' "$out" >"$dir/env"
}

# --- process handling ------------------------------------------------------------------

# True while process $1 runs (a zombie has exited already; PID 1 of a container may
# never reap it). With $2 = slapd, also require that it is a slapd, not a reused PID.
proc_alive() {
    local pid=$1 comm=${2:-} stat
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
    # Field 2 is "(comm)", field 3 the state.
    [[ -z "$comm" || "$stat" == *"($comm) "* ]] || return 1
    stat=${stat##*) }
    [[ "${stat%% *}" != Z ]]
}

# Stops the slapd whose PID is in $1/slapd.pid, if it still runs.
stop_slapd() {
    local dir=$1 pid waited=0
    [[ -f "$dir/slapd.pid" ]] || return 0
    pid=$(<"$dir/slapd.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || die "$dir/slapd.pid does not hold a PID"
    if proc_alive "$pid" slapd; then
        kill -TERM "$pid" 2>/dev/null || true
        while proc_alive "$pid"; do
            if ((waited >= READY_TIMEOUT_MS)); then
                log "slapd $pid ignored SIGTERM for 10 s; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.02
            waited=$((waited + 20))
        done
    fi
    rm -f "$dir/slapd.pid"
}

# Starts slapd for $1 on LDAP_PORT/LDAPS_PORT and waits until it answers.
# Returns 3 if slapd exited because a port was taken, dies on any other failure.
# True when process $1 holds the socket listening on 127.0.0.1:$2 (read from /proc).
owns_port() {
    local pid=$1 port_hex inode
    port_hex=$(printf '%04X' "$2")
    inode=$(awk -v p=":$port_hex" '$2 ~ (p "$") && $4 == "0A" { print $10; exit }' /proc/net/tcp)
    [[ -n "$inode" ]] || return 1
    ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"
}

launch_slapd() {
    local dir=$1 pid deadline
    : >"$dir/slapd.log"
    # Any -d keeps slapd in the foreground (no daemonising), so $! is slapd's own PID.
    # Level 32768 ("none") prints only what slapd logs at every level, i.e. startup
    # errors such as a port in use; -d 0 would hide those.
    slapd -d 32768 -f "$dir/slapd.conf" \
        -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/" \
        </dev/null >>"$dir/slapd.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$dir/slapd.pid"
    deadline=$(($(now_ms) + READY_TIMEOUT_MS))
    # Ready means: the port answers AND the listening socket is this slapd's own (another
    # test's server may hold a port that was free when it was picked).
    until owns_port "$pid" "$LDAP_PORT" &&
        ldapsearch -x -H "ldap://127.0.0.1:$LDAP_PORT" -b '' -s base -o nettimeout=1 \
            1.1 >/dev/null 2>&1; do
        if ! proc_alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            rm -f "$dir/slapd.pid"
            if grep -qiE 'errno=98|address already in use' "$dir/slapd.log"; then
                return 3
            fi
            log "slapd exited during startup; its output:"
            cat "$dir/slapd.log" >&2
            die "slapd did not start"
        fi
        if (($(now_ms) > deadline)); then
            log "slapd did not answer within 10 s; its output:"
            cat "$dir/slapd.log" >&2
            stop_slapd "$dir"
            die "slapd did not start"
        fi
        sleep 0.02
    done
}

# --- commands --------------------------------------------------------------------------

cmd_start() {
    local dir=${1:-} t0 t_seed t_ready attempt rc tls_pid
    ensure_installed
    t0=$(now_ms)
    if [[ -z "$dir" ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/clientele-slapd.XXXXXX")
        START_CREATED=1
    elif [[ ! -e "$dir" ]]; then
        mkdir -p "$dir"
        START_CREATED=1
    elif [[ -n "$(ls -A "$dir")" ]]; then
        die "$dir is not empty (use 'restart' for an existing instance)"
    fi
    dir=$(cd "$dir" && pwd -P)
    # On failure, leave nothing behind that this run created.
    START_DIR=$dir
    trap cleanup_failed_start EXIT
    : >"$dir/$MARKER"
    mkdir -p "$dir/data"

    # Certificates and the offline seed are independent: make them in parallel.
    write_tls "$dir" &
    tls_pid=$!
    write_conf "$dir"
    write_bulk_ldif "$dir"
    # One slapadd run (each run loads the schema and opens the database again).
    { cat "$SEED_DIR/seed.ldif"; echo; cat "$dir/bulk.ldif"; } |
        slapadd -q -f "$dir/slapd.conf" >"$dir/slapadd.log" 2>&1 ||
        { cat "$dir/slapadd.log" >&2; die "slapadd of the seed failed"; }
    wait "$tls_pid" || die "generating the test certificates failed"
    t_seed=$(now_ms)

    local want_port=$DEFAULT_PORT want_tls_port=$DEFAULT_TLS_PORT
    for ((attempt = 1; ; attempt++)); do
        if [[ -n "${CLIENTELE_LDAP_PORT:-}" ]]; then
            LDAP_PORT=$CLIENTELE_LDAP_PORT
            ! port_busy "$LDAP_PORT" || die "CLIENTELE_LDAP_PORT=$LDAP_PORT is in use"
        else
            LDAP_PORT=$(pick_port "$want_port" none)
        fi
        if [[ -n "${CLIENTELE_LDAPS_PORT:-}" ]]; then
            LDAPS_PORT=$CLIENTELE_LDAPS_PORT
            ! port_busy "$LDAPS_PORT" || die "CLIENTELE_LDAPS_PORT=$LDAPS_PORT is in use"
        else
            LDAPS_PORT=$(pick_port "$want_tls_port" "$LDAP_PORT")
        fi
        rc=0
        launch_slapd "$dir" || rc=$?
        ((rc == 0)) && break
        # Another process bound the port between our check and slapd's bind: pick again.
        if ((attempt >= 5)) || [[ -n "${CLIENTELE_LDAP_PORT:-}${CLIENTELE_LDAPS_PORT:-}" ]]; then
            cat "$dir/slapd.log" >&2
            die "slapd could not bind ldap port $LDAP_PORT / ldaps port $LDAPS_PORT"
        fi
        log "port $LDAP_PORT or $LDAPS_PORT was taken meanwhile; retrying with random ones"
        want_port='' want_tls_port=''
    done
    t_ready=$(now_ms)
    printf 'ldap=%s\nldaps=%s\n' "$LDAP_PORT" "$LDAPS_PORT" >"$dir/ports"
    write_env "$dir" "$(<"$dir/slapd.pid")"
    trap - EXIT
    log "started in $((t_ready - t0)) ms (certificates + seed $((t_seed - t0)) ms," \
        "slapd up $((t_ready - t_seed)) ms): ldap://127.0.0.1:$LDAP_PORT ldaps://127.0.0.1:$LDAPS_PORT" \
        "pid $(<"$dir/slapd.pid"), CA $dir/tls/ca.pem"
    cat "$dir/env"
}

START_DIR=
START_CREATED=0
cleanup_failed_start() {
    [[ -n "$START_DIR" && -f "$START_DIR/$MARKER" ]] || return 0
    stop_slapd "$START_DIR" 2>/dev/null || true
    if ((START_CREATED)); then
        rm -rf -- "$START_DIR"
    else
        # DIR was given and empty: empty it again.
        find "$START_DIR" -mindepth 1 -delete 2>/dev/null || true
    fi
}

require_instance() {
    local dir=$1
    [[ -n "$dir" ]] || usage
    [[ -d "$dir" ]] || die "$dir does not exist"
    [[ -f "$dir/$MARKER" ]] || die "$dir is not an instance made by scripts/slapd.sh"
}

cmd_restart() {
    local dir=${1:-} t0 t1 rc=0
    require_instance "$dir"
    dir=$(cd "$dir" && pwd -P)
    ensure_installed
    read_ports "$dir"
    t0=$(now_ms)
    stop_slapd "$dir"
    launch_slapd "$dir" || rc=$?
    ((rc == 0)) || { cat "$dir/slapd.log" >&2; die "port $LDAP_PORT or $LDAPS_PORT is now taken"; }
    t1=$(now_ms)
    write_env "$dir" "$(<"$dir/slapd.pid")"
    log "restarted in $((t1 - t0)) ms: ldap://127.0.0.1:$LDAP_PORT ldaps://127.0.0.1:$LDAPS_PORT" \
        "pid $(<"$dir/slapd.pid")"
    cat "$dir/env"
}

cmd_stop() {
    local dir=${1:-}
    [[ -n "$dir" ]] || usage
    if [[ ! -e "$dir" ]]; then
        log "$dir is already gone"
        return 0
    fi
    require_instance "$dir"
    stop_slapd "$dir"
    rm -rf -- "$dir"
}

cmd_env() {
    local dir=${1:-}
    require_instance "$dir"
    [[ -f "$dir/env" ]] || die "$dir has not been started"
    cat "$dir/env"
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    (($# <= 1)) || usage
    case $cmd in
    install) ensure_installed ;;
    start) cmd_start "$@" ;;
    restart) cmd_restart "$@" ;;
    stop) cmd_stop "$@" ;;
    env) cmd_env "$@" ;;
    *) usage ;;
    esac
}

main "$@"
