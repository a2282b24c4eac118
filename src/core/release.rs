//! Release records, and the pure half of a release push: every check that
//! needs nothing but the request (names, artefacts, the SBOM's encoding,
//! provenance subjects, findings depth, content digests) runs in
//! [`validate`], before any ingest or storage.

use base64::Engine as _;
use evident_sbom::{SourceFormat, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::{names, Error};

/// At most this many artefacts per release.
pub const MAX_ARTEFACTS: usize = 256;

/// `POST /api/v1/tenants/{tenant}/releases` body: a release record from CI.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Evident release record")]
pub struct ReleasePush {
    /// The product: 1–128 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    pub product: String,
    /// The release tag, e.g. `v1.2.3`: 1–128 of `A-Z a-z 0-9 . _ + -`, starting with a letter or digit.
    pub tag: String,
    /// What was built: one or more artefacts.
    pub artefacts: Vec<ArtefactIn>,
    /// The SBOM: CycloneDX 1.2–1.7 (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value).
    pub sbom: SbomIn,
    /// Build provenance: a DSSE envelope whose payload is an in-toto Statement
    /// v1 (typically SLSA provenance v1) naming every artefact digest as a subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<DsseEnvelope>,
    /// Reachability findings, stored as given (their schema comes with VEX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<serde_json::Value>,
    /// For a product release: the component releases (services, firmware,
    /// frontends: each a product of its own, pushed before) it is made of,
    /// each pinned at its latest revision. The aggregate SBOM links theirs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentIn>,
}

/// A component release a product release is made of.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentIn {
    /// The component's product.
    pub product: String,
    /// Its release tag.
    pub tag: String,
}

/// A component release as a product release records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct ComponentRef {
    /// The component's product.
    pub product: String,
    /// Its release tag.
    pub tag: String,
    /// The revision pinned at the push.
    pub revision: u32,
}

/// At most this many components per product release.
pub const MAX_COMPONENTS: usize = 64;

/// One artefact of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtefactIn {
    /// File or image name, 1–256 characters.
    pub name: String,
    /// `sha256:` and 64 lowercase hex digits.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
    /// Media type, e.g. `application/gzip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// The SBOM document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SbomIn {
    /// The document, as text (`utf8`) or base64 of its bytes (`base64`).
    pub content: String,
    /// How `content` is encoded.
    pub encoding: Encoding,
}

/// How the SBOM content is encoded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The content is the document text.
    Utf8,
    /// The content is standard base64 of the document bytes.
    Base64,
}

/// A DSSE envelope (<https://github.com/secure-systems-lab/dsse>).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct DsseEnvelope {
    /// Must be `application/vnd.in-toto+json`.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Base64 of the in-toto Statement.
    pub payload: String,
    /// Signatures over the PAE of payloadType and payload.
    #[serde(default)]
    pub signatures: Vec<DsseSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct DsseSignature {
    /// Key id, if the signer gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// Base64 signature.
    pub sig: String,
}

/// An artefact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct Artefact {
    /// Name.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// What was stored of the SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct SbomInfo {
    /// SHA-256 (hex) of the bytes as pushed.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Detected format.
    pub format: SourceFormat,
    /// Declared spec version.
    pub spec_version: String,
    /// Components in the normalized model (the subject included).
    pub components: u64,
}

/// A release revision as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema, utoipa::ToSchema)]
pub struct ReleaseRecord {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision, from 1.
    pub revision: u32,
    /// Push time, RFC 3339 UTC; the time every export of this revision carries.
    pub pushed_at: String,
    /// Push time, Unix seconds.
    pub pushed_at_unix: i64,
    /// The token that pushed it.
    pub pushed_by: String,
    /// Artefacts.
    pub artefacts: Vec<Artefact>,
    /// The SBOM.
    pub sbom: SbomInfo,
    /// SHA-256 (hex) of the provenance envelope in RFC 8785 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_sha256: Option<String>,
    /// The provenance statement's predicate type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_predicate_type: Option<String>,
    /// SHA-256 (hex) of the findings in RFC 8785 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings_sha256: Option<String>,
    /// What makes two pushes "the same": SHA-256 of the canonical artefacts and content digests.
    pub content_sha256: String,
    /// The CycloneDX serial number of every CycloneDX export of this revision.
    pub serial_number: String,
    /// The SPDX documentNamespace of every SPDX export of this revision.
    pub spdx_namespace: String,
    /// Deviations from the spec that ingest accepted.
    pub warnings: Vec<Warning>,
    /// The Evident version named as the producing tool in every export of
    /// this revision (fixed at push, so an upgrade does not change the bytes).
    #[serde(default = "current_version")]
    pub tool_version: String,
    /// Index of the `release_pushed` event in the tenant's log.
    #[serde(default)]
    pub log_index: Option<u64>,
    /// For a product release: the component releases it is made of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentRef>,
}

