//! Release records: CI pushes them, everyone entitled reads them, and the
//! SBOM is served in four formats from one normalized model.
//!
//! Storage (application key space, all written in the batch that appends the
//! event recording them):
//! - `blob/<sha256>`: original SBOM, provenance and findings bytes, content-addressed;
//! - `model/<sha256 of the SBOM>`: the normalized model (JSON), fixed at first ingest;
//! - `release/<tenant>/<product>/<tag>/<revision:010>`: the [`ReleaseRecord`];
//! - `release-log/…/<revision:010>`: the index of its `release_pushed` event;
//! - `export/…/<revision:010>/<format>/<sha256>`: the issuance record of that
//!   export (see `crate::evidence`), and `export-log/…` the index of its
//!   `export_issued` event.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use evident_log::AppOp;
use evident_sbom::{ExportFormat, Model, NoticeFormat, Release, SourceFormat, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    auth::{Principal, Scope},
    downloads::{Artifact, Download},
    error::{ApiError, ApiJson, ApiQuery},
    events::{now_unix, rfc3339, EventBody},
    state::AppState,
};

/// Scopes that may read releases and exports.
pub(crate) const READERS: &[Scope] = &[Scope::Admin, Scope::Auditor, Scope::Push];

/// At most this many artefacts per release.
const MAX_ARTEFACTS: usize = 256;

/// `POST /api/v1/tenants/{tenant}/releases` body: a release record from CI.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Evident release record")]
pub struct ReleasePush {
    /// The product: 1–128 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    pub product: String,
    /// The release tag, e.g. `v1.2.3`: 1–128 of `A-Z a-z 0-9 . _ + -`, starting with a letter or digit.
    pub tag: String,
    /// What was built: one or more artefacts.
    pub artefacts: Vec<ArtefactIn>,
    /// The SBOM: CycloneDX 1.2–1.7 (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value).
    pub sbom: SbomIn,
    /// Build provenance: a DSSE envelope whose payload is an in-toto Statement
    /// v1 (typically SLSA provenance v1) naming every artefact digest as a subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<DsseEnvelope>,
    /// Reachability findings, stored as given (their schema comes with VEX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<serde_json::Value>,
}

/// One artefact of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtefactIn {
    /// File or image name, 1–256 characters.
    pub name: String,
    /// `sha256:` and 64 lowercase hex digits.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
    /// Media type, e.g. `application/gzip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// The SBOM document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SbomIn {
    /// The document, as text (`utf8`) or base64 of its bytes (`base64`).
    pub content: String,
    /// How `content` is encoded.
    pub encoding: Encoding,
}

/// How the SBOM content is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The content is the document text.
    Utf8,
    /// The content is standard base64 of the document bytes.
    Base64,
}

/// A DSSE envelope (<https://github.com/secure-systems-lab/dsse>).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct DsseEnvelope {
    /// Must be `application/vnd.in-toto+json`.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Base64 of the in-toto Statement.
    pub payload: String,
    /// Signatures over the PAE of payloadType and payload.
    #[serde(default)]
    pub signatures: Vec<DsseSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct DsseSignature {
    /// Key id, if the signer gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// Base64 signature.
    pub sig: String,
}

/// An artefact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct Artefact {
    /// Name.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// What was stored of the SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct SbomInfo {
    /// SHA-256 (hex) of the bytes as pushed.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Detected format.
    pub format: SourceFormat,
    /// Declared spec version.
    pub spec_version: String,
    /// Components in the normalized model (the subject included).
    pub components: u64,
}

