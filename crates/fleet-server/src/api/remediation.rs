//! Remediation of incidents within guard rails: the plan (a dry run), running it with or
//! without approval, the kill switch, and what remediation has done. The use cases are
//! `fleet_core::remediation`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Json;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One step of a remediation plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationStep {
    /// `drain_and_diagnose`, `reboot_node`, `facilities_power`, `check_cabling`, …
    pub action: String,
    /// The node acted on (absent for a manual step about the root asset).
    pub node: Option<String>,
    pub node_name: Option<String>,
    /// The GPU an `rma` step marks for return (a record in its configuration, kept with the
    /// GPU wherever it moves); its node is `node`.
    pub gpu: Option<String>,
    /// `execute`, `needs_approval`, `refused` or `manual`.
    pub decision: String,
    /// Why it needs approval or was refused, or what a person does for a manual step.
    pub reason: Option<String>,
    /// After a run: `done` or `failed: …`; absent in a dry run and for steps not executed.
    pub outcome: Option<String>,
}

/// A remediation plan for one incident, with what each guard rail decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationPlan {
    pub incident: String,
    /// The node holding the root cause, which node actions act on.
    pub target_node: Option<String>,
    /// Nothing was executed.
    pub dry_run: bool,
    pub approved: bool,
    /// Some step still waits for approval.
    pub approval_required: bool,
    pub kill_switch: bool,
    pub steps: Vec<RemediationStep>,
}

impl From<fleet_core::remediation::PlanView> for RemediationPlan {
    fn from(v: fleet_core::remediation::PlanView) -> Self {
        RemediationPlan {
            incident: v.incident,
            target_node: v.target_node,
            dry_run: v.dry_run,
            approved: v.approved,
            approval_required: v.approval_required,
            kill_switch: v.kill_switch,
            steps: v
                .steps
                .into_iter()
                .map(|s| RemediationStep {
                    action: s.action,
                    node: s.node,
                    node_name: s.node_name,
                    gpu: s.gpu,
                    decision: s.decision,
                    reason: s.reason,
                    outcome: s.outcome,
                })
                .collect(),
        }
    }
}

/// How to run a plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemediateRequest {
    /// Execute the steps that need approval too (refused steps stay refused).
    #[serde(default)]
    pub approve: bool,
    /// Only show what would be done.
    #[serde(default)]
    pub dry_run: bool,
}

/// The kill switch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillSwitchRequest {
    /// true: every remediation step is refused until it is switched off again.
    pub on: bool,
    /// Why (audited, shown in the status).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Guard rails in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardRailsView {
    /// Actions taken without a person when automatic remediation is on.
    pub automatic: Vec<String>,
    /// The budget's window, seconds.
    pub window_s: u64,
    pub max_nodes_per_window: usize,
    /// Share of a rack that may be out of service after an action.
    pub max_rack_fraction: f64,
    /// A plan acting on more nodes needs approval.
    pub approval_above_nodes: usize,
}

/// One action remediation carried out.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationAction {
    pub at: String,
    pub incident: String,
    pub action: String,
    pub node: String,
    pub node_name: String,
    /// A person, or `system:remediation`.
    pub by: String,
    pub approved: bool,
    /// `done` or `failed: …`.
    pub outcome: String,
}

/// What remediation may do and has done (in the process that holds the incidents).
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationStatusView {
    /// New incidents' automatic actions run without a person.
    pub automatic: bool,
    pub kill_switch: bool,
    pub kill_switch_by: Option<String>,
    pub kill_switch_reason: Option<String>,
    pub guard_rails: GuardRailsView,
    /// Nodes acted on within the budget's window.
    pub window_used: usize,
    /// The latest actions, newest first (at most 50).
    pub recent: Vec<RemediationAction>,
    /// Diagnoses under way (`POST /api/v1/nodes/{id}/diagnose`).
    pub diagnoses: Vec<DiagnosisView>,
}

/// A diagnosis under way: its provisioning attempt decides what becomes of the node.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosisView {
    /// The provisioning attempt.
    pub provisioning: String,
    pub node: String,
    pub node_name: String,
    pub incident: Option<String>,
    /// The GPU an RMA record goes on if the GPU validation fails.
    pub gpu: Option<String>,
    pub by: String,
    /// RFC 3339.
    pub started_at: String,
}

