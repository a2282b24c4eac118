//! Key material at rest: the master key, sealing, and the platform keys.
//!
//! The master key comes from `EVIDENT_MASTER_KEY` (32 bytes, hex or base64)
//! or, when that is unset, from `<data dir>/master.key`, generated on first
//! start with mode 0600. Every private key is stored sealed under it with
//! ChaCha20-Poly1305 (random 96-bit nonce, the key's purpose as associated
//! data), so a copied database without the master key yields no keys.

use std::{io::Write, path::Path};

use crate::store::Db as Store;
use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Nonce,
};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use zeroize::Zeroizing;

const SEAL_VERSION: u8 = 1;

/// The master key that seals every private key.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Where the master key came from, for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// The `EVIDENT_MASTER_KEY` environment variable.
    Environment,
    /// An existing key file.
    File(std::path::PathBuf),
    /// A key file generated now.
    Generated(std::path::PathBuf),
}

fn decode_key(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    let raw = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(s)?
    } else {
        STANDARD
            .decode(s)
            .context("master key is neither 64 hex digits nor base64")?
    };
    raw.as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("master key must be 32 bytes, got {}", raw.len()))
}

impl MasterKey {
    /// Loads the master key from `env_value`, else from `dir/master.key`.
    /// Only when `fresh` (a data directory with no database yet) is a missing
    /// file generated (mode 0600): a missing key for existing data is an
    /// error, never a silently new key.
    pub fn load(
        env_value: Option<&str>,
        dir: &Path,
        fresh: bool,
    ) -> anyhow::Result<(Self, MasterKeySource)> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            let k = decode_key(v).context("EVIDENT_MASTER_KEY")?;
            return Ok((Self(Zeroizing::new(k)), MasterKeySource::Environment));
        }
        let path = dir.join("master.key");
        if path.exists() {
            let text = Zeroizing::new(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
            let k = decode_key(&text).with_context(|| format!("in {}", path.display()))?;
            return Ok((Self(Zeroizing::new(k)), MasterKeySource::File(path)));
        }
        if !fresh {
            bail!(
                "no master key for the existing data in {}: set EVIDENT_MASTER_KEY or restore {}",
                dir.display(),
                path.display()
            );
        }
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut k[..]);
        std::fs::create_dir_all(dir)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(hex::encode(&k[..]).as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        Ok((Self(k), MasterKeySource::Generated(path)))
    }

    /// A master key from raw bytes (tests and benches).
    pub fn from_bytes(k: [u8; 32]) -> Self {
        Self(Zeroizing::new(k))
    }

    /// A keyed pseudonym of `parts` for `purpose`: HMAC-SHA256 over the
    /// purpose and each part (length-prefixed), under a key derived from
    /// the master key by HKDF-SHA256 for pseudonyms only. The same parts
    /// give the same pseudonym; without the master key it reveals nothing
    /// of them, even of a small space such as addresses.
    pub fn pseudonym(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::Mac as _;
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, &self.0[..])
            .expand(b"evident pseudonyms v1", &mut key[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&key[..])
            .expect("HMAC takes a key of any length");
        for p in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Seals `secret` for `purpose`.
    pub fn seal(&self, purpose: &str, secret: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.0[..]));
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = vec![SEAL_VERSION];
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a sealed blob for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < 13 || sealed[0] != SEAL_VERSION {
            bail!("sealed {purpose} has an unknown format");
        }
        let cipher = ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.0[..]));
        cipher
            .decrypt(
                Nonce::from_slice(&sealed[1..13]),
                Payload {
                    msg: &sealed[13..],
                    aad: purpose.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                anyhow::anyhow!(
                    "the master key does not open the stored {purpose}: \
                     is EVIDENT_MASTER_KEY (or data/master.key) the one used when the data directory was created?"
                )
            })
    }
}

/// The platform's own keys.
#[derive(Debug)]
pub struct PlatformKeys {
    /// Signs every tenant log's checkpoints (C2SP signed-note, Ed25519).
    pub log_key: SigningKey,
    /// Countersigns evidence bundles.
    pub countersign_key: SigningKey,
}

