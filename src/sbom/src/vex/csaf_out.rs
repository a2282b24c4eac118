//! CSAF 2.0, profile `csaf_vex` (OASIS CSAF 2.0 §4.5), written so that the
//! strict schema and every mandatory test pass (§6.1, including the VEX
//! profile tests 6.1.27.4–.11).
//!
//! The product tree has the release under vendor → product name → product
//! version branches (`CSAFPID-0001`, identified by its artefacts' SHA-256
//! and the subject's purl), each component a statement is about as a full
//! product name with its purl (`CSAFPID-C…`), and a `default_component_of`
//! relationship (`CSAFPID-R…`) per component, so that every status is about
//! the component *in* the release. One vulnerability per CVE (§6.1.23
//! forbids two) or, without one, per id.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    ids::is_cve, reachability_line, response_sentence, update_to, State, Statement, Target,
    VexMeta, DERIVED, FALSE_POSITIVE, NO_REMEDIATION,
};
use crate::export::{date_time, pretty_json, View};

const PRODUCT_ID: &str = "CSAFPID-0001";

#[derive(Serialize)]
struct Csaf<'a> {
    document: Document<'a>,
    product_tree: ProductTree,
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Serialize)]
struct Document<'a> {
    category: &'static str,
    csaf_version: &'static str,
    lang: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<Note>,
    publisher: Publisher<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    title: String,
    tracking: Tracking,
}

#[derive(Serialize)]
struct Publisher<'a> {
    category: &'static str,
    name: &'a str,
    namespace: String,
}

#[derive(Serialize)]
struct Tracking {
    current_release_date: String,
    generator: Generator,
    id: String,
    initial_release_date: String,
    revision_history: Vec<Revision>,
    status: &'static str,
    version: String,
}

#[derive(Serialize)]
struct Generator {
    engine: Engine,
}

#[derive(Serialize)]
struct Engine {
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct Revision {
    date: String,
    number: String,
    summary: String,
}

#[derive(Serialize)]
struct ProductTree {
    branches: Vec<Branch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    full_product_names: Vec<FullProductName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct Branch {
    category: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    branches: Vec<Branch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<FullProductName>,
}

#[derive(Serialize)]
struct FullProductName {
    name: String,
    product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_identification_helper: Option<Helper>,
}

#[derive(Serialize, Default)]
struct Helper {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<FileHashes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
}

#[derive(Serialize)]
struct FileHashes {
    file_hashes: Vec<FileHash>,
    filename: String,
}

#[derive(Serialize)]
struct FileHash {
    algorithm: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Relationship {
    category: &'static str,
    full_product_name: FullProductName,
    product_reference: String,
    relates_to_product_reference: &'static str,
}

#[derive(Serialize)]
struct Vulnerability {
    #[serde(skip_serializing_if = "Option::is_none")]
    cve: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flags: Vec<Flag>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ids: Vec<Id>,
    notes: Vec<Note>,
    product_status: ProductStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remediations: Vec<Remediation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    threats: Vec<Threat>,
}

#[derive(Serialize)]
struct Flag {
    label: &'static str,
    product_ids: Vec<String>,
}

#[derive(Serialize)]
struct Id {
    system_name: String,
    text: String,
}

#[derive(Serialize)]
struct Note {
    category: &'static str,
    text: String,
    title: String,
}

#[derive(Serialize, Default)]
struct ProductStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    known_affected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    known_not_affected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    under_investigation: Vec<String>,
}

#[derive(Serialize)]
struct Reference {
    category: &'static str,
    summary: String,
    url: String,
}

#[derive(Serialize)]
struct Remediation {
    category: &'static str,
    details: String,
    product_ids: Vec<String>,
}

#[derive(Serialize)]
struct Threat {
    category: &'static str,
    details: String,
    product_ids: Vec<String>,
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => url.to_owned(),
    }
}

/// Letters, digits and `+ - . _`; anything else becomes `_` (so the
/// tracking id also makes the CSAF file name of §5.1 unchanged).
fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A product version name that §6.1.31 reads as a version range.
fn looks_like_range(v: &str) -> bool {
    let l = v.to_lowercase();
    l.contains('<')
        || l.contains('>')
        || l.split_whitespace().any(|w| {
            [
                "after", "all", "before", "earlier", "later", "prior", "versions",
            ]
            .contains(&w)
        })
}

/// A statement's CSAF status; `true` when it is about why it is not affected.
fn status_of(s: &Statement) -> &'static str {
    let says_why = s.justification.is_some() || s.impact.is_some();
    match s.state {
        State::NotAffected => "known_not_affected",
        State::FalsePositive if says_why => "known_not_affected",
        State::FalsePositive | State::UnderInvestigation => "under_investigation",
        State::Affected => "known_affected",
        State::Fixed => "fixed",
    }
}

