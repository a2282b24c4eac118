//! SBOM ingest (every reader, through format detection): never panics; and
//! whatever is accepted exports in all four formats to documents that our
//! own readers accept again with the same component count.
#![no_main]
use evident_sbom::{ingest, ExportFormat, Release};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = ingest(data) else { return };
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
    let want = first.model.components.len() + usize::from(first.model.subject.is_some());
    for f in ExportFormat::ALL {
        let bytes = f.write(&first.model, &release);
        let again = ingest(&bytes).unwrap_or_else(|e| panic!("{} export not re-readable: {e}", f.name()));
        assert_eq!(again.model.components.len(), want, "{}", f.name());
    }
});
