//! The platform's own endpoints: the RFC 3161 TSA, health and metrics.

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};

use crate::{
    core::Error,
    http::{error::ApiError, openapi::Errors},
    service::{blocking, AppState},
};

/// `POST /tsa`: RFC 3161 over HTTP (RFC 3161 §3.4). Unauthenticated, like
/// any public TSA (rate-limited per address); a request it cannot honour
/// gets a signed-off rejection status in a normal reply, as the RFC
/// prescribes.
#[utoipa::path(post, path = "/tsa", tag = "platform", request_body(content = Vec<u8>, content_type = "application/timestamp-query"), responses((status = 200, description = "RFC 3161 TimeStampResp", body = Vec<u8>, content_type = "application/timestamp-reply"), Errors))]
pub async fn tsa_reply(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.eq_ignore_ascii_case("application/timestamp-query") {
        return Err(Error::UnsupportedMediaType(
            "POST /tsa takes Content-Type: application/timestamp-query".into(),
        )
        .into());
    }
    let reply = blocking("TSA", move || {
        state
            .tsa()
            .builtin()
            .map(|t| t.respond(&body))
            .ok_or_else(|| {
                Error::NotFound(
                "the built-in TSA is off: this server takes its timestamps from an external TSA"
                    .into(),
            )
            })
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response())
}

/// `GET /tsa/certs`: the certificates that verify this server's tokens,
/// PEM: the built-in TSA certificate and its root, or the external TSA's
/// CA bundle.
#[utoipa::path(get, path = "/tsa/certs", tag = "platform", responses((status = 200, description = "PEM certificates that verify the tokens", body = String, content_type = "application/pem-certificate-chain")))]
pub async fn tsa_certs(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        state.tsa().chain_pem(),
    )
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", tag = "platform", responses((status = 200, description = "Up")))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// `GET /metrics` on the public listener: only with the bearer token given
/// by `--metrics-token` (otherwise 404; `--metrics-listen` serves it on a
/// separate, private listener instead).
#[utoipa::path(get, path = "/metrics", tag = "platform", responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"), Errors))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(want) = state.metrics_token() else {
        return Err(Error::not_found().into());
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        got.as_bytes(),
        want.as_bytes(),
    )) {
        return Err(Error::Unauthorized("/metrics needs the metrics bearer token".into()).into());
    }
    Ok(metrics_body(&state))
}

/// The OpenMetrics text of the server's metrics.
pub fn metrics_body(state: &AppState) -> Response {
    if let Ok(m) = state.store().memory() {
        state.metrics().set_store_memory(m);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}
