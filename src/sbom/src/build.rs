//! From a format reader's raw output to the canonical [`Model`].

use std::{
    cmp::Ordering,
    collections::{BTreeSet, HashMap},
};

use crate::{
    model::{Component, DocumentInfo, Model, SourceFormat, Warning},
    text, Ingested,
};

/// A component as a reader found it, with the document's own ref.
#[derive(Debug, Clone)]
pub(crate) struct RawComponent {
    /// `bom-ref` or `SPDXID`.
    pub refid: Option<String>,
    /// Where it was found, for warnings.
    pub at: String,
    pub c: Component,
}

/// What a reader produces.
#[derive(Debug)]
pub(crate) struct RawDoc {
    pub format: SourceFormat,
    pub spec_version: String,
    pub document: DocumentInfo,
    pub subject: Option<RawComponent>,
    pub components: Vec<RawComponent>,
    /// `(from ref, to ref, where)`.
    pub edges: Vec<(String, String, String)>,
    pub warnings: Vec<Warning>,
}

impl RawDoc {
    pub fn new(format: SourceFormat, spec_version: String) -> Self {
        Self {
            format,
            spec_version,
            document: DocumentInfo::default(),
            subject: None,
            components: Vec::new(),
            edges: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn warn(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            at: at.into(),
            message: message.into(),
        });
    }
}

/// The canonical order: by purl (components without one last), then by the
/// rest of their content. Ties keep document order.
pub(crate) fn order_of(a: &Component, b: &Component) -> Ordering {
    (
        a.purl.is_none(),
        &a.purl,
        &a.name,
        &a.version,
        &a.kind,
        &a.supplier,
    )
        .cmp(&(
            b.purl.is_none(),
            &b.purl,
            &b.name,
            &b.version,
            &b.kind,
            &b.supplier,
        ))
        .then_with(|| a.hashes.cmp(&b.hashes))
        .then_with(|| a.declared.cmp(&b.declared))
        .then_with(|| a.concluded.cmp(&b.concluded))
        .then_with(|| a.supplier_kind.cmp(&b.supplier_kind))
        .then_with(|| a.supplier_email.cmp(&b.supplier_email))
}

/// Replaces characters XML 1.0 cannot carry (controls other than tab, line
/// feed and carriage return; U+FFFE, U+FFFF) with U+FFFD, so every export
/// format can hold every value. Returns whether anything changed.
pub(crate) fn clean(s: &mut String) -> bool {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if !s.chars().any(bad) {
        return false;
    }
    *s = s
        .chars()
        .map(|c| if bad(c) { '\u{FFFD}' } else { c })
        .collect();
    true
}

fn clean_component(c: &mut Component) -> bool {
    let mut changed = clean(&mut c.name) | clean(&mut c.kind);
    for s in [
        &mut c.version,
        &mut c.purl,
        &mut c.supplier,
        &mut c.supplier_email,
    ]
    .into_iter()
    .flatten()
    {
        changed |= clean(s);
    }
    for l in [&mut c.declared, &mut c.concluded].into_iter().flatten() {
        match l {
            crate::model::License::Spdx(s) => changed |= clean(s),
            crate::model::License::Named(v) => {
                for s in v {
                    changed |= clean(s);
                }
            }
        }
    }
    changed
}

/// Puts the single-line values of a component on one line, and quotes the
/// names and versions SPDX tag-value would misread (see [`crate::text`]).
/// Returns whether line breaks were joined and whether anything was quoted.
pub(crate) fn one_line_component(c: &mut Component) -> (bool, bool) {
    let (mut joined, mut quoted) = (false, false);
    for (s, quote) in [
        (Some(&mut c.name), true),
        (c.version.as_mut(), true),
        (c.supplier.as_mut(), false),
    ] {
        let Some(s) = s else { continue };
        let line = text::single_line(s);
        let new = if quote {
            text::line_value(&line)
        } else {
            line.clone()
        };
        joined |= line != s.as_str();
        quoted |= new != line;
        if new != s.as_str() {
            *s = new.into_owned();
        }
    }
    (joined, quoted)
}

