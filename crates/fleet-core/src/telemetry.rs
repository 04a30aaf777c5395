//! Real-time GPU health: the server side of telemetry.
//!
//! Samples arrive as InfluxDB line protocol (push: the agent, Telegraf, anything that speaks
//! the InfluxDB write API) or as Prometheus text (dcgm-exporter pages). They are parsed by
//! `fleet-telemetry`, resolved to CMDB GPUs through a [`CmdbIndex`] built from the store
//! (GPU UUID from the configuration the enricher writes, GPU serial, node name or hostname
//! plus GPU index), fed to the [`HealthTracker`], and their latest values kept in the
//! [`HotStatus`] port. A **change** of derived health (never a sample) becomes a
//! `gpu.status_changed` outbox event and a `gpu_health_history` row in one transaction;
//! telemetry never writes configuration versions.
//!
//! Samples no key resolves are counted per sender key ([`TelemetryStatus::unknown_senders`]),
//! never dropped silently. A periodic [`Core::start_telemetry`] task ticks the tracker
//! (telemetry gone missing, windows and holds expired) and refreshes the index.
//!
//! The tracker lives in this process: with several API processes, each derives health from
//! the samples it receives (a sender should stick to one process). The hot status is shared
//! when it is Redis: every process reads the same latest values and health.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_db::{AssetFilter, AssetHealthChange, AssetHealthRow, GpuHealthChange, GpuHealthRow};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::rbac::Permission;
use fleet_telemetry::health::{
    BmcReading, Health, HealthChange, HealthConfig, HealthState, HealthTracker, Subject,
};
use fleet_telemetry::line_protocol::{self, Limits, LineError, Precision};
use fleet_telemetry::network::{PortChange, PortReading, PortStatus, PortTracker};
use fleet_telemetry::sample::{
    self, AssetRef, Resolver, SampleBatch, SampleKey, UnknownSenders, Unmapped,
};
use fleet_telemetry::xid::XidCatalog;
use fleet_telemetry::{fields::GpuField, Nanos};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::{now_nanos, Core};

/// How telemetry behaves in this process.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// Health thresholds (interval, missing intervals, temperatures, windows, XID holds).
    pub health: HealthConfig,
    /// How often missing telemetry and expired windows are looked for.
    pub tick_every: Duration,
    /// How often the CMDB index is rebuilt even without a miss.
    pub index_ttl: Duration,
    /// Shortest time between two rebuilds caused by unknown senders.
    pub index_min_refresh: Duration,
    /// Line-protocol limits (line length, fields, tags, errors kept).
    pub limits: Limits,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            health: HealthConfig::default(),
            tick_every: Duration::from_secs(5),
            index_ttl: Duration::from_secs(60),
            index_min_refresh: Duration::from_secs(2),
            limits: Limits::default(),
        }
    }
}

fn nanos_to_ms(n: Nanos) -> i64 {
    n / 1_000_000
}

// ---------------------------------------------------------------------------------------------
// Hot status port

/// The latest known status of one GPU.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GpuStatus {
    /// The GPU asset.
    pub gpu: String,
    /// The node it reported from.
    pub node: Option<String>,
    /// healthy, unknown, degraded, missing or failed.
    pub state: HealthState,
    /// Why it is not healthy (XID with its catalog meaning, ECC, thermal, missing telemetry…).
    pub reasons: Vec<fleet_telemetry::health::Reason>,
    /// Latest value of every field, by canonical field name.
    pub fields: BTreeMap<String, f64>,
    /// Last sample, Unix milliseconds.
    pub last_seen_ms: Option<i64>,
    /// When the current state was entered, Unix milliseconds.
    pub since_ms: Option<i64>,
}

/// The latest derived health of one node (the roll-up of its GPUs and its BMC readings) and
/// the BMC readings of the last status sync.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeStatus {
    pub node: String,
    pub health: Health,
    pub since_ms: Option<i64>,
    /// What the BMC read at the last status sync (temperatures, fans, power supplies, power).
    pub sensors: Vec<BmcReading>,
    /// When the sensors were read, Unix milliseconds.
    pub sensors_at_ms: Option<i64>,
}

/// Latest values of one GPU's batch, for [`HotStatus::record_samples`].
#[derive(Debug, Clone)]
pub struct SampleUpdate {
    pub gpu: String,
    pub node: Option<String>,
    pub at: Nanos,
    pub values: Vec<(GpuField, f64)>,
}

/// Where the latest value of every field per GPU, its health with reasons and its last-seen
/// time live. [`MemoryHotStatus`] is the embedded adapter; [`crate::hot_redis::RedisHotStatus`]
/// keeps them in Redis (shared by several gpufleet processes, surviving a restart). Both pass
/// the same contract suite (`tests/hot_status.rs`).
#[async_trait::async_trait]
pub trait HotStatus: Send + Sync {
    /// Stores the latest values (a value older than the stored one for the same field is kept
    /// out) and the last-seen time.
    async fn record_samples(&self, updates: &[SampleUpdate]) -> CoreResult<()>;
    /// Stores health changes; a change older than the stored state of its subject is ignored.
    async fn record_health(&self, changes: &[HealthChange]) -> CoreResult<()>;
    async fn gpu(&self, gpu: &str) -> CoreResult<Option<GpuStatus>>;
    async fn node(&self, node: &str) -> CoreResult<Option<NodeStatus>>;
    /// GPUs known, by health state.
    async fn gpu_counts(&self) -> CoreResult<BTreeMap<String, u64>>;
    /// Stores a node's BMC readings of one status sync (replacing the previous ones).
    async fn record_node_sensors(
        &self,
        node: &str,
        at_ms: i64,
        readings: &[BmcReading],
    ) -> CoreResult<()>;
    /// Stores the status of some ports of a switch (each replaces that port's).
    async fn record_ports(&self, switch: &str, ports: &[(String, PortStatus)]) -> CoreResult<()>;
    /// Every port known of a switch, by name.
    async fn ports(&self, switch: &str) -> CoreResult<BTreeMap<String, PortStatus>>;
}

#[derive(Default)]
struct MemoryHot {
    gpus: HashMap<String, (GpuStatus, HashMap<GpuField, Nanos>, Nanos)>,
    nodes: HashMap<String, (NodeStatus, Nanos)>,
    ports: HashMap<String, BTreeMap<String, PortStatus>>,
}

/// The in-memory [`HotStatus`] (the embedded default).
#[derive(Default)]
pub struct MemoryHotStatus(RwLock<MemoryHot>);

#[async_trait::async_trait]
impl HotStatus for MemoryHotStatus {
    async fn record_samples(&self, updates: &[SampleUpdate]) -> CoreResult<()> {
        let mut m = self.0.write();
        for u in updates {
            let (st, field_at, _) = m.gpus.entry(u.gpu.clone()).or_insert_with(|| {
                (
                    GpuStatus {
                        gpu: u.gpu.clone(),
                        ..Default::default()
                    },
                    HashMap::new(),
                    Nanos::MIN,
                )
            });
            if u.node.is_some() {
                st.node = u.node.clone();
            }
            let ms = nanos_to_ms(u.at);
            st.last_seen_ms = Some(st.last_seen_ms.map_or(ms, |s| s.max(ms)));
            for &(f, v) in &u.values {
                let at = field_at.entry(f).or_insert(Nanos::MIN);
                if u.at >= *at {
                    *at = u.at;
                    st.fields.insert(f.name().to_string(), v);
                }
            }
        }
        Ok(())
    }

