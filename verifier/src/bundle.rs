//! Signed-export evidence: Sigstore bundles (v0.3 JSON), the DSSE envelope
//! and in-toto Statement v1 that pin an export to the artefact digest, and
//! the predicate of that statement.
//!
//! A Sigstore bundle carries either a message signature or a DSSE envelope,
//! never both, so each export has two bundles:
//! - the *signature bundle*: ECDSA-SHA256 by the tenant key over the exact
//!   exported bytes (`messageSignature`), which `openssl dgst` also checks;
//! - the *attestation bundle*: a DSSE envelope around an in-toto Statement v1
//!   whose subjects are the release's artefact digests and whose predicate
//!   ([`ExportPredicate`]) names the export's digest and format.
//!
//! Both carry the export's entry in the tenant's log (`tlogEntries`, with an
//! RFC 9162 inclusion proof and the signed checkpoint it is proved against)
//! and an RFC 3161 token over their signature. The bundle types are the
//! Sigstore project's own (`sigstore_protobuf_specs`), so the JSON is the
//! canonical protobuf-JSON form that other Sigstore clients read.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sigstore_protobuf_specs::{
    dev::sigstore::{
        bundle::v1::{
            bundle, verification_material, Bundle, TimestampVerificationData, VerificationMaterial,
        },
        common::v1::{
            HashAlgorithm, HashOutput, LogId, MessageSignature, PublicKeyIdentifier,
            Rfc3161SignedTimestamp,
        },
        rekor::v1::{Checkpoint, InclusionProof, KindVersion, TransparencyLogEntry},
    },
    io::intoto::{Envelope, Signature},
};

/// The media type of a v0.3 bundle.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of an Evident export attestation.
pub const PREDICATE_TYPE: &str = "https://evident.invalid/attestations/sbom-export/v1";
/// `kindVersion.kind` of an Evident log entry in `tlogEntries`.
pub const LOG_ENTRY_KIND: &str = "evident-log-event";
/// `kindVersion.version` of an Evident log entry.
pub const LOG_ENTRY_VERSION: &str = "1";

/// Re-exports of the Sigstore bundle types this module builds.
pub use sigstore_protobuf_specs::dev::sigstore::bundle::v1::Bundle as SigstoreBundle;

/// An in-toto Statement v1 about an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The release's artefacts: name and `{"sha256": hex}`.
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What was exported.
    pub predicate: ExportPredicate,
}

/// One subject: an artefact of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    /// The artefact's file name as pushed.
    pub name: String,
    /// `{"sha256": "<hex>"}`.
    pub digest: BTreeMap<String, String>,
}

/// The predicate `https://evident.invalid/attestations/sbom-export/v1`: the
/// tenant states that this SBOM export describes the subjects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportPredicate {
    /// The tenant (vendor) slug.
    pub tenant: String,
    /// Product name.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// Release revision, from 1.
    pub revision: u32,
    /// When the release revision was pushed, RFC 3339 UTC.
    pub pushed_at: String,
    /// The export this statement is about.
    pub export: ExportRef,
    /// The SBOM as pushed by CI, from which the export was written.
    pub source: SourceRef,
}

/// The exported document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRef {
    /// `cyclonedx-json`, `cyclonedx-xml`, `spdx-json` or `spdx-tv`.
    pub format: String,
    /// Its media type.
    pub media_type: String,
    /// The file name it is served under.
    pub file_name: String,
    /// `{"sha256": "<hex>"}` of the exact bytes served.
    pub digest: BTreeMap<String, String>,
}

/// The pushed SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceRef {
    /// Detected format of the pushed document, e.g. `CycloneDX 1.6 JSON`.
    pub format: String,
    /// `{"sha256": "<hex>"}` of the bytes as pushed.
    pub digest: BTreeMap<String, String>,
}

/// `{"sha256": hex}`.
pub fn sha256_map(hex: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), hex.to_owned())])
}

/// DSSE pre-authentication encoding (DSSE v1 protocol):
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The key id Evident gives an export key: the first 16 hex digits of
/// SHA-256 over its SubjectPublicKeyInfo DER.
pub fn key_id(spki_der: &[u8]) -> String {
    hex::encode(&Sha256::digest(spki_der)[..8])
}

/// The `logId` of a tenant log: SHA-256 over the C2SP key-hash input
/// (`name ‖ "\n" ‖ 0x01 ‖ Ed25519 key`), so its first four bytes are the key
/// id on the checkpoint's signature line.
pub fn log_id(name: &str, ed25519_public: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(ed25519_public);
    h.finalize().to_vec()
}

/// The log evidence of one export.
#[derive(Debug, Clone)]
pub struct LogEvidence {
    /// Leaf index.
    pub index: u64,
    /// The leaf bytes (the event's RFC 8785 JSON).
    pub leaf: Vec<u8>,
    /// When the event was recorded, Unix seconds.
    pub integrated_time: i64,
    /// See [`log_id`].
    pub log_id: Vec<u8>,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// Root hash at that size.
    pub root: [u8; 32],
    /// Inclusion proof hashes, leaf to root.
    pub hashes: Vec<[u8; 32]>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
}

