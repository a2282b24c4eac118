//! Regulator bundles: the cover note an officer signs and the platform
//! countersigns, the bundle's manifest and log evidence, and
//! [`verify_bundle`], every check `evident-verify bundle` runs offline.
//!
//! A bundle is a directory (shipped as a deterministic `.tar.gz`) of:
//!
//! | path | what |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: every file below except `log/`, with SHA-256, size and role |
//! | `request.json` | the request as recorded, RFC 8785 (its SHA-256 is in `regulator_request_received`) |
//! | `cover-note.json`, `cover-note.html` | [`CoverNote`], RFC 8785, and a rendering of it |
//! | `cover-note.officer.sig`, `….tsr` | the officer's signature over the exact bytes of `cover-note.json`, and an RFC 3161 token over that signature |
//! | `countersignature.txt`, `countersignature.sig`, `….tsr` | the [`countersigned_message`], the platform's Ed25519 signature over it, and a token over that signature |
//! | `sbom/…`, `vex/…` | each document with `.sig`, `.sig.tsr`, `.sigstore.json`, `.intoto.sigstore.json` as served |
//! | `provenance/provenance.dsse.json` | the build-provenance envelope exactly as pushed, when there is one |
//! | `keys/…` | the log's verifier key, the export keys, the officer's key, the platform key, the TSA chain |
//! | `bin/evident-verify`, `bin/evident-verify.sha256` | this verifier, built with the server |
//! | `VERIFY.md`, `verify.sh` | the checks in plain words; the checks `sha256sum` and `openssl` can make |
//! | `log/checkpoint`, `log/checkpoint.tsr` | the one signed checkpoint every proof is against, and a token over it |
//! | `log/proofs.json`, `log/entries/<index>.json` | [`LogProofs`] and the entries they prove |
//!
//! `log/` is outside the manifest because the `regulator_bundle_issued`
//! entry, which names the manifest's SHA-256, is itself one of the proved
//! entries: every byte there is covered by the checkpoint's signature, the
//! inclusion and consistency proofs, and the token.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    bundle::{self as fmt, Statement},
    checkpoint::open_checkpoint,
    export::{self, Outcome},
    merkle,
    note::NoteVerifier,
    officer::OfficerKey,
    proof::decode_named,
    tsp,
};

/// `format` of a cover note.
pub const COVER_NOTE_FORMAT: &str = "evident-cover-note/v1";
/// `format` of a bundle manifest.
pub const MANIFEST_FORMAT: &str = "evident-regulator-bundle/v1";
/// `format` of `log/proofs.json`.
pub const PROOFS_FORMAT: &str = "evident-bundle-proofs/v1";

/// The authority, as the cover note names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverAuthority {
    /// Its name.
    pub name: String,
    /// ISO 3166-1 alpha-2 (or `EU`).
    pub country: String,
    /// `market_surveillance`, `csirt`, `sector_regulator` or `other`.
    pub kind: String,
}

/// The request a cover note answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverRequest {
    /// The request's id.
    pub id: String,
    /// Hex SHA-256 of `request.json` (as `regulator_request_received` names it).
    pub sha256: String,
    /// Who asks.
    pub authority: CoverAuthority,
    /// The authority's reference.
    pub notice_reference: String,
    /// The legal basis it cites.
    pub legal_basis: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    /// `YYYY-MM-DD`.
    pub deadline: String,
}

/// An artefact of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverArtefact {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

/// The release revision the bundle is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverRelease {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// Its artefacts as pushed.
    pub artefacts: Vec<CoverArtefact>,
    /// The index of its `release_pushed` entry.
    pub release_index: u64,
}

/// The officer who signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverOfficer {
    /// The officer's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// `ecdsa-p256` or `ed25519`.
    pub algorithm: String,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub public_key_sha256: String,
    /// The index of its `officer_key_registered` entry.
    pub registered_index: u64,
}

/// The build provenance, when one was pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverProvenance {
    /// The file.
    pub path: String,
    /// Hex SHA-256 of the envelope's RFC 8785 form (as `release_pushed`
    /// names it).
    pub sha256: String,
    /// `subjects`: its in-toto subjects were checked against the artefacts
    /// at push; its DSSE signature was not verified (no provenance key is
    /// registered with the tenant).
    pub checked: String,
}

/// An enclosed file, by path, digest and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Path inside the bundle.
    pub path: String,
    /// Hex SHA-256.
    pub sha256: String,
    /// What it is (see the manifest's roles).
    pub role: String,
}

/// A log entry that backs the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// Its index.
    pub index: u64,
    /// Its kind.
    pub kind: String,
}

/// A checkpoint by size and root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash, base64.
    pub root_hash: String,
}

/// The cover note: what the officer signs. RFC 8785 JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverNote {
    /// Always [`COVER_NOTE_FORMAT`].
    pub format: String,
    /// The tenant (vendor) slug.
    pub tenant: String,
    /// The request answered.
    pub request: CoverRequest,
    /// The production digests the authority observed.
    pub production_digests: Vec<String>,
    /// The release revision they resolve to.
    pub release: CoverRelease,
    /// The officer who signs.
    pub officer: CoverOfficer,
    /// The build provenance, if one was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<CoverProvenance>,
    /// Every enclosed evidence file.
    pub files: Vec<FileRef>,
    /// The log entries that back them.
    pub log_entries: Vec<EntryRef>,
    /// The checkpoint they were proved against when the note was prepared.
    pub checkpoint: CheckpointRef,
    /// What the officer states.
    pub statement: String,
    /// RFC 3339.
    pub prepared_at: String,
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path inside the bundle.
    pub path: String,
    /// Hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// What it is: `request`, `cover-note`, `cover-note-html`,
    /// `officer-signature`, `officer-signature-timestamp`,
    /// `countersignature-message`, `countersignature`,
    /// `countersignature-timestamp`, `sbom`, `vex`, `signature`,
    /// `signature-timestamp`, `sigstore-bundle`, `attestation-bundle`,
    /// `provenance`, `log-key`, `export-key`, `officer-key`,
    /// `platform-key`, `tsa-chain`, `verifier`, `verifier-sha256`,
    /// `verifier-sbom`, `readme`, `script`, `checksums`.
    pub role: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The tenant slug.
    pub tenant: String,
    /// The request's id.
    pub request_id: String,
    /// Every file but `manifest.json` and `log/`, by path.
    pub files: Vec<ManifestFile>,
}