/// A release revision as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct ReleaseRecord {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision, from 1.
    pub revision: u32,
    /// Push time, RFC 3339 UTC; the time every export of this revision carries.
    pub pushed_at: String,
    /// Push time, Unix seconds.
    pub pushed_at_unix: i64,
    /// The token that pushed it.
    pub pushed_by: String,
    /// Artefacts.
    pub artefacts: Vec<Artefact>,
    /// The SBOM.
    pub sbom: SbomInfo,
    /// SHA-256 (hex) of the provenance envelope in RFC 8785 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_sha256: Option<String>,
    /// The provenance statement's predicate type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_predicate_type: Option<String>,
    /// SHA-256 (hex) of the findings in RFC 8785 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings_sha256: Option<String>,
    /// What makes two pushes "the same": SHA-256 of the canonical artefacts and content digests.
    pub content_sha256: String,
    /// The CycloneDX serial number of every CycloneDX export of this revision.
    pub serial_number: String,
    /// The SPDX documentNamespace of every SPDX export of this revision.
    pub spdx_namespace: String,
    /// Deviations from the spec that ingest accepted.
    pub warnings: Vec<Warning>,
    /// The Evident version named as the producing tool in every export of
    /// this revision (fixed at push, so an upgrade does not change the bytes).
    #[serde(default = "current_version")]
    pub tool_version: String,
    /// Index of the `release_pushed` event in the tenant's log.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// `POST …/releases` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pushed {
    /// False when an identical push already existed (answered 200).
    pub created: bool,
    /// The release revision.
    pub release: ReleaseRecord,
}

fn current_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn check_name(what: &str, s: &str, extra: &[u8]) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        let allowed = if extra.is_empty() {
            "A-Z a-z 0-9 . _ -"
        } else {
            "A-Z a-z 0-9 . _ + -"
        };
        Err(ApiError::Unprocessable(format!(
            "/{what}: {s:?} must be 1 to 128 of {allowed}, starting with a letter or digit"
        )))
    }
}

pub(crate) fn prefix(tenant: &str, product: &str, tag: &str) -> String {
    format!("{tenant}/{product}/{tag}/")
}

fn rev_key(kind: &str, tenant: &str, product: &str, tag: &str, rev: u32) -> String {
    format!("{kind}/{}{rev:010}", prefix(tenant, product, tag))
}

/// Reads a provenance envelope: its statement must be in-toto and its
/// subjects must include every artefact digest. Returns the predicate type.
fn check_provenance(
    env: &DsseEnvelope,
    artefacts: &[Artefact],
    warnings: &mut Vec<Warning>,
) -> Result<Option<String>, ApiError> {
    let bad = |at: &str, m: String| ApiError::Unprocessable(format!("/provenance{at}: {m}"));
    if env.payload_type != "application/vnd.in-toto+json" {
        return Err(bad(
            "/payloadType",
            format!("{:?} is not application/vnd.in-toto+json", env.payload_type),
        ));
    }
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env.payload.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(env.payload.trim()))
        .map_err(|e| bad("/payload", format!("is not base64: {e}")))?;
    let st: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| bad("/payload", format!("is not a JSON in-toto statement: {e}")))?;
    match st.get("_type").and_then(|t| t.as_str()) {
        Some("https://in-toto.io/Statement/v1") => {}
        Some("https://in-toto.io/Statement/v0.1") => warnings.push(Warning {
            at: "/provenance/payload/_type".into(),
            message: "an in-toto Statement v0.1; v1 is current".into(),
        }),
        other => {
            return Err(bad(
                "/payload/_type",
                format!("{other:?} is not an in-toto Statement (https://in-toto.io/Statement/v1)"),
            ))
        }
    }
    let subjects: Vec<String> = st
        .get("subject")
        .and_then(|s| s.as_array())
        .ok_or_else(|| bad("/payload/subject", "is missing or not an array".into()))?
        .iter()
        .filter_map(|s| s.get("digest")?.get("sha256")?.as_str())
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for a in artefacts {
        let hex = a.digest.trim_start_matches("sha256:");
        if !subjects.iter().any(|s| s == hex) {
            return Err(bad(
                "/payload/subject",
                format!(
                    "the provenance does not cover artefact {:?}: no subject has digest {}",
                    a.name, a.digest
                ),
            ));
        }
    }
    if env.signatures.is_empty() {
        warnings.push(Warning {
            at: "/provenance/signatures".into(),
            message: "the envelope has no signatures".into(),
        });
    } else {
        warnings.push(Warning {
            at: "/provenance/signatures".into(),
            message:
                "signatures were stored, not verified: no trusted provenance keys are configured"
                    .into(),
        });
    }
    Ok(st
        .get("predicateType")
        .and_then(|p| p.as_str())
        .map(str::to_owned))
}

