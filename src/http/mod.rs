//! The JSON API over HTTP (axum). Handlers parse the request, call one
//! service function, and map its result: domain errors become HTTP answers
//! in exactly one place ([`error`]). Downloads are logged before the first
//! byte goes out ([`respond::deliver`]).

pub mod audit;
pub mod customers;
pub mod documents;
pub mod error;
pub mod extract;
pub mod log;
pub mod officers;
pub mod ops;
pub mod portal;
pub mod regulator;
pub mod releases;
pub mod respond;
pub mod share_links;
pub mod tenants;
pub mod vex;
pub mod witnesses;

use axum::{
    extract::{DefaultBodyLimit, Request, State},
    handler::Handler,
    middleware::{from_fn, from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put, MethodRouter},
    Router,
};

use crate::{
    core::Error,
    http::error::ApiError,
    service::{limits::Anonymous, AppState},
};

/// Request bodies larger than this are refused with 413 (release pushes
/// have their own, configurable limit).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Every API route: (method, path), as the router serves them and the
/// OpenAPI document lists them (a test checks the two agree).
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/whoami"),
    ("post", "/api/v1/tenants"),
    ("get", "/api/v1/tenants"),
    ("post", "/api/v1/tenants/{tenant}/tokens"),
    ("get", "/api/v1/tenants/{tenant}/tokens"),
    ("delete", "/api/v1/tenants/{tenant}/tokens/{id}"),
    ("post", "/api/v1/tenants/{tenant}/admin-tokens"),
    ("get", "/api/v1/tenants/{tenant}/log/checkpoint"),
    ("get", "/api/v1/tenants/{tenant}/log/checkpoint/cosigned"),
    ("post", "/api/v1/tenants/{tenant}/witnesses"),
    ("get", "/api/v1/tenants/{tenant}/witnesses"),
    ("delete", "/api/v1/tenants/{tenant}/witnesses/{id}"),
    ("post", "/api/v1/tenants/{tenant}/officers"),
    ("get", "/api/v1/tenants/{tenant}/officers"),
    ("delete", "/api/v1/tenants/{tenant}/officers/{id}"),
    ("post", "/api/v1/tenants/{tenant}/regulator-requests"),
    ("get", "/api/v1/tenants/{tenant}/regulator-requests"),
    ("get", "/api/v1/tenants/{tenant}/regulator-requests/{id}"),
    (
        "post",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/transitions",
    ),
    (
        "post",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/cover-note.html",
    ),
    (
        "post",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/signature",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/bundle",
    ),
    (
        "post",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/links",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/links",
    ),
    (
        "delete",
        "/api/v1/tenants/{tenant}/regulator-requests/{id}/links/{link}",
    ),
    ("get", "/r/{token}/bundle"),
    ("get", "/r/{token}/consistency"),
    ("get", "/api/v1/tenants/{tenant}/log/key"),
    ("get", "/api/v1/tenants/{tenant}/log/keys"),
    ("post", "/api/v1/tenants/{tenant}/log/key/rotate"),
    ("get", "/api/v1/tenants/{tenant}/log/checkpoint.tsr"),
    ("get", "/api/v1/tenants/{tenant}/log/proof/inclusion"),
    ("get", "/api/v1/tenants/{tenant}/log/proof/consistency"),
    ("get", "/api/v1/tenants/{tenant}/log/entries"),
    ("get", "/api/v1/tenants/{tenant}/audit/events"),
    ("get", "/api/v1/tenants/{tenant}/audit/stats"),
    ("get", "/api/v1/tenants/{tenant}/audit/unusual"),
    ("post", "/api/v1/tenants/{tenant}/releases"),
    ("get", "/api/v1/tenants/{tenant}/products"),
    ("get", "/api/v1/tenants/{tenant}/search"),
    ("post", "/api/v1/tenants/{tenant}/documents"),
    ("get", "/api/v1/tenants/{tenant}/documents"),
    ("get", "/api/v1/tenants/{tenant}/documents/{id}"),
    ("delete", "/api/v1/tenants/{tenant}/documents/{id}"),
    ("get", "/api/v1/tenants/{tenant}/documents/{id}/{file}"),
    ("post", "/api/v1/tenants/{tenant}/advisories"),
    ("get", "/api/v1/tenants/{tenant}/advisories"),
    ("get", "/api/v1/tenants/{tenant}/advisories/{id}"),
    ("post", "/api/v1/tenants/{tenant}/advisories/{id}/publish"),
    ("get", "/api/v1/tenants/{tenant}/advisories/{id}/{file}"),
    ("post", "/api/v1/tenants/{tenant}/customers"),
    ("get", "/api/v1/tenants/{tenant}/customers"),
    ("get", "/api/v1/tenants/{tenant}/customers/{id}"),
    ("delete", "/api/v1/tenants/{tenant}/customers/{id}"),
    (
        "put",
        "/api/v1/tenants/{tenant}/customers/{id}/entitlements",
    ),
    ("post", "/api/v1/tenants/{tenant}/customers/{id}/sso"),
    (
        "delete",
        "/api/v1/tenants/{tenant}/customers/{id}/sso/{binding}",
    ),
    ("post", "/api/v1/tenants/{tenant}/customers/{id}/tokens"),
    ("get", "/api/v1/tenants/{tenant}/customers/{id}/tokens"),
    ("get", "/api/v1/tenants/{tenant}/entitled"),
    ("get", "/api/v1/tenants/{tenant}/my-downloads"),
    ("get", "/api/v1/tenants/{tenant}/my-downloads/receipts"),
    ("get", "/api/v1/tenants/{tenant}/receipts/{index}"),
    ("get", "/api/v1/tenants/{tenant}/settings"),
    ("put", "/api/v1/tenants/{tenant}/settings"),
    ("get", "/api/v1/tenants/{tenant}/portal"),
    ("put", "/api/v1/tenants/{tenant}/portal"),
    ("put", "/api/v1/tenants/{tenant}/portal/logo"),
    ("delete", "/api/v1/tenants/{tenant}/portal/logo"),
    ("get", "/api/v1/tenants/{tenant}/keys"),
    ("post", "/api/v1/tenants/{tenant}/keys/rotate"),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases",
    ),
    ("get", "/api/v1/tenants/{tenant}/products/{product}/diff"),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/diff/{file}",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/sbom",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/sbom/original",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/notice",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/aggregate",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/aggregate/{file}",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/{file}",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex",
    ),
    (
        "post",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/history",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/proof",
    ),
    (
        "get",
        "/api/v1/tenants/{tenant}/products/{product}/releases/{tag}/vex/{file}",
    ),
    ("post", "/api/v1/tenants/{tenant}/share-links"),
    ("get", "/api/v1/tenants/{tenant}/share-links"),
    ("delete", "/api/v1/tenants/{tenant}/share-links/{id}"),
    ("get", "/api/v1/tenants/{tenant}/share-links/{id}/status"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/s/{token}/{file}"),
    ("get", "/s/{token}/receipts/{index}"),
    ("get", "/p/{tenant}/{product}/{tag}/{file}"),
    ("get", "/p/{tenant}/receipts/{index}"),
    ("get", "/p/{tenant}/documents/{id}"),
    ("get", "/tlog/{tenant}/checkpoint"),
    ("get", "/tlog/{tenant}/tile/{*path}"),
    ("post", "/tsa"),
    ("get", "/tsa/certs"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

/// The JSON API, the tiles, the TSA, health and metrics.
pub fn router(state: AppState) -> Router<AppState> {
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
        .route("/tenants/{tenant}/log/checkpoint", get(log::checkpoint))
        .route(
            "/tenants/{tenant}/log/checkpoint/cosigned",
            get(witnesses::cosigned),
        )
        .route(
            "/tenants/{tenant}/witnesses",
            post(witnesses::add).get(witnesses::list),
        )
        .route(
            "/tenants/{tenant}/witnesses/{id}",
            delete(witnesses::remove),
        )
        .route(
            "/tenants/{tenant}/officers",
            post(officers::register).get(officers::list),
        )
        .route("/tenants/{tenant}/officers/{id}", delete(officers::revoke))
        .route(
            "/tenants/{tenant}/regulator-requests",
            post(regulator::create).get(regulator::list),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}",
            get(regulator::get),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/transitions",
            post(regulator::transition),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/cover-note",
            post(regulator::prepare).get(regulator::cover_note),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/cover-note.html",
            get(regulator::cover_note_html),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/signature",
            post(regulator::sign),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/bundle",
            download(regulator::bundle),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/links",
            post(regulator::issue_link).get(regulator::list_links),
        )
        .route(
            "/tenants/{tenant}/regulator-requests/{id}/links/{link}",
            delete(regulator::revoke_link),
        )
        .route("/tenants/{tenant}/log/key", get(log::key))
        .route("/tenants/{tenant}/log/keys", get(log::keys))
        .route("/tenants/{tenant}/log/key/rotate", post(log::rotate_key))
        .route(
            "/tenants/{tenant}/log/checkpoint.tsr",
            get(log::checkpoint_token),
        )
        .route("/tenants/{tenant}/log/proof/inclusion", get(log::inclusion))
        .route(
            "/tenants/{tenant}/log/proof/consistency",
            get(log::consistency),
        )
        .route("/tenants/{tenant}/log/entries", get(log::entries))
        .route("/tenants/{tenant}/audit/events", get(audit::events))
        .route("/tenants/{tenant}/audit/stats", get(audit::stats))
        .route("/tenants/{tenant}/audit/unusual", get(audit::unusual))
        .route(
            "/tenants/{tenant}/releases",
            post(releases::push).layer(DefaultBodyLimit::max(state.push_body_limit())),
        )
        .route("/tenants/{tenant}/products", get(releases::products))
        .route("/tenants/{tenant}/search", get(releases::search))
        .route(
            "/tenants/{tenant}/documents",
            post(documents::publish)
                .get(documents::list)
                .layer(DefaultBodyLimit::max(
                    crate::core::documents::MAX_DOCUMENT_BYTES + 1,
                )),
        )
        .route(
            "/tenants/{tenant}/documents/{id}",
            download(documents::download).delete(documents::withdraw),
        )
        .route(
            "/tenants/{tenant}/documents/{id}/{file}",
            download(documents::file),
        )
        .route(
            "/tenants/{tenant}/advisories",
            post(documents::draft_advisory)
                .get(documents::list_advisories)
                .layer(DefaultBodyLimit::max(crate::service::vex::MAX_VEX_BYTES)),
        )
        .route(
            "/tenants/{tenant}/advisories/{id}",
            get(documents::get_advisory),
        )
        .route(
            "/tenants/{tenant}/advisories/{id}/publish",
            post(documents::publish_advisory),
        )
        .route(
            "/tenants/{tenant}/advisories/{id}/{file}",
            download(documents::advisory_file),
        )
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
            put(customers::set_entitlements),
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
            "/tenants/{tenant}/my-downloads",
            get(customers::own_downloads),
        )
        .route(
            "/tenants/{tenant}/my-downloads/receipts",
            download(customers::export_receipts),
        )
        .route("/tenants/{tenant}/receipts/{index}", get(releases::receipt))
        .route(
            "/tenants/{tenant}/settings",
            get(customers::get_settings).put(customers::put_settings),
        )
        .route(
            "/tenants/{tenant}/portal",
            get(portal::get_portal).put(portal::put_portal),
        )
        .route(
            "/tenants/{tenant}/portal/logo",
            put(portal::put_logo)
                .delete(portal::delete_logo)
                .layer(DefaultBodyLimit::max(
                    crate::core::portal::MAX_LOGO_BYTES + 1,
                )),
        )
        .route("/tenants/{tenant}/keys", get(customers::list_keys))
        .route("/tenants/{tenant}/keys/rotate", post(customers::rotate_key))
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/{file}",
            download(releases::file),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases",
            get(releases::list),
        )
        .route(
            "/tenants/{tenant}/products/{product}/diff",
            download(releases::diff),
        )
        .route(
            "/tenants/{tenant}/products/{product}/diff/{file}",
            download(releases::diff_file),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}",
            get(releases::get_release),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/sbom",
            download(releases::export),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/sbom/original",
            download(releases::original),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/notice",
            download(releases::notice),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/aggregate",
            download(releases::aggregate),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/aggregate/{file}",
            download(releases::aggregate_file),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/vex",
            download(vex::document)
                .post(vex::publish)
                .layer(DefaultBodyLimit::max(crate::service::vex::MAX_VEX_BYTES)),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/vex/history",
            get(vex::history),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/vex/proof",
            get(vex::proof),
        )
        .route(
            "/tenants/{tenant}/products/{product}/releases/{tag}/vex/{file}",
            download(vex::file),
        )
        .route(
            "/tenants/{tenant}/share-links",
            post(share_links::issue).get(share_links::list),
        )
        .route(
            "/tenants/{tenant}/share-links/{id}",
            delete(share_links::revoke),
        )
        .route(
            "/tenants/{tenant}/share-links/{id}/status",
            get(share_links::status),
        )
        .route("/openapi.json", get(crate::http::openapi::serve));
    let shared = Router::new()
        .route("/s/{token}/{file}", download(share_links::download))
        .route("/s/{token}/receipts/{index}", get(share_links::receipt))
        .route("/r/{token}/bundle", download(regulator::link_bundle))
        .route(
            "/r/{token}/consistency",
            download(regulator::link_consistency),
        )
        .route_layer(from_fn_with_state(state.clone(), share_links::limit))
        .route_layer(from_fn(share_links::private));
    Router::new()
        .nest("/api/v1", api)
        .merge(shared)
        .route(
            "/p/{tenant}/{product}/{tag}/{file}",
            download(portal::public_download),
        )
        .route("/p/{tenant}/receipts/{index}", get(portal::public_receipt))
        .route(
            "/p/{tenant}/documents/{id}",
            download(documents::public_download),
        )
        .route("/tlog/{tenant}/checkpoint", get(log::tlog_checkpoint))
        .route("/tlog/{tenant}/tile/{*path}", get(log::tlog_tile))
        .route(
            "/tsa",
            post(ops::tsa_reply).route_layer(from_fn_with_state(state.clone(), limit_tsa)),
        )
        .route("/tsa/certs", get(ops::tsa_certs))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
}

