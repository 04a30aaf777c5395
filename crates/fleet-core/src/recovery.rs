//! The recovery ladder: a node stuck past its lifecycle state's deadline in a step gpufleet
//! drives itself — `discovered` or `inspecting` (the enricher's inspection) and `provisioning`
//! (an install attempt) — climbs one rung each time it is found stuck again:
//!
//! 1. **retry** the step: `inspecting → inspection_failed → inspecting` (the enricher inspects
//!    again), `discovered → inspecting`, or the provisioning attempt stopped and started again
//!    with the same plan;
//! 2. **BMC reset** (a `bmc.reset` job), then the step again once the job ended;
//! 3. **power cycle** (a `power.cycle` job), then the step again;
//! 4. **give up**: `inspecting → inspection_failed`, `provisioning → broken` (the attempt
//!    stopped), with the ladder's history as the reason, for a person.
//!
//! A retry re-enters the state, so the rungs are one state deadline apart. A ladder that gave
//! up stays so (the node is a person's) until it expires: a ladder whose last rung is older
//! than three deadlines starts over. A node without a BMC is not inspected, so the ladder
//! leaves one stuck in discovery alone. Every rung is audited (`node.recover`) and
//! acts as `system:recovery`; at most `max_actions_per_hour` rungs run fleet-wide per hour
//! (the rest wait for a later round), and none while remediation's kill switch is on. Nodes
//! stuck elsewhere (draining, maintenance, the failed states) are left to people: their jobs
//! or their diagnosis are not something a retry fixes. The ladders are saved with the incident
//! store (the `recovery` document), so a restart continues where it was.

use std::collections::BTreeMap;

use fleet_db::{AssetFilter, AuditEntry};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::lifecycle::{Deadlines, NodeState};
use fleet_model::rbac::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{CoreError, CoreResult};
use crate::principal::{Principal, SystemRole};
use crate::provisioning::{Engine, ProvisionSpec};
use crate::Core;

type Millis = i64;

/// How the ladder behaves.
#[derive(Debug, Clone)]
pub struct RecoverySettings {
    /// Climb ladders at all.
    pub enabled: bool,
    /// Rungs run fleet-wide per hour, at most.
    pub max_actions_per_hour: usize,
    /// The lifecycle deadlines (the configured ones).
    pub deadlines: Deadlines,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        RecoverySettings {
            enabled: true,
            max_actions_per_hour: 20,
            deadlines: Deadlines::default(),
        }
    }
}

/// One node's ladder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ladder {
    /// The step it is stuck in: `inspection` or `provisioning`.
    pub step: String,
    /// The last rung climbed (1 retry, 2 BMC reset, 3 power cycle, 4 given up).
    pub rung: u8,
    /// When the last rung ran (Unix ms).
    pub at: Millis,
    /// The job of a BMC reset or power cycle not yet followed by the retry.
    pub job: Option<String>,
    /// What each rung did, oldest first.
    pub history: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RecoveryState {
    /// Node id → its ladder.
    ladders: BTreeMap<String, Ladder>,
    /// When rungs ran (the hourly limit).
    actions: Vec<Millis>,
}

/// What a round did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecoveryReport {
    /// Nodes found stuck in a step the ladder drives.
    pub stuck: usize,
    pub actions: Vec<RecoveryAction>,
    /// Rungs left for a later round by the hourly limit.
    pub deferred: usize,
    /// Nothing was done: why (disabled, the kill switch).
    pub skipped: Option<String>,
}

/// One rung climbed (or the retry after a BMC reset or power cycle).
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryAction {
    pub node: String,
    pub node_name: String,
    pub state: String,
    pub rung: u8,
    /// `retry`, `bmc_reset`, `power_cycle`, `give_up`.
    pub action: String,
    /// What happened.
    pub outcome: String,
}

/// The step a state belongs to, if the ladder drives it.
fn step_of(state: NodeState) -> Option<&'static str> {
    match state {
        NodeState::Discovered | NodeState::Inspecting => Some("inspection"),
        NodeState::Provisioning => Some("provisioning"),
        _ => None,
    }
}