/// `POST /api/v1/tenants/{tenant}/releases` (push token).
///
/// A token of another scope, or of another tenant, is answered 404 like
/// anything else outside the caller's reach, so a leaked auditor token does
/// not learn which tenants exist.
pub async fn push_handler(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<ReleasePush>,
) -> Result<Response, ApiError> {
    principal.require(&tenant, &[Scope::Push])?;
    state.tenant_log(&tenant)?;
    let (status, pushed) = push(&state, &principal, &tenant, req).await?;
    Ok((status, ApiJson(pushed)).into_response())
}

/// Validates, ingests and records a push. Used by the handler and the demo seed.
pub async fn push(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: ReleasePush,
) -> Result<(StatusCode, Pushed), ApiError> {
    check_name("product", &req.product, b"")?;
    check_name("tag", &req.tag, b"+")?;
    if req.artefacts.is_empty() || req.artefacts.len() > MAX_ARTEFACTS {
        return Err(ApiError::Unprocessable(format!(
            "/artefacts: a release has 1 to {MAX_ARTEFACTS} artefacts"
        )));
    }
    let mut artefacts = Vec::with_capacity(req.artefacts.len());
    for (i, a) in req.artefacts.iter().enumerate() {
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
            return Err(ApiError::Unprocessable(format!(
                "/artefacts/{i}/name: must be 1 to 256 characters, none of them control characters"
            )));
        }
        let ok = a.digest.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !ok {
            return Err(ApiError::Unprocessable(format!(
                "/artefacts/{i}/digest: {:?} is not sha256: followed by 64 lowercase hex digits",
                a.digest
            )));
        }
        if artefacts.iter().any(|x: &Artefact| x.name == name) {
            return Err(ApiError::Unprocessable(format!(
                "/artefacts/{i}/name: {name:?} is listed twice"
            )));
        }
        artefacts.push(Artefact {
            name: name.to_owned(),
            digest: a.digest.clone(),
            media_type: a.media_type.clone(),
        });
    }
    let sbom_bytes = match req.sbom.encoding {
        Encoding::Utf8 => req.sbom.content.into_bytes(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(req.sbom.content.trim())
            .map_err(|e| ApiError::Unprocessable(format!("/sbom/content: is not base64: {e}")))?,
    };
    if sbom_bytes.is_empty() {
        return Err(ApiError::Unprocessable("/sbom/content: is empty".into()));
    }
    let sbom_sha256 = sha256_hex(&sbom_bytes);
    // Reuse the model fixed at first ingest of these exact bytes, so a
    // re-push exports the same bytes even after an upgrade of the readers.
    let stored_model = state
        .store()
        .app_get(format!("model/{sbom_sha256}").as_bytes())?;
    // At most one ingest per core at once: each holds a document and its
    // model in memory, and a burst of large pushes must queue, not pile up.
    let permit = state.ingest_permit().await;
    let (ingested, sbom_bytes) = tokio::task::spawn_blocking(move || {
        let r = evident_sbom::ingest(&sbom_bytes);
        drop(permit);
        (r, sbom_bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("ingest task failed: {e}")))?;
    let ingested = ingested.map_err(|e| ApiError::Unprocessable(format!("/sbom/content: {e}")))?;
    let mut warnings = ingested.warnings;
    let model = match &stored_model {
        Some(b) => Model::from_json(b)
            .map_err(|e| ApiError::Internal(format!("stored model {sbom_sha256}: {e}")))?,
        None => ingested.model,
    };

    let (provenance_bytes, provenance_predicate_type) = match &req.provenance {
        Some(env) => {
            let pt = check_provenance(env, &artefacts, &mut warnings)?;
            (Some(jcs(env)?), pt)
        }
        None => (None, None),
    };
    if let Some(f) = &req.findings {
        if depth(f) > evident_sbom::MAX_DEPTH {
            return Err(ApiError::Unprocessable(format!(
                "/findings: nesting deeper than {} levels is not accepted",
                evident_sbom::MAX_DEPTH
            )));
        }
    }
    let findings_bytes = req.findings.as_ref().map(jcs).transpose()?;
    let provenance_sha256 = provenance_bytes.as_deref().map(sha256_hex);
    let findings_sha256 = findings_bytes.as_deref().map(sha256_hex);
    let content_sha256 = {
        let mut sorted = artefacts.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        sha256_hex(&jcs(&serde_json::json!({
            "artefacts": sorted,
            "sbom_sha256": sbom_sha256,
            "provenance_sha256": provenance_sha256,
            "findings_sha256": findings_sha256,
        }))?)
    };

    let prepared = Prepared {
        product: req.product,
        tag: req.tag,
        artefacts,
        sbom_bytes,
        sbom_sha256,
        model,
        model_stored: stored_model.is_some(),
        provenance_bytes,
        provenance_sha256,
        provenance_predicate_type,
        findings_bytes,
        findings_sha256,
        content_sha256,
        warnings,
    };
    // The commit runs in its own task: if the client goes away, the task
    // still holds the release lock until its batch has committed, so the
    // next push cannot number the same revision.
    tokio::spawn(commit(
        state.clone(),
        principal.clone(),
        tenant.to_owned(),
        prepared,
    ))
    .await
    .map_err(|e| ApiError::Internal(format!("release commit task failed: {e}")))?
}

/// A validated push, ready to commit.
struct Prepared {
    product: String,
    tag: String,
    artefacts: Vec<Artefact>,
    sbom_bytes: Vec<u8>,
    sbom_sha256: String,
    model: Model,
    model_stored: bool,
    provenance_bytes: Option<Vec<u8>>,
    provenance_sha256: Option<String>,
    provenance_predicate_type: Option<String>,
    findings_bytes: Option<Vec<u8>>,
    findings_sha256: Option<String>,
    content_sha256: String,
    warnings: Vec<Warning>,
}

async fn commit(
    state: AppState,
    principal: Principal,
    tenant: String,
    p: Prepared,
) -> Result<(StatusCode, Pushed), ApiError> {
    let (state, tenant) = (&state, tenant.as_str());
    let Prepared {
        product,
        tag,
        artefacts,
        sbom_bytes,
        sbom_sha256,
        model,
        model_stored,
        provenance_bytes,
        provenance_sha256,
        provenance_predicate_type,
        findings_bytes,
        findings_sha256,
        content_sha256,
        warnings,
    } = p;
    let _lock = state.tenant_lock(tenant).await;
    let existing = revisions(state, tenant, &product, &tag)?;
    if let Some(last) = existing.last() {
        if last.content_sha256 == content_sha256 {
            return Ok((
                StatusCode::OK,
                Pushed {
                    created: false,
                    release: last.clone(),
                },
            ));
        }
    }
    let revision = existing.last().map_or(1, |r| r.revision + 1);
    let pushed_at_unix = now_unix();
    let release = Release {
        tenant: tenant.to_owned(),
        product: product.clone(),
        tag: tag.clone(),
        revision,
        artefacts: Vec::new(),
        pushed_at: pushed_at_unix,
        spdx_namespace: String::new(),
        tool_version: String::new(),
    };
    let mut record = ReleaseRecord {
        product: product.clone(),
        tag: tag.clone(),
        revision,
        pushed_at: rfc3339(pushed_at_unix),
        pushed_at_unix,
        pushed_by: match &principal {
            Principal::Tenant { token_id, .. } | Principal::Operator { token_id } => {
                token_id.clone()
            }
            // Pushes need a push token; a customer never gets here.
            Principal::Customer { customer, .. } => customer.clone(),
        },
        artefacts: artefacts.clone(),
        sbom: SbomInfo {
            sha256: sbom_sha256.clone(),
            size: sbom_bytes.len() as u64,
            format: model.format,
            spec_version: model.spec_version.clone(),
            components: model.components.len() as u64 + u64::from(model.subject.is_some()),
        },
        provenance_sha256: provenance_sha256.clone(),
        provenance_predicate_type,
        findings_sha256,
        content_sha256,
        serial_number: release.serial_number(),
        spdx_namespace: Release::namespace_for(
            &format!("https://{}", state.public_host()),
            tenant,
            &product,
            &tag,
            revision,
        ),
        warnings,
        tool_version: current_version(),
        log_index: None,
    };
    let mut ops: Vec<AppOp> = Vec::new();
    let mut put_blob = |bytes: Vec<u8>, sha: &str| -> Result<(), ApiError> {
        let key = format!("blob/{sha}");
        if state.store().app_get(key.as_bytes())?.is_none() {
            ops.push((key.into_bytes(), Some(bytes)));
        }
        Ok(())
    };
    put_blob(sbom_bytes, &sbom_sha256)?;
    if let (Some(b), Some(h)) = (provenance_bytes, &provenance_sha256) {
        put_blob(b, h)?;
    }
    if let (Some(b), Some(h)) = (findings_bytes, &record.findings_sha256.clone()) {
        put_blob(b, h)?;
    }
    if !model_stored {
        ops.push((
            format!("model/{sbom_sha256}").into_bytes(),
            Some(model.to_json()),
        ));
    }
    ops.push((
        rev_key("release", tenant, &product, &tag, revision).into_bytes(),
        Some(serde_json::to_vec(&record).map_err(|e| ApiError::Internal(e.to_string()))?),
    ));
    let event = EventBody::ReleasePushed {
        product: product.clone(),
        tag: tag.clone(),
        revision,
        artefacts: artefacts.iter().map(|a| a.digest.clone()).collect(),
        sbom_sha256,
        provenance_sha256,
    };
    let index = state
        .record_indexed(
            tenant,
            vec![(principal.actor(), event)],
            ops,
            vec![rev_key("release-log", tenant, &product, &tag, revision).into_bytes()],
        )
        .await?;
    record.log_index = Some(index);
    Ok((
        StatusCode::CREATED,
        Pushed {
            created: true,
            release: record,
        },
    ))
}

/// Nesting depth of a JSON value (a scalar is 0).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn jcs<T: Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_jcs::to_vec(v)
        .map_err(|e| ApiError::Unprocessable(format!("not canonicalisable JSON: {e}")))
}