    async fn record_health(&self, changes: &[HealthChange]) -> CoreResult<()> {
        let mut m = self.0.write();
        for c in changes {
            match &c.subject {
                Subject::Gpu(id) => {
                    let (st, _, health_at) = m.gpus.entry(id.clone()).or_insert_with(|| {
                        (
                            GpuStatus {
                                gpu: id.clone(),
                                ..Default::default()
                            },
                            HashMap::new(),
                            Nanos::MIN,
                        )
                    });
                    if c.at >= *health_at {
                        *health_at = c.at;
                        st.state = c.new.state;
                        st.reasons = c.new.reasons.clone();
                        st.since_ms = Some(nanos_to_ms(c.at));
                    }
                }
                Subject::Node(id) => {
                    let (st, at) = m.nodes.entry(id.clone()).or_insert_with(|| {
                        (
                            NodeStatus {
                                node: id.clone(),
                                ..Default::default()
                            },
                            Nanos::MIN,
                        )
                    });
                    if c.at >= *at {
                        *at = c.at;
                        st.health = c.new.clone();
                        st.since_ms = Some(nanos_to_ms(c.at));
                    }
                }
            }
        }
        Ok(())
    }

    async fn gpu(&self, gpu: &str) -> CoreResult<Option<GpuStatus>> {
        Ok(self.0.read().gpus.get(gpu).map(|(s, _, _)| s.clone()))
    }

    async fn node(&self, node: &str) -> CoreResult<Option<NodeStatus>> {
        Ok(self.0.read().nodes.get(node).map(|(s, _)| s.clone()))
    }

    async fn gpu_counts(&self) -> CoreResult<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for (s, _, _) in self.0.read().gpus.values() {
            *out.entry(s.state.as_str().to_string()).or_default() += 1;
        }
        Ok(out)
    }

    async fn record_node_sensors(
        &self,
        node: &str,
        at_ms: i64,
        readings: &[BmcReading],
    ) -> CoreResult<()> {
        let mut m = self.0.write();
        let (st, _) = m.nodes.entry(node.to_string()).or_insert_with(|| {
            (
                NodeStatus {
                    node: node.to_string(),
                    ..Default::default()
                },
                Nanos::MIN,
            )
        });
        if st.sensors_at_ms.is_none_or(|t| at_ms >= t) {
            st.sensors = readings.to_vec();
            st.sensors_at_ms = Some(at_ms);
        }
        Ok(())
    }

    async fn record_ports(&self, switch: &str, ports: &[(String, PortStatus)]) -> CoreResult<()> {
        let mut m = self.0.write();
        let known = m.ports.entry(switch.to_string()).or_default();
        for (name, st) in ports {
            known.insert(name.clone(), st.clone());
        }
        Ok(())
    }

    async fn ports(&self, switch: &str) -> CoreResult<BTreeMap<String, PortStatus>> {
        Ok(self.0.read().ports.get(switch).cloned().unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------------
// CMDB index (the resolver)

/// Normalises a GPU UUID as the enricher stores it: `GPU-<lowercase>`.
pub fn normalize_uuid(raw: &str) -> String {
    let r = raw.trim();
    let bare = if r.len() > 4 && r[..4].eq_ignore_ascii_case("gpu-") {
        &r[4..]
    } else {
        r
    };
    format!("GPU-{}", bare.to_ascii_lowercase())
}

/// The index of a GPU on its node: `index`/`gpu_index` in its configuration, else the
/// trailing number of its Redfish id or name (`GPU3`, `GPU_3`, `gpu-3`), else `SXM<n>`
/// locations (n − 1).
fn gpu_index(gpu: &Asset) -> Option<u32> {
    let c = &gpu.config;
    for k in ["index", "gpu_index"] {
        match c.get(k) {
            Some(serde_json::Value::Number(n)) => return n.as_u64().map(|n| n as u32),
            Some(serde_json::Value::String(s)) => return s.trim().parse().ok(),
            _ => {}
        }
    }
    let trailing = |s: &str| -> Option<u32> {
        let digits: String = s
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let head = &s[..s.len() - digits.len()];
        (!digits.is_empty()
            && head
                .to_ascii_lowercase()
                .trim_end_matches(['_', '-', ' '])
                .ends_with("gpu"))
        .then(|| digits.parse().ok())
        .flatten()
    };
    if let Some(i) = c
        .get("redfish_id")
        .and_then(|v| v.as_str())
        .and_then(trailing)
    {
        return Some(i);
    }
    if let Some(loc) = c.get("location").and_then(|v| v.as_str()) {
        if let Some(n) = loc
            .trim()
            .strip_prefix("SXM")
            .and_then(|n| n.parse::<u32>().ok())
        {
            return n.checked_sub(1);
        }
    }
    trailing(&gpu.name)
}

/// A GPU of the index: its serial (the history key), its node and the labels its alerts carry.
#[derive(Debug, Default)]
struct IndexedGpu {
    serial: Option<String>,
    node: Option<String>,
    labels: BTreeMap<String, String>,
}

/// GPUs of the CMDB by every key a sample may carry.
#[derive(Debug, Default)]
pub struct CmdbIndex {
    map: HashMap<SampleKey, AssetRef>,
    /// GPU id → what the index knows of it.
    by_gpu: HashMap<String, IndexedGpu>,
    gpus: usize,
}

impl CmdbIndex {
    /// Builds the index from GPU and node assets.
    pub fn build(gpus: &[Asset], nodes: &[Asset]) -> CmdbIndex {
        let node_by_id: HashMap<&str, &Asset> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut idx = CmdbIndex::default();
        for g in gpus {
            let node = g
                .parent_id
                .as_deref()
                .and_then(|p| node_by_id.get(p).copied());
            let mut labels = BTreeMap::new();
            if let Some(r) = g
                .rack_id
                .clone()
                .or_else(|| node.and_then(|n| n.rack_id.clone()))
            {
                labels.insert("rack".to_string(), r);
            }
            if let Some(m) = &g.model {
                labels.insert("model".to_string(), m.clone());
            }
            // `gpu` and `node` as alert labels name the GPU and node the way the correlation
            // resolves them (names), and as rule annotations print them.
            labels.insert("gpu".to_string(), g.name.clone());
            labels.insert("gpu_id".to_string(), g.id.clone());
            if let Some(n) = node {
                labels.insert("node".to_string(), n.name.clone());
                labels.insert("node_name".to_string(), n.name.clone());
                if let Some(p) = &n.profile_id {
                    labels.insert("profile".to_string(), p.clone());
                }
            }
            let r = AssetRef {
                asset: g.id.clone(),
                node: node.map(|n| n.id.clone()),
                labels,
            };
            idx.gpus += 1;
            idx.by_gpu.insert(
                g.id.clone(),
                IndexedGpu {
                    serial: g.serial.clone(),
                    node: r.node.clone(),
                    labels: r.labels.clone(),
                },
            );
            if let Some(u) = g.config.get("uuid").and_then(|v| v.as_str()) {
                idx.map.insert(
                    SampleKey::GpuUuid {
                        uuid: normalize_uuid(u),
                    },
                    r.clone(),
                );
            }
            if let Some(s) = g.serial.as_deref().filter(|s| !s.is_empty()) {
                idx.map.insert(
                    SampleKey::GpuSerial {
                        serial: s.to_string(),
                    },
                    r.clone(),
                );
            }
            if let (Some(n), Some(i)) = (node, gpu_index(g)) {
                for host in node_names(n) {
                    idx.map.insert(
                        SampleKey::NodeGpu {
                            node: host,
                            index: i,
                        },
                        r.clone(),
                    );
                }
            }
        }
        idx
    }

    pub fn gpu_count(&self) -> usize {
        self.gpus
    }

    fn serial_of(&self, gpu: &str) -> Option<String> {
        self.by_gpu.get(gpu).and_then(|g| g.serial.clone())
    }

    fn node_of(&self, gpu: &str) -> Option<String> {
        self.by_gpu.get(gpu).and_then(|g| g.node.clone())
    }

    /// The labels of a GPU's series (for alert rules), empty for a GPU not in the index.
    pub(crate) fn labels_of(&self, gpu: &str) -> BTreeMap<String, String> {
        self.by_gpu
            .get(gpu)
            .map(|g| g.labels.clone())
            .unwrap_or_default()
    }
}

/// The names a node's samples may carry: its asset name and `hostname` in its configuration
/// or labels, lower-cased (host names are case-insensitive).
fn node_names(n: &Asset) -> Vec<String> {
    let mut v = vec![n.name.to_ascii_lowercase()];
    for h in [
        n.config.get("hostname").and_then(|v| v.as_str()),
        n.labels.get("hostname").map(String::as_str),
    ]
    .into_iter()
    .flatten()
    {
        let h = h.to_ascii_lowercase();
        if !v.contains(&h) {
            v.push(h);
        }
    }
    v
}

impl Resolver for CmdbIndex {
    fn resolve(&self, key: &SampleKey) -> Option<AssetRef> {
        let norm = match key {
            SampleKey::GpuUuid { uuid } => SampleKey::GpuUuid {
                uuid: normalize_uuid(uuid),
            },
            SampleKey::NodeGpu { node, index } => SampleKey::NodeGpu {
                node: node.to_ascii_lowercase(),
                index: *index,
            },
            // Node-level readings (BMC sensors, node only) are not GPU samples.
            SampleKey::Bmc { .. } | SampleKey::Node { .. } => return None,
            other => other.clone(),
        };
        self.map.get(&norm).cloned()
    }
}

// ---------------------------------------------------------------------------------------------
// The service

#[derive(Debug, Default)]
struct Counters {
    requests: u64,
    points: u64,
    samples: u64,
    rejected_lines: u64,
    unresolved_samples: u64,
    health_changes: u64,
    events_written: u64,
    event_errors: u64,
    bmc_reads: u64,
    bmc_failures: u64,
    port_updates: u64,
    unknown: UnknownSenders,
    unmapped: Unmapped,
}

/// One unknown sender key and how many samples it sent.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownSender {
    /// `uuid=…`, `serial=…`, `node=… gpu=…`, `bmc=…`, `node=…` or `anonymous`.
    pub key: String,
    pub samples: u64,
}

/// What the telemetry pipeline has done since this process started.
#[derive(Debug, Clone, Serialize)]
pub struct TelemetryStatus {
    /// Write requests (and scraped pages) taken.
    pub requests: u64,
    /// Line-protocol points (or Prometheus samples) accepted.
    pub points: u64,
    /// Field values that resolved to a GPU.
    pub samples_ingested: u64,
    /// Lines refused (bad syntax).
    pub rejected_lines: u64,
    /// Field values from senders no key resolved.
    pub unknown_samples: u64,
    /// Unknown senders by their strongest key, most samples first.
    pub unknown_senders: Vec<UnknownSender>,
    /// Metric names that map to no GPU field, with their counts.
    pub unmapped_names: BTreeMap<String, u64>,
    /// GPUs whose health is tracked.
    pub gpus_tracked: usize,
    /// GPUs known to the CMDB index.
    pub gpus_indexed: usize,
    /// Tracked GPUs by health state.
    pub health: BTreeMap<String, u64>,
    /// Derived health changes seen (GPUs and nodes).
    pub health_changes: u64,
    /// `gpu.status_changed` events written.
    pub events_written: u64,
    /// Health changes whose event could not be written (the database failed).
    pub event_errors: u64,
    /// The scrape targets of this process and their last outcome.
    pub scrape_targets: Vec<crate::scrape::ScrapeTarget>,
    /// The history: backend, write resolution, intervals written and waiting.
    pub history: crate::history::HistoryStatus,
    /// BMC sensor reads the status sync passed in, and reads that failed.
    pub bmc_reads: u64,
    pub bmc_failures: u64,
    /// Port updates streamed by switches (gNMI) to this process.
    pub port_updates: u64,
    /// Switch ports this process follows, by health state.
    pub ports: BTreeMap<String, u64>,
    /// Switches whose gNMI stream this process holds, with its state.
    pub switches: Vec<crate::network::SwitchStream>,
    /// PDUs this process polls over Redfish, as last read.
    pub pdus: Vec<crate::power::PduStatus>,
    /// CDUs this process polls over Redfish, as last read.
    pub cdus: Vec<crate::cooling::CduStatus>,
}

/// What one write request did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub points: usize,
    /// Field values that resolved to a GPU.
    pub samples: usize,
    /// Field values from unknown senders.
    pub unknown_samples: usize,
    /// Bad lines (the first `limits.max_errors`), with their 1-based numbers.
    pub errors: Vec<LineError>,
    /// All bad lines.
    pub rejected_lines: usize,
    /// Health changes this request caused.
    pub changes: usize,
}

