//! The web portal: server-rendered pages, readable without JavaScript.
//!
//! - `/t/{tenant}/login`: sign in through the customer's SSO (by e-mail
//!   domain or an explicit choice), or with an access token (customers
//!   without an IdP, and tenant admins);
//! - `/t/{tenant}/`: a customer's entitled releases, newest first, the
//!   latest of each product marked;
//! - `/t/{tenant}/releases/{product}/{tag}`: downloads of the four formats,
//!   both Sigstore bundles, the verify kit and the NOTICE;
//! - `/t/{tenant}/admin`: customers, SSO bindings, entitlements, customer
//!   tokens, and the share-link TTL default.
//!
//! Pages are built with `maud`, which escapes every interpolated value.
//! Downloads are the API's own endpoints, authenticated by the session
//! cookie, so every one is logged exactly like an API download. Every form
//! carries the session's CSRF token.

use axum::{
    extract::{Form, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::{
    auth::{Principal, Scope},
    customers::{self, ClaimRule, CustomerRecord, Entitlement, RuleOp},
    error::{ApiError, ApiJson},
    sessions::{self, Session, SessionKind},
    state::AppState,
};

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
a{color:#0645ad}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
.latest{font-weight:600;color:#05622b}form.inline{display:inline}label{display:block;margin:.4rem 0 .1rem}\
input,select{font:inherit;padding:.2rem}button{font:inherit;padding:.25rem .8rem}.err{color:#a00}\
.note{background:#f4f4f4;padding:.5rem 1rem}code{font-size:.9em}";

fn page(title: &str, tenant: Option<&str>, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Evident" }
                style { (CSS) }
            }
            body {
                header {
                    @if let (Some(t), Some(c)) = (tenant, csrf) {
                        form.inline method="post" action={"/t/" (t) "/logout"} {
                            input type="hidden" name="csrf" value=(c);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn respond(code: StatusCode, m: Markup) -> Response {
    (
        code,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        m.into_string(),
    )
        .into_response()
}

/// A page that says what failed.
pub fn failure(code: StatusCode, title: &str, msg: &str) -> Response {
    respond(
        code,
        page(
            title,
            None,
            None,
            html! {
                p.err role="alert" { (msg) }
            },
        ),
    )
}

/// The sign-in page. It looks the same for every tenant slug, existing or
/// not, and with or without a notice, so it reveals nothing of who exists.
pub fn login_page(tenant: &str, error: Option<&str>) -> Response {
    respond(
        StatusCode::OK,
        page(
            "Sign in",
            None,
            None,
            html! {
                @if let Some(e) = error { p.err role="alert" { (e) } }
                form method="get" action={"/t/" (tenant) "/login"} {
                    label for="email" { "Your work e-mail address" }
                    input id="email" name="email" type="email" autocomplete="email" required;
                    " " button type="submit" { "Continue with single sign-on" }
                }
                p { "Your vendor may also have given you a sign-in link for your organisation." }
                h2 { "Sign in with an access token" }
                form method="post" action={"/t/" (tenant) "/token-login"} {
                    label for="token" { "Access token" }
                    input id="token" name="token" type="password" autocomplete="off" required size="60";
                    " " button type="submit" { "Sign in" }
                }
            },
        ),
    )
}

/// The sign-in choices among `only` (bindings that matched the domain of
/// the address the user typed), named by their identity provider's host
/// only: customer names are never shown to someone who has not signed in,
/// as that would disclose the vendor's customer list.
fn choices(tenant: &str, customers: &[CustomerRecord], only: &[(String, String)]) -> Markup {
    let list: Vec<(&CustomerRecord, &customers::SsoBinding)> = customers
        .iter()
        .flat_map(|c| c.sso.iter().map(move |b| (c, b)))
        .filter(|(c, b)| only.iter().any(|(ci, bi)| *ci == c.id && *bi == b.id))
        .collect();
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "identity provider".into())
    };
    html! {
        @if !list.is_empty() {
            h2 { "Choose your sign-in" }
            ul {
                @for (i, (c, b)) in list.iter().enumerate() {
                    li { a href={"/t/" (tenant) "/login?binding=" (c.id) "." (b.id)} { "Sign-in " (i + 1) " at " (host(&b.issuer)) } }
                }
            }
        }
    }
}

/// Several bindings match: let the user choose.
pub fn binding_choice_page(
    tenant: &str,
    customers: &[CustomerRecord],
    matches: &[(String, String)],
) -> Response {
    respond(
        StatusCode::OK,
        page(
            "Choose how to sign in",
            None,
            None,
            choices(tenant, customers, matches),
        ),
    )
}

/// `POST /t/{tenant}/token-login` form.
#[derive(Debug, Deserialize)]
pub struct TokenLogin {
    token: String,
}

/// Whether a browser's `Origin` (when it sends one) is the portal's own:
/// a sign-in form posted from another site is refused (login CSRF), since
/// there is no session yet whose CSRF token it could carry.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let url = state.public_url();
    let host_at = url.find("://").map_or(0, |i| i + 3);
    let end = url[host_at..].find('/').map_or(url.len(), |j| host_at + j);
    origin.as_bytes() == &url.as_bytes()[..end]
}

/// `POST /t/{tenant}/token-login`: a customer access token or an admin token.
pub async fn token_login(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    crate::limits::ClientAddr(addr): crate::limits::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<TokenLogin>,
) -> Response {
    if let Err(e) = state.limits().check_auth_allowed(addr) {
        return e.into_response();
    }
    if !same_origin(&state, &headers) {
        return failure(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "This sign-in form was sent from another site. Sign in from this portal's own page \
             (if this is the portal, its --public-url is not the address you used).",
        );
    }
    let kind = match crate::auth::authenticate(&state, f.token.trim()) {
        Ok(Principal::Customer {
            tenant: t,
            subject: crate::events::Subject::Token { token_id },
            ..
        }) if t == tenant => Some(SessionKind::CustomerToken { token_id }),
        Ok(Principal::Tenant {
            tenant: t,
            token_id,
            scope: Scope::Admin,
        }) if t == tenant => Some(SessionKind::Admin { token_id }),
        _ => None,
    };
    let Some(kind) = kind else {
        state.limits().auth_failed(addr);
        return failure(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            "That token is not valid, has expired or was revoked.",
        );
    };
    let admin = matches!(kind, SessionKind::Admin { .. });
    match sessions::create(&state, &tenant, kind) {
        Ok(cookie) => (
            StatusCode::SEE_OTHER,
            [
                (
                    header::LOCATION,
                    if admin {
                        format!("/t/{tenant}/admin")
                    } else {
                        format!("/t/{tenant}/")
                    },
                ),
                (header::SET_COOKIE, cookie),
            ],
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The CSRF field of every POST form.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /t/{tenant}/logout`.
pub async fn logout(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let Ok(Some(s)) = sessions::current(&state, &headers) else {
        return Redirect::to(&format!("/t/{tenant}/login")).into_response();
    };
    if !sessions::csrf_ok(&s, &f.csrf) {
        return failure(
            StatusCode::FORBIDDEN,
            "Sign-out failed",
            "The form has expired; reload the page.",
        );
    }
    match sessions::end(&state, &headers) {
        Ok(c) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, format!("/t/{tenant}/login")),
                (header::SET_COOKIE, c),
            ],
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The session of this tenant and the principal it stands for, or a
/// redirect to the sign-in page.
fn signed_in(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
) -> Result<(Session, Principal), Box<Response>> {
    let to_login = || Box::new(Redirect::to(&format!("/t/{tenant}/login")).into_response());
    let s = match sessions::current(state, headers) {
        Ok(Some(s)) if s.tenant == tenant => s,
        _ => return Err(to_login()),
    };
    match crate::auth::session_principal(state, &s) {
        Ok(p) => Ok((s, p)),
        Err(_) => Err(to_login()),
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
    let Principal::Customer {
        customer, subject, ..
    } = &p
    else {
        return Redirect::to(&format!("/t/{tenant}/admin")).into_response();
    };
    let c = match customers::load(&state, &tenant, customer) {
        Ok(Some(c)) => c,
        _ => {
            return failure(
                StatusCode::NOT_FOUND,
                "Not found",
                "Your organisation's access was removed.",
            )
        }
    };
    let rel = match customers::entitled_view(&state, &c) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let who = match subject {
        crate::events::Subject::Oidc { email, subject, .. } => {
            email.clone().unwrap_or_else(|| subject.clone())
        }
        crate::events::Subject::Token { token_id } => format!("access token {token_id}"),
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
    if let Err(e) = customers::can_read(&state, &p, &tenant, &product, &tag) {
        return match e {
            ApiError::NotFound(_) => failure(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such release.",
            ),
            other => other.into_response(),
        };
    }
    let (rec, _) = match crate::releases::load(&state, &tenant, &product, &tag, None) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
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

/// `GET /t/{tenant}/admin`.
pub async fn admin(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if p.require(&tenant, &[Scope::Admin]).is_err() {
        return failure(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    }
    let list = match customers::all(&state, &tenant) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let tokens = state.tenant_tokens(&tenant).unwrap_or_default();
    let ttl = crate::settings::load(&state, &tenant).share_link_ttl_secs / 3600;
    let a = format!("/t/{tenant}/admin");
    respond(
        StatusCode::OK,
        page(
            "Portal administration",
            Some(&tenant),
            Some(&s.csrf),
            html! {
                h2 { "Share links" }
                form method="post" action={(a) "/settings"} {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="ttl" { "Default lifetime of share links, hours (24 to 720)" }
                    input id="ttl" name="share_link_ttl_hours" type="number" min="24" max="720" value=(ttl) required;
                    " " button type="submit" { "Save" }
                }
                h2 { "New customer" }
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
                                    code { (t.id) } " expires " (crate::events::rfc3339(t.expires_at.unwrap_or_default()))
                                    " · last used " (t.last_used_at.map(crate::events::rfc3339).unwrap_or_else(|| "never".into()))
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
        ),
    )
}

/// The admin principal of a POST, after its CSRF check.
fn admin_post(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Principal, Box<Response>> {
    let (s, p) = signed_in(state, tenant, headers)?;
    if p.require(tenant, &[Scope::Admin]).is_err() {
        return Err(Box::new(failure(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page.",
        )));
    }
    if !sessions::csrf_ok(&s, csrf) {
        return Err(Box::new(failure(
            StatusCode::FORBIDDEN,
            "Not saved",
            "The form has expired; reload the page and try again.",
        )));
    }
    Ok(p)
}

fn done<T>(tenant: &str, r: Result<T, ApiError>) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/t/{tenant}/admin")).into_response(),
        // The same public message as the API: never a server error's detail.
        Err(e) => failure(e.status(), "Not saved", &e.public_message()),
    }
}

/// Admin form fields (each form uses some of them).
#[derive(Debug, Deserialize)]
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
    let parts: Vec<&str> = action.split('/').collect();
    let st = || State(state.clone());
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    match parts.as_slice() {
        ["settings"] => {
            let r = crate::settings::update(
                &state,
                &p,
                &tenant,
                f.share_link_ttl_hours.unwrap_or(0).saturating_mul(3600),
            )
            .await;
            done(&tenant, r)
        }
        ["customers"] => {
            let req = customers::NewCustomer {
                name: s(&f.name),
                entitlements: vec![],
                sso: vec![],
            };
            done(
                &tenant,
                customers::create(st(), p, Path(tenant.clone()), ApiJson(req)).await,
            )
        }
        ["customers", c, "entitlements", rest @ ..] if rest.is_empty() || rest == ["remove"] => {
            // One locked edit of the customer: the change applies to the
            // entitlements as they are now, not as the page showed them.
            let add = rest.is_empty().then(|| Entitlement {
                product: s(&f.product).trim().into(),
                tag: s(&f.tag).trim().into(),
                match_kind: None,
                include_prereleases: false,
            });
            if let Some(e) = &add {
                if let Err(e) = e.validate_public() {
                    return done(&tenant, Err::<(), _>(e));
                }
            }
            let index = f.index;
            done(
                &tenant,
                customers::edit(&state, &p, &tenant, c, move |rec| match add {
                    Some(e) => {
                        rec.entitlements.push(e);
                        customers::check_entitlements(&rec.entitlements)
                    }
                    None => match index.filter(|i| *i < rec.entitlements.len()) {
                        Some(i) => {
                            rec.entitlements.remove(i);
                            Ok(())
                        }
                        None => Err(ApiError::not_found()),
                    },
                })
                .await,
            )
        }
        ["customers", c, "sso"] => {
            let op = match s(&f.op).as_str() {
                "equals" => RuleOp::Equals,
                "contains" => RuleOp::Contains,
                _ => RuleOp::EndsWith,
            };
            let b = customers::NewBinding {
                issuer: s(&f.issuer).trim().into(),
                client_id: s(&f.client_id).trim().into(),
                client_secret: s(&f.client_secret),
                rule: ClaimRule {
                    claim: s(&f.claim).trim().into(),
                    op,
                    value: s(&f.value).trim().into(),
                    allow_unverified_email: false,
                },
            };
            done(
                &tenant,
                customers::add_binding(st(), p, Path((tenant.clone(), c.to_string())), ApiJson(b))
                    .await,
            )
        }
        ["customers", c, "sso", b, "remove"] => done(
            &tenant,
            customers::remove_binding(
                st(),
                p,
                Path((tenant.clone(), c.to_string(), b.to_string())),
            )
            .await,
        ),
        ["customers", c, "tokens"] => {
            let req = customers::NewCustomerToken {
                label: Some("issued in the portal".into()),
                expires_in: Some(f.days.unwrap_or(90).saturating_mul(86400)),
            };
            match customers::create_token(
                st(),
                p,
                Path((tenant.clone(), c.to_string())),
                ApiJson(req),
            )
            .await
            {
                Ok((_, ApiJson(t))) => respond(
                    StatusCode::OK,
                    page(
                        "Access token issued",
                        Some(&tenant),
                        None,
                        html! {
                            p { "Give this token to the customer. It is shown only now; only its hash is kept." }
                            p { code { (t.token) } }
                            p { "Expires " (t.expires_at) ". Log entry " (t.log_index) "." }
                            p { a href={"/t/" (tenant) "/admin"} { "Back to administration" } }
                        },
                    ),
                ),
                Err(e) => failure(e.status(), "Not issued", &e.public_message()),
            }
        }
        ["tokens", id, "revoke"] => done(
            &tenant,
            crate::tenants::revoke_token(st(), p, Path((tenant.clone(), id.to_string()))).await,
        ),
        _ => failure(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    }
}
