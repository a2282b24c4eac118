//! VEX: what a vendor states about vulnerabilities in a release, read from
//! the formats that carry it, tied to the release's [`Model`], and written
//! in the formats customers use.
//!
//! - [`read`] takes a VEX input document: the native [`Findings`] JSON (what
//!   an SCA engine's reachability pass produces), CycloneDX VEX 1.4–1.7 (JSON
//!   or XML), OpenVEX 0.2.0 or CSAF 2.0 VEX. It is lenient where the meaning
//!   stays clear (each repair is a [`Warning`] with a JSON pointer into the
//!   input) and refuses with an [`SbomError`] that says where when it is not:
//!   an unknown state or justification, a malformed vulnerability id, a
//!   `not_affected` CycloneDX analysis with a justification no VEX vocabulary
//!   knows, nesting deeper than [`crate::MAX_DEPTH`], a DOCTYPE in XML,
//!   truncated input, a version we do not read. The result is always
//!   [`Findings`], with components named as the input named them (a purl or
//!   a ref).
//! - [`resolve`] ties findings to the components of a release's model and
//!   applies the mapping rules below; the result is a sorted list of
//!   [`Statement`]s, which the server stores as JSON.
//! - [`VexFormat::write`] writes statements as OpenVEX 0.2.0, CSAF 2.0
//!   (`csaf_vex` profile) or a standalone CycloneDX 1.6 VEX BOM, and
//!   [`crate::ExportFormat::write_with_vex`] puts them inline into the
//!   CycloneDX exports. Every byte is a function of the statements, the
//!   model, the [`Release`] and the [`VexMeta`]; the only time written is
//!   [`VexMeta::published_at`] (a finding's own `timestamp` is kept in the
//!   statement but not written).
//!
//! This module does no I/O, like the rest of the crate.
//!
//! # Identifying components
//!
//! A finding names its component by `purl` or by `ref`. [`resolve`] compares
//! purls normalized (type, namespace and name as the purl spec says to
//! compare them, percent-escapes decoded, qualifiers sorted; if no component
//! has the exact purl, the purl without qualifiers and subpath is tried, and
//! used when exactly one component has it). A purl that several components
//! share gives a statement for each. A `ref` is matched against what the
//! release's exports write: the CycloneDX bom-ref of a component (its purl
//! when unique, else `component-N`), its SPDX id (`SPDXRef-Package-N-…`),
//! and, for the released product itself, `SPDXRef-Release` or any ref
//! starting with `release:` (the CycloneDX export writes
//! `release:<product>@<tag>`; resolve does not know the release and does
//! not check the part after the colon). The model does not keep the refs of
//! the SBOM it was read from, so a ref that only that document used cannot
//! be matched: name such components by purl.
//!
//! Readers turn a foreign document's reference to *its own* product into a
//! `release:` ref, with a warning: a CycloneDX VEX's `metadata.component`
//! (when it has no purl), a CSAF document's one product without a purl, and
//! an OpenVEX product that is named only by hashes. A VEX pushed for a
//! release is about that release.
//!
//! # The mapping (every format, both directions)
//!
//! | internal state | CycloneDX `analysis.state` | OpenVEX `status` | CSAF `product_status` |
//! |---|---|---|---|
//! | `not_affected` | `not_affected` | `not_affected` | `known_not_affected`, with a flag (label = justification) and/or a threat (`impact`, details = impact statement) |
//! | `affected` | `exploitable` | `affected`, with `action_statement` | `known_affected`, with a remediation |
//! | `fixed` | `resolved` | `fixed` | `fixed` |
//! | `under_investigation` | `in_triage` | `under_investigation` | `under_investigation` |
//! | `false_positive` | `false_positive` | `not_affected` when it has a justification or an impact statement, else `under_investigation` ([`resolve`] warns) | as OpenVEX: `known_not_affected` or `under_investigation` |
//!
//! Read the other way: CycloneDX `resolved_with_pedigree` is `fixed`; CSAF
//! `first_fixed` is `fixed`, `first_affected` and `last_affected` are
//! `affected`, `recommended` is not a status and is skipped.
//!
//! | internal justification (= OpenVEX = CSAF flag label) | CycloneDX written | CycloneDX read as this |
//! |---|---|---|
//! | `component_not_present` | `code_not_present` | — |
//! | `vulnerable_code_not_present` | `code_not_present` | `code_not_present` |
//! | `vulnerable_code_not_in_execute_path` | `code_not_reachable` | `code_not_reachable` |
//! | `vulnerable_code_cannot_be_controlled_by_adversary` | `requires_environment` | `requires_configuration`, `requires_dependency`, `requires_environment` |
//! | `inline_mitigations_already_exist` | `protected_by_mitigating_control` | `protected_by_compiler`, `protected_at_runtime`, `protected_at_perimeter`, `protected_by_mitigating_control` |
//!
//! A CycloneDX justification read from input is kept in
//! [`Statement::cyclonedx_justification`] and wins when CycloneDX is written
//! again, so CycloneDX round-trips exactly. A CycloneDX document that uses an
//! OpenVEX justification name (lib4vex does) is read with a warning.
//!
//! Rules [`resolve`] applies:
//!
//! - A justification is kept only when the input gave one, or derived in
//!   exactly one case: state `not_affected`, no justification, reachability
//!   verdict `unreachable` → `vulnerable_code_not_in_execute_path`, with
//!   [`Statement::justification_derived`] set (the outputs say so). Free
//!   text never becomes an enum value. A justification on a state other than
//!   `not_affected` or `false_positive` is dropped with a warning.
//! - `not_affected` with neither a justification nor an impact statement is
//!   `under_investigation`, with a warning (every VEX format requires one).
//! - `affected` without an action gets one from `fixed_in` ("Update to
//!   <v> or later.") or else from the CycloneDX responses (one fixed sentence
//!   per response); with neither, a warning, and no remediation is invented:
//!   the outputs carry the fixed sentence "The vendor has not stated a
//!   remediation." where their format requires an action.
//! - A reachability verdict `reachable` next to the justification
//!   `vulnerable_code_not_in_execute_path` contradicts itself and is refused
//!   by [`read`].
//! - Two statements about one component that share a vulnerability id or
//!   alias are one claim: the same state keeps the first (with a warning if
//!   they differ otherwise), different states are refused.
//!
//! Per format:
//!
//! | statement field | CycloneDX | OpenVEX | CSAF |
//! |---|---|---|---|
//! | vulnerability, aliases | `id`, `references[]` | `vulnerability.name`, `aliases` | `cve` (the id or its first CVE alias), `ids[]` (the rest) |
//! | source | `source` | — | `references[]` (`external`) |
//! | ratings | `ratings[]` | — | — (CSAF scores need full CVSS objects) |
//! | impact | `analysis.detail` (not affected) | `impact_statement` | threat `impact` |
//! | action | `recommendation` | `action_statement` (affected) | remediation details |
//! | response | `analysis.response` | — | remediation category |
//! | fixed_in | property `evident:fixed-in` | status notes | remediation `vendor_fix` |
//! | detail | `analysis.detail` | `status_notes` | a `details` note |
//! | reachability | properties `evident:reachability…` | status notes | a `details` note |
//!
//! CSAF remediations: `fixed_in` → `vendor_fix` ("Update to <v> or later."
//! unless an action is given); else the first of the responses `update`,
//! `rollback` → `vendor_fix`, `workaround_available` → `workaround`,
//! `will_not_fix`, `can_not_fix` → `no_fix_planned`; else an action →
//! `mitigation`; else, for `affected`, `none_available` with "The vendor has
//! not stated a remediation.". Reading CSAF, `vendor_fix` → response
//! `update`, `workaround` → `workaround_available`, `no_fix_planned` →
//! `will_not_fix`, and the details become the action.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{export::View, Model, Release, SbomError, Warning};

