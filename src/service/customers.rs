//! Customers of a tenant: who they are, how they sign in, and what they
//! may see.
//!
//! A customer has a name, zero or more SSO bindings (an OIDC issuer, a
//! client id, a client secret sealed under the master key, and a claim rule
//! such as `email` ends with `@acme.example`), customer access tokens (the
//! embedded default when there is no IdP), and entitlements: a product plus
//! a tag pattern (`core::access`). Every change is one batch with a
//! `customer_updated` event that snapshots its access (never a secret),
//! made under the customer's lock so concurrent edits lose no update.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::{Deserialize, Serialize};

pub use crate::core::access::{ClaimRule, Entitlement, MatchKind, RuleOp};
use crate::{
    core::{
        access::{check_entitlements, latest, MAX_BINDINGS},
        clock::{now_unix, rfc3339},
        names,
        policy::{allow, Action, Resource},
        records::{CustomerRecord, SsoBinding},
        Error, Principal,
    },
    service::{tenancy, AppState},
    store::Db,
};

fn new_id(bytes: usize) -> String {
    crate::service::random_hex(bytes)
}

/// An SSO binding as given by an admin (the secret in the clear, once).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBinding {
    /// Issuer URL, `https://` (or `http://` on loopback, for tests and demos).
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret; sealed at rest, never shown again.
    pub client_secret: String,
    /// Which users belong to the customer.
    pub rule: ClaimRule,
}

impl NewBinding {
    /// Checks the binding and seals its client secret.
    pub fn seal(self, state: &AppState) -> Result<SsoBinding, Error> {
        let loopback_ok = state.oidc().allows_http_loopback();
        if !crate::service::oidc::url_allowed(&self.issuer, loopback_ok) || self.issuer.len() > 512
        {
            return Err(Error::Unprocessable(format!(
                "issuer {:?} must be an https:// URL{}",
                self.issuer,
                if loopback_ok {
                    " (or http:// on loopback)"
                } else {
                    " (http:// on loopback only when the server runs with --allow-http-idp-on-loopback)"
                }
            )));
        }
        if self.client_id.is_empty()
            || self.client_id.len() > 256
            || self.client_secret.len() > 1024
        {
            return Err(Error::Unprocessable(
                "client_id must be 1 to 256 characters and client_secret at most 1024".into(),
            ));
        }
        self.rule.validate()?;
        let id = new_id(4);
        let sealed = state
            .master()
            .seal(&format!("sso-secret/{id}"), self.client_secret.as_bytes());
        Ok(SsoBinding {
            id,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret_sealed: STANDARD.encode(sealed),
            rule: self.rule,
        })
    }
}

/// Opens a binding's client secret.
pub fn client_secret(state: &AppState, b: &SsoBinding) -> Result<String, Error> {
    let sealed = STANDARD
        .decode(&b.client_secret_sealed)
        .map_err(|e| Error::Internal(format!("sealed client secret: {e}")))?;
    let raw = state
        .master()
        .open(&format!("sso-secret/{}", b.id), &sealed)
        .map_err(|e| Error::Internal(format!("opening client secret: {e:#}")))?;
    String::from_utf8(raw.to_vec()).map_err(|e| Error::Internal(format!("client secret: {e}")))
}

/// `POST /api/v1/tenants/{t}/customers` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Entitlements.
    #[serde(default)]
    pub entitlements: Vec<Entitlement>,
    /// SSO bindings.
    #[serde(default)]
    pub sso: Vec<NewBinding>,
}

/// A binding as shown (never the secret).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BindingInfo {
    /// Id.
    pub id: String,
    /// Issuer.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Rule.
    pub rule: ClaimRule,
}

/// A customer as shown.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// Entitlements.
    pub entitlements: Vec<Entitlement>,
    /// SSO bindings.
    pub sso: Vec<BindingInfo>,
    /// Index of the `customer_updated` event of this change (absent on reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

impl CustomerInfo {
    /// A customer as shown, after the change logged at `log_index`.
    pub fn of(c: &CustomerRecord, log_index: Option<u64>) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            created_at: rfc3339(c.created_at),
            entitlements: c.entitlements.clone(),
            sso: c
                .sso
                .iter()
                .map(|b| BindingInfo {
                    id: b.id.clone(),
                    issuer: b.issuer.clone(),
                    client_id: b.client_id.clone(),
                    rule: b.rule.clone(),
                })
                .collect(),
            log_index,
        }
    }
}

