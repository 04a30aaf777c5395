//! Remediation plans within guard rails: what gpufleet may do about an incident by itself, what
//! needs a person's approval, and what it must not do. Pure: the caller passes the incident's
//! suggested actions, the nodes they would act on (with their lifecycle state and rack), what
//! was already done in the window, and the time.
//!
//! Guard rails, in the order they are applied to each step:
//!
//! 1. **kill switch**: every step is refused;
//! 2. **node state**: no action on a node in maintenance, broken or retired, none on a node an
//!    action is already under way on, and a drain only of a node in service;
//! 3. **destructive actions** (reboot / power cycle) always need approval;
//! 4. **blast-radius budget**: at most `max_nodes_per_window` nodes acted on within `window_s`,
//!    and at most `max_rack_fraction` of a rack out of service (what is out already counts):
//!    beyond it a step needs approval;
//! 5. **plan size**: a plan that would act on more than `approval_above_nodes` nodes needs
//!    approval as a whole.
//!
//! An approval turns every "needs approval" into "execute"; a refusal stays a refusal.
//! Actions gpufleet cannot carry out itself (a facilities ticket, cabling, a GPU reset on the
//! host) are `manual` steps: shown, never executed. `rma` on an incident rooted at a GPU marks
//! that GPU for return (a record on the GPU, not an action on its node): refused under the kill
//! switch or when the GPU is marked already, needs approval when automatic unless listed in
//! `automatic`, and takes nothing from the node budget.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::alert::Millis;

/// The guard rails of the remediation role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardRails {
    /// Actions taken without a person (when automatic remediation is on).
    pub automatic: BTreeSet<Action>,
    /// The window of the budget, seconds.
    pub window_s: u64,
    /// Nodes acted on within the window, at most.
    pub max_nodes_per_window: usize,
    /// Share of a rack's nodes that may be out of service (draining, maintenance, broken)
    /// after an action, at most.
    pub max_rack_fraction: f64,
    /// A plan acting on more nodes than this needs approval.
    pub approval_above_nodes: usize,
}

impl Default for GuardRails {
    fn default() -> Self {
        GuardRails {
            automatic: [Action::DrainAndDiagnose].into_iter().collect(),
            window_s: 3600,
            max_nodes_per_window: 4,
            max_rack_fraction: 0.25,
            approval_above_nodes: 2,
        }
    }
}

/// What the planner knows of one node a step would act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub id: String,
    pub name: String,
    /// Its lifecycle state (`in_service`, `draining`, `maintenance`, …).
    pub state: String,
    pub rack: Option<String>,
    /// An action (a job, a drain by remediation) is already under way on it.
    pub busy: bool,
}

/// The fleet around the steps.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Nodes in each rack, and how many of them are out of service now.
    pub rack_nodes: BTreeMap<String, usize>,
    pub rack_out: BTreeMap<String, usize>,
    /// Nodes acted on by remediation, with when: those within the window use the budget.
    pub acted: Vec<(Millis, String)>,
    pub kill_switch: bool,
    pub now: Millis,
    /// The GPU the incident is rooted at, for part actions (`rma`).
    pub gpu: Option<GpuFacts>,
}

/// What the planner knows of the GPU an incident is rooted at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuFacts {
    pub id: String,
    pub name: String,
    /// Already marked for return (an open RMA record).
    pub rma: bool,
}

/// What becomes of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    Execute,
    NeedsApproval(String),
    Refused(String),
    /// Not something gpufleet does itself.
    Manual(String),
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    /// The node acted on; `None` for a manual step about the root asset.
    pub node: Option<String>,
    pub node_name: Option<String>,
    /// The GPU a part action (`rma`) marks; its node is `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    pub decision: Decision,
}

/// A remediation plan for one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Some step waits for a person's approval.
    pub approval_required: bool,
}

fn out_of_service(state: &str) -> bool {
    matches!(state, "draining" | "maintenance" | "broken" | "retired")
}

/// Whether gpufleet carries the action out itself, on the node.
pub fn executable(a: Action) -> bool {
    matches!(a, Action::DrainAndDiagnose | Action::RebootNode)
}

fn destructive(a: Action) -> bool {
    matches!(a, Action::RebootNode)
}

fn manual_reason(a: Action) -> &'static str {
    match a {
        Action::FacilitiesPower => "open a facilities ticket for power",
        Action::FacilitiesCooling => "open a facilities ticket for cooling",
        Action::CheckCabling => "check cabling, seating and transceivers on site",
        Action::ResetGpu => "reset the GPU on the host (nvidia-smi -r) or through the BMC",
        Action::RestartApplication => "restart the job or application",
        Action::Rma => "mark the part for return with the vendor (gpufleet records it when the incident is rooted at a GPU)",
        Action::ContactSupport => "escalate to the vendor's support",
        Action::Observe => "watch; nothing to do yet",
        Action::DrainAndDiagnose | Action::RebootNode => "no node to act on",
    }
}

