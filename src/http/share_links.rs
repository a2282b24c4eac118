//! Share links over HTTP: issuing, listing, revoking and proving them
//! (`/api/v1/tenants/{t}/share-links…`, bearer tokens), and the anonymous
//! downloads and receipts of a link (`/s/{token}/…`).
//!
//! Every `/s/…` answer, success or not, carries `Referrer-Policy:
//! no-referrer` and `Cache-Control: no-store` ([`private`]), so the token
//! leaks through neither Referer headers nor caches, and counts against
//! the per-address share-link limit ([`limit`]).

use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use evident_verify::{receipt::Receipt, share::ShareLinkStatus};

use crate::{
    core::Principal,
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        extract::{client_addr, ClientAddr},
        openapi::{BodyErrors, Errors},
        respond::logged,
    },
    service::{
        limits::Anonymous,
        share_links::{self, IssuedShareLink, ListQuery, NewShareLink, ShareFile, ShareLinkView},
        AppState,
    },
};

/// `POST /api/v1/tenants/{tenant}/share-links` (admin, or the `share`
/// scope): 201 with the link's URL, shown this once.
#[utoipa::path(post, operation_id = "issue_share_link", path = "/api/v1/tenants/{tenant}/share-links", tag = "share links", params(("tenant" = String, Path, description = "Tenant slug")), request_body = NewShareLink, responses((status = 201, description = "The link; its URL is shown only now", body = IssuedShareLink), BodyErrors))]
pub async fn issue(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<NewShareLink>,
) -> Result<Response, ApiError> {
    let issued = share_links::issue(&state, &p, &tenant, req).await?;
    let mut res = (StatusCode::CREATED, ApiJson(issued)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /api/v1/tenants/{tenant}/share-links?product=&tag=&state=`: every
/// link (admin) or one's own (`share` scope), newest first; never a token.
#[utoipa::path(get, operation_id = "list_share_links", path = "/api/v1/tenants/{tenant}/share-links", tag = "share links", params(("tenant" = String, Path, description = "Tenant slug"), ListQuery), responses((status = 200, description = "The links, newest first", body = [ShareLinkView]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<ShareLinkView>>, ApiError> {
    Ok(ApiJson(share_links::list(&state, &p, &tenant, &q)?))
}

/// `DELETE /api/v1/tenants/{tenant}/share-links/{id}` (admin, or the
/// issuer): revoked at once; 409 when it was revoked before.
#[utoipa::path(delete, operation_id = "revoke_share_link", path = "/api/v1/tenants/{tenant}/share-links/{id}", tag = "share links", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The link's id")), responses((status = 200, description = "The revoked link", body = ShareLinkView), Errors))]
pub async fn revoke(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<ShareLinkView>, ApiError> {
    Ok(ApiJson(
        share_links::revoke(&state, &p, &tenant, &id).await?,
    ))
}

/// `GET /api/v1/tenants/{tenant}/share-links/{id}/status` (admin, the
/// issuer, or an auditor): the link's entries with proofs, for
/// `evident-verify share-link`.
#[utoipa::path(get, operation_id = "share_link_status", path = "/api/v1/tenants/{tenant}/share-links/{id}/status", tag = "share links", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The link's id")), responses((status = 200, description = "The status document", body = ShareLinkStatus), Errors))]
pub async fn status(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<ShareLinkStatus>, ApiError> {
    Ok(ApiJson(
        share_links::status(&state, &p, &tenant, &id).await?,
    ))
}

/// `?format=` of a link download.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShareQuery {
    /// For `sbom` and `sbom-kit.tar.gz`: the export format
    /// (`cyclonedx-json` by default); for `notice`: `text` (default),
    /// `markdown` or `html`.
    #[serde(default)]
    pub format: Option<String>,
}

/// `GET /s/{token}/{file}?format=F` (anonymous): `sbom`, `notice` or
/// `sbom-kit.tar.gz`, when the link covers it. Appends `share_link_used`
/// before the first byte; an unknown, expired, revoked or used-up link is
/// the same 404, and appends nothing.
#[utoipa::path(get, operation_id = "share_link_download", path = "/s/{token}/{file}", tag = "share links", security(()), params(("token" = String, Path, description = "The link's token"), ("file" = String, Path, description = "sbom, notice or sbom-kit.tar.gz"), ShareQuery), responses((status = 200, description = "The file (logged; X-Evident-Log-Index names the share_link_used entry)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn download(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((token, file)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ShareQuery>,
) -> Result<Response, ApiError> {
    let file = ShareFile::parse(&file).ok_or_else(share_links::gone)?;
    let (d, index) = share_links::download(&state, &token, file, q.format, addr).await?;
    Ok(logged(d, index, &format!("/s/{token}/receipts/{index}")))
}

/// `GET /s/{token}/receipts/{index}` (anonymous): the receipt of one of the
/// link's downloads, for `evident-verify receipt`.
#[utoipa::path(get, operation_id = "share_link_receipt", path = "/s/{token}/receipts/{index}", tag = "share links", security(()), params(("token" = String, Path, description = "The link's token"), ("index" = u64, Path, description = "The download's log index")), responses((status = 200, description = "The receipt", body = Receipt), Errors))]
pub async fn receipt(
    State(state): State<AppState>,
    Path((token, index)): Path<(String, String)>,
) -> Result<ApiJson<Receipt>, ApiError> {
    let index: u64 = index.parse().map_err(|_| share_links::gone())?;
    Ok(ApiJson(share_links::receipt(&state, &token, index).await?))
}

/// `Referrer-Policy: no-referrer` and `Cache-Control: no-store` on every
/// answer under `/s/`.
pub async fn private(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Counts a `/s/…` request against the per-address limit; 429 over it.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = client_addr(req.extensions());
    match state.limits().check(Anonymous::Share, addr, None) {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError(e).into_response(),
    }
}
