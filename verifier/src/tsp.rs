//! RFC 3161 time-stamp tokens, checked offline.
//!
//! [`verify_token`] takes a token (CMS `ContentInfo`) or a whole
//! `TimeStampResp`, the data that was stamped, and the certificates the
//! caller trusts, and checks what `openssl ts -verify` checks: the message
//! imprint, the CMS signature over the signed attributes, the
//! `messageDigest` and `contentType` attributes, the ESS
//! `signingCertificateV2` binding of the signer certificate (RFC 5816), the
//! signer's critical `timeStamping` extended key usage and validity at the
//! stamped time (RFC 3161 §2.3), and a certificate path to a trusted
//! certificate. ECDSA over P-256 and P-384 (the built-in TSA) and RSA
//! PKCS #1 v1.5 with SHA-2 (what most public TSAs use) are supported. The DER types come from RustCrypto (`cms`, `x509-cert`,
//! `x509-tsp`, `der`); this module only decides what to check.

use cms::{
    cert::CertificateChoices,
    content_info::ContentInfo,
    signed_data::{SignedData, SignerIdentifier},
};
use der::{
    asn1::{OctetString, SetOfVec},
    oid::{
        db::{
            rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA},
            rfc5912::{
                ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY,
                ID_KP_TIME_STAMPING, ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION,
                SECP_256_R_1, SECP_384_R_1, SHA_256_WITH_RSA_ENCRYPTION,
                SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
            },
        },
        ObjectIdentifier,
    },
    Any, Decode, Encode, Sequence,
};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{
    attr::Attribute,
    ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier},
    Certificate,
};
use x509_tsp::{TimeStampResp, TstInfo};

/// `id-ct-TSTInfo` (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-signingCertificateV2` (RFC 5035).
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Absent means SHA-256 (the DEFAULT, which DER omits).
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Issuer and serial (not checked; the hash already names the certificate).
    #[asn1(optional = "true")]
    pub issuer_serial: Option<Any>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The first one names the signer certificate.
    pub certs: Vec<EssCertIdV2>,
    /// Policies (ignored).
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The time the TSA asserts, seconds since the Unix epoch.
    pub gen_time_unix: u64,
    /// The serial number, hex.
    pub serial_hex: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The hash algorithm of the imprint (`SHA-256`, …).
    pub hash: &'static str,
    /// The signer certificate's subject.
    pub tsa_subject: String,
    /// The signer certificate, DER (for callers that check its profile further).
    pub signer_der: Vec<u8>,
    /// The nonce the TSA echoed, as the big-endian bytes of the INTEGER.
    pub nonce: Option<Vec<u8>>,
}

type R<T> = Result<T, String>;

/// Reads PEM certificates (any number, in order) from text.
pub fn certs_from_pem(pem: &[u8]) -> R<Vec<Certificate>> {
    let certs = Certificate::load_pem_chain(pem).map_err(|e| format!("certificate PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM input".into());
    }
    Ok(certs)
}

/// The token inside a `TimeStampResp` (which must be granted), or the
/// bytes themselves when they are already a token.
pub fn token_of(bytes: &[u8]) -> R<ContentInfo> {
    if let Ok(ci) = ContentInfo::from_der(bytes) {
        return Ok(ci);
    }
    let resp = TimeStampResp::from_der(bytes)
        .map_err(|e| format!("neither a time-stamp token nor a TimeStampResp: {e}"))?;
    let status = resp.status.status as u8;
    if status > 1 {
        return Err(format!(
            "the TSA refused the request (PKIStatus {status}{})",
            resp.status
                .fail_info
                .map(|f| format!(", failInfo {f:?}"))
                .unwrap_or_default()
        ));
    }
    resp.time_stamp_token
        .ok_or_else(|| "the TimeStampResp is granted but carries no token".to_owned())
}

fn digest(alg: &ObjectIdentifier, data: &[u8]) -> R<(Vec<u8>, &'static str)> {
    Ok(match *alg {
        ID_SHA_256 => (Sha256::digest(data).to_vec(), "SHA-256"),
        ID_SHA_384 => (Sha384::digest(data).to_vec(), "SHA-384"),
        ID_SHA_512 => (Sha512::digest(data).to_vec(), "SHA-512"),
        other => return Err(format!("unsupported hash algorithm {other}")),
    })
}

