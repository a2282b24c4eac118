//! Storage: the only layer that knows the application column family's key
//! strings ([`keys`]) and how records are encoded, over `evident-log`'s
//! RocksDB store.
//!
//! The write every state change makes is [`Db::commit`]: the change and
//! the log event that records it go in **one atomic batch** with the
//! log's own append. So a token exists exactly when its `token_issued`
//! entry does, a customer's access changes exactly when its
//! `customer_updated` entry does, and after a crash either both are there
//! or neither is.

pub mod audit;
pub mod keys;
pub mod regulator;
pub mod search;
pub mod stats;

use std::sync::{Arc, Mutex};

use evident_log::{AppOp, Log, LogError, Store};
use serde::{de::DeserializeOwned, Serialize};

use crate::core::{
    advisories::AdvisoryRecord,
    documents::Document,
    events::{self, Actor, EventBody},
    portal::{Logo, PortalSettings},
    records::{
        CustomerRecord, Issued, LogKeyInfo, OfficerRecord, PublicKeyRecord, Session, Settings,
        ShareLink, TenantRecord, TokenRecord, VexVersion, WitnessRecord, WitnessState,
    },
    release::ReleaseRecord,
    Error,
};

impl From<LogError> for Error {
    fn from(e: LogError) -> Self {
        match e {
            LogError::IndexBeyondSize { .. }
            | LogError::SizeBeyondTree { .. }
            | LogError::RangeInverted { .. }
            | LogError::RangeTooLong { .. }
            | LogError::LeafTooLarge { .. }
            | LogError::BadName { .. } => Self::Unprocessable(e.to_string()),
            LogError::NoSuchLog { .. } | LogError::TileNotAvailable { .. } => {
                Self::NotFound(e.to_string())
            }
            LogError::LogExists { .. } => Self::Conflict(e.to_string()),
            LogError::Inconsistent { .. } | LogError::Closed { .. } => {
                Self::Unavailable(e.to_string())
            }
            LogError::Format(evident_verify::VerifyError::BadTilePath { .. }) => {
                Self::Unprocessable(e.to_string())
            }
            LogError::Storage(_)
            | LogError::MissingNode { .. }
            | LogError::InUse { .. }
            | LogError::Format(_) => Self::Internal(e.to_string()),
        }
    }
}

/// The built-in TSA's sealed key, certificate and root certificate (DER).
pub type TsaMaterial = (Vec<u8>, Vec<u8>, Vec<u8>);

/// How many records a sweep reads at once.
pub const SWEEP_PAGE: usize = 1000;

/// The application's records over the log store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    store: Store,
    /// Serialises [`Db::put_once`]'s check-and-write.
    once: Arc<Mutex<()>>,
}

impl std::ops::Deref for Db {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records are plain data")
}

fn be_i64(v: &[u8]) -> Option<i64> {
    v.try_into().ok().map(i64::from_be_bytes)
}

