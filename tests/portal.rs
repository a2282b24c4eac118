//! Customers, entitlements, logged downloads, receipts and isolation,
//! through `app() -> Router` with `oneshot`.
//!
//! Steps and what each expects:
//! 1. tenants `acme` and `globex`; `acme` has releases shop v1.0.0, v1.1.0,
//!    v2.0.0 and app 1.0; customers Ann (shop `v1.*`), Bob (shop `latest`),
//!    Nia (app `1.0`), each with an access token → 201;
//! 2. entitlements: Ann lists v1.1.0 and v1.0.0, Bob only v2.0.0 (latest) → 200;
//! 3. Ann downloads an export → 200, `X-Evident-Log-Index` and a receipt
//!    `Link`; the receipt verifies with evident-verify's code, and the log
//!    entry names Ann, her token and the digest of the bytes;
//! 4. a web session from Ann's token, then logout;
//! 5. the isolation matrix: every endpoint as anonymous, another tenant's
//!    admin, another customer, a customer not entitled to the tag, an
//!    expired token, a revoked token, and the session cookie after logout →
//!    never 200: 401 for bad credentials, 404 (or the sign-in redirect for
//!    pages) otherwise;
//! 6. a download whose log append fails is not served (503), and nothing
//!    already logged is lost.

use axum::{
    body::Body,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident::{
    app::{app, Builder},
    AppState,
};
use evident_verify::{note::NoteVerifier, receipt::Receipt};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

struct Api {
    router: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

enum Cred<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        cred: &Cred<'_>,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, Vec<u8>, HeaderMap) {
        self.call_with(method, uri, cred, body, &[]).await
    }

    /// [`Api::call`] with extra request headers.
    async fn call_with(
        &self,
        method: &str,
        uri: &str,
        cred: &Cred<'_>,
        body: Option<(&str, Vec<u8>)>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>, HeaderMap) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in extra {
            // `peer` is the client address (what axum's ConnectInfo gives
            // the server), not a header.
            if *k == "peer" {
                req = req.extension(axum::extract::ConnectInfo(
                    v.parse::<std::net::SocketAddr>().unwrap(),
                ));
            } else {
                req = req.header(*k, *v);
            }
        }
        match cred {
            Cred::None => {}
            Cred::Bearer(t) => req = req.header(header::AUTHORIZATION, format!("Bearer {t}")),
            // A browser following a portal link says so (Sec-Fetch-Site);
            // cookies authenticate nothing else.
            Cred::Cookie(c) => {
                req = req
                    .header(header::COOKIE, format!("evident_session={c}"))
                    .header("sec-fetch-site", "same-origin")
            }
        }
        let req = match body {
            Some((ct, b)) => req.header(header::CONTENT_TYPE, ct).body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (s, h) = (res.status(), res.headers().clone());
        (
            s,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
            h,
        )
    }

    async fn json(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, b, _) = self
            .call(
                method,
                uri,
                &Cred::Bearer(token),
                body.map(|b| ("application/json", serde_json::to_vec(&b).unwrap())),
            )
            .await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
}

