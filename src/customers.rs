//! Customers of a tenant: who they are, how they sign in, and what they may see.
//!
//! A customer has a name, zero or more SSO bindings (an OIDC issuer, a
//! client id, a client secret sealed under the master key, and a claim rule
//! such as `email` ends with `@acme.example`), customer access tokens (the
//! embedded default when there is no IdP), and entitlements: a product plus
//! a tag pattern (an exact tag, a glob such as `v1.*`, or `latest`).
//!
//! Access is deny-by-default: a customer principal passes no scope check
//! (`Principal::require`), and the release endpoints ask [`can_read`],
//! which admits a customer only to the releases its entitlements match.
//! Anything else answers 404, exactly as if it did not exist.
//!
//! Storage (column family `app`): `customer/<tenant>/<id>` holds the
//! [`CustomerRecord`]; customer tokens are ordinary token records with scope
//! `customer` and the customer's id. Every change to a customer is logged
//! as `customer_updated` with a snapshot of its access (never a secret).

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_log::AppOp;
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Principal, Scope},
    error::{ApiError, ApiJson},
    events::{now_unix, rfc3339, EventBody},
    state::AppState,
};

/// Most customers per tenant, entitlements and bindings per customer.
const MAX_ENTITLEMENTS: usize = 256;
const MAX_BINDINGS: usize = 16;

/// A claim rule: which signed-in users of an SSO binding belong to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// The ID token claim: `email`, `groups`, or any other claim name.
    pub claim: String,
    /// How the claim is compared.
    pub op: RuleOp,
    /// The value compared with.
    pub value: String,
    /// For an `email` rule: admit addresses the IdP does not say are
    /// verified (`email_verified` absent or false). Off by default: an
    /// unverified address proves nothing about who signed in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_unverified_email: bool,
}

/// Comparison of a [`ClaimRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleOp {
    /// A string claim ends with the value (`email` ends with `@acme.example`).
    EndsWith,
    /// A string claim equals the value.
    Equals,
    /// An array claim (such as `groups`) has the value as an element.
    Contains,
}

impl ClaimRule {
    /// Whether `claims` (the ID token's claims, with UserInfo's where the
    /// ID token lacks them) satisfy the rule. Email comparisons ignore ASCII
    /// case, and an `email` claim counts only when the IdP says
    /// `email_verified: true` (absent counts as not verified), unless the
    /// rule allows unverified addresses.
    pub fn matches(&self, claims: &serde_json::Value) -> bool {
        let v = &claims[self.claim.as_str()];
        let email = self.claim == "email";
        if email
            && !self.allow_unverified_email
            && claims["email_verified"] != serde_json::Value::Bool(true)
        {
            return false;
        }
        let norm = |s: &str| {
            if email {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        };
        let want = norm(&self.value);
        match (self.op, v) {
            (RuleOp::EndsWith, serde_json::Value::String(s)) => norm(s).ends_with(&want),
            (RuleOp::Equals, serde_json::Value::String(s)) => norm(s) == want,
            (RuleOp::Contains, serde_json::Value::Array(a)) => a
                .iter()
                .any(|x| x.as_str().is_some_and(|s| norm(s) == want)),
            _ => false,
        }
    }

    /// The e-mail domain this rule selects, if it is an `email` rule that
    /// names one: the suffix of an `ends_with` rule, or the domain of the
    /// one address of an `equals` rule (used to pick a binding from the
    /// address a user types).
    pub fn email_domain(&self) -> Option<String> {
        if self.claim != "email" {
            return None;
        }
        match self.op {
            RuleOp::EndsWith => Some(self.value.trim_start_matches('@').to_ascii_lowercase()),
            RuleOp::Equals => self
                .value
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
            RuleOp::Contains => None,
        }
    }

    fn validate(&self) -> Result<(), ApiError> {
        if self.claim.is_empty() || self.claim.len() > 64 || self.value.is_empty() {
            return Err(ApiError::Unprocessable(
                "a claim rule needs a claim name (1 to 64 characters) and a non-empty value".into(),
            ));
        }
        if self.claim == "email" && self.op == RuleOp::EndsWith && !self.value.starts_with('@') {
            return Err(ApiError::Unprocessable(format!(
                "an email suffix must start with '@' (\"@{}\"), or \"evil{}\" would match too",
                self.value, self.value
            )));
        }
        Ok(())
    }
}

/// A stored SSO binding; the client secret is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SsoBinding {
    /// Binding id (8 hex).
    pub id: String,
    /// The OIDC issuer URL (discovery is at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id registered at the issuer.
    pub client_id: String,
    /// The client secret, sealed under the master key, base64.
    pub client_secret_sealed: String,
    /// Which users belong to the customer.
    pub rule: ClaimRule,
}

