//! The one error type of this crate. Every variant names what was checked and
//! carries the values that disagreed, so the binary can print one exact line.

/// Why a piece of evidence did not verify or could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// An inclusion proof was asked for a leaf that is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// The leaf index in the proof.
        index: u64,
        /// The tree size the proof is for.
        size: u64,
    },
    /// A consistency proof's old size is larger than its new size.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesInverted {
        /// The older (smaller) tree size.
        old: u64,
        /// The newer (larger) tree size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for its index and sizes.
    #[error("proof has {got} hashes, but {expected} are needed for this index and tree size")]
    ProofLength {
        /// Hashes the proof should have.
        expected: usize,
        /// Hashes the proof has.
        got: usize,
    },
    /// Recomputing the root from the proof gave a different root.
    #[error("root mismatch: the proof leads to {computed}, the checkpoint says {expected}")]
    RootMismatch {
        /// Base64 of the root the checkpoint (or caller) expects.
        expected: String,
        /// Base64 of the root the proof computes.
        computed: String,
    },
    /// A consistency proof did not reproduce the old root.
    #[error(
        "old root mismatch: the proof leads to {computed}, the old checkpoint says {expected}"
    )]
    OldRootMismatch {
        /// Base64 of the old root.
        expected: String,
        /// Base64 of what the proof computes for it.
        computed: String,
    },
    /// A hash was not 32 bytes of valid base64 or hex.
    #[error("bad hash {value:?}: {reason}")]
    BadHash {
        /// The text that was given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A signed note is not well formed (C2SP signed-note).
    #[error("malformed signed note: {reason}")]
    MalformedNote {
        /// What is wrong.
        reason: String,
    },
    /// A verifier key string is not `<name>+<hex id>+<base64 key>`, or is inconsistent.
    #[error("malformed verifier key: {reason}")]
    MalformedKey {
        /// What is wrong.
        reason: String,
    },
    /// No signature line on the note is from the given key.
    #[error("the note carries no signature by key {name}+{key_id:08x}")]
    NoSignatureByKey {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// A signature line from the given key is present but does not verify.
    #[error("signature by {name}+{key_id:08x} does not verify over the note text")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// The checkpoint body is not a C2SP tlog-checkpoint.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint is for a different log than expected.
    #[error("checkpoint origin is {got:?}, expected {expected:?}")]
    OriginMismatch {
        /// Origin the caller expects.
        expected: String,
        /// Origin in the checkpoint.
        got: String,
    },
    /// The checkpoint's origin line is not the name of the key it is
    /// checked with. Each log has its own key named after its origin, so a
    /// checkpoint of one log (or a signature line renamed to another log's
    /// key) never passes as another log's.
    #[error("checkpoint origin {origin:?} is not the name of the log key {key_name:?}: this checkpoint belongs to another log")]
    OriginNotKeyName {
        /// The checkpoint's origin line.
        origin: String,
        /// The verifier key's name.
        key_name: String,
    },
    /// A log entry names a tenant whose log is not the checkpoint's.
    #[error("the entry names tenant {tenant:?}, but the checkpoint is of log {origin:?}")]
    TenantNotOrigin {
        /// The `tenant` field of the entry.
        tenant: String,
        /// The checkpoint's origin.
        origin: String,
    },
    /// A proof's tree size does not match the checkpoint it is checked against.
    #[error("proof is for tree size {proof}, but the checkpoint has size {checkpoint}")]
    SizeMismatch {
        /// Size named by the proof.
        proof: u64,
        /// Size in the checkpoint.
        checkpoint: u64,
    },
    /// A proof file (JSON or C2SP tlog-proof) could not be read.
    #[error("malformed proof: {reason}")]
    MalformedProof {
        /// What is wrong.
        reason: String,
    },
    /// A tile path that is not a canonical C2SP tlog-tiles path.
    #[error("bad tile path {path:?}: {reason}")]
    BadTilePath {
        /// The path given (at most 200 characters of it).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
