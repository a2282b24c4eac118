//! SPDX tag-value: `Tag: value` lines, with `<text>…</text>` for values
//! that span lines. Turned into the SPDX JSON shape (with line numbers) and
//! read by the one SPDX reader.

use serde_json::{json, Map, Value};

use crate::{build::RawDoc, model::SourceFormat, spdx_json, SbomError};

/// True when the text starts like tag-value (after comments and blanks).
pub(crate) fn looks_like(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("SPDXVersion:"))
}

enum Section {
    Document,
    Package(usize),
    /// File, snippet or licence-info sections: read past.
    Other,
}

pub(crate) fn read(text: &str) -> Result<RawDoc, SbomError> {
    let mut doc = Map::new();
    let mut packages: Vec<Map<String, Value>> = Vec::new();
    let mut relationships = Vec::new();
    let mut creators = Vec::new();
    let mut files = 0usize;
    let mut section = Section::Document;

    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = lines[i].trim_end_matches('\r');
        i += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((tag, rest)) = line.split_once(':') else {
            return Err(SbomError::Syntax {
                at: format!("line {lineno}"),
                message: format!("expected `Tag: value`, found {:?}", truncate(trimmed)),
            });
        };
        let tag = tag.trim();
        let mut value = rest.trim().to_owned();
        if let Some(after) = value.strip_prefix("<text>") {
            // A value that may span lines, up to </text>.
            // Each line is searched once, so a long unclosed value stays linear.
            let mut acc = String::new();
            let mut line = after;
            loop {
                if let Some(pos) = line.find("</text>") {
                    acc.push_str(&line[..pos]);
                    break;
                }
                acc.push_str(line);
                let Some(next) = lines.get(i) else {
                    return Err(SbomError::Syntax {
                        at: format!("line {lineno}"),
                        message: format!("the <text> value of {tag} is never closed with </text>; the document may be truncated"),
                    });
                };
                acc.push('\n');
                line = next;
                i += 1;
            }
            value = acc;
        }
        match tag {
            "SPDXVersion" => {
                doc.insert("spdxVersion".into(), json!(value));
                doc.insert("__versionLine".into(), json!({"__line": lineno}));
            }
            "DocumentName" => {
                doc.insert("name".into(), json!(value));
            }
            "DocumentNamespace" => {
                doc.insert("documentNamespace".into(), json!(value));
            }
            "Creator" => creators.push(json!(value)),
            "Created" => {
                doc.insert("__created".into(), json!(value));
            }
            "SPDXID" => match section {
                Section::Document => {
                    doc.insert("SPDXID".into(), json!(value));
                }
                Section::Package(p) => {
                    packages[p].insert("SPDXID".into(), json!(value));
                }
                Section::Other => {}
            },
            "PackageName" => {
                let mut p = Map::new();
                p.insert("name".into(), json!(value));
                p.insert("__line".into(), json!(lineno));
                packages.push(p);
                section = Section::Package(packages.len() - 1);
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => {
                if tag != "LicenseID" {
                    files += 1;
                }
                section = Section::Other;
            }
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [a, ty, b] = parts[..] else {
                    return Err(SbomError::Syntax {
                        at: format!("line {lineno}"),
                        message: format!(
                            "a Relationship must be `<id> <TYPE> <id>`, found {:?}",
                            truncate(&value)
                        ),
                    });
                };
                relationships.push(json!({
                    "spdxElementId": a, "relationshipType": ty, "relatedSpdxElement": b, "__line": lineno
                }));
            }
            _ => {
                if let Section::Package(p) = section {
                    package_field(&mut packages[p], tag, &value, lineno)?;
                }
            }
        }
    }
    let mut ci = Map::new();
    ci.insert("creators".into(), Value::Array(creators));
    if let Some(c) = doc.remove("__created") {
        ci.insert("created".into(), c);
    }
    doc.insert("creationInfo".into(), Value::Object(ci));
    doc.insert(
        "packages".into(),
        Value::Array(packages.into_iter().map(Value::Object).collect()),
    );
    doc.insert("relationships".into(), Value::Array(relationships));
    doc.insert("files".into(), Value::Array(vec![Value::Null; files]));
    if !doc.contains_key("__versionLine") {
        return Err(SbomError::invalid("line 1", "SPDXVersion is missing"));
    }
    spdx_json::read_as(&Value::Object(doc), SourceFormat::SpdxTagValue)
}

fn package_field(
    p: &mut Map<String, Value>,
    tag: &str,
    value: &str,
    lineno: usize,
) -> Result<(), SbomError> {
    match tag {
        "PackageVersion" => {
            p.insert("versionInfo".into(), json!(value));
        }
        "PackageSupplier" => {
            p.insert("supplier".into(), json!(value));
        }
        "PackageLicenseDeclared" => {
            p.insert("licenseDeclared".into(), json!(value));
        }
        "PackageLicenseConcluded" => {
            p.insert("licenseConcluded".into(), json!(value));
        }
        "PrimaryPackagePurpose" => {
            p.insert("primaryPackagePurpose".into(), json!(value));
        }
        "PackageChecksum" => {
            let Some((alg, val)) = value.split_once(':') else {
                return Err(SbomError::Syntax {
                    at: format!("line {lineno}"),
                    message: format!(
                        "a PackageChecksum must be `ALG: value`, found {:?}",
                        truncate(value)
                    ),
                });
            };
            let list = p.entry("checksums").or_insert_with(|| json!([]));
            if let Value::Array(a) = list {
                a.push(
                    json!({"algorithm": alg.trim(), "checksumValue": val.trim(), "__line": lineno}),
                );
            }
        }
        "ExternalRef" => {
            let parts: Vec<&str> = value.split_whitespace().collect();
            if parts.len() < 3 {
                return Err(SbomError::Syntax {
                    at: format!("line {lineno}"),
                    message: format!(
                        "an ExternalRef must be `CATEGORY type locator`, found {:?}",
                        truncate(value)
                    ),
                });
            }
            let list = p.entry("externalRefs").or_insert_with(|| json!([]));
            if let Value::Array(a) = list {
                a.push(json!({
                    "referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]
                }));
            }
        }
        _ => {}
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}
