//! Out-of-band operations as jobs: power, boot device, virtual media, SEL, reads (operator);
//! BIOS, RAID, firmware and switch ports (admin). Submitting checks the principal's
//! permission and queues a job (audited, published); a worker of any gpufleet process that
//! shares the database claims it under a lease and runs it (see [`worker`]). Cancel works from
//! any process: the running worker sees it when it renews its leases.

mod exec;
mod live;
pub mod operation;
pub mod worker;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_db::{Job, JobFilter, JobLogLine, JobUpdate, NewJob};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;

pub use exec::verify_firmware;
pub use live::{BiosDiff, BiosDifference};
pub use operation::{FirmwareImage, Operation, ReadTarget};

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::Core;

/// Deadline of a job when the request names none, in seconds.
pub const DEFAULT_DEADLINE_S: u64 = 600;
/// Longest deadline a request may ask for, in seconds.
pub const MAX_DEADLINE_S: u64 = 7200;

/// One operation on one node (or switch), as an interface hands it to the core.
#[derive(Debug, Clone)]
pub struct OpSpec {
    pub operation: Operation,
    /// `redfish`, `ipmi` or `ipmitool` (default: the BMC's protocol).
    pub driver: Option<String>,
    /// Deadline of the whole job in seconds (default 600, at most 7200).
    pub deadline_s: Option<u64>,
}

impl OpSpec {
    pub fn new(operation: Operation) -> OpSpec {
        OpSpec {
            operation,
            driver: None,
            deadline_s: None,
        }
    }
}

/// Which nodes a bulk request means: the listed ids or names, else every node with all of
/// `labels`, in `rack` and in `state`. At least one criterion is required.
#[derive(Debug, Clone, Default)]
pub struct NodeSelection {
    pub ids: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub rack: Option<String>,
    pub state: Option<NodeState>,
}

/// A job with its log lines.
#[derive(Debug, Clone)]
pub struct JobWithLog {
    pub job: Job,
    pub log: Vec<JobLogLine>,
}

fn not_found_for_invalid(e: fleet_db::DbError) -> CoreError {
    match e {
        fleet_db::DbError::Invalid(m) => CoreError::NotFound(m),
        other => other.into(),
    }
}

impl Core {
    /// The node `id` (an id or a name).
    pub async fn node(&self, id: &str) -> CoreResult<Asset> {
        self.store
            .resolve(AssetKind::Node, id)
            .await
            .map_err(not_found_for_invalid)
    }

    /// The switch `id` (an id or a name).
    pub async fn switch(&self, id: &str) -> CoreResult<Asset> {
        self.store
            .resolve(AssetKind::Switch, id)
            .await
            .map_err(not_found_for_invalid)
    }

    /// The nodes `sel` selects.
    pub async fn select_nodes(&self, sel: &NodeSelection) -> CoreResult<Vec<Asset>> {
        if !sel.ids.is_empty() {
            let mut nodes = Vec::with_capacity(sel.ids.len());
            for id in &sel.ids {
                nodes.push(self.node(id).await?);
            }
            return Ok(nodes);
        }
        if sel.labels.is_empty() && sel.rack.is_none() && sel.state.is_none() {
            return Err(CoreError::Invalid(
                "select nodes by ids, labels, rack or state".into(),
            ));
        }
        let rack_id = match &sel.rack {
            Some(r) => Some(self.store.resolve(AssetKind::Rack, r).await?.id),
            None => None,
        };
        let mut nodes = vec![];
        let mut cursor = None;
        loop {
            let page = self
                .store
                .list_assets(&fleet_db::AssetFilter {
                    kind: Some(AssetKind::Node),
                    labels: sel
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    rack_id: rack_id.clone(),
                    state: sel.state,
                    limit: 500,
                    after_id: cursor.clone(),
                    ..Default::default()
                })
                .await?;
            nodes.extend(page.items);
            match page.next_after {
                Some(c) => cursor = Some(c),
                None => return Ok(nodes),
            }
        }
    }

