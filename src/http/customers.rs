//! Customers, their SSO bindings, entitlements and tokens (admin); what a
//! customer is entitled to; tenant settings; export keys.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use sha2::Digest as _;

use evident_verify::receipt::ReceiptList;

use crate::{
    core::{Error, Principal},
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
        respond::attachment,
    },
    service::{
        customers::{
            self, CustomerInfo, EntitledRelease, Entitlement, NewBinding, NewCustomer,
            NewCustomerToken,
        },
        downloads::{self, OwnDownloads},
        settings::{self, Settings},
        signing::{self, PublicKeyRecord},
        tenancy::{IssuedToken, TokenInfo},
        AppState,
    },
};

type Tenant = Path<String>;
type Customer = Path<(String, String)>;

/// `POST /api/v1/tenants/{t}/customers`.
#[utoipa::path(post, operation_id = "create_customer", path = "/api/v1/tenants/{tenant}/customers", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug")), request_body = NewCustomer, responses((status = 201, description = "Created", body = CustomerInfo), BodyErrors))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
    ApiJson(req): ApiJson<NewCustomer>,
) -> Result<(StatusCode, ApiJson<CustomerInfo>), ApiError> {
    let c = customers::create(&state, &p, &tenant, req).await?;
    Ok((StatusCode::CREATED, ApiJson(c)))
}

/// `GET /api/v1/tenants/{t}/customers`.
#[utoipa::path(get, operation_id = "list_customers", path = "/api/v1/tenants/{tenant}/customers", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The customers", body = [CustomerInfo]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
) -> Result<ApiJson<Vec<CustomerInfo>>, ApiError> {
    Ok(ApiJson(customers::list(&state, &p, &tenant)?))
}

/// `GET /api/v1/tenants/{t}/customers/{c}`.
#[utoipa::path(get, operation_id = "get_customer", path = "/api/v1/tenants/{tenant}/customers/{id}", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "The customer", body = CustomerInfo), Errors))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    Ok(ApiJson(customers::get(&state, &p, &tenant, &id)?))
}

/// `PUT /api/v1/tenants/{t}/customers/{c}/entitlements`: replaces them.
#[utoipa::path(put, operation_id = "set_entitlements", path = "/api/v1/tenants/{tenant}/customers/{id}/entitlements", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), request_body = [Entitlement], responses((status = 200, description = "Replaced", body = CustomerInfo), BodyErrors))]
pub async fn set_entitlements(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
    ApiJson(e): ApiJson<Vec<Entitlement>>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    Ok(ApiJson(
        customers::set_entitlements(&state, &p, &tenant, &id, e).await?,
    ))
}

/// `POST /api/v1/tenants/{t}/customers/{c}/sso`: adds a binding.
#[utoipa::path(post, operation_id = "add_sso_binding", path = "/api/v1/tenants/{tenant}/customers/{id}/sso", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), request_body = NewBinding, responses((status = 201, description = "Added", body = CustomerInfo), BodyErrors))]
pub async fn add_binding(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
    ApiJson(b): ApiJson<NewBinding>,
) -> Result<(StatusCode, ApiJson<CustomerInfo>), ApiError> {
    let c = customers::add_binding(&state, &p, &tenant, &id, b).await?;
    Ok((StatusCode::CREATED, ApiJson(c)))
}

/// `DELETE /api/v1/tenants/{t}/customers/{c}/sso/{b}`.
#[utoipa::path(delete, operation_id = "remove_sso_binding", path = "/api/v1/tenants/{tenant}/customers/{id}/sso/{binding}", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path), ("binding" = String, Path)), responses((status = 200, description = "Removed", body = CustomerInfo), Errors))]
pub async fn remove_binding(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id, binding)): Path<(String, String, String)>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    Ok(ApiJson(
        customers::remove_binding(&state, &p, &tenant, &id, &binding).await?,
    ))
}

/// `DELETE /api/v1/tenants/{t}/customers/{c}`: the customer and its tokens.
#[utoipa::path(delete, operation_id = "delete_customer", path = "/api/v1/tenants/{tenant}/customers/{id}", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "Deleted, its tokens revoked", body = CustomerInfo), Errors))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    Ok(ApiJson(customers::delete(&state, &p, &tenant, &id).await?))
}

