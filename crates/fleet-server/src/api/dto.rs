//! The REST API's own shapes of store and core records. Each is built from the record by a
//! `From` impl; JSON documents are JSON values (never JSON inside a string) and every point in
//! time is an RFC 3339 UTC string with milliseconds (`2026-12-04T22:50:37.123Z`).

use std::collections::BTreeMap;

use fleet_core::correlation as corr;
use fleet_core::telemetry as tele;
use fleet_model::asset::RelationKind;
use fleet_model::diff::Change;
use fleet_model::profile::ProfileSpec;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::rfc3339;

/// A JSON document stored as text, as a JSON value (a string that is not JSON stays a string).
fn json_doc(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Inventory

/// One configuration version of an asset.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigVersionView {
    pub asset_id: String,
    pub version: i64,
    /// The configuration document of this version.
    pub config: Value,
    /// What changed from the previous version.
    pub diff: Vec<Change>,
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: String,
}

impl From<fleet_db::ConfigVersion> for ConfigVersionView {
    fn from(v: fleet_db::ConfigVersion) -> Self {
        ConfigVersionView {
            asset_id: v.asset_id,
            version: v.version,
            config: v.config,
            diff: v.diff,
            actor: v.actor,
            reason: v.reason,
            created_at: rfc3339(v.created_at),
        }
    }
}

/// One step of a node through its lifecycle.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub node_id: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub at: String,
}

impl From<fleet_db::HistoryRow> for HistoryEntry {
    fn from(h: fleet_db::HistoryRow) -> Self {
        HistoryEntry {
            id: h.id,
            node_id: h.node_id,
            from_state: h.from_state,
            to_state: h.to_state,
            actor: h.actor,
            reason: h.reason,
            request_id: h.request_id,
            at: rfc3339(h.at),
        }
    }
}

/// A relation between two assets.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationView {
    pub id: String,
    pub kind: RelationKind,
    pub from_id: String,
    pub to_id: String,
    /// E.g. `{"port": "Ethernet1"}` for `connected_to`.
    pub attrs: Value,
    pub created_at: String,
}

