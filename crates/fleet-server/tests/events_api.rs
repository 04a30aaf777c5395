//! Event query filters, the live SSE stream, and the dead-letter endpoints,
//! over a real socket with the in-process bus.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_bus::worker::{self, Handler, HandlerError, WorkerOptions, WorkerStats};
use fleet_bus::{ConsumerSpec, Delivery, InProcessBus, SharedBus};
use fleet_db::{Actor, NewUser, Store, StoreOptions};
use fleet_model::rbac::Role;
use fleet_server::config::Config;
use fleet_server::state::AppState;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

struct App {
    base: String,
    http: reqwest::Client,
    token: String,
    viewer: String,
    bus: SharedBus,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn start() -> App {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap();
    for (name, role) in [("admin", Role::Admin), ("viewer", Role::Viewer)] {
        store
            .create_user(
                &Actor::system("test"),
                NewUser {
                    username: name.into(),
                    password_hash: fleet_server::auth::hash_password("password-123").unwrap(),
                    role,
                },
            )
            .await
            .unwrap();
    }
    let bus: SharedBus = Arc::new(InProcessBus::new(cfg.bus.topology()));
    let st = AppState::with_bus(store, cfg, bus.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(fleet_server::relay::run(st.clone(), shutdown.clone()));
    tokio::spawn(fleet_server::app::serve(st, listener, shutdown.clone()));
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for name in ["admin", "viewer"] {
        let r: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": name, "password": "password-123"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(r["token"].as_str().unwrap().to_string());
    }
    App {
        base,
        http,
        viewer: tokens.pop().unwrap(),
        token: tokens.pop().unwrap(),
        bus,
        shutdown,
        _dir: dir,
    }
}

impl App {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, kind: &str, name: &str, request_id: &str) -> String {
        let r: Value = self
            .http
            .post(format!("{}/api/v1/assets", self.base))
            .bearer_auth(&self.token)
            .header("x-request-id", request_id)
            .json(&json!({"kind": kind, "name": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["id"].as_str().unwrap().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_filters_by_type_asset_time_and_correlation_with_a_cursor() {
    let app = start().await;
    let n1 = app.create("node", "n1", "req-1").await;
    let _rack = app.create("rack", "r1", "req-1").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mid = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let n2 = app.create("node", "n2", "req-2").await;

    let (s, all) = app.get("/api/v1/events").await;
    assert_eq!(s, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    let (_, nodes) = app.get("/api/v1/events?type=HardwareDiscovered").await;
    let subjects: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, vec![n1.as_str(), n2.as_str()]);
    let (_, both) = app
        .get("/api/v1/events?type=io.gpufleet.asset.created.v1,hardwarediscovered")
        .await;
    assert_eq!(both["items"].as_array().unwrap().len(), 3);

    let (_, by_asset) = app.get(&format!("/api/v1/events?asset={n2}")).await;
    assert_eq!(by_asset["items"].as_array().unwrap().len(), 1);
    let (_, corr) = app.get("/api/v1/events?correlation_id=req-1").await;
    let corr = corr["items"].as_array().unwrap();
    assert_eq!(corr.len(), 2);
    assert!(corr.iter().all(|e| e["correlationid"] == "req-1"));
    let (_, since) = app.get(&format!("/api/v1/events?since={mid}")).await;
    assert_eq!(since["items"][0]["subject"], n2.as_str());
    assert_eq!(since["items"].as_array().unwrap().len(), 1);
    let (_, until) = app.get(&format!("/api/v1/events?until={mid}")).await;
    assert_eq!(until["items"].as_array().unwrap().len(), 2);

    let (_, p1) = app.get("/api/v1/events?limit=2").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(&format!("/api/v1/events?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert!(p2["next_cursor"].is_null());
    assert_eq!(p2["items"][0]["id"], all["items"][2]["id"]);

    for bad in [
        "/api/v1/events?type=NoSuchThing",
        "/api/v1/events?since=yesterday",
        "/api/v1/events?cursor=abc",
        "/api/v1/events?limit=0",
    ] {
        let (s, p) = app.get(bad).await;
        assert_eq!(s, 400, "{bad}: {p}");
    }

    let (s, types) = app.get("/api/v1/events/types").await;
    assert_eq!(s, 200);
    let hd = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "HardwareDiscovered")
        .unwrap();
    assert_eq!(hd["subject"], "gpufleet.hardware.discovered.<asset>");
    app.shutdown.cancel();
}

/// Reads SSE `data:` lines of `event: cloudevent` until `n` arrived.
async fn read_events(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    n: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(pos) = buf.find("\n\n") {
            let block: String = buf.drain(..pos + 2).collect();
            if block.contains("event: cloudevent") {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                out.push(serde_json::from_str(data).unwrap());
            }
        }
        if out.len() >= n {
            return out;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, body.next())
            .await
            .expect("events within 10 s")
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_sends_matching_events_live_replays_from_a_cursor_and_ends_on_shutdown() {
    let app = start().await;
    let before = app.create("node", "n0", "req-0").await;
    tokio::time::sleep(Duration::from_millis(300)).await; // published by the relay
    let r = app
        .http
        .get(format!(
            "{}/api/v1/events/stream?type=HardwareDiscovered&cursor=0&heartbeat=1",
            app.base
        ))
        .bearer_auth(&app.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    // Replayed from the cursor.
    let replayed = read_events(&mut body, &mut buf, 1).await;
    assert_eq!(replayed[0]["subject"], before.as_str());
    // Live: the rack is filtered out, the node arrives.
    let t = Instant::now();
    app.create("rack", "r1", "req-1").await;
    let n1 = app.create("node", "n1", "req-2").await;
    let live = read_events(&mut body, &mut buf, 1).await;
    assert_eq!(live[0]["subject"], n1.as_str());
    assert_eq!(live[0]["type"], "io.gpufleet.hardware.discovered.v1");
    println!("commit to SSE client: {:?}", t.elapsed());
    // Heartbeats keep the connection alive while idle.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !buf.contains(": heartbeat") {
        assert!(Instant::now() < deadline, "no heartbeat");
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Shutdown ends the stream.
    app.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(c) = body.next().await {
            if c.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the stream did not end on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_with_last_event_id_gets_what_it_missed_first() {
    let app = start().await;
    let open = |last: Option<String>| {
        let mut r = app
            .http
            .get(format!(
                "{}/api/v1/events/stream?type=HardwareDiscovered&heartbeat=1",
                app.base
            ))
            .bearer_auth(&app.viewer);
        if let Some(id) = last {
            r = r.header("last-event-id", id);
        }
        r.send()
    };
    let r = open(None).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    let a = app.create("node", "la", "req-a").await;
    let first = read_events(&mut body, &mut buf, 1).await;
    assert_eq!(first[0]["subject"], a.as_str());
    let seen = first[0]["id"].as_str().unwrap().to_string();
    // The client goes away; two nodes are created while it is gone.
    drop(body);
    let b = app.create("node", "lb", "req-b").await;
    let c = app.create("node", "lc", "req-c").await;
    tokio::time::sleep(Duration::from_millis(300)).await; // published by the relay
    let r = open(Some(seen.clone())).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    let missed = read_events(&mut body, &mut buf, 2).await;
    let subjects: Vec<_> = missed
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        vec![b.as_str(), c.as_str()],
        "the missed events, in order, nothing before"
    );
    // And live again.
    let d = app.create("node", "ld", "req-d").await;
    let live = read_events(&mut body, &mut buf, 1).await;
    assert_eq!(live[0]["subject"], d.as_str());
    // An id that is not kept is refused, not silently streamed from now.
    let r = open(Some("no-such-event".into())).await.unwrap();
    assert_eq!(r.status(), 404);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("Last-Event-ID"),
        "{p}"
    );
}

struct AlwaysFails;

impl Handler for AlwaysFails {
    fn handle<'a>(&'a self, _d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        async { Err(HandlerError::Permanent("no Redfish inventory".into())) }.boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_redriven_by_admins_only() {
    let app = start().await;
    let stats = Arc::new(WorkerStats::default());
    let stop = CancellationToken::new();
    tokio::spawn(worker::run(
        app.bus.clone(),
        ConsumerSpec::new("enricher", "hardware"),
        WorkerOptions::default(),
        Arc::new(AlwaysFails),
        stats.clone(),
        stop.clone(),
    ));
    let node = app.create("node", "n1", "req-1").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while WorkerStats::get(&stats.dead_lettered) < 1 {
        assert!(Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();

    let (s, page) = app.get("/api/v1/events/dead-letters").await;
    assert_eq!(s, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let dl = &items[0];
    assert_eq!(dl["consumer"], "enricher");
    assert_eq!(dl["event"]["subject"], node.as_str());
    assert_eq!(dl["error"], "no Redfish inventory");
    assert_eq!(dl["attempts"], 1);
    let (_, none) = app
        .get("/api/v1/events/dead-letters?consumer=someone-else")
        .await;
    assert!(none["items"].as_array().unwrap().is_empty());

    let seq = dl["seq"].as_u64().unwrap();
    let url = format!("{}/api/v1/events/dead-letters/{seq}/redrive", app.base);
    let denied = app
        .http
        .post(&url)
        .bearer_auth(&app.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let r = app
        .http
        .post(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["stream"], "GPUFLEET_HARDWARE");
    let stream = app.bus.topology().stream("hardware");
    let back = app
        .bus
        .read(&stream, res["stream_seq"].as_u64().unwrap(), 1)
        .await
        .unwrap();
    assert_eq!(back[0].event_id(), dl["event_id"].as_str().unwrap());
    let (_, after) = app.get("/api/v1/events/dead-letters").await;
    assert!(after["items"].as_array().unwrap().is_empty());
    let (_, audit) = app.get("/api/v1/audit?kind=event").await;
    let redriven = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["action"] == "event.redrive"
                && a["before_doc"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&seq.to_string())
        })
        .count();
    assert_eq!(redriven, 1, "the redrive is audited: {audit}");
    let again = app
        .http
        .post(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    app.shutdown.cancel();
}