impl IngestReport {
    /// InfluxDB's partial-write message, when lines were refused.
    pub fn partial_write_message(&self) -> Option<String> {
        let first = self.errors.first()?;
        Some(format!(
            "partial write: {first} dropped={}",
            self.rejected_lines
        ))
    }
}

/// The telemetry service of one process; see the module documentation.
pub struct Telemetry {
    settings: TelemetrySettings,
    tracker: Mutex<HealthTracker>,
    /// Switch ports (from the gNMI streams this process holds).
    ports: Mutex<PortTracker>,
    hot: Arc<dyn HotStatus>,
    /// Samples brought down to the write resolution, and the time-series store.
    pub(crate) history: Arc<crate::history::History>,
    /// The alert rules and their evaluator.
    pub(crate) rules: crate::alerting::RuleEngine,
    /// The scrape targets' last outcome.
    pub(crate) scrape: Mutex<crate::scrape::Targets>,
    pub(crate) scraper_started: std::sync::atomic::AtomicBool,
    /// The gNMI streams of this process (see [`crate::network`]).
    pub(crate) switches: Mutex<crate::network::Streams>,
    /// The PDUs this process polls (see [`crate::power`]).
    pub(crate) pdus: Mutex<crate::power::PduWatch>,
    /// The CDUs this process polls (see [`crate::cooling`]).
    pub(crate) cdus: Mutex<crate::cooling::CduWatch>,
    pub(crate) network_started: std::sync::atomic::AtomicBool,
    pub(crate) relist: tokio::sync::Notify,
    index: RwLock<Arc<CmdbIndex>>,
    indexed_at: Mutex<Option<Instant>>,
    /// One rebuild at a time.
    rebuilding: tokio::sync::Mutex<()>,
    counters: Mutex<Counters>,
    started: std::sync::atomic::AtomicBool,
    /// The CMDB changed through this process's use cases: rebuild before the next resolution.
    dirty: std::sync::atomic::AtomicBool,
}

impl Telemetry {
    /// With the built-in XID catalog.
    pub fn new(
        settings: TelemetrySettings,
        hot: Arc<dyn HotStatus>,
        history: crate::history::History,
    ) -> Telemetry {
        Self::with(settings, XidCatalog::builtin(), hot, history)
    }

