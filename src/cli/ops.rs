//! Offline operations on a data directory: `evident log audit`, and the
//! crash-test writer.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::SigningKey;
use evident_log::{Store, StoreOptions};

use crate::{
    service::keys::{MasterKey, PlatformKeys},
    store::Db,
};

/// Audits every log (or one tenant's) in `data_dir`; prints a report and
/// returns whether all were clean.
pub async fn audit(data_dir: &Path, tenant: Option<&str>) -> anyhow::Result<bool> {
    if !data_dir.join("db").is_dir() {
        anyhow::bail!(
            "no Evident data in {} (expected {}/db)",
            data_dir.display(),
            data_dir.display()
        );
    }
    let env_key = std::env::var("EVIDENT_MASTER_KEY").ok();
    let (master, _) = MasterKey::load(env_key.as_deref(), data_dir, false)?;
    let store = Db::new(
        Store::open(&data_dir.join("db"), StoreOptions::default())
            .with_context(|| format!("opening the store under {}", data_dir.display()))?
            .with_indexer(std::sync::Arc::new(crate::store::audit::AuditIndexer)),
    );
    let keys = PlatformKeys::load(&store, &master)?;
    let names: Vec<String> = match tenant {
        Some(t) => vec![t.to_owned()],
        None => store.log_names()?,
    };
    let mut clean = true;
    for name in names {
        let log = crate::service::log_keys::open(&store, &master, &keys.log_key, &name)
            .map_err(|e| anyhow::anyhow!("opening the log of {name}: {e}"))?;
        let r = log.audit()?;
        println!(
            "log {}: size {}, {} leaves, {} nodes, {} checkpoints checked, root {}",
            r.log,
            r.size,
            r.leaves,
            r.nodes,
            r.checkpoints,
            evident_verify::merkle::to_b64(&r.root)
        );
        if r.is_clean() {
            println!("  \u{2713} clean");
        } else {
            clean = false;
            println!("  \u{2717} {} problem(s):", r.problem_count);
            for p in &r.problems {
                println!("    {p}");
            }
        }
        for (what, check) in [
            ("audit index", store.audit_index_check(&log)?),
            ("statistics", store.stats_check(&log)?),
        ] {
            match check {
                Ok(report) => println!("  \u{2713} {report}"),
                Err(problems) => {
                    clean = false;
                    println!("  \u{2717} {what}: {} problem(s):", problems.len());
                    for p in &problems {
                        println!("    {p}");
                    }
                }
            }
        }
    }
    Ok(clean)
}

/// The fixed log key of the crash-test writer (a test fixture, not a secret).
pub const CRASH_LOG_KEY: [u8; 32] = [42; 32];

/// Appends from `writers` tasks until killed, printing `ack <index> <leaf>`
/// for each durable entry and `cp <base64 note>` for each checkpoint seen.
pub async fn crash_writer(data_dir: &Path, writers: usize) -> anyhow::Result<()> {
    let opts = StoreOptions {
        checkpoint_interval: std::time::Duration::from_millis(5),
        ..Default::default()
    };
    let store = Store::open(data_dir, opts)?;
    if !store.log_names()?.iter().any(|n| n == "crash") {
        store.create_log("crash", "crash.test/crash")?;
    }
    let log = store.open_log("crash", &SigningKey::from_bytes(&CRASH_LOG_KEY))?;
    println!("start {}", log.size());
    let pid = std::process::id();
    let log = Arc::new(log);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0u64.. {
                let leaf = format!("{pid}-{w}-{n}");
                let i = log.append(leaf.clone().into_bytes()).await?;
                println!("ack {i} {leaf}");
            }
            anyhow::Ok(())
        }));
    }
    let cps = log.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            match cps.checkpoint().await {
                Ok(cp) => println!("cp {}", STANDARD.encode(cp.note)),
                Err(e) => return Err(anyhow::Error::from(e)),
            }
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
    }));
    for t in tasks {
        t.await??;
    }
    Ok(())
}
