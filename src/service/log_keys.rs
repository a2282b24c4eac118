//! Each tenant log's own Ed25519 signing key, and its history.
//!
//! A tenant created by this version gets its own log key at creation,
//! sealed under the master key (`log-key/<tenant>/<key id>`, the tenant in
//! the associated data) and named after the log's origin. Logs created
//! before each log had its own key were signed with the platform log key;
//! they keep verifying with it until an operator moves them to their own
//! key with `POST /api/v1/tenants/{t}/log/key/rotate` (docs/operations.md).
//! A move (and any later rotation) is one logged step: a rotation
//! statement naming the new key, signed by the old and the new key
//! (`evident_verify::rotation`), is appended as `log_key_rotated` in the
//! batch whose checkpoint is the old key's last (`evident_log::Log::rekey`).
//!
//! `log-key-current/<tenant>` names the current key;
//! `log-key-history/<tenant>` lists every key the log has been signed with,
//! oldest first, with the tree sizes each signed and the statement that
//! handed over to the next.

use ed25519_dalek::{SigningKey, VerifyingKey};
use evident_log::Log;
use evident_verify::{
    note::{NoteSigner, NoteVerifier},
    rotation::Rotation,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::core::records::{LogKeyInfo, RotationInfo};
use crate::{core::Error, service::keys::MasterKey, store::Db};

fn purpose(tenant: &str) -> String {
    format!("log-key/{tenant}")
}

fn internal(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

/// A tenant log's keys: the one that signs, and those it replaced.
#[derive(Debug)]
pub struct TenantLogKeys {
    /// Signs new checkpoints.
    pub current: SigningKey,
    /// Signed earlier checkpoints, oldest first.
    pub previous: Vec<VerifyingKey>,
}

/// The stored history of a tenant's log keys (empty for a log still on the
/// platform key that never moved).
pub fn history(store: &Db, tenant: &str) -> Result<Vec<LogKeyInfo>, Error> {
    store.log_key_history(tenant)
}

fn public_of(vkey: &str) -> Result<VerifyingKey, Error> {
    Ok(*NoteVerifier::parse(vkey)
        .map_err(|e| internal("stored log key")(e.to_string()))?
        .key())
}

/// Loads a tenant's own log keys; `None` for a log still signed by the
/// platform key.
pub fn load(store: &Db, master: &MasterKey, tenant: &str) -> Result<Option<TenantLogKeys>, Error> {
    let Some((_, sealed)) = store.log_key_current(tenant)? else {
        return Ok(None);
    };
    let raw = master
        .open(&purpose(tenant), &sealed)
        .map_err(|e| internal("opening a log key")(format!("{e:#}")))?;
    let bytes: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| Error::Internal("a stored log key is not 32 bytes".into()))?;
    let current = SigningKey::from_bytes(&bytes);
    let previous = history(store, tenant)?
        .iter()
        .filter(|k| k.until_size.is_some())
        .map(|k| public_of(&k.log_key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(TenantLogKeys { current, previous }))
}

/// The writes that store `key` as the tenant's current log key.
fn key_ops(
    master: &MasterKey,
    tenant: &str,
    key: &SigningKey,
    origin: &str,
) -> Result<Vec<evident_log::AppOp>, Error> {
    let v = NoteVerifier::new(origin, key.verifying_key())
        .map_err(|e| internal("log key")(e.to_string()))?;
    Ok(Db::log_key_ops(
        tenant,
        v.key_id(),
        master.seal(&purpose(tenant), key.as_bytes()),
    ))
}

/// The key a new tenant's log is made with: the one stored by an earlier
/// attempt to create this tenant (whose batch never committed), or a new
/// one, stored durably before the log is opened with it, so a retried
/// creation signs with the key that is kept.
pub fn for_new_log(
    store: &Db,
    master: &MasterKey,
    tenant: &str,
    origin: &str,
) -> Result<SigningKey, Error> {
    if let Some(k) = load(store, master, tenant)? {
        return Ok(k.current);
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let mut ops = key_ops(master, tenant, &key, origin)?;
    let v = NoteVerifier::new(origin, key.verifying_key())
        .map_err(|e| internal("log key")(e.to_string()))?;
    ops.push(Db::log_key_history_op(
        tenant,
        &[LogKeyInfo {
            log_key: v.to_vkey(),
            from_size: 0,
            until_size: None,
            platform_key: false,
            rotated: None,
        }],
    ));
    store.write(&ops)?;
    Ok(key)
}

/// Opens a tenant's log with its own key (and the keys it replaced), or
/// with the platform key for a log that never moved.
pub fn open(
    store: &Db,
    master: &MasterKey,
    platform: &SigningKey,
    tenant: &str,
) -> Result<Log, Error> {
    if let Some(l) = store.store().cached_log(tenant) {
        return Ok(l);
    }
    Ok(match load(store, master, tenant)? {
        Some(k) => store
            .store()
            .open_log_with_history(tenant, &k.current, &k.previous)?,
        None => store.store().open_log(tenant, platform)?,
    })
}

/// What a rotation produced.
#[derive(Debug, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct Rotated {
    /// The key that signed until now.
    pub old_log_key: String,
    /// The key that signs from now on.
    pub new_log_key: String,
    /// The rotation statement, signed by both keys.
    pub statement: String,
    /// The `log_key_rotated` entry's index.
    pub log_index: u64,
    /// The checkpoint that covers that entry: the old key's last.
    pub checkpoint: String,
}

/// Moves a tenant's log to a new key of its own (from the platform key, or
/// from its previous own key), as one logged step. `old` is the signing
/// key the log uses now; `leaf` builds the `log_key_rotated` event leaf
/// from the statement. The statement names the exact tree size the move
/// happens at, because the log builds it when the batch is cut.
pub async fn rotate(
    store: &Db,
    master: &MasterKey,
    log: &Log,
    old: SigningKey,
    tenant: &str,
    leaf: impl FnOnce(&evident_verify::rotation::Rotation, &str) -> Vec<u8> + Send + 'static,
) -> Result<Rotated, Error> {
    let origin = log.origin().to_owned();
    let old_signer =
        NoteSigner::new(&origin, old).map_err(|e| internal("log key")(e.to_string()))?;
    if *old_signer.verifier() != log.verifier() {
        return Err(Error::Internal(
            "the log's signing key is not the one loaded for the rotation".into(),
        ));
    }
    let new = SigningKey::generate(&mut rand::rngs::OsRng);
    let new_signer =
        NoteSigner::new(&origin, new.clone()).map_err(|e| internal("log key")(e.to_string()))?;
    let mut hist = history(store, tenant)?;
    let key_writes = key_ops(master, tenant, &new, &origin)?;
    let out = std::sync::Arc::new(std::sync::Mutex::new(None::<(Rotation, String)>));
    let out2 = out.clone();
    let tenant_owned = tenant.to_owned();
    let build: evident_log::RekeyBuild = Box::new(move |size| {
        let r = Rotation {
            origin: origin.clone(),
            size,
            old: old_signer.verifier().clone(),
            new: new_signer.verifier().clone(),
        };
        let statement = r
            .sign(&old_signer, &new_signer)
            .map_err(|e| e.to_string())?;
        if hist.is_empty() {
            // A log that was on the platform key: its first history entry.
            hist.push(LogKeyInfo {
                log_key: r.old.to_vkey(),
                from_size: 0,
                until_size: None,
                platform_key: true,
                rotated: None,
            });
        }
        // The rotation entry is at index `size`; the checkpoint at
        // `size + 1` is the old key's last.
        if let Some(last) = hist.last_mut() {
            last.until_size = Some(size + 1);
            last.rotated = Some(RotationInfo {
                statement: statement.clone(),
                log_index: size,
            });
        }
        hist.push(LogKeyInfo {
            log_key: r.new.to_vkey(),
            from_size: size + 2,
            until_size: None,
            platform_key: false,
            rotated: None,
        });
        let mut ops = key_writes;
        ops.push(Db::log_key_history_op(&tenant_owned, &hist));
        let l = leaf(&r, &statement);
        *out2.lock().unwrap_or_else(|e| e.into_inner()) = Some((r, statement));
        Ok((vec![l], ops))
    });
    let (index, cp) = log.rekey(new, build).await?;
    let (r, statement) = out
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| Error::Internal("the rotation statement was not built".into()))?;
    Ok(Rotated {
        old_log_key: r.old.to_vkey(),
        new_log_key: r.new.to_vkey(),
        statement,
        log_index: index,
        checkpoint: cp.note,
    })
}
