//! The RocksDB store: many logs in one database, one integrator per log.
//!
//! Column families:
//! - `leaves`: `log id ‖ index` → leaf bytes;
//! - `nodes`: `log id ‖ level ‖ index` → 32-byte stored subtree hash;
//! - `checkpoints`: `log id ‖ size` → the signed checkpoint note published at that size;
//! - `meta`: log names, ids, origins and committed sizes;
//! - `app`: an opaque key-value space for the server's own records.
//!
//! All integers are big-endian so that keys sort in index order. A batch of
//! appends, the nodes it completes, the new size and (if due) a checkpoint are
//! one `WriteBatch` written with `sync = true`: one WAL sync for the batch, and
//! either all of it survives a crash or none of it does.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, RwLock,
    },
    time::{Duration, Instant},
};

use ed25519_dalek::{SigningKey, VerifyingKey};
use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{leaf_hash, Hash},
    note::{NoteSigner, NoteVerifier},
};
use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Direction,
    IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    cache::ReadCache,
    counter::{Counter, CounterRef},
    error::{LogError, Result},
    tree::{self, Frontier, HashReader, NodeId},
};

const CF_LEAVES: &str = "leaves";
const CF_NODES: &str = "nodes";
const CF_CHECKPOINTS: &str = "checkpoints";
const CF_META: &str = "meta";
const CF_APP: &str = "app";
const CF_COUNTERS: &str = "counters";

/// What one leaf is indexed under: index key prefixes, and counter adds.
pub type Indexed = (Vec<Vec<u8>>, Vec<(Vec<u8>, Counter)>);

/// Adds puts (`Some`) and deletes (`None`) of application keys to `wb`.
fn put_app_ops<'a>(
    wb: &mut WriteBatch,
    app: &impl rocksdb::AsColumnFamilyRef,
    ops: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
) {
    for (k, v) in ops {
        match v {
            Some(v) => wb.put_cf(app, k, v),
            None => wb.delete_cf(app, k),
        }
    }
}

/// The `counters` column family's merge (see [`crate::counter`]).
fn merge_counters(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    Some(crate::counter::merge(existing, operands.iter()))
}

/// tlog-tiles entry bundles prefix each entry with a big-endian uint16 length.
pub const MAX_LEAF_BYTES: usize = u16::MAX as usize;

/// The most append commands one batch takes; more wait for the next batch.
const MAX_BATCH: usize = 4096;

/// Receives what each committed batch did, for metrics.
pub trait Observer: Send + Sync + 'static {
    /// Called after a batch is durable. `waits` holds, per entry, the time
    /// from `append` being called to the entry being durable.
    fn batch_committed(&self, log: &str, entries: usize, commit: Duration, waits: &[Duration]);
}

/// Derives secondary index keys from a leaf, written in the batch that
/// appends it. For every key `k` that [`Indexer::keys`] returns for the
/// leaf at index `i`, the batch puts `k ‖ i` (8 bytes, big-endian) with an
/// empty value in the application key space, so an index can never name an
/// entry that is not durable, nor miss one that is.
pub trait Indexer: Send + Sync + 'static {
    /// The key prefixes to index the leaf `leaf` of log `log` under
    /// (none for a leaf that is not indexed).
    fn keys(&self, log: &str, leaf: &[u8]) -> Vec<Vec<u8>>;

    /// Counters the leaf adds to, each with what it adds: merged (summed,
    /// member sets united) into the `counters` key space in the same batch,
    /// so a count over many entries is one read of one key.
    fn counters(&self, _log: &str, _leaf: &[u8]) -> Vec<(Vec<u8>, Counter)> {
        Vec::new()
    }

    /// Both of the above for one leaf (what the append batch calls): an
    /// indexer that parses the leaf overrides it to parse it once.
    fn index(&self, log: &str, leaf: &[u8]) -> Indexed {
        (self.keys(log, leaf), self.counters(log, leaf))
    }
}

/// All memtables together, bytes (see [`Store::open`]).
const MEMTABLE_BYTES: usize = 64 << 20;

/// Store-wide settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Sync the WAL on every batch. Only benchmarks of the non-durable path turn this off.
    pub sync: bool,
    /// Publish a checkpoint with a batch when the last one is older than this.
    /// Checkpoints are also published on demand by [`Log::checkpoint`].
    pub checkpoint_interval: Duration,
    /// RocksDB block cache size in bytes.
    pub block_cache_bytes: usize,
    /// The application namespaces (key prefixes) whose decoded reads
    /// [`Store::app_get_cached`] and [`Store::app_scan_cached`] keep (see
    /// `log/src/cache.rs`); set at open, so every log's batches invalidate
    /// the one cache.
    pub read_cache_prefixes: Vec<Vec<u8>>,
    /// The read cache's budget, bytes (0: no cache).
    pub read_cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sync: true,
            checkpoint_interval: Duration::from_secs(1),
            block_cache_bytes: 32 << 20,
            read_cache_prefixes: Vec::new(),
            read_cache_bytes: 0,
        }
    }
}

/// RocksDB's memory, bytes (see [`Store::memory`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreMemory {
    /// In the block cache, memtables included (they are charged to it).
    pub cache_bytes: u64,
    /// The block cache's capacity: block cache plus the memtable budget.
    pub cache_capacity_bytes: u64,
    /// In memtables.
    pub memtable_bytes: u64,
    /// In table readers outside the cache.
    pub table_reader_bytes: u64,
}

/// One RocksDB database holding many independent logs.
#[derive(Clone)]
pub struct Store {
    db: Arc<DB>,
    opts: StoreOptions,
    open_logs: Arc<Mutex<HashMap<String, Log>>>,
    integrators: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    observer: Option<Arc<dyn Observer>>,
    indexer: Option<Arc<dyn Indexer>>,
    /// Decoded application records read on hot paths (see [`crate::cache`]).
    reads: Arc<ReadCache>,
    /// The block cache every column family shares (memtables are charged to it).
    cache: rocksdb::Cache,
    cache_capacity: u64,
    /// See [`Store::fail_commits`].
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn leaf_key(log: u64, index: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&be(log));
    k[8..].copy_from_slice(&be(index));
    k
}

