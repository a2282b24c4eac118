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
//!
//! A standalone VEX document (OpenVEX, CSAF, CycloneDX VEX) is issued the
//! same way ([`served_vex`]): its bytes are first checked against the digest
//! its `vex_published` entry names, then signed and logged `export_issued`
//! with the VEX format's name, so each has the same evidence files (under
//! `…/releases/{tag}/vex/`). The kit of an export carries the VEX
//! documents of the version the export carries (or, for SPDX, the latest
//! about its revision), each with its signature and token, and `verify.sh`
//! checks them all.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use evident_sbom::{vex::VexFormat, ExportFormat};
use evident_verify::bundle::{
    self as fmt, ExportPredicate, ExportRef, LogEvidence, SourceRef, Statement, Subject,
};
use sha2::{Digest, Sha256};

pub use crate::core::records::Issued;
use crate::{
    core::{events::EventBody, policy::Action, release::ReleaseRecord, Error, Principal},
    service::{
        advisories, blocking,
        catalogue::{self, ExportQuery},
        diff::{self, DiffQuery},
        documents,
        downloads::{Artifact, Download},
        signing, vex, witnesses, AppState,
    },
    store::{keys, Db},
};

/// The bytes of a base64 field of an issuance record.
fn issued_bytes(s: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(s)
        .map_err(|e| Error::Internal(format!("issuance record: {e}")))
}

/// What a served, issued document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    /// An SBOM export.
    Export(ExportFormat),
    /// A standalone VEX document.
    Vex(VexFormat),
    /// The diff between two releases (`evident_sbom::diff::ReleaseDiff`).
    Diff,
    /// A compliance document published with a release.
    Document,
    /// A published CSAF security advisory.
    Advisory,
    /// A product release's aggregate SBOM, which links its components'.
    Aggregate(ExportFormat),
}

impl DocFormat {
    /// The `format=` name (also what `export_issued` records).
    pub fn name(self) -> &'static str {
        match self {
            Self::Export(f) => f.name(),
            Self::Vex(f) => f.name(),
            Self::Diff => "evident-diff",
            Self::Document => "document",
            Self::Advisory => "csaf-advisory",
            Self::Aggregate(f) => match f {
                ExportFormat::CyclonedxJson => "aggregate-cyclonedx-json",
                ExportFormat::CyclonedxXml => "aggregate-cyclonedx-xml",
                ExportFormat::SpdxJson => "aggregate-spdx-json",
                ExportFormat::SpdxTv => "aggregate-spdx-tv",
            },
        }
    }

    /// The media type served.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Export(f) => f.media_type(),
            Self::Vex(f) => f.media_type(),
            Self::Diff => "application/json",
            // The document's own type is the download's; this is the
            // default for evidence that names none.
            Self::Document => "application/octet-stream",
            Self::Advisory => "application/json",
            Self::Aggregate(f) => f.media_type(),
        }
    }
}

/// An export or VEX document as served, with its issuance.
#[derive(Debug)]
pub struct Served {
    /// Format.
    pub format: DocFormat,
    /// The attachment's file name.
    pub file_name: String,
    /// The VEX version the document carries (inline or standalone).
    pub vex: Option<u32>,
    /// The revision's record.
    pub rec: ReleaseRecord,
    /// The exact bytes (shared with the export cache).
    pub bytes: Bytes,
    /// Their SHA-256.
    pub sha: [u8; 32],
    /// The issuance.
    pub issued: Issued,
    /// The document's path (`<tenant>/<product>/<tag>/<revision>/<format>`,
    /// the format with `+vexN` when it carries VEX version N): the cache
    /// key, and with the digest the issuance's key.
    pub path: String,
}

/// The in-toto statement for an export.
fn statement(
    tenant: &str,
    rec: &ReleaseRecord,
    format: DocFormat,
    file_name: &str,
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
                file_name: file_name.to_owned(),
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
    let vex_version = vex.as_ref().map(|v| v.version);
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
    let doc = DocFormat::Export(format);
    let file_name = release.file_name(format);
    let issued = issued(
        state,
        principal,
        tenant,
        &rec,
        doc,
        &file_name,
        (&bytes, &sha),
        &path,
    )
    .await?;
    Ok(Served {
        format: doc,
        file_name,
        vex: vex_version,
        rec,
        bytes,
        sha,
        issued,
        path,
    })
}