    pub fn with(
        settings: TelemetrySettings,
        catalog: XidCatalog,
        hot: Arc<dyn HotStatus>,
        history: crate::history::History,
    ) -> Telemetry {
        Telemetry {
            tracker: Mutex::new(HealthTracker::new(settings.health.clone(), catalog)),
            ports: Mutex::new(PortTracker::new(settings.health.clone())),
            settings,
            hot,
            history: Arc::new(history),
            rules: Default::default(),
            scrape: Default::default(),
            scraper_started: std::sync::atomic::AtomicBool::new(false),
            switches: Mutex::new(Default::default()),
            pdus: Mutex::new(Default::default()),
            cdus: Mutex::new(Default::default()),
            network_started: std::sync::atomic::AtomicBool::new(false),
            relist: tokio::sync::Notify::new(),
            index: RwLock::new(Arc::new(CmdbIndex::default())),
            indexed_at: Mutex::new(None),
            rebuilding: tokio::sync::Mutex::new(()),
            counters: Mutex::new(Counters::default()),
            started: std::sync::atomic::AtomicBool::new(false),
            dirty: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn settings(&self) -> &TelemetrySettings {
        &self.settings
    }

    pub fn hot(&self) -> &dyn HotStatus {
        self.hot.as_ref()
    }

    pub fn history(&self) -> &crate::history::History {
        &self.history
    }

    /// Says that GPUs or nodes changed (created, moved, re-configured, deleted): the next
    /// resolution rebuilds the CMDB index first. Changes made elsewhere (the enricher, other
    /// processes) are seen through the index's TTL and the rebuild on unknown senders.
    pub fn cmdb_changed(&self) {
        self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        // The switch list too (a new switch gets its gNMI stream without waiting a minute).
        self.relist.notify_one();
    }
}

/// A GPU's health for the API: its hot status (or `unknown` with no telemetry yet) and the
/// latest rows of its health history.
#[derive(Debug, Clone, Serialize)]
pub struct GpuHealthView {
    pub gpu: String,
    pub name: String,
    pub serial: Option<String>,
    /// The node the CMDB puts it in.
    pub node: Option<String>,
    pub status: GpuStatus,
    /// Latest health changes, newest first (follows the GPU by serial).
    pub history: Vec<GpuHealthRow>,
}

/// One GPU of a node's roll-up.
#[derive(Debug, Clone, Serialize)]
pub struct NodeGpuHealth {
    pub gpu: String,
    pub name: String,
    pub serial: Option<String>,
    /// healthy, unknown, degraded, missing or failed.
    pub state: HealthState,
    pub last_seen_ms: Option<i64>,
}

/// A node's roll-up with the state of each of its GPUs.
#[derive(Debug, Clone, Serialize)]
pub struct NodeHealthView {
    pub node: String,
    pub name: String,
    /// The roll-up: failed if any GPU is failed, missing if all are, degraded if any is
    /// degraded or missing, unknown before any telemetry, else healthy.
    pub state: HealthState,
    /// The GPUs that are not healthy.
    pub reasons: Vec<fleet_telemetry::health::Reason>,
    pub since_ms: Option<i64>,
    pub gpus: Vec<NodeGpuHealth>,
    /// The BMC readings of the last status sync.
    pub sensors: Vec<BmcReading>,
    pub sensors_at_ms: Option<i64>,
    /// Latest health changes of the node, newest first.
    pub history: Vec<AssetHealthRow>,
}

/// A switch's ports with their status and latest health changes.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchHealthView {
    pub switch: String,
    pub name: String,
    /// The worst state of its ports (`unknown` before any port was read).
    pub state: HealthState,
    pub ports: BTreeMap<String, PortStatus>,
    /// Latest health changes of its ports, newest first.
    pub history: Vec<AssetHealthRow>,
}

const PAGE: i64 = 1000;

/// An alert that starts at `since` (firing) or, with `ended`, ends at `at`.
fn health_alert(
    labels: &[(&str, &str)],
    summary: String,
    since: Nanos,
    ended: Option<Nanos>,
) -> crate::correlation::IncomingAlert {
    crate::correlation::IncomingAlert::raised(
        labels,
        summary,
        nanos_to_ms(since),
        ended.map(nanos_to_ms),
    )
}

fn bmc_unreachable_since(h: &Health) -> Option<(Nanos, String)> {
    h.reasons.iter().find_map(|r| match r {
        fleet_telemetry::health::Reason::BmcUnreachable { since, error } => {
            Some((*since, error.clone()))
        }
        _ => None,
    })
}

/// `BmcUnreachable` firing when a node's BMC stops answering the status sync, resolved when
/// it answers again.
fn bmc_alert(
    node: &str,
    at: Nanos,
    old: &Health,
    new: &Health,
) -> Option<crate::correlation::IncomingAlert> {
    let labels = [
        ("alertname", "BmcUnreachable"),
        ("node", node),
        ("severity", "warning"),
    ];
    match (bmc_unreachable_since(old), bmc_unreachable_since(new)) {
        (None, Some((since, error))) => Some(health_alert(
            &labels,
            format!("the BMC of {node} cannot be read: {error}"),
            since,
            None,
        )),
        (Some((since, _)), None) => Some(health_alert(
            &labels,
            format!("the BMC of {node} answers again"),
            since,
            Some(at),
        )),
        _ => None,
    }
}

/// `SwitchPortDown` (a port up by configuration without link) and `SwitchDown` (the switch's
/// stream gone), each firing and resolving with the port's health reasons.
fn port_alerts(
    switch: &str,
    port: &str,
    at: Nanos,
    old: &Health,
    new: &Health,
) -> Vec<crate::correlation::IncomingAlert> {
    use fleet_telemetry::health::Reason;
    let down = |h: &Health| {
        h.reasons
            .iter()
            .any(|r| matches!(r, Reason::PortDown { .. }) && r.severity() == HealthState::Failed)
    };
    let gone = |h: &Health| {
        h.reasons.iter().find_map(|r| match r {
            Reason::SwitchUnreachable { since, .. } => Some(*since),
            _ => None,
        })
    };
    let mut out = Vec::new();
    let port_labels = [
        ("alertname", "SwitchPortDown"),
        ("switch", switch),
        ("port", port),
        ("severity", "critical"),
    ];
    match (down(old), down(new)) {
        (false, true) => out.push(health_alert(
            &port_labels,
            format!("{switch} {port} is up by configuration but has no link"),
            at,
            None,
        )),
        (true, false) => out.push(health_alert(
            &port_labels,
            format!("{switch} {port} has its link again"),
            at,
            Some(at),
        )),
        _ => {}
    }
    let switch_labels = [
        ("alertname", "SwitchDown"),
        ("switch", switch),
        ("severity", "critical"),
    ];
    match (gone(old), gone(new)) {
        (None, Some(since)) => out.push(health_alert(
            &switch_labels,
            format!("{switch} does not answer its telemetry stream"),
            since,
            None,
        )),
        (Some(since), None) => out.push(health_alert(
            &switch_labels,
            format!("{switch} answers again"),
            since,
            Some(at),
        )),
        _ => {}
    }
    out
}

fn asset_change(
    asset: &str,
    port: Option<&str>,
    at: Nanos,
    old: &Health,
    new: &Health,
) -> AssetHealthChange {
    AssetHealthChange {
        asset_id: asset.to_string(),
        port: port.map(str::to_string),
        old_state: old.state.as_str().into(),
        new_state: new.state.as_str().into(),
        reasons: serde_json::to_value(&new.reasons).unwrap_or_default(),
        old_reasons: serde_json::to_value(&old.reasons).unwrap_or_default(),
        at_ms: nanos_to_ms(at),
    }
}

impl Core {
    /// Ingests an InfluxDB line-protocol body. Good lines are kept even when others are bad
    /// (as InfluxDB does); the report names each bad line.
    pub async fn ingest_line_protocol(
        &self,
        p: &Principal,
        body: &[u8],
        precision: Precision,
    ) -> CoreResult<IngestReport> {
        p.require(Permission::TelemetryWrite, "write telemetry")?;
        let t = &self.telemetry;
        let parsed = line_protocol::parse_body(body, precision, &t.settings.limits);
        let mut unmapped = Unmapped::default();
        let batches = sample::batches_from_points(&parsed.points, &mut unmapped);
        let mut report = IngestReport {
            points: parsed.points.len(),
            errors: parsed.errors,
            rejected_lines: parsed.rejected_lines,
            ..Default::default()
        };
        self.ingest_batches(p, batches, unmapped, &mut report)
            .await?;
        Ok(report)
    }

