//! NOTICE attribution files: one section per licence, listing `name@version`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use quick_xml::escape::escape;

use super::{NoticeFormat, View};

const UNKNOWN: &str = "No licence information";

/// Licence → components, sorted; components without a licence last.
fn sections(v: &View) -> Vec<(String, BTreeSet<String>)> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unknown = BTreeSet::new();
    for c in &v.items {
        match c.declared.as_ref().or(c.concluded.as_ref()) {
            Some(l) => {
                map.entry(l.display())
                    .or_default()
                    .insert(c.name_at_version());
            }
            None => {
                unknown.insert(c.name_at_version());
            }
        }
    }
    let mut out: Vec<_> = map.into_iter().collect();
    if !unknown.is_empty() {
        out.push((UNKNOWN.to_owned(), unknown));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "component"
    } else {
        "components"
    }
}

pub(crate) fn write(f: NoticeFormat, v: &View) -> Vec<u8> {
    let r = v.release;
    let secs = sections(v);
    let title = format!("Third-party notices for {} {}", r.product, r.tag);
    let intro = format!(
        "The components of {} {} (revision {}) and the licences their SBOM records, grouped by licence.",
        r.product, r.tag, r.revision
    );
    let mut out = String::new();
    match f {
        NoticeFormat::Text => {
            let _ = writeln!(
                out,
                "{title}\n{}\n\n{intro}",
                "=".repeat(title.chars().count())
            );
            for (lic, comps) in &secs {
                let head = format!("{lic} ({} {})", comps.len(), plural(comps.len()));
                let _ = writeln!(out, "\n{head}\n{}", "-".repeat(head.chars().count()));
                for c in comps {
                    let _ = writeln!(out, "{c}");
                }
            }
        }
        NoticeFormat::Markdown => {
            let _ = writeln!(out, "# {}\n\n{}", md(&title), md(&intro));
            for (lic, comps) in &secs {
                let _ = writeln!(
                    out,
                    "\n## {} ({} {})\n",
                    md(lic),
                    comps.len(),
                    plural(comps.len())
                );
                for c in comps {
                    let _ = writeln!(out, "- {}", md(c));
                }
            }
        }
        NoticeFormat::Html => {
            let _ = writeln!(
                out,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}li{{font-family:monospace}}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}</p>",
                escape(title.as_str()),
                escape(title.as_str()),
                escape(intro.as_str())
            );
            for (lic, comps) in &secs {
                let _ = writeln!(
                    out,
                    "<section>\n<h2>{} ({} {})</h2>\n<ul>",
                    escape(lic.as_str()),
                    comps.len(),
                    plural(comps.len())
                );
                for c in comps {
                    let _ = writeln!(out, "<li>{}</li>", escape(c.as_str()));
                }
                out.push_str("</ul>\n</section>\n");
            }
            out.push_str("</body>\n</html>\n");
        }
    }
    out.into_bytes()
}

/// Escapes the characters Markdown would read as markup.
fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        if "\\`*_{}[]<>()#+-!|".contains(ch) {
            o.push('\\');
        }
        o.push(ch);
    }
    o
}
