//! The grammars VEX input is checked against: vulnerability ids, purls
//! (compared normalized), URLs, timestamps; and the escaping the outputs
//! need for IRIs.

use std::borrow::Cow;

/// A vulnerability id: `CVE-YYYY-NNNN` (four or more digits, CVE ID
/// syntax), `GHSA-xxxx-xxxx-xxxx` (GitHub's alphabet
/// `23456789cfghjmpqrvwx`), or an OSV id `PREFIX-…` (OSV schema §id: an
/// upper-case database prefix, a dash, then letters, digits, `.`, `_`, `:`
/// and `-`, such as `RUSTSEC-2024-0001`, `PYSEC-2023-1`, `RHSA-2020:1358`).
pub fn vulnerability_id(s: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{s:?} is not a vulnerability id: {why}"));
    if s.len() > 128 {
        return bad("longer than 128 characters");
    }
    let Some((prefix, rest)) = s.split_once('-') else {
        return bad("expected CVE-…, GHSA-… or an OSV id PREFIX-…");
    };
    match prefix {
        "CVE" => {
            let ok = rest.split_once('-').is_some_and(|(y, n)| {
                y.len() == 4
                    && y.bytes().all(|b| b.is_ascii_digit())
                    && n.len() >= 4
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
            if ok {
                Ok(())
            } else {
                bad("a CVE id is CVE-YYYY-NNNN with four or more digits")
            }
        }
        "GHSA" => {
            let groups: Vec<&str> = rest.split('-').collect();
            let ok = groups.len() == 3
                && groups.iter().all(|g| {
                    g.len() == 4 && g.bytes().all(|b| b"23456789cfghjmpqrvwx".contains(&b))
                });
            if ok {
                Ok(())
            } else {
                bad("a GHSA id is GHSA-xxxx-xxxx-xxxx in GitHub's lower-case alphabet")
            }
        }
        _ => {
            let prefix_ok = prefix.len() >= 2
                && prefix
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_uppercase())
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            let rest_ok = rest.bytes().any(|b| b.is_ascii_alphanumeric())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            if prefix_ok && rest_ok {
                Ok(())
            } else {
                bad("an OSV id is an upper-case PREFIX, a dash, then letters, digits, . _ : -")
            }
        }
    }
}

/// Is it a CVE id?
pub(crate) fn is_cve(s: &str) -> bool {
    s.starts_with("CVE-") && vulnerability_id(s).is_ok()
}

/// Decodes `%XX` escapes (invalid ones stay as they are).
pub(crate) fn pct_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(s),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and
/// `keep`: what a BOM-Link fragment (cyclonedx-python-lib writes it with
/// Python's `quote`, which keeps `/`) or an IRI path segment needs.
pub(crate) fn pct_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A purl in the form purls are compared in (purl-spec: the type is
/// case-insensitive; `bitbucket`, `github` and `npm` namespaces and names,
/// and `pypi` names, are compared lower-cased, pypi with `_` as `-`;
/// escapes are decoded; qualifier keys are lower-cased and sorted).
/// Returns the whole purl and the purl without qualifiers and subpath, or
/// `None` when it is not a purl.
pub fn normalize_purl(p: &str) -> Option<(String, String)> {
    let rest = p.trim().strip_prefix("pkg:")?.trim_start_matches('/');
    let (rest, subpath) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
    let (ty, path) = rest.split_once('/')?;
    let ty = ty.to_ascii_lowercase();
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) if !p.is_empty() => (p, Some(v)),
        _ => (path, None),
    };
    let path = path.trim_end_matches('/');
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    if name.is_empty() {
        return None;
    }
    let mut namespace = namespace
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| pct_decode(s).into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let mut name = pct_decode(name).into_owned();
    match ty.as_str() {
        "bitbucket" | "github" | "npm" => {
            namespace = namespace.to_lowercase();
            name = name.to_lowercase();
        }
        "pypi" => name = name.to_lowercase().replace('_', "-"),
        _ => {}
    }
    let mut base = format!("pkg:{ty}/");
    if !namespace.is_empty() {
        base.push_str(&namespace);
        base.push('/');
    }
    base.push_str(&name);
    if let Some(v) = version {
        base.push('@');
        base.push_str(&pct_decode(v));
    }
    let mut qs: Vec<(String, String)> = qualifiers
        .split('&')
        .filter(|q| !q.is_empty())
        .filter_map(|q| {
            let (k, v) = q.split_once('=')?;
            Some((k.to_ascii_lowercase(), pct_decode(v).into_owned()))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    qs.sort();
    let mut full = base.clone();
    for (i, (k, v)) in qs.iter().enumerate() {
        full.push(if i == 0 { '?' } else { '&' });
        full.push_str(k);
        full.push('=');
        full.push_str(v);
    }
    let sub = subpath.trim_matches('/');
    if !sub.is_empty() {
        full.push('#');
        full.push_str(&pct_decode(sub));
    }
    Some((full, base))
}

/// An absolute `http` or `https` URL that strict URI checkers accept
/// (CSAF's `format: uri`, XML's `anyURI`): ASCII, a host, no blanks or
/// the characters RFC 3986 never allows, every `%` an escape.
pub(crate) fn http_url(s: &str) -> Result<(), String> {
    let bad = || Err(format!("{s:?} is not an absolute http(s) URL"));
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return bad();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || !s.is_ascii()
        || s.bytes()
            .any(|b| b.is_ascii_control() || b" \"<>\\^`{|}".contains(&b))
        || s.matches('#').count() > 1
    {
        return bad();
    }
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        if !(b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
            return bad();
        }
    }
    Ok(())
}

/// An RFC 3339 date-time.
pub(crate) fn rfc3339(s: &str) -> Result<(), String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|_| format!("{s:?} is not an RFC 3339 date-time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vulnerability_ids() {
        for ok in [
            "CVE-2021-44228",
            "CVE-2014-123456",
            "GHSA-c38w-74pg-36hr",
            "RUSTSEC-2024-0001",
            "PYSEC-2023-1",
            "GO-2022-0001",
            "RHSA-2020:1358",
            "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111",
            "OSV-2020-111",
        ] {
            assert_eq!(vulnerability_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "CVE-21-1",
            "CVE-2021-123",
            "cve-2021-44228",
            "CVE-2021-44228 ",
            "GHSA-aaaa-bbbb-cccc",
            "GHSA-c38w-74pg",
            "log4shell",
            "X-1",
            "Rustsec-2024-1",
            "RUSTSEC-",
            "RUSTSEC-2024/1",
            "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
        ] {
            assert!(vulnerability_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn purls_compare_normalized() {
        let n = |p: &str| normalize_purl(p).unwrap().0;
        assert_eq!(n("pkg:PyPI/Django_Rest@1.0"), n("pkg:pypi/django-rest@1.0"));
        assert_eq!(
            n("pkg:npm/%40angular/core@17.0.0"),
            n("pkg:npm/@angular/core@17.0.0")
        );
        assert_eq!(
            n("pkg:maven/a/b@1?type=jar&classifier=x"),
            n("pkg:maven/a/b@1?classifier=x&type=jar")
        );
        assert_eq!(
            n("pkg:oci/nginx@sha256%3Aabc"),
            n("pkg:oci/nginx@sha256:abc")
        );
        assert_ne!(n("pkg:cargo/a@1"), n("pkg:cargo/A@1"));
        assert_ne!(n("pkg:cargo/a@1"), n("pkg:cargo/a@2"));
        assert_eq!(
            normalize_purl("pkg:maven/a/b@1?type=jar").unwrap().1,
            "pkg:maven/a/b@1"
        );
        assert!(normalize_purl("cpe:2.3:a:x").is_none());
    }

    #[test]
    fn urls_and_escapes() {
        assert!(http_url("https://nvd.nist.gov/vuln/detail/CVE-2021-44228").is_ok());
        assert!(http_url("http://x.example/a?b=c#d").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https:// x",
            "https://x/ä",
            "https://x/%zz",
            "nvd",
        ] {
            assert!(http_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            pct_encode("pkg:npm/%40a/b@1", b"/"),
            "pkg%3Anpm/%2540a/b%401"
        );
        assert_eq!(pct_decode("pkg%3Anpm/%2540a/b%401"), "pkg:npm/%40a/b@1");
        assert_eq!(pct_decode("a%4"), "a%4");
        assert_eq!(pct_decode("%zz%41"), "%zzA");
    }
}
