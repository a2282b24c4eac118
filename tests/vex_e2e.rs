//! VEX end to end, against the real binary, `evident-verify`, Debian's
//! chromium (`tests/interop/vex_browser.mjs`) and the third-party judges:
//!
//! 1. a push of shop v1.0.0 with reachability findings makes VEX version 1
//!    (`vex_published` right after `release_pushed`); bad findings get a 422
//!    naming the place and store nothing;
//! 2. the three standalone documents and the CycloneDX export with VEX
//!    inline are served (logged), and each verifies with `evident-verify
//!    vex` against the publication proof; a changed byte, another format's
//!    name and another tenant's key fail;
//! 3. the OpenVEX document passes go-vex (strict), the CSAF one
//!    csaf-validator-lib (`--require-vex`), the CycloneDX ones
//!    cyclonedx-python-lib's strict validators;
//! 4. a later publication (CycloneDX VEX) is version 2: `as_of` before it
//!    still answers version 1, after it version 2, and the history shows
//!    the per-finding diff;
//! 5. a customer entitled to the release sees the latest version's findings
//!    table in the portal, filters it to "affected", and downloads the
//!    OpenVEX document, which verifies against version 2's proof only;
//!    "not affected (unreachable)" looks different from "affected".

mod common;

use std::process::Command;

use common::{interop, sbom_fixture, verify, write, Server};
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vex-findings")
            .join(name),
    )
    .unwrap()
}

