//! The catalogue: products and releases as callers may see them, each
//! release's normalized model, and the one check of who may read a release
//! (staff tokens, or a customer whose entitlements match, through
//! `core::policy`).

use std::sync::Arc;

use evident_sbom::{ExportFormat, Model, Release};
use serde::Deserialize;

pub use crate::core::release::ReleaseSummary;
use crate::{
    core::{
        policy::{allow, Action, Entitled, Resource},
        records::CustomerRecord,
        release::ReleaseRecord,
        Error, Principal,
    },
    service::AppState,
};

/// Whether `p` may do `action` (reading a release, its exports or its
/// NOTICE) on `product`/`tag` of `tenant`: the tenant's staff by scope, a
/// customer only when its entitlements match. Anyone else gets 404.
pub fn authorize_release(
    state: &AppState,
    p: &Principal,
    action: Action,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<(), Error> {
    let (customer, releases) = match p {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if t == tenant => {
            let c = state
                .store()
                .customer(tenant, customer)?
                .ok_or_else(Error::not_found)?;
            // Only `latest` needs the product's other releases.
            let releases = if c.wants_latest(product) {
                state.store().product_releases(tenant, product)?
            } else {
                Vec::new()
            };
            (Some(c), releases)
        }
        _ => (None, Vec::new()),
    };
    // An entitlement to a product release covers its components.
    let via_parent = match &customer {
        Some(c) if !c.entitled(product, tag, &releases) => {
            let mut covered = false;
            for (pp, pt) in crate::service::releases::parents(state, tenant, product, tag)? {
                let parent_releases = if c.wants_latest(&pp) {
                    state.store().product_releases(tenant, &pp)?
                } else {
                    Vec::new()
                };
                if c.entitled(&pp, &pt, &parent_releases) {
                    covered = true;
                    break;
                }
            }
            covered
        }
        _ => false,
    };
    let public = match p {
        Principal::Public { tenant: t, .. } if t == tenant => {
            crate::service::portal::shows_publicly(state, tenant, product, tag)?
        }
        _ => false,
    };
    allow(
        p,
        action,
        Resource::Release {
            tenant,
            product,
            tag,
            entitled: customer.as_ref().map(|c| Entitled {
                customer: c,
                releases: &releases,
                via_parent,
            }),
            public,
        },
    )
}

/// For a customer of `tenant`, its record (listings are filtered by it);
/// `None` for the tenant's staff; 404 for anyone else.
fn visible_customer(
    state: &AppState,
    p: &Principal,
    tenant: &str,
) -> Result<Option<CustomerRecord>, Error> {
    allow(p, Action::ListReleases, Resource::Tenant(tenant))?;
    match p {
        Principal::Customer { customer, .. } => Ok(Some(
            state
                .store()
                .customer(tenant, customer)?
                .ok_or_else(Error::not_found)?,
        )),
        _ => Ok(None),
    }
}

/// A product's releases the caller may see, newest first.
pub fn releases(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    product: &str,
) -> Result<Vec<ReleaseSummary>, Error> {
    let customer = visible_customer(state, p, tenant)?;
    state.tenant_log(tenant)?;
    let all = state.store().product_releases(tenant, product)?;
    let mut tags: Vec<String> = all.iter().map(|(t, _)| t.clone()).collect();
    if let Some(c) = &customer {
        // What the customer's entitlements give it, components of its
        // product releases included.
        let seen = crate::service::customers::entitled_releases(state, c)?;
        tags.retain(|t| seen.iter().any(|(p, x, _)| p == product && x == t));
    }
    if tags.is_empty() {
        return Err(Error::not_found());
    }
    let mut out = Vec::new();
    for tag in tags {
        let revs = state.store().revisions(tenant, product, &tag)?;
        let Some(last) = revs.last() else { continue };
        out.push(ReleaseSummary {
            tag,
            latest_revision: last.revision,
            pushed_at: last.pushed_at.clone(),
            revisions: revs,
        });
    }
    out.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.tag.cmp(&b.tag))
    });
    Ok(out)
}