/// The whole answer of a route nothing matched.
pub async fn fallback() -> ApiError {
    Error::not_found().into()
}

/// The body limit of every route but pushes.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

/// Counts a `POST /tsa` against the per-address limit.
async fn limit_tsa(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let addr = extract::client_addr(req.extensions());
    match state.limits().check(Anonymous::Tsa, addr, None) {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError(e).into_response(),
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
        ApiError(Error::MethodNotAllowed(
            "downloads answer GET only: each one is logged, so HEAD is not served".into(),
        ))
    })
}

pub mod openapi;

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, http::StatusCode};
    use tower::ServiceExt;

    /// Every entry of [`super::API_ROUTES`] is a route of the router with
    /// that method: a request there never reaches the fallback (a teapot
    /// here) and never gets 405.
    #[tokio::test]
    async fn every_listed_route_is_routed() {
        let d = tempfile::tempdir().unwrap();
        let state = crate::app::Builder::new(d.path())
            .master_key_hex(&"77".repeat(32))
            .open()
            .unwrap()
            .state;
        let router = super::router(state.clone())
            .fallback(|| async { StatusCode::IM_A_TEAPOT })
            .with_state(state);
        for (method, path) in super::API_ROUTES {
            let uri = path
                .replace("{tenant}", "acme")
                .replace("{id}", "x")
                .replace("{binding}", "b")
                .replace("{index}", "1")
                .replace("{product}", "p")
                .replace("{tag}", "t")
                .replace("{file}", "verify.sh")
                .replace("{*path}", "0/000")
                .replace("{token}", "tok");
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let s = router.clone().oneshot(req).await.unwrap().status();
            assert_ne!(s, StatusCode::IM_A_TEAPOT, "{method} {path} is not routed");
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}
