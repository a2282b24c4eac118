//! The core: pure types and rules of the domain, with no HTTP, no storage
//! and no runtime. Nothing here uses axum, maud, RocksDB or tokio; every
//! layer above imports from here, and this imports none of them.
//!
//! - [`error`]: the domain's one error type (not HTTP: `http::error` maps it);
//! - [`clock`]: Unix seconds and RFC 3339;
//! - [`principal`]: who is calling, and their scopes;
//! - [`events`]: the log events and their canonical leaves;
//! - [`records`]: what is stored (tenants, tokens, customers, sessions, keys);
//! - [`release`]: release records and the pure half of a push (validation);
//! - [`names`]: names and their rules;
//! - [`regulator`]: regulator requests and their life cycle;
//! - [`documents`]: compliance documents and who may see them;
//! - [`advisories`]: CSAF security advisories, drafts and published;
//! - [`access`]: entitlement matching and SSO claim rules;
//! - [`policy`]: the one access-policy function;
//! - [`portal`]: the portal's settings and logo, and their rules;
//! - [`schema`]: the JSON Schemas generated from these types.

pub mod access;
pub mod advisories;
pub mod clock;
pub mod documents;
pub mod error;
pub mod events;
pub mod names;
pub mod policy;
pub mod portal;
pub mod principal;
pub mod records;
pub mod regulator;
pub mod release;
pub mod schema;

pub use error::Error;
pub use principal::{Principal, Scope};
