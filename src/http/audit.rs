//! Audit queries over HTTP: one page as JSON (with proofs if asked), or the
//! whole selection streamed as JSON Lines or CSV.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use evident_verify::audit::{Answer, Filter, Order};
use serde::Deserialize;

use crate::{
    core::{Error, Principal},
    http::{
        error::{ApiError, ApiJson, ApiQuery},
        openapi::Errors,
    },
    service::{
        audit::{self, ExportFormat, Query},
        stats::{self, Stats, StatsQuery, Unusual},
        AppState,
    },
};

/// The audit query's parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Event kinds, comma-separated (any of them), e.g. `download_served`.
    kinds: Option<String>,
    /// Product.
    product: Option<String>,
    /// Release tag (with `product`).
    tag: Option<String>,
    /// Customer id.
    customer: Option<String>,
    /// Token id, OIDC subject or e-mail address.
    subject: Option<String>,
    /// Share link id.
    link: Option<String>,
    /// Regulator request id.
    request: Option<String>,
    /// From this time (RFC 3339, inclusive).
    from: Option<String>,
    /// Before this time (RFC 3339).
    to: Option<String>,
    /// `newest` (default) or `oldest` first.
    order: Option<Order>,
    /// A previous page's `next_cursor`.
    cursor: Option<String>,
    /// Entries per page, 1 to 1000 (default 100); not for exports.
    limit: Option<usize>,
    /// Each entry with its inclusion proof against the answer's checkpoint.
    proofs: Option<bool>,
    /// `json` (one page, the default), `jsonl` or `csv` (everything selected, streamed).
    format: Option<String>,
}

impl AuditParams {
    /// The query and, for an export, its format. With `form`, empty values
    /// are absent (as an HTML form sends them); the API refuses them.
    pub fn into_query(self, form: bool) -> Result<(Query, Option<ExportFormat>), Error> {
        let q = self;
        let nonempty = |v: Option<String>| v.filter(|s| !form || !s.trim().is_empty());
        let format = match q.format.as_deref() {
            None | Some("json") => None,
            Some("jsonl") => Some(ExportFormat::JsonLines),
            Some("csv") => Some(ExportFormat::Csv),
            Some(other) => {
                return Err(Error::Unprocessable(format!(
                    "format {other:?} is not one of json, jsonl, csv"
                )))
            }
        };
        let kinds = q
            .kinds
            .as_deref()
            .map(|k| {
                k.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let query = Query {
            filter: Filter {
                kinds,
                product: nonempty(q.product),
                tag: nonempty(q.tag),
                customer: nonempty(q.customer),
                subject: nonempty(q.subject),
                link: nonempty(q.link),
                request: nonempty(q.request),
                from: nonempty(q.from),
                to: nonempty(q.to),
            },
            order: q.order.unwrap_or_default(),
            cursor: nonempty(q.cursor),
            limit: q.limit,
            proofs: q.proofs.unwrap_or(false),
        };
        Ok((query, format))
    }
}

/// `GET /api/v1/tenants/{tenant}/audit/events` (admin, auditor).
#[utoipa::path(get, operation_id = "query_audit_events", path = "/api/v1/tenants/{tenant}/audit/events", tag = "audit", params(("tenant" = String, Path, description = "Tenant slug"), AuditParams), responses((status = 200, description = "One page of the selected entries (`format=json`), or all of them as JSON Lines (an ExportHeader line, AnswerEntry lines, an ExportEnd line) or CSV (a `#` line naming the checkpoint, a header row, a row per entry, a `# end` line)", content((Answer = "application/json"), (String = "application/jsonl"), (String = "text/csv"))), Errors))]
pub async fn events(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Response, ApiError> {
    let (query, format) = q.into_query(false)?;
    let Some(format) = format else {
        return Ok(ApiJson(audit::events(&state, &p, &tenant, query).await?).into_response());
    };
    if query.limit.is_some() {
        return Err(Error::Unprocessable(
            "an export has every selected entry: limit is for pages (format=json)".into(),
        )
        .into());
    }
    let rx = audit::export(&state, &p, &tenant, query, format).await?;
    // A failure part-way, or a stream that closes before its end, ends the
    // body with an error: the client sees a broken transfer, never a short
    // export that looks whole.
    let stream = futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        let broken = |m: String| Some((Err(std::io::Error::other(m)), None));
        match rx.recv().await {
            Some(audit::ExportChunk::Data(b)) => Some((Ok(bytes::Bytes::from(b)), Some(rx))),
            Some(audit::ExportChunk::End) => None,
            Some(audit::ExportChunk::Failed(m)) => broken(m),
            None => broken("the audit export stopped before its end".into()),
        }
    });
    let (ctype, ext) = match format {
        ExportFormat::JsonLines => ("application/jsonl", "jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!("attachment; filename=\"{tenant}-audit.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ctype)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/v1/tenants/{tenant}/audit/stats` (admin, auditor): downloads,
/// distinct customers and bytes per group, from the counters kept in the
/// append batches.
#[utoipa::path(get, operation_id = "audit_stats", path = "/api/v1/tenants/{tenant}/audit/stats", tag = "audit", params(("tenant" = String, Path, description = "Tenant slug"), StatsQuery), responses((status = 200, description = "The statistics", body = Stats), Errors))]
pub async fn stats(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<ApiJson<Stats>, ApiError> {
    Ok(ApiJson(
        stats::stats_off_thread(&state, &p, &tenant, q).await?,
    ))
}

/// `?days=N` for the unusual-activity list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnusualQuery {
    /// How many recent days to look at, 1 to 90 (default 7).
    days: Option<u32>,
}

/// `GET /api/v1/tenants/{tenant}/audit/unusual` (admin, auditor): customers
/// and share links whose downloads on a recent day exceed ten times their
/// 30-day median.
#[utoipa::path(get, operation_id = "audit_unusual", path = "/api/v1/tenants/{tenant}/audit/unusual", tag = "audit", params(("tenant" = String, Path, description = "Tenant slug"), UnusualQuery), responses((status = 200, description = "Unusual activity, newest first", body = Vec<Unusual>), Errors))]
pub async fn unusual(
    State(state): State<AppState>,
    p: Principal,
    Path(tenant): Path<String>,
    ApiQuery(q): ApiQuery<UnusualQuery>,
) -> Result<ApiJson<Vec<Unusual>>, ApiError> {
    let days = q.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(Error::Unprocessable(format!("days must be 1 to 90, not {days}")).into());
    }
    Ok(ApiJson(
        stats::unusual_off_thread(&state, &p, &tenant, days).await?,
    ))
}