mod cdx_in;
mod csaf_in;
mod csaf_out;
mod ids;
mod openvex_in;
mod openvex_out;
mod out_cdx;
mod read;
mod resolve;

pub use ids::{normalize_purl, vulnerability_id};
pub use read::read;
pub use resolve::resolve;

pub(crate) use out_cdx::{inline_vulnerabilities, CdxSource, CdxVulnerability};

/// The typed findings document an SCA engine's reachability pass produces
/// (the native VEX input).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Findings {
    /// The analyzer that produced every finding (a finding's own
    /// `reachability.analyzer` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzer: Option<Tool>,
    /// The findings.
    pub findings: Vec<Finding>,
}

/// One vulnerability in one component, and what the vendor states about it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// `CVE-YYYY-NNNN…`, `GHSA-xxxx-xxxx-xxxx`, or an OSV id (`PREFIX-…`,
    /// such as `RUSTSEC-2024-0001`, `PYSEC-2023-1`, `GO-2022-0001`).
    pub id: String,
    /// Other ids of the same vulnerability (same grammar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Who published the vulnerability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The component: exactly one of `purl` and `ref`.
    pub component: ComponentRef,
    /// What reachability analysis found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachability: Option<Reachability>,
    /// The vendor's verdict.
    pub state: State,
    /// Why the component is not affected (for `not_affected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<Justification>,
    /// The CycloneDX justification, when the input was CycloneDX
    /// (`code_not_present`, `requires_configuration`, …); it must mean the
    /// same as `justification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cyclonedx_justification: Option<String>,
    /// CycloneDX `analysis.response` values (`can_not_fix`, `will_not_fix`,
    /// `update`, `rollback`, `workaround_available`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<String>,
    /// Why the vulnerability cannot be exploited here (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// What users should do (free text; for `affected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The component version that fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// The analyst's notes (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Severity ratings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<Rating>,
    /// When this was known to be true (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// Who published a vulnerability.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Name (`NVD`, `GitHub Advisories`, `OSV`, …).
    pub name: String,
    /// The advisory (an absolute http(s) URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// How a finding names its component: exactly one of the two.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRef {
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// A ref the release's exports write (see the module docs).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Reachability evidence.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reachability {
    /// Whether the vulnerable code can be reached.
    pub verdict: Verdict,
    /// The entry points analysed (functions, routes, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// A call path to the vulnerable code, when reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_path: Option<String>,
    /// The analyzer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzer: Option<Tool>,
}

