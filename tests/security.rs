//! Regression tests of the security review (docs/threat-model.md lists
//! each finding, its fix and its test), through `app()` with `oneshot`,
//! the real `evident-verify` binary, and a real OpenID Provider
//! (`oidc-provider`, tests/interop/oidc_idp.mjs) where discovery matters.
//!
//! - `a_receipt_of_one_tenant_never_verifies_under_another_tenant_s_key`:
//!   each tenant log has its own key; the forged receipt (signature line
//!   renamed to another tenant's key name and id) is refused by the library
//!   and by the binary, naming the mismatch;
//! - `a_log_moves_to_a_new_key_as_one_logged_verifiable_step`;
//! - `anonymous_sign_in_starts_store_nothing_and_call_the_idp_once`;
//! - `a_dead_idp_costs_one_call_per_interval_and_its_error_stays_private`;
//! - `anonymous_endpoints_and_failed_authentications_are_rate_limited`;
//! - `only_https_issuers_unless_the_operator_allows_loopback`;
//! - `pushes_of_one_tenant_do_not_wait_for_another_s_lock`;
//! - `concurrent_customer_edits_lose_no_update`;
//! - `a_cookie_download_from_another_site_is_refused_and_not_logged`;
//! - `the_sign_in_page_reveals_no_tenant_customer_or_issuer`;
//! - `concurrent_first_requests_get_the_same_timestamp`;
//! - `metrics_are_private_unless_a_token_is_set`;
//! - `the_model_cache_is_bounded_by_bytes`.

