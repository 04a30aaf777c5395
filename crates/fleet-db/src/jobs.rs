//! Jobs: every out-of-band operation (power, boot, BIOS, RAID, firmware, media, SEL, switch
//! ports) is a job with a state, steps, progress and a log. Creating a job and every change of
//! its state is one transaction with its audit row and its outbox event.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::query::{Bind, Sql};
use crate::store::{Actor, Store};
use fleet_model::event::types;

/// Job states. `queued` and `running` are live; the others are final.
pub const JOB_STATES: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
];

pub fn job_state_is_final(s: &str) -> bool {
    matches!(s, "succeeded" | "failed" | "cancelled" | "timed_out")
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    /// Operation, e.g. `power.cycle`, `boot.set`, `bios.set`, `raid.create`, `firmware.update`.
    pub kind: String,
    /// The asset id of the node (or switch) the job acts on.
    pub target: String,
    /// `redfish`, `ipmi`, `ipmitool`, `gnmi`.
    pub driver: Option<String>,
    /// The operation's parameters (JSON); never holds credentials.
    pub params: String,
    pub actor: String,
    pub state: String,
    pub step: Option<String>,
    pub progress: i64,
    /// Result document (JSON) once succeeded.
    pub result: Option<String>,
    pub error: Option<String>,
    pub batch_id: Option<String>,
    pub deadline_ms: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
    /// The worker (process) that runs or last ran the job.
    pub lease_owner: Option<String>,
    /// Until when the worker's claim holds (Unix ms) while the job runs; a job whose lease
    /// expired is taken back by another worker.
    pub lease_until: Option<i64>,
    /// How many times a worker has started the job (more than 1: taken over after a lease
    /// expired).
    pub attempts: i64,
    /// A bulk batch's limit of jobs running at once.
    pub max_parallel: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct JobLogLine {
    pub id: i64,
    pub job_id: String,
    pub at: i64,
    pub line: String,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub target: String,
    pub driver: Option<String>,
    pub params: Value,
    pub batch_id: Option<String>,
    pub deadline_ms: i64,
    /// At most one exclusive job (power, boot, BIOS) queued or running per target, across
    /// every process sharing the database.
    pub exclusive: bool,
    /// Jobs of the same batch running at once, at most.
    pub max_parallel: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub target: Option<String>,
    pub state: Option<String>,
    pub batch_id: Option<String>,
    pub kind: Option<String>,
    pub limit: i64,
}

/// A change of a job's state, progress or step.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate {
    pub state: Option<String>,
    pub step: Option<String>,
    pub progress: Option<i64>,
    pub result: Option<Value>,
    pub error: Option<String>,
    /// Applies only while the job runs under this worker's lease; otherwise `Conflict`
    /// (cancelled meanwhile, or taken over after the lease expired).
    pub owner: Option<String>,
}

fn event_type(state: &str) -> &'static str {
    match state {
        "queued" => types::JOB_QUEUED,
        "running" => types::JOB_STARTED,
        "succeeded" => types::JOB_SUCCEEDED,
        "cancelled" => types::JOB_CANCELLED,
        _ => types::JOB_FAILED,
    }
}

fn summary(j: &Job) -> Value {
    json!({"id": j.id, "kind": j.kind, "target": j.target, "driver": j.driver, "state": j.state,
           "step": j.step, "progress": j.progress, "error": j.error, "batch_id": j.batch_id, "actor": j.actor,
           "worker": j.lease_owner, "attempts": j.attempts})
}

