//! Product hierarchy and aggregate SBOMs, end to end against the real
//! server and the official validators.
//!
//! 1. components `shop-api` v3.1.0 (and v3.0.0) and `shop-web` v2.0.0 are
//!    pushed as releases of their own; the product release `shop` v1.0.0
//!    names `shop-api` v3.1.0 and `shop-web` v2.0.0 (each pinned at its
//!    latest revision, recorded in `release_pushed`); a push naming an
//!    unknown release, its own product, or a product release is 422;
//! 2. a customer entitled to `shop` v1.0.0 only also sees and downloads
//!    its components (not shop-api v3.0.0);
//! 3. the aggregate SBOM in all four formats passes cyclonedx-python-lib
//!    (strict JSON, XML schema) and spdx-tools (parse and full validation);
//!    it links each component by the exact export the customer downloads:
//!    CycloneDX by a BOM-Link to the component export's serial number with
//!    that export's SHA-256, SPDX by an external document reference to its
//!    namespace with its SHA-1 and a DESCRIBED_BY relationship; the
//!    aggregate is issued (`export_issued`) and logged;
//! 4. a release naming no components has no aggregate (404).

mod common;

use std::process::Command;

use common::{sbom_fixture, write, Server, Tenant};
use serde_json::{json, Value};
use sha2::Digest as _;

fn push(
    s: &Server,
    t: &Tenant,
    product: &str,
    tag: &str,
    sbom: &[u8],
    components: Value,
) -> Result<Value, (u16, String)> {
    use base64::Engine as _;
    match s
        .post("/api/v1/tenants/acme/releases", &t.push)
        .send_json(json!({
            "product": product, "tag": tag,
            "artefacts": [{"name": product, "digest": format!("sha256:{}", hex::encode(sha2::Sha256::digest(format!("{product}{tag}"))))}],
            "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(sbom), "encoding": "base64"},
            "components": components,
        })) {
        Ok(r) => Ok(r.into_json().unwrap()),
        Err(ureq::Error::Status(c, r)) => Err((c, r.into_string().unwrap_or_default())),
        Err(e) => panic!("{e}"),
    }
}

