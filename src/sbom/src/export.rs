//! Byte-stable exports of a [`Model`] for one release revision.
//!
//! The released product is the top-level component (CycloneDX
//! `metadata.component`, the SPDX package the document DESCRIBES) and carries
//! the artefact digests. Every byte is a function of the model and the
//! [`Release`]: components in the model's canonical order, identifiers derived
//! from tenant, product, tag and revision, and the push time as the only time.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{
    build::KINDS,
    license::{self, is_single_id},
    model::{Component, License, Model},
};

mod cdx_json;
mod cdx_xml;
mod notice;
mod spdx;

/// The release an export is made for.
#[derive(Debug, Clone)]
pub struct Release {
    /// Tenant slug.
    pub tenant: String,
    /// Product.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// Revision (1, 2, …).
    pub revision: u32,
    /// Artefacts: `(name, sha256 hex)`.
    pub artefacts: Vec<(String, String)>,
    /// Push time, Unix seconds: the only time any export contains.
    pub pushed_at: i64,
    /// SPDX `documentNamespace`, fixed when the release was pushed.
    pub spdx_namespace: String,
    /// The version of Evident named as the producing tool.
    pub tool_version: String,
}

impl Release {
    /// The CycloneDX serial number: a UUID v5 of tenant, product, tag and revision.
    pub fn serial_number(&self) -> String {
        format!("urn:uuid:{}", self.uuid())
    }

    /// The UUID v5 both exports' identifiers are made from.
    pub fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "evident:release:{}/{}/{}/{}",
                self.tenant, self.product, self.tag, self.revision
            )
            .as_bytes(),
        )
    }

    /// A deterministic SPDX namespace under `base` (an `https://host/path` URL).
    pub fn namespace_for(
        base: &str,
        tenant: &str,
        product: &str,
        tag: &str,
        revision: u32,
    ) -> String {
        let r = Release {
            tenant: tenant.into(),
            product: product.into(),
            tag: tag.into(),
            revision,
            artefacts: Vec::new(),
            pushed_at: 0,
            spdx_namespace: String::new(),
            tool_version: String::new(),
        };
        format!(
            "{}/spdx/{tenant}/{product}/{tag}/r{revision}-{}",
            base.trim_end_matches('/'),
            r.uuid()
        )
    }

    fn timestamp(&self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.pushed_at)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// The attachment file name: `sbom-<product>-<tag>.<ext>`.
    pub fn file_name(&self, f: ExportFormat) -> String {
        format!("sbom-{}-{}.{}", self.product, self.tag, f.extension())
    }
}

/// The four export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExportFormat {
    /// CycloneDX 1.6 JSON.
    CyclonedxJson,
    /// CycloneDX 1.6 XML.
    CyclonedxXml,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// SPDX 2.3 tag-value.
    SpdxTv,
}

impl ExportFormat {
    /// Every format, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::CyclonedxJson,
        Self::CyclonedxXml,
        Self::SpdxJson,
        Self::SpdxTv,
    ];

    /// The `format=` query value.
    pub fn name(self) -> &'static str {
        match self {
            Self::CyclonedxJson => "cyclonedx-json",
            Self::CyclonedxXml => "cyclonedx-xml",
            Self::SpdxJson => "spdx-json",
            Self::SpdxTv => "spdx-tv",
        }
    }

    /// Parses a `format=` value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The media type served.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::CyclonedxJson => "application/vnd.cyclonedx+json",
            Self::CyclonedxXml => "application/vnd.cyclonedx+xml",
            Self::SpdxJson => "application/spdx+json",
            Self::SpdxTv => "text/spdx",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::CyclonedxJson => "cdx.json",
            Self::CyclonedxXml => "cdx.xml",
            Self::SpdxJson => "spdx.json",
            Self::SpdxTv => "spdx",
        }
    }

    /// Writes the export.
    pub fn write(self, model: &Model, release: &Release) -> Vec<u8> {
        let view = View::new(model, release);
        match self {
            Self::CyclonedxJson => cdx_json::write(&view),
            Self::CyclonedxXml => cdx_xml::write(&view),
            Self::SpdxJson => spdx::write_json(&view),
            Self::SpdxTv => spdx::write_tv(&view),
        }
    }
}

/// NOTICE file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// Self-contained HTML, no scripts.
    Html,
}

impl NoticeFormat {
    /// Parses a `format=` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "markdown" => Some(Self::Markdown),
            "html" => Some(Self::Html),
            _ => None,
        }
    }

    /// The media type served.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Text => "txt",
            Self::Markdown => "md",
            Self::Html => "html",
        }
    }

    /// Writes the NOTICE file.
    pub fn write(self, model: &Model, release: &Release) -> Vec<u8> {
        notice::write(self, &View::new(model, release))
    }
}

/// What every writer works from: the product, then the components (the
/// model's subject merged into its canonical place) with their refs.
pub(crate) struct View<'a> {
    pub release: &'a Release,
    pub items: Vec<&'a Component>,
    /// Dependencies of each item, as positions in `items`.
    pub deps: Vec<Vec<usize>>,
    /// What the product depends on.
    pub product_deps: Vec<usize>,
    /// CycloneDX bom-refs, parallel to `items`.
    pub bom_refs: Vec<String>,
    /// SPDX ids, parallel to `items`.
    pub spdx_ids: Vec<String>,
}

pub(crate) const PRODUCT_SPDXID: &str = "SPDXRef-Release";

