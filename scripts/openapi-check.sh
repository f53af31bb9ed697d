#!/usr/bin/env bash
# Checks the JSON API of `clientele serve` against its own OpenAPI document with schemathesis
# (pinned in scripts/openapi/requirements.txt, installed into a virtual environment under
# target/): every documented operation answers, every answer's status code, content type and
# body match the document, and no answer is a server error.
#
# It builds `clientele` (feature `web`), makes a temporary SQLite database with
# `clientele init`, seeds a company, a user, a group and services with the command line, adds
# a bearer token, starts `clientele serve` on a free loopback port and runs schemathesis with a
# fixed seed and number of examples per operation. Exits non-zero on any failure.
#
#   scripts/openapi-check.sh                 the check
#   OPENAPI_CHECK_EXAMPLES=50 scripts/openapi-check.sh   more examples per operation
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

target="${CARGO_TARGET_DIR:-$root/target}"
venv="$root/target/openapi-venv"
requirements="$root/scripts/openapi/requirements.txt"
examples="${OPENAPI_CHECK_EXAMPLES:-25}"
seed="${OPENAPI_CHECK_SEED:-20261207}"

log() { printf 'openapi-check: %s\n' "$*" >&2; }

# The virtual environment, made again whenever the pinned requirements change.
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    log "installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

log "building clientele with the web feature"
cargo build --quiet -p clientele-cli --features web
clientele="$target/debug/clientele"

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

config="$work/clientele.toml"
cat >"$config" <<EOF
[[customer_user]]
type = "db"
url = "sqlite://$work/clientele.sqlite?mode=rwc"

[permissions]
customer_group_support = true

[passwords]
argon2 = { memory_kib = 64, iterations = 1, parallelism = 1 }
EOF
cl() { "$clientele" --config "$config" "$@" >/dev/null; }

log "seeding a temporary SQLite database"
cl init
cl company add ACME --name "Acme Corp"
cl company add GLOBEX --name "Globex"
printf 'Seeded-Secret-42!\n' | cl user add --login anna --first-name Anna --last-name Berg \
    --email anna@acme-corp.com --customer-id ACME --password-stdin
cl user relate-company anna GLOBEX
cl group add billing
cl group grant billing --user anna ro
cl group grant billing --company ACME --context other ro
cl service add Printing
cl service add Printing::Color
cl service assign anna Printing
cl service default Printing::Color
# The actor is an agent id: the audit columns of a database without OTOBO's users table hold ids.
token=$("$clientele" --config "$config" --json serve token add --actor 1 |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')

log "starting clientele serve on a free loopback port"
"$clientele" --config "$config" serve --bind 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
addr=
for _ in $(seq 1 100); do
    addr=$(sed -n 's|^listening on http://\([0-9.:]*\).*|\1|p' "$work/serve.out")
    [[ -n $addr ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; log "clientele serve stopped"; exit 1; }
    sleep 0.1
done
[[ -n $addr ]] || { log "clientele serve did not say where it listens"; exit 1; }

# The document needs the token too: fetch it once, then test the server it describes.
curl --silent --show-error --fail -H "Authorization: Bearer $token" \
    "http://$addr/api/v1/openapi.json" -o "$work/openapi.json"

log "schemathesis: $examples examples per operation, seed $seed, against http://$addr"
status=0
# From the temporary directory, so schemathesis' own files (replays) go away with it.
(cd "$work" && "$venv/bin/schemathesis" --no-color run "$work/openapi.json" \
    --url "http://$addr" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --warnings off) || status=$?

# Every documented operation answered at all, none with a server error in the log.
if grep -q 'status=5[0-9][0-9]' "$work/serve.log"; then
    log "the server answered with a 5xx:"
    grep 'status=5[0-9][0-9]' "$work/serve.log" | head -n 20 >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    log "FAILED (exit $status)"
    exit "$status"
fi
log "passed"
