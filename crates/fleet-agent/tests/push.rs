//! The agent's push path against a real gpufleet: readings and an XID become GPU health, lines
//! wait while gpufleet is away and go when it is back, and a token without the write permission
//! keeps them.

#[path = "../../fleet-server/tests/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use fleet_agent::collect::{lines, now_ns, xid_line, GpuReading};
use fleet_agent::push::{PushConfig, Pusher};
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};

fn reading(index: u32, uuid: &str, temp: f64) -> GpuReading {
    GpuReading {
        index,
        uuid: uuid.into(),
        serial: None,
        pci_bus_id: Some(format!("00000000:{:02X}:00.0", 0x18 + index)),
        model: Some("NVIDIA H100 80GB HBM3".into()),
        values: vec![
            ("gpu_temp", temp),
            ("power_usage", 300.0),
            ("gpu_util", 97.0),
        ],
    }
}

async fn node_with_two_gpus(app: &TestApp) -> Vec<String> {
    let (s, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "agent-node"}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let mut ids = Vec::new();
    for i in 0..2 {
        let (s, g) = app
            .admin(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "gpu", "name": format!("agent-gpu{i}"), "parent_id": n["id"],
                       "config": {"uuid": format!("GPU-agent-{i}"), "index": i}}),
            )
            .await;
        assert_eq!(s, 201, "{g}");
        ids.push(g["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn health(app: &TestApp, gpu: &str) -> Value {
    app.req(
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/gpus/{gpu}/health"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_and_an_xid_pushed_by_the_agent_become_gpu_health() {
    let app = TestApp::start().await;
    let gpus = node_with_two_gpus(&app).await;
    let mut p = Pusher::new(PushConfig::new(&app.base, &app.tokens[&Role::Operator])).unwrap();
    let t = now_ns();
    p.enqueue(lines(
        &[
            reading(0, "GPU-agent-0", 40.0),
            reading(1, "GPU-agent-1", 41.0),
        ],
        "agent-node",
        t,
    ));
    assert_eq!(p.flush().await, 2);
    assert_eq!(p.pending(), 0);
    let h = health(&app, &gpus[1]).await;
    assert_eq!(h["status"]["state"], "healthy", "{h}");
    assert_eq!(h["status"]["fields"]["gpu_temp"], 41.0);
    // The driver logs XID 79 for the second GPU's PCI address; the agent names its UUID.
    p.enqueue([xid_line(
        Some("GPU-agent-1"),
        Some("00000000:19:00.0"),
        "agent-node",
        79,
        t + 1_000_000,
    )]);
    assert_eq!(p.flush().await, 1);
    let h = health(&app, &gpus[1]).await;
    assert_eq!(h["status"]["state"], "failed", "{h}");
    assert_eq!(h["status"]["reasons"][0]["code"], 79);
    assert_eq!(health(&app, &gpus[0]).await["status"]["state"], "healthy");
    // A bad line among good ones: gpufleet keeps the good, the agent counts the bad.
    p.enqueue(["gpu,uuid=GPU-agent-0 gpu_temp=".to_string()]);
    p.enqueue(lines(
        &[reading(0, "GPU-agent-0", 44.0)],
        "agent-node",
        t + 2_000_000,
    ));
    assert_eq!(p.flush().await, 2);
    assert_eq!((p.stats().sent_lines, p.stats().rejected_lines), (4, 1));
    assert_eq!(
        health(&app, &gpus[0]).await["status"]["fields"]["gpu_temp"],
        44.0
    );
}

/// A TCP relay to `target` that hangs up on every connection while `up` is false.
async fn relay(target: String, up: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = l.accept().await else {
                return;
            };
            if !up.load(std::sync::atomic::Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_wait_while_gpufleet_is_away_and_go_when_it_is_back() {
    let app = TestApp::start().await;
    let gpus = node_with_two_gpus(&app).await;
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let via = relay(
        app.base.trim_start_matches("http://").to_string(),
        up.clone(),
    )
    .await;
    let mut cfg = PushConfig::new(&via, &app.tokens[&Role::Operator]);
    cfg.batch_lines = 2;
    let mut p = Pusher::new(cfg).unwrap();
    let t = now_ns();
    for i in 0..5 {
        p.enqueue(lines(
            &[reading(0, "GPU-agent-0", 30.0 + f64::from(i))],
            "agent-node",
            t + i64::from(i),
        ));
    }
    assert_eq!(p.flush().await, 0);
    assert_eq!((p.pending(), p.stats().failures), (5, 1));
    assert!(p.stats().last_error.is_some());
    // gpufleet is reachable again: once the backoff has passed, everything goes, in batches.
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.pending() > 0 {
        assert!(Instant::now() < deadline, "{:?}", p.stats());
        tokio::time::sleep(Duration::from_millis(100)).await;
        p.flush().await;
    }
    assert_eq!(p.stats().sent_lines, 5);
    let h = health(&app, &gpus[0]).await;
    assert_eq!(
        h["status"]["fields"]["gpu_temp"], 34.0,
        "the newest sample wins: {h}"
    );

    // A viewer's token may not write: the lines stay until the token is fixed.
    let mut viewer = Pusher::new(PushConfig::new(&app.base, &app.tokens[&Role::Viewer])).unwrap();
    viewer.enqueue(lines(
        &[reading(0, "GPU-agent-0", 50.0)],
        "agent-node",
        t + 10,
    ));
    assert_eq!(viewer.flush().await, 0);
    assert_eq!(viewer.pending(), 1);
    assert!(
        viewer
            .stats()
            .last_error
            .as_deref()
            .unwrap()
            .contains("403"),
        "{:?}",
        viewer.stats()
    );
}
