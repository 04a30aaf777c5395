//! Alerts as the engine sees them: the label set as received, event times, the asset the caller
//! resolved from the labels, and a kind derived from the labels.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CorrelateError;
use crate::graph::AssetId;

/// Event time in Unix milliseconds (an alert's `startsAt` / `endsAt`, never its arrival time).
pub type Millis = i64;

/// Alert severity (the `severity` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// From the `severity` label: `critical`/`page`/`error`/`fatal` → critical, `warning`/`warn`
    /// → warning, anything else (or none) → info.
    pub fn from_label(v: Option<&str>) -> Severity {
        match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("critical" | "page" | "error" | "fatal" | "high") => Severity::Critical,
            Some("warning" | "warn" | "medium" | "major") => Severity::Warning,
            _ => Severity::Info,
        }
    }

    /// The factor severity contributes to an incident's priority.
    pub fn weight(self) -> f64 {
        match self {
            Severity::Info => 1.0,
            Severity::Warning => 2.0,
            Severity::Critical => 4.0,
        }
    }
}

/// What an alert says happened. Derived from labels by [`AlertKind::from_labels`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AlertKind {
    BmcUnreachable,
    NodeDown,
    TelemetryMissing,
    GpuXid {
        code: u32,
    },
    EccSbe,
    EccDbe,
    RowRemapPending,
    RowRemapFailed,
    GpuThermal,
    Throttle,
    NicLinkDown,
    SwitchPortDown,
    SwitchDown,
    /// A collective timed out; `nodes` are the nodes of the job's ranks (asset ids or names).
    NcclTimeout {
        job: String,
        nodes: Vec<String>,
    },
    PduFeedLost,
    /// Something announced the PDU down (a facilities system, an external monitor).
    PduDown,
    /// The PDU's own management controller stopped answering gpufleet's polls: it lost its
    /// input power, or only its network. Not an announcement that it is dark; a rule may
    /// take it as the confirmation of an inference (`infer.confirm`).
    PduUnreachable,
    CduFault,
    /// A GPU's derived health failed (gpufleet's `GpuHealthFailed` and the like): a symptom
    /// of whatever failed the GPU.
    GpuHealth,
    /// Anything else, by its `alertname`.
    Other {
        name: String,
    },
}

