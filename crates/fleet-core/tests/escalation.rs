//! Incidents left open escalate: an `alert.escalated` event (and a timeline line) after each
//! `escalate_after` period without acknowledgement; an acknowledged incident stops escalating.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::correlation::{IncidentFilter, IncomingAlert};
use fleet_core::{Core, CoreSettings, Principal};
use fleet_db::{Actor, EventFilter, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_model::event::types;
use fleet_model::rbac::Role;

async fn escalations(store: &Store) -> Vec<serde_json::Value> {
    store
        .outbox_query(&EventFilter {
            types: vec![types::ALERT_ESCALATED.to_string()],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).unwrap()["data"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_left_open_escalates_each_period_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let mut settings = CoreSettings::new(dir.path().into());
    let period = Duration::from_millis(400);
    settings.correlation.escalate_after = period;
    let core = Core::new(store.clone(), settings);
    store
        .create_asset(
            &Actor::system("test"),
            NewAsset {
                kind: AssetKind::Node,
                name: "esc-1".into(),
                parent_id: None,
                labels: BTreeMap::new(),
                config: serde_json::json!({}),
                profile_id: None,
                reason: None,
            },
        )
        .await
        .unwrap();
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let labels: BTreeMap<String, String> = [
        ("alertname", "NodeDown"),
        ("node", "esc-1"),
        ("severity", "critical"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    core.ingest_alerts(
        &admin,
        vec![IncomingAlert {
            labels,
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let incidents = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let id = incidents[0].id.clone();

    // Not yet: the first period has not passed.
    core.correlation_tick().await.unwrap();
    assert!(escalations(&store).await.is_empty());
    tokio::time::sleep(period + Duration::from_millis(50)).await;
    core.correlation_tick().await.unwrap();
    core.correlation_tick().await.unwrap(); // the same period escalates once
    let got = escalations(&store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0]["incident"].as_str(), got[0]["level"].as_u64()),
        (Some(id.as_str()), Some(1))
    );
    assert_eq!(got[0]["severity"], "critical");
    assert!(got[0]["unacknowledged_for_s"].as_i64().is_some());

    tokio::time::sleep(period).await;
    core.correlation_tick().await.unwrap();
    let got = escalations(&store).await;
    assert_eq!(
        got.iter()
            .map(|e| e["level"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2]
    );

    // Acknowledged: no further level.
    core.acknowledge_incident(&admin, &id, Some("on it".into()))
        .await
        .unwrap();
    tokio::time::sleep(period * 2).await;
    core.correlation_tick().await.unwrap();
    assert_eq!(escalations(&store).await.len(), 2);
    let detail = core.get_incident(&admin, &id).await.unwrap();
    let lines: Vec<_> = detail
        .timeline
        .unwrap()
        .into_iter()
        .map(|t| t.event)
        .collect();
    assert_eq!(
        lines.iter().filter(|e| *e == "escalated").count(),
        2,
        "{lines:?}"
    );
    assert!(lines.contains(&"acknowledged".to_string()), "{lines:?}");
}

/// An incident that at least doubles its blast radius escalates at once, even acknowledged:
/// a GPU off the bus, then its NVLink peers reporting XID 74 one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_that_doubles_escalates_even_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let mut settings = CoreSettings::new(dir.path().into());
    settings.correlation.escalate_after = Duration::from_secs(3600);
    let core = Core::new(store.clone(), settings);
    let actor = Actor::system("test");
    let new = |kind, name: &str, parent: Option<String>, config| NewAsset {
        kind,
        name: name.into(),
        parent_id: parent,
        labels: BTreeMap::new(),
        config,
        profile_id: None,
        reason: None,
    };
    let node = store
        .create_asset(
            &actor,
            new(AssetKind::Node, "grow-1", None, serde_json::json!({})),
        )
        .await
        .unwrap();
    let mut gpus = Vec::new();
    for i in 0..8 {
        let g = store
            .create_asset(
                &actor,
                new(
                    AssetKind::Gpu,
                    &format!("grow-1-gpu{i}"),
                    Some(node.id.clone()),
                    serde_json::json!({"index": i}),
                ),
            )
            .await
            .unwrap();
        gpus.push(g.id);
    }
    for g in &gpus[1..] {
        store
            .create_relation(
                &actor,
                fleet_db::NewRelation {
                    kind: fleet_model::asset::RelationKind::Nvlink,
                    from_id: gpus[0].clone(),
                    to_id: g.clone(),
                    attrs: serde_json::json!({}),
                },
            )
            .await
            .unwrap();
    }
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let xid = |gpu: usize, code: &str, at: i64| IncomingAlert {
        labels: [
            ("alertname", "GpuXidError"),
            ("node", "grow-1"),
            ("gpu", &gpu.to_string()),
            ("xid", code),
            ("severity", "critical"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        starts_at: Some(fleet_db::rfc3339(at)),
        ..Default::default()
    };
    let t0 = fleet_db::now_ms() - 60_000;
    core.ingest_alerts(&admin, vec![xid(0, "79", t0)])
        .await
        .unwrap();
    core.correlation_tick().await.unwrap();
    let id = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap()[0]
        .id
        .clone();
    core.acknowledge_incident(&admin, &id, None).await.unwrap();
    // One peer more: not doubled by enough.
    core.ingest_alerts(&admin, vec![xid(1, "74", t0 + 1000)])
        .await
        .unwrap();
    core.correlation_tick().await.unwrap();
    assert!(escalations(&store).await.is_empty());
    // The other six peers: from 2 GPUs to 8.
    core.ingest_alerts(
        &admin,
        (2..8).map(|g| xid(g, "74", t0 + 2000 + g as i64)).collect(),
    )
    .await
    .unwrap();
    core.correlation_tick().await.unwrap();
    let got = escalations(&store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["reason"], "grew");
    assert_eq!(got[0]["incident"], id.as_str());
    assert_eq!(got[0]["state"], "acknowledged");
    assert!(
        got[0]["blast_radius"].as_u64().unwrap()
            >= 2 * got[0]["blast_radius_before"].as_u64().unwrap(),
        "{got:?}"
    );
    // Once: the next tick with nothing new escalates nothing.
    core.correlation_tick().await.unwrap();
    assert_eq!(escalations(&store).await.len(), 1);
}