pub(crate) fn index_at(state: &AppState, key: &str) -> Result<Option<u64>, ApiError> {
    Ok(state
        .store()
        .app_get(key.as_bytes())?
        .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes)))
}

/// Every revision of a release, oldest first.
fn revisions(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<Vec<ReleaseRecord>, ApiError> {
    let p = format!("release/{}", prefix(tenant, product, tag));
    let mut out = Vec::new();
    for (k, v) in state.store().app_scan(p.as_bytes())? {
        let mut r: ReleaseRecord = serde_json::from_slice(&v).map_err(|e| {
            ApiError::Internal(format!(
                "release record {}: {e}",
                String::from_utf8_lossy(&k)
            ))
        })?;
        r.log_index = index_at(
            state,
            &rev_key("release-log", tenant, product, tag, r.revision),
        )?;
        out.push(r);
    }
    Ok(out)
}

/// One release (tag) with its revisions.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReleaseSummary {
    /// Tag.
    pub tag: String,
    /// The latest revision.
    pub latest_revision: u32,
    /// When the latest revision was pushed.
    pub pushed_at: String,
    /// Every revision, oldest first.
    pub revisions: Vec<ReleaseRecord>,
}

/// `GET /api/v1/tenants/{tenant}/products/{product}/releases`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, product)): Path<(String, String)>,
) -> Result<ApiJson<Vec<ReleaseSummary>>, ApiError> {
    let customer = visible_customer(&state, &principal, &tenant)?;
    state.tenant_log(&tenant)?;
    let p = format!("release/{tenant}/{product}/");
    let mut tags: Vec<String> = Vec::new();
    for (k, _) in state.store().app_scan(p.as_bytes())? {
        let rest = String::from_utf8_lossy(&k[p.len()..]).into_owned();
        if let Some((tag, _)) = rest.split_once('/') {
            if tags.last().map(String::as_str) != Some(tag) {
                tags.push(tag.to_owned());
            }
        }
    }
    if let Some(c) = &customer {
        let all = crate::customers::product_releases(&state, &tenant, &product)?;
        tags.retain(|t| c.entitled(&product, t, &all));
    }
    if tags.is_empty() {
        return Err(ApiError::not_found());
    }
    let mut out = Vec::new();
    for tag in tags {
        let revs = revisions(&state, &tenant, &product, &tag)?;
        let Some(last) = revs.last() else { continue };
        out.push(ReleaseSummary {
            tag,
            latest_revision: last.revision,
            pushed_at: last.pushed_at.clone(),
            revisions: revs,
        });
    }
    out.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.tag.cmp(&b.tag))
    });
    Ok(ApiJson(out))
}

