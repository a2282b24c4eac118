//! `evident-log`: per-tenant RFC 9162 Merkle transparency logs on RocksDB.
//!
//! This crate is *not* an HTTP service and knows nothing of tenants, tokens
//! or exports: it appends opaque leaves, proves things about them, signs
//! C2SP checkpoints and serves C2SP tiles. The formats it writes (signed
//! notes, checkpoints, proof hashing) come from `evident-verify`, so the
//! bytes it signs are parsed by exactly the code that verifies them.
//!
//! - [`tree`]: pure tree math over a [`tree::HashReader`]; no I/O.
//! - [`store`]: RocksDB storage, one integrator (group commit) per log.
//! - [`tiles`]: tlog-tiles paths, hash tiles and entry bundles.
//! - `cache`: the read cache of decoded application records.
//! - [`counter`]: counters (tallies and member sets) kept in the append batch.
//! - [`audit`]: recompute a log from its leaves and report disagreements.

pub mod audit;
mod cache;
pub mod counter;
pub mod error;
pub mod store;
pub mod tiles;
pub mod tree;

pub use audit::{AuditProblem, AuditReport};
pub use counter::{Counter, CounterRef, Tally};
pub use error::{LogError, Result};
pub use store::{
    AppOp, Indexed, Indexer, Log, Observer, RekeyBuild, SignedCheckpoint, Store, StoreMemory,
    StoreOptions, MAX_LEAF_BYTES,
};
pub use tiles::{TileKind, TilePath};

#[cfg(test)]
mod tests;
