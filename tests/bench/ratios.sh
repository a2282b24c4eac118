#!/usr/bin/env bash
# Every performance figure of docs/performance.md next to its reference,
# from one run on this machine, each line with its ratio:
#
#   - logged downloads (the demo release's CycloneDX JSON export, its NOTICE
#     and its signature, with a customer access token; every answer appends
#     a durable `download_served` entry) beside nginx serving the same bytes
#     as static files, wrk on loopback, the same connections and duration;
#   - durable appends/s of the log library at 1, 16 and 256 writers beside
#     RocksDB alone doing durable writes of the same leaves with the same
#     writers (`evident bench log --reference`);
#   - ingest, push and each export of the 10,099-component fixture beside
#     the targets (`evident bench sbom`), and ingest and the CycloneDX JSON
#     writer beside cyclonedx-python-lib doing the same (tests/bench/cdx_python.py).
#
#   bash tests/bench/ratios.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Builds the release binary first (cargo build --release) unless
# $EVIDENT_BIN names one. Needs wrk and nginx (Debian: apt-get install wrk
# nginx-light; .ci/setup installs both with EVIDENT_SETUP_BENCH=1), curl.
# With EVIDENT_BENCH_PERF=DIR it also samples the server with
# `perf record --call-graph dwarf` during an export run of its own (before
# the measured ones) and, when inferno is installed (cargo install
# inferno), writes DIR/downloads.svg, a flame graph.
set -euo pipefail
cd "$(dirname "$0")/../.."
dur=${1:-15}
conns=${2:-64}
target=${CARGO_TARGET_DIR:-target}
# Everything the run needs, checked before the build.
command -v wrk >/dev/null || { echo "ratios.sh: needs wrk (EVIDENT_SETUP_BENCH=1 bash .ci/setup)" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "ratios.sh: needs nginx (EVIDENT_SETUP_BENCH=1 bash .ci/setup)" >&2; exit 1; }
python3 -c 'import cyclonedx.model.bom, cyclonedx.output.json' 2>/dev/null \
    || { echo "ratios.sh: needs cyclonedx-python-lib (bash .ci/setup)" >&2; exit 1; }
[ "$dur" -ge 2 ] || { echo "ratios.sh: the duration is at least 2 seconds" >&2; exit 1; }
if [ -z "${EVIDENT_BIN:-}" ]; then
    cargo build --release --locked --bin evident >&2
    EVIDENT_BIN=$target/release/evident
fi
bin=$EVIDENT_BIN
port=${EVIDENT_BENCH_PORT:-18183}
nport=$((port + 1))
work=$(mktemp -d /tmp/evident-ratios.XXXXXX)
npid=
trap 'kill ${pid:-} ${npid:-} 2>/dev/null || true; wait ${pid:-} ${npid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
. tests/bench/demo.sh

# The same bytes for nginx, as files, at the same paths.
mkdir -p "$work/www" "$work/nginx"
# (nginx's workers run as an unprivileged user when started as root.)
chmod 711 "$work"
paths=("sbom?format=cyclonedx-json&vex=0" "notice?format=text" "sbom.sig?format=cyclonedx-json&vex=0")
files=(export.cdx.json NOTICE.txt sbom.sig)
for i in 0 1 2; do
    curl -sf -o "$work/www/${files[$i]}" -H "Authorization: Bearer $ct" "$R/${paths[$i]}" \
        || fail "GET ${paths[$i]} failed"
done
# Debian's nginx.conf as installed (worker_processes auto, sendfile on,
# tcp_nopush on, its MIME types, gzip on, an access log), in a scratch
# prefix.
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    access_log $work/nginx/access.log;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nport;
        root $work/www;
    }
}
CONF
chmod -R a+rX "$work/www"
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr" &
npid=$!
for _ in $(seq 1 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$nport/sbom.sig" && break
    sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$nport/sbom.sig" || { cat "$work/nginx/stderr" "$work/nginx/error.log" >&2; fail "nginx did not start"; }

# wrk's requests/s and p99 (ms) from its output.
rate() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
p99() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v }' "$1"
}
run_wrk() { # out, url, [header]
    local out=$1 url=$2
    shift 2
    wrk -t2 -c"$conns" -d"${dur}s" --latency "$@" "$url" >"$out"
    grep -q 'Non-2xx' "$out" && { cat "$out" >&2; fail "some answers to $url were not 2xx"; }
    grep -q 'Socket errors' "$out" && { cat "$out" >&2; fail "wrk had socket errors or timeouts on $url"; }
    return 0
}

# The profile comes from a run of its own (sampling with DWARF stacks
# slows the server), before the measured ones.
if [ -n "${EVIDENT_BENCH_PERF:-}" ]; then
    mkdir -p "$EVIDENT_BENCH_PERF"
    (sleep 2; perf record -F 199 --call-graph dwarf,32768 -p "$pid" -o "$EVIDENT_BENCH_PERF/perf.data" -- sleep $((dur > 5 ? dur - 4 : 1)) \
        >/dev/null 2>"$EVIDENT_BENCH_PERF/perf.err") &
    perfpid=$!
    run_wrk "$work/profiled" "$R/${paths[0]}" -H "Authorization: Bearer $ct"
    wait "$perfpid" || true
