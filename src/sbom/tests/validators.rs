//! Strict out, judged by the official validators.
//!
//! Inputs: the committed sample of fuzz-style documents
//! (`tests/fixtures/sbom-fuzz-sample/`: edge cases of every free-text field
//! the exports put into a field with a grammar) and the real sbom4python
//! fixtures (`tests/fixtures/sboms/sbom4python-fastapi-venv.*`, which have a
//! supplier with an e-mail and no name). Every input must be accepted; each
//! of its four exports must pass `evident_sbom::check` (the Rust grammar
//! checks the fuzz target applies), and then the official validators through
//! `tests/interop/validate_sbom.py`: cyclonedx-python-lib's strict CycloneDX
//! 1.6 JSON and XML validators, and spdx-tools' parser and full SPDX 2.3
//! validation for JSON and tag-value. The test fails if any export is refused.
//!
//! Two more tests need no Python: the Rust checks on the exports of every
//! SBOM in `tests/fixtures/sboms/`, and the four exports of every sample
//! input reading back, without warnings, to one model (suppliers with their
//! kind and e-mail, quoted names, joined lines: every repair is the same in
//! every format).
//!
//! Needs python3 with `cyclonedx-python-lib[validation]` and `spdx-tools`;
//! `.ci/setup` installs them.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use evident_sbom::{check, ingest, ExportFormat, Release};

