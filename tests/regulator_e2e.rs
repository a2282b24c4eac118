//! Regulator requests against the real server and Debian's chromium:
//!
//! 1. CI pushes two releases; an officer token (scope `officer`) records a
//!    request over the API naming a production digest that both carry and
//!    one that none does; the answer resolves them, and the
//!    `regulator_request_received` entry carries the SHA-256 of the
//!    request's RFC 8785 form (recomputed here), the matches with the
//!    `release_pushed` indexes, and the unmatched digest; its inclusion
//!    proof verifies with `evident-verify` and Go's `sumdb/tlog`;
//! 2. in the browser (`tests/interop/regulator_browser.mjs`) the admin
//!    records a request through the form, sees the digests resolved, moves
//!    it into preparation with a note, prepares the cover note for an
//!    officer, signs it with Node's crypto and the officer's OpenSSL-made
//!    key, pastes the signature (the bundle is issued), downloads the
//!    bundle, moves it to delivered and closed, and finds it in the list
//!    beside the officer's, which is marked overdue; the pages have no
//!    script; the downloaded bundle verifies with `evident-verify`;
//! 3. the API agrees with what the pages showed, and every step is an
//!    entry of its kind.

mod common;

use std::process::Command;

use common::{go_verify, sbom_fixture, verify, write, Server};
use serde_json::{json, Value};

