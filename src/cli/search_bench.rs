//! `evident bench search`: component search over many large releases,
//! through the HTTP API in process (`app()` with `oneshot`).
//!
//! It pushes one real release, then stores `--releases` more (default
//! 1,000) of `--components` components each (default 10,000) as a push
//! does: the release record, its log-index key and the component index of
//! `store::search`, one batch per release. The components are Maven
//! artefacts `org.bench.g<i % 100>:lib<i>` whose versions move with the
//! release; one release in ten also carries log4j-core 2.14.1. Then it
//! times, through `GET /api/v1/tenants/{t}/search`, for random components:
//!
//! - an exact purl with version, as an admin (a library's version is in
//!   one release in 50; one query in ten asks for log4j-core 2.14.1, in
//!   one release in ten);
//! - a purl without version (every revision), limit 1,000;
//! - a purl prefix (a Maven group: 100 components × every revision), first
//!   100;
//! - a name with a semver range;
//! - a purl without version as a customer entitled to one product's
//!   `v1.*` (the same index, filtered by entitlement: 10 of 1,000 hits);
//!
//! each with p50, p99 and max, and the index's size on disk; then the
//! signed diff between two releases of the 10,099-component fixture (the
//! second with a tenth of the components changed, a tenth removed and 100
//! added): the first request (which issues it), then p50, p99 and max.

use std::{path::PathBuf, time::Instant};

use axum::{body::Body, http::Request};
use clap::Args;
use hdrhistogram::Histogram;
use rand::Rng;
use tower::ServiceExt;

use crate::{core::release::ReleaseRecord, store::Db};

