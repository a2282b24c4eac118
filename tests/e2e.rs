//! End to end against the real `evident` binary on loopback, with the
//! `evident-verify` binary and the Go reference verifier as judges.
//!
//! Steps and what each expects:
//! 1. first start prints the operator token once; `/healthz` → 200;
//! 2. `POST /api/v1/tenants` → 201 with an admin token; tokens issued → 201;
//! 3. the checkpoint verifies with `evident-verify checkpoint` and with Go's
//!    `note.Open`; every entry's inclusion proof verifies with both, as JSON
//!    and (evident-verify) as a C2SP tlog-proof;
//! 4. a consistency proof between two checkpoints verifies with both, and
//!    Go's tile client rebuilds and proves the tree from the C2SP tiles;
//! 5. SIGTERM → clean exit 0; a restart prints no operator token, keeps
//!    every entry, and its checkpoint is consistent with the earlier one;
//! 6. `evident log audit` on the stopped data directory → exit 0, clean.

mod common;

use common::{go_verify, verify, write, Server};
use serde_json::{json, Value};

#[test]
fn server_tour_verified_by_independent_tools() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let files = d.path();
    let s = Server::start(&data);
    let operator = s
        .operator_token
        .clone()
        .expect("first start prints the operator token");
    assert_eq!(
        ureq::get(&format!("{}/healthz", s.url))
            .call()
            .unwrap()
            .status(),
        200
    );

    let created: Value = s
        .post("/api/v1/tenants", &operator)
        .send_json(json!({"slug": "acme", "name": "Acme Corp"}))
        .unwrap()
        .into_json()
        .unwrap();
    let admin = created["admin_token"]["token"].as_str().unwrap().to_owned();
    for scope in ["push", "auditor"] {
        let r = s
            .post("/api/v1/tenants/acme/tokens", &admin)
            .send_json(json!({"scope": scope}))
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // A wrong token answers 401 with a JSON error.
    let err = s
        .get("/api/v1/tenants/acme/log/key", "evd_nope")
        .call()
        .unwrap_err();
    match err {
        ureq::Error::Status(401, r) => {
            let v: Value = r.into_json().unwrap();
            assert_eq!(v["error"], "unauthorized");
        }
        other => panic!("expected 401, got {other:?}"),
    }

    let vkey = s
        .get("/api/v1/tenants/acme/log/key", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let vkey = vkey.trim().to_owned();
    let cp1_note = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let cp1 = write(files, "cp1", &cp1_note);
    let (ok, out, err) = verify(&[
        "checkpoint",
        &cp1,
        "--key",
        &vkey,
        "--origin",
        "evident.test/acme",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("size   6"), "{out}");
    let (ok, out) = go_verify(&["checkpoint", &vkey, &cp1]);
    assert!(ok && out.contains("evident.test/acme 6"), "{out}");

    let entries: Value = s
        .get("/api/v1/tenants/acme/log/entries?start=0&end=4", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    for e in entries["entries"].as_array().unwrap() {
        let i = e["index"].as_u64().unwrap();
        use base64::Engine as _;
        let leaf = base64::engine::general_purpose::STANDARD
            .decode(e["leaf"].as_str().unwrap())
            .unwrap();
        let leaf_file = write(files, "leaf", &leaf);
        let proof = s
            .get(
                &format!("/api/v1/tenants/acme/log/proof/inclusion?index={i}&size=6"),
                &admin,
            )
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let pj = write(files, "p.json", &proof);
        let (ok, out, err) = verify(&[
            "inclusion",
            &pj,
            "--key",
            &vkey,
            "--checkpoint",
            &cp1,
            "--leaf",
            &leaf_file,
        ]);
        assert!(ok, "entry {i}: {out}{err}");
        let (ok, out) = go_verify(&["inclusion", &vkey, &cp1, &leaf_file, &pj]);
        assert!(ok, "Go, entry {i}: {out}");
        let tp = s
            .get(
                &format!("/api/v1/tenants/acme/log/proof/inclusion?index={i}&format=tlog-proof"),
                &admin,
            )
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert!(tp.starts_with("c2sp.org/tlog-proof@v1\nindex "), "{tp}");
        let tpf = write(files, "p.tlog-proof", &tp);
        let (ok, out, err) = verify(&["inclusion", &tpf, "--key", &vkey, "--leaf", &leaf_file]);
        assert!(ok, "tlog-proof entry {i}: {out}{err}");
        // The wrong leaf fails with one line.
        let other = write(files, "other", b"not this entry");
        let (ok, _, err) = verify(&["inclusion", &tpf, "--key", &vkey, "--leaf", &other]);
        assert!(!ok && err.lines().count() == 1, "{err}");
    }

    // More events, a second checkpoint, and a consistency proof between them.
    for _ in 0..3 {
        s.post("/api/v1/tenants/acme/tokens", &admin)
            .send_json(json!({"scope": "auditor"}))
            .unwrap();
    }
    let cp2_note = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let cp2 = write(files, "cp2", &cp2_note);
    let proof = s
        .get(
            "/api/v1/tenants/acme/log/proof/consistency?old=6&new=9",
            &admin,
        )
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let cj = write(files, "c.json", &proof);
    let (ok, out, err) = verify(&[
        "consistency",
        &cj,
        "--key",
        &vkey,
        "--old",
        &cp1,
        "--new",
        &cp2,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out) = go_verify(&["consistency", &vkey, &cp1, &cp2, &cj]);
    assert!(ok, "Go: {out}");
    // A tile-based client (Go's tlog.TileHashReader) rebuilds and proves the
    // whole tree from our C2SP tiles and checks the entry bundles.
    let (ok, out) = go_verify(&[
        "tiles",
        &vkey,
        &cp2,
        &format!("{}/tlog/acme", s.url),
        &admin,
    ]);
    assert!(ok && out.contains("ok tiles 9"), "Go tiles client: {out}");
    // Swapped checkpoints fail.
    let (ok, _, _) = verify(&[
        "consistency",
        &cj,
        "--key",
        &vkey,
        "--old",
        &cp2,
        "--new",
        &cp1,
    ]);
    assert!(!ok);

    // Graceful stop, restart: no second operator token; data and consistency kept.
    s.stop();
    let s = Server::start(&data);
    assert!(
        s.operator_token.is_none(),
        "the operator token is printed exactly once"
    );
    let cp3_note = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(
        cp3_note, cp2_note,
        "nothing new was appended, so the same checkpoint is served"
    );
    s.post("/api/v1/tenants/acme/tokens", &admin)
        .send_json(json!({"scope": "push"}))
        .unwrap();
    let cp4 = write(
        files,
        "cp4",
        s.get("/api/v1/tenants/acme/log/checkpoint", &admin)
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    let proof = s
        .get(
            "/api/v1/tenants/acme/log/proof/consistency?old=9&new=10",
            &admin,
        )
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let cj = write(files, "c2.json", &proof);
    let (ok, out) = go_verify(&["consistency", &vkey, &cp2, &cp4, &cj]);
    assert!(ok, "Go after restart: {out}");
    // Past 256 entries: full level-0 tiles, a level-1 tile and several bundles.
    for _ in 0..300 {
        s.post("/api/v1/tenants/acme/tokens", &admin)
            .send_json(json!({"scope": "auditor"}))
            .unwrap();
    }
    let cp5 = write(
        files,
        "cp5",
        s.get("/api/v1/tenants/acme/log/checkpoint", &admin)
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    let (ok, out) = go_verify(&[
        "tiles",
        &vkey,
        &cp5,
        &format!("{}/tlog/acme", s.url),
        &admin,
    ]);
    assert!(
        ok && out.contains("ok tiles 310"),
        "Go tiles client at 310 entries: {out}"
    );
    s.stop();

    let out = std::process::Command::new(common::evident_bin())
        .args(["log", "audit", "--data-dir"])
        .arg(&data)
        .env("EVIDENT_MASTER_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("log acme: size 310") && text.contains("clean"),
        "{text}"
    );
}
