//! The outbox relay on NATS JetStream: crashes between commit, publish and
//! mark, and a nats-server killed and restarted while 200 nodes are
//! discovered. Nothing is lost and nothing is duplicated.
//!
//! Uses `GPUFLEET_TEST_NATS_URL` and, for the restart test, its own
//! nats-server from `GPUFLEET_TEST_NATS_SERVER` (both exported by
//! scripts/services.sh) on a free port with a temporary store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_bus::worker::{self, Handler, HandlerError, WorkerOptions, WorkerStats};
use fleet_bus::{ConsumerSpec, Delivery, EventBus, JetStreamBus, SharedBus, Topology};
use fleet_db::{Actor, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_server::config::Config;
use fleet_server::relay;
use fleet_server::state::AppState;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

#[path = "support/nats.rs"]
mod nats;
use nats::NatsServer;

fn topology() -> Topology {
    let prefix = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    Topology::new(&prefix)
}

async fn store(dir: &tempfile::TempDir) -> Store {
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap()
}

async fn discover(store: &Store, i: usize) {
    store
        .create_asset(
            &Actor::system("discovery"),
            NewAsset {
                kind: AssetKind::Node,
                name: format!("node-{i:04}"),
                parent_id: None,
                labels: BTreeMap::new(),
                config: serde_json::json!({}),
                profile_id: None,
                reason: None,
            },
        )
        .await
        .unwrap();
}

/// Every message in every stream of the topology, as (event id, count).
async fn stream_contents(bus: &dyn EventBus) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for d in &bus.topology().domains {
        let stream = bus.topology().stream(d);
        let mut from = 1;
        loop {
            let page = bus.read(&stream, from, 1000).await.unwrap();
            let Some(last) = page.last().map(|m| m.seq) else {
                break;
            };
            for m in page {
                *out.entry(m.event_id()).or_insert(0) += 1;
            }
            from = last + 1;
        }
    }
    out
}

async fn all_outbox_ids(store: &Store) -> Vec<String> {
    store
        .outbox_list(None, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event_id)
        .collect()
}

async fn nats_bus(url: &str) -> JetStreamBus {
    JetStreamBus::connect(url, topology(), Duration::from_secs(10))
        .await
        .expect("connect to NATS")
}

