//! Ties findings to the components of a release's model and applies the
//! mapping rules (see the module docs of [`super`]).

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
};

use super::{
    ids::normalize_purl, invalid, response_sentence, update_to, Finding, Findings, Justification,
    State, Statement, Verdict, Warns,
};
use crate::{export::View, Model, Release, SbomError, Warning};

/// Ties `findings` to `model`: every finding's component must be found (by
/// purl, compared normalized, or by a ref the release's exports write; see
/// the module docs). A component that is not found is an error naming the
/// finding and the component, unless `keep_unmatched`: then a finding named
/// by purl is kept with `component: None` and its purl, and one named only
/// by a ref (which nothing outside its own document can identify) is
/// dropped; both with a warning. The statements come back sorted by
/// vulnerability id, then component position (the subject or product
/// first, components in model order, components the model lacks last by
/// purl).
pub fn resolve(
    findings: &Findings,
    model: &Model,
    keep_unmatched: bool,
) -> Result<(Vec<Statement>, Vec<Warning>), SbomError> {
    let release = Release {
        tenant: String::new(),
        product: String::new(),
        tag: String::new(),
        revision: 0,
        artefacts: Vec::new(),
        pushed_at: 0,
        spdx_namespace: String::new(),
        tool_version: String::new(),
    };
    let view = View::new(model, &release);
    // View position -> Statement::component.
    let target_of = |k: usize| -> Option<u32> {
        match view.subject_at {
            Some(a) if k == a => None,
            Some(a) if k > a => Some((k - 1) as u32),
            _ => Some(k as u32),
        }
    };
    let mut by_purl: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_base: HashMap<String, Vec<usize>> = HashMap::new();
    for (k, c) in view.items.iter().enumerate() {
        if let Some((full, base)) = c.purl.as_deref().and_then(normalize_purl) {
            by_purl.entry(full).or_default().push(k);
            by_base.entry(base).or_default().push(k);
        }
    }
    let mut by_ref: HashMap<&str, usize> = HashMap::new();
    for (k, r) in view.bom_refs.iter().chain(view.spdx_ids.iter()).enumerate() {
        by_ref
            .entry(r.as_str())
            .or_insert(k % view.items.len().max(1));
    }
    let subject_purl = model.subject.as_ref().and_then(|s| s.purl.clone());

    let mut w = Warns::default();
    let (mut unmatched, mut dropped) = (0usize, 0usize);
    let mut out: Vec<Statement> = Vec::with_capacity(findings.findings.len());
    for (i, f) in findings.findings.iter().enumerate() {
        let at = format!("/findings/{i}");
        // (component, purl) pairs this finding is about.
        let mut targets: Vec<(Option<u32>, Option<String>)> = Vec::new();
        let mut product = false;
        let mut found: Vec<usize> = Vec::new();
        match (&f.component.purl, &f.component.reference) {
            (Some(p), _) => {
                if let Some((full, base)) = normalize_purl(p) {
                    if let Some(ks) = by_purl.get(&full) {
                        found.extend(ks);
                    } else if let Some(ks) = by_base.get(&base).filter(|ks| ks.len() == 1) {
                        found.extend(ks);
                    }
                }
            }
            (None, Some(r)) => {
                if r == crate::export::PRODUCT_SPDXID || r.starts_with("release:") {
                    product = true;
                } else if let Some(k) = by_ref.get(r.as_str()) {
                    found.push(*k);
                }
            }
            (None, None) => {}
        }
        if product {
            targets.push((None, subject_purl.clone()));
        }
        for k in found {
            targets.push((target_of(k), view.items[k].purl.clone()));
        }
        if targets.is_empty() {
            let what = match (&f.component.purl, &f.component.reference) {
                (Some(p), _) => format!("purl {p}"),
                (None, Some(r)) => format!("ref {r:?}"),
                (None, None) => "no component".into(),
            };
            if !keep_unmatched {
                return Err(invalid(
                    format!("{at}/component"),
                    format!("{}: no component of the release has {what}", f.id),
                ));
            }
            match &f.component.purl {
                Some(p) => {
                    unmatched += 1;
                    w.warn_capped(
                        unmatched,
                        format!("{at}/component"),
                        format!(
                            "{}: no component of the release has {what}; kept as a statement about that purl",
                            f.id
                        ),
                    );
                    targets.push((None, Some(p.clone())));
                }
                None => {
                    dropped += 1;
                    w.warn_capped(
                        dropped,
                        format!("{at}/component"),
                        format!(
                            "{}: no component of the release has {what}, and a ref names nothing outside its own document; dropped",
                            f.id
                        ),
                    );
                    continue;
                }
            }
        }
        let base = statement(f, findings, &at, &mut w);
        for (component, purl) in targets {
            out.push(Statement {
                component,
                purl,
                ..base.clone()
            });
        }
    }
    w.summary(
        unmatched,
        "finding(s) about purls no component of the release has were kept",
    );
    w.summary(
        dropped,
        "finding(s) named by a ref no component of the release has were dropped",
    );
    let sp = subject_purl.as_deref();
    out.sort_by(|a, b| order(a, b, sp));
    let out = dedupe(out, sp, &mut w)?;
    Ok((out, w.0))
}

