//! Logged downloads and their receipts.
//!
//! Every download of release evidence (an export, its signature, token or
//! bundles, the kit, `verify.sh`, a NOTICE), by anyone, appends a
//! `download_served` event to the tenant's log: who (the customer, and the
//! OIDC issuer, subject and e-mail, or the token id), what (release,
//! revision, artifact, format), the SHA-256 of the exact bytes, and when.
//! The response is built only after that entry is durable (the log's group
//! commit), so a download whose entry could not be written is not served.
//! It carries `X-Evident-Log-Index: N` and a `Link` to its receipt,
//! `GET /api/v1/tenants/{t}/receipts/{N}`: the entry, its inclusion proof,
//! the signed checkpoint and the checkpoint's RFC 3161 token.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_verify::receipt::{Receipt, FORMAT};
use sha2::{Digest, Sha256};

use crate::{
    auth::{Principal, Scope},
    error::{ApiError, ApiJson},
    events::{EventBody, Subject},
    releases::ReleaseRecord,
    state::AppState,
};

/// What was downloaded.
#[derive(Debug, Clone, Copy)]
pub struct Artifact(pub &'static str);

impl Artifact {
    /// `…/sbom`.
    pub const EXPORT: Self = Self("export");
    /// `…/sbom.sig`.
    pub const SIGNATURE: Self = Self("signature");
    /// `…/sbom.sig.tsr`.
    pub const SIGNATURE_TIMESTAMP: Self = Self("signature-timestamp");
    /// `…/sbom.sigstore.json`.
    pub const SIGNATURE_BUNDLE: Self = Self("signature-bundle");
    /// `…/sbom.intoto.sigstore.json`.
    pub const ATTESTATION_BUNDLE: Self = Self("attestation-bundle");
    /// `…/verify.sh`.
    pub const VERIFY_SCRIPT: Self = Self("verify-script");
    /// `…/sbom-kit.tar.gz`.
    pub const KIT: Self = Self("kit");
    /// `…/notice`.
    pub const NOTICE: Self = Self("notice");
    /// `…/sbom/original`.
    pub const ORIGINAL: Self = Self("original");
}

/// The customer and subject a principal downloads as.
fn who(principal: &Principal) -> (Option<String>, Subject) {
    match principal {
        Principal::Customer {
            customer, subject, ..
        } => (Some(customer.clone()), subject.clone()),
        Principal::Tenant { token_id, .. } | Principal::Operator { token_id } => (
            None,
            Subject::Token {
                token_id: token_id.clone(),
            },
        ),
    }
}

/// One file as it is downloaded: the release it belongs to, what it is,
/// its exact bytes and their SHA-256, and how it is named.
#[derive(Debug)]
pub struct Download<'a> {
    /// The release revision.
    pub rec: &'a ReleaseRecord,
    /// What the file is.
    pub artifact: Artifact,
    /// The format asked for, if the artifact has one.
    pub format: Option<&'a str>,
    /// The exact bytes served.
    pub body: Bytes,
    /// Their SHA-256.
    pub sha256: [u8; 32],
    /// `Content-Type`.
    pub media_type: &'a str,
    /// The attachment's file name.
    pub file_name: String,
}

impl<'a> Download<'a> {
    /// A download of `body`, whose digest is computed here.
    pub fn new(
        rec: &'a ReleaseRecord,
        artifact: Artifact,
        format: Option<&'a str>,
        body: impl Into<Bytes>,
        media_type: &'a str,
        file_name: String,
    ) -> Self {
        let body = body.into();
        Self {
            rec,
            artifact,
            format,
            sha256: Sha256::digest(&body).into(),
            body,
            media_type,
            file_name,
        }
    }
}

/// Logs the download and only then answers it: an attachment with
/// `Repr-Digest`, `X-Evident-Log-Index` and the receipt's `Link`. Nothing
/// is served when the append fails.
pub async fn deliver(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    d: Download<'_>,
) -> Result<Response, ApiError> {
    let (customer_id, subject) = who(principal);
    let event = EventBody::DownloadServed {
        customer_id,
        subject,
        product: d.rec.product.clone(),
        tag: d.rec.tag.clone(),
        revision: d.rec.revision,
        artifact: d.artifact.0.to_owned(),
        format: d.format.map(str::to_owned),
        sha256: hex::encode(d.sha256),
    };
    let index = state
        .record(tenant, principal.actor(), event, Vec::new())
        .await?;
    let mut res = crate::releases::attachment_with(d.body, &d.sha256, d.media_type, &d.file_name);
    let h = res.headers_mut();
    h.insert("x-evident-log-index", HeaderValue::from(index));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "</api/v1/tenants/{tenant}/receipts/{index}>; rel=\"evident-receipt\""
    )) {
        h.insert(header::LINK, v);
    }
    Ok(res)
}

/// `GET /api/v1/tenants/{t}/receipts/{index}`: the receipt of a download,
/// for the customer who downloaded, or the tenant's admins and auditors.
/// Any other entry, and anyone else, is 404.
pub async fn receipt(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let index: u64 = index.parse().map_err(|_| {
        ApiError::Unprocessable(format!("receipt index {index:?} is not a log index"))
    })?;
    let staff = principal
        .require(&tenant, &[Scope::Admin, Scope::Auditor])
        .is_ok();
    let customer = match &principal {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if *t == tenant => Some(customer.clone()),
        _ => None,
    };
    if !staff && customer.is_none() {
        return Err(ApiError::not_found());
    }
    let log = state.tenant_log(&tenant)?;
    let cp = log.checkpoint().await?;
    if index >= cp.size {
        return Err(ApiError::not_found());
    }
    let leaf = log
        .entries(index, index + 1, 1)?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    let v: serde_json::Value = serde_json::from_slice(&leaf)
        .map_err(|e| ApiError::Internal(format!("log entry {index}: {e}")))?;
    let ev = &v["event"];
    if ev["kind"] != "download_served" {
        return Err(ApiError::not_found());
    }
    if !staff && ev["customer_id"].as_str() != customer.as_deref() {
        return Err(ApiError::not_found());
    }
    let hashes = log.inclusion_proof(index, cp.size)?;
    let (st, t, size, note) = (state.clone(), tenant.clone(), cp.size, cp.note.clone());
    // The checkpoint's token when one can be had; a receipt without it is
    // still a proof of inclusion.
    let token =
        tokio::task::spawn_blocking(move || crate::log_api::stamp_checkpoint(&st, &t, size, &note))
            .await
            .map_err(|e| ApiError::Internal(format!("timestamp task failed: {e}")))?;
    let checkpoint_timestamp = match token {
        Ok(t) => Some(STANDARD.encode(t)),
        Err(ApiError::TsaUnavailable(_)) => None,
        Err(e) => return Err(e),
    };
    let r = Receipt {
        format: FORMAT.into(),
        index,
        entry: String::from_utf8(leaf)
            .map_err(|e| ApiError::Internal(format!("log entry {index}: {e}")))?,
        tree_size: cp.size,
        inclusion_proof: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
        checkpoint: cp.note,
        checkpoint_timestamp,
    };
    let mut res = ApiJson(r).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
