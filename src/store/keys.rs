//! The key layout of the application column family: every key string the
//! server stores a record under is spelled here and nowhere else.
//!
//! | prefix | value |
//! |---|---|
//! | `tenant/<slug>` | [`TenantRecord`](crate::core::records::TenantRecord) |
//! | `token/<id>` | [`TokenRecord`](crate::core::records::TokenRecord) |
//! | `token-used/<id>` | last use, i64 big-endian (its own key, so a use never undoes a revocation) |
//! | `tenant-token/<tenant>/<id>` | empty: the tenant's token index |
//! | `operator-token` | the operator token's id |
//! | `customer/<tenant>/<id>` | [`CustomerRecord`](crate::core::records::CustomerRecord) |
//! | `session/<sha256 of cookie>` | [`Session`](crate::core::records::Session) |
//! | `session-seen/<sha256 of cookie>` | last use, i64 big-endian (its own key, so a use never brings back an ended session) |
//! | `settings/<tenant>` | [`Settings`](crate::core::records::Settings) |
//! | `advisory/<tenant>/<id>` | [`AdvisoryRecord`](crate::core::advisories::AdvisoryRecord); its input and published document are blobs |
//! | `document/<tenant>/<id>` | [`Document`](crate::core::documents::Document); its bytes are the blob of its digest |
//! | `portal/<tenant>` | [`PortalSettings`](crate::core::portal::PortalSettings) |
//! | `portal-logo/<tenant>` | [`Logo`](crate::core::portal::Logo); its bytes are the blob of its digest |
//! | `blob/<sha256>` | original SBOM, provenance and findings bytes |
//! | `model/<sha256 of SBOM>` | the normalized model, fixed at first ingest |
//! | `release/<tenant>/<product>/<tag>/<revision:010>` | [`ReleaseRecord`](crate::core::release::ReleaseRecord) |
//! | `release-log/…` (same suffix) | the index of its `release_pushed` event |
//! | `export/<tenant>/<product>/<tag>/<revision:010>/<format>/<sha256>` | [`Issued`](crate::core::records::Issued) |
//! | `export-log/…` (same suffix) | the index of its `export_issued` event |
//! | `tenant-key/<tenant>/<key id>` | sealed export key |
//! | `tenant-pub/<tenant>/<key id>` | [`PublicKeyRecord`](crate::core::records::PublicKeyRecord) |
//! | `tenant-key-current/<tenant>` | the current export key's id |
//! | `log-key/<tenant>/<key id>` | sealed log key |
//! | `log-key-current/<tenant>` | the current log key's id |
//! | `log-key-history/<tenant>` | [`LogKeyInfo`](crate::core::records::LogKeyInfo) list |
//! | `cp-tsr/<tenant>/<size:020>` | RFC 3161 reply over a checkpoint |
//! | `sig-tsr/<key id>/<sha256 of signature>` | RFC 3161 reply over a signature |
//! | `ext-tsa/<tsa id>/…` | the same two, from an external TSA |
//! | `share-link/<tenant>/<id>` | [`ShareLink`](crate::core::records::ShareLink) |
//! | `share-token/<sha256 of token>` | `<tenant>/<id>`: the link a token opens |
//! | `share-log/<tenant>/<id>/issued\|revoked\|use/<n:010>` | the index of its `share_link_issued`, `share_link_revoked` and each `share_link_used` entry |
//! | `share-use/<tenant>/<id>` | uses so far and the last use, written with each `share_link_used` |
//! | `officer/<tenant>/<id>` | [`OfficerRecord`](crate::core::records::OfficerRecord) |
//! | `regulator-request/<tenant>/<id>` | [`RegulatorRequest`](crate::core::regulator::RegulatorRequest) |
//! | `regulator-log/<tenant>/<id>/<step:04>` | the index of the entry of its step-th state (0: `regulator_request_received`) |
//! | `regulator-prep/<tenant>/<id>` | the prepared cover note's file list (each file a blob) until the signature |
//! | `regulator-issued/<tenant>/<id>` | the issued bundle's file list, manifest digest and issuance index |
//! | `regulator-log-part/<tenant>/<id>` | its `log/` files (entries, proofs, checkpoint and token), fixed at first making |
//! | `artefact/<tenant>/<hex digest>/<product>/<tag>/<revision:010>` | the artefact's name: which revisions carry a digest, written with each push |
//! | `search-purl/<tenant>/<purl without version>\0<version>\0<product>\0<tag>\0<revision:010>` | the full purl: which revisions carry a component (`store::search`) |
//! | `search-name/<tenant>/<name>\0<version>\0<product>\0<tag>\0<revision:010>` | the full purl or nothing: the same by name |
//! | `search-ready/<tenant>` | present once every release pushed before the component index existed is in it |
//! | `component-of/<tenant>/<product>/<tag>/<parent product>/<parent tag>` | empty: a component release and the product releases that name it (entitlements to those cover it) |
//! | `artefact-ready/<tenant>` | present once every release pushed before that index existed is in it |
//! | `witness/<tenant>/<key id>` | [`WitnessRecord`](crate::core::records::WitnessRecord) |
//! | `witness-state/<tenant>/<key id>` | [`WitnessState`](crate::core::records::WitnessState) |
//! | `cosig/<tenant>/<size:020>` | the witnesses' cosignature lines on the checkpoint of that size, by witness name |
//! | `cosig-latest/<tenant>` | the largest size with a cosignature |
//! | `vex/<tenant>/<product>/<tag>/<version:010>` | [`VexVersion`](crate::core::records::VexVersion) |
//! | `vex-log/…` (same suffix) | the index of its `vex_published` event |
//! | `vex-statements/…` (same suffix) | its statements |
//! | `audit/<tenant>/<dim><len:u16><value><time:u64><index:u64>` | empty: the secondary index of the log by [`AuditDim`], written with each entry |
//! | `audit-ready/<tenant>` | present once every entry of the log is indexed |
//! | `platform/<name>` | sealed platform keys |
//! | `tsa/key`, `tsa/cert.der`, `tsa/root.der` | the built-in TSA |