impl From<fleet_model::asset::Relation> for RelationView {
    fn from(r: fleet_model::asset::Relation) -> Self {
        RelationView {
            id: r.id,
            kind: r.kind,
            from_id: r.from_id,
            to_id: r.to_id,
            attrs: r.attrs,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// An expected hardware profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: String,
    pub name: String,
    pub spec: ProfileSpec,
    /// Also the ETag.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<fleet_db::Profile> for ProfileView {
    fn from(p: fleet_db::Profile) -> Self {
        ProfileView {
            id: p.id,
            name: p.name,
            spec: p.spec,
            version: p.version,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// An out-of-band operation as a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// Operation, e.g. `power.cycle`, `boot.set`, `bios.set`, `raid.create`, `firmware.update`.
    pub kind: String,
    /// The asset id of the node (or switch) the job acts on.
    pub target: String,
    /// `redfish`, `ipmi`, `ipmitool`, `gnmi`.
    pub driver: Option<String>,
    /// The operation's parameters; never holds credentials.
    pub params: Value,
    pub actor: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `timed_out`.
    pub state: String,
    pub step: Option<String>,
    pub progress: i64,
    /// Result document once succeeded.
    pub result: Option<Value>,
    pub error: Option<String>,
    pub batch_id: Option<String>,
    /// How long the whole job may take, in milliseconds (a duration, not a time).
    pub deadline_ms: i64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub updated_at: String,
    /// The worker (process) that runs or last ran the job.
    pub lease_owner: Option<String>,
    /// Until when the worker's claim holds while the job runs; a job whose lease expired is
    /// taken back by another worker.
    pub lease_until: Option<String>,
    /// How many times a worker has started the job (more than 1: taken over after a lease
    /// expired).
    pub attempts: i64,
    /// A bulk batch's limit of jobs running at once.
    pub max_parallel: Option<i64>,
}

impl From<fleet_db::Job> for JobView {
    fn from(j: fleet_db::Job) -> Self {
        JobView {
            id: j.id,
            kind: j.kind,
            target: j.target,
            driver: j.driver,
            params: json_doc(&j.params),
            actor: j.actor,
            state: j.state,
            step: j.step,
            progress: j.progress,
            result: j.result.as_deref().map(json_doc),
            error: j.error,
            batch_id: j.batch_id,
            deadline_ms: j.deadline_ms,
            created_at: rfc3339(j.created_at),
            started_at: j.started_at.map(rfc3339),
            finished_at: j.finished_at.map(rfc3339),
            updated_at: rfc3339(j.updated_at),
            lease_owner: j.lease_owner,
            lease_until: j.lease_until.map(rfc3339),
            attempts: j.attempts,
            max_parallel: j.max_parallel,
        }
    }
}

/// One line of a job's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobLogEntry {
    /// Pass the last id seen as `after` to follow a job.
    pub id: i64,
    pub job_id: String,
    pub at: String,
    pub line: String,
}

impl From<fleet_db::JobLogLine> for JobLogEntry {
    fn from(l: fleet_db::JobLogLine) -> Self {
        JobLogEntry {
            id: l.id,
            job_id: l.job_id,
            at: rfc3339(l.at),
            line: l.line,
        }
    }
}

/// A job with its log lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobView,
    pub log: Vec<JobLogEntry>,
}

impl From<fleet_core::ops::JobWithLog> for JobDetail {
    fn from(j: fleet_core::ops::JobWithLog) -> Self {
        JobDetail {
            job: j.job.into(),
            log: j.log.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Alerts and incidents

/// An alert refused, by its position in the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedAlert {
    pub index: usize,
    pub reason: String,
}

/// What one alert request did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertIngestReport {
    /// Alerts in the request.
    pub received: usize,
    /// Alerts taken (new and known).
    pub accepted: usize,
    /// Of those, fingerprints not seen before.
    pub new: usize,
    /// Of the new ones, alerts no CMDB asset matched (kept and correlated alone).
    pub unresolved: usize,
    /// Alerts refused, with why; the others were taken.
    pub rejected: Vec<RejectedAlert>,
    /// Incidents the request opened or changed.
    pub incidents: Vec<String>,
    /// Alerts held in all, and how many of them are unresolved.
    pub alerts_held: usize,
    pub unresolved_held: usize,
}

impl From<corr::IngestReport> for AlertIngestReport {
    fn from(r: corr::IngestReport) -> Self {
        AlertIngestReport {
            received: r.received,
            accepted: r.accepted,
            new: r.new,
            unresolved: r.unresolved,
            rejected: r
                .rejected
                .into_iter()
                .map(|x| RejectedAlert {
                    index: x.index,
                    reason: x.reason,
                })
                .collect(),
            incidents: r.incidents,
            alerts_held: r.alerts_held,
            unresolved_held: r.unresolved_held,
        }
    }
}

/// The state of an incident.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStateView {
    Open,
    Acknowledged,
    Resolved,
}

impl From<corr::IncidentState> for IncidentStateView {
    fn from(s: corr::IncidentState) -> Self {
        match s {
            corr::IncidentState::Open => IncidentStateView::Open,
            corr::IncidentState::Acknowledged => IncidentStateView::Acknowledged,
            corr::IncidentState::Resolved => IncidentStateView::Resolved,
        }
    }
}

/// One line of an incident's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub at: String,
    /// `opened`, `alerts_added`, `root_cause_changed`, `merged`, `split`, `note`,
    /// `acknowledged`, `resolved`, `reopened`, `escalated`, `remediation`,
    /// `remediation_waits`.
    pub event: String,
    /// Who did it (a user, or `system:correlation`).
    pub by: String,
    pub detail: String,
}

/// One piece of evidence for a root cause.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evidence {
    /// `announced`, `pattern`, `inferred`, `explained`, `xid`, `alone`, `manual`.
    pub code: String,
    pub detail: String,
}

