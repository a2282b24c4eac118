//! The component index of a tenant's releases, written with each push:
//! which revisions carry a component, by package URL and by name.
//!
//! - `search-purl/<tenant>/<purl without version>\0<version>\0<product>\0<tag>\0<revision:010>`
//!   → the full purl;
//! - `search-name/<tenant>/<name>\0<version>\0<product>\0<tag>\0<revision:010>`
//!   → the full purl, or nothing.
//!
//! A purl (exact, without version, or a prefix) and a name are one prefix
//! scan each; a version range filters the scanned versions.

use evident_log::AppOp;
use evident_sbom::{diff::purl_key, Model};

use super::{keys, Db};
use crate::core::{release::ReleaseRecord, Error};

/// One revision that carries a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// The component's name (for a name scan) or purl without version.
    pub key: String,
    /// Its version (empty when it has none).
    pub version: String,
    /// Its purl, when it has one.
    pub purl: Option<String>,
}

/// What a scan matches of the purl (without version) or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match<'a> {
    /// Every key that starts with the text.
    Prefix,
    /// The key itself, any version.
    Key,
    /// The key itself at this version.
    KeyVersion(&'a str),
}

/// Which index a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// By purl (without version).
    Purl,
    /// By name.
    Name,
}

/// Whether `s` can be part of an index key (no NUL, which separates the
/// parts).
fn keyable(s: &str) -> bool {
    !s.contains('\0')
}

impl Db {
    /// The index entries of one release revision.
    pub fn search_ops(tenant: &str, r: &ReleaseRecord, m: &Model) -> Vec<AppOp> {
        let tail = format!("\0{}\0{}\0{:010}", r.product, r.tag, r.revision);
        let mut ops = Vec::with_capacity(2 * (m.components.len() + 1));
        for c in m.subject.iter().chain(&m.components) {
            let version = c.version.as_deref().unwrap_or("");
            if !keyable(version) || !keyable(&c.name) {
                continue;
            }
            let purl = c.purl.as_deref().filter(|p| keyable(p));
            if let Some(p) = purl {
                let mut k = keys::search(By::Purl, tenant, &purl_key(p));
                k.extend_from_slice(format!("\0{version}{tail}").as_bytes());
                ops.push((k, Some(p.as_bytes().to_vec())));
            }
            let mut k = keys::search(By::Name, tenant, &c.name);
            k.extend_from_slice(format!("\0{version}{tail}").as_bytes());
            ops.push((k, Some(purl.unwrap_or("").as_bytes().to_vec())));
        }
        ops
    }

    /// Visits the revisions whose components' purl (without version) or
    /// name matches `text` as `how` says, in key order, until `visit`
    /// returns `false` or `budget` keys were read. Indexes the releases
    /// pushed before the index existed on first use. Returns whether the
    /// budget ran out.
    pub fn search_scan(
        &self,
        tenant: &str,
        by: By,
        (text, how): (&str, Match<'_>),
        budget: usize,
        mut visit: impl FnMut(Hit) -> bool,
    ) -> Result<bool, Error> {
        if self.app_get(&keys::search_ready(tenant))?.is_none() {
            self.search_backfill(tenant)?;
        }
        let mut start = keys::search(by, tenant, text);
        match how {
            Match::Prefix => {}
            Match::Key => start.push(0),
            Match::KeyVersion(v) => start.extend_from_slice(format!("\0{v}\0").as_bytes()),
        }
        let head = keys::search(by, tenant, "").len();
        let mut after: Option<Vec<u8>> = None;
        let mut read = 0usize;
        loop {
            let page = self.store.app_scan_page(&start, after.as_deref(), 1024)?;
            let Some((last, _)) = page.last() else {
                return Ok(false);
            };
            after = Some(last.clone());
            for (k, v) in &page {
                read += 1;
                let rest = String::from_utf8_lossy(&k[head..]).into_owned();
                let parts: Vec<&str> = rest.split('\0').collect();
                let [key, version, product, tag, rev] = parts.as_slice() else {
                    return Err(Error::Internal(format!("search index key {rest:?}")));
                };
                let revision: u32 = rev
                    .parse()
                    .map_err(|_| Error::Internal(format!("search index key {rest:?}")))?;
                let purl = (!v.is_empty()).then(|| String::from_utf8_lossy(v).into_owned());
                let hit = Hit {
                    product: (*product).to_owned(),
                    tag: (*tag).to_owned(),
                    revision,
                    key: (*key).to_owned(),
                    version: (*version).to_owned(),
                    purl,
                };
                if !visit(hit) {
                    return Ok(false);
                }
                if read >= budget {
                    return Ok(true);
                }
            }
            if page.len() < 1024 {
                return Ok(false);
            }
        }
    }

    /// Indexes the components of every release of `tenant` (those pushed
    /// before the index existed), then marks the tenant done. Idempotent.
    pub fn search_backfill(&self, tenant: &str) -> Result<usize, Error> {
        let _one = self.once.lock().unwrap_or_else(|e| e.into_inner());
        if self.app_get(&keys::search_ready(tenant))?.is_some() {
            return Ok(0);
        }
        let mut n = 0;
        for (_, v) in self.app_scan(&keys::tenant_releases(tenant))? {
            let r: ReleaseRecord = serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("release record: {e}")))?;
            let json = self
                .model_json(&r.sbom.sha256)?
                .ok_or_else(|| Error::Internal(format!("model {} is missing", r.sbom.sha256)))?;
            let m = Model::from_json(&json)
                .map_err(|e| Error::Internal(format!("model {}: {e}", r.sbom.sha256)))?;
            let ops = Self::search_ops(tenant, &r, &m);
            n += ops.len();
            self.write(&ops)?;
        }
        self.write(&[Self::search_ready_op(tenant)])?;
        Ok(n)
    }

    /// The index entries that name a product release as the parent of
    /// each of its components.
    pub fn component_of_ops(tenant: &str, r: &ReleaseRecord) -> Vec<AppOp> {
        r.components
            .iter()
            .map(|c| {
                (
                    keys::component_of(tenant, (&c.product, &c.tag), (&r.product, &r.tag)),
                    Some(Vec::new()),
                )
            })
            .collect()
    }

    /// The product releases (product, tag) that name `product`/`tag` as a
    /// component.
    pub fn parents_of(
        &self,
        tenant: &str,
        product: &str,
        tag: &str,
    ) -> Result<Vec<(String, String)>, Error> {
        let prefix = keys::parents_of(tenant, product, tag);
        let v = self.store.app_scan_cached(&prefix, |kvs| {
            kvs.iter()
                .filter_map(|(k, _)| {
                    let rest = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                    rest.split_once('/')
                        .map(|(p, t)| (p.to_owned(), t.to_owned()))
                })
                .collect::<Vec<_>>()
        })?;
        Ok(v.as_ref().clone())
    }

    /// The marker a new tenant starts with: it has no releases to index.
    pub fn search_ready_op(tenant: &str) -> AppOp {
        (keys::search_ready(tenant), Some(Vec::new()))
    }
}
