//! Regulator bundles: `verify_bundle` never panics on any file it reads.
//! The input is split on NUL bytes into the bundle's parsed files (the
//! manifest, the log proofs, the cover note, the request, the log key, a
//! checkpoint, a token, an entry), so the fuzzer reaches each parser and
//! the checks behind them; a manifest that lists those files gets its
//! digests right half the time, to reach past the manifest check.
#![no_main]
use std::collections::BTreeMap;

use evident_verify::regulator::{sha256_hex, verify_bundle, BundleInputs};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "manifest.json",
    "log/proofs.json",
    "cover-note.json",
    "request.json",
    "keys/log.vkey",
    "log/checkpoint",
    "log/checkpoint.tsr",
    "log/entries/0.json",
];

fuzz_target!(|data: &[u8]| {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, part) in NAMES.iter().zip(data.split(|b| *b == 0)) {
        files.insert((*name).to_owned(), part.to_vec());
    }
    if data.first().is_some_and(|b| b % 2 == 0) {
        let listed: Vec<serde_json::Value> = files
            .iter()
            .filter(|(n, _)| *n != "manifest.json" && !n.starts_with("log/"))
            .map(|(n, b)| serde_json::json!({"path": n, "sha256": sha256_hex(b), "size": b.len(), "role": "request"}))
            .collect();
        let m = serde_json::json!({"format": "evident-regulator-bundle/v1", "tenant": "acme", "request_id": "r", "files": listed});
        files.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
    }
    let _ = verify_bundle(&BundleInputs {
        files: &files,
        production_digests: &[],
        trusted_log_key: None,
    });
});
