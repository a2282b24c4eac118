//! Licence normalization shared by the readers, on the `spdx` crate.

use crate::model::License;

/// True when `s` is a valid SPDX licence expression (strict SPDX syntax:
/// listed ids, `LicenseRef-`/`DocumentRef-`, `AND`/`OR`/`WITH`, `+`).
pub(crate) fn is_spdx(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() || is_no_statement(s) || s.contains(|c: char| c.is_whitespace() && c != ' ') {
        return false;
    }
    let Ok(e) = spdx::Expression::parse(s) else {
        return false;
    };
    // What the strict parser accepts but the validators our exports must
    // pass do not: `+` on licences that have no "or later" form (the parser
    // reads `GPL-2.0-or-later` as GPL-2.0 with `or_later`, and refuses `+`
    // after GNU ids), NOASSERTION/NONE inside an expression, deprecated ids
    // other than the plain GNU ones (`GPL-2.0` stays;
    // `GPL-2.0-with-GCC-exception` and `eCos-2.0` do not), and the ids in
    // [`UNKNOWN_TO_VALIDATORS`] as written (the parser reads the unknown
    // `GFDL-1.3-invariants` and the known `GFDL-1.3-invariants-only` alike).
    let ok = e.requirements().all(|r| match &r.req.license {
        spdx::LicenseItem::Spdx { id, or_later } => {
            let gnu = id.is_gnu();
            let written = s
                .get(r.span.start as usize..r.span.end as usize)
                .and_then(|t| t.split(' ').next())
                .unwrap_or_default()
                .trim_matches(['(', ')']);
            !is_no_statement(id.name)
                && !UNKNOWN_TO_VALIDATORS.contains(&written)
                && (!*or_later || gnu)
                && (!id.is_deprecated()
                    || (gnu && !id.name.contains("-with-") && !id.name.contains("invariants")))
        }
        spdx::LicenseItem::Other { lic_ref, .. } => lic_ref != "NOASSERTION" && lic_ref != "NONE",
    });
    ok
}

/// Ids on the SPDX list the `spdx` crate knows (3.27) that the validators our
/// exports must pass refuse: the SPDX tools (license-expression 30.4) read
/// `MPL-2.0-no-copyleft-exception` as an exception and do not know the bare
/// GFDL invariants ids, which CycloneDX 1.6's licence enum lacks too.
const UNKNOWN_TO_VALIDATORS: &[&str] = &[
    "MPL-2.0-no-copyleft-exception",
    "GFDL-1.1-invariants",
    "GFDL-1.1-no-invariants",
    "GFDL-1.2-invariants",
    "GFDL-1.2-no-invariants",
    "GFDL-1.3-invariants",
    "GFDL-1.3-no-invariants",
];

/// SPDX's special values that make no licence statement.
pub(crate) fn is_no_statement(s: &str) -> bool {
    matches!(s.trim(), "NOASSERTION" | "NONE")
}

/// True when `s` is one licence id without operators.
pub(crate) fn is_single_id(s: &str) -> bool {
    spdx::license_id(s).is_some_and(|id| id.name == s) && is_spdx(s)
}

/// Collapses runs of whitespace to single spaces.
pub(crate) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when an expression refers to licences defined only inside the
/// document it came from (`LicenseRef-`, `DocumentRef-`).
pub(crate) fn has_local_refs(s: &str) -> bool {
    s.contains("LicenseRef-") || s.contains("DocumentRef-")
}

