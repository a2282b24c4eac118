//! CycloneDX 1.6 XML, written with quick-xml in the schema's element order.

use std::io::{self, Cursor};

use quick_xml::{
    events::{BytesDecl, BytesText, Event},
    Writer,
};

use super::{cdx_licenses, CdxLicense, View};
use crate::{actor::supplier_of, cdx::CONCLUDED_PROPERTY, model::Component, vex::CdxVulnerability};

type W = Writer<Cursor<Vec<u8>>>;

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

pub(crate) fn write(v: &View, vulnerabilities: &[CdxVulnerability]) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    doc(&mut w, v, vulnerabilities).expect("writing to memory cannot fail");
    let mut out = w.into_inner().into_inner();
    out.push(b'\n');
    out
}

fn doc(w: &mut W, v: &View, vulnerabilities: &[CdxVulnerability]) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let serial = v.release.serial_number();
    w.create_element("bom")
        .with_attribute(("xmlns", "http://cyclonedx.org/schema/bom/1.6"))
        .with_attribute(("serialNumber", serial.as_str()))
        .with_attribute(("version", "1"))
        .write_inner_content(|w| {
            w.create_element("metadata").write_inner_content(|w| {
                text(w, "timestamp", &v.release.timestamp())?;
                w.create_element("tools").write_inner_content(|w| {
                    w.create_element("components").write_inner_content(|w| {
                        w.create_element("component")
                            .with_attribute(("type", "application"))
                            .write_inner_content(|w| {
                                text(w, "name", "evident")?;
                                text(w, "version", &v.release.tool_version)
                            })?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
                let pref = v.product_ref();
                w.create_element("component")
                    .with_attribute(("type", "application"))
                    .with_attribute(("bom-ref", pref.as_str()))
                    .write_inner_content(|w| {
                        text(w, "name", &v.product)?;
                        text(w, "version", &v.product_version)?;
                        if !v.release.artefacts.is_empty() {
                            w.create_element("hashes").write_inner_content(|w| {
                                for (_, d) in &v.release.artefacts {
                                    w.create_element("hash")
                                        .with_attribute(("alg", "SHA-256"))
                                        .write_text_content(BytesText::new(d))?;
                                }
                                Ok(())
                            })?;
                            w.create_element("properties").write_inner_content(|w| {
                                for (n, d) in &v.release.artefacts {
                                    w.create_element("property")
                                        .with_attribute(("name", "evident:artefact"))
                                        .write_text_content(BytesText::new(&format!(
                                            "{n} sha256:{d}"
                                        )))?;
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
                Ok(())
            })?;
            if !v.items.is_empty() {
                w.create_element("components").write_inner_content(|w| {
                    for (i, c) in v.items.iter().enumerate() {
                        component(w, c, &v.bom_refs[i], v.links[i].as_ref())?;
                    }
                    Ok(())
                })?;
            }
            let pref = v.product_ref();
            w.create_element("dependencies").write_inner_content(|w| {
                dependency(
                    w,
                    &pref,
                    v.product_deps.iter().map(|d| v.bom_refs[*d].as_str()),
                )?;
                for (i, d) in v.deps.iter().enumerate() {
                    if !d.is_empty() {
                        dependency(w, &v.bom_refs[i], d.iter().map(|d| v.bom_refs[*d].as_str()))?;
                    }
                }
                Ok(())
            })?;
            // bom-1.6.xsd: vulnerabilities come after dependencies (and
            // compositions and properties, which we do not write).
            if !vulnerabilities.is_empty() {
                w.create_element("vulnerabilities")
                    .write_inner_content(|w| {
                        for vu in vulnerabilities {
                            vulnerability(w, vu)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// One `vulnerability` in the order of bom-1.6.xsd's `vulnerabilityType`:
/// id, source, references, ratings, recommendation, analysis, affects,
/// properties (the elements we write).
fn vulnerability(w: &mut W, vu: &CdxVulnerability) -> io::Result<()> {
    fn source(w: &mut W, s: &crate::vex::CdxSource) -> io::Result<()> {
        w.create_element("source").write_inner_content(|w| {
            if let Some(n) = &s.name {
                text(w, "name", n)?;
            }
            if let Some(u) = &s.url {
                text(w, "url", u)?;
            }
            Ok(())
        })?;
        Ok(())
    }
    w.create_element("vulnerability").write_inner_content(|w| {
        text(w, "id", &vu.id)?;
        if let Some(s) = &vu.source {
            source(w, s)?;
        }
        if !vu.references.is_empty() {
            w.create_element("references").write_inner_content(|w| {
                for r in &vu.references {
                    w.create_element("reference").write_inner_content(|w| {
                        text(w, "id", &r.id)?;
                        source(w, &r.source)
                    })?;
                }
                Ok(())
            })?;
        }
        if !vu.ratings.is_empty() {
            w.create_element("ratings").write_inner_content(|w| {
                for r in &vu.ratings {
                    w.create_element("rating").write_inner_content(|w| {
                        if let Some(s) = &r.source {
                            source(w, s)?;
                        }
                        if let Some(s) = r.score {
                            text(w, "score", &s.to_string())?;
                        }
                        if let Some(s) = r.severity {
                            text(w, "severity", s)?;
                        }
                        if let Some(m) = &r.method {
                            text(w, "method", m)?;
                        }
                        if let Some(v) = &r.vector {
                            text(w, "vector", v)?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        }
        if let Some(r) = &vu.recommendation {
            text(w, "recommendation", r)?;
        }
        let an = &vu.analysis;
        w.create_element("analysis").write_inner_content(|w| {
            text(w, "state", an.state)?;
            if let Some(j) = &an.justification {
                text(w, "justification", j)?;
            }
            if !an.response.is_empty() {
                w.create_element("responses").write_inner_content(|w| {
                    for r in &an.response {
                        text(w, "response", r)?;
                    }
                    Ok(())
                })?;
            }
            if let Some(d) = &an.detail {
                text(w, "detail", d)?;
            }
            Ok(())
        })?;
        w.create_element("affects").write_inner_content(|w| {
            for a in &vu.affects {
                w.create_element("target")
                    .write_inner_content(|w| text(w, "ref", &a.r#ref))?;
            }
            Ok(())
        })?;
        if !vu.properties.is_empty() {
            w.create_element("properties").write_inner_content(|w| {
                for p in &vu.properties {
                    w.create_element("property")
                        .with_attribute(("name", p.name))
                        .write_text_content(BytesText::new(&p.value))?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn dependency<'a>(w: &mut W, r: &str, on: impl Iterator<Item = &'a str>) -> io::Result<()> {
    let on: Vec<&str> = on.collect();
    let el = w.create_element("dependency").with_attribute(("ref", r));
    if on.is_empty() {
        el.write_empty()?;
    } else {
        el.write_inner_content(|w| {
            for d in on {
                w.create_element("dependency")
                    .with_attribute(("ref", d))
                    .write_empty()?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn component(
    w: &mut W,
    c: &Component,
    bom_ref: &str,
    link: Option<&super::LinkedBom>,
) -> io::Result<()> {
    let (lics, concluded) = cdx_licenses(c);
    w.create_element("component")
        .with_attribute(("type", c.kind.as_str()))
        .with_attribute(("bom-ref", bom_ref))
        .write_inner_content(|w| {
            if let Some(s) = supplier_of(c) {
                // organizationalEntity: name, then contact (name, email).
                w.create_element("supplier").write_inner_content(|w| {
                    text(w, "name", s.cdx_name())?;
                    if let Some((name, email)) = s.cdx_contact() {
                        w.create_element("contact").write_inner_content(|w| {
                            if let Some(n) = name {
                                text(w, "name", n)?;
                            }
                            if let Some(e) = email {
                                text(w, "email", e)?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            text(w, "name", &c.name)?;
            if let Some(ver) = &c.version {
                text(w, "version", ver)?;
            }
            if !c.hashes.is_empty() {
                w.create_element("hashes").write_inner_content(|w| {
                    for (alg, h) in &c.hashes {
                        w.create_element("hash")
                            .with_attribute(("alg", alg.as_str()))
                            .write_text_content(BytesText::new(h))?;
                    }
                    Ok(())
                })?;
            }
            if !lics.is_empty() {
                w.create_element("licenses").write_inner_content(|w| {
                    for l in &lics {
                        match l {
                            CdxLicense::Id(id, ack) => {
                                w.create_element("license")
                                    .with_attribute(("acknowledgement", *ack))
                                    .write_inner_content(|w| text(w, "id", id))?;
                            }
                            CdxLicense::Name(n, ack) => {
                                w.create_element("license")
                                    .with_attribute(("acknowledgement", *ack))
                                    .write_inner_content(|w| text(w, "name", n))?;
                            }
                            CdxLicense::Expression(e, ack) => {
                                w.create_element("expression")
                                    .with_attribute(("acknowledgement", *ack))
                                    .write_text_content(BytesText::new(e))?;
                            }
                        }
                    }
                    Ok(())
                })?;
            }
            if let Some(p) = &c.purl {
                text(w, "purl", p)?;
            }
            if let Some(l) = link {
                w.create_element("externalReferences")
                    .write_inner_content(|w| {
                        w.create_element("reference")
                            .with_attribute(("type", "bom"))
                            .write_inner_content(|w| {
                                text(w, "url", &l.bom_link())?;
                                w.create_element("hashes").write_inner_content(|w| {
                                    w.create_element("hash")
                                        .with_attribute(("alg", "SHA-256"))
                                        .write_text_content(BytesText::new(&l.cdx_sha256))?;
                                    Ok(())
                                })?;
                                Ok(())
                            })?;
                        Ok(())
                    })?;
            }
            if let Some(value) = &concluded {
                w.create_element("properties").write_inner_content(|w| {
                    w.create_element("property")
                        .with_attribute(("name", CONCLUDED_PROPERTY))
                        .write_text_content(BytesText::new(value))?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}
