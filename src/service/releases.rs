//! Release pushes: CI's release records in three steps. [`push`] runs
//! `core::release::validate` (pure: every check that needs only the
//! request), then [`prepare`] (the SBOM ingest, under a per-core limit),
//! then [`commit`] (one batch under the tenant's lock: blobs, the model,
//! the record and its `release_pushed` event). Identical content pushed
//! again appends nothing; changed content is a new revision.
//!
//! Also here: the bytes of the two downloads that come straight from a
//! release (the original SBOM, the NOTICE).

use bytes::Bytes;
use evident_sbom::{Model, NoticeFormat, Release, SourceFormat};
use sha2::{Digest, Sha256};

pub use crate::core::release::{
    ArtefactIn, DsseEnvelope, DsseSignature, Encoding, Pushed, ReleasePush, SbomIn,
};
use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::EventBody,
        policy::{allow, Action, Resource},
        release::{self, current_version, ComponentRef, ReleaseRecord, SbomInfo, Validated},
        Error, Principal,
    },
    service::{
        blocking,
        catalogue::{self, ExportQuery},
        downloads::{Artifact, Download},
        vex, AppState,
    },
    store::{keys, Db},
};

/// Pushes a release record (push token): validate, prepare, commit. The
/// answer says whether a new revision was made.
pub async fn push(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: ReleasePush,
) -> Result<Pushed, Error> {
    allow(principal, Action::PushRelease, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    push_as(state, principal, tenant, req).await
}

/// [`push`] without the scope check, for the demo seed (which pushes as
/// the demo tenant's first admin).
pub async fn push_as(
    state: &AppState,
    principal: &Principal,
    tenant: &str,
    req: ReleasePush,
) -> Result<Pushed, Error> {
    let v = release::validate(req)?;
    let p = prepare(state, v).await?;
    // Findings are read and tied to this SBOM before anything is stored:
    // a bad finding refuses the whole push.
    let findings = match &p.v.findings_bytes {
        Some(b) => {
            let (b, m) = (b.clone(), p.model.clone());
            Some(
                blocking("vex", move || vex::prepare(&b, &m, false))
                    .await
                    .map_err(|e| match e {
                        Error::Unprocessable(m) => Error::Unprocessable(format!("/findings: {m}")),
                        e => e,
                    })?,
            )
        }
        None => None,
    };
    let model = findings
        .as_ref()
        .map(|_| std::sync::Arc::new(p.model.clone()));
    // The commit runs in its own task: if the client goes away, the task
    // still holds the tenant's lock until its batch has committed, so the
    // next push cannot number the same revision; and the findings' VEX
    // version follows in the same task.
    let (state, principal, tenant) = (state.clone(), principal.clone(), tenant.to_owned());
    tokio::spawn(async move {
        let mut pushed = commit(state.clone(), principal.clone(), tenant.clone(), p).await?;
        // Findings with no finding make no VEX version (nothing to state).
        let findings = findings.filter(|f| !f.statements.is_empty());
        // A new revision publishes its findings; so does a repeat of a push
        // whose publication did not happen (the retry of a push that failed
        // after its release was stored), and only then.
        let missing = |pushed: &Pushed| -> Result<bool, Error> {
            Ok(pushed.created
                || !state
                    .store()
                    .vex_versions(&tenant, &pushed.release.product, &pushed.release.tag)?
                    .iter()
                    .any(|v| v.revision == pushed.release.revision))
        };
        if let (true, Some(f), Some(model)) = (missing(&pushed)?, findings, model) {
            let (rec, release) = catalogue::load(
                &state,
                &tenant,
                &pushed.release.product,
                &pushed.release.tag,
                Some(pushed.release.revision),
            )?;
            let published =
                vex::publish_prepared(&state, &principal, &tenant, &rec, &release, &model, f)
                    .await?;
            pushed.vex_version = Some(published.version);
            pushed.vex_warnings = published.warnings;
        }
        Ok(pushed)
    })
    .await
    .map_err(|e| Error::Internal(format!("release commit task failed: {e}")))?
}

/// A validated push with its model, ready to commit.
#[derive(Debug)]
pub struct Prepared {
    v: Validated,
    model: Model,
    model_stored: bool,
    warnings: Vec<evident_sbom::Warning>,
}

/// Ingests the SBOM (at most one ingest per core at once: each holds a
/// document and its model in memory, and a burst of large pushes must
/// queue, not pile up). The model fixed at the first ingest of these exact
/// bytes is reused, so a re-push exports the same bytes even after an
/// upgrade of the readers.
pub async fn prepare(state: &AppState, v: Validated) -> Result<Prepared, Error> {
    let stored_model = state.store().model_json(&v.sbom_sha256)?;
    let permit = state.ingest_permit().await;
    let (ingested, v) = tokio::task::spawn_blocking(move || {
        let r = evident_sbom::ingest(&v.sbom_bytes);
        drop(permit);
        (r, v)
    })
    .await
    .map_err(|e| Error::Internal(format!("ingest task failed: {e}")))?;
    let ingested = ingested.map_err(|e| Error::Unprocessable(format!("/sbom/content: {e}")))?;
    let mut warnings = ingested.warnings;
    warnings.extend(v.warnings.iter().cloned());
    let model = match &stored_model {
        Some(b) => Model::from_json(b)
            .map_err(|e| Error::Internal(format!("stored model {}: {e}", v.sbom_sha256)))?,
        None => ingested.model,
    };
    Ok(Prepared {
        v,
        model,
        model_stored: stored_model.is_some(),
        warnings,
    })
}

/// Stores and logs a prepared push in one batch, under the tenant's lock.
pub async fn commit(
    state: AppState,
    principal: Principal,
    tenant: String,
    p: Prepared,
) -> Result<Pushed, Error> {
    let (state, tenant) = (&state, tenant.as_str());
    let Prepared {
        v:
            Validated {
                product,
                tag,
                artefacts,
                sbom_bytes,
                sbom_sha256,
                provenance_bytes,
                provenance_predicate_type,
                provenance_sha256,
                findings_bytes,
                findings_sha256,
                content_sha256,
                warnings: _,
                components,
            },
        model,
        model_stored,
        warnings,
    } = p;
    let _lock = state.tenant_lock(tenant).await;
    let existing = state.store().revisions(tenant, &product, &tag)?;
    if let Some(last) = existing.last() {
        if last.content_sha256 == content_sha256 {
            return Ok(Pushed {
                created: false,
                release: last.clone(),
                vex_version: None,
                vex_warnings: Vec::new(),
            });
        }
    }
    // Each component release, pinned at its latest revision; a component
    // is a release of its own, not a product release (one level).
    let mut component_refs = Vec::with_capacity(components.len());
    for (i, (cp, ct)) in components.iter().enumerate() {
        let Some(c) = state.store().revisions(tenant, cp, ct)?.pop() else {
            return Err(Error::Unprocessable(format!(
                "/components/{i}: there is no release {cp} {ct}: push the component first"
            )));
        };
        if !c.components.is_empty() {
            return Err(Error::Unprocessable(format!(
                "/components/{i}: {cp} {ct} is a product release itself (its components can be named here directly)"
            )));
        }
        component_refs.push(ComponentRef {
            product: cp.clone(),
            tag: ct.clone(),
            revision: c.revision,
        });
    }
    // One level: a release that is a component of a product release names
    // no components itself.
    if !component_refs.is_empty() {
        if let Some((pp, pt)) = parents(state, tenant, &product, &tag)?.first() {
            return Err(Error::Unprocessable(format!(
                "/components: {product} {tag} is a component of {pp} {pt}: a component names no components"
            )));
        }
    }
    let revision = existing.last().map_or(1, |r| r.revision + 1);
    let pushed_at_unix = now_unix();
    let release = Release {
        tenant: tenant.to_owned(),
        product: product.clone(),
        tag: tag.clone(),
        revision,
        artefacts: Vec::new(),
        pushed_at: pushed_at_unix,
        spdx_namespace: String::new(),
        tool_version: String::new(),
    };
    let mut record = ReleaseRecord {
        product: product.clone(),
        tag: tag.clone(),
        revision,
        pushed_at: rfc3339(pushed_at_unix),
        pushed_at_unix,
        pushed_by: match &principal {
            Principal::Tenant { token_id, .. } | Principal::Operator { token_id } => {
                token_id.clone()
            }
            // Pushes need a push token; a customer never gets here.
            Principal::Customer { customer, .. } => customer.clone(),
            Principal::ShareLink { link_id, .. } => link_id.clone(),
            Principal::Public { client, .. } => client.clone(),
        },
        artefacts: artefacts.clone(),
        sbom: SbomInfo {
            sha256: sbom_sha256.clone(),
            size: sbom_bytes.len() as u64,
            format: model.format,
            spec_version: model.spec_version.clone(),
            components: model.components.len() as u64 + u64::from(model.subject.is_some()),
        },
        provenance_sha256: provenance_sha256.clone(),
        provenance_predicate_type,
        findings_sha256,
        content_sha256,
        serial_number: release.serial_number(),
        spdx_namespace: Release::namespace_for(
            &format!("https://{}", state.public_host()),
            tenant,
            &product,
            &tag,
            revision,
        ),
        warnings,
        tool_version: current_version(),
        log_index: None,
        components: component_refs,
    };
    let mut ops: Vec<evident_log::AppOp> = Vec::new();
    let mut put_blob = |bytes: Vec<u8>, sha: &str| -> Result<(), Error> {
        ops.extend(state.store().blob_op(sha, bytes)?);
        Ok(())
    };
    put_blob(sbom_bytes, &sbom_sha256)?;
    if let (Some(b), Some(h)) = (provenance_bytes, &provenance_sha256) {
        put_blob(b, h)?;
    }
    if let (Some(b), Some(h)) = (findings_bytes, &record.findings_sha256.clone()) {
        put_blob(b, h)?;
    }
    // The model's stored JSON sizes its cache entry; a model stored by an
    // earlier push is sized by the SBOM instead.
    let mut model_len = record.sbom.size as usize;
    if !model_stored {
        let json = model.to_json();
        model_len = json.len();
        ops.push(Db::model_op(&sbom_sha256, json));
    }
    let model_key = sbom_sha256.clone();
    let (record_op, index_key) = Db::release_ops(tenant, &record);
    ops.push(record_op);
    ops.extend(Db::artefact_ops(tenant, &record));
    ops.extend(Db::search_ops(tenant, &record, &model));
    ops.extend(Db::component_of_ops(tenant, &record));
    let event = EventBody::ReleasePushed {
        product: product.clone(),
        tag: tag.clone(),
        revision,
        artefacts: artefacts.iter().map(|a| a.digest.clone()).collect(),
        sbom_sha256,
        provenance_sha256,
        components: record
            .components
            .iter()
            .map(|c| format!("{}:{}@{}", c.product, c.tag, c.revision))
            .collect(),
    };
    let index = state
        .record_indexed(
            tenant,
            vec![(principal.actor(), event)],
            ops,
            vec![index_key],
        )
        .await?;
    record.log_index = Some(index);
    // The first export of a new release would otherwise read the model
    // back and parse it. (Exports from it and from the stored JSON are the
    // same bytes: tests/releases.rs, exports_round_trip_to_the_same_model.)
    state
        .caches()
        .put_model(&model_key, std::sync::Arc::new(model), model_len);
    Ok(Pushed {
        created: true,
        release: record,
        vex_version: None,
        vex_warnings: Vec::new(),
    })
}

/// The SBOM exactly as pushed, as a download (staff only).
pub fn original(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Download, Error> {
    catalogue::authorize_release(state, principal, Action::ReadOriginal, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    if q.format.is_some() {
        return Err(Error::Unprocessable(
            "the original has no format= choice".into(),
        ));
    }
    let (rec, _) = catalogue::load(state, tenant, product, tag, q.revision)?;
    let bytes = state
        .store()
        .blob(&rec.sbom.sha256)?
        .ok_or_else(|| Error::Internal(format!("blob {} is missing", rec.sbom.sha256)))?;
    let (media, ext) = match rec.sbom.format {
        SourceFormat::CyclonedxJson => ("application/vnd.cyclonedx+json", "cdx.json"),
        SourceFormat::CyclonedxXml => ("application/vnd.cyclonedx+xml", "cdx.xml"),
        SourceFormat::SpdxJson => ("application/spdx+json", "spdx.json"),
        SourceFormat::SpdxTagValue => ("text/spdx", "spdx"),
    };
    let name = format!("sbom-{product}-{tag}-original.{ext}");
    Ok(Download::new(
        rec,
        Artifact::ORIGINAL,
        None,
        bytes,
        media,
        name,
    ))
}

/// The NOTICE (`text`, `markdown` or `html`) as a download; as byte-stable
/// as an export, and kept in the same cache.
pub fn notice(
    state: &AppState,
    principal: &Principal,
    (tenant, product, tag): (&str, &str, &str),
    q: &ExportQuery,
) -> Result<Download, Error> {
    catalogue::authorize_release(state, principal, Action::ReadRelease, tenant, product, tag)?;
    state.tenant_log(tenant)?;
    let f = match q.format.as_deref() {
        None => NoticeFormat::Text,
        Some(f) => NoticeFormat::parse(f).ok_or_else(|| {
            Error::Unprocessable(format!("format {f:?} is not one of text, markdown, html"))
        })?,
    };
    let (rec, release): (ReleaseRecord, Release) =
        catalogue::load(state, tenant, product, tag, q.revision)?;
    let cache_key = format!(
        "{}{}/notice.{}",
        keys::release_path(tenant, &rec.product, &rec.tag),
        rec.revision,
        f.extension()
    );
    let (body, sha256) = match state.caches().export(&cache_key) {
        Some(hit) => hit,
        None => {
            let m = catalogue::model(state, &rec)?;
            let bytes = Bytes::from(f.write(&m, &release));
            let sha: [u8; 32] = Sha256::digest(&bytes).into();
            state.caches().put_export(&cache_key, bytes.clone(), sha);
            (bytes, sha)
        }
    };
    Ok(Download {
        artifact: Artifact::NOTICE,
        format: Some(q.format.clone().unwrap_or_else(|| "text".into())),
        body,
        sha256,
        media_type: f.media_type().to_owned(),
        file_name: format!("NOTICE-{product}-{tag}.{}", f.extension()),
        key_id: None,
        timestamp_missing: false,
        rec,
    })
}

/// The product releases whose latest revision names `product`/`tag` as a
/// component (the index keeps every parent a push ever named; a later
/// revision that no longer names it is not a parent any more).
pub fn parents(
    state: &AppState,
    tenant: &str,
    product: &str,
    tag: &str,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (pp, pt) in state.store().parents_of(tenant, product, tag)? {
        let names_it = state
            .store()
            .revisions(tenant, &pp, &pt)?
            .pop()
            .is_some_and(|r| {
                r.components
                    .iter()
                    .any(|c| c.product == product && c.tag == tag)
            });
        if names_it {
            out.push((pp, pt));
        }
    }
    Ok(out)
}
