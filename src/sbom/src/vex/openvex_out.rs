//! OpenVEX 0.2.0 (openvex/spec `OPENVEX-SPEC.md` v0.2.0).
//!
//! The products of every statement are the release: one product per
//! artefact (`@id` `<id_base>#artefact/<name>`, `hashes: {"sha-256": …}`)
//! and, when the model's subject has a purl, one named by that purl. A
//! statement about a component lists it as a subcomponent of each (by
//! purl; without one by `<id_base>#component/<bom-ref>` and its hashes).
//! Every `@id` is an absolute IRI. go-vex's `Statement.Validate` rules are
//! kept: `not_affected` has a justification or an impact statement and no
//! action; `affected` has an action and no justification; `fixed` and
//! `under_investigation` have none of the three (what they would say goes
//! into `status_notes`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    ids::pct_encode, reachability_line, State, Statement, Target, VexMeta, DERIVED, FALSE_POSITIVE,
    NO_REMEDIATION,
};
use crate::{
    export::{date_time, pretty_json, View},
    model::Component,
};

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@id")]
    id: String,
    author: &'a str,
    timestamp: String,
    last_updated: String,
    version: u32,
    tooling: String,
    statements: Vec<St<'a>>,
}

#[derive(Serialize)]
struct St<'a> {
    vulnerability: Vuln<'a>,
    products: Vec<Product>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact_statement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_statement: Option<&'a str>,
}

#[derive(Serialize)]
struct Vuln<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    aliases: &'a [String],
}

#[derive(Serialize, Clone)]
struct Product {
    #[serde(rename = "@id")]
    id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    identifiers: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    hashes: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subcomponents: Vec<Sub>,
}

#[derive(Serialize, Clone)]
struct Sub {
    #[serde(rename = "@id")]
    id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    identifiers: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    hashes: BTreeMap<&'static str, String>,
}

/// OpenVEX hash names (its `hashes` keys) for CycloneDX algorithms.
fn hash_name(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "MD5" => "md5",
        "SHA-1" => "sha1",
        "SHA-256" => "sha-256",
        "SHA-384" => "sha-384",
        "SHA-512" => "sha-512",
        "SHA3-256" => "sha3-256",
        "SHA3-384" => "sha3-384",
        "SHA3-512" => "sha3-512",
        "BLAKE2b-256" => "blake2b-256",
        "BLAKE2b-512" => "blake2b-512",
        _ => return None,
    })
}

fn purl_ids(p: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([("purl", p.to_owned())])
}

fn sub_of(c: &Component, bom_ref: &str, base: &str) -> Sub {
    match &c.purl {
        Some(p) => Sub {
            id: p.clone(),
            identifiers: purl_ids(p),
            hashes: BTreeMap::new(),
        },
        None => Sub {
            id: format!("{base}#component/{}", pct_encode(bom_ref, b"")),
            identifiers: BTreeMap::new(),
            hashes: c
                .hashes
                .iter()
                .filter_map(|(a, h)| Some((hash_name(a)?, h.clone())))
                .collect(),
        },
    }
}

pub(crate) fn write(sorted: &[&Statement], view: &View, meta: &VexMeta) -> Vec<u8> {
    let base = meta.id_base.trim_end_matches('/');
    let subject_purl = view.subject_at.and_then(|k| view.items[k].purl.clone());
    // The release, as the products of every statement.
    let mut release: Vec<Product> = view
        .release
        .artefacts
        .iter()
        .map(|(name, digest)| Product {
            id: format!("{base}#artefact/{}", pct_encode(name, b"")),
            identifiers: BTreeMap::new(),
            hashes: BTreeMap::from([("sha-256", digest.clone())]),
            subcomponents: Vec::new(),
        })
        .collect();
    if let Some(p) = &subject_purl {
        release.push(Product {
            id: p.clone(),
            identifiers: purl_ids(p),
            hashes: BTreeMap::new(),
            subcomponents: Vec::new(),
        });
    }
    if release.is_empty() {
        release.push(Product {
            id: base.to_owned(),
            identifiers: BTreeMap::new(),
            hashes: BTreeMap::new(),
            subcomponents: Vec::new(),
        });
    }
    let mut statements = Vec::with_capacity(sorted.len());
    for s in sorted {
        let Some(t) = super::target(s, view) else {
            continue;
        };
        let sub = match t {
            Target::Item(k) if Some(k) == view.subject_at => None,
            Target::Item(k) => Some(sub_of(&view.items[k], &view.bom_refs[k], base)),
            Target::Product => None,
            Target::Missing(p) => Some(Sub {
                id: p.to_owned(),
                identifiers: purl_ids(p),
                hashes: BTreeMap::new(),
            }),
        };
        let products = release
            .iter()
            .map(|p| Product {
                subcomponents: sub.iter().cloned().collect(),
                ..p.clone()
            })
            .collect();
        statements.push(statement(s, products));
    }
    let now = date_time(meta.published_at);
    let author = meta.author.trim();
    pretty_json(
        &Doc {
            context: "https://openvex.dev/ns/v0.2.0",
            id: format!("{base}/vex/{}", meta.version),
            author: if author.is_empty() {
                &view.release.tenant
            } else {
                author
            },
            timestamp: now.clone(),
            last_updated: now,
            version: meta.version.max(1),
            tooling: view.tool(),
            statements,
        },
        900 * sorted.len() + 1024,
    )
}

fn statement<'a>(s: &'a Statement, products: Vec<Product>) -> St<'a> {
    let says_why = s.justification.is_some() || s.impact.is_some();
    let status = match s.state {
        State::NotAffected => "not_affected",
        State::FalsePositive if says_why => "not_affected",
        State::FalsePositive | State::UnderInvestigation => "under_investigation",
        State::Affected => "affected",
        State::Fixed => "fixed",
    };
    let mut notes: Vec<String> = Vec::new();
    if s.state == State::FalsePositive {
        notes.push(FALSE_POSITIVE.to_owned());
    }
    let not_affected = status == "not_affected";
    if not_affected && s.justification_derived {
        notes.push(DERIVED.to_owned());
    }
    if !not_affected {
        notes.extend(s.impact.clone());
    }
    if status != "affected" {
        notes.extend(s.action.clone());
    }
    if let Some(v) = &s.fixed_in {
        notes.push(format!("Fixed in version {v}."));
    }
    notes.extend(s.detail.clone());
    notes.extend(s.reachability.as_ref().map(reachability_line));
    St {
        vulnerability: Vuln {
            name: &s.vulnerability,
            aliases: &s.aliases,
        },
        products,
        status,
        status_notes: (!notes.is_empty()).then(|| notes.join("\n\n")),
        justification: s.justification.filter(|_| not_affected).map(|j| j.name()),
        impact_statement: s.impact.as_deref().filter(|_| not_affected),
        action_statement: (status == "affected")
            .then(|| s.action.as_deref().unwrap_or(NO_REMEDIATION)),
    }
}
