//! `ApiError`: the one place that maps errors to HTTP status codes.
//!
//! Every error body is `{"error": "<code>", "message": "<human text>"}`. A 5xx
//! answer carries a generic message; its detail goes to the log, not the
//! client. [`ApiJson`] and [`ApiQuery`] wrap axum's extractors so that their
//! rejections take the same shape.

use axum::{
    extract::{rejection::JsonRejection, rejection::QueryRejection, FromRequest, FromRequestParts},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use evident_log::LogError;
use serde::Serialize;

/// An error answered to an API caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or credentials that are not valid (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The thing does not exist, or the caller may not know that it does (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but a value is not acceptable (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The body could not be read as the expected JSON (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with what exists (409).
    #[error("{0}")]
    Conflict(String),
    /// The method is not served at this path (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The body's media type is not the one the endpoint takes (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests from this client or for this portal (429, with
    /// `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
        /// What was limited.
        message: String,
    },
    /// Something failed on our side (500); the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// Storage is damaged or refused to sign (503); the detail is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The configured external TSA gave no usable token, and this evidence
    /// must not exist without one (503); the detail is logged.
    #[error("timestamp unavailable: {0}")]
    TsaUnavailable(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::TsaUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "timestamp_unavailable"),
        }
    }

    /// The standard answer for anything the caller may not see.
    pub fn not_found() -> Self {
        Self::NotFound("no such resource".into())
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// What a caller is told: the message for client errors, a generic
    /// text for server errors (whose detail goes only to the server log).
    /// The JSON body and the portal's pages both show this, never
    /// `to_string()` of a server error.
    pub fn public_message(&self) -> String {
        if let Self::TsaUnavailable(_) = self {
            "no RFC 3161 timestamp could be had from the configured time-stamping authority; try again later".into()
        } else if self.status().is_server_error() {
            "the server could not complete the request; the operator's log has the details".into()
        } else {
            self.to_string()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let Self::TsaUnavailable(_) = self {
            tracing::warn!(error = %self, "request failed");
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let message = self.public_message();
        let retry = match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let mut res = (
            status,
            axum::Json(Body {
                error: code,
                message,
            }),
        )
            .into_response();
        if let Some(secs) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"evident\""),
            );
        }
        res
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::IndexBeyondSize { .. }
            | LogError::SizeBeyondTree { .. }
            | LogError::RangeInverted { .. }
            | LogError::RangeTooLong { .. }
            | LogError::LeafTooLarge { .. } => Self::Unprocessable(e.to_string()),
            LogError::NoSuchLog { .. } | LogError::TileNotAvailable { .. } => {
                Self::NotFound(e.to_string())
            }
            LogError::LogExists { .. } => Self::Conflict(e.to_string()),
            LogError::BadName { .. } => Self::Unprocessable(e.to_string()),
            LogError::Inconsistent { .. } | LogError::Closed { .. } => {
                Self::Unavailable(e.to_string())
            }
            LogError::Format(evident_verify::VerifyError::BadTilePath { .. }) => {
                Self::Unprocessable(e.to_string())
            }
            LogError::Storage(_)
            | LogError::MissingNode { .. }
            | LogError::InUse { .. }
            | LogError::Format(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(format!("{e:#}"))
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
                JsonRejection::JsonDataError(e) => {
                    ApiError::Unprocessable(format!("invalid request body: {}", e.body_text()))
                }
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::TooLarge("request body is larger than allowed".into())
                }
                other => {
                    ApiError::BadRequest(format!("invalid request body: {}", other.body_text()))
                }
            }),
        }
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
            .map_err(|e| ApiError::Unprocessable(format!("invalid query: {}", e.body_text())))
    }
}
