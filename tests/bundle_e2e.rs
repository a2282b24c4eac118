//! Signed-export evidence against the real server process, judged by tools
//! we did not write: `@sigstore/verify` 3.1.1 (keyed, offline) on both
//! Sigstore bundles, `openssl dgst` on the bundle's signature, `openssl ts`
//! (through the kit's `verify.sh`) and Python `rfc3161-client` on the
//! timestamp; then `verify.sh` and `evident-verify export` against one
//! tampered part at a time, each of which must be caught and named.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use common::{sbom_fixture, Server};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const FORMATS: [&str; 4] = ["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv"];

fn read(r: ureq::Response) -> Vec<u8> {
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
    b
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn sigstore_verify(
    bundle: &Path,
    artifact: &str,
    key: &Path,
    chain: &Path,
    vkey: &str,
) -> (bool, String) {
    run(Command::new("node")
        .arg(interop_dir().join("sigstore_verify.js"))
        .arg(bundle)
        .arg(artifact)
        .arg(key)
        .arg(chain)
        .arg(vkey)
        .env("NODE_PATH", interop_dir().join("node_modules")))
}

struct Kit {
    dir: PathBuf,
    file: String,
}

impl Kit {
    fn p(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn export(&self) -> PathBuf {
        self.p(&self.file)
    }

    fn sig_bundle(&self) -> PathBuf {
        self.p(&format!("{}.sigstore.json", self.file))
    }

    fn att_bundle(&self) -> PathBuf {
        self.p(&format!("{}.intoto.sigstore.json", self.file))
    }

    fn evident_verify(
        &self,
        sig_bundle: &Path,
        att_bundle: &Path,
        extra: &[&str],
    ) -> (bool, String) {
        run(Command::new(common::verify_bin())
            .arg("export")
            .arg(self.export())
            .arg("--bundle")
            .arg(sig_bundle)
            .arg("--bundle")
            .arg(att_bundle)
            .arg("--key")
            .arg(self.p("pubkey.pem"))
            .arg("--tsa-chain")
            .arg(self.p("tsa-chain.pem"))
            .arg("--log-key")
            .arg(self.p("log.vkey"))
            .args(extra))
    }

    fn verify_sh(&self) -> (bool, String) {
        run(Command::new("sh").arg(self.p("verify.sh")))
    }
}

/// Fetches and unpacks the kit of one format into `root/<format>/`.
fn fetch_kit(s: &Server, token: &str, base: &str, format: &str, root: &Path) -> Kit {
    let r = s
        .get(&format!("{base}/sbom-kit.tar.gz?format={format}"), token)
        .call()
        .unwrap();
    assert_eq!(r.content_type(), "application/gzip");
    let gz = read(r);
    let dest = root.join(format);
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("kit.tar.gz"), &gz).unwrap();
    let (ok, out) = run(Command::new("tar")
        .args(["xzf", "kit.tar.gz", "--strip-components=1"])
        .current_dir(&dest));
    assert!(ok, "{out}");
    let (_, listing) = run(Command::new("tar")
        .args(["tzvf", "kit.tar.gz"])
        .current_dir(&dest));
    assert!(
        listing.contains("-rwxr-xr-x") && listing.contains("/verify.sh"),
        "{listing}"
    );
    let file = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(".sig"))
        .unwrap()
        .trim_end_matches(".sig")
        .to_owned();
    Kit { dir: dest, file }
}

/// One byte changed in the middle of a file (a base64 letter for text, a
/// bit for binary), so the file stays the same length.
fn flip_one_byte(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(&b).is_ok();
    let mut i = b.len() / 2;
    if text {
        while !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    } else {
        b[i] ^= 0x01;
    }
    std::fs::write(path, b).unwrap();
}

