//! Tenancy: tenants, their logs and their tokens. Creating a tenant makes
//! its log (with its own key), its first admin token and its export key;
//! every token issuance and revocation is one batch with its log event, so
//! a token exists exactly when its `token_issued` entry does.

use evident_log::LogError;
use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::{now_unix, parse_rfc3339, rfc3339},
        events::{EventBody, Subject},
        names,
        policy::{allow, Action, Resource},
        records::{TenantRecord, TokenRecord},
        Error, Principal, Scope,
    },
    service::{identity::mint, AppState},
    store::Db,
};

/// Default token lifetime: 90 days.
const DEFAULT_TTL: i64 = 90 * 24 * 3600;
/// Shortest allowed token lifetime: 5 minutes.
const MIN_TTL: i64 = 300;
/// Longest allowed token lifetime: 2 years.
const MAX_TTL: i64 = 2 * 366 * 24 * 3600;

/// `POST /api/v1/tenants` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 1–64 of `a-z 0-9 -`, starting with a letter or digit.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A token as shown once at issuance.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The secret token. Shown only now.
    pub token: String,
    /// Token id.
    pub id: String,
    /// Scope.
    pub scope: Scope,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// Index of the `token_issued` event in the tenant's log.
    pub log_index: u64,
}

/// `POST /api/v1/tenants` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantCreated {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// The log's origin line.
    pub origin: String,
    /// The log's verifier key string.
    pub log_key: String,
    /// The first admin token.
    pub admin_token: IssuedToken,
    /// Index of the `tenant_created` event (always 0).
    pub log_index: u64,
}

/// Creates a tenant, its log and a first admin token (operator).
///
/// The `tenant_created` and `token_issued` events, the tenant record and the
/// token record are one atomic batch: once sent, it commits even if the
/// client goes away (the operator can then issue a new admin token), and
/// after a crash either all of it exists or none of it does.
pub async fn create_tenant(
    state: &AppState,
    principal: &Principal,
    req: CreateTenant,
) -> Result<TenantCreated, Error> {
    allow(principal, Action::ManageTenants, Resource::Platform)?;
    names::check_slug(&req.slug)?;
    let name = names::display_name(&req.name)?;
    // The creation runs in its own task holding the creation lock until its
    // batch has committed, so a client that goes away mid-request can neither
    // leave the lock free for a duplicate nor skip the bookkeeping.
    let task = tokio::spawn(create(state.clone(), principal.clone(), req.slug, name));
    task.await
        .map_err(|e| Error::Internal(format!("tenant creation task failed: {e}")))?
}

