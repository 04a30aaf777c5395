//! Telemetry load generator for `scripts/bench-telemetry.sh`: pushes line protocol for a seeded
//! fleet (`gpufleet-bench --seed-into`: GPU UUIDs `GPU-<node:06>-<gpu:02>`, serials
//! `16500<node:06><gpu:02>`) to gpufleet's write route or straight to InfluxDB, paced (`--hz`) or
//! as fast as it goes (`--hz 0`), from `--connections` concurrent senders; with `--probe-url` it
//! also listens on gpufleet's live stream and, once a second, puts an XID 48 into one GPU's next
//! sample, timing the sample's send to the stream's `gpu.status_changed` → failed for that GPU.
//! With `--serve-exporters N` it pushes nothing and instead serves dcgm-exporter-compatible
//! `/metrics` pages (Prometheus text format 0.0.4: the same 15 fields under their `DCGM_FI_*`
//! names, dcgm-exporter's labels `gpu`, `UUID`, `pci_bus_id`, `device`, `modelName`, `Hostname`,
//! `DCGM_FI_DRIVER_VERSION`, values that change every second) for N nodes spread over the
//! fleet, one port per node on 127.0.0.1, listed in `--targets-file`, until `--duration-secs`
//! pass or SIGTERM: targets for Prometheus and for gpufleet's scraper.
//! Prints one JSON object with what it measured (or served).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use parking_lot::Mutex;

#[derive(Debug, Parser, Clone)]
#[command(about = "Push GPU telemetry for a seeded fleet and measure what arrives")]
struct Args {
    /// Base URL of gpufleet (or of InfluxDB with --influx-db); not used with --serve-exporters.
    #[arg(long, required_unless_present = "serve_exporters")]
    url: Option<String>,
    /// gpufleet API token (not used for InfluxDB).
    #[arg(long, default_value = "")]
    token: String,
    /// Write to InfluxDB's /write into this database instead of gpufleet.
    #[arg(long)]
    influx_db: Option<String>,
    #[arg(long, default_value_t = 10_000)]
    nodes: usize,
    #[arg(long, default_value_t = 8)]
    gpus: usize,
    /// Rounds per second (every GPU once per round); 0: as fast as the target takes them.
    #[arg(long, default_value_t = 1.0)]
    hz: f64,
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Nodes per request (each node's GPUs are one line each).
    #[arg(long, default_value_t = 100)]
    batch_nodes: usize,
    /// gpufleet base URL whose /api/v1/stream is watched for the probes' state changes.
    #[arg(long)]
    probe_url: Option<String>,
    /// Serve dcgm-exporter pages for this many of the --nodes nodes (spread over the fleet),
    /// one port each on 127.0.0.1, instead of pushing.
    #[arg(long)]
    serve_exporters: Option<usize>,
    /// With --serve-exporters: where the JSON list of targets (node, url) is written once every
    /// port listens.
    #[arg(long)]
    targets_file: Option<std::path::PathBuf>,
}

/// The 15 fields every sample carries.
const FIELDS: [&str; 15] = [
    "gpu_temp",
    "memory_temp",
    "power_usage",
    "power_limit",
    "sm_clock",
    "mem_clock",
    "gpu_util",
    "mem_copy_util",
    "fb_used",
    "fb_free",
    "ecc_sbe_vol_total",
    "ecc_dbe_vol_total",
    "pcie_replay_counter",
    "clock_event_reasons",
    "xid",
];

fn body(
    nodes: std::ops::Range<usize>,
    gpus: usize,
    round: u64,
    at_ns: i64,
    probe: Option<(usize, usize)>,
) -> String {
    let mut s = String::with_capacity(nodes.len() * gpus * 260);
    for n in nodes {
        for g in 0..gpus {
            let jitter = ((n * 31 + g * 7) as u64 + round) % 5;
            let xid = if probe == Some((n, g)) { 48 } else { 0 };
            let _ = writeln!(
                s,
                "gpu,uuid=GPU-{n:06}-{g:02} gpu_temp={},memory_temp={},power_usage={}.5,power_limit=700,sm_clock=1980,mem_clock=2619,gpu_util={},mem_copy_util=41,fb_used=61234,fb_free=20000,ecc_sbe_vol_total=0,ecc_dbe_vol_total=0,pcie_replay_counter=0,clock_event_reasons=0,xid={xid} {at_ns}",
                52 + jitter,
                48 + jitter,
                500 + jitter * 10,
                90 + jitter,
            );
        }
    }
    s
}

/// dcgm-exporter's name, type and help text of each of [`FIELDS`], in the same order.
const DCGM: [(&str, &str, &str); 15] = [
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    (
        "DCGM_FI_DEV_MEMORY_TEMP",
        "gauge",
        "Memory temperature (in C).",
    ),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    (
        "DCGM_FI_DEV_POWER_MGMT_LIMIT",
        "gauge",
        "Power management limit (in W).",
    ),
    (
        "DCGM_FI_DEV_SM_CLOCK",
        "gauge",
        "SM clock frequency (in MHz).",
    ),
    (
        "DCGM_FI_DEV_MEM_CLOCK",
        "gauge",
        "Memory clock frequency (in MHz).",
    ),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    (
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "gauge",
        "Memory utilization (in %).",
    ),
    (
        "DCGM_FI_DEV_FB_USED",
        "gauge",
        "Framebuffer memory used (in MiB).",
    ),
    (
        "DCGM_FI_DEV_FB_FREE",
        "gauge",
        "Framebuffer memory free (in MiB).",
    ),
    (
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
        "counter",
        "Single-bit volatile ECC errors.",
    ),
    (
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "counter",
        "Double-bit volatile ECC errors.",
    ),
    (
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
        "counter",
        "Total number of PCIe retries.",
    ),
    (
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
        "gauge",
        "Current clock event reasons (bit mask).",
    ),
    (
        "DCGM_FI_DEV_XID_ERRORS",
        "gauge",
        "Value of the last XID error encountered.",
    ),
];

/// One node's dcgm-exporter page at second `t` (Unix time): every GPU of node `n` with the
/// identity `gpufleet-bench --seed-into` gave it, values moving with `t` as the pushed lines'
/// move with the round.
fn exporter_page(n: usize, gpus: usize, t: u64) -> String {
    let labels: Vec<String> = (0..gpus)
        .map(|g| {
            format!(
                "gpu=\"{g}\",UUID=\"GPU-{n:06}-{g:02}\",pci_bus_id=\"00000000:{:02X}:00.0\",device=\"nvidia{g}\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-{n:05}\",DCGM_FI_DRIVER_VERSION=\"550.90.07\"",
                0x18 + g * 0x10
            )
        })
        .collect();
    let mut s = String::with_capacity(gpus * DCGM.len() * 220 + DCGM.len() * 100);
    for (f, (name, kind, help)) in DCGM.iter().enumerate() {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (g, l) in labels.iter().enumerate() {
            let jitter = ((n * 31 + g * 7) as u64 + t) % 5;
            let v = match f {
                0 => (52 + jitter) as f64,
                1 => (48 + jitter) as f64,
                2 => 500.5 + (jitter * 10) as f64,
                3 => 700.0,
                4 => 1980.0 - (jitter * 15) as f64,
                5 => 2619.0,
                6 => (90 + jitter) as f64,
                7 => (41 + jitter) as f64,
                8 => (61234 + jitter * 64) as f64,
                9 => (20000 - jitter * 64) as f64,
                _ => 0.0,
            };
            let _ = writeln!(s, "{name}{{{l}}} {v}");
        }
    }
    s
}

/// Serves `count` exporters until `--duration-secs` pass or SIGTERM, then prints what it served.
async fn serve_exporters(a: &Args, count: usize) -> anyhow::Result<()> {
    use axum::extract::State;
    use axum::http::header;
    use axum::routing::get;

    #[derive(Clone)]
    struct Exporter {
        node: usize,
        gpus: usize,
        pages: Arc<AtomicU64>,
        bytes: Arc<AtomicU64>,
    }
    async fn metrics(State(e): State<Exporter>) -> impl axum::response::IntoResponse {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let page = exporter_page(e.node, e.gpus, t);
        e.pages.fetch_add(1, Ordering::Relaxed);
        e.bytes.fetch_add(page.len() as u64, Ordering::Relaxed);
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            page,
        )
    }

