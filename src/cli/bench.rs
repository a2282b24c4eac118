//! `evident bench log`: the log's performance figures, measured on this machine.
//!
//! - durable appends per second with 1, 16 and 256 concurrent writers, and
//!   their append-to-durable latency (p50, p99);
//! - inclusion and consistency proof latency at a large tree size;
//! - bytes per entry on disk, and resident memory after loading.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Args;
use ed25519_dalek::SigningKey;
use evident_log::{Log, Store, StoreOptions};
use hdrhistogram::Histogram;
use rand::Rng;

/// Options of `evident bench log`.
#[derive(Debug, Args)]
pub struct LogBenchArgs {
    /// Concurrent writer counts to measure, comma separated (0 skips this part).
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    pub writers: Vec<usize>,
    /// Seconds to run each writer count.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Tree size for the proof measurements (0 skips them).
    #[arg(long, default_value_t = 1_000_000)]
    pub proof_entries: u64,
    /// Proofs of each kind to time.
    #[arg(long, default_value_t = 20_000)]
    pub proof_samples: u64,
    /// Bytes per leaf (a typical event is about 300).
    #[arg(long, default_value_t = 300)]
    pub leaf_bytes: usize,
    /// Where to put the scratch databases (removed afterwards). Default: ./bench-data.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also measure the reference for each writer count: RocksDB alone
    /// (default options), the same leaves as single synced puts from as
    /// many threads, which RocksDB groups into shared WAL syncs.
    #[arg(long)]
    pub reference: bool,
}

/// The reference for durable appends: `writers` threads each putting
/// leaves into a bare RocksDB (default options) with `sync = true` for
/// `dur`. Returns (puts, elapsed).
fn rocksdb_alone(
    dir: &std::path::Path,
    writers: usize,
    dur: Duration,
    leaf_len: usize,
) -> anyhow::Result<(u64, Duration)> {
    let mut o = rocksdb::Options::default();
    o.create_if_missing(true);
    let db = Arc::new(rocksdb::DB::open(&o, dir)?);
    let pool = LeafPool::new(leaf_len);
    let start = Instant::now();
    let deadline = start + dur;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let db = db.clone();
            let pool = pool.clone();
            std::thread::spawn(move || -> Result<u64, rocksdb::Error> {
                let mut wo = rocksdb::WriteOptions::default();
                wo.set_sync(true);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let k = ((w as u64) << 40 | n).to_be_bytes();
                    db.put_opt(k, pool.pick(w, n), &wo)?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for t in threads {
        total += t
            .join()
            .map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
    }
    Ok((total, start.elapsed()))
}

/// Distinct leaves made before a timed run, so the writers measure the
/// store, not the making of test data (a SHA-256 and its hex each).
#[derive(Clone)]
struct LeafPool(Arc<Vec<Vec<u8>>>);

impl LeafPool {
    fn new(len: usize) -> Self {
        Self(Arc::new((0..16_384).map(|i| leaf(i, len)).collect()))
    }

    /// Writer `w`'s `n`th leaf: each writer starts at its own place.
    fn pick(&self, w: usize, n: u64) -> &[u8] {
        &self.0[(w as u64 * 7_919 + n) as usize % self.0.len()]
    }
}

/// A leaf shaped like a real event: canonical JSON with ids and a SHA-256
/// digest (incompressible hex), padded with more digest hex to `len` bytes.
fn leaf(n: u64, len: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let d = hex::encode(Sha256::digest(n.to_be_bytes()));
    let mut v = format!(
        "{{\"actor\":{{\"token_id\":\"{}\",\"type\":\"token\"}},\"event\":{{\"digest\":\"sha256:{d}\",\"kind\":\"download_served\",\"n\":{n},\"pad\":\"",
        &d[..16]
    )
    .into_bytes();
    let mut pad = d.clone().into_bytes();
    while v.len() + 4 < len {
        if pad.is_empty() {
            pad = hex::encode(Sha256::digest(&v)).into_bytes();
        }
        v.push(pad.pop().unwrap_or(b'0'));
    }
    v.extend_from_slice(b"\"}}");
    v
}

fn open(dir: &std::path::Path, name: &str) -> anyhow::Result<(Store, Log)> {
    let store = Store::open(&dir.join(name), StoreOptions::default())?;
    store.create_log("bench", "bench.example/bench")?;
    let log = store.open_log("bench", &SigningKey::from_bytes(&[7; 32]))?;
    Ok((store, log))
}

fn us(d: u64) -> String {
    if d >= 10_000 {
        format!("{:.1} ms", d as f64 / 1000.0)
    } else {
        format!("{d} µs")
    }
}

/// Runs `writers` tasks appending for `dur`; returns (entries, elapsed, latency histogram in µs).
async fn run_writers(
    log: &Log,
    writers: usize,
    dur: Duration,
    leaf_len: usize,
) -> (u64, Duration, Histogram<u64>) {
    let pool = LeafPool::new(leaf_len);
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).expect("histogram");
            let mut n = 0u64;
            while Instant::now() < deadline {
                let l = pool.pick(w, n).to_vec();
                let t = Instant::now();
                log.append(l).await.expect("append");
                h.record(t.elapsed().as_micros() as u64).expect("record");
                n += 1;
            }
            (n, h)
        }));
    }
    let mut total = 0;
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    for t in tasks {
        let (n, h) = t.await.expect("writer task");
        total += n;
        hist.add(h).expect("merge");
    }
    (total, start.elapsed(), hist)
}

