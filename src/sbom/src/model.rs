//! The normalized model every format is read into and written from.
//!
//! Components are kept in one canonical order (by purl, then name, version
//! and the rest of their content, then document position), and the
//! dependency graph refers to them by position in that order, so the model of
//! a document does not depend on the refs its generator happened to choose.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The formats we read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// CycloneDX JSON.
    CyclonedxJson,
    /// CycloneDX XML.
    CyclonedxXml,
    /// SPDX JSON.
    SpdxJson,
    /// SPDX tag-value.
    SpdxTagValue,
}

impl SourceFormat {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Self::CyclonedxJson => "CycloneDX JSON",
            Self::CyclonedxXml => "CycloneDX XML",
            Self::SpdxJson => "SPDX JSON",
            Self::SpdxTagValue => "SPDX tag-value",
        }
    }
}

/// The document's own identity, as its producer wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentInfo {
    /// CycloneDX `serialNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// CycloneDX `version` (the BOM's revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bom_version: Option<u64>,
    /// SPDX `documentNamespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// SPDX document `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the producer says it made the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tools or creators the document names, as `name version` strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
}

/// A licence statement: a valid SPDX expression, or free-text names.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum License {
    /// A valid SPDX licence expression (a single id is the simplest one).
    Spdx(String),
    /// Licences that are not all SPDX: each entry is an SPDX id or a name,
    /// sorted. SPDX exports write `NOASSERTION` for these.
    Named(Vec<String>),
}

impl License {
    /// The SPDX expression, if this is one.
    pub fn spdx(&self) -> Option<&str> {
        match self {
            Self::Spdx(s) => Some(s),
            Self::Named(_) => None,
        }
    }

    /// A short text for people (NOTICE files).
    pub fn display(&self) -> String {
        match self {
            Self::Spdx(s) => s.clone(),
            Self::Named(v) => v.join(" AND "),
        }
    }
}

/// Who an actor is, in SPDX's terms (`Person:`, `Organization:`, `Tool:`).
/// CycloneDX has no kinds: its `supplier` is always an organizational
/// entity, and a person is written as an entity whose one contact is that
/// same person (see [`crate::export`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A natural person.
    Person,
    /// A company, project or team.
    Organization,
    /// A program. SPDX allows tools only as creators and annotators, so
    /// ingest reads a tool named as a supplier as an organization.
    Tool,
}

impl ActorKind {
    /// The SPDX prefix, without the colon.
    pub fn spdx_label(self) -> &'static str {
        match self {
            Self::Person => "Person",
            Self::Organization => "Organization",
            Self::Tool => "Tool",
        }
    }
}

/// One component (CycloneDX component, SPDX package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Component {
    /// Name; for CycloneDX input the `group` is folded in as `group/name`.
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// CycloneDX component type (`library`, `application`, …).
    pub kind: String,
    /// Supplier name (never empty: a supplier known only by its e-mail
    /// address has the address as its name). Models stored before
    /// [`Component::supplier_kind`] existed may hold a whole SPDX actor body
    /// here (`Jane Doe (jane@example.org)`); exports read those leniently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Whether the supplier is a person or an organization. `None` only in
    /// models stored before kinds were kept; exports write those as an
    /// organization, as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_kind: Option<ActorKind>,
    /// The supplier's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_email: Option<String>,
    /// Hashes: CycloneDX algorithm name → lowercase hex.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
    /// Declared licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<License>,
    /// Concluded licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concluded: Option<License>,
    /// Positions (in [`Model::components`]) of the components this one depends on, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<u32>,
}

impl Component {
    /// `name@version`, or the name alone.
    pub fn name_at_version(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A normalized SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Model {
    /// The format it was read from.
    pub format: SourceFormat,
    /// Spec version as the document declared it (`1.6`, `SPDX-2.3`).
    pub spec_version: String,
    /// The document's own identifiers.
    pub document: DocumentInfo,
    /// What the document describes (CycloneDX `metadata.component`, the SPDX
    /// package the document DESCRIBES); its `depends_on` are its direct dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Component>,
    /// Every other component, in canonical order.
    pub components: Vec<Component>,
}

impl Model {
    /// Serialises the model for storage (compiled with this crate's
    /// optimisation, which matters for 10k-component models).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the model is plain data")
    }

    /// Reads a stored model.
    pub fn from_json(b: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(b)
    }

    /// The parts that all formats carry: subject, components and graph.
    /// Two documents of the same inventory have equal `inventory()`s.
    pub fn inventory(&self) -> (Option<&Component>, &[Component]) {
        (self.subject.as_ref(), &self.components)
    }
}

/// A deviation from the spec that ingest tolerated.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Warning {
    /// Where: a JSON pointer, an XML element path, or `line N`.
    #[serde(rename = "where")]
    pub at: String,
    /// What, and what ingest did about it.
    pub message: String,
}