fn get(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>) {
    match s.get(path, token).call() {
        Ok(r) => {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
            (200, b)
        }
        Err(ureq::Error::Status(c, _)) => (c, Vec::new()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_product_release_links_its_components_sboms_in_every_format() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let t = s.tenant("acme", "Acme Corp");
    let cdx = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let spdx = sbom_fixture("cargo-sbom-evidence-demo.spdx.json");
    let none = json!([]);

    // 1.
    push(&s, &t, "shop-api", "v3.0.0", &cdx, none.clone()).unwrap();
    push(&s, &t, "shop-api", "v3.1.0", &cdx, none.clone()).unwrap();
    push(&s, &t, "shop-web", "v2.0.0", &spdx, none.clone()).unwrap();
    let parts =
        json!([{"product": "shop-api", "tag": "v3.1.0"}, {"product": "shop-web", "tag": "v2.0.0"}]);
    let p = push(&s, &t, "shop", "v1.0.0", &cdx, parts).unwrap();
    assert_eq!(
        p["release"]["components"],
        json!([{"product": "shop-api", "tag": "v3.1.0", "revision": 1}, {"product": "shop-web", "tag": "v2.0.0", "revision": 1}])
    );
    for (components, says) in [
        (
            json!([{"product": "shop-db", "tag": "v1"}]),
            "no release shop-db v1",
        ),
        (
            json!([{"product": "shop", "tag": "v1.0.0"}]),
            "its own product",
        ),
    ] {
        let (code, body) = push(&s, &t, "shop", "v1.1.0", &cdx, components).unwrap_err();
        assert_eq!(code, 422, "{body}");
        assert!(body.contains(says), "{body}");
    }
    let (code, body) = push(
        &s,
        &t,
        "suite",
        "v1",
        &cdx,
        json!([{"product": "shop", "tag": "v1.0.0"}]),
    )
    .unwrap_err();
    assert_eq!(code, 422);
    assert!(body.contains("is a product release itself"), "{body}");
    let pushed: Value = s
        .get(
            "/api/v1/tenants/acme/audit/events?kinds=release_pushed&product=shop",
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let leaf: Value =
        serde_json::from_str(pushed["entries"][0]["entry"].as_str().unwrap()).unwrap();
    assert_eq!(
        leaf["event"]["components"],
        json!(["shop-api:v3.1.0@1", "shop-web:v2.0.0@1"])
    );

    // 2.
    let c: Value = s
        .post("/api/v1/tenants/acme/customers", &t.admin)
        .send_json(
            json!({"name": "Initech", "entitlements": [{"product": "shop", "tag": "v1.0.0"}]}),
        )
        .unwrap()
        .into_json()
        .unwrap();
    let tok: Value = s
        .post(
            &format!(
                "/api/v1/tenants/acme/customers/{}/tokens",
                c["id"].as_str().unwrap()
            ),
            &t.admin,
        )
        .send_json(json!({}))
        .unwrap()
        .into_json()
        .unwrap();
    let ann = tok["token"].as_str().unwrap().to_owned();
    let entitled: Value = s
        .get("/api/v1/tenants/acme/entitled", &ann)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let mut seen: Vec<String> = entitled
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["product"].as_str().unwrap(),
                r["tag"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["shop v1.0.0", "shop-api v3.1.0", "shop-web v2.0.0"]);
    let export = |p: &str, tag: &str, f: &str| {
        get(
            &s,
            &format!("/api/v1/tenants/acme/products/{p}/releases/{tag}/sbom?format={f}&vex=0"),
            &ann,
        )
    };
    let (code, api_cdx) = export("shop-api", "v3.1.0", "cyclonedx-json");
    assert_eq!(
        code, 200,
        "the product release's entitlement covers its components"
    );
    let (code, _) = export("shop-api", "v3.0.0", "cyclonedx-json");
    assert_eq!(code, 404, "but not the component's other releases");

    // 3.
    let base = "/api/v1/tenants/acme/products/shop/releases/v1.0.0/aggregate";
    let mut files = Vec::new();
    for (f, ext) in [
        ("cyclonedx-json", "cdx.json"),
        ("cyclonedx-xml", "cdx.xml"),
        ("spdx-json", "spdx.json"),
        ("spdx-tv", "spdx"),
    ] {
        let (code, b) = get(&s, &format!("{base}?format={f}"), &ann);
        assert_eq!(code, 200, "{f}");
        files.push(write(out.path(), &format!("aggregate.{ext}"), &b));
    }
    let v = Command::new("python3")
        .arg(common::interop().join("validate_sbom.py"))
        .args(&files)
        .output()
        .expect("python3 with cyclonedx-python-lib and spdx-tools (.ci/setup installs them)");
    let judged = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{judged}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert_eq!(
        judged
            .lines()
            .filter(|l| l.contains(r#""ok": true"#))
            .count(),
        4,
        "{judged}"
    );
    let agg: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let api_doc: Value = serde_json::from_slice(&api_cdx).unwrap();
    let api_comp = agg["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "shop-api")
        .expect("shop-api in the aggregate");
    assert_eq!(api_comp["version"], "v3.1.0");
    let link = &api_comp["externalReferences"][0];
    assert_eq!(link["type"], "bom");
    assert_eq!(
        link["url"],
        format!(
            "urn:cdx:{}/1",
            api_doc["serialNumber"]
                .as_str()
                .unwrap()
                .trim_start_matches("urn:uuid:")
        )
    );
    assert_eq!(
        link["hashes"][0]["content"],
        hex::encode(sha2::Sha256::digest(&api_cdx))
    );
    assert_ne!(agg["serialNumber"], api_doc["serialNumber"]);
    assert_eq!(
        agg["components"].as_array().unwrap().len(),
        2,
        "linked, not flattened"
    );
    let (_, web_spdx) = export("shop-web", "v2.0.0", "spdx-json");
    let web: Value = serde_json::from_slice(&web_spdx).unwrap();
    let agg_spdx: Value = serde_json::from_slice(&std::fs::read(&files[2]).unwrap()).unwrap();
    let refs = agg_spdx["externalDocumentRefs"].as_array().unwrap();
    let web_ref = refs
        .iter()
        .find(|r| r["spdxDocument"] == web["documentNamespace"])
        .expect("shop-web's SPDX document is referenced");
    assert_eq!(web_ref["checksum"]["algorithm"], "SHA1");
    assert_eq!(
        web_ref["checksum"]["checksumValue"],
        hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&web_spdx))
    );
    let id = web_ref["externalDocumentId"].as_str().unwrap();
    assert!(
        agg_spdx["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["relationshipType"] == "DESCRIBED_BY"
                && r["relatedSpdxElement"] == format!("{id}:SPDXRef-DOCUMENT")),
        "{:#}",
        agg_spdx["relationships"]
    );
    let tv = std::fs::read_to_string(&files[3]).unwrap();
    assert!(tv.contains(&format!("ExternalDocumentRef: {id} ")), "{tv}");
    let issued: Value = s
        .get(
            "/api/v1/tenants/acme/audit/events?kinds=export_issued&product=shop",
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let mut formats: Vec<String> = issued["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["entry"].as_str().unwrap()).unwrap()["event"]["format"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .filter(|f| f.starts_with("aggregate-"))
        .collect();
    formats.sort();
    assert_eq!(
        formats,
        [
            "aggregate-cyclonedx-json",
            "aggregate-cyclonedx-xml",
            "aggregate-spdx-json",
            "aggregate-spdx-tv"
        ]
    );

    // The release page names the components and links the aggregate.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let cookie = match agent
        .post(&format!("{}/t/acme/token-login", s.url))
        .send_form(&[("token", &ann)])
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r
            .all("set-cookie")
            .into_iter()
            .find_map(|c| {
                c.strip_prefix("evident_session=")
                    .map(|v| v.split(';').next().unwrap().to_owned())
            })
            .expect("a session"),
        Err(e) => panic!("{e}"),
    };
    let page = agent
        .get(&format!("{}/t/acme/releases/shop/v1.0.0", s.url))
        .set("cookie", &format!("evident_session={cookie}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("/t/acme/releases/shop-api/v3.1.0")
            && page.contains("/aggregate?format=spdx-tv")
    );

    // Nobody else reads the components through the product.
    let c2: Value = s
        .post("/api/v1/tenants/acme/customers", &t.admin)
        .send_json(json!({"name": "Globex", "entitlements": [{"product": "other", "tag": "*"}]}))
        .unwrap()
        .into_json()
        .unwrap();
    let t2: Value = s
        .post(
            &format!(
                "/api/v1/tenants/acme/customers/{}/tokens",
                c2["id"].as_str().unwrap()
            ),
            &t.admin,
        )
        .send_json(json!({}))
        .unwrap()
        .into_json()
        .unwrap();
    let bob = t2["token"].as_str().unwrap();
    let (code, _) = get(
        &s,
        "/api/v1/tenants/acme/products/shop-api/releases/v3.1.0/sbom?format=cyclonedx-json",
        bob,
    );
    assert_eq!(code, 404);
    // A component names no components; a new revision of the product
    // release that drops a component takes its coverage away.
    let (code, body) = push(
        &s,
        &t,
        "shop-api",
        "v3.1.0",
        &spdx,
        json!([{"product": "shop-web", "tag": "v2.0.0"}]),
    )
    .unwrap_err();
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("a component names no components"), "{body}");
    push(
        &s,
        &t,
        "shop",
        "v1.0.0",
        &cdx,
        json!([{"product": "shop-web", "tag": "v2.0.0"}]),
    )
    .unwrap();
    let (code, _) = export("shop-api", "v3.1.0", "cyclonedx-json");
    assert_eq!(
        code, 404,
        "no longer a component of what the customer may see"
    );
    let (code, _) = export("shop-web", "v2.0.0", "cyclonedx-json");
    assert_eq!(code, 200);

    // The aggregate's kit: `sh verify.sh` (OpenSSL) and `evident-verify
    // export` accept it; one changed byte, or a component's export put in
    // its place, fails.
    let (code, kit) = get(
        &s,
        &format!("{base}/aggregate-kit.tar.gz?format=cyclonedx-json"),
        &ann,
    );
    assert_eq!(code, 200);
    let kit_dir = out.path().join("kit");
    std::fs::create_dir_all(&kit_dir).unwrap();
    let tgz = write(out.path(), "kit.tar.gz", &kit);
    assert!(Command::new("tar")
        .args(["-xzf", &tgz, "--strip-components=1", "-C"])
        .arg(&kit_dir)
        .status()
        .unwrap()
        .success());
    let sh = Command::new("sh")
        .arg("verify.sh")
        .current_dir(&kit_dir)
        .output()
        .unwrap();
    assert!(
        sh.status.success(),
        "{}",
        String::from_utf8_lossy(&sh.stdout)
    );
    let name = std::fs::read_dir(&kit_dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("aggregate-") && n.ends_with(".cdx.json"))
        .expect("the aggregate in the kit");
    let k = |f: &str| kit_dir.join(f).to_string_lossy().into_owned();
    let check = |file: &str| {
        common::verify(&[
            "export",
            file,
            "--bundle",
            &k(&format!("{name}.sigstore.json")),
            "--bundle",
            &k(&format!("{name}.intoto.sigstore.json")),
            "--key",
            &k("pubkey.pem"),
            "--tsa-chain",
            &k("tsa-chain.pem"),
            "--log-key",
            &k("log.vkey"),
        ])
    };
    let (ok, so, se) = check(&k(&name));
    assert!(ok, "{so}{se}");
    let mut bad = std::fs::read(k(&name)).unwrap();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    let bad = write(out.path(), "tampered.cdx.json", bad);
    let (ok, so, _) = check(&bad);
    assert!(!ok, "a changed byte: {so}");
    let swapped = write(out.path(), "swapped.cdx.json", &api_cdx);
    let (ok, so, _) = check(&swapped);
    assert!(!ok, "a component's export in the aggregate's place: {so}");

    // 4.
    let (code, _) = get(
        &s,
        "/api/v1/tenants/acme/products/shop-api/releases/v3.1.0/aggregate?format=cyclonedx-json",
        &t.admin,
    );
    assert_eq!(code, 404);
    s.stop();
}
