//! The signed diff between two releases, end to end against the real
//! server, `evident-verify`, and OpenSSL through the kit's `verify.sh`.
//!
//! 1. shop v1.0.0 is the demo SBOM with reachability findings (rsa 0.9.10
//!    affected); v1.1.0 moves rsa to 0.9.11, drops oci-client, adds a
//!    crate, relicenses elliptic-curve, and its findings say the rsa
//!    finding is fixed;
//! 2. a customer entitled to `v1.*` gets `…/products/shop/diff?from=v1.0.0&to=v1.1.0`:
//!    exactly those changes (one added, one removed, the version and the
//!    licence changes, the VEX state affected → fixed), logged as a
//!    download with a receipt, issued once (`export_issued`, format
//!    `evident-diff`), the same bytes the second time;
//! 3. its kit unpacks and `sh verify.sh` passes (sha256sum, openssl);
//!    `evident-verify export` accepts the diff with its two bundles, the
//!    key, the TSA chain and the log key, and names the failure when one
//!    byte of the diff changes or another release's diff is given;
//! 4. a customer who may see only v1.1.0 gets 404, and so does a diff of a
//!    release with itself (422) or of an unknown tag (404);
//! 5. the portal's diff page (signed in with the customer's token) lists
//!    the same changes.

mod common;

use std::process::Command;

use common::{sbom_fixture, verify, write, Server};
use serde_json::{json, Value};

fn push(s: &Server, t: &common::Tenant, tag: &str, sbom: &[u8], findings: Value) {
    use base64::Engine as _;
    let r = s
        .post("/api/v1/tenants/acme/releases", &t.push)
        .send_json(json!({
            "product": "shop", "tag": tag,
            "artefacts": [{"name": "shop", "digest": format!("sha256:{}", hex::encode(sha2::Sha256::digest(tag)))}],
            "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(sbom), "encoding": "base64"},
            "findings": findings,
        }));
    assert!(r.is_ok(), "{r:?}");
}

use sha2::Digest as _;

fn customer(s: &Server, t: &common::Tenant, name: &str, tag: &str) -> String {
    let c: Value = s
        .post("/api/v1/tenants/acme/customers", &t.admin)
        .send_json(json!({"name": name, "entitlements": [{"product": "shop", "tag": tag}]}))
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
    tok["token"].as_str().unwrap().to_owned()
}

