//! CycloneDX VEX: the `vulnerabilities[]` entries (CycloneDX 1.6 §
//! vulnerability), inline in the exports or in a standalone VEX BOM whose
//! `affects[].ref` are BOM-Links (`urn:cdx:<serial>/<version>#<bom-ref>`,
//! the bom-ref percent-encoded as cyclonedx-python-lib's `BomRef` link
//! does) into the release's CycloneDX export.

use serde::Serialize;

use super::{ids::is_cve, ids::pct_encode, resolve, State, Statement, Target, VexMeta};
use crate::export::{date_time, pretty_json, View};

#[derive(Debug, Serialize)]
pub(crate) struct CdxVulnerability {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<CdxSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<CdxReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<CdxRating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    pub analysis: CdxAnalysis,
    pub affects: Vec<CdxAffect>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<CdxProperty>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxReference {
    pub id: String,
    pub source: CdxSource,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxRating {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<CdxSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxAnalysis {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxAffect {
    #[serde(rename = "ref")]
    pub r#ref: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct CdxProperty {
    pub name: &'static str,
    pub value: String,
}

/// Where an alias is published, for `references[].source` (required by
/// the schema): the canonical advisory page for CVE and GHSA ids, the
/// database prefix for the others.
fn alias_source(id: &str) -> CdxSource {
    if is_cve(id) {
        CdxSource {
            name: Some("NVD".into()),
            url: Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
        }
    } else if id.starts_with("GHSA-") {
        CdxSource {
            name: Some("GitHub Advisories".into()),
            url: Some(format!("https://github.com/advisories/{id}")),
        }
    } else {
        CdxSource {
            name: Some(id.split('-').next().unwrap_or(id).to_owned()),
            url: None,
        }
    }
}

/// One statement as a CycloneDX vulnerability that affects `target`.
pub(crate) fn vulnerability(s: &Statement, target: String) -> CdxVulnerability {
    let not_affected = matches!(s.state, State::NotAffected | State::FalsePositive);
    let detail = if not_affected {
        let parts: Vec<&str> = [s.impact.as_deref(), s.detail.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    } else {
        s.detail.clone()
    };
    let justification = s.justification.filter(|_| not_affected);
    let mut properties = Vec::new();
    let mut prop = |name: &'static str, value: &str| {
        properties.push(CdxProperty {
            name,
            value: value.to_owned(),
        })
    };
    if let Some(j) = justification {
        prop("evident:justification", j.name());
        if s.justification_derived {
            prop("evident:justification-derived", "true");
        }
    }
    if let Some(v) = &s.fixed_in {
        prop("evident:fixed-in", v);
    }
    if let Some(r) = &s.reachability {
        prop("evident:reachability", r.verdict.name());
        for e in &r.entry_points {
            prop("evident:entry-point", e);
        }
        if let Some(p) = &r.call_path {
            prop("evident:call-path", p);
        }
        if let Some(t) = &r.analyzer {
            prop("evident:analyzer", &t.name);
            if let Some(v) = &t.version {
                prop("evident:analyzer-version", v);
            }
        }
    }
    CdxVulnerability {
        id: s.vulnerability.clone(),
        source: s.source.as_ref().map(|x| CdxSource {
            name: Some(x.name.clone()),
            url: x.url.clone(),
        }),
        references: s
            .aliases
            .iter()
            .map(|a| CdxReference {
                id: a.clone(),
                source: alias_source(a),
            })
            .collect(),
        ratings: s
            .ratings
            .iter()
            .map(|r| CdxRating {
                source: r.source.as_ref().map(|n| CdxSource {
                    name: Some(n.clone()),
                    url: None,
                }),
                score: r.score,
                severity: r.severity.map(|x| x.name()),
                method: r.method.clone(),
                vector: r.vector.clone(),
            })
            .collect(),
        recommendation: s.action.clone(),
        analysis: CdxAnalysis {
            state: s.state.cyclonedx(),
            justification: justification.map(|j| {
                s.cyclonedx_justification
                    .clone()
                    .unwrap_or_else(|| j.cyclonedx().to_owned())
            }),
            response: s.response.clone(),
            detail,
        },
        affects: vec![CdxAffect { r#ref: target }],
        properties,
    }
}

/// The statements as vulnerabilities of the export itself: `affects[].ref`
/// is the component's bom-ref in the same document. Statements about
/// components the model lacks have nothing to point at and are left out.
pub(crate) fn inline_vulnerabilities(
    view: &View,
    statements: &[Statement],
) -> Vec<CdxVulnerability> {
    if statements.is_empty() {
        return Vec::new();
    }
    let sp = view.subject_at.and_then(|k| view.items[k].purl.as_deref());
    let mut sorted: Vec<&Statement> = statements.iter().collect();
    sorted.sort_by(|a, b| resolve::order(a, b, sp));
    sorted
        .into_iter()
        .filter_map(|s| {
            let r = match super::target(s, view)? {
                Target::Item(k) => view.bom_refs[k].clone(),
                Target::Product => view.product_ref(),
                Target::Missing(_) => return None,
            };
            Some(vulnerability(s, r))
        })
        .collect()
}

#[derive(Serialize)]
struct VexBom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    vulnerabilities: Vec<CdxVulnerability>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools<'a>,
    supplier: Supplier<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: [Tool<'a>; 1],
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Supplier<'a> {
    name: &'a str,
}

/// The standalone CycloneDX VEX: a 1.6 BOM with only `vulnerabilities[]`
/// whose `affects[].ref` are BOM-Links into the release's CycloneDX export
/// (serial `release.serial_number()`, version 1). Its own serial is a UUID
/// v5 of the release (so every VEX version of a release revision shares
/// it) and its BOM `version` is the VEX version, as CycloneDX versions a
/// BOM. Statements about components the model lacks are left out: the
/// export has nothing to link to (OpenVEX and CSAF carry them by purl).
pub(crate) fn write_standalone(sorted: &[&Statement], view: &View, meta: &VexMeta) -> Vec<u8> {
    let export = view.release.uuid().hyphenated().to_string();
    let link = |bom_ref: &str| format!("urn:cdx:{export}/1#{}", pct_encode(bom_ref, b"/"));
    let vulnerabilities = sorted
        .iter()
        .filter_map(|s| {
            let r = match super::target(s, view)? {
                Target::Item(k) => link(&view.bom_refs[k]),
                Target::Product => link(&view.product_ref()),
                Target::Missing(_) => return None,
            };
            Some(vulnerability(s, r))
        })
        .collect();
    let serial = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("evident:vex:{}", view.release.uuid()).as_bytes(),
    );
    let author = meta.author.trim();
    pretty_json(
        &VexBom {
            schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: format!("urn:uuid:{serial}"),
            version: meta.version.max(1),
            metadata: Metadata {
                timestamp: date_time(meta.published_at),
                tools: Tools {
                    components: [Tool {
                        kind: "application",
                        name: "evident",
                        version: &view.release.tool_version,
                    }],
                },
                supplier: Supplier {
                    name: if author.is_empty() {
                        &view.release.tenant
                    } else {
                        author
                    },
                },
            },
            vulnerabilities,
        },
        1200 * sorted.len() + 1024,
    )
}
