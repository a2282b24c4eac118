//! Regulator bundles: the package that answers a regulator request.
//!
//! 1. [`prepare`]: the request (in preparation) is resolved to one release
//!    revision; its four SBOM exports and the VEX documents current on the
//!    day the request was received are issued (as for any download), with
//!    their signatures, tokens and Sigstore bundles; the provenance as
//!    pushed, the trust material, the `evident-verify` binary built with
//!    the server, `VERIFY.md` and `verify.sh` join them; the **cover note**
//!    (`evident_verify::regulator::CoverNote`, RFC 8785) names every file
//!    with its SHA-256, the log entries behind them and the checkpoint they
//!    are proved against. Kept until signed; preparing again replaces it.
//! 2. The officer signs the cover note's exact bytes outside the server.
//! 3. [`sign`]: the signature is checked against the officer's registered
//!    key; the platform countersigns; both signatures are timestamped (no
//!    token, no bundle: 503 and nothing kept); the manifest is fixed; and
//!    one batch appends `regulator_request_issued` and
//!    `regulator_bundle_issued` (naming the manifest's SHA-256).
//! 4. [`bundle`]: the deterministic `.tar.gz`, with the log evidence proved
//!    against one checkpoint that covers the issuance (fixed at its first
//!    making), written by the kits' own archive writer.
//!
//! The formats and every check live in `evident_verify::regulator`.

use std::{collections::BTreeMap, path::PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::Signer as _;
use evident_sbom::{vex::VexFormat, ExportFormat};
use evident_verify::{
    merkle,
    officer::OfficerKey,
    proof::encode_hashes,
    regulator::{
        countersigned_message, entry_path, sha256_hex, CheckpointRef, Consistency, CoverArtefact,
        CoverAuthority, CoverNote, CoverOfficer, CoverProvenance, CoverRelease, CoverRequest,
        EntryRef, FileRef, LogProofs, Manifest, ManifestFile, ProvedEntry, COVER_NOTE_FORMAT,
        MANIFEST_FORMAT, PROOFS_FORMAT,
    },
};
use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::{EventBody, RequestMoved},
        names,
        policy::{allow, Action, Resource},
        regulator::{RegulatorRequest, RequestState, Transition},
        release::ReleaseRecord,
        Error, Principal,
    },
    service::{
        blocking,
        catalogue::ExportQuery,
        downloads::{Artifact, Download},
        evidence::{self, File, Of},
        logs, signing, vex, AppState,
    },
    store::{keys, Db},
};

const VERIFY_SH: &str = include_str!("bundles/verify.sh");
const VERIFY_MD: &str = include_str!("bundles/VERIFY.md");

/// The statement a cover note carries when the officer gives none.
pub const DEFAULT_STATEMENT: &str = "I confirm that the enclosed SBOM documents are those the vendor issued for the release named above, whose artefacts carry the production digests named above, and that the enclosed VEX documents are the latest the vendor published for that release before the request was recorded.";

/// `POST …/regulator-requests/{id}/cover-note`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    /// The officer who will sign (16 hex digits), registered and not revoked.
    pub officer_id: String,
    /// What the officer states (1 to 4,000 characters); a default
    /// statement when absent.
    #[serde(default)]
    pub statement: Option<String>,
    /// The product, when the request's digests resolve to several releases.
    #[serde(default)]
    pub product: Option<String>,
    /// The tag, with `product`.
    #[serde(default)]
    pub tag: Option<String>,
    /// The revision (the latest of the tag when absent).
    #[serde(default)]
    pub revision: Option<u32>,
}

/// Renders a cover note (and the SHA-256 of its JSON) as self-contained
/// HTML for people: given by the HTTP layer, which owns the markup.
pub type CoverNoteHtml = fn(&CoverNote, &str) -> String;

/// `POST …/regulator-requests/{id}/signature`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureBody {
    /// The officer's signature over the exact bytes of the cover note,
    /// base64: DER ECDSA (`openssl dgst -sha256 -sign`) or 64 bytes of
    /// Ed25519 (`openssl pkeyutl -sign -rawin`).
    pub signature: String,
}

/// One prepared file: where its bytes are (a blob, or the verifier's
/// file), and its mode in the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PreparedFile {
    path: String,
    sha256: String,
    size: u64,
    role: String,
    #[serde(default)]
    executable: bool,
}

/// What [`prepare`] keeps until the signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Prepared {
    officer_id: String,
    /// Every file but the signatures and the manifest (the cover note
    /// itself included).
    files: Vec<PreparedFile>,
    /// The sizes of the checkpoints the Sigstore bundles and the cover note
    /// name (each gets a consistency proof).
    checkpoint_sizes: Vec<u64>,
    /// The release revision.
    product: String,
    tag: String,
    revision: u32,
    /// The log entries the cover note names.
    entries: Vec<u64>,
}

/// What [`sign`] fixed: every file of the bundle but `log/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IssuedBundle {
    files: Vec<PreparedFile>,
    manifest_sha256: String,
    /// The officer who signed.
    #[serde(default)]
    officer_id: Option<String>,
    issued_at: i64,
    checkpoint_sizes: Vec<u64>,
    entries: Vec<u64>,
    product: String,
    tag: String,
    revision: u32,
}

/// The `log/` part, fixed the first time the bundle is made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogPart {
    files: Vec<PreparedFile>,
}

/// A prepared cover note as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoverNoteView {
    /// The request.
    pub request_id: String,
    /// Hex SHA-256 of the cover note's bytes (what the officer signs).
    pub cover_note_sha256: String,
    /// The cover note.
    #[schema(value_type = Object)]
    pub cover_note: serde_json::Value,
    /// Where to get its exact bytes.
    pub cover_note_url: String,
    /// Its rendering for people.
    pub cover_note_html_url: String,
}

fn kv(prefix: &str, tenant: &str, id: &str) -> Vec<u8> {
    keys::regulator_part(prefix, tenant, id)
}

fn get_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    key: &[u8],
) -> Result<Option<T>, Error> {
    match state.store().raw(key)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Internal(format!("bundle record: {e}"))),
    }
}

fn blob(state: &AppState, sha: &str) -> Result<Vec<u8>, Error> {
    state
        .store()
        .blob(sha)?
        .ok_or_else(|| Error::Internal(format!("bundle file {sha} is missing from the store")))
}

/// The `evident-verify` binary to enclose: `EVIDENT_VERIFY_BIN`, else the
/// one beside this executable (or beside its directory, for test binaries
/// under `deps/`).
fn verifier_source() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("EVIDENT_VERIFY_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| Error::Internal(format!("current exe: {e}")))?;
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    for d in [Some(dir.clone()), dir.parent().map(PathBuf::from)]
        .into_iter()
        .flatten()
    {
        let p = d.join("evident-verify");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::Unavailable(
        "the evident-verify binary is not beside the server (build both: cargo build --workspace); no bundle can enclose it".into(),
    ))
}

