//! Tenants and their tokens: `POST|GET /api/v1/tenants` (operator),
//! `POST /api/v1/tenants/{t}/admin-tokens` (operator),
//! `POST|GET|DELETE /api/v1/tenants/{t}/tokens` (admin), `GET /api/v1/whoami`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use crate::{
    core::Principal,
    http::{
        error::{ApiError, ApiJson},
        openapi::{BodyErrors, ErrorBody, Errors},
    },
    service::{
        tenancy::{
            self, CreateTenant, CreateToken, IssuedToken, Revoked, TenantCreated, TenantSummary,
            TokenInfo, WhoAmI,
        },
        AppState,
    },
};

/// `POST /api/v1/tenants`: creates a tenant, its log and a first admin token.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant, responses((status = 201, description = "Created", body = TenantCreated), BodyErrors))]
pub async fn create_tenant(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<CreateTenant>,
) -> Result<(StatusCode, ApiJson<TenantCreated>), ApiError> {
    let t = tenancy::create_tenant(&state, &p, req).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `GET /api/v1/tenants`: the tenants on this server.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", responses((status = 200, description = "The tenants", body = [TenantSummary]), Errors))]
pub async fn list_tenants(
    State(state): State<AppState>,
    p: Principal,
) -> Result<ApiJson<Vec<TenantSummary>>, ApiError> {
    Ok(ApiJson(tenancy::list_tenants(&state, &p)?))
}

/// `POST /api/v1/tenants/{tenant}/admin-tokens`: a replacement admin token.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/admin-tokens", tag = "tenants", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 201, description = "Issued, shown once", body = IssuedToken), Errors))]
pub async fn operator_admin_token(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<(StatusCode, ApiJson<IssuedToken>), ApiError> {
    let t = tenancy::operator_admin_token(&state, &p, &tenant).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `POST /api/v1/tenants/{tenant}/tokens`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path, description = "Tenant slug")), request_body = CreateToken, responses((status = 201, description = "Issued, shown once", body = IssuedToken), BodyErrors))]
pub async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, ApiJson<IssuedToken>), ApiError> {
    let t = tenancy::create_token(&state, &p, &tenant, req).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `GET /api/v1/tenants/{tenant}/tokens`.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The tokens, never their secrets", body = [TokenInfo]), Errors))]
pub async fn list_tokens(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<TokenInfo>>, ApiError> {
    Ok(ApiJson(tenancy::list_tokens(&state, &p, &tenant)?))
}

/// `DELETE /api/v1/tenants/{tenant}/tokens/{id}`.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/tokens/{id}", tag = "tokens", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Token id")), responses((status = 200, description = "Revoked", body = Revoked), (status = 409, description = "Already revoked", body = ErrorBody), Errors))]
pub async fn revoke_token(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<Revoked>, ApiError> {
    Ok(ApiJson(
        tenancy::revoke_token(&state, &p, &tenant, &id).await?,
    ))
}

/// `GET /api/v1/whoami`: what the presented credential is.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "tokens", responses((status = 200, description = "What the credential is", body = WhoAmI), Errors))]
pub async fn whoami(p: Principal) -> Result<ApiJson<WhoAmI>, ApiError> {
    Ok(ApiJson(tenancy::whoami(p)?))
}