/// A reachability verdict.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The vulnerable code is reachable from an entry point.
    Reachable,
    /// It is not.
    Unreachable,
    /// The analysis could not tell.
    Unknown,
}

/// A program.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Name.
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The vendor's verdict on one vulnerability in one component.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not affected (needs a justification or an impact statement).
    NotAffected,
    /// Affected (should say what to do).
    Affected,
    /// Fixed in this release.
    Fixed,
    /// Not known yet.
    UnderInvestigation,
    /// The finding is wrong (a scanner's false positive).
    FalsePositive,
}

/// Why a component is not affected: the five labels OpenVEX and CSAF share.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    /// The vulnerable component is not in the product.
    ComponentNotPresent,
    /// The component is, but not its vulnerable code.
    VulnerableCodeNotPresent,
    /// The vulnerable code cannot be executed.
    VulnerableCodeNotInExecutePath,
    /// An attacker cannot reach or control the vulnerable code.
    VulnerableCodeCannotBeControlledByAdversary,
    /// The product has mitigations that stop exploitation.
    InlineMitigationsAlreadyExist,
}

/// A severity rating.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Who rated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// `CVSSv2`, `CVSSv3`, `CVSSv31`, `CVSSv4`, `OWASP`, `SSVC` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The vector string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// A severity, as CycloneDX names them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
    /// Informational.
    Info,
    /// None.
    None,
    /// Not known.
    Unknown,
}

/// One resolved statement: a finding tied to a component of the release's
/// model. Stored by the server as JSON: fields are only ever added, with
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// The vulnerability id.
    pub vulnerability: String,
    /// Its other ids.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Who published it.
    #[serde(default)]
    pub source: Option<Source>,
    /// Index into `model.components`, or `None` for the model's subject
    /// (the released product itself when the model has no subject; and,
    /// with `purl` set, a component the model does not have).
    pub component: Option<u32>,
    /// The component's purl when it has one.
    #[serde(default)]
    pub purl: Option<String>,
    /// The verdict.
    pub state: State,
    /// Given, or derived (see `justification_derived`).
    #[serde(default)]
    pub justification: Option<Justification>,
    /// The justification was derived from a reachability verdict
    /// `unreachable`, not stated.
    #[serde(default)]
    pub justification_derived: bool,
    /// The exact CycloneDX justification when the input was CycloneDX, kept
    /// so that CycloneDX output round-trips.
    #[serde(default)]
    pub cyclonedx_justification: Option<String>,
    /// CycloneDX `analysis.response` values.
    #[serde(default)]
    pub response: Vec<String>,
    /// Impact statement.
    #[serde(default)]
    pub impact: Option<String>,
    /// Action statement.
    #[serde(default)]
    pub action: Option<String>,
    /// The fixing version.
    #[serde(default)]
    pub fixed_in: Option<String>,
    /// Analyst prose.
    #[serde(default)]
    pub detail: Option<String>,
    /// Reachability evidence.
    #[serde(default)]
    pub reachability: Option<Reachability>,
    /// Severity ratings.
    #[serde(default)]
    pub ratings: Vec<Rating>,
    /// When the input said this was known (RFC 3339); not written out.
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// What a VEX input document was.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VexSource {
    /// The native [`Findings`] JSON.
    Findings,
    /// CycloneDX VEX (JSON or XML).
    CycloneDx,
    /// OpenVEX 0.2.0.
    OpenVex,
    /// CSAF 2.0 VEX.
    Csaf,
}

