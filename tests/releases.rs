//! Release pushes, exports and their failure modes through `app()` with
//! `oneshot`, on a real RocksDB in a temporary directory.
//!
//! - every `bad-*` fixture and our own bad cases: 4xx, log size unchanged,
//!   no release stored;
//! - idempotent re-push (200), a changed re-push makes revision 2, and
//!   revision 1 stays addressable;
//! - provenance that misses an artefact digest: 422 naming the digest;
//! - exports: headers, 422 for unknown formats, issued once (every
//!   download logged on its own), byte-stable
//!   across a restart on the same data directory;
//! - round trip: our CycloneDX and SPDX exports ingest to the same model;
//! - isolation: another tenant's token gets 404 everywhere, an auditor
//!   token gets 404 on push.

use std::path::{Path, PathBuf};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident::app::{app, Builder};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const MASTER: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const DIGEST: &str = "sha256:0f343b0931126a20f133d67c2b018a3b5f6b3ac6a21b7b0a9f0b4c0cf1f2f3f4";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sboms")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

struct Api {
    router: Router,
    state: evident::AppState,
}

fn open(dir: &Path) -> (Api, Option<String>) {
    let started = Builder::new(dir)
        .master_key_hex(MASTER)
        .push_body_limit(16 << 20)
        .open()
        .unwrap();
    let state = started.state;
    (
        Api {
            router: app(state.clone()),
            state,
        },
        started.operator_token,
    )
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (
            status,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
            headers,
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
                token,
                body.map(|b| serde_json::to_vec(&b).unwrap()),
            )
            .await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn log_size(&self, tenant: &str) -> u64 {
        self.state.log(tenant).unwrap().size()
    }

    fn stored_releases(&self) -> usize {
        self.state.store().app_scan(b"release/").unwrap().len()
    }
}

fn push_body(product: &str, tag: &str, sbom: &[u8]) -> Value {
    json!({
        "product": product,
        "tag": tag,
        "artefacts": [{"name": "app.tar.gz", "digest": DIGEST, "media_type": "application/gzip"}],
        "sbom": {"content": STANDARD.encode(sbom), "encoding": "base64"},
    })
}

/// A tenant with an admin, a push and an auditor token.
async fn tenant(api: &Api, operator: &str, slug: &str) -> (String, String, String) {
    let (s, v) = api
        .json(
            "POST",
            "/api/v1/tenants",
            operator,
            Some(json!({"slug": slug, "name": slug})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
    let tok = |scope: &'static str| {
        let admin = admin.clone();
        async move {
            let (s, v) = api
                .json(
                    "POST",
                    &format!("/api/v1/tenants/{slug}/tokens"),
                    &admin,
                    Some(json!({"scope": scope})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["token"].as_str().unwrap().to_owned()
        }
    };
    let push = tok("push").await;
    let auditor = tok("auditor").await;
    (admin, push, auditor)
}

fn provenance(digests: &[&str]) -> Value {
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": digests.iter().map(|d| json!({"name": "app.tar.gz", "digest": {"sha256": d.trim_start_matches("sha256:")}})).collect::<Vec<_>>(),
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/ci@v1", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://example.com/ci"}}},
    });
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": STANDARD.encode(serde_json::to_vec(&statement).unwrap()),
        "signatures": [{"keyid": "ci", "sig": STANDARD.encode(b"not checked")}],
    })
}