/// An entitlement: a product and a tag pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// Product name.
    pub product: String,
    /// An exact tag, a glob (`*` any run, `?` one character), or `latest`.
    pub tag: String,
    /// How `tag` is matched. When absent: `latest` for the word `latest`,
    /// `glob` when the tag has `*` or `?`, `exact` otherwise. Give `exact`
    /// to grant a tag literally named `latest` (or containing `*`).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// For `latest`: let semver pre-releases (`1.2.0-rc.1`) be the latest.
    /// Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_prereleases: bool,
}

/// How an entitlement's tag is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The tag as written.
    Exact,
    /// `*` matches any run of characters, `?` one character.
    Glob,
    /// The product's latest release (see [`latest`]); the tag must be `latest`.
    Latest,
}

/// How an entitlement's tag is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagPattern<'a> {
    /// This tag only.
    Exact(&'a str),
    /// Tags matching the glob.
    Glob(&'a str),
    /// The newest release of the product (see [`latest`]); with whether
    /// pre-releases count.
    Latest {
        /// Semver pre-releases may be the latest.
        include_prereleases: bool,
    },
}

impl Entitlement {
    /// The tag pattern.
    pub fn pattern(&self) -> TagPattern<'_> {
        let kind = self.match_kind.unwrap_or(if self.tag == "latest" {
            MatchKind::Latest
        } else if self.tag.contains(['*', '?']) {
            MatchKind::Glob
        } else {
            MatchKind::Exact
        });
        match kind {
            MatchKind::Latest => TagPattern::Latest {
                include_prereleases: self.include_prereleases,
            },
            MatchKind::Glob => TagPattern::Glob(&self.tag),
            MatchKind::Exact => TagPattern::Exact(&self.tag),
        }
    }

    /// Checks one entitlement (as [`check_entitlements`] does).
    pub fn validate_public(&self) -> Result<(), ApiError> {
        self.validate()
    }

    fn validate(&self) -> Result<(), ApiError> {
        let ok = |s: &str| {
            (1..=128).contains(&s.len())
                && !s.contains('/')
                && s.chars().all(|c| !c.is_control() && !c.is_whitespace())
        };
        if !ok(&self.product) || !ok(&self.tag) {
            return Err(ApiError::Unprocessable(format!(
                "entitlement {}:{} needs a product and a tag pattern of 1 to 128 visible characters without '/'",
                self.product, self.tag
            )));
        }
        if self.match_kind == Some(MatchKind::Latest) && self.tag != "latest" {
            return Err(ApiError::Unprocessable(format!(
                "entitlement {}:{}: with \"match\": \"latest\" the tag must be \"latest\"",
                self.product, self.tag
            )));
        }
        if self.include_prereleases && !matches!(self.pattern(), TagPattern::Latest { .. }) {
            return Err(ApiError::Unprocessable(format!(
                "entitlement {}:{}: include_prereleases applies to latest only",
                self.product, self.tag
            )));
        }
        Ok(())
    }
}

