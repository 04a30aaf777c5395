//! Telemetry over the API: the write routes (gpufleet's, InfluxDB v1 and v2 with gzip), GPU and
//! node health, XID → failed with its catalog meaning, the `gpu.status_changed` event and the
//! health history row, partial writes, unknown senders, and who may write.

mod common;
#[path = "../../fleet-bmc/tests/common/mod.rs"]
mod sim;

use std::io::Write;
use std::time::Duration;

use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// A node `name` with `gpus` GPUs (serials `<name>-S<i>`, UUIDs `GPU-<name>-<i>`, index in
/// their configuration); returns (node id, GPU ids).
async fn node_with_gpus(app: &TestApp, name: &str, gpus: usize) -> (String, Vec<String>) {
    let (s, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": name}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let node = n["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..gpus {
        let (s, g) = app
            .admin(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "gpu", "name": format!("{name}-gpu{i}"), "parent_id": node,
                       "config": {"model": "H100", "serial": format!("{name}-S{i}"),
                                  "uuid": format!("GPU-{name}-{i}"), "index": i}}),
            )
            .await;
        assert_eq!(s, 201, "{g}");
        ids.push(g["id"].as_str().unwrap().to_string());
    }
    (node, ids)
}

/// Rack `rack` holding a node `name` with `gpus` GPUs (as [`node_with_gpus`]).
async fn node_in_rack(app: &TestApp, rack: &str, name: &str, gpus: usize) -> (String, Vec<String>) {
    let (s, r) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": rack}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (node, ids) = node_with_gpus(app, name, gpus).await;
    let (s, n) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/assets/{node}"),
            json!({"parent_id": r["id"]}),
        )
        .await;
    assert_eq!(s, 200, "{n}");
    (node, ids)
}

