//! CycloneDX XML: parsed with roxmltree with DTDs refused (so no external
//! entity is fetched and no entity is expanded), then turned into the JSON
//! shape and read by the one CycloneDX reader.

use serde_json::{json, Map, Value};

use crate::{build::RawDoc, cdx, model::SourceFormat, SbomError, MAX_DEPTH};

const NS_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

/// roxmltree refuses more nodes than this; our size limit stops most
/// documents well before.
const NODES_LIMIT: u32 = 20_000_000;

pub(crate) fn read(text: &str) -> Result<RawDoc, SbomError> {
    cdx::read_as(&to_json(text)?, SourceFormat::CyclonedxXml)
}

/// Parses CycloneDX XML into the JSON shape (the parts we read).
pub(crate) fn to_json(text: &str) -> Result<Value, SbomError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
    };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| {
        let pos = e.pos();
        let message = match e {
            roxmltree::Error::DtdDetected => "the document has a DOCTYPE; DTDs and entity declarations are refused (this stops external entities and entity expansion)".to_owned(),
            other => format!("invalid XML: {other}"),
        };
        SbomError::Syntax {
            at: format!("line {} column {}", pos.row, pos.col),
            message,
        }
    })?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or_default();
    let Some(spec) = ns.strip_prefix(NS_PREFIX) else {
        return Err(SbomError::Unrecognised(format!(
            "XML whose root is <{}> in namespace {ns:?}, not a CycloneDX <bom>",
            root.tag_name().name()
        )));
    };
    if root.tag_name().name() != "bom" {
        return Err(SbomError::invalid("/", "the root element must be <bom>"));
    }
    let mut bom = Map::new();
    bom.insert("specVersion".into(), json!(spec));
    if let Some(s) = root.attribute("serialNumber") {
        bom.insert("serialNumber".into(), json!(s));
    }
    if let Some(v) = root
        .attribute("version")
        .and_then(|v| v.parse::<u64>().ok())
    {
        bom.insert("version".into(), json!(v));
    }
    for child in elements(root) {
        match child.tag_name().name() {
            "metadata" => {
                bom.insert("metadata".into(), metadata(child, 2)?);
            }
            "components" => {
                bom.insert("components".into(), components(child, 2)?);
            }
            "dependencies" => {
                let mut deps = Vec::new();
                dependencies(child, 2, &mut deps)?;
                bom.insert("dependencies".into(), Value::Array(deps));
            }
            "vulnerabilities" => {
                let vulns = elements(child)
                    .filter(|v| v.tag_name().name() == "vulnerability")
                    .map(vulnerability)
                    .collect();
                bom.insert("vulnerabilities".into(), Value::Array(vulns));
            }
            _ => {}
        }
    }
    Ok(Value::Object(bom))
}

