//! Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`).
//!
//! A witness that has checked a checkpoint's consistency with every
//! checkpoint of the log it saw before adds a note signature line to it:
//! `— <witness name> base64(key id[4] || timestamp[8] || Ed25519 sig[64])`,
//! where the key id is `SHA-256(name || "\n" || 0x04 || pub)[:4]`, the
//! timestamp is big-endian Unix seconds, and the signature is over
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's text.
//! A witness's verifier key is `<name>+<hex key id>+<base64(0x04 || pub)>`.
//!
//! [`verify_cosignatures`] counts the valid cosignatures of the given
//! witnesses on a note; [`require`] fails when there are fewer than asked.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::note::{key_id, parse_vkey, Note};

/// The signature type byte of `cosignature/v1` (Ed25519, timestamped).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A witness's public key, from its verifier key string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl WitnessKey {
    /// Parses `<name>+<hex key id>+<base64(0x04 || 32-byte key)>`, checking
    /// the key id against the name and key.
    pub fn parse(vkey: &str) -> Result<Self, String> {
        let (name, key) = parse_vkey(vkey, ALG_COSIGNATURE_V1)
            .map_err(|e| format!("witness key {:?}: {e}", vkey.trim()))?;
        Ok(Self::new(&name, key))
    }

    /// The key id as 8 hex digits.
    pub fn key_id_hex(&self) -> String {
        format!("{:08x}", self.key_id)
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Formats the verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }

    /// Builds the key of `key` under `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Self {
        Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()),
            key,
        }
    }
}

/// The message a `cosignature/v1` signs for checkpoint text `text`.
pub fn cosigned_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// A valid cosignature found on a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name.
    pub witness: String,
    /// When the witness signed (Unix seconds).
    pub timestamp: u64,
}

/// The valid cosignatures by `witnesses` on `note`. A line that names a
/// given witness (name and key id) but does not verify is an error, as a
/// bad signature by a known key is in signed-note; lines by other keys are
/// ignored. Each witness counts once.
pub fn verify_cosignatures(
    note: &str,
    witnesses: &[WitnessKey],
) -> Result<Vec<Cosignature>, String> {
    let n = Note::parse(note).map_err(|e| e.to_string())?;
    let mut out: Vec<Cosignature> = Vec::new();
    for s in &n.signatures {
        let Some(w) = witnesses
            .iter()
            .find(|w| w.name == s.name && w.key_id == s.key_id)
        else {
            continue;
        };
        if s.signature.len() != 8 + 64 {
            return Err(format!(
                "the cosignature by witness {} is {} bytes, not a cosignature/v1 (72)",
                w.name,
                s.signature.len()
            ));
        }
        let (ts, sig) = s.signature.split_at(8);
        let timestamp = u64::from_be_bytes(ts.try_into().expect("8 bytes"));
        let sig = Signature::from_slice(sig)
            .map_err(|_| format!("the cosignature by witness {} is malformed", w.name))?;
        w.key
            .verify(&cosigned_message(&n.text, timestamp), &sig)
            .map_err(|_| {
                format!(
                    "the cosignature by witness {} does not verify over this checkpoint",
                    w.name
                )
            })?;
        if !out.iter().any(|c| c.witness == w.name) {
            out.push(Cosignature {
                witness: w.name.clone(),
                timestamp,
            });
        }
    }
    Ok(out)
}

/// At least `min` valid cosignatures by `witnesses` on `note`, or an error
/// naming how many there are and whose are missing.
pub fn require(
    note: &str,
    witnesses: &[WitnessKey],
    min: usize,
) -> Result<Vec<Cosignature>, String> {
    let found = verify_cosignatures(note, witnesses)?;
    if found.len() < min {
        let missing: Vec<&str> = witnesses
            .iter()
            .filter(|w| !found.iter().any(|c| c.witness == w.name))
            .map(|w| w.name.as_str())
            .collect();
        return Err(format!(
            "witnesses: {} valid cosignature(s), {min} required (none from {})",
            found.len(),
            missing.join(", ")
        ));
    }
    Ok(found)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use ed25519_dalek::{Signer, SigningKey};

    /// A `cosignature/v1` line by `sk` as witness `name` over `text`.
    pub(crate) fn cosign(sk: &SigningKey, name: &str, text: &str, t: u64) -> String {
        let w = WitnessKey::new(name, sk.verifying_key());
        let sig = sk.sign(&cosigned_message(text, t));
        let mut raw = w.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&t.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {name} {}\n", STANDARD.encode(raw))
    }

    fn fixture() -> (String, String, WitnessKey, WitnessKey) {
        let log = NoteSigner::new("log.example/a", SigningKey::from_bytes(&[1; 32])).unwrap();
        let text = "log.example/a\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = log.sign(text).unwrap();
        let w1 = SigningKey::from_bytes(&[2; 32]);
        let w2 = SigningKey::from_bytes(&[3; 32]);
        let cosigned = format!(
            "{note}{}{}",
            cosign(&w1, "w1.example", text, 1_700_000_000),
            cosign(&w2, "w2.example", text, 1_700_000_001)
        );
        (
            note,
            cosigned,
            WitnessKey::new("w1.example", w1.verifying_key()),
            WitnessKey::new("w2.example", w2.verifying_key()),
        )
    }

    #[test]
    fn vkeys_round_trip_and_refuse_other_types() {
        let (_, _, w1, _) = fixture();
        assert_eq!(WitnessKey::parse(&w1.to_vkey()).unwrap(), w1);
        let log = NoteSigner::new("log.example/a", SigningKey::from_bytes(&[1; 32])).unwrap();
        let e = WitnessKey::parse(&log.verifier().to_vkey()).unwrap_err();
        assert!(e.contains("not cosignature/v1"), "{e}");
        let mut bad = w1.to_vkey();
        bad.replace_range(w1.name.len() + 1..w1.name.len() + 2, "f");
        assert!(WitnessKey::parse(&bad).is_err());
    }

    #[test]
    fn cosignatures_count_fail_closed_and_name_the_missing() {
        let (plain, cosigned, w1, w2) = fixture();
        let both = [w1.clone(), w2.clone()];
        assert_eq!(require(&cosigned, &both, 2).unwrap().len(), 2);
        let e = require(&plain, &both, 1).unwrap_err();
        assert!(e.contains("0 valid") && e.contains("w1.example"), "{e}");
        // Another checkpoint's cosignatures do not verify on this one.
        let other = cosigned.replacen("\n5\n", "\n6\n", 1);
        assert!(verify_cosignatures(&other, &both).is_err());
        // A key the verifier does not know is ignored, not counted.
        let stranger = WitnessKey::new(
            "w1.example",
            SigningKey::from_bytes(&[9; 32]).verifying_key(),
        );
        assert_eq!(
            verify_cosignatures(&cosigned, &[stranger]).unwrap().len(),
            0
        );
        // A changed timestamp breaks the signature.
        let n = Note::parse(&cosigned).unwrap();
        let mut raw = n.signatures[1].key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&(1_700_000_099u64).to_be_bytes());
        raw.extend_from_slice(&n.signatures[1].signature[8..]);
        let forged = format!("{plain}\u{2014} w1.example {}\n", STANDARD.encode(raw));
        assert!(require(&forged, &both, 1).is_err());
    }
}
