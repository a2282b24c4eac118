//! VEX in and out (`evident_sbom::vex`), on real documents and on the
//! hand-written inputs in `tests/fixtures/vex-findings/` (see its README).
//!
//! - Every real VEX document in `tests/fixtures/sboms/` (CycloneDX's,
//!   OpenVEX's, OASIS's and Red Hat's, see that folder's MANIFEST.md) reads;
//!   the `bad-*` ones are refused with the place named.
//! - The demo findings resolve against the demo SBOM with the mapping rules
//!   (derived justification, no invented one, false positive downgraded).
//! - Every output is byte-stable, reads back to the same verdicts, and is
//!   judged by third-party tools: cyclonedx-python-lib's strict CycloneDX
//!   1.6 validators (inline VEX in the JSON and XML exports, and the
//!   standalone CycloneDX VEX), `@secvisogram/csaf-validator-lib` (strict
//!   schema and every mandatory test, with the `csaf_vex` profile), and the
//!   OpenVEX project's Go library `go-vex` (`Statement.Validate`, strict
//!   decoding: no member it does not know).
//!
//! Needs what `.ci/setup` installs: python3 with cyclonedx-python-lib,
//! node with tests/interop's npm packages, and Go with the module cache.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use evident_sbom::{
    ingest,
    vex::{self, Justification, State, Statement, VexFormat, VexMeta, VexSource},
    ExportFormat, Model, Release,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures").join(path)).unwrap()
}

fn demo_model() -> Model {
    ingest(&fixture("sboms/cargo-sbom-evidence-demo.cdx-1.6.json"))
        .unwrap()
        .model
}

fn release() -> Release {
    Release {
        tenant: "acme".into(),
        product: "shop".into(),
        tag: "v1.0.0".into(),
        revision: 1,
        artefacts: vec![("shop.tar.gz".into(), "ab".repeat(32))],
        pushed_at: 1_800_000_000,
        spdx_namespace: Release::namespace_for("https://evident.test", "acme", "shop", "v1.0.0", 1),
        tool_version: "0.1.0".into(),
    }
}

fn meta(version: u32) -> VexMeta {
    VexMeta {
        version,
        published_at: 1_800_000_000 + i64::from(version) * 3600,
        author: "Acme Corp".into(),
        id_base: "https://evident.test/acme/shop/v1.0.0".into(),
        history: (1..=version)
            .map(|v| (v, 1_800_000_000 + i64::from(v) * 3600))
            .collect(),
    }
}

fn demo_statements() -> Vec<Statement> {
    let (source, findings, _) = vex::read(&fixture("vex-findings/evidence-demo.findings.json"))
        .expect("the demo findings read");
    assert_eq!(source, VexSource::Findings);
    let (statements, _) = vex::resolve(&findings, &demo_model(), false).unwrap();
    statements
}

fn by_purl<'a>(statements: &'a [Statement], name: &str) -> &'a Statement {
    statements
        .iter()
        .find(|s| {
            s.purl
                .as_deref()
                .is_some_and(|p| p.contains(&format!("/{name}@")))
        })
        .unwrap_or_else(|| panic!("a statement about {name}"))
}

