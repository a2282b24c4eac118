//! Services: one module per capability. Each function takes the caller
//! ([`Principal`](crate::core::Principal)) and typed input, asks
//! `core::policy` whether the caller may, does the work through `store`
//! and the log, and returns domain results or a [`core::Error`]. Nothing
//! here knows HTTP: no axum, maud, tower or hyper (a test keeps it so).
//!
//! [`AppState`] holds what every service shares: the store, the keys, the
//! TSA, caches, locks and the settings the server was started with. It is
//! built once, by `app::Builder`, and never changed after: there are no
//! setters.

pub mod advisories;
pub mod audit;
pub mod bundles;
pub mod cache;
pub mod catalogue;
pub mod customers;
pub mod diff;
pub mod documents;
pub mod downloads;
pub mod evidence;
pub mod identity;
pub mod keys;
pub mod limits;
pub mod log_keys;
pub mod logs;
pub mod metrics;
pub mod officers;
pub mod oidc;
pub mod portal;
pub mod regulator;
pub mod releases;
pub mod search;
pub mod settings;
pub mod share_links;
pub mod signing;
pub mod stats;
pub mod tenancy;
pub mod timestamps;
pub mod trail;
pub mod tsa;
pub mod vex;
pub mod witnesses;

use std::sync::Arc;

use evident_log::{AppOp, Log};

use crate::{
    core::{
        events::{Actor, EventBody},
        records::TenantRecord,
        Error,
    },
    store::Db,
};

/// What the server was started with (all of it fixed at start).
#[derive(Debug)]
pub struct Config {
    /// The public host that prefixes every log origin.
    pub public_host: String,
    /// The portal's external base URL, if configured.
    pub public_url: Option<String>,
    /// Mark cookies `Secure`.
    pub secure_cookies: bool,
    /// Largest accepted release push body, bytes.
    pub push_body_limit: usize,
    /// The byte budget of the model cache.
    pub model_cache_bytes: usize,
    /// Rate limits.
    pub limits: limits::LimitConfig,
    /// Allow `http://` IdPs on loopback.
    pub allow_http_idp_on_loopback: bool,
    /// The bearer token of `/metrics` on the public listener.
    pub metrics_token: Option<String>,
    /// Where the `evident-verify` binaries enclosed in regulator bundles
    /// are kept, by SHA-256 (`<data dir>/verifiers`).
    pub verifiers_dir: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            public_host: "evident.test".into(),
            public_url: None,
            secure_cookies: false,
            push_body_limit: crate::DEFAULT_PUSH_BODY_BYTES,
            model_cache_bytes: cache::DEFAULT_MODEL_CACHE_BYTES,
            limits: limits::LimitConfig::default(),
            allow_http_idp_on_loopback: false,
            metrics_token: None,
            verifiers_dir: None,
        }
    }
}

/// Everything a service needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    tsa: timestamps::Timestamps,
    master: keys::MasterKey,
    keys: keys::PlatformKeys,
    metrics: Arc<metrics::Metrics>,
    config: Config,
    caches: cache::Caches,
    locks: cache::KeyedLocks,
    /// At most this many SBOM ingests run at once (each holds a document
    /// and its model in memory).
    ingests: Arc<tokio::sync::Semaphore>,
    /// The audit exports streaming now.
    exports: audit::ExportSlots,
    oidc: oidc::Oidc,
    limits: limits::Limits,
    /// Failed sign-ins being gathered into log entries.
    failures: trail::Failures,
    /// The public base URL: configured, else the bound address.
    public_url: std::sync::OnceLock<String>,
}

