//! The built-in RFC 3161 time-stamping authority.
//!
//! On first start the TSA makes a P-256 root CA and a P-256 TSA certificate
//! whose only extended key usage is `timeStamping`, marked critical (RFC 3161
//! §2.3). The root's private key signs that one certificate and is then
//! discarded; the TSA key is sealed under the master key like the platform
//! keys. Tokens are CMS SignedData over a TSTInfo, signed with ECDSA-SHA256,
//! with the ESS signingCertificateV2 attribute that binds the signer
//! certificate (RFC 5816), and strict DER throughout (what `rfc3161-client`
//! demands). Built on RustCrypto: `x509-tsp`, `cms`, `x509-cert`, `der`.

use std::time::{Duration, SystemTime};

use crate::store::Db as Store;
use anyhow::Context;
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::{
    builder::{SignedDataBuilder, SignerInfoBuilder},
    cert::{CertificateChoices, IssuerAndSerialNumber},
    signed_data::{EncapsulatedContentInfo, SignerIdentifier},
};
use der::{
    asn1::{GeneralizedTime, Int, OctetString, SetOfVec},
    oid::{
        db::rfc5912::{ID_KP_TIME_STAMPING, ID_SHA_256, ID_SHA_384, ID_SHA_512},
        AssociatedOid, ObjectIdentifier,
    },
    Any, Decode, Encode, Sequence, Tag,
};
use p256::ecdsa::{DerSignature, SigningKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::{
    attr::Attribute,
    builder::{Builder, CertificateBuilder, Profile},
    ext::{pkix::ExtendedKeyUsage, AsExtension, Extension},
    name::Name,
    serial_number::SerialNumber,
    time::Validity,
    Certificate,
};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::service::keys::MasterKey;

/// `id-ct-TSTInfo` (RFC 3161 §2.4.2).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-signingCertificateV2` (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// The policy under which this TSA issues tokens (a private arc of this project).
pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.99.1");

/// The TSA's keys and certificates.
#[derive(Debug)]
pub struct Tsa {
    key: SigningKey,
    cert: Certificate,
    cert_der: Vec<u8>,
    root_der: Vec<u8>,
}

/// The extended key usage extension, marked critical as RFC 3161 requires.
struct CriticalEku(ExtendedKeyUsage);

impl AssociatedOid for CriticalEku {
    const OID: ObjectIdentifier = ExtendedKeyUsage::OID;
}

impl Encode for CriticalEku {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }
    fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(w)
    }
}

impl AsExtension for CriticalEku {
    fn critical(&self, _: &Name, _: &[Extension]) -> bool {
        true
    }
}

/// `ESSCertIDv2` with the default hash algorithm (SHA-256) left out (DER).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, … }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

// PKIFailureInfo bits (RFC 3161 §2.4.2).
const BAD_ALG: u8 = 0;
const BAD_DATA_FORMAT: u8 = 5;
const UNACCEPTED_POLICY: u8 = 15;
const UNACCEPTED_EXTENSION: u8 = 16;
const SYSTEM_FAILURE: u8 = 25;

/// `PKIStatusInfo` of a rejection, with its failure bit as a DER BIT STRING
/// (named-bit lists drop trailing zero bits).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RejectionStatus {
    status: u8,
    fail_info: der::asn1::BitString,
}

/// `TimeStampResp` without a token.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Rejection {
    status: RejectionStatus,
}

fn rejection(bit: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; usize::from(bit / 8) + 1];
    bytes[usize::from(bit / 8)] = 0x80 >> (bit % 8);
    let unused = 7 - bit % 8;
    der::asn1::BitString::new(unused, bytes)
        .and_then(|fail_info| {
            Rejection {
                status: RejectionStatus {
                    status: 2, // rejection
                    fail_info,
                },
            }
            .to_der()
        })
        .unwrap_or_default()
}

fn random_serial() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] &= 0x7f; // positive
    b[0] |= 0x01; // and never with a redundant leading zero
    b
}

fn sha2_alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

impl Tsa {
    /// Loads the TSA, making its keys and certificates on first use.
    pub fn load_or_generate(store: &Store, master: &MasterKey) -> anyhow::Result<Self> {
        if let Some((sealed, cert_der, root_der)) = store.tsa_material()? {
            let raw = master.open("tsa-key", &sealed)?;
            let key = SigningKey::from_slice(&raw).context("stored TSA key")?;
            let cert = Certificate::from_der(&cert_der).context("stored TSA certificate")?;
            return Ok(Self {
                key,
                cert,
                cert_der,
                root_der,
            });
        }
        let (tsa, secret) = Self::generate()?;
        let sealed = master.seal("tsa-key", &secret);
        store.put_tsa_material(&sealed, &tsa.cert_der, &tsa.root_der)?;
        Ok(tsa)
    }