/// The namespaces whose records the store's read cache keeps decoded
/// (`evident_log::StoreOptions::read_cache_prefixes`): what every logged download
/// reads (token, its last use, customer, the product's releases, the
/// revision and its log index, the issuance and its index, VEX versions),
/// and the tenant, its settings and its portal's. Every write of these keys goes through
/// the store, which drops what it changes.
pub const CACHED: &[&[u8]] = &[
    b"token/",
    b"token-used/",
    b"customer/",
    b"release/",
    b"release-log/",
    b"export/",
    b"export-log/",
    b"vex/",
    b"vex-log/",
    b"tenant/",
    b"settings/",
    b"portal/",
    b"document/",
    b"advisory/",
    b"component-of/",
    b"portal-logo/",
];

/// `tenant/<slug>`.
pub fn tenant(slug: &str) -> Vec<u8> {
    format!("tenant/{slug}").into_bytes()
}
/// Every tenant.
pub const TENANTS: &[u8] = b"tenant/";

/// `token/<id>`.
pub fn token(id: &str) -> Vec<u8> {
    format!("token/{id}").into_bytes()
}
/// `token-used/<id>`.
pub fn token_used(id: &str) -> Vec<u8> {
    format!("token-used/{id}").into_bytes()
}
/// `token-day/<id>`: the last UTC day (days since the epoch, 8 bytes
/// big-endian) an `admin_token_used` entry was logged for the token.
pub fn token_day(id: &str) -> Vec<u8> {
    format!("token-day/{id}").into_bytes()
}
/// `tenant-token/<tenant>/<id>`.
pub fn tenant_token(tenant: &str, id: &str) -> Vec<u8> {
    format!("tenant-token/{tenant}/{id}").into_bytes()
}
/// The prefix of a tenant's token index.
pub fn tenant_tokens(tenant: &str) -> Vec<u8> {
    format!("tenant-token/{tenant}/").into_bytes()
}
/// The operator token's id.
pub const OPERATOR_TOKEN: &[u8] = b"operator-token";

/// `customer/<tenant>/<id>`.
pub fn customer(tenant: &str, id: &str) -> Vec<u8> {
    format!("customer/{tenant}/{id}").into_bytes()
}
/// A tenant's customers.
pub fn customers(tenant: &str) -> Vec<u8> {
    format!("customer/{tenant}/").into_bytes()
}

