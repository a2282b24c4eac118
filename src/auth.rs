//! Bearer tokens: format, hashing, lookup, and the [`Principal`] extractor.
//!
//! A token is `evd_<16 hex id>_<43 base64url secret>`. Only SHA-256 of the
//! secret is stored, under the id; the comparison is constant-time. A token
//! is shown once, when it is issued.

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{error::ApiError, events::now_unix, state::AppState};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Creates tenants and can issue a replacement admin token for one
    /// (recorded in that tenant's log); sees no tenant's data itself.
    Operator,
    /// Administers one tenant.
    Admin,
    /// Pushes release records (CI).
    Push,
    /// Reads one tenant's log.
    Auditor,
    /// A customer access token: sees only its customer's entitled releases
    /// (the customer is in the token record).
    Customer,
}

/// A stored token: never the secret, only its hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (the part of the token before the secret).
    pub id: String,
    /// Tenant slug; `None` for the operator token.
    pub tenant: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// Free-text label.
    pub label: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` only for the operator token.
    pub expires_at: Option<i64>,
    /// Unix seconds, updated at most once a minute.
    pub last_used_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// For scope `customer`: the customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

impl TokenRecord {
    /// Neither revoked nor expired at `now`.
    pub fn live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A freshly minted token: the string to show once, and what to store.
#[derive(Debug)]
pub struct Minted {
    /// The full token, shown to the caller once.
    pub token: String,
    /// The id.
    pub id: String,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
}

/// Mints a new random token.
pub fn mint() -> Minted {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    Minted {
        token: format!("evd_{id}_{secret}"),
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        id,
    }
}

/// Splits a token into id and secret, or `None` if it is not one of ours.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("evd_")?;
    if rest.len() != 16 + 1 + 43 || rest.as_bytes()[16] != b'_' {
        return None;
    }
    let (id, secret) = (&rest[..16], &rest[17..]);
    if !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Some((id, secret))
}

/// Who is calling, once their token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform operator.
    Operator {
        /// Token id.
        token_id: String,
    },
    /// A tenant token.
    Tenant {
        /// Tenant slug.
        tenant: String,
        /// Token id.
        token_id: String,
        /// Scope.
        scope: Scope,
    },
    /// A customer's user: by customer access token or OIDC session.
    Customer {
        /// Tenant slug.
        tenant: String,
        /// Customer id.
        customer: String,
        /// How they authenticated.
        subject: crate::events::Subject,
    },
}

impl Principal {
    /// Succeeds only for a token of `tenant` with one of `scopes`. Anything
    /// else, including a valid token of another tenant and every customer,
    /// is answered 404 so that no caller learns what exists outside its
    /// reach (customers reach releases through `customers::can_read`).
    pub fn require(&self, tenant: &str, scopes: &[Scope]) -> Result<(), ApiError> {
        match self {
            Self::Tenant {
                tenant: t, scope, ..
            } if t == tenant && scopes.contains(scope) => Ok(()),
            _ => Err(ApiError::not_found()),
        }
    }

    /// Succeeds only for the operator; anyone else is answered 404.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Self::Operator { .. } => Ok(()),
            Self::Tenant { .. } | Self::Customer { .. } => Err(ApiError::not_found()),
        }
    }

    /// The log actor for events this principal causes.
    pub fn actor(&self) -> crate::events::Actor {
        match self {
            Self::Operator { token_id } => crate::events::Actor::Operator {
                token_id: token_id.clone(),
            },
            Self::Tenant {
                token_id, scope, ..
            } => crate::events::Actor::Token {
                token_id: token_id.clone(),
                scope: *scope,
            },
            Self::Customer {
                customer, subject, ..
            } => crate::events::Actor::Customer {
                customer_id: customer.clone(),
                subject: subject.clone(),
            },
        }
    }
}

fn invalid() -> ApiError {
    ApiError::Unauthorized("the bearer token is not valid, has expired or was revoked".into())
}

/// The principal of a live token record.
fn principal_of(state: &AppState, rec: TokenRecord) -> Result<Principal, ApiError> {
    Ok(match (rec.scope, rec.tenant, rec.customer) {
        (Scope::Operator, _, _) => Principal::Operator { token_id: rec.id },
        (Scope::Customer, Some(tenant), Some(customer)) => {
            // A deleted customer's tokens are revoked with it; check anyway.
            if crate::customers::load(state, &tenant, &customer)?.is_none() {
                return Err(invalid());
            }
            Principal::Customer {
                tenant,
                customer,
                subject: crate::events::Subject::Token { token_id: rec.id },
            }
        }
        (Scope::Customer, _, _) | (_, None, _) => return Err(invalid()),
        (scope, Some(tenant), _) => Principal::Tenant {
            tenant,
            token_id: rec.id,
            scope,
        },
    })
}

/// The principal a live session stands for; its token (for token sign-ins),
/// or its customer and SSO binding, are checked again on every request.
pub fn session_principal(
    state: &AppState,
    s: &crate::sessions::Session,
) -> Result<Principal, ApiError> {
    let expired = || ApiError::Unauthorized("the session has ended; sign in again".into());
    match &s.kind {
        crate::sessions::SessionKind::Customer {
            customer,
            binding,
            issuer,
            subject,
            email,
        } => {
            // The customer and the binding signed in through must still exist.
            let c = crate::customers::load(state, &s.tenant, customer)?.ok_or_else(expired)?;
            if !c
                .sso
                .iter()
                .any(|b| b.id == *binding && b.issuer == *issuer)
            {
                return Err(expired());
            }
            Ok(Principal::Customer {
                tenant: s.tenant.clone(),
                customer: customer.clone(),
                subject: crate::events::Subject::Oidc {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                    email: email.clone(),
                },
            })
        }
        crate::sessions::SessionKind::Admin { token_id }
        | crate::sessions::SessionKind::CustomerToken { token_id } => {
            let rec = state
                .token(token_id)?
                .filter(|r| r.live(now_unix()) && r.tenant.as_deref() == Some(s.tenant.as_str()))
                .ok_or_else(expired)?;
            principal_of(state, rec).map_err(|_| expired())
        }
    }
}

/// Checks a bearer token against the store.
pub fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let (id, secret) = parse(token).ok_or_else(invalid)?;
    let rec = state
        .token(id)
        .map_err(ApiError::from)?
        .ok_or_else(invalid)?;
    let presented = Sha256::digest(secret.as_bytes());
    let stored = hex::decode(&rec.secret_sha256).unwrap_or_default();
    if !bool::from(presented.as_slice().ct_eq(&stored)) {
        return Err(invalid());
    }
    let now = now_unix();
    if !rec.live(now) {
        return Err(invalid());
    }
    state.touch_token(&rec, now);
    principal_of(state, rec)
}

/// Whether a cookie-authenticated request came from the portal itself: a
/// browser says so with `Sec-Fetch-Site: same-origin` (a link on a portal
/// page) or `none` (typed or bookmarked). Anything else, and a request that
/// does not say, is refused: another site must not make a signed-in
/// customer's browser append downloads to the log in their name.
fn same_site_navigation(headers: &axum::http::HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-origin" | "none")
    )
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // The portal's session cookie authenticates reads (its download
            // links); anything that changes state needs a bearer token.
            let read = matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            );
            if read {
                if let Some(s) = crate::sessions::current(state, &parts.headers)? {
                    if !same_site_navigation(&parts.headers) {
                        return Err(ApiError::Unauthorized(
                            "a portal session authenticates only links followed within the portal \
                             (Sec-Fetch-Site: same-origin); use a bearer token from elsewhere"
                                .into(),
                        ));
                    }
                    return session_principal(state, &s);
                }
            }
            return Err(ApiError::Unauthorized(
                "missing Authorization: Bearer <token> header".into(),
            ));
        };
        // An address that used up its budget of failed authentications is
        // refused before its credentials are looked at.
        let addr = crate::limits::client_addr(&parts.extensions);
        state.limits().check_auth_allowed(addr)?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the Authorization header is not ASCII".into()));
        let token = value.and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| {
                    ApiError::Unauthorized("the Authorization header is not a Bearer token".into())
                })
        });
        let r = token.and_then(|t| authenticate(state, t.trim()));
        if let Err(ApiError::Unauthorized(_)) = &r {
            state.limits().auth_failed(addr);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_hash() {
        let m = mint();
        let (id, secret) = parse(&m.token).unwrap();
        assert_eq!(id, m.id);
        assert_eq!(
            hex::encode(Sha256::digest(secret.as_bytes())),
            m.secret_sha256
        );
        for bad in [
            "",
            "evd_",
            "xyz_0123456789abcdef_x",
            &m.token[..m.token.len() - 1],
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        let upper = m.token.replacen(&m.id, &m.id.to_uppercase(), 1);
        if upper != m.token {
            assert!(parse(&upper).is_none());
        }
    }
}
