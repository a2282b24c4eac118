//! Signing in and out of the portal: through the customer's SSO
//! (`service::oidc` does the protocol; this sets the cookies and renders
//! the pages), with an access token, and signing out.

use axum::{
    extract::{Form, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    core::{
        events::Subject,
        policy::{allow, Action, Resource},
        records::Session,
        records::SessionKind,
        Principal, Scope,
    },
    http::extract::{read_cookie, session, set_cookie, ClientAddr, SESSION_COOKIE},
    portal::pages::{binding_choice_page, error_page, failure, login_page},
    service::{
        identity::{self, ABSOLUTE},
        oidc::{self, CallbackQuery, LoginQuery, SignInStart, LOGIN_COOKIE, LOGIN_TTL},
        trail, AppState,
    },
};

/// `GET /t/{tenant}/login`: the sign-in page, or the redirect to the IdP.
pub async fn login(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<LoginQuery>,
) -> Response {
    match oidc::start(&state, &tenant, q).await {
        Ok(SignInStart::Page { notice }) => {
            let brand = crate::service::portal::brand(&state, &tenant)
                .ok()
                .flatten()
                .filter(|b| b.settings.visibility == crate::service::portal::Visibility::Public);
            login_page(&tenant, brand.as_ref(), notice)
        }
        Ok(SignInStart::Choose(list)) => binding_choice_page(&tenant, &list),
        Ok(SignInStart::Redirect { url, sealed }) => {
            // Nothing is stored: the pending login is the sealed cookie.
            let cookie = set_cookie(
                &state,
                LOGIN_COOKIE,
                &sealed,
                &format!("/t/{tenant}/"),
                Some(LOGIN_TTL),
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, url),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, "no-store".into()),
                ],
            )
                .into_response()
        }
        Err(e) => error_page("Sign-in failed", &e),
    }
}

/// `GET /t/{tenant}/callback`: the IdP's redirect. The sign-in cookie is
/// cleared whatever happens.
pub async fn callback(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let clear = set_cookie(&state, LOGIN_COOKIE, "", &format!("/t/{tenant}/"), Some(0));
    let sealed = read_cookie(&headers, LOGIN_COOKIE);
    let mut res = match oidc::finish(&state, &tenant, sealed.as_deref(), q).await {
        Ok(session) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, format!("/t/{tenant}/")),
                (
                    header::SET_COOKIE,
                    set_cookie(&state, SESSION_COOKIE, &session, "/", Some(ABSOLUTE)),
                ),
            ],
        )
            .into_response(),
        Err(e) => {
            tracing::info!(tenant, reason = %e, "sign-in refused");
            trail::sign_in_failed(&state, &tenant, "oidc", trail::oidc_reason(&e)).await;
            error_page("Sign-in failed", &e)
        }
    };
    if let Ok(v) = clear.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
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
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<TokenLogin>,
) -> Response {
    if let Err(e) = state.limits().check_auth_allowed(addr) {
        return crate::http::error::ApiError(e).into_response();
    }
    if !same_origin(&state, &headers) {
        return failure(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "This sign-in form was sent from another site. Sign in from this portal's own page \
             (if this is the portal, its --public-url is not the address you used).",
        );
    }
    let kind = match identity::authenticate(&state, f.token.trim()) {
        Ok(Principal::Customer {
            tenant: t,
            subject: Subject::Token { token_id },
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
        trail::sign_in_failed(&state, &tenant, "token", trail::BAD_TOKEN).await;
        return failure(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            "That token is not valid, has expired or was revoked.",
        );
    };
    let admin = matches!(kind, SessionKind::Admin { .. });
    match trail::begin_session(&state, &tenant, kind).await {
        Ok(value) => (
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
                (
                    header::SET_COOKIE,
                    set_cookie(&state, SESSION_COOKIE, &value, "/", Some(ABSOLUTE)),
                ),
            ],
        )
            .into_response(),
        Err(e) => error_page("Sign-in failed", &e),
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
    let Ok(Some(s)) = session(&state, &headers) else {
        return Redirect::to(&format!("/t/{tenant}/login")).into_response();
    };
    if !identity::csrf_ok(&s, &f.csrf) {
        return failure(
            StatusCode::FORBIDDEN,
            "Sign-out failed",
            "The form has expired; reload the page.",
        );
    }
    let ended = match read_cookie(&headers, SESSION_COOKIE) {
        Some(v) => trail::sign_out(&state, &v).await,
        None => Ok(()),
    };
    match ended {
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, format!("/t/{tenant}/login")),
                (
                    header::SET_COOKIE,
                    set_cookie(&state, SESSION_COOKIE, "", "/", Some(0)),
                ),
            ],
        )
            .into_response(),
        Err(e) => error_page("Sign-out failed", &e),
    }
}

/// [`signed_in`] for the admin pages: a principal that may not use them
/// gets the same 404 as a page that does not exist.
pub fn admin_signed_in(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
) -> Result<(Session, Principal), Box<Response>> {
    let (s, p) = signed_in(state, tenant, headers)?;
    if allow(&p, Action::AdminPortal, Resource::Tenant(tenant)).is_err() {
        return Err(Box::new(failure(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page.",
        )));
    }
    Ok((s, p))
}

/// The session of this tenant and the principal it stands for, or a
/// redirect to the sign-in page.
pub fn signed_in(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
) -> Result<(Session, Principal), Box<Response>> {
    let to_login = || Box::new(Redirect::to(&format!("/t/{tenant}/login")).into_response());
    let s = match session(state, headers) {
        Ok(Some(s)) if s.tenant == tenant => s,
        _ => return Err(to_login()),
    };
    match identity::session_principal(state, &s) {
        Ok(p) => Ok((s, p)),
        Err(_) => Err(to_login()),
    }
}