#[test]
fn vex_versions_are_served_verified_judged_and_shown() {
    let d = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = Server::start(d.path());
    let t = s.tenant("acme", "Acme Corp");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let push = |findings: Value| {
        use base64::Engine as _;
        s.post("/api/v1/tenants/acme/releases", &t.push)
            .send_json(json!({
                "product": "shop", "tag": "v1.0.0",
                "artefacts": [{"name": "shop", "digest": format!("sha256:{}", "ab".repeat(32))}],
                "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(&sbom), "encoding": "base64"},
                "findings": findings,
            }))
            .map_err(Box::new)
    };
    // 1. Bad findings: 422, nothing stored.
    let bad: Value = serde_json::from_str(&fixture("bad-malformed-id.findings.json")).unwrap();
    match push(bad) {
        Err(e) if matches!(*e, ureq::Error::Status(422, _)) => {
            let ureq::Error::Status(_, r) = *e else {
                unreachable!()
            };
            let e: Value = r.into_json().unwrap();
            let m = e["message"].as_str().unwrap();
            assert!(
                m.starts_with("/findings: ") && m.contains("/findings/1/id"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    let r = s
        .get(
            "/api/v1/tenants/acme/products/shop/releases/v1.0.0",
            &t.admin,
        )
        .call();
    assert!(matches!(r, Err(ureq::Error::Status(404, _))));
    let pushed: Value =
        push(serde_json::from_str(&fixture("evidence-demo.findings.json")).unwrap())
            .unwrap()
            .into_json()
            .unwrap();
    assert_eq!(pushed["vex_version"], 1);
    let base = "/api/v1/tenants/acme/products/shop/releases/v1.0.0";
    let vkey = write(out.path(), "log.vkey", &t.vkey);

    // 2. Documents and their proof.
    let proof: String = s
        .get(&format!("{base}/vex/proof"), &t.admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let proof_file = write(out.path(), "proof.json", &proof);
    let p: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(
        p["index"],
        pushed["release"]["log_index"].as_u64().unwrap() + 1
    );
    let mut files = Vec::new();
    for (path, format, name) in [
        ("vex?format=openvex", "openvex", "v1.openvex.json"),
        ("vex?format=csaf", "csaf", "v1.csaf.json"),
        (
            "vex?format=cyclonedx-vex",
            "cyclonedx-vex",
            "v1-standalone.cdx.json",
        ),
        (
            "sbom?format=cyclonedx-json",
            "cyclonedx-json",
            "v1-inline.cdx.json",
        ),
        (
            "sbom?format=cyclonedx-xml",
            "cyclonedx-xml",
            "v1-inline.cdx.xml",
        ),
    ] {
        let r = s.get(&format!("{base}/{path}"), &t.admin).call().unwrap();
        assert!(
            r.header("x-evident-log-index").is_some(),
            "{path} is logged"
        );
        if format.starts_with("openvex") || format == "csaf" || format == "cyclonedx-vex" {
            assert_eq!(r.header("x-evident-vex-version"), Some("1"));
            assert_eq!(
                r.header("x-evident-vex-published"),
                Some(p["index"].to_string().as_str())
            );
        }
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
        let file = write(out.path(), name, &body);
        let (ok, o, e) = verify(&[
            "vex",
            &file,
            "--proof",
            &proof_file,
            "--log-key",
            &vkey,
            "--format",
            format,
            "--product",
            "shop",
            "--tag",
            "v1.0.0",
        ]);
        assert!(ok, "{format}: {o}{e}");
        assert!(o.contains("VEX document verified"), "{o}");
        // A changed byte, and the wrong format, fail and say so.
        let mut bad = body.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x20;
        let bad_file = write(out.path(), &format!("bad-{name}"), &bad);
        let (ok, _, e) = verify(&["vex", &bad_file, "--proof", &proof_file, "--log-key", &vkey]);
        assert!(!ok && e.contains("file digest"), "{e}");
        let other = if format == "csaf" { "openvex" } else { "csaf" };
        let (ok, _, e) = verify(&[
            "vex",
            &file,
            "--proof",
            &proof_file,
            "--log-key",
            &vkey,
            "--format",
            other,
        ]);
        assert!(
            !ok && e.contains(&format!("not its {other} document")),
            "{e}"
        );
        files.push((format, file));
    }
    let globex = s.tenant("globex", "Globex");
    let globex_key = write(out.path(), "globex.vkey", &globex.vkey);
    let (ok, _, e) = verify(&[
        "vex",
        &files[0].1,
        "--proof",
        &proof_file,
        "--log-key",
        &globex_key,
    ]);
    assert!(!ok, "another tenant's key must not verify: {e}");
    let (ok, _, e) = verify(&[
        "vex",
        &files[0].1,
        "--proof",
        &proof_file,
        "--log-key",
        &vkey,
        "--product",
        "shop",
        "--tag",
        "v2.0.0",
    ]);
    assert!(!ok && e.contains("not shop v2.0.0"), "{e}");

    // 3. Third-party judges.
    let o = Command::new("node")
        .arg(interop().join("csaf_validate.mjs"))
        .arg("--require-vex")
        .arg(&files[1].1)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "csaf-validator-lib: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let cdx: Vec<&String> = files[2..].iter().map(|(_, f)| f).collect();
    let o = Command::new("python3")
        .arg(interop().join("validate_sbom.py"))
        .args(&cdx)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cyclonedx-python-lib: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let (ok, o) = run(Command::new("python3")
        .arg(interop().join("validate_openvex.py"))
        .arg(&files[0].1));
    assert!(ok, "OpenVEX JSON schema: {o}");
    let reader = common::go_build("openvexread", "openvexread");
    let o = Command::new(reader)
        .arg("-strict")
        .arg(&files[0].1)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "go-vex: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let read: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(read["statements"]
        .as_array()
        .unwrap()
        .iter()
        .any(|st| st["status"] == "not_affected"
            && st["justification"] == "vulnerable_code_not_in_execute_path"));

    // 4. A later version, as_of and the history.
    let v1: Value = s
        .get(&format!("{base}/vex/history"), &t.admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let t1 = v1[0]["published_at"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let p2: Value = s
        .post(&format!("{base}/vex"), &t.push)
        .set("Content-Type", "application/json")
        .send_string(&fixture("evidence-demo.cdx-vex.json"))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(p2["version"], 2);
    let t2 = p2["published_at"].as_str().unwrap().to_owned();
    assert!(t2 > t1);
    let version_at = |as_of: &str| -> String {
        s.get(
            &format!("{base}/vex?format=openvex&as_of={as_of}"),
            &t.admin,
        )
        .call()
        .unwrap()
        .header("x-evident-vex-version")
        .unwrap()
        .to_owned()
    };
    assert_eq!(version_at(&t1), "1");
    assert_eq!(version_at(&t2), "2");
    assert_eq!(version_at("2999-01-01T00:00:00Z"), "2");
    assert!(matches!(
        s.get(&format!("{base}/vex?as_of=2000-01-01T00:00:00Z"), &t.admin)
            .call(),
        Err(ureq::Error::Status(404, _))
    ));
    let h: Value = s
        .get(&format!("{base}/vex/history"), &t.admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(h.as_array().unwrap().len(), 2);
    let changes = h[1]["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["change"] == "withdrawn"), "{h}");
    assert!(changes.iter().any(|c| c["change"] == "added"), "{h}");
    assert_eq!(h[1]["log_index"], p2["log_index"]);

    // 5. The customer's page in Chromium.
    let c: Value = s
        .post("/api/v1/tenants/acme/customers", &t.admin)
        .send_json(json!({"name": "Initech", "entitlements": [{"product": "shop", "tag": "v1.*"}]}))
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
    let cfg = write(
        out.path(),
        "browser.json",
        json!({"base": s.url, "tenant": "acme", "customer_token": tok["token"], "product": "shop",
               "tag": "v1.0.0", "out": out.path()})
        .to_string(),
    );
    let o = Command::new("node")
        .arg(interop().join("vex_browser.mjs"))
        .arg(&cfg)
        .current_dir(interop())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen: Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = seen["all"].as_array().unwrap();
    assert!(all.len() >= 8, "{seen}");
    let unreachable = all
        .iter()
        .find(|r| r["label"] == "not affected (unreachable)")
        .expect("an unreachable finding");
    let affected = all
        .iter()
        .find(|r| r["label"] == "affected")
        .expect("an affected finding");
    assert_ne!(unreachable["background"], affected["background"]);
    assert_eq!(
        unreachable["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert!(
        all.iter().any(|r| r["link"]
            .as_str()
            .is_some_and(|l| l.starts_with("https://"))),
        "{seen}"
    );
    let filtered = seen["affected"].as_array().unwrap();
    assert!(!filtered.is_empty() && filtered.len() < all.len());
    assert!(filtered.iter().all(|r| r["state"] == "affected"), "{seen}");
    assert_eq!(seen["download"]["name"], "vex-shop-v1.0.0-v2.openvex.json");
    // The download verifies against version 2's proof, not version 1's.
    let proof2 = write(
        out.path(),
        "proof2.json",
        s.get(&format!("{base}/vex/proof?vex=2"), &t.admin)
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    let dl = seen["download"]["file"].as_str().unwrap();
    let (ok, o, e) = verify(&[
        "vex",
        dl,
        "--proof",
        &proof2,
        "--log-key",
        &vkey,
        "--format",
        "openvex",
    ]);
    assert!(ok, "{o}{e}");
    let (ok, _, _) = verify(&["vex", dl, "--proof", &proof_file, "--log-key", &vkey]);
    assert!(!ok, "version 1's proof does not name version 2's document");

    // 6. Each VEX document is issued like an export: signed, logged
    //    `export_issued`, with bundles, a token and a kit whose verify.sh
    //    (openssl) checks it; evident-verify vex --bundle checks it offline.
    issued_like_an_export(&s, &t, base, out.path(), &vkey, &globex_key, &proof2);
    s.stop();
}

fn run(c: &mut Command) -> (bool, String) {
    let o = c.output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Fetches a kit and unpacks it into `dir`.
fn unpack(s: &Server, token: &str, url: &str, dir: &std::path::Path) {
    let r = s.get(url, token).call().unwrap();
    assert_eq!(r.content_type(), "application/gzip");
    let mut gz = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut gz).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("kit.tar.gz"), &gz).unwrap();
    let (ok, o) = run(Command::new("tar")
        .args(["xzf", "kit.tar.gz", "--strip-components=1"])
        .current_dir(dir));
    assert!(ok, "{o}");
}

fn flip(p: &std::path::Path) -> Vec<u8> {
    let good = std::fs::read(p).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    std::fs::write(p, bad).unwrap();
    good
}

fn issued_like_an_export(
    s: &Server,
    t: &common::Tenant,
    base: &str,
    out: &std::path::Path,
    vkey: &str,
    globex_key: &str,
    proof2: &str,
) {
    let entries = |from: u64, to: u64| -> Vec<Value> {
        let v: Value = s
            .get(
                &format!("/api/v1/tenants/acme/log/entries?start={from}&end={to}"),
                &t.admin,
            )
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        v["entries"].as_array().cloned().unwrap_or_default()
    };
    // The VEX kit of the OpenVEX document of version 2.
    let k = out.join("vex-kit");
    unpack(
        s,
        &t.admin,
        &format!("{base}/vex/vex-kit.tar.gz?format=openvex"),
        &k,
    );
    let doc = "vex-shop-v1.0.0-v2.openvex.json";
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(k.join(doc)).unwrap(),
    ));
    let n = s.log_size("acme", &t.admin);
    assert!(n < 1000);
    let issued: Vec<Value> = entries(0, n)
        .into_iter()
        .map(|e| e["event"]["event"].clone())
        .filter(|e| e["kind"] == "export_issued" && e["sha256"] == sha.as_str())
        .collect();
    assert_eq!(
        issued.len(),
        1,
        "the document was issued once, as openvex: {issued:?}"
    );
    assert_eq!(issued[0]["format"], "openvex");
    for f in [
        doc.to_owned(),
        format!("{doc}.sig"),
        format!("{doc}.sig.tsr"),
        format!("{doc}.sigstore.json"),
        format!("{doc}.intoto.sigstore.json"),
        "pubkey.pem".into(),
        "tsa-chain.pem".into(),
        "log.vkey".into(),
        "verify.sh".into(),
    ] {
        assert!(k.join(&f).exists(), "the VEX kit has {f}");
    }
    let sh = || run(Command::new("sh").arg(k.join("verify.sh")));
    let (ok, o) = sh();
    assert!(ok && o.contains("PASS  timestamp"), "{o}");
    let good = flip(&k.join(doc));
    let (ok, o) = sh();
    assert!(!ok && o.contains("FAIL  digest"), "{o}");
    std::fs::write(k.join(doc), good).unwrap();
    // The kit's document is the one `…/vex` serves, and what the
    // publication proof names.
    let kp = |n: &str| k.join(n).to_string_lossy().into_owned();
    let full = |extra: &[&str]| {
        let mut a: Vec<String> = [
            "vex",
            &kp(doc),
            "--bundle",
            &kp(&format!("{doc}.sigstore.json")),
            "--bundle",
            &kp(&format!("{doc}.intoto.sigstore.json")),
            "--key",
            &kp("pubkey.pem"),
            "--tsa-chain",
            &kp("tsa-chain.pem"),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        verify(&a)
    };
    let (ok, o, e) = full(&[
        "--log-key",
        vkey,
        "--proof",
        proof2,
        "--format",
        "openvex",
        "--product",
        "shop",
        "--tag",
        "v1.0.0",
        "--artefact-digest",
        &format!("sha256:{}", "ab".repeat(32)),
    ]);
    assert!(ok, "{o}{e}");
    assert!(
        o.contains("vex document") && o.contains("VEX document verified"),
        "{o}"
    );
    // Tampered: a changed byte, another tenant's key, another format's name,
    // another release, and another document's bundle.
    let good = flip(&k.join(doc));
    let (ok, o, e) = full(&["--log-key", vkey]);
    assert!(!ok && o.contains("\u{2717} file digest"), "{o}{e}");
    std::fs::write(k.join(doc), good).unwrap();
    let (ok, o, e) = full(&["--log-key", globex_key]);
    assert!(!ok && e.contains("not verified"), "{o}{e}");
    let (ok, o, _) = full(&["--log-key", vkey, "--format", "csaf"]);
    assert!(!ok && o.contains("not its csaf document"), "{o}");
    let (ok, o, _) = full(&["--log-key", vkey, "--product", "shop", "--tag", "v2.0.0"]);
    assert!(!ok && o.contains("not shop v2.0.0"), "{o}");
    // A dropped attestation bundle: the statement checks cannot run.
    let (ok, o, e) = verify(&[
        "vex",
        &kp(doc),
        "--bundle",
        &kp(&format!("{doc}.sigstore.json")),
        "--key",
        &kp("pubkey.pem"),
        "--tsa-chain",
        &kp("tsa-chain.pem"),
        "--log-key",
        vkey,
    ]);
    assert!(
        !ok && o.contains("no attestation bundle") && e.contains("in-toto"),
        "{o}{e}"
    );
    // The document as issued validates against the OpenVEX schema too.
    let (ok, o) = run(Command::new("python3")
        .arg(interop().join("validate_openvex.py"))
        .arg(k.join(doc)));
    assert!(ok, "OpenVEX JSON schema: {o}");

    // @sigstore/verify judges the document's signature bundle.
    let o = Command::new("node")
        .arg(interop().join("sigstore_verify.js"))
        .arg(kp(&format!("{doc}.sigstore.json")))
        .arg(kp(doc))
        .arg(kp("pubkey.pem"))
        .arg(kp("tsa-chain.pem"))
        .arg(std::fs::read_to_string(kp("log.vkey")).unwrap().trim())
        .env("NODE_PATH", interop().join("node_modules"))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && said.contains("ok inclusion") && said.contains("ok signature"),
        "@sigstore/verify: {said}"
    );

    // The SBOM export's kit carries the three documents of the latest
    // version (SPDX cannot carry VEX inline), and verify.sh checks them all.
    let x = out.join("spdx-kit");
    unpack(
        s,
        &t.admin,
        &format!("{base}/sbom-kit.tar.gz?format=spdx-json"),
        &x,
    );
    let docs = [
        "vex-shop-v1.0.0-v2.openvex.json",
        "vex-shop-v1.0.0-v2.csaf.json",
        "vex-shop-v1.0.0-v2.cdx-vex.json",
    ];
    let sh = || run(Command::new("sh").arg(x.join("verify.sh")));
    let (ok, o) = sh();
    assert!(ok, "{o}");
    for d in docs {
        assert!(
            o.contains(&format!("Checking ./{d}")) || o.contains(d),
            "{d}: {o}"
        );
        assert_eq!(
            std::fs::read(x.join(d)).unwrap(),
            std::fs::read(if d == doc { k.join(doc) } else { x.join(d) }).unwrap()
        );
    }
    assert!(o.contains("So are the 3 documents of VEX version 2"), "{o}");
    for (part, check) in [
        (docs[1].to_owned(), "digest"),
        (format!("{}.sig", docs[2]), "signature"),
        (format!("{}.sig.tsr", docs[0]), "timestamp"),
    ] {
        let good = flip(&x.join(&part));
        let (ok, o) = sh();
        assert!(
            !ok && o.contains(&format!("FAIL  {check:<10}")) && o.contains("RESULT: NOT verified"),
            "{part}: {o}"
        );
        std::fs::write(x.join(&part), good).unwrap();
    }
    // Another document's bundles with this document fail on its digest,
    // and an export's bundles are not a VEX document's.
    let xp = |n: &str| x.join(n).to_string_lossy().into_owned();
    let swap = |file: &str, b1: &str, b2: &str| {
        verify(&[
            "vex",
            file,
            "--bundle",
            b1,
            "--bundle",
            b2,
            "--key",
            &xp("pubkey.pem"),
            "--tsa-chain",
            &xp("tsa-chain.pem"),
            "--log-key",
            vkey,
        ])
    };
    let (ok, o, _) = swap(
        &xp(docs[0]),
        &xp(&format!("{}.sigstore.json", docs[1])),
        &xp(&format!("{}.intoto.sigstore.json", docs[1])),
    );
    assert!(!ok && o.contains("\u{2717} file digest"), "{o}");
    let spdx = "sbom-shop-v1.0.0.spdx.json";
    let (ok, o, _) = swap(
        &xp(spdx),
        &xp(&format!("{spdx}.sigstore.json")),
        &xp(&format!("{spdx}.intoto.sigstore.json")),
    );
    assert!(!ok && o.contains("not a VEX document"), "{o}");
    // Dropping a document is caught too.
    std::fs::remove_file(x.join(docs[1])).unwrap();
    let (ok, o) = sh();
    assert!(!ok && o.contains("is missing"), "{o}");
    // `vex=0`: the plain export's kit has no VEX.
    let z = out.join("plain-kit");
    unpack(
        s,
        &t.admin,
        &format!("{base}/sbom-kit.tar.gz?format=cyclonedx-json&vex=0"),
        &z,
    );
    assert!(!z.join(docs[0]).exists());
    let (ok, o) = run(Command::new("sh").arg(z.join("verify.sh")));
    assert!(ok && !o.contains("VEX"), "{o}");
}
