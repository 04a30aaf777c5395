//! Alert storm side by side, for `scripts/bench-alerts.sh`: one fleet and one storm with ground
//! truth, posted to gpufleet (`POST /api/v1/alerts`) and to Prometheus Alertmanager
//! (`POST /api/v2/alerts`) with label-based `group_by` configurations, each result scored against
//! the same truth with `fleet_correlate::score`.
//!
//! The fleet is laid out as the CMDB holds one (each PDU outlet feeds one node): racks of 40
//! nodes, two PDUs per rack (outlets 1-20 feed nodes 1-20 and 21-40), a leaf switch per rack with
//! one NIC per node cabled to it, a BMC and 8 GPUs per node (NVLink neighbours in
//! `nvlink_peers`). It is imported into gpufleet through `POST /api/v1/import` (YAML). The storm,
//! with labels as the usual exporters set them (`instance`, `job`, `rack`, dcgm-exporter's
//! `Hostname`/`gpu`/`UUID`):
//!
//! - PDUs dark: every node on the PDU raises BMCUnreachable, NodeDown and GpuTelemetryMissing;
//!   every other PDU announces itself first with PduDown; one rack loses both PDUs;
//! - leaf switches down: SwitchDown, NicLinkDown from each of its 40 nodes, and NcclTimeout from
//!   every rank of 5 jobs that each span 4 nodes under the switch and 4 nodes in a far rack;
//! - GPUs off the bus: XID 79, XID 74 on its NVLink neighbour, XID 45, its telemetry missing,
//!   and NcclTimeout from both ranks of its job (one rank on another node);
//! - noise up to `--alerts`: single alerts on distinct GPUs and nodes of the remaining racks
//!   (XID 13, GPU temperature, ECC single-bit, disk full), each a true incident of its own.
//!
//! Alertmanager is started once per `--group-by` row as a child process (`--alertmanager`), on a
//! free loopback port with its own storage and clustering off, with a webhook receiver served by
//! this program; its groups are read back from `/api/v2/alerts/groups` and from the
//! notifications. Prints a table; with `--json` also one JSON object. Figures only: nothing is
//! asserted, except that every alert is taken.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::extract::State;
use axum::routing::post;
use clap::Parser;
use fleet_core::correlation::fingerprint;
use fleet_correlate::{
    score::score, Affected, Belief, Incident, RootCause, Score, Severity, TrueIncident,
};
use parking_lot::Mutex;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(about = "Post one alert storm with ground truth to gpufleet and to Alertmanager")]
struct Args {
    /// Nodes in the fleet (racks of 40; at least 1,040 so that noise has racks of its own).
    #[arg(long, default_value_t = 1_600)]
    nodes: usize,
    /// Alerts in the storm (the faults take 807; noise fills up to this).
    #[arg(long, default_value_t = 1_500)]
    alerts: usize,
    /// Alerts per request, sent one request at a time.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// gpufleet's base URL (its CMDB must not hold this fleet yet); without it gpufleet is skipped.
    #[arg(long)]
    gpufleet: Option<String>,
    /// An operator or admin token of that gpufleet.
    #[arg(long, env = "GPUFLEET_TOKEN", default_value = "")]
    token: String,
    /// The Alertmanager binary; without it Alertmanager is skipped.
    #[arg(long)]
    alertmanager: Option<PathBuf>,
    /// One Alertmanager run per value: the route's `group_by`, comma-separated (`...`: every label).
    #[arg(long = "group-by", default_values_t = ["alertname,rack".to_string(), "alertname".to_string(), "rack".to_string(), "...".to_string()])]
    group_by: Vec<String>,
    /// Alertmanager's `group_wait` and `group_interval`, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    group_wait_ms: u64,
    #[arg(long, default_value_t = 2_000)]
    group_interval_ms: u64,
    /// Where Alertmanager's configuration, storage and log go, and the files of `--write`.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Also write the fleet (`fleet-*.yaml`, as imported), the storm (`storm.json`, as posted)
    /// and the truth (`truth.json`) into the work directory.
    #[arg(long)]
    write: bool,
    /// Also print the results as one JSON object (last line).
    #[arg(long)]
    json: bool,
}

const NODES_PER_RACK: usize = 40;
const NODES_PER_PDU: usize = 20;
const GPUS: usize = 8;
/// Racks the faults use; noise uses the racks after them.
const FAULT_RACKS: usize = 25;

