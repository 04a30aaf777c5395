//! Derived health per GPU and its roll-up per node.
//!
//! A [`HealthTracker`] takes samples with their timestamp (time is always passed in) and returns
//! only the **changes** of derived health, old → new with the reasons. A change is a different
//! state or a different set of reasons (by kind: a temperature that moves from 86 °C to 87 °C
//! is the same reason). Counters are judged by their increments over a window, never by their
//! absolute value; a counter that goes down was reset (driver reload, GPU reset) and is re-based.
//!
//! States, from best to worst: `healthy`, `unknown` (no telemetry yet), `degraded`, `missing`
//! (telemetry stopped for `missing_intervals` reporting intervals), `failed`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::fields::{clock_reasons, GpuField};
use crate::xid::{XidCatalog, XidSeverity};
use crate::{Nanos, SECOND};

/// Derived health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Healthy,
    #[default]
    Unknown,
    Degraded,
    Missing,
    Failed,
}

impl HealthState {
    /// Badness, for taking the worst of several.
    pub fn rank(self) -> u8 {
        match self {
            Self::Healthy => 0,
            Self::Unknown => 1,
            Self::Degraded => 2,
            Self::Missing => 3,
            Self::Failed => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unknown => "unknown",
            Self::Degraded => "degraded",
            Self::Missing => "missing",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "healthy" => Self::Healthy,
            "unknown" => Self::Unknown,
            "degraded" => Self::Degraded,
            "missing" => Self::Missing,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a GPU or node is not healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// An XID with its catalog meaning and resolution bucket.
    Xid {
        code: u32,
        mnemonic: String,
        description: String,
        bucket: String,
        investigatory: Option<String>,
        severity: XidSeverity,
        at: Nanos,
    },
    /// Double-bit (uncorrectable) volatile ECC errors within the window.
    EccDbe { increase: f64, window_s: u64 },
    /// Single-bit ECC errors within the window at or over the threshold.
    EccSbe {
        increase: f64,
        window_s: u64,
        threshold: f64,
    },
    /// Row remapping failed (`DCGM_FI_DEV_ROW_REMAP_FAILURE`): the GPU needs service.
    RowRemapFailed,
    /// A row remap waits for a GPU reset.
    RowRemapPending,
    /// Rows were remapped for uncorrectable errors within the window.
    RowsRemappedUncorrectable { increase: f64, window_s: u64 },
    /// Pages wait for retirement (GPUs before row remapping).
    RetiredPagesPending,
    /// A temperature at or over its threshold.
    Thermal {
        field: GpuField,
        celsius: f64,
        threshold: f64,
        failed: bool,
    },
    /// Clocks slowed for thermal reasons (HW or SW thermal slowdown bits).
    ThermalThrottle { reasons: Vec<String> },
    /// Clocks slowed by the power brake (HW power brake slowdown bit).
    PowerBrake,
    /// NVLink CRC / replay / recovery errors within the window at or over the threshold.
    NvlinkErrors {
        increase: f64,
        window_s: u64,
        threshold: f64,
    },
    /// PCIe replays within the window at or over the threshold.
    PcieReplays {
        increase: f64,
        window_s: u64,
        threshold: f64,
    },
    /// No telemetry for `intervals` reporting intervals.
    TelemetryMissing { last_seen: Nanos, intervals: u64 },
    /// Node roll-up: one of its GPUs is not healthy.
    Gpu { gpu: String, state: HealthState },
    /// A BMC sensor (temperature, fan, power supply, voltage…) that the BMC reports unhealthy or
    /// whose reading is at or over its threshold.
    BmcSensor {
        sensor: String,
        sensor_kind: String,
        reading: Option<f64>,
        units: Option<String>,
        /// The BMC's verdict (`Warning`, `Critical`, ipmitool's `nc`/`cr`/`nr`) or, when it
        /// gave none, `over upper caution threshold` / `over upper critical threshold`.
        status: String,
        threshold: Option<f64>,
        failed: bool,
    },
    /// The node's BMC could not be read (since the first failed read).
    BmcUnreachable { since: Nanos, error: String },
    /// A switch port that is administratively up but not operationally up.
    PortDown { oper_status: String },
    /// A switch port's input and output errors within the window at or over the threshold.
    PortErrors {
        increase: f64,
        window_s: u64,
        threshold: f64,
    },
    /// The switch's telemetry stream is gone (since the first failure).
    SwitchUnreachable { since: Nanos, error: String },
}

impl Reason {
    /// The state this reason alone implies.
    pub fn severity(&self) -> HealthState {
        match self {
            Self::Xid { severity, .. } if *severity == XidSeverity::Failed => HealthState::Failed,
            Self::EccDbe { .. } | Self::RowRemapFailed => HealthState::Failed,
            Self::Thermal { failed: true, .. } => HealthState::Failed,
            Self::TelemetryMissing { .. } => HealthState::Missing,
            Self::Gpu { state, .. } => *state,
            Self::BmcSensor { failed: true, .. } => HealthState::Failed,
            Self::PortDown { oper_status } if port_down_fails(oper_status) => HealthState::Failed,
            Self::SwitchUnreachable { .. } => HealthState::Missing,
            _ => HealthState::Degraded,
        }
    }

    /// What makes two reasons "the same" for change detection (kind, plus XID code, field or
    /// GPU and state), ignoring the measured values.
    pub fn key(&self) -> (u8, u64, Option<&str>) {
        match self {
            Self::Xid { code, .. } => (0, u64::from(*code), None),
            Self::EccDbe { .. } => (1, 0, None),
            Self::EccSbe { .. } => (2, 0, None),
            Self::RowRemapFailed => (3, 0, None),
            Self::RowRemapPending => (4, 0, None),
            Self::RowsRemappedUncorrectable { .. } => (5, 0, None),
            Self::RetiredPagesPending => (6, 0, None),
            Self::Thermal { field, failed, .. } => {
                (7, field.index() as u64 * 2 + u64::from(*failed), None)
            }
            Self::ThermalThrottle { .. } => (8, 0, None),
            Self::PowerBrake => (9, 0, None),
            Self::NvlinkErrors { .. } => (10, 0, None),
            Self::PcieReplays { .. } => (11, 0, None),
            Self::TelemetryMissing { .. } => (12, 0, None),
            Self::Gpu { gpu, state } => (13, u64::from(state.rank()), Some(gpu.as_str())),
            Self::BmcSensor { sensor, failed, .. } => {
                (14, u64::from(*failed), Some(sensor.as_str()))
            }
            Self::BmcUnreachable { .. } => (15, 0, None),
            Self::PortDown { oper_status } => (16, 0, Some(oper_status.as_str())),
            Self::PortErrors { .. } => (17, 0, None),
            Self::SwitchUnreachable { .. } => (18, 0, None),
        }
    }
}

/// Operational states of a port that is administratively up which mean no link at all
/// (OpenConfig `oper-status`); `DORMANT`, `TESTING` and `UNKNOWN` are only degraded.
fn port_down_fails(oper_status: &str) -> bool {
    matches!(
        oper_status.to_ascii_uppercase().as_str(),
        "DOWN" | "LOWER_LAYER_DOWN" | "NOT_PRESENT"
    )
}

/// One BMC reading as the periodic status sync passes it in (Redfish `Thermal`, `Power` and
/// `Sensors`, or the IPMI sensor list).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BmcReading {
    pub name: String,
    /// `temperature`, `fan`, `voltage`, `power_supply`, `power`, …
    pub kind: String,
    #[serde(default)]
    pub reading: Option<f64>,
    #[serde(default)]
    pub units: Option<String>,
    /// The BMC's verdict: Redfish `Status.Health` or ipmitool's status column.
    #[serde(default)]
    pub health: Option<String>,
    /// Redfish `Status.State` (`Absent` readings are not judged).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub upper_caution: Option<f64>,
    #[serde(default)]
    pub upper_critical: Option<f64>,
}

/// The reasons a node's BMC readings give. The BMC's own verdict counts first (`Critical`,
/// `cr`, `nr`: failed; `Warning`, `nc`: degraded), then the reading against the thresholds the
/// BMC reports. A power supply or fan alone only degrades a node (they are redundant), unless
/// every power supply has failed.
pub fn bmc_reasons(readings: &[BmcReading]) -> Vec<Reason> {
    let mut out = Vec::new();
    let mut psus = 0;
    let mut psus_failed = 0;
    for r in readings {
        if r.state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("absent"))
        {
            continue;
        }
        let verdict = r.health.as_deref().map(str::to_ascii_lowercase);
        let (status, threshold, critical) = match verdict.as_deref() {
            Some("critical" | "cr" | "nr") => (r.health.clone().unwrap_or_default(), None, true),
            Some("warning" | "nc") => (r.health.clone().unwrap_or_default(), None, false),
            _ => match (r.reading, r.upper_critical, r.upper_caution) {
                (Some(v), Some(c), _) if v >= c => {
                    ("over upper critical threshold".to_string(), Some(c), true)
                }
                (Some(v), _, Some(w)) if v >= w => {
                    ("over upper caution threshold".to_string(), Some(w), false)
                }
                _ => {
                    psus += usize::from(r.kind == "power_supply");
                    continue;
                }
            },
        };
        let redundant = r.kind == "fan" || psu_related(r);
        if r.kind == "power_supply" {
            psus += 1;
            psus_failed += usize::from(critical);
        }
        out.push(Reason::BmcSensor {
            sensor: r.name.clone(),
            sensor_kind: r.kind.clone(),
            reading: r.reading,
            units: r.units.clone(),
            status,
            threshold,
            failed: critical && !redundant,
        });
    }
    if psus > 0 && psus_failed == psus {
        for reason in &mut out {
            if let Reason::BmcSensor {
                sensor_kind,
                failed,
                ..
            } = reason
            {
                if sensor_kind == "power_supply" {
                    *failed = true;
                }
            }
        }
    }
    out.sort_by(|a, b| a.key().cmp(&b.key()));
    out
}

