//! `evident-verify export`: every check on a downloaded export, offline.
//!
//! [`verify_export`] runs the checks in a fixed order and returns each with
//! its outcome, so the binary can print ✓/✗ lines and a test can assert
//! which named check failed. A check that needs an input the caller did not
//! give (the TSA chain, the log key) is reported as not checked, never as
//! passed.

use p256::{
    ecdsa::{signature::Verifier, Signature, VerifyingKey},
    pkcs8::{DecodePublicKey, EncodePublicKey},
};
use sha2::{Digest, Sha256};
use sigstore_protobuf_specs::dev::sigstore::{
    bundle::v1::{bundle::Content, verification_material, Bundle},
    rekor::v1::TransparencyLogEntry,
};
use x509_cert::Certificate;

use crate::{
    bundle::{
        key_id, pae, Statement, IN_TOTO_PAYLOAD_TYPE, LOG_ENTRY_KIND, PREDICATE_TYPE,
        STATEMENT_TYPE,
    },
    checkpoint::{open_checkpoint, Checkpoint},
    merkle,
    note::NoteVerifier,
    tsp,
};

/// The names of the checks, in the order they run.
pub const CHECKS: [&str; 8] = [
    "file digest",
    "signature",
    "in-toto statement",
    "artefact digest",
    "log entry",
    "inclusion proof",
    "checkpoint signature",
    "timestamp",
];

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It held; what was established.
    Pass(String),
    /// It failed; why.
    Fail(String),
    /// It could not run for want of an input; which.
    NotChecked(String),
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// One of [`CHECKS`].
    pub name: &'static str,
    /// The outcome.
    pub outcome: Outcome,
}

/// What the caller gives.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The downloaded export bytes.
    pub file: &'a [u8],
    /// The bundles (signature and attestation; order does not matter).
    pub bundles: &'a [Bundle],
    /// The tenant's public key, PEM.
    pub key_pem: &'a str,
    /// Trusted TSA certificates (`--tsa-chain`).
    pub tsa_chain: Option<&'a [Certificate]>,
    /// The log's checkpoint key (`--log-key`).
    pub log_key: Option<&'a NoteVerifier>,
    /// An artefact digest the attestation must name (`sha256:<hex>`).
    pub artefact_digest: Option<&'a str>,
    /// The file's SHA-256, when the caller computed it already.
    pub file_sha256: Option<[u8; 32]>,
}

/// The overall result: true only if no check failed and none was left unchecked.
pub fn all_passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| matches!(c.outcome, Outcome::Pass(_)))
}

/// A bundle and the signature bytes its timestamp covers.
type Signed<'a> = Option<(&'a Bundle, &'a [u8])>;

struct Ctx<'a> {
    i: &'a Inputs<'a>,
    sha: [u8; 32],
    key: Result<(VerifyingKey, String), String>,
    message: Option<(&'a Bundle, &'a [u8], &'a [u8])>,
    dsse: Option<(&'a Bundle, &'a [u8], &'a str, &'a [u8])>,
}

fn hint(b: &Bundle) -> Option<&str> {
    match b.verification_material.as_ref()?.content.as_ref()? {
        verification_material::Content::PublicKey(p) => Some(&p.hint),
        _ => None,
    }
}

fn tlog(b: &Bundle) -> Option<&TransparencyLogEntry> {
    b.verification_material.as_ref()?.tlog_entries.first()
}

fn tokens(b: &Bundle) -> Vec<&[u8]> {
    b.verification_material
        .as_ref()
        .and_then(|m| m.timestamp_verification_data.as_ref())
        .map(|t| {
            t.rfc3161_timestamps
                .iter()
                .map(|s| s.signed_timestamp.as_slice())
                .collect()
        })
        .unwrap_or_default()
}

fn load_key(pem: &str) -> Result<(VerifyingKey, String), String> {
    let k = VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| format!("the public key is not an ECDSA P-256 PEM key: {e}"))?;
    let der = k
        .to_public_key_der()
        .map_err(|e| format!("the public key cannot be encoded: {e}"))?;
    Ok((k, key_id(der.as_bytes())))
}

