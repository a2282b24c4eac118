//! Officers: tenant users whose own signing keys are registered with the
//! tenant, by their public halves only, to sign the cover notes of
//! regulator bundles (the platform never holds an officer's private key).
//! Registration and revocation are log events; a revoked key is kept, so
//! what it signed before can still be verified.

use evident_verify::officer::OfficerKey;
use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::EventBody,
        names,
        policy::{allow, Action, Resource},
        records::OfficerRecord,
        Error, Principal,
    },
    service::AppState,
    store::{keys, Db},
};

/// At most this many officers (revoked ones included) per tenant.
pub const MAX_OFFICERS: usize = 256;

/// `POST …/officers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    /// The officer's name (1 to 200 characters).
    pub name: String,
    /// The officer's role (1 to 200 characters).
    pub role: String,
    /// The officer's public key: PEM SubjectPublicKeyInfo, ECDSA P-256 or
    /// Ed25519 (`openssl pkey -pubout`).
    pub public_key: String,
}

/// An officer and its key.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfficerView {
    /// The first 16 hex digits of the key's SHA-256.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// `ecdsa-p256` or `ed25519`.
    pub algorithm: String,
    /// The public key, PEM.
    pub public_key: String,
    /// SHA-256 (hex) of the DER SubjectPublicKeyInfo.
    pub public_key_sha256: String,
    /// RFC 3339.
    pub registered_at: String,
    /// RFC 3339, once revoked.
    pub revoked_at: Option<String>,
    /// The index of its `officer_key_registered` entry: what it signs
    /// counts from here.
    pub log_index: Option<u64>,
    /// The index of its `officer_key_revoked` entry, once revoked: what it
    /// signs counts until here.
    pub revoked_log_index: Option<u64>,
}

/// Why a key is revoked (`DELETE …/officers/{id}?reason=`).
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// Not said.
    #[default]
    Unspecified,
    /// Replaced by a new key.
    Superseded,
    /// The officer left the role.
    Left,
    /// The private key was exposed: what it signed before is suspect too.
    Compromised,
}

impl RevokeReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Superseded => "superseded",
            Self::Left => "left",
            Self::Compromised => "compromised",
        }
    }
}

fn view(state: &AppState, tenant: &str, o: OfficerRecord) -> Result<OfficerView, Error> {
    let at = |what| {
        state
            .store()
            .index_at(&keys::officer_log(tenant, &o.id, what))
    };
    let (log_index, revoked_log_index) = (at("registered")?, at("revoked")?);
    Ok(OfficerView {
        id: o.id,
        name: o.name,
        role: o.role,
        algorithm: o.algorithm,
        public_key: o.public_key_pem,
        public_key_sha256: o.public_key_sha256,
        registered_at: rfc3339(o.registered_at),
        revoked_at: o.revoked_at.map(rfc3339),
        log_index,
        revoked_log_index,
    })
}

fn text(what: &str, s: &str) -> Result<String, Error> {
    names::plain_text(what, s, 200, false)
}

