//! Grammar checks on our own exports: strict out.
//!
//! Whatever ingest accepts, the exports must be documents that the official
//! validators accept (spdx-tools for SPDX 2.3, the CycloneDX 1.6 schemas).
//! Those run in Python; these checks are the part of them that matters for
//! values we copy from input, written in Rust so the fuzz target and the unit
//! tests can apply them to every export: every SPDX actor matches the actor
//! grammar, every SPDX id matches `SPDXRef-[A-Za-z0-9.-]+`, every licence
//! expression parses and uses ids the validators know, dates are RFC 3339
//! UTC, purls parse, checksums fit their algorithm, CycloneDX bom-refs are
//! unique and every reference resolves, enum-valued fields hold enum values,
//! and every tag-value line is lexed as the tag it is meant to be.
//!
//! This is not a schema validator: it does not check element order, and it
//! knows only the fields our exports write.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{actor, build, license, text, ExportFormat};

/// One way an export breaks its format's grammar (a finding of a check,
/// not an error of this crate's operations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: a JSON pointer, or `line N` for tag-value.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Checks one export; returns every violation found.
pub fn export(format: ExportFormat, bytes: &[u8]) -> Result<(), Vec<Violation>> {
    let mut out = Out(Vec::new());
    match std::str::from_utf8(bytes) {
        Err(e) => out.push("", format!("not UTF-8: {e}")),
        Ok(s) => match format {
            ExportFormat::SpdxJson => match serde_json::from_str(s) {
                Ok(v) => spdx_doc(&v, false, &mut out),
                Err(e) => out.push("", format!("not JSON: {e}")),
            },
            ExportFormat::SpdxTv => match tv_to_json(s, &mut out) {
                Some(v) => spdx_doc(&v, true, &mut out),
                None => out.push("", "no SPDXVersion line"),
            },
            ExportFormat::CyclonedxJson => match serde_json::from_str(s) {
                Ok(v) => cdx_doc(&v, true, &mut out),
                Err(e) => out.push("", format!("not JSON: {e}")),
            },
            ExportFormat::CyclonedxXml => match crate::cdx_xml::to_json(s) {
                Ok(v) => cdx_doc(&v, false, &mut out),
                Err(e) => out.push("", format!("not CycloneDX XML: {e}")),
            },
        },
    }
    if out.0.is_empty() {
        Ok(())
    } else {
        Err(out.0)
    }
}

struct Out(Vec<Violation>);

impl Out {
    fn push(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            at: at.into(),
            message: message.into(),
        });
    }

    fn check(&mut self, at: impl Into<String>, r: Result<(), String>) {
        if let Err(m) = r {
            self.push(at, m);
        }
    }
}

/// An SPDX actor (SPDX 2.3 §6.8, §7.5): `Person: name (email)`,
/// `Organization: name (email)`, or, where `tool` is allowed (creators),
/// `Tool: name-version`. The name must not be empty; the parentheses are
/// optional and hold an e-mail address or nothing.
pub fn spdx_actor(s: &str, tool: bool) -> Result<(), String> {
    single_line(s)?;
    if let Some(name) = s.strip_prefix("Tool:").filter(|_| tool) {
        return if name.trim().is_empty() {
            Err(format!("{s:?}: a tool needs a name"))
        } else {
            Ok(())
        };
    }
    let Some(body) = s
        .strip_prefix("Person:")
        .or_else(|| s.strip_prefix("Organization:"))
    else {
        return Err(format!(
            "{s:?} is not `Person: …`{} or `Organization: …`",
            if tool { ", `Tool: …`" } else { "" }
        ));
    };
    match actor::split_body(body) {
        ("", _) => Err(format!("{s:?} has no name")),
        (_, Some(e)) if !e.is_empty() && !actor::is_email(e) => Err(format!(
            "{s:?}: {e:?} in parentheses is not an e-mail address"
        )),
        _ => Ok(()),
    }
}

/// An SPDX element id: `SPDXRef-` then letters, digits, `.` and `-`
/// (SPDX 2.3 §3.2).
pub fn spdx_id(s: &str) -> Result<(), String> {
    match s.strip_prefix("SPDXRef-") {
        Some(rest)
            if !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
        {
            Ok(())
        }
        _ => Err(format!("{s:?} is not SPDXRef-[A-Za-z0-9.-]+")),
    }
}

