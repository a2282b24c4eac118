//! Share-link status documents: the life of one share link in a tenant's
//! log, provable to a third party.
//!
//! A status document (`GET …/share-links/{id}/status`) carries the link's
//! entries (its `share_link_issued`, every `share_link_used`, and its
//! `share_link_revoked`), each with an RFC 9162 inclusion proof against one
//! signed checkpoint; for a revoked link, every leaf from the revocation to
//! the end of that checkpoint's tree, with the frontier of the tree just
//! before it, so a verifier recomputes the checkpoint's root from them and
//! sees for itself that no use of the link follows the revocation in that
//! range; and optionally a newer checkpoint with a consistency proof.
//! [`verify_status`] checks all of it offline and names the first failure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    checkpoint::{check_entry_tenant, open_checkpoint, Checkpoint},
    merkle::{self, Hash},
    note::NoteVerifier,
    proof::decode_named,
};

/// The status document's format line.
pub const FORMAT: &str = "evident-share-link-status/v1";

/// One log entry with its inclusion proof against the document's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    /// Its index in the log.
    pub index: u64,
    /// The leaf bytes (RFC 8785 JSON of the event), as text.
    pub entry: String,
    /// Inclusion proof hashes, base64, leaf to root.
    pub inclusion_proof: Vec<String>,
}

/// Every leaf from the revocation to the end of the checkpoint's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The index of the first leaf (the revocation's).
    pub start: u64,
    /// The frontier of the tree of `start` leaves, base64, left to right.
    pub frontier: Vec<String>,
    /// The leaves `[start, checkpoint size)`, as text.
    pub leaves: Vec<String>,
}

/// A share link's status with its proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareLinkStatus {
    /// Always [`FORMAT`].
    pub format: String,
    /// The link's public id.
    pub link_id: String,
    /// `active`, `expired`, `exhausted` or `revoked`, as the server sees it.
    pub state: String,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    /// The link's entries, in log order.
    pub entries: Vec<ProvenEntry>,
    /// For a revoked link: the leaves from the revocation to the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_revocation: Option<Range>,
    /// A newer signed checkpoint, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    /// The consistency proof from `checkpoint` to `latest`, base64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency_proof: Vec<String>,
}

/// What a verified status document establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// One line per check that held.
    pub checks: Vec<String>,
    /// The issuance entry's index.
    pub issued_at: u64,
    /// The indexes of the uses.
    pub uses: Vec<u64>,
    /// The revocation entry's index, for a revoked link.
    pub revoked_at: Option<u64>,
}

/// The event of a leaf, if it is one of `link_id`'s: its kind.
fn link_event(leaf: &str, link_id: &str) -> Result<Option<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(leaf).map_err(|e| format!("a leaf is not JSON: {e}"))?;
    let ev = &v["event"];
    let kind = ev["kind"].as_str().unwrap_or("");
    Ok((kind.starts_with("share_link_") && ev["link_id"] == link_id).then(|| kind.to_owned()))
}