fn edit_json(src: &Path, dst: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(dst, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

fn b64_edit(v: &mut Value, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = STANDARD.decode(v.as_str().unwrap()).unwrap();
    f(&mut b);
    *v = Value::String(STANDARD.encode(b));
}

fn failed_check(out: &str, name: &str) -> bool {
    out.lines()
        .any(|l| l.starts_with(&format!("\u{2717} {name} ")))
}

#[test]
fn bundles_and_kits_verify_with_third_party_tools_and_catch_tampering() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let s = Server::start(&root.join("data"));
    let acme = s.tenant("acme", "Acme");
    let (admin, vkey, push) = (acme.admin.clone(), acme.vkey.clone(), acme.push.clone());
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let artefact = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(b"shop-1.0.0-linux-amd64"))
    );
    s.push_release(&acme, "shop", "v1", &artefact, &sbom);
    let base = "/api/v1/tenants/acme/products/shop/releases/v1";

    for f in FORMATS {
        let kit = fetch_kit(&s, &push, base, f, root);
        // The kit's export is byte for byte what …/sbom serves.
        let served = read(
            s.get(&format!("{base}/sbom?format={f}"), &push)
                .call()
                .unwrap(),
        );
        assert_eq!(std::fs::read(kit.export()).unwrap(), served, "{f}");
        // The standalone endpoints agree with the kit.
        let sh = read(
            s.get(&format!("{base}/verify.sh?format={f}"), &push)
                .call()
                .unwrap(),
        );
        assert_eq!(sh, std::fs::read(kit.p("verify.sh")).unwrap(), "{f}");
        let att = read(
            s.get(
                &format!("{base}/sbom.intoto.sigstore.json?format={f}"),
                &push,
            )
            .call()
            .unwrap(),
        );
        let att: Value = serde_json::from_slice(&att).unwrap();
        assert_eq!(
            att["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );

        // openssl checks the bundle's message signature over the file.
        let b: Value = serde_json::from_slice(&std::fs::read(kit.sig_bundle()).unwrap()).unwrap();
        let sig = STANDARD
            .decode(b["messageSignature"]["signature"].as_str().unwrap())
            .unwrap();
        std::fs::write(kit.p("bundle-sig.der"), &sig).unwrap();
        let (ok, out) = run(Command::new("openssl")
            .args([
                "dgst",
                "-sha256",
                "-verify",
                "pubkey.pem",
                "-signature",
                "bundle-sig.der",
            ])
            .arg(&kit.file)
            .current_dir(&kit.dir));
        assert!(ok && out.contains("Verified OK"), "{f}: {out}");
        assert_eq!(
            sig,
            std::fs::read(kit.p(&format!("{}.sig", kit.file))).unwrap()
        );

        // @sigstore/verify: both bundles, keyed.
        let (ok, out) = sigstore_verify(
            &kit.sig_bundle(),
            kit.export().to_str().unwrap(),
            &kit.p("pubkey.pem"),
            &kit.p("tsa-chain.pem"),
            &vkey,
        );
        assert!(
            ok && out.contains("ok inclusion") && out.contains("ok signature"),
            "{f}: {out}"
        );
        let (ok, out) = sigstore_verify(
            &kit.att_bundle(),
            "-",
            &kit.p("pubkey.pem"),
            &kit.p("tsa-chain.pem"),
            &vkey,
        );
        assert!(ok && out.contains("ok signature"), "{f} attestation: {out}");
        // …and it refuses a signature bundle for other bytes.
        let (ok, out) = sigstore_verify(
            &kit.sig_bundle(),
            kit.p("README.txt").to_str().unwrap(),
            &kit.p("pubkey.pem"),
            &kit.p("tsa-chain.pem"),
            &vkey,
        );
        assert!(!ok, "{f}: @sigstore/verify accepted other bytes: {out}");

        // evident-verify: every check.
        let (ok, out) = kit.evident_verify(
            &kit.sig_bundle(),
            &kit.att_bundle(),
            &["--artefact-digest", &artefact],
        );
        assert!(ok && out.contains("all 8 checks passed"), "{f}: {out}");
        // verify.sh, untouched.
        let (ok, out) = kit.verify_sh();
        assert!(ok && out.contains("RESULT: verified"), "{f}: {out}");
    }

    // rfc3161-client on the kit's token over the signature.
    let kit = fetch_kit(&s, &push, base, "cyclonedx-json", &root.join("again"));
    let chain = std::fs::read_to_string(kit.p("tsa-chain.pem")).unwrap();
    let certs: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    std::fs::write(kit.p("tsa.pem"), certs[0]).unwrap();
    std::fs::write(kit.p("root.pem"), certs[1]).unwrap();
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
    let (ok, out) = run(Command::new("python3")
        .args(["-c", py])
        .arg(format!("{}.sig.tsr", kit.file))
        .args(["tsa.pem", "root.pem"])
        .arg(format!("{}.sig", kit.file))
        .current_dir(&kit.dir));
    assert!(ok && out.contains("verified"), "rfc3161-client: {out}");

    // verify.sh: one byte changed in each part, each caught and named.
    for (part, check) in [
        (kit.file.clone(), "digest"),
        (format!("{}.sig", kit.file), "signature"),
        (format!("{}.sig.tsr", kit.file), "timestamp"),
        ("pubkey.pem".to_owned(), "key"),
    ] {
        let p = kit.p(&part);
        let good = std::fs::read(&p).unwrap();
        flip_one_byte(&p);
        let (ok, out) = kit.verify_sh();
        assert!(!ok, "verify.sh passed with {part} changed: {out}");
        assert!(
            out.contains(&format!("FAIL  {check:<10}")) && out.contains("RESULT: NOT verified"),
            "{part}: {out}"
        );
        std::fs::write(&p, good).unwrap();
    }
    let (ok, out) = kit.verify_sh();
    assert!(ok, "{out}");

    // evident-verify: each tampered part fails the check that names it.
    let t = |n: &str| kit.p(&format!("tampered-{n}.json"));
    let (sb, ab) = (kit.sig_bundle(), kit.att_bundle());
    let expect_fail = |sig: &Path, att: &Path, extra: &[&str], check: &str| {
        let (ok, out) = kit.evident_verify(sig, att, extra);
        assert!(!ok && failed_check(&out, check), "{check} not named: {out}");
    };
    // The file.
    let good = std::fs::read(kit.export()).unwrap();
    flip_one_byte(&kit.export());
    expect_fail(&sb, &ab, &[], "file digest");
    std::fs::write(kit.export(), &good).unwrap();
    // The signature.
    edit_json(&sb, &t("sig"), |v| {
        b64_edit(&mut v["messageSignature"]["signature"], |b| {
            let n = b.len();
            b[n - 3] ^= 1;
        })
    });
    expect_fail(&t("sig"), &ab, &[], "signature");
    // The DSSE payload.
    edit_json(&ab, &t("payload"), |v| {
        b64_edit(&mut v["dsseEnvelope"]["payload"], |b| {
            let s = String::from_utf8(b.clone())
                .unwrap()
                .replace("\"revision\":1", "\"revision\":2");
            *b = s.into_bytes();
        })
    });
    expect_fail(&sb, &t("payload"), &[], "in-toto statement");
    // The artefact digest: the subject in the payload, and the one the customer runs.
    let a_hex = artefact.trim_start_matches("sha256:").to_owned();
    edit_json(&ab, &t("subject"), |v| {
        b64_edit(&mut v["dsseEnvelope"]["payload"], |b| {
            let s = String::from_utf8(b.clone())
                .unwrap()
                .replace(&a_hex, &"0".repeat(64));
            *b = s.into_bytes();
        })
    });
    expect_fail(&sb, &t("subject"), &[], "in-toto statement");
    let other = format!("sha256:{}", "1".repeat(64));
    expect_fail(&sb, &ab, &["--artefact-digest", &other], "artefact digest");
    // The inclusion proof hashes.
    edit_json(&sb, &t("proof"), |v| {
        b64_edit(
            &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0],
            |b| b[0] ^= 1,
        )
    });
    expect_fail(&t("proof"), &ab, &[], "inclusion proof");
    // The checkpoint signature.
    edit_json(&sb, &t("checkpoint"), |v| {
        let e = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
            ["envelope"];
        let note = e.as_str().unwrap().to_owned();
        let (body, sig) = note.split_once("\n\n").unwrap();
        let (line, b64) = sig.trim_end().rsplit_once(' ').unwrap();
        let mut raw = STANDARD.decode(b64).unwrap();
        let n = raw.len();
        raw[n - 1] ^= 1;
        *e = Value::String(format!("{body}\n\n{line} {}\n", STANDARD.encode(raw)));
    });
    expect_fail(&t("checkpoint"), &ab, &[], "checkpoint signature");
    // The TSA token.
    edit_json(&sb, &t("token"), |v| {
        b64_edit(
            &mut v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
                ["signedTimestamp"],
            |b| {
                let n = b.len();
                b[n - 5] ^= 1;
            },
        )
    });
    expect_fail(&t("token"), &ab, &[], "timestamp");
    // The log entry itself (it names the export it is about).
    edit_json(&sb, &t("entry"), |v| {
        b64_edit(
            &mut v["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"],
            |b| {
                let s = String::from_utf8(b.clone())
                    .unwrap()
                    .replace("\"revision\":1", "\"revision\":9");
                *b = s.into_bytes();
            },
        )
    });
    expect_fail(&t("entry"), &ab, &[], "inclusion proof");
    // A missing input is "not checked", which is not a pass.
    let (ok, out) = run(Command::new(common::verify_bin())
        .arg("export")
        .arg(kit.export())
        .arg("--bundle")
        .arg(&sb)
        .arg("--bundle")
        .arg(&ab)
        .arg("--key")
        .arg(kit.p("pubkey.pem")));
    assert!(
        !ok && out.contains("- checkpoint signature") && out.contains("- timestamp"),
        "{out}"
    );

    // Rotation: the old kit still verifies with the old key it carries,
    // and the key list still has that key; a new release uses the new key.
    let new: Value = s
        .post("/api/v1/tenants/acme/keys/rotate", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let (ok, out) = kit.evident_verify(&sb, &ab, &[]);
    assert!(ok, "after rotation: {out}");
    let keys: Value = s
        .get("/api/v1/tenants/acme/keys", &admin)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let listed = keys.as_array().unwrap().iter().any(|k| {
        k["public_key_pem"].as_str()
            == Some(
                std::fs::read_to_string(kit.p("pubkey.pem"))
                    .unwrap()
                    .as_str(),
            )
    });
    assert!(listed, "the old key is no longer listed: {keys}");
    s.push_release(
        &acme,
        "shop",
        "v2",
        &format!("sha256:{}", "e".repeat(64)),
        &sbom,
    );
    let kit2 = fetch_kit(
        &s,
        &push,
        "/api/v1/tenants/acme/products/shop/releases/v2",
        "spdx-json",
        &root.join("v2"),
    );
    assert_eq!(
        std::fs::read_to_string(kit2.p("pubkey.pem")).unwrap(),
        new["public_key_pem"].as_str().unwrap()
    );
    let (ok, out) = kit2.evident_verify(&kit2.sig_bundle(), &kit2.att_bundle(), &[]);
    assert!(ok, "new key: {out}");
    let (ok, out) = kit2.verify_sh();
    assert!(ok, "{out}");
    s.stop();
}

/// An openssl-backed TSA on loopback (tests/interop/openssl_tsa.py), killed on drop.
struct OpensslTsa {
    child: std::process::Child,
    port: u16,
}

impl OpensslTsa {
    fn start(config: &Path, port: u16) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .arg(interop_dir().join("openssl_tsa.py"))
            .arg(config)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("TSA_LISTENING=")
            .unwrap_or_else(|| panic!("openssl_tsa.py printed {line:?}"))
            .parse()
            .unwrap();
        Self { child, port }
    }
}

