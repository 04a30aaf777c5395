//! Remediation of incidents within guard rails (the plan itself: `fleet_correlate::remediate`).
//!
//! An incident's suggested actions act on the node that holds its root cause (the GPU's node,
//! or the node itself); causes above the node (a PDU feed, a switch) give manual steps only.
//! Executable actions: `drain_and_diagnose` (the lifecycle move `in_service → draining`, whose
//! reason names the incident) and `reboot_node` (a power-cycle job, always with approval).
//!
//! - A **dry run** ([`Core::remediation_plan`]) shows the plan and what each guard decided.
//! - A person runs it ([`Core::remediate_incident`], `IncidentManage`); `approve` lets the steps
//!   that need approval go; refusals stay refusals. The steps run with the person's own
//!   permissions.
//! - **Automatically** (`remediation.automatic`), the correlation tick plans every open,
//!   unacknowledged incident once, as `system:remediation`, and executes only the actions of
//!   the automatic set within the budget; what needs approval waits, named in the incident's
//!   timeline.
//! - The **kill switch** ([`Core::set_kill_switch`], `RemediationAdmin`) refuses every step,
//!   automatic or not, until it is switched off.
//!
//! Every executed step is audited (`incident.remediate`, naming the incident, the action, the
//! node and who approved), appears in the incident's timeline and in [`Core::remediation_status`].
//! Budget, kill switch and the record of actions are held by the process that runs the
//! incident store, like the incidents themselves, and saved with it: a restart keeps them.

use std::collections::{BTreeMap, VecDeque};

use fleet_correlate::action::Action;
use fleet_correlate::alert::Millis;
use fleet_correlate::remediate::{self, Context, Decision, GuardRails, NodeFacts};
use fleet_db::{AssetFilter, AuditEntry};
use fleet_model::asset::AssetKind;
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{CoreError, CoreResult};
use crate::principal::{Principal, SystemRole};
use crate::Core;

/// How remediation behaves.
#[derive(Debug, Clone, Default)]
pub struct RemediationSettings {
    /// Plan and execute automatic actions for new incidents without a person.
    pub automatic: bool,
    pub rails: GuardRails,
}

/// One action remediation carried out (or tried to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub at: String,
    pub incident: String,
    pub action: String,
    pub node: String,
    pub node_name: String,
    /// Who ran it: a person, or `system:remediation`.
    pub by: String,
    pub approved: bool,
    /// `done`, or `failed: <why>`.
    pub outcome: String,
}

/// Kept with the incident store (the `remediation` document), so a restart keeps the kill
/// switch, the budget's window, the incidents already planned and the record of actions.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RemediationState {
    kill_switch: Option<(String, String)>,
    /// Nodes acted on, with when (the budget's window).
    acted: Vec<(Millis, String)>,
    /// Incidents the automatic pass has planned.
    handled: BTreeMap<String, Millis>,
    log: VecDeque<ActionRecord>,
    /// Diagnoses under way, by provisioning run id.
    diagnoses: BTreeMap<String, Diagnosis>,
    /// Nodes drained for `drain_and_diagnose`, by node id, with the incident: diagnosed
    /// automatically once they reach maintenance (see [`Core::diagnose_drained`]).
    to_diagnose: BTreeMap<String, String>,
}

/// A diagnosis under way: a re-provisioning of a drained node whose GPU validation
/// (`nvidia-smi`, `dcgmi diag`) decides what becomes of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The provisioning run.
    pub run: String,
    pub node: String,
    pub node_name: String,
    /// The incident it diagnoses, and that incident's GPU (the one an RMA record goes on).
    pub incident: Option<String>,
    pub gpu: Option<String>,
    pub by: String,
    pub at: Millis,
}

