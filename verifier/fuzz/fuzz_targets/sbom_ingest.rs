//! SBOM ingest (every reader, through format detection): never panics; and
//! whatever is accepted exports in all four formats to documents that
//!
//! - pass the grammar checks of `evident_sbom::check` (strict out: SPDX
//!   actors, SPDX ids, licence expressions, RFC 3339 dates, purls, checksums,
//!   CycloneDX bom-refs and references, enum values, tag-value lines), and
//! - our own readers accept again with the same component count and without
//!   a warning (an export is never something ingest has to tolerate), except
//!   the one loss SPDX has by design: CycloneDX types without an SPDX purpose
//!   are written `OTHER`, which reads back as `library` with a warning.
#![no_main]
use evident_sbom::{check, ingest, ExportFormat, Release};
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
        if let Err(v) = check::export(f, &bytes) {
            panic!(
                "{} export breaks its grammar: {v:#?}\n{}",
                f.name(),
                String::from_utf8_lossy(&bytes)
            );
        }
        let again =
            ingest(&bytes).unwrap_or_else(|e| panic!("{} export not re-readable: {e}", f.name()));
        assert_eq!(again.model.components.len(), want, "{}", f.name());
        let odd: Vec<_> = again
            .warnings
            .iter()
            .filter(|w| {
                !w.message
                    .starts_with("OTHER has no CycloneDX component type")
            })
            .collect();
        assert!(
            odd.is_empty(),
            "{} export read with warnings: {odd:?}",
            f.name()
        );
    }
});
