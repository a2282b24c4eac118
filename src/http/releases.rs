//! Releases and their evidence over HTTP: pushes, listings, exports, the
//! evidence files, the NOTICE, the original SBOM, and download receipts.
//! Every download goes through `respond::deliver`, which logs it first.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use evident_verify::receipt::Receipt;

use crate::{
    core::{Error, Principal},
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
        respond::deliver,
    },
    service::{
        catalogue::{self, ExportQuery, ReleaseSummary},
        diff::DiffQuery,
        downloads, evidence,
        releases::{self, Pushed, ReleasePush},
        search::{SearchAnswer, SearchQuery},
        AppState,
    },
};

type ReleasePath = Path<(String, String, String)>;

/// `POST /api/v1/tenants/{tenant}/releases` (push token): 201 with a new
/// revision, 200 when identical content was pushed before.
///
/// A token of another scope, or of another tenant, is answered 404 like
/// anything else outside the caller's reach.
#[utoipa::path(post, operation_id = "push_release", path = "/api/v1/tenants/{tenant}/releases", tag = "releases", params(("tenant" = String, Path, description = "Tenant slug")), request_body = ReleasePush, responses((status = 201, description = "A new revision", body = Pushed), (status = 200, description = "Identical content was pushed before", body = Pushed), BodyErrors))]
pub async fn push(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<ReleasePush>,
) -> Result<Response, ApiError> {
    let pushed: Pushed = releases::push(&state, &p, &tenant, req).await?;
    let status = if pushed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(pushed)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/products`: product names.
#[utoipa::path(get, operation_id = "list_products", path = "/api/v1/tenants/{tenant}/products", tag = "releases", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "Product names the caller may see", body = [String]), Errors))]
pub async fn products(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<String>>, ApiError> {
    Ok(ApiJson(catalogue::products(&state, &p, &tenant)?))
}

/// `GET /api/v1/tenants/{tenant}/products/{product}/releases`.
#[utoipa::path(get, operation_id = "list_releases", path = "/api/v1/tenants/{tenant}/products/{product}/releases", tag = "releases", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path)), responses((status = 200, description = "Releases, newest first", body = [ReleaseSummary]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product)): Path<(String, String)>,
) -> Result<ApiJson<Vec<ReleaseSummary>>, ApiError> {
    Ok(ApiJson(catalogue::releases(&state, &p, &tenant, &product)?))
}

/// `GET /api/v1/tenants/{tenant}/products/{product}/releases/{tag}`.
#[utoipa::path(get, operation_id = "get_release", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}", tag = "releases", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path)), responses((status = 200, description = "The release and its revisions", body = ReleaseSummary), Errors))]
pub async fn get_release(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
) -> Result<ApiJson<ReleaseSummary>, ApiError> {
    Ok(ApiJson(catalogue::release(
        &state, &p, &tenant, &product, &tag,
    )?))
}

/// `GET …/releases/{tag}/sbom?format=F&revision=N`: the export itself.
#[utoipa::path(get, operation_id = "download_export", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/sbom", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ExportQuery), responses((status = 200, description = "The export (logged; X-Evident-Log-Index names the entry)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let d = evidence::export(&state, &p, (&tenant, &product, &tag), &q).await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET …/releases/{tag}/{file}?format=F&revision=N`: the evidence of the
/// export that `…/sbom` serves for the same query (`sbom.sig`,
/// `sbom.sig.tsr`, `sbom.sigstore.json`, `sbom.intoto.sigstore.json`,
/// `verify.sh`, `sbom-kit.tar.gz`). Any other name is 404, after the
/// credentials are checked, as for every other API path.
#[utoipa::path(get, operation_id = "download_evidence_file", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/{file}", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ("file" = String, Path, description = "sbom.sig, sbom.sig.tsr, sbom.sigstore.json, sbom.intoto.sigstore.json, verify.sh or sbom-kit.tar.gz"), ExportQuery), responses((status = 200, description = "The evidence file (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag, file)): Path<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let file = evidence::File::parse(&file).ok_or_else(Error::not_found)?;
    let d = evidence::file(
        &state,
        &p,
        (&tenant, &product, &tag),
        file,
        evidence::Of::Export(&q),
    )
    .await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET …/releases/{tag}/sbom/original?revision=N`: the bytes as pushed.
#[utoipa::path(get, operation_id = "download_original", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/sbom/original", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ExportQuery), responses((status = 200, description = "The SBOM as pushed (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn original(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let d = releases::original(&state, &p, (&tenant, &product, &tag), &q)?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET …/releases/{tag}/notice?format=text|markdown|html&revision=N`.
#[utoipa::path(get, operation_id = "download_notice", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/notice", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ExportQuery), responses((status = 200, description = "The NOTICE (logged)", body = String, content_type = "text/plain"), Errors))]
pub async fn notice(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let d = releases::notice(&state, &p, (&tenant, &product, &tag), &q)?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET /api/v1/tenants/{t}/receipts/{index}`: the receipt of a download.
#[utoipa::path(get, operation_id = "get_receipt", path = "/api/v1/tenants/{tenant}/receipts/{index}", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("index" = u64, Path, description = "The download's log index")), responses((status = 200, description = "The download receipt", body = Receipt), Errors))]
pub async fn receipt(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
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

/// `GET /api/v1/tenants/{t}/products/{p}/diff?from=&to=&from_revision=&to_revision=`:
/// what changed between two releases (components added, removed and
/// changed in version or licence; VEX states that changed), as JSON,
/// issued like an export the first time these bytes are served (signed,
/// `export_issued` with the format `evident-diff`) and logged as a
/// download. For whoever may read both releases.
#[utoipa::path(get, operation_id = "download_release_diff", path = "/api/v1/tenants/{tenant}/products/{product}/diff", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), DiffQuery), responses((status = 200, description = "The diff (logged; X-Evident-Log-Index names the entry)", body = evident_sbom::diff::ReleaseDiff), Errors))]
pub async fn diff(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Response, ApiError> {
    let d = evidence::diff_document(&state, &p, (&tenant, &product), &q).await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET …/products/{p}/diff/{file}?from=&to=`: the evidence of the diff
/// `…/diff` serves for the same query (`diff.sig`, `diff.sig.tsr`,
/// `diff.sigstore.json`, `diff.intoto.sigstore.json`, `verify.sh`,
/// `diff-kit.tar.gz`); `evident-verify export` checks it like an export's.
#[utoipa::path(get, operation_id = "download_release_diff_evidence", path = "/api/v1/tenants/{tenant}/products/{product}/diff/{file}", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("file" = String, Path, description = "diff.sig, diff.sig.tsr, diff.sigstore.json, diff.intoto.sigstore.json, verify.sh or diff-kit.tar.gz"), DiffQuery), responses((status = 200, description = "The evidence file (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn diff_file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, file)): Path<(String, String, String)>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Response, ApiError> {
    let f = evidence::File::parse_stem("diff", &file).ok_or_else(Error::not_found)?;
    let d = evidence::file(
        &state,
        &p,
        (&tenant, &product, &q.to),
        f,
        evidence::Of::Diff(&q),
    )
    .await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET /api/v1/tenants/{t}/search?purl=|purl_prefix=|name=&version=&limit=`:
/// the release revisions that carry a component, from the index each push
/// writes, among those the caller may see (staff: every release; a
/// customer: its entitled ones). `truncated` says more matched.
#[utoipa::path(get, operation_id = "search_components", path = "/api/v1/tenants/{tenant}/search", tag = "releases", params(("tenant" = String, Path, description = "Tenant slug"), SearchQuery), responses((status = 200, description = "The revisions that carry it", body = SearchAnswer), Errors))]
pub async fn search(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<ApiJson<SearchAnswer>, ApiError> {
    let a = crate::service::blocking("search", move || {
        crate::service::search::search(&state, &p, &tenant, &q)
    })
    .await?;
    Ok(ApiJson(a))
}

/// `GET …/releases/{tag}/aggregate?format=F&revision=N`: a product
/// release's aggregate SBOM in any of the four formats: the product with
/// one component per component release it names, each linked to that
/// release's own SBOM (CycloneDX: a BOM-Link external reference with the
/// linked export's SHA-256; SPDX: `externalDocumentRefs` with its SHA-1
/// and a `DESCRIBED_BY` relationship), issued like an export and logged.
/// 404 for a release that names no components.
#[utoipa::path(get, operation_id = "download_aggregate", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/aggregate", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ExportQuery), responses((status = 200, description = "The aggregate SBOM (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn aggregate(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag)): ReleasePath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let d = evidence::aggregate(&state, &p, (&tenant, &product, &tag), &q).await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET …/releases/{tag}/aggregate/{file}?format=F`: the aggregate's
/// evidence (`aggregate.sig`, `aggregate.sig.tsr`, `aggregate.sigstore.json`,
/// `aggregate.intoto.sigstore.json`, `verify.sh`, `aggregate-kit.tar.gz`).
#[utoipa::path(get, operation_id = "download_aggregate_evidence", path = "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/aggregate/{file}", tag = "downloads", params(("tenant" = String, Path, description = "Tenant slug"), ("product" = String, Path), ("tag" = String, Path), ("file" = String, Path), ExportQuery), responses((status = 200, description = "The evidence file (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn aggregate_file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, product, tag, file)): Path<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let f = evidence::File::parse_stem("aggregate", &file).ok_or_else(Error::not_found)?;
    let d = evidence::file(
        &state,
        &p,
        (&tenant, &product, &tag),
        f,
        evidence::Of::Aggregate(&q),
    )
    .await?;
    deliver(&state, &p, &tenant, d).await
}