mod common;

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident::{
    app::{app, Builder},
    service::limits::LimitConfig,
    AppState,
};
use evident_verify::{
    note::{Note, NoteVerifier},
    receipt::{verify_receipt, Receipt},
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

struct Api {
    router: Router,
    state: AppState,
    op: String,
    _dir: tempfile::TempDir,
}

struct Call<'a> {
    method: &'a str,
    uri: &'a str,
    bearer: Option<&'a str>,
    body: Option<(&'a str, Vec<u8>)>,
    headers: Vec<(&'a str, String)>,
    from: Option<SocketAddr>,
}

impl<'a> Call<'a> {
    fn get(uri: &'a str) -> Self {
        Self {
            method: "GET",
            uri,
            bearer: None,
            body: None,
            headers: Vec::new(),
            from: None,
        }
    }
    fn bearer(mut self, t: &'a str) -> Self {
        self.bearer = Some(t);
        self
    }
    fn header(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
    fn from(mut self, a: &str) -> Self {
        self.from = Some(a.parse().unwrap());
        self
    }
    fn json(mut self, method: &'a str, v: Value) -> Self {
        self.method = method;
        self.body = Some(("application/json", serde_json::to_vec(&v).unwrap()));
        self
    }
    fn form(mut self, body: &str) -> Self {
        self.method = "POST";
        self.body = Some((
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        ));
        self
    }
}

impl Api {
    fn new(limits: LimitConfig, configure: impl FnOnce(Builder) -> Builder) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let started = configure(
            Builder::new(dir.path())
                .master_key_hex(&"66".repeat(32))
                .limits(limits),
        )
        .open()
        .unwrap();
        let op = started.operator_token.clone().unwrap();
        let state = started.state;
        Self {
            router: app(state.clone()),
            state,
            op,
            _dir: dir,
        }
    }

    async fn send(&self, c: Call<'_>) -> (StatusCode, Vec<u8>, HeaderMap) {
        let mut req = Request::builder().method(c.method).uri(c.uri);
        if let Some(t) = c.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in &c.headers {
            req = req.header(*k, v);
        }
        let mut req = match c.body {
            Some((ct, b)) => req.header(header::CONTENT_TYPE, ct).body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        if let Some(a) = c.from {
            req.extensions_mut().insert(ConnectInfo(a));
        }
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (s, h) = (res.status(), res.headers().clone());
        (
            s,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
            h,
        )
    }

    async fn json(&self, c: Call<'_>) -> (StatusCode, Value) {
        let (s, b, _) = self.send(c).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    /// A tenant: (admin token, push token, log verifier key).
    async fn tenant(&self, slug: &str) -> (String, String, String) {
        let (s, v) = self
            .json(
                Call::get("/api/v1/tenants")
                    .bearer(&self.op)
                    .json("POST", json!({"slug": slug, "name": slug})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
        let (_, p) = self
            .json(
                Call::get(&format!("/api/v1/tenants/{slug}/tokens"))
                    .bearer(&admin)
                    .json("POST", json!({"scope": "push"})),
            )
            .await;
        (
            admin,
            p["token"].as_str().unwrap().to_owned(),
            v["log_key"].as_str().unwrap().to_owned(),
        )
    }

    async fn push(&self, tenant: &str, push: &str, tag: &str) {
        let (s, v) = self
            .json(Call::get(&format!("/api/v1/tenants/{tenant}/releases")).bearer(push).json(
                "POST",
                json!({
                    "product": "shop", "tag": tag,
                    "artefacts": [{"name": "bin", "digest": format!("sha256:{}", hex::encode(Sha256::digest(tag)))}],
                    "sbom": {"content": STANDARD.encode(sbom()), "encoding": "base64"},
                }),
            ))
            .await;
        assert!(s.is_success(), "{v}");
    }

    /// A customer of `tenant` entitled to shop `v1.*`, with `sso`
    /// bindings; its id and an access token.
    async fn customer(&self, tenant: &str, admin: &str, sso: Value) -> (String, String) {
        let (s, c) = self
            .json(
                Call::get(&format!("/api/v1/tenants/{tenant}/customers"))
                    .bearer(admin)
                    .json(
                        "POST",
                        json!({"name": "Ann Corp", "entitlements": [{"product": "shop", "tag": "v1.*"}], "sso": sso}),
                    ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap().to_owned();
        let (s, t) = self
            .json(
                Call::get(&format!("/api/v1/tenants/{tenant}/customers/{id}/tokens"))
                    .bearer(admin)
                    .json("POST", json!({})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        (id, t["token"].as_str().unwrap().to_owned())
    }

    fn app_keys(&self) -> usize {
        self.state.store().app_scan(b"").unwrap().len()
    }
}

fn sbom() -> Vec<u8> {
    common::sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json")
}

fn loose() -> LimitConfig {
    LimitConfig {
        sign_in_per_address: 10_000,
        sign_in_per_tenant: 10_000,
        tsa_per_address: 10_000,
        auth_failures_per_address: 10_000,
        share_per_address: 10_000,
        share_per_link: 10_000,
        public_log_per_address: 10_000,
        public_per_address: 10_000,
        public_per_tenant: 10_000,
    }
}

const EXPORT: &str =
    "/api/v1/tenants/acme/products/shop/releases/v1.0.0/sbom?format=cyclonedx-json";

/// Downloads the export as `token` and returns its receipt.
async fn download_receipt(api: &Api, token: &str) -> Receipt {
    let (s, _, h) = api.send(Call::get(EXPORT).bearer(token)).await;
    assert_eq!(s, StatusCode::OK);
    let index: u64 = h["x-evident-log-index"].to_str().unwrap().parse().unwrap();
    let (s, b, _) = api
        .send(Call::get(&format!("/api/v1/tenants/acme/receipts/{index}")).bearer(token))
        .await;
    assert_eq!(s, StatusCode::OK);
    serde_json::from_slice(&b).unwrap()
}

/// The forgery of the review: the receipt's checkpoint signature line
/// renamed to `other`'s key name and key id, the signature bytes kept.
fn forge(r: &Receipt, other: &NoteVerifier) -> Receipt {
    let n = Note::parse(&r.checkpoint).unwrap();
    let mut raw = other.key_id().to_be_bytes().to_vec();
    raw.extend_from_slice(&n.signatures[0].signature);
    let mut f = r.clone();
    f.checkpoint = format!(
        "{}\n\u{2014} {} {}\n",
        n.text,
        other.name(),
        STANDARD.encode(raw)
    );
    f
}

#[tokio::test]
async fn a_receipt_of_one_tenant_never_verifies_under_another_tenant_s_key() {
    let api = Api::new(loose(), |s| s);
    let (admin, push, acme_key) = api.tenant("acme").await;
    let (_, _, globex_key) = api.tenant("globex").await;
    assert_ne!(
        NoteVerifier::parse(&acme_key).unwrap().key(),
        NoteVerifier::parse(&globex_key).unwrap().key(),
        "each tenant log has its own key"
    );
    api.push("acme", &push, "v1.0.0").await;
    let (_, ann) = api.customer("acme", &admin, json!([])).await;
    let receipt = download_receipt(&api, &ann).await;
    let acme = NoteVerifier::parse(&acme_key).unwrap();
    let globex = NoteVerifier::parse(&globex_key).unwrap();
    verify_receipt(&receipt, &acme, None, None).unwrap();
    let forged = forge(&receipt, &globex);
    // The library refuses it and names the mismatch.
    let e = verify_receipt(&forged, &globex, None, None).unwrap_err();
    assert!(
        e.contains("evident.test/acme") && e.contains("evident.test/globex"),
        "{e}"
    );
    // So does the binary.
    let d = tempfile::tempdir().unwrap();
    let rf = common::write(
        d.path(),
        "forged.json",
        serde_json::to_vec(&forged).unwrap(),
    );
    let (ok, out, err) = common::verify(&["receipt", &rf, "--log-key", &globex_key]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("is not the name of the log key") && err.contains("evident.test/acme"),
        "{err}"
    );
    // The published key is the one the log signs with.
    let (s, b, _) = api
        .send(Call::get("/api/v1/tenants/acme/log/key").bearer(&admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(String::from_utf8(b).unwrap().trim(), acme_key);
}

#[tokio::test]
async fn a_log_moves_to_a_new_key_as_one_logged_verifiable_step() {
    let api = Api::new(loose(), |s| s);
    let (admin, push, old_key) = api.tenant("acme").await;
    api.push("acme", &push, "v1.0.0").await;
    let (_, ann) = api.customer("acme", &admin, json!([])).await;
    let before = download_receipt(&api, &ann).await;
    // Only the operator and the tenant's admin may move the log.
    let (s, _) = api
        .json(
            Call::get("/api/v1/tenants/acme/log/key/rotate")
                .bearer(&push)
                .json("POST", json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = api
        .json(
            Call::get("/api/v1/tenants/acme/log/key/rotate")
                .bearer(&api.op)
                .json("POST", json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let old = NoteVerifier::parse(&old_key).unwrap();
    let new_key = r["new_log_key"].as_str().unwrap().to_owned();
    let new = NoteVerifier::parse(&new_key).unwrap();
    assert_eq!(r["old_log_key"], old_key.as_str());
    // The statement verifies against the old key and hands over to the new.
    let st = evident_verify::rotation::verify(r["statement"].as_str().unwrap(), &old).unwrap();
    assert_eq!(st.new, new);
    assert_eq!(st.size, r["log_index"].as_u64().unwrap());
    let d = tempfile::tempdir().unwrap();
    let sf = common::write(d.path(), "statement", r["statement"].as_str().unwrap());
    let (ok, out, err) = common::verify(&["log-key-rotation", &sf, "--old-key", &old_key]);
    assert!(ok && out.contains(&new_key), "{out}{err}");
    let (ok, _, _) = common::verify(&["log-key-rotation", &sf, "--old-key", &new_key]);
    assert!(
        !ok,
        "the statement does not verify against the new key as the old"
    );
    // The checkpoint that covers the move is the old key's, and the move
    // is in it.
    let cp =
        evident_verify::checkpoint::open_checkpoint(r["checkpoint"].as_str().unwrap(), &old, None)
            .unwrap();
    assert_eq!(cp.size, st.size + 1);
    // Receipts from before still verify with the old key; new ones with the
    // new key only.
    verify_receipt(&before, &old, None, None).unwrap();
    let after = download_receipt(&api, &ann).await;
    verify_receipt(&after, &new, None, None).unwrap();
    assert!(verify_receipt(&after, &old, None, None).is_err());
    let entry: Value = serde_json::from_str(&{
        let (_, v) = api
            .json(
                Call::get(&format!(
                    "/api/v1/tenants/acme/log/entries?start={}&end={}",
                    st.size,
                    st.size + 1
                ))
                .bearer(&admin),
            )
            .await;
        v["entries"][0]["event"].to_string()
    })
    .unwrap();
    assert_eq!(entry["event"]["kind"], "log_key_rotated");
    assert_eq!(entry["event"]["new_log_key"], new_key.as_str());
    // The published history names both keys and where each signs.
    let (_, h) = api
        .json(Call::get("/api/v1/tenants/acme/log/keys").bearer(&admin))
        .await;
    assert_eq!(h["current"], new_key.as_str());
    let keys = h["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{h}");
    assert_eq!(keys[0]["until_size"].as_u64(), Some(st.size + 1));
    assert_eq!(keys[1]["from_size"].as_u64(), Some(st.size + 2));
    assert!(api.state.log("acme").unwrap().audit().unwrap().is_clean());
}

#[tokio::test]
async fn only_https_issuers_unless_the_operator_allows_loopback() {
    let strict = Api::new(loose(), |s| s);
    let (admin, _, _) = strict.tenant("acme").await;
    for issuer in [
        "http://127.0.0.1:9/",
        "http://idp.example/",
        "ftp://idp.example/",
    ] {
        let (s, v) = strict
            .json(Call::get("/api/v1/tenants/acme/customers").bearer(&admin).json(
                "POST",
                json!({"name": "X", "sso": [{"issuer": issuer, "client_id": "c", "client_secret": "s",
                    "rule": {"claim": "email", "op": "ends_with", "value": "@x.example"}}]}),
            ))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{issuer}: {v}");
    }
    let lax = Api::new(loose(), |s| s.http_idp_on_loopback(true));
    let (admin, _, _) = lax.tenant("acme").await;
    let (s, v) = lax
        .json(Call::get("/api/v1/tenants/acme/customers").bearer(&admin).json(
            "POST",
            json!({"name": "X", "sso": [{"issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s",
                "rule": {"claim": "email", "op": "ends_with", "value": "@x.example"}}]}),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = lax
        .json(Call::get("/api/v1/tenants/acme/customers").bearer(&admin).json(
            "POST",
            json!({"name": "Y", "sso": [{"issuer": "http://idp.example", "client_id": "c", "client_secret": "s",
                "rule": {"claim": "email", "op": "ends_with", "value": "@y.example"}}]}),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "loopback only");
}

#[tokio::test]
async fn anonymous_sign_in_starts_store_nothing_and_call_the_idp_once() {
    let api = Api::new(loose(), |s| s.http_idp_on_loopback(true));
    let (admin, _, _) = api.tenant("acme").await;
    let idp = common::Idp::start(
        "normal",
        json!([{"client_id": "acme-portal", "client_secret": "acme-portal-secret",
                "redirect_uris": ["http://127.0.0.1:8080/t/acme/callback"]}]),
    );
    api.customer(
        "acme",
        &admin,
        json!([{"issuer": idp.issuer, "client_id": "acme-portal", "client_secret": "acme-portal-secret",
                "rule": {"claim": "email", "op": "ends_with", "value": "@acme.example"}}]),
    )
    .await;
    let keys = api.app_keys();
    let calls = api.state.oidc().calls();
    for _ in 0..20 {
        let (s, _, h) = api
            .send(Call::get("/t/acme/login?email=ann@acme.example"))
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert!(h[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with(&idp.issuer));
        let cookie = h[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.starts_with("evident_login=") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    }
    assert_eq!(api.app_keys(), keys, "twenty sign-in starts stored nothing");
    assert_eq!(
        api.state.oidc().calls() - calls,
        1,
        "one discovery for twenty visitors"
    );
}

#[tokio::test]
async fn a_dead_idp_costs_one_call_per_interval_and_its_error_stays_private() {
    let api = Api::new(loose(), |s| s.http_idp_on_loopback(true));
    let (admin, _, _) = api.tenant("acme").await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    api.customer(
        "acme",
        &admin,
        json!([{"issuer": format!("http://127.0.0.1:{port}"), "client_id": "c", "client_secret": "s",
                "rule": {"claim": "email", "op": "ends_with", "value": "@dead.example"}}]),
    )
    .await;
    let calls = api.state.oidc().calls();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let router = api.router.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::get("/t/acme/login?email=x@dead.example")
                .body(Body::empty())
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let s = res.status();
            (s, res.into_body().collect().await.unwrap().to_bytes())
        }));
    }
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::BAD_GATEWAY);
        let text = String::from_utf8_lossy(&body).to_lowercase();
        for leak in [
            "refused",
            "127.0.0.1",
            "connect",
            "discovery",
            &port.to_string(),
        ] {
            assert!(!text.contains(leak), "the page says {leak:?}: {text}");
        }
    }
    assert_eq!(
        api.state.oidc().calls() - calls,
        1,
        "one call, then the backoff"
    );
}

#[tokio::test]
async fn anonymous_endpoints_and_failed_authentications_are_rate_limited() {
    let api = Api::new(
        LimitConfig {
            sign_in_per_address: 3,
            sign_in_per_tenant: 5,
            tsa_per_address: 2,
            auth_failures_per_address: 3,
            share_per_address: 3,
            share_per_link: 3,
            public_log_per_address: 3,
            ..loose()
        },
        |s| s,
    );
    let (admin, _, _) = api.tenant("acme").await;
    // Sign-in pages, per address.
    for _ in 0..3 {
        let (s, _, _) = api
            .send(Call::get("/t/acme/login").from("192.0.2.1:1000"))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, b, h) = api
        .send(Call::get("/t/acme/login").from("192.0.2.1:1001"))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        h[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["error"], "rate_limited");
    // Another address has its own budget, until the tenant's is spent.
    let (s, _, _) = api
        .send(Call::get("/t/acme/login").from("192.0.2.2:1"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = api
        .send(Call::get("/t/acme/callback?code=x&state=y").from("192.0.2.2:1"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = api
        .send(Call::get("/t/acme/login").from("192.0.2.3:1"))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the tenant's budget");
    // POST /tsa, per address.
    let tsq = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tsa/query.tsq"),
    )
    .ok();
    let body = tsq.unwrap_or_else(|| b"not a query".to_vec());
    for want in [None, None, Some(StatusCode::TOO_MANY_REQUESTS)] {
        let mut c = Call::get("/tsa").from("192.0.2.9:1");
        c.method = "POST";
        c.body = Some(("application/timestamp-query", body.clone()));
        let (s, _, _) = api.send(c).await;
        match want {
            Some(w) => assert_eq!(s, w),
            None => assert_ne!(s, StatusCode::TOO_MANY_REQUESTS),
        }
    }
    // Anonymous reads of the tiles, per address, counted whether or not the
    // log is public (a closed one answers 401 until the budget is spent);
    // a caller with a token is not counted against it.
    for want in [401, 401, 401, 429] {
        let (s, _, _) = api
            .send(Call::get("/tlog/acme/checkpoint").from("192.0.2.20:1"))
            .await;
        assert_eq!(s.as_u16(), want);
    }
    let (s, _, _) = api
        .send(
            Call::get("/tlog/acme/checkpoint")
                .bearer(&admin)
                .from("192.0.2.20:1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Failed bearer authentications: after the budget, even a valid token
    // from that address is refused without being checked.
    let bad = "evd_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for _ in 0..3 {
        let (s, _, _) = api
            .send(
                Call::get("/api/v1/whoami")
                    .bearer(bad)
                    .from("203.0.113.5:1"),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, _) = api
        .send(
            Call::get("/api/v1/whoami")
                .bearer(bad)
                .from("203.0.113.5:1"),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the fourth failure is counted");
    let (s, _, h) = api
        .send(
            Call::get("/api/v1/whoami")
                .bearer(&admin)
                .from("203.0.113.5:2"),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.contains_key(header::RETRY_AFTER));
    let (s, _, _) = api
        .send(
            Call::get("/api/v1/whoami")
                .bearer(&admin)
                .from("203.0.113.6:1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "other addresses are not affected");
    // The token sign-in form counts failures the same way.
    for _ in 0..4 {
        api.send(
            Call::get("/t/acme/token-login")
                .form("token=nope")
                .from("203.0.113.7:1"),
        )
        .await;
    }
    let (s, _, _) = api
        .send(
            Call::get("/t/acme/token-login")
                .form(&format!("token={admin}"))
                .from("203.0.113.7:1"),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_of_one_tenant_do_not_wait_for_another_s_lock() {
    let api = Api::new(loose(), |s| s);
    let (_, acme_push, _) = api.tenant("acme").await;
    let (_, globex_push, _) = api.tenant("globex").await;
    let held = api.state.tenant_lock("acme").await;
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        api.push("globex", &globex_push, "v1.0.0"),
    )
    .await
    .expect("globex's push does not wait for acme's lock");
    drop(held);
    api.push("acme", &acme_push, "v1.0.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_customer_edits_lose_no_update() {
    let api = Api::new(loose(), |s| s.http_idp_on_loopback(true));
    let (admin, _, _) = api.tenant("acme").await;
    let binding = json!({"issuer": "https://idp.example", "client_id": "c", "client_secret": "s",
        "rule": {"claim": "email", "op": "ends_with", "value": "@acme.example"}});
    let (id, _) = api.customer("acme", &admin, json!([binding])).await;
    for round in 0..25 {
        let (_, c) = api
            .json(Call::get(&format!("/api/v1/tenants/acme/customers/{id}")).bearer(&admin))
            .await;
        let b = c["sso"][0]["id"].as_str().unwrap().to_owned();
        let remove = format!("/api/v1/tenants/acme/customers/{id}/sso/{b}");
        let ents = format!("/api/v1/tenants/acme/customers/{id}/entitlements");
        let (r1, r2) = tokio::join!(
            api.json({
                let mut c = Call::get(&remove).bearer(&admin);
                c.method = "DELETE";
                c
            }),
            api.json(Call::get(&ents).bearer(&admin).json(
                "PUT",
                json!([{"product": "shop", "tag": format!("v{round}.*")}])
            )),
        );
        assert_eq!(r1.0, StatusCode::OK, "{}", r1.1);
        assert_eq!(r2.0, StatusCode::OK, "{}", r2.1);
        let (_, c) = api
            .json(Call::get(&format!("/api/v1/tenants/acme/customers/{id}")).bearer(&admin))
            .await;
        assert!(
            c["sso"].as_array().unwrap().is_empty(),
            "round {round}: the removed binding came back: {c}"
        );
        assert_eq!(c["entitlements"][0]["tag"], format!("v{round}.*"));
        let (s, _) = api
            .json(
                Call::get(&format!("/api/v1/tenants/acme/customers/{id}/sso"))
                    .bearer(&admin)
                    .json("POST", binding.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
}

fn session_cookie(h: &HeaderMap) -> String {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("evident_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .expect("a session cookie")
}

#[tokio::test]
async fn a_cookie_download_from_another_site_is_refused_and_not_logged() {
    let api = Api::new(loose(), |s| s);
    let (admin, push, _) = api.tenant("acme").await;
    api.push("acme", &push, "v1.0.0").await;
    let (_, ann) = api.customer("acme", &admin, json!([])).await;
    let (s, _, h) = api
        .send(Call::get("/t/acme/token-login").form(&format!("token={ann}")))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = format!("evident_session={}", session_cookie(&h));
    let size = api.state.log("acme").unwrap().size();
    for site in [Some("cross-site"), Some("same-site"), None] {
        let mut c = Call::get(EXPORT).header("cookie", cookie.clone());
        if let Some(v) = site {
            c = c.header("sec-fetch-site", v);
        }
        let (s, _, _) = api.send(c).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{site:?}");
    }
    assert_eq!(
        api.state.log("acme").unwrap().size(),
        size,
        "nothing logged"
    );
    for site in ["same-origin", "none"] {
        let (s, _, _) = api
            .send(
                Call::get(EXPORT)
                    .header("cookie", cookie.clone())
                    .header("sec-fetch-site", site),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{site}");
    }
    // Bearer downloads need no such header.
    let (s, _, _) = api.send(Call::get(EXPORT).bearer(&ann)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_sign_in_page_reveals_no_tenant_customer_or_issuer() {
    let api = Api::new(loose(), |s| s);
    let (admin, _, _) = api.tenant("acme").await;
    api.customer(
        "acme",
        &admin,
        json!([{"issuer": "https://login.acme.example", "client_id": "secret-client-id", "client_secret": "s",
                "rule": {"claim": "email", "op": "ends_with", "value": "@acme.example"}}]),
    )
    .await;
    let page = |uri: String| {
        let api = &api;
        async move {
            let (s, b, _) = api.send(Call::get(&uri)).await;
            (s, String::from_utf8(b).unwrap())
        }
    };
    let (s1, real) = page("/t/acme/login?email=x@nobody.example".into()).await;
    let (s2, unknown) = page("/t/no-such-tenant/login?email=x@nobody.example".into()).await;
    let (s3, bad_binding) = page("/t/acme/login?binding=0011.2233".into()).await;
    assert_eq!(
        (s1, s2, s3),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(real, unknown.replace("no-such-tenant", "acme"));
    assert_eq!(real, bad_binding);
    for leak in ["Ann Corp", "login.acme.example", "secret-client-id"] {
        assert!(!real.contains(leak), "{leak}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_get_the_same_timestamp() {
    let api = Api::new(loose(), |s| s);
    let (admin, push, _) = api.tenant("acme").await;
    api.push("acme", &push, "v1.0.0").await;
    let uri = "/api/v1/tenants/acme/products/shop/releases/v1.0.0/sbom.sig.tsr?format=spdx-json";
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (router, admin) = (api.router.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let req = Request::get(uri)
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.into_body().collect().await.unwrap().to_bytes()
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert!(
        got.windows(2).all(|w| w[0] == w[1]),
        "every first request got the kept token"
    );
    let (_, again, _) = api.send(Call::get(uri).bearer(&admin)).await;
    assert_eq!(again, got[0].to_vec());
}

#[tokio::test]
async fn metrics_are_private_unless_a_token_is_set() {
    let off = Api::new(loose(), |s| s);
    let (s, _, _) = off.send(Call::get("/metrics")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let on = Api::new(loose(), |s| s.metrics_token(Some("m-token".into())));
    let (s, _, _) = on.send(Call::get("/metrics")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = on.send(Call::get("/metrics").bearer("wrong")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b, _) = on.send(Call::get("/metrics").bearer("m-token")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(b).unwrap().contains("# EOF"));
}

#[test]
fn the_model_cache_is_bounded_by_bytes() {
    let d = tempfile::tempdir().unwrap();
    let st = Builder::new(d.path())
        .master_key_hex(&"66".repeat(32))
        .model_cache_bytes(1 << 20)
        .open()
        .unwrap()
        .state;
    let m = std::sync::Arc::new(evident_sbom::ingest(&sbom()).unwrap().model);
    let len = m.to_json().len();
    assert!(
        len * 2 < 1 << 20,
        "the fixture fits the budget ({len} bytes)"
    );
    let fit = (1 << 20) / (len * 2);
    for i in 0..fit + 5 {
        st.caches().put_model(&format!("m{i}"), m.clone(), len);
        assert!(st.caches().model_bytes() <= 1 << 20);
    }
    assert!(st.caches().model("m0").is_none(), "the oldest went");
    assert!(st.caches().model(&format!("m{}", fit + 4)).is_some());
    // A model larger than the whole budget is not kept at all.
    st.caches().put_model("huge", m.clone(), 1 << 20);
    assert!(st.caches().model("huge").is_none());
}

/// A tenant as data from before each log had its own key looks: a tenant
/// record and a log signed by the platform's shared key, no log key rows.
/// It keeps verifying with that key, and moves to its own with the
/// rotation statement.
#[tokio::test]
async fn a_log_on_the_platform_key_keeps_verifying_and_moves_to_its_own() {
    let api = Api::new(loose(), |s| s);
    let st = &api.state;
    let origin = "evident.test/legacy";
    st.store().create_log("legacy", origin).unwrap();
    let log = st.store().open_log("legacy", &st.keys().log_key).unwrap();
    let ops = evident::store::Db::tenant_ops(&evident::core::records::TenantRecord {
        slug: "legacy".into(),
        name: "Legacy".into(),
        created_at: 0,
        origin: origin.into(),
    });
    log.append_with(b"{\"old\":\"entry\"}".to_vec(), ops)
        .await
        .unwrap();
    let platform = NoteVerifier::new(origin, st.keys().log_key.verifying_key()).unwrap();
    let old_cp = log.checkpoint().await.unwrap();
    evident_verify::checkpoint::open_checkpoint(&old_cp.note, &platform, None).unwrap();
    // Its admin works as for any tenant, and sees the platform key.
    let (s, t) = api
        .json(
            Call::get("/api/v1/tenants/legacy/admin-tokens")
                .bearer(&api.op)
                .json("POST", json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let admin = t["token"].as_str().unwrap();
    let (_, h) = api
        .json(Call::get("/api/v1/tenants/legacy/log/keys").bearer(admin))
        .await;
    assert_eq!(h["current"], platform.to_vkey().as_str());
    assert_eq!(h["keys"][0]["platform_key"], true);
    // The move.
    let (s, r) = api
        .json(
            Call::get("/api/v1/tenants/legacy/log/key/rotate")
                .bearer(&api.op)
                .json("POST", json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rot =
        evident_verify::rotation::verify(r["statement"].as_str().unwrap(), &platform).unwrap();
    let (_, cp) = api
        .json(Call::get("/api/v1/tenants/legacy/log/keys").bearer(admin))
        .await;
    assert_eq!(cp["current"], rot.new.to_vkey().as_str());
    // Old checkpoints still read (the log keeps the platform key in its
    // history) and verify with the platform key; new ones with the new key.
    let (s, b, _) = api
        .send(
            Call::get(&format!(
                "/api/v1/tenants/legacy/log/checkpoint?size={}",
                old_cp.size
            ))
            .bearer(admin),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    evident_verify::checkpoint::open_checkpoint(&String::from_utf8(b).unwrap(), &platform, None)
        .unwrap();
    // Something new in the log: the next checkpoint is the new key's.
    let (s, _) = api
        .json(
            Call::get("/api/v1/tenants/legacy/tokens")
                .bearer(admin)
                .json("POST", json!({"scope": "auditor"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b, _) = api
        .send(Call::get("/api/v1/tenants/legacy/log/checkpoint").bearer(admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    let latest = String::from_utf8(b).unwrap();
    evident_verify::checkpoint::open_checkpoint(&latest, &rot.new, None).unwrap();
    assert!(evident_verify::checkpoint::open_checkpoint(&latest, &platform, None).is_err());
}

/// Share links over the API: every lifetime bound (the minimum, the
/// maximum, one second over each, the default), a repeated revocation
/// (409), and the per-link and per-address limits of the anonymous `/s/`
/// routes (429 with `Retry-After`, and nothing appended for a refused
/// request).
#[tokio::test]
async fn share_link_bounds_and_anonymous_limits_over_the_api() {
    let api = Api::new(
        LimitConfig {
            share_per_address: 4,
            share_per_link: 2,
            public_log_per_address: 2,
            ..loose()
        },
        |s| s,
    );
    let (admin, push, _) = api.tenant("acme").await;
    api.push("acme", &push, "v1.0.0").await;
    let issue = |ttl: Option<i64>| {
        let mut body = json!({"product": "shop", "tag": "v1.0.0", "covers": ["cyclonedx-json"]});
        if let Some(t) = ttl {
            body["ttl_secs"] = json!(t);
        }
        Call::get("/api/v1/tenants/acme/share-links")
            .bearer(&admin)
            .json("POST", body)
    };
    for (ttl, want) in [
        (Some(86_399), StatusCode::UNPROCESSABLE_ENTITY),
        (Some(86_400), StatusCode::CREATED),
        (Some(2_592_000), StatusCode::CREATED),
        (Some(2_592_001), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, v) = api.json(issue(ttl)).await;
        assert_eq!(s, want, "ttl {ttl:?}: {v}");
        if s == StatusCode::UNPROCESSABLE_ENTITY {
            let m = v["message"].as_str().unwrap();
            assert!(m.contains("86400") && m.contains("2592000"), "{m}");
        }
    }
    let (s, v) = api.json(issue(None)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let expires = time::OffsetDateTime::parse(
        v["link"]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let created = time::OffsetDateTime::parse(
        v["link"]["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        (expires - created).whole_seconds(),
        7 * 86_400,
        "the default"
    );
    assert_eq!(
        v["link"]["max_uses"], 10_000,
        "no link appends without bound"
    );
    let url = v["url"].as_str().unwrap();
    let path = format!(
        "/s/{}/sbom?format=cyclonedx-json",
        url.rsplit_once("/s/").unwrap().1
    );
    let size = || api.state.log("acme").unwrap().size();
    // Per link: two downloads, then 429, and the refusal appends nothing.
    for _ in 0..2 {
        let (s, _, _) = api.send(Call::get(&path).from("192.0.2.9:1")).await;
        assert_eq!(s, StatusCode::OK);
    }
    let before = size();
    let (s, b, h) = api.send(Call::get(&path).from("192.0.2.10:1")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.contains_key(header::RETRY_AFTER));
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["error"],
        "rate_limited"
    );
    assert_eq!(size(), before);
    // Per address: unknown tokens too count against the address.
    for i in 0..2 {
        let (s, _, _) = api
            .send(Call::get(&format!("/s/{}/sbom", "x".repeat(43))).from("192.0.2.9:2"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{i}");
    }
    let (s, _, _) = api
        .send(Call::get(&format!("/s/{}/sbom", "y".repeat(43))).from("192.0.2.9:3"))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // A repeated revocation is 409.
    let id = v["link"]["id"].as_str().unwrap();
    let revoke = || {
        let mut c = Call::get("/api/v1/tenants/acme/share-links/x").bearer(&admin);
        c.method = "DELETE";
        c
    };
    let uri = format!("/api/v1/tenants/acme/share-links/{id}");
    let (s, v) = api
        .json(Call {
            uri: &uri,
            ..revoke()
        })
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api
        .json(Call {
            uri: &uri,
            ..revoke()
        })
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}
