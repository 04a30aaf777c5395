//! Throughput of the telemetry core on one thread: line-protocol parsing, conversion to GPU
//! batches, the health tracker and the alert evaluator (default rules), for a fleet of GPUs each
//! reporting 15 fields per round (default 80,000 GPUs = 10,000 nodes × 8).
//!
//! ```text
//! cargo run --release -p fleet-telemetry --example bench -- [gpus] [rounds]
//! ```
//!
//! Prints figures; asserts nothing about time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use fleet_telemetry::health::{HealthConfig, HealthTracker};
use fleet_telemetry::line_protocol::{parse_body, Limits, Precision};
use fleet_telemetry::rules::{default_rules, AlertEvaluator};
use fleet_telemetry::sample::{batches_from_points, Unmapped};
use fleet_telemetry::xid::XidCatalog;
use fleet_telemetry::SECOND;

const FIELDS: usize = 15;

fn body(gpus: usize, round: usize, t: i64) -> String {
    let mut s = String::with_capacity(gpus * 330);
    for g in 0..gpus {
        let node = g / 8;
        let idx = g % 8;
        let temp = 40 + (g + round) % 30;
        let _ = writeln!(
            s,
            "gpu,uuid=GPU-{g:08x}-0000-0000-0000-000000000000,node=node-{node:05},gpu={idx},pci_bus_id=00000000:{:02X}:00.0 \
gpu_temp={temp},memory_temp={},power_usage={}.5,sm_clock=1980i,mem_clock=2619i,gpu_util={},mem_copy_util={},\
fb_used={}i,fb_free={}i,xid=0i,ecc_sbe_vol_total={}i,ecc_dbe_vol_total=0i,pcie_replay_counter=0i,\
nvlink_crc_flit_errors=0i,clock_event_reasons=0i {t}",
            0x18 + idx * 0x20,
            temp + 5,
            300 + (g % 400),
            (g * 7 + round) % 100,
            (g * 3 + round) % 100,
            20_000 + g % 60_000,
            80_000 - (20_000 + g % 60_000),
            g % 3,
        );
    }
    s
}

fn rate(n: usize, secs: f64) -> String {
    let r = n as f64 / secs;
    if r >= 1e6 {
        format!("{:.2} M samples/s", r / 1e6)
    } else {
        format!("{:.0} k samples/s", r / 1e3)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let gpus: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(80_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let samples = gpus * FIELDS;
    println!("fleet-telemetry bench: {gpus} GPUs x {FIELDS} fields = {samples} samples per round, {rounds} rounds");

    let mut health = HealthTracker::new(HealthConfig::default(), XidCatalog::builtin());
    let mut alerts = AlertEvaluator::new(default_rules().expect("default rules parse"));
    let limits = Limits::default();
    let (mut t_parse, mut t_batch, mut t_health, mut t_alert, mut t_tick, mut t_atick) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut changes = 0usize;
    let mut transitions = 0usize;
    let mut bytes = 0usize;
    let ids: Vec<(String, String, BTreeMap<String, String>)> = (0..gpus)
        .map(|g| {
            let node = format!("node-{:05}", g / 8);
            let labels = [("node", node.as_str()), ("rack", "r1"), ("model", "H100")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (format!("gpu-{g:06}"), node, labels)
        })
        .collect();

    for round in 0..rounds {
        let t = 1_764_000_000 * SECOND + round as i64 * 30 * SECOND;
        let text = body(gpus, round, t);
        bytes = text.len();

        let start = Instant::now();
        let parsed = parse_body(text.as_bytes(), Precision::Ns, &limits);
        t_parse += start.elapsed().as_secs_f64();
        assert!(parsed.errors.is_empty(), "{:?}", &parsed.errors[..1]);

        let start = Instant::now();
        let mut unmapped = Unmapped::default();
        let batches = batches_from_points(&parsed.points, &mut unmapped);
        t_batch += start.elapsed().as_secs_f64();
        assert_eq!(batches.len(), gpus);

        let start = Instant::now();
        for (b, (id, node, _)) in batches.iter().zip(&ids) {
            changes += health.observe(id, Some(node), t, &b.values).len();
        }
        t_health += start.elapsed().as_secs_f64();

        let start = Instant::now();
        for (b, (id, _, labels)) in batches.iter().zip(&ids) {
            transitions += alerts.observe(id, labels, t, &b.values).len();
        }
        t_alert += start.elapsed().as_secs_f64();

        let start = Instant::now();
        changes += health.tick(t + SECOND).len();
        t_tick += start.elapsed().as_secs_f64();
        let start = Instant::now();
        transitions += alerts.tick(t + SECOND).len();
        t_atick += start.elapsed().as_secs_f64();
    }
    let total = samples * rounds;
    println!(
        "body: {:.1} MB per round ({} bytes/line)",
        bytes as f64 / 1e6,
        bytes / gpus
    );
    println!(
        "line protocol parse:      {} ({:.0} MB/s)",
        rate(total, t_parse),
        (bytes * rounds) as f64 / 1e6 / t_parse
    );
    println!("points -> GPU batches:    {}", rate(total, t_batch));
    println!(
        "health tracker observe:   {} ({:.2} s per round of {gpus} GPUs)",
        rate(total, t_health),
        t_health / rounds as f64
    );
    println!("alert evaluator observe:  {}", rate(total, t_alert));
    println!(
        "tick over {gpus} GPUs:     health {:.1} ms, alerts {:.1} ms",
        t_tick * 1e3 / rounds as f64,
        t_atick * 1e3 / rounds as f64
    );
    let all = t_parse + t_batch + t_health + t_alert;
    println!(
        "parse + batch + health + alerts: {} ({:.2} s of CPU per round; the fleet sends one round per 30 s at dcgm-exporter's default interval)",
        rate(total, all),
        all / rounds as f64
    );
    println!("health changes: {changes} (the first round: unknown -> healthy for every GPU and node), alert transitions: {transitions}");
}