/// Options of `evident bench search`.
#[derive(Debug, Args)]
pub struct SearchBenchArgs {
    /// Releases to store.
    #[arg(long, default_value_t = 1000)]
    pub releases: u32,
    /// Components per release.
    #[arg(long, default_value_t = 10_000)]
    pub components: u32,
    /// Queries of each kind to time.
    #[arg(long, default_value_t = 300)]
    pub queries: u32,
    /// Where to put the scratch data (removed afterwards). Default: ./bench-data.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The synthetic model of release `r`.
fn model(r: u32, n: u32, base: &evident_sbom::Model) -> evident_sbom::Model {
    let proto = base
        .components
        .first()
        .cloned()
        .expect("the fixture has components");
    let mut components = Vec::with_capacity(n as usize + 1);
    for i in 0..n {
        let version = format!("1.{}.0", (i + r) % 50);
        let mut c = proto.clone();
        c.name = format!("lib{i:05}");
        c.purl = Some(format!(
            "pkg:maven/org.bench.g{}/lib{i:05}@{version}",
            i % 100
        ));
        c.version = Some(version);
        components.push(c);
    }
    if r.is_multiple_of(10) {
        let mut c = proto;
        c.name = "log4j-core".into();
        c.version = Some("2.14.1".into());
        c.purl = Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".into());
        components.push(c);
    }
    evident_sbom::Model {
        components,
        subject: None,
        ..base.clone()
    }
}

/// The product and tag of synthetic release `r`: ten products, each with
/// `v<major>.<minor>.0` tags.
fn release_of(r: u32) -> (String, String) {
    (
        format!("product{}", r % 10),
        format!("v{}.{}.0", r / 100, (r / 10) % 10),
    )
}

/// Runs the benchmark and prints a Markdown report.
pub async fn search_bench(args: SearchBenchArgs) -> anyhow::Result<()> {
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-data"));
    std::fs::create_dir_all(&root)?;
    let dir = tempfile::tempdir_in(&root)?;
    let started = crate::app::Builder::new(dir.path())
        .master_key_hex(&"46".repeat(32))
        .public_host("bench.local")
        .open()?;
    let state = started.state;
    let op = started.operator_token.unwrap_or_default();
    let router = crate::app::app(state.clone());
    let call = |uri: String, token: &str, body: Option<String>| {
        Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.unwrap_or_default()))
            .expect("request")
    };
    let json = |res: axum::response::Response| async move {
        let b = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
        anyhow::Ok(serde_json::from_slice::<serde_json::Value>(&b)?)
    };
    let v = json(
        router
            .clone()
            .oneshot(call(
                "/api/v1/tenants".into(),
                &op,
                Some(r#"{"slug":"bench","name":"Bench"}"#.into()),
            ))
            .await?,
    )
    .await?;
    let admin = v["admin_token"]["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no admin token: {v}"))?
        .to_owned();
    let v = json(
        router
            .clone()
            .oneshot(call(
                "/api/v1/tenants/bench/tokens".into(),
                &admin,
                Some(r#"{"scope":"push"}"#.into()),
            ))
            .await?,
    )
    .await?;
    let push = v["token"].as_str().unwrap_or_default().to_owned();
    // One real push: its record is the pattern of the synthetic ones.
    let sbom = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json"),
    )?;
    use base64::Engine as _;
    let body = serde_json::json!({
        "product": "seed", "tag": "v0", "artefacts": [{"name": "seed", "digest": format!("sha256:{}", "11".repeat(32))}],
        "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(&sbom), "encoding": "base64"},
    });
    let pushed = json(
        router
            .clone()
            .oneshot(call(
                "/api/v1/tenants/bench/releases".into(),
                &push,
                Some(body.to_string()),
            ))
            .await?,
    )
    .await?;
    let seed: ReleaseRecord = serde_json::from_value(pushed["release"].clone())?;
    let base = crate::service::catalogue::model(&state, &seed)?;
    let v = json(
        router
            .clone()
            .oneshot(call(
                "/api/v1/tenants/bench/customers".into(),
                &admin,
                Some(
                    r#"{"name":"Cust","entitlements":[{"product":"product3","tag":"v1.*"}]}"#
                        .into(),
                ),
            ))
            .await?,
    )
    .await?;
    let cid = v["id"].as_str().unwrap_or_default().to_owned();
    let v = json(
        router
            .clone()
            .oneshot(call(
                format!("/api/v1/tenants/bench/customers/{cid}/tokens"),
                &admin,
                Some("{}".into()),
            ))
            .await?,
    )
    .await?;
    let customer = v["token"].as_str().unwrap_or_default().to_owned();

    // Load.
    let t = Instant::now();
    let db = state.store().clone();
    let index = seed.log_index.unwrap_or(0);
    let (releases, n) = (args.releases, args.components);
    let keys = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut keys = 0;
        for r in 0..releases {
            let (product, tag) = release_of(r);
            let rec = ReleaseRecord {
                product,
                tag,
                revision: 1,
                log_index: None,
                ..seed.clone()
            };
            let m = model(r, n, &base);
            let (op, index_key) = Db::release_ops("bench", &rec);
            let mut ops = Db::search_ops("bench", &rec, &m);
            keys += ops.len();
            ops.push(op);
            ops.push((index_key, Some(index.to_be_bytes().to_vec())));
            db.write(&ops)?;
        }
        Ok(keys)
    })
    .await??;
    let load = t.elapsed();
    println!("## evident bench search\n");
    println!(
        "{releases} releases of {n} components (plus one pushed), {keys} index keys written in {:.1} s ({:.0} keys/s, one batch per release)\n",
        load.as_secs_f64(),
        keys as f64 / load.as_secs_f64()
    );

    let mut rng = rand::thread_rng();
    println!("| query | queries | hits (mean) | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    let kinds: [(&str, &str); 5] = [
        ("exact purl with version (admin)", "admin"),
        ("purl without version, limit 1000 (admin)", "admin"),
        ("purl prefix: a Maven group, first 100 (admin)", "admin"),
        ("name with a semver range (admin)", "admin"),
        (
            "purl without version (customer, one product's v1.*)",
            "customer",
        ),
    ];
    for (k, (label, who)) in kinds.iter().enumerate() {
        let token = if *who == "admin" { &admin } else { &customer };
        let mut h = Histogram::<u64>::new(3)?;
        let mut hits = 0u64;
        for q in 0..args.queries {
            let i = rng.gen_range(0..n);
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let query = match k {
                0 if q % 10 == 0 => {
                    "purl=pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".to_owned()
                }
                4 => format!(
                    "purl={}",
                    enc(&format!("pkg:maven/org.bench.g{}/lib{i:05}", i % 100))
                ),
                0 => format!(
                    "purl={}",
                    enc(&format!(
                        "pkg:maven/org.bench.g{}/lib{i:05}@1.{}.0",
                        i % 100,
                        rng.gen_range(0..50)
                    ))
                ),
                1 => format!(
                    "purl={}&limit=1000",
                    enc(&format!("pkg:maven/org.bench.g{}/lib{i:05}", i % 100))
                ),
                2 => format!(
                    "purl_prefix={}",
                    enc(&format!("pkg:maven/org.bench.g{}/", i % 100))
                ),
                _ => format!("name=lib{i:05}&version={}", enc(">=1.10.0, <1.20.0")),
            };
            let t = Instant::now();
            let res = router
                .clone()
                .oneshot(call(
                    format!("/api/v1/tenants/bench/search?{query}"),
                    token,
                    None,
                ))
                .await?;
            let status = res.status();
            let v = json(res).await?;
            h.record(t.elapsed().as_nanos() as u64)?;
            anyhow::ensure!(status.is_success(), "{query}: {status} {v}");
            hits += v["hits"].as_array().map_or(0, |a| a.len() as u64);
        }
        println!(
            "| {label} | {} | {:.0} | {} | {} | {} |",
            args.queries,
            hits as f64 / f64::from(args.queries),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max())
        );
    }
    // The signed diff between two releases of the 10,099-component
    // fixture: the second with a tenth of its components at another
    // version, a tenth removed and 100 added.
    let big = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sboms/cyclonedx-npm-mega-a-minified.cdx-1.6.json"),
    )?;
    let mut doc: serde_json::Value = serde_json::from_slice(&big)?;
    if let Some(list) = doc["components"].as_array_mut() {
        let mut i = 0;
        list.retain_mut(|c| {
            i += 1;
            match i % 10 {
                1 => {
                    // Another version of the same package.
                    c["version"] = serde_json::json!("999.0.0");
                    if let Some(p) = c["purl"].as_str() {
                        let p = format!("{}@999.0.0", evident_sbom::diff::purl_key(p));
                        c["purl"] = serde_json::json!(p);
                    }
                    true
                }
                2 => false,
                _ => true,
            }
        });
        for i in 0..100 {
            list.push(
                serde_json::json!({"type": "library", "bom-ref": format!("bench-added-{i}"),
                "name": format!("bench-added-{i}"), "version": "1.0.0",
                "purl": format!("pkg:npm/bench-added-{i}@1.0.0")}),
            );
        }
    }
    let big2 = serde_json::to_vec(&doc)?;
    for (tag, sbom) in [("v1", &big), ("v2", &big2)] {
        let body = serde_json::json!({
            "product": "mega", "tag": tag, "artefacts": [{"name": "mega", "digest": format!("sha256:{}", "22".repeat(32))}],
            "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(sbom), "encoding": "base64"},
        });
        let res = router
            .clone()
            .oneshot(call(
                "/api/v1/tenants/bench/releases".into(),
                &push,
                Some(body.to_string()),
            ))
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "push mega {tag}: {}",
            res.status()
        );
    }
    let mut h = Histogram::<u64>::new(3)?;
    let mut first = 0u64;
    let mut summary = String::new();
    for q in 0..args.queries.min(100) {
        let t = Instant::now();
        let res = router
            .clone()
            .oneshot(call(
                "/api/v1/tenants/bench/products/mega/diff?from=v1&to=v2".into(),
                &admin,
                None,
            ))
            .await?;
        let status = res.status();
        let v = json(res).await?;
        let ns = t.elapsed().as_nanos() as u64;
        anyhow::ensure!(status.is_success(), "diff: {status} {v}");
        if q == 0 {
            first = ns;
            summary = v["summary"].to_string();
        } else {
            h.record(ns)?;
        }
    }
    println!(
        "\n| signed diff of two 10,099-component releases ({summary}) | first (issues it) | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n| GET …/products/mega/diff, logged | {} | {} | {} | {} |",
        ms(first),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    );
    let size: u64 = walk_size(dir.path());
    println!(
        "\nData directory after the load: {:.1} MiB (index, release records and the log).",
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

fn walk_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
