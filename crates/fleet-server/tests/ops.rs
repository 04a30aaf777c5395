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

/// The BMC password of the simulated nodes: a string that appears nowhere else, so that finding
/// it in any output is a leak.
const BMC_SECRET: &str = "bmc-secret-5e1f9c27";

async fn call(app: &TestApp, role: Role, m: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app.req(role, m, path).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Starts an operation and follows its job to the end.
async fn op(app: &TestApp, role: Role, path: &str, body: Value) -> Value {
    let (s, job) = call(app, role, Method::POST, path, body).await;
    assert_eq!(s, 202, "{path}: {job}");
    follow(app, job["id"].as_str().unwrap()).await
}

/// Follows a job to its end.
async fn follow(app: &TestApp, id: &str) -> Value {
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
    let fleet = sim::Sim::start_with_password(1, 0.3, BMC_SECRET);
    // The BMC installs this version from this image; nothing in the request names it.
    fleet
        .firmware_image(
            json!({"image": "http://images.example/bios-candidate.bin"}),
            "7.7.7",
        )
        .await;
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
                "password": BMC_SECRET, "ipmi_address": n.ipmi, "timeout_s": 5}}),
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
        json!({"url": "http://images.example/bios-candidate.bin", "targets": ["BIOS"]}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");

    // The CMDB holds the results as configuration versions, the firmware version as the BMC
    // reports it after the update.
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
    let reasons: Vec<&str> = versions["items"]
        .as_array()
        .expect("a version list")
        .iter()
        .filter_map(|v| v["reason"].as_str())
        .collect();
    assert_eq!(reasons, EXPECTED_REASONS, "{versions}");

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
    assert!(!log.to_string().contains(BMC_SECRET), "{log}");
    let (_, jobs) = call(
        &app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/jobs?target={node}"),
        Value::Null,
    )
    .await;
    assert_eq!(jobs.as_array().unwrap().len(), 7, "{jobs}");
    assert!(!jobs.to_string().contains(BMC_SECRET), "{jobs}");
    for a in [&node, &bmc["id"].as_str().unwrap().to_string()] {
        let (_, asset) = app
            .admin(Method::GET, &format!("/api/v1/assets/{a}"), Value::Null)
            .await;
        assert!(!asset.to_string().contains(BMC_SECRET), "{asset}");
        let (_, versions) = app
            .admin(
                Method::GET,
                &format!("/api/v1/assets/{a}/versions"),
                Value::Null,
            )
            .await;
        assert!(!versions.to_string().contains(BMC_SECRET), "{versions}");
    }
    let (_, audit) = app
        .admin(Method::GET, "/api/v1/audit?limit=1000", Value::Null)
        .await;
    assert!(
        audit.to_string().contains(&node),
        "the audit log lists the operations: {audit}"
    );
    assert!(!audit.to_string().contains(BMC_SECRET), "{audit}");
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
                   "config": {"address": gnmi, "username": "admin", "password": "sw-secret-9", "timeout_s": 5, "gnmi_plaintext": true}}),
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

    // A password is never sent over plaintext gNMI unless the switch is opted in.
    let (s, sw3) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "switch", "name": "leaf-c", "parent_id": rack["id"],
                   "config": {"address": gnmi, "username": "admin", "password": "sw-secret-10"}}),
        )
        .await;
    assert_eq!(s, 201, "{sw3}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::GET,
        &format!("/api/v1/switches/{}/ports", sw3["id"].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(s, 502, "{p}");
    assert!(p.to_string().contains("gnmi_plaintext"), "{p}");
}

/// The configuration versions the first test's operations leave on the node, oldest first: one
/// per operation that changed what the CMDB knows (the second power cycle changes nothing).
const EXPECTED_REASONS: &[&str] = &[
    "out-of-band power.cycle",
    "out-of-band boot.set",
    "out-of-band bios.set",
    "out-of-band raid.create",
    "out-of-band firmware.update",
];

/// A node with a BMC on simulated node `n`; returns the node id.
async fn node_with_bmc(app: &TestApp, n: &sim::Node, name: &str) -> String {
    let (s, node) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": name}),
        )
        .await;
    assert_eq!(s, 201, "{node}");
    let node = node["id"].as_str().unwrap().to_string();
    let (s, bmc) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": format!("{name}-bmc"), "parent_id": node, "config": {
                "address": n.redfish, "protocol": "redfish", "username": "admin",
                "password": BMC_SECRET, "ipmi_address": n.ipmi, "timeout_s": 5}}),
        )
        .await;
    assert_eq!(s, 201, "{bmc}");
    node
}