/// Normalised `alertname` → kind. Names are compared lower-case with `_`, `-`, `.` and spaces
/// removed, so `NodeDown`, `node_down` and `node-down` are one name.
fn kind_by_name(normalised: &str) -> Option<AlertKind> {
    Some(match normalised {
        "bmcunreachable" | "bmcdown" => AlertKind::BmcUnreachable,
        "nodedown" | "nodeunreachable" | "hostdown" => AlertKind::NodeDown,
        "telemetrymissing" | "gputelemetrymissing" | "absent" => AlertKind::TelemetryMissing,
        "eccsbe" | "gpueccsbe" | "eccsinglebit" => AlertKind::EccSbe,
        "eccdbe" | "gpueccdbe" | "eccdoublebit" => AlertKind::EccDbe,
        "rowremappending" | "gpurowremappending" => AlertKind::RowRemapPending,
        "rowremapfailed" | "gpurowremapfailed" | "rowremapfailure" => AlertKind::RowRemapFailed,
        "gputhermal" | "gputemperaturehigh" | "gpuovertemp" => AlertKind::GpuThermal,
        "throttle" | "gputhrottle" | "gputhrottling" | "gpuclockthrottle" => AlertKind::Throttle,
        "niclinkdown" | "linkdown" => AlertKind::NicLinkDown,
        "switchportdown" => AlertKind::SwitchPortDown,
        "switchdown" | "switchunreachable" => AlertKind::SwitchDown,
        "pdufeedlost" | "pduoutletdown" | "feedlost" => AlertKind::PduFeedLost,
        "pdudown" | "pdufailed" => AlertKind::PduDown,
        "pduunreachable" | "pdunotresponding" => AlertKind::PduUnreachable,
        "cdufault" | "coolingfault" | "cdudown" => AlertKind::CduFault,
        "gpuhealthfailed" | "gpuhealthdegraded" | "gpuunhealthy" => AlertKind::GpuHealth,
        _ => return None,
    })
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

impl AlertKind {
    /// Derives the kind from an alert's labels: an `xid` label (or an `alertname` naming XIDs with
    /// the code in `xid`/`code`) gives [`AlertKind::GpuXid`]; NCCL timeouts take the job from
    /// `job_id` (else `slurm_job`, else `job`) and the rank nodes from `nodes` (comma separated);
    /// the rest is looked up by normalised `alertname`.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> AlertKind {
        let name = labels
            .get("alertname")
            .map(|s| normalise(s))
            .unwrap_or_default();
        let xid = labels
            .get("xid")
            .or_else(|| {
                if name.contains("xid") {
                    labels.get("code")
                } else {
                    None
                }
            })
            .and_then(|v| v.trim().parse::<u32>().ok());
        if let Some(code) = xid {
            return AlertKind::GpuXid { code };
        }
        if name.contains("nccl") {
            let job = ["job_id", "slurm_job", "job"]
                .iter()
                .find_map(|k| labels.get(*k))
                .cloned()
                .unwrap_or_default();
            let nodes = labels
                .get("nodes")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            return AlertKind::NcclTimeout { job, nodes };
        }
        kind_by_name(&name).unwrap_or_else(|| AlertKind::Other {
            name: labels.get("alertname").cloned().unwrap_or_default(),
        })
    }

    /// The name rules match on: `node_down`, `xid:79`, `nccl_timeout`, `other:<alertname>`.
    pub fn rule_name(&self) -> String {
        match self {
            AlertKind::GpuXid { code } => format!("xid:{code}"),
            AlertKind::Other { name } => format!("other:{name}"),
            k => k.simple_name().to_string(),
        }
    }

    fn simple_name(&self) -> &'static str {
        match self {
            AlertKind::BmcUnreachable => "bmc_unreachable",
            AlertKind::NodeDown => "node_down",
            AlertKind::TelemetryMissing => "telemetry_missing",
            AlertKind::GpuXid { .. } => "xid",
            AlertKind::EccSbe => "ecc_sbe",
            AlertKind::EccDbe => "ecc_dbe",
            AlertKind::RowRemapPending => "row_remap_pending",
            AlertKind::RowRemapFailed => "row_remap_failed",
            AlertKind::GpuThermal => "gpu_thermal",
            AlertKind::Throttle => "throttle",
            AlertKind::NicLinkDown => "nic_link_down",
            AlertKind::SwitchPortDown => "switch_port_down",
            AlertKind::SwitchDown => "switch_down",
            AlertKind::NcclTimeout { .. } => "nccl_timeout",
            AlertKind::PduFeedLost => "pdu_feed_lost",
            AlertKind::PduDown => "pdu_down",
            AlertKind::PduUnreachable => "pdu_unreachable",
            AlertKind::CduFault => "cdu_fault",
            AlertKind::GpuHealth => "gpu_health",
            AlertKind::Other { .. } => "other",
        }
    }

    pub fn xid(&self) -> Option<u32> {
        match self {
            AlertKind::GpuXid { code } => Some(*code),
            _ => None,
        }
    }
}

/// The simple kind names a rule may use (besides `xid:<code>`, `xid:*` and `other:<alertname>`).
pub const KIND_NAMES: &[&str] = &[
    "bmc_unreachable",
    "node_down",
    "telemetry_missing",
    "ecc_sbe",
    "ecc_dbe",
    "row_remap_pending",
    "row_remap_failed",
    "gpu_thermal",
    "throttle",
    "nic_link_down",
    "switch_port_down",
    "switch_down",
    "nccl_timeout",
    "pdu_feed_lost",
    "pdu_down",
    "pdu_unreachable",
    "cdu_fault",
    "gpu_health",
];

/// A kind as a rule names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum KindPattern {
    /// One simple kind (`node_down`).
    Simple(String),
    /// One XID (`xid:79`).
    Xid(u32),
    /// Any XID (`xid:*`).
    AnyXid,
    /// An unmapped alert by `alertname` (`other:MyAlert`).
    Other(String),
}

impl KindPattern {
    pub fn matches(&self, kind: &AlertKind) -> bool {
        match (self, kind) {
            (KindPattern::Xid(c), AlertKind::GpuXid { code }) => c == code,
            (KindPattern::AnyXid, AlertKind::GpuXid { .. }) => true,
            (KindPattern::Other(n), AlertKind::Other { name }) => n == name,
            (KindPattern::Simple(s), k) => k.simple_name() == s,
            _ => false,
        }
    }
}