#[test]
fn every_real_vex_document_reads_and_every_bad_one_is_refused() {
    let dir = root().join("tests/fixtures/sboms");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("vex") || n.contains("csaf"))
        .filter(|n| !n.ends_with(".spdx.json"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "{names:?}");
    // Real documents refused on purpose, with what the refusal must say.
    let refused = [
        ("cdx-bom-examples-vex-bom.cdx.json", "CycloneDX 1.3"),
        ("go-vex-testdata-v0.0.1.openvex.json", "v0.0.1"),
        (
            "oasis-csaf-example-cisco-sa-20180328-smi2.csaf.json",
            "/document/category",
        ),
    ];
    let mut failures = Vec::new();
    for n in &names {
        let bytes = std::fs::read(dir.join(n)).unwrap();
        let expect = refused.iter().find(|(f, _)| f == n).map(|(_, says)| *says);
        match (n.starts_with("bad-") || expect.is_some(), vex::read(&bytes)) {
            // Use case 5 states two verdicts that only affects[].versions
            // (not evaluated) tell apart: read, none kept, with a warning.
            (false, Ok((_, f, w))) if f.findings.is_empty() => {
                if w.is_empty() {
                    failures.push(format!("{n}: no findings read, and no warning says why"))
                }
            }
            (false, Ok(_)) => {}
            (false, Err(e)) => failures.push(format!("{n}: refused: {e}")),
            (true, Ok(_)) => failures.push(format!("{n}: accepted")),
            (true, Err(e)) => {
                if let Some(says) = expect {
                    if !e.to_string().contains(says) {
                        failures.push(format!("{n}: refused, but not for {says}: {e}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_findings_are_refused_naming_the_place() {
    for (file, at) in [
        ("bad-malformed-id.findings.json", "/findings/1/id"),
        (
            "bad-reachable-not-in-execute-path.findings.json",
            "/findings/0/justification",
        ),
        (
            "bad-unknown-justification.cdx-vex.json",
            "/vulnerabilities/0/analysis/justification",
        ),
    ] {
        let e = vex::read(&fixture(&format!("vex-findings/{file}"))).unwrap_err();
        assert!(e.to_string().contains(at), "{file}: {e}");
    }
    let model = demo_model();
    for (file, says) in [
        (
            "bad-contradicting-states.findings.json",
            "GHSA-9q2c-xv4m-hp7w",
        ),
        (
            "bad-unknown-component.findings.json",
            "/findings/0/component",
        ),
    ] {
        let (_, f, _) = vex::read(&fixture(&format!("vex-findings/{file}"))).unwrap();
        let e = vex::resolve(&f, &model, false).unwrap_err();
        assert!(e.to_string().contains(says), "{file}: {e}");
    }
    // An unknown component is kept, with a warning, only when asked.
    let (_, f, _) =
        vex::read(&fixture("vex-findings/bad-unknown-component.findings.json")).unwrap();
    let (_, warnings) = vex::resolve(&f, &model, true).unwrap();
    assert!(!warnings.is_empty());
}

#[test]
fn the_mapping_rules_hold_on_the_demo_findings() {
    let s = demo_statements();
    // Unreachable + not_affected without a justification: derived, and said so.
    let idna = by_purl(&s, "idna");
    assert_eq!(idna.state, State::NotAffected);
    assert_eq!(
        idna.justification,
        Some(Justification::VulnerableCodeNotInExecutePath)
    );
    assert!(idna.justification_derived);
    // A false positive with nothing to say why is written under investigation,
    // never with an invented justification.
    let smallvec = by_purl(&s, "smallvec");
    assert_eq!(smallvec.justification, None);
    // Affected with only fixed_in gets the derived action.
    let openssl = by_purl(&s, "openssl");
    assert_eq!(openssl.state, State::Affected);
    assert!(openssl.action.as_deref().unwrap().contains("or later"));
    let openvex =
        String::from_utf8(VexFormat::OpenVex.write(&s, &demo_model(), &release(), &meta(1)))
            .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&openvex).unwrap();
    for st in doc["statements"].as_array().unwrap() {
        if st["status"] == "not_affected" {
            assert!(
                st.get("justification").is_some() || st.get("impact_statement").is_some(),
                "{st}"
            );
        }
        if let Some(j) = st.get("justification") {
            assert!(Justification::parse(j.as_str().unwrap()).is_some(), "{j}");
        }
    }
}

/// Every output, for each input: byte-stable (shuffled statements give the
/// same bytes) and read back to the same verdicts.
#[test]
fn outputs_are_byte_stable_and_read_back() {
    let model = demo_model();
    let mut s = demo_statements();
    for f in VexFormat::ALL {
        let a = f.write(&s, &model, &release(), &meta(2));
        s.reverse();
        let b = f.write(&s, &model, &release(), &meta(2));
        assert_eq!(a, b, "{}", f.name());
        let (_, back, _) = vex::read(&a).unwrap_or_else(|e| panic!("{} reads back: {e}", f.name()));
        let (again, _) = vex::resolve(&back, &model, true).unwrap();
        for st in &s {
            // Every component-level verdict comes back (false positives as
            // the format can say them).
            let found = again.iter().any(|x| {
                x.vulnerability == st.vulnerability
                    && x.component == st.component
                    && (x.state == st.state || st.state == State::FalsePositive)
            });
            assert!(
                found,
                "{}: {} about {:?}",
                f.name(),
                st.vulnerability,
                st.purl
            );
        }
    }
    for f in [ExportFormat::CyclonedxJson, ExportFormat::CyclonedxXml] {
        let with = f.write_with_vex(&model, &release(), Some(&s));
        let (_, back, _) = vex::read(&with).unwrap();
        assert!(back.findings.len() >= s.len() - 1, "{}", f.name());
        // Without statements, the bytes are those of the plain export.
        assert_eq!(
            f.write_with_vex(&model, &release(), Some(&[])),
            f.write(&model, &release())
        );
    }
}

/// The judges: cyclonedx-python-lib, csaf-validator-lib and go-vex.
#[test]
fn third_party_tools_accept_every_output() {
    let model = demo_model();
    let mut inputs = vec![demo_statements()];
    let (_, cdx, _) = vex::read(&fixture("vex-findings/evidence-demo.cdx-vex.json")).unwrap();
    inputs.push(vex::resolve(&cdx, &model, true).unwrap().0);
    let out = std::env::temp_dir().join(format!("evident-vex-judges-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let (mut cdx_files, mut csaf_files, mut openvex_files) = (vec![], vec![], vec![]);
    for (i, s) in inputs.iter().enumerate() {
        for f in [ExportFormat::CyclonedxJson, ExportFormat::CyclonedxXml] {
            let p = out.join(format!("{i}.{}", f.extension()));
            std::fs::write(&p, f.write_with_vex(&model, &release(), Some(s))).unwrap();
            cdx_files.push(p);
        }
        let p = out.join(format!("{i}-standalone.cdx.json"));
        std::fs::write(
            &p,
            VexFormat::CycloneDxVex.write(s, &model, &release(), &meta(3)),
        )
        .unwrap();
        cdx_files.push(p);
        let p = out.join(format!("{i}.csaf.json"));
        std::fs::write(&p, VexFormat::Csaf.write(s, &model, &release(), &meta(3))).unwrap();
        csaf_files.push(p);
        let p = out.join(format!("{i}.openvex.json"));
        std::fs::write(
            &p,
            VexFormat::OpenVex.write(s, &model, &release(), &meta(3)),
        )
        .unwrap();
        openvex_files.push(p);
    }
    let mut failures = Vec::new();

    let o = Command::new("python3")
        .arg(root().join("tests/interop/validate_sbom.py"))
        .args(&cdx_files)
        .output()
        .expect("python3 with cyclonedx-python-lib (.ci/setup installs it)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.lines().count(), cdx_files.len(), "{stdout}");
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["ok"] != true {
            failures.push(format!(
                "cyclonedx-python-lib: {} {}",
                v["file"], v["error"]
            ));
        }
    }

    let o = Command::new("node")
        .arg(root().join("tests/interop/csaf_validate.mjs"))
        .arg("--require-vex")
        .args(&csaf_files)
        .output()
        .expect("node with @secvisogram/csaf-validator-lib (.ci/setup installs it)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        stdout.lines().count(),
        csaf_files.len(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["ok"] != true {
            failures.push(format!("csaf-validator-lib: {line}"));
        }
    }

    let bin = out.join("openvexread");
    let built = Command::new(go())
        .current_dir(root().join("tests/interop/go"))
        .args(["build", "-o"])
        .arg(&bin)
        .arg("./openvexread")
        .status()
        .expect("Go (the machine's /usr/local/go)");
    assert!(built.success(), "go build ./openvexread");
    for p in &openvex_files {
        let o = Command::new(&bin).arg("-strict").arg(p).output().unwrap();
        if !o.status.success() {
            failures.push(format!(
                "go-vex: {}: {}{}",
                p.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ));
            continue;
        }
        // go-vex read what we meant: one statement per (vulnerability, status).
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let ours: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(
            v["statements"].as_array().unwrap().len(),
            ours["statements"].as_array().unwrap().len()
        );
        assert_eq!(v["context"], "https://openvex.dev/ns/v0.2.0");
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(failures.is_empty(), "refused:\n{}", failures.join("\n"));
}

fn go() -> PathBuf {
    let local = PathBuf::from("/usr/local/go/bin/go");
    if local.exists() {
        local
    } else {
        PathBuf::from("go")
    }
}