/// `GET /api/v1/tenants/{tenant}/products`: product names.
pub async fn products(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<String>>, ApiError> {
    let customer = visible_customer(&state, &principal, &tenant)?;
    state.tenant_log(&tenant)?;
    if let Some(c) = customer {
        let mut out: Vec<String> = crate::customers::entitled_releases(&state, &c)?
            .into_iter()
            .map(|(p, _, _)| p)
            .collect();
        out.dedup();
        return Ok(ApiJson(out));
    }
    let p = format!("release/{tenant}/");
    let mut out: Vec<String> = Vec::new();
    for (k, _) in state.store().app_scan(p.as_bytes())? {
        let rest = String::from_utf8_lossy(&k[p.len()..]).into_owned();
        if let Some((product, _)) = rest.split_once('/') {
            if out.last().map(String::as_str) != Some(product) {
                out.push(product.to_owned());
            }
        }
    }
    Ok(ApiJson(out))
}

/// `GET /api/v1/tenants/{tenant}/products/{product}/releases/{tag}`.
pub async fn get_release(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, product, tag)): Path<(String, String, String)>,
) -> Result<ApiJson<ReleaseSummary>, ApiError> {
    crate::customers::can_read(&state, &principal, &tenant, &product, &tag)?;
    state.tenant_log(&tenant)?;
    let revs = revisions(&state, &tenant, &product, &tag)?;
    let last = revs.last().ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(ReleaseSummary {
        tag: tag.clone(),
        latest_revision: last.revision,
        pushed_at: last.pushed_at.clone(),
        revisions: revs,
    }))
}

