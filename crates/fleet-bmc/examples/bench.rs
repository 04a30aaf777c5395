//! Bulk power-cycle benchmark: starts the fleet simulator with N nodes, power-cycles every node
//! over Redfish (and the first M over IPMI) with a concurrency limit, waits until each is on
//! again, and prints wall time, per-node latency and peak memory. Prints figures; asserts nothing.
//!
//!     cargo run --release -p fleet-bmc --example bench -- [REDFISH_NODES] [IPMI_NODES] [CONCURRENCY]
//!
//! Defaults: 1000 Redfish nodes, 200 IPMI nodes, 200 at a time. Needs scripts/python-env.sh.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_bmc::ipmi::IpmiClient;
use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::{wait_power_cycle, Endpoint, OutOfBand, PowerAction};
use tokio::sync::Semaphore;

fn vm_hwm_kib(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

fn vm_rss_kib(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

struct Outcome {
    ok: usize,
    failed: usize,
    wall: Duration,
    lat: Vec<Duration>,
    first_error: Option<String>,
}

async fn run(clients: Vec<Arc<dyn OutOfBand>>, concurrency: usize) -> Outcome {
    let sem = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in clients {
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await.unwrap();
            let t = Instant::now();
            let r = async {
                c.power(PowerAction::Cycle).await?;
                wait_power_cycle(c.as_ref(), Duration::from_secs(60)).await
            };
            let r = fleet_bmc::with_deadline(c.endpoint(), Duration::from_secs(90), r).await;
            (t.elapsed(), r.map_err(|e| e.to_string()))
        });
    }
    let mut o = Outcome {
        ok: 0,
        failed: 0,
        wall: Duration::ZERO,
        lat: vec![],
        first_error: None,
    };
    while let Some(j) = set.join_next().await {
        let (d, r) = j.unwrap();
        o.lat.push(d);
        match r {
            Ok(()) => o.ok += 1,
            Err(e) => {
                o.failed += 1;
                o.first_error.get_or_insert(e);
            }
        }
    }
    o.wall = start.elapsed();
    o.lat.sort();
    o
}

fn report(name: &str, n: usize, o: &Outcome) {
    let pct = |p: f64| {
        o.lat
            .get(((o.lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{name}: {n} nodes power-cycled in {:.2} s wall ({} ok, {} failed); per node p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        o.wall.as_secs_f64(),
        o.ok,
        o.failed,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
    if let Some(e) = &o.first_error {
        println!("{name}: first error: {e}");
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_rf = args.first().copied().unwrap_or(1000);
    let n_ipmi = args.get(1).copied().unwrap_or(200);
    let conc = args.get(2).copied().unwrap_or(200);
    let t = Instant::now();
    let sim = common::Sim::start_within(n_rf.max(n_ipmi), 0.2, Duration::from_secs(600));
    println!(
        "simulator: {} nodes up in {:.1} s (power changes take 0.2 s); concurrency {conc}",
        sim.nodes.len(),
        t.elapsed().as_secs_f64()
    );
    let timeout = Duration::from_secs(20);

    let rf: Vec<Arc<dyn OutOfBand>> = sim
        .nodes
        .iter()
        .take(n_rf)
        .map(|n| {
            Arc::new(
                RedfishClient::new(
                    Endpoint::new(&n.redfish, "admin", "password").with_timeout(timeout),
                )
                .unwrap(),
            ) as Arc<dyn OutOfBand>
        })
        .collect();
    let o = run(rf, conc).await;
    report("redfish", n_rf, &o);
    let after_rf = vm_hwm_kib("self").unwrap_or(0);

    let sim_pid = sim.pid().to_string();
    let sim_rss = (
        vm_rss_kib(&sim_pid).unwrap_or(0),
        vm_hwm_kib(&sim_pid).unwrap_or(0),
    );
    drop(sim);
    // IPMI on a fleet of its own: the simulator's IPMI face (pyghmi, one select() loop) serves
    // fewer BMCs per process than its Redfish face.
    let t = Instant::now();
    let sim = common::Sim::start_within(n_ipmi, 0.2, Duration::from_secs(600));
    println!(
        "simulator: {} nodes up in {:.1} s for IPMI",
        sim.nodes.len(),
        t.elapsed().as_secs_f64()
    );
    let ipmi: Vec<Arc<dyn OutOfBand>> = sim
        .nodes
        .iter()
        .take(n_ipmi)
        .map(|n| {
            Arc::new(IpmiClient::new(
                Endpoint::new(&n.ipmi, "admin", "password").with_timeout(timeout),
            )) as Arc<dyn OutOfBand>
        })
        .collect();
    let o = run(ipmi, conc).await;
    report("ipmi", n_ipmi, &o);
    let pid = sim.pid().to_string();
    println!(
        "peak memory: benchmark process {:.1} MiB after Redfish, {:.1} MiB at end; simulator RSS {:.1} MiB for {n_rf} nodes, {:.1} MiB for {n_ipmi} nodes",
        after_rf as f64 / 1024.0,
        vm_hwm_kib("self").unwrap_or(0) as f64 / 1024.0,
        sim_rss.0.max(sim_rss.1) as f64 / 1024.0,
        vm_rss_kib(&pid).unwrap_or(0) as f64 / 1024.0,
    );
}
