//! CycloneDX VEX 1.4–1.7, from the JSON shape (XML is turned into it by
//! the crate's one CycloneDX XML converter, with DTDs refused).
//!
//! A vulnerability's `analysis` is the claim and its `affects[].ref` the
//! component: a bom-ref of this document (read as the component's purl, or
//! as the release when it is the document's own `metadata.component`
//! without a purl), a BOM-Link `urn:cdx:<serial>/<version>#<bom-ref>` (the
//! fragment percent-decoded, then read the same way), or a purl.
//! `affects[].versions` are not evaluated against the release: the claim is
//! read as applying, with a warning; and entries that disagree about one
//! component and are told apart only by such versions are left out.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{
    arr_of,
    ids::{http_url, pct_decode, vulnerability_id},
    invalid, kept,
    read::text,
    str_of, ComponentRef, Finding, Findings, Justification, Rating, Reachability, Severity, Source,
    State, Tool, Verdict, Warns, METHODS, RESPONSES,
};
use crate::{cdx_xml, check, ptr_token, SbomError};

/// Spec versions with `vulnerabilities`.
const VERSIONS: &[&str] = &["1.4", "1.5", "1.6", "1.7"];

pub(super) fn read_json(v: &Value, w: &mut Warns) -> Result<(Findings, Vec<String>), SbomError> {
    read_doc(v, false, w)
}

pub(super) fn read_xml(text: &str, w: &mut Warns) -> Result<(Findings, Vec<String>), SbomError> {
    let v = cdx_xml::to_json(text)?;
    read_doc(&v, true, w)
}

/// What a document-local bom-ref names.
struct Local {
    purl: Option<String>,
    /// The document's own `metadata.component`.
    product: bool,
}

fn collect(c: &Value, product: bool, refs: &mut HashMap<String, Local>) {
    if let Some(r) = str_of(c, "bom-ref")
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        let purl = str_of(c, "purl")
            .map(str::trim)
            .filter(|p| check::purl(p).is_ok())
            .map(str::to_owned);
        refs.entry(r.to_owned()).or_insert(Local { purl, product });
    }
    for n in arr_of(c, "components") {
        collect(n, false, refs);
    }
}

