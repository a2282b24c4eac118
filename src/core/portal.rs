//! The tenant's portal as its customers meet it: the name, description,
//! contact and colours its pages show, whether the portal is on at all,
//! and whether anyone may see what the tenant marks public. Pure types and
//! their rules; `service::portal` stores them and logs each change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::{
    access::{check_entitlements, Entitlement},
    events::EventBody,
    Error,
};

/// Who sees the portal.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Sign-in required for every page (the default).
    #[default]
    Private,
    /// Anyone with the URL sees the releases the tenant marks public
    /// (`public_releases`) and downloads them, each download still logged
    /// (anonymous subject, pseudonymous client) with a receipt.
    Public,
}

impl Visibility {
    /// The name in events and forms.
    pub fn name(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

/// The portal settings an admin sets (`PUT /api/v1/tenants/{t}/portal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// The name every page's header shows (1 to 100 characters); the
    /// tenant's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Plain text shown on the portal's front page, at most 4,000
    /// characters; a blank line starts a new paragraph. Never read as
    /// HTML or Markdown: every character is shown as written.
    #[serde(default)]
    pub description: String,
    /// Where customers send security questions: shown in every page's
    /// footer as a `mailto:` link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The accent colour of the page frame, `#rrggbb`. It colours rules
    /// and borders only, never text, so every page keeps its contrast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent_colour: Option<String>,
    /// When false every portal page (`/t/{tenant}/…`, sign-in included)
    /// answers 404 as for an unknown tenant, and public downloads stop;
    /// the API is unaffected. On by default.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Private (default) or public.
    #[serde(default)]
    pub visibility: Visibility,
    /// What a public portal shows to anyone: product and tag pattern, as
    /// customer entitlements (exact, glob or `latest`). Ignored while the
    /// portal is private.
    #[serde(default)]
    pub public_releases: Vec<Entitlement>,
}

fn yes() -> bool {
    true
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            display_name: None,
            description: String::new(),
            contact_email: None,
            accent_colour: None,
            enabled: true,
            visibility: Visibility::Private,
            public_releases: Vec::new(),
        }
    }
}

/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 4000;

fn bad(msg: impl Into<String>) -> Error {
    Error::Unprocessable(msg.into())
}

impl PortalSettings {
    /// Checks every field; the first fault is the error.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(n) = &self.display_name {
            let len = n.chars().count();
            if !(1..=100).contains(&len) || n.trim().is_empty() || n.chars().any(char::is_control) {
                return Err(bad(
                    "display_name must have 1 to 100 characters, not all blank, without control characters",
                ));
            }
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Err(bad(format!(
                "description must have at most {MAX_DESCRIPTION} characters"
            )));
        }
        if self
            .description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(bad(
                "description may hold line breaks and tabs but no other control characters",
            ));
        }
        if let Some(e) = &self.contact_email {
            check_email(e)?;
        }
        if let Some(c) = &self.accent_colour {
            let hex = c.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "accent_colour {c:?} must be #rrggbb (six hexadecimal digits)"
                )));
            }
        }
        check_entitlements(&self.public_releases)
    }

    /// The name the pages show: the display name, else the tenant's.
    pub fn name<'a>(&'a self, tenant_name: &'a str) -> &'a str {
        self.display_name.as_deref().unwrap_or(tenant_name)
    }

    /// The description's paragraphs ([`paragraphs`]).
    pub fn paragraphs(&self) -> Vec<String> {
        paragraphs(&self.description)
    }

    /// Whether anyone may see `product`/`tag`: the portal is on, public,
    /// and one of `public_releases` matches (given the product's releases
    /// as (tag, first push time), for `latest`).
    pub fn shows_publicly(&self, product: &str, tag: &str, releases: &[(String, String)]) -> bool {
        self.enabled
            && self.visibility == Visibility::Public
            && crate::core::access::grants(&self.public_releases, product, tag, releases)
    }

    /// The `portal_updated` event: every field, the description by its
    /// SHA-256 (the log carries digests, not text bodies).
    pub fn event(&self) -> EventBody {
        use sha2::Digest as _;
        EventBody::PortalUpdated {
            display_name: self.display_name.clone(),
            description_sha256: (!self.description.is_empty())
                .then(|| hex::encode(sha2::Sha256::digest(self.description.as_bytes()))),
            contact_email: self.contact_email.clone(),
            accent_colour: self.accent_colour.clone(),
            enabled: self.enabled,
            visibility: self.visibility.name().to_owned(),
            public_releases: self
                .public_releases
                .iter()
                .map(|e| format!("{}:{}", e.product, e.tag))
                .collect(),
        }
    }
}