/// Verifies a signature by `spki` over `msg`: ECDSA (`ecdsa-with-SHA*`, or
/// bare `id-ecPublicKey` with `digest_alg`) by a P-256 or P-384 key, or RSA
/// PKCS #1 v1.5 (`sha*WithRSAEncryption`, or bare `rsaEncryption` with
/// `digest_alg`).
fn verify_sig(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: &ObjectIdentifier,
    digest_alg: Option<&ObjectIdentifier>,
    msg: &[u8],
    sig: &[u8],
) -> R<()> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let bare_digest = || {
        digest_alg
            .copied()
            .ok_or("no digest algorithm for a bare key algorithm")
    };
    let (hash_oid, rsa) = match *sig_alg {
        ECDSA_WITH_SHA_256 => (ID_SHA_256, false),
        ECDSA_WITH_SHA_384 => (ID_SHA_384, false),
        ECDSA_WITH_SHA_512 => (ID_SHA_512, false),
        ID_EC_PUBLIC_KEY => (bare_digest()?, false),
        SHA_256_WITH_RSA_ENCRYPTION => (ID_SHA_256, true),
        SHA_384_WITH_RSA_ENCRYPTION => (ID_SHA_384, true),
        SHA_512_WITH_RSA_ENCRYPTION => (ID_SHA_512, true),
        RSA_ENCRYPTION => (bare_digest()?, true),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    let (prehash, _) = digest(&hash_oid, msg)?;
    let key = spki.subject_public_key.raw_bytes();
    if rsa {
        return verify_rsa(spki, &hash_oid, &prehash, sig);
    }
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(format!(
            "an ECDSA signature by a {} key",
            spki.algorithm.oid
        ));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match curve {
        Some(SECP_256_R_1) => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| format!("P-256 key: {e}"))?;
            let s = p256::ecdsa::Signature::from_der(sig)
                .map_err(|e| format!("ECDSA signature encoding: {e}"))?;
            vk.verify_prehash(&prehash, &s)
                .map_err(|_| "the ECDSA signature does not verify".to_owned())
        }
        Some(SECP_384_R_1) => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| format!("P-384 key: {e}"))?;
            let s = p384::ecdsa::Signature::from_der(sig)
                .map_err(|e| format!("ECDSA signature encoding: {e}"))?;
            vk.verify_prehash(&prehash, &s)
                .map_err(|_| "the ECDSA signature does not verify".to_owned())
        }
        other => Err(format!("unsupported elliptic curve {other:?}")),
    }
}

/// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) over a SHA-2 prehash.
fn verify_rsa(
    spki: &SubjectPublicKeyInfoOwned,
    hash_oid: &ObjectIdentifier,
    prehash: &[u8],
    sig: &[u8],
) -> R<()> {
    use rsa::{pkcs1::DecodeRsaPublicKey, Pkcs1v15Sign, RsaPublicKey};
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(format!("an RSA signature by a {} key", spki.algorithm.oid));
    }
    let key = RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes())
        .map_err(|e| format!("RSA key: {e}"))?;
    let scheme = match *hash_oid {
        ID_SHA_256 => Pkcs1v15Sign::new::<Sha256>(),
        ID_SHA_384 => Pkcs1v15Sign::new::<Sha384>(),
        _ => Pkcs1v15Sign::new::<Sha512>(),
    };
    key.verify(scheme, prehash, sig)
        .map_err(|_| "the RSA signature does not verify".to_owned())
}

/// Whether `issuer` signed `cert`.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
        && cert.tbs_certificate.to_der().is_ok_and(|tbs| {
            verify_sig(
                &issuer.tbs_certificate.subject_public_key_info,
                &cert.signature_algorithm.oid,
                None,
                &tbs,
                cert.signature.raw_bytes(),
            )
            .is_ok()
        })
}

fn attr(attrs: &SetOfVec<Attribute>, oid: ObjectIdentifier) -> R<&Any> {
    let a = attrs
        .iter()
        .find(|a| a.oid == oid)
        .ok_or_else(|| format!("signed attribute {oid} is missing"))?;
    match a.values.as_slice() {
        [v] => Ok(v),
        _ => Err(format!(
            "signed attribute {oid} must have exactly one value"
        )),
    }
}

fn unix(t: &x509_cert::time::Time) -> u64 {
    t.to_unix_duration().as_secs()
}