pub(crate) fn node_key(log: u64, id: NodeId) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[..8].copy_from_slice(&be(log));
    k[8] = id.level;
    k[9..].copy_from_slice(&be(id.index));
    k
}

fn size_key(log: u64) -> Vec<u8> {
    [b"size/".as_slice(), &be(log)].concat()
}

fn read_u64(v: &[u8], what: &str) -> Result<u64> {
    let a: [u8; 8] = v.try_into().map_err(|_| LogError::Inconsistent {
        name: String::new(),
        reason: format!("{what} is {} bytes, not 8", v.len()),
    })?;
    Ok(u64::from_be_bytes(a))
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Self> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_compression_type(DBCompressionType::Lz4);
        db_opts.set_keep_log_file_num(4);
        // Memtables are charged to the block cache through one write buffer
        // manager, so memory stays within the cache's capacity whatever the
        // mix of column families written (five memtables of 32 MiB each, two
        // deep, would otherwise grow RSS by up to 320 MiB before the slow
        // ones first flush).
        let cache = rocksdb::Cache::new_lru_cache(opts.block_cache_bytes + MEMTABLE_BYTES);
        let wbm = rocksdb::WriteBufferManager::new_write_buffer_manager_with_cache(
            MEMTABLE_BYTES,
            false,
            cache.clone(),
        );
        db_opts.set_write_buffer_manager(&wbm);
        let cf = |name: &str| {
            let mut o = Options::default();
            o.set_compression_type(if name == CF_NODES {
                // Hashes do not compress; spend no CPU trying.
                DBCompressionType::None
            } else {
                DBCompressionType::Lz4
            });
            let mut b = BlockBasedOptions::default();
            b.set_block_cache(&cache);
            // Index and filter blocks live in the cache too (L0's pinned),
            // so table readers do not grow memory with the data. Both are
            // partitioned (a small pinned top level over 4 KiB pieces):
            // a whole-file filter of a large table is megabytes, and
            // once the cache cannot hold every one, each point read would
            // fetch and checksum a whole filter again.
            b.set_cache_index_and_filter_blocks(true);
            b.set_pin_l0_filter_and_index_blocks_in_cache(true);
            b.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
            b.set_partition_filters(true);
            b.set_metadata_block_size(4096);
            b.set_pin_top_level_index_and_filter(true);
            b.set_bloom_filter(10.0, false);
            o.set_block_based_table_factory(&b);
            o.set_write_buffer_size(32 << 20);
            if name == CF_COUNTERS {
                o.set_merge_operator_associative("evident-add-tallies", merge_counters);
            }
            ColumnFamilyDescriptor::new(name, o)
        };
        let cfs = [
            CF_LEAVES,
            CF_NODES,
            CF_CHECKPOINTS,
            CF_META,
            CF_APP,
            CF_COUNTERS,
        ]
        .map(cf);
        let cache_capacity = (opts.block_cache_bytes + MEMTABLE_BYTES) as u64;
        let db = DB::open_cf_descriptors(&db_opts, path, cfs)?;
        let reads = Arc::new(ReadCache::new(
            opts.read_cache_prefixes.clone(),
            opts.read_cache_bytes,
        ));
        Ok(Self {
            db: Arc::new(db),
            opts,
            open_logs: Arc::default(),
            integrators: Arc::default(),
            observer: None,
            indexer: None,
            reads,
            cache,
            cache_capacity,
            failing: Arc::default(),
        })
    }

    /// Sets the batch observer for logs opened from now on.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sets the secondary indexer for logs opened from now on.
    pub fn with_indexer(mut self, indexer: Arc<dyn Indexer>) -> Self {
        self.indexer = Some(indexer);
        self
    }

    /// The keys `leaf` of `log` is indexed under (each followed by the
    /// leaf's index), by the store's indexer: for audits and backfills.
    pub fn index_keys(&self, log: &str, index: u64, leaf: &[u8]) -> Vec<Vec<u8>> {
        self.indexer.as_ref().map_or_else(Vec::new, |ix| {
            ix.keys(log, leaf)
                .into_iter()
                .map(|mut k| {
                    k.extend_from_slice(&be(index));
                    k
                })
                .collect()
        })
    }

    /// The counters `leaf` of `log` adds to, by the store's indexer: for
    /// backfills and audits.
    pub fn counter_keys(&self, log: &str, leaf: &[u8]) -> Vec<(Vec<u8>, Counter)> {
        self.indexer
            .as_ref()
            .map_or_else(Vec::new, |ix| ix.counters(log, leaf))
    }

    /// Adds `adds` to the counters and writes `app_ops` (puts and
    /// deletes) to the application key space, in one durable batch.
    pub fn add_counters(&self, adds: &[(Vec<u8>, Counter)], app_ops: &[AppOp]) -> Result<()> {
        let mut wb = WriteBatch::default();
        let cf = self.cf(CF_COUNTERS);
        for (k, c) in adds {
            wb.merge_cf(cf, k, c.encode());
        }
        put_app_ops(
            &mut wb,
            self.cf(CF_APP),
            app_ops.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
        );
        self.write(wb)?;
        self.reads
            .invalidate(app_ops.iter().map(|(k, _)| k.as_slice()));
        Ok(())
    }

    /// Deletes the counters with keys in `[lower, upper)` and writes
    /// `app_ops`, in one durable batch (for counters of an older layout).
    pub fn delete_counters(&self, lower: &[u8], upper: &[u8], app_ops: &[AppOp]) -> Result<()> {
        let mut wb = WriteBatch::default();
        wb.delete_range_cf(self.cf(CF_COUNTERS), lower, upper);
        put_app_ops(
            &mut wb,
            self.cf(CF_APP),
            app_ops.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
        );
        self.write(wb)?;
        self.reads
            .invalidate(app_ops.iter().map(|(k, _)| k.as_slice()));
        Ok(())
    }

    /// Visits the counters with keys in `[lower, upper)`, in key order,
    /// until `visit` returns `false`.
    pub fn counters_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        mut visit: impl FnMut(&[u8], CounterRef<'_>) -> bool,
    ) -> Result<()> {
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        ro.set_iterate_upper_bound(upper.to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_COUNTERS), ro);
        it.seek_to_first();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !visit(k, CounterRef::decode(v)) {
                return Ok(());
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column family opened in Store::open")
    }

    /// Creates a new, empty log named `name` whose checkpoints carry `origin`.
    pub fn create_log(&self, name: &str, origin: &str) -> Result<()> {
        check_name(name)?;
        if origin.is_empty()
            || origin.contains('\n')
            || origin.contains('+')
            || origin.contains(' ')
        {
            return Err(LogError::BadName {
                name: origin.to_owned(),
                reason: "an origin is one line without spaces or '+'".into(),
            });
        }
        // Serialise log creation so two creators cannot take the same id.
        let _guard = self.open_logs.lock().unwrap_or_else(|e| e.into_inner());
        let meta = self.cf(CF_META);
        let name_key = [b"log/".as_slice(), name.as_bytes()].concat();
        if self.db.get_cf(meta, &name_key)?.is_some() {
            return Err(LogError::LogExists { name: name.into() });
        }
        let next = match self.db.get_cf(meta, b"next_log_id")? {
            Some(v) => read_u64(&v, "next_log_id")?,
            None => 1,
        };
        let mut wb = WriteBatch::default();
        wb.put_cf(meta, b"next_log_id", be(next + 1));
        wb.put_cf(meta, &name_key, be(next));
        wb.put_cf(
            meta,
            [b"origin/".as_slice(), &be(next)].concat(),
            origin.as_bytes(),
        );
        wb.put_cf(meta, size_key(next), be(0));
        self.write(wb)?;
        Ok(())
    }

    /// The log `name` if it is open already (no database read).
    pub fn cached_log(&self, name: &str) -> Option<Log> {
        self.open_logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The names of all logs in the store.
    pub fn log_names(&self) -> Result<Vec<String>> {
        let meta = self.cf(CF_META);
        let mut out = Vec::new();
        for kv in self.db.prefix_iterator_cf(meta, b"log/") {
            let (k, _) = kv?;
            let Some(n) = k.strip_prefix(b"log/") else {
                break;
            };
            out.push(String::from_utf8_lossy(n).into_owned());
        }
        Ok(out)
    }

    /// Opens the log `name`, signing checkpoints with `key`. The log's
    /// integrator task runs on the current tokio runtime. Opening the same
    /// name twice returns the same handle.
    pub fn open_log(&self, name: &str, key: &SigningKey) -> Result<Log> {
        self.open_log_with_history(name, key, &[])
    }

    /// Like [`Store::open_log`], for a log whose checkpoints were signed by
    /// other keys before `key` (see [`Log::rekey`]): checkpoints stored
    /// under any of `previous` still read and verify.
    pub fn open_log_with_history(
        &self,
        name: &str,
        key: &SigningKey,
        previous: &[VerifyingKey],
    ) -> Result<Log> {
        let mut logs = self.open_logs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = logs.get(name) {
            return Ok(l.clone());
        }
        let meta = self.cf(CF_META);
        let name_key = [b"log/".as_slice(), name.as_bytes()].concat();
        let id = match self.db.get_cf(meta, &name_key)? {
            Some(v) => read_u64(&v, "log id")?,
            None => return Err(LogError::NoSuchLog { name: name.into() }),
        };
        let origin = self
            .db
            .get_cf(meta, [b"origin/".as_slice(), &be(id)].concat())?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .ok_or_else(|| LogError::Inconsistent {
                name: name.into(),
                reason: "origin missing".into(),
            })?;
        let size = match self.db.get_cf(meta, size_key(id))? {
            Some(v) => read_u64(&v, "size")?,
            None => 0,
        };
        let signer = NoteSigner::new(&origin, key.clone())?;
        let previous = previous
            .iter()
            .map(|k| NoteVerifier::new(&origin, *k))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let reader = DbReader {
            db: self.db.clone(),
            log: id,
        };
        // Damaged stored data makes the log fail closed (it can still be
        // audited), rather than making it impossible to open.
        let mut fault = None;
        let frontier = Frontier::load(size, &reader).unwrap_or_else(|e| {
            fault = Some(format!(
                "the stored right edge of the tree is unreadable: {e}"
            ));
            Frontier::default()
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            id,
            origin,
            db: self.db.clone(),
            size: AtomicU64::new(size),
            latest: RwLock::new(None),
            keys: RwLock::new(LogKeys {
                current: signer.verifier().clone(),
                previous,
            }),
            fault: RwLock::new(None),
            failing: self.failing.clone(),
            indexer: self.indexer.clone(),
            reads: self.reads.clone(),
        });
        let log = Log { inner, tx };
        // Load and check the latest published checkpoint before signing anything new.
        let latest = log.latest_stored_checkpoint().unwrap_or_else(|e| {
            fault = Some(format!(
                "the newest published checkpoint is unreadable: {e}"
            ));
            None
        });
        if let Some(cp) = &latest {
            if cp.size > size {
                fault = Some(format!(
                    "published checkpoint has size {} but the tree has {size}",
                    cp.size
                ));
            } else {
                let r = tree::root(cp.size, &reader);
                if r.as_ref().ok() != Some(&cp.root) {
                    fault = Some(format!(
                        "published checkpoint at size {} does not match the stored tree",
                        cp.size
                    ));
                }
            }
        }
        *log.inner.latest.write().unwrap_or_else(|e| e.into_inner()) = latest;
        if let Some(f) = &fault {
            tracing::error!(log = name, fault = %f, "log fails closed; run `evident log audit`");
        }
        *log.inner.fault.write().unwrap_or_else(|e| e.into_inner()) = fault;
        let integrator = Integrator {
            log: log.inner.clone(),
            frontier,
            signer: Arc::new(signer),
            opts: self.opts.clone(),
            last_checkpoint: Instant::now(),
            observer: self.observer.clone(),
        };
        self.integrators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tokio::spawn(integrator.run(rx)));
        logs.insert(name.to_owned(), log.clone());
        Ok(log)
    }

    /// Stops every integrator (after the batches already queued), and closes
    /// the database so the same path can be opened again at once. Appends
    /// sent after this answer [`LogError::Closed`]. Every other `Store` clone
    /// and every [`Log`] handle must be dropped first: otherwise the database
    /// stays open and this answers [`LogError::InUse`].
    pub async fn close(self) -> Result<()> {
        let logs: Vec<Log> = {
            let mut m = self.open_logs.lock().unwrap_or_else(|e| e.into_inner());
            m.drain().map(|(_, l)| l).collect()
        };
        for l in &logs {
            let _ = l.tx.send(Cmd::Stop);
        }
        drop(logs);
        let handles =
            std::mem::take(&mut *self.integrators.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.await;
        }
        Arc::try_unwrap(self.db)
            .map(drop)
            .map_err(|db| LogError::InUse {
                path: db.path().display().to_string(),
            })
    }

    fn write(&self, wb: WriteBatch) -> Result<()> {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.opts.sync);
        self.db.write_opt(wb, &wo)?;
        Ok(())
    }

    /// Reads a key from the application key space.
    pub fn app_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_APP), key)?)
    }

    /// `decode` of what [`Store::app_get`] reads under `key`, kept decoded
    /// in the read cache when `key` is in a cached namespace
    /// ([`StoreOptions::read_cache_prefixes`]) until a write of the key.
    /// An absent key is not kept (so made-up keys cannot fill the cache).
    pub fn app_get_cached<T: Send + Sync + 'static>(
        &self,
        key: &[u8],
        decode: impl FnOnce(Option<&[u8]>) -> T,
    ) -> Result<Arc<T>> {
        self.read_cached(false, key, || {
            let raw = self.app_get(key)?;
            Ok((decode(raw.as_deref()), raw.as_ref().map(Vec::len)))
        })
    }

    /// `decode` of what [`Store::app_scan`] reads under `prefix`, kept
    /// decoded in the read cache when the prefix ends in `/` and is in a
    /// cached namespace, until a write of any key under it.
    pub fn app_scan_cached<T: Send + Sync + 'static>(
        &self,
        prefix: &[u8],
        decode: impl FnOnce(&[(Vec<u8>, Vec<u8>)]) -> T,
    ) -> Result<Arc<T>> {
        self.read_cached(true, prefix, || {
            let raw = self.app_scan(prefix)?;
            let stored = raw.iter().map(|(k, v)| k.len() + v.len()).sum();
            Ok((decode(&raw), Some(stored)))
        })
    }

    /// The cached value under `key` (a get, or with `scan` a scan's
    /// prefix), else what `read` decodes, kept when `read` says how many
    /// stored bytes it came from. Outside the cached namespaces, `read`.
    fn read_cached<T: Send + Sync + 'static>(
        &self,
        scan: bool,
        key: &[u8],
        read: impl FnOnce() -> Result<(T, Option<usize>)>,
    ) -> Result<Arc<T>> {
        if !self.reads.covers(key) || (scan && !key.ends_with(b"/")) {
            return Ok(Arc::new(read()?.0));
        }
        let ticket = match self.reads.find::<T>(scan, key) {
            Ok(hit) => return Ok(hit),
            Err(t) => t,
        };
        let (v, stored) = read()?;
        let v = Arc::new(v);
        if let Some(n) = stored {
            self.reads.keep(ticket, scan, key, v.clone(), n);
        }
        Ok(v)
    }

    /// Which of `keys` are present in the application key space, read
    /// together (one `multi_get`).
    pub fn app_contains(&self, keys: &[Vec<u8>]) -> Result<Vec<bool>> {
        let cf = self.cf(CF_APP);
        self.db
            .multi_get_cf(keys.iter().map(|k| (&cf, k)))
            .into_iter()
            .map(|v| Ok(v?.is_some()))
            .collect()
    }

    /// Writes puts (`Some`) and deletes (`None`) to the application key space
    /// atomically and durably.
    pub fn app_write(&self, ops: &[(&[u8], Option<&[u8]>)]) -> Result<()> {
        let mut wb = WriteBatch::default();
        put_app_ops(&mut wb, self.cf(CF_APP), ops.iter().copied());
        self.write(wb)?;
        self.reads.invalidate(ops.iter().map(|(k, _)| *k));
        Ok(())
    }

    /// Every application key and value that starts with `prefix`, in key order.
    pub fn app_scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(CF_APP),
            IteratorMode::From(prefix, Direction::Forward),
        );
        for kv in it {
            let (k, v) = kv?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// At most `limit` application keys and values that start with
    /// `prefix` and sort after `after` (from the first when `None`), in key
    /// order: a scan in pages, so no caller holds a whole prefix at once.
    pub fn app_scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = after.unwrap_or(prefix);
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(CF_APP),
            IteratorMode::From(start, Direction::Forward),
        );
        for kv in it {
            let (k, v) = kv?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            if after.is_some_and(|a| &*k <= a) {
                continue;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Visits the application keys in `[lower, upper)`, in key order or
    /// (with `reverse`) the opposite, until `visit` returns `false`. Only
    /// the keys are read, not their values.
    pub fn app_keys_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        ro.set_iterate_upper_bound(upper.to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_APP), ro);
        if reverse {
            it.seek_to_last();
        } else {
            it.seek_to_first();
        }
        while let Some(k) = it.key() {
            if !visit(k) {
                return Ok(());
            }
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        it.status()?;
        Ok(())
    }

    /// What RocksDB holds in memory now: for metrics, and to tell a cache
    /// filling to its capacity apart from memory that grows without bound.
    pub fn memory(&self) -> Result<StoreMemory> {
        let mut b = rocksdb::perf::MemoryUsageBuilder::new()?;
        b.add_db(&self.db);
        b.add_cache(&self.cache);
        let m = b.build()?;
        Ok(StoreMemory {
            cache_bytes: m.approximate_cache_total(),
            cache_capacity_bytes: self.cache_capacity,
            memtable_bytes: m.approximate_mem_table_total(),
            table_reader_bytes: m.approximate_mem_table_readers_total(),
        })
    }

    /// The live size of the database files on disk, in bytes.
    pub fn disk_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for cf in [CF_LEAVES, CF_NODES, CF_CHECKPOINTS, CF_META, CF_APP] {
            total += self
                .db
                .property_int_value_cf(self.cf(cf), "rocksdb.total-sst-files-size")?
                .unwrap_or(0);
        }
        Ok(total)
    }

    /// Fault injection for tests: while on, every batch commit of every log
    /// fails before it reaches RocksDB, exactly as a full disk's failed WAL
    /// write is handled (the log fails closed until the store is reopened).
    /// Never on in a server.
    #[doc(hidden)]
    pub fn fail_commits(&self, on: bool) {
        self.failing.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Flushes memtables to SST files (for measuring on-disk size).
    pub fn flush(&self) -> Result<()> {
        for cf in [CF_LEAVES, CF_NODES, CF_CHECKPOINTS, CF_META, CF_APP] {
            self.db.flush_cf(self.cf(cf))?;
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Arc<DB> {
        &self.db
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(LogError::BadName {
            name: name.into(),
            reason: "use 1 to 64 of a-z, 0-9 and '-'".into(),
        });
    }
    Ok(())
}

/// Reads stored nodes of one log with one `multi_get`.
pub(crate) struct DbReader {
    pub(crate) db: Arc<DB>,
    pub(crate) log: u64,
}

impl HashReader for DbReader {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        let cf = self.db.cf_handle(CF_NODES).expect("nodes column family");
        let keys: Vec<_> = ids
            .iter()
            .map(|id| (&cf, node_key(self.log, *id)))
            .collect();
        let vals = self.db.multi_get_cf(keys);
        ids.iter()
            .zip(vals)
            .map(|(id, v)| {
                let missing = LogError::MissingNode {
                    level: id.level,
                    index: id.index,
                };
                let v = v?.ok_or(missing)?;
                <Hash>::try_from(v.as_slice()).map_err(|_| LogError::Inconsistent {
                    name: String::new(),
                    reason: format!("node ({}, {}) is {} bytes", id.level, id.index, v.len()),
                })
            })
            .collect()
    }
}

/// A signed checkpoint as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note, verbatim.
    pub note: String,
}

