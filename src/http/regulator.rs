//! Regulator requests over HTTP: admins and officers record them and move
//! them through their life cycle; auditors read them.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{
    core::{regulator::RequestBody, Principal},
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
        respond::deliver,
    },
    service::{
        bundles::{
            self, AuthorityLink, CoverNoteView, IssuedAuthorityLink, LinkConsistency,
            NewAuthorityLink, PrepareBody, SignatureBody,
        },
        regulator::{self, ListQuery, NewTransition, RequestView},
        AppState,
    },
};

/// `POST /api/v1/tenants/{tenant}/regulator-requests` (admin, officer):
/// 201 with the request, its production digests resolved to the release
/// revisions whose artefacts carry them; logged
/// `regulator_request_received`. 422 for a bad field, or a product and tag
/// that were never pushed.
#[utoipa::path(post, operation_id = "create_regulator_request", path = "/api/v1/tenants/{tenant}/regulator-requests", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug")), request_body = RequestBody, responses((status = 201, description = "The request, received", body = RequestView), BodyErrors))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    let v = regulator::create(&state, &p, &tenant, body).await?;
    Ok((StatusCode::CREATED, ApiJson(v)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests?state=&overdue=`
/// (admin, officer, auditor): awaiting an answer first, soonest deadline
/// first; then the rest.
#[utoipa::path(get, operation_id = "list_regulator_requests", path = "/api/v1/tenants/{tenant}/regulator-requests", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ListQuery), responses((status = 200, description = "The requests", body = [RequestView]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<RequestView>>, ApiError> {
    Ok(ApiJson(regulator::list(&state, &p, &tenant, &q)?))
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests/{id}` (admin,
/// officer, auditor).
#[utoipa::path(get, operation_id = "get_regulator_request", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), responses((status = 200, description = "The request", body = RequestView), Errors))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<RequestView>, ApiError> {
    Ok(ApiJson(regulator::get(&state, &p, &tenant, &id)?))
}

/// `POST /api/v1/tenants/{tenant}/regulator-requests/{id}/transitions`
/// (admin, officer): the request, moved on; logged as the new state's
/// event (`regulator_request_in_preparation`, `…_delivered`, `…_closed`,
/// `…_withdrawn`). 409 for a move its life cycle does not allow.
#[utoipa::path(post, operation_id = "move_regulator_request", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/transitions", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), request_body = NewTransition, responses((status = 200, description = "The request, moved on", body = RequestView), BodyErrors))]
pub async fn transition(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(t): ApiJson<NewTransition>,
) -> Result<ApiJson<RequestView>, ApiError> {
    Ok(ApiJson(
        regulator::transition(&state, &p, &tenant, &id, t).await?,
    ))
}

/// `POST /api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note`
/// (admin, officer): 201 with the prepared cover note, after the request's
/// release revision is resolved and its documents issued with their
/// evidence. 409 unless the request is in preparation, or when its
/// production digests resolve to no single revision; 422 for an officer
/// without a key in force; 503 when a timestamp or the verifier binary is
/// unavailable.
#[utoipa::path(post, operation_id = "prepare_cover_note", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), request_body = PrepareBody, responses((status = 201, description = "The cover note, prepared", body = CoverNoteView), BodyErrors))]
pub async fn prepare(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<PrepareBody>,
) -> Result<Response, ApiError> {
    let v = bundles::prepare(&state, &p, &tenant, &id, b, cover_html).await?;
    Ok((StatusCode::CREATED, ApiJson(v)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note`
/// (admin, officer, auditor): the exact bytes the officer signs.
#[utoipa::path(get, operation_id = "get_cover_note", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), responses((status = 200, description = "The cover note (RFC 8785 JSON)", content_type = "application/json", body = Object), Errors))]
pub async fn cover_note(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let b = bundles::cover_note(&state, &p, &tenant, &id, false)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response())
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note.html`
/// (admin, officer, auditor): the cover note for people (no scripts).
#[utoipa::path(get, operation_id = "get_cover_note_html", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note.html", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), responses((status = 200, description = "The cover note, rendered", content_type = "text/html", body = String), Errors))]
pub async fn cover_note_html(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let b = bundles::cover_note(&state, &p, &tenant, &id, true)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        b,
    )
        .into_response())
}

/// `POST /api/v1/tenants/{tenant}/regulator-requests/{id}/signature`
/// (admin, officer): the officer's signature over the cover note; the
/// request, issued. 422 when it does not verify with the officer's key;
/// 409 when nothing is prepared or the request moved on; 503 without a
/// timestamp (nothing is kept).
#[utoipa::path(post, operation_id = "sign_cover_note", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/signature", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), request_body = SignatureBody, responses((status = 200, description = "The request, issued", body = RequestView), BodyErrors))]
pub async fn sign(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<SignatureBody>,
) -> Result<ApiJson<RequestView>, ApiError> {
    Ok(ApiJson(bundles::sign(&state, &p, &tenant, &id, b).await?))
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests/{id}/bundle` (admin,
/// officer, auditor): the issued bundle, `application/gzip`, logged as a
/// download of the release with a receipt. 409 until it is issued.
#[utoipa::path(get, operation_id = "get_regulator_bundle", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/bundle", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), responses((status = 200, description = "The bundle", content_type = "application/gzip", body = Vec<u8>), Errors))]
pub async fn bundle(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let d = bundles::bundle(&state, &p, &tenant, &id).await?;
    deliver(&state, &p, &tenant, d).await
}

/// The self-contained HTML of a cover note (no scripts).
pub fn cover_html(n: &evident_verify::regulator::CoverNote, sha: &str) -> String {
    use maud::html;
    let r = &n.request;
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { "Cover note: " (r.notice_reference) }
                style { "body{font:15px/1.5 serif;max-width:52rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;text-align:left;padding:.2rem .4rem;vertical-align:top}code{font-size:.85em;word-break:break-all}" }
            }
            body {
                h1 { "Cover note" }
                p { "To " strong { (r.authority.name) } " (" (r.authority.country) ", " (r.authority.kind.replace('_', " ")) "), in answer to notice " strong { (r.notice_reference) } ", received on " (r.received_on) ", due " (r.deadline) "." }
                h2 { "Legal basis" }
                p { @for line in r.legal_basis.lines() { (line) br; } }
                h2 { "Release" }
                p { (n.release.product) " " (n.release.tag) " revision " (n.release.revision) " (log entry " (n.release.release_index) ")" }
                ul { @for a in &n.release.artefacts { li { (a.name) " " code { (a.digest) } } } }
                @if !n.production_digests.is_empty() {
                    p { "Production digests observed by the authority:" }
                    ul { @for d in &n.production_digests { li { code { (d) } } } }
                }
                h2 { "Statement" }
                p { @for line in n.statement.lines() { (line) br; } }
                p { "Signed by " strong { (n.officer.name) } ", " (n.officer.role) " (key " code { (n.officer.public_key_sha256) } ", registered at log entry " (n.officer.registered_index) "), and countersigned by the platform." }
                h2 { "Enclosed files" }
                table { tr { th { "File" } th { "Role" } th { "SHA-256" } }
                    @for f in &n.files { tr { td { code { (f.path) } } td { (f.role) } td { code { (f.sha256) } } } } }
                h2 { "Log entries" }
                p { "Proved against the checkpoint of " (n.checkpoint.origin) " at size " (n.checkpoint.size) " (root " code { (n.checkpoint.root_hash) } ")." }
                ul { @for e in &n.log_entries { li { (e.index) ": " (e.kind) } } }
                p { small { "Prepared " (n.prepared_at) ". This page renders cover-note.json, SHA-256 " code { (sha) } "; the signatures are over that file, not this page." } }
            }
        }
    }
    .into_string()
}

/// `POST /api/v1/tenants/{tenant}/regulator-requests/{id}/links` (admin,
/// officer): 201 with a download link for the authority (shown once),
/// working until the deadline's end plus `grace_days` (default 30); logged
/// `regulator_link_issued`. 409 until the bundle is issued.
#[utoipa::path(post, operation_id = "issue_authority_link", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/links", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), request_body = NewAuthorityLink, responses((status = 201, description = "The link, shown once", body = IssuedAuthorityLink), BodyErrors))]
pub async fn issue_link(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<NewAuthorityLink>,
) -> Result<Response, ApiError> {
    let v = bundles::issue_link(&state, &p, &tenant, &id, b).await?;
    Ok((StatusCode::CREATED, ApiJson(v)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/regulator-requests/{id}/links` (admin,
/// officer, auditor): the request's authority links, never a token.
#[utoipa::path(get, operation_id = "list_authority_links", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/links", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id")), responses((status = 200, description = "The links", body = [AuthorityLink]), Errors))]
pub async fn list_links(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<Vec<AuthorityLink>>, ApiError> {
    Ok(ApiJson(bundles::list_links(&state, &p, &tenant, &id)?))
}

/// `DELETE /api/v1/tenants/{tenant}/regulator-requests/{id}/links/{link}`
/// (admin, officer): the link, revoked; logged `regulator_link_revoked`.
#[utoipa::path(delete, operation_id = "revoke_authority_link", path = "/api/v1/tenants/{tenant}/regulator-requests/{id}/links/{link}", tag = "regulator", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The request's id"), ("link" = String, Path, description = "The link's id")), responses((status = 200, description = "The link, revoked", body = AuthorityLink), Errors))]
pub async fn revoke_link(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id, link)): Path<(String, String, String)>,
) -> Result<ApiJson<AuthorityLink>, ApiError> {
    Ok(ApiJson(
        bundles::revoke_link(&state, &p, &tenant, &id, &link).await?,
    ))
}

/// `GET /r/{token}/bundle` (anonymous, rate-limited): the bundle, served
/// after its `regulator_link_used` entry is durable (`X-Evident-Log-Index`).
/// An unknown, expired or revoked link is 404.
#[utoipa::path(get, operation_id = "authority_link_bundle", path = "/r/{token}/bundle", tag = "regulator", security(()), params(("token" = String, Path, description = "The link's token")), responses((status = 200, description = "The bundle", content_type = "application/gzip", body = Vec<u8>), Errors))]
pub async fn link_bundle(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (d, index) = bundles::link_bundle(&state, &token).await?;
    let mut res = crate::http::respond::attachment(d.body, &d.sha256, &d.media_type, &d.file_name);
    res.headers_mut()
        .insert("x-evident-log-index", index.into());
    Ok(res)
}

/// `?old=` of a consistency request.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OldSize {
    /// The size of the checkpoint the authority holds (the bundle's).
    pub old: u64,
}

/// `GET /r/{token}/consistency?old=N` (anonymous, rate-limited): a proof
/// that the log's latest checkpoint extends the one of size N, with that
/// checkpoint; logged.
#[utoipa::path(get, operation_id = "authority_link_consistency", path = "/r/{token}/consistency", tag = "regulator", security(()), params(("token" = String, Path, description = "The link's token"), OldSize), responses((status = 200, description = "The proof", body = LinkConsistency), Errors))]
pub async fn link_consistency(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiQuery(q): ApiQuery<OldSize>,
) -> Result<ApiJson<LinkConsistency>, ApiError> {
    Ok(ApiJson(
        bundles::link_consistency(&state, &token, q.old).await?,
    ))
}
