//! VEX versions of a release: publish, serve (`?vex=N`, `?as_of=`), and
//! the history with a per-finding diff.
//!
//! A VEX version is the statements of one VEX input (findings, CycloneDX
//! VEX, OpenVEX or CSAF VEX, read and tied to the release's SBOM by
//! `evident_sbom::vex`), with the document-level facts its outputs carry
//! (author, id base, publication time). It is stored once and never
//! changed, in the same batch as its `vex_published` entry, which names the
//! SHA-256 of the statements and of every document they yield: the three
//! standalone VEX documents and the CycloneDX exports with the statements
//! inline. The documents' bytes are kept by digest, so an upgrade of the
//! writers never changes what a version serves; every document served is
//! checked against its logged digest first (fail closed), so what is
//! served is what the log says was published. A finding about a component the release does not have
//! is refused (422, naming it) unless the caller asks to keep it.

use std::collections::BTreeMap;

use evident_sbom::{
    vex::{self, State, Statement, VexFormat, VexMeta, VexSource},
    ExportFormat, Model, Release, Warning,
};
use evident_verify::receipt::Receipt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::core::records::VexVersion;
use crate::{
    core::{
        clock::{now_unix, parse_rfc3339, rfc3339},
        events::EventBody,
        policy::{allow, Action, Resource},
        release::ReleaseRecord,
        Error, Principal,
    },
    service::{
        blocking,
        catalogue::{self},
        downloads::{self, Artifact, Download},
        AppState,
    },
    store::Db,
};

/// The largest VEX input taken, bytes.
pub const MAX_VEX_BYTES: usize = 16 << 20;

/// `?keep_unmatched=` of a publication.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// Keep findings about components the release's SBOM does not have
    /// (by purl, with a warning) instead of refusing the document.
    #[serde(default)]
    pub keep_unmatched: bool,
}

/// `?format=&vex=&as_of=` of a VEX document.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VexQuery {
    /// `openvex` (default), `csaf` or `cyclonedx-vex`.
    #[serde(default)]
    pub format: Option<String>,
    /// The VEX version; the latest when absent.
    #[serde(default)]
    pub vex: Option<u32>,
    /// RFC 3339: the version that was current at that time.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The answer to a publication.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Published {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// The new VEX version.
    pub version: u32,
    /// The release revision it is about.
    pub revision: u32,
    /// RFC 3339.
    pub published_at: String,
    /// What the input was.
    #[schema(value_type = String)]
    pub source: VexSource,
    /// How many statements.
    pub statements: u32,
    /// Hex SHA-256 of the statements in RFC 8785 form.
    pub statements_sha256: String,
    /// Hex SHA-256 of each document, by format.
    pub documents: BTreeMap<String, String>,
    /// The `vex_published` entry.
    pub log_index: u64,
    /// What reading and resolving tolerated, each with a pointer into the input.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Warning>,
}

/// Input read and tied to a release's model, not yet stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the input was.
    pub source: VexSource,
    /// The statements.
    pub statements: Vec<Statement>,
    /// What was tolerated.
    pub warnings: Vec<Warning>,
}

/// Reads a VEX input and ties it to `model`: 422 naming the place of the
/// first problem (an unknown state, a malformed id, an invented
/// justification, a component the release does not have, …).
pub fn prepare(bytes: &[u8], model: &Model, keep_unmatched: bool) -> Result<Prepared, Error> {
    if bytes.len() > MAX_VEX_BYTES {
        return Err(Error::TooLarge(format!(
            "a VEX document may be at most {MAX_VEX_BYTES} bytes"
        )));
    }
    let (source, findings, mut warnings) =
        vex::read(bytes).map_err(|e| Error::Unprocessable(format!("vex: {e}")))?;
    let (statements, more) = vex::resolve(&findings, model, keep_unmatched)
        .map_err(|e| Error::Unprocessable(format!("vex: {e}")))?;
    warnings.extend(more);
    Ok(Prepared {
        source,
        statements,
        warnings,
    })
}

/// The document-level facts of `v`, with the history of `all` up to it.
fn meta(v: &VexVersion, all: &[VexVersion]) -> VexMeta {
    VexMeta {
        version: v.version,
        published_at: v.published_at,
        author: v.author.clone(),
        id_base: v.id_base.clone(),
        history: all
            .iter()
            .filter(|o| o.version <= v.version)
            .map(|o| (o.version, o.published_at))
            .collect(),
    }
}

