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
use evident_verify::receipt::{Receipt, FORMAT, FORMAT_WITNESSED};
use sha2::{Digest, Sha256};

use crate::{
    core::{
        events::{EventBody, Subject},
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
        },
    )
    .is_ok()
        || matches!(principal, Principal::Customer { tenant: t, .. } if t == tenant);
    if !may_ask {
        return Err(Error::not_found());
    }
    proved(state, tenant, index, |ev| {
        let downloaded_by = match ev["kind"].as_str() {
            Some("download_served") => ev["customer_id"].as_str(),
            Some("share_link_used") => None,
            _ => return Err(Error::not_found()),
        };
        allow(
            principal,
            Action::ReadReceipt,
            Resource::Receipt {
                tenant,
                downloaded_by,
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
