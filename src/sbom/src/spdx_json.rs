//! SPDX 2.2 and 2.3, read from the JSON shape. The tag-value reader turns
//! tag-value into this shape first (with each package's line number kept in
//! `__line`), so both encodings share one interpretation.

use serde_json::Value;

use crate::{
    actor,
    build::{add_hash, purl, RawComponent, RawDoc, KINDS},
    license,
    model::{Component, SourceFormat},
    SbomError,
};

pub(crate) const VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

/// Relationship types read as "A depends on B", and the reversed ones.
const DEPENDS: &[&str] = &["DEPENDS_ON"];
const DEPENDENCY_OF: &[&str] = &[
    "DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF",
    "DEV_DEPENDENCY_OF",
    "BUILD_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
];

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn arr<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a [Value], SbomError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(SbomError::invalid(
            format!("{at}/{key}"),
            "must be an array",
        )),
    }
}

/// Where an element is: its tag-value line if it came from tag-value.
fn place(v: &Value, pointer: String) -> String {
    match v.get("__line").and_then(Value::as_u64) {
        Some(l) => format!("line {l}"),
        None => pointer,
    }
}

pub(crate) fn read(v: &Value) -> Result<RawDoc, SbomError> {
    read_as(v, SourceFormat::SpdxJson)
}

pub(crate) fn read_as(v: &Value, format: SourceFormat) -> Result<RawDoc, SbomError> {
    let version = s(v, "spdxVersion").unwrap_or_default();
    if !VERSIONS.contains(&version) {
        return Err(SbomError::invalid(
            place(&v["__versionLine"], "/spdxVersion".into()),
            format!(
                "{version:?} is not a version we read; we read {}",
                VERSIONS.join(", ")
            ),
        ));
    }
    let mut raw = RawDoc::new(format, version.to_owned());
    raw.document.name = s(v, "name").map(str::to_owned);
    raw.document.namespace = s(v, "documentNamespace").map(str::to_owned);
    if raw.document.namespace.is_none() {
        raw.warn("/documentNamespace", "is missing; SPDX requires one");
    }
    let ci = v.get("creationInfo").unwrap_or(&Value::Null);
    raw.document.created = s(ci, "created").map(str::to_owned);
    raw.document.tools = arr(ci, "creators", "/creationInfo")?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let doc_id = s(v, "SPDXID").unwrap_or("SPDXRef-DOCUMENT").to_owned();

    let mut described: Vec<String> = arr(v, "documentDescribes", "")?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let mut other_rel = std::collections::BTreeMap::<String, usize>::new();
    for (i, r) in arr(v, "relationships", "")?.iter().enumerate() {
        let at = place(r, format!("/relationships/{i}"));
        let (Some(a), Some(ty), Some(b)) = (
            s(r, "spdxElementId"),
            s(r, "relationshipType"),
            s(r, "relatedSpdxElement"),
        ) else {
            return Err(SbomError::invalid(
                at,
                "a relationship needs spdxElementId, relationshipType and relatedSpdxElement",
            ));
        };
        if b == "NOASSERTION" || b == "NONE" {
            continue;
        }
        if ty == "DESCRIBES" && a == doc_id {
            described.push(b.to_owned());
        } else if ty == "DESCRIBED_BY" && b == doc_id {
            described.push(a.to_owned());
        } else if DEPENDS.contains(&ty) {
            raw.edges.push((a.to_owned(), b.to_owned(), at));
        } else if DEPENDENCY_OF.contains(&ty) {
            raw.edges.push((b.to_owned(), a.to_owned(), at));
        } else {
            *other_rel.entry(ty.to_owned()).or_default() += 1;
        }
    }
    if !other_rel.is_empty() {
        let list: Vec<String> = other_rel.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        raw.warn(
            "/relationships",
            format!(
                "relationships that are not dependencies are not carried: {}",
                list.join(", ")
            ),
        );
    }
    described.dedup();
    if described.is_empty() {
        return Err(SbomError::invalid(
            "/relationships",
            "the document does not say what it describes (no DESCRIBES relationship and no documentDescribes); it may be incomplete or truncated",
        ));
    }

    let packages = arr(v, "packages", "")?;
    let mut subject_found = false;
    for (i, p) in packages.iter().enumerate() {
        let at = place(p, format!("/packages/{i}"));
        let rc = package(&mut raw, p, &at)?;
        if !subject_found && rc.refid.as_deref() == Some(described[0].as_str()) {
            subject_found = true;
            raw.subject = Some(rc);
        } else {
            raw.components.push(rc);
        }
    }
    if !subject_found {
        raw.warn(
            "/relationships",
            format!(
                "the document describes {:?}, which is not a package; it has no subject component",
                described[0]
            ),
        );
    } else if described.len() > 1 {
        // The subject stands for the first; the others hang below it.
        for d in &described[1..] {
            raw.edges
                .push((described[0].clone(), d.clone(), "/relationships".into()));
        }
        raw.warn(
            "/relationships",
            format!(
                "the document describes {} elements; {:?} is read as the subject and the others as its dependencies",
                described.len(),
                described[0]
            ),
        );
    }
    let files = arr(v, "files", "")?.len() + arr(v, "snippets", "")?.len();
    if files > 0 {
        raw.warn("/files", format!("{files} file and snippet entries are not part of the component inventory; not carried"));
    }
    Ok(raw)
}