/// `?format=…&revision=N`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Output format.
    #[serde(default)]
    pub format: Option<String>,
    /// Revision; the latest when absent.
    #[serde(default)]
    pub revision: Option<u32>,
}

/// Loads one revision (the latest by default) and its model.
pub(crate) fn load(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
    revision: Option<u32>,
) -> Result<(ReleaseRecord, Release), ApiError> {
    let revs = revisions(state, tenant, product, tag)?;
    let rec = match revision {
        Some(n) => revs.into_iter().find(|r| r.revision == n),
        None => revs.into_iter().last(),
    }
    .ok_or_else(ApiError::not_found)?;
    let release = Release {
        tenant: tenant.to_owned(),
        product: rec.product.clone(),
        tag: rec.tag.clone(),
        revision: rec.revision,
        artefacts: rec
            .artefacts
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.digest.trim_start_matches("sha256:").to_owned(),
                )
            })
            .collect(),
        pushed_at: rec.pushed_at_unix,
        spdx_namespace: rec.spdx_namespace.clone(),
        tool_version: rec.tool_version.clone(),
    };
    Ok((rec, release))
}

pub(crate) fn model(state: &AppState, rec: &ReleaseRecord) -> Result<Arc<Model>, ApiError> {
    let sha = &rec.sbom.sha256;
    if let Some(m) = state.cached_model(sha) {
        return Ok(m);
    }
    let bytes = state
        .store()
        .app_get(format!("model/{sha}").as_bytes())?
        .ok_or_else(|| ApiError::Internal(format!("model {sha} is missing")))?;
    let m = Arc::new(
        Model::from_json(&bytes).map_err(|e| ApiError::Internal(format!("model {sha}: {e}")))?,
    );
    state.cache_model(sha, m.clone(), bytes.len());
    Ok(m)
}

/// A download: body, media type, attachment name, and `Repr-Digest` (of
/// bytes whose SHA-256 is already known).
pub(crate) fn attachment_with(
    bytes: impl Into<Body>,
    sha: &[u8],
    media_type: &str,
    file_name: &str,
) -> Response {
    let digest = base64::engine::general_purpose::STANDARD.encode(sha);
    let mut res = Response::new(bytes.into());
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        h.insert("repr-digest", v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// The `format=` of an export query (CycloneDX JSON when absent); 422
/// listing the accepted values otherwise.
pub(crate) fn export_format(q: &ExportQuery) -> Result<ExportFormat, ApiError> {
    match q.format.as_deref() {
        None => Ok(ExportFormat::CyclonedxJson),
        Some(f) => ExportFormat::parse(f).ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "format {f:?} is not one of {}",
                ExportFormat::ALL.map(ExportFormat::name).join(", ")
            ))
        }),
    }
}

