//! Log events: what a tenant's transparency log records.
//!
//! A leaf is the RFC 8785 canonical JSON of one [`LogEvent`] (serde_jcs), so
//! anyone can recompute a leaf hash from the event they were shown. Leaves
//! carry ids and digests, never document bodies or secrets. The schema is
//! generated from these types into `schemas/log-event.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::principal::Scope;

/// The version of the event format this code writes.
pub const EVENT_VERSION: u32 = 1;

/// One entry of a tenant's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogEvent {
    /// Event format version (1).
    pub v: u32,
    /// When the server recorded the event, RFC 3339 UTC with seconds.
    pub time: String,
    /// The tenant slug whose log this is.
    pub tenant: String,
    /// Who caused the event.
    pub actor: Actor,
    /// What happened.
    pub event: EventBody,
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Actor {
    /// The platform operator, by token id.
    Operator {
        /// Operator token id.
        token_id: String,
    },
    /// A tenant token, by id and scope.
    Token {
        /// Token id (never the secret).
        token_id: String,
        /// The token's scope.
        scope: Scope,
    },
    /// A customer's user.
    Customer {
        /// The customer.
        customer_id: String,
        /// How they authenticated.
        subject: Subject,
    },
    /// Whoever holds a share link (anonymous), by the link's public id.
    ShareLink {
        /// The link's id (never its token).
        link_id: String,
    },
    /// An anonymous visitor of a public portal.
    Public {
        /// The visitor's pseudonym: 64 bits (hex) of a hash of the client
        /// address (an IPv6 address's /64) keyed per tenant; the same
        /// address gives the same pseudonym in one tenant's log, different
        /// ones across tenants, and the address cannot be read back.
        client: String,
    },
}

/// Who, within a customer, authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// A token (a customer access token, or a tenant token).
    Token {
        /// Token id.
        token_id: String,
    },
    /// A user signed in through the customer's OIDC provider.
    Oidc {
        /// The ID token's issuer.
        issuer: String,
        /// The ID token's subject.
        subject: String,
        /// The e-mail claim, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// Nobody signed in: a download from a public portal.
    Anonymous {
        /// The client's pseudonym (see `Actor::Public`).
        client: String,
    },
}

impl Subject {
    /// Who, for people: the e-mail address (else the IdP's subject), the
    /// access token's id, or the visitor's pseudonym.
    pub fn label(&self) -> String {
        match self {
            Self::Oidc { email, subject, .. } => email.clone().unwrap_or_else(|| subject.clone()),
            Self::Token { token_id } => format!("access token {token_id}"),
            Self::Anonymous { client } => format!("visitor {client}"),
        }
    }
}