/// Checks `token` (a token or a `TimeStampResp`) over `data` against the
/// `trusted` certificates: see the module comment for the list.
pub fn verify_token(token: &[u8], data: &[u8], trusted: &[Certificate]) -> R<Stamp> {
    let ci = token_of(token)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "the token is {}, not CMS SignedData",
            ci.content_type
        ));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| format!("SignedData: {e}"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(format!(
            "the signed content is {}, not TSTInfo",
            sd.encap_content_info.econtent_type
        ));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token has no TSTInfo content")?
        .decode_as::<OctetString>()
        .map_err(|e| format!("TSTInfo wrapper: {e}"))?;
    let tst = TstInfo::from_der(econtent.as_bytes()).map_err(|e| format!("TSTInfo: {e}"))?;

    let (imprint, hash) = digest(&tst.message_imprint.hash_algorithm.oid, data)?;
    if imprint != tst.message_imprint.hashed_message.as_bytes() {
        return Err(format!(
            "message imprint mismatch: the token stamps {} {}, the data hashes to {}",
            hash,
            hex::encode(tst.message_imprint.hashed_message.as_bytes()),
            hex::encode(&imprint)
        ));
    }

    let signers: Vec<_> = sd.signer_infos.0.iter().collect();
    let [si] = signers.as_slice() else {
        return Err(format!(
            "a token has one signer, this one has {}",
            signers.len()
        ));
    };
    let mut pool: Vec<Certificate> = trusted.to_vec();
    if let Some(certs) = &sd.certificates {
        for c in certs.0.iter() {
            if let CertificateChoices::Certificate(c) = c {
                pool.push(c.clone());
            }
        }
    }
    let signer = pool
        .iter()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(is) => {
                c.tbs_certificate.issuer == is.issuer
                    && c.tbs_certificate.serial_number == is.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c
                .tbs_certificate
                .get::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, s)| s == *ski),
        })
        .cloned()
        .ok_or("the signer certificate is neither in the token nor in the given chain")?;
    // Every certificate the token carries must be one the caller trusts or
    // be signed by one in the pool: none is unsigned data a byte of which
    // could change unnoticed.
    if let Some(certs) = &sd.certificates {
        for c in certs.0.iter() {
            let CertificateChoices::Certificate(c) = c else {
                return Err("the token carries a certificate of another kind than X.509".into());
            };
            if !trusted.contains(c) && !pool.iter().any(|i| i != c && signed_by(c, i)) {
                return Err(format!(
                    "the token carries a certificate ({}) that no certificate in the chain signed",
                    c.tbs_certificate.subject
                ));
            }
        }
    }

    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let ct: ObjectIdentifier = attr(attrs, ID_CONTENT_TYPE)?
        .decode_as()
        .map_err(|e| format!("contentType attribute: {e}"))?;
    if ct != ID_CT_TST_INFO {
        return Err(format!("the contentType attribute is {ct}, not TSTInfo"));
    }
    let md: OctetString = attr(attrs, ID_MESSAGE_DIGEST)?
        .decode_as()
        .map_err(|e| format!("messageDigest attribute: {e}"))?;
    let (content_digest, _) = digest(&si.digest_alg.oid, econtent.as_bytes())?;
    if md.as_bytes() != content_digest {
        return Err("the messageDigest attribute does not match the TSTInfo".into());
    }
    let signed = attrs
        .to_der()
        .map_err(|e| format!("signed attributes: {e}"))?;
    verify_sig(
        &signer.tbs_certificate.subject_public_key_info,
        &si.signature_algorithm.oid,
        Some(&si.digest_alg.oid),
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|e| format!("token signature: {e}"))?;

    let ess: SigningCertificateV2 = attr(attrs, ID_AA_SIGNING_CERTIFICATE_V2)?
        .decode_as()
        .map_err(|e| format!("signingCertificateV2 attribute: {e}"))?;
    let first = ess
        .certs
        .first()
        .ok_or("signingCertificateV2 names no certificate")?;
    let ess_alg = first
        .hash_algorithm
        .as_ref()
        .map(|a| a.oid)
        .unwrap_or(ID_SHA_256);
    let signer_der = signer
        .to_der()
        .map_err(|e| format!("signer certificate: {e}"))?;
    if digest(&ess_alg, &signer_der)?.0 != first.cert_hash.as_bytes() {
        return Err("signingCertificateV2 names a different certificate than the signer".into());
    }

    let (critical, eku) = signer
        .tbs_certificate
        .get::<ExtendedKeyUsage>()
        .map_err(|e| format!("extended key usage: {e}"))?
        .ok_or("the TSA certificate has no extended key usage")?;
    if !critical || eku.0 != [ID_KP_TIME_STAMPING] {
        return Err(
            "the TSA certificate's extended key usage must be timeStamping only, marked critical"
                .into(),
        );
    }
    let gen = tst.gen_time.to_unix_duration().as_secs();
    let v = &signer.tbs_certificate.validity;
    if gen < unix(&v.not_before) || gen > unix(&v.not_after) {
        return Err("the TSA certificate was not valid at the stamped time".into());
    }

    // A path from the signer to a trusted certificate.
    let mut cur = signer.clone();
    let mut depth = 0;
    while !trusted.contains(&cur) {
        depth += 1;
        if depth > 8 {
            return Err("no certificate path to a trusted certificate within 8 steps".into());
        }
        let Some(issuer) = pool.iter().find(|c| **c != cur && signed_by(&cur, c)) else {
            return Err(format!(
                "no certificate path from the TSA certificate ({}) to a trusted certificate",
                signer.tbs_certificate.subject
            ));
        };
        let v = &issuer.tbs_certificate.validity;
        if gen < unix(&v.not_before) || gen > unix(&v.not_after) {
            return Err(format!(
                "issuer {} was not valid at the stamped time",
                issuer.tbs_certificate.subject
            ));
        }
        cur = issuer.clone();
    }

    Ok(Stamp {
        gen_time_unix: gen,
        serial_hex: hex::encode(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        hash,
        tsa_subject: signer.tbs_certificate.subject.to_string(),
        signer_der,
        nonce: tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
    })
}