#[test]
fn requests_are_recorded_resolved_and_moved_in_api_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = s.tenant("acme", "ACME");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let seen = format!("sha256:{}", "5e".repeat(32));
    let other = format!("sha256:{}", "07".repeat(32));
    s.push_release(&t, "shop", "v1.0", &seen, &sbom);
    s.push_release(&t, "shop-lts", "v1.0", &seen, &sbom);
    s.push_release(&t, "shop", "v2.0", &other, &sbom);
    let officer: Value = s
        .post("/api/v1/tenants/acme/tokens", &t.admin)
        .send_json(json!({"scope": "officer", "label": "PSIRT lead"}))
        .unwrap()
        .into_json()
        .unwrap();
    let officer = officer["token"].as_str().unwrap().to_owned();
    let unknown = format!("sha256:{}", "99".repeat(32));
    let body = json!({
        "authority": {"name": "Bundesamt für Sicherheit in der Informationstechnik", "country": "DE", "kind": "market_surveillance"},
        "notice_reference": "BSI-MÜ-2026-17",
        "legal_basis": "Regulation (EU) 2024/2847, Article 52(2)",
        "contact": "marktueberwachung@bsi.example",
        "received_on": "2026-01-05",
        "deadline": "2026-01-19",
        "production_digests": [seen, unknown],
    });
    let r: Value = s
        .post("/api/v1/tenants/acme/regulator-requests", &officer)
        .send_json(body)
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(r["state"], "received");
    assert_eq!(r["overdue"], true, "its deadline passed");
    let found: Vec<String> = r["resolution"][0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                x["product"].as_str().unwrap(),
                x["tag"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(found, ["shop v1.0", "shop-lts v1.0"]);
    assert_eq!(r["resolution"][1]["releases"], json!([]));
    // The entry ties the request's text to the log.
    let index = r["history"][0]["log_index"].as_u64().unwrap();
    let entries: Value = s
        .get(
            &format!(
                "/api/v1/tenants/acme/log/entries?start={index}&end={}",
                index + 1
            ),
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    use base64::Engine as _;
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(entries["entries"][0]["leaf"].as_str().unwrap())
        .unwrap();
    let e: Value = serde_json::from_slice(&leaf).unwrap();
    let ev = &e["event"];
    assert_eq!(ev["kind"], "regulator_request_received", "{entries}");
    use sha2::Digest as _;
    let jcs = serde_jcs::to_vec(&r["request"]).unwrap();
    assert_eq!(
        ev["request_sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(jcs)),
        "the logged SHA-256 is the request's RFC 8785 form"
    );
    assert_eq!(ev["resolved"].as_array().unwrap().len(), 2);
    assert_eq!(ev["unmatched"], json!([unknown]));
    assert_eq!(
        ev["resolved"][0]["release_index"],
        r["resolution"][0]["releases"][0]["release_index"]
    );
    let cp = s
        .get("/api/v1/tenants/acme/log/checkpoint", &t.admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let proof = s
        .get(
            &format!("/api/v1/tenants/acme/log/proof/inclusion?index={index}&size={size}"),
            &t.admin,
        )
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cp, leaf, proof) = (
        write(files.path(), "cp", &cp),
        write(files.path(), "leaf", &leaf),
        write(files.path(), "proof.json", &proof),
    );
    let (ok, out, err) = verify(&[
        "inclusion",
        &proof,
        "--key",
        &t.vkey,
        "--checkpoint",
        &cp,
        "--leaf",
        &leaf,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out) = go_verify(&["inclusion", &t.vkey, &cp, &leaf, &proof]);
    assert!(ok, "Go sumdb/tlog: {out}");

    // An officer's key, made by OpenSSL; only its public half is registered.
    let key = files.path().join("officer.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&key)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap()
        .stdout;
    let o: Value = s
        .post("/api/v1/tenants/acme/officers", &t.admin)
        .send_json(json!({"name": "Ada Lovelace", "role": "PSIRT lead", "public_key": String::from_utf8(public).unwrap()}))
        .unwrap()
        .into_json()
        .unwrap();
    let officer_id = o["id"].as_str().unwrap().to_owned();
    let bundle_out = files.path().join("bundle.tar.gz");

    // The pages, in chromium.
    let cfg = write(
        files.path(),
        "regulator.json",
        json!({"base": s.url, "tenant": "acme", "admin_token": t.admin,
               "digests": [other.to_uppercase().replace("SHA256", "sha256")], "deadline": "2999-12-31",
               "officer_id": officer_id, "officer_key": key, "bundle_out": bundle_out})
        .to_string(),
    );
    let res = Command::new("node")
        .arg(common::interop().join("regulator_browser.mjs"))
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
    let page: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(page["error"].is_null(), "{page}");
    assert_eq!(
        (page["scripts"].as_u64(), page["request_scripts"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(page["state"], "received", "{page}");
    let digests = page["digests"].as_array().unwrap();
    assert_eq!(digests.len(), 1, "{page}");
    assert_eq!(digests[0][0], other.as_str());
    assert!(
        digests[0][1]
            .as_str()
            .unwrap()
            .starts_with("shop v2.0 rev 1"),
        "{page}"
    );
    assert_eq!(page["moves"], json!(["in_preparation", "withdrawn"]));
    assert_eq!(page["state_after"], "in preparation", "{page}");
    let steps = page["steps_after"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{page}");
    assert_eq!(steps[1][3], "assigned to the PSIRT");
    assert!(
        page["cover_note"]
            .as_str()
            .unwrap()
            .starts_with("Prepared: SHA-256 "),
        "{page}"
    );
    assert_eq!(page["state_issued"], "issued", "{page}");
    assert_eq!(page["state_final"], "closed", "{page}");
    let steps: Vec<&str> = page["steps_final"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "received",
            "in preparation",
            "issued",
            "delivered",
            "closed"
        ]
    );
    let list = page["list"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{page}");
    let row = |notice: &str| {
        list.iter()
            .find(|r| r[2] == notice)
            .unwrap_or_else(|| panic!("{notice}: {page}"))
    };
    assert_eq!(row("BSI-MÜ-2026-17")[5], "received overdue");
    assert_eq!(row("NCSC-2026-0001")[5], "closed");
    // The bundle the admin downloaded verifies offline.
    let (ok, out, err) = verify(&[
        "bundle",
        &bundle_out.to_string_lossy(),
        "--trust-log-key",
        &t.vkey,
    ]);
    assert!(ok, "{out}{err}");

    // The API agrees, and each step is an entry of its kind.
    let id = page["request_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let v: Value = s
        .get(
            &format!("/api/v1/tenants/acme/regulator-requests/{id}"),
            &officer,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(v["state"], "closed");
    assert_eq!(v["request"]["authority"]["country"], "NL");
    assert_eq!(
        v["request"]["legal_basis"],
        "Wet beveiliging netwerk- en informatiesystemen\nArticle 3"
    );
    let kinds = s.audit_kinds("acme", &format!("request={id}"), &t.admin);
    assert_eq!(
        kinds,
        [
            "regulator_bundle_issued",
            "regulator_request_closed",
            "regulator_request_delivered",
            "regulator_request_in_preparation",
            "regulator_request_issued",
            "regulator_request_received"
        ]
    );
}
