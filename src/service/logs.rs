//! The log, as the API serves it: checkpoints, keys, proofs, entries,
//! C2SP tiles, checkpoint timestamps and key rotation. Any token of the
//! tenant may read checkpoints, keys, proofs and hash tiles; entries and
//! entry bundles (event bodies) need `admin` or `auditor` (`core::policy`).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_log::{Log, SignedCheckpoint, TileKind, TilePath};
use evident_verify::{
    merkle::{leaf_hash, to_b64},
    proof::{encode_hashes, ConsistencyProof, InclusionProof, TlogProof},
};
use serde::{Deserialize, Serialize};

use crate::{
    core::{
        events::EventBody,
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{blocking, log_keys, AppState},
    store::keys,
};

/// The most entries one `entries` call returns.
pub const MAX_ENTRIES: u64 = 1000;

fn tenant_log(state: &AppState, p: &Principal, tenant: &str, action: Action) -> Result<Log, Error> {
    allow(p, action, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)
}

/// The log for a caller of `/tlog/{t}/…`: with a token, as everywhere;
/// anonymous, only if the tenant made its log public (`public_log`; entry
/// bundles also need `public_entries`). Otherwise 401, the same for a
/// tenant that does not exist, so an anonymous caller learns nothing.
fn public_log(
    state: &AppState,
    p: Option<&Principal>,
    tenant: &str,
    action: Action,
) -> Result<Log, Error> {
    if let Some(p) = p {
        return tenant_log(state, p, tenant, action);
    }
    let closed = || {
        Error::Unauthorized(match action {
            Action::ReadLogEntries => "this log's entry bundles are not public: send Authorization: Bearer <token> (admin or auditor)".into(),
            _ => "this log is not public: send Authorization: Bearer <token>".into(),
        })
    };
    let log = state.tenant_log(tenant).map_err(|_| closed())?;
    let s = state.store().settings(tenant)?;
    let open = match action {
        Action::ReadLog => s.public_log,
        Action::ReadLogEntries => s.public_log && s.public_entries,
        _ => false,
    };
    if open {
        Ok(log)
    } else {
        Err(closed())
    }
}

/// The latest checkpoint, for `/tlog/{t}/checkpoint` (public when the
/// tenant says so).
pub async fn tlog_checkpoint(
    state: &AppState,
    p: Option<&Principal>,
    tenant: &str,
) -> Result<SignedCheckpoint, Error> {
    let log = public_log(state, p, tenant, Action::ReadLog)?;
    checkpoint_for(&log, None).await
}

/// The latest checkpoint (published now if the tree grew), or the one
/// published at exactly `size`.
pub async fn checkpoint(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    size: Option<u64>,
) -> Result<SignedCheckpoint, Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLog)?;
    checkpoint_for(&log, size).await
}

/// The latest signed checkpoint (published now if the tree has grown), or
/// the one published at `size`: 422 beyond the tree, 404 for a size no
/// checkpoint was published at.
pub(crate) async fn checkpoint_for(
    log: &Log,
    size: Option<u64>,
) -> Result<SignedCheckpoint, Error> {
    let Some(size) = size else {
        return Ok(log.checkpoint().await?);
    };
    let current = log.size();
    if size > current {
        return Err(Error::Unprocessable(format!(
            "size {size} is beyond the tree size {current}"
        )));
    }
    log.checkpoint_at(size)?
        .ok_or_else(|| Error::NotFound(format!("no checkpoint was published at size {size}")))
}

/// An RFC 3161 reply over the exact bytes of a checkpoint (the latest, or
/// the one published at `size`), made on first request and kept; with the
/// checkpoint's size. Fails closed: no token from an external TSA is
/// `TsaUnavailable`, never a reply without one.
pub async fn checkpoint_token(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    size: Option<u64>,
) -> Result<(u64, Vec<u8>), Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLog)?;
    let cp = checkpoint_for(&log, size).await?;
    let (st, t, size) = (state.clone(), tenant.to_owned(), cp.size);
    let reply = blocking("timestamp", move || {
        stamp_checkpoint(&st, &t, size, &cp.note)
    })
    .await?;
    Ok((size, reply))
}