/// A write to the application key space: a put (`Some`) or a delete (`None`).
pub type AppOp = (Vec<u8>, Option<Vec<u8>>);

/// Builds the leaves and application writes of a rekey from the index its
/// first leaf will have (see [`Log::rekey`]); an error aborts the rekey.
pub type RekeyBuild =
    Box<dyn FnOnce(u64) -> std::result::Result<(Vec<Vec<u8>>, Vec<AppOp>), String> + Send>;

enum Cmd {
    /// Consecutive leaves; the reply is the index of the first.
    Append {
        leaves: Vec<Vec<u8>>,
        ops: Vec<AppOp>,
        /// Keys that get the first leaf's index (8 bytes, big-endian) in the same batch.
        index_keys: Vec<Vec<u8>>,
        at: Instant,
        reply: oneshot::Sender<Result<u64>>,
    },
    Publish {
        reply: oneshot::Sender<Result<SignedCheckpoint>>,
    },
    /// Appends what `build` makes for the index it is given, publishes a
    /// checkpoint that covers it signed by the current key, then signs with
    /// `key` from the next checkpoint on. The reply is the first index and
    /// that checkpoint.
    Rekey {
        key: SigningKey,
        build: RekeyBuild,
        reply: oneshot::Sender<Result<(u64, SignedCheckpoint)>>,
    },
    /// Finish what was queued before this, then stop.
    Stop,
}

