//! CycloneDX 1.6 JSON.

use serde::Serialize;

use super::{cdx_licenses, pretty_json, CdxLicense, View};
use crate::{actor::supplier_of, cdx::CONCLUDED_PROPERTY, vex::CdxVulnerability};

#[derive(Serialize)]
struct Bom<'a> {
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
    components: Vec<Comp<'a>>,
    dependencies: Vec<Dep<'a>>,
    /// Inline VEX; absent without statements, so the export is unchanged.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vulnerabilities: &'a [CdxVulnerability],
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools,
    component: Comp<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Tool>,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct Comp<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier<'a>>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<Lic<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExtRef<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property<'a>>,
}

/// A BOM-Link to the SBOM that describes a component (aggregates).
#[derive(Serialize)]
struct ExtRef<'a> {
    url: String,
    #[serde(rename = "type")]
    kind: &'static str,
    hashes: Vec<Hash<'a>>,
}

/// An `organizationalEntity`; a person supplier is its own one contact.
#[derive(Serialize)]
struct Supplier<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contact: Vec<Contact<'a>>,
}

#[derive(Serialize)]
struct Contact<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

#[derive(Serialize)]
struct Hash<'a> {
    alg: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Lic<'a> {
    License {
        license: LicBody<'a>,
    },
    Expression {
        expression: &'a str,
        acknowledgement: &'static str,
    },
}

#[derive(Serialize)]
struct LicBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    acknowledgement: &'static str,
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'a str,
    value: String,
}

#[derive(Serialize)]
struct Dep<'a> {
    #[serde(rename = "ref")]
    r: &'a str,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<&'a str>,
}

pub(crate) fn write(v: &View, vulnerabilities: &[CdxVulnerability]) -> Vec<u8> {
    let product_ref = v.product_ref();
    let product = Comp {
        kind: "application",
        bom_ref: product_ref.clone(),
        supplier: None,
        name: &v.product,
        version: Some(&v.product_version),
        hashes: v
            .release
            .artefacts
            .iter()
            .map(|(_, d)| Hash {
                alg: "SHA-256",
                content: d,
            })
            .collect(),
        licenses: Vec::new(),
        purl: None,
        external_references: Vec::new(),
        properties: v
            .release
            .artefacts
            .iter()
            .map(|(n, d)| Property {
                name: "evident:artefact",
                value: format!("{n} sha256:{d}"),
            })
            .collect(),
    };
    let components = v
        .items
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (lics, concluded) = cdx_licenses(c);
            Comp {
                kind: &c.kind,
                bom_ref: v.bom_refs[i].clone(),
                supplier: supplier_of(c).map(|s| Supplier {
                    name: s.cdx_name(),
                    contact: s
                        .cdx_contact()
                        .map(|(name, email)| Contact { name, email })
                        .into_iter()
                        .collect(),
                }),
                name: &c.name,
                version: c.version.as_deref(),
                hashes: c
                    .hashes
                    .iter()
                    .map(|(alg, content)| Hash { alg, content })
                    .collect(),
                licenses: lics
                    .into_iter()
                    .map(|l| match l {
                        CdxLicense::Id(id, ack) => Lic::License {
                            license: LicBody {
                                id: Some(id),
                                name: None,
                                acknowledgement: ack,
                            },
                        },
                        CdxLicense::Name(name, ack) => Lic::License {
                            license: LicBody {
                                id: None,
                                name: Some(name),
                                acknowledgement: ack,
                            },
                        },
                        CdxLicense::Expression(expression, acknowledgement) => Lic::Expression {
                            expression,
                            acknowledgement,
                        },
                    })
                    .collect(),
                purl: c.purl.as_deref(),
                external_references: v.links[i]
                    .as_ref()
                    .map(|l| ExtRef {
                        url: l.bom_link(),
                        kind: "bom",
                        hashes: vec![Hash {
                            alg: "SHA-256",
                            content: &l.cdx_sha256,
                        }],
                    })
                    .into_iter()
                    .collect(),
                properties: concluded
                    .map(|value| Property {
                        name: CONCLUDED_PROPERTY,
                        value,
                    })
                    .into_iter()
                    .collect(),
            }
        })
        .collect();
    let mut dependencies = vec![Dep {
        r: &product_ref,
        depends_on: v
            .product_deps
            .iter()
            .map(|d| v.bom_refs[*d].as_str())
            .collect(),
    }];
    for (i, d) in v.deps.iter().enumerate() {
        if !d.is_empty() {
            dependencies.push(Dep {
                r: &v.bom_refs[i],
                depends_on: d.iter().map(|d| v.bom_refs[*d].as_str()).collect(),
            });
        }
    }
    pretty_json(
        &Bom {
            schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: v.release.serial_number(),
            version: 1,
            metadata: Metadata {
                timestamp: v.release.timestamp(),
                tools: Tools {
                    components: vec![Tool {
                        kind: "application",
                        name: "evident",
                        version: v.release.tool_version.clone(),
                    }],
                },
                component: product,
            },
            components,
            dependencies,
            vulnerabilities,
        },
        600 * v.items.len() + 1200 * vulnerabilities.len() + 4096,
    )
}