/// A `vulnerability` in the JSON shape (the parts VEX is read from).
fn vulnerability(v: roxmltree::Node) -> Value {
    fn source(s: roxmltree::Node) -> Value {
        let mut o = Map::new();
        for k in ["name", "url"] {
            if let Some(x) = first(s, k) {
                o.insert(k.into(), json!(text_of(x)));
            }
        }
        Value::Object(o)
    }
    let mut o = Map::new();
    if let Some(r) = v.attribute("bom-ref") {
        o.insert("bom-ref".into(), json!(r));
    }
    for e in elements(v) {
        let name = e.tag_name().name();
        match name {
            "id" | "recommendation" | "workaround" | "detail" => {
                o.insert(name.into(), json!(text_of(e)));
            }
            "source" => {
                o.insert("source".into(), source(e));
            }
            "references" => {
                let refs: Vec<Value> = elements(e)
                    .map(|r| {
                        let mut x = Map::new();
                        if let Some(id) = first(r, "id") {
                            x.insert("id".into(), json!(text_of(id)));
                        }
                        if let Some(s) = first(r, "source") {
                            x.insert("source".into(), source(s));
                        }
                        Value::Object(x)
                    })
                    .collect();
                o.insert("references".into(), Value::Array(refs));
            }
            "ratings" => {
                let ratings: Vec<Value> = elements(e)
                    .map(|r| {
                        let mut x = Map::new();
                        for c in elements(r) {
                            let k = c.tag_name().name();
                            match k {
                                "source" => {
                                    x.insert(k.into(), source(c));
                                }
                                "score" => {
                                    let t = text_of(c);
                                    let n = t
                                        .parse::<f64>()
                                        .ok()
                                        .and_then(serde_json::Number::from_f64)
                                        .map_or(json!(t), Value::Number);
                                    x.insert(k.into(), n);
                                }
                                "severity" | "method" | "vector" => {
                                    x.insert(k.into(), json!(text_of(c)));
                                }
                                _ => {}
                            }
                        }
                        Value::Object(x)
                    })
                    .collect();
                o.insert("ratings".into(), Value::Array(ratings));
            }
            "analysis" => {
                let mut an = Map::new();
                for k in ["state", "justification", "detail"] {
                    if let Some(t) = first(e, k) {
                        an.insert(k.into(), json!(text_of(t)));
                    }
                }
                if let Some(rs) = first(e, "responses") {
                    let list: Vec<Value> = elements(rs).map(|r| json!(text_of(r))).collect();
                    an.insert("response".into(), Value::Array(list));
                }
                o.insert("analysis".into(), Value::Object(an));
            }
            "affects" => {
                let targets: Vec<Value> = elements(e)
                    .map(|t| {
                        let mut x = Map::new();
                        if let Some(r) = first(t, "ref") {
                            x.insert("ref".into(), json!(text_of(r)));
                        }
                        if let Some(vs) = first(t, "versions") {
                            let list: Vec<Value> = elements(vs)
                                .map(|ver| {
                                    let mut y = Map::new();
                                    for k in ["version", "range", "status"] {
                                        if let Some(z) = first(ver, k) {
                                            y.insert(k.into(), json!(text_of(z)));
                                        }
                                    }
                                    Value::Object(y)
                                })
                                .collect();
                            x.insert("versions".into(), Value::Array(list));
                        }
                        Value::Object(x)
                    })
                    .collect();
                o.insert("affects".into(), Value::Array(targets));
            }
            "properties" => {
                let ps: Vec<Value> = elements(e)
                    .map(|p| json!({"name": p.attribute("name").unwrap_or_default(), "value": text_of(p)}))
                    .collect();
                o.insert("properties".into(), Value::Array(ps));
            }
            _ => {}
        }
    }
    Value::Object(o)
}

fn elements<'a, 'i>(n: roxmltree::Node<'a, 'i>) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children().filter(roxmltree::Node::is_element)
}

fn first<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    elements(n).find(|c| c.tag_name().name() == name)
}

fn text_of(n: roxmltree::Node) -> String {
    n.text().unwrap_or_default().trim().to_owned()
}

fn deep(depth: usize, n: roxmltree::Node) -> Result<(), SbomError> {
    if depth > MAX_DEPTH {
        let pos = n.document().text_pos_at(n.range().start);
        return Err(SbomError::TooDeep {
            at: format!("line {} column {}", pos.row, pos.col),
        });
    }
    Ok(())
}

fn metadata(m: roxmltree::Node, depth: usize) -> Result<Value, SbomError> {
    deep(depth, m)?;
    let mut o = Map::new();
    if let Some(t) = first(m, "timestamp") {
        o.insert("timestamp".into(), json!(text_of(t)));
    }
    if let Some(tools) = first(m, "tools") {
        let mut list = Vec::new();
        for t in elements(tools) {
            match t.tag_name().name() {
                "tool" => list.push(tool(t)),
                "components" | "services" => list.extend(elements(t).map(tool)),
                _ => {}
            }
        }
        o.insert("tools".into(), Value::Array(list));
    }
    if let Some(c) = first(m, "component") {
        o.insert("component".into(), component(c, depth + 1)?);
    }
    Ok(Value::Object(o))
}

fn tool(t: roxmltree::Node) -> Value {
    let mut o = Map::new();
    for k in ["name", "version"] {
        if let Some(e) = first(t, k) {
            o.insert(k.into(), json!(text_of(e)));
        }
    }
    Value::Object(o)
}

/// An `organizationalEntity` (name, url*, contact* of name/email/phone).
fn entity(e: roxmltree::Node) -> Value {
    let mut o = Map::new();
    if let Some(n) = first(e, "name") {
        o.insert("name".into(), json!(text_of(n)));
    }
    let urls: Vec<String> = elements(e)
        .filter(|u| u.tag_name().name() == "url")
        .map(text_of)
        .collect();
    if !urls.is_empty() {
        o.insert("url".into(), json!(urls));
    }
    let contacts: Vec<Value> = elements(e)
        .filter(|c| c.tag_name().name() == "contact")
        .map(|c| {
            let mut o = Map::new();
            for k in ["name", "email"] {
                if let Some(x) = first(c, k) {
                    o.insert(k.into(), json!(text_of(x)));
                }
            }
            Value::Object(o)
        })
        .collect();
    if !contacts.is_empty() {
        o.insert("contact".into(), Value::Array(contacts));
    }
    Value::Object(o)
}

