#!/usr/bin/env bash
# Logged downloads over HTTP, as recorded in docs/performance.md: wrk on
# loopback against `evident serve --demo`, with a customer access token on a
# cached export. Every request is authorised, appends a `download_served`
# entry, waits for its group-committed WAL sync and answers with the entry's
# index. Prints wrk's figures and how far the log grew.
#
#   bash tests/bench/downloads.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Needs wrk (Debian: apt-get install wrk), curl and a built `evident` ($EVIDENT_BIN, else the debug build
# in $CARGO_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
dur=${1:-15}
conns=${2:-64}
target=${CARGO_TARGET_DIR:-/var/tmp/evident-target}
bin=${EVIDENT_BIN:-$target/debug/evident}
port=${EVIDENT_BENCH_PORT:-18182}
S=http://127.0.0.1:$port
work=$(mktemp -d /tmp/evident-dlbench.XXXXXX)
export EVIDENT_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

"$bin" serve --demo --data-dir "$work/data" --listen 127.0.0.1:$port \
    --public-host bench.example >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    grep -q EVIDENT_DEMO_ADMIN_TOKEN "$work/serve.out" 2>/dev/null && break
    sleep 0.2
done
admin=$(sed -n 's/^EVIDENT_DEMO_ADMIN_TOKEN=//p' "$work/serve.out")
[ -n "$admin" ] || { echo "the demo tenant was not seeded" >&2; cat "$work/serve.err" >&2; exit 1; }

json='content-type: application/json'
cid=$(curl -sf -X POST "$S/api/v1/tenants/demo/customers" -H "Authorization: Bearer $admin" -H "$json" \
    -d '{"name":"Bench customer","entitlements":[{"product":"evidence-demo","tag":"latest"}]}' \
    | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
ct=$(curl -sf -X POST "$S/api/v1/tenants/demo/customers/$cid/tokens" -H "Authorization: Bearer $admin" -H "$json" -d '{}' \
    | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$ct" ] || { echo "no customer token" >&2; exit 1; }

R=$S/api/v1/tenants/demo/products/evidence-demo/releases/v0.1.0
size() { curl -sf "$S/api/v1/tenants/demo/log/checkpoint" -H "Authorization: Bearer $admin" | sed -n 2p; }

for path in "sbom?format=cyclonedx-json" "notice?format=text"; do
    # One download first, so the export is issued, signed and cached.
    bytes=$(curl -sf -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $ct" "$R/$path")
    idx=$(curl -sf -D - -o /dev/null -H "Authorization: Bearer $ct" "$R/$path" | tr -d '\r' | sed -n 's/^x-evident-log-index: //Ip')
    before=$(size)
    echo "== GET …/$path ($bytes bytes; a warm-up download was logged at index $idx)"
    wrk -t2 -c"$conns" -d"${dur}s" --latency -H "Authorization: Bearer $ct" "$R/$path"
    after=$(size)
    echo "log size $before -> $after: $((after - before)) download_served entries appended"
done
