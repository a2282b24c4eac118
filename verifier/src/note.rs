//! C2SP signed-note: notes, Ed25519 signatures, and verifier key strings.
//!
//! A note is UTF-8 text ending in a newline, followed by a blank line and one
//! or more signature lines `— <key name> <base64(key id || signature)>`. A key
//! is named by a verifier key string `<name>+<hex key id>+<base64(0x01 || pub)>`,
//! where the key id is the first four bytes of
//! `SHA-256(name || "\n" || 0x01 || pub)` read big-endian (signed-note §"Key ID").

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::VerifyError;

/// The signature type byte for Ed25519 in signed-note key ids and verifier keys.
pub const ALG_ED25519: u8 = 0x01;

/// The em dash (U+2014) and space that start every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// At most this many signature lines are read, as the Go reference does, so a
/// hostile note cannot make verification unbounded.
const MAX_SIGNATURES: usize = 100;

/// signed-note: `key ID = SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, alg: u8, public: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Key names are non-empty, valid UTF-8 with no Unicode spaces and no `+`.
fn check_name(name: &str) -> Result<(), VerifyError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(VerifyError::MalformedKey {
            reason: format!("key name {name:?} must be non-empty with no spaces or '+'"),
        });
    }
    Ok(())
}

/// Parses a verifier key string `<name>+<hex key id>+<base64(alg || 32-byte
/// Ed25519 key)>` of signature type `alg` (0x01 for note signatures, 0x04
/// for `cosignature/v1`), checking the key id against the name and key.
pub(crate) fn parse_vkey(vkey: &str, alg: u8) -> Result<(String, VerifyingKey), String> {
    let vkey = vkey.trim();
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("expected <name>+<hex key id>+<base64 key>".into());
    };
    check_name(name).map_err(|e| e.to_string())?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("key id {id_hex:?} is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|e| e.to_string())?;
    let raw = STANDARD
        .decode(key_b64)
        .map_err(|e| format!("key is not base64: {e}"))?;
    let Some((&got, public)) = raw.split_first() else {
        return Err("key is empty".into());
    };
    if got != alg {
        let kind = if alg == ALG_ED25519 {
            "Ed25519"
        } else {
            "cosignature/v1"
        };
        return Err(format!(
            "signature type 0x{got:02x} is not {kind} (0x{alg:02x})"
        ));
    }
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| format!("Ed25519 key has {} bytes, not 32", public.len()))?;
    let key =
        VerifyingKey::from_bytes(&public).map_err(|e| format!("not an Ed25519 point: {e}"))?;
    let want = key_id(name, alg, &public);
    if want != id {
        return Err(format!(
            "key id {id:08x} does not match name and key (expected {want:08x})"
        ));
    }
    Ok((name.to_owned(), key))
}

/// A public Ed25519 note verifier, parsed from or formatted as a verifier key string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Builds the verifier for `key` under `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, VerifyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, key.as_bytes()),
            key,
        })
    }

    /// Parses `<name>+<hex key id>+<base64(0x01 || 32-byte key)>`, checking that
    /// the key id is the one the name and key imply.
    pub fn parse(vkey: &str) -> Result<Self, VerifyError> {
        let (name, key) =
            parse_vkey(vkey, ALG_ED25519).map_err(|reason| VerifyError::MalformedKey { reason })?;
        Self::new(&name, key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Formats the verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

/// An Ed25519 note signer: a name and a private key.
#[derive(Debug)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer for `key` under `name`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, VerifyError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// One signature line (without trailing newline) over `text`.
    pub fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.verifier.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!(
            "{SIG_PREFIX}{} {}",
            self.verifier.name,
            STANDARD.encode(raw)
        )
    }

    /// Signs `text`, which must be a valid note text, into a signed note.
    pub fn sign(&self, text: &str) -> Result<String, VerifyError> {
        check_text(text)?;
        Ok(format!("{text}\n{}\n", self.signature_line(text)))
    }
}

/// A signature line as read from a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name on the line.
    pub name: String,
    /// Key id from the first four bytes of the signature blob.
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A note split into its text and its signature lines (not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// The signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedNote {
        reason: reason.into(),
    }
}

