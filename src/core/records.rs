//! What is stored, as plain data: tenants, tokens, customers and their
//! SSO bindings, sessions, settings, keys and export issuances. The key
//! layout they are stored under belongs to `store`; the rules that read
//! them (who may see what) to `access` and `policy`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::{
    access::{ClaimRule, Entitlement},
    principal::Scope,
};

/// A tenant as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantRecord {
    /// URL-safe identifier.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The log's checkpoint origin.
    pub origin: String,
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

/// Who a session is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionKind {
    /// A customer's user, signed in through OIDC.
    Customer {
        /// Customer id.
        customer: String,
        /// The SSO binding signed in through; the session ends when the
        /// binding is removed (a changed rule is a new binding).
        binding: String,
        /// OIDC issuer.
        issuer: String,
        /// OIDC subject.
        subject: String,
        /// E-mail claim, if any.
        email: Option<String>,
    },
    /// A tenant admin who signed in with an admin token (re-checked on every request).
    Admin {
        /// The admin token's id.
        token_id: String,
    },
    /// A customer's user who signed in with a customer access token (re-checked on every request).
    CustomerToken {
        /// The token's id.
        token_id: String,
    },
}

/// A stored session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Tenant slug.
    pub tenant: String,
    /// Who.
    pub kind: SessionKind,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, updated at most once a minute.
    pub seen_at: i64,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

/// The shortest share-link lifetime, seconds (24 hours).
pub const MIN_SHARE_TTL: i64 = 24 * 3600;
/// The longest share-link lifetime, seconds (30 days).
pub const MAX_SHARE_TTL: i64 = 30 * 24 * 3600;

/// A tenant's settings.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Default share-link lifetime, seconds (86400 to 2592000, and at most
    /// the tenant's maximum).
    pub share_link_ttl_secs: i64,
    /// The longest share-link lifetime this tenant allows, seconds (86400 to
    /// 2592000); a tenant may lower its own maximum below the hard 30 days.
    #[serde(default = "max_share_ttl")]
    pub share_link_max_ttl_secs: i64,
    /// Serve the log's checkpoint and hash tiles at `/tlog/{t}/…` without a
    /// token, so that monitors and witnesses can follow it (rate-limited per
    /// client address). Off by default.
    #[serde(default)]
    pub public_log: bool,
    /// Also serve the log's entry bundles (the event bodies: who downloaded
    /// what) without a token. Needs `public_log`. Off by default.
    #[serde(default)]
    pub public_entries: bool,
}

fn max_share_ttl() -> i64 {
    MAX_SHARE_TTL
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            share_link_ttl_secs: 7 * 24 * 3600,
            share_link_max_ttl_secs: MAX_SHARE_TTL,
            public_log: false,
            public_entries: false,
        }
    }
}

/// What a share link lets its holder download.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Covered {
    /// The CycloneDX 1.6 JSON export.
    CyclonedxJson,
    /// The CycloneDX 1.6 XML export.
    CyclonedxXml,
    /// The SPDX 2.3 JSON export.
    SpdxJson,
    /// The SPDX 2.3 tag-value export.
    SpdxTv,
    /// The NOTICE (text, Markdown, HTML).
    Notice,
    /// The verify kit of each covered export.
    Kit,
}

impl Covered {
    /// Every kind, in the order pages list them.
    pub const ALL: [Self; 6] = [
        Self::CyclonedxJson,
        Self::CyclonedxXml,
        Self::SpdxJson,
        Self::SpdxTv,
        Self::Notice,
        Self::Kit,
    ];

    /// Its name, as the API and the log spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::CyclonedxJson => "cyclonedx-json",
            Self::CyclonedxXml => "cyclonedx-xml",
            Self::SpdxJson => "spdx-json",
            Self::SpdxTv => "spdx-tv",
            Self::Notice => "notice",
            Self::Kit => "kit",
        }
    }

    /// The export format name, for the four export kinds.
    pub fn export_format(self) -> Option<&'static str> {
        match self {
            Self::Notice | Self::Kit => None,
            _ => Some(self.name()),
        }
    }
}

/// A share link as stored: never its token, only the token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLink {
    /// The link's public id (16 hex): what the API and the log name.
    pub id: String,
    /// Tenant slug.
    pub tenant: String,
    /// Product.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// A pinned revision; the latest when absent.
    pub revision: Option<u32>,
    /// What it covers.
    pub covers: Vec<Covered>,
    /// A label for the recipient (stored, never sent anywhere).
    pub label: Option<String>,
    /// The recipient's e-mail (stored, never sent anywhere).
    pub email: Option<String>,
    /// At most this many downloads.
    pub max_uses: Option<u32>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: the link works while now < expires_at.
    pub expires_at: i64,
    /// The token id (or operator) that issued it.
    pub issuer: String,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// The `share_link_issued` entry (kept under its own key by the batch
    /// that appends it; filled in on reads).
    #[serde(default, skip_serializing)]
    pub issued_index: Option<u64>,
    /// The `share_link_revoked` entry, likewise.
    #[serde(default, skip_serializing)]
    pub revoked_index: Option<u64>,
}

