//! The built-in RFC 3161 TSA against the real server process, judged by
//! `openssl ts` and by Python's `rfc3161-client` (strict DER).

mod common;

use std::{path::Path, process::Command};

use common::Server;

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package) is installed by .ci/setup");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn post_query(s: &Server, query: &[u8]) -> Vec<u8> {
    let r = ureq::post(&format!("{}/tsa", s.url))
        .set("Content-Type", "application/timestamp-query")
        .send_bytes(query)
        .unwrap();
    assert_eq!(
        r.header("content-type"),
        Some("application/timestamp-reply")
    );
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
    b
}

#[test]
fn tokens_verify_with_openssl_and_rfc3161_client() {
    let d = tempfile::tempdir().unwrap();
    let s = Server::start(&d.path().join("data"));
    let dir = d.path();
    std::fs::write(dir.join("msg.txt"), b"the SBOM bytes\n").unwrap();

    // The chain: TSA certificate first, then the root.
    let chain = ureq::get(&format!("{}/tsa/certs", s.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let certs: Vec<String> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_owned)
        .collect();
    assert_eq!(certs.len(), 2, "{chain}");
    std::fs::write(dir.join("tsa.pem"), &certs[0]).unwrap();
    std::fs::write(dir.join("root.pem"), &certs[1]).unwrap();
    let (ok, text) = openssl(&["x509", "-in", "tsa.pem", "-noout", "-text"], dir);
    assert!(ok, "{text}");
    assert!(
        text.contains("X509v3 Extended Key Usage: critical") && text.contains("Time Stamping"),
        "{text}"
    );

    for (alg, cert) in [("-sha256", true), ("-sha384", true), ("-sha512", false)] {
        let mut q = vec!["ts", "-query", "-data", "msg.txt", alg, "-out", "q.tsq"];
        if cert {
            q.push("-cert");
        }
        let (ok, out) = openssl(&q, dir);
        assert!(ok, "{out}");
        let reply = post_query(&s, &std::fs::read(dir.join("q.tsq")).unwrap());
        std::fs::write(dir.join("r.tsr"), &reply).unwrap();
        let (ok, out) = openssl(&["ts", "-reply", "-in", "r.tsr", "-text"], dir);
        assert!(ok && out.contains("Status: Granted."), "{alg}: {out}");
        // Against the data, and against the query (imprint, nonce, policy).
        for by in [["-data", "msg.txt"], ["-queryfile", "q.tsq"]] {
            let (ok, out) = openssl(
                &[
                    "ts",
                    "-verify",
                    by[0],
                    by[1],
                    "-in",
                    "r.tsr",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "tsa.pem",
                ],
                dir,
            );
            assert!(
                ok && out.contains("Verification: OK"),
                "{alg} {}: {out}",
                by[0]
            );
        }
        // Another message does not verify.
        std::fs::write(dir.join("other.txt"), b"other bytes\n").unwrap();
        let (ok, _) = openssl(
            &[
                "ts",
                "-verify",
                "-data",
                "other.txt",
                "-in",
                "r.tsr",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ],
            dir,
        );
        assert!(!ok, "{alg}: a token verified for other data");
    }

    // A flipped byte in the signature makes openssl refuse.
    let (ok, out) = openssl(
        &[
            "ts", "-query", "-data", "msg.txt", "-sha256", "-cert", "-out", "q.tsq",
        ],
        dir,
    );
    assert!(ok, "{out}");
    let mut reply = post_query(&s, &std::fs::read(dir.join("q.tsq")).unwrap());
    std::fs::write(dir.join("good.tsr"), &reply).unwrap();
    let n = reply.len();
    reply[n - 5] ^= 0x01;
    std::fs::write(dir.join("bad.tsr"), &reply).unwrap();
    let (ok, _) = openssl(
        &[
            "ts",
            "-verify",
            "-data",
            "msg.txt",
            "-in",
            "bad.tsr",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
        dir,
    );
    assert!(!ok, "a tampered token verified");

    // rfc3161-client (strict DER) verifies the same reply.
    let py = r#"
import sys
from cryptography import x509
from rfc3161_client import decode_timestamp_response, VerifierBuilder
resp = decode_timestamp_response(open(sys.argv[1], "rb").read())
tsa = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
root = x509.load_pem_x509_certificate(open(sys.argv[3], "rb").read())
v = VerifierBuilder().tsa_certificate(tsa).add_root_certificate(root).build()
print("verified" if v.verify_message(resp, open(sys.argv[4], "rb").read()) else "refused")
"#;
    let out = Command::new("python3")
        .args(["-c", py, "good.tsr", "tsa.pem", "root.pem", "msg.txt"])
        .current_dir(dir)
        .output()
        .expect("python3 with rfc3161-client (.ci/setup installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("verified"), "{text}");
    let out = Command::new("python3")
        .args(["-c", py, "good.tsr", "tsa.pem", "root.pem", "other.txt"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("verified"),
        "rfc3161-client verified a token for other data"
    );

    // Requests it cannot honour: a rejection status, never a crash.
    let (ok, out) = openssl(
        &[
            "ts", "-query", "-data", "msg.txt", "-sha1", "-out", "sha1.tsq",
        ],
        dir,
    );
    assert!(ok, "{out}");
    let reply = post_query(&s, &std::fs::read(dir.join("sha1.tsq")).unwrap());
    std::fs::write(dir.join("sha1.tsr"), &reply).unwrap();
    let (_, out) = openssl(&["ts", "-reply", "-in", "sha1.tsr", "-text"], dir);
    assert!(
        out.contains("Status: Rejected") && out.contains("unrecognized or unsupported algorithm"),
        "{out}"
    );
    let reply = post_query(&s, b"not DER at all");
    std::fs::write(dir.join("junk.tsr"), &reply).unwrap();
    let (_, out) = openssl(&["ts", "-reply", "-in", "junk.tsr", "-text"], dir);
    assert!(
        out.contains("Status: Rejected") && out.contains("the data submitted has the wrong format"),
        "{out}"
    );
    // Checkpoints carry tokens over their exact bytes.
    let op = s.operator_token.clone().unwrap();
    let v: serde_json::Value = s
        .post("/api/v1/tenants", &op)
        .send_json(serde_json::json!({"slug": "acme", "name": "Acme"}))
        .unwrap()
        .into_json()
        .unwrap();
    let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
    let note = s
        .get("/api/v1/tenants/acme/log/checkpoint", &admin)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    std::fs::write(dir.join("checkpoint.txt"), &note).unwrap();
    let size = note.lines().nth(1).unwrap().to_owned();
    let fetch = |q: &str| {
        let r = s
            .get(
                &format!("/api/v1/tenants/acme/log/checkpoint.tsr{q}"),
                &admin,
            )
            .call()
            .unwrap();
        assert_eq!(r.header("checkpoint-size"), Some(size.as_str()));
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
        b
    };
    let first = fetch("");
    assert_eq!(
        fetch(&format!("?size={size}")),
        first,
        "one token per checkpoint"
    );
    std::fs::write(dir.join("cp.tsr"), &first).unwrap();
    let (ok, out) = openssl(
        &[
            "ts",
            "-verify",
            "-data",
            "checkpoint.txt",
            "-in",
            "cp.tsr",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
        dir,
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let e = s
        .get("/api/v1/tenants/acme/log/checkpoint.tsr?size=999", &admin)
        .call()
        .unwrap_err();
    assert!(matches!(e, ureq::Error::Status(422, _)), "{e:?}");

    // The wrong media type is a JSON 415.
    let e = ureq::post(&format!("{}/tsa", s.url))
        .set("Content-Type", "application/json")
        .send_bytes(b"{}")
        .unwrap_err();
    match e {
        ureq::Error::Status(415, r) => {
            assert!(r
                .into_string()
                .unwrap()
                .contains("application/timestamp-query"))
        }
        other => panic!("{other:?}"),
    }
    s.stop();
}
