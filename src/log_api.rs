//! Log endpoints: checkpoints, keys, proofs, entries, and C2SP tiles.
//!
//! Under `/api/v1/tenants/{tenant}/log/` and `/tlog/{tenant}/`. Every endpoint
//! needs a token of that tenant; entries (which carry event bodies) need the
//! `admin` or `auditor` scope. Anything else answers 404.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_log::{Log, TileKind, TilePath};
use evident_verify::{
    merkle::{leaf_hash, to_b64},
    proof::{encode_hashes, ConsistencyProof, InclusionProof, TlogProof},
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Principal, Scope},
    error::{ApiError, ApiJson, ApiQuery},
    state::AppState,
};

const ANY: &[Scope] = &[Scope::Admin, Scope::Push, Scope::Auditor];
const READERS: &[Scope] = &[Scope::Admin, Scope::Auditor];
/// The most entries one `entries` call returns.
pub const MAX_ENTRIES: u64 = 1000;

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

fn tenant_log(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    scopes: &[Scope],
) -> Result<Log, ApiError> {
    p.require(tenant, scopes)?;
    state.tenant_log(tenant)
}

/// `?size=N` for a checkpoint at an exact size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    size: Option<u64>,
}

/// `GET …/log/checkpoint[?size=N]`: the latest signed checkpoint (published
/// now if the tree has grown), or the one published at size N.
pub async fn checkpoint(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> Result<Response, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    let cache = if q.size.is_some() {
        "private, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok(text(checkpoint_for(&log, q.size).await?.note, cache))
}

/// The latest checkpoint (published now if the tree grew), or the one
/// published at exactly `size`.
async fn checkpoint_for(
    log: &evident_log::Log,
    size: Option<u64>,
) -> Result<evident_log::SignedCheckpoint, ApiError> {
    let Some(size) = size else {
        return Ok(log.checkpoint().await?);
    };
    let current = log.size();
    if size > current {
        return Err(ApiError::Unprocessable(format!(
            "size must be at most the tree size {current}"
        )));
    }
    log.checkpoint_at(size)?
        .ok_or_else(|| ApiError::NotFound(format!("no checkpoint was published at size {size}")))
}

/// `GET …/log/checkpoint.tsr[?size=N]`: an RFC 3161 reply (from the built-in
/// TSA, or the external one) over the exact bytes of the checkpoint (the latest, or the one
/// published at size N). The first request for a size makes the token;
/// later ones get the same bytes. `serve` also stamps each log's latest
/// checkpoint on a timer, so one exists at least every interval. Fails
/// closed: no token from an external TSA is a 503, never a reply without one.
pub async fn checkpoint_token(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> Result<Response, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    let cp = checkpoint_for(&log, q.size).await?;
    let (st, size) = (state.clone(), cp.size);
    let reply = tokio::task::spawn_blocking(move || stamp_checkpoint(&st, &tenant, size, &cp.note))
        .await
        .map_err(|e| ApiError::Internal(format!("timestamp task failed: {e}")))??;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/timestamp-reply"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        [("checkpoint-size", size.to_string())],
        reply,
    )
        .into_response())
}

/// The stored TSA reply for a tenant's checkpoint at `size`, made now if
/// there is none yet. Its imprint is SHA-256 of the checkpoint note bytes.
/// Blocking (an external TSA is asked over HTTP).
pub fn stamp_checkpoint(
    state: &AppState,
    tenant: &str,
    size: u64,
    note: &str,
) -> Result<Vec<u8>, ApiError> {
    let key = state
        .tsa()
        .cache_key(&format!("cp-tsr/{tenant}/{size:020}"));
    if let Some(r) = state.store().app_get(key.as_bytes())? {
        return Ok(r);
    }
    let reply = state.tsa().stamp(note.as_bytes())?;
    // Written once: a concurrent first request that stamped too gets the
    // token that was kept, not its own.
    state.put_once(key.as_bytes(), reply)
}

/// `GET …/log/key`: the C2SP verifier key string of the log's checkpoints.
pub async fn key(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    Ok(text(
        format!("{}\n", log.verifier().to_vkey()),
        "private, max-age=300",
    ))
}

/// `GET …/log/keys` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogKeys {
    /// The log's origin (every key is named after it).
    pub origin: String,
    /// The verifier key that signs new checkpoints.
    pub current: String,
    /// Every key the log has been signed with, oldest first, with the
    /// checkpoint sizes each signed and the statement that handed over.
    pub keys: Vec<crate::log_keys::LogKeyInfo>,
}

/// `GET …/log/keys`: the log's key history.
pub async fn keys(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<LogKeys>, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    let mut keys = crate::log_keys::history(state.store(), &tenant)?;
    let current = log.verifier().to_vkey();
    if keys.is_empty() {
        // A log created before each log had its own key, never moved.
        keys.push(crate::log_keys::LogKeyInfo {
            log_key: current.clone(),
            from_size: 0,
            until_size: None,
            platform_key: true,
            rotated: None,
        });
    }
    Ok(ApiJson(LogKeys {
        origin: log.origin().to_owned(),
        current,
        keys,
    }))
}

