//! JSON Schemas for the documents we emit, generated from the Rust types.
//!
//! The files under `schemas/` are written by
//! `EVIDENT_WRITE_SCHEMAS=1 cargo test --workspace --lib schema`; the same test fails
//! whenever a file differs from what the types generate, so they cannot drift.

use schemars::{schema::RootSchema, schema_for};

/// `(file name, schema)` for every generated schema.
pub fn all() -> Vec<(&'static str, RootSchema)> {
    vec![
        (
            "log-event.schema.json",
            schema_for!(crate::core::events::LogEvent),
        ),
        (
            "release-record.schema.json",
            schema_for!(crate::core::release::ReleasePush),
        ),
        (
            "sbom-export-statement.schema.json",
            schema_for!(evident_verify::bundle::Statement),
        ),
        (
            "receipt.schema.json",
            schema_for!(evident_verify::receipt::Receipt),
        ),
        (
            "receipt-list.schema.json",
            schema_for!(evident_verify::receipt::ReceiptList),
        ),
        (
            "release-diff.schema.json",
            schema_for!(evident_sbom::diff::ReleaseDiff),
        ),
        (
            "release.schema.json",
            schema_for!(crate::core::release::ReleaseRecord),
        ),
        (
            "findings.schema.json",
            schema_for!(evident_sbom::vex::Findings),
        ),
        (
            "audit-answer.schema.json",
            schema_for!(evident_verify::audit::Answer),
        ),
        (
            "audit-export-header.schema.json",
            schema_for!(evident_verify::audit::ExportHeader),
        ),
        (
            "regulator-request.schema.json",
            schema_for!(crate::core::regulator::RequestBody),
        ),
        (
            "cover-note.schema.json",
            schema_for!(evident_verify::regulator::CoverNote),
        ),
        (
            "bundle-manifest.schema.json",
            schema_for!(evident_verify::regulator::Manifest),
        ),
        (
            "bundle-proofs.schema.json",
            schema_for!(evident_verify::regulator::LogProofs),
        ),
    ]
}

/// Pretty JSON of a schema, with a trailing newline.
pub fn render(schema: &RootSchema) -> String {
    let mut s = serde_json::to_string_pretty(schema).expect("schemas serialise");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let write = std::env::var_os("EVIDENT_WRITE_SCHEMAS").is_some();
        for (name, schema) in all() {
            let path = dir.join(name);
            let want = render(&schema);
            if write {
                std::fs::write(&path, &want).unwrap();
                continue;
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "schemas/{name} is out of date; run EVIDENT_WRITE_SCHEMAS=1 cargo test --workspace --lib schema"
            );
        }
    }

    #[test]
    fn events_validate_against_their_schema_shape() {
        // Every event kind round-trips through the schema's required keys.
        let schema = serde_json::to_value(schema_for!(crate::core::events::LogEvent)).unwrap();
        let required = schema["required"].as_array().unwrap();
        for k in ["v", "time", "tenant", "actor", "event"] {
            assert!(required.iter().any(|r| r == k), "{k} is required");
        }
    }
}
