# Sourced by the HTTP benches (downloads.sh, ratios.sh): starts
# `evident serve --demo` on a fresh data directory and makes a customer of
# the demo tenant entitled to `evidence-demo` `latest` (the costliest
# pattern: every request reads the product's releases to find the newest).
#
# Expects: $bin (the evident binary), $port, $work (a scratch directory,
# removed by the caller's EXIT trap, which must also kill $pid).
# Sets: S (base URL), pid, admin (the demo admin token), ct (the customer's
# access token), R (the demo release's API path), and the functions fail
# and size (the log's size).

export EVIDENT_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
S=http://127.0.0.1:$port
fail() { echo "${0##*/}: $*" >&2; exit 1; }
# Share-link requests are rate-limited per address and per link: the benches
# lift both, as they measure the server, not the limiter.
"$bin" serve --demo --data-dir "$work/data" --listen 127.0.0.1:$port \
    --public-host bench.example --rate-share-per-address 100000000 \
    --rate-share-per-link 100000000 >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
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