/// `session/<hash>`.
pub fn session(hash: &str) -> Vec<u8> {
    format!("session/{hash}").into_bytes()
}
/// `session-seen/<hash>`.
pub fn session_seen(hash: &str) -> Vec<u8> {
    format!("session-seen/{hash}").into_bytes()
}
/// Every session.
pub const SESSIONS: &[u8] = b"session/";
/// Every session's last use.
pub const SESSIONS_SEEN: &[u8] = b"session-seen/";

/// `settings/<tenant>`.
pub fn settings(tenant: &str) -> Vec<u8> {
    format!("settings/{tenant}").into_bytes()
}

/// `advisory/<tenant>/<id>`.
pub fn advisory(tenant: &str, id: &str) -> Vec<u8> {
    format!("advisory/{tenant}/{id}").into_bytes()
}

/// Every advisory of a tenant.
pub fn advisories(tenant: &str) -> Vec<u8> {
    format!("advisory/{tenant}/").into_bytes()
}

/// `document/<tenant>/<id>`.
pub fn document(tenant: &str, id: &str) -> Vec<u8> {
    format!("document/{tenant}/{id}").into_bytes()
}

/// Every document of a tenant.
pub fn documents(tenant: &str) -> Vec<u8> {
    format!("document/{tenant}/").into_bytes()
}

/// `portal/<tenant>`.
pub fn portal(tenant: &str) -> Vec<u8> {
    format!("portal/{tenant}").into_bytes()
}

/// `portal-logo/<tenant>`.
pub fn portal_logo(tenant: &str) -> Vec<u8> {
    format!("portal-logo/{tenant}").into_bytes()
}

/// `blob/<sha256>`.
pub fn blob(sha: &str) -> Vec<u8> {
    format!("blob/{sha}").into_bytes()
}
/// `model/<sha256>`.
pub fn model(sha: &str) -> Vec<u8> {
    format!("model/{sha}").into_bytes()
}

/// `<tenant>/<product>/<tag>/`: the part every key of a release shares.
pub fn release_path(tenant: &str, product: &str, tag: &str) -> String {
    format!("{tenant}/{product}/{tag}/")
}
/// `release/<tenant>/<product>/<tag>/<revision:010>`.
pub fn release(tenant: &str, product: &str, tag: &str, rev: u32) -> Vec<u8> {
    format!("release/{}{rev:010}", release_path(tenant, product, tag)).into_bytes()
}
/// `release-log/<tenant>/<product>/<tag>/<revision:010>`.
pub fn release_log(tenant: &str, product: &str, tag: &str, rev: u32) -> Vec<u8> {
    format!(
        "release-log/{}{rev:010}",
        release_path(tenant, product, tag)
    )
    .into_bytes()
}
/// Every revision of a release.
pub fn release_revisions(tenant: &str, product: &str, tag: &str) -> Vec<u8> {
    format!("release/{}", release_path(tenant, product, tag)).into_bytes()
}
/// Every release of a product.
pub fn product_releases(tenant: &str, product: &str) -> Vec<u8> {
    format!("release/{tenant}/{product}/").into_bytes()
}
/// Every release of a tenant.
pub fn tenant_releases(tenant: &str) -> Vec<u8> {
    format!("release/{tenant}/").into_bytes()
}

/// `<tenant>/<product>/<tag>/<revision:010>/<format>`: one export of one
/// revision (also the key of the in-memory export cache).
pub fn export_path(tenant: &str, product: &str, tag: &str, rev: u32, format: &str) -> String {
    format!("{}{rev:010}/{format}", release_path(tenant, product, tag))
}
/// `export/<export path>/<sha256>`.
pub fn issuance(export_path: &str, sha: &str) -> Vec<u8> {
    format!("export/{export_path}/{sha}").into_bytes()
}
/// `export-log/<export path>/<sha256>`.
pub fn issuance_log(export_path: &str, sha: &str) -> Vec<u8> {
    format!("export-log/{export_path}/{sha}").into_bytes()
}

