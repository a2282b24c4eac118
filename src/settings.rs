//! Tenant settings: the default lifetime of share links (24 hours to 30
//! days; share links themselves come later). `GET|PUT
//! /api/v1/tenants/{t}/settings` (admin); each change is a
//! `settings_updated` log event.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Principal, Scope},
    error::{ApiError, ApiJson},
    events::EventBody,
    state::AppState,
};

/// The shortest share-link lifetime, seconds (24 hours).
pub const MIN_SHARE_TTL: i64 = 24 * 3600;
/// The longest share-link lifetime, seconds (30 days).
pub const MAX_SHARE_TTL: i64 = 30 * 24 * 3600;

/// A tenant's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Default share-link lifetime, seconds (86400 to 2592000).
    pub share_link_ttl_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            share_link_ttl_secs: 7 * 24 * 3600,
        }
    }
}

/// A tenant's settings (the defaults when none were saved).
pub fn load(state: &AppState, tenant: &str) -> Settings {
    state
        .store()
        .app_get(format!("settings/{tenant}").as_bytes())
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or_default()
}

/// Validates, stores and logs a new share-link TTL default.
pub async fn update(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    share_link_ttl_secs: i64,
) -> Result<Settings, ApiError> {
    principal.require(tenant, &[Scope::Admin])?;
    state.tenant_log(tenant)?;
    if !(MIN_SHARE_TTL..=MAX_SHARE_TTL).contains(&share_link_ttl_secs) {
        return Err(ApiError::Unprocessable(format!(
            "the share-link lifetime must be between {MIN_SHARE_TTL} s (24 hours) and {MAX_SHARE_TTL} s (30 days)"
        )));
    }
    let s = Settings {
        share_link_ttl_secs,
    };
    state
        .record(
            tenant,
            principal.actor(),
            EventBody::SettingsUpdated {
                share_link_ttl_secs,
            },
            vec![(
                format!("settings/{tenant}").into_bytes(),
                Some(serde_json::to_vec(&s).expect("plain data")),
            )],
        )
        .await?;
    Ok(s)
}

/// `GET /api/v1/tenants/{t}/settings` (admin).
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Settings>, ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    state.tenant_log(&tenant)?;
    Ok(ApiJson(load(&state, &tenant)))
}

/// `PUT /api/v1/tenants/{t}/settings` (admin).
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiJson(s): ApiJson<Settings>,
) -> Result<ApiJson<Settings>, ApiError> {
    Ok(ApiJson(
        update(&state, &principal, &tenant, s.share_link_ttl_secs).await?,
    ))
}
