//! The command line: `evident serve`, `evident push`, `evident log audit`,
//! `evident bench`, and what they run (the demo seed, offline operations).

pub mod audit_bench;
pub mod bench;
pub mod bundle_bench;
pub mod cover_note;
pub mod demo;
pub mod ops;
pub mod push;
pub mod search_bench;
pub mod serve;
pub mod share;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// Evident: signed SBOM evidence with a transparency log.
#[derive(Debug, Parser)]
#[command(name = "evident", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the server.
    Serve(ServeArgs),
    /// Operate on the logs in a data directory (the server must be stopped).
    #[command(subcommand)]
    Log(LogCmd),
    /// Push a release record to a server (for CI).
    Push(push::PushArgs),
    /// Issue (or list, or revoke) an expiring share link to one release.
    Share(share::ShareArgs),
    /// Sign a regulator cover note with an officer's own key (offline).
    #[command(subcommand)]
    CoverNote(CoverNoteCmd),
    /// Measure performance.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Test helpers (hidden).
    #[command(subcommand, hide = true)]
    Debug(DebugCmd),
}

/// `evident cover-note …`.
#[derive(Debug, Subcommand)]
pub enum CoverNoteCmd {
    /// Sign the exact bytes of a cover note; prints the upload body.
    Sign(cover_note::SignArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `evident serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Optional TOML config file; flags and EVIDENT_* variables override it.
    #[arg(long, env = "EVIDENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (RocksDB, master key file). Default ./data.
    #[arg(long, env = "EVIDENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on. Default 127.0.0.1:8080.
    #[arg(long, env = "EVIDENT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Host (and optional path) that prefixes log origins, e.g. evidence.example.com.
    /// Default: the listen address.
    #[arg(long, env = "EVIDENT_PUBLIC_HOST")]
    pub public_host: Option<String>,
    /// Log format.
    #[arg(long, env = "EVIDENT_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Publish a checkpoint with a batch when the last is older than this many milliseconds.
    #[arg(long, env = "EVIDENT_CHECKPOINT_INTERVAL_MS")]
    pub checkpoint_interval_ms: Option<u64>,
    /// Give each log's latest checkpoint an RFC 3161 token at least this
    /// often, in seconds. Default 60.
    #[arg(long, env = "EVIDENT_CHECKPOINT_STAMP_SECS")]
    pub checkpoint_stamp_secs: Option<u64>,
    /// Largest release push body in bytes. Default 67108864 (64 MiB).
    #[arg(long, env = "EVIDENT_MAX_PUSH_BYTES")]
    pub max_push_bytes: Option<usize>,
    /// Seed a `demo` tenant with a real release on first start (idempotent).
    #[arg(long, env = "EVIDENT_DEMO")]
    pub demo: bool,
    /// Take RFC 3161 tokens from this external TSA (http:// or https://)
    /// instead of the built-in one. Needs --tsa-ca-file.
    #[arg(long, env = "EVIDENT_TSA_URL")]
    pub tsa_url: Option<String>,
    /// PEM bundle of the CA certificates the external TSA's replies must chain to.
    #[arg(long, env = "EVIDENT_TSA_CA_FILE")]
    pub tsa_ca_file: Option<PathBuf>,
    /// How long to wait for the external TSA, in seconds. Default 10.
    #[arg(long, env = "EVIDENT_TSA_TIMEOUT_SECS")]
    pub tsa_timeout_secs: Option<u64>,
    /// The portal's external base URL, e.g. https://evidence.example.com;
    /// OIDC redirect URIs are `<url>/t/<tenant>/callback`. Default: the
    /// listen address.
    #[arg(long, env = "EVIDENT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark session cookies Secure (always on when --public-url is https).
    #[arg(long, env = "EVIDENT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Allow SSO bindings whose issuer (and every endpoint it names) is a
    /// plain http:// URL on loopback (127.0.0.1, ::1, localhost): for tests
    /// and local IdPs only. Off by default: IdPs are https:// only.
    #[arg(long, env = "EVIDENT_ALLOW_HTTP_IDP_ON_LOOPBACK")]
    pub allow_http_idp_on_loopback: bool,
    /// Serve /metrics on the public listener to holders of this bearer
    /// token. Without it (and without --metrics-listen) /metrics is not served.
    #[arg(long, env = "EVIDENT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve /metrics, unauthenticated, on this separate address (keep it
    /// private, e.g. 127.0.0.1:9464).
    #[arg(long, env = "EVIDENT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Rate limits, per minute (each also the burst size).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Byte budget of the in-memory cache of SBOM models. Default 268435456 (256 MiB).
    #[arg(long, env = "EVIDENT_MODEL_CACHE_BYTES")]
    pub model_cache_bytes: Option<usize>,
}

/// Rate limits of `evident serve` (per minute; 0 is not allowed).
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Sign-in requests (/t/{t}/login, /callback, /token-login) per client address. Default 60.
    #[arg(long, env = "EVIDENT_RATE_SIGN_IN_PER_ADDRESS")]
    pub rate_sign_in_per_address: Option<u32>,
    /// Sign-in requests per tenant, all addresses together. Default 1200.
    #[arg(long, env = "EVIDENT_RATE_SIGN_IN_PER_TENANT")]
    pub rate_sign_in_per_tenant: Option<u32>,
    /// POST /tsa requests per client address. Default 600.
    #[arg(long, env = "EVIDENT_RATE_TSA_PER_ADDRESS")]
    pub rate_tsa_per_address: Option<u32>,
    /// Failed bearer authentications per client address; over it, the
    /// address is refused until the budget refills. Default 30.
    #[arg(long, env = "EVIDENT_RATE_AUTH_FAILURES_PER_ADDRESS")]
    pub rate_auth_failures_per_address: Option<u32>,
    /// Share-link requests per client address. Default 120.
    #[arg(long, env = "EVIDENT_RATE_SHARE_PER_ADDRESS")]
    pub rate_share_per_address: Option<u32>,
    /// Downloads through one share link, all addresses together. Default 600.
    #[arg(long, env = "EVIDENT_RATE_SHARE_PER_LINK")]
    pub rate_share_per_link: Option<u32>,
    /// Reads of a public log's checkpoint and tiles without a token, per
    /// client address. Default 1200.
    #[arg(long, env = "EVIDENT_RATE_PUBLIC_LOG_PER_ADDRESS")]
    pub rate_public_log_per_address: Option<u32>,
    /// A public portal's downloads and receipts (/p/{t}/…) per client
    /// address. Default 120.
    #[arg(long, env = "EVIDENT_RATE_PUBLIC_PER_ADDRESS")]
    pub rate_public_per_address: Option<u32>,
    /// A public portal's downloads and receipts per tenant, all addresses
    /// together. Default 1200.
    #[arg(long, env = "EVIDENT_RATE_PUBLIC_PER_TENANT")]
    pub rate_public_per_tenant: Option<u32>,
}

impl LimitArgs {
    /// The limits, defaults filled in.
    pub fn config(&self) -> anyhow::Result<crate::service::limits::LimitConfig> {
        let d = crate::service::limits::LimitConfig::default();
        let c = crate::service::limits::LimitConfig {
            sign_in_per_address: self
                .rate_sign_in_per_address
                .unwrap_or(d.sign_in_per_address),
            sign_in_per_tenant: self.rate_sign_in_per_tenant.unwrap_or(d.sign_in_per_tenant),
            tsa_per_address: self.rate_tsa_per_address.unwrap_or(d.tsa_per_address),
            auth_failures_per_address: self
                .rate_auth_failures_per_address
                .unwrap_or(d.auth_failures_per_address),
            share_per_address: self.rate_share_per_address.unwrap_or(d.share_per_address),
            share_per_link: self.rate_share_per_link.unwrap_or(d.share_per_link),
            public_log_per_address: self
                .rate_public_log_per_address
                .unwrap_or(d.public_log_per_address),
            public_per_address: self.rate_public_per_address.unwrap_or(d.public_per_address),
            public_per_tenant: self.rate_public_per_tenant.unwrap_or(d.public_per_tenant),
        };
        if [
            c.sign_in_per_address,
            c.sign_in_per_tenant,
            c.tsa_per_address,
            c.auth_failures_per_address,
            c.share_per_address,
            c.share_per_link,
            c.public_log_per_address,
            c.public_per_address,
            c.public_per_tenant,
        ]
        .contains(&0)
        {
            anyhow::bail!("rate limits must be at least 1 per minute");
        }
        Ok(c)
    }
}

/// The config file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// See `--listen`.
    pub listen: Option<SocketAddr>,
    /// See `--public-host`.
    pub public_host: Option<String>,
    /// See `--log-format`.
    pub log_format: Option<LogFormat>,
    /// See `--checkpoint-interval-ms`.
    pub checkpoint_interval_ms: Option<u64>,
    /// See `--max-push-bytes`.
    pub max_push_bytes: Option<usize>,
    /// See `--checkpoint-stamp-secs`.
    pub checkpoint_stamp_secs: Option<u64>,
    /// See `--demo`.
    pub demo: Option<bool>,
    /// See `--tsa-url`.
    pub tsa_url: Option<String>,
    /// See `--tsa-ca-file`.
    pub tsa_ca_file: Option<PathBuf>,
    /// See `--tsa-timeout-secs`.
    pub tsa_timeout_secs: Option<u64>,
    /// See `--public-url`.
    pub public_url: Option<String>,
    /// See `--secure-cookies`.
    pub secure_cookies: Option<bool>,
}

/// Resolved settings for `serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Origin prefix.
    pub public_host: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Checkpoint interval.
    pub checkpoint_interval: Duration,
    /// Largest release push body.
    pub max_push_bytes: usize,
    /// How often checkpoints get RFC 3161 tokens at the least.
    pub checkpoint_stamp_interval: Duration,
    /// Seed the demo tenant.
    pub demo: bool,
    /// The external TSA: URL and CA bundle file.
    pub external_tsa: Option<(String, PathBuf)>,
    /// How long to wait for the external TSA.
    pub tsa_timeout: Duration,
    /// The portal's external base URL.
    pub public_url: Option<String>,
    /// Secure cookies.
    pub secure_cookies: bool,
    /// http:// IdPs on loopback allowed.
    pub allow_http_idp_on_loopback: bool,
    /// The bearer token of /metrics on the public listener.
    pub metrics_token: Option<String>,
    /// A private listener for /metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// Rate limits.
    pub limits: crate::service::limits::LimitConfig,
    /// Model cache budget, bytes.
    pub model_cache_bytes: usize,
}

impl ServeArgs {
    /// Merges flags, environment and the config file, then checks the result.
    pub fn resolve(&self) -> anyhow::Result<ServeConfig> {
        let file: FileConfig = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("in config {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid default"));
        let public_host = self
            .public_host
            .clone()
            .or(file.public_host)
            .unwrap_or_else(|| listen.to_string());
        let external_tsa = match (
            self.tsa_url.clone().or(file.tsa_url),
            self.tsa_ca_file.clone().or(file.tsa_ca_file),
        ) {
            (Some(url), Some(ca)) => Some((url, ca)),
            (None, None) => None,
            (Some(_), None) => anyhow::bail!(
                "--tsa-url needs --tsa-ca-file: the CA bundle its replies are checked against"
            ),
            (None, Some(_)) => anyhow::bail!("--tsa-ca-file is only used with --tsa-url"),
        };
        let cfg = ServeConfig {
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            listen,
            public_host,
            log_format: self
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            checkpoint_interval: Duration::from_millis(
                self.checkpoint_interval_ms
                    .or(file.checkpoint_interval_ms)
                    .unwrap_or(1000),
            ),
            max_push_bytes: self
                .max_push_bytes
                .or(file.max_push_bytes)
                .unwrap_or(crate::DEFAULT_PUSH_BODY_BYTES),
            demo: self.demo || file.demo.unwrap_or(false),
            checkpoint_stamp_interval: Duration::from_secs(
                self.checkpoint_stamp_secs
                    .or(file.checkpoint_stamp_secs)
                    .unwrap_or(60)
                    .max(1),
            ),
            external_tsa,
            tsa_timeout: Duration::from_secs(
                self.tsa_timeout_secs
                    .or(file.tsa_timeout_secs)
                    .unwrap_or(10)
                    .clamp(1, 120),
            ),
            public_url: self.public_url.clone().or(file.public_url),
            secure_cookies: self.secure_cookies || file.secure_cookies.unwrap_or(false),
            allow_http_idp_on_loopback: self.allow_http_idp_on_loopback,
            metrics_token: self.metrics_token.clone(),
            metrics_listen: self.metrics_listen,
            limits: self.limits.config()?,
            model_cache_bytes: self
                .model_cache_bytes
                .unwrap_or(crate::service::cache::DEFAULT_MODEL_CACHE_BYTES),
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

impl ServeConfig {
    /// Rules a type cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.max_push_bytes < 1 << 20 {
            anyhow::bail!("max push bytes must be at least 1 MiB (1048576)");
        }
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains(char::is_whitespace)
            {
                anyhow::bail!("public URL {u:?} must be an http:// or https:// URL");
            }
        }
        let h = &self.public_host;
        if h.is_empty()
            || h.contains("://")
            || h.ends_with('/')
            || h.chars().any(|c| c.is_whitespace() || c == '+')
        {
            anyhow::bail!(
                "public host {h:?} must be a host with optional path, without scheme, spaces, '+' or a trailing slash"
            );
        }
        Ok(())
    }
}

