//! Signed-export evidence: what ships with every SBOM download.
//!
//! The first time an export (revision, format, exact bytes) is served it is
//! *issued*: the tenant's current key signs the bytes and a DSSE envelope
//! around an in-toto statement that pins the export's SHA-256 to the
//! release's artefact digests; both signatures are checked with the
//! `sigstore` crate's keyed verifier before anything is kept; and one batch
//! stores the issuance record and appends `export_issued` (which names the
//! key and the statement's digest). Later requests serve the same record, so
//! an export keeps the key that issued it across rotations.
//!
//! From that record this module serves the detached signature and its RFC
//! 3161 token, the two Sigstore bundles (signature and attestation, each
//! with the log entry, its inclusion proof against the latest signed
//! checkpoint, and a token over its signature), `verify.sh`, and the kit
//! archive. The formats themselves live in `evident_verify::bundle`.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use evident_sbom::{ExportFormat, Release};
use evident_verify::bundle::{
    self as fmt, ExportPredicate, ExportRef, LogEvidence, SourceRef, Statement, Subject,
};
use sha2::{Digest, Sha256};

pub use crate::core::records::Issued;
use crate::{
    core::{events::EventBody, policy::Action, release::ReleaseRecord, Error, Principal},
    service::{
        blocking,
        catalogue::{self, ExportQuery},
        downloads::{Artifact, Download},
        signing, vex, AppState,
    },
    store::{keys, Db},
};

/// The bytes of a base64 field of an issuance record.
fn issued_bytes(s: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(s)
        .map_err(|e| Error::Internal(format!("issuance record: {e}")))
}

/// An export as served, with its issuance.
#[derive(Debug)]
pub struct Served {
    /// Format.
    pub format: ExportFormat,
    /// The release (file names).
    pub release: Release,
    /// The revision's record.
    pub rec: ReleaseRecord,
    /// The exact bytes (shared with the export cache).
    pub bytes: Bytes,
    /// Their SHA-256.
    pub sha: [u8; 32],
    /// The issuance.
    pub issued: Issued,
    /// The export's path (`<tenant>/<product>/<tag>/<revision>/<format>`):
    /// the cache key, and with the digest the issuance's key.
    pub path: String,
}

/// The in-toto statement for an export.
fn statement(
    tenant: &str,
    rec: &ReleaseRecord,
    release: &Release,
    format: ExportFormat,
    sha: &str,
) -> Statement {
    Statement {
        type_: fmt::STATEMENT_TYPE.into(),
        subject: rec
            .artefacts
            .iter()
            .map(|a| Subject {
                name: a.name.clone(),
                digest: fmt::sha256_map(a.digest.trim_start_matches("sha256:")),
            })
            .collect(),
        predicate_type: fmt::PREDICATE_TYPE.into(),
        predicate: ExportPredicate {
            tenant: tenant.to_owned(),
            product: rec.product.clone(),
            tag: rec.tag.clone(),
            revision: rec.revision,
            pushed_at: rec.pushed_at.clone(),
            export: ExportRef {
                format: format.name().into(),
                media_type: format.media_type().into(),
                file_name: release.file_name(format),
                digest: fmt::sha256_map(sha),
            },
            source: SourceRef {
                format: format!("{} {}", rec.sbom.format.label(), rec.sbom.spec_version),
                digest: fmt::sha256_map(&rec.sbom.sha256),
            },
        },
    }
}

