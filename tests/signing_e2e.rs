//! Detached export signatures against the real server, checked by
//! `openssl dgst -sha256 -verify` over the exact downloaded bytes, for all
//! four formats, with the key listed by `GET …/keys`.

mod common;

use std::{path::Path, process::Command};

use common::{sbom_fixture, Server};
use serde_json::Value;

fn read(r: ureq::Response) -> Vec<u8> {
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
    b
}

fn dgst_verify(dir: &Path, file: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig.der",
            file,
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn export_signatures_verify_with_openssl() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let s = Server::start(&dir.join("data"));
    let t = s.tenant("acme", "Acme");
    let (admin, push) = (t.admin.clone(), t.push.clone());
    let sbom = sbom_fixture("pixi-sbom-jupyter-venv.spdx.json");
    s.push_release(
        &t,
        "shop",
        "v1",
        &format!("sha256:{}", "c".repeat(64)),
        &sbom,
    );
    let keys: Value = s
        .get("/api/v1/tenants/acme/keys", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(
        keys.as_array().unwrap().len(),
        1,
        "the tenant got its key when it was created: {keys}"
    );

    let base = "/api/v1/tenants/acme/products/shop/releases/v1";
    let mut key_ids = Vec::new();
    for f in ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"] {
        let export = read(
            s.get(&format!("{base}/sbom?format={f}"), &push)
                .call()
                .unwrap(),
        );
        let r = s
            .get(&format!("{base}/sbom.sig?format={f}"), &push)
            .call()
            .unwrap();
        key_ids.push(r.header("evident-key-id").unwrap().to_owned());
        let sig = read(r);
        std::fs::write(dir.join("export"), &export).unwrap();
        std::fs::write(dir.join("sig.der"), &sig).unwrap();
        let keys: Value = s
            .get("/api/v1/tenants/acme/keys", &admin)
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
        assert_eq!(keys[0]["key_id"], key_ids[0].as_str());
        std::fs::write(
            dir.join("pub.pem"),
            keys[0]["public_key_pem"].as_str().unwrap(),
        )
        .unwrap();
        let (ok, out) = dgst_verify(dir, "export");
        assert!(ok && out.contains("Verified OK"), "{f}: {out}");
        // The same signature again (RFC 6979), and one flipped byte fails.
        let again = read(
            s.get(&format!("{base}/sbom.sig?format={f}"), &push)
                .call()
                .unwrap(),
        );
        assert_eq!(again, sig, "{f}: signatures are deterministic");
        // An RFC 3161 token over the signature, the same on every request.
        let tsr = read(
            s.get(&format!("{base}/sbom.sig.tsr?format={f}"), &push)
                .call()
                .unwrap(),
        );
        let again_tsr = read(
            s.get(&format!("{base}/sbom.sig.tsr?format={f}"), &push)
                .call()
                .unwrap(),
        );
        assert_eq!(tsr, again_tsr, "{f}: one token per signature");
        std::fs::write(dir.join("sig.tsr"), &tsr).unwrap();
        let chain = ureq::get(&format!("{}/tsa/certs", s.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let certs: Vec<&str> = chain
            .split_inclusive("-----END CERTIFICATE-----\n")
            .collect();
        std::fs::write(dir.join("tsa.pem"), certs[0]).unwrap();
        std::fs::write(dir.join("root.pem"), certs[1]).unwrap();
        let out = Command::new("openssl")
            .args([
                "ts",
                "-verify",
                "-data",
                "sig.der",
                "-in",
                "sig.tsr",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ])
            .current_dir(dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("Verification: OK"),
            "{f}: {text}"
        );
        let mut bad = export.clone();
        bad[export.len() / 2] ^= 0x20;
        std::fs::write(dir.join("bad"), &bad).unwrap();
        let (ok, out) = dgst_verify(dir, "bad");
        assert!(!ok && out.contains("Verification failure"), "{f}: {out}");
    }
    assert!(key_ids.windows(2).all(|w| w[0] == w[1]));

    // Rotation: the old key stays listed with its end of validity; the old
    // signature still verifies with it; new signatures use the new key.
    std::fs::write(dir.join("old.pem"), {
        let keys: Value = s
            .get("/api/v1/tenants/acme/keys", &admin)
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        keys[0]["public_key_pem"].as_str().unwrap().to_owned()
    })
    .unwrap();
    let old_export = read(
        s.get(&format!("{base}/sbom?format=spdx-json"), &push)
            .call()
            .unwrap(),
    );
    let old_sig = read(
        s.get(&format!("{base}/sbom.sig?format=spdx-json"), &push)
            .call()
            .unwrap(),
    );
    match s.post("/api/v1/tenants/acme/keys/rotate", &push).call() {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("a push token rotated the key: {other:?}"),
    }
    let new: Value = s
        .post("/api/v1/tenants/acme/keys/rotate", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_ne!(new["key_id"], key_ids[0].as_str());
    let keys: Value = s
        .get("/api/v1/tenants/acme/keys", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");
    let old_rec = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_ids[0].as_str())
        .unwrap();
    assert!(old_rec["valid_until"].is_string(), "{keys}");
    std::fs::write(dir.join("export"), &old_export).unwrap();
    std::fs::write(dir.join("sig.der"), &old_sig).unwrap();
    std::fs::copy(dir.join("old.pem"), dir.join("pub.pem")).unwrap();
    let (ok, out) = dgst_verify(dir, "export");
    assert!(
        ok,
        "the old signature no longer verifies with the old key: {out}"
    );
    // The export issued before the rotation keeps the key that issued it.
    let r = s
        .get(&format!("{base}/sbom.sig?format=spdx-json"), &push)
        .call()
        .unwrap();
    assert_eq!(r.header("evident-key-id"), Some(key_ids[0].as_str()));
    assert_eq!(
        read(r),
        old_sig,
        "an issued export's signature never changes"
    );
    // An export issued after it (a new release) is signed by the new key.
    s.push_release(
        &t,
        "shop",
        "v2",
        &format!("sha256:{}", "d".repeat(64)),
        &sbom,
    );
    let base2 = "/api/v1/tenants/acme/products/shop/releases/v2";
    let new_export = read(
        s.get(&format!("{base2}/sbom?format=spdx-json"), &push)
            .call()
            .unwrap(),
    );
    std::fs::write(dir.join("export"), &new_export).unwrap();
    let r = s
        .get(&format!("{base2}/sbom.sig?format=spdx-json"), &push)
        .call()
        .unwrap();
    assert_eq!(r.header("evident-key-id"), new["key_id"].as_str());
    std::fs::write(dir.join("sig.der"), read(r)).unwrap();
    let (ok, _) = dgst_verify(dir, "export");
    assert!(!ok, "a new signature verified with the old key");
    std::fs::write(dir.join("pub.pem"), new["public_key_pem"].as_str().unwrap()).unwrap();
    let (ok, out) = dgst_verify(dir, "export");
    assert!(ok, "{out}");

    // The key's creation and rotation are in the log.
    let note = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let size = note.lines().nth(1).unwrap().to_owned();
    let v: Value = s
        .get(
            &format!("/api/v1/tenants/acme/log/entries?start=0&end={size}"),
            &admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(v.to_string().contains("export_key_created"), "{v}");
    assert!(v.to_string().contains("export_key_rotated"), "{v}");
    // Another tenant sees nothing.
    let other = s.tenant("globex", "Globex").admin;
    for u in [
        "/api/v1/tenants/acme/keys".to_owned(),
        format!("{base}/sbom.sig"),
    ] {
        match s.get(&u, &other).call() {
            Err(ureq::Error::Status(404, _)) => {}
            other => panic!("{u}: {other:?}"),
        }
    }
    s.stop();
}
