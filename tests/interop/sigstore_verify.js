// Verifies an Evident Sigstore bundle with @sigstore/verify 3.1.1 (keyed, offline).
//
//   node sigstore_verify.js BUNDLE ARTIFACT|- PUBKEY.pem TSA_CHAIN.pem LOG_VKEY
//
// ARTIFACT is the export file for a signature bundle, "-" for an attestation
// (DSSE) bundle. LOG_VKEY is the log's C2SP verifier key string.
//
// @sigstore/verify checks tlog entries in two steps: inclusion (checkpoint
// signature and Merkle path, verifyTLogInclusion) and the body
// (verifyTLogBody), which only knows Rekor's kinds (hashedrekord, dsse,
// intoto). An Evident log entry is an Evident event, so step 2 cannot judge
// it. This script therefore runs the library's own verifyTLogInclusion on
// the entry, then the library's Verifier on the bundle without tlogEntries
// (tlog threshold 0) to check the signature and the RFC 3161 timestamp.
// That the entry names this export is checked by evident-verify.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { verifyTLogInclusion } = require('@sigstore/verify/dist/tlog');

const [bundlePath, artifactPath, keyPath, chainPath, vkey] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
const bundle = bundleFromJSON(json);
const keyPem = fs.readFileSync(keyPath, 'utf8');
const hint = bundle.verificationMaterial.content.publicKey.hint;

// The TSA chain, leaf first, as a trusted-root timestamp authority.
const certs = fs.readFileSync(chainPath, 'utf8')
  .split(/(?<=-----END CERTIFICATE-----\n)/)
  .filter((p) => p.includes('BEGIN CERTIFICATE'))
  .map((p) => ({ rawBytes: new crypto.X509Certificate(p).raw }));

// The log key: "<name>+<hex id>+<base64(0x01 || ed25519 key)>".
// The key's base64 may itself contain '+': split off only the first two fields.
const [name, id, ...rest] = vkey.trim().split('+');
const keyB64 = rest.join('+');
if (!/^[0-9a-f]{8}$/.test(id)) throw new Error(`not a verifier key: ${vkey}`);
const raw = Buffer.from(keyB64, 'base64');
if (raw[0] !== 1) throw new Error('log key is not Ed25519');
const logKeyDer = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]);
const logId = crypto.createHash('sha256')
  .update(Buffer.concat([Buffer.from(name + '\n'), Buffer.from([1]), raw.subarray(1)]))
  .digest();

const tlogs = [{
  baseURL: 'https://' + name,
  logID: logId,
  publicKey: crypto.createPublicKey({ key: logKeyDer, format: 'der', type: 'spki' }),
  validFor: { start: new Date(0), end: new Date(8640000000000000) },
}];

const entries = bundle.verificationMaterial.tlogEntries;
if (entries.length !== 1) throw new Error(`expected one log entry, got ${entries.length}`);
verifyTLogInclusion(entries[0], tlogs);
console.log(`ok inclusion: entry ${entries[0].logIndex} under a checkpoint signed by ${name}`);

const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  ctlogs: [],
  certificateAuthorities: [],
  timestampAuthorities: [{
    subject: { organization: 'Evident', commonName: 'Evident TSA' },
    uri: '',
    certChain: { certificates: certs },
    validFor: { start: new Date(0) },
  }],
};
const keys = {
  [hint]: { rawBytes: crypto.createPublicKey(keyPem).export({ type: 'spki', format: 'der' }) },
};
const trust = toTrustMaterial(trustedRoot, keys);
const withoutLog = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } };
const artifact = artifactPath === '-' ? undefined : fs.readFileSync(artifactPath);
const entity = toSignedEntity(withoutLog, artifact);
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
verifier.verify(entity);
console.log(`ok signature and RFC 3161 timestamp: key ${hint}`);
