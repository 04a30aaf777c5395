//! Alert correlation, the server side: alerts in (Alertmanager's postable alerts and webhook
//! bodies, already decoded into [`IncomingAlert`]s), incidents out.
//!
//! - **Graph**: the physical graph of `fleet-correlate` is built from the CMDB (racks, nodes,
//!   GPUs, BMCs, NICs, switches, PDUs and outlets, CDUs; containment, `powered_by`, `cooled_by`, `connected_to`,
//!   `nvlink`, `manages`). A NIC's `connected_to` a switch becomes NIC → switch port (the
//!   relation's `port`), the port a child of the switch. The graph is rebuilt when the CMDB
//!   changed (checked at most once per [`CorrelationSettings::check_every`] with two aggregate
//!   queries) or is older than [`CorrelationSettings::graph_max_age`], and on request; a rebuild
//!   re-resolves and re-feeds the alerts held, so the incidents follow the new graph.
//! - **Alerts**: resolved to an asset from their labels (`UUID`/`gpu` + host, `pdu` + `outlet`,
//!   `switch` + `port`, `cdu`, host labels `node`/`Hostname`/`instance` (port stripped), `rack`). An
//!   alert no asset matches is kept, correlated alone and counted. De-duplicated by
//!   Alertmanager's fingerprint (FNV-1a over the sorted label set): the same label set again
//!   updates `endsAt` only; an `endsAt` in the past resolves the alert. Windows use `startsAt`.
//! - **Incidents**: the engine's incidents plus what people did with them: state (`open`,
//!   `acknowledged`, `resolved`), who acknowledged or resolved, and a timeline. Changes become
//!   `incident.opened` / `incident.updated` / `incident.resolved` outbox events; acknowledging
//!   and resolving also write an audit row in the same transaction. The alerts held and the
//!   incidents' records are saved in the database after each change and loaded by the next
//!   process, whose engine rebuilds the same incidents from the alerts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use fleet_correlate::{
    Alert, AlertKind, Asset as GAsset, AssetKind as GKind, CorrelateError, Engine, Graph,
    IncidentChange, Millis, Overrides, Relation as GRel,
};
use fleet_db::{Actor, AssetFilter, AuditEntry, OutboxEvent, Store};
use fleet_model::asset::{AssetKind, RelationKind};
use fleet_model::event::types;
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Core, CoreError, CoreResult, Principal};

/// The least growth of the blast radius (GPUs plus in-service nodes) that escalates an incident
/// that at least doubled.
pub const GROWTH_MIN: u32 = 4;

/// Most alerts one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// How the incident store behaves.
#[derive(Debug, Clone)]
pub struct CorrelationSettings {
    /// Rebuild the graph at least this often.
    pub graph_max_age: Duration,
    /// Look for CMDB changes at most this often.
    pub check_every: Duration,
    /// Most alerts held; new fingerprints beyond it are refused (known ones still update).
    pub max_alerts: usize,
    /// Forget alerts this long after they ended (their incidents are resolved by then).
    pub keep_ended: Duration,
    /// An incident still open (not acknowledged) this long after it opened escalates
    /// (`alert.escalated`), and again after each further period; zero: never.
    pub escalate_after: Duration,
    /// Remediation of incidents (see [`crate::remediation`]).
    pub remediation: crate::remediation::RemediationSettings,
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        CorrelationSettings {
            graph_max_age: Duration::from_secs(300),
            check_every: Duration::from_secs(1),
            max_alerts: 200_000,
            keep_ended: Duration::from_secs(3600),
            escalate_after: Duration::from_secs(900),
            remediation: Default::default(),
        }
    }
}

/// One alert as a sender gave it, before validation. Times are the RFC 3339 strings of the
/// body (`0001-01-01T00:00:00Z`, Go's zero time, is "not set").
#[derive(Debug, Clone, Default)]
pub struct IncomingAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub generator_url: Option<String>,
    /// The webhook's per-alert `status` (`firing` / `resolved`), when given.
    pub status: Option<String>,
}

impl IncomingAlert {
    /// An alert gpufleet raises itself (labelled `source: gpufleet`, the summary as an
    /// annotation): firing since `since_ms`, or resolved at `ended_ms` (Unix milliseconds).
    pub(crate) fn raised(
        labels: &[(&str, &str)],
        summary: String,
        since_ms: Millis,
        ended_ms: Option<Millis>,
    ) -> IncomingAlert {
        IncomingAlert {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("source".to_string(), "gpufleet".to_string())])
                .collect(),
            annotations: [("summary".to_string(), summary)].into_iter().collect(),
            starts_at: Some(rfc(since_ms)),
            ends_at: ended_ms.map(rfc),
            generator_url: None,
            status: Some(
                if ended_ms.is_some() {
                    "resolved"
                } else {
                    "firing"
                }
                .to_string(),
            ),
        }
    }
}

/// An alert refused, by its position in the request.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

/// What one request did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// Alerts in the request.
    pub received: usize,
    /// Alerts taken (new and known).
    pub accepted: usize,
    /// Of those, fingerprints not seen before.
    pub new: usize,
    /// Of the new ones, alerts no CMDB asset matched (kept and correlated alone).
    pub unresolved: usize,
    /// Alerts refused, with why; the others were taken.
    pub rejected: Vec<Rejected>,
    /// Incidents the request opened or changed.
    pub incidents: Vec<String>,
    /// Alerts held in all, and how many of them are unresolved.
    pub alerts_held: usize,
    pub unresolved_held: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> CoreResult<IncidentState> {
        match s {
            "open" => Ok(IncidentState::Open),
            "acknowledged" | "ack" => Ok(IncidentState::Acknowledged),
            "resolved" => Ok(IncidentState::Resolved),
            _ => Err(CoreError::Invalid(format!(
                "unknown incident state '{s}'; states are open, acknowledged, resolved"
            ))),
        }
    }
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimelineEntry {
    /// RFC 3339.
    pub at: String,
    /// `opened`, `alerts_added`, `root_cause_changed`, `merged`, `split`, `note`,
    /// `acknowledged`, `resolved`, `reopened`, `escalated`, `remediation` (a step executed),
    /// `remediation_waits`.
    pub event: String,
    /// Who did it (a user, or `system:correlation`).
    pub by: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    /// `announced`, `pattern`, `inferred`, `explained`, `xid`, `alone`, `manual`.
    pub code: String,
    pub detail: String,
}

/// The asset that failed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RootCauseView {
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
    pub evidence: Vec<EvidenceView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffectedView {
    pub gpus: Vec<String>,
    pub nodes: Vec<String>,
    pub jobs: Vec<String>,
}

/// An alert as held: the full label set as received.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
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

/// An incident. `alerts` and `timeline` only in the detail.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub id: String,
    pub state: IncidentState,
    /// Severity weight × (1 + blast radius) × age factor; the list is sorted by it.
    pub priority: f64,
    /// `info`, `warning` or `critical`: the highest member severity.
    pub severity: String,
    /// The causal rule that grouped the alerts (absent for a lone alert).
    pub rule: Option<String>,
    pub root_cause: RootCauseView,
    pub affected: AffectedView,
    /// Affected GPUs plus affected in-service nodes.
    pub blast_radius: u32,
    pub alert_count: usize,
    pub alerts_firing: usize,
    /// Suggested actions (`facilities_power`, `check_cabling`, `drain_and_diagnose`, ...).
    pub actions: Vec<String>,
    /// Earliest and latest member `startsAt` (RFC 3339).
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
    pub timeline: Option<Vec<TimelineEntry>>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub state: Option<IncidentState>,
    /// An asset id or name: the root cause, an affected node or GPU, or a member alert's asset.
    pub asset: Option<String>,
    /// Incidents with an alert starting at or after this time (Unix ms).
    pub since: Option<Millis>,
    pub limit: Option<usize>,
}

/// The alerts held.
#[derive(Debug, Clone, Serialize)]
pub struct AlertList {
    pub total: usize,
    pub firing: usize,
    pub unresolved: usize,
    pub alerts: Vec<AlertView>,
}