/// The plan for an incident's `actions` on `nodes`. With `approved`, steps that need approval
/// are executed; with `automatic`, only the actions of `rails.automatic` are executed and the
/// rest wait for a person.
pub fn plan(
    actions: &[Action],
    nodes: &[NodeFacts],
    rails: &GuardRails,
    ctx: &Context,
    approved: bool,
    automatic: bool,
) -> Plan {
    let from = ctx.now - rails.window_s as Millis * 1000;
    let mut used: BTreeSet<&str> = ctx
        .acted
        .iter()
        .filter(|(at, _)| *at > from)
        .map(|(_, n)| n.as_str())
        .collect();
    let mut rack_out = ctx.rack_out.clone();
    let mut steps = Vec::new();
    for &action in actions {
        if action == Action::Rma {
            if let Some(g) = &ctx.gpu {
                let decision = if ctx.kill_switch {
                    Decision::Refused("remediation is switched off (kill switch)".into())
                } else if g.rma {
                    Decision::Refused(format!("GPU {} is already marked for RMA", g.name))
                } else if automatic && !rails.automatic.contains(&action) {
                    Decision::NeedsApproval("rma is not an automatic action".into())
                } else {
                    Decision::Execute
                };
                steps.push(Step {
                    action,
                    node: nodes.first().map(|n| n.id.clone()),
                    node_name: nodes.first().map(|n| n.name.clone()),
                    gpu: Some(g.id.clone()),
                    decision,
                });
                continue;
            }
        }
        if !executable(action) || nodes.is_empty() {
            steps.push(Step {
                action,
                node: None,
                node_name: None,
                gpu: None,
                decision: Decision::Manual(manual_reason(action).into()),
            });
            continue;
        }
        for n in nodes {
            let decision = decide(action, n, rails, ctx, &used, &rack_out, automatic);
            if decision == Decision::Execute || matches!(decision, Decision::NeedsApproval(_)) {
                // Counted as if it goes ahead, so that the next steps see the budget it takes.
                if used.insert(n.id.as_str()) && action == Action::DrainAndDiagnose {
                    if let Some(r) = &n.rack {
                        *rack_out.entry(r.clone()).or_default() += 1;
                    }
                }
            }
            steps.push(Step {
                action,
                node: Some(n.id.clone()),
                node_name: Some(n.name.clone()),
                gpu: None,
                decision,
            });
        }
    }
    // Nodes acted on (a part marked for return does not act on its node).
    let acting: BTreeSet<&str> = steps
        .iter()
        .filter(|s| s.gpu.is_none())
        .filter(|s| matches!(s.decision, Decision::Execute | Decision::NeedsApproval(_)))
        .filter_map(|s| s.node.as_deref())
        .collect();
    if acting.len() > rails.approval_above_nodes {
        let why = format!(
            "the plan acts on {} nodes, more than {} without approval",
            acting.len(),
            rails.approval_above_nodes
        );
        for s in &mut steps {
            if s.decision == Decision::Execute {
                s.decision = Decision::NeedsApproval(why.clone());
            }
        }
    }
    if approved {
        for s in &mut steps {
            if matches!(s.decision, Decision::NeedsApproval(_)) {
                s.decision = Decision::Execute;
            }
        }
    }
    let approval_required = steps
        .iter()
        .any(|s| matches!(s.decision, Decision::NeedsApproval(_)));
    Plan {
        steps,
        approval_required,
    }
}