/// `tenant-key/<tenant>/<key id>`.
pub fn export_key(tenant: &str, key_id: &str) -> Vec<u8> {
    format!("tenant-key/{tenant}/{key_id}").into_bytes()
}
/// `tenant-pub/<tenant>/<key id>`.
pub fn export_pub(tenant: &str, key_id: &str) -> Vec<u8> {
    format!("tenant-pub/{tenant}/{key_id}").into_bytes()
}
/// Every export public key of a tenant.
pub fn export_pubs(tenant: &str) -> Vec<u8> {
    format!("tenant-pub/{tenant}/").into_bytes()
}
/// `tenant-key-current/<tenant>`.
pub fn export_key_current(tenant: &str) -> Vec<u8> {
    format!("tenant-key-current/{tenant}").into_bytes()
}

/// `log-key/<tenant>/<key id>`.
pub fn log_key(tenant: &str, key_id: u32) -> Vec<u8> {
    format!("log-key/{tenant}/{key_id:08x}").into_bytes()
}
/// `log-key-current/<tenant>`.
pub fn log_key_current(tenant: &str) -> Vec<u8> {
    format!("log-key-current/{tenant}").into_bytes()
}
/// `log-key-history/<tenant>`.
pub fn log_key_history(tenant: &str) -> Vec<u8> {
    format!("log-key-history/{tenant}").into_bytes()
}

/// `cp-tsr/<tenant>/<size:020>` (before the TSA's own prefix, see
/// `service::timestamps::Timestamps::cache_key`).
pub fn checkpoint_token(tenant: &str, size: u64) -> String {
    format!("cp-tsr/{tenant}/{size:020}")
}
/// `sig-tsr/<key id>/<sha256 of the signature>` (likewise).
pub fn signature_token(key_id: &str, sig_sha256: &str) -> String {
    format!("sig-tsr/{key_id}/{sig_sha256}")
}
/// The prefix an external TSA's tokens are kept under.
pub fn external_tsa(tsa_id: &str, what: &str) -> String {
    format!("ext-tsa/{tsa_id}/{what}")
}

/// `share-link/<tenant>/<id>`.
pub fn share_link(tenant: &str, id: &str) -> Vec<u8> {
    format!("share-link/{tenant}/{id}").into_bytes()
}
/// A tenant's share links.
pub fn share_links(tenant: &str) -> Vec<u8> {
    format!("share-link/{tenant}/").into_bytes()
}
/// `share-token/<sha256 hex of the token>`.
pub fn share_token(token_sha256: &str) -> Vec<u8> {
    format!("share-token/{token_sha256}").into_bytes()
}
/// `share-log/<tenant>/<id>/<what>`: the index of its `share_link_<what>` entry.
pub fn share_log(tenant: &str, id: &str, what: &str) -> Vec<u8> {
    format!("share-log/{tenant}/{id}/{what}").into_bytes()
}
/// `share-use/<tenant>/<id>`.
pub fn share_use(tenant: &str, id: &str) -> Vec<u8> {
    format!("share-use/{tenant}/{id}").into_bytes()
}

/// `officer/<tenant>/<id>`.
pub fn officer(tenant: &str, id: &str) -> Vec<u8> {
    format!("officer/{tenant}/{id}").into_bytes()
}
/// `officer-log/<tenant>/<id>/<registered|revoked>`: the index of the
/// officer's registration or revocation entry.
pub fn officer_log(tenant: &str, id: &str, what: &str) -> Vec<u8> {
    format!("officer-log/{tenant}/{id}/{what}").into_bytes()
}
/// `regulator-request/<tenant>/<id>`.
pub fn regulator_request(tenant: &str, id: &str) -> Vec<u8> {
    format!("regulator-request/{tenant}/{id}").into_bytes()
}
/// A tenant's regulator requests.
pub fn regulator_requests(tenant: &str) -> Vec<u8> {
    format!("regulator-request/{tenant}/").into_bytes()
}
/// `regulator-log/<tenant>/<id>/<step:04>`.
pub fn regulator_log(tenant: &str, id: &str, step: usize) -> Vec<u8> {
    format!("regulator-log/{tenant}/{id}/{step:04}").into_bytes()
}
/// `<prefix>/<tenant>/<id>`: a regulator bundle's parts
/// (`regulator-prep`, `regulator-issued`, `regulator-log-part`).
pub fn regulator_part(prefix: &str, tenant: &str, id: &str) -> Vec<u8> {
    format!("{prefix}/{tenant}/{id}").into_bytes()
}
/// `artefact/<tenant>/<hex>/<product>/<tag>/<revision:010>`.
pub fn artefact(tenant: &str, hex: &str, product: &str, tag: &str, rev: u32) -> Vec<u8> {
    format!("artefact/{tenant}/{hex}/{product}/{tag}/{rev:010}").into_bytes()
}
/// The revisions carrying the artefact digest `hex`.
pub fn artefacts(tenant: &str, hex: &str) -> Vec<u8> {
    format!("artefact/{tenant}/{hex}/").into_bytes()
}
/// `search-purl/<tenant>/<text>` or `search-name/<tenant>/<text>`.
pub fn search(by: crate::store::search::By, tenant: &str, text: &str) -> Vec<u8> {
    let ns = match by {
        crate::store::search::By::Purl => "search-purl",
        crate::store::search::By::Name => "search-name",
    };
    format!("{ns}/{tenant}/{text}").into_bytes()
}