fn verify_sig(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> Result<(), String> {
    let s = Signature::from_der(sig).map_err(|e| format!("the signature is not DER ECDSA: {e}"))?;
    key.verify(msg, &s)
        .map_err(|_| "the signature does not verify with the given key".to_owned())
}

impl Ctx<'_> {
    fn key(&self, bundle_hint: Option<&str>) -> Result<&VerifyingKey, String> {
        let (k, id) = self.key.as_ref().map_err(|e| e.clone())?;
        match bundle_hint {
            Some(h) if !h.is_empty() && h != id => Err(format!(
                "the bundle names key {h}, the given key is {id} (see GET …/keys for the key that signed)"
            )),
            _ => Ok(k),
        }
    }

    fn file_digest(&self) -> Outcome {
        let Some((b, digest, _)) = self.message else {
            return Outcome::Fail(
                "no signature bundle (one with messageSignature) was given".into(),
            );
        };
        let _ = b;
        if digest != self.sha {
            return Outcome::Fail(format!(
                "the file's SHA-256 is {}, the bundle signs {}",
                hex::encode(self.sha),
                hex::encode(digest)
            ));
        }
        Outcome::Pass(format!("SHA-256 {}", hex::encode(self.sha)))
    }

    fn signature(&self) -> Outcome {
        let Some((b, _, sig)) = self.message else {
            return Outcome::Fail("no signature bundle was given".into());
        };
        let r = self
            .key(hint(b))
            .and_then(|k| verify_sig(k, self.i.file, sig));
        match r {
            Ok(()) => Outcome::Pass(format!(
                "ECDSA P-256 SHA-256 over the file, key {}",
                self.key.as_ref().map(|k| k.1.as_str()).unwrap_or("?")
            )),
            Err(e) => Outcome::Fail(e),
        }
    }

    fn statement(&self) -> Result<Statement, String> {
        let (b, payload, ptype, sig) = self
            .dsse
            .ok_or("no attestation bundle (one with dsseEnvelope) was given")?;
        if ptype != IN_TOTO_PAYLOAD_TYPE {
            return Err(format!(
                "the DSSE payload type is {ptype:?}, not {IN_TOTO_PAYLOAD_TYPE}"
            ));
        }
        let k = self.key(hint(b))?;
        verify_sig(k, &pae(ptype, payload), sig)
            .map_err(|e| format!("DSSE signature over the payload: {e}"))?;
        let st: Statement = serde_json::from_slice(payload)
            .map_err(|e| format!("the payload is not an Evident export statement: {e}"))?;
        if st.type_ != STATEMENT_TYPE {
            return Err(format!(
                "the statement type is {:?}, not {STATEMENT_TYPE}",
                st.type_
            ));
        }
        if st.predicate_type != PREDICATE_TYPE {
            return Err(format!(
                "the predicate type is {:?}, not {PREDICATE_TYPE}",
                st.predicate_type
            ));
        }
        let named = st
            .predicate
            .export
            .digest
            .get("sha256")
            .cloned()
            .unwrap_or_default();
        if named != hex::encode(self.sha) {
            return Err(format!(
                "the statement names export sha256:{named}, the file is sha256:{}",
                hex::encode(self.sha)
            ));
        }
        Ok(st)
    }

    fn in_toto(&self, st: &Result<Statement, String>) -> Outcome {
        match st {
            Ok(st) => Outcome::Pass(format!(
                "DSSE signature holds; {} {} revision {} exported as {}",
                st.predicate.product,
                st.predicate.tag,
                st.predicate.revision,
                st.predicate.export.format
            )),
            Err(e) => Outcome::Fail(e.clone()),
        }
    }

    fn artefact(&self, st: &Result<Statement, String>) -> Outcome {
        let Ok(st) = st else {
            return Outcome::Fail("no verified statement to read the subjects from".into());
        };
        let subjects: Vec<String> = st
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
            .collect();
        if subjects.is_empty() {
            return Outcome::Fail("the statement names no artefact digest".into());
        }
        match self.i.artefact_digest {
            Some(want) => {
                let want = want.trim().to_ascii_lowercase();
                if subjects.contains(&want) {
                    Outcome::Pass(format!("the export is pinned to {want}"))
                } else {
                    Outcome::Fail(format!(
                        "{want} is not a subject; the statement pins the export to {}",
                        subjects.join(", ")
                    ))
                }
            }
            None => Outcome::Pass(format!(
                "pinned to {} (give --artefact-digest to require yours)",
                subjects.join(", ")
            )),
        }
    }

    fn entry(&self) -> Option<&TransparencyLogEntry> {
        self.message
            .and_then(|m| tlog(m.0))
            .or_else(|| self.dsse.and_then(|d| tlog(d.0)))
    }

    fn log_entry(&self) -> Outcome {
        let Some(e) = self.entry() else {
            return Outcome::Fail("the bundles carry no log entry".into());
        };
        let kind = e
            .kind_version
            .as_ref()
            .map(|k| k.kind.as_str())
            .unwrap_or("");
        if kind != LOG_ENTRY_KIND {
            return Outcome::Fail(format!(
                "the log entry kind is {kind:?}, not {LOG_ENTRY_KIND}"
            ));
        }
        let v: serde_json::Value = match serde_json::from_slice(&e.canonicalized_body) {
            Ok(v) => v,
            Err(err) => return Outcome::Fail(format!("the log entry is not JSON: {err}")),
        };
        let ev = &v["event"];
        if ev["kind"] != "export_issued" {
            return Outcome::Fail(format!(
                "the log entry is a {} event, not export_issued",
                ev["kind"]
            ));
        }
        let sha = hex::encode(self.sha);
        if ev["sha256"] != sha.as_str() {
            return Outcome::Fail(format!(
                "the log entry records export {}, the file is {sha}",
                ev["sha256"]
            ));
        }
        if let (Some((_, payload, _, _)), Some(logged)) =
            (self.dsse, ev["statement_sha256"].as_str())
        {
            let got = hex::encode(Sha256::digest(payload));
            if logged != got {
                return Outcome::Fail(format!(
                    "the log entry records statement {logged}, the bundle's statement is {got}"
                ));
            }
        }
        // The entry must be the issuance of this very release and format,
        // not another release's entry for bytes that happen to match.
        if let Some((_, payload, _, _)) = self.dsse {
            if let Ok(st) = serde_json::from_slice::<Statement>(payload) {
                let p = &st.predicate;
                let same = ev["product"] == p.product.as_str()
                    && ev["tag"] == p.tag.as_str()
                    && ev["revision"] == p.revision
                    && ev["format"] == p.export.format.as_str()
                    && v["tenant"] == p.tenant.as_str();
                if !same {
                    return Outcome::Fail(format!(
                        "the log entry is for {}/{} {} revision {} {}, the statement for {}/{} {} revision {} {}",
                        v["tenant"].as_str().unwrap_or("?"),
                        ev["product"].as_str().unwrap_or("?"),
                        ev["tag"].as_str().unwrap_or("?"),
                        ev["revision"],
                        ev["format"].as_str().unwrap_or("?"),
                        p.tenant,
                        p.product,
                        p.tag,
                        p.revision,
                        p.export.format
                    ));
                }
            }
        }
        if let (Ok((_, id)), Some(logged)) = (&self.key, ev["key_id"].as_str()) {
            if logged != id {
                return Outcome::Fail(format!(
                    "the log entry records key {logged}, the given key is {id}"
                ));
            }
        }
        Outcome::Pass(format!(
            "entry {} of {}'s log: {} {} revision {} {}, issued {}",
            e.log_index,
            v["tenant"].as_str().unwrap_or("?"),
            ev["product"].as_str().unwrap_or("?"),
            ev["tag"].as_str().unwrap_or("?"),
            ev["revision"],
            ev["format"].as_str().unwrap_or("?"),
            v["time"].as_str().unwrap_or("?")
        ))
    }

    fn checkpoint_text(&self) -> Result<(&TransparencyLogEntry, &str), String> {
        let e = self.entry().ok_or("the bundles carry no log entry")?;
        let p = e
            .inclusion_proof
            .as_ref()
            .ok_or("the log entry has no inclusion proof")?;
        let cp = p
            .checkpoint
            .as_ref()
            .ok_or("the inclusion proof has no checkpoint")?;
        Ok((e, &cp.envelope))
    }

    fn inclusion(&self) -> Outcome {
        let r = (|| -> Result<String, String> {
            let (e, note) = self.checkpoint_text()?;
            let p = e.inclusion_proof.as_ref().ok_or("no inclusion proof")?;
            let body = note
                .split_once("\n\n")
                .map(|(b, _)| format!("{b}\n"))
                .ok_or("the checkpoint is not a signed note")?;
            let cp = Checkpoint::parse_text(&body).map_err(|e| format!("checkpoint: {e}"))?;
            if p.tree_size < 0 || p.log_index < 0 || cp.size != p.tree_size as u64 {
                return Err(format!(
                    "the proof is for tree size {}, the checkpoint has size {}",
                    p.tree_size, cp.size
                ));
            }
            if p.root_hash != cp.root {
                return Err("the proof's root hash differs from the checkpoint's".into());
            }
            let hashes: Vec<merkle::Hash> = p
                .hashes
                .iter()
                .map(|h| {
                    h.as_slice()
                        .try_into()
                        .map_err(|_| "a proof hash is not 32 bytes".to_owned())
                })
                .collect::<Result<_, _>>()?;
            let leaf = merkle::leaf_hash(&e.canonicalized_body);
            merkle::verify_inclusion(p.log_index as u64, cp.size, &leaf, &hashes, &cp.root)
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "entry {} is in the tree of size {} ({} hashes)",
                p.log_index,
                cp.size,
                hashes.len()
            ))
        })();
        match r {
            Ok(s) => Outcome::Pass(s),
            Err(e) => Outcome::Fail(e),
        }
    }

    fn checkpoint_sig(&self) -> Outcome {
        let Some(key) = self.i.log_key else {
            return Outcome::NotChecked(
                "give --log-key (the log's verifier key) to check the checkpoint signature".into(),
            );
        };
        match self.checkpoint_text() {
            Err(e) => Outcome::Fail(e),
            Ok((e, note)) => match open_checkpoint(note, key, None) {
                Ok(cp) => {
                    // The entry and the statement each name their tenant:
                    // both must be the log's own (origin `<host>/<tenant>`).
                    let entry_tenant =
                        serde_json::from_slice::<serde_json::Value>(&e.canonicalized_body)
                            .ok()
                            .and_then(|v| v["tenant"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                    if let Err(err) =
                        crate::checkpoint::check_entry_tenant(&cp.origin, &entry_tenant)
                    {
                        return Outcome::Fail(format!("log entry: {err}"));
                    }
                    if let Some((_, payload, _, _)) = self.dsse {
                        if let Ok(st) = serde_json::from_slice::<Statement>(payload) {
                            if let Err(err) = crate::checkpoint::check_entry_tenant(
                                &cp.origin,
                                &st.predicate.tenant,
                            ) {
                                return Outcome::Fail(format!("in-toto statement: {err}"));
                            }
                        }
                    }
                    Outcome::Pass(format!(
                        "signed by {}+{:08x} (origin {}, size {})",
                        key.name(),
                        key.key_id(),
                        cp.origin,
                        cp.size
                    ))
                }
                Err(e) => Outcome::Fail(format!("checkpoint: {e}")),
            },
        }
    }

    fn timestamp(&self) -> Outcome {
        let Some(chain) = self.i.tsa_chain else {
            return Outcome::NotChecked(
                "give --tsa-chain (the TSA's PEM chain) to check the RFC 3161 token".into(),
            );
        };
        let mut done = Vec::new();
        let signed: [(&str, Signed); 2] = [
            ("signature", self.message.map(|(b, _, s)| (b, s))),
            ("DSSE signature", self.dsse.map(|(b, _, _, s)| (b, s))),
        ];
        for (what, item) in signed {
            let Some((b, sig)) = item else { continue };
            let toks = tokens(b);
            let Some(tok) = toks.first() else {
                return Outcome::Fail(format!("the bundle with the {what} carries no RFC 3161 timestamp (the TSA was unavailable when it was issued)"));
            };
            match tsp::verify_token(tok, sig, chain) {
                Ok(s) => done.push(format!(
                    "{what} stamped at {} by {}",
                    rfc3339(s.gen_time_unix),
                    s.tsa_subject
                )),
                Err(e) => return Outcome::Fail(format!("RFC 3161 token over the {what}: {e}")),
            }
        }
        if done.is_empty() {
            return Outcome::Fail("no bundle to take a timestamp from".into());
        }
        Outcome::Pass(done.join("; "))
    }
}

fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{unix} s after the epoch"))
}

