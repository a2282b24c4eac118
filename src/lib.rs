//! Evident: a customer portal for SBOM evidence, with a per-tenant
//! transparency log.
//!
//! This crate is the server, in layers that import only downward
//! (docs/architecture.md draws them; `tests/layers.rs` enforces the rule):
//!
//! - [`core`]: pure types and rules: the domain error, the principal, log
//!   events, records, names, entitlement matching, and the one access
//!   policy. No axum, maud, RocksDB or tokio.
//! - [`store`]: the only owner of the key layout; a state change and the
//!   log event that records it are one batch.
//! - [`service`]: one module per capability, taking the caller and typed
//!   input, returning domain results. No HTTP.
//! - [`http`]: axum routes, extractors, and `ApiError`, the one place that
//!   maps errors to HTTP status codes; [`portal`]: the maud pages, which
//!   call services too.
//! - [`jobs`]: background work; [`app`]: the composition root;
//!   [`cli`]: the command line.
//!
//! The Merkle log lives in `evident-log`; every format that a verifier must
//! read lives in `evident-verify`; SBOM formats in `evident-sbom`.
//! [`app::app`] builds the router so tests can drive it with `oneshot`.

pub mod app;
pub mod cli;
pub mod core;
pub mod http;
pub mod jobs;
pub mod portal;
pub mod service;
pub mod store;

pub use app::app;
pub use service::AppState;

/// Default limit of a release push body: 64 MiB.
pub const DEFAULT_PUSH_BODY_BYTES: usize = 64 << 20;
