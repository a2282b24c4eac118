//! Log key rotation statements: how a log moves to a new signing key so
//! that anyone who trusted the old key can follow.
//!
//! A statement is a C2SP signed note whose text is
//!
//! ```text
//! evident.dev/log-key-rotation/v1
//! <origin>
//! <tree size before the move>
//! <old verifier key>
//! <new verifier key>
//! ```
//!
//! signed by **both** keys: the old key's signature says "my successor is
//! this key", the new key's signature proves that whoever named it holds
//! it. The statement is also the body of the `log_key_rotated` event,
//! appended in the batch whose checkpoint is the last one the old key
//! signs, so the move itself is in the log, proved by the old key.
//! [`verify`] checks a statement against the old key a verifier already
//! trusts and returns the new key.

use crate::{
    note::{self, NoteSigner, NoteVerifier},
    VerifyError,
};

/// The first line of every rotation statement.
pub const HEADER: &str = "evident.dev/log-key-rotation/v1";

/// A parsed rotation statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The log's origin (both keys are named after it).
    pub origin: String,
    /// The tree size when the old key stopped signing new entries.
    pub size: u64,
    /// The key that signed until now.
    pub old: NoteVerifier,
    /// The key that signs from now on.
    pub new: NoteVerifier,
}

fn bad(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedNote {
        reason: format!("rotation statement: {}", reason.into()),
    }
}

impl Rotation {
    /// The note text.
    pub fn to_text(&self) -> String {
        format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.old.to_vkey(),
            self.new.to_vkey()
        )
    }

    /// Parses a note text.
    pub fn parse_text(text: &str) -> Result<Self, VerifyError> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("does not end in a newline"))?
            .split('\n')
            .collect();
        let [header, origin, size, old, new] = lines.as_slice() else {
            return Err(bad(format!("has {} lines, not 5", lines.len())));
        };
        if *header != HEADER {
            return Err(bad(format!("first line is {header:?}, not {HEADER}")));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| bad(format!("size {size:?} is not a number")))?;
        let old = NoteVerifier::parse(old)?;
        let new = NoteVerifier::parse(new)?;
        for (which, k) in [("old", &old), ("new", &new)] {
            if k.name() != *origin {
                return Err(bad(format!(
                    "the {which} key is named {:?}, not the origin {origin:?}",
                    k.name()
                )));
            }
        }
        if old == new {
            return Err(bad("the old and the new key are the same"));
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            old,
            new,
        })
    }

    /// Signs the statement with the old and the new key.
    pub fn sign(&self, old: &NoteSigner, new: &NoteSigner) -> Result<String, VerifyError> {
        let text = self.to_text();
        let mut note = old.sign(&text)?;
        note.push_str(&new.signature_line(&text));
        note.push('\n');
        Ok(note)
    }
}

/// Checks a rotation statement against the old key the caller trusts:
/// the statement must name exactly that key as the old one, carry a valid
/// signature by it, and carry a valid signature by the new key it names.
/// Returns the statement, whose `new` key the caller may trust from then on.
pub fn verify(statement: &str, trusted_old: &NoteVerifier) -> Result<Rotation, VerifyError> {
    let n = note::Note::parse(statement)?;
    let r = Rotation::parse_text(&n.text)?;
    if r.old != *trusted_old {
        return Err(bad(format!(
            "it names {} as the old key, not the trusted {}",
            r.old.to_vkey(),
            trusted_old.to_vkey()
        )));
    }
    n.verify(&r.old)?;
    n.verify(&r.new)?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn signers() -> (NoteSigner, NoteSigner) {
        (
            NoteSigner::new("evident.test/acme", SigningKey::from_bytes(&[1; 32])).unwrap(),
            NoteSigner::new("evident.test/acme", SigningKey::from_bytes(&[2; 32])).unwrap(),
        )
    }

    fn statement() -> (Rotation, String, NoteSigner, NoteSigner) {
        let (old, new) = signers();
        let r = Rotation {
            origin: "evident.test/acme".into(),
            size: 41,
            old: old.verifier().clone(),
            new: new.verifier().clone(),
        };
        let note = r.sign(&old, &new).unwrap();
        (r, note, old, new)
    }

    #[test]
    fn a_statement_signed_by_both_keys_verifies_with_the_old_key() {
        let (r, note, old, _) = statement();
        assert_eq!(verify(&note, old.verifier()).unwrap(), r);
        assert_eq!(Rotation::parse_text(&r.to_text()).unwrap(), r);
    }

    #[test]
    fn tampered_or_foreign_statements_fail() {
        let (r, note, old, new) = statement();
        // Another key as the trusted old one.
        assert!(verify(&note, new.verifier()).is_err());
        // A byte of the text changed.
        let t = note.replacen("\n41\n", "\n42\n", 1);
        assert!(matches!(
            verify(&t, old.verifier()),
            Err(VerifyError::BadSignature { .. })
        ));
        // Signed by the old key only: the new key's possession is unproved.
        let only_old = old.sign(&r.to_text()).unwrap();
        assert!(matches!(
            verify(&only_old, old.verifier()),
            Err(VerifyError::NoSignatureByKey { .. })
        ));
        // Another log's keys.
        let other =
            NoteSigner::new("evident.test/globex", SigningKey::from_bytes(&[3; 32])).unwrap();
        let text = r
            .to_text()
            .replacen(&r.new.to_vkey(), &other.verifier().to_vkey(), 1);
        assert!(Rotation::parse_text(&text).is_err());
    }
}
