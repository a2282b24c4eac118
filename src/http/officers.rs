//! Officers over HTTP: the tenant admin registers and revokes officers'
//! public keys; admins and auditors list them.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{
    core::Principal,
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
    },
    service::{
        officers::{self, NewOfficer, OfficerView, RevokeReason},
        AppState,
    },
};

/// `POST /api/v1/tenants/{tenant}/officers` (admin): 201 with the officer;
/// logged `officer_key_registered` with the key's SHA-256. 409 if the key
/// is registered already; 422 for a key that is not a PEM P-256 or Ed25519
/// public key, or an empty name or role.
#[utoipa::path(post, operation_id = "register_officer", path = "/api/v1/tenants/{tenant}/officers", tag = "officers", params(("tenant" = String, Path, description = "Tenant slug")), request_body = NewOfficer, responses((status = 201, description = "The officer", body = OfficerView), BodyErrors))]
pub async fn register(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(o): ApiJson<NewOfficer>,
) -> Result<Response, ApiError> {
    let v = officers::register(&state, &p, &tenant, o).await?;
    Ok((StatusCode::CREATED, ApiJson(v)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/officers` (admin, auditor): every officer
/// with its key, revoked ones too.
#[utoipa::path(get, operation_id = "list_officers", path = "/api/v1/tenants/{tenant}/officers", tag = "officers", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The officers", body = [OfficerView]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<OfficerView>>, ApiError> {
    Ok(ApiJson(officers::list(&state, &p, &tenant)?))
}

/// `?reason=` of a revocation.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevokeParams {
    /// `superseded`, `left`, `compromised` or `unspecified` (default).
    pub reason: Option<RevokeReason>,
}

/// `DELETE /api/v1/tenants/{tenant}/officers/{id}?reason=` (admin): the
/// officer, revoked; logged `officer_key_revoked` with the reason. The key
/// stays listed. 409 when revoked already.
#[utoipa::path(delete, operation_id = "revoke_officer", path = "/api/v1/tenants/{tenant}/officers/{id}", tag = "officers", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The officer's id (16 hex digits)"), RevokeParams), responses((status = 200, description = "The officer, revoked", body = OfficerView), Errors))]
pub async fn revoke(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<RevokeParams>,
) -> Result<ApiJson<OfficerView>, ApiError> {
    let reason = q.reason.unwrap_or_default();
    Ok(ApiJson(
        officers::revoke(&state, &p, &tenant, &id, reason).await?,
    ))
}
