//! What a request carries: the caller ([`Principal`] from a bearer token,
//! or from the portal's session cookie on a same-origin read), the client
//! address (for rate limits), and cookies.

use std::net::IpAddr;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};

use crate::{
    core::{records::Session, Error, Principal},
    http::error::ApiError,
    service::{
        identity,
        limits::{Anonymous, NO_ADDRESS},
        AppState,
    },
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "evident_session";

/// The client address of a request: the TCP peer, when the server was
/// started with connection info, else [`NO_ADDRESS`].
pub fn client_addr(ext: &axum::http::Extensions) -> IpAddr {
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(NO_ADDRESS, |c| c.0.ip())
}

/// The client address of a request, as an extractor (never fails).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(&parts.extensions)))
    }
}

/// A cookie's value from the request headers.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` when the server
/// says so; `max_age` `Some(0)` deletes the cookie.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if state.secure_cookies() {
        c.push_str("; Secure");
    }
    c
}

/// The live session the request's cookie names, if any.
pub fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, Error> {
    match read_cookie(headers, SESSION_COOKIE) {
        Some(v) => identity::current_session(state, &v),
        None => Ok(None),
    }
}

/// Whether a cookie-authenticated request came from the portal itself: a
/// browser says so with `Sec-Fetch-Site: same-origin` (a link on a portal
/// page) or `none` (typed or bookmarked). Anything else, and a request that
/// does not say, is refused: another site must not make a signed-in
/// customer's browser append downloads to the log in their name.
fn same_site_navigation(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin" | "none")
    )
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
            // The portal's session cookie authenticates reads (its download
            // links); anything that changes state needs a bearer token.
            if matches!(parts.method, Method::GET | Method::HEAD) {
                if let Some(s) = session(state, &parts.headers)? {
                    if !same_site_navigation(&parts.headers) {
                        return Err(Error::Unauthorized(
                            "a portal session authenticates only links followed within the portal \
                             (Sec-Fetch-Site: same-origin); use a bearer token from elsewhere"
                                .into(),
                        )
                        .into());
                    }
                    return Ok(identity::session_principal(state, &s)?);
                }
            }
            return Err(
                Error::Unauthorized("missing Authorization: Bearer <token> header".into()).into(),
            );
        };
        // An address that used up its budget of failed authentications is
        // refused before its credentials are looked at.
        let addr = client_addr(&parts.extensions);
        state.limits().check_auth_allowed(addr)?;
        let value = header
            .to_str()
            .map_err(|_| Error::Unauthorized("the Authorization header is not ASCII".into()));
        let token = value.and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| {
                    Error::Unauthorized("the Authorization header is not a Bearer token".into())
                })
        });
        let r = token.and_then(|t| identity::authenticate(state, t.trim()));
        if let Err(Error::Unauthorized(_)) = &r {
            state.limits().auth_failed(addr);
        }
        let p = r?;
        // The path as the client sent it (routes under /api/v1 are nested,
        // and a nested router sees its own part only).
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |u| u.0.path())
            .to_owned();
        identity::note_admin_use(state, &p, parts.method.as_str(), &path).await?;
        Ok(p)
    }
}

/// The caller of a route a tenant may make public (`/tlog/{t}/…`): the
/// [`Principal`] of a request with an `Authorization` header, checked as
/// everywhere else; without one, anonymous (`None`), counted against the
/// per-address limit of anonymous log reads (429 over it). A session
/// cookie is not looked at: these routes serve monitors, not the portal.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Self(Some(
                Principal::from_request_parts(parts, state).await?,
            )));
        }
        state
            .limits()
            .check(Anonymous::PublicLog, client_addr(&parts.extensions), None)?;
        Ok(Self(None))
    }
}
