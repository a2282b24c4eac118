//! The portal's settings over HTTP (`/api/v1/tenants/{t}/portal…`, admin),
//! and a public portal's anonymous downloads and receipts (`/p/{t}/…`).
//!
//! A public download is logged like any other (`download_served`, with an
//! anonymous subject and the client's pseudonym) before its first byte,
//! and answers with its receipt's link; the receipt is given to the same
//! client (the same pseudonym) only. Every `/p/…` answer counts against
//! the per-address and per-tenant limits of public downloads, and a
//! portal that is unknown, off or private is 404 alike.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use evident_verify::receipt::Receipt;

use crate::{
    core::{Error, Principal},
    http::{
        error::{ApiBytes, ApiError, ApiJson, ApiQuery},
        extract::ClientAddr,
        openapi::{BodyErrors, Errors},
        respond::logged,
    },
    service::{
        catalogue::ExportQuery,
        downloads, evidence,
        portal::{self, Logo, PortalSettings, PortalView},
        releases, AppState,
    },
};

/// `GET /api/v1/tenants/{t}/portal` (admin): the portal's settings and logo.
#[utoipa::path(get, operation_id = "get_portal", path = "/api/v1/tenants/{tenant}/portal", tag = "portal", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The portal's settings", body = PortalView), Errors))]
pub async fn get_portal(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<PortalView>, ApiError> {
    Ok(ApiJson(portal::get(&state, &p, &tenant)?))
}

/// `PUT /api/v1/tenants/{t}/portal` (admin): new settings, whole; a
/// `portal_updated` entry.
#[utoipa::path(put, operation_id = "put_portal", path = "/api/v1/tenants/{tenant}/portal", tag = "portal", params(("tenant" = String, Path, description = "Tenant slug")), request_body = PortalSettings, responses((status = 200, description = "Saved", body = PortalView), BodyErrors))]
pub async fn put_portal(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(s): ApiJson<PortalSettings>,
) -> Result<ApiJson<PortalView>, ApiError> {
    Ok(ApiJson(portal::update(&state, &p, &tenant, s).await?))
}

/// `PUT /api/v1/tenants/{t}/portal/logo` (admin): the logo, as the body,
/// `Content-Type: image/png` or `image/svg+xml`, at most 256 KiB. A PNG
/// must decode; an SVG with a script, an event handler, foreign content,
/// an animation, a DTD or a reference outside itself is refused (422,
/// naming what was found). A `portal_logo_changed` entry.
#[utoipa::path(put, operation_id = "put_portal_logo", path = "/api/v1/tenants/{tenant}/portal/logo", tag = "portal", params(("tenant" = String, Path, description = "Tenant slug")), request_body(content = Vec<u8>, description = "The logo", content_type = "image/png"), responses((status = 200, description = "Saved", body = Logo), (status = 415, description = "Neither PNG nor SVG", body = crate::http::openapi::ErrorBody), BodyErrors))]
pub async fn put_logo(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<ApiJson<Logo>, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(ApiJson(
        portal::set_logo(&state, &p, &tenant, media_type, body.to_vec()).await?,
    ))
}

/// `DELETE /api/v1/tenants/{t}/portal/logo` (admin): 204; a
/// `portal_logo_changed` entry without a digest.
#[utoipa::path(delete, operation_id = "delete_portal_logo", path = "/api/v1/tenants/{tenant}/portal/logo", tag = "portal", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 204, description = "Removed"), Errors))]
pub async fn delete_logo(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<StatusCode, ApiError> {
    portal::remove_logo(&state, &p, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?format=F&revision=N` of a public download.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublicQuery {
    /// For `sbom` and its evidence files: the export format
    /// (`cyclonedx-json` by default); for `notice`: `text` (default),
    /// `markdown` or `html`.
    #[serde(default)]
    pub format: Option<String>,
    /// Revision; the latest when absent.
    #[serde(default)]
    pub revision: Option<u32>,
}

/// `GET /p/{tenant}/{product}/{tag}/{file}?format=F` (anonymous, public
/// portals): `sbom`, `notice`, or an export's evidence (`sbom.sig`,
/// `sbom.sig.tsr`, `sbom.sigstore.json`, `sbom.intoto.sigstore.json`,
/// `verify.sh`, `sbom-kit.tar.gz`), of a release the portal shows
/// publicly. The export carries no VEX (VEX is for entitled customers).
/// Appends `download_served` (anonymous subject, the client's pseudonym)
/// before the first byte.
#[utoipa::path(get, operation_id = "public_download", path = "/p/{tenant}/{product}/{tag}/{file}", tag = "portal", security(()), params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ("file" = String, Path, description = "sbom, notice, sbom.sig, sbom.sig.tsr, sbom.sigstore.json, sbom.intoto.sigstore.json, verify.sh or sbom-kit.tar.gz"), PublicQuery), responses((status = 200, description = "The file (logged; X-Evident-Log-Index names the entry, Link the receipt)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn public_download(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((tenant, product, tag, file)): Path<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> Result<Response, ApiError> {
    let p = portal::visitor(&state, &tenant, addr)?;
    let q = ExportQuery {
        format: q.format,
        revision: q.revision,
        vex: Some(0),
    };
    let release = (tenant.as_str(), product.as_str(), tag.as_str());
    let d = match file.as_str() {
        "sbom" => evidence::export(&state, &p, release, &q).await?,
        "notice" => releases::notice(&state, &p, release, &q)?,
        other => {
            let f = evidence::File::parse(other).ok_or_else(Error::not_found)?;
            evidence::file(&state, &p, release, f, evidence::Of::Export(&q)).await?
        }
    };
    let index = downloads::record(&state, &p, &tenant, &d).await?;
    Ok(logged(d, index, &format!("/p/{tenant}/receipts/{index}")))
}

/// `GET /p/{tenant}/receipts/{index}` (anonymous, public portals): the
/// receipt of a public download made from the same client address.
#[utoipa::path(get, operation_id = "public_receipt", path = "/p/{tenant}/receipts/{index}", tag = "portal", security(()), params(("tenant" = String, Path, description = "Tenant slug"), ("index" = u64, Path, description = "The download's log index")), responses((status = 200, description = "The receipt", body = Receipt), Errors))]
pub async fn public_receipt(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((tenant, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = portal::visitor(&state, &tenant, addr)?;
    let index: u64 = index
        .parse()
        .map_err(|_| Error::Unprocessable(format!("receipt index {index:?} is not a log index")))?;
    let r = downloads::receipt(&state, &p, &tenant, index).await?;
    let mut res = ApiJson(r).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
