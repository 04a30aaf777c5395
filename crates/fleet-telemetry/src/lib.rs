//! The pure telemetry core of gpufleet: parsers for what GPU nodes send (InfluxDB line protocol,
//! Prometheus text from dcgm-exporter, kernel-log XID lines), the mapping of metric names to one
//! internal [`fields::GpuField`], the identity of a sample and its resolution to a CMDB asset,
//! derived health per GPU, node (with its BMC readings) and switch port, and alert rules evaluated on the sample stream.
//!
//! **Invariant**: no I/O. Nothing here reads files, the network or the wall clock; time is always
//! passed in (nanoseconds since the Unix epoch), catalogs are passed in as text.

pub mod fields;
pub mod health;
pub mod kmsg;
pub mod line_protocol;
pub mod network;
pub mod prometheus;
pub mod rules;
pub mod sample;
pub mod xid;

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

/// One second in [`Nanos`].
pub const SECOND: Nanos = 1_000_000_000;