/// An SPDX licence expression (SPDX 2.3 Annex D) that the validators accept:
/// listed ids (or `LicenseRef-…` where `local_refs` is allowed), `AND`,
/// `OR`, `WITH` and parentheses.
pub fn license_expression(s: &str, local_refs: bool) -> Result<(), String> {
    if !license::is_spdx(s) {
        return Err(format!(
            "{s:?} is not an SPDX licence expression the validators accept"
        ));
    }
    if !local_refs && license::has_local_refs(s) {
        return Err(format!(
            "{s:?} refers to a licence the document does not define"
        ));
    }
    Ok(())
}

/// A UTC date-time in the one shape both formats and the SPDX tag-value
/// lexer accept: `YYYY-MM-DDThh:mm:ssZ` (RFC 3339, SPDX 2.3 §6.9).
pub fn date_time(s: &str) -> Result<(), String> {
    let shape = s.len() == 20
        && s.bytes()
            .zip("dddd-dd-ddTdd:dd:ddZ".bytes())
            .all(|(c, w)| match w {
                b'd' => c.is_ascii_digit(),
                w => c == w,
            });
    if shape
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    {
        Ok(())
    } else {
        Err(format!("{s:?} is not a date-time YYYY-MM-DDThh:mm:ssZ"))
    }
}

/// A package URL (purl-spec): `pkg:type/namespace/name@version?qualifiers#subpath`.
/// The type is ASCII letters, digits, `.`, `+` and `-`, not starting with a
/// digit; the name is not empty; every `%` starts a valid escape; qualifier
/// keys are unique ASCII names and have values. A purl is a URI (RFC 3986
/// §2), so blanks, controls, a second `#` and the ASCII characters a URI
/// cannot hold (`"`, `<`, `>`, `[`, `\`, `]`, `^`, the backtick, `{`, `|`,
/// `}`) must be percent-encoded. (CycloneDX XML types `purl` as `xs:anyURI`,
/// which refuses `[`, `]` and a second `#`.)
pub fn purl(s: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{s:?} is not a package URL: {why}"));
    let Some(rest) = s.strip_prefix("pkg:") else {
        return bad("it must start with pkg:");
    };
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"<>[\\]^`{|}".contains(c))
    {
        return bad("blanks, controls and \"<>[\\]^`{|} must be percent-encoded");
    }
    if s.matches('#').count() > 1 {
        return bad("a second # must be percent-encoded");
    }
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        if !(b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
            return bad("a % that does not start a %XX escape");
        }
    }
    let rest = rest.trim_start_matches('/');
    let (rest, _subpath) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
    let Some((ty, path)) = rest.split_once('/') else {
        return bad("no type/name");
    };
    let ty_ok = ty.bytes().next().is_some_and(|c| !c.is_ascii_digit())
        && ty
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".+-".contains(&c));
    if !ty_ok {
        return bad("the type must be ASCII letters, digits, . + -, not starting with a digit");
    }
    let path = path.rsplit_once('@').map_or(path, |(p, _version)| p);
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if name.is_empty() {
        return bad("no name");
    }
    let mut keys = BTreeSet::new();
    for q in qualifiers.split('&').filter(|q| !q.is_empty()) {
        let Some((k, v)) = q.split_once('=') else {
            return bad("a qualifier without =");
        };
        let k_ok = k.bytes().next().is_some_and(|c| !c.is_ascii_digit())
            && k.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".-_".contains(&c));
        if !k_ok || v.is_empty() || !keys.insert(k.to_ascii_lowercase()) {
            return bad("qualifiers must be unique key=value pairs with ASCII keys");
        }
    }
    Ok(())
}

/// A value for a single-line field: no line breaks.
pub fn single_line(s: &str) -> Result<(), String> {
    if s.contains(['\n', '\r']) {
        Err(format!("{s:?} spans lines"))
    } else {
        Ok(())
    }
}

/// SPDX 2.3 checksum algorithms (§7.10), with the hex length of the ones
/// whose digest length is fixed.
const SPDX_CHECKSUMS: &[(&str, Option<usize>)] = &[
    ("SHA1", Some(40)),
    ("SHA224", Some(56)),
    ("SHA256", Some(64)),
    ("SHA384", Some(96)),
    ("SHA512", Some(128)),
    ("SHA3-256", Some(64)),
    ("SHA3-384", Some(96)),
    ("SHA3-512", Some(128)),
    ("BLAKE2b-256", Some(64)),
    ("BLAKE2b-384", Some(96)),
    ("BLAKE2b-512", Some(128)),
    ("BLAKE3", None),
    ("MD2", Some(32)),
    ("MD4", Some(32)),
    ("MD5", Some(32)),
    ("MD6", None),
    ("ADLER32", Some(8)),
];