/// The asset that failed, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootCause {
    /// Absent only for a lone alert no asset matched.
    pub asset_id: Option<String>,
    pub asset_name: Option<String>,
    /// Asset kind (`pdu`, `outlet`, `switch`, `switch_port`, `node`, `gpu`, ...).
    pub kind: Option<String>,
    /// `power_feed_lost`, `pdu_power_lost`, `switch_failed`, `gpu_fallen_off_bus`, ... or a lone
    /// alert's kind.
    pub fault: String,
    /// `announced`, `pattern`, `inferred`, `alone`, or `manual` (alerts split off by hand).
    pub belief: String,
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
}

/// What an incident affects.
#[derive(Debug, Serialize, ToSchema)]
pub struct Affected {
    pub gpus: Vec<String>,
    pub nodes: Vec<String>,
    pub jobs: Vec<String>,
}

/// An alert as held: the full label set as received.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub generator_url: Option<String>,
    /// `firing` or `resolved`.
    pub status: String,
    /// The CMDB asset the labels resolved to; absent when none matched.
    pub asset_id: Option<String>,
    /// The kind the correlation derived (`node_down`, `xid:79`, `other:<alertname>`, ...).
    pub kind: String,
    /// The incident it belongs to.
    pub incident: Option<String>,
    /// How many times it was received.
    pub received: u64,
}

impl From<corr::AlertView> for AlertView {
    fn from(a: corr::AlertView) -> Self {
        AlertView {
            fingerprint: a.fingerprint,
            labels: a.labels,
            annotations: a.annotations,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url,
            status: a.status,
            asset_id: a.asset_id,
            kind: a.kind,
            incident: a.incident,
            received: a.received,
        }
    }
}

/// The alerts held.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub total: usize,
    pub firing: usize,
    pub unresolved: usize,
    pub alerts: Vec<AlertView>,
}

impl From<corr::AlertList> for AlertList {
    fn from(l: corr::AlertList) -> Self {
        AlertList {
            total: l.total,
            firing: l.firing,
            unresolved: l.unresolved,
            alerts: l.alerts.into_iter().map(Into::into).collect(),
        }
    }
}

/// An incident. `alerts` and `timeline` only in the detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct Incident {
    pub id: String,
    pub state: IncidentStateView,
    /// Severity weight × (1 + blast radius) × age factor; the list is sorted by it.
    pub priority: f64,
    /// `info`, `warning` or `critical`: the highest member severity.
    pub severity: String,
    /// The causal rule that grouped the alerts (absent for a lone alert).
    pub rule: Option<String>,
    pub root_cause: RootCause,
    pub affected: Affected,
    /// Affected GPUs plus affected in-service nodes.
    pub blast_radius: u32,
    pub alert_count: usize,
    pub alerts_firing: usize,
    /// Suggested actions (`facilities_power`, `check_cabling`, `drain_and_diagnose`, ...).
    pub actions: Vec<String>,
    /// Earliest and latest member `startsAt`.
    pub started_at: String,
    pub last_alert_at: String,
    /// When this server opened it, and last changed it.
    pub opened_at: String,
    pub updated_at: String,
    pub acknowledged_by: Option<String>,
    pub resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntryView>>,
}