/// Copies the verifier into the data directory under its SHA-256 (once),
/// so a bundle made later encloses the same bytes after an upgrade.
fn keep_verifier(state: &AppState) -> Result<(String, u64), Error> {
    let dir = state.verifiers_dir().ok_or_else(|| {
        Error::Unavailable("this server has no data directory for verifier binaries".into())
    })?;
    let src = verifier_source()?;
    let bytes = std::fs::read(&src)
        .map_err(|e| Error::Unavailable(format!("reading {}: {e}", src.display())))?;
    let sha = sha256_hex(&bytes);
    let dst = dir.join(&sha);
    let executable = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::Internal(format!("{}: {e}", p.display())))
    };
    if dst.is_file() {
        executable(&dst)?;
    } else {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
        let tmp = dir.join(format!("{sha}.tmp"));
        std::fs::write(&tmp, &bytes)
            .map_err(|e| Error::Internal(format!("{}: {e}", tmp.display())))?;
        executable(&tmp)?;
        std::fs::rename(&tmp, &dst)
            .map_err(|e| Error::Internal(format!("{}: {e}", dst.display())))?;
    }
    Ok((sha, bytes.len() as u64))
}

/// What the kept verifier binary says it is made of (`evident-verify sbom`).
fn verifier_sbom(state: &AppState, sha: &str) -> Result<Vec<u8>, Error> {
    let dir = state
        .verifiers_dir()
        .ok_or_else(|| Error::Unavailable("no data directory for verifier binaries".into()))?;
    let out = std::process::Command::new(dir.join(sha))
        .arg("sbom")
        .env_clear()
        .output()
        .map_err(|e| Error::Unavailable(format!("running evident-verify sbom: {e}")))?;
    if !out.status.success()
        || serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .map(|v| v["bomFormat"] != "CycloneDX")
            .unwrap_or(true)
    {
        return Err(Error::Unavailable(
            "the evident-verify binary gave no SBOM (evident-verify sbom)".into(),
        ));
    }
    Ok(out.stdout)
}

fn file_bytes(state: &AppState, f: &PreparedFile) -> Result<Vec<u8>, Error> {
    if f.role == "verifier" {
        let dir = state
            .verifiers_dir()
            .ok_or_else(|| Error::Unavailable("no data directory for verifier binaries".into()))?;
        let b = std::fs::read(dir.join(&f.sha256))
            .map_err(|e| Error::Internal(format!("the enclosed verifier {}: {e}", f.sha256)))?;
        if sha256_hex(&b) != f.sha256 {
            return Err(Error::Internal(format!(
                "the kept verifier {} changed on disk",
                f.sha256
            )));
        }
        return Ok(b);
    }
    blob(state, &f.sha256)
}

/// Collects files, each stored as a blob.
struct Files {
    list: Vec<PreparedFile>,
    ops: Vec<evident_log::AppOp>,
}

impl Files {
    fn add(
        &mut self,
        state: &AppState,
        path: String,
        role: &str,
        bytes: Vec<u8>,
    ) -> Result<String, Error> {
        let sha = sha256_hex(&bytes);
        let size = bytes.len() as u64;
        if !self.ops.iter().any(|(k, _)| *k == keys::blob(&sha)) {
            self.ops.extend(state.store().blob_op(&sha, bytes)?);
        }
        self.list.retain(|f| f.path != path);
        self.list.push(PreparedFile {
            path,
            sha256: sha.clone(),
            size,
            role: role.into(),
            executable: role == "script",
        });
        Ok(sha)
    }
}

fn load_request(state: &AppState, tenant: &str, id: &str) -> Result<RegulatorRequest, Error> {
    state
        .store()
        .regulator_request(tenant, &id.to_ascii_lowercase())?
        .ok_or_else(Error::not_found)
}