fi

rows=()
for i in 0 1 2; do
    bytes=$(stat -c %s "$work/www/${files[$i]}")
    before=$(size)
    run_wrk "$work/e$i" "$R/${paths[$i]}" -H "Authorization: Bearer $ct"
    after=$(size)
    sent=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$work/e$i")
    [ $((after - before)) -ge "$sent" ] || fail "${paths[$i]}: $((after - before)) entries for $sent answers"
    run_wrk "$work/n$i" "http://127.0.0.1:$nport/${files[$i]}" -H "Authorization: Bearer $ct"
    er=$(rate "$work/e$i") nr=$(rate "$work/n$i") ep=$(p99 "$work/e$i") np=$(p99 "$work/n$i")
    rows+=("$(printf '| %s (%s bytes) | %.0f | %s ms | %.0f | %s ms | **%.2f** |' \
        "${files[$i]}" "$bytes" "$er" "$ep" "$nr" "$np" "$(awk -v a="$er" -v b="$nr" 'BEGIN { print a / b }')")")
done
echo "## Logged downloads beside nginx ($(nproc) cores, wrk -t2 -c$conns -d${dur}s, loopback)"
echo
echo "| file | Evident req/s | Evident p99 | nginx req/s | nginx p99 | ratio (target ≥ 0.5) |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "(every Evident answer appended a durable download_served entry: the log grew by at least one entry per answer)"
kill "$pid" "$npid" 2>/dev/null || true
wait "$pid" "$npid" 2>/dev/null || true
pid= npid=

if [ -n "${EVIDENT_BENCH_PERF:-}" ] && [ -s "$EVIDENT_BENCH_PERF/perf.data" ] \
    && command -v inferno-collapse-perf >/dev/null; then
    perf script -i "$EVIDENT_BENCH_PERF/perf.data" 2>/dev/null | inferno-collapse-perf \
        | inferno-flamegraph --minwidth 0.5 --title "Evident, logged downloads of the CycloneDX export" \
        >"$EVIDENT_BENCH_PERF/downloads.svg"
    echo "flame graph: $EVIDENT_BENCH_PERF/downloads.svg"
fi

echo
echo "## Durable appends of the log library beside RocksDB alone (target ≥ 200,000/s at 256 writers)"
"$bin" bench log --writers 1,16,256 --proof-entries 0 --reference --dir "$work" | sed 1d | tee "$work/log.out"
awk -F'|' '$2 + 0 == 256 { gsub(/ /, "", $4); printf "\n256 writers: %s appends/s, %.2f of the 200,000/s target\n", $4, $4 / 200000 }' "$work/log.out"
echo
fixture=tests/fixtures/sboms/cyclonedx-npm-mega-a-minified.cdx-1.6.json
echo "## SBOM work on $fixture"
echo
"$bin" bench sbom --runs 10 --dir "$work" --sbom "$fixture" | tee "$work/sbom.out"
p50() { awk -v k="$1" 'index($0, k) == 1 { for (i = 1; i < NF; i++) if ($i == "p50") { print $(i + 1); exit } }' "$work/sbom.out"; }
echo
echo "reference: cyclonedx-python-lib on the same file (python3 tests/bench/cdx_python.py)"
python3 tests/bench/cdx_python.py "$fixture" >"$work/py.out"
pyload=$(sed -n 's/^PYLOAD //p' "$work/py.out")
pywrite=$(sed -n 's/^PYWRITE \([0-9.]*\).*/\1/p' "$work/py.out")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
echo
echo "(The first GET of a release's export finds the model in memory, as the push left it; its"
echo "RFC 3161 token is made at the first GET of its Sigstore bundle, so issuance is the sum.)"
echo
echo "| step | Evident p50 | target | Evident / target | cyclonedx-python-lib | Evident / it |"
echo "|---|---:|---:|---:|---:|---:|"
ingest=$(p50 "ingest (library)")
push=$(p50 "push over the API")
echo "| ingest, library | $ingest ms | 100 ms | $(ratio "$ingest" 100) | $pyload ms (load) | $(ratio "$ingest" "$pyload") |"
echo "| push over the API | $push ms | 150 ms | $(ratio "$push" 150) | | |"
for f in cyclonedx-json cyclonedx-xml spdx-json spdx-tv; do
    first=$(p50 "export $f (first GET: issuance)")
    bundle=$(awk -v k="export $f (first GET: issuance)" 'found { for (i = 1; i < NF; i++) if ($i == "p50") { print $(i + 1); exit } } index($0, k) == 1 { found = 1 }' "$work/sbom.out")
    issued=$(awk -v a="$first" -v b="$bundle" 'BEGIN { printf "%.1f", a + b }')
    cached=$(p50 "export $f (GET over the API)")
    writer=$(p50 "export $f (writer")
    if [ "$f" = cyclonedx-json ]; then
        echo "| $f: writer | $writer ms | | | $pywrite ms (write) | $(ratio "$writer" "$pywrite") |"
    fi
    echo "| $f: issuance (first GET $first ms + first bundle $bundle ms) | $issued ms | 50 ms | $(ratio "$issued" 50) | | |"
    echo "| $f: cached GET | $cached ms | 1 ms | $(ratio "$cached" 1) | | |"
done
