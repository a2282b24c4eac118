//! Format detection, the native findings reader, and the checks every
//! input's findings pass at the end, whatever format they came from.

use serde::Deserialize;
use serde_json::Value;

use super::{
    cdx_in, csaf_in,
    ids::{http_url, rfc3339, vulnerability_id},
    invalid, openvex_in, Finding, Findings, Justification, State, Tool, Verdict, VexSource, Warns,
    METHODS, RESPONSES,
};
use crate::{build::clean, check, ptr_token, SbomError, Warning};

/// Reads a VEX input document: the native findings JSON, CycloneDX VEX
/// 1.4–1.7 (JSON or XML), OpenVEX 0.2.0 or CSAF 2.0 VEX (see the module
/// docs). Returns what the document was, its findings, and what was
/// tolerated, each with a JSON pointer (or XML position) into the input.
pub fn read(bytes: &[u8]) -> Result<(VexSource, Findings, Vec<Warning>), SbomError> {
    let text = crate::utf8_text(bytes)?;
    let start = text.trim_start();
    let mut w = Warns::default();
    let (source, findings, origins) = if start.starts_with('<') {
        let (f, o) = cdx_in::read_xml(text, &mut w)?;
        (VexSource::CycloneDx, f, o)
    } else if start.starts_with('{') || start.starts_with('[') {
        let v = crate::parse_json(text)?;
        if !v.is_object() {
            return Err(SbomError::Unrecognised(
                "JSON, but not an object: a VEX document is a JSON object".into(),
            ));
        }
        if v.get("bomFormat").is_some() || v.get("specVersion").is_some() {
            let (f, o) = cdx_in::read_json(&v, &mut w)?;
            (VexSource::CycloneDx, f, o)
        } else if v.get("@context").is_some() {
            let (f, o) = openvex_in::read(&v, &mut w)?;
            (VexSource::OpenVex, f, o)
        } else if v
            .get("document")
            .is_some_and(|d| d.get("csaf_version").is_some())
        {
            let (f, o) = csaf_in::read(&v, &mut w)?;
            (VexSource::Csaf, f, o)
        } else if v.get("findings").is_some() {
            let (f, o) = native(&v)?;
            (VexSource::Findings, f, o)
        } else if v.get("spdxVersion").is_some() {
            return Err(SbomError::Unrecognised(
                "this is an SPDX document; SPDX 2.3 has no VEX: send findings, CycloneDX VEX, OpenVEX or CSAF VEX".into(),
            ));
        } else {
            return Err(SbomError::Unrecognised(
                "JSON, but not a VEX document: findings have `findings`, CycloneDX `bomFormat`, OpenVEX `@context`, CSAF `document.csaf_version`".into(),
            ));
        }
    } else {
        return Err(SbomError::Unrecognised(
            "not a VEX document: expected JSON (findings, CycloneDX, OpenVEX, CSAF) or CycloneDX XML".into(),
        ));
    };
    let findings = finish(findings, &origins, source, &mut w)?;
    Ok((source, findings, w.0))
}

/// The native findings: typed by serde, with the enum fields checked first
/// so their errors point at the field.
fn native(v: &Value) -> Result<(Findings, Vec<String>), SbomError> {
    let o = v.as_object().expect("checked by the caller");
    if let Some(k) = o.keys().find(|k| *k != "findings" && *k != "analyzer") {
        return Err(invalid(
            format!("/{}", ptr_token(k)),
            "is not a member of a findings document (findings, analyzer)",
        ));
    }
    let analyzer = match o.get("analyzer") {
        None | Some(Value::Null) => None,
        Some(a) => Some(Tool::deserialize(a).map_err(|e| invalid("/analyzer", e.to_string()))?),
    };
    let Some(list) = o.get("findings").and_then(Value::as_array) else {
        return Err(invalid("/findings", "must be an array"));
    };
    let mut findings = Vec::with_capacity(list.len());
    let mut origins = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let at = format!("/findings/{i}");
        let enum_field = |key: &str, ok: &dyn Fn(&str) -> bool, what: &str| match f.get(key) {
            Some(Value::String(s)) if !ok(s) => Err(invalid(
                format!("{at}/{key}"),
                format!("{s:?} is not {what}"),
            )),
            _ => Ok(()),
        };
        enum_field(
            "state",
            &|s| {
                [
                    "not_affected",
                    "affected",
                    "fixed",
                    "under_investigation",
                    "false_positive",
                ]
                .contains(&s)
            },
            "a state (not_affected, affected, fixed, under_investigation, false_positive)",
        )?;
        enum_field(
            "justification",
            &|s| Justification::parse(s).is_some(),
            "a justification (component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist)",
        )?;
        let finding = Finding::deserialize(f).map_err(|e| invalid(&at, e.to_string()))?;
        findings.push(finding);
        origins.push(at);
    }
    Ok((Findings { analyzer, findings }, origins))
}