/// Plain text as paragraphs: split at blank lines (spaces, tabs or a
/// carriage return count as blank), each trimmed, empty ones dropped.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end).chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(cur.join("\n").trim().to_owned());
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    out
}

/// An address for security questions: one `@`, a local part and a domain
/// with a dot, at most 254 characters, printable ASCII without spaces,
/// quotes or angle brackets (it becomes a `mailto:` link).
fn check_email(e: &str) -> Result<(), Error> {
    let ok = e.len() <= 254
        && e.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'(' | b')' | b',' | b';')
        })
        && matches!(e.split_once('@'), Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "contact_email {e:?} is not an e-mail address (name@domain.example)"
        )))
    }
}

/// The logo's largest size, bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// The largest logo, pixels on a side (a PNG's header says).
const MAX_LOGO_SIDE: u32 = 4096;

/// A stored logo: its bytes are the blob of `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct Logo {
    /// `image/png` or `image/svg+xml`.
    pub media_type: String,
    /// SHA-256 (hex) of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Checks an uploaded logo by its declared media type: a PNG must decode
/// completely (within [`MAX_LOGO_SIDE`] pixels a side); an SVG must be
/// well-formed XML without a DTD, whose root is `svg`, with no script, no
/// event-handler attribute, no `foreignObject`, no animation that could
/// set a link, and no reference outside the document (`href` only to
/// `#fragment`, no `url(…)` but `url(#…)`). A logo that fails is refused
/// with the reason, never cleaned up and stored.
pub fn check_logo(media_type: &str, bytes: &[u8]) -> Result<(), Error> {
    if bytes.is_empty() {
        return Err(bad("the logo is empty"));
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Error::TooLarge(format!(
            "the logo has {} bytes; at most {MAX_LOGO_BYTES}",
            bytes.len()
        )));
    }
    match media_type {
        "image/png" => check_png(bytes),
        "image/svg+xml" => check_svg(bytes),
        other => Err(Error::UnsupportedMediaType(format!(
            "a logo is image/png or image/svg+xml, not {other:?}"
        ))),
    }
}

/// The most memory decoding a PNG logo may take (decoder and image).
const LOGO_DECODE_BYTES: usize = 32 * 1024 * 1024;

fn check_png(bytes: &[u8]) -> Result<(), Error> {
    let mut d = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: LOGO_DECODE_BYTES,
        },
    );
    d.set_transformations(png::Transformations::EXPAND);
    let mut r = d
        .read_info()
        .map_err(|e| bad(format!("the logo is not a PNG image: {e}")))?;
    let (w, h) = (r.info().width, r.info().height);
    if w > MAX_LOGO_SIDE || h > MAX_LOGO_SIDE {
        return Err(bad(format!(
            "the logo is {w}×{h} pixels; at most {MAX_LOGO_SIDE} a side"
        )));
    }
    // The decoder's limit does not cover the caller's buffer: cap it too.
    let size = r.output_buffer_size();
    if size > LOGO_DECODE_BYTES {
        return Err(bad(format!(
            "the logo decodes to {size} bytes; at most {LOGO_DECODE_BYTES}"
        )));
    }
    let mut buf = vec![0; size];
    r.next_frame(&mut buf)
        .map_err(|e| bad(format!("the logo's PNG image data is broken: {e}")))?;
    Ok(())
}

/// Elements an SVG logo may not have: scripts, foreign content, and the
/// animation elements that can change attributes (`set`, `animate` on
/// `href`).
const SVG_REFUSED: &[&str] = &[
    "script",
    "foreignObject",
    "iframe",
    "embed",
    "object",
    "set",
    "animate",
    "animateMotion",
    "animateTransform",
    "handler",
    "listener",
];