/// A standalone VEX document (`…/vex?format=&vex=&as_of=`), checked
/// against the digest its `vex_published` entry names, and issued like an
/// export the first time it is served. Also returns the VEX answer
/// (version, publication time and entry).
pub async fn served_vex(
    state: &AppState,
    principal: &Principal,
    release: (&str, &str, &str),
    q: &vex::VexQuery,
) -> Result<(Served, vex::Served), Error> {
    let v = vex::document(state, principal, release, q).await?;
    let format = vex::format_of(q)?;
    let d = &v.download;
    let rec = d.rec.clone();
    let segment = format!("{}+vex{}", format.name(), v.version);
    let path = keys::export_path(release.0, &rec.product, &rec.tag, rec.revision, &segment);
    let doc = DocFormat::Vex(format);
    let issued = issued(
        state,
        principal,
        release.0,
        &rec,
        doc,
        &d.file_name,
        (&d.body, &d.sha256),
        &path,
    )
    .await?;
    let s = Served {
        format: doc,
        file_name: d.file_name.clone(),
        vex: Some(v.version),
        rec,
        bytes: d.body.clone(),
        sha: d.sha256,
        issued,
        path,
    };
    Ok((s, v))
}

/// The diff between two releases (`…/products/{p}/diff?from=&to=`),
/// issued under the later release's revision the first time these bytes
/// are served (its path names the earlier release and revision).
pub async fn served_diff(
    state: &AppState,
    principal: &Principal,
    (tenant, product): (&str, &str),
    q: &DiffQuery,
) -> Result<Served, Error> {
    let (st, p, (t, pr), q2) = (
        state.clone(),
        principal.clone(),
        (tenant.to_owned(), product.to_owned()),
        q.clone(),
    );
    let (rec, doc) = blocking("release diff", move || {
        diff::compute(&st, &p, (&t, &pr), &q2)
    })
    .await?;
    let bytes = Bytes::from(doc.to_bytes());
    let segment = format!("evident-diff~{}~r{}", doc.from.tag, doc.from.revision);
    let path = keys::export_path(tenant, product, &rec.tag, rec.revision, &segment);
    let file_name = diff::file_name(product, q, doc.from.revision, rec.revision);
    issue_served(
        state,
        principal,
        tenant,
        rec,
        DocFormat::Diff,
        file_name,
        bytes,
        path,
    )
    .await
}

/// A document of `rec` with these bytes, issued (the kept issuance, else a
/// new one) under `path`: what every document but an export and a VEX
/// document is served as.
#[allow(clippy::too_many_arguments)]
async fn issue_served(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    rec: ReleaseRecord,
    format: DocFormat,
    file_name: String,
    bytes: Bytes,
    path: String,
) -> Result<Served, Error> {
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    let issued = issued(
        state,
        principal,
        tenant,
        &rec,
        format,
        &file_name,
        (&bytes, &sha),
        &path,
    )
    .await?;
    Ok(Served {
        format,
        file_name,
        vex: None,
        rec,
        bytes,
        sha,
        issued,
        path,
    })
}