pub(crate) fn finish(mut raw: RawDoc) -> Ingested {
    let mut comps = std::mem::take(&mut raw.components);
    let mut dirty = Vec::new();
    let mut odd_versions = Vec::new();
    let (mut joined, mut quoted) = (Vec::new(), Vec::new());
    for rc in comps.iter_mut().chain(raw.subject.iter_mut()) {
        if clean_component(&mut rc.c) {
            dirty.push(rc.at.clone());
        }
        // SPDX keywords are not versions.
        if rc
            .c
            .version
            .as_deref()
            .is_some_and(|v| v == "NOASSERTION" || v == "NONE")
        {
            rc.c.version = None;
            odd_versions.push(rc.at.clone());
        }
        let (j, q) = one_line_component(&mut rc.c);
        if j {
            joined.push(rc.at.clone());
        }
        if q {
            quoted.push(rc.at.clone());
        }
        // CycloneDX caps versions at 1024 characters.
        if rc
            .c
            .version
            .as_deref()
            .is_some_and(|v| v.chars().count() > 1024)
        {
            rc.c.version = None;
            odd_versions.push(rc.at.clone());
        }
    }
    if let Some(first) = joined.first() {
        raw.warn(
            first.clone(),
            format!(
                "{} component(s) had line breaks in a name, version or supplier; SPDX needs those on one line, so each break became a space",
                joined.len()
            ),
        );
    }
    if let Some(first) = quoted.first() {
        raw.warn(
            first.clone(),
            format!(
                "{} component(s) have a name or version that SPDX tag-value would read as a keyword, tag, actor, checksum or date (such as NONE or 2024-01-01T00:00:00Z); it is kept in double quotes",
                quoted.len()
            ),
        );
    }
    if let Some(first) = odd_versions.first() {
        let n = odd_versions.len();
        raw.warn(
            first.clone(),
            format!("{n} version(s) were NOASSERTION, NONE or longer than 1024 characters; read as no version"),
        );
    }
    // A subject listed again among the components (same ref) is one component.
    if let Some(sref) = raw.subject.as_ref().and_then(|s| s.refid.clone()) {
        let before = comps.len();
        comps.retain(|rc| rc.refid.as_deref() != Some(sref.as_str()));
        if comps.len() != before {
            raw.warn(
                "/components",
                format!("the subject {sref:?} is listed again among the components; read as one"),
            );
        }
    }
    if let Some(first) = dirty.first() {
        let n = dirty.len();
        raw.warn(
            first.clone(),
            format!(
                "{n} component(s) had control characters in their values; replaced with U+FFFD"
            ),
        );
    }
    for s in [
        &mut raw.document.serial_number,
        &mut raw.document.namespace,
        &mut raw.document.name,
        &mut raw.document.created,
    ]
    .into_iter()
    .flatten()
    {
        clean(s);
    }
    for t in &mut raw.document.tools {
        clean(t);
    }
    // Stable sort: equal components keep their document order.
    comps.sort_by(|a, b| order_of(&a.c, &b.c));

    const SUBJECT: u32 = u32::MAX;
    let mut index: HashMap<String, u32> = HashMap::with_capacity(comps.len() + 1);
    if let Some(s) = raw.subject.as_ref().and_then(|s| s.refid.clone()) {
        index.insert(s, SUBJECT);
    }
    for (i, rc) in comps.iter().enumerate() {
        if let Some(r) = &rc.refid {
            if index.insert(r.clone(), i as u32).is_some() {
                let (at, r) = (rc.at.clone(), r.clone());
                raw.warn(
                    at,
                    format!("ref {r:?} is used by more than one component; dependencies name the last one"),
                );
            }
        }
    }

    let mut deps: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); comps.len()];
    let mut subject_deps = BTreeSet::new();
    let mut unknown = 0usize;
    let mut first_unknown = None;
    for (from, to, at) in std::mem::take(&mut raw.edges) {
        let (Some(&f), Some(&t)) = (index.get(&from), index.get(&to)) else {
            unknown += 1;
            first_unknown.get_or_insert((at, from, to));
            continue;
        };
        if f == t || t == SUBJECT {
            continue;
        }
        if f == SUBJECT {
            subject_deps.insert(t);
        } else {
            deps[f as usize].insert(t);
        }
    }
    if let Some((at, from, to)) = first_unknown {
        raw.warn(
            at,
            format!(
                "{unknown} dependency edge(s) name a ref that no component has (first: {from:?} -> {to:?}); they were dropped"
            ),
        );
    }

    let components = comps
        .into_iter()
        .zip(deps)
        .map(|(rc, d)| Component {
            depends_on: d.into_iter().collect(),
            ..rc.c
        })
        .collect();
    let subject = raw.subject.map(|s| Component {
        depends_on: subject_deps.into_iter().collect(),
        ..s.c
    });
    Ingested {
        model: Model {
            format: raw.format,
            spec_version: raw.spec_version,
            document: raw.document,
            subject,
            components,
        },
        warnings: raw.warnings,
    }
}