/// Whether `tag` matches the glob (`*` any run, `?` one character).
pub fn glob_matches(glob: &str, tag: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), tag.chars().collect());
    // Iterative wildcard matching with one backtrack point: linear in practice.
    let (mut gi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some(gi);
            mark = ti;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// A tag read as semver (`1.2.3`, `v1.2.3-rc.1`), if it is one.
fn semver(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The latest of a product's releases, given as (tag, push time of its
/// first revision). The order (docs/api.md, "Entitlements"):
/// - if any tag is semver (`1.2.3`, `v1.2.3`), the latest is the highest
///   semver tag; pre-releases (`1.3.0-rc.1`) count only with
///   `include_prereleases`, and tags that are not semver never count (one
///   `nightly` tag does not change a semver product's order);
/// - if no tag is semver, the latest is the tag pushed last (ties: the
///   greater tag).
///
/// So a product whose only semver tags are pre-releases has no latest
/// release for an entitlement that does not include them.
pub fn latest(releases: &[(String, String)], include_prereleases: bool) -> Option<&str> {
    let semvers: Vec<(semver::Version, &str)> = releases
        .iter()
        .filter_map(|(t, _)| semver(t).map(|v| (v, t.as_str())))
        .collect();
    if semvers.is_empty() {
        return releases
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            .map(|(t, _)| t.as_str());
    }
    semvers
        .into_iter()
        .filter(|(v, _)| include_prereleases || v.pre.is_empty())
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, t)| t)
}

/// A customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// Id (16 hex).
    pub id: String,
    /// Tenant slug.
    pub tenant: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// SSO bindings.
    #[serde(default)]
    pub sso: Vec<SsoBinding>,
    /// Entitlements.
    #[serde(default)]
    pub entitlements: Vec<Entitlement>,
}

impl CustomerRecord {
    fn key(tenant: &str, id: &str) -> Vec<u8> {
        format!("customer/{tenant}/{id}").into_bytes()
    }

    fn ops(&self) -> Vec<AppOp> {
        vec![(
            Self::key(&self.tenant, &self.id),
            Some(serde_json::to_vec(self).expect("plain data")),
        )]
    }

    /// The `customer_updated` event: a snapshot of the customer's access.
    fn event(&self, deleted: bool) -> EventBody {
        EventBody::CustomerUpdated {
            customer_id: self.id.clone(),
            name: self.name.clone(),
            entitlements: self
                .entitlements
                .iter()
                .map(|e| format!("{}:{}", e.product, e.tag))
                .collect(),
            sso: self
                .sso
                .iter()
                .map(|b| {
                    format!(
                        "{} {} {:?} {}",
                        b.issuer, b.rule.claim, b.rule.op, b.rule.value
                    )
                })
                .collect(),
            deleted,
        }
    }

    /// Whether this customer may see `product`/`tag`, given the product's
    /// releases as (tag, first push time).
    pub fn entitled(&self, product: &str, tag: &str, releases: &[(String, String)]) -> bool {
        self.entitlements
            .iter()
            .filter(|e| e.product == product)
            .any(|e| match e.pattern() {
                TagPattern::Exact(t) => t == tag,
                TagPattern::Glob(g) => glob_matches(g, tag),
                TagPattern::Latest {
                    include_prereleases,
                } => latest(releases, include_prereleases) == Some(tag),
            })
    }
}

