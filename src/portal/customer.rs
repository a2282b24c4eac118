//! The customer's pages: the releases it may see, and each release's
//! downloads. Downloads are the API's own endpoints, authenticated by the
//! session cookie (same-origin only), so every one is logged exactly like
//! an API download.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup};

use crate::{
    core::{Error, Principal},
    http::extract::ClientAddr,
    portal::{
        pages::{error_page, failure, not_found, tenant_page, Nav},
        signin::signed_in,
    },
    service::{
        advisories::{self, AdvisoryState},
        catalogue,
        customers::{self, EntitledRelease},
        documents::{self, DocType, Document},
        downloads,
        limits::Anonymous,
        portal::{self, Visibility},
        vex, AppState,
    },
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

/// `GET /t/{tenant}/`: the customer's releases; on a public portal,
/// without a sign-in, what the tenant shows publicly.
pub async fn home(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => {
            return match portal::brand(&state, &tenant) {
                Ok(Some(b)) if b.settings.visibility == Visibility::Public => {
                    // Anonymous pages count as the public downloads do.
                    if let Err(e) = state.limits().check(Anonymous::Public, addr, Some(&tenant)) {
                        return error_page("Too many requests", &e);
                    }
                    visitor_home(&state, &b)
                }
                _ => *r,
            };
        }
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
    let who = subject.label();
    let desc = state
        .store()
        .portal(&tenant)
        .map(|s| s.description)
        .unwrap_or_default();
    tenant_page(
        &state,
        &tenant,
        Nav::Customer,
        Some(&s.csrf),
        &[],
        &format!("SBOMs for {}", c.name),
        html! {
            (description(&desc))
            p { "Signed in as " (who) "." }
            @if rel.is_empty() {
                p { "No releases are shared with you yet." }
            } @else {
                (release_table(&tenant, &rel))
            }
        },
    )
}

/// The front page of a public portal for someone not signed in.
fn visitor_home(state: &AppState, b: &portal::Brand) -> Response {
    let rel = match portal::public_releases(state, &b.tenant) {
        Ok(r) => r,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    tenant_page(
        state,
        &b.tenant,
        Nav::Visitor,
        None,
        &[],
        &format!("{} releases", b.name),
        html! {
            (description(&b.settings.description))
            @if rel.is_empty() {
                p { "No release is public yet." }
            } @else {
                (release_table(&b.tenant, &rel))
            }
            p { "Customers of " (b.name) " see their own releases after they "
                a href={"/t/" (b.tenant) "/login"} { "sign in" } "." }
        },
    )
}

/// Plain text, paragraph by paragraph, escaped.
fn description(text: &str) -> Markup {
    html! {
        @for p in crate::core::portal::paragraphs(text) {
            p.description { (p) }
        }
    }
}

/// A table of releases, newest first, each linking to its page.
fn release_table(tenant: &str, rel: &[EntitledRelease]) -> Markup {
    html! {
        table {
            thead { tr { th { "Product" } th { "Release" } th { "Pushed" } } }
            tbody {
                @for r in rel {
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
}

/// The downloads of a release, whose files are under `base`: the
/// customer's API path, or a public portal's `/p/…`.
fn download_table(base: &str) -> Markup {
    let formats = [
        ("cyclonedx-json", "CycloneDX 1.6 JSON"),
        ("cyclonedx-xml", "CycloneDX 1.6 XML"),
        ("spdx-json", "SPDX 2.3 JSON"),
        ("spdx-tv", "SPDX 2.3 tag-value"),
    ];
    html! {
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
    }
}

/// The NOTICE links and the note on logging, under `base`.
fn notice_and_note(base: &str) -> Markup {
    html! {
        h2 { "NOTICE" }
        p {
            a href={(base) "/notice?format=text"} download { "Text" } " · "
            a href={(base) "/notice?format=markdown"} download { "Markdown" } " · "
            a href={(base) "/notice?format=html"} download { "HTML" }
        }
        p.note { "Every download is recorded in the vendor's transparency log. The response names its log entry (X-Evident-Log-Index) and a receipt you can verify offline with evident-verify receipt. Unpack a kit and run sh verify.sh to check a file with sha256sum and openssl." }
    }
}

/// A public release's page for someone not signed in: its downloads
/// under `/p/…` (no VEX: that is for entitled customers).
fn visitor_release(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
    p: &Principal,
) -> Response {
    let summary = match catalogue::release(state, p, tenant, product, tag) {
        Ok(s) => s,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let Some(rec) = summary.revisions.last() else {
        return not_found();
    };
    let base = format!("/p/{tenant}/{product}/{tag}");
    let docs = match documents::list(state, p, tenant, Some((product, tag))) {
        Ok(d) => d,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    tenant_page(
        state,
        tenant,
        Nav::Visitor,
        None,
        &[],
        &format!("{product} {tag}"),
        html! {
            p { "Revision " (rec.revision) ", pushed " (rec.pushed_at) "." }
            p { "Artefacts: " @for a in &rec.artefacts { code { (a.name) " " (a.digest) } " " } }
            (download_table(&base))
            @if !docs.is_empty() {
                h2 { "Documents" }
                (document_table(&format!("/p/{tenant}/documents"), &docs))
            }
            (notice_and_note(&base))
            p { "Your downloads are logged under a pseudonym of your network address, never the address itself." }
        },
    )
}

/// `GET /t/{tenant}/releases/{product}/{tag}`: the downloads of a release.
pub async fn release(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((tenant, product, tag)): Path<(String, String, String)>,
    Query(q): Query<ReleaseQuery>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => {
            // Not signed in: a public release's page, else the sign-in.
            let visitor = Principal::Public {
                tenant: tenant.clone(),
                client: String::new(),
            };
            return match portal::shows_publicly(&state, &tenant, &product, &tag) {
                Ok(true) => {
                    if let Err(e) = state.limits().check(Anonymous::Public, addr, Some(&tenant)) {
                        return error_page("Too many requests", &e);
                    }
                    visitor_release(&state, &tenant, &product, &tag, &visitor)
                }
                _ => *r,
            };
        }
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
    let docs = match documents::list(&state, &p, &tenant, Some((&product, &tag))) {
        Ok(d) => d,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let others: Vec<String> = match visible_tags(&state, &p, &tenant, &product) {
        Ok(t) => t.into_iter().filter(|t| t != &tag).collect(),
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let nav = Nav::of(&p);
    let home = if nav == Nav::Admin {
        format!("/t/{tenant}/admin/releases")
    } else {
        format!("/t/{tenant}/")
    };
    tenant_page(
        &state,
        &tenant,
        nav,
        Some(&s.csrf),
        &[("Releases", &home)],
        &format!("{product} {tag}"),
        html! {
                p { "Revision " (rec.revision) ", pushed " (rec.pushed_at) "." }
                p { "Artefacts: " @for a in &rec.artefacts { code { (a.name) " " (a.digest) } " " } }
                (download_table(&base))
                @if !rec.components.is_empty() {
                    h2 { "Components" }
                    p { "This product release is made of these releases; each SBOM is downloadable on its own, and the aggregate SBOM links them (by digest) instead of copying their components." }
                    ul #components {
                        @for c in &rec.components {
                            @let pinned = format!("/api/v1/tenants/{tenant}/products/{}/releases/{}/sbom?revision={}&vex=0&format=", c.product, c.tag, c.revision);
                            li {
                                a href={"/t/" (tenant) "/releases/" (c.product) "/" (c.tag)} { (c.product) " " (c.tag) } " (revision " (c.revision) "): the SBOMs the aggregate links, "
                                a href={(pinned) "cyclonedx-json"} download { "CycloneDX JSON" } " · "
                                a href={(pinned) "spdx-json"} download { "SPDX JSON" }
                            }
                        }
                    }
                    p #aggregate {
                        "Aggregate SBOM: "
                        a href={(base) "/aggregate?format=cyclonedx-json"} download { "CycloneDX JSON" } " · "
                        a href={(base) "/aggregate?format=cyclonedx-xml"} download { "CycloneDX XML" } " · "
                        a href={(base) "/aggregate?format=spdx-json"} download { "SPDX JSON" } " · "
                        a href={(base) "/aggregate?format=spdx-tv"} download { "SPDX tag-value" } " · "
                        a href={(base) "/aggregate/aggregate-kit.tar.gz?format=cyclonedx-json"} download { "Verify kit" }
                    }
                }
                @if !others.is_empty() {
                    form #compare method="get" action={"/t/" (tenant) "/products/" (product) "/diff"} {
                        input type="hidden" name="to" value=(tag);
                        label for="compare-from" { "Compare with an earlier release: what changed since" }
                        select id="compare-from" name="from" {
                            @for o in &others { option value=(o) { (o) } }
                        }
                        " " button type="submit" { "Show the changes" }
                    }
                }
                h2 { "Documents" }
                (document_table(&format!("/api/v1/tenants/{tenant}/documents"), &docs))
                @if nav == Nav::Admin {
                    details #publish-document {
                        summary { "Publish a document with this release" }
                        form method="post" action={"/t/" (tenant) "/admin/documents"} enctype="multipart/form-data" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            input type="hidden" name="product" value=(product);
                            input type="hidden" name="from_tag" value=(tag);
                            label for="doc-scope" { "Goes with" }
                            select id="doc-scope" name="tag" {
                                option value=(tag) { "This release (" (tag) ")" }
                                option value="" { "Every release of " (product) }
                            }
                            label for="doc-title" { "Title" }
                            input id="doc-title" name="title" maxlength="200" required;
                            label for="doc-type" { "Kind" }
                            select id="doc-type" name="type" {
                                @for t in DocType::ALL { option value=(t.name()) { (t.label()) } }
                            }
                            label for="doc-vis" { "Who sees it" }
                            select id="doc-vis" name="visibility" {
                                option value="customers" { "Every customer entitled to this release" }
                                option value="public" { "Anyone who may see the release (public portal too)" }
                                option value="named" { "Only the customers named below" }
                            }
                            label for="doc-customers" { "Customer ids, comma-separated (for named)" }
                            input id="doc-customers" name="customers";
                            label for="doc-file" { "The file: PDF, text, Markdown, JSON or PNG, at most 20 MiB" }
                            input id="doc-file" name="file" type="file" required accept="application/pdf,text/plain,text/markdown,application/json,image/png";
                            " " button type="submit" { "Publish" }
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
                (notice_and_note(&base))
        },
    )
}

/// `?cursor=` of the "My downloads" page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DownloadsQuery {
    /// Where the older page starts.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /t/{tenant}/downloads`: the customer's own downloads, newest
/// first, each with its receipt, and the export of them all with their
/// receipts in one file.
pub async fn downloads_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<DownloadsQuery>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if !matches!(p, Principal::Customer { .. }) {
        return not_found();
    }
    let page = match downloads::own(&state, &p, &tenant, q.cursor, Some(50)).await {
        Ok(x) => x,
        Err(e) => return error_page("Your downloads are unavailable", &e),
    };
    let log_key = match state.tenant_log(&tenant) {
        Ok(l) => l.verifier().to_vkey(),
        Err(e) => return error_page("Your downloads are unavailable", &e),
    };
    let api = format!("/api/v1/tenants/{tenant}");
    tenant_page(
        &state,
        &tenant,
        Nav::Customer,
        Some(&s.csrf),
        &[],
        "My downloads",
        html! {
            p { "Every download by your organisation's users, newest first. Each is an entry in the vendor's transparency log; its receipt proves it offline." }
            p { a #export-receipts href={(api) "/my-downloads/receipts"} download { "Export the newest 1,000 with their receipts (JSON)" } }
            p.note { "Check the exported file offline: " code { "evident-verify receipts FILE --log-key '" (log_key) "'" } }
            @if page.downloads.is_empty() {
                p #downloads-none { "No download yet." }
            } @else {
                table #downloads {
                    thead { tr { th { "When" } th { "By" } th { "Release" } th { "File" } th { "Receipt" } } }
                    tbody {
                        @for d in &page.downloads {
                            tr {
                                td { (d.time) }
                                td { (d.by) }
                                td { a href={"/t/" (tenant) "/releases/" (d.product) "/" (d.tag)} { (d.product) " " (d.tag) } " rev " (d.revision) }
                                td { (d.artifact) @if let Some(f) = &d.format { " (" (f) ")" } br; small { code { "sha256:" (d.sha256) } } }
                                td { a href={(api) "/receipts/" (d.index)} { "Entry " (d.index) } }
                            }
                        }
                    }
                }
            }
            @if let Some(c) = &page.next_cursor {
                p { a #downloads-older href={"/t/" (tenant) "/downloads?cursor=" (c)} { "Older downloads" } }
            }
        },
    )
}

/// The tags of `product` the caller may see, newest push first.
fn visible_tags(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    product: &str,
) -> Result<Vec<String>, Error> {
    Ok(match p {
        Principal::Customer { .. } => customers::entitled(state, p, tenant)?
            .1
            .into_iter()
            .filter(|r| r.product == product)
            .map(|r| r.tag)
            .collect(),
        _ => {
            let mut r = catalogue::releases(state, p, tenant, product)?;
            r.sort_by(|a, b| b.pushed_at.cmp(&a.pushed_at));
            r.into_iter().map(|r| r.tag).collect()
        }
    })
}

/// `GET /t/{tenant}/products/{product}/diff?from=&to=`: what changed
/// between two releases the reader may see, with the signed JSON (logged
/// like any download) and its evidence.
pub async fn diff_page(
    State(state): State<AppState>,
    Path((tenant, product)): Path<(String, String)>,
    Query(q): Query<crate::service::diff::DiffQuery>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (st, p2, t2, pr2, q2) = (
        state.clone(),
        p.clone(),
        tenant.clone(),
        product.clone(),
        q.clone(),
    );
    let computed = crate::service::blocking("release diff", move || {
        crate::service::diff::compute(&st, &p2, (&t2, &pr2), &q2)
    })
    .await;
    let d = match computed {
        Ok((_, d)) => d,
        Err(Error::NotFound(_)) => return not_found(),
        Err(e) => return error_page("No diff", &e),
    };
    let nav = Nav::of(&p);
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let query = format!(
        "from={}&to={}&from_revision={}&to_revision={}",
        enc(&d.from.tag),
        enc(&d.to.tag),
        d.from.revision,
        d.to.revision
    );
    let api = format!("/api/v1/tenants/{tenant}/products/{product}/diff");
    let to_page = format!("/t/{tenant}/releases/{product}/{}", d.to.tag);
    let c = &d.components;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "\u{2013}".into());
    tenant_page(
        &state,
        &tenant,
        nav,
        Some(&s.csrf),
        &[(&format!("{product} {}", d.to.tag), &to_page)],
        &format!("{product}: {} \u{2192} {}", d.from.tag, d.to.tag),
        html! {
            p #diff-summary {
                (d.summary.added) " added, " (d.summary.removed) " removed, "
                (d.summary.changed) " changed in version or licence, "
                (d.summary.vex_changed) " VEX states changed, from revision " (d.from.revision)
                " to revision " (d.to.revision) "."
            }
            p {
                a #diff-json href={(api) "?" (query)} download { "The signed diff (JSON)" } " · "
                a href={(api) "/diff.sigstore.json?" (query)} download { "Signature bundle" } " · "
                a href={(api) "/diff-kit.tar.gz?" (query)} download { "Verify kit" }
            }
            p.note { "The JSON is signed with the vendor's export key, timestamped and recorded in its transparency log like an SBOM export: check it with evident-verify export, or unpack the kit and run sh verify.sh." }
            h2 { "Added" }
            (items("diff-added", &c.added))
            h2 { "Removed" }
            (items("diff-removed", &c.removed))
            h2 { "Changed" }
            @if c.changed.is_empty() { p { "None." } } @else {
                table #diff-changed {
                    thead { tr { th { "Component" } th { "Version" } th { "Licence" } } }
                    tbody {
                        @for ch in &c.changed {
                            tr {
                                td { (ch.name) br; small { code { (ch.key) } } }
                                td { (opt(&ch.from.version)) " \u{2192} " (opt(&ch.to.version)) }
                                td { (opt(&ch.from.licence)) " \u{2192} " (opt(&ch.to.licence)) }
                            }
                        }
                    }
                }
            }
            h2 { "VEX" }
            @if d.vex.is_empty() { p { "No VEX state changed." } } @else {
                table #diff-vex {
                    thead { tr { th { "Vulnerability" } th { "Component" } th { "Before" } th { "After" } } }
                    tbody {
                        @for v in &d.vex {
                            tr {
                                td { (v.vulnerability) }
                                td { (v.component) }
                                td { (opt(&v.from)) }
                                td { (opt(&v.to)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A table of components (or "None.").
fn items(id: &str, list: &[evident_sbom::diff::Item]) -> Markup {
    html! {
        @if list.is_empty() { p { "None." } } @else {
            table id=(id) {
                thead { tr { th { "Component" } th { "Version" } th { "Licence" } } }
                tbody {
                    @for i in list {
                        tr {
                            td { (i.name) br; small { code { (i.purl.as_deref().unwrap_or(&i.key)) } } }
                            td { (i.version.as_deref().unwrap_or("\u{2013}")) }
                            td { (i.licence.as_deref().unwrap_or("\u{2013}")) }
                        }
                    }
                }
            }
        }
    }
}

/// `?q=&version=` of the search page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchForm {
    /// A purl (with or without version), a purl prefix ending in `/`, or
    /// a component name.
    #[serde(default)]
    pub q: Option<String>,
    /// A version or semver range.
    #[serde(default)]
    pub version: Option<String>,
}

/// `GET /t/{tenant}/search?q=&version=`: which releases the reader may
/// see carry a component.
pub async fn search_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(f): Query<SearchForm>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let nav = Nav::of(&p);
    let text = f.q.clone().unwrap_or_default().trim().to_owned();
    let answer = if text.is_empty() {
        None
    } else {
        let mut q = crate::service::search::SearchQuery {
            version: f.version.clone(),
            limit: Some(200),
            ..Default::default()
        };
        if text.starts_with("pkg:") && (text.ends_with('/') || text.ends_with('*')) {
            q.purl_prefix = Some(text.trim_end_matches('*').to_owned());
        } else if text.starts_with("pkg:") {
            q.purl = Some(text.clone());
        } else {
            q.name = Some(text.clone());
        }
        let (st, p2, t2) = (state.clone(), p.clone(), tenant.clone());
        Some(
            crate::service::blocking("search", move || {
                crate::service::search::search(&st, &p2, &t2, &q)
            })
            .await,
        )
    };
    tenant_page(
        &state,
        &tenant,
        nav,
        Some(&s.csrf),
        &[],
        "Search components",
        html! {
            form #search method="get" action={"/t/" (tenant) "/search"} {
                label for="q" { "Package URL (pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1, or a prefix ending in /) or component name" }
                input id="q" name="q" size="70" value=(text) required;
                label for="version" { "Version or range, such as >=2.0.0, <2.17.1 (optional)" }
                input id="version" name="version" size="30" value=(f.version.as_deref().unwrap_or(""));
                " " button type="submit" { "Search" }
            }
            @match &answer {
                None => p { "Searches every release you may see, across all products." }
                Some(Err(e)) => p.err role="alert" { (e.public_message()) }
                Some(Ok(a)) if a.hits.is_empty() => p #search-none { "No release you may see carries it." }
                Some(Ok(a)) => {
                    p { (a.hits.len()) " release revision(s) carry it" @if a.truncated { " (the first ones; narrow the search for the rest)" } "." }
                    table #search-hits {
                        thead { tr { th { "Release" } th { "Component" } th { "Version" } } }
                        tbody {
                            @for h in &a.hits {
                                tr {
                                    td { a href={"/t/" (tenant) "/releases/" (h.product) "/" (h.tag)} { (h.product) " " (h.tag) } " rev " (h.revision) }
                                    td { (h.component) @if let Some(pu) = &h.purl { br; small { code { (pu) } } } }
                                    td { (h.version) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A table of documents whose downloads are under `base` (`…/{id}`).
fn document_table(base: &str, docs: &[Document]) -> Markup {
    html! {
        @if docs.is_empty() { p { "No document is published with this release." } } @else {
            table.documents {
                thead { tr { th { "Document" } th { "Kind" } th { "Published" } th { "Evidence" } } }
                tbody {
                    @for d in docs {
                        tr {
                            td { a href={(base) "/" (d.id)} download=(d.file_name) { (d.title) } br; small { (d.file_name) ", " (d.bytes) " bytes" } }
                            td { (d.doc_type.label()) }
                            td { (d.uploaded_at) }
                            td {
                                @if base.starts_with("/api/") {
                                    a href={(base) "/" (d.id) "/document.sigstore.json"} download { "Bundle" } " · "
                                    a href={(base) "/" (d.id) "/document-kit.tar.gz"} download { "Kit" }
                                } @else { "signed; logged" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /t/{tenant}/documents`: every document the reader may see, across
/// releases, newest first.
pub async fn documents_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let nav = Nav::of(&p);
    let docs = match documents::list(&state, &p, &tenant, None) {
        Ok(d) => d,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let base = format!("/api/v1/tenants/{tenant}/documents");
    tenant_page(
        &state,
        &tenant,
        nav,
        Some(&s.csrf),
        &[],
        "Documents",
        html! {
            @if docs.is_empty() {
                p { "No document is published yet." }
            } @else {
                table #documents {
                    thead { tr { th { "Release" } th { "Document" } th { "Kind" } th { "Published" } } }
                    tbody {
                        @for d in &docs {
                            tr {
                                td {
                                    @match &d.tag {
                                        Some(t) => a href={"/t/" (tenant) "/releases/" (d.product) "/" (t)} { (d.product) " " (t) },
                                        None => { (d.product) " (every release)" },
                                    }
                                }
                                td { a href={(base) "/" (d.id)} download=(d.file_name) { (d.title) } }
                                td { (d.doc_type.label()) }
                                td { (d.uploaded_at) }
                            }
                        }
                    }
                }
            }
            p.note { "Each document is signed with the vendor's export key, timestamped and recorded in its transparency log when first served; every download is logged with a receipt." }
        },
    )
}

/// `GET /t/{tenant}/advisories`: the security advisories the reader may
/// see (an admin: drafts too, with the form to draft one).
pub async fn advisories_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let admin = !matches!(p, Principal::Customer { .. });
    let list = match advisories::list(&state, &p, &tenant) {
        Ok(l) => l,
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    tenant_page(
        &state,
        &tenant,
        Nav::of(&p),
        Some(&s.csrf),
        &[],
        "Security advisories",
        html! {
            @if list.is_empty() {
                p #advisories-none { "No advisory is published yet." }
            } @else {
                table #advisories {
                    thead { tr { th { "Advisory" } th { "Release" } th { "State" } th { "Published" } } }
                    tbody {
                        @for a in &list {
                            tr {
                                td { a href={"/t/" (tenant) "/advisories/" (a.id)} { (a.id) } br; (a.title) }
                                td { (a.product) " " (a.tag) " rev " (a.revision) }
                                td { @if a.state == AdvisoryState::Published { "published" } @else { "draft (only admins see it)" } }
                                td { (a.published_at.map(crate::core::clock::rfc3339).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            @if admin {
                details #draft-advisory {
                    summary { "Draft an advisory" }
                    form method="post" action={"/t/" (tenant) "/admin/advisories"} {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label for="adv-product" { "Product" } input id="adv-product" name="product" required;
                        label for="adv-tag" { "Release tag" } input id="adv-tag" name="tag" required;
                        label for="adv-id" { "Tracking id, such as ACME-SA-2026-001" } input id="adv-id" name="advisory_id" required maxlength="64";
                        label for="adv-title" { "Title" } input id="adv-title" name="title" required maxlength="200" size="60";
                        label for="adv-summary" { "Summary" } textarea id="adv-summary" name="summary" rows="3" required maxlength="4000" {}
                        label for="adv-ref" { "Details URL (https://, optional)" } input id="adv-ref" name="reference" type="url";
                        label for="adv-statements" { "Statements: findings JSON, CycloneDX VEX, OpenVEX or CSAF" }
                        textarea id="adv-statements" name="statements" rows="8" required {}
                        " " button type="submit" { "Save the draft" }
                    }
                }
            }
        },
    )
}

/// `GET /t/{tenant}/advisories/{id}`: one advisory with each
/// vulnerability's product status and action, and its CSAF document.
pub async fn advisory_page(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let admin = !matches!(p, Principal::Customer { .. });
    let v = match advisories::get(&state, &p, &tenant, &id).await {
        Ok(v) => v,
        Err(Error::NotFound(_)) => return not_found(),
        Err(e) => return error_page("The portal is unavailable", &e),
    };
    let a = &v.record;
    let api = format!("/api/v1/tenants/{tenant}/advisories/{}", a.id);
    let list = format!("/t/{tenant}/advisories");
    tenant_page(
        &state,
        &tenant,
        Nav::of(&p),
        Some(&s.csrf),
        &[("Security advisories", &list)],
        &format!("{}: {}", a.id, a.title),
        html! {
            p { "About " a href={"/t/" (tenant) "/releases/" (a.product) "/" (a.tag)} { (a.product) " " (a.tag) } " revision " (a.revision) "." }
            (description(&a.summary))
            @if let Some(r) = &a.reference { p { "Details: " a href=(r) rel="noopener noreferrer" { (r) } } }
            @if a.state == AdvisoryState::Published {
                p {
                    a #advisory-csaf href={(api) "/csaf"} download { "CSAF 2.0 document" } " · "
                    a href={(api) "/advisory.sigstore.json"} download { "Signature bundle" } " · "
                    a href={(api) "/advisory-kit.tar.gz"} download { "Verify kit" }
                }
            } @else {
                p.note { "A draft: only admins see it. Publishing fixes its CSAF document and records it in the log." }
                @if admin {
                    form method="post" action={"/t/" (tenant) "/admin/advisories/" (a.id) "/publish"} {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="value" value=(a.input_sha256);
                        button type="submit" { "Publish" }
                    }
                }
            }
            table #advisory-statements {
                thead { tr { th { "Vulnerability" } th { "Component" } th { "Product status" } th { "Action" } } }
                tbody {
                    @for r in &v.rows {
                        tr {
                            td { (r.vulnerability) }
                            td { (r.component) }
                            td { (r.state.replace('_', " ")) }
                            td { (r.action.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}