/// Maps a hash algorithm name from either spec to CycloneDX's spelling.
pub(crate) fn hash_alg(name: &str) -> Option<&'static str> {
    let n: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match n.as_str() {
        "MD5" => "MD5",
        "SHA1" => "SHA-1",
        "SHA256" => "SHA-256",
        "SHA384" => "SHA-384",
        "SHA512" => "SHA-512",
        "SHA3256" => "SHA3-256",
        "SHA3384" => "SHA3-384",
        "SHA3512" => "SHA3-512",
        "BLAKE2B256" => "BLAKE2b-256",
        "BLAKE2B384" => "BLAKE2b-384",
        "BLAKE2B512" => "BLAKE2b-512",
        _ => return None,
    })
}

/// The hex length each algorithm's digest has. BLAKE3 is not mapped at all:
/// CycloneDX caps its length at 128 hex digits and SPDX tools demand at
/// least 256, so no value fits both exports.
pub(crate) fn hash_len(alg: &str) -> Option<usize> {
    Some(match alg {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" | "BLAKE2b-256" => 64,
        "SHA-384" | "SHA3-384" | "BLAKE2b-384" => 96,
        "SHA-512" | "SHA3-512" | "BLAKE2b-512" => 128,
        _ => return None,
    })
}

/// Adds one hash to a component, or warns why not.
pub(crate) fn add_hash(raw: &mut RawDoc, c: &mut Component, at: &str, alg: &str, value: &str) {
    let Some(cdx) = hash_alg(alg) else {
        raw.warn(
            at,
            format!("hash algorithm {alg:?} is not one CycloneDX and SPDX share; dropped"),
        );
        return;
    };
    let v = value.trim().to_ascii_lowercase();
    let ok = v.bytes().all(|b| b.is_ascii_hexdigit()) && hash_len(cdx) == Some(v.len());
    if !ok {
        raw.warn(
            at,
            format!("{alg} value {value:?} is not a hex digest of the right length; dropped"),
        );
        return;
    }
    if let Some(prev) = c.hashes.get(cdx) {
        if *prev != v {
            raw.warn(at, format!("two different {cdx} values; the first is kept"));
        }
        return;
    }
    c.hashes.insert(cdx.to_owned(), v);
}

/// Checks a purl against the purl grammar ([`crate::check::purl`]); warns
/// and drops it otherwise.
pub(crate) fn purl(raw: &mut RawDoc, at: &str, p: &str) -> Option<String> {
    let p = p.trim();
    match crate::check::purl(p) {
        Ok(()) => Some(p.to_owned()),
        Err(why) => {
            raw.warn(at, format!("{why}; dropped"));
            None
        }
    }
}

/// CycloneDX component types that SPDX's `primaryPackagePurpose` shares.
pub(crate) const KINDS: &[(&str, &str)] = &[
    ("application", "APPLICATION"),
    ("framework", "FRAMEWORK"),
    ("library", "LIBRARY"),
    ("container", "CONTAINER"),
    ("operating-system", "OPERATING-SYSTEM"),
    ("device", "DEVICE"),
    ("firmware", "FIRMWARE"),
    ("file", "FILE"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        let mut s = "a\u{1}b\tc\u{FFFF}".to_owned();
        assert!(clean(&mut s));
        assert_eq!(s, "a\u{FFFD}b\tc\u{FFFD}");
        let mut ok = "plain\nline".to_owned();
        assert!(!clean(&mut ok));
    }

    #[test]
    fn single_line_values_are_joined_and_quoted_with_a_warning_each() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"type":"library","name":"NONE","version":"1.0\n-rc1"},
            {"type":"library","name":"a\r\nb","version":"2024-01-01T00:00:00Z","supplier":{"name":"Acme\nInc"}},
            {"type":"library","name":"plain","version":"NONE"}]}"#;
        let ing = crate::ingest(doc).unwrap();
        let got: Vec<_> = ing
            .model
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_deref(), c.supplier.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("\"NONE\"", Some("1.0 -rc1"), None),
                ("a b", Some("\"2024-01-01T00:00:00Z\""), Some("Acme Inc")),
                ("plain", None, None),
            ]
        );
        let says = |w: &str| {
            ing.warnings
                .iter()
                .filter(|x| x.message.contains(w))
                .count()
        };
        assert_eq!(says("line breaks"), 1, "{:?}", ing.warnings);
        assert_eq!(says("double quotes"), 1, "{:?}", ing.warnings);
        assert_eq!(says("were NOASSERTION, NONE"), 1, "{:?}", ing.warnings);
    }
}
