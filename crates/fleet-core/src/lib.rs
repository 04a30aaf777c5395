//! gpufleet's application core: every use case the interfaces offer (REST today; gRPC,
//! GraphQL and the background roles alike), each taking a [`Principal`] and checking its
//! permission itself, with typed errors ([`CoreError`]) that each interface maps once. No
//! HTTP, gRPC or GraphQL type appears here.
//!
//! - [`principal`]: users with roles and gpufleet's own system roles (`system:<role>` in the
//!   audit log).
//! - [`ops`]: out-of-band operations as jobs with a typed [`ops::Operation`]; workers in any
//!   number of processes share them through database leases.
//! - [`feed`]: the published event feed as a watch that resumes from a sequence.
//! - [`identity`]: users, tokens and logins (with the login rate limit).
//! - [`events`]: the event feed, the audit log and change history, the bus's dead letters,
//!   inventory import.
//! - [`discovery`]: registering BMCs from a list, a subnet sweep or a node's announcement.
//! - [`provisioning`]: install plans and provisioning runs, driven through the
//!   [`provisioning::Engine`] port (Tinkerbell) as `system:provisioning`.
//! - [`bmc`]: the one way to reach a node's BMC with its stored credentials.
//! - [`telemetry`]: GPU telemetry ingest, derived health, the hot status port;
//!   [`hot_redis`]: its Redis adapter; [`scrape`]: dcgm-exporter pages scraped from the nodes
//!   that name one; [`history`]: the time-series port (SQLite embedded, InfluxDB), the write
//!   buffer at the configured resolution, and the series query.
//! - [`alerting`]: alert rules (stored, versioned) evaluated on the telemetry stream; what
//!   fires goes to the correlation.
//! - [`correlation`]: alerts in, incidents out (the physical graph from the CMDB, label
//!   resolution, de-duplication, incident state and events).

pub mod alerting;
pub mod bmc;
pub mod cooling;
pub mod correlation;
pub mod discovery;
pub mod error;
pub mod events;
pub mod feed;
pub mod history;
pub mod hot_redis;
pub mod identity;
pub mod inventory;
pub mod network;
pub mod ops;
pub mod power;
pub mod principal;
pub mod provisioning;
pub mod recovery;
pub mod remediation;
pub mod scrape;
pub mod telemetry;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use fleet_db::Store;
use tokio_util::sync::CancellationToken;

pub use error::{CoreError, CoreResult};
pub use principal::{Principal, PrincipalKind, SystemRole};

/// How this process's core behaves.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// This process's name as a job worker (unique per process).
    pub worker_id: String,
    /// How long a claim on a running job holds without renewal.
    pub lease: Duration,
    /// How often the worker renews its leases (and sees cancels from other processes).
    pub renew_every: Duration,
    /// Longest pause between looks for jobs queued by other processes.
    pub idle_poll: Duration,
    /// Jobs this process runs at once.
    pub concurrency: usize,
    /// BMC request timeout when the BMC's configuration names none.
    pub bmc_timeout: Duration,
    /// Where uploaded firmware images wait for their jobs; shared by every worker.
    pub upload_dir: PathBuf,
    /// Token lifetimes and the login limit.
    pub identity: identity::IdentitySettings,
    /// The incident store (graph refresh, limits, escalation).
    pub correlation: correlation::CorrelationSettings,
    /// The recovery ladder of stuck nodes.
    pub recovery: recovery::RecoverySettings,
}

impl CoreSettings {
    pub fn new(upload_dir: PathBuf) -> CoreSettings {
        CoreSettings {
            worker_id: default_worker_id(),
            lease: Duration::from_secs(15),
            renew_every: Duration::from_secs(2),
            idle_poll: Duration::from_secs(1),
            concurrency: 256,
            bmc_timeout: Duration::from_secs(15),
            upload_dir,
            identity: Default::default(),
            correlation: Default::default(),
            recovery: Default::default(),
        }
    }
}

/// A fixed offset of `id` within `[0, window)` (zero for an empty window): periodic work per
/// node (the enricher's status sync, the scraper) starts at it so that a fleet's requests
/// spread over the window instead of arriving together. FNV-1a, so the offset is the same in
/// every process and release.
pub fn spread_offset(id: &str, window: Duration) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Duration::from_millis(h % (window.as_millis().max(1) as u64))
}

