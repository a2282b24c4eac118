//! Response helpers: attachments, logged downloads, text answers.

use axum::{
    body::Body,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use base64::Engine as _;

use crate::{
    core::Principal,
    http::error::ApiError,
    service::{
        downloads::{self, Download},
        AppState,
    },
};

/// A download: body, media type, attachment name, and `Repr-Digest` (of
/// bytes whose SHA-256 is already known); never cached.
pub fn attachment(
    bytes: impl Into<Body>,
    sha: &[u8],
    media_type: &str,
    file_name: &str,
) -> Response {
    let digest = base64::engine::general_purpose::STANDARD.encode(sha);
    let mut res = Response::new(bytes.into());
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        h.insert("repr-digest", v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    // Whatever the bytes are (a vendor's document too), a browser neither
    // guesses another type nor runs anything in them.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    res
}

/// Logs the download (`service::downloads::record`) and only then answers
/// it ([`logged`]). Nothing is served when the append fails.
pub async fn deliver(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    d: Download,
) -> Result<Response, ApiError> {
    let index = downloads::record(state, principal, tenant, &d).await?;
    Ok(logged(
        d,
        index,
        &format!("/api/v1/tenants/{tenant}/receipts/{index}"),
    ))
}

/// The answer of a download already logged at `index`: an attachment with
/// `Repr-Digest`, `X-Evident-Log-Index`, the receipt's `Link`, the issuing
/// key (`Evident-Key-Id`) and, when a token is missing,
/// `Evident-Timestamp: missing`.
pub fn logged(d: Download, index: u64, receipt: &str) -> Response {
    let mut res = attachment(d.body, &d.sha256, &d.media_type, &d.file_name);
    let h = res.headers_mut();
    h.insert("x-evident-log-index", HeaderValue::from(index));
    if let Ok(v) = HeaderValue::from_str(&format!("<{receipt}>; rel=\"evident-receipt\"")) {
        h.insert(header::LINK, v);
    }
    if let Some(k) = d
        .key_id
        .as_deref()
        .and_then(|k| HeaderValue::from_str(k).ok())
    {
        h.insert("evident-key-id", k);
    }
    if d.timestamp_missing {
        h.insert(
            "evident-timestamp",
            HeaderValue::from_static(
                "missing; the time-stamping authority was unavailable, fetch again later",
            ),
        );
    }
    res
}

/// A text answer with a cache policy.
pub fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}
