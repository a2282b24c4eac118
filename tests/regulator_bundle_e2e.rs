//! A regulator bundle from request to offline verification, against the
//! real server and judged by tools we did not write:
//!
//! 1. CI pushes shop v1.0.0 (artefact A, findings that make VEX, build
//!    provenance) and shop v2.0.0 (artefact B); an officer's P-256 key made
//!    by OpenSSL is registered; an officer token records a request that
//!    names A, moves it into preparation and prepares the cover note;
//! 2. the officer signs the cover note with `openssl dgst -sha256 -sign`
//!    (a wrong signature is 422 and changes nothing); the request is
//!    issued; the bundle download is logged and byte-identical twice;
//! 3. system `tar` unpacks it (owner root, one mtime); the enclosed
//!    `bin/evident-verify bundle` passes on the archive and the directory,
//!    with the log key pinned from the API; `verify.sh` (sha256sum and
//!    openssl) passes;
//! 4. third-party judges: `openssl dgst` (officer, exports), `openssl
//!    pkeyutl` (platform countersignature), `openssl ts -verify` and
//!    `rfc3161-client` (every token), `@sigstore/verify` (every Sigstore
//!    bundle), Go `sumdb/tlog` (every inclusion proof, and consistency from
//!    the Sigstore bundles' checkpoints), cyclonedx-python-lib and
//!    spdx-tools (the four SBOMs and the verifier's own), csaf-validator-lib (CSAF), the OpenVEX
//!    schema;
//! 5. the tamper matrix: for every file, a byte changed (the first, the
//!    last, and two between), the file
//!    deleted, and an extra file added: the check fails and names the file;
//!    and the crucial negative: release B's artefact digest as the
//!    production digest fails.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use common::{go_verify, interop, sbom_fixture, write, Server};
use evident_verify::{
    export::Outcome,
    regulator::{verify_bundle, BundleInputs},
};
use serde_json::{json, Value};

fn run(c: &mut Command) -> (bool, String) {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn provenance(digest: &str) -> Value {
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "shop.tar.gz", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/ci@v1", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://example.com/ci"}}},
    });
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": STANDARD.encode(serde_json::to_vec(&statement).unwrap()),
        "signatures": [{"keyid": "ci", "sig": STANDARD.encode(b"not checked")}],
    })
}