/// A trimmed, non-empty text, or nothing.
pub(super) fn text(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The checks every finding passes, and the repairs that keep its meaning:
/// blanks trimmed, empty texts dropped, duplicate aliases and responses
/// dropped, characters no output can carry replaced.
fn finish(
    mut doc: Findings,
    origins: &[String],
    source: VexSource,
    w: &mut Warns,
) -> Result<Findings, SbomError> {
    let mut cleaned = Vec::new();
    if let Some(t) = &mut doc.analyzer {
        tool(t, "/analyzer")?;
    }
    for (i, f) in doc.findings.iter_mut().enumerate() {
        let at = origins
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("/findings/{i}"));
        let mut dirty = false;
        f.id = f.id.trim().to_owned();
        vulnerability_id(&f.id).map_err(|m| invalid(format!("{at}/id"), m))?;
        let mut aliases: Vec<String> = Vec::new();
        for (j, a) in f.aliases.iter().enumerate() {
            let a = a.trim();
            vulnerability_id(a).map_err(|m| invalid(format!("{at}/aliases/{j}"), m))?;
            if a != f.id && !aliases.iter().any(|x| x == a) {
                aliases.push(a.to_owned());
            }
        }
        f.aliases = aliases;
        if let Some(s) = &mut f.source {
            s.name = s.name.trim().to_owned();
            if s.name.is_empty() {
                return Err(invalid(format!("{at}/source/name"), "must not be empty"));
            }
            dirty |= clean(&mut s.name);
            s.url = text(s.url.as_deref());
            if let Some(u) = &s.url {
                http_url(u).map_err(|m| invalid(format!("{at}/source/url"), m))?;
            }
        }
        let c = &mut f.component;
        c.purl = text(c.purl.as_deref());
        c.reference = text(c.reference.as_deref());
        match (&c.purl, &c.reference) {
            (Some(p), None) => {
                check::purl(p).map_err(|m| invalid(format!("{at}/component/purl"), m))?
            }
            (None, Some(r)) => {
                if r.contains(['\n', '\r']) || r.chars().any(char::is_control) {
                    return Err(invalid(
                        format!("{at}/component/ref"),
                        "a ref is one line without control characters",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    format!("{at}/component"),
                    "must have exactly one of purl and ref",
                ))
            }
        }
        if let Some(r) = &mut f.reachability {
            let mut eps = Vec::new();
            for e in &r.entry_points {
                if let Some(mut e) = text(Some(e)) {
                    dirty |= clean(&mut e);
                    if !eps.contains(&e) {
                        eps.push(e);
                    }
                }
            }
            r.entry_points = eps;
            r.call_path = text(r.call_path.as_deref());
            if let Some(p) = &mut r.call_path {
                dirty |= clean(p);
            }
            if let Some(t) = &mut r.analyzer {
                tool(t, &format!("{at}/reachability/analyzer"))?;
            }
        }
        if let Some(cj) = &f.cyclonedx_justification {
            let Some(j) = Justification::from_cyclonedx(cj) else {
                return Err(invalid(
                    format!("{at}/cyclonedx_justification"),
                    format!("{cj:?} is not a CycloneDX justification"),
                ));
            };
            match f.justification {
                None => f.justification = Some(j),
                // Consistent when either direction of the mapping agrees
                // (component_not_present is written code_not_present).
                Some(given) if given != j && given.cyclonedx() != cj => {
                    return Err(invalid(
                        format!("{at}/cyclonedx_justification"),
                        format!(
                            "{cj:?} does not mean {}; which one holds is not clear",
                            given.name()
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        let mut response: Vec<String> = Vec::new();
        for (j, r) in f.response.iter().enumerate() {
            if !RESPONSES.contains(&r.as_str()) {
                return Err(invalid(
                    format!("{at}/response/{j}"),
                    format!(
                        "{r:?} is not a CycloneDX response ({})",
                        RESPONSES.join(", ")
                    ),
                ));
            }
            if !response.contains(r) {
                response.push(r.clone());
            }
        }
        f.response = response;
        for field in [&mut f.impact, &mut f.action, &mut f.detail, &mut f.fixed_in] {
            *field = text(field.as_deref());
            if let Some(s) = field {
                dirty |= clean(s);
            }
        }
        if let Some(v) = &mut f.fixed_in {
            // A version is one line.
            *v = crate::text::single_line(v).into_owned();
        }
        for (j, r) in f.ratings.iter_mut().enumerate() {
            r.source = text(r.source.as_deref());
            r.vector = text(r.vector.as_deref());
            for s in [&mut r.source, &mut r.vector].into_iter().flatten() {
                dirty |= clean(s);
            }
            if let Some(m) = &r.method {
                if !METHODS.contains(&m.as_str()) {
                    return Err(invalid(
                        format!("{at}/ratings/{j}/method"),
                        format!("{m:?} is not a rating method ({})", METHODS.join(", ")),
                    ));
                }
            }
            if r.score.is_some_and(|s| !s.is_finite()) {
                return Err(invalid(
                    format!("{at}/ratings/{j}/score"),
                    "must be a number",
                ));
            }
        }
        f.timestamp = text(f.timestamp.as_deref());
        if let Some(t) = &f.timestamp {
            rfc3339(t).map_err(|m| invalid(format!("{at}/timestamp"), m))?;
        }
        // Reachable code cannot be "not in the execute path".
        if f.reachability.as_ref().map(|r| r.verdict) == Some(Verdict::Reachable)
            && f.justification == Some(Justification::VulnerableCodeNotInExecutePath)
            && matches!(f.state, State::NotAffected | State::FalsePositive)
        {
            return Err(invalid(
                format!("{at}/justification"),
                "vulnerable_code_not_in_execute_path contradicts the reachability verdict reachable",
            ));
        }
        if dirty {
            cleaned.push(at);
        }
    }
    if let Some(first) = cleaned.first() {
        w.warn(
            first.clone(),
            format!(
                "{} finding(s) had control characters in their text; replaced with U+FFFD",
                cleaned.len()
            ),
        );
    }
    if doc.findings.is_empty() {
        w.warn(
            "",
            format!("the {} document states nothing", source.label()),
        );
    }
    Ok(doc)
}

fn tool(t: &mut Tool, at: &str) -> Result<(), SbomError> {
    t.name = t.name.trim().to_owned();
    if t.name.is_empty() {
        return Err(invalid(format!("{at}/name"), "must not be empty"));
    }
    clean(&mut t.name);
    t.version = text(t.version.as_deref());
    if let Some(v) = &mut t.version {
        clean(v);
    }
    Ok(())
}
