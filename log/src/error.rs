//! The one error type of `evident-log`.

/// Everything that can go wrong in the log library. Variants carry the values
/// involved so that the server can turn them into precise messages.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// RocksDB failed; the operation had no effect.
    #[error("storage error: {0}")]
    Storage(#[from] rocksdb::Error),
    /// No log of that name exists in this store.
    #[error("no log named {name:?}")]
    NoSuchLog {
        /// The log name.
        name: String,
    },
    /// A log of that name already exists.
    #[error("a log named {name:?} already exists")]
    LogExists {
        /// The log name.
        name: String,
    },
    /// A leaf index at or beyond the tree size was asked for.
    #[error("index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// Requested index.
        index: u64,
        /// The size it must be below.
        size: u64,
    },
    /// A tree size beyond the current tree was asked for.
    #[error("tree size {size} is beyond the current tree size {current}")]
    SizeBeyondTree {
        /// Requested size.
        size: u64,
        /// The log's current (committed) size.
        current: u64,
    },
    /// A range whose start is after its end.
    #[error("range start {start} is after its end {end}")]
    RangeInverted {
        /// Range start.
        start: u64,
        /// Range end.
        end: u64,
    },
    /// A range that is longer than one call may return.
    #[error("range of {len} entries is longer than the limit of {max}")]
    RangeTooLong {
        /// Requested length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A leaf larger than an entry bundle can carry (tlog-tiles uses uint16 lengths).
    #[error("leaf of {len} bytes is larger than the limit of {max} bytes")]
    LeafTooLarge {
        /// The leaf length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A stored node hash that must exist is missing: the store is damaged.
    #[error("stored node at level {level} index {index} is missing")]
    MissingNode {
        /// Tree level.
        level: u8,
        /// Index within the level.
        index: u64,
    },
    /// Stored data is unreadable or disagrees with itself; the log refuses to
    /// sign anything until an operator has looked (see `audit`).
    #[error("log {name:?} is inconsistent: {reason}")]
    Inconsistent {
        /// The log name.
        name: String,
        /// What disagrees.
        reason: String,
    },
    /// The store cannot close: a `Store` clone or a `Log` handle is still alive.
    #[error("the store at {path} is still in use by a log handle or a store clone")]
    InUse {
        /// The database path.
        path: String,
    },
    /// The log's integrator has stopped (the store is shutting down).
    #[error("log {name:?} is closed")]
    Closed {
        /// The log name.
        name: String,
    },
    /// A tile that does not exist (yet) for the current tree.
    #[error("tile {path} is not available: the tree has {size} entries")]
    TileNotAvailable {
        /// The tile path.
        path: String,
        /// The current tree size.
        size: u64,
    },
    /// A log name that cannot be used as a key or note name.
    #[error("bad log name {name:?}: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Signing or parsing a note failed.
    #[error(transparent)]
    Format(#[from] evident_verify::VerifyError),
}

/// Result alias for the log crate.
pub type Result<T, E = LogError> = std::result::Result<T, E>;