fn uploads_left(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.dir.path().join("uploads"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_update_from_an_uploaded_image_is_verified_in_the_cmdb() {
    let fleet = sim::Sim::start_with_password(1, 0.0, BMC_SECRET);
    let app = TestApp::start_with(|c| c.operations.max_upload_bytes = 4096).await;
    let node = node_with_bmc(&app, &fleet.nodes[0], "sim-up-1").await;
    let url = |q: &str| format!("/api/v1/nodes/{node}/firmware/upload?{q}");
    // Small sizes: a server that rejects a request before reading its body closes the
    // connection, and a client still writing a large body sees the reset, not the answer.
    let image: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    // The BMC knows these bytes as version 8.1.2 and another image as 9.0.0; neither version
    // appears in any request below, so the CMDB can only have them from the BMC.
    let other: Vec<u8> = image.iter().rev().copied().collect();
    for (bytes, version) in [(&image, "8.1.2"), (&other, "9.0.0")] {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        fleet
            .firmware_image(json!({ "sha256": digest }), version)
            .await;
    }
    let upload = |role: Role, q: &str, ct: &str, body: reqwest::Body| {
        app.req(role, Method::POST, &url(q))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    const Q: &str = "filename=bios-update.bin&targets=BIOS";

    // Admin only; the body is the image; the name is a file name; the size is limited.
    let r = upload(
        Role::Operator,
        Q,
        "application/octet-stream",
        image.clone().into(),
    )
    .await
    .unwrap();
    assert_eq!(status(r), 403);
    let r = upload(
        Role::Admin,
        Q,
        "multipart/form-data; boundary=x",
        image.clone().into(),
    )
    .await
    .unwrap();
    assert_eq!(status(r), 415);
    let r = upload(
        Role::Admin,
        "filename=../../etc/passwd&targets=BIOS",
        "application/octet-stream",
        image.clone().into(),
    )
    .await
    .unwrap();
    assert_eq!(status(r), 400);
    let r = upload(
        Role::Admin,
        Q,
        "application/octet-stream",
        Vec::<u8>::new().into(),
    )
    .await
    .unwrap();
    assert_eq!(status(r), 400);
    let big = vec![7u8; 6000];
    let r = upload(
        Role::Admin,
        Q,
        "application/octet-stream",
        big.clone().into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("4096 bytes"), "{p}");
    // Without a Content-Length the limit holds while the body streams in.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let r = upload(
        Role::Admin,
        Q,
        "application/octet-stream",
        reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
    )
    .await;
    // The server may answer 413 before it has read the whole body and close the connection.
    if let Ok(r) = r {
        assert_eq!(status(r), 413);
    }
    assert!(uploads_left(&app).is_empty(), "{:?}", uploads_left(&app));

    // A fitting image: a job pushes it to the BMC, the version is read back into the CMDB and
    // the stored image is gone once the job has ended.
    let r = upload(
        Role::Admin,
        Q,
        "application/octet-stream",
        image.clone().into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["kind"], "firmware.update");
    // Parameters and results are JSON values, not JSON inside strings.
    let params = job["params"].clone();
    assert_eq!(params["upload"]["size"], 3000, "{params}");
    assert_eq!(params["upload"]["sha256"].as_str().unwrap().len(), 64);
    let j = follow(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(
        j["log"]
            .to_string()
            .contains("bios-update.bin (3000 bytes)"),
        "{j}"
    );
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{node}"), Value::Null)
        .await;
    assert_eq!(a["spec"]["oob"]["firmware"]["BIOS"], "8.1.2", "{a}");
    assert!(uploads_left(&app).is_empty(), "{:?}", uploads_left(&app));

    // A version the BMC does not report afterwards fails the job with both versions named.
    let r = upload(
        Role::Admin,
        "filename=bios-update.bin&targets=BIOS&expect_version=9.0.1",
        "application/octet-stream",
        other.into(),
    )
    .await
    .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let j = follow(&app, &id).await;
    assert_eq!(j["state"], "failed", "{j}");
    let error = j["error"].as_str().unwrap();
    assert!(error.contains("9.0.1") && error.contains("9.0.0"), "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bios_diff_against_the_profile_and_pending_changes_verified_by_a_later_cycle() {
    let fleet = sim::Sim::start_with_password(1, 0.3, BMC_SECRET);
    let app = TestApp::start().await;
    let node = node_with_bmc(&app, &fleet.nodes[0], "sim-bios-1").await;
    let diff = format!("/api/v1/nodes/{node}/bios/diff");

    // Without an expected profile there is nothing to compare with.
    let (s, p) = call(&app, Role::Operator, Method::GET, &diff, Value::Null).await;
    assert_eq!(s, 409, "{p}");
    let (s, prof) = app
        .admin(
            Method::POST,
            "/api/v1/profiles",
            json!({"name": "hgx-bios", "spec": {"bios": {
                "SysProfile": "PerfOptimized", "BootMode": "Uefi", "NumaNodesPerSocket": 2,
                "NoSuchAttribute": "x"}}}),
        )
        .await;
    assert_eq!(s, 201, "{prof}");
    let (s, a) = app
        .admin(
            Method::PUT,
            &format!("/api/v1/nodes/{node}/profile"),
            json!({"profile": "hgx-bios"}),
        )
        .await;
    assert_eq!(s, 200, "{a}");

    // Exactly the differing attributes, with what the BMC reports.
    let (s, d) = call(&app, Role::Operator, Method::GET, &diff, Value::Null).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["matches"], false);
    assert_eq!(d["profile"], "hgx-bios");
    assert_eq!(
        d["differences"],
        json!([
            {"attribute": "NoSuchAttribute", "expected": "x", "actual": null, "pending": null},
            {"attribute": "NumaNodesPerSocket", "expected": 2, "actual": 1, "pending": null},
        ]),
        "{d}"
    );
    let (s, _) = call(&app, Role::Viewer, Method::GET, &diff, Value::Null).await;
    assert_eq!(s, 403);

    // A BIOS change without reset stays pending and is recorded as such ...
    let j = op(
        &app,
        Role::Admin,
        &format!("/api/v1/nodes/{node}/bios"),
        json!({"attributes": {"NumaNodesPerSocket": 2}}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{node}"), Value::Null)
        .await;
    assert_eq!(
        a["spec"]["oob"]["bios_pending"]["attributes"]["NumaNodesPerSocket"], 2,
        "{a}"
    );
    let (_, d) = call(&app, Role::Operator, Method::GET, &diff, Value::Null).await;
    assert_eq!(d["differences"][1]["pending"], 2, "{d}");
    assert_eq!(d["pending"]["NumaNodesPerSocket"], 2, "{d}");

    // ... until a reset made by another job (an operator's power cycle over IPMI, which reads
    // no BIOS itself) applies it; that job re-reads and verifies it.
    let j = op(
        &app,
        Role::Operator,
        &format!("/api/v1/nodes/{node}/power"),
        json!({"action": "cycle", "driver": "ipmi"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(
        j["log"]
            .to_string()
            .contains("pending BIOS attributes applied and verified"),
        "{j}"
    );
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{node}"), Value::Null)
        .await;
    let oob = &a["spec"]["oob"];
    assert_eq!(oob["bios_pending"], Value::Null, "{a}");
    assert_eq!(oob["bios_verified"]["ok"], true, "{a}");
    assert!(oob["bios_verified"]["set_by_job"].is_string(), "{a}");
    assert_eq!(oob["bios"]["NumaNodesPerSocket"], 2, "{a}");
    assert_eq!(oob["power"], "on");
    let (_, d) = call(&app, Role::Operator, Method::GET, &diff, Value::Null).await;
    assert_eq!(
        d["differences"],
        json!([{"attribute": "NoSuchAttribute", "expected": "x", "actual": null, "pending": null}]),
        "{d}"
    );
    // A later cycle with nothing pending verifies nothing.
    let j = op(
        &app,
        Role::Operator,
        &format!("/api/v1/nodes/{node}/power"),
        json!({"action": "reset"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(!j["log"].to_string().contains("BIOS"), "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_bios_and_firmware_need_admin() {
    let fleet = sim::Sim::start_with_password(2, 0.0, BMC_SECRET);
    fleet
        .firmware_image(
            json!({"image": "http://images.example/bios-bulk.bin"}),
            "6.5.4",
        )
        .await;
    let app = TestApp::start().await;
    let a = node_with_bmc(&app, &fleet.nodes[0], "bulk-1").await;
    let b = node_with_bmc(&app, &fleet.nodes[1], "bulk-2").await;
    let bios = json!({"group": "bios", "ids": [a, b],
        "params": {"attributes": {"SysProfile": "PerfPerWattOptimizedOs"}, "apply": true}});
    let fw = json!({"group": "firmware", "ids": [a, b],
        "params": {"url": "http://images.example/bios-bulk.bin", "targets": ["BIOS"]}});

    // An operator may run bulk power, but not BIOS or firmware: no job is created.
    for body in [&bios, &fw] {
        let (s, p) = call(
            &app,
            Role::Operator,
            Method::POST,
            "/api/v1/ops/bulk",
            body.clone(),
        )
        .await;
        assert_eq!(s, 403, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("OobAdmin"), "{p}");
    }
    let (_, jobs) = call(&app, Role::Viewer, Method::GET, "/api/v1/jobs", Value::Null).await;
    assert_eq!(jobs.as_array().unwrap().len(), 0, "{jobs}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/ops/bulk",
        json!({"group": "raid", "ids": [a], "params": {}}),
    )
    .await;
    assert_eq!(s, 400, "{p}");

    // An admin runs both on every node; results land in each node's configuration.
    for body in [&bios, &fw] {
        let (s, r) = call(
            &app,
            Role::Admin,
            Method::POST,
            "/api/v1/ops/bulk",
            body.clone(),
        )
        .await;
        assert_eq!(s, 202, "{r}");
        assert_eq!(r["jobs"].as_array().unwrap().len(), 2, "{r}");
        for j in r["jobs"].as_array().unwrap() {
            let j = follow(&app, j["id"].as_str().unwrap()).await;
            assert_eq!(j["state"], "succeeded", "{j}");
        }
    }
    for n in [&a, &b] {
        let (_, asset) = app
            .admin(Method::GET, &format!("/api/v1/assets/{n}"), Value::Null)
            .await;
        let oob = &asset["spec"]["oob"];
        assert_eq!(
            oob["bios"]["SysProfile"], "PerfPerWattOptimizedOs",
            "{asset}"
        );
        assert_eq!(oob["firmware"]["BIOS"], "6.5.4", "{asset}");
    }
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/ops/bulk",
        json!({"group": "power", "ids": [a], "params": {"action": "on"}}),
    )
    .await;
    assert_eq!(s, 202, "{r}");
}

/// Against a BMC that refuses `On` while on (the DGX persona): power on an already-on node
/// succeeds with a note; a second power job while one runs is refused with 409 naming it; a
/// firmware update the BMC calls complete but that changed nothing fails saying what was seen,
/// in words (no debug formatting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_is_idempotent_one_at_a_time_and_firmware_updates_are_verified() {
    let fleet = sim::Sim::start_models_with_password(&["dgx-h100"], 0.5, BMC_SECRET);
    let app = TestApp::start().await;
    let node = node_with_bmc(&app, &fleet.nodes[0], "dgx-1").await;
    let base = format!("/api/v1/nodes/{node}");

    let j = op(
        &app,
        Role::Operator,
        &format!("{base}/power"),
        json!({"action": "on"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let result = j["result"].clone();
    assert!(result.is_object(), "{j}");
    assert_eq!(
        result["note"], "the node is already on; no request sent",
        "{j}"
    );

    let (s, first) = call(
        &app,
        Role::Operator,
        Method::POST,
        &format!("{base}/power"),
        json!({"action": "cycle"}),
    )
    .await;
    assert_eq!(s, 202, "{first}");
    let first_id = first["id"].as_str().unwrap().to_string();
    let (s, second) = call(
        &app,
        Role::Operator,
        Method::POST,
        &format!("{base}/power"),
        json!({"action": "cycle"}),
    )
    .await;
    let (_, first_now) = call(
        &app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/jobs/{first_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 409, "{second}\nfirst: {first_now}");
    assert_eq!(second["job"], first_id.as_str(), "{second}");
    assert!(
        second["detail"].as_str().unwrap().contains(&first_id),
        "{second}"
    );
    let (s, boot) = call(
        &app,
        Role::Operator,
        Method::POST,
        &format!("{base}/boot"),
        json!({"device": "pxe"}),
    )
    .await;
    assert_eq!(s, 409, "{boot}");
    assert_eq!(follow(&app, &first_id).await["state"], "succeeded");
    // Once it has ended the next one runs.
    let j = op(
        &app,
        Role::Operator,
        &format!("{base}/boot"),
        json!({"device": "pxe"}),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");

    // The image cannot be fetched; the BMC's task completes all the same.
    let url = "http://unreachable.invalid/bios-02.05.00.bin";
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/firmware"),
        json!({"url": url, "targets": ["HostBIOS_0"]}),
    )
    .await;
    assert_eq!(j["state"], "failed", "{j}");
    let err = j["error"].as_str().unwrap();
    assert!(
        err.contains("HostBIOS_0 reports version") && err.contains("as before"),
        "{err}"
    );
    let j = op(
        &app,
        Role::Admin,
        &format!("{base}/firmware"),
        json!({"url": url, "targets": ["HostBIOS_0"], "expect_version": "02.05.00"}),
    )
    .await;
    assert_eq!(j["state"], "failed", "{j}");
    let err = j["error"].as_str().unwrap();
    assert!(err.contains("after the update, expected 02.05.00"), "{err}");
    assert!(!err.contains("Some(") && !err.contains('"'), "{err}");
}
