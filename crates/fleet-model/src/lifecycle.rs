//! Node lifecycle state machine.
//!
//! The table [`TRANSITIONS`] is the single source of truth: a transition not
//! listed there is illegal and is answered with the list of allowed targets.
//! Each entry carries a guard evaluated against a [`GuardContext`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Lifecycle state of a node.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Discovered,
    Inspecting,
    InspectionFailed,
    Ready,
    Provisioning,
    ProvisioningFailed,
    InService,
    Draining,
    Maintenance,
    Broken,
    Retired,
}

impl NodeState {
    pub const ALL: [NodeState; 11] = [
        NodeState::Discovered,
        NodeState::Inspecting,
        NodeState::InspectionFailed,
        NodeState::Ready,
        NodeState::Provisioning,
        NodeState::ProvisioningFailed,
        NodeState::InService,
        NodeState::Draining,
        NodeState::Maintenance,
        NodeState::Broken,
        NodeState::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Discovered => "discovered",
            NodeState::Inspecting => "inspecting",
            NodeState::InspectionFailed => "inspection_failed",
            NodeState::Ready => "ready",
            NodeState::Provisioning => "provisioning",
            NodeState::ProvisioningFailed => "provisioning_failed",
            NodeState::InService => "in_service",
            NodeState::Draining => "draining",
            NodeState::Maintenance => "maintenance",
            NodeState::Broken => "broken",
            NodeState::Retired => "retired",
        }
    }

    /// Default deadline for a node to leave this state, in seconds. `None`: the
    /// state is stable and a node may stay in it indefinitely.
    pub fn default_deadline_secs(self) -> Option<u64> {
        match self {
            NodeState::Discovered => Some(15 * 60),
            NodeState::Inspecting => Some(30 * 60),
            NodeState::Provisioning => Some(2 * 3600),
            NodeState::Draining => Some(4 * 3600),
            NodeState::InspectionFailed | NodeState::ProvisioningFailed => Some(24 * 3600),
            NodeState::Broken => Some(24 * 3600),
            NodeState::Maintenance => Some(7 * 24 * 3600),
            NodeState::Ready | NodeState::InService | NodeState::Retired => None,
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lifecycle state '{0}'; known states: discovered, inspecting, inspection_failed, ready, provisioning, provisioning_failed, in_service, draining, maintenance, broken, retired")]
pub struct UnknownState(pub String);

impl FromStr for NodeState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeState::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// Facts a guard may look at. The caller gathers them inside the same
/// transaction that performs the transition.
#[derive(Debug, Clone, Default)]
pub struct GuardContext {
    /// A BMC is registered for the node (needed to inspect or provision it).
    pub has_bmc: bool,
    /// An expected profile is assigned (needed to provision: it names what to install).
    pub has_profile: bool,
    /// The reason given for the transition, if any.
    pub reason: Option<String>,
}

/// Why a guard refused a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    None,
    NeedsBmc,
    NeedsProfile,
    NeedsReason,
}

impl Guard {
    fn check(self, ctx: &GuardContext) -> Result<(), String> {
        let has_reason = ctx
            .reason
            .as_deref()
            .map(|r| !r.trim().is_empty())
            .unwrap_or(false);
        match self {
            Guard::None => Ok(()),
            Guard::NeedsBmc if !ctx.has_bmc => {
                Err("the node has no BMC registered; register one (a 'bmc' asset managing the node) first".into())
            }
            Guard::NeedsProfile if !ctx.has_profile => {
                Err("the node has no expected profile; assign one with PUT /api/v1/nodes/{id}/profile first".into())
            }
            Guard::NeedsReason if !has_reason => {
                Err("this transition needs a non-empty 'reason'".into())
            }
            _ => Ok(()),
        }
    }
}

use NodeState::*;

/// The transition table: (from, to, guard).
pub const TRANSITIONS: &[(NodeState, NodeState, Guard)] = &[
    (Discovered, Inspecting, Guard::NeedsBmc),
    (Discovered, Retired, Guard::NeedsReason),
    (Inspecting, Ready, Guard::None),
    (Inspecting, InspectionFailed, Guard::NeedsReason),
    (InspectionFailed, Inspecting, Guard::NeedsBmc),
    (InspectionFailed, Maintenance, Guard::None),
    (InspectionFailed, Retired, Guard::NeedsReason),
    (Ready, Provisioning, Guard::NeedsProfile),
    (Ready, Inspecting, Guard::NeedsBmc),
    (Ready, Maintenance, Guard::None),
    (Ready, Broken, Guard::NeedsReason),
    (Ready, Retired, Guard::NeedsReason),
    (Provisioning, InService, Guard::None),
    (Provisioning, ProvisioningFailed, Guard::NeedsReason),
    (Provisioning, Broken, Guard::NeedsReason),
    (ProvisioningFailed, Provisioning, Guard::NeedsProfile),
    (ProvisioningFailed, Maintenance, Guard::None),
    (ProvisioningFailed, Ready, Guard::None),
    (InService, Draining, Guard::None),
    (InService, Broken, Guard::NeedsReason),
    (Draining, InService, Guard::None),
    (Draining, Maintenance, Guard::None),
    (Draining, Broken, Guard::NeedsReason),
    (Maintenance, Ready, Guard::None),
    (Maintenance, Inspecting, Guard::NeedsBmc),
    // Re-provisioned from maintenance: a diagnosis (the install's GPU validation) or a repair.
    (Maintenance, Provisioning, Guard::NeedsProfile),
    (Maintenance, Retired, Guard::NeedsReason),
    (Broken, Maintenance, Guard::None),
    (Broken, Retired, Guard::NeedsReason),
];

/// States reachable from `from` in one step, in table order.
pub fn allowed_from(from: NodeState) -> Vec<NodeState> {
    TRANSITIONS
        .iter()
        .filter(|(f, _, _)| *f == from)
        .map(|(_, t, _)| *t)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("transition {from} -> {to} is not allowed; from {from} the allowed targets are: {}", fmt_states(.allowed))]
    Illegal {
        from: NodeState,
        to: NodeState,
        allowed: Vec<NodeState>,
    },
    #[error("transition {from} -> {to} is refused: {message}")]
    Guarded {
        from: NodeState,
        to: NodeState,
        message: String,
    },
}