async fn post_lines(
    app: &TestApp,
    role: Role,
    path: &str,
    body: Vec<u8>,
    gzip: bool,
) -> (u16, Value) {
    let mut r = app.req(role, Method::POST, path);
    if gzip {
        r = r.header("content-encoding", "gzip");
    }
    let r = r.body(body).send().await.unwrap();
    let s = r.status().as_u16();
    if s != 204 {
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A node `name` with two GPUs that report healthy samples, then an XID 79 (at `temp` °C) on the
/// second; returns (node id, GPU ids).
async fn two_gpus_then_xid_79(app: &TestApp, name: &str, temp: f64) -> (String, Vec<String>) {
    let (node, gpus) = node_with_gpus(app, name, 2).await;
    let lines = format!(
        "gpu,uuid=GPU-{name}-0 gpu_temp=40,xid=0\ngpu,uuid=GPU-{name}-1 gpu_temp=40,xid=0\n"
    );
    let xid = format!("gpu,uuid=GPU-{name}-1 DCGM_FI_DEV_XID_ERRORS=79,gpu_temp={temp}");
    for body in [lines, xid] {
        let (s, v) = post_lines(
            app,
            Role::Operator,
            "/api/v1/telemetry/write",
            body.into_bytes(),
            false,
        )
        .await;
        assert_eq!(s, 204, "{v}");
    }
    (node, gpus)
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    app.admin(Method::GET, path, Value::Null).await
}

#[tokio::test]
async fn pushed_samples_give_gpu_and_node_health_on_all_three_write_paths() {
    let app = TestApp::start().await;
    let (node, gpus) = node_with_gpus(&app, "n1", 3).await;

    // gpufleet's own route: the agent's canonical names, keyed by serial.
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        b"gpu,serial=n1-S0,node=n1 gpu_temp=41,power_usage=300.5\n".to_vec(),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    // InfluxDB v1 (Telegraf's influxdb output): dcgm names, node + index, second precision,
    // token as the basic-auth password.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = app
        .http
        .post(format!("{}/write?db=telegraf&precision=s", app.base))
        .basic_auth("telegraf", Some(&app.tokens[&Role::Operator]))
        .body(format!(
            "dcgm,Hostname=N1,gpu=1 DCGM_FI_DEV_GPU_TEMP=44,DCGM_FI_DEV_POWER_USAGE=280 {now_s}\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    // InfluxDB v2 (Telegraf's influxdb_v2 output): gzip, `Authorization: Token`, keyed by UUID.
    let r = app
        .http
        .post(format!(
            "{}/api/v2/write?org=o&bucket=b&precision=ns",
            app.base
        ))
        .header(
            "authorization",
            format!("Token {}", app.tokens[&Role::Operator]),
        )
        .header("content-encoding", "gzip")
        .body(gz(
            "nvidia_smi,uuid=gpu-N1-2,host=elsewhere temperature_gpu=39i,power_draw=250\n",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());

    for (i, (gpu, temp)) in gpus.iter().zip([41.0, 44.0, 39.0]).enumerate() {
        let (s, h) = get(&app, &format!("/api/v1/gpus/{gpu}/health")).await;
        assert_eq!(s, 200, "{h}");
        assert_eq!(h["status"]["state"], "healthy", "GPU {i}: {h}");
        assert_eq!(h["status"]["fields"]["gpu_temp"], temp, "GPU {i}: {h}");
        let seen = h["status"]["last_seen"].as_str().unwrap();
        assert!(
            seen.ends_with('Z') && seen.len() == "2026-12-04T22:50:37.123Z".len(),
            "{h}"
        );
        assert_eq!(h["node"], node);
    }
    // By serial and by name too.
    let (s, h) = get(&app, "/api/v1/gpus/n1-S0/health").await;
    assert_eq!((s, h["gpu"].as_str()), (200, Some(gpus[0].as_str())));
    let (s, h) = get(&app, "/api/v1/gpus/n1-gpu1/health").await;
    assert_eq!((s, h["gpu"].as_str()), (200, Some(gpus[1].as_str())));
    let (s, _) = get(&app, "/api/v1/gpus/no-such-gpu/health").await;
    assert_eq!(s, 404);

    let (s, n) = get(&app, "/api/v1/nodes/n1/health").await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n["state"], "healthy");
    assert_eq!(n["gpus"].as_array().unwrap().len(), 3);
    assert!(n["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["state"] == "healthy"));

    let (_, st) = get(&app, "/api/v1/telemetry/status").await;
    assert_eq!(st["samples_ingested"], 6, "{st}");
    assert_eq!(st["gpus_tracked"], 3);
    assert_eq!(st["health"]["healthy"], 3);
    assert_eq!(st["unknown_samples"], 0);
    // First sample of each GPU: unknown → healthy, recorded.
    // …and the node's first roll-up, a system.status_changed event.
    assert_eq!(st["events_written"], 4);
}

#[tokio::test]
async fn an_xid_79_fails_the_gpu_with_its_meaning_an_event_and_a_history_row() {
    let app = TestApp::start().await;
    let (node, gpus) = two_gpus_then_xid_79(&app, "n1", 41.0).await;

    let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[1])).await;
    assert_eq!(h["status"]["state"], "failed", "{h}");
    let reason = &h["status"]["reasons"][0];
    assert_eq!(reason["kind"], "xid");
    assert_eq!(reason["code"], 79);
    assert_eq!(
        reason["mnemonic"],
        "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS"
    );
    assert!(reason["description"]
        .as_str()
        .unwrap()
        .contains("fallen off the bus"));
    assert_eq!(reason["bucket"], "RESTART_BM");
    // History follows the serial: unknown → healthy, healthy → failed.
    let hist = h["history"].as_array().unwrap();
    assert_eq!(hist.len(), 2, "{h}");
    assert_eq!(hist[0]["old_state"], "healthy");
    assert_eq!(hist[0]["new_state"], "failed");
    assert_eq!(hist[0]["gpu_key"], "n1-S1");
    assert_eq!(hist[0]["node_id"], node.as_str());
    let rows = app.store.gpu_health_history("n1-S1", 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].reasons.contains("\"code\":79"),
        "{}",
        rows[0].reasons
    );

    // The other GPU is untouched; the node rolls up to failed naming the GPU.
    let (_, h0) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[0])).await;
    assert_eq!(h0["status"]["state"], "healthy");
    let (_, n) = get(&app, &format!("/api/v1/nodes/{node}/health")).await;
    assert_eq!(n["state"], "failed", "{n}");
    assert_eq!(n["reasons"][0]["gpu"], gpus[1].as_str());

    // The same XID again, and more samples: no new change, no new event.
    post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        b"gpu,uuid=GPU-n1-1 xid=79,gpu_temp=42".to_vec(),
        false,
    )
    .await;

    // The event, through the outbox and the relay.
    let mut events = Value::Null;
    for _ in 0..100 {
        let (_, e) = get(
            &app,
            &format!("/api/v1/events?type=GPUStatusChanged&asset={}", gpus[1]),
        )
        .await;
        if e["items"].as_array().is_some_and(|a| a.len() >= 2) {
            events = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = events["items"]
        .as_array()
        .expect("gpu.status_changed events");
    assert_eq!(items.len(), 2, "{events}");
    let last = &items[1];
    assert_eq!(last["type"], "io.gpufleet.gpu.status_changed.v1");
    assert_eq!(last["data"]["old"]["state"], "healthy");
    assert_eq!(last["data"]["new"]["state"], "failed");
    assert_eq!(last["data"]["new"]["reasons"][0]["code"], 79);
    assert_eq!(last["data"]["serial"], "n1-S1");
}

#[tokio::test]
async fn a_malformed_body_names_its_bad_lines_and_keeps_the_good_ones() {
    let app = TestApp::start().await;
    let (_, gpus) = node_with_gpus(&app, "n1", 2).await;
    let body = "gpu,serial=n1-S0 gpu_temp=50\nthis is not line protocol\ngpu,serial=n1-S1 gpu_temp=\ngpu,serial=n1-S1 gpu_temp=52\n";
    for (path, gzip) in [
        ("/api/v1/telemetry/write", false),
        ("/api/v2/write?bucket=b", true),
    ] {
        let payload = if gzip {
            gz(body)
        } else {
            body.as_bytes().to_vec()
        };
        let (s, p) = post_lines(&app, Role::Operator, path, payload, gzip).await;
        assert_eq!(s, 400, "{p}");
        assert_eq!(p["rejected_lines"], 2, "{p}");
        let lines: Vec<u64> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, vec![2, 3], "{p}");
        assert!(p["detail"].as_str().unwrap().contains("line 2"), "{p}");
        assert!(p["error"].as_str().unwrap().starts_with("partial write"));
    }
    for (gpu, temp) in gpus.iter().zip([50.0, 52.0]) {
        let (_, h) = get(&app, &format!("/api/v1/gpus/{gpu}/health")).await;
        assert_eq!(h["status"]["fields"]["gpu_temp"], temp, "{h}");
    }
    // Bad parameters and encodings.
    let (s, _) = post_lines(
        &app,
        Role::Operator,
        "/write?precision=h",
        b"gpu,serial=n1-S0 gpu_temp=1".to_vec(),
        false,
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        b"not gzip".to_vec(),
        true,
    )
    .await;
    assert_eq!(s, 400);
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/telemetry/write")
        .header("content-encoding", "br")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

#[tokio::test]
async fn unknown_senders_are_counted_by_key() {
    let app = TestApp::start().await;
    node_with_gpus(&app, "n1", 1).await;
    let body = "gpu,uuid=GPU-nobody-0 gpu_temp=40,power_usage=1\ngpu,serial=n1-S0 gpu_temp=40\nDCGM_FI_DEV_GPU_TEMP,Hostname=ghost,gpu=3 gauge=30\ngpu gpu_temp=1\ngpu,serial=n1-S0 made_up_metric=3\n";
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        body.into(),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (_, st) = get(&app, "/api/v1/telemetry/status").await;
    assert_eq!(st["samples_ingested"], 1, "{st}");
    assert_eq!(st["unknown_samples"], 4, "{st}");
    let senders: Vec<(String, u64)> = st["unknown_senders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["key"].as_str().unwrap().to_string(),
                u["samples"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        senders,
        vec![
            ("uuid=GPU-nobody-0".to_string(), 2),
            ("anonymous".to_string(), 1),
            ("node=ghost gpu=3".to_string(), 1),
        ]
    );
    assert_eq!(st["unmapped_names"]["made_up_metric"], 1, "{st}");
}

#[tokio::test]
async fn a_viewer_cannot_write_telemetry_but_can_read_health() {
    let app = TestApp::start().await;
    let (_, gpus) = node_with_gpus(&app, "n1", 1).await;
    for path in ["/api/v1/telemetry/write", "/write", "/api/v2/write"] {
        let (s, p) = post_lines(
            &app,
            Role::Viewer,
            path,
            b"gpu,serial=n1-S0 gpu_temp=1".to_vec(),
            false,
        )
        .await;
        assert_eq!(s, 403, "{path}: {p}");
    }
    // No token at all: 401, also on the InfluxDB paths.
    let r = app
        .http
        .post(format!("{}/api/v2/write", app.base))
        .body("gpu,serial=n1-S0 gpu_temp=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A wrong `p=` is refused; the right one is taken on /write only.
    let r = app
        .http
        .post(format!("{}/write?db=x&u=a&p=wrong", app.base))
        .body("gpu,serial=n1-S0 gpu_temp=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(format!(
            "{}/write?db=x&u=a&p={}",
            app.base,
            app.tokens[&Role::Operator]
        ))
        .body("gpu,serial=n1-S0 gpu_temp=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .req(
            Role::Viewer,
            Method::GET,
            &format!("/api/v1/gpus/{}/health", gpus[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["status"]["fields"]["gpu_temp"], 1.0);
}

#[tokio::test]
async fn a_prometheus_page_is_ingested_like_a_scrape() {
    let app = TestApp::start().await;
    let (_, gpus) = node_with_gpus(&app, "n1", 1).await;
    let page = "# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).\n# TYPE DCGM_FI_DEV_GPU_TEMP gauge\nDCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-n1-0\",Hostname=\"n1\",modelName=\"H100\"} 88\n";
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write?format=prometheus",
        page.into(),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[0])).await;
    assert_eq!(h["status"]["state"], "degraded", "88 °C is over 85: {h}");
    assert_eq!(h["status"]["reasons"][0]["kind"], "thermal");
}

/// What the simulator says of one of its nodes (its GPUs with serials and UUIDs) and the URL of
/// that node's dcgm-exporter page.
async fn sim_node(fleet: &sim::Sim, node_id: &str) -> (Value, String) {
    let get = |url: String| async move {
        reqwest::Client::new()
            .get(url)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let truth = get(format!("{}/nodes/{node_id}", fleet.control)).await;
    let desc = get(format!("{}/fleet", fleet.control)).await;
    let metrics = desc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == node_id)
        .and_then(|n| n["metrics"].as_str())
        .unwrap_or_else(|| panic!("no metrics URL for {node_id}: {desc}"))
        .to_string();
    (truth, metrics)
}

/// The simulator's dcgm-exporter page for a node registered in the CMDB (GPUs with the serials
/// and UUIDs its Redfish reports, as the enricher stores them): every GPU resolves by UUID and
/// is healthy; an injected XID 48 turns that GPU failed with the XID and ECC DBE reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_metrics_page_resolves_by_uuid_and_an_injected_xid_fails_the_gpu() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = TestApp::start().await;
    let node_id = fleet.nodes[0].id.clone();
    let (truth, metrics) = sim_node(&fleet, &node_id).await;
    let http = reqwest::Client::new();
    // The CMDB as the enricher leaves it: a node named differently from the exporter's
    // Hostname, GPUs with serial and `GPU-<lowercase>` UUID.
    let (s, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "cmdb-node-1"}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let mut gpus = Vec::new();
    for g in truth["gpus"].as_array().unwrap() {
        let uuid = g["uuid"].as_str().unwrap();
        let stored = format!(
            "GPU-{}",
            uuid.trim_start_matches("GPU-").to_ascii_lowercase()
        );
        let (s, a) = app
            .admin(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "gpu", "name": format!("gpu-{}", g["serial"].as_str().unwrap()),
                       "parent_id": n["id"], "config": {"serial": g["serial"], "uuid": stored}}),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        gpus.push(a["id"].as_str().unwrap().to_string());
    }
    assert_eq!(gpus.len(), 8);

    let scrape_and_push = || async {
        let page = http
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (s, v) = post_lines(
            &app,
            Role::Operator,
            "/api/v1/telemetry/write?format=prometheus",
            page.into_bytes(),
            false,
        )
        .await;
        assert_eq!(s, 204, "{v}");
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        scrape_and_push().await;
        let (_, st) = get(&app, "/api/v1/telemetry/status").await;
        if st["health"]["healthy"] == 8 {
            assert_eq!(st["unknown_samples"], 0, "{st}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator's GPUs did not all turn healthy: {st}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[3])).await;
    assert!(
        h["status"]["fields"]["gpu_temp"].as_f64().unwrap() > 0.0,
        "{h}"
    );

    fleet
        .inject("xid", &node_id, json!({"gpu": 3, "xid": 48}))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        scrape_and_push().await;
        let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[3])).await;
        if h["status"]["state"] == "failed" {
            let kinds: Vec<&str> = h["status"]["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["kind"].as_str().unwrap())
                .collect();
            assert!(kinds.contains(&"xid"), "{h}");
            assert!(kinds.contains(&"ecc_dbe"), "{h}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "GPU 3 did not turn failed: {h}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[2])).await;
    assert_eq!(h["status"]["state"], "healthy", "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: GPUFLEET_TEST_REDIS_URL from scripts/services.sh up redis; scripts/test.sh runs it"]
async fn with_redis_another_gpufleet_process_reads_the_same_gpu_health() {
    let url = std::env::var("GPUFLEET_TEST_REDIS_URL").expect(
        "GPUFLEET_TEST_REDIS_URL is not set: run the tests through scripts/test.sh, which starts Redis",
    );
    let prefix = format!("gftest-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::start_with(|c| {
        c.redis_url = url.clone();
        c.redis_prefix = prefix.clone();
    })
    .await;
    let (node, gpus) = two_gpus_then_xid_79(&app, "r1", 44.5).await;

    // A second gpufleet over the same database and Redis, started after the samples arrived
    // (a replica, or this one restarted): it has seen no sample itself.
    let cfg = fleet_server::config::Config {
        data_dir: app.dir.path().to_path_buf(),
        redis_url: url.clone(),
        redis_prefix: prefix.clone(),
        ..Default::default()
    };
    let hot = fleet_server::server::open_hot_status(&cfg).await.unwrap();
    assert!(hot.is_some());
    let bus = std::sync::Arc::new(fleet_bus::InProcessBus::new(cfg.bus.topology()));
    let st = fleet_server::state::AppState::with_parts(app.store.clone(), cfg, bus, hot, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(fleet_server::app::serve(st, listener, stop.clone()));
    let read = |path: String| {
        let http = app.http.clone();
        let token = app.tokens[&Role::Viewer].clone();
        let base = second.clone();
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let h = read(format!("/api/v1/gpus/{}/health", gpus[1])).await;
    assert_eq!(h["status"]["state"], "failed", "{h}");
    assert_eq!(h["status"]["reasons"][0]["code"], 79, "{h}");
    assert_eq!(h["status"]["fields"]["gpu_temp"], 44.5, "{h}");
    assert_eq!(h["status"]["node"], node.as_str(), "{h}");
    let h = read(format!("/api/v1/gpus/{}/health", gpus[0])).await;
    assert_eq!(h["status"]["state"], "healthy", "{h}");
    let n = read(format!("/api/v1/nodes/{node}/health")).await;
    assert_eq!(n["state"], "failed", "{n}");
    let states: Vec<_> = n["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["state"].clone())
        .collect();
    assert_eq!(states.len(), 2, "{n}");
    assert!(
        states.contains(&json!("failed")) && states.contains(&json!("healthy")),
        "{n}"
    );
    let t = read("/api/v1/telemetry/status".into()).await;
    assert_eq!(t["health"], json!({"failed": 1, "healthy": 1}), "{t}");
    assert_eq!(
        t["samples_ingested"], 0,
        "the second process ingested nothing itself: {t}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpufleet_scrapes_the_nodes_that_name_a_metrics_url_and_an_injected_xid_fails_the_gpu() {
    let fleet = sim::Sim::start(1, 0.3);
    let app = TestApp::start_with(|c| {
        c.telemetry.scrape_interval_secs = 1;
        c.telemetry.scrape_timeout_secs = 2;
    })
    .await;
    let node_id = fleet.nodes[0].id.clone();
    let (truth, metrics) = sim_node(&fleet, &node_id).await;
    let (s, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "scraped-1", "config": {"metrics_url": metrics}}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    // A second node whose exporter does not answer.
    let closed = sim::closed_port();
    let dead_url = format!("http://127.0.0.1:{}/metrics", closed.port);
    let (s, dead) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "scraped-dead", "config": {"metrics_url": dead_url}}),
        )
        .await;
    assert_eq!(s, 201, "{dead}");
    let mut gpus = Vec::new();
    for g in truth["gpus"].as_array().unwrap() {
        let uuid = g["uuid"].as_str().unwrap();
        let (s, a) = app
            .admin(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "gpu", "name": format!("sg-{}", g["serial"].as_str().unwrap()),
                       "parent_id": n["id"], "config": {"serial": g["serial"], "uuid": uuid}}),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        gpus.push(a["id"].as_str().unwrap().to_string());
    }

    // Nobody pushes anything: the scraper alone brings the GPUs to healthy.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let st = loop {
        let (_, st) = get(&app, "/api/v1/telemetry/status").await;
        let both_scraped = st["scrape_targets"]
            .as_array()
            .is_some_and(|t| t.len() == 2);
        if st["health"]["healthy"] == 8 && both_scraped {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scraped GPUs did not all turn healthy, or a target was not scraped: {st}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let targets = st["scrape_targets"].as_array().unwrap();
    let up = targets
        .iter()
        .find(|t| t["node"] == n["id"])
        .expect("target listed");
    assert_eq!(up["up"], true, "{st}");
    assert_eq!(up["url"], metrics.as_str());
    assert!(up["samples"].as_u64().unwrap() > 8, "{st}");
    let down = targets
        .iter()
        .find(|t| t["node"] == dead["id"])
        .expect("the dead target is listed");
    assert_eq!(down["up"], false, "{st}");
    assert!(
        down["error"].as_str().unwrap().contains("cannot reach"),
        "{st}"
    );
    assert!(down["failures"].as_u64().unwrap() >= 1, "{st}");

    fleet
        .inject("xid", &node_id, json!({"gpu": 5, "xid": 48}))
        .await;
    let injected = std::time::Instant::now();
    loop {
        let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[5])).await;
        if h["status"]["state"] == "failed" {
            let codes: Vec<_> = h["status"]["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["code"].as_u64())
                .collect();
            assert!(codes.contains(&48), "{h}");
            break;
        }
        assert!(
            injected.elapsed() < Duration::from_secs(30),
            "GPU 5 did not turn failed: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, h) = get(&app, &format!("/api/v1/gpus/{}/health", gpus[4])).await;
    assert_eq!(h["status"]["state"], "healthy", "{h}");
}

/// Samples pushed for a node in a rack, read back as series of a GPU, the node and the rack,
/// from the store `tweak` configures (resolution 1 s).
async fn pushed_samples_come_back_as_series(tweak: impl FnOnce(&mut fleet_server::config::Config)) {
    let app = TestApp::start_with(|c| {
        c.history.resolution_secs = 1;
        tweak(c);
    })
    .await;
    let (node, gpus) = node_in_rack(&app, "r1", "n1", 2).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Ten seconds ago, on an even second: both intervals are closed and written at once.
    let t = (now - 10_000) - (now - 10_000) % 2000;
    let lines = format!(
        "gpu,uuid=GPU-n1-0 gpu_temp=40 {t}\ngpu,uuid=GPU-n1-0 gpu_temp=50 {}\n\
         gpu,uuid=GPU-n1-0 gpu_temp=60 {}\ngpu,uuid=GPU-n1-1 gpu_temp=70,power_usage=300 {t}\n",
        t + 200,
        t + 1000
    );
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write?precision=ms",
        lines.into_bytes(),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let series = |asset: &str, q: &str| {
        let path = format!(
            "/api/v1/telemetry/series?asset={asset}&field=gpu_temp&from={}&to={}&{q}",
            t - 2000,
            t + 4000
        );
        let app = &app;
        async move { get(app, &path).await }
    };
    // The history is written once the intervals close: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let body = loop {
        let (s, b) = series("n1", "step=1s&agg=max").await;
        assert_eq!(s, 200, "{b}");
        let n: usize = b["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["points"].as_array().unwrap().len())
            .sum();
        if n == 3 {
            break b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "history not written: {b}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["asset"], node.as_str());
    assert_eq!(body["asset_kind"], "node");
    assert_eq!(
        (body["field"].as_str(), body["agg"].as_str()),
        (Some("gpu_temp"), Some("max"))
    );
    assert_eq!(body["step_secs"], 1.0);
    assert_eq!(body["resolution_secs"], 1.0);
    let s = body["series"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0]["gpu"].as_str(), s[0]["node"].as_str()),
        (Some(gpus[0].as_str()), Some(node.as_str()))
    );
    let at = |ms: i64| fleet_model::timefmt::rfc3339(ms);
    assert_eq!(
        s[0]["points"],
        json!([{"time": at(t), "value": 50.0}, {"time": at(t + 1000), "value": 60.0}])
    );
    assert_eq!(s[1]["points"], json!([{"time": at(t), "value": 70.0}]));
    // Over 2 s steps: the mean of the interval means, the smallest minimum, the last value.
    for (agg, v) in [("mean", 52.5), ("min", 40.0), ("last", 60.0)] {
        let (st, b) = series("n1-S0", &format!("step=2s&agg={agg}")).await;
        assert_eq!(st, 200, "{b}");
        assert_eq!(b["asset_kind"], "gpu");
        assert_eq!(
            b["series"][0]["points"],
            json!([{"time": at(t), "value": v}]),
            "{agg}"
        );
    }
    // The rack holds the node's GPUs; another field of the same GPU is its own series.
    let (_, b) = series("r1", "step=2s").await;
    assert_eq!(b["asset_kind"], "rack");
    assert_eq!(b["series"].as_array().unwrap().len(), 2, "{b}");
    let (_, b) = get(
        &app,
        &format!(
            "/api/v1/telemetry/series?asset={}&field=DCGM_FI_DEV_POWER_USAGE&from={}&to={}&step=2s",
            gpus[1],
            t - 2000,
            t + 4000
        ),
    )
    .await;
    assert_eq!(b["field"], "power_usage");
    assert_eq!(
        b["series"][0]["points"],
        json!([{"time": at(t), "value": 300.0}])
    );
    // What it refuses, and why.
    for (q, status, says) in [
        (
            "asset=n1&field=warp_speed",
            400,
            "unknown field 'warp_speed'",
        ),
        (
            "asset=no-such-node&field=gpu_temp",
            404,
            "no GPU, node or rack",
        ),
        ("asset=n1&field=gpu_temp&step=fast", 400, "'step'"),
        (
            "asset=n1&field=gpu_temp&agg=median",
            400,
            "mean, min, max or last",
        ),
        (
            "asset=n1&field=gpu_temp&from=2026-01-01T00:00:00Z&step=1s",
            400,
            "at most 11000",
        ),
        (
            "asset=n1&field=gpu_temp&from=2026-12-05T10:00:00Z&to=2026-12-05T09:00:00Z",
            400,
            "must be before",
        ),
    ] {
        let (s, b) = get(&app, &format!("/api/v1/telemetry/series?{q}")).await;
        assert_eq!(s, status, "{q}: {b}");
        assert!(
            b["detail"].as_str().unwrap_or_default().contains(says),
            "{q}: {b}"
        );
    }
    let (_, st) = get(&app, "/api/v1/telemetry/status").await;
    assert!(
        st["history"]["points_written"].as_u64().unwrap() >= 4,
        "{st}"
    );
    assert_eq!(st["history"]["write_errors"], 0, "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_samples_come_back_as_series_from_the_embedded_history() {
    pushed_samples_come_back_as_series(|c| {
        assert!(c.history.influx_url.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs InfluxDB: GPUFLEET_TEST_INFLUX_URL from scripts/services.sh up influxdb; scripts/test.sh runs it"]
async fn pushed_samples_come_back_as_series_from_influxdb() {
    let url = std::env::var("GPUFLEET_TEST_INFLUX_URL").expect(
        "GPUFLEET_TEST_INFLUX_URL is not set: run the tests through scripts/test.sh (it starts InfluxDB)",
    );
    let db = format!("gftest_{}", uuid::Uuid::new_v4().simple());
    pushed_samples_come_back_as_series(|c| {
        c.history.influx_url = url.clone();
        c.history.influx_db = db.clone();
    })
    .await;
    let _ = reqwest::Client::new()
        .post(format!("{url}/query"))
        .query(&[("q", format!("DROP DATABASE \"{db}\""))])
        .send()
        .await;
}

/// SSE blocks (`event`, parsed `data`, `id`) of a stream until `enough` says so or 15 s pass.
async fn sse_until(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    mut enough: impl FnMut(&[(String, Value, Option<String>)]) -> bool,
) -> Vec<(String, Value, Option<String>)> {
    use futures::StreamExt;
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        while let Some(pos) = buf.find("\n\n") {
            let block: String = buf.drain(..pos + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
            };
            if let (Some(ev), Some(data)) = (field("event"), field("data")) {
                out.push((ev, serde_json::from_str(&data).unwrap(), field("id")));
            }
        }
        if enough(&out) {
            return out;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, body.next())
            .await
            .unwrap_or_else(|_| panic!("stream: not enough within 15 s: {out:?}"))
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_carries_the_status_changes_and_values_of_a_rack_and_resumes() {
    let app = TestApp::start().await;
    let (inside, gpus_in) = node_in_rack(&app, "r1", "n1", 2).await;
    let (outside, gpus_out) = node_with_gpus(&app, "n2", 1).await;
    let open = |q: &str, last: Option<&str>| {
        let mut r = app.req(Role::Viewer, Method::GET, &format!("/api/v1/stream?{q}"));
        if let Some(id) = last {
            r = r.header("last-event-id", id);
        }
        r.send()
    };
    let r = open(
        "rack=r1&values=1s&fields=gpu_temp,DCGM_FI_DEV_POWER_USAGE&heartbeat=1",
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    // n1's GPU 0 first, then n2's GPU and n1's GPU 1.
    let push = |line: String| {
        let app = &app;
        async move {
            let (s, v) = post_lines(
                app,
                Role::Operator,
                "/api/v1/telemetry/write",
                line.into_bytes(),
                false,
            )
            .await;
            assert_eq!(s, 204, "{v}");
        }
    };
    push("gpu,uuid=GPU-n1-0 gpu_temp=41,power_usage=300,sm_clock=1980".into()).await;
    push("gpu,uuid=GPU-n2-0 gpu_temp=42\ngpu,uuid=GPU-n1-1 gpu_temp=43".into()).await;
    let got = sse_until(&mut body, &mut buf, |b| {
        b.iter().filter(|(e, _, _)| e == "cloudevent").count() >= 3
            && b.iter().any(|(e, v, _)| {
                e == "values" && v["gpus"].as_array().is_some_and(|g| g.len() == 2)
            })
    })
    .await;
    // The rack's node rolls up too (its first roll-up: a system.status_changed event); the
    // node outside the rack does not appear.
    let nodes: Vec<&str> = got
        .iter()
        .filter(|(e, v, _)| {
            e == "cloudevent" && v["type"] == "io.gpufleet.system.status_changed.v1"
        })
        .map(|(_, v, _)| v["subject"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, [inside.as_str()], "{got:?}");
    assert!(!nodes.contains(&outside.as_str()));
    let events: Vec<&(String, Value, Option<String>)> = got
        .iter()
        .filter(|(e, v, _)| e == "cloudevent" && v["type"] == "io.gpufleet.gpu.status_changed.v1")
        .collect();
    let subjects: Vec<&str> = events
        .iter()
        .map(|(_, v, _)| v["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [gpus_in[0].as_str(), gpus_in[1].as_str()],
        "only the rack's GPUs: {got:?}"
    );
    assert!(events
        .iter()
        .all(|(_, v, _)| v["type"] == "io.gpufleet.gpu.status_changed.v1"));
    assert_eq!(
        events[0].2.as_deref(),
        events[0].1["id"].as_str(),
        "the SSE id is the event id"
    );
    let (_, values, id) = got
        .iter()
        .rev()
        .find(|(e, v, _)| e == "values" && v["gpus"].as_array().unwrap().len() == 2)
        .unwrap();
    assert!(id.is_none(), "values are not retained, so they carry no id");
    let first = &values["gpus"][0];
    assert_eq!(first["gpu"], gpus_in[0].as_str());
    assert_eq!(first["node"], inside.as_str());
    assert_eq!(first["state"], "healthy");
    assert_eq!(
        first["fields"],
        json!({"gpu_temp": 41.0, "power_usage": 300.0}),
        "only the fields asked for"
    );
    assert!(values["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["gpu"] != gpus_out[0].as_str()));
    drop(body);

    // A reconnect after the first event replays the second, and nothing outside the rack.
    let seen = events[0].1["id"].as_str().unwrap().to_string();
    let r = open("rack=r1&heartbeat=1", Some(&seen)).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    let gpu_event =
        |e: &(String, Value, Option<String>)| e.1["type"] == "io.gpufleet.gpu.status_changed.v1";
    let again = sse_until(&mut body, &mut buf, |b| b.iter().any(gpu_event)).await;
    let replayed = again.iter().find(|e| gpu_event(e)).unwrap();
    assert_eq!(replayed.1["subject"], gpus_in[1].as_str(), "{again:?}");
    assert!(
        again.iter().all(|e| e.1["subject"] != outside.as_str()),
        "{again:?}"
    );
    // Live again: an XID on n1's GPU 1 fails it; n2's fault stays out.
    push("gpu,uuid=GPU-n2-0 xid=79\ngpu,uuid=GPU-n1-1 xid=79".into()).await;
    let failed = |e: &(String, Value, Option<String>)| {
        e.1["type"] == "io.gpufleet.gpu.status_changed.v1"
            && e.1["data"]["new"]["state"] == "failed"
    };
    let live = sse_until(&mut body, &mut buf, |b| b.iter().any(failed)).await;
    let f = live.iter().find(|e| failed(e)).unwrap();
    assert_eq!(f.1["subject"], gpus_in[1].as_str(), "{live:?}");
    assert!(
        live.iter().all(|e| e.1["subject"] != gpus_out[0].as_str()),
        "nothing about n2: {live:?}"
    );
    drop(body);

    // By kind: the node asset with its GPUs, only GPU events; by asset name.
    let r = open("asset=n2&kind=node", None).await.unwrap();
    assert_eq!(r.status(), 200);
    // What it refuses.
    for (q, status, says) in [
        ("values=5s", 400, "needs 'asset' or 'rack'"),
        ("rack=r1&values=soon", 400, "'values'"),
        ("rack=r1&values=5s&fields=warp", 400, "unknown field 'warp'"),
        ("rack=r1&fields=gpu_temp", 400, "goes with 'values'"),
        ("kind=blimp", 400, "'kind'"),
        ("rack=no-such-rack", 404, "no rack"),
        ("asset=no-such-asset", 404, "no asset"),
        ("type=NoSuchType", 400, "NoSuchType"),
    ] {
        let r = open(q, None).await.unwrap();
        let s = r.status().as_u16();
        let b: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(s, status, "{q}: {b}");
        assert!(
            b["detail"].as_str().unwrap_or_default().contains(says),
            "{q}: {b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_write_rate_gets_429_with_retry_after_and_others_go_on() {
    let app = TestApp::start_with(|c| {
        c.telemetry.write_lines_per_sec = 5;
        c.telemetry.write_burst_secs = 2;
    })
    .await;
    node_with_gpus(&app, "rl", 1).await;
    let lines = |n: usize| {
        (0..n)
            .map(|i| format!("gpu,uuid=GPU-rl-0 gpu_temp={}\n", 40 + i))
            .collect::<String>()
            .into_bytes()
    };
    // Ten lines: the whole burst (the bucket is not in debt, so a larger batch would go too).
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        lines(10),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = post_lines(
        &app,
        Role::Operator,
        "/api/v1/telemetry/write",
        lines(3),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    // Now three lines in debt: refused, on every write path, with when to come back.
    for path in [
        "/api/v1/telemetry/write",
        "/write?db=x",
        "/api/v2/write?bucket=x",
    ] {
        let r = app
            .req(Role::Operator, Method::POST, path)
            .body(lines(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "{path}");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&wait), "{path}: {wait}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let b: Value = r.json().await.unwrap();
        assert!(
            b["detail"].as_str().unwrap().contains("5 lines per second"),
            "{b}"
        );
    }
    // Another token is not held back.
    let (s, v) = post_lines(
        &app,
        Role::Admin,
        "/api/v1/telemetry/write",
        lines(2),
        false,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    // The refused lines were not ingested: 15 samples from the accepted writes only.
    let (_, st) = get(&app, "/api/v1/telemetry/status").await;
    assert_eq!(st["samples_ingested"], 15, "{st}");
}

/// gpufleet holds a gNMI stream from every switch with a gNMI address: its ports appear with
/// their status and health; the switch going down makes every port `missing` (one
/// `network.status_changed` event per port) and the stream, opened again with backoff, brings
/// them back when the switch answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_ports_stream_over_gnmi_into_port_health() {
    let fleet = sim::Sim::start(1, 0.0);
    let (sim_switch, gnmi) = fleet.switches[0].clone();
    let app = TestApp::start_with(|c| c.telemetry.gnmi_sample_interval_secs = 1).await;
    let (s, sw) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "switch", "name": "leaf-stream", "config": {"gnmi_address": gnmi, "timeout_s": 3}}),
        )
        .await;
    assert_eq!(s, 201, "{sw}");
    let sw = sw["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/switches/{sw}/health");
    let until = |want: &'static str| {
        let (app, path) = (&app, path.clone());
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let (s, h) = get(app, &path).await;
                assert_eq!(s, 200, "{h}");
                let ports = h["ports"].as_array().unwrap();
                if ports.len() == 16 && ports.iter().all(|p| p["state"] == want) {
                    return h;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "every port {want} within 30 s: {h}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let h = until("healthy").await;
    let p1 = h["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == "Ethernet1")
        .unwrap();
    assert_eq!(p1["admin_up"], true, "{h}");
    assert_eq!(p1["oper_status"], "UP", "{h}");
    assert!(p1["in_errors"].as_f64().is_some(), "counters sampled: {h}");
    let (_, status) = get(&app, "/api/v1/telemetry/status").await;
    assert_eq!(status["switches"][0]["connected"], true, "{status}");
    assert!(status["port_updates"].as_u64().unwrap() >= 16, "{status}");

    // The switch dies: its stream ends, every port turns missing and says why.
    let fault: Value = reqwest::Client::new()
        .post(format!("{}/faults", fleet.control))
        .json(&json!({"kind": "switch_down", "target": sim_switch}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h = until("missing").await;
    assert_eq!(h["state"], "missing");
    assert_eq!(
        h["ports"][0]["reasons"][0]["kind"], "switch_unreachable",
        "{h}"
    );
    // The events are written just after the hot status: wait for them a moment.
    let mut missing = 0;
    for _ in 0..50 {
        let events = app
            .store
            .outbox_query(&fleet_db::EventFilter {
                types: vec!["io.gpufleet.network.status_changed.v1".into()],
                subject: Some(sw.clone()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        missing = events
            .iter()
            .filter(|e| {
                e.payload.contains("\"new\":{\"reasons\":[{")
                    && e.payload.contains("switch_unreachable")
            })
            .count();
        if missing >= 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(missing, 16, "one network.status_changed event per port");
    // One SwitchDown alert (not one per port) in the correlation, on the switch.
    let switch_down = |alerts: &Value| -> Vec<Value> {
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["labels"]["alertname"] == "SwitchDown")
            .cloned()
            .collect()
    };
    let (_, alerts) = get(&app, "/api/v1/alerts").await;
    let down = switch_down(&alerts);
    assert_eq!(down.len(), 1, "{alerts}");
    assert_eq!(down[0]["asset_id"], sw.as_str(), "{alerts}");
    assert!(down[0]["ends_at"].is_null(), "{alerts}");

    // Back: the stream is opened again and the ports recover.
    let id = fault["id"].as_str().unwrap();
    reqwest::Client::new()
        .delete(format!("{}/faults/{id}", fleet.control))
        .send()
        .await
        .unwrap();
    let h = until("healthy").await;
    let (_, alerts) = get(&app, "/api/v1/alerts").await;
    assert!(
        switch_down(&alerts)[0]["ends_at"].is_string(),
        "resolved: {alerts}"
    );
    assert!(
        h["history"].as_array().unwrap().len() >= 20,
        "the port changes are in the switch's history: {h}"
    );
    let (_, status) = get(&app, "/api/v1/telemetry/status").await;
    assert!(
        status["switches"][0]["reconnects"].as_u64().unwrap() >= 1,
        "{status}"
    );
}