/// An entry and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvedEntry {
    /// Its index; the leaf is `log/entries/<index>.json`.
    pub index: u64,
    /// RFC 9162 inclusion proof against the bundle's checkpoint, base64.
    pub inclusion: Vec<String>,
}

/// A consistency proof from an earlier checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// The earlier size.
    pub from_size: u64,
    /// RFC 9162 consistency proof to the bundle's checkpoint, base64.
    pub hashes: Vec<String>,
}

/// `log/proofs.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogProofs {
    /// Always [`PROOFS_FORMAT`].
    pub format: String,
    /// The size of `log/checkpoint`.
    pub checkpoint_size: u64,
    /// Every entry that backs the bundle.
    pub entries: Vec<ProvedEntry>,
    /// From each checkpoint an enclosed Sigstore bundle or the cover note
    /// names.
    pub consistency: Vec<Consistency>,
}

/// The exact text the platform countersigns: the SHA-256 of the cover note
/// and of the officer's signature over it.
pub fn countersigned_message(cover_note_sha256: &str, officer_signature_sha256: &str) -> String {
    format!(
        "evident-countersignature/v1\ncover-note.json sha256 {cover_note_sha256}\ncover-note.officer.sig sha256 {officer_signature_sha256}\n"
    )
}

/// Hex SHA-256.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The leaf file of an entry.
pub fn entry_path(index: u64) -> String {
    format!("log/entries/{index}.json")
}

/// One named check of a bundle, and the file it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleCheck {
    /// What was checked.
    pub name: String,
    /// The file it is about, if one.
    pub file: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
}

/// What the caller gives.
#[derive(Debug)]
pub struct BundleInputs<'a> {
    /// The bundle's files, by path inside it.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// Digests observed in production to check (`sha256:<hex>`); the
    /// request's own when empty.
    pub production_digests: &'a [String],
    /// The log key, from a source other than the bundle.
    pub trusted_log_key: Option<&'a NoteVerifier>,
}

/// All checks passed (none failed, none left unchecked).
pub fn all_passed(checks: &[BundleCheck]) -> bool {
    checks.iter().all(|c| matches!(c.outcome, Outcome::Pass(_)))
}

struct Run<'a> {
    files: &'a BTreeMap<String, Vec<u8>>,
    /// Every file's SHA-256, computed once (on two threads).
    digests: BTreeMap<&'a str, [u8; 32]>,
    out: Vec<BundleCheck>,
}

/// The SHA-256 of every file, the large ones spread over two threads.
fn digests(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<&str, [u8; 32]> {
    let mut all: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    all.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));
    let mut a: Vec<(&str, &[u8])> = Vec::new();
    let mut b: Vec<(&str, &[u8])> = Vec::new();
    let (mut la, mut lb) = (0usize, 0usize);
    for f in all {
        if la <= lb {
            la += f.1.len();
            a.push(f);
        } else {
            lb += f.1.len();
            b.push(f);
        }
    }
    fn hash<'a>(v: Vec<(&'a str, &[u8])>) -> Vec<(&'a str, [u8; 32])> {
        v.into_iter()
            .map(|(k, b)| (k, Sha256::digest(b).into()))
            .collect()
    }
    std::thread::scope(|s| {
        let other = s.spawn(|| hash(b));
        let mut out: BTreeMap<&str, [u8; 32]> = hash(a).into_iter().collect();
        // (A panic while hashing is carried on, not read as missing files.)
        out.extend(
            other
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
        );
        out
    })
}

impl Run<'_> {
    /// The SHA-256 (hex) of a file of the bundle.
    fn sha(&self, path: &str) -> Result<String, String> {
        self.digests
            .get(path)
            .map(hex::encode)
            .ok_or_else(|| format!("{path} is missing"))
    }

    fn push(&mut self, name: &str, file: Option<&str>, r: Result<String, String>) {
        self.out.push(BundleCheck {
            name: name.to_owned(),
            file: file.map(str::to_owned),
            outcome: match r {
                Ok(t) => Outcome::Pass(t),
                Err(t) => Outcome::Fail(t),
            },
        });
    }

    fn get(&self, path: &str) -> Result<&[u8], String> {
        self.files
            .get(path)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("{path} is missing"))
    }

    fn text(&self, path: &str) -> Result<&str, String> {
        std::str::from_utf8(self.get(path)?).map_err(|_| format!("{path} is not UTF-8"))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        serde_json::from_slice(self.get(path)?).map_err(|e| format!("{path}: {e}"))
    }
}

/// The enclosed entries, parsed, by index.
type Entries = BTreeMap<u64, Value>;

fn kind(e: &Value) -> &str {
    e["event"]["kind"].as_str().unwrap_or("")
}

