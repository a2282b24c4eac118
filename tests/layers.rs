//! The server crate's layer rule, enforced (docs/architecture.md):
//!
//! 1. each top-level module of `src/` imports only the modules below it:
//!    `core` ← `store` ← `service` ← `http`, `portal`, `jobs` ← `app` ←
//!    `cli` (the portal may use `http`'s error mapping and extractors);
//! 2. the import graph of the top-level modules has no cycle;
//! 3. nothing below `http`/`portal` uses axum, maud, tower or hyper, and
//!    `core` uses no RocksDB, no log store and no tokio;
//! 4. the application key space's key strings are spelled only in `store`.
//!
//! It reads the sources, so it fails the moment a change breaks the rule.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// What each top-level module may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("store", &["core"]),
    ("service", &["core", "store"]),
    ("http", &["core", "service"]),
    ("portal", &["core", "service", "http"]),
    ("jobs", &["core", "service"]),
    (
        "app",
        &["core", "store", "service", "http", "portal", "jobs"],
    ),
    ("cli", &["core", "store", "service", "app"]),
];

/// Crates a layer must not name.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "core",
        &[
            "axum",
            "maud",
            "tower",
            "hyper",
            "rocksdb",
            "evident_log",
            "tokio",
        ],
    ),
    ("store", &["axum", "maud", "tower", "hyper"]),
    ("service", &["axum", "maud", "tower", "hyper"]),
    ("jobs", &["axum", "maud", "tower", "hyper"]),
];

/// Key prefixes of the application column family (`store::keys`).
const KEY_PREFIXES: &[&str] = &[
    "tenant/",
    "token/",
    "token-used/",
    "tenant-token/",
    "operator-token",
    "customer/",
    "session/",
    "session-seen/",
    "settings/",
    "blob/",
    "model/",
    "release/",
    "release-log/",
    "export/",
    "export-log/",
    "tenant-pub/",
    "tenant-key-current/",
    "log-key-current/",
    "log-key-history/",
    "cp-tsr/",
    "sig-tsr/",
    "ext-tsa/",
    "share-link/",
    "share-token/",
    "share-log/",
    "share-use/",
    "vex/",
    "vex-log/",
    "vex-statements/",
    "witness/",
    "audit/",
    "audit-ready/",
    "witness-state/",
    "cosig/",
    "cosig-latest/",
    "platform/",
    "tsa/key",
    "tsa/cert",
    "tsa/root",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            // The SBOM format crate is a crate of its own.
            if p.file_name().is_some_and(|n| n == "sbom") && p.parent() == Some(dir) {
                continue;
            }
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments and its test module.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .map(|l| match l.trim_start() {
            t if t.starts_with("//") => "",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find("crate::") {
        let mut j = i + at + "crate::".len();
        if b.get(j) == Some(&b'{') {
            // A group: the names at brace depth 1.
            let mut depth = 0;
            let mut name = String::new();
            let mut take = true;
            while j < b.len() {
                let c = b[j] as char;
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            take = false;
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        if !name.is_empty() {
                            out.insert(std::mem::take(&mut name));
                        }
                        take = true;
                    }
                    c if depth == 1 && take && (c.is_alphanumeric() || c == '_') => name.push(c),
                    c if depth == 1 && !c.is_whitespace() => {
                        if !name.is_empty() {
                            out.insert(std::mem::take(&mut name));
                        }
                        take = false;
                    }
                    _ => {}
                }
                j += 1;
            }
            if !name.is_empty() {
                out.insert(name);
            }
        } else {
            let name: String = code[j..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
        i = j.max(i + at + 1);
    }
    out
}

/// The crate names a piece of code uses (`name::` at a word start).
fn uses_crate(code: &str, krate: &str) -> bool {
    let pat = format!("{krate}::");
    code.match_indices(&pat).any(|(i, _)| {
        i == 0 || {
            let prev = code.as_bytes()[i - 1] as char;
            !(prev.is_alphanumeric() || prev == '_' || prev == ':')
        }
    })
}

#[test]
fn the_server_crate_is_layered_and_acyclic() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let layer = first.trim_end_matches(".rs").to_owned();
        if layer == "lib" || layer == "main" {
            continue;
        }
        let Some(may) = allowed.get(layer.as_str()) else {
            problems.push(format!(
                "src/{} is in no layer: add it to a layer of tests/layers.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let code = code(&text);
        for r in crate_refs(&code) {
            if r == layer || r == "DEFAULT_PUSH_BODY_BYTES" {
                continue;
            }
            graph.entry(layer.clone()).or_default().insert(r.clone());
            if !may.contains(&r.as_str()) {
                problems.push(format!(
                    "src/{} ({layer}) imports crate::{r}, which {layer} may not",
                    rel.display()
                ));
            }
        }
        for (l, banned) in FORBIDDEN {
            if *l == layer {
                for krate in *banned {
                    if uses_crate(&code, krate) {
                        problems.push(format!(
                            "src/{} ({layer}) uses {krate}, which {layer} may not",
                            rel.display()
                        ));
                    }
                }
            }
        }
        if layer != "store" {
            for p in KEY_PREFIXES {
                for quote in ["\"", "b\""] {
                    if code.contains(&format!("{quote}{p}")) {
                        problems.push(format!(
                            "src/{} ({layer}) spells the key prefix {p:?}: key strings belong to src/store/keys.rs",
                            rel.display()
                        ));
                    }
                }
            }
        }
    }
    // No cycle among the top-level modules (depth-first search).
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        on: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = on.iter().position(|x| x == n) {
            let mut c = on[i..].to_vec();
            c.push(n.to_owned());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        on.push(n.to_owned());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, on, done) {
                return Some(c);
            }
        }
        on.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(cycle) = visit(n, &graph, &mut Vec::new(), &mut done) {
            problems.push(format!("import cycle: {}", cycle.join(" -> ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks themselves catch what they are for (so the test above cannot
/// pass by looking at nothing).
#[test]
fn the_checks_catch_a_violation() {
    let refs = crate_refs("use crate::{\n    core::{a, b::c},\n    service::{x, y},\n    store::Db,\n};\nfn f() { crate::http::error::ApiError; }");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["core", "http", "service", "store"]
    );
    assert!(uses_crate("use axum::Router;", "axum"));
    assert!(!uses_crate("use evident_axum::Router;", "axum"));
    assert!(!uses_crate("crate::http::axum_like", "axum"));
    assert!(
        code("let x = 1;\n// use axum::X;\n#[cfg(test)]\nmod t { use axum::Y; }")
            .find("axum")
            .is_none()
    );
}
