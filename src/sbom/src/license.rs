//! Licence normalization shared by the readers, on the `spdx` crate.

use crate::model::License;

/// True when `s` is a valid SPDX licence expression (strict SPDX syntax:
/// listed ids, `LicenseRef-`/`DocumentRef-`, `AND`/`OR`/`WITH`, `+`).
pub(crate) fn is_spdx(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && !is_no_statement(s) && spdx::Expression::parse(s).is_ok()
}

/// SPDX's special values that make no licence statement.
pub(crate) fn is_no_statement(s: &str) -> bool {
    matches!(s.trim(), "NOASSERTION" | "NONE")
}

/// True when `s` is one licence id without operators.
pub(crate) fn is_single_id(s: &str) -> bool {
    !s.contains(' ') && !s.contains('(') && is_spdx(s)
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
        .map(|e| e.trim().to_owned())
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
                if e.contains(' ') && !(e.starts_with('(') && e.ends_with(')')) {
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
    let v = v.trim();
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
    }
}