/// Every document of a VEX version, by format name, with its bytes.
fn write_all(
    statements: &[Statement],
    model: &Model,
    release: &Release,
    meta: &VexMeta,
) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in VexFormat::ALL {
        out.insert(
            f.name().to_owned(),
            f.write(statements, model, release, meta),
        );
    }
    for f in [ExportFormat::CyclonedxJson, ExportFormat::CyclonedxXml] {
        out.insert(
            f.name().to_owned(),
            f.write_with_vex(model, release, Some(statements)),
        );
    }
    out
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// `POST …/releases/{tag}/vex`: a new VEX version of the release's latest
/// revision (admin or push scope).
pub async fn publish(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    body: &[u8],
    q: &PublishQuery,
) -> Result<Published, Error> {
    allow(principal, Action::PublishVex, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let (rec, release) = catalogue::load(state, tenant, product, tag, None)?;
    let model = catalogue::model(state, &rec)?;
    let (bytes, keep, m) = (body.to_vec(), q.keep_unmatched, model.clone());
    let prepared = blocking("vex", move || prepare(&bytes, &m, keep)).await?;
    if prepared.statements.is_empty() {
        return Err(Error::Unprocessable(
            "vex: the document has no statement about this release to publish".into(),
        ));
    }
    publish_prepared(state, principal, tenant, &rec, &release, &model, prepared).await
}

/// Stores a prepared VEX version of `rec` and appends `vex_published`, in
/// one batch under the tenant's lock.
pub async fn publish_prepared(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    rec: &ReleaseRecord,
    release: &Release,
    model: &std::sync::Arc<Model>,
    p: Prepared,
) -> Result<Published, Error> {
    let author = state
        .tenant(tenant)?
        .map(|t| t.name)
        .ok_or_else(Error::not_found)?;
    let _lock = state.tenant_lock(tenant).await;
    let existing = state.store().vex_versions(tenant, &rec.product, &rec.tag)?;
    let version = existing.last().map_or(1, |v| v.version + 1);
    // Publication times never go back, so `as_of` is well defined.
    let published_at = existing
        .last()
        .map_or(now_unix(), |v| v.published_at.max(now_unix()));
    let statements_sha256 = sha_hex(
        &serde_jcs::to_vec(&p.statements)
            .map_err(|e| Error::Internal(format!("statements: {e}")))?,
    );
    let mut v = VexVersion {
        product: rec.product.clone(),
        tag: rec.tag.clone(),
        version,
        revision: rec.revision,
        published_at,
        published_by: principal.token_id().unwrap_or("operator").to_owned(),
        author,
        id_base: format!(
            "{}/vex/{tenant}/{}/{}",
            state.public_url().trim_end_matches('/'),
            rec.product,
            rec.tag
        ),
        source: p.source,
        statements: p.statements,
        statements_sha256: statements_sha256.clone(),
        documents: BTreeMap::new(),
        warnings: p.warnings,
        log_index: None,
    };
    let mut all = existing;
    all.push(v.clone());
    let m = meta(&v, &all);
    // Off the async threads: five documents of a large release. Their
    // bytes are kept (as blobs, by digest), so what was published is
    // served as published even after the writers change.
    let (st, mo, re) = (v.statements.clone(), model.clone(), release.clone());
    let docs: Vec<(String, String, Vec<u8>)> = blocking("vex", move || {
        Ok(write_all(&st, &mo, &re, &m)
            .into_iter()
            .map(|(f, b)| (f, sha_hex(&b), b))
            .collect())
    })
    .await?;
    let mut ops = Vec::new();
    for (f, sha, bytes) in docs {
        ops.extend(state.store().blob_op(&sha, bytes)?);
        v.documents.insert(f, sha);
    }
    let event = EventBody::VexPublished {
        product: v.product.clone(),
        tag: v.tag.clone(),
        version,
        revision: v.revision,
        statements: v.statements.len() as u32,
        statements_sha256,
        documents: v.documents.clone(),
    };
    let (more, key) = Db::vex_ops(tenant, &v);
    ops.extend(more);
    let index = state
        .record_indexed(tenant, vec![(principal.actor(), event)], ops, vec![key])
        .await?;
    Ok(Published {
        product: v.product,
        tag: v.tag,
        version,
        revision: v.revision,
        published_at: rfc3339(published_at),
        source: v.source,
        statements: v.statements.len() as u32,
        statements_sha256: v.statements_sha256,
        documents: v.documents,
        log_index: index,
        warnings: v.warnings,
    })
}

/// The version `q` asks for among `all` (oldest first): `vex=N`, or the one
/// current at `as_of`, or the latest.
fn pick<'a>(
    all: &'a [VexVersion],
    vex: Option<u32>,
    as_of: Option<&str>,
    what: &str,
) -> Result<&'a VexVersion, Error> {
    if all.is_empty() {
        return Err(Error::NotFound(format!(
            "no VEX has been published for {what}"
        )));
    }
    match (vex, as_of) {
        (Some(_), Some(_)) => Err(Error::Unprocessable(
            "ask for vex=N or as_of=TIME, not both".into(),
        )),
        (Some(n), None) => all.iter().find(|v| v.version == n).ok_or_else(|| {
            Error::NotFound(format!(
                "{what} has no VEX version {n} (the latest is {})",
                all.len()
            ))
        }),
        (None, Some(t)) => {
            let at = parse_rfc3339(t).ok_or_else(|| {
                Error::Unprocessable(format!(
                    "as_of {t:?} is not an RFC 3339 time (such as 2026-12-01T00:00:00Z)"
                ))
            })?;
            all.iter()
                .rev()
                .find(|v| v.published_at <= at)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "no VEX version of {what} was current at {t}: the first was published at {}",
                        rfc3339(all[0].published_at)
                    ))
                })
        }
        (None, None) => Ok(all.last().expect("not empty")),
    }
}