/// The check a kit's `<file>.cosigned.tlog-proof` adds (`witnessed`): the
/// bundles' issuance entry is at the proof's index in the tree of a
/// checkpoint signed by the log's key, and that checkpoint carries at least
/// `min` valid cosignatures by `witnesses` (C2SP tlog-cosignature).
pub fn witnessed(
    bundles: &[Bundle],
    proof_text: &str,
    log_key: Option<&NoteVerifier>,
    witnesses: &[crate::witness::WitnessKey],
    min: usize,
) -> Check {
    let r = (|| -> Result<String, String> {
        let key = log_key.ok_or("give --log-key to check the cosigned proof")?;
        let e = bundles
            .iter()
            .find_map(tlog)
            .ok_or("the bundles carry no log entry")?;
        let p = crate::proof::TlogProof::parse(proof_text)
            .map_err(|e| format!("the cosigned proof: {e}"))?;
        if e.log_index < 0 || p.index != e.log_index as u64 {
            return Err(format!(
                "the cosigned proof is for entry {}, the bundles' entry is {}",
                p.index, e.log_index
            ));
        }
        let cp = open_checkpoint(&p.checkpoint, key, None)
            .map_err(|e| format!("the cosigned checkpoint: {e}"))?;
        merkle::verify_inclusion(
            p.index,
            cp.size,
            &merkle::leaf_hash(&e.canonicalized_body),
            &p.hashes,
            &cp.root,
        )
        .map_err(|e| format!("the entry is not in the cosigned tree: {e}"))?;
        let cosigs = crate::witness::require(&p.checkpoint, witnesses, min)?;
        let names: Vec<&str> = cosigs.iter().map(|c| c.witness.as_str()).collect();
        Ok(format!(
            "entry {} is in the tree of size {}, cosigned by {}",
            p.index,
            cp.size,
            names.join(", ")
        ))
    })();
    Check {
        name: "witnessed",
        outcome: match r {
            Ok(s) => Outcome::Pass(s),
            Err(e) => Outcome::Fail(e),
        },
    }
}