pub(crate) fn rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the benchmark and prints a Markdown report.
pub async fn log_bench(args: LogBenchArgs) -> anyhow::Result<()> {
    let base = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-data"));
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::tempdir_in(&base)?;
    println!("## evident bench log\n");
    println!(
        "leaf size {} bytes; every append is acknowledged only after its batch's WAL sync\n",
        args.leaf_bytes
    );
    if args.reference {
        println!("| writers | appends | appends/s | p50 latency | p99 latency | RocksDB alone, puts/s | ratio |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
    } else {
        println!("| writers | appends | appends/s | p50 latency | p99 latency |");
        println!("|---:|---:|---:|---:|---:|");
    }
    for (i, &w) in args.writers.iter().enumerate().filter(|(_, w)| **w > 0) {
        let (store, log) = open(dir.path(), &format!("w{i}"))?;
        let dur = Duration::from_secs(args.seconds);
        let (n, el, h) = run_writers(&log, w, dur, args.leaf_bytes).await;
        let rate = n as f64 / el.as_secs_f64();
        let row = format!(
            "| {w} | {n} | {rate:.0} | {} | {} |",
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.99))
        );
        drop(log);
        store.close().await?;
        if args.reference {
            let path = dir.path().join(format!("ref{i}"));
            let len = args.leaf_bytes;
            let (rn, rel) =
                tokio::task::spawn_blocking(move || rocksdb_alone(&path, w, dur, len)).await??;
            let rrate = rn as f64 / rel.as_secs_f64();
            println!("{row} {rrate:.0} | **{:.2}** |", rate / rrate);
        } else {
            println!("{row}");
        }
    }
    if args.proof_entries == 0 {
        return Ok(());
    }
    let n = args.proof_entries;
    println!("\n### proofs at {n} entries\n");
    let (store, log) = open(dir.path(), "proofs")?;
    let t = Instant::now();
    // Load with many writers so batches are large.
    let writers = 1024u64;
    let per = n / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        let count = per + u64::from(w < n % writers);
        let len = args.leaf_bytes;
        tasks.push(tokio::spawn(async move {
            for k in 0..count {
                log.append(leaf(w << 40 | k, len)).await.expect("append");
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let load = t.elapsed();
    println!(
        "loaded {} entries in {:.1} s ({:.0} appends/s, 1024 writers)\n",
        log.size(),
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    let size = log.size();
    let log = Arc::new(log);
    let samples = args.proof_samples;
    let l2 = log.clone();
    let (hi, hc) = tokio::task::spawn_blocking(move || {
        let mut rng = rand::thread_rng();
        let mut hi = Histogram::<u64>::new(3).expect("histogram");
        let mut hc = Histogram::<u64>::new(3).expect("histogram");
        let root = l2.root_at(size).expect("root");
        for _ in 0..samples {
            let i = rng.gen_range(0..size);
            let t = Instant::now();
            let p = l2.inclusion_proof(i, size).expect("proof");
            hi.record(t.elapsed().as_nanos() as u64).expect("record");
            if i % 1000 == 0 {
                let lh = l2.leaf_hash(i).expect("leaf hash");
                evident_verify::merkle::verify_inclusion(i, size, &lh, &p, &root)
                    .expect("verifies");
            }
            let old = rng.gen_range(1..size);
            let t = Instant::now();
            let _ = l2.consistency_proof(old, size).expect("proof");
            hc.record(t.elapsed().as_nanos() as u64).expect("record");
        }
        (hi, hc)
    })
    .await?;
    println!("| proof | samples | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    for (name, h) in [("inclusion", &hi), ("consistency", &hc)] {
        println!(
            "| {name} | {samples} | {:.1} µs | {:.1} µs | {:.1} µs |",
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0
        );
    }
    store.flush()?;
    let bytes = store.disk_bytes()?;
    println!(
        "\non disk after flush: {:.1} MiB, {:.0} bytes per entry (leaf {} bytes + stored nodes + checkpoints)",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / size as f64,
        args.leaf_bytes
    );
    if let Some(r) = rss_mib() {
        println!("resident memory of this process: {r:.0} MiB");
    }
    drop(log);
    drop(store);
    Ok(())
}

/// Options of `evident bench sbom`.
#[derive(Debug, Args)]
pub struct SbomBenchArgs {
    /// The SBOM to ingest and export.
    #[arg(
        long,
        default_value = "tests/fixtures/sboms/cyclonedx-npm-mega-a-minified.cdx-1.6.json"
    )]
    pub sbom: PathBuf,
    /// Timed runs of each measurement (after one warm-up).
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Scratch directory (removed afterwards). Default: ./bench-data.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Prints a measurement's p50, min and max.
pub(crate) fn summary(name: &str, mut t: Vec<Duration>) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<44} p50 {:>8.1} ms   min {:>8.1} ms   max {:>8.1} ms   (n={})",
        ms(t[t.len() / 2]),
        ms(t[0]),
        ms(t[t.len() - 1]),
        t.len()
    );
}

