//! CycloneDX 1.2–1.7, read from the JSON shape. The XML reader converts
//! XML into this shape first, so both encodings share one interpretation.

use serde_json::Value;

use crate::{
    actor,
    build::{add_hash, purl, RawComponent, RawDoc},
    license,
    model::{Component, SourceFormat},
    ptr_token, SbomError,
};

/// Spec versions we read.
pub(crate) const VERSIONS: &[&str] = &["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

/// Component types CycloneDX 1.7 defines.
const TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

const ANALYSIS_STATES: &[&str] = &[
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
];

const JUSTIFICATIONS: &[&str] = &[
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// The property an export uses for a concluded licence that CycloneDX's
/// `licenses` cannot hold next to a declared expression.
pub(crate) const CONCLUDED_PROPERTY: &str = "evident:licenseConcluded";

fn str_at<'a>(v: &'a Value, key: &str, at: &str) -> Result<Option<&'a str>, SbomError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SbomError::invalid(
            format!("{at}/{}", ptr_token(key)),
            "must be a string",
        )),
    }
}

fn arr_at<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a [Value], SbomError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(SbomError::invalid(
            format!("{at}/{}", ptr_token(key)),
            "must be an array",
        )),
    }
}

pub(crate) fn read(v: &Value) -> Result<RawDoc, SbomError> {
    read_as(v, SourceFormat::CyclonedxJson)
}

pub(crate) fn read_as(v: &Value, format: SourceFormat) -> Result<RawDoc, SbomError> {
    if !v.is_object() {
        return Err(SbomError::invalid(
            "",
            "a CycloneDX document must be a JSON object",
        ));
    }
    match str_at(v, "bomFormat", "")? {
        Some("CycloneDX") => {}
        Some(other) => {
            return Err(SbomError::invalid(
                "/bomFormat",
                format!("must be \"CycloneDX\", not {other:?}"),
            ))
        }
        None if format == SourceFormat::CyclonedxJson => {
            return Err(SbomError::invalid(
                "/bomFormat",
                "is missing; it must be \"CycloneDX\"",
            ))
        }
        None => {}
    }
    let spec = match v.get("specVersion") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(SbomError::invalid(
                "/specVersion",
                "is missing or not a string",
            ))
        }
    };
    if !VERSIONS.contains(&spec.as_str()) {
        return Err(SbomError::invalid(
            "/specVersion",
            format!(
                "CycloneDX {spec} is not a version we read; we read {}",
                VERSIONS.join(", ")
            ),
        ));
    }
    // A document whose $schema names another version contradicts itself.
    if let Some(schema) = str_at(v, "$schema", "")? {
        if let Some(named) = schema
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_prefix("bom-"))
            .and_then(|f| f.strip_suffix(".schema.json"))
        {
            if named != spec {
                return Err(SbomError::invalid(
                    "/$schema",
                    format!(
                        "names the CycloneDX {named} schema, but specVersion says {spec}; which one the document follows is not clear"
                    ),
                ));
            }
        }
    }
    let mut raw = RawDoc::new(format, spec.clone());
    if let Some(Value::Number(_)) = v.get("specVersion") {
        raw.warn("/specVersion", "is a number; the spec requires a string");
    }
    raw.document.serial_number = str_at(v, "serialNumber", "")?.map(str::to_owned);
    raw.document.bom_version = v.get("version").and_then(Value::as_u64);

    let meta = v.get("metadata").unwrap_or(&Value::Null);
    raw.document.created = str_at(meta, "timestamp", "/metadata")?.map(str::to_owned);
    let tools = match meta.get("tools") {
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(Value::Object(o)) => o
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                o.get("services")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .collect(),
        _ => Vec::new(),
    };
    for t in tools {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("unknown");
        raw.document
            .tools
            .push(match t.get("version").and_then(Value::as_str) {
                Some(ver) => format!("{name} {ver}"),
                None => name.to_owned(),
            });
    }

    if let Some(mc) = meta.get("component").filter(|c| !c.is_null()) {
        let mut out = Vec::new();
        let subject = component(&mut raw, mc, "/metadata/component", &mut out)?;
        raw.subject = Some(subject);
        raw.components.extend(out);
    }
    let mut out = Vec::new();
    for (i, c) in arr_at(v, "components", "")?.iter().enumerate() {
        let rc = component(&mut raw, c, &format!("/components/{i}"), &mut out)?;
        out.push(rc);
    }
    raw.components.extend(out);

    for (i, d) in arr_at(v, "dependencies", "")?.iter().enumerate() {
        let at = format!("/dependencies/{i}");
        let Some(from) = str_at(d, "ref", &at)? else {
            return Err(SbomError::invalid(format!("{at}/ref"), "is missing"));
        };
        for (j, t) in arr_at(d, "dependsOn", &at)?.iter().enumerate() {
            let to = match t {
                Value::String(s) => s.as_str(),
                // CycloneDX 1.2 JSON allowed `{"ref": …}` objects here.
                Value::Object(o) => o.get("ref").and_then(Value::as_str).unwrap_or_default(),
                _ => "",
            };
            if to.is_empty() {
                return Err(SbomError::invalid(
                    format!("{at}/dependsOn/{j}"),
                    "must be a bom-ref string",
                ));
            }
            raw.edges.push((
                from.to_owned(),
                to.to_owned(),
                format!("{at}/dependsOn/{j}"),
            ));
        }
    }

    let vulns = arr_at(v, "vulnerabilities", "")?;
    for (i, vu) in vulns.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}/analysis");
        let Some(an) = vu.get("analysis") else {
            continue;
        };
        if let Some(s) = str_at(an, "state", &at)? {
            if !ANALYSIS_STATES.contains(&s) {
                return Err(SbomError::invalid(
                    format!("{at}/state"),
                    format!(
                        "{s:?} is not an analysis state; CycloneDX allows {}",
                        ANALYSIS_STATES.join(", ")
                    ),
                ));
            }
        }
        if let Some(s) = str_at(an, "justification", &at)? {
            // The state is the claim; an unknown justification only weakens
            // its support, so it is reported, not refused.
            if !JUSTIFICATIONS.contains(&s) {
                raw.warn(
                    format!("{at}/justification"),
                    format!(
                        "{s:?} is not a CycloneDX justification (allowed: {})",
                        JUSTIFICATIONS.join(", ")
                    ),
                );
            }
        }
    }
    if !vulns.is_empty() {
        raw.warn(
            "/vulnerabilities",
            format!(
                "{} vulnerability entries were checked but are not part of the inventory; publish VEX for them separately",
                vulns.len()
            ),
        );
    }
    Ok(raw)
}

