//! The portal's page frame and its shared pages: server-rendered with
//! `maud`, which escapes every interpolated value, readable without
//! JavaScript. Failures render the same public message the API would give.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup, DOCTYPE};

use crate::{core::Error, http::error, service::oidc::Choice};

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
a{color:#0645ad}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
.latest{font-weight:600;color:#05622b}form.inline{display:inline}label{display:block;margin:.4rem 0 .1rem}\
input,select{font:inherit;padding:.2rem}button{font:inherit;padding:.25rem .8rem}.err{color:#a00}\
.note{background:#f4f4f4;padding:.5rem 1rem}code{font-size:.9em}\
.state{padding:.05rem .4rem;border-radius:.3rem}.st-affected .state{background:#fde2e1;color:#8a1111;font-weight:600}\
.st-unreachable .state{background:#e3f4e8;color:#05622b}.st-not-affected .state{background:#eef6f0;color:#1d5c33}\
.st-fixed .state{background:#e6eefb;color:#123f8c}.st-investigating .state{background:#fff4d6;color:#6b4a00}\
.overdue{background:#fde2e1;color:#8a1111;font-weight:600;padding:.05rem .4rem;border-radius:.3rem}textarea{font:inherit;width:100%}";

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
