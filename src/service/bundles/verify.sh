#!/bin/sh
# verify.sh: check an Evident regulator bundle with nothing but sha256sum
# and openssl.
#
#   Tenant:   @TENANT@
#   Request:  @REQUEST@ (@NOTICE@)
#   Release:  @RELEASE@
#
# Usage: sh verify.sh [sha256:DIGEST-OBSERVED-IN-PRODUCTION]
# (default: the digests the request names in request.json)
# (from anywhere; the files are looked for next to it). Exit status 0 means
# every check below passed. This script does not check the Merkle proofs in
# log/ nor the checkpoint's signature: run bin/evident-verify bundle for
# those (see VERIFY.md), or Go's golang.org/x/mod/sumdb/tlog. It uses the
# keys the bundle carries: compare the fingerprints it prints with ones you
# obtained independently (from the vendor, or the log's witnesses).

set -u
DIGEST=${1:-}
cd "$(dirname "$0")" || exit 2
failed=""
pass() { printf 'PASS  %-26s %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %-26s %s\n' "$1" "$2"; failed="$failed $1"; }
for tool in sha256sum openssl grep; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "verify.sh needs $tool, which is not installed." >&2
        exit 2
    fi
done
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# The entry of a kind (the log's leaves are RFC 8785 JSON, one per file).
entry() { grep -l "\"kind\":\"$1\"" log/entries/*.json 2>/dev/null | head -n 1; }

# 1. SHA256SUMS is the list manifest.json names, and every file has the
# SHA-256 it lists (manifest.json's own digest is in the log: see VERIFY.md).
sums=$(sha SHA256SUMS 2>/dev/null)
if grep -q "{\"path\":\"SHA256SUMS\",\"role\":\"checksums\",\"sha256\":\"$sums\"" manifest.json 2>/dev/null; then
    pass manifest "SHA256SUMS is the list manifest.json names (SHA-256 $sums)."
else
    fail manifest "SHA256SUMS is not the list manifest.json names."
fi
if out=$(sha256sum --strict -c SHA256SUMS 2>&1); then
    pass files "every file has the SHA-256 the manifest lists."
else
    fail files "$(echo "$out" | grep -v ': OK$' | head -n 5 | tr '\n' ' ')"
fi

# The files the officer's cover note names have the SHA-256 it names.
bad=""
refs=$(grep -o '{"path":"[^"]*","role":"[^"]*","sha256":"[0-9a-f]*"}' cover-note.json 2>/dev/null)
[ -n "$refs" ] || bad=" (cover-note.json names no file)"
for ref in $refs; do
    f=$(echo "$ref" | sed 's/^{"path":"\([^"]*\)".*/\1/')
    want=$(echo "$ref" | sed 's/.*"sha256":"\([0-9a-f]*\)"}$/\1/')
    [ -r "$f" ] && [ "$(sha "$f")" = "$want" ] || bad="$bad $f"
done
if [ -z "$bad" ]; then
    pass "cover note files" "every file cover-note.json names has the SHA-256 it names."
else
    fail "cover note files" "these differ from cover-note.json:$bad"
fi

# The log ties the manifest, the cover note and both signatures to the
# issuance, and request.json to the request as received.
issued=$(entry regulator_bundle_issued)
ok=1
for pair in "manifest_sha256 manifest.json" "cover_note_sha256 cover-note.json" \
            "officer_signature_sha256 cover-note.officer.sig" "countersignature_sha256 countersignature.sig"; do
    set -- $pair
    grep -q "\"$1\":\"$(sha "$2")\"" "${issued:-/dev/null}" || ok=0
done
if [ "$ok" = 1 ]; then
    pass issuance "the regulator_bundle_issued entry ($issued) names manifest.json, cover-note.json and both signatures."
else
    fail issuance "the regulator_bundle_issued entry does not name these files' SHA-256."
fi
received=$(entry regulator_request_received)
if grep -q "\"request_sha256\":\"$(sha request.json)\"" "${received:-/dev/null}"; then
    pass request "request.json is the request logged in $received."
else
    fail request "request.json is not the request the regulator_request_received entry names."
fi
digests=$DIGEST
[ -n "$digests" ] || digests=$(sed -n 's/.*"production_digests":\[\([^]]*\)\].*/\1/p' request.json | tr -d '"' | tr ',' ' ')
if [ -z "$digests" ]; then
    echo "NOT CHECKED  production digest: the request named none; give one: sh verify.sh sha256:<digest>"
fi
pushed=$(grep -l "\"kind\":\"release_pushed\"" log/entries/*.json 2>/dev/null)
for digest in $digests; do
    if ! echo "$digest" | grep -Eq '^sha256:[0-9a-f]{64}$'; then
        fail "production digest" "$digest is not sha256: and 64 lower-case hex digits."
    elif [ -n "$pushed" ] && grep -Fq "\"$digest\"" $pushed; then
        pass "production digest" "$digest is an artefact of the release pushed ($pushed)."
    else
        fail "production digest" "$digest is not an artefact of the release in this bundle."
    fi
done

# The officer's key is the one the cover note and its registration name.
okey=$(openssl pkey -pubin -in keys/officer.pem -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
registered=$(grep -l "\"kind\":\"officer_key_registered\"" log/entries/*.json 2>/dev/null)
if grep -Fq "\"public_key_sha256\":\"$okey\"" cover-note.json && [ -n "$registered" ] && grep -Fq "\"public_key_sha256\":\"$okey\"" $registered; then
    pass "officer key" "keys/officer.pem (SHA-256 $okey) is the key the cover note names and the log registered."
else
    fail "officer key" "keys/officer.pem is not the key the cover note names and the log registered."
fi

# 2. The officer signed the exact bytes of cover-note.json.
if [ "@OFFICER_ALG@" = ecdsa-p256 ]; then
    out=$(openssl dgst -sha256 -verify keys/officer.pem -signature cover-note.officer.sig cover-note.json 2>&1)
else
    out=$(openssl pkeyutl -verify -pubin -inkey keys/officer.pem -rawin -in cover-note.json -sigfile cover-note.officer.sig 2>&1)
fi
case "$out" in
    *"Verified OK"*|*"Signature Verified Successfully"*) pass "officer signature" "@OFFICER@ signed cover-note.json with keys/officer.pem (@OFFICER_ALG@).";;
    *) fail "officer signature" "cover-note.officer.sig does not verify over cover-note.json with keys/officer.pem: $(echo "$out" | head -n 1)";;
esac

# 3. The platform countersigned the SHA-256 of both.
want="evident-countersignature/v1
cover-note.json sha256 $(sha cover-note.json)
cover-note.officer.sig sha256 $(sha cover-note.officer.sig)"
if [ "$(cat countersignature.txt)" = "$want" ]; then
    pass "countersigned message" "countersignature.txt names the SHA-256 of cover-note.json and of the officer's signature."
else
    fail "countersigned message" "countersignature.txt does not name the SHA-256 of cover-note.json and cover-note.officer.sig."
fi
out=$(openssl pkeyutl -verify -pubin -inkey keys/platform.pem -rawin -in countersignature.txt -sigfile countersignature.sig 2>&1)
case "$out" in
    *"Signature Verified Successfully"*) pass countersignature "the platform key (keys/platform.pem, Ed25519) signed countersignature.txt.";;
    *) fail countersignature "countersignature.sig does not verify with keys/platform.pem: $(echo "$out" | head -n 1)";;
esac

# 4. Every RFC 3161 token chains to keys/tsa-chain.pem and stamps the
# exact bytes it names.
stamp() {
    if out=$(openssl ts -verify -data "$1" -in "$2" -CAfile keys/tsa-chain.pem 2>&1) && echo "$out" | grep -q '^Verification: OK'; then
        when=$(openssl ts -reply -in "$2" -text 2>/dev/null | sed -n 's/^Time stamp: //p')
        pass timestamp "$2 stamps $1 at $when."
    else
        fail timestamp "$2 is not a valid token over $1: $(echo "$out" | tail -n 1)"
    fi
}
stamp cover-note.officer.sig cover-note.officer.sig.tsr
stamp countersignature.sig countersignature.sig.tsr
stamp log/checkpoint log/checkpoint.tsr

# 5. Every SBOM and VEX document: its signature by the tenant's export key,
# and the token over that signature.
@DOCUMENTS@
# The keys these checks trusted, to compare with ones obtained elsewhere.
fp() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
echo "Keys this script took from the bundle (compare them with independent copies):"
echo "  officer   keys/officer.pem   SHA-256 $(fp keys/officer.pem)"
echo "  platform  keys/platform.pem  SHA-256 $(fp keys/platform.pem)"
echo "  TSA root  keys/tsa-chain.pem $(awk '/BEGIN CERT/{c=""} {c=c $0 "\n"} END{printf "%s", c}' keys/tsa-chain.pem | openssl x509 -noout -fingerprint -sha256 2>/dev/null)"
echo "  log       keys/log.vkey      $(cat keys/log.vkey)"
if [ -z "$failed" ]; then
    echo "All checks passed. Not checked here: the checkpoint's signature and the Merkle proofs in log/ (run: bin/evident-verify bundle . --trust-log-key <the log key you trust>)."
    exit 0
fi
echo "FAILED:$failed"
exit 1
