//! Officers' keys: a tenant officer signs the cover note of a regulator
//! bundle with a key of its own, registered with the tenant by its public
//! half only (PEM SubjectPublicKeyInfo, ECDSA P-256 or Ed25519). Parsed
//! here, where every evidence format lives, so the server that registers
//! a key and the verifier that checks a bundle read it with one code.

use p256::pkcs8::DecodePublicKey as _;
use sha2::{Digest, Sha256};

/// An officer's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfficerKey {
    /// ECDSA P-256 (signatures: DER, over SHA-256 of the message, as
    /// `openssl dgst -sha256 -sign` makes them).
    P256(p256::ecdsa::VerifyingKey),
    /// Ed25519 (signatures: 64 bytes over the message, as
    /// `openssl pkeyutl -sign -rawin` makes them).
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// The most bytes a PEM public key may have (an Ed25519 or P-256 SPKI PEM
/// is under 200).
pub const MAX_PEM: usize = 4096;

impl OfficerKey {
    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo); any other
    /// algorithm, or anything that is not one PEM public key, is refused
    /// with the reason.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.len() > MAX_PEM {
            return Err(format!("a public key PEM has at most {MAX_PEM} bytes"));
        }
        let pem = pem.trim();
        if !pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            return Err("not a PEM public key (-----BEGIN PUBLIC KEY-----)".into());
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self::P256(k));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            if k.is_weak() {
                return Err(
                    "the Ed25519 public key is of small order (no one holds its private half)"
                        .into(),
                );
            }
            return Ok(Self::Ed25519(k));
        }
        Err("the public key is neither ECDSA P-256 nor Ed25519".into())
    }

    /// `ecdsa-p256` or `ed25519`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::P256(_) => "ecdsa-p256",
            Self::Ed25519(_) => "ed25519",
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        use p256::pkcs8::EncodePublicKey as _;
        let der = match self {
            Self::P256(k) => k.to_public_key_der(),
            Self::Ed25519(k) => k.to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec())
            .expect("a parsed key encodes")
    }

    /// The PEM SubjectPublicKeyInfo, normalised.
    pub fn to_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey as _, LineEnding};
        match self {
            Self::P256(k) => k.to_public_key_pem(LineEnding::LF),
            Self::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
        }
        .expect("a parsed key encodes")
    }

    /// SHA-256 (hex) of the DER SubjectPublicKeyInfo: what the log names.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.spki_der()))
    }

    /// Checks `sig` over `message`: a DER ECDSA signature over SHA-256 of
    /// the message, or a 64-byte Ed25519 signature.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), String> {
        match self {
            Self::P256(k) => {
                use p256::ecdsa::signature::Verifier as _;
                let s = p256::ecdsa::DerSignature::from_bytes(sig)
                    .map_err(|e| format!("not a DER ECDSA signature: {e}"))?;
                k.verify(message, &s)
                    .map_err(|_| "the ECDSA P-256 signature does not verify".into())
            }
            Self::Ed25519(k) => {
                let s = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|_| "an Ed25519 signature is 64 bytes".to_owned())?;
                k.verify_strict(message, &s)
                    .map_err(|_| "the Ed25519 signature does not verify".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};

    fn pem_rfc7468_encode(der: &[u8]) -> String {
        use base64::Engine as _;
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    #[test]
    fn p256_and_ed25519_keys_parse_sign_and_verify_and_others_are_refused() {
        use p256::ecdsa::signature::Signer as _;
        let p = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = p.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let k = OfficerKey::from_pem(&format!("\n{pem}\n")).unwrap();
        assert_eq!(k.algorithm(), "ecdsa-p256");
        assert_eq!(k.to_pem(), pem);
        assert_eq!(k.sha256().len(), 64);
        let sig: p256::ecdsa::DerSignature = p.sign(b"cover note");
        k.verify(b"cover note", sig.as_bytes()).unwrap();
        assert!(k.verify(b"cover notE", sig.as_bytes()).is_err());

        let e = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        let pem = e.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let k = OfficerKey::from_pem(&pem).unwrap();
        assert_eq!(k.algorithm(), "ed25519");
        let sig = ed25519_dalek::Signer::sign(&e, b"cover note");
        k.verify(b"cover note", &sig.to_bytes()).unwrap();
        let err = k.verify(b"cover note", &[0u8; 63]).unwrap_err();
        assert!(err.contains("64 bytes"), "{err}");

        // A small-order Ed25519 key (the identity point).
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 1,
        ];
        spki.extend_from_slice(&[0u8; 31]);
        let weak = pem_rfc7468_encode(&spki);
        assert!(OfficerKey::from_pem(&weak)
            .unwrap_err()
            .contains("small order"));

        // A P-384 key, a private key, garbage and an oversized PEM.
        let p384 = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE\n-----END PUBLIC KEY-----\n";
        assert!(OfficerKey::from_pem(p384).unwrap_err().contains("neither"));
        assert!(OfficerKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----"
        )
        .unwrap_err()
        .contains("not a PEM public key"));
        assert!(OfficerKey::from_pem("hello").is_err());
        assert!(OfficerKey::from_pem(&"A".repeat(MAX_PEM + 1))
            .unwrap_err()
            .contains("at most"));
    }

    /// Keys made and signatures made by OpenSSL, as an officer would make
    /// them outside the platform: a P-256 key signed with `openssl dgst
    /// -sha256 -sign`, an Ed25519 key with `openssl pkeyutl -sign -rawin`.
    #[test]
    fn openssl_keys_and_signatures_verify() {
        let d = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let o = std::process::Command::new("openssl")
                .args(args)
                .current_dir(d.path())
                .output()
                .expect("openssl is installed (.ci/setup)");
            assert!(
                o.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        std::fs::write(d.path().join("note.json"), b"{\"cover\":\"note\"}").unwrap();
        run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "p.pem",
        ]);
        run(&["genpkey", "-algorithm", "ed25519", "-out", "e.pem"]);
        for k in ["p", "e"] {
            run(&[
                "pkey",
                "-in",
                &format!("{k}.pem"),
                "-pubout",
                "-out",
                &format!("{k}.pub"),
            ]);
        }
        run(&[
            "dgst",
            "-sha256",
            "-sign",
            "p.pem",
            "-out",
            "p.sig",
            "note.json",
        ]);
        run(&[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            "e.pem",
            "-in",
            "note.json",
            "-out",
            "e.sig",
        ]);
        let read = |f: &str| std::fs::read(d.path().join(f)).unwrap();
        let note = read("note.json");
        for (k, alg) in [("p", "ecdsa-p256"), ("e", "ed25519")] {
            let key = OfficerKey::from_pem(&String::from_utf8(read(&format!("{k}.pub"))).unwrap())
                .unwrap();
            assert_eq!(key.algorithm(), alg);
            let sig = read(&format!("{k}.sig"));
            key.verify(&note, &sig).unwrap();
            let mut other = note.clone();
            other[2] ^= 1;
            assert!(key.verify(&other, &sig).is_err(), "{alg}: a changed byte");
        }
    }
}
