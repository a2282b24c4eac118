//! Actors: who supplied a component, read from either format and written
//! to both.
//!
//! SPDX 2.3 §7.5 (package supplier) and §6.8 (creator) use one grammar:
//! `Person: name (email)`, `Organization: name (email)`, `Tool: name-version`
//! or `NOASSERTION`, the e-mail in parentheses optional. The official SPDX
//! tools (spdx-tools 0.8, `ActorParser`) take the parenthesised part to be
//! whatever follows the *last* `(` of a value that ends in `)`, and refuse an
//! actor whose name before it is empty; [`split_body`] splits the same way,
//! so what we write is read back as we meant it.
//!
//! CycloneDX's `supplier` is an `organizationalEntity` (`name`, `url[]`,
//! `contact[]` of `{name, email, phone}`) and has no notion of a person. A
//! person is written as an entity whose single contact is that same person
//! (same name, with the e-mail), and read back as a person by that shape;
//! an organization's e-mail is a contact with only an `email`.

use serde_json::Value;

use crate::{build::RawDoc, model::ActorKind, model::Component};

/// A supplier as the model keeps it: kind, a non-empty name, an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub kind: ActorKind,
    pub name: String,
    pub email: Option<String>,
}

/// Splits an actor body `name (email)` as the SPDX tools do: when the body
/// ends in `)`, the parenthesised part is what follows its last `(`.
/// Returns the trimmed name and, if there were parentheses, their content.
pub(crate) fn split_body(body: &str) -> (&str, Option<&str>) {
    let body = body.trim();
    if let Some(open) = body.strip_suffix(')').and_then(|b| b.rfind('(')) {
        return (
            body[..open].trim(),
            Some(body[open + 1..body.len() - 1].trim()),
        );
    }
    (body, None)
}

/// True when `body` is a valid SPDX actor body: a name, then optionally
/// an e-mail address (or nothing) in parentheses.
pub(crate) fn body_ok(body: &str) -> bool {
    match split_body(body) {
        ("", _) => false,
        (_, None | Some("")) => true,
        (_, Some(e)) => is_email(e),
    }
}

/// A conservative e-mail address check: `local@domain`, one `@`, no blanks,
/// controls or the characters RFC 5322 reserves for structure, so the value
/// fits in SPDX's parentheses and passes CycloneDX's `idn-email` format.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let plain =
        |c: char| !c.is_whitespace() && !c.is_control() && !"()<>[],;:\\\"@\u{FFFD}".contains(c);
    s.len() <= 254
        && !local.is_empty()
        && local.chars().all(plain)
        && !domain.is_empty()
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

/// Reads an SPDX `supplier` / `PackageSupplier` value (SPDX 2.3 §7.5).
/// Returns `None` for `NOASSERTION` and for values that name no one.
pub(crate) fn read_spdx(raw: &mut RawDoc, at: &str, value: &str) -> Option<Actor> {
    let v = value.trim();
    if v == "NOASSERTION" {
        return None;
    }
    if v == "NONE" {
        raw.warn(
            at,
            "supplier NONE is not an actor (SPDX allows a person, an organization or NOASSERTION); read as no supplier",
        );
        return None;
    }
    let (kind, body) = if let Some(b) = v.strip_prefix("Person:") {
        (ActorKind::Person, b)
    } else if let Some(b) = v.strip_prefix("Organization:") {
        (ActorKind::Organization, b)
    } else if let Some(b) = v.strip_prefix("Tool:") {
        raw.warn(
            at,
            format!("supplier {v:?} is a tool; SPDX suppliers are people or organizations, so it is read as an organization"),
        );
        (ActorKind::Organization, b)
    } else {
        raw.warn(
            at,
            format!(
                "supplier {v:?} has no Person: or Organization: prefix; read as an organization"
            ),
        );
        (ActorKind::Organization, v)
    };
    from_parts(raw, at, kind, body)
}