impl AppState {
    /// Builds the state (see `app::Builder`).
    pub fn new(
        db: Db,
        keys: keys::PlatformKeys,
        tsa: timestamps::Timestamps,
        master: keys::MasterKey,
        metrics: Arc<metrics::Metrics>,
        config: Config,
    ) -> Self {
        let public_url = std::sync::OnceLock::new();
        if let Some(u) = &config.public_url {
            let _ = public_url.set(u.trim_end_matches('/').to_owned());
        }
        Self {
            inner: Arc::new(Inner {
                caches: cache::Caches::new(config.model_cache_bytes),
                oidc: oidc::Oidc::new(config.allow_http_idp_on_loopback),
                limits: limits::Limits::new(config.limits),
                failures: trail::Failures::default(),
                ingests: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                )),
                exports: audit::ExportSlots::default(),
                locks: cache::KeyedLocks::default(),
                db,
                tsa,
                master,
                keys,
                metrics,
                config,
                public_url,
            }),
        }
    }

    /// Names the bound address as the public URL when none was configured
    /// (the first call wins; later ones change nothing, by design).
    pub fn default_public_url(&self, url: &str) {
        let _ = self.inner.public_url.set(url.to_owned());
    }

    /// The portal's public base URL.
    pub fn public_url(&self) -> &str {
        self.inner
            .public_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1:8080")
    }

    /// Whether cookies carry `Secure` (always with an https public URL).
    pub fn secure_cookies(&self) -> bool {
        self.inner.config.secure_cookies
            || self
                .inner
                .config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// Where enclosed verifier binaries are kept, if anywhere.
    pub fn verifiers_dir(&self) -> Option<std::path::PathBuf> {
        self.inner.config.verifiers_dir.clone()
    }

    /// What the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Largest accepted release push body, bytes.
    pub fn push_body_limit(&self) -> usize {
        self.inner.config.push_body_limit
    }

    /// The token that reads `/metrics` on the public listener, if any.
    pub fn metrics_token(&self) -> Option<&str> {
        self.inner
            .config
            .metrics_token
            .as_deref()
            .filter(|t| !t.is_empty())
    }

    /// The OIDC discovery cache and IdP client.
    pub fn oidc(&self) -> &oidc::Oidc {
        &self.inner.oidc
    }

    /// The rate limits.
    pub fn limits(&self) -> &limits::Limits {
        &self.inner.limits
    }

    /// Failed sign-ins being gathered (`trail`).
    pub fn failures(&self) -> &trail::Failures {
        &self.inner.failures
    }

    /// The caches of models and exports.
    pub fn caches(&self) -> &cache::Caches {
        &self.inner.caches
    }

    /// A permit to run one SBOM ingest (at most one per core at once).
    pub async fn ingest_permit(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.inner
            .ingests
            .clone()
            .acquire_owned()
            .await
            .expect("the ingest semaphore is never closed")
    }

    /// The audit exports streaming now (limited per server and tenant).
    pub fn export_slots(&self) -> &audit::ExportSlots {
        &self.inner.exports
    }

    /// Held while a tenant's release push, first export or key change
    /// commits. Other tenants are not held up.
    pub async fn tenant_lock(&self, tenant: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.locks.lock(format!("tenant:{tenant}")).await
    }

    /// Held while one record (a customer) is read, changed and written, so
    /// concurrent edits cannot lose an update.
    pub async fn record_lock(&self, name: String) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.locks.lock(format!("record:{name}")).await
    }

    /// The records.
    pub fn store(&self) -> &Db {
        &self.inner.db
    }

    /// Metrics.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The public host that prefixes every log origin.
    pub fn public_host(&self) -> &str {
        &self.inner.config.public_host
    }

    /// The master key (seals every private key).
    pub fn master(&self) -> &keys::MasterKey {
        &self.inner.master
    }

    /// Where the server's RFC 3161 tokens come from.
    pub fn tsa(&self) -> &timestamps::Timestamps {
        &self.inner.tsa
    }

    /// The platform keys.
    pub fn keys(&self) -> &keys::PlatformKeys {
        &self.inner.keys
    }

    /// A tenant.
    pub fn tenant(&self, slug: &str) -> Result<Option<TenantRecord>, Error> {
        self.inner.db.tenant(slug)
    }

    /// All tenants.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>, Error> {
        self.inner.db.tenants()
    }

    /// The log of a tenant, opened (and its integrator started) on first
    /// use, with its own key (or the platform key, for a log created before
    /// each log had its own and not moved since).
    pub fn log(&self, tenant: &str) -> Result<Log, Error> {
        log_keys::open(
            &self.inner.db,
            &self.inner.master,
            &self.inner.keys.log_key,
            tenant,
        )
    }

    /// The log of a tenant that exists; 404 otherwise.
    pub fn tenant_log(&self, tenant: &str) -> Result<Log, Error> {
        if self.tenant(tenant)?.is_none() {
            return Err(Error::not_found());
        }
        self.log(tenant)
    }

    /// Appends an event with the state change it records, in one batch.
    pub async fn record(
        &self,
        tenant: &str,
        actor: Actor,
        event: EventBody,
        ops: Vec<AppOp>,
    ) -> Result<u64, Error> {
        self.record_indexed(tenant, vec![(actor, event)], ops, Vec::new())
            .await
    }

    /// Appends several events at consecutive indexes with `ops`, and the
    /// first index under each of `index_keys`, in one batch
    /// (`store::Db::commit`).
    pub async fn record_indexed(
        &self,
        tenant: &str,
        events: Vec<(Actor, EventBody)>,
        ops: Vec<AppOp>,
        index_keys: Vec<Vec<u8>>,
    ) -> Result<u64, Error> {
        let log = self.log(tenant)?;
        self.inner
            .db
            .commit(&log, tenant, events, ops, index_keys)
            .await
    }

    /// Closes the store once this is the last handle (the router dropped),
    /// so the data directory can be opened again in the same process.
    pub async fn close(self) -> anyhow::Result<()> {
        let inner = Arc::try_unwrap(self.inner)
            .map_err(|_| anyhow::anyhow!("the state is still shared; drop the router first"))?;
        Ok(inner.db.into_store().close().await?)
    }
}

/// Runs blocking work on tokio's blocking pool; a task that panicked is an
/// internal error.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("{what} task failed: {e}")))?
}

/// `bytes` random bytes from the OS, as hex: the ids of records.
pub(crate) fn random_hex(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