fn get(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>, Option<String>) {
    match s.get(path, token).call() {
        Ok(r) => {
            let idx = r.header("x-evident-log-index").map(str::to_owned);
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
            (200, b, idx)
        }
        Err(ureq::Error::Status(c, _)) => (c, Vec::new(), None),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_signed_diff_names_what_changed_and_verifies_like_an_export() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let t = s.tenant("acme", "Acme Corp");

    // 1.
    let v1 = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let mut doc: Value = serde_json::from_slice(&v1).unwrap();
    let comps = doc["components"].as_array_mut().unwrap();
    comps.retain(|c| c["name"] != "oci-client");
    for c in comps.iter_mut() {
        if c["name"] == "rsa" {
            c["version"] = json!("0.9.11");
            c["purl"] = json!("pkg:cargo/rsa@0.9.11");
            c["bom-ref"] = json!("pkg:cargo/rsa@0.9.11");
        }
        if c["name"] == "elliptic-curve" {
            c["licenses"] = json!([{"license": {"id": "MIT"}}]);
        }
    }
    comps.push(json!({"type": "library", "bom-ref": "pkg:cargo/tinyvec@1.8.0", "name": "tinyvec",
        "version": "1.8.0", "purl": "pkg:cargo/tinyvec@1.8.0", "licenses": [{"license": {"id": "Zlib"}}]}));
    if let Some(deps) = doc["dependencies"].as_array_mut() {
        deps.retain(|d| !d["ref"].as_str().unwrap_or("").contains("oci-client"));
        for d in deps.iter_mut() {
            if let Some(on) = d["dependsOn"].as_array_mut() {
                on.retain(|r| !r.as_str().unwrap_or("").contains("oci-client"));
                for r in on.iter_mut() {
                    if r == "pkg:cargo/rsa@0.9.10" {
                        *r = json!("pkg:cargo/rsa@0.9.11");
                    }
                }
            }
            if d["ref"] == "pkg:cargo/rsa@0.9.10" {
                d["ref"] = json!("pkg:cargo/rsa@0.9.11");
            }
        }
    }
    let v2 = serde_json::to_vec(&doc).unwrap();
    let finding = |purl: &str, state: &str| {
        let mut f = json!({"id": "CVE-2099-10001", "component": {"purl": purl}, "state": state,
            "timestamp": "2099-01-02T03:04:05Z"});
        if state == "affected" {
            f["action"] = json!("Upgrade rsa.");
        }
        json!({"findings": [f]})
    };
    push(
        &s,
        &t,
        "v1.0.0",
        &v1,
        finding("pkg:cargo/rsa@0.9.10", "affected"),
    );
    push(
        &s,
        &t,
        "v1.1.0",
        &v2,
        finding("pkg:cargo/rsa@0.9.11", "fixed"),
    );
    let ann = customer(&s, &t, "Initech", "v1.*");
    let bob = customer(&s, &t, "Globex", "v1.1.0");

    // 2.
    let base = "/api/v1/tenants/acme/products/shop/diff";
    let q = "from=v1.0.0&to=v1.1.0";
    let (code, body, idx) = get(&s, &format!("{base}?{q}"), &ann);
    assert_eq!(code, 200);
    let d: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(d["format"], "evident-diff/v1");
    assert_eq!(
        (d["from"]["tag"].clone(), d["to"]["tag"].clone()),
        (json!("v1.0.0"), json!("v1.1.0"))
    );
    assert_eq!(d["summary"]["added"], 1, "{:#}", d["components"]);
    assert_eq!(d["summary"]["removed"], 1, "{:#}", d["components"]);
    assert_eq!(d["components"]["added"][0]["name"], "tinyvec");
    assert_eq!(d["components"]["removed"][0]["name"], "oci-client");
    let changed = d["components"]["changed"].as_array().unwrap();
    let rsa = changed
        .iter()
        .find(|c| c["name"] == "rsa")
        .expect("rsa changed");
    assert_eq!(
        (rsa["from"]["version"].clone(), rsa["to"]["version"].clone()),
        (json!("0.9.10"), json!("0.9.11"))
    );
    let ec = changed
        .iter()
        .find(|c| c["name"] == "elliptic-curve")
        .expect("licence change");
    assert_eq!(ec["what"], json!(["licence"]));
    assert_eq!(ec["to"]["licence"], "MIT");
    assert_eq!(changed.len(), 2, "{changed:#?}");
    assert_eq!(
        d["vex"],
        json!([{"vulnerability": "CVE-2099-10001", "component_key": "pkg:cargo/rsa",
            "component": "rsa 0.9.11", "from": "affected", "to": "fixed"}])
    );
    let index = idx.expect("a logged download");
    let (code, _, _) = get(&s, &format!("/api/v1/tenants/acme/receipts/{index}"), &ann);
    assert_eq!(code, 200, "the diff download has a receipt");
    let (_, again, _) = get(&s, &format!("{base}?{q}"), &ann);
    assert_eq!(again, body, "the same diff, byte for byte");
    let issued: Value = s
        .get(
            "/api/v1/tenants/acme/audit/events?kinds=export_issued",
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let diffs: Vec<&Value> = issued["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entry"]
                .as_str()
                .unwrap()
                .contains(r#""format":"evident-diff""#)
        })
        .collect();
    assert_eq!(diffs.len(), 1, "issued once");

    // 3.
    let (code, kit, _) = get(&s, &format!("{base}/diff-kit.tar.gz?{q}"), &ann);
    assert_eq!(code, 200);
    let kit_dir = out.path().join("kit");
    std::fs::create_dir_all(&kit_dir).unwrap();
    let tgz = write(out.path(), "kit.tar.gz", &kit);
    let st = Command::new("tar")
        .args(["-xzf", &tgz, "--strip-components=1", "-C"])
        .arg(&kit_dir)
        .status()
        .unwrap();
    assert!(st.success());
    let sh = Command::new("sh")
        .arg("verify.sh")
        .current_dir(&kit_dir)
        .output()
        .unwrap();
    assert!(
        sh.status.success(),
        "{}{}",
        String::from_utf8_lossy(&sh.stdout),
        String::from_utf8_lossy(&sh.stderr)
    );
    let name = "shop-v1.0.0r1-to-v1.1.0r1.diff.json";
    let k = |f: &str| kit_dir.join(f).to_string_lossy().into_owned();
    assert_eq!(
        std::fs::read(k(name)).unwrap(),
        body,
        "the kit holds the same diff"
    );
    let args = |file: &str| -> Vec<String> {
        vec![
            "export".into(),
            file.into(),
            "--bundle".into(),
            k(&format!("{name}.sigstore.json")),
            "--bundle".into(),
            k(&format!("{name}.intoto.sigstore.json")),
            "--key".into(),
            k("pubkey.pem"),
            "--tsa-chain".into(),
            k("tsa-chain.pem"),
            "--log-key".into(),
            k("log.vkey"),
        ]
    };
    let run = |a: Vec<String>| verify(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, so, se) = run(args(&k(name)));
    assert!(ok, "{so}{se}");
    let mut tampered = body.clone();
    let at = tampered.windows(6).position(|w| w == b"0.9.11").unwrap();
    tampered[at + 5] = b'2';
    let bad = write(out.path(), "tampered.diff.json", &tampered);
    let (ok, so, se) = run(args(&bad));
    assert!(!ok, "{so}");
    assert!(
        se.contains("SHA-256") || so.contains("SHA-256") || se.contains("digest"),
        "{so}{se}"
    );
    let (_, other, _) = get(&s, &format!("{base}?from=v1.1.0&to=v1.0.0"), &ann);
    let other = write(out.path(), "other.diff.json", &other);
    let (ok, so, se) = run(args(&other));
    assert!(!ok, "another diff with this diff's bundles: {so}{se}");

    // 4.
    let (code, _, _) = get(&s, &format!("{base}?{q}"), &bob);
    assert_eq!(code, 404, "bob may not see v1.0.0");
    let (code, _, _) = get(&s, &format!("{base}?from=v1.1.0&to=v1.1.0"), &ann);
    assert_eq!(code, 422);
    let (code, _, _) = get(&s, &format!("{base}?from=v0.9&to=v1.1.0"), &ann);
    assert_eq!(code, 404);

    // 5.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{}/t/acme/token-login", s.url))
        .send_form(&[("token", &ann)]);
    let cookie = match r {
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
        .get(&format!("{}/t/acme/products/shop/diff?{q}", s.url))
        .set("cookie", &format!("evident_session={cookie}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    for want in [
        "1 added, 1 removed, 2 changed",
        "tinyvec",
        "oci-client",
        "0.9.10 \u{2192} 0.9.11",
        "affected",
        "fixed",
    ] {
        assert!(page.contains(want), "{want} missing from the page");
    }
    s.stop();
}
