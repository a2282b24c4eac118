//! Tenant settings: the default lifetime of share links (24 hours to 30
//! days), and whether the log's tiles and checkpoint (and, apart, its entry
//! bundles) are public. Each change is a `settings_updated` log event, in the batch that
//! stores it.

pub use crate::core::records::{Settings, MAX_SHARE_TTL, MIN_SHARE_TTL};
use crate::{
    core::{
        events::EventBody,
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::AppState,
    store::Db,
};

/// A tenant's settings (admin).
pub fn get(state: &AppState, principal: &Principal, tenant: &str) -> Result<Settings, Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    state.store().settings(tenant)
}

/// Validates, stores and logs new settings (admin).
pub async fn update(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    s: Settings,
) -> Result<Settings, Error> {
    allow(principal, Action::ManageSettings, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let (ttl, max) = (s.share_link_ttl_secs, s.share_link_max_ttl_secs);
    if !(MIN_SHARE_TTL..=MAX_SHARE_TTL).contains(&max) {
        return Err(Error::Unprocessable(format!(
            "share_link_max_ttl_secs must be between {MIN_SHARE_TTL} s (24 hours) and {MAX_SHARE_TTL} s (30 days)"
        )));
    }
    if s.public_entries && !s.public_log {
        return Err(Error::Unprocessable(
            "public_entries needs public_log: entry bundles are served beside the tiles".into(),
        ));
    }
    if !(MIN_SHARE_TTL..=max).contains(&ttl) {
        return Err(Error::Unprocessable(format!(
            "the share-link lifetime must be between {MIN_SHARE_TTL} s (24 hours) and the tenant's maximum, {max} s"
        )));
    }
    state
        .record(
            tenant,
            principal.actor(),
            EventBody::SettingsUpdated {
                share_link_ttl_secs: ttl,
                share_link_max_ttl_secs: Some(max),
                public_log: Some(s.public_log),
                public_entries: Some(s.public_entries),
            },
            Db::settings_ops(tenant, &s),
        )
        .await?;
    Ok(s)
}