/// A finding with the mapping rules applied (component left unset).
fn statement(f: &Finding, doc: &Findings, at: &str, w: &mut Warns) -> Statement {
    let mut state = f.state;
    let mut justification = f.justification;
    let mut cyclonedx_justification = f.cyclonedx_justification.clone();
    let mut derived = false;
    if justification.is_some() && !matches!(state, State::NotAffected | State::FalsePositive) {
        w.warn(
            format!("{at}/justification"),
            format!(
                "{}: a justification says why a component is not affected; dropped from a statement that is {}",
                f.id,
                state.name()
            ),
        );
        justification = None;
        cyclonedx_justification = None;
    }
    let unreachable = f.reachability.as_ref().map(|r| r.verdict) == Some(Verdict::Unreachable);
    if justification.is_none() && state == State::NotAffected && unreachable {
        justification = Some(Justification::VulnerableCodeNotInExecutePath);
        derived = true;
    }
    if justification.is_none() && f.impact.is_none() {
        match state {
            State::NotAffected => {
                w.warn(
                    at,
                    format!(
                        "{}: not_affected needs a justification or an impact statement; read as under_investigation",
                        f.id
                    ),
                );
                state = State::UnderInvestigation;
            }
            State::FalsePositive => w.warn(
                at,
                format!(
                    "{}: a false positive without a justification or an impact statement is written as under_investigation in OpenVEX and CSAF",
                    f.id
                ),
            ),
            _ => {}
        }
    }
    let mut action = f.action.clone();
    if state == State::Affected && action.is_none() {
        if let Some(v) = &f.fixed_in {
            action = Some(update_to(v));
        } else {
            let said: Vec<&str> = f
                .response
                .iter()
                .filter_map(|r| response_sentence(r))
                .collect();
            if said.is_empty() {
                w.warn(
                    at,
                    format!(
                        "{}: affected, but no action, fixed_in or response says what to do; no remediation is stated",
                        f.id
                    ),
                );
            } else {
                action = Some(said.join(" "));
            }
        }
    }
    let reachability = f.reachability.clone().map(|mut r| {
        if r.analyzer.is_none() {
            r.analyzer = doc.analyzer.clone();
        }
        r
    });
    Statement {
        vulnerability: f.id.clone(),
        aliases: f.aliases.clone(),
        source: f.source.clone(),
        component: None,
        purl: None,
        state,
        justification,
        justification_derived: derived,
        cyclonedx_justification,
        response: f.response.clone(),
        impact: f.impact.clone(),
        action,
        fixed_in: f.fixed_in.clone(),
        detail: f.detail.clone(),
        reachability,
        ratings: f.ratings.clone(),
        timestamp: f.timestamp.clone(),
    }
}

/// Where a statement's component sorts: the subject (or the product),
/// then model components in order, then components the model lacks, by
/// purl. A statement with `component: None` is about the subject when its
/// purl is the subject's (or it has none), else about a purl the model
/// lacks.
fn place<'a>(s: &'a Statement, subject_purl: Option<&str>) -> (u8, u32, &'a str) {
    match (s.component, s.purl.as_deref()) {
        (Some(i), _) => (1, i, ""),
        (None, p) if p.is_none() || p == subject_purl => (0, 0, ""),
        (None, p) => (2, 0, p.unwrap_or_default()),
    }
}

/// The order statements are stored and written in.
pub(crate) fn order(a: &Statement, b: &Statement, subject_purl: Option<&str>) -> Ordering {
    a.vulnerability
        .cmp(&b.vulnerability)
        .then_with(|| place(a, subject_purl).cmp(&place(b, subject_purl)))
        .then_with(|| a.state.cmp(&b.state))
}

/// Statements about one component that share an id or alias are one
/// claim: the first of equal states is kept, different states refused.
fn dedupe(
    all: Vec<Statement>,
    subject_purl: Option<&str>,
    w: &mut Warns,
) -> Result<Vec<Statement>, SbomError> {
    let mut out: Vec<Statement> = Vec::with_capacity(all.len());
    // (target, name) -> position in `out`
    let mut seen: BTreeMap<((u8, u32, String), String), usize> = BTreeMap::new();
    for s in all {
        let t = {
            let (a, b, c) = place(&s, subject_purl);
            (a, b, c.to_owned())
        };
        let names = std::iter::once(&s.vulnerability).chain(s.aliases.iter());
        let prior = names
            .clone()
            .find_map(|n| seen.get(&(t.clone(), n.clone())).copied());
        let label = match (&s.purl, s.component) {
            (Some(p), _) => p.clone(),
            (None, Some(i)) => format!("component {i}"),
            (None, None) => "the release".to_owned(),
        };
        if let Some(k) = prior {
            let kept = &out[k];
            if kept.state != s.state {
                return Err(invalid(
                    "/findings",
                    format!(
                        "{} is {} for {label}, but {} (the same vulnerability) is {}; which holds is not clear",
                        kept.vulnerability,
                        kept.state.name(),
                        s.vulnerability,
                        s.state.name()
                    ),
                ));
            }
            if *kept != s {
                w.warn(
                    "/findings",
                    format!(
                        "{} is stated twice for {label} (as {} too); the first statement is kept",
                        kept.vulnerability, s.vulnerability
                    ),
                );
            }
            continue;
        }
        for n in names {
            seen.insert((t.clone(), n.clone()), out.len());
        }
        out.push(s);
    }
    Ok(out)
}
