//! OpenVEX 0.2.0 (openvex/spec `OPENVEX-SPEC.md` v0.2.0).
//!
//! Each product of a statement is a finding; a product with
//! `subcomponents` is the thing the statement is made *in* (the release),
//! and each subcomponent is a finding. Products and subcomponents are named
//! by their purl (`@id` or `identifiers.purl`); a product named only by
//! hashes is read as the release. When statements about one vulnerability
//! and component repeat, the latest one (by `timestamp`, else the
//! document's; then document order) is kept, as the spec's history rules
//! say.

use std::collections::BTreeMap;

use serde_json::Value;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use super::{
    ids::{rfc3339, vulnerability_id},
    invalid, kept,
    read::text,
    str_of, ComponentRef, Finding, Findings, Justification, State, Warns,
};
use crate::{check, ptr_token, SbomError};

const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// The members a 0.2.0 statement has.
const STATEMENT_KEYS: &[&str] = &[
    "@id",
    "version",
    "vulnerability",
    "timestamp",
    "last_updated",
    "products",
    "status",
    "supplier",
    "status_notes",
    "justification",
    "impact_statement",
    "action_statement",
    "action_statement_timestamp",
];

fn time_of(s: Option<&str>) -> Option<OffsetDateTime> {
    s.and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

pub(super) fn read(v: &Value, w: &mut Warns) -> Result<(Findings, Vec<String>), SbomError> {
    match v.get("@context") {
        Some(Value::String(c)) if c == CONTEXT || c == "https://openvex.dev/ns" => {}
        Some(Value::String(c)) if c.starts_with("https://openvex.dev/ns") => {
            return Err(invalid(
                "/@context",
                format!("{c:?}: this OpenVEX version is not one we read; we read {CONTEXT}"),
            ))
        }
        Some(other) => {
            return Err(invalid(
                "/@context",
                format!("{other} is not the OpenVEX context {CONTEXT}"),
            ))
        }
        None => return Err(invalid("/@context", "is missing")),
    }
    let Some(statements) = v.get("statements").and_then(Value::as_array) else {
        return Err(invalid("/statements", "is missing or not an array"));
    };
    let doc_time = time_of(str_of(v, "timestamp"));
    let mut unknown: BTreeMap<&str, String> = BTreeMap::new();
    let mut warned_product = false;
    // (finding, where, effective time)
    let mut out: Vec<(Finding, String, Option<OffsetDateTime>)> = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        let at = format!("/statements/{i}");
        let Some(obj) = st.as_object() else {
            return Err(invalid(at, "a statement must be an object"));
        };
        for k in obj.keys() {
            if !STATEMENT_KEYS.contains(&k.as_str()) {
                unknown
                    .entry(k.as_str())
                    .or_insert_with(|| format!("{at}/{}", ptr_token(k)));
            }
        }
        let vuln = st.get("vulnerability").unwrap_or(&Value::Null);
        let (name, aliases_v) = match vuln {
            Value::Object(_) => (str_of(vuln, "name"), vuln.get("aliases")),
            // OpenVEX before 0.2.0 had a plain string here.
            Value::String(s) => {
                w.warn(
                    format!("{at}/vulnerability"),
                    "is a string (OpenVEX before 0.2.0); read as the vulnerability's name",
                );
                (Some(s.as_str()), None)
            }
            _ => (None, None),
        };
        let Some(name) = name.map(str::trim) else {
            return Err(invalid(
                format!("{at}/vulnerability/name"),
                "is missing: a statement must name its vulnerability",
            ));
        };
        vulnerability_id(name).map_err(|m| invalid(format!("{at}/vulnerability/name"), m))?;
        let mut aliases = Vec::new();
        if let Some(Value::Array(list)) = aliases_v {
            for (j, a) in list.iter().enumerate() {
                match a.as_str().map(str::trim) {
                    Some(a) if vulnerability_id(a).is_ok() => aliases.push(a.to_owned()),
                    _ => w.warn(
                        format!("{at}/vulnerability/aliases/{j}"),
                        format!("{a} is not a vulnerability id; not kept as an alias"),
                    ),
                }
            }
        }
        let state = match str_of(st, "status") {
            Some(s) => State::from_openvex(s).ok_or_else(|| {
                invalid(
                    format!("{at}/status"),
                    format!("{s:?} is not an OpenVEX status (not_affected, affected, fixed, under_investigation)"),
                )
            })?,
            None => return Err(invalid(format!("{at}/status"), "is missing")),
        };
        let justification = match str_of(st, "justification") {
            Some(j) => Some(Justification::parse(j).ok_or_else(|| {
                invalid(
                    format!("{at}/justification"),
                    format!("{j:?} is not an OpenVEX justification"),
                )
            })?),
            None => None,
        };
        let impact = text(str_of(st, "impact_statement"));
        let mut notes: Vec<String> = Vec::new();
        let mut action = text(str_of(st, "action_statement"));
        if state != State::Affected {
            if let Some(a) = action.take() {
                w.warn(
                    format!("{at}/action_statement"),
                    format!(
                        "an action statement belongs to affected, not {}; kept as a note",
                        state.name()
                    ),
                );
                notes.push(a);
            }
        }
        notes.extend(text(str_of(st, "status_notes")));
        let detail = (!notes.is_empty()).then(|| notes.join("\n\n"));
        let timestamp = match text(str_of(st, "timestamp")) {
            Some(t) if rfc3339(&t).is_ok() => Some(t),
            Some(t) => {
                w.warn(
                    format!("{at}/timestamp"),
                    format!("{t:?} is not an RFC 3339 date-time; dropped"),
                );
                None
            }
            None => None,
        };
        let when = time_of(timestamp.as_deref())
            .or_else(|| time_of(str_of(st, "last_updated")))
            .or(doc_time);

        let products = st.get("products").and_then(Value::as_array);
        let mut targets: Vec<(ComponentRef, String)> = Vec::new();
        for (k, p) in products.into_iter().flatten().enumerate() {
            let pat = format!("{at}/products/{k}");
            let subs = p
                .get("subcomponents")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty());
            match subs {
                Some(subs) => {
                    if !warned_product {
                        warned_product = true;
                        w.warn(
                            &pat,
                            "a product with subcomponents is read as the release this VEX is for; the statement is about its subcomponents",
                        );
                    }
                    for (m, s) in subs.iter().enumerate() {
                        let sat = format!("{pat}/subcomponents/{m}");
                        match named(s) {
                            Some(t) => targets.push((t, sat)),
                            None => w.warn(sat, "names no component (no @id or purl); skipped"),
                        }
                    }
                }
                None => match named(p) {
                    Some(t) => targets.push((t, pat)),
                    None if has_hashes(p) => {
                        if !warned_product {
                            warned_product = true;
                            w.warn(
                                &pat,
                                "a product named only by hashes is read as the release this VEX is for",
                            );
                        }
                        targets.push((
                            ComponentRef {
                                purl: None,
                                reference: Some("release:hashes".into()),
                            },
                            pat,
                        ));
                    }
                    None => w.warn(pat, "names no product (no @id, purl or hashes); skipped"),
                },
            }
        }
        if targets.is_empty() {
            w.warn(
                format!("{at}/products"),
                "the statement names no product; skipped",
            );
        }
        for (component, where_) in targets {
            out.push((
                Finding {
                    id: name.to_owned(),
                    aliases: aliases.clone(),
                    source: None,
                    component,
                    reachability: None,
                    state,
                    justification,
                    cyclonedx_justification: None,
                    response: Vec::new(),
                    impact: impact.clone(),
                    action: action.clone(),
                    fixed_in: None,
                    detail: detail.clone(),
                    ratings: Vec::new(),
                    timestamp: timestamp.clone(),
                },
                where_,
                when,
            ));
        }
    }
    for (k, at) in unknown {
        w.warn(
            at,
            format!("{k:?} is not an OpenVEX 0.2.0 statement member; ignored"),
        );
    }
    // History: the latest statement about a vulnerability and component wins.
    let mut latest: BTreeMap<(String, Option<String>, Option<String>), usize> = BTreeMap::new();
    let mut keep = vec![true; out.len()];
    for (i, (f, _, when)) in out.iter().enumerate() {
        let key = (
            f.id.clone(),
            f.component.purl.clone(),
            f.component.reference.clone(),
        );
        if let Some(prev) = latest.get(&key).copied() {
            let newer = match (out[prev].2, *when) {
                (Some(a), Some(b)) => b >= a,
                _ => true,
            };
            let (old, new) = if newer { (prev, i) } else { (i, prev) };
            keep[old] = false;
            w.warn(
                out[old].1.clone(),
                format!(
                    "{} is stated again for this product at {}; the later statement is kept",
                    f.id, out[new].1
                ),
            );
            latest.insert(key, new);
        } else {
            latest.insert(key, i);
        }
    }
    Ok(kept(out, &keep))
}

fn has_hashes(p: &Value) -> bool {
    p.get("hashes")
        .and_then(Value::as_object)
        .is_some_and(|h| !h.is_empty())
}

/// A component by purl (`@id` or `identifiers.purl`), else by its `@id`.
fn named(p: &Value) -> Option<ComponentRef> {
    let id = str_of(p, "@id").map(str::trim).filter(|s| !s.is_empty());
    let purl = id.filter(|i| check::purl(i).is_ok()).or_else(|| {
        p.get("identifiers")
            .and_then(|i| str_of(i, "purl"))
            .map(str::trim)
            .filter(|i| check::purl(i).is_ok())
    });
    if let Some(purl) = purl {
        return Some(ComponentRef {
            purl: Some(purl.to_owned()),
            reference: None,
        });
    }
    // Our own OpenVEX names the release's artefacts `<base>#artefact/<name>`
    // and gives their hashes: those are the release.
    if has_hashes(p) {
        return None;
    }
    id.map(|i| ComponentRef {
        purl: None,
        reference: Some(i.to_owned()),
    })
}
