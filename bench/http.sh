#!/usr/bin/env bash
# Throughput of the request path, measured from outside with wrk against one
# `placemat serve` over the demo alliance in a fresh SQLite file.
#
#     bench/http.sh [SECONDS]        # each request SECONDS long (default 10)
#
# Needs wrk (`apt-get install wrk`) and python3. Environment: THREADS (default 2),
# CONNECTIONS (default 64), PORT (default 18080), PLACEMAT_BIN (a binary to measure instead
# of building this tree's release binary). Prints req/s per request beside its share of
# /healthz's throughput; the requests run one after another against the same server.
set -euo pipefail

seconds=${1:-10}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
port=${PORT:-18080}
root=$(cd "$(dirname "$0")/.." && pwd)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [[ -z "${PLACEMAT_BIN:-}" ]]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin placemat
    PLACEMAT_BIN="${CARGO_TARGET_DIR:-$root/target}/release/placemat"
fi

work=$(mktemp -d)
server=
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

export PLACEMAT_DATABASE_URL="sqlite://$work/bench.db"
export PLACEMAT_MAIL_DIR="$work/mail"
export PLACEMAT_BIND="127.0.0.1:$port"
export RUST_LOG=warn
"$PLACEMAT_BIN" seed --demo >/dev/null
"$PLACEMAT_BIN" serve >"$work/server.log" 2>&1 &
server=$!

base="http://127.0.0.1:$port"
for _ in $(seq 100); do
    python3 - "$base/healthz" <<'PY' 2>/dev/null && break
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1)
PY
    sleep 0.1
done

token=$(python3 - "$base/api/v1/auth/login" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1],
    data=json.dumps({"email": "admin@placemat.example", "password": "placemat-demo"}).encode(),
    headers={"content-type": "application/json"},
)
print(json.load(urllib.request.urlopen(request))["token"])
PY
)

paths=("/healthz" "/api/v1/me" "/api/v1/bases?limit=1" "/api/v1/bases?limit=20")
declare -A rates errors
for path in "${paths[@]}"; do
    output=$(wrk -t "$threads" -c "$connections" -d "${seconds}s" \
        -H "authorization: Bearer $token" "$base$path")
    rates[$path]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
    errors[$path]=$(awk '/Non-2xx or 3xx responses:/ {print $NF} /Socket errors:/ {print "socket"}' <<<"$output" | paste -sd, -)
done

echo "wrk: $threads threads, $connections connections, ${seconds} s per request, $(nproc) cores"
printf '%-26s %12s %10s %s\n' request req/s share errors
healthz=${rates[/healthz]}
for path in "${paths[@]}"; do
    printf '%-26s %12.0f %9.0f%% %s\n' "GET $path" "${rates[$path]}" \
        "$(awk -v rate="${rates[$path]}" -v base="$healthz" 'BEGIN {print 100 * rate / base}')" \
        "${errors[$path]:-0}"
done