impl<'a> View<'a> {
    fn new(model: &'a Model, release: &'a Release) -> Self {
        let n = model.components.len();
        // Where the subject goes in canonical order (after equal components).
        let at = model.subject.as_ref().map(|s| {
            model
                .components
                .partition_point(|c| crate::build::order_of(c, s) != std::cmp::Ordering::Greater)
        });
        let pos = |i: usize| match at {
            Some(a) if i >= a => i + 1,
            _ => i,
        };
        let mut items: Vec<&Component> = Vec::with_capacity(n + 1);
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n + 1);
        for (i, c) in model.components.iter().enumerate() {
            if at == Some(i) {
                let s = model
                    .subject
                    .as_ref()
                    .expect("at is set only with a subject");
                items.push(s);
                deps.push(s.depends_on.iter().map(|d| pos(*d as usize)).collect());
            }
            items.push(c);
            deps.push(c.depends_on.iter().map(|d| pos(*d as usize)).collect());
        }
        if at == Some(n) {
            let s = model
                .subject
                .as_ref()
                .expect("at is set only with a subject");
            items.push(s);
            deps.push(s.depends_on.iter().map(|d| pos(*d as usize)).collect());
        }
        let product_deps = match at {
            Some(a) => vec![a],
            None => {
                // No subject: the product depends on whatever nothing else does.
                let mut has_parent = vec![false; items.len()];
                for d in deps.iter().flatten() {
                    has_parent[*d] = true;
                }
                (0..items.len()).filter(|i| !has_parent[*i]).collect()
            }
        };
        let mut purl_count: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &items {
            if let Some(p) = &c.purl {
                *purl_count.entry(p).or_default() += 1;
            }
        }
        let bom_refs = items
            .iter()
            .enumerate()
            .map(|(i, c)| match &c.purl {
                Some(p) if purl_count[p.as_str()] == 1 => p.clone(),
                _ => format!("component-{}", i + 1),
            })
            .collect();
        let spdx_ids = items
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut s = format!("SPDXRef-Package-{}-", i + 1);
                for ch in c.name.chars().take(60) {
                    s.push(if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                        ch
                    } else {
                        '-'
                    });
                }
                s
            })
            .collect();
        Self {
            release,
            items,
            deps,
            product_deps,
            bom_refs,
            spdx_ids,
        }
    }

    pub fn product_ref(&self) -> String {
        format!("release:{}@{}", self.release.product, self.release.tag)
    }

    pub fn tool(&self) -> String {
        format!("evident-{}", self.release.tool_version)
    }
}

/// A licence entry of a CycloneDX export.
pub(crate) enum CdxLicense<'a> {
    Id(&'a str, &'static str),
    Name(&'a str, &'static str),
    Expression(&'a str, &'static str),
}

/// The CycloneDX `licenses` of a component, and a concluded licence that had
/// to go into a property because CycloneDX allows one expression alone.
pub(crate) fn cdx_licenses(c: &Component) -> (Vec<CdxLicense<'_>>, Option<String>) {
    fn entries<'a>(l: &'a License, ack: &'static str, out: &mut Vec<CdxLicense<'a>>) {
        match l {
            License::Spdx(s) if is_single_id(s) && !license::has_local_refs(s) => {
                out.push(CdxLicense::Id(s, ack))
            }
            License::Spdx(s) => out.push(CdxLicense::Expression(s, ack)),
            License::Named(v) => {
                for n in v {
                    if is_single_id(n) && !license::has_local_refs(n) {
                        out.push(CdxLicense::Id(n, ack));
                    } else {
                        out.push(CdxLicense::Name(n, ack));
                    }
                }
            }
        }
    }
    let mut declared = Vec::new();
    let mut concluded = Vec::new();
    if let Some(l) = &c.declared {
        entries(l, "declared", &mut declared);
    }
    if let Some(l) = &c.concluded {
        entries(l, "concluded", &mut concluded);
    }
    let is_expr = |e: &CdxLicense| matches!(e, CdxLicense::Expression(..));
    let all = declared.len() + concluded.len();
    if all <= 1 || !(declared.iter().any(is_expr) || concluded.iter().any(is_expr)) {
        declared.extend(concluded);
        return (declared, None);
    }
    if declared.is_empty() {
        return (concluded, None);
    }
    (declared, c.concluded.as_ref().map(License::display))
}

/// SPDX `primaryPackagePurpose` for a CycloneDX type.
pub(crate) fn spdx_purpose(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .unwrap_or("OTHER")
}

/// SPDX checksum algorithm name for a CycloneDX one.
pub(crate) fn spdx_alg(alg: &str) -> String {
    match alg {
        "SHA-1" => "SHA1".into(),
        "SHA-256" => "SHA256".into(),
        "SHA-384" => "SHA384".into(),
        "SHA-512" => "SHA512".into(),
        other => other.into(),
    }
}

/// Writes `value` as SPDX tag-value (wrapping multi-line text).
pub(crate) fn tv_line(out: &mut String, tag: &str, value: &str) {
    if value.contains('\n') || value.starts_with("<text>") {
        let _ = writeln!(
            out,
            "{tag}: <text>{}</text>",
            value.replace("</text>", "&lt;/text>")
        );
    } else {
        let _ = writeln!(out, "{tag}: {value}");
    }
}

/// Serialises with two-space indentation and a final newline.
pub(crate) fn pretty_json<T: Serialize>(v: &T, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint);
    serde_json::to_writer_pretty(&mut out, v).expect("export documents are plain data");
    out.push(b'\n');
    out
}
