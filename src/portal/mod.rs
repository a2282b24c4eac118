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

/// Every `/t/{tenant}/…` page of a portal that is off answers 404, the
/// sign-in included, before anything else looks at the request.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tenant = req
        .uri()
        .path()
        .strip_prefix("/t/")
        .map(|r| r.split('/').next().unwrap_or(""));
    match tenant.map(|t| service::portal::is_off(&state, t)) {
        Some(Ok(true)) => pages::not_found(),
        Some(Err(e)) => pages::error_page("The portal is unavailable", &e),
        _ => next.run(req).await,
    }
}

/// `GET /t/{tenant}/logo`: the portal's logo, for a public portal to
/// anyone, else to the tenant's signed-in users; 404 otherwise. Served
/// with a policy that lets an SVG run nothing even when opened directly.
async fn logo(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::http::{header, HeaderValue};
    let public = matches!(service::portal::brand(&state, &tenant),
        Ok(Some(b)) if b.settings.visibility == service::portal::Visibility::Public);
    if !public && signin::signed_in(&state, &tenant, &headers).is_err() {
        return pages::not_found();
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