impl FromStr for KindPattern {
    type Err = CorrelateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(code) = s.strip_prefix("xid:") {
            if code == "*" {
                return Ok(KindPattern::AnyXid);
            }
            return code.parse::<u32>().map(KindPattern::Xid).map_err(|_| {
                CorrelateError::UnknownName {
                    what: "XID code in alert kind",
                    name: s.to_string(),
                    expected: vec!["xid:<number>", "xid:*"],
                }
            });
        }
        if let Some(name) = s.strip_prefix("other:") {
            return Ok(KindPattern::Other(name.to_string()));
        }
        if KIND_NAMES.contains(&s) {
            return Ok(KindPattern::Simple(s.to_string()));
        }
        let mut expected: Vec<&'static str> = KIND_NAMES.to_vec();
        expected.extend(["xid:<code>", "xid:*", "other:<alertname>"]);
        Err(CorrelateError::UnknownName {
            what: "alert kind",
            name: s.to_string(),
            expected,
        })
    }
}

impl fmt::Display for KindPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindPattern::Simple(s) => f.write_str(s),
            KindPattern::Xid(c) => write!(f, "xid:{c}"),
            KindPattern::AnyXid => f.write_str("xid:*"),
            KindPattern::Other(n) => write!(f, "other:{n}"),
        }
    }
}

/// One alert, as received and resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Alertmanager's fingerprint (unique per label set).
    pub fingerprint: String,
    /// The full label set as received.
    pub labels: BTreeMap<String, String>,
    pub severity: Severity,
    /// `startsAt`, event time: what every window is measured on.
    pub starts_at: Millis,
    /// `endsAt` when resolved.
    #[serde(default)]
    pub ends_at: Option<Millis>,
    /// The CMDB asset the caller resolved from the labels, if any.
    #[serde(default)]
    pub asset: Option<AssetId>,
    pub kind: AlertKind,
}

impl Alert {
    /// An alert from its labels: kind from [`AlertKind::from_labels`], severity from `severity`.
    pub fn from_labels(
        fingerprint: impl Into<String>,
        labels: BTreeMap<String, String>,
        starts_at: Millis,
        asset: Option<AssetId>,
    ) -> Alert {
        let kind = AlertKind::from_labels(&labels);
        let severity = Severity::from_label(labels.get("severity").map(String::as_str));
        Alert {
            fingerprint: fingerprint.into(),
            labels,
            severity,
            starts_at,
            ends_at: None,
            asset,
            kind,
        }
    }

    /// A job named by the alert (NCCL timeouts, or a `job_id`/`slurm_job` label).
    pub fn job(&self) -> Option<&str> {
        match &self.kind {
            AlertKind::NcclTimeout { job, .. } if !job.is_empty() => Some(job),
            _ => self
                .labels
                .get("job_id")
                .or_else(|| self.labels.get("slurm_job"))
                .map(String::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kinds_from_labels() {
        assert_eq!(
            AlertKind::from_labels(&labels(&[("alertname", "NodeDown")])),
            AlertKind::NodeDown
        );
        assert_eq!(
            AlertKind::from_labels(&labels(&[("alertname", "GpuXidError"), ("xid", "79")])),
            AlertKind::GpuXid { code: 79 }
        );
        assert_eq!(
            AlertKind::from_labels(&labels(&[
                ("alertname", "NcclTimeout"),
                ("job_id", "j1"),
                ("nodes", "n1, n2")
            ])),
            AlertKind::NcclTimeout {
                job: "j1".into(),
                nodes: vec!["n1".into(), "n2".into()]
            }
        );
        assert_eq!(
            AlertKind::from_labels(&labels(&[("alertname", "pdu-feed-lost")])),
            AlertKind::PduFeedLost
        );
        assert_eq!(
            AlertKind::from_labels(&labels(&[("alertname", "DiskFull")])),
            AlertKind::Other {
                name: "DiskFull".into()
            }
        );
        assert_eq!(Severity::from_label(Some("page")), Severity::Critical);
    }

    #[test]
    fn patterns() {
        let p: KindPattern = "xid:79".parse().unwrap();
        assert!(p.matches(&AlertKind::GpuXid { code: 79 }));
        assert!(!p.matches(&AlertKind::GpuXid { code: 45 }));
        assert!("xid:*"
            .parse::<KindPattern>()
            .unwrap()
            .matches(&AlertKind::GpuXid { code: 45 }));
        assert!("node_down"
            .parse::<KindPattern>()
            .unwrap()
            .matches(&AlertKind::NodeDown));
        let e = "nod_down".parse::<KindPattern>().unwrap_err().to_string();
        assert!(e.contains("nod_down") && e.contains("node_down"), "{e}");
    }
}