fn check_svg(bytes: &[u8]) -> Result<(), Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the SVG logo is not UTF-8"))?;
    // roxmltree refuses a DTD by default: no entities, no external ones.
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| bad(format!("the SVG logo is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        return Err(bad("the SVG logo's root element is not svg"));
    }
    const SVG_NS: &str = "http://www.w3.org/2000/svg";
    for n in doc.descendants() {
        if n.is_pi() {
            return Err(bad(
                "the SVG logo has a processing instruction (such as xml-stylesheet); they are refused",
            ));
        }
        if n.is_element() {
            let name = n.tag_name().name();
            // SVG elements only: anything in another namespace (XHTML
            // forms, images, …) is foreign content.
            if n.tag_name().namespace() != Some(SVG_NS) {
                return Err(bad(format!(
                    "the SVG logo has a <{name}> element outside the SVG namespace; foreign content is refused"
                )));
            }
            if SVG_REFUSED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(bad(format!(
                    "the SVG logo has a <{name}> element; scripts, foreign content and animations are refused"
                )));
            }
            for a in n.attributes() {
                let an = a.name();
                let v = a.value().trim();
                if an.len() > 2 && an.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on")) {
                    return Err(bad(format!(
                        "the SVG logo has an event-handler attribute ({an}); scripts are refused"
                    )));
                }
                if an == "href" && !v.starts_with('#') {
                    return Err(bad(format!(
                        "the SVG logo refers outside itself (href={v:?}); only #fragment references are allowed"
                    )));
                }
                if refers_outside(v) {
                    return Err(bad(format!(
                        "the SVG logo refers outside itself ({an}={v:?})"
                    )));
                }
            }
        } else if let Some(t) = n.text() {
            // Style sheets: no imports and no url() but to a fragment.
            if n.parent_element()
                .is_some_and(|p| p.tag_name().name() == "style")
                && (t.to_ascii_lowercase().contains("@import") || refers_outside(t))
            {
                return Err(bad(
                    "the SVG logo's style sheet imports or refers outside itself",
                ));
            }
        }
    }
    Ok(())
}

