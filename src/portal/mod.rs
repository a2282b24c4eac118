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
//!   tokens, share links (issue, list, revoke), and the share-link
//!   lifetimes;
//! - `/s/{token}`: a share link's page, no sign-in.
//!
//! Pages call services, never the JSON API's handlers, and render errors
//! with the same public messages as the API.

pub mod admin;
pub mod customer;
pub mod pages;
pub mod regulator;
pub mod share;
pub mod signin;
pub mod stats;
pub mod trail;

use axum::{
    extract::{Path, Request, State},
    middleware::{from_fn, from_fn_with_state, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};

use crate::{
    http::{error::ApiError, extract::client_addr},
    service::{self, limits::Anonymous, AppState},
};

/// The portal's routes.
pub fn router(state: AppState) -> Router<AppState> {
    let limited = || from_fn_with_state(state.clone(), limit_sign_in);
    Router::new()
        .route("/t/{tenant}/", get(customer::home))
        .route(
            "/t/{tenant}",
            get(|Path(t): Path<String>| async move { Redirect::to(&format!("/t/{t}/")) }),
        )
        .route(
            "/t/{tenant}/login",
            get(signin::login).route_layer(limited()),
        )
        .route(
            "/t/{tenant}/callback",
            get(signin::callback).route_layer(limited()),
        )
        .route(
            "/t/{tenant}/token-login",
            post(signin::token_login).route_layer(limited()),
        )
        .route("/t/{tenant}/logout", post(signin::logout))
        .route(
            "/t/{tenant}/releases/{product}/{tag}",
            get(customer::release),
        )
        .route(
            "/s/{token}",
            get(share::page_of)
                .route_layer(from_fn_with_state(
                    state.clone(),
                    crate::http::share_links::limit,
                ))
                .route_layer(from_fn(crate::http::share_links::private)),
        )
        .route("/t/{tenant}/logo", get(logo))
        .route("/t/{tenant}/downloads", get(customer::downloads_page))
        .route("/t/{tenant}/search", get(customer::search_page))
        .route("/t/{tenant}/documents", get(customer::documents_page))
        .route("/t/{tenant}/advisories", get(customer::advisories_page))
        .route("/t/{tenant}/advisories/{id}", get(customer::advisory_page))
        .route(
            "/t/{tenant}/admin/documents",
            post(admin::publish_document).layer(axum::extract::DefaultBodyLimit::max(
                crate::core::documents::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/t/{tenant}/products/{product}/diff",
            get(customer::diff_page),
        )
        .route("/t/{tenant}/admin", get(admin::admin))
        .route("/t/{tenant}/admin/releases", get(admin::releases_page))
        .route("/t/{tenant}/admin/settings", get(admin::settings_page))
        .route(
            "/t/{tenant}/admin/portal/logo",
            post(admin::upload_logo).layer(axum::extract::DefaultBodyLimit::max(
                crate::core::portal::MAX_LOGO_BYTES + 16 * 1024,
            )),
        )
        .route("/t/{tenant}/admin/stats", get(stats::stats_page))
        .route("/t/{tenant}/admin/audit", get(trail::trail_page))
        .route("/t/{tenant}/admin/regulator", get(regulator::list_page))
        .route(
            "/t/{tenant}/admin/regulator/{id}",
            get(regulator::request_page),
        )
        .route("/t/{tenant}/admin/{*action}", post(admin::admin_action))
        .layer(from_fn_with_state(state, gate))
}

/// The slug no tenant can have (slugs do not start with `-`): a portal
/// that is off answers as this one does.
const NOBODY: &str = "-";

/// Every `/t/{tenant}/…` request of a portal that is off is answered
/// exactly as the same request for a tenant that does not exist (the
/// neutral sign-in page, the redirect to it, the same failures): it is
/// routed again as [`NOBODY`], so no handler sees the real slug; a slug
/// with a percent sign (no slug has one) is 404, so no encoding gets past
/// this.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/t/") else {
        return next.run(req).await;
    };
    let (slug, tail) = rest
        .split_once('/')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    if slug.contains('%') {
        return pages::not_found();
    }
    match service::portal::is_off(&state, slug) {
        Ok(false) => next.run(req).await,
        Err(e) => pages::error_page("The portal is unavailable", &e),
        Ok(true) => {
            let slug = slug.to_owned();
            let mut as_nobody = format!("/t/{NOBODY}");
            if let Some(t) = tail {
                as_nobody.push('/');
                as_nobody.push_str(t);
            }
            if let Some(q) = req.uri().query() {
                as_nobody.push('?');
                as_nobody.push_str(q);
            }
            let Ok(uri) = as_nobody.parse::<axum::http::Uri>() else {
                return pages::not_found();
            };
            // A new request: the first routing's path parameters stay
            // behind; the client's address comes along.
            let (parts, body) = req.into_parts();
            let mut fresh = Request::new(body);
            *fresh.method_mut() = parts.method;
            *fresh.uri_mut() = uri;
            *fresh.headers_mut() = parts.headers;
            if let Some(c) = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            {
                fresh.extensions_mut().insert(*c);
            }
            let req = fresh;
            // Routed again, from the start, as the unknown slug (a layer
            // runs after routing: the first match named the real one).
            let _ = next;
            let inner = router(state.clone()).with_state(state.clone());
            let res = match tower::ServiceExt::oneshot(inner, req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            unnamed(res, &slug).await
        }
    }
}

/// An answer for [`NOBODY`] with `slug` put back where the path names it
/// (redirects, form actions), so it is byte for byte what an unknown
/// tenant `slug` gets.
async fn unnamed(res: Response, slug: &str) -> Response {
    use axum::http::{header, HeaderValue};
    let (mut parts, body) = res.into_parts();
    let from = format!("/t/{NOBODY}");
    let to = format!("/t/{slug}");
    if let Some(l) = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(v) = HeaderValue::from_str(&l.replacen(&from, &to, 1)) {
            parts.headers.insert(header::LOCATION, v);
        }
    }
    let Ok(bytes) = axum::body::to_bytes(body, 4 * 1024 * 1024).await else {
        return pages::not_found();
    };
    let text = String::from_utf8_lossy(&bytes).replace(&format!("{from}/"), &format!("{to}/"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

/// `GET /t/{tenant}/logo`: the portal's logo, for a public portal to
/// anyone, else to the tenant's signed-in users; 404 otherwise. Served
/// with a policy that lets an SVG run nothing even when opened directly.
async fn logo(
    State(state): State<AppState>,
    crate::http::extract::ClientAddr(addr): crate::http::extract::ClientAddr,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::http::{header, HeaderValue};
    let public = matches!(service::portal::brand(&state, &tenant),
        Ok(Some(b)) if b.settings.visibility == service::portal::Visibility::Public);
    let signed_in = signin::signed_in(&state, &tenant, &headers).is_ok();
    if !public && !signed_in {
        return pages::not_found();
    }
    if !signed_in {
        if let Err(e) = state.limits().check(Anonymous::Public, addr, Some(&tenant)) {
            return ApiError(e).into_response();
        }
    }
    match service::portal::logo(&state, &tenant) {
        Ok(Some((l, bytes))) => {
            let mut res = Response::new(axum::body::Body::from(bytes));
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&l.media_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if public {
                    "public, max-age=86400"
                } else {
                    "private, max-age=86400"
                }),
            );
            res
        }
        Ok(None) => pages::not_found(),
        Err(e) => pages::error_page("The portal is unavailable", &e),
    }
}

/// Counts a sign-in request (`/t/{tenant}/login|callback|token-login`)
/// against the per-address limit and, for a tenant that exists, the
/// per-tenant limit; 429 when over either.
async fn limit_sign_in(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = client_addr(req.extensions());
    let tenant = req
        .uri()
        .path()
        .strip_prefix("/t/")
        .and_then(|r| r.split('/').next())
        .filter(|t| matches!(state.tenant(t), Ok(Some(_))))
        .map(str::to_owned);
    match state
        .limits()
        .check(Anonymous::SignIn, addr, tenant.as_deref())
    {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError(e).into_response(),
    }
}
