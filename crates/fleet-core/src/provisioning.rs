//! Provisioning: install plans (versioned, checked before they are stored) and provisioning
//! runs of nodes (start, follow, cancel, bulk with a concurrency limit). The install system
//! is behind the [`Engine`] port (Tinkerbell in `fleet-server`): it builds and checks what an
//! attempt will send, runs attempts in the background as `system:provisioning` and stops
//! them. Reading needs `InventoryRead`, plans `ProfileWrite`, starting and cancelling runs
//! `OobOperate`.

use std::future::Future;

use fleet_db::{InstallPlanRow, NewProvisioning, Provisioning};
use fleet_model::asset::Asset;
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;
use fleet_tinkerbell::PlanSpec;

use crate::error::{CoreError, CoreResult};
use crate::ops::NodeSelection;
use crate::principal::Principal;
use crate::Core;

/// The install system that provisioning runs go through.
pub trait Engine: Send + Sync {
    /// Attempts installed at once, at most (also the default and cap of a bulk request).
    fn concurrency(&self) -> usize;
    /// How nodes are PXE-booted: `gpufleet` (its own jobs) or `rufio`.
    fn power_via(&self) -> String;
    /// The base name of the install system's objects for `node`, or why it cannot have one.
    fn object_base(&self, node: &Asset) -> Result<String, String>;
    /// Builds and checks everything an attempt of `node` with `plan` will send, under the
    /// workflow name `workflow`; sends nothing.
    fn check(
        &self,
        node: &Asset,
        plan: &InstallPlanRow,
        workflow: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// A concurrency limit shared by the attempts of one bulk request.
    fn batch_limit(&self, batch: &str, limit: usize);
    /// Runs a recorded attempt in the background until it ends.
    fn start(&self, run: Provisioning);
    /// Stops a live attempt: its background task and its workflow in the install system.
    fn stop(&self, run: &Provisioning) -> impl Future<Output = CoreResult<()>> + Send;
}

/// What to install on a node.
#[derive(Debug, Clone, Default)]
pub struct ProvisionSpec {
    /// Install plan name (default: the plan bound to the node's profile).
    pub plan: Option<String>,
    /// Plan version (default: the newest).
    pub plan_version: Option<i64>,
    pub reason: Option<String>,
}

/// A provisioning run and the lifecycle state of its node.
#[derive(Debug, Clone)]
pub struct Run {
    pub provisioning: Provisioning,
    pub node_state: Option<NodeState>,
}

/// What a bulk request started, and what it could not start with why.
#[derive(Debug)]
pub struct BulkRuns {
    pub batch_id: String,
    pub concurrency: usize,
    pub started: Vec<Provisioning>,
    /// (node name, why nothing was created for it).
    pub refused: Vec<(String, CoreError)>,
}

pub(crate) fn off() -> CoreError {
    CoreError::unavailable(
        "Provisioning off",
        "provisioning is off: set [tinkerbell] kubeconfig (and namespace) in the configuration",
    )
}

impl Core {
    /// The profile `profile` (an id or a name) as an id; an unknown profile is refused.
    pub async fn profile_ref(
        &self,
        p: &Principal,
        profile: Option<&str>,
    ) -> CoreResult<Option<String>> {
        p.require(Permission::InventoryRead, "read profiles")?;
        let Some(name) = profile else { return Ok(None) };
        match self.store.get_profile(name).await {
            Ok(prof) => Ok(Some(prof.id)),
            Err(fleet_db::DbError::NotFound(_)) => Err(CoreError::Unprocessable(format!(
                "profile '{name}' does not exist"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every version of every install plan.
    pub async fn install_plans(&self, p: &Principal) -> CoreResult<Vec<InstallPlanRow>> {
        p.require(Permission::InventoryRead, "read install plans")?;
        Ok(self.store.list_install_plans().await?)
    }

    /// One version of an install plan (the newest unless `version` is given).
    pub async fn install_plan(
        &self,
        p: &Principal,
        name: &str,
        version: Option<i64>,
    ) -> CoreResult<InstallPlanRow> {
        p.require(Permission::InventoryRead, "read install plans")?;
        Ok(self.store.install_plan(name, version).await?)
    }

    /// Stores a new version of an install plan (version 1 when the name is new), bound to
    /// `profile` when given. The plan is checked first; versions are immutable.
    pub async fn create_install_plan(
        &self,
        p: &Principal,
        name: &str,
        profile: Option<&str>,
        spec: &PlanSpec,
        comment: Option<String>,
    ) -> CoreResult<InstallPlanRow> {
        p.require(Permission::ProfileWrite, "create install plans")?;
        spec.check()
            .map_err(|e| CoreError::Unprocessable(e.to_string()))?;
        let pid = self.profile_ref(p, profile).await?;
        let spec = serde_json::to_value(spec).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(self
            .store
            .create_install_plan(&p.actor(), name, pid.as_deref(), &spec, comment)
            .await?)
    }

    pub(crate) async fn run_view(&self, provisioning: Provisioning) -> CoreResult<Run> {
        let n = self.store.get_asset(&provisioning.node_id).await?;
        Ok(Run {
            provisioning,
            node_state: n.state,
        })
    }

    /// The latest provisioning run of node `node` (an id or a name).
    pub async fn provisioning(&self, p: &Principal, node: &str) -> CoreResult<Run> {
        p.require(Permission::InventoryRead, "read provisioning runs")?;
        let n = self.node(node).await?;
        let run = self
            .store
            .latest_provisioning(&n.id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("node {} was never provisioned", n.name)))?;
        self.run_view(run).await
    }

    /// Every provisioning run of node `node`, oldest first.
    pub async fn provisionings(&self, p: &Principal, node: &str) -> CoreResult<Vec<Provisioning>> {
        p.require(Permission::InventoryRead, "read provisioning runs")?;
        let n = self.node(node).await?;
        Ok(self.store.list_provisionings(&n.id).await?)
    }

    /// One provisioning run by its id.
    pub async fn provisioning_run(&self, p: &Principal, id: &str) -> CoreResult<Run> {
        p.require(Permission::InventoryRead, "read provisioning runs")?;
        let run = self.store.get_provisioning(id).await?;
        self.run_view(run).await
    }

    pub(crate) async fn resolve_plan(
        &self,
        n: &Asset,
        plan: Option<&str>,
        version: Option<i64>,
    ) -> CoreResult<InstallPlanRow> {
        match plan {
            Some(name) => self
                .store
                .install_plan(name, version)
                .await
                .map_err(|e| match e {
                    fleet_db::DbError::NotFound(m) => CoreError::Unprocessable(m),
                    other => other.into(),
                }),
            None => {
                let Some(pid) = &n.profile_id else {
                    return Err(CoreError::Unprocessable(format!(
                        "node {} has no profile and the request names no plan",
                        n.name
                    )));
                };
                self.store
                    .install_plan_for_profile(pid)
                    .await?
                    .ok_or_else(|| {
                        CoreError::Unprocessable(format!(
                            "no install plan is bound to the profile of node {}; name a plan or create one with 'profile'",
                            n.name
                        ))
                    })
            }
        }
    }

    /// Checks, records and starts one attempt. Everything the attempt will send is built and
    /// checked before anything is recorded.
    pub(crate) async fn provision_one<E: Engine>(
        &self,
        p: &Principal,
        engine: &E,
        n: &Asset,
        spec: &ProvisionSpec,
        batch: Option<String>,
    ) -> CoreResult<Provisioning> {
        let plan = self
            .resolve_plan(n, spec.plan.as_deref(), spec.plan_version)
            .await?;
        let base = engine.object_base(n).map_err(CoreError::Unprocessable)?;
        engine
            .check(n, &plan, &format!("{base}-0"))
            .await
            .map_err(CoreError::Unprocessable)?;
        let run = self
            .store
            .start_provisioning(
                &p.actor(),
                NewProvisioning {
                    node_id: n.id.clone(),
                    plan,
                    workflow_base: base,
                    power_via: engine.power_via(),
                    batch_id: batch,
                    reason: spec.reason.clone(),
                },
            )
            .await?;
        engine.start(run.clone());
        Ok(run)
    }

    /// Provisions (or re-provisions, from `provisioning_failed`) node `node`; `engine` is
    /// absent while provisioning is off.
    pub async fn provision<E: Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        node: &str,
        spec: &ProvisionSpec,
    ) -> CoreResult<Run> {
        p.require(Permission::OobOperate, "provision nodes")?;
        let engine = engine.ok_or_else(off)?;
        let n = self.node(node).await?;
        let run = self.provision_one(p, engine, &n, spec, None).await?;
        self.run_view(run).await
    }

    /// Cancels the live attempt of node `node`: it is stopped in the install system and the
    /// node moves to `provisioning_failed`.
    pub async fn cancel_provisioning<E: Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        node: &str,
        reason: Option<String>,
    ) -> CoreResult<Run> {
        p.require(Permission::OobOperate, "cancel provisioning")?;
        let engine = engine.ok_or_else(off)?;
        let n = self.node(node).await?;
        let run = self
            .store
            .latest_provisioning(&n.id)
            .await?
            .filter(|r| !fleet_db::provisioning_stage_is_final(&r.stage))
            .ok_or_else(|| {
                CoreError::conflict(
                    "Conflict",
                    format!("node {} has no provisioning in progress", n.name),
                )
            })?;
        engine.stop(&run).await?;
        let reason = reason.unwrap_or_else(|| format!("cancelled by {}", p.name));
        let done = self
            .store
            .finish_provisioning(
                &p.actor(),
                &run.id,
                "cancelled",
                NodeState::ProvisioningFailed,
                format!("workflow {}: {reason}", run.workflow),
                None,
                None,
            )
            .await?;
        self.run_view(done).await
    }

    /// Provisions every selected node, `concurrency` at once (default and cap: the engine's);
    /// each node is checked on its own and refusals are listed.
    pub async fn bulk_provision<E: Engine>(
        &self,
        p: &Principal,
        engine: Option<&E>,
        sel: &NodeSelection,
        spec: &ProvisionSpec,
        concurrency: Option<usize>,
    ) -> CoreResult<BulkRuns> {
        p.require(Permission::OobOperate, "provision nodes")?;
        let engine = engine.ok_or_else(off)?;
        let nodes = self.select_nodes(sel).await?;
        let cap = engine.concurrency();
        let concurrency = concurrency.unwrap_or(cap).clamp(1, cap.max(1));
        let batch = uuid::Uuid::now_v7().to_string();
        engine.batch_limit(&batch, concurrency);
        let mut out = BulkRuns {
            batch_id: batch.clone(),
            concurrency,
            started: vec![],
            refused: vec![],
        };
        for n in nodes {
            match self
                .provision_one(p, engine, &n, spec, Some(batch.clone()))
                .await
            {
                Ok(run) => out.started.push(run),
                Err(e) => out.refused.push((n.name.clone(), e)),
            }
        }
        Ok(out)
    }
}