impl From<corr::IncidentView> for Incident {
    fn from(i: corr::IncidentView) -> Self {
        Incident {
            id: i.id,
            state: i.state.into(),
            priority: i.priority,
            severity: i.severity,
            rule: i.rule,
            root_cause: RootCause {
                asset_id: i.root_cause.asset_id,
                asset_name: i.root_cause.asset_name,
                kind: i.root_cause.kind,
                fault: i.root_cause.fault,
                belief: i.root_cause.belief,
                confidence: i.root_cause.confidence,
                evidence: i
                    .root_cause
                    .evidence
                    .into_iter()
                    .map(|e| Evidence {
                        code: e.code,
                        detail: e.detail,
                    })
                    .collect(),
            },
            affected: Affected {
                gpus: i.affected.gpus,
                nodes: i.affected.nodes,
                jobs: i.affected.jobs,
            },
            blast_radius: i.blast_radius,
            alert_count: i.alert_count,
            alerts_firing: i.alerts_firing,
            actions: i.actions,
            started_at: i.started_at,
            last_alert_at: i.last_alert_at,
            opened_at: i.opened_at,
            updated_at: i.updated_at,
            acknowledged_by: i.acknowledged_by,
            resolved_by: i.resolved_by,
            alerts: i.alerts.map(|a| a.into_iter().map(Into::into).collect()),
            timeline: i.timeline.map(|t| {
                t.into_iter()
                    .map(|e| TimelineEntryView {
                        at: e.at,
                        event: e.event,
                        by: e.by,
                        detail: e.detail,
                    })
                    .collect()
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Telemetry

/// The latest known status of one GPU.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuStatusView {
    /// The GPU asset.
    pub gpu: String,
    /// The node it reported from.
    pub node: Option<String>,
    /// healthy, unknown, degraded, missing or failed.
    pub state: String,
    /// Why it is not healthy (XID with its catalog meaning, ECC, thermal, missing telemetry…).
    pub reasons: Vec<Value>,
    /// Latest value of every field, by canonical field name.
    pub fields: BTreeMap<String, f64>,
    /// Last sample.
    pub last_seen: Option<String>,
    /// When the current state was entered.
    pub since: Option<String>,
}

fn json_list<T: Serialize>(v: &[T]) -> Vec<Value> {
    v.iter()
        .map(|x| serde_json::to_value(x).unwrap_or(Value::Null))
        .collect()
}

fn health_str(s: impl Serialize) -> String {
    match serde_json::to_value(s) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl From<tele::GpuStatus> for GpuStatusView {
    fn from(s: tele::GpuStatus) -> Self {
        GpuStatusView {
            gpu: s.gpu,
            node: s.node,
            state: health_str(s.state),
            reasons: json_list(&s.reasons),
            fields: s.fields,
            last_seen: s.last_seen_ms.map(rfc3339),
            since: s.since_ms.map(rfc3339),
        }
    }
}

/// One change of a GPU's derived health.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuHealthChange {
    pub id: i64,
    /// The GPU's serial (or `asset:<id>`).
    pub gpu_key: String,
    /// The GPU asset at the time.
    pub gpu_id: String,
    /// The node it was in at the time.
    pub node_id: Option<String>,
    pub old_state: String,
    pub new_state: String,
    /// The reasons of the new state.
    pub reasons: Value,
    pub at: String,
}

impl From<fleet_db::GpuHealthRow> for GpuHealthChange {
    fn from(r: fleet_db::GpuHealthRow) -> Self {
        GpuHealthChange {
            id: r.id,
            gpu_key: r.gpu_key,
            gpu_id: r.gpu_id,
            node_id: r.node_id,
            old_state: r.old_state,
            new_state: r.new_state,
            reasons: json_doc(&r.reasons),
            at: rfc3339(r.at),
        }
    }
}

/// A GPU's health: its latest status and its latest health changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuHealth {
    pub gpu: String,
    pub name: String,
    pub serial: Option<String>,
    /// The node the CMDB puts it in.
    pub node: Option<String>,
    pub status: GpuStatusView,
    /// Latest health changes, newest first (follows the GPU by serial).
    pub history: Vec<GpuHealthChange>,
}

impl From<tele::GpuHealthView> for GpuHealth {
    fn from(v: tele::GpuHealthView) -> Self {
        GpuHealth {
            gpu: v.gpu,
            name: v.name,
            serial: v.serial,
            node: v.node,
            status: v.status.into(),
            history: v.history.into_iter().map(Into::into).collect(),
        }
    }
}

/// One GPU of a node's roll-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeGpuHealth {
    pub gpu: String,
    pub name: String,
    pub serial: Option<String>,
    /// healthy, unknown, degraded, missing or failed.
    pub state: String,
    pub last_seen: Option<String>,
}

/// One BMC reading of the last status sync.
#[derive(Debug, Serialize, ToSchema)]
pub struct BmcSensorView {
    pub name: String,
    /// `temperature`, `fan`, `voltage`, `power_supply`, `power`, …
    pub kind: String,
    pub reading: Option<f64>,
    pub units: Option<String>,
    /// The BMC's verdict (Redfish `Status.Health`, ipmitool's status column).
    pub health: Option<String>,
    /// Redfish `Status.State` (`Enabled`, `Absent`, `UnavailableOffline`, …).
    pub state: Option<String>,
    pub upper_caution: Option<f64>,
    pub upper_critical: Option<f64>,
}

/// One change of a node's or switch port's derived health.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetHealthChangeView {
    pub id: i64,
    /// The node, or the switch of the port.
    pub asset_id: String,
    /// The port name; empty for the node itself.
    pub part: String,
    pub old_state: String,
    pub new_state: String,
    /// The reasons of the new state.
    pub reasons: Value,
    pub at: String,
}

impl From<fleet_db::AssetHealthRow> for AssetHealthChangeView {
    fn from(r: fleet_db::AssetHealthRow) -> Self {
        AssetHealthChangeView {
            id: r.id,
            asset_id: r.asset_id,
            part: r.part,
            old_state: r.old_state,
            new_state: r.new_state,
            reasons: json_doc(&r.reasons),
            at: rfc3339(r.at),
        }
    }
}

/// A node's roll-up with the state of each of its GPUs and its BMC readings.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeHealth {
    pub node: String,
    pub name: String,
    /// The worst of the GPUs' roll-up (failed if any GPU is failed, missing if all are,
    /// degraded if any is degraded or missing) and the BMC's readings (a sensor the BMC calls
    /// critical or over its critical threshold: failed; warning, caution, one power supply or
    /// fan, or a BMC that cannot be read: degraded); unknown before either reported.
    pub state: String,
    /// The GPUs that are not healthy, then the BMC's reasons (`bmc_sensor`, `bmc_unreachable`).
    pub reasons: Vec<Value>,
    pub since: Option<String>,
    pub gpus: Vec<NodeGpuHealth>,
    /// The BMC readings of the last status sync (empty before the first).
    pub sensors: Vec<BmcSensorView>,
    pub sensors_at: Option<String>,
    /// Latest health changes of the node, newest first.
    pub history: Vec<AssetHealthChangeView>,
}

