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
    let _lock = state.tenant_lock(tenant).await;
    if let Some(k) = load_current(state, tenant)? {
        return Ok(k);
    }
    create_key(state, tenant, actor, None).await
}

/// [`current_key`] for a caller that already holds the release lock.
pub async fn current_key_locked(
    state: &AppState,
    tenant: &str,
    actor: Actor,
) -> Result<(String, SigningKey), ApiError> {
    match load_current(state, tenant)? {
        Some(k) => Ok(k),
        None => create_key(state, tenant, actor, None).await,
    }
}

/// The PEM public key of one of a tenant's export keys.
pub fn public_pem(state: &AppState, tenant: &str, key_id: &str) -> Result<String, ApiError> {
    state
        .store()
        .app_get(format!("tenant-pub/{tenant}/{key_id}").as_bytes())?
        .and_then(|v| serde_json::from_slice::<PublicKeyRecord>(&v).ok())
        .map(|r| r.public_key_pem)
        .ok_or_else(|| ApiError::Internal(format!("key record {key_id} is missing")))
}

/// Makes a new current key; with `retire`, that key's record gets its end
/// of validity and the event is `export_key_rotated`. Call under the release lock.
async fn create_key(
    state: &AppState,
    tenant: &str,
    actor: Actor,
    retire: Option<String>,
) -> Result<(String, SigningKey), ApiError> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| ApiError::Internal(format!("encoding a public key: {e}")))?;
    let key_id = evident_verify::bundle::key_id(spki.as_bytes());
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| ApiError::Internal(format!("encoding a public key: {e}")))?;
    let now = rfc3339(now_unix());
    let rec = PublicKeyRecord {
        key_id: key_id.clone(),
        algorithm: "ecdsa-p256-sha256".into(),
        public_key_pem: pem,
        valid_from: now.clone(),
        valid_until: None,
    };
    let sealed = state
        .master()
        .seal(&format!("tenant-key/{tenant}"), &key.to_bytes());
    let json =
        |r: &PublicKeyRecord| serde_json::to_vec(r).map_err(|e| ApiError::Internal(e.to_string()));
    let mut ops = vec![
        (
            format!("tenant-key/{tenant}/{key_id}").into_bytes(),
            Some(sealed),
        ),
        (
            format!("tenant-pub/{tenant}/{key_id}").into_bytes(),
            Some(json(&rec)?),
        ),
        (
            format!("tenant-key-current/{tenant}").into_bytes(),
            Some(key_id.clone().into_bytes()),
        ),
    ];
    let public_key_sha256 = hex::encode(Sha256::digest(spki.as_bytes()));
    let event = match retire {
        None => EventBody::ExportKeyCreated {
            key_id: key_id.clone(),
            public_key_sha256,
        },
        Some(old) => {
            let k = format!("tenant-pub/{tenant}/{old}");
            let mut old_rec: PublicKeyRecord = state
                .store()
                .app_get(k.as_bytes())?
                .and_then(|v| serde_json::from_slice(&v).ok())
                .ok_or_else(|| ApiError::Internal(format!("key record {old} is missing")))?;
            old_rec.valid_until = Some(now);
            ops.push((k.into_bytes(), Some(json(&old_rec)?)));
            EventBody::ExportKeyRotated {
                old_key_id: old,
                key_id: key_id.clone(),
                public_key_sha256,
            }
        }
    };
    state.record(tenant, actor, event, ops).await?;
    Ok((key_id, key))
}

/// `POST /api/v1/tenants/{tenant}/keys/rotate` (admin): a new export key
/// signs from now on; the old one stays listed, with its end of validity,
/// so what it signed keeps verifying.
pub async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<(axum::http::StatusCode, ApiJson<PublicKeyRecord>), ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    state.tenant_log(&tenant)?;
    let actor = principal.actor();
    let st = state.clone();
    // Its own task: a client that goes away cannot cut the rotation in half.
    let (key_id, tenant) = tokio::spawn(async move {
        let _lock = st.tenant_lock(&tenant).await;
        let old = load_current(&st, &tenant)?.map(|(id, _)| id);
        let tenant_key = create_key(&st, &tenant, actor, old).await;
        tenant_key.map(|k| (k.0, tenant))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("rotation task failed: {e}")))??;
    let rec = state
        .store()
        .app_get(format!("tenant-pub/{tenant}/{key_id}").as_bytes())?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .ok_or_else(|| ApiError::Internal("the new key record is missing".into()))?;
    Ok((axum::http::StatusCode::CREATED, ApiJson(rec)))
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