/// A reading of a power supply or of one of its own sensors (`PSU1 Input Voltage`, `PS2
/// Temperature`, `Power Supply 1 …`): redundant like the power supply itself.
fn psu_related(r: &BmcReading) -> bool {
    if r.kind == "power_supply" {
        return true;
    }
    let n = r.name.to_ascii_uppercase();
    n.starts_with("PSU")
        || n.contains("POWER SUPPLY")
        || (n.starts_with("PS") && n[2..].starts_with(|c: char| c.is_ascii_digit()))
}

/// A state with its reasons.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Health {
    pub state: HealthState,
    pub reasons: Vec<Reason>,
}

impl Health {
    /// The same state and the same reasons by kind ([`Reason::key`]): no change to report.
    pub(crate) fn same_as(&self, other: &Health) -> bool {
        self.state == other.state
            && self.reasons.len() == other.reasons.len()
            && self
                .reasons
                .iter()
                .zip(&other.reasons)
                .all(|(a, b)| a.key() == b.key())
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Subject {
    Gpu(String),
    Node(String),
}

/// One change of derived health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthChange {
    pub subject: Subject,
    pub at: Nanos,
    pub old: Health,
    pub new: Health,
}

/// Thresholds. Every field has a default; a configuration file names only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// The reporting interval senders are expected to keep, in seconds (dcgm-exporter's
    /// default collection interval is 30 s).
    pub interval_s: u64,
    /// Intervals without telemetry before a GPU is `missing`.
    pub missing_intervals: u64,
    /// GPU temperature at or over which a GPU is degraded (°C).
    pub gpu_temp_degraded_c: f64,
    /// GPU temperature at or over which a GPU is failed (°C); none by default.
    pub gpu_temp_failed_c: Option<f64>,
    /// Memory (HBM) temperature at or over which a GPU is degraded (°C).
    pub memory_temp_degraded_c: f64,
    /// The window over which counter increments are summed, in seconds.
    pub counter_window_s: u64,
    /// Double-bit ECC errors within the window that make a GPU failed.
    pub ecc_dbe_failed: f64,
    /// Single-bit ECC errors within the window that make a GPU degraded.
    pub ecc_sbe_degraded: f64,
    /// NVLink CRC, replay and recovery errors within the window that make a GPU degraded.
    pub nvlink_errors_degraded: f64,
    /// PCIe replays within the window that make a GPU degraded.
    pub pcie_replays_degraded: f64,
    /// How long a non-fatal XID stays a reason, in seconds.
    pub xid_hold_s: u64,
    /// How long a fatal XID stays a reason, in seconds; none (the default) keeps it until the
    /// GPU's XIDs are cleared (after a reset or repair).
    pub xid_fatal_hold_s: Option<u64>,
    /// Per-code severity overrides of the catalog.
    pub xid_overrides: BTreeMap<u32, XidSeverity>,
    /// Switch port input + output errors within the window that make a port degraded.
    pub port_errors_degraded: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval_s: 30,
            missing_intervals: 3,
            gpu_temp_degraded_c: 85.0,
            gpu_temp_failed_c: None,
            memory_temp_degraded_c: 95.0,
            counter_window_s: 3600,
            ecc_dbe_failed: 1.0,
            ecc_sbe_degraded: 100.0,
            nvlink_errors_degraded: 100.0,
            pcie_replays_degraded: 100.0,
            xid_hold_s: 3600,
            xid_fatal_hold_s: None,
            xid_overrides: BTreeMap::new(),
            port_errors_degraded: 100.0,
        }
    }
}

