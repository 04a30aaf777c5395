//! Alert correlation through the REST API: a small physical fleet created through the API,
//! alert storms posted as Prometheus (Alertmanager API v2) and Alertmanager (webhook v4) send
//! them, and the incidents that come out.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(app: &TestApp, role: Role, m: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app.req(role, m, path).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, body: Value) -> String {
    let (s, v) = app
        .admin(Method::POST, "/api/v1/assets", body.clone())
        .await;
    assert_eq!(s, 201, "{body}: {v}");
    v["id"].as_str().unwrap().to_string()
}

async fn relate(app: &TestApp, kind: &str, from: &str, to: &str, attrs: Value) {
    let (s, v) = app
        .admin(
            Method::POST,
            "/api/v1/relations",
            json!({"kind": kind, "from_id": from, "to_id": to, "attrs": attrs}),
        )
        .await;
    assert_eq!(s, 201, "{kind} {from} {to}: {v}");
}

fn gpu_uuid(node: usize, gpu: usize) -> String {
    format!("GPU-4d44b188-25d2-522f-4f9f-65{node:02}{gpu:02}e58c9129")
}

/// One rack; PDUs `pdu-a` (outlets 1-4 feeding node-01..04) and `pdu-b` (node-05..08), with no
/// management address (nobody polls them, so a dark one is inferred from its nodes); every
/// node with a BMC (10.0.1.<n>), two GPUs and a NIC; leaf switches `leaf-1` (node-01..04) and
/// `leaf-2` (node-05..08). Returns name → id.
async fn fleet(app: &TestApp) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    let rack = create(app, json!({"kind": "rack", "name": "r1"})).await;
    for (pdu, first) in [("pdu-a", 1), ("pdu-b", 5)] {
        let p = create(app, json!({"kind": "pdu", "name": pdu, "parent_id": rack})).await;
        ids.insert(pdu.to_string(), p.clone());
        for o in 1..=4 {
            let name = format!("{pdu}-{o}");
            let id = create(
                app,
                json!({"kind": "outlet", "name": name, "parent_id": p, "config": {"number": o}}),
            )
            .await;
            ids.insert(format!("{pdu}/{}", first + o - 1), id);
        }
    }
    for leaf in ["leaf-1", "leaf-2"] {
        let s = create(
            app,
            json!({"kind": "switch", "name": leaf, "parent_id": rack}),
        )
        .await;
        ids.insert(leaf.to_string(), s);
    }
    for n in 1..=8usize {
        let name = format!("node-{n:02}");
        let node = create(
            app,
            json!({"kind": "node", "name": name, "parent_id": rack}),
        )
        .await;
        ids.insert(name.clone(), node.clone());
        create(
            app,
            json!({"kind": "bmc", "name": format!("{name}-bmc"), "parent_id": node,
                   "config": {"address": format!("10.0.1.{n}"), "protocol": "redfish"}}),
        )
        .await;
        for g in 0..2 {
            let id = create(
                app,
                json!({"kind": "gpu", "name": format!("{name}-gpu{g}"), "parent_id": node,
                       "config": {"uuid": gpu_uuid(n, g)}}),
            )
            .await;
            ids.insert(format!("{name}-gpu{g}"), id);
        }
        let nic = create(
            app,
            json!({"kind": "nic", "name": format!("{name}-eth0"), "parent_id": node,
                   "config": {"mac": format!("0c:42:a1:00:00:{n:02x}")}}),
        )
        .await;
        let pdu = if n <= 4 { "pdu-a" } else { "pdu-b" };
        let outlet = ids[&format!("{pdu}/{n}")].clone();
        relate(app, "powered_by", &node, &outlet, json!({})).await;
        let leaf = if n <= 4 { "leaf-1" } else { "leaf-2" };
        let sw = ids[leaf].clone();
        relate(
            app,
            "connected_to",
            &nic,
            &sw,
            json!({"port": format!("Ethernet{n}")}),
        )
        .await;
    }
    ids
}