impl Db {
    /// The records of `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            once: Arc::default(),
        }
    }

    /// The log store itself (logs, their keys, closing).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Gives up this handle's share of the store (to close it).
    pub fn into_store(self) -> Store {
        self.store
    }

    /// The record under `key`, decoded once while it stays in the read
    /// cache (`keys::CACHED`).
    fn get_json<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, Error> {
        let v = self.store.app_get_cached(key, |v| match v {
            None => Ok(None),
            Some(v) => serde_json::from_slice::<T>(v)
                .map(Some)
                .map_err(|e| format!("record {}: {e}", String::from_utf8_lossy(key))),
        })?;
        v.as_ref().clone().map_err(Error::Internal)
    }

    /// The records under `prefix`, in key order, decoded once while they
    /// stay in the read cache.
    fn scan_json<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<T>, Error> {
        let v = self.store.app_scan_cached(prefix, |kvs| {
            kvs.iter()
                .map(|(k, v)| {
                    serde_json::from_slice::<T>(v)
                        .map_err(|e| format!("record {}: {e}", String::from_utf8_lossy(k)))
                })
                .collect::<Result<Vec<T>, String>>()
        })?;
        v.as_ref().clone().map_err(Error::Internal)
    }

    /// Writes `ops` (puts and deletes) atomically and durably, without a
    /// log event: for what is not evidence (sessions, caches of tokens).
    pub fn write(&self, ops: &[AppOp]) -> Result<(), Error> {
        let refs: Vec<(&[u8], Option<&[u8]>)> = ops
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        Ok(self.store.app_write(&refs)?)
    }

    /// The write of every state change: `events` appended to `tenant`'s
    /// `log` at consecutive indexes together with `ops`, and the first
    /// event's index (8 bytes, big-endian) under each of `index_keys`, all
    /// in one atomic batch. Returns the first index once durable.
    pub async fn commit(
        &self,
        log: &Log,
        tenant: &str,
        events: Vec<(Actor, EventBody)>,
        ops: Vec<AppOp>,
        index_keys: Vec<Vec<u8>>,
    ) -> Result<u64, Error> {
        let leaves = events
            .into_iter()
            .map(|(actor, event)| events::leaf(tenant, actor, event))
            .collect();
        Ok(log.append_indexed(leaves, ops, index_keys).await?)
    }

    /// Stores `value` under `key` unless a value is there already, and
    /// returns what is stored: concurrent first requests for a timestamp
    /// (or anything made once) all get the same bytes. Blocking.
    pub fn put_once(&self, key: &[u8], value: Vec<u8>) -> Result<Vec<u8>, Error> {
        let _one = self.once.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = self.store.app_get(key)? {
            return Ok(v);
        }
        self.store.app_write(&[(key, Some(value.as_slice()))])?;
        Ok(value)
    }

    /// A value stored by [`Db::put_once`] (or any raw value).
    pub fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.app_get(key)?)
    }

    /// Deletes every record under `prefix` that `dead(key, value)`
    /// condemns; returns how many went. Reads and deletes in pages of
    /// [`SWEEP_PAGE`], so a large prefix is never held at once.
    pub fn delete_where(
        &self,
        prefix: &[u8],
        dead: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Result<usize, Error> {
        let mut after: Option<Vec<u8>> = None;
        let mut n = 0;
        loop {
            let page = self
                .store
                .app_scan_page(prefix, after.as_deref(), SWEEP_PAGE)?;
            let Some((last, _)) = page.last() else {
                return Ok(n);
            };
            after = Some(last.clone());
            let ops: Vec<(&[u8], Option<&[u8]>)> = page
                .iter()
                .filter(|(k, v)| dead(k, v))
                .map(|(k, _)| (k.as_slice(), None))
                .collect();
            if !ops.is_empty() {
                self.store.app_write(&ops)?;
                n += ops.len();
            }
            if page.len() < SWEEP_PAGE {
                return Ok(n);
            }
        }
    }

    // Tenants.

    /// A tenant.
    pub fn tenant(&self, slug: &str) -> Result<Option<TenantRecord>, Error> {
        self.get_json(&keys::tenant(slug))
    }

    /// Every tenant.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>, Error> {
        self.scan_json(keys::TENANTS)
    }

    /// The write that stores a tenant.
    pub fn tenant_ops(t: &TenantRecord) -> Vec<AppOp> {
        vec![(keys::tenant(&t.slug), Some(json(t)))]
    }

    // Tokens.

    /// A token record with its last use.
    pub fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        let rec = self.store.app_get_cached(&keys::token(id), |v| {
            v.and_then(|v| serde_json::from_slice::<TokenRecord>(v).ok())
        })?;
        let Some(mut rec) = rec.as_ref().clone() else {
            return Ok(None);
        };
        let used = self
            .store
            .app_get_cached(&keys::token_used(id), |v| v.and_then(be_i64))?;
        if let Some(t) = *used {
            rec.last_used_at = Some(t);
        }
        Ok(Some(rec))
    }

    /// The writes that store a token record (and its tenant index entry).
    pub fn token_ops(rec: &TokenRecord) -> Vec<AppOp> {
        let mut ops = vec![(keys::token(&rec.id), Some(json(rec)))];
        if let Some(t) = &rec.tenant {
            ops.push((keys::tenant_token(t, &rec.id), Some(Vec::new())));
        }
        ops
    }

    /// Every token of a tenant.
    pub fn tenant_tokens(&self, tenant: &str) -> Result<Vec<TokenRecord>, Error> {
        let prefix = keys::tenant_tokens(tenant);
        let mut out = Vec::new();
        for (k, _) in self.store.app_scan(&prefix)? {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Some(t) = self.token(&id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Records a token's last use (its own key, so it never undoes a
    /// concurrent revocation).
    pub fn token_used(&self, id: &str, now: i64) -> Result<(), Error> {
        Ok(self
            .store
            .app_write(&[(&keys::token_used(id), Some(&now.to_be_bytes()))])?)
    }

    /// The last UTC day (days since the epoch) an `admin_token_used` entry
    /// was logged for token `id`.
    pub fn token_day(&self, id: &str) -> Result<Option<i64>, Error> {
        Ok(self
            .store
            .app_get(&keys::token_day(id))?
            .and_then(|v| be_i64(&v)))
    }

    /// The write that records `day` as token `id`'s last logged day.
    pub fn token_day_op(id: &str, day: i64) -> AppOp {
        (keys::token_day(id), Some(day.to_be_bytes().to_vec()))
    }

    /// The operator token's id, once minted.
    pub fn operator_token_id(&self) -> Result<Option<String>, Error> {
        Ok(self
            .store
            .app_get(keys::OPERATOR_TOKEN)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Stores the operator token (the platform's first start).
    pub fn put_operator_token(&self, rec: &TokenRecord) -> Result<(), Error> {
        let mut ops = Self::token_ops(rec);
        ops.push((
            keys::OPERATOR_TOKEN.to_vec(),
            Some(rec.id.clone().into_bytes()),
        ));
        self.write(&ops)
    }

    // Customers.

    /// A customer of a tenant.
    pub fn customer(&self, tenant: &str, id: &str) -> Result<Option<CustomerRecord>, Error> {
        Ok(self
            .store
            .app_get_cached(&keys::customer(tenant, id), |v| {
                v.and_then(|v| serde_json::from_slice::<CustomerRecord>(v).ok())
            })?
            .as_ref()
            .clone())
    }

    /// Every customer of a tenant.
    pub fn customers(&self, tenant: &str) -> Result<Vec<CustomerRecord>, Error> {
        Ok(self
            .store
            .app_scan(&keys::customers(tenant))?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect())
    }

    /// The write that stores (or, with `deleted`, deletes) a customer.
    pub fn customer_ops(c: &CustomerRecord, deleted: bool) -> Vec<AppOp> {
        let k = keys::customer(&c.tenant, &c.id);
        vec![(k, (!deleted).then(|| json(c)))]
    }

    // Sessions (`hash` is the hex SHA-256 of the cookie value).

    /// A session record, with its last use applied.
    pub fn session(&self, hash: &str) -> Result<Option<Session>, Error> {
        let Some(mut s) = self
            .store
            .app_get(&keys::session(hash))?
            .and_then(|v| serde_json::from_slice::<Session>(&v).ok())
        else {
            return Ok(None);
        };
        if let Some(seen) = self
            .store
            .app_get(&keys::session_seen(hash))?
            .and_then(|v| be_i64(&v))
        {
            s.seen_at = s.seen_at.max(seen);
        }
        Ok(Some(s))
    }

    /// Stores a new session.
    pub fn put_session(&self, hash: &str, s: &Session) -> Result<(), Error> {
        self.write(&Self::put_session_ops(hash, s))
    }

    /// The write that stores a session (with the entry that logs it).
    pub fn put_session_ops(hash: &str, s: &Session) -> Vec<AppOp> {
        vec![(keys::session(hash), Some(json(s)))]
    }

    /// The writes that end a session (with the entry that logs it).
    pub fn delete_session_ops(hash: &str) -> Vec<AppOp> {
        vec![
            (keys::session(hash), None),
            (keys::session_seen(hash), None),
        ]
    }

    /// Records a session's use under its own key: a session exists exactly
    /// when its record does, so this can never bring back an ended one.
    pub fn touch_session(&self, hash: &str, now: i64) -> Result<(), Error> {
        self.write(&[(keys::session_seen(hash), Some(now.to_be_bytes().to_vec()))])
    }

    /// Ends a session.
    pub fn delete_session(&self, hash: &str) -> Result<(), Error> {
        self.write(&Self::delete_session_ops(hash))
    }

    /// The sessions (by stored hash), with their last use, for which
    /// `dead` holds.
    pub fn expired_sessions(
        &self,
        dead: impl Fn(&Session) -> bool,
    ) -> Result<Vec<(String, Session)>, Error> {
        let mut out = Vec::new();
        for (k, _) in self.store.app_scan(keys::SESSIONS)? {
            let hash = String::from_utf8_lossy(&k[keys::SESSIONS.len()..]).into_owned();
            // Read as requests do: the record merged with its last use.
            if let Ok(Some(s)) = self.session(&hash) {
                if dead(&s) {
                    out.push((hash, s));
                }
            }
        }
        Ok(out)
    }

    /// Deletes every session `dead` condemns (and its last use), then the
    /// last-use records whose session is gone; returns how many sessions
    /// went. Pages through both prefixes.
    pub fn sweep_sessions(&self, dead: impl Fn(Option<Session>) -> bool) -> Result<usize, Error> {
        let n = self.delete_where(keys::SESSIONS, |k, _| {
            let hash = String::from_utf8_lossy(&k[keys::SESSIONS.len()..]).into_owned();
            dead(self.session(&hash).ok().flatten())
        })?;
        self.delete_where(keys::SESSIONS_SEEN, |k, _| {
            let hash = String::from_utf8_lossy(&k[keys::SESSIONS_SEEN.len()..]).into_owned();
            !matches!(self.store.app_get(&keys::session(&hash)), Ok(Some(_)))
        })?;
        Ok(n)
    }

    // Settings.

    /// A tenant's settings (the defaults when none were saved).
    pub fn settings(&self, tenant: &str) -> Result<Settings, Error> {
        Ok(self.get_json(&keys::settings(tenant))?.unwrap_or_default())
    }

    /// The write that stores a tenant's settings.
    pub fn settings_ops(tenant: &str, s: &Settings) -> Vec<AppOp> {
        vec![(keys::settings(tenant), Some(json(s)))]
    }

    /// A tenant's advisories, by id (drafts too).
    pub fn advisories(&self, tenant: &str) -> Result<Vec<AdvisoryRecord>, Error> {
        self.scan_json(&keys::advisories(tenant))
    }

    /// One advisory.
    pub fn advisory(&self, tenant: &str, id: &str) -> Result<Option<AdvisoryRecord>, Error> {
        self.get_json(&keys::advisory(tenant, id))
    }

    /// The write that stores an advisory's record.
    pub fn advisory_op(tenant: &str, a: &AdvisoryRecord) -> AppOp {
        (keys::advisory(tenant, &a.id), Some(json(a)))
    }

    /// A tenant's documents, by id (withdrawn ones too).
    pub fn documents(&self, tenant: &str) -> Result<Vec<Document>, Error> {
        self.scan_json(&keys::documents(tenant))
    }

    /// One document.
    pub fn document(&self, tenant: &str, id: &str) -> Result<Option<Document>, Error> {
        self.get_json(&keys::document(tenant, id))
    }

    /// The write that stores a document's record.
    pub fn document_op(tenant: &str, d: &Document) -> AppOp {
        (keys::document(tenant, &d.id), Some(json(d)))
    }

    /// A tenant's portal settings (the defaults when none were saved).
    pub fn portal(&self, tenant: &str) -> Result<PortalSettings, Error> {
        Ok(self.get_json(&keys::portal(tenant))?.unwrap_or_default())
    }

    /// The write that stores a tenant's portal settings.
    pub fn portal_ops(tenant: &str, s: &PortalSettings) -> Vec<AppOp> {
        vec![(keys::portal(tenant), Some(json(s)))]
    }

    /// The portal's logo, if one is set.
    pub fn portal_logo(&self, tenant: &str) -> Result<Option<Logo>, Error> {
        self.get_json(&keys::portal_logo(tenant))
    }

    /// The writes that set the portal's logo (its record, and its bytes as
    /// a blob unless stored already), or remove it (`None`; the blob stays,
    /// content-addressed).
    pub fn portal_logo_ops(
        &self,
        tenant: &str,
        logo: Option<(&Logo, Vec<u8>)>,
    ) -> Result<Vec<AppOp>, Error> {
        Ok(match logo {
            None => vec![(keys::portal_logo(tenant), None)],
            Some((l, bytes)) => {
                let mut ops = vec![(keys::portal_logo(tenant), Some(json(l)))];
                ops.extend(self.blob_op(&l.sha256, bytes)?);
                ops
            }
        })
    }

    // Releases, blobs and models.

    /// Every revision of a release, oldest first, each with the index of
    /// its `release_pushed` entry.
    pub fn revisions(
        &self,
        tenant: &str,
        product: &str,
        tag: &str,
    ) -> Result<Vec<ReleaseRecord>, Error> {
        let mut out: Vec<ReleaseRecord> =
            self.scan_json(&keys::release_revisions(tenant, product, tag))?;
        for r in &mut out {
            r.log_index = self.index_at(&keys::release_log(tenant, product, tag, r.revision))?;
        }
        Ok(out)
    }

    /// A release tag's VEX versions, oldest first, with their log indexes.
    pub fn vex_versions(
        &self,
        tenant: &str,
        product: &str,
        tag: &str,
    ) -> Result<Vec<VexVersion>, Error> {
        let mut out: Vec<VexVersion> = self.scan_json(&keys::vex_versions(tenant, product, tag))?;
        for v in &mut out {
            v.log_index = self.index_at(&keys::vex_log(tenant, product, tag, v.version))?;
        }
        Ok(out)
    }

    /// The statements of a VEX version.
    pub fn vex_statements(
        &self,
        tenant: &str,
        v: &VexVersion,
    ) -> Result<Vec<evident_sbom::vex::Statement>, Error> {
        Ok(self
            .get_json(&keys::vex_statements(tenant, &v.product, &v.tag, v.version))?
            .unwrap_or_default())
    }

    /// The writes that store a VEX version (its header and, apart, its
    /// statements), and the key that gets the index of its `vex_published`
    /// entry.
    pub fn vex_ops(tenant: &str, v: &VexVersion) -> (Vec<AppOp>, Vec<u8>) {
        (
            vec![
                (
                    keys::vex(tenant, &v.product, &v.tag, v.version),
                    Some(json(v)),
                ),
                (
                    keys::vex_statements(tenant, &v.product, &v.tag, v.version),
                    Some(json(&v.statements)),
                ),
            ],
            keys::vex_log(tenant, &v.product, &v.tag, v.version),
        )
    }

    /// The write that stores a release revision, and the key that gets the
    /// index of its `release_pushed` entry.
    pub fn release_ops(tenant: &str, r: &ReleaseRecord) -> (AppOp, Vec<u8>) {
        (
            (
                keys::release(tenant, &r.product, &r.tag, r.revision),
                Some(json(r)),
            ),
            keys::release_log(tenant, &r.product, &r.tag, r.revision),
        )
    }

    /// A product's releases as (tag, push time of its first revision), in
    /// tag order.
    pub fn product_releases(
        &self,
        tenant: &str,
        product: &str,
    ) -> Result<Vec<(String, String)>, Error> {
        let p = keys::product_releases(tenant, product);
        let out = self.store.app_scan_cached(&p, |kvs| {
            let mut out: Vec<(String, String)> = Vec::new();
            for (k, v) in kvs {
                let rest = String::from_utf8_lossy(&k[p.len()..]).into_owned();
                let Some((tag, _)) = rest.split_once('/') else {
                    continue;
                };
                if out.last().map(|(t, _)| t.as_str()) == Some(tag) {
                    continue;
                }
                #[derive(serde::Deserialize)]
                struct Pushed {
                    #[serde(default)]
                    pushed_at: String,
                }
                let pushed = serde_json::from_slice::<Pushed>(v)
                    .map(|r| r.pushed_at)
                    .unwrap_or_default();
                out.push((tag.to_owned(), pushed));
            }
            out
        })?;
        Ok(out.as_ref().clone())
    }

    /// The names of a tenant's products, in order.
    pub fn products(&self, tenant: &str) -> Result<Vec<String>, Error> {
        let p = keys::tenant_releases(tenant);
        let mut out: Vec<String> = Vec::new();
        for (k, _) in self.store.app_scan(&p)? {
            let rest = String::from_utf8_lossy(&k[p.len()..]).into_owned();
            if let Some((product, _)) = rest.split_once('/') {
                if out.last().map(String::as_str) != Some(product) {
                    out.push(product.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// A stored blob (SBOM, provenance, findings) by SHA-256.
    pub fn blob(&self, sha: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.app_get(&keys::blob(sha))?)
    }

    /// The write that stores a blob, unless it is stored already.
    pub fn blob_op(&self, sha: &str, bytes: Vec<u8>) -> Result<Option<AppOp>, Error> {
        let k = keys::blob(sha);
        Ok(match self.store.app_get(&k)? {
            Some(_) => None,
            None => Some((k, Some(bytes))),
        })
    }

    /// A stored model's JSON, by the SBOM's SHA-256.
    pub fn model_json(&self, sbom_sha: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.app_get(&keys::model(sbom_sha))?)
    }

    /// The write that stores a model.
    pub fn model_op(sbom_sha: &str, json: Vec<u8>) -> AppOp {
        (keys::model(sbom_sha), Some(json))
    }

    /// An index stored by an append (8 bytes, big-endian).
    pub fn index_at(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        Ok(*self.store.app_get_cached(key, |v| {
            v.and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        })?)
    }

    // Export issuance.

    /// The issuance record of an export's exact bytes.
    pub fn issuance(&self, export_path: &str, sha: &str) -> Result<Option<Issued>, Error> {
        self.get_json(&keys::issuance(export_path, sha))
    }

    /// The write that stores an issuance, and the key of its entry's index.
    pub fn issuance_ops(export_path: &str, sha: &str, i: &Issued) -> (AppOp, Vec<u8>) {
        (
            (keys::issuance(export_path, sha), Some(json(i))),
            keys::issuance_log(export_path, sha),
        )
    }

    /// The index of an issuance's `export_issued` entry.
    pub fn issuance_index(&self, export_path: &str, sha: &str) -> Result<Option<u64>, Error> {
        self.index_at(&keys::issuance_log(export_path, sha))
    }

    // Export keys.

    /// The current export key's id and sealed private key.
    pub fn export_key_current(&self, tenant: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        let Some(id) = self.store.app_get(&keys::export_key_current(tenant))? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        let sealed = self
            .store
            .app_get(&keys::export_key(tenant, &id))?
            .ok_or_else(|| Error::Internal(format!("tenant key {id} is missing")))?;
        Ok(Some((id, sealed)))
    }

    /// One export public key record.
    pub fn export_pub(&self, tenant: &str, key_id: &str) -> Result<Option<PublicKeyRecord>, Error> {
        self.get_json(&keys::export_pub(tenant, key_id))
    }

    /// Every export public key of a tenant.
    pub fn export_pubs(&self, tenant: &str) -> Result<Vec<PublicKeyRecord>, Error> {
        self.scan_json(&keys::export_pubs(tenant))
    }

    /// The writes that make `rec` (with `sealed`) the tenant's current
    /// export key.
    pub fn export_key_ops(tenant: &str, rec: &PublicKeyRecord, sealed: Vec<u8>) -> Vec<AppOp> {
        vec![
            (keys::export_key(tenant, &rec.key_id), Some(sealed)),
            (keys::export_pub(tenant, &rec.key_id), Some(json(rec))),
            (
                keys::export_key_current(tenant),
                Some(rec.key_id.clone().into_bytes()),
            ),
        ]
    }

    /// The write that updates an export public key record.
    pub fn export_pub_op(tenant: &str, rec: &PublicKeyRecord) -> AppOp {
        (keys::export_pub(tenant, &rec.key_id), Some(json(rec)))
    }

    // Log keys.

    /// The current log key's id and sealed private key.
    pub fn log_key_current(&self, tenant: &str) -> Result<Option<(u32, Vec<u8>)>, Error> {
        let Some(id) = self.store.app_get(&keys::log_key_current(tenant))? else {
            return Ok(None);
        };
        let id = u32::from_str_radix(&String::from_utf8_lossy(&id), 16)
            .map_err(|e| Error::Internal(format!("log key id: {e}")))?;
        let sealed = self
            .store
            .app_get(&keys::log_key(tenant, id))?
            .ok_or_else(|| {
                Error::Internal(format!("the log key {id:08x} of {tenant} is missing"))
            })?;
        Ok(Some((id, sealed)))
    }

    /// The history of a tenant's log keys (empty for a log on the platform key).
    pub fn log_key_history(&self, tenant: &str) -> Result<Vec<LogKeyInfo>, Error> {
        Ok(self
            .get_json(&keys::log_key_history(tenant))?
            .unwrap_or_default())
    }

    /// The writes that make a sealed key the tenant's current log key.
    pub fn log_key_ops(tenant: &str, key_id: u32, sealed: Vec<u8>) -> Vec<AppOp> {
        vec![
            (keys::log_key(tenant, key_id), Some(sealed)),
            (
                keys::log_key_current(tenant),
                Some(format!("{key_id:08x}").into_bytes()),
            ),
        ]
    }

    /// The write that stores a log key history.
    pub fn log_key_history_op(tenant: &str, h: &[LogKeyInfo]) -> AppOp {
        (keys::log_key_history(tenant), Some(json(&h)))
    }

    // Share links.

    /// A share link, with the indexes of its entries.
    pub fn share_link(&self, tenant: &str, id: &str) -> Result<Option<ShareLink>, Error> {
        let Some(mut l) = self.get_json::<ShareLink>(&keys::share_link(tenant, id))? else {
            return Ok(None);
        };
        l.issued_index = self.index_at(&keys::share_log(tenant, id, "issued"))?;
        l.revoked_index = self.index_at(&keys::share_log(tenant, id, "revoked"))?;
        Ok(Some(l))
    }

    /// Every share link of a tenant, with the indexes of their entries.
    pub fn share_links(&self, tenant: &str) -> Result<Vec<ShareLink>, Error> {
        let mut out: Vec<ShareLink> = self.scan_json(&keys::share_links(tenant))?;
        for l in &mut out {
            l.issued_index = self.index_at(&keys::share_log(tenant, &l.id, "issued"))?;
            l.revoked_index = self.index_at(&keys::share_log(tenant, &l.id, "revoked"))?;
        }
        Ok(out)
    }

    /// The key that gets the index of a link's `share_link_issued` entry.
    pub fn share_issued_key(tenant: &str, id: &str) -> Vec<u8> {
        keys::share_log(tenant, id, "issued")
    }

    /// The key that gets the index of a link's `share_link_revoked` entry.
    pub fn share_revoked_key(tenant: &str, id: &str) -> Vec<u8> {
        keys::share_log(tenant, id, "revoked")
    }

    /// The key that gets the index of a link's use number `n`.
    pub fn share_use_key(tenant: &str, id: &str, n: u32) -> Vec<u8> {
        keys::share_log(tenant, id, &format!("use/{n:010}"))
    }

    /// The indexes of a link's `share_link_used` entries, in use order.
    pub fn share_use_indexes(&self, tenant: &str, id: &str) -> Result<Vec<u64>, Error> {
        Ok(self
            .store
            .app_scan(&keys::share_log(tenant, id, "use/"))?
            .into_iter()
            .filter_map(|(_, v)| v.as_slice().try_into().ok().map(u64::from_be_bytes))
            .collect())
    }

    /// The link a token's hash opens: (tenant, id).
    pub fn share_token(&self, token_sha256: &str) -> Result<Option<(String, String)>, Error> {
        Ok(self
            .store
            .app_get(&keys::share_token(token_sha256))?
            .and_then(|v| {
                let s = String::from_utf8(v).ok()?;
                let (t, i) = s.split_once('/')?;
                Some((t.to_owned(), i.to_owned()))
            }))
    }

    /// A link's uses so far and its last use (Unix seconds).
    pub fn share_uses(&self, tenant: &str, id: &str) -> Result<(u32, Option<i64>), Error> {
        Ok(self
            .get_json::<(u32, Option<i64>)>(&keys::share_use(tenant, id))?
            .unwrap_or((0, None)))
    }

    /// The writes that store a share link (and, for a new one, its token index).
    pub fn share_link_ops(l: &ShareLink, new: bool) -> Vec<AppOp> {
        let mut ops = vec![(keys::share_link(&l.tenant, &l.id), Some(json(l)))];
        if new {
            ops.push((
                keys::share_token(&l.token_sha256),
                Some(format!("{}/{}", l.tenant, l.id).into_bytes()),
            ));
        }
        ops
    }

    /// The write that records a link's uses.
    pub fn share_use_op(tenant: &str, id: &str, uses: u32, at: i64) -> AppOp {
        (keys::share_use(tenant, id), Some(json(&(uses, Some(at)))))
    }

    // Witnesses.

    /// A tenant's officers, revoked ones too.
    pub fn officers(&self, tenant: &str) -> Result<Vec<OfficerRecord>, Error> {
        self.scan_json(&keys::officers(tenant))
    }

    /// One officer.
    pub fn officer(&self, tenant: &str, id: &str) -> Result<Option<OfficerRecord>, Error> {
        self.get_json(&keys::officer(tenant, id))
    }

    /// The write that stores an officer.
    pub fn officer_op(tenant: &str, o: &OfficerRecord) -> AppOp {
        (keys::officer(tenant, &o.id), Some(json(o)))
    }

    /// A tenant's witnesses.
    pub fn witnesses(&self, tenant: &str) -> Result<Vec<WitnessRecord>, Error> {
        self.scan_json(&keys::witnesses(tenant))
    }

    /// One witness, by key id.
    pub fn witness(&self, tenant: &str, id: &str) -> Result<Option<WitnessRecord>, Error> {
        self.get_json(&keys::witness(tenant, id))
    }

    /// The write that stores a witness (with a fresh state).
    pub fn witness_ops(tenant: &str, w: &WitnessRecord) -> Vec<AppOp> {
        vec![
            (keys::witness(tenant, &w.id), Some(json(w))),
            (
                keys::witness_state(tenant, &w.id),
                Some(json(&WitnessState::default())),
            ),
        ]
    }

    /// The writes that remove a witness and its state (its cosignatures stay).
    pub fn witness_delete_ops(tenant: &str, id: &str) -> Vec<AppOp> {
        vec![
            (keys::witness(tenant, id), None),
            (keys::witness_state(tenant, id), None),
        ]
    }

    /// What the log knows of a witness.
    pub fn witness_state(&self, tenant: &str, id: &str) -> Result<WitnessState, Error> {
        Ok(self
            .get_json(&keys::witness_state(tenant, id))?
            .unwrap_or_default())
    }

    /// Stores what the log knows of a witness (not evidence: no event).
    pub fn put_witness_state(
        &self,
        tenant: &str,
        id: &str,
        st: &WitnessState,
    ) -> Result<(), Error> {
        self.write(&[(keys::witness_state(tenant, id), Some(json(st)))])
    }

    /// The cosignature lines on the checkpoint of `size`, by witness name.
    pub fn cosignatures(
        &self,
        tenant: &str,
        size: u64,
    ) -> Result<std::collections::BTreeMap<String, String>, Error> {
        Ok(self
            .get_json(&keys::cosignatures(tenant, size))?
            .unwrap_or_default())
    }

    /// Adds a witness's cosignature line on the checkpoint of `size`, and
    /// moves the latest cosigned size forward. One writer per tenant (the
    /// witness job) calls this.
    pub fn add_cosignature(
        &self,
        tenant: &str,
        size: u64,
        witness: &str,
        line: &str,
    ) -> Result<(), Error> {
        let mut all = self.cosignatures(tenant, size)?;
        all.insert(witness.to_owned(), line.to_owned());
        let latest = self.cosigned_latest(tenant)?.unwrap_or(0).max(size);
        self.write(&[
            (keys::cosignatures(tenant, size), Some(json(&all))),
            (keys::cosigned_latest(tenant), Some(json(&latest))),
        ])
    }

    /// The largest checkpoint size that has a cosignature.
    pub fn cosigned_latest(&self, tenant: &str) -> Result<Option<u64>, Error> {
        self.get_json(&keys::cosigned_latest(tenant))
    }

    // Platform keys and the built-in TSA.

    /// A sealed platform key.
    pub fn platform_key(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.app_get(&keys::platform_key(name))?)
    }

    /// Stores a sealed platform key.
    pub fn put_platform_key(&self, name: &str, sealed: &[u8]) -> Result<(), Error> {
        self.write(&[(keys::platform_key(name), Some(sealed.to_vec()))])
    }

    /// The built-in TSA's sealed key, certificate and root (DER), if made.
    pub fn tsa_material(&self) -> Result<Option<TsaMaterial>, Error> {
        let s = &self.store;
        Ok(
            match (
                s.app_get(keys::TSA_KEY)?,
                s.app_get(keys::TSA_CERT)?,
                s.app_get(keys::TSA_ROOT)?,
            ) {
                (Some(k), Some(c), Some(r)) => Some((k, c, r)),
                _ => None,
            },
        )
    }

    /// Stores the built-in TSA's material.
    pub fn put_tsa_material(&self, sealed: &[u8], cert: &[u8], root: &[u8]) -> Result<(), Error> {
        self.write(&[
            (keys::TSA_KEY.to_vec(), Some(sealed.to_vec())),
            (keys::TSA_CERT.to_vec(), Some(cert.to_vec())),
            (keys::TSA_ROOT.to_vec(), Some(root.to_vec())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: &str) -> CustomerRecord {
        CustomerRecord {
            id: "c1".into(),
            tenant: "acme".into(),
            name: name.into(),
            created_at: 0,
            sso: vec![],
            entitlements: vec![],
        }
    }

    fn release(tag: &str, pushed: &str) -> AppOp {
        (
            keys::release("acme", "shop", tag, 1),
            Some(format!(r#"{{"pushed_at":"{pushed}"}}"#).into_bytes()),
        )
    }

    /// What the read cache keeps is dropped by every kind of write: a
    /// plain write, a delete, and the application writes of a log batch;
    /// a scan of a prefix follows a write of any key under it.
    #[tokio::test]
    async fn cached_reads_follow_every_write() {
        let d = tempfile::tempdir().unwrap();
        let opts = evident_log::StoreOptions {
            read_cache_prefixes: keys::CACHED.iter().map(|p| p.to_vec()).collect(),
            read_cache_bytes: 1 << 20,
            ..Default::default()
        };
        let store = Store::open(d.path(), opts).unwrap();
        store.create_log("acme", "test.example/acme").unwrap();
        let log = store
            .open_log("acme", &ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
            .unwrap();
        let db = Db::new(store);
        let name = |db: &Db| db.customer("acme", "c1").unwrap().map(|c| c.name);

        assert_eq!(name(&db), None);
        db.write(&Db::customer_ops(&customer("one"), false))
            .unwrap();
        assert_eq!(name(&db).as_deref(), Some("one"));
        assert_eq!(name(&db).as_deref(), Some("one"));
        log.append_indexed(
            vec![b"{}".to_vec()],
            Db::customer_ops(&customer("two"), false),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(name(&db).as_deref(), Some("two"));
        db.write(&Db::customer_ops(&customer("two"), true)).unwrap();
        assert_eq!(name(&db), None);

        let tags = |db: &Db| db.product_releases("acme", "shop").unwrap();
        assert!(tags(&db).is_empty());
        db.write(&[release("v1", "t1")]).unwrap();
        assert_eq!(tags(&db), [("v1".to_owned(), "t1".to_owned())]);
        log.append_indexed(vec![b"{}".to_vec()], vec![release("v2", "t2")], Vec::new())
            .await
            .unwrap();
        assert_eq!(tags(&db).len(), 2);
        // A write elsewhere leaves the cached scan alone (and it stays right).
        db.write(&[release_other()]).unwrap();
        assert_eq!(tags(&db).len(), 2);
    }

    fn release_other() -> AppOp {
        (
            keys::release("acme", "other", "v1", 1),
            Some(br#"{"pushed_at":"t"}"#.to_vec()),
        )
    }
}
