//! The job worker: claims queued jobs from the database under a lease, runs them with their
//! deadline, renews the leases of what it runs, stops jobs cancelled from any process, and
//! takes back jobs whose worker stopped renewing (a crashed or killed process): operations
//! that are safe to repeat are queued again, the others fail as interrupted.
//!
//! Every gpufleet process with the worker enabled runs one; they share the work through the
//! database only. A job is claimed by exactly one worker (a compare-and-set in one
//! transaction). The worker wakes at once for jobs queued in its own process and polls with
//! backoff (up to `idle_poll`) for jobs queued elsewhere.

use std::time::Duration;

use fleet_db::{Job, JobUpdate};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::operation::Operation;
use crate::principal::{Principal, SystemRole};
use crate::Core;

fn principal() -> Principal {
    Principal::system(SystemRole::Operations)
}

impl Core {
    /// Starts this process's worker (once; later calls do nothing). It stops claiming when
    /// `shutdown` is cancelled; jobs it runs then are left to their leases.
    pub fn start_worker(&self, shutdown: CancellationToken) {
        if self
            .worker_started
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move { core.worker_loop(shutdown).await });
    }

    pub(crate) fn wake_workers(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn job_changed(&self, id: &str) {
        let _ = self.changed.send(id.to_string());
    }

    async fn worker_loop(self, shutdown: CancellationToken) {
        let s = &self.settings;
        tracing::info!(worker = %s.worker_id, lease = ?s.lease, concurrency = s.concurrency, "job worker started");
        let mut idle = Duration::from_millis(50);
        let mut last_renew = tokio::time::Instant::now();
        // The first sweep comes at once (jobs of a process that died before this one started).
        let now = tokio::time::Instant::now();
        let mut last_sweep = now.checked_sub(s.lease).unwrap_or(now);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            if last_renew.elapsed() >= s.renew_every {
                self.renew().await;
                last_renew = tokio::time::Instant::now();
            }
            if last_sweep.elapsed() >= s.lease / 2 {
                self.take_back_expired().await;
                last_sweep = tokio::time::Instant::now();
            }
            let free = s.concurrency.saturating_sub(self.running.lock().len());
            let mut claimed = 0;
            if free > 0 {
                match self
                    .store
                    .claim_jobs(
                        &principal().actor(),
                        &s.worker_id,
                        s.lease.as_millis() as i64,
                        free as i64,
                    )
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            self.spawn_job(job);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot claim jobs"),
                }
            }
            if claimed > 0 {
                idle = Duration::from_millis(50);
                continue;
            }
            let nap = idle.min(s.renew_every);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => idle = Duration::from_millis(50),
                _ = tokio::time::sleep(nap) => idle = (idle * 2).min(s.idle_poll),
            }
        }
        tracing::info!(worker = %s.worker_id, "job worker stopped claiming");
    }

    /// Extends the leases of the jobs this worker runs and stops those it no longer owns
    /// (cancelled from any process, or taken over).
    async fn renew(&self) {
        if self.running.lock().is_empty() {
            return;
        }
        let s = &self.settings;
        match self
            .store
            .renew_leases(&s.worker_id, s.lease.as_millis() as i64)
            .await
        {
            Ok(mine) => {
                let running = self.running.lock();
                for (id, token) in running.iter() {
                    if !mine.contains(id) {
                        token.cancel();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew job leases"),
        }
    }

    /// Jobs whose worker stopped renewing its lease: queued again when repeating them is
    /// safe, else failed as interrupted.
    async fn take_back_expired(&self) {
        let expired = match self.store.expired_jobs(200).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read expired jobs");
                return;
            }
        };
        for job in expired {
            if self.running.lock().contains_key(&job.id) {
                continue; // ours: renewal was late, not lost
            }
            let worker = job.lease_owner.clone().unwrap_or_else(|| "unknown".into());
            let repeat = Operation::from_job(&job.kind, &job.params)
                .map(|op| op.repeatable())
                .unwrap_or(false);
            let reason = if repeat {
                format!("worker {worker} stopped renewing its lease; the job is queued again (safe to repeat)")
            } else {
                format!(
                    "interrupted: worker {worker} stopped renewing its lease while the job ran; \
                     the operation may have partly happened: check the node and run it again"
                )
            };
            match self
                .store
                .expire_job(&principal().actor(), &job.id, repeat, &reason)
                .await
            {
                Ok(Some(j)) => {
                    tracing::warn!(job = %j.id, kind = %j.kind, %worker, state = %j.state, "took back a job whose lease expired");
                    if repeat {
                        self.wake_workers();
                    } else {
                        self.drop_upload(&j);
                    }
                    self.job_changed(&j.id);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "cannot take back an expired job")
                }
            }
        }
    }

    fn spawn_job(&self, job: Job) {
        let token = CancellationToken::new();
        self.running.lock().insert(job.id.clone(), token.clone());
        self.job_changed(&job.id);
        let core = self.clone();
        tokio::spawn(async move {
            let id = job.id.clone();
            core.run_job(job, token).await;
            core.running.lock().remove(&id);
            core.job_changed(&id);
        });
    }

    fn drop_upload(&self, job: &Job) {
        if let Ok(Operation::Firmware {
            image: super::FirmwareImage::Upload { .. },
            ..
        }) = Operation::from_job(&job.kind, &job.params)
        {
            let _ = std::fs::remove_file(self.upload_path(&job.id));
        }
    }

    async fn run_job(&self, job: Job, token: CancellationToken) {
        let id = job.id.clone();
        let owner = self.settings.worker_id.clone();
        let outcome = match Operation::from_job(&job.kind, &job.params) {
            Err(e) => Err(("failed", format!("cannot run this job: {e}"))),
            Ok(op) => {
                let deadline = Duration::from_millis(job.deadline_ms.max(1000) as u64);
                tokio::select! {
                    r = tokio::time::timeout(deadline, self.execute(&job, &op)) => match r {
                        Ok(Ok(result)) => Ok(result),
                        Ok(Err(e)) => Err(("failed", e)),
                        Err(_) => Err(("timed_out", format!("the job did not finish within its deadline of {deadline:?}"))),
                    },
                    _ = token.cancelled() => Err(("cancelled", String::new())),
                }
            }
        };
        let update = match outcome {
            Ok(result) => {
                self.log(&id, "done").await;
                Self::final_update("succeeded", Some(result), None)
            }
            // Cancelled (the cancel recorded the state) or taken over: nothing to record.
            Err(("cancelled", _)) => {
                self.drop_upload_if_final(&job).await;
                return;
            }
            Err((state, e)) => {
                self.log(&id, format!("error: {e}")).await;
                Self::final_update(state, None, Some(e))
            }
        };
        let update = JobUpdate {
            owner: Some(owner),
            ..update
        };
        if let Err(e) = self
            .store
            .update_job(&principal().actor(), &id, update)
            .await
        {
            tracing::warn!(job = %id, error = %e, "cannot record job result");
        }
        self.drop_upload(&job);
    }

    async fn drop_upload_if_final(&self, job: &Job) {
        if let Ok(j) = self.store.get_job(&job.id).await {
            if fleet_db::job_state_is_final(&j.state) {
                self.drop_upload(&j);
            }
        }
    }

    fn final_update(state: &str, result: Option<Value>, error: Option<String>) -> JobUpdate {
        JobUpdate {
            state: Some(state.into()),
            progress: (state == "succeeded").then_some(100),
            result,
            error,
            ..Default::default()
        }
    }

    /// Removes uploaded images no live job owns (interrupted uploads older than an hour,
    /// images of jobs that ended while no worker ran). Safe while other processes run.
    pub async fn sweep_uploads(&self) {
        let Ok(mut rd) = tokio::fs::read_dir(&self.settings.upload_dir).await else {
            return;
        };
        while let Ok(Some(e)) = rd.next_entry().await {
            let name = e.file_name().to_string_lossy().to_string();
            let stale_incoming = name.starts_with("incoming-")
                && e.metadata()
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(3600));
            let orphan = !name.starts_with("incoming-")
                && match self.store.get_job(&name).await {
                    Ok(j) => fleet_db::job_state_is_final(&j.state),
                    Err(fleet_db::DbError::NotFound(_)) => true,
                    Err(_) => false,
                };
            if stale_incoming || orphan {
                let _ = tokio::fs::remove_file(e.path()).await;
            }
        }
    }
}