/// One switch port as its gNMI stream reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortHealthView {
    pub port: String,
    pub admin_up: Option<bool>,
    /// OpenConfig `oper-status`: `UP`, `DOWN`, `LOWER_LAYER_DOWN`, `DORMANT`, …
    pub oper_status: Option<String>,
    pub in_errors: Option<f64>,
    pub out_errors: Option<f64>,
    pub last_seen: Option<String>,
    /// failed (up but no link), degraded (dormant/testing/unknown link, or errors over the
    /// threshold within the window), missing (the switch's stream is gone), healthy, unknown.
    pub state: String,
    pub reasons: Vec<Value>,
}

/// A switch's ports with their health and latest health changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SwitchHealth {
    pub switch: String,
    pub name: String,
    /// The worst state of its ports (unknown before any port was read).
    pub state: String,
    pub ports: Vec<PortHealthView>,
    /// Latest port health changes, newest first.
    pub history: Vec<AssetHealthChangeView>,
}

impl From<tele::SwitchHealthView> for SwitchHealth {
    fn from(v: tele::SwitchHealthView) -> Self {
        SwitchHealth {
            switch: v.switch,
            name: v.name,
            state: health_str(v.state),
            ports: v
                .ports
                .into_iter()
                .map(|(port, p)| PortHealthView {
                    port,
                    admin_up: p.admin_up,
                    oper_status: p.oper_status,
                    in_errors: p.in_errors,
                    out_errors: p.out_errors,
                    last_seen: p.last_seen.map(|n| rfc3339(n / 1_000_000)),
                    state: health_str(p.health.state),
                    reasons: json_list(&p.health.reasons),
                })
                .collect(),
            history: v.history.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<tele::NodeHealthView> for NodeHealth {
    fn from(v: tele::NodeHealthView) -> Self {
        NodeHealth {
            node: v.node,
            name: v.name,
            state: health_str(v.state),
            reasons: json_list(&v.reasons),
            since: v.since_ms.map(rfc3339),
            gpus: v
                .gpus
                .into_iter()
                .map(|g| NodeGpuHealth {
                    gpu: g.gpu,
                    name: g.name,
                    serial: g.serial,
                    state: health_str(g.state),
                    last_seen: g.last_seen_ms.map(rfc3339),
                })
                .collect(),
            sensors: v
                .sensors
                .into_iter()
                .map(|s| BmcSensorView {
                    name: s.name,
                    kind: s.kind,
                    reading: s.reading,
                    units: s.units,
                    health: s.health,
                    state: s.state,
                    upper_caution: s.upper_caution,
                    upper_critical: s.upper_critical,
                })
                .collect(),
            sensors_at: v.sensors_at_ms.map(rfc3339),
            history: v.history.into_iter().map(Into::into).collect(),
        }
    }
}

/// One unknown sender key and how many samples it sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnknownSenderView {
    /// `uuid=…`, `serial=…`, `node=… gpu=…`, `bmc=…`, `node=…` or `anonymous`.
    pub key: String,
    pub samples: u64,
}

/// What the telemetry pipeline has done since this process started.
#[derive(Debug, Serialize, ToSchema)]
pub struct TelemetryStatusView {
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
    pub unknown_senders: Vec<UnknownSenderView>,
    /// Metric names that map to no GPU field, with their counts.
    pub unmapped_names: BTreeMap<String, u64>,
    /// GPUs whose health is tracked.
    pub gpus_tracked: usize,
    /// GPUs in the CMDB index that resolves senders.
    pub gpus_indexed: usize,
    /// Tracked GPUs by health state.
    pub health: BTreeMap<String, u64>,
    /// Derived health changes seen (GPUs and nodes).
    pub health_changes: u64,
    /// `gpu.status_changed` events written.
    pub events_written: u64,
    /// Health changes whose event could not be written (the database failed).
    pub event_errors: u64,
    /// Nodes whose `metrics_url` this process scrapes, with the last outcome of each.
    pub scrape_targets: Vec<ScrapeTargetView>,
    pub history: HistoryStatusView,
    /// BMC sensor reads of the status sync taken in, and BMC reads that failed.
    pub bmc_reads: u64,
    pub bmc_failures: u64,
    /// Port updates streamed by switches (gNMI) to this process.
    pub port_updates: u64,
    /// Switch ports this process follows, by health state.
    pub ports: BTreeMap<String, u64>,
    /// Switches whose gNMI stream this process holds.
    pub switches: Vec<SwitchStreamView>,
    /// PDUs with a Redfish `address` that this process polls, as last read.
    pub pdus: Vec<PduStatusView>,
    /// CDUs with a Redfish `address` that this process polls, as last read.
    pub cdus: Vec<CduStatusView>,
}

/// One CDU polled over Redfish by this process.
#[derive(Debug, Serialize, ToSchema)]
pub struct CduStatusView {
    pub cdu: String,
    pub name: String,
    /// The last read answered.
    pub reachable: bool,
    pub last_read: Option<String>,
    /// Why the last read failed.
    pub error: Option<String>,
    /// `Status.Health` and `Status.HealthRollup` as last read (`CduFault` fires while either
    /// is `Critical`).
    pub health: Option<String>,
    pub health_rollup: Option<String>,
    /// What its conditions say is wrong, worst first.
    pub conditions: Vec<String>,
    /// Reads that failed since this process started.
    pub failures: u64,
}

/// One PDU polled over Redfish by this process.
#[derive(Debug, Serialize, ToSchema)]
pub struct PduStatusView {
    pub pdu: String,
    pub name: String,
    /// The last read answered.
    pub reachable: bool,
    pub last_read: Option<String>,
    /// Why the last read failed.
    pub error: Option<String>,
    /// Outlets reporting on.
    pub outlets_on: usize,
    /// Outlets that power something in the CMDB and report off (`PduFeedLost` fires for each).
    pub outlets_off: Vec<u32>,
    /// Sum of the outlets' reported draw, watts.
    pub watts: Option<f64>,
    /// Reads that failed since this process started.
    pub failures: u64,
}

/// One switch's gNMI stream in this process.
#[derive(Debug, Serialize, ToSchema)]
pub struct SwitchStreamView {
    pub switch: String,
    pub name: String,
    /// The subscription is open and has sent its first full state.
    pub connected: bool,
    pub last_update: Option<String>,
    /// Why the last stream ended or could not open.
    pub error: Option<String>,
    /// Streams opened again after a failure.
    pub reconnects: u64,
}

/// What this process's telemetry history has done.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryStatusView {
    /// `sqlite` (embedded, in the data directory) or `influxdb`.
    pub backend: String,
    /// Length of one stored interval, seconds.
    pub resolution_secs: f64,
    /// Intervals (GPU × field) written to the store.
    pub points_written: u64,
    /// Writes the store refused or did not answer; their intervals wait and are sent again.
    pub write_errors: u64,
    pub last_error: Option<String>,
    /// Intervals waiting for the store.
    pub pending_points: usize,
    /// Intervals still collecting samples.
    pub open_intervals: usize,
    /// Samples for an interval already written (stored as an interval of their own).
    pub late_samples: u64,
    /// Intervals dropped because the store stayed unreachable and too many waited.
    pub dropped_points: u64,
    /// NaN or infinite values not kept.
    pub non_finite: u64,
    /// Rollup rows written by the last retention pass (embedded store).
    pub last_rolled_up: Option<u64>,
    /// Rows the last retention pass deleted (embedded store).
    pub last_deleted: Option<u64>,
}

impl From<fleet_core::history::HistoryStatus> for HistoryStatusView {
    fn from(h: fleet_core::history::HistoryStatus) -> Self {
        HistoryStatusView {
            backend: h.backend,
            resolution_secs: h.resolution_ms as f64 / 1000.0,
            points_written: h.points_written,
            write_errors: h.write_errors,
            last_error: h.last_error,
            pending_points: h.pending_points,
            open_intervals: h.open_intervals,
            late_samples: h.buffer.late_samples,
            dropped_points: h.buffer.dropped_points,
            non_finite: h.buffer.non_finite,
            last_rolled_up: h.last_maintenance.as_ref().map(|m| m.rolled_up),
            last_deleted: h.last_maintenance.as_ref().map(|m| m.deleted),
        }
    }
}

/// One step of a series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPointView {
    /// Start of the step.
    pub time: String,
    pub value: f64,
}

