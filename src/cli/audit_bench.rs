//! `evident bench audit`: audit queries over a large log, through the HTTP
//! API in process (`app()` with `oneshot`).
//!
//! It loads `--entries` synthetic `download_served` events (default 10
//! million) into one tenant's log, spread over the past year, by
//! `--customers` customers and `--products` products, each indexed in the
//! batch that appends it as in production. Then it times:
//!
//! - the first page (100 entries) of "downloads of product P by customer C
//!   in a 90-day window", for random P, C and windows: p50, p99, max;
//! - the same with `proofs=true`;
//! - a full CSV export of a tenth of the year (about a million rows at the
//!   default size), in rows per second, with resident memory before, during
//!   and after;
//! - for comparison, the same query answered without the index: every
//!   entry read in order (as `GET …/log/entries` serves them) and filtered
//!   with the same code, once.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use clap::Args;
use evident_verify::audit::{terms, Filter};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use rand::Rng;
use tower::ServiceExt;

use crate::core::events::{Actor, EventBody, LogEvent, Subject, EVENT_VERSION};

/// Options of `evident bench audit`.
#[derive(Debug, Args)]
pub struct AuditBenchArgs {
    /// Entries to load.
    #[arg(long, default_value_t = 10_000_000)]
    pub entries: u64,
    /// Distinct customers.
    #[arg(long, default_value_t = 1000)]
    pub customers: u64,
    /// Distinct products.
    #[arg(long, default_value_t = 20)]
    pub products: u64,
    /// Queries to time.
    #[arg(long, default_value_t = 500)]
    pub queries: u64,
    /// Skip the unindexed full scan (it reads every entry once).
    #[arg(long)]
    pub no_scan: bool,
    /// Where to put the scratch data (removed afterwards). Default: ./bench-data.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const YEAR: i64 = 365 * 86_400;

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The `n`th synthetic download: customer and product from a fixed mix,
/// times rising with `n` across the year before `end`.
fn event(n: u64, args: &AuditBenchArgs, end: i64) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(n.to_be_bytes());
    let c = u64::from_be_bytes(h[..8].try_into().unwrap_or_default()) % args.customers;
    let p = u64::from_be_bytes(h[8..16].try_into().unwrap_or_default()) % args.products;
    let customer = format!("cust{c:05}");
    let subject = Subject::Oidc {
        issuer: format!("https://idp{c}.example"),
        subject: format!("user{}", n % 7),
        email: Some(format!("user{}@cust{c}.example", n % 7)),
    };
    let t = end - YEAR + (n as i128 * YEAR as i128 / args.entries.max(1) as i128) as i64;
    LogEvent {
        v: EVENT_VERSION,
        time: rfc3339(t),
        tenant: "bench".into(),
        actor: Actor::Customer {
            customer_id: customer.clone(),
            subject: subject.clone(),
        },
        event: EventBody::DownloadServed {
            customer_id: Some(customer),
            subject,
            product: format!("product{p:02}"),
            tag: format!("v{}.0", n % 5),
            revision: 1,
            artifact: "export".into(),
            format: Some("cyclonedx-json".into()),
            sha256: hex::encode(h),
            bytes: Some(197_838),
        },
    }
    .to_leaf()
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

/// Runs the benchmark and prints a Markdown report.
pub async fn audit_bench(args: AuditBenchArgs) -> anyhow::Result<()> {
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-data"));
    std::fs::create_dir_all(&root)?;
    let dir = tempfile::tempdir_in(&root)?;
    let started = crate::app::Builder::new(dir.path())
        .master_key_hex(&"45".repeat(32))
        .public_host("bench.local")
        .open()?;
    let state = started.state;
    let op = started.operator_token.unwrap_or_default();
    let router = crate::app::app(state.clone());
    let call = |uri: String, token: &str, body: Option<&str>| {
        Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.unwrap_or("").to_owned()))
            .expect("request")
    };
    let res = router
        .clone()
        .oneshot(call(
            "/api/v1/tenants".into(),
            &op,
            Some(r#"{"slug":"bench","name":"Bench"}"#),
        ))
        .await?;
    let b = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    let v: serde_json::Value = serde_json::from_slice(&b)?;
    let admin = v["admin_token"]["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no admin token: {v}"))?
        .to_owned();

    // Load.
    let end = crate::core::clock::now_unix();
    let log = state.log("bench")?;
    let t = Instant::now();
    let args = std::sync::Arc::new(args);
    let writers = 8u64;
    let batch = 1000u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (log, args) = (log.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = w * batch;
            while n < args.entries {
                let hi = (n + batch).min(args.entries);
                let leaves = (n..hi).map(|i| event(i, &args, end)).collect();
                log.append_all_with(leaves, Vec::new())
                    .await
                    .expect("append");
                n += writers * batch;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let load = t.elapsed();
    println!("## evident bench audit\n");
    println!(
        "{} entries ({} customers, {} products, over one year), loaded and indexed in {:.1} s ({:.0} entries/s, {writers} writers, batches of {batch})\n",
        log.size(),
        args.customers,
        args.products,
        load.as_secs_f64(),
        args.entries as f64 / load.as_secs_f64()
    );

    // First pages.
    let mut rng = rand::thread_rng();
    println!("| query (first page of 100) | queries | entries/page (mean) | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut scan_filter = None;
    for proofs in [false, true] {
        let mut h = Histogram::<u64>::new(3)?;
        let mut rows = 0u64;
        for _ in 0..args.queries {
            let c = rng.gen_range(0..args.customers);
            let p = rng.gen_range(0..args.products);
            let from = end - YEAR + rng.gen_range(0..YEAR - 90 * 86_400);
            let (f, to) = (rfc3339(from), rfc3339(from + 90 * 86_400));
            let uri = format!(
                "/api/v1/tenants/bench/audit/events?kinds=download_served&product=product{p:02}&customer=cust{c:05}&from={f}&to={to}&limit=100&proofs={proofs}"
            );
            scan_filter.get_or_insert_with(|| Filter {
                kinds: vec!["download_served".into()],
                product: Some(format!("product{p:02}")),
                customer: Some(format!("cust{c:05}")),
                from: Some(f.clone()),
                to: Some(to.clone()),
                ..Filter::default()
            });
            let s = Instant::now();
            let res = router.clone().oneshot(call(uri, &admin, None)).await?;
            anyhow::ensure!(res.status().is_success(), "query: {}", res.status());
            let b = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
            h.record(s.elapsed().as_nanos() as u64)?;
            let v: serde_json::Value = serde_json::from_slice(&b)?;
            rows += v["entries"].as_array().map_or(0, |a| a.len() as u64);
        }
        println!(
            "| downloads of P by C in 90 days{} | {} | {:.0} | {} | {} | {} |",
            if proofs { ", proofs=true" } else { "" },
            args.queries,
            rows as f64 / args.queries as f64,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max())
        );
    }

    // Statistics over the whole year, from the counters.
    println!("\n| statistics over the year (GET …/audit/stats) | queries | groups | counters read | set members read | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let year_from = crate::service::stats::date((end - YEAR).div_euclid(86_400) as u32);
    let queries = args.queries.min(20);
    for g in [
        "month",
        "product",
        "tag",
        "customer",
        "channel",
        "month&product=product07",
        "customer&product=product07",
    ] {
        let mut h = Histogram::<u64>::new(3)?;
        let (mut groups, mut counters, mut members) = (0, 0, 0);
        for _ in 0..queries {
            let uri = format!("/api/v1/tenants/bench/audit/stats?group_by={g}&from={year_from}");
            let s = Instant::now();
            let res = router.clone().oneshot(call(uri, &admin, None)).await?;
            anyhow::ensure!(res.status().is_success(), "stats: {}", res.status());
            let b = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
            h.record(s.elapsed().as_nanos() as u64)?;
            let v: serde_json::Value = serde_json::from_slice(&b)?;
            let filtered = g.contains("product=");
            anyhow::ensure!(
                filtered || v["total"]["downloads"] == args.entries,
                "the statistics count {} downloads, the log has {}",
                v["total"]["downloads"],
                args.entries
            );
            anyhow::ensure!(
                v["total"]["customers"] == args.customers,
                "the statistics count {} customers, the log has {}",
                v["total"]["customers"],
                args.customers
            );
            groups = v["groups"].as_array().map_or(0, Vec::len);
            counters = v["counters"].as_u64().unwrap_or(0);
            members = v["members"].as_u64().unwrap_or(0);
        }
        println!(
            "| group_by={g} | {queries} | {groups} | {counters} | {members} | {} | {} | {} |",
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max())
        );
    }

    // A full export: a tenth of the year, about a tenth of the entries, with
    // the process's resident memory sampled before and after every chunk.
    let (ef, et) = (rfc3339(end - YEAR), rfc3339(end - YEAR + YEAR / 10));
    let rss_before = super::bench::rss_mib();
    let mut rss_max = rss_before.unwrap_or(0.0);
    let s = Instant::now();
    let res = router
        .clone()
        .oneshot(call(
            format!("/api/v1/tenants/bench/audit/events?kinds=download_served&from={ef}&to={et}&format=csv"),
            &admin,
            None,
        ))
        .await?;
    anyhow::ensure!(res.status().is_success(), "export: {}", res.status());
    let mut body = res.into_body().into_data_stream();
    let (mut bytes, mut lines, mut chunks) = (0u64, 0u64, 0u64);
    let mut tail = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        chunks += 1;
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        tail = chunk[chunk.len().saturating_sub(64)..].to_vec();
        if let Some(r) = super::bench::rss_mib() {
            rss_max = rss_max.max(r);
        }
    }
    let el = s.elapsed();
    let rows = lines.saturating_sub(3);
    let tail = String::from_utf8_lossy(&tail);
    anyhow::ensure!(
        tail.trim_end().ends_with(&format!("# end entries={rows}")),
        "the export did not close with its count: {tail}"
    );
    println!(
        "\nCSV export of the downloads of a tenth of the year: {rows} rows, {:.1} MiB in {chunks} chunks, {:.1} s: **{:.0} rows/s**",
        bytes as f64 / (1 << 20) as f64,
        el.as_secs_f64(),
        rows as f64 / el.as_secs_f64()
    );
    if let (Some(b), Some(a)) = (rss_before, super::bench::rss_mib()) {
        println!(
            "resident memory of this process: {b:.0} MiB before the export, at most {rss_max:.0} MiB during it, {a:.0} MiB after"
        );
    }

    // Without the index.
    if !args.no_scan {
        let f = scan_filter
            .unwrap_or_default()
            .compile()
            .map_err(|e| anyhow::anyhow!(e))?;
        let l = log.clone();
        let (el, hits) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, u64)> {
            let s = Instant::now();
            let mut hits = 0;
            let size = l.size();
            let mut at = 0;
            while at < size {
                let end = (at + 1000).min(size);
                for leaf in l.entries(at, end, 1000)? {
                    let v: serde_json::Value = serde_json::from_slice(&leaf)?;
                    if terms(&v).is_some_and(|t| f.mismatch(&t).is_none()) {
                        hits += 1;
                    }
                }
                at = end;
            }
            Ok((s.elapsed(), hits))
        })
        .await??;
        println!(
            "\nthe first query answered without the index (every entry read in order and filtered): {hits} entries in {:.1} s",
            el.as_secs_f64()
        );
    }
    drop(router);
    drop(log);
    drop(state);
    Ok(())
}