fn cookie_of(h: &HeaderMap) -> Option<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("evident_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn customers_see_only_their_releases_and_every_download_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    // Step 4 binds an SSO issuer on loopback http.
    // The isolation matrix (step 5) makes hundreds of failed
    // authentications from one (absent) client address: let it, so each
    // answer is the 401 or 404 the step checks, not the rate limiter's 429.
    let started = Builder::new(dir.path())
        .master_key_hex(&"33".repeat(32))
        .http_idp_on_loopback(true)
        .limits(evident::service::limits::LimitConfig {
            auth_failures_per_address: 1_000_000,
            ..Default::default()
        })
        .open()
        .unwrap();
    let op = started.operator_token.clone().unwrap();
    let state = started.state;
    let api = Api {
        router: app(state.clone()),
        state,
        _dir: dir,
    };
    // 1.
    let mut admins = Vec::new();
    let mut vkey = String::new();
    for slug in ["acme", "globex"] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants",
                &op,
                Some(json!({"slug": slug, "name": slug})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        admins.push(v["admin_token"]["token"].as_str().unwrap().to_owned());
        if slug == "acme" {
            vkey = v["log_key"].as_str().unwrap().to_owned();
        }
    }
    let (admin, globex_admin) = (admins[0].clone(), admins[1].clone());
    let (_, p) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            &admin,
            Some(json!({"scope": "push"})),
        )
        .await;
    let push = p["token"].as_str().unwrap().to_owned();
    let (_, aud) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            &admin,
            Some(json!({"scope": "auditor"})),
        )
        .await;
    let auditor = aud["token"].as_str().unwrap().to_owned();
    let sbom = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json"),
    )
    .unwrap();
    for (product, tag) in [
        ("shop", "v1.0.0"),
        ("shop", "v1.1.0"),
        ("shop", "v2.0.0"),
        ("app", "1.0"),
    ] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants/acme/releases",
                &push,
                Some(json!({
                    "product": product, "tag": tag,
                    "artefacts": [{"name": "bin", "digest": format!("sha256:{}", hex::encode(Sha256::digest(tag)))}],
                    "sbom": {"content": STANDARD.encode(&sbom), "encoding": "base64"},
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let customer = |name: &'static str, product: &'static str, tag: &'static str| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let (s, c) = api
                .json(
                    "POST",
                    "/api/v1/tenants/acme/customers",
                    &admin,
                    Some(json!({"name": name, "entitlements": [{"product": product, "tag": tag}]})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
            let id = c["id"].as_str().unwrap().to_owned();
            let (s, t) = api
                .json(
                    "POST",
                    &format!("/api/v1/tenants/acme/customers/{id}/tokens"),
                    &admin,
                    Some(json!({"label": name})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{t}");
            (
                id,
                t["token"].as_str().unwrap().to_owned(),
                t["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (ann_id, ann, ann_token_id) = customer("Ann", "shop", "v1.*").await;
    let (_bob_id, bob, _) = customer("Bob", "shop", "latest").await;
    let (_nia_id, nia, _) = customer("Nia", "app", "1.0").await;
    // A bad entitlement or claim rule is a 422 naming it.
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/customers",
            &admin,
            Some(json!({"name": "Bad", "sso": [{"issuer": "http://idp.example", "client_id": "c",
                "client_secret": "s", "rule": {"claim": "email", "op": "ends_with", "value": "@x"}}]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("https://"), "{v}");

    // 2.
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/entitled", &ann, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let tags: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1.1.0", "v1.0.0"], "{v}");
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/entitled", &bob, None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        (v[0]["tag"].as_str(), v[0]["latest"].as_bool()),
        (Some("v2.0.0"), Some(true))
    );
    let (s, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases",
            &ann,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");

    // 3.
    let export = "/api/v1/tenants/acme/products/shop/releases/v1.0.0/sbom?format=cyclonedx-json";
    let (s, bytes, h) = api.call("GET", export, &Cred::Bearer(&ann), None).await;
    assert_eq!(s, StatusCode::OK);
    let index: u64 = h["x-evident-log-index"].to_str().unwrap().parse().unwrap();
    let link = h[header::LINK].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!("</api/v1/tenants/acme/receipts/{index}>; rel=\"evident-receipt\"")
    );
    let receipt_uri = format!("/api/v1/tenants/acme/receipts/{index}");
    let (s, r) = api.json("GET", &receipt_uri, &ann, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let receipt: Receipt = serde_json::from_value(r).unwrap();
    let vk = NoteVerifier::parse(&vkey).unwrap();
    let checked = evident_verify::receipt::verify_receipt(
        &receipt,
        &vk,
        Some(&bytes),
        Some(&evident_verify::tsp::certs_from_pem(api.state.tsa().chain_pem().as_bytes()).unwrap()),
    )
    .unwrap();
    assert_eq!(checked.event["customer_id"], ann_id.as_str());
    assert_eq!(
        checked.event["subject"],
        json!({"type": "token", "token_id": ann_token_id})
    );
    assert_eq!(checked.event["artifact"], "export");
    let mut other = bytes.clone();
    other[0] ^= 1;
    let e = evident_verify::receipt::verify_receipt(&receipt, &vk, Some(&other), None).unwrap_err();
    assert!(e.starts_with("file digest"), "{e}");
    let (s, _) = api.json("GET", &receipt_uri, &admin, None).await;
    assert_eq!(s, StatusCode::OK, "admins read every receipt");
    let (s, _) = api.json("GET", &receipt_uri, &auditor, None).await;
    assert_eq!(s, StatusCode::OK, "auditors read every receipt");

    // 4.
    let form = || {
        Some((
            "application/x-www-form-urlencoded",
            format!("token={ann}").into_bytes(),
        ))
    };
    // A sign-in form posted from another site is refused (login CSRF).
    let (s, page, h) = api
        .call_with(
            "POST",
            "/t/acme/token-login",
            &Cred::None,
            form(),
            &[("origin", "https://attacker.example")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(cookie_of(&h).is_none(), "no session from a foreign form");
    assert!(String::from_utf8_lossy(&page).contains("another site"));
    // The portal's own origin (the default public URL here) signs in.
    let (s, _, h) = api
        .call_with(
            "POST",
            "/t/acme/token-login",
            &Cred::None,
            form(),
            &[("origin", "http://127.0.0.1:8080")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(cookie_of(&h).is_some());
    let (s, _, h) = api
        .call("POST", "/t/acme/token-login", &Cred::None, form())
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = cookie_of(&h).expect("a session cookie");
    let set = h[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let (s, page, _) = api
        .call("GET", "/t/acme/", &Cred::Cookie(&cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("v1.1.0") && page.contains("v1.0.0") && !page.contains("v2.0.0"),
        "{page}"
    );
    let (s, _, h) = api.call("GET", export, &Cred::Cookie(&cookie), None).await;
    assert_eq!(s, StatusCode::OK, "the session downloads");
    assert!(h.contains_key("x-evident-log-index"));
    // HEAD would log a download whose bytes were never sent: refused.
    let size = api.state.log("acme").unwrap().size();
    let (s, _, _) = api.call("HEAD", export, &Cred::Bearer(&ann), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        api.state.log("acme").unwrap().size(),
        size,
        "nothing logged"
    );

    // An OIDC session lasts only as long as the SSO binding it came through.
    let (s, c) = api
        .json(
            "POST",
            &format!("/api/v1/tenants/acme/customers/{ann_id}/sso"),
            &admin,
            Some(json!({"issuer": "http://127.0.0.1:9/idp", "client_id": "ann-portal",
                        "client_secret": "s3cret", "rule": {"claim": "email", "op": "ends_with", "value": "@ann.example"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let binding = c["sso"][0]["id"].as_str().unwrap().to_owned();
    let oidc_cookie = evident::service::trail::begin_session(
        &api.state,
        "acme",
        evident::core::records::SessionKind::Customer {
            customer: ann_id.clone(),
            binding: binding.clone(),
            issuer: "http://127.0.0.1:9/idp".into(),
            subject: "ann-1".into(),
            email: Some("ann@ann.example".into()),
        },
    )
    .await
    .unwrap();
    let (s, _, _) = api
        .call("GET", export, &Cred::Cookie(&oidc_cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK, "the OIDC session downloads");
    let (s, v) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/customers/{ann_id}/sso/{binding}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, _) = api
        .call("GET", export, &Cred::Cookie(&oidc_cookie), None)
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the binding is gone, so is the session"
    );
    // A POST through the API with only the cookie is refused.
    let (s, _, _) = api
        .call(
            "POST",
            "/api/v1/tenants/acme/keys/rotate",
            &Cred::Cookie(&cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let (s, _, _) = api
        .call(
            "POST",
            "/t/acme/logout",
            &Cred::Cookie(&cookie),
            Some(("application/x-www-form-urlencoded", b"csrf=wrong".to_vec())),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "logout checks the CSRF token");
    let (s, _, _) = api
        .call(
            "POST",
            "/t/acme/logout",
            &Cred::Cookie(&cookie),
            Some((
                "application/x-www-form-urlencoded",
                format!("csrf={csrf}").into_bytes(),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Expired and revoked customer tokens.
    let (_, t) = api
        .json(
            "POST",
            &format!("/api/v1/tenants/acme/customers/{ann_id}/tokens"),
            &admin,
            Some(json!({})),
        )
        .await;
    let revoked = t["token"].as_str().unwrap().to_owned();
    let (s, _) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/tokens/{}", t["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = api
        .json(
            "POST",
            &format!("/api/v1/tenants/acme/customers/{ann_id}/tokens"),
            &admin,
            Some(json!({"expires_in": 300})),
        )
        .await;
    let expired = t["token"].as_str().unwrap().to_owned();
    // Time passes: the record's expiry moves into the past.
    let id = t["id"].as_str().unwrap();
    let k = format!("token/{id}");
    let mut rec: Value =
        serde_json::from_slice(&api.state.store().app_get(k.as_bytes()).unwrap().unwrap()).unwrap();
    rec["expires_at"] = json!(1);
    api.state
        .store()
        .app_write(&[(
            k.as_bytes(),
            Some(serde_json::to_vec(&rec).unwrap().as_slice()),
        )])
        .unwrap();

    // The product list answers customers too, with only their own products.
    for (token, want) in [
        (&ann, json!(["shop"])),
        (&nia, json!(["app"])),
        (&admin, json!(["app", "shop"])),
    ] {
        let (s, v) = api
            .json("GET", "/api/v1/tenants/acme/products", token, None)
            .await;
        assert_eq!((s, &v), (StatusCode::OK, &want));
    }
    let (s, _) = api
        .json("GET", "/api/v1/tenants/acme/products", &globex_admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's admin");

    // 5. Every endpoint that holds something of acme's, or of Ann's.
    let r = "/api/v1/tenants/acme/products/shop/releases/v1.0.0";
    let endpoints: Vec<String> = [
        r.to_string(),
        format!("{r}/sbom?format=cyclonedx-json"),
        format!("{r}/sbom?format=cyclonedx-xml"),
        format!("{r}/sbom?format=spdx-json"),
        format!("{r}/sbom?format=spdx-tv"),
        format!("{r}/sbom/original"),
        format!("{r}/sbom.sig?format=spdx-json"),
        format!("{r}/sbom.sig.tsr?format=spdx-json"),
        format!("{r}/sbom.sigstore.json?format=spdx-json"),
        format!("{r}/sbom.intoto.sigstore.json?format=spdx-json"),
        format!("{r}/verify.sh?format=spdx-json"),
        format!("{r}/sbom-kit.tar.gz?format=spdx-json"),
        format!("{r}/notice?format=html"),
        "/api/v1/tenants/acme/products/shop/releases".into(),
        "/api/v1/tenants/acme/keys".into(),
        "/api/v1/tenants/acme/log/checkpoint".into(),
        "/api/v1/tenants/acme/log/key".into(),
        "/api/v1/tenants/acme/log/checkpoint.tsr".into(),
        "/api/v1/tenants/acme/log/entries?start=0&end=2".into(),
        "/api/v1/tenants/acme/log/proof/inclusion?index=0".into(),
        "/api/v1/tenants/acme/log/proof/consistency?old=1".into(),
        "/api/v1/tenants/acme/tokens".into(),
        "/api/v1/tenants/acme/customers".into(),
        format!("/api/v1/tenants/acme/customers/{ann_id}"),
        format!("/api/v1/tenants/acme/customers/{ann_id}/tokens"),
        "/api/v1/tenants/acme/settings".into(),
        receipt_uri.clone(),
        "/api/v1/tenants/acme/entitled".into(),
        "/tlog/acme/checkpoint".into(),
        "/tlog/acme/tile/entries/000.p/1".into(),
        "/t/acme/".into(),
        "/t/acme/releases/shop/v1.0.0".into(),
        "/t/acme/admin".into(),
    ]
    .into_iter()
    .collect();
    // Positive control: Ann herself reads her release's downloads.
    for e in endpoints.iter().filter(|e| e.starts_with(r)) {
        let want = if e.contains("/sbom/original") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        let (s, _, _) = api.call("GET", e, &Cred::Bearer(&ann), None).await;
        assert_eq!(s, want, "Ann on {e}");
    }
    let callers: Vec<(&str, Cred, &[StatusCode])> = vec![
        (
            "anonymous",
            Cred::None,
            &[StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER],
        ),
        (
            "globex admin",
            Cred::Bearer(&globex_admin),
            &[StatusCode::NOT_FOUND, StatusCode::SEE_OTHER],
        ),
        (
            "another customer (Bob)",
            Cred::Bearer(&bob),
            &[StatusCode::NOT_FOUND, StatusCode::SEE_OTHER],
        ),
        (
            "customer not entitled (Nia)",
            Cred::Bearer(&nia),
            &[StatusCode::NOT_FOUND, StatusCode::SEE_OTHER],
        ),
        (
            "expired token",
            Cred::Bearer(&expired),
            &[StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER],
        ),
        (
            "revoked token",
            Cred::Bearer(&revoked),
            &[StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER],
        ),
        (
            "session cookie after logout",
            Cred::Cookie(&cookie),
            &[StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER],
        ),
    ];
    let mut cases = 0;
    for (who, cred, allowed) in &callers {
        for e in &endpoints {
            let (s, body, _) = api.call("GET", e, cred, None).await;
            cases += 1;
            // A listing answers a customer with its own releases only: a 200
            // there is no leak as long as none of Ann's appears.
            let listing = e.ends_with("/releases") || e.ends_with("/entitled");
            if listing && s == StatusCode::OK {
                let text = String::from_utf8_lossy(&body);
                assert!(
                    !text.contains("\"v1.0.0\"") && !text.contains("\"v1.1.0\""),
                    "{who} on {e} sees Ann's releases: {text}"
                );
                continue;
            }
            // Pages answer with the sign-in redirect; the API with its status.
            let page = e.starts_with("/t/");
            let ok = if page {
                s == StatusCode::SEE_OTHER || s == StatusCode::NOT_FOUND
            } else {
                allowed.contains(&s) && s != StatusCode::SEE_OTHER
            };
            assert!(ok, "{who} on {e}: {s} {}", String::from_utf8_lossy(&body));
            assert_ne!(s, StatusCode::OK, "{who} on {e}");
            if !page && s.is_client_error() {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert!(
                    v["error"].is_string() && v["message"].is_string(),
                    "{who} on {e}: {v}"
                );
            }
        }
    }
    println!("isolation matrix: {cases} cases tried, no leaks");
    assert_eq!(cases, callers.len() * endpoints.len());

    // 6. A download whose append fails is not served.
    let size_before = api.state.log("acme").unwrap().size();
    api.state.store().fail_commits(true);
    let (s, body, h) = api.call("GET", export, &Cred::Bearer(&ann), None).await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(!h.contains_key("x-evident-log-index"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "unavailable", "{v}");
    assert!(
        !body.windows(9).any(|w| w == b"bomFormat"),
        "the export leaked"
    );
    api.state.store().fail_commits(false);
    // The log stays closed (a failed commit needs a restart and an audit),
    // and holds everything acknowledged before.
    let (s, _, _) = api.call("GET", export, &Cred::Bearer(&ann), None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.state.log("acme").unwrap().size(), size_before);
}

/// A PNG of one pixel, written by the `png` crate.
fn png_pixel() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, 1, 1);
        e.set_color(png::ColorType::Rgb);
        let mut w = e.write_header().unwrap();
        w.write_image_data(&[200, 30, 30]).unwrap();
    }
    out
}

/// The trust-center portal, through `app()`:
/// 1. settings: defaults, a bad value named (422), saved and logged;
/// 2. the logo: a scripted SVG, a GIF and an oversized file refused, a PNG
///    saved and logged, served only to the signed-in while private, with a
///    sandboxing policy;
/// 3. the frame: a customer's pages carry the name, the escaped
///    description, the contact and the navigation; a private portal's
///    sign-in page stays neutral and nothing is public;
/// 4. public: anyone sees and downloads what is marked public (logged,
///    anonymous subject, pseudonymous client, receipt for the same client
///    only), nothing else, within the per-address limit;
/// 5. off: every portal page and public download is 404, the API works;
/// 6. "My downloads": a customer's own downloads, its page, and their
///    export with receipts, which evident-verify's code checks.
#[tokio::test]
async fn the_portal_is_branded_switchable_public_and_lists_a_customers_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let started = Builder::new(dir.path())
        .master_key_hex(&"44".repeat(32))
        .limits(evident::service::limits::LimitConfig {
            public_per_address: 12,
            ..Default::default()
        })
        .open()
        .unwrap();
    let op = started.operator_token.clone().unwrap();
    let api = Api {
        router: app(started.state.clone()),
        state: started.state,
        _dir: dir,
    };
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants",
            &op,
            Some(json!({"slug": "acme", "name": "Acme Corp"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
    let vkey = NoteVerifier::parse(v["log_key"].as_str().unwrap()).unwrap();
    let (_, v) = api
        .json(
            "POST",
            "/api/v1/tenants",
            &op,
            Some(json!({"slug": "globex", "name": "Globex"})),
        )
        .await;
    let globex_admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
    let (_, p) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            &admin,
            Some(json!({"scope": "push"})),
        )
        .await;
    let push = p["token"].as_str().unwrap().to_owned();
    let sbom = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json"),
    )
    .unwrap();
    for tag in ["v1.0.0", "v2.0.0"] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants/acme/releases",
                &push,
                Some(json!({
                    "product": "shop", "tag": tag,
                    "artefacts": [{"name": "bin", "digest": format!("sha256:{}", hex::encode(Sha256::digest(tag)))}],
                    "sbom": {"content": STANDARD.encode(&sbom), "encoding": "base64"},
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let mut tokens = Vec::new();
    for (name, tag) in [("Ann", "v1.*"), ("Bob", "v2.0.0")] {
        let (_, c) = api
            .json(
                "POST",
                "/api/v1/tenants/acme/customers",
                &admin,
                Some(json!({"name": name, "entitlements": [{"product": "shop", "tag": tag}]})),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let (_, t) = api
            .json(
                "POST",
                &format!("/api/v1/tenants/acme/customers/{id}/tokens"),
                &admin,
                Some(json!({})),
            )
            .await;
        tokens.push((id, t["token"].as_str().unwrap().to_owned()));
    }
    let (ann_id, ann) = tokens[0].clone();
    let (_, bob) = tokens[1].clone();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let logged = |kinds: &'static str| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let (s, v) = api
                .json(
                    "GET",
                    &format!("/api/v1/tenants/acme/audit/events?kinds={kinds}"),
                    &admin,
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| serde_json::from_str::<Value>(e["entry"].as_str().unwrap()).unwrap())
                .collect::<Vec<_>>()
        }
    };

    // 1. Settings.
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/portal", &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["enabled"].clone(), v["visibility"].clone()),
        (json!(true), json!("private"))
    );
    let (s, _) = api
        .json("GET", "/api/v1/tenants/acme/portal", &ann, None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a customer does not see the settings"
    );
    let (s, _) = api
        .json("GET", "/api/v1/tenants/acme/portal", &globex_admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nor another tenant's admin");
    let mut settings = json!({
        "display_name": "Acme Secure",
        "description": "Our SBOMs.\n\n<script>alert(1)</script> is shown as text.",
        "contact_email": "psirt@acme.example",
        "accent_colour": "#0b6e4f",
        "visibility": "private",
        "public_releases": [{"product": "shop", "tag": "v1.*"}],
    });
    for (field, bad, says) in [
        ("accent_colour", json!("red"), "accent_colour"),
        ("contact_email", json!("x\"><script>@a.b"), "contact_email"),
        ("display_name", json!(" "), "display_name"),
        (
            "public_releases",
            json!([{"product": "sh/op", "tag": "v1"}]),
            "entitlement",
        ),
    ] {
        let mut b = settings.clone();
        b[field] = bad;
        let (s, v) = api
            .json("PUT", "/api/v1/tenants/acme/portal", &admin, Some(b))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(says),
            "{field}: {v}"
        );
    }
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/portal",
            &admin,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["display_name"], "Acme Secure");
    let ev = logged("portal_updated").await;
    assert_eq!(ev.len(), 1, "only the saved change is logged");
    assert_eq!(ev[0]["event"]["visibility"], "private");
    assert_eq!(ev[0]["event"]["public_releases"], json!(["shop:v1.*"]));
    assert_eq!(
        ev[0]["event"]["description_sha256"],
        hex::encode(Sha256::digest(settings["description"].as_str().unwrap()))
    );

    // 2. The logo.
    let put_logo = |ct: &'static str, body: Vec<u8>| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let (s, b, _) = api
                .call(
                    "PUT",
                    "/api/v1/tenants/acme/portal/logo",
                    &Cred::Bearer(&admin),
                    Some((ct, body)),
                )
                .await;
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    let (s, v) = put_logo(
        "image/svg+xml",
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("<script>"), "{v}");
    let (s, _) = put_logo("image/gif", b"GIF89a".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = put_logo("image/png", vec![0; 300 * 1024]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let png = png_pixel();
    let (s, v) = put_logo("image/png", png.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sha256"], hex::encode(Sha256::digest(&png)));
    let ev = logged("portal_logo_changed").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["event"]["sha256"], v["sha256"]);
    let (s, _, _) = api.call("GET", "/t/acme/logo", &Cred::None, None).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a private portal's logo is for the signed-in"
    );
    // Ann signs in on the web.
    let (s, _, h) = api
        .call(
            "POST",
            "/t/acme/token-login",
            &Cred::None,
            Some((
                "application/x-www-form-urlencoded",
                format!("token={ann}").into_bytes(),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let ann_cookie = cookie_of(&h).unwrap();
    let (s, b, h) = api
        .call("GET", "/t/acme/logo", &Cred::Cookie(&ann_cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, png);
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    assert!(h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // 3. The frame around a customer's pages; a private portal shows nothing.
    let (s, b, _) = api
        .call("GET", "/t/acme/", &Cred::Cookie(&ann_cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = text(&b);
    for want in [
        "Acme Secure",
        "&lt;script&gt;alert(1)&lt;/script&gt; is shown as text.",
        "mailto:psirt@acme.example",
        "--accent:#0b6e4f",
        "/t/acme/downloads",
        "aria-label=\"Breadcrumb\"",
        "/t/acme/logo?v=",
    ] {
        assert!(page.contains(want), "{want} missing from the home page");
    }
    assert!(
        !page.contains("<script>alert"),
        "the description is never HTML"
    );
    let (s, _, h) = api.call("GET", "/t/acme/", &Cred::None, None).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "private: sign in first");
    assert_eq!(h[header::LOCATION], "/t/acme/login");
    let (_, b, _) = api.call("GET", "/t/acme/login", &Cred::None, None).await;
    let (_, other, _) = api.call("GET", "/t/nobody/login", &Cred::None, None).await;
    assert_eq!(
        text(&b).replace("/t/acme/", "/t/X/"),
        text(&other).replace("/t/nobody/", "/t/X/"),
        "a private portal's sign-in page looks like any other slug's"
    );
    let peer = |a: &'static str| [("peer", a)];
    let (s, _, _) = api
        .call_with(
            "GET",
            "/p/acme/shop/v1.0.0/sbom",
            &Cred::None,
            None,
            &peer("192.0.2.10:1"),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a private portal has no public downloads"
    );

    // 4. Public. (VEX about v1.0.0 exists: it is for entitled customers.)
    let (s, v, _) = api
        .call(
            "POST",
            "/api/v1/tenants/acme/products/shop/releases/v1.0.0/vex",
            &Cred::Bearer(&push),
            Some((
                "application/json",
                serde_json::to_vec(&json!({"findings": [{"id": "CVE-2099-10001",
                    "component": {"purl": "pkg:cargo/rsa@0.9.10"}, "state": "affected",
                    "action": "Upgrade.", "timestamp": "2099-01-02T03:04:05Z"}]}))
                .unwrap(),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", text(&v));
    settings["visibility"] = json!("public");
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/portal",
            &admin,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, b, _) = api.call("GET", "/t/acme/", &Cred::None, None).await;
    assert_eq!(s, StatusCode::OK);
    let page = text(&b);
    assert!(page.contains("/t/acme/releases/shop/v1.0.0"), "{page}");
    assert!(!page.contains("v2.0.0"), "only what is marked public");
    let (_, b, _) = api.call("GET", "/t/acme/login", &Cred::None, None).await;
    assert!(
        text(&b).contains("Acme Secure"),
        "a public portal's sign-in is branded"
    );
    let (s, b, _) = api
        .call("GET", "/t/acme/releases/shop/v1.0.0", &Cred::None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&b).contains("/p/acme/shop/v1.0.0/sbom?format=spdx-json"));
    assert!(!text(&b).contains("/vex"), "no VEX for visitors");
    let (s, _, _) = api
        .call("GET", "/t/acme/releases/shop/v2.0.0", &Cred::None, None)
        .await;
    assert_eq!(
        s,
        StatusCode::SEE_OTHER,
        "a release not marked public needs a sign-in"
    );
    let (s, _, _) = api.call("GET", "/t/acme/logo", &Cred::None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body, h) = api
        .call_with(
            "GET",
            "/p/acme/shop/v1.0.0/sbom?format=cyclonedx-json",
            &Cred::None,
            None,
            &peer("192.0.2.10:1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", text(&body));
    assert!(
        !text(&body).contains("\"vulnerabilities\""),
        "the public export carries no VEX"
    );
    let index: u64 = h["x-evident-log-index"].to_str().unwrap().parse().unwrap();
    let link = h[header::LINK].to_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!("</p/acme/receipts/{index}>; rel=\"evident-receipt\"")
    );
    let (s, b, _) = api
        .call_with(
            "GET",
            &format!("/p/acme/receipts/{index}"),
            &Cred::None,
            None,
            &peer("192.0.2.10:2"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", text(&b));
    let r: Receipt = serde_json::from_slice(&b).unwrap();
    let verified = evident_verify::receipt::verify_receipt(&r, &vkey, Some(&body), None).unwrap();
    let subject = &verified.event["subject"];
    assert_eq!(subject["type"], "anonymous");
    let client = subject["client"].as_str().unwrap();
    assert_eq!(client.len(), 16, "64 bits, hex");
    assert!(
        !r.entry.contains("192.0.2"),
        "the address itself is never logged"
    );
    assert!(verified.event.get("customer_id").is_none());
    let (s, _, _) = api
        .call_with(
            "GET",
            &format!("/p/acme/receipts/{index}"),
            &Cred::None,
            None,
            &peer("198.51.100.7:1"),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another client gets no receipt");
    for path in [
        "/p/acme/shop/v2.0.0/sbom",
        "/p/acme/shop/v1.0.0/original",
        "/p/acme/shop/v1.0.0/vex",
        "/p/globex/shop/v1.0.0/sbom",
        "/p/nobody/shop/v1.0.0/sbom",
    ] {
        let (s, _, _) = api
            .call_with("GET", path, &Cred::None, None, &peer("192.0.2.10:3"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _, _) = api
        .call_with(
            "GET",
            "/p/acme/shop/v1.0.0/sbom-kit.tar.gz?format=spdx-json",
            &Cred::None,
            None,
            &peer("192.0.2.10:4"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let public: Vec<Value> = logged("download_served")
        .await
        .into_iter()
        .filter(|e| e["event"]["subject"]["type"] == "anonymous")
        .collect();
    assert_eq!(
        public.len(),
        2,
        "two public downloads, two entries; nothing for what was refused"
    );
    assert!(public.iter().all(|e| e["actor"]["type"] == "public"));
    // The per-address limit: 12 a minute, 429 past it, nothing logged.
    let mut codes = Vec::new();
    for _ in 0..14 {
        let (s, _, _) = api
            .call_with(
                "GET",
                "/p/acme/shop/v1.0.0/notice",
                &Cred::None,
                None,
                &peer("203.0.113.5:1"),
            )
            .await;
        codes.push(s);
    }
    assert_eq!(
        codes.iter().filter(|s| **s == StatusCode::OK).count(),
        12,
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&StatusCode::TOO_MANY_REQUESTS));

    // 5. Off.
    settings["enabled"] = json!(false);
    let (s, _) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/portal",
            &admin,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Every page of an off portal answers what an unknown tenant's does,
    // signed in or not, byte for byte (but the slug in links); so does a
    // token sign-in, even with a valid token; an encoded slug is 404.
    for (method, path, cred) in [
        ("GET", "/t/X/", Cred::Cookie(&ann_cookie)),
        ("GET", "/t/X", Cred::None),
        ("GET", "/t/X/login", Cred::None),
        ("GET", "/t/X/admin", Cred::Cookie(&ann_cookie)),
        (
            "GET",
            "/t/X/releases/shop/v1.0.0",
            Cred::Cookie(&ann_cookie),
        ),
        ("GET", "/t/X/logo", Cred::Cookie(&ann_cookie)),
        ("GET", "/t/X/downloads", Cred::Cookie(&ann_cookie)),
    ] {
        let (s1, b1, h1) = api
            .call(method, &path.replace('X', "acme"), &cred, None)
            .await;
        let (s2, b2, h2) = api
            .call(method, &path.replace('X', "nobody"), &cred, None)
            .await;
        assert_eq!(s1, s2, "{path}: {}", text(&b1));
        assert_eq!(
            text(&b1).replace("/t/acme", "/t/X"),
            text(&b2).replace("/t/nobody", "/t/X"),
            "{path}"
        );
        assert_eq!(
            h1.get(header::LOCATION)
                .map(|l| l.to_str().unwrap().replace("/t/acme", "/t/X")),
            h2.get(header::LOCATION)
                .map(|l| l.to_str().unwrap().replace("/t/nobody", "/t/X")),
            "{path}"
        );
    }
    let form = |t: &str| {
        Some((
            "application/x-www-form-urlencoded",
            format!("token={t}").into_bytes(),
        ))
    };
    let (s1, b1, h1) = api
        .call("POST", "/t/acme/token-login", &Cred::None, form(&ann))
        .await;
    let (s2, b2, _) = api
        .call("POST", "/t/nobody/token-login", &Cred::None, form(&ann))
        .await;
    assert_eq!(
        (s1, text(&b1).replace("/t/acme", "/t/X")),
        (s2, text(&b2).replace("/t/nobody", "/t/X")),
        "a valid token signs nobody in"
    );
    assert!(cookie_of(&h1).is_none());
    let (s, _, _) = api
        .call("GET", "/t/ac%6De/admin", &Cred::Cookie(&ann_cookie), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no encoding gets past the gate");
    let (s, _, _) = api
        .call_with(
            "GET",
            "/p/acme/shop/v1.0.0/sbom",
            &Cred::None,
            None,
            &peer("192.0.2.10:5"),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases/v1.0.0/sbom",
            &ann,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the API is unaffected");
    settings["enabled"] = json!(true);
    let (s, _) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/portal",
            &admin,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = api.call("GET", "/t/acme/login", &Cred::None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        logged("portal_updated").await.len(),
        4,
        "every change is logged"
    );

    // 6. My downloads.
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases/v2.0.0/notice",
            &bob,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/my-downloads", &ann, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mine = v["downloads"].as_array().unwrap().clone();
    assert_eq!(
        mine.len(),
        1,
        "Ann's one download, not Bob's nor the public ones: {v}"
    );
    assert_eq!(
        (mine[0]["tag"].clone(), mine[0]["artifact"].clone()),
        (json!("v1.0.0"), json!("export"))
    );
    let (s, _) = api
        .json("GET", "/api/v1/tenants/acme/my-downloads", &admin, None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "only customers have their own downloads"
    );
    let (s, b, _) = api
        .call("GET", "/t/acme/downloads", &Cred::Cookie(&ann_cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&b).contains(&format!(
        "/api/v1/tenants/acme/receipts/{}",
        mine[0]["index"]
    )));
    let (s, b, h) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/my-downloads/receipts",
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", text(&b));
    assert!(h[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let list: evident_verify::receipt::ReceiptList = serde_json::from_slice(&b).unwrap();
    assert_eq!(list.customer_id, ann_id);
    assert_eq!(list.receipts.len(), 1);
    let checks = evident_verify::receipt::verify_receipt_list(&list, &vkey, None).unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c.contains("export of these 1 receipts")),
        "{checks:?}"
    );
    let ev = logged("receipts_exported").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["event"]["customer_id"], ann_id.as_str());

    // 7. Search, from the index each push wrote, within what each may see.
    let search = |q: &'static str, who: &str| {
        let api = &api;
        let who = who.to_owned();
        async move {
            let (s, v) = api
                .json(
                    "GET",
                    &format!("/api/v1/tenants/acme/search?{q}"),
                    &who,
                    None,
                )
                .await;
            let tags: Vec<String> = v["hits"]
                .as_array()
                .map(|h| {
                    h.iter()
                        .map(|x| {
                            format!(
                                "{} {}",
                                x["tag"].as_str().unwrap(),
                                x["version"].as_str().unwrap()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (s, tags, v)
        }
    };
    let both = vec!["v1.0.0 0.9.10".to_owned(), "v2.0.0 0.9.10".to_owned()];
    for q in [
        "purl=pkg:cargo/rsa@0.9.10",
        "purl=pkg:cargo/rsa",
        "name=rsa&version=%3E%3D0.9.0,%20%3C0.9.11",
        "name=rsa&version=0.9.10",
    ] {
        let (s, tags, v) = search(q, &admin).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(tags, both, "{q}: {v}");
        assert_eq!(v["truncated"], false);
    }
    let (_, tags, _) = search("purl_prefix=pkg:cargo/rs", &admin).await;
    assert!(
        tags.contains(&"v1.0.0 0.9.10".to_owned()) && tags.len() >= 2,
        "{tags:?}"
    );
    for q in [
        "purl=pkg:cargo/rsa@0.9.11",
        "name=rsa&version=%3E%3D1.0.0",
        "name=no-such-crate",
    ] {
        let (s, tags, _) = search(q, &admin).await;
        assert_eq!((s, tags.len()), (StatusCode::OK, 0), "{q}");
    }
    let (_, tags, _) = search("purl=pkg:cargo/rsa@0.9.10", &ann).await;
    assert_eq!(tags, ["v1.0.0 0.9.10"], "Ann sees only v1.*");
    let (_, tags, _) = search("purl=pkg:cargo/rsa@0.9.10", &bob).await;
    assert_eq!(tags, ["v2.0.0 0.9.10"], "Bob sees only v2.0.0");
    let (_, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/search?name=rsa&limit=1",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (v["hits"].as_array().unwrap().len(), v["truncated"].clone()),
        (1, json!(true))
    );
    for q in [
        "",
        "purl=pkg:cargo/rsa&name=rsa",
        "purl=pkg:cargo/rsa@0.9.10&version=0.9.10",
        "name=rsa&version=%3E%3Dbanana",
        "name=rsa&limit=0",
        "purl_prefix=pkg",
    ] {
        let (s, _, v) = search(q, &admin).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (s, _, _) = search("name=rsa", &globex_admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's admin");
    // Releases pushed before the index existed are indexed on first use.
    let db = api.state.store();
    let mut gone: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for prefix in [&b"search-purl/acme/"[..], b"search-name/acme/"] {
        gone.extend(
            db.app_scan(prefix)
                .unwrap()
                .into_iter()
                .map(|(k, _)| (k, None)),
        );
    }
    gone.push((b"search-ready/acme".to_vec(), None));
    db.write(&gone).unwrap();
    let (_, tags, _) = search("purl=pkg:cargo/rsa", &admin).await;
    assert_eq!(tags, both, "rebuilt from the stored releases");
    let (s, b, _) = api
        .call(
            "GET",
            "/t/acme/search?q=pkg%3Acargo%2Frsa%400.9.10",
            &Cred::Cookie(&ann_cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&b).contains("/t/acme/releases/shop/v1.0.0") && !text(&b).contains("v2.0.0"));

    // 8. Documents: published by the admin, shown to their audience.
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let publish = |q: String, ct: &'static str, body: Vec<u8>, who: String| {
        let api = &api;
        async move {
            let (s, b, _) = api
                .call(
                    "POST",
                    &format!("/api/v1/tenants/acme/documents?{q}"),
                    &Cred::Bearer(&who),
                    Some((ct, body)),
                )
                .await;
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    let q = |title: &str, vis: &str, tag: &str| {
        format!("product=shop&tag={tag}&title={title}&type=declaration_of_conformity&file_name=doc.pdf&visibility={vis}")
    };
    let (s, d1) = publish(
        q("DoC", "customers", "v1.0.0"),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d1}");
    let (s, d2) = publish(
        format!("{}&customers={ann_id}", q("Pentest", "named", "v1.0.0")),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d2}");
    let (s, d3) = publish(
        q("Policy", "public", "v1.0.0"),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d3}");
    for (query, ct, body, want) in [
        (
            q("x", "customers", "v1.0.0"),
            "application/zip",
            pdf.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            q("x", "customers", "v1.0.0"),
            "application/pdf",
            b"not a pdf".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            q("x", "customers", "v9"),
            "application/pdf",
            pdf.clone(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{}&customers=nobody", q("x", "named", "v1.0.0")),
            "application/pdf",
            pdf.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            q("x", "customers", "v1.0.0").replace("doc.pdf", "..%2Fetc"),
            "application/pdf",
            pdf.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            q("x", "everyone", "v1.0.0"),
            "application/pdf",
            pdf.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, v) = publish(query.clone(), ct, body, admin.clone()).await;
        assert_eq!(s, want, "{query} {ct}: {v}");
    }
    let (s, _) = publish(
        q("x", "customers", "v1.0.0"),
        "application/pdf",
        pdf.clone(),
        ann.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a customer publishes nothing");
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/documents", &ann, None)
        .await;
    let mut seen = ids(&v);
    seen.sort();
    assert_eq!(seen, ["DoC", "Pentest", "Policy"]);
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/documents", &bob, None)
        .await;
    assert!(ids(&v).is_empty(), "Bob may not see v1.0.0: {v}");
    // A document of the product goes with every release of it.
    let (s, dp) = publish(
        "product=shop&title=Security%20policy&type=security_policy&file_name=policy.pdf".into(),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{dp}");
    assert!(dp.get("tag").is_none());
    let (_, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/documents?product=shop&tag=v2.0.0",
            &bob,
            None,
        )
        .await;
    assert_eq!(
        ids(&v),
        ["Security policy"],
        "Bob sees the product's document with v2.0.0"
    );
    let (s, _, _) = api
        .call(
            "GET",
            &format!(
                "/api/v1/tenants/acme/documents/{}",
                dp["id"].as_str().unwrap()
            ),
            &Cred::Bearer(&bob),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The product's document, for Ann, names the release Ann may see
    // (v1.0.0), not the product's latest (v2.0.0).
    let (s, _, h) = api
        .call(
            "GET",
            &format!(
                "/api/v1/tenants/acme/documents/{}",
                dp["id"].as_str().unwrap()
            ),
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let i = h["x-evident-log-index"].to_str().unwrap();
    let (_, r) = api
        .json(
            "GET",
            &format!("/api/v1/tenants/acme/receipts/{i}"),
            &ann,
            None,
        )
        .await;
    let entry: Value = serde_json::from_str(r["entry"].as_str().unwrap()).unwrap();
    assert_eq!(entry["event"]["tag"], "v1.0.0", "{entry}");
    // A customer entitled to v1.0.0 but not named sees no named document.
    let (_, c) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/customers",
            &admin,
            Some(json!({"name": "Cyd", "entitlements": [{"product": "shop", "tag": "v1.*"}]})),
        )
        .await;
    let (_, ct) = api
        .json(
            "POST",
            &format!(
                "/api/v1/tenants/acme/customers/{}/tokens",
                c["id"].as_str().unwrap()
            ),
            &admin,
            Some(json!({})),
        )
        .await;
    let cyd = ct["token"].as_str().unwrap().to_owned();
    let (_, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/documents?product=shop&tag=v1.0.0",
            &cyd,
            None,
        )
        .await;
    let mut seen = ids(&v);
    seen.sort();
    assert_eq!(
        seen,
        ["DoC", "Policy", "Security policy"],
        "not Ann's named Pentest"
    );
    let (s, _, _) = api
        .call(
            "GET",
            &format!(
                "/api/v1/tenants/acme/documents/{}",
                d2["id"].as_str().unwrap()
            ),
            &Cred::Bearer(&cyd),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another tenant's admin learns nothing, not even that acme exists.
    for path in [
        "/api/v1/tenants/acme/documents",
        "/api/v1/tenants/acme/advisories",
    ] {
        let (s, _) = api.json("GET", path, &globex_admin, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = publish(
        "product=shop&tag=v1.0.0&title=x&type=other&file_name=README.txt".into(),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a kit's own file name");
    let (s, _) = publish(
        "product=nothing&title=x&type=other&file_name=x.pdf".into(),
        "application/pdf",
        pdf.clone(),
        admin.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a product without releases");
    // The export's kit lists the documents its reader may see.
    let (s, kit, _) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases/v1.0.0/sbom-kit.tar.gz?format=spdx-json",
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut readme = String::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&kit[..]));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().ends_with("README.txt") {
            std::io::Read::read_to_string(&mut e, &mut readme).unwrap();
        }
    }
    for title in ["DoC", "Pentest", "Policy", "Security policy"] {
        assert!(
            readme.contains(&format!("  {title} (")),
            "{title} not listed:\n{readme}"
        );
    }
    let id1 = d1["id"].as_str().unwrap();
    let (s, b, h) = api
        .call(
            "GET",
            &format!("/api/v1/tenants/acme/documents/{id1}"),
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, pdf);
    assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
    assert!(h.contains_key("x-evident-log-index"), "logged");
    let (s, _, _) = api
        .call(
            "GET",
            &format!("/api/v1/tenants/acme/documents/{id1}/document.sigstore.json"),
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = api
        .call(
            "GET",
            &format!(
                "/api/v1/tenants/acme/documents/{}",
                d2["id"].as_str().unwrap()
            ),
            &Cred::Bearer(&bob),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let issued = logged("export_issued").await;
    assert!(
        issued.iter().any(|e| e["event"]["format"] == "document"),
        "issued like an export"
    );
    // The public portal serves the public document only.
    let (s, b, _) = api
        .call_with(
            "GET",
            &format!("/p/acme/documents/{}", d3["id"].as_str().unwrap()),
            &Cred::None,
            None,
            &peer("192.0.2.77:1"),
        )
        .await;
    assert_eq!((s, b), (StatusCode::OK, pdf.clone()));
    let (s, _, _) = api
        .call_with(
            "GET",
            &format!("/p/acme/documents/{id1}"),
            &Cred::None,
            None,
            &peer("192.0.2.77:2"),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a customers-only document is not public"
    );
    // Withdrawn: gone from lists and downloads, logged.
    let (s, _, _) = api
        .call(
            "DELETE",
            &format!("/api/v1/tenants/acme/documents/{id1}"),
            &Cred::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = api
        .call(
            "GET",
            &format!("/api/v1/tenants/acme/documents/{id1}"),
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(logged("document_published").await.len(), 4);
    assert_eq!(logged("document_withdrawn").await.len(), 1);
    let (s, b, _) = api
        .call(
            "GET",
            "/t/acme/releases/shop/v1.0.0",
            &Cred::Cookie(&ann_cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&b).contains("Pentest") && !text(&b).contains(">DoC<"));

    // 9. Advisories: a draft only admins see, then published and logged.
    let findings = json!({"findings": [{"id": "CVE-2099-10001", "component": {"purl": "pkg:cargo/rsa@0.9.10"},
        "state": "affected", "action": "Upgrade to shop v2.0.0.", "timestamp": "2099-01-02T03:04:05Z"}]});
    let draft = |q: &'static str, body: Value| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let (s, b, _) = api
                .call(
                    "POST",
                    &format!("/api/v1/tenants/acme/advisories?{q}"),
                    &Cred::Bearer(&admin),
                    Some(("application/json", serde_json::to_vec(&body).unwrap())),
                )
                .await;
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    let aq = "product=shop&tag=v1.0.0&id=ACME-SA-2026-001&title=RSA%20timing&summary=Upgrade.";
    let (s, v) = draft(aq, findings.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["state"], "draft");
    let bad = json!({"findings": [{"id": "CVE-2099-1", "component": {"purl": "pkg:cargo/nope@1"}, "state": "fixed"}]});
    let (s, v) = draft(aq, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = draft(
        "product=shop&tag=v1.0.0&id=a/b&title=t&summary=s",
        findings.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/advisories", &ann, None)
        .await;
    assert_eq!(v, json!([]), "a draft is for admins only");
    for path in ["", "/csaf"] {
        let (s, _) = api
            .json(
                "GET",
                &format!("/api/v1/tenants/acme/advisories/ACME-SA-2026-001{path}"),
                &ann,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/advisories", &admin, None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001/publish?input_sha256=0000",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the draft is not what was reviewed: {v}"
    );
    let (_, d) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001",
            &admin,
            None,
        )
        .await;
    let reviewed = d["input_sha256"].as_str().unwrap().to_owned();
    let publish_q =
        format!("/api/v1/tenants/acme/advisories/ACME-SA-2026-001/publish?input_sha256={reviewed}");
    let (s, v) = api.json("POST", &publish_q, &admin, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "published");
    let (s, _) = api.json("POST", &publish_q, &admin, None).await;
    assert_eq!(s, StatusCode::OK, "a retry of the same publication");
    let (s, _) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001/publish",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = draft(aq, findings.clone()).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a published advisory is not redrafted"
    );
    let ev = logged("advisory_published").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["event"]["vulnerabilities"], json!(["CVE-2099-10001"]));
    let (s, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001",
            &ann,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["statements"][0]["state"], "affected");
    assert_eq!(v["statements"][0]["component"], "rsa 0.9.10");
    let (s, b, h) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001/csaf",
            &Cred::Bearer(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.contains_key("x-evident-log-index"), "logged");
    let csaf: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(csaf["document"]["category"], "csaf_security_advisory");
    assert_eq!(csaf["document"]["tracking"]["id"], "ACME-SA-2026-001");
    assert_eq!(
        hex::encode(Sha256::digest(&b)),
        ev[0]["event"]["csaf_sha256"].as_str().unwrap(),
        "served as published"
    );
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/advisories/ACME-SA-2026-001",
            &bob,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "Bob may not read v1.0.0");
    let (s, b, _) = api
        .call(
            "GET",
            "/t/acme/advisories/ACME-SA-2026-001",
            &Cred::Cookie(&ann_cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(text(&b).contains("CVE-2099-10001") && text(&b).contains("Upgrade to shop v2.0.0."));
}