#[tokio::test]
async fn bad_inputs_store_nothing_and_log_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (api, op) = open(dir.path());
    let (_, push, _) = tenant(&api, &op.unwrap(), "acme").await;
    let size = api.log_size("acme").await;
    let uri = "/api/v1/tenants/acme/releases";

    let mut cases: Vec<(String, Value)> = Vec::new();
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.starts_with("bad-") {
            cases.push((name.clone(), push_body("p", "v1", &fixture(&name))));
        }
    }
    let good = fixture("cyclonedx-py-jupyter-venv.cdx-1.6.json");
    let mut with = |what: &str, f: &dyn Fn(&mut Value)| {
        let mut b = push_body("p", "v1", &good);
        f(&mut b);
        cases.push((what.to_owned(), b));
    };
    with("digest without prefix", &|b| {
        b["artefacts"][0]["digest"] = json!("0f".repeat(32))
    });
    with("digest too short", &|b| {
        b["artefacts"][0]["digest"] = json!("sha256:abcd")
    });
    with("digest upper case", &|b| {
        b["artefacts"][0]["digest"] = json!(DIGEST.to_uppercase().replace("SHA256", "sha256"))
    });
    with("no artefacts", &|b| b["artefacts"] = json!([]));
    with("artefact name with a control character", &|b| {
        b["artefacts"][0]["name"] = json!("a\u{1}b")
    });
    with(
        "the same artefact name twice",
        &|b| {
            b["artefacts"] =
                json!([{"name": "a", "digest": DIGEST}, {"name": "a", "digest": DIGEST}])
        },
    );
    with("tag with slash", &|b| b["tag"] = json!("release/1"));
    with("empty product", &|b| b["product"] = json!(""));
    with("not base64", &|b| b["sbom"]["content"] = json!("***"));
    with("unknown encoding", &|b| {
        b["sbom"]["encoding"] = json!("gzip")
    });
    with("unknown field", &|b| b["extra"] = json!(1));
    with("empty sbom", &|b| {
        b["sbom"] = json!({"content": "", "encoding": "utf8"})
    });
    with("not an sbom", &|b| {
        b["sbom"] = json!({"content": "hello", "encoding": "utf8"})
    });
    with(
        "openvex",
        &|b| b["sbom"] = json!({"content": String::from_utf8(fixture("vexctl-example-demo.openvex.json")).unwrap(), "encoding": "utf8"}),
    );
    with("xml without namespace", &|b| {
        b["sbom"] = json!({"content": "<bom/>", "encoding": "utf8"})
    });
    with(
        "spdx without packages described",
        &|b| {
            b["sbom"] = json!({"content": "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", "encoding": "utf8"})
        },
    );
    with("provenance for another digest", &|b| {
        b["provenance"] = provenance(&[&format!("sha256:{}", "1".repeat(64))])
    });
    with(
        "provenance not in-toto",
        &|b| {
            b["provenance"] =
                json!({"payloadType": "text/plain", "payload": "aGk=", "signatures": []})
        },
    );
    with("deeply nested findings", &|b| {
        b["findings"] =
            serde_json::from_str(&format!("{}{}", "[".repeat(120), "]".repeat(120))).unwrap()
    });

    for (what, body) in &cases {
        let (s, v) = api.json("POST", uri, &push, Some(body.clone())).await;
        assert!(s.is_client_error(), "{what}: {s} {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
        assert_eq!(
            api.log_size("acme").await,
            size,
            "{what} appended to the log"
        );
        assert_eq!(api.stored_releases(), 0, "{what} stored a release");
    }
    // The messages say where.
    let (_, v) = api
        .json(
            "POST",
            uri,
            &push,
            Some(push_body(
                "p",
                "v1",
                &fixture("bad-truncated-cyclonedx-py-jupyter-venv.cdx-1.6.json"),
            )),
        )
        .await;
    assert!(v["message"].as_str().unwrap().contains("line 2576"), "{v}");
    let (_, v) = api
        .json(
            "POST",
            uri,
            &push,
            Some(push_body(
                "p",
                "v1",
                &fixture("bad-xxe-cyclonedx-py-jupyter-venv.cdx-1.4.xml"),
            )),
        )
        .await;
    assert!(v["message"].as_str().unwrap().contains("DOCTYPE"), "{v}");
    let (_, v) = api
        .json(
            "POST",
            uri,
            &push,
            Some(push_body(
                "p",
                "v1",
                &fixture("bad-invalid-analysis-state-cdx-bom-examples-cisa-case1.cdx-vex.json"),
            )),
        )
        .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("/vulnerabilities/0/analysis/state"),
        "{v}"
    );

    // A body over the limit is 413, and still nothing is stored.
    let big = vec![b' '; 17 << 20];
    let (s, b, _) = api.call("POST", uri, &push, Some(big)).await;
    assert_eq!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert_eq!(api.log_size("acme").await, size);

    // After all that, a good push still works.
    let (s, v) = api
        .json("POST", uri, &push, Some(push_body("p", "v1", &good)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(api.log_size("acme").await, size + 1);
}

#[tokio::test]
async fn push_revisions_exports_and_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let (api, op) = open(dir.path());
    let op = op.unwrap();
    let (admin, push, auditor) = tenant(&api, &op, "acme").await;
    let (other, other_push, _) = tenant(&api, &op, "globex").await;
    let uri = "/api/v1/tenants/acme/releases";
    let sbom = fixture("cyclonedx-py-jupyter-venv.cdx-1.6.json");

    // A correct provenance is accepted; its digest is logged.
    let mut body = push_body("shop", "v1.2.3", &sbom);
    body["provenance"] = provenance(&[DIGEST]);
    // Findings with no finding: stored, and no VEX version is made.
    body["findings"] = json!({"findings": []});
    let (s, v) = api.json("POST", uri, &push, Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rel = &v["release"];
    assert_eq!(rel["revision"], 1);
    assert_eq!(rel["sbom"]["format"], "cyclonedx-json");
    assert_eq!(rel["sbom"]["sha256"], hex::encode(Sha256::digest(&sbom)));
    assert_eq!(
        rel["provenance_predicate_type"],
        "https://slsa.dev/provenance/v1"
    );
    let first_index = rel["log_index"].as_u64().unwrap();

    let (s, entries) = api
        .json(
            "GET",
            &format!(
                "/api/v1/tenants/acme/log/entries?start={first_index}&end={}",
                first_index + 1
            ),
            &auditor,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    let leaf = entries.to_string();
    assert!(
        leaf.contains("release_pushed") || entries[0].to_string().contains("release_pushed"),
        "{entries}"
    );

    // The same push again: 200, the same record, nothing appended.
    let size = api.log_size("acme").await;
    let (s, v) = api.json("POST", uri, &push, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    assert_eq!(v["release"]["revision"], 1);
    assert_eq!(v["release"]["log_index"], first_index);
    assert_eq!(api.log_size("acme").await, size);

    // Different content: revision 2; revision 1 stays addressable.
    let sbom2 = fixture("cyclonedx-py-jupyter-venv.cdx-1.5.json");
    let mut body2 = push_body("shop", "v1.2.3", &sbom2);
    body2["provenance"] = provenance(&[DIGEST]);
    let (s, v) = api.json("POST", uri, &push, Some(body2)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["release"]["revision"], 2);
    let (s, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases/v1.2.3",
            &auditor,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["latest_revision"], 2);
    assert_eq!(v["revisions"].as_array().unwrap().len(), 2);
    let (s, v) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/shop/releases",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v[0]["tag"], "v1.2.3");
    let (_, v) = api
        .json("GET", "/api/v1/tenants/acme/products", &push, None)
        .await;
    assert_eq!(v, json!(["shop"]));
    let base = "/api/v1/tenants/acme/products/shop/releases/v1.2.3";
    let (s, b, _) = api
        .call(
            "GET",
            &format!("{base}/sbom/original?revision=1"),
            &auditor,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, sbom);
    let (_, b, _) = api
        .call("GET", &format!("{base}/sbom/original"), &auditor, None)
        .await;
    assert_eq!(b, sbom2);

    // Provenance without the artefact's digest: 422 naming it.
    let mut bad = push_body("shop", "v9", &sbom);
    bad["provenance"] = provenance(&[&format!("sha256:{}", "e".repeat(64))]);
    let (s, v) = api.json("POST", uri, &push, Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains(DIGEST), "{v}");

    // Exports: headers, logged once, unknown format named.
    let mut shas = Vec::new();
    for f in ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"] {
        let size = api.log_size("acme").await;
        let (s, b, h) = api
            .call("GET", &format!("{base}/sbom?format={f}"), &auditor, None)
            .await;
        assert_eq!(s, StatusCode::OK, "{f}: {}", String::from_utf8_lossy(&b));
        let want = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(&b)));
        assert_eq!(h["repr-digest"], want.as_str());
        let ext = match f {
            "cyclonedx-json" => "cdx.json",
            "cyclonedx-xml" => "cdx.xml",
            "spdx-json" => "spdx.json",
            _ => "spdx",
        };
        assert_eq!(
            h[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"sbom-shop-v1.2.3.{ext}\"").as_str()
        );
        assert_eq!(
            api.log_size("acme").await,
            size + 2,
            "{f}: the first download issues the export (export_issued) and is logged (download_served)"
        );
        let (_, b2, _) = api
            .call("GET", &format!("{base}/sbom?format={f}"), &admin, None)
            .await;
        assert_eq!(b, b2, "{f}: byte-stable");
        assert_eq!(
            api.log_size("acme").await,
            size + 3,
            "{f}: issued once; every download is logged"
        );
        shas.push((f, hex::encode(Sha256::digest(&b))));
    }
    let (s, v) = api
        .json("GET", &format!("{base}/sbom?format=pdf"), &auditor, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tv"),
        "{v}"
    );
    for f in ["text", "markdown", "html"] {
        let (s, b, h) = api
            .call("GET", &format!("{base}/notice?format={f}"), &auditor, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let text = String::from_utf8(b).unwrap();
        assert!(
            text.contains("jinja2@3.1.6") || text.contains("Jinja2@3.1.6"),
            "{f}: {}",
            &text[..400.min(text.len())]
        );
        assert!(!text.contains("<script"), "{f}");
        assert!(h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"NOTICE-shop-v1.2.3."));
    }
    let (s, _) = api
        .json("GET", &format!("{base}/notice?format=pdf"), &auditor, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .json("GET", &format!("{base}/sbom?revision=7"), &auditor, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Evidence files are a fixed set of names: anything else is 404, and
    // nothing is logged for it.
    let before = api.log_size("acme").await;
    for f in ["sbom.sig.bak", "sbom.SIG", "..", "sbom-kit.tar"] {
        let (s, v) = api
            .json(
                "GET",
                &format!("{base}/{f}?format=spdx-json"),
                &auditor,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}: {v}");
        assert_eq!(v["error"], "not_found", "{f}: {v}");
    }
    assert_eq!(api.log_size("acme").await, before);

    // Isolation: globex's tokens see nothing of acme; an auditor cannot push.
    for t in [&other, &other_push] {
        for u in [
            "/api/v1/tenants/acme/products".to_owned(),
            "/api/v1/tenants/acme/products/shop/releases".to_owned(),
            base.to_owned(),
            format!("{base}/sbom?format=spdx-json"),
            format!("{base}/sbom/original"),
            format!("{base}/notice"),
        ] {
            let (s, _) = api.json("GET", &u, t, None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{u}");
        }
        let (s, _) = api
            .json("POST", uri, t, Some(push_body("shop", "v2", &sbom)))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    for t in [&auditor, &admin] {
        let (s, _) = api
            .json("POST", uri, t, Some(push_body("shop", "v2", &sbom)))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "a token without the push scope");
    }
    let (s, _) = api
        .json(
            "GET",
            "/api/v1/tenants/acme/products/nope/releases",
            &auditor,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Byte stability across a restart on the same data directory.
    let size = api.log_size("acme").await;
    drop(api.router);
    api.state.close().await.unwrap();
    let (api, _) = open(dir.path());
    for (f, sha) in shas {
        let (s, b, _) = api
            .call("GET", &format!("{base}/sbom?format={f}"), &auditor, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            hex::encode(Sha256::digest(&b)),
            sha,
            "{f} changed across a restart"
        );
    }
    assert_eq!(
        api.log_size("acme").await,
        size + 4,
        "after a restart the exports are not issued again; only the four downloads are logged"
    );
}

/// Asserts equal inventories, naming the first component that differs.
fn same(fixture: &str, what: &str, a: &evident_sbom::Model, b: &evident_sbom::Model) {
    assert_eq!(
        a.subject, b.subject,
        "{fixture}: {what} disagree on the subject"
    );
    assert_eq!(
        a.components.len(),
        b.components.len(),
        "{fixture}: {what} disagree on the count"
    );
    if let Some((x, y)) = a.components.iter().zip(&b.components).find(|(x, y)| x != y) {
        panic!("{fixture}: {what} disagree:\n  {x:?}\n  {y:?}");
    }
}

/// The model as SPDX can carry it: licences that are not SPDX expressions
/// without document-local refs become "no assertion".
fn spdx_carried(m: &evident_sbom::Model) -> evident_sbom::Model {
    let keep = |l: &Option<evident_sbom::License>| match l {
        Some(evident_sbom::License::Spdx(s))
            if !s.contains("LicenseRef-") && !s.contains("DocumentRef-") =>
        {
            l.clone()
        }
        _ => None,
    };
    let mut m = m.clone();
    for c in m.components.iter_mut().chain(m.subject.iter_mut()) {
        c.declared = keep(&c.declared);
        c.concluded = keep(&c.concluded);
    }
    m
}

/// Our own CycloneDX and SPDX exports read back to the same model, for every
/// fixture that is an SBOM.
#[test]
fn exports_round_trip_to_the_same_model() {
    use evident_sbom::{ingest, ExportFormat, Release};
    let release = Release {
        tenant: "acme".into(),
        product: "shop".into(),
        tag: "v1".into(),
        revision: 1,
        artefacts: vec![("app".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: Release::namespace_for("https://evident.test", "acme", "shop", "v1", 1),
        tool_version: "0.1.0".into(),
    };
    let mut checked = 0;
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Ok(first) = ingest(&fixture(&name)) else {
            continue;
        };
        // The model read back from its stored JSON is the same model and
        // writes the same bytes: the server exports a new release from the
        // model a push left in memory, and after a restart or an eviction
        // from the stored JSON, and issues each exact export once.
        let stored = evident_sbom::Model::from_json(&first.model.to_json()).unwrap();
        assert!(stored == first.model, "{name}: the stored model differs");
        let models: Vec<_> = ExportFormat::ALL
            .iter()
            .map(|f| {
                let bytes = f.write(&first.model, &release);
                assert!(
                    bytes == f.write(&stored, &release),
                    "{name}: {} from the stored model differs",
                    f.name()
                );
                let m = ingest(&bytes)
                    .unwrap_or_else(|e| panic!("{name} as {}: {e}", f.name()))
                    .model;
                m
            })
            .collect();
        // JSON and XML CycloneDX agree exactly; so do SPDX JSON and tag-value.
        same(&name, "CycloneDX JSON and XML", &models[0], &models[1]);
        same(&name, "SPDX JSON and tag-value", &models[2], &models[3]);
        // Across the two, everything agrees but the licences SPDX cannot carry
        // (names that are not SPDX ids, document-local LicenseRefs), which
        // SPDX exports write as NOASSERTION by design.
        same(
            &name,
            "CycloneDX and SPDX",
            &spdx_carried(&models[0]),
            &models[2],
        );
        // Nothing of the original inventory is lost: every original component is there.
        let have: std::collections::BTreeSet<_> = models[0]
            .components
            .iter()
            .map(|c| (&c.purl, &c.name, &c.version))
            .collect();
        for c in first
            .model
            .components
            .iter()
            .chain(first.model.subject.iter())
        {
            assert!(
                have.contains(&(&c.purl, &c.name, &c.version)),
                "{name}: lost {}",
                c.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} fixtures were SBOMs");
}