/// A compliance document (`…/documents/{id}`), issued under its release's
/// latest revision the first time it is served (its path names its id),
/// with its record.
pub async fn served_document(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<(Served, documents::Document), Error> {
    let (d, bytes, tag) = documents::get(state, principal, tenant, id)?;
    let (rec, _) = catalogue::load(state, tenant, &d.product, &tag, None)?;
    let path = keys::export_path(
        tenant,
        &d.product,
        &tag,
        rec.revision,
        &format!("document~{id}"),
    );
    let s = issue_served(
        state,
        principal,
        tenant,
        rec,
        DocFormat::Document,
        d.file_name.clone(),
        Bytes::from(bytes),
        path,
    )
    .await?;
    Ok((s, d))
}

/// A product release's aggregate SBOM (`…/releases/{tag}/aggregate?format=`):
/// the product release with one component per component release it names,
/// each linked to that release's own SBOM (its plain CycloneDX JSON and
/// SPDX JSON exports, pinned by digest; see
/// `evident_sbom::ExportFormat::write_linked`), not copied. Issued like an
/// export the first time these bytes are served. 404 for a release that
/// names no components.
pub async fn served_aggregate(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Served, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let format = catalogue::export_format(q)?;
    let (rec, release) = catalogue::load(state, tenant, product, tag, q.revision)?;
    if rec.components.is_empty() {
        return Err(Error::NotFound(format!(
            "{product} {tag} names no components: it has no aggregate SBOM"
        )));
    }
    let mut parts: Vec<(String, String, evident_sbom::LinkedBom)> = Vec::new();
    for c in &rec.components {
        let of = |f: ExportFormat| ExportQuery {
            format: Some(f.name().into()),
            revision: Some(c.revision),
            vex: Some(0),
        };
        let comp = (tenant, c.product.as_str(), c.tag.as_str());
        let cdx = served(state, principal, comp, &of(ExportFormat::CyclonedxJson)).await?;
        let spdx = served(state, principal, comp, &of(ExportFormat::SpdxJson)).await?;
        let (_, crel) = catalogue::load(state, tenant, &c.product, &c.tag, Some(c.revision))?;
        parts.push((
            c.product.clone(),
            c.tag.clone(),
            evident_sbom::LinkedBom {
                cdx_serial: crel.serial_number(),
                cdx_sha256: hex::encode(cdx.sha),
                spdx_namespace: spdx.rec.spdx_namespace.clone(),
                spdx_sha1: hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&spdx.bytes)),
            },
        ));
    }
    parts.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let model = evident_sbom::Model {
        format: rec.sbom.format,
        spec_version: rec.sbom.spec_version.clone(),
        document: Default::default(),
        subject: None,
        components: parts
            .iter()
            .map(|(p, t, _)| evident_sbom::Component {
                name: p.clone(),
                version: Some(t.clone()),
                purl: None,
                kind: "application".into(),
                supplier: None,
                supplier_kind: None,
                supplier_email: None,
                hashes: Default::default(),
                declared: None,
                concluded: None,
                depends_on: Vec::new(),
            })
            .collect(),
    };
    let links: Vec<Option<evident_sbom::LinkedBom>> =
        parts.into_iter().map(|(_, _, l)| Some(l)).collect();
    // Its own identity: another serial number and namespace than the
    // product release's own SBOM export.
    let agg = evident_sbom::Release {
        tenant: format!("{tenant}#aggregate"),
        spdx_namespace: format!("{}/aggregate", rec.spdx_namespace),
        ..release.clone()
    };
    let bytes = Bytes::from(format.write_linked(&model, &agg, &links));
    let doc = DocFormat::Aggregate(format);
    let path = keys::export_path(tenant, product, &rec.tag, rec.revision, doc.name());
    let file_name = format!("aggregate-{}", release.file_name(format));
    issue_served(state, principal, tenant, rec, doc, file_name, bytes, path).await
}

