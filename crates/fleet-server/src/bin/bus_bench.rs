//! Event throughput on NATS JetStream, two figures from one run:
//!
//! 1. raw: CloudEvent-sized messages published straight to JetStream
//!    (pipelined batches of 500, each acknowledged, `Nats-Msg-Id` set);
//! 2. end to end: events committed to the outbox (before the clock starts),
//!    then relay → JetStream → an enricher-shaped consumer (durable pull
//!    consumer, parses the CloudEvent, de-duplicates by id, acks). The clock
//!    stops when the consumer has handled every event.
//!
//! Prints events/s for both and their ratio; asserts nothing about speed.
//!
//!     cargo run --release -p fleet-server --bin bus_bench -- [EVENTS] [NATS_URL]
//!
//! EVENTS defaults to 5000; NATS_URL to `$GPUFLEET_TEST_NATS_URL` or
//! `nats://127.0.0.1:54222` (scripts/services.sh up nats). The outbox is a
//! SQLite file in a temporary directory, or `$GPUFLEET_BENCH_DATABASE_URL`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleet_bus::worker::{self, Handler, HandlerError, WorkerOptions, WorkerStats};
use fleet_bus::{
    Bytes, ConsumerSpec, Delivery, EventBus, JetStreamBus, Outgoing, SharedBus, Topology,
};
use fleet_db::{Actor, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_server::config::Config;
use fleet_server::state::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

struct Enricher;

impl Handler for Enricher {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        async move {
            let ev: fleet_model::event::CloudEvent = serde_json::from_slice(&d.payload)
                .map_err(|e| HandlerError::Permanent(format!("not a CloudEvent: {e}")))?;
            if ev.id != d.event_id {
                return Err(HandlerError::Permanent("event id mismatch".into()));
            }
            Ok(())
        }
        .boxed()
    }
}

fn topology(tag: &str) -> Topology {
    let prefix = format!(
        "bench{tag}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut t = Topology::new(&prefix);
    t.domains = vec!["hardware".into()];
    t
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse().context("EVENTS must be a number"))
        .transpose()?
        .unwrap_or(5000);
    let url = args
        .next()
        .or_else(|| std::env::var("GPUFLEET_TEST_NATS_URL").ok())
        .unwrap_or_else(|| "nats://127.0.0.1:54222".into());
    let timeout = Duration::from_secs(10);

    // Outbox first (untimed): n nodes, one HardwareDiscovered event each.
    let dir = std::env::temp_dir().join(format!("gpufleet-bus-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let db_url = std::env::var("GPUFLEET_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let store = Store::connect(&StoreOptions::new(db_url)).await?;
    let t = Instant::now();
    let mut sample = String::new();
    for i in 0..n {
        store
            .create_asset(
                &Actor::system("bench"),
                NewAsset {
                    kind: AssetKind::Node,
                    name: format!("bench-node-{i:06}"),
                    parent_id: None,
                    labels: BTreeMap::new(),
                    config: serde_json::json!({}),
                    profile_id: None,
                    reason: None,
                },
            )
            .await?;
    }
    let pending = store.outbox_pending(1).await?;
    if let Some(r) = pending.first() {
        sample = r.payload.clone();
    }
    println!(
        "outbox: {n} events committed in {:.1}s (not timed below); event size {} bytes",
        t.elapsed().as_secs_f64(),
        sample.len()
    );

    // 1. Raw JetStream publish of same-sized messages.
    let raw = JetStreamBus::connect(&url, topology("raw"), timeout)
        .await
        .with_context(|| format!("NATS at {url}"))?;
    let payload = Bytes::from(sample.clone());
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let batch: Vec<Outgoing> = (i..(i + 500).min(n))
            .map(|k| {
                Outgoing::new(
                    raw.topology()
                        .subject("hardware", "discovered", &format!("n{k}")),
                    format!("raw-{k}"),
                    payload.clone(),
                )
            })
            .collect();
        i += batch.len();
        for r in raw.publish_batch(batch).await {
            r?;
        }
    }
    let raw_secs = t.elapsed().as_secs_f64();
    raw.delete_streams().await?;

    // 2. Outbox → relay → JetStream → consumer.
    let js = JetStreamBus::connect(&url, topology("e2e"), timeout).await?;
    let bus: SharedBus = Arc::new(js.clone());
    let stats = Arc::new(WorkerStats::default());
    let stop = CancellationToken::new();
    let st = AppState::with_bus(store.clone(), Config::default(), bus.clone());
    let t = Instant::now();
    let relay = tokio::spawn(fleet_server::relay::run(st, stop.clone()));
    let consumer = tokio::spawn(worker::run(
        bus.clone(),
        ConsumerSpec::new("enricher", "hardware"),
        WorkerOptions {
            poll_wait: Duration::from_millis(100),
            ..Default::default()
        },
        Arc::new(Enricher),
        stats.clone(),
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(600);
    while (WorkerStats::get(&stats.handled) as usize) < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {n} events arrived within 600 s",
            WorkerStats::get(&stats.handled)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let e2e_secs = t.elapsed().as_secs_f64();
    stop.cancel();
    let _ = relay.await;
    let _ = consumer.await;
    js.delete_streams().await?;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let raw_rate = n as f64 / raw_secs;
    let e2e_rate = n as f64 / e2e_secs;
    println!("raw JetStream publish:                  {n} events in {raw_secs:.2}s = {raw_rate:.0} events/s");
    println!("outbox -> JetStream -> consumer:        {n} events in {e2e_secs:.2}s = {e2e_rate:.0} events/s");
    println!(
        "ratio end-to-end / raw:                 {:.2} ({} redeliveries dropped by id, {} dead letters)",
        e2e_rate / raw_rate,
        WorkerStats::get(&stats.duplicates),
        WorkerStats::get(&stats.dead_lettered)
    );
    Ok(())
}