fn package(raw: &mut RawDoc, p: &Value, at: &str) -> Result<RawComponent, SbomError> {
    let ptr = |k: &str| {
        if at.starts_with("line") {
            at.to_owned()
        } else {
            format!("{at}/{k}")
        }
    };
    let id = s(p, "SPDXID")
        .ok_or_else(|| SbomError::invalid(ptr("SPDXID"), "a package must have an SPDXID"))?;
    let name = s(p, "name")
        .ok_or_else(|| SbomError::invalid(ptr("name"), "a package must have a name"))?;
    let kind = match s(p, "primaryPackagePurpose") {
        None => "library".to_owned(),
        Some(purpose) => match KINDS
            .iter()
            .find(|(_, sp)| *sp == purpose.replace('_', "-"))
        {
            Some((cdx, _)) => (*cdx).to_owned(),
            None => {
                raw.warn(
                    ptr("primaryPackagePurpose"),
                    format!("{purpose} has no CycloneDX component type; read as library"),
                );
                "library".to_owned()
            }
        },
    };
    let supplier = s(p, "supplier").and_then(|sup| actor::read_spdx(raw, &ptr("supplier"), sup));
    let mut c = Component {
        name: name.to_owned(),
        version: s(p, "versionInfo").map(str::to_owned),
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
    for (j, h) in arr(p, "checksums", at)?.iter().enumerate() {
        let hat = if at.starts_with("line") {
            at.to_owned()
        } else {
            format!("{at}/checksums/{j}")
        };
        let (Some(alg), Some(val)) = (s(h, "algorithm"), s(h, "checksumValue")) else {
            raw.warn(hat, "a checksum needs algorithm and checksumValue; dropped");
            continue;
        };
        add_hash(raw, &mut c, &hat, alg, val);
    }
    for (j, r) in arr(p, "externalRefs", at)?.iter().enumerate() {
        if s(r, "referenceType") == Some("purl") {
            if let Some(loc) = s(r, "referenceLocator") {
                let rat = if at.starts_with("line") {
                    at.to_owned()
                } else {
                    format!("{at}/externalRefs/{j}")
                };
                if c.purl.is_none() {
                    c.purl = purl(raw, &rat, loc);
                }
            }
        }
    }
    for (key, slot) in [("licenseDeclared", 0), ("licenseConcluded", 1)] {
        if let Some(val) = s(p, key) {
            let (lic, warning) = license::from_spdx_field(val);
            if let Some(w) = warning {
                raw.warn(ptr(key), w);
            }
            if slot == 0 {
                c.declared = lic;
            } else {
                c.concluded = lic;
            }
        }
    }
    Ok(RawComponent {
        refid: Some(id.to_owned()),
        at: at.to_owned(),
        c,
    })
}
