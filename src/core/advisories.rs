//! CSAF security advisories of a release: drafted by an admin, seen by
//! admins only until published (a log event), then listed for whoever may
//! read the release. Their statements are VEX statements (one
//! vulnerability model), read from the same inputs as VEX.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::Error;

/// Where an advisory is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdvisoryState {
    /// Only admins see it; it may still change.
    Draft,
    /// Published: fixed, logged, listed for the release's readers.
    Published,
}

/// An advisory as stored (`advisory/<tenant>/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct AdvisoryRecord {
    /// The tracking id (`ACME-SA-2026-001`).
    pub id: String,
    /// Product.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// The release revision it is about (the latest when drafted).
    pub revision: u32,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// A URL with more details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Draft or published.
    pub state: AdvisoryState,
    /// SHA-256 (hex) of the statements input (a blob).
    pub input_sha256: String,
    /// When it was drafted, Unix seconds.
    pub drafted_at: i64,
    /// When it was published, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    /// SHA-256 (hex) of the CSAF document fixed at publication (a blob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csaf_sha256: Option<String>,
}

/// What a draft names besides its statements.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewAdvisory {
    /// Product.
    pub product: String,
    /// Release tag.
    pub tag: String,
    /// The tracking id: 3 to 64 letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// Title (1 to 200 characters).
    pub title: String,
    /// Summary (1 to 4,000 characters).
    pub summary: String,
    /// An `https://` URL with more details.
    #[serde(default)]
    pub reference: Option<String>,
}

impl NewAdvisory {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::Unprocessable(m.into()));
        if !(3..=64).contains(&self.id.len())
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return bad("id must have 3 to 64 letters, digits, '-', '_' or '.'");
        }
        let chars = |s: &str| s.chars().count();
        if !(1..=200).contains(&chars(&self.title)) || self.title.chars().any(char::is_control) {
            return bad("title must have 1 to 200 characters without control characters");
        }
        if !(1..=4000).contains(&chars(&self.summary)) {
            return bad("summary must have 1 to 4000 characters");
        }
        if let Some(r) = &self.reference {
            let ok = url::Url::parse(r).is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
            if !ok {
                return bad("reference must be an https:// URL");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_checked() {
        let ok = NewAdvisory {
            product: "shop".into(),
            tag: "v1".into(),
            id: "ACME-SA-2026-001".into(),
            title: "Remote code execution in log4j-core".into(),
            summary: "Upgrade.".into(),
            reference: Some("https://acme.example/sa/1".into()),
        };
        ok.validate().unwrap();
        for bad in [
            NewAdvisory {
                id: "a/b".into(),
                ..ok.clone()
            },
            NewAdvisory {
                id: "ab".into(),
                ..ok.clone()
            },
            NewAdvisory {
                title: String::new(),
                ..ok.clone()
            },
            NewAdvisory {
                summary: String::new(),
                ..ok.clone()
            },
            NewAdvisory {
                reference: Some("http://acme.example".into()),
                ..ok.clone()
            },
            NewAdvisory {
                reference: Some("javascript:alert(1)".into()),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