/// The remediation a statement has (module docs: the remediation table).
fn remediation_of(s: &Statement) -> Option<(&'static str, String)> {
    if !matches!(s.state, State::Affected | State::Fixed) {
        return None;
    }
    if let Some(v) = &s.fixed_in {
        return Some((
            "vendor_fix",
            s.action.clone().unwrap_or_else(|| update_to(v)),
        ));
    }
    for (responses, category) in [
        (&["update", "rollback"][..], "vendor_fix"),
        (&["workaround_available"][..], "workaround"),
        (&["will_not_fix", "can_not_fix"][..], "no_fix_planned"),
    ] {
        if let Some(r) = s.response.iter().find(|r| responses.contains(&r.as_str())) {
            let details = s
                .action
                .clone()
                .or_else(|| response_sentence(r).map(str::to_owned))
                .unwrap_or_else(|| NO_REMEDIATION.to_owned());
            return Some((category, details));
        }
    }
    match (&s.action, s.state) {
        (Some(a), _) => Some(("mitigation", a.clone())),
        (None, State::Affected) => Some(("none_available", NO_REMEDIATION.to_owned())),
        _ => None,
    }
}

pub(crate) fn write<'a>(
    sorted: &[&'a Statement],
    view: &View,
    meta: &VexMeta,
    advisory: Option<&super::Advisory>,
) -> Vec<u8> {
    let product_name = format!("{} {}", view.product, view.product_version);
    // Component product ids, in statement order of first use.
    let mut comp_ids: BTreeMap<Target<'_>, (String, String)> = BTreeMap::new();
    let mut full_product_names = Vec::new();
    let mut relationships = Vec::new();
    let mut pid_of = |t: Target<'a>| -> (String, String) {
        if let Some(x) = comp_ids.get(&t) {
            return x.clone();
        }
        let n = comp_ids.len() + 1;
        let (cid, rid) = (format!("CSAFPID-C{n:04}"), format!("CSAFPID-R{n:04}"));
        let (name, purl) = match t {
            Target::Item(k) => {
                let c = &view.items[k];
                (
                    match &c.version {
                        Some(v) => format!("{} {v}", c.name),
                        None => c.name.to_string(),
                    },
                    c.purl.clone(),
                )
            }
            Target::Missing(p) => (p.to_owned(), Some(p.to_owned())),
            Target::Product => unreachable!("the product is not a component"),
        };
        full_product_names.push(FullProductName {
            name: name.clone(),
            product_id: cid.clone(),
            product_identification_helper: purl.map(|purl| Helper {
                hashes: Vec::new(),
                purl: Some(purl),
            }),
        });
        relationships.push(Relationship {
            category: "default_component_of",
            full_product_name: FullProductName {
                name: format!("{name} as a component of {product_name}"),
                product_id: rid.clone(),
                product_identification_helper: None,
            },
            product_reference: cid.clone(),
            relates_to_product_reference: PRODUCT_ID,
        });
        comp_ids.insert(t, (cid, name.clone()));
        (rid, name)
    };

    // Statements grouped into CSAF vulnerabilities: by CVE, else by id.
    let mut groups: BTreeMap<String, Vec<(&Statement, String, String)>> = BTreeMap::new();
    for s in sorted {
        let Some(t) = super::target(s, view) else {
            continue;
        };
        let (pid, label) = match t {
            Target::Item(k) if Some(k) == view.subject_at => {
                (PRODUCT_ID.to_owned(), product_name.clone())
            }
            Target::Product => (PRODUCT_ID.to_owned(), product_name.clone()),
            t => {
                let (rid, name) = pid_of(t);
                (rid, format!("{name} in {product_name}"))
            }
        };
        let key = if is_cve(&s.vulnerability) {
            s.vulnerability.clone()
        } else {
            let mut cves: Vec<&String> = s.aliases.iter().filter(|a| is_cve(a)).collect();
            cves.sort();
            cves.first()
                .map(|c| (*c).clone())
                .unwrap_or_else(|| s.vulnerability.clone())
        };
        groups.entry(key).or_default().push((s, pid, label));
    }

    let vulnerabilities = groups
        .into_iter()
        .map(|(key, list)| vulnerability(key, list))
        .collect();

    let base = meta.id_base.trim_end_matches('/');
    let version = meta.version.max(1);
    let mut history: BTreeMap<u32, i64> = meta
        .history
        .iter()
        .filter(|(v, _)| *v <= version && *v >= 1)
        .copied()
        .collect();
    history.insert(version, meta.published_at);
    let revision_history: Vec<Revision> = history
        .iter()
        .map(|(v, t)| Revision {
            date: date_time(*t),
            number: v.to_string(),
            summary: match advisory {
                Some(_) => "Initial release.".to_owned(),
                None => format!("VEX version {v}."),
            },
        })
        .collect();
    let author = match meta.author.trim() {
        "" => view.release.tenant.as_str(),
        a => a,
    };
    let mut helper = Helper {
        hashes: view
            .release
            .artefacts
            .iter()
            .map(|(name, digest)| FileHashes {
                file_hashes: vec![FileHash {
                    algorithm: "sha256",
                    value: digest.clone(),
                }],
                filename: name.clone(),
            })
            .collect(),
        purl: None,
    };
    helper.purl = view.subject_at.and_then(|k| view.items[k].purl.clone());
    let product = FullProductName {
        name: product_name.clone(),
        product_id: PRODUCT_ID.to_owned(),
        product_identification_helper: (!helper.hashes.is_empty() || helper.purl.is_some())
            .then_some(helper),
    };
    let version_branch = if looks_like_range(&view.product_version) {
        None
    } else {
        Some(view.product_version.to_string())
    };
    let product_branch = match version_branch {
        Some(v) => Branch {
            category: "product_name",
            name: view.product.to_string(),
            branches: vec![Branch {
                category: "product_version",
                name: v,
                branches: Vec::new(),
                product: Some(product),
            }],
            product: None,
        },
        None => Branch {
            category: "product_name",
            name: view.product.to_string(),
            branches: Vec::new(),
            product: Some(product),
        },
    };
    // A security advisory (§4.3) has a summary note and an external
    // reference (tests 6.1.27.1 and .2), its own title and tracking id.
    let (category, title, notes, references) = match advisory {
        None => (
            "csaf_vex",
            format!("{product_name} VEX"),
            Vec::new(),
            Vec::new(),
        ),
        Some(a) => (
            "csaf_security_advisory",
            a.title.clone(),
            vec![Note {
                category: "summary",
                text: a.summary.clone(),
                title: "Summary".into(),
            }],
            vec![Reference {
                category: "external",
                summary: a
                    .reference
                    .as_ref()
                    .map_or_else(|| product_name.clone(), |_| "Details".to_owned()),
                url: a
                    .reference
                    .clone()
                    .unwrap_or_else(|| format!("{base}/advisories/{}", sanitise(&a.id))),
            }],
        ),
    };
    let doc = Csaf {
        document: Document {
            category,
            csaf_version: "2.0",
            lang: "en",
            notes,
            publisher: Publisher {
                category: "vendor",
                name: author,
                namespace: origin(base),
            },
            references,
            title,
            tracking: Tracking {
                current_release_date: date_time(meta.published_at),
                generator: Generator {
                    engine: Engine {
                        name: "evident",
                        version: view.release.tool_version.clone(),
                    },
                },
                id: match advisory {
                    Some(a) => sanitise(&a.id),
                    None => sanitise(&format!(
                        "{}-{}-vex",
                        view.release.product, view.release.tag
                    )),
                },
                initial_release_date: revision_history
                    .first()
                    .map(|r| r.date.clone())
                    .unwrap_or_else(|| date_time(meta.published_at)),
                revision_history,
                status: "final",
                version: version.to_string(),
            },
        },
        product_tree: ProductTree {
            branches: vec![Branch {
                category: "vendor",
                name: author.to_owned(),
                branches: vec![product_branch],
                product: None,
            }],
            full_product_names,
            relationships,
        },
        vulnerabilities,
    };
    pretty_json(&doc, 1500 * sorted.len() + 4096)
}