#[derive(Serialize, Deserialize)]
struct Received {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Millis,
    ends_at: Option<Millis>,
    generator_url: Option<String>,
    /// Resolved again from the CMDB whenever the graph is built (not saved).
    #[serde(skip)]
    asset: Option<String>,
    /// An asset matched, or (NCCL timeouts) a rank node did.
    #[serde(skip)]
    matched: bool,
    count: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Sig {
    members: usize,
    root: Option<String>,
    fault: String,
    resolved: bool,
}

#[derive(Serialize, Deserialize)]
struct Record {
    state: IncidentState,
    opened_at: Millis,
    updated_at: Millis,
    acknowledged_by: Option<String>,
    resolved_by: Option<String>,
    timeline: Vec<TimelineEntry>,
    sig: Sig,
    /// Escalations so far (each one more period unacknowledged, or the incident doubled).
    escalations: u32,
    /// The blast radius when it was last looked at for growth (0: not yet).
    #[serde(default)]
    radius_seen: u32,
    /// Escalations for growth (the rest are for time unacknowledged).
    #[serde(default)]
    growths: u32,
}

/// Label lookup tables built with the graph.
#[derive(Default)]
struct Lookup {
    /// Lower-case host names and addresses → asset id (nodes first, then BMCs, switches, PDUs).
    hosts: HashMap<String, String>,
    kinds: HashMap<String, AssetKind>,
    gpu_by_uuid: HashMap<String, String>,
    /// node id → (index or name) → GPU id.
    gpus_of_node: HashMap<String, HashMap<String, String>>,
    bmc_of_node: HashMap<String, String>,
    racks: HashMap<String, String>,
    /// (pdu id, outlet number or name) → outlet id.
    outlets: HashMap<(String, String), String>,
    /// (switch id, port) → switch port id.
    ports: HashMap<(String, String), String>,
}

pub(crate) struct State {
    engine: Option<Engine>,
    lookup: Lookup,
    built_at: Option<Instant>,
    marker: Option<(i64, i64, i64, i64)>,
    checked_at: Option<Instant>,
    alerts: BTreeMap<String, Received>,
    records: BTreeMap<String, Record>,
    /// Closed incident id → the incident it merged into.
    merged: BTreeMap<String, String>,
    /// What the database holds (see [`Core::save_correlation`]): alert fingerprints, and each
    /// record's JSON as last saved. `None` until the saved state was loaded.
    saved: Option<Saved>,
    /// Alerts taken or changed since the last save.
    dirty_alerts: BTreeSet<String>,
    /// The operators' merges and splits, given to every engine built (kept in step with the
    /// engine's copy at each save).
    overrides: Overrides,
}

/// The names of the documents in the store: the overrides, remediation's switches and record,
/// the recovery ladders.
const OVERRIDES_DOC: &str = "overrides";
const REMEDIATION_DOC: &str = "remediation";
const RECOVERY_DOC: &str = "recovery";

#[derive(Default)]
struct Saved {
    alerts: BTreeSet<String>,
    records: HashMap<String, String>,
    documents: HashMap<String, String>,
}

/// The incident store of one process.
pub struct Incidents {
    settings: CorrelationSettings,
    pub(crate) state: tokio::sync::Mutex<State>,
    pub(crate) remediation: parking_lot::Mutex<crate::remediation::RemediationState>,
}

const SYSTEM: &str = "system:correlation";

impl Incidents {
    pub fn new(settings: CorrelationSettings) -> Incidents {
        Incidents {
            settings,
            state: tokio::sync::Mutex::new(State {
                engine: None,
                lookup: Lookup::default(),
                built_at: None,
                marker: None,
                checked_at: None,
                alerts: BTreeMap::new(),
                records: BTreeMap::new(),
                merged: BTreeMap::new(),
                saved: None,
                dirty_alerts: BTreeSet::new(),
                overrides: Overrides::default(),
            }),
            remediation: Default::default(),
        }
    }

    pub fn settings(&self) -> &CorrelationSettings {
        &self.settings
    }
}

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the label names in order, each
/// name and value followed by the byte 0xff, as 16 hex digits.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14695981039346656037;
    const PRIME: u64 = 1099511628211;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(PRIME);
        }
    };
    if labels.is_empty() {
        return format!("{OFFSET:016x}");
    }
    for (k, v) in labels {
        add(k.as_bytes());
        add(&[0xff]);
        add(v.as_bytes());
        add(&[0xff]);
    }
    format!("{h:016x}")
}

fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// RFC 3339 → Unix ms; Go's zero time and the empty string are `None`.
fn parse_time(field: &str, s: Option<&str>) -> Result<Option<Millis>, String> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.starts_with("0001-01-01") {
        return Ok(None);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| {
            format!("{field} '{s}' is not an RFC 3339 time (for example 2026-01-31T12:00:00Z)")
        })
}

struct Valid {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Millis,
    ends_at: Option<Millis>,
    generator_url: Option<String>,
}

fn validate(a: IncomingAlert, now: Millis) -> Result<Valid, String> {
    // Alertmanager drops empty label values before validating.
    let labels: BTreeMap<String, String> = a
        .labels
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if labels.is_empty() {
        return Err("an alert needs at least one label with a value (alertname, node, ...)".into());
    }
    if let Some(bad) = labels.keys().find(|k| !valid_label_name(k)) {
        return Err(format!(
            "label name '{bad}' is invalid: names are letters, digits and '_', not starting with a digit"
        ));
    }
    let starts = parse_time("startsAt", a.starts_at.as_deref())?;
    let mut ends = parse_time("endsAt", a.ends_at.as_deref())?;
    let starts_at = starts.unwrap_or_else(|| ends.map_or(now, |e| e.min(now)));
    if let Some(e) = ends {
        if e < starts_at {
            return Err("endsAt is before startsAt".into());
        }
    }
    if ends.is_none() && a.status.as_deref() == Some("resolved") {
        ends = Some(now);
    }
    Ok(Valid {
        labels,
        annotations: a.annotations,
        starts_at,
        ends_at: ends,
        generator_url: a.generator_url.filter(|u| !u.is_empty()),
    })
}