/// SPDX 2.3 JSON schema `primaryPackagePurpose` enum.
const SPDX_PURPOSES: &[&str] = &[
    "OTHER",
    "INSTALL",
    "ARCHIVE",
    "FIRMWARE",
    "APPLICATION",
    "FRAMEWORK",
    "LIBRARY",
    "CONTAINER",
    "SOURCE",
    "DEVICE",
    "OPERATING_SYSTEM",
    "FILE",
];

/// SPDX 2.3 relationship types (§11.1).
const SPDX_RELATIONSHIPS: &[&str] = &[
    "DESCRIBES",
    "DESCRIBED_BY",
    "CONTAINS",
    "CONTAINED_BY",
    "DEPENDS_ON",
    "DEPENDENCY_OF",
    "DEPENDENCY_MANIFEST_OF",
    "BUILD_DEPENDENCY_OF",
    "DEV_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF",
    "EXAMPLE_OF",
    "GENERATES",
    "GENERATED_FROM",
    "ANCESTOR_OF",
    "DESCENDANT_OF",
    "VARIANT_OF",
    "DISTRIBUTION_ARTIFACT",
    "PATCH_FOR",
    "PATCH_APPLIED",
    "COPY_OF",
    "FILE_ADDED",
    "FILE_DELETED",
    "FILE_MODIFIED",
    "EXPANDED_FROM_ARCHIVE",
    "DYNAMIC_LINK",
    "STATIC_LINK",
    "DATA_FILE_OF",
    "TEST_CASE_OF",
    "BUILD_TOOL_OF",
    "DEV_TOOL_OF",
    "TEST_OF",
    "TEST_TOOL_OF",
    "DOCUMENTATION_OF",
    "OPTIONAL_COMPONENT_OF",
    "METAFILE_OF",
    "PACKAGE_OF",
    "AMENDS",
    "PREREQUISITE_FOR",
    "HAS_PREREQUISITE",
    "REQUIREMENT_DESCRIPTION_FOR",
    "SPECIFICATION_FOR",
    "OTHER",
];

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn arr_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A field that must be a plain single-line string (and, in tag-value,
/// one the lexer reads as a plain line).
fn line_field(v: &Value, key: &str, at: &str, required: bool, tv: bool, out: &mut Out) {
    match v.get(key) {
        None if !required => {}
        Some(Value::String(s)) if !s.trim().is_empty() => {
            out.check(format!("{at}/{key}"), single_line(s));
            if tv && text::tv_unsafe(s) {
                out.push(
                    format!("{at}/{key}"),
                    format!(
                        "{s:?} is lexed as a keyword, tag, actor, checksum or date, not a line"
                    ),
                );
            }
        }
        _ => out.push(format!("{at}/{key}"), "must be a non-empty string"),
    }
}

/// Checks an SPDX 2.3 document in the JSON shape (tag-value is turned into
/// it first, with `tv` set).
fn spdx_doc(v: &Value, tv: bool, out: &mut Out) {
    for (key, want) in [
        ("spdxVersion", "SPDX-2.3"),
        ("dataLicense", "CC0-1.0"),
        ("SPDXID", "SPDXRef-DOCUMENT"),
    ] {
        if str_of(v, key) != Some(want) {
            out.push(format!("/{key}"), format!("must be {want}"));
        }
    }
    line_field(v, "name", "", true, tv, out);
    match str_of(v, "documentNamespace") {
        Some(ns) => out.check("/documentNamespace", uri(ns)),
        None => out.push("/documentNamespace", "is missing"),
    }
    let ci = v.get("creationInfo").unwrap_or(&Value::Null);
    match str_of(ci, "created") {
        Some(c) => out.check("/creationInfo/created", date_time(c)),
        None => out.push("/creationInfo/created", "is missing"),
    }
    let creators = arr_of(ci, "creators");
    if creators.is_empty() {
        out.push("/creationInfo/creators", "needs at least one creator");
    }
    for (i, c) in creators.iter().enumerate() {
        let at = format!("/creationInfo/creators/{i}");
        match c.as_str() {
            Some(c) => out.check(at, spdx_actor(c, true)),
            None => out.push(at, "must be a string"),
        }
    }
    let mut ids = BTreeSet::from(["SPDXRef-DOCUMENT".to_owned()]);
    for (i, p) in arr_of(v, "packages").iter().enumerate() {
        let at = format!("/packages/{i}");
        match str_of(p, "SPDXID") {
            Some(id) => {
                out.check(format!("{at}/SPDXID"), spdx_id(id));
                if !ids.insert(id.to_owned()) {
                    out.push(format!("{at}/SPDXID"), format!("{id} is used twice"));
                }
            }
            None => out.push(format!("{at}/SPDXID"), "is missing"),
        }
        line_field(p, "name", &at, true, tv, out);
        line_field(p, "versionInfo", &at, false, tv, out);
        if let Some(s) = p.get("supplier") {
            match s.as_str() {
                Some("NOASSERTION") => {}
                Some(s) => out.check(format!("{at}/supplier"), spdx_actor(s, false)),
                None => out.push(format!("{at}/supplier"), "must be a string"),
            }
        }
        match str_of(p, "downloadLocation") {
            Some("NOASSERTION" | "NONE") => {}
            Some(u) => out.check(format!("{at}/downloadLocation"), uri(u)),
            None => out.push(format!("{at}/downloadLocation"), "is missing"),
        }
        for (j, c) in arr_of(p, "checksums").iter().enumerate() {
            let cat = format!("{at}/checksums/{j}");
            let (alg, val) = (str_of(c, "algorithm"), str_of(c, "checksumValue"));
            match SPDX_CHECKSUMS.iter().find(|(a, _)| Some(*a) == alg) {
                None => out.push(&cat, format!("{alg:?} is not an SPDX checksum algorithm")),
                Some((_, len)) => {
                    let ok = val.is_some_and(|h| {
                        !h.is_empty()
                            && h.bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                            && len.is_none_or(|l| h.len() == l)
                    });
                    if !ok {
                        out.push(
                            &cat,
                            format!("{val:?} is not a lower-case hex {alg:?} digest"),
                        );
                    }
                }
            }
        }
        for key in ["licenseConcluded", "licenseDeclared"] {
            match str_of(p, key) {
                None | Some("NOASSERTION" | "NONE") => {}
                Some(l) => out.check(format!("{at}/{key}"), license_expression(l, false)),
            }
        }
        for (j, r) in arr_of(p, "externalRefs").iter().enumerate() {
            let rat = format!("{at}/externalRefs/{j}");
            let cat = str_of(r, "referenceCategory");
            if !matches!(
                cat,
                Some("SECURITY" | "PACKAGE-MANAGER" | "PERSISTENT-ID" | "OTHER")
            ) {
                out.push(&rat, format!("{cat:?} is not a reference category"));
            }
            let loc = str_of(r, "referenceLocator").unwrap_or_default();
            if str_of(r, "referenceType") == Some("purl") {
                if cat != Some("PACKAGE-MANAGER") {
                    out.push(&rat, "a purl is a PACKAGE-MANAGER reference");
                }
                out.check(&rat, purl(loc));
            } else if loc.is_empty() || loc.contains(char::is_whitespace) {
                out.push(&rat, "a locator is one word");
            }
        }
        if let Some(purpose) = p.get("primaryPackagePurpose") {
            // Tag-value spells it with a hyphen (§7.24), JSON with an underscore.
            let want = purpose.as_str().map(|s| {
                if tv {
                    s.replace('-', "_")
                } else {
                    s.to_owned()
                }
            });
            let ok = want.as_deref().is_some_and(|w| SPDX_PURPOSES.contains(&w))
                && !(tv && purpose.as_str().is_some_and(|s| s.contains('_')));
            if !ok {
                out.push(
                    format!("{at}/primaryPackagePurpose"),
                    format!("{purpose} is not a package purpose"),
                );
            }
        }
    }
    let mut described = false;
    for (i, r) in arr_of(v, "relationships").iter().enumerate() {
        let at = format!("/relationships/{i}");
        let ty = str_of(r, "relationshipType").unwrap_or_default();
        if !SPDX_RELATIONSHIPS.contains(&ty) {
            out.push(&at, format!("{ty:?} is not a relationship type"));
        }
        for key in ["spdxElementId", "relatedSpdxElement"] {
            let id = str_of(r, key).unwrap_or_default();
            if !ids.contains(id) && id != "NOASSERTION" && id != "NONE" {
                out.push(
                    format!("{at}/{key}"),
                    format!("{id:?} is not an element of the document"),
                );
            }
        }
        described |= ty == "DESCRIBES" && str_of(r, "spdxElementId") == Some("SPDXRef-DOCUMENT");
    }
    if !described {
        out.push("/relationships", "the document DESCRIBES nothing");
    }
}

/// An absolute URI without a fragment and without blanks, as SPDX requires
/// of a document namespace (§6.5) and a download location.
fn uri(s: &str) -> Result<(), String> {
    let scheme_ok = s.split_once(':').is_some_and(|(scheme, rest)| {
        scheme
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
            && !rest.is_empty()
    });
    if scheme_ok && !s.contains('#') && !s.contains(|c: char| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(format!("{s:?} is not an absolute URI without a fragment"))
    }
}

/// Reads our own tag-value export into the JSON shape, checking on the way
/// that every line is lexed as the token its tag needs (SPDX tools' lexer).
fn tv_to_json(s: &str, out: &mut Out) -> Option<Value> {
    use serde_json::{json, Map};
    let mut doc = Map::new();
    let mut creators = Vec::new();
    let mut created = None;
    let mut packages: Vec<Map<String, Value>> = Vec::new();
    let mut relationships = Vec::new();
    let mut seen_version = false;
    for (i, line) in s.lines().enumerate() {
        let at = format!("line {}", i + 1);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(": ") else {
            out.push(&at, "not `Tag: value`");
            continue;
        };
        if value.starts_with("<text>") {
            out.push(
                &at,
                format!("{tag} is a single-line field; <text> is not allowed"),
            );
            continue;
        }
        // What the lexer makes of the value: only these tags take a token
        // other than a plain line.
        match tag {
            "Creator" | "PackageSupplier" | "Created" | "PackageChecksum" => {}
            "PackageLicenseConcluded"
            | "PackageLicenseDeclared"
            | "PackageCopyrightText"
            | "PackageDownloadLocation"
                if matches!(value, "NOASSERTION" | "NONE") => {}
            _ if text::tv_unsafe(value) => {
                out.push(
                    &at,
                    format!("{tag}: {value:?} is not lexed as a plain line"),
                );
            }
            _ => {}
        }
        let pkg = packages.last_mut();
        match (tag, pkg) {
            ("SPDXVersion", _) => {
                seen_version = true;
                doc.insert("spdxVersion".into(), json!(value));
            }
            ("DataLicense", _) => {
                doc.insert("dataLicense".into(), json!(value));
            }
            ("DocumentName", _) => {
                doc.insert("name".into(), json!(value));
            }
            ("DocumentNamespace", _) => {
                doc.insert("documentNamespace".into(), json!(value));
            }
            ("Creator", _) => creators.push(json!(value)),
            ("Created", _) => created = Some(json!(value)),
            ("SPDXID", None) => {
                doc.insert("SPDXID".into(), json!(value));
            }
            ("PackageName", _) => {
                let mut p = Map::new();
                p.insert("name".into(), json!(value));
                packages.push(p);
            }
            ("Relationship", _) => {
                let parts: Vec<&str> = value.split(' ').collect();
                if let [a, ty, b] = parts[..] {
                    relationships.push(json!({"spdxElementId": a, "relationshipType": ty, "relatedSpdxElement": b}));
                } else {
                    out.push(&at, "a Relationship is `<id> <TYPE> <id>`");
                }
            }
            (tag, Some(p)) => {
                let key = match tag {
                    "SPDXID" => "SPDXID",
                    "PackageVersion" => "versionInfo",
                    "PackageSupplier" => "supplier",
                    "PackageDownloadLocation" => "downloadLocation",
                    "FilesAnalyzed" => "filesAnalyzed",
                    "PackageLicenseConcluded" => "licenseConcluded",
                    "PackageLicenseDeclared" => "licenseDeclared",
                    "PackageCopyrightText" => "copyrightText",
                    "PrimaryPackagePurpose" => "primaryPackagePurpose",
                    "PackageChecksum" => {
                        let (alg, hex) = value.split_once(": ").unwrap_or((value, ""));
                        let list = p.entry("checksums").or_insert_with(|| json!([]));
                        if let Value::Array(a) = list {
                            a.push(json!({"algorithm": alg, "checksumValue": hex}));
                        }
                        continue;
                    }
                    "ExternalRef" => {
                        let parts: Vec<&str> = value.split(' ').collect();
                        let list = p.entry("externalRefs").or_insert_with(|| json!([]));
                        if let ([c, t, l], Value::Array(a)) = (&parts[..], list) {
                            a.push(json!({"referenceCategory": c, "referenceType": t, "referenceLocator": l}));
                        } else {
                            out.push(&at, "an ExternalRef is `CATEGORY type locator`");
                        }
                        continue;
                    }
                    other => {
                        out.push(&at, format!("{other} is not a tag our exports write"));
                        continue;
                    }
                };
                p.insert(key.into(), json!(value));
            }
            (other, None) => out.push(&at, format!("{other} before any package")),
        }
    }
    if !seen_version {
        return None;
    }
    let mut ci = Map::new();
    ci.insert("creators".into(), Value::Array(creators));
    if let Some(c) = created {
        ci.insert("created".into(), c);
    }
    doc.insert("creationInfo".into(), Value::Object(ci));
    doc.insert(
        "packages".into(),
        Value::Array(packages.into_iter().map(Value::Object).collect()),
    );
    doc.insert("relationships".into(), Value::Array(relationships));
    Some(Value::Object(doc))
}

/// CycloneDX 1.6 component types.
const CDX_TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

/// Checks a CycloneDX 1.6 document in the JSON shape (XML is turned into it
/// first; `json` says which, for the fields only JSON carries).
fn cdx_doc(v: &Value, json: bool, out: &mut Out) {
    if json && str_of(v, "bomFormat") != Some("CycloneDX") {
        out.push("/bomFormat", "must be CycloneDX");
    }
    if str_of(v, "specVersion") != Some("1.6") {
        out.push("/specVersion", "must be 1.6");
    }
    // bom-1.6 schema: ^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
    let serial_ok = str_of(v, "serialNumber")
        .and_then(|s| s.strip_prefix("urn:uuid:"))
        .and_then(|u| {
            uuid::Uuid::parse_str(u)
                .ok()
                .filter(|p| p.hyphenated().to_string() == u)
        })
        .is_some_and(|u| {
            (1..=5).contains(&u.get_version_num()) && u.get_variant() == uuid::Variant::RFC4122
        });
    if !serial_ok {
        out.push(
            "/serialNumber",
            "must be urn:uuid: and a lower-case RFC 4122 UUID",
        );
    }
    if v.get("version").and_then(Value::as_u64).unwrap_or(0) < 1 {
        out.push("/version", "must be an integer of at least 1");
    }
    let meta = v.get("metadata").unwrap_or(&Value::Null);
    match str_of(meta, "timestamp") {
        Some(t) => out.check("/metadata/timestamp", date_time(t)),
        None => out.push("/metadata/timestamp", "is missing"),
    }
    let mut refs = BTreeSet::new();
    match meta.get("component") {
        Some(c) => cdx_component(c, "/metadata/component", &mut refs, out),
        None => out.push("/metadata/component", "is missing"),
    }
    for (i, c) in arr_of(v, "components").iter().enumerate() {
        cdx_component(c, &format!("/components/{i}"), &mut refs, out);
    }
    let mut seen = BTreeSet::new();
    for (i, d) in arr_of(v, "dependencies").iter().enumerate() {
        let at = format!("/dependencies/{i}");
        let r = str_of(d, "ref").unwrap_or_default();
        if !refs.contains(r) {
            out.push(
                format!("{at}/ref"),
                format!("{r:?} is no component's bom-ref"),
            );
        }
        // XML nests the refs a component depends on inside its entry; read
        // into this shape, those come out as entries of their own.
        let nested = !json && arr_of(d, "dependsOn").is_empty();
        if !nested && !seen.insert(r) {
            out.push(
                format!("{at}/ref"),
                format!("{r:?} has two dependency entries"),
            );
        }
        let mut on = BTreeSet::new();
        for (j, t) in arr_of(d, "dependsOn").iter().enumerate() {
            let t = t.as_str().unwrap_or_default();
            if !refs.contains(t) {
                out.push(
                    format!("{at}/dependsOn/{j}"),
                    format!("{t:?} is no component's bom-ref"),
                );
            }
            if !on.insert(t) {
                out.push(
                    format!("{at}/dependsOn/{j}"),
                    format!("{t:?} is listed twice"),
                );
            }
        }
    }
}

fn cdx_component(c: &Value, at: &str, refs: &mut BTreeSet<String>, out: &mut Out) {
    let ty = str_of(c, "type").unwrap_or_default();
    if !CDX_TYPES.contains(&ty) {
        out.push(
            format!("{at}/type"),
            format!("{ty:?} is not a CycloneDX 1.6 component type"),
        );
    }
    match str_of(c, "bom-ref") {
        Some(r) if !r.is_empty() => {
            if !refs.insert(r.to_owned()) {
                out.push(format!("{at}/bom-ref"), format!("{r:?} is not unique"));
            }
        }
        _ => out.push(format!("{at}/bom-ref"), "is missing"),
    }
    if str_of(c, "name").is_none_or(|n| n.trim().is_empty()) {
        out.push(format!("{at}/name"), "must be a non-empty string");
    }
    if str_of(c, "version").is_some_and(|v| v.is_empty() || v.chars().count() > 1024) {
        out.push(format!("{at}/version"), "must be 1 to 1024 characters");
    }
    if let Some(s) = c.get("supplier") {
        if str_of(s, "name").is_none_or(|n| n.trim().is_empty()) {
            out.push(format!("{at}/supplier/name"), "must be a non-empty string");
        }
        for (i, k) in arr_of(s, "contact").iter().enumerate() {
            if let Some(e) = k.get("email") {
                if !e.as_str().is_some_and(actor::is_email) {
                    out.push(
                        format!("{at}/supplier/contact/{i}/email"),
                        format!("{e} is not an e-mail address"),
                    );
                }
            }
        }
    }
    let mut algs = BTreeSet::new();
    for (i, h) in arr_of(c, "hashes").iter().enumerate() {
        let (alg, content) = (
            str_of(h, "alg").unwrap_or_default(),
            str_of(h, "content").unwrap_or_default(),
        );
        let ok = build::hash_len(alg).is_some_and(|l| content.len() == l)
            && content.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok || !algs.insert(alg) {
            out.push(
                format!("{at}/hashes/{i}"),
                format!("{alg} {content:?} is not one well-formed hash"),
            );
        }
    }
    let lics = arr_of(c, "licenses");
    let exprs = lics
        .iter()
        .filter(|l| l.get("expression").is_some())
        .count();
    if exprs > 0 && lics.len() > 1 {
        out.push(
            format!("{at}/licenses"),
            "an expression must be the only entry",
        );
    }
    let mut seen = BTreeMap::new();
    for (i, l) in lics.iter().enumerate() {
        let lat = format!("{at}/licenses/{i}");
        if let Some(e) = l.get("expression") {
            out.check(
                &lat,
                license_expression(e.as_str().unwrap_or_default(), true),
            );
        } else if let Some(b) = l.get("license") {
            match (str_of(b, "id"), str_of(b, "name")) {
                (Some(id), None) if license::is_single_id(id) => {}
                (Some(id), None) => out.push(
                    &lat,
                    format!("{id:?} is not a licence id CycloneDX 1.6 lists"),
                ),
                (None, Some(n)) if !n.trim().is_empty() => {}
                _ => out.push(&lat, "a licence has an id or a name"),
            }
        } else {
            out.push(&lat, "a licence entry is a license or an expression");
        }
        let ack = l
            .get("acknowledgement")
            .or_else(|| l.get("license").and_then(|b| b.get("acknowledgement")));
        if let Some(a) = ack {
            if !matches!(a.as_str(), Some("declared" | "concluded")) {
                out.push(&lat, format!("{a} is not an acknowledgement"));
            }
        }
        if seen.insert(l.to_string(), i).is_some() {
            out.push(&lat, "the same licence entry twice");
        }
    }
    if let Some(p) = c.get("purl") {
        out.check(format!("{at}/purl"), purl(p.as_str().unwrap_or_default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors() {
        for ok in [
            "Person: Jane Doe (jane@example.org)",
            "Organization: Acme",
            "Organization: Acme (EU) ()",
            "Person: t@x.org (t@x.org)",
        ] {
            assert_eq!(spdx_actor(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(spdx_actor("Tool: evident-0.1.0", true), Ok(()));
        for bad in [
            "Person: (tiangolo@gmail.com)",
            "Organization: ",
            "Organization: Acme (EU)",
            "Tool: evident-0.1.0",
            "Jane",
            "Person: Jane\nDoe",
            "NOASSERTION",
        ] {
            assert!(spdx_actor(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_dates_purls() {
        assert!(spdx_id("SPDXRef-Package-1-a.b-c").is_ok());
        for bad in ["SPDXRef-", "SPDXRef-a_b", "SPDXRef-é", "Package-1"] {
            assert!(spdx_id(bad).is_err(), "{bad}");
        }
        assert!(date_time("2027-01-15T08:00:00Z").is_ok());
        for bad in [
            "2027-01-15T08:00:00+00:00",
            "2027-13-15T08:00:00Z",
            "2027-01-15",
            "",
            "2027-01-15T08:00:00.5Z",
        ] {
            assert!(date_time(bad).is_err(), "{bad}");
        }
        for ok in [
            "pkg:pypi/fastapi@0.115.0",
            "pkg:npm/%40angular/core@17.0.0",
            "pkg:maven/org.apache/commons@1.0?type=jar&classifier=sources#src/main",
            "pkg:cargo/serde@1.0.0",
            "pkg:golang/github.com/a/b@v1.0.0",
        ] {
            assert_eq!(purl(ok), Ok(()), "{ok}");
        }
        for bad in [
            "npm/a",
            "pkg:npm",
            "pkg:npm/",
            "pkg:1npm/a",
            "pkg:np m/a",
            "pkg:npm/a b",
            "pkg:npm/a%zz",
            "pkg:npm/a%4",
            "pkg:npm/a?x",
            "pkg:npm/a?k=1&k=2",
            "pkg:npm/@1.0",
            "pkg:npm/a[1]@1",
            "pkg:npm/a@1#x#y",
            "pkg:npm/a@^1.2",
            "pkg:npm/a\\b@1",
        ] {
            assert!(purl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn licence_expressions() {
        assert!(license_expression("MIT OR Apache-2.0", false).is_ok());
        assert!(license_expression("LicenseRef-x", true).is_ok());
        assert!(license_expression("LicenseRef-x", false).is_err());
        assert!(license_expression("Apache 2", true).is_err());
        assert!(license_expression("GPL-2.0-only+", true).is_err());
    }

    fn export_of(model: &crate::Model, f: ExportFormat) -> Vec<u8> {
        let r = crate::Release {
            tenant: "t".into(),
            product: "p".into(),
            tag: "v1".into(),
            revision: 1,
            artefacts: vec![("a".into(), "ab".repeat(32))],
            pushed_at: 1_800_000_000,
            spdx_namespace: "https://evident.test/spdx/t/p/v1/r1".into(),
            tool_version: "0.1.0".into(),
        };
        f.write(model, &r)
    }

    #[test]
    fn catches_a_broken_export() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"type":"library","name":"a","purl":"pkg:npm/a@1"}]}"#;
        let m = crate::ingest(doc).unwrap().model;
        for f in ExportFormat::ALL {
            let bytes = export_of(&m, f);
            assert_eq!(export(f, &bytes), Ok(()), "{}", f.name());
            // One byte less in the purl's type makes it unparseable.
            let broken = String::from_utf8(bytes)
                .unwrap()
                .replace("pkg:npm/a", "pkg:/a");
            assert!(export(f, broken.as_bytes()).is_err(), "{}", f.name());
        }
        let tv = String::from_utf8(export_of(&m, ExportFormat::SpdxTv)).unwrap();
        let e = export(
            ExportFormat::SpdxTv,
            tv.replace("PackageName: a", "PackageName: NONE").as_bytes(),
        )
        .unwrap_err();
        assert!(e[0].message.contains("plain line"), "{e:?}");
        let e = export(
            ExportFormat::SpdxJson,
            String::from_utf8(export_of(&m, ExportFormat::SpdxJson))
                .unwrap()
                .replace("\"LIBRARY\"", "\"OPERATING-SYSTEM\"")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(e[0].message.contains("purpose"), "{e:?}");
    }
}