fn rung_name(r: u8) -> &'static str {
    match r {
        1 => "retry",
        2 => "bmc_reset",
        3 => "power_cycle",
        _ => "give_up",
    }
}

const HOUR_MS: Millis = 3_600_000;

impl Core {
    fn recovery_settings(&self) -> &RecoverySettings {
        &self.settings.recovery
    }

    /// The ladders now (for the API and tests).
    pub async fn recovery_ladders(&self, p: &Principal) -> CoreResult<BTreeMap<String, Ladder>> {
        p.require(Permission::InventoryRead, "read recovery ladders")?;
        self.ensure_correlation_loaded().await?;
        Ok(self.recovery.lock().ladders.clone())
    }

    /// Nodes past their deadline in a state of `step`, by id.
    async fn stuck_nodes(&self, now: Millis) -> CoreResult<Vec<Asset>> {
        let deadlines = self.recovery_settings().deadlines.clone();
        let mut out = Vec::new();
        for state in [
            NodeState::Discovered,
            NodeState::Inspecting,
            NodeState::Provisioning,
        ] {
            let mut after = None;
            loop {
                let page = self
                    .store
                    .list_assets(&AssetFilter {
                        kind: Some(AssetKind::Node),
                        state: Some(state),
                        stuck_at: Some((now, deadlines.clone())),
                        after_id: after.clone(),
                        limit: 500,
                        ..Default::default()
                    })
                    .await?;
                after = page.next_after.clone();
                out.extend(page.items);
                if after.is_none() {
                    break;
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// One round of the ladder over every stuck node (the server runs it every minute).
    /// `engine` is the provisioning engine (absent while provisioning is off: a stuck
    /// provisioning is then not retried, only climbed past).
    pub async fn recovery_round<E: Engine>(
        &self,
        engine: Option<&E>,
    ) -> CoreResult<RecoveryReport> {
        let mut report = RecoveryReport::default();
        if !self.recovery_settings().enabled {
            report.skipped = Some("recovery is disabled (recovery.enabled)".into());
            return Ok(report);
        }
        self.ensure_correlation_loaded().await?;
        if self.incidents.remediation.lock().kill_switch_on() {
            report.skipped = Some("remediation's kill switch is on".into());
            return Ok(report);
        }
        let now = fleet_db::now_ms();
        let stuck = self.stuck_nodes(now).await?;
        report.stuck = stuck.len();
        let p = Principal::system(SystemRole::Recovery);
        let max = self.recovery_settings().max_actions_per_hour;
        let mut changed = false;
        {
            // Ladders of nodes no longer stuck expire; the hourly window moves on.
            let mut g = self.recovery.lock();
            let keep = 3 * self.longest_deadline_ms();
            let before = g.ladders.len();
            g.ladders.retain(|_, l| l.at > now - keep);
            g.actions.retain(|t| *t > now - HOUR_MS);
            changed |= g.ladders.len() != before;
        }
        for node in stuck {
            let Some(state) = node.state else { continue };
            let Some(step) = step_of(state) else { continue };
            let deadline_ms = self
                .recovery_settings()
                .deadlines
                .get(state)
                .unwrap_or(3600) as Millis
                * 1000;
            let ladder = {
                let g = self.recovery.lock();
                g.ladders
                    .get(&node.id)
                    .filter(|l| l.step == step && l.at > now - 3 * deadline_ms.max(60_000))
                    .cloned()
            };
            // Given up: left for a person until the ladder expires.
            if ladder.as_ref().is_some_and(|l| l.rung >= 4) {
                continue;
            }
            // Without a BMC the inspection cannot run, and no rung can help.
            if step == "inspection"
                && self
                    .store
                    .children(&node.id, Some(AssetKind::Bmc))
                    .await?
                    .is_empty()
            {
                continue;
            }
            let budget_left = self.recovery.lock().actions.len() < max;
            let (rung, action, outcome, job) = match ladder.as_ref().and_then(|l| l.job.clone()) {
                // A BMC reset or power cycle was sent: the step again once its job ended.
                Some(job_id) => {
                    let job = match self.store.get_job(&job_id).await {
                        Ok(j) => Some(j),
                        Err(fleet_db::DbError::NotFound(_)) => None,
                        Err(e) => return Err(e.into()),
                    };
                    if job
                        .as_ref()
                        .is_some_and(|j| !fleet_db::job_state_is_final(&j.state))
                    {
                        continue;
                    }
                    if !budget_left {
                        report.deferred += 1;
                        continue;
                    }
                    let ended = match &job {
                        Some(j) => match &j.error {
                            Some(e) => format!("{} {}: {e}", j.kind, j.state),
                            None => format!("{} {}", j.kind, j.state),
                        },
                        None => format!("job {job_id} is gone"),
                    };
                    let rung = ladder.as_ref().map(|l| l.rung).unwrap_or(1);
                    let retried = self.retry_step(&p, engine, &node, state).await;
                    (
                        rung,
                        "retry".to_string(),
                        format!("after {ended}: {}", text(retried)),
                        None,
                    )
                }
                None => {
                    // Rungs one deadline apart, even when a retry could not re-enter the state.
                    if ladder.as_ref().is_some_and(|l| l.at > now - deadline_ms) {
                        continue;
                    }
                    if !budget_left {
                        report.deferred += 1;
                        continue;
                    }
                    let rung = ladder.as_ref().map(|l| l.rung).unwrap_or(0) + 1;
                    match rung {
                        1 => {
                            let r = self.retry_step(&p, engine, &node, state).await;
                            (rung, "retry".into(), text(r), None)
                        }
                        2 | 3 => {
                            let op = if rung == 2 {
                                crate::ops::Operation::BmcReset
                            } else {
                                crate::ops::Operation::Power(fleet_bmc::PowerAction::Cycle)
                            };
                            match self.submit(&p, &node.id, crate::ops::OpSpec::new(op)).await {
                                Ok(j) => (
                                    rung,
                                    rung_name(rung).into(),
                                    format!(
                                        "{} job {} queued; the step again when it ends",
                                        j.kind, j.id
                                    ),
                                    Some(j.id),
                                ),
                                // No job (no BMC, another power job in the way): straight to
                                // the retry, the rung counted.
                                Err(e) => {
                                    let r = self.retry_step(&p, engine, &node, state).await;
                                    (
                                        rung,
                                        rung_name(rung).into(),
                                        format!("not sent ({e}); {}", text(r)),
                                        None,
                                    )
                                }
                            }
                        }
                        _ => {
                            let history = ladder
                                .as_ref()
                                .map(|l| l.history.join("; "))
                                .unwrap_or_default();
                            let r = self.give_up(&p, engine, &node, state, &history).await;
                            (4, "give_up".into(), text(r), None)
                        }
                    }
                }
            };
            let audit = AuditEntry {
                action: "node.recover",
                kind: "node",
                target: Some(&node.id),
                before: Some(
                    json!({"state": state.as_str(), "rung": ladder.as_ref().map(|l| l.rung)}),
                ),
                after: Some(json!({"rung": rung, "action": action, "outcome": outcome})),
            };
            self.store
                .record_events(&p.actor(), Some(audit), &[])
                .await?;
            tracing::info!(node = %node.name, state = %state, rung, %action, %outcome, "recovery ladder");
            {
                let mut g = self.recovery.lock();
                g.actions.push(now);
                let mut history = ladder.map(|l| l.history).unwrap_or_default();
                history.push(format!("{action}: {outcome}"));
                g.ladders.insert(
                    node.id.clone(),
                    Ladder {
                        step: step.to_string(),
                        rung,
                        at: now,
                        job,
                        history,
                    },
                );
            }
            changed = true;
            report.actions.push(RecoveryAction {
                node: node.id.clone(),
                node_name: node.name.clone(),
                state: state.as_str().into(),
                rung,
                action,
                outcome,
            });
        }
        if changed {
            self.save_incident_store().await;
        }
        Ok(report)
    }

    fn longest_deadline_ms(&self) -> Millis {
        [
            NodeState::Discovered,
            NodeState::Inspecting,
            NodeState::Provisioning,
        ]
        .into_iter()
        .filter_map(|s| self.recovery_settings().deadlines.get(s))
        .max()
        .unwrap_or(3600) as Millis
            * 1000
    }

    /// Runs the step of `state` again.
    async fn retry_step<E: Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        node: &Asset,
        state: NodeState,
    ) -> CoreResult<String> {
        match state {
            NodeState::Discovered => {
                self.transition(
                    p,
                    &node.id,
                    NodeState::Inspecting,
                    Some("recovery: discovered past its deadline; inspection started".into()),
                )
                .await?;
                Ok("inspection started".into())
            }
            NodeState::Inspecting => {
                self.transition(
                    p,
                    &node.id,
                    NodeState::InspectionFailed,
                    Some("recovery: inspection past its deadline; retried".into()),
                )
                .await?;
                self.transition(
                    p,
                    &node.id,
                    NodeState::Inspecting,
                    Some("recovery: inspection retried".into()),
                )
                .await?;
                Ok("inspection retried".into())
            }
            NodeState::Provisioning => {
                let engine = engine.ok_or_else(|| {
                    CoreError::unavailable(
                        "Provisioning off",
                        "provisioning is off here: the attempt was not retried",
                    )
                })?;
                let run = self
                    .store
                    .latest_provisioning(&node.id)
                    .await?
                    .filter(|r| !fleet_db::provisioning_stage_is_final(&r.stage))
                    .ok_or_else(|| {
                        CoreError::conflict(
                            "Conflict",
                            format!("node {} has no provisioning attempt in progress", node.name),
                        )
                    })?;
                engine.stop(&run).await?;
                self.store
                    .finish_provisioning(
                        &p.actor(),
                        &run.id,
                        "cancelled",
                        NodeState::ProvisioningFailed,
                        format!(
                            "workflow {}: recovery: attempt past the provisioning deadline; retried",
                            run.workflow
                        ),
                        None,
                        None,
                    )
                    .await?;
                let spec = ProvisionSpec {
                    plan: Some(run.plan_id.clone()),
                    plan_version: Some(run.plan_version),
                    reason: Some(format!("recovery: retry of attempt {}", run.id)),
                };
                let again = self.provision(p, Some(engine), &node.id, &spec).await?;
                Ok(format!(
                    "attempt {} stopped; attempt {} started",
                    run.id, again.provisioning.id
                ))
            }
            other => Ok(format!("nothing to retry in {other}")),
        }
    }

    /// The last rung: the node leaves the step for a person.
    async fn give_up<E: Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        node: &Asset,
        state: NodeState,
        history: &str,
    ) -> CoreResult<String> {
        let reason = format!("recovery ladder exhausted ({history})");
        match state {
            NodeState::Inspecting => {
                self.transition(p, &node.id, NodeState::InspectionFailed, Some(reason))
                    .await?;
                Ok("moved to inspection_failed".into())
            }
            NodeState::Provisioning => {
                let live = self
                    .store
                    .latest_provisioning(&node.id)
                    .await?
                    .filter(|r| !fleet_db::provisioning_stage_is_final(&r.stage));
                match (live, engine) {
                    (Some(run), Some(engine)) => {
                        engine.stop(&run).await?;
                        self.store
                            .finish_provisioning(
                                &p.actor(),
                                &run.id,
                                "failed",
                                NodeState::Broken,
                                format!("workflow {}: {reason}", run.workflow),
                                None,
                                None,
                            )
                            .await?;
                    }
                    _ => {
                        self.transition(p, &node.id, NodeState::Broken, Some(reason))
                            .await?;
                    }
                }
                Ok("moved to broken".into())
            }
            other => Ok(format!("left in {other} for a person")),
        }
    }
}

fn text(r: CoreResult<String>) -> String {
    match r {
        Ok(s) => s,
        Err(e) => format!("failed: {e}"),
    }
}
