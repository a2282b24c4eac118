//! The log over HTTP: `/api/v1/tenants/{t}/log/…` and the C2SP tiles at
//! `/tlog/{t}/…`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use evident_verify::proof::ConsistencyProof;
use serde::Deserialize;

use crate::{
    core::Principal,
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        extract::MaybePrincipal,
        openapi::Errors,
        respond::text,
    },
    service::{
        log_keys::Rotated,
        logs::{self, Entries, Inclusion, LogKeys, ProofFormat},
        AppState,
    },
};

/// `?size=N` for a checkpoint at an exact size.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// A size at which a checkpoint was published (default: the latest).
    size: Option<u64>,
}

/// `GET …/log/checkpoint[?size=N]`: the latest signed checkpoint (published
/// now if the tree has grown), or the one published at size N.
#[utoipa::path(get, operation_id = "get_checkpoint", path = "/api/v1/tenants/{tenant}/log/checkpoint", tag = "log", params(("tenant" = String, Path, description = "Tenant slug"), CheckpointQuery), responses((status = 200, description = "A C2SP checkpoint (signed note)", body = String, content_type = "text/plain"), Errors))]
pub async fn checkpoint(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> Result<Response, ApiError> {
    let cp = logs::checkpoint(&state, &p, &tenant, q.size).await?;
    let cache = if q.size.is_some() {
        "private, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok(text(cp.note, cache))
}

/// `GET …/log/checkpoint.tsr[?size=N]`: an RFC 3161 reply over the exact
/// bytes of the checkpoint, with `Checkpoint-Size`.
#[utoipa::path(get, operation_id = "get_checkpoint_timestamp", path = "/api/v1/tenants/{tenant}/log/checkpoint.tsr", tag = "log", params(("tenant" = String, Path, description = "Tenant slug"), CheckpointQuery), responses((status = 200, description = "RFC 3161 TimeStampResp over the checkpoint bytes", body = Vec<u8>, content_type = "application/timestamp-reply"), Errors))]
pub async fn checkpoint_token(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> Result<Response, ApiError> {
    let (size, reply) = logs::checkpoint_token(&state, &p, &tenant, q.size).await?;
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

/// `GET …/log/key`: the C2SP verifier key string of the log's checkpoints.
#[utoipa::path(get, operation_id = "get_log_key", path = "/api/v1/tenants/{tenant}/log/key", tag = "log", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The C2SP verifier key string", body = String, content_type = "text/plain"), Errors))]
pub async fn key(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let k = logs::key(&state, &p, &tenant)?;
    Ok(text(format!("{k}\n"), "private, max-age=300"))
}

/// `GET …/log/keys`: the log's key history.
#[utoipa::path(get, operation_id = "list_log_keys", path = "/api/v1/tenants/{tenant}/log/keys", tag = "log", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "Every key the log was signed with", body = LogKeys), Errors))]
pub async fn keys(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<LogKeys>, ApiError> {
    Ok(ApiJson(logs::keys(&state, &p, &tenant)?))
}

/// `POST …/log/key/rotate`: moves the log to a new key of its own.
#[utoipa::path(post, operation_id = "rotate_log_key", path = "/api/v1/tenants/{tenant}/log/key/rotate", tag = "log", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 201, description = "Moved to a new key", body = Rotated), Errors))]
pub async fn rotate_key(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<(StatusCode, ApiJson<Rotated>), ApiError> {
    let r = logs::rotate_key(&state, &p, &tenant).await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}

/// Inclusion proof query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// Defaults to the latest checkpoint's size.
    size: Option<u64>,
    /// `json` (default) or `tlog-proof`.
    format: Option<String>,
}

/// `GET …/log/proof/inclusion?index=I[&size=N][&format=tlog-proof]`.
#[utoipa::path(get, operation_id = "get_inclusion_proof", path = "/api/v1/tenants/{tenant}/log/proof/inclusion", tag = "log", params(("tenant" = String, Path, description = "Tenant slug"), InclusionQuery), responses((status = 200, description = "RFC 9162 inclusion proof (JSON, or a C2SP tlog-proof as text/plain)", body = evident_verify::proof::InclusionProof), Errors))]
pub async fn inclusion(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Response, ApiError> {
    let format = ProofFormat::parse(q.format.as_deref())?;
    Ok(
        match logs::inclusion(&state, &p, &tenant, q.index, q.size, format).await? {
            Inclusion::Json(proof) => ApiJson(proof).into_response(),
            Inclusion::TlogProof(t) => text(t, "no-cache"),
        },
    )
}

/// Consistency proof query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size.
    old: u64,
    /// Defaults to the latest checkpoint's size.
    new: Option<u64>,
}

/// `GET …/log/proof/consistency?old=M[&new=N]`.
#[utoipa::path(get, operation_id = "get_consistency_proof", path = "/api/v1/tenants/{tenant}/log/proof/consistency", tag = "log", params(("tenant" = String, Path, description = "Tenant slug"), ConsistencyQuery), responses((status = 200, description = "RFC 9162 consistency proof", body = ConsistencyProof), Errors))]
pub async fn consistency(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<ApiJson<ConsistencyProof>, ApiError> {
    Ok(ApiJson(
        logs::consistency(&state, &p, &tenant, q.old, q.new).await?,
    ))
}

/// Entries query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// The first index.
    start: u64,
    /// One past the last index (at most 1000 more than `start`).
    end: u64,
}

/// `GET …/log/entries?start=S&end=E` (admin, auditor): at most 1000 entries.
#[utoipa::path(get, operation_id = "list_log_entries", path = "/api/v1/tenants/{tenant}/log/entries", tag = "log", params(("tenant" = String, Path, description = "Tenant slug"), EntriesQuery), responses((status = 200, description = "At most 1000 entries", body = Entries), Errors))]
pub async fn entries(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<ApiJson<Entries>, ApiError> {
    Ok(ApiJson(logs::entries(&state, &p, &tenant, q.start, q.end)?))
}

/// `GET /tlog/{tenant}/checkpoint`: the C2SP tlog-tiles checkpoint. Without
/// a token when the tenant made its log public (`public_log`), rate-limited
/// per client address.
#[utoipa::path(get, operation_id = "get_tlog_checkpoint", path = "/tlog/{tenant}/checkpoint", tag = "tiles", security(("bearer" = []), ()), params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The C2SP tlog-tiles checkpoint", body = String, content_type = "text/plain"), Errors))]
pub async fn tlog_checkpoint(
    State(state): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let cp = logs::tlog_checkpoint(&state, p.as_ref(), &tenant).await?;
    Ok(text(cp.note, "no-cache"))
}

/// `GET /tlog/{tenant}/tile/{*path}`: hash tiles and entry bundles. Without
/// a token, hash tiles when the log is public, entry bundles when its
/// entries are too (`public_entries`); rate-limited per client address.
#[utoipa::path(get, operation_id = "get_tlog_tile", path = "/tlog/{tenant}/tile/{path}", tag = "tiles", security(("bearer" = []), ()), params(("tenant" = String, Path, description = "Tenant slug"), ("path" = String, Path, description = "A C2SP tlog-tiles path after tile/")), responses((status = 200, description = "A hash tile or an entry bundle", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn tlog_tile(
    State(state): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path((tenant, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (body, full) = logs::tile(&state, p.as_ref(), &tenant, &path)?;
    // What anyone may read, a shared cache may keep.
    let cache = match (full, p.is_some()) {
        (true, true) => "private, max-age=31536000, immutable",
        (true, false) => "public, max-age=31536000, immutable",
        (false, true) => "private, max-age=60",
        (false, false) => "public, max-age=60",
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