    /// Ingests a Prometheus text page (dcgm-exporter's `/metrics`); `scrape_time` stands in
    /// for samples without a timestamp.
    pub async fn ingest_prometheus(
        &self,
        p: &Principal,
        text: &str,
        scrape_time: Option<Nanos>,
    ) -> CoreResult<IngestReport> {
        p.require(Permission::TelemetryWrite, "write telemetry")?;
        let exp = fleet_telemetry::prometheus::parse(text);
        let mut unmapped = Unmapped::default();
        let batches = sample::batches_from_exposition(
            &exp,
            scrape_time.unwrap_or_else(now_nanos),
            &mut unmapped,
        );
        let mut report = IngestReport {
            points: exp.samples.len(),
            rejected_lines: exp.errors.len(),
            errors: exp.errors,
            ..Default::default()
        };
        self.ingest_batches(p, batches, unmapped, &mut report)
            .await?;
        Ok(report)
    }

    async fn ingest_batches(
        &self,
        p: &Principal,
        batches: Vec<SampleBatch>,
        unmapped: Unmapped,
        report: &mut IngestReport,
    ) -> CoreResult<()> {
        let t = &self.telemetry;
        self.ensure_index(false).await?;
        if !t.rules.loaded() {
            // Without its rules the ingest still derives health; the tick tries again.
            if let Err(e) = self.reload_alert_rules(false).await {
                tracing::warn!(error = %e, "alert rules not loaded");
            }
        }
        let mut index = t.index.read().clone();
        // Resolve; on a miss rebuild the index once (rate-limited) and try again.
        let mut scratch = UnknownSenders::default();
        let mut resolved: Vec<(AssetRef, SampleBatch)> = Vec::with_capacity(batches.len());
        let mut missed = Vec::new();
        for b in batches {
            match sample::resolve(index.as_ref(), &b.identity, 0, &mut scratch) {
                Some(a) => resolved.push((a, b)),
                None => missed.push(b),
            }
        }
        let mut unknown = UnknownSenders::default();
        if !missed.is_empty() {
            if self.ensure_index(true).await? {
                index = t.index.read().clone();
            }
            for b in missed {
                let n = b.values.len() as u64;
                report.unknown_samples += n as usize;
                if let Some(a) = sample::resolve(index.as_ref(), &b.identity, n, &mut unknown) {
                    report.unknown_samples -= n as usize;
                    resolved.push((a, b));
                }
            }
        }
        let now = now_nanos();
        let mut updates = Vec::with_capacity(resolved.len());
        let mut changes = Vec::new();
        let mut alerts = Vec::new();
        {
            let mut tracker = t.tracker.lock();
            for (a, b) in resolved {
                // The sender's time, never later than now (a clock ahead of ours would keep a
                // GPU "seen" in the future).
                let at = b.timestamp.unwrap_or(now).min(now);
                report.samples += b.values.len();
                changes.extend(tracker.observe(&a.asset, a.node.as_deref(), at, &b.values));
                alerts.extend(t.rules.observe(&a.asset, &a.labels, at, &b.values));
                updates.push(SampleUpdate {
                    gpu: a.asset,
                    node: a.node,
                    at,
                    values: b.values,
                });
            }
        }
        t.history.record(
            updates
                .iter()
                .map(|u| (u.gpu.as_str(), u.node.as_deref(), u.at, u.values.as_slice())),
        );
        // A hot status that fails (Redis down) does not stop the health changes and alerts
        // already derived; the sender gets the error afterwards.
        let stored = t.hot.record_samples(&updates).await;
        if let Err(e) = &stored {
            tracing::error!(error = %e, "hot status: samples not stored");
        }
        report.changes = changes.len();
        {
            let mut c = t.counters.lock();
            c.requests += 1;
            c.points += report.points as u64;
            c.samples += report.samples as u64;
            c.rejected_lines += report.rejected_lines as u64;
            c.unresolved_samples += report.unknown_samples as u64;
            for (k, n) in unknown.by_key {
                *c.unknown.by_key.entry(k).or_default() += n;
            }
            c.unknown.anonymous += unknown.anonymous;
            for (k, n) in unmapped.names {
                *c.unmapped.names.entry(k).or_default() += n;
            }
        }
        alerts.extend(self.apply_changes(p.actor(), changes).await);
        self.send_rule_alerts(alerts).await;
        stored
    }

    /// Stores health changes in the hot status and records GPU changes (event + history);
    /// returns what the health rules made of them. A database failure is logged and counted;
    /// the hot status keeps the change.
    async fn apply_changes(
        &self,
        actor: fleet_db::Actor,
        changes: Vec<HealthChange>,
    ) -> Vec<fleet_telemetry::rules::AlertTransition> {
        if changes.is_empty() {
            return Vec::new();
        }
        let t = &self.telemetry;
        if let Err(e) = t.hot.record_health(&changes).await {
            tracing::error!(error = %e, "hot status: health not stored");
        }
        let index = t.index.read().clone();
        let mut alerts = Vec::new();
        for c in &changes {
            if let Subject::Gpu(id) = &c.subject {
                alerts.extend(
                    t.rules
                        .observe_health(id, &index.labels_of(id), c.at, c.new.state),
                );
            }
        }
        let rows: Vec<GpuHealthChange> = changes
            .iter()
            .filter_map(|c| match &c.subject {
                Subject::Gpu(id) => Some(GpuHealthChange {
                    gpu_id: id.clone(),
                    serial: index.serial_of(id),
                    node_id: index.node_of(id),
                    old_state: c.old.state.as_str().into(),
                    new_state: c.new.state.as_str().into(),
                    reasons: serde_json::to_value(&c.new.reasons).unwrap_or_default(),
                    old_reasons: serde_json::to_value(&c.old.reasons).unwrap_or_default(),
                    at_ms: nanos_to_ms(c.at),
                }),
                Subject::Node(_) => None,
            })
            .collect();
        let nodes: Vec<AssetHealthChange> = changes
            .iter()
            .filter_map(|c| match &c.subject {
                Subject::Node(id) => Some(asset_change(id, None, c.at, &c.old, &c.new)),
                Subject::Gpu(_) => None,
            })
            .collect();
        let n = rows.len() as u64;
        let result = self.store.record_gpu_health(&actor, &rows).await;
        let node_result = self.store.record_asset_health(&actor, &nodes).await;
        {
            let mut c = t.counters.lock();
            c.health_changes += changes.len() as u64;
            match result {
                Ok(()) => c.events_written += n,
                Err(e) => {
                    c.event_errors += n;
                    tracing::error!(error = %e, changes = n, "GPU health changes not recorded");
                }
            }
            let n = nodes.len() as u64;
            match node_result {
                Ok(()) => c.events_written += n,
                Err(e) => {
                    c.event_errors += n;
                    tracing::error!(error = %e, changes = n, "node health changes not recorded");
                }
            }
        }
        let mut raised = Vec::new();
        for ch in &changes {
            if let Subject::Node(id) = &ch.subject {
                // Only a change of BMC reachability raises or resolves an alert (the name is
                // read from the CMDB then, not for every roll-up change of the ingest).
                let flipped = bmc_unreachable_since(&ch.old).is_some()
                    != bmc_unreachable_since(&ch.new).is_some();
                if flipped {
                    let name = self.asset_name(id).await;
                    raised.extend(bmc_alert(&name, ch.at, &ch.old, &ch.new));
                }
            }
        }
        self.send_health_alerts(raised).await;
        alerts
    }

