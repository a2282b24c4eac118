//! Compliance documents and CSAF security advisories over HTTP: publish and
//! withdraw documents (admin), list and download them (whoever may read
//! the release and is in the document's audience), their evidence, a
//! public portal's public documents; draft and publish advisories (admin),
//! list, read and download published ones (whoever may read the release).

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    core::{Error, Principal},
    http::{
        error::{ApiBytes, ApiError, ApiJson, ApiQuery},
        extract::ClientAddr,
        openapi::{BodyErrors, Errors},
        respond::{deliver, logged},
    },
    service::{
        advisories::{self, AdvisoryRecord, NewAdvisory},
        documents::{self, Document, NewDocument},
        downloads, evidence, portal, AppState,
    },
};

/// `POST /api/v1/tenants/{t}/documents?product=&tag=&title=&type=&visibility=&customers=&file_name=`
/// (admin): the document is the body, its `Content-Type` one of
/// `application/pdf`, `text/plain`, `text/markdown`, `application/json`,
/// `image/png`, at most 20 MiB. 201 with the record; `document_published`.
#[utoipa::path(post, operation_id = "publish_document", path = "/api/v1/tenants/{tenant}/documents", tag = "documents", params(("tenant" = String, Path, description = "Tenant slug"), NewDocument), request_body(content = Vec<u8>, description = "The document", content_type = "application/pdf"), responses((status = 201, description = "Published", body = Document), (status = 415, description = "Not a document type", body = crate::http::openapi::ErrorBody), BodyErrors))]
pub async fn publish(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<NewDocument>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let d = documents::publish(&state, &p, &tenant, q, media, body.to_vec()).await?;
    Ok((StatusCode::CREATED, ApiJson(d)).into_response())
}

/// `?product=&tag=` of a document list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListDocuments {
    /// Only this product's release (with `tag`).
    #[serde(default)]
    pub product: Option<String>,
    /// Only this release (with `product`).
    #[serde(default)]
    pub tag: Option<String>,
}

/// `GET /api/v1/tenants/{t}/documents[?product=&tag=]`: the documents the
/// caller may see, newest first.
#[utoipa::path(get, operation_id = "list_documents", path = "/api/v1/tenants/{tenant}/documents", tag = "documents", params(("tenant" = String, Path, description = "Tenant slug"), ListDocuments), responses((status = 200, description = "The documents", body = [Document]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<ListDocuments>,
) -> Result<ApiJson<Vec<Document>>, ApiError> {
    let release = match (&q.product, &q.tag) {
        (Some(p), Some(t)) => Some((p.as_str(), t.as_str())),
        (None, None) => None,
        _ => {
            return Err(Error::Unprocessable("give product and tag together".into()).into());
        }
    };
    Ok(ApiJson(documents::list(&state, &p, &tenant, release)?))
}

/// `GET /api/v1/tenants/{t}/documents/{id}`: the document (logged, with a
/// receipt), issued like an export the first time it is served.
#[utoipa::path(get, operation_id = "download_document", path = "/api/v1/tenants/{tenant}/documents/{id}", tag = "documents", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "The document (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn download(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let d = evidence::document(&state, &p, &tenant, &id).await?;
    deliver(&state, &p, &tenant, d).await
}

/// `GET /api/v1/tenants/{t}/documents/{id}/{file}`: its evidence
/// (`document.sig`, `document.sig.tsr`, `document.sigstore.json`,
/// `document.intoto.sigstore.json`, `verify.sh`, `document-kit.tar.gz`),
/// checked like an export's.
#[utoipa::path(get, operation_id = "download_document_evidence", path = "/api/v1/tenants/{tenant}/documents/{id}/{file}", tag = "documents", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path), ("file" = String, Path, description = "document.sig, document.sig.tsr, document.sigstore.json, document.intoto.sigstore.json, verify.sh or document-kit.tar.gz")), responses((status = 200, description = "The evidence file (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let f = evidence::File::parse_stem("document", &file).ok_or_else(Error::not_found)?;
    // The release triple is the document's; `file` finds it by id.
    let d = evidence::file(
        &state,
        &p,
        (&tenant, "", ""),
        f,
        evidence::Of::Document(&id),
    )
    .await?;
    deliver(&state, &p, &tenant, d).await
}

