//! Provisioning through Tinkerbell: install plans (versioned), provision / follow / cancel a
//! node, bulk provisioning by selector with a concurrency limit.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use fleet_core::ops::NodeSelection;
use fleet_core::provisioning::{ProvisionSpec, Run};
use fleet_db::{InstallPlanRow, Provisioning};
use fleet_model::lifecycle::NodeState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::provision::TinkerbellEngine;
use crate::state::AppState;

/// The provisioning role of this process as the core's install system (absent while off).
pub(crate) fn engine(st: &AppState) -> Option<TinkerbellEngine<'_>> {
    st.provisioner.get().map(|p| TinkerbellEngine { p, st })
}

// ------------------------------------------------------------------------------------------
// Install plans

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanVersion {
    pub name: String,
    /// Profile (id or name) whose nodes get this plan when a request names none.
    pub profile: Option<String>,
    pub spec: fleet_tinkerbell::PlanSpec,
    pub comment: Option<String>,
}

/// Store a new version of an install plan (version 1 when the name is new). Versions are
/// immutable; the plan is checked before it is stored.
#[utoipa::path(post, path = "/api/v1/install-plans", request_body = NewPlanVersion, tag = "provisioning",
    responses((status = 201, body = InstallPlanRow), (status = 422, body = Problem)))]
pub async fn create_plan(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<NewPlanVersion>,
) -> ApiResult<(StatusCode, Json<InstallPlanRow>)> {
    let row = st
        .core
        .create_install_plan(
            &caller.core_principal(),
            &b.name,
            b.profile.as_deref(),
            &b.spec,
            b.comment,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Every version of every install plan.
#[utoipa::path(get, path = "/api/v1/install-plans", tag = "provisioning",
    responses((status = 200, body = Vec<InstallPlanRow>)))]
pub async fn list_plans(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<InstallPlanRow>>> {
    Ok(Json(st.core.install_plans(&caller.core_principal()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PlanQuery {
    /// A version (default: the newest).
    pub version: Option<i64>,
}

/// One version of an install plan (the newest unless `version` is given).
#[utoipa::path(get, path = "/api/v1/install-plans/{name}", params(("name" = String, Path), PlanQuery), tag = "provisioning",
    responses((status = 200, body = InstallPlanRow), (status = 404, body = Problem)))]
pub async fn get_plan(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<Json<InstallPlanRow>> {
    Ok(Json(
        st.core
            .install_plan(&caller.core_principal(), &name, q.version)
            .await?,
    ))
}

// ------------------------------------------------------------------------------------------
// Provisioning a node

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// Install plan name (default: the plan bound to the node's profile).
    pub plan: Option<String>,
    /// Plan version (default: the newest).
    pub plan_version: Option<i64>,
    pub reason: Option<String>,
}

/// An attempt with its parsed progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisionView {
    #[serde(flatten)]
    pub provisioning: Provisioning,
    /// Per-action progress of the Workflow (phase, actions with state, start time, seconds).
    #[schema(value_type = Object)]
    pub workflow_progress: Option<Value>,
    pub node_state: Option<NodeState>,
    /// tink-server's gRPC address for the node's worker (`tinkerbell.tink_server`).
    pub tink_server: Option<String>,
}

impl From<&ProvisionRequest> for ProvisionSpec {
    fn from(r: &ProvisionRequest) -> Self {
        ProvisionSpec {
            plan: r.plan.clone(),
            plan_version: r.plan_version,
            reason: r.reason.clone(),
        }
    }
}

fn view(st: &AppState, r: Run) -> ProvisionView {
    let tink = st.config.tinkerbell.tink_server.clone();
    ProvisionView {
        workflow_progress: r
            .provisioning
            .progress
            .as_deref()
            .and_then(|x| serde_json::from_str(x).ok()),
        provisioning: r.provisioning,
        node_state: r.node_state,
        tink_server: (!tink.is_empty()).then_some(tink),
    }
}

/// Provision (or re-provision, from `provisioning_failed`) a node with a plan, or with the
/// plan bound to its profile: Hardware, Template and Workflow in Tinkerbell, a one-time PXE
/// boot and power cycle, then the Workflow drives the node to `in_service` or
/// `provisioning_failed`.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/provision", params(("id" = String, Path)), request_body = ProvisionRequest, tag = "provisioning",
    responses((status = 202, body = ProvisionView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn provision(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<ProvisionRequest>,
) -> ApiResult<(StatusCode, Json<ProvisionView>)> {
    let run = st
        .core
        .provision(
            &caller.core_principal(),
            engine(&st).as_ref(),
            &id,
            &(&req).into(),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view(&st, run))))
}

/// What a diagnosis is about.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseRequest {
    /// The incident it diagnoses: its GPU (which must be in this node) gets the RMA record
    /// when the GPU validation fails.
    pub incident: Option<String>,
}

/// Diagnose a drained node (`draining` moves to `maintenance` first): it is re-provisioned with
/// the install plan bound to its profile, whose last action validates the GPUs (`nvidia-smi`,
/// `dcgmi diag`). When the attempt ends: passed, the node is in service; the GPU validation
/// failed, the node goes to `maintenance` with an RMA record on the incident's GPU; the install
/// failed elsewhere or was cancelled, `maintenance` without one. Each outcome is audited
/// (`node.diagnose`) and written to the incident's timeline.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/diagnose", params(("id" = String, Path)), request_body = DiagnoseRequest, tag = "provisioning",
    responses((status = 202, body = ProvisionView, description = "The diagnosis's provisioning attempt"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The node is not drained, is being provisioned, or the kill switch is on"),
        (status = 422, body = Problem, description = "No install plan with GPU validation, or the incident's GPU is in another node"),
        (status = 503, body = Problem, description = "Provisioning is off")))]
