//! C2SP tlog-checkpoint: the note body `<origin>\n<size>\n<base64 root>\n[ext…]`.

use base64::{engine::general_purpose::STANDARD, Engine as _};

use crate::{
    merkle::Hash,
    note::{self, NoteVerifier},
    VerifyError,
};

/// A checkpoint body: the origin, the tree size and its root hash, plus any
/// extension lines (kept verbatim, never interpreted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, e.g. `evident.example/acme`.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// RFC 9162 root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Optional extension lines after the root, without newlines.
    pub extensions: Vec<String>,
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedCheckpoint {
        reason: reason.into(),
    }
}

impl Checkpoint {
    /// Formats the note text (ending in a newline).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text as a checkpoint body.
    pub fn parse_text(text: &str) -> Result<Self, VerifyError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(malformed("text does not end in a newline"));
        };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(malformed("empty origin line"));
        }
        let size_line = lines.next().ok_or_else(|| malformed("no tree size line"))?;
        // tlog-checkpoint: ASCII decimal, no leading zeroes.
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(malformed(format!(
                "tree size {size_line:?} is not a plain decimal"
            )));
        }
        let size: u64 = size_line
            .parse()
            .map_err(|_| malformed(format!("tree size {size_line:?} does not fit 64 bits")))?;
        let root_line = lines.next().ok_or_else(|| malformed("no root hash line"))?;
        let root_raw = STANDARD
            .decode(root_line)
            .map_err(|e| malformed(format!("root hash is not base64: {e}")))?;
        let root: Hash = root_raw
            .as_slice()
            .try_into()
            .map_err(|_| malformed(format!("root hash has {} bytes, not 32", root_raw.len())))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(malformed("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// Verifies a signed checkpoint note with `verifier` and parses its body. If
/// `origin` is given, the checkpoint must be for that log.
pub fn open_checkpoint(
    note_text: &str,
    verifier: &NoteVerifier,
    origin: Option<&str>,
) -> Result<Checkpoint, VerifyError> {
    let text = note::open(note_text, verifier)?;
    let cp = Checkpoint::parse_text(&text)?;
    if let Some(o) = origin {
        if cp.origin != o {
            return Err(VerifyError::OriginMismatch {
                expected: o.to_owned(),
                got: cp.origin,
            });
        }
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let cp = Checkpoint {
            origin: "example.com/behind-the-sofa".into(),
            size: 20852163,
            root: STANDARD
                .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
                .unwrap()
                .try_into()
                .unwrap(),
            extensions: vec![],
        };
        let text = cp.to_text();
        assert_eq!(
            text,
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        assert_eq!(Checkpoint::parse_text(&text).unwrap(), cp);
        for bad in [
            "",
            "o\n",
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n1\nAAAA\n",
            "o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
    }
}
