#!/usr/bin/env bash
# Times one CSV import of 6,000 students without passwords against a fresh SQLite database
# seeded with the demo alliance. Usage: bash examples/bench_import.sh [path/to/placemat]
# (defaults to target/release/placemat; build it with `cargo build --release`).
set -euo pipefail
BIN=${1:-target/release/placemat}
ROWS=${ROWS:-6000}
PORT=${PORT:-18089}
DIR=$(mktemp -d)
export PLACEMAT_DATABASE_URL="sqlite://$DIR/bench.db"
export PLACEMAT_PUBLIC_URL="http://127.0.0.1:$PORT"
"$BIN" migrate >/dev/null
"$BIN" seed --demo >/dev/null
"$BIN" serve --bind "127.0.0.1:$PORT" >"$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@placemat.example","password":"placemat-demo"}' | jq -r .token)
UNIVERSITY=$(curl -s "http://127.0.0.1:$PORT/api/v1/universities" -H "authorization: Bearer $TOKEN" | jq -r '.items[0].id')
{
    echo "university_id,student_number,name,email,program_code,cohort_year"
    for n in $(seq "$ROWS"); do echo "$UNIVERSITY,B$n,Bench Student $n,bench$n@students.test,0854,2027"; done
} >"$DIR/class.csv"
curl -s -o "$DIR/answer.json" -w "status %{http_code}, %{time_total} s for $ROWS rows\n" \
    -X POST "http://127.0.0.1:$PORT/api/v1/students/import" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: text/csv' --data-binary "@$DIR/class.csv"
jq -r '"created \(.created)"' "$DIR/answer.json"