pub async fn diagnose(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<DiagnoseRequest>,
) -> ApiResult<(StatusCode, Json<ProvisionView>)> {
    let run = st
        .core
        .diagnose_node(
            &caller.core_principal(),
            engine(&st).as_ref(),
            &id,
            req.incident.as_deref(),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view(&st, run))))
}

/// The node's latest provisioning attempt with per-action progress.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/provision", params(("id" = String, Path)), tag = "provisioning",
    responses((status = 200, body = ProvisionView), (status = 404, body = Problem)))]
pub async fn status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProvisionView>> {
    let run = st.core.provisioning(&caller.core_principal(), &id).await?;
    Ok(Json(view(&st, run)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: Option<String>,
}

/// Cancel the node's live attempt: its Workflow is deleted (the worker gets no more actions)
/// and the node moves to `provisioning_failed`.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/provision/cancel", params(("id" = String, Path)), request_body = CancelRequest, tag = "provisioning",
    responses((status = 200, body = ProvisionView), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn cancel(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CancelRequest>,
) -> ApiResult<Json<ProvisionView>> {
    let run = st
        .core
        .cancel_provisioning(
            &caller.core_principal(),
            engine(&st).as_ref(),
            &id,
            body.reason,
        )
        .await?;
    Ok(Json(view(&st, run)))
}

// ------------------------------------------------------------------------------------------
// Bulk

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkProvision {
    /// Node ids or names.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Nodes with all of these labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub rack: Option<String>,
    /// Nodes in this lifecycle state (e.g. `ready`).
    pub state: Option<NodeState>,
    pub plan: Option<String>,
    pub plan_version: Option<i64>,
    /// Nodes installed at once (default and maximum: `tinkerbell.concurrency`).
    pub concurrency: Option<usize>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRefused {
    pub node: String,
    pub status: u16,
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkProvisionResponse {
    pub batch_id: String,
    pub concurrency: usize,
    pub started: Vec<Provisioning>,
    /// Nodes that could not start, each with why (nothing was created for them).
    pub refused: Vec<BulkRefused>,
}

/// Provision every selected node (ids, labels, rack, state) with a concurrency limit; each
/// node is checked on its own and refusals are listed.
#[utoipa::path(post, path = "/api/v1/provision/bulk", request_body = BulkProvision, tag = "provisioning",
    responses((status = 202, body = BulkProvisionResponse), (status = 400, body = Problem), (status = 503, body = Problem)))]
pub async fn bulk(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<BulkProvision>,
) -> ApiResult<(StatusCode, Json<BulkProvisionResponse>)> {
    let spec = ProvisionSpec {
        plan: b.plan.clone(),
        plan_version: b.plan_version,
        reason: b.reason.clone(),
    };
    let sel = NodeSelection {
        ids: b.ids,
        labels: b.labels,
        rack: b.rack,
        state: b.state,
    };
    let runs = st
        .core
        .bulk_provision(
            &caller.core_principal(),
            engine(&st).as_ref(),
            &sel,
            &spec,
            b.concurrency,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkProvisionResponse {
            batch_id: runs.batch_id,
            concurrency: runs.concurrency,
            started: runs.started,
            refused: runs
                .refused
                .into_iter()
                .map(|(node, e)| {
                    let e = ApiError::from(e);
                    BulkRefused {
                        node,
                        status: e.status.as_u16(),
                        error: e.detail,
                    }
                })
                .collect(),
        }),
    ))
}