/// Combines the licence entries of one component (CycloneDX allows a list)
/// into one statement: all-SPDX entries become one expression joined with
/// `AND`; anything else keeps every entry as a name.
pub(crate) fn combine(entries: Vec<String>) -> Option<License> {
    let mut entries: Vec<String> = entries
        .into_iter()
        .map(|e| squash(&e))
        .filter(|e| !e.is_empty() && !is_no_statement(e))
        .collect();
    entries.sort();
    entries.dedup();
    if entries.is_empty() {
        return None;
    }
    if entries.iter().all(|e| is_spdx(e)) {
        if entries.len() == 1 {
            return entries.pop().map(License::Spdx);
        }
        let joined = entries
            .iter()
            .map(|e| {
                // Every entry of more than one token keeps its own meaning.
                if e.contains(' ') {
                    format!("({e})")
                } else {
                    e.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        // Joining valid expressions with AND is valid; keep the check honest.
        return Some(if is_spdx(&joined) {
            License::Spdx(joined)
        } else {
            License::Named(entries)
        });
    }
    Some(License::Named(entries))
}

/// Reads an SPDX licence field: `NOASSERTION`/`NONE`/empty are no statement.
/// Returns the licence and, for a value that is not valid SPDX, a warning.
pub(crate) fn from_spdx_field(v: &str) -> (Option<License>, Option<String>) {
    let v = &squash(v);
    if v.is_empty() || is_no_statement(v) {
        return (None, None);
    }
    if is_spdx(v) {
        (Some(License::Spdx(v.to_owned())), None)
    } else {
        (
            Some(License::Named(vec![v.to_owned()])),
            Some(format!(
                "{v:?} is not a valid SPDX licence expression; kept as a licence name"
            )),
        )
    }
}

/// The value an SPDX export writes for a licence.
pub(crate) fn to_spdx_field(l: Option<&License>) -> &str {
    match l {
        Some(License::Spdx(s)) if !has_local_refs(s) => s,
        _ => "NOASSERTION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_ids_with_and() {
        assert_eq!(
            combine(vec!["MIT".into(), "Apache-2.0 OR MIT".into(), "MIT".into()]),
            Some(License::Spdx("(Apache-2.0 OR MIT) AND MIT".into()))
        );
        assert_eq!(combine(vec![]), None);
        assert_eq!(
            combine(vec!["BSD License".into(), "MIT".into()]),
            Some(License::Named(vec!["BSD License".into(), "MIT".into()]))
        );
    }

    #[test]
    fn spdx_fields() {
        assert_eq!(from_spdx_field("NOASSERTION"), (None, None));
        assert_eq!(
            from_spdx_field("MIT OR Apache-2.0").0,
            Some(License::Spdx("MIT OR Apache-2.0".into()))
        );
        assert!(from_spdx_field("Apache 2").1.is_some());
        assert_eq!(
            to_spdx_field(Some(&License::Spdx("LicenseRef-x".into()))),
            "NOASSERTION"
        );
        assert!(is_single_id("MIT") && !is_single_id("MIT OR X11"));
        assert!(!is_single_id("MIT\tOR\tX11") && !is_single_id("MIT+"));
        for bad in [
            "MIT+",
            "MIT AND NOASSERTION",
            "GPL-2.0-with-GCC-exception",
            "eCos-2.0",
            "GPL-2.0+",
            // Refused by the SPDX tools, found in the strict-out audit.
            "MPL-2.0-no-copyleft-exception",
            "MIT OR MPL-2.0-no-copyleft-exception",
            "GFDL-1.3-invariants",
            "GFDL-1.2-no-invariants",
            "MIT AND (GFDL-1.1-invariants OR X11)",
        ] {
            assert!(!is_spdx(bad), "{bad}");
        }
        for good in [
            "GPL-2.0",
            "GFDL-1.3-invariants-or-later",
            "GFDL-1.3-invariants-only",
            "GPL-3.0-or-later",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "MPL-2.0",
            "LicenseRef-x",
        ] {
            assert!(is_spdx(good), "{good}");
        }
        assert_eq!(
            combine(vec![
                "(MIT AND Zlib) OR (Apache-2.0 AND Zlib)".into(),
                "BSD-3-Clause".into()
            ]),
            Some(License::Spdx(
                "((MIT AND Zlib) OR (Apache-2.0 AND Zlib)) AND BSD-3-Clause".into()
            ))
        );
    }
}