impl Store {
    /// The audit row and the `job.*` event of a job's change of state, in the caller's
    /// transaction.
    async fn record_job_state(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        before: Value,
        after: &Job,
    ) -> DbResult<()> {
        let doc = summary(after);
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: "job.state",
                kind: "job",
                target: Some(&after.target),
                before: Some(before),
                after: Some(doc.clone()),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            event_type(&after.state),
            &after.target,
            json!({"job": doc}),
        )
        .await?;
        Ok(())
    }

    /// Records a queued job (audit row + `job.queued` event in the same transaction).
    pub async fn create_job(&self, actor: &Actor, new: NewJob) -> DbResult<Job> {
        if new.kind.is_empty() || new.target.is_empty() {
            return Err(DbError::Invalid("a job needs a kind and a target".into()));
        }
        let now = now_ms();
        let job = Job {
            id: uuid::Uuid::now_v7().to_string(),
            kind: new.kind,
            target: new.target,
            driver: new.driver,
            params: new.params.to_string(),
            actor: actor.name.clone(),
            state: "queued".into(),
            step: None,
            progress: 0,
            result: None,
            error: None,
            batch_id: new.batch_id,
            deadline_ms: new.deadline_ms,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            lease_owner: None,
            lease_until: None,
            attempts: 0,
            max_parallel: new.max_parallel,
        };
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO jobs (id, kind, target, driver, params, actor, state, progress, batch_id, deadline_ms, created_at, updated_at, exclusive_key, max_parallel) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&job.id)
        .bind(&job.kind)
        .bind(&job.target)
        .bind(job.driver.clone())
        .bind(&job.params)
        .bind(&job.actor)
        .bind(&job.state)
        .bind(job.batch_id.clone())
        .bind(job.deadline_ms)
        .bind(now)
        .bind(now)
        .bind(new.exclusive.then(|| job.target.clone()))
        .bind(job.max_parallel)
        .execute(&mut *tx)
        .await
        .map_err(|e| match DbError::from_write(e, "job") {
            DbError::Conflict(_) => DbError::Conflict(format!(
                "{} already has a power, boot or BIOS job queued or running",
                job.target
            )),
            other => other,
        })?;
        let doc = summary(&job);
        // The audit row says what was asked for: the parameters too (they never hold a
        // credential: BMC passwords are read from the secret store when the job runs).
        let mut audited = doc.clone();
        audited["params"] = serde_json::from_str(&job.params).unwrap_or(Value::Null);
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "job.create",
                kind: "job",
                target: Some(&job.target),
                before: None,
                after: Some(audited),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::JOB_QUEUED,
            &job.target,
            json!({"job": doc}),
        )
        .await?;
        tx.commit().await?;
        Ok(job)
    }

    pub async fn get_job(&self, id: &str) -> DbResult<Job> {
        sqlx::query_as::<_, Job>("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("job {id}")))
    }

    /// Jobs, newest first.
    pub async fn list_jobs(&self, f: &JobFilter) -> DbResult<Vec<Job>> {
        let mut q = Sql::new("SELECT * FROM jobs WHERE 1 = 1");
        if let Some(t) = &f.target {
            q.push(" AND target = ").bind(Bind::Str(t.clone()));
        }
        if let Some(s) = &f.state {
            q.push(" AND state = ").bind(Bind::Str(s.clone()));
        }
        if let Some(b) = &f.batch_id {
            q.push(" AND batch_id = ").bind(Bind::Str(b.clone()));
        }
        if let Some(k) = &f.kind {
            q.push(" AND kind = ").bind(Bind::Str(k.clone()));
        }
        let limit = if f.limit <= 0 { 100 } else { f.limit.min(1000) };
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(Bind::I64(limit));
        Ok(q.query_as::<Job>().fetch_all(&self.read).await?)
    }

    /// Changes a job. A change of state is audited and published (`job.*` event) in the same
    /// transaction; a final state is never left again.
    pub async fn update_job(&self, actor: &Actor, id: &str, u: JobUpdate) -> DbResult<Job> {
        let mut tx = self.write.begin().await?;
        let before = sqlx::query_as::<_, Job>(&format!(
            "SELECT * FROM jobs WHERE id = $1{}",
            self.for_update()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| DbError::NotFound(format!("job {id}")))?;
        if job_state_is_final(&before.state) {
            return Err(DbError::Conflict(format!(
                "job {id} already ended {}",
                before.state
            )));
        }
        if let Some(owner) = &u.owner {
            if before.state != "running" || before.lease_owner.as_deref() != Some(owner) {
                return Err(DbError::Conflict(format!(
                    "job {id} is no longer run by {owner} (state {}, worker {})",
                    before.state,
                    before.lease_owner.as_deref().unwrap_or("none")
                )));
            }
        }
        if let Some(s) = &u.state {
            if !JOB_STATES.contains(&s.as_str()) {
                return Err(DbError::Invalid(format!("unknown job state {s:?}")));
            }
        }
        let now = now_ms();
        let mut after = before.clone();
        if let Some(s) = &u.state {
            after.state = s.clone();
            if s == "running" && after.started_at.is_none() {
                after.started_at = Some(now);
            }
            if job_state_is_final(s) {
                after.finished_at = Some(now);
                if s == "succeeded" {
                    after.progress = 100;
                }
            }
        }
        if let Some(st) = &u.step {
            after.step = Some(st.clone());
        }
        if let Some(p) = u.progress {
            after.progress = p.clamp(0, 100);
        }
        if let Some(r) = &u.result {
            after.result = Some(r.to_string());
        }
        if let Some(e) = &u.error {
            after.error = Some(e.clone());
        }
        after.updated_at = now;
        let live = !job_state_is_final(&after.state);
        if !live {
            after.lease_until = None;
        }
        // A job that ended frees its node for the next power, boot or BIOS job.
        let exclusive = if live { "exclusive_key" } else { "NULL" };
        sqlx::query(&format!(
            "UPDATE jobs SET state = $1, step = $2, progress = $3, result = $4, error = $5, started_at = $6, finished_at = $7, updated_at = $8, \
             lease_until = $9, exclusive_key = {exclusive} WHERE id = $10",
        ))
        .bind(&after.state)
        .bind(after.step.clone())
        .bind(after.progress)
        .bind(after.result.clone())
        .bind(after.error.clone())
        .bind(after.started_at)
        .bind(after.finished_at)
        .bind(now)
        .bind(after.lease_until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if after.state != before.state {
            let was = json!({"id": id, "state": before.state});
            self.record_job_state(&mut tx, actor, was, &after).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Appends a line to a job's log. Callers never pass credentials.
    pub async fn append_job_log(&self, id: &str, line: &str) -> DbResult<()> {
        sqlx::query("INSERT INTO job_log (job_id, at, line) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(now_ms())
            .bind(line)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Log lines of a job after line `after_id` (0: from the start).
    pub async fn job_log(&self, id: &str, after_id: i64) -> DbResult<Vec<JobLogLine>> {
        Ok(sqlx::query_as::<_, JobLogLine>(
            "SELECT * FROM job_log WHERE job_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(id)
        .bind(after_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The queued or running exclusive (power, boot, BIOS) job of `target`, if any.
    pub async fn live_exclusive_job(&self, target: &str) -> DbResult<Option<Job>> {
        Ok(
            sqlx::query_as::<_, Job>("SELECT * FROM jobs WHERE exclusive_key = $1")
                .bind(target)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Claims up to `n` queued jobs, oldest first, for `worker` with a lease of `lease_ms`:
    /// each becomes `running` (audited, `job.started` published) in its own transaction. A job
    /// another worker claimed first is skipped; a batch never gets more than its
    /// `max_parallel` running jobs from one claim.
    pub async fn claim_jobs(
        &self,
        actor: &Actor,
        worker: &str,
        lease_ms: i64,
        n: i64,
    ) -> DbResult<Vec<Job>> {
        if n <= 0 {
            return Ok(vec![]);
        }
        let rows = sqlx::query(
            "SELECT j.id, j.batch_id, j.max_parallel, \
               (SELECT COUNT(*) FROM jobs r WHERE r.batch_id = j.batch_id AND r.state = 'running') AS running \
             FROM jobs j WHERE j.state = 'queued' ORDER BY j.created_at, j.id LIMIT $1",
        )
        .bind(n.saturating_mul(4).min(4000))
        .fetch_all(&self.read)
        .await?;
        let mut in_batch: std::collections::HashMap<String, i64> = Default::default();
        let mut claimed = vec![];
        for r in rows {
            if claimed.len() as i64 >= n {
                break;
            }
            let id: String = r.try_get("id")?;
            let batch: Option<String> = r.try_get("batch_id")?;
            let max: Option<i64> = r.try_get("max_parallel")?;
            if let (Some(b), Some(max)) = (&batch, max) {
                let running = *in_batch
                    .entry(b.clone())
                    .or_insert(r.try_get::<i64, _>("running")?);
                if running >= max {
                    continue;
                }
            }
            if let Some(job) = self.claim_one(actor, worker, lease_ms, &id).await? {
                if let Some(b) = &batch {
                    *in_batch.entry(b.clone()).or_default() += 1;
                }
                claimed.push(job);
            }
        }
        Ok(claimed)
    }

    async fn claim_one(
        &self,
        actor: &Actor,
        worker: &str,
        lease_ms: i64,
        id: &str,
    ) -> DbResult<Option<Job>> {
        let mut tx = self.write.begin().await?;
        let Some(before) = sqlx::query_as::<_, Job>(&format!(
            "SELECT * FROM jobs WHERE id = $1{}",
            self.for_update()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        if before.state != "queued" {
            return Ok(None);
        }
        let now = now_ms();
        let mut job = before.clone();
        job.state = "running".into();
        job.lease_owner = Some(worker.to_string());
        job.lease_until = Some(now + lease_ms);
        job.attempts += 1;
        job.started_at = Some(job.started_at.unwrap_or(now));
        job.updated_at = now;
        sqlx::query(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = $3, started_at = $4, updated_at = $5 \
             WHERE id = $6 AND state = 'queued'",
        )
        .bind(worker)
        .bind(job.lease_until)
        .bind(job.attempts)
        .bind(job.started_at)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let was = json!({"id": id, "state": before.state});
        self.record_job_state(&mut tx, actor, was, &job).await?;
        tx.commit().await?;
        Ok(Some(job))
    }

    /// Extends the lease of every job `worker` runs; returns the ids it still runs (a job
    /// missing from the answer was cancelled or taken over: the worker stops it).
    pub async fn renew_leases(&self, worker: &str, lease_ms: i64) -> DbResult<Vec<String>> {
        sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND state = 'running'",
        )
        .bind(now_ms() + lease_ms)
        .bind(worker)
        .execute(&self.write)
        .await?;
        let rows = sqlx::query("SELECT id FROM jobs WHERE lease_owner = $1 AND state = 'running'")
            .bind(worker)
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Running jobs whose lease has expired (their worker stopped renewing it), oldest first.
    pub async fn expired_jobs(&self, limit: i64) -> DbResult<Vec<Job>> {
        Ok(sqlx::query_as::<_, Job>(
            "SELECT * FROM jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until < $1) \
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(now_ms())
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.read)
        .await?)
    }

    /// Takes back a running job whose lease expired: queued again for another worker
    /// (`requeue`, for operations that are safe to repeat), else failed with `reason`. None
    /// when the job is no longer running or its lease was renewed meanwhile.
    pub async fn expire_job(
        &self,
        actor: &Actor,
        id: &str,
        requeue: bool,
        reason: &str,
    ) -> DbResult<Option<Job>> {
        let mut tx = self.write.begin().await?;
        let Some(before) = sqlx::query_as::<_, Job>(&format!(
            "SELECT * FROM jobs WHERE id = $1{}",
            self.for_update()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let now = now_ms();
        if before.state != "running" || before.lease_until.is_some_and(|t| t >= now) {
            return Ok(None);
        }
        let mut after = before.clone();
        after.updated_at = now;
        after.lease_until = None;
        if requeue {
            after.state = "queued".into();
            after.step = None;
            after.progress = 0;
            sqlx::query(
                "UPDATE jobs SET state = 'queued', step = NULL, progress = 0, lease_until = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        } else {
            after.state = "failed".into();
            after.error = Some(reason.to_string());
            after.finished_at = Some(now);
            sqlx::query(
                "UPDATE jobs SET state = 'failed', error = $1, finished_at = $2, lease_until = NULL, exclusive_key = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("INSERT INTO job_log (job_id, at, line) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        let was = json!({"id": id, "state": before.state, "worker": before.lease_owner});
        self.record_job_state(&mut tx, actor, was, &after).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Number of jobs per state.
    pub async fn job_counts(&self) -> DbResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }
}