/// Counters whose increments matter, and their slot.
const COUNTERS: [GpuField; 8] = [
    GpuField::EccSbeVolTotal,
    GpuField::EccDbeVolTotal,
    GpuField::UncorrectableRemappedRows,
    GpuField::NvlinkCrcFlitErrors,
    GpuField::NvlinkCrcDataErrors,
    GpuField::NvlinkReplayErrors,
    GpuField::NvlinkRecoveryErrors,
    GpuField::PcieReplayCounter,
];
const SBE: usize = 0;
const DBE: usize = 1;
const UNC_ROWS: usize = 2;
const PCIE: usize = 7;

fn counter_slot(f: GpuField) -> Option<usize> {
    COUNTERS.iter().position(|c| *c == f)
}

#[derive(Debug, Clone, Default)]
struct GpuState {
    node: Option<String>,
    last_seen: Option<Nanos>,
    counters: [Option<f64>; 8],
    /// Counter increments `(at, slot, delta)` within the window.
    increments: Vec<(Nanos, u8, f64)>,
    temp: Option<f64>,
    mem_temp: Option<f64>,
    clock_reasons: u64,
    remap_failure: bool,
    remap_pending: bool,
    retired_pending: bool,
    last_xid_value: Option<u32>,
    /// Active XIDs `(code, at)`.
    xids: Vec<(u32, Nanos)>,
    health: Health,
}

#[derive(Debug, Clone, Default)]
struct NodeState {
    gpus: BTreeMap<String, HealthState>,
    /// What the BMC said at the last status sync; `None` before the first.
    bmc: Option<Vec<Reason>>,
    health: Health,
}

/// Derived health for a fleet of GPUs; see the module documentation.
#[derive(Debug, Clone)]
pub struct HealthTracker {
    config: HealthConfig,
    catalog: XidCatalog,
    gpus: HashMap<String, GpuState>,
    nodes: HashMap<String, NodeState>,
}

