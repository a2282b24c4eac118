//! Where the server's own RFC 3161 tokens come from, and what happens when
//! they cannot be had.
//!
//! By default the built-in TSA (`service::tsa`) stamps export signatures and
//! checkpoints. With `--tsa-url` (`EVIDENT_TSA_URL`) and `--tsa-ca-file`
//! the tokens come from that external TSA instead, and the built-in one is
//! switched off (`POST /tsa` answers 404), so one TSA vouches for
//! everything a server hands out and `GET /tsa/certs` serves the chain to
//! check it with.
//!
//! Nothing an external TSA returns is used before it is validated:
//! - the CMS signature, the message imprint, the ESS signing-certificate
//!   binding, the critical `timeStamping` EKU and a certificate path to the
//!   configured CA bundle are checked by `evident_verify::tsp` (RustCrypto
//!   `cms`, `x509-cert`, `x509-tsp`), the same code a customer's
//!   `evident-verify` runs;
//! - the nonce must echo ours, the time must be within [`MAX_SKEW`] of our
//!   clock, and the signer certificate's profile (EKU, key usage, validity
//!   now) is checked a second time with `x509-parser`, which also vets the
//!   CA bundle at start-up.
//!
//! Two callers, two policies. [`Timestamps::stamp`] answers
//! [`StampError::Unavailable`] when the external TSA is down or its reply
//! fails validation; exports carry on without the token and say so. Evidence
//! that must not exist without a timestamp (checkpoint tokens on request;
//! regulator bundles) turns that error into a 503 ([`StampError`] into
//! `Error::TsaUnavailable`), that is, it fails closed.

use std::{io::Read, time::Duration};

use anyhow::Context;
use der::{
    asn1::{Int, OctetString},
    oid::db::rfc5912::ID_SHA_256,
    Encode,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::{core::Error, service::tsa::Tsa, store::keys};

/// The largest gap allowed between the external TSA's time and ours.
pub const MAX_SKEW: Duration = Duration::from_secs(300);
/// The largest reply read from an external TSA.
const MAX_REPLY_BYTES: u64 = 256 * 1024;

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// The external TSA did not answer, refused, or answered with a reply
    /// that failed validation; the text says which.
    #[error("the external TSA gave no usable token: {0}")]
    Unavailable(String),
    /// The built-in TSA failed (a bug or a damaged key).
    #[error("the built-in TSA failed: {0}")]
    Internal(String),
}

impl From<StampError> for Error {
    fn from(e: StampError) -> Self {
        match e {
            StampError::Unavailable(m) => Error::TsaUnavailable(m),
            StampError::Internal(m) => Error::Internal(m),
        }
    }
}

/// An external RFC 3161 TSA and the CA bundle its replies must chain to.
#[derive(Debug)]
pub struct ExternalTsa {
    url: String,
    anchors: Vec<x509_cert::Certificate>,
    anchors_pem: String,
    agent: ureq::Agent,
}

impl ExternalTsa {
    /// Reads and vets the CA bundle (every certificate must parse, be valid
    /// now, and be a CA or carry the `timeStamping` EKU).
    pub fn new(url: &str, ca_pem: &[u8], timeout: Duration) -> anyhow::Result<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("the TSA URL {url:?} must be http:// or https://");
        }
        let mut n = 0;
        for pem in x509_parser::pem::Pem::iter_from_buffer(ca_pem) {
            let pem = pem.context("reading the TSA CA bundle")?;
            let cert = pem
                .parse_x509()
                .map_err(|e| anyhow::anyhow!("a certificate in the TSA CA bundle: {e}"))?;
            if !cert.validity().is_valid() {
                anyhow::bail!(
                    "the TSA CA bundle certificate {} is not valid now",
                    cert.subject()
                );
            }
            let tsa_eku = matches!(cert.extended_key_usage(), Ok(Some(e)) if e.value.time_stamping);
            if !cert.is_ca() && !tsa_eku {
                anyhow::bail!(
                    "the TSA CA bundle certificate {} is neither a CA nor a TSA certificate",
                    cert.subject()
                );
            }
            n += 1;
        }
        if n == 0 {
            anyhow::bail!("the TSA CA bundle holds no certificate");
        }
        let anchors = evident_verify::tsp::certs_from_pem(ca_pem)
            .map_err(|e| anyhow::anyhow!("the TSA CA bundle: {e}"))?;
        Ok(Self {
            url: url.to_owned(),
            anchors,
            anchors_pem: String::from_utf8_lossy(ca_pem).into_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout)
                .timeout(timeout)
                .redirects(0)
                .build(),
        })
    }

    /// A validated `TimeStampResp` (DER) over SHA-256 of `data`. Blocking.
    pub fn stamp(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        nonce[0] = (nonce[0] & 0x7f) | 0x01; // positive, minimal DER
        let req = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: spki::AlgorithmIdentifierOwned {
                    oid: ID_SHA_256,
                    parameters: None,
                },
                hashed_message: OctetString::new(Sha256::digest(data).to_vec())
                    .map_err(|e| e.to_string())?,
            },
            req_policy: None,
            nonce: Some(Int::new(&nonce).map_err(|e| e.to_string())?),
            cert_req: true,
            extensions: None,
        }
        .to_der()
        .map_err(|e| format!("encoding the request: {e}"))?;
        let resp = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/timestamp-query")
            .send_bytes(&req)
            .map_err(|e| format!("{} did not answer: {e}", self.url))?;
        if resp.content_type() != "application/timestamp-reply" {
            return Err(format!(
                "{} answered {}, not application/timestamp-reply",
                self.url,
                resp.content_type()
            ));
        }
        let mut reply = Vec::new();
        resp.into_reader()
            .take(MAX_REPLY_BYTES + 1)
            .read_to_end(&mut reply)
            .map_err(|e| format!("reading the reply: {e}"))?;
        if reply.len() as u64 > MAX_REPLY_BYTES {
            return Err(format!("the reply is larger than {MAX_REPLY_BYTES} bytes"));
        }
        self.validate(&reply, data, &nonce)?;
        Ok(reply)
    }

    /// Every check the module comment lists.
    fn validate(&self, reply: &[u8], data: &[u8], nonce: &[u8]) -> Result<(), String> {
        let stamp = evident_verify::tsp::verify_token(reply, data, &self.anchors)?;
        if stamp.nonce.as_deref() != Some(nonce) {
            return Err("the reply does not echo the request's nonce".into());
        }
        let now = crate::core::clock::now_unix();
        if stamp.gen_time_unix.abs_diff(now.max(0) as u64) > MAX_SKEW.as_secs() {
            return Err(format!(
                "the token's time is {} s away from ours (at most {} s allowed)",
                stamp.gen_time_unix as i64 - now,
                MAX_SKEW.as_secs()
            ));
        }
        let (_, cert) = x509_parser::parse_x509_certificate(&stamp.signer_der)
            .map_err(|e| format!("the TSA certificate: {e}"))?;
        match cert.extended_key_usage() {
            Ok(Some(e))
                if e.critical
                    && e.value.time_stamping
                    && !e.value.any
                    && e.value.other.is_empty() => {}
            _ => {
                return Err(
                    "the TSA certificate's extended key usage is not timeStamping alone, critical"
                        .into(),
                )
            }
        }
        if let Ok(Some(ku)) = cert.key_usage() {
            if !(ku.value.digital_signature() || ku.value.non_repudiation()) {
                return Err("the TSA certificate's key usage does not allow signing".into());
            }
        }
        if !cert.validity().is_valid() {
            return Err(format!(
                "the TSA certificate {} is not valid now",
                cert.subject()
            ));
        }
        Ok(())
    }
}

