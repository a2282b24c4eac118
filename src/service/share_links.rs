//! Share links: one-click, expiring, anonymous access to one release.
//!
//! A tenant admin (or a token of the `share` scope) issues a link for one
//! release (optionally pinned to a revision), covering a chosen set of
//! downloads, with a lifetime within the tenant's bounds and optionally a
//! cap on uses. The link is `<public URL>/s/<token>`: 256 random bits,
//! shown once. Only the token's SHA-256 is stored (and logged); the link's
//! public id is what the API and the log name.
//!
//! Every request through a link checks it again: unknown, expired,
//! revoked, used up, or pointing at a release that no longer exists, all
//! answer the same 404 ([`gone`]) and append nothing. Each download
//! appends a `share_link_used` entry (under the link's lock, so uses are
//! numbered 1, 2, … without gaps and never pass `max_uses`) before the
//! bytes go out. Revocation appends `share_link_revoked` under the same
//! lock, so no use can follow it. [`status`] proves all of it to a third
//! party: `evident-verify share-link` checks the document.

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use evident_verify::{
    receipt::Receipt,
    share::{ProvenEntry, Range, ShareLinkStatus, FORMAT},
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::core::records::{Covered, ShareLink};
use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::EventBody,
        policy::{allow, Action, Resource},
        records::MIN_SHARE_TTL,
        Error, Principal,
    },
    service::{
        catalogue::{self, ExportQuery},
        downloads::{self, Download},
        evidence,
        metrics::Channel,
        releases, AppState,
    },
    store::Db,
};

/// The most uses a link may allow.
pub const MAX_USES: u32 = 1_000_000;
/// The uses a link allows when the request names no cap: every use is a
/// log entry, so no link may append without bound.
pub const DEFAULT_MAX_USES: u32 = 10_000;
/// The longest recipient label, characters.
pub const MAX_LABEL: usize = 200;
/// The most leaves a status document carries after a revocation: the
/// document is proved against the latest checkpoint within this many
/// entries of the revocation (one is published at every revocation).
pub const MAX_RANGE: u64 = 100_000;

/// The one answer for a link that does not work, whatever the reason.
pub const GONE: &str = "this share link does not exist or no longer works";

/// The 404 of every link that does not work (no oracle for which reason).
pub fn gone() -> Error {
    Error::NotFound(GONE.into())
}

/// `POST /api/v1/tenants/{t}/share-links`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareLink {
    /// Product.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// Pin a revision; without it the link serves the latest revision at
    /// the time of each download.
    #[serde(default)]
    pub revision: Option<u32>,
    /// What the link covers; all of them when absent.
    #[serde(default)]
    pub covers: Option<Vec<Covered>>,
    /// A label for the recipient (stored, shown to the tenant only).
    #[serde(default)]
    pub label: Option<String>,
    /// The recipient's e-mail (stored, never sent to).
    #[serde(default)]
    pub email: Option<String>,
    /// At most this many downloads (1 to 1,000,000; 10,000 when absent).
    #[serde(default)]
    pub max_uses: Option<u32>,
    /// Lifetime, seconds: 86,400 (24 hours) up to the tenant's maximum
    /// (at most 2,592,000, 30 days); the tenant's default when absent.
    #[serde(default)]
    pub ttl_secs: Option<i64>,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// It works.
    Active,
    /// Its lifetime is over.
    Expired,
    /// It was used `max_uses` times.
    Exhausted,
    /// It was revoked.
    Revoked,
}

impl LinkState {
    /// Its name, as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Exhausted => "exhausted",
            Self::Revoked => "revoked",
        }
    }
}

/// The state of `link` after `uses` downloads, at `now` (Unix seconds): it
/// works while `now < expires_at`, so not in the second it expires.
pub fn link_state(link: &ShareLink, uses: u32, now: i64) -> LinkState {
    if link.revoked_at.is_some() {
        LinkState::Revoked
    } else if now >= link.expires_at {
        LinkState::Expired
    } else if link.max_uses.is_some_and(|m| uses >= m) {
        LinkState::Exhausted
    } else {
        LinkState::Active
    }
}

/// A share link as the API shows it: never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareLinkView {
    /// The link's public id.
    pub id: String,
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// The pinned revision, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// What it covers.
    pub covers: Vec<Covered>,
    /// The recipient label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The recipient e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The cap on downloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the link works until just before this second.
    pub expires_at: String,
    /// The token id that issued it.
    pub issued_by: String,
    /// Where it stands now.
    pub state: LinkState,
    /// Downloads so far.
    pub uses: u32,
    /// RFC 3339 time of the last download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// RFC 3339 time of the revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The `share_link_issued` entry's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_index: Option<u64>,
    /// The `share_link_revoked` entry's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_index: Option<u64>,
}

/// The answer to issuing: the link, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedShareLink {
    /// `<public URL>/s/<token>`: give it to the recipient. It is not
    /// stored and cannot be shown again.
    pub url: String,
    /// The link.
    pub link: ShareLinkView,
}

/// `?product=&tag=&state=` of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only links to this product.
    #[serde(default)]
    pub product: Option<String>,
    /// Only links to this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Only links in this state (`active`, `expired`, `exhausted`, `revoked`).
    #[serde(default)]
    pub state: Option<LinkState>,
}

