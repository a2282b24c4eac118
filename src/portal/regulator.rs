//! The admin's regulator pages (`/t/{t}/admin/regulator`): every request
//! with its deadline and state, overdue ones marked, a form to record a
//! new one; and one request's page with its authority, notice, the
//! production digests and the releases they resolved to, its steps with
//! their log entries, and the moves its life cycle allows. Every value
//! comes from `service::regulator`, the same calls as the API.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use maud::{html, Markup};

use crate::{
    core::regulator::{AuthorityKind, RequestState},
    portal::{
        pages::{error_page, tenant_page, Nav},
        signin::admin_signed_in,
    },
    service::{
        bundles, officers,
        regulator::{self, ListQuery, RequestView},
        AppState,
    },
};

fn state_badge(v: &RequestView) -> Markup {
    html! {
        (v.request.state.name().replace('_', " "))
        @if v.overdue { " " span.overdue { "overdue" } }
    }
}

/// `GET /t/{tenant}/admin/regulator`.
pub async fn list_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let all = match regulator::list(&state, &p, &tenant, &ListQuery::default()) {
        Ok(a) => a,
        Err(e) => return error_page("The regulator requests are unavailable", &e),
    };
    let a = format!("/t/{tenant}/admin");
    let today = crate::core::regulator::today(crate::core::clock::now_unix());
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Regulator requests",
        html! {
            @if all.is_empty() {
                p { "No regulator request is recorded." }
            } @else {
                table #requests {
                    thead { tr { th { "Received" } th { "Authority" } th { "Notice" } th { "Asks for" } th { "Deadline" } th { "State" } } }
                    tbody {
                        @for v in &all {
                            @let r = &v.request;
                            tr {
                                td { (r.request.received_on) }
                                td { (r.request.authority.name) " (" (r.request.authority.country) ")" }
                                td { a href={(a) "/regulator/" (r.id)} { (r.request.notice_reference) } }
                                td {
                                    @if let (Some(p), Some(t)) = (&r.request.product, &r.request.tag) { (p) " " (t) " " }
                                    @let n = r.request.production_digests.len();
                                    @if n > 0 { (n) " production digest" @if n > 1 { "s" } }
                                }
                                td { (r.request.deadline) }
                                td { (state_badge(v)) }
                            }
                        }
                    }
                }
            }
            h2 { "Record a request" }
            form method="post" action={(a) "/regulator-requests"} {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="rr-name" { "Authority" }
                input id="rr-name" name="name" required maxlength="200";
                label for="rr-country" { "Country (ISO 3166-1 alpha-2, or EU)" }
                input id="rr-country" name="country" required pattern="[A-Za-z]{2}" size="3";
                label for="rr-kind" { "Kind" }
                select id="rr-kind" name="kind" {
                    @for k in [AuthorityKind::MarketSurveillance, AuthorityKind::Csirt, AuthorityKind::SectorRegulator, AuthorityKind::Other] {
                        option value=(k.name()) { (k.name().replace('_', " ")) }
                    }
                }
                label for="rr-notice" { "Notice reference" }
                input id="rr-notice" name="notice_reference" required maxlength="200";
                label for="rr-basis" { "Legal basis" }
                textarea id="rr-basis" name="legal_basis" required maxlength="4000" rows="3" {}
                label for="rr-contact" { "Contact at the authority" }
                input id="rr-contact" name="contact" required maxlength="500";
                label for="rr-received" { "Received on" }
                input id="rr-received" name="received_on" type="date" required value=(today);
                label for="rr-deadline" { "Deadline" }
                input id="rr-deadline" name="deadline" type="date" required;
                label for="rr-product" { "Product (with a tag, if the notice names a release)" }
                input id="rr-product" name="product";
                label for="rr-tag" { "Release tag" }
                input id="rr-tag" name="tag";
                label for="rr-digests" { "Production digests observed (sha256:…, one per line)" }
                textarea id="rr-digests" name="digests" rows="3" {}
                " " button type="submit" { "Record the request" }
            }
        },
    )
}

