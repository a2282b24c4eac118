//! Evident: a customer portal for SBOM evidence, with a per-tenant
//! transparency log.
//!
//! This crate is the HTTP server (axum), tenancy and tokens, and the command
//! line. The Merkle log lives in `evident-log`; every format that a verifier
//! must read lives in `evident-verify`. [`app`] builds the router so tests can
//! drive it with `oneshot` and no socket.

pub mod auth;
pub mod bench;
pub mod cli;
pub mod customers;
pub mod demo;
pub mod downloads;
pub mod error;
pub mod events;
pub mod evidence;
pub mod keys;
pub mod limits;
pub mod log_api;
pub mod log_keys;
pub mod metrics;
pub mod oidc;
pub mod ops;
pub mod push;
pub mod releases;
pub mod schema;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod signing;
pub mod state;
pub mod tenants;
pub mod timestamps;
pub mod tsa;
pub mod web;

use axum::{
    extract::{DefaultBodyLimit, Path, Request, State},
    handler::Handler,
    http::header,
    middleware::{from_fn_with_state, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{delete, get, post, MethodRouter},
    Router,
};

pub use error::ApiError;
pub use state::AppState;

/// Request bodies larger than this are refused with 413 (release pushes
/// have their own, configurable limit).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Default limit of a release push body: 64 MiB.
pub const DEFAULT_PUSH_BODY_BYTES: usize = 64 << 20;

/// The HTTP API.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/whoami", get(tenants::whoami))
        .route(
            "/tenants",
            post(tenants::create_tenant).get(tenants::list_tenants),
        )
        .route(
            "/tenants/{tenant}/tokens",
            post(tenants::create_token).get(tenants::list_tokens),
        )
        .route(
            "/tenants/{tenant}/tokens/{id}",
            delete(tenants::revoke_token),
        )
        .route(
            "/tenants/{tenant}/admin-tokens",
            post(tenants::operator_admin_token),
        )
        .route("/tenants/{tenant}/log/checkpoint", get(log_api::checkpoint))
        .route("/tenants/{tenant}/log/key", get(log_api::key))
        .route("/tenants/{tenant}/log/keys", get(log_api::keys))
        .route(
            "/tenants/{tenant}/log/key/rotate",
            post(log_api::rotate_key),
        )
        .route(
            "/tenants/{tenant}/log/checkpoint.tsr",
            get(log_api::checkpoint_token),
        )
        .route(
            "/tenants/{tenant}/log/proof/inclusion",
            get(log_api::inclusion),
        )
        .route(
            "/tenants/{tenant}/log/proof/consistency",
            get(log_api::consistency),
        )
        .route("/tenants/{tenant}/log/entries", get(log_api::entries))
        .route(
            "/tenants/{tenant}/releases",
            post(releases::push_handler).layer(DefaultBodyLimit::max(state.push_body_limit())),
        )
        .route("/tenants/{tenant}/products", get(releases::products))
        .route(
            "/tenants/{tenant}/customers",
            post(customers::create).get(customers::list),
        )
        .route(
            "/tenants/{tenant}/customers/{id}",
            get(customers::get).delete(customers::delete),
        )
        .route(
            "/tenants/{tenant}/customers/{id}/entitlements",
            axum::routing::put(customers::set_entitlements),
        )
        .route(
            "/tenants/{tenant}/customers/{id}/sso",
            post(customers::add_binding),
        )
        .route(
            "/tenants/{tenant}/customers/{id}/sso/{binding}",
            delete(customers::remove_binding),
        )
        .route(
            "/tenants/{tenant}/customers/{id}/tokens",
            post(customers::create_token).get(customers::list_tokens),
        )
        .route("/tenants/{tenant}/entitled", get(customers::entitled))
        .route(
            "/tenants/{tenant}/receipts/{index}",
            get(downloads::receipt),
        )
        .route(
            "/tenants/{tenant}/settings",
            get(settings::get).put(settings::put),
        )
        .route("/tenants/{tenant}/keys", get(signing::list_keys))
        .route("/tenants/{tenant}/keys/rotate", post(signing::rotate))
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/{file}",
            download(evidence::file),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases",
            get(releases::list),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}",
            get(releases::get_release),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/sbom",
            download(evidence::export),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/sbom/original",
            download(releases::original),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/notice",
            download(releases::notice),
        );
    Router::new()
        .nest("/api/v1", api)
        .route("/tlog/{tenant}/checkpoint", get(log_api::tlog_checkpoint))
        .route("/tlog/{tenant}/tile/{*path}", get(log_api::tlog_tile))
        .route("/t/{tenant}/", get(web::home))
        .route(
            "/t/{tenant}",
            get(|Path(t): Path<String>| async move { Redirect::to(&format!("/t/{t}/")) }),
        )
        .route(
            "/t/{tenant}/login",
            get(oidc::login).route_layer(from_fn_with_state(state.clone(), limit_sign_in)),
        )
        .route(
            "/t/{tenant}/callback",
            get(oidc::callback).route_layer(from_fn_with_state(state.clone(), limit_sign_in)),
        )
        .route(
            "/t/{tenant}/token-login",
            post(web::token_login).route_layer(from_fn_with_state(state.clone(), limit_sign_in)),
        )
        .route("/t/{tenant}/logout", post(web::logout))
        .route("/t/{tenant}/releases/{product}/{tag}", get(web::release))
        .route("/t/{tenant}/admin", get(web::admin))
        .route("/t/{tenant}/admin/{*action}", post(web::admin_action))
        .route(
            "/tsa",
            post(tsa_reply).route_layer(from_fn_with_state(state.clone(), limit_tsa)),
        )
        .route("/tsa/certs", get(tsa_certs))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Counts a sign-in request (`/t/{tenant}/login|callback|token-login`)