/// Whether CSS-ish text has a `url(` that is not `url(#…)`, names
/// `javascript:`, `image-set(` or `@import`, or has a CSS escape (a
/// backslash, which could spell any of them).
fn refers_outside(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    if l.contains("javascript:")
        || l.contains('\\')
        || l.contains("image-set(")
        || l.contains("@import")
    {
        return true;
    }
    let mut rest = l.as_str();
    while let Some(i) = rest.find("url(") {
        rest = &rest[i + 4..];
        let inner = rest.trim_start_matches([' ', '\'', '"']);
        if !inner.starts_with('#') {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(body: &str) -> Vec<u8> {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{body}</svg>"#)
            .into_bytes()
    }

    /// A 1×1 PNG, written by the `png` crate.
    fn png1() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, 1, 1);
            e.set_color(png::ColorType::Rgba);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&[10, 20, 30, 255]).unwrap();
        }
        out
    }

    #[test]
    fn a_clean_logo_passes() {
        check_logo(
            "image/svg+xml",
            &svg(r##"<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="10" height="10"/><use href="#g"/><style>rect{fill:#123456}</style>"##),
        )
        .unwrap();
        check_logo("image/png", &png1()).unwrap();
    }

    #[test]
    fn a_dangerous_svg_is_refused_with_its_reason() {
        for (body, says) in [
            ("<script>alert(1)</script>", "<script>"),
            (r#"<rect onload="alert(1)"/>"#, "onload"),
            (r#"<a href="javascript:alert(1)"><rect/></a>"#, "href="),
            (r#"<image href="https://tracker.example/p.png"/>"#, "href="),
            (r#"<foreignObject><div/></foreignObject>"#, "foreignObject"),
            (r#"<set attributeName="href" to="javascript:x"/>"#, "<set>"),
            (r#"<rect style="fill:url(https://x.example/a)"/>"#, "style="),
            (
                "<style>@import url(https://x.example/a.css);</style>",
                "style sheet",
            ),
            (r#"<rect aé="1" onclick="x"/>"#, "onclick"),
            (
                r#"<rect style="fill:\75rl(https://x.example/a)"/>"#,
                "style=",
            ),
            (
                r#"<rect style="fill:image-set('https://x.example/a' 1x)"/>"#,
                "style=",
            ),
            (
                r#"<h:form xmlns:h="http://www.w3.org/1999/xhtml" action="https://x.example"/>"#,
                "outside the SVG namespace",
            ),
        ] {
            let e = check_logo("image/svg+xml", &svg(body)).unwrap_err();
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn stylesheet_instructions_non_ascii_names_and_huge_images_are_handled() {
        let pi = br#"<?xml-stylesheet href="https://x.example/a.css"?><svg xmlns="http://www.w3.org/2000/svg"/>"#;
        assert!(check_logo("image/svg+xml", pi)
            .unwrap_err()
            .to_string()
            .contains("processing instruction"));
        check_logo("image/svg+xml", &svg(r#"<rect aé="1"/>"#)).unwrap();
        // 4096 × 4096, 16-bit RGBA: small compressed, 128 MiB decoded.
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, 4096, 4096);
            e.set_color(png::ColorType::Rgba);
            e.set_depth(png::BitDepth::Sixteen);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&vec![0u8; 4096 * 4096 * 8]).unwrap();
        }
        let e = check_logo("image/png", &out).unwrap_err().to_string();
        assert!(e.contains("bytes"), "{e}");
    }

    #[test]
    fn entities_and_foreign_roots_are_refused() {
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#;
        assert!(check_logo("image/svg+xml", xxe)
            .unwrap_err()
            .to_string()
            .contains("not well-formed"));
        let html = br#"<html><body/></html>"#;
        assert!(check_logo("image/svg+xml", html)
            .unwrap_err()
            .to_string()
            .contains("root element"));
    }

    #[test]
    fn broken_big_and_foreign_images_are_refused() {
        let mut p = png1();
        let n = p.len();
        p.truncate(n - 20);
        assert!(check_logo("image/png", &p).is_err());
        assert!(check_logo("image/png", b"GIF89a").is_err());
        assert!(matches!(
            check_logo("image/gif", b"GIF89a"),
            Err(Error::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            check_logo("image/png", &vec![0; MAX_LOGO_BYTES + 1]),
            Err(Error::TooLarge(_))
        ));
        assert!(check_logo("image/png", b"").is_err());
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let ok = PortalSettings {
            display_name: Some("Acme Secure".into()),
            description: "Line one\n\nLine two".into(),
            contact_email: Some("psirt@acme.example".into()),
            accent_colour: Some("#0a7f3F".into()),
            ..Default::default()
        };
        ok.validate().unwrap();
        assert_eq!(ok.paragraphs(), ["Line one", "Line two"]);
        assert_eq!(
            paragraphs(" a\r\n b \r\n \t\r\n\n c\n"),
            ["a\n b", "c"],
            "CRLF, blank lines of whitespace, indentation inside a paragraph"
        );
        assert!(paragraphs(" \n\n").is_empty());
        for bad in [
            PortalSettings {
                display_name: Some("  ".into()),
                ..ok.clone()
            },
            PortalSettings {
                contact_email: Some("no-at.example".into()),
                ..ok.clone()
            },
            PortalSettings {
                contact_email: Some("a@b.example\"><script>".into()),
                ..ok.clone()
            },
            PortalSettings {
                accent_colour: Some("red".into()),
                ..ok.clone()
            },
            PortalSettings {
                accent_colour: Some("#12345g".into()),
                ..ok.clone()
            },
            PortalSettings {
                description: "x".repeat(MAX_DESCRIPTION + 1),
                ..ok.clone()
            },
            PortalSettings {
                description: "bell\u{7}".into(),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_an_enabled_public_portal_shows_what_it_marks() {
        let mut s = PortalSettings {
            public_releases: vec![Entitlement {
                product: "web".into(),
                tag: "1.*".into(),
                match_kind: None,
                include_prereleases: false,
            }],
            ..Default::default()
        };
        assert!(!s.shows_publicly("web", "1.0", &[]), "private");
        s.visibility = Visibility::Public;
        assert!(s.shows_publicly("web", "1.0", &[]));
        assert!(!s.shows_publicly("web", "2.0", &[]));
        assert!(!s.shows_publicly("api", "1.0", &[]));
        s.enabled = false;
        assert!(!s.shows_publicly("web", "1.0", &[]), "disabled");
    }

    proptest::proptest! {
        /// Any bytes, as either image type, are refused or accepted with a
        /// reason, never a panic; so are SVG-shaped texts built from the
        /// pieces the checks look for.
        #[test]
        fn no_upload_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                            parts in proptest::collection::vec(proptest::sample::select(vec![
                                "<svg xmlns=\"http://www.w3.org/2000/svg\">", "</svg>", "<rect ", "/>", ">",
                                "onload=\"x\" ", "href=\"#a\" ", "href=\"http://x\" ", "style=\"fill:url(#g)\" ",
                                "url(", "<style>", "</style>", "@import", "<!DOCTYPE svg>", "&amp;", "<script>", "</script>",
                                "aé=\"1\" ", "é", "<?pi x?>", "\\", "xmlns:h=\"http://www.w3.org/1999/xhtml\" ", "<h:p>", "</h:p>",
                            ]), 0..24)) {
            let _ = check_logo("image/png", &bytes);
            let _ = check_logo("image/svg+xml", &bytes);
            let _ = check_logo("image/svg+xml", parts.concat().as_bytes());
        }
    }
}
