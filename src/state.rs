//! Shared server state: the store, the platform keys, and record access.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::body::Bytes;
use evident_log::{AppOp, Log, Store};
use serde::{Deserialize, Serialize};

use crate::{
    auth::TokenRecord,
    error::ApiError,
    events::{now_unix, Actor, EventBody, LogEvent, EVENT_VERSION},
    keys::PlatformKeys,
    metrics::Metrics,
};

/// A tenant as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantRecord {
    /// URL-safe identifier.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The log's checkpoint origin.
    pub origin: String,
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    /// The built-in TSA, or the external one that replaces it.
    tsa: crate::timestamps::Timestamps,
    /// Seals and opens tenant keys.
    master: crate::keys::MasterKey,
    keys: PlatformKeys,
    public_host: String,
    metrics: Arc<Metrics>,
    /// Last `last_used_at` written per token id, so a busy token is written
    /// at most once a minute.
    touched: Mutex<HashMap<String, i64>>,
    /// Serialises tenant creation, so two requests for one slug cannot both create it.
    creating: Arc<tokio::sync::Mutex<()>>,
    /// Named locks: per tenant (the commit step of release pushes, first
    /// exports and key changes, so revisions are numbered without gaps and
    /// an export is logged once), per customer (edits), and so on.
    locks: KeyedLocks,
    /// At most this many SBOM ingests run at once (each holds a document
    /// and its model in memory).
    ingests: Arc<tokio::sync::Semaphore>,
    /// Largest accepted release push body, bytes.
    push_body_limit: usize,
    /// Recently used SBOM models by SBOM SHA-256 (they never change),
    /// bounded by their estimated size in bytes.
    models: Mutex<ModelCache>,
    /// The byte budget of `models`.
    model_cache_bytes: usize,
    /// Recently served export bytes and their SHA-256, by
    /// `<tenant>/<product>/<tag>/<revision>/<format>` (exports are byte-stable).
    exports: Mutex<ExportCache>,
    /// OIDC discovery and JWKS cache.
    oidc: crate::oidc::Oidc,
    /// The portal's external base URL (OIDC redirect URIs); set by
    /// `--public-url`, else the listen address once bound.
    public_url: std::sync::OnceLock<String>,
    /// Mark cookies `Secure`.
    secure_cookies: bool,
    /// Serialises [`AppState::put_once`]'s check-and-write.
    put_once: Mutex<()>,
    /// Rate limits of anonymous endpoints and failed authentications.
    limits: crate::limits::Limits,
    /// The bearer token that may read `/metrics` on the public listener
    /// (`None`: `/metrics` is not served there).
    metrics_token: Option<String>,
}

/// Models by SBOM SHA-256 with their estimated size, their insertion
/// order, and the total of the sizes.
#[derive(Debug, Default)]
struct ModelCache {
    map: HashMap<String, (Arc<evident_sbom::Model>, usize)>,
    order: std::collections::VecDeque<String>,
    bytes: usize,
}

/// The default byte budget of the model cache (a 10k-component model is
/// about 10 MB in memory).
pub const DEFAULT_MODEL_CACHE_BYTES: usize = 256 << 20;

/// Locks by name, made on first use. The names are tenants, customers and
/// releases, which exist in bounded numbers; an unused lock is dropped when
/// the map is pruned.
#[derive(Debug, Default)]
struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    async fn lock(&self, name: String) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > 4096 {
                // Drop the locks nobody holds or waits for.
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(name).or_default().clone()
        };
        m.lock_owned().await
    }
}

/// Export bytes by revision and format, and their insertion order.
type ExportCache = (
    HashMap<String, (Bytes, [u8; 32])>,
    std::collections::VecDeque<String>,
);

/// How many records a sweep reads at once.
pub const SWEEP_PAGE: usize = 1000;