    fn check_spec(p: &Principal, spec: &OpSpec) -> CoreResult<i64> {
        let op = &spec.operation;
        p.require(op.permission(), &format!("start a {} job", op.kind()))?;
        if let Some(d) = &spec.driver {
            let ok = if op.on_switch() {
                d == "gnmi"
            } else {
                matches!(d.as_str(), "redfish" | "ipmi" | "ipmitool")
            };
            if !ok {
                return Err(CoreError::Invalid(if op.on_switch() {
                    "switch ports are reached over gnmi".into()
                } else {
                    "driver is redfish, ipmi or ipmitool".into()
                }));
            }
        }
        let deadline_s = spec
            .deadline_s
            .unwrap_or(DEFAULT_DEADLINE_S)
            .clamp(1, MAX_DEADLINE_S);
        Ok((deadline_s * 1000) as i64)
    }

    async fn create(
        &self,
        p: &Principal,
        target: &str,
        spec: &OpSpec,
        batch: Option<(String, i64)>,
    ) -> CoreResult<Job> {
        let deadline_ms = Self::check_spec(p, spec)?;
        let op = &spec.operation;
        let driver = match op {
            Operation::PortAdmin { .. } => Some("gnmi".to_string()),
            Operation::Firmware {
                image: FirmwareImage::Upload { .. },
                ..
            } => Some("redfish".to_string()),
            _ => spec.driver.clone(),
        };
        let (batch_id, max_parallel) = match batch {
            Some((b, n)) => (Some(b), Some(n)),
            None => (None, None),
        };
        let r = self
            .store
            .create_job(
                &p.actor(),
                NewJob {
                    kind: op.kind(),
                    target: target.to_string(),
                    driver,
                    params: op.params(),
                    batch_id,
                    deadline_ms,
                    exclusive: op.exclusive(),
                    max_parallel,
                },
            )
            .await;
        match r {
            Ok(job) => {
                self.wake_workers();
                Ok(job)
            }
            // One power, boot or BIOS job per node at a time: two would race on the same
            // reset. The database's unique index decides, for every process alike.
            Err(fleet_db::DbError::Conflict(_)) if op.exclusive() => {
                let other = self.store.live_exclusive_job(target).await?;
                let (id, kind, state) = match &other {
                    Some(j) => (j.id.as_str(), j.kind.as_str(), j.state.as_str()),
                    None => ("?", "a power, boot or BIOS", "queued or running"),
                };
                Err(CoreError::Conflict {
                    title: "Job running",
                    message: format!(
                        "node {target} already has {kind} job {id} ({state}); wait for it to end or cancel it"
                    ),
                    job: other.map(|j| j.id),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queues `spec` on node (or, for switch-port operations, switch) `id`.
    pub async fn submit(&self, p: &Principal, id: &str, spec: OpSpec) -> CoreResult<Job> {
        Self::check_spec(p, &spec)?;
        let target = if spec.operation.on_switch() {
            self.switch(id).await?.id
        } else {
            self.node(id).await?.id
        };
        self.create(p, &target, &spec, None).await
    }

    /// Queues a firmware update from an image already stored at [`Core::upload_path`] under
    /// a name the caller chose: the image file is renamed to the job's id.
    pub async fn submit_upload(
        &self,
        p: &Principal,
        node: &str,
        spec: OpSpec,
        staged: &std::path::Path,
    ) -> CoreResult<Job> {
        let job = self.create(p, node, &spec, None).await;
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                let _ = tokio::fs::remove_file(staged).await;
                return Err(e);
            }
        };
        if let Err(e) = tokio::fs::rename(staged, self.upload_path(&job.id)).await {
            let _ = tokio::fs::remove_file(staged).await;
            let _ = self
                .store
                .update_job(
                    &p.actor(),
                    &job.id,
                    JobUpdate {
                        state: Some("failed".into()),
                        error: Some(format!("cannot store the image: {e}")),
                        ..Default::default()
                    },
                )
                .await;
            return Err(CoreError::Internal(format!("cannot store the image: {e}")));
        }
        Ok(job)
    }

    /// One job per selected node, in one batch of which at most `concurrency` run at once
    /// (across every worker). Returns the batch id and the jobs.
    pub async fn bulk(
        &self,
        p: &Principal,
        sel: &NodeSelection,
        spec: OpSpec,
        concurrency: usize,
    ) -> CoreResult<(String, Vec<Job>)> {
        Self::check_spec(p, &spec)?;
        let nodes = self.select_nodes(sel).await?;
        let batch = uuid::Uuid::now_v7().to_string();
        let limit = concurrency.clamp(1, 1000) as i64;
        let mut jobs = Vec::with_capacity(nodes.len());
        for n in nodes {
            jobs.push(
                self.create(p, &n.id, &spec, Some((batch.clone(), limit)))
                    .await?,
            );
        }
        Ok((batch, jobs))
    }

    /// Cancels a queued or running job. Cancelling needs the permission that starting it
    /// needed: an operator cannot stop an admin's BIOS, RAID, firmware or switch-port job
    /// half-way. A running job stops at its worker's next lease renewal.
    pub async fn cancel(&self, p: &Principal, id: &str) -> CoreResult<Job> {
        // Every operation needs at least this: nobody below it learns whether a job exists.
        p.require(fleet_model::rbac::Permission::OobOperate, "cancel jobs")?;
        let job = self.store.get_job(id).await?;
        let needed = Operation::from_job(&job.kind, &job.params)
            .map(|op| op.permission())
            .unwrap_or(fleet_model::rbac::Permission::OobAdmin);
        p.require(needed, &format!("cancel a {} job", job.kind))?;
        let j = self
            .store
            .update_job(
                &p.actor(),
                &job.id,
                JobUpdate {
                    state: Some("cancelled".into()),
                    error: Some(format!("cancelled by {}", p.name)),
                    ..Default::default()
                },
            )
            .await?;
        // A job running in this process stops now; elsewhere at the next renewal.
        if let Some(t) = self.running.lock().get(id) {
            t.cancel();
        }
        self.job_changed(id);
        Ok(j)
    }

    pub async fn job(&self, p: &Principal, id: &str) -> CoreResult<Job> {
        p.require(Permission::InventoryRead, "read jobs")?;
        Ok(self.store.get_job(id).await?)
    }

    pub async fn jobs(&self, p: &Principal, f: &JobFilter) -> CoreResult<Vec<Job>> {
        p.require(Permission::InventoryRead, "read jobs")?;
        Ok(self.store.list_jobs(f).await?)
    }

    /// A job with its log lines after line `after`; waits up to `wait` (at most 30 s) for the
    /// job to change or log a line when it has not ended. Wakes on changes made in this
    /// process at once and polls the database with backoff for the others.
    pub async fn follow_job(
        &self,
        p: &Principal,
        id: &str,
        after: i64,
        wait: Duration,
    ) -> CoreResult<JobWithLog> {
        p.require(Permission::InventoryRead, "read jobs")?;
        let wait = wait.min(Duration::from_secs(30));
        let mut changes = self.changed.subscribe();
        let mut job = self.store.get_job(id).await?;
        let start = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        while !fleet_db::job_state_is_final(&job.state) && start.elapsed() < wait {
            if !self.store.job_log(id, after).await?.is_empty() {
                break;
            }
            let left = wait.saturating_sub(start.elapsed());
            let woken = async {
                loop {
                    match changes.recv().await {
                        Ok(x) if x == id => return,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause.min(left)) => {}
                _ = woken => {}
            }
            pause = (pause * 2).min(Duration::from_secs(1));
            let j = self.store.get_job(id).await?;
            if j.updated_at != job.updated_at {
                job = j;
                break;
            }
            job = j;
        }
        let log = self.store.job_log(id, after).await?;
        Ok(JobWithLog { job, log })
    }

    /// The operation log of a node: its jobs, newest first, with their log lines.
    pub async fn oplog(&self, p: &Principal, node: &str) -> CoreResult<Vec<JobWithLog>> {
        p.require(Permission::InventoryRead, "read jobs")?;
        let node = self.node(node).await?.id;
        let jobs = self
            .store
            .list_jobs(&JobFilter {
                target: Some(node),
                limit: 100,
                ..Default::default()
            })
            .await?;
        let mut out = vec![];
        for job in jobs {
            let log = self.store.job_log(&job.id, 0).await?;
            out.push(JobWithLog { job, log });
        }
        Ok(out)
    }

    /// Where an uploaded image waits for its job (or, under a temporary name, for its upload
    /// to finish). Every worker that may run firmware jobs must see this directory.
    pub fn upload_path(&self, name: &str) -> std::path::PathBuf {
        self.settings.upload_dir.join(name)
    }
}
