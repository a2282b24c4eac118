//! CSAF 2.0 VEX (OASIS CSAF 2.0, §3.2.3 vulnerabilities, §4.5 the
//! `csaf_vex` profile).
//!
//! Every product id in a vulnerability's `product_status` is a finding. A
//! product id made by a relationship (`default_component_of` and the other
//! categories) is about its `product_reference` *in* the product it relates
//! to, which is read as the release; a product is named by its
//! `product_identification_helper.purl`, and the one product of a document
//! that has no purl and is not a component of another is read as the
//! release. Flags give the justification, `impact` threats the impact
//! statement, remediations the action (and a response, for the categories
//! that have one in CycloneDX).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::{
    arr_of,
    ids::{is_cve, vulnerability_id},
    invalid,
    read::text,
    str_of, ComponentRef, Finding, Findings, Justification, State, Warns,
};
use crate::{check, SbomError};

/// A product of the product tree.
#[derive(Debug, Clone)]
struct Product {
    name: String,
    purl: Option<String>,
}

fn full_product(p: &Value, products: &mut HashMap<String, Product>) {
    let Some(id) = str_of(p, "product_id") else {
        return;
    };
    let purl = p
        .get("product_identification_helper")
        .and_then(|h| str_of(h, "purl"))
        .map(str::trim)
        .filter(|u| check::purl(u).is_ok())
        .map(str::to_owned);
    products.entry(id.to_owned()).or_insert(Product {
        name: str_of(p, "name").unwrap_or(id).to_owned(),
        purl,
    });
}

fn branches(list: &[Value], products: &mut HashMap<String, Product>) {
    for b in list {
        if let Some(p) = b.get("product") {
            full_product(p, products);
        }
        branches(arr_of(b, "branches"), products);
    }
}

/// `product_status` lists and the state each stands for.
const STATUSES: &[(&str, Option<State>)] = &[
    ("known_not_affected", Some(State::NotAffected)),
    ("known_affected", Some(State::Affected)),
    ("first_affected", Some(State::Affected)),
    ("last_affected", Some(State::Affected)),
    ("fixed", Some(State::Fixed)),
    ("first_fixed", Some(State::Fixed)),
    ("under_investigation", Some(State::UnderInvestigation)),
    ("recommended", None),
];