struct Inner {
    name: String,
    id: u64,
    origin: String,
    db: Arc<DB>,
    /// Committed (durable) tree size. Readers never look past it.
    size: AtomicU64,
    latest: RwLock<Option<SignedCheckpoint>>,
    /// The key that signs new checkpoints, and those that signed before it.
    keys: RwLock<LogKeys>,
    /// Set when stored data disagrees with itself: the log then refuses to
    /// append, sign or serve proofs, and `audit` says where.
    fault: RwLock<Option<String>>,
    /// The store's [`Store::fail_commits`] switch.
    failing: Arc<std::sync::atomic::AtomicBool>,
    /// Secondary index keys for each appended leaf, if any.
    indexer: Option<Arc<dyn Indexer>>,
    /// The store's read cache, which this log's batches invalidate.
    reads: Arc<ReadCache>,
}

/// The verifier of the signing key, and those of keys it replaced.
#[derive(Clone, Debug)]
struct LogKeys {
    current: NoteVerifier,
    previous: Vec<NoteVerifier>,
}

impl Inner {
    fn keys(&self) -> LogKeys {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Opens a stored checkpoint note with the key that signed it: the
    /// current one or one it replaced.
    fn open_note(&self, note: &str) -> std::result::Result<String, evident_verify::VerifyError> {
        let keys = self.keys();
        let mut first_err = None;
        for v in std::iter::once(&keys.current).chain(keys.previous.iter().rev()) {
            match evident_verify::note::open(note, v) {
                Ok(t) => return Ok(t),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.expect("there is always a current key"))
    }

    fn check_fault(&self) -> Result<()> {
        match &*self.fault.read().unwrap_or_else(|e| e.into_inner()) {
            None => Ok(()),
            Some(reason) => Err(LogError::Inconsistent {
                name: self.name.clone(),
                reason: reason.clone(),
            }),
        }
    }

    fn latest_published(&self) -> Option<SignedCheckpoint> {
        self.latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A handle to one log. Cheap to clone; all clones share one integrator,
/// which stops when the store and every handle are dropped.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
    tx: mpsc::UnboundedSender<Cmd>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("name", &self.inner.name)
            .field("size", &self.size())
            .finish()
    }
}

impl Log {
    /// The log's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The origin line of its checkpoints.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The C2SP verifier key of the key that signs its checkpoints now.
    pub fn verifier(&self) -> NoteVerifier {
        self.inner.keys().current
    }

    /// The verifier keys of earlier signing keys, oldest first (see
    /// [`Log::rekey`]); checkpoints published before a rekey verify with them.
    pub fn previous_verifiers(&self) -> Vec<NoteVerifier> {
        self.inner.keys().previous
    }

    /// Opens a checkpoint note this log signed, with whichever of its keys
    /// signed it; returns the note text.
    pub fn open_note(&self, note: &str) -> Result<String> {
        Ok(self.inner.open_note(note)?)
    }

    /// Moves the log to a new signing key, as one logged step. `build` is
    /// called by the integrator with the index the first of its leaves will
    /// have (the tree size then), and returns the leaves (the event that
    /// records the move, e.g. a statement naming the new key signed by the
    /// old one) and application writes; they are appended in one batch with
    /// a checkpoint that covers them, signed by the current key, and every
    /// later checkpoint is signed by `key`. So a verifier that trusts the
    /// old key can verify the checkpoint that contains the move, and learn
    /// the new key from it. Returns the first index and that checkpoint.
    pub async fn rekey(
        &self,
        key: SigningKey,
        build: RekeyBuild,
    ) -> Result<(u64, SignedCheckpoint)> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Rekey { key, build, reply })
            .map_err(|_| self.closed())?;
        rx.await.map_err(|_| self.closed())?
    }