/// The stored TSA reply for a tenant's checkpoint at `size`, made now if
/// there is none yet (written once: concurrent first requests all get the
/// kept token). Its imprint is SHA-256 of the checkpoint note bytes.
/// Blocking (an external TSA is asked over HTTP).
pub fn stamp_checkpoint(
    state: &AppState,
    tenant: &str,
    size: u64,
    note: &str,
) -> Result<Vec<u8>, Error> {
    let key = state.tsa().cache_key(&keys::checkpoint_token(tenant, size));
    if let Some(r) = state.store().raw(key.as_bytes())? {
        return Ok(r);
    }
    let reply = state.tsa().stamp(note.as_bytes())?;
    state.store().put_once(key.as_bytes(), reply)
}

/// The C2SP verifier key string of the key that signs new checkpoints.
pub fn key(state: &AppState, p: &Principal, tenant: &str) -> Result<String, Error> {
    Ok(tenant_log(state, p, tenant, Action::ReadLog)?
        .verifier()
        .to_vkey())
}

/// `GET …/log/keys` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogKeys {
    /// The log's origin (every key is named after it).
    pub origin: String,
    /// The verifier key that signs new checkpoints.
    pub current: String,
    /// Every key the log has been signed with, oldest first, with the
    /// checkpoint sizes each signed and the statement that handed over.
    pub keys: Vec<crate::service::log_keys::LogKeyInfo>,
}

/// The log's key history: every key it was signed with.
pub fn keys(state: &AppState, p: &Principal, tenant: &str) -> Result<LogKeys, Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLog)?;
    let mut keys = log_keys::history(state.store(), tenant)?;
    let current = log.verifier().to_vkey();
    if keys.is_empty() {
        // A log created before each log had its own key, never moved.
        keys.push(log_keys::LogKeyInfo {
            log_key: current.clone(),
            from_size: 0,
            until_size: None,
            platform_key: true,
            rotated: None,
        });
    }
    Ok(LogKeys {
        origin: log.origin().to_owned(),
        current,
        keys,
    })
}

/// Moves the log to a new key of its own (operator, or the tenant's admin):
/// from the platform key of a log created before each log had its own, or
/// from its previous key. See `service::log_keys` and docs/operations.md.
pub async fn rotate_key(
    state: &AppState,
    p: &Principal,
    tenant: &str,
) -> Result<log_keys::Rotated, Error> {
    allow(p, Action::RotateLogKey, Resource::Tenant(tenant))?;
    let log = state.tenant_log(tenant)?;
    let (st, t, actor) = (state.clone(), tenant.to_owned(), p.actor());
    // Its own task: a client that goes away cannot cut the move in half.
    tokio::spawn(async move {
        let _lock = st.tenant_lock(&t).await;
        let old = match log_keys::load(st.store(), st.master(), &t)? {
            Some(k) => k.current,
            None => st.keys().log_key.clone(),
        };
        let t2 = t.clone();
        log_keys::rotate(st.store(), st.master(), &log, old, &t, move |r, s| {
            crate::core::events::leaf(
                &t2,
                actor,
                EventBody::LogKeyRotated {
                    old_log_key: r.old.to_vkey(),
                    new_log_key: r.new.to_vkey(),
                    statement: s.to_owned(),
                },
            )
        })
        .await
    })
    .await
    .map_err(|e| Error::Internal(format!("log key rotation task failed: {e}")))?
}

/// Resolves the tree size for a proof: the given one, checked, or the
/// latest checkpoint's. Returns the checkpoint note at that size when one
/// exists.
async fn proof_size(log: &Log, size: Option<u64>) -> Result<(u64, Option<String>), Error> {
    match size {
        None => {
            let cp = log.checkpoint().await?;
            Ok((cp.size, Some(cp.note)))
        }
        Some(s) => {
            let current = log.size();
            if s > current {
                return Err(Error::Unprocessable(format!(
                    "size {s} is beyond the tree: it must be at most {current}"
                )));
            }
            Ok((s, log.checkpoint_at(s)?.map(|c| c.note)))
        }
    }
}

/// How an inclusion proof is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofFormat {
    /// `{"index", "tree_size", "hashes"}`.
    Json,
    /// A C2SP tlog-proof, with the signed checkpoint.
    TlogProof,
}