fn rack_name(r: usize) -> String {
    format!("rack-{r:02}")
}
fn pdu_name(r: usize, p: usize) -> String {
    format!("{}-pdu-{}", rack_name(r), ["a", "b"][p])
}
fn leaf_name(r: usize) -> String {
    format!("{}-leaf", rack_name(r))
}
fn node_name(n: usize) -> String {
    format!("node-{n:04}")
}
fn gpu_name(n: usize, k: usize) -> String {
    format!("{}-gpu{k}", node_name(n))
}
fn gpu_uuid(n: usize, k: usize) -> String {
    format!("GPU-{n:08x}-6a1e-4c1b-9d2f-{k:012x}")
}
fn bmc_address(n: usize) -> String {
    format!("10.64.{}.{}", n / 200, n % 200 + 1)
}

/// The fleet as import documents: the racks with their PDUs and switches, then the nodes in
/// chunks (one request each keeps bodies small).
fn fleet_yaml(nodes: usize) -> anyhow::Result<Vec<String>> {
    let racks = nodes.div_ceil(NODES_PER_RACK);
    let mut head = json!({"racks": [], "pdus": [], "switches": []});
    for r in 0..racks {
        head["racks"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": rack_name(r)}));
        for p in 0..2 {
            head["pdus"].as_array_mut().unwrap().push(json!({
                "name": pdu_name(r, p), "rack": rack_name(r), "outlets": NODES_PER_PDU,
                "address": format!("{}.mgmt", pdu_name(r, p)),
            }));
        }
        head["switches"].as_array_mut().unwrap().push(json!({
            "name": leaf_name(r), "rack": rack_name(r), "ports": NODES_PER_RACK,
        }));
    }
    let mut docs = vec![serde_yaml::to_string(&head)?];
    let mut chunk = Vec::new();
    for n in 0..nodes {
        let (r, i) = (n / NODES_PER_RACK, n % NODES_PER_RACK);
        let gpus: Vec<Value> = (0..GPUS)
            .map(|k| {
                let mut peers = vec![];
                if k > 0 {
                    peers.push(gpu_uuid(n, k - 1));
                }
                if k + 1 < GPUS {
                    peers.push(gpu_uuid(n, k + 1));
                }
                json!({"name": gpu_name(n, k), "uuid": gpu_uuid(n, k), "index": k,
                       "model": "NVIDIA H100 80GB HBM3", "nvlink_peers": peers})
            })
            .collect();
        chunk.push(json!({
            "name": node_name(n), "rack": rack_name(r), "model": "HGX-H100",
            "serial": format!("SN{n:06}"),
            "bmc": {"address": bmc_address(n), "protocol": "redfish"},
            "power": {"pdu": pdu_name(r, i / NODES_PER_PDU), "outlet": i % NODES_PER_PDU + 1},
            "nics": [{"name": format!("{}-eth0", node_name(n)),
                      "mac": format!("0c:42:a1:00:{:02x}:{:02x}", n / 256, n % 256),
                      "switch": leaf_name(r), "port": format!("Ethernet{}", i + 1)}],
            "gpus": gpus,
        }));
        if chunk.len() == 200 || n + 1 == nodes {
            docs.push(serde_yaml::to_string(&json!({ "nodes": chunk }))?);
            chunk.clear();
        }
    }
    Ok(docs)
}

/// One alert of the storm.
struct StormAlert {
    labels: BTreeMap<String, String>,
    starts_at: i64,
    fingerprint: String,
}

impl StormAlert {
    fn postable(&self) -> Value {
        json!({
            "labels": self.labels,
            "annotations": {"summary": format!("{} (benchmark storm)", self.labels["alertname"])},
            "startsAt": fleet_db::rfc3339(self.starts_at),
            "generatorURL": "http://prometheus.bench:9090/graph",
        })
    }
}

struct Storm {
    alerts: Vec<StormAlert>,
    truth: Vec<TrueIncident>,
    /// Kind of each true incident (`pdu`, `switch`, `gpu`, `noise`).
    kinds: Vec<&'static str>,
}

struct Builder {
    base: i64,
    storm: Storm,
    open: Vec<StormAlert>,
}

impl Builder {
    /// An alert `at_ms` after the storm's base time.
    fn alert(&mut self, at_ms: i64, labels: &[(&str, String)]) {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.open.push(StormAlert {
            fingerprint: fingerprint(&labels),
            labels,
            starts_at: self.base + at_ms,
        });
    }

    /// Closes the alerts added since the last incident into one true incident.
    fn incident(&mut self, kind: &'static str, root: String, fault: Option<&str>) {
        let members = self.open.iter().map(|a| a.fingerprint.clone()).collect();
        self.storm.truth.push(TrueIncident {
            root_asset: root,
            fault: fault.map(str::to_string),
            members,
        });
        self.storm.kinds.push(kind);
        self.storm.alerts.append(&mut self.open);
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

/// A small deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn node_labels(n: usize, alertname: &str, job: &str, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("alertname", s(alertname)),
        ("instance", format!("{}:{port}", node_name(n))),
        ("job", s(job)),
        ("rack", rack_name(n / NODES_PER_RACK)),
        ("severity", s("critical")),
    ]
}

fn gpu_labels(n: usize, k: usize, alertname: &str) -> Vec<(&'static str, String)> {
    vec![
        ("alertname", s(alertname)),
        ("Hostname", node_name(n)),
        ("gpu", s(k)),
        ("UUID", gpu_uuid(n, k)),
        ("instance", format!("{}:9400", node_name(n))),
        ("job", s("dcgm-exporter")),
        ("rack", rack_name(n / NODES_PER_RACK)),
        ("severity", s("critical")),
    ]
}

fn nccl_labels(job: &str, on: usize, ranks: &[usize]) -> Vec<(&'static str, String)> {
    let nodes: Vec<String> = ranks.iter().map(|&n| node_name(n)).collect();
    vec![
        ("alertname", s("NcclTimeout")),
        ("job_id", s(job)),
        ("nodes", nodes.join(",")),
        ("instance", format!("{}:9100", node_name(on))),
        ("job", s("slurm-exporter")),
        ("rack", rack_name(on / NODES_PER_RACK)),
        ("severity", s("critical")),
    ]
}

fn storm(nodes: usize, total: usize, base: i64) -> Storm {
    let mut b = Builder {
        base,
        storm: Storm {
            alerts: vec![],
            truth: vec![],
            kinds: vec![],
        },
        open: vec![],
    };
    // PDUs dark: pdu-a of racks 0-3 and pdu-b of racks 0 and 2 (both PDUs of those racks, a
    // minute apart); every other one announces itself.
    let pdus = [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (2, 1)];
    for (j, &(r, p)) in pdus.iter().enumerate() {
        let at = j as i64 * 60_000;
        if j % 2 == 0 {
            b.alert(
                at,
                &[
                    ("alertname", s("PduDown")),
                    ("pdu", pdu_name(r, p)),
                    ("instance", format!("{}.mgmt", pdu_name(r, p))),
                    ("job", s("snmp-pdu")),
                    ("rack", rack_name(r)),
                    ("severity", s("critical")),
                ],
            );
        }
        for i in 0..NODES_PER_PDU {
            let n = r * NODES_PER_RACK + p * NODES_PER_PDU + i;
            let t = at + 2_000 + i as i64 * 500;
            let mut bmc = node_labels(n, "BMCUnreachable", "redfish-exporter", 443);
            bmc[1].1 = format!("{}:443", bmc_address(n));
            b.alert(t, &bmc);
            b.alert(
                t + 5_000,
                &node_labels(n, "NodeDown", "node-exporter", 9100),
            );
            b.alert(
                t + 60_000,
                &node_labels(n, "GpuTelemetryMissing", "dcgm-exporter", 9400),
            );
        }
        let fault = if j % 2 == 0 {
            "pdu_failed"
        } else {
            "pdu_power_lost"
        };
        b.incident("pdu", pdu_name(r, p), Some(fault));
    }
    // Leaf switches of racks 8-11 down; 5 jobs per switch, each with 4 ranks under it and 4 in
    // rack 12, every rank timing out.
    for (j, r) in (8..12).enumerate() {
        let at = 30_000 + j as i64 * 45_000;
        b.alert(
            at,
            &[
                ("alertname", s("SwitchDown")),
                ("switch", leaf_name(r)),
                ("instance", leaf_name(r)),
                ("job", s("snmp-switch")),
                ("rack", rack_name(r)),
                ("severity", s("critical")),
            ],
        );
        for i in 0..NODES_PER_RACK {
            let n = r * NODES_PER_RACK + i;
            let mut l = node_labels(n, "NicLinkDown", "node-exporter", 9100);
            l.push(("device", s("eth0")));
            b.alert(at + 1_000 + i as i64 * 100, &l);
        }
        for q in 0..5 {
            let mut ranks: Vec<usize> = (0..4).map(|k| r * NODES_PER_RACK + q * 4 + k).collect();
            ranks.extend((0..4).map(|k| 12 * NODES_PER_RACK + j * 4 + k));
            let job = format!("slurm-{r}{q:02}");
            for (k, &on) in ranks.iter().enumerate() {
                b.alert(at + 90_000 + k as i64 * 50, &nccl_labels(&job, on, &ranks));
            }
        }
        b.incident("switch", leaf_name(r), Some("switch_failed"));
    }
    // GPUs off the bus: GPU 2 of nodes 5 and 25 in racks 14-23, each with a job whose other rank
    // is on node 7 of the next rack.
    for i in 0..20usize {
        let r = 14 + i / 2;
        let n = r * NODES_PER_RACK + if i % 2 == 0 { 5 } else { 25 };
        let far = (r + 1) * NODES_PER_RACK + 7 + (i % 2) * 20;
        let at = 10_000 + i as i64 * 20_000;
        let xid = |b: &mut Builder, at: i64, k: usize, code: &str| {
            let mut l = gpu_labels(n, k, "GpuXid");
            l.push(("xid", s(code)));
            b.alert(at, &l);
        };
        xid(&mut b, at, 2, "79");
        xid(&mut b, at + 1_000, 3, "74");
        xid(&mut b, at + 3_000, 2, "45");
        b.alert(at + 30_000, &gpu_labels(n, 2, "GpuTelemetryMissing"));
        let job = format!("slurm-g{i:02}");
        b.alert(at + 60_000, &nccl_labels(&job, n, &[n, far]));
        b.alert(at + 60_100, &nccl_labels(&job, far, &[n, far]));
        b.incident("gpu", gpu_name(n, 2), Some("gpu_fallen_off_bus"));
    }
    // Noise on the racks after the faults' racks.
    let mut rng = Lcg(7);
    let first = FAULT_RACKS * NODES_PER_RACK;
    let mut used = BTreeSet::new();
    while b.storm.alerts.len() < total && first < nodes && used.len() < (nodes - first) * GPUS {
        let n = first + rng.next(nodes - first);
        let k = rng.next(GPUS);
        let at = rng.next(600) as i64 * 1_000;
        let what = rng.next(4);
        let key = if what == 3 {
            node_name(n)
        } else {
            gpu_name(n, k)
        };
        if !used.insert(key.clone()) {
            continue;
        }
        match what {
            0 => {
                let mut l = gpu_labels(n, k, "GpuXid");
                l.push(("xid", s("13")));
                b.alert(at, &l);
            }
            1 => {
                let mut l = gpu_labels(n, k, "GpuTemperatureHigh");
                l[7].1 = s("warning");
                b.alert(at, &l);
            }
            2 => {
                let mut l = gpu_labels(n, k, "GpuEccSbe");
                l[7].1 = s("warning");
                b.alert(at, &l);
            }
            _ => {
                let mut l = node_labels(n, "DiskFull", "node-exporter", 9100);
                l.push(("mountpoint", s("/scratch")));
                l[4].1 = s("warning");
                b.alert(at, &l);
            }
        }
        b.incident("noise", key, None);
    }
    let mut st = b.storm;
    st.alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    st
}

/// A produced group of alerts as the scorer takes it.
fn group(id: String, members: Vec<String>, root: Option<(String, String)>) -> Incident {
    let (asset, fault) = match root {
        Some((a, f)) => (Some(a), f),
        None => (None, String::new()),
    };
    Incident {
        id,
        rule: None,
        root_cause: RootCause {
            asset_id: asset.clone(),
            asset_name: asset,
            kind: None,
            fault,
            belief: Belief::Alone,
            confidence: 0.0,
            evidence: vec![],
        },
        members,
        affected: Affected::default(),
        severity: Severity::Critical,
        started_at: 0,
        last_alert_at: 0,
        resolved: false,
        blast_radius: 0,
        priority: 0.0,
        actions: vec![],
    }
}

/// One row of the table.
#[derive(serde::Serialize)]
struct Row {
    system: String,
    alerts_per_sec: f64,
    ingest_secs: f64,
    groups: usize,
    /// Notifications (Alertmanager) or incident events (gpufleet).
    notifications: usize,
    notes: Vec<String>,
    score: Score,
    /// Exact matches per kind of true incident.
    exact_by_kind: BTreeMap<String, usize>,
    /// Whether some produced group holds two alerts of the truth (else precision has no pair
    /// to judge).
    has_pairs: bool,
    root_cause_scored: bool,
}

fn has_pairs(produced: &[Incident]) -> bool {
    produced.iter().any(|i| i.members.len() > 1)
}

fn exact_by_kind(storm: &Storm, produced: &[Incident]) -> BTreeMap<String, usize> {
    let sets: BTreeSet<BTreeSet<&str>> = produced
        .iter()
        .map(|i| i.members.iter().map(String::as_str).collect())
        .collect();
    let mut out = BTreeMap::new();
    for (t, kind) in storm.truth.iter().zip(&storm.kinds) {
        let want: BTreeSet<&str> = t.members.iter().map(String::as_str).collect();
        let e = out.entry(kind.to_string()).or_insert(0);
        if sets.contains(&want) {
            *e += 1;
        }
    }
    out
}

async fn post_batches(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    batches: &[Value],
) -> anyhow::Result<(f64, Vec<Value>)> {
    let mut answers = Vec::new();
    let t = Instant::now();
    for body in batches {
        let mut req = http.post(url).json(body);
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        let r = req.send().await.with_context(|| format!("POST {url}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("POST {url} answered {status}: {text}");
        }
        answers.push(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    Ok((t.elapsed().as_secs_f64(), answers))
}

async fn get_json(http: &reqwest::Client, url: &str, token: Option<&str>) -> anyhow::Result<Value> {
    let mut req = http.get(url);
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    let r = req.send().await.with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

async fn run_gpufleet(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    fleet: &[String],
    storm: &Storm,
    batches: &[Value],
) -> anyhow::Result<Row> {
    let t = Instant::now();
    let mut assets = 0u64;
    for doc in fleet {
        let r = http
            .post(format!("{base}/api/v1/import?format=yaml"))
            .bearer_auth(token)
            .header("content-type", "application/yaml")
            .body(doc.clone())
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("import answered {status}: {v}");
        }
        assets += v["created"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, n)| n.as_u64())
            .sum::<u64>();
    }
    let import_s = t.elapsed().as_secs_f64();
    // The first request builds the correlation graph from the CMDB; an empty one does only that.
    let t = Instant::now();
    post_batches(
        http,
        &format!("{base}/api/v1/alerts"),
        Some(token),
        &[json!([])],
    )
    .await?;
    let graph_s = t.elapsed().as_secs_f64();
    let (secs, answers) =
        post_batches(http, &format!("{base}/api/v1/alerts"), Some(token), batches).await?;
    let accepted: u64 = answers.iter().filter_map(|a| a["accepted"].as_u64()).sum();
    let unresolved: u64 = answers
        .iter()
        .filter_map(|a| a["unresolved"].as_u64())
        .sum();
    if accepted != storm.alerts.len() as u64 {
        bail!("gpufleet took {accepted} of {} alerts", storm.alerts.len());
    }
    let alerts = get_json(
        http,
        &format!("{base}/api/v1/alerts?limit=100000"),
        Some(token),
    )
    .await?;
    let incidents = get_json(
        http,
        &format!("{base}/api/v1/incidents?limit=10000"),
        Some(token),
    )
    .await?;
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in alerts["alerts"].as_array().into_iter().flatten() {
        if let (Some(fp), Some(inc)) = (a["fingerprint"].as_str(), a["incident"].as_str()) {
            members
                .entry(inc.to_string())
                .or_default()
                .push(fp.to_string());
        }
    }
    let mut produced = Vec::new();
    for i in incidents.as_array().into_iter().flatten() {
        let id = i["id"].as_str().unwrap_or_default().to_string();
        let rc = &i["root_cause"];
        let root = rc["asset_name"].as_str().map(|n| {
            (
                n.to_string(),
                rc["fault"].as_str().unwrap_or("").to_string(),
            )
        });
        let mut m = members.remove(&id).unwrap_or_default();
        m.sort();
        produced.push(group(id, m, root));
    }
    // Incident events: what a consumer of gpufleet's feed is told, as notifications are to
    // Alertmanager's receivers.
    let mut events = 0usize;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!(
            "{base}/api/v1/events?type=IncidentOpened,IncidentUpdated,IncidentResolved&limit=1000"
        );
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get_json(http, &url, Some(token)).await?;
        for e in page["items"].as_array().into_iter().flatten() {
            events += 1;
            let ty = e["type"].as_str().unwrap_or("?");
            let short = ty
                .trim_start_matches("io.gpufleet.incident.")
                .trim_end_matches(".v1");
            *kinds.entry(short.to_string()).or_insert(0) += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    let sc = score(&produced, &storm.truth);
    let by_kind = exact_by_kind(storm, &produced);
    let kinds_text: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    Ok(Row {
        system: "gpufleet (causal rules over the CMDB)".into(),
        alerts_per_sec: storm.alerts.len() as f64 / secs,
        ingest_secs: secs,
        groups: produced.len(),
        notifications: events,
        notes: vec![
            format!(
                "fleet imported through /api/v1/import in {import_s:.1} s ({assets} assets); \
                 correlation graph built from the CMDB in {graph_s:.2} s before the storm"
            ),
            format!("{unresolved} alerts matched no CMDB asset"),
            format!("incident events: {}", kinds_text.join(", ")),
        ],
        score: sc,
        exact_by_kind: by_kind,
        has_pairs: has_pairs(&produced),
        root_cause_scored: true,
    })
}

/// What the webhook receiver heard: (row, group key, fingerprints of the firing alerts).
type Heard = Arc<Mutex<Vec<(String, String, Vec<String>, Instant)>>>;

async fn notify(
    State(heard): State<Heard>,
    axum::extract::Path(row): axum::extract::Path<String>,
    axum::Json(v): axum::Json<Value>,
) -> &'static str {
    let key = v["groupKey"].as_str().unwrap_or_default().to_string();
    let fps: Vec<String> = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["status"].as_str() != Some("resolved"))
        .map(|a| labels_fingerprint(&a["labels"]))
        .collect();
    heard.lock().push((row, key, fps, Instant::now()));
    "ok"
}

fn labels_fingerprint(v: &Value) -> String {
    let labels: BTreeMap<String, String> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    fingerprint(&labels)
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn am_version(bin: &Path) -> String {
    std::process::Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines()
                .next()
                .and_then(|l| l.split("version ").nth(1))
                .and_then(|v| v.split_whitespace().next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}

#[allow(clippy::too_many_arguments)]
async fn run_alertmanager(
    http: &reqwest::Client,
    bin: &Path,
    version: &str,
    work: &Path,
    row: usize,
    group_by: &str,
    args: &Args,
    hook: SocketAddr,
    heard: &Heard,
    storm: &Storm,
    batches: &[Value],
) -> anyhow::Result<Row> {
    let dir = work.join(format!("alertmanager-{row}"));
    std::fs::create_dir_all(dir.join("data"))?;
    let labels: Vec<String> = group_by
        .split(',')
        .map(|l| format!("'{}'", l.trim()))
        .collect();
    let config = format!(
        "# written by gpufleet-alert-bench\n\
         global:\n  resolve_timeout: 1h\n\
         route:\n  receiver: bench\n  group_by: [{}]\n  group_wait: {}ms\n  group_interval: {}ms\n  repeat_interval: 4h\n\
         receivers:\n  - name: bench\n    webhook_configs:\n      - url: http://{hook}/notify/{row}\n        send_resolved: false\n",
        labels.join(", "),
        args.group_wait_ms,
        args.group_interval_ms
    );
    std::fs::write(dir.join("alertmanager.yml"), &config)?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("alertmanager.log"))?;
    let mut child = tokio::process::Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let ready = async {
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{base}/-/ready")).send().await {
                if r.status().is_success() {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    if !ready.await {
        let _ = child.kill().await;
        bail!(
            "Alertmanager did not become ready in 30 s (log: {})",
            dir.join("alertmanager.log").display()
        );
    }
    let row_key = row.to_string();
    let (secs, _) = post_batches(http, &format!("{base}/api/v2/alerts"), None, batches).await?;
    let posted = Instant::now();
    // Waits until the notifications stop: past group_wait and group_interval, then quiet for two
    // more intervals (at most 120 s).
    let quiet = Duration::from_millis(2 * args.group_interval_ms + 500);
    let settle = Duration::from_millis(args.group_wait_ms + args.group_interval_ms + 500);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let last = heard
            .lock()
            .iter()
            .filter(|h| h.0 == row_key)
            .map(|h| h.3)
            .max();
        let since_last = last.map_or(posted.elapsed(), |t| t.elapsed());
        if posted.elapsed() >= settle && since_last >= quiet {
            break;
        }
        if posted.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    let groups = get_json(http, &format!("{base}/api/v2/alerts/groups"), None).await?;
    let _ = child.kill().await;
    let mut produced = Vec::new();
    let mut am_fps_agree = true;
    let mut held = 0usize;
    for (i, g) in groups.as_array().into_iter().flatten().enumerate() {
        let mut m: Vec<String> = Vec::new();
        for a in g["alerts"].as_array().into_iter().flatten() {
            let fp = labels_fingerprint(&a["labels"]);
            if a["fingerprint"].as_str() != Some(fp.as_str()) {
                am_fps_agree = false;
            }
            m.push(fp);
        }
        held += m.len();
        m.sort();
        produced.push(group(format!("am-group-{i}"), m, None));
    }
    // The groups as the receiver saw them: the last notification of each group key.
    let (notifications, notified): (usize, BTreeMap<String, Vec<String>>) = {
        let h = heard.lock();
        let mine: Vec<_> = h.iter().filter(|x| x.0 == row_key).collect();
        let mut last = BTreeMap::new();
        for x in &mine {
            let mut fps = x.2.clone();
            fps.sort();
            last.insert(x.1.clone(), fps);
        }
        (mine.len(), last)
    };
    let api_sets: BTreeSet<&Vec<String>> = produced.iter().map(|g| &g.members).collect();
    let notified_sets: BTreeSet<&Vec<String>> = notified.values().collect();
    let sc = score(&produced, &storm.truth);
    let by_kind = exact_by_kind(storm, &produced);
    let shown = if group_by.trim() == "..." {
        "['...'] (every label)".to_string()
    } else {
        format!("[{}]", labels.join(", "))
    };
    Ok(Row {
        system: format!("Alertmanager {version}, group_by {shown}"),
        alerts_per_sec: storm.alerts.len() as f64 / secs,
        ingest_secs: secs,
        groups: produced.len(),
        notifications,
        notes: vec![
            format!(
                "{held} alerts held in {} groups; {} group keys notified; the last notifications \
                 hold the same groups as /api/v2/alerts/groups: {}; Alertmanager's fingerprints \
                 equal gpufleet's: {}",
                produced.len(),
                notified.len(),
                if api_sets == notified_sets { "yes" } else { "no" },
                if am_fps_agree { "yes" } else { "no" }
            ),
            format!(
                "group_wait {} ms, group_interval {} ms; notifications settled {:.1} s after the last post",
                args.group_wait_ms,
                args.group_interval_ms,
                {
                    let h = heard.lock();
                    h.iter()
                        .filter(|x| x.0 == row_key)
                        .map(|x| x.3.saturating_duration_since(posted).as_secs_f64())
                        .fold(0.0, f64::max)
                }
            ),
        ],
        score: sc,
        exact_by_kind: by_kind,
        has_pairs: has_pairs(&produced),
        root_cause_scored: false,
    })
}

fn thousands(n: f64) -> String {
    let v = n.round() as i64;
    let digits = v.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.nodes < (FAULT_RACKS + 1) * NODES_PER_RACK {
        bail!(
            "--nodes must be at least {} (the faults use {FAULT_RACKS} racks of {NODES_PER_RACK}; noise needs more)",
            (FAULT_RACKS + 1) * NODES_PER_RACK
        );
    }
    let work = match &args.work {
        Some(w) => w.clone(),
        None => std::env::temp_dir().join(format!("gpufleet-alert-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    // The storm's alerts started over the last 20 minutes (Alertmanager and gpufleet both keep
    // firing alerts by start time; neither replays in real time here).
    let base = fleet_db::now_ms() - 20 * 60_000;
    let fleet = fleet_yaml(args.nodes)?;
    let st = storm(args.nodes, args.alerts, base);
    let batches: Vec<Value> = st
        .alerts
        .chunks(args.batch.max(1))
        .map(|c| Value::Array(c.iter().map(StormAlert::postable).collect()))
        .collect();
    if args.write {
        for (i, doc) in fleet.iter().enumerate() {
            std::fs::write(work.join(format!("fleet-{i:02}.yaml")), doc)?;
        }
        let all: Vec<Value> = st.alerts.iter().map(StormAlert::postable).collect();
        std::fs::write(work.join("storm.json"), serde_json::to_vec_pretty(&all)?)?;
        let truth: Vec<Value> = st
            .truth
            .iter()
            .zip(&st.kinds)
            .map(|(t, k)| json!({"kind": k, "root_asset": t.root_asset, "fault": t.fault, "members": t.members}))
            .collect();
        std::fs::write(work.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    }
    let mut kinds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (t, k) in st.truth.iter().zip(&st.kinds) {
        let e = kinds.entry(k).or_insert((0, 0));
        e.0 += 1;
        e.1 += t.members.len();
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut rows = Vec::new();
    if let Some(url) = &args.gpufleet {
        eprintln!("alert-bench: gpufleet at {url}");
        rows.push(
            run_gpufleet(
                &http,
                url.trim_end_matches('/'),
                &args.token,
                &fleet,
                &st,
                &batches,
            )
            .await?,
        );
    }
    if let Some(bin) = &args.alertmanager {
        let heard: Heard = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let hook = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/notify/{row}", post(notify))
            .with_state(heard.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let version = am_version(bin);
        for (i, gb) in args.group_by.iter().enumerate() {
            eprintln!("alert-bench: Alertmanager {version}, group_by [{gb}]");
            rows.push(
                run_alertmanager(
                    &http, bin, &version, &work, i, gb, &args, hook, &heard, &st, &batches,
                )
                .await?,
            );
        }
        server.abort();
    }

    let true_n = st.truth.len();
    println!(
        "Alert storm side by side: {} nodes ({} racks, {} GPUs), {} alerts in {} true incidents",
        args.nodes,
        args.nodes.div_ceil(NODES_PER_RACK),
        args.nodes * GPUS,
        st.alerts.len(),
        true_n
    );
    let kind_names = [
        ("pdu", "PDU dark"),
        ("switch", "leaf switch down"),
        ("gpu", "GPU off the bus"),
        ("noise", "lone alert (noise)"),
    ];
    let parts: Vec<String> = kind_names
        .iter()
        .filter_map(|(k, name)| {
            kinds
                .get(k)
                .map(|(n, a)| format!("{n} {name} ({a} alerts)"))
        })
        .collect();
    println!("  truth: {}", parts.join(", "));
    println!(
        "  posted in requests of {} alerts, one at a time, by one client; machine: {} cores shared by all processes",
        args.batch,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!();
    println!(
        "| {:<52} | {:>9} | {:>9} | {:>13} | {:>13} | {:>9} | {:>9} | {:>10} |",
        "system",
        "alerts/s",
        "groups",
        "notifications",
        "exact groups",
        "pair prec",
        "pair rec",
        "root cause"
    );
    println!(
        "|{:-<54}|{:->11}|{:->11}|{:->15}|{:->15}|{:->11}|{:->11}|{:->12}|",
        "", ":", ":", ":", ":", ":", ":", ":"
    );
    for r in &rows {
        println!(
            "| {:<52} | {:>9} | {:>9} | {:>13} | {:>13} | {:>9} | {:>9.3} | {:>10} |",
            r.system,
            thousands(r.alerts_per_sec),
            thousands(r.groups as f64),
            thousands(r.notifications as f64),
            format!(
                "{} / {}",
                thousands(r.score.exact as f64),
                thousands(true_n as f64)
            ),
            if r.has_pairs {
                format!("{:.3}", r.score.pairwise_precision)
            } else {
                "n/a".to_string()
            },
            r.score.pairwise_recall,
            if r.root_cause_scored {
                format!("{:.3}", r.score.root_cause_accuracy)
            } else {
                "n/a".to_string()
            }
        );
    }
    println!();
    println!("  exact groups by kind of true incident:");
    for r in &rows {
        let parts: Vec<String> = kind_names
            .iter()
            .filter_map(|(k, name)| {
                kinds.get(k).map(|(n, _)| {
                    format!(
                        "{name} {}/{n}",
                        r.exact_by_kind.get(*k).copied().unwrap_or(0)
                    )
                })
            })
            .collect();
        println!("    {:<52}  {}", r.system, parts.join(", "));
    }
    println!();
    for r in &rows {
        println!(
            "  {}: {} alerts in {:.3} s",
            r.system,
            st.alerts.len(),
            r.ingest_secs
        );
        for n in &r.notes {
            println!("    {n}");
        }
        if r.root_cause_scored {
            for m in r.score.misses.iter().take(3) {
                println!("    miss: {m}");
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&rows)?);
    }
    Ok(())
}