fn at(base: i64, offset_ms: i64) -> String {
    fleet_db::rfc3339(base + offset_ms)
}

fn alert(labels: Value, starts_at: String) -> Value {
    json!({"labels": labels, "annotations": {"summary": "from the test storm"},
           "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
           "generatorURL": "http://prometheus:9090/graph?g0.expr=up"})
}

/// The alerts a dark PDU feed raises for one node: BMC unreachable (Redfish exporter), node
/// down (node exporter), and DCGM telemetry missing for each GPU.
fn power_loss(n: usize, base: i64) -> Vec<Value> {
    let host = format!("node-{n:02}");
    let t = (n as i64) * 1500;
    let mut v = vec![
        alert(
            json!({"alertname": "BMCUnreachable", "instance": format!("10.0.1.{n}:443"),
                   "job": "redfish-exporter", "severity": "critical"}),
            at(base, t),
        ),
        alert(
            json!({"alertname": "NodeDown", "instance": format!("{host}:9100"),
                   "job": "node-exporter", "severity": "critical"}),
            at(base, t + 700),
        ),
    ];
    for g in 0..2 {
        v.push(alert(
            json!({"alertname": "GpuTelemetryMissing", "Hostname": host, "gpu": g.to_string(),
                   "UUID": gpu_uuid(n, g), "modelName": "NVIDIA H100 80GB HBM3",
                   "job": "dcgm-exporter", "severity": "warning"}),
            at(base, t + 2000 + g as i64 * 300),
        ));
    }
    v
}

/// A fixed shuffle (no randomness in tests): a stride through the list.
fn shuffled(mut v: Vec<Value>) -> Vec<Value> {
    let n = v.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 7 % n.max(1);
    while !v.is_empty() {
        i %= v.len();
        out.push(v.remove(i));
        i += 5;
    }
    out
}

