//! Compliance documents published with a release: upload (admin), list
//! and read (whoever may read the release and is in the document's
//! audience), withdraw (admin). Each upload and withdrawal is a log event
//! in the batch that stores it; the bytes are a content-addressed blob.
//! Serving one issues it like an export (`evidence::served_document`):
//! signed, timestamped, `export_issued`, every download logged.

use sha2::{Digest as _, Sha256};

pub use crate::core::documents::{Audience, DocType, Document, NewDocument};
use crate::{
    core::{
        clock::{now_unix, rfc3339},
        documents::{MAX_DOCUMENT_BYTES, MEDIA_TYPES},
        events::EventBody,
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{catalogue, random_hex, AppState},
    store::Db,
};

/// Checks that the bytes are what their media type says: a PDF starts
/// with `%PDF-`, a PNG with its signature, text and JSON are UTF-8 (JSON
/// parses).
fn check_content(media_type: &str, b: &[u8]) -> Result<(), Error> {
    let bad = |what: &str| Err(Error::Unprocessable(format!("the document is not {what}")));
    match media_type {
        "application/pdf" if !b.starts_with(b"%PDF-") => {
            bad("a PDF (it does not start with %PDF-)")
        }
        "image/png" if !b.starts_with(b"\x89PNG\r\n\x1a\n") => bad("a PNG"),
        "text/plain" | "text/markdown" if std::str::from_utf8(b).is_err() => bad("UTF-8 text"),
        "application/json" if serde_json::from_slice::<serde_json::Value>(b).is_err() => {
            bad("JSON")
        }
        _ => Ok(()),
    }
}

/// Publishes a document with a release (admin): checks the release, the
/// fields, the media type (`Content-Type`) and the bytes, stores it and
/// appends `document_published`.
pub async fn publish(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    req: NewDocument,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<Document, Error> {
    allow(p, Action::PublishDocuments, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    req.validate()?;
    let audience = req.audience()?;
    match &req.tag {
        Some(t) => {
            catalogue::load(state, tenant, &req.product, t, None)?;
        }
        None if state
            .store()
            .product_releases(tenant, &req.product)?
            .is_empty() =>
        {
            return Err(Error::NotFound(format!(
                "product {:?} has no release",
                req.product
            )));
        }
        None => {}
    }
    if let Audience::Named { customers } = &audience {
        for c in customers {
            if state.store().customer(tenant, c)?.is_none() {
                return Err(Error::Unprocessable(format!("no customer {c:?}")));
            }
        }
    }
    let media_type = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(Error::UnsupportedMediaType(format!(
            "a document is one of {}, not {media_type:?}",
            MEDIA_TYPES.join(", ")
        )));
    }
    if bytes.is_empty() {
        return Err(Error::Unprocessable("the document is empty".into()));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge(format!(
            "the document has {} bytes; at most {MAX_DOCUMENT_BYTES}",
            bytes.len()
        )));
    }
    check_content(&media_type, &bytes)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let d = Document {
        id: random_hex(8),
        product: req.product,
        tag: req.tag,
        title: req.title,
        doc_type: req.doc_type,
        audience,
        file_name: req.file_name,
        media_type,
        sha256: sha.clone(),
        bytes: bytes.len() as u64,
        uploaded_at: rfc3339(now_unix()),
        withdrawn_at: None,
    };
    let mut ops = vec![Db::document_op(tenant, &d)];
    ops.extend(state.store().blob_op(&sha, bytes)?);
    state.record(tenant, p.actor(), d.event(), ops).await?;
    Ok(d)
}

/// Withdraws a document (admin): it is no longer listed or served; its
/// entry and its bytes stay. `document_withdrawn`.
pub async fn withdraw(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<(), Error> {
    allow(p, Action::PublishDocuments, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let _one = state.record_lock(format!("document/{tenant}/{id}")).await;
    let mut d = state
        .store()
        .document(tenant, id)?
        .filter(|d| d.withdrawn_at.is_none())
        .ok_or_else(Error::not_found)?;
    d.withdrawn_at = Some(rfc3339(now_unix()));
    state
        .record(
            tenant,
            p.actor(),
            EventBody::DocumentWithdrawn {
                document_id: id.to_owned(),
            },
            vec![Db::document_op(tenant, &d)],
        )
        .await?;
    Ok(())
}

/// The release `p` sees `d` with, if it may see `d` at all: `d`'s own
/// release when `p` may read it; for a product's document, the newest
/// release of the product `p` may read (the one it is issued under for
/// `p`, so nothing names a release `p` may not see). `p` must also be
/// staff, a customer in the audience, or (for a public document) a public
/// portal's visitor.
fn seen_with(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    d: &Document,
) -> Result<Option<String>, Error> {
    if d.withdrawn_at.is_some() {
        return Ok(None);
    }
    let audience = match p {
        Principal::Customer { customer, .. } => d.shown_to_customer(customer),
        Principal::Public { .. } => d.audience == Audience::Public,
        Principal::Tenant { .. } => true,
        Principal::Operator { .. } | Principal::ShareLink { .. } => false,
    };
    if !audience {
        return Ok(None);
    }
    let tags: Vec<String> = match &d.tag {
        Some(t) => vec![t.clone()],
        None => {
            // Newest push first.
            let mut r = state.store().product_releases(tenant, &d.product)?;
            r.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
            r.into_iter().map(|(t, _)| t).collect()
        }
    };
    for t in tags {
        match catalogue::authorize_release(state, p, Action::ReadRelease, tenant, &d.product, &t) {
            Ok(()) => return Ok(Some(t)),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Who may list documents at all: a public portal's visitor (already
/// admitted), or a caller who may list the tenant's releases; anyone else
/// is 404, as for an unknown tenant.
pub(crate) fn may_list(p: &Principal, tenant: &str) -> Result<(), Error> {
    if matches!(p, Principal::Public { tenant: t, .. } if t == tenant) {
        return Ok(());
    }
    allow(p, Action::ListReleases, Resource::Tenant(tenant))
}

/// The documents `p` may see, of one release (`Some((product, tag))`) or
/// of every release, newest first.
pub fn list(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    release: Option<(&str, &str)>,
) -> Result<Vec<Document>, Error> {
    may_list(p, tenant)?;
    state.tenant_log(tenant)?;
    let mut out = Vec::new();
    for d in state.store().documents(tenant)? {
        // A release's list has its own documents and its product's.
        if release
            .is_some_and(|(pr, t)| d.product != pr || d.tag.as_deref().is_some_and(|x| x != t))
        {
            continue;
        }
        if seen_with(state, p, tenant, &d)?.is_some() {
            out.push(d);
        }
    }
    out.sort_by(|a, b| b.uploaded_at.cmp(&a.uploaded_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// One document `p` may see, its bytes, and the release tag it is issued
/// under for `p`; 404 otherwise.
pub fn get(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
) -> Result<(Document, Vec<u8>, String), Error> {
    may_list(p, tenant)?;
    state.tenant_log(tenant)?;
    let d = state
        .store()
        .document(tenant, id)?
        .ok_or_else(Error::not_found)?;
    let Some(tag) = seen_with(state, p, tenant, &d)? else {
        return Err(Error::not_found());
    };
    let bytes = state
        .store()
        .blob(&d.sha256)?
        .ok_or_else(|| Error::Internal(format!("document blob {} is missing", d.sha256)))?;
    Ok((d, bytes, tag))
}
