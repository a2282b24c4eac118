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
}

impl Principal {
    /// Succeeds only for a token of `tenant` with one of `scopes`. Anything
    /// else, including a valid token of another tenant, is answered 404 so
    /// that no caller learns what exists outside its reach.
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
            Self::Tenant { .. } => Err(ApiError::not_found()),
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
        }
    }
}

/// Checks a bearer token against the store.
pub fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let invalid = || {
        ApiError::Unauthorized("the bearer token is not valid, has expired or was revoked".into())
    };
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
    if rec.revoked_at.is_some() || rec.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid());
    }
    state.touch_token(&rec, now);
    Ok(match (rec.scope, rec.tenant) {
        (Scope::Operator, _) => Principal::Operator { token_id: rec.id },
        (scope, Some(tenant)) => Principal::Tenant {
            tenant,
            token_id: rec.id,
            scope,
        },
        (_, None) => return Err(invalid()),
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("missing Authorization: Bearer <token> header".into())
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the Authorization header is not ASCII".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header is not a Bearer token".into())
            })?;
        authenticate(state, token.trim())
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