/// The repository root: `src/sbom` → `../..`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn release() -> Release {
    Release {
        tenant: "acme".into(),
        product: "shop".into(),
        tag: "v1.0.0+build.7".into(),
        revision: 3,
        artefacts: vec![("shop.tar.gz".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: Release::namespace_for(
            "https://evident.test",
            "acme",
            "shop",
            "v1.0.0+build.7",
            3,
        ),
        tool_version: "0.1.0".into(),
    }
}

fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| keep(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn official_validators_accept_the_exports_of_the_sample_and_sbom4python() {
    let mut inputs = files_in(&root().join("tests/fixtures/sbom-fuzz-sample"), |n| {
        n != "README.md"
    });
    assert!(inputs.len() >= 20, "{} sample inputs", inputs.len());
    let real = files_in(&root().join("tests/fixtures/sboms"), |n| {
        n.starts_with("sbom4python-fastapi-venv.")
    });
    assert_eq!(real.len(), 3, "the sbom4python fixtures");
    inputs.extend(real);

    let out = std::env::temp_dir().join(format!("evident-sbom-validators-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut docs: Vec<(String, Vec<u8>)> = inputs
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap())
        })
        .collect();
    docs.push((
        "every SPDX licence id and exception".into(),
        every_licence(),
    ));
    let mut failures = Vec::new();
    let mut written = Vec::new();
    for (i, (name, bytes)) in docs.iter().enumerate() {
        let ing = ingest(bytes).unwrap_or_else(|e| panic!("{name} is refused at ingest: {e}"));
        // The licence list is long, and spdx-tools' tag-value parser slow;
        // the JSON export carries the same licence fields.
        let formats = ExportFormat::ALL
            .into_iter()
            .filter(|f| i < inputs.len() || *f != ExportFormat::SpdxTv);
        for f in formats {
            let bytes = f.write(&ing.model, &release());
            if let Err(v) = check::export(f, &bytes) {
                failures.push(format!("{name} as {}: check: {v:?}", f.name()));
            }
            let path = out.join(format!("{i:02}.{}", f.extension()));
            std::fs::write(&path, bytes).unwrap();
            written.push((path, format!("{name} as {}", f.name())));
        }
    }
    let o = Command::new("python3")
        .arg(root().join("tests/interop/validate_sbom.py"))
        .args(written.iter().map(|(p, _)| p))
        .output()
        .expect("python3 with cyclonedx-python-lib and spdx-tools (.ci/setup installs them)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let mut judged = 0;
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        judged += 1;
        if v["ok"] != true {
            let file = Path::new(v["file"].as_str().unwrap());
            let what = written
                .iter()
                .find(|(p, _)| p == file)
                .map_or("?", |(_, w)| w.as_str());
            failures.push(format!("{what}: validator: {}", v["error"]));
        }
    }
    assert_eq!(
        judged,
        written.len(),
        "every export was judged; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
    assert!(failures.is_empty(), "refused:\n{}", failures.join("\n"));
}

/// A CycloneDX document with one component per id on the SPDX licence list
/// the `spdx` crate knows and one per exception (`MIT WITH …`): whatever
/// ingest takes for an SPDX expression must be an id the validators know
/// (their lists and the crate's drift apart: see `license.rs`).
fn every_licence() -> Vec<u8> {
    let licences = spdx::identifiers::LICENSES
        .iter()
        .map(|(id, _, _)| serde_json::json!({"license": {"id": id}}));
    let exceptions = spdx::identifiers::EXCEPTIONS
        .iter()
        .map(|(id, _)| serde_json::json!({"expression": format!("MIT WITH {id}")}));
    let components: Vec<_> = licences
        .chain(exceptions)
        .enumerate()
        .map(|(i, l)| {
            serde_json::json!({"type": "library", "name": format!("c{i}"), "licenses": [l]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "components": components
    }))
    .unwrap()
}

#[test]
fn every_fixture_exports_pass_the_grammar_checks() {
    let mut checked = 0;
    for input in files_in(&root().join("tests/fixtures/sboms"), |n| n != "MANIFEST.md") {
        let Ok(ing) = ingest(&std::fs::read(&input).unwrap()) else {
            continue;
        };
        for f in ExportFormat::ALL {
            let bytes = f.write(&ing.model, &release());
            if let Err(v) = check::export(f, &bytes) {
                panic!("{} as {}: {v:?}", input.display(), f.name());
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} fixtures were SBOMs");
}

/// What SPDX cannot carry of a CycloneDX model: types without an SPDX
/// purpose are written `OTHER` and read back as `library`, with a warning.
fn spdx_lossy(w: &evident_sbom::Warning) -> bool {
    w.message
        .starts_with("OTHER has no CycloneDX component type")
}

#[test]
fn the_four_exports_of_every_sample_read_back_to_one_model() {
    for input in files_in(&root().join("tests/fixtures/sbom-fuzz-sample"), |n| {
        n != "README.md"
    }) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let first = ingest(&std::fs::read(&input).unwrap()).unwrap().model;
        let models: Vec<_> = ExportFormat::ALL
            .iter()
            .map(|f| {
                let again = ingest(&f.write(&first, &release())).unwrap();
                let odd: Vec<_> = again.warnings.iter().filter(|w| !spdx_lossy(w)).collect();
                assert!(odd.is_empty(), "{name} as {}: {odd:?}", f.name());
                again.model
            })
            .collect();
        let inventory = |m: &evident_sbom::Model| {
            let mut m = m.clone();
            for c in m.components.iter_mut().chain(m.subject.iter_mut()) {
                // SPDX writes licences that are not SPDX expressions (or use
                // document-local refs) as NOASSERTION, by design.
                for l in [&mut c.declared, &mut c.concluded] {
                    if l.as_ref()
                        .and_then(|l| l.spdx())
                        .is_none_or(|s| s.contains("LicenseRef-"))
                    {
                        *l = None;
                    }
                }
            }
            m.components
                .iter()
                .chain(m.subject.iter())
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            models[0].components, models[1].components,
            "{name}: CycloneDX JSON and XML"
        );
        assert_eq!(
            models[2].components, models[3].components,
            "{name}: SPDX JSON and tag-value"
        );
        if !name.starts_with("cdx-types") {
            assert_eq!(
                inventory(&models[0]),
                inventory(&models[2]),
                "{name}: CycloneDX and SPDX"
            );
        }
    }
}
