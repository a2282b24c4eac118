#!/usr/bin/env bash
# Logged downloads over HTTP, as recorded in docs/performance.md: wrk on
# loopback against `evident serve --demo`, with a customer access token on a
# cached export, and then through share links on the same export. Every request is authorised, appends a `download_served`
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
work=$(mktemp -d /tmp/evident-dlbench.XXXXXX)
trap 'kill ${pid:-} 2>/dev/null || true; wait ${pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
. tests/bench/demo.sh

# Share links: as many as connections (a link is one recipient's; downloads
# through one link are serialised by its lock), each allowed a million uses,
# on the same cached export. share.lua cycles each wrk thread's requests
# through the links.
: >"$work/links.txt"
for _ in $(seq 1 "$conns"); do
    # (The answer has no trailing newline: take it into a variable.)
    u=$(curl -sf -X POST "$S/api/v1/tenants/demo/share-links" -H "Authorization: Bearer $admin" -H "$json" \
        -d '{"product":"evidence-demo","tag":"v0.1.0","covers":["cyclonedx-json"],"max_uses":1000000}' \
        | sed -n 's|.*"url":"[^"]*\(/s/[^"]*\)".*|\1/sbom?format=cyclonedx-json|p') \
        || fail "issuing a share link failed"
    [ -n "$u" ] || fail "no link in the answer"
    echo "$u" >>"$work/links.txt"
done
[ "$(wc -l <"$work/links.txt")" -eq "$conns" ] || fail "not every share link was issued"
cat >"$work/share.lua" <<LUA
local paths = {}
for l in io.lines("$work/links.txt") do paths[#paths + 1] = l end
local counter = 0
setup = function(thread) thread:set("offset", counter); counter = counter + 1 end
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", paths[((n * 2 + offset) % #paths) + 1])
end
LUA

# The export, the same export through share links, a NOTICE, and the
# export's 70-byte signature (what a download costs without its body). The
# demo release has VEX; share links serve the export without it (vex=0), so
# the customer's request asks for the same bytes.
for path in "sbom?format=cyclonedx-json&vex=0" "share-link" "notice?format=text" "sbom.sig?format=cyclonedx-json&vex=0"; do
    if [ "$path" = share-link ]; then
        first=$(head -1 "$work/links.txt")
        bytes=$(curl -sf -o /dev/null -w '%{size_download}' "$S$first") || fail "GET $first failed"
        before=$(size)
        echo "== GET /s/<token>/sbom?format=cyclonedx-json through $conns share links ($bytes bytes, log size $before)"
        wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$work/share.lua" "$S" | tee "$work/wrk.out"
        after=$(size)
        sent=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$work/wrk.out")
        grep -q 'Non-2xx' "$work/wrk.out" && fail "some answers were not 2xx"
        echo "log size $before -> $after: $((after - before)) share_link_used entries for $sent answers"
        [ $((after - before)) -ge "$sent" ] || fail "fewer entries than answers"
        continue
    fi
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