/// One step of a plan as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub action: String,
    pub node: Option<String>,
    pub node_name: Option<String>,
    /// The GPU a part action (`rma`) marks.
    pub gpu: Option<String>,
    /// `execute`, `needs_approval`, `refused` or `manual`.
    pub decision: String,
    /// Why it needs approval, was refused, or what a person does (manual).
    pub reason: Option<String>,
    /// After a run: `done`, `failed: …`; absent in a dry run or for steps not executed.
    pub outcome: Option<String>,
}

/// A remediation plan for one incident.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub incident: String,
    /// The node the node actions act on, if the root cause is on one.
    pub target_node: Option<String>,
    /// Nothing was executed.
    pub dry_run: bool,
    pub approved: bool,
    /// Some step still waits for approval.
    pub approval_required: bool,
    pub kill_switch: bool,
    pub steps: Vec<StepView>,
}

/// What remediation is allowed and has done.
#[derive(Debug, Clone, Serialize)]
pub struct RemediationStatus {
    pub automatic: bool,
    pub kill_switch: bool,
    /// Who switched it on and why.
    pub kill_switch_by: Option<String>,
    pub kill_switch_reason: Option<String>,
    pub rails: GuardRails,
    /// Nodes acted on within the budget's window.
    pub window_used: usize,
    /// The latest actions, newest first.
    pub recent: Vec<ActionRecord>,
    /// Diagnoses under way.
    pub diagnoses: Vec<Diagnosis>,
}

fn rfc(ms: Millis) -> String {
    fleet_model::timefmt::rfc3339(ms)
}

fn decision_parts(d: &Decision) -> (&'static str, Option<String>) {
    match d {
        Decision::Execute => ("execute", None),
        Decision::NeedsApproval(r) => ("needs_approval", Some(r.clone())),
        Decision::Refused(r) => ("refused", Some(r.clone())),
        Decision::Manual(r) => ("manual", Some(r.clone())),
    }
}

impl RemediationState {
    pub(crate) fn kill_switch_on(&self) -> bool {
        self.kill_switch.is_some()
    }
}

impl Core {
    fn rem_settings(&self) -> &RemediationSettings {
        &self.incidents.settings().remediation
    }