/// A tenant's public export key, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct PublicKeyRecord {
    /// First 16 hex digits of SHA-256 of the SubjectPublicKeyInfo DER.
    pub key_id: String,
    /// `ecdsa-p256-sha256`.
    pub algorithm: String,
    /// The public key, PEM (SubjectPublicKeyInfo).
    pub public_key_pem: String,
    /// RFC 3339: from when this key signs.
    pub valid_from: String,
    /// RFC 3339: when it stopped signing (absent while current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// What was fixed when an export was issued (`export/…/<format>/<sha256>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    /// The key that signed.
    pub key_id: String,
    /// DER ECDSA-SHA256 over the export bytes, base64.
    pub signature: String,
    /// The in-toto statement (DSSE payload) bytes, base64.
    pub statement: String,
    /// DER ECDSA-SHA256 over the DSSE PAE of the statement, base64.
    pub dsse_signature: String,
}

/// One key a log has been signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct LogKeyInfo {
    /// The C2SP verifier key string (named after the log's origin).
    pub log_key: String,
    /// The first checkpoint size this key signs.
    pub from_size: u64,
    /// The last checkpoint size it signed (absent while current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_size: Option<u64>,
    /// True for the platform's shared key of logs created before each log
    /// had its own.
    #[serde(default)]
    pub platform_key: bool,
    /// The rotation statement that handed over to the next key, and the
    /// index of its `log_key_rotated` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<RotationInfo>,
}

/// How a key handed over to its successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct RotationInfo {
    /// The signed rotation statement (C2SP signed note, both keys).
    pub statement: String,
    /// The `log_key_rotated` entry's index.
    pub log_index: u64,
}

/// One VEX version of a release: immutable once stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VexVersion {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// 1, 2, … per release tag.
    pub version: u32,
    /// The release revision the statements were resolved against (their
    /// component positions are into that revision's model).
    pub revision: u32,
    /// Unix seconds: the publication time, the only time the documents carry.
    pub published_at: i64,
    /// The token (or operator) that published it.
    pub published_by: String,
    /// The vendor the documents name (the tenant's display name then).
    pub author: String,
    /// The absolute URL prefix of the documents' ids (fixed at publication,
    /// so the documents stay byte-stable).
    pub id_base: String,
    /// What the input was: `findings`, `cyclone_dx`, `open_vex`, `csaf`.
    pub source: evident_sbom::vex::VexSource,
    /// The statements: stored under their own key, so that reading a
    /// release's versions (every CycloneDX export does) never reads them;
    /// empty in the versions `Db::vex_versions` returns (load them with
    /// `Db::vex_statements`).
    #[serde(skip)]
    pub statements: Vec<evident_sbom::vex::Statement>,
    /// Hex SHA-256 of the statements in RFC 8785 form.
    pub statements_sha256: String,
    /// Hex SHA-256 of every document, by format name.
    pub documents: std::collections::BTreeMap<String, String>,
    /// What reading and resolving tolerated.
    #[serde(default)]
    pub warnings: Vec<evident_sbom::Warning>,
    /// The `vex_published` entry's index.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// A tenant officer's registered public key (regulator cover notes are
/// signed with its private half, which the platform never holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerRecord {
    /// The first 16 hex digits of the key's SHA-256: the id in the API.
    pub id: String,
    /// The officer's name.
    pub name: String,
    /// The officer's role (for example "Head of Product Security").
    pub role: String,
    /// `ecdsa-p256` or `ed25519`.
    pub algorithm: String,
    /// The public key, PEM SubjectPublicKeyInfo.
    pub public_key_pem: String,
    /// SHA-256 (hex) of the DER SubjectPublicKeyInfo.
    pub public_key_sha256: String,
    /// Unix seconds.
    pub registered_at: i64,
    /// Unix seconds, once revoked (the key stays, to verify what it signed
    /// before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// A witness a tenant's log submits its checkpoints to (C2SP tlog-witness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessRecord {
    /// The witness's name (its verifier key's name).
    pub name: String,
    /// Its key id (8 hex digits): the id in the API.
    pub id: String,
    /// The submission prefix: checkpoints go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its `cosignature/v1` verifier key.
    pub vkey: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// What a tenant's log knows of one witness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// The size the witness last cosigned (or told us it has).
    pub size: u64,
    /// The largest checkpoint size it cosigned for us.
    pub cosigned_size: Option<u64>,
    /// Unix seconds of the last cosignature.
    pub cosigned_at: Option<i64>,
    /// Unix seconds of the last submission.
    pub attempted_at: Option<i64>,
    /// Why the last submission failed (cleared by the next success).
    pub last_error: Option<String>,
    /// Failed submissions in a row (the next waits 2^n seconds, at most an hour).
    #[serde(default)]
    pub failures: u32,
}
