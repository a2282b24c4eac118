//! The customer's pages: the releases it may see, and each release's
//! downloads. Downloads are the API's own endpoints, authenticated by the
//! session cookie (same-origin only), so every one is logged exactly like
//! an API download.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::html;

use crate::{
    core::{events::Subject, Error, Principal},
    portal::{
        pages::{error_page, failure, page, respond},
        signin::signed_in,
    },
    service::{catalogue, customers, vex, AppState},
};

/// `?state=` of a release page: show only findings in that state.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReleaseQuery {
    /// `affected`, `not_affected`, `fixed`, `under_investigation`,
    /// `false_positive`; all when absent.
    #[serde(default)]
    pub state: Option<String>,
}

/// How a state reads on the page, and its CSS class.
fn state_label(r: &vex::FindingRow) -> (&'static str, &'static str) {
    use evident_sbom::vex::State;
    match r.state {
        State::NotAffected if r.unreachable => ("not affected (unreachable)", "st-unreachable"),
        State::NotAffected => ("not affected", "st-not-affected"),
        State::Affected => ("affected", "st-affected"),
        State::Fixed => ("fixed", "st-fixed"),
        State::UnderInvestigation => ("under investigation", "st-investigating"),
        State::FalsePositive => ("false positive", "st-not-affected"),
    }
}

/// `GET /t/{tenant}/`: the customer's releases.
pub async fn home(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Principal::Customer { subject, .. } = &p else {
        return Redirect::to(&format!("/t/{tenant}/admin")).into_response();
    };
    let (c, rel) = match customers::entitled(&state, &p, &tenant) {
        Ok(x) => x,
        Err(Error::NotFound(_)) => {
            return failure(
                StatusCode::NOT_FOUND,
                "Not found",
                "Your organisation's access was removed.",
            )
        }
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let who = match subject {
        Subject::Oidc { email, subject, .. } => email.clone().unwrap_or_else(|| subject.clone()),
        Subject::Token { token_id } => format!("access token {token_id}"),
    };
    respond(
        StatusCode::OK,
        page(
            &format!("SBOMs for {}", c.name),
            Some(&tenant),
            Some(&s.csrf),
            html! {
                p { "Signed in as " (who) "." }
                @if rel.is_empty() {
                    p { "No releases are shared with you yet." }
                } @else {
                    table {
                        thead { tr { th { "Product" } th { "Release" } th { "Pushed" } } }
                        tbody {
                            @for r in &rel {
                                tr {
                                    td { (r.product) }
                                    td {
                                        a href={"/t/" (tenant) "/releases/" (r.product) "/" (r.tag)} { (r.tag) }
                                        @if r.latest { " " span.latest { "(latest)" } }
                                    }
                                    td { (r.pushed_at) }
                                }
                            }
                        }
                    }
                }
            },
        ),
    )
}

/// `GET /t/{tenant}/releases/{product}/{tag}`: the downloads of a release.
pub async fn release(
    State(state): State<AppState>,
    Path((tenant, product, tag)): Path<(String, String, String)>,
    Query(q): Query<ReleaseQuery>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let summary = match catalogue::release(&state, &p, &tenant, &product, &tag) {
        Ok(s) => s,
        Err(Error::NotFound(_)) => {
            return failure(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such release.",
            )
        }
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let Some(rec) = summary.revisions.last() else {
        return failure(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such release.",
        );
    };
    let findings = match vex::findings(&state, &p, (&tenant, &product, &tag)) {
        Ok(f) => f,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let page_url = format!("/t/{tenant}/releases/{product}/{tag}");
    let filters = [
        (None, "All"),
        (Some("affected"), "Affected"),
        (Some("not_affected"), "Not affected"),
        (Some("fixed"), "Fixed"),
        (Some("under_investigation"), "Under investigation"),
    ];
    let base = format!("/api/v1/tenants/{tenant}/products/{product}/releases/{tag}");
    let formats = [
        ("cyclonedx-json", "CycloneDX 1.6 JSON"),
        ("cyclonedx-xml", "CycloneDX 1.6 XML"),
        ("spdx-json", "SPDX 2.3 JSON"),
        ("spdx-tv", "SPDX 2.3 tag-value"),
    ];
    respond(
        StatusCode::OK,
        page(
            &format!("{product} {tag}"),
            Some(&tenant),
            Some(&s.csrf),
            html! {
                p { "Revision " (rec.revision) ", pushed " (rec.pushed_at) "." }
                p { "Artefacts: " @for a in &rec.artefacts { code { (a.name) " " (a.digest) } " " } }
                table {
                    thead { tr { th { "Format" } th { "SBOM" } th { "Signature bundle" } th { "Attestation" } th { "Verify kit" } } }
                    tbody {
                        @for (f, label) in formats {
                            tr {
                                td { (label) }
                                td { a href={(base) "/sbom?format=" (f)} download { "Download" } }
                                td { a href={(base) "/sbom.sigstore.json?format=" (f)} download { "Bundle" } }
                                td { a href={(base) "/sbom.intoto.sigstore.json?format=" (f)} download { "in-toto" } }
                                td { a href={(base) "/sbom-kit.tar.gz?format=" (f)} download { "Kit" } " · " a href={(base) "/verify.sh?format=" (f)} download { "verify.sh" } }
                            }
                        }
                    }
                }
                h2 { "Vulnerabilities (VEX)" }
                @match &findings {
                    None => p { "The vendor has published no VEX for this release." }
                    Some((version, at, rows)) => {
                        p { "VEX version " (version) ", published " (at) ". "
                            a href={(base) "/vex?format=openvex"} download { "OpenVEX" } " · "
                            a href={(base) "/vex?format=csaf"} download { "CSAF" } " · "
                            a href={(base) "/vex?format=cyclonedx-vex"} download { "CycloneDX VEX" } " · "
                            a href={(base) "/vex/vex-kit.tar.gz?format=openvex"} download { "OpenVEX kit (signed, verify offline)" } " · "
                            a href={(base) "/vex/proof"} { "Publication proof" }
                        }
                        nav #vex-filter {
                            @for (i, (st, label)) in filters.iter().enumerate() {
                                @if i > 0 { " · " }
                                @if q.state.as_deref() == *st {
                                    strong { (label) }
                                } @else {
                                    a href={(page_url) @if let Some(st) = st { "?state=" (st) }} { (label) }
                                }
                            }
                        }
                        table #findings {
                            thead { tr { th { "Vulnerability" } th { "Component" } th { "State" } th { "Justification" } } }
                            tbody {
                                @for r in rows.iter().filter(|r| q.state.as_deref().is_none_or(|s| s == r.state.name())) {
                                    @let (label, class) = state_label(r);
                                    tr class=(class) data-state=(r.state.name()) {
                                        td { @match &r.source_url {
                                            Some(u) => a href=(u) rel="noopener noreferrer" { (r.id) },
                                            None => (r.id),
                                        } }
                                        td { (r.component) }
                                        td { span.state { (label) } }
                                        td { (r.justification.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "NOTICE" }
                p {
                    a href={(base) "/notice?format=text"} download { "Text" } " · "
                    a href={(base) "/notice?format=markdown"} download { "Markdown" } " · "
                    a href={(base) "/notice?format=html"} download { "HTML" }
                }
                p.note { "Every download is recorded in the vendor's transparency log. The response names its log entry (X-Evident-Log-Index) and a receipt you can verify offline with evident-verify receipt. Unpack a kit and run sh verify.sh to check a file with sha256sum and openssl." }
                p { a href={"/t/" (tenant) "/"} { "All releases" } }
            },
        ),
    )
}
