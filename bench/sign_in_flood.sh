#!/usr/bin/env bash
# Two floods of 300 concurrent sign-ins with unknown emails against a fresh SQLite server,
# one after the other: the answers' status codes, and the server's resident memory (at rest,
# and its peak, VmHWM, after each flood) and thread count. Each sign-in comes from an
# address of its own in the loopback range (127.0.R.N), so that no address reaches its
# failure limit and every sign-in costs a password check or waits for one.
#
#   bench/sign_in_flood.sh [BINARY ...]    # default: target/release/placemat, built first
#
# Several binaries (say this build and the one before) are measured one after another in
# the same run, each on a database of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    cargo build --release --locked --quiet
    set -- target/release/placemat
fi
PORT="${FLOOD_PORT:-18099}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

field() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$2/status"; }

flood() {
    seq 300 | xargs -P 300 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\\n' \
        --interface 127.0.$1.\$(( {} % 250 + 1 )) -H 'content-type: application/json' \
        -d '{\"email\":\"flood$1-{}@nowhere.test\",\"password\":\"a guess\"}' \
        http://127.0.0.1:$PORT/api/v1/auth/login" | sort | uniq -c | tr '\n' ' '
}

for binary in "$@"; do
    PLACEMAT_DATABASE_URL="sqlite://$work/flood-$RANDOM.db" PLACEMAT_MAIL_DIR="$work/mail" \
        "$binary" serve --bind "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
        sleep 0.1
    done
    echo "== $binary"
    echo "at rest: VmRSS $(field VmRSS $server) kB, threads $(field Threads $server)"
    for round in 1 2; do
        answers=$(flood $round)
        echo "flood $round: $answers| VmHWM $(field VmHWM $server) kB, threads $(field Threads $server)"
    done
    kill "$server"
    wait "$server" || true
done