/// Checks a signature with the `sigstore` crate's keyed verifier.
fn sigstore_check(pem: &str, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
    use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
    let key =
        CosignVerificationKey::from_pem(pem.as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
            .map_err(|e| Error::Internal(format!("export key: {e}")))?;
    key.verify_signature(Signature::Raw(sig), msg)
        .map_err(|e| Error::Internal(format!("a fresh signature does not verify: {e}")))
}

/// Loads (the latest or the asked) revision, writes the export, and issues
/// it if this is the first time these bytes are served.
pub async fn served(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Served, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let format = catalogue::export_format(q)?;
    let (rec, release) = catalogue::load(state, tenant, product, tag, q.revision)?;
    // The CycloneDX formats carry the revision's VEX inline; the export is
    // byte-stable per (revision, VEX version), so the version is part of
    // its path (and so of its cache key and issuance).
    let vex = match format {
        ExportFormat::CyclonedxJson | ExportFormat::CyclonedxXml => {
            vex::for_export(state, tenant, &rec, q.vex)?
        }
        _ if q.vex.is_some_and(|v| v != 0) => {
            return Err(Error::Unprocessable(format!(
                "{} has no VEX (SPDX 2.3 cannot carry it): get the VEX documents at …/vex",
                format.name()
            )))
        }
        _ => None,
    };
    let segment = match &vex {
        Some(v) => format!("{}+vex{}", format.name(), v.version),
        None => format.name().to_owned(),
    };
    let path = keys::export_path(tenant, &rec.product, &rec.tag, rec.revision, &segment);
    let (bytes, sha) = match state.caches().export(&path) {
        Some(hit) => hit,
        None => {
            let m = catalogue::model(state, &rec)?;
            let r = release.clone();
            // With VEX: the bytes kept at publication, else written again;
            // either way checked against the logged digest.
            let stored = match &vex {
                Some(v) => match vex::inline_stored(state, v, format)? {
                    Some(b) => Some(Ok(b)),
                    None => Some(Err(state.store().vex_statements(tenant, v)?)),
                },
                None => None,
            };
            let bytes = tokio::task::spawn_blocking(move || match (vex, stored) {
                (Some(v), Some(kept)) => {
                    let b = kept.unwrap_or_else(|s| format.write_with_vex(&m, &r, Some(&s)));
                    vex::inline_checked(&v, format, &b).map(|()| b)
                }
                _ => Ok(format.write(&m, &r)),
            })
            .await
            .map_err(|e| Error::Internal(format!("export task failed: {e}")))??;
            let sha: [u8; 32] = Sha256::digest(&bytes).into();
            let bytes = Bytes::from(bytes);
            state.caches().put_export(&path, bytes.clone(), sha);
            (bytes, sha)
        }
    };
    let issued = match state.store().issuance(&path, &hex::encode(sha))? {
        Some(i) => i,
        None => {
            issue(
                state, principal, tenant, &rec, &release, format, &bytes, &path,
            )
            .await?
        }
    };
    Ok(Served {
        format,
        release,
        rec,
        bytes,
        sha,
        issued,
        path,
    })
}

/// Signs, self-checks, stores and logs an export, once. Runs in its own
/// task under the release lock, so a client that goes away cannot leave it
/// half done or let a second request issue the same export again.
#[allow(clippy::too_many_arguments)]
async fn issue(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    rec: &ReleaseRecord,
    release: &Release,
    format: ExportFormat,
    bytes: &[u8],
    path: &str,
) -> Result<Issued, Error> {
    let sha = hex::encode(Sha256::digest(bytes));
    let st = statement(tenant, rec, release, format, &sha);
    let payload = serde_jcs::to_vec(&st).map_err(|e| Error::Internal(format!("statement: {e}")))?;
    let (state, actor, tenant, path) = (
        state.clone(),
        principal.actor(),
        tenant.to_owned(),
        path.to_owned(),
    );
    let digest_of_bytes: Vec<u8> = bytes.to_vec();
    let (product, tag, revision) = (rec.product.clone(), rec.tag.clone(), rec.revision);
    tokio::spawn(async move {
        let _lock = state.tenant_lock(&tenant).await;
        if let Some(i) = state.store().issuance(&path, &sha)? {
            return Ok(i);
        }
        let (key_id, signing_key) =
            signing::current_key_locked(&state, &tenant, actor.clone()).await?;
        let pem = signing::public_pem(&state, &tenant, &key_id)?;
        let signature = signing::sign(&signing_key, &digest_of_bytes);
        let pae = fmt::pae(fmt::IN_TOTO_PAYLOAD_TYPE, &payload);
        let dsse_signature = signing::sign(&signing_key, &pae);
        sigstore_check(&pem, &digest_of_bytes, &signature)?;
        sigstore_check(&pem, &pae, &dsse_signature)?;
        let issued = Issued {
            key_id: key_id.clone(),
            signature: STANDARD.encode(&signature),
            statement: STANDARD.encode(&payload),
            dsse_signature: STANDARD.encode(&dsse_signature),
        };
        let (op, index_key) = Db::issuance_ops(&path, &sha, &issued);
        let event = EventBody::ExportIssued {
            product,
            tag,
            revision,
            format: format.name().to_owned(),
            sha256: sha,
            key_id: Some(key_id),
            statement_sha256: Some(hex::encode(Sha256::digest(&payload))),
        };
        state
            .record_indexed(&tenant, vec![(actor, event)], vec![op], vec![index_key])
            .await?;
        Ok(issued)
    })
    .await
    .map_err(|e| Error::Internal(format!("export issue task failed: {e}")))?
}

/// The stored RFC 3161 reply over `sig`, made now if there is none yet.
/// `Error::TsaUnavailable` when an external TSA gave none; nothing is
/// kept then, so a later request tries again.
async fn stamp(state: &AppState, key_id: &str, sig: Vec<u8>) -> Result<Vec<u8>, Error> {
    let k = state.tsa().cache_key(&keys::signature_token(
        key_id,
        &hex::encode(Sha256::digest(&sig)),
    ));
    let st = state.clone();
    blocking("timestamp", move || {
        if let Some(r) = st.store().raw(k.as_bytes())? {
            return Ok(r);
        }
        let r = st.tsa().stamp(&sig)?;
        // Written once: concurrent first requests all get the kept token.
        st.store().put_once(k.as_bytes(), r)
    })
    .await
}

/// [`stamp`] for evidence that may go out without a token: `None` when the
/// external TSA gave none (the response then says so, see [`Bundles`]).
async fn stamp_if_available(
    state: &AppState,
    key_id: &str,
    sig: Vec<u8>,
) -> Result<Option<Vec<u8>>, Error> {
    match stamp(state, key_id, sig).await {
        Ok(t) => Ok(Some(t)),
        Err(Error::TsaUnavailable(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The export's log entry proved against the latest signed checkpoint.
async fn log_evidence(state: &AppState, tenant: &str, s: &Served) -> Result<LogEvidence, Error> {
    let index = state
        .store()
        .issuance_index(&s.path, &hex::encode(s.sha))?
        .ok_or_else(|| Error::Internal(format!("the index of export {} is missing", s.path)))?;
    let log = state.log(tenant)?;
    let cp = log.checkpoint().await?;
    let leaf = log
        .entries(index, index + 1, 1)?
        .pop()
        .ok_or_else(|| Error::Internal(format!("log entry {index} is missing")))?;
    let hashes = log.inclusion_proof(index, cp.size)?;
    let root = log.root_at(cp.size)?;
    let time = serde_json::from_slice::<serde_json::Value>(&leaf)
        .ok()
        .and_then(|v| v["time"].as_str().map(str::to_owned))
        .and_then(|t| {
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| t.unix_timestamp())
        .unwrap_or_default();
    let v = log.verifier();
    Ok(LogEvidence {
        index,
        leaf,
        integrated_time: time,
        log_id: fmt::log_id(v.name(), v.key().as_bytes()),
        tree_size: cp.size,
        root,
        hashes,
        checkpoint: cp.note,
    })
}

/// Both bundles of an export, and the signature's token.
struct Bundles {
    signature: Vec<u8>,
    attestation: Vec<u8>,
    /// The token over the export signature (also in `signature`).
    sig_token: Option<Vec<u8>>,
    /// False when the TSA gave no token for one of the signatures.
    stamped: bool,
}

impl Bundles {
    async fn of(state: &AppState, tenant: &str, s: &Served) -> Result<Self, Error> {
        let log = log_evidence(state, tenant, s).await?;
        let sig = issued_bytes(&s.issued.signature)?;
        let dsse_sig = issued_bytes(&s.issued.dsse_signature)?;
        // Sigstore bundles carry the whole DER TimeStampResp (protobuf-specs).
        let sig_token = stamp_if_available(state, &s.issued.key_id, sig.clone()).await?;
        let dsse_token = stamp_if_available(state, &s.issued.key_id, dsse_sig.clone()).await?;
        let stamped = sig_token.is_some() && dsse_token.is_some();
        let signature = fmt::signature_bundle(
            &s.issued.key_id,
            &s.sha,
            &sig,
            Some(&log),
            sig_token.clone(),
        );
        let attestation = fmt::attestation_bundle(
            &s.issued.key_id,
            &issued_bytes(&s.issued.statement)?,
            &dsse_sig,
            Some(&log),
            dsse_token,
        );
        Ok(Self {
            signature: fmt::to_json(&signature),
            attestation: fmt::to_json(&attestation),
            sig_token,
            stamped,
        })
    }
}

/// The export itself (`…/sbom?format=F&revision=N`), as a download.
pub async fn export(
    state: &AppState,
    principal: &Principal,
    release: (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Download, Error> {
    let s = served(state, principal, release, q).await?;
    Ok(Download {
        artifact: Artifact::EXPORT,
        format: Some(s.format.name().to_owned()),
        body: s.bytes.clone(),
        sha256: s.sha,
        media_type: s.format.media_type().to_owned(),
        file_name: s.release.file_name(s.format),
        key_id: Some(s.issued.key_id.clone()),
        timestamp_missing: false,
        rec: s.rec,
    })
}

/// The SHA-256 (hex) of a PEM public key's SubjectPublicKeyInfo DER.
fn spki_sha256(pem: &str) -> Result<String, Error> {
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes())
        .map_err(|e| Error::Internal(format!("public key PEM: {e}")))?;
    Ok(hex::encode(Sha256::digest(der)))
}

/// The `verify.sh` of an export.
fn script(s: &Served, pem: &str) -> Result<String, Error> {
    let file = s.release.file_name(s.format);
    Ok(VERIFY_SH
        .replace("@FILE@", &file)
        .replace("@SHA256@", &hex::encode(s.sha))
        .replace("@KEY_ID@", &s.issued.key_id)
        .replace("@KEY_SHA256@", &spki_sha256(pem)?)
        .replace(
            "@RELEASE@",
            &format!(
                "{} {} revision {}",
                s.rec.product, s.rec.tag, s.rec.revision
            ),
        ))
}

const VERIFY_SH: &str = include_str!("evidence/verify.sh");
const README_TXT: &str = include_str!("evidence/README.txt");

const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The evidence files that ship with an export, by their name under
/// `…/releases/{tag}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Signature,
    SignatureTimestamp,
    SignatureBundle,
    AttestationBundle,
    VerifyScript,
    Kit,
}

impl File {
    /// Every evidence file.
    pub const ALL: [Self; 6] = [
        Self::Signature,
        Self::SignatureTimestamp,
        Self::SignatureBundle,
        Self::AttestationBundle,
        Self::VerifyScript,
        Self::Kit,
    ];

    /// The file of a name; `None` for any other name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sbom.sig" => Self::Signature,
            "sbom.sig.tsr" => Self::SignatureTimestamp,
            "sbom.sigstore.json" => Self::SignatureBundle,
            "sbom.intoto.sigstore.json" => Self::AttestationBundle,
            "verify.sh" => Self::VerifyScript,
            "sbom-kit.tar.gz" => Self::Kit,
            _ => return None,
        })
    }

    /// How its download is logged.
    fn artifact(self) -> Artifact {
        match self {
            Self::Signature => Artifact::SIGNATURE,
            Self::SignatureTimestamp => Artifact::SIGNATURE_TIMESTAMP,
            Self::SignatureBundle => Artifact::SIGNATURE_BUNDLE,
            Self::AttestationBundle => Artifact::ATTESTATION_BUNDLE,
            Self::VerifyScript => Artifact::VERIFY_SCRIPT,
            Self::Kit => Artifact::KIT,
        }
    }
}

/// `GET …/releases/{tag}/{file}?format=F&revision=N`, the evidence of the
/// export that `…/sbom` serves for the same query:
/// - `sbom.sig`: the DER ECDSA-SHA256 signature over its exact bytes, by
///   the key that issued it (header `Evident-Key-Id`);
/// - `sbom.sig.tsr`: an RFC 3161 reply over the bytes of `sbom.sig`, made
///   once per signature and kept (503 without a TSA: fail closed);
/// - `sbom.sigstore.json` and `sbom.intoto.sigstore.json`: the signature
///   and attestation bundles (`Evident-Timestamp: missing` without a token);
/// - `verify.sh`: the POSIX sh check;
/// - `sbom-kit.tar.gz`: the export with everything needed to verify it
///   offline.
///
pub async fn file(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    file: File,
    q: &ExportQuery,
) -> Result<Download, Error> {
    let s = served(state, principal, (tenant, product, tag), q).await?;
    let base = s.release.file_name(s.format);
    let sig = || issued_bytes(&s.issued.signature);
    let (body, media_type, name, bundles) = match file {
        File::Signature => (
            sig()?,
            "application/octet-stream",
            format!("{base}.sig"),
            None,
        ),
        File::SignatureTimestamp => {
            let reply = stamp(state, &s.issued.key_id, sig()?).await?;
            let name = format!("{base}.sig.tsr");
            (reply, "application/timestamp-reply", name, None)
        }
        File::SignatureBundle => {
            let b = Bundles::of(state, tenant, &s).await?;
            let name = format!("{base}.sigstore.json");
            (b.signature.clone(), BUNDLE_MEDIA_TYPE, name, Some(b))
        }
        File::AttestationBundle => {
            let b = Bundles::of(state, tenant, &s).await?;
            let name = format!("{base}.intoto.sigstore.json");
            (b.attestation.clone(), BUNDLE_MEDIA_TYPE, name, Some(b))
        }
        File::VerifyScript => {
            let pem = signing::public_pem(state, tenant, &s.issued.key_id)?;
            let sh = script(&s, &pem)?.into_bytes();
            let media = "text/x-shellscript; charset=utf-8";
            (sh, media, "verify.sh".into(), None)
        }
        File::Kit => {
            let b = Bundles::of(state, tenant, &s).await?;
            let gz = kit(state, tenant, &s, &b, sig()?).await?;
            (
                gz,
                "application/gzip",
                format!("{base}-kit.tar.gz"),
                Some(b),
            )
        }
    };
    let mut d = Download::new(
        s.rec,
        file.artifact(),
        Some(s.format.name()),
        body,
        media_type,
        name,
    );
    d.key_id = Some(s.issued.key_id);
    d.timestamp_missing = bundles.is_some_and(|b| !b.stamped);
    Ok(d)
}

/// The kit archive of an export.
async fn kit(
    state: &AppState,
    tenant: &str,
    s: &Served,
    b: &Bundles,
    sig: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let pem = signing::public_pem(state, tenant, &s.issued.key_id)?;
    let chain = state.tsa().kit_chain_pem(b.sig_token.as_deref(), &sig);
    let file = s.release.file_name(s.format);
    let vkey = state.log(tenant)?.verifier().to_vkey();
    let artefacts: Vec<String> = s.rec.artefacts.iter().map(|a| a.digest.clone()).collect();
    let readme = README_TXT
        .replace("@FILE@", &file)
        .replace(
            "@RELEASE@",
            &format!(
                "{} {} revision {}",
                s.rec.product, s.rec.tag, s.rec.revision
            ),
        )
        .replace("@TENANT@", tenant)
        .replace("@KEY_ID@", &s.issued.key_id)
        .replace(
            "@ARTEFACT@",
            artefacts.first().map(String::as_str).unwrap_or(""),
        );
    let mut files: Vec<(String, Vec<u8>, u32)> = vec![
        ("README.txt".into(), readme.into_bytes(), 0o644),
        (file.clone(), s.bytes.to_vec(), 0o644),
        (format!("{file}.sig"), sig, 0o644),
        (format!("{file}.sigstore.json"), b.signature.clone(), 0o644),
        (
            format!("{file}.intoto.sigstore.json"),
            b.attestation.clone(),
            0o644,
        ),
        ("pubkey.pem".into(), pem.clone().into_bytes(), 0o644),
        ("tsa-chain.pem".into(), chain.into_bytes(), 0o644),
        ("log.vkey".into(), format!("{vkey}\n").into_bytes(), 0o644),
        ("verify.sh".into(), script(s, &pem)?.into_bytes(), 0o755),
    ];
    // Without a token the kit says so: verify.sh reports the missing file.
    if let Some(tsr) = b.sig_token.clone() {
        files.insert(3, (format!("{file}.sig.tsr"), tsr, 0o644));
    }
    let dir = format!("{file}-kit");
    let mtime = s.rec.pushed_at_unix.max(0) as u64;
    blocking("kit", move || tar_gz(&dir, &files, mtime)).await
}

/// A gzip'd ustar archive of `files` under `dir/`, owned by root, with one mtime.
fn tar_gz(dir: &str, files: &[(String, Vec<u8>, u32)], mtime: u64) -> Result<Vec<u8>, Error> {
    let err = |e: std::io::Error| Error::Internal(format!("kit archive: {e}"));
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, bytes, mode) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, format!("{dir}/{name}"), bytes.as_slice())
            .map_err(err)?;
    }
    tar.into_inner().map_err(err)?.finish().map_err(err)
}
