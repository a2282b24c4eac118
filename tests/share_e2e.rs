//! Share links end to end, against the real binary, Debian's chromium
//! (`tests/interop/share_browser.mjs`, playwright-core) and `evident-verify`:
//!
//! 1. evident serve (its log at debug, to a file); tenant `acme` with shop
//!    v1.0.0;
//! 2. in the browser, the admin issues a link from the portal (the lifetime
//!    pre-filled with the tenant default), an anonymous context opens it,
//!    downloads CycloneDX JSON and SPDX JSON and fetches both receipts, the
//!    admin revokes it, and the same anonymous page then gets the 404 page
//!    (and the download URL the 404 JSON error); every `/s/` answer carries
//!    `Referrer-Policy: no-referrer` and `Cache-Control: no-store`;
//! 3. the log holds exactly issued, used, used, revoked for the link; each
//!    receipt verifies with `evident-verify receipt --file`; the status
//!    document verifies with `evident-verify share-link --revoked`, and a
//!    reordered copy fails;
//! 4. the CLI: `evident share --ttl 48h` issues a link of 48 hours,
//!    `--list` shows it and `--revoke` revokes it;
//! 5. neither token appears anywhere in the data directory or the server's
//!    log.

mod common;

use std::{path::Path, process::Command};

use common::{evident_bin, interop, sbom_fixture, verify, Server};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(files_containing(&p, needle));
        } else if let Ok(b) = std::fs::read(&p) {
            if b.windows(needle.len()).any(|w| w == needle) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

/// Every event of acme's log, in order.
fn events(s: &Server, admin: &str) -> Vec<Value> {
    let cp: String = s
        .get("/api/v1/tenants/acme/log/checkpoint", admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let at = out.len() as u64;
        let v: Value = s
            .get(
                &format!(
                    "/api/v1/tenants/acme/log/entries?start={at}&end={}",
                    size.min(at + 1000)
                ),
                admin,
            )
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        out.extend(
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].clone()),
        );
    }
    out
}

