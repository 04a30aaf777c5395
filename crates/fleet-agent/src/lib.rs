//! The gpufleet node agent, as a library (the `gpufleet-agent` binary is a thin loop around it):
//!
//! - [`collect`]: what a GPU reading is, the [`collect::Source`] port and its NVML adapter
//!   (`libnvidia-ml.so.1` loaded at run time, so the agent builds and starts on machines
//!   without a GPU and says so), and the line-protocol lines a reading becomes;
//! - [`kmsg`]: follows `/dev/kmsg` (or any log file) for the NVIDIA driver's `NVRM: Xid` lines;
//! - [`push`]: a bounded buffer of lines sent to gpufleet's write route in batches, gzip, with
//!   exponential backoff on failures and `Retry-After` honoured;
//! - [`announce`]: the node's own facts (host name, SMBIOS serial, MACs) for the announce route.

pub mod announce;
pub mod collect;
pub mod kmsg;
pub mod push;