/// Loads a customer of a tenant.
pub fn load(state: &AppState, tenant: &str, id: &str) -> Result<Option<CustomerRecord>, ApiError> {
    Ok(state
        .store()
        .app_get(&CustomerRecord::key(tenant, id))?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Every customer of a tenant.
pub fn all(state: &AppState, tenant: &str) -> Result<Vec<CustomerRecord>, ApiError> {
    Ok(state
        .store()
        .app_scan(format!("customer/{tenant}/").as_bytes())?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect())
}

/// A product's releases as (tag, first push time), in tag order.
pub fn product_releases(
    state: &AppState,
    tenant: &str,
    product: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let p = format!("release/{tenant}/{product}/");
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in state.store().app_scan(p.as_bytes())? {
        let rest = String::from_utf8_lossy(&k[p.len()..]).into_owned();
        let Some((tag, _)) = rest.split_once('/') else {
            continue;
        };
        if out.last().map(|(t, _)| t.as_str()) == Some(tag) {
            continue;
        }
        let pushed = serde_json::from_slice::<serde_json::Value>(&v)
            .ok()
            .and_then(|r| r["pushed_at"].as_str().map(str::to_owned))
            .unwrap_or_default();
        out.push((tag.to_owned(), pushed));
    }
    Ok(out)
}

/// Whether `principal` may read `product`/`tag` of `tenant`: the tenant's
/// admin, auditor and push tokens may; a customer only when entitled.
/// Everyone else gets 404.
pub fn can_read(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<(), ApiError> {
    match principal {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if t == tenant => {
            let c = load(state, tenant, customer)?.ok_or_else(ApiError::not_found)?;
            // Only `latest` needs the product's other releases.
            let latest_wanted = c
                .entitlements
                .iter()
                .any(|e| e.product == product && matches!(e.pattern(), TagPattern::Latest { .. }));
            let releases = if latest_wanted {
                product_releases(state, tenant, product)?
            } else {
                Vec::new()
            };
            if c.entitled(product, tag, &releases) {
                Ok(())
            } else {
                Err(ApiError::not_found())
            }
        }
        _ => principal.require(tenant, crate::releases::READERS),
    }
}

/// A customer's entitled releases: (product, tag, is the product's latest).
pub fn entitled_releases(
    state: &AppState,
    c: &CustomerRecord,
) -> Result<Vec<(String, String, bool)>, ApiError> {
    let mut products: Vec<&str> = c.entitlements.iter().map(|e| e.product.as_str()).collect();
    products.sort_unstable();
    products.dedup();
    let mut out = Vec::new();
    for p in products {
        let releases = product_releases(state, &c.tenant, p)?;
        let newest = latest(&releases, false).map(str::to_owned);
        for (tag, _) in &releases {
            if c.entitled(p, tag, &releases) {
                out.push((p.to_owned(), tag.clone(), newest.as_deref() == Some(tag)));
            }
        }
    }
    Ok(out)
}

fn new_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// An SSO binding as given by an admin (the secret in the clear, once).
#[derive(Debug, Deserialize)]
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
    fn seal(self, state: &AppState) -> Result<SsoBinding, ApiError> {
        let loopback_ok = state.oidc().allows_http_loopback();
        if !crate::oidc::url_allowed(&self.issuer, loopback_ok) || self.issuer.len() > 512 {
            return Err(ApiError::Unprocessable(format!(
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
            return Err(ApiError::Unprocessable(
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
pub fn client_secret(state: &AppState, b: &SsoBinding) -> Result<String, ApiError> {
    let sealed = STANDARD
        .decode(&b.client_secret_sealed)
        .map_err(|e| ApiError::Internal(format!("sealed client secret: {e}")))?;
    let raw = state
        .master()
        .open(&format!("sso-secret/{}", b.id), &sealed)
        .map_err(|e| ApiError::Internal(format!("opening client secret: {e:#}")))?;
    String::from_utf8(raw.to_vec()).map_err(|e| ApiError::Internal(format!("client secret: {e}")))
}

/// `POST /api/v1/tenants/{t}/customers` body.
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
    fn of(c: &CustomerRecord, log_index: Option<u64>) -> Self {
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

/// Checks a list of entitlements (count and each one).
pub fn check_entitlements(e: &[Entitlement]) -> Result<(), ApiError> {
    if e.len() > MAX_ENTITLEMENTS {
        return Err(ApiError::Unprocessable(format!(
            "at most {MAX_ENTITLEMENTS} entitlements per customer"
        )));
    }
    e.iter().try_for_each(Entitlement::validate)
}

/// Stores a customer and logs the change, in one batch.
async fn save(
    state: &AppState,
    principal: &Principal,
    c: &CustomerRecord,
    deleted: bool,
    mut extra: Vec<AppOp>,
) -> Result<u64, ApiError> {
    let mut ops = if deleted {
        vec![(CustomerRecord::key(&c.tenant, &c.id), None)]
    } else {
        c.ops()
    };
    ops.append(&mut extra);
    state
        .record(&c.tenant, principal.actor(), c.event(deleted), ops)
        .await
}

/// `POST /api/v1/tenants/{t}/customers` (admin).
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<NewCustomer>,
) -> Result<(StatusCode, ApiJson<CustomerInfo>), ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    state.tenant_log(&tenant)?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::Unprocessable(
            "name must be 1 to 200 characters".into(),
        ));
    }
    check_entitlements(&req.entitlements)?;
    if req.sso.len() > MAX_BINDINGS {
        return Err(ApiError::Unprocessable(format!(
            "at most {MAX_BINDINGS} SSO bindings per customer"
        )));
    }
    let sso = req
        .sso
        .into_iter()
        .map(|b| b.seal(&state))
        .collect::<Result<Vec<_>, _>>()?;
    let c = CustomerRecord {
        id: new_id(8),
        tenant: tenant.clone(),
        name,
        created_at: now_unix(),
        sso,
        entitlements: req.entitlements,
    };
    let i = save(&state, &principal, &c, false, Vec::new()).await?;
    Ok((StatusCode::CREATED, ApiJson(CustomerInfo::of(&c, Some(i)))))
}

/// `GET /api/v1/tenants/{t}/customers` (admin).
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<CustomerInfo>>, ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    let mut v: Vec<CustomerRecord> = all(&state, &tenant)?;
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(ApiJson(
        v.iter().map(|c| CustomerInfo::of(c, None)).collect(),
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
    change: impl FnOnce(&mut CustomerRecord) -> Result<(), ApiError>,
) -> Result<(CustomerRecord, u64), ApiError> {
    principal.require(tenant, &[Scope::Admin])?;
    let _one = state.record_lock(format!("customer/{tenant}/{id}")).await;
    let mut c = load(state, tenant, id)?.ok_or_else(ApiError::not_found)?;
    change(&mut c)?;
    let i = save(state, principal, &c, false, Vec::new()).await?;
    Ok((c, i))
}

fn admin_load(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<CustomerRecord, ApiError> {
    principal.require(tenant, &[Scope::Admin])?;
    load(state, tenant, id)?.ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/tenants/{t}/customers/{c}` (admin).
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    let c = admin_load(&state, &principal, &tenant, &id)?;
    Ok(ApiJson(CustomerInfo::of(&c, None)))
}

/// `PUT /api/v1/tenants/{t}/customers/{c}/entitlements` (admin): replaces them.
pub async fn set_entitlements(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(e): ApiJson<Vec<Entitlement>>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    check_entitlements(&e)?;
    let (c, i) = edit(&state, &principal, &tenant, &id, |c| {
        c.entitlements = e;
        Ok(())
    })
    .await?;
    Ok(ApiJson(CustomerInfo::of(&c, Some(i))))
}

/// `POST /api/v1/tenants/{t}/customers/{c}/sso` (admin): adds a binding.
pub async fn add_binding(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<NewBinding>,
) -> Result<(StatusCode, ApiJson<CustomerInfo>), ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    let sealed = b.seal(&state)?;
    let (c, i) = edit(&state, &principal, &tenant, &id, |c| {
        if c.sso.len() >= MAX_BINDINGS {
            return Err(ApiError::Unprocessable(format!(
                "at most {MAX_BINDINGS} SSO bindings per customer"
            )));
        }
        c.sso.push(sealed);
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(CustomerInfo::of(&c, Some(i)))))
}

/// `DELETE /api/v1/tenants/{t}/customers/{c}/sso/{b}` (admin).
pub async fn remove_binding(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id, binding)): Path<(String, String, String)>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    let (c, i) = edit(&state, &principal, &tenant, &id, |c| {
        let before = c.sso.len();
        c.sso.retain(|b| b.id != binding);
        if c.sso.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(())
    })
    .await?;
    Ok(ApiJson(CustomerInfo::of(&c, Some(i))))
}

/// `DELETE /api/v1/tenants/{t}/customers/{c}` (admin): the customer and
/// its tokens (revoked) go in one batch; its sessions end at their next use.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<CustomerInfo>, ApiError> {
    principal.require(&tenant, &[Scope::Admin])?;
    let _one = state.record_lock(format!("customer/{tenant}/{id}")).await;
    let c = admin_load(&state, &principal, &tenant, &id)?;
    let now = now_unix();
    let mut ops = Vec::new();
    for mut t in state.tenant_tokens(&tenant)? {
        if t.customer.as_deref() == Some(id.as_str()) && t.revoked_at.is_none() {
            t.revoked_at = Some(now);
            ops.extend(AppState::token_ops(&t));
        }
    }
    let i = save(&state, &principal, &c, true, ops).await?;
    Ok(ApiJson(CustomerInfo::of(&c, Some(i))))
}

/// `POST /api/v1/tenants/{t}/customers/{c}/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerToken {
    /// Free text, up to 200 characters.
    #[serde(default)]
    pub label: Option<String>,
    /// Lifetime in seconds (300 to 2 years); default 90 days.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// `POST /api/v1/tenants/{t}/customers/{c}/tokens` (admin): a customer
/// access token, shown once.
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<NewCustomerToken>,
) -> Result<(StatusCode, ApiJson<crate::tenants::IssuedToken>), ApiError> {
    let c = admin_load(&state, &principal, &tenant, &id)?;
    let t = crate::tenants::issue_customer_token(&state, &principal, &c.tenant, &c.id, req).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `GET /api/v1/tenants/{t}/customers/{c}/tokens` (admin).
pub async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ApiJson<Vec<crate::tenants::TokenInfo>>, ApiError> {
    admin_load(&state, &principal, &tenant, &id)?;
    let mut v: Vec<crate::tenants::TokenInfo> = state
        .tenant_tokens(&tenant)?
        .into_iter()
        .filter(|t| t.customer.as_deref() == Some(id.as_str()))
        .map(Into::into)
        .collect();
    v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(ApiJson(v))
}

/// What a customer sees at `GET /api/v1/tenants/{t}/entitled`.
#[derive(Debug, Serialize, Deserialize)]
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

/// A customer's releases, newest first.
pub fn entitled_view(
    state: &AppState,
    c: &CustomerRecord,
) -> Result<Vec<EntitledRelease>, ApiError> {
    let mut out = Vec::new();
    for (product, tag, is_latest) in entitled_releases(state, c)? {
        let (rec, _) = crate::releases::load(state, &c.tenant, &product, &tag, None)?;
        out.push(EntitledRelease {
            product,
            tag,
            revision: rec.revision,
            pushed_at: rec.pushed_at,
            latest: is_latest,
        });
    }
    out.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.product.cmp(&b.product))
            .then_with(|| b.tag.cmp(&a.tag))
    });
    Ok(out)
}

/// `GET /api/v1/tenants/{t}/entitled` (customer): the releases it may see.
pub async fn entitled(
    State(state): State<AppState>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<ApiJson<Vec<EntitledRelease>>, ApiError> {
    let Principal::Customer {
        tenant: t,
        customer,
        ..
    } = &principal
    else {
        return Err(ApiError::not_found());
    };
    if *t != tenant {
        return Err(ApiError::not_found());
    }
    let c = load(&state, &tenant, customer)?.ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(entitled_view(&state, &c)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        for (g, t, want) in [
            ("v1.*", "v1.2.3", true),
            ("v1.*", "v10.0", false),
            ("v1.*", "v1.", true),
            ("v?.0", "v2.0", true),
            ("v?.0", "v22.0", false),
            ("*", "anything", true),
            ("*-rc*", "v1-rc2", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("exact", "exact", true),
        ] {
            assert_eq!(glob_matches(g, t), want, "{g} {t}");
        }
    }

    #[test]
    fn latest_is_semver_when_every_tag_is_semver_else_push_time() {
        let r = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let semver = r(&[
            ("v1.10.0", "2026-01-01"),
            ("v1.9.0", "2026-02-01"),
            ("v1.10.0-rc.1", "2026-03-01"),
        ]);
        assert_eq!(latest(&semver, false), Some("v1.10.0"));
        let pre = r(&[("v1.10.0", "2026-01-01"), ("v1.11.0-rc.1", "2026-03-01")]);
        assert_eq!(
            latest(&pre, false),
            Some("v1.10.0"),
            "pre-releases do not count"
        );
        assert_eq!(latest(&pre, true), Some("v1.11.0-rc.1"), "unless asked for");
        // One non-semver tag does not switch a semver product to push order.
        let mixed = r(&[("v1.10.0", "2026-01-01"), ("nightly", "2026-02-01")]);
        assert_eq!(latest(&mixed, false), Some("v1.10.0"));
        let none_semver = r(&[("alpha", "2026-01-01"), ("beta", "2026-02-01")]);
        assert_eq!(latest(&none_semver, false), Some("beta"));
        let only_pre = r(&[("1.0.0-rc.1", "2026-01-01")]);
        assert_eq!(latest(&only_pre, false), None);
        assert_eq!(latest(&[], false), None);
    }

    #[test]
    fn claim_rules() {
        let email = ClaimRule {
            claim: "email".into(),
            op: RuleOp::EndsWith,
            value: "@acme.example".into(),
            allow_unverified_email: false,
        };
        let v = |e: &str| json!({"email": e, "email_verified": true});
        assert!(email.matches(&v("Ann@ACME.example")));
        assert!(!email.matches(&v("ann@evilacme.example")));
        assert!(!email.matches(&json!({"email": "ann@acme.example", "email_verified": false})));
        // Absent counts as not verified.
        assert!(!email.matches(&json!({"email": "ann@acme.example"})));
        assert!(!email.matches(&json!({"email": "ann@acme.example", "email_verified": "true"})));
        let lax = ClaimRule {
            allow_unverified_email: true,
            ..email.clone()
        };
        assert!(lax.matches(&json!({"email": "ann@acme.example"})));
        assert!(!email.matches(&json!({"groups": ["acme.example"]})));
        assert_eq!(email.email_domain().as_deref(), Some("acme.example"));
        let exact = ClaimRule {
            claim: "email".into(),
            op: RuleOp::Equals,
            value: "Ann@Acme.Example".into(),
            allow_unverified_email: false,
        };
        assert_eq!(exact.email_domain().as_deref(), Some("acme.example"));
        let groups = ClaimRule {
            claim: "groups".into(),
            op: RuleOp::Contains,
            value: "acme-sbom".into(),
            allow_unverified_email: false,
        };
        assert!(groups.matches(&json!({"groups": ["x", "acme-sbom"]})));
        assert!(!groups.matches(&json!({"groups": "acme-sbom"})));
        assert!(!groups.matches(&json!({})));
        assert_eq!(groups.email_domain(), None);
        let bad = ClaimRule {
            claim: "email".into(),
            op: RuleOp::EndsWith,
            value: "acme.example".into(),
            allow_unverified_email: false,
        };
        assert!(bad.validate().is_err());
    }

    fn ent(p: &str, t: &str) -> Entitlement {
        Entitlement {
            product: p.into(),
            tag: t.into(),
            match_kind: None,
            include_prereleases: false,
        }
    }

    #[test]
    fn entitlement_patterns() {
        let c = CustomerRecord {
            id: "c".into(),
            tenant: "t".into(),
            name: "n".into(),
            created_at: 0,
            sso: vec![],
            entitlements: vec![
                ent("shop", "v1.*"),
                ent("app", "latest"),
                ent("cli", "2.0.0"),
                Entitlement {
                    match_kind: Some(MatchKind::Exact),
                    ..ent("odd", "latest")
                },
            ],
        };
        let shop = vec![
            ("v1.0".to_owned(), "a".to_owned()),
            ("v2.0".to_owned(), "b".to_owned()),
        ];
        assert!(c.entitled("shop", "v1.0", &shop));
        assert!(!c.entitled("shop", "v2.0", &shop));
        let app = vec![
            ("1.0.0".to_owned(), "b".to_owned()),
            ("1.1.0".to_owned(), "a".to_owned()),
        ];
        assert!(c.entitled("app", "1.1.0", &app));
        assert!(!c.entitled("app", "1.0.0", &app));
        assert!(c.entitled("cli", "2.0.0", &[]));
        assert!(!c.entitled("cli", "2.0.1", &[]));
        assert!(!c.entitled("other", "v1.0", &shop));
        // A tag literally named `latest`, granted exactly.
        let odd = vec![
            ("latest".to_owned(), "a".to_owned()),
            ("2.0.0".to_owned(), "b".to_owned()),
        ];
        assert!(c.entitled("odd", "latest", &odd));
        assert!(!c.entitled("odd", "2.0.0", &odd));
        assert!(Entitlement {
            match_kind: Some(MatchKind::Latest),
            ..ent("x", "v1")
        }
        .validate()
        .is_err());
        assert!(Entitlement {
            include_prereleases: true,
            ..ent("x", "v1")
        }
        .validate()
        .is_err());
    }
}
