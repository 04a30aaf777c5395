//! `gpufleet-agent`: reads this node's GPUs through NVML and the driver's XIDs, and pushes them
//! to gpufleet. See `fleet_agent` (the library) and `docs/TELEMETRY.md`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use fleet_agent::collect::{self, NvmlSource, Source};
use fleet_agent::push::{PushConfig, Pusher};
use fleet_agent::{announce, kmsg};

#[derive(Debug, Parser)]
#[command(
    name = "gpufleet-agent",
    version,
    about = "gpufleet node agent: GPU metrics and XIDs pushed to gpufleet"
)]
struct Args {
    /// gpufleet's base URL.
    #[arg(long, env = "GPUFLEET_URL")]
    server: String,
    /// An API token with the TelemetryWrite permission (operator or admin).
    #[arg(long, env = "GPUFLEET_TOKEN", hide_env_values = true)]
    token: String,
    /// This node's name as gpufleet knows it (default: the host name).
    #[arg(long)]
    node: Option<String>,
    /// Seconds between two readings.
    #[arg(long, default_value_t = 10)]
    interval_secs: u64,
    /// The kernel log to follow for NVIDIA XID lines; "" to not follow one.
    #[arg(long, default_value = "/dev/kmsg")]
    kmsg: String,
    /// Announce this node to gpufleet with its BMC's address (POST /api/v1/discovery/announce).
    #[arg(long)]
    bmc_address: Option<String>,
    /// Lines per request.
    #[arg(long, default_value_t = 5000)]
    batch_lines: usize,
    /// Lines kept while gpufleet cannot be reached (the oldest go first).
    #[arg(long, default_value_t = 200_000)]
    buffer_lines: usize,
    /// Read and push once, then exit (status 1 when nothing could be sent).
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let a = Args::parse();
    let node = a.node.clone().unwrap_or_else(announce::hostname);
    let mut cfg = PushConfig::new(&a.server, &a.token);
    cfg.batch_lines = a.batch_lines;
    cfg.max_lines = a.buffer_lines;
    let mut pusher = Pusher::new(cfg)?;

    if let Some(bmc) = &a.bmc_address {
        let facts = announce::read(std::path::Path::new("/sys"), &node);
        let r = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/discovery/announce",
                a.server.trim_end_matches('/')
            ))
            .bearer_auth(&a.token)
            .json(&announce::body(&facts, bmc))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                tracing::info!(node = %node, bmc = %bmc, "announced")
            }
            Ok(r) => {
                let s = r.status();
                tracing::error!(status = %s, body = %r.text().await.unwrap_or_default(), "announce refused")
            }
            Err(e) => tracing::error!(error = %e, "announce failed"),
        }
    }

    let mut source: Option<NvmlSource> = match NvmlSource::open() {
        Ok(s) => {
            tracing::info!(source = %s.describe(), node = %node, "reading GPUs");
            Some(s)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no GPU metrics from this node (no NVML); XIDs from the kernel log are still sent");
            None
        }
    };

    let (xid_tx, mut xid_rx) = tokio::sync::mpsc::channel(1024);
    if !a.kmsg.is_empty() {
        let path = PathBuf::from(&a.kmsg);
        let from_end = a.kmsg == "/dev/kmsg";
        match kmsg::follow(&path, from_end, xid_tx.clone()) {
            Ok(_) => tracing::info!(file = %a.kmsg, "following the kernel log for XIDs"),
            Err(e) => {
                tracing::warn!(file = %a.kmsg, error = %e, "kernel log not readable; XIDs only from NVML")
            }
        }
    }
    let (nvml_tx, mut nvml_rx) = tokio::sync::mpsc::channel(1024);
    if source.is_some() {
        std::thread::spawn(move || {
            if let Err(e) = collect::nvml_xid_events(nvml_tx) {
                tracing::warn!(error = %e, "no NVML XID events; XIDs only from the kernel log");
            }
        });
    }
    drop(xid_tx);

    // PCI address → UUID, from the latest reading (XID lines name the PCI address).
    let mut by_pci: HashMap<String, String> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(a.interval_secs.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(s) = source.as_mut() {
                    match s.read() {
                        Ok(readings) => {
                            for r in &readings {
                                if let Some(p) = &r.pci_bus_id {
                                    by_pci.insert(p.to_ascii_uppercase(), r.uuid.clone());
                                }
                            }
                            pusher.enqueue(collect::lines(&readings, &node, collect::now_ns()));
                        }
                        Err(e) => tracing::warn!(error = %e, "GPU reading failed"),
                    }
                }
            }
            Some(ev) = xid_rx.recv() => {
                let pci = ev.dcgm_pci_bus_id();
                let uuid = pci.as_ref().and_then(|p| by_pci.get(&p.to_ascii_uppercase())).cloned();
                tracing::warn!(xid = ev.xid, pci = %ev.pci, uuid = ?uuid, "XID from the kernel log");
                pusher.enqueue([collect::xid_line(uuid.as_deref(), pci.as_deref(), &node, ev.xid, collect::now_ns())]);
            }
            Some((uuid, xid)) = nvml_rx.recv() => {
                tracing::warn!(xid, uuid = %uuid, "XID from NVML");
                pusher.enqueue([collect::xid_line(Some(&uuid), None, &node, xid, collect::now_ns())]);
            }
            _ = tokio::signal::ctrl_c() => {
                pusher.flush().await;
                tracing::info!(pending = pusher.pending(), stats = ?pusher.stats(), "stopping");
                return Ok(());
            }
        }
        pusher.flush().await;
        if a.once {
            let st = pusher.stats();
            println!(
                "sent {} lines, {} refused, {} waiting{}",
                st.sent_lines,
                st.rejected_lines,
                pusher.pending(),
                if source.is_none() {
                    " (no NVML on this machine: no GPU metrics)"
                } else {
                    ""
                }
            );
            if pusher.pending() > 0 {
                anyhow::bail!(
                    "{}",
                    st.last_error
                        .clone()
                        .unwrap_or_else(|| "lines not sent".into())
                );
            }
            return Ok(());
        }
    }
}