fn webhook(alerts: &[Value]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a["status"] = json!("firing");
            a["fingerprint"] = json!("0000000000000000");
            a
        })
        .collect();
    json!({"version": "4", "groupKey": "{}:{alertname=\"storm\"}", "status": "firing",
           "receiver": "gpufleet", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
           "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0, "alerts": alerts})
}

/// Posts half through the API v2 path, half through the webhook.
async fn post_storm(app: &TestApp, alerts: &[Value]) {
    let (first, second) = alerts.split_at(alerts.len() / 2);
    let (s, r) = call(
        app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!(first),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["accepted"], first.len(), "{r}");
    let (s, r) = call(
        app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts/webhook",
        webhook(second),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["accepted"], second.len(), "{r}");
}

async fn incidents(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, v) = call(
        app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/incidents{query}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    let (s, v) = call(
        app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/incidents/{}", urlencode(id)),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn labels_of(alerts: &[Value]) -> BTreeSet<String> {
    alerts.iter().map(|a| a["labels"].to_string()).collect()
}

async fn events_of(app: &TestApp, ty: &str) -> Vec<Value> {
    let (s, v) = call(
        app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/events?type={ty}&limit=500"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_pdu_is_one_incident_that_is_acknowledged_and_resolved_with_events() {
    let app = TestApp::start().await;
    let ids = fleet(&app).await;
    let base = fleet_db::now_ms() - 120_000;
    let storm: Vec<Value> = (1..=4).flat_map(|n| power_loss(n, base)).collect();
    assert_eq!(storm.len(), 16);
    let noise = alert(
        json!({"alertname": "DiskSmartWarning", "instance": "node-06:9100",
               "job": "node-exporter", "device": "nvme0n1", "severity": "warning"}),
        at(base, 4_000),
    );
    let mut all = storm.clone();
    all.push(noise.clone());
    post_storm(&app, &shuffled(all.clone())).await;
    // Prometheus re-sends firing alerts every evaluation, here to Alertmanager's own path: the
    // same label sets change nothing.
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v2/alerts",
        json!(all),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["new"], 0, "{r}");
    assert_eq!(r["alerts_held"], 17, "{r}");

    let list = incidents(&app, "").await;
    assert_eq!(list.len(), 2, "{list:#?}");
    let pdu: Vec<&Value> = list
        .iter()
        .filter(|i| i["root_cause"]["asset_name"] == "pdu-a")
        .collect();
    assert_eq!(pdu.len(), 1, "{list:#?}");
    let id = pdu[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["id"], id.as_str(), "the power loss ranks first");
    let inc = detail(&app, &id).await;
    assert_eq!(inc["root_cause"]["asset_id"], ids["pdu-a"].as_str());
    assert_eq!(inc["root_cause"]["kind"], "pdu");
    assert_eq!(inc["root_cause"]["fault"], "pdu_power_lost");
    assert!(inc["root_cause"]["confidence"].as_f64().unwrap() > 0.5);
    assert!(!inc["root_cause"]["evidence"].as_array().unwrap().is_empty());
    assert_eq!(inc["state"], "open");
    assert_eq!(inc["alert_count"], 16);
    let members: Vec<Value> = inc["alerts"].as_array().unwrap().clone();
    assert_eq!(
        labels_of(&members),
        labels_of(&storm),
        "every storm alert, labels as received"
    );
    assert!(
        members.iter().all(|a| a["asset_id"].is_string()),
        "{members:#?}"
    );
    assert!(inc["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("facilities_power")));
    let nodes: BTreeSet<&str> = inc["affected"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = (1..=4)
        .map(|n| ids[&format!("node-{n:02}")].as_str())
        .collect();
    assert_eq!(nodes, want);
    assert_eq!(inc["affected"]["gpus"].as_array().unwrap().len(), 8);
    let other = list.iter().find(|i| i["id"] != id.as_str()).unwrap();
    assert_eq!(other["alert_count"], 1);
    assert_eq!(other["root_cause"]["asset_id"], ids["node-06"].as_str());

    // Filters.
    assert_eq!(incidents(&app, "?asset=node-03").await.len(), 1);
    assert_eq!(incidents(&app, "?state=acknowledged").await.len(), 0);
    let (s, p) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/incidents?state=sleeping",
        Value::Null,
    )
    .await;
    assert_eq!(s, 400, "{p}");

    // A viewer reads but neither sends alerts nor acknowledges.
    let (s, _) = call(
        &app,
        Role::Viewer,
        Method::POST,
        "/api/v1/alerts",
        json!([noise]),
    )
    .await;
    assert_eq!(s, 403);
    let path = format!("/api/v1/incidents/{}/ack", urlencode(&id));
    let (s, _) = call(&app, Role::Viewer, Method::POST, &path, json!({})).await;
    assert_eq!(s, 403);

    // The same incident through GraphQL: its root cause linked to the CMDB's PDU, its alerts
    // and timeline; a viewer may not acknowledge it there either, an operator may.
    let q = json!({"query": "{ incidents(asset: \"node-03\") { id state alertCount \
        rootCause { kind fault belief asset { name kind } } alerts { labels status } \
        timeline { event by } } }"});
    let (s, g) = call(&app, Role::Viewer, Method::POST, "/api/v1/graphql", q).await;
    assert_eq!(s, 200, "{g}");
    let gi = &g["data"]["incidents"][0];
    assert_eq!(gi["id"], id.as_str(), "{g}");
    assert_eq!(gi["rootCause"]["asset"]["name"], "pdu-a", "{g}");
    assert_eq!(gi["rootCause"]["asset"]["kind"], "pdu", "{g}");
    assert_eq!(gi["rootCause"]["fault"], "pdu_power_lost", "{g}");
    assert_eq!(gi["alertCount"], 16);
    assert_eq!(gi["alerts"].as_array().unwrap().len(), 16);
    assert_eq!(gi["timeline"][0]["event"], "opened", "{g}");
    let ack = json!({"query": "mutation($id: ID!) { acknowledgeIncident(id: $id, note: \"from graphql\") { state acknowledgedBy timeline { event detail } } }",
                     "variables": {"id": id}});
    let (_, g) = call(
        &app,
        Role::Viewer,
        Method::POST,
        "/api/v1/graphql",
        ack.clone(),
    )
    .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "FORBIDDEN", "{g}");
    let (_, g) = call(&app, Role::Operator, Method::POST, "/api/v1/graphql", ack).await;
    let a = &g["data"]["acknowledgeIncident"];
    assert_eq!(a["state"], "acknowledged", "{g}");
    assert_eq!(a["acknowledgedBy"], "operator", "{g}");
    assert!(a["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["event"] == "acknowledged" && t["detail"] == "from graphql"));
    let (_, g) = call(
        &app,
        Role::Viewer,
        Method::POST,
        "/api/v1/graphql",
        json!({"query": "{ incident(id: \"no-such\") { id } incidents(state: \"sleeping\") { id } }"}),
    )
    .await;
    // An unknown id is null; an unknown state is an error that names the states.
    assert!(g["data"]["incident"].is_null(), "{g}");
    assert!(g["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("acknowledged"));
    assert_eq!(
        g["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{g}"
    );

    let (s, v) = call(
        &app,
        Role::Operator,
        Method::POST,
        &path,
        json!({"note": "facilities called"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "acknowledged");
    assert_eq!(v["acknowledged_by"], "operator");
    assert_eq!(incidents(&app, "?state=acknowledged").await.len(), 1);
    let path = format!("/api/v1/incidents/{}/resolve", urlencode(&id));
    let (s, v) = call(&app, Role::Admin, Method::POST, &path, Value::Null).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "resolved");
    let events: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"opened"), "{events:?}");
    assert!(
        events.ends_with(&["acknowledged", "resolved"]),
        "{events:?}"
    );
    let path = format!("/api/v1/incidents/{}/ack", urlencode(&id));
    let (s, p) = call(&app, Role::Operator, Method::POST, &path, json!({})).await;
    assert_eq!(s, 409, "{p}");

    // Its remediation plan: a power problem is a facilities ticket, nothing gpufleet executes.
    let plan_path = format!("/api/v1/incidents/{}/plan", urlencode(&id));
    let (s, plan) = call(&app, Role::Viewer, Method::GET, &plan_path, Value::Null).await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["dry_run"], true);
    assert!(
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["action"] == "facilities_power" && st["decision"] == "manual"),
        "{plan}"
    );
    let run = format!("/api/v1/incidents/{}/remediate", urlencode(&id));
    let (s, p) = call(&app, Role::Viewer, Method::POST, &run, json!({})).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &run,
        json!({"approve": "yes"}),
    )
    .await;
    assert_eq!(s, 400, "a body of the wrong shape: {p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/incidents/nope/remediate",
        json!({}),
    )
    .await;
    assert_eq!(s, 404, "{p}");
    let (s, v) = call(
        &app,
        Role::Operator,
        Method::POST,
        &run,
        json!({"dry_run": true}),
    )
    .await;
    assert_eq!((s, &v["dry_run"]), (200, &json!(true)), "{v}");
    // The kill switch is the admin's; its body is checked.
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::PUT,
        "/api/v1/remediation/kill-switch",
        json!({"on": true}),
    )
    .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = call(
        &app,
        Role::Admin,
        Method::PUT,
        "/api/v1/remediation/kill-switch",
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 422, "`on` is missing: {p}");
    let (s, v) = call(
        &app,
        Role::Admin,
        Method::PUT,
        "/api/v1/remediation/kill-switch",
        json!({"on": true, "reason": "maintenance window"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kill_switch"], true);
    let (_, v) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/remediation",
        Value::Null,
    )
    .await;
    assert_eq!(v["kill_switch_reason"], "maintenance window", "{v}");
    let (_, v) = call(&app, Role::Viewer, Method::GET, &plan_path, Value::Null).await;
    assert_eq!(v["kill_switch"], true, "{v}");

    // The events, in the outbox and on the event API.
    let opened = events_of(&app, "io.gpufleet.incident.opened.v1").await;
    assert!(
        opened.iter().any(|e| e["subject"] == ids["pdu-a"].as_str()),
        "{opened:#?}"
    );
    let updated = events_of(&app, "io.gpufleet.incident.updated.v1").await;
    assert!(updated
        .iter()
        .any(|e| e["data"]["change"] == "acknowledged" && e["data"]["incident_id"] == id.as_str()));
    let resolved = events_of(&app, "io.gpufleet.incident.resolved.v1").await;
    assert!(resolved
        .iter()
        .any(|e| e["data"]["change"] == "resolved" && e["data"]["by"] == "admin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_leaf_switch_is_one_incident_and_bad_or_unknown_alerts_are_handled() {
    let app = TestApp::start().await;
    let ids = fleet(&app).await;
    let base = fleet_db::now_ms() - 300_000;
    let mut storm = Vec::new();
    for n in 5..=8usize {
        storm.push(alert(
            json!({"alertname": "NicLinkDown", "instance": format!("node-{n:02}:9100"),
                   "device": "eth0", "job": "node-exporter", "severity": "critical"}),
            at(base, n as i64 * 900),
        ));
    }
    // Job-wide NCCL timeouts, one with a rank on a node far from the switch.
    storm.push(alert(
        json!({"alertname": "NcclTimeout", "job_id": "slurm-4242", "nodes": "node-05,node-06",
               "severity": "critical"}),
        at(base, 9_000),
    ));
    storm.push(alert(
        json!({"alertname": "NcclTimeout", "job_id": "slurm-4343",
               "nodes": "node-07,node-08,node-02", "severity": "critical"}),
        at(base, 9_500),
    ));
    let noise = alert(
        json!({"alertname": "GpuTemperatureHigh", "Hostname": "node-03", "gpu": "1",
               "UUID": gpu_uuid(3, 1), "job": "dcgm-exporter", "severity": "warning"}),
        at(base, 5_000),
    );
    let mut all = storm.clone();
    all.push(noise.clone());
    post_storm(&app, &shuffled(all)).await;

    let list = incidents(&app, "").await;
    assert_eq!(list.len(), 2, "{list:#?}");
    let sw = list
        .iter()
        .find(|i| i["root_cause"]["asset_name"] == "leaf-2")
        .unwrap_or_else(|| panic!("{list:#?}"));
    assert_eq!(sw["root_cause"]["kind"], "switch");
    assert_eq!(sw["root_cause"]["asset_id"], ids["leaf-2"].as_str());
    let inc = detail(&app, sw["id"].as_str().unwrap()).await;
    assert_eq!(
        labels_of(inc["alerts"].as_array().unwrap()),
        labels_of(&storm)
    );
    assert!(inc["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("check_cabling")));
    let jobs = inc["affected"]["jobs"].as_array().unwrap();
    assert!(jobs.contains(&json!("slurm-4343")), "{inc:#}");
    let other = list.iter().find(|i| i["id"] != sw["id"]).unwrap();
    assert_eq!(
        other["root_cause"]["asset_id"],
        ids["node-03-gpu1"].as_str()
    );

    // An alert no asset matches is kept, correlated alone and counted.
    let ghost = alert(
        json!({"alertname": "NodeDown", "instance": "ghost-99:9100", "job": "node-exporter",
               "severity": "critical"}),
        at(base, 20_000),
    );
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!([ghost]),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["unresolved"], 1, "{r}");
    assert_eq!(r["unresolved_held"], 1, "{r}");
    let (s, held) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/alerts?unresolved=true",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{held}");
    assert_eq!(held["unresolved"], 1);
    assert_eq!(held["total"], 8);
    assert_eq!(held["alerts"][0]["labels"]["instance"], "ghost-99:9100");
    let list = incidents(&app, "").await;
    assert_eq!(list.len(), 3);
    assert!(list.iter().any(|i| i["root_cause"]["asset_id"].is_null()));

    // Bad bodies: 400 problem documents naming the problem; nothing accepted before is lost.
    for (path, body, needle) in [
        ("/api/v1/alerts", json!({}), "sequence"),
        (
            "/api/v1/alerts",
            json!([{"labels": {"alertname": 3}}]),
            "labels",
        ),
        (
            "/api/v1/alerts/webhook",
            json!({"version": "3", "alerts": []}),
            "version",
        ),
        ("/api/v1/alerts/webhook", json!({"version": "4"}), "alerts"),
    ] {
        let r = app
            .req(Role::Operator, Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let p: Value = r.json().await.unwrap();
        assert!(
            p["detail"].as_str().unwrap().contains(needle),
            "{path} {body}: {p}"
        );
    }
    let late = alert(
        json!({"alertname": "NodeDown", "instance": "node-01:9100", "severity": "critical"}),
        at(base, 30_000),
    );
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!([{"labels": {}}, late, {"labels": {"alertname": "X"}, "startsAt": "2026-01-01T00:00:10Z", "endsAt": "2026-01-01T00:00:00Z"}]),
    )
    .await;
    assert_eq!(s, 400, "{p}");
    assert_eq!(p["accepted"], 1, "{p}");
    assert_eq!(p["rejected"][0]["index"], 0, "{p}");
    assert_eq!(p["rejected"][1]["index"], 2, "{p}");
    assert!(p["rejected"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("before"));
    let (_, held) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/alerts",
        Value::Null,
    )
    .await;
    assert_eq!(
        held["total"], 9,
        "the storm, the ghost and the valid late alert"
    );

    // endsAt in the past resolves: the switch incident resolves once every alert in it ended.
    let ended: Vec<Value> = storm
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a["endsAt"] = json!(at(base, 60_000));
            a
        })
        .collect();
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!(ended),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let inc = detail(&app, sw["id"].as_str().unwrap()).await;
    assert_eq!(inc["state"], "resolved", "{inc:#}");
    assert_eq!(inc["resolved_by"], "system:correlation");
    assert_eq!(inc["alerts_firing"], 0);

    // The same label set firing again after it ended is a new occurrence: its own startsAt,
    // in an incident of its own, not the resolved one.
    let mut again = storm[0].clone();
    again["startsAt"] = json!(at(base, 200_000));
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!([again]),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, held) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/alerts",
        Value::Null,
    )
    .await;
    let refired = held["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"] == storm[0]["labels"])
        .cloned()
        .unwrap();
    assert_eq!(refired["starts_at"], at(base, 200_000), "{refired}");
    assert!(refired["ends_at"].is_null(), "{refired}");
    let now_in = refired["incident"].as_str().unwrap().to_string();
    assert_ne!(now_in, sw["id"].as_str().unwrap());
    assert_eq!(detail(&app, &now_in).await["state"], "open");
    let inc = detail(&app, sw["id"].as_str().unwrap()).await;
    assert_eq!(inc["state"], "resolved", "{inc:#}");
}

/// CDUs in the CMDB: imported with the racks they cool, their `cooled_by` relations feed the
/// correlation graph, and a CDU that announces a fault takes the thermal alerts of the GPUs in
/// its racks, not of a rack it does not cool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdu_fault_takes_the_thermal_alerts_of_the_racks_it_cools() {
    let app = TestApp::start().await;
    let uuid = |n: usize, g: usize| format!("GPU-c0c0c0c0-0000-4000-8000-0000000{n}{g}00");
    let mut doc = String::from(
        "racks: [{name: cool-r1}, {name: cool-r2}, {name: cool-r3}]\ncdus:\n  - {name: cdu-row1, racks: [cool-r1, cool-r2], address: \"10.9.0.1\"}\nnodes:\n",
    );
    for (n, rack) in [(1, "cool-r1"), (2, "cool-r2"), (3, "cool-r3")] {
        doc.push_str(&format!(
            "  - name: cool-n{n}\n    rack: {rack}\n    gpus:\n      - {{serial: CS{n}0, uuid: {}}}\n      - {{serial: CS{n}1, uuid: {}}}\n",
            uuid(n, 0),
            uuid(n, 1)
        ));
    }
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/import?format=yaml")
        .body(doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (_, cdus) = call(
        &app,
        Role::Viewer,
        Method::GET,
        "/api/v1/assets?kind=cdu",
        Value::Null,
    )
    .await;
    let cdu_id = cdus["items"][0]["id"].as_str().unwrap().to_string();
    let base = fleet_db::now_ms() - 120_000;
    let mut alerts = vec![alert(
        json!({"alertname": "CduFault", "cdu": "cdu-row1", "severity": "critical"}),
        at(base, 0),
    )];
    for n in 1..=3 {
        for g in 0..2 {
            alerts.push(alert(
                json!({"alertname": "GpuTemperatureHigh", "UUID": uuid(n, g), "severity": "warning"}),
                at(base, 30_000 + (n * 10 + g) as i64 * 1000),
            ));
        }
    }
    let (s, r) = call(
        &app,
        Role::Operator,
        Method::POST,
        "/api/v1/alerts",
        json!(alerts),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["unresolved"], 0, "every alert resolved to an asset: {r}");
    let list = incidents(&app, "").await;
    let cdu: Vec<&Value> = list
        .iter()
        .filter(|i| i["root_cause"]["asset_id"] == cdu_id.as_str())
        .collect();
    assert_eq!(cdu.len(), 1, "{list:#?}");
    assert_eq!(cdu[0]["root_cause"]["kind"], "cdu");
    assert_eq!(cdu[0]["root_cause"]["fault"], "cooling_failed");
    assert_eq!(
        cdu[0]["alert_count"], 5,
        "the CDU's alert and four GPUs: {list:#?}"
    );
    assert!(cdu[0]["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("facilities_cooling")));
    // The rack the CDU does not cool keeps its GPUs' alerts apart.
    assert_eq!(list.len(), 3, "{list:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_are_merged_and_split_by_hand_over_rest_and_graphql() {
    let app = TestApp::start().await;
    let ids = fleet(&app).await;
    let base = fleet_db::now_ms() - 60_000;
    // Three unrelated alerts, each its own incident.
    let alerts = vec![
        alert(
            json!({"alertname": "NodeDown", "instance": "node-01:9100", "severity": "critical"}),
            at(base, 0),
        ),
        alert(
            json!({"alertname": "NodeDown", "instance": "node-06:9100", "severity": "critical"}),
            at(base, 1_000),
        ),
        alert(
            json!({"alertname": "GpuXidError", "Hostname": "node-03", "gpu": "1",
                   "UUID": gpu_uuid(3, 1), "xid": "13", "severity": "warning"}),
            at(base, 2_000),
        ),
    ];
    post_storm(&app, &alerts).await;
    let list = incidents(&app, "").await;
    assert_eq!(list.len(), 3, "{list:#?}");
    let rooted = |node: &str| {
        list.iter()
            .find(|i| i["root_cause"]["asset_id"] == json!(ids[node]))
            .unwrap_or_else(|| panic!("no incident rooted at {node}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (one, six) = (rooted("node-01"), rooted("node-06"));
    let xid = rooted("node-03-gpu1");
    let merge = |id: &str| format!("/api/v1/incidents/{}/merge", urlencode(id));
    let split = |id: &str| format!("/api/v1/incidents/{}/split", urlencode(id));

    // Bad requests say why and change nothing.
    let (s, p) = call(
        &app,
        Role::Viewer,
        Method::POST,
        &merge(&one),
        json!({"incidents": [six]}),
    )
    .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &merge(&one),
        json!({"incidents": []}),
    )
    .await;
    assert_eq!(s, 400, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &merge(&one),
        json!({"incidents": [one]}),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &merge("nope"),
        json!({"incidents": [six]}),
    )
    .await;
    assert_eq!(s, 404, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &merge(&one),
        json!({"incidents": [six], "colour": 1}),
    )
    .await;
    assert_eq!(s, 422, "unknown fields are refused: {p}");
    assert_eq!(incidents(&app, "").await.len(), 3);

    let (s, m) = call(
        &app,
        Role::Operator,
        Method::POST,
        &merge(&one),
        json!({"incidents": [six], "note": "same rack work"}),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["id"], json!(one));
    assert_eq!(m["alert_count"], 2);
    assert_eq!(incidents(&app, "").await.len(), 2);
    // The merged id answers with the incident it went into; the change is an event.
    assert_eq!(detail(&app, &six).await["id"], json!(one));
    let updated = events_of(&app, "io.gpufleet.incident.updated.v1").await;
    assert!(
        updated
            .iter()
            .any(|e| e["data"]["change"] == "merged" && e["data"]["merged_into"] == json!(one)),
        "{updated:#?}"
    );

    // Split node-06's alert back off, rooted at the asset named.
    let fp = m["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == "node-06:9100")
        .unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &split(&one),
        json!({"alerts": [fp, "0123"]}),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("not in incident"),
        "{p}"
    );
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::POST,
        &split(&one),
        json!({"alerts": []}),
    )
    .await;
    assert_eq!(s, 400, "{p}");
    let (s, v) = call(
        &app,
        Role::Operator,
        Method::POST,
        &split(&one),
        json!({"alerts": [fp], "root_asset": "leaf-2", "note": "the leaf"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], json!(format!("split:{fp}")));
    assert_eq!(v["root_cause"]["belief"], "manual");
    assert_eq!(v["root_cause"]["asset_id"], json!(ids["leaf-2"]));
    assert_eq!(v["root_cause"]["kind"], "switch");
    assert!(v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["event"] == "split" && t["detail"].as_str().unwrap().ends_with("the leaf")));
    assert_eq!(detail(&app, &one).await["alert_count"], 1);

    // GraphQL: merge the XID incident into the split one, then split it off again.
    let q = json!({"query": "mutation($into: ID!, $from: [ID!]!) { mergeIncidents(into: $into, incidents: $from, note: \"gql\") { id alertCount timeline { event by } } }",
                   "variables": {"into": v["id"], "from": [xid]}});
    let (_, g) = call(
        &app,
        Role::Viewer,
        Method::POST,
        "/api/v1/graphql",
        q.clone(),
    )
    .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "FORBIDDEN", "{g}");
    let (_, g) = call(&app, Role::Operator, Method::POST, "/api/v1/graphql", q).await;
    assert_eq!(g["data"]["mergeIncidents"]["alertCount"], 2, "{g}");
    let xid_fp = detail(&app, v["id"].as_str().unwrap()).await["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "GpuXidError")
        .unwrap()["fingerprint"]
        .clone();
    let q = json!({"query": "mutation($id: ID!, $fp: [String!]!) { splitIncident(id: $id, alerts: $fp) { id rootCause { belief assetName } } }",
                   "variables": {"id": v["id"], "fp": [xid_fp]}});
    let (_, g) = call(&app, Role::Operator, Method::POST, "/api/v1/graphql", q).await;
    let sp = &g["data"]["splitIncident"];
    assert_eq!(sp["rootCause"]["belief"], "manual", "{g}");
    assert_eq!(sp["rootCause"]["assetName"], "node-03-gpu1", "{g}");
    assert_eq!(incidents(&app, "").await.len(), 3);
}
