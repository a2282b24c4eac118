//! VEX over HTTP: publish a version, download a document (logged, with a
//! receipt), and the history.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use evident_verify::receipt::Receipt;

use crate::{
    core::Principal,
    http::{
        error::{ApiBytes, ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
        respond::deliver,
    },
    service::{
        evidence,
        vex::{self, HistoryEntry, ProofQuery, PublishQuery, Published, VexQuery},
        AppState,
    },
};

type ReleasePath = Path<(String, String, String)>;

/// `POST …/releases/{tag}/vex` (admin or push token): a new VEX version of
/// the release's latest revision from a findings document, CycloneDX VEX
/// (JSON or XML), OpenVEX 0.2.0 or CSAF 2.0 VEX. 201 with the version, its
/// `vex_published` entry and the digest of every document it yields; 422
/// naming the place of a bad finding (and storing nothing).
#[utoipa::path(post, operation_id = "publish_vex", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex", tag = "vex", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), PublishQuery), request_body(content = String, description = "Findings JSON, CycloneDX VEX, OpenVEX or CSAF VEX", content_type = "application/json"), responses((status = 201, description = "A new VEX version", body = Published), BodyErrors))]
pub async fn publish(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<PublishQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let published = vex::publish(&state, &p, (&tenant, &product, &tag), &body, &q).await?;
    Ok((StatusCode::CREATED, ApiJson(published)).into_response())
}

/// `GET …/releases/{tag}/vex?format=openvex|csaf|cyclonedx-vex&vex=N&as_of=T`:
/// one VEX document (logged, with a receipt like every download), issued
/// like an export the first time it is served (signed, `export_issued`).
/// `X-Evident-Vex-Version` names the version served and
/// `X-Evident-Vex-Published` the index of the `vex_published` entry that
/// made it current (prove it with `…/log/proof/inclusion`).
#[utoipa::path(get, operation_id = "download_vex", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex", tag = "vex", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), VexQuery), responses((status = 200, description = "The VEX document (logged)", body = Vec<u8>, content_type = "application/json"), Errors))]
pub async fn document(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<VexQuery>,
) -> Result<Response, ApiError> {
    let (d, s) = evidence::vex_document(&state, &p, (&tenant, &product, &tag), &q).await?;
    let mut res = deliver(&state, &p, &tenant, d).await?;
    let h = res.headers_mut();
    h.insert("x-evident-vex-version", HeaderValue::from(s.version));
    if let Some(i) = s.log_index {
        h.insert("x-evident-vex-published", HeaderValue::from(i));
    }
    if let Ok(v) = HeaderValue::from_str(&s.published_at) {
        h.insert("x-evident-vex-published-at", v);
    }
    Ok(res)
}

/// `GET …/releases/{tag}/vex/history`: every VEX version, oldest first,
/// with its time, log index and what changed per finding.
#[utoipa::path(get, operation_id = "vex_history", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/history", tag = "vex", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path)), responses((status = 200, description = "The versions", body = [HistoryEntry]), Errors))]
pub async fn history(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
) -> Result<ApiJson<Vec<HistoryEntry>>, ApiError> {
    Ok(ApiJson(vex::history(
        &state,
        &p,
        (&tenant, &product, &tag),
    )?))
}

/// `GET …/releases/{tag}/vex/proof?vex=N|as_of=T`: the `vex_published`
/// entry of a version, its inclusion proof against the latest signed
/// checkpoint, and that checkpoint's RFC 3161 token (the receipt form).
#[utoipa::path(get, operation_id = "vex_proof", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/proof", tag = "vex", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ProofQuery), responses((status = 200, description = "The publication proof", body = Receipt), Errors))]
pub async fn proof(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> Result<ApiJson<Receipt>, ApiError> {
    Ok(ApiJson(
        vex::proof(&state, &p, (&tenant, &product, &tag), &q).await?,
    ))
}

/// `GET …/releases/{tag}/vex/{file}?format=F&vex=N&as_of=T`: the evidence
/// of the VEX document `…/vex` serves for the same query (`vex.sig`,
/// `vex.sig.tsr`, `vex.sigstore.json`, `vex.intoto.sigstore.json`,
/// `verify.sh`, `vex-kit.tar.gz`). Any other name is 404.
#[utoipa::path(get, operation_id = "download_vex_evidence_file", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/{file}", tag = "vex", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ("file" = String, Path, description = "vex.sig, vex.sig.tsr, vex.sigstore.json, vex.intoto.sigstore.json, verify.sh or vex-kit.tar.gz"), VexQuery), responses((status = 200, description = "The evidence file (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag, file)): Path<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<VexQuery>,
) -> Result<Response, ApiError> {
    let file = evidence::File::parse_vex(&file).ok_or_else(crate::core::Error::not_found)?;
    let d = evidence::file(
        &state,
        &p,
        (&tenant, &product, &tag),
        file,
        evidence::Of::Vex(&q),
    )
    .await?;
    deliver(&state, &p, &tenant, d).await
}