fn read_doc(v: &Value, xml: bool, w: &mut Warns) -> Result<(Findings, Vec<String>), SbomError> {
    if !xml {
        match v.get("bomFormat") {
            Some(Value::String(s)) if s == "CycloneDX" => {}
            Some(other) => {
                return Err(invalid(
                    "/bomFormat",
                    format!("must be \"CycloneDX\", not {other}"),
                ))
            }
            None => {
                return Err(invalid(
                    "/bomFormat",
                    "is missing; it must be \"CycloneDX\"",
                ))
            }
        }
    }
    let spec = match v.get("specVersion") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(invalid("/specVersion", "is missing or not a string")),
    };
    if !VERSIONS.contains(&spec.as_str()) {
        return Err(invalid(
            "/specVersion",
            format!(
                "CycloneDX {spec} is not a VEX version we read; VEX (vulnerabilities with analysis) needs CycloneDX {}",
                VERSIONS.join(", ")
            ),
        ));
    }
    let Some(vulns) = v.get("vulnerabilities") else {
        return Err(invalid(
            "/vulnerabilities",
            "is missing: this is an SBOM, not VEX (VEX is vulnerabilities[] with an analysis)",
        ));
    };
    let Some(vulns) = vulns.as_array() else {
        return Err(invalid("/vulnerabilities", "must be an array"));
    };

    let mut refs = HashMap::new();
    let meta = v.get("metadata").unwrap_or(&Value::Null);
    let product_label = meta.get("component").map(|c| {
        let name = str_of(c, "name").unwrap_or("product").trim();
        match str_of(c, "version")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(ver) => format!("{name}@{ver}"),
            None => name.to_owned(),
        }
    });
    if let Some(mc) = meta.get("component") {
        collect(mc, true, &mut refs);
    }
    for c in arr_of(v, "components") {
        collect(c, false, &mut refs);
    }

    let mut out: Vec<(Finding, String, bool)> = Vec::new();
    let mut warned_versions = false;
    let mut warned_product = false;
    for (i, vu) in vulns.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let Some(id) = str_of(vu, "id").map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(invalid(
                format!("{at}/id"),
                "is missing: a vulnerability needs an id",
            ));
        };
        vulnerability_id(id).map_err(|m| invalid(format!("{at}/id"), m))?;
        let source = source_of(vu.get("source"), &format!("{at}/source"), w);
        let mut aliases = Vec::new();
        for (j, r) in arr_of(vu, "references").iter().enumerate() {
            match str_of(r, "id").map(str::trim) {
                Some(a) if vulnerability_id(a).is_ok() => aliases.push(a.to_owned()),
                other => w.warn(
                    format!("{at}/references/{j}/id"),
                    format!("{other:?} is not a vulnerability id; not kept as an alias"),
                ),
            }
        }
        let ratings: Vec<Rating> = arr_of(vu, "ratings")
            .iter()
            .enumerate()
            .map(|(j, r)| rating(r, &format!("{at}/ratings/{j}"), w))
            .collect();

        let an = vu.get("analysis").unwrap_or(&Value::Null);
        let state = match str_of(an, "state") {
            Some(s) => State::from_cyclonedx(s).ok_or_else(|| {
                invalid(
                    format!("{at}/analysis/state"),
                    format!(
                        "{s:?} is not an analysis state; CycloneDX allows resolved, resolved_with_pedigree, exploitable, in_triage, false_positive, not_affected"
                    ),
                )
            })?,
            None => {
                w.warn(
                    format!("{at}/analysis/state"),
                    "no analysis state: read as under_investigation",
                );
                State::UnderInvestigation
            }
        };
        let mut props: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for p in arr_of(vu, "properties") {
            if let (Some(n), Some(val)) = (str_of(p, "name"), str_of(p, "value")) {
                if n.starts_with("evident:") {
                    props.entry(n).or_default().push(val);
                }
            }
        }
        let prop = |k: &str| props.get(k).and_then(|v| v.first()).copied();

        let (mut justification, mut cdx_justification) = (None, None);
        if let Some(j) = str_of(an, "justification") {
            let jat = format!("{at}/analysis/justification");
            if let Some(internal) = Justification::from_cyclonedx(j) {
                // Our own exports say which of the two internal
                // justifications code_not_present stood for.
                justification = Some(
                    prop("evident:justification")
                        .and_then(Justification::parse)
                        .filter(|p| p.cyclonedx() == j)
                        .unwrap_or(internal),
                );
                cdx_justification = Some(j.to_owned());
            } else if let Some(internal) = Justification::parse(j) {
                w.warn(
                    &jat,
                    format!("{j:?} is an OpenVEX justification, not a CycloneDX one; read as the OpenVEX justification"),
                );
                justification = Some(internal);
            } else if matches!(state, State::NotAffected | State::FalsePositive) {
                return Err(invalid(
                    jat,
                    format!(
                        "{j:?} is not a justification (CycloneDX allows code_not_present, code_not_reachable, requires_configuration, requires_dependency, requires_environment, protected_by_compiler, protected_at_runtime, protected_at_perimeter, protected_by_mitigating_control); why the component is not affected is not clear"
                    ),
                ));
            } else {
                w.warn(jat, format!("{j:?} is not a justification; dropped"));
            }
        }
        let mut response = Vec::new();
        for (j, r) in arr_of(an, "response").iter().enumerate() {
            match r.as_str() {
                Some(r) if RESPONSES.contains(&r) => response.push(r.to_owned()),
                _ => w.warn(
                    format!("{at}/analysis/response/{j}"),
                    format!("{r} is not a CycloneDX response; dropped"),
                ),
            }
        }
        let detail_text = text(str_of(an, "detail"));
        let (impact, detail) = match state {
            // CycloneDX has one text: for not_affected it says why.
            State::NotAffected | State::FalsePositive => (detail_text, None),
            _ => (None, detail_text),
        };
        let action = match state {
            State::Affected => {
                text(str_of(vu, "recommendation")).or_else(|| text(str_of(vu, "workaround")))
            }
            _ => None,
        };
        let reachability = prop("evident:reachability").and_then(|verdict| {
            let verdict = match verdict {
                "reachable" => Verdict::Reachable,
                "unreachable" => Verdict::Unreachable,
                "unknown" => Verdict::Unknown,
                _ => return None,
            };
            Some(Reachability {
                verdict,
                entry_points: props
                    .get("evident:entry-point")
                    .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
                    .unwrap_or_default(),
                call_path: prop("evident:call-path").map(str::to_owned),
                analyzer: prop("evident:analyzer").map(|n| Tool {
                    name: n.to_owned(),
                    version: prop("evident:analyzer-version").map(str::to_owned),
                }),
            })
        });
        // A justification our export derived is derived again by resolve.
        if prop("evident:justification-derived") == Some("true")
            && reachability.as_ref().map(|r| r.verdict) == Some(Verdict::Unreachable)
            && justification == Some(Justification::VulnerableCodeNotInExecutePath)
        {
            justification = None;
            cdx_justification = None;
        }
        let affects = arr_of(vu, "affects");
        if affects.is_empty() {
            w.warn(
                format!("{at}/affects"),
                "names no component; the vulnerability was skipped",
            );
            continue;
        }
        for (k, a) in affects.iter().enumerate() {
            let aat = format!("{at}/affects/{k}");
            let Some(r) = str_of(a, "ref").map(str::trim).filter(|s| !s.is_empty()) else {
                return Err(invalid(format!("{aat}/ref"), "is missing"));
            };
            let has_versions = match a.get("versions") {
                Some(Value::Array(vs)) => !vs.is_empty(),
                Some(Value::Null) | None => false,
                Some(_) => true,
            };
            if has_versions && !warned_versions {
                warned_versions = true;
                w.warn(
                    format!("{aat}/versions"),
                    "affects[].versions are not evaluated against the release; the analysis is read as applying to the component",
                );
            }
            let component = target(
                r,
                &refs,
                product_label.as_deref(),
                &aat,
                &mut warned_product,
                w,
            );
            out.push((
                Finding {
                    id: id.to_owned(),
                    aliases: aliases.clone(),
                    source: source.clone(),
                    component,
                    reachability: reachability.clone(),
                    state,
                    justification,
                    cyclonedx_justification: cdx_justification.clone(),
                    response: response.clone(),
                    impact: impact.clone(),
                    action: action.clone(),
                    fixed_in: prop("evident:fixed-in").map(str::to_owned),
                    detail: detail.clone(),
                    ratings: ratings.clone(),
                    timestamp: None,
                },
                aat,
                has_versions,
            ));
        }
    }
    dedupe(out, w)
}