    async fn asset_name(&self, id: &str) -> String {
        match self.store.get_asset(id).await {
            Ok(a) => a.name,
            Err(_) => id.to_string(),
        }
    }

    /// Alerts from node and port health go to the correlation as `system:alerting`.
    pub(crate) async fn send_health_alerts(&self, alerts: Vec<crate::correlation::IncomingAlert>) {
        if alerts.is_empty() {
            return;
        }
        let p = crate::Principal::system(crate::principal::SystemRole::Alerting);
        if let Err(e) = self.ingest_alerts(&p, alerts).await {
            tracing::error!(error = %e, "health alerts not correlated");
        }
    }

    /// A node's BMC readings from the periodic status sync: kept in the hot status, judged
    /// (the BMC's verdict, then the thresholds it reports) into the node's health, a change of
    /// which is a `system.status_changed` event.
    pub async fn observe_bmc(&self, node: &str, readings: Vec<BmcReading>) {
        let now = now_nanos();
        let changes = self
            .telemetry
            .tracker
            .lock()
            .observe_bmc(node, now, &readings);
        if let Err(e) = self
            .telemetry
            .hot
            .record_node_sensors(node, nanos_to_ms(now), &readings)
            .await
        {
            tracing::error!(error = %e, node, "hot status: BMC readings not stored");
        }
        self.telemetry.counters.lock().bmc_reads += 1;
        self.record_bmc_changes(changes).await;
    }

    /// The node's BMC could not be read by the status sync: the node is degraded
    /// (`bmc_unreachable`) until a read succeeds.
    pub async fn observe_bmc_unreachable(&self, node: &str, error: &str) {
        let changes = self
            .telemetry
            .tracker
            .lock()
            .bmc_unreachable(node, now_nanos(), error);
        self.telemetry.counters.lock().bmc_failures += 1;
        self.record_bmc_changes(changes).await;
    }

    /// The node's BMC answered a liveness probe: a `bmc_unreachable` reason goes.
    pub async fn observe_bmc_reachable(&self, node: &str) {
        let changes = self
            .telemetry
            .tracker
            .lock()
            .bmc_reachable(node, now_nanos());
        self.record_bmc_changes(changes).await;
    }

    /// Node changes the BMC brought (a read, a failed read, a probe), recorded as
    /// `system:telemetry` like the tick's, with what the health rules make of them.
    async fn record_bmc_changes(&self, changes: Vec<HealthChange>) {
        let alerts = self
            .apply_changes(fleet_db::Actor::system("system:telemetry"), changes)
            .await;
        self.send_rule_alerts(alerts).await;
    }

    /// Port updates streamed by a switch (gNMI): the ports' status goes to the hot status, a
    /// change of a port's health is a `network.status_changed` event and a history row.
    pub async fn observe_ports(&self, switch: &str, readings: &[PortReading]) {
        let changes = self
            .telemetry
            .ports
            .lock()
            .observe(switch, now_nanos(), readings);
        self.telemetry.counters.lock().port_updates += readings.len() as u64;
        let mut names: Vec<String> = readings.iter().map(|r| r.port.clone()).collect();
        names.extend(changes.iter().map(|c| c.port.clone()));
        self.store_ports(switch, names, changes).await;
    }

    /// The switch's stream failed: its ports turn `missing` until it answers again.
    pub async fn observe_switch_unreachable(&self, switch: &str, error: &str) {
        let changes = self
            .telemetry
            .ports
            .lock()
            .unreachable(switch, now_nanos(), error);
        let names = changes.iter().map(|c| c.port.clone()).collect();
        self.store_ports(switch, names, changes).await;
    }

    async fn store_ports(&self, switch: &str, mut names: Vec<String>, changes: Vec<PortChange>) {
        names.sort_unstable();
        names.dedup();
        let statuses: Vec<(String, PortStatus)> = {
            let all = self.telemetry.ports.lock().ports(switch);
            names
                .into_iter()
                .filter_map(|n| all.get(&n).cloned().map(|st| (n, st)))
                .collect()
        };
        if let Err(e) = self.telemetry.hot.record_ports(switch, &statuses).await {
            tracing::error!(error = %e, switch, "hot status: port status not stored");
        }
        if changes.is_empty() {
            return;
        }
        let rows: Vec<AssetHealthChange> = changes
            .iter()
            .map(|c| asset_change(&c.switch, Some(&c.port), c.at, &c.old, &c.new))
            .collect();
        let name = self.asset_name(switch).await;
        let mut raised: BTreeMap<String, crate::correlation::IncomingAlert> = BTreeMap::new();
        for c in &changes {
            for a in port_alerts(&name, &c.port, c.at, &c.old, &c.new) {
                // One SwitchDown per switch, whatever number of ports said so.
                let key = format!("{:?}", a.labels);
                raised.entry(key).or_insert(a);
            }
        }
        self.send_health_alerts(raised.into_values().collect())
            .await;
        let n = rows.len() as u64;
        let result = self
            .store
            .record_asset_health(&fleet_db::Actor::system("system:telemetry"), &rows)
            .await;
        let mut c = self.telemetry.counters.lock();
        c.health_changes += n;
        match result {
            Ok(()) => c.events_written += n,
            Err(e) => {
                c.event_errors += n;
                tracing::error!(error = %e, changes = n, "port health changes not recorded");
            }
        }
    }

    /// Rebuilds the CMDB index when it is older than its TTL or, with `miss`, older than the
    /// minimum refresh interval. Returns whether it was rebuilt.
    async fn ensure_index(&self, miss: bool) -> CoreResult<bool> {
        use std::sync::atomic::Ordering;
        let t = &self.telemetry;
        let due = |at: Option<Instant>| match at {
            None => true,
            Some(_) if t.dirty.load(Ordering::SeqCst) => true,
            Some(at) => {
                let age = at.elapsed();
                age >= t.settings.index_ttl || (miss && age >= t.settings.index_min_refresh)
            }
        };
        if !due(*t.indexed_at.lock()) {
            return Ok(false);
        }
        let _one = t.rebuilding.lock().await;
        if !due(*t.indexed_at.lock()) {
            // Another request rebuilt it while this one waited.
            return Ok(true);
        }
        // Cleared before reading: a change during the rebuild marks it again.
        t.dirty.store(false, Ordering::SeqCst);
        let gpus = self.all_assets(AssetKind::Gpu).await?;
        let nodes = self.all_assets(AssetKind::Node).await?;
        let idx = CmdbIndex::build(&gpus, &nodes);
        *t.index.write() = Arc::new(idx);
        *t.indexed_at.lock() = Some(Instant::now());
        Ok(true)
    }

