//! CSAF security advisories: an admin drafts one for a release from VEX
//! input (findings JSON, CycloneDX VEX, OpenVEX or CSAF: the statements are
//! read and tied to the release exactly as a VEX publication's are), sees
//! and replaces it while it is a draft, and publishes it: the CSAF
//! document (`csaf_security_advisory`) is written once, kept as a blob,
//! and `advisory_published` names its digest. Published advisories are
//! listed for whoever may read the release; serving one issues it like an
//! export (`evidence::served_advisory`).

use sha2::{Digest as _, Sha256};

pub use crate::core::advisories::{AdvisoryRecord, AdvisoryState, NewAdvisory};
use crate::{
    core::{
        clock::now_unix,
        events::EventBody,
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{blocking, catalogue, vex, AppState},
    store::Db,
};

/// An advisory with its statements as the page shows them.
#[derive(Debug, Clone)]
pub struct AdvisoryView {
    /// The record.
    pub record: AdvisoryRecord,
    /// One row per statement (vulnerability, component, state, action).
    pub rows: Vec<Row>,
}

/// One statement of an advisory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Row {
    /// The vulnerability id.
    pub vulnerability: String,
    /// The component (name and version), or the release.
    pub component: String,
    /// The product status (`affected`, `fixed`, …).
    pub state: String,
    /// What to do (the action statement), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

fn is_admin(p: &Principal, tenant: &str) -> bool {
    allow(p, Action::PublishDocuments, Resource::Tenant(tenant)).is_ok()
}

/// Drafts (or replaces the draft of) an advisory (admin): reads the VEX
/// input against the release's latest revision (422 naming the first
/// problem), keeps it, stores the draft. A published advisory of that id
/// is 409. Nothing is logged until it is published.
pub async fn draft(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    req: NewAdvisory,
    input: Vec<u8>,
) -> Result<AdvisoryRecord, Error> {
    allow(p, Action::PublishDocuments, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    req.validate()?;
    let (rec, _) = catalogue::load(state, tenant, &req.product, &req.tag, None)?;
    let model = catalogue::model(state, &rec)?;
    let (bytes, m) = (input.clone(), model.clone());
    let prepared = blocking("advisory", move || vex::prepare(&bytes, &m, false)).await?;
    if prepared.statements.is_empty() {
        return Err(Error::Unprocessable(
            "an advisory needs at least one statement".into(),
        ));
    }
    let _one = state
        .record_lock(format!("advisory/{tenant}/{}", req.id))
        .await;
    if let Some(old) = state.store().advisory(tenant, &req.id)? {
        if old.state == AdvisoryState::Published {
            return Err(Error::Conflict(format!(
                "advisory {} is published: publish a new one",
                req.id
            )));
        }
    }
    let sha = hex::encode(Sha256::digest(&input));
    let a = AdvisoryRecord {
        id: req.id,
        product: rec.product.clone(),
        tag: rec.tag.clone(),
        revision: rec.revision,
        title: req.title,
        summary: req.summary,
        reference: req.reference,
        state: AdvisoryState::Draft,
        input_sha256: sha.clone(),
        drafted_at: now_unix(),
        published_at: None,
        csaf_sha256: None,
    };
    let mut ops = vec![Db::advisory_op(tenant, &a)];
    ops.extend(state.store().blob_op(&sha, input)?);
    state.store().write(&ops)?;
    Ok(a)
}

/// The statements of `a`, read again from its kept input against its
/// revision's model (the same input and model always give the same).
async fn statements(
    state: &AppState,
    tenant: &str,
    a: &AdvisoryRecord,
) -> Result<
    (
        Vec<evident_sbom::vex::Statement>,
        std::sync::Arc<evident_sbom::Model>,
    ),
    Error,
> {
    let (rec, _) = catalogue::load(state, tenant, &a.product, &a.tag, Some(a.revision))?;
    let model = catalogue::model(state, &rec)?;
    let input = state
        .store()
        .blob(&a.input_sha256)?
        .ok_or_else(|| Error::Internal(format!("advisory input {} is missing", a.input_sha256)))?;
    let m = model.clone();
    let p = blocking("advisory", move || vex::prepare(&input, &m, false)).await?;
    Ok((p.statements, model))
}

/// Publishes a draft (admin): writes its CSAF document once, keeps it,
/// and appends `advisory_published`. With `expected_input` (the draft's
/// `input_sha256` the publisher reviewed): 409 when the draft changed
/// since, and the record when it is published already with it (a retry);
/// without it, 409 when published.
pub async fn publish(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    expected_input: Option<&str>,
) -> Result<AdvisoryRecord, Error> {
    allow(p, Action::PublishDocuments, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let author = state
        .tenant(tenant)?
        .map(|t| t.name)
        .ok_or_else(Error::not_found)?;
    let _one = state.record_lock(format!("advisory/{tenant}/{id}")).await;
    let mut a = state
        .store()
        .advisory(tenant, id)?
        .ok_or_else(Error::not_found)?;
    // What the publisher reviewed: a draft replaced since is not published
    // in its name.
    if expected_input.is_some_and(|e| e != a.input_sha256) {
        return Err(Error::Conflict(format!(
            "advisory {id}'s draft changed since it was reviewed (its statements are now {}): review it again",
            a.input_sha256
        )));
    }
    if a.state == AdvisoryState::Published {
        // Publishing what is published is done already (a retry).
        if expected_input.is_some() {
            return Ok(a);
        }
        return Err(Error::Conflict(format!(
            "advisory {id} is published already"
        )));
    }
    let (stmts, model) = statements(state, tenant, &a).await?;
    let (_, release) = catalogue::load(state, tenant, &a.product, &a.tag, Some(a.revision))?;
    let now = now_unix();
    let meta = evident_sbom::vex::VexMeta {
        version: 1,
        published_at: now,
        author,
        // The writer adds `/advisories/<id>`: the advisory's portal page.
        id_base: format!("{}/t/{tenant}", state.public_url().trim_end_matches('/')),
        history: vec![(1, now)],
    };
    let adv = evident_sbom::vex::Advisory {
        id: a.id.clone(),
        title: a.title.clone(),
        summary: a.summary.clone(),
        reference: a.reference.clone(),
    };
    let mut vulns: Vec<String> = stmts.iter().map(|s| s.vulnerability.clone()).collect();
    vulns.sort();
    vulns.dedup();
    let csaf = blocking("advisory", move || {
        Ok(evident_sbom::vex::write_advisory(
            &stmts, &model, &release, &meta, &adv,
        ))
    })
    .await?;
    let sha = hex::encode(Sha256::digest(&csaf));
    a.state = AdvisoryState::Published;
    a.published_at = Some(now);
    a.csaf_sha256 = Some(sha.clone());
    let mut ops = vec![Db::advisory_op(tenant, &a)];
    ops.extend(state.store().blob_op(&sha, csaf)?);
    state
        .record(
            tenant,
            p.actor(),
            EventBody::AdvisoryPublished {
                advisory_id: a.id.clone(),
                product: a.product.clone(),
                tag: a.tag.clone(),
                revision: a.revision,
                title: a.title.clone(),
                vulnerabilities: vulns,
                csaf_sha256: sha,
            },
            ops,
        )
        .await?;
    Ok(a)
}

/// Whether `p` may see `a`: admins see drafts too; anyone who may read
/// the release sees it once published (not a public portal's visitor or
/// a share link: VEX is for entitled customers).
fn may_see(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    a: &AdvisoryRecord,
) -> Result<bool, Error> {
    if is_admin(p, tenant) {
        return Ok(true);
    }
    if a.state != AdvisoryState::Published
        || matches!(p, Principal::Public { .. } | Principal::ShareLink { .. })
    {
        return Ok(false);
    }
    match catalogue::authorize_release(state, p, Action::ReadRelease, tenant, &a.product, &a.tag) {
        Ok(()) => Ok(true),
        Err(Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The advisories `p` may see, newest first.
pub fn list(state: &AppState, p: &Principal, tenant: &str) -> Result<Vec<AdvisoryRecord>, Error> {
    crate::service::documents::may_list(p, tenant)?;
    state.tenant_log(tenant)?;
    let mut out = Vec::new();
    for a in state.store().advisories(tenant)? {
        if may_see(state, p, tenant, &a)? {
            out.push(a);
        }
    }
    out.sort_by(|a, b| {
        b.published_at
            .unwrap_or(b.drafted_at)
            .cmp(&a.published_at.unwrap_or(a.drafted_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// One advisory `p` may see, with its statements; 404 otherwise.
pub async fn get(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<AdvisoryView, Error> {
    crate::service::documents::may_list(p, tenant)?;
    state.tenant_log(tenant)?;
    let a = state
        .store()
        .advisory(tenant, id)?
        .ok_or_else(Error::not_found)?;
    if !may_see(state, p, tenant, &a)? {
        return Err(Error::not_found());
    }
    let (stmts, model) = statements(state, tenant, &a).await?;
    let rows = stmts
        .iter()
        .map(|s| Row {
            vulnerability: s.vulnerability.clone(),
            component: match s.component.and_then(|i| model.components.get(i as usize)) {
                Some(c) => match &c.version {
                    Some(v) => format!("{} {v}", c.name),
                    None => c.name.clone(),
                },
                None => s.purl.clone().unwrap_or_else(|| "this release".into()),
            },
            state: s.state.name().to_owned(),
            action: s.action.clone(),
        })
        .collect();
    Ok(AdvisoryView { record: a, rows })
}

/// A published advisory's CSAF document, as published, for whoever may
/// see it; 404 for a draft or anyone else.
pub fn csaf(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<(AdvisoryRecord, Vec<u8>), Error> {
    crate::service::documents::may_list(p, tenant)?;
    state.tenant_log(tenant)?;
    let a = state
        .store()
        .advisory(tenant, id)?
        .ok_or_else(Error::not_found)?;
    let Some(sha) = a
        .csaf_sha256
        .clone()
        .filter(|_| a.state == AdvisoryState::Published)
    else {
        return Err(Error::not_found());
    };
    if !may_see(state, p, tenant, &a)? {
        return Err(Error::not_found());
    }
    let bytes = state
        .store()
        .blob(&sha)?
        .ok_or_else(|| Error::Internal(format!("advisory document {sha} is missing")))?;
    Ok((a, bytes))
}
