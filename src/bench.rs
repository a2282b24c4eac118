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
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).expect("histogram");
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                log.append(leaf((w as u64) << 40 | n, leaf_len))
                    .await
                    .expect("append");
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

fn rss_mib() -> Option<f64> {
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
    println!("| writers | appends | appends/s | p50 latency | p99 latency |");
    println!("|---:|---:|---:|---:|---:|");
    for (i, &w) in args.writers.iter().enumerate().filter(|(_, w)| **w > 0) {
        let (_store, log) = open(dir.path(), &format!("w{i}"))?;
        let (n, el, h) =
            run_writers(&log, w, Duration::from_secs(args.seconds), args.leaf_bytes).await;
        println!(
            "| {w} | {n} | {:.0} | {} | {} |",
            n as f64 / el.as_secs_f64(),
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.99))
        );
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