    /// The committed (durable) number of entries.
    pub fn size(&self) -> u64 {
        self.inner.size.load(Ordering::Acquire)
    }

    fn reader(&self) -> DbReader {
        DbReader {
            db: self.inner.db.clone(),
            log: self.inner.id,
        }
    }

    /// Appends `leaf` and returns its index once it is durable.
    pub async fn append(&self, leaf: Vec<u8>) -> Result<u64> {
        self.append_with(leaf, Vec::new()).await
    }

    /// Appends `leaf` and applies `ops` to the application key space in the
    /// same atomic batch: after a crash, either the entry and the state
    /// change it records are both there, or neither is.
    pub async fn append_with(&self, leaf: Vec<u8>, ops: Vec<AppOp>) -> Result<u64> {
        self.append_all_with(vec![leaf], ops).await
    }

    /// Appends `leaves` at consecutive indexes and applies `ops`, all in one
    /// atomic batch; returns the index of the first leaf once durable. Once
    /// sent, the batch commits even if the caller stops waiting.
    pub async fn append_all_with(&self, leaves: Vec<Vec<u8>>, ops: Vec<AppOp>) -> Result<u64> {
        self.append_indexed(leaves, ops, Vec::new()).await
    }

    /// Like [`Log::append_all_with`], and also writes the index of the first
    /// leaf (8 bytes, big-endian) under each of `index_keys` in the same batch,
    /// so a record can point at its own log entry without a second write.
    pub async fn append_indexed(
        &self,
        leaves: Vec<Vec<u8>>,
        ops: Vec<AppOp>,
        index_keys: Vec<Vec<u8>>,
    ) -> Result<u64> {
        if let Some(l) = leaves.iter().find(|l| l.len() > MAX_LEAF_BYTES) {
            return Err(LogError::LeafTooLarge {
                len: l.len(),
                max: MAX_LEAF_BYTES,
            });
        }
        if leaves.is_empty() {
            return Err(LogError::RangeInverted { start: 1, end: 0 });
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Append {
                leaves,
                ops,
                index_keys,
                at: Instant::now(),
                reply,
            })
            .map_err(|_| self.closed())?;
        rx.await.map_err(|_| self.closed())?
    }

