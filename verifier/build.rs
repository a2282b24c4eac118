//! Embeds the verifier's own SBOM (CycloneDX 1.6 JSON): every package of
//! the workspace's `Cargo.lock` that `evident-verify` depends on, directly
//! or not (its dev-dependencies left out), with its version, purl and the
//! registry's SHA-256. `evident-verify sbom` prints it, and regulator
//! bundles enclose it beside the binary. The lock file lists dependencies
//! without their features or targets, so the list may name a package that
//! a feature leaves out of this build: it errs on the side of too many.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    path::PathBuf,
};

use sha2::{Digest, Sha256};

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let lock_path = dir.join("../Cargo.lock");
    let manifest_path = dir.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed={}", manifest_path.display());
    // No lock file, no SBOM: fail the build rather than embed an empty one.
    let lock_text = std::fs::read_to_string(&lock_path)
        .unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    let lock: toml::Table =
        toml::from_str(&lock_text).unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let names = |section: &str| -> BTreeSet<String> {
        manifest
            .get(section)
            .and_then(|d| d.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    // What the binary is not made of: its dev-dependencies, and what only
    // this build script uses.
    let normal = names("dependencies");
    let dev: BTreeSet<String> = names("dev-dependencies")
        .into_iter()
        .chain(names("build-dependencies"))
        .filter(|n| !normal.contains(n))
        .collect();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();

    // name → [(version, package table)]
    let mut by_name: BTreeMap<String, Vec<(String, toml::Table)>> = BTreeMap::new();
    for p in lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let Some(t) = p.as_table() else { continue };
        let (Some(n), Some(v)) = (
            t.get("name").and_then(|x| x.as_str()),
            t.get("version").and_then(|x| x.as_str()),
        ) else {
            continue;
        };
        by_name
            .entry(n.to_owned())
            .or_default()
            .push((v.to_owned(), t.clone()));
    }
    // A dependency entry is "name" or "name version" (or with a source).
    let resolve = |dep: &str| -> Option<(String, String)> {
        let mut w = dep.split_whitespace();
        let name = w.next()?;
        let cands = by_name.get(name)?;
        match w.next() {
            Some(v) => cands.iter().find(|(cv, _)| cv == v),
            None => cands.first(),
        }
        .map(|(v, _)| (name.to_owned(), v.clone()))
    };
    let table = |n: &str, v: &str| {
        by_name
            .get(n)
            .and_then(|c| c.iter().find(|(cv, _)| cv == v))
            .map(|(_, t)| t.clone())
    };
    let deps_of = |n: &str, v: &str| -> Vec<(String, String)> {
        table(n, v)
            .and_then(|t| t.get("dependencies").and_then(|d| d.as_array()).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d.as_str().and_then(resolve))
            .collect()
    };
    let root = ("evident-verify".to_owned(), version.clone());
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut graph: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    let mut queue = VecDeque::from([root.clone()]);
    while let Some(p) = queue.pop_front() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let deps: Vec<_> = deps_of(&p.0, &p.1)
            .into_iter()
            .filter(|d| !(p == root && dev.contains(&d.0)))
            .collect();
        for d in &deps {
            queue.push_back(d.clone());
        }
        graph.insert(p, deps);
    }
    let purl = |(n, v): &(String, String)| format!("pkg:cargo/{n}@{v}");
    let components: Vec<serde_json::Value> = seen
        .iter()
        .filter(|p| **p != root)
        .map(|p| {
            let mut c = serde_json::json!({
                "type": "library", "bom-ref": purl(p), "name": p.0, "version": p.1, "purl": purl(p),
            });
            if let Some(sum) = table(&p.0, &p.1).and_then(|t| {
                t.get("checksum")
                    .and_then(|x| x.as_str())
                    .map(str::to_owned)
            }) {
                c["hashes"] = serde_json::json!([{"alg": "SHA-256", "content": sum}]);
            }
            c
        })
        .collect();
    assert!(
        !components.is_empty(),
        "{} names no dependency of evident-verify",
        lock_path.display()
    );
    let dependencies: Vec<serde_json::Value> = graph
        .iter()
        .map(|(p, d)| serde_json::json!({"ref": purl(p), "dependsOn": d.iter().map(purl).collect::<Vec<_>>()}))
        .collect();
    // A serial number derived from the lock file: the same build inputs give
    // the same document.
    let h = Sha256::digest(lock_text.as_bytes());
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let x = |r: std::ops::Range<usize>| u[r].iter().map(|b| format!("{b:02x}")).collect::<String>();
    let serial = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        x(0..4),
        x(4..6),
        x(6..8),
        x(8..10),
        x(10..16)
    );
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": purl(&root), "name": "evident-verify", "version": version, "purl": purl(&root)},
            "tools": {"components": [{"type": "application", "name": "evident-verify build script", "version": version}]},
        },
        "components": components,
        "dependencies": dependencies,
    });
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("sbom.cdx.json");
    std::fs::write(out, serde_json::to_vec_pretty(&doc).expect("plain data"))
        .expect("writing the SBOM");
}