/// `evident bench sbom`: ingest (parse and normalize, then the whole push
/// through the API into RocksDB and the log) and each export (the writer
/// alone, then the whole GET through the API: model load, write, digest).
pub async fn sbom_bench(args: SbomBenchArgs) -> anyhow::Result<()> {
    use axum::{body::Body, http::Request};
    use base64::Engine as _;
    use tower::ServiceExt;

    let bytes = std::fs::read(&args.sbom)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.sbom.display()))?;
    let runs = args.runs.max(1);
    let first = evident_sbom::ingest(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}: {} bytes, {} components (+ subject: {}), {} warnings",
        args.sbom.display(),
        bytes.len(),
        first.model.components.len(),
        first.model.subject.is_some(),
        first.warnings.len()
    );
    let mut t = Vec::new();
    for _ in 0..runs {
        let s = Instant::now();
        std::hint::black_box(evident_sbom::ingest(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?);
        t.push(s.elapsed());
    }
    summary("ingest (library)", t);

    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-data"));
    let dir = root.join(format!("sbom-{}", std::process::id()));
    let started = crate::app::Builder::new(&dir)
        .master_key_hex(&"44".repeat(32))
        .public_host("bench.local")
        .push_body_limit(256 << 20)
        .open()?;
    let state = started.state;
    let op = started.operator_token.unwrap_or_default();
    let router = crate::app::app(state.clone());
    let call = |method: &str, uri: String, token: &str, body: Vec<u8>| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request")
    };
    let read = |res: axum::response::Response| async move {
        let status = res.status();
        let b = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (status, b)
    };
    let (s, b) = read(
        router
            .clone()
            .oneshot(call(
                "POST",
                "/api/v1/tenants".into(),
                &op,
                br#"{"slug":"bench","name":"Bench"}"#.to_vec(),
            ))
            .await?,
    )
    .await;
    anyhow::ensure!(
        s.is_success(),
        "creating the tenant: {}",
        String::from_utf8_lossy(&b)
    );
    let admin = serde_json::from_slice::<serde_json::Value>(&b)?["admin_token"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, b) = read(
        router
            .clone()
            .oneshot(call(
                "POST",
                "/api/v1/tenants/bench/tokens".into(),
                &admin,
                br#"{"scope":"push"}"#.to_vec(),
            ))
            .await?,
    )
    .await;
    let push = serde_json::from_slice::<serde_json::Value>(&b)?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let content = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let mut t = Vec::new();
    for i in 0..=runs {
        let body = serde_json::to_vec(&serde_json::json!({
            "product": "bench", "tag": format!("v{i}"),
            "artefacts": [{"name": "a", "digest": format!("sha256:{}", "0".repeat(64))}],
            "sbom": {"content": content, "encoding": "base64"},
        }))?;
        let s = Instant::now();
        let (st, b) = read(
            router
                .clone()
                .oneshot(call(
                    "POST",
                    "/api/v1/tenants/bench/releases".into(),
                    &push,
                    body,
                ))
                .await?,
        )
        .await;
        let e = s.elapsed();
        anyhow::ensure!(st.is_success(), "push: {}", String::from_utf8_lossy(&b));
        if i > 0 {
            t.push(e);
        }
    }
    summary("push over the API (base64 body)", t);

    // One GET with the push token, timed; anything but 2xx fails the bench.
    let get = |uri: String| {
        let (router, req) = (router.clone(), call("GET", uri.clone(), &push, Vec::new()));
        async move {
            let s = Instant::now();
            let (st, b) = read(router.oneshot(req).await?).await;
            let e = s.elapsed();
            anyhow::ensure!(
                st.is_success(),
                "GET {uri}: {}",
                String::from_utf8_lossy(&b)
            );
            Ok::<_, anyhow::Error>(e)
        }
    };
    let rev = crate::service::catalogue::bench_release(&state, "bench", "bench", "v0")?;
    for f in evident_sbom::ExportFormat::ALL {
        let mut t = Vec::new();
        let mut len = 0;
        for _ in 0..=runs {
            let s = Instant::now();
            let out = f.write(&rev.0, &rev.1);
            std::hint::black_box(sha2::Digest::finalize(
                <sha2::Sha256 as sha2::Digest>::new_with_prefix(&out),
            ));
            t.push(s.elapsed());
            len = out.len();
        }
        t.remove(0);
        summary(
            &format!("export {} (writer, {} KB)", f.name(), len / 1024),
            t,
        );
        let path = |tag: &str, file: &str| {
            format!(
                "/api/v1/tenants/bench/products/bench/releases/{tag}/{file}?format={}",
                f.name()
            )
        };
        // The first GET of each pushed revision issues the export: write,
        // digest, sign, log, store.
        let mut t = Vec::new();
        for i in 1..=runs {
            t.push(get(path(&format!("v{i}"), "sbom")).await?);
        }
        summary(&format!("export {} (first GET: issuance)", f.name()), t);
        // Then the first GET of its Sigstore bundle: the RFC 3161 token over
        // the signature is made then (the built-in TSA), with the proof.
        let mut t = Vec::new();
        for i in 1..=runs {
            t.push(get(path(&format!("v{i}"), "sbom.sigstore.json")).await?);
        }
        summary("  then its Sigstore bundle (first: RFC 3161)", t);
        // Then the export served again (a cache hit, logged), after one warm-up.
        let mut t = Vec::new();
        for i in 0..=runs {
            let e = get(path("v0", "sbom")).await?;
            if i > 0 {
                t.push(e);
            }
        }
        summary(&format!("export {} (GET over the API)", f.name()), t);
    }
    drop(router);
    state.close().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Options of `evident bench vex`.