/// `GET …/releases/{tag}/sbom/original?revision=N`: the bytes as pushed.
pub async fn original(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, product, tag)): Path<(String, String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    principal.require(&tenant, READERS)?;
    state.tenant_log(&tenant)?;
    if q.format.is_some() {
        return Err(ApiError::Unprocessable(
            "the original has no format= choice".into(),
        ));
    }
    let (rec, _) = load(&state, &tenant, &product, &tag, q.revision)?;
    let bytes = state
        .store()
        .app_get(format!("blob/{}", rec.sbom.sha256).as_bytes())?
        .ok_or_else(|| ApiError::Internal(format!("blob {} is missing", rec.sbom.sha256)))?;
    let (media, ext) = match rec.sbom.format {
        SourceFormat::CyclonedxJson => ("application/vnd.cyclonedx+json", "cdx.json"),
        SourceFormat::CyclonedxXml => ("application/vnd.cyclonedx+xml", "cdx.xml"),
        SourceFormat::SpdxJson => ("application/spdx+json", "spdx.json"),
        SourceFormat::SpdxTagValue => ("text/spdx", "spdx"),
    };
    let name = format!("sbom-{product}-{tag}-original.{ext}");
    let d = Download::new(&rec, Artifact::ORIGINAL, None, bytes, media, name);
    crate::downloads::deliver(&state, &principal, &tenant, d).await
}

/// `GET …/releases/{tag}/notice?format=text|markdown|html&revision=N`.
pub async fn notice(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, product, tag)): Path<(String, String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    crate::customers::can_read(&state, &principal, &tenant, &product, &tag)?;
    state.tenant_log(&tenant)?;
    let f = match q.format.as_deref() {
        None => NoticeFormat::Text,
        Some(f) => NoticeFormat::parse(f).ok_or_else(|| {
            ApiError::Unprocessable(format!("format {f:?} is not one of text, markdown, html"))
        })?,
    };
    let (rec, release) = load(&state, &tenant, &product, &tag, q.revision)?;
    // A NOTICE is as byte-stable as an export: kept in the same cache.
    let cache_key = format!(
        "{}{}/notice.{}",
        prefix(&tenant, &rec.product, &rec.tag),
        rec.revision,
        f.extension()
    );
    let (body, sha256) = match state.cached_export(&cache_key) {
        Some(hit) => hit,
        None => {
            let m = model(&state, &rec)?;
            let bytes = axum::body::Bytes::from(f.write(&m, &release));
            let sha: [u8; 32] = Sha256::digest(&bytes).into();
            state.cache_export(&cache_key, bytes.clone(), sha);
            (bytes, sha)
        }
    };
    let d = Download {
        rec: &rec,
        artifact: Artifact::NOTICE,
        format: Some(q.format.as_deref().unwrap_or("text")),
        body,
        sha256,
        media_type: f.media_type(),
        file_name: format!("NOTICE-{product}-{tag}.{}", f.extension()),
    };
    crate::downloads::deliver(&state, &principal, &tenant, d).await
}

/// For a customer of `tenant`, its record (listings are filtered by it);
/// `None` for the tenant's admin, auditor and push tokens; 404 for anyone else.
fn visible_customer(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Option<crate::customers::CustomerRecord>, ApiError> {
    match principal {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if t == tenant => Ok(Some(
            crate::customers::load(state, tenant, customer)?.ok_or_else(ApiError::not_found)?,
        )),
        _ => principal.require(tenant, READERS).map(|()| None),
    }
}

/// The latest revision's model and export context, for `evident bench sbom`.
pub fn bench_release(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<(Model, Release), ApiError> {
    let (rec, release) = load(state, tenant, product, tag, None)?;
    Ok(((*model(state, &rec)?).clone(), release))
}
