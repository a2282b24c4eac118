//! Regulator requests and the digest index that resolves what an
//! authority observed in the field to the releases that carry it.

use evident_log::AppOp;

use super::{json, keys, Db};
use crate::core::{
    regulator::{RegulatorRequest, ResolvedRelease},
    release::ReleaseRecord,
    Error,
};

impl Db {
    /// A regulator request, with the log index of each step.
    pub fn regulator_request(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<RegulatorRequest>, Error> {
        let Some(mut r) =
            self.get_json::<RegulatorRequest>(&keys::regulator_request(tenant, id))?
        else {
            return Ok(None);
        };
        self.with_steps(tenant, &mut r)?;
        Ok(Some(r))
    }

    /// A tenant's regulator requests (by id), with their steps' indexes.
    pub fn regulator_requests(&self, tenant: &str) -> Result<Vec<RegulatorRequest>, Error> {
        let mut all: Vec<RegulatorRequest> = self.scan_json(&keys::regulator_requests(tenant))?;
        for r in &mut all {
            self.with_steps(tenant, r)?;
        }
        Ok(all)
    }

    fn with_steps(&self, tenant: &str, r: &mut RegulatorRequest) -> Result<(), Error> {
        for (i, t) in r.history.iter_mut().enumerate() {
            t.log_index = self.index_at(&keys::regulator_log(tenant, &r.id, i))?;
        }
        Ok(())
    }

    /// The write that stores a request, and the key that gets the index of
    /// the entry of its latest step.
    pub fn regulator_request_ops(tenant: &str, r: &RegulatorRequest) -> (AppOp, Vec<u8>) {
        let mut stored = r.clone();
        for t in &mut stored.history {
            t.log_index = None;
        }
        (
            (keys::regulator_request(tenant, &r.id), Some(json(&stored))),
            keys::regulator_log(tenant, &r.id, r.history.len().saturating_sub(1)),
        )
    }

    /// The digest-index writes of a release revision: one per artefact.
    pub fn artefact_ops(tenant: &str, r: &ReleaseRecord) -> Vec<AppOp> {
        r.artefacts
            .iter()
            .filter_map(|a| {
                let hex = a.digest.strip_prefix("sha256:")?;
                Some((
                    keys::artefact(tenant, hex, &r.product, &r.tag, r.revision),
                    Some(a.name.clone().into_bytes()),
                ))
            })
            .collect()
    }

    /// Every release revision whose artefacts carry `digest`
    /// (`sha256:<hex>`), oldest push first. Indexes the releases pushed
    /// before the digest index existed on first use.
    pub fn releases_with_artefact(
        &self,
        tenant: &str,
        digest: &str,
    ) -> Result<Vec<ResolvedRelease>, Error> {
        if self.app_get(&keys::artefact_ready(tenant))?.is_none() {
            self.artefact_backfill(tenant)?;
        }
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let prefix = keys::artefacts(tenant, hex);
        let mut out = Vec::new();
        for (k, v) in self.app_scan(&prefix)? {
            let rest = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let mut parts = rest.split('/');
            let (Some(product), Some(tag), Some(rev)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::Internal(format!("artefact index key {rest:?}")));
            };
            let revision: u32 = rev
                .parse()
                .map_err(|_| Error::Internal(format!("artefact index key {rest:?}")))?;
            let release_index = self
                .index_at(&keys::release_log(tenant, product, tag, revision))?
                .ok_or_else(|| Error::Internal(format!("release {product} {tag} has no entry")))?;
            out.push(ResolvedRelease {
                product: product.to_owned(),
                tag: tag.to_owned(),
                revision,
                artefact: String::from_utf8_lossy(&v).into_owned(),
                release_index,
            });
        }
        out.sort_by_key(|r| r.release_index);
        Ok(out)
    }

    /// Indexes the artefacts of every release of `tenant` (those pushed
    /// before the index existed), then marks the tenant done. Idempotent.
    pub fn artefact_backfill(&self, tenant: &str) -> Result<usize, Error> {
        let _one = self.once.lock().unwrap_or_else(|e| e.into_inner());
        if self.app_get(&keys::artefact_ready(tenant))?.is_some() {
            return Ok(0);
        }
        let mut ops: Vec<AppOp> = Vec::new();
        for (_, v) in self.app_scan(&keys::tenant_releases(tenant))? {
            let r: ReleaseRecord = serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("release record: {e}")))?;
            ops.extend(Self::artefact_ops(tenant, &r));
        }
        let n = ops.len();
        ops.push((keys::artefact_ready(tenant), Some(Vec::new())));
        self.write(&ops)?;
        Ok(n)
    }

    /// The marker a new tenant starts with: it has no releases to index.
    pub fn artefact_ready_op(tenant: &str) -> AppOp {
        (keys::artefact_ready(tenant), Some(Vec::new()))
    }
}
