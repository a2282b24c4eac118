//! The portal's page frame and its shared pages: server-rendered with
//! `maud`, which escapes every interpolated value, readable without
//! JavaScript. Failures render the same public message the API would give.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup, DOCTYPE};

use crate::{
    core::Error,
    http::error,
    service::{
        oidc::Choice,
        portal::{self, Brand},
        AppState,
    },
};

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
a{color:#0645ad}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
.latest{font-weight:600;color:#05622b}form.inline{display:inline}label{display:block;margin:.4rem 0 .1rem}\
input,select{font:inherit;padding:.2rem}button{font:inherit;padding:.25rem .8rem}.err{color:#a00}\
.note{background:#f4f4f4;padding:.5rem 1rem}code{font-size:.9em}\
.state{padding:.05rem .4rem;border-radius:.3rem}.st-affected .state{background:#fde2e1;color:#8a1111;font-weight:600}\
.st-unreachable .state{background:#e3f4e8;color:#05622b}.st-not-affected .state{background:#eef6f0;color:#1d5c33}\
.st-fixed .state{background:#e6eefb;color:#123f8c}.st-investigating .state{background:#fff4d6;color:#6b4a00}\
.overdue{background:#fde2e1;color:#8a1111;font-weight:600;padding:.05rem .4rem;border-radius:.3rem}textarea{font:inherit;width:100%}";

/// What the navigation offers: the pages of the one who reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Nobody signed in on a public portal: its releases, and signing in.
    Visitor,
    /// A customer's user: its releases and its own downloads.
    Customer,
    /// A tenant admin: releases, customers, share links, statistics,
    /// audit, regulator requests, settings.
    Admin,
}

/// The frame around a tenant's page: the tenant's name, logo and accent
/// colour in the header, the navigation, breadcrumbs, and the contact
/// address in the footer.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The tenant's portal.
    pub brand: &'a Brand,
    /// Whose navigation.
    pub nav: Nav,
    /// The session's CSRF token, for the sign-out form (signed in only).
    pub csrf: Option<&'a str>,
    /// The trail above the title, each (label, link); the page itself is
    /// the title, last.
    pub crumbs: Vec<(String, String)>,
}

impl Nav {
    /// The navigation of a signed-in reader: a customer's, else staff's.
    pub fn of(p: &crate::core::Principal) -> Self {
        if matches!(p, crate::core::Principal::Customer { .. }) {
            Self::Customer
        } else {
            Self::Admin
        }
    }
}

impl<'a> Frame<'a> {
    /// A frame with no crumbs but the portal's front page.
    pub fn new(brand: &'a Brand, nav: Nav, csrf: Option<&'a str>) -> Self {
        let home = match nav {
            Nav::Admin => format!("/t/{}/admin", brand.tenant),
            _ => format!("/t/{}/", brand.tenant),
        };
        Self {
            brand,
            nav,
            csrf,
            crumbs: vec![(brand.name.clone(), home)],
        }
    }

    /// This frame with one more crumb.
    pub fn crumb(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.crumbs.push((label.into(), href.into()));
        self
    }

    fn links(&self) -> Vec<(&'static str, String)> {
        let t = &self.brand.tenant;
        match self.nav {
            Nav::Visitor => vec![
                ("Releases", format!("/t/{t}/")),
                ("Sign in", format!("/t/{t}/login")),
            ],
            Nav::Customer => vec![
                ("Releases", format!("/t/{t}/")),
                ("Documents", format!("/t/{t}/documents")),
                ("Advisories", format!("/t/{t}/advisories")),
                ("Search", format!("/t/{t}/search")),
                ("My downloads", format!("/t/{t}/downloads")),
            ],
            Nav::Admin => vec![
                ("Releases", format!("/t/{t}/admin/releases")),
                ("Documents", format!("/t/{t}/documents")),
                ("Advisories", format!("/t/{t}/advisories")),
                ("Search", format!("/t/{t}/search")),
                ("Customers", format!("/t/{t}/admin#customers-section")),
                ("Share links", format!("/t/{t}/admin#share-links-section")),
                ("Statistics", format!("/t/{t}/admin/stats")),
                ("Audit", format!("/t/{t}/admin/audit")),
                ("Regulator requests", format!("/t/{t}/admin/regulator")),
                ("Settings", format!("/t/{t}/admin/settings")),
            ],
        }
    }
}

/// A page of a tenant's portal, in its frame.
pub fn framed(f: &Frame, title: &str, body: Markup) -> Markup {
    let b = f.brand;
    let t = &b.tenant;
    let accent = b.settings.accent_colour.as_deref().unwrap_or("#0645ad");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (b.name) }
                // The accent is validated as #rrggbb before it is stored.
                style { (CSS) (FRAME_CSS) ":root{--accent:" (accent) "}" }
            }
            body {
                a.skip href="#content" { "Skip to content" }
                header.frame {
                    a.brand href={"/t/" (t) "/"} {
                        @if let Some(l) = &b.logo {
                            img src={"/t/" (t) "/logo?v=" (&l.sha256[..16])} alt="" height="40";
                        }
                        span { (b.name) }
                    }
                    nav aria-label="Main" {
                        ul {
                            @for (label, href) in f.links() {
                                li { a href=(href) { (label) } }
                            }
                        }
                    }
                    @if let Some(c) = f.csrf {
                        form.inline method="post" action={"/t/" (t) "/logout"} {
                            input type="hidden" name="csrf" value=(c);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                nav.crumbs aria-label="Breadcrumb" {
                    ol {
                        @for (label, href) in &f.crumbs {
                            li { a href=(href) { (label) } }
                        }
                        li { span aria-current="page" { (title) } }
                    }
                }
                main #content { h1 { (title) } (body) }
                footer {
                    @if let Some(e) = &b.settings.contact_email {
                        p { "Security questions: " a href={"mailto:" (e)} { (e) } }
                    }
                    p { "Every download from this portal is recorded in " (b.name) "\u{2019}s transparency log." }
                }
            }
        }
    }
}

const FRAME_CSS: &str = "header.frame{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;border-bottom:4px solid var(--accent);padding-bottom:.5rem}\
.brand{display:flex;align-items:center;gap:.6rem;font-size:1.3rem;font-weight:600;color:#111;text-decoration:none}\
header.frame nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:0;padding:0}\
.crumbs ol{list-style:none;display:flex;flex-wrap:wrap;gap:.4rem;padding:0;margin:.6rem 0 0;font-size:.9rem}\
.crumbs li+li::before{content:\"\u{203a}\";margin-right:.4rem;color:#555}\
h1{border-left:4px solid var(--accent);padding-left:.5rem}\
footer{margin-top:3rem;border-top:1px solid #ddd;font-size:.9rem;color:#333}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.3rem}";

/// A page outside any tenant's frame: sign-in of a private portal (which
/// must look the same for every slug), share links, failures.
pub fn page(title: &str, tenant: Option<&str>, csrf: Option<&str>, body: Markup) -> Markup {
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

pub fn respond(code: StatusCode, m: Markup) -> Response {
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

/// The page of a domain error: its status and public message (the same the
/// API's JSON body gives; a server-side error's detail is never shown).
pub fn error_page(title: &str, e: &Error) -> Response {
    error::log_detail(e);
    failure(error::status(e).0, title, &e.public_message())
}

/// The sign-in page. A private portal's looks the same for every tenant
/// slug, existing or not, and with or without a notice, so it reveals
/// nothing of who exists; a public portal's (`brand`), which anyone may
/// know of, is in the tenant's frame.
pub fn login_page(tenant: &str, brand: Option<&Brand>, error: Option<&str>) -> Response {
    let body = html! {
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
    };
    let m = match brand {
        Some(b) => framed(&Frame::new(b, Nav::Visitor, None), "Sign in", body),
        None => page("Sign in", None, None, body),
    };
    respond(StatusCode::OK, m)
}

/// Several bindings match the typed address: let the user choose, each
/// named by its identity provider's host only (customer names are never
/// shown to someone who has not signed in).
pub fn binding_choice_page(tenant: &str, list: &[Choice]) -> Response {
    respond(
        StatusCode::OK,
        page(
            "Choose how to sign in",
            None,
            None,
            html! {
                @if !list.is_empty() {
                    h2 { "Choose your sign-in" }
                    ul {
                        @for (i, c) in list.iter().enumerate() {
                            li { a href={"/t/" (tenant) "/login?binding=" (c.binding)} { "Sign-in " (i + 1) " at " (c.host) } }
                        }
                    }
                }
            },
        ),
    )
}

/// A 200 page of `tenant`'s portal in its frame, with `crumbs` between
/// the portal's front page and the title; 404 when the portal went away
/// meanwhile (unknown or off).
pub fn tenant_page(
    state: &AppState,
    tenant: &str,
    nav: Nav,
    csrf: Option<&str>,
    crumbs: &[(&str, &str)],
    title: &str,
    body: Markup,
) -> Response {
    match portal::brand(state, tenant) {
        Ok(Some(b)) => {
            let mut f = Frame::new(&b, nav, csrf);
            for (label, href) in crumbs {
                f = f.crumb(*label, *href);
            }
            respond(StatusCode::OK, framed(&f, title, body))
        }
        Ok(None) => not_found(),
        Err(e) => error_page("The portal is unavailable", &e),
    }
}

/// The page of a portal that is unknown or off, and of a page that does
/// not exist.
pub fn not_found() -> Response {
    failure(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}