    let count = count.min(a.nodes);
    anyhow::ensure!(count > 0, "--serve-exporters needs at least one node");
    let pages = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut targets = Vec::with_capacity(count);
    for i in 0..count {
        // Spread over the fleet: node i·nodes/count.
        let node = i * a.nodes / count;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/metrics", get(metrics))
            .with_state(Exporter {
                node,
                gpus: a.gpus,
                pages: pages.clone(),
                bytes: bytes.clone(),
            });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("exporter {addr}: {e}");
            }
        });
        targets.push(serde_json::json!({
            "node": format!("node-{node:05}"),
            "address": addr.to_string(),
            "url": format!("http://{addr}/metrics"),
        }));
    }
    if let Some(path) = &a.targets_file {
        // Written whole, then renamed: a reader never sees half a list.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&targets)?)?;
        std::fs::rename(&tmp, path)?;
    }
    let start = Instant::now();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(a.duration_secs)) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let out = serde_json::json!({
        "target": "exporters",
        "exporters": count,
        "gpus": count * a.gpus,
        "fields_per_line": FIELDS.len(),
        "seconds": start.elapsed().as_secs_f64(),
        "pages_served": pages.load(Ordering::Relaxed),
        "bytes_served": bytes.load(Ordering::Relaxed),
    });
    println!("{out}");
    Ok(())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[i])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if let Some(count) = a.serve_exporters {
        return serve_exporters(&a, count).await;
    }
    let base = a.url.clone().unwrap_or_default();
    let base = base.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(a.connections)
        .build()?;
    let url = match &a.influx_db {
        Some(db) => format!("{base}/write?db={db}&precision=ns"),
        None => format!("{base}/api/v1/telemetry/write?precision=ns"),
    };
    // Probes waiting for their change: serial → when the sample left.
    let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    if let Some(p) = &a.probe_url {
        let r = http
            .get(format!(
                "{}/api/v1/stream?kind=gpu&type=GPUStatusChanged&heartbeat=5",
                p.trim_end_matches('/')
            ))
            .bearer_auth(&a.token)
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "stream: {}", r.status());
        let (pending, latencies) = (pending.clone(), latencies.clone());
        tokio::spawn(async move {
            let mut r = r;
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(pos) = buf.find("\n\n") {
                    let block: String = buf.drain(..pos + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                        continue;
                    };
                    let Ok(ev) = serde_json::from_str::<serde_json::Value>(data) else {
                        continue;
                    };
                    if ev["data"]["new"]["state"] != "failed" {
                        continue;
                    }
                    let serial = ev["data"]["serial"].as_str().unwrap_or_default();
                    if let Some(t) = pending.lock().remove(serial) {
                        latencies.lock().push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            }
        });
    }

    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let sem = Arc::new(tokio::sync::Semaphore::new(a.connections.max(1)));
    let start = Instant::now();
    let end = start + Duration::from_secs(a.duration_secs);
    let period = (a.hz > 0.0).then(|| Duration::from_secs_f64(1.0 / a.hz));
    let mut round = 0u64;
    let mut late_rounds = 0u64;
    let mut probes = 0u64;
    let mut probe_next = start + Duration::from_secs(2);
    let mut tasks = Vec::new();
    while Instant::now() < end {
        let round_start = Instant::now();
        let at = now_ns();
        // One probe per second, each on a GPU not probed before.
        let probe = if a.probe_url.is_some() && round_start >= probe_next {
            probe_next += Duration::from_secs(1);
            let k = probes as usize;
            probes += 1;
            let (n, g) = ((k * 97) % a.nodes, (k / a.nodes) % a.gpus);
            Some((n, g))
        } else {
            None
        };
        let mut n0 = 0;
        while n0 < a.nodes {
            let n1 = (n0 + a.batch_nodes).min(a.nodes);
            let p = probe.filter(|(n, _)| (n0..n1).contains(n));
            let text = body(n0..n1, a.gpus, round, at, p);
            let lines = ((n1 - n0) * a.gpus) as u64;
            let permit = sem.clone().acquire_owned().await?;
            if let Some((n, g)) = p {
                pending
                    .lock()
                    .insert(format!("16500{n:06}{g:02}"), Instant::now());
            }
            let (http, url, token) = (http.clone(), url.clone(), a.token.clone());
            let (sent, failed, requests) = (sent.clone(), failed.clone(), requests.clone());
            let influx = a.influx_db.is_some();
            tasks.push(tokio::spawn(async move {
                let mut rq = http.post(&url).body(text);
                if !influx {
                    rq = rq.bearer_auth(&token);
                }
                requests.fetch_add(1, Ordering::Relaxed);
                match rq.send().await {
                    Ok(r) if r.status().is_success() => {
                        sent.fetch_add(lines, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        failed.fetch_add(lines, Ordering::Relaxed);
                        eprintln!(
                            "write: {} {}",
                            r.status(),
                            r.text()
                                .await
                                .unwrap_or_default()
                                .chars()
                                .take(200)
                                .collect::<String>()
                        );
                    }
                    Err(e) => {
                        failed.fetch_add(lines, Ordering::Relaxed);
                        eprintln!("write: {e}");
                    }
                }
                drop(permit);
            }));
            n0 = n1;
        }
        tasks.retain(|t| !t.is_finished());
        round += 1;
        if let Some(p) = period {
            let next = round_start + p;
            if Instant::now() > next {
                late_rounds += 1;
            } else {
                tokio::time::sleep_until(next.into()).await;
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Probes sent in the last seconds get up to 5 s to arrive.
    let wait_until = Instant::now() + Duration::from_secs(5);
    while a.probe_url.is_some() && !pending.lock().is_empty() && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lat = latencies.lock().clone();
    lat.sort_by(|x, y| x.total_cmp(y));
    let lines = sent.load(Ordering::Relaxed);
    let out = serde_json::json!({
        "target": if a.influx_db.is_some() { "influxdb" } else { "gpufleet" },
        "gpus": a.nodes * a.gpus,
        "fields_per_line": FIELDS.len(),
        "hz": a.hz,
        "seconds": elapsed,
        "rounds": round,
        "late_rounds": late_rounds,
        "requests": requests.load(Ordering::Relaxed),
        "lines_sent": lines,
        "lines_failed": failed.load(Ordering::Relaxed),
        "samples_per_sec": (lines as f64 * FIELDS.len() as f64) / elapsed,
        "probes": probes,
        "probes_seen": lat.len(),
        "probe_p50_ms": pct(&lat, 0.50),
        "probe_p99_ms": pct(&lat, 0.99),
        "probe_max_ms": lat.last(),
    });
    println!("{out}");
    Ok(())
}
