//! SPDX 2.3, JSON and tag-value, from one list of packages and relationships.

use serde::Serialize;

use super::{pretty_json, spdx_alg, spdx_json_purpose, tv_line, View, PRODUCT_SPDXID};
use crate::{actor::supplier_of, license::to_spdx_field, text};

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'static str,
    #[serde(rename = "dataLicense")]
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdxid: &'static str,
    name: String,
    #[serde(rename = "documentNamespace")]
    namespace: String,
    #[serde(rename = "externalDocumentRefs", skip_serializing_if = "Vec::is_empty")]
    external_document_refs: Vec<ExternalDocumentRef>,
    #[serde(rename = "creationInfo")]
    creation_info: CreationInfo,
    packages: Vec<Package<'a>>,
    relationships: Vec<Relationship<'a>>,
}

/// Another SPDX document an element is described by (aggregates).
#[derive(Serialize)]
struct ExternalDocumentRef {
    #[serde(rename = "externalDocumentId")]
    id: String,
    #[serde(rename = "spdxDocument")]
    document: String,
    checksum: DocChecksum,
}

#[derive(Serialize)]
struct DocChecksum {
    algorithm: &'static str,
    #[serde(rename = "checksumValue")]
    value: String,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdxid: &'a str,
    name: &'a str,
    #[serde(rename = "versionInfo", skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<String>,
    #[serde(rename = "downloadLocation")]
    download_location: &'static str,
    #[serde(rename = "filesAnalyzed")]
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    #[serde(rename = "licenseConcluded")]
    license_concluded: &'a str,
    #[serde(rename = "licenseDeclared")]
    license_declared: &'a str,
    #[serde(rename = "copyrightText")]
    copyright_text: &'static str,
    #[serde(rename = "externalRefs", skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    #[serde(rename = "primaryPackagePurpose")]
    purpose: &'static str,
}

#[derive(Serialize)]
struct Checksum<'a> {
    algorithm: String,
    #[serde(rename = "checksumValue")]
    value: &'a str,
}

#[derive(Serialize)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceCategory")]
    category: &'static str,
    #[serde(rename = "referenceType")]
    kind: &'static str,
    #[serde(rename = "referenceLocator")]
    locator: &'a str,
}

#[derive(Serialize)]
struct Relationship<'a> {
    #[serde(rename = "spdxElementId")]
    from: &'a str,
    #[serde(rename = "relationshipType")]
    kind: &'static str,
    #[serde(rename = "relatedSpdxElement")]
    to: std::borrow::Cow<'a, str>,
}

fn build<'a>(v: &'a View) -> Doc<'a> {
    let mut packages = Vec::with_capacity(v.items.len() + 1);
    packages.push(Package {
        spdxid: PRODUCT_SPDXID,
        name: &v.product,
        version: Some(&v.product_version),
        supplier: None,
        download_location: "NOASSERTION",
        files_analyzed: false,
        checksums: v
            .release
            .artefacts
            .iter()
            .map(|(_, d)| Checksum {
                algorithm: "SHA256".into(),
                value: d,
            })
            .collect(),
        license_concluded: "NOASSERTION",
        license_declared: "NOASSERTION",
        copyright_text: "NOASSERTION",
        external_refs: Vec::new(),
        purpose: "APPLICATION",
    });
    for (i, c) in v.items.iter().enumerate() {
        packages.push(Package {
            spdxid: &v.spdx_ids[i],
            name: &c.name,
            version: c.version.as_deref(),
            supplier: supplier_of(c).map(|s| s.spdx()),
            download_location: "NOASSERTION",
            files_analyzed: false,
            checksums: c
                .hashes
                .iter()
                .map(|(alg, h)| Checksum {
                    algorithm: spdx_alg(alg),
                    value: h,
                })
                .collect(),
            license_concluded: to_spdx_field(c.concluded.as_ref()),
            license_declared: to_spdx_field(c.declared.as_ref()),
            copyright_text: "NOASSERTION",
            external_refs: c
                .purl
                .iter()
                .map(|p| ExternalRef {
                    category: "PACKAGE-MANAGER",
                    kind: "purl",
                    locator: p,
                })
                .collect(),
            purpose: spdx_json_purpose(&c.kind),
        });
    }
    let mut relationships = vec![Relationship {
        from: "SPDXRef-DOCUMENT",
        kind: "DESCRIBES",
        to: PRODUCT_SPDXID.into(),
    }];
    for d in &v.product_deps {
        relationships.push(Relationship {
            from: PRODUCT_SPDXID,
            kind: "DEPENDS_ON",
            to: v.spdx_ids[*d].as_str().into(),
        });
    }
    for (i, ds) in v.deps.iter().enumerate() {
        for d in ds {
            relationships.push(Relationship {
                from: &v.spdx_ids[i],
                kind: "DEPENDS_ON",
                to: v.spdx_ids[*d].as_str().into(),
            });
        }
    }
    // An aggregate: each linked component is described by its own
    // release's SPDX document, named and pinned by SHA-1.
    let mut external_document_refs = Vec::new();
    for (i, l) in v.links.iter().enumerate() {
        if let Some(l) = l {
            let id = format!("DocumentRef-{}", i + 1);
            relationships.push(Relationship {
                from: &v.spdx_ids[i],
                kind: "DESCRIBED_BY",
                to: format!("{id}:SPDXRef-DOCUMENT").into(),
            });
            external_document_refs.push(ExternalDocumentRef {
                id,
                document: l.spdx_namespace.clone(),
                checksum: DocChecksum {
                    algorithm: "SHA1",
                    value: l.spdx_sha1.clone(),
                },
            });
        }
    }
    Doc {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdxid: "SPDXRef-DOCUMENT",
        name: text::single_line(&format!("sbom-{}-{}", v.release.product, v.release.tag))
            .into_owned(),
        namespace: v.release.spdx_namespace.clone(),
        external_document_refs,
        creation_info: CreationInfo {
            created: v.release.timestamp(),
            creators: vec![format!("Tool: {}", v.tool())],
        },
        packages,
        relationships,
    }
}