fn view(state: &AppState, l: &ShareLink, now: i64) -> Result<ShareLinkView, Error> {
    let (uses, last) = state.store().share_uses(&l.tenant, &l.id)?;
    Ok(ShareLinkView {
        id: l.id.clone(),
        product: l.product.clone(),
        tag: l.tag.clone(),
        revision: l.revision,
        covers: l.covers.clone(),
        label: l.label.clone(),
        email: l.email.clone(),
        max_uses: l.max_uses,
        created_at: rfc3339(l.created_at),
        expires_at: rfc3339(l.expires_at),
        issued_by: l.issuer.clone(),
        state: link_state(l, uses, now),
        uses,
        last_used_at: last.map(rfc3339),
        revoked_at: l.revoked_at.map(rfc3339),
        issued_index: l.issued_index,
        revoked_index: l.revoked_index,
    })
}

/// Checks a request's fields; the lifetime against `default` and `max`.
fn validate(
    req: &NewShareLink,
    default_ttl: i64,
    max_ttl: i64,
) -> Result<(i64, Vec<Covered>), Error> {
    let ttl = req.ttl_secs.unwrap_or(default_ttl);
    if !(MIN_SHARE_TTL..=max_ttl).contains(&ttl) {
        return Err(Error::Unprocessable(format!(
            "ttl_secs must be between {MIN_SHARE_TTL} (24 hours) and {max_ttl} (this tenant's maximum, {} hours); {ttl} is not",
            max_ttl / 3600
        )));
    }
    let mut covers = req.covers.clone().unwrap_or_else(|| Covered::ALL.to_vec());
    covers.sort();
    covers.dedup();
    if covers.is_empty() {
        return Err(Error::Unprocessable(
            "covers must name at least one of cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tv, notice, kit".into(),
        ));
    }
    if covers == [Covered::Kit] || covers == [Covered::Notice, Covered::Kit] {
        return Err(Error::Unprocessable(
            "a kit is the kit of an export: cover at least one export format with it".into(),
        ));
    }
    if let Some(m) = req.max_uses {
        if !(1..=MAX_USES).contains(&m) {
            return Err(Error::Unprocessable(format!(
                "max_uses must be between 1 and {MAX_USES}"
            )));
        }
    }
    if let Some(l) = &req.label {
        if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) {
            return Err(Error::Unprocessable(format!(
                "label must be at most {MAX_LABEL} characters, without control characters"
            )));
        }
    }
    if let Some(e) = &req.email {
        let ok = e.len() <= 254
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if !ok {
            return Err(Error::Unprocessable(format!(
                "email {e:?} is not an e-mail address"
            )));
        }
    }
    Ok((ttl, covers))
}

