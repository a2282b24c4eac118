//! `evident bench bundle`: verifying a regulator bundle whose SBOM has
//! 10,099 components. A server in this process (over its own router) takes
//! the release, a request, an officer's cover note and signature, and
//! issues the bundle; then the bundle is verified: by the library on the
//! unpacked files, by the `evident-verify bundle` binary on the `.tar.gz`
//! end to end, and, in the same run, by `sh verify.sh` (sha256sum and
//! openssl, the peer a regulator can use instead), whose time is quoted as
//! a ratio.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use clap::Args;

use super::bench::summary;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Options of `evident bench bundle`.
#[derive(Debug, Args)]
pub struct BundleBenchArgs {
    /// The SBOM of the release.
    #[arg(
        long,
        default_value = "tests/fixtures/sboms/cyclonedx-npm-mega-a-minified.cdx-1.6.json"
    )]
    pub sbom: PathBuf,
    /// Timed runs of each measurement (after one warm-up).
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Scratch directory (removed afterwards). Default: ./bench-data.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

fn p50(mut t: Vec<Duration>) -> Duration {
    t.sort();
    t[t.len() / 2]
}

fn timed(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<Duration>> {
    f()?;
    let mut t = Vec::new();
    for _ in 0..runs {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed());
    }
    Ok(t)
}