/// `search-ready/<tenant>`.
pub fn search_ready(tenant: &str) -> Vec<u8> {
    format!("search-ready/{tenant}").into_bytes()
}

/// `component-of/<tenant>/<product>/<tag>/<parent product>/<parent tag>`.
pub fn component_of(tenant: &str, (p, t): (&str, &str), (pp, pt): (&str, &str)) -> Vec<u8> {
    format!("component-of/{tenant}/{p}/{t}/{pp}/{pt}").into_bytes()
}

/// The parents of one component release.
pub fn parents_of(tenant: &str, product: &str, tag: &str) -> Vec<u8> {
    format!("component-of/{tenant}/{product}/{tag}/").into_bytes()
}

/// `artefact-ready/<tenant>`.
pub fn artefact_ready(tenant: &str) -> Vec<u8> {
    format!("artefact-ready/{tenant}").into_bytes()
}
/// A tenant's officers.
pub fn officers(tenant: &str) -> Vec<u8> {
    format!("officer/{tenant}/").into_bytes()
}
/// `witness/<tenant>/<id>`.
pub fn witness(tenant: &str, id: &str) -> Vec<u8> {
    format!("witness/{tenant}/{id}").into_bytes()
}
/// A tenant's witnesses.
pub fn witnesses(tenant: &str) -> Vec<u8> {
    format!("witness/{tenant}/").into_bytes()
}
/// `witness-state/<tenant>/<id>`.
pub fn witness_state(tenant: &str, id: &str) -> Vec<u8> {
    format!("witness-state/{tenant}/{id}").into_bytes()
}
/// `cosig/<tenant>/<size:020>`.
pub fn cosignatures(tenant: &str, size: u64) -> Vec<u8> {
    format!("cosig/{tenant}/{size:020}").into_bytes()
}
/// `cosig-latest/<tenant>`.
pub fn cosigned_latest(tenant: &str) -> Vec<u8> {
    format!("cosig-latest/{tenant}").into_bytes()
}

/// `platform/<name>`.
pub fn platform_key(name: &str) -> Vec<u8> {
    format!("platform/{name}").into_bytes()
}
/// The built-in TSA's sealed key, certificate and root.
pub const TSA_KEY: &[u8] = b"tsa/key";
/// The built-in TSA's certificate (DER).
pub const TSA_CERT: &[u8] = b"tsa/cert.der";
/// The built-in TSA's root certificate (DER).
pub const TSA_ROOT: &[u8] = b"tsa/root.der";

/// `vex/<tenant>/<product>/<tag>/<version:010>`.
pub fn vex(tenant: &str, product: &str, tag: &str, version: u32) -> Vec<u8> {
    format!("vex/{}{version:010}", release_path(tenant, product, tag)).into_bytes()
}
/// `vex-log/<tenant>/<product>/<tag>/<version:010>`.
pub fn vex_log(tenant: &str, product: &str, tag: &str, version: u32) -> Vec<u8> {
    format!(
        "vex-log/{}{version:010}",
        release_path(tenant, product, tag)
    )
    .into_bytes()
}
/// `vex-statements/<tenant>/<product>/<tag>/<version:010>`.
pub fn vex_statements(tenant: &str, product: &str, tag: &str, version: u32) -> Vec<u8> {
    format!(
        "vex-statements/{}{version:010}",
        release_path(tenant, product, tag)
    )
    .into_bytes()
}
/// A release tag's VEX versions.
pub fn vex_versions(tenant: &str, product: &str, tag: &str) -> Vec<u8> {
    format!("vex/{}", release_path(tenant, product, tag)).into_bytes()
}