/// A VEX document as served.
#[derive(Debug)]
pub struct Served {
    /// The download (logged by the HTTP layer before the first byte).
    pub download: Download,
    /// The VEX version.
    pub version: u32,
    /// RFC 3339 publication time.
    pub published_at: String,
    /// The `vex_published` entry that made this version current.
    pub log_index: Option<u64>,
}

/// Writes a VEX version's document again and checks it against the
/// digest its `vex_published` entry names.
fn checked(
    state: &AppState,
    tenant: &str,
    v: &VexVersion,
    all: &[VexVersion],
    name: &str,
    write: impl FnOnce(&[Statement], &Model, &Release, &VexMeta) -> Vec<u8>,
) -> Result<(ReleaseRecord, Vec<u8>), Error> {
    let (rec, release) = catalogue::load(state, tenant, &v.product, &v.tag, Some(v.revision))?;
    let want = v.documents.get(name).ok_or_else(|| {
        Error::Internal(format!(
            "VEX version {} names no {name} document",
            v.version
        ))
    })?;
    // The bytes kept at publication; written again only if they are not.
    let bytes = match state.store().blob(want)? {
        Some(b) => b,
        None => write(
            &state.store().vex_statements(tenant, v)?,
            &*catalogue::model(state, &rec)?,
            &release,
            &meta(v, all),
        ),
    };
    if sha_hex(&bytes) != *want {
        return Err(Error::Internal(format!(
            "the {name} document of VEX version {} does not match the digest its vex_published entry names; nothing is served",
            v.version
        )));
    }
    Ok((rec, bytes))
}

/// The `format=` of a VEX query (OpenVEX when absent); 422 listing the
/// accepted values otherwise.
pub fn format_of(q: &VexQuery) -> Result<VexFormat, Error> {
    match q.format.as_deref() {
        None => Ok(VexFormat::OpenVex),
        Some(f) => VexFormat::parse(f).ok_or_else(|| {
            Error::Unprocessable(format!(
                "format {f:?} is not one of {}",
                VexFormat::ALL.map(VexFormat::name).join(", ")
            ))
        }),
    }
}

/// `GET …/releases/{tag}/vex`: one VEX document, for whoever may read the
/// release, checked against its logged digest (issued and signed by
/// `evidence::served_vex`).
pub async fn document(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &VexQuery,
) -> Result<Served, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let format = format_of(q)?;
    let all = state.store().vex_versions(tenant, product, tag)?;
    let v = pick(&all, q.vex, q.as_of.as_deref(), &format!("{product} {tag}"))?.clone();
    let (st, t, all2, v2) = (state.clone(), tenant.to_owned(), all.clone(), v.clone());
    let (rec, bytes) = blocking("vex", move || {
        checked(&st, &t, &v2, &all2, format.name(), |s, m, r, meta| {
            format.write(s, m, r, meta)
        })
    })
    .await?;
    let file_name = format!(
        "vex-{}-{}-v{}.{}",
        v.product,
        v.tag,
        v.version,
        format.extension()
    );
    Ok(Served {
        download: Download::new(
            rec,
            Artifact::VEX,
            Some(format.name()),
            bytes,
            format.media_type(),
            file_name,
        ),
        version: v.version,
        published_at: rfc3339(v.published_at),
        log_index: v.log_index,
    })
}

