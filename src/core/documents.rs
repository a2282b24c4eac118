//! Compliance documents a tenant publishes with a release (an EU
//! declaration of conformity, a penetration-test summary, a security
//! policy): what is stored, who may see one, and the rules of an upload.
//! `service::documents` stores them and logs each change; the bytes are a
//! content-addressed blob.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::{events::EventBody, Error};

/// What kind of document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// An EU declaration of conformity.
    DeclarationOfConformity,
    /// A penetration-test summary.
    PentestSummary,
    /// A security policy.
    SecurityPolicy,
    /// A certificate (ISO 27001, SOC 2, …).
    Certificate,
    /// Anything else.
    Other,
}

impl DocType {
    /// The name in events and forms.
    pub fn name(self) -> &'static str {
        match self {
            Self::DeclarationOfConformity => "declaration_of_conformity",
            Self::PentestSummary => "pentest_summary",
            Self::SecurityPolicy => "security_policy",
            Self::Certificate => "certificate",
            Self::Other => "other",
        }
    }

    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::DeclarationOfConformity,
        Self::PentestSummary,
        Self::SecurityPolicy,
        Self::Certificate,
        Self::Other,
    ];

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Self::DeclarationOfConformity => "EU declaration of conformity",
            Self::PentestSummary => "Penetration-test summary",
            Self::SecurityPolicy => "Security policy",
            Self::Certificate => "Certificate",
            Self::Other => "Document",
        }
    }
}

/// Who may see a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum Audience {
    /// Every customer entitled to the release (and the tenant's staff).
    Customers,
    /// Anyone who may see the release, a public portal's visitors too.
    Public,
    /// Only these customers (by id) among those entitled to the release.
    Named {
        /// Customer ids.
        customers: Vec<String>,
    },
}

impl Audience {
    /// The name in events.
    pub fn label(&self) -> String {
        match self {
            Self::Customers => "customers".into(),
            Self::Public => "public".into(),
            Self::Named { customers } => format!("customers:{}", customers.join(",")),
        }
    }
}

/// A document as stored (`document/<tenant>/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct Document {
    /// Id (16 hex digits).
    pub id: String,
    /// Product.
    pub product: String,
    /// Release tag; absent for a document of the product (every release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Title.
    pub title: String,
    /// Kind.
    pub doc_type: DocType,
    /// Who may see it.
    pub audience: Audience,
    /// The attachment's file name.
    pub file_name: String,
    /// Media type.
    pub media_type: String,
    /// SHA-256 (hex) of the bytes (the blob's key).
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// When it was uploaded, RFC 3339.
    pub uploaded_at: String,
    /// Set when it was withdrawn, RFC 3339: no longer listed or served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
}

/// The largest document, bytes.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// Media types a document may have.
pub const MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/markdown",
    "application/json",
    "image/png",
];

/// What an upload names besides its bytes.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// Product.
    pub product: String,
    /// Release tag; absent for a document of the product, which goes with
    /// every release of it.
    #[serde(default)]
    pub tag: Option<String>,
    /// Title (1 to 200 characters).
    pub title: String,
    /// `declaration_of_conformity`, `pentest_summary`, `security_policy`,
    /// `certificate` or `other`.
    #[serde(rename = "type")]
    pub doc_type: DocType,
    /// `customers` (default), `public`, or `named`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// For `named`: customer ids, comma-separated.
    #[serde(default)]
    pub customers: Option<String>,
    /// The attachment's file name (letters, digits, `.`, `-`, `_`; 1 to 100).
    pub file_name: String,
}

impl NewDocument {
    /// The audience this upload asks for, checked.
    pub fn audience(&self) -> Result<Audience, Error> {
        match self.visibility.as_deref().unwrap_or("customers") {
            "customers" => Ok(Audience::Customers),
            "public" => Ok(Audience::Public),
            "named" => {
                let customers: Vec<String> = self
                    .customers
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                if customers.is_empty() || customers.len() > 256 {
                    return Err(Error::Unprocessable(
                        "visibility named needs 1 to 256 customer ids in customers".into(),
                    ));
                }
                Ok(Audience::Named { customers })
            }
            v => Err(Error::Unprocessable(format!(
                "visibility {v:?} is not customers, public or named"
            ))),
        }
    }

