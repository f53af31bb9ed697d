#!/usr/bin/env bash
# SCIM conformance against a live server: builds `clientele` (feature web), makes a temporary
# SQLite database with `clientele init`, adds a company and a scim token, starts
# `clientele serve` on a free loopback port and runs scripts/scim/check.py — scim2-tester
# (pinned in scripts/scim/requirements.txt, installed in a virtual environment under the
# target directory) and this project's own checks. The JSON report goes to
# <target>/scim-check/report.json. Exits non-zero on a failed check that
# scripts/scim/allow-list.json does not name.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
log() { printf 'scim-check: %s\n' "$*" >&2; }

log "building clientele (feature web)"
cargo build --manifest-path "$root/Cargo.toml" -p clientele-cli --features web --quiet
bin="$target/debug/clientele"

venv="$target/scim-venv"
if [ ! -x "$venv/bin/python" ]; then
    log "creating the virtual environment $venv"
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/scim/requirements.txt"

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

config="$work/clientele.toml"
cat >"$config" <<TOML
[[customer_user]]
type = "db"
url = "sqlite://$work/clientele.sqlite?mode=rwc"

[customer_user.settings]
name = "main"

[web.scim]
default_customer_id = "SCIMCHECK"
TOML
export CLIENTELE_CONFIG="$config"
"$bin" init >/dev/null
"$bin" company add SCIMCHECK --name "SCIM Check Inc" >/dev/null
"$bin" group add scimcheck >/dev/null 2>&1 || true
token=$("$bin" --json serve token add --actor 1 --scim | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# A free loopback port: the server is asked for port 0 and says which one it got.
"$bin" serve --bind 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(sed -n 's|^listening on http://\([^ ]*\).*|\1|p' "$work/serve.out" | head -n1)
    [ -n "$addr" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; log "the server did not start"; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { log "the server did not say where it listens"; exit 1; }
log "server on $addr"

mkdir -p "$target/scim-check"
status=0
"$venv/bin/python" "$root/scripts/scim/check.py" "http://$addr/scim/v2" "$token" \
    "$target/scim-check/report.json" "$root/scripts/scim/allow-list.json" "$root/docs/web.md" || status=$?
# No token, password or hash in the server's log.
if grep -q -e "$token" -e "Scim-Check-Password" "$work/serve.err"; then
    log "the server's log shows a token or a password"
    status=1
fi
exit "$status"