/// The VEX version whose statements go inline into a CycloneDX export of
/// revision `rec`: `vex=N` when asked (422 if it is about another
/// revision), else the latest about this revision; `None` when there is
/// none. The inline document is checked against its logged digest by the
/// caller through [`inline_checked`].
pub fn for_export(
    state: &AppState,
    tenant: &str,
    rec: &ReleaseRecord,
    vex: Option<u32>,
) -> Result<Option<VexVersion>, Error> {
    // `vex=0`: the plain export, without VEX (nothing to read).
    if vex == Some(0) {
        return Ok(None);
    }
    let all = state.store().vex_versions(tenant, &rec.product, &rec.tag)?;
    let v = match vex {
        Some(n) => {
            let v = all.iter().find(|v| v.version == n).ok_or_else(|| {
                Error::NotFound(format!(
                    "{} {} has no VEX version {n}",
                    rec.product, rec.tag
                ))
            })?;
            if v.revision != rec.revision {
                return Err(Error::Unprocessable(format!(
                    "VEX version {n} is about revision {}, not {}",
                    v.revision, rec.revision
                )));
            }
            v.clone()
        }
        None => match all.iter().rev().find(|v| v.revision == rec.revision) {
            Some(v) => v.clone(),
            None => return Ok(None),
        },
    };
    Ok(Some(v))
}

/// The bytes of the CycloneDX export with `v`'s statements inline, as kept
/// at publication (`None` if they were not kept).
pub fn inline_stored(
    state: &AppState,
    v: &VexVersion,
    format: ExportFormat,
) -> Result<Option<Vec<u8>>, Error> {
    match v.documents.get(format.name()) {
        Some(sha) => state.store().blob(sha),
        None => Ok(None),
    }
}

/// Checks an export written with `v`'s statements inline against the
/// digest `vex_published` names for it.
pub fn inline_checked(v: &VexVersion, format: ExportFormat, bytes: &[u8]) -> Result<(), Error> {
    match v.documents.get(format.name()) {
        Some(want) if *want == sha_hex(bytes) => Ok(()),
        _ => Err(Error::Internal(format!(
            "the {} export with VEX version {} does not match the digest its vex_published entry names; nothing is served",
            format.name(),
            v.version
        ))),
    }
}

/// One change between two VEX versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// `added`, `withdrawn` or `changed`.
    pub change: String,
    /// The vulnerability id.
    pub vulnerability: String,
    /// The component: its purl, or `release` for the product itself.
    pub component: String,
    /// The state before (absent for `added`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The state after (absent for `withdrawn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The justification after, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// One VEX version in the history.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// The version.
    pub version: u32,
    /// The release revision it is about.
    pub revision: u32,
    /// RFC 3339.
    pub published_at: String,
    /// The `vex_published` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// How many statements.
    pub statements: u32,
    /// Hex SHA-256 of the statements.
    pub statements_sha256: String,
    /// What changed since the version before (every statement is `added`
    /// in version 1).
    pub changes: Vec<Change>,
}

/// How a statement is keyed across versions: vulnerability and component
/// (by purl, or name and version, since positions differ between
/// revisions).
fn key_of(s: &Statement, model: &Model) -> (String, String) {
    let component = match (s.component, &s.purl) {
        (_, Some(p)) => p.clone(),
        (Some(i), None) => model
            .components
            .get(i as usize)
            .map(|c| format!("{}@{}", c.name, c.version.as_deref().unwrap_or("")))
            .unwrap_or_else(|| format!("component-{i}")),
        (None, None) => "release".to_owned(),
    };
    (s.vulnerability.clone(), component)
}

fn state_name(s: State) -> String {
    s.name().to_owned()
}

/// The per-finding diff from `before` to `after`.
pub fn diff(
    before: &[(Statement, (String, String))],
    after: &[(Statement, (String, String))],
) -> Vec<Change> {
    let old: BTreeMap<&(String, String), &Statement> = before.iter().map(|(s, k)| (k, s)).collect();
    let new: BTreeMap<&(String, String), &Statement> = after.iter().map(|(s, k)| (k, s)).collect();
    let mut out = Vec::new();
    for (k, s) in &new {
        let change = match old.get(k) {
            None => "added",
            Some(o)
                if (
                    o.state,
                    o.justification,
                    &o.impact,
                    &o.action,
                    &o.fixed_in,
                    &o.response,
                ) != (
                    s.state,
                    s.justification,
                    &s.impact,
                    &s.action,
                    &s.fixed_in,
                    &s.response,
                ) =>
            {
                "changed"
            }
            Some(_) => continue,
        };
        out.push(Change {
            change: change.into(),
            vulnerability: k.0.clone(),
            component: k.1.clone(),
            from: old.get(k).map(|o| state_name(o.state)),
            to: Some(state_name(s.state)),
            justification: s.justification.map(|j| j.name().to_owned()),
        });
    }
    for (k, o) in &old {
        if !new.contains_key(k) {
            out.push(Change {
                change: "withdrawn".into(),
                vulnerability: k.0.clone(),
                component: k.1.clone(),
                from: Some(state_name(o.state)),
                to: None,
                justification: None,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.vulnerability, &a.component, &a.change).cmp(&(
            &b.vulnerability,
            &b.component,
            &b.change,
        ))
    });
    out
}

/// `GET …/releases/{tag}/vex/history`: every version, oldest first, with
/// what changed.
pub fn history(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
) -> Result<Vec<HistoryEntry>, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let all = state.store().vex_versions(tenant, product, tag)?;
    let mut out = Vec::new();
    let mut before: Vec<(Statement, (String, String))> = Vec::new();
    for v in &all {
        let (rec, _) = catalogue::load(state, tenant, product, tag, Some(v.revision))?;
        let model = catalogue::model(state, &rec)?;
        let after: Vec<_> = state
            .store()
            .vex_statements(tenant, v)?
            .into_iter()
            .map(|s| {
                let k = key_of(&s, &model);
                (s, k)
            })
            .collect();
        out.push(HistoryEntry {
            version: v.version,
            revision: v.revision,
            published_at: rfc3339(v.published_at),
            log_index: v.log_index,
            statements: after.len() as u32,
            statements_sha256: v.statements_sha256.clone(),
            changes: diff(&before, &after),
        });
        before = after;
    }
    if out.is_empty() {
        return Err(Error::NotFound(format!(
            "no VEX has been published for {product} {tag}"
        )));
    }
    Ok(out)
}

