//! Proof files: Evident's JSON proofs and C2SP tlog-proof files.
//!
//! JSON inclusion proofs are `{"index", "tree_size", "hashes": [base64…]}` and
//! JSON consistency proofs `{"old", "new", "hashes": [base64…]}`, as the log
//! API serves them. A C2SP tlog-proof (`c2sp.org/tlog-proof@v1`) carries the
//! index, the inclusion path and the checkpoint it proves against.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::{Deserialize, Serialize};

use crate::{
    merkle::{self, Hash},
    VerifyError,
};

/// An inclusion proof as the log API serves it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf index.
    pub index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// The audit path, leaf sibling first, each standard base64.
    pub hashes: Vec<String>,
}

/// A consistency proof as the log API serves it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub old: u64,
    /// The newer tree size.
    pub new: u64,
    /// The proof nodes, each standard base64.
    pub hashes: Vec<String>,
}

/// Encodes hashes as base64 strings.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(merkle::to_b64).collect()
}

/// Decodes base64 hash strings.
pub fn decode_hashes(hashes: &[String]) -> Result<Vec<Hash>, VerifyError> {
    hashes.iter().map(|h| merkle::parse_hash(h)).collect()
}

/// Decodes the base64 hashes (strictly: 32 bytes each, standard base64,
/// nothing else) of a proof a verifier message names `what` (for example
/// "inclusion proof"); the error starts with that name.
pub fn decode_named(hashes: &[String], what: &str) -> Result<Vec<Hash>, String> {
    hashes
        .iter()
        .map(|h| {
            STANDARD
                .decode(h)
                .ok()
                .and_then(|b| Hash::try_from(b).ok())
                .ok_or_else(|| format!("{what}: a hash is not 32 bytes of base64"))
        })
        .collect()
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedProof {
        reason: reason.into(),
    }
}

/// A parsed C2SP tlog-proof file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated application data, if the file has an `extra` line.
    pub extra: Option<Vec<u8>>,
    /// The leaf index.
    pub index: u64,
    /// The inclusion path.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// The first line of every C2SP tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

impl TlogProof {
    /// Parses a tlog-proof file.
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        let Some((head, checkpoint)) = s.split_once("\n\n") else {
            return Err(malformed("no blank line before the checkpoint"));
        };
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(malformed(format!(
                "first line is not {TLOG_PROOF_HEADER:?}"
            )));
        }
        let mut line = lines.next().ok_or_else(|| malformed("no index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|e| malformed(format!("extra is not base64: {e}")))?,
            );
            line = lines.next().ok_or_else(|| malformed("no index line"))?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or_else(|| malformed(format!("expected \"index N\", got {line:?}")))?;
        if idx.is_empty()
            || !idx.bytes().all(|b| b.is_ascii_digit())
            || (idx.len() > 1 && idx.starts_with('0'))
        {
            return Err(malformed(format!("index {idx:?} is not a plain decimal")));
        }
        let index = idx
            .parse()
            .map_err(|_| malformed(format!("index {idx:?} does not fit 64 bits")))?;
        let hashes = lines
            .map(merkle::parse_hash)
            .collect::<Result<Vec<_>, _>>()?;
        if checkpoint.is_empty() {
            return Err(malformed("no checkpoint after the proof"));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Formats a tlog-proof file.
    pub fn to_text(&self) -> String {
        let mut s = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", STANDARD.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            s.push_str(&merkle::to_b64(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlog_proof_round_trip() {
        let p = TlogProof {
            extra: Some(b"hi".to_vec()),
            index: 73894,
            hashes: vec![[1u8; 32], [2u8; 32]],
            checkpoint:
                "o\n1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n\u{2014} o AAAAAAA=\n".into(),
        };
        let t = p.to_text();
        assert_eq!(TlogProof::parse(&t).unwrap(), p);
        assert!(TlogProof::parse("c2sp.org/tlog-proof@v1\nindex 01\n\nx").is_err());
        assert!(TlogProof::parse("nope\nindex 1\n\nx").is_err());
        assert!(TlogProof::parse("c2sp.org/tlog-proof@v1\nindex 1\nnothash\n\nx").is_err());
    }

    #[test]
    fn json_rejects_unknown_fields() {
        let ok = r#"{"index":1,"tree_size":2,"hashes":[]}"#;
        assert!(serde_json::from_str::<InclusionProof>(ok).is_ok());
        let bad = r#"{"index":1,"tree_size":2,"hashes":[],"x":1}"#;
        assert!(serde_json::from_str::<InclusionProof>(bad).is_err());
    }
}