/// Stores a customer (or deletes it) and logs the change, in one batch.
async fn save(
    state: &AppState,
    principal: &Principal,
    c: &CustomerRecord,
    deleted: bool,
    mut extra: Vec<evident_log::AppOp>,
) -> Result<u64, Error> {
    let mut ops = Db::customer_ops(c, deleted);
    ops.append(&mut extra);
    state
        .record(&c.tenant, principal.actor(), c.event(deleted), ops)
        .await
}

/// Creates a customer (admin).
pub async fn create(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: NewCustomer,
) -> Result<CustomerInfo, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let name = names::display_name(&req.name)?;
    check_entitlements(&req.entitlements)?;
    if req.sso.len() > MAX_BINDINGS {
        return Err(Error::Unprocessable(format!(
            "at most {MAX_BINDINGS} SSO bindings per customer"
        )));
    }
    let sso = req
        .sso
        .into_iter()
        .map(|b| b.seal(state))
        .collect::<Result<Vec<_>, _>>()?;
    let c = CustomerRecord {
        id: new_id(8),
        tenant: tenant.to_owned(),
        name,
        created_at: now_unix(),
        sso,
        entitlements: req.entitlements,
    };
    let i = save(state, principal, &c, false, Vec::new()).await?;
    Ok(CustomerInfo::of(&c, Some(i)))
}

/// Every customer of the tenant, oldest first (admin).
pub fn list(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Vec<CustomerInfo>, Error> {
    Ok(records(state, principal, tenant)?
        .iter()
        .map(|c| CustomerInfo::of(c, None))
        .collect())
}

/// Every customer record of the tenant, oldest first (admin; the portal's
/// admin pages show their bindings and tokens).
pub fn records(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<Vec<CustomerRecord>, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    let mut v = state.store().customers(tenant)?;
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(v)
}

fn admin_load(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<CustomerRecord, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    state
        .store()
        .customer(tenant, id)?
        .ok_or_else(Error::not_found)
}

/// One customer (admin).
pub fn get(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<CustomerInfo, Error> {
    Ok(CustomerInfo::of(
        &admin_load(state, principal, tenant, id)?,
        None,
    ))
}

/// Changes one customer under its lock: load, `change`, store and log, so
/// two concurrent edits (an entitlement change and a binding removal, say)
/// apply one after the other and neither is lost.
pub async fn edit(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    change: impl FnOnce(&mut CustomerRecord) -> Result<(), Error>,
) -> Result<CustomerInfo, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    let _one = state.record_lock(format!("customer:{tenant}:{id}")).await;
    let mut c = admin_load(state, principal, tenant, id)?;
    change(&mut c)?;
    let i = save(state, principal, &c, false, Vec::new()).await?;
    Ok(CustomerInfo::of(&c, Some(i)))
}

/// Replaces a customer's entitlements (admin).
pub async fn set_entitlements(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    e: Vec<Entitlement>,
) -> Result<CustomerInfo, Error> {
    check_entitlements(&e)?;
    edit(state, principal, tenant, id, |c| {
        c.entitlements = e;
        Ok(())
    })
    .await
}

/// Adds one entitlement to what the customer has now (admin).
pub async fn add_entitlement(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    e: Entitlement,
) -> Result<CustomerInfo, Error> {
    e.validate()?;
    edit(state, principal, tenant, id, |c| {
        c.entitlements.push(e);
        check_entitlements(&c.entitlements)
    })
    .await
}

/// Removes the entitlement at `index` of what the customer has now (admin).
pub async fn remove_entitlement(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    index: usize,
) -> Result<CustomerInfo, Error> {
    edit(state, principal, tenant, id, |c| {
        if index >= c.entitlements.len() {
            return Err(Error::not_found());
        }
        c.entitlements.remove(index);
        Ok(())
    })
    .await
}

/// Adds an SSO binding (admin).
pub async fn add_binding(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    b: NewBinding,
) -> Result<CustomerInfo, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    let sealed = b.seal(state)?;
    edit(state, principal, tenant, id, |c| {
        if c.sso.len() >= MAX_BINDINGS {
            return Err(Error::Unprocessable(format!(
                "at most {MAX_BINDINGS} SSO bindings per customer"
            )));
        }
        c.sso.push(sealed);
        Ok(())
    })
    .await
}

/// Removes an SSO binding (admin); sessions signed in through it end.
pub async fn remove_binding(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    binding: &str,
) -> Result<CustomerInfo, Error> {
    edit(state, principal, tenant, id, |c| {
        let before = c.sso.len();
        c.sso.retain(|b| b.id != binding);
        if c.sso.len() == before {
            return Err(Error::not_found());
        }
        Ok(())
    })
    .await
}

