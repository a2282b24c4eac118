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
    /// Serialises the commit step of release pushes and first exports, so
    /// revisions are numbered without gaps and an export is logged once.
    releases: Arc<tokio::sync::Mutex<()>>,
    /// Largest accepted release push body, bytes.
    push_body_limit: usize,
    /// Recently used SBOM models by SBOM SHA-256 (they never change).
    models: Mutex<ModelCache>,
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
}

/// Models by SBOM SHA-256, and their insertion order.
type ModelCache = (
    HashMap<String, Arc<evident_sbom::Model>>,
    std::collections::VecDeque<String>,
);

/// Models kept in memory; a 10k-component model is a few MB.
const MODEL_CACHE: usize = 32;

/// Export bytes by revision and format, and their insertion order.
type ExportCache = (
    HashMap<String, (Bytes, [u8; 32])>,
    std::collections::VecDeque<String>,
);

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
                releases: Arc::new(tokio::sync::Mutex::new(())),
                push_body_limit: crate::DEFAULT_PUSH_BODY_BYTES,
                models: Mutex::default(),
                exports: Mutex::default(),
                oidc: crate::oidc::Oidc::default(),
                public_url: std::sync::OnceLock::new(),
                secure_cookies: false,
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

    /// The OIDC discovery cache.
    pub fn oidc(&self) -> &crate::oidc::Oidc {
        &self.inner.oidc
    }

    /// Largest accepted release push body, bytes.
    pub fn push_body_limit(&self) -> usize {
        self.inner.push_body_limit
    }

    /// A cached model, by SBOM SHA-256.
    pub fn cached_model(&self, sha: &str) -> Option<Arc<evident_sbom::Model>> {
        let m = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        m.0.get(sha).cloned()
    }

    /// Caches a model (oldest out first).
    pub fn cache_model(&self, sha: &str, model: Arc<evident_sbom::Model>) {
        let mut m = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        if m.0.insert(sha.to_owned(), model).is_none() {
            m.1.push_back(sha.to_owned());
            while m.1.len() > MODEL_CACHE {
                if let Some(old) = m.1.pop_front() {
                    m.0.remove(&old);
                }
            }
        }
    }

    /// Cached export bytes and SHA-256 for a revision and format.
    pub fn cached_export(&self, key: &str) -> Option<(Bytes, [u8; 32])> {
        let c = self.inner.exports.lock().unwrap_or_else(|e| e.into_inner());
        c.0.get(key).cloned()
    }

    /// Deletes, in one batch, every application record under `prefix` whose
    /// value `dead` condemns; returns how many went.
    pub fn delete_where(
        &self,
        prefix: &[u8],
        dead: impl Fn(&[u8]) -> bool,
    ) -> Result<usize, ApiError> {
        let keys: Vec<Vec<u8>> = self
            .store()
            .app_scan(prefix)?
            .into_iter()
            .filter(|(_, v)| dead(v))
            .map(|(k, _)| k)
            .collect();
        let ops: Vec<(&[u8], Option<&[u8]>)> = keys.iter().map(|k| (k.as_slice(), None)).collect();
        if !ops.is_empty() {
            self.store().app_write(&ops)?;
        }
        Ok(keys.len())
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

    /// Held while a release push or a first export commits.
    pub async fn release_lock(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.releases.clone().lock_owned().await
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

    /// The log of a tenant, opened (and its integrator started) on first use.
    pub fn log(&self, tenant: &str) -> Result<Log, ApiError> {
        Ok(self
            .inner
            .store
            .open_log(tenant, &self.inner.keys.log_key)?)
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
        let time = crate::events::rfc3339(now_unix());
        let leaves = events
            .into_iter()
            .map(|(actor, event)| {
                LogEvent {
                    v: EVENT_VERSION,
                    time: time.clone(),
                    tenant: tenant.to_owned(),
                    actor,
                    event,
                }
                .to_leaf()
            })
            .collect();
        Ok(self
            .log(tenant)?
            .append_indexed(leaves, ops, index_keys)
            .await?)
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