/// Issues a link (admin, or the `share` scope): stored with the hash of its
/// token, and logged as `share_link_issued` in the same batch.
pub async fn issue(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: NewShareLink,
) -> Result<IssuedShareLink, Error> {
    allow(principal, Action::IssueShareLink, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let settings = state.store().settings(tenant)?;
    let (ttl, covers) = validate(
        &req,
        settings.share_link_ttl_secs,
        settings.share_link_max_ttl_secs,
    )?;
    // The release (and a pinned revision) must exist.
    catalogue::load(state, tenant, &req.product, &req.tag, req.revision).map_err(|e| match e {
        Error::NotFound(_) => Error::Unprocessable(format!(
            "{} {}{} is not a release of this tenant",
            req.product,
            req.tag,
            req.revision
                .map(|r| format!(" revision {r}"))
                .unwrap_or_default()
        )),
        e => e,
    })?;
    let mut secret = [0u8; 32];
    let mut id = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    rand::rngs::OsRng.fill_bytes(&mut id);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let now = now_unix();
    let mut link = ShareLink {
        id: hex::encode(id),
        tenant: tenant.to_owned(),
        product: req.product,
        tag: req.tag,
        revision: req.revision,
        covers,
        label: req.label,
        email: req.email,
        max_uses: Some(req.max_uses.unwrap_or(DEFAULT_MAX_USES)),
        created_at: now,
        expires_at: now + ttl,
        issuer: principal.token_id().unwrap_or("operator").to_owned(),
        token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
        revoked_at: None,
        issued_index: None,
        revoked_index: None,
    };
    let event = EventBody::ShareLinkIssued {
        link_id: link.id.clone(),
        product: link.product.clone(),
        tag: link.tag.clone(),
        revision: link.revision,
        covers: link.covers.iter().map(|c| c.name().to_owned()).collect(),
        expires_at: rfc3339(link.expires_at),
        max_uses: link.max_uses,
        token_sha256: link.token_sha256.clone(),
    };
    let index = state
        .record_indexed(
            tenant,
            vec![(principal.actor(), event)],
            Db::share_link_ops(&link, true),
            vec![Db::share_issued_key(tenant, &link.id)],
        )
        .await?;
    link.issued_index = Some(index);
    Ok(IssuedShareLink {
        url: format!("{}/s/{token}", state.public_url().trim_end_matches('/')),
        link: view(state, &link, now)?,
    })
}

/// May `principal` revoke or read `link`: an admin, or the token that
/// issued it; for reading its status, also the tenant's auditors.
fn may_manage(
    principal: &Principal,
    tenant: &str,
    link: &ShareLink,
    reading: bool,
) -> Result<(), Error> {
    let on = Resource::Tenant(tenant);
    if allow(principal, Action::ManageShareLinks, on).is_ok()
        || (reading && allow(principal, Action::ReadLogEntries, on).is_ok())
    {
        return Ok(());
    }
    allow(principal, Action::IssueShareLink, on)?;
    if principal.token_id() == Some(link.issuer.as_str()) {
        Ok(())
    } else {
        Err(Error::not_found())
    }
}

/// A tenant's links, newest first: every link for an admin, one's own for
/// the `share` scope; never a token.
pub fn list(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    q: &ListQuery,
) -> Result<Vec<ShareLinkView>, Error> {
    allow(principal, Action::IssueShareLink, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let now = now_unix();
    let mut out = Vec::new();
    for l in state.store().share_links(tenant)? {
        if may_manage(principal, tenant, &l, false).is_err()
            || q.product.as_ref().is_some_and(|p| *p != l.product)
            || q.tag.as_ref().is_some_and(|t| *t != l.tag)
        {
            continue;
        }
        let v = view(state, &l, now)?;
        if q.state.is_some_and(|s| s != v.state) {
            continue;
        }
        out.push(v);
    }
    out.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

fn lock_name(tenant: &str, id: &str) -> String {
    format!("share-link:{tenant}:{id}")
}

/// Revokes a link at once (admin, or its issuer) and logs
/// `share_link_revoked` in the same batch; 409 when it was revoked before.
/// A checkpoint is published right after, so the link's status can be
/// proved with few entries after the revocation.
pub async fn revoke(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<ShareLinkView, Error> {
    let log = state.tenant_log(tenant)?;
    let _one = state.record_lock(lock_name(tenant, id)).await;
    let mut link = state
        .store()
        .share_link(tenant, id)?
        .ok_or_else(Error::not_found)?;
    may_manage(principal, tenant, &link, false)?;
    if let Some(at) = link.revoked_at {
        return Err(Error::Conflict(format!(
            "share link {id} was revoked at {}",
            rfc3339(at)
        )));
    }
    let now = now_unix();
    let (uses, _) = state.store().share_uses(tenant, id)?;
    link.revoked_at = Some(now);
    let index = state
        .record_indexed(
            tenant,
            vec![(
                principal.actor(),
                EventBody::ShareLinkRevoked {
                    link_id: id.to_owned(),
                    uses,
                },
            )],
            Db::share_link_ops(&link, false),
            vec![Db::share_revoked_key(tenant, id)],
        )
        .await?;
    link.revoked_index = Some(index);
    // A checkpoint at the revocation, for the status document; the
    // revocation stands whether or not it can be published now (the next
    // publication covers it).
    if let Err(e) = log.checkpoint().await {
        tracing::warn!(tenant, link = id, error = %e, "no checkpoint after a revocation");
    }
    view(state, &link, now)
}

/// The link's status with its proofs (admin, its issuer, or an auditor):
/// every entry of the link against one signed checkpoint; for a revoked
/// link, every leaf from the revocation to that checkpoint with the
/// frontier before it; and a consistency proof to the latest checkpoint.
pub async fn status(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
) -> Result<ShareLinkStatus, Error> {
    status_within(state, principal, tenant, id, MAX_RANGE).await
}

/// [`status`], with at most about `max_range` leaves after a revocation:
/// the proofs are against the latest published checkpoint within that
/// many entries of it (the one published at the revocation, at least).
async fn status_within(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    id: &str,
    max_range: u64,
) -> Result<ShareLinkStatus, Error> {
    let log = state.tenant_log(tenant)?;
    let link = state
        .store()
        .share_link(tenant, id)?
        .ok_or_else(Error::not_found)?;
    may_manage(principal, tenant, &link, true)?;
    let latest = log.checkpoint().await?;
    let issued = link
        .issued_index
        .ok_or_else(|| Error::Internal(format!("share link {id} has no issuance index")))?;
    let cp = match link.revoked_index {
        Some(r) => log
            .checkpoints(r + 1, r.saturating_add(max_range))?
            .pop()
            .unwrap_or_else(|| latest.clone()),
        None => latest.clone(),
    };
    let (uses, _) = state.store().share_uses(tenant, id)?;
    let mut indexes = vec![issued];
    indexes.extend(
        state
            .store()
            .share_use_indexes(tenant, id)?
            .into_iter()
            .filter(|i| *i < cp.size),
    );
    indexes.extend(link.revoked_index);
    indexes.sort_unstable();
    let b64 = |hs: Vec<evident_verify::Hash>| hs.iter().map(|h| STANDARD.encode(h)).collect();
    let text = |leaf: Vec<u8>, i: u64| {
        String::from_utf8(leaf).map_err(|e| Error::Internal(format!("log entry {i}: {e}")))
    };
    let mut entries = Vec::with_capacity(indexes.len());
    for i in indexes {
        let leaf = log
            .entries(i, i + 1, 1)?
            .pop()
            .ok_or_else(|| Error::Internal(format!("log entry {i} is missing")))?;
        entries.push(ProvenEntry {
            index: i,
            entry: text(leaf, i)?,
            inclusion_proof: b64(log.inclusion_proof(i, cp.size)?),
        });
    }
    let after_revocation = match link.revoked_index {
        Some(r) => {
            let mut leaves = Vec::with_capacity((cp.size - r) as usize);
            let mut at = r;
            while at < cp.size {
                let page = log.entries(at, cp.size, 1024)?;
                if page.is_empty() {
                    return Err(Error::Internal(format!(
                        "log entries from {at} are missing"
                    )));
                }
                for leaf in page {
                    leaves.push(text(leaf, at)?);
                    at += 1;
                }
            }
            Some(Range {
                start: r,
                frontier: b64(log.frontier(r)?),
                leaves,
            })
        }
        None => None,
    };
    let (latest_note, consistency_proof) = if latest.size > cp.size {
        (
            Some(latest.note.clone()),
            b64(log.consistency_proof(cp.size, latest.size)?),
        )
    } else {
        (None, Vec::new())
    };
    Ok(ShareLinkStatus {
        format: FORMAT.into(),
        link_id: id.to_owned(),
        state: link_state(&link, uses, now_unix()).name().into(),
        checkpoint: cp.note,
        entries,
        after_revocation,
        latest: latest_note,
        consistency_proof,
    })
}

/// A link opened by its token: the link, its uses so far, and the
/// principal its downloads run as.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The link.
    pub link: ShareLink,
    /// Downloads so far.
    pub uses: u32,
    /// Who its downloads are.
    pub principal: Principal,
}

/// The SHA-256 (hex) of a token that has the shape of ours (43 characters
/// of base64url), else `None`.
fn token_sha256(token: &str) -> Option<String> {
    (token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| hex::encode(Sha256::digest(token.as_bytes())))
}

/// The link of `token`, if it works now: the same [`gone`] for every
/// reason it does not (unknown, expired, revoked, used up, release gone).
pub fn open(state: &AppState, token: &str) -> Result<Opened, Error> {
    open_at(state, token, now_unix(), true)
}

fn open_at(state: &AppState, token: &str, now: i64, need_use: bool) -> Result<Opened, Error> {
    let sha = token_sha256(token).ok_or_else(gone)?;
    let (tenant, id) = state.store().share_token(&sha)?.ok_or_else(gone)?;
    let link = state.store().share_link(&tenant, &id)?.ok_or_else(gone)?;
    if link.token_sha256 != sha {
        return Err(gone());
    }
    let (uses, _) = state.store().share_uses(&tenant, &id)?;
    match link_state(&link, uses, now) {
        LinkState::Active => {}
        // A receipt is not a download: a used-up link still proves its uses.
        LinkState::Exhausted if !need_use => {}
        _ => return Err(gone()),
    }
    // A link whose release is gone stops working.
    match catalogue::load(state, &tenant, &link.product, &link.tag, link.revision) {
        Ok(_) => {}
        Err(Error::NotFound(_)) => return Err(gone()),
        Err(e) => return Err(e),
    }
    let principal = Principal::ShareLink {
        tenant: tenant.clone(),
        link_id: id,
        product: link.product.clone(),
        tag: link.tag.clone(),
    };
    Ok(Opened {
        link,
        uses,
        principal,
    })
}

/// What a link download asks for: `sbom`, `notice` or `sbom-kit.tar.gz`,
/// with `?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareFile {
    /// `sbom?format=F`: an export.
    Export,
    /// `notice?format=text|markdown|html`.
    Notice,
    /// `sbom-kit.tar.gz?format=F`: an export's verify kit.
    Kit,
}

impl ShareFile {
    /// The file of a name; `None` for any other.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sbom" => Self::Export,
            "notice" => Self::Notice,
            "sbom-kit.tar.gz" => Self::Kit,
            _ => return None,
        })
    }
}