    fn closed(&self) -> LogError {
        LogError::Closed {
            name: self.inner.name.clone(),
        }
    }

    /// The latest published checkpoint, publishing a new one first if the
    /// tree has grown past it, so it always covers every acknowledged entry.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint> {
        self.inner.check_fault()?;
        if let Some(cp) = self.latest_published() {
            if cp.size == self.size() {
                return Ok(cp);
            }
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Publish { reply })
            .map_err(|_| self.closed())?;
        rx.await.map_err(|_| self.closed())?
    }

    /// The latest published checkpoint, without publishing.
    pub fn latest_published(&self) -> Option<SignedCheckpoint> {
        self.inner.latest_published()
    }

    fn cf(&self, name: &str) -> &ColumnFamily {
        self.inner.db.cf_handle(name).expect("column family")
    }

    fn latest_stored_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let prefix = be(self.inner.id);
        let end = leaf_key(self.inner.id, u64::MAX);
        let mut it = self.inner.db.iterator_cf(
            self.cf(CF_CHECKPOINTS),
            IteratorMode::From(&end, Direction::Reverse),
        );
        match it.next() {
            Some(kv) => {
                let (k, v) = kv?;
                if !k.starts_with(&prefix) {
                    return Ok(None);
                }
                Ok(Some(self.decode_checkpoint(&v)?))
            }
            None => Ok(None),
        }
    }

    fn decode_checkpoint(&self, v: &[u8]) -> Result<SignedCheckpoint> {
        let note = String::from_utf8(v.to_vec()).map_err(|_| LogError::Inconsistent {
            name: self.inner.name.clone(),
            reason: "stored checkpoint is not UTF-8".into(),
        })?;
        let text = self.inner.open_note(&note)?;
        let cp = Checkpoint::parse_text(&text)?;
        Ok(SignedCheckpoint {
            size: cp.size,
            root: cp.root,
            note,
        })
    }

    /// The checkpoint published at exactly `size`, if there is one.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<SignedCheckpoint>> {
        self.inner.check_fault()?;
        let v = self
            .inner
            .db
            .get_cf(self.cf(CF_CHECKPOINTS), leaf_key(self.inner.id, size))?;
        v.map(|v| self.decode_checkpoint(&v)).transpose()
    }

    /// Every published checkpoint with size in `[from, to]`, in size order.
    pub fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<SignedCheckpoint>> {
        self.inner.check_fault()?;
        let start = leaf_key(self.inner.id, from);
        let mut out = Vec::new();
        for kv in self.inner.db.iterator_cf(
            self.cf(CF_CHECKPOINTS),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (k, v) = kv?;
            if !k.starts_with(&be(self.inner.id)) || read_u64(&k[8..], "size")? > to {
                break;
            }
            out.push(self.decode_checkpoint(&v)?);
        }
        Ok(out)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        self.inner.check_fault()?;
        let current = self.size();
        if size > current {
            return Err(LogError::SizeBeyondTree { size, current });
        }
        Ok(())
    }

    /// The RFC 9162 root of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        tree::root(size, &self.reader())
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        tree::inclusion_proof(index, size, &self.reader())
    }

    /// The frontier of the tree of `size` entries: the hashes of its
    /// maximal complete subtrees, left to right (see
    /// `evident_verify::merkle::root_from_frontier`).
    pub fn frontier(&self, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        self.reader().read_hashes(&tree::subtrees(0, size))
    }

    /// The consistency proof from the tree of `old` entries to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        tree::consistency_proof(old, new, &self.reader())
    }

    /// The stored hash of entry `index` (its RFC 9162 leaf hash).
    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.inner.check_fault()?;
        let size = self.size();
        if index >= size {
            return Err(LogError::IndexBeyondSize { index, size });
        }
        Ok(self.reader().read_hashes(&[NodeId::new(0, index)])?[0])
    }

    /// Entries `[start, end)` with their bytes, at most `max` of them.
    pub fn entries(&self, start: u64, end: u64, max: u64) -> Result<Vec<Vec<u8>>> {
        if start > end {
            return Err(LogError::RangeInverted { start, end });
        }
        self.check_size(end)?;
        if end - start > max {
            return Err(LogError::RangeTooLong {
                len: end - start,
                max,
            });
        }
        self.read_leaves(start, end)
    }

    pub(crate) fn read_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let cf = self.cf(CF_LEAVES);
        let keys: Vec<_> = (start..end)
            .map(|i| (&cf, leaf_key(self.inner.id, i)))
            .collect();
        let vals = self.inner.db.multi_get_cf(keys);
        (start..end)
            .zip(vals)
            .map(|(i, v)| {
                v?.ok_or_else(|| LogError::Inconsistent {
                    name: self.inner.name.clone(),
                    reason: format!("leaf {i} is missing"),
                })
            })
            .collect()
    }

    pub(crate) fn check_fault(&self) -> Result<()> {
        self.inner.check_fault()
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    pub(crate) fn db(&self) -> &Arc<DB> {
        &self.inner.db
    }
}

