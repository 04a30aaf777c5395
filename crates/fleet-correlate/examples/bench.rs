//! Correlation benchmark: a 5,000-alert storm (PDU feeds lost, announced and not, leaf switches
//! down with job-wide NCCL timeouts, GPUs off the bus, noise) over a 10,000-node hall.
//! Prints ingest throughput, the time from the storm's last alert to its final incidents, and the
//! scores against the storm's truth. Figures only; nothing is asserted.
//!
//! `cargo run --release -p fleet-correlate --example bench [-- NODES ALERTS]`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use fleet_correlate::score::score;
use fleet_correlate::{
    correlate, Alert, AssetKind, Engine, Graph, Millis, Relation, RuleSet, TrueIncident, XidCatalog,
};

const NODES_PER_RACK: usize = 40;
const NODES_PER_FEED: usize = 10;
const RACKS_PER_CDU: usize = 10;
const T0: Millis = 1_800_000_000_000;

fn hall(nodes: usize) -> Result<Graph, Box<dyn std::error::Error>> {
    let mut g = Graph::new();
    let racks = nodes.div_ceil(NODES_PER_RACK);
    for r in 0..racks {
        let rack = format!("r{r}");
        g.add(&rack, AssetKind::Rack);
        let cdu = format!("cdu{}", r / RACKS_PER_CDU);
        if g.asset(&cdu).is_none() {
            g.add(&cdu, AssetKind::Cdu);
        }
        g.add_edge(&rack, Relation::CooledBy, &cdu)?;
        for p in 0..2 {
            let pdu = format!("{rack}-pdu{p}");
            g.add(&pdu, AssetKind::Pdu);
            g.add_edge(&rack, Relation::Contains, &pdu)?;
            for f in 0..2 {
                let feed = format!("{pdu}-f{f}");
                g.add(&feed, AssetKind::Outlet);
                g.add_edge(&pdu, Relation::Contains, &feed)?;
            }
        }
        let sw = format!("{rack}-sw");
        g.add(&sw, AssetKind::Switch);
        g.add_edge(&rack, Relation::Contains, &sw)?;
        for i in 0..NODES_PER_RACK {
            let n = r * NODES_PER_RACK + i;
            if n >= nodes {
                break;
            }
            let node = format!("n{n}");
            g.add(&node, AssetKind::Node);
            g.add_edge(&rack, Relation::Contains, &node)?;
            let feed_no = i / NODES_PER_FEED;
            g.add_edge(
                &node,
                Relation::PoweredBy,
                &format!("{rack}-pdu{}-f{}", feed_no / 2, feed_no % 2),
            )?;
            let port = format!("{sw}-p{i}");
            g.add(&port, AssetKind::SwitchPort);
            g.add_edge(&sw, Relation::Contains, &port)?;
            let nic = format!("{node}-nic");
            g.add(&nic, AssetKind::Nic);
            g.add_edge(&node, Relation::Contains, &nic)?;
            g.add_edge(&nic, Relation::ConnectedTo, &port)?;
            let bmc = format!("{node}-bmc");
            g.add(&bmc, AssetKind::Bmc);
            g.add_edge(&node, Relation::Contains, &bmc)?;
            for k in 0..8 {
                let gpu = format!("{node}-g{k}");
                g.add(&gpu, AssetKind::Gpu);
                g.add_edge(&node, Relation::Contains, &gpu)?;
                if k > 0 {
                    g.add_edge(&format!("{node}-g{}", k - 1), Relation::Nvlink, &gpu)?;
                }
            }
        }
    }
    Ok(g)
}

struct Storm {
    alerts: Vec<Alert>,
    truth: Vec<TrueIncident>,
}

fn mk(fp: String, name: &str, asset: &str, at: Millis, extra: &[(&str, String)]) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), name.to_string());
    labels.insert("severity".to_string(), "critical".to_string());
    for (k, v) in extra {
        labels.insert(k.to_string(), v.clone());
    }
    Alert::from_labels(fp, labels, at, Some(asset.to_string()))
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