/// against the per-address limit and, for a tenant that exists, the
/// per-tenant limit; 429 when over either.
async fn limit_sign_in(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = limits::client_addr(req.extensions());
    let tenant = req
        .uri()
        .path()
        .strip_prefix("/t/")
        .and_then(|r| r.split('/').next())
        .filter(|t| matches!(state.tenant(t), Ok(Some(_))))
        .map(str::to_owned);
    match state
        .limits()
        .check(limits::Anonymous::SignIn, addr, tenant.as_deref())
    {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Counts a `POST /tsa` against the per-address limit.
async fn limit_tsa(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = limits::client_addr(req.extensions());
    match state.limits().check(limits::Anonymous::Tsa, addr, None) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// A download route: GET only. axum would answer HEAD with the GET handler
/// and drop the body, which would log a download that was never sent.
fn download<H, T>(h: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(h).head(|| async {
        ApiError::MethodNotAllowed(
            "downloads answer GET only: each one is logged, so HEAD is not served".into(),
        )
    })
}

/// `POST /tsa`: RFC 3161 over HTTP (RFC 3161 §3.4). Unauthenticated, like
/// any public TSA; a request it cannot honour gets a signed-off rejection
/// status in a normal reply, as the RFC prescribes.
async fn tsa_reply(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.eq_ignore_ascii_case("application/timestamp-query") {
        return Err(ApiError::UnsupportedMediaType(
            "POST /tsa takes Content-Type: application/timestamp-query".into(),
        ));
    }
    let reply =
        tokio::task::spawn_blocking(move || state.tsa().builtin().map(|t| t.respond(&body)))
            .await
            .map_err(|e| ApiError::Internal(format!("TSA task failed: {e}")))?
            .ok_or_else(|| {
                ApiError::NotFound(
                "the built-in TSA is off: this server takes its timestamps from an external TSA"
                    .into(),
            )
            })?;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    ))
}

/// `GET /tsa/certs`: the certificates that verify this server's tokens, PEM:
/// the built-in TSA certificate and its root, or the external TSA's CA bundle.
async fn tsa_certs(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        state.tsa().chain_pem(),
    )
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// `GET /metrics` on the public listener: only with the bearer token given
/// by `--metrics-token` (otherwise 404; `--metrics-listen` serves it on a
/// separate, private listener instead).
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let Some(want) = state.metrics_token() else {
        return Err(ApiError::not_found());
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        got.as_bytes(),
        want.as_bytes(),
    )) {
        return Err(ApiError::Unauthorized(
            "/metrics needs the metrics bearer token".into(),
        ));
    }
    Ok(metrics_body(&state))
}

/// The OpenMetrics text of the server's metrics.
pub fn metrics_body(state: &AppState) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}
