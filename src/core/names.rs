//! Names and their rules: tenant slugs, products, tags, labels.

use crate::core::Error;

/// A tenant slug: 1–64 of `a-z 0-9 -`, not starting or ending with `-`
/// (it is part of URLs and of the log's origin).
pub fn check_slug(slug: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Unprocessable(format!(
            "slug {slug:?} must be 1 to 64 of a-z, 0-9 and '-', not starting or ending with '-'"
        )))
    }
}

/// A display name: trimmed, 1 to 200 characters.
pub fn display_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::Unprocessable(
            "name must be 1 to 200 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

/// Characters that change how text around them is shown without being
/// seen: bidirectional overrides and isolates, zero-width characters.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// Free text that people read and sign (officers' names, a regulator's
/// notice): trimmed, 1 to `max` characters, no control characters (line
/// breaks only when `lines`), no bidirectional or zero-width characters,
/// so what is shown is what is signed. `what` names the field.
pub fn plain_text(what: &str, s: &str, max: usize, lines: bool) -> Result<String, Error> {
    let t = s.trim();
    let bad = |c: char| (c.is_control() && !(lines && (c == '\n' || c == '\r'))) || invisible(c);
    if t.is_empty() || t.chars().count() > max || t.chars().any(bad) {
        let breaks = if lines { "line breaks only" } else { "no" };
        return Err(Error::Unprocessable(format!(
            "/{what}: 1 to {max} characters; {breaks} control characters, no bidirectional or zero-width characters"
        )));
    }
    Ok(t.replace("\r\n", "\n"))
}

/// An optional free-text label: at most 200 characters.
pub fn check_label(label: Option<&str>) -> Result<(), Error> {
    if label.is_some_and(|l| l.chars().count() > 200) {
        return Err(Error::Unprocessable(
            "label must be at most 200 characters".into(),
        ));
    }
    Ok(())
}

/// A product (`extra` empty) or a tag (`extra` `+`): 1–128 of
/// `A-Z a-z 0-9 . _ -` (and `+` for tags), starting with a letter or digit.
/// `what` names the field in the message.
pub fn check_release_name(what: &str, s: &str, extra: &[u8]) -> Result<(), Error> {
    let ok = (1..=128).contains(&s.len())
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        let allowed = if extra.is_empty() {
            "A-Z a-z 0-9 . _ -"
        } else {
            "A-Z a-z 0-9 . _ + -"
        };
        Err(Error::Unprocessable(format!(
            "/{what}: {s:?} must be 1 to 128 of {allowed}, starting with a letter or digit"
        )))
    }
}

/// A product name.
pub fn check_product(s: &str) -> Result<(), Error> {
    check_release_name("product", s, b"")
}

/// A release tag.
pub fn check_tag(s: &str) -> Result<(), Error> {
    check_release_name("tag", s, b"+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["acme", "a", "a-1", "0x"] {
            assert!(check_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "Acme", "a_b", "a/b", &"a".repeat(65)] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn products_and_tags() {
        assert!(check_product("shop").is_ok());
        assert!(check_tag("v1.2.3+build.4").is_ok());
        assert!(check_product("v1+x").is_err(), "no + in products");
        for bad in ["", ".hidden", "a/b", "a b", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        let e = check_tag("-x").unwrap_err().to_string();
        assert!(e.starts_with("/tag:"), "{e}");
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(display_name("  Acme  ").unwrap(), "Acme");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"é".repeat(201)).is_err());
        assert!(
            display_name(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
        assert!(check_label(Some(&"x".repeat(201))).is_err());
        assert!(check_label(None).is_ok());
    }
}