/// The source of the server's own tokens.
#[derive(Debug)]
pub struct Timestamps {
    builtin: Tsa,
    external: Option<ExternalTsa>,
}

impl Timestamps {
    /// The built-in TSA, or the external one when given.
    pub fn new(builtin: Tsa, external: Option<ExternalTsa>) -> Self {
        Self { builtin, external }
    }

    /// Replaces the built-in TSA with an external one.
    pub fn set_external(&mut self, external: ExternalTsa) {
        self.external = Some(external);
    }

    /// The built-in TSA, unless an external one replaces it.
    pub fn builtin(&self) -> Option<&Tsa> {
        self.external.is_none().then_some(&self.builtin)
    }

    /// The storage key under which a token for `what` is kept: `what`
    /// itself for the built-in TSA, and a key that also names the external
    /// TSA and its CA bundle otherwise, so a token is only ever served with
    /// the chain that verifies it.
    pub fn cache_key(&self, what: &str) -> String {
        match &self.external {
            None => what.to_owned(),
            Some(e) => {
                let mut h = Sha256::new();
                h.update(e.url.as_bytes());
                h.update([0]);
                h.update(e.anchors_pem.as_bytes());
                keys::external_tsa(&hex::encode(&h.finalize()[..8]), what)
            }
        }
    }

    /// Which TSA stamps, for humans (`built-in` or the URL).
    pub fn source(&self) -> &str {
        self.external.as_ref().map_or("built-in", |e| &e.url)
    }

    /// The PEM certificates that verify this server's tokens: the built-in
    /// TSA certificate and its root, or the external TSA's CA bundle.
    pub fn chain_pem(&self) -> String {
        match &self.external {
            None => self.builtin.chain_pem(),
            Some(e) => e.anchors_pem.clone(),
        }
    }

    /// The PEM chain that goes into a kit next to `token`: the TSA
    /// certificate first, then the CA certificates. For the built-in TSA
    /// that is [`Self::chain_pem`]; for an external one the token's signer
    /// certificate is put before the CA bundle, because verifiers that take
    /// a TSA as a certificate chain (Sigstore's trusted root) start from
    /// the TSA's own certificate.
    pub fn kit_chain_pem(&self, token: Option<&[u8]>, data: &[u8]) -> String {
        let Some(e) = &self.external else {
            return self.builtin.chain_pem();
        };
        let leaf = token
            .and_then(|t| evident_verify::tsp::verify_token(t, data, &e.anchors).ok())
            .map(|s| s.signer_der)
            .filter(|der| {
                !e.anchors
                    .iter()
                    .any(|a| a.to_der().is_ok_and(|a| &a == der))
            });
        match leaf {
            Some(der) => format!(
                "{}{}",
                pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &der)
                    .unwrap_or_default(),
                e.anchors_pem
            ),
            None => e.anchors_pem.clone(),
        }
    }

    /// A granted `TimeStampResp` (DER) over SHA-256 of `data`. Blocking
    /// when the TSA is external: call from `spawn_blocking`.
    pub fn stamp(&self, data: &[u8]) -> Result<Vec<u8>, StampError> {
        match &self.external {
            None => self
                .builtin
                .stamp_reply(data)
                .map_err(|e| StampError::Internal(format!("{e:#}"))),
            Some(e) => e.stamp(data).map_err(|m| {
                tracing::warn!(tsa = %e.url, error = %m, "external TSA gave no usable token");
                StampError::Unavailable(m)
            }),
        }
    }
}
