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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_ports_over_gnmi_read_by_operators_and_set_by_admins_as_jobs() {
    let fleet = sim::Sim::start(1, 0.0);
    let (_, gnmi) = &fleet.switches[0];
    let app = TestApp::start().await;
    let (s, rack) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": "rack-a"}),
        )
        .await;
    assert_eq!(s, 201, "{rack}");
    let (s, sw) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "switch", "name": "leaf-a", "parent_id": rack["id"],
                   "config": {"address": gnmi, "username": "admin", "password": "sw-secret-9", "timeout_s": 5}}),
        )
        .await;
    assert_eq!(s, 201, "{sw}");
    let sw = sw["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/switches/{sw}/ports");

    // Operators read every port live; viewers may not reach the switch.
    let (s, ports) = call(&app, Role::Operator, Method::GET, &base, Value::Null).await;
    assert_eq!(s, 200, "{ports}");
    assert_eq!(ports.as_array().unwrap().len(), 16, "{ports}");
    let e1 = ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Ethernet1")
        .unwrap();
    assert_eq!(e1["admin_up"], true, "{e1}");
    let (s, _) = call(&app, Role::Viewer, Method::GET, &base, Value::Null).await;
    assert_eq!(s, 403);
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::GET,
        &format!("{base}?port=NoSuchPort"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404, "{p}");

    // Taking a port down is an admin job; the result is a configuration version of the switch.
    let (s, _) = call(
        &app,
        Role::Operator,
        Method::POST,
        &format!("{base}/Ethernet1/admin"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, bad) = call(
        &app,
        Role::Admin,
        Method::POST,
        &format!("{base}/Ethernet1/admin"),
        json!({"enabled": "no"}),
    )
    .await;
    assert_eq!(s, 422, "{bad}");
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/Ethernet1/admin"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(j["kind"], "port.admin");
    assert_eq!(j["driver"], "gnmi");
    let (_, p) = call(
        &app,
        Role::Operator,
        Method::GET,
        &format!("{base}?port=Ethernet1"),
        Value::Null,
    )
    .await;
    assert_eq!(p[0]["admin_up"], false, "{p}");
    assert_eq!(p[0]["oper_status"], "DOWN", "{p}");
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{sw}"), Value::Null)
        .await;
    assert_eq!(
        a["spec"]["oob"]["ports"]["Ethernet1"]["admin_up"], false,
        "{a}"
    );
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/Ethernet1/admin"),
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{sw}"), Value::Null)
        .await;
    assert_eq!(
        a["spec"]["oob"]["ports"]["Ethernet1"]["admin_up"], true,
        "{a}"
    );
    let (_, versions) = app
        .admin(
            Method::GET,
            &format!("/api/v1/assets/{sw}/versions"),
            Value::Null,
        )
        .await;
    assert!(
        versions.to_string().contains("out-of-band port.admin"),
        "{versions}"
    );

    // A port the switch does not have: a failed job that says so; the password appears nowhere.
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/NoSuchPort/admin"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(j["state"], "failed", "{j}");
    assert!(j["error"].as_str().unwrap().contains("NoSuchPort"), "{j}");
    let (_, jobs) = call(
        &app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/jobs?target={sw}"),
        Value::Null,
    )
    .await;
    assert_eq!(jobs.as_array().unwrap().len(), 3, "{jobs}");
    assert!(!jobs.to_string().contains("sw-secret-9"));
    assert!(!j.to_string().contains("sw-secret-9"));

    // A switch without a gNMI address: a clear 502.
    let (_, sw2) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "switch", "name": "leaf-b", "parent_id": rack["id"]}),
        )
        .await;
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::GET,
        &format!("/api/v1/switches/{}/ports", sw2["id"].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(s, 502, "{p}");
    assert!(p.to_string().contains("no gNMI address"), "{p}");
}
