//! What the engine produces: incidents with their root cause, members, affected assets,
//! priority and suggested actions, and the changes one alert makes to them.

use serde::Serialize;

use crate::action::Action;
use crate::alert::{Millis, Severity};
use crate::graph::{AssetId, AssetKind};

/// An incident id: `<rule>:<root asset id>@<anchor>` for a believed fault (the anchor, in Unix
/// milliseconds, is the event time the fault's episode started at), `alert:<fingerprint>` for
/// an alert no rule explains, `split:<fingerprint>` for alerts an operator split off (named after
/// the earliest of them).
pub type IncidentId = String;

/// One piece of evidence for a root cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// What kind of evidence: `announced`, `pattern`, `inferred`, `explained`, `xid`, `alone`,
    /// `manual`.
    pub code: &'static str,
    pub detail: String,
}

/// How the root cause was believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Belief {
    /// The root asset raised the alert that names the fault.
    Announced,
    /// A pattern of alerts on the root asset (the ECC chain).
    Pattern,
    /// Inferred from its dependants, the root itself silent.
    Inferred,
    /// No rule explains the alert: the alert's own asset.
    Alone,
    /// Alerts an operator split off another incident: the asset they named, or the earliest
    /// alert's own asset.
    Manual,
}

/// The asset that failed, and why the engine thinks so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCause {
    /// `None` only for a lone alert whose asset could not be resolved.
    pub asset_id: Option<AssetId>,
    pub asset_name: Option<String>,
    pub kind: Option<AssetKind>,
    /// The rule's fault (`power_feed_lost`), or a lone alert's kind (`xid:13`).
    pub fault: String,
    pub belief: Belief,
    /// 0..1.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
}

/// The assets an incident touches.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Affected {
    pub gpus: Vec<AssetId>,
    pub nodes: Vec<AssetId>,
    pub jobs: Vec<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: IncidentId,
    /// The causal rule that grouped it (none for a lone alert).
    pub rule: Option<String>,
    pub root_cause: RootCause,
    /// Member alert fingerprints, sorted.
    pub members: Vec<String>,
    pub affected: Affected,
    /// The highest member severity.
    pub severity: Severity,
    /// Earliest member `startsAt`.
    pub started_at: Millis,
    /// Latest member `startsAt`.
    pub last_alert_at: Millis,
    /// Every member has an `endsAt` at or before `now`.
    pub resolved: bool,
    /// Affected GPUs plus affected in-service nodes.
    pub blast_radius: u32,
    /// severity weight × (1 + blast radius) × age factor (1 at start, 2 after four hours).
    pub priority: f64,
    pub actions: Vec<Action>,
}

/// What one ingested alert changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum IncidentChange {
    Opened {
        incident: Box<Incident>,
    },
    Updated {
        incident: Box<Incident>,
    },
    /// Its alerts moved elsewhere (most of them into `merged_into`), or it was pruned.
    Closed {
        id: IncidentId,
        merged_into: Option<IncidentId>,
    },
}

impl IncidentChange {
    pub fn id(&self) -> &str {
        match self {
            IncidentChange::Opened { incident } | IncidentChange::Updated { incident } => {
                &incident.id
            }
            IncidentChange::Closed { id, .. } => id,
        }
    }
}

/// The age factor of the priority: 1 when the incident starts, rising linearly to 2 after four
/// hours (an incident left alone climbs the list).
pub fn age_factor(started_at: Millis, now: Millis) -> f64 {
    let minutes = (now.saturating_sub(started_at).max(0) as f64) / 60_000.0;
    1.0 + minutes.min(240.0) / 240.0
}

/// Alerts an operator split off an incident into one of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SplitGroup {
    /// The alerts' fingerprints.
    pub alerts: std::collections::BTreeSet<String>,
    /// The incident they were split off.
    pub from: IncidentId,
    /// The root cause the operator named, if any (else the earliest alert's own asset).
    pub root: Option<AssetId>,
    pub by: String,
    pub at: Millis,
}

/// What operators changed in the grouping. The incidents are a function of the alerts and of
/// these: an engine given the same overrides and the same alerts builds the same incidents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Overrides {
    /// Incident id → the incident its alerts go to instead (a merge). Alerts that would open
    /// the merged incident later join the target too.
    pub merged: std::collections::BTreeMap<IncidentId, IncidentId>,
    /// Split-off groups by incident id (`split:<fingerprint>`).
    pub splits: std::collections::BTreeMap<IncidentId, SplitGroup>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.merged.is_empty() && self.splits.is_empty()
    }
}