/// The text of a note is non-empty UTF-8 ending in a newline, with no blank
/// lines (those would make the signature block ambiguous) and no control
/// characters other than newline.
fn check_text(text: &str) -> Result<(), VerifyError> {
    if !text.ends_with('\n') {
        return Err(malformed("note text does not end in a newline"));
    }
    if text.starts_with('\n') || text.contains("\n\n") {
        return Err(malformed("note text contains a blank line"));
    }
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
        return Err(malformed(format!(
            "note text contains control character U+{:04X}",
            c as u32
        )));
    }
    Ok(())
}

impl Note {
    /// Splits a signed note into text and signature lines.
    pub fn parse(note: &str) -> Result<Self, VerifyError> {
        let Some(split) = note.rfind("\n\n") else {
            return Err(malformed("no blank line before the signatures"));
        };
        let text = &note[..=split];
        let sigs = &note[split + 2..];
        check_text(text)?;
        if !sigs.ends_with('\n') {
            return Err(malformed("signature block does not end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed(format!(
                    "more than {MAX_SIGNATURES} signature lines"
                )));
            }
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
                return Err(malformed(format!(
                    "signature line {line:?} does not start with \"\u{2014} \""
                )));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return Err(malformed(format!(
                    "signature line {line:?} has no signature"
                )));
            };
            check_name(name).map_err(|_| malformed(format!("bad key name {name:?}")))?;
            let raw = STANDARD
                .decode(b64)
                .map_err(|e| malformed(format!("signature by {name} is not base64: {e}")))?;
            if raw.len() < 5 {
                return Err(malformed(format!("signature by {name} is too short")));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(malformed("no signature lines"));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the signature from `verifier`. Signatures by other keys are
    /// ignored, as signed-note requires; a line that claims the verifier's
    /// name and id but does not verify is an error.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), VerifyError> {
        let mut found = false;
        for s in &self.signatures {
            if s.name != verifier.name || s.key_id != verifier.key_id {
                continue;
            }
            found = true;
            let bad = || VerifyError::BadSignature {
                name: verifier.name.clone(),
                key_id: verifier.key_id,
            };
            let sig = Signature::from_slice(&s.signature).map_err(|_| bad())?;
            verifier
                .key
                .verify(self.text.as_bytes(), &sig)
                .map_err(|_| bad())?;
        }
        if !found {
            return Err(VerifyError::NoSignatureByKey {
                name: verifier.name.clone(),
                key_id: verifier.key_id,
            });
        }
        Ok(())
    }
}

/// Parses `note` and verifies it against `verifier`, returning the text.
pub fn open(note: &str, verifier: &NoteVerifier) -> Result<String, VerifyError> {
    let n = Note::parse(note)?;
    n.verify(verifier)?;
    Ok(n.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the Go reference (golang.org/x/mod/sumdb/note): the key id for
    /// this name and key, and the verifier string it yields.
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn go_reference_vector_verifies() {
        let v = NoteVerifier::parse(GO_VKEY).unwrap();
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.to_vkey(), GO_VKEY);
        let text = open(GO_NOTE, &v).unwrap();
        assert!(text.starts_with("If you think"));
    }

    #[test]
    fn sign_then_open_round_trips_and_tamper_fails() {
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let s = NoteSigner::new("example.com/log", sk).unwrap();
        let note = s.sign("example.com/log\n3\nAAAA\n").unwrap();
        let v = NoteVerifier::parse(&s.verifier().to_vkey()).unwrap();
        assert_eq!(open(&note, &v).unwrap(), "example.com/log\n3\nAAAA\n");
        let tampered = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            open(&tampered, &v),
            Err(VerifyError::BadSignature { .. })
        ));
        let other = NoteSigner::new("other", SigningKey::from_bytes(&[8u8; 32])).unwrap();
        assert!(matches!(
            open(&note, other.verifier()),
            Err(VerifyError::NoSignatureByKey { .. })
        ));
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        let v = NoteVerifier::parse(GO_VKEY).unwrap();
        for bad in [
            "",
            "\n\n",
            "text\n\n",
            "text\n\nno dash\n",
            "text\n\n\u{2014} a\n",
        ] {
            assert!(open(bad, &v).is_err(), "{bad:?}");
        }
        assert!(NoteVerifier::parse("a+00000000+AQ==").is_err());
        assert!(NoteVerifier::parse(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        .is_err());
        assert!(NoteVerifier::parse("no plus").is_err());
    }
}
