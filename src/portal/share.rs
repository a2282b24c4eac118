//! `GET /s/{token}`: the page of a share link, no sign-in. It lists the
//! release, what the link covers and when it expires, with a download
//! button for each; an unknown, expired, revoked or used-up link is the
//! same 404 page. Opening the page appends nothing; each download does.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use maud::html;

use crate::{
    core::{clock::rfc3339, records::Covered, Error},
    portal::pages::{error_page, failure, page, respond},
    service::{catalogue, share_links, AppState},
};

/// The page every link that does not work gets.
fn gone_page() -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "Link not available",
        "This share link does not exist or no longer works: it may have expired, been revoked or used up. Ask the sender for a new one.",
    )
}

/// The share-link page.
pub async fn page_of(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let o = match share_links::open(&state, &token) {
        Ok(o) => o,
        Err(Error::NotFound(_)) => return gone_page(),
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let l = &o.link;
    let rev = match catalogue::load(&state, &l.tenant, &l.product, &l.tag, l.revision) {
        Ok((rec, _)) => rec,
        Err(Error::NotFound(_)) => return gone_page(),
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let base = format!("/s/{token}");
    let formats: Vec<(&str, &str)> = Covered::ALL
        .iter()
        .filter(|c| l.covers.contains(c))
        .filter_map(|c| {
            let label = match c {
                Covered::CyclonedxJson => "CycloneDX 1.6 JSON",
                Covered::CyclonedxXml => "CycloneDX 1.6 XML",
                Covered::SpdxJson => "SPDX 2.3 JSON",
                Covered::SpdxTv => "SPDX 2.3 tag-value",
                Covered::Notice | Covered::Kit => return None,
            };
            Some((c.name(), label))
        })
        .collect();
    let kit = l.covers.contains(&Covered::Kit);
    let left = l.max_uses.map(|m| m.saturating_sub(o.uses));
    respond(
        StatusCode::OK,
        page(
            &format!("{} {}", l.product, l.tag),
            None,
            None,
            html! {
                p { "Shared with you by the vendor. Revision " (rev.revision)
                    @if l.revision.is_none() { " (the latest)" }
                    ", pushed " (rev.pushed_at) "." }
                p { "Artefacts: " @for a in &rev.artefacts { code { (a.name) " " (a.digest) } " " } }
                p { "This link works until " strong { (rfc3339(l.expires_at)) }
                    @if let Some(n) = left { ", for " (n) " more download" @if n != 1 { "s" } }
                    "." }
                @if !formats.is_empty() {
                    table {
                        thead { tr { th { "Format" } th { "SBOM" } @if kit { th { "Verify kit" } } } }
                        tbody {
                            @for (f, label) in &formats {
                                tr {
                                    td { (label) }
                                    td { a href={(base) "/sbom?format=" (f)} download { "Download" } }
                                    @if kit { td { a href={(base) "/sbom-kit.tar.gz?format=" (f)} download { "Kit" } } }
                                }
                            }
                        }
                    }
                }
                @if l.covers.contains(&Covered::Notice) {
                    h2 { "NOTICE" }
                    p {
                        a href={(base) "/notice?format=text"} download { "Text" } " · "
                        a href={(base) "/notice?format=markdown"} download { "Markdown" } " · "
                        a href={(base) "/notice?format=html"} download { "HTML" }
                    }
                }
                p.note { "Every download is recorded in the vendor's transparency log. The response names its log entry (X-Evident-Log-Index) and links its receipt, which you can check offline with evident-verify receipt. A kit holds the export, its signature and bundles, and verify.sh, which checks them with sha256sum and openssl." }
            },
        ),
    )
}