/// Turns a body `name (email)` into an actor, warning about what is off.
fn from_parts(raw: &mut RawDoc, at: &str, kind: ActorKind, body: &str) -> Option<Actor> {
    let (mut name, inner) = split_body(body);
    let email = match inner {
        None | Some("") => None,
        Some(e) if is_email(e) => Some(e.to_owned()),
        Some(e) => {
            raw.warn(
                at,
                format!(
                    "supplier {:?}: {e:?} is not an e-mail address; kept as part of the name",
                    body.trim()
                ),
            );
            name = body.trim();
            None
        }
    };
    named(raw, at, kind, name, email)
}

/// Completes an actor whose name may be missing: an e-mail address stands
/// in for the name (SPDX refuses an actor without one), or there is none.
fn named(
    raw: &mut RawDoc,
    at: &str,
    kind: ActorKind,
    name: &str,
    email: Option<String>,
) -> Option<Actor> {
    let name = if !name.is_empty() {
        name.to_owned()
    } else if let Some(e) = &email {
        raw.warn(
            at,
            format!("the supplier has an e-mail address ({e}) but no name; the address is used as its name"),
        );
        e.clone()
    } else {
        raw.warn(at, "the supplier names no one; read as no supplier");
        return None;
    };
    Some(Actor { kind, name, email })
}

/// Reads a CycloneDX `supplier` (an `organizationalEntity`, 1.2–1.7).
pub(crate) fn read_cdx(raw: &mut RawDoc, at: &str, v: Option<&Value>) -> Option<Actor> {
    let v = match v {
        None | Some(Value::Null) => return None,
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            raw.warn(at, "the supplier must be an object; dropped");
            return None;
        }
    };
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = text(v, "name");
    let contacts: Vec<&Value> = v
        .get("contact")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.is_object())
        .collect();
    let mut email = None;
    for (i, c) in contacts.iter().enumerate() {
        if let Some(e) = text(c, "email") {
            if is_email(&e) {
                email.get_or_insert(e);
            } else {
                raw.warn(
                    format!("{at}/contact/{i}/email"),
                    format!("{e:?} is not an e-mail address; dropped"),
                );
            }
        }
    }
    // A person is an entity whose one contact is that same person.
    let person = contacts.len() == 1 && name.is_some() && text(contacts[0], "name") == name;
    let kind = if person {
        ActorKind::Person
    } else {
        ActorKind::Organization
    };
    if name.is_none() && email.is_none() {
        if let Some(url) = v
            .get("url")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::trim)
            .find(|u| !u.is_empty())
        {
            raw.warn(
                at,
                format!("the supplier has a URL ({url}) but no name; the URL is used as its name"),
            );
            return Some(Actor {
                kind,
                name: url.to_owned(),
                email: None,
            });
        }
    }
    named(raw, at, kind, name.as_deref().unwrap_or_default(), email)
}

/// The supplier of a component as the exports write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Supplier<'a> {
    /// Person or organization (a tool is written as an organization).
    pub kind: ActorKind,
    /// Never empty.
    pub name: &'a str,
    /// A valid e-mail address.
    pub email: Option<&'a str>,
    /// The supplier text of a model stored before kinds were kept (it may
    /// be a whole actor body, `Jane Doe (jane@example.org)`). Exports write
    /// it as they always did, except where that was not a valid SPDX actor.
    pub legacy: Option<&'a str>,
}

/// The supplier the exports write for a component, if any.
pub(crate) fn supplier_of(c: &Component) -> Option<Supplier<'_>> {
    let text = c.supplier.as_deref()?.trim();
    let email = c.supplier_email.as_deref().filter(|e| is_email(e));
    let Some(kind) = c.supplier_kind else {
        if text.is_empty() {
            return None;
        }
        // Where the text has no name before its parentheses (which SPDX
        // refuses), an e-mail inside them stands in for the name.
        let (name, email) = match split_body(text) {
            ("", Some(e)) if is_email(e) => (e, Some(e)),
            _ => (text, None),
        };
        return Some(Supplier {
            kind: ActorKind::Organization,
            name,
            email,
            legacy: Some(text),
        });
    };
    let kind = match kind {
        ActorKind::Tool => ActorKind::Organization,
        k => k,
    };
    let name = if text.is_empty() { email? } else { text };
    Some(Supplier {
        kind,
        name,
        email,
        legacy: None,
    })
}

