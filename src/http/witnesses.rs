//! Witnesses over HTTP: the tenant admin adds and removes them; whoever
//! may read the log lists them and reads the latest cosigned checkpoint.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{
    core::Principal,
    http::{
        error::{ApiError, ApiJson},
        openapi::{BodyErrors, Errors},
        respond::text,
    },
    service::{
        witnesses::{self, NewWitness, WitnessView},
        AppState,
    },
};

/// `POST /api/v1/tenants/{tenant}/witnesses` (admin): 201 with the witness;
/// logged `witness_added`. 409 if it is one already; 422 for a key that is
/// not a `cosignature/v1` verifier key or a URL that is not https://.
#[utoipa::path(post, operation_id = "add_witness", path = "/api/v1/tenants/{tenant}/witnesses", tag = "witnesses", params(("tenant" = String, Path, description = "Tenant slug")), request_body = NewWitness, responses((status = 201, description = "The witness", body = WitnessView), BodyErrors))]
pub async fn add(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiJson(w): ApiJson<NewWitness>,
) -> Result<Response, ApiError> {
    let v = witnesses::add(&state, &p, &tenant, w).await?;
    Ok((StatusCode::CREATED, ApiJson(v)).into_response())
}

/// `GET /api/v1/tenants/{tenant}/witnesses` (admin, push, auditor): every
/// witness with the size it last cosigned and its last error.
#[utoipa::path(get, operation_id = "list_witnesses", path = "/api/v1/tenants/{tenant}/witnesses", tag = "witnesses", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "The witnesses", body = [WitnessView]), Errors))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<WitnessView>>, ApiError> {
    Ok(ApiJson(witnesses::list(&state, &p, &tenant)?))
}

/// `DELETE /api/v1/tenants/{tenant}/witnesses/{id}` (admin): 204; logged
/// `witness_removed`. Its kept cosignatures stay.
#[utoipa::path(delete, operation_id = "remove_witness", path = "/api/v1/tenants/{tenant}/witnesses/{id}", tag = "witnesses", params(("tenant" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "The witness's key id (8 hex digits)")), responses((status = 204, description = "Removed"), Errors))]
pub async fn remove(
    State(state): State<AppState>,
    p: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    witnesses::remove(&state, &p, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tenants/{tenant}/log/checkpoint/cosigned` (admin, push,
/// auditor): the latest checkpoint a witness cosigned, with the
/// `cosignature/v1` lines appended (check them with `evident-verify
/// checkpoint --witness-key`). 404 before the first cosignature.
#[utoipa::path(get, operation_id = "get_cosigned_checkpoint", path = "/api/v1/tenants/{tenant}/log/checkpoint/cosigned", tag = "witnesses", params(("tenant" = String, Path, description = "Tenant slug")), responses((status = 200, description = "A C2SP checkpoint with witness cosignatures", body = String, content_type = "text/plain"), Errors))]
pub async fn cosigned(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    Ok(text(witnesses::cosigned(&state, &p, &tenant)?, "no-cache"))
}