/// Loads the sealed Ed25519 key `name`, generating and storing it on first
/// use if `generate`.
fn ed25519(
    store: &Store,
    master: &MasterKey,
    name: &str,
    generate: bool,
) -> anyhow::Result<(SigningKey, bool)> {
    if let Some(sealed) = store.platform_key(name)? {
        let raw = master.open(name, &sealed)?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("stored {name} is not 32 bytes"))?;
        return Ok((SigningKey::from_bytes(&bytes), false));
    }
    if !generate {
        bail!("the store holds no {name}; is this an Evident data directory?");
    }
    let sk = SigningKey::generate(&mut rand::rngs::OsRng);
    let sealed = master.seal(name, sk.as_bytes());
    store.put_platform_key(name, &sealed)?;
    Ok((sk, true))
}

impl PlatformKeys {
    /// Loads the platform keys, generating them on first start. Returns
    /// whether they were generated now.
    pub fn load_or_generate(store: &Store, master: &MasterKey) -> anyhow::Result<(Self, bool)> {
        Self::load_with(store, master, true)
    }

    /// Loads the platform keys; fails if they do not exist.
    pub fn load(store: &Store, master: &MasterKey) -> anyhow::Result<Self> {
        Ok(Self::load_with(store, master, false)?.0)
    }

    fn load_with(
        store: &Store,
        master: &MasterKey,
        generate: bool,
    ) -> anyhow::Result<(Self, bool)> {
        let (log_key, new1) = ed25519(store, master, "log-key", generate)?;
        let (countersign_key, new2) = ed25519(store, master, "countersign-key", generate)?;
        Ok((
            Self {
                log_key,
                countersign_key,
            },
            new1 || new2,
        ))
    }
}

/// A client address as pseudonyms hash it: an IPv4 address as its
/// IPv6-mapped form, an IPv6 address as its /64 (one host may use many
/// addresses of its subnet).
pub fn client_bytes(addr: std::net::IpAddr) -> [u8; 16] {
    match addr {
        std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut o = a.octets();
                o[8..].fill(0);
                o
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudonyms are stable for the same key and parts, and differ with
    /// the key, the purpose, or any part (including where parts split).
    #[test]
    fn pseudonyms_are_keyed_and_separate_their_parts() {
        let k = MasterKey::from_bytes([1; 32]);
        let p = k.pseudonym("p", &[b"ab", b"c"]);
        assert_eq!(p, k.pseudonym("p", &[b"ab", b"c"]));
        for other in [
            MasterKey::from_bytes([2; 32]).pseudonym("p", &[b"ab", b"c"]),
            k.pseudonym("q", &[b"ab", b"c"]),
            k.pseudonym("p", &[b"a", b"bc"]),
            k.pseudonym("p", &[b"ab", b"d"]),
        ] {
            assert_ne!(p, other);
        }
    }

    #[test]
    fn seal_round_trip_and_purpose_binding() {
        let m = MasterKey::from_bytes([9; 32]);
        let s = m.seal("a", b"secret");
        assert_eq!(m.open("a", &s).unwrap().as_slice(), b"secret");
        assert!(m.open("b", &s).is_err());
        let other = MasterKey::from_bytes([8; 32]);
        let err = other.open("a", &s).unwrap_err().to_string();
        assert!(err.contains("master key"), "{err}");
    }

    #[test]
    fn generated_key_file_is_private_and_reloads() {
        let d = tempfile::tempdir().unwrap();
        assert!(
            MasterKey::load(None, d.path(), false).is_err(),
            "existing data never gets a new key"
        );
        let (k1, src) = MasterKey::load(None, d.path(), true).unwrap();
        assert!(matches!(src, MasterKeySource::Generated(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (k2, src) = MasterKey::load(None, d.path(), false).unwrap();
        assert!(matches!(src, MasterKeySource::File(_)));
        assert_eq!(k2.open("x", &k1.seal("x", b"1")).unwrap().as_slice(), b"1");
        assert!(MasterKey::load(Some("zz"), d.path(), true).is_err());
    }
}