    /// The incident's current id, its suggested actions and the node its root cause is on.
    async fn remediation_inputs(
        &self,
        id: &str,
    ) -> CoreResult<(
        String,
        Vec<Action>,
        Option<String>,
        Option<fleet_model::asset::Asset>,
    )> {
        let now = fleet_db::now_ms();
        let (cur, actions, root, kind) = {
            let st = self.incidents.state.lock().await;
            let cur = st
                .current_id(id)
                .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")))?;
            let v = st
                .view(&cur, false, now)
                .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")))?;
            let actions: Vec<Action> = v.actions.iter().filter_map(|a| a.parse().ok()).collect();
            (
                cur,
                actions,
                v.root_cause.asset_id.clone(),
                v.root_cause.kind.clone(),
            )
        };
        let mut gpu = None;
        let node = match (root, kind.as_deref()) {
            (Some(r), Some("node")) => Some(r),
            (Some(r), Some("gpu")) => match self.store.get_asset(&r).await {
                Ok(g) => {
                    let parent = g.parent_id.clone();
                    gpu = Some(g);
                    parent
                }
                Err(fleet_db::DbError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        Ok((cur, actions, node, gpu))
    }

    /// The guard rails' view of the node and its rack.
    async fn remediation_context(
        &self,
        node: Option<&str>,
    ) -> CoreResult<(Vec<NodeFacts>, Context)> {
        let now = fleet_db::now_ms();
        let mut ctx = Context {
            now,
            ..Default::default()
        };
        self.ensure_correlation_loaded().await?;
        {
            let r = self.incidents.remediation.lock();
            ctx.kill_switch = r.kill_switch.is_some();
            ctx.acted = r.acted.clone();
        }
        let Some(node) = node else {
            return Ok((vec![], ctx));
        };
        let n = match self.store.get_asset(node).await {
            Ok(n) => n,
            Err(fleet_db::DbError::NotFound(_)) => return Ok((vec![], ctx)),
            Err(e) => return Err(e.into()),
        };
        if let Some(rack) = &n.parent_id {
            let peers = self
                .assets_where(
                    AssetFilter {
                        kind: Some(AssetKind::Node),
                        parent_id: Some(rack.clone()),
                        ..Default::default()
                    },
                    10_000,
                )
                .await?;
            let out = peers
                .iter()
                .filter(|p| {
                    matches!(
                        p.state,
                        Some(
                            NodeState::Draining
                                | NodeState::Maintenance
                                | NodeState::Broken
                                | NodeState::Retired
                        )
                    )
                })
                .count();
            ctx.rack_nodes.insert(rack.clone(), peers.len());
            ctx.rack_out.insert(rack.clone(), out);
        }
        let facts = NodeFacts {
            busy: false,
            state: n.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
            rack: n.parent_id.clone(),
            name: n.name.clone(),
            id: n.id.clone(),
        };
        Ok((vec![facts], ctx))
    }

    async fn build_plan(
        &self,
        id: &str,
        approved: bool,
        automatic: bool,
    ) -> CoreResult<(String, Option<String>, remediate::Plan, bool)> {
        let (cur, actions, node, gpu) = self.remediation_inputs(id).await?;
        let (nodes, mut ctx) = self.remediation_context(node.as_deref()).await?;
        ctx.gpu = gpu.map(|g| remediate::GpuFacts {
            rma: open_rma(&g.config),
            id: g.id,
            name: g.name,
        });
        let plan = remediate::plan(
            &actions,
            &nodes,
            &self.rem_settings().rails,
            &ctx,
            approved,
            automatic,
        );
        Ok((cur, node, plan, ctx.kill_switch))
    }

    fn plan_view(
        incident: String,
        node: Option<String>,
        plan: &remediate::Plan,
        kill_switch: bool,
        approved: bool,
        outcomes: Option<&[Option<String>]>,
    ) -> PlanView {
        PlanView {
            incident,
            target_node: node,
            dry_run: outcomes.is_none(),
            approved,
            approval_required: plan.approval_required,
            kill_switch,
            steps: plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (decision, reason) = decision_parts(&s.decision);
                    StepView {
                        action: s.action.as_str().to_string(),
                        node: s.node.clone(),
                        node_name: s.node_name.clone(),
                        gpu: s.gpu.clone(),
                        decision: decision.into(),
                        reason,
                        outcome: outcomes.and_then(|o| o.get(i).cloned().flatten()),
                    }
                })
                .collect(),
        }
    }

    /// The plan for an incident, nothing executed (a dry run).
    pub async fn remediation_plan(&self, p: &Principal, id: &str) -> CoreResult<PlanView> {
        p.require(Permission::InventoryRead, "read remediation plans")?;
        let (cur, node, plan, kill) = self.build_plan(id, false, false).await?;
        Ok(Self::plan_view(cur, node, &plan, kill, false, None))
    }

    /// Runs an incident's plan as `p` (`dry_run`: only shows it). With `approve`, the steps
    /// that need approval are executed too.
    pub async fn remediate_incident(
        &self,
        p: &Principal,
        id: &str,
        approve: bool,
        dry_run: bool,
    ) -> CoreResult<PlanView> {
        p.require(Permission::IncidentManage, "remediate incidents")?;
        let (cur, node, plan, kill) = self.build_plan(id, approve, false).await?;
        if dry_run {
            return Ok(Self::plan_view(cur, node, &plan, kill, approve, None));
        }
        let outcomes = self.execute_plan(p, &cur, &plan, approve).await?;
        Ok(Self::plan_view(
            cur,
            node,
            &plan,
            kill,
            approve,
            Some(&outcomes),
        ))
    }

    /// Executes the `execute` steps of `plan` as `p`; returns each step's outcome.
    async fn execute_plan(
        &self,
        p: &Principal,
        incident: &str,
        plan: &remediate::Plan,
        approved: bool,
    ) -> CoreResult<Vec<Option<String>>> {
        let mut outcomes = Vec::with_capacity(plan.steps.len());
        for s in &plan.steps {
            let (Decision::Execute, Some(node)) = (&s.decision, &s.node) else {
                outcomes.push(None);
                continue;
            };
            let how = if approved {
                format!(" (approved by {})", p.name)
            } else {
                String::new()
            };
            let reason = format!(
                "remediation of incident {incident}: {}{how}",
                s.action.as_str()
            );
            let r = match s.action {
                Action::DrainAndDiagnose => {
                    let r = self
                        .transition(p, node, NodeState::Draining, Some(reason.clone()))
                        .await
                        .map(drop);
                    if r.is_ok() && self.rem_settings().automatic {
                        self.incidents
                            .remediation
                            .lock()
                            .to_diagnose
                            .insert(node.clone(), incident.to_string());
                    }
                    r
                }
                Action::Rma => match &s.gpu {
                    Some(gpu) => self.mark_gpu_rma(p, gpu, incident, &reason).await,
                    None => Err(CoreError::Internal("rma without a GPU".into())),
                },
                Action::RebootNode => self
                    .submit(
                        p,
                        node,
                        crate::ops::OpSpec::new(crate::ops::Operation::Power(
                            fleet_bmc::PowerAction::Cycle,
                        )),
                    )
                    .await
                    .map(drop),
                other => Err(CoreError::Internal(format!(
                    "{} is not an action gpufleet executes",
                    other.as_str()
                ))),
            };
            let now = fleet_db::now_ms();
            let outcome = match &r {
                Ok(()) => "done".to_string(),
                Err(e) => format!("failed: {e}"),
            };
            let record = ActionRecord {
                at: rfc(now),
                incident: incident.to_string(),
                action: s.action.as_str().to_string(),
                node: node.clone(),
                node_name: s.node_name.clone().unwrap_or_default(),
                by: p.name.clone(),
                approved,
                outcome: outcome.clone(),
            };
            {
                let mut rs = self.incidents.remediation.lock();
                // A part marked for return took nothing from the node budget.
                if r.is_ok() && s.gpu.is_none() {
                    rs.acted.push((now, node.clone()));
                    let window = self.rem_settings().rails.window_s as Millis * 1000;
                    rs.acted.retain(|(at, _)| *at > now - window);
                }
                rs.log.push_front(record.clone());
                rs.log.truncate(200);
            }
            let audit = AuditEntry {
                action: "incident.remediate",
                kind: "incident",
                target: Some(incident),
                before: None,
                after: Some(json!({
                    "action": record.action,
                    "node": node,
                    "approved": approved,
                    "outcome": outcome,
                })),
            };
            self.store
                .record_events(&p.actor(), Some(audit), &[])
                .await?;
            self.incident_timeline(
                incident,
                "remediation",
                &p.name,
                format!(
                    "{} on {}: {outcome}",
                    s.action.as_str(),
                    s.node_name.as_deref().unwrap_or(node)
                ),
            )
            .await;
            outcomes.push(Some(outcome));
        }
        Ok(outcomes)
    }

    /// Marks a GPU for return: an `rma` record in its configuration (a new version, audited,
    /// kept with the GPU wherever it moves): `state: requested`, the incident, why, who, when.
    /// Refused when an open RMA record is there already.
    async fn mark_gpu_rma(
        &self,
        p: &Principal,
        gpu: &str,
        incident: &str,
        reason: &str,
    ) -> CoreResult<()> {
        let g = self.store.get_asset(gpu).await?;
        if open_rma(&g.config) {
            return Err(CoreError::conflict(
                "RMA already open",
                format!("GPU {} is already marked for RMA", g.name),
            ));
        }
        let mut config = g.config.clone();
        if let Some(obj) = config.as_object_mut() {
            obj.insert(
                "rma".into(),
                json!({
                    "state": "requested",
                    "incident": incident,
                    "reason": reason,
                    "requested_by": p.name,
                    "requested_at": rfc(fleet_db::now_ms()),
                }),
            );
        }
        self.put_config(p, gpu, Some(g.version), config, Some(reason.to_string()))
            .await
            .map(drop)
    }

    async fn incident_timeline(&self, id: &str, event: &str, by: &str, detail: String) {
        let now = fleet_db::now_ms();
        let mut st = self.incidents.state.lock().await;
        if let Some(cur) = st.current_id(id) {
            st.push_timeline(&cur, event, by, detail, now);
        }
        self.save_correlation(&mut st).await;
    }

    /// The automatic pass (from the correlation tick): each open, unacknowledged incident is
    /// planned once as `system:remediation`; only automatic actions within the budget run.
    pub(crate) async fn remediate_automatically(&self) {
        let s = self.rem_settings();
        if !s.automatic || self.incidents.remediation.lock().kill_switch.is_some() {
            return;
        }
        let now = fleet_db::now_ms();
        let open: Vec<String> = {
            let st = self.incidents.state.lock().await;
            st.open_ids()
        };
        let p = Principal::system(SystemRole::Remediation);
        for id in open {
            {
                let mut rs = self.incidents.remediation.lock();
                if rs.handled.contains_key(&id) {
                    continue;
                }
                rs.handled.insert(id.clone(), now);
                // Forget incidents planned a day ago (they are long resolved or merged).
                rs.handled.retain(|_, at| *at > now - 86_400_000);
            }
            let (cur, _, plan, _) = match self.build_plan(&id, false, true).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(incident = %id, error = %e, "remediation: no plan");
                    continue;
                }
            };
            if !plan.steps.iter().any(|s| s.node.is_some()) {
                continue;
            }
            if let Err(e) = self.execute_plan(&p, &cur, &plan, false).await {
                tracing::warn!(incident = %cur, error = %e, "remediation: plan not executed");
            }
            let waiting: Vec<String> = plan
                .steps
                .iter()
                .filter_map(|s| match &s.decision {
                    Decision::NeedsApproval(r) => Some(format!("{}: {r}", s.action.as_str())),
                    _ => None,
                })
                .collect();
            if !waiting.is_empty() {
                self.incident_timeline(
                    &cur,
                    "remediation_waits",
                    "system:remediation",
                    format!("waits for approval — {}", waiting.join("; ")),
                )
                .await;
            }
        }
    }

    /// Diagnoses a drained node (`draining` moves to `maintenance` first): the node is
    /// re-provisioned with its install plan, whose last action validates the GPUs
    /// (`nvidia-smi`, `dcgmi diag`). When the run ends (see [`Core::follow_diagnoses`]) a node
    /// that passed is back in service; one whose GPU validation failed goes to maintenance
    /// with an RMA record on the incident's GPU; one whose install failed elsewhere goes to
    /// maintenance without one. `incident` names the incident it diagnoses (its GPU must be on
    /// this node). Refused while the kill switch is on.
    pub async fn diagnose_node<E: crate::provisioning::Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        node: &str,
        incident: Option<&str>,
    ) -> CoreResult<crate::provisioning::Run> {
        p.require(Permission::OobOperate, "diagnose nodes")?;
        p.require(Permission::LifecycleWrite, "diagnose nodes")?;
        let engine = engine.ok_or_else(crate::provisioning::off)?;
        self.ensure_correlation_loaded().await?;
        if self.incidents.remediation.lock().kill_switch.is_some() {
            return Err(CoreError::conflict(
                "Kill switch on",
                "remediation's kill switch is on: no diagnosis starts",
            ));
        }
        let n = self.node(node).await?;
        let (incident, gpu) = match incident {
            Some(id) => {
                let v = self.get_incident(p, id).await?;
                let gpu = match (v.root_cause.kind.as_deref(), &v.root_cause.asset_id) {
                    (Some("gpu"), Some(g)) => {
                        let a = self.store.get_asset(g).await?;
                        if a.parent_id.as_deref() != Some(n.id.as_str()) {
                            return Err(CoreError::Unprocessable(format!(
                                "incident {} is about GPU {}, which is not in node {}",
                                v.id, a.name, n.name
                            )));
                        }
                        Some(a.id)
                    }
                    _ => None,
                };
                (Some(v.id), gpu)
            }
            None => (None, None),
        };
        let plan = self.resolve_plan(&n, None, None).await?;
        let spec: fleet_tinkerbell::PlanSpec = serde_json::from_str(&plan.spec)
            .map_err(|e| CoreError::Internal(format!("install plan {}: {e}", plan.name)))?;
        if !spec.validation.enabled {
            return Err(CoreError::Unprocessable(format!(
                "install plan {} v{} runs no GPU validation (validation.enabled); it cannot diagnose",
                plan.name, plan.version
            )));
        }
        let why = match &incident {
            Some(i) => format!("diagnosis of incident {i}"),
            None => "diagnosis".to_string(),
        };
        match n.state {
            Some(NodeState::Maintenance) => {}
            Some(NodeState::Draining) => {
                self.store
                    .transition(
                        &p.actor(),
                        &n.id,
                        NodeState::Maintenance,
                        Some(format!("{why}: drained")),
                    )
                    .await?;
            }
            other => {
                return Err(CoreError::conflict(
                    "Not drained",
                    format!(
                        "node {} is {}; only a drained node (draining or maintenance) is diagnosed",
                        n.name,
                        other.map(|s| s.as_str()).unwrap_or("without a state")
                    ),
                ))
            }
        }
        let n = self.node(&n.id).await?;
        let run = self
            .provision_one(
                p,
                engine,
                &n,
                &crate::provisioning::ProvisionSpec {
                    plan: Some(plan.name.clone()),
                    plan_version: Some(plan.version),
                    reason: Some(format!(
                        "{why}: re-provisioned with {} v{} for its GPU validation (dcgmi diag -r {})",
                        plan.name, plan.version, spec.validation.dcgm_level
                    )),
                },
                None,
            )
            .await?;
        let now = fleet_db::now_ms();
        self.incidents.remediation.lock().diagnoses.insert(
            run.id.clone(),
            Diagnosis {
                run: run.id.clone(),
                node: n.id.clone(),
                node_name: n.name.clone(),
                incident: incident.clone(),
                gpu,
                by: p.name.clone(),
                at: now,
            },
        );
        if let Some(i) = &incident {
            self.incident_timeline(
                i,
                "diagnosis",
                &p.name,
                format!(
                    "diagnosis of {} started: provisioning {} ({} v{})",
                    n.name, run.id, plan.name, plan.version
                ),
            )
            .await;
        } else {
            self.save_incident_store().await;
        }
        self.run_view(run).await
    }

    /// With `remediation.automatic`: diagnoses each node drained for `drain_and_diagnose` once
    /// it reaches maintenance (a person or the scheduler says the drain is complete), as
    /// `system:remediation`, for the incident that drained it. A node put back in service (or
    /// anywhere but draining) is not diagnosed. The server calls this every minute with its
    /// provisioning engine. Returns the diagnoses started.
    pub async fn diagnose_drained<E: crate::provisioning::Engine>(
        &self,
        engine: Option<&E>,
    ) -> Vec<Diagnosis> {
        let mut started = Vec::new();
        if !self.rem_settings().automatic || engine.is_none() {
            return started;
        }
        if self.ensure_correlation_loaded().await.is_err() {
            return started;
        }
        let waiting: Vec<(String, String)> = {
            let r = self.incidents.remediation.lock();
            if r.kill_switch.is_some() {
                return started;
            }
            r.to_diagnose
                .iter()
                .map(|(n, i)| (n.clone(), i.clone()))
                .collect()
        };
        let p = Principal::system(SystemRole::Remediation);
        let mut changed = false;
        for (node, incident) in waiting {
            let state = match self.store.get_asset(&node).await {
                Ok(n) => n.state,
                Err(fleet_db::DbError::NotFound(_)) => None,
                Err(e) => {
                    tracing::warn!(node = %node, error = %e, "diagnosis: node not read");
                    continue;
                }
            };
            match state {
                Some(NodeState::Draining) => continue,
                Some(NodeState::Maintenance) => {
                    match self.diagnose_node(&p, engine, &node, Some(&incident)).await {
                        Ok(run) => {
                            let d = self
                                .incidents
                                .remediation
                                .lock()
                                .diagnoses
                                .get(&run.provisioning.id)
                                .cloned();
                            started.extend(d);
                        }
                        Err(e) => {
                            tracing::warn!(node = %node, %incident, error = %e, "diagnosis not started");
                            self.incident_timeline(
                                &incident,
                                "diagnosis",
                                &p.name,
                                format!("no diagnosis started: {e}"),
                            )
                            .await;
                        }
                    }
                }
                _ => {}
            }
            self.incidents.remediation.lock().to_diagnose.remove(&node);
            changed = true;
        }
        if changed {
            self.save_incident_store().await;
        }
        started
    }

    /// The diagnoses under way.
    pub async fn diagnoses(&self, p: &Principal) -> CoreResult<Vec<Diagnosis>> {
        p.require(Permission::InventoryRead, "read diagnoses")?;
        self.ensure_correlation_loaded().await?;
        Ok(self
            .incidents
            .remediation
            .lock()
            .diagnoses
            .values()
            .cloned()
            .collect())
    }

    /// Acts on the diagnoses whose run ended (from the correlation tick): passed — the node is
    /// back in service; the GPU validation failed — the node to maintenance and an RMA record
    /// on the incident's GPU; the install failed elsewhere or was cancelled — the node to
    /// maintenance, no verdict on the GPU. Audited (`node.diagnose`), in the incident's timeline.
    pub(crate) async fn follow_diagnoses(&self) {
        let pending: Vec<Diagnosis> = self
            .incidents
            .remediation
            .lock()
            .diagnoses
            .values()
            .cloned()
            .collect();
        let p = Principal::system(SystemRole::Remediation);
        for d in pending {
            let run = match self.store.get_provisioning(&d.run).await {
                Ok(r) => r,
                Err(fleet_db::DbError::NotFound(_)) => {
                    self.incidents.remediation.lock().diagnoses.remove(&d.run);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(run = %d.run, error = %e, "diagnosis: run not read");
                    continue;
                }
            };
            if !fleet_db::provisioning_stage_is_final(&run.stage) {
                continue;
            }
            let why = run.failure.clone().unwrap_or_default();
            let gpu_failed =
                run.stage == "failed" && why.contains(fleet_tinkerbell::plan::actions::VALIDATE);
            let mut outcome = match run.stage.as_str() {
                "succeeded" => format!(
                    "{} passed: the GPU validation succeeded; the node is back in service",
                    d.node_name
                ),
                _ if gpu_failed => format!("{} failed its GPU validation: {why}", d.node_name),
                stage => format!(
                    "{} could not be diagnosed (the run {stage}: {why}); no verdict on its GPUs",
                    d.node_name
                ),
            };
            if run.stage != "succeeded" {
                let node = self.store.get_asset(&d.node).await.ok();
                if node.and_then(|n| n.state) == Some(NodeState::ProvisioningFailed) {
                    match self
                        .store
                        .transition(
                            &p.actor(),
                            &d.node,
                            NodeState::Maintenance,
                            Some(format!("diagnosis: {outcome}")),
                        )
                        .await
                    {
                        Ok(_) => outcome.push_str("; node to maintenance"),
                        Err(e) => outcome.push_str(&format!("; node not moved: {e}")),
                    }
                }
                if let (true, Some(gpu)) = (gpu_failed, &d.gpu) {
                    let reason = format!("diagnosis failed: {why}");
                    match self
                        .mark_gpu_rma(&p, gpu, d.incident.as_deref().unwrap_or(""), &reason)
                        .await
                    {
                        Ok(()) => outcome.push_str("; GPU marked for RMA"),
                        Err(e) => outcome.push_str(&format!("; no RMA record: {e}")),
                    }
                }
            }
            let audit = AuditEntry {
                action: "node.diagnose",
                kind: "node",
                target: Some(&d.node),
                before: Some(json!({"provisioning": d.run, "incident": d.incident})),
                after: Some(json!({"stage": run.stage, "outcome": outcome})),
            };
            if let Err(e) = self.store.record_events(&p.actor(), Some(audit), &[]).await {
                tracing::warn!(run = %d.run, error = %e, "diagnosis: not audited (retried)");
                continue;
            }
            self.incidents.remediation.lock().diagnoses.remove(&d.run);
            match &d.incident {
                Some(i) => {
                    self.incident_timeline(i, "diagnosis", &p.name, outcome)
                        .await
                }
                None => {
                    self.save_incident_store().await;
                }
            }
        }
    }

    /// Switches every remediation step off (`on`) or back on. Audited.
    pub async fn set_kill_switch(
        &self,
        p: &Principal,
        on: bool,
        reason: Option<String>,
    ) -> CoreResult<RemediationStatus> {
        p.require(Permission::RemediationAdmin, "switch remediation on or off")?;
        self.ensure_correlation_loaded().await?;
        let before = self.incidents.remediation.lock().kill_switch.is_some();
        let audit = AuditEntry {
            action: "remediation.kill_switch",
            kind: "remediation",
            target: None,
            before: Some(json!({"kill_switch": before})),
            after: Some(json!({"kill_switch": on, "reason": reason})),
        };
        self.store
            .record_events(&p.actor(), Some(audit), &[])
            .await?;
        self.incidents.remediation.lock().kill_switch =
            on.then(|| (p.name.clone(), reason.unwrap_or_default()));
        {
            self.save_incident_store().await;
        }
        self.remediation_status(p).await
    }

    /// What remediation may do and has done in this process.
    pub async fn remediation_status(&self, p: &Principal) -> CoreResult<RemediationStatus> {
        p.require(Permission::InventoryRead, "read the remediation status")?;
        self.ensure_correlation_loaded().await?;
        let s = self.rem_settings();
        let now = fleet_db::now_ms();
        let window = s.rails.window_s as Millis * 1000;
        let r = self.incidents.remediation.lock();
        Ok(RemediationStatus {
            automatic: s.automatic,
            kill_switch: r.kill_switch.is_some(),
            kill_switch_by: r.kill_switch.as_ref().map(|k| k.0.clone()),
            kill_switch_reason: r.kill_switch.as_ref().map(|k| k.1.clone()),
            rails: s.rails.clone(),
            window_used: r
                .acted
                .iter()
                .filter(|(at, _)| *at > now - window)
                .map(|(_, n)| n)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            recent: r.log.iter().take(50).cloned().collect(),
            diagnoses: r.diagnoses.values().cloned().collect(),
        })
    }
}

/// Whether a configuration holds an RMA record not yet closed (`rma.state` other than
/// `closed`).
fn open_rma(config: &serde_json::Value) -> bool {
    config
        .get("rma")
        .and_then(|r| r.get("state"))
        .and_then(|s| s.as_str())
        .is_some_and(|s| s != "closed")
}
