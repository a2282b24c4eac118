#!/usr/bin/env bash
# Byte stability across two builds of the server (e.g. before and after a
# refactor): data made by OLD, read by NEW. Exports, signatures, their
# timestamps, NOTICEs, a receipt and the log key must be identical, and the
# log must audit clean.
#
#   bash tests/bench/compare_builds.sh OLD_EVIDENT_BINARY NEW_EVIDENT_BINARY
#
# Not part of CI (it needs two builds).
# Byte stability across the refactor: data made by the old binary, read by the new.
set -euo pipefail
OLD=${1:?old binary}; NEW=${2:?new binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d); export EVIDENT_MASTER_KEY=$(printf '12%.0s' {1..32}); export EVIDENT_LOG=warn
start() { "$1" serve --data-dir $D/data --listen 127.0.0.1:18555 --public-host stab.test > $D/out.$2 2>$D/err.$2 & PID=$!; for i in $(seq 100); do curl -sf http://127.0.0.1:18555/healthz >/dev/null && break; sleep 0.2; done; }
stop() { kill $PID; wait $PID || true; }
S=http://127.0.0.1:18555
start "$OLD" old
OP=$(sed -n 's/^EVIDENT_OPERATOR_TOKEN=//p' $D/out.old)
AD=$(curl -sf -X POST $S/api/v1/tenants -H "Authorization: Bearer $OP" -H 'content-type: application/json' -d '{"slug":"acme","name":"Acme"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_token"]["token"])')
PU=$(curl -sf -X POST $S/api/v1/tenants/acme/tokens -H "Authorization: Bearer $AD" -H 'content-type: application/json' -d '{"scope":"push"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
python3 - > $D/push.json <<PY
import json,base64
print(json.dumps({"product":"shop","tag":"v1.0.0","artefacts":[{"name":"bin","digest":"sha256:"+"ab"*32}],"sbom":{"content":base64.b64encode(open("$ROOT/tests/fixtures/sboms/cyclonedx-py-jupyter-venv.cdx-1.6.json","rb").read()).decode(),"encoding":"base64"}}))
PY
curl -sf -X POST $S/api/v1/tenants/acme/releases -H "Authorization: Bearer $PU" -H 'content-type: application/json' --data @$D/push.json >/dev/null
R=$S/api/v1/tenants/acme/products/shop/releases/v1.0.0
get() { for f in cyclonedx-json cyclonedx-xml spdx-json spdx-tv; do for p in sbom sbom.sig sbom.sig.tsr; do curl -sf -D $D/h -H "Authorization: Bearer $AD" "$R/$p?format=$f" | sha256sum | cut -c1-16 | tr '\n' ' '; echo "$p $f"; done; done; for f in text markdown html; do curl -sf -H "Authorization: Bearer $AD" "$R/notice?format=$f" | sha256sum | cut -c1-16 | tr '\n' ' '; echo "notice $f"; done; }
get > $D/old.txt
IDX=$(grep -i x-evident-log-index $D/h | tr -dc 0-9)
curl -sf -H "Authorization: Bearer $AD" $S/api/v1/tenants/acme/receipts/$IDX > $D/receipt.old
curl -sf -H "Authorization: Bearer $AD" $S/api/v1/tenants/acme/log/key > $D/key.old
stop
start "$NEW" new
curl -sf -H "Authorization: Bearer $AD" $S/api/v1/tenants/acme/receipts/$IDX > $D/receipt.new
curl -sf -H "Authorization: Bearer $AD" $S/api/v1/tenants/acme/log/key > $D/key.new
get > $D/new.txt
stop
echo "--- old vs new (sha256 prefix, file)"; paste -d'|' $D/old.txt $D/new.txt
cmp $D/old.txt $D/new.txt && echo "exports, signatures, tokens, NOTICEs: identical"
cmp $D/receipt.old $D/receipt.new && echo "receipt $IDX: identical"
cmp $D/key.old $D/key.new && echo "log key: identical"
"$NEW" log audit --data-dir $D/data | tail -2
rm -rf $D