/// `evident log …`.
#[derive(Debug, Subcommand)]
pub enum LogCmd {
    /// Recompute every log from its leaves and report any disagreement.
    Audit {
        /// Data directory.
        #[arg(long, env = "EVIDENT_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Only this tenant's log.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `evident bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Durable appends, latency, proofs and bytes per entry of the log library.
    Log(bench::LogBenchArgs),
    /// Ingest and export speed for one SBOM (default: the 10,099-component fixture).
    Sbom(bench::SbomBenchArgs),
    /// VEX read and write speed for a synthetic release (default: 10,000
    /// components, 2,000 findings).
    Vex(bench::VexBenchArgs),
    /// Audit queries over a large log (default 10 million entries): first
    /// pages, with proofs, a full CSV export, and the same query unindexed.
    Audit(audit_bench::AuditBenchArgs),
    /// Regulator bundle verification for a 10,099-component SBOM: the
    /// library, the `evident-verify bundle` binary, and `verify.sh`.
    Bundle(bundle_bench::BundleBenchArgs),
    /// Component search over many releases (default 1,000 of 10,000
    /// components): exact purl, purl without version, purl prefix, name
    /// with a range, and as a customer.
    Search(search_bench::SearchBenchArgs),
}

/// `evident debug …`.
#[derive(Debug, Subcommand)]
pub enum DebugCmd {
    /// Append under load and print `ack <index> <leaf>` for every durable entry
    /// (the crash test kills this with SIGKILL).
    CrashWriter {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Concurrent writers.
        #[arg(long, default_value_t = 32)]
        writers: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_file_is_overridden_by_flags_and_validated() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("evident.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\npublic_host = \"ev.example\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(f.clone()),
            data_dir: None,
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            public_host: None,
            log_format: None,
            checkpoint_interval_ms: None,
            max_push_bytes: None,
            checkpoint_stamp_secs: None,
            demo: false,
            tsa_url: None,
            tsa_ca_file: None,
            tsa_timeout_secs: None,
            public_url: None,
            secure_cookies: false,
            allow_http_idp_on_loopback: false,
            metrics_token: None,
            metrics_listen: None,
            limits: LimitArgs::default(),
            model_cache_bytes: None,
        };
        let c = args.resolve().unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.max_push_bytes, crate::DEFAULT_PUSH_BODY_BYTES);
        assert_eq!(c.public_host, "ev.example");
        std::fs::write(&f, "bogus = 1\n").unwrap();
        assert!(args.resolve().is_err());
        std::fs::write(&f, "public_host = \"https://x/\"\n").unwrap();
        assert!(args.resolve().is_err());
        // An external TSA needs its CA bundle, and the bundle needs the TSA.
        std::fs::write(&f, "tsa_url = \"http://127.0.0.1:1/tsa\"\n").unwrap();
        let e = args.resolve().unwrap_err().to_string();
        assert!(e.contains("--tsa-ca-file"), "{e}");
        std::fs::write(&f, "tsa_ca_file = \"ca.pem\"\n").unwrap();
        assert!(args.resolve().is_err());
        std::fs::write(
            &f,
            "tsa_url = \"http://127.0.0.1:1/tsa\"\ntsa_ca_file = \"ca.pem\"\n",
        )
        .unwrap();
        let c = args.resolve().unwrap();
        assert_eq!(
            c.external_tsa,
            Some(("http://127.0.0.1:1/tsa".into(), PathBuf::from("ca.pem")))
        );
        assert_eq!(c.tsa_timeout, Duration::from_secs(10));
    }
}