/// `POST …/releases` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pushed {
    /// False when an identical push already existed (answered 200).
    pub created: bool,
    /// The release revision.
    pub release: ReleaseRecord,
    /// The VEX version the push's findings became (its `vex_published`
    /// entry follows the `release_pushed` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex_version: Option<u32>,
    /// What reading the findings tolerated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub vex_warnings: Vec<evident_sbom::Warning>,
}

/// The Evident version that a new release revision records as its exports'
/// producing tool.
pub fn current_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Reads a provenance envelope: its statement must be in-toto and its
/// subjects must include every artefact digest. Returns the predicate type.
pub fn check_provenance(
    env: &DsseEnvelope,
    artefacts: &[Artefact],
    warnings: &mut Vec<Warning>,
) -> Result<Option<String>, Error> {
    let bad = |at: &str, m: String| Error::Unprocessable(format!("/provenance{at}: {m}"));
    if env.payload_type != "application/vnd.in-toto+json" {
        return Err(bad(
            "/payloadType",
            format!("{:?} is not application/vnd.in-toto+json", env.payload_type),
        ));
    }
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env.payload.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(env.payload.trim()))
        .map_err(|e| bad("/payload", format!("is not base64: {e}")))?;
    let st: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| bad("/payload", format!("is not a JSON in-toto statement: {e}")))?;
    match st.get("_type").and_then(|t| t.as_str()) {
        Some("https://in-toto.io/Statement/v1") => {}
        Some("https://in-toto.io/Statement/v0.1") => warnings.push(Warning {
            at: "/provenance/payload/_type".into(),
            message: "an in-toto Statement v0.1; v1 is current".into(),
        }),
        other => {
            return Err(bad(
                "/payload/_type",
                format!("{other:?} is not an in-toto Statement (https://in-toto.io/Statement/v1)"),
            ))
        }
    }
    let subjects: Vec<String> = st
        .get("subject")
        .and_then(|s| s.as_array())
        .ok_or_else(|| bad("/payload/subject", "is missing or not an array".into()))?
        .iter()
        .filter_map(|s| s.get("digest")?.get("sha256")?.as_str())
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for a in artefacts {
        let hex = a.digest.trim_start_matches("sha256:");
        if !subjects.iter().any(|s| s == hex) {
            return Err(bad(
                "/payload/subject",
                format!(
                    "the provenance does not cover artefact {:?}: no subject has digest {}",
                    a.name, a.digest
                ),
            ));
        }
    }
    if env.signatures.is_empty() {
        warnings.push(Warning {
            at: "/provenance/signatures".into(),
            message: "the envelope has no signatures".into(),
        });
    } else {
        warnings.push(Warning {
            at: "/provenance/signatures".into(),
            message:
                "signatures were stored, not verified: no trusted provenance keys are configured"
                    .into(),
        });
    }
    Ok(st
        .get("predicateType")
        .and_then(|p| p.as_str())
        .map(str::to_owned))
}

/// Nesting depth of a JSON value (a scalar is 0).
pub fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

pub fn jcs<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    serde_jcs::to_vec(v).map_err(|e| Error::Unprocessable(format!("not canonicalisable JSON: {e}")))
}

/// One release (tag) with its revisions.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseSummary {
    /// Tag.
    pub tag: String,
    /// The latest revision.
    pub latest_revision: u32,
    /// When the latest revision was pushed.
    pub pushed_at: String,
    /// Every revision, oldest first.
    pub revisions: Vec<ReleaseRecord>,
}

