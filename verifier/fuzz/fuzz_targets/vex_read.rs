//! VEX input (every reader, through format detection: findings, CycloneDX
//! VEX JSON and XML, OpenVEX, CSAF): never panics; and whatever is read and
//! resolved (against a fixed model, keeping unmatched purls) writes in every
//! VEX format, and inline in the CycloneDX exports, to documents our own
//! reader accepts again. Seeds: `tests/fixtures/vex-findings/` and the VEX
//! documents in `tests/fixtures/sboms/`.
#![no_main]
use evident_sbom::{
    ingest,
    vex::{self, VexFormat, VexMeta},
    ExportFormat, Release,
};
use libfuzzer_sys::fuzz_target;

const MODEL: &[u8] = br#"{"bomFormat":"CycloneDX","specVersion":"1.6",
 "metadata":{"component":{"type":"application","name":"app","version":"1","purl":"pkg:cargo/app@1"}},
 "components":[
  {"type":"library","name":"a","version":"1","purl":"pkg:cargo/a@1"},
  {"type":"library","name":"b","version":"2","purl":"pkg:npm/%40s/b@2"},
  {"type":"library","name":"c","version":"3"}]}"#;

fuzz_target!(|data: &[u8]| {
    let Ok((_, findings, _)) = vex::read(data) else { return };
    let model = ingest(MODEL).expect("the fixed model reads").model;
    let Ok((statements, _)) = vex::resolve(&findings, &model, true) else { return };
    let release = Release {
        tenant: "t".into(),
        product: "p".into(),
        tag: "v1".into(),
        revision: 1,
        artefacts: vec![("a".into(), "ab".repeat(32))],
        pushed_at: 0,
        spdx_namespace: "https://fuzz.invalid/spdx/t/p/v1/r1".into(),
        tool_version: "0".into(),
    };
    let meta = VexMeta {
        version: 1,
        published_at: 0,
        author: "t".into(),
        id_base: "https://fuzz.invalid/t/p/v1".into(),
        history: vec![(1, 0)],
    };
    for f in VexFormat::ALL {
        let bytes = f.write(&statements, &model, &release, &meta);
        if let Err(e) = vex::read(&bytes) {
            panic!("{} not re-readable: {e}\n{}", f.name(), String::from_utf8_lossy(&bytes));
        }
    }
    // Inline, a statement needs something in the BOM to point at: a
    // component, or the product itself. Statements kept about purls the
    // SBOM lacks are left out there by design (the standalone documents
    // carry them), so an export whose statements are all such has no VEX.
    let pointable = statements.iter().any(|s| {
        s.component.is_some() || s.purl.as_deref().is_none_or(|p| p == "pkg:cargo/app@1")
    });
    for f in [ExportFormat::CyclonedxJson, ExportFormat::CyclonedxXml] {
        let bytes = f.write_with_vex(&model, &release, Some(&statements));
        if pointable {
            if let Err(e) = vex::read(&bytes) {
                panic!("{} with VEX not re-readable: {e}\n{}", f.name(), String::from_utf8_lossy(&bytes));
            }
        }
        ingest(&bytes).unwrap_or_else(|e| panic!("{} with VEX not an SBOM: {e}", f.name()));
    }
});
