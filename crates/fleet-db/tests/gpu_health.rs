//! GPU health changes (telemetry): each is one `gpu.status_changed` event plus one history row
//! keyed by the GPU's serial, on both dialects.

use fleet_db::{history_key, AssetHealthChange, GpuHealthChange};
use serde_json::json;

#[macro_use]
mod common;
use common::{actor, TestDb};

contract!(
    health_changes_write_an_event_and_a_history_row_keyed_by_serial,
    node_and_port_changes_are_system_and_network_events_with_history,
);

fn change(
    gpu: &str,
    serial: Option<&str>,
    node: &str,
    old: &str,
    new: &str,
    at_ms: i64,
) -> GpuHealthChange {
    GpuHealthChange {
        gpu_id: gpu.into(),
        serial: serial.map(str::to_string),
        node_id: Some(node.into()),
        old_state: old.into(),
        new_state: new.into(),
        reasons: json!([{"kind": "xid", "code": 79}]),
        old_reasons: json!([]),
        at_ms,
    }
}

async fn health_changes_write_an_event_and_a_history_row_keyed_by_serial(db: TestDb) {
    let s = &db.store;
    let before = s.outbox_pending(1000).await.unwrap().len();
    s.record_gpu_health(
        &actor(),
        &[
            change("g1", Some("S1"), "n1", "unknown", "healthy", 1_000),
            change("g2", None, "n1", "unknown", "healthy", 1_000),
        ],
    )
    .await
    .unwrap();
    // The GPU moved to n2 (the CMDB asset may even be another one): the history follows S1.
    s.record_gpu_health(
        &actor(),
        &[change("g9", Some("S1"), "n2", "healthy", "failed", 2_000)],
    )
    .await
    .unwrap();
    s.record_gpu_health(&actor(), &[]).await.unwrap();

    let rows = s.gpu_health_history("S1", 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].new_state, "failed");
    assert_eq!(rows[0].node_id.as_deref(), Some("n2"));
    assert_eq!(rows[0].gpu_id, "g9");
    assert_eq!(rows[1].node_id.as_deref(), Some("n1"));
    assert!(rows[0].reasons.contains("79"));
    assert_eq!(history_key("g2", None), "asset:g2");
    assert_eq!(s.gpu_health_history("asset:g2", 10).await.unwrap().len(), 1);
    assert_eq!(s.gpu_health_history("S1", 1).await.unwrap().len(), 1);

    let events = s.outbox_pending(1000).await.unwrap();
    let new: Vec<_> = events[before..].iter().collect();
    assert_eq!(new.len(), 3);
    assert!(new
        .iter()
        .all(|e| e.ty == "io.gpufleet.gpu.status_changed.v1"));
    assert_eq!(new[2].subject, "g9");
    let ev: serde_json::Value = serde_json::from_str(&new[2].payload).unwrap();
    assert_eq!(ev["data"]["serial"], "S1");
    assert_eq!(ev["data"]["old"]["state"], "healthy");
    assert_eq!(ev["data"]["new"]["reasons"][0]["code"], 79);
}

fn asset_change(asset: &str, port: Option<&str>, new: &str, at_ms: i64) -> AssetHealthChange {
    AssetHealthChange {
        asset_id: asset.into(),
        port: port.map(str::to_string),
        old_state: "healthy".into(),
        new_state: new.into(),
        reasons: json!([{"kind": "port_down", "oper_status": "DOWN"}]),
        old_reasons: json!([]),
        at_ms,
    }
}

async fn node_and_port_changes_are_system_and_network_events_with_history(db: TestDb) {
    let s = &db.store;
    let before = s.outbox_pending(1000).await.unwrap().len();
    s.record_asset_health(
        &actor(),
        &[
            asset_change("n1", None, "degraded", 1_000),
            asset_change("sw1", Some("Ethernet1"), "failed", 2_000),
            asset_change("sw1", Some("Ethernet2"), "failed", 3_000),
        ],
    )
    .await
    .unwrap();
    s.record_asset_health(&actor(), &[]).await.unwrap();
    let node = s.asset_health_history("n1", Some(""), 10).await.unwrap();
    assert_eq!(node.len(), 1);
    assert_eq!(node[0].new_state, "degraded");
    let all = s.asset_health_history("sw1", None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.part.as_str()).collect::<Vec<_>>(),
        ["Ethernet2", "Ethernet1"],
        "newest first"
    );
    let one = s
        .asset_health_history("sw1", Some("Ethernet1"), 10)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert!(one[0].reasons.contains("port_down"));

    let events = s.outbox_pending(1000).await.unwrap();
    let new: Vec<_> = events[before..].iter().collect();
    assert_eq!(new.len(), 3);
    assert_eq!(new[0].ty, "io.gpufleet.system.status_changed.v1");
    assert_eq!(new[0].subject, "n1");
    assert_eq!(new[1].ty, "io.gpufleet.network.status_changed.v1");
    assert_eq!(new[1].subject, "sw1");
    let ev: serde_json::Value = serde_json::from_str(&new[1].payload).unwrap();
    assert_eq!(ev["data"]["port"], "Ethernet1");
    assert_eq!(ev["data"]["new"]["state"], "failed");
    assert_eq!(ev["data"]["new"]["reasons"][0]["oper_status"], "DOWN");
}