/// `?vex=N&as_of=T` of a publication proof.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The VEX version; the latest when absent.
    #[serde(default)]
    pub vex: Option<u32>,
    /// RFC 3339: the version that was current at that time.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// `GET …/releases/{tag}/vex/proof`: the `vex_published` entry of a VEX
/// version, in the receipt form (`downloads::proved`: against the latest
/// checkpoint a witness cosigned when one covers it, else the latest), and
/// that checkpoint's RFC 3161 token, for whoever may read the release.
/// `evident-verify vex FILE --proof P --log-key K` checks a document with it.
pub async fn proof(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &ProofQuery,
) -> Result<Receipt, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let all = state.store().vex_versions(tenant, product, tag)?;
    let v = pick(&all, q.vex, q.as_of.as_deref(), &format!("{product} {tag}"))?;
    let index = v
        .log_index
        .ok_or_else(|| Error::Internal(format!("VEX version {} has no log index", v.version)))?;
    let version = v.version;
    downloads::proved(state, tenant, index, |ev| {
        if ev["kind"] == "vex_published"
            && ev["product"] == product
            && ev["tag"] == tag
            && ev["version"] == version
        {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "log entry {index} is not the publication of VEX version {version}"
            )))
        }
    })
    .await
}

/// One row of a release's findings, as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// The vulnerability id.
    pub id: String,
    /// Component label: name and version, or purl, or `this release`.
    pub component: String,
    /// The component's identity (`evident_sbom::diff::key_of`), the
    /// purl's without version, or `release`.
    pub component_key: String,
    /// The state's name.
    pub state: State,
    /// The justification's name, if any.
    pub justification: Option<String>,
    /// The justification was derived from an `unreachable` verdict.
    pub unreachable: bool,
    /// The advisory URL, when the source gave one.
    pub source_url: Option<String>,
}

/// The latest VEX version of a release as rows (for whoever may read the
/// release), with its version and publication time; `None` when none
/// was published.
pub fn findings(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
) -> Result<Option<(u32, String, Vec<FindingRow>)>, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    let all = state.store().vex_versions(tenant, product, tag)?;
    let Some(v) = all.last() else {
        return Ok(None);
    };
    Ok(Some((
        v.version,
        rfc3339(v.published_at),
        rows_of(state, tenant, v)?,
    )))
}