/// A dimension the audit index sorts a tenant's log entries by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDim {
    /// Every entry, by time.
    All,
    /// By event kind.
    Kind,
    /// By customer id.
    Customer,
    /// By product.
    Product,
    /// By token id, OIDC subject or e-mail.
    Subject,
    /// By share link id.
    Link,
    /// By regulator request id.
    Request,
    /// By customer and product together (see [`audit_pair`]).
    CustomerProduct,
}

impl AuditDim {
    fn tag(self) -> &'static str {
        match self {
            Self::All => "a",
            Self::Kind => "k",
            Self::Customer => "c",
            Self::Product => "p",
            Self::Subject => "s",
            Self::Link => "l",
            Self::Request => "r",
            Self::CustomerProduct => "x",
        }
    }
}

/// All of a tenant's audit index keys.
pub fn audit_all(tenant: &str) -> Vec<u8> {
    format!("audit/{tenant}/").into_bytes()
}
/// `audit/<tenant>/<dim><len:u16><value>`: the keys of one indexed value;
/// each is followed by the entry's time and index (u64 big-endian each),
/// so a value's entries sort by time, then index.
pub fn audit_term(tenant: &str, dim: AuditDim, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    let mut k = format!("audit/{tenant}/{}", dim.tag()).into_bytes();
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(&value[..usize::from(len)]);
    k
}
/// The value of [`AuditDim::CustomerProduct`]: both, each length-prefixed.
pub fn audit_pair(customer: &str, product: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + customer.len() + product.len());
    for s in [customer, product] {
        v.extend_from_slice(&u16::try_from(s.len()).unwrap_or(u16::MAX).to_be_bytes());
        v.extend_from_slice(s.as_bytes());
    }
    v
}
/// The time and index at the end of an audit index key.
pub fn audit_position(key: &[u8]) -> Option<(u64, u64)> {
    let n = key.len().checked_sub(16)?;
    let t = u64::from_be_bytes(key[n..n + 8].try_into().ok()?);
    let i = u64::from_be_bytes(key[n + 8..].try_into().ok()?);
    Some((t, i))
}
/// `audit-ready/<tenant>`.
pub fn audit_ready(tenant: &str) -> Vec<u8> {
    format!("audit-ready/{tenant}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_terms_do_not_share_prefixes() {
        // A value that is another's prefix has its own key range.
        let a = audit_term("t", AuditDim::Product, b"app");
        let b = audit_term("t", AuditDim::Product, b"apple");
        assert!(!b.starts_with(&a));
        // Dimensions and tenants are apart too.
        assert!(
            !audit_term("t", AuditDim::CustomerProduct, b"x").starts_with(&audit_term(
                "t",
                AuditDim::Customer,
                b""
            ))
        );
        assert!(!audit_term("tt", AuditDim::All, b"").starts_with(&audit_all("t")));
        let mut k = audit_term("t", AuditDim::Kind, b"download_served");
        k.extend_from_slice(&7u64.to_be_bytes());
        k.extend_from_slice(&9u64.to_be_bytes());
        assert_eq!(audit_position(&k), Some((7, 9)));
    }

    #[test]
    fn revisions_sort_numerically_and_prefixes_do_not_overlap() {
        let k9 = release("t", "p", "v1", 9);
        let k10 = release("t", "p", "v1", 10);
        assert!(k9 < k10, "zero-padded revisions sort in order");
        assert!(k10.starts_with(&release_revisions("t", "p", "v1")));
        // A tag that is another's prefix does not share its revisions' prefix.
        assert!(!release("t", "p", "v10", 1).starts_with(&release_revisions("t", "p", "v1")));
        assert!(!token_used("x").starts_with(b"token/"));
        assert!(!session_seen("x").starts_with(SESSIONS));
    }
}
