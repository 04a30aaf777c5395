//! Suggested actions: what an on-call engineer (or the remediation role, within its guard
//! rails) should do about an incident's root cause.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CorrelateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Reset the GPU (`nvidia-smi -r`, or through the BMC).
    ResetGpu,
    /// Restart the application or job.
    RestartApplication,
    /// Reboot the node (bare-metal restart).
    RebootNode,
    /// Drain the node and run diagnostics (dcgmi / field diagnostics).
    DrainAndDiagnose,
    /// Mark the part for return (RMA).
    Rma,
    /// Check cabling, seating and transceivers.
    CheckCabling,
    /// Open a facilities ticket for power.
    FacilitiesPower,
    /// Open a facilities ticket for cooling.
    FacilitiesCooling,
    /// Escalate to the vendor's support.
    ContactSupport,
    /// Nothing to do beyond watching.
    Observe,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::ResetGpu,
        Action::RestartApplication,
        Action::RebootNode,
        Action::DrainAndDiagnose,
        Action::Rma,
        Action::CheckCabling,
        Action::FacilitiesPower,
        Action::FacilitiesCooling,
        Action::ContactSupport,
        Action::Observe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ResetGpu => "reset_gpu",
            Action::RestartApplication => "restart_application",
            Action::RebootNode => "reboot_node",
            Action::DrainAndDiagnose => "drain_and_diagnose",
            Action::Rma => "rma",
            Action::CheckCabling => "check_cabling",
            Action::FacilitiesPower => "facilities_power",
            Action::FacilitiesCooling => "facilities_cooling",
            Action::ContactSupport => "contact_support",
            Action::Observe => "observe",
        }
    }

    /// The actions for an NVIDIA XID resolution bucket (the catalog's "Resolution Bucket
    /// (Immediate Action)" names, e.g. `RESET_GPU`, `RESTART_BM`, `WORKFLOW_XID_48`).
    pub fn for_bucket(bucket: &str) -> Vec<Action> {
        let b = bucket.trim().to_ascii_uppercase();
        match b.as_str() {
            "RESET_GPU" => vec![Action::ResetGpu],
            "RESTART_BM" => vec![Action::DrainAndDiagnose, Action::RebootNode],
            "RESTART_APP" | "RESTART_VM" | "XID_154_EVAL" => vec![Action::RestartApplication],
            "WORKFLOW_XID_48" => vec![Action::DrainAndDiagnose, Action::ResetGpu],
            "CHECK_MECHANICALS" | "INVESTIGATE_LINK_SI" | "INVESTIGATE_LINK_SI_AND_CABLES" => {
                vec![Action::CheckCabling]
            }
            "WORKFLOW_NVLINK_ERR" | "WORKFLOW_NVLINK5_ERR" => {
                vec![Action::DrainAndDiagnose, Action::CheckCabling]
            }
            "CONTACT_SUPPORT" | "REPORT_ISSUE" => vec![Action::ContactSupport],
            "IGNORE" | "WORKFLOW_XID_45" | "XID_154" => vec![Action::Observe],
            _ if b.starts_with("WORKFLOW_XID_") => vec![Action::DrainAndDiagnose],
            _ => vec![Action::DrainAndDiagnose],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = CorrelateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| CorrelateError::UnknownName {
                what: "action",
                name: s.to_string(),
                expected: Action::ALL.iter().map(|a| a.as_str()).collect(),
            })
    }
}