/// The statements of VEX version `v` as rows (no access check: for
/// callers that checked).
pub fn rows_of(state: &AppState, tenant: &str, v: &VexVersion) -> Result<Vec<FindingRow>, Error> {
    let (rec, _) = catalogue::load(state, tenant, &v.product, &v.tag, Some(v.revision))?;
    let model = catalogue::model(state, &rec)?;
    let rows = state
        .store()
        .vex_statements(tenant, v)?
        .iter()
        .map(|s| {
            let (component, component_key) = match (
                s.component.and_then(|i| model.components.get(i as usize)),
                &s.purl,
            ) {
                (Some(c), _) => (
                    match &c.version {
                        Some(ver) => format!("{} {ver}", c.name),
                        None => c.name.clone(),
                    },
                    evident_sbom::diff::key_of(c),
                ),
                (None, Some(p)) => (p.clone(), evident_sbom::diff::purl_key(p)),
                (None, None) => ("this release".into(), "release".into()),
            };
            FindingRow {
                id: s.vulnerability.clone(),
                component,
                component_key,
                state: s.state,
                justification: s.justification.map(|j| j.name().to_owned()),
                unreachable: s.justification
                    == Some(vex::Justification::VulnerableCodeNotInExecutePath)
                    || s.reachability
                        .as_ref()
                        .is_some_and(|r| r.verdict == vex::Verdict::Unreachable),
                source_url: s.source.as_ref().and_then(|x| x.url.clone()),
            }
        })
        .collect();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use evident_verify::{note::NoteVerifier, vex::verify_vex};

    use super::*;
    use crate::{
        core::{
            release::{ArtefactIn, Encoding, ReleasePush, SbomIn},
            Scope,
        },
        service::{releases, tenancy},
    };

    const SBOM: &str =
        include_str!("../../tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json");
    const FINDINGS: &str =
        include_str!("../../tests/fixtures/vex-findings/evidence-demo.findings.json");
    const CDX_VEX: &str =
        include_str!("../../tests/fixtures/vex-findings/evidence-demo.cdx-vex.json");

    struct Fixture {
        _dir: tempfile::TempDir,
        st: AppState,
        admin: Principal,
        push: Principal,
        log_key: NoteVerifier,
    }

    fn token(tenant: &str, id: &str, scope: Scope) -> Principal {
        Principal::Tenant {
            tenant: tenant.into(),
            token_id: id.into(),
            scope,
        }
    }

    fn release_push(tag: &str, findings: Option<&str>) -> ReleasePush {
        ReleasePush {
            product: "shop".into(),
            tag: tag.into(),
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
            findings: findings.map(|f| serde_json::from_str(f).unwrap()),
            components: Vec::new(),
        }
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (st, t) = tenancy::state_with_acme(dir.path()).await;
        Fixture {
            _dir: dir,
            admin: token("acme", &t.admin_token.id, Scope::Admin),
            push: token("acme", "ci", Scope::Push),
            log_key: NoteVerifier::parse(&t.log_key).unwrap(),
            st,
        }
    }

    fn q(format: &str, vex: Option<u32>) -> VexQuery {
        VexQuery {
            format: Some(format.into()),
            vex,
            as_of: None,
        }
    }

    /// A push with findings yields VEX version 1 whose every document is
    /// served with the digest its `vex_published` entry names, and the
    /// proof verifies each of them offline; a later publication is
    /// version 2, and the history shows what changed.
    #[tokio::test]
    async fn findings_become_logged_vex_versions_with_a_history() {
        let f = fixture().await;
        let rel = ("acme", "shop", "v1.0.0");
        let pushed = releases::push(
            &f.st,
            &f.push,
            "acme",
            release_push("v1.0.0", Some(FINDINGS)),
        )
        .await
        .unwrap();
        assert_eq!(pushed.vex_version, Some(1));
        assert!(
            !pushed.vex_warnings.is_empty(),
            "the smallvec false positive warns"
        );
        let log = f.st.log("acme").unwrap();
        let proof = proof(&f.st, &f.admin, rel, &ProofQuery::default())
            .await
            .unwrap();
        assert_eq!(proof.index, pushed.release.log_index.unwrap() + 1);
        for format in VexFormat::ALL.map(VexFormat::name) {
            let s = document(&f.st, &f.admin, rel, &q(format, None))
                .await
                .unwrap();
            assert_eq!(s.version, 1);
            let v = verify_vex(
                &proof,
                &f.log_key,
                Some(&s.download.body),
                Some(format),
                Some(("shop", "v1.0.0")),
                None,
            )
            .unwrap();
            assert_eq!(v.format.as_deref(), Some(format));
            // A byte changed, or the document named as another format, fails.
            let mut bad = s.download.body.to_vec();
            bad[10] ^= 1;
            let e = verify_vex(&proof, &f.log_key, Some(&bad), None, None, None).unwrap_err();
            assert!(e.contains("file digest"), "{e}");
            let other = if format == "csaf" { "openvex" } else { "csaf" };
            let e = verify_vex(
                &proof,
                &f.log_key,
                Some(&s.download.body),
                Some(other),
                None,
                None,
            )
            .unwrap_err();
            assert!(e.contains(&format!("not its {other} document")), "{e}");
        }
        // The CycloneDX export carries the statements inline, and is one of
        // the documents the entry names.
        let export = crate::service::evidence::served(
            &f.st,
            &f.admin,
            rel,
            &crate::service::catalogue::ExportQuery {
                format: Some("cyclonedx-json".into()),
                revision: None,
                vex: None,
            },
        )
        .await
        .unwrap();
        assert!(
            export.path.ends_with("cyclonedx-json+vex1"),
            "{}",
            export.path
        );
        let doc: serde_json::Value = serde_json::from_slice(&export.bytes).unwrap();
        assert!(doc["vulnerabilities"].as_array().unwrap().len() >= 8);
        verify_vex(
            &proof,
            &f.log_key,
            Some(&export.bytes),
            Some("cyclonedx-json"),
            None,
            None,
        )
        .unwrap();
        // `vex=0` is the plain export, and that is what a share link serves:
        // VEX is for entitled customers.
        let plain = crate::service::evidence::served(
            &f.st,
            &f.admin,
            rel,
            &crate::service::catalogue::ExportQuery {
                format: Some("cyclonedx-json".into()),
                revision: None,
                vex: Some(0),
            },
        )
        .await
        .unwrap();
        assert!(plain.path.ends_with("/cyclonedx-json"), "{}", plain.path);
        let link = crate::service::share_links::issue(
            &f.st,
            &f.admin,
            "acme",
            crate::service::share_links::NewShareLink {
                product: "shop".into(),
                tag: "v1.0.0".into(),
                revision: None,
                covers: None,
                label: None,
                email: None,
                max_uses: None,
                ttl_secs: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            link.link.max_uses,
            Some(crate::service::share_links::DEFAULT_MAX_USES)
        );
        let secret = link.url.rsplit_once("/s/").unwrap().1.to_owned();
        let (shared, _) = crate::service::share_links::download(
            &f.st,
            &secret,
            crate::service::share_links::ShareFile::Export,
            Some("cyclonedx-json".into()),
            std::net::Ipv4Addr::LOCALHOST.into(),
        )
        .await
        .unwrap();
        assert_eq!(shared.body, plain.bytes);
        // The proof is of this release: another release, or another
        // tenant's key, fails.
        let e = verify_vex(&proof, &f.log_key, None, None, Some(("shop", "v2")), None).unwrap_err();
        assert!(e.contains("not shop v2"), "{e}");
        let other = NoteVerifier::parse(
            &tenancy::create_tenant(
                &f.st,
                &Principal::Operator {
                    token_id: f.st.store().operator_token_id().unwrap().unwrap(),
                },
                tenancy::CreateTenant {
                    slug: "globex".into(),
                    name: "Globex".into(),
                },
            )
            .await
            .unwrap()
            .log_key,
        )
        .unwrap();
        assert!(verify_vex(&proof, &other, None, None, None, None).is_err());

        // A second publication (CycloneDX VEX, by the admin).
        let size = log.size();
        let p2 = publish(
            &f.st,
            &f.admin,
            rel,
            CDX_VEX.as_bytes(),
            &PublishQuery::default(),
        )
        .await
        .unwrap();
        assert_eq!((p2.version, p2.log_index), (2, size));
        let latest = document(&f.st, &f.admin, rel, &q("openvex", None))
            .await
            .unwrap();
        assert_eq!(latest.version, 2);
        let first = document(&f.st, &f.admin, rel, &q("openvex", Some(1)))
            .await
            .unwrap();
        assert_eq!(first.version, 1);
        assert_ne!(first.download.body, latest.download.body);
        let h = history(&f.st, &f.admin, rel).unwrap();
        assert_eq!(h.len(), 2);
        assert!(h[0].changes.iter().all(|c| c.change == "added"));
        assert!(!h[1].changes.is_empty());
        assert!(h[1].changes.iter().any(|c| c.change == "withdrawn"));
        // Staff of another scope and other tenants see nothing.
        let auditor = token("acme", "a", Scope::Auditor);
        assert!(publish(
            &f.st,
            &auditor,
            rel,
            CDX_VEX.as_bytes(),
            &PublishQuery::default()
        )
        .await
        .is_err());
        assert!(history(&f.st, &token("globex", "x", Scope::Admin), rel).is_err());
        // The bytes kept at publication are what is served; changed behind
        // the server's back, they are not served at all.
        let v1 = f.st.store().vex_versions("acme", "shop", "v1.0.0").unwrap()[0].clone();
        // Reading the versions (every CycloneDX export does) reads no statements.
        assert!(v1.statements.is_empty());
        assert_eq!(
            f.st.store().vex_statements("acme", &v1).unwrap().len(),
            h[0].statements as usize
        );
        let sha = &v1.documents["openvex"];
        assert_eq!(
            f.st.store().blob(sha).unwrap().unwrap(),
            first.download.body.to_vec()
        );
        f.st.store()
            .write(&[(crate::store::keys::blob(sha), Some(b"{}".to_vec()))])
            .unwrap();
        assert!(matches!(
            document(&f.st, &f.admin, rel, &q("openvex", Some(1))).await,
            Err(Error::Internal(m)) if m.contains("does not match the digest")
        ));
    }

    /// Bad findings are refused with 422 naming the place, and neither the
    /// release nor the VEX is stored; the log does not grow.
    #[tokio::test]
    async fn bad_findings_store_nothing() {
        let f = fixture().await;
        let log = f.st.log("acme").unwrap();
        let size = log.size();
        for (file, says) in [
            ("bad-malformed-id.findings.json", "/findings/1/id"),
            (
                "bad-unknown-component.findings.json",
                "/findings/0/component",
            ),
            (
                "bad-contradicting-states.findings.json",
                "GHSA-9q2c-xv4m-hp7w",
            ),
            (
                "bad-reachable-not-in-execute-path.findings.json",
                "/findings/0/justification",
            ),
        ] {
            let body = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/vex-findings")
                    .join(file),
            )
            .unwrap();
            let e = releases::push(&f.st, &f.push, "acme", release_push("v1.0.0", Some(&body)))
                .await
                .unwrap_err();
            match e {
                Error::Unprocessable(m) => assert!(
                    m.starts_with("/findings: ") && m.contains(says),
                    "{file}: {m}"
                ),
                e => panic!("{file}: {e:?}"),
            }
        }
        assert_eq!(log.size(), size);
        assert!(f
            .st
            .store()
            .revisions("acme", "shop", "v1.0.0")
            .unwrap()
            .is_empty());
        // Later publications: the same, and a document that is not VEX.
        releases::push(&f.st, &f.push, "acme", release_push("v1.0.0", None))
            .await
            .unwrap();
        let size = log.size();
        let rel = ("acme", "shop", "v1.0.0");
        for body in [
            &b"{\"findings\": [{\"id\": \"log4shell\"}]}"[..],
            b"<!DOCTYPE bom [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><bom/>",
            b"{\"spdxVersion\": \"SPDX-2.3\"}",
            b"not json",
        ] {
            assert!(matches!(
                publish(&f.st, &f.push, rel, body, &PublishQuery::default()).await,
                Err(Error::Unprocessable(_))
            ));
        }
        assert_eq!(log.size(), size);
        assert!(f
            .st
            .store()
            .vex_versions("acme", "shop", "v1.0.0")
            .unwrap()
            .is_empty());
        assert_eq!(
            document(&f.st, &f.admin, rel, &q("openvex", None))
                .await
                .unwrap_err(),
            Error::NotFound("no VEX has been published for shop v1.0.0".into())
        );
        // A component the SBOM does not have is refused, naming it, or
        // kept (by purl) with a warning when asked.
        let unknown = br#"{"findings": [{"id": "CVE-2099-0001", "component": {"purl": "pkg:cargo/not-here@1.0.0"}, "state": "under_investigation"}]}"#;
        match publish(&f.st, &f.push, rel, unknown, &PublishQuery::default()).await {
            Err(Error::Unprocessable(m)) => assert!(m.contains("pkg:cargo/not-here@1.0.0"), "{m}"),
            other => panic!("{other:?}"),
        }
        let kept = publish(
            &f.st,
            &f.push,
            rel,
            unknown,
            &PublishQuery {
                keep_unmatched: true,
            },
        )
        .await
        .unwrap();
        assert_eq!((kept.version, kept.statements), (1, 1));
        assert!(
            kept.warnings.iter().any(|w| w.message.contains("not-here")),
            "{:?}",
            kept.warnings
        );
    }

    /// `as_of` picks the version current at that time (publication times
    /// are whole seconds and never go back).
    #[test]
    fn as_of_picks_the_version_current_then() {
        let v = |version, published_at| VexVersion {
            product: "p".into(),
            tag: "t".into(),
            version,
            revision: 1,
            published_at,
            published_by: "x".into(),
            author: "A".into(),
            id_base: "https://e.test/vex/a/p/t".into(),
            source: VexSource::Findings,
            statements: vec![],
            statements_sha256: String::new(),
            documents: BTreeMap::new(),
            warnings: vec![],
            log_index: Some(u64::from(version)),
        };
        let all = [v(1, 1_800_000_000), v(2, 1_800_000_100)];
        let at = |t: &str| pick(&all, None, Some(t), "p t").map(|v| v.version);
        assert!(matches!(
            at("2027-01-15T07:59:59Z"),
            Err(Error::NotFound(_))
        ));
        assert_eq!(at("2027-01-15T08:00:00Z").unwrap(), 1);
        assert_eq!(at("2027-01-15T08:01:39Z").unwrap(), 1);
        assert_eq!(at("2027-01-15T08:01:40Z").unwrap(), 2);
        assert_eq!(at("2030-01-01T00:00:00+02:00").unwrap(), 2);
        assert!(matches!(at("yesterday"), Err(Error::Unprocessable(_))));
        assert!(matches!(
            pick(&all, Some(1), Some("2030-01-01T00:00:00Z"), "p t"),
            Err(Error::Unprocessable(_))
        ));
        assert_eq!(pick(&all, Some(1), None, "p t").unwrap().version, 1);
        assert!(matches!(
            pick(&all, Some(3), None, "p t"),
            Err(Error::NotFound(_))
        ));
        assert_eq!(pick(&all, None, None, "p t").unwrap().version, 2);
    }
}