pub(crate) fn write_json(v: &View) -> Vec<u8> {
    pretty_json(&build(v), 1200 * v.items.len() + 4096)
}

pub(crate) fn write_tv(v: &View) -> Vec<u8> {
    let d = build(v);
    let mut out = String::with_capacity(400 * d.packages.len() + 1024);
    tv_line(&mut out, "SPDXVersion", d.spdx_version);
    tv_line(&mut out, "DataLicense", d.data_license);
    tv_line(&mut out, "SPDXID", d.spdxid);
    tv_line(&mut out, "DocumentName", &d.name);
    tv_line(&mut out, "DocumentNamespace", &d.namespace);
    for r in &d.external_document_refs {
        tv_line(
            &mut out,
            "ExternalDocumentRef",
            &format!(
                "{} {} {}: {}",
                r.id, r.document, r.checksum.algorithm, r.checksum.value
            ),
        );
    }
    for c in &d.creation_info.creators {
        tv_line(&mut out, "Creator", c);
    }
    tv_line(&mut out, "Created", &d.creation_info.created);
    for p in &d.packages {
        out.push('\n');
        tv_line(&mut out, "PackageName", p.name);
        tv_line(&mut out, "SPDXID", p.spdxid);
        if let Some(ver) = p.version {
            tv_line(&mut out, "PackageVersion", ver);
        }
        if let Some(s) = &p.supplier {
            tv_line(&mut out, "PackageSupplier", s);
        }
        tv_line(&mut out, "PackageDownloadLocation", p.download_location);
        tv_line(
            &mut out,
            "FilesAnalyzed",
            if p.files_analyzed { "true" } else { "false" },
        );
        for c in &p.checksums {
            tv_line(
                &mut out,
                "PackageChecksum",
                &format!("{}: {}", c.algorithm, c.value),
            );
        }
        tv_line(&mut out, "PackageLicenseConcluded", p.license_concluded);
        tv_line(&mut out, "PackageLicenseDeclared", p.license_declared);
        tv_line(&mut out, "PackageCopyrightText", p.copyright_text);
        for r in &p.external_refs {
            tv_line(
                &mut out,
                "ExternalRef",
                &format!("{} {} {}", r.category, r.kind, r.locator),
            );
        }
        // Tag-value spells it `OPERATING-SYSTEM` (SPDX 2.3 §7.24).
        tv_line(
            &mut out,
            "PrimaryPackagePurpose",
            &p.purpose.replace('_', "-"),
        );
    }
    out.push('\n');
    for r in &d.relationships {
        tv_line(
            &mut out,
            "Relationship",
            &format!("{} {} {}", r.from, r.kind, r.to),
        );
    }
    out.into_bytes()
}