    /// A fresh root and TSA certificate; returns the TSA key's secret bytes too.
    fn generate() -> anyhow::Result<(Self, Vec<u8>)> {
        let root_key = SigningKey::random(&mut rand::rngs::OsRng);
        let root_name: Name = "CN=Evident Timestamping Root,O=Evident".parse()?;
        let root_spki = SubjectPublicKeyInfoOwned::from_key(*root_key.verifying_key())?;
        let root = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::new(&random_serial())?,
            Validity::from_now(Duration::from_secs(20 * 366 * 86400))?,
            root_name.clone(),
            root_spki,
            &root_key,
        )?
        .build::<DerSignature>()?;

        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())?;
        let mut b = CertificateBuilder::new(
            Profile::Leaf {
                issuer: root_name,
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            SerialNumber::new(&random_serial())?,
            Validity::from_now(Duration::from_secs(10 * 366 * 86400))?,
            "CN=Evident TSA,O=Evident".parse()?,
            spki,
            &root_key,
        )?;
        b.add_extension(&CriticalEku(ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING])))?;
        let cert = b.build::<DerSignature>()?;
        drop(root_key);
        let secret = key.to_bytes().to_vec();
        Ok((
            Self {
                key,
                cert_der: cert.to_der()?,
                cert,
                root_der: root.to_der()?,
            },
            secret,
        ))
    }

    /// The chain as PEM: TSA certificate, then root.
    pub fn chain_pem(&self) -> String {
        let pem = |der: &[u8]| {
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
                .unwrap_or_default()
        };
        format!("{}{}", pem(&self.cert_der), pem(&self.root_der))
    }

    /// The root certificate as PEM (the trust anchor to pin).
    pub fn root_pem(&self) -> String {
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &self.root_der)
            .unwrap_or_default()
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`. Never fails:
    /// a request it cannot honour gets a rejection with the RFC 3161 reason.
    pub fn respond(&self, request: &[u8]) -> Vec<u8> {
        let reject = |bit: u8| rejection(bit);
        let Ok(req) = TimeStampReq::from_der(request) else {
            return reject(BAD_DATA_FORMAT);
        };
        let alg = req.message_imprint.hash_algorithm.oid;
        let len = match alg {
            ID_SHA_256 => 32,
            ID_SHA_384 => 48,
            ID_SHA_512 => 64,
            _ => return reject(BAD_ALG),
        };
        if req.message_imprint.hashed_message.as_bytes().len() != len {
            return reject(BAD_DATA_FORMAT);
        }
        if req.req_policy.is_some_and(|p| p != POLICY) {
            return reject(UNACCEPTED_POLICY);
        }
        if req.extensions.is_some() {
            return reject(UNACCEPTED_EXTENSION);
        }
        match self.token(
            &req.message_imprint,
            req.nonce.clone(),
            req.cert_req,
            SystemTime::now(),
        ) {
            Ok(token) => TimeStampResp {
                status: PkiStatusInfo {
                    status: PkiStatus::Accepted,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: Some(token),
            }
            .to_der()
            .unwrap_or_default(),
            Err(e) => {
                tracing::error!(error = %e, "time-stamp token could not be made");
                reject(SYSTEM_FAILURE)
            }
        }
    }

    /// A granted `TimeStampResp` (DER) over SHA-256 of `data`, with the TSA
    /// certificate in the token: what the server stamps its own documents with.
    pub fn stamp_reply(&self, data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let digest: [u8; 32] = Sha256::digest(data).into();
        let token = cms::content_info::ContentInfo::from_der(&self.stamp_sha256(&digest)?)?;
        Ok(TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        }
        .to_der()?)
    }

    /// A token over a SHA-256 digest (for the server's own use).
    pub fn stamp_sha256(&self, digest: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        let imprint = MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: ID_SHA_256,
                parameters: None,
            },
            hashed_message: OctetString::new(digest.to_vec())?,
        };
        Ok(self
            .token(&imprint, None, true, SystemTime::now())?
            .to_der()?)
    }

    fn token(
        &self,
        imprint: &MessageImprint,
        nonce: Option<Int>,
        cert_req: bool,
        now: SystemTime,
    ) -> anyhow::Result<cms::content_info::ContentInfo> {
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: POLICY,
            message_imprint: imprint.clone(),
            serial_number: Int::new(&random_serial())?,
            gen_time: GeneralizedTime::from_system_time(now)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce,
            tsa: None,
            extensions: None,
        };
        let econtent = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, tst.to_der()?)?),
        };
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&self.cert_der).to_vec())?,
            }],
        };
        let mut values = SetOfVec::new();
        values.insert(Any::from_der(&ess.to_der()?)?)?;
        let ess_attr = Attribute {
            oid: ID_AA_SIGNING_CERTIFICATE_V2,
            values,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.cert.tbs_certificate.issuer.clone(),
            serial_number: self.cert.tbs_certificate.serial_number.clone(),
        });
        let cms_err = |e: cms::builder::Error| anyhow::anyhow!("CMS: {e:?}");
        let mut si = SignerInfoBuilder::new(&self.key, sid, sha2_alg(ID_SHA_256), &econtent, None)
            .map_err(cms_err)?;
        si.add_signed_attribute(ess_attr).map_err(cms_err)?;
        let mut sd = SignedDataBuilder::new(&econtent);
        sd.add_digest_algorithm(sha2_alg(ID_SHA_256))
            .map_err(cms_err)?;
        if cert_req {
            sd.add_certificate(CertificateChoices::Certificate(self.cert.clone()))
                .map_err(cms_err)?;
        }
        sd.add_signer_info::<SigningKey, DerSignature>(si)
            .map_err(cms_err)?;
        sd.build().map_err(cms_err)
    }

    /// The TSA public key (for tests and documentation).
    pub fn public_key_der(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .key
            .verifying_key()
            .to_public_key_der()?
            .as_bytes()
            .to_vec())
    }
}
