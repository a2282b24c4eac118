//! VEX documents: proof that a document is what a vendor published, and
//! when.
//!
//! A VEX publication is a `vex_published` entry in the tenant's log naming
//! the SHA-256 of every document the VEX version yields (OpenVEX, CSAF,
//! CycloneDX VEX, and the CycloneDX exports with the statements inline).
//! The proof (`GET …/releases/{tag}/vex/proof?vex=N`) has the receipt form:
//! that entry, its inclusion proof, the signed checkpoint, and the RFC 3161
//! token over the checkpoint. [`verify_vex`] checks it offline, and that a
//! file is one of the documents the entry names.

use sha2::{Digest, Sha256};

use crate::{
    note::NoteVerifier,
    receipt::{verify_checkpoint_timestamp, verify_entry, Receipt},
};

/// What a verified VEX proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// One line per check that held.
    pub checks: Vec<String>,
    /// The `vex_published` event.
    pub event: serde_json::Value,
    /// The format of the file, when one was given (the entry's name for it).
    pub format: Option<String>,
}

/// Checks a VEX proof: the checkpoint signature with `log_key` (origin =
/// key name), the inclusion proof, the entry's tenant, that the entry is a
/// `vex_published` event (of `release` = (product, tag) when given), and,
/// when given, that `file` is one of the documents it names (of `format`
/// when given) and that the checkpoint's token verifies with `tsa_chain`.
/// The first failure is the error.
pub fn verify_vex(
    r: &Receipt,
    log_key: &NoteVerifier,
    file: Option<&[u8]>,
    format: Option<&str>,
    release: Option<(&str, &str)>,
    tsa_chain: Option<&[x509_cert::Certificate]>,
) -> Result<Verified, String> {
    if format.is_some() && file.is_none() {
        return Err("format: a document format is checked only with the file".into());
    }
    let (mut checks, v) = verify_entry(r, log_key)?;
    let ev = v["event"].clone();
    if ev["kind"] != "vex_published" {
        return Err(format!("entry: a {} event, not vex_published", ev["kind"]));
    }
    let (product, tag) = (
        ev["product"].as_str().unwrap_or(""),
        ev["tag"].as_str().unwrap_or(""),
    );
    if let Some((p, t)) = release {
        if (p, t) != (product, tag) {
            return Err(format!(
                "release: the entry publishes VEX for {product} {tag}, not {p} {t}"
            ));
        }
    }
    checks.push(format!(
        "VEX version {} of {product} {tag} (revision {}, {} statements) published at {}",
        ev["version"],
        ev["revision"],
        ev["statements"],
        v["time"].as_str().unwrap_or("?"),
    ));
    let docs = ev["documents"]
        .as_object()
        .ok_or("entry: vex_published names no documents")?;
    let mut found = None;
    if let Some(bytes) = file {
        let got = hex::encode(Sha256::digest(bytes));
        let named: Vec<&String> = docs
            .iter()
            .filter(|(_, d)| d.as_str() == Some(got.as_str()))
            .map(|(f, _)| f)
            .collect();
        match (named.first(), format) {
            (None, _) => {
                return Err(format!(
                    "file digest: the file is sha256:{got}, which is none of the {} documents the entry names",
                    docs.len()
                ))
            }
            (Some(_), Some(f)) if !named.iter().any(|n| n.as_str() == f) => {
                return Err(format!(
                    "file digest: the file is the entry's {} document, not its {f} document",
                    named[0]
                ))
            }
            (Some(n), _) => {
                let name = format.map_or_else(|| n.to_string(), str::to_owned);
                checks.push(format!(
                    "the file is the {name} document it names (sha256:{got})"
                ));
                found = Some(name);
            }
        }
    }
    if let Some(chain) = tsa_chain {
        checks.push(verify_checkpoint_timestamp(r, chain)?);
    }
    Ok(Verified {
        checks,
        event: ev,
        format: found,
    })
}

/// The formats of a standalone VEX document as issued. (A CycloneDX
/// export with VEX inline is an export: `evident-verify export` checks its
/// issuance and [`verify_vex`] its VEX version.)
pub const VEX_FORMATS: [&str; 3] = ["openvex", "csaf", "cyclonedx-vex"];

/// Checks a VEX document against the evidence it was issued with, like an
/// export ([`crate::export::verify_export`]: digest, signature, in-toto
/// statement, artefact, the `export_issued` log entry, inclusion,
/// checkpoint signature, RFC 3161 tokens), then that the statement names
/// a VEX document (of `format`, when given) of `release` = (product, tag),
/// when given. The last check is named `vex document`.
pub fn verify_vex_issued(
    i: &crate::export::Inputs,
    format: Option<&str>,
    release: Option<(&str, &str)>,
) -> Vec<crate::export::Check> {
    use crate::export::{Check, Outcome};
    use sigstore_protobuf_specs::dev::sigstore::bundle::v1::bundle::Content;
    let mut checks = crate::export::verify_export(i);
    let statement = i.bundles.iter().find_map(|b| match &b.content {
        Some(Content::DsseEnvelope(e)) => {
            serde_json::from_slice::<crate::bundle::Statement>(&e.payload).ok()
        }
        _ => None,
    });
    let outcome = match statement {
        None => Outcome::Fail("no attestation bundle names the document".into()),
        Some(st) => {
            let p = &st.predicate;
            let f = p.export.format.as_str();
            if !VEX_FORMATS.contains(&f) {
                Outcome::Fail(format!(
                    "the statement is about a {f} export, not a VEX document"
                ))
            } else if format.is_some_and(|want| want != f) {
                Outcome::Fail(format!(
                    "the statement is about its {f} document, not its {} document",
                    format.unwrap_or_default()
                ))
            } else if release.is_some_and(|(pr, t)| (pr, t) != (p.product.as_str(), p.tag.as_str()))
            {
                let (pr, t) = release.unwrap_or_default();
                Outcome::Fail(format!(
                    "the statement is about {} {}, not {pr} {t}",
                    p.product, p.tag
                ))
            } else {
                Outcome::Pass(format!(
                    "the {f} document {} of {} {} revision {}",
                    p.export.file_name, p.product, p.tag, p.revision
                ))
            }
        }
    };
    checks.push(Check {
        name: "vex document",
        outcome,
    });
    checks
}
