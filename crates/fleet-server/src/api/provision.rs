//! Provisioning through Tinkerbell: install plans (versioned), provision / follow / cancel a
//! node, bulk provisioning by selector with a concurrency limit.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use fleet_db::{InstallPlanRow, NewProvisioning, Provisioning};
use fleet_model::asset::Asset;
use fleet_model::lifecycle::NodeState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{node, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::provision::{self as role, Provisioner};
use crate::state::AppState;

fn unprocessable(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid input", m)
}

fn provisioner(st: &AppState) -> ApiResult<std::sync::Arc<Provisioner>> {
    st.provisioner.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Provisioning off",
            "provisioning is off: set [tinkerbell] kubeconfig (and namespace) in the configuration",
        )
    })
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
    b.spec.check().map_err(|e| unprocessable(e.to_string()))?;
    let pid = super::profile_id(&st, b.profile.as_deref()).await?;
    let spec = serde_json::to_value(&b.spec).map_err(|e| ApiError::internal(e.to_string()))?;
    let row = st
        .store
        .create_install_plan(&caller.actor, &b.name, pid.as_deref(), &spec, b.comment)
        .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Every version of every install plan.
#[utoipa::path(get, path = "/api/v1/install-plans", tag = "provisioning",
    responses((status = 200, body = Vec<InstallPlanRow>)))]
pub async fn list_plans(State(st): State<AppState>) -> ApiResult<Json<Vec<InstallPlanRow>>> {
    Ok(Json(st.store.list_install_plans().await?))
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
    Path(name): Path<String>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<Json<InstallPlanRow>> {
    Ok(Json(st.store.install_plan(&name, q.version).await?))
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

async fn view(st: &AppState, p: Provisioning) -> ApiResult<ProvisionView> {
    let n = st.store.get_asset(&p.node_id).await?;
    let tink = st.config.tinkerbell.tink_server.clone();
    Ok(ProvisionView {
        workflow_progress: p
            .progress
            .as_deref()
            .and_then(|x| serde_json::from_str(x).ok()),
        provisioning: p,
        node_state: n.state,
        tink_server: (!tink.is_empty()).then_some(tink),
    })
}

async fn resolve_plan(
    st: &AppState,
    n: &Asset,
    plan: Option<&str>,
    version: Option<i64>,
) -> ApiResult<InstallPlanRow> {
    match plan {
        Some(p) => st
            .store
            .install_plan(p, version)
            .await
            .map_err(|e| match e {
                fleet_db::DbError::NotFound(m) => unprocessable(m),
                other => other.into(),
            }),
        None => {
            let Some(pid) = &n.profile_id else {
                return Err(unprocessable(format!(
                    "node {} has no profile and the request names no plan",
                    n.name
                )));
            };
            st.store
                .install_plan_for_profile(pid)
                .await?
                .ok_or_else(|| {
                    unprocessable(format!(
                        "no install plan is bound to the profile of node {}; name a plan or create one with 'profile'",
                        n.name
                    ))
                })
        }
    }
}

/// Checks, records and starts one attempt. Rendering errors answer 422 before anything is
/// created; an illegal lifecycle transition 409 with the allowed targets.
async fn provision_one(
    st: &AppState,
    p: &std::sync::Arc<Provisioner>,
    caller: &Caller,
    n: &Asset,
    req: &ProvisionRequest,
    batch: Option<String>,
) -> ApiResult<Provisioning> {
    let plan = resolve_plan(st, n, req.plan.as_deref(), req.plan_version).await?;
    let base = role::object_base(n).map_err(unprocessable)?;
    // Everything the attempt will send is built and checked now, under a placeholder name.
    role::prepare(st, &p.cfg, n, &plan, &format!("{base}-0"))
        .await
        .map_err(unprocessable)?;
    let run = st
        .store
        .start_provisioning(
            &caller.actor,
            NewProvisioning {
                node_id: n.id.clone(),
                plan,
                workflow_base: base,
                power_via: p.cfg.power_via.clone(),
                batch_id: batch,
                reason: req.reason.clone(),
            },
        )
        .await?;
    p.spawn(st.clone(), run.clone());
    Ok(run)
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
    let p = provisioner(&st)?;
    let n = node(&st, &id).await?;
    let run = provision_one(&st, &p, &caller, &n, &req, None).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&st, run).await?)))
}

/// The node's latest provisioning attempt with per-action progress.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/provision", params(("id" = String, Path)), tag = "provisioning",
    responses((status = 200, body = ProvisionView), (status = 404, body = Problem)))]
pub async fn status(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ProvisionView>> {
    let n = node(&st, &id).await?;
    let p = st
        .store
        .latest_provisioning(&n.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("node {} was never provisioned", n.name)))?;
    Ok(Json(view(&st, p).await?))
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
    let p = provisioner(&st)?;
    let n = node(&st, &id).await?;
    let run = st
        .store
        .latest_provisioning(&n.id)
        .await?
        .filter(|r| !fleet_db::provisioning_stage_is_final(&r.stage))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("node {} has no provisioning in progress", n.name),
            )
        })?;
    p.stop(&run.id);
    p.client.delete_workflow(&run.workflow).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "Tinkerbell unavailable",
            format!("deleting workflow {}: {e}", run.workflow),
        )
    })?;
    let reason = body
        .reason
        .unwrap_or_else(|| format!("cancelled by {}", caller.actor.name));
    let done = st
        .store
        .finish_provisioning(
            &caller.actor,
            &run.id,
            "cancelled",
            NodeState::ProvisioningFailed,
            format!("workflow {}: {reason}", run.workflow),
            None,
            None,
        )
        .await?;
    Ok(Json(view(&st, done).await?))
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
    let p = provisioner(&st)?;
    let nodes = super::select_nodes(&st, &b.ids, &b.labels, b.rack.as_deref(), b.state).await?;
    let concurrency = b
        .concurrency
        .unwrap_or(p.cfg.concurrency)
        .clamp(1, p.cfg.concurrency);
    let batch = uuid::Uuid::now_v7().to_string();
    p.batch_limit(&batch, concurrency);
    let req = ProvisionRequest {
        plan: b.plan.clone(),
        plan_version: b.plan_version,
        reason: b.reason.clone(),
    };
    let mut started = vec![];
    let mut refused = vec![];
    for n in nodes {
        match provision_one(&st, &p, &caller, &n, &req, Some(batch.clone())).await {
            Ok(run) => started.push(run),
            Err(e) => refused.push(BulkRefused {
                node: n.name.clone(),
                status: e.status.as_u16(),
                error: e.detail,
            }),
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkProvisionResponse {
            batch_id: batch,
            concurrency,
            started,
            refused,
        }),
    ))
}