    pub(crate) async fn all_assets(&self, kind: AssetKind) -> CoreResult<Vec<Asset>> {
        self.assets_where(
            AssetFilter {
                kind: Some(kind),
                ..Default::default()
            },
            usize::MAX,
        )
        .await
    }

    /// The assets `filter` selects, page by page, stopping after `max`.
    pub(crate) async fn assets_where(
        &self,
        mut filter: AssetFilter,
        max: usize,
    ) -> CoreResult<Vec<Asset>> {
        let mut out = Vec::new();
        filter.limit = PAGE;
        loop {
            let page = self.store.list_assets(&filter).await?;
            out.extend(page.items);
            match page.next_after {
                Some(a) if out.len() < max => filter.after_id = Some(a),
                _ => return Ok(out),
            }
        }
    }

    /// Re-derives every GPU now (missing telemetry, expired windows and holds) and records
    /// the changes; refreshes the CMDB index when it is old.
    pub async fn telemetry_tick(&self) {
        let now = now_nanos();
        let changes = self.telemetry.tracker.lock().tick(now);
        let mut alerts = self
            .apply_changes(fleet_db::Actor::system("system:telemetry"), changes)
            .await;
        // Rules changed by another process are picked up here.
        if let Err(e) = self.reload_alert_rules(false).await {
            tracing::warn!(error = %e, "alert rules not reloaded");
        }
        alerts.extend(self.telemetry.rules.tick(now));
        self.send_rule_alerts(alerts).await;
        // The index is built at the first ingest, not here.
        let built = self.telemetry.indexed_at.lock().is_some();
        if !built {
            return;
        }
        if let Err(e) = self.ensure_index(false).await {
            tracing::warn!(error = %e, "telemetry: CMDB index not refreshed");
        }
    }