/// The kinds of event. Later kinds (share links, VEX, regulator bundles)
/// join this enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    /// The tenant and its log were created.
    TenantCreated {
        /// Display name.
        name: String,
        /// The log's checkpoint origin line.
        origin: String,
        /// The C2SP verifier key of the log's checkpoints.
        log_key: String,
    },
    /// A token was issued. Only its id is logged.
    TokenIssued {
        /// Token id.
        token_id: String,
        /// Scope granted.
        scope: Scope,
        /// Free-text label, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Expiry, RFC 3339 UTC.
        expires_at: String,
        /// For a customer access token, its customer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_id: Option<String>,
    },
    /// A token was revoked.
    TokenRevoked {
        /// Token id.
        token_id: String,
    },
    /// CI pushed a release record (or a new revision of one).
    ReleasePushed {
        /// Product.
        product: String,
        /// Release tag.
        tag: String,
        /// Revision, from 1.
        revision: u32,
        /// The artefact digests, `sha256:<hex>`, in the order pushed.
        artefacts: Vec<String>,
        /// SHA-256 (hex) of the SBOM bytes as pushed.
        sbom_sha256: String,
        /// SHA-256 (hex) of the provenance envelope's RFC 8785 form, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provenance_sha256: Option<String>,
        /// For a product release: its component releases, as
        /// `product:tag@revision`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        components: Vec<String>,
    },
    /// A tenant export-signing key was created (ECDSA P-256).
    ExportKeyCreated {
        /// Key id: first 16 hex digits of SHA-256 of the SubjectPublicKeyInfo DER.
        key_id: String,
        /// SHA-256 (hex) of the SubjectPublicKeyInfo DER.
        public_key_sha256: String,
    },
    /// The tenant export-signing key was rotated; the old key stays listed.
    ExportKeyRotated {
        /// The key that signed until now.
        old_key_id: String,
        /// The new key's id.
        key_id: String,
        /// SHA-256 (hex) of the new SubjectPublicKeyInfo DER.
        public_key_sha256: String,
    },
    /// An SBOM export of a release revision (or one of its standalone VEX
    /// documents) was signed for the first time.
    ExportIssued {
        /// Product.
        product: String,
        /// Release tag.
        tag: String,
        /// Revision.
        revision: u32,
        /// `cyclonedx-json`, `cyclonedx-xml`, `spdx-json` or `spdx-tv`; or
        /// `openvex`, `csaf` or `cyclonedx-vex` for a VEX document.
        format: String,
        /// SHA-256 (hex) of the exact bytes served.
        sha256: String,
        /// The export key that signed the bytes and the statement.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// SHA-256 (hex) of the in-toto statement (the DSSE payload) that
        /// pins the export to the artefact digests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statement_sha256: Option<String>,
    },
    /// Release evidence was downloaded; the response went out only after
    /// this entry was durable.
    DownloadServed {
        /// The customer, when a customer downloaded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_id: Option<String>,
        /// Who authenticated: the OIDC issuer, subject and e-mail, or the token id.
        subject: Subject,
        /// Product.
        product: String,
        /// Release tag.
        tag: String,
        /// Revision.
        revision: u32,
        /// `export`, `signature`, `signature-timestamp`, `signature-bundle`,
        /// `attestation-bundle`, `verify-script`, `kit`, `notice` or `original`.
        artifact: String,
        /// The export or NOTICE format, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// SHA-256 (hex) of the exact bytes served.
        sha256: String,
        /// How many bytes were served (absent in entries written before
        /// it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// A customer was created, changed or deleted: a snapshot of its access
    /// (never a secret).
    CustomerUpdated {
        /// Customer id.
        customer_id: String,
        /// Name.
        name: String,
        /// Entitlements as `product:tag-pattern`.
        entitlements: Vec<String>,
        /// SSO bindings as `issuer claim op value`.
        sso: Vec<String>,
        /// True when the customer was deleted (its tokens revoked in the same batch).
        deleted: bool,
    },
    /// The log moved to a new signing key. The statement (a C2SP signed
    /// note, see `evident_verify::rotation`) names both keys and is signed
    /// by both; the checkpoint that covers this entry is the old key's last.
    LogKeyRotated {
        /// The verifier key that signed until now.
        old_log_key: String,
        /// The verifier key that signs from the next checkpoint on.
        new_log_key: String,
        /// The rotation statement.
        statement: String,
    },
    /// Tenant settings changed.
    SettingsUpdated {
        /// Default share-link lifetime, seconds.
        share_link_ttl_secs: i64,
        /// The tenant's longest share-link lifetime, seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        share_link_max_ttl_secs: Option<i64>,
        /// Whether the checkpoint and hash tiles are public.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_log: Option<bool>,
        /// Whether the entry bundles are public.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_entries: Option<bool>,
    },
    /// A customer exported its own downloads with their receipts (one
    /// file, `evident-verify receipts`): which entries the list proves.
    ReceiptsExported {
        /// The customer.
        customer_id: String,
        /// How many receipts the list has.
        count: u64,
        /// `evident_verify::receipt::list_digest` of the list: SHA-256
        /// (hex) over each receipt's index and leaf hash, in order.
        entries_sha256: String,
        /// The time range asked for (RFC 3339), when one was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The end of the range (excluded), when one was asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// True when more downloads matched than the list holds (it holds
        /// the newest).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
    /// A compliance document was published with a release (its bytes are
    /// a blob; the entry names their digest).
    DocumentPublished {
        /// The document's id.
        document_id: String,
        /// Product.
        product: String,
        /// Release tag; absent for a document of the whole product.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        /// Title.
        title: String,
        /// `declaration_of_conformity`, `pentest_summary`, …
        doc_type: String,
        /// `customers`, `public`, or `customers:<id>,<id>`.
        audience: String,
        /// SHA-256 (hex) of the bytes.
        sha256: String,
        /// Size in bytes.
        bytes: u64,
    },
    /// A CSAF security advisory was published: its document is fixed (a
    /// blob) and listed for the release's readers.
    AdvisoryPublished {
        /// The tracking id.
        advisory_id: String,
        /// Product.
        product: String,
        /// Release tag.
        tag: String,
        /// The release revision it is about.
        revision: u32,
        /// Title.
        title: String,
        /// The vulnerability ids it states, sorted.
        vulnerabilities: Vec<String>,
        /// SHA-256 (hex) of the CSAF document.
        csaf_sha256: String,
    },
    /// A compliance document was withdrawn: no longer listed or served.
    DocumentWithdrawn {
        /// The document's id.
        document_id: String,
    },
    /// The portal's settings changed (`PUT /api/v1/tenants/{t}/portal`):
    /// a snapshot of every field.
    PortalUpdated {
        /// The name the pages show, when it is not the tenant's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        /// SHA-256 (hex) of the description, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description_sha256: Option<String>,
        /// The contact address for security questions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_email: Option<String>,
        /// `#rrggbb`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accent_colour: Option<String>,
        /// Whether the portal's pages answer at all.
        enabled: bool,
        /// `private` or `public`.
        visibility: String,
        /// What a public portal shows, as `product:tag-pattern`.
        public_releases: Vec<String>,
    },
    /// The portal's logo was set or removed.
    PortalLogoChanged {
        /// SHA-256 (hex) of the new logo; absent when it was removed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// `image/png` or `image/svg+xml`; absent when removed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
        /// Its size in bytes; absent when removed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// A share link was issued (the link is stored in the same batch).
    /// Names the hash of its token, never the token.
    ShareLinkIssued {
        /// The link's public id.
        link_id: String,
        /// Product.
        product: String,
        /// Tag.
        tag: String,
        /// The pinned revision, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<u32>,
        /// What it covers: `cyclonedx-json`, `cyclonedx-xml`, `spdx-json`,
        /// `spdx-tv`, `notice`, `kit`.
        covers: Vec<String>,
        /// Expiry, RFC 3339 UTC.
        expires_at: String,
        /// At most this many downloads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_uses: Option<u32>,
        /// Hex SHA-256 of the token.
        token_sha256: String,
    },
    /// A share link was used to download; the bytes went out only after
    /// this entry was durable.
    ShareLinkUsed {
        /// The link's public id.
        link_id: String,
        /// Product.
        product: String,
        /// Tag.
        tag: String,
        /// Revision served.
        revision: u32,
        /// `export`, `notice`, `kit`, `vex`, …
        artifact: String,
        /// The format, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// SHA-256 (hex) of the exact bytes served.
        sha256: String,
        /// How many bytes were served (absent in entries written before
        /// it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        /// The use's number (1 for the first download through the link).
        #[serde(rename = "use")]
        use_number: u32,
        /// A pseudonym of the client's address (16 hex digits of a keyed
        /// hash of the tenant, link, UTC day and address): equal for the
        /// same address on one link and day, unlinkable across links and
        /// days, and no address can be recovered from it. Absent in
        /// entries written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// An officer's public key was registered: what it signs (regulator
    /// cover notes) verifies with it from this entry on.
    OfficerKeyRegistered {
        /// The officer's id (the first 16 hex digits of `public_key_sha256`).
        officer_id: String,
        /// The officer's name.
        name: String,
        /// The officer's role.
        role: String,
        /// `ecdsa-p256` or `ed25519`.
        algorithm: String,
        /// SHA-256 (hex) of the DER SubjectPublicKeyInfo.
        public_key_sha256: String,
    },
    /// An officer's key was revoked: nothing it signs from now on is
    /// accepted; what it signed before still verifies.
    OfficerKeyRevoked {
        /// The officer's id.
        officer_id: String,
        /// SHA-256 (hex) of the DER SubjectPublicKeyInfo.
        public_key_sha256: String,
        /// `superseded`, `left`, `compromised` (what it signed before is
        /// suspect too) or `unspecified`.
        reason: String,
    },
    /// A regulator's request was recorded: its SHA-256 ties the request's
    /// text (kept in the tenant's records and enclosed in the bundle) to
    /// this entry; each production digest the authority observed is
    /// resolved here to the release revisions whose artefacts carry it,
    /// or named unmatched.
    RegulatorRequestReceived {
        /// The request's id.
        request_id: String,
        /// Hex SHA-256 of the request as recorded, in RFC 8785 form.
        request_sha256: String,
        /// `market_surveillance`, `csirt`, `sector_regulator` or `other`.
        authority_kind: String,
        /// The authority's country (ISO 3166-1 alpha-2, or `EU`).
        country: String,
        /// When the authority's notice was received (`YYYY-MM-DD`).
        received_on: String,
        /// When the answer is due (`YYYY-MM-DD`).
        deadline: String,
        /// The product asked for by name, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product: Option<String>,
        /// The release tag asked for by name, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        /// What the server found for each production digest.
        resolved: Vec<DigestResolved>,
        /// Production digests that no artefact of any release carries.
        unmatched: Vec<String>,
    },
    /// A regulator bundle was issued: the officer's signature over the
    /// cover note verified with the officer's registered key, the platform
    /// countersigned, both were timestamped, and the manifest was fixed.
    /// Appended before the first byte of the bundle is served.
    RegulatorBundleIssued {
        /// The request's id.
        request_id: String,
        /// Hex SHA-256 of the bundle's `manifest.json` (which lists every
        /// file but itself and the log evidence, with its SHA-256).
        manifest_sha256: String,
        /// Hex SHA-256 of `cover-note.json`.
        cover_note_sha256: String,
        /// The officer who signed.
        officer_id: String,
        /// Hex SHA-256 of the officer's signature.
        officer_signature_sha256: String,
        /// Hex SHA-256 of the platform's countersignature.
        countersignature_sha256: String,
        /// Product.
        product: String,
        /// Tag.
        tag: String,
        /// Revision.
        revision: u32,
    },
    /// A download link for the authority was issued for a request's bundle.
    RegulatorLinkIssued {
        /// The request's id.
        request_id: String,
        /// The link's public id (never its token).
        link_id: String,
        /// When it stops working (RFC 3339): the deadline's end plus a grace.
        expires_at: String,
    },
    /// An authority's link was used (the actor is the link); the answer
    /// went out only after this entry was durable.
    RegulatorLinkUsed {
        /// The request's id.
        request_id: String,
        /// The link's public id.
        link_id: String,
        /// `bundle`, or `consistency <old>..<new>`.
        what: String,
        /// Hex SHA-256 of the bundle served, or of the checkpoint given.
        sha256: String,
        /// Bytes served (0 for a proof).
        bytes: u64,
    },
    /// An authority's link was revoked; it stopped working at this entry.
    RegulatorLinkRevoked {
        /// The request's id.
        request_id: String,
        /// The link's public id.
        link_id: String,
    },
    /// A request was taken into preparation.
    RegulatorRequestInPreparation(RequestMoved),
    /// A request's bundle was issued.
    RegulatorRequestIssued(RequestMoved),
    /// A request's bundle was delivered to the authority.
    RegulatorRequestDelivered(RequestMoved),
    /// A request was closed.
    RegulatorRequestClosed(RequestMoved),
    /// A request was withdrawn (by the authority, or found void).
    RegulatorRequestWithdrawn(RequestMoved),
    /// A witness was added to the log's witnesses: from now on its
    /// checkpoints are submitted to it.
    WitnessAdded {
        /// The witness's name.
        name: String,
        /// Its submission prefix.
        url: String,
        /// Its `cosignature/v1` verifier key.
        vkey: String,
    },
    /// A witness was removed; its cosignatures already kept stay valid.
    WitnessRemoved {
        /// The witness's name.
        name: String,
        /// Its `cosignature/v1` verifier key.
        vkey: String,
    },
    /// A portal session began: an OIDC sign-in (the actor is the customer
    /// with the IdP's subject) or a token sign-in (the actor is the token).
    SignedIn {
        /// `oidc` or `token`.
        method: String,
        /// The session's id: the first 16 hex digits of the SHA-256 of its
        /// cookie (never the cookie), as `session_ended` names it.
        session: String,
    },
    /// A tenant admin token's first use on a UTC day: administration by
    /// token is in the trail once a day per token, not once per request
    /// (each change it makes has its own entry too). The actor is the
    /// token.
    AdminTokenUsed {
        /// The UTC day, `YYYY-MM-DD`.
        day: String,
        /// The day's first request by the token: method and path (never
        /// the query or any header).
        request: String,
    },
    /// A portal session ended.
    SessionEnded {
        /// The session's id (see `signed_in`).
        session: String,
        /// `sign_out`, or `expired` (idle for 30 minutes or 12 hours old).
        reason: String,
    },
    /// Failed portal sign-ins, aggregated: the first of a minute is logged
    /// at once, the rest of that minute as one entry with their count, so
    /// a flood of attempts cannot fill the log. Carries no token, code,
    /// claim or text the caller or the IdP sent: only a reason code.
    SignInFailed {
        /// `oidc` or `token`.
        method: String,
        /// How many failures this entry stands for.
        count: u64,
        /// The first of them (RFC 3339).
        first_at: String,
        /// The last of them (RFC 3339).
        last_at: String,
        /// Why the last one failed: `invalid_token`, or for OIDC
        /// `bad_response`, `refused_or_expired`, `rule_not_met`,
        /// `idp_unreachable`, `rate_limited` or `error`.
        reason: String,
    },
    /// A share link was revoked; it stopped working at this entry.
    ShareLinkRevoked {
        /// The link's public id.
        link_id: String,
        /// How many times it was used before (its last use's number).
        uses: u32,
    },
    /// A VEX version of a release was published (the statements are stored
    /// in the same batch). Names the digest of the statements and of every
    /// document they yield, so each VEX document served later can be tied
    /// to this entry.
    VexPublished {
        /// Product.
        product: String,
        /// Tag.
        tag: String,
        /// The VEX version (1, 2, … per release tag).
        version: u32,
        /// The release revision whose SBOM the statements are about.
        revision: u32,
        /// How many statements.
        statements: u32,
        /// Hex SHA-256 of the statements in RFC 8785 form.
        statements_sha256: String,
        /// Hex SHA-256 of each document, by format: `openvex`, `csaf`,
        /// `cyclonedx-vex`, and the CycloneDX exports with the statements
        /// inline (`cyclonedx-json`, `cyclonedx-xml`).
        documents: std::collections::BTreeMap<String, String>,
    },
}

/// A production digest and one release revision whose artefact carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestResolved {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// The artefact's name in that revision.
    pub artefact: String,
    /// The index of that revision's `release_pushed` entry.
    pub release_index: u64,
}

/// A regulator request's move to the state its event kind names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMoved {
    /// The request's id.
    pub request_id: String,
    /// The state it left.
    pub from: String,
    /// Hex SHA-256 of the note given with the move, if any (the note
    /// itself stays in the tenant's records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_sha256: Option<String>,
}

impl LogEvent {
    /// The canonical (RFC 8785) bytes that become the leaf.
    pub fn to_leaf(&self) -> Vec<u8> {
        serde_jcs::to_vec(self).expect("events are plain JSON data and always serialise")
    }
}

/// The leaf of one event of `tenant`'s log, stamped now.
pub fn leaf(tenant: &str, actor: Actor, event: EventBody) -> Vec<u8> {
    LogEvent {
        v: EVENT_VERSION,
        time: crate::core::clock::now_rfc3339(),
        tenant: tenant.to_owned(),
        actor,
        event,
    }
    .to_leaf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_is_canonical_json() {
        let e = LogEvent {
            v: 1,
            time: "2026-01-02T03:04:05Z".into(),
            tenant: "acme".into(),
            actor: Actor::Operator {
                token_id: "0011".into(),
            },
            event: EventBody::TokenRevoked {
                token_id: "abcd".into(),
            },
        };
        let leaf = String::from_utf8(e.to_leaf()).unwrap();
        // RFC 8785: keys sorted by UTF-16 code units, no insignificant space.
        assert_eq!(
            leaf,
            r#"{"actor":{"token_id":"0011","type":"operator"},"event":{"kind":"token_revoked","token_id":"abcd"},"tenant":"acme","time":"2026-01-02T03:04:05Z","v":1}"#
        );
        let back: LogEvent = serde_json::from_str(&leaf).unwrap();
        assert_eq!(back, e);
    }
}
