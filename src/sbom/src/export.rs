//! Byte-stable exports of a [`Model`] for one release revision.
//!
//! The released product is the top-level component (CycloneDX
//! `metadata.component`, the SPDX package the document DESCRIBES) and carries
//! the artefact digests. Every byte is a function of the model and the
//! [`Release`]: components in the model's canonical order, identifiers derived
//! from tenant, product, tag and revision, and the push time as the only time.
//!
//! Suppliers keep their kind: SPDX writes `Person: name (email)` or
//! `Organization: name (email)`. CycloneDX's `supplier` is an
//! `organizationalEntity`, so a person is written as an entity named after
//! them whose one contact is that same person (`name`, `email`), and an
//! organization's e-mail as a contact with only an `email`; ingest reads that
//! shape back as a person.

use std::{borrow::Cow, collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{
    build::KINDS,
    license::{self, is_single_id},
    model::{Component, License, Model},
    text,
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

    /// The push time as `YYYY-MM-DDThh:mm:ssZ`, the one date-time shape
    /// both SPDX (§6.9, and the tag-value lexer's date token) and CycloneDX
    /// (`date-time`) accept. A time outside years 1970–9999 (which RFC 3339
    /// cannot write as four digits) is clamped into that range.
    fn timestamp(&self) -> String {
        date_time(self.pushed_at)
    }

    /// The attachment file name: `sbom-<product>-<tag>.<ext>`.
    pub fn file_name(&self, f: ExportFormat) -> String {
        format!("sbom-{}-{}.{}", self.product, self.tag, f.extension())
    }
}

/// Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (see [`Release`]'s push time):
/// a time outside years 1970–9999 is clamped into that range.
pub(crate) fn date_time(secs: i64) -> String {
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    time::OffsetDateTime::from_unix_timestamp(secs.clamp(0, LAST))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
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
        self.write_with_vex(model, release, None)
    }

    /// Writes an aggregate: the model's components are other releases
    /// (`links[i]` the SBOM of `model.components[i]`), each linked, not
    /// copied: CycloneDX by a BOM-Link external reference with the linked
    /// export's SHA-256, SPDX by an `externalDocumentRefs` entry (with the
    /// linked export's SHA-1) and a `DESCRIBED_BY` relationship to that
    /// document.
    pub fn write_linked(
        self,
        model: &Model,
        release: &Release,
        links: &[Option<LinkedBom>],
    ) -> Vec<u8> {
        let mut view = View::new(model, release);
        for (i, l) in links.iter().enumerate() {
            if let Some(at) = view.item_of(Some(i as u32)) {
                if let Some(slot) = view.links.get_mut(at) {
                    slot.clone_from(l);
                }
            }
        }
        match self {
            Self::CyclonedxJson => cdx_json::write(&view, &[]),
            Self::CyclonedxXml => cdx_xml::write(&view, &[]),
            Self::SpdxJson => spdx::write_json(&view),
            Self::SpdxTv => spdx::write_tv(&view),
        }
    }

    /// Writes the export with VEX inline: the CycloneDX formats get a
    /// `vulnerabilities[]` entry per statement whose `affects[].ref` is the
    /// component's bom-ref in the same document (see [`crate::vex`] for the
    /// mapping; statements about components the model does not have are
    /// left out, as there is nothing in the document to point at). SPDX 2.3
    /// has no VEX, so the SPDX formats ignore `vex`. Without statements
    /// (`None` or empty) the bytes are exactly those of [`Self::write`].
    pub fn write_with_vex(
        self,
        model: &Model,
        release: &Release,
        vex: Option<&[crate::vex::Statement]>,
    ) -> Vec<u8> {
        let view = View::new(model, release);
        let vulns = || crate::vex::inline_vulnerabilities(&view, vex.unwrap_or(&[]));
        match self {
            Self::CyclonedxJson => cdx_json::write(&view, &vulns()),
            Self::CyclonedxXml => cdx_xml::write(&view, &vulns()),
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
///
/// Components that a model stored by an earlier version may hold in a shape
/// no export can carry (a line break in a name, a name SPDX tag-value would
/// misread) are repaired here the way ingest now repairs them, so every
/// format writes the same value; other components are borrowed as they are.
pub(crate) struct View<'a> {
    pub release: &'a Release,
    /// The product's name and version (release tag), as written.
    pub product: Cow<'a, str>,
    pub product_version: Cow<'a, str>,
    pub items: Vec<Cow<'a, Component>>,
    /// Dependencies of each item, as positions in `items`.
    pub deps: Vec<Vec<usize>>,
    /// What the product depends on.
    pub product_deps: Vec<usize>,
    /// CycloneDX bom-refs, parallel to `items`.
    pub bom_refs: Vec<String>,
    /// SPDX ids, parallel to `items`.
    pub spdx_ids: Vec<String>,
    /// Where the model's subject is in `items`.
    pub subject_at: Option<usize>,
    /// The SBOM each item's own export is, when the document links to it
    /// (an aggregate), parallel to `items`.
    pub links: Vec<Option<LinkedBom>>,
}

/// Another SBOM a component of an aggregate is described by: its
/// CycloneDX and SPDX exports, pinned by digest, so the aggregate links
/// the component SBOMs instead of copying their components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBom {
    /// The CycloneDX export's `serialNumber` (`urn:uuid:…`).
    pub cdx_serial: String,
    /// SHA-256 (hex) of the CycloneDX JSON export's bytes.
    pub cdx_sha256: String,
    /// The SPDX export's `documentNamespace`.
    pub spdx_namespace: String,
    /// SHA-1 (hex) of the SPDX JSON export's bytes (SPDX 2.3 names an
    /// external document by its SHA-1).
    pub spdx_sha1: String,
}

impl LinkedBom {
    /// The CycloneDX BOM-Link to the whole document (version 1).
    pub fn bom_link(&self) -> String {
        format!(
            "urn:cdx:{}/1",
            self.cdx_serial.trim_start_matches("urn:uuid:")
        )
    }
}

pub(crate) const PRODUCT_SPDXID: &str = "SPDXRef-Release";

impl<'a> View<'a> {
    pub(crate) fn new(model: &'a Model, release: &'a Release) -> Self {
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
        let mut items: Vec<Cow<'a, Component>> = Vec::with_capacity(n + 1);
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n + 1);
        for (i, c) in model.components.iter().enumerate() {
            if at == Some(i) {
                let s = model
                    .subject
                    .as_ref()
                    .expect("at is set only with a subject");
                items.push(export_ready(s));
                deps.push(s.depends_on.iter().map(|d| pos(*d as usize)).collect());
            }
            items.push(export_ready(c));
            deps.push(c.depends_on.iter().map(|d| pos(*d as usize)).collect());
        }
        if at == Some(n) {
            let s = model
                .subject
                .as_ref()
                .expect("at is set only with a subject");
            items.push(export_ready(s));
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
        let links = vec![None; items.len()];
        Self {
            release,
            product: text::line_value(&release.product),
            product_version: text::line_value(&release.tag),
            items,
            deps,
            product_deps,
            bom_refs,
            links,
            spdx_ids,
            subject_at: at,
        }
    }

    /// Where a component of the model is in `items`: `Some(i)` is
    /// `model.components[i]`, `None` the model's subject (and `None` comes
    /// back when the model has none: then it is the released product).
    pub fn item_of(&self, component: Option<u32>) -> Option<usize> {
        match component {
            None => self.subject_at,
            Some(i) => {
                let i = i as usize;
                Some(match self.subject_at {
                    Some(a) if i >= a => i + 1,
                    _ => i,
                })
            }
        }
    }

    pub fn product_ref(&self) -> String {
        format!("release:{}@{}", self.release.product, self.release.tag)
    }

    pub fn tool(&self) -> String {
        format!("evident-{}", self.release.tool_version)
    }
}

/// The component as the exports can carry it: borrowed when it already is
/// (everything ingest made), repaired otherwise (see [`View`]).
fn export_ready(c: &Component) -> Cow<'_, Component> {
    let plain = |s: &str, quote: bool| {
        if quote {
            matches!(text::line_value(s), Cow::Borrowed(_))
        } else {
            matches!(text::single_line(s), Cow::Borrowed(_))
        }
    };
    if plain(&c.name, true)
        && c.version.as_deref().is_none_or(|v| plain(v, true))
        && c.supplier.as_deref().is_none_or(|s| plain(s, false))
    {
        return Cow::Borrowed(c);
    }
    let mut owned = c.clone();
    crate::build::one_line_component(&mut owned);
    Cow::Owned(owned)
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

/// SPDX `primaryPackagePurpose` for a CycloneDX type, as tag-value spells
/// it (SPDX 2.3 §7.24: `OPERATING-SYSTEM`).
pub(crate) fn spdx_purpose(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .unwrap_or("OTHER")
}

/// The same purpose as SPDX JSON spells it: the SPDX 2.3 JSON schema's enum
/// has `OPERATING_SYSTEM`, with an underscore.
pub(crate) fn spdx_json_purpose(kind: &str) -> &'static str {
    match spdx_purpose(kind) {
        "OPERATING-SYSTEM" => "OPERATING_SYSTEM",
        p => p,
    }
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

/// Writes `Tag: value` as SPDX tag-value. Every tag we write is a single
/// line of text, which the SPDX tools refuse as `<text>…</text>`; the values
/// are on one line already ([`View`] and ingest see to it), and a line break
/// that got here anyway becomes a space rather than a broken document.
pub(crate) fn tv_line(out: &mut String, tag: &str, value: &str) {
    let _ = writeln!(out, "{tag}: {}", text::single_line(value));
}

/// Serialises with two-space indentation and a final newline.
pub(crate) fn pretty_json<T: Serialize>(v: &T, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint);
    serde_json::to_writer_pretty(&mut out, v).expect("export documents are plain data");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(pushed_at: i64) -> Release {
        Release {
            tenant: "t".into(),
            product: "p".into(),
            tag: "v1".into(),
            revision: 1,
            artefacts: Vec::new(),
            pushed_at,
            spdx_namespace: "https://evident.test/spdx/t/p/v1/r1".into(),
            tool_version: "0".into(),
        }
    }

    #[test]
    fn the_push_time_is_always_a_four_digit_utc_date_time() {
        for (at, want) in [
            (1_800_000_000, "2027-01-15T08:00:00Z"),
            (-1, "1970-01-01T00:00:00Z"),
            (i64::MIN, "1970-01-01T00:00:00Z"),
            (i64::MAX, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(release(at).timestamp(), want);
            crate::check::date_time(want).unwrap();
        }
    }

    #[test]
    fn purposes_are_spelled_per_encoding() {
        assert_eq!(spdx_purpose("operating-system"), "OPERATING-SYSTEM");
        assert_eq!(spdx_json_purpose("operating-system"), "OPERATING_SYSTEM");
        assert_eq!(spdx_json_purpose("library"), "LIBRARY");
        assert_eq!(spdx_json_purpose("platform"), "OTHER");
    }

    #[test]
    fn tag_value_lines_never_span_lines() {
        let mut out = String::new();
        tv_line(&mut out, "PackageName", "a\nb");
        tv_line(&mut out, "PackageVersion", "1");
        assert_eq!(out, "PackageName: a b\nPackageVersion: 1\n");
    }

    #[test]
    fn components_are_borrowed_unless_a_format_cannot_carry_them() {
        let c = Component {
            name: "fastapi".into(),
            version: Some("0.115.0".into()),
            purl: None,
            kind: "library".into(),
            supplier: Some("Jane Doe (jane@example.org)".into()),
            supplier_kind: None,
            supplier_email: None,
            hashes: BTreeMap::new(),
            declared: None,
            concluded: None,
            depends_on: Vec::new(),
        };
        assert!(matches!(export_ready(&c), Cow::Borrowed(_)));
        let odd = Component {
            name: "NONE".into(),
            version: Some("1\n2".into()),
            supplier: Some("Jane\nDoe".into()),
            ..c
        };
        let fixed = export_ready(&odd);
        assert_eq!(fixed.name, "\"NONE\"");
        assert_eq!(fixed.version.as_deref(), Some("1 2"));
        assert_eq!(fixed.supplier.as_deref(), Some("Jane Doe"));
    }
}
