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

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{SigningKey, VerifyingKey};
use evident_log::{AppOp, Log, Store};
use evident_verify::{
    note::{NoteSigner, NoteVerifier},
    rotation::Rotation,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{error::ApiError, keys::MasterKey};

/// One key a log has been signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogKeyInfo {
    /// The C2SP verifier key string (named after the log's origin).
    pub log_key: String,
    /// The first checkpoint size this key signs.
    pub from_size: u64,
    /// The last checkpoint size it signed (absent while current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_size: Option<u64>,
    /// True for the platform's shared key of logs created before each log
    /// had its own.
    #[serde(default)]
    pub platform_key: bool,
    /// The rotation statement that handed over to the next key, and the
    /// index of its `log_key_rotated` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<RotationInfo>,
}

/// How a key handed over to its successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RotationInfo {
    /// The signed rotation statement (C2SP signed note, both keys).
    pub statement: String,
    /// The `log_key_rotated` entry's index.
    pub log_index: u64,
}

fn history_key(tenant: &str) -> Vec<u8> {
    format!("log-key-history/{tenant}").into_bytes()
}

fn current_key(tenant: &str) -> Vec<u8> {
    format!("log-key-current/{tenant}").into_bytes()
}

fn sealed_key(tenant: &str, key_id: u32) -> Vec<u8> {
    format!("log-key/{tenant}/{key_id:08x}").into_bytes()
}

fn purpose(tenant: &str) -> String {
    format!("log-key/{tenant}")
}

fn internal(what: &str) -> impl Fn(String) -> ApiError + '_ {
    move |e| ApiError::Internal(format!("{what}: {e}"))
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
pub fn history(store: &Store, tenant: &str) -> Result<Vec<LogKeyInfo>, ApiError> {
    match store.app_get(&history_key(tenant))? {
        None => Ok(Vec::new()),
        Some(v) => {
            serde_json::from_slice(&v).map_err(|e| internal("log key history")(e.to_string()))
        }
    }
}

fn public_of(vkey: &str) -> Result<VerifyingKey, ApiError> {
    Ok(*NoteVerifier::parse(vkey)
        .map_err(|e| internal("stored log key")(e.to_string()))?
        .key())
}

/// Loads a tenant's own log keys; `None` for a log still signed by the
/// platform key.
pub fn load(
    store: &Store,
    master: &MasterKey,
    tenant: &str,
) -> Result<Option<TenantLogKeys>, ApiError> {
    let Some(id) = store.app_get(&current_key(tenant))? else {
        return Ok(None);
    };
    let id = u32::from_str_radix(&String::from_utf8_lossy(&id), 16)
        .map_err(|e| internal("log key id")(e.to_string()))?;
    let sealed = store.app_get(&sealed_key(tenant, id))?.ok_or_else(|| {
        ApiError::Internal(format!("the log key {id:08x} of {tenant} is missing"))
    })?;
    let raw = master
        .open(&purpose(tenant), &sealed)
        .map_err(|e| internal("opening a log key")(format!("{e:#}")))?;
    let bytes: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::Internal("a stored log key is not 32 bytes".into()))?;
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
) -> Result<(u32, Vec<AppOp>), ApiError> {
    let v = NoteVerifier::new(origin, key.verifying_key())
        .map_err(|e| internal("log key")(e.to_string()))?;
    let id = v.key_id();
    Ok((
        id,
        vec![
            (
                sealed_key(tenant, id),
                Some(master.seal(&purpose(tenant), key.as_bytes())),
            ),
            (current_key(tenant), Some(format!("{id:08x}").into_bytes())),
        ],
    ))
}

fn history_op(h: &[LogKeyInfo]) -> Result<AppOp, ApiError> {
    Ok((
        Vec::new(),
        Some(serde_json::to_vec(h).map_err(|e| internal("log key history")(e.to_string()))?),
    ))
}

/// The key a new tenant's log is made with: the one stored by an earlier
/// attempt to create this tenant (whose batch never committed), or a new
/// one, stored durably before the log is opened with it, so a retried
/// creation signs with the key that is kept.
pub fn for_new_log(
    store: &Store,
    master: &MasterKey,
    tenant: &str,
    origin: &str,
) -> Result<SigningKey, ApiError> {
    if let Some(k) = load(store, master, tenant)? {
        return Ok(k.current);
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let (_, mut ops) = key_ops(master, tenant, &key, origin)?;
    let v = NoteVerifier::new(origin, key.verifying_key())
        .map_err(|e| internal("log key")(e.to_string()))?;
    let (_, hist) = history_op(&[LogKeyInfo {
        log_key: v.to_vkey(),
        from_size: 0,
        until_size: None,
        platform_key: false,
        rotated: None,
    }])?;
    ops.push((history_key(tenant), hist));
    let refs: Vec<(&[u8], Option<&[u8]>)> = ops
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect();
    store.app_write(&refs)?;
    Ok(key)
}

/// Opens a tenant's log with its own key (and the keys it replaced), or
/// with the platform key for a log that never moved.
pub fn open(
    store: &Store,
    master: &MasterKey,
    platform: &SigningKey,
    tenant: &str,
) -> Result<Log, ApiError> {
    if let Some(l) = store.cached_log(tenant) {
        return Ok(l);
    }
    Ok(match load(store, master, tenant)? {
        Some(k) => store.open_log_with_history(tenant, &k.current, &k.previous)?,
        None => store.open_log(tenant, platform)?,
    })
}

/// What a rotation produced.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
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
    store: &Store,
    master: &MasterKey,
    log: &Log,
    old: SigningKey,
    tenant: &str,
    leaf: impl FnOnce(&evident_verify::rotation::Rotation, &str) -> Vec<u8> + Send + 'static,
) -> Result<Rotated, ApiError> {
    let origin = log.origin().to_owned();
    let old_signer =
        NoteSigner::new(&origin, old).map_err(|e| internal("log key")(e.to_string()))?;
    if *old_signer.verifier() != log.verifier() {
        return Err(ApiError::Internal(
            "the log's signing key is not the one loaded for the rotation".into(),
        ));
    }
    let new = SigningKey::generate(&mut rand::rngs::OsRng);
    let new_signer =
        NoteSigner::new(&origin, new.clone()).map_err(|e| internal("log key")(e.to_string()))?;
    let mut hist = history(store, tenant)?;
    let (_, key_writes) = key_ops(master, tenant, &new, &origin)?;
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
        ops.push((
            history_key(&tenant_owned),
            Some(serde_json::to_vec(&hist).map_err(|e| e.to_string())?),
        ));
        let l = leaf(&r, &statement);
        *out2.lock().unwrap_or_else(|e| e.into_inner()) = Some((r, statement));
        Ok((vec![l], ops))
    });
    let (index, cp) = log.rekey(new, build).await?;
    let (r, statement) = out
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| ApiError::Internal("the rotation statement was not built".into()))?;
    Ok(Rotated {
        old_log_key: r.old.to_vkey(),
        new_log_key: r.new.to_vkey(),
        statement,
        log_index: index,
        checkpoint: cp.note,
    })
}

/// A key as base64 of its 32 public bytes (for messages).
pub fn public_b64(k: &VerifyingKey) -> String {
    STANDARD.encode(k.as_bytes())
}