impl Drop for OpensslTsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and an RSA TSA certificate (critical timeStamping EKU) made by
/// openssl in `dir`, and the `openssl ts -reply` config that signs with it.
/// Returns the CA certificate's path.
fn openssl_tsa_pki(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let sh = |args: &[&str]| {
        let (ok, out) = run(Command::new("openssl").args(args).current_dir(dir));
        assert!(ok, "openssl {args:?}: {out}");
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        &format!("/CN={name} Root"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    sh(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-subj",
        &format!("/CN={name} TSA"),
    ]);
    std::fs::write(
        dir.join("tsa.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "tsa.ext",
        "-out",
        "tsa.pem",
    ]);
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa_config1\n[ tsa_config1 ]\nserial = {d}/serial\n\
             crypto_device = builtin\nsigner_cert = {d}/tsa.pem\ncerts = {d}/ca.pem\n\
             signer_key = {d}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\n\
             tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        ),
    )
    .unwrap();
    dir.join("ca.pem")
}

fn status_of(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

/// Steps, and what each expects:
/// 1. evident with `--tsa-url` pointing at openssl's TSA: `POST /tsa` 404,
///    `GET /tsa/certs` is the configured CA bundle;
/// 2. a kit: its token is openssl's (RSA), and `verify.sh`,
///    `evident-verify export` and `@sigstore/verify` all pass;
/// 3. the TSA goes down: the export is still 200, the bundle and kit carry
///    `Evident-Timestamp: missing` and no token, `verify.sh` and
///    `evident-verify` name the timestamp, `sbom.sig.tsr` and a new
///    checkpoint's token are 503 `timestamp_unavailable` (fail closed);
/// 4. the TSA is back: the same kit now has its token and verifies;
/// 5. a server whose CA bundle is another CA refuses the replies, so its
///    exports go out unstamped and its checkpoint tokens are 503.
#[test]
fn external_openssl_tsa_is_validated_and_an_outage_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let ca = openssl_tsa_pki(&root.join("pki"), "Interop");
    let mut tsa = OpensslTsa::start(&root.join("pki/tsa.cnf"), 0);
    let port = tsa.port;
    let url = format!("http://127.0.0.1:{port}/");
    let s = Server::start_with(
        &root.join("data"),
        &[
            "--tsa-url",
            &url,
            "--tsa-ca-file",
            ca.to_str().unwrap(),
            "--tsa-timeout-secs",
            "3",
        ],
    );
    // 1.
    let (code, _) = status_of(
        ureq::post(&format!("{}/tsa", s.url))
            .set("Content-Type", "application/timestamp-query")
            .send_bytes(b"x"),
    );
    assert_eq!(code, 404, "the built-in TSA must be off");
    let certs = ureq::get(&format!("{}/tsa/certs", s.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(certs, std::fs::read_to_string(&ca).unwrap());

    let acme = s.tenant("acme", "Acme");
    let (admin, vkey, push) = (acme.admin.clone(), acme.vkey.clone(), acme.push.clone());
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let push_release = |tag: &str| {
        s.push_release(
            &acme,
            "shop",
            tag,
            &format!("sha256:{}", "a".repeat(64)),
            &sbom,
        )
    };

    // 2.
    push_release("v1");
    let base1 = "/api/v1/tenants/acme/products/shop/releases/v1";
    let kit = fetch_kit(&s, &push, base1, "spdx-json", &root.join("v1"));
    let (ok, out) = run(Command::new("openssl")
        .args(["ts", "-reply", "-text", "-in"])
        .arg(kit.p(&format!("{}.sig.tsr", kit.file))));
    assert!(
        // openssl names 1.2.3.4.1 "tsa_policy1" (its own example policy).
        ok && out.contains("Interop TSA") && out.contains("tsa_policy1"),
        "the token is not openssl's: {out}"
    );
    let (ok, out) = kit.verify_sh();
    assert!(ok && out.contains("PASS  timestamp"), "{out}");
    let (ok, out) = kit.evident_verify(&kit.sig_bundle(), &kit.att_bundle(), &[]);
    assert!(ok, "{out}");
    assert!(out.contains("Interop TSA"), "{out}");
    let (ok, out) = sigstore_verify(
        &kit.sig_bundle(),
        kit.export().to_str().unwrap(),
        &kit.p("pubkey.pem"),
        &kit.p("tsa-chain.pem"),
        &vkey,
    );
    assert!(ok, "@sigstore/verify with the external TSA: {out}");

    // 3.
    drop(tsa);
    push_release("v2");
    let base2 = "/api/v1/tenants/acme/products/shop/releases/v2";
    let (code, _) = status_of(
        s.get(&format!("{base2}/sbom?format=spdx-json"), &push)
            .call(),
    );
    assert_eq!(code, 200, "exports must not depend on the TSA");
    let r = s
        .get(
            &format!("{base2}/sbom.sigstore.json?format=spdx-json"),
            &push,
        )
        .call()
        .unwrap();
    assert!(
        r.header("evident-timestamp")
            .is_some_and(|h| h.starts_with("missing")),
        "the response must say the timestamp is missing"
    );
    let b: Value = r.into_json().unwrap();
    assert!(
        b["verificationMaterial"]["timestampVerificationData"].is_null(),
        "a bundle without a token must carry no timestamp data: {b}"
    );
    let (code, body) = status_of(
        s.get(&format!("{base2}/sbom.sig.tsr?format=spdx-json"), &push)
            .call(),
    );
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"timestamp_unavailable\""), "{body}");
    let (code, body) = status_of(
        s.get("/api/v1/tenants/acme/log/checkpoint.tsr", &admin)
            .call(),
    );
    assert_eq!(code, 503, "a checkpoint token must fail closed: {body}");
    let down = fetch_kit(&s, &push, base2, "spdx-json", &root.join("v2-down"));
    assert!(!down.p(&format!("{}.sig.tsr", down.file)).exists());
    let (ok, out) = down.verify_sh();
    assert!(
        !ok && out.contains("FAIL  timestamp")
            && out.contains("unavailable")
            && out.contains("PASS  signature"),
        "{out}"
    );
    let (ok, out) = down.evident_verify(&down.sig_bundle(), &down.att_bundle(), &[]);
    assert!(!ok && failed_check(&out, "timestamp"), "{out}");
    assert!(out.contains("\u{2713} signature"), "{out}");

    // 4.
    tsa = OpensslTsa::start(&root.join("pki/tsa.cnf"), port);
    let up = fetch_kit(&s, &push, base2, "spdx-json", &root.join("v2-up"));
    let (ok, out) = up.verify_sh();
    assert!(ok, "{out}");
    let (ok, out) = up.evident_verify(&up.sig_bundle(), &up.att_bundle(), &[]);
    assert!(ok, "{out}");
    let (code, _) = status_of(
        s.get("/api/v1/tenants/acme/log/checkpoint.tsr", &admin)
            .call(),
    );
    assert_eq!(code, 200);
    s.stop();

    // 5.
    let other_ca = openssl_tsa_pki(&root.join("other-pki"), "Other");
    let s = Server::start_with(
        &root.join("data2"),
        &[
            "--tsa-url",
            &url,
            "--tsa-ca-file",
            other_ca.to_str().unwrap(),
        ],
    );
    let op = s.operator_token.clone().unwrap();
    let v: Value = s
        .post("/api/v1/tenants", &op)
        .send_json(json!({"slug": "acme", "name": "Acme"}))
        .unwrap()
        .into_json()
        .unwrap();
    let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
    let (code, body) = status_of(
        s.get("/api/v1/tenants/acme/log/checkpoint.tsr", &admin)
            .call(),
    );
    assert_eq!(
        code, 503,
        "a reply that does not chain to the CA bundle was used: {body}"
    );
    s.stop();
    drop(tsa);
}

