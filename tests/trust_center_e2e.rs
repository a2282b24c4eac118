//! The portal as a trust center, end to end: the real server, Debian's
//! chromium driven by playwright-core, axe-core judging accessibility, and
//! `evident-verify` judging the receipts.
//!
//! 1. tenants `acme` and `globex`; `acme` has releases shop v1.0.0 and
//!    v2.0.0, a customer entitled to `v1.*` with an access token, a share
//!    link and a regulator request;
//! 2. in Chromium (`tests/interop/trust_browser.mjs`): the admin brands the
//!    portal through its settings page (name, description, contact,
//!    colour, public with `shop:v1.*`) and uploads a PNG logo through the
//!    file input; the header then shows the name and the decoded logo, the
//!    footer the contact, the frame the colour; the admin visits every
//!    page of its navigation; the customer opens a release, downloads an
//!    export, opens "My downloads" and exports it with receipts; nobody
//!    signed in sees the public front page with v1.0.0 only, downloads
//!    from it, and fetches the receipt the download links to;
//! 3. axe-core (WCAG 2.0 and 2.1, A and AA) finds no violation on any of
//!    those pages, nor on the share link's page, the sign-in pages
//!    (branded and neutral) and the not-found page;
//! 4. `evident-verify receipts` accepts the customer's export and names
//!    what fails when a receipt is dropped, an entry changed, or the list
//!    is checked with another tenant's key; `evident-verify receipt`
//!    accepts the public download's receipt with the downloaded file;
//! 5. the log holds one `portal_updated`, one `portal_logo_changed`, the
//!    `receipts_exported`, and the public download under an anonymous
//!    subject.

mod common;

use std::process::Command;

use common::{sbom_fixture, verify, write, Server};
use serde_json::{json, Value};

/// A 48×48 PNG in two colours, written by the `png` crate.
fn logo() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, 48, 48);
        e.set_color(png::ColorType::Rgb);
        let mut w = e.write_header().unwrap();
        let px: Vec<u8> = (0..48 * 48)
            .flat_map(|i| {
                if (i / 48 + i % 48) % 2 == 0 {
                    [11, 110, 79]
                } else {
                    [255, 255, 255]
                }
            })
            .collect();
        w.write_image_data(&px).unwrap();
    }
    out
}