/// The single writer of one log.
struct Integrator {
    log: Arc<Inner>,
    frontier: Frontier,
    signer: Arc<NoteSigner>,
    opts: StoreOptions,
    last_checkpoint: Instant,
    observer: Option<Arc<dyn Observer>>,
}

struct Committed {
    frontier: Frontier,
    checkpoint: Option<SignedCheckpoint>,
}

impl Integrator {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut cmds = Vec::with_capacity(MAX_BATCH);
        loop {
            if rx.recv_many(&mut cmds, MAX_BATCH).await == 0 {
                return;
            }
            let stop = cmds.iter().position(|c| matches!(c, Cmd::Stop));
            if let Some(at) = stop {
                // Commands queued after the stop are dropped: their callers see `Closed`.
                cmds.truncate(at);
            }
            // A rekey commits on its own, between the commands before it
            // and those after it, so each checkpoint is signed by the key
            // that was current when its entries were appended.
            let mut rest = std::mem::take(&mut cmds);
            while !rest.is_empty() {
                let at = rest.iter().position(|c| matches!(c, Cmd::Rekey { .. }));
                match at {
                    Some(0) => {
                        let c = rest.remove(0);
                        self.rekey(c).await;
                    }
                    Some(p) => {
                        let tail = rest.split_off(p);
                        self.batch(rest).await;
                        rest = tail;
                    }
                    None => self.batch(std::mem::take(&mut rest)).await,
                }
            }
            if stop.is_some() {
                return;
            }
        }
    }

    async fn rekey(&mut self, cmd: Cmd) {
        let Cmd::Rekey { key, build, reply } = cmd else {
            return;
        };
        let signer = match NoteSigner::new(&self.log.origin, key) {
            Ok(s) => s,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let (leaves, ops) = match build(self.frontier.size()) {
            Ok(x) => x,
            Err(reason) => {
                let _ = reply.send(Err(LogError::Inconsistent {
                    name: self.log.name.clone(),
                    reason: format!("the rekey could not be prepared: {reason}"),
                }));
                return;
            }
        };
        if leaves.is_empty() || leaves.iter().any(|l| l.len() > MAX_LEAF_BYTES) {
            let _ = reply.send(Err(LogError::LeafTooLarge {
                len: leaves.iter().map(Vec::len).max().unwrap_or(0),
                max: MAX_LEAF_BYTES,
            }));
            return;
        }
        let (atx, arx) = oneshot::channel();
        let (ptx, prx) = oneshot::channel();
        self.batch(vec![
            Cmd::Append {
                leaves,
                ops,
                index_keys: Vec::new(),
                at: Instant::now(),
                reply: atx,
            },
            Cmd::Publish { reply: ptx },
        ])
        .await;
        let res = match (arx.await, prx.await) {
            (Ok(Ok(index)), Ok(Ok(cp))) => {
                let mut k = self.log.keys.write().unwrap_or_else(|e| e.into_inner());
                let old = std::mem::replace(&mut k.current, signer.verifier().clone());
                k.previous.push(old);
                drop(k);
                self.signer = Arc::new(signer);
                Ok((index, cp))
            }
            (Ok(Err(e)), _) | (_, Ok(Err(e))) => Err(e),
            _ => Err(LogError::Closed {
                name: self.log.name.clone(),
            }),
        };
        let _ = reply.send(res);
    }

    async fn batch(&mut self, cmds: Vec<Cmd>) {
        let mut leaves = Vec::new();
        let mut app_ops = Vec::new();
        let mut appends = Vec::new();
        let mut publishes = Vec::new();
        let start_size = self.frontier.size();
        for c in cmds {
            match c {
                Cmd::Append {
                    leaves: ls,
                    ops,
                    index_keys,
                    at,
                    reply,
                } => {
                    let first = start_size + leaves.len() as u64;
                    app_ops.extend(
                        index_keys
                            .into_iter()
                            .map(|k| (k, Some(be(first).to_vec()))),
                    );
                    appends.push((at, ls.len(), reply));
                    leaves.extend(ls);
                    app_ops.extend(ops);
                }
                Cmd::Publish { reply } => publishes.push(reply),
                // run() truncates every batch at a Stop and commits each
                // Rekey on its own, so neither reaches here.
                Cmd::Stop | Cmd::Rekey { .. } => {}
            }
        }
        if let Err(LogError::Inconsistent { reason, .. }) = self.log.check_fault() {
            let err = || LogError::Inconsistent {
                name: self.log.name.clone(),
                reason: reason.clone(),
            };
            for (_, _, r) in appends {
                let _ = r.send(Err(err()));
            }
            for r in publishes {
                let _ = r.send(Err(err()));
            }
            return;
        }
        let want_checkpoint = !publishes.is_empty()
            || (!leaves.is_empty()
                && self.last_checkpoint.elapsed() >= self.opts.checkpoint_interval);
        let started = Instant::now();
        let log = self.log.clone();
        let signer = self.signer.clone();
        let sync = self.opts.sync;
        let frontier = self.frontier.clone();
        let latest = self.log.latest_published();
        let n = leaves.len();
        let res = tokio::task::spawn_blocking(move || {
            commit(
                &log,
                frontier,
                leaves,
                app_ops,
                want_checkpoint,
                latest,
                &signer,
                sync,
            )
        })
        .await
        .unwrap_or_else(|e| {
            Err(LogError::Inconsistent {
                name: self.log.name.as_str().to_owned(),
                reason: format!("integrator task failed: {e}"),
            })
        });
        match res {
            Ok(c) => {
                self.frontier = c.frontier;
                self.log.size.store(self.frontier.size(), Ordering::Release);
                if let Some(cp) = c.checkpoint {
                    self.last_checkpoint = Instant::now();
                    *self.log.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(cp);
                }
                let done = Instant::now();
                let commit = done - started;
                let mut waits = Vec::with_capacity(n);
                let mut next = start_size;
                for (at, count, reply) in appends {
                    waits.extend(std::iter::repeat_n(done - at, count));
                    let _ = reply.send(Ok(next));
                    next += count as u64;
                }
                let cp = self.log.latest_published();
                for r in publishes {
                    let _ = r.send(cp.clone().ok_or_else(|| LogError::Inconsistent {
                        name: self.log.name.as_str().to_owned(),
                        reason: "no checkpoint after publishing".into(),
                    }));
                }
                if let Some(o) = &self.observer {
                    if n > 0 {
                        o.batch_committed(self.log.name.as_str(), n, commit, &waits);
                    }
                }
            }
            Err(e) => {
                // A WriteBatch is atomic and our frontier is untouched, so the
                // log is as it was, but a failed WAL write leaves RocksDB in an
                // unknown state: fail closed until a restart and an audit.
                tracing::error!(log = self.log.name.as_str(), error = %e, "batch commit failed");
                let reason = format!("a batch failed to commit: {e}");
                *self.log.fault.write().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
                let err = || LogError::Inconsistent {
                    name: self.log.name.clone(),
                    reason: reason.clone(),
                };
                for (_, _, r) in appends {
                    let _ = r.send(Err(err()));
                }
                for r in publishes {
                    let _ = r.send(Err(err()));
                }
            }
        }
    }
}

