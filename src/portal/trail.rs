//! The admin's audit trail page (`/t/{t}/admin/audit`): the log's entries
//! with the filters of `GET …/audit/events` (the same parameters, the same
//! service call), newest first, 50 a page with a link to the next, and the
//! selection as CSV through the API (the session authenticates that link).

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::{html, Markup};
use serde_json::Value;

use crate::{
    http::audit::AuditParams,
    portal::{
        pages::{error_page, failure, tenant_page, Nav},
        signin::admin_signed_in,
    },
    service::{audit, AppState},
};

/// Entries per page.
const PAGE: usize = 50;

/// The event kinds offered in the form's list.
const KINDS: &[&str] = &[
    "download_served",
    "share_link_used",
    "signed_in",
    "sign_in_failed",
    "session_ended",
    "admin_token_used",
    "token_issued",
    "token_revoked",
    "customer_updated",
    "settings_updated",
    "share_link_issued",
    "share_link_revoked",
    "release_pushed",
    "export_issued",
    "vex_published",
    "witness_added",
    "witness_removed",
    "officer_key_registered",
    "officer_key_revoked",
    "regulator_request_received",
    "regulator_request_in_preparation",
    "regulator_request_issued",
    "regulator_request_delivered",
    "regulator_request_closed",
    "regulator_request_withdrawn",
    "regulator_bundle_issued",
    "regulator_link_issued",
    "regulator_link_used",
    "regulator_link_revoked",
    "log_key_rotated",
];

/// Who did it, in a few words.
fn actor(a: &Value) -> String {
    let s = |k: &str| a[k].as_str().unwrap_or_default();
    match s("type") {
        "customer" => {
            let sub = &a["subject"];
            let who = sub["email"]
                .as_str()
                .or(sub["subject"].as_str())
                .or(sub["token_id"].as_str())
                .unwrap_or_default();
            format!("customer {} ({who})", s("customer_id"))
        }
        "token" => format!("{} token {}", s("scope"), s("token_id")),
        "share_link" => format!("share link {}", s("link_id")),
        "operator" if s("token_id") == "-" => "anonymous".into(),
        "operator" => format!("operator {}", s("token_id")),
        other => other.to_owned(),
    }
}

/// What happened, beyond its kind.
fn summary(e: &Value) -> String {
    let mut parts = Vec::new();
    if let (Some(p), Some(t)) = (e["product"].as_str(), e["tag"].as_str()) {
        parts.push(format!("{p}@{t}"));
    }
    for k in [
        "artifact",
        "format",
        "customer_id",
        "link_id",
        "method",
        "reason",
        "session",
        "token_id",
        "scope",
        "name",
        "role",
        "officer_id",
        "public_key_sha256",
        "request_id",
        "what",
        "authority_kind",
        "country",
        "deadline",
        "from",
        "day",
        "request",
    ] {
        if let Some(v) = e[k].as_str().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}: {v}"));
        }
    }
    if let Some(n) = e["count"].as_u64() {
        parts.push(format!("count: {n}"));
    }
    if let Some(n) = e["bytes"].as_u64() {
        parts.push(format!("{n} bytes"));
    }
    parts.join(", ")
}

fn field(id: &str, label: &str, value: Option<&str>, hint: &str) -> Markup {
    html! {
        label for=(id) { (label) " " small { (hint) } }
        input id=(id) name=(id) value=(value.unwrap_or_default());
    }
}

/// `GET /t/{tenant}/admin/audit?…`: the trail.
pub async fn trail_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let raw = raw.unwrap_or_default();
    let params: AuditParams = match serde_urlencoded::from_str(&raw) {
        Ok(p) => p,
        Err(e) => {
            return failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Audit trail",
                &format!("The filter is not valid: {e}"),
            )
        }
    };
    let (mut query, format) = match params.into_query(true) {
        Ok(q) => q,
        Err(e) => return error_page("Audit trail", &e),
    };
    if format.is_some() {
        return failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Audit trail",
            "Exports are downloaded from the CSV link.",
        );
    }
    query.limit = Some(query.limit.unwrap_or(PAGE));
    query.proofs = false;
    let filter = query.filter.clone();
    let newest = query.order == evident_verify::audit::Order::Newest;
    let answer = match audit::events(&state, &p, &tenant, query).await {
        Ok(a) => a,
        Err(e) => return error_page("Audit trail", &e),
    };
    // The same filter without the cursor, for the next page and the CSV.
    let base: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(&raw)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| k != "cursor" && k != "format" && !v.is_empty())
        .collect();
    let with = |extra: &[(&str, &str)]| {
        let mut v = base.clone();
        v.extend(
            extra
                .iter()
                .map(|(k, x)| ((*k).to_owned(), (*x).to_owned())),
        );
        serde_urlencoded::to_string(v).unwrap_or_default()
    };
    let kinds = filter.kinds.join(",");
    let a = format!("/t/{tenant}/admin");
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Audit trail",
        html! {
            form #trail-filter method="get" action={(a) "/audit"} {
                label for="kinds" { "Event kinds " small { "(comma-separated; any of them)" } }
                input id="kinds" name="kinds" list="kind-list" value=(kinds);
                datalist id="kind-list" { @for k in KINDS { option value=(k) {} } }
                (field("product", "Product", filter.product.as_deref(), ""))
                (field("tag", "Tag", filter.tag.as_deref(), "(with a product)"))
                (field("customer", "Customer id", filter.customer.as_deref(), ""))
                (field("subject", "Subject", filter.subject.as_deref(), "(token id, OIDC subject or e-mail)"))
                (field("link", "Share link id", filter.link.as_deref(), ""))
                (field("request", "Regulator request id", filter.request.as_deref(), ""))
                (field("from", "From", filter.from.as_deref(), "(RFC 3339, e.g. 2026-10-01T00:00:00Z)"))
                (field("to", "Before", filter.to.as_deref(), "(RFC 3339)"))
                " " button type="submit" { "Filter" }
            }
            p #trail-meta {
                "Proved against the tree of " (answer.tree_size) " entries. "
                a #trail-csv href={"/api/v1/tenants/" (tenant) "/audit/events?" (with(&[("format", "csv")]))} { "Download the whole selection as CSV" }
                " (with the checkpoint it is proved against)."
            }
            table #trail {
                caption { "Log entries, " (if newest { "newest" } else { "oldest" }) " first" }
                thead { tr { th scope="col" { "Index" } th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "By" } th scope="col" { "Details" } } }
                tbody {
                    @for e in &answer.entries {
                        @let v: Value = serde_json::from_str(&e.entry).unwrap_or(Value::Null);
                        tr {
                            td { (e.index) }
                            td { (v["time"].as_str().unwrap_or_default()) }
                            td { code { (v["event"]["kind"].as_str().unwrap_or_default()) } }
                            td { (actor(&v["actor"])) }
                            td { (summary(&v["event"])) }
                        }
                    }
                }
            }
            @if answer.entries.is_empty() {
                p #trail-none { "No entry matches." }
            }
            @if let Some(c) = &answer.next_cursor {
                p { a #trail-next href={(a) "/audit?" (with(&[("cursor", c.as_str())]))} { (if newest { "Older entries" } else { "Newer entries" }) } }
            }
        },
    )
}
