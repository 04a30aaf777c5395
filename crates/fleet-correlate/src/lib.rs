//! Alert correlation with root cause over the physical graph. Pure: no I/O, no clock, no
//! randomness — the graph, the rules, the XID knowledge, the alerts and `now` are passed in.
//!
//! # Model
//!
//! - A [`Graph`] of assets (rack, pdu, outlet/feed, cdu, switch, switch_port, node, bmc, gpu, nic)
//!   and typed, directed edges (`contains`, `powered_by`, `connected_to`, `cooled_by`, `nvlink`,
//!   `manages`; see [`graph`] for the directions).
//! - [`Alert`]s as received: fingerprint, full label set, severity, `startsAt`/`endsAt` in event
//!   time, the asset the caller resolved from the labels (or none), and an [`AlertKind`] derived
//!   from the labels by [`AlertKind::from_labels`] (`alertname`, `xid`, NCCL `job_id`/`nodes`).
//! - Causal [`rules`] as data (YAML, [`rules::DEFAULT_RULES`]): a fault at an asset of one kind
//!   explains alert kinds on the assets reached by a relation path (`^powered_by/contains*`:
//!   the nodes a feed powers and everything in them). A rule is believed when the root announces
//!   it (`trigger`), when a pattern of alerts is seen on the root in order (`sequence`: the ECC
//!   chain SBE → DBE → row remap), or when it is inferred (`infer`: every node on a feed dark within
//!   two minutes while the PDU said nothing — lower confidence, and the evidence says so).
//! - XID knowledge ([`XidCatalog`]) parsed from NVIDIA's catalog and NVSentinel's mapping passed in
//!   as text, with a small built-in fallback; it gives evidence and the resolution bucket's
//!   [`Action`]s.
//!
//! # Engine
//!
//! [`Engine::ingest`] takes one alert and returns the [`IncidentChange`]s it caused (opened,
//! updated, closed into another); [`correlate`] does a batch. Each alert belongs to exactly one
//! incident: the best believed fault that explains it within the rule's time window around the
//! fault's anchor (event time), or else an incident of its own with the alert's asset as root
//! (`belief: alone`, confidence 0.5) — noise stays visible and small rather than hidden.
//! Two faults at once, or neighbouring ones, are separate hypotheses and stay separate incidents.
//! Incidents carry the root cause (asset, kind, fault, confidence, evidence), members, affected
//! GPUs, nodes and jobs, a priority (severity × (1 + GPUs and in-service nodes affected) × age
//! factor) and suggested actions.
//!
//! # Determinism
//!
//! Ordered maps only; ids derived from the rule, root and episode anchor
//! (`pdu_feed_lost:<outlet id>@<anchor ms>`) or the alert (`alert:<fingerprint>`); windows on `startsAt`, never arrival. The incidents are a
//! function of the set of alerts held: the same storm replayed faster, or shuffled, gives the same
//! incidents (the changes on the way may differ).
//!
//! [`mod@score`] compares incidents with ground truth (exact-incident rate, pairwise precision and
//! recall, root-cause accuracy). `docs/CORRELATION.md` describes the rule format.

pub mod action;
pub mod alert;
pub mod engine;
pub mod error;
pub mod graph;
pub mod incident;
pub mod remediate;
pub mod rules;
pub mod score;
pub mod xid;

pub use action::Action;
pub use alert::{Alert, AlertKind, Millis, Severity};
pub use engine::{correlate, Engine};
pub use error::CorrelateError;
pub use graph::{Asset, AssetId, AssetKind, Edge, Graph, Path, Relation};
pub use incident::{
    Affected, Belief, Evidence, Incident, IncidentChange, IncidentId, Overrides, RootCause,
    SplitGroup,
};
pub use rules::{Rule, RuleSet};
pub use score::{score, Score, TrueIncident};
pub use xid::{XidCatalog, XidInfo};