/// Nanoseconds since the Unix epoch (the time unit of telemetry samples).
pub(crate) fn now_nanos() -> fleet_telemetry::Nanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as fleet_telemetry::Nanos)
        .unwrap_or(0)
}

/// `<host>:<pid>:<random>`: unique per process, readable in job rows.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let rnd = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &rnd[..8])
}

/// The core of one process; cheap to clone.
#[derive(Clone)]
pub struct Core(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub settings: CoreSettings,
    /// Wakes this process's worker when a job is queued here.
    wake: tokio::sync::Notify,
    /// Ids of jobs that changed in this process (for followers).
    changed: tokio::sync::broadcast::Sender<String>,
    /// Jobs this process's worker runs, with their cancel tokens.
    running: parking_lot::Mutex<HashMap<String, CancellationToken>>,
    worker_started: AtomicBool,
    /// Telemetry ingest and derived GPU health (see [`telemetry`]).
    pub telemetry: telemetry::Telemetry,
    /// Alert correlation: held alerts and incidents of this process.
    pub incidents: correlation::Incidents,
    /// The recovery ladders of stuck nodes (see [`recovery`]).
    recovery: parking_lot::Mutex<recovery::RecoveryState>,
    /// Failed logins of this process (see [`identity::LoginLimiter`]).
    logins: identity::LoginLimiter,
    /// Bumped by every change of a user or token (see [`Core::identity_generation`]).
    identity_gen: AtomicU64,
}

impl std::ops::Deref for Core {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Core {
    /// With the in-memory hot status (the embedded default).
    pub fn new(store: Store, settings: CoreSettings) -> Core {
        Self::with_hot_status(
            store,
            settings,
            Arc::new(telemetry::MemoryHotStatus::default()),
        )
    }

    /// With the given hot status (e.g. [`hot_redis::RedisHotStatus`]) and an embedded history
    /// in memory.
    pub fn with_hot_status(
        store: Store,
        settings: CoreSettings,
        hot: Arc<dyn telemetry::HotStatus>,
    ) -> Core {
        Self::with_ports(store, settings, hot, history::History::in_memory())
    }

    /// With the given hot status and history.
    pub fn with_ports(
        store: Store,
        settings: CoreSettings,
        hot: Arc<dyn telemetry::HotStatus>,
        history: history::History,
    ) -> Core {
        let (changed, _) = tokio::sync::broadcast::channel(1024);
        let logins = identity::LoginLimiter::new(
            settings.identity.login_max_failures,
            settings.identity.login_window,
        );
        let correlation_settings = settings.correlation.clone();
        Core(Arc::new(Inner {
            logins,
            identity_gen: AtomicU64::new(0),
            store,
            settings,
            wake: tokio::sync::Notify::new(),
            changed,
            running: Default::default(),
            worker_started: AtomicBool::new(false),
            telemetry: telemetry::Telemetry::new(Default::default(), hot, history),
            incidents: correlation::Incidents::new(correlation_settings),
            recovery: Default::default(),
        }))
    }

    /// Jobs this process's worker runs now.
    pub fn running_jobs(&self) -> Vec<String> {
        self.running.lock().keys().cloned().collect()
    }
}

#[cfg(test)]
mod spread_tests {
    use super::*;

    #[test]
    fn spread_offsets_are_stable_inside_the_window_and_spread_out() {
        let w = Duration::from_secs(10);
        let a = spread_offset("node-1", w);
        assert_eq!(a, spread_offset("node-1", w));
        assert!(a < w);
        assert_eq!(spread_offset("node-1", Duration::ZERO), Duration::ZERO);
        let spread: std::collections::BTreeSet<u128> = (0..50)
            .map(|i| spread_offset(&format!("node-{i}"), w).as_millis() / 1000)
            .collect();
        assert!(spread.len() >= 5, "offsets bunch together: {spread:?}");
        let span = Duration::from_secs(7);
        let fine: std::collections::BTreeSet<_> = (0..100)
            .map(|i| spread_offset(&format!("node-{i}"), span))
            .collect();
        assert!(fine.iter().all(|d| *d < span));
        assert!(fine.len() > 90, "offsets spread out: {}", fine.len());
    }
}