fn decide(
    action: Action,
    n: &NodeFacts,
    rails: &GuardRails,
    ctx: &Context,
    used: &BTreeSet<&str>,
    rack_out: &BTreeMap<String, usize>,
    automatic: bool,
) -> Decision {
    if ctx.kill_switch {
        return Decision::Refused("remediation is switched off (kill switch)".into());
    }
    match n.state.as_str() {
        "maintenance" | "broken" | "retired" => {
            return Decision::Refused(format!("node {} is {}", n.name, n.state))
        }
        _ => {}
    }
    if n.busy || used.contains(n.id.as_str()) {
        return Decision::Refused(format!("an action is already under way on node {}", n.name));
    }
    if action == Action::DrainAndDiagnose && n.state != "in_service" {
        return Decision::Refused(format!(
            "node {} is {}, not in service: nothing to drain",
            n.name, n.state
        ));
    }
    if destructive(action) {
        return Decision::NeedsApproval(format!("{} is destructive", action.as_str()));
    }
    if automatic && !rails.automatic.contains(&action) {
        return Decision::NeedsApproval(format!("{} is not an automatic action", action.as_str()));
    }
    if used.len() >= rails.max_nodes_per_window {
        return Decision::NeedsApproval(format!(
            "budget: {} nodes acted on within {} s already (at most {})",
            used.len(),
            rails.window_s,
            rails.max_nodes_per_window
        ));
    }
    if let Some(r) = &n.rack {
        let size = ctx.rack_nodes.get(r).copied().unwrap_or(0).max(1);
        let out = rack_out.get(r).copied().unwrap_or(0) + usize::from(!out_of_service(&n.state));
        let share = out as f64 / size as f64;
        if share > rails.max_rack_fraction {
            return Decision::NeedsApproval(format!(
                "budget: {out} of {size} nodes of rack {r} would be out of service (at most {:.0} %)",
                rails.max_rack_fraction * 100.0
            ));
        }
    }
    Decision::Execute
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, state: &str, rack: &str) -> NodeFacts {
        NodeFacts {
            id: id.into(),
            name: format!("{id}-name"),
            state: state.into(),
            rack: Some(rack.into()),
            busy: false,
        }
    }

    fn ctx() -> Context {
        Context {
            rack_nodes: [("r1".to_string(), 8), ("r2".to_string(), 8)].into(),
            now: 10_000_000,
            ..Default::default()
        }
    }

    fn decisions(p: &Plan) -> Vec<&Decision> {
        p.steps.iter().map(|s| &s.decision).collect()
    }

    #[test]
    fn rma_marks_the_root_gpu_outside_the_node_budget() {
        let n = [node("n1", "maintenance", "r1")];
        let rails = GuardRails::default();
        let mut c = ctx();
        // No GPU root: a manual step.
        let p = plan(&[Action::Rma], &n, &rails, &c, false, false);
        assert!(matches!(p.steps[0].decision, Decision::Manual(_)));
        c.gpu = Some(GpuFacts {
            id: "g1".into(),
            name: "n1-gpu0".into(),
            rma: false,
        });
        // A node in maintenance does not stop marking its GPU; a person's run executes it.
        let p = plan(&[Action::Rma], &n, &rails, &c, false, false);
        assert_eq!(decisions(&p), [&Decision::Execute]);
        assert_eq!(p.steps[0].gpu.as_deref(), Some("g1"));
        assert_eq!(p.steps[0].node.as_deref(), Some("n1"));
        // Automatic: not in the automatic set, so it waits for approval.
        let p = plan(&[Action::Rma], &n, &rails, &c, false, true);
        assert!(matches!(p.steps[0].decision, Decision::NeedsApproval(_)));
        // Marked already, or the kill switch: refused.
        c.gpu.as_mut().unwrap().rma = true;
        let p = plan(&[Action::Rma], &n, &rails, &c, true, false);
        assert!(matches!(&p.steps[0].decision, Decision::Refused(r) if r.contains("already")));
        c.gpu.as_mut().unwrap().rma = false;
        c.kill_switch = true;
        let p = plan(&[Action::Rma], &n, &rails, &c, true, false);
        assert!(matches!(&p.steps[0].decision, Decision::Refused(r) if r.contains("kill")));
    }

    #[test]
    fn a_drain_of_one_node_in_service_goes_ahead() {
        let p = plan(
            &[Action::DrainAndDiagnose, Action::Rma],
            &[node("n1", "in_service", "r1")],
            &GuardRails::default(),
            &ctx(),
            false,
            true,
        );
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[0].decision, Decision::Execute);
        assert!(matches!(&p.steps[1].decision, Decision::Manual(m) if m.contains("return")));
        assert!(!p.approval_required);
    }

    #[test]
    fn the_kill_switch_and_the_node_state_refuse() {
        let mut c = ctx();
        c.kill_switch = true;
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[node("n1", "in_service", "r1")],
            &GuardRails::default(),
            &c,
            true,
            false,
        );
        assert!(matches!(&p.steps[0].decision, Decision::Refused(r) if r.contains("kill switch")));
        let p = plan(
            &[Action::DrainAndDiagnose, Action::RebootNode],
            &[
                node("n1", "maintenance", "r1"),
                node("n2", "draining", "r1"),
            ],
            &GuardRails::default(),
            &ctx(),
            true,
            false,
        );
        // No drain of a node in maintenance or already draining, no reboot in maintenance;
        // a draining node may be rebooted (approved here).
        let d = decisions(&p);
        assert!(
            d[..3].iter().all(|d| matches!(d, Decision::Refused(_))),
            "{p:?}"
        );
        assert_eq!(d[3], &Decision::Execute);
        let mut busy = node("n3", "in_service", "r1");
        busy.busy = true;
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[busy],
            &GuardRails::default(),
            &ctx(),
            true,
            false,
        );
        assert!(matches!(&p.steps[0].decision, Decision::Refused(r) if r.contains("under way")));
    }

    #[test]
    fn destructive_and_non_automatic_actions_wait_for_approval() {
        let n = [node("n1", "in_service", "r1")];
        let p = plan(
            &[Action::RebootNode],
            &n,
            &GuardRails::default(),
            &ctx(),
            false,
            false,
        );
        assert!(
            matches!(&p.steps[0].decision, Decision::NeedsApproval(r) if r.contains("destructive"))
        );
        assert!(p.approval_required);
        let p = plan(
            &[Action::RebootNode],
            &n,
            &GuardRails::default(),
            &ctx(),
            true,
            false,
        );
        assert_eq!(p.steps[0].decision, Decision::Execute);
        let rails = GuardRails {
            automatic: BTreeSet::new(),
            ..Default::default()
        };
        let p = plan(&[Action::DrainAndDiagnose], &n, &rails, &ctx(), false, true);
        assert!(
            matches!(&p.steps[0].decision, Decision::NeedsApproval(r) if r.contains("not an automatic"))
        );
        // A person running the plan needs no automatic permission for a drain.
        let p = plan(
            &[Action::DrainAndDiagnose],
            &n,
            &rails,
            &ctx(),
            false,
            false,
        );
        assert_eq!(p.steps[0].decision, Decision::Execute);
    }

    #[test]
    fn the_budget_counts_the_window_and_the_rack() {
        let rails = GuardRails {
            max_nodes_per_window: 2,
            approval_above_nodes: 10,
            ..Default::default()
        };
        let mut c = ctx();
        // One node acted on within the hour, one long before: one left in the budget.
        c.acted = vec![
            (c.now - 60_000, "old-1".into()),
            (c.now - 7_200_000, "old-2".into()),
        ];
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[node("a", "in_service", "r1"), node("b", "in_service", "r2")],
            &rails,
            &c,
            false,
            true,
        );
        assert_eq!(p.steps[0].decision, Decision::Execute);
        assert!(
            matches!(&p.steps[1].decision, Decision::NeedsApproval(r) if r.contains("budget: 2 nodes")),
            "{p:?}"
        );
        // A rack of 8 with one node out already: a second is 25 %, a third would be 37 %.
        c.acted.clear();
        c.rack_out.insert("r1".into(), 1);
        let rails = GuardRails {
            approval_above_nodes: 10,
            ..Default::default()
        };
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[node("a", "in_service", "r1"), node("b", "in_service", "r1")],
            &rails,
            &c,
            false,
            true,
        );
        assert_eq!(p.steps[0].decision, Decision::Execute);
        assert!(
            matches!(&p.steps[1].decision, Decision::NeedsApproval(r) if r.contains("rack r1")),
            "{p:?}"
        );
        // Approved: both go; the approval does not lift a refusal.
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[
                node("a", "in_service", "r1"),
                node("b", "in_service", "r1"),
                node("m", "maintenance", "r1"),
            ],
            &rails,
            &c,
            true,
            true,
        );
        assert_eq!(decisions(&p)[..2], [&Decision::Execute, &Decision::Execute]);
        assert!(matches!(decisions(&p)[2], Decision::Refused(_)));
    }

    #[test]
    fn a_large_plan_needs_approval_as_a_whole() {
        let nodes: Vec<NodeFacts> = (0..3)
            .map(|i| node(&format!("n{i}"), "in_service", &format!("rack{i}")))
            .collect();
        let mut c = ctx();
        for i in 0..3 {
            c.rack_nodes.insert(format!("rack{i}"), 8);
        }
        let p = plan(
            &[Action::DrainAndDiagnose],
            &nodes,
            &GuardRails::default(),
            &c,
            false,
            true,
        );
        assert!(p.approval_required);
        assert!(p
            .steps
            .iter()
            .all(|s| matches!(&s.decision, Decision::NeedsApproval(r) if r.contains("3 nodes"))));
        // No node: the drain is a manual step, never executed.
        let p = plan(
            &[Action::DrainAndDiagnose],
            &[],
            &GuardRails::default(),
            &c,
            true,
            false,
        );
        assert!(matches!(p.steps[0].decision, Decision::Manual(_)));
    }
}
