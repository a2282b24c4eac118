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

/// Verifies a signed checkpoint note with `verifier` and parses its body.
///
/// Fails closed, in this order, so the first error names the real problem:
/// the note must parse; its checkpoint's origin must be the verifier key's
/// name (every Evident log key is named after its log's origin, and a
/// signed-note signature covers the text, not the key name, so without this
/// a signature line renamed to another log's key would pass); if `origin`
/// is given it must equal it too (a check that can only narrow); and the
/// key's signature must verify.
pub fn open_checkpoint(
    note_text: &str,
    verifier: &NoteVerifier,
    origin: Option<&str>,
) -> Result<Checkpoint, VerifyError> {
    let n = note::Note::parse(note_text)?;
    let cp = Checkpoint::parse_text(&n.text)?;
    if cp.origin != verifier.name() {
        return Err(VerifyError::OriginNotKeyName {
            origin: cp.origin,
            key_name: verifier.name().to_owned(),
        });
    }
    if let Some(o) = origin {
        if cp.origin != o {
            return Err(VerifyError::OriginMismatch {
                expected: o.to_owned(),
                got: cp.origin,
            });
        }
    }
    n.verify(verifier)?;
    Ok(cp)
}

/// Checks that a log entry that names its tenant belongs to the log of
/// `origin` (`<public host>/<tenant slug>`, DESIGN §4).
pub fn check_entry_tenant(origin: &str, tenant: &str) -> Result<(), VerifyError> {
    match origin.rsplit_once('/') {
        Some((_, slug)) if slug == tenant && !tenant.is_empty() => Ok(()),
        _ => Err(VerifyError::TenantNotOrigin {
            tenant: tenant.to_owned(),
            origin: origin.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use ed25519_dalek::SigningKey;

    /// The forgery of the security review: two logs signed with one key
    /// (as every tenant log was before each got its own key). A checkpoint
    /// of log A whose signature line is renamed to log B's key name and id
    /// verifies as a signed note under B's key, since the signature covers
    /// only the text. The origin check refuses it, and names the mismatch.
    #[test]
    fn a_renamed_signature_line_does_not_pass_as_another_log() {
        let shared = SigningKey::from_bytes(&[5; 32]);
        let a = NoteSigner::new("evident.test/a", shared.clone()).unwrap();
        let b = NoteSigner::new("evident.test/b", shared).unwrap();
        let text = Checkpoint {
            origin: "evident.test/a".into(),
            size: 3,
            root: [7; 32],
            extensions: vec![],
        }
        .to_text();
        let note = a.sign(&text).unwrap();
        assert!(open_checkpoint(&note, a.verifier(), None).is_ok());
        // Rename the signature line: B's name, B's key id, the same signature bytes.
        let n = note::Note::parse(&note).unwrap();
        let sig = &n.signatures[0];
        let mut raw = b.verifier().key_id().to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.signature);
        let forged = format!(
            "{}\n\u{2014} {} {}\n",
            n.text,
            b.verifier().name(),
            STANDARD.encode(raw)
        );
        // The signed note alone verifies under B's key: that is the hole.
        assert!(note::open(&forged, b.verifier()).is_ok());
        let err = open_checkpoint(&forged, b.verifier(), None).unwrap_err();
        assert_eq!(
            err,
            VerifyError::OriginNotKeyName {
                origin: "evident.test/a".into(),
                key_name: "evident.test/b".into()
            }
        );
        assert!(err.to_string().contains("evident.test/a"), "{err}");
        // --origin can only narrow: naming B's origin does not make it pass.
        assert!(open_checkpoint(&forged, b.verifier(), Some("evident.test/a")).is_err());
        assert!(matches!(
            open_checkpoint(&note, a.verifier(), Some("evident.test/b")),
            Err(VerifyError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn entry_tenant_must_be_the_origin_s_slug() {
        assert!(check_entry_tenant("evident.test/acme", "acme").is_ok());
        for (o, t) in [
            ("evident.test/acme", "globex"),
            ("evident.test/acme", "cme"),
            ("evident.test/xacme", "acme"),
            ("acme", "acme"),
            ("evident.test/", ""),
        ] {
            assert!(check_entry_tenant(o, t).is_err(), "{o} {t}");
        }
    }

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
