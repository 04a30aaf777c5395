//! Provisioning: versioned install plans and one row per provisioning attempt of a node.
//!
//! A plan version is immutable: a change is a new row with the next version. Starting a
//! provisioning moves the node to `provisioning` and records the attempt in one transaction
//! (with its lifecycle history, audit row and event); finishing it moves the node to
//! `in_service` or `provisioning_failed` and closes the attempt, again in one transaction.
//! The rules come from the lifecycle transition table.

use fleet_model::event::types;
use fleet_model::lifecycle::{check_transition, GuardContext, NodeState};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{Any, Row, Transaction};

use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::store::{Actor, Store};

/// Provisioning stages that are still live (a restart resumes them).
pub const LIVE_STAGES: &[&str] = &["created", "submitted", "booted"];

pub fn provisioning_stage_is_final(s: &str) -> bool {
    !LIVE_STAGES.contains(&s)
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InstallPlanRow {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub profile_id: Option<String>,
    /// The plan document (JSON).
    pub spec: String,
    pub comment: Option<String>,
    pub actor: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Provisioning {
    pub id: String,
    pub node_id: String,
    pub attempt: i64,
    pub plan_id: String,
    pub plan_name: String,
    pub plan_version: i64,
    /// Name of the Workflow (and Template) in the Tinkerbell namespace.
    pub workflow: String,
    /// `gpufleet` or `rufio`.
    pub power_via: String,
    /// `created`, `submitted`, `booted` (live); `succeeded`, `failed`, `cancelled` (final).
    pub stage: String,
    /// Last observed Workflow progress (JSON).
    pub progress: Option<String>,
    pub failure: Option<String>,
    /// Ids of the power and boot jobs (JSON list).
    pub power_jobs: Option<String>,
    /// Milliseconds spent in gpufleet's own steps (JSON object).
    pub timings: Option<String>,
    pub batch_id: Option<String>,
    pub actor: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewProvisioning {
    pub node_id: String,
    pub plan: InstallPlanRow,
    /// The Workflow name is `<workflow_base>-<attempt>`.
    pub workflow_base: String,
    pub power_via: String,
    pub batch_id: Option<String>,
    pub reason: Option<String>,
}

/// A change of a live attempt (no lifecycle change).
#[derive(Debug, Clone, Default)]
pub struct ProvisioningUpdate {
    pub stage: Option<String>,
    pub progress: Option<Value>,
    pub power_jobs: Option<Value>,
    pub timings: Option<Value>,
}

impl Store {
    /// Stores a new version of plan `name` (version 1 when it is new).
    pub async fn create_install_plan(
        &self,
        actor: &Actor,
        name: &str,
        profile_id: Option<&str>,
        spec: &Value,
        comment: Option<String>,
    ) -> DbResult<InstallPlanRow> {
        fleet_model::asset::validate_name(name).map_err(DbError::Invalid)?;
        let mut tx = self.write.begin().await?;
        let current: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM install_plans WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
        let version = current.unwrap_or(0) + 1;
        let id = fleet_model::new_id("plan");
        let now = now_ms();
        sqlx::query("INSERT INTO install_plans (id, name, version, profile_id, spec, comment, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(name)
            .bind(version)
            .bind(profile_id)
            .bind(serde_json::to_string(spec)?)
            .bind(&comment)
            .bind(&actor.name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("install plan '{name}' version {version}")))?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "install_plan.create",
                kind: "install_plan",
                target: Some(&id),
                before: None,
                after: Some(json!({"name": name, "version": version, "profile_id": profile_id, "spec": spec})),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::CONFIG_CHANGED,
            &id,
            json!({"install_plan": name, "version": version, "profile_id": profile_id}),
        )
        .await?;
        tx.commit().await?;
        self.install_plan(name, Some(version)).await
    }

    /// A plan version (the newest when `version` is None), by plan name or id.
    pub async fn install_plan(&self, name: &str, version: Option<i64>) -> DbResult<InstallPlanRow> {
        let row: Option<InstallPlanRow> = match version {
            Some(v) => sqlx::query_as("SELECT * FROM install_plans WHERE (name = $1 OR id = $1) AND version = $2")
                .bind(name)
                .bind(v)
                .fetch_optional(&self.read)
                .await?,
            None => sqlx::query_as("SELECT * FROM install_plans WHERE name = $1 OR id = $1 ORDER BY version DESC LIMIT 1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
        };
        row.ok_or_else(|| {
            DbError::NotFound(match version {
                Some(v) => format!("install plan '{name}' has no version {v}"),
                None => format!("no install plan '{name}'"),
            })
        })
    }

    /// Every version of every plan, by name then version.
    pub async fn list_install_plans(&self) -> DbResult<Vec<InstallPlanRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM install_plans ORDER BY name, version")
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// The plan for nodes of a profile: the newest version of the plan most recently bound to it.
    pub async fn install_plan_for_profile(
        &self,
        profile_id: &str,
    ) -> DbResult<Option<InstallPlanRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM install_plans WHERE profile_id = $1 ORDER BY created_at DESC, version DESC LIMIT 1",
        )
        .bind(profile_id)
        .fetch_optional(&self.read)
        .await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn lifecycle_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        node_id: &str,
        from: NodeState,
        to: NodeState,
        reason: &Option<String>,
        has_profile: bool,
    ) -> DbResult<()> {
        let has_bmc: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE parent_id = $1 AND kind = 'bmc'")
                .bind(node_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        check_transition(
            from,
            to,
            &GuardContext {
                has_bmc: has_bmc > 0,
                has_profile,
                reason: reason.clone(),
            },
        )?;
        let now = now_ms();
        let n = sqlx::query("UPDATE assets SET state = $1, state_entered_at = $2, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(node_id)
            .bind(from.as_str())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(DbError::Conflict(format!(
                "node '{node_id}' changed state concurrently; read it again and retry"
            )));
        }
        sqlx::query("INSERT INTO lifecycle_history (node_id, from_state, to_state, actor, reason, request_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(node_id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(&actor.name)
            .bind(reason)
            .bind(&actor.request_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: "node.transition",
                kind: "lifecycle",
                target: Some(node_id),
                before: Some(json!({"state": from})),
                after: Some(json!({"state": to, "reason": reason})),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            types::LIFECYCLE_CHANGED,
            node_id,
            json!({"from": from, "to": to, "reason": reason}),
        )
        .await?;
        Ok(())
    }

    /// Starts a provisioning attempt: the node moves to `provisioning` (through the transition
    /// table) and the attempt is recorded, in one transaction. A node with a live attempt is a
    /// conflict.
    pub async fn start_provisioning(
        &self,
        actor: &Actor,
        new: NewProvisioning,
    ) -> DbResult<Provisioning> {
        let mut tx = self.write.begin().await?;
        let node = self.get_asset_tx(&mut tx, &new.node_id, true).await?;
        if node.kind != fleet_model::asset::AssetKind::Node {
            return Err(DbError::Invalid(format!(
                "'{}' is a {}; only nodes are provisioned",
                new.node_id, node.kind
            )));
        }
        let live: Option<String> = sqlx::query(
            "SELECT workflow FROM provisionings WHERE node_id = $1 AND stage IN ('created', 'submitted', 'booted')",
        )
        .bind(&new.node_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("workflow"))
        .transpose()?;
        if let Some(wf) = live {
            return Err(DbError::Conflict(format!(
                "node '{}' is being provisioned (workflow {wf}); cancel it first",
                node.name
            )));
        }
        let from = node.state.unwrap_or(NodeState::Discovered);
        let reason = new.reason.clone().or_else(|| {
            Some(format!(
                "install plan {} v{}",
                new.plan.name, new.plan.version
            ))
        });
        self.lifecycle_tx(
            &mut tx,
            actor,
            &new.node_id,
            from,
            NodeState::Provisioning,
            &reason,
            node.profile_id.is_some(),
        )
        .await?;
        let attempt: Option<i64> =
            sqlx::query("SELECT MAX(attempt) AS a FROM provisionings WHERE node_id = $1")
                .bind(&new.node_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("a")?;
        let attempt = attempt.unwrap_or(0) + 1;
        let id = fleet_model::new_id("prov");
        let workflow = format!("{}-{attempt}", new.workflow_base);
        let now = now_ms();
        sqlx::query("INSERT INTO provisionings (id, node_id, attempt, plan_id, plan_name, plan_version, workflow, power_via, stage, batch_id, actor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created', $9, $10, $11, $11)")
            .bind(&id)
            .bind(&new.node_id)
            .bind(attempt)
            .bind(&new.plan.id)
            .bind(&new.plan.name)
            .bind(new.plan.version)
            .bind(&workflow)
            .bind(&new.power_via)
            .bind(&new.batch_id)
            .bind(&actor.name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("provisioning attempt {attempt}")))?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "node.provision",
                kind: "provisioning",
                target: Some(&new.node_id),
                before: None,
                after: Some(json!({"provisioning": id, "attempt": attempt, "plan": new.plan.name,
                    "plan_version": new.plan.version, "workflow": workflow, "power_via": new.power_via})),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_provisioning(&id).await
    }

    pub async fn get_provisioning(&self, id: &str) -> DbResult<Provisioning> {
        sqlx::query_as("SELECT * FROM provisionings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("no provisioning {id}")))
    }

    /// The newest attempt of a node, if any.
    pub async fn latest_provisioning(&self, node_id: &str) -> DbResult<Option<Provisioning>> {
        Ok(sqlx::query_as(
            "SELECT * FROM provisionings WHERE node_id = $1 ORDER BY attempt DESC LIMIT 1",
        )
        .bind(node_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Attempts of a node, newest first.
    pub async fn list_provisionings(&self, node_id: &str) -> DbResult<Vec<Provisioning>> {
        Ok(
            sqlx::query_as("SELECT * FROM provisionings WHERE node_id = $1 ORDER BY attempt DESC")
                .bind(node_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Attempts that are still live (what a restart resumes), oldest first.
    pub async fn live_provisionings(&self) -> DbResult<Vec<Provisioning>> {
        Ok(sqlx::query_as(
            "SELECT * FROM provisionings WHERE stage IN ('created', 'submitted', 'booted') ORDER BY created_at",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// Records progress of a live attempt. A final attempt is not changed (Conflict).
    pub async fn update_provisioning(
        &self,
        id: &str,
        u: ProvisioningUpdate,
    ) -> DbResult<Provisioning> {
        let cur = self.get_provisioning(id).await?;
        if provisioning_stage_is_final(&cur.stage) {
            return Err(DbError::Conflict(format!(
                "provisioning {id} has ended ({})",
                cur.stage
            )));
        }
        if let Some(s) = &u.stage {
            if !LIVE_STAGES.contains(&s.as_str()) {
                return Err(DbError::Invalid(format!(
                    "'{s}' is not a live provisioning stage; finish the attempt instead"
                )));
            }
        }
        let js = |v: &Option<Value>| v.as_ref().map(serde_json::to_string).transpose();
        sqlx::query("UPDATE provisionings SET stage = COALESCE($1, stage), progress = COALESCE($2, progress), power_jobs = COALESCE($3, power_jobs), timings = COALESCE($4, timings), updated_at = $5 WHERE id = $6 AND stage IN ('created', 'submitted', 'booted')")
            .bind(&u.stage)
            .bind(js(&u.progress)?)
            .bind(js(&u.power_jobs)?)
            .bind(js(&u.timings)?)
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?;
        self.get_provisioning(id).await
    }

    /// Ends an attempt (`succeeded`, `failed` or `cancelled`) and moves the node to `to` when it
    /// is still `provisioning`, in one transaction with history, audit row and events. Ending an
    /// attempt that already ended returns it unchanged.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_provisioning(
        &self,
        actor: &Actor,
        id: &str,
        stage: &str,
        to: NodeState,
        reason: String,
        progress: Option<Value>,
        timings: Option<Value>,
    ) -> DbResult<Provisioning> {
        if !matches!(stage, "succeeded" | "failed" | "cancelled") {
            return Err(DbError::Invalid(format!(
                "'{stage}' is not a final provisioning stage (succeeded, failed, cancelled)"
            )));
        }
        let mut tx = self.write.begin().await?;
        let cur: Provisioning = sqlx::query_as(&format!(
            "SELECT * FROM provisionings WHERE id = $1{}",
            self.for_update()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| DbError::NotFound(format!("no provisioning {id}")))?;
        if provisioning_stage_is_final(&cur.stage) {
            return Ok(cur);
        }
        let node = self.get_asset_tx(&mut tx, &cur.node_id, true).await?;
        let from = node.state.unwrap_or(NodeState::Discovered);
        let reason = Some(reason);
        let moved = from == NodeState::Provisioning;
        if moved {
            self.lifecycle_tx(
                &mut tx,
                actor,
                &cur.node_id,
                from,
                to,
                &reason,
                node.profile_id.is_some(),
            )
            .await?;
        }
        let now = now_ms();
        let failure = (stage != "succeeded").then(|| reason.clone().unwrap_or_default());
        let js = |v: &Option<Value>| v.as_ref().map(serde_json::to_string).transpose();
        sqlx::query("UPDATE provisionings SET stage = $1, failure = $2, progress = COALESCE($3, progress), timings = COALESCE($4, timings), updated_at = $5, finished_at = $5 WHERE id = $6")
            .bind(stage)
            .bind(&failure)
            .bind(js(&progress)?)
            .bind(js(&timings)?)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let summary = json!({"provisioning": id, "workflow": cur.workflow, "attempt": cur.attempt,
            "plan": cur.plan_name, "plan_version": cur.plan_version, "stage": stage, "reason": reason,
            "node_state": if moved { to.as_str() } else { from.as_str() }});
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "node.provision.finish",
                kind: "provisioning",
                target: Some(&cur.node_id),
                before: Some(json!({"stage": cur.stage})),
                after: Some(summary.clone()),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            if stage == "succeeded" {
                types::HARDWARE_PROVISIONED
            } else {
                types::HARDWARE_FAILED
            },
            &cur.node_id,
            summary,
        )
        .await?;
        tx.commit().await?;
        self.get_provisioning(id).await
    }
}
