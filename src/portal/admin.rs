//! The tenant admin's pages: customers, their SSO bindings, entitlements
//! and access tokens, share links (issue, list, revoke), and the
//! share-link lifetimes. Every form carries the
//! session's CSRF token and becomes one typed [`AdminAction`], which is one
//! service call: the portal never calls the JSON API's handlers.

use axum::{
    extract::{Form, Multipart, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::html;
use serde::Deserialize;

use crate::{
    core::{
        clock::rfc3339,
        portal::{PortalSettings, Visibility},
        records::Settings,
        regulator::{Authority, RequestBody},
        Error, Principal,
    },
    portal::{
        pages::{error_page, failure, tenant_page, Nav},
        signin::admin_signed_in,
    },
    service::{
        advisories::{self, NewAdvisory},
        bundles::{self, PrepareBody, SignatureBody},
        catalogue,
        customers::{
            self, ClaimRule, Entitlement, NewBinding, NewCustomer, NewCustomerToken, RuleOp,
        },
        documents, identity, portal,
        regulator::{self, NewTransition, RequestView},
        settings,
        share_links::{self, Covered, ListQuery, NewShareLink},
        tenancy, AppState,
    },
};

/// `GET /t/{tenant}/admin`.
pub async fn admin(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (list, tokens, ttl, links) = match (
        customers::records(&state, &p, &tenant),
        tenancy::token_records(&state, &p, &tenant),
        settings::get(&state, &p, &tenant),
        share_links::list(&state, &p, &tenant, &ListQuery::default()),
    ) {
        (Ok(l), Ok(t), Ok(s), Ok(k)) => (l, t, s, k),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return error_page("The portal is unavailable", &e)
        }
    };
    let hours = |secs: i64| secs / 3600;
    let a = format!("/t/{tenant}/admin");
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Portal administration",
        html! {
                h2 #share-links-section { "Share links" }
                form method="post" action={(a) "/share-links"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="sl-product" { "Product" }
                    input id="sl-product" name="product" required;
                    label for="sl-tag" { "Release tag" }
                    input id="sl-tag" name="tag" required;
                    label for="sl-rev" { "Pin a revision (empty: the latest at each download)" }
                    input id="sl-rev" name="revision" type="number" min="1";
                    fieldset {
                        legend { "Covers" }
                        @for c in Covered::ALL {
                            label.inline {
                                input type="checkbox" name={"cover_" (c.name().replace('-', "_"))} checked;
                                " " (c.name())
                            }
                        }
                    }
                    label for="sl-ttl" { "Lifetime, hours (24 to " (hours(ttl.share_link_max_ttl_secs)) ")" }
                    input id="sl-ttl" name="ttl_hours" type="number" min="24" max=(hours(ttl.share_link_max_ttl_secs)) value=(hours(ttl.share_link_ttl_secs)) required;
                    label for="sl-max" { "At most this many downloads (empty: no limit)" }
                    input id="sl-max" name="max_uses" type="number" min="1";
                    label for="sl-label" { "Recipient (a label for you)" }
                    input id="sl-label" name="label" maxlength="200";
                    label for="sl-email" { "Recipient e-mail (kept, never sent to)" }
                    input id="sl-email" name="email" type="email";
                    " " button type="submit" { "Issue share link" }
                }
                @if !links.is_empty() {
                    table #share-links {
                        thead { tr { th { "Link" } th { "Release" } th { "Recipient" } th { "State" } th { "Uses" } th { "Last use" } th { "Expires" } th {} } }
                        tbody {
                            @for l in &links {
                                tr {
                                    td { code { (l.id) } }
                                    td { (l.product) " " (l.tag) @if let Some(r) = l.revision { " rev " (r) } }
                                    td { (l.label.as_deref().unwrap_or("")) @if let Some(e) = &l.email { " " (e) } }
                                    td { (l.state.name()) }
                                    td { (l.uses) @if let Some(m) = l.max_uses { " / " (m) } }
                                    td { (l.last_used_at.as_deref().unwrap_or("never")) }
                                    td { (l.expires_at) }
                                    td {
                                        @if l.revoked_at.is_none() {
                                            form.inline method="post" action={(a) "/share-links/" (l.id) "/revoke"} {
                                                input type="hidden" name="csrf" value=(s.csrf);
                                                button type="submit" { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p { "The lifetimes of share links are under " a href={(a) "/settings"} { "Settings" } "." }
                h2 #customers-section { "New customer" }
                form method="post" action={(a) "/customers"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="cname" { "Name" }
                    input id="cname" name="name" required maxlength="200";
                    " " button type="submit" { "Create" }
                }
                @for c in &list {
                    section {
                        h2 { (c.name) " " small { code { (c.id) } } }
                        h3 { "Entitlements" }
                        ul {
                            @for (i, e) in c.entitlements.iter().enumerate() {
                                li {
                                    code { (e.product) " : " (e.tag) } " "
                                    form.inline method="post" action={(a) "/customers/" (c.id) "/entitlements/remove"} {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        input type="hidden" name="index" value=(i);
                                        button type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                        form method="post" action={(a) "/customers/" (c.id) "/entitlements"} {
                            input type="hidden" name="csrf" value=(s.csrf);
                            label for={"p-" (c.id)} { "Product" }
                            input id={"p-" (c.id)} name="product" required;
                            label for={"t-" (c.id)} { "Tag: exact, glob such as v1.*, or latest" }
                            input id={"t-" (c.id)} name="tag" required;
                            " " button type="submit" { "Add entitlement" }
                        }
                        h3 { "Single sign-on" }
                        ul {
                            @for b in &c.sso {
                                li {
                                    (b.issuer) " · client " code { (b.client_id) } " · " (b.rule.claim) " " (format!("{:?}", b.rule.op)) " " code { (b.rule.value) }
                                    " · sign-in link " code { (state.public_url()) "/t/" (tenant) "/login?binding=" (c.id) "." (b.id) } " "
                                    form.inline method="post" action={(a) "/customers/" (c.id) "/sso/" (b.id) "/remove"} {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                        details {
                            summary { "Add an SSO binding" }
                            form method="post" action={(a) "/customers/" (c.id) "/sso"} {
                                input type="hidden" name="csrf" value=(s.csrf);
                                label for={"i-" (c.id)} { "Issuer URL" } input id={"i-" (c.id)} name="issuer" type="url" required;
                                label for={"ci-" (c.id)} { "Client id" } input id={"ci-" (c.id)} name="client_id" required;
                                label for={"cs-" (c.id)} { "Client secret" } input id={"cs-" (c.id)} name="client_secret" type="password" required;
                                label for={"cl-" (c.id)} { "Claim" } input id={"cl-" (c.id)} name="claim" value="email" required;
                                label for={"op-" (c.id)} { "Rule" }
                                select id={"op-" (c.id)} name="op" {
                                    option value="ends_with" { "ends with" }
                                    option value="equals" { "equals" }
                                    option value="contains" { "contains (list claims such as groups)" }
                                }
                                label for={"v-" (c.id)} { "Value, such as @acme.example" } input id={"v-" (c.id)} name="value" required;
                                " " button type="submit" { "Add binding" }
                            }
                        }
                        h3 { "Access tokens" }
                        ul {
                            @for t in tokens.iter().filter(|t| t.customer.as_deref() == Some(c.id.as_str())) {
                                li {
                                    code { (t.id) } " expires " (rfc3339(t.expires_at.unwrap_or_default()))
                                    " · last used " (t.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into()))
                                    @if t.revoked_at.is_some() { " · revoked" } @else {
                                        " "
                                        form.inline method="post" action={(a) "/tokens/" (t.id) "/revoke"} {
                                            input type="hidden" name="csrf" value=(s.csrf);
                                            button type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                        form method="post" action={(a) "/customers/" (c.id) "/tokens"} {
                            input type="hidden" name="csrf" value=(s.csrf);
                            label for={"d-" (c.id)} { "Lifetime, days" }
                            input id={"d-" (c.id)} name="days" type="number" min="1" max="730" value="90" required;
                            " " button type="submit" { "Issue access token" }
                        }
                    }
                }
        },
    )
}

/// `GET /t/{tenant}/admin/releases`: every release of every product,
/// newest push first, each with what a public portal shows of it.
pub async fn releases_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut rows = Vec::new();
    let listed = catalogue::products(&state, &p, &tenant).and_then(|products| {
        for product in products {
            for r in catalogue::releases(&state, &p, &tenant, &product)? {
                let public = portal::shows_publicly(&state, &tenant, &product, &r.tag)?;
                rows.push((product.clone(), r, public));
            }
        }
        Ok(())
    });
    if let Err(e) = listed {
        return error_page("The portal is unavailable", &e);
    }
    rows.sort_by(|a, b| b.1.pushed_at.cmp(&a.1.pushed_at));
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Releases",
        html! {
            @if rows.is_empty() {
                p { "No release was pushed yet." }
            } @else {
                table #releases {
                    thead { tr { th { "Product" } th { "Release" } th { "Revisions" } th { "Last pushed" } th { "Public" } } }
                    tbody {
                        @for (product, r, public) in &rows {
                            tr {
                                td { (product) }
                                td { a href={"/t/" (tenant) "/releases/" (product) "/" (r.tag)} { (r.tag) } }
                                td { (r.latest_revision) }
                                td { (r.pushed_at) }
                                td { @if *public { "yes" } @else { "no" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The admin principal of a POST, after its CSRF check.
fn admin_post(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Principal, Box<Response>> {
    let (s, p) = admin_signed_in(state, tenant, headers)?;
    if !identity::csrf_ok(&s, csrf) {
        return Err(Box::new(failure(
            StatusCode::FORBIDDEN,
            "Not saved",
            "The form has expired; reload the page and try again.",
        )));
    }
    Ok(p)
}

/// Back to the admin page, or the page of what went wrong (the same public
/// message as the API: never a server error's detail).
fn done<T>(tenant: &str, r: Result<T, Error>) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/t/{tenant}/admin")).into_response(),
        Err(e) => error_page("Not saved", &e),
    }
}

/// To the request's page, or the page of what went wrong.
fn to_request(tenant: &str, r: Result<RequestView, Error>) -> Response {
    match r {
        Ok(v) => {
            Redirect::to(&format!("/t/{tenant}/admin/regulator/{}", v.request.id)).into_response()
        }
        Err(e) => error_page("Not saved", &e),
    }
}

/// To the advisory's page, or the page of what went wrong.
fn to_advisory(tenant: &str, r: Result<String, Error>) -> Response {
    match r {
        Ok(id) => Redirect::to(&format!("/t/{tenant}/advisories/{id}")).into_response(),
        Err(e) => error_page("Not saved", &e),
    }
}

/// Back to the settings page, or the page of what went wrong.
fn to_settings<T>(tenant: &str, r: Result<T, Error>) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/t/{tenant}/admin/settings")).into_response(),
        Err(e) => error_page("Not saved", &e),
    }
}

/// `GET /t/{tenant}/admin/settings`: the portal's name, description,
/// contact, colour, logo, whether it is on, who sees it and what it shows
/// publicly; the share-link lifetimes; whether the log is public.
pub async fn settings_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (ttl, view, public) = match (
        settings::get(&state, &p, &tenant),
        portal::get(&state, &p, &tenant),
        portal::public_releases(&state, &tenant),
    ) {
        (Ok(t), Ok(v), Ok(l)) => (t, v, l),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return error_page("The portal is unavailable", &e)
        }
    };
    let hours = |secs: i64| secs / 3600;
    let a = format!("/t/{tenant}/admin");
    let ps = &view.settings;
    let public_lines: String = ps
        .public_releases
        .iter()
        .map(|e| format!("{}:{}\n", e.product, e.tag))
        .collect();
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Settings",
        html! {
            h2 { "The portal" }
            form method="post" action={(a) "/portal"} {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="display_name" { "Name shown in every page's header (empty: the tenant's name)" }
                input id="display_name" name="display_name" maxlength="100" size="50" value=(ps.display_name.as_deref().unwrap_or(""));
                label for="description" { "Description on the front page (plain text; a blank line starts a paragraph)" }
                textarea id="description" name="description" rows="5" maxlength="4000" { (ps.description) }
                label for="contact_email" { "Contact for security questions (shown in every page's footer)" }
                input id="contact_email" name="contact_email" type="email" size="50" value=(ps.contact_email.as_deref().unwrap_or(""));
                label for="accent_colour" { "Accent colour (rules and borders)" }
                input id="accent_colour" name="accent_colour" type="color" value=(ps.accent_colour.as_deref().unwrap_or("#0645ad"));
                fieldset {
                    legend { "Who sees the portal" }
                    label for="vis-private" {
                        input id="vis-private" type="radio" name="visibility" value="private" checked[ps.visibility == Visibility::Private];
                        " Private: every page needs a sign-in"
                    }
                    label for="vis-public" {
                        input id="vis-public" type="radio" name="visibility" value="public" checked[ps.visibility == Visibility::Public];
                        " Public: anyone with the address sees the releases below (each download is still logged, with the visitor's address hashed)"
                    }
                }
                label for="public_releases" { "Public releases, one per line as product:tag (exact, a glob such as v1.*, or latest)" }
                textarea id="public_releases" name="public_releases" rows="3" { (public_lines) }
                label for="portal_enabled" {
                    input id="portal_enabled" name="portal_enabled" type="checkbox" checked[ps.enabled];
                    " Portal on (off: every page of the portal, this one included, answers 404; the API stays)"
                }
                " " button type="submit" { "Save the portal" }
            }
            @if ps.visibility == Visibility::Public {
                p { (public.len()) " release(s) shown publicly now: "
                    @for (i, r) in public.iter().enumerate() {
                        @if i > 0 { ", " }
                        (r.product) " " (r.tag)
                    }
                }
            }
            h2 { "Logo" }
            @if let Some(l) = &view.logo {
                p { img src={"/t/" (tenant) "/logo?v=" (&l.sha256[..16])} alt="The current logo" height="60";
                    " " (l.media_type) ", " (l.bytes) " bytes, SHA-256 " code { (l.sha256) } }
                form method="post" action={(a) "/portal/logo/remove"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { "Remove the logo" }
                }
            }
            form method="post" action={(a) "/portal/logo"} enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="logo" { "A PNG or SVG image, at most 256 KiB (an SVG with scripts, event handlers or outside references is refused)" }
                input id="logo" name="logo" type="file" accept="image/png,image/svg+xml" required;
                " " button type="submit" { "Upload" }
            }
            h2 { "Share links and the log" }
            form method="post" action={(a) "/settings"} {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="ttl" { "Default lifetime of share links, hours (24 to the maximum)" }
                input id="ttl" name="share_link_ttl_hours" type="number" min="24" max="720" value=(hours(ttl.share_link_ttl_secs)) required;
                label for="maxttl" { "Longest lifetime of share links, hours (24 to 720)" }
                input id="maxttl" name="share_link_max_ttl_hours" type="number" min="24" max="720" value=(hours(ttl.share_link_max_ttl_secs)) required;
                label for="publog" {
                    input id="publog" name="public_log" type="checkbox" checked[ttl.public_log];
                    " Public log: anyone may read the checkpoint and hash tiles at /tlog/" (tenant) "/ (for monitors and witnesses)"
                }
                label for="pubent" {
                    input id="pubent" name="public_entries" type="checkbox" checked[ttl.public_entries];
                    " Public entries: also the entry bundles (who downloaded what); needs the public log"
                }
                " " button type="submit" { "Save" }
            }
            p { "Every change here is an entry in the tenant's log." }
        },
    )
}

/// A multipart form's text fields and its one file (field name, media
/// type, bytes), or the page of why it could not be read.
async fn read_form(
    mut form: Multipart,
    file_field: &str,
) -> Result<
    (
        std::collections::HashMap<String, String>,
        Option<(String, Vec<u8>)>,
    ),
    Box<Response>,
> {
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    let fail = |e: axum::extract::multipart::MultipartError| {
        Box::new(failure(e.status(), "Not saved", &e.body_text()))
    };
    while let Some(f) = form.next_field().await.map_err(fail)? {
        let name = f.name().unwrap_or("").to_owned();
        let media = f.content_type().unwrap_or("").to_owned();
        // The browser's name of the file, reduced to what a download's
        // name may hold.
        let uploaded: String = f
            .file_name()
            .unwrap_or("")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_start_matches('.')
            .chars()
            .take(100)
            .collect();
        let b = f.bytes().await.map_err(fail)?;
        if name == file_field {
            if !uploaded.is_empty() {
                fields.insert("file_name".into(), uploaded);
            }
            file = Some((media, b.to_vec()));
        } else {
            fields.insert(name, String::from_utf8_lossy(&b).into_owned());
        }
    }
    Ok((fields, file))
}

/// The admin principal of a multipart form, its text fields and its file
/// (`file_field`): signed in as an admin before the body is read, the
/// CSRF token checked after.
#[allow(clippy::type_complexity)]
async fn admin_multipart(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    form: Multipart,
    file_field: &str,
) -> Result<
    (
        Principal,
        std::collections::HashMap<String, String>,
        Option<(String, Vec<u8>)>,
    ),
    Box<Response>,
> {
    admin_signed_in(state, tenant, headers)?;
    let (fields, file) = read_form(form, file_field).await?;
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or("");
    let p = admin_post(state, tenant, headers, csrf)?;
    Ok((p, fields, file))
}

/// `POST /t/{tenant}/admin/portal/logo` (multipart: `csrf`, `logo`): the
/// logo upload form.
pub async fn upload_logo(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (p, _, logo) = match admin_multipart(&state, &tenant, &headers, form, "logo").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some((media, bytes)) = logo else {
        return failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not saved",
            "Choose an image to upload.",
        );
    };
    to_settings(
        &tenant,
        portal::set_logo(&state, &p, &tenant, &media, bytes).await,
    )
}

/// `POST /t/{tenant}/admin/documents` (multipart: `csrf`, `product`, `tag`,
/// `title`, `type`, `visibility`, `customers`, `file`): publishes a
/// document with a release, then back to the release's page.
pub async fn publish_document(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    let (p, f, file) = match admin_multipart(&state, &tenant, &headers, form, "file").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let Some((media, bytes)) = file else {
        return failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not published",
            "Choose a file to publish.",
        );
    };
    // Browsers often send no type (or octet-stream) for .md and .json: the
    // name's extension says it then; the bytes are checked against it.
    let media = match media.as_str() {
        "" | "application/octet-stream" => {
            let name = f.get("file_name").map(String::as_str).unwrap_or("");
            match name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()) {
                Some(e) if e == "pdf" => "application/pdf".to_owned(),
                Some(e) if e == "md" || e == "markdown" => "text/markdown".to_owned(),
                Some(e) if e == "json" => "application/json".to_owned(),
                Some(e) if e == "png" => "image/png".to_owned(),
                Some(e) if e == "txt" => "text/plain".to_owned(),
                _ => media,
            }
        }
        _ => media,
    };
    let doc_type = match serde_json::from_value(serde_json::Value::String(get("type"))) {
        Ok(t) => t,
        Err(_) => {
            return failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not published",
                "Choose the kind of document.",
            )
        }
    };
    let (product, tag) = (get("product"), get("tag"));
    let file_name: String = f
        .get("file_name")
        .cloned()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("document.{}", extension(&media)));
    let req = documents::NewDocument {
        product: product.clone(),
        tag: Some(tag.clone()).filter(|t| !t.is_empty()),
        title: get("title"),
        doc_type,
        visibility: Some(get("visibility")).filter(|v| !v.is_empty()),
        customers: Some(get("customers")).filter(|v| !v.is_empty()),
        file_name,
    };
    match documents::publish(&state, &p, &tenant, req, &media, bytes).await {
        // Back to the release page the form was on.
        Ok(_) => Redirect::to(&format!(
            "/t/{tenant}/releases/{product}/{}",
            get("from_tag")
        ))
        .into_response(),
        Err(e) => error_page("Not published", &e),
    }
}

/// The file name extension of a document's media type.
fn extension(media: &str) -> &'static str {
    match media {
        "application/pdf" => "pdf",
        "text/markdown" => "md",
        "application/json" => "json",
        "image/png" => "png",
        _ => "txt",
    }
}

/// Admin form fields (each form uses some of them).
#[derive(Debug, Default, Deserialize)]
pub struct AdminForm {
    csrf: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    claim: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    days: Option<i64>,
    #[serde(default)]
    share_link_ttl_hours: Option<i64>,
    #[serde(default)]
    share_link_max_ttl_hours: Option<i64>,
    // Checkboxes: present ("on") when ticked.
    #[serde(default)]
    public_log: Option<String>,
    #[serde(default)]
    public_entries: Option<String>,
    // The share-link form. Numbers come as text: an empty field is absent.
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    ttl_hours: Option<String>,
    #[serde(default)]
    max_uses: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    cover_cyclonedx_json: Option<String>,
    #[serde(default)]
    cover_cyclonedx_xml: Option<String>,
    #[serde(default)]
    cover_spdx_json: Option<String>,
    #[serde(default)]
    cover_spdx_tv: Option<String>,
    #[serde(default)]
    cover_notice: Option<String>,
    #[serde(default)]
    cover_kit: Option<String>,
    // The regulator-request forms.
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    notice_reference: Option<String>,
    #[serde(default)]
    legal_basis: Option<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    received_on: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    digests: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    note: Option<String>,
    // The portal's settings.
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    contact_email: Option<String>,
    #[serde(default)]
    accent_colour: Option<String>,
    #[serde(default)]
    portal_enabled: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    public_releases: Option<String>,
    // The advisory form.
    #[serde(default)]
    advisory_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    statements: Option<String>,
}

/// A number field: absent or empty is `None`; anything else must parse.
fn number<T: std::str::FromStr>(v: &Option<String>) -> Result<Option<T>, ()> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| ()),
    }
}

/// What an admin form asks for: one service call each.
#[derive(Debug)]
pub enum AdminAction {
    /// Save the share-link lifetime.
    Settings(Settings),
    /// Save the portal's settings.
    Portal(PortalSettings),
    /// Remove the portal's logo.
    RemoveLogo,
    /// Draft (or replace the draft of) an advisory.
    DraftAdvisory(Box<NewAdvisory>, String),
    /// Publish an advisory, with the draft's digest as reviewed.
    PublishAdvisory(String, String),
    /// Create a customer.
    CreateCustomer(NewCustomer),
    /// Add an entitlement to a customer.
    AddEntitlement(String, Entitlement),
    /// Remove a customer's entitlement at an index.
    RemoveEntitlement(String, usize),
    /// Add an SSO binding.
    AddBinding(String, NewBinding),
    /// Remove an SSO binding.
    RemoveBinding(String, String),
    /// Issue a customer access token (shown once).
    IssueToken(String, NewCustomerToken),
    /// Revoke a token.
    RevokeToken(String),
    /// Issue a share link (shown once).
    IssueShareLink(NewShareLink),
    /// Revoke a share link.
    RevokeShareLink(String),
    /// Record a regulator request.
    CreateRequest(Box<RequestBody>),
    /// Move a regulator request on.
    MoveRequest(String, NewTransition),
    /// Prepare a request's cover note.
    PrepareCoverNote(String, PrepareBody),
    /// Upload the officer's signature: issues the bundle.
    SignCoverNote(String, SignatureBody),
}

impl AdminAction {
    /// The action of the form posted to `/t/{t}/admin/{path}`; `None` for a
    /// path no form posts to.
    pub fn parse(path: &str, f: AdminForm) -> Option<Self> {
        let parts: Vec<&str> = path.split('/').collect();
        let s = |v: Option<String>| v.unwrap_or_default().trim().to_owned();
        Some(match parts.as_slice() {
            ["settings"] => Self::Settings(Settings {
                share_link_ttl_secs: f.share_link_ttl_hours.unwrap_or(0).saturating_mul(3600),
                share_link_max_ttl_secs: f
                    .share_link_max_ttl_hours
                    .unwrap_or(720)
                    .saturating_mul(3600),
                public_log: f.public_log.is_some(),
                public_entries: f.public_entries.is_some(),
            }),
            ["portal"] => Self::Portal(PortalSettings {
                display_name: Some(s(f.display_name)).filter(|v| !v.is_empty()),
                description: f
                    .description
                    .unwrap_or_default()
                    .trim()
                    .replace("\r\n", "\n"),
                contact_email: Some(s(f.contact_email)).filter(|v| !v.is_empty()),
                accent_colour: Some(s(f.accent_colour)).filter(|v| !v.is_empty()),
                enabled: f.portal_enabled.is_some(),
                visibility: match f.visibility.as_deref() {
                    Some("public") => Visibility::Public,
                    _ => Visibility::Private,
                },
                public_releases: f
                    .public_releases
                    .unwrap_or_default()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (product, tag) = l.split_once(':').unwrap_or((l, ""));
                        Entitlement {
                            product: product.trim().to_owned(),
                            tag: tag.trim().to_owned(),
                            match_kind: None,
                            include_prereleases: false,
                        }
                    })
                    .collect(),
            }),
            ["portal", "logo", "remove"] => Self::RemoveLogo,
            ["advisories"] => Self::DraftAdvisory(
                Box::new(NewAdvisory {
                    product: s(f.product),
                    tag: s(f.tag),
                    id: s(f.advisory_id),
                    title: s(f.title),
                    summary: f.summary.unwrap_or_default().trim().replace("\r\n", "\n"),
                    reference: Some(s(f.reference)).filter(|r| !r.is_empty()),
                }),
                f.statements.unwrap_or_default(),
            ),
            ["advisories", id, "publish"] => Self::PublishAdvisory((*id).to_owned(), s(f.value)),
            ["customers"] => Self::CreateCustomer(NewCustomer {
                name: s(f.name),
                entitlements: vec![],
                sso: vec![],
            }),
            ["customers", c, "entitlements"] => Self::AddEntitlement(
                (*c).to_owned(),
                Entitlement {
                    product: s(f.product),
                    tag: s(f.tag),
                    match_kind: None,
                    include_prereleases: false,
                },
            ),
            ["customers", c, "entitlements", "remove"] => {
                Self::RemoveEntitlement((*c).to_owned(), f.index?)
            }
            ["customers", c, "sso"] => Self::AddBinding(
                (*c).to_owned(),
                NewBinding {
                    issuer: s(f.issuer),
                    client_id: s(f.client_id),
                    client_secret: f.client_secret.unwrap_or_default(),
                    rule: ClaimRule {
                        claim: s(f.claim),
                        op: match f.op.as_deref() {
                            Some("equals") => RuleOp::Equals,
                            Some("contains") => RuleOp::Contains,
                            _ => RuleOp::EndsWith,
                        },
                        value: s(f.value),
                        allow_unverified_email: false,
                    },
                },
            ),
            ["customers", c, "sso", b, "remove"] => {
                Self::RemoveBinding((*c).to_owned(), (*b).to_owned())
            }
            ["customers", c, "tokens"] => Self::IssueToken(
                (*c).to_owned(),
                NewCustomerToken {
                    label: Some("issued in the portal".into()),
                    expires_in: Some(f.days.unwrap_or(90).saturating_mul(86400)),
                },
            ),
            ["tokens", id, "revoke"] => Self::RevokeToken((*id).to_owned()),
            ["share-links"] => {
                let covers = [
                    (&f.cover_cyclonedx_json, Covered::CyclonedxJson),
                    (&f.cover_cyclonedx_xml, Covered::CyclonedxXml),
                    (&f.cover_spdx_json, Covered::SpdxJson),
                    (&f.cover_spdx_tv, Covered::SpdxTv),
                    (&f.cover_notice, Covered::Notice),
                    (&f.cover_kit, Covered::Kit),
                ]
                .into_iter()
                .filter(|(v, _)| v.is_some())
                .map(|(_, c)| c)
                .collect();
                let ttl: Option<i64> = number(&f.ttl_hours).ok()?;
                let opt = |v: Option<String>| Some(s(v)).filter(|v| !v.is_empty());
                Self::IssueShareLink(NewShareLink {
                    revision: number(&f.revision).ok()?,
                    max_uses: number(&f.max_uses).ok()?,
                    ttl_secs: ttl.map(|h| h.saturating_mul(3600)),
                    covers: Some(covers),
                    product: s(f.product),
                    tag: s(f.tag),
                    label: opt(f.label),
                    email: opt(f.email),
                })
            }
            ["share-links", id, "revoke"] => Self::RevokeShareLink((*id).to_owned()),
            ["regulator-requests"] => {
                let opt = |v: Option<String>| Some(s(v)).filter(|v| !v.is_empty());
                let kind = serde_json::from_value(serde_json::Value::String(s(f.kind))).ok()?;
                Self::CreateRequest(Box::new(RequestBody {
                    authority: Authority {
                        name: s(f.name),
                        country: s(f.country),
                        kind,
                    },
                    notice_reference: s(f.notice_reference),
                    legal_basis: f.legal_basis.unwrap_or_default(),
                    contact: s(f.contact),
                    received_on: s(f.received_on),
                    deadline: s(f.deadline),
                    product: opt(f.product),
                    tag: opt(f.tag),
                    production_digests: f
                        .digests
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                }))
            }
            ["regulator-requests", id, "move"] => Self::MoveRequest(
                (*id).to_owned(),
                NewTransition {
                    to: serde_json::from_value(serde_json::Value::String(s(f.to))).ok()?,
                    note: Some(f.note.unwrap_or_default()).filter(|n| !n.trim().is_empty()),
                },
            ),
            ["regulator-requests", id, "prepare"] => Self::PrepareCoverNote((*id).to_owned(), {
                let opt = |v: Option<String>| Some(s(v)).filter(|v| !v.is_empty());
                PrepareBody {
                    officer_id: s(f.name),
                    statement: Some(f.note.unwrap_or_default()).filter(|n| !n.trim().is_empty()),
                    product: opt(f.product),
                    tag: opt(f.tag),
                    revision: number(&f.revision).ok()?,
                }
            }),
            ["regulator-requests", id, "sign"] => Self::SignCoverNote(
                (*id).to_owned(),
                SignatureBody {
                    signature: s(f.value),
                },
            ),
            _ => return None,
        })
    }
}

/// `POST /t/{tenant}/admin/{*action}`: the admin forms.
pub async fn admin_action(
    State(state): State<AppState>,
    Path((tenant, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<AdminForm>,
) -> Response {
    let p = match admin_post(&state, &tenant, &headers, &f.csrf) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(action) = AdminAction::parse(&action, f) else {
        return failure(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    };
    let (st, t) = (&state, tenant.as_str());
    match action {
        AdminAction::Settings(s) => to_settings(t, settings::update(st, &p, t, s).await),
        AdminAction::Portal(s) => to_settings(t, portal::update(st, &p, t, s).await),
        AdminAction::RemoveLogo => to_settings(t, portal::remove_logo(st, &p, t).await),
        AdminAction::DraftAdvisory(a, body) => to_advisory(
            t,
            advisories::draft(st, &p, t, *a, body.into_bytes())
                .await
                .map(|a| a.id),
        ),
        AdminAction::PublishAdvisory(id, reviewed) => to_advisory(
            t,
            advisories::publish(st, &p, t, &id, Some(&reviewed))
                .await
                .map(|a| a.id),
        ),
        AdminAction::CreateCustomer(c) => done(t, customers::create(st, &p, t, c).await),
        AdminAction::AddEntitlement(c, e) => {
            done(t, customers::add_entitlement(st, &p, t, &c, e).await)
        }
        AdminAction::RemoveEntitlement(c, i) => {
            done(t, customers::remove_entitlement(st, &p, t, &c, i).await)
        }
        AdminAction::AddBinding(c, b) => done(t, customers::add_binding(st, &p, t, &c, b).await),
        AdminAction::RemoveBinding(c, b) => {
            done(t, customers::remove_binding(st, &p, t, &c, &b).await)
        }
        AdminAction::RevokeToken(id) => done(t, tenancy::revoke_token(st, &p, t, &id).await),
        AdminAction::RevokeShareLink(id) => done(t, share_links::revoke(st, &p, t, &id).await),
        AdminAction::CreateRequest(b) => to_request(t, regulator::create(st, &p, t, *b).await),
        AdminAction::MoveRequest(id, m) => {
            to_request(t, regulator::transition(st, &p, t, &id, m).await)
        }
        AdminAction::PrepareCoverNote(id, b) => {
            let r = bundles::prepare(st, &p, t, &id, b, crate::http::regulator::cover_html).await;
            to_request(t, r.and_then(|_| regulator::get(st, &p, t, &id)))
        }
        AdminAction::SignCoverNote(id, b) => to_request(t, bundles::sign(st, &p, t, &id, b).await),
        AdminAction::IssueShareLink(req) => match share_links::issue(st, &p, t, req).await {
            Ok(i) => tenant_page(
                st,
                t,
                Nav::Admin,
                None,
                &[],
                "Share link issued",
                html! {
                        p { "Send this link to the recipient. It is shown only now; only a hash of it is kept." }
                        label for="share-url" { "The link (select it and copy)" }
                        input #share-url type="text" readonly size="90" value=(i.url) autofocus onfocus="this.select()";
                        p { (i.link.product) " " (i.link.tag) " · works until " (i.link.expires_at)
                            @if let Some(m) = i.link.max_uses { " · at most " (m) " downloads" }
                            " · link id " code { (i.link.id) }
                            @if let Some(n) = i.link.issued_index { " · log entry " (n) } }
                        p { a href={"/t/" (t) "/admin"} { "Back to administration" } }
                },
            ),
            Err(e) => error_page("Not issued", &e),
        },
        AdminAction::IssueToken(c, req) => {
            match customers::create_token(st, &p, t, &c, req).await {
                Ok(tok) => tenant_page(
                    st,
                    t,
                    Nav::Admin,
                    None,
                    &[],
                    "Access token issued",
                    html! {
                            p { "Give this token to the customer. It is shown only now; only its hash is kept." }
                            p { code { (tok.token) } }
                            p { "Expires " (tok.expires_at) ". Log entry " (tok.log_index) "." }
                            p { a href={"/t/" (t) "/admin"} { "Back to administration" } }
                    },
                ),
                Err(e) => error_page("Not issued", &e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(csrf: &str) -> AdminForm {
        AdminForm {
            csrf: csrf.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_form_is_one_typed_action() {
        assert!(matches!(
            AdminAction::parse(
                "settings",
                AdminForm {
                    share_link_ttl_hours: Some(48),
                    ..form("x")
                }
            ),
            Some(AdminAction::Settings(Settings {
                share_link_ttl_secs: 172800,
                share_link_max_ttl_secs: 2_592_000,
                public_log: false,
                public_entries: false,
            }))
        ));
        assert!(matches!(
            AdminAction::parse("customers/c1/entitlements/remove", AdminForm { index: Some(2), ..form("x") }),
            Some(AdminAction::RemoveEntitlement(c, 2)) if c == "c1"
        ));
        assert!(
            AdminAction::parse("customers/c1/entitlements/remove", form("x")).is_none(),
            "a removal names its index"
        );
        assert!(matches!(
            AdminAction::parse("customers/c1/sso/b1/remove", form("x")),
            Some(AdminAction::RemoveBinding(c, b)) if c == "c1" && b == "b1"
        ));
        assert!(matches!(
            AdminAction::parse("tokens/t1/revoke", form("x")),
            Some(AdminAction::RevokeToken(t)) if t == "t1"
        ));
        let Some(AdminAction::AddBinding(_, b)) = AdminAction::parse(
            "customers/c1/sso",
            AdminForm {
                op: Some("contains".into()),
                claim: Some(" groups ".into()),
                ..form("x")
            },
        ) else {
            panic!("a binding form")
        };
        assert_eq!(
            (b.rule.op, b.rule.claim.as_str()),
            (RuleOp::Contains, "groups")
        );
        let Some(AdminAction::IssueShareLink(l)) = AdminAction::parse(
            "share-links",
            AdminForm {
                product: Some(" shop ".into()),
                tag: Some("v1".into()),
                ttl_hours: Some("48".into()),
                max_uses: Some("".into()),
                revision: Some("".into()),
                label: Some(" ".into()),
                cover_spdx_json: Some("on".into()),
                cover_kit: Some("on".into()),
                ..form("x")
            },
        ) else {
            panic!("a share-link form")
        };
        assert_eq!(
            (
                l.product.as_str(),
                l.ttl_secs,
                l.max_uses,
                l.revision,
                l.label
            ),
            ("shop", Some(172_800), None, None, None)
        );
        assert_eq!(l.covers, Some(vec![Covered::SpdxJson, Covered::Kit]));
        assert!(
            AdminAction::parse(
                "share-links",
                AdminForm {
                    max_uses: Some("many".into()),
                    ..form("x")
                }
            )
            .is_none(),
            "a number field that is not a number"
        );
        assert!(matches!(
            AdminAction::parse("share-links/ab12/revoke", form("x")),
            Some(AdminAction::RevokeShareLink(i)) if i == "ab12"
        ));
        let Some(AdminAction::CreateRequest(b)) = AdminAction::parse(
            "regulator-requests",
            AdminForm {
                name: Some(" BSI ".into()),
                country: Some("de".into()),
                kind: Some("csirt".into()),
                legal_basis: Some("BSIG §7a".into()),
                product: Some(" ".into()),
                digests: Some(format!(" sha256:{0}\r\nsha256:{0} \n", "ab".repeat(32))),
                ..form("x")
            },
        ) else {
            panic!("a regulator-request form")
        };
        assert_eq!(
            (
                b.authority.name.as_str(),
                b.authority.kind,
                b.product,
                b.production_digests.len()
            ),
            ("BSI", crate::core::regulator::AuthorityKind::Csirt, None, 2)
        );
        assert!(
            AdminAction::parse(
                "regulator-requests",
                AdminForm {
                    kind: Some("court".into()),
                    ..form("x")
                }
            )
            .is_none(),
            "a kind the select does not offer"
        );
        assert!(matches!(
            AdminAction::parse(
                "regulator-requests/r1/move",
                AdminForm { to: Some("in_preparation".into()), note: Some("  ".into()), ..form("x") }
            ),
            Some(AdminAction::MoveRequest(i, NewTransition { to: crate::core::regulator::RequestState::InPreparation, note: None })) if i == "r1"
        ));
        for nothing in [
            "",
            "regulator-requests/r1",
            "customers/c1",
            "tokens/t1",
            "customers/c1/sso/b1",
            "../x",
        ] {
            assert!(
                AdminAction::parse(nothing, form("x")).is_none(),
                "{nothing}"
            );
        }
    }
}