/// No regulator bundle without its timestamps, nor with a revoked
/// officer's key: with openssl's TSA as the external TSA,
/// 1. a cover note is prepared for an officer whose key is then revoked:
///    the signature is refused (409) and nothing is logged;
/// 2. prepared again for another officer, the TSA goes down: the signature
///    answers 503 `timestamp_unavailable`, nothing is logged, the request
///    stays in preparation and has no bundle;
/// 3. the TSA is back: the same signature issues the bundle, whose tokens
///    are openssl's, and `evident-verify bundle` passes;
/// 4. the authority's link works until the request is withdrawn.
#[test]
fn a_regulator_bundle_is_not_issued_without_timestamps_or_with_a_revoked_key() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let ca = openssl_tsa_pki(&root.join("pki"), "Interop");
    let tsa = OpensslTsa::start(&root.join("pki/tsa.cnf"), 0);
    let port = tsa.port;
    let url = format!("http://127.0.0.1:{port}/");
    let s = Server::start_with(
        &root.join("data"),
        &[
            "--tsa-url",
            &url,
            "--tsa-ca-file",
            ca.to_str().unwrap(),
            "--tsa-timeout-secs",
            "3",
        ],
    );
    let t = s.tenant("acme", "Acme");
    let digest = format!("sha256:{}", "d4".repeat(32));
    s.push_release(
        &t,
        "shop",
        "v1",
        &digest,
        &sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json"),
    );
    let officer = |name: &str| -> (String, PathBuf) {
        let key = root.join(format!("{name}.pem"));
        let (ok, out) = run(Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key));
        assert!(ok, "{out}");
        let public = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .unwrap()
            .stdout;
        let o: Value = s
            .post("/api/v1/tenants/acme/officers", &t.admin)
            .send_json(json!({"name": name, "role": "PSIRT", "public_key": String::from_utf8(public).unwrap()}))
            .unwrap()
            .into_json()
            .unwrap();
        (o["id"].as_str().unwrap().to_owned(), key)
    };
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let r: Value = s
        .post("/api/v1/tenants/acme/regulator-requests", &t.admin)
        .send_json(json!({"authority": {"name": "CERT-EU", "country": "EU", "kind": "csirt"},
            "notice_reference": "CERT-EU-2026-9", "legal_basis": "Regulation (EU, Euratom) 2023/2841",
            "contact": "cert@cert-eu.example", "received_on": today, "deadline": "2999-01-01",
            "production_digests": [digest]}))
        .unwrap()
        .into_json()
        .unwrap();
    let base = format!(
        "/api/v1/tenants/acme/regulator-requests/{}",
        r["id"].as_str().unwrap()
    );
    s.post(&format!("{base}/transitions"), &t.admin)
        .send_json(json!({"to": "in_preparation"}))
        .unwrap();
    let prepare_and_sign = |id: &str, key: &Path| -> String {
        s.post(&format!("{base}/cover-note"), &t.admin)
            .send_json(json!({"officer_id": id}))
            .unwrap();
        let mut note = Vec::new();
        std::io::Read::read_to_end(
            &mut s
                .get(&format!("{base}/cover-note"), &t.admin)
                .call()
                .unwrap()
                .into_reader(),
            &mut note,
        )
        .unwrap();
        let f = root.join("note.json");
        std::fs::write(&f, &note).unwrap();
        let sig = Command::new("openssl")
            .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
            .arg(key)
            .arg("-in")
            .arg(&f)
            .output()
            .unwrap()
            .stdout;
        STANDARD.encode(sig)
    };
    // 1.
    let (grace, grace_key) = officer("Grace");
    let sig = prepare_and_sign(&grace, &grace_key);
    ureq::delete(&format!(
        "{}/api/v1/tenants/acme/officers/{grace}?reason=left",
        s.url
    ))
    .set("Authorization", &format!("Bearer {}", t.admin))
    .call()
    .unwrap();
    let size = s.log_size("acme", &t.admin);
    let (code, body) = status_of(
        s.post(&format!("{base}/signature"), &t.admin)
            .send_json(json!({"signature": sig})),
    );
    assert!(code == 409 && body.contains("revoked"), "{code} {body}");
    assert_eq!(s.log_size("acme", &t.admin), size);
    // 2.
    let (ada, ada_key) = officer("Ada");
    let sig = prepare_and_sign(&ada, &ada_key);
    drop(tsa);
    let size = s.log_size("acme", &t.admin);
    let (code, body) = status_of(
        s.post(&format!("{base}/signature"), &t.admin)
            .send_json(json!({"signature": sig})),
    );
    assert!(
        code == 503 && body.contains("timestamp_unavailable"),
        "{code} {body}"
    );
    assert_eq!(
        s.log_size("acme", &t.admin),
        size,
        "nothing is logged without the tokens"
    );
    let (code, body) = status_of(s.get(&base, &t.admin).call());
    assert!(
        code == 200 && body.contains("\"state\":\"in_preparation\""),
        "{body}"
    );
    let (code, _) = status_of(s.get(&format!("{base}/bundle"), &t.admin).call());
    assert_eq!(code, 409, "no bundle");
    // 3.
    let _tsa = OpensslTsa::start(&root.join("pki/tsa.cnf"), port);
    let (code, body) = status_of(
        s.post(&format!("{base}/signature"), &t.admin)
            .send_json(json!({"signature": sig})),
    );
    assert!(
        code == 200 && body.contains("\"state\":\"issued\""),
        "{code} {body}"
    );
    let res = s.get(&format!("{base}/bundle"), &t.admin).call().unwrap();
    let mut tgz = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut tgz).unwrap();
    let archive = root.join("bundle.tar.gz");
    std::fs::write(&archive, &tgz).unwrap();
    let (ok, out, err) = common::verify(&[
        "bundle",
        archive.to_str().unwrap(),
        "--trust-log-key",
        &t.vkey,
    ]);
    assert!(ok && out.contains("Interop TSA"), "{out}{err}");
    // 4. A withdrawn request's link stops working.
    let link: Value = s
        .post(&format!("{base}/links"), &t.admin)
        .send_json(json!({}))
        .unwrap()
        .into_json()
        .unwrap();
    let path = link["url"]
        .as_str()
        .unwrap()
        .split_once("/r/")
        .map(|(_, p)| format!("/r/{p}"))
        .unwrap();
    assert_eq!(
        status_of(ureq::get(&format!("{}{path}", s.url)).call()).0,
        200
    );
    s.post(&format!("{base}/transitions"), &t.admin)
        .send_json(json!({"to": "withdrawn"}))
        .unwrap();
    assert_eq!(
        status_of(ureq::get(&format!("{}{path}", s.url)).call()).0,
        404
    );
}