fn vulnerability(key: String, list: Vec<(&Statement, String, String)>) -> Vulnerability {
    let cve = is_cve(&key).then(|| key.clone());
    let mut ids: Vec<Id> = Vec::new();
    let mut push_id = |id: &str| {
        if Some(id) != cve.as_deref() && !ids.iter().any(|x| x.text == id) {
            let system_name = if is_cve(id) {
                "CVE".to_owned()
            } else if id.starts_with("GHSA-") {
                "GitHub Security Advisory".to_owned()
            } else {
                id.split('-').next().unwrap_or(id).to_owned()
            };
            ids.push(Id {
                system_name,
                text: id.to_owned(),
            });
        }
    };
    for (s, _, _) in &list {
        push_id(&s.vulnerability);
        for a in &s.aliases {
            push_id(a);
        }
    }
    let mut status = ProductStatus::default();
    let mut flags: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut threats: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut remediations: BTreeMap<(&'static str, String), Vec<String>> = BTreeMap::new();
    let mut references: Vec<Reference> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (s, pid, label) in &list {
        // One status per product (§6.1.6); resolve already made it so.
        if seen.contains(&pid.as_str()) {
            continue;
        }
        seen.push(pid);
        let st = status_of(s);
        let list = match st {
            "known_not_affected" => &mut status.known_not_affected,
            "known_affected" => &mut status.known_affected,
            "fixed" => &mut status.fixed,
            _ => &mut status.under_investigation,
        };
        list.push(pid.clone());
        let not_affected = st == "known_not_affected";
        if not_affected {
            if let Some(j) = s.justification {
                flags.entry(j.name()).or_default().push(pid.clone());
            }
            if let Some(i) = &s.impact {
                threats.entry(i.clone()).or_default().push(pid.clone());
            }
        }
        let rem = remediation_of(s);
        if let Some((category, details)) = &rem {
            remediations
                .entry((category, details.clone()))
                .or_default()
                .push(pid.clone());
        }
        if let Some(src) = &s.source {
            if let Some(url) = &src.url {
                if !references.iter().any(|r| &r.url == url) {
                    references.push(Reference {
                        category: "external",
                        summary: src.name.clone(),
                        url: url.clone(),
                    });
                }
            }
        }
        let mut parts: Vec<String> = Vec::new();
        if s.state == State::FalsePositive {
            parts.push(FALSE_POSITIVE.to_owned());
        }
        if not_affected && s.justification_derived {
            parts.push(DERIVED.to_owned());
        }
        if !not_affected {
            parts.extend(s.impact.clone());
        }
        let action_used = rem
            .as_ref()
            .is_some_and(|(_, d)| Some(d) == s.action.as_ref());
        if !action_used {
            parts.extend(s.action.clone());
        }
        if let Some(v) = &s.fixed_in {
            parts.push(format!("Fixed in version {v}."));
        }
        parts.extend(s.detail.clone());
        parts.extend(s.reachability.as_ref().map(reachability_line));
        if !parts.is_empty() {
            notes.push(Note {
                category: "details",
                text: parts.join("\n\n"),
                title: label.clone(),
            });
        }
    }
    // §6.1.27.5: a VEX vulnerability has notes.
    if notes.is_empty() {
        notes.push(Note {
            category: "general",
            text: "The vendor stated no details beyond the product status.".into(),
            title: "Status".into(),
        });
    }
    Vulnerability {
        cve,
        flags: flags
            .into_iter()
            .map(|(label, product_ids)| Flag { label, product_ids })
            .collect(),
        ids,
        notes,
        product_status: status,
        references,
        remediations: remediations
            .into_iter()
            .map(|((category, details), product_ids)| Remediation {
                category,
                details,
                product_ids,
            })
            .collect(),
        threats: threats
            .into_iter()
            .map(|(details, product_ids)| Threat {
                category: "impact",
                details,
                product_ids,
            })
            .collect(),
    }
}