/// `GET /t/{tenant}/admin/regulator/{id}`.
pub async fn request_page(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let v = match regulator::get(&state, &p, &tenant, &id) {
        Ok(v) => v,
        Err(e) => return error_page("No such request", &e),
    };
    let r = &v.request;
    let a = format!("/t/{tenant}/admin");
    let api = format!("/api/v1/tenants/{tenant}/regulator-requests/{}", r.id);
    let prepared = bundles::prepared_sha256(&state, &tenant, &r.id);
    let officers: Vec<_> = officers::list(&state, &p, &tenant)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.revoked_at.is_none())
        .collect();
    let moves: Vec<RequestState> = [
        RequestState::InPreparation,
        RequestState::Delivered,
        RequestState::Closed,
        RequestState::Withdrawn,
    ]
    .into_iter()
    .filter(|to| r.state.check_move(*to).is_ok())
    .collect();
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[("Regulator requests", &format!("{a}/regulator"))],
        &format!("Request {}", r.request.notice_reference),
        html! {
            dl #request {
                dt { "State" } dd #state { (state_badge(&v)) }
                dt { "Authority" } dd { (r.request.authority.name) " (" (r.request.authority.country) ", " (r.request.authority.kind.name().replace('_', " ")) ")" }
                dt { "Notice reference" } dd { (r.request.notice_reference) }
                dt { "Legal basis" } dd { @for line in r.request.legal_basis.lines() { (line) br; } }
                dt { "Contact" } dd { (r.request.contact) }
                dt { "Received on" } dd { (r.request.received_on) }
                dt { "Deadline" } dd { (r.request.deadline) }
                @if let (Some(p), Some(t)) = (&r.request.product, &r.request.tag) {
                    dt { "Release named" } dd { (p) " " (t) }
                }
                dt { "Request id" } dd { code { (r.id) } }
                dt { "Request SHA-256 (as logged)" } dd { code { (r.request_sha256) } }
            }
            @if !r.resolution.is_empty() {
                h2 { "Production digests" }
                table #digests {
                    thead { tr { th { "Digest observed" } th { "Carried by" } } }
                    tbody {
                        @for m in &r.resolution {
                            tr {
                                td { code { (m.digest) } }
                                td {
                                    @if m.releases.is_empty() {
                                        span.overdue { "no release carries it" }
                                    }
                                    @for x in &m.releases {
                                        (x.product) " " (x.tag) " rev " (x.revision) " · " (x.artefact) " · log entry " (x.release_index) br;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Steps" }
            table #steps {
                thead { tr { th { "State" } th { "When" } th { "Log entry" } th { "Note" } } }
                tbody {
                    @for t in &r.history {
                        tr {
                            td { (t.state.name().replace('_', " ")) }
                            td { (t.at) }
                            td { @if let Some(i) = t.log_index { (i) } }
                            td { (t.note.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
            @if r.state == RequestState::InPreparation {
                h2 { "Cover note" }
                @if let Some(sha) = &prepared {
                    p #cover-note { "Prepared: SHA-256 " code { (sha) } ". "
                        a href={(api) "/cover-note"} download="cover-note.json" { "cover-note.json" } " (the exact bytes to sign) \u{b7} "
                        a href={(api) "/cover-note.html"} { "read it" } }
                    p { "The officer signs it on their own machine: "
                        code { "evident cover-note sign --key officer.pem cover-note.json" }
                        " prints the signature in base64 (or "
                        code { "openssl dgst -sha256 -sign officer.pem cover-note.json | base64 -w0" } " for a P-256 key, "
                        code { "openssl pkeyutl -sign -rawin -inkey officer.pem -in cover-note.json | base64 -w0" } " for Ed25519)." }
                    form method="post" action={(a) "/regulator-requests/" (r.id) "/sign"} {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label for="sig" { "The officer's signature (base64)" }
                        textarea id="sig" name="value" rows="3" required {}
                        " " button type="submit" { "Issue the bundle" }
                    }
                }
                form method="post" action={(a) "/regulator-requests/" (r.id) "/prepare"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="officer" { "Officer who will sign" }
                    select id="officer" name="name" required {
                        @for o in &officers { option value=(o.id) { (o.name) " (" (o.role) ", " (o.algorithm) ")" } }
                    }
                    label for="statement" { "Statement" }
                    textarea id="statement" name="note" rows="3" maxlength="4000" { (bundles::DEFAULT_STATEMENT) }
                    details {
                        summary { "Which release (when the digests are carried by several)" }
                        label for="cn-product" { "Product" }
                        input id="cn-product" name="product" value=(r.request.product.as_deref().unwrap_or(""));
                        label for="cn-tag" { "Tag" }
                        input id="cn-tag" name="tag" value=(r.request.tag.as_deref().unwrap_or(""));
                        label for="cn-revision" { "Revision (empty: the latest pushed before the request)" }
                        input id="cn-revision" name="revision" type="number" min="1";
                    }
                    " " button type="submit" { @if prepared.is_some() { "Prepare again" } @else { "Prepare the cover note" } }
                }
            }
            @if matches!(r.state, RequestState::Issued | RequestState::Delivered | RequestState::Closed) {
                h2 { "Bundle" }
                p #bundle { a href={(api) "/bundle"} { "Download the bundle" } " (each download is logged with a receipt) \u{b7} "
                    a href={(api) "/cover-note.html"} { "the signed cover note" } }
            }
            @if !moves.is_empty() {
                h2 { "Move on" }
                form method="post" action={(a) "/regulator-requests/" (r.id) "/move"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="mv-to" { "To" }
                    select id="mv-to" name="to" {
                        @for m in &moves { option value=(m.name()) { (m.name().replace('_', " ")) } }
                    }
                    label for="mv-note" { "Note (kept with the step; the log holds its SHA-256)" }
                    textarea id="mv-note" name="note" maxlength="2000" rows="2" {}
                    " " button type="submit" { "Move" }
                }
            }
        },
    )
}