fn storm(nodes: usize, total: usize) -> Storm {
    let racks = nodes / NODES_PER_RACK;
    let mut alerts = Vec::new();
    let mut truth = Vec::new();
    let mut rng = Lcg(7);
    let mut group = |alerts: &mut Vec<Alert>, root: String, fault: &str, a: Vec<Alert>| {
        truth.push(TrueIncident {
            root_asset: root,
            fault: Some(fault.to_string()),
            members: a
                .iter()
                .map(|x| x.fingerprint.clone())
                .collect::<BTreeSet<_>>(),
        });
        alerts.extend(a);
    };
    // 20 feeds dark (every other one unannounced): racks 0..10, feeds 0 and 3.
    for r in 0..10.min(racks) {
        for (j, f) in [(0usize, "pdu0-f0"), (3, "pdu1-f1")] {
            let feed = format!("r{r}-{f}");
            let at = T0 + (r as Millis) * 7_000;
            let mut a = Vec::new();
            if (r + j) % 2 == 0 {
                a.push(mk(format!("feed-{feed}"), "PduFeedLost", &feed, at, &[]));
            }
            for i in 0..NODES_PER_FEED {
                let n = format!("n{}", r * NODES_PER_RACK + j * NODES_PER_FEED + i);
                let t = at + 2_000 + i as Millis * 500;
                a.push(mk(format!("down-{n}"), "NodeDown", &n, t, &[]));
                a.push(mk(
                    format!("bmc-{n}"),
                    "BmcUnreachable",
                    &format!("{n}-bmc"),
                    t + 5_000,
                    &[],
                ));
                for k in 0..8 {
                    a.push(mk(
                        format!("tel-{n}-{k}"),
                        "GpuTelemetryMissing",
                        &format!("{n}-g{k}"),
                        t + 60_000,
                        &[],
                    ));
                }
            }
            group(&mut alerts, feed, "power_feed_lost", a);
        }
    }
    // 10 leaf switches down (racks 100..110); 10 jobs each spanning 4 nodes under the switch and
    // 4 far nodes (rack 150), every rank timing out.
    for r in 100..110.min(racks) {
        let sw = format!("r{r}-sw");
        let at = T0 + 30_000 + (r as Millis) * 1_000;
        let mut a = vec![mk(format!("swdown-{sw}"), "SwitchDown", &sw, at, &[])];
        for i in 0..NODES_PER_RACK {
            let n = format!("n{}", r * NODES_PER_RACK + i);
            a.push(mk(
                format!("link-{n}"),
                "NicLinkDown",
                &n,
                at + 1_000 + i as Millis * 100,
                &[],
            ));
        }
        for j in 0..10 {
            let mut ranks: Vec<String> = (0..4)
                .map(|k| format!("n{}", r * NODES_PER_RACK + j * 4 + k))
                .collect();
            ranks.extend((0..4).map(|k| format!("n{}", 150 * NODES_PER_RACK + (r - 100) * 4 + k)));
            let job = format!("job-{r}-{j}");
            for (k, on) in ranks.iter().enumerate() {
                a.push(mk(
                    format!("nccl-{job}-{k}"),
                    "NcclTimeout",
                    on,
                    at + 90_000 + k as Millis * 50,
                    &[("job_id", job.clone()), ("nodes", ranks.join(","))],
                ));
            }
        }
        group(&mut alerts, sw, "switch_failed", a);
    }
    // 50 GPUs off the bus (racks 160..210), each with XID 45 and its job's timeouts.
    for i in 0..50usize {
        let r = 160 + i;
        if r >= racks {
            break;
        }
        let node = format!("n{}", r * NODES_PER_RACK + 5);
        let gpu = format!("{node}-g2");
        let far = format!("n{}", (r + 1) * NODES_PER_RACK + 7);
        let at = T0 + 10_000 + i as Millis * 3_000;
        let job = format!("jb-{i}");
        let ranks = format!("{node},{far}");
        let a = vec![
            mk(
                format!("x79-{gpu}"),
                "GpuXid",
                &gpu,
                at,
                &[("xid", "79".into())],
            ),
            mk(
                format!("x45-{gpu}"),
                "GpuXid",
                &gpu,
                at + 3_000,
                &[("xid", "45".into())],
            ),
            mk(
                format!("nccl-{job}-a"),
                "NcclTimeout",
                &node,
                at + 60_000,
                &[("job_id", job.clone()), ("nodes", ranks.clone())],
            ),
            mk(
                format!("nccl-{job}-b"),
                "NcclTimeout",
                &far,
                at + 60_100,
                &[("job_id", job.clone()), ("nodes", ranks.clone())],
            ),
            mk(
                format!("tel-{gpu}"),
                "GpuTelemetryMissing",
                &gpu,
                at + 30_000,
                &[],
            ),
            mk(
                format!("x74-{gpu}"),
                "GpuXid",
                &format!("{node}-g3"),
                at + 1_000,
                &[("xid", "74".into())],
            ),
        ];
        group(&mut alerts, gpu, "gpu_fallen_off_bus", a);
    }
    // Noise up to the total: single alerts on distinct GPUs and nodes of racks 215 and up.
    let kinds = [
        ("GpuXid", Some("13")),
        ("GpuTemperatureHigh", None),
        ("GpuEccSbe", None),
        ("DiskFull", None),
    ];
    let mut used = BTreeSet::new();
    let noise_first = 215 * NODES_PER_RACK;
    let mut i = 0;
    while alerts.len() < total && noise_first < nodes {
        let n = noise_first + rng.next(nodes - noise_first);
        let (name, xid) = kinds[rng.next(kinds.len())];
        let asset = if name == "DiskFull" {
            format!("n{n}")
        } else {
            format!("n{n}-g{}", rng.next(8))
        };
        if !used.insert(asset.clone()) {
            continue;
        }
        let extra: Vec<(&str, String)> = xid.map(|x| ("xid", x.to_string())).into_iter().collect();
        let a = mk(
            format!("noise-{i}"),
            name,
            &asset,
            T0 + rng.next(300) as Millis * 1_000,
            &extra,
        );
        truth.push(TrueIncident {
            root_asset: asset,
            fault: None,
            members: BTreeSet::from([a.fingerprint.clone()]),
        });
        alerts.push(a);
        i += 1;
    }
    alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    Storm { alerts, truth }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(10_000);
    let total = args.get(1).copied().unwrap_or(5_000);

    let t = Instant::now();
    let graph = hall(nodes)?;
    println!(
        "graph: {} nodes, {} assets, built in {:.0} ms",
        nodes,
        graph.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let s = storm(nodes, total);
    let last_at = s.alerts.last().map(|a| a.starts_at).unwrap_or(T0);
    println!(
        "storm: {} alerts, {} true incidents",
        s.alerts.len(),
        s.truth.len()
    );

    // Incremental: one alert at a time, as they would arrive, changes built for each.
    let mut engine = Engine::with_defaults(graph.clone())?;
    let t = Instant::now();
    let mut changes = 0usize;
    let mut last_call = 0.0;
    for a in &s.alerts {
        let one = Instant::now();
        changes += engine.ingest(a.clone(), a.starts_at).len();
        last_call = one.elapsed().as_secs_f64();
    }
    let ingest_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let incidents = engine.incidents(last_at);
    let read_s = t.elapsed().as_secs_f64();
    println!(
        "incremental: {:.0} alerts/s ({:.1} ms for {} alerts, {} incident changes)",
        s.alerts.len() as f64 / ingest_s,
        ingest_s * 1e3,
        s.alerts.len(),
        changes
    );
    println!(
        "last alert to final incidents: {:.3} ms (its ingest) + {:.3} ms (reading all {} incidents)",
        last_call * 1e3,
        read_s * 1e3,
        incidents.len()
    );

    // Batch, in shuffled order.
    let mut shuffled = s.alerts.clone();
    let mut rng = Lcg(99);
    for i in (1..shuffled.len()).rev() {
        let j = rng.next(i + 1);
        shuffled.swap(i, j);
    }
    let t = Instant::now();
    let batch = correlate(
        graph,
        RuleSet::default_rules()?,
        XidCatalog::builtin(),
        shuffled,
        last_at,
    );
    println!(
        "batch (shuffled input): {:.1} ms, same incidents as incremental: {}",
        t.elapsed().as_secs_f64() * 1e3,
        batch == incidents
    );

    let sc = score(&incidents, &s.truth);
    println!(
        "score: exact-incident {:.3}, pairwise precision {:.3} recall {:.3}, root-cause {:.3} ({} true, {} produced)",
        sc.exact_incident_rate,
        sc.pairwise_precision,
        sc.pairwise_recall,
        sc.root_cause_accuracy,
        sc.true_incidents,
        sc.produced_incidents
    );
    for m in sc.misses.iter().take(5) {
        println!("  miss: {m}");
    }
    Ok(())
}