/// Deletes a customer (admin): the customer and its tokens (revoked) go in
/// one batch; its sessions end at their next use.
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<CustomerInfo, Error> {
    allow(principal, Action::ManageCustomers, Resource::Tenant(tenant))?;
    let _one = state.record_lock(format!("customer:{tenant}:{id}")).await;
    let c = admin_load(state, principal, tenant, id)?;
    let now = now_unix();
    let mut ops = Vec::new();
    for mut t in state.store().tenant_tokens(tenant)? {
        if t.customer.as_deref() == Some(id) && t.revoked_at.is_none() {
            t.revoked_at = Some(now);
            ops.extend(Db::token_ops(&t));
        }
    }
    let i = save(state, principal, &c, true, ops).await?;
    Ok(CustomerInfo::of(&c, Some(i)))
}

/// `POST /api/v1/tenants/{t}/customers/{c}/tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerToken {
    /// Free text, up to 200 characters.
    #[serde(default)]
    pub label: Option<String>,
    /// Lifetime in seconds (300 to 2 years); default 90 days.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Issues a customer access token, shown once (admin).
pub async fn create_token(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    req: NewCustomerToken,
) -> Result<tenancy::IssuedToken, Error> {
    let c = admin_load(state, principal, tenant, id)?;
    tenancy::issue_customer_token(state, principal, &c.tenant, &c.id, req).await
}

/// A customer's tokens, oldest first (admin).
pub fn list_tokens(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<Vec<tenancy::TokenInfo>, Error> {
    admin_load(state, principal, tenant, id)?;
    let mut v: Vec<tenancy::TokenInfo> = state
        .store()
        .tenant_tokens(tenant)?
        .into_iter()
        .filter(|t| t.customer.as_deref() == Some(id))
        .map(Into::into)
        .collect();
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(v)
}

/// A customer's entitled releases: (product, tag, is the product's latest).
pub fn entitled_releases(
    state: &AppState,
    c: &CustomerRecord,
) -> Result<Vec<(String, String, bool)>, Error> {
    let mut products: Vec<&str> = c.entitlements.iter().map(|e| e.product.as_str()).collect();
    products.sort_unstable();
    products.dedup();
    let mut out = Vec::new();
    for p in products {
        let releases = state.store().product_releases(&c.tenant, p)?;
        let newest = latest(&releases, false).map(str::to_owned);
        for (tag, _) in &releases {
            if c.entitled(p, tag, &releases) {
                out.push((p.to_owned(), tag.clone(), newest.as_deref() == Some(tag)));
            }
        }
    }
    // An entitlement to a product release covers its components.
    let mut parts = Vec::new();
    for (p, t, _) in &out {
        if let Some(r) = state.store().revisions(&c.tenant, p, t)?.pop() {
            for comp in r.components {
                if !out
                    .iter()
                    .chain(&parts)
                    .any(|(x, y, _)| *x == comp.product && *y == comp.tag)
                {
                    parts.push((comp.product, comp.tag, false));
                }
            }
        }
    }
    out.extend(parts);
    Ok(out)
}

/// What a customer sees at `GET /api/v1/tenants/{t}/entitled`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitledRelease {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Latest revision.
    pub revision: u32,
    /// When that revision was pushed, RFC 3339.
    pub pushed_at: String,
    /// The product's latest release (semver, else push time).
    pub latest: bool,
}

/// The releases the calling customer may see, newest first, with the
/// customer's record.
pub fn entitled(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
) -> Result<(CustomerRecord, Vec<EntitledRelease>), Error> {
    allow(
        principal,
        Action::ReadEntitlements,
        Resource::Tenant(tenant),
    )?;
    let Principal::Customer { customer, .. } = principal else {
        return Err(Error::not_found());
    };
    let c = state
        .store()
        .customer(tenant, customer)?
        .ok_or_else(Error::not_found)?;
    let mut out = Vec::new();
    for (product, tag, is_latest) in entitled_releases(state, &c)? {
        let rec = state
            .store()
            .revisions(tenant, &product, &tag)?
            .pop()
            .ok_or_else(Error::not_found)?;
        out.push(EntitledRelease {
            product,
            tag,
            revision: rec.revision,
            pushed_at: rec.pushed_at,
            latest: is_latest,
        });
    }
    newest_first(&mut out);
    Ok((c, out))
}

/// Sorts releases newest push first, then by product, then by tag
/// (descending).
pub fn newest_first(list: &mut [EntitledRelease]) {
    list.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.product.cmp(&b.product))
            .then_with(|| b.tag.cmp(&a.tag))
    });
}
