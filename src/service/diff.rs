//! The signed diff between two releases of a product: components added,
//! removed and changed in version or licence, and VEX states that changed
//! (`evident_sbom::diff`). Served like an export (`service::evidence`
//! issues it: signed, timestamped, `export_issued` with the format
//! `evident-diff`), so a customer can show an auditor exactly what changed
//! between two deliveries, with the same evidence files and verifier.

use serde::Deserialize;

use evident_sbom::diff::{ReleaseDiff, ReleaseRef, VexRow};

use crate::{
    core::{policy::Action, release::ReleaseRecord, Error, Principal},
    service::{catalogue, vex, AppState},
};

/// `?from=&to=&from_revision=&to_revision=` of a diff.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The earlier release's tag.
    pub from: String,
    /// The later release's tag.
    pub to: String,
    /// The earlier release's revision; its latest when absent.
    #[serde(default)]
    pub from_revision: Option<u32>,
    /// The later release's revision; its latest when absent.
    #[serde(default)]
    pub to_revision: Option<u32>,
}

/// The name a diff is served under.
pub fn file_name(product: &str, q: &DiffQuery, from: u32, to: u32) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}-{}r{from}-to-{}r{to}.diff.json",
        safe(product),
        safe(&q.from),
        safe(&q.to)
    )
}

/// The VEX rows the diff compares for a revision: those of the latest VEX
/// version about that revision (what its CycloneDX export carries), when
/// the caller may read VEX (customers and staff; not a public portal's
/// visitor or a share link, whose downloads carry no VEX).
fn vex_rows(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    rec: &ReleaseRecord,
) -> Result<(Option<u32>, Vec<VexRow>), Error> {
    if matches!(p, Principal::Public { .. } | Principal::ShareLink { .. }) {
        return Ok((None, Vec::new()));
    }
    Ok(match vex::for_export(state, tenant, rec, None)? {
        None => (None, Vec::new()),
        Some(v) => (
            Some(v.version),
            vex::rows_of(state, tenant, &v)?
                .into_iter()
                .map(|r| VexRow {
                    vulnerability: r.id,
                    component_key: r.component_key,
                    component: r.component,
                    state: r.state.name().to_owned(),
                })
                .collect(),
        ),
    })
}

fn reference(rec: &ReleaseRecord, vex_version: Option<u32>) -> ReleaseRef {
    ReleaseRef {
        tag: rec.tag.clone(),
        revision: rec.revision,
        sbom_sha256: rec.sbom.sha256.clone(),
        artefacts: rec.artefacts.iter().map(|a| a.digest.clone()).collect(),
        vex_version,
    }
}

/// The diff `q` asks for, with the later release's revision (the one the
/// diff is issued under), for a caller who may read both releases; 404
/// otherwise, 422 for a release compared with itself.
pub fn compute(
    state: &AppState,
    p: &Principal,
    (tenant, product): (&str, &str),
    q: &DiffQuery,
) -> Result<(ReleaseRecord, ReleaseDiff), Error> {
    for tag in [&q.from, &q.to] {
        catalogue::authorize_release(state, p, Action::ReadRelease, tenant, product, tag)?;
    }
    state.tenant_log(tenant)?;
    let (from, _) = catalogue::load(state, tenant, product, &q.from, q.from_revision)?;
    let (to, _) = catalogue::load(state, tenant, product, &q.to, q.to_revision)?;
    if from.tag == to.tag && from.revision == to.revision {
        return Err(Error::Unprocessable(
            "from and to are the same revision: nothing to compare".into(),
        ));
    }
    let (fm, tm) = (
        catalogue::model(state, &from)?,
        catalogue::model(state, &to)?,
    );
    let (fv, frows) = vex_rows(state, p, tenant, &from)?;
    let (tv, trows) = vex_rows(state, p, tenant, &to)?;
    let d = ReleaseDiff::new(
        (tenant, product),
        (reference(&from, fv), &fm, &frows),
        (reference(&to, tv), &tm, &trows),
    );
    Ok((to, d))
}