/// `evident bench bundle`.
pub async fn bundle_bench(args: BundleBenchArgs) -> anyhow::Result<()> {
    let sbom = std::fs::read(&args.sbom)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.sbom.display()))?;
    let runs = args.runs.max(1);
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-data"));
    let dir = root.join(format!("bundle-{}", std::process::id()));
    let started = crate::app::Builder::new(&dir.join("data"))
        .master_key_hex(&"45".repeat(32))
        .public_host("bench.local")
        .push_body_limit(256 << 20)
        .open()?;
    let state = started.state;
    let op = started.operator_token.unwrap_or_default();
    let router = crate::app::app(state.clone());
    let call = |method: &str, uri: &str, token: &str, body: Value| {
        let r = router.clone();
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(if body.is_null() {
                Body::empty()
            } else {
                Body::from(serde_json::to_vec(&body).unwrap_or_default())
            })
            .expect("request");
        let what = format!("{method} {uri}");
        async move {
            let res = r.oneshot(req).await?;
            let status = res.status();
            let b = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
            anyhow::ensure!(
                status.is_success(),
                "{what}: {status} {}",
                String::from_utf8_lossy(&b)
            );
            Ok::<_, anyhow::Error>(b.to_vec())
        }
    };
    let json = |b: Vec<u8>| serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null);
    let t = json(
        call(
            "POST",
            "/api/v1/tenants",
            &op,
            json!({"slug": "bench", "name": "Bench"}),
        )
        .await?,
    );
    let admin = t["admin_token"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tok = |scope: &'static str| {
        let admin = admin.clone();
        let call = &call;
        async move {
            let v = json(
                call(
                    "POST",
                    "/api/v1/tenants/bench/tokens",
                    &admin,
                    json!({"scope": scope}),
                )
                .await?,
            );
            Ok::<_, anyhow::Error>(v["token"].as_str().unwrap_or_default().to_owned())
        }
    };
    let (push, officer) = (tok("push").await?, tok("officer").await?);
    let digest = format!("sha256:{}", "ab".repeat(32));
    call(
        "POST",
        "/api/v1/tenants/bench/releases",
        &push,
        json!({"product": "mega", "tag": "v1", "artefacts": [{"name": "mega.tgz", "digest": digest}],
               "sbom": {"content": STANDARD.encode(&sbom), "encoding": "base64"}}),
    )
    .await?;
    let key = ed25519_dalek::SigningKey::from_bytes(&[46u8; 32]);
    let pem = {
        use ed25519_dalek::pkcs8::{
            spki::der::pem::LineEnding, EncodePrivateKey as _, EncodePublicKey as _,
        };
        let public = key.verifying_key().to_public_key_pem(LineEnding::LF)?;
        let o = json(
            call(
                "POST",
                "/api/v1/tenants/bench/officers",
                &admin,
                json!({"name": "Bench Officer", "role": "PSIRT", "public_key": public}),
            )
            .await?,
        );
        (
            o["id"].as_str().unwrap_or_default().to_owned(),
            key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
        )
    };
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let r = json(
        call(
            "POST",
            "/api/v1/tenants/bench/regulator-requests",
            &officer,
            json!({"authority": {"name": "Bench Authority", "country": "EU", "kind": "other"},
                   "notice_reference": "BENCH-1", "legal_basis": "bench", "contact": "bench@example.org",
                   "received_on": today, "deadline": "2999-01-01", "production_digests": [digest]}),
        )
        .await?,
    );
    let base = format!(
        "/api/v1/tenants/bench/regulator-requests/{}",
        r["id"].as_str().unwrap_or_default()
    );
    call(
        "POST",
        &format!("{base}/transitions"),
        &officer,
        json!({"to": "in_preparation"}),
    )
    .await?;
    let s = Instant::now();
    call(
        "POST",
        &format!("{base}/cover-note"),
        &officer,
        json!({"officer_id": pem.0}),
    )
    .await?;
    let prepare = s.elapsed();
    let note = call("GET", &format!("{base}/cover-note"), &officer, Value::Null).await?;
    let (sig, _) = crate::cli::cover_note::sign(&pem.1, &note)?;
    let s = Instant::now();
    call(
        "POST",
        &format!("{base}/signature"),
        &officer,
        json!({"signature": STANDARD.encode(sig)}),
    )
    .await?;
    let issue = s.elapsed();
    let s = Instant::now();
    let tgz = call("GET", &format!("{base}/bundle"), &officer, Value::Null).await?;
    let make = s.elapsed();
    let archive = dir.join("bundle.tar.gz");
    std::fs::write(&archive, &tgz)?;
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .status()?;
    anyhow::ensure!(st.success(), "tar -xzf");
    let unpacked = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("evident-regulator-bundle-"))
        })
        .ok_or_else(|| anyhow::anyhow!("the bundle did not unpack"))?;
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![unpacked.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(
                    p.strip_prefix(&unpacked)?.to_string_lossy().into_owned(),
                    std::fs::read(&p)?,
                );
            }
        }
    }
    let total: usize = files.values().map(Vec::len).sum();
    let verifier_len = files.get("bin/evident-verify").map_or(0, Vec::len);
    println!(
        "{}: {} files, {:.1} MB unpacked ({:.1} MB of it the verifier binary), {:.1} MB as .tar.gz",
        args.sbom.display(),
        files.len(),
        total as f64 / 1e6,
        verifier_len as f64 / 1e6,
        tgz.len() as f64 / 1e6
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "prepare the cover note {:.0} ms; sign and issue {:.0} ms; first download {:.0} ms",
        ms(prepare),
        ms(issue),
        ms(make)
    );
    let lib = timed(runs, || {
        let checks =
            evident_verify::regulator::verify_bundle(&evident_verify::regulator::BundleInputs {
                files: &files,
                production_digests: &[],
                trusted_log_key: None,
            });
        anyhow::ensure!(
            evident_verify::regulator::all_passed(&checks),
            "the bundle does not verify: {checks:?}"
        );
        Ok(())
    })?;
    summary("verify (library, unpacked files in memory)", lib.clone());
    let bin = std::env::current_exe()?.with_file_name("evident-verify");
    let run = |target: &std::path::Path| -> anyhow::Result<()> {
        let o = Command::new(&bin).arg("bundle").arg(target).output()?;
        anyhow::ensure!(
            o.status.success(),
            "evident-verify bundle: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        Ok(())
    };
    let on_tgz = timed(runs, || run(&archive))?;
    summary("evident-verify bundle BUNDLE.tar.gz", on_tgz.clone());
    let on_dir = timed(runs, || run(&unpacked))?;
    summary("evident-verify bundle DIR", on_dir.clone());
    let sh = timed(runs, || {
        let o = Command::new("sh")
            .arg(unpacked.join("verify.sh"))
            .arg(&digest)
            .output()?;
        anyhow::ensure!(
            o.status.success(),
            "verify.sh: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        Ok(())
    })?;
    summary("peer: sh verify.sh (sha256sum + openssl)", sh.clone());
    println!(
        "evident-verify on the directory takes {:.2}x the time of verify.sh, and checks the proofs too",
        p50(on_dir.clone()).as_secs_f64() / p50(sh).as_secs_f64()
    );
    drop(router);
    state.close().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
