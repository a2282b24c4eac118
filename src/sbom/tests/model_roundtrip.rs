//! A model kept in memory after a push and the same model read back from
//! its stored JSON export the same bytes: the server serves the first
//! export of a new release from the former and, after a restart or an
//! eviction, from the latter, and an export is issued once per exact bytes.

use std::path::Path;

use evident_sbom::{ingest, ExportFormat, Model, Release};

#[test]
fn a_model_read_back_from_its_json_exports_the_same_bytes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sboms");
    let release = Release {
        tenant: "acme".into(),
        product: "shop".into(),
        tag: "v1".into(),
        revision: 1,
        artefacts: vec![("app".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: Release::namespace_for("https://evident.test", "acme", "shop", "v1", 1),
        tool_version: "0.1.0".into(),
    };
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        // Only what ingests is pushed (the bad fixtures and VEX documents are refused).
        let Ok(ingested) = ingest(&bytes) else {
            continue;
        };
        let model = ingested.model;
        let back = Model::from_json(&model.to_json()).unwrap();
        assert!(back == model, "{}: the model changed", path.display());
        for f in ExportFormat::ALL {
            assert!(
                f.write(&model, &release) == f.write(&back, &release),
                "{}: {} differs",
                path.display(),
                f.name()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures ingested");
}