/// Builds and writes one batch. Runs on a blocking thread.
#[allow(clippy::too_many_arguments)]
fn commit(
    log: &Inner,
    mut frontier: Frontier,
    leaves: Vec<Vec<u8>>,
    app_ops: Vec<AppOp>,
    want_checkpoint: bool,
    latest: Option<SignedCheckpoint>,
    signer: &NoteSigner,
    sync: bool,
) -> Result<Committed> {
    if log.failing.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(LogError::Inconsistent {
            name: log.name.clone(),
            reason: "injected commit failure (Store::fail_commits)".into(),
        });
    }
    let id = log.id;
    let db = &log.db;
    let cf_leaves = db.cf_handle(CF_LEAVES).expect("leaves");
    let cf_nodes = db.cf_handle(CF_NODES).expect("nodes");
    let cf_app = db.cf_handle(CF_APP).expect("app");
    let cf_counters = db.cf_handle(CF_COUNTERS).expect("counters");
    let mut wb = WriteBatch::default();
    // The batch's adds to each counter, summed: one merge per counter per
    // batch, however many leaves add to it.
    let mut adds: HashMap<Vec<u8>, Counter> = HashMap::new();
    // Index keys in a cached namespace (none, as the server names them),
    // dropped from the read cache with the application writes.
    let mut index_keys: Vec<Vec<u8>> = Vec::new();
    for leaf in &leaves {
        let index = frontier.size();
        wb.put_cf(&cf_leaves, leaf_key(id, index), leaf);
        if let Some(ix) = &log.indexer {
            let (keys, counters) = ix.index(&log.name, leaf);
            for mut k in keys {
                k.extend_from_slice(&be(index));
                wb.put_cf(&cf_app, &k, []);
                if log.reads.covers(&k) {
                    index_keys.push(k);
                }
            }
            for (k, c) in counters {
                adds.entry(k).or_default().add_all(c);
            }
        }
        frontier.push(leaf_hash(leaf), |nid, h| {
            wb.put_cf(&cf_nodes, node_key(id, nid), h);
        });
    }
    for (k, c) in adds {
        wb.merge_cf(&cf_counters, k, c.encode());
    }
    wb.put_cf(
        &db.cf_handle(CF_META).expect("meta"),
        size_key(id),
        be(frontier.size()),
    );
    put_app_ops(
        &mut wb,
        &cf_app,
        app_ops.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
    );
    let mut checkpoint = None;
    let size = frontier.size();
    // Never publish a checkpoint smaller than one already published; the tree
    // only grows, so a larger one is consistent by construction.
    if let Some(l) = latest.as_ref().filter(|l| l.size > size) {
        return Err(LogError::Inconsistent {
            name: log.name.clone(),
            reason: format!(
                "the tree has {size} entries but size {} was published",
                l.size
            ),
        });
    }
    let stale = latest.as_ref().is_none_or(|c| c.size < size);
    if want_checkpoint && stale {
        let root = frontier.root();
        let text = Checkpoint {
            origin: log.origin.clone(),
            size,
            root,
            extensions: vec![],
        }
        .to_text();
        let note = signer.sign(&text)?;
        wb.put_cf(
            &db.cf_handle(CF_CHECKPOINTS).expect("checkpoints"),
            leaf_key(id, size),
            note.as_bytes(),
        );
        checkpoint = Some(SignedCheckpoint { size, root, note });
    }
    let mut wo = WriteOptions::default();
    wo.set_sync(sync);
    db.write_opt(wb, &wo)?;
    log.reads.invalidate(
        app_ops
            .iter()
            .map(|(k, _)| k.as_slice())
            .chain(index_keys.iter().map(Vec::as_slice)),
    );
    Ok(Committed {
        frontier,
        checkpoint,
    })
}