    /// Starts this process's telemetry tick (once; later calls do nothing) until `shutdown`.
    pub fn start_telemetry(&self, shutdown: CancellationToken) {
        let t = &self.telemetry;
        if t.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        t.history.start(shutdown.clone());
        let core = self.clone();
        let every = t.settings.tick_every;
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = iv.tick() => core.telemetry_tick().await,
                }
            }
        });
    }

    /// What the telemetry pipeline has done.
    pub async fn telemetry_status(&self, p: &Principal) -> CoreResult<TelemetryStatus> {
        p.require(Permission::InventoryRead, "read telemetry status")?;
        let t = &self.telemetry;
        let gpus_tracked = t.tracker.lock().gpu_count();
        let health = t.hot.gpu_counts().await?;
        let gpus_indexed = t.index.read().gpu_count();
        let ports = t.ports.lock().counts();
        let switches = self.switch_streams();
        let c = t.counters.lock();
        let mut unknown_senders: Vec<UnknownSender> = c
            .unknown
            .by_key
            .iter()
            .map(|(k, n)| UnknownSender {
                key: k.to_string(),
                samples: *n,
            })
            .collect();
        if c.unknown.anonymous > 0 {
            unknown_senders.push(UnknownSender {
                key: "anonymous".into(),
                samples: c.unknown.anonymous,
            });
        }
        unknown_senders.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.key.cmp(&b.key)));
        Ok(TelemetryStatus {
            requests: c.requests,
            points: c.points,
            samples_ingested: c.samples,
            rejected_lines: c.rejected_lines,
            unknown_samples: c.unresolved_samples,
            unknown_senders,
            unmapped_names: c.unmapped.names.clone(),
            gpus_tracked,
            gpus_indexed,
            health,
            health_changes: c.health_changes,
            events_written: c.events_written,
            event_errors: c.event_errors,
            scrape_targets: self.scrape_targets(),
            history: t.history.status(),
            bmc_reads: c.bmc_reads,
            bmc_failures: c.bmc_failures,
            port_updates: c.port_updates,
            ports,
            switches,
            pdus: self.pdu_statuses(),
            cdus: self.cdu_statuses(),
        })
    }

    /// A GPU's health (`id`: asset id, name or serial).
    pub async fn gpu_health(&self, p: &Principal, id: &str) -> CoreResult<GpuHealthView> {
        p.require(Permission::InventoryRead, "read GPU health")?;
        let gpu = self.find_gpu(id).await?;
        let status = self
            .telemetry
            .hot
            .gpu(&gpu.id)
            .await?
            .unwrap_or_else(|| GpuStatus {
                gpu: gpu.id.clone(),
                node: gpu.parent_id.clone(),
                ..Default::default()
            });
        let history = self
            .store
            .gpu_health_history(&fleet_db::history_key(&gpu.id, gpu.serial.as_deref()), 20)
            .await?;
        Ok(GpuHealthView {
            gpu: gpu.id,
            name: gpu.name,
            serial: gpu.serial,
            node: gpu.parent_id,
            status,
            history,
        })
    }

    pub(crate) async fn find_gpu(&self, id: &str) -> CoreResult<Asset> {
        match self.store.resolve(AssetKind::Gpu, id).await {
            Ok(a) => return Ok(a),
            Err(fleet_db::DbError::NotFound(_)) => {}
            Err(fleet_db::DbError::Invalid(m)) => return Err(CoreError::NotFound(m)),
            Err(e) => return Err(e.into()),
        }
        let page = self
            .store
            .list_assets(&AssetFilter {
                kind: Some(AssetKind::Gpu),
                serial: Some(id.to_string()),
                limit: 2,
                ..Default::default()
            })
            .await?;
        page.items
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::NotFound(format!("no GPU with id, name or serial '{id}'")))
    }

    /// A node's health roll-up with the state of each of its GPUs (`id`: id or name).
    pub async fn node_health(&self, p: &Principal, id: &str) -> CoreResult<NodeHealthView> {
        p.require(Permission::InventoryRead, "read node health")?;
        let node = self
            .store
            .resolve(AssetKind::Node, id)
            .await
            .map_err(|e| match e {
                fleet_db::DbError::Invalid(m) => CoreError::NotFound(m),
                other => other.into(),
            })?;
        let page = self
            .store
            .list_assets(&AssetFilter {
                kind: Some(AssetKind::Gpu),
                parent_id: Some(node.id.clone()),
                limit: PAGE,
                ..Default::default()
            })
            .await?;
        let mut gpus = Vec::with_capacity(page.items.len());
        for g in page.items {
            let st = self.telemetry.hot.gpu(&g.id).await?;
            gpus.push(NodeGpuHealth {
                state: st.as_ref().map_or(HealthState::Unknown, |s| s.state),
                last_seen_ms: st.and_then(|s| s.last_seen_ms),
                gpu: g.id,
                name: g.name,
                serial: g.serial,
            });
        }
        let st = self.telemetry.hot.node(&node.id).await?.unwrap_or_default();
        let history = self
            .store
            .asset_health_history(&node.id, Some(""), 20)
            .await?;
        Ok(NodeHealthView {
            node: node.id,
            name: node.name,
            state: st.health.state,
            reasons: st.health.reasons,
            since_ms: st.since_ms,
            gpus,
            sensors: st.sensors,
            sensors_at_ms: st.sensors_at_ms,
            history,
        })
    }

    /// A switch's ports and their health (`id`: id or name).
    pub async fn switch_health(&self, p: &Principal, id: &str) -> CoreResult<SwitchHealthView> {
        p.require(Permission::InventoryRead, "read switch health")?;
        let sw = self
            .store
            .resolve(AssetKind::Switch, id)
            .await
            .map_err(|e| match e {
                fleet_db::DbError::Invalid(m) => CoreError::NotFound(m),
                other => other.into(),
            })?;
        let ports = self.telemetry.hot.ports(&sw.id).await?;
        let state = ports
            .values()
            .map(|p| p.health.state)
            .max_by_key(|s| s.rank())
            .unwrap_or(HealthState::Unknown);
        let history = self.store.asset_health_history(&sw.id, None, 20).await?;
        Ok(SwitchHealthView {
            switch: sw.id,
            name: sw.name,
            state,
            ports,
            history,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn asset(
        id: &str,
        kind: AssetKind,
        name: &str,
        parent: Option<&str>,
        serial: Option<&str>,
        config: serde_json::Value,
    ) -> Asset {
        Asset {
            id: id.into(),
            kind,
            name: name.into(),
            parent_id: parent.map(str::to_string),
            rack_id: None,
            model: None,
            serial: serial.map(str::to_string),
            address: None,
            labels: Default::default(),
            config,
            version: 1,
            state: None,
            state_entered_at: None,
            profile_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_index_finds_gpus_by_uuid_serial_and_node_index() {
        let nodes = [asset(
            "n1",
            AssetKind::Node,
            "Node-01",
            None,
            None,
            json!({"hostname": "node01.dc"}),
        )];
        let gpus = [
            asset(
                "g0",
                AssetKind::Gpu,
                "gpu-S0",
                Some("n1"),
                Some("S0"),
                json!({"uuid": "GPU-ABCD", "redfish_id": "GPU_0"}),
            ),
            asset(
                "g1",
                AssetKind::Gpu,
                "gpu-S1",
                Some("n1"),
                Some("S1"),
                json!({"index": 1}),
            ),
            asset(
                "g7",
                AssetKind::Gpu,
                "x",
                Some("n1"),
                None,
                json!({"location": "SXM8"}),
            ),
        ];
        let idx = CmdbIndex::build(&gpus, &nodes);
        let r = |k: SampleKey| idx.resolve(&k).map(|a| a.asset);
        assert_eq!(
            r(SampleKey::GpuUuid {
                uuid: "abcd".into()
            })
            .as_deref(),
            Some("g0")
        );
        assert_eq!(
            r(SampleKey::GpuUuid {
                uuid: "gpu-AbCd".into()
            })
            .as_deref(),
            Some("g0")
        );
        assert_eq!(
            r(SampleKey::GpuSerial {
                serial: "S1".into()
            })
            .as_deref(),
            Some("g1")
        );
        assert_eq!(
            r(SampleKey::NodeGpu {
                node: "NODE-01".into(),
                index: 0
            })
            .as_deref(),
            Some("g0")
        );
        assert_eq!(
            r(SampleKey::NodeGpu {
                node: "node01.dc".into(),
                index: 1
            })
            .as_deref(),
            Some("g1")
        );
        assert_eq!(
            r(SampleKey::NodeGpu {
                node: "node-01".into(),
                index: 7
            })
            .as_deref(),
            Some("g7")
        );
        assert_eq!(
            r(SampleKey::Node {
                node: "node-01".into()
            }),
            None,
            "node readings are no GPU samples"
        );
        assert_eq!(idx.serial_of("g1").as_deref(), Some("S1"));
        assert_eq!(
            idx.resolve(&SampleKey::GpuSerial {
                serial: "S0".into()
            })
            .unwrap()
            .node
            .as_deref(),
            Some("n1")
        );
    }

    #[test]
    fn gpu_index_reads_config_ids_and_locations() {
        let g = |name: &str, c| asset("g", AssetKind::Gpu, name, None, None, c);
        assert_eq!(gpu_index(&g("a", json!({"index": "3"}))), Some(3));
        assert_eq!(gpu_index(&g("a", json!({"redfish_id": "GPU5"}))), Some(5));
        assert_eq!(gpu_index(&g("a", json!({"location": "SXM1"}))), Some(0));
        assert_eq!(gpu_index(&g("node1-gpu-2", json!({}))), Some(2));
        assert_eq!(gpu_index(&g("SN1234", json!({}))), None);
    }
}

/// The assets a live stream covers (see [`Core::stream_scope`]).
#[derive(Debug, Clone, Default)]
pub struct StreamScope {
    /// Every asset id in scope.
    pub ids: std::collections::HashSet<String>,
    /// The GPUs among them, sorted.
    pub gpus: Vec<String>,
}

/// Most assets one stream scope may hold.
pub const MAX_STREAM_SCOPE: usize = 100_000;

impl Core {
    /// The assets named (id or name, any kind) with what they contain (a node: its GPUs, NICs,
    /// disks and BMC; a rack: everything in it), and everything in the racks named.
    pub async fn stream_scope(
        &self,
        p: &Principal,
        assets: &[String],
        racks: &[String],
    ) -> CoreResult<StreamScope> {
        p.require(Permission::InventoryRead, "read the live stream")?;
        let mut ids = std::collections::HashSet::new();
        let mut gpus = std::collections::BTreeSet::new();
        let mut add = |a: Asset| {
            if a.kind == AssetKind::Gpu {
                gpus.insert(a.id.clone());
            }
            ids.insert(a.id);
        };
        let mut rack_ids = Vec::new();
        for name in assets {
            let a = self.any_asset(name).await?;
            let filter = if a.kind == AssetKind::Rack {
                rack_ids.push(a.id.clone());
                None
            } else {
                Some(AssetFilter {
                    parent_id: Some(a.id.clone()),
                    ..Default::default()
                })
            };
            add(a);
            if let Some(f) = filter {
                for c in self.assets_where(f, MAX_STREAM_SCOPE).await? {
                    add(c);
                }
            }
        }
        for name in racks {
            let r = match self.store.resolve(AssetKind::Rack, name).await {
                Ok(r) => r,
                Err(fleet_db::DbError::NotFound(_) | fleet_db::DbError::Invalid(_)) => {
                    return Err(CoreError::NotFound(format!(
                        "no rack with id or name '{name}'"
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            rack_ids.push(r.id.clone());
            add(r);
        }
        for rack in rack_ids {
            let f = AssetFilter {
                rack_id: Some(rack),
                ..Default::default()
            };
            for c in self.assets_where(f, MAX_STREAM_SCOPE).await? {
                add(c);
            }
        }
        if ids.len() > MAX_STREAM_SCOPE {
            return Err(CoreError::Invalid(format!(
                "the stream's scope holds more than {MAX_STREAM_SCOPE} assets; name fewer"
            )));
        }
        Ok(StreamScope {
            ids,
            gpus: gpus.into_iter().collect(),
        })
    }

    /// An asset of any kind by id, or by name.
    async fn any_asset(&self, id_or_name: &str) -> CoreResult<Asset> {
        match self.store.get_asset(id_or_name).await {
            Ok(a) => return Ok(a),
            Err(fleet_db::DbError::NotFound(_) | fleet_db::DbError::Invalid(_)) => {}
            Err(e) => return Err(e.into()),
        }
        for kind in AssetKind::ALL {
            match self.store.resolve(kind, id_or_name).await {
                Ok(a) => return Ok(a),
                Err(fleet_db::DbError::NotFound(_) | fleet_db::DbError::Invalid(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::NotFound(format!(
            "no asset with id or name '{id_or_name}'"
        )))
    }

    /// The hot status of each GPU that has one, in the order asked.
    pub async fn gpu_statuses(&self, p: &Principal, gpus: &[String]) -> CoreResult<Vec<GpuStatus>> {
        p.require(Permission::InventoryRead, "read GPU health")?;
        let mut out = Vec::with_capacity(gpus.len());
        for g in gpus {
            if let Some(s) = self.telemetry.hot.gpu(g).await? {
                out.push(s);
            }
        }
        Ok(out)
    }
}