/// The products the caller may see.
pub fn products(state: &AppState, p: &Principal, tenant: &str) -> Result<Vec<String>, Error> {
    let customer = visible_customer(state, p, tenant)?;
    state.tenant_log(tenant)?;
    if let Some(c) = customer {
        let mut out: Vec<String> = crate::service::customers::entitled_releases(state, &c)?
            .into_iter()
            .map(|(p, _, _)| p)
            .collect();
        out.sort();
        out.dedup();
        return Ok(out);
    }
    state.store().products(tenant)
}

/// One release (tag) with its revisions.
pub fn release(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<ReleaseSummary, Error> {
    authorize_release(state, p, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let revs = state.store().revisions(tenant, product, tag)?;
    let last = revs.last().ok_or_else(Error::not_found)?;
    Ok(ReleaseSummary {
        tag: tag.to_owned(),
        latest_revision: last.revision,
        pushed_at: last.pushed_at.clone(),
        revisions: revs,
    })
}

/// `?format=…&revision=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Output format.
    #[serde(default)]
    pub format: Option<String>,
    /// Revision; the latest when absent.
    #[serde(default)]
    pub revision: Option<u32>,
    /// The VEX version inline in a CycloneDX export; the latest about the
    /// revision when absent (none when none was published for it); `0`
    /// for the plain export without VEX.
    #[serde(default)]
    pub vex: Option<u32>,
}

/// Loads one revision (the latest by default) and its model.
pub fn load(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
    revision: Option<u32>,
) -> Result<(ReleaseRecord, Release), Error> {
    let revs = state.store().revisions(tenant, product, tag)?;
    let rec = match revision {
        Some(n) => revs.into_iter().find(|r| r.revision == n),
        None => revs.into_iter().last(),
    }
    .ok_or_else(Error::not_found)?;
    let release = Release {
        tenant: tenant.to_owned(),
        product: rec.product.clone(),
        tag: rec.tag.clone(),
        revision: rec.revision,
        artefacts: rec
            .artefacts
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.digest.trim_start_matches("sha256:").to_owned(),
                )
            })
            .collect(),
        pushed_at: rec.pushed_at_unix,
        spdx_namespace: rec.spdx_namespace.clone(),
        tool_version: rec.tool_version.clone(),
    };
    Ok((rec, release))
}

/// The model of a revision's SBOM (cached by its SHA-256).
pub fn model(state: &AppState, rec: &ReleaseRecord) -> Result<Arc<Model>, Error> {
    let sha = &rec.sbom.sha256;
    if let Some(m) = state.caches().model(sha) {
        return Ok(m);
    }
    let bytes = state
        .store()
        .model_json(sha)?
        .ok_or_else(|| Error::Internal(format!("model {sha} is missing")))?;
    let m = Arc::new(
        Model::from_json(&bytes).map_err(|e| Error::Internal(format!("model {sha}: {e}")))?,
    );
    state.caches().put_model(sha, m.clone(), bytes.len());
    Ok(m)
}

/// The `format=` of an export query (CycloneDX JSON when absent); 422
/// listing the accepted values otherwise.
pub fn export_format(q: &ExportQuery) -> Result<ExportFormat, Error> {
    match q.format.as_deref() {
        None => Ok(ExportFormat::CyclonedxJson),
        Some(f) => ExportFormat::parse(f).ok_or_else(|| {
            Error::Unprocessable(format!(
                "format {f:?} is not one of {}",
                ExportFormat::ALL.map(ExportFormat::name).join(", ")
            ))
        }),
    }
}

/// The latest revision's model and export context, for `evident bench sbom`.
pub fn bench_release(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<(Model, Release), Error> {
    let (rec, release) = load(state, tenant, product, tag, None)?;
    Ok(((*model(state, &rec)?).clone(), release))
}