impl ProofFormat {
    /// Reads `json` (the default) or `tlog-proof`.
    pub fn parse(s: Option<&str>) -> Result<Self, Error> {
        match s {
            None | Some("json") => Ok(Self::Json),
            Some("tlog-proof") => Ok(Self::TlogProof),
            Some(other) => Err(Error::Unprocessable(format!(
                "format {other:?} is not one of json, tlog-proof"
            ))),
        }
    }
}

/// An inclusion proof in the form asked for.
#[derive(Debug)]
pub enum Inclusion {
    /// JSON.
    Json(InclusionProof),
    /// C2SP tlog-proof text.
    TlogProof(String),
}

/// The inclusion proof of entry `index` in the tree of `size` (default:
/// the latest checkpoint's).
pub async fn inclusion(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    index: u64,
    size: Option<u64>,
    format: ProofFormat,
) -> Result<Inclusion, Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLog)?;
    let (size, note) = proof_size(&log, size).await?;
    if index >= size {
        return Err(Error::Unprocessable(format!(
            "index {index} must be below size {size}"
        )));
    }
    let hashes = log.inclusion_proof(index, size)?;
    Ok(match format {
        ProofFormat::Json => Inclusion::Json(InclusionProof {
            index,
            tree_size: size,
            hashes: encode_hashes(&hashes),
        }),
        ProofFormat::TlogProof => {
            let note = note.ok_or_else(|| {
                Error::Unprocessable(format!(
                    "no checkpoint was published at size {size}; omit size to prove against the latest"
                ))
            })?;
            Inclusion::TlogProof(
                TlogProof {
                    extra: None,
                    index,
                    hashes,
                    checkpoint: note,
                }
                .to_text(),
            )
        }
    })
}

/// The consistency proof from size `old` to `new` (default: the latest).
pub async fn consistency(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    old: u64,
    new: Option<u64>,
) -> Result<ConsistencyProof, Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLog)?;
    let (new, _) = proof_size(&log, new).await?;
    if old > new {
        return Err(Error::Unprocessable(format!(
            "old {old} must be at most new {new}"
        )));
    }
    let hashes = log.consistency_proof(old, new)?;
    Ok(ConsistencyProof {
        old,
        new,
        hashes: encode_hashes(&hashes),
    })
}

/// One log entry.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// Index in the log.
    pub index: u64,
    /// The leaf bytes, base64.
    pub leaf: String,
    /// RFC 9162 leaf hash, base64.
    pub leaf_hash: String,
    /// The leaf parsed as JSON (it is a canonical JSON event).
    pub event: serde_json::Value,
}

/// Entries answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entries {
    /// The entries `[start, end)`.
    pub entries: Vec<Entry>,
}

/// Entries `[start, end)`, at most [`MAX_ENTRIES`] (admin, auditor).
pub fn entries(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    start: u64,
    end: u64,
) -> Result<Entries, Error> {
    let log = tenant_log(state, p, tenant, Action::ReadLogEntries)?;
    let size = log.size();
    if start > end || end > size || end - start > MAX_ENTRIES {
        return Err(Error::Unprocessable(format!(
            "need start <= end <= {size} (the tree size) and at most {MAX_ENTRIES} entries"
        )));
    }
    let leaves = log.entries(start, end, MAX_ENTRIES)?;
    Ok(Entries {
        entries: leaves
            .into_iter()
            .enumerate()
            .map(|(i, leaf)| Entry {
                index: start + i as u64,
                leaf_hash: to_b64(&leaf_hash(&leaf)),
                event: serde_json::from_slice(&leaf).unwrap_or(serde_json::Value::Null),
                leaf: STANDARD.encode(&leaf),
            })
            .collect(),
    })
}

/// A C2SP tile (`tile/…` path): its bytes, and whether it is full (and so
/// immutable). Hash tiles need read access to the log; entry bundles the
/// entries' access; without a token, the tenant's public settings.
pub fn tile(
    state: &AppState,
    p: Option<&Principal>,
    tenant: &str,
    path: &str,
) -> Result<(Vec<u8>, bool), Error> {
    let tile = TilePath::parse(&format!("tile/{path}"))
        .map_err(|e| Error::Unprocessable(e.to_string()))?;
    let action = match tile.kind {
        TileKind::Hash(_) => Action::ReadLog,
        TileKind::Entries => Action::ReadLogEntries,
    };
    let log = public_log(state, p, tenant, action)?;
    Ok((log.tile(&tile)?, tile.is_full()))
}