/// One GPU's series.
#[derive(Debug, Serialize, ToSchema)]
pub struct GpuSeriesView {
    /// The GPU asset.
    pub gpu: String,
    pub name: String,
    /// The node the CMDB puts it in now.
    pub node: Option<String>,
    /// Oldest first; steps without samples have no point (a GPU without any has none).
    pub points: Vec<SeriesPointView>,
}

/// A field's history for a GPU, node or rack.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesResponse {
    /// The asset asked for.
    pub asset: String,
    pub asset_name: String,
    /// gpu, node or rack.
    pub asset_kind: String,
    /// The field's gpufleet name.
    pub field: String,
    /// mean, min, max or last.
    pub agg: String,
    pub from: String,
    pub to: String,
    /// Seconds; steps start at multiples of it since the Unix epoch.
    pub step_secs: f64,
    /// `sqlite` or `influxdb`.
    pub backend: String,
    /// Length of one stored interval, seconds: no step shows finer detail.
    pub resolution_secs: f64,
    /// Every GPU of the asset, by name.
    pub series: Vec<GpuSeriesView>,
}

impl From<fleet_core::history::SeriesView> for SeriesResponse {
    fn from(v: fleet_core::history::SeriesView) -> Self {
        SeriesResponse {
            asset: v.asset,
            asset_name: v.asset_name,
            asset_kind: v.asset_kind.as_str().to_string(),
            field: v.field.to_string(),
            agg: v.agg.as_str().to_string(),
            from: rfc3339(v.from_ms),
            to: rfc3339(v.to_ms),
            step_secs: v.step_ms as f64 / 1000.0,
            backend: v.backend.to_string(),
            resolution_secs: v.resolution_ms as f64 / 1000.0,
            series: v
                .series
                .into_iter()
                .map(|s| GpuSeriesView {
                    gpu: s.gpu,
                    name: s.name,
                    node: s.node,
                    points: s
                        .points
                        .into_iter()
                        .map(|p| SeriesPointView {
                            time: rfc3339(p.t_ms),
                            value: p.v,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The last scrape of one node's metrics page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScrapeTargetView {
    /// The node asset.
    pub node: String,
    pub url: String,
    /// The last scrape got a page.
    pub up: bool,
    /// Why the last scrape failed.
    pub error: Option<String>,
    pub last_scrape: String,
    pub duration_ms: u64,
    /// Field values of the last page that resolved to a GPU.
    pub samples: usize,
    /// Scrapes that failed in a row.
    pub failures: u64,
}

impl From<tele::TelemetryStatus> for TelemetryStatusView {
    fn from(s: tele::TelemetryStatus) -> Self {
        TelemetryStatusView {
            requests: s.requests,
            points: s.points,
            samples_ingested: s.samples_ingested,
            rejected_lines: s.rejected_lines,
            unknown_samples: s.unknown_samples,
            unknown_senders: s
                .unknown_senders
                .into_iter()
                .map(|u| UnknownSenderView {
                    key: u.key,
                    samples: u.samples,
                })
                .collect(),
            unmapped_names: s.unmapped_names,
            gpus_tracked: s.gpus_tracked,
            gpus_indexed: s.gpus_indexed,
            health: s.health,
            health_changes: s.health_changes,
            events_written: s.events_written,
            event_errors: s.event_errors,
            scrape_targets: s
                .scrape_targets
                .into_iter()
                .map(|t| ScrapeTargetView {
                    node: t.node,
                    url: t.url,
                    up: t.up,
                    error: t.error,
                    last_scrape: fleet_model::timefmt::rfc3339(t.last_scrape_ms),
                    duration_ms: t.duration_ms,
                    samples: t.samples,
                    failures: t.failures,
                })
                .collect(),
            history: s.history.into(),
            bmc_reads: s.bmc_reads,
            bmc_failures: s.bmc_failures,
            port_updates: s.port_updates,
            ports: s.ports,
            switches: s
                .switches
                .into_iter()
                .map(|w| SwitchStreamView {
                    switch: w.switch,
                    name: w.name,
                    connected: w.connected,
                    last_update: w.last_update_ms.map(rfc3339),
                    error: w.error,
                    reconnects: w.reconnects,
                })
                .collect(),
            pdus: s
                .pdus
                .into_iter()
                .map(|p| PduStatusView {
                    pdu: p.pdu,
                    name: p.name,
                    reachable: p.reachable,
                    last_read: p.last_read_ms.map(rfc3339),
                    error: p.error,
                    outlets_on: p.outlets_on,
                    outlets_off: p.outlets_off,
                    watts: p.watts,
                    failures: p.failures,
                })
                .collect(),
            cdus: s
                .cdus
                .into_iter()
                .map(|c| CduStatusView {
                    cdu: c.cdu,
                    name: c.name,
                    reachable: c.reachable,
                    last_read: c.last_read_ms.map(rfc3339),
                    error: c.error,
                    health: c.health,
                    health_rollup: c.health_rollup,
                    conditions: c.conditions,
                    failures: c.failures,
                })
                .collect(),
        }
    }
}