fn tlog_entry(l: &LogEvidence) -> TransparencyLogEntry {
    TransparencyLogEntry {
        log_index: l.index as i64,
        log_id: Some(LogId {
            key_id: l.log_id.clone(),
        }),
        kind_version: Some(KindVersion {
            kind: LOG_ENTRY_KIND.into(),
            version: LOG_ENTRY_VERSION.into(),
        }),
        integrated_time: l.integrated_time,
        inclusion_promise: None,
        inclusion_proof: Some(InclusionProof {
            log_index: l.index as i64,
            root_hash: l.root.to_vec(),
            tree_size: l.tree_size as i64,
            hashes: l.hashes.iter().map(|h| h.to_vec()).collect(),
            checkpoint: Some(Checkpoint {
                envelope: l.checkpoint.clone(),
            }),
        }),
        canonicalized_body: l.leaf.clone(),
    }
}

fn material(
    key_hint: &str,
    log: Option<&LogEvidence>,
    token: Option<Vec<u8>>,
) -> VerificationMaterial {
    VerificationMaterial {
        tlog_entries: log.map(tlog_entry).into_iter().collect(),
        // No token (the TSA was unavailable): no timestamp data at all.
        timestamp_verification_data: token.map(|t| TimestampVerificationData {
            rfc3161_timestamps: vec![Rfc3161SignedTimestamp {
                signed_timestamp: t,
            }],
        }),
        content: Some(verification_material::Content::PublicKey(
            PublicKeyIdentifier {
                hint: key_hint.into(),
            },
        )),
    }
}

/// The signature bundle of an export.
pub fn signature_bundle(
    key_hint: &str,
    file_sha256: &[u8],
    signature: &[u8],
    log: Option<&LogEvidence>,
    token: Option<Vec<u8>>,
) -> Bundle {
    Bundle {
        media_type: MEDIA_TYPE.into(),
        verification_material: Some(material(key_hint, log, token)),
        content: Some(bundle::Content::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2256 as i32,
                digest: file_sha256.to_vec(),
            }),
            signature: signature.to_vec(),
        })),
    }
}

/// The attestation bundle of an export.
pub fn attestation_bundle(
    key_hint: &str,
    payload: &[u8],
    signature: &[u8],
    log: Option<&LogEvidence>,
    token: Option<Vec<u8>>,
) -> Bundle {
    Bundle {
        media_type: MEDIA_TYPE.into(),
        verification_material: Some(material(key_hint, log, token)),
        content: Some(bundle::Content::DsseEnvelope(Envelope {
            payload: payload.to_vec(),
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            signatures: vec![Signature {
                sig: signature.to_vec(),
                keyid: key_hint.into(),
            }],
        })),
    }
}

/// A bundle as pretty JSON (what the server serves and the kit holds).
pub fn to_json(b: &Bundle) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(b).expect("bundle types always serialise");
    v.push(b'\n');
    v
}

/// Reads a bundle, requiring the v0.3 media type.
pub fn from_json(bytes: &[u8]) -> Result<Bundle, String> {
    let b: Bundle =
        serde_json::from_slice(bytes).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
    if b.media_type != MEDIA_TYPE {
        return Err(format!(
            "bundle media type is {:?}, expected {MEDIA_TYPE}",
            b.media_type
        ));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn bundles_round_trip_as_canonical_protobuf_json() {
        let log = LogEvidence {
            index: 3,
            leaf: b"{\"a\":1}".to_vec(),
            integrated_time: 1_700_000_000,
            log_id: vec![7; 32],
            tree_size: 4,
            root: [1; 32],
            hashes: vec![[2; 32], [3; 32]],
            checkpoint: "o\n4\nAQ==\n\n\u{2014} o AAAA\n".into(),
        };
        let b = signature_bundle("k1", &[9; 32], b"sig", Some(&log), Some(vec![0x30, 0]));
        let json = to_json(&b);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["mediaType"], MEDIA_TYPE);
        assert_eq!(
            v["messageSignature"]["messageDigest"]["algorithm"],
            "SHA2_256"
        );
        assert_eq!(v["verificationMaterial"]["publicKey"]["hint"], "k1");
        let e = &v["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(e["logIndex"], "3");
        assert_eq!(e["kindVersion"]["kind"], LOG_ENTRY_KIND);
        assert_eq!(e["inclusionProof"]["treeSize"], "4");
        assert_eq!(from_json(&json).unwrap(), b);
        let a = attestation_bundle("k1", b"{}", b"sig", None, None);
        let v: serde_json::Value = serde_json::from_slice(&to_json(&a)).unwrap();
        assert_eq!(v["dsseEnvelope"]["payloadType"], IN_TOTO_PAYLOAD_TYPE);
        assert_eq!(v["dsseEnvelope"]["payload"], "e30=");
    }

    #[test]
    fn wrong_media_type_is_refused() {
        let mut b = attestation_bundle("k", b"{}", b"s", None, None);
        b.media_type = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
        assert!(from_json(&to_json(&b)).unwrap_err().contains("media type"));
    }
}