/// Exports kept in memory, and the largest one kept.
const EXPORT_CACHE: usize = 64;
const EXPORT_CACHE_MAX_BYTES: usize = 8 << 20;

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records are plain data")
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Store,
        keys: PlatformKeys,
        tsa: crate::tsa::Tsa,
        master: crate::keys::MasterKey,
        public_host: String,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                tsa: crate::timestamps::Timestamps::new(tsa, None),
                master,
                keys,
                public_host,
                metrics,
                touched: Mutex::default(),
                creating: Arc::new(tokio::sync::Mutex::new(())),
                locks: KeyedLocks::default(),
                ingests: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                )),
                push_body_limit: crate::DEFAULT_PUSH_BODY_BYTES,
                models: Mutex::default(),
                model_cache_bytes: DEFAULT_MODEL_CACHE_BYTES,
                exports: Mutex::default(),
                oidc: crate::oidc::Oidc::default(),
                public_url: std::sync::OnceLock::new(),
                secure_cookies: false,
                put_once: Mutex::new(()),
                limits: crate::limits::Limits::new(crate::limits::LimitConfig::default()),
                metrics_token: None,
            }),
        }
    }

    /// Sets the largest accepted release push body. Call before serving
    /// (while this is the only handle).
    pub fn with_push_body_limit(mut self, bytes: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.push_body_limit = bytes;
        }
        self
    }

    /// Takes the server's tokens from an external TSA instead of the
    /// built-in one. Call before serving (while this is the only handle).
    pub fn with_external_tsa(mut self, external: crate::timestamps::ExternalTsa) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.tsa.set_external(external);
        }
        self
    }

    /// Sets the portal's public base URL (`https://evidence.example.com`)
    /// and whether cookies are `Secure` (always when the URL is https).
    /// Call before serving (while this is the only handle).
    pub fn with_web(mut self, public_url: Option<String>, secure_cookies: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            let https = public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
            inner.secure_cookies = secure_cookies || https;
            if let Some(u) = public_url {
                let _ = inner.public_url.set(u.trim_end_matches('/').to_owned());
            }
        }
        self
    }

    /// The public base URL unless one was configured (the bound address).
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

    /// Whether cookies carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies
    }

    /// Sets the rate limits. Call before serving.
    pub fn with_limits(mut self, config: crate::limits::LimitConfig) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.limits = crate::limits::Limits::new(config);
        }
        self
    }

    /// Allows `http://` IdPs on loopback (tests and local IdPs). Call
    /// before serving.
    pub fn with_http_idp_on_loopback(mut self, allow: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.oidc = crate::oidc::Oidc::new(allow);
        }
        self
    }

    /// Serves `/metrics` on the public listener to holders of `token`
    /// (without one it is not served there). Call before serving.
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.metrics_token = token.filter(|t| !t.is_empty());
        }
        self
    }

    /// The token that reads `/metrics` on the public listener, if any.
    pub fn metrics_token(&self) -> Option<&str> {
        self.inner.metrics_token.as_deref()
    }

    /// The rate limits.
    pub fn limits(&self) -> &crate::limits::Limits {
        &self.inner.limits
    }

    /// Stores `value` under `key` unless a value is there already, and
    /// returns what is stored: so concurrent first requests for a timestamp
    /// (or anything made once) all get the same bytes. Blocking.
    pub fn put_once(&self, key: &[u8], value: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        let _one = self
            .inner
            .put_once
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(v) = self.store().app_get(key)? {
            return Ok(v);
        }
        self.store().app_write(&[(key, Some(value.as_slice()))])?;
        Ok(value)
    }

    /// The OIDC discovery cache.
    pub fn oidc(&self) -> &crate::oidc::Oidc {
        &self.inner.oidc
    }

    /// Largest accepted release push body, bytes.
    pub fn push_body_limit(&self) -> usize {
        self.inner.push_body_limit
    }

    /// Sets the byte budget of the model cache. Call before serving.
    pub fn with_model_cache_bytes(mut self, bytes: usize) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.model_cache_bytes = bytes;
        }
        self
    }

    /// A cached model, by SBOM SHA-256.
    pub fn cached_model(&self, sha: &str) -> Option<Arc<evident_sbom::Model>> {
        let m = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        m.map.get(sha).map(|(m, _)| m.clone())
    }

    /// Caches a model whose stored JSON is `json_len` bytes (oldest out
    /// first, until the estimated total fits the byte budget; a model
    /// larger than the whole budget is not kept).
    pub fn cache_model(&self, sha: &str, model: Arc<evident_sbom::Model>, json_len: usize) {
        // In memory a model takes about twice its JSON (strings, vectors,
        // maps and their headers).
        let size = json_len.saturating_mul(2).max(1024);
        let budget = self.inner.model_cache_bytes;
        if size > budget {
            return;
        }
        let mut m = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        if m.map.contains_key(sha) {
            return;
        }
        while m.bytes + size > budget {
            let Some(old) = m.order.pop_front() else {
                break;
            };
            if let Some((_, s)) = m.map.remove(&old) {
                m.bytes -= s;
            }
        }
        m.map.insert(sha.to_owned(), (model, size));
        m.order.push_back(sha.to_owned());
        m.bytes += size;
    }

    /// The estimated bytes the model cache holds now.
    pub fn model_cache_bytes(&self) -> usize {
        self.inner
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
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

    /// Cached export bytes and SHA-256 for a revision and format.
    pub fn cached_export(&self, key: &str) -> Option<(Bytes, [u8; 32])> {
        let c = self.inner.exports.lock().unwrap_or_else(|e| e.into_inner());
        c.0.get(key).cloned()
    }

    /// Deletes every application record under `prefix` whose value `dead`
    /// condemns; returns how many went. Reads and deletes in pages of
    /// [`SWEEP_PAGE`] records, so a large prefix is never held at once.
    pub fn delete_where(
        &self,
        prefix: &[u8],
        dead: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Result<usize, ApiError> {
        let mut after: Option<Vec<u8>> = None;
        let mut n = 0;
        loop {
            let page = self
                .store()
                .app_scan_page(prefix, after.as_deref(), SWEEP_PAGE)?;
            let Some((last, _)) = page.last() else {
                return Ok(n);
            };
            after = Some(last.clone());
            let keys: Vec<&[u8]> = page
                .iter()
                .filter(|(k, v)| dead(k, v))
                .map(|(k, _)| k.as_slice())
                .collect();
            if !keys.is_empty() {
                let ops: Vec<(&[u8], Option<&[u8]>)> = keys.iter().map(|k| (*k, None)).collect();
                self.store().app_write(&ops)?;
                n += keys.len();
            }
            if page.len() < SWEEP_PAGE {
                return Ok(n);
            }
        }
    }

    /// Caches export bytes (oldest out first; very large exports are not kept).
    pub fn cache_export(&self, key: &str, bytes: Bytes, sha: [u8; 32]) {
        if bytes.len() > EXPORT_CACHE_MAX_BYTES {
            return;
        }
        let mut c = self.inner.exports.lock().unwrap_or_else(|e| e.into_inner());
        if c.0.insert(key.to_owned(), (bytes, sha)).is_none() {
            c.1.push_back(key.to_owned());
            while c.1.len() > EXPORT_CACHE {
                if let Some(old) = c.1.pop_front() {
                    c.0.remove(&old);
                }
            }
        }
    }

    /// Held while a tenant's release push, first export or key change
    /// commits (owned, so a spawned task can hold it until its batch has
    /// committed). Other tenants are not held up.
    pub async fn tenant_lock(&self, tenant: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.locks.lock(format!("tenant/{tenant}")).await
    }

    /// Held while one record (a customer, a session…) is read, changed and
    /// written, so concurrent edits cannot lose an update.
    pub async fn record_lock(&self, name: String) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.locks.lock(format!("record/{name}")).await
    }

    /// Closes the store once this is the last handle (the router dropped),
    /// so the data directory can be opened again in the same process.
    pub async fn close(self) -> anyhow::Result<()> {
        let inner = Arc::try_unwrap(self.inner)
            .map_err(|_| anyhow::anyhow!("the state is still shared; drop the router first"))?;
        Ok(inner.store.close().await?)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The public host that prefixes every log origin.
    pub fn public_host(&self) -> &str {
        &self.inner.public_host
    }

    /// Loads a token record, with its last use.
    pub fn token(&self, id: &str) -> evident_log::Result<Option<TokenRecord>> {
        let Some(mut rec) = self
            .inner
            .store
            .app_get(format!("token/{id}").as_bytes())?
            .and_then(|v| serde_json::from_slice::<TokenRecord>(&v).ok())
        else {
            return Ok(None);
        };
        if let Some(v) = self
            .inner
            .store
            .app_get(format!("token-used/{id}").as_bytes())?
        {
            rec.last_used_at = v.as_slice().try_into().ok().map(i64::from_be_bytes);
        }
        Ok(Some(rec))
    }

    /// The writes that store a token record (and its tenant index entry).
    pub fn token_ops(rec: &TokenRecord) -> Vec<AppOp> {
        let mut ops = vec![(format!("token/{}", rec.id).into_bytes(), Some(json(rec)))];
        if let Some(t) = &rec.tenant {
            ops.push((
                format!("tenant-token/{t}/{}", rec.id).into_bytes(),
                Some(Vec::new()),
            ));
        }
        ops
    }

    /// Every token of a tenant.
    pub fn tenant_tokens(&self, tenant: &str) -> evident_log::Result<Vec<TokenRecord>> {
        let prefix = format!("tenant-token/{tenant}/");
        let mut out = Vec::new();
        for (k, _) in self.inner.store.app_scan(prefix.as_bytes())? {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Some(t) = self.token(&id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Records that a token was used, at most once a minute per token.
    pub fn touch_token(&self, rec: &TokenRecord, now: i64) {
        {
            let mut t = self.inner.touched.lock().unwrap_or_else(|e| e.into_inner());
            let last = t
                .get(&rec.id)
                .copied()
                .or(rec.last_used_at)
                .unwrap_or(i64::MIN);
            if now.saturating_sub(last) < 60 {
                return;
            }
            t.insert(rec.id.clone(), now);
        }
        // Its own key, so this write can never undo a concurrent revocation.
        let key = format!("token-used/{}", rec.id);
        if let Err(e) = self
            .inner
            .store
            .app_write(&[(key.as_bytes(), Some(&now.to_be_bytes()))])
        {
            tracing::warn!(token = %rec.id, error = %e, "could not record token use");
        }
    }

    /// Loads a tenant.
    pub fn tenant(&self, slug: &str) -> evident_log::Result<Option<TenantRecord>> {
        Ok(self
            .inner
            .store
            .app_get(format!("tenant/{slug}").as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// The write that stores a tenant record.
    pub fn tenant_ops(t: &TenantRecord) -> Vec<AppOp> {
        vec![(format!("tenant/{}", t.slug).into_bytes(), Some(json(t)))]
    }

    /// All tenants.
    pub fn tenants(&self) -> evident_log::Result<Vec<TenantRecord>> {
        Ok(self
            .inner
            .store
            .app_scan(b"tenant/")?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect())
    }

    /// The log of a tenant, opened (and its integrator started) on first
    /// use, with its own key (or the platform key, for a log created before
    /// each log had its own and not moved since).
    pub fn log(&self, tenant: &str) -> Result<Log, ApiError> {
        crate::log_keys::open(
            &self.inner.store,
            &self.inner.master,
            &self.inner.keys.log_key,
            tenant,
        )
    }

    /// The log of a tenant that the caller has already been checked against;
    /// a tenant that does not exist is a 404.
    pub fn tenant_log(&self, tenant: &str) -> Result<Log, ApiError> {
        if self.tenant(tenant)?.is_none() {
            return Err(ApiError::not_found());
        }
        self.log(tenant)
    }

    /// Appends an event to a tenant's log together with the state change it
    /// records (`ops`, one atomic batch); returns its index once durable.
    pub async fn record(
        &self,
        tenant: &str,
        actor: Actor,
        event: EventBody,
        ops: Vec<AppOp>,
    ) -> Result<u64, ApiError> {
        self.record_all(tenant, vec![(actor, event)], ops).await
    }

    /// Appends several events at consecutive indexes with `ops`, all in one
    /// atomic batch; returns the first index once durable.
    pub async fn record_all(
        &self,
        tenant: &str,
        events: Vec<(Actor, EventBody)>,
        ops: Vec<AppOp>,
    ) -> Result<u64, ApiError> {
        self.record_indexed(tenant, events, ops, Vec::new()).await
    }

    /// Like [`AppState::record_all`], and writes the first event's index
    /// (8 bytes, big-endian) under each of `index_keys` in the same batch.
    pub async fn record_indexed(
        &self,
        tenant: &str,
        events: Vec<(Actor, EventBody)>,
        ops: Vec<AppOp>,
        index_keys: Vec<Vec<u8>>,
    ) -> Result<u64, ApiError> {
        let leaves = events
            .into_iter()
            .map(|(actor, event)| Self::event_leaf(tenant, actor, event))
            .collect();
        Ok(self
            .log(tenant)?
            .append_indexed(leaves, ops, index_keys)
            .await?)
    }

    /// The leaf of one event of `tenant`'s log, stamped now.
    pub fn event_leaf(tenant: &str, actor: Actor, event: EventBody) -> Vec<u8> {
        LogEvent {
            v: EVENT_VERSION,
            time: crate::events::rfc3339(now_unix()),
            tenant: tenant.to_owned(),
            actor,
            event,
        }
        .to_leaf()
    }

    /// Held while a tenant is being created (owned, so a spawned task can
    /// hold it until its batch has committed).
    pub async fn creation_lock(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.creating.clone().lock_owned().await
    }

    /// The master key (seals tenant export keys).
    pub fn master(&self) -> &crate::keys::MasterKey {
        &self.inner.master
    }

    /// Where the server's RFC 3161 tokens come from.
    pub fn tsa(&self) -> &crate::timestamps::Timestamps {
        &self.inner.tsa
    }

    /// The platform keys.
    pub fn keys(&self) -> &PlatformKeys {
        &self.inner.keys
    }
}