#[test]
fn a_share_link_lives_and_dies_in_a_real_browser_and_proves_it() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    // 1.
    let log = root.join("server.log");
    let s = Server::start_logging_to(&root.join("data"), &[], &log);
    let t = s.tenant("acme", "Acme Vendor");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let artefact = format!("sha256:{}", hex::encode(Sha256::digest(b"shop 1.0.0")));
    s.push_release(&t, "shop", "v1.0.0", &artefact, &sbom);
    let vkey = root.join("log.vkey");
    std::fs::write(&vkey, &t.vkey).unwrap();

    // 2.
    let out = root.join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let cfg = root.join("share.json");
    std::fs::write(
        &cfg,
        json!({
            "base": s.url, "tenant": "acme", "admin_token": t.admin,
            "product": "shop", "tag": "v1.0.0",
            "formats": ["cyclonedx-json", "spdx-json"], "out": out,
        })
        .to_string(),
    )
    .unwrap();
    let res = Command::new("node")
        .arg(interop().join("share_browser.mjs"))
        .arg(&cfg)
        .env("NODE_PATH", interop().join("node_modules"))
        .current_dir(interop())
        .output()
        .expect("node (installed by .ci/setup)");
    let stdout = String::from_utf8_lossy(&res.stdout).into_owned();
    assert!(
        res.status.success(),
        "share_browser.mjs: {stdout}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let b: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(b.get("error").is_none(), "{b:#}");
    assert_eq!(
        b["ttl_prefilled"], "168",
        "the tenant default, 7 days: {b:#}"
    );
    let url = b["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/s/", s.url)), "{url}");
    assert!(
        b["url_readonly"].is_string(),
        "a read-only, selectable field"
    );
    let token = url.rsplit_once("/s/").unwrap().1.to_owned();
    assert_eq!(token.len(), 43);
    assert_eq!(b["link_status"], 200, "{b:#}");
    let page = b["link_page"].as_str().unwrap();
    assert!(
        page.contains("shop v1.0.0") && page.contains("works until"),
        "{page}"
    );
    let downloads = b["downloads"].as_array().unwrap();
    assert_eq!(downloads.len(), 2);
    for dl in downloads {
        assert_eq!(dl["referrer_policy"], "no-referrer", "{dl}");
        assert_eq!(dl["cache_control"], "no-store", "{dl}");
        assert_eq!(dl["receipt_status"], 200, "{dl}");
    }
    for seen in b["seen"].as_array().unwrap() {
        let u = seen["url"].as_str().unwrap();
        if u.contains("/s/TOKEN") {
            assert_eq!(seen["referrer_policy"], "no-referrer", "{seen}");
            assert_eq!(seen["cache_control"], "no-store", "{seen}");
        }
    }
    assert!(
        b["admin_list_before"][0]
            .as_str()
            .unwrap()
            .contains("active"),
        "{b:#}"
    );
    assert!(
        b["admin_list_after"][0]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{b:#}"
    );
    assert_eq!(b["after_status"], 404, "{b:#}");
    assert!(b["after_page"]
        .as_str()
        .unwrap()
        .contains("no longer works"));
    assert_eq!(b["after_headers"]["referrer_policy"], "no-referrer");
    assert_eq!(b["after_headers"]["cache_control"], "no-store");
    assert_eq!(b["after_download_status"], 404);
    let e: Value = serde_json::from_str(b["after_download_body"].as_str().unwrap()).unwrap();
    assert_eq!(e["error"], "not_found");
    // An unknown token gets the very same answer.
    let unknown = ureq::get(&format!("{}/s/{}/sbom", s.url, "x".repeat(43))).call();
    let Err(ureq::Error::Status(404, r)) = unknown else {
        panic!("an unknown link is 404")
    };
    let unknown_body: Value = r.into_json().unwrap();
    assert_eq!(unknown_body, e, "no oracle between revoked and unknown");

    // 3.
    let events = events(&s, &t.admin);
    let id = events
        .iter()
        .find(|e| e["event"]["kind"] == "share_link_issued")
        .expect("an issuance")["event"]["link_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["event"]["link_id"] == id.as_str())
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "share_link_issued",
            "share_link_used",
            "share_link_used",
            "share_link_revoked"
        ]
    );
    for dl in downloads {
        let (ok, o, e) = verify(&[
            "receipt",
            dl["receipt"].as_str().unwrap(),
            "--log-key",
            vkey.to_str().unwrap(),
            "--file",
            dl["file"].as_str().unwrap(),
        ]);
        assert!(ok, "{o}{e}");
        assert!(o.contains(&format!("through share link {id}")), "{o}");
    }
    let status: Value = s
        .get(
            &format!("/api/v1/tenants/acme/share-links/{id}/status"),
            &t.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let st = root.join("status.json");
    std::fs::write(&st, status.to_string()).unwrap();
    let (ok, o, e) = verify(&[
        "share-link",
        st.to_str().unwrap(),
        "--log-key",
        vkey.to_str().unwrap(),
        "--revoked",
    ]);
    assert!(ok, "{o}{e}");
    assert!(o.contains("revoked at log index"), "{o}");
    let mut reordered = status.clone();
    reordered["entries"].as_array_mut().unwrap().swap(1, 2);
    std::fs::write(&st, reordered.to_string()).unwrap();
    let (ok, _, e) = verify(&[
        "share-link",
        st.to_str().unwrap(),
        "--log-key",
        vkey.to_str().unwrap(),
    ]);
    assert!(!ok && e.contains("out of log order"), "{e}");

    // 4.
    let cli = |args: &[&str]| {
        let o = Command::new(evident_bin())
            .arg("share")
            .args(["--server", &s.url])
            .args(args)
            .env("EVIDENT_TOKEN", &t.admin)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    let cli_url = cli(&[
        "--product",
        "shop",
        "--tag",
        "v1.0.0",
        "--ttl",
        "48h",
        "--covers",
        "spdx-json,notice",
    ]);
    assert!(cli_url.starts_with(&format!("{}/s/", s.url)), "{cli_url}");
    let cli_token = cli_url.rsplit_once("/s/").unwrap().1.to_owned();
    let links: Value = s
        .get("/api/v1/tenants/acme/share-links?state=active", &t.admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let l = &links[0];
    let secs = |f: &str| {
        time::OffsetDateTime::parse(
            l[f].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp()
    };
    assert_eq!(secs("expires_at") - secs("created_at"), 48 * 3600);
    assert_eq!(l["covers"], json!(["spdx-json", "notice"]));
    let listed = cli(&["--list"]);
    assert!(
        listed.contains(l["id"].as_str().unwrap()) && listed.contains("active"),
        "{listed}"
    );
    let revoked = cli(&["--revoke", l["id"].as_str().unwrap()]);
    assert!(revoked.starts_with("revoked share link"), "{revoked}");

    // 5.
    s.stop();
    for tok in [&token, &cli_token] {
        let hits = files_containing(&root.join("data"), tok.as_bytes());
        assert!(
            hits.is_empty(),
            "a share token is stored in clear: {hits:?}"
        );
        let server_log = std::fs::read_to_string(&log).unwrap();
        assert!(
            !server_log.contains(tok.as_str()),
            "a share token is in the server log"
        );
    }
    assert!(
        std::fs::metadata(&log).unwrap().len() > 0,
        "the log was written"
    );
}