#[derive(Debug, Args)]
pub struct VexBenchArgs {
    /// Components of the synthetic release.
    #[arg(long, default_value_t = 10_000)]
    pub components: usize,
    /// Findings about them (every state and kind of evidence in turn).
    #[arg(long, default_value_t = 2_000)]
    pub findings: usize,
    /// Timed runs of each measurement (after one warm-up).
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
}

/// `evident bench vex`: a synthetic release of `components` components
/// and `findings` findings: reading and resolving the findings, then
/// writing each VEX document (OpenVEX, CSAF, CycloneDX VEX) and the
/// CycloneDX exports with the VEX inline, each with its SHA-256 (what a
/// publication does once per document and a download once per request).
pub async fn vex_bench(args: VexBenchArgs) -> anyhow::Result<()> {
    use evident_sbom::vex::{self, VexFormat, VexMeta};
    let n = args.components.max(1);
    let components: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"type": "library", "name": format!("c{i}"), "version": "1.0.0",
                "purl": format!("pkg:npm/%40scope/c{i}@1.0.0"),
                "licenses": [{"license": {"id": "MIT"}}]})
        })
        .collect();
    let sbom = serde_json::to_vec(&serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"component": {"type": "application", "name": "bench", "version": "1.0.0",
            "purl": "pkg:generic/bench@1.0.0"}},
        "components": components,
    }))?;
    let model = evident_sbom::ingest(&sbom)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .model;
    let states = [
        ("not_affected", Some("unreachable")),
        ("affected", Some("reachable")),
        ("fixed", None),
        ("under_investigation", Some("unknown")),
        ("not_affected", None),
    ];
    // A GHSA id per finding: four characters of its alphabet per group.
    let ghsa = |i: usize| {
        const A: &[u8] = b"23456789cfghjmpqrvwx";
        let group = |mut v: usize| {
            (0..4)
                .map(|_| {
                    let c = A[v % A.len()] as char;
                    v /= A.len();
                    c
                })
                .collect::<String>()
        };
        format!("GHSA-{}-{}-mmmm", group(i), group(i * 7 + 3))
    };
    let findings: Vec<serde_json::Value> = (0..args.findings)
        .map(|i| {
            let (state, verdict) = states[i % states.len()];
            let mut f = serde_json::json!({
                "id": format!("CVE-2099-{:05}", 10_000 + i),
                "aliases": [ghsa(i)],
                "source": {"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/CVE-2099-{:05}", 10_000 + i)},
                "component": {"purl": format!("pkg:npm/%40scope/c{}@1.0.0", (i * 5) % n)},
                "state": state,
                "ratings": [{"source": "NVD", "score": 7.5, "severity": "high", "method": "CVSSv31",
                             "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"}],
            });
            if let Some(v) = verdict {
                f["reachability"] = serde_json::json!({"verdict": v, "entry_points": ["main"],
                    "analyzer": {"name": "bench-sca", "version": "1"}});
            }
            match state {
                "affected" => f["fixed_in"] = "1.0.1".into(),
                "not_affected" if verdict.is_none() => {
                    f["justification"] = "vulnerable_code_not_present".into();
                    f["impact"] = "The vulnerable function is compiled out.".into();
                }
                _ => {}
            }
            f
        })
        .collect();
    let doc = serde_json::to_vec(&serde_json::json!({"findings": findings}))?;
    println!(
        "synthetic release: {} components, {} findings ({} KB of findings JSON)",
        model.components.len(),
        args.findings,
        doc.len() / 1024
    );
    let runs = args.runs.max(1);
    let mut t = Vec::new();
    let mut statements = Vec::new();
    for _ in 0..=runs {
        let s = Instant::now();
        let (_, f, _) = vex::read(&doc).map_err(|e| anyhow::anyhow!("{e}"))?;
        statements = vex::resolve(&f, &model, false)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .0;
        t.push(s.elapsed());
    }
    t.remove(0);
    summary("read + resolve findings", t);
    let release = evident_sbom::Release {
        tenant: "bench".into(),
        product: "bench".into(),
        tag: "v1".into(),
        revision: 1,
        artefacts: vec![("bench".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: "https://bench.local/spdx/bench/bench/v1/r1".into(),
        tool_version: "0".into(),
    };
    let meta = VexMeta {
        version: 1,
        published_at: 1_800_000_000,
        author: "Bench".into(),
        id_base: "https://bench.local/vex/bench/bench/v1".into(),
        history: vec![(1, 1_800_000_000)],
    };
    let digest = |b: &[u8]| {
        std::hint::black_box(sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(b),
        ))
    };
    for f in VexFormat::ALL {
        let mut t = Vec::new();
        let mut len = 0;
        for _ in 0..=runs {
            let s = Instant::now();
            let out = f.write(&statements, &model, &release, &meta);
            digest(&out);
            t.push(s.elapsed());
            len = out.len();
        }
        t.remove(0);
        summary(&format!("{} ({} KB)", f.name(), len / 1024), t);
    }
    for f in [
        evident_sbom::ExportFormat::CyclonedxJson,
        evident_sbom::ExportFormat::CyclonedxXml,
    ] {
        let mut t = Vec::new();
        let mut len = 0;
        for _ in 0..=runs {
            let s = Instant::now();
            let out = f.write_with_vex(&model, &release, Some(&statements));
            digest(&out);
            t.push(s.elapsed());
            len = out.len();
        }
        t.remove(0);
        summary(&format!("{} + VEX inline ({} KB)", f.name(), len / 1024), t);
    }
    Ok(())
}