/// `POST /api/v1/tenants/{t}/customers/{c}/tokens`: a customer access token.
#[utoipa::path(post, operation_id = "create_customer_token", path = "/api/v1/tenants/{tenant}/customers/{id}/tokens", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), request_body = NewCustomerToken, responses((status = 201, description = "Issued, shown once", body = IssuedToken), BodyErrors))]
pub async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
    ApiJson(req): ApiJson<NewCustomerToken>,
) -> Result<(StatusCode, ApiJson<IssuedToken>), ApiError> {
    let t = customers::create_token(&state, &p, &tenant, &id, req).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `GET /api/v1/tenants/{t}/customers/{c}/tokens`.
#[utoipa::path(get, operation_id = "list_customer_tokens", path = "/api/v1/tenants/{tenant}/customers/{id}/tokens", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path)), responses((status = 200, description = "Its tokens", body = [TokenInfo]), Errors))]
pub async fn list_tokens(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Customer,
) -> Result<ApiJson<Vec<TokenInfo>>, ApiError> {
    Ok(ApiJson(customers::list_tokens(&state, &p, &tenant, &id)?))
}

/// `GET /api/v1/tenants/{t}/entitled` (customer): the releases it may see.
#[utoipa::path(get, operation_id = "list_entitled_releases", path = "/api/v1/tenants/{tenant}/entitled", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The releases the calling customer may see", body = [EntitledRelease]), Errors))]
pub async fn entitled(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
) -> Result<ApiJson<Vec<EntitledRelease>>, ApiError> {
    Ok(ApiJson(customers::entitled(&state, &p, &tenant)?.1))
}

/// `?cursor=&limit=` of `GET …/my-downloads`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OwnQuery {
    /// A previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Downloads per page (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /api/v1/tenants/{t}/my-downloads` (customer): the calling
/// customer's own downloads, newest first, by any of its users.
#[utoipa::path(get, operation_id = "list_own_downloads", path = "/api/v1/tenants/{tenant}/my-downloads", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), OwnQuery), responses((status = 200, description = "A page of the customer's downloads", body = OwnDownloads), Errors))]
pub async fn own_downloads(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
    ApiQuery(q): ApiQuery<OwnQuery>,
) -> Result<ApiJson<OwnDownloads>, ApiError> {
    Ok(ApiJson(
        downloads::own(&state, &p, &tenant, q.cursor, q.limit).await?,
    ))
}

/// `?from=&to=` of `GET …/my-downloads/receipts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportRange {
    /// Only downloads at or after this time (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// Only downloads before this time (RFC 3339).
    #[serde(default)]
    pub to: Option<String>,
}

/// `GET /api/v1/tenants/{t}/my-downloads/receipts` (customer): the
/// customer's newest 1,000 downloads (within `from`..`to`) with their
/// receipts, as one file for `evident-verify receipts`. Appends
/// `receipts_exported`, which fixes the list.
#[utoipa::path(get, operation_id = "export_own_receipts", path = "/api/v1/tenants/{tenant}/my-downloads/receipts", tag = "customers", params(("tenant" = String, Path, description = "Tenant slug"), ExportRange), responses((status = 200, description = "The downloads with their receipts", body = ReceiptList), Errors))]
pub async fn export_receipts(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
    ApiQuery(q): ApiQuery<ExportRange>,
) -> Result<Response, ApiError> {
    let l = downloads::export_receipts(&state, &p, &tenant, q.from, q.to).await?;
    let body = serde_json::to_vec_pretty(&l)
        .map_err(|e| Error::Internal(format!("a receipt list does not serialise: {e}")))?;
    let sha: [u8; 32] = sha2::Sha256::digest(&body).into();
    Ok(attachment(
        body,
        &sha,
        "application/json",
        &format!("{tenant}-downloads-receipts.json"),
    ))
}

/// `GET /api/v1/tenants/{t}/settings` (admin).
#[utoipa::path(get, operation_id = "get_settings", path = "/api/v1/tenants/{tenant}/settings", tag = "settings", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The settings", body = Settings), Errors))]
pub async fn get_settings(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
) -> Result<ApiJson<Settings>, ApiError> {
    Ok(ApiJson(settings::get(&state, &p, &tenant)?))
}

/// `PUT /api/v1/tenants/{t}/settings` (admin).
#[utoipa::path(put, operation_id = "put_settings", path = "/api/v1/tenants/{tenant}/settings", tag = "settings", params(("tenant" = String, Path, description = "Tenant slug")), request_body = Settings, responses((status = 200, description = "Saved", body = Settings), BodyErrors))]
pub async fn put_settings(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
    ApiJson(s): ApiJson<Settings>,
) -> Result<ApiJson<Settings>, ApiError> {
    Ok(ApiJson(settings::update(&state, &p, &tenant, s).await?))
}

/// `GET /api/v1/tenants/{tenant}/keys`: every export key, current and old.
#[utoipa::path(get, operation_id = "list_export_keys", path = "/api/v1/tenants/{tenant}/keys", tag = "keys", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "Every export key", body = [PublicKeyRecord]), Errors))]
pub async fn list_keys(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
) -> Result<ApiJson<Vec<PublicKeyRecord>>, ApiError> {
    Ok(ApiJson(signing::list_keys(&state, &p, &tenant)?))
}

/// `POST /api/v1/tenants/{tenant}/keys/rotate` (admin).
#[utoipa::path(post, operation_id = "rotate_export_key", path = "/api/v1/tenants/{tenant}/keys/rotate", tag = "keys", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 201, description = "The new current key", body = PublicKeyRecord), Errors))]
pub async fn rotate_key(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Tenant,
) -> Result<(StatusCode, ApiJson<PublicKeyRecord>), ApiError> {
    let r = signing::rotate(&state, &p, &tenant).await?;
    Ok((StatusCode::CREATED, ApiJson(r)))
}