/// Runs every check; see [`CHECKS`] for the names and order.
pub fn verify_export(i: &Inputs) -> Vec<Check> {
    let mut message = None;
    let mut dsse = None;
    for b in i.bundles {
        match &b.content {
            Some(Content::MessageSignature(m)) if message.is_none() => {
                let d = m
                    .message_digest
                    .as_ref()
                    .map(|d| d.digest.as_slice())
                    .unwrap_or(&[]);
                message = Some((b, d, m.signature.as_slice()));
            }
            Some(Content::DsseEnvelope(e)) if dsse.is_none() => {
                let sig = e
                    .signatures
                    .first()
                    .map(|s| s.sig.as_slice())
                    .unwrap_or(&[]);
                dsse = Some((b, e.payload.as_slice(), e.payload_type.as_str(), sig));
            }
            _ => {}
        }
    }
    let ctx = Ctx {
        i,
        sha: i
            .file_sha256
            .unwrap_or_else(|| Sha256::digest(i.file).into()),
        key: load_key(i.key_pem),
        message,
        dsse,
    };
    let st = ctx.statement();
    let outcomes = [
        ctx.file_digest(),
        ctx.signature(),
        ctx.in_toto(&st),
        ctx.artefact(&st),
        ctx.log_entry(),
        ctx.inclusion(),
        ctx.checkpoint_sig(),
        ctx.timestamp(),
    ];
    CHECKS
        .iter()
        .zip(outcomes)
        .map(|(name, outcome)| Check { name, outcome })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{
        attestation_bundle, sha256_map, signature_bundle, ExportPredicate, ExportRef, LogEvidence,
        SourceRef, Subject,
    };
    use crate::note::NoteSigner;
    use base64::Engine as _;
    use p256::ecdsa::{signature::Signer, DerSignature, SigningKey};
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    const FILE: &[u8] = b"{\"bomFormat\":\"CycloneDX\"}\n";
    const ARTEFACT: &str = "abababababababababababababababababababababababababababababababab";

    struct Fixture {
        pem: String,
        bundles: Vec<Bundle>,
        log: NoteVerifier,
    }

    fn fixture() -> Fixture {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let kid = key_id(key.verifying_key().to_public_key_der().unwrap().as_bytes());
        let sha = hex::encode(Sha256::digest(FILE));
        let st = Statement {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: "shop".into(),
                digest: sha256_map(ARTEFACT),
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: ExportPredicate {
                tenant: "acme".into(),
                product: "shop".into(),
                tag: "v1".into(),
                revision: 1,
                pushed_at: "2026-01-01T00:00:00Z".into(),
                export: ExportRef {
                    format: "cyclonedx-json".into(),
                    media_type: "application/vnd.cyclonedx+json".into(),
                    file_name: "sbom.cdx.json".into(),
                    digest: sha256_map(&sha),
                },
                source: SourceRef {
                    format: "CycloneDX 1.6 JSON".into(),
                    digest: sha256_map(&"c".repeat(64)),
                },
            },
        };
        let payload = serde_json::to_vec(&st).unwrap();
        let leaf0 = br#"{"event":{"kind":"tenant_created"}}"#.to_vec();
        let leaf1 = serde_json::to_vec(&serde_json::json!({
            "tenant": "acme", "time": "2026-01-01T00:00:01Z",
            "event": {"kind": "export_issued", "product": "shop", "tag": "v1", "revision": 1,
                      "format": "cyclonedx-json", "sha256": sha, "key_id": kid,
                      "statement_sha256": hex::encode(Sha256::digest(&payload))}
        }))
        .unwrap();
        let root = merkle::node_hash(&merkle::leaf_hash(&leaf0), &merkle::leaf_hash(&leaf1));
        let signer = NoteSigner::new(
            "evident.test/acme",
            ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
        )
        .unwrap();
        let cp = Checkpoint {
            origin: "evident.test/acme".into(),
            size: 2,
            root,
            extensions: vec![],
        };
        let log = LogEvidence {
            index: 1,
            leaf: leaf1,
            integrated_time: 0,
            log_id: vec![0; 32],
            tree_size: 2,
            root,
            hashes: vec![merkle::leaf_hash(&leaf0)],
            checkpoint: signer.sign(&cp.to_text()).unwrap(),
        };
        let sig: DerSignature = key.sign(FILE);
        let dsse: DerSignature = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
        Fixture {
            pem,
            bundles: vec![
                signature_bundle(
                    &kid,
                    &Sha256::digest(FILE),
                    sig.as_bytes(),
                    Some(&log),
                    None,
                ),
                attestation_bundle(&kid, &payload, dsse.as_bytes(), Some(&log), None),
            ],
            log: signer.verifier().clone(),
        }
    }

    fn run(f: &Fixture, file: &[u8], artefact: Option<&str>) -> Vec<Check> {
        verify_export(&Inputs {
            file_sha256: None,
            file,
            bundles: &f.bundles,
            key_pem: &f.pem,
            tsa_chain: None,
            log_key: Some(&f.log),
            artefact_digest: artefact,
        })
    }

    /// The names of the checks that did not pass.
    fn failed(checks: &[Check]) -> Vec<&'static str> {
        checks
            .iter()
            .filter(|c| !matches!(c.outcome, Outcome::Pass(_)))
            .map(|c| c.name)
            .collect()
    }

    /// A kit's `<file>.cosigned.tlog-proof`: entry 1 of a two-entry log
    /// whose second leaf is `leaf1`, signed by the log key `seed` as
    /// `origin`, cosigned by witness `w`.
    fn cosigned_proof(
        origin: &str,
        seed: u8,
        leaf1: &[u8],
        w: &ed25519_dalek::SigningKey,
    ) -> String {
        let leaf0 = merkle::leaf_hash(br#"{"event":{"kind":"tenant_created"}}"#);
        let root = merkle::node_hash(&leaf0, &merkle::leaf_hash(leaf1));
        let signer =
            NoteSigner::new(origin, ed25519_dalek::SigningKey::from_bytes(&[seed; 32])).unwrap();
        let text = Checkpoint {
            origin: origin.into(),
            size: 2,
            root,
            extensions: vec![],
        }
        .to_text();
        let line = crate::witness::tests::cosign(w, "w1.example", &text, 1_700_000_000);
        crate::proof::TlogProof {
            extra: None,
            index: 1,
            hashes: vec![leaf0],
            checkpoint: format!("{}{line}", signer.sign(&text).unwrap()),
        }
        .to_text()
    }

    /// The cosigned proof checks the kit's own entry under its own log key:
    /// another tenant's proof (its log, its key, the same witness), another
    /// release's proof from the same log, or a cosignature changed by a
    /// byte each fail the `witnessed` check, and say why.
    #[test]
    fn a_cosigned_proof_from_another_tenant_or_release_fails_by_name() {
        let f = fixture();
        let w = ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]);
        let wk = crate::witness::WitnessKey::new("w1.example", w.verifying_key());
        let leaf = tlog(&f.bundles[0]).unwrap().canonicalized_body.clone();
        let check =
            |text: &str| witnessed(&f.bundles, text, Some(&f.log), std::slice::from_ref(&wk), 1);
        let own = cosigned_proof("evident.test/acme", 9, &leaf, &w);
        let c = check(&own);
        assert!(
            matches!(&c.outcome, Outcome::Pass(m) if m.contains("cosigned by w1.example")),
            "{c:?}"
        );
        let fail = |text: &str, want: &str| {
            let c = check(text);
            assert_eq!(c.name, "witnessed");
            assert!(
                matches!(&c.outcome, Outcome::Fail(m) if m.contains(want)),
                "{want}: {c:?}"
            );
        };
        // Globex's proof for its own entry 1, the same witness cosigning.
        let globex_leaf = String::from_utf8(leaf.clone())
            .unwrap()
            .replace("\"acme\"", "\"globex\"");
        assert_ne!(globex_leaf.as_bytes(), leaf.as_slice());
        fail(
            &cosigned_proof("evident.test/globex", 10, globex_leaf.as_bytes(), &w),
            "the cosigned checkpoint: checkpoint origin \"evident.test/globex\" is not the name of the log key \"evident.test/acme\"",
        );
        // Even signed by acme's key (as if the origin were renamed), globex's
        // tree does not hold acme's entry.
        fail(
            &cosigned_proof("evident.test/acme", 9, globex_leaf.as_bytes(), &w),
            "not in the cosigned tree",
        );
        // Acme's proof of another release's entry (index 2, a tree of 3):
        // the index is not the bundles' entry.
        let other = String::from_utf8(leaf.clone())
            .unwrap()
            .replace("\"v1\"", "\"v2\"");
        let (l0, l1, l2) = (
            merkle::leaf_hash(br#"{"event":{"kind":"tenant_created"}}"#),
            merkle::leaf_hash(&leaf),
            merkle::leaf_hash(other.as_bytes()),
        );
        let text = Checkpoint {
            origin: "evident.test/acme".into(),
            size: 3,
            root: merkle::node_hash(&merkle::node_hash(&l0, &l1), &l2),
            extensions: vec![],
        }
        .to_text();
        let signer = NoteSigner::new(
            "evident.test/acme",
            ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
        )
        .unwrap();
        let line = crate::witness::tests::cosign(&w, "w1.example", &text, 1_700_000_000);
        let release_2 = crate::proof::TlogProof {
            extra: None,
            index: 2,
            hashes: vec![merkle::node_hash(&l0, &l1)],
            checkpoint: format!("{}{line}", signer.sign(&text).unwrap()),
        }
        .to_text();
        fail(
            &release_2,
            "the cosigned proof is for entry 2, the bundles' entry is 1",
        );
        // The same release's entry placed in a tree where it is not (a
        // proof made up for another leaf at its index).
        fail(
            &cosigned_proof("evident.test/acme", 9, other.as_bytes(), &w),
            "not in the cosigned tree",
        );
        // One byte of the witness's signature changed; the line dropped.
        let mut lines: Vec<String> = own.lines().map(str::to_owned).collect();
        let last = lines.last_mut().unwrap();
        let at = last.len() - 10;
        let b = if &last[at..=at] == "A" { "B" } else { "A" };
        last.replace_range(at..=at, b);
        fail(
            &(lines.join("\n") + "\n"),
            "does not verify over this checkpoint",
        );
        lines.pop();
        fail(&(lines.join("\n") + "\n"), "0 valid cosignature(s)");
    }

    #[test]
    fn an_untouched_export_passes_all_but_the_unrequested_timestamp() {
        let f = fixture();
        let checks = run(&f, FILE, Some(&format!("sha256:{ARTEFACT}")));
        assert_eq!(failed(&checks), ["timestamp"], "{checks:#?}");
        assert!(matches!(checks[7].outcome, Outcome::NotChecked(_)));
        assert!(!all_passed(&checks));
    }

    #[test]
    fn each_tampered_part_fails_the_check_that_names_it() {
        let f = fixture();
        let mut file = FILE.to_vec();
        file[3] ^= 1;
        let c = run(&f, &file, None);
        assert!(failed(&c).contains(&"file digest"), "{c:#?}");

        let c = run(&f, FILE, Some(&format!("sha256:{}", "1".repeat(64))));
        assert_eq!(failed(&c), ["artefact digest", "timestamp"]);

        let tamper = |edit: &dyn Fn(&mut Vec<Bundle>)| {
            let mut g = fixture();
            edit(&mut g.bundles);
            failed(&run(&g, FILE, None))
        };
        let sig = tamper(&|b| {
            if let Some(Content::MessageSignature(m)) = &mut b[0].content {
                let n = m.signature.len();
                m.signature[n - 2] ^= 1;
            }
        });
        assert_eq!(sig, ["signature", "timestamp"]);
        let payload = tamper(&|b| {
            if let Some(Content::DsseEnvelope(e)) = &mut b[1].content {
                e.payload[10] ^= 1;
            }
        });
        assert!(payload.contains(&"in-toto statement"), "{payload:?}");
        let entry =
            |b: &mut Bundle| b.verification_material.as_mut().unwrap().tlog_entries[0].clone();
        let proof = tamper(&|b| {
            let mut e = entry(&mut b[0]);
            e.inclusion_proof.as_mut().unwrap().hashes[0][0] ^= 1;
            b[0].verification_material.as_mut().unwrap().tlog_entries[0] = e;
        });
        assert_eq!(proof, ["inclusion proof", "timestamp"]);
        let cp = tamper(&|b| {
            let mut e = entry(&mut b[0]);
            let c = e
                .inclusion_proof
                .as_mut()
                .unwrap()
                .checkpoint
                .as_mut()
                .unwrap();
            let (body, sig) = c.envelope.split_once("\n\n").unwrap();
            let (line, b64) = sig.trim_end().rsplit_once(' ').unwrap();
            let mut raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            let n = raw.len();
            raw[n - 1] ^= 1;
            let flipped = format!(
                "{line} {}\n",
                base64::engine::general_purpose::STANDARD.encode(raw)
            );
            c.envelope = format!("{body}\n\n{flipped}");
            b[0].verification_material.as_mut().unwrap().tlog_entries[0] = e;
        });
        assert_eq!(cp, ["checkpoint signature", "timestamp"]);
        let body = tamper(&|b| {
            let mut e = entry(&mut b[0]);
            e.canonicalized_body = e
                .canonicalized_body
                .iter()
                .map(|&c| if c == b'1' { b'2' } else { c })
                .collect();
            b[0].verification_material.as_mut().unwrap().tlog_entries[0] = e;
        });
        assert!(body.contains(&"inclusion proof"), "{body:?}");
    }

    #[test]
    fn another_key_is_named_as_the_reason() {
        let mut f = fixture();
        f.pem = SigningKey::from_slice(&[8u8; 32])
            .unwrap()
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let c = run(&f, FILE, None);
        let Outcome::Fail(why) = &c[1].outcome else {
            panic!("{c:#?}")
        };
        assert!(why.contains("the bundle names key"), "{why}");
    }
}