async fn create(
    state: AppState,
    principal: Principal,
    slug: String,
    name: String,
) -> Result<TenantCreated, Error> {
    // One creation at a time, so two requests for one slug cannot both create it.
    let _creating = state.record_lock("tenant-creation".into()).await;
    if state.tenant(&slug)?.is_some() {
        return Err(Error::Conflict(format!("tenant {:?} already exists", slug)));
    }
    let origin = format!("{}/{}", state.public_host(), slug);
    // The log's own key, stored before the log is opened with it (so a
    // creation retried after a failed batch signs with the key that is kept).
    crate::service::log_keys::for_new_log(state.store(), state.master(), &slug, &origin)?;
    match state.store().create_log(&slug, &origin) {
        // A log without a tenant record is what a creation whose batch never
        // committed leaves behind; it is empty and is reused.
        Ok(()) | Err(LogError::LogExists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let log = state.log(&slug)?;
    if log.size() != 0 || log.origin() != origin {
        return Err(Error::Conflict(format!(
            "a log for {:?} exists with other content or another origin; this slug cannot be used",
            slug
        )));
    }
    let log_key = log.verifier().to_vkey();
    let now = now_unix();
    let tenant = TenantRecord {
        slug: slug.clone(),
        name: name.clone(),
        created_at: now,
        origin: origin.clone(),
    };
    let (rec, token) = new_token(
        &slug,
        Scope::Admin,
        Some("initial admin".into()),
        now + DEFAULT_TTL,
    );
    let mut ops = Db::tenant_ops(&tenant);
    ops.extend(Db::token_ops(&rec));
    // The log is indexed for audit queries from its first entry.
    ops.push(Db::audit_ready_op(&slug));
    ops.push(Db::artefact_ready_op(&slug));
    ops.push(Db::search_ready_op(&slug));
    ops.push(Db::stats_ready_op(&slug));
    let log_index = state
        .record_indexed(
            &slug,
            vec![
                (
                    principal.actor(),
                    EventBody::TenantCreated {
                        name: name.clone(),
                        origin: origin.clone(),
                        log_key: log_key.clone(),
                    },
                ),
                (principal.actor(), issued_event(&rec)),
            ],
            ops,
            Vec::new(),
        )
        .await?;
    // Every tenant has an export-signing key from the start (its own event).
    crate::service::signing::current_key(&state, &slug, principal.actor()).await?;
    state.metrics().tenants.inc();
    Ok(TenantCreated {
        slug: tenant.slug,
        name: tenant.name,
        origin,
        log_key,
        admin_token: shown(rec, token, log_index + 1),
        log_index,
    })
}

/// Issues a new admin token for a tenant (operator), e.g. when the first
/// was lost or has expired; recorded in that tenant's log.
pub async fn operator_admin_token(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<IssuedToken, Error> {
    allow(principal, Action::IssueAdminToken, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    issue(
        state,
        principal,
        tenant,
        Scope::Admin,
        Some("issued by the operator".into()),
        None,
    )
    .await
}

/// One tenant as listed to the operator.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantSummary {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Origin.
    pub origin: String,
    /// RFC 3339.
    pub created_at: String,
}

/// The tenants on this server (operator).
pub fn list_tenants(state: &AppState, principal: &Principal) -> Result<Vec<TenantSummary>, Error> {
    allow(principal, Action::ManageTenants, Resource::Platform)?;
    Ok(state
        .tenants()?
        .into_iter()
        .map(|t| TenantSummary {
            slug: t.slug,
            name: t.name,
            origin: t.origin,
            created_at: rfc3339(t.created_at),
        })
        .collect())
}

/// A new token record and the token string to show once.
fn new_token(
    tenant: &str,
    scope: Scope,
    label: Option<String>,
    expires_at: i64,
) -> (TokenRecord, String) {
    let m = mint();
    (
        TokenRecord {
            id: m.id,
            tenant: Some(tenant.to_owned()),
            scope,
            label,
            created_at: now_unix(),
            expires_at: Some(expires_at),
            last_used_at: None,
            revoked_at: None,
            secret_sha256: m.secret_sha256,
            customer: None,
        },
        m.token,
    )
}

fn issued_event(rec: &TokenRecord) -> EventBody {
    EventBody::TokenIssued {
        token_id: rec.id.clone(),
        scope: rec.scope,
        label: rec.label.clone(),
        expires_at: rfc3339(rec.expires_at.unwrap_or_default()),
        customer_id: rec.customer.clone(),
    }
}

fn shown(rec: TokenRecord, token: String, log_index: u64) -> IssuedToken {
    IssuedToken {
        token,
        id: rec.id,
        scope: rec.scope,
        label: rec.label,
        expires_at: rfc3339(rec.expires_at.unwrap_or_default()),
        log_index,
    }
}

async fn issue(
    state: &AppState,
    by: &Principal,
    tenant: &str,
    scope: Scope,
    label: Option<String>,
    expires_at: Option<i64>,
) -> Result<IssuedToken, Error> {
    let (rec, token) = new_token(
        tenant,
        scope,
        label,
        expires_at.unwrap_or(now_unix() + DEFAULT_TTL),
    );
    // The token exists exactly when its `token_issued` event does.
    let log_index = state
        .record(tenant, by.actor(), issued_event(&rec), Db::token_ops(&rec))
        .await?;
    Ok(shown(rec, token, log_index))
}

/// Issues a customer access token (scope `customer`), logged like any token.
pub async fn issue_customer_token(
    state: &AppState,
    by: &Principal,
    tenant: &str,
    customer_id: &str,
    req: crate::service::customers::NewCustomerToken,
) -> Result<IssuedToken, Error> {
    names::check_label(req.label.as_deref())?;
    let ttl = req.expires_in.unwrap_or(DEFAULT_TTL);
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(Error::Unprocessable(format!(
            "expires_in must be between {MIN_TTL} seconds and {} days",
            MAX_TTL / 86400
        )));
    }
    let (mut rec, token) = new_token(tenant, Scope::Customer, req.label, now_unix() + ttl);
    rec.customer = Some(customer_id.to_owned());
    let log_index = state
        .record(tenant, by.actor(), issued_event(&rec), Db::token_ops(&rec))
        .await?;
    Ok(shown(rec, token, log_index))
}

/// `POST /api/v1/tenants/{tenant}/tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `push` or `auditor`.
    pub scope: Scope,
    /// Free text, up to 200 characters.
    #[serde(default)]
    pub label: Option<String>,
    /// RFC 3339 expiry; or give `expires_in` seconds; default 90 days.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Lifetime in seconds (300 to 2 years).
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Issues a tenant token (admin): `admin`, `push`, `auditor`, `share` or `officer`.
pub async fn create_token(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: CreateToken,
) -> Result<IssuedToken, Error> {
    allow(principal, Action::ManageTokens, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    if matches!(req.scope, Scope::Operator | Scope::Customer) {
        return Err(Error::Unprocessable(
            "scope must be one of admin, push, auditor, share, officer (customer tokens are issued under …/customers/{id}/tokens)".into(),
        ));
    }
    names::check_label(req.label.as_deref())?;
    let now = now_unix();
    let expires_at = match (&req.expires_at, req.expires_in) {
        (Some(_), Some(_)) => {
            return Err(Error::Unprocessable(
                "give expires_at or expires_in, not both".into(),
            ))
        }
        (Some(s), None) => Some(parse_rfc3339(s).ok_or_else(|| {
            Error::Unprocessable(format!("expires_at {s:?} is not an RFC 3339 time"))
        })?),
        (None, Some(secs)) => Some(now.saturating_add(secs)),
        (None, None) => None,
    };
    if let Some(e) = expires_at {
        if e - now < MIN_TTL || e - now > MAX_TTL {
            return Err(Error::Unprocessable(format!(
                "expiry must be between {MIN_TTL} seconds and {} days from now",
                MAX_TTL / 86400
            )));
        }
    }
    issue(state, principal, tenant, req.scope, req.label, expires_at).await
}

/// A token as listed (never the secret).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Id.
    pub id: String,
    /// Scope.
    pub scope: Scope,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// RFC 3339, to the minute.
    pub last_used_at: Option<String>,
    /// RFC 3339.
    pub revoked_at: Option<String>,
}

impl From<TokenRecord> for TokenInfo {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            scope: t.scope,
            label: t.label,
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// A tenant's tokens, oldest first (admin).
pub fn list_tokens(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Vec<TokenInfo>, Error> {
    allow(principal, Action::ManageTokens, Resource::Tenant(tenant))?;
    let mut v: Vec<TokenInfo> = state
        .store()
        .tenant_tokens(tenant)?
        .into_iter()
        .map(Into::into)
        .collect();
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(v)
}

/// `DELETE` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revoked {
    /// Id.
    pub id: String,
    /// RFC 3339.
    pub revoked_at: String,
    /// Index of the `token_revoked` event.
    pub log_index: u64,
}

/// Revokes a token of the tenant (admin); the revocation and its event are
/// one atomic batch. Revoking twice is a conflict.
pub async fn revoke_token(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Revoked, Error> {
    allow(principal, Action::ManageTokens, Resource::Tenant(tenant))?;
    let mut rec = state
        .store()
        .token(id)?
        .filter(|t| t.tenant.as_deref() == Some(tenant))
        .ok_or_else(Error::not_found)?;
    if rec.revoked_at.is_some() {
        return Err(Error::Conflict(format!("token {id} is already revoked")));
    }
    let now = now_unix();
    rec.revoked_at = Some(now);
    let log_index = state
        .record(
            tenant,
            principal.actor(),
            EventBody::TokenRevoked {
                token_id: id.to_owned(),
            },
            Db::token_ops(&rec),
        )
        .await?;
    Ok(Revoked {
        id: id.to_owned(),
        revoked_at: rfc3339(now),
        log_index,
    })
}

/// `GET /api/v1/whoami` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// The token's tenant (absent for the operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// Token id (absent for an OIDC session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The customer, for a customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

/// What the presented credential is (any valid bearer credential; a share
/// link is not one, and is 404 here).
pub fn whoami(principal: Principal) -> Result<WhoAmI, Error> {
    Ok(match principal {
        Principal::Operator { token_id } => WhoAmI {
            tenant: None,
            scope: Scope::Operator,
            token_id: Some(token_id),
            customer_id: None,
        },
        Principal::Tenant {
            tenant,
            token_id,
            scope,
        } => WhoAmI {
            tenant: Some(tenant),
            scope,
            token_id: Some(token_id),
            customer_id: None,
        },
        Principal::Customer {
            tenant,
            customer,
            subject,
        } => WhoAmI {
            tenant: Some(tenant),
            scope: Scope::Customer,
            token_id: match subject {
                Subject::Token { token_id } => Some(token_id),
                Subject::Oidc { .. } | Subject::Anonymous { .. } => None,
            },
            customer_id: Some(customer),
        },
        Principal::ShareLink { .. } | Principal::Public { .. } => return Err(Error::not_found()),
    })
}

/// A tenant's token records (never their secrets), oldest first, for the
/// portal's admin pages (admin).
pub fn token_records(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Vec<TokenRecord>, Error> {
    allow(principal, Action::ManageTokens, Resource::Tenant(tenant))?;
    let mut v = state.store().tenant_tokens(tenant)?;
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(v)
}

/// Tests: a server state opened in `dir` (fixed master key) with tenant
/// `acme` created by the operator.
#[cfg(test)]
pub(crate) async fn state_with_acme(dir: &std::path::Path) -> (AppState, TenantCreated) {
    let st = crate::app::Builder::new(dir)
        .master_key_hex(&"5a".repeat(32))
        .open()
        .expect("a fresh state")
        .state;
    let op = Principal::Operator {
        token_id: st
            .store()
            .operator_token_id()
            .expect("the store")
            .expect("an operator token"),
    };
    let t = create_tenant(
        &st,
        &op,
        CreateTenant {
            slug: "acme".into(),
            name: "Acme".into(),
        },
    )
    .await
    .expect("tenant acme");
    (st, t)
}