impl HealthTracker {
    pub fn new(config: HealthConfig, catalog: XidCatalog) -> Self {
        Self {
            config,
            catalog,
            gpus: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    pub fn gpu_health(&self, gpu: &str) -> Option<&Health> {
        self.gpus.get(gpu).map(|g| &g.health)
    }

    pub fn node_health(&self, node: &str) -> Option<&Health> {
        self.nodes.get(node).map(|n| &n.health)
    }

    pub fn gpu_count(&self) -> usize {
        self.gpus.len()
    }

    /// Takes one GPU's values at time `at` (one batch: health is derived once per call).
    /// `node` is the node the GPU is in; a different node than before moves the GPU.
    pub fn observe(
        &mut self,
        gpu: &str,
        node: Option<&str>,
        at: Nanos,
        values: &[(GpuField, f64)],
    ) -> Vec<HealthChange> {
        let placed = self.place_gpu(gpu, node);
        let Some(state) = self.gpus.get_mut(gpu) else {
            return Vec::new();
        };
        state.last_seen = Some(state.last_seen.map_or(at, |s| s.max(at)));
        let mut new_xids = Vec::new();
        for &(field, v) in values {
            if v.is_nan() {
                continue;
            }
            if let Some(slot) = counter_slot(field) {
                if let Some(prev) = state.counters[slot] {
                    let delta = v - prev;
                    if delta > 0.0 {
                        state.increments.push((at, slot as u8, delta));
                    }
                }
                state.counters[slot] = Some(v);
                continue;
            }
            match field {
                GpuField::GpuTemp => state.temp = Some(v),
                GpuField::MemoryTemp => state.mem_temp = Some(v),
                GpuField::ClockEventReasons => {
                    state.clock_reasons = if v >= 0.0 { v as u64 } else { 0 }
                }
                GpuField::RowRemapFailure => state.remap_failure = v > 0.0,
                GpuField::RowRemapPending => state.remap_pending = v > 0.0,
                GpuField::RetiredPending => state.retired_pending = v > 0.0,
                GpuField::XidErrors if v >= 0.0 && v <= f64::from(u32::MAX) => {
                    let code = v as u32;
                    if code != 0 && state.last_xid_value != Some(code) {
                        new_xids.push(code);
                    }
                    state.last_xid_value = Some(code);
                }
                _ => {}
            }
        }
        for code in new_xids {
            self.add_xid(gpu, code, at);
        }
        self.finish(gpu, at, placed)
    }

    /// An XID event (from the kernel log or NVML events): always a new occurrence, and a sign
    /// of life of the GPU.
    pub fn observe_xid(
        &mut self,
        gpu: &str,
        node: Option<&str>,
        code: u32,
        at: Nanos,
    ) -> Vec<HealthChange> {
        let placed = self.place_gpu(gpu, node);
        if let Some(g) = self.gpus.get_mut(gpu) {
            g.last_seen = Some(g.last_seen.map_or(at, |s| s.max(at)));
        }
        self.add_xid(gpu, code, at);
        self.finish(gpu, at, placed)
    }

    /// Clears a GPU's XIDs (after a reset or repair).
    pub fn clear_xids(&mut self, gpu: &str, at: Nanos) -> Vec<HealthChange> {
        match self.gpus.get_mut(gpu) {
            Some(g) => g.xids.clear(),
            None => return Vec::new(),
        }
        self.finish(gpu, at, (None, false))
    }

    /// Re-derives every GPU at `now`: telemetry gone missing, windows and XID holds expired.
    /// GPU changes come first (by GPU id), then node changes (by node).
    pub fn tick(&mut self, now: Nanos) -> Vec<HealthChange> {
        let mut changes = Vec::new();
        let mut nodes = Vec::new();
        for (id, g) in self.gpus.iter_mut() {
            if let Some(change) = derive(&self.config, &self.catalog, id, g, now) {
                if let Some(node) = g.node.as_deref() {
                    if let Some(n) = self.nodes.get_mut(node) {
                        n.gpus.insert(id.clone(), change.new.state);
                    }
                    nodes.push(node.to_string());
                }
                changes.push(change);
            }
        }
        // GPUs are derived independently; nodes once each, after all their GPUs.
        changes.sort_unstable_by(|a, b| a.subject.cmp(&b.subject));
        nodes.sort_unstable();
        nodes.dedup();
        for node in nodes {
            changes.extend(self.evaluate_node(&node, now));
        }
        changes
    }

    /// The node's BMC readings from a status sync at `at`: its BMC reasons are replaced (a
    /// reading that is fine again clears its reason) and the node re-derived.
    pub fn observe_bmc(
        &mut self,
        node: &str,
        at: Nanos,
        readings: &[BmcReading],
    ) -> Vec<HealthChange> {
        self.nodes.entry(node.to_string()).or_default().bmc = Some(bmc_reasons(readings));
        self.evaluate_node(node, at).into_iter().collect()
    }

    /// The node's BMC could not be read at `at`: `BmcUnreachable` until a read succeeds.
    pub fn bmc_unreachable(&mut self, node: &str, at: Nanos, error: &str) -> Vec<HealthChange> {
        let n = self.nodes.entry(node.to_string()).or_default();
        let since = n
            .bmc
            .iter()
            .flatten()
            .find_map(|r| match r {
                Reason::BmcUnreachable { since, .. } => Some(*since),
                _ => None,
            })
            .unwrap_or(at);
        n.bmc = Some(vec![Reason::BmcUnreachable {
            since,
            error: error.to_string(),
        }]);
        self.evaluate_node(node, at).into_iter().collect()
    }

    /// The node's BMC answered (a liveness probe, not a full read): `BmcUnreachable` goes,
    /// the sensor reasons of the last read stay.
    pub fn bmc_reachable(&mut self, node: &str, at: Nanos) -> Vec<HealthChange> {
        let Some(n) = self.nodes.get_mut(node) else {
            return Vec::new();
        };
        let Some(bmc) = n.bmc.as_mut() else {
            return Vec::new();
        };
        let before = bmc.len();
        bmc.retain(|r| !matches!(r, Reason::BmcUnreachable { .. }));
        if bmc.len() == before {
            return Vec::new();
        }
        self.evaluate_node(node, at).into_iter().collect()
    }

    /// Makes sure the GPU exists and sits in `node`; returns the node it left, if it moved, and
    /// whether its node changed (including a first assignment).
    fn place_gpu(&mut self, gpu: &str, node: Option<&str>) -> (Option<String>, bool) {
        if !self.gpus.contains_key(gpu) {
            self.gpus.insert(gpu.to_string(), GpuState::default());
        }
        let Some(state) = self.gpus.get_mut(gpu) else {
            return (None, false);
        };
        let Some(node) = node else {
            return (None, false);
        };
        if state.node.as_deref() == Some(node) {
            return (None, false);
        }
        let moved_from = state.node.replace(node.to_string());
        let current = state.health.state;
        self.nodes
            .entry(node.to_string())
            .or_default()
            .gpus
            .insert(gpu.to_string(), current);
        if let Some(old) = moved_from.as_deref() {
            if let Some(o) = self.nodes.get_mut(old) {
                o.gpus.remove(gpu);
            }
        }
        (moved_from, true)
    }

    fn add_xid(&mut self, gpu: &str, code: u32, at: Nanos) {
        let severity = self
            .config
            .xid_overrides
            .get(&code)
            .copied()
            .unwrap_or_else(|| {
                self.catalog
                    .get(code)
                    .map_or(XidSeverity::Degraded, |x| x.severity)
            });
        if severity == XidSeverity::Ignore {
            return;
        }
        if let Some(g) = self.gpus.get_mut(gpu) {
            match g.xids.iter_mut().find(|(c, _)| *c == code) {
                Some(entry) => entry.1 = entry.1.max(at),
                None => {
                    g.xids.push((code, at));
                    g.xids.sort_unstable_by_key(|(c, _)| *c);
                }
            }
        }
    }

    fn finish(
        &mut self,
        gpu: &str,
        at: Nanos,
        (moved_from, node_changed): (Option<String>, bool),
    ) -> Vec<HealthChange> {
        let mut out = Vec::new();
        let changed = self.evaluate_gpu(gpu, at);
        let node = self.gpus.get(gpu).and_then(|g| g.node.clone());
        let state_changed = changed.as_ref().is_some_and(|c| c.old.state != c.new.state);
        out.extend(changed);
        if let Some(old) = moved_from {
            out.extend(self.evaluate_node(&old, at));
        }
        if let Some(node) = node {
            let fresh = self
                .nodes
                .get(&node)
                .is_some_and(|n| n.health.state == HealthState::Unknown);
            if state_changed || fresh || node_changed {
                out.extend(self.evaluate_node(&node, at));
            }
        }
        out
    }

    fn evaluate_gpu(&mut self, gpu: &str, now: Nanos) -> Option<HealthChange> {
        let g = self.gpus.get_mut(gpu)?;
        let change = derive(&self.config, &self.catalog, gpu, g, now)?;
        if let Some(node) = g.node.as_deref() {
            if let Some(n) = self.nodes.get_mut(node) {
                n.gpus.insert(gpu.to_string(), change.new.state);
            }
        }
        Some(change)
    }

    fn evaluate_node(&mut self, node: &str, now: Nanos) -> Option<HealthChange> {
        let n = self.nodes.get_mut(node)?;
        let states: Vec<HealthState> = n.gpus.values().copied().collect();
        let all = |s: HealthState| !states.is_empty() && states.iter().all(|x| *x == s);
        let any = |s: HealthState| states.contains(&s);
        let gpu_state = if states.is_empty() || all(HealthState::Unknown) {
            HealthState::Unknown
        } else if any(HealthState::Failed) {
            HealthState::Failed
        } else if all(HealthState::Missing) {
            HealthState::Missing
        } else if any(HealthState::Missing) || any(HealthState::Degraded) {
            HealthState::Degraded
        } else {
            HealthState::Healthy
        };
        // The BMC's part: healthy once read without a reason, else its worst reason.
        let bmc_state = n.bmc.as_ref().map(|rs| {
            rs.iter()
                .map(Reason::severity)
                .max_by_key(|s| s.rank())
                .unwrap_or(HealthState::Healthy)
        });
        let state = match bmc_state {
            None => gpu_state,
            Some(b) if gpu_state == HealthState::Unknown => b,
            Some(b) if b.rank() > gpu_state.rank() => b,
            Some(_) => gpu_state,
        };
        let reasons = n
            .gpus
            .iter()
            .filter(|(_, s)| !matches!(s, HealthState::Healthy | HealthState::Unknown))
            .map(|(gpu, s)| Reason::Gpu {
                gpu: gpu.clone(),
                state: *s,
            })
            .chain(n.bmc.iter().flatten().cloned())
            .collect();
        let new = Health { state, reasons };
        if n.health.same_as(&new) {
            return None;
        }
        let old = std::mem::replace(&mut n.health, new.clone());
        Some(HealthChange {
            subject: Subject::Node(node.to_string()),
            at: now,
            old,
            new,
        })
    }
}

/// Re-derives one GPU's health at `now`; the change, if its health changed.
fn derive(
    cfg: &HealthConfig,
    catalog: &XidCatalog,
    gpu: &str,
    g: &mut GpuState,
    now: Nanos,
) -> Option<HealthChange> {
    let window = cfg.counter_window_s as i64 * SECOND;
    let horizon = now.saturating_sub(window);
    g.increments.retain(|(t, _, _)| *t > horizon);
    let hold = cfg.xid_hold_s as i64 * SECOND;
    let fatal_hold = cfg.xid_fatal_hold_s.map(|s| s as i64 * SECOND);
    g.xids.retain(|(code, t)| {
        let sev = cfg.xid_overrides.get(code).copied().unwrap_or_else(|| {
            catalog
                .get(*code)
                .map_or(XidSeverity::Degraded, |x| x.severity)
        });
        match (sev, fatal_hold) {
            (XidSeverity::Failed, None) => true,
            (XidSeverity::Failed, Some(h)) => now.saturating_sub(*t) < h,
            _ => now.saturating_sub(*t) < hold,
        }
    });

    let mut reasons = Vec::new();
    for &(code, t) in &g.xids {
        let info = catalog.lookup(code);
        let severity = cfg
            .xid_overrides
            .get(&code)
            .copied()
            .unwrap_or(info.severity);
        reasons.push(Reason::Xid {
            code,
            mnemonic: info.mnemonic,
            description: info.description,
            bucket: info.bucket,
            investigatory: info.investigatory,
            severity,
            at: t,
        });
    }
    let mut sums = [0.0f64; 8];
    for &(_, slot, d) in &g.increments {
        sums[slot as usize] += d;
    }
    let window_s = cfg.counter_window_s;
    if sums[DBE] > 0.0 && sums[DBE] >= cfg.ecc_dbe_failed {
        reasons.push(Reason::EccDbe {
            increase: sums[DBE],
            window_s,
        });
    }
    if sums[SBE] > 0.0 && sums[SBE] >= cfg.ecc_sbe_degraded {
        reasons.push(Reason::EccSbe {
            increase: sums[SBE],
            window_s,
            threshold: cfg.ecc_sbe_degraded,
        });
    }
    if g.remap_failure {
        reasons.push(Reason::RowRemapFailed);
    }
    if g.remap_pending {
        reasons.push(Reason::RowRemapPending);
    }
    if sums[UNC_ROWS] > 0.0 {
        reasons.push(Reason::RowsRemappedUncorrectable {
            increase: sums[UNC_ROWS],
            window_s,
        });
    }
    if g.retired_pending {
        reasons.push(Reason::RetiredPagesPending);
    }
    if let Some(t) = g.temp {
        let failed = cfg.gpu_temp_failed_c.is_some_and(|f| t >= f);
        if failed || t >= cfg.gpu_temp_degraded_c {
            reasons.push(Reason::Thermal {
                field: GpuField::GpuTemp,
                celsius: t,
                threshold: if failed {
                    cfg.gpu_temp_failed_c.unwrap_or(cfg.gpu_temp_degraded_c)
                } else {
                    cfg.gpu_temp_degraded_c
                },
                failed,
            });
        }
    }
    if let Some(t) = g.mem_temp.filter(|t| *t >= cfg.memory_temp_degraded_c) {
        reasons.push(Reason::Thermal {
            field: GpuField::MemoryTemp,
            celsius: t,
            threshold: cfg.memory_temp_degraded_c,
            failed: false,
        });
    }
    let thermal_bits =
        g.clock_reasons & (clock_reasons::HW_THERMAL_SLOWDOWN | clock_reasons::SW_THERMAL_SLOWDOWN);
    if thermal_bits != 0 {
        reasons.push(Reason::ThermalThrottle {
            reasons: clock_reasons::names(thermal_bits)
                .into_iter()
                .map(String::from)
                .collect(),
        });
    }
    if g.clock_reasons & clock_reasons::HW_POWER_BRAKE_SLOWDOWN != 0 {
        reasons.push(Reason::PowerBrake);
    }
    let nvlink: f64 = sums[3..7].iter().sum();
    if nvlink > 0.0 && nvlink >= cfg.nvlink_errors_degraded {
        reasons.push(Reason::NvlinkErrors {
            increase: nvlink,
            window_s,
            threshold: cfg.nvlink_errors_degraded,
        });
    }
    if sums[PCIE] > 0.0 && sums[PCIE] >= cfg.pcie_replays_degraded {
        reasons.push(Reason::PcieReplays {
            increase: sums[PCIE],
            window_s,
            threshold: cfg.pcie_replays_degraded,
        });
    }
    if let Some(seen) = g.last_seen {
        let interval = (cfg.interval_s.max(1) as i64).saturating_mul(SECOND);
        let silent = now.saturating_sub(seen);
        if silent >= interval.saturating_mul(cfg.missing_intervals.max(1) as i64) {
            reasons.push(Reason::TelemetryMissing {
                last_seen: seen,
                intervals: (silent / interval) as u64,
            });
        }
    }
    let state = match g.last_seen {
        None if reasons.is_empty() => HealthState::Unknown,
        _ => reasons
            .iter()
            .map(Reason::severity)
            .max_by_key(|s| s.rank())
            .unwrap_or(HealthState::Healthy),
    };
    let new = Health { state, reasons };
    if g.health.same_as(&new) {
        g.health = new;
        return None;
    }
    let old = std::mem::replace(&mut g.health, new.clone());
    Some(HealthChange {
        subject: Subject::Gpu(gpu.to_string()),
        at: now,
        old,
        new,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use GpuField::*;

    const T0: Nanos = 1_700_000_000 * SECOND;

    fn tracker() -> HealthTracker {
        HealthTracker::new(HealthConfig::default(), XidCatalog::builtin())
    }

    fn states(changes: &[HealthChange]) -> Vec<(Subject, HealthState, HealthState)> {
        changes
            .iter()
            .map(|c| (c.subject.clone(), c.old.state, c.new.state))
            .collect()
    }

    fn gpu(id: &str) -> Subject {
        Subject::Gpu(id.into())
    }
    fn node(id: &str) -> Subject {
        Subject::Node(id.into())
    }

    #[test]
    fn first_sample_then_only_changes() {
        let mut t = tracker();
        let c = t.observe("g0", Some("n1"), T0, &[(GpuTemp, 40.0)]);
        assert_eq!(
            states(&c),
            vec![
                (gpu("g0"), HealthState::Unknown, HealthState::Healthy),
                (node("n1"), HealthState::Unknown, HealthState::Healthy),
            ]
        );
        assert!(t
            .observe("g0", Some("n1"), T0 + SECOND, &[(GpuTemp, 41.0)])
            .is_empty());
        let c = t.observe("g0", Some("n1"), T0 + 2 * SECOND, &[(GpuTemp, 90.0)]);
        assert_eq!(
            states(&c),
            vec![
                (gpu("g0"), HealthState::Healthy, HealthState::Degraded),
                (node("n1"), HealthState::Healthy, HealthState::Degraded),
            ]
        );
        // A different temperature over the threshold is the same reason: no change.
        assert!(t
            .observe("g0", Some("n1"), T0 + 3 * SECOND, &[(GpuTemp, 91.0)])
            .is_empty());
        let c = t.observe("g0", Some("n1"), T0 + 4 * SECOND, &[(GpuTemp, 60.0)]);
        assert_eq!(c[0].new.state, HealthState::Healthy);
    }

    #[test]
    fn xid_79_fails_until_cleared() {
        let mut t = tracker();
        t.observe("g0", Some("n1"), T0, &[(XidErrors, 0.0)]);
        let c = t.observe("g0", Some("n1"), T0 + SECOND, &[(XidErrors, 79.0)]);
        assert_eq!(c[0].new.state, HealthState::Failed);
        match &c[0].new.reasons[0] {
            Reason::Xid {
                code,
                bucket,
                mnemonic,
                ..
            } => {
                assert_eq!(*code, 79);
                assert_eq!(bucket, "RESTART_BM");
                assert_eq!(mnemonic, "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(c[1].new.state, HealthState::Failed);
        // The gauge keeps showing 79: no new event, still failed days later.
        assert!(t
            .observe("g0", Some("n1"), T0 + 86_400 * SECOND, &[(XidErrors, 79.0)])
            .is_empty());
        let c = t.clear_xids("g0", T0 + 86_401 * SECOND);
        assert_eq!(c[0].new.state, HealthState::Healthy);
    }

    #[test]
    fn non_fatal_xid_expires_and_ignored_xid_is_no_reason() {
        let mut t = tracker();
        let c = t.observe_xid("g0", Some("n1"), 13, T0);
        assert_eq!(c[0].new.state, HealthState::Degraded);
        assert!(t.observe_xid("g0", Some("n1"), 63, T0 + SECOND).is_empty());
        let c = t.tick(T0 + 3600 * SECOND);
        // Telemetry is missing by then too (the GPU was last seen at T0).
        assert!(c.iter().any(|c| c.subject == gpu("g0")
            && c.new
                .reasons
                .iter()
                .all(|r| !matches!(r, Reason::Xid { .. }))));
    }

    #[test]
    fn ecc_is_rate_aware() {
        let mut t = tracker();
        t.observe(
            "g0",
            None,
            T0,
            &[(EccDbeVolTotal, 5.0), (EccSbeVolTotal, 1000.0)],
        );
        assert_eq!(t.gpu_health("g0").unwrap().state, HealthState::Healthy);
        let c = t.observe("g0", None, T0 + 30 * SECOND, &[(EccDbeVolTotal, 6.0)]);
        assert_eq!(c[0].new.state, HealthState::Failed);
        assert!(matches!(
            c[0].new.reasons[0],
            Reason::EccDbe { increase, .. } if increase == 1.0
        ));
        // A reset (counter goes down) is no increment; the old increment ages out of the window.
        t.observe("g0", None, T0 + 60 * SECOND, &[(EccDbeVolTotal, 0.0)]);
        let c = t.observe("g0", None, T0 + 3631 * SECOND, &[(EccDbeVolTotal, 0.0)]);
        assert_eq!(c[0].new.state, HealthState::Healthy);
        // SBE: 50 then 60 more within the window crosses 100.
        t.observe("g0", None, T0 + 3700 * SECOND, &[(EccSbeVolTotal, 1050.0)]);
        assert_eq!(t.gpu_health("g0").unwrap().state, HealthState::Healthy);
        let c = t.observe("g0", None, T0 + 3800 * SECOND, &[(EccSbeVolTotal, 1110.0)]);
        assert!(matches!(c[0].new.reasons[0], Reason::EccSbe { .. }));
        assert_eq!(c[0].new.state, HealthState::Degraded);
    }

    #[test]
    fn remap_throttle_power_nvlink_pcie() {
        let mut t = tracker();
        t.observe(
            "g0",
            None,
            T0,
            &[(NvlinkCrcFlitErrors, 0.0), (PcieReplayCounter, 0.0)],
        );
        let c = t.observe(
            "g0",
            None,
            T0 + SECOND,
            &[
                (RowRemapPending, 1.0),
                (ClockEventReasons, (0x40 | 0x80) as f64),
                (NvlinkCrcFlitErrors, 150.0),
                (PcieReplayCounter, 100.0),
            ],
        );
        let kinds: Vec<u8> = c[0].new.reasons.iter().map(|r| r.key().0).collect();
        assert_eq!(kinds, vec![4, 8, 9, 10, 11]);
        assert_eq!(c[0].new.state, HealthState::Degraded);
        let c = t.observe("g0", None, T0 + 2 * SECOND, &[(RowRemapFailure, 1.0)]);
        assert_eq!(c[0].new.state, HealthState::Failed);
    }

    #[test]
    fn missing_after_n_intervals_and_back() {
        let mut t = tracker();
        t.observe("g0", Some("n1"), T0, &[(GpuTemp, 40.0)]);
        t.observe("g1", Some("n1"), T0, &[(GpuTemp, 40.0)]);
        assert!(t.tick(T0 + 89 * SECOND).is_empty());
        t.observe("g1", Some("n1"), T0 + 60 * SECOND, &[(GpuTemp, 40.0)]);
        let c = t.tick(T0 + 90 * SECOND);
        assert_eq!(
            states(&c),
            vec![
                (gpu("g0"), HealthState::Healthy, HealthState::Missing),
                (node("n1"), HealthState::Healthy, HealthState::Degraded),
            ]
        );
        let c = t.tick(T0 + 150 * SECOND);
        assert_eq!(
            states(&c),
            vec![
                (gpu("g1"), HealthState::Healthy, HealthState::Missing),
                (node("n1"), HealthState::Degraded, HealthState::Missing),
            ]
        );
        let c = t.observe("g0", Some("n1"), T0 + 151 * SECOND, &[(GpuTemp, 40.0)]);
        assert_eq!(
            states(&c),
            vec![
                (gpu("g0"), HealthState::Missing, HealthState::Healthy),
                (node("n1"), HealthState::Missing, HealthState::Degraded),
            ]
        );
    }

    #[test]
    fn gpu_moves_between_nodes() {
        let mut t = tracker();
        t.observe_xid("g0", Some("n1"), 79, T0);
        assert_eq!(t.node_health("n1").unwrap().state, HealthState::Failed);
        let c = t.observe("g0", Some("n2"), T0 + SECOND, &[(GpuTemp, 40.0)]);
        // The XID history follows the GPU; the old node has no GPU left.
        assert_eq!(t.gpu_health("g0").unwrap().state, HealthState::Failed);
        assert_eq!(t.node_health("n2").unwrap().state, HealthState::Failed);
        assert_eq!(t.node_health("n1").unwrap().state, HealthState::Unknown);
        assert!(c.iter().any(|c| c.subject == node("n1")));
    }

    #[test]
    fn overrides_and_config_serde() {
        let cfg: HealthConfig = serde_json::from_str(
            r#"{"gpu_temp_degraded_c": 80, "xid_overrides": {"13": "ignore"}}"#,
        )
        .unwrap();
        assert_eq!(cfg.interval_s, 30);
        let mut t = HealthTracker::new(cfg, XidCatalog::builtin());
        assert_eq!(
            t.observe_xid("g0", None, 13, T0)[0].new.state,
            HealthState::Healthy
        );
        assert!(serde_json::from_str::<HealthConfig>(r#"{"nope": 1}"#).is_err());
    }

    fn sensor(name: &str, kind: &str, reading: f64, health: &str) -> BmcReading {
        BmcReading {
            name: name.into(),
            kind: kind.into(),
            reading: Some(reading),
            health: Some(health.into()),
            state: Some("Enabled".into()),
            upper_caution: (kind == "temperature").then_some(80.0),
            upper_critical: (kind == "temperature").then_some(95.0),
            ..Default::default()
        }
    }

    #[test]
    fn bmc_readings_join_the_node_roll_up() {
        let mut t = tracker();
        t.observe("g0", Some("n1"), T0, &[(GpuTemp, 40.0)]);
        let fine = [
            sensor("Inlet Temp", "temperature", 24.0, "OK"),
            sensor("PSU1", "power_supply", 900.0, "OK"),
            sensor("PSU2", "power_supply", 880.0, "OK"),
        ];
        // Read without a reason: no change of a healthy node.
        assert!(t.observe_bmc("n1", T0, &fine).is_empty());
        // One power supply failed: degraded (the other carries the node), named.
        let mut one = fine.to_vec();
        one[1].health = Some("Critical".into());
        // The PSU's own input voltage sensor, critical too: still only the redundancy lost.
        one.push(sensor("PSU1 Input Voltage", "voltage", 0.0, "Critical"));
        let c = t.observe_bmc("n1", T0 + SECOND, &one);
        assert_eq!(
            states(&c),
            vec![(node("n1"), HealthState::Healthy, HealthState::Degraded)]
        );
        assert!(matches!(&c[0].new.reasons[0],
            Reason::BmcSensor { sensor, failed: false, .. } if sensor == "PSU1"));
        assert!(c[0]
            .new
            .reasons
            .iter()
            .all(|r| matches!(r, Reason::BmcSensor { failed: false, .. })));
        // Both: failed. A temperature over its critical threshold (no verdict): failed too.
        let mut both = one.clone();
        both[2].health = Some("Critical".into());
        let c = t.observe_bmc("n1", T0 + 2 * SECOND, &both);
        assert_eq!(c[0].new.state, HealthState::Failed);
        let mut hot = fine.clone();
        hot[0].reading = Some(97.0);
        hot[0].health = None;
        let c = t.observe_bmc("n1", T0 + 3 * SECOND, &hot);
        assert!(matches!(&c[0].new.reasons[0],
            Reason::BmcSensor { status, threshold: Some(95.0), failed: true, .. }
                if status == "over upper critical threshold"));
        // Over caution only, and ipmitool's `nc`: degraded; an absent PSU is not judged.
        let mut warm = fine.clone();
        warm[0].reading = Some(85.0);
        warm[0].health = None;
        warm[1].state = Some("Absent".into());
        warm[1].health = Some("Critical".into());
        warm[2].health = Some("nc".into());
        let c = t.observe_bmc("n1", T0 + 4 * SECOND, &warm);
        assert_eq!(c[0].new.state, HealthState::Degraded);
        assert_eq!(c[0].new.reasons.len(), 2, "{:?}", c[0].new.reasons);
        // Fine again: healthy.
        let c = t.observe_bmc("n1", T0 + 5 * SECOND, &fine);
        assert_eq!(c[0].new.state, HealthState::Healthy);
        assert!(c[0].new.reasons.is_empty());
    }

    #[test]
    fn an_unreachable_bmc_degrades_and_keeps_its_first_time() {
        let mut t = tracker();
        // A node only the BMC has spoken for: its state comes from the BMC alone.
        let c = t.observe_bmc("n2", T0, &[]);
        assert_eq!(
            states(&c),
            vec![(node("n2"), HealthState::Unknown, HealthState::Healthy)]
        );
        let c = t.bmc_unreachable("n2", T0 + SECOND, "timed out");
        assert_eq!(c[0].new.state, HealthState::Degraded);
        assert!(t
            .bmc_unreachable("n2", T0 + 9 * SECOND, "refused")
            .is_empty());
        match &t.node_health("n2").unwrap().reasons[0] {
            Reason::BmcUnreachable { since, .. } => assert_eq!(*since, T0 + SECOND),
            r => panic!("{r:?}"),
        }
        // A liveness probe that answers clears it (and only it).
        let c = t.bmc_reachable("n2", T0 + 9 * SECOND);
        assert_eq!(c[0].new.state, HealthState::Healthy);
        assert!(t.bmc_reachable("n2", T0 + 9 * SECOND).is_empty());
        assert!(t.bmc_reachable("never-seen", T0).is_empty());
        t.bmc_unreachable("n2", T0 + 9 * SECOND, "refused");
        // GPUs failing on top: the worst of both.
        t.observe("g9", Some("n2"), T0 + 10 * SECOND, &[(GpuTemp, 40.0)]);
        let c = t.observe_xid("g9", Some("n2"), 79, T0 + 11 * SECOND);
        let n = c.iter().find(|c| c.subject == node("n2")).unwrap();
        assert_eq!(n.new.state, HealthState::Failed);
        assert_eq!(n.new.reasons.len(), 2);
    }

    #[test]
    fn deterministic_tick_order() {
        let run = || {
            let mut t = tracker();
            for i in (0..50).rev() {
                t.observe(
                    &format!("g{i:02}"),
                    Some(&format!("n{}", i % 5)),
                    T0,
                    &[(GpuTemp, 40.0)],
                );
            }
            t.tick(T0 + 1000 * SECOND)
        };
        let a = run();
        assert_eq!(a, run());
        assert_eq!(a.len(), 55);
        assert_eq!(a[0].subject, gpu("g00"));
        assert_eq!(a[50].subject, node("n0"));
    }
}
