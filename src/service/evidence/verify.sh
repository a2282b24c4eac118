#!/bin/sh
# verify.sh: check a document from Evident (an SBOM export, or a VEX
# document) with nothing but sha256sum and openssl.
#
#   Release:  @RELEASE@
#   File:     @FILE@
#   SHA-256:  @SHA256@
#   Key id:   @KEY_ID@
#
# Usage: sh verify.sh [FILE]
# The kit files are looked for next to this script; override them with the
# variables SIG, TSR, KEY and CHAIN. Exit status 0 means every check passed.
# When the kit carries VEX documents, each is checked the same way after
# the export (its own .sig and .sig.tsr, and the key that signed it).

set -u
HERE=$(dirname "$0")
FILE=${1:-"$HERE/@FILE@"}
SIG=${SIG:-"$HERE/@FILE@.sig"}
TSR=${TSR:-"$HERE/@FILE@.sig.tsr"}
KEY=${KEY:-"$HERE/pubkey.pem"}
CHAIN=${CHAIN:-"$HERE/tsa-chain.pem"}

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

# check FILE SIG TSR KEY EXPECT_SHA256 KEY_ID EXPECT_KEY_SHA256
check() {
    file=$1 sig=$2 tsr=$3 key=$4 want=$5 key_id=$6 want_key=$7
    echo "Checking $file"
    if [ ! -r "$file" ]; then
        fail digest "$(basename "$file") is missing: the kit is not complete."
        return
    fi

    # 1. The file is byte for byte the document Evident issued.
    got=$(sha256sum < "$file" | cut -d' ' -f1)
    if [ "$got" = "$want" ]; then
        pass digest "the SHA-256 of $(basename "$file") is $got, the digest Evident issued."
    else
        fail digest "the SHA-256 of $(basename "$file") is $got, but Evident issued $want: this is not the file that was signed."
    fi

    # 2. The public key is the tenant key that signed it.
    keysum=$(openssl pkey -pubin -in "$key" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ "$keysum" = "$want_key" ]; then
        pass key "$(basename "$key") is key $key_id (SHA-256 of the key: $keysum)."
    else
        fail key "$(basename "$key") is not key $key_id (its SHA-256 is $keysum, expected $want_key)."
    fi

    # 3. The signature over the file verifies with that key.
    if [ ! -r "$sig" ]; then
        fail signature "$(basename "$sig") is missing: the kit is not complete."
    elif out=$(openssl dgst -sha256 -verify "$key" -signature "$sig" "$file" 2>&1) && [ "$out" = "Verified OK" ]; then
        pass signature "the ECDSA P-256 signature in $(basename "$sig") verifies over $(basename "$file") with $(basename "$key")."
    else
        fail signature "the signature in $(basename "$sig") does not verify over $(basename "$file") with $(basename "$key"): $(echo "$out" | head -n 1)"
    fi

    # 4. The RFC 3161 token proves the signature existed at the stamped time.
    if [ ! -r "$tsr" ]; then
        fail timestamp "there is no RFC 3161 token ($(basename "$tsr")): the time-stamping authority was unavailable when this kit was made. Download the kit again later to get one."
    elif out=$(openssl ts -verify -data "$sig" -in "$tsr" -CAfile "$CHAIN" 2>&1) && echo "$out" | grep -q '^Verification: OK'; then
        when=$(openssl ts -reply -in "$tsr" -text 2>/dev/null | sed -n 's/^Time stamp: //p')
        pass timestamp "the RFC 3161 token is valid for $(basename "$sig"); the TSA in $(basename "$CHAIN") stamped it at $when."
    else
        fail timestamp "the RFC 3161 token in $(basename "$tsr") does not verify for $(basename "$sig") with $(basename "$CHAIN"): $(echo "$out" | grep -v '^Using' | tail -n 1)"
    fi
}

check "$FILE" "$SIG" "$TSR" "$KEY" @SHA256@ @KEY_ID@ @KEY_SHA256@
@VEX@
if [ -z "$failed" ]; then
    echo "RESULT: verified. @SUMMARY@"
    exit 0
fi
echo "RESULT: NOT verified; failed:$failed"
exit 1
