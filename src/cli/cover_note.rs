//! `evident cover-note sign`: an officer signs a regulator cover note with
//! a key of their own, on their own machine. The signature is what OpenSSL
//! makes (`openssl dgst -sha256 -sign` for ECDSA P-256, DER;
//! `openssl pkeyutl -sign -rawin` for Ed25519, 64 bytes), and is checked
//! with the public half before it is written.

use std::path::PathBuf;

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use clap::Args;
use evident_verify::officer::OfficerKey;

/// `evident cover-note sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The officer's private key: PEM PKCS#8 (`openssl genpkey`), ECDSA
    /// P-256 or Ed25519, or SEC1 (`-----BEGIN EC PRIVATE KEY-----`).
    #[arg(long)]
    pub key: PathBuf,
    /// Also write the raw signature here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The cover note, exactly as `GET …/cover-note` gave it.
    pub cover_note: PathBuf,
}

/// Signs `message` with the PEM private key `pem`; returns the signature
/// and the public key (PEM).
pub fn sign(pem: &str, message: &[u8]) -> anyhow::Result<(Vec<u8>, String)> {
    use ed25519_dalek::pkcs8::{
        spki::der::pem::LineEnding, DecodePrivateKey as _, EncodePublicKey as _,
    };
    if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
        use ed25519_dalek::Signer as _;
        let public = k.verifying_key().to_public_key_pem(LineEnding::LF)?;
        return Ok((k.sign(message).to_bytes().to_vec(), public));
    }
    let secret = p256::SecretKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
        .context("the key is neither an Ed25519 nor an ECDSA P-256 private key in PEM")?;
    let k = p256::ecdsa::SigningKey::from(secret);
    let sig: p256::ecdsa::DerSignature = p256::ecdsa::signature::Signer::sign(&k, message);
    let public =
        p256::pkcs8::EncodePublicKey::to_public_key_pem(k.verifying_key(), LineEnding::LF)?;
    Ok((sig.as_bytes().to_vec(), public))
}

/// Runs `evident cover-note sign`: prints `{"signature": "<base64>"}`, the
/// body of `POST …/regulator-requests/{id}/signature`.
pub fn run(a: &SignArgs) -> anyhow::Result<()> {
    let pem =
        std::fs::read_to_string(&a.key).with_context(|| format!("reading {}", a.key.display()))?;
    let note = std::fs::read(&a.cover_note)
        .with_context(|| format!("reading {}", a.cover_note.display()))?;
    let Ok(n) = serde_json::from_slice::<evident_verify::regulator::CoverNote>(&note) else {
        bail!(
            "{} is not a cover note (evident-cover-note/v1)",
            a.cover_note.display()
        );
    };
    // What is signed, in words, before it is signed.
    eprintln!(
        "cover note for {} ({}), notice {} of {}: {} {} revision {}, {} files, {} log entries, checkpoint size {}\nstatement: {}",
        n.tenant,
        n.request.id,
        n.request.notice_reference,
        n.request.authority.name,
        n.release.product,
        n.release.tag,
        n.release.revision,
        n.files.len(),
        n.log_entries.len(),
        n.checkpoint.size,
        n.statement
    );
    let (sig, public) = sign(&pem, &note)?;
    let key = OfficerKey::from_pem(&public).map_err(anyhow::Error::msg)?;
    key.verify(&note, &sig).map_err(anyhow::Error::msg)?;
    if let Some(out) = &a.out {
        std::fs::write(out, &sig).with_context(|| format!("writing {}", out.display()))?;
    }
    eprintln!(
        "signed {} (SHA-256 {}) with the {} key {}",
        a.cover_note.display(),
        evident_verify::regulator::sha256_hex(&note),
        key.algorithm(),
        &key.sha256()[..16]
    );
    println!(
        "{}",
        serde_json::json!({ "signature": STANDARD.encode(&sig) })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both kinds of key sign what the officer-key verifier accepts; a
    /// key of another kind is refused.
    #[test]
    fn officers_sign_what_the_verifier_checks() {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey as _};
        let ed = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32])
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        let ec = p256::SecretKey::from_slice(&[4u8; 32])
            .unwrap()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        let sec1 = p256::SecretKey::from_slice(&[5u8; 32])
            .unwrap()
            .to_sec1_pem(LineEnding::LF)
            .unwrap();
        for pem in [ed.as_str(), ec.as_str(), sec1.as_str()] {
            let (sig, public) = sign(pem, b"{}").unwrap();
            let k = OfficerKey::from_pem(&public).unwrap();
            k.verify(b"{}", &sig).unwrap();
            assert!(k.verify(b"{ }", &sig).is_err());
        }
        let other =
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VxBCIEIA==\n-----END PRIVATE KEY-----\n";
        assert!(sign(other, b"{}").is_err());
    }
}
