//! The portal against real peers: node's `oidc-provider` on loopback (one
//! instance per behaviour, `tests/interop/oidc_idp.mjs`) and Debian's
//! chromium driven by `playwright-core` (`tests/interop/portal_browser.mjs`),
//! with the receipt of a browser download checked by `evident-verify`.
//!
//! Steps and what each expects:
//! 1. evident serve; tenant `acme` with releases shop v1.0.0, v1.1.0, v2.0.0;
//! 2. IdPs: `normal` (clients for Acme and Globex), `wrong-nonce`,
//!    `expired`, `other-issuer`, each started by this test;
//! 3. customers: Acme (`email` ends with `@acme.example`, shop `v1.*`),
//!    Globex (`groups` contains `globex-sbom`, shop `latest`), and one
//!    customer per bent IdP;
//! 4. in the browser: Ann of Acme signs in on the IdP's own pages, sees
//!    v1.1.0 and v1.0.0 only, clicks the CycloneDX JSON download of v1.1.0,
//!    signs out; the saved file is the export, its `download_served` entry
//!    names Ann as the IdP did, and `evident-verify receipt --file` accepts
//!    the entry's receipt;
//! 5. Bob of Globex (by group) sees only v2.0.0, marked latest;
//! 6. refused, each with its reason and no session: a user whose claims match
//!    no rule, a wrong nonce, an expired ID token, a token from another issuer;
//! 7. the session cookie after logout is refused by the API (401);
//! 8. the IdP restarts at the same issuer with a new signing key (a key
//!    rotation): Ann signs in again, through one more fetch of the JWKS;
//! 9. an IdP at oidc-provider's own defaults (`conformIdTokenClaims`), whose
//!    ID token carries only `sub`: Dana of Initech (`email` equals
//!    `dana@initech.example`, found by the domain she types) signs in with
//!    the e-mail claim from UserInfo, and her download names her address.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{interop, sbom_fixture, Idp, Server};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn client(id: &str, redirect: &str) -> Value {
    json!({"client_id": id, "client_secret": format!("{id}-secret"), "redirect_uris": [redirect]})
}