/// The pseudonym a `share_link_used` entry records for the client address
/// `addr` (see `EventBody::ShareLinkUsed`): 64 bits of a keyed hash of the
/// tenant, link, UTC day and address (an IPv6 address's /64), hex.
pub fn client_pseudonym(
    state: &AppState,
    tenant: &str,
    link: &str,
    now: i64,
    addr: std::net::IpAddr,
) -> String {
    let day = now.div_euclid(86_400).to_be_bytes();
    let ip = crate::service::keys::client_bytes(addr);
    let h = state.master().pseudonym(
        "share-link client/v1",
        &[tenant.as_bytes(), link.as_bytes(), &day, &ip],
    );
    hex::encode(&h[..8])
}

/// One download through a link: checks the link, prepares the bytes,
/// then, under the link's lock, checks it again at this second, and
/// appends `share_link_used` with the next use number. Returns the
/// download and the entry's index, once durable; nothing is appended when
/// the link does not work.
pub async fn download(
    state: &AppState,
    token: &str,
    file: ShareFile,
    format: Option<String>,
    client: std::net::IpAddr,
) -> Result<(Download, u64), Error> {
    let o = open(state, token)?;
    let (tenant, id) = (o.link.tenant.clone(), o.link.id.clone());
    let covered = match file {
        ShareFile::Notice => o.link.covers.contains(&Covered::Notice),
        ShareFile::Export | ShareFile::Kit => {
            let f = catalogue::export_format(&ExportQuery {
                format: format.clone(),
                revision: None,
                vex: None,
            })?;
            o.link
                .covers
                .iter()
                .any(|c| c.export_format() == Some(f.name()))
                && (file == ShareFile::Export || o.link.covers.contains(&Covered::Kit))
        }
    };
    if !covered {
        return Err(Error::NotFound(
            "this share link does not cover that download".into(),
        ));
    }
    state.limits().check_share_link(&id)?;
    // Without VEX: a link shares the SBOM; what the vendor states about
    // vulnerabilities is for entitled customers (`vex=0`, the plain export).
    let q = ExportQuery {
        format,
        revision: o.link.revision,
        vex: Some(0),
    };
    let release = (
        tenant.as_str(),
        o.link.product.as_str(),
        o.link.tag.as_str(),
    );
    let d = match file {
        ShareFile::Export => evidence::export(state, &o.principal, release, &q).await?,
        ShareFile::Kit => {
            evidence::file(
                state,
                &o.principal,
                release,
                evidence::File::Kit,
                evidence::Of::Export(&q),
            )
            .await?
        }
        ShareFile::Notice => releases::notice(state, &o.principal, release, &q)?,
    };
    let _one = state.record_lock(lock_name(&tenant, &id)).await;
    let now = now_unix();
    let o = open_at(state, token, now, true)?;
    let n = o.uses + 1;
    let event = EventBody::ShareLinkUsed {
        link_id: id.clone(),
        product: d.rec.product.clone(),
        tag: d.rec.tag.clone(),
        revision: d.rec.revision,
        artifact: d.artifact.0.to_owned(),
        format: d.format.clone(),
        sha256: hex::encode(d.sha256),
        bytes: Some(d.body.len() as u64),
        use_number: n,
        client: Some(client_pseudonym(state, &tenant, &id, now, client)),
    };
    let index = state
        .record_indexed(
            &tenant,
            vec![(o.principal.actor(), event)],
            vec![Db::share_use_op(&tenant, &id, n, now)],
            vec![Db::share_use_key(&tenant, &id, n)],
        )
        .await?;
    state.metrics().download(
        &tenant,
        Channel::ShareLink,
        d.artifact.0,
        d.body.len() as u64,
    );
    Ok((d, index))
}

