//! Tenant export-signing keys (ECDSA P-256) and detached export signatures.
//!
//! Each tenant gets its key on first use: the private key is sealed under
//! the master key (`tenant-key/<tenant>/<key id>`), the public record is
//! kept in the clear (`tenant-pub/<tenant>/<key id>`) and listed by
//! `GET …/keys`, and its creation is a log event. The key id is the first 16
//! hex digits of SHA-256 over the SubjectPublicKeyInfo DER. Signatures are
//! ECDSA-SHA256 in DER over the exact bytes served, deterministic (RFC 6979),
//! so `openssl dgst -sha256 -verify key.pem -signature sig.der FILE` checks them.

use axum::extract::{Path, State};
use p256::{
    ecdsa::{signature::Signer, DerSignature, SigningKey},
    pkcs8::{EncodePublicKey, LineEnding},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    auth::{Principal, Scope},
    error::{ApiError, ApiJson},
    events::{now_unix, rfc3339, Actor, EventBody},
    state::AppState,
};

/// A tenant's public export key, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublicKeyRecord {
    /// First 16 hex digits of SHA-256 of the SubjectPublicKeyInfo DER.
    pub key_id: String,
    /// `ecdsa-p256-sha256`.
    pub algorithm: String,
    /// The public key, PEM (SubjectPublicKeyInfo).
    pub public_key_pem: String,
    /// RFC 3339: from when this key signs.
    pub valid_from: String,
    /// RFC 3339: when it stopped signing (absent while current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// The tenant's current signing key, created (and logged) on first use.
pub async fn current_key(
    state: &AppState,
    tenant: &str,
    actor: Actor,
) -> Result<(String, SigningKey), ApiError> {
    if let Some(k) = load_current(state, tenant)? {
        return Ok(k);
    }
    let _lock = state.release_lock().await;
    if let Some(k) = load_current(state, tenant)? {
        return Ok(k);
    }
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| ApiError::Internal(format!("encoding a public key: {e}")))?;
    let key_id = hex::encode(&Sha256::digest(spki.as_bytes())[..8]);
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| ApiError::Internal(format!("encoding a public key: {e}")))?;
    let rec = PublicKeyRecord {
        key_id: key_id.clone(),
        algorithm: "ecdsa-p256-sha256".into(),
        public_key_pem: pem,
        valid_from: rfc3339(now_unix()),
        valid_until: None,
    };
    let sealed = state
        .master()
        .seal(&format!("tenant-key/{tenant}"), &key.to_bytes());
    let ops = vec![
        (
            format!("tenant-key/{tenant}/{key_id}").into_bytes(),
            Some(sealed),
        ),
        (
            format!("tenant-pub/{tenant}/{key_id}").into_bytes(),
            Some(serde_json::to_vec(&rec).map_err(|e| ApiError::Internal(e.to_string()))?),
        ),
        (
            format!("tenant-key-current/{tenant}").into_bytes(),
            Some(key_id.clone().into_bytes()),
        ),
    ];
    let event = EventBody::ExportKeyCreated {
        key_id: key_id.clone(),
        public_key_sha256: hex::encode(Sha256::digest(spki.as_bytes())),
    };
    state.record(tenant, actor, event, ops).await?;
    Ok((key_id, key))
}

fn load_current(state: &AppState, tenant: &str) -> Result<Option<(String, SigningKey)>, ApiError> {
    let Some(id) = state
        .store()
        .app_get(format!("tenant-key-current/{tenant}").as_bytes())?
    else {
        return Ok(None);
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    let sealed = state
        .store()
        .app_get(format!("tenant-key/{tenant}/{id}").as_bytes())?
        .ok_or_else(|| ApiError::Internal(format!("tenant key {id} is missing")))?;
    let raw = state
        .master()
        .open(&format!("tenant-key/{tenant}"), &sealed)
        .map_err(|e| ApiError::Internal(format!("opening tenant key {id}: {e:#}")))?;
    let key = SigningKey::from_slice(&raw)
        .map_err(|e| ApiError::Internal(format!("tenant key {id}: {e}")))?;
    Ok(Some((id, key)))
}

/// A DER ECDSA-SHA256 signature over `bytes`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> Vec<u8> {
    let sig: DerSignature = key.sign(bytes);
    sig.as_bytes().to_vec()
}

/// `GET /api/v1/tenants/{tenant}/keys`: every export key, current and old.
pub async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<PublicKeyRecord>>, ApiError> {
    principal.require(&tenant, &[Scope::Admin, Scope::Auditor, Scope::Push])?;
    state.tenant_log(&tenant)?;
    let mut out = Vec::new();
    for (_, v) in state
        .store()
        .app_scan(format!("tenant-pub/{tenant}/").as_bytes())?
    {
        out.push(
            serde_json::from_slice::<PublicKeyRecord>(&v)
                .map_err(|e| ApiError::Internal(format!("key record: {e}")))?,
        );
    }
    out.sort_by(|a, b| a.valid_from.cmp(&b.valid_from));
    Ok(ApiJson(out))
}