/// Entries about one vulnerability and one component are one claim: equal
/// states keep the first; different states are refused, unless versions
/// (which are not evaluated) tell them apart, in which case none is kept.
fn dedupe(
    out: Vec<(Finding, String, bool)>,
    w: &mut Warns,
) -> Result<(Findings, Vec<String>), SbomError> {
    let key = |f: &Finding| {
        (
            f.id.clone(),
            f.component.purl.clone(),
            f.component.reference.clone(),
        )
    };
    let mut groups: BTreeMap<_, Vec<usize>> = BTreeMap::new();
    for (i, (f, _, _)) in out.iter().enumerate() {
        groups.entry(key(f)).or_default().push(i);
    }
    // In document order, so the same input gives the same messages.
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    let mut keep = vec![true; out.len()];
    for idx in &groups {
        let first = &out[idx[0]];
        let disagree = idx.iter().any(|i| out[*i].0.state != first.0.state);
        if disagree && idx.iter().any(|i| out[*i].2) {
            for i in idx {
                keep[*i] = false;
            }
            w.warn(
                first.1.clone(),
                format!(
                    "{}: {} entries about this component disagree and differ only in affects[].versions, which are not evaluated; none is kept",
                    first.0.id,
                    idx.len()
                ),
            );
        } else if disagree {
            let other = idx
                .iter()
                .find(|i| out[**i].0.state != first.0.state)
                .expect("disagree");
            return Err(invalid(
                out[*other].1.clone(),
                format!(
                    "{} is {} here but {} at {}; which holds is not clear",
                    first.0.id,
                    out[*other].0.state.name(),
                    first.0.state.name(),
                    first.1
                ),
            ));
        } else {
            for i in &idx[1..] {
                keep[*i] = false;
                w.warn(
                    out[*i].1.clone(),
                    format!(
                        "{} is stated again for this component; the first statement is kept",
                        first.0.id
                    ),
                );
            }
        }
    }
    Ok(kept(out, &keep))
}