impl VexSource {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Findings => "findings",
            Self::CycloneDx => "CycloneDX VEX",
            Self::OpenVex => "OpenVEX",
            Self::Csaf => "CSAF VEX",
        }
    }
}

/// The document-level facts every VEX output carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexMeta {
    /// The VEX version of the release (1, 2, …).
    pub version: u32,
    /// Unix seconds: the only time in the output.
    pub published_at: i64,
    /// The vendor (tenant display name).
    pub author: String,
    /// Absolute URL prefix for `@id`s and tracking ids, such as
    /// `https://evidence.example.com/acme/shop/v1.0.0`.
    pub id_base: String,
    /// Every VEX version so far, `(version, published_at)`, ascending,
    /// including this one (CSAF `revision_history`; CSAF requires it to
    /// start at 1 and skip no version).
    pub history: Vec<(u32, i64)>,
}

/// What makes a CSAF document a security advisory rather than VEX: its
/// id, title, summary and (optionally) a reference URL. The statements are
/// the same as VEX's: one vulnerability model for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// The tracking id (`ACME-SA-2026-001`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Summary (the document's summary note).
    pub summary: String,
    /// A URL with more details; the advisory's own portal URL otherwise.
    pub reference: Option<String>,
}

/// A CSAF 2.0 security advisory (profile `csaf_security_advisory`) of a
/// release from `statements`, written like the CSAF VEX document (same
/// product tree, vulnerabilities, product statuses, remediations) with
/// the advisory's id, title, summary note and reference.
pub fn write_advisory(
    statements: &[Statement],
    model: &Model,
    release: &Release,
    meta: &VexMeta,
    advisory: &Advisory,
) -> Vec<u8> {
    let view = View::new(model, release);
    csaf_out::write(&in_order(statements, model), &view, meta, Some(advisory))
}

/// The statements about what `model` has, in output order.
fn in_order<'a>(statements: &'a [Statement], model: &Model) -> Vec<&'a Statement> {
    let mut sorted: Vec<&Statement> = statements
        .iter()
        .filter(|s| {
            s.component
                .is_none_or(|c| (c as usize) < model.components.len())
        })
        .collect();
    let sp = model.subject.as_ref().and_then(|s| s.purl.as_deref());
    sorted.sort_by(|a, b| resolve::order(a, b, sp));
    sorted
}

/// VEX output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VexFormat {
    /// OpenVEX 0.2.0 JSON.
    OpenVex,
    /// CSAF 2.0 JSON, `csaf_vex` profile.
    Csaf,
    /// A CycloneDX 1.6 JSON BOM with only `vulnerabilities[]`, whose
    /// `affects[].ref` are BOM-Links into the release's CycloneDX export.
    CycloneDxVex,
}

impl VexFormat {
    /// Every format, in a fixed order.
    pub const ALL: [Self; 3] = [Self::OpenVex, Self::Csaf, Self::CycloneDxVex];

    /// The `format=` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenVex => "openvex",
            Self::Csaf => "csaf",
            Self::CycloneDxVex => "cyclonedx-vex",
        }
    }

    /// Parses a `format=` value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The media type served.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::OpenVex => "application/openvex+json",
            Self::Csaf => "application/csaf+json",
            Self::CycloneDxVex => "application/vnd.cyclonedx+json",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::OpenVex => "openvex.json",
            Self::Csaf => "csaf.json",
            Self::CycloneDxVex => "cdx-vex.json",
        }
    }

    /// Writes the statements. Byte-stable: the same inputs give the same
    /// bytes, whatever order `statements` come in. Statements naming a
    /// component position the model does not have are skipped.
    pub fn write(
        self,
        statements: &[Statement],
        model: &Model,
        release: &Release,
        meta: &VexMeta,
    ) -> Vec<u8> {
        let view = View::new(model, release);
        let sorted = in_order(statements, model);
        match self {
            Self::OpenVex => openvex_out::write(&sorted, &view, meta),
            Self::Csaf => csaf_out::write(&sorted, &view, meta, None),
            Self::CycloneDxVex => out_cdx::write_standalone(&sorted, &view, meta),
        }
    }
}