fn components(list: roxmltree::Node, depth: usize) -> Result<Value, SbomError> {
    deep(depth, list)?;
    elements(list)
        .filter(|c| c.tag_name().name() == "component")
        .map(|c| component(c, depth + 1))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn component(c: roxmltree::Node, depth: usize) -> Result<Value, SbomError> {
    deep(depth, c)?;
    let mut o = Map::new();
    for (attr, key) in [("type", "type"), ("bom-ref", "bom-ref")] {
        if let Some(v) = c.attribute(attr) {
            o.insert(key.into(), json!(v));
        }
    }
    for e in elements(c) {
        let name = e.tag_name().name();
        match name {
            "group" | "name" | "version" | "purl" => {
                o.insert(name.into(), json!(text_of(e)));
            }
            "supplier" => {
                o.insert("supplier".into(), entity(e));
            }
            "hashes" => {
                let hs: Vec<Value> = elements(e)
                    .map(|h| json!({"alg": h.attribute("alg").unwrap_or_default(), "content": text_of(h)}))
                    .collect();
                o.insert("hashes".into(), Value::Array(hs));
            }
            "licenses" => {
                let mut ls = Vec::new();
                for l in elements(e) {
                    let mut entry = Map::new();
                    match l.tag_name().name() {
                        "license" => {
                            let mut lic = Map::new();
                            for k in ["id", "name"] {
                                if let Some(x) = first(l, k) {
                                    lic.insert(k.into(), json!(text_of(x)));
                                }
                            }
                            entry.insert("license".into(), Value::Object(lic));
                        }
                        "expression" => {
                            entry.insert("expression".into(), json!(text_of(l)));
                        }
                        _ => continue,
                    }
                    if let Some(a) = l.attribute("acknowledgement") {
                        entry.insert("acknowledgement".into(), json!(a));
                    }
                    ls.push(Value::Object(entry));
                }
                o.insert("licenses".into(), Value::Array(ls));
            }
            "properties" => {
                let ps: Vec<Value> = elements(e)
                    .map(|p| json!({"name": p.attribute("name").unwrap_or_default(), "value": text_of(p)}))
                    .collect();
                o.insert("properties".into(), Value::Array(ps));
            }
            "components" => {
                o.insert("components".into(), components(e, depth + 1)?);
            }
            _ => {}
        }
    }
    Ok(Value::Object(o))
}

fn dependencies(
    list: roxmltree::Node,
    depth: usize,
    out: &mut Vec<Value>,
) -> Result<(), SbomError> {
    deep(depth, list)?;
    for d in elements(list).filter(|d| d.tag_name().name() == "dependency") {
        let Some(r) = d.attribute("ref") else {
            continue;
        };
        let on: Vec<Value> = elements(d)
            .filter_map(|x| x.attribute("ref"))
            .map(|x| json!(x))
            .collect();
        out.push(json!({"ref": r, "dependsOn": on}));
        // CycloneDX XML nests a dependency's own dependencies inside it.
        dependencies(d, depth + 1, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::ActorKind;

    #[test]
    fn suppliers_keep_contact_and_url() {
        let doc = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>
            <component type="library"><supplier><name>Jane</name><url>https://jane.example</url>
              <contact><name>Jane</name><email>jane@x.example</email></contact></supplier><name>a</name></component>
            <component type="library"><supplier><contact><email>t@x.example</email></contact></supplier><name>b</name></component>
            <component type="library"><supplier><url>https://c.example</url></supplier><name>c</name></component>
            </components></bom>"#;
        let m = crate::ingest(doc.as_bytes()).unwrap().model;
        let s: Vec<_> = m
            .components
            .iter()
            .map(|c| {
                (
                    c.supplier.as_deref(),
                    c.supplier_kind,
                    c.supplier_email.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            s,
            [
                (
                    Some("Jane"),
                    Some(ActorKind::Person),
                    Some("jane@x.example")
                ),
                (
                    Some("t@x.example"),
                    Some(ActorKind::Organization),
                    Some("t@x.example")
                ),
                (
                    Some("https://c.example"),
                    Some(ActorKind::Organization),
                    None
                ),
            ]
        );
    }
}