/// Runs `portal_browser.mjs` on `scenarios` (written to `cfg`) and returns
/// its result lines, one JSON object per scenario, with its whole stdout.
fn browse(cfg: &Path, scenarios: &Value) -> (Vec<Value>, String) {
    std::fs::write(cfg, scenarios.to_string()).unwrap();
    let res = Command::new("node")
        .arg(interop().join("portal_browser.mjs"))
        .arg(cfg)
        .env("NODE_PATH", interop().join("node_modules"))
        .current_dir(interop())
        .output()
        .expect("node (installed by .ci/setup)");
    let stdout = String::from_utf8_lossy(&res.stdout).into_owned();
    assert!(
        res.status.success(),
        "portal_browser.mjs: {stdout}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let results = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (results, stdout)
}

#[test]
fn customers_sign_in_through_a_real_idp_in_a_real_browser() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    // 1.
    // The IdPs of this test are plain http:// on loopback.
    let s = Server::start_with(&root.join("data"), &["--allow-http-idp-on-loopback"]);
    let redirect = format!("{}/t/acme/callback", s.url);
    let t = s.tenant("acme", "Acme Vendor");
    let (admin, vkey) = (t.admin.clone(), t.vkey.clone());
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    for tag in ["v1.0.0", "v1.1.0", "v2.0.0"] {
        let artefact = format!("sha256:{}", hex::encode(Sha256::digest(tag)));
        s.push_release(&t, "shop", tag, &artefact, &sbom);
    }
    // 2.
    let normal = Idp::start(
        "normal",
        json!([
            client("acme-portal", &redirect),
            client("globex-portal", &redirect)
        ]),
    );
    let bent: Vec<(&str, Idp)> = ["wrong-nonce", "expired", "other-issuer"]
        .into_iter()
        .map(|m| {
            (
                m,
                Idp::start(m, json!([client(&format!("{m}-portal"), &redirect)])),
            )
        })
        .collect();
    // 3.
    let add = |name: &str, issuer: &str, client_id: &str, rule: Value, tag: &str| -> Value {
        let r = s
            .post("/api/v1/tenants/acme/customers", &admin)
            .send_json(json!({
                "name": name,
                "entitlements": [{"product": "shop", "tag": tag}],
                "sso": [{"issuer": issuer, "client_id": client_id,
                         "client_secret": format!("{client_id}-secret"), "rule": rule}],
            }))
            .unwrap();
        assert_eq!(r.status(), 201);
        r.into_json().unwrap()
    };
    let email = |d: &str| json!({"claim": "email", "op": "ends_with", "value": format!("@{d}")});
    add(
        "Acme Corp",
        &normal.issuer,
        "acme-portal",
        email("acme.example"),
        "v1.*",
    );
    // Globex admits by group, not by e-mail domain.
    let g = add(
        "Globex",
        &normal.issuer,
        "globex-portal",
        json!({"claim": "groups", "op": "contains", "value": "globex-sbom"}),
        "latest",
    );
    let globex_link = format!(
        "/t/acme/login?binding={}.{}",
        g["id"].as_str().unwrap(),
        g["sso"][0]["id"].as_str().unwrap()
    );
    for (mode, idp) in &bent {
        let _ = add(
            &format!("{mode} Corp"),
            &idp.issuer,
            &format!("{mode}-portal"),
            email(&format!("{mode}.example")),
            "v1.*",
        );
    }

    // 4. and 6., in the browser.
    let out = root.join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let scenarios = json!({
        "base": s.url, "tenant": "acme", "out": out,
        "scenarios": [
            {"name": "ann", "email": "ann@acme.example", "login": "ann@acme.example",
             "download": {"tag": "v1.1.0", "format": "CycloneDX 1.6 JSON"}},
            {"name": "no-rule", "email": "mallory@acme.example", "login": "mallory@evil.example"},
            {"name": "wrong-nonce", "email": "x@wrong-nonce.example", "login": "x@wrong-nonce.example"},
            {"name": "expired", "email": "x@expired.example", "login": "x@expired.example"},
            {"name": "other-issuer", "email": "x@other-issuer.example", "login": "x@other-issuer.example"},
        ],
    });
    let cfg = root.join("scenarios.json");
    let (results, stdout) = browse(&cfg, &scenarios);
    let by = |n: &str| -> &Value {
        results
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("no result for {n}: {stdout}"))
    };

    // 4.
    let ann = by("ann");
    assert!(ann["error"].is_null(), "{ann}\nall: {stdout}");
    assert!(ann["url"].as_str().unwrap().ends_with("/t/acme/"), "{ann}");
    let rows: Vec<&str> = ann["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains("v1.1.0") && rows[1].contains("v1.0.0"),
        "{rows:?}"
    );
    assert!(!ann["text"].as_str().unwrap().contains("v2.0.0"), "{ann}");
    let file = PathBuf::from(ann["file"].as_str().unwrap());
    let got = std::fs::read(&file).unwrap();
    let want = {
        let mut b = Vec::new();
        let r = s
            .get(
                "/api/v1/tenants/acme/products/shop/releases/v1.1.0/sbom?format=cyclonedx-json",
                &admin,
            )
            .call()
            .unwrap();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
        b
    };
    assert_eq!(got, want, "the browser's download is the export");
    // The download's own log entry: Playwright gives no response headers
    // for a download, so find the entry by what it must record (the
    // digest of the file the browser saved, and Ann as the IdP named her),
    // then fetch its receipt.
    let size: u64 = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let entries: Value = s
        .get(
            &format!("/api/v1/tenants/acme/log/entries?start=0&end={size}"),
            &admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let file_sha = hex::encode(Sha256::digest(&got));
    let index = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| {
            let ev = &e["event"]["event"];
            (ev["kind"] == "download_served"
                && ev["sha256"] == file_sha.as_str()
                && ev["subject"]["email"] == "ann@acme.example")
                .then(|| e["index"].as_u64())
                .flatten()
        })
        .unwrap_or_else(|| {
            panic!("no download_served entry for the browser's download: {entries}")
        });
    let r = s
        .get(&format!("/api/v1/tenants/acme/receipts/{index}"), &admin)
        .call()
        .unwrap();
    let receipt_path = root.join("receipt.json");
    std::fs::write(&receipt_path, r.into_string().unwrap()).unwrap();
    let vkey_file = root.join("log.vkey");
    std::fs::write(&vkey_file, &vkey).unwrap();
    let (ok, out, err) = common::verify(&[
        "receipt",
        receipt_path.to_str().unwrap(),
        "--log-key",
        vkey_file.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("receipt verified"), "{out}{err}");
    assert!(out.contains("shop v1.1.0"), "{out}");
    // The receipt names Ann as the IdP saw her.
    let receipt: Value = serde_json::from_slice(&std::fs::read(&receipt_path).unwrap()).unwrap();
    let entry: Value = serde_json::from_str(receipt["entry"].as_str().unwrap()).unwrap();
    assert_eq!(
        entry["event"]["subject"],
        json!({"type": "oidc", "issuer": normal.issuer, "subject": "ann@acme.example", "email": "ann@acme.example"})
    );
    // A receipt is refused for another file.
    std::fs::write(root.join("other"), b"other bytes").unwrap();
    let (ok, _, err) = common::verify(&[
        "receipt",
        receipt_path.to_str().unwrap(),
        "--log-key",
        vkey_file.to_str().unwrap(),
        "--file",
        root.join("other").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("file digest"), "{err}");
    // 7.
    assert!(ann["after_logout_url"]
        .as_str()
        .unwrap()
        .ends_with("/t/acme/login"));
    let old = ann["session_cookie"].as_str().unwrap();
    let e = ureq::get(&format!("{}/api/v1/tenants/acme/entitled", s.url))
        .set("Cookie", &format!("evident_session={old}"))
        .call()
        .unwrap_err();
    assert!(matches!(e, ureq::Error::Status(401, _)), "{e:?}");

    // 6.
    for (name, reason) in [
        ("no-rule", "does not admit you"),
        ("wrong-nonce", "nonce"),
        ("expired", "expired"),
        ("other-issuer", "another identity provider"),
    ] {
        let r = by(name);
        assert!(r["error"].is_null(), "{r}");
        let text = r["text"].as_str().unwrap();
        assert!(
            text.contains("Sign-in failed") && text.contains(reason),
            "{name}: {text}"
        );
        assert!(
            !r["cookies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "evident_session"),
            "{name} left a session: {r}"
        );
        assert!(
            matches!(r["status"].as_u64(), Some(401 | 403)),
            "{name}: {r}"
        );
    }

    // The log holds Ann's OIDC sign-in (her IdP subject and address, the
    // session's id, never its cookie) and its end at sign-out; the four
    // refusals are sign_in_failed entries with reason codes only (the
    // first at once, the others of that minute waiting to be aggregated).
    let q = |kinds: &str| -> Vec<Value> {
        let v: Value = s
            .get(
                &format!("/api/v1/tenants/acme/audit/events?kinds={kinds}&order=oldest"),
                &admin,
            )
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(e["entry"].as_str().unwrap()).unwrap())
            .collect()
    };
    let sign_ins = q("signed_in");
    let ann_in = sign_ins
        .iter()
        .find(|e| e["actor"]["subject"]["email"] == "ann@acme.example")
        .unwrap_or_else(|| panic!("Ann's sign-in: {sign_ins:?}"));
    assert_eq!(ann_in["event"]["method"], "oidc");
    assert_eq!(ann_in["actor"]["subject"]["type"], "oidc");
    assert!(!ann_in.to_string().contains(old), "no cookie in the log");
    let ends = q("session_ended");
    assert!(
        ends.iter()
            .any(|e| e["event"]["session"] == ann_in["event"]["session"]
                && e["event"]["reason"] == "sign_out"),
        "Ann's sign-out: {ends:?}"
    );
    let failed = q("sign_in_failed");
    assert!(!failed.is_empty());
    for f in &failed {
        assert_eq!(f["event"]["method"], "oidc");
        let reason = f["event"]["reason"].as_str().unwrap();
        assert!(
            [
                "rule_not_met",
                "refused_or_expired",
                "bad_response",
                "error"
            ]
            .contains(&reason),
            "a reason code, not text: {f}"
        );
        assert!(!f.to_string().contains("@"), "no address or claim: {f}");
    }

    // 5. Bob signs in by group, through the sign-in link Globex was given
    // (a group rule names no e-mail domain to pick the binding by).
    let scenarios = json!({
        "base": s.url, "tenant": "acme", "out": out,
        "scenarios": [{"name": "bob", "login": "bob@globex.example",
                       "start": globex_link}],
    });
    let bob = browse(&cfg, &scenarios).0.remove(0);
    assert!(bob["error"].is_null(), "{bob}");
    let rows = bob["releases"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{bob}");
    let row = rows[0].as_str().unwrap();
    assert!(row.contains("v2.0.0") && row.contains("(latest)"), "{row}");

    // 8. The IdP rotates its signing key: the same issuer, restarted with
    // a new key under a new kid. The server's cached JWKS no longer has the
    // key; it fetches the JWKS once more and Ann signs in again.
    let port: u16 = normal.issuer.rsplit(':').next().unwrap().parse().unwrap();
    let clients = json!([
        client("acme-portal", &redirect),
        client("globex-portal", &redirect)
    ]);
    drop(normal);
    let rotated = Idp::start_at("normal", clients, port);
    let scenarios = json!({
        "base": s.url, "tenant": "acme", "out": out,
        "scenarios": [{"name": "ann-rotated", "email": "ann@acme.example",
                       "login": "ann@acme.example"}],
    });
    let again = browse(&cfg, &scenarios).0.remove(0);
    assert!(again["error"].is_null(), "{again}");
    assert!(
        again["url"].as_str().unwrap().ends_with("/t/acme/"),
        "signed in after the key rotation: {again}"
    );

    // 9. oidc-provider at its defaults: a thin ID token, claims from UserInfo.
    let defaults = Idp::start("defaults", json!([client("initech-portal", &redirect)]));
    add(
        "Initech",
        &defaults.issuer,
        "initech-portal",
        json!({"claim": "email", "op": "equals", "value": "dana@initech.example"}),
        "v1.*",
    );
    let scenarios = json!({
        "base": s.url, "tenant": "acme", "out": root.join("browser"),
        "scenarios": [{"name": "dana", "email": "dana@initech.example",
                       "login": "dana@initech.example",
                       "download": {"tag": "v1.0.0", "format": "CycloneDX 1.6 JSON"}}],
    });
    let dana = browse(&cfg, &scenarios).0.remove(0);
    assert!(dana["error"].is_null(), "{dana}");
    assert!(
        dana["url"].as_str().unwrap().ends_with("/t/acme/"),
        "signed in with claims from UserInfo: {dana}"
    );
    let size: u64 = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let entries: Value = s
        .get(
            &format!(
                "/api/v1/tenants/acme/log/entries?start={}&end={size}",
                size.saturating_sub(20)
            ),
            &admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(
        entries["entries"].as_array().unwrap().iter().any(|e| {
            let ev = &e["event"]["event"];
            ev["kind"] == "download_served"
                && ev["subject"]["email"] == "dana@initech.example"
                && ev["subject"]["issuer"] == defaults.issuer.as_str()
        }),
        "Dana's download names the address UserInfo gave: {entries}"
    );
    drop(defaults);
    drop(bent);
    drop(rotated);
    s.stop();
}
