#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time (default 60 s each), starting from the
# committed seed corpus in fuzz/corpus/<target>/; new inputs go to fuzz/corpus-work/<target>/
# (not committed), crashes to fuzz/artifacts/<target>/. Exits non-zero when a target crashes.
#
#   scripts/fuzz.sh            every target, 60 s each
#   scripts/fuzz.sh 300        every target, 300 s each
#   scripts/fuzz.sh 30 sql_search ldap_filter
#
# cargo-fuzz needs nightly compiler flags; on the stable toolchain RUSTC_BOOTSTRAP=1 enables them,
# and the sanitizer is off (-s none) because AddressSanitizer needs a nightly standard library.
# Install the driver once with `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(search_parser sql_search ldap_filter config_toml)
fi

command -v cargo-fuzz >/dev/null 2>&1 || {
    echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
}

export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none
for t in "${targets[@]}"; do
    mkdir -p "corpus-work/$t" "corpus/$t"
    echo "fuzz.sh: $t for ${seconds}s" >&2
    cargo fuzz run -s none "$t" "corpus-work/$t" "corpus/$t" -- -max_total_time="$seconds"
done
