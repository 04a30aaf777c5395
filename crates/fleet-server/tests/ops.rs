//! Out-of-band operations end to end: REST API -> job -> BMC of a simulated node (Redfish and
//! IPMI) -> result in the CMDB as a new configuration version.

mod common;
#[path = "../../fleet-bmc/tests/common/mod.rs"]
mod sim;

use std::time::{Duration, Instant};

use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(app: &TestApp, role: Role, m: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app.req(role, m, path).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Starts an operation and follows its job to the end.
async fn op(app: &TestApp, role: Role, path: &str, body: Value) -> Value {
    let (s, job) = call(app, role, Method::POST, path, body).await;
    assert_eq!(s, 202, "{path}: {job}");
    let id = job["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let (_, v) = call(
            app,
            Role::Viewer,
            Method::GET,
            &format!("/api/v1/jobs/{id}?wait_s=2"),
            Value::Null,
        )
        .await;
        if matches!(
            v["state"].as_str(),
            Some("succeeded" | "failed" | "timed_out" | "cancelled")
        ) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "job {id} did not end: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_admin_run_out_of_band_jobs_against_a_simulated_node() {
    let fleet = sim::Sim::start(1, 0.3);
    let n = &fleet.nodes[0];
    let app = TestApp::start().await;
    let (s, node) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "sim-1"}),
        )
        .await;
    assert_eq!(s, 201, "{node}");
    let node = node["id"].as_str().unwrap().to_string();
    let (s, bmc) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": "sim-1-bmc", "parent_id": node, "config": {
                "address": n.redfish, "protocol": "redfish", "username": "admin",
                "password": "password", "ipmi_address": n.ipmi, "timeout_s": 5}}),
        )
        .await;
    assert_eq!(s, 201, "{bmc}");
    let base = format!("/api/v1/nodes/{node}");

    // Operator: power-cycle over Redfish and over IPMI, PXE once.
    let j = op(
        &app,
        Role::Operator,
        &format!("{base}/power"),
        json!({"action": "cycle"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(j["driver"], Value::Null);
    let j = op(
        &app,
        Role::Operator,
        &format!("{base}/power"),
        json!({"action": "cycle", "driver": "ipmi"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let j = op(
        &app,
        Role::Operator,
        &format!("{base}/boot"),
        json!({"device": "pxe", "persistent": false}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");

    // BIOS, RAID and firmware are admin operations.
    let (s, _) = call(
        &app,
        Role::Operator,
        Method::POST,
        &format!("{base}/bios"),
        json!({"attributes": {"SysProfile": "x"}}),
    )
    .await;
    assert_eq!(s, 403);
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/bios"),
        json!({"attributes": {"SysProfile": "PerfPerWattOptimizedOs"}, "apply": true}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/raid"),
        json!({"action": "create", "controller": "1", "name": "os", "raid_type": "RAID1", "drives": ["Disk0", "Disk1"]}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/firmware"),
        json!({"url": "http://images.example/bios-7.7.7.bin", "targets": ["BIOS"], "expect_version": "7.7.7"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");

    // The CMDB holds the results as configuration versions.
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{node}"), Value::Null)
        .await;
    let oob = &a["spec"]["oob"];
    assert_eq!(oob["firmware"]["BIOS"], "7.7.7", "{a}");
    assert_eq!(oob["bios"]["SysProfile"], "PerfPerWattOptimizedOs", "{a}");
    assert_eq!(oob["power"], "on");
    assert_eq!(oob["storage"][0]["volumes"].as_array().unwrap().len(), 1);
    let (_, versions) = app
        .admin(
            Method::GET,
            &format!("/api/v1/assets/{node}/versions"),
            Value::Null,
        )
        .await;
    assert!(
        versions.as_array().map(|v| v.len()).unwrap_or(0) >= 5 || versions.to_string().len() > 100,
        "{versions}"
    );

    // A failing operation ends failed with the BMC's reason; the operation log lists every job;
    // credentials appear nowhere.
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/firmware"),
        json!({"url": "http://images.example/bmc-fail-1.0.bin", "targets": ["BMC"]}),
    )
    .await;
    assert_eq!(j["state"], "failed", "{j}");
    let (s, log) = call(
        &app,
        Role::Viewer,
        Method::GET,
        &format!("{base}/oplog"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(log.as_array().unwrap().len(), 7, "{log}");
    assert!(!log.to_string().contains("\"password\""), "{log}");
}