pub(super) fn read(v: &Value, w: &mut Warns) -> Result<(Findings, Vec<String>), SbomError> {
    let doc = v.get("document").unwrap_or(&Value::Null);
    match doc.get("csaf_version") {
        Some(Value::String(s)) if s == "2.0" => {}
        Some(other) => {
            return Err(invalid(
                "/document/csaf_version",
                format!("CSAF {other} is not a version we read; we read CSAF 2.0"),
            ))
        }
        None => return Err(invalid("/document/csaf_version", "is missing")),
    }
    match str_of(doc, "category") {
        Some("csaf_vex") => {}
        Some("csaf_security_advisory") => w.warn(
            "/document/category",
            "a security advisory, not csaf_vex; its product statuses are read as VEX",
        ),
        Some(other) => {
            return Err(invalid(
                "/document/category",
                format!("{other:?} is not csaf_vex: only VEX documents (and security advisories) state product statuses we read"),
            ))
        }
        None => return Err(invalid("/document/category", "is missing")),
    }

    let tree = v.get("product_tree").unwrap_or(&Value::Null);
    let mut products: HashMap<String, Product> = HashMap::new();
    branches(arr_of(tree, "branches"), &mut products);
    for p in arr_of(tree, "full_product_names") {
        full_product(p, &mut products);
    }
    // relationship product id -> (component, product)
    let mut relations: HashMap<String, (String, String)> = HashMap::new();
    for r in arr_of(tree, "relationships") {
        let (Some(fpn), Some(c), Some(to)) = (
            r.get("full_product_name"),
            str_of(r, "product_reference"),
            str_of(r, "relates_to_product_reference"),
        ) else {
            continue;
        };
        if let Some(id) = str_of(fpn, "product_id") {
            relations.insert(id.to_owned(), (c.to_owned(), to.to_owned()));
            full_product(fpn, &mut products);
        }
    }
    let components: BTreeSet<&str> = relations.values().map(|(c, _)| c.as_str()).collect();
    let rel_ids: BTreeSet<&str> = relations.keys().map(String::as_str).collect();
    // The document's own product: the one without a purl that is neither a
    // component nor a relationship.
    let mut tops: Vec<&String> = products
        .iter()
        .filter(|(id, p)| {
            p.purl.is_none() && !components.contains(id.as_str()) && !rel_ids.contains(id.as_str())
        })
        .map(|(id, _)| id)
        .collect();
    tops.sort();
    let the_product = (tops.len() == 1).then(|| tops[0].clone());
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for g in arr_of(tree, "product_groups") {
        if let Some(id) = str_of(g, "group_id") {
            groups.insert(
                id.to_owned(),
                arr_of(g, "product_ids")
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    let ids_of = |x: &Value| -> BTreeSet<String> {
        let mut out: BTreeSet<String> = arr_of(x, "product_ids")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        for g in arr_of(x, "group_ids").iter().filter_map(Value::as_str) {
            out.extend(groups.get(g).into_iter().flatten().cloned());
        }
        out
    };

    let mut warned_product = false;
    let mut warned_relation = false;
    let mut findings = Vec::new();
    let mut origins = Vec::new();
    for (i, vu) in arr_of(v, "vulnerabilities").iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let mut names: Vec<String> = Vec::new();
        if let Some(c) = str_of(vu, "cve").map(str::trim) {
            if !is_cve(c) {
                return Err(invalid(
                    format!("{at}/cve"),
                    format!("{c:?} is not a CVE id"),
                ));
            }
            names.push(c.to_owned());
        }
        for (j, id) in arr_of(vu, "ids").iter().enumerate() {
            match str_of(id, "text").map(str::trim) {
                Some(t) if vulnerability_id(t).is_ok() => {
                    if !names.iter().any(|n| n == t) {
                        names.push(t.to_owned());
                    }
                }
                t => w.warn(
                    format!("{at}/ids/{j}/text"),
                    format!("{t:?} is not a vulnerability id; not kept"),
                ),
            }
        }
        let Some(id) = names.first().cloned() else {
            return Err(invalid(
                at,
                "has neither a cve nor an id (ids[].text) that is a vulnerability id",
            ));
        };
        let aliases: Vec<String> = names[1..].to_vec();

        // Per product: justification, impact, action and responses.
        let mut just: HashMap<String, Justification> = HashMap::new();
        for (j, f) in arr_of(vu, "flags").iter().enumerate() {
            let Some(label) = str_of(f, "label") else {
                continue;
            };
            let Some(l) = Justification::parse(label) else {
                return Err(invalid(
                    format!("{at}/flags/{j}/label"),
                    format!("{label:?} is not a CSAF flag label"),
                ));
            };
            for p in ids_of(f) {
                just.entry(p).or_insert(l);
            }
        }
        let mut impact: HashMap<String, Vec<String>> = HashMap::new();
        for t in arr_of(vu, "threats") {
            if str_of(t, "category") != Some("impact") {
                continue;
            }
            if let Some(d) = text(str_of(t, "details")) {
                for p in ids_of(t) {
                    impact.entry(p).or_default().push(d.clone());
                }
            }
        }
        let mut action: HashMap<String, Vec<String>> = HashMap::new();
        let mut response: HashMap<String, Vec<String>> = HashMap::new();
        for r in arr_of(vu, "remediations") {
            let resp = match str_of(r, "category") {
                Some("vendor_fix") => Some("update"),
                Some("workaround") => Some("workaround_available"),
                Some("no_fix_planned") => Some("will_not_fix"),
                _ => None,
            };
            let d = text(str_of(r, "details"));
            for p in ids_of(r) {
                if let Some(d) = &d {
                    action.entry(p.clone()).or_default().push(d.clone());
                }
                if let Some(x) = resp {
                    let l = response.entry(p).or_default();
                    if !l.iter().any(|y| y == x) {
                        l.push(x.to_owned());
                    }
                }
            }
        }

        let status = vu.get("product_status").unwrap_or(&Value::Null);
        let mut seen: BTreeMap<String, (State, String)> = BTreeMap::new();
        for (list, state) in STATUSES {
            for (j, pid) in arr_of(status, list).iter().enumerate() {
                let pat = format!("{at}/product_status/{list}/{j}");
                let Some(pid) = pid.as_str() else { continue };
                let Some(state) = *state else {
                    w.warn(pat, "recommended is not a VEX status; skipped");
                    continue;
                };
                if let Some((other, oat)) = seen.get(pid) {
                    if *other != state {
                        return Err(invalid(
                            pat,
                            format!(
                                "{pid:?} is also {} at {oat}; which holds is not clear",
                                other.name()
                            ),
                        ));
                    }
                    continue;
                }
                seen.insert(pid.to_owned(), (state, pat.clone()));
                let component = match relations.get(pid) {
                    Some((c, _)) => {
                        if !warned_relation {
                            warned_relation = true;
                            w.warn(
                                &pat,
                                "a component of a product is read as that component in the release this VEX is for",
                            );
                        }
                        match products.get(c) {
                            Some(Product { purl: Some(p), .. }) => purl(p),
                            _ => reference(c),
                        }
                    }
                    None => match products.get(pid) {
                        Some(Product { purl: Some(p), .. }) => purl(p),
                        Some(p) if the_product.as_deref() == Some(pid) => {
                            if !warned_product {
                                warned_product = true;
                                w.warn(
                                    &pat,
                                    format!(
                                        "{pid:?} is the document's product {:?}; read as the release this VEX is for",
                                        p.name
                                    ),
                                );
                            }
                            reference(&format!("release:{}", p.name))
                        }
                        Some(_) => reference(pid),
                        None => {
                            return Err(invalid(
                                pat,
                                format!("{pid:?} is not a product of the product tree"),
                            ))
                        }
                    },
                };
                let justification = just.get(pid).copied();
                let mut imp = impact.get(pid).cloned().unwrap_or_default();
                let mut notes = Vec::new();
                let impact_text = match state {
                    State::NotAffected => (!imp.is_empty()).then(|| imp.join("\n\n")),
                    _ => {
                        notes.append(&mut imp);
                        None
                    }
                };
                if justification.is_some() && state != State::NotAffected {
                    w.warn(
                        &pat,
                        format!("a flag on a product that is {}; dropped", state.name()),
                    );
                }
                findings.push(Finding {
                    id: id.clone(),
                    aliases: aliases.clone(),
                    source: None,
                    component,
                    reachability: None,
                    state,
                    justification: justification.filter(|_| state == State::NotAffected),
                    cyclonedx_justification: None,
                    response: match state {
                        State::Affected | State::Fixed => {
                            response.get(pid).cloned().unwrap_or_default()
                        }
                        _ => Vec::new(),
                    },
                    impact: impact_text,
                    action: match state {
                        State::Affected | State::Fixed => action.get(pid).map(|a| a.join("\n\n")),
                        _ => None,
                    },
                    fixed_in: None,
                    detail: (!notes.is_empty()).then(|| notes.join("\n\n")),
                    ratings: Vec::new(),
                    timestamp: None,
                });
                origins.push(pat);
            }
        }
    }
    Ok((
        Findings {
            analyzer: None,
            findings,
        },
        origins,
    ))
}

fn purl(p: &str) -> ComponentRef {
    ComponentRef {
        purl: Some(p.to_owned()),
        reference: None,
    }
}

fn reference(r: &str) -> ComponentRef {
    ComponentRef {
        purl: None,
        reference: Some(r.to_owned()),
    }
}