#[test]
fn a_branded_public_portal_is_accessible_and_its_receipts_verify() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let t = s.tenant("acme", "Acme Corp");
    let globex = s.tenant("globex", "Globex");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    for (tag, d) in [("v1.0.0", "01"), ("v2.0.0", "02")] {
        s.push_release(&t, "shop", tag, &format!("sha256:{}", d.repeat(32)), &sbom);
    }
    // A product release made of a component release (its page is scanned).
    s.push_release(
        &t,
        "shop-api",
        "v3.1.0",
        &format!("sha256:{}", "03".repeat(32)),
        &sbom,
    );
    {
        use base64::Engine as _;
        s.post("/api/v1/tenants/acme/releases", &t.push)
            .send_json(json!({
                "product": "suite", "tag": "v1", "artefacts": [{"name": "suite", "digest": format!("sha256:{}", "04".repeat(32))}],
                "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(&sbom), "encoding": "base64"},
                "components": [{"product": "shop-api", "tag": "v3.1.0"}],
            }))
            .unwrap();
    }
    let c: Value = s
        .post("/api/v1/tenants/acme/customers", &t.admin)
        .send_json(json!({"name": "Initech", "entitlements": [{"product": "shop", "tag": "v1.*"}]}))
        .unwrap()
        .into_json()
        .unwrap();
    let cid = c["id"].as_str().unwrap().to_owned();
    let tok: Value = s
        .post(
            &format!("/api/v1/tenants/acme/customers/{cid}/tokens"),
            &t.admin,
        )
        .send_json(json!({}))
        .unwrap()
        .into_json()
        .unwrap();
    let link: Value = s
        .post("/api/v1/tenants/acme/share-links", &t.admin)
        .send_json(json!({"product": "shop", "tag": "v1.0.0"}))
        .unwrap()
        .into_json()
        .unwrap();
    let share_path = link["url"]
        .as_str()
        .unwrap()
        .split_once("/s/")
        .map(|(_, tok)| format!("/s/{tok}"))
        .unwrap();
    let req: Value = s
        .post("/api/v1/tenants/acme/regulator-requests", &t.admin)
        .send_json(json!({
            "authority": {"name": "Agence nationale de la sécurité des systèmes d'information", "country": "FR", "kind": "csirt"},
            "notice_reference": "ANSSI-2026-0412",
            "legal_basis": "Regulation (EU) 2024/2847, Article 14",
            "contact": "cra@anssi.example",
            "received_on": "2026-12-01",
            "deadline": "2026-12-31",
            "production_digests": [format!("sha256:{}", "01".repeat(32))],
        }))
        .unwrap()
        .into_json()
        .unwrap();
    let req_id = req["id"].as_str().unwrap();
    // A security advisory, drafted and published through the API.
    let findings = json!({"findings": [{"id": "CVE-2099-10001", "aliases": ["GHSA-9q2c-xv4m-hp7w"],
        "component": {"purl": "pkg:cargo/rsa@0.9.10"}, "state": "affected",
        "action": "Upgrade to shop v2.0.0.", "timestamp": "2099-01-02T03:04:05Z"},
        {"id": "CVE-2099-10002", "component": {"purl": "pkg:cargo/idna@1.1.0"}, "state": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path", "timestamp": "2099-01-02T03:04:05Z"}]});
    let adv: Value = s
        .post(
            "/api/v1/tenants/acme/advisories?product=shop&tag=v1.0.0&id=ACME-SA-2026-001&title=RSA%20timing%20side%20channel&summary=Upgrade.&reference=https://acme.example/sa/2026-001",
            &t.admin,
        )
        .send_json(findings)
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(adv["state"], "draft");
    s.post(
        "/api/v1/tenants/acme/advisories/ACME-SA-2026-001/publish",
        &t.admin,
    )
    .call()
    .unwrap();
    // One without a reference: its own portal page is the reference.
    s.post(
        "/api/v1/tenants/acme/advisories?product=shop&tag=v1.0.0&id=ACME-SA-2026-002&title=IDNA&summary=Not%20affected.",
        &t.admin,
    )
    .send_json(json!({"findings": [{"id": "CVE-2099-10002", "component": {"purl": "pkg:cargo/idna@1.1.0"}, "state": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path", "timestamp": "2099-01-02T03:04:05Z"}]}))
    .unwrap();
    s.post(
        "/api/v1/tenants/acme/advisories/ACME-SA-2026-002/publish",
        &t.admin,
    )
    .call()
    .unwrap();
    let logo_path = write(out.path(), "logo.png", logo());
    let pdf = b"%PDF-1.7\n% Acme EU declaration of conformity\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    let doc_path = write(out.path(), "doc.pdf", pdf);
    let cfg = write(
        out.path(),
        "trust.json",
        json!({
            "base": s.url, "tenant": "acme", "admin_token": t.admin,
            "customer_token": tok["token"], "logo": logo_path, "document": doc_path, "out": out.path(),
            "extra_pages": [
                format!("/t/acme/admin/regulator/{req_id}"),
                "/t/acme/releases/shop/v2.0.0",
                "/t/acme/products/shop/diff?from=v1.0.0&to=v2.0.0",
                "/t/acme/search?q=pkg%3Acargo%2Frsa&version=%3E%3D0.9.0",
                "/t/acme/search?q=no-such-crate",
                "/t/acme/advisories/ACME-SA-2026-001",
                "/t/acme/releases/suite/v1",
            ],
            "anonymous_pages": [share_path, "/t/globex/login", "/s/no-such-link", "/t/acme/releases/shop/v1.0.0"],
        })
        .to_string(),
    );

    // 2.
    let res = Command::new("node")
        .arg(common::interop().join("trust_browser.mjs"))
        .arg(&cfg)
        .env("NODE_PATH", common::interop().join("node_modules"))
        .current_dir(common::interop())
        .output()
        .expect("node (installed by .ci/setup)");
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(seen["error"].is_null(), "{seen}");
    assert!(
        seen["after_save_url"]
            .as_str()
            .unwrap()
            .ends_with("/t/acme/admin/settings"),
        "{seen}"
    );
    assert!(seen["header"]
        .as_str()
        .unwrap()
        .contains("Acme Secure Portal"));
    assert_eq!(seen["logo_width"], 48, "the uploaded logo renders");
    assert!(seen["footer"]
        .as_str()
        .unwrap()
        .contains("psirt@acme.example"));
    assert_eq!(seen["accent"], "rgb(11, 110, 79)");
    let nav = |k: &str| -> Vec<String> {
        seen[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        nav("nav_admin"),
        [
            "Releases",
            "Documents",
            "Advisories",
            "Search",
            "Customers",
            "Share links",
            "Statistics",
            "Audit",
            "Regulator requests",
            "Settings"
        ]
    );
    assert_eq!(
        nav("nav_customer"),
        [
            "Releases",
            "Documents",
            "Advisories",
            "Search",
            "My downloads"
        ]
    );
    assert_eq!(nav("nav_visitor"), ["Releases", "Sign in"]);
    let rows = nav("admin_release_rows");
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains("v1.0.0") && r.ends_with("yes")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("v2.0.0") && r.ends_with("no")),
        "{rows:?}"
    );
    assert!(seen["customer_home"]
        .as_str()
        .unwrap()
        .contains("Ask us anything"));
    assert_eq!(
        nav("crumbs"),
        ["Acme Secure Portal", "Releases", "shop v1.0.0"]
    );
    let mine = nav("my_downloads");
    assert_eq!(mine.len(), 2, "the export and the document: {mine:?}");
    assert!(mine.iter().any(|m| m.contains("spdx-json")), "{mine:?}");
    assert!(mine.iter().any(|m| m.contains("document")), "{mine:?}");
    let public_home = seen["public_home"].as_str().unwrap();
    assert!(
        public_home.contains("v1.0.0") && !public_home.contains("v2.0.0"),
        "{public_home}"
    );
    assert!(seen["login_header"]
        .as_str()
        .unwrap()
        .contains("Acme Secure Portal"));
    assert_eq!(seen["status /s/no-such-link"], 404);
    assert_eq!(seen["public_home_status"], 200);
    assert_eq!(seen["login_status"], 200);
    assert_eq!(
        seen[format!("status {share_path}")],
        200,
        "the share link's page"
    );
    for p in ["/t/globex/login", "/t/acme/releases/shop/v1.0.0"] {
        assert_eq!(seen[format!("status {p}")], 200, "{p}");
    }
    assert_eq!(seen["public_receipt_status"], 200, "{seen}");

    assert!(
        seen["after_document_url"]
            .as_str()
            .unwrap()
            .ends_with("/t/acme/releases/shop/v1.0.0"),
        "{seen}"
    );
    assert_eq!(nav("admin_documents").len(), 1, "{seen}");
    assert_eq!(
        std::fs::read(seen["customer_document"].as_str().unwrap()).unwrap(),
        pdf,
        "the customer downloads the document as published"
    );
    // The document's kit: `sh verify.sh` and `evident-verify export`.
    let docs: Value = s
        .get("/api/v1/tenants/acme/documents", &t.admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let id = docs[0]["id"].as_str().unwrap();
    let file_name = docs[0]["file_name"].as_str().unwrap().to_owned();
    let mut kit = Vec::new();
    std::io::Read::read_to_end(
        &mut s
            .get(
                &format!("/api/v1/tenants/acme/documents/{id}/document-kit.tar.gz"),
                &t.admin,
            )
            .call()
            .unwrap()
            .into_reader(),
        &mut kit,
    )
    .unwrap();
    let kit_dir = out.path().join("doc-kit");
    std::fs::create_dir_all(&kit_dir).unwrap();
    let tgz = write(out.path(), "doc-kit.tar.gz", &kit);
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
    let k = |f: &str| kit_dir.join(f).to_string_lossy().into_owned();
    let export_args = |file: &str| {
        vec![
            "export".to_owned(),
            file.to_owned(),
            "--bundle".into(),
            k(&format!("{file_name}.sigstore.json")),
            "--bundle".into(),
            k(&format!("{file_name}.intoto.sigstore.json")),
            "--key".into(),
            k("pubkey.pem"),
            "--tsa-chain".into(),
            k("tsa-chain.pem"),
            "--log-key".into(),
            k("log.vkey"),
        ]
    };
    let run = |a: Vec<String>| verify(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, so, se) = run(export_args(&k(&file_name)));
    assert!(ok, "{so}{se}");
    let mut bad = pdf.to_vec();
    bad[12] ^= 1;
    let bad = write(out.path(), "tampered.pdf", bad);
    let (ok, so, _) = run(export_args(&bad));
    assert!(!ok, "a changed byte: {so}");

    // The published advisory, as the customer downloads it, judged by the
    // BSI/secvisogram CSAF validator (schema, mandatory and optional tests).
    let mut paths = Vec::new();
    for id in ["ACME-SA-2026-001", "ACME-SA-2026-002"] {
        let mut csaf = Vec::new();
        std::io::Read::read_to_end(
            &mut s
                .get(
                    &format!("/api/v1/tenants/acme/advisories/{id}/csaf"),
                    tok["token"].as_str().unwrap(),
                )
                .call()
                .unwrap()
                .into_reader(),
            &mut csaf,
        )
        .unwrap();
        let doc: Value = serde_json::from_slice(&csaf).unwrap();
        let reference = doc["document"]["references"][0]["url"].as_str().unwrap();
        if id.ends_with("002") {
            assert_eq!(
                reference,
                format!("{}/t/acme/advisories/{id}", s.url),
                "the portal page"
            );
        }
        paths.push(write(out.path(), &format!("{id}.csaf.json"), &csaf));
    }
    let v = Command::new("node")
        .arg(common::interop().join("csaf_validate.mjs"))
        .args(&paths)
        .env("NODE_PATH", common::interop().join("node_modules"))
        .output()
        .unwrap();
    let judged = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{judged}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        judged.contains(r#""category":"csaf_security_advisory""#),
        "{judged}"
    );
    // Its kit: evident-verify export accepts it; a changed byte, or the
    // other advisory in its place, fails.
    let mut kit = Vec::new();
    std::io::Read::read_to_end(
        &mut s
            .get(
                "/api/v1/tenants/acme/advisories/ACME-SA-2026-001/advisory-kit.tar.gz",
                tok["token"].as_str().unwrap(),
            )
            .call()
            .unwrap()
            .into_reader(),
        &mut kit,
    )
    .unwrap();
    let adv_dir = out.path().join("adv-kit");
    std::fs::create_dir_all(&adv_dir).unwrap();
    let tgz = write(out.path(), "adv-kit.tar.gz", &kit);
    assert!(Command::new("tar")
        .args(["-xzf", &tgz, "--strip-components=1", "-C"])
        .arg(&adv_dir)
        .status()
        .unwrap()
        .success());
    let a = |f: &str| adv_dir.join(f).to_string_lossy().into_owned();
    let adv_name = "acme-sa-2026-001.csaf.json";
    let check = |file: &str| {
        verify(&[
            "export",
            file,
            "--bundle",
            &a(&format!("{adv_name}.sigstore.json")),
            "--bundle",
            &a(&format!("{adv_name}.intoto.sigstore.json")),
            "--key",
            &a("pubkey.pem"),
            "--tsa-chain",
            &a("tsa-chain.pem"),
            "--log-key",
            &a("log.vkey"),
        ])
    };
    let (ok, so, se) = check(&a(adv_name));
    assert!(ok, "{so}{se}");
    let mut bad = std::fs::read(a(adv_name)).unwrap();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    let bad = write(out.path(), "tampered.csaf.json", bad);
    assert!(!check(&bad).0, "a changed byte");
    assert!(!check(&paths[1]).0, "the other advisory in its place");

    // 3.
    let scanned = seen["scanned"].as_array().unwrap();
    assert!(scanned.len() >= 20, "{} pages scanned", scanned.len());
    assert_eq!(
        seen["violations"].as_array().unwrap().len(),
        0,
        "axe-core violations: {:#}",
        seen["violations"]
    );

    // 4.
    let file = seen["receipts_file"].as_str().unwrap();
    let (ok, so, se) = verify(&["receipts", file, "--log-key", &t.vkey]);
    assert!(ok, "{so}{se}");
    assert!(so.contains("2 receipts verified"), "{so}");
    let list: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let tampered = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut l = list.clone();
        f(&mut l);
        write(out.path(), name, serde_json::to_vec(&l).unwrap())
    };
    let dropped = tampered("dropped.json", &|l| l["receipts"] = json!([]));
    let (ok, _, se) = verify(&["receipts", &dropped, "--log-key", &t.vkey]);
    assert!(!ok && se.contains("has 2 receipts, the list has 0"), "{se}");
    let changed = tampered("changed.json", &|l| {
        let e = l["receipts"][0]["entry"]
            .as_str()
            .unwrap()
            .replace("v1.0.0", "v2.0.0");
        l["receipts"][0]["entry"] = json!(e);
    });
    let (ok, _, se) = verify(&["receipts", &changed, "--log-key", &t.vkey]);
    assert!(
        !ok && se.contains("receipts[0]") && se.contains("inclusion proof"),
        "{se}"
    );
    let (ok, _, se) = verify(&["receipts", file, "--log-key", &globex.vkey]);
    assert!(!ok && se.contains("export: checkpoint signature"), "{se}");
    let (ok, so, se) = verify(&[
        "receipt",
        seen["public_receipt"].as_str().unwrap(),
        "--log-key",
        &t.vkey,
        "--file",
        seen["public_file"].as_str().unwrap(),
    ]);
    assert!(ok, "{so}{se}");

    // 5.
    let kinds = s.audit_kinds(
        "acme",
        "kinds=portal_updated,portal_logo_changed,receipts_exported",
        &t.admin,
    );
    assert_eq!(
        kinds,
        ["portal_logo_changed", "portal_updated", "receipts_exported"]
    );
    let v: Value = s
        .get(
            "/api/v1/tenants/acme/audit/events?kinds=download_served",
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let anonymous = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entry"]
                .as_str()
                .unwrap()
                .contains(r#""type":"anonymous""#)
        })
        .count();
    assert_eq!(
        anonymous, 2,
        "the public download, and the same link fetched again for its receipt"
    );
    s.stop();
}
