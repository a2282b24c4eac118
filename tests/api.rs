//! The HTTP API through `app() -> Router` with `oneshot`, no sockets.
//!
//! Steps and the status each expects:
//! 1. operator creates tenants `acme` and `globex` → 201, admin tokens;
//! 2. missing, malformed, unknown and revoked tokens → 401;
//! 3. every log and token endpoint of `acme` with `globex`'s token → 404,
//!    and with the operator token → 404;
//! 4. bad query values (size beyond the tree, index ≥ size, old > new,
//!    non-numbers, too many entries) → 422 naming what is allowed;
//! 5. bad bodies: malformed JSON → 400, unknown field → 422, oversized → 413;
//! 6. token lifecycle: issue → list → revoke, each logged as an event;
//! 7. every entry's inclusion proof and the checkpoint verify with evident-verify;
//! 8. tiles, health and metrics.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident::app::{app, Builder};
use evident_verify::{
    checkpoint::open_checkpoint,
    merkle::{leaf_hash, verify_consistency, verify_inclusion},
    note::NoteVerifier,
    proof::{decode_hashes, ConsistencyProof, InclusionProof},
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    router: Router,
    operator: String,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let started = Builder::new(dir.path())
        .master_key_hex(&"22".repeat(32))
        .metrics_token(Some("metrics-token".into()))
        .open()
        .unwrap();
    // A log left behind by a creation whose batch never committed.
    started
        .state
        .store()
        .create_log("orphan", "evident.test/orphan")
        .unwrap();
    Api {
        router: app(started.state),
        operator: started
            .operator_token
            .expect("first start mints the operator token"),
        _dir: dir,
    }
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&b).unwrap())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, bytes, headers)
    }

    async fn json(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, b, _) = self.call(method, uri, token, body).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn tenant(&self, slug: &str) -> Value {
        let (s, v) = self
            .json(
                "POST",
                "/api/v1/tenants",
                Some(&self.operator),
                Some(json!({"slug": slug, "name": slug.to_uppercase()})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn tenants_tokens_isolation_and_errors() {
    let api = api().await;
    let acme = api.tenant("acme").await;
    let globex = api.tenant("globex").await;
    let admin = acme["admin_token"]["token"].as_str().unwrap().to_owned();
    let other = globex["admin_token"]["token"].as_str().unwrap().to_owned();
    assert_eq!(acme["origin"], "evident.test/acme");
    assert_eq!(acme["log_index"], 0);
    assert_eq!(acme["admin_token"]["log_index"], 1);
    // Publishes (and keeps) the checkpoint at size 4 (the tenant's first
    // three events: created, admin token, export key; and this request, the
    // admin token's first use today, logged before it goes on).
    let (s, first_cp, _) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/log/checkpoint",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Duplicate slug and bad slugs.
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants",
            Some(&api.operator),
            Some(json!({"slug": "acme", "name": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&v, "conflict");
    for slug in ["", "Acme", "-a", "a b", &"a".repeat(65)] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants",
                Some(&api.operator),
                Some(json!({"slug": slug, "name": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{slug}: {v}");
    }
    // An empty log without a tenant record is reused, not a permanent 409.
    let orphan = api.tenant("orphan").await;
    assert_eq!(orphan["log_index"], 0);
    // The operator can issue a fresh admin token (e.g. the first was lost).
    let (s, t) = api
        .json(
            "POST",
            "/api/v1/tenants/orphan/admin-tokens",
            Some(&api.operator),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(
        (t["scope"].as_str(), t["log_index"].as_u64()),
        // 0 tenant_created, 1 token_issued, 2 export_key_created.
        (Some("admin"), Some(3))
    );
    let (s, _) = api
        .json(
            "POST",
            "/api/v1/tenants/nosuch/admin-tokens",
            Some(&api.operator),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/admin-tokens",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only the operator issues these");
    // Only the operator creates tenants; a tenant admin is told nothing exists.
    let (s, _) = api
        .json(
            "POST",
            "/api/v1/tenants",
            Some(&admin),
            Some(json!({"slug": "x", "name": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // 401s.
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/log/checkpoint", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&v, "unauthorized");
    for bad in [
        "nope",
        "evd_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &admin[..admin.len() - 1],
    ] {
        let (s, _) = api
            .json(
                "GET",
                "/api/v1/tenants/acme/log/checkpoint",
                Some(bad),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad}");
    }
    let forged = format!(
        "{}{}",
        &admin[..admin.len() - 1],
        if admin.ends_with('A') { 'B' } else { 'A' }
    );
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/checkpoint",
            Some(&forged),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "right id, wrong secret");

    // Isolation: every acme endpoint with globex's token (and the operator's) is 404.
    let endpoints = [
        ("GET", "/api/v1/tenants/acme/log/checkpoint"),
        ("GET", "/api/v1/tenants/acme/log/checkpoint?size=1"),
        ("GET", "/api/v1/tenants/acme/log/key"),
        (
            "GET",
            "/api/v1/tenants/acme/log/proof/inclusion?index=0&size=1",
        ),
        (
            "GET",
            "/api/v1/tenants/acme/log/proof/consistency?old=1&new=2",
        ),
        ("GET", "/api/v1/tenants/acme/log/entries?start=0&end=1"),
        ("GET", "/tlog/acme/checkpoint"),
        ("GET", "/tlog/acme/tile/0/000.p/1"),
        ("GET", "/tlog/acme/tile/entries/000.p/1"),
        ("GET", "/api/v1/tenants/acme/tokens"),
        ("POST", "/api/v1/tenants/acme/tokens"),
        ("DELETE", "/api/v1/tenants/acme/tokens/0123456789abcdef"),
        ("GET", "/api/v1/tenants/nosuch/log/checkpoint"),
    ];
    for (m, uri) in endpoints {
        let body = (m == "POST").then(|| json!({"scope": "push"}));
        for t in [&other, &api.operator] {
            let (s, v) = api.json(m, uri, Some(t), body.clone()).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{m} {uri}: {v}");
            assert_error(&v, "not_found");
        }
    }

    // Token lifecycle.
    let (s, push) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&admin),
            Some(json!({"scope": "push", "label": "ci", "expires_in": 3600})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{push}");
    let push_token = push["token"].as_str().unwrap().to_owned();
    let (s, aud) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&admin),
            Some(json!({"scope": "auditor"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let auditor = aud["token"].as_str().unwrap().to_owned();
    for bad in [
        json!({"scope": "operator"}),
        json!({"scope": "root"}),
        json!({"scope": "push", "expires_in": 1}),
        json!({"scope": "push", "expires_at": "tomorrow"}),
        json!({"scope": "push", "expires_in": 3600, "expires_at": "2030-01-01T00:00:00Z"}),
    ] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants/acme/tokens",
                Some(&admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    // A push token may not manage tokens or read entries.
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/tokens",
            Some(&push_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/entries?start=0&end=1",
            Some(&push_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/entries?start=0&end=1",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, list) = api
        .json("GET", "/api/v1/tenants/acme/tokens", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(
        !list.to_string().contains(&push_token[21..]),
        "secrets are never listed"
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["last_used_at"].is_string()),
        "admin use is recorded"
    );
    let pid = push["id"].as_str().unwrap();
    let (s, rev) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/tokens/{pid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rev}");
    let (s, _) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/tokens/{pid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/key",
            Some(&push_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked tokens stop working");
    let gid = globex["admin_token"]["id"].as_str().unwrap();
    let (s, _) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/tokens/{gid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another tenant's token id is invisible"
    );

    // Bad bodies.
    let (s, b, _) = {
        let req = Request::post("/api/v1/tenants/acme/tokens")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"scope\":"))
            .unwrap();
        let res = api.router.clone().oneshot(req).await.unwrap();
        let st = res.status();
        (st, res.into_body().collect().await.unwrap().to_bytes(), ())
    };
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_error(&serde_json::from_slice(&b).unwrap(), "bad_request");
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&admin),
            Some(json!({"scope": "push", "bogus": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&v, "invalid_value");
    let huge = json!({"scope": "push", "label": "x".repeat(2 << 20)});
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&admin),
            Some(huge),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_error(&v, "too_large");

    // The log: tenant_created, token_issued, export_key_created, the admin
    // token's first use today, token_issued ×2, token_revoked.
    let (s, cp_bytes, h) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/log/checkpoint",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    let cp_note = String::from_utf8(cp_bytes).unwrap();
    let (_, key, _) = api
        .call("GET", "/api/v1/tenants/acme/log/key", Some(&auditor), None)
        .await;
    let key = String::from_utf8(key).unwrap();
    assert_eq!(key.trim(), acme["log_key"]);
    let verifier = NoteVerifier::parse(&key).unwrap();
    let cp = open_checkpoint(&cp_note, &verifier, Some("evident.test/acme")).unwrap();
    assert_eq!(cp.size, 7);
    let (s, entries) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/entries?start=0&end=7",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let kinds: Vec<&str> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "tenant_created",
            "token_issued",
            "export_key_created",
            "admin_token_used",
            "token_issued",
            "token_issued",
            "token_revoked"
        ]
    );
    // The admin token's first request today, as the client sent it.
    assert_eq!(
        entries["entries"][3]["event"]["event"]["request"],
        "GET /api/v1/tenants/acme/log/checkpoint"
    );
    for e in entries["entries"].as_array().unwrap() {
        let i = e["index"].as_u64().unwrap();
        let leaf = STANDARD.decode(e["leaf"].as_str().unwrap()).unwrap();
        assert!(
            !String::from_utf8_lossy(&leaf).contains("evd_"),
            "no token secrets in the log"
        );
        let (s, p) = api
            .json(
                "GET",
                &format!("/api/v1/tenants/acme/log/proof/inclusion?index={i}&size=7"),
                Some(&auditor),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let p: InclusionProof = serde_json::from_value(p).unwrap();
        verify_inclusion(
            i,
            7,
            &leaf_hash(&leaf),
            &decode_hashes(&p.hashes).unwrap(),
            &cp.root,
        )
        .unwrap();
    }
    let (_, c) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/log/proof/consistency?old=4",
            Some(&auditor),
            None,
        )
        .await;
    let c: ConsistencyProof = serde_json::from_value(c).unwrap();
    assert_eq!((c.old, c.new), (4, 7));
    let (_, old_note, _) = api
        .call(
            "GET",
            "/api/v1/tenants/acme/log/checkpoint?size=4",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(
        old_note, first_cp,
        "the checkpoint published at size 4 is kept"
    );
    let old = open_checkpoint(&String::from_utf8(old_note).unwrap(), &verifier, None).unwrap();
    assert_eq!(old.size, 4);
    verify_consistency(
        4,
        7,
        &old.root,
        &cp.root,
        &decode_hashes(&c.hashes).unwrap(),
    )
    .unwrap();

    // 422s, each naming the bound.
    for uri in [
        "/api/v1/tenants/acme/log/proof/inclusion?index=7&size=7",
        "/api/v1/tenants/acme/log/proof/inclusion?index=0&size=8",
        "/api/v1/tenants/acme/log/proof/inclusion?index=x",
        "/api/v1/tenants/acme/log/proof/inclusion?index=0&format=pdf",
        "/api/v1/tenants/acme/log/proof/consistency?old=4&new=3",
        "/api/v1/tenants/acme/log/proof/consistency?old=1&new=99",
        "/api/v1/tenants/acme/log/entries?start=3&end=2",
        "/api/v1/tenants/acme/log/entries?start=0&end=8",
        "/api/v1/tenants/acme/log/checkpoint?size=99",
        "/tlog/acme/tile/0/0001",
    ] {
        let (s, v) = api.json("GET", uri, Some(&admin), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_error(&v, "invalid_value");
    }

    // Tiles.
    let (s, tile, h) = api
        .call("GET", "/tlog/acme/tile/0/000.p/5", Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tile.len(), 5 * 32);
    assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
    let first = STANDARD
        .decode(entries["entries"][0]["leaf"].as_str().unwrap())
        .unwrap();
    assert_eq!(&tile[..32], &leaf_hash(&first));
    let (s, bundle, _) = api
        .call(
            "GET",
            "/tlog/acme/tile/entries/000.p/5",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        u16::from_be_bytes([bundle[0], bundle[1]]) as usize,
        first.len()
    );
    let (s, _, _) = api
        .call("GET", "/tlog/acme/tile/0/000", Some(&auditor), None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a full tile the tree has not filled"
    );
    let (s, tcp, _) = api
        .call("GET", "/tlog/acme/checkpoint", Some(&auditor), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(open_checkpoint(&String::from_utf8(tcp).unwrap(), &verifier, None).is_ok());

    // A public log: off by default, the tiles need a token (401, the same
    // for a tenant that does not exist); turned on, anyone reads the
    // checkpoint and hash tiles, entry bundles only once entries are public
    // too; every change is logged.
    let anon = [
        "/tlog/acme/checkpoint",
        "/tlog/acme/tile/0/000.p/5",
        "/tlog/acme/tile/entries/000.p/5",
        "/tlog/nosuch/checkpoint",
        "/tlog/nosuch/tile/0/000.p/1",
    ];
    for uri in anon {
        let (s, v) = api.json("GET", uri, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}: {v}");
        assert!(v["message"].as_str().unwrap().contains("not public"), "{v}");
    }
    let settings = |public_log: bool, public_entries: bool| json!({"share_link_ttl_secs": 604800, "public_log": public_log, "public_entries": public_entries});
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/settings",
            Some(&admin),
            Some(settings(false, true)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("needs public_log"),
        "{v}"
    );
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/settings",
            Some(&auditor),
            Some(settings(true, false)),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "an auditor may not open the log: {v}"
    );
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/settings",
            Some(&admin),
            Some(settings(true, false)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, tcp, h) = api.call("GET", "/tlog/acme/checkpoint", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    let public_cp = open_checkpoint(&String::from_utf8(tcp).unwrap(), &verifier, None).unwrap();
    let (s, anon_tile, h) = api
        .call("GET", "/tlog/acme/tile/0/000.p/5", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(anon_tile, tile);
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=60");
    let (s, v) = api
        .json("GET", "/tlog/acme/tile/entries/000.p/5", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("entry bundles are not public"),
        "{v}"
    );
    // The settings change is in the log, and the rest of the API still needs a token.
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/log/checkpoint", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, v) = api.json("GET", "/tlog/globex/checkpoint", None, None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "another tenant stays closed: {v}"
    );
    let (s, v) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/settings",
            Some(&admin),
            Some(settings(true, true)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, anon_bundle, _) = api
        .call("GET", "/tlog/acme/tile/entries/000.p/5", None, None)
        .await;
    assert_eq!((s, anon_bundle), (StatusCode::OK, bundle));
    // The first change is the last entry under the public checkpoint.
    let (_, log) = api
        .json(
            "GET",
            &format!(
                "/api/v1/tenants/acme/log/entries?start={}&end={}",
                public_cp.size - 1,
                public_cp.size + 1
            ),
            Some(&admin),
            None,
        )
        .await;
    let changes: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"]["event"])
        .filter(|e| e["kind"] == "settings_updated")
        .collect();
    assert_eq!(changes.len(), 2, "{log}");
    assert_eq!(changes[0]["public_log"], true);
    assert_eq!(changes[0]["public_entries"], false);
    assert_eq!(changes[1]["public_entries"], true);
    // A bad token is still refused, not read as anonymous.
    let (s, _) = api
        .json("GET", "/tlog/acme/checkpoint", Some("evd_bogus"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Back to private.
    let (s, _) = api
        .json(
            "PUT",
            "/api/v1/tenants/acme/settings",
            Some(&admin),
            Some(settings(false, false)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .json("GET", "/tlog/acme/tile/0/000.p/5", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Operator listing, health and metrics.
    let (s, ts) = api
        .json("GET", "/api/v1/tenants", Some(&api.operator), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ts.as_array().unwrap().len(), 3);
    let (s, v) = api.json("GET", "/healthz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, _, _) = api.call("GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "metrics need their token");
    let (s, m, _) = api
        .call("GET", "/metrics", Some("metrics-token"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let m = String::from_utf8(m).unwrap();
    assert!(m.contains("evident_log_appends_total"), "{m}");
    assert!(m.contains("evident_log_append_seconds_bucket"), "{m}");
    let (s, v) = api.json("GET", "/nowhere", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found");
}

/// Officers over HTTP: an admin registers a key (201, logged, JSON
/// errors for a bad key and a repeat), an auditor lists, a push token and
/// another tenant's admin see nothing, and a revocation keeps the key.
#[tokio::test]
async fn officers_are_registered_listed_and_revoked_over_http() {
    let api = api().await;
    let acme = api.tenant("acme").await;
    let globex = api.tenant("globex").await;
    let admin = acme["admin_token"]["token"].as_str().unwrap().to_owned();
    let other = globex["admin_token"]["token"].as_str().unwrap().to_owned();
    let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    let body = json!({"name": "Ada Lovelace", "role": "CISO", "public_key": pem});
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/officers",
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["algorithm"], "ed25519");
    assert!(v["log_index"].as_u64().is_some());
    let id = v["id"].as_str().unwrap().to_owned();
    let (s, e) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/officers",
            Some(&admin),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&e, "conflict");
    let (s, e) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/officers",
            Some(&admin),
            Some(json!({"name": "x", "role": "y", "public_key": "not a key"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["message"].as_str().unwrap().contains("/public_key"),
        "{e}"
    );
    let (_, push) = api
        .json(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&admin),
            Some(json!({"scope": "push"})),
        )
        .await;
    let push = push["token"].as_str().unwrap().to_owned();
    for (who, code) in [
        (&push, StatusCode::NOT_FOUND),
        (&other, StatusCode::NOT_FOUND),
    ] {
        let (s, _) = api
            .json("GET", "/api/v1/tenants/acme/officers", Some(who), None)
            .await;
        assert_eq!(s, code);
    }
    let (s, v) = api
        .json(
            "DELETE",
            &format!("/api/v1/tenants/acme/officers/{id}?reason=superseded"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["revoked_at"].as_str().is_some());
    assert!(v["revoked_log_index"].as_u64() > v["log_index"].as_u64());
    let (s, v) = api
        .json("GET", "/api/v1/tenants/acme/officers", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 1, "a revoked key stays listed");
}

/// Regulator requests over HTTP: an officer token records one (201, its
/// digests resolved, JSON errors for bad fields), moves it along its life
/// cycle (409 for a move it does not allow), an auditor reads it, and a
/// push token or another tenant sees nothing.
#[tokio::test]
async fn regulator_requests_are_recorded_and_moved_over_http() {
    let api = api().await;
    let acme = api.tenant("acme").await;
    let globex = api.tenant("globex").await;
    let admin = acme["admin_token"]["token"].as_str().unwrap().to_owned();
    let other = globex["admin_token"]["token"].as_str().unwrap().to_owned();
    let mut tokens = std::collections::HashMap::new();
    for scope in ["officer", "auditor", "push"] {
        let (s, v) = api
            .json(
                "POST",
                "/api/v1/tenants/acme/tokens",
                Some(&admin),
                Some(json!({"scope": scope})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        tokens.insert(scope, v["token"].as_str().unwrap().to_owned());
    }
    let digest = format!("sha256:{}", "42".repeat(32));
    let body = json!({
        "authority": {"name": "Rijksinspectie Digitale Infrastructuur", "country": "NL", "kind": "market_surveillance"},
        "notice_reference": "RDI-2026-0099",
        "legal_basis": "Regulation (EU) 2024/2847, Article 52",
        "contact": "toezicht@rdi.example",
        "received_on": "2026-01-02",
        "deadline": "2026-01-16",
        "production_digests": [digest],
    });
    let url = "/api/v1/tenants/acme/regulator-requests";
    let (s, v) = api
        .json("POST", url, Some(&tokens["officer"]), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["state"], "received");
    assert_eq!(v["overdue"], true);
    assert_eq!(v["resolution"][0]["digest"], digest.as_str());
    assert_eq!(v["resolution"][0]["releases"], json!([]));
    assert!(v["history"][0]["log_index"].as_u64().is_some());
    let id = v["id"].as_str().unwrap().to_owned();
    for (patch, code, names) in [
        (json!({"deadline": "2025-12-31"}), 422, "/deadline"),
        (
            json!({"production_digests": ["sha256:1"]}),
            422,
            "/production_digests/0",
        ),
        (json!({"surprise": 1}), 422, "surprise"),
    ] {
        let mut b = body.clone();
        b.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        let (s, e) = api.json("POST", url, Some(&admin), Some(b)).await;
        assert_eq!(s.as_u16(), code, "{e}");
        assert!(e["error"].as_str().is_some(), "{e}");
        assert!(e["message"].as_str().unwrap().contains(names), "{e}");
    }
    for who in [&tokens["push"], &other] {
        let (s, e) = api.json("GET", url, Some(who), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
        let (s, _) = api.json("POST", url, Some(who), Some(body.clone())).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let moves = format!("{url}/{id}/transitions");
    let (s, e) = api
        .json(
            "POST",
            &moves,
            Some(&tokens["officer"]),
            Some(json!({"to": "delivered"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_error(&e, "conflict");
    let (s, e) = api
        .json(
            "POST",
            &moves,
            Some(&tokens["auditor"]),
            Some(json!({"to": "in_preparation"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, v) = api
        .json(
            "POST",
            &moves,
            Some(&admin),
            Some(json!({"to": "in_preparation", "note": "with the PSIRT"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "in_preparation");
    assert_eq!(v["history"][1]["note"], "with the PSIRT");
    let (s, v) = api
        .json(
            "GET",
            &format!("{url}/{id}"),
            Some(&tokens["auditor"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["history"].as_array().unwrap().len(), 2);
    let (s, v) = api
        .json(
            "GET",
            &format!("{url}?state=in_preparation&overdue=true"),
            Some(&tokens["auditor"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (s, e) = api
        .json("GET", &format!("{url}?state=lost"), Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // The trail has both steps, found by the request's id.
    let (s, v) = api
        .json(
            "GET",
            &format!("/api/v1/tenants/acme/audit/events?request={id}"),
            Some(&tokens["auditor"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut kinds: Vec<String> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let leaf: Value = serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
            leaf["event"]["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "regulator_request_in_preparation",
            "regulator_request_received"
        ],
        "{v}"
    );
}