/// `POST …/log/key/rotate` (operator, or the tenant's admin): moves the
/// log to a new key of its own, from the platform key of a log created
/// before each log had its own, or from its previous key. See
/// `crate::log_keys` and docs/operations.md.
pub async fn rotate_key(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<(axum::http::StatusCode, ApiJson<crate::log_keys::Rotated>), ApiError> {
    if !matches!(p, Principal::Operator { .. }) {
        p.require(&tenant, &[Scope::Admin])?;
    }
    let log = state.tenant_log(&tenant)?;
    let st = state.clone();
    // Its own task: a client that goes away cannot cut the move in half.
    let rotated = tokio::spawn(async move {
        let _lock = st.tenant_lock(&tenant).await;
        let old = match crate::log_keys::load(st.store(), st.master(), &tenant)? {
            Some(k) => k.current,
            None => st.keys().log_key.clone(),
        };
        let (actor, t) = (p.actor(), tenant.clone());
        crate::log_keys::rotate(st.store(), st.master(), &log, old, &tenant, move |r, s| {
            AppState::event_leaf(
                &t,
                actor,
                crate::events::EventBody::LogKeyRotated {
                    old_log_key: r.old.to_vkey(),
                    new_log_key: r.new.to_vkey(),
                    statement: s.to_owned(),
                },
            )
        })
        .await
    })
    .await
    .map_err(|e| ApiError::Internal(format!("log key rotation task failed: {e}")))??;
    Ok((axum::http::StatusCode::CREATED, ApiJson(rotated)))
}

/// Inclusion proof query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    /// Defaults to the latest checkpoint's size.
    size: Option<u64>,
    /// `json` (default) or `tlog-proof`.
    format: Option<String>,
}

/// Resolves the tree size for a proof: the given one, checked, or the latest
/// checkpoint's. Returns the checkpoint note at that size when one exists.
async fn proof_size(log: &Log, size: Option<u64>) -> Result<(u64, Option<String>), ApiError> {
    match size {
        None => {
            let cp = log.checkpoint().await?;
            Ok((cp.size, Some(cp.note)))
        }
        Some(s) => {
            let current = log.size();
            if s > current {
                return Err(ApiError::Unprocessable(format!(
                    "size {s} is beyond the tree: it must be at most {current}"
                )));
            }
            Ok((s, log.checkpoint_at(s)?.map(|c| c.note)))
        }
    }
}

/// `GET …/log/proof/inclusion?index=I[&size=N][&format=tlog-proof]`.
pub async fn inclusion(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Response, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    let (size, note) = proof_size(&log, q.size).await?;
    if q.index >= size {
        return Err(ApiError::Unprocessable(format!(
            "index {} must be below size {size}",
            q.index
        )));
    }
    let hashes = log.inclusion_proof(q.index, size)?;
    match q.format.as_deref() {
        None | Some("json") => Ok(ApiJson(InclusionProof {
            index: q.index,
            tree_size: size,
            hashes: encode_hashes(&hashes),
        })
        .into_response()),
        Some("tlog-proof") => {
            let note = note.ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "no checkpoint was published at size {size}; omit size to prove against the latest"
                ))
            })?;
            let body = TlogProof {
                extra: None,
                index: q.index,
                hashes,
                checkpoint: note,
            }
            .to_text();
            Ok(text(body, "no-cache"))
        }
        Some(other) => Err(ApiError::Unprocessable(format!(
            "format {other:?} is not one of json, tlog-proof"
        ))),
    }
}

/// Consistency proof query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    old: u64,
    /// Defaults to the latest checkpoint's size.
    new: Option<u64>,
}

/// `GET …/log/proof/consistency?old=M[&new=N]`.
pub async fn consistency(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<ApiJson<ConsistencyProof>, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    let (new, _) = proof_size(&log, q.new).await?;
    if q.old > new {
        return Err(ApiError::Unprocessable(format!(
            "old {} must be at most new {new}",
            q.old
        )));
    }
    let hashes = log.consistency_proof(q.old, new)?;
    Ok(ApiJson(ConsistencyProof {
        old: q.old,
        new,
        hashes: encode_hashes(&hashes),
    }))
}

/// Entries query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    start: u64,
    end: u64,
}

/// One log entry.
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
pub struct Entries {
    /// The entries `[start, end)`.
    pub entries: Vec<Entry>,
}

/// `GET …/log/entries?start=S&end=E` (admin, auditor): at most 1000 entries.
pub async fn entries(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<ApiJson<Entries>, ApiError> {
    let log = tenant_log(&state, &p, &tenant, READERS)?;
    let size = log.size();
    if q.start > q.end || q.end > size || q.end - q.start > MAX_ENTRIES {
        return Err(ApiError::Unprocessable(format!(
            "need start <= end <= {size} (the tree size) and at most {MAX_ENTRIES} entries"
        )));
    }
    let leaves = log.entries(q.start, q.end, MAX_ENTRIES)?;
    Ok(ApiJson(Entries {
        entries: leaves
            .into_iter()
            .enumerate()
            .map(|(i, leaf)| Entry {
                index: q.start + i as u64,
                leaf_hash: to_b64(&leaf_hash(&leaf)),
                event: serde_json::from_slice(&leaf).unwrap_or(serde_json::Value::Null),
                leaf: STANDARD.encode(&leaf),
            })
            .collect(),
    }))
}

/// `GET /tlog/{tenant}/checkpoint`: the C2SP tlog-tiles checkpoint.
pub async fn tlog_checkpoint(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let log = tenant_log(&state, &p, &tenant, ANY)?;
    Ok(text(log.checkpoint().await?.note, "no-cache"))
}

/// `GET /tlog/{tenant}/tile/{*path}`: hash tiles and entry bundles.
pub async fn tlog_tile(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tile = TilePath::parse(&format!("tile/{path}"))
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let scopes = match tile.kind {
        TileKind::Hash(_) => ANY,
        TileKind::Entries => READERS,
    };
    let log = tenant_log(&state, &p, &tenant, scopes)?;
    let body = log.tile(&tile)?;
    let cache = if tile.is_full() {
        "private, max-age=31536000, immutable"
    } else {
        "private, max-age=60"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response())
}
