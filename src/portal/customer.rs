//! The customer's pages: the releases it may see, and each release's
//! downloads. Downloads are the API's own endpoints, authenticated by the
//! session cookie (same-origin only), so every one is logged exactly like
//! an API download.

use axum::{
    extract::{Path, State},
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
    service::{catalogue, customers, AppState},
};

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