    /// Checks title and file name.
    pub fn validate(&self) -> Result<(), Error> {
        let n = self.title.chars().count();
        if !(1..=200).contains(&n) || self.title.chars().any(char::is_control) {
            return Err(Error::Unprocessable(
                "title must have 1 to 200 characters without control characters".into(),
            ));
        }
        let f = &self.file_name;
        // The names a kit gives its own files.
        const RESERVED: [&str; 5] = [
            "README.txt",
            "verify.sh",
            "pubkey.pem",
            "tsa-chain.pem",
            "log.vkey",
        ];
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(f)) {
            return Err(Error::Unprocessable(format!(
                "file_name {f:?} is the name of a file every kit has; choose another"
            )));
        }
        if !(1..=100).contains(&f.len())
            || f.starts_with('.')
            || !f
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(Error::Unprocessable(format!(
                "file_name {f:?} must have 1 to 100 letters, digits, '.', '-' or '_', not starting with '.'"
            )));
        }
        Ok(())
    }
}

impl Document {
    /// Whether customer `c` (entitled to the release) may see it.
    pub fn shown_to_customer(&self, c: &str) -> bool {
        match &self.audience {
            Audience::Customers | Audience::Public => true,
            Audience::Named { customers } => customers.iter().any(|x| x == c),
        }
    }

    /// The `document_published` event.
    pub fn event(&self) -> EventBody {
        EventBody::DocumentPublished {
            document_id: self.id.clone(),
            product: self.product.clone(),
            tag: self.tag.clone(),
            title: self.title.clone(),
            doc_type: self.doc_type.name().to_owned(),
            audience: self.audience.label(),
            sha256: self.sha256.clone(),
            bytes: self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(vis: Option<&str>, customers: Option<&str>) -> NewDocument {
        NewDocument {
            product: "shop".into(),
            tag: Some("v1".into()),
            title: "EU declaration of conformity".into(),
            doc_type: DocType::DeclarationOfConformity,
            visibility: vis.map(Into::into),
            customers: customers.map(Into::into),
            file_name: "doc.pdf".into(),
        }
    }

    #[test]
    fn audiences_and_names_are_checked() {
        assert_eq!(new(None, None).audience().unwrap(), Audience::Customers);
        assert_eq!(
            new(Some("public"), None).audience().unwrap(),
            Audience::Public
        );
        assert_eq!(
            new(Some("named"), Some(" a, b ,")).audience().unwrap(),
            Audience::Named {
                customers: vec!["a".into(), "b".into()]
            }
        );
        assert!(new(Some("named"), Some(" , ")).audience().is_err());
        assert!(new(Some("everyone"), None).audience().is_err());
        for bad in [
            "",
            ".hidden",
            "a/b.pdf",
            "a b.pdf",
            "é.pdf",
            &"x".repeat(101),
        ] {
            let mut d = new(None, None);
            d.file_name = bad.into();
            assert!(d.validate().is_err(), "{bad:?}");
        }
        let mut d = new(None, None);
        d.title = "bell\u{7}".into();
        assert!(d.validate().is_err());
        new(None, None).validate().unwrap();
    }

    #[test]
    fn named_documents_are_shown_only_to_their_customers() {
        let d = Document {
            id: "1".into(),
            product: "shop".into(),
            tag: Some("v1".into()),
            title: "t".into(),
            doc_type: DocType::Other,
            audience: Audience::Named {
                customers: vec!["ann".into()],
            },
            file_name: "a.pdf".into(),
            media_type: "application/pdf".into(),
            sha256: "00".into(),
            bytes: 1,
            uploaded_at: "2026-01-01T00:00:00Z".into(),
            withdrawn_at: None,
        };
        assert!(d.shown_to_customer("ann"));
        assert!(!d.shown_to_customer("bob"));
    }
}