/// The release revision a request is answered with.
fn resolve(
    state: &AppState,
    tenant: &str,
    r: &RegulatorRequest,
    b: &PrepareBody,
) -> Result<ReleaseRecord, Error> {
    let db = state.store();
    let digests = &r.request.production_digests;
    // Only what was pushed before the request was received can answer it.
    let received = r
        .history
        .first()
        .and_then(|t| t.log_index)
        .ok_or_else(|| Error::Internal("the request has no received entry".into()))?;
    let named = match (&b.product, &b.tag, &r.request.product, &r.request.tag) {
        (Some(p), Some(t), Some(rp), Some(rt)) if (p, t) != (rp, rt) => {
            return Err(Error::Unprocessable(format!(
                "/product, /tag: the request names {rp} {rt}; a bundle answers with that release"
            )))
        }
        (Some(p), Some(t), _, _) | (None, None, Some(p), Some(t)) => Some((p.clone(), t.clone())),
        (None, None, None, None) => None,
        _ => {
            return Err(Error::Unprocessable(
                "/product, /tag: both or neither".into(),
            ))
        }
    };
    let rec = match named {
        Some((p, t)) => {
            let revs: Vec<ReleaseRecord> = db
                .revisions(tenant, &p, &t)?
                .into_iter()
                .filter(|x| x.log_index.is_some_and(|i| i < received))
                .collect();
            let rec = match b.revision {
                Some(n) => revs.into_iter().find(|x| x.revision == n),
                None => revs.into_iter().next_back(),
            };
            rec.ok_or_else(|| {
                Error::Unprocessable(format!(
                    "{p} {t} has no such revision pushed before the request was received"
                ))
            })?
        }
        None => {
            // Every revision that carries all the observed digests.
            let mut sets = r.resolution.iter().map(|m| {
                m.releases
                    .iter()
                    .filter(|x| x.release_index < received)
                    .map(|x| (x.product.clone(), x.tag.clone(), x.revision))
                    .collect::<std::collections::BTreeSet<_>>()
            });
            let first = sets.next().unwrap_or_default();
            let all: Vec<_> = sets
                .fold(first, |a, s| a.intersection(&s).cloned().collect())
                .into_iter()
                .collect();
            match all.as_slice() {
                [(p, t, n)] => db
                    .revisions(tenant, p, t)?
                    .into_iter()
                    .find(|x| x.revision == *n)
                    .ok_or_else(|| Error::Internal(format!("{p} {t} revision {n} is gone")))?,
                [] => {
                    return Err(Error::Conflict(
                        "no release revision carries every production digest of the request: no bundle can tie them to an SBOM".into(),
                    ))
                }
                many => {
                    return Err(Error::Conflict(format!(
                        "the production digests are carried by {}; name the product, tag and revision",
                        many.iter().map(|(p, t, n)| format!("{p} {t} revision {n}")).collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
    };
    for d in digests {
        if !rec.artefacts.iter().any(|a| &a.digest == d) {
            return Err(Error::Conflict(format!(
                "{d} is not an artefact of {} {} revision {}: no bundle can tie it to this SBOM",
                rec.product, rec.tag, rec.revision
            )));
        }
    }
    Ok(rec)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `POST …/regulator-requests/{id}/cover-note` (admin, officer): prepares
/// the bundle's contents and its cover note. 409 unless the request is in
/// preparation, or when its digests resolve to no single revision; 503
/// when a timestamp or the verifier binary is unavailable.
pub async fn prepare(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    b: PrepareBody,
    render: CoverNoteHtml,
) -> Result<CoverNoteView, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let r = load_request(state, tenant, id)?;
    if r.state != RequestState::InPreparation {
        return Err(Error::Conflict(format!(
            "the request is {}: a cover note is prepared while the request is in preparation",
            r.state.name()
        )));
    }
    let statement = match &b.statement {
        Some(s) => names::plain_text("statement", s, 4000, true)?,
        None => DEFAULT_STATEMENT.to_owned(),
    };
    let officer = state
        .store()
        .officer(tenant, &b.officer_id.to_ascii_lowercase())?
        .filter(|o| o.revoked_at.is_none())
        .ok_or_else(|| {
            Error::Unprocessable("/officer_id: no such officer with a key in force".into())
        })?;
    let officer_index = state
        .store()
        .index_at(&keys::officer_log(tenant, &officer.id, "registered"))?
        .ok_or_else(|| Error::Internal("the officer's registration entry is missing".into()))?;
    let rec = resolve(state, tenant, &r, &b)?;
    let release = (tenant, rec.product.as_str(), rec.tag.as_str());
    let mut files = Files {
        list: Vec::new(),
        ops: Vec::new(),
    };
    let mut entries: Vec<u64> = vec![
        rec.log_index
            .ok_or_else(|| Error::Internal("the release has no entry".into()))?,
        officer_index,
    ];
    entries.extend(r.history.iter().filter_map(|t| t.log_index));
    let mut key_ids: Vec<String> = Vec::new();
    let mut doc_keys: Vec<(String, String)> = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();

    // The VEX current on the day the request was received, about this revision.
    let received_index = r
        .history
        .first()
        .and_then(|t| t.log_index)
        .ok_or_else(|| Error::Internal("the request has no received entry".into()))?;
    let end_of_day =
        crate::core::clock::parse_rfc3339(&format!("{}T23:59:59Z", r.request.received_on))
            .unwrap_or(i64::MAX);
    let vex_v = state
        .store()
        .vex_versions(tenant, &rec.product, &rec.tag)?
        .into_iter()
        .rev()
        .find(|v| {
            v.revision == rec.revision
                && v.published_at <= end_of_day
                && v.log_index.is_some_and(|i| i < received_index)
        });
    if let Some(v) = &vex_v {
        entries.extend(v.log_index);
    }

    // Each document with its evidence files.
    let mut docs: Vec<(String, Of<'_>)> = Vec::new();
    let export_qs: Vec<ExportQuery> = ExportFormat::ALL
        .iter()
        .map(|f| ExportQuery {
            format: Some(f.name().into()),
            revision: Some(rec.revision),
            vex: match f {
                ExportFormat::CyclonedxJson | ExportFormat::CyclonedxXml => {
                    Some(vex_v.as_ref().map_or(0, |v| v.version))
                }
                _ => None,
            },
        })
        .collect();
    let vex_qs: Vec<vex::VexQuery> = match &vex_v {
        Some(v) => VexFormat::ALL
            .iter()
            .map(|f| vex::VexQuery {
                format: Some(f.name().into()),
                vex: Some(v.version),
                as_of: None,
            })
            .collect(),
        None => Vec::new(),
    };
    for q in &export_qs {
        docs.push(("sbom".into(), Of::Export(q)));
    }
    for q in &vex_qs {
        docs.push(("vex".into(), Of::Vex(q)));
    }
    for (dir, of) in &docs {
        let (served, role) = match of {
            Of::Export(q) => (evidence::served(state, p, release, q).await?, "sbom"),
            Of::Vex(q) => (evidence::served_vex(state, p, release, q).await?.0, "vex"),
            Of::Diff(_) | Of::Document(_) | Of::Advisory(_) | Of::Aggregate(_) => {
                return Err(Error::Internal(
                    "a regulator bundle carries no release diff or document".into(),
                ))
            }
        };
        let index = state
            .store()
            .issuance_index(&served.path, &hex::encode(served.sha))?
            .ok_or_else(|| Error::Internal("an issued document has no entry".into()))?;
        entries.push(index);
        let name = format!("{dir}/{}", served.file_name);
        files.add(state, name.clone(), role, served.bytes.to_vec())?;
        doc_keys.push((name.clone(), served.issued.key_id.clone()));
        if !key_ids.contains(&served.issued.key_id) {
            key_ids.push(served.issued.key_id.clone());
        }
        for (f, suffix, frole) in [
            (File::Signature, ".sig", "signature"),
            (File::SignatureTimestamp, ".sig.tsr", "signature-timestamp"),
            (File::SignatureBundle, ".sigstore.json", "sigstore-bundle"),
            (
                File::AttestationBundle,
                ".intoto.sigstore.json",
                "attestation-bundle",
            ),
        ] {
            let d: Download = evidence::file(state, p, release, f, *of).await?;
            if d.timestamp_missing {
                return Err(Error::TsaUnavailable(format!(
                    "the time-stamping authority gave no token for {name}: no bundle without timestamps"
                )));
            }
            if matches!(f, File::SignatureBundle | File::AttestationBundle) {
                if let Some(size) = evident_verify::bundle::from_json(&d.body)
                    .ok()
                    .and_then(|b| {
                        b.verification_material?
                            .tlog_entries
                            .first()?
                            .inclusion_proof
                            .as_ref()
                            .map(|p| p.tree_size as u64)
                    })
                {
                    sizes.push(size);
                }
            }
            files.add(state, format!("{name}{suffix}"), frole, d.body.to_vec())?;
        }
    }
    // The provenance as pushed.
    let provenance = match &rec.provenance_sha256 {
        Some(h) => {
            let bytes = blob(state, h)?;
            files.add(
                state,
                "provenance/provenance.dsse.json".into(),
                "provenance",
                bytes,
            )?;
            Some(CoverProvenance {
                path: "provenance/provenance.dsse.json".into(),
                sha256: h.clone(),
                checked: "subjects".into(),
            })
        }
        None => None,
    };
    // The request as recorded.
    let request_json = serde_jcs::to_vec(&r.request).map_err(|e| Error::Internal(e.to_string()))?;
    files.add(state, "request.json".into(), "request", request_json)?;
    // Trust material.
    let log = state.log(tenant)?;
    files.add(
        state,
        "keys/log.vkey".into(),
        "log-key",
        format!("{}\n", log.verifier().to_vkey()).into_bytes(),
    )?;
    for k in &key_ids {
        let pem = signing::public_pem(state, tenant, k)?;
        files.add(
            state,
            format!("keys/export-{k}.pem"),
            "export-key",
            pem.into_bytes(),
        )?;
    }
    files.add(
        state,
        "keys/officer.pem".into(),
        "officer-key",
        officer.public_key_pem.clone().into_bytes(),
    )?;
    files.add(
        state,
        "keys/platform.pem".into(),
        "platform-key",
        platform_pem(state)?.into_bytes(),
    )?;
    files.add(
        state,
        "keys/tsa-chain.pem".into(),
        "tsa-chain",
        state.tsa().chain_pem().into_bytes(),
    )?;
    // The verifier, built with the server.
    let st = state.clone();
    let (vsha, vsize) = blocking("verifier", move || keep_verifier(&st)).await?;
    files.list.push(PreparedFile {
        path: "bin/evident-verify".into(),
        sha256: vsha.clone(),
        size: vsize,
        role: "verifier".into(),
        executable: true,
    });
    // Its own SBOM, as the binary prints it.
    let (st, sha) = (state.clone(), vsha.clone());
    let own = blocking("verifier sbom", move || verifier_sbom(&st, &sha)).await?;
    files.add(
        state,
        "bin/evident-verify.cdx.json".into(),
        "verifier-sbom",
        own,
    )?;
    files.add(
        state,
        "bin/evident-verify.sha256".into(),
        "verifier-sha256",
        format!("{vsha}  evident-verify\n").into_bytes(),
    )?;

    // The checkpoint, and the cover note.
    let cp = log.checkpoint().await?;
    sizes.push(cp.size);
    entries.sort_unstable();
    entries.dedup();
    let mut log_entries = Vec::new();
    for i in &entries {
        let leaf = log
            .entries(*i, i + 1, 1)?
            .pop()
            .ok_or_else(|| Error::Internal(format!("entry {i} is missing")))?;
        let v: serde_json::Value =
            serde_json::from_slice(&leaf).map_err(|e| Error::Internal(e.to_string()))?;
        log_entries.push(EntryRef {
            index: *i,
            kind: v["event"]["kind"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let release_label = format!("{} {} revision {}", rec.product, rec.tag, rec.revision);
    let mut doc_calls = String::new();
    doc_calls.push_str("doc() {\n    if out=$(openssl dgst -sha256 -verify \"$2\" -signature \"$1.sig\" \"$1\" 2>&1) && [ \"$out\" = \"Verified OK\" ]; then\n        pass signature \"$1.sig verifies over $1 with $2.\"\n    else\n        fail signature \"$1.sig does not verify over $1 with $2: $(echo \"$out\" | head -n 1)\"\n    fi\n    stamp \"$1.sig\" \"$1.sig.tsr\"\n}\n");
    for (path, kid) in &doc_keys {
        doc_calls.push_str(&format!(
            "doc {} {}\n",
            sh_quote(path),
            sh_quote(&format!("keys/export-{kid}.pem"))
        ));
    }
    let authority = &r.request.authority;
    let script = VERIFY_SH
        .replace("@DOCUMENTS@\n", &doc_calls)
        .replace("@TENANT@", tenant)
        .replace("@REQUEST@", &r.id)
        .replace("@NOTICE@", &r.request.notice_reference)
        .replace("@RELEASE@", &release_label)
        .replace("@OFFICER_ALG@", &officer.algorithm)
        .replace(
            "@OFFICER@",
            &format!("{} ({})", officer.name, officer.role).replace(['"', '$', '`', '\\'], ""),
        );
    files.add(state, "verify.sh".into(), "script", script.into_bytes())?;
    let readme = VERIFY_MD
        .replace("@REQUEST@", &r.id)
        .replace("@AUTHORITY@", &authority.name)
        .replace("@NOTICE@", &r.request.notice_reference)
        .replace("@RECEIVED@", &r.request.received_on)
        .replace("@RELEASE@", &release_label)
        .replace("@OFFICER@", &format!("{} ({})", officer.name, officer.role));
    files.add(state, "VERIFY.md".into(), "readme", readme.into_bytes())?;
    files.list.sort_by(|a, b| a.path.cmp(&b.path));
    let note = CoverNote {
        format: COVER_NOTE_FORMAT.into(),
        tenant: tenant.into(),
        request: CoverRequest {
            id: r.id.clone(),
            sha256: r.request_sha256.clone(),
            authority: CoverAuthority {
                name: authority.name.clone(),
                country: authority.country.clone(),
                kind: authority.kind.name().into(),
            },
            notice_reference: r.request.notice_reference.clone(),
            legal_basis: r.request.legal_basis.clone(),
            received_on: r.request.received_on.clone(),
            deadline: r.request.deadline.clone(),
        },
        production_digests: r.request.production_digests.clone(),
        release: CoverRelease {
            product: rec.product.clone(),
            tag: rec.tag.clone(),
            revision: rec.revision,
            artefacts: rec
                .artefacts
                .iter()
                .map(|a| CoverArtefact {
                    name: a.name.clone(),
                    digest: a.digest.clone(),
                })
                .collect(),
            release_index: rec.log_index.unwrap_or_default(),
        },
        officer: CoverOfficer {
            id: officer.id.clone(),
            name: officer.name.clone(),
            role: officer.role.clone(),
            algorithm: officer.algorithm.clone(),
            public_key_sha256: officer.public_key_sha256.clone(),
            registered_index: officer_index,
        },
        provenance,
        files: files
            .list
            .iter()
            .map(|f| FileRef {
                path: f.path.clone(),
                sha256: f.sha256.clone(),
                role: f.role.clone(),
            })
            .collect(),
        log_entries,
        checkpoint: CheckpointRef {
            origin: log.verifier().name().to_owned(),
            size: cp.size,
            root_hash: merkle::to_b64(&log.root_at(cp.size)?),
        },
        statement,
        prepared_at: rfc3339(now_unix()),
    };
    let note_bytes = serde_jcs::to_vec(&note).map_err(|e| Error::Internal(e.to_string()))?;
    let note_sha = sha256_hex(&note_bytes);
    files.add(
        state,
        "cover-note.html".into(),
        "cover-note-html",
        render(&note, &note_sha).into_bytes(),
    )?;
    files.add(state, "cover-note.json".into(), "cover-note", note_bytes)?;
    files.list.sort_by(|a, b| a.path.cmp(&b.path));
    sizes.sort_unstable();
    sizes.dedup();
    let prepared = Prepared {
        officer_id: officer.id.clone(),
        files: files.list,
        checkpoint_sizes: sizes,
        product: rec.product.clone(),
        tag: rec.tag.clone(),
        revision: rec.revision,
        entries,
    };
    let _lock = state.tenant_lock(tenant).await;
    if load_request(state, tenant, id)?.state != RequestState::InPreparation {
        return Err(Error::Conflict(
            "the request moved on while its cover note was prepared".into(),
        ));
    }
    let mut ops = files.ops;
    ops.push((
        kv("regulator-prep", tenant, &r.id),
        Some(serde_json::to_vec(&prepared).expect("plain data")),
    ));
    state.store().write(&ops)?;
    Ok(CoverNoteView {
        request_id: r.id.clone(),
        cover_note_sha256: note_sha,
        cover_note: serde_json::to_value(&note).expect("plain data"),
        cover_note_url: format!(
            "/api/v1/tenants/{tenant}/regulator-requests/{}/cover-note",
            r.id
        ),
        cover_note_html_url: format!(
            "/api/v1/tenants/{tenant}/regulator-requests/{}/cover-note.html",
            r.id
        ),
    })
}

/// The platform's countersigning key, PEM.
fn platform_pem(state: &AppState) -> Result<String, Error> {
    use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePublicKey as _};
    state
        .keys()
        .countersign_key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Internal(format!("platform key: {e}")))
}

fn prepared(state: &AppState, tenant: &str, id: &str) -> Result<Prepared, Error> {
    get_json(state, &kv("regulator-prep", tenant, id))?.ok_or_else(|| {
        Error::Conflict(
            "no cover note is prepared for this request: POST …/cover-note first".into(),
        )
    })
}

/// The SHA-256 of the cover note prepared (and not yet signed) for a
/// request, if any (for the admin page).
pub fn prepared_sha256(state: &AppState, tenant: &str, id: &str) -> Option<String> {
    let p: Prepared = get_json(state, &kv("regulator-prep", tenant, id)).ok()??;
    p.files
        .into_iter()
        .find(|f| f.path == "cover-note.json")
        .map(|f| f.sha256)
}

/// `GET …/cover-note` (admin, officer, auditor): the exact bytes to sign;
/// `html`: its rendering.
pub fn cover_note(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    html: bool,
) -> Result<Vec<u8>, Error> {
    allow(p, Action::ReadRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let r = load_request(state, tenant, id)?;
    let files = match get_json::<IssuedBundle>(state, &kv("regulator-issued", tenant, &r.id))? {
        Some(i) => i.files,
        None => prepared(state, tenant, &r.id)?.files,
    };
    let want = if html {
        "cover-note.html"
    } else {
        "cover-note.json"
    };
    let f = files
        .iter()
        .find(|f| f.path == want)
        .ok_or_else(|| Error::Internal("the cover note is missing".into()))?;
    blob(state, &f.sha256)
}

/// `POST …/signature` (admin, officer): checks the officer's signature,
/// countersigns, timestamps both, fixes the manifest, and appends
/// `regulator_request_issued` and `regulator_bundle_issued` in one batch.
/// 422 when the signature does not verify; 409 when nothing is prepared,
/// the officer's key was revoked since, or the request moved on; 503 when
/// a token cannot be had (nothing kept).
pub async fn sign(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    b: SignatureBody,
) -> Result<crate::service::regulator::RequestView, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let sig = STANDARD
        .decode(b.signature.trim())
        .map_err(|_| Error::Unprocessable("/signature: base64".into()))?;
    if sig.is_empty() || sig.len() > 512 {
        return Err(Error::Unprocessable("/signature: 1 to 512 bytes".into()));
    }
    // Checked, countersigned and stamped before the tenant's lock is taken
    // (a slow TSA must not hold up the tenant's other writes); under it, the
    // request and its prepared note are checked again.
    let in_preparation = |r: &RegulatorRequest| {
        if r.state == RequestState::InPreparation {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "the request is {}, not in preparation",
                r.state.name()
            )))
        }
    };
    let r = load_request(state, tenant, id)?;
    in_preparation(&r)?;
    let prep = prepared(state, tenant, &r.id)?;
    let officer = state
        .store()
        .officer(tenant, &prep.officer_id)?
        .ok_or_else(|| Error::Internal("the officer is gone".into()))?;
    if officer.revoked_at.is_some() {
        return Err(Error::Conflict("the officer's key was revoked since the cover note was prepared; prepare it again for another officer".into()));
    }
    let note_file = prep
        .files
        .iter()
        .find(|f| f.path == "cover-note.json")
        .ok_or_else(|| Error::Internal("no cover note".into()))?;
    let note = blob(state, &note_file.sha256)?;
    let key = OfficerKey::from_pem(&officer.public_key_pem).map_err(Error::Internal)?;
    key.verify(&note, &sig).map_err(|e| {
        Error::Unprocessable(format!(
            "/signature: {e} (the signature must be {}'s, over the exact bytes of GET …/cover-note, SHA-256 {})",
            officer.name, note_file.sha256
        ))
    })?;
    // Countersign, then timestamp both: no token, no bundle.
    let message = countersigned_message(&note_file.sha256, &sha256_hex(&sig));
    let counter = state
        .keys()
        .countersign_key
        .sign(message.as_bytes())
        .to_bytes()
        .to_vec();
    let (st, s1, s2) = (state.clone(), sig.clone(), counter.clone());
    let (t1, t2) = blocking("timestamp", move || {
        Ok((st.tsa().stamp(&s1)?, st.tsa().stamp(&s2)?))
    })
    .await?;
    let _lock = state.tenant_lock(tenant).await;
    let mut r = load_request(state, tenant, id)?;
    in_preparation(&r)?;
    let again = prepared(state, tenant, &r.id)?;
    if !again
        .files
        .iter()
        .any(|f| f.path == "cover-note.json" && f.sha256 == note_file.sha256)
    {
        return Err(Error::Conflict(
            "the cover note was prepared again meanwhile: sign the new one".into(),
        ));
    }
    if state
        .store()
        .officer(tenant, &prep.officer_id)?
        .is_none_or(|o| o.revoked_at.is_some())
    {
        return Err(Error::Conflict(
            "the officer's key was revoked meanwhile".into(),
        ));
    }
    let mut files = Files {
        list: prep.files.clone(),
        ops: Vec::new(),
    };
    files.add(
        state,
        "cover-note.officer.sig".into(),
        "officer-signature",
        sig.clone(),
    )?;
    files.add(
        state,
        "cover-note.officer.sig.tsr".into(),
        "officer-signature-timestamp",
        t1,
    )?;
    files.add(
        state,
        "countersignature.txt".into(),
        "countersignature-message",
        message.into_bytes(),
    )?;
    let counter_sha = files.add(
        state,
        "countersignature.sig".into(),
        "countersignature",
        counter,
    )?;
    files.add(
        state,
        "countersignature.sig.tsr".into(),
        "countersignature-timestamp",
        t2,
    )?;
    files.list.sort_by(|a, b| a.path.cmp(&b.path));
    let sums: String = files
        .list
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.path))
        .collect();
    files.add(state, "SHA256SUMS".into(), "checksums", sums.into_bytes())?;
    files.list.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        tenant: tenant.into(),
        request_id: r.id.clone(),
        files: files
            .list
            .iter()
            .map(|f| ManifestFile {
                path: f.path.clone(),
                sha256: f.sha256.clone(),
                size: f.size,
                role: f.role.clone(),
            })
            .collect(),
    };
    let manifest_bytes =
        serde_jcs::to_vec(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let manifest_sha = sha256_hex(&manifest_bytes);
    files
        .ops
        .extend(state.store().blob_op(&manifest_sha, manifest_bytes)?);
    let now = now_unix();
    let actor = p.actor();
    let moved = RequestMoved {
        request_id: r.id.clone(),
        from: r.state.name().into(),
        note_sha256: None,
    };
    r.state = RequestState::Issued;
    r.history.push(Transition {
        state: RequestState::Issued,
        at: rfc3339(now),
        actor: actor.clone(),
        note: None,
        log_index: None,
    });
    let (rop, rkey) = Db::regulator_request_ops(tenant, &r);
    let issued = EventBody::RegulatorBundleIssued {
        request_id: r.id.clone(),
        manifest_sha256: manifest_sha.clone(),
        cover_note_sha256: note_file.sha256.clone(),
        officer_id: officer.id.clone(),
        officer_signature_sha256: sha256_hex(&sig),
        countersignature_sha256: counter_sha,
        product: prep.product.clone(),
        tag: prep.tag.clone(),
        revision: prep.revision,
    };
    let record = IssuedBundle {
        files: files.list,
        manifest_sha256: manifest_sha,
        officer_id: Some(officer.id.clone()),
        issued_at: now,
        checkpoint_sizes: prep.checkpoint_sizes.clone(),
        entries: prep.entries.clone(),
        product: prep.product.clone(),
        tag: prep.tag.clone(),
        revision: prep.revision,
    };
    let mut ops = files.ops;
    ops.push(rop);
    ops.push((
        kv("regulator-issued", tenant, &r.id),
        Some(serde_json::to_vec(&record).expect("plain data")),
    ));
    let first = state
        .record_indexed(
            tenant,
            vec![
                (
                    actor.clone(),
                    RequestState::Issued
                        .event(moved)
                        .expect("issued has an event"),
                ),
                (actor, issued),
            ],
            ops,
            vec![rkey],
        )
        .await?;
    if let Some(last) = r.history.last_mut() {
        last.log_index = Some(first);
    }
    // Make the log part now; if that fails (the TSA, say), the first
    // download makes it. The request is issued either way.
    if let Err(e) = log_part(state, tenant, &r.id, &record).await {
        tracing::warn!(tenant, request = %r.id, error = %e, "the bundle's log part is not made yet");
    }
    Ok(crate::service::regulator::RequestView {
        overdue: r.overdue(now),
        request: r,
    })
}

/// The `log/` files: every entry proved against one checkpoint that covers
/// the issuance, with consistency proofs; made once and kept.
async fn log_part(
    state: &AppState,
    tenant: &str,
    id: &str,
    rec: &IssuedBundle,
) -> Result<LogPart, Error> {
    let key = kv("regulator-log-part", tenant, id);
    if let Some(p) = get_json::<LogPart>(state, &key)? {
        return Ok(p);
    }
    let log = state.log(tenant)?;
    let mut entries = rec.entries.clone();
    let r = load_request(state, tenant, id)?;
    entries.extend(r.history.iter().filter_map(|t| t.log_index));
    // `regulator_request_issued`, and `regulator_bundle_issued` right after
    // it (one batch).
    let issued_index = r
        .history
        .iter()
        .find(|t| t.state == RequestState::Issued)
        .and_then(|t| t.log_index)
        .ok_or_else(|| Error::Internal("the issued request has no issuance entry".into()))?;
    entries.push(issued_index + 1);
    // A revocation of the officer's key, if there is one by now, is part
    // of the story (the verifier fails a bundle whose key was revoked
    // before it was issued; one revoked later leaves it standing).
    if let Some(prep_officer) = rec.officer_id.as_deref() {
        if let Some(i) =
            state
                .store()
                .index_at(&keys::officer_log(tenant, prep_officer, "revoked"))?
        {
            entries.push(i);
        }
    }
    // The checkpoint is taken after every entry is chosen, so it covers them.
    let cp = log.checkpoint().await?;
    let (st, t, note, size) = (state.clone(), tenant.to_owned(), cp.note.clone(), cp.size);
    let tsr = blocking("timestamp", move || {
        logs::stamp_checkpoint(&st, &t, size, &note)
    })
    .await?;
    entries.sort_unstable();
    entries.dedup();
    let mut files = Files {
        list: Vec::new(),
        ops: Vec::new(),
    };
    let mut proved = Vec::new();
    for i in &entries {
        let leaf = log
            .entries(*i, i + 1, 1)?
            .pop()
            .ok_or_else(|| Error::Internal(format!("entry {i} is missing")))?;
        files.add(state, entry_path(*i), "log-entry", leaf)?;
        proved.push(ProvedEntry {
            index: *i,
            inclusion: encode_hashes(&log.inclusion_proof(*i, cp.size)?),
        });
    }
    let mut consistency = Vec::new();
    for old in &rec.checkpoint_sizes {
        consistency.push(Consistency {
            from_size: *old,
            hashes: encode_hashes(&log.consistency_proof(*old, cp.size)?),
        });
    }
    let proofs = LogProofs {
        format: PROOFS_FORMAT.into(),
        checkpoint_size: cp.size,
        entries: proved,
        consistency,
    };
    // RFC 8785, so that no byte of it can change without a check failing.
    let pretty = serde_jcs::to_vec(&proofs).expect("plain data");
    files.add(state, "log/proofs.json".into(), "log-proofs", pretty)?;
    files.add(
        state,
        "log/checkpoint".into(),
        "checkpoint",
        cp.note.into_bytes(),
    )?;
    files.add(
        state,
        "log/checkpoint.tsr".into(),
        "checkpoint-timestamp",
        tsr,
    )?;
    let part = LogPart { files: files.list };
    state.store().write(&files.ops)?;
    let bytes = serde_json::to_vec(&part).expect("plain data");
    // Written once: a concurrent first download gets the same checkpoint.
    let kept = state.store().put_once(&key, bytes)?;
    serde_json::from_slice(&kept).map_err(|e| Error::Internal(e.to_string()))
}

/// `GET …/bundle` (admin, officer, auditor): the issued bundle, a
/// deterministic `.tar.gz` (fixed order, one mtime, owner root), as a
/// download of the release (logged by the HTTP layer with a receipt).
pub async fn bundle(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Download, Error> {
    allow(p, Action::ReadRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    bundle_of(state, tenant, id).await
}

/// The issued bundle of a request, made (no access check).
async fn bundle_of(state: &AppState, tenant: &str, id: &str) -> Result<Download, Error> {
    let r = load_request(state, tenant, id)?;
    let rec: IssuedBundle =
        get_json(state, &kv("regulator-issued", tenant, &r.id))?.ok_or_else(|| {
            Error::Conflict(format!(
                "the request is {}: its bundle is not issued",
                r.state.name()
            ))
        })?;
    let part = log_part(state, tenant, &r.id, &rec).await?;
    let release = state
        .store()
        .revisions(tenant, &rec.product, &rec.tag)?
        .into_iter()
        .find(|x| x.revision == rec.revision)
        .ok_or_else(|| Error::Internal("the release is gone".into()))?;
    let st = state.clone();
    let dir = format!("evident-regulator-bundle-{tenant}-{}", r.id);
    let mtime = rec.issued_at.max(0) as u64;
    let manifest_sha = rec.manifest_sha256.clone();
    let body = blocking("bundle", move || {
        let mut all: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
        for f in rec.files.iter().chain(part.files.iter()) {
            let mode = if f.executable || f.role == "verifier" {
                0o755
            } else {
                0o644
            };
            all.insert(f.path.clone(), (file_bytes(&st, f)?, mode));
        }
        all.insert("manifest.json".into(), (blob(&st, &manifest_sha)?, 0o644));
        let files: Vec<(String, Vec<u8>, u32)> =
            all.into_iter().map(|(p, (b, m))| (p, b, m)).collect();
        evidence::tar_gz(&dir, &files, mtime)
    })
    .await?;
    Ok(Download::new(
        release,
        Artifact::REGULATOR_BUNDLE,
        None,
        body,
        "application/gzip",
        format!("evident-regulator-bundle-{tenant}-{}.tar.gz", r.id),
    ))
}

/// An authority's download link for a request's bundle: the authority
/// fetches the bundle, and later consistency proofs from its checkpoint to
/// any newer one, without a tenant credential. Only a hash of the token is
/// kept.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorityLink {
    /// The link's public id (16 hex digits).
    pub id: String,
    /// The request.
    pub request_id: String,
    /// RFC 3339: the deadline's end plus the grace period.
    pub expires_at: String,
    /// RFC 3339, once revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// RFC 3339.
    pub issued_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinkRecord {
    id: String,
    request_id: String,
    token_sha256: String,
    issued_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl LinkRecord {
    fn view(&self) -> AuthorityLink {
        AuthorityLink {
            id: self.id.clone(),
            request_id: self.request_id.clone(),
            expires_at: rfc3339(self.expires_at),
            revoked_at: self.revoked_at.map(rfc3339),
            issued_at: rfc3339(self.issued_at),
        }
    }
}

/// `POST …/regulator-requests/{id}/links`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorityLink {
    /// Days after the deadline the link keeps working: 0 to 365, default 30.
    #[serde(default)]
    pub grace_days: Option<u32>,
}

/// A link as issued: its URL, shown once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedAuthorityLink {
    /// The link.
    pub link: AuthorityLink,
    /// `<public URL>/r/<token>/bundle`; `/r/<token>/consistency?old=N` gives
    /// consistency proofs. Shown only now.
    pub url: String,
    /// The index of its `regulator_link_issued` entry.
    pub log_index: u64,
}

/// The most links per request.
pub const MAX_LINKS: usize = 16;

fn links(state: &AppState, tenant: &str, request: &str) -> Result<Vec<LinkRecord>, Error> {
    let prefix = keys::regulator_part("regulator-link", tenant, &format!("{request}/"));
    state
        .store()
        .app_scan(&prefix)?
        .into_iter()
        .map(|(_, v)| {
            serde_json::from_slice(&v).map_err(|e| Error::Internal(format!("link record: {e}")))
        })
        .collect()
}

fn link_key(tenant: &str, request: &str, id: &str) -> Vec<u8> {
    keys::regulator_part("regulator-link", tenant, &format!("{request}/{id}"))
}

fn link_token_key(sha: &str) -> Vec<u8> {
    keys::regulator_part("regulator-link-token", "-", sha)
}

/// `POST …/links` (admin, officer): a download link for the authority,
/// working until the deadline's end plus `grace_days`; logged
/// `regulator_link_issued`. 409 until the bundle is issued; 422 when the
/// link would already have expired.
pub async fn issue_link(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    b: NewAuthorityLink,
) -> Result<IssuedAuthorityLink, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let grace = b.grace_days.unwrap_or(30);
    if grace > 365 {
        return Err(Error::Unprocessable("/grace_days: 0 to 365".into()));
    }
    let _lock = state.tenant_lock(tenant).await;
    let r = load_request(state, tenant, id)?;
    if get_json::<IssuedBundle>(state, &kv("regulator-issued", tenant, &r.id))?.is_none() {
        return Err(Error::Conflict(
            "the request's bundle is not issued yet".into(),
        ));
    }
    if matches!(r.state, RequestState::Withdrawn) {
        return Err(Error::Conflict("the request was withdrawn".into()));
    }
    let end = crate::core::clock::parse_rfc3339(&format!("{}T23:59:59Z", r.request.deadline))
        .ok_or_else(|| Error::Internal("a stored deadline does not parse".into()))?
        + i64::from(grace) * 86_400;
    let now = now_unix();
    if end <= now {
        return Err(Error::Unprocessable(format!(
            "the deadline ({}) plus {grace} days has passed: give more grace_days",
            r.request.deadline
        )));
    }
    if links(state, tenant, &r.id)?.len() >= MAX_LINKS {
        return Err(Error::Unprocessable(format!(
            "a request has at most {MAX_LINKS} links"
        )));
    }
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let token = format!("evr_{}", hex::encode(raw));
    let sha = sha256_hex(token.as_bytes());
    let link_id = sha[..16].to_owned();
    let rec = LinkRecord {
        id: link_id.clone(),
        request_id: r.id.clone(),
        token_sha256: sha.clone(),
        issued_at: now,
        expires_at: end,
        revoked_at: None,
    };
    let ops = vec![
        (
            link_key(tenant, &r.id, &link_id),
            Some(serde_json::to_vec(&rec).expect("plain data")),
        ),
        (
            link_token_key(&sha),
            Some(format!("{tenant}/{}/{link_id}", r.id).into_bytes()),
        ),
    ];
    let event = EventBody::RegulatorLinkIssued {
        request_id: r.id.clone(),
        link_id: link_id.clone(),
        expires_at: rfc3339(end),
    };
    let log_index = state.record(tenant, p.actor(), event, ops).await?;
    Ok(IssuedAuthorityLink {
        link: rec.view(),
        url: format!("{}/r/{token}/bundle", state.public_url()),
        log_index,
    })
}

/// `GET …/links` (admin, officer, auditor): the request's links (never a token).
pub fn list_links(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Vec<AuthorityLink>, Error> {
    allow(p, Action::ReadRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let r = load_request(state, tenant, id)?;
    Ok(links(state, tenant, &r.id)?
        .iter()
        .map(LinkRecord::view)
        .collect())
}

/// `DELETE …/links/{link}` (admin, officer): revoked at once; logged
/// `regulator_link_revoked`. 409 when revoked already.
pub async fn revoke_link(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    link: &str,
) -> Result<AuthorityLink, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let _lock = state.tenant_lock(tenant).await;
    let r = load_request(state, tenant, id)?;
    let mut rec: LinkRecord =
        get_json(state, &link_key(tenant, &r.id, &link.to_ascii_lowercase()))?
            .ok_or_else(Error::not_found)?;
    if rec.revoked_at.is_some() {
        return Err(Error::Conflict("this link is revoked already".into()));
    }
    rec.revoked_at = Some(now_unix());
    let ops = vec![(
        link_key(tenant, &r.id, &rec.id),
        Some(serde_json::to_vec(&rec).expect("plain data")),
    )];
    let event = EventBody::RegulatorLinkRevoked {
        request_id: r.id.clone(),
        link_id: rec.id.clone(),
    };
    state.record(tenant, p.actor(), event, ops).await?;
    Ok(rec.view())
}

/// The link a token opens, in force; anything else is the same 404.
fn open_link(state: &AppState, token: &str) -> Result<(String, LinkRecord), Error> {
    let gone = || Error::NotFound("this link does not exist, has expired or was revoked".into());
    if token.len() > 100 {
        return Err(gone());
    }
    let sha = sha256_hex(token.as_bytes());
    let at = state.store().raw(&link_token_key(&sha))?.ok_or_else(gone)?;
    let at = String::from_utf8_lossy(&at).into_owned();
    let mut parts = at.splitn(3, '/');
    let (Some(tenant), Some(request), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Internal("a link index entry is malformed".into()));
    };
    let rec: LinkRecord = get_json(state, &link_key(tenant, request, id))?.ok_or_else(gone)?;
    if rec.token_sha256 != sha || rec.revoked_at.is_some() || rec.expires_at <= now_unix() {
        return Err(gone());
    }
    // A withdrawn request's links stop working with it.
    match load_request(state, tenant, request) {
        Ok(r) if r.state != RequestState::Withdrawn => {}
        _ => return Err(gone()),
    }
    // Each link has its own budget besides the per-address one: a leaked
    // link cannot make the server build archives without end.
    state.limits().check_share_link(&rec.id)?;
    Ok((tenant.to_owned(), rec))
}

/// `GET /r/{token}/bundle` (anonymous, rate-limited): the bundle, after a
/// `regulator_link_used` entry is durable; with that entry's index.
pub async fn link_bundle(state: &AppState, token: &str) -> Result<(Download, u64), Error> {
    let (tenant, rec) = open_link(state, token)?;
    let actor = crate::core::events::Actor::ShareLink {
        link_id: rec.id.clone(),
    };
    let d = bundle_of(state, &tenant, &rec.request_id).await?;
    let event = EventBody::RegulatorLinkUsed {
        request_id: rec.request_id.clone(),
        link_id: rec.id.clone(),
        what: "bundle".into(),
        sha256: hex::encode(d.sha256),
        bytes: d.body.len() as u64,
    };
    let index = state.record(&tenant, actor, event, Vec::new()).await?;
    Ok((d, index))
}

/// A consistency proof from a bundle's checkpoint to the log's latest.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkConsistency {
    /// The older size (`old=`).
    pub old: u64,
    /// The latest checkpoint's size.
    pub new: u64,
    /// RFC 9162 consistency proof, base64.
    pub hashes: Vec<String>,
    /// The latest signed checkpoint.
    pub checkpoint: String,
    /// The index of the `regulator_link_used` entry of this answer.
    pub log_index: u64,
}

/// `GET /r/{token}/consistency?old=N` (anonymous, rate-limited): a proof
/// that the log's latest checkpoint extends the one of size N; logged.
pub async fn link_consistency(
    state: &AppState,
    token: &str,
    old: u64,
) -> Result<LinkConsistency, Error> {
    let (tenant, rec) = open_link(state, token)?;
    let log = state.log(&tenant)?;
    let cp = log.checkpoint().await?;
    if old == 0 || old > cp.size {
        return Err(Error::Unprocessable(format!(
            "old must be 1 to {} (the log's size)",
            cp.size
        )));
    }
    let hashes = encode_hashes(&log.consistency_proof(old, cp.size)?);
    let event = EventBody::RegulatorLinkUsed {
        request_id: rec.request_id.clone(),
        link_id: rec.id.clone(),
        what: format!("consistency {old}..{}", cp.size),
        sha256: sha256_hex(cp.note.as_bytes()),
        bytes: 0,
    };
    let actor = crate::core::events::Actor::ShareLink {
        link_id: rec.id.clone(),
    };
    let log_index = state.record(&tenant, actor, event, Vec::new()).await?;
    Ok(LinkConsistency {
        old,
        new: cp.size,
        hashes,
        checkpoint: cp.note,
        log_index,
    })
}
