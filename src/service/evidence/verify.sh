#!/bin/sh
# verify.sh: check an SBOM export from Evident with nothing but sha256sum
# and openssl.
#
#   Release:  @RELEASE@
#   File:     @FILE@
#   SHA-256:  @SHA256@
#   Key id:   @KEY_ID@
#
# Usage: sh verify.sh [FILE]
# The kit files are looked for next to this script; override them with the
# variables SIG, TSR, KEY and CHAIN. Exit status 0 means every check passed.

set -u
HERE=$(dirname "$0")
FILE=${1:-"$HERE/@FILE@"}
SIG=${SIG:-"$HERE/@FILE@.sig"}
TSR=${TSR:-"$HERE/@FILE@.sig.tsr"}
KEY=${KEY:-"$HERE/pubkey.pem"}
CHAIN=${CHAIN:-"$HERE/tsa-chain.pem"}
EXPECT_SHA256=@SHA256@
EXPECT_KEY_SHA256=@KEY_SHA256@

failed=""
pass() { printf 'PASS  %-10s %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %-10s %s\n' "$1" "$2"; failed="$failed $1"; }

for tool in sha256sum openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "verify.sh needs $tool, which is not installed." >&2
        exit 2
    fi
done
for f in "$FILE" "$SIG" "$KEY" "$CHAIN"; do
    if [ ! -r "$f" ]; then
        echo "verify.sh: cannot read $f" >&2
        exit 2
    fi
done

echo "Checking $FILE"

# 1. The file is byte for byte the export Evident issued.
got=$(sha256sum < "$FILE" | cut -d' ' -f1)
if [ "$got" = "$EXPECT_SHA256" ]; then
    pass digest "the file's SHA-256 is $got, the digest Evident issued."
else
    fail digest "the file's SHA-256 is $got, but Evident issued $EXPECT_SHA256: this is not the file that was signed."
fi

# 2. The public key is the tenant key that signed this export.
keysum=$(openssl pkey -pubin -in "$KEY" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$keysum" = "$EXPECT_KEY_SHA256" ]; then
    pass key "pubkey.pem is key @KEY_ID@ (SHA-256 of the key: $keysum)."
else
    fail key "pubkey.pem is not key @KEY_ID@ (its SHA-256 is $keysum, expected $EXPECT_KEY_SHA256)."
fi

# 3. The signature over the file verifies with that key.
if out=$(openssl dgst -sha256 -verify "$KEY" -signature "$SIG" "$FILE" 2>&1) && [ "$out" = "Verified OK" ]; then
    pass signature "the ECDSA P-256 signature in $(basename "$SIG") verifies over the file with pubkey.pem."
else
    fail signature "the signature in $(basename "$SIG") does not verify over the file with pubkey.pem: $(echo "$out" | head -n 1)"
fi

# 4. The RFC 3161 token proves the signature existed at the stamped time.
if [ ! -r "$TSR" ]; then
    fail timestamp "there is no RFC 3161 token ($(basename "$TSR")): the time-stamping authority was unavailable when this kit was made. Download the kit again later to get one."
elif out=$(openssl ts -verify -data "$SIG" -in "$TSR" -CAfile "$CHAIN" 2>&1) && echo "$out" | grep -q '^Verification: OK'; then
    when=$(openssl ts -reply -in "$TSR" -text 2>/dev/null | sed -n 's/^Time stamp: //p')
    pass timestamp "the RFC 3161 token is valid for the signature; the TSA in tsa-chain.pem stamped it at $when."
else
    fail timestamp "the RFC 3161 token in $(basename "$TSR") does not verify for the signature with tsa-chain.pem: $(echo "$out" | grep -v '^Using' | tail -n 1)"
fi

if [ -z "$failed" ]; then
    echo "RESULT: verified. The file is the export Evident issued for @RELEASE@, signed by key @KEY_ID@, and the signature existed at the stamped time."
    exit 0
fi
echo "RESULT: NOT verified; failed:$failed"
exit 1