/// `POST …/officers` (admin): registers an officer's public key, logged
/// `officer_key_registered` with the key's SHA-256. 409 when the key is
/// registered already (revoked or not).
pub async fn register(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    o: NewOfficer,
) -> Result<OfficerView, Error> {
    allow(p, Action::ManageOfficers, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let name = text("name", &o.name)?;
    let role = text("role", &o.role)?;
    let key = OfficerKey::from_pem(&o.public_key)
        .map_err(|e| Error::Unprocessable(format!("/public_key: {e}")))?;
    let sha = key.sha256();
    let id = sha[..16].to_owned();
    let _lock = state.tenant_lock(tenant).await;
    let all = state.store().officers(tenant)?;
    if all.iter().any(|x| x.public_key_sha256 == sha || x.id == id) {
        return Err(Error::Conflict(
            "this key is registered already (keys are never registered twice)".into(),
        ));
    }
    if all.len() >= MAX_OFFICERS {
        return Err(Error::Unprocessable(format!(
            "a tenant has at most {MAX_OFFICERS} officer keys"
        )));
    }
    let rec = OfficerRecord {
        id: id.clone(),
        name: name.clone(),
        role: role.clone(),
        algorithm: key.algorithm().into(),
        public_key_pem: key.to_pem(),
        public_key_sha256: sha.clone(),
        registered_at: now_unix(),
        revoked_at: None,
    };
    let event = EventBody::OfficerKeyRegistered {
        officer_id: id,
        name,
        role,
        algorithm: rec.algorithm.clone(),
        public_key_sha256: sha,
    };
    logged(state, p, tenant, event, rec, "registered").await
}

/// `GET …/officers` (admin, auditor): every officer, revoked ones too.
pub fn list(state: &AppState, p: &Principal, tenant: &str) -> Result<Vec<OfficerView>, Error> {
    allow(p, Action::ReadOfficers, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    state
        .store()
        .officers(tenant)?
        .into_iter()
        .map(|o| view(state, tenant, o))
        .collect()
}

/// `DELETE …/officers/{id}` (admin): revokes an officer's key, logged
/// `officer_key_revoked`; the record stays (revoked), so what it signed
/// before can be verified. Revoking a revoked key is 409.
pub async fn revoke(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    reason: RevokeReason,
) -> Result<OfficerView, Error> {
    allow(p, Action::ManageOfficers, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let id = id.to_ascii_lowercase();
    let _lock = state.tenant_lock(tenant).await;
    let mut o = state
        .store()
        .officer(tenant, &id)?
        .ok_or_else(Error::not_found)?;
    if o.revoked_at.is_some() {
        return Err(Error::Conflict(
            "this officer's key is revoked already".into(),
        ));
    }
    o.revoked_at = Some(now_unix());
    let event = EventBody::OfficerKeyRevoked {
        officer_id: o.id.clone(),
        public_key_sha256: o.public_key_sha256.clone(),
        reason: reason.as_str().into(),
    };
    logged(state, p, tenant, event, o, "revoked").await
}

/// Appends `event` with the officer's record and the index of its entry
/// under `what` (`registered` or `revoked`), in one batch; the officer.
async fn logged(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    event: EventBody,
    o: OfficerRecord,
    what: &str,
) -> Result<OfficerView, Error> {
    state
        .record_indexed(
            tenant,
            vec![(p.actor(), event)],
            vec![Db::officer_op(tenant, &o)],
            vec![keys::officer_log(tenant, &o.id, what)],
        )
        .await?;
    view(state, tenant, o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Scope;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};

    fn who(scope: Scope) -> Principal {
        Principal::Tenant {
            tenant: "acme".into(),
            token_id: "t".into(),
            scope,
        }
    }

    fn new(pem: &str) -> NewOfficer {
        NewOfficer {
            name: "Ada Lovelace".into(),
            role: "Head of Product Security".into(),
            public_key: pem.into(),
        }
    }

    /// Keys of both kinds register once, logged with their SHA-256; bad
    /// keys and texts are 422; other scopes are 404 (auditors may list);
    /// a revocation is logged and keeps the key.
    #[tokio::test]
    async fn officers_register_list_and_revoke_in_the_log() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = crate::service::tenancy::state_with_acme(d.path()).await;
        let log = st.log("acme").unwrap();
        let admin = who(Scope::Admin);
        let p = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let p_pem = p.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let e = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        let e_pem = e.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let a = register(&st, &admin, "acme", new(&p_pem)).await.unwrap();
        let b = register(&st, &admin, "acme", new(&e_pem)).await.unwrap();
        assert_eq!(
            (a.algorithm.as_str(), b.algorithm.as_str()),
            ("ecdsa-p256", "ed25519")
        );
        assert_eq!(a.id, a.public_key_sha256[..16]);
        let leaf = log
            .entries(a.log_index.unwrap(), a.log_index.unwrap() + 1, 1)
            .unwrap()
            .pop()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
        assert_eq!(v["event"]["kind"], "officer_key_registered");
        assert_eq!(
            v["event"]["public_key_sha256"],
            a.public_key_sha256.as_str()
        );
        assert_eq!(v["event"]["officer_id"], a.id.as_str());
        assert!(matches!(
            register(&st, &admin, "acme", new(&p_pem)).await,
            Err(Error::Conflict(_))
        ));
        for bad in [
            NewOfficer {
                public_key: "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE\n-----END PUBLIC KEY-----\n".into(),
                ..new("")
            },
            NewOfficer {
                name: " ".into(),
                ..new(&p_pem)
            },
            NewOfficer {
                role: "x\u{7}".into(),
                ..new(&p_pem)
            },
            NewOfficer {
                name: "Ada \u{202E}ecalevol".into(),
                ..new(&p_pem)
            },
        ] {
            assert!(matches!(
                register(&st, &admin, "acme", bad).await,
                Err(Error::Unprocessable(_))
            ));
        }
        for scope in [Scope::Push, Scope::Auditor, Scope::Share] {
            assert!(matches!(
                register(&st, &who(scope), "acme", new(&p_pem)).await,
                Err(Error::NotFound(_))
            ));
        }
        assert_eq!(list(&st, &who(Scope::Auditor), "acme").unwrap().len(), 2);
        assert!(list(&st, &who(Scope::Push), "acme").is_err());

        let size = log.size();
        let r = revoke(
            &st,
            &admin,
            "acme",
            &a.id.to_uppercase(),
            RevokeReason::Compromised,
        )
        .await
        .unwrap();
        assert!(r.revoked_at.is_some());
        assert_eq!(r.log_index, a.log_index);
        assert_eq!(r.revoked_log_index, Some(size));
        assert_eq!(log.size(), size + 1);
        let leaf = log.entries(size, size + 1, 1).unwrap().pop().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
        assert_eq!(v["event"]["kind"], "officer_key_revoked");
        assert_eq!(v["event"]["reason"], "compromised");
        assert!(matches!(
            revoke(&st, &admin, "acme", &a.id, RevokeReason::default()).await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            revoke(
                &st,
                &admin,
                "acme",
                "0000000000000000",
                RevokeReason::default()
            )
            .await,
            Err(Error::NotFound(_))
        ));
        let all = list(&st, &admin, "acme").unwrap();
        assert_eq!(all.len(), 2, "a revoked key is kept");
        assert_eq!(all.iter().find(|o| o.id == a.id).unwrap().public_key, p_pem);
        // Re-registering a revoked key is refused too.
        assert!(matches!(
            register(&st, &admin, "acme", new(&p_pem)).await,
            Err(Error::Conflict(_))
        ));
    }
}
