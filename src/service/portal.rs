//! The portal's settings and logo (admin), what a page frame shows, and
//! the anonymous visitor of a public portal: who it is (a pseudonym of
//! its address, keyed per tenant) and what it may see. Each change is a
//! log event in the batch that stores it.

use std::net::IpAddr;

use sha2::{Digest as _, Sha256};

pub use crate::core::portal::{Logo, PortalSettings, Visibility};
use crate::{
    core::{
        access::{latest, needs_latest},
        events::EventBody,
        policy::{allow, Action, Resource},
        portal::check_logo,
        Error, Principal,
    },
    service::{customers::EntitledRelease, keys::client_bytes, limits::Anonymous, AppState},
    store::Db,
};

/// The portal settings with the logo they show.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PortalView {
    /// The settings.
    #[serde(flatten)]
    pub settings: PortalSettings,
    /// The logo, when one is set (`PUT …/portal/logo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
}

fn view(state: &AppState, tenant: &str) -> Result<PortalView, Error> {
    Ok(PortalView {
        settings: state.store().portal(tenant)?,
        logo: state.store().portal_logo(tenant)?,
    })
}

/// The portal settings (admin).
pub fn get(state: &AppState, principal: &Principal, tenant: &str) -> Result<PortalView, Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    view(state, tenant)
}

/// Validates, stores and logs new portal settings (admin).
pub async fn update(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    s: PortalSettings,
) -> Result<PortalView, Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    s.validate()?;
    state
        .record(
            tenant,
            principal.actor(),
            s.event(),
            Db::portal_ops(tenant, &s),
        )
        .await?;
    view(state, tenant)
}

/// Checks, stores and logs a new logo (admin): `media_type` is the
/// upload's `Content-Type`, `image/png` or `image/svg+xml`.
pub async fn set_logo(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<Logo, Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let media_type = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    check_logo(&media_type, &bytes)?;
    let logo = Logo {
        media_type,
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes: bytes.len() as u64,
    };
    let ops = state
        .store()
        .portal_logo_ops(tenant, Some((&logo, bytes)))?;
    state
        .record(
            tenant,
            principal.actor(),
            EventBody::PortalLogoChanged {
                sha256: Some(logo.sha256.clone()),
                media_type: Some(logo.media_type.clone()),
                bytes: Some(logo.bytes),
            },
            ops,
        )
        .await?;
    Ok(logo)
}

/// Removes the logo (admin); 404 when there is none.
pub async fn remove_logo(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<(), Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    if state.store().portal_logo(tenant)?.is_none() {
        return Err(Error::NotFound("the portal has no logo".into()));
    }
    let ops = state.store().portal_logo_ops(tenant, None)?;
    state
        .record(
            tenant,
            principal.actor(),
            EventBody::PortalLogoChanged {
                sha256: None,
                media_type: None,
                bytes: None,
            },
            ops,
        )
        .await?;
    Ok(())
}

/// What every portal page of a tenant shows around its content.
#[derive(Debug, Clone)]
pub struct Brand {
    /// Tenant slug.
    pub tenant: String,
    /// The name in the header.
    pub name: String,
    /// The settings.
    pub settings: PortalSettings,
    /// The logo, when set.
    pub logo: Option<Logo>,
}

/// The frame of `tenant`'s portal: `None` for an unknown tenant and for
/// one whose portal is off (both answer 404 alike).
pub fn brand(state: &AppState, tenant: &str) -> Result<Option<Brand>, Error> {
    let Some(t) = state.tenant(tenant)? else {
        return Ok(None);
    };
    let settings = state.store().portal(tenant)?;
    if !settings.enabled {
        return Ok(None);
    }
    Ok(Some(Brand {
        tenant: t.slug,
        name: settings.name(&t.name).to_owned(),
        logo: state.store().portal_logo(tenant)?,
        settings,
    }))
}

/// Whether the portal is off: its pages answer as an unknown tenant's do
/// (`portal::gate`). An unknown tenant is not "off".
pub fn is_off(state: &AppState, tenant: &str) -> Result<bool, Error> {
    Ok(state.tenant(tenant)?.is_some() && !state.store().portal(tenant)?.enabled)
}

/// The logo's record and bytes, when the tenant has one.
pub fn logo(state: &AppState, tenant: &str) -> Result<Option<(Logo, Vec<u8>)>, Error> {
    let Some(l) = state.store().portal_logo(tenant)? else {
        return Ok(None);
    };
    let bytes = state
        .store()
        .blob(&l.sha256)?
        .ok_or_else(|| Error::Internal(format!("the logo blob {} is missing", l.sha256)))?;
    Ok(Some((l, bytes)))
}

/// Whether `tenant`'s portal shows `product`/`tag` to anyone.
pub fn shows_publicly(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<bool, Error> {
    let s = state.store().portal(tenant)?;
    let releases = if needs_latest(&s.public_releases, product) {
        state.store().product_releases(tenant, product)?
    } else {
        Vec::new()
    };
    Ok(s.shows_publicly(product, tag, &releases))
}

/// The pseudonym of client address `addr` in `tenant`'s log: 64 bits
/// (hex) of a keyed hash of the tenant and the address (an IPv6
/// address's /64), under a key derived from the master key.
pub fn pseudonym(state: &AppState, tenant: &str, addr: IpAddr) -> String {
    let h = state.master().pseudonym(
        "public-portal client/v1",
        &[tenant.as_bytes(), &client_bytes(addr)],
    );
    hex::encode(&h[..8])
}

/// The anonymous visitor at `addr` of `tenant`'s public portal, after
/// counting the request against the per-address and per-tenant limits of
/// public downloads; 404 when the portal is unknown, off or private.
pub fn visitor(state: &AppState, tenant: &str, addr: IpAddr) -> Result<Principal, Error> {
    let public = state.tenant(tenant)?.is_some() && {
        let s = state.store().portal(tenant)?;
        s.enabled && s.visibility == Visibility::Public
    };
    if !public {
        return Err(Error::not_found());
    }
    state
        .limits()
        .check(Anonymous::Public, addr, Some(tenant))?;
    Ok(Principal::Public {
        tenant: tenant.to_owned(),
        client: pseudonym(state, tenant, addr),
    })
}

/// What a public portal shows, newest first (for its visitors, and for
/// the admin's preview).
pub fn public_releases(state: &AppState, tenant: &str) -> Result<Vec<EntitledRelease>, Error> {
    let s = state.store().portal(tenant)?;
    if !s.enabled || s.visibility != Visibility::Public {
        return Ok(Vec::new());
    }
    let mut products: Vec<&str> = s
        .public_releases
        .iter()
        .map(|e| e.product.as_str())
        .collect();
    products.sort_unstable();
    products.dedup();
    let mut out = Vec::new();
    for p in products {
        let releases = state.store().product_releases(tenant, p)?;
        let newest = latest(&releases, false).map(str::to_owned);
        for (tag, _) in &releases {
            if s.shows_publicly(p, tag, &releases) {
                let Some(rec) = state.store().revisions(tenant, p, tag)?.pop() else {
                    continue;
                };
                out.push(EntitledRelease {
                    product: p.to_owned(),
                    tag: tag.clone(),
                    revision: rec.revision,
                    pushed_at: rec.pushed_at,
                    latest: newest.as_deref() == Some(tag),
                });
            }
        }
    }
    crate::service::customers::newest_first(&mut out);
    Ok(out)
}