fn test_nats_url() -> String {
    std::env::var("GPUFLEET_TEST_NATS_URL").expect(
        "GPUFLEET_TEST_NATS_URL is not set: run the tests through scripts/test.sh (it starts nats-server)",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_is_published_once_after_a_crash_before_or_after_publish() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let url = test_nats_url();
    let bus = nats_bus(&url).await;
    // The streams go when the test ends, passed or failed.
    let _streams = nats::Streams::new(&url, bus.topology());
    for i in 0..20 {
        discover(&store, i).await;
    }
    // Crash after commit, before publish: the relay never ran; all 20 pending.
    // Crash after publish, before mark: the first 8 reached the bus, unmarked.
    let pending = store.outbox_pending(8).await.unwrap();
    for r in &pending {
        let m = fleet_bus::outgoing_for_event(
            bus.topology(),
            &r.ty,
            &r.subject,
            &r.event_id,
            r.payload.clone(),
        )
        .unwrap();
        assert!(!bus.publish(m).await.unwrap().duplicate);
    }
    assert_eq!(store.outbox_pending(100).await.unwrap().len(), 20);

    // Restart: the relay publishes what is pending.
    let round = relay::publish_pending(&store, &bus, relay::BATCH, |_| {})
        .await
        .unwrap();
    assert_eq!(round.published, 20);
    assert_eq!(
        round.duplicates, 8,
        "the 8 already on the bus are dropped by Nats-Msg-Id"
    );
    assert!(store.outbox_pending(100).await.unwrap().is_empty());
    let again = relay::publish_pending(&store, &bus, relay::BATCH, |_| {})
        .await
        .unwrap();
    assert_eq!(again.published, 0);

    let on_bus = stream_contents(&bus).await;
    let ids = all_outbox_ids(&store).await;
    assert_eq!(ids.len(), 20);
    for id in &ids {
        assert_eq!(on_bus.get(id), Some(&1), "event {id} on the bus once");
    }
    assert_eq!(on_bus.len(), 20);
}

/// Counts how often the handler saw each event id.
#[derive(Default)]
struct Counter(Mutex<HashMap<String, usize>>);

impl Handler for Counter {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        async move {
            let v: serde_json::Value = serde_json::from_slice(&d.payload)
                .map_err(|e| HandlerError::Permanent(e.to_string()))?;
            if v["id"] != d.event_id.as_str() {
                return Err(HandlerError::Permanent("event id mismatch".into()));
            }
            *self
                .0
                .lock()
                .unwrap()
                .entry(d.event_id.clone())
                .or_insert(0) += 1;
            Ok(())
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_during_discovery_of_200_nodes_loses_and_duplicates_nothing() {
    let bin = nats::binary();
    let mut nats = NatsServer::start(&bin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let js = nats_bus(&nats.url()).await;
    let bus: SharedBus = Arc::new(js.clone());
    let st = AppState::with_bus(store.clone(), Config::default(), bus.clone());
    let stop = CancellationToken::new();
    let relay_task = tokio::spawn(relay::run(st, stop.clone()));
    let counter = Arc::new(Counter::default());
    let stats = Arc::new(WorkerStats::default());
    let mut workers = Vec::new();
    for d in ["hardware", "asset"] {
        workers.push(tokio::spawn(worker::run(
            bus.clone(),
            ConsumerSpec::new("enricher", d).ack_wait(Duration::from_secs(2)),
            WorkerOptions {
                poll_wait: Duration::from_millis(200),
                ..Default::default()
            },
            counter.clone(),
            stats.clone(),
            stop.clone(),
        )));
    }

    let n = 200;
    let creator = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..n {
                discover(&store, i).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Kill the server while events flow, keep it down a moment, restart it on
    // the same port and store.
    let deadline = Instant::now() + Duration::from_secs(30);
    while counter.0.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "events did not start flowing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nats.kill().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let handled_while_down = counter.0.lock().unwrap().len();
    nats.spawn().await;
    creator.await.unwrap();

    let ids = all_outbox_ids(&store).await;
    assert_eq!(ids.len(), n);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = store.outbox_pending(1000).await.unwrap().len();
        let seen = counter.0.lock().unwrap().len();
        if pending == 0 && seen == n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the restart: {pending} events still pending, {seen} of {n} handled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    relay_task.await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    assert!(handled_while_down < n, "the outage happened mid-stream");
    let seen = counter.0.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(seen.get(id), Some(&1), "event {id} handled once");
    }
    let on_bus = stream_contents(&js).await;
    assert_eq!(on_bus.len(), n);
    assert!(
        on_bus.values().all(|c| *c == 1),
        "a republished event was stored twice"
    );
    println!(
        "nats restart: {n} events, {} redeliveries dropped by id, {} bus errors while the server was down",
        WorkerStats::get(&stats.duplicates),
        WorkerStats::get(&stats.bus_errors)
    );
    nats.kill().await;
}

/// The real `gpufleet` binary on a SQLite data directory, publishing to `nats_url`.
struct Gpufleet {
    child: std::process::Child,
    url: String,
}

impl Gpufleet {
    fn start(dir: &std::path::Path, nats_url: &str, prefix: &str) -> Gpufleet {
        use std::io::BufRead;
        // gpufleet binds a port of its own choosing and announces it.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gpufleet"))
            .args(["serve", "--data-dir"])
            .arg(dir)
            .env_remove("GPUFLEET_CONFIG")
            .env("GPUFLEET_LISTEN", "127.0.0.1:0")
            .env("GPUFLEET_GRPC_LISTEN", "127.0.0.1:0")
            .env("GPUFLEET_ADMIN_PASSWORD", "crash-test-pw")
            .env("GPUFLEET_BUS__NATS_URL", nats_url)
            .env("GPUFLEET_BUS__SUBJECT_PREFIX", prefix)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start gpufleet");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in lines.by_ref().map_while(Result::ok) {
                if let Some((_, rest)) = l.split_once("listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("gpufleet did not announce that it listens within 60 s");
        Gpufleet { child, url }
    }

    /// SIGKILL: no shutdown hook runs, the relay stops wherever it was.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gpufleet {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn admin_token(http: &reqwest::Client, url: &str) -> String {
    let r: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "crash-test-pw"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"]
        .as_str()
        .expect("token in the login answer")
        .to_string()
}

/// Creates node `name` over REST; `false` when the request did not get an answer (the process
/// died under it: the node may or may not have been committed).
async fn create_node(http: &reqwest::Client, url: &str, token: &str, name: &str) -> bool {
    match http
        .post(format!("{url}/api/v1/assets"))
        .bearer_auth(token)
        .json(&serde_json::json!({"kind": "node", "name": name}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => {
            assert_eq!(r.status().as_u16(), 201, "create {name}");
            true
        }
        Err(_) => false,
    }
}

async fn wait_outbox_drained(dir: &std::path::Path) -> Store {
    let cfg = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = store.outbox_pending(10_000).await.unwrap().len();
        if pending == 0 {
            return store;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} events still unpublished 60 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The gpufleet process itself is SIGKILLed: once after events were committed while NATS was
/// down (killed between commit and publish), then three times at random moments while nodes are
/// being created over REST. After each restart every committed event is on JetStream exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpufleet_killed_between_commit_and_publish_publishes_each_event_once() {
    use rand::Rng;
    let bin = nats::binary();
    let mut nats = NatsServer::start(&bin).await;
    let dir = tempfile::tempdir().unwrap();
    let topo = topology();
    let prefix = topo.prefix.clone();
    let http = reqwest::Client::new();

    // 1. Committed while the bus is down, then the process dies before it could publish.
    let mut gf = Gpufleet::start(dir.path(), &nats.url(), &prefix);
    let token = admin_token(&http, &gf.url).await;
    for i in 0..5 {
        assert!(create_node(&http, &gf.url, &token, &format!("early-{i}")).await);
    }
    nats.kill().await;
    for i in 0..10 {
        assert!(create_node(&http, &gf.url, &token, &format!("unpublished-{i}")).await);
    }
    gf.kill();
    {
        let cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let store = Store::connect(&StoreOptions::new(cfg.database_url()))
            .await
            .unwrap();
        let pending = store.outbox_pending(10_000).await.unwrap().len();
        assert!(
            pending >= 10,
            "the 10 nodes created while NATS was down are committed but unpublished ({pending} pending)"
        );
    }
    nats.spawn().await;

    // 2. Killed at random moments under a stream of writes.
    let mut rng = rand::thread_rng();
    let mut answered = 0usize;
    for round in 0..3 {
        let mut gf = Gpufleet::start(dir.path(), &nats.url(), &prefix);
        let token = admin_token(&http, &gf.url).await;
        let kill_after = Duration::from_millis(rng.gen_range(300..1200));
        let started = Instant::now();
        let mut i = 0;
        while started.elapsed() < kill_after {
            if create_node(&http, &gf.url, &token, &format!("r{round}-{i}")).await {
                answered += 1;
            }
            i += 1;
        }
        gf.kill();
    }

    // 3. A last restart publishes whatever is pending.
    let gf = Gpufleet::start(dir.path(), &nats.url(), &prefix);
    let store = wait_outbox_drained(dir.path()).await;
    let ids = all_outbox_ids(&store).await;
    assert!(
        ids.len() >= 15 + answered,
        "every answered create has its event ({} events, {answered} answered)",
        ids.len()
    );
    let bus = JetStreamBus::connect(&nats.url(), topo, Duration::from_secs(10))
        .await
        .unwrap();
    let on_bus = stream_contents(&bus).await;
    for id in &ids {
        assert_eq!(on_bus.get(id), Some(&1), "event {id} on the stream once");
    }
    assert_eq!(
        on_bus.len(),
        ids.len(),
        "nothing on the stream that was not committed"
    );
    println!(
        "process kills: {} events committed across 4 SIGKILLs, each on JetStream once",
        ids.len()
    );
    drop(gf);
    nats.kill().await;
}
