//! Who is calling, once their credentials checked out, and what a tenant
//! token's scope lets it do (`policy` decides, per action).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::events::{Actor, Subject};

/// What a token may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
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
    /// Issues share links (sales and support staff); revokes its own.
    Share,
    /// Answers regulator requests (a tenant officer): records them, moves
    /// them through their life cycle, reads releases and officers.
    Officer,
    /// A customer access token: sees only its customer's entitled releases
    /// (the customer is in the token record).
    Customer,
}

/// Who is calling.
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
        subject: Subject,
    },
    /// The holder of a share link, anonymous: reads the one release the
    /// link names (the share-link service checks the link on every
    /// request and what it covers).
    ShareLink {
        /// Tenant slug.
        tenant: String,
        /// The link's public id.
        link_id: String,
        /// Product.
        product: String,
        /// Tag.
        tag: String,
    },
    /// An anonymous visitor of a public portal: reads what the tenant
    /// marks public (`service::portal` checks, per release).
    Public {
        /// Tenant slug.
        tenant: String,
        /// The visitor's pseudonym (see `Actor::Public`).
        client: String,
    },
}

impl Principal {
    /// The log actor for events this principal causes.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Operator { token_id } => Actor::Operator {
                token_id: token_id.clone(),
            },
            Self::Tenant {
                token_id, scope, ..
            } => Actor::Token {
                token_id: token_id.clone(),
                scope: *scope,
            },
            Self::Customer {
                customer, subject, ..
            } => Actor::Customer {
                customer_id: customer.clone(),
                subject: subject.clone(),
            },
            Self::ShareLink { link_id, .. } => Actor::ShareLink {
                link_id: link_id.clone(),
            },
            Self::Public { client, .. } => Actor::Public {
                client: client.clone(),
            },
        }
    }

    /// The customer and subject this principal downloads as; `None` for a
    /// share link, whose downloads are `share_link_used` events instead.
    pub fn download_subject(&self) -> Option<(Option<String>, Subject)> {
        match self {
            Self::Customer {
                customer, subject, ..
            } => Some((Some(customer.clone()), subject.clone())),
            Self::Tenant { token_id, .. } | Self::Operator { token_id } => Some((
                None,
                Subject::Token {
                    token_id: token_id.clone(),
                },
            )),
            Self::ShareLink { .. } => None,
            Self::Public { client, .. } => Some((
                None,
                Subject::Anonymous {
                    client: client.clone(),
                },
            )),
        }
    }

    /// The token id behind this principal, if any (an OIDC session has none).
    pub fn token_id(&self) -> Option<&str> {
        match self {
            Self::Operator { token_id } | Self::Tenant { token_id, .. } => Some(token_id),
            Self::Customer {
                subject: Subject::Token { token_id },
                ..
            } => Some(token_id),
            Self::Customer { .. } | Self::ShareLink { .. } | Self::Public { .. } => None,
        }
    }
}