impl From<fleet_core::remediation::RemediationStatus> for RemediationStatusView {
    fn from(s: fleet_core::remediation::RemediationStatus) -> Self {
        RemediationStatusView {
            automatic: s.automatic,
            kill_switch: s.kill_switch,
            kill_switch_by: s.kill_switch_by,
            kill_switch_reason: s.kill_switch_reason,
            guard_rails: GuardRailsView {
                automatic: s
                    .rails
                    .automatic
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect(),
                window_s: s.rails.window_s,
                max_nodes_per_window: s.rails.max_nodes_per_window,
                max_rack_fraction: s.rails.max_rack_fraction,
                approval_above_nodes: s.rails.approval_above_nodes,
            },
            window_used: s.window_used,
            diagnoses: s
                .diagnoses
                .into_iter()
                .map(|d| DiagnosisView {
                    provisioning: d.run,
                    node: d.node,
                    node_name: d.node_name,
                    incident: d.incident,
                    gpu: d.gpu,
                    by: d.by,
                    started_at: fleet_db::rfc3339(d.at),
                })
                .collect(),
            recent: s
                .recent
                .into_iter()
                .map(|r| RemediationAction {
                    at: r.at,
                    incident: r.incident,
                    action: r.action,
                    node: r.node,
                    node_name: r.node_name,
                    by: r.by,
                    approved: r.approved,
                    outcome: r.outcome,
                })
                .collect(),
        }
    }
}

/// The remediation plan of an incident, nothing executed: each suggested action with the node
/// it would act on and what the guard rails decide (execute, needs approval, refused, manual).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/plan", params(("id" = String, Path)), tag = "alerts",
    responses((status = 200, body = RemediationPlan), (status = 404, body = Problem)))]
pub async fn plan(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RemediationPlan>> {
    Ok(Json(
        st.core
            .remediation_plan(&caller.core_principal(), &id)
            .await?
            .into(),
    ))
}

/// Runs an incident's remediation plan with the caller's permissions: the `execute` steps, and
/// with `approve` those that need approval. Each executed step is audited
/// (`incident.remediate`) and written to the incident's timeline. An empty body runs without
/// approval.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/remediate", params(("id" = String, Path)),
    request_body(content = Option<RemediateRequest>), tag = "alerts",
    responses(
        (status = 200, body = RemediationPlan, description = "The plan with each step's outcome"),
        (status = 400, body = Problem),
        (status = 404, body = Problem)))]
pub async fn remediate(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<RemediationPlan>> {
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        RemediateRequest::default()
    } else {
        serde_json::from_slice::<RemediateRequest>(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body must be {{\"approve\": bool, \"dry_run\": bool}} or empty: {e}"
            ))
        })?
    };
    Ok(Json(
        st.core
            .remediate_incident(&caller.core_principal(), &id, req.approve, req.dry_run)
            .await?
            .into(),
    ))
}

/// Remediation's guard rails, kill switch and latest actions.
#[utoipa::path(get, path = "/api/v1/remediation", tag = "alerts",
    responses((status = 200, body = RemediationStatusView)))]
pub async fn status(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<RemediationStatusView>> {
    Ok(Json(
        st.core
            .remediation_status(&caller.core_principal())
            .await?
            .into(),
    ))
}

/// Switches every remediation step (automatic or run by a person) off, or back on. Audited
/// (`remediation.kill_switch`).
#[utoipa::path(put, path = "/api/v1/remediation/kill-switch", request_body = KillSwitchRequest, tag = "alerts",
    responses((status = 200, body = RemediationStatusView), (status = 400, body = Problem)))]
pub async fn kill_switch(
    State(st): State<AppState>,
    caller: Caller,
    Json(req): Json<KillSwitchRequest>,
) -> ApiResult<Json<RemediationStatusView>> {
    Ok(Json(
        st.core
            .set_kill_switch(&caller.core_principal(), req.on, req.reason)
            .await?
            .into(),
    ))
}
