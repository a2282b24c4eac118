//! Prometheus metrics: log appends, batch sizes and latencies, RocksDB
//! memory, and downloads per tenant.

use std::{sync::Mutex, time::Duration};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// How a download was authorised: the `channel` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A customer access token.
    CustomerToken,
    /// A customer's user signed in through SSO.
    Sso,
    /// A tenant token (admin, auditor or push).
    TenantToken,
    /// The operator's token.
    OperatorToken,
    /// An anonymous share link.
    ShareLink,
    /// An anonymous visitor of a public portal.
    Public,
}

impl Channel {
    fn label(self) -> &'static str {
        match self {
            Self::CustomerToken => "customer_token",
            Self::Sso => "sso",
            Self::TenantToken => "tenant_token",
            Self::OperatorToken => "operator_token",
            Self::ShareLink => "share_link",
            Self::Public => "public",
        }
    }
}

/// The labels of the download counters: each from a small, fixed set or
/// the tenant slug (tenants are created by the operator), never a
/// customer, subject or link id.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DownloadLabels {
    tenant: String,
    channel: &'static str,
    artifact: &'static str,
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    appends: Counter,
    batches: Counter,
    batch_entries: Histogram,
    append_seconds: Histogram,
    commit_seconds: Histogram,
    /// Number of tenants.
    pub tenants: Gauge,
    store_memory: [Gauge; 4],
    downloads: Family<DownloadLabels, Counter>,
    download_bytes: Family<DownloadLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("evident");
        let appends = Counter::default();
        let batches = Counter::default();
        let batch_entries = Histogram::new([
            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
        ]);
        let latency = || {
            Histogram::new([
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        };
        let append_seconds = latency();
        let commit_seconds = latency();
        let tenants = Gauge::default();
        registry.register("log_appends", "Log entries made durable", appends.clone());
        registry.register(
            "log_batches",
            "Group-commit batches written",
            batches.clone(),
        );
        registry.register(
            "log_batch_entries",
            "Entries per group-commit batch",
            batch_entries.clone(),
        );
        registry.register(
            "log_append_seconds",
            "Time from append to durable acknowledgement",
            append_seconds.clone(),
        );
        registry.register(
            "log_commit_seconds",
            "Time to build and sync one batch",
            commit_seconds.clone(),
        );
        registry.register("tenants", "Tenants on this server", tenants.clone());
        let store_memory: [Gauge; 4] = Default::default();
        for (g, (name, help)) in store_memory.iter().zip([
            (
                "store_cache_bytes",
                "RocksDB block cache usage, memtables included",
            ),
            (
                "store_cache_capacity_bytes",
                "RocksDB block cache capacity (blocks and memtables)",
            ),
            ("store_memtable_bytes", "RocksDB memtables"),
            (
                "store_table_reader_bytes",
                "RocksDB table readers outside the cache",
            ),
        ]) {
            registry.register(name, help, g.clone());
        }
        let downloads = Family::<DownloadLabels, Counter>::default();
        let download_bytes = Family::<DownloadLabels, Counter>::default();
        registry.register(
            "downloads",
            "Logged downloads served (durable download_served and share_link_used entries)",
            downloads.clone(),
        );
        registry.register(
            "download_bytes",
            "Bytes of logged downloads served",
            download_bytes.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            appends,
            batches,
            batch_entries,
            append_seconds,
            commit_seconds,
            tenants,
            store_memory,
            downloads,
            download_bytes,
        }
    }
}

impl Metrics {
    /// Sets the RocksDB memory gauges (read when metrics are scraped).
    pub fn set_store_memory(&self, m: evident_log::StoreMemory) {
        for (g, v) in self.store_memory.iter().zip([
            m.cache_bytes,
            m.cache_capacity_bytes,
            m.memtable_bytes,
            m.table_reader_bytes,
        ]) {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        }
    }

    /// Counts one logged download of `bytes` bytes of `artifact` (one of the
    /// fixed artifact names) from `tenant` through `channel`.
    pub fn download(&self, tenant: &str, channel: Channel, artifact: &'static str, bytes: u64) {
        let l = DownloadLabels {
            tenant: tenant.to_owned(),
            channel: channel.label(),
            artifact,
        };
        self.downloads.get_or_create(&l).inc();
        self.download_bytes.get_or_create(&l).inc_by(bytes);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let reg = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        encode(&mut out, &reg).expect("writing to a String cannot fail");
        out
    }
}

impl evident_log::Observer for Metrics {
    fn batch_committed(&self, _log: &str, entries: usize, commit: Duration, waits: &[Duration]) {
        self.appends.inc_by(entries as u64);
        self.batches.inc();
        self.batch_entries.observe(entries as f64);
        self.commit_seconds.observe(commit.as_secs_f64());
        for w in waits {
            self.append_seconds.observe(w.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_counted_per_tenant_channel_and_artifact() {
        let m = Metrics::default();
        m.download("acme", Channel::CustomerToken, "export", 100);
        m.download("acme", Channel::CustomerToken, "export", 50);
        m.download("acme", Channel::ShareLink, "kit", 7);
        m.download("globex", Channel::Sso, "export", 1);
        let t = m.render();
        for line in [
            r#"evident_downloads_total{tenant="acme",channel="customer_token",artifact="export"} 2"#,
            r#"evident_download_bytes_total{tenant="acme",channel="customer_token",artifact="export"} 150"#,
            r#"evident_downloads_total{tenant="acme",channel="share_link",artifact="kit"} 1"#,
            r#"evident_downloads_total{tenant="globex",channel="sso",artifact="export"} 1"#,
        ] {
            assert!(t.lines().any(|l| l == line), "{line} in\n{t}");
        }
    }
}