fn fmt_states(states: &[NodeState]) -> String {
    if states.is_empty() {
        return "none (terminal state)".into();
    }
    states
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a transition against the table and its guard.
pub fn check_transition(
    from: NodeState,
    to: NodeState,
    ctx: &GuardContext,
) -> Result<(), TransitionError> {
    match TRANSITIONS.iter().find(|(f, t, _)| *f == from && *t == to) {
        None => Err(TransitionError::Illegal {
            from,
            to,
            allowed: allowed_from(from),
        }),
        Some((_, _, guard)) => guard
            .check(ctx)
            .map_err(|message| TransitionError::Guarded { from, to, message }),
    }
}

/// Per-state deadlines, starting from the defaults and overridable by configuration.
#[derive(Debug, Clone)]
pub struct Deadlines {
    secs: std::collections::BTreeMap<NodeState, Option<u64>>,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            secs: NodeState::ALL
                .iter()
                .map(|s| (*s, s.default_deadline_secs()))
                .collect(),
        }
    }
}

impl Deadlines {
    /// Overrides the deadline of one state; `0` removes the deadline.
    pub fn set(&mut self, state: NodeState, secs: u64) {
        self.secs
            .insert(state, if secs == 0 { None } else { Some(secs) });
    }

    pub fn get(&self, state: NodeState) -> Option<u64> {
        self.secs.get(&state).copied().flatten()
    }

