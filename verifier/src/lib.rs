//! `evident-verify`: offline verification of what Evident emits, and the one
//! home of the pure format code that the log and the server reuse.
//!
//! This crate is *not* a log, a server or a client. The library does no
//! I/O; its binary reads the files given on the command line, and only
//! `evident-verify monitor` opens a socket (blocking HTTP GETs of a log's
//! checkpoint and tiles). It holds no database handle and has no async
//! runtime. Everything here is a pure
//! function of bytes: RFC 9162 Merkle hashing and proof verification
//! ([`merkle`]), C2SP signed notes ([`note`]), C2SP tlog-checkpoint bodies
//! ([`checkpoint`]), the proof file formats ([`proof`]), RFC 3161 token
//! checking ([`tsp`]), and the signed-export evidence: Sigstore bundles,
//! DSSE and the in-toto statement ([`bundle`]) and the checks a customer
//! runs on a download ([`export`]), download receipts ([`receipt`]), log key
//! rotation statements ([`rotation`]), share-link status documents
//! ([`share`]), audit query answers ([`audit`]), and following a log's checkpoints and
//! tiles for forks ([`monitor`]). Keeping the formats
//! here means each one has exactly one implementation: the log signs with the
//! same code that a regulator's copy of this binary verifies with.

pub mod audit;
pub mod bundle;
pub mod checkpoint;
pub mod error;
pub mod export;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod officer;
pub mod proof;
pub mod receipt;
pub mod regulator;
pub mod rotation;
pub mod share;
pub mod tiles;
pub mod tsp;
pub mod vex;
pub mod witness;

pub use error::VerifyError;

/// This crate's own SBOM (CycloneDX 1.6 JSON), made from `Cargo.lock` by
/// the build script; `evident-verify sbom` prints it.
pub const OWN_SBOM: &str = include_str!(concat!(env!("OUT_DIR"), "/sbom.cdx.json"));
pub use merkle::Hash;
