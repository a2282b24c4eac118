//! Regulator requests over HTTP: admins and officers record them and move
//! them through their life cycle; auditors read them.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{
    core::{regulator::RequestBody, Principal},
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::{BodyErrors, Errors},
    },
    service::{
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
