//! Logged downloads and their receipts.
//!
//! Every download of release evidence (an export, its signature, token or
//! bundles, the kit, `verify.sh`, a NOTICE), by anyone, appends a
//! `download_served` event to the tenant's log: who (the customer, and the
//! OIDC issuer, subject and e-mail, or the token id), what (release,
//! revision, artifact, format), the SHA-256 of the exact bytes, and when.
//! [`record`] returns only once that entry is durable (the log's group
//! commit); the HTTP layer sends the first byte only after it. A receipt
//! ([`receipt`]) is the entry, its inclusion proof, the signed checkpoint
//! and the checkpoint's RFC 3161 token.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use evident_verify::receipt::{
    list_digest, Receipt, ReceiptList, FORMAT, FORMAT_WITNESSED, LIST_FORMAT,
};
use sha2::{Digest, Sha256};

use crate::{
    core::{
        events::{EventBody, LogEvent, Subject},
        policy::{allow, Action, Resource},
        release::ReleaseRecord,
        Error, Principal,
    },
    service::{blocking, logs, metrics::Channel, witnesses, AppState},
};

/// What was downloaded.
#[derive(Debug, Clone, Copy)]
pub struct Artifact(pub &'static str);

impl Artifact {
    /// `…/sbom`.
    pub const EXPORT: Self = Self("export");
    /// `…/products/{p}/diff`: a signed diff between two releases.
    pub const DIFF: Self = Self("diff");
    /// `…/documents/{id}`: a compliance document.
    pub const DOCUMENT: Self = Self("document");
    /// `…/advisories/{id}/csaf`: a CSAF security advisory.
    pub const ADVISORY: Self = Self("advisory");
    /// `…/releases/{tag}/aggregate`: a product release's aggregate SBOM.
    pub const AGGREGATE: Self = Self("aggregate");
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
    /// `…/vex`.
    pub const VEX: Self = Self("vex");
    /// `…/regulator-requests/{id}/bundle`.
    pub const REGULATOR_BUNDLE: Self = Self("regulator-bundle");
}

/// One file as it is downloaded: the release it belongs to, what it is,
/// its exact bytes and their SHA-256, and how it is named.
#[derive(Debug)]
pub struct Download {
    /// The release revision.
    pub rec: ReleaseRecord,
    /// What the file is.
    pub artifact: Artifact,
    /// The format asked for, if the artifact has one.
    pub format: Option<String>,
    /// The exact bytes served.
    pub body: Bytes,
    /// Their SHA-256.
    pub sha256: [u8; 32],
    /// `Content-Type`.
    pub media_type: String,
    /// The attachment's file name.
    pub file_name: String,
    /// The export key that issued the file's export, when there is one.
    pub key_id: Option<String>,
    /// True when the TSA gave no token for evidence that carries one.
    pub timestamp_missing: bool,
}

impl Download {
    /// A download of `body`, whose digest is computed here.
    pub fn new(
        rec: ReleaseRecord,
        artifact: Artifact,
        format: Option<&str>,
        body: impl Into<Bytes>,
        media_type: &str,
        file_name: String,
    ) -> Self {
        let body = body.into();
        Self {
            rec,
            artifact,
            format: format.map(str::to_owned),
            sha256: Sha256::digest(&body).into(),
            body,
            media_type: media_type.to_owned(),
            file_name,
            key_id: None,
            timestamp_missing: false,
        }
    }
}

/// Appends the `download_served` entry of `d` and returns its index once
/// durable. Nothing may be served when this fails.
pub async fn record(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    d: &Download,
) -> Result<u64, Error> {
    let (customer_id, subject) = principal.download_subject().ok_or_else(|| {
        Error::Internal("a share link's downloads are share_link_used events".into())
    })?;
    let event = EventBody::DownloadServed {
        customer_id,
        subject,
        product: d.rec.product.clone(),
        tag: d.rec.tag.clone(),
        revision: d.rec.revision,
        artifact: d.artifact.0.to_owned(),
        format: d.format.clone(),
        sha256: hex::encode(d.sha256),
        bytes: Some(d.body.len() as u64),
    };
    let index = state
        .record(tenant, principal.actor(), event, Vec::new())
        .await?;
    let channel = match principal {
        Principal::Customer {
            subject: Subject::Oidc { .. },
            ..
        } => Channel::Sso,
        Principal::Customer { .. } => Channel::CustomerToken,
        Principal::Operator { .. } => Channel::OperatorToken,
        Principal::Tenant { .. } | Principal::ShareLink { .. } => Channel::TenantToken,
        Principal::Public { .. } => Channel::Public,
    };
    state
        .metrics()
        .download(tenant, channel, d.artifact.0, d.body.len() as u64);
    Ok(index)
}

/// The receipt of download entry `index`: for the customer who
/// downloaded, or the tenant's admins and auditors (who also get the
/// receipts of downloads through share links). Any other entry, and
/// anyone else, is 404.
pub async fn receipt(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    index: u64,
) -> Result<Receipt, Error> {
    // Staff, or a customer of this tenant (whose own entry is checked below).
    let may_ask = allow(
        principal,
        Action::ReadReceipt,
        Resource::Receipt {
            tenant,
            downloaded_by: None,
            downloaded_by_client: None,
        },
    )
    .is_ok()
        || matches!(principal,
            Principal::Customer { tenant: t, .. } | Principal::Public { tenant: t, .. } if t == tenant);
    if !may_ask {
        return Err(Error::not_found());
    }
    proved(state, tenant, index, |ev| {
        let (downloaded_by, downloaded_by_client) = match ev["kind"].as_str() {
            Some("download_served") => (
                ev["customer_id"].as_str(),
                (ev["subject"]["type"] == "anonymous")
                    .then(|| ev["subject"]["client"].as_str())
                    .flatten(),
            ),
            Some("share_link_used") => (None, None),
            _ => return Err(Error::not_found()),
        };
        allow(
            principal,
            Action::ReadReceipt,
            Resource::Receipt {
                tenant,
                downloaded_by,
                downloaded_by_client,
            },
        )
    })
    .await
}

/// Entry `index` of `tenant`'s log as a receipt, once `admit` accepts its
/// event (else its error): the entry, its inclusion proof against the
/// latest checkpoint a witness cosigned when one covers the entry (with
/// the cosignature lines), else the latest signed checkpoint, and that
/// checkpoint's RFC 3161 token when one can be had. An index beyond the
/// tree is 404.
pub async fn proved(
    state: &AppState,
    tenant: &str,
    index: u64,
    admit: impl FnOnce(&serde_json::Value) -> Result<(), Error>,
) -> Result<Receipt, Error> {
    let log = state.tenant_log(tenant)?;
    let latest = log.checkpoint().await?;
    if index >= latest.size {
        return Err(Error::not_found());
    }
    let (cp, cosignatures) = match witnesses::covering(state, &log, tenant, index)? {
        Some(c) => c,
        None => (latest, Vec::new()),
    };
    let leaf = log
        .entries(index, index + 1, 1)?
        .pop()
        .ok_or_else(Error::not_found)?;
    let v: serde_json::Value = serde_json::from_slice(&leaf)
        .map_err(|e| Error::Internal(format!("log entry {index}: {e}")))?;
    admit(&v["event"])?;
    let hashes = log.inclusion_proof(index, cp.size)?;
    let (st, t, size, note) = (state.clone(), tenant.to_owned(), cp.size, cp.note.clone());
    // The checkpoint's token when one can be had; a receipt without it is
    // still a proof of inclusion.
    let token = blocking("timestamp", move || {
        logs::stamp_checkpoint(&st, &t, size, &note)
    })
    .await;
    let checkpoint_timestamp = match token {
        Ok(t) => Some(STANDARD.encode(t)),
        Err(Error::TsaUnavailable(_)) => None,
        Err(e) => return Err(e),
    };
    Ok(Receipt {
        format: if cosignatures.is_empty() {
            FORMAT
        } else {
            FORMAT_WITNESSED
        }
        .into(),
        index,
        entry: String::from_utf8(leaf)
            .map_err(|e| Error::Internal(format!("log entry {index}: {e}")))?,
        tree_size: cp.size,
        inclusion_proof: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
        checkpoint: cp.note,
        checkpoint_timestamp,
        cosignatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{events::Subject, Scope};

    /// A receipt is the download's entry, proved against the latest signed
    /// checkpoint (which verifies with the log's key), for the customer who
    /// downloaded and the tenant's staff only; any other entry is 404.
    #[tokio::test]
    async fn receipts_prove_a_download_to_its_customer_and_to_staff_only() {
        let d = tempfile::tempdir().unwrap();
        let (st, t) = crate::service::tenancy::state_with_acme(d.path()).await;
        let rec = ReleaseRecord {
            product: "shop".into(),
            tag: "v1".into(),
            revision: 1,
            pushed_at: "2026-01-01T00:00:00Z".into(),
            pushed_at_unix: 0,
            pushed_by: "t".into(),
            artefacts: vec![],
            sbom: crate::core::release::SbomInfo {
                sha256: "00".repeat(32),
                size: 0,
                format: evident_sbom::SourceFormat::CyclonedxJson,
                spec_version: "1.6".into(),
                components: 0,
            },
            provenance_sha256: None,
            provenance_predicate_type: None,
            findings_sha256: None,
            content_sha256: String::new(),
            serial_number: String::new(),
            spdx_namespace: String::new(),
            warnings: vec![],
            tool_version: "0".into(),
            log_index: None,
            components: Vec::new(),
        };
        let ann = Principal::Customer {
            tenant: "acme".into(),
            customer: "ann".into(),
            subject: Subject::Token {
                token_id: "a".into(),
            },
        };
        let dl = Download::new(
            rec,
            Artifact::EXPORT,
            Some("x"),
            &b"bytes"[..],
            "x",
            "f".into(),
        );
        let index = record(&st, &ann, "acme", &dl).await.unwrap();
        let r = receipt(&st, &ann, "acme", index).await.unwrap();
        let key = evident_verify::note::NoteVerifier::parse(&t.log_key).unwrap();
        let v = evident_verify::receipt::verify_receipt(&r, &key, Some(b"bytes"), None).unwrap();
        assert_eq!(v.event["customer_id"], "ann");
        assert!(evident_verify::receipt::verify_receipt(&r, &key, Some(b"other"), None).is_err());
        let admin = Principal::Tenant {
            tenant: "acme".into(),
            token_id: t.admin_token.id.clone(),
            scope: Scope::Admin,
        };
        assert!(receipt(&st, &admin, "acme", index).await.is_ok());
        let bob = Principal::Customer {
            tenant: "acme".into(),
            customer: "bob".into(),
            subject: Subject::Token {
                token_id: "b".into(),
            },
        };
        assert_eq!(
            receipt(&st, &bob, "acme", index).await.unwrap_err(),
            Error::not_found()
        );
        let push = Principal::Tenant {
            tenant: "acme".into(),
            token_id: "p".into(),
            scope: Scope::Push,
        };
        assert!(receipt(&st, &push, "acme", index).await.is_err());
        // Entry 0 is `tenant_created`, not a download.
        assert_eq!(
            receipt(&st, &admin, "acme", 0).await.unwrap_err(),
            Error::not_found()
        );
    }
}

/// The most receipts one export holds.
pub const MAX_EXPORTED_RECEIPTS: usize = 1000;

/// The calling customer's own downloads with their receipts, newest first
/// (at most [`MAX_EXPORTED_RECEIPTS`], within `from`..`to` when given,
/// RFC 3339), as one list that `evident-verify receipts` checks. The
/// export appends `receipts_exported`, whose count and digest fix which
/// receipts the list has, and carries that entry's receipt too.
pub async fn export_receipts(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    from: Option<String>,
    to: Option<String>,
) -> Result<ReceiptList, Error> {
    let Principal::Customer { customer, .. } = principal else {
        return Err(Error::not_found());
    };
    let mut indexes = Vec::new();
    let mut cursor = None;
    let mut more = false;
    loop {
        let page = crate::service::audit::own_downloads(
            state,
            principal,
            tenant,
            cursor.take(),
            Some(crate::service::audit::MAX_LIMIT),
            (from.clone(), to.clone()),
        )
        .await?;
        indexes.extend(page.entries.iter().map(|e| e.index));
        match page.next_cursor {
            Some(c) if indexes.len() < MAX_EXPORTED_RECEIPTS => cursor = Some(c),
            Some(_) => {
                more = true;
                break;
            }
            None => break,
        }
    }
    let truncated = indexes.len() > MAX_EXPORTED_RECEIPTS || more;
    indexes.truncate(MAX_EXPORTED_RECEIPTS);
    let mut receipts = Vec::with_capacity(indexes.len());
    for i in indexes {
        receipts.push(proved(state, tenant, i, |_| Ok(())).await?);
    }
    let event = EventBody::ReceiptsExported {
        customer_id: customer.clone(),
        count: receipts.len() as u64,
        entries_sha256: list_digest(receipts.iter().map(|r| (r.index, r.entry.as_bytes()))),
        from: from.clone(),
        to: to.clone(),
        truncated,
    };
    let index = state
        .record(tenant, principal.actor(), event, Vec::new())
        .await?;
    let export = proved(state, tenant, index, |_| Ok(())).await?;
    Ok(ReceiptList {
        format: LIST_FORMAT.into(),
        tenant: tenant.to_owned(),
        customer_id: customer.clone(),
        from,
        to,
        truncated,
        receipts,
        export,
    })
}

/// One of a customer's own downloads, as "My downloads" lists it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OwnDownload {
    /// The entry's index in the tenant's log (its receipt is
    /// `GET /api/v1/tenants/{t}/receipts/{index}`).
    pub index: u64,
    /// When it was served, RFC 3339.
    pub time: String,
    /// Who downloaded: the signed-in user's e-mail (else the IdP's subject)
    /// or the access token's id.
    pub by: String,
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// What was served (`export`, `kit`, `signature-bundle`, …).
    pub artifact: String,
    /// The format, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// SHA-256 (hex) of the bytes served.
    pub sha256: String,
}

/// A page of "My downloads", newest first.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OwnDownloads {
    /// The downloads.
    pub downloads: Vec<OwnDownload>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One page of the calling customer's own downloads, newest first.
pub async fn own(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    cursor: Option<String>,
    limit: Option<usize>,
) -> Result<OwnDownloads, Error> {
    let a =
        crate::service::audit::own_downloads(state, principal, tenant, cursor, limit, (None, None))
            .await?;
    let downloads = a
        .entries
        .iter()
        .map(|e| {
            let v: LogEvent = serde_json::from_str(&e.entry).map_err(|err| {
                Error::Internal(format!("log entry {} is not an event: {err}", e.index))
            })?;
            let EventBody::DownloadServed {
                subject,
                product,
                tag,
                revision,
                artifact,
                format,
                sha256,
                ..
            } = v.event
            else {
                return Err(Error::Internal(format!(
                    "log entry {} is not a download",
                    e.index
                )));
            };
            Ok(OwnDownload {
                index: e.index,
                time: v.time,
                by: subject.label(),
                product,
                tag,
                revision,
                artifact,
                format,
                sha256,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(OwnDownloads {
        downloads,
        next_cursor: a.next_cursor,
    })
}