/// What an `affects[].ref` names.
fn target(
    r: &str,
    refs: &HashMap<String, Local>,
    product: Option<&str>,
    at: &str,
    warned_product: &mut bool,
    w: &mut Warns,
) -> ComponentRef {
    let purl = |p: String| ComponentRef {
        purl: Some(p),
        reference: None,
    };
    let reference = |r: String| ComponentRef {
        purl: None,
        reference: Some(r),
    };
    let local = if let Some(link) = r.strip_prefix("urn:cdx:") {
        match link.split_once('#') {
            Some((_, frag)) if !frag.is_empty() => pct_decode(frag).into_owned(),
            _ => {
                w.warn(
                    format!("{at}/ref"),
                    format!("{r:?} links a whole BOM; read as the release this VEX is for"),
                );
                return reference(format!("release:{}", product.unwrap_or("bom")));
            }
        }
    } else {
        r.to_owned()
    };
    match refs.get(&local) {
        Some(Local { purl: Some(p), .. }) => purl(p.clone()),
        Some(Local {
            purl: None,
            product: true,
        }) => {
            let label = product.unwrap_or("product");
            if !*warned_product {
                *warned_product = true;
                w.warn(
                    format!("{at}/ref"),
                    format!(
                        "{local:?} is the document's own product {label:?}; read as the release this VEX is for"
                    ),
                );
            }
            reference(format!("release:{label}"))
        }
        _ if check::purl(&local).is_ok() => purl(local),
        _ => reference(local),
    }
}

fn source_of(s: Option<&Value>, at: &str, w: &mut Warns) -> Option<Source> {
    let s = s?;
    let url = match text(str_of(s, "url")) {
        Some(u) if http_url(&u).is_ok() => Some(u),
        Some(u) => {
            w.warn(
                format!("{at}/url"),
                format!("{u:?} is not an absolute http(s) URL; dropped"),
            );
            None
        }
        None => None,
    };
    match text(str_of(s, "name")) {
        Some(name) => Some(Source { name, url }),
        None => {
            if url.is_some() {
                w.warn(format!("{at}/name"), "a source without a name; dropped");
            }
            None
        }
    }
}

fn rating(r: &Value, at: &str, w: &mut Warns) -> Rating {
    let severity = match str_of(r, "severity") {
        Some(s) => Severity::parse(s).or_else(|| {
            w.warn(
                format!("{at}/severity"),
                format!("{s:?} is not a severity; dropped"),
            );
            None
        }),
        None => None,
    };
    let method = match str_of(r, "method") {
        Some(m) if METHODS.contains(&m) => Some(m.to_owned()),
        Some(m) => {
            w.warn(
                format!("{at}/method"),
                format!("{m:?} is not a rating method; read as other"),
            );
            Some("other".to_owned())
        }
        None => None,
    };
    let score = match r.get("score") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::Null) | None => None,
        Some(other) => {
            w.warn(
                format!("{at}/{}", ptr_token("score")),
                format!("{other} is not a number; dropped"),
            );
            None
        }
    };
    Rating {
        source: r.get("source").and_then(|s| text(str_of(s, "name"))),
        score,
        severity,
        method,
        vector: text(str_of(r, "vector")),
    }
}