/// The aggregate SBOM, as a download.
pub async fn aggregate(
    state: &AppState,
    principal: &Principal,
    release: (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Download, Error> {
    let s = served_aggregate(state, principal, release, q).await?;
    Ok(s.download(Artifact::AGGREGATE))
}

/// A published advisory's CSAF document (`…/advisories/{id}/csaf`),
/// issued under the revision it is about the first time it is served.
pub async fn served_advisory(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Served, Error> {
    let (a, bytes) = advisories::csaf(state, principal, tenant, id)?;
    let (rec, _) = catalogue::load(state, tenant, &a.product, &a.tag, Some(a.revision))?;
    let bytes = Bytes::from(bytes);
    let path = keys::export_path(
        tenant,
        &a.product,
        &a.tag,
        a.revision,
        &format!("advisory~{id}"),
    );
    let file_name = format!("{}.csaf.json", a.id.to_ascii_lowercase());
    issue_served(
        state,
        principal,
        tenant,
        rec,
        DocFormat::Advisory,
        file_name,
        bytes,
        path,
    )
    .await
}

/// A published advisory's CSAF document, as a download.
pub async fn advisory(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Download, Error> {
    let s = served_advisory(state, principal, tenant, id).await?;
    Ok(s.download(Artifact::ADVISORY))
}

/// A compliance document, as a download of its own media type.
pub async fn document(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Download, Error> {
    let (s, d) = served_document(state, principal, tenant, id).await?;
    let mut dl = s.download(Artifact::DOCUMENT);
    dl.media_type = d.media_type;
    Ok(dl)
}

/// The diff itself, as a download.
pub async fn diff_document(
    state: &AppState,
    principal: &Principal,
    (tenant, product): (&str, &str),
    q: &DiffQuery,
) -> Result<Download, Error> {
    let s = served_diff(state, principal, (tenant, product), q).await?;
    Ok(s.download(Artifact::DIFF))
}

/// The issuance of the document at `path` with these bytes: the kept one,
/// else a new one.
#[allow(clippy::too_many_arguments)]
async fn issued(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    rec: &ReleaseRecord,
    format: DocFormat,
    file_name: &str,
    (bytes, sha): (&Bytes, &[u8; 32]),
    path: &str,
) -> Result<Issued, Error> {
    match state.store().issuance(path, &hex::encode(sha))? {
        Some(i) => Ok(i),
        None => {
            let what = (bytes.clone(), sha);
            issue(state, principal, tenant, rec, format, file_name, what, path).await
        }
    }
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
    format: DocFormat,
    file_name: &str,
    (bytes, digest): (Bytes, &[u8; 32]),
    path: &str,
) -> Result<Issued, Error> {
    let sha = hex::encode(digest);
    let st = statement(tenant, rec, format, file_name, &sha);
    let payload = serde_jcs::to_vec(&st).map_err(|e| Error::Internal(format!("statement: {e}")))?;
    let (state, actor, tenant, path) = (
        state.clone(),
        principal.actor(),
        tenant.to_owned(),
        path.to_owned(),
    );
    let digest = *digest;
    let (product, tag, revision) = (rec.product.clone(), rec.tag.clone(), rec.revision);
    tokio::spawn(async move {
        let _lock = state.tenant_lock(&tenant).await;
        if let Some(i) = state.store().issuance(&path, &sha)? {
            return Ok(i);
        }
        let (key_id, signing_key) =
            signing::current_key_locked(&state, &tenant, actor.clone()).await?;
        let pem = signing::public_pem(&state, &tenant, &key_id)?;
        // The export's signature is over its bytes (ECDSA P-256 with
        // SHA-256), made from the digest already taken; the `sigstore`
        // crate checks it over the bytes themselves (one more pass).
        let signature = signing::sign_digest(&signing_key, &digest)?;
        sigstore_check(&pem, &bytes, &signature)?;
        let pae = fmt::pae(fmt::IN_TOTO_PAYLOAD_TYPE, &payload);
        let dsse_signature = signing::sign(&signing_key, &pae);
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

/// A C2SP tlog-proof of the document's issuance entry against the latest
/// checkpoint a witness cosigned, its cosignature lines included, once one
/// covers the entry (`None` before).
fn cosigned_proof(state: &AppState, tenant: &str, s: &Served) -> Result<Option<String>, Error> {
    let Some(index) = state.store().issuance_index(&s.path, &hex::encode(s.sha))? else {
        return Ok(None);
    };
    let log = state.log(tenant)?;
    let Some((cp, lines)) = witnesses::covering(state, &log, tenant, index)? else {
        return Ok(None);
    };
    Ok(Some(
        evident_verify::proof::TlogProof {
            extra: None,
            index,
            hashes: log.inclusion_proof(index, cp.size)?,
            checkpoint: witnesses::with_cosignatures(&cp.note, &lines),
        }
        .to_text(),
    ))
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
    Ok(s.download(Artifact::EXPORT))
}

/// A VEX document (`…/vex?format=&vex=&as_of=`), issued, as a download,
/// with its VEX answer.
pub async fn vex_document(
    state: &AppState,
    principal: &Principal,
    release: (&str, &str, &str),
    q: &vex::VexQuery,
) -> Result<(Download, vex::Served), Error> {
    let (s, v) = served_vex(state, principal, release, q).await?;
    Ok((s.download(Artifact::VEX), v))
}

impl Served {
    /// The document itself as a download of `artifact`.
    fn download(self, artifact: Artifact) -> Download {
        Download {
            artifact,
            format: Some(self.format.name().to_owned()),
            media_type: self.format.media_type().to_owned(),
            file_name: self.file_name,
            key_id: Some(self.issued.key_id),
            body: self.bytes,
            sha256: self.sha,
            timestamp_missing: false,
            rec: self.rec,
        }
    }

    /// "shop v1.0.0 revision 2".
    fn release_label(&self) -> String {
        format!(
            "{} {} revision {}",
            self.rec.product, self.rec.tag, self.rec.revision
        )
    }

    /// What the document is, in words.
    fn what(&self) -> String {
        match (self.format, self.vex) {
            (DocFormat::Export(f), None) => format!("the {} export", f.name()),
            (DocFormat::Export(f), Some(v)) => {
                format!("the {} export with VEX version {v} inline", f.name())
            }
            (DocFormat::Vex(f), v) => {
                format!(
                    "the {} document of VEX version {}",
                    f.name(),
                    v.unwrap_or(0)
                )
            }
            (DocFormat::Diff, _) => format!("the release diff {}", self.file_name),
            (DocFormat::Document, _) => format!("the document {}", self.file_name),
            (DocFormat::Advisory, _) => format!("the CSAF advisory {}", self.file_name),
            (DocFormat::Aggregate(f), _) => format!("the {} aggregate SBOM", f.name()),
        }
    }
}

/// The SHA-256 (hex) of a PEM public key's SubjectPublicKeyInfo DER.
fn spki_sha256(pem: &str) -> Result<String, Error> {
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes())
        .map_err(|e| Error::Internal(format!("public key PEM: {e}")))?;
    Ok(hex::encode(Sha256::digest(der)))
}

/// A word for a POSIX sh command line, single-quoted.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A VEX document that a kit carries beside its export.
struct KitVex {
    served: Served,
    pem: String,
    bundles: Bundles,
}

impl KitVex {
    /// The name of the key file in the kit: `pubkey.pem` when the export's
    /// key signed it too.
    fn key_file(&self, main_key_id: &str) -> String {
        if self.served.issued.key_id == main_key_id {
            "pubkey.pem".into()
        } else {
            format!("pubkey-{}.pem", self.served.issued.key_id)
        }
    }
}

/// The `verify.sh` of a document (and of the VEX documents its kit carries).
fn script(s: &Served, pem: &str, vex: &[KitVex]) -> Result<String, Error> {
    let mut calls = String::new();
    for v in vex {
        let f = &v.served.file_name;
        let key = v.key_file(&s.issued.key_id);
        calls.push_str(&format!(
            "check \"$HERE\"/{} \"$HERE\"/{} \"$HERE\"/{} \"$HERE\"/{} {} {} {}\n",
            sh_quote(f),
            sh_quote(&format!("{f}.sig")),
            sh_quote(&format!("{f}.sig.tsr")),
            sh_quote(&key),
            hex::encode(v.served.sha),
            sh_quote(&v.served.issued.key_id),
            spki_sha256(&v.pem)?,
        ));
    }
    let mut summary = format!(
        "The file is {} Evident issued for {}, signed by key {}, and the signature existed at the stamped time.",
        s.what(),
        s.release_label(),
        s.issued.key_id
    );
    if let Some(v) = vex.first() {
        summary.push_str(&format!(
            " So are the {} documents of VEX version {}.",
            vex.len(),
            v.served.vex.unwrap_or(0)
        ));
    }
    Ok(VERIFY_SH
        .replace("@VEX@\n", &calls)
        .replace("@SUMMARY@", &summary)
        .replace("@FILE@", &s.file_name)
        .replace("@SHA256@", &hex::encode(s.sha))
        .replace("@KEY_ID@", &s.issued.key_id)
        .replace("@KEY_SHA256@", &spki_sha256(pem)?)
        .replace("@RELEASE@", &s.release_label()))
}

const VERIFY_SH: &str = include_str!("evidence/verify.sh");
const README_TXT: &str = include_str!("evidence/README.txt");

const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The evidence files that ship with an export, by their name under
/// `…/releases/{tag}/` (`sbom.*`), and with a VEX document, under
/// `…/releases/{tag}/vex/` (`vex.*`; `verify.sh` in both).
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

    /// The file of a name under `…/releases/{tag}/`; `None` for any other.
    pub fn parse(name: &str) -> Option<Self> {
        Self::parse_stem("sbom", name)
    }

    /// The file of a name under `…/releases/{tag}/vex/`; `None` for any other.
    pub fn parse_vex(name: &str) -> Option<Self> {
        Self::parse_stem("vex", name)
    }

    /// The file of a name with `stem` (`diff.sig`, …); `None` for any other.
    pub fn parse_stem(stem: &str, name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name(stem) == name)
    }

    /// Its name, with `stem` (`sbom` or `vex`).
    pub fn name(self, stem: &str) -> String {
        match self {
            Self::Signature => format!("{stem}.sig"),
            Self::SignatureTimestamp => format!("{stem}.sig.tsr"),
            Self::SignatureBundle => format!("{stem}.sigstore.json"),
            Self::AttestationBundle => format!("{stem}.intoto.sigstore.json"),
            Self::VerifyScript => "verify.sh".into(),
            Self::Kit => format!("{stem}-kit.tar.gz"),
        }
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

/// Which document a [`file`] is the evidence of.
#[derive(Debug, Clone, Copy)]
pub enum Of<'a> {
    /// The export `…/sbom` serves for this query.
    Export(&'a ExportQuery),
    /// The VEX document `…/vex` serves for this query.
    Vex(&'a vex::VexQuery),
    /// The diff `…/products/{p}/diff` serves for this query.
    Diff(&'a DiffQuery),
    /// The document of this id.
    Document(&'a str),
    /// The published advisory of this id.
    Advisory(&'a str),
    /// The aggregate SBOM `…/aggregate` serves for this query.
    Aggregate(&'a ExportQuery),
}

/// `GET …/releases/{tag}/{file}?format=F&revision=N`, the evidence of the
/// export that `…/sbom` serves for the same query, and `GET
/// …/releases/{tag}/vex/{file}?format=F&vex=N&as_of=T`, that of a VEX
/// document:
/// - `sbom.sig`: the DER ECDSA-SHA256 signature over its exact bytes, by
///   the key that issued it (header `Evident-Key-Id`);
/// - `sbom.sig.tsr`: an RFC 3161 reply over the bytes of `sbom.sig`, made
///   once per signature and kept (503 without a TSA: fail closed);
/// - `sbom.sigstore.json` and `sbom.intoto.sigstore.json`: the signature
///   and attestation bundles (`Evident-Timestamp: missing` without a token);
/// - `verify.sh`: the POSIX sh check;
/// - `sbom-kit.tar.gz`: the document with everything needed to verify it
///   offline (for an export, with the VEX documents it carries).
pub async fn file(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    file: File,
    of: Of<'_>,
) -> Result<Download, Error> {
    let release = (tenant, product, tag);
    let s = match of {
        Of::Export(q) => served(state, principal, release, q).await?,
        Of::Vex(q) => served_vex(state, principal, release, q).await?.0,
        Of::Diff(q) => served_diff(state, principal, (tenant, product), q).await?,
        Of::Document(id) => served_document(state, principal, tenant, id).await?.0,
        Of::Advisory(id) => served_advisory(state, principal, tenant, id).await?,
        Of::Aggregate(q) => served_aggregate(state, principal, release, q).await?,
    };
    let base = s.file_name.clone();
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
            (
                b.signature.clone(),
                BUNDLE_MEDIA_TYPE,
                name,
                Some(b.stamped),
            )
        }
        File::AttestationBundle => {
            let b = Bundles::of(state, tenant, &s).await?;
            let name = format!("{base}.intoto.sigstore.json");
            (
                b.attestation.clone(),
                BUNDLE_MEDIA_TYPE,
                name,
                Some(b.stamped),
            )
        }
        File::VerifyScript => {
            let pem = signing::public_pem(state, tenant, &s.issued.key_id)?;
            let vex = kit_vex(state, principal, release, &s, of).await?;
            let sh = script(&s, &pem, &vex)?.into_bytes();
            let media = "text/x-shellscript; charset=utf-8";
            (sh, media, "verify.sh".into(), None)
        }
        File::Kit => {
            let b = Bundles::of(state, tenant, &s).await?;
            let vex = kit_vex(state, principal, release, &s, of).await?;
            let stamped = b.stamped && vex.iter().all(|v| v.bundles.stamped);
            // An export's kit lists the documents published with its
            // release that the caller may see (each is served, signed and
            // logged on its own).
            let docs = match of {
                Of::Export(_) => documents::list(state, principal, tenant, Some((product, tag)))?,
                _ => Vec::new(),
            };
            let docs_path = match principal {
                Principal::Public { .. } => format!("/p/{tenant}/documents"),
                _ => format!("/api/v1/tenants/{tenant}/documents"),
            };
            let gz = kit(state, tenant, &s, &b, sig()?, &vex, (&docs, &docs_path)).await?;
            let name = format!("{base}-kit.tar.gz");
            (gz, "application/gzip", name, Some(stamped))
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
    d.timestamp_missing = bundles.is_some_and(|stamped| !stamped);
    Ok(d)
}

/// The VEX documents that go with an export's kit and `verify.sh`: those of
/// the VEX version a CycloneDX export carries inline, or, for SPDX (which
/// cannot carry VEX), of the latest version about its revision; none with
/// `vex=0` and none for a VEX document's own kit. Each is issued.
async fn kit_vex(
    state: &AppState,
    principal: &Principal,
    release: (&str, &str, &str),
    s: &Served,
    of: Of<'_>,
) -> Result<Vec<KitVex>, Error> {
    let version = match (of, s.format) {
        (Of::Vex(_) | Of::Diff(_) | Of::Document(_) | Of::Advisory(_) | Of::Aggregate(_), _) => {
            None
        }
        (Of::Export(_), DocFormat::Export(ExportFormat::CyclonedxJson))
        | (Of::Export(_), DocFormat::Export(ExportFormat::CyclonedxXml)) => s.vex,
        (Of::Export(q), _) if q.vex == Some(0) => None,
        (Of::Export(_), _) => vex::for_export(state, release.0, &s.rec, None)?.map(|v| v.version),
    };
    let Some(version) = version else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for f in VexFormat::ALL {
        let q = vex::VexQuery {
            format: Some(f.name().into()),
            vex: Some(version),
            as_of: None,
        };
        let (served, _) = served_vex(state, principal, release, &q).await?;
        let pem = signing::public_pem(state, release.0, &served.issued.key_id)?;
        let bundles = Bundles::of(state, release.0, &served).await?;
        out.push(KitVex {
            served,
            pem,
            bundles,
        });
    }
    Ok(out)
}

/// The kit archive of a document.
#[allow(clippy::too_many_arguments)]
async fn kit(
    state: &AppState,
    tenant: &str,
    s: &Served,
    b: &Bundles,
    sig: Vec<u8>,
    vex: &[KitVex],
    (docs, docs_path): (&[documents::Document], &str),
) -> Result<Vec<u8>, Error> {
    let pem = signing::public_pem(state, tenant, &s.issued.key_id)?;
    let chain = state.tsa().kit_chain_pem(b.sig_token.as_deref(), &sig);
    let file = s.file_name.clone();
    let vkey = state.log(tenant)?.verifier().to_vkey();
    let artefacts: Vec<String> = s.rec.artefacts.iter().map(|a| a.digest.clone()).collect();
    let mut vex_files = String::new();
    for v in vex {
        vex_files.push_str(&format!(
            "{f}\n    {what}, with its signature (.sig), RFC 3161 token (.sig.tsr)\n    and bundles (.sigstore.json, .intoto.sigstore.json), signed by key\n    {key} ({key_file}). evident-verify vex checks one with --bundle.\n",
            f = v.served.file_name,
            what = v.served.what(),
            key = v.served.issued.key_id,
            key_file = v.key_file(&s.issued.key_id),
        ));
    }
    let mut doc_list = String::new();
    if !docs.is_empty() {
        doc_list.push_str(&format!("\nDocuments published with this release (not in this kit: download each\nfrom the portal, GET {docs_path}/<id>; it is signed and logged like an\nexport; its SHA-256 is given to check it):\n"));
        for d in docs {
            doc_list.push_str(&format!(
                "  {} ({}, id {}, {})\n    sha256 {}\n",
                d.title,
                d.doc_type.label(),
                d.id,
                d.file_name,
                d.sha256
            ));
        }
    }
    let readme = README_TXT
        .replace("@VEX_FILES@", &vex_files)
        .replace("@FILE@", &file)
        .replace("@WHAT@", &s.what())
        .replace(
            "@COMMAND@",
            match s.format {
                DocFormat::Export(_)
                | DocFormat::Diff
                | DocFormat::Document
                | DocFormat::Advisory
                | DocFormat::Aggregate(_) => "export",
                DocFormat::Vex(_) => "vex",
            },
        )
        .replace("@RELEASE@", &s.release_label())
        .replace("@TENANT@", tenant)
        .replace("@KEY_ID@", &s.issued.key_id)
        .replace(
            "@ARTEFACT@",
            artefacts.first().map(String::as_str).unwrap_or(""),
        )
        // Last: titles are the vendor's text, never read as placeholders.
        .replace("@DOCUMENTS@", &doc_list);
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
        (
            "verify.sh".into(),
            script(s, &pem, vex)?.into_bytes(),
            0o755,
        ),
    ];
    // Without a token the kit says so: verify.sh reports the missing file.
    if let Some(tsr) = b.sig_token.clone() {
        files.insert(3, (format!("{file}.sig.tsr"), tsr, 0o644));
    }
    // Once a witness cosigned a checkpoint that covers the issuance entry
    // (exports: `evident-verify export --cosigned` checks it).
    let cosigned = match s.format {
        DocFormat::Export(_)
        | DocFormat::Diff
        | DocFormat::Document
        | DocFormat::Advisory
        | DocFormat::Aggregate(_) => cosigned_proof(state, tenant, s)?,
        DocFormat::Vex(_) => None,
    };
    if let Some(proof) = cosigned {
        files.push((
            format!("{file}.cosigned.tlog-proof"),
            proof.into_bytes(),
            0o644,
        ));
    }
    for v in vex {
        let f = &v.served.file_name;
        files.push((f.clone(), v.served.bytes.to_vec(), 0o644));
        files.push((
            format!("{f}.sig"),
            issued_bytes(&v.served.issued.signature)?,
            0o644,
        ));
        if let Some(tsr) = v.bundles.sig_token.clone() {
            files.push((format!("{f}.sig.tsr"), tsr, 0o644));
        }
        files.push((
            format!("{f}.sigstore.json"),
            v.bundles.signature.clone(),
            0o644,
        ));
        files.push((
            format!("{f}.intoto.sigstore.json"),
            v.bundles.attestation.clone(),
            0o644,
        ));
        let key_file = v.key_file(&s.issued.key_id);
        if !files.iter().any(|(n, _, _)| *n == key_file) {
            files.push((key_file, v.pem.clone().into_bytes(), 0o644));
        }
    }
    let dir = format!("{file}-kit");
    let mtime = s.rec.pushed_at_unix.max(0) as u64;
    blocking("kit", move || tar_gz(&dir, &files, mtime)).await
}

/// A gzip'd ustar archive of `files` under `dir/`, in the order given,
/// owned by root, with one mtime (kits, regulator bundles).
pub(crate) fn tar_gz(
    dir: &str,
    files: &[(String, Vec<u8>, u32)],
    mtime: u64,
) -> Result<Vec<u8>, Error> {
    let err = |e: std::io::Error| Error::Internal(format!("{dir} archive: {e}"));
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