/// The receipt of a download through the link of `token` (one of its own
/// `share_link_used` entries), while the link is neither expired nor
/// revoked; a used-up link still gives the receipts of its uses.
pub async fn receipt(state: &AppState, token: &str, index: u64) -> Result<Receipt, Error> {
    let o = open_at(state, token, now_unix(), false)?;
    let id = o.link.id.clone();
    downloads::proved(state, &o.link.tenant, index, |ev| {
        if ev["kind"] == "share_link_used" && ev["link_id"] == id.as_str() {
            Ok(())
        } else {
            Err(Error::not_found())
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's pseudonym is the same for its address (an IPv6 client's
    /// /64, an IPv4 address however written) on one link and day, and
    /// differs for another address, link or day.
    #[tokio::test]
    async fn client_pseudonyms_follow_the_address_link_and_day() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = crate::service::tenancy::state_with_acme(d.path()).await;
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let at = |link: &str, t: i64, a: &str| client_pseudonym(&st, "acme", link, t, ip(a));
        let p = at("L1", 1000, "2001:db8:1:2::1");
        assert_eq!(p.len(), 16);
        assert_eq!(
            p,
            at("L1", 86_399, "2001:db8:1:2:ffff::9"),
            "same /64, same day"
        );
        assert_ne!(p, at("L1", 1000, "2001:db8:1:3::1"), "another /64");
        assert_ne!(p, at("L2", 1000, "2001:db8:1:2::1"), "another link");
        assert_ne!(p, at("L1", 86_400, "2001:db8:1:2::1"), "another day");
        assert_eq!(at("L1", 5, "192.0.2.7"), at("L1", 5, "::ffff:192.0.2.7"));
        assert_ne!(at("L1", 5, "192.0.2.7"), at("L1", 5, "192.0.2.8"));
    }

    const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    use crate::{
        core::{events::Actor, Scope},
        service::{
            releases::{ArtefactIn, Encoding, ReleasePush, SbomIn},
            settings, tenancy,
        },
    };
    use evident_verify::{note::NoteVerifier, share::verify_status};

    const SBOM: &str =
        include_str!("../../tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json");

    struct Fixture {
        _dir: tempfile::TempDir,
        st: AppState,
        admin: Principal,
        log_key: NoteVerifier,
    }

    fn tenant_token(id: &str, scope: Scope) -> Principal {
        Principal::Tenant {
            tenant: "acme".into(),
            token_id: id.into(),
            scope,
        }
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (st, t) = tenancy::state_with_acme(dir.path()).await;
        let push = ReleasePush {
            product: "shop".into(),
            tag: "v1.0.0".into(),
            artefacts: vec![ArtefactIn {
                name: "shop".into(),
                digest: format!("sha256:{}", "ab".repeat(32)),
                media_type: None,
            }],
            sbom: SbomIn {
                content: SBOM.into(),
                encoding: Encoding::Utf8,
            },
            provenance: None,
            findings: None,
            components: Vec::new(),
        };
        releases::push(&st, &tenant_token("ci", Scope::Push), "acme", push)
            .await
            .unwrap();
        Fixture {
            _dir: dir,
            admin: tenant_token(&t.admin_token.id, Scope::Admin),
            log_key: NoteVerifier::parse(&t.log_key).unwrap(),
            st,
        }
    }

    fn req() -> NewShareLink {
        NewShareLink {
            product: "shop".into(),
            tag: "v1.0.0".into(),
            revision: None,
            covers: None,
            label: Some("Prospect security review".into()),
            email: Some("sec@prospect.example".into()),
            max_uses: None,
            ttl_secs: None,
        }
    }

    fn token_of(url: &str) -> &str {
        url.rsplit_once("/s/").unwrap().1
    }

    async fn dl(f: &Fixture, token: &str) -> Result<(Download, u64), Error> {
        download(
            &f.st,
            token,
            ShareFile::Export,
            Some("cyclonedx-json".into()),
            LOOPBACK,
        )
        .await
    }

    /// Every bound of the lifetime: the minimum, the maximum, one second
    /// over, one under the minimum, the tenant default, and a maximum the
    /// tenant lowered itself.
    #[tokio::test]
    async fn lifetimes_stay_within_the_tenant_bounds() {
        let f = fixture().await;
        let issue_ttl = |ttl: Option<i64>| {
            let (st, admin) = (f.st.clone(), f.admin.clone());
            async move {
                issue(
                    &st,
                    &admin,
                    "acme",
                    NewShareLink {
                        ttl_secs: ttl,
                        ..req()
                    },
                )
                .await
            }
        };
        let life = |l: &ShareLinkView| {
            crate::core::clock::parse_rfc3339(&l.expires_at).unwrap()
                - crate::core::clock::parse_rfc3339(&l.created_at).unwrap()
        };
        let at_min = issue_ttl(Some(86_400)).await.unwrap();
        assert_eq!(life(&at_min.link), 86_400);
        let at_max = issue_ttl(Some(2_592_000)).await.unwrap();
        assert_eq!(life(&at_max.link), 2_592_000);
        for bad in [2_592_001, 86_399, 0, -1] {
            let e = issue_ttl(Some(bad)).await.unwrap_err();
            assert!(
                matches!(&e, Error::Unprocessable(m) if m.contains("86400") && m.contains("2592000")),
                "{bad}: {e}"
            );
        }
        // The default is the tenant setting (7 days unless changed).
        let d = issue_ttl(None).await.unwrap();
        assert_eq!(life(&d.link), 7 * 86_400);
        settings::update(
            &f.st,
            &f.admin,
            "acme",
            settings::Settings {
                share_link_ttl_secs: 2 * 86_400,
                share_link_max_ttl_secs: 3 * 86_400,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(life(&issue_ttl(None).await.unwrap().link), 2 * 86_400);
        assert_eq!(
            life(&issue_ttl(Some(3 * 86_400)).await.unwrap().link),
            3 * 86_400
        );
        let e = issue_ttl(Some(3 * 86_400 + 1)).await.unwrap_err();
        assert!(
            matches!(&e, Error::Unprocessable(m) if m.contains("259200")),
            "{e}"
        );
    }

    /// A token is shown once and stored only as its hash; the link's
    /// entry names the hash, the issuer and the bounds.
    #[tokio::test]
    async fn issuing_stores_and_logs_only_the_hash_of_the_token() {
        let f = fixture().await;
        let i = issue(&f.st, &f.admin, "acme", req()).await.unwrap();
        let token = token_of(&i.url);
        assert_eq!(token.len(), 43, "256 bits, base64url");
        assert!(i.url.starts_with(f.st.public_url()));
        let stored =
            f.st.store()
                .share_link("acme", &i.link.id)
                .unwrap()
                .unwrap();
        assert_eq!(
            stored.token_sha256,
            hex::encode(Sha256::digest(token.as_bytes()))
        );
        let index = i.link.issued_index.unwrap();
        let log = f.st.log("acme").unwrap();
        let leaf =
            String::from_utf8(log.entries(index, index + 1, 1).unwrap().pop().unwrap()).unwrap();
        assert!(!leaf.contains(token));
        let v: serde_json::Value = serde_json::from_str(&leaf).unwrap();
        assert_eq!(v["event"]["kind"], "share_link_issued");
        assert_eq!(v["event"]["link_id"], i.link.id.as_str());
        assert_eq!(v["event"]["token_sha256"], stored.token_sha256.as_str());
        assert_eq!(v["event"]["covers"].as_array().unwrap().len(), 6);
        let listed = list(&f.st, &f.admin, "acme", &ListQuery::default()).unwrap();
        assert!(!serde_json::to_string(&listed).unwrap().contains(token));
        // A pinned revision that does not exist, or another release, is 422.
        for bad in [
            NewShareLink {
                revision: Some(9),
                ..req()
            },
            NewShareLink {
                tag: "v9".into(),
                ..req()
            },
            NewShareLink {
                covers: Some(vec![]),
                ..req()
            },
            NewShareLink {
                covers: Some(vec![Covered::Kit]),
                ..req()
            },
            NewShareLink {
                max_uses: Some(0),
                ..req()
            },
            NewShareLink {
                email: Some("not an address".into()),
                ..req()
            },
        ] {
            assert!(matches!(
                issue(&f.st, &f.admin, "acme", bad).await,
                Err(Error::Unprocessable(_))
            ));
        }
        // Push and auditor tokens may not issue; the share scope may.
        for scope in [Scope::Push, Scope::Auditor] {
            assert_eq!(
                issue(&f.st, &tenant_token("x", scope), "acme", req())
                    .await
                    .unwrap_err(),
                Error::not_found()
            );
        }
        issue(&f.st, &tenant_token("sales", Scope::Share), "acme", req())
            .await
            .unwrap();
    }

    /// `max_uses` is reached exactly: that many downloads, then the same
    /// 404 as an unknown link, and nothing more appended.
    #[tokio::test]
    async fn max_uses_is_reached_exactly() {
        let f = fixture().await;
        let i = issue(
            &f.st,
            &f.admin,
            "acme",
            NewShareLink {
                max_uses: Some(2),
                ..req()
            },
        )
        .await
        .unwrap();
        let token = token_of(&i.url);
        let (d1, i1) = dl(&f, token).await.unwrap();
        let (_, i2) = download(&f.st, token, ShareFile::Notice, None, LOOPBACK)
            .await
            .unwrap();
        assert!(i2 > i1);
        let size = f.st.log("acme").unwrap().size();
        assert_eq!(dl(&f, token).await.unwrap_err(), gone());
        assert_eq!(f.st.log("acme").unwrap().size(), size, "nothing appended");
        let v = &list(&f.st, &f.admin, "acme", &ListQuery::default()).unwrap()[0];
        assert_eq!((v.uses, v.state), (2, LinkState::Exhausted));
        // Its receipts still verify, and name the link and the bytes.
        let r = receipt(&f.st, token, i1).await.unwrap();
        let ok =
            evident_verify::receipt::verify_receipt(&r, &f.log_key, Some(&d1.body), None).unwrap();
        assert_eq!(ok.event["link_id"], i.link.id.as_str());
        assert_eq!(ok.event["use"], 1);
        // Not another entry, not through another link.
        assert_eq!(
            receipt(&f.st, token, 0).await.unwrap_err(),
            Error::not_found()
        );
        let other = issue(&f.st, &f.admin, "acme", req()).await.unwrap();
        assert_eq!(
            receipt(&f.st, token_of(&other.url), i1).await.unwrap_err(),
            Error::not_found()
        );
    }

    /// The link works while now < expires_at: not in the second it
    /// expires, whether the page was opened before or not.
    #[tokio::test]
    async fn a_link_used_in_the_second_it_expires_is_gone() {
        let f = fixture().await;
        let i = issue(&f.st, &f.admin, "acme", req()).await.unwrap();
        let token = token_of(&i.url);
        let opened = open(&f.st, token).unwrap();
        let l = &opened.link;
        assert_eq!(link_state(l, 0, l.expires_at - 1), LinkState::Active);
        assert_eq!(link_state(l, 0, l.expires_at), LinkState::Expired);
        // Move the stored expiry to this very second.
        let mut expiring = l.clone();
        expiring.expires_at = now_unix();
        f.st.store()
            .write(&Db::share_link_ops(&expiring, false))
            .unwrap();
        let size = f.st.log("acme").unwrap().size();
        assert_eq!(dl(&f, token).await.unwrap_err(), gone());
        assert_eq!(open(&f.st, token).unwrap_err(), gone());
        assert_eq!(receipt(&f.st, token, 1).await.unwrap_err(), gone());
        assert_eq!(f.st.log("acme").unwrap().size(), size);
        // Unknown tokens, of our shape or not, get the very same answer.
        assert_eq!(open(&f.st, &"A".repeat(43)).unwrap_err(), gone());
        assert_eq!(open(&f.st, "short").unwrap_err(), gone());
    }

    /// Concurrent downloads at `max_uses - 1`: exactly one gets through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uses_at_the_last_use_let_exactly_one_through() {
        let f = fixture().await;
        let i = issue(
            &f.st,
            &f.admin,
            "acme",
            NewShareLink {
                max_uses: Some(3),
                ..req()
            },
        )
        .await
        .unwrap();
        let token = token_of(&i.url).to_owned();
        dl(&f, &token).await.unwrap();
        dl(&f, &token).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (st, t) = (f.st.clone(), token.clone());
                tokio::spawn(async move {
                    download(
                        &st,
                        &t,
                        ShareFile::Export,
                        Some("spdx-json".into()),
                        LOOPBACK,
                    )
                    .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e, gone()),
            }
        }
        assert_eq!(ok, 1);
        let uses = f.st.store().share_use_indexes("acme", &i.link.id).unwrap();
        assert_eq!(uses.len(), 3);
    }

    /// What a link does not cover is 404, and appends nothing.
    #[tokio::test]
    async fn only_what_a_link_covers_is_served() {
        let f = fixture().await;
        let i = issue(
            &f.st,
            &f.admin,
            "acme",
            NewShareLink {
                covers: Some(vec![Covered::SpdxJson]),
                ..req()
            },
        )
        .await
        .unwrap();
        let token = token_of(&i.url);
        for (file, format) in [
            (ShareFile::Export, "cyclonedx-json"),
            (ShareFile::Kit, "spdx-json"),
            (ShareFile::Notice, "text"),
        ] {
            assert!(matches!(
                download(&f.st, token, file, Some(format.into()), LOOPBACK).await,
                Err(Error::NotFound(_))
            ));
        }
        let (d, _) = download(
            &f.st,
            token,
            ShareFile::Export,
            Some("spdx-json".into()),
            LOOPBACK,
        )
        .await
        .unwrap();
        assert_eq!(d.format.as_deref(), Some("spdx-json"));
        assert_eq!(f.st.store().share_uses("acme", &i.link.id).unwrap().0, 1);
    }

    /// Revocation: at once, twice is 409, the issuer or an admin only; the
    /// status document proves it, and every tampering with it fails.
    #[tokio::test]
    async fn revocation_is_proved_and_tampering_with_the_proof_fails() {
        let f = fixture().await;
        let sales = tenant_token("sales", Scope::Share);
        let i = issue(&f.st, &sales, "acme", req()).await.unwrap();
        let (id, token) = (i.link.id.clone(), token_of(&i.url).to_owned());
        dl(&f, &token).await.unwrap();
        dl(&f, &token).await.unwrap();
        // Another share token may neither revoke it nor see it.
        let other = tenant_token("support", Scope::Share);
        assert_eq!(
            revoke(&f.st, &other, "acme", &id).await.unwrap_err(),
            Error::not_found()
        );
        assert!(list(&f.st, &other, "acme", &ListQuery::default())
            .unwrap()
            .is_empty());
        let v = revoke(&f.st, &sales, "acme", &id).await.unwrap();
        assert_eq!(v.state, LinkState::Revoked);
        assert!(matches!(
            revoke(&f.st, &f.admin, "acme", &id).await,
            Err(Error::Conflict(_))
        ));
        assert_eq!(dl(&f, &token).await.unwrap_err(), gone());
        // The log goes on: another link is issued and used after it.
        let later = issue(&f.st, &f.admin, "acme", req()).await.unwrap();
        dl(&f, token_of(&later.url)).await.unwrap();
        let s = status(&f.st, &f.admin, "acme", &id).await.unwrap();
        let ok = verify_status(&s, &f.log_key).unwrap();
        assert_eq!(ok.revoked_at, v.revoked_index);
        assert_eq!(ok.uses.len(), 2);
        assert_eq!(s.state, "revoked");
        // Within the range cap the proofs are against the latest checkpoint.
        assert!(s.latest.is_none());
        assert_eq!(
            s.after_revocation.as_ref().unwrap().start
                + s.after_revocation.as_ref().unwrap().leaves.len() as u64,
            f.st.log("acme").unwrap().size()
        );
        // Past it, against the checkpoint published at the revocation, with
        // a consistency proof to the latest.
        let short = status_within(&f.st, &f.admin, "acme", &id, 1)
            .await
            .unwrap();
        assert_eq!(short.after_revocation.as_ref().unwrap().leaves.len(), 1);
        assert!(short.latest.is_some() && !short.consistency_proof.is_empty());
        verify_status(&short, &f.log_key).unwrap();
        let mut t = short.clone();
        t.consistency_proof.pop();
        assert!(verify_status(&t, &f.log_key)
            .unwrap_err()
            .contains("consistency"));
        // The issuer and an auditor may read it; a push token may not.
        status(&f.st, &sales, "acme", &id).await.unwrap();
        status(&f.st, &tenant_token("a", Scope::Auditor), "acme", &id)
            .await
            .unwrap();
        assert!(status(&f.st, &tenant_token("p", Scope::Push), "acme", &id)
            .await
            .is_err());

        let fails = |t: ShareLinkStatus, what: &str| {
            let e = verify_status(&t, &f.log_key).unwrap_err();
            assert!(e.contains(what), "{what}: {e}");
        };
        // The order of the entries.
        let mut t = s.clone();
        t.entries.swap(1, 2);
        fails(t, "out of log order");
        // A use left out: the first (a gap in the numbers) or the last
        // (the revocation counts the uses before it).
        let mut t = s.clone();
        t.entries.remove(1);
        fails(t, "use is missing");
        let mut t = s.clone();
        t.entries.remove(2);
        fails(t, "the revocation records 2 use(s)");
        // The revocation left out (the link would look active).
        let mut t = s.clone();
        t.entries.pop();
        t.after_revocation = None;
        fails(t, "state says revoked");
        // Leaves after the revocation reordered, dropped, or one replaced
        // by a use of the link.
        let range = s.after_revocation.clone().unwrap();
        assert!(range.leaves.len() >= 3);
        let mut t = s.clone();
        t.after_revocation.as_mut().unwrap().leaves.swap(1, 2);
        fails(t, "reordered");
        let mut t = s.clone();
        t.after_revocation.as_mut().unwrap().leaves.pop();
        fails(t, "the range ends at");
        let mut t = s.clone();
        let use_leaf = s.entries[1].entry.clone();
        t.after_revocation.as_mut().unwrap().leaves[1] = use_leaf;
        fails(t, "do not make the checkpoint's root");
        // A range that starts after the revocation.
        let mut t = s.clone();
        let r = t.after_revocation.as_mut().unwrap();
        r.start += 1;
        r.leaves.remove(0);
        fails(t, "the range starts at");
        // A byte of an entry, a proof hash, the checkpoint.
        let mut t = s.clone();
        t.entries[0].entry = t.entries[0].entry.replacen("shop", "shoq", 1);
        fails(t, "inclusion proof");
        let mut t = s.clone();
        t.checkpoint = t.checkpoint.replacen('\n', "\n\n", 1);
        fails(t, "checkpoint");
        // Another tenant's key.
        let op = Principal::Operator {
            token_id: f.st.store().operator_token_id().unwrap().unwrap(),
        };
        let globex = tenancy::create_tenant(
            &f.st,
            &op,
            tenancy::CreateTenant {
                slug: "globex".into(),
                name: "Globex".into(),
            },
        )
        .await
        .unwrap();
        let e = verify_status(&s, &NoteVerifier::parse(&globex.log_key).unwrap()).unwrap_err();
        assert!(e.contains("checkpoint"), "{e}");

        // A link that was never revoked proves its uses and no revocation.
        let st = status(&f.st, &f.admin, "acme", &later.link.id)
            .await
            .unwrap();
        let ok = verify_status(&st, &f.log_key).unwrap();
        assert_eq!((ok.uses.len(), ok.revoked_at), (1, None));
        let mut t = st.clone();
        t.state = "revoked".into();
        fails(t, "state says revoked");
    }

    /// Share-link uses are logged with the link as the actor, and an admin
    /// gets their receipts from the tenant API as well.
    #[tokio::test]
    async fn uses_name_the_link_as_actor() {
        let f = fixture().await;
        let i = issue(&f.st, &f.admin, "acme", req()).await.unwrap();
        let (_, index) = dl(&f, token_of(&i.url)).await.unwrap();
        let log = f.st.log("acme").unwrap();
        let leaf = log.entries(index, index + 1, 1).unwrap().pop().unwrap();
        let ev: crate::core::events::LogEvent = serde_json::from_slice(&leaf).unwrap();
        assert_eq!(
            ev.actor,
            Actor::ShareLink {
                link_id: i.link.id.clone()
            }
        );
        let r = downloads::receipt(&f.st, &f.admin, "acme", index)
            .await
            .unwrap();
        evident_verify::receipt::verify_receipt(&r, &f.log_key, None, None).unwrap();
    }
}