impl<'a> Supplier<'a> {
    /// The SPDX actor (`Person: name (email)`), one the SPDX tools accept.
    pub fn spdx(&self) -> String {
        let label = self.kind.spdx_label();
        if let Some(text) = self.legacy.filter(|t| body_ok(t)) {
            return format!("{label}: {text}");
        }
        let name = self.name;
        match self.email {
            Some(e) => format!("{label}: {name} ({e})"),
            // Empty parentheses keep a name that ends in `)` a name.
            None if name.ends_with(')') => format!("{label}: {name} ()"),
            None => format!("{label}: {name}"),
        }
    }

    /// The CycloneDX contact: `(name, email)` of the one contact written
    /// (a person is the entity's own contact), if any.
    pub fn cdx_contact(&self) -> Option<(Option<&'a str>, Option<&'a str>)> {
        if self.legacy.is_some() {
            return None;
        }
        match (self.kind, self.email) {
            (ActorKind::Person, e) => Some((Some(self.name), e)),
            (_, Some(e)) => Some((None, Some(e))),
            (_, None) => None,
        }
    }

    /// The CycloneDX entity name.
    pub fn cdx_name(&self) -> &'a str {
        self.legacy.unwrap_or(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFormat;

    fn doc() -> RawDoc {
        RawDoc::new(SourceFormat::SpdxJson, "SPDX-2.3".into())
    }

    fn actor(kind: ActorKind, name: &str, email: Option<&str>) -> Option<Actor> {
        Some(Actor {
            kind,
            name: name.into(),
            email: email.map(Into::into),
        })
    }

    #[test]
    fn spdx_actors_keep_their_kind_and_e_mail() {
        use ActorKind::*;
        let cases: &[(&str, Option<Actor>, usize)] = &[
            (
                "Person: Jane Doe (jane@example.org)",
                actor(Person, "Jane Doe", Some("jane@example.org")),
                0,
            ),
            (
                "Organization: Jupyter Development Team (jupyter@googlegroups.com)",
                actor(
                    Organization,
                    "Jupyter Development Team",
                    Some("jupyter@googlegroups.com"),
                ),
                0,
            ),
            (
                "Person: Jonathan Slenders",
                actor(Person, "Jonathan Slenders", None),
                0,
            ),
            ("Person: Jane Doe ()", actor(Person, "Jane Doe", None), 0),
            ("NOASSERTION", None, 0),
            // The defect that started this: an e-mail and no name.
            (
                "Person: (tiangolo@gmail.com)",
                actor(Person, "tiangolo@gmail.com", Some("tiangolo@gmail.com")),
                1,
            ),
            ("Person: ", None, 1),
            ("Person: ()", None, 1),
            ("NONE", None, 1),
            ("Acme Corp", actor(Organization, "Acme Corp", None), 1),
            (
                "Tool: builder-1.0",
                actor(Organization, "builder-1.0", None),
                1,
            ),
            // Not an e-mail: the parentheses stay in the name.
            (
                "Organization: Acme (Europe)",
                actor(Organization, "Acme (Europe)", None),
                1,
            ),
            // The last parentheses are the e-mail, as SPDX tools read them.
            (
                "Organization: Acme (EU) (a@acme.example)",
                actor(Organization, "Acme (EU)", Some("a@acme.example")),
                0,
            ),
        ];
        for (input, want, warnings) in cases {
            let mut raw = doc();
            assert_eq!(&read_spdx(&mut raw, "/p", input), want, "{input}");
            assert_eq!(raw.warnings.len(), *warnings, "{input}: {:?}", raw.warnings);
        }
    }

    #[test]
    fn cyclonedx_suppliers() {
        use serde_json::json;
        use ActorKind::*;
        let cases = [
            (json!({"name": "Acme"}), actor(Organization, "Acme", None)),
            (
                json!({"name": "Acme", "contact": [{"email": "a@acme.example"}]}),
                actor(Organization, "Acme", Some("a@acme.example")),
            ),
            (
                json!({"name": "Jane", "contact": [{"name": "Jane", "email": "j@x.example"}]}),
                actor(Person, "Jane", Some("j@x.example")),
            ),
            (
                json!({"contact": [{"email": "j@x.example"}]}),
                actor(Organization, "j@x.example", Some("j@x.example")),
            ),
            (
                json!({"url": ["https://acme.example"]}),
                actor(Organization, "https://acme.example", None),
            ),
            (
                json!({"name": "Acme", "contact": [{"email": "not mail"}]}),
                actor(Organization, "Acme", None),
            ),
            (json!({}), None),
            (json!("Acme"), None),
        ];
        for (v, want) in cases {
            assert_eq!(read_cdx(&mut doc(), "/c/supplier", Some(&v)), want, "{v}");
        }
    }

    #[test]
    fn e_mail_addresses() {
        for good in [
            "a@b",
            "kim+pypi@gumleaf.org",
            "1755071+adriangb@users.noreply.github.com",
            "é@exämple.org",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "@b", "a@", "a b@c", "a@b@c", "(a)@b", "a@b..c", "a@b,c", "a\n@b",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    fn comp(supplier: &str, kind: Option<ActorKind>, email: Option<&str>) -> Component {
        Component {
            name: "x".into(),
            version: None,
            purl: None,
            kind: "library".into(),
            supplier: Some(supplier.into()),
            supplier_kind: kind,
            supplier_email: email.map(Into::into),
            hashes: Default::default(),
            declared: None,
            concluded: None,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn spdx_actor_text() {
        use ActorKind::*;
        let cases = [
            (
                comp("Jane Doe", Some(Person), Some("jane@x.org")),
                "Person: Jane Doe (jane@x.org)",
            ),
            (comp("Acme", Some(Organization), None), "Organization: Acme"),
            (
                comp("Acme (EU)", Some(Organization), None),
                "Organization: Acme (EU) ()",
            ),
            (
                comp("t@x.org", Some(Person), Some("t@x.org")),
                "Person: t@x.org (t@x.org)",
            ),
            (comp("b", Some(Tool), None), "Organization: b"),
            // Stored before kinds: written as before where that was valid …
            (
                comp("Jane Doe (jane@x.org)", None, None),
                "Organization: Jane Doe (jane@x.org)",
            ),
            (comp("Acme", None, None), "Organization: Acme"),
            // … and repaired where it was not.
            (comp("Acme (EU)", None, None), "Organization: Acme (EU) ()"),
            (
                comp("(tiangolo@gmail.com)", None, None),
                "Organization: tiangolo@gmail.com (tiangolo@gmail.com)",
            ),
            (
                comp("(not mail)", None, None),
                "Organization: (not mail) ()",
            ),
        ];
        for (c, want) in cases {
            let s = supplier_of(&c).expect("a supplier").spdx();
            assert_eq!(s, want);
            crate::check::spdx_actor(&s, false).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        assert_eq!(
            supplier_of(&comp("()", None, None)).map(|s| s.spdx()),
            Some("Organization: () ()".into())
        );
        assert!(supplier_of(&comp("", Some(Person), None)).is_none());
        // CycloneDX: a person is its own contact; stored text stays as it was.
        let p = comp("Jane", Some(Person), Some("j@x.org"));
        let s = supplier_of(&p).unwrap();
        assert_eq!(
            (s.cdx_name(), s.cdx_contact()),
            ("Jane", Some((Some("Jane"), Some("j@x.org"))))
        );
        let o = comp("(t@x.org)", None, None);
        let s = supplier_of(&o).unwrap();
        assert_eq!((s.cdx_name(), s.cdx_contact()), ("(t@x.org)", None));
    }
}
