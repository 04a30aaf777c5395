//! The CMDB-Enricher end to end: BMCs of the fleet simulator registered through the discovery
//! API → HardwareDiscovered → outbox → bus → enricher → Redfish inventory → assets, versions,
//! validation events and lifecycle. In-process bus, and NATS JetStream from
//! `GPUFLEET_TEST_NATS_URL` (set by `scripts/services.sh up`).

#[path = "support/nats.rs"]
mod nats;
#[path = "support/pg.rs"]
mod pg;
#[path = "../../fleet-bmc/tests/common/mod.rs"]
mod sim;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_bus::worker::WorkerStats;
use fleet_bus::{SharedBus, Topology};
use fleet_db::{Actor, AssetFilter, EventFilter, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::event::types;
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Role;
use fleet_server::config::Config;
use fleet_server::enricher::{self, Running};
use fleet_server::state::AppState;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const H100: &str = "NVIDIA H100 80GB HBM3";

struct App {
    base: String,
    store: Store,
    bus: SharedBus,
    http: reqwest::Client,
    token: String,
    running: Option<Running>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A bus on the shared NATS with streams of its own, and the guard that deletes them when the
/// test ends (passed or failed).
async fn jetstream() -> (SharedBus, nats::Streams) {
    let url = std::env::var("GPUFLEET_TEST_NATS_URL").expect(
        "GPUFLEET_TEST_NATS_URL is not set: run `bash scripts/services.sh up` and source its env file (scripts/test.sh does both)",
    );
    let prefix = format!("e{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let topology = Topology::new(&prefix);
    let streams = nats::Streams::new(&url, &topology);
    let bus = fleet_bus::JetStreamBus::connect(&url, topology, Duration::from_secs(10))
        .await
        .expect("connect to NATS");
    (Arc::new(bus), streams)
}

impl App {
    async fn start(bus: Option<SharedBus>) -> App {
        Self::start_after(bus, vec![]).await
    }

    /// Registers `lost` BMCs before anything runs, their events marked published without
    /// reaching the bus (as when the in-process bus is lost in a restart).
    async fn start_after(bus: Option<SharedBus>, lost: Vec<fleet_db::BmcRegistration>) -> App {
        Self::start_on(bus, lost, String::new()).await
    }

    /// On the database at `database_url` (empty: SQLite in a temporary directory).
    async fn start_on(
        bus: Option<SharedBus>,
        lost: Vec<fleet_db::BmcRegistration>,
        database_url: String,
    ) -> App {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            database_url,
            ..Default::default()
        };
        cfg.request_timeout_secs = 60;
        cfg.enricher.sync_interval_secs = 0;
        cfg.enricher.bmc_timeout_secs = 5;
        cfg.enricher.inventory_timeout_secs = 60;
        cfg.enricher.announce_username = "admin".into();
        cfg.enricher.announce_password = "password".into();
        cfg.enricher.announce_networks = vec!["127.0.0.0/8".into()];
        let store = Store::connect(&StoreOptions::new(cfg.database_url()))
            .await
            .unwrap()
            .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap());
        store
            .create_user(
                &Actor::system("test"),
                NewUser {
                    username: "admin".into(),
                    password_hash: fleet_server::auth::hash_password("password-123").unwrap(),
                    role: Role::Admin,
                },
            )
            .await
            .unwrap();
        for r in lost {
            store.register_bmc(&Actor::system("test"), r).await.unwrap();
        }
        let pending: Vec<i64> = store
            .outbox_pending(10_000)
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        store.outbox_mark_published(&pending).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let st = match bus {
            Some(b) => AppState::with_bus(store.clone(), cfg, b),
            None => AppState::new(store.clone(), cfg),
        };
        let stop = CancellationToken::new();
        tokio::spawn(fleet_server::relay::run(st.clone(), stop.clone()));
        let running = enricher::start(st.clone(), stop.clone());
        tokio::spawn(fleet_server::app::serve(st.clone(), listener, stop.clone()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap();
        let r: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "password-123"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        App {
            base,
            store,
            bus: st.bus.clone(),
            http,
            token: r["token"].as_str().unwrap().to_string(),
            running: Some(running),
            stop,
            _dir: dir,
        }
    }

    fn enricher(&self) -> &enricher::Enricher {
        &self.running.as_ref().unwrap().enricher
    }

    /// Deliveries the HardwareDiscovered consumer has dealt with: handled or dropped as
    /// duplicates.
    fn discovered_dealt_with(&self) -> u64 {
        let st = &self.running.as_ref().unwrap().discovered;
        WorkerStats::get(&st.handled) + WorkerStats::get(&st.duplicates)
    }

    async fn call(&self, m: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn nodes(&self) -> Vec<Asset> {
        self.store
            .list_assets(&AssetFilter {
                kind: Some(AssetKind::Node),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .items
    }

    /// Waits until every node has left discovered/inspecting; returns them.
    async fn settled(&self, n: usize, within: Duration) -> Vec<Asset> {
        let start = Instant::now();
        loop {
            let nodes = self.nodes().await;
            let busy = nodes
                .iter()
                .filter(|a| matches!(a.state, Some(NodeState::Discovered | NodeState::Inspecting)))
                .count();
            if nodes.len() == n && busy == 0 {
                return nodes;
            }
            assert!(
                start.elapsed() < within,
                "{busy} of {} nodes still discovered/inspecting after {within:?}",
                nodes.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn events(&self, ty: &str, subject: Option<&str>) -> Vec<Value> {
        self.store
            .outbox_query(&EventFilter {
                types: vec![ty.into()],
                subject: subject.map(str::to_string),
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|r| serde_json::from_str(&r.payload).unwrap())
            .collect()
    }

    async fn asset_count(&self) -> usize {
        self.store
            .count_by_kind()
            .await
            .unwrap()
            .values()
            .sum::<i64>() as usize
    }
}

fn present(parts: &[Asset]) -> Vec<&Asset> {
    parts
        .iter()
        .filter(|p| p.config.get("present") != Some(&Value::Bool(false)))
        .collect()
}

async fn hgx_profile(app: &App) {
    let (s, p) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/profiles",
            json!({"name": "HGX-H100-8GPU", "spec": {
                "gpu_count": 8, "gpu_model": H100,
                "bios": {"SriovGlobalEnable": "Enabled"}, "firmware": {"BMC": "1.12.0"}}}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
}

fn bmc(n: &sim::Node, password: &str) -> Value {
    json!({"address": n.redfish, "username": "admin", "password": password, "profile": "HGX-H100-8GPU"})
}

/// The simulator's ground truth: GPU serials of a node.
async fn sim_gpus(fleet: &sim::Sim, node: &str) -> BTreeSet<String> {
    let v: Value = reqwest::get(format!("{}/nodes/{node}", fleet.control))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["serial"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simulated_bmcs_become_fifty_ready_nodes_with_every_part_inventoried() {
    fifty(App::start(None).await, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simulated_bmcs_become_fifty_ready_nodes_on_postgres() {
    // A database of this test's own, dropped when the test ends (passed or failed).
    let db = pg::TestDatabase::create("gpufleet_e").await;
    let app = App::start_on(None, vec![], db.url.clone()).await;
    fifty(app, "PostgreSQL").await;
}

async fn fifty(app: App, store: &str) {
    let fleet = sim::Sim::start_within(50, 0.3, Duration::from_secs(120));
    hgx_profile(&app).await;
    let body = json!({"bmcs": fleet.nodes.iter().map(|n| bmc(n, "password")).collect::<Vec<_>>()});
    let t0 = Instant::now();
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body.clone())
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["created"], 50, "{r}");
    let nodes = app.settled(50, Duration::from_secs(240)).await;
    let took = t0.elapsed();
    eprintln!(
        "enricher ({store}): 50 simulated BMCs registered -> 50 nodes settled in {:.2} s (max {} BMC reads at once; inventory reads {:.1} s, store {:.1} s in total)",
        took.as_secs_f64(),
        app.enricher()
            .stats
            .max_reading
            .load(std::sync::atomic::Ordering::Relaxed),
        app.enricher().stats.read_ms.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0,
        app.enricher().stats.apply_ms.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0,
    );
    for n in &nodes {
        assert_eq!(n.state, Some(NodeState::Ready), "{}: {:?}", n.name, n.state);
    }
    // Every part, matched against the simulator's ground truth.
    for sn in &fleet.nodes {
        let bmc_asset = app
            .store
            .find_bmc_by_address(&sn.redfish.to_ascii_lowercase())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no BMC for {}", sn.redfish));
        let node_id = bmc_asset.parent_id.unwrap();
        let (node, children) = app.store.get_with_children(&node_id).await.unwrap();
        let of = |k: AssetKind| {
            children
                .iter()
                .filter(|c| c.kind == k)
                .cloned()
                .collect::<Vec<_>>()
        };
        let gpus = of(AssetKind::Gpu);
        let serials: BTreeSet<String> = gpus.iter().filter_map(|g| g.serial.clone()).collect();
        assert_eq!(serials, sim_gpus(&fleet, &sn.id).await, "{}", sn.id);
        assert!(gpus.iter().all(|g| g.model.as_deref() == Some(H100)));
        assert!(gpus
            .iter()
            .all(|g| g.config["uuid"].as_str().unwrap().starts_with("GPU-")));
        let nics = of(AssetKind::Nic);
        assert_eq!(present(&nics).len(), 10, "{}", sn.id);
        assert!(nics
            .iter()
            .all(|n| n.address.as_ref().is_some_and(|m| m.len() == 17)));
        assert_eq!(present(&of(AssetKind::Disk)).len(), 8, "{}", sn.id);
        assert_eq!(node.config["cpus"]["count"], 2);
        assert_eq!(node.config["firmware"]["BMC"], "1.12.0");
        assert!(node.config["bios"]
            .as_object()
            .is_some_and(|b| !b.is_empty()));
        assert_eq!(node.config["parts"]["gpus"].as_array().unwrap().len(), 8);
    }
    let validated = app.events(types::CONFIG_VALIDATED, None).await;
    assert_eq!(validated.len(), 50);
    assert!(validated.iter().all(|e| e["data"]["passed"] == true));
    assert!(app.events(types::CONFIG_CONFLICT, None).await.is_empty());

    // Registering the same BMCs again creates nothing.
    let before = app.asset_count().await;
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["created"].as_u64(), r["existing"].as_u64()),
        (Some(0), Some(50)),
        "{r}"
    );
    // A duplicate HardwareDiscovered (same event id again, as after a redelivery) and the
    // same inspection trigger again: nothing is created twice.
    let first = nodes[0].id.clone();
    let versions = app.store.list_versions(&first).await.unwrap().len();
    let row = app
        .store
        .outbox_query(&EventFilter {
            types: vec![types::HARDWARE_DISCOVERED.into()],
            subject: Some(first.clone()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let mut msg = fleet_bus::outgoing_for_event(
        app.bus.topology(),
        &row.ty,
        &row.subject,
        &format!("{}-again", row.event_id),
        row.payload.clone(),
    )
    .unwrap();
    msg.event_id = Some(row.event_id.clone());
    let dealt_with = app.discovered_dealt_with();
    app.bus.publish(msg).await.unwrap();
    assert!(app
        .enricher()
        .inspect(&first, None)
        .await
        .unwrap()
        .is_none());
    assert!(!app.enricher().begin_inspection(&first, None).await.unwrap());
    // Once the consumer has dealt with the duplicate delivery, nothing has changed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.discovered_dealt_with() <= dealt_with {
        assert!(
            Instant::now() < deadline,
            "the duplicate was never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.asset_count().await, before);
    assert_eq!(
        app.store.list_versions(&first).await.unwrap().len(),
        versions
    );
    assert_eq!(app.events(types::CONFIG_VALIDATED, None).await.len(), 50);
}

async fn moved_gpu(app: &App) {
    let fleet = sim::Sim::start(2, 0.3);
    hgx_profile(app).await;
    let body = json!({"bmcs": fleet.nodes.iter().map(|n| bmc(n, "password")).collect::<Vec<_>>()});
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body)
        .await;
    assert_eq!(s, 200, "{r}");
    let ids: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["node_id"].as_str().unwrap().to_string())
        .collect();
    let nodes = app.settled(2, Duration::from_secs(90)).await;
    assert!(
        nodes.iter().all(|n| n.state == Some(NodeState::Ready)),
        "{nodes:?}"
    );
    let (a, b) = (&ids[0], &ids[1]);
    let a_v = app.store.list_versions(a).await.unwrap().len();
    let b_v = app.store.list_versions(b).await.unwrap().len();

    // Swap a GPU from the first simulated server into the second.
    let moved: Value = reqwest::Client::new()
        .post(format!("{}/gpus/move", fleet.control))
        .json(&json!({"from": fleet.nodes[0].id, "index": 2, "to": fleet.nodes[1].id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let serial = moved["serial"].as_str().unwrap().to_string();
    let gpu_before = app
        .store
        .list_assets(&AssetFilter {
            kind: Some(AssetKind::Gpu),
            serial: Some(serial.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(gpu_before.len(), 1);
    assert_eq!(gpu_before[0].parent_id.as_deref(), Some(a.as_str()));

    // Re-inventory trigger: an operator sends the destination back to inspecting.
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/nodes/{b}/transition"),
            json!({"to": "inspecting", "reason": "GPU swapped in"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    app.settled(2, Duration::from_secs(60)).await;
    let g = app.store.get_asset(&gpu_before[0].id).await.unwrap();
    assert_eq!(
        g.parent_id.as_deref(),
        Some(b.as_str()),
        "the same GPU asset, re-parented"
    );
    assert_eq!(
        g.config["moved_from"].as_str(),
        Some(app.store.get_asset(a).await.unwrap().name.as_str())
    );
    let gpus_with_serial = app
        .store
        .list_assets(&AssetFilter {
            kind: Some(AssetKind::Gpu),
            serial: Some(serial.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(
        gpus_with_serial.len(),
        1,
        "no second asset for the moved GPU"
    );
    let moves = app.events(types::RELATION_CHANGED, Some(&g.id)).await;
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["data"]["op"], "move");
    assert_eq!(moves[0]["data"]["from_node"], a.as_str());
    assert_eq!(moves[0]["data"]["to_node"], b.as_str());
    // Both nodes have a new configuration version naming the GPU.
    let av = app.store.list_versions(a).await.unwrap();
    let bv = app.store.list_versions(b).await.unwrap();
    assert_eq!(av.len(), a_v + 1);
    assert!(bv.len() > b_v);
    assert!(av
        .last()
        .unwrap()
        .reason
        .as_deref()
        .unwrap()
        .contains(&serial));
    assert!(bv
        .last()
        .unwrap()
        .reason
        .as_deref()
        .unwrap()
        .contains(&serial));
    let b_node = app.store.get_asset(b).await.unwrap();
    assert_eq!(b_node.config["parts"]["gpus"].as_array().unwrap().len(), 9);
    assert_eq!(b_node.state, Some(NodeState::Ready));
    // Nine GPUs where the profile expects eight: a conflict naming the field.
    let conflicts = app.events(types::CONFIG_CONFLICT, Some(b)).await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(
        conflicts[0]["data"]["differences"],
        json!([{"field": "gpu_count", "expected": 8, "actual": 9}])
    );

    // Status sync of the source: it records the missing GPU, removes nothing, and reports
    // the drift against the profile (seven GPUs).
    let (read, changed) = app
        .enricher()
        .sync_round(Duration::ZERO, &CancellationToken::new())
        .await;
    assert_eq!((read, changed), (2, 1));
    let a_node = app.store.get_asset(a).await.unwrap();
    assert_eq!(a_node.config["parts"]["gpus"].as_array().unwrap().len(), 7);
    assert_eq!(
        a_node.state,
        Some(NodeState::Ready),
        "status sync moves no node"
    );
    let conflicts = app.events(types::CONFIG_CONFLICT, Some(a)).await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["data"]["differences"][0]["field"], "gpu_count");
    assert_eq!(
        app.store
            .get_asset(&g.id)
            .await
            .unwrap()
            .parent_id
            .as_deref(),
        Some(b.as_str())
    );
    // A second round finds nothing new.
    let (_, changed) = app
        .enricher()
        .sync_round(Duration::ZERO, &CancellationToken::new())
        .await;
    assert_eq!(changed, 0);
}

/// The status sync reads each node's BMC sensors with its inventory: a power supply the BMC
/// reports failed turns the node degraded (named in the reasons, a `system.status_changed`
/// event and a history row); cleared, the next round makes it healthy again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_sync_reads_bmc_sensors_into_the_node_health() {
    let app = App::start(None).await;
    let fleet = sim::Sim::start(2, 0.3);
    hgx_profile(&app).await;
    let body = json!({"bmcs": fleet.nodes.iter().map(|n| bmc(n, "password")).collect::<Vec<_>>()});
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body)
        .await;
    assert_eq!(s, 200, "{r}");
    let a = r["results"][0]["node_id"].as_str().unwrap().to_string();
    app.settled(2, Duration::from_secs(90)).await;
    let round = || async {
        app.enricher()
            .sync_round(Duration::ZERO, &CancellationToken::new())
            .await
    };
    round().await;
    let (s, h) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{a}/health"),
            json!(null),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["state"], "healthy", "{h}");
    let sensors = h["sensors"].as_array().unwrap();
    assert!(
        sensors
            .iter()
            .any(|x| x["kind"] == "temperature" && x["reading"].as_f64().is_some()),
        "{h}"
    );
    assert!(sensors.iter().any(|x| x["kind"] == "power_supply"), "{h}");
    assert!(h["sensors_at"].is_string());

    let fault: Value = reqwest::Client::new()
        .post(format!("{}/faults", fleet.control))
        .json(&json!({"kind": "psu_failure", "target": fleet.nodes[0].id, "params": {"psu": 0}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    round().await;
    let (_, h) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{a}/health"),
            json!(null),
        )
        .await;
    assert_eq!(h["state"], "degraded", "{h}");
    let reason = h["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "bmc_sensor")
        .unwrap_or_else(|| panic!("a bmc_sensor reason: {h}"));
    assert_eq!(reason["sensor_kind"], "power_supply", "{h}");
    assert_eq!(h["history"][0]["new_state"], "degraded", "{h}");
    let events = app.events(types::SYSTEM_STATUS_CHANGED, Some(&a)).await;
    let last = events.last().expect("a system.status_changed event");
    assert_eq!(last["data"]["new"]["state"], "degraded");
    assert_eq!(last["data"]["old"]["state"], "healthy");

    let id = fault["id"].as_str().unwrap();
    reqwest::Client::new()
        .delete(format!("{}/faults/{id}", fleet.control))
        .send()
        .await
        .unwrap();
    round().await;
    let (_, h) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{a}/health"),
            json!(null),
        )
        .await;
    assert_eq!(h["state"], "healthy", "{h}");
    assert_eq!(
        app.events(types::SYSTEM_STATUS_CHANGED, Some(&a))
            .await
            .len(),
        events.len() + 1
    );

    // A BMC that answers with server errors: bmc_unreachable, and a BmcUnreachable alert in
    // the correlation that resolves once the BMC answers again.
    let fault: Value = reqwest::Client::new()
        .post(format!("{}/faults", fleet.control))
        .json(&json!({"kind": "bmc", "target": fleet.nodes[0].id, "params": {"mode": "5xx"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The liveness probe finds it (one request per BMC, far more often than the full read).
    let probe = || async {
        app.enricher()
            .liveness_round(Duration::ZERO, &CancellationToken::new())
            .await
    };
    assert_eq!(probe().await, (2, 1));
    let (_, h) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{a}/health"),
            json!(null),
        )
        .await;
    assert_eq!(h["state"], "degraded", "{h}");
    assert_eq!(h["reasons"][0]["kind"], "bmc_unreachable", "{h}");
    let bmc_alert = |alerts: &Value| -> Value {
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["labels"]["alertname"] == "BmcUnreachable")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (_, alerts) = app
        .call(reqwest::Method::GET, "/api/v1/alerts", json!(null))
        .await;
    let al = bmc_alert(&alerts);
    assert_eq!(al["labels"]["node"], h["name"], "{alerts}");
    // Resolved to the node's BMC, so the node's incidents list it.
    assert!(al["asset_id"].is_string(), "resolved: {alerts}");
    let (_, incs) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/incidents?asset={a}"),
            json!(null),
        )
        .await;
    assert!(!incs.as_array().unwrap().is_empty(), "{incs}");
    assert!(al["ends_at"].is_null(), "firing: {al}");
    let id = fault["id"].as_str().unwrap();
    reqwest::Client::new()
        .delete(format!("{}/faults/{id}", fleet.control))
        .send()
        .await
        .unwrap();
    assert_eq!(probe().await, (2, 2));
    let (_, h) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{a}/health"),
            json!(null),
        )
        .await;
    assert_eq!(h["state"], "healthy", "{h}");
    let (_, alerts) = app
        .call(reqwest::Method::GET, "/api/v1/alerts", json!(null))
        .await;
    assert!(
        bmc_alert(&alerts)["ends_at"].is_string(),
        "resolved: {alerts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_moved_between_simulated_nodes_is_the_same_gpu_moved() {
    let app = App::start(None).await;
    moved_gpu(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_moved_between_simulated_nodes_is_the_same_gpu_moved_over_jetstream() {
    let (bus, _streams) = jetstream().await;
    let app = App::start(Some(bus)).await;
    moved_gpu(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_wrong_password_bmcs_fail_inspection_with_the_reason() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start(None).await;
    hgx_profile(&app).await;
    // A BMC address where nothing listens, held closed by this test for its whole run.
    let closed = sim::closed_port();
    let dead = format!("http://127.0.0.1:{}", closed.port);
    let body = json!({"bmcs": [
        bmc(&fleet.nodes[0], "wrong-password"),
        {"address": dead, "username": "admin", "password": "x"},
    ]});
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body)
        .await;
    assert_eq!(s, 200, "{r}");
    let nodes = app.settled(2, Duration::from_secs(90)).await;
    let mut reasons = Vec::new();
    for n in &nodes {
        assert_eq!(n.state, Some(NodeState::InspectionFailed), "{}", n.name);
        let h = app.store.lifecycle_history(&n.id).await.unwrap();
        let last = h.last().unwrap();
        let reason = last.reason.clone().unwrap();
        assert!(!reason.contains("wrong-password"), "{reason}");
        reasons.push(reason);
    }
    reasons.sort();
    assert!(
        reasons[0].starts_with("BMC authentication failed"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("BMC unreachable"), "{reasons:?}");

    // Registered again with the right password: inspected again, ready.
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery",
            json!({"bmcs": [bmc(&fleet.nodes[0], "password")]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["results"][0]["credentials_updated"], true, "{r}");
    assert_eq!(r["results"][0]["state"], "inspecting", "{r}");
    let id = r["results"][0]["node_id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let n = app.store.get_asset(&id).await.unwrap();
        if n.state == Some(NodeState::Ready) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", n.state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subnet_sweep_finds_the_redfish_services_and_bad_requests_are_explained() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start(None).await;
    let port: u16 = fleet.nodes[0]
        .redfish
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // A second port on which nothing listens, held closed by this test.
    let closed = sim::closed_port();
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery",
            json!({"sweep": {"cidr": "127.0.0.0/30", "ports": [port, closed.port], "scheme": "http",
                   "username": "admin", "password": "password", "timeout_ms": 500}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["probed"], 4, "{r}");
    assert_eq!(r["found"], 1, "{r}");
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(
        r["results"][0]["address"],
        format!("http://127.0.0.1:{port}")
    );
    let nodes = app.settled(1, Duration::from_secs(60)).await;
    assert_eq!(nodes[0].state, Some(NodeState::Ready));

    for (body, needle) in [
        (json!({}), "give 'bmcs'"),
        (
            json!({"sweep": {"cidr": "10.0.0.0/8", "username": "a", "password": "b"}}),
            "at most 4096",
        ),
        (
            json!({"sweep": {"cidr": "10.0.0.0/20", "username": "a", "password": "b", "concurrency": 1}}),
            "longer than this request may run",
        ),
    ] {
        let (s, r) = app
            .call(reqwest::Method::POST, "/api/v1/discovery", body)
            .await;
        assert_eq!(s, 400, "{r}");
        assert!(r["detail"].as_str().unwrap().contains(needle), "{r}");
    }
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery",
            json!({"bmcs": [{"address": "ftp://x", "username": "a", "password": "b"}]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(
        r["results"][0]["error"].as_str().unwrap().contains("http"),
        "{r}"
    );
    assert_eq!(r["failed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpufleet_discover_registers_bmcs_and_waits_for_their_inspection() {
    let fleet = sim::Sim::start(2, 0.3);
    let app = App::start(None).await;
    let mut args: Vec<String> = vec!["discover".into()];
    args.extend(fleet.nodes.iter().map(|n| n.redfish.clone()));
    args.extend(["--wait".into(), "60".into()]);
    let run = |args: Vec<String>, password: &'static str| {
        let base = app.base.clone();
        let token = app.token.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_gpufleet"))
                .args(&args)
                .env("GPUFLEET_SERVER", base)
                .env("GPUFLEET_TOKEN", token)
                .env("GPUFLEET_BMC_PASSWORD", password)
                .env("HOME", "/nonexistent")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        })
    };
    let o = run(args.clone(), "password").await.unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("2 created, 0 already known, 0 failed"),
        "{text}"
    );
    assert!(text.contains("2 of 2 node(s) ready"), "{text}");
    assert!(!text.contains("password"), "{text}");
    // Again: nothing new; a wrong address is reported and the exit status says so.
    args.insert(1, "ftp://nowhere".into());
    let o = run(args, "password").await.unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("0 created, 2 already known, 1 failed"),
        "{text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    assert_eq!(app.nodes().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_discovery_event_was_lost_is_picked_up_by_the_recovery_sweep() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start_after(
        None,
        vec![fleet_db::BmcRegistration {
            address: fleet.nodes[0].redfish.clone(),
            protocol: "redfish".into(),
            username: "admin".into(),
            password: "password".into(),
            ..Default::default()
        }],
    )
    .await;
    // The event is lost for good: nothing waits in the outbox and the stream holds nothing, so
    // no consumer can ever receive it.
    assert!(app.store.outbox_pending(10).await.unwrap().is_empty());
    let hardware = app.bus.topology().stream("hardware");
    assert_eq!(
        app.bus.stream_info(&hardware).await.unwrap().messages,
        0,
        "a discovery event reached the bus"
    );
    assert_eq!(app.discovered_dealt_with(), 0);
    let nodes = app.nodes().await;
    assert_eq!(
        nodes[0].state,
        Some(NodeState::Discovered),
        "nothing arrived"
    );
    // Too young to be called lost.
    assert_eq!(
        app.enricher()
            .recover_stale(Duration::from_secs(3600))
            .await,
        0
    );
    assert_eq!(app.enricher().recover_stale(Duration::ZERO).await, 1);
    let nodes = app.settled(1, Duration::from_secs(60)).await;
    assert_eq!(nodes[0].state, Some(NodeState::Ready));
    let gpus = app
        .store
        .children(&nodes[0].id, Some(AssetKind::Gpu))
        .await
        .unwrap();
    assert_eq!(gpus.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_dead_lettered_and_the_enricher_goes_on() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start(None).await;
    let subject = app
        .bus
        .topology()
        .subject_for(types::HARDWARE_DISCOVERED, "node-poison")
        .unwrap();
    app.bus
        .publish(fleet_bus::Outgoing::new(
            subject,
            "poison-1",
            fleet_bus::Bytes::from_static(b"not a CloudEvent"),
        ))
        .await
        .unwrap();
    let start = Instant::now();
    let dead = loop {
        let d = fleet_bus::dlq::list(&*app.bus, Some("enricher-discovered"), 0, 10)
            .await
            .unwrap();
        if !d.is_empty() {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no dead letter");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead.len(), 1);
    assert!(dead[0].error.contains("not JSON"), "{:?}", dead[0]);
    // The consumer carries on with the next discovery.
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery",
            json!({"bmcs": [{"address": fleet.nodes[0].redfish, "username": "admin", "password": "password"}]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let nodes = app.settled(1, Duration::from_secs(60)).await;
    assert_eq!(nodes[0].state, Some(NodeState::Ready));
}

/// The discovery of 200 simulated nodes over NATS JetStream while nats-server is killed and
/// started again: no event lost (every node ends ready, each with one HardwareDiscovered and
/// one ConfigValidated), no asset duplicated (one node per BMC, 8 distinct GPUs each).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_killed_and_restarted_during_the_discovery_of_200_nodes() {
    let mut server = nats::NatsServer::start(&nats::binary()).await;
    let prefix = format!("e{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let bus: SharedBus = Arc::new(
        fleet_bus::JetStreamBus::connect(
            &server.url(),
            Topology::new(&prefix),
            Duration::from_secs(10),
        )
        .await
        .expect("connect to the test's nats-server"),
    );
    let app = App::start(Some(bus)).await;
    let fleet = sim::Sim::start_within(200, 0.3, Duration::from_secs(180));
    hgx_profile(&app).await;
    let body = json!({"bmcs": fleet.nodes.iter().map(|n| bmc(n, "password")).collect::<Vec<_>>()});
    let t0 = Instant::now();
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery", body)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["created"], 200, "{r}");

    // Kill nats-server once the first nodes are ready, keep it down, start it again.
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready_before = loop {
        let ready = app
            .nodes()
            .await
            .iter()
            .filter(|a| a.state == Some(NodeState::Ready))
            .count();
        if ready >= 1 {
            break ready;
        }
        assert!(
            Instant::now() < deadline,
            "no node became ready within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.spawn().await;
    assert!(
        ready_before < 200,
        "the outage came before the discovery ended"
    );

    let nodes = app.settled(200, Duration::from_secs(480)).await;
    eprintln!(
        "200 nodes discovered over JetStream with a nats-server restart after {ready_before} were ready: settled in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    for n in &nodes {
        assert_eq!(n.state, Some(NodeState::Ready), "{}: {:?}", n.name, n.state);
    }
    let names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names.len(), 200, "one node per BMC");
    let counts = app.store.count_by_kind().await.unwrap();
    assert_eq!(
        counts.get("gpu").copied(),
        Some(1600),
        "8 GPUs per node, none twice: {counts:?}"
    );
    let mut serials = BTreeSet::new();
    for n in &nodes {
        let (_, children) = app.store.get_with_children(&n.id).await.unwrap();
        let gpus: Vec<&Asset> = children
            .iter()
            .filter(|c| c.kind == AssetKind::Gpu)
            .collect();
        assert_eq!(gpus.len(), 8, "{}", n.name);
        serials.extend(gpus.iter().filter_map(|g| g.serial.clone()));
    }
    assert_eq!(serials.len(), 1600, "every GPU serial once");
    for ty in [types::HARDWARE_DISCOVERED, types::CONFIG_VALIDATED] {
        let evs = app.events(ty, None).await;
        let subjects: BTreeSet<&str> = evs.iter().filter_map(|e| e["subject"].as_str()).collect();
        assert_eq!(evs.len(), 200, "{ty}: one per node");
        assert_eq!(subjects.len(), 200, "{ty}: one per node");
    }
    drop(app);
    server.kill().await;
}

/// A node announces itself with its BMC address, host name, serial and MACs: its BMC is
/// registered with the configured announcement credentials and the node becomes ready under
/// its host name; announcing again creates nothing; bad input is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_announcing_itself_is_registered_and_inspected() {
    let app = App::start(None).await;
    let fleet = sim::Sim::start(1, 0.3);
    let n = &fleet.nodes[0];
    let body = json!({"bmc_address": n.redfish, "hostname": "gpu-node-17",
        "serial": "SN-ANNOUNCED", "macs": ["02:00:AA:BB:CC:DD"]});
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery/announce",
            body.clone(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["node_name"], "gpu-node-17", "{r}");
    let nodes = app.settled(1, Duration::from_secs(60)).await;
    assert_eq!(nodes[0].state, Some(NodeState::Ready));
    let bmc_asset = app
        .store
        .get_asset(r["bmc_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        bmc_asset.config["announced"],
        json!({"hostname": "gpu-node-17", "serial": "SN-ANNOUNCED", "macs": ["02:00:aa:bb:cc:dd"]})
    );
    let before = app.asset_count().await;
    let (s, r) = app
        .call(reqwest::Method::POST, "/api/v1/discovery/announce", body)
        .await;
    assert_eq!((s, &r["created"]), (200, &json!(false)), "{r}");
    for (bad, why) in [
        (
            json!({"bmc_address": n.redfish, "macs": ["not-a-mac"]}),
            "not a MAC",
        ),
        (
            json!({"bmc_address": n.redfish, "hostname": "bad host"}),
            "not a host name",
        ),
        (json!({"bmc_address": " "}), "empty"),
        (json!({"bmc": n.redfish}), "unknown field"),
        (
            json!({"bmc_address": "https://bmc.example.net"}),
            "not an IP address",
        ),
    ] {
        let (s, r) = app
            .call(reqwest::Method::POST, "/api/v1/discovery/announce", bad)
            .await;
        assert!(s == 400 || s == 422, "{s} {r}");
        assert!(r.to_string().contains(why), "{why}: {r}");
    }
    // The announcement credentials go to no address outside the BMC networks.
    for outside in [
        json!({"bmc_address": "192.0.2.10"}),
        json!({"bmc_address": n.redfish, "redfish_address": "https://198.51.100.7"}),
        json!({"bmc_address": "http://169.254.169.254:80"}),
    ] {
        let (s, r) = app
            .call(reqwest::Method::POST, "/api/v1/discovery/announce", outside)
            .await;
        assert_eq!(s, 403, "{r}");
        assert!(r.to_string().contains("outside the BMC networks"), "{r}");
    }
    assert_eq!(app.asset_count().await, before);
}

/// BMCs laid out like other makers' firmware (the simulator's personas): a DGX that serves its
/// GPUs only as chassis under ServiceRoot Vendor AMI, a GB200 tray (WIWYNN) whose GPUs report
/// their module's serial in pairs, and a DGX whose GPUs have all fallen off the bus. The first
/// two become ready with every GPU an asset; the third fails inspection saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmcs_of_other_makers_are_inspected_with_every_gpu_and_none_left_behind() {
    let fleet = sim::Sim::start_models(&["dgx-h100", "gb200-tray", "dgx-h100"], 0.3);
    for g in 0..8 {
        fleet
            .inject("gpu_off_bus", &fleet.nodes[2].id, json!({"gpu": g}))
            .await;
    }
    let app = App::start(None).await;
    let bmcs: Vec<Value> = fleet
        .nodes
        .iter()
        .map(|n| json!({"address": n.redfish, "username": "admin", "password": "password"}))
        .collect();
    let (s, r) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/discovery",
            json!({ "bmcs": bmcs }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let ids: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["node_id"].as_str().unwrap().to_string())
        .collect();
    app.settled(3, Duration::from_secs(90)).await;
    let gpus_of = |id: String| {
        let store = app.store.clone();
        async move {
            store
                .list_assets(&AssetFilter {
                    kind: Some(AssetKind::Gpu),
                    parent_id: Some(id),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
                .items
        }
    };
    let dgx = app.store.get_asset(&ids[0]).await.unwrap();
    assert_eq!(dgx.state, Some(NodeState::Ready));
    let gpus = gpus_of(ids[0].clone()).await;
    assert_eq!(gpus.len(), 8);
    assert!(gpus.iter().all(|g| g.config["model"] == H100));

    let tray = app.store.get_asset(&ids[1]).await.unwrap();
    assert_eq!(tray.state, Some(NodeState::Ready));
    let gpus = gpus_of(ids[1].clone()).await;
    assert_eq!(gpus.len(), 4, "{gpus:?}");
    let serials: BTreeSet<&str> = gpus
        .iter()
        .map(|g| g.config["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 2, "{serials:?}");
    let warnings = tray.config["inventory_warnings"].to_string();
    assert!(warnings.contains("gpu serials:"), "{warnings}");

    let gone = app.store.get_asset(&ids[2]).await.unwrap();
    assert_eq!(gone.state, Some(NodeState::InspectionFailed));
    let h = app.store.lifecycle_history(&gone.id).await.unwrap();
    let reason = h.last().unwrap().reason.clone().unwrap();
    assert!(
        reason.starts_with("no GPU found") && reason.contains("DGX H100"),
        "{reason}"
    );
    assert!(gpus_of(ids[2].clone()).await.is_empty());
    // The reason is in the node's status, not only in its history.
    let (s, v) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{}", ids[2]),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let f = &v["status"]["last_inspection_failure"];
    assert_eq!(f["reason"], reason.as_str(), "{v}");
    assert_eq!(f["actor"], "system:enricher", "{v}");
    let (_, v) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{}", ids[0]),
            Value::Null,
        )
        .await;
    assert!(v["status"].get("last_inspection_failure").is_none(), "{v}");
}

/// A rack PDU of the simulator with its Redfish controller in the CMDB: the liveness round
/// reads its outlets; an outlet that powers a node reporting off raises `PduFeedLost` (an
/// empty one raises nothing), a dark PDU `PduUnreachable`, and both resolve when it recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_pdu_raises_and_resolves_feed_and_unreachable_alerts() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start(None).await;
    let (pdu, url) = fleet
        .pdus
        .first()
        .expect("the simulator serves its PDU")
        .clone();
    let doc = json!({
        "racks": [{"name": "rack-a"}],
        "pdus": [{"name": pdu, "rack": "rack-a", "outlets": 5, "address": url,
                  "username": "admin", "password": "password"}],
        "nodes": [{"name": "p-n1", "rack": "rack-a", "power": {"pdu": pdu, "outlet": 3}}],
    });
    let (s, body) = app
        .call(reqwest::Method::POST, "/api/v1/import?format=yaml", doc)
        .await;
    assert!(s == 200 || s == 201, "{s} {body}");
    let round = || async {
        app.enricher()
            .pdu_round(Duration::ZERO, &CancellationToken::new())
            .await
    };
    let alerts = || async {
        let (_, a) = app
            .call(reqwest::Method::GET, "/api/v1/alerts", json!(null))
            .await;
        a["alerts"].as_array().cloned().unwrap_or_default()
    };
    let named = |all: &[Value], name: &str| -> Vec<Value> {
        all.iter()
            .filter(|a| a["labels"]["alertname"] == name)
            .cloned()
            .collect()
    };
    let first = round().await;
    let (_, st) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/telemetry/status",
            json!(null),
        )
        .await;
    assert_eq!(first, (1, 1), "{}", st["pdus"]);
    let p = &st["pdus"][0];
    assert_eq!(p["name"], pdu.as_str(), "{st}");
    assert_eq!(p["reachable"], true, "{st}");
    assert_eq!(p["outlets_on"], 5, "{st}");
    assert!(alerts().await.is_empty());

    // Outlet 3 powers p-n1 in the CMDB; outlet 4 nothing.
    let f3 = fleet
        .inject("outlet_power_loss", &format!("{pdu}/3"), json!({}))
        .await;
    let f4 = fleet
        .inject("outlet_power_loss", &format!("{pdu}/4"), json!({}))
        .await;
    assert_eq!(round().await, (1, 1));
    let all = alerts().await;
    let feed = named(&all, "PduFeedLost");
    assert_eq!(feed.len(), 1, "{all:?}");
    assert_eq!(feed[0]["labels"]["outlet"], "3");
    assert!(
        feed[0]["asset_id"].is_string(),
        "resolved to the outlet: {feed:?}"
    );
    assert!(feed[0]["ends_at"].is_null());
    let (_, st) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/telemetry/status",
            json!(null),
        )
        .await;
    assert_eq!(st["pdus"][0]["outlets_off"], json!([3]), "{st}");
    fleet.clear(&f3).await;
    fleet.clear(&f4).await;
    assert_eq!(round().await, (1, 1));
    assert!(named(&alerts().await, "PduFeedLost")[0]["ends_at"].is_string());

    // The whole PDU dark: its controller with it.
    let dark = fleet.inject("pdu_power_loss", &pdu, json!({})).await;
    assert_eq!(round().await, (1, 0));
    let un = named(&alerts().await, "PduUnreachable");
    assert_eq!(un.len(), 1);
    assert_eq!(un[0]["labels"]["pdu"], pdu.as_str());
    assert!(un[0]["ends_at"].is_null());
    let (_, st) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/telemetry/status",
            json!(null),
        )
        .await;
    assert_eq!(st["pdus"][0]["reachable"], false, "{st}");
    assert!(st["pdus"][0]["error"].is_string(), "{st}");
    fleet.clear(&dark).await;
    assert_eq!(round().await, (1, 1));
    assert!(named(&alerts().await, "PduUnreachable")[0]["ends_at"].is_string());
}

/// A CDU of the simulator with its Redfish controller in the CMDB: the liveness round reads its
/// status; a failed CDU raises `CduFault` (resolved to the CDU), which the correlation makes
/// the announced root cause of a cooling incident, and it resolves when the CDU recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_cdu_raises_and_resolves_its_fault() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = App::start(None).await;
    let (cdu, url) = fleet
        .cdus
        .first()
        .expect("the simulator serves a CDU")
        .clone();
    let doc = json!({
        "racks": [{"name": "rack-a"}],
        "cdus": [{"name": cdu, "racks": ["rack-a"], "address": url,
                  "username": "admin", "password": "password"}],
    });
    let (s, body) = app
        .call(reqwest::Method::POST, "/api/v1/import?format=yaml", doc)
        .await;
    assert!(s == 200 || s == 201, "{s} {body}");
    let round = || async {
        app.enricher()
            .cdu_round(Duration::ZERO, &CancellationToken::new())
            .await
    };
    let faults = || async {
        let (_, a) = app
            .call(reqwest::Method::GET, "/api/v1/alerts", json!(null))
            .await;
        a["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == "CduFault")
            .collect::<Vec<Value>>()
    };
    let status = || async {
        let (_, st) = app
            .call(
                reqwest::Method::GET,
                "/api/v1/telemetry/status",
                json!(null),
            )
            .await;
        st["cdus"][0].clone()
    };
    assert_eq!(round().await, (1, 1));
    let st = status().await;
    assert_eq!(st["name"], cdu.as_str(), "{st}");
    assert_eq!(st["health"], "OK", "{st}");
    assert!(faults().await.is_empty());

    let f = fleet.inject("cdu_failure", &cdu, json!({})).await;
    assert_eq!(round().await, (1, 1));
    let st = status().await;
    assert_eq!(st["health"], "Critical", "{st}");
    let fault = faults().await;
    assert_eq!(fault.len(), 1, "{fault:?}");
    assert_eq!(fault[0]["labels"]["cdu"], cdu.as_str());
    assert!(
        fault[0]["asset_id"].is_string(),
        "resolved to the CDU: {fault:?}"
    );
    assert!(fault[0]["ends_at"].is_null());
    let (_, incidents) = app
        .call(reqwest::Method::GET, "/api/v1/incidents", json!(null))
        .await;
    let inc = incidents
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["root_cause"]["fault"] == "cooling_failed")
        .unwrap_or_else(|| panic!("a cooling incident: {incidents}"));
    assert_eq!(inc["root_cause"]["kind"], "cdu", "{inc}");
    assert_eq!(inc["root_cause"]["belief"], "announced", "{inc}");
    assert!(inc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "facilities_cooling"));

    fleet.clear(&f).await;
    assert_eq!(round().await, (1, 1));
    assert!(faults().await[0]["ends_at"].is_string());
    assert_eq!(status().await["health"], "OK");
}