/// `DELETE /api/v1/tenants/{t}/documents/{id}` (admin): withdraws it (204);
/// `document_withdrawn`.
#[utoipa::path(delete, operation_id = "withdraw_document", path = "/api/v1/tenants/{tenant}/documents/{id}", tag = "documents", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 204, description = "Withdrawn"), Errors))]
pub async fn withdraw(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    documents::withdraw(&state, &p, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /p/{tenant}/documents/{id}` (anonymous, public portals): a public
/// document of a public release, logged like every public download.
#[utoipa::path(get, operation_id = "public_document", path = "/p/{tenant}/documents/{id}", tag = "documents", security(()), params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "The document (logged)", body = Vec<u8>, content_type = "application/octet-stream"), Errors))]
pub async fn public_download(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = portal::visitor(&state, &tenant, addr)?;
    let d = evidence::document(&state, &p, &tenant, &id).await?;
    let index = downloads::record(&state, &p, &tenant, &d).await?;
    Ok(logged(d, index, &format!("/p/{tenant}/receipts/{index}")))
}

/// `POST /api/v1/tenants/{t}/advisories?product=&tag=&id=&title=&summary=&reference=`
/// (admin): drafts (or replaces the draft of) a CSAF security advisory
/// whose statements are the body, in any VEX input format (findings JSON,
/// CycloneDX VEX, OpenVEX, CSAF); 422 naming the first problem, 409 when
/// that id is published. Only admins see a draft; nothing is logged yet.
#[utoipa::path(post, operation_id = "draft_advisory", path = "/api/v1/tenants/{tenant}/advisories", tag = "advisories", params(("tenant" = String, Path, description = "Tenant slug"), NewAdvisory), request_body(content = String, description = "The statements: findings JSON, CycloneDX VEX, OpenVEX or CSAF", content_type = "application/json"), responses((status = 201, description = "The draft", body = AdvisoryRecord), BodyErrors))]
pub async fn draft_advisory(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<NewAdvisory>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let a = advisories::draft(&state, &p, &tenant, q, body.to_vec()).await?;
    Ok((StatusCode::CREATED, ApiJson(a)).into_response())
}

/// `POST /api/v1/tenants/{t}/advisories/{id}/publish[?input_sha256=]`
/// (admin): writes the CSAF document once and appends
/// `advisory_published`; 409 when published (or, with `input_sha256`,
/// when the draft changed since it was reviewed).
#[utoipa::path(post, operation_id = "publish_advisory", path = "/api/v1/tenants/{tenant}/advisories/{id}/publish", tag = "advisories", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path), PublishAdvisory), responses((status = 200, description = "Published", body = AdvisoryRecord), Errors))]
pub async fn publish_advisory(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<PublishAdvisory>,
) -> Result<ApiJson<AdvisoryRecord>, ApiError> {
    Ok(ApiJson(
        advisories::publish(&state, &p, &tenant, &id, q.input_sha256.as_deref()).await?,
    ))
}

/// `?input_sha256=` of a publication.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublishAdvisory {
    /// The draft's `input_sha256` as reviewed: 409 if the draft changed
    /// since; a retry of a publication that succeeded answers its record.
    #[serde(default)]
    pub input_sha256: Option<String>,
}

/// `GET /api/v1/tenants/{t}/advisories`: the advisories the caller may see
/// (admins: drafts too), newest first.
#[utoipa::path(get, operation_id = "list_advisories", path = "/api/v1/tenants/{tenant}/advisories", tag = "advisories", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The advisories", body = [AdvisoryRecord]), Errors))]
pub async fn list_advisories(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<AdvisoryRecord>>, ApiError> {
    Ok(ApiJson(advisories::list(&state, &p, &tenant)?))
}

/// An advisory with its statements.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AdvisoryAnswer {
    /// The record.
    #[serde(flatten)]
    pub advisory: AdvisoryRecord,
    /// Its statements: vulnerability, component, product status, action.
    pub statements: Vec<advisories::Row>,
}

/// `GET /api/v1/tenants/{t}/advisories/{id}`: one advisory and its
/// statements.
#[utoipa::path(get, operation_id = "get_advisory", path = "/api/v1/tenants/{tenant}/advisories/{id}", tag = "advisories", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "The advisory", body = AdvisoryAnswer), Errors))]
pub async fn get_advisory(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<AdvisoryAnswer>, ApiError> {
    let v = advisories::get(&state, &p, &tenant, &id).await?;
    Ok(ApiJson(AdvisoryAnswer {
        advisory: v.record,
        statements: v.rows,
    }))
}

/// `GET /api/v1/tenants/{t}/advisories/{id}/{file}`: a published
/// advisory's CSAF document (`csaf`, logged, issued like an export) or its
/// evidence (`advisory.sig`, `advisory.sig.tsr`, `advisory.sigstore.json`,
/// `advisory.intoto.sigstore.json`, `verify.sh`, `advisory-kit.tar.gz`).
#[utoipa::path(get, operation_id = "download_advisory", path = "/api/v1/tenants/{tenant}/advisories/{id}/{file}", tag = "advisories", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path), ("file" = String, Path, description = "csaf, or advisory.sig, advisory.sig.tsr, advisory.sigstore.json, advisory.intoto.sigstore.json, verify.sh, advisory-kit.tar.gz")), responses((status = 200, description = "The file (logged)", body = Vec<u8>, content_type = "application/json"), Errors))]
pub async fn advisory_file(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let d = if file == "csaf" {
        evidence::advisory(&state, &p, &tenant, &id).await?
    } else {
        let f = evidence::File::parse_stem("advisory", &file).ok_or_else(Error::not_found)?;
        evidence::file(
            &state,
            &p,
            (&tenant, "", ""),
            f,
            evidence::Of::Advisory(&id),
        )
        .await?
    };
    deliver(&state, &p, &tenant, d).await
}
