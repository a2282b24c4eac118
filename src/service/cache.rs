//! In-memory caches and named locks of the services. Exports and models
//! are byte-stable and immutable once made, so caching them never serves
//! stale bytes; both caches are bounded by bytes, not by count.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use bytes::Bytes;

/// The default byte budget of the model cache (a 10k-component model is
/// about 10 MB in memory).
pub const DEFAULT_MODEL_CACHE_BYTES: usize = 256 << 20;
/// The byte budget of the export cache.
pub const EXPORT_CACHE_BYTES: usize = 128 << 20;
/// The largest single export kept in memory: room for the SPDX JSON of a
/// 10,000-component SBOM (9,776 KiB), which was otherwise written again
/// for every request (docs/performance.md). Eviction is oldest first.
pub const EXPORT_CACHE_MAX_ENTRY: usize = 16 << 20;

/// Values with a size, oldest out first until the total fits the budget.
#[derive(Debug)]
pub struct SizedCache<V> {
    map: HashMap<String, (V, usize)>,
    order: VecDeque<String>,
    bytes: usize,
    budget: usize,
    max_entry: usize,
}

impl<V: Clone> SizedCache<V> {
    /// A cache of at most `budget` bytes whose entries are at most `max_entry`.
    pub fn new(budget: usize, max_entry: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
            max_entry: max_entry.min(budget),
        }
    }

    /// A cached value.
    pub fn get(&self, key: &str) -> Option<V> {
        self.map.get(key).map(|(v, _)| v.clone())
    }

    /// Caches `value` of `size` bytes (not at all when larger than an
    /// entry may be).
    pub fn put(&mut self, key: &str, value: V, size: usize) {
        if size > self.max_entry || self.map.contains_key(key) {
            return;
        }
        while self.bytes + size > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, s)) = self.map.remove(&old) {
                self.bytes -= s;
            }
        }
        self.map.insert(key.to_owned(), (value, size));
        self.order.push_back(key.to_owned());
        self.bytes += size;
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The caches of models and export bytes.
#[derive(Debug)]
pub struct Caches {
    models: Mutex<SizedCache<Arc<evident_sbom::Model>>>,
    exports: Mutex<SizedCache<(Bytes, [u8; 32])>>,
}

impl Caches {
    /// Caches with these budgets.
    pub fn new(model_bytes: usize) -> Self {
        Self {
            models: Mutex::new(SizedCache::new(model_bytes, model_bytes)),
            exports: Mutex::new(SizedCache::new(EXPORT_CACHE_BYTES, EXPORT_CACHE_MAX_ENTRY)),
        }
    }

    /// A cached model, by SBOM SHA-256.
    pub fn model(&self, sha: &str) -> Option<Arc<evident_sbom::Model>> {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sha)
    }

    /// Caches a model whose stored JSON is `json_len` bytes. In memory a
    /// model takes about twice its JSON (strings, vectors, maps and their
    /// headers).
    pub fn put_model(&self, sha: &str, m: Arc<evident_sbom::Model>, json_len: usize) {
        let size = json_len.saturating_mul(2).max(1024);
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(sha, m, size);
    }

    /// The estimated bytes the model cache holds.
    pub fn model_bytes(&self) -> usize {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes()
    }

    /// Cached export bytes and SHA-256, by export path.
    pub fn export(&self, key: &str) -> Option<(Bytes, [u8; 32])> {
        self.exports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
    }

    /// Caches export bytes (very large exports are not kept).
    pub fn put_export(&self, key: &str, bytes: Bytes, sha: [u8; 32]) {
        let n = bytes.len();
        self.exports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, (bytes, sha), n);
    }
}

/// Locks by name, made on first use. The names are tenants and records,
/// which exist in bounded numbers; unused locks are pruned.
#[derive(Debug, Default)]
pub struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    /// Waits for and holds the lock `name` (owned, so a spawned task can
    /// hold it until its batch has committed).
    pub async fn lock(&self, name: String) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > 4096 {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(name).or_default().clone()
        };
        m.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_caches_evict_oldest_and_refuse_the_oversized() {
        let mut c = SizedCache::new(100, 60);
        c.put("a", 1, 40);
        c.put("b", 2, 40);
        c.put("c", 3, 40);
        assert_eq!(c.get("a"), None, "the oldest went");
        assert_eq!((c.get("b"), c.get("c")), (Some(2), Some(3)));
        assert!(c.bytes() <= 100);
        c.put("big", 4, 61);
        assert_eq!(c.get("big"), None);
    }
}