/// Runs every check of a bundle. Each failure names the file and the
/// check; a bundle passes only if every check passes.
pub fn verify_bundle(i: &BundleInputs) -> Vec<BundleCheck> {
    let mut r = Run {
        files: i.files,
        digests: digests(i.files),
        out: Vec::new(),
    };

    // 1. The manifest: every file listed, with its digest; none missing,
    // none extra.
    let manifest: Option<Manifest> = match r.json::<Manifest>("manifest.json") {
        Ok(m) if m.format == MANIFEST_FORMAT => Some(m),
        Ok(m) => {
            r.push(
                "manifest",
                Some("manifest.json"),
                Err(format!("format {:?} is not {MANIFEST_FORMAT}", m.format)),
            );
            None
        }
        Err(e) => {
            r.push("manifest", Some("manifest.json"), Err(e));
            None
        }
    };
    let Some(manifest) = manifest else {
        return r.out;
    };
    let proofs: Result<LogProofs, String> = r.json::<LogProofs>("log/proofs.json").and_then(|p| {
        // RFC 8785 only: nothing outside the signed and proved data (no
        // whitespace, no order) may vary unnoticed.
        let canonical = serde_jcs::to_vec(&p).map_err(|e| e.to_string())?;
        if r.get("log/proofs.json")? != canonical.as_slice() {
            return Err("log/proofs.json is not in RFC 8785 form".into());
        }
        if p.format == PROOFS_FORMAT {
            Ok(p)
        } else {
            Err(format!(
                "log/proofs.json: format {:?} is not {PROOFS_FORMAT}",
                p.format
            ))
        }
    });
    let mut expected: BTreeSet<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    expected.insert("manifest.json".into());
    for p in ["log/checkpoint", "log/checkpoint.tsr", "log/proofs.json"] {
        expected.insert(p.into());
    }
    if let Ok(p) = &proofs {
        for e in &p.entries {
            expected.insert(entry_path(e.index));
        }
    }
    let mut manifest_ok = true;
    for f in &manifest.files {
        let res = match i.files.get(&f.path) {
            None => Err(format!("{} is listed in the manifest but missing", f.path)),
            Some(b)
                if r.sha(&f.path).ok().as_deref() != Some(f.sha256.as_str())
                    || b.len() as u64 != f.size =>
            {
                Err(format!(
                    "{}: SHA-256 {} ({} bytes), the manifest says {} ({} bytes)",
                    f.path,
                    r.sha(&f.path).unwrap_or_default(),
                    b.len(),
                    f.sha256,
                    f.size
                ))
            }
            Some(_) => continue,
        };
        manifest_ok = false;
        r.push("manifest", Some(&f.path), res);
    }
    for (path, _) in i.files.iter() {
        if !expected.contains(path) {
            manifest_ok = false;
            r.push(
                "manifest",
                Some(path),
                Err(format!(
                    "{path} is in the bundle but not in the manifest (an extra file)"
                )),
            );
        }
    }
    for p in &expected {
        if !i.files.contains_key(p) && !manifest.files.iter().any(|f| &f.path == p) {
            manifest_ok = false;
            r.push("manifest", Some(p), Err(format!("{p} is missing")));
        }
    }
    if manifest_ok {
        r.push(
            "manifest",
            Some("manifest.json"),
            Ok(format!(
                "{} files, each with the SHA-256 the manifest lists; none missing, none extra",
                manifest.files.len()
            )),
        );
    }
    let role = |role: &str| -> Vec<&ManifestFile> {
        manifest.files.iter().filter(|f| f.role == role).collect()
    };

    // 2. The log: key, checkpoint, timestamp, every inclusion proof.
    let bundled_key = r
        .text("keys/log.vkey")
        .map_err(|e| e.to_string())
        .and_then(|t| NoteVerifier::parse(t.trim()).map_err(|e| format!("keys/log.vkey: {e}")));
    let log_key: Option<NoteVerifier> = match (i.trusted_log_key, &bundled_key) {
        (Some(k), Ok(b)) if k.to_vkey() != b.to_vkey() => {
            r.push(
                "log key",
                Some("keys/log.vkey"),
                Err(format!(
                    "the bundle's log key {} is not the trusted key {}",
                    b.to_vkey(),
                    k.to_vkey()
                )),
            );
            Some(k.clone())
        }
        (Some(k), _) => {
            r.push(
                "log key",
                Some("keys/log.vkey"),
                Ok(format!("{} (pinned with --trust-log-key)", k.to_vkey())),
            );
            Some(k.clone())
        }
        (None, Ok(b)) => {
            r.push("log key", Some("keys/log.vkey"), Ok(format!("{} (taken from the bundle itself: pin it with --trust-log-key from a source you trust)", b.to_vkey())));
            Some(b.clone())
        }
        (None, Err(e)) => {
            r.push("log key", Some("keys/log.vkey"), Err(e.clone()));
            None
        }
    };
    let Some(log_key) = log_key else {
        return r.out;
    };
    let cp = r.text("log/checkpoint").and_then(|t| {
        open_checkpoint(t, &log_key, None).map_err(|e| format!("log/checkpoint: {e}"))
    });
    let cp = match (cp, &proofs) {
        (Ok(c), Ok(p)) if c.size == p.checkpoint_size => {
            r.push(
                "checkpoint",
                Some("log/checkpoint"),
                Ok(format!(
                    "{} at size {}, signed by {}",
                    c.origin,
                    c.size,
                    log_key.name()
                )),
            );
            Some(c)
        }
        (Ok(c), Ok(p)) => {
            r.push(
                "checkpoint",
                Some("log/checkpoint"),
                Err(format!(
                    "the checkpoint has size {}, log/proofs.json proves against {}",
                    c.size, p.checkpoint_size
                )),
            );
            None
        }
        (Ok(_), Err(e)) => {
            r.push("checkpoint", Some("log/proofs.json"), Err(e.clone()));
            None
        }
        (Err(e), _) => {
            r.push("checkpoint", Some("log/checkpoint"), Err(e));
            None
        }
    };
    let tsa: Result<Vec<x509_cert::Certificate>, String> = r
        .get("keys/tsa-chain.pem")
        .and_then(|b| tsp::certs_from_pem(b).map_err(|e| format!("keys/tsa-chain.pem: {e}")));
    let stamp = |r: &Run, token: &str, over: &str| -> Result<String, String> {
        let chain = tsa.as_ref().map_err(Clone::clone)?;
        let s = tsp::verify_token(r.get(token)?, r.get(over)?, chain)
            .map_err(|e| format!("{token}: {e}"))?;
        Ok(format!(
            "{over} existed at Unix time {} (TSA {})",
            s.gen_time_unix, s.tsa_subject
        ))
    };
    let res = stamp(&r, "log/checkpoint.tsr", "log/checkpoint");
    r.push("checkpoint timestamp", Some("log/checkpoint.tsr"), res);
    let (Some(cp), Ok(proofs)) = (cp, proofs) else {
        return r.out;
    };
    let mut entries: Entries = BTreeMap::new();
    let mut incl_ok = true;
    for e in &proofs.entries {
        let path = entry_path(e.index);
        let res = r.get(&path).and_then(|leaf| {
            let hashes = decode_named(&e.inclusion, &format!("log/proofs.json: the inclusion proof of entry {}", e.index))?;
            merkle::verify_inclusion(e.index, cp.size, &merkle::leaf_hash(leaf), &hashes, &cp.root)
                .map_err(|err| format!("{path}: entry {} is not in the checkpoint's tree by its proof in log/proofs.json: {err}", e.index))?;
            let v: Value = serde_json::from_slice(leaf).map_err(|err| format!("{path}: {err}"))?;
            if v["tenant"] != manifest.tenant.as_str() {
                return Err(format!("{path}: the entry is {}'s, the bundle {}'s", v["tenant"], manifest.tenant));
            }
            crate::checkpoint::check_entry_tenant(&cp.origin, &manifest.tenant).map_err(|err| err.to_string())?;
            Ok(v)
        });
        match res {
            Ok(v) => {
                entries.insert(e.index, v);
            }
            Err(err) => {
                incl_ok = false;
                r.push("inclusion proof", Some(&path), Err(err));
            }
        }
    }
    if incl_ok {
        r.push(
            "inclusion proofs",
            Some("log/proofs.json"),
            Ok(format!(
                "{} entries in the tree of the checkpoint of size {}",
                entries.len(),
                cp.size
            )),
        );
    }
    let find = |k: &str, pred: &dyn Fn(&Value) -> bool| -> Option<(u64, &Value)> {
        entries
            .iter()
            .find(|(_, v)| kind(v) == k && pred(&v["event"]))
            .map(|(i, v)| (*i, v))
    };

    // 3. The request and the issuance.
    let note: Result<CoverNote, String> = r.json::<CoverNote>("cover-note.json").and_then(|n| {
        if n.format != COVER_NOTE_FORMAT {
            return Err(format!(
                "cover-note.json: format {:?} is not {COVER_NOTE_FORMAT}",
                n.format
            ));
        }
        let canon = serde_json::to_value(&n).map_err(|e| e.to_string())?;
        let raw: Value = r.json("cover-note.json")?;
        if canon != raw {
            return Err("cover-note.json holds fields the cover-note format does not have".into());
        }
        Ok(n)
    });
    let req_id = manifest.request_id.clone();
    let request: Result<Value, String> = r.json::<Value>("request.json");
    let req_digests: Vec<String> = request
        .as_ref()
        .ok()
        .and_then(|v| v["production_digests"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    let received = find("regulator_request_received", &|e| {
        e["request_id"] == req_id.as_str()
    });
    let res = (|| {
        let (ri, rv) = received
            .ok_or("the bundle holds no regulator_request_received entry for its request")?;
        let sha = r.sha("request.json")?;
        if rv["event"]["request_sha256"] != sha.as_str() {
            return Err(format!(
                "request.json has SHA-256 {sha}; entry {ri} names {}",
                rv["event"]["request_sha256"]
            ));
        }
        Ok(format!("request.json is the request logged at entry {ri}"))
    })();
    r.push("request", Some("request.json"), res);
    let issued = find("regulator_bundle_issued", &|e| {
        e["request_id"] == req_id.as_str()
    });
    let res = (|| {
        let (ii, iv) =
            issued.ok_or("the bundle holds no regulator_bundle_issued entry for its request")?;
        let e = &iv["event"];
        let want = [
            ("manifest_sha256", r.sha("manifest.json")?, "manifest.json"),
            (
                "cover_note_sha256",
                r.sha("cover-note.json")?,
                "cover-note.json",
            ),
            (
                "officer_signature_sha256",
                r.sha("cover-note.officer.sig")?,
                "cover-note.officer.sig",
            ),
            (
                "countersignature_sha256",
                r.sha("countersignature.sig")?,
                "countersignature.sig",
            ),
        ];
        for (field, sha, file) in want {
            if e[field] != sha.as_str() {
                return Err(format!(
                    "entry {ii} names {field} {}, {file} has {sha}",
                    e[field]
                ));
            }
        }
        if find("regulator_request_issued", &|e| {
            e["request_id"] == req_id.as_str()
        })
        .is_none()
        {
            return Err("the bundle holds no regulator_request_issued entry".into());
        }
        Ok(format!(
            "entry {ii} issued this manifest, cover note and both signatures"
        ))
    })();
    r.push("bundle issuance", Some("manifest.json"), res);

    // 4. The cover note, the officer's signature and the countersignature.
    let res = note.as_ref().map_err(Clone::clone).and_then(|n| {
        if n.checkpoint.origin != log_key.name() {
            return Err(format!(
                "the cover note names the log {}, the log key is {}'s",
                n.checkpoint.origin,
                log_key.name()
            ));
        }
        if let Ok(req) = &request {
            let a = &req["authority"];
            let same = a["name"] == n.request.authority.name.as_str()
                && a["country"] == n.request.authority.country.as_str()
                && a["kind"] == n.request.authority.kind.as_str()
                && req["notice_reference"] == n.request.notice_reference.as_str()
                && req["legal_basis"] == n.request.legal_basis.as_str()
                && req["received_on"] == n.request.received_on.as_str()
                && req["deadline"] == n.request.deadline.as_str();
            if !same {
                return Err(
                    "the cover note restates the request otherwise than request.json".into(),
                );
            }
        }
        if n.tenant != manifest.tenant || n.request.id != manifest.request_id {
            return Err(format!(
                "the cover note is for {} request {}, the bundle {} request {}",
                n.tenant, n.request.id, manifest.tenant, manifest.request_id
            ));
        }
        if n.request.sha256 != r.sha("request.json")? {
            return Err("the cover note names another request.json".into());
        }
        let req = request.as_ref().map_err(Clone::clone)?;
        if n.production_digests != req_digests {
            return Err("the cover note names other production digests than request.json".into());
        }
        if let (Some(p), Some(t)) = (req["product"].as_str(), req["tag"].as_str()) {
            if n.release.product != p || n.release.tag != t {
                return Err(format!(
                    "the request names {p} {t}, the cover note answers with {} {}",
                    n.release.product, n.release.tag
                ));
            }
        }
        for f in &n.files {
            match manifest.files.iter().find(|m| m.path == f.path) {
                Some(m) if m.sha256 == f.sha256 => {}
                Some(m) => {
                    return Err(format!(
                        "{}: the cover note names SHA-256 {}, the file has {}",
                        f.path, f.sha256, m.sha256
                    ))
                }
                None => {
                    return Err(format!(
                        "{}: named by the cover note, not in the bundle",
                        f.path
                    ))
                }
            }
        }
        for e in &n.log_entries {
            match entries.get(&e.index) {
                Some(v) if kind(v) == e.kind => {}
                _ => {
                    return Err(format!(
                        "the cover note names entry {} ({}), the bundle does not prove it",
                        e.index, e.kind
                    ))
                }
            }
        }
        Ok(format!(
            "{} files and {} entries named; {}",
            n.files.len(),
            n.log_entries.len(),
            n.statement.lines().next().unwrap_or("")
        ))
    });
    r.push("cover note", Some("cover-note.json"), res);
    let officer_key = r
        .text("keys/officer.pem")
        .and_then(|p| OfficerKey::from_pem(p).map_err(|e| format!("keys/officer.pem: {e}")));
    let res = (|| {
        let n = note.as_ref().map_err(Clone::clone)?;
        let k = officer_key.as_ref().map_err(Clone::clone)?;
        if k.sha256() != n.officer.public_key_sha256 {
            return Err(format!(
                "keys/officer.pem has SHA-256 {}, the cover note names {}",
                k.sha256(),
                n.officer.public_key_sha256
            ));
        }
        let (ri, rv) = find("officer_key_registered", &|e| {
            e["public_key_sha256"] == n.officer.public_key_sha256.as_str()
        })
        .ok_or("the bundle holds no officer_key_registered entry for the officer's key")?;
        let ev = &rv["event"];
        if ri != n.officer.registered_index
            || ev["officer_id"] != n.officer.id.as_str()
            || ev["name"] != n.officer.name.as_str()
            || ev["role"] != n.officer.role.as_str()
        {
            return Err(format!(
                "the cover note's officer ({}, {}, {}, entry {}) is not the one registered at entry {ri} ({}, {}, {})",
                n.officer.id,
                n.officer.name,
                n.officer.role,
                n.officer.registered_index,
                ev["officer_id"],
                ev["name"],
                ev["role"]
            ));
        }
        let (ii, _) = issued.ok_or("no issuance entry")?;
        if ri >= ii {
            return Err(format!(
                "the officer's key was registered at entry {ri}, after the issuance at {ii}"
            ));
        }
        if k.algorithm() != n.officer.algorithm || ev["algorithm"] != k.algorithm() {
            return Err(format!(
                "keys/officer.pem is {}, the cover note says {} and the registration {}",
                k.algorithm(),
                n.officer.algorithm,
                ev["algorithm"]
            ));
        }
        if let Some((vi, vv)) = find("officer_key_revoked", &|e| {
            e["public_key_sha256"] == n.officer.public_key_sha256.as_str()
        }) {
            if vv["event"]["reason"] == "compromised" {
                return Err(format!(
                    "the officer's key was revoked as compromised at entry {vi}: what it signed before is suspect too"
                ));
            }
            if vi < ii {
                return Err(format!(
                    "the officer's key was revoked at entry {vi}, before the issuance at {ii}"
                ));
            }
        }
        k.verify(r.get("cover-note.json")?, r.get("cover-note.officer.sig")?)
            .map_err(|e| format!("cover-note.officer.sig: {e}"))?;
        Ok(format!(
            "{} ({}) signed cover-note.json with the {} key registered at entry {ri}",
            n.officer.name,
            n.officer.role,
            k.algorithm()
        ))
    })();
    r.push("officer signature", Some("cover-note.officer.sig"), res);
    let res = stamp(&r, "cover-note.officer.sig.tsr", "cover-note.officer.sig");
    r.push(
        "officer signature timestamp",
        Some("cover-note.officer.sig.tsr"),
        res,
    );
    let res = (|| {
        let msg = r.get("countersignature.txt")?;
        let want = countersigned_message(
            &r.sha("cover-note.json")?,
            &r.sha("cover-note.officer.sig")?,
        );
        if msg != want.as_bytes() {
            return Err("countersignature.txt does not name the SHA-256 of cover-note.json and cover-note.officer.sig".into());
        }
        let k = OfficerKey::from_pem(r.text("keys/platform.pem")?)
            .map_err(|e| format!("keys/platform.pem: {e}"))?;
        k.verify(msg, r.get("countersignature.sig")?)
            .map_err(|e| format!("countersignature.sig: {e}"))?;
        Ok(format!(
            "the platform key {} countersigned the cover note and the officer's signature",
            &k.sha256()[..16]
        ))
    })();
    r.push("countersignature", Some("countersignature.sig"), res);
    let res = stamp(&r, "countersignature.sig.tsr", "countersignature.sig");
    r.push(
        "countersignature timestamp",
        Some("countersignature.sig.tsr"),
        res,
    );

    // 5. Every SBOM and VEX document, as a customer's `export` check, and
    // its issuance entry among the bundle's.
    let tsa_chain = tsa.as_ref().ok().map(Vec::as_slice);
    let observed: Vec<String> = if i.production_digests.is_empty() {
        req_digests.clone()
    } else {
        i.production_digests.to_vec()
    };
    let mut docs = role("sbom");
    docs.extend(role("vex"));
    let mut statements: Vec<(String, Statement)> = Vec::new();
    for d in &docs {
        let p = &d.path;
        let Ok(file) = r.get(p) else { continue };
        let mut bundles = Vec::new();
        let mut bad = None;
        for suffix in [".sigstore.json", ".intoto.sigstore.json"] {
            match r.get(&format!("{p}{suffix}")).and_then(fmt::from_json) {
                Ok(b) => bundles.push(b),
                Err(e) => bad = Some((format!("{p}{suffix}"), e)),
            }
        }
        if let Some((f, e)) = bad {
            r.push("document", Some(&f), Err(e));
            continue;
        }
        let kid = bundles
            .iter()
            .find_map(|b| match b.verification_material.as_ref()?.content.as_ref()? {
                sigstore_protobuf_specs::dev::sigstore::bundle::v1::verification_material::Content::PublicKey(k) => Some(k.hint.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let key_path = format!("keys/export-{kid}.pem");
        let Ok(pem) = r.text(&key_path) else {
            r.push(
                "document",
                Some(&key_path),
                Err(format!("{key_path} (the key that signed {p}) is missing")),
            );
            continue;
        };
        let checks = export::verify_export(&export::Inputs {
            file,
            bundles: &bundles,
            key_pem: pem,
            tsa_chain,
            log_key: Some(&log_key),
            artefact_digest: None,
            file_sha256: r.digests.get(p.as_str()).copied(),
        });
        let failed: Vec<String> = checks
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Pass(_) => None,
                Outcome::Fail(t) | Outcome::NotChecked(t) => Some(format!("{}: {t}", c.name)),
            })
            .collect();
        // The detached signature and its token are the ones in the bundle.
        let detached = (|| {
            let sig = r.get(&format!("{p}.sig"))?;
            let key = p256::pkcs8::DecodePublicKey::from_public_key_pem(pem.trim())
                .map_err(|e: p256::pkcs8::spki::Error| format!("{key_path}: {e}"))?;
            let key: p256::ecdsa::VerifyingKey = key;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| format!("{p}.sig: {e}"))?;
            p256::ecdsa::signature::Verifier::verify(&key, file, &s)
                .map_err(|_| format!("{p}.sig does not verify over {p}"))?;
            stamp(&r, &format!("{p}.sig.tsr"), &format!("{p}.sig"))
        })();
        let sha = r.sha(p).unwrap_or_default();
        let logged = find("export_issued", &|e| e["sha256"] == sha.as_str());
        let res = if !failed.is_empty() {
            Err(failed.join("; "))
        } else if let Err(e) = detached {
            Err(e)
        } else if logged.is_none() {
            Err(format!(
                "no enclosed export_issued entry names {p}'s SHA-256 {sha}"
            ))
        } else {
            Ok(format!(
                "signed by key {kid}, pinned to the artefacts, logged at entry {}, timestamped",
                logged.map(|l| l.0).unwrap_or_default()
            ))
        };
        r.push("document", Some(p), res);
        if let Some(st) = bundles.iter().find_map(|b| match &b.content {
            Some(
                sigstore_protobuf_specs::dev::sigstore::bundle::v1::bundle::Content::DsseEnvelope(
                    e,
                ),
            ) => serde_json::from_slice::<Statement>(&e.payload).ok(),
            _ => None,
        }) {
            statements.push((p.clone(), st));
        }
    }

    // 6. What the documents are about: the release the cover note names,
    // the SBOM pushed with it, all four formats; the VEX published for that
    // revision before the request; the provenance pushed with it.
    let res = (|| {
        let n = note.as_ref().map_err(Clone::clone)?;
        let rel = &n.release;
        let pushed = entries
            .get(&rel.release_index)
            .filter(|v| kind(v) == "release_pushed")
            .ok_or(format!(
                "entry {} (the release pushed) is not in the bundle",
                rel.release_index
            ))?;
        let pe = &pushed["event"];
        let (ri, _) = received.ok_or("no regulator_request_received entry")?;
        // The release is the one the cover note names, pushed before the
        // request, with the artefacts it lists.
        if pe["product"] != rel.product.as_str()
            || pe["tag"] != rel.tag.as_str()
            || pe["revision"] != rel.revision
        {
            return Err(format!(
                "entry {} pushed {} {} revision {}, the cover note names {} {} revision {}",
                rel.release_index,
                pe["product"],
                pe["tag"],
                pe["revision"],
                rel.product,
                rel.tag,
                rel.revision
            ));
        }
        if rel.release_index >= ri {
            return Err(format!(
                "the release was pushed at entry {}, after the request was received at {ri}",
                rel.release_index
            ));
        }
        let listed: Vec<&str> = rel.artefacts.iter().map(|a| a.digest.as_str()).collect();
        let logged: Vec<&str> = pe["artefacts"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        if listed != logged {
            return Err(format!(
                "the cover note lists artefacts {listed:?}, entry {} pushed {logged:?}",
                rel.release_index
            ));
        }
        let vex_before = |sha: &str| -> Option<u64> {
            entries.iter().find_map(|(i, v)| {
                (kind(v) == "vex_published"
                    && v["event"]["product"] == rel.product.as_str()
                    && v["event"]["tag"] == rel.tag.as_str()
                    && v["event"]["revision"] == rel.revision
                    && v["event"]["documents"]
                        .as_object()
                        .is_some_and(|d| d.values().any(|h| h == sha)))
                .then_some(*i)
            })
        };
        let mut formats = BTreeSet::new();
        for (path, st) in &statements {
            let pr = &st.predicate;
            if pr.tenant != manifest.tenant
                || pr.product != rel.product
                || pr.tag != rel.tag
                || pr.revision != rel.revision
            {
                return Err(format!(
                    "{path} is about {} {} {} revision {}, the cover note about {} {} {} revision {}",
                    pr.tenant, pr.product, pr.tag, pr.revision, manifest.tenant, rel.product, rel.tag, rel.revision
                ));
            }
            if pr.source.digest.get("sha256").map(String::as_str) != pe["sbom_sha256"].as_str() {
                return Err(format!(
                    "{path} was not written from the SBOM pushed at entry {}",
                    rel.release_index
                ));
            }
            let role_of = manifest
                .files
                .iter()
                .find(|f| &f.path == path)
                .map(|f| f.role.as_str());
            if role_of == Some("sbom") {
                formats.insert(pr.export.format.clone());
                // A CycloneDX export may carry VEX inline: then that VEX
                // must have been published before the request.
                let bytes = r.get(path)?;
                let inline = match pr.export.format.as_str() {
                    "cyclonedx-json" => serde_json::from_slice::<Value>(bytes)
                        .map(|v| {
                            v["vulnerabilities"]
                                .as_array()
                                .is_some_and(|a| !a.is_empty())
                        })
                        .unwrap_or(true),
                    "cyclonedx-xml" => bytes.windows(17).any(|w| w == b"<vulnerabilities>"),
                    _ => false,
                };
                if inline {
                    match vex_before(&r.sha(path)?) {
                        Some(i) if i < ri => {}
                        Some(i) => return Err(format!("{path} carries the VEX published at entry {i}, after the request ({ri})")),
                        None => return Err(format!("{path} carries VEX that no enclosed vex_published entry names")),
                    }
                }
            } else {
                let sha = r.sha(path)?;
                let published = entries.iter().find(|(i, v)| {
                    kind(v) == "vex_published"
                        && **i < ri
                        && v["event"]["product"] == rel.product.as_str()
                        && v["event"]["tag"] == rel.tag.as_str()
                        && v["event"]["revision"] == rel.revision
                        && v["event"]["documents"]
                            .as_object()
                            .is_some_and(|d| d.values().any(|h| h == sha.as_str()))
                });
                if published.is_none() {
                    return Err(format!("{path} is in no vex_published entry for this revision before the request (entry {ri})"));
                }
            }
        }
        let want: BTreeSet<String> = ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"]
            .map(String::from)
            .into();
        if formats != want {
            return Err(format!(
                "the SBOM formats enclosed are {formats:?}, not the four {want:?}"
            ));
        }
        match (&n.provenance, pe["provenance_sha256"].as_str()) {
            (None, None) => {}
            (Some(pv), Some(logged)) => {
                let raw: Value = r.json(&pv.path)?;
                let jcs = serde_jcs::to_vec(&raw).map_err(|e| e.to_string())?;
                if sha256_hex(&jcs) != logged || pv.sha256 != logged {
                    return Err(format!(
                        "{} is not the provenance pushed at entry {}",
                        pv.path, rel.release_index
                    ));
                }
                use base64::Engine as _;
                let payload = base64::engine::general_purpose::STANDARD
                    .decode(raw["payload"].as_str().unwrap_or_default())
                    .map_err(|e| format!("{}: payload: {e}", pv.path))?;
                let st: Value = serde_json::from_slice(&payload)
                    .map_err(|e| format!("{}: statement: {e}", pv.path))?;
                for d in &observed {
                    let hex = d.trim().to_ascii_lowercase();
                    let hex = hex.strip_prefix("sha256:").unwrap_or(&hex).to_owned();
                    if !st["subject"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["digest"]["sha256"] == hex.as_str()))
                    {
                        return Err(format!(
                            "{d} is not a subject of the provenance {}",
                            pv.path
                        ));
                    }
                }
            }
            (None, Some(_)) => {
                return Err("the release was pushed with provenance, the bundle has none".into())
            }
            (Some(pv), None) => {
                return Err(format!(
                    "{}: the release was pushed without provenance",
                    pv.path
                ))
            }
        }
        Ok(format!(
            "all four SBOM formats and {} VEX documents are about {} {} revision {}, written from the SBOM pushed at entry {}{}",
            statements.len().saturating_sub(4),
            rel.product,
            rel.tag,
            rel.revision,
            rel.release_index,
            if n.provenance.is_some() { "; the provenance is the one pushed with it (its subjects checked, its signature not)" } else { "" }
        ))
    })();
    r.push("release documents", Some("cover-note.json"), res);

    // 7. The production digest.
    let res = (|| {
        let n = note.as_ref().map_err(Clone::clone)?;
        if observed.is_empty() {
            let req = request.as_ref().map_err(Clone::clone)?;
            return match (req["product"].as_str(), req["tag"].as_str()) {
                (Some(p), Some(t)) => Ok(format!(
                    "the request observed no production digest; the bundle answers for the release it names, {p} {t} (give --production-digest to check one)"
                )),
                _ => Err("no production digest to check: the request named none; give --production-digest".into()),
            };
        }
        if docs.is_empty() {
            return Err("the bundle holds no SBOM".into());
        }
        let rel = &n.release;
        let (pi, pv) = entries
            .get_key_value(&rel.release_index)
            .filter(|(_, v)| kind(v) == "release_pushed")
            .ok_or(format!(
                "entry {} (the release pushed) is not in the bundle",
                rel.release_index
            ))?;
        let ev = &pv["event"];
        if ev["product"] != rel.product.as_str()
            || ev["tag"] != rel.tag.as_str()
            || ev["revision"] != rel.revision
        {
            return Err(format!(
                "entry {pi} pushed {} {} revision {}, the cover note names {} {} revision {}",
                ev["product"], ev["tag"], ev["revision"], rel.product, rel.tag, rel.revision
            ));
        }
        let (ri, _) = received.ok_or("no regulator_request_received entry")?;
        if *pi >= ri {
            return Err(format!(
                "the release was pushed at entry {pi}, after the request was received at {ri}"
            ));
        }
        for d in &observed {
            let d = d.trim().to_ascii_lowercase();
            let hex = d.strip_prefix("sha256:").unwrap_or(&d).to_owned();
            if !ev["artefacts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == format!("sha256:{hex}").as_str()))
            {
                return Err(format!("{d} is not an artefact of the release pushed at entry {pi} ({} {} revision {})", rel.product, rel.tag, rel.revision));
            }
            for (p, st) in &statements {
                if !st
                    .subject
                    .iter()
                    .any(|s| s.digest.get("sha256") == Some(&hex))
                {
                    return Err(format!(
                        "{d} is not a subject of the in-toto statement of {p}"
                    ));
                }
            }
        }
        Ok(format!("{} is an artefact of {} {} revision {} (entry {pi}, before the request at {ri}) and a subject of all {} statements", observed.join(", "), rel.product, rel.tag, rel.revision, statements.len()))
    })();
    r.push("production digest", Some("cover-note.json"), res);

    // 8. Consistency: from each checkpoint a Sigstore bundle or the cover
    // note names, to the bundle's.
    let mut olds: BTreeMap<u64, merkle::Hash> = BTreeMap::new();
    let mut cons_err: Vec<(String, String)> = Vec::new();
    if let Ok(n) = &note {
        match merkle::parse_hash(&n.checkpoint.root_hash) {
            Ok(h) => {
                olds.insert(n.checkpoint.size, h);
            }
            Err(e) => cons_err.push((
                "cover-note.json".into(),
                format!("the cover note's root hash: {e}"),
            )),
        }
    }
    for d in &docs {
        for suffix in [".sigstore.json", ".intoto.sigstore.json"] {
            let f = format!("{}{suffix}", d.path);
            let Ok(b) = r.get(&f).and_then(fmt::from_json) else {
                continue;
            };
            let Some(t) = b
                .verification_material
                .as_ref()
                .and_then(|m| m.tlog_entries.first())
            else {
                continue;
            };
            let Some(env) = t
                .inclusion_proof
                .as_ref()
                .and_then(|p| p.checkpoint.as_ref())
                .map(|c| c.envelope.clone())
            else {
                continue;
            };
            match open_checkpoint(&env, &log_key, None) {
                Ok(c) => match olds.get(&c.size) {
                    Some(h) if *h != c.root => cons_err.push((
                        f,
                        format!(
                            "its checkpoint of size {} has another root than the cover note's",
                            c.size
                        ),
                    )),
                    _ => {
                        olds.insert(c.size, c.root);
                    }
                },
                Err(e) => cons_err.push((f, format!("its checkpoint: {e}"))),
            }
        }
    }
    for (size, root) in &olds {
        let res = proofs
            .consistency
            .iter()
            .find(|c| c.from_size == *size)
            .ok_or(format!("no consistency proof from size {size}"))
            .and_then(|c| {
                decode_named(
                    &c.hashes,
                    &format!("log/proofs.json: the consistency proof from {size}"),
                )
            })
            .and_then(|h| {
                merkle::verify_consistency(*size, cp.size, root, &cp.root, &h).map_err(|e| {
                    format!("the checkpoint of size {size} is not a prefix of the bundle's: {e}")
                })
            });
        if let Err(e) = res {
            cons_err.push(("log/proofs.json".into(), e));
        }
    }
    for c in &proofs.consistency {
        if !olds.contains_key(&c.from_size) {
            cons_err.push((
                "log/proofs.json".into(),
                format!(
                    "a consistency proof from size {} that nothing in the bundle names",
                    c.from_size
                ),
            ));
        }
    }
    if cons_err.is_empty() {
        r.push(
            "consistency proofs",
            Some("log/proofs.json"),
            Ok(format!(
                "the checkpoints of sizes {:?} are prefixes of the bundle's",
                olds.keys().collect::<Vec<_>>()
            )),
        );
    } else {
        for (f, e) in cons_err {
            r.push("consistency proof", Some(&f), Err(e));
        }
    }

    // 9. The verifier binary is the one whose digest is enclosed.
    let res = (|| {
        let own: Value = r.json("bin/evident-verify.cdx.json")?;
        if own["bomFormat"] != "CycloneDX"
            || own["metadata"]["component"]["name"] != "evident-verify"
        {
            return Err("bin/evident-verify.cdx.json is not the SBOM of evident-verify".into());
        }
        let want = r.text("bin/evident-verify.sha256")?;
        let sha = r.sha("bin/evident-verify")?;
        if want.split_whitespace().next() != Some(sha.as_str()) {
            return Err(format!(
                "bin/evident-verify has SHA-256 {sha}; bin/evident-verify.sha256 says {}",
                want.trim()
            ));
        }
        Ok(format!("SHA-256 {sha}"))
    })();
    r.push("verifier binary", Some("bin/evident-verify"), res);
    r.out
}