    /// Whether a node that entered `state` at `entered_ms` is past its deadline at `now_ms`.
    pub fn is_stuck(&self, state: NodeState, entered_ms: i64, now_ms: i64) -> bool {
        match self.get(state) {
            Some(d) => now_ms.saturating_sub(entered_ms) > (d as i64).saturating_mul(1000),
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (NodeState, Option<u64>)> + '_ {
        self.secs.iter().map(|(k, v)| (*k, *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full_ctx() -> GuardContext {
        GuardContext {
            has_bmc: true,
            has_profile: true,
            reason: Some("test".into()),
        }
    }

    #[test]
    fn happy_path_reaches_in_service_and_back_to_ready() {
        let path = [
            Discovered,
            Inspecting,
            Ready,
            Provisioning,
            InService,
            Draining,
            Maintenance,
            Ready,
        ];
        for w in path.windows(2) {
            check_transition(w[0], w[1], &full_ctx()).unwrap();
        }
    }

    #[test]
    fn illegal_transition_names_the_allowed_targets() {
        let err = check_transition(Discovered, InService, &full_ctx()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("inspecting"), "{msg}");
        assert!(msg.contains("retired"), "{msg}");
        match err {
            TransitionError::Illegal { allowed, .. } => {
                assert_eq!(allowed, vec![Inspecting, Retired])
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn retired_is_terminal() {
        assert!(allowed_from(Retired).is_empty());
        let msg = check_transition(Retired, Ready, &full_ctx())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("terminal"), "{msg}");
    }

    #[test]
    fn guards_refuse_without_their_facts() {
        let none = GuardContext::default();
        assert!(matches!(
            check_transition(Discovered, Inspecting, &none),
            Err(TransitionError::Guarded { .. })
        ));
        assert!(matches!(
            check_transition(Ready, Provisioning, &none),
            Err(TransitionError::Guarded { .. })
        ));
        let blank = GuardContext {
            reason: Some("  ".into()),
            ..Default::default()
        };
        assert!(check_transition(InService, Broken, &blank).is_err());
        check_transition(InService, Draining, &none).unwrap();
    }

    #[test]
    fn every_state_has_a_way_out_except_retired() {
        for s in NodeState::ALL {
            if s != Retired {
                assert!(!allowed_from(s).is_empty(), "{s} has no way out");
            }
        }
    }

    #[test]
    fn every_state_is_reachable_from_discovered() {
        let mut seen = std::collections::BTreeSet::from([Discovered]);
        let mut frontier = vec![Discovered];
        while let Some(s) = frontier.pop() {
            for t in allowed_from(s) {
                if seen.insert(t) {
                    frontier.push(t);
                }
            }
        }
        assert_eq!(seen.len(), NodeState::ALL.len());
    }

    #[test]
    fn deadlines_detect_stuck_and_zero_disables() {
        let mut d = Deadlines::default();
        assert!(d.is_stuck(Inspecting, 0, 31 * 60 * 1000));
        assert!(!d.is_stuck(Inspecting, 0, 29 * 60 * 1000));
        assert!(!d.is_stuck(InService, 0, i64::MAX));
        d.set(Inspecting, 0);
        assert!(!d.is_stuck(Inspecting, 0, i64::MAX));
        d.set(InService, 10);
        assert!(d.is_stuck(InService, 0, 11_000));
    }

    #[test]
    fn state_names_round_trip() {
        for s in NodeState::ALL {
            assert_eq!(s.as_str().parse::<NodeState>().unwrap(), s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert!("bogus".parse::<NodeState>().is_err());
    }

    proptest! {
        // Any sequence of attempted transitions either follows the table or is
        // refused; a refused transition never changes the state.
        #[test]
        fn random_walks_only_follow_the_table(steps in proptest::collection::vec(0usize..11, 0..60)) {
            let mut state = Discovered;
            for i in steps {
                let to = NodeState::ALL[i];
                match check_transition(state, to, &full_ctx()) {
                    Ok(()) => {
                        prop_assert!(TRANSITIONS.iter().any(|(f, t, _)| *f == state && *t == to));
                        state = to;
                    }
                    Err(TransitionError::Illegal { allowed, .. }) => {
                        prop_assert!(!allowed.contains(&to));
                    }
                    Err(e) => prop_assert!(false, "guard refused with full context: {e}"),
                }
            }
        }
    }
}