/// Checks a status document with the log's key. The first failure is the
/// error, naming what failed.
pub fn verify_status(s: &ShareLinkStatus, log_key: &NoteVerifier) -> Result<Verified, String> {
    let mut checks = Vec::new();
    if s.format != FORMAT {
        return Err(format!("status format is {:?}, not {FORMAT}", s.format));
    }
    let cp: Checkpoint =
        open_checkpoint(&s.checkpoint, log_key, None).map_err(|e| format!("checkpoint: {e}"))?;
    checks.push(format!(
        "checkpoint signed by {} (size {})",
        log_key.name(),
        cp.size
    ));
    let (mut issued, mut uses, mut revoked) = (None, Vec::new(), None);
    // Order first, over the whole document, so a reordering is named as
    // such rather than as the use-number gap it also causes.
    if let Some(w) = s.entries.windows(2).find(|w| w[1].index <= w[0].index) {
        return Err(format!("entries: entry {} is out of log order", w[1].index));
    }
    for e in &s.entries {
        let proof = decode_named(&e.inclusion_proof, "inclusion proof")?;
        merkle::verify_inclusion(
            e.index,
            cp.size,
            &merkle::leaf_hash(e.entry.as_bytes()),
            &proof,
            &cp.root,
        )
        .map_err(|err| format!("entry {}: inclusion proof: {err}", e.index))?;
        let v: serde_json::Value = serde_json::from_str(&e.entry)
            .map_err(|err| format!("entry {}: not JSON: {err}", e.index))?;
        check_entry_tenant(&cp.origin, v["tenant"].as_str().unwrap_or(""))
            .map_err(|err| format!("entry {}: {err}", e.index))?;
        match link_event(&e.entry, &s.link_id)?.as_deref() {
            Some("share_link_issued") if issued.is_none() => issued = Some(e.index),
            Some("share_link_used") if revoked.is_none() && issued.is_some() => {
                // Uses are numbered from 1 by the server: a gap is a use
                // the document leaves out.
                let n = v["event"]["use"].as_u64().unwrap_or(0);
                if n != uses.len() as u64 + 1 {
                    return Err(format!(
                        "entry {}: use number {n}, but {} use(s) come before it in the document (a use is missing or repeated)",
                        e.index,
                        uses.len()
                    ));
                }
                uses.push(e.index)
            }
            Some("share_link_revoked") if revoked.is_none() && issued.is_some() => {
                // The revocation counts the uses before it: none may be
                // left out of the document.
                let n = v["event"]["uses"].as_u64();
                if n != Some(uses.len() as u64) {
                    return Err(format!(
                        "entry {}: the revocation records {} use(s), the document proves {}",
                        e.index,
                        n.map_or("no count of".to_owned(), |n| n.to_string()),
                        uses.len()
                    ));
                }
                revoked = Some(e.index)
            }
            Some(k) => {
                return Err(format!(
                    "entry {}: a {k} event out of place for link {}",
                    e.index, s.link_id
                ))
            }
            None => {
                return Err(format!(
                    "entry {}: not an event of link {}",
                    e.index, s.link_id
                ))
            }
        }
    }
    let issued_at = issued
        .ok_or_else(|| format!("entries: no share_link_issued entry of link {}", s.link_id))?;
    if (s.state == "revoked") != revoked.is_some() {
        return Err(format!(
            "the state says {}, but the document {} a revocation entry",
            s.state,
            if revoked.is_some() {
                "proves"
            } else {
                "has no"
            }
        ));
    }
    checks.push(format!(
        "link {} issued at entry {issued_at}, used {} time(s), each entry in the tree",
        s.link_id,
        uses.len()
    ));
    match (revoked, &s.after_revocation) {
        (Some(r), Some(range)) => {
            if range.start != r {
                return Err(format!(
                    "after revocation: the range starts at {}, the revocation is entry {r}",
                    range.start
                ));
            }
            if range.start + range.leaves.len() as u64 != cp.size {
                return Err(format!(
                    "after revocation: the range ends at {}, the checkpoint has size {}",
                    range.start + range.leaves.len() as u64,
                    cp.size
                ));
            }
            let frontier = decode_named(&range.frontier, "after revocation: frontier")?;
            let leaves: Vec<Hash> = range
                .leaves
                .iter()
                .map(|l| merkle::leaf_hash(l.as_bytes()))
                .collect();
            let root = merkle::root_from_frontier(range.start, &frontier, &leaves)
                .map_err(|e| format!("after revocation: {e}"))?;
            if root != cp.root {
                return Err(
                    "after revocation: the leaves and frontier do not make the checkpoint's root (dropped, added or reordered leaves)"
                        .into(),
                );
            }
            let revocation = s
                .entries
                .iter()
                .find(|e| e.index == r)
                .map(|e| e.entry.as_str());
            if range.leaves.first().map(String::as_str) != revocation {
                return Err("after revocation: the first leaf is not the revocation entry".into());
            }
            for (i, leaf) in range.leaves.iter().enumerate().skip(1) {
                if link_event(leaf, &s.link_id)?.as_deref() == Some("share_link_used") {
                    return Err(format!(
                        "after revocation: entry {} uses link {} after its revocation at {r}",
                        range.start + i as u64,
                        s.link_id
                    ));
                }
            }
            checks.push(format!(
                "revoked at entry {r}; no use of it in entries {r}..{} (all {} leaves checked against the root)",
                cp.size,
                range.leaves.len()
            ));
        }
        (Some(_), None) => {
            return Err(
                "the link is revoked, but the document has no range after the revocation".into(),
            )
        }
        (None, Some(_)) => {
            return Err("the document has a range after a revocation it does not contain".into())
        }
        (None, None) => {}
    }
    if let Some(latest) = &s.latest {
        let l = open_checkpoint(latest, log_key, Some(&cp.origin))
            .map_err(|e| format!("latest checkpoint: {e}"))?;
        let proof = decode_named(&s.consistency_proof, "consistency proof")?;
        merkle::verify_consistency(cp.size, l.size, &cp.root, &l.root, &proof)
            .map_err(|e| format!("consistency from {} to {}: {e}", cp.size, l.size))?;
        checks.push(format!(
            "the tree of size {} is a prefix of the latest, of size {}",
            cp.size, l.size
        ));
    }
    Ok(Verified {
        checks,
        issued_at,
        uses,
        revoked_at: revoked,
    })
}