fn read_dir(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn failures(
    files: &BTreeMap<String, Vec<u8>>,
    digests: &[String],
) -> Vec<(String, Option<String>, String)> {
    verify_bundle(&BundleInputs {
        files,
        production_digests: digests,
        trusted_log_key: None,
    })
    .into_iter()
    .filter_map(|c| match c.outcome {
        Outcome::Pass(_) => None,
        Outcome::Fail(t) | Outcome::NotChecked(t) => Some((c.name, c.file, t)),
    })
    .collect()
}

#[test]
fn a_regulator_bundle_is_issued_and_verified_offline_by_third_parties() {
    let d = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let s = Server::start(d.path());
    let t = s.tenant("acme", "ACME");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let a = format!("sha256:{}", "a1".repeat(32));
    let b = format!("sha256:{}", "b2".repeat(32));
    let findings: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/vex-findings/evidence-demo.findings.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (tag, digest, extra) in [
        (
            "v1.0.0",
            &a,
            json!({"findings": findings, "provenance": provenance(&a)}),
        ),
        ("v2.0.0", &b, json!({})),
    ] {
        let mut body = json!({
            "product": "shop", "tag": tag,
            "artefacts": [{"name": "shop.tar.gz", "digest": digest}],
            "sbom": {"content": STANDARD.encode(&sbom), "encoding": "base64"},
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s.post("/api/v1/tenants/acme/releases", &t.push)
            .send_json(body)
            .unwrap();
    }
    // The officer's key, made by OpenSSL; only its public half is registered.
    let key = w.join("officer.pem");
    let (ok, out) = run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&key));
    assert!(ok, "{out}");
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap()
        .stdout;
    let officer: Value = s
        .post("/api/v1/tenants/acme/officers", &t.admin)
        .send_json(json!({"name": "Grace Hopper", "role": "Head of Product Security", "public_key": String::from_utf8(public).unwrap()}))
        .unwrap()
        .into_json()
        .unwrap();
    let officer_id = officer["id"].as_str().unwrap().to_owned();
    let tok: Value = s
        .post("/api/v1/tenants/acme/tokens", &t.admin)
        .send_json(json!({"scope": "officer"}))
        .unwrap()
        .into_json()
        .unwrap();
    let ot = tok["token"].as_str().unwrap().to_owned();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let r: Value = s
        .post("/api/v1/tenants/acme/regulator-requests", &ot)
        .send_json(json!({
            "authority": {"name": "Bundesnetzagentur", "country": "DE", "kind": "market_surveillance"},
            "notice_reference": "BNetzA-MÜ-2026-4711",
            "legal_basis": "Regulation (EU) 2024/2847, Article 52(2)",
            "contact": "cra@bnetza.example",
            "received_on": today, "deadline": "2999-01-01",
            "production_digests": [a],
        }))
        .unwrap()
        .into_json()
        .unwrap();
    let id = r["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/tenants/acme/regulator-requests/{id}");
    // Not in preparation yet: no cover note.
    let e = s
        .post(&format!("{base}/cover-note"), &ot)
        .send_json(json!({"officer_id": officer_id}))
        .unwrap_err();
    assert!(matches!(e, ureq::Error::Status(409, _)), "{e:?}");
    s.post(&format!("{base}/transitions"), &ot)
        .send_json(json!({"to": "in_preparation"}))
        .unwrap();
    let prepared: Value = s
        .post(&format!("{base}/cover-note"), &ot)
        .send_json(json!({"officer_id": officer_id}))
        .unwrap()
        .into_json()
        .unwrap();
    let note = s.get(&format!("{base}/cover-note"), &ot).call().unwrap();
    let mut note_bytes = Vec::new();
    std::io::Read::read_to_end(&mut note.into_reader(), &mut note_bytes).unwrap();
    assert_eq!(
        prepared["cover_note_sha256"].as_str().unwrap(),
        evident_verify::regulator::sha256_hex(&note_bytes)
    );
    let html = s
        .get(&format!("{base}/cover-note.html"), &ot)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        html.contains("BNetzA-MÜ-2026-4711") && !html.contains("<script"),
        "{html}"
    );
    let note_file = write(w, "cover-note.json", &note_bytes);
    // The officer signs with OpenSSL, outside the server.
    let sig = w.join("note.sig");
    let (ok, out) = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key)
        .arg("-out")
        .arg(&sig)
        .arg(&note_file));
    assert!(ok, "{out}");
    // A signature over other bytes: 422, nothing issued.
    let size = s.log_size("acme", &t.admin);
    let wrong = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key)
        .arg(write(w, "other", b"{}"))
        .output()
        .unwrap()
        .stdout;
    let e = s
        .post(&format!("{base}/signature"), &ot)
        .send_json(json!({"signature": STANDARD.encode(&wrong)}))
        .unwrap_err();
    assert!(matches!(e, ureq::Error::Status(422, _)), "{e:?}");
    assert_eq!(
        s.log_size("acme", &t.admin),
        size,
        "a refused signature logs nothing"
    );
    let e = s.get(&format!("{base}/bundle"), &ot).call().unwrap_err();
    assert!(
        matches!(e, ureq::Error::Status(409, _)),
        "no bundle before issuance: {e:?}"
    );
    let issued: Value = s
        .post(&format!("{base}/signature"), &ot)
        .send_json(json!({"signature": STANDARD.encode(std::fs::read(&sig).unwrap())}))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(issued["state"], "issued", "{issued}");

    // The bundle: logged, deterministic.
    let get = || {
        let res = s.get(&format!("{base}/bundle"), &t.admin).call().unwrap();
        let index: u64 = res.header("x-evident-log-index").unwrap().parse().unwrap();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut res.into_reader(), &mut b).unwrap();
        (index, b)
    };
    let (i1, tgz) = get();
    let (i2, again) = get();
    assert!(i2 > i1, "each download is logged");
    assert!(
        tgz == again,
        "the bundle is byte-identical on every download"
    );
    let archive = w.join("bundle.tar.gz");
    std::fs::write(&archive, &tgz).unwrap();
    let (ok, listing) = run(Command::new("tar")
        .args(["-tvzf"])
        .arg(&archive)
        .args(["--numeric-owner"]));
    assert!(ok, "{listing}");
    let lines: Vec<&str> = listing.lines().collect();
    assert!(
        lines.iter().all(|l| l.contains(" 0/0 ")),
        "owner root: {listing}"
    );
    let times: std::collections::BTreeSet<String> = lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(times.len(), 1, "one mtime: {listing}");
    let (ok, out) = run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(w));
    assert!(ok, "{out}");
    let dir: PathBuf = w.join(format!("evident-regulator-bundle-acme-{id}"));
    let p = |f: &str| dir.join(f);

    // The enclosed verifier, on the archive and on the directory, with the
    // log key pinned from the API.
    let bin = p("bin/evident-verify");
    let vkey = s
        .get("/api/v1/tenants/acme/log/key", &t.admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    for target in [&archive, &dir] {
        let (ok, out) = run(Command::new(&bin).arg("bundle").arg(target).args([
            "--production-digest",
            &a,
            "--trust-log-key",
            vkey.trim(),
        ]));
        assert!(ok, "{out}");
        assert!(
            out.contains("pinned with --trust-log-key") && !out.contains('\u{2717}'),
            "{out}"
        );
    }
    let (ok, out) = run(Command::new(&bin).arg("bundle").arg(&dir).arg("--json"));
    assert!(ok, "{out}");
    let j: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (j["passed"].as_bool(), j["log_key_pinned"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(j["checks"].as_array().unwrap().iter().any(|c| c["detail"]
        .as_str()
        .unwrap()
        .contains("taken from the bundle itself")));
    // Another tenant's log key: refused, named.
    let other = s.tenant("globex", "Globex");
    let (ok, out) = run(Command::new(&bin)
        .arg("bundle")
        .arg(&dir)
        .args(["--trust-log-key", &other.vkey]));
    assert!(!ok && out.contains("log key"), "{out}");
    // The crucial negative: release B's artefact.
    let (ok, out) = run(Command::new(&bin)
        .arg("bundle")
        .arg(&dir)
        .args(["--production-digest", &b]));
    assert!(
        !ok && out.contains("production digest")
            && out.contains("is not an artefact of the release"),
        "{out}"
    );
    // verify.sh: sha256sum and openssl only.
    let (ok, out) = run(Command::new("sh").arg(p("verify.sh")).arg(&a));
    assert!(
        ok && out.contains("All checks passed") && out.contains("PASS  production digest"),
        "{out}"
    );
    let (ok, out) = run(Command::new("sh").arg(p("verify.sh")).arg(&b));
    assert!(!ok && out.contains("FAIL  production digest"), "{out}");

    // Third-party judges, part by part.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(p("manifest.json")).unwrap()).unwrap();
    let files: Vec<(String, String)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let of_role = |r: &str| -> Vec<String> {
        files
            .iter()
            .filter(|(_, x)| x == r)
            .map(|(p, _)| p.clone())
            .collect()
    };
    let (ok, out) = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(p("keys/officer.pem"))
        .arg("-signature")
        .arg(p("cover-note.officer.sig"))
        .arg(p("cover-note.json")));
    assert!(ok && out.contains("Verified OK"), "officer: {out}");
    let (ok, out) = run(Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
        .arg(p("keys/platform.pem"))
        .arg("-in")
        .arg(p("countersignature.txt"))
        .arg("-sigfile")
        .arg(p("countersignature.sig")));
    assert!(
        ok && out.contains("Signature Verified Successfully"),
        "countersignature: {out}"
    );
    let chain = std::fs::read_to_string(p("keys/tsa-chain.pem")).unwrap();
    let certs: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    write(w, "tsa.pem", certs[0]);
    write(w, "root.pem", certs[certs.len() - 1]);
    let py = r#"
import sys
from cryptography import x509
from rfc3161_client import decode_timestamp_response, VerifierBuilder
tsa = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
root = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
v = VerifierBuilder().tsa_certificate(tsa).add_root_certificate(root).build()
for tsr, data in zip(sys.argv[3::2], sys.argv[4::2]):
    resp = decode_timestamp_response(open(tsr, "rb").read())
    print(("verified " if v.verify_message(resp, open(data, "rb").read()) else "REFUSED ") + tsr)
"#;
    let mut stamped: Vec<(PathBuf, PathBuf)> = vec![
        (p("cover-note.officer.sig.tsr"), p("cover-note.officer.sig")),
        (p("countersignature.sig.tsr"), p("countersignature.sig")),
        (p("log/checkpoint.tsr"), p("log/checkpoint")),
    ];
    for doc in of_role("sbom").into_iter().chain(of_role("vex")) {
        stamped.push((p(&format!("{doc}.sig.tsr")), p(&format!("{doc}.sig"))));
        let key = files
            .iter()
            .find(|(f, _)| f.starts_with("keys/export-"))
            .unwrap()
            .0
            .clone();
        let (ok, out) = run(Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(p(&key))
            .arg("-signature")
            .arg(p(&format!("{doc}.sig")))
            .arg(p(&doc)));
        assert!(ok && out.contains("Verified OK"), "{doc}: {out}");
        for (suffix, artifact) in [
            (".sigstore.json", p(&doc).to_string_lossy().into_owned()),
            (".intoto.sigstore.json", "-".into()),
        ] {
            let (ok, out) = run(Command::new("node")
                .arg(interop().join("sigstore_verify.js"))
                .arg(p(&format!("{doc}{suffix}")))
                .arg(&artifact)
                .arg(p(&key))
                .arg(p("keys/tsa-chain.pem"))
                .arg(vkey.trim())
                .env("NODE_PATH", interop().join("node_modules")));
            assert!(ok, "@sigstore/verify {doc}{suffix}: {out}");
        }
    }
    for (tsr, data) in &stamped {
        let (ok, out) = run(Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(data)
            .arg("-in")
            .arg(tsr)
            .arg("-CAfile")
            .arg(p("keys/tsa-chain.pem")));
        assert!(
            ok && out.contains("Verification: OK"),
            "openssl ts {}: {out}",
            tsr.display()
        );
    }
    let mut py_cmd = Command::new("python3");
    py_cmd
        .args(["-c", py])
        .arg(w.join("tsa.pem"))
        .arg(w.join("root.pem"));
    for (tsr, data) in &stamped {
        py_cmd.arg(tsr).arg(data);
    }
    let (ok, out) = run(&mut py_cmd);
    assert!(
        ok && !out.contains("REFUSED") && out.matches("verified ").count() == stamped.len(),
        "rfc3161-client: {out}"
    );
    // Go sumdb/tlog: every inclusion proof, and consistency from each
    // checkpoint a Sigstore bundle names.
    let proofs: Value =
        serde_json::from_slice(&std::fs::read(p("log/proofs.json")).unwrap()).unwrap();
    let cp_size = proofs["checkpoint_size"].as_u64().unwrap();
    for e in proofs["entries"].as_array().unwrap() {
        let i = e["index"].as_u64().unwrap();
        let pj = write(
            w,
            "incl.json",
            json!({"index": i, "tree_size": cp_size, "hashes": e["inclusion"]}).to_string(),
        );
        let (ok, out) = go_verify(&[
            "inclusion",
            vkey.trim(),
            &p("log/checkpoint").to_string_lossy(),
            &p(&format!("log/entries/{i}.json")).to_string_lossy(),
            &pj,
        ]);
        assert!(ok, "Go inclusion of entry {i}: {out}");
    }
    let first = &of_role("sbom")[0];
    let sb: Value =
        serde_json::from_slice(&std::fs::read(p(&format!("{first}.sigstore.json"))).unwrap())
            .unwrap();
    let env = sb["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap();
    let old_size: u64 = sb["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let cons = proofs["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from_size"] == old_size)
        .unwrap();
    let old_cp = write(w, "old.cp", env);
    let cj = write(
        w,
        "cons.json",
        json!({"old": old_size, "new": cp_size, "hashes": cons["hashes"]}).to_string(),
    );
    let (ok, out) = go_verify(&[
        "consistency",
        vkey.trim(),
        &old_cp,
        &p("log/checkpoint").to_string_lossy(),
        &cj,
    ]);
    assert!(ok, "Go consistency: {out}");
    // The SBOMs and VEX documents.
    let sboms: Vec<PathBuf> = of_role("sbom").iter().map(|f| p(f)).collect();
    assert_eq!(sboms.len(), 4);
    let (ok, out) = run(Command::new("python3")
        .arg(interop().join("validate_sbom.py"))
        .args(&sboms)
        .arg(p("bin/evident-verify.cdx.json")));
    assert!(ok, "cyclonedx-python-lib / spdx-tools: {out}");
    // The verifier's own SBOM is the one the enclosed binary prints.
    let (ok, own) = run(Command::new(&bin).arg("sbom"));
    assert!(
        ok && own.as_bytes() == std::fs::read(p("bin/evident-verify.cdx.json")).unwrap(),
        "{own}"
    );
    let vex = of_role("vex");
    assert_eq!(vex.len(), 3, "{files:?}");
    let csaf = vex.iter().find(|f| f.contains("csaf")).unwrap();
    let (ok, out) = run(Command::new("node")
        .arg(interop().join("csaf_validate.mjs"))
        .arg("--require-vex")
        .arg(p(csaf))
        .env("NODE_PATH", interop().join("node_modules")));
    assert!(ok, "csaf-validator-lib: {out}");
    let openvex = vex.iter().find(|f| f.contains("openvex")).unwrap();
    let (ok, out) = run(Command::new("python3")
        .arg(interop().join("validate_openvex.py"))
        .arg(p(openvex)));
    assert!(ok, "OpenVEX schema: {out}");

    // The tamper matrix, in process (the binary runs this same code).
    let clean = read_dir(&dir);
    let digests = vec![a.clone()];
    assert!(failures(&clean, &digests).is_empty());
    for path in clean.keys() {
        let len = clean[path].len();
        for at in [0, len / 3, len / 2, len - 1] {
            let mut flipped = clean.clone();
            flipped.get_mut(path).unwrap()[at] ^= 0x01;
            let f = failures(&flipped, &digests);
            assert!(
                f.iter()
                    .any(|(_, file, text)| file.as_deref() == Some(path.as_str())
                        || text.contains(path.as_str())),
                "byte {at} of {path} changed: no failure names it: {f:?}"
            );
        }
        let mut dropped = clean.clone();
        dropped.remove(path);
        let f = failures(&dropped, &digests);
        assert!(
            f.iter()
                .any(|(_, file, text)| file.as_deref() == Some(path.as_str())
                    || text.contains(path.as_str())),
            "{path} deleted: no failure names it: {f:?}"
        );
    }
    let mut extra = clean.clone();
    extra.insert("sbom/extra.cdx.json".into(), b"{}".to_vec());
    let f = failures(&extra, &digests);
    assert!(
        f.iter()
            .any(|(n, file, _)| n == "manifest" && file.as_deref() == Some("sbom/extra.cdx.json")),
        "{f:?}"
    );
    // And with the binary: a flipped byte in an SBOM is named with its check.
    let sbom_path = p(first);
    let mut b = std::fs::read(&sbom_path).unwrap();
    b[10] ^= 1;
    std::fs::write(&sbom_path, &b).unwrap();
    let (ok, out) = run(Command::new(&bin).arg("bundle").arg(&dir));
    assert!(!ok && out.contains(&format!("manifest [{first}]")), "{out}");
    // The authority's link: the same bundle without a tenant credential,
    // then a consistency proof from the bundle's checkpoint to the latest,
    // judged by Go; revoked, it is gone.
    let link: Value = s
        .post(&format!("{base}/links"), &ot)
        .send_json(json!({"grace_days": 14}))
        .unwrap()
        .into_json()
        .unwrap();
    let url = link["url"].as_str().unwrap().to_owned();
    let path = url
        .split_once("/r/")
        .map(|(_, p)| format!("/r/{p}"))
        .unwrap();
    let e = ureq::head(&format!("{}{path}", s.url)).call().unwrap_err();
    assert!(
        matches!(e, ureq::Error::Status(405, _)),
        "HEAD is not a logged download: {e:?}"
    );
    let res = ureq::get(&format!("{}{path}", s.url)).call().unwrap();
    assert!(res.header("x-evident-log-index").is_some());
    let mut anon = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut anon).unwrap();
    assert!(anon == tgz, "the link serves the issued bundle");
    for _ in 0..3 {
        s.post("/api/v1/tenants/acme/releases", &t.push)
            .send_json(
                json!({"product": "tools", "tag": format!("v{}", s.log_size("acme", &t.admin)),
                "artefacts": [{"name": "t", "digest": format!("sha256:{}", "c3".repeat(32))}],
                "sbom": {"content": STANDARD.encode(&sbom), "encoding": "base64"}}),
            )
            .unwrap();
    }
    let cons_url = path.replace("/bundle", &format!("/consistency?old={cp_size}"));
    let c: Value = ureq::get(&format!("{}{cons_url}", s.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(c["new"].as_u64().unwrap() > cp_size, "{c}");
    let new_cp = write(w, "new.cp", c["checkpoint"].as_str().unwrap());
    let cj = write(
        w,
        "cons2.json",
        json!({"old": cp_size, "new": c["new"], "hashes": c["hashes"]}).to_string(),
    );
    let (ok, out) = go_verify(&[
        "consistency",
        vkey.trim(),
        &p("log/checkpoint").to_string_lossy(),
        &new_cp,
        &cj,
    ]);
    assert!(ok, "Go consistency from the bundle's checkpoint: {out}");
    // evident-verify reads the answer as it is (its checkpoint carried), as
    // docs/regulators.md tells the authority; a changed hash, or another
    // tenant's key, fails.
    let answer = write(w, "later.json", c.to_string());
    let old_cp = p("log/checkpoint").to_string_lossy().into_owned();
    let (ok, out, err) = common::verify(&[
        "consistency",
        &answer,
        "--old",
        &old_cp,
        "--key",
        vkey.trim(),
    ]);
    assert!(ok, "{out}{err}");
    let mut bad = c.clone();
    let h0 = bad["hashes"][0].as_str().unwrap().to_owned();
    let flipped = if h0.starts_with('A') {
        h0.replacen('A', "B", 1)
    } else {
        format!("A{}", &h0[1..])
    };
    bad["hashes"][0] = json!(flipped);
    let bad = write(w, "bad.json", bad.to_string());
    let (ok, _, err) =
        common::verify(&["consistency", &bad, "--old", &old_cp, "--key", vkey.trim()]);
    assert!(!ok && err.contains("consistency"), "{err}");
    let (ok, _, err) = common::verify(&[
        "consistency",
        &answer,
        "--old",
        &old_cp,
        "--key",
        &other.vkey,
    ]);
    assert!(!ok, "another tenant's key: {err}");
    let link_id = link["link"]["id"].as_str().unwrap();
    ureq::delete(&format!("{}{base}/links/{link_id}", s.url))
        .set("Authorization", &format!("Bearer {ot}"))
        .call()
        .unwrap();
    for u in [
        path.clone(),
        cons_url.clone(),
        "/r/evr_nonsense/bundle".into(),
    ] {
        let e = ureq::get(&format!("{}{u}", s.url)).call().unwrap_err();
        assert!(matches!(e, ureq::Error::Status(404, _)), "{u}: {e:?}");
    }
    let listed: Value = s
        .get(&format!("{base}/links"), &t.admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(
        listed[0]["revoked_at"].is_string() && listed[0].get("token").is_none(),
        "{listed}"
    );

    // The request trail: received, in preparation, issued, and the bundle.
    let kinds = s.audit_kinds("acme", &format!("request={id}"), &t.admin);
    assert_eq!(
        kinds,
        [
            "regulator_bundle_issued",
            "regulator_link_issued",
            "regulator_link_revoked",
            "regulator_link_used",
            "regulator_link_used",
            "regulator_request_in_preparation",
            "regulator_request_issued",
            "regulator_request_received"
        ]
    );
}
