//! Models stored by the version before actor kinds were kept still read and
//! still export, byte for byte as before wherever that output was valid.
//!
//! `tests/data/legacy-model/` holds what that version (git HEAD before this
//! change) made of `tests/fixtures/sboms/sbom4python-fastapi-venv.spdx.json`:
//! the stored model (`model.json`, whose suppliers are whole actor bodies
//! such as `Tom Christie (tom@tomchristie.com)` and, for pypinyin, the
//! nameless `(mozillazg101@gmail.com)`) and its four exports for the release
//! below. Its SPDX exports were refused by spdx-tools ("No name for Actor
//! provided: Organization: (mozillazg101@gmail.com)"); its CycloneDX exports
//! were valid.

use std::path::{Path, PathBuf};

use evident_sbom::{check, ExportFormat, Model, Release};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy-model")
        .join(name)
}

/// The release the stored exports were made for.
fn release() -> Release {
    Release {
        tenant: "acme".into(),
        product: "shop".into(),
        tag: "v1".into(),
        revision: 1,
        artefacts: vec![("app".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: Release::namespace_for("https://evident.test", "acme", "shop", "v1", 1),
        tool_version: "0.1.0".into(),
    }
}

#[test]
fn a_stored_model_exports_as_before_and_validly() {
    let stored = std::fs::read(data("model.json")).unwrap();
    let model = Model::from_json(&stored).expect("a stored model still reads");
    // Nothing is added to what is stored when a stored model is written again.
    assert_eq!(model.to_json(), stored);
    let nameless = "Organization: (mozillazg101@gmail.com)";
    let repaired = "Organization: mozillazg101@gmail.com (mozillazg101@gmail.com)";
    for f in ExportFormat::ALL {
        let before =
            String::from_utf8(std::fs::read(data(&format!("export.{}", f.extension()))).unwrap())
                .unwrap();
        let now = f.write(&model, &release());
        check::export(f, &now).unwrap_or_else(|e| panic!("{}: {e:?}", f.name()));
        let now = String::from_utf8(now).unwrap();
        match f {
            // The CycloneDX exports were valid: unchanged.
            ExportFormat::CyclonedxJson | ExportFormat::CyclonedxXml => {
                assert!(now == before, "{} changed", f.name())
            }
            // The SPDX exports change in the one invalid actor only.
            ExportFormat::SpdxJson | ExportFormat::SpdxTv => {
                assert_eq!(before.matches(nameless).count(), 1, "{}", f.name());
                assert!(
                    now == before.replace(nameless, repaired),
                    "{} changed elsewhere",
                    f.name()
                );
            }
        }
    }
}

/// A stored supplier that no export can carry as it is (a line break, no
/// name before its parentheses) is repaired the same way in all four.
#[test]
fn stored_text_that_breaks_a_format_is_repaired() {
    let stored = br#"{"format":"cyclonedx-json","spec_version":"1.6","document":{},"components":[
        {"name":"NONE","version":"1.0\n2","kind":"library","supplier":"Jane\nDoe (jane@example.org)"},
        {"name":"b","kind":"library","supplier":"(not an address)"}]}"#;
    let model = Model::from_json(stored).unwrap();
    for f in ExportFormat::ALL {
        let out = f.write(&model, &release());
        check::export(f, &out).unwrap_or_else(|e| panic!("{}: {e:?}", f.name()));
        let again = evident_sbom::ingest(&out).unwrap().model;
        let a = again
            .components
            .iter()
            .find(|c| c.name == "\"NONE\"")
            .expect("quoted name");
        assert_eq!(a.version.as_deref(), Some("1.0 2"), "{}", f.name());
    }
    let tv = String::from_utf8(ExportFormat::SpdxTv.write(&model, &release())).unwrap();
    assert!(
        tv.contains("PackageSupplier: Organization: Jane Doe (jane@example.org)\n"),
        "{tv}"
    );
    assert!(
        tv.contains("PackageSupplier: Organization: (not an address) ()\n"),
        "{tv}"
    );
}
