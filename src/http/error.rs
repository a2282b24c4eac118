//! `ApiError`: the one place that maps errors to HTTP status codes.
//!
//! Every error body is `{"error": "<code>", "message": "<human text>"}`. A
//! server-side error (5xx, and a 502 for an unreachable identity provider)
//! carries a generic message; its detail goes to the server log, not the
//! client. [`ApiJson`] and [`ApiQuery`] wrap axum's extractors so that their
//! rejections take the same shape. The portal's pages use [`status`] and
//! `Error::public_message`, so they say exactly what the API says.

use axum::{
    extract::{rejection::JsonRejection, rejection::QueryRejection, FromRequest, FromRequestParts},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::core::Error;

/// An error answered to an HTTP caller: a domain error, mapped here.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: String,
}

/// The HTTP status and the `error` code of a domain error.
pub fn status(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value"),
        Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        Error::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Error::UnsupportedMediaType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        Error::Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream_unavailable"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Error::TsaUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "timestamp_unavailable"),
    }
}

/// Logs a server-side error's detail (never shown to the caller).
pub fn log_detail(e: &Error) {
    match e {
        Error::TsaUnavailable(_) | Error::Upstream(_) => {
            tracing::warn!(error = %e, "request failed")
        }
        e if e.is_server_side() => tracing::error!(error = %e, "request failed"),
        _ => {}
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, error) = status(&self.0);
        log_detail(&self.0);
        let mut res = (
            code,
            axum::Json(Body {
                error,
                message: self.0.public_message(),
            }),
        )
            .into_response();
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = &self.0
        {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_secs),
            );
        }
        if code == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"evident\""),
            );
        }
        res
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rej) => Err(match rej {
                JsonRejection::JsonDataError(e) => ApiError(Error::Unprocessable(format!(
                    "invalid request body: {}",
                    e.body_text()
                ))),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError(Error::TooLarge(
                        "request body is larger than allowed".into(),
                    ))
                }
                other => ApiError(Error::BadRequest(format!(
                    "invalid request body: {}",
                    other.body_text()
                ))),
            }),
        }
    }
}

/// A raw request body whose rejections (too large, unreadable) are
/// [`ApiError`]s.
#[derive(Debug, Clone, Default)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e| {
                ApiError(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::TooLarge("request body is larger than allowed".into())
                } else {
                    Error::BadRequest(format!("invalid request body: {}", e.body_text()))
                })
            })
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are 422 [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| {
                ApiError(Error::Unprocessable(format!(
                    "invalid query: {}",
                    e.body_text()
                )))
            })
    }
}
