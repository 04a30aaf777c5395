//! The gpufleet domain model. Everything here is pure: no I/O, no clocks read
//! implicitly (callers pass the time in), no knowledge of storage or HTTP.
//!
//! - [`asset`]: asset kinds, relations, labels and the resource shape.
//! - [`lifecycle`]: the node lifecycle state machine (transition table, guards, deadlines).
//! - [`diff`]: structural JSON diffs between configuration versions.
//! - [`profile`]: expected hardware profiles and validation of actual against expected.
//! - [`event`]: the CloudEvents envelope written to the outbox.
//! - [`rbac`]: roles, permissions and the permission matrix.
//! - [`import`]: parsing and validating CSV / YAML inventory files.
//! - [`net`]: CIDR networks and the IP address an address string names.
//! - [`timefmt`]: the RFC 3339 form of a time that every interface shows.

pub mod asset;
pub mod diff;
pub mod event;
pub mod import;
pub mod lifecycle;
pub mod net;
pub mod profile;
pub mod rbac;
pub mod timefmt;

/// Creates a new time-ordered identifier with a short kind prefix, e.g. `node-0190c3…`.
/// Time ordering keeps keyset pagination stable in creation order.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}