/// A push whose request passed every check that needs no ingest.
#[derive(Debug)]
pub struct Validated {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Artefacts, names trimmed.
    pub artefacts: Vec<Artefact>,
    /// The SBOM bytes as pushed.
    pub sbom_bytes: Vec<u8>,
    /// Their SHA-256 (hex).
    pub sbom_sha256: String,
    /// The provenance envelope in RFC 8785 form, and its predicate type.
    pub provenance_bytes: Option<Vec<u8>>,
    /// The provenance statement's predicate type.
    pub provenance_predicate_type: Option<String>,
    /// SHA-256 (hex) of `provenance_bytes`.
    pub provenance_sha256: Option<String>,
    /// The findings in RFC 8785 form.
    pub findings_bytes: Option<Vec<u8>>,
    /// SHA-256 (hex) of `findings_bytes`.
    pub findings_sha256: Option<String>,
    /// What makes two pushes the same.
    pub content_sha256: String,
    /// Warnings so far (provenance).
    pub warnings: Vec<Warning>,
    /// The component releases named, as (product, tag).
    pub components: Vec<(String, String)>,
}

/// Every check of a push that needs only the request. Errors are 422s
/// naming the field (`/artefacts/0/digest: …`).
pub fn validate(req: ReleasePush) -> Result<Validated, Error> {
    names::check_product(&req.product)?;
    names::check_tag(&req.tag)?;
    if req.artefacts.is_empty() || req.artefacts.len() > MAX_ARTEFACTS {
        return Err(Error::Unprocessable(format!(
            "/artefacts: a release has 1 to {MAX_ARTEFACTS} artefacts"
        )));
    }
    let mut artefacts = Vec::with_capacity(req.artefacts.len());
    for (i, a) in req.artefacts.iter().enumerate() {
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
            return Err(Error::Unprocessable(format!(
                "/artefacts/{i}/name: must be 1 to 256 characters, none of them control characters"
            )));
        }
        let ok = a.digest.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !ok {
            return Err(Error::Unprocessable(format!(
                "/artefacts/{i}/digest: {:?} is not sha256: followed by 64 lowercase hex digits",
                a.digest
            )));
        }
        if artefacts.iter().any(|x: &Artefact| x.name == name) {
            return Err(Error::Unprocessable(format!(
                "/artefacts/{i}/name: {name:?} is listed twice"
            )));
        }
        artefacts.push(Artefact {
            name: name.to_owned(),
            digest: a.digest.clone(),
            media_type: a.media_type.clone(),
        });
    }
    let sbom_bytes = match req.sbom.encoding {
        Encoding::Utf8 => req.sbom.content.into_bytes(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(req.sbom.content.trim())
            .map_err(|e| Error::Unprocessable(format!("/sbom/content: is not base64: {e}")))?,
    };
    if sbom_bytes.is_empty() {
        return Err(Error::Unprocessable("/sbom/content: is empty".into()));
    }
    let sbom_sha256 = sha256_hex(&sbom_bytes);
    let mut warnings = Vec::new();
    let (provenance_bytes, provenance_predicate_type) = match &req.provenance {
        Some(env) => {
            let pt = check_provenance(env, &artefacts, &mut warnings)?;
            (Some(jcs(env)?), pt)
        }
        None => (None, None),
    };
    if let Some(f) = &req.findings {
        if depth(f) > evident_sbom::MAX_DEPTH {
            return Err(Error::Unprocessable(format!(
                "/findings: nesting deeper than {} levels is not accepted",
                evident_sbom::MAX_DEPTH
            )));
        }
    }
    if req.components.len() > MAX_COMPONENTS {
        return Err(Error::Unprocessable(format!(
            "/components: a product release has at most {MAX_COMPONENTS} components"
        )));
    }
    let mut components: Vec<(String, String)> = Vec::with_capacity(req.components.len());
    for (i, c) in req.components.iter().enumerate() {
        names::check_product(&c.product)
            .and_then(|()| names::check_tag(&c.tag))
            .map_err(|e| Error::Unprocessable(format!("/components/{i}: {e}")))?;
        if c.product == req.product {
            return Err(Error::Unprocessable(format!(
                "/components/{i}: a release cannot be a component of its own product"
            )));
        }
        if components.iter().any(|(p, _)| *p == c.product) {
            return Err(Error::Unprocessable(format!(
                "/components/{i}: product {:?} is named twice",
                c.product
            )));
        }
        components.push((c.product.clone(), c.tag.clone()));
    }
    let findings_bytes = req.findings.as_ref().map(jcs).transpose()?;
    let provenance_sha256 = provenance_bytes.as_deref().map(sha256_hex);
    let findings_sha256 = findings_bytes.as_deref().map(sha256_hex);
    let content_sha256 = {
        let mut sorted = artefacts.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut content = serde_json::json!({
            "artefacts": sorted,
            "sbom_sha256": sbom_sha256,
            "provenance_sha256": provenance_sha256,
            "findings_sha256": findings_sha256,
        });
        // Only a product release names components, so every other push
        // keeps the content digest it always had.
        if !components.is_empty() {
            let mut c = components.clone();
            c.sort();
            content["components"] = serde_json::json!(c);
        }
        sha256_hex(&jcs(&content)?)
    };
    Ok(Validated {
        product: req.product,
        tag: req.tag,
        artefacts,
        sbom_bytes,
        sbom_sha256,
        provenance_bytes,
        provenance_predicate_type,
        provenance_sha256,
        findings_bytes,
        findings_sha256,
        content_sha256,
        warnings,
        components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(v: serde_json::Value) -> Result<Validated, Error> {
        validate(serde_json::from_value(v).unwrap())
    }

    fn ok() -> serde_json::Value {
        serde_json::json!({
            "product": "shop", "tag": "v1.0.0",
            "artefacts": [{"name": "bin", "digest": format!("sha256:{}", "a".repeat(64))}],
            "sbom": {"content": "{}", "encoding": "utf8"},
        })
    }

    #[test]
    fn a_good_push_validates_and_its_digest_ignores_artefact_order() {
        let mut v = ok();
        v["artefacts"] = serde_json::json!([
            {"name": "b", "digest": format!("sha256:{}", "b".repeat(64))},
            {"name": "a", "digest": format!("sha256:{}", "a".repeat(64))},
        ]);
        let one = push(v.clone()).unwrap();
        v["artefacts"] = serde_json::json!([
            {"name": "a", "digest": format!("sha256:{}", "a".repeat(64))},
            {"name": "b", "digest": format!("sha256:{}", "b".repeat(64))},
        ]);
        let two = push(v).unwrap();
        assert_eq!(one.content_sha256, two.content_sha256);
        assert_eq!(one.sbom_sha256, sha256_hex(b"{}"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases: Vec<(&str, serde_json::Value)> = vec![
            ("/product", serde_json::json!({"product": "a/b"})),
            ("/tag", serde_json::json!({"tag": ""})),
            ("/artefacts:", serde_json::json!({"artefacts": []})),
            (
                "/artefacts/0/digest",
                serde_json::json!({"artefacts": [{"name": "x", "digest": "sha256:ABC"}]}),
            ),
            (
                "/artefacts/1/name",
                serde_json::json!({"artefacts": [
                    {"name": "x", "digest": format!("sha256:{}", "a".repeat(64))},
                    {"name": " x ", "digest": format!("sha256:{}", "b".repeat(64))}]}),
            ),
            (
                "/sbom/content: is not base64",
                serde_json::json!({"sbom": {"content": "!!", "encoding": "base64"}}),
            ),
            (
                "/sbom/content: is empty",
                serde_json::json!({"sbom": {"content": "", "encoding": "utf8"}}),
            ),
            (
                "/provenance/payloadType",
                serde_json::json!({"provenance": {"payloadType": "text/plain", "payload": "", "signatures": []}}),
            ),
        ];
        for (want, patch) in cases {
            let mut v = ok();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            let e = push(v).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn provenance_must_cover_every_artefact() {
        use base64::engine::general_purpose::STANDARD;
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "other", "digest": {"sha256": "c".repeat(64)}}],
            "predicateType": "https://slsa.dev/provenance/v1", "predicate": {},
        });
        let mut v = ok();
        v["provenance"] = serde_json::json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": STANDARD.encode(statement.to_string()), "signatures": []});
        let e = push(v).unwrap_err().to_string();
        assert!(e.contains("does not cover artefact \"bin\""), "{e}");
    }
}
