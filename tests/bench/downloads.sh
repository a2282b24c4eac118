#!/usr/bin/env bash
# Logged downloads over HTTP, as recorded in docs/performance.md: wrk on
# loopback against `evident serve --demo`, with a customer access token on a
# cached export. Every request is authorised, appends a `download_served`
# entry, waits for its group-committed WAL sync and answers with the entry's
# index. Prints wrk's figures and checks that the log grew by at least one
# entry per answer.
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

fail() { echo "downloads.sh: $*" >&2; exit 1; }
"$bin" serve --demo --data-dir "$work/data" --listen 127.0.0.1:$port \
    --public-host bench.example >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
# Up means: this process is alive, printed its address, and answers.
for _ in $(seq 1 150); do
    kill -0 $pid 2>/dev/null || { cat "$work/serve.err" >&2; fail "the server exited"; }
    grep -q EVIDENT_LISTENING "$work/serve.out" 2>/dev/null && curl -sf "$S/healthz" >/dev/null && break
    sleep 0.2
done
curl -sf "$S/healthz" >/dev/null || fail "the server on port $port did not answer"
admin=$(sed -n 's/^EVIDENT_DEMO_ADMIN_TOKEN=//p' "$work/serve.out")
[ -n "$admin" ] || fail "the demo tenant was not seeded"

json='content-type: application/json'
cid=$(curl -sf -X POST "$S/api/v1/tenants/demo/customers" -H "Authorization: Bearer $admin" -H "$json" \
    -d '{"name":"Bench customer","entitlements":[{"product":"evidence-demo","tag":"latest"}]}' \
    | sed -n 's/^{"id":"\([^"]*\)".*/\1/p') || fail "creating the customer failed"
[ -n "$cid" ] || fail "no customer id"
ct=$(curl -sf -X POST "$S/api/v1/tenants/demo/customers/$cid/tokens" -H "Authorization: Bearer $admin" -H "$json" -d '{}' \
    | sed -n 's/.*"token":"\([^"]*\)".*/\1/p') || fail "issuing the customer token failed"
[ -n "$ct" ] || fail "no customer token"

R=$S/api/v1/tenants/demo/products/evidence-demo/releases/v0.1.0
size() { curl -sf "$S/api/v1/tenants/demo/log/checkpoint" -H "Authorization: Bearer $admin" | sed -n 2p; }

# The export, a NOTICE, and the export's 70-byte signature (what a download
# costs without its body).
for path in "sbom?format=cyclonedx-json" "notice?format=text" "sbom.sig?format=cyclonedx-json"; do
    # One download first, so the export is issued, signed and cached.
    bytes=$(curl -sf -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $ct" "$R/$path") \
        || fail "GET $path failed"
    before=$(size)
    echo "== GET …/$path ($bytes bytes, log size $before)"
    wrk -t2 -c"$conns" -d"${dur}s" --latency -H "Authorization: Bearer $ct" "$R/$path" | tee "$work/wrk.out"
    after=$(size)
    sent=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$work/wrk.out")
    grep -q 'Non-2xx' "$work/wrk.out" && fail "some answers were not 2xx"
    echo "log size $before -> $after: $((after - before)) download_served entries for $sent answers" \
        "($((after - before - sent)) more were still in flight when wrk stopped)"
    [ $((after - before)) -ge "$sent" ] || fail "fewer entries than answers"
done