impl State {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Affected => "affected",
            Self::Fixed => "fixed",
            Self::UnderInvestigation => "under_investigation",
            Self::FalsePositive => "false_positive",
        }
    }

    /// CycloneDX `analysis.state`.
    pub fn cyclonedx(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Affected => "exploitable",
            Self::Fixed => "resolved",
            Self::UnderInvestigation => "in_triage",
            Self::FalsePositive => "false_positive",
        }
    }

    /// Reads a CycloneDX `analysis.state`.
    pub fn from_cyclonedx(s: &str) -> Option<Self> {
        Some(match s {
            "not_affected" => Self::NotAffected,
            "exploitable" => Self::Affected,
            "resolved" | "resolved_with_pedigree" => Self::Fixed,
            "in_triage" => Self::UnderInvestigation,
            "false_positive" => Self::FalsePositive,
            _ => return None,
        })
    }

    /// Reads an OpenVEX `status`.
    pub fn from_openvex(s: &str) -> Option<Self> {
        Some(match s {
            "not_affected" => Self::NotAffected,
            "affected" => Self::Affected,
            "fixed" => Self::Fixed,
            "under_investigation" => Self::UnderInvestigation,
            _ => return None,
        })
    }
}

impl Justification {
    /// Every justification.
    pub const ALL: [Self; 5] = [
        Self::ComponentNotPresent,
        Self::VulnerableCodeNotPresent,
        Self::VulnerableCodeNotInExecutePath,
        Self::VulnerableCodeCannotBeControlledByAdversary,
        Self::InlineMitigationsAlreadyExist,
    ];

    /// The label (OpenVEX `justification`, CSAF flag `label`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ComponentNotPresent => "component_not_present",
            Self::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Self::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            Self::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            Self::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }

    /// Parses a label.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|j| j.name() == s)
    }

    /// The CycloneDX justification written for it.
    pub fn cyclonedx(self) -> &'static str {
        match self {
            Self::ComponentNotPresent | Self::VulnerableCodeNotPresent => "code_not_present",
            Self::VulnerableCodeNotInExecutePath => "code_not_reachable",
            Self::VulnerableCodeCannotBeControlledByAdversary => "requires_environment",
            Self::InlineMitigationsAlreadyExist => "protected_by_mitigating_control",
        }
    }

    /// Reads a CycloneDX justification.
    pub fn from_cyclonedx(s: &str) -> Option<Self> {
        Some(match s {
            "code_not_present" => Self::VulnerableCodeNotPresent,
            "code_not_reachable" => Self::VulnerableCodeNotInExecutePath,
            "requires_configuration" | "requires_dependency" | "requires_environment" => {
                Self::VulnerableCodeCannotBeControlledByAdversary
            }
            "protected_by_compiler"
            | "protected_at_runtime"
            | "protected_at_perimeter"
            | "protected_by_mitigating_control" => Self::InlineMitigationsAlreadyExist,
            _ => return None,
        })
    }
}

impl Severity {
    /// The CycloneDX name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Info => "info",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a CycloneDX name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Critical,
            Self::High,
            Self::Medium,
            Self::Low,
            Self::Info,
            Self::None,
            Self::Unknown,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

/// CycloneDX 1.6 `scoreMethod`.
pub(crate) const METHODS: &[&str] = &[
    "CVSSv2", "CVSSv3", "CVSSv31", "CVSSv4", "OWASP", "SSVC", "other",
];

/// CycloneDX 1.6 `analysis.response`.
pub(crate) const RESPONSES: &[&str] = &[
    "can_not_fix",
    "will_not_fix",
    "update",
    "rollback",
    "workaround_available",
];

/// The one sentence written where a format requires an action statement
/// and the vendor stated none: it names what is absent, nothing more.
pub(crate) const NO_REMEDIATION: &str = "The vendor has not stated a remediation.";

/// The fixed sentence a CycloneDX response stands for.
pub(crate) fn response_sentence(r: &str) -> Option<&'static str> {
    Some(match r {
        "update" => "Update to a version that fixes the vulnerability.",
        "rollback" => "Roll back to a version that is not affected.",
        "workaround_available" => "A workaround is available.",
        "will_not_fix" => "The vendor will not fix this vulnerability.",
        "can_not_fix" => "The vendor cannot fix this vulnerability.",
        _ => return None,
    })
}

