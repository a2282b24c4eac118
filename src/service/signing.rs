//! Tenant export-signing keys (ECDSA P-256) and detached export signatures.
//!
//! Each tenant gets its key on first use: the private key is sealed under
//! the master key (`tenant-key/<tenant>/<key id>`), the public record is
//! kept in the clear (`tenant-pub/<tenant>/<key id>`) and listed by
//! `GET …/keys`, and its creation is a log event. The key id is the first 16
//! hex digits of SHA-256 over the SubjectPublicKeyInfo DER. Signatures are
//! ECDSA-SHA256 in DER over the exact bytes served, deterministic (RFC 6979),
//! so `openssl dgst -sha256 -verify key.pem -signature sig.der FILE` checks them.

use p256::{
    ecdsa::{signature::Signer, DerSignature, SigningKey},
    pkcs8::{EncodePublicKey, LineEnding},
};
use sha2::{Digest, Sha256};

pub use crate::core::records::PublicKeyRecord;
use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::{Actor, EventBody},
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::AppState,
    store::Db,
};

/// The tenant's current signing key, created (and logged) on first use.
pub async fn current_key(
    state: &AppState,
    tenant: &str,
    actor: Actor,
) -> Result<(String, SigningKey), Error> {
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
) -> Result<(String, SigningKey), Error> {
    match load_current(state, tenant)? {
        Some(k) => Ok(k),
        None => create_key(state, tenant, actor, None).await,
    }
}

/// The PEM public key of one of a tenant's export keys.
pub fn public_pem(state: &AppState, tenant: &str, key_id: &str) -> Result<String, Error> {
    state
        .store()
        .export_pub(tenant, key_id)?
        .map(|r| r.public_key_pem)
        .ok_or_else(|| Error::Internal(format!("key record {key_id} is missing")))
}

/// Makes a new current key; with `retire`, that key's record gets its end
/// of validity and the event is `export_key_rotated`. Call under the release lock.
async fn create_key(
    state: &AppState,
    tenant: &str,
    actor: Actor,
    retire: Option<String>,
) -> Result<(String, SigningKey), Error> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| Error::Internal(format!("encoding a public key: {e}")))?;
    let key_id = evident_verify::bundle::key_id(spki.as_bytes());
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Internal(format!("encoding a public key: {e}")))?;
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
    let mut ops = Db::export_key_ops(tenant, &rec, sealed);
    let public_key_sha256 = hex::encode(Sha256::digest(spki.as_bytes()));
    let event = match retire {
        None => EventBody::ExportKeyCreated {
            key_id: key_id.clone(),
            public_key_sha256,
        },
        Some(old) => {
            let mut old_rec = state
                .store()
                .export_pub(tenant, &old)?
                .ok_or_else(|| Error::Internal(format!("key record {old} is missing")))?;
            old_rec.valid_until = Some(now);
            ops.push(Db::export_pub_op(tenant, &old_rec));
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

/// Rotates the export key (admin): a new key signs from now on; the old
/// one stays listed, with its end of validity, so what it signed keeps
/// verifying.
pub async fn rotate(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<PublicKeyRecord, Error> {
    allow(principal, Action::RotateExportKey, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let actor = principal.actor();
    let (st, t) = (state.clone(), tenant.to_owned());
    // Its own task: a client that goes away cannot cut the rotation in half.
    let key_id = tokio::spawn(async move {
        let _lock = st.tenant_lock(&t).await;
        let old = load_current(&st, &t)?.map(|(id, _)| id);
        create_key(&st, &t, actor, old).await.map(|k| k.0)
    })
    .await
    .map_err(|e| Error::Internal(format!("rotation task failed: {e}")))??;
    state
        .store()
        .export_pub(tenant, &key_id)?
        .ok_or_else(|| Error::Internal("the new key record is missing".into()))
}

fn load_current(state: &AppState, tenant: &str) -> Result<Option<(String, SigningKey)>, Error> {
    let Some((id, sealed)) = state.store().export_key_current(tenant)? else {
        return Ok(None);
    };
    let raw = state
        .master()
        .open(&format!("tenant-key/{tenant}"), &sealed)
        .map_err(|e| Error::Internal(format!("opening tenant key {id}: {e:#}")))?;
    let key = SigningKey::from_slice(&raw)
        .map_err(|e| Error::Internal(format!("tenant key {id}: {e}")))?;
    Ok(Some((id, key)))
}

/// A DER ECDSA-SHA256 signature over `bytes`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> Vec<u8> {
    let sig: DerSignature = key.sign(bytes);
    sig.as_bytes().to_vec()
}

/// [`sign`] of a message whose SHA-256 is `digest`: the same signature
/// (ECDSA P-256 over SHA-256, RFC 6979 nonce from the digest), without
/// reading the message again.
pub fn sign_digest(key: &SigningKey, digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
    use p256::ecdsa::{signature::hazmat::PrehashSigner, Signature};
    let sig: Signature = key
        .sign_prehash(digest)
        .map_err(|e| Error::Internal(format!("signing: {e}")))?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// Every export key of the tenant, current and old, oldest first.
pub fn list_keys(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Vec<PublicKeyRecord>, Error> {
    allow(principal, Action::ReadExportKeys, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let mut out = state.store().export_pubs(tenant)?;
    out.sort_by(|a, b| a.valid_from.cmp(&b.valid_from));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signing from the digest gives the very signature signing the
    /// message does (ECDSA P-256 over SHA-256, RFC 6979), for messages of
    /// sizes around the hash's block.
    #[test]
    fn signing_a_digest_is_signing_its_message() {
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        for n in [0, 1, 55, 56, 64, 65, 22_000] {
            let msg = vec![b'x'; n];
            let digest: [u8; 32] = Sha256::digest(&msg).into();
            assert_eq!(sign_digest(&key, &digest).unwrap(), sign(&key, &msg), "{n}");
        }
    }
}