fn lower(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// `host:port`, `[v6]:port`, `scheme://host:port/path` → host.
fn host_of(s: &str) -> String {
    let s = s.trim();
    let s = s.split_once("://").map_or(s, |(_, r)| r);
    let s = s.split('/').next().unwrap_or(s);
    if let Some(rest) = s.strip_prefix('[') {
        return lower(rest.split(']').next().unwrap_or(rest));
    }
    if s.matches(':').count() == 1 {
        return lower(s.split(':').next().unwrap_or(s));
    }
    lower(s)
}

fn first<'a>(labels: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| labels.get(*k))
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

const HOST_LABELS: &[&str] = &[
    "node",
    "Hostname",
    "hostname",
    "host",
    "nodename",
    "instance",
    "exported_instance",
];

impl Lookup {
    fn host(&self, v: &str) -> Option<&String> {
        // The value as it is first (a name may hold a colon), then as a host.
        if let Some(id) = self.hosts.get(&lower(v)) {
            return Some(id);
        }
        let h = host_of(v);
        self.hosts.get(&h).or_else(|| {
            let is_ip = h.parse::<std::net::IpAddr>().is_ok();
            match h.split_once('.') {
                Some((short, _)) if !is_ip => self.hosts.get(short),
                _ => None,
            }
        })
    }

    /// Whether the alert names a known asset: its own, or a rank node of an NCCL timeout.
    fn matched(&self, asset: &Option<String>, kind: &AlertKind) -> bool {
        asset.is_some()
            || matches!(kind, AlertKind::NcclTimeout { nodes, .. }
                if nodes.iter().any(|n| self.host(n).is_some() || self.kinds.contains_key(n)))
    }

    fn of_kind(&self, id: &str, kind: AssetKind) -> bool {
        self.kinds.get(id) == Some(&kind)
    }

    /// The most specific asset the labels name.
    fn resolve(&self, labels: &BTreeMap<String, String>, kind: &AlertKind) -> Option<String> {
        if let Some(u) = first(labels, &["UUID", "uuid", "gpu_uuid"]) {
            if let Some(id) = self.gpu_by_uuid.get(&lower(u)) {
                return Some(id.clone());
            }
        }
        let host = first(labels, HOST_LABELS)
            .and_then(|h| self.host(h))
            .cloned();
        let node = host.clone().filter(|id| self.of_kind(id, AssetKind::Node));
        if let (Some(n), Some(g)) = (&node, first(labels, &["gpu", "gpu_index", "minor_number"])) {
            if let Some(id) = self.gpus_of_node.get(n).and_then(|m| m.get(&lower(g))) {
                return Some(id.clone());
            }
        }
        let pdu = first(labels, &["pdu"])
            .and_then(|p| self.host(p).cloned())
            .filter(|id| self.of_kind(id, AssetKind::Pdu))
            .or_else(|| host.clone().filter(|id| self.of_kind(id, AssetKind::Pdu)));
        if let (Some(p), Some(o)) = (&pdu, first(labels, &["outlet", "outlet_id", "feed"])) {
            if let Some(id) = self.outlets.get(&(p.clone(), lower(o))) {
                return Some(id.clone());
            }
        }
        let switch = first(labels, &["switch"])
            .and_then(|s| self.host(s).cloned())
            .filter(|id| self.of_kind(id, AssetKind::Switch))
            .or_else(|| {
                host.clone()
                    .filter(|id| self.of_kind(id, AssetKind::Switch))
            });
        if let (Some(s), Some(p)) = (
            &switch,
            first(labels, &["port", "ifName", "interface", "ifname"]),
        ) {
            if let Some(id) = self.ports.get(&(s.clone(), lower(p))) {
                return Some(id.clone());
            }
        }
        if let (Some(n), AlertKind::BmcUnreachable) = (&node, kind) {
            if let Some(b) = self.bmc_of_node.get(n) {
                return Some(b.clone());
            }
        }
        let cdu = first(labels, &["cdu", "cooling_unit"])
            .and_then(|c| self.host(c).cloned())
            .filter(|id| self.of_kind(id, AssetKind::Cdu));
        host.or(switch)
            .or(pdu)
            .or(cdu)
            .or_else(|| first(labels, &["rack"]).and_then(|r| self.racks.get(&lower(r)).cloned()))
    }
}

/// Reads the CMDB into the correlation graph and the label lookup.
async fn build_graph(store: &Store) -> CoreResult<(Graph, Lookup)> {
    let mut assets = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_assets(&AssetFilter {
                limit: 1000,
                after_id: after.clone(),
                ..Default::default()
            })
            .await?;
        assets.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    let mut relations = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_relations(after.as_deref(), 5000).await?;
        let done = page.len() < 5000;
        after = page.last().map(|r| r.id.clone());
        relations.extend(page);
        if done {
            break;
        }
    }
    let mut g = Graph::new();
    let mut lk = Lookup::default();
    let names: HashMap<&str, &str> = assets
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    for a in &assets {
        let kind = match a.kind {
            AssetKind::Rack => GKind::Rack,
            AssetKind::Node => GKind::Node,
            AssetKind::Gpu => GKind::Gpu,
            AssetKind::Bmc => GKind::Bmc,
            AssetKind::Nic => GKind::Nic,
            AssetKind::Switch => GKind::Switch,
            AssetKind::Pdu => GKind::Pdu,
            AssetKind::Outlet => GKind::Outlet,
            AssetKind::Cdu => GKind::Cdu,
            AssetKind::Disk => continue,
        };
        g.add_asset(GAsset {
            id: a.id.clone(),
            name: a.name.clone(),
            kind,
            in_service: a.kind != AssetKind::Node || a.state == Some(NodeState::InService),
            // PDUs are polled over Redfish (with an address and a stored password) and
            // switches streamed over gNMI (with an address): their silence raises an alert.
            monitored: match a.kind {
                AssetKind::Pdu => crate::bmc::pdu_is_polled(&a.config),
                AssetKind::Switch => a.address.as_deref().is_some_and(|s| !s.trim().is_empty()),
                _ => false,
            },
        });
        lk.kinds.insert(a.id.clone(), a.kind);
    }
    // Host names: nodes win over BMCs, switches, PDUs and CDUs.
    for kind in [
        AssetKind::Node,
        AssetKind::Bmc,
        AssetKind::Switch,
        AssetKind::Pdu,
        AssetKind::Cdu,
    ] {
        for a in assets.iter().filter(|a| a.kind == kind) {
            let mut keys = vec![];
            if kind != AssetKind::Bmc {
                keys.push(lower(&a.name));
            }
            if let Some(addr) = &a.address {
                keys.push(host_of(addr));
            }
            if let Some(h) = a.config.get("hostname").and_then(|v| v.as_str()) {
                keys.push(lower(h));
            }
            for k in keys {
                lk.hosts.entry(k).or_insert_with(|| a.id.clone());
            }
        }
    }
    for a in &assets {
        if let Some(p) = &a.parent_id {
            if g.asset(p).is_some() && g.asset(&a.id).is_some() {
                g.add_edge(p, GRel::Contains, &a.id)
                    .map_err(|e| CoreError::Internal(e.to_string()))?;
            }
        }
        match a.kind {
            AssetKind::Rack => {
                lk.racks.insert(lower(&a.name), a.id.clone());
            }
            AssetKind::Gpu => {
                if let Some(u) = a.config.get("uuid").and_then(|v| v.as_str()) {
                    lk.gpu_by_uuid.insert(lower(u), a.id.clone());
                }
                if let Some(n) = &a.parent_id {
                    let m = lk.gpus_of_node.entry(n.clone()).or_default();
                    m.insert(lower(&a.name), a.id.clone());
                    for key in ["index", "minor_number"] {
                        if let Some(i) = a.config.get(key) {
                            let i = i
                                .as_u64()
                                .map(|i| i.to_string())
                                .or_else(|| i.as_str().map(lower));
                            if let Some(i) = i {
                                m.insert(i, a.id.clone());
                            }
                        }
                    }
                    // "gpu3" / "node-01-gpu3": the trailing number is the index when no
                    // configuration field says otherwise.
                    let digits: String = a
                        .name
                        .chars()
                        .rev()
                        .take_while(|c| c.is_ascii_digit())
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    if !digits.is_empty() {
                        let i = digits.trim_start_matches('0');
                        let i = if i.is_empty() { "0" } else { i };
                        m.entry(i.to_string()).or_insert_with(|| a.id.clone());
                    }
                }
            }
            AssetKind::Bmc => {
                if let Some(n) = &a.parent_id {
                    lk.bmc_of_node.insert(n.clone(), a.id.clone());
                }
            }
            AssetKind::Outlet => {
                if let Some(p) = &a.parent_id {
                    lk.outlets.insert((p.clone(), lower(&a.name)), a.id.clone());
                    if let Some(n) = a.config.get("number").and_then(|v| v.as_u64()) {
                        lk.outlets.insert((p.clone(), n.to_string()), a.id.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let mut uuid_peers: Vec<(String, String)> = Vec::new();
    for a in assets.iter().filter(|a| a.kind == AssetKind::Gpu) {
        if let Some(peers) = a.config.get("nvlink_peers").and_then(|v| v.as_array()) {
            for p in peers.iter().filter_map(|p| p.as_str()) {
                if let Some(other) = lk.gpu_by_uuid.get(&lower(p)) {
                    uuid_peers.push((a.id.clone(), other.clone()));
                }
            }
        }
    }
    for (a, b) in uuid_peers {
        let _ = g.add_edge(&a, GRel::Nvlink, &b);
    }
    for r in &relations {
        if g.asset(&r.from_id).is_none() || g.asset(&r.to_id).is_none() {
            continue;
        }
        let res = match r.kind {
            RelationKind::PoweredBy => g.add_edge(&r.from_id, GRel::PoweredBy, &r.to_id),
            RelationKind::Nvlink => g.add_edge(&r.from_id, GRel::Nvlink, &r.to_id),
            RelationKind::Manages => g.add_edge(&r.from_id, GRel::Manages, &r.to_id),
            RelationKind::CooledBy => g.add_edge(&r.from_id, GRel::CooledBy, &r.to_id),
            RelationKind::ConnectedTo => {
                let port = r
                    .attrs
                    .get("port")
                    .and_then(|p| {
                        p.as_str()
                            .map(String::from)
                            .or_else(|| p.as_u64().map(|n| n.to_string()))
                    })
                    .unwrap_or_else(|| r.id.clone());
                let id = format!("{}/port/{port}", r.to_id);
                if g.asset(&id).is_none() {
                    let sw = names.get(r.to_id.as_str()).copied().unwrap_or("");
                    g.add_asset(GAsset {
                        id: id.clone(),
                        name: format!("{sw}/{port}"),
                        kind: GKind::SwitchPort,
                        in_service: true,
                        monitored: false,
                    });
                    lk.kinds.insert(id.clone(), AssetKind::Switch);
                    lk.ports.insert((r.to_id.clone(), lower(&port)), id.clone());
                    let _ = g.add_edge(&r.to_id, GRel::Contains, &id);
                }
                g.add_edge(&r.from_id, GRel::ConnectedTo, &id)
            }
        };
        res.map_err(|e| CoreError::Internal(e.to_string()))?;
    }
    Ok((g, lk))
}

fn rfc(ms: Millis) -> String {
    fleet_db::rfc3339(ms)
}

fn sig_of(inc: &fleet_correlate::Incident) -> Sig {
    Sig {
        members: inc.members.len(),
        root: inc.root_cause.asset_id.clone(),
        fault: inc.root_cause.fault.clone(),
        resolved: inc.resolved,
    }
}

impl State {
    fn engine(&mut self) -> &mut Engine {
        self.engine.get_or_insert_with(|| {
            Engine::with_defaults(Graph::new()).expect("the default rules parse")
        })
    }

    fn alert_of(&self, fp: &str, r: &Received) -> Alert {
        let mut a = Alert::from_labels(fp, r.labels.clone(), r.starts_at, r.asset.clone());
        a.ends_at = r.ends_at;
        a
    }

    fn view_alert(&self, fp: &str, r: &Received, now: Millis) -> AlertView {
        AlertView {
            fingerprint: fp.to_string(),
            labels: r.labels.clone(),
            annotations: r.annotations.clone(),
            starts_at: rfc(r.starts_at),
            ends_at: r.ends_at.map(rfc),
            generator_url: r.generator_url.clone(),
            status: if r.ends_at.is_some_and(|e| e <= now) {
                "resolved".into()
            } else {
                "firing".into()
            },
            asset_id: r.asset.clone(),
            kind: AlertKind::from_labels(&r.labels).rule_name(),
            incident: self
                .engine
                .as_ref()
                .and_then(|e| e.incident_of(fp))
                .map(String::from),
            received: r.count,
        }
    }

    fn unresolved(&self) -> usize {
        self.alerts.values().filter(|r| !r.matched).count()
    }

    /// Escalates every incident left open (not acknowledged) one more `after` period: an
    /// `alert.escalated` event with the level and how long it has waited, and a timeline line.
    fn escalate(&mut self, after: Duration, now: Millis) -> Vec<OutboxEvent> {
        let period = after.as_millis() as i64;
        if period <= 0 {
            return Vec::new();
        }
        let due: Vec<String> = self
            .records
            .iter()
            .filter(|(_, r)| {
                r.state == IncidentState::Open
                    && now - r.opened_at
                        >= period * (i64::from(r.escalations - r.growths.min(r.escalations)) + 1)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = self.escalate_growth(now);
        for id in due {
            let view = self.view(&id, false, now);
            let Some(rec) = self.records.get_mut(&id) else {
                continue;
            };
            rec.escalations += 1;
            let waited_s = (now - rec.opened_at) / 1000;
            rec.timeline.push(TimelineEntry {
                at: rfc(now),
                event: "escalated".into(),
                by: SYSTEM.to_string(),
                detail: format!(
                    "level {}: open and not acknowledged for {waited_s} s",
                    rec.escalations
                ),
            });
            out.push(OutboxEvent {
                ty: types::ALERT_ESCALATED,
                subject: id.clone(),
                data: serde_json::json!({
                    "incident": id,
                    "level": rec.escalations,
                    "reason": "unacknowledged",
                    "unacknowledged_for_s": waited_s,
                    "priority": view.as_ref().map(|v| v.priority),
                    "severity": view.as_ref().map(|v| v.severity.clone()),
                    "root_cause": view.as_ref().map(|v| &v.root_cause),
                }),
            });
        }
        out
    }

    /// An incident not yet resolved whose blast radius at least doubled (and grew by
    /// [`GROWTH_MIN`] or more) since it was last looked at escalates too, acknowledged or not:
    /// the fault someone is on is bigger than they were told.
    fn escalate_growth(&mut self, now: Millis) -> Vec<OutboxEvent> {
        let ids: Vec<String> = self
            .records
            .iter()
            .filter(|(_, r)| r.state != IncidentState::Resolved)
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in ids {
            let Some(view) = self.view(&id, false, now) else {
                continue;
            };
            let Some(rec) = self.records.get_mut(&id) else {
                continue;
            };
            let (was, radius) = (rec.radius_seen, view.blast_radius);
            if was == 0 || radius < was {
                rec.radius_seen = radius;
                continue;
            }
            if radius < was.saturating_mul(2) || radius - was < GROWTH_MIN {
                continue;
            }
            rec.radius_seen = radius;
            rec.escalations += 1;
            rec.growths += 1;
            rec.timeline.push(TimelineEntry {
                at: rfc(now),
                event: "escalated".into(),
                by: SYSTEM.to_string(),
                detail: format!(
                    "level {}: grew from a blast radius of {was} to {radius}",
                    rec.escalations
                ),
            });
            out.push(OutboxEvent {
                ty: types::ALERT_ESCALATED,
                subject: id.clone(),
                data: serde_json::json!({
                    "incident": id,
                    "level": rec.escalations,
                    "reason": "grew",
                    "blast_radius": radius,
                    "blast_radius_before": was,
                    "state": rec.state.as_str(),
                    "priority": view.priority,
                    "severity": view.severity,
                    "root_cause": view.root_cause,
                }),
            });
        }
        out
    }

    pub(crate) fn view(&self, id: &str, detail: bool, now: Millis) -> Option<IncidentView> {
        let inc = self.engine.as_ref()?.incident(id, now)?;
        let rec = self.records.get(id)?;
        let members: Vec<(&String, &Received)> = inc
            .members
            .iter()
            .filter_map(|fp| self.alerts.get_key_value(fp))
            .collect();
        let firing = members
            .iter()
            .filter(|(_, r)| r.ends_at.is_none_or(|e| e > now))
            .count();
        let rc = &inc.root_cause;
        Some(IncidentView {
            id: inc.id.clone(),
            state: rec.state,
            priority: inc.priority,
            severity: format!("{:?}", inc.severity).to_lowercase(),
            rule: inc.rule.clone(),
            root_cause: RootCauseView {
                asset_id: rc.asset_id.clone(),
                asset_name: rc.asset_name.clone(),
                kind: rc.kind.map(|k| k.as_str().to_string()),
                fault: rc.fault.clone(),
                belief: format!("{:?}", rc.belief).to_lowercase(),
                confidence: rc.confidence,
                evidence: rc
                    .evidence
                    .iter()
                    .map(|e| EvidenceView {
                        code: e.code.to_string(),
                        detail: e.detail.clone(),
                    })
                    .collect(),
            },
            affected: AffectedView {
                gpus: inc.affected.gpus.clone(),
                nodes: inc.affected.nodes.clone(),
                jobs: inc.affected.jobs.clone(),
            },
            blast_radius: inc.blast_radius,
            alert_count: inc.members.len(),
            alerts_firing: firing,
            actions: inc.actions.iter().map(|a| a.as_str().to_string()).collect(),
            started_at: rfc(inc.started_at),
            last_alert_at: rfc(inc.last_alert_at),
            opened_at: rfc(rec.opened_at),
            updated_at: rfc(rec.updated_at),
            acknowledged_by: rec.acknowledged_by.clone(),
            resolved_by: rec.resolved_by.clone(),
            alerts: detail.then(|| {
                members
                    .iter()
                    .map(|(fp, r)| self.view_alert(fp, r, now))
                    .collect()
            }),
            timeline: detail.then(|| rec.timeline.clone()),
        })
    }

    fn event(&self, ty: &'static str, id: &str, change: &str, now: Millis) -> OutboxEvent {
        let v = self.view(id, false, now);
        let subject = v
            .as_ref()
            .and_then(|v| v.root_cause.asset_id.clone())
            .unwrap_or_else(|| id.to_string());
        OutboxEvent {
            ty,
            subject,
            data: json!({"change": change, "incident_id": id, "incident": v}),
        }
    }

    /// Brings the incident records in line with the engine for the incidents named (and every
    /// record whose incident the engine no longer has); returns the events to write.
    fn sync(
        &mut self,
        ids: BTreeSet<String>,
        closed: &BTreeMap<String, Option<String>>,
        by: &str,
        now: Millis,
    ) -> Vec<OutboxEvent> {
        let mut events: Vec<(&'static str, String, &'static str)> = Vec::new();
        let mut all: BTreeSet<String> = ids;
        all.extend(closed.keys().cloned());
        let engine = self.engine.take();
        let Some(engine) = engine else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for id in &all {
            let Some(inc) = engine.incident(id, now) else {
                if self.records.contains_key(id) {
                    gone.push(id.clone());
                }
                continue;
            };
            let sig = sig_of(&inc);
            match self.records.get_mut(id) {
                None => {
                    let root = inc
                        .root_cause
                        .asset_name
                        .clone()
                        .unwrap_or_else(|| "an unknown asset".into());
                    self.records.insert(
                        id.clone(),
                        Record {
                            state: if inc.resolved {
                                IncidentState::Resolved
                            } else {
                                IncidentState::Open
                            },
                            opened_at: now,
                            updated_at: now,
                            acknowledged_by: None,
                            resolved_by: inc.resolved.then(|| SYSTEM.to_string()),
                            timeline: vec![TimelineEntry {
                                at: rfc(now),
                                event: "opened".into(),
                                by: by.to_string(),
                                detail: format!(
                                    "{} at {root} ({} alert(s))",
                                    inc.root_cause.fault,
                                    inc.members.len()
                                ),
                            }],
                            sig,
                            escalations: 0,
                            radius_seen: 0,
                            growths: 0,
                        },
                    );
                    events.push((types::INCIDENT_OPENED, id.clone(), "opened"));
                }
                Some(rec) if rec.sig != sig => {
                    let old = std::mem::replace(&mut rec.sig, sig.clone());
                    rec.updated_at = now;
                    if sig.members > old.members {
                        rec.timeline.push(TimelineEntry {
                            at: rfc(now),
                            event: "alerts_added".into(),
                            by: by.to_string(),
                            detail: format!(
                                "{} alert(s) joined ({} in all)",
                                sig.members - old.members,
                                sig.members
                            ),
                        });
                    }
                    if sig.root != old.root || sig.fault != old.fault {
                        rec.timeline.push(TimelineEntry {
                            at: rfc(now),
                            event: "root_cause_changed".into(),
                            by: by.to_string(),
                            detail: format!(
                                "{} at {}",
                                sig.fault,
                                inc.root_cause.asset_name.clone().unwrap_or_default()
                            ),
                        });
                    }
                    if sig.resolved && rec.state != IncidentState::Resolved {
                        rec.state = IncidentState::Resolved;
                        rec.resolved_by = Some(SYSTEM.to_string());
                        rec.timeline.push(TimelineEntry {
                            at: rfc(now),
                            event: "resolved".into(),
                            by: SYSTEM.to_string(),
                            detail: "every alert in it ended".into(),
                        });
                        events.push((types::INCIDENT_RESOLVED, id.clone(), "resolved"));
                    } else if !sig.resolved
                        && rec.state == IncidentState::Resolved
                        && (old.resolved || sig.members > old.members)
                    {
                        rec.state = IncidentState::Open;
                        rec.resolved_by = None;
                        rec.acknowledged_by = None;
                        rec.timeline.push(TimelineEntry {
                            at: rfc(now),
                            event: "reopened".into(),
                            by: by.to_string(),
                            detail: "an alert of it is firing again".into(),
                        });
                        events.push((types::INCIDENT_UPDATED, id.clone(), "reopened"));
                    } else {
                        events.push((types::INCIDENT_UPDATED, id.clone(), "alerts"));
                    }
                }
                Some(_) => {}
            }
        }
        for id in gone {
            // Follow re-keying chains to the incident that holds the alerts now.
            let mut into = closed.get(&id).cloned().flatten();
            let mut hops = 0;
            while let Some(i) = into.clone() {
                if engine.incident(&i, now).is_some() || hops > 16 {
                    break;
                }
                into = closed.get(&i).cloned().flatten();
                hops += 1;
            }
            let Some(rec) = self.records.remove(&id) else {
                continue;
            };
            match into.filter(|i| self.records.contains_key(i)) {
                Some(target) => {
                    self.merged.insert(id.clone(), target.clone());
                    if let Some(t) = self.records.get_mut(&target) {
                        t.timeline.push(TimelineEntry {
                            at: rfc(now),
                            event: "merged".into(),
                            by: by.to_string(),
                            detail: format!(
                                "incident {id} ({} alert(s)) merged into this one",
                                rec.sig.members
                            ),
                        });
                        if rec.state == IncidentState::Acknowledged
                            && t.state == IncidentState::Open
                        {
                            t.state = IncidentState::Acknowledged;
                            t.acknowledged_by = rec.acknowledged_by.clone();
                        }
                        t.updated_at = now;
                    }
                    events.push((types::INCIDENT_UPDATED, id.clone(), "merged"));
                }
                None => {
                    if rec.state != IncidentState::Resolved {
                        events.push((types::INCIDENT_RESOLVED, id.clone(), "closed"));
                    }
                }
            }
        }
        self.engine = Some(engine);
        events
            .into_iter()
            .map(|(ty, id, change)| {
                let mut e = self.event(ty, &id, change, now);
                if change == "merged" || change == "closed" {
                    let into = self.merged.get(&id).cloned();
                    e.data = json!({"change": change, "incident_id": id, "merged_into": into});
                }
                e
            })
            .collect()
    }

    /// Adds a line to an incident's timeline.
    pub(crate) fn push_timeline(
        &mut self,
        id: &str,
        event: &str,
        by: &str,
        detail: String,
        now: Millis,
    ) {
        if let Some(rec) = self.records.get_mut(id) {
            rec.timeline.push(TimelineEntry {
                at: rfc(now),
                event: event.into(),
                by: by.into(),
                detail,
            });
            rec.updated_at = now;
        }
    }

    /// Incidents open and not acknowledged, by id.
    pub(crate) fn open_ids(&self) -> Vec<String> {
        self.records
            .iter()
            .filter(|(_, r)| r.state == IncidentState::Open)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The incident an id names now (following merges).
    pub(crate) fn current_id(&self, id: &str) -> Option<String> {
        let mut id = id.to_string();
        for _ in 0..16 {
            if self.records.contains_key(&id) {
                return Some(id);
            }
            id = self
                .merged
                .get(&id)
                .or_else(|| self.overrides.merged.get(&id))?
                .clone();
        }
        None
    }
}

fn no_incident(id: &str) -> CoreError {
    CoreError::NotFound(format!("incident '{id}' does not exist"))
}

/// A merge or split the engine refused.
fn grouping_error(e: CorrelateError) -> CoreError {
    match e {
        CorrelateError::NoIncident(id) => no_incident(&id),
        other => CoreError::Unprocessable(other.to_string()),
    }
}

fn collect(
    changes: Vec<IncidentChange>,
    touched: &mut BTreeSet<String>,
    closed: &mut BTreeMap<String, Option<String>>,
) {
    for c in changes {
        match c {
            IncidentChange::Closed { id, merged_into } => {
                closed.insert(id, merged_into);
            }
            other => {
                touched.insert(other.id().to_string());
            }
        }
    }
}

impl Core {
    fn incidents_store(&self) -> &Incidents {
        &self.incidents
    }

    /// Rebuilds the graph when the CMDB changed or it is old (or `force`), re-feeding the held
    /// alerts; returns the events the rebuild caused.
    async fn ensure_graph(
        &self,
        st: &mut State,
        force: bool,
        now: Millis,
    ) -> CoreResult<Vec<OutboxEvent>> {
        let s = &self.incidents_store().settings;
        let old = st.built_at.is_none_or(|t| t.elapsed() >= s.graph_max_age);
        let mut stale = force || old || st.engine.is_none();
        if !stale && st.checked_at.is_none_or(|t| t.elapsed() >= s.check_every) {
            let m = self.store.cmdb_marker().await?;
            st.checked_at = Some(Instant::now());
            stale = st.marker != Some(m);
        }
        if !stale {
            return Ok(vec![]);
        }
        self.load_correlation(st).await?;
        let marker = self.store.cmdb_marker().await?;
        let (graph, lookup) = build_graph(&self.store).await?;
        let mut engine = Engine::with_defaults(graph)
            .map_err(|e| CoreError::Internal(format!("the correlation rules: {e}")))?;
        if let Some(old) = st.engine.as_ref() {
            st.overrides = old.overrides().clone();
        }
        engine.set_overrides(st.overrides.clone());
        let mut alerts = std::mem::take(&mut st.alerts);
        for (fp, r) in alerts.iter_mut() {
            let kind = AlertKind::from_labels(&r.labels);
            r.asset = lookup.resolve(&r.labels, &kind);
            r.matched = lookup.matched(&r.asset, &kind);
            let mut a =
                Alert::from_labels(fp.clone(), r.labels.clone(), r.starts_at, r.asset.clone());
            a.ends_at = r.ends_at;
            engine.ingest(a, now);
        }
        st.alerts = alerts;
        st.engine = Some(engine);
        st.lookup = lookup;
        st.marker = Some(marker);
        st.built_at = Some(Instant::now());
        st.checked_at = Some(Instant::now());
        let ids: BTreeSet<String> = st
            .engine
            .as_ref()
            .map(|e| e.incidents(now).into_iter().map(|i| i.id).collect())
            .unwrap_or_default();
        let mut all = ids;
        all.extend(st.records.keys().cloned());
        Ok(st.sync(all, &BTreeMap::new(), SYSTEM, now))
    }

    /// Time-driven changes: incidents whose alerts all ended resolve; alerts ended long ago are
    /// forgotten.
    fn catch_up(&self, st: &mut State, now: Millis) -> Vec<OutboxEvent> {
        let keep = self.incidents_store().settings.keep_ended.as_millis() as i64;
        let mut touched: BTreeSet<String> = st.records.keys().cloned().collect();
        let mut closed = BTreeMap::new();
        if let Some(engine) = st.engine.as_mut() {
            let changes = engine.prune(now - keep, now);
            collect(changes, &mut touched, &mut closed);
            let held: BTreeSet<String> = st
                .alerts
                .keys()
                .filter(|fp| engine.incident_of(fp).is_some())
                .cloned()
                .collect();
            st.alerts.retain(|fp, _| held.contains(fp));
        }
        st.sync(touched, &closed, SYSTEM, now)
    }

    async fn write_events(
        &self,
        actor: &Actor,
        audit: Option<AuditEntry<'_>>,
        events: Vec<OutboxEvent>,
    ) -> CoreResult<()> {
        self.store.record_events(actor, audit, &events).await?;
        Ok(())
    }

    /// Loads the saved state if this process has not yet (the remediation switches and the
    /// recovery ladders before they are read or set).
    pub(crate) async fn ensure_correlation_loaded(&self) -> CoreResult<()> {
        let mut st = self.incidents_store().state.lock().await;
        self.load_correlation(&mut st).await
    }

    /// Saves what changed in the incident store now (see [`Core::save_correlation`]).
    pub(crate) async fn save_incident_store(&self) {
        let mut st = self.incidents_store().state.lock().await;
        self.save_correlation(&mut st).await;
    }

    /// Loads the saved alerts, incident records and documents, once per process (later calls
    /// do nothing), before the first graph is built: the graph build then feeds the alerts to
    /// the engine, which rebuilds the same incidents, and the records bring back their state,
    /// people and timeline. A row that cannot be read is skipped with a warning, not fatal.
    async fn load_correlation(&self, st: &mut State) -> CoreResult<()> {
        if st.saved.is_some() {
            return Ok(());
        }
        let saved = self.store.load_correlation().await?;
        let mut s = Saved::default();
        for (fp, body) in saved.alerts {
            match serde_json::from_str::<Received>(&body) {
                Ok(r) => {
                    st.alerts.entry(fp.clone()).or_insert(r);
                    s.alerts.insert(fp);
                }
                Err(e) => tracing::warn!(fingerprint = %fp, error = %e, "saved alert not read"),
            }
        }
        for (id, body) in saved.records {
            match serde_json::from_str::<Record>(&body) {
                Ok(r) => {
                    st.records.entry(id.clone()).or_insert(r);
                    s.records.insert(id, body);
                }
                Err(e) => {
                    tracing::warn!(incident = %id, error = %e, "saved incident record not read")
                }
            }
        }
        for (name, body) in saved.documents {
            if name == OVERRIDES_DOC {
                match serde_json::from_str::<Overrides>(&body) {
                    Ok(o) => st.overrides = o,
                    Err(e) => {
                        tracing::warn!(error = %e, "saved incident merges and splits not read")
                    }
                }
            } else if name == REMEDIATION_DOC {
                match serde_json::from_str::<crate::remediation::RemediationState>(&body) {
                    Ok(r) => *self.incidents.remediation.lock() = r,
                    Err(e) => tracing::warn!(error = %e, "saved remediation state not read"),
                }
            } else if name == RECOVERY_DOC {
                match serde_json::from_str::<crate::recovery::RecoveryState>(&body) {
                    Ok(r) => *self.recovery.lock() = r,
                    Err(e) => tracing::warn!(error = %e, "saved recovery ladders not read"),
                }
            }
            s.documents.insert(name, body);
        }
        if !st.alerts.is_empty() || !st.records.is_empty() {
            tracing::info!(
                alerts = st.alerts.len(),
                incidents = st.records.len(),
                "incident store: saved alerts and incidents loaded"
            );
        }
        st.saved = Some(s);
        Ok(())
    }

    /// Saves what changed in the incident store since the last save, in one transaction:
    /// alerts taken or changed, alerts forgotten, incident records new, changed or dropped.
    /// A failure is logged and retried with the next save (nothing is marked saved).
    pub(crate) async fn save_correlation(&self, st: &mut State) {
        if let Some(e) = st.engine.as_ref() {
            st.overrides = e.overrides().clone();
        }
        let Some(saved) = st.saved.as_ref() else {
            return;
        };
        let mut c = fleet_db::CorrelationChanges::default();
        let docs = [
            (OVERRIDES_DOC, serde_json::to_string(&st.overrides)),
            (
                REMEDIATION_DOC,
                serde_json::to_string(&*self.incidents.remediation.lock()),
            ),
            (RECOVERY_DOC, serde_json::to_string(&*self.recovery.lock())),
        ];
        for (name, body) in docs {
            let Ok(body) = body else { continue };
            if saved.documents.get(name) != Some(&body) {
                c.documents.push((name.to_string(), body));
            }
        }
        for fp in &st.dirty_alerts {
            if let Some(r) = st.alerts.get(fp) {
                if let Ok(body) = serde_json::to_string(r) {
                    c.alerts.push((fp.clone(), body));
                }
            }
        }
        c.alerts_gone = saved
            .alerts
            .iter()
            .filter(|fp| !st.alerts.contains_key(*fp))
            .cloned()
            .collect();
        for (id, r) in &st.records {
            if let Ok(body) = serde_json::to_string(r) {
                if saved.records.get(id) != Some(&body) {
                    c.records.push((id.clone(), body));
                }
            }
        }
        c.records_gone = saved
            .records
            .keys()
            .filter(|id| !st.records.contains_key(*id))
            .cloned()
            .collect();
        if c.is_empty() {
            return;
        }
        match self.store.save_correlation(&c).await {
            Ok(()) => {
                let saved = st.saved.get_or_insert_with(Saved::default);
                for (fp, _) in &c.alerts {
                    saved.alerts.insert(fp.clone());
                }
                for fp in &c.alerts_gone {
                    saved.alerts.remove(fp);
                }
                for (id, body) in c.records {
                    saved.records.insert(id, body);
                }
                for id in &c.records_gone {
                    saved.records.remove(id);
                }
                for (name, body) in c.documents {
                    saved.documents.insert(name, body);
                }
                st.dirty_alerts.clear();
            }
            Err(e) => {
                tracing::error!(error = %e, "incident store not saved (retried with the next change)")
            }
        }
    }

    /// Takes alerts (Alertmanager's postable alerts or a webhook's alerts). Valid alerts are
    /// taken even when others in the request are refused; the report names the refused ones.
    pub async fn ingest_alerts(
        &self,
        p: &Principal,
        alerts: Vec<IncomingAlert>,
    ) -> CoreResult<IngestReport> {
        p.require(Permission::AlertWrite, "send alerts")?;
        if alerts.len() > MAX_BATCH {
            return Err(CoreError::Invalid(format!(
                "{} alerts in one request; send at most {MAX_BATCH} at a time",
                alerts.len()
            )));
        }
        let now = fleet_db::now_ms();
        let received = alerts.len();
        let mut st = self.incidents_store().state.lock().await;
        let mut events = self.ensure_graph(&mut st, false, now).await?;
        let max = self.incidents_store().settings.max_alerts;
        let mut report = IngestReport {
            received,
            accepted: 0,
            new: 0,
            unresolved: 0,
            rejected: vec![],
            incidents: vec![],
            alerts_held: 0,
            unresolved_held: 0,
        };
        let mut touched = BTreeSet::new();
        let mut closed = BTreeMap::new();
        for (index, a) in alerts.into_iter().enumerate() {
            let v = match validate(a, now) {
                Ok(v) => v,
                Err(reason) => {
                    report.rejected.push(Rejected { index, reason });
                    continue;
                }
            };
            let fp = fingerprint(&v.labels);
            // An alert that ended and fires again later is a new occurrence, with its own
            // startsAt (as in Alertmanager): the old one leaves the engine first.
            let refired = st.alerts.get(&fp).is_some_and(|r| {
                r.ends_at.is_some_and(|e| e <= now && v.starts_at > e)
                    && v.ends_at.is_none_or(|e| e > now)
            });
            if refired {
                let changes = st.engine().forget(&fp, now);
                collect(changes, &mut touched, &mut closed);
                if let Some(r) = st.alerts.get_mut(&fp) {
                    r.starts_at = v.starts_at;
                }
            }
            let alert = if let Some(r) = st.alerts.get_mut(&fp) {
                r.ends_at = v.ends_at;
                r.annotations = v.annotations;
                r.count += 1;
                if v.generator_url.is_some() {
                    r.generator_url = v.generator_url;
                }
                let r = &st.alerts[&fp];
                st.alert_of(&fp, r)
            } else {
                if st.alerts.len() >= max {
                    report.rejected.push(Rejected {
                        index,
                        reason: format!(
                            "{max} alerts are held; this new one was not taken (resend it later)"
                        ),
                    });
                    continue;
                }
                let kind = AlertKind::from_labels(&v.labels);
                let asset = st.lookup.resolve(&v.labels, &kind);
                let matched = st.lookup.matched(&asset, &kind);
                report.new += 1;
                if !matched {
                    report.unresolved += 1;
                }
                let r = Received {
                    labels: v.labels,
                    annotations: v.annotations,
                    starts_at: v.starts_at,
                    ends_at: v.ends_at,
                    generator_url: v.generator_url,
                    asset,
                    matched,
                    count: 1,
                };
                let a = st.alert_of(&fp, &r);
                st.alerts.insert(fp.clone(), r);
                a
            };
            report.accepted += 1;
            st.dirty_alerts.insert(fp.clone());
            let changes = st.engine().ingest(alert, now);
            collect(changes, &mut touched, &mut closed);
        }
        report.incidents = touched
            .iter()
            .filter(|id| {
                st.engine
                    .as_ref()
                    .is_some_and(|e| e.incident(id, now).is_some())
            })
            .cloned()
            .collect();
        events.extend(st.sync(touched, &closed, &p.name, now));
        report.alerts_held = st.alerts.len();
        report.unresolved_held = st.unresolved();
        self.write_events(&p.actor(), None, events).await?;
        self.save_correlation(&mut st).await;
        Ok(report)
    }

    /// Incidents, highest priority first.
    pub async fn list_incidents(
        &self,
        p: &Principal,
        f: &IncidentFilter,
    ) -> CoreResult<Vec<IncidentView>> {
        p.require(Permission::InventoryRead, "read incidents")?;
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.catch_up(&mut st, now);
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        self.save_correlation(&mut st).await;
        let Some(engine) = st.engine.as_ref() else {
            return Ok(vec![]);
        };
        let asset = f.asset.as_ref().map(|a| {
            engine
                .graph()
                .resolve(a)
                .map(|x| x.id.clone())
                .unwrap_or_else(|| a.clone())
        });
        let mut out = Vec::new();
        for inc in engine.incidents(now) {
            if let Some(since) = f.since {
                if inc.last_alert_at < since {
                    continue;
                }
            }
            if let Some(a) = &asset {
                let hit = inc.root_cause.asset_id.as_ref() == Some(a)
                    || inc.affected.nodes.contains(a)
                    || inc.affected.gpus.contains(a)
                    || inc
                        .members
                        .iter()
                        .any(|fp| st.alerts.get(fp).and_then(|r| r.asset.as_ref()) == Some(a));
                if !hit {
                    continue;
                }
            }
            let Some(v) = st.view(&inc.id, false, now) else {
                continue;
            };
            if f.state.is_some_and(|s| s != v.state) {
                continue;
            }
            out.push(v);
            if f.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }

    /// One incident with its alerts and timeline. An id that merged into another names that one.
    pub async fn get_incident(&self, p: &Principal, id: &str) -> CoreResult<IncidentView> {
        p.require(Permission::InventoryRead, "read incidents")?;
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.catch_up(&mut st, now);
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        self.save_correlation(&mut st).await;
        st.current_id(id)
            .and_then(|id| st.view(&id, true, now))
            .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")))
    }

    /// Acknowledges an incident: someone is on it. Acknowledging twice changes nothing.
    pub async fn acknowledge_incident(
        &self,
        p: &Principal,
        id: &str,
        note: Option<String>,
    ) -> CoreResult<IncidentView> {
        p.require(Permission::IncidentManage, "acknowledge incidents")?;
        self.set_state(p, id, IncidentState::Acknowledged, note)
            .await
    }

    /// Resolves an incident by hand. A member alert that fires again (or a new one that joins)
    /// reopens it.
    pub async fn resolve_incident(
        &self,
        p: &Principal,
        id: &str,
        note: Option<String>,
    ) -> CoreResult<IncidentView> {
        p.require(Permission::IncidentManage, "resolve incidents")?;
        self.set_state(p, id, IncidentState::Resolved, note).await
    }

    /// Merges incidents into `into` by hand: their alerts, and alerts that would have opened
    /// them later, join it; the merged ones close (`merged_into`), and an acknowledgement
    /// carries over. Audited (`incident.merge`); kept across restarts.
    pub async fn merge_incidents(
        &self,
        p: &Principal,
        into: &str,
        from: &[String],
        note: Option<String>,
    ) -> CoreResult<IncidentView> {
        p.require(Permission::IncidentManage, "merge incidents")?;
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.catch_up(&mut st, now);
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        let target = st.current_id(into).ok_or_else(|| no_incident(into))?;
        if from.is_empty() {
            return Err(CoreError::Invalid(
                "name at least one incident to merge (\"incidents\": [...])".into(),
            ));
        }
        let mut sources: Vec<String> = Vec::new();
        for id in from {
            let cur = st.current_id(id).ok_or_else(|| no_incident(id))?;
            if cur == target {
                return Err(CoreError::Unprocessable(format!(
                    "incident '{id}' is '{target}' itself (or already merged into it)"
                )));
            }
            if !sources.contains(&cur) {
                sources.push(cur);
            }
        }
        let engine = st.engine.as_mut().ok_or_else(|| no_incident(into))?;
        let changes = engine
            .merge(&target, &sources, now)
            .map_err(grouping_error)?;
        let mut touched = BTreeSet::new();
        let mut closed = BTreeMap::new();
        collect(changes, &mut touched, &mut closed);
        touched.insert(target.clone());
        let mut events = st.sync(touched, &closed, &p.name, now);
        if let Some(n) = note.as_ref().filter(|n| !n.is_empty()) {
            st.push_timeline(&target, "note", &p.name, n.clone(), now);
        }
        if let Some(e) = events
            .iter_mut()
            .find(|e| e.data["incident_id"] == json!(target))
        {
            e.data["by"] = json!(p.name);
        }
        let audit = AuditEntry {
            action: "incident.merge",
            kind: "incident",
            target: Some(&target),
            before: Some(json!({"incidents": sources})),
            after: Some(json!({"into": target, "note": note})),
        };
        self.write_events(&p.actor(), Some(audit), events).await?;
        self.save_correlation(&mut st).await;
        st.view(&target, true, now)
            .ok_or_else(|| no_incident(&target))
    }

    /// Splits alerts (by fingerprint) off an incident into a new one, rooted at `root` (an
    /// asset id or name) when given, else at the earliest alert's own asset. The alerts stay
    /// there whatever the rules say, until they are forgotten. Audited (`incident.split`);
    /// kept across restarts. Returns the new incident.
    pub async fn split_incident(
        &self,
        p: &Principal,
        id: &str,
        alerts: &[String],
        root: Option<&str>,
        note: Option<String>,
    ) -> CoreResult<IncidentView> {
        p.require(Permission::IncidentManage, "split incidents")?;
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.catch_up(&mut st, now);
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        let from = st.current_id(id).ok_or_else(|| no_incident(id))?;
        if alerts.is_empty() {
            return Err(CoreError::Invalid(
                "name at least one alert to split off (\"alerts\": [fingerprint, ...])".into(),
            ));
        }
        let engine = st.engine.as_mut().ok_or_else(|| no_incident(id))?;
        let root_id =
            match root {
                Some(r) => Some(engine.graph().resolve(r).map(|a| a.id.clone()).ok_or_else(
                    || {
                        CoreError::Unprocessable(format!(
                            "no asset '{r}' in the physical graph (give an asset id or name)"
                        ))
                    },
                )?),
                None => None,
            };
        let (new_id, changes) = engine
            .split(&from, alerts, root_id.clone(), &p.name, now)
            .map_err(grouping_error)?;
        let mut touched = BTreeSet::new();
        let mut closed = BTreeMap::new();
        collect(changes, &mut touched, &mut closed);
        let events = st.sync(touched, &closed, &p.name, now);
        let n = alerts.iter().collect::<BTreeSet<_>>().len();
        let tail = note
            .as_ref()
            .filter(|n| !n.is_empty())
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        st.push_timeline(
            &new_id,
            "split",
            &p.name,
            format!("{n} alert(s) split off incident {from}{tail}"),
            now,
        );
        st.push_timeline(
            &from,
            "split",
            &p.name,
            format!("{n} alert(s) split off into incident {new_id}{tail}"),
            now,
        );
        let audit = AuditEntry {
            action: "incident.split",
            kind: "incident",
            target: Some(&from),
            before: Some(json!({"incident": from})),
            after: Some(json!({"into": new_id, "alerts": alerts, "root": root_id, "note": note})),
        };
        self.write_events(&p.actor(), Some(audit), events).await?;
        self.save_correlation(&mut st).await;
        st.view(&new_id, true, now)
            .ok_or_else(|| no_incident(&new_id))
    }

    async fn set_state(
        &self,
        p: &Principal,
        id: &str,
        to: IncidentState,
        note: Option<String>,
    ) -> CoreResult<IncidentView> {
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.catch_up(&mut st, now);
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        let cur = st
            .current_id(id)
            .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")))?;
        let from = st.records[&cur].state;
        if from == to {
            return st
                .view(&cur, true, now)
                .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")));
        }
        if to == IncidentState::Acknowledged && from == IncidentState::Resolved {
            return Err(CoreError::conflict(
                "Incident resolved",
                format!("incident '{cur}' is resolved; only open incidents can be acknowledged"),
            ));
        }
        let (ty, change, verb) = match to {
            IncidentState::Acknowledged => (
                types::INCIDENT_UPDATED,
                "acknowledged",
                "incident.acknowledge",
            ),
            _ => (types::INCIDENT_RESOLVED, "resolved", "incident.resolve"),
        };
        let mut ev = st.event(ty, &cur, change, now);
        if let Some(obj) = ev.data.get_mut("incident").and_then(|v| v.as_object_mut()) {
            obj.insert("state".into(), json!(to.as_str()));
        }
        ev.data["by"] = json!(p.name);
        ev.data["note"] = json!(note);
        let audit = AuditEntry {
            action: verb,
            kind: "incident",
            target: Some(&cur),
            before: Some(json!({"state": from.as_str()})),
            after: Some(json!({"state": to.as_str(), "note": note})),
        };
        self.write_events(&p.actor(), Some(audit), vec![ev]).await?;
        let rec = st.records.get_mut(&cur).expect("checked above");
        rec.state = to;
        rec.updated_at = now;
        match to {
            IncidentState::Acknowledged => rec.acknowledged_by = Some(p.name.clone()),
            _ => rec.resolved_by = Some(p.name.clone()),
        }
        rec.timeline.push(TimelineEntry {
            at: rfc(now),
            event: change.into(),
            by: p.name.clone(),
            detail: note.unwrap_or_default(),
        });
        self.save_correlation(&mut st).await;
        st.view(&cur, true, now)
            .ok_or_else(|| CoreError::NotFound(format!("incident '{id}' does not exist")))
    }

    /// The alerts held (`unresolved_only`: those no asset matched).
    pub async fn list_alerts(
        &self,
        p: &Principal,
        unresolved_only: bool,
        limit: usize,
    ) -> CoreResult<AlertList> {
        p.require(Permission::InventoryRead, "read alerts")?;
        let now = fleet_db::now_ms();
        let st = self.incidents_store().state.lock().await;
        let alerts = st
            .alerts
            .iter()
            .filter(|(_, r)| !unresolved_only || !r.matched)
            .take(limit)
            .map(|(fp, r)| st.view_alert(fp, r, now))
            .collect();
        Ok(AlertList {
            total: st.alerts.len(),
            firing: st
                .alerts
                .values()
                .filter(|r| r.ends_at.is_none_or(|e| e > now))
                .count(),
            unresolved: st.unresolved(),
            alerts,
        })
    }

    /// Re-reads the CMDB into the graph now (also done on a timer and when the CMDB changes).
    pub async fn refresh_correlation_graph(&self, p: &Principal) -> CoreResult<()> {
        p.require(Permission::AlertWrite, "refresh the correlation graph")?;
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        let events = self.ensure_graph(&mut st, true, now).await?;
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        self.save_correlation(&mut st).await;
        Ok(())
    }

    /// The periodic step of the correlation role: graph refresh when due, time-driven
    /// resolution, forgetting alerts long ended.
    pub async fn correlation_tick(&self) -> CoreResult<()> {
        let now = fleet_db::now_ms();
        let mut st = self.incidents_store().state.lock().await;
        // After a start, the saved alerts and incidents come back before anything else.
        self.load_correlation(&mut st).await?;
        if st.engine.is_none() && st.alerts.is_empty() {
            return Ok(());
        }
        let mut events = self.ensure_graph(&mut st, false, now).await?;
        events.extend(self.catch_up(&mut st, now));
        let after = self.incidents_store().settings.escalate_after;
        events.extend(st.escalate(after, now));
        self.write_events(&Actor::system(SYSTEM), None, events)
            .await?;
        self.save_correlation(&mut st).await;
        drop(st);
        self.remediate_automatically().await;
        self.follow_diagnoses().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_follow_alertmanager() {
        // The empty label set hashes to FNV-1a's offset basis, as in prometheus/common.
        assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
        let a = labels(&[("alertname", "NodeDown"), ("node", "n1")]);
        let b = labels(&[("node", "n1"), ("alertname", "NodeDown")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&labels(&[("alertname", "NodeDown"), ("node", "n2")]))
        );
        assert_eq!(fingerprint(&a).len(), 16);
    }

    #[test]
    fn hosts_lose_ports_and_schemes() {
        assert_eq!(host_of("node-01:9100"), "node-01");
        assert_eq!(host_of("https://10.0.0.5:443/redfish/v1"), "10.0.0.5");
        assert_eq!(host_of("[fe80::1]:9100"), "fe80::1");
        assert_eq!(host_of("fe80::1"), "fe80::1");
    }

    #[test]
    fn validation_names_the_problem() {
        let now = 1_000_000;
        let bad = |a: IncomingAlert| validate(a, now).err().unwrap();
        assert!(bad(IncomingAlert::default()).contains("at least one label"));
        assert!(bad(IncomingAlert {
            labels: labels(&[("9x", "v")]),
            ..Default::default()
        })
        .contains("'9x'"));
        assert!(bad(IncomingAlert {
            labels: labels(&[("a", "v")]),
            starts_at: Some("yesterday".into()),
            ..Default::default()
        })
        .contains("startsAt"));
        assert!(bad(IncomingAlert {
            labels: labels(&[("a", "v")]),
            starts_at: Some("2026-01-01T00:00:10Z".into()),
            ends_at: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .contains("before"));
        let ok = validate(
            IncomingAlert {
                labels: labels(&[("a", "v"), ("empty", "")]),
                ends_at: Some("0001-01-01T00:00:00Z".into()),
                status: Some("firing".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(ok.starts_at, now);
        assert_eq!(ok.ends_at, None);
        assert!(!ok.labels.contains_key("empty"));
    }
}