/// Reads one component; nested components go to `out` (flattened).
fn component(
    raw: &mut RawDoc,
    v: &Value,
    at: &str,
    out: &mut Vec<RawComponent>,
) -> Result<RawComponent, SbomError> {
    if !v.is_object() {
        return Err(SbomError::invalid(at, "a component must be an object"));
    }
    let name = str_at(v, "name", at)?
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| SbomError::invalid(format!("{at}/name"), "a component must have a name"))?;
    let name = match str_at(v, "group", at)?
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        Some(g) => format!("{g}/{name}"),
        None => name.to_owned(),
    };
    let kind = match str_at(v, "type", at)? {
        Some(t) if TYPES.contains(&t) => t.to_owned(),
        Some(t) => {
            raw.warn(
                format!("{at}/type"),
                format!("{t:?} is not a CycloneDX component type; read as library"),
            );
            "library".to_owned()
        }
        None => {
            raw.warn(format!("{at}/type"), "is missing; read as library");
            "library".to_owned()
        }
    };
    let supplier = actor::read_cdx(raw, &format!("{at}/supplier"), v.get("supplier"));
    let mut c = Component {
        name,
        version: str_at(v, "version", at)?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        purl: None,
        kind,
        supplier_kind: supplier.as_ref().map(|a| a.kind),
        supplier_email: supplier.as_ref().and_then(|a| a.email.clone()),
        supplier: supplier.map(|a| a.name),
        hashes: Default::default(),
        declared: None,
        concluded: None,
        depends_on: Vec::new(),
    };
    if let Some(p) = str_at(v, "purl", at)? {
        c.purl = purl(raw, &format!("{at}/purl"), p);
    }
    for (i, h) in arr_at(v, "hashes", at)?.iter().enumerate() {
        let hat = format!("{at}/hashes/{i}");
        let (Some(alg), Some(content)) = (str_at(h, "alg", &hat)?, str_at(h, "content", &hat)?)
        else {
            raw.warn(hat, "a hash needs alg and content; dropped");
            continue;
        };
        add_hash(raw, &mut c, &hat, alg, content);
    }
    let (mut declared, mut concluded) = (Vec::new(), Vec::new());
    for (i, l) in arr_at(v, "licenses", at)?.iter().enumerate() {
        let lat = format!("{at}/licenses/{i}");
        // 1.6+: on the expression entry, or inside the license object.
        let ack = l
            .get("acknowledgement")
            .or_else(|| l.get("license").and_then(|x| x.get("acknowledgement")))
            .and_then(Value::as_str);
        let text = if let Some(e) = str_at(l, "expression", &lat)? {
            Some(e.to_owned())
        } else if let Some(lic) = l.get("license") {
            str_at(lic, "id", &format!("{lat}/license"))?
                .or(str_at(lic, "name", &format!("{lat}/license"))?)
                .map(str::to_owned)
        } else {
            None
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            raw.warn(
                lat,
                "a licence entry needs an id, a name or an expression; dropped",
            );
            continue;
        };
        if license::is_no_statement(&text) {
            raw.warn(lat, format!("{} states no licence; dropped", text.trim()));
            continue;
        }
        if l.get("expression").is_some() && !license::is_spdx(&text) {
            raw.warn(
                &lat,
                format!("{text:?} is not a valid SPDX expression; kept as a licence name"),
            );
        }
        match ack {
            Some("concluded") => concluded.push(text),
            _ => declared.push(text),
        }
    }
    for p in arr_at(v, "properties", at)? {
        if p.get("name").and_then(Value::as_str) == Some(CONCLUDED_PROPERTY) && concluded.is_empty()
        {
            if let Some(val) = p.get("value").and_then(Value::as_str) {
                concluded.push(val.to_owned());
            }
        }
    }
    c.declared = license::combine(declared);
    c.concluded = license::combine(concluded);
    let refid = str_at(v, "bom-ref", at)?.map(str::to_owned);
    for (i, n) in arr_at(v, "components", at)?.iter().enumerate() {
        let nested = component(raw, n, &format!("{at}/components/{i}"), out)?;
        out.push(nested);
    }
    Ok(RawComponent {
        refid,
        at: at.to_owned(),
        c,
    })
}