/// The action derived from a fixing version.
pub(crate) fn update_to(v: &str) -> String {
    format!("Update to {v} or later.")
}

/// The sentence that says a justification was derived, not stated.
pub(crate) const DERIVED: &str =
    "The justification was derived from reachability analysis (verdict: unreachable).";

/// The sentence that marks a false positive written as another status.
pub(crate) const FALSE_POSITIVE: &str = "The vendor reports this finding as a false positive.";

/// A statement's reachability evidence as one line of text, for the
/// formats without a field for it.
pub(crate) fn reachability_line(r: &Reachability) -> String {
    let verdict = match r.verdict {
        Verdict::Reachable => "reachable",
        Verdict::Unreachable => "unreachable",
        Verdict::Unknown => "unknown",
    };
    let mut s = format!("Reachability: {verdict}");
    if !r.entry_points.is_empty() {
        s.push_str("; entry points: ");
        s.push_str(&r.entry_points.join(", "));
    }
    if let Some(p) = &r.call_path {
        s.push_str("; call path: ");
        s.push_str(p);
    }
    if let Some(t) = &r.analyzer {
        s.push_str("; analyzer: ");
        s.push_str(&tool_label(t));
    }
    s.push('.');
    s
}

pub(crate) fn tool_label(t: &Tool) -> String {
    match &t.version {
        Some(v) => format!("{} {v}", t.name),
        None => t.name.clone(),
    }
}

/// The verdict's name.
impl Verdict {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reachable => "reachable",
            Self::Unreachable => "unreachable",
            Self::Unknown => "unknown",
        }
    }
}

/// What a statement is about, in a [`View`] of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target<'a> {
    /// `view.items[k]`.
    Item(usize),
    /// The released product itself (the model has no subject).
    Product,
    /// A component the model does not have, by purl.
    Missing(&'a str),
}

/// Where a statement points in `view`; `None` for a component position
/// the model does not have.
pub(crate) fn target<'a>(s: &'a Statement, view: &View) -> Option<Target<'a>> {
    let subject_purl = view.subject_at.and_then(|k| view.items[k].purl.as_deref());
    match (s.component, s.purl.as_deref()) {
        (Some(_), _) => view
            .item_of(s.component)
            .filter(|k| *k < view.items.len())
            .map(Target::Item),
        (None, Some(p)) if Some(p) != subject_purl => Some(Target::Missing(p)),
        (None, _) => Some(match view.subject_at {
            Some(k) => Target::Item(k),
            None => Target::Product,
        }),
    }
}

/// A statement's warnings and errors are collected here while reading.
#[derive(Debug, Default)]
pub(crate) struct Warns(pub Vec<Warning>);

impl Warns {
    pub fn warn(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.0.push(Warning {
            at: at.into(),
            message: message.into(),
        });
    }

    /// The `n`th warning of a kind: only the first [`Self::CAP`] are kept
    /// one by one ([`Self::summary`] counts them all).
    pub fn warn_capped(&mut self, n: usize, at: impl Into<String>, message: impl Into<String>) {
        if n <= Self::CAP {
            self.warn(at, message);
        }
    }

    /// After warnings of a kind: how many there were, when some were left out.
    pub fn summary(&mut self, n: usize, what: &str) {
        if n > Self::CAP {
            self.warn(
                "/findings",
                format!("{n} {what}; the first {} are listed", Self::CAP),
            );
        }
    }

    pub const CAP: usize = 20;
}

pub(crate) fn invalid(at: impl Into<String>, message: impl Into<String>) -> SbomError {
    SbomError::invalid(at, message)
}

/// A string member of a JSON object.
pub(crate) fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(serde_json::Value::as_str)
}

/// An array member of a JSON object (empty when absent or not an array).
pub(crate) fn arr_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a [serde_json::Value] {
    v.get(key)
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The findings (and where each came from) that `keep` keeps.
pub(crate) fn kept<T>(out: Vec<(Finding, String, T)>, keep: &[bool]) -> (Findings, Vec<String>) {
    let (mut findings, mut origins) = (Vec::new(), Vec::new());
    for ((f, at, _), k) in out.into_iter().zip(keep) {
        if *k {
            findings.push(f);
            origins.push(at);
        }
    }
    (
        Findings {
            analyzer: None,
            findings,
        },
        origins,
    )
}
