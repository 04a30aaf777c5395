//! The incident store survives a restart: a new core on the same database holds the same
//! alerts (with their `startsAt` and `endsAt`), rebuilds the same incidents (the same ids),
//! and brings back what people did with them (state, who, timeline) — without writing the
//! incidents' events a second time.

use std::collections::BTreeMap;

use fleet_core::correlation::{IncidentFilter, IncidentState, IncomingAlert};
use fleet_core::{Core, CoreSettings, Principal};
use fleet_db::{Actor, EventFilter, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_model::rbac::Role;

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn incident_events(store: &Store) -> usize {
    store
        .outbox_query(&EventFilter {
            types: vec![
                fleet_model::event::types::INCIDENT_OPENED.to_string(),
                fleet_model::event::types::INCIDENT_UPDATED.to_string(),
                fleet_model::event::types::INCIDENT_RESOLVED.to_string(),
            ],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_and_their_alerts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let settings = || CoreSettings::new(dir.path().into());
    for name in ["keep-1", "keep-2"] {
        store
            .create_asset(
                &Actor::system("test"),
                NewAsset {
                    kind: AssetKind::Node,
                    name: name.into(),
                    parent_id: None,
                    labels: BTreeMap::new(),
                    config: serde_json::json!({}),
                    profile_id: None,
                    reason: None,
                },
            )
            .await
            .unwrap();
    }
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let t0 = fleet_db::now_ms() - 600_000;
    let at = |ms: i64| fleet_db::rfc3339(t0 + ms);
    let down = |node: &str, starts: &str| IncomingAlert {
        labels: labels(&[
            ("alertname", "NodeDown"),
            ("node", node),
            ("severity", "critical"),
        ]),
        starts_at: Some(starts.to_string()),
        ..Default::default()
    };
    let first = Core::new(store.clone(), settings());
    first
        .ingest_alerts(
            &admin,
            vec![down("keep-1", &at(0)), down("keep-2", &at(5_000))],
        )
        .await
        .unwrap();
    let before = first
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(before.len(), 2, "{before:?}");
    let acked = before[0].id.clone();
    first
        .acknowledge_incident(&admin, &acked, Some("on it".into()))
        .await
        .unwrap();
    let events = incident_events(&store).await;
    drop(first);

    // A restart: a new core, the same database.
    let second = Core::new(store.clone(), settings());
    second.correlation_tick().await.unwrap();
    let after = second
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    let ids = |v: &[fleet_core::correlation::IncidentView]| {
        let mut ids: Vec<String> = v.iter().map(|i| i.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&after), ids(&before));
    let detail = second.get_incident(&admin, &acked).await.unwrap();
    assert_eq!(detail.state, IncidentState::Acknowledged);
    assert_eq!(detail.acknowledged_by.as_deref(), Some("admin"));
    let timeline = detail.timeline.unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t.event == "acknowledged" && t.detail == "on it"),
        "{timeline:?}"
    );
    let alerts = detail.alerts.unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(
        [at(0), at(5_000)].contains(&alerts[0].starts_at),
        "{alerts:?}"
    );
    assert!(alerts[0].asset_id.is_some(), "resolved again from the CMDB");
    assert_eq!(
        incident_events(&store).await,
        events,
        "nothing is announced twice"
    );

    // What changes after the restart is saved too: one alert ends.
    let mut ended = down("keep-2", &at(5_000));
    ended.ends_at = Some(at(300_000));
    second.ingest_alerts(&admin, vec![ended]).await.unwrap();
    second.correlation_tick().await.unwrap();
    drop(second);
    let third = Core::new(store.clone(), settings());
    third.correlation_tick().await.unwrap();
    let list = third.list_alerts(&admin, false, 100).await.unwrap();
    assert_eq!(list.total, 2);
    assert_eq!(list.firing, 1, "the ended alert stays ended");
    let resolved = third
        .list_incidents(
            &admin,
            &IncidentFilter {
                state: Some(IncidentState::Resolved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_and_splits_by_hand_are_audited_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let settings = || CoreSettings::new(dir.path().into());
    let mut ids = BTreeMap::new();
    for name in ["m-1", "m-2", "m-3"] {
        let a = store
            .create_asset(
                &Actor::system("test"),
                NewAsset {
                    kind: AssetKind::Node,
                    name: name.into(),
                    parent_id: None,
                    labels: BTreeMap::new(),
                    config: serde_json::json!({}),
                    profile_id: None,
                    reason: None,
                },
            )
            .await
            .unwrap();
        ids.insert(name, a.id.to_string());
    }
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let viewer = Principal::user("u-view", "vera", Role::Viewer);
    let t0 = fleet_db::now_ms() - 600_000;
    let down = |node: &str, ms: i64| IncomingAlert {
        labels: labels(&[
            ("alertname", "NodeDown"),
            ("node", node),
            ("severity", "critical"),
        ]),
        starts_at: Some(fleet_db::rfc3339(t0 + ms)),
        ..Default::default()
    };
    let first = Core::new(store.clone(), settings());
    first
        .ingest_alerts(
            &admin,
            vec![down("m-1", 0), down("m-2", 1_000), down("m-3", 2_000)],
        )
        .await
        .unwrap();
    let all = first
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "three lone alerts: {all:?}");
    let of = |v: &[fleet_core::correlation::IncidentView], node: &str| {
        v.iter()
            .find(|i| i.root_cause.asset_id.as_deref() == Some(ids[node].as_str()))
            .unwrap()
            .id
            .clone()
    };
    let (i1, i2, i3) = (of(&all, "m-1"), of(&all, "m-2"), of(&all, "m-3"));

    let err = first
        .merge_incidents(&viewer, &i1, std::slice::from_ref(&i2), None)
        .await
        .unwrap_err();
    assert!(matches!(err, fleet_core::CoreError::Forbidden(_)), "{err}");
    let err = first
        .merge_incidents(&admin, &i1, &["no-such".into()], None)
        .await
        .unwrap_err();
    assert!(matches!(err, fleet_core::CoreError::NotFound(_)), "{err}");

    let merged = first
        .merge_incidents(
            &admin,
            &i1,
            &[i2.clone(), i3.clone()],
            Some("one rack".into()),
        )
        .await
        .unwrap();
    assert_eq!(merged.id, i1);
    assert_eq!(merged.alert_count, 3);
    let timeline = merged.timeline.clone().unwrap();
    assert_eq!(
        timeline.iter().filter(|t| t.event == "merged").count(),
        2,
        "{timeline:?}"
    );
    assert!(timeline
        .iter()
        .any(|t| t.event == "note" && t.detail == "one rack"));
    // The old ids name the incident they went into.
    assert_eq!(first.get_incident(&admin, &i3).await.unwrap().id, i1);
    let fp3 = merged
        .alerts
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.labels["node"] == "m-3")
        .unwrap()
        .fingerprint
        .clone();

    let err = first
        .split_incident(&admin, &i1, std::slice::from_ref(&fp3), Some("ghost"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, fleet_core::CoreError::Unprocessable(_)),
        "{err}"
    );
    let split = first
        .split_incident(
            &admin,
            &i1,
            std::slice::from_ref(&fp3),
            Some("m-2"),
            Some("own fault".into()),
        )
        .await
        .unwrap();
    assert_eq!(split.id, format!("split:{fp3}"));
    assert_eq!(split.alert_count, 1);
    assert_eq!(split.root_cause.belief, "manual");
    assert_eq!(
        split.root_cause.asset_id.as_deref(),
        Some(ids["m-2"].as_str())
    );
    assert_eq!(split.state, IncidentState::Open);
    let rest = first.get_incident(&admin, &i1).await.unwrap();
    assert_eq!(rest.alert_count, 2);
    assert!(rest
        .timeline
        .unwrap()
        .iter()
        .any(|t| t.event == "split" && t.detail.contains(&split.id)));

    let rows = store
        .list_audit(&fleet_db::AuditFilter {
            kind: Some("incident".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert!(
        actions.contains(&"incident.merge") && actions.contains(&"incident.split"),
        "{actions:?}"
    );
    let shape = |v: &[fleet_core::correlation::IncidentView]| {
        let mut s: Vec<(String, usize, Option<String>)> = v
            .iter()
            .map(|i| (i.id.clone(), i.alert_count, i.root_cause.asset_id.clone()))
            .collect();
        s.sort();
        s
    };
    let before = shape(
        &first
            .list_incidents(&admin, &IncidentFilter::default())
            .await
            .unwrap(),
    );
    assert_eq!(before.len(), 2);
    drop(first);

    // A restart: the same grouping, from the saved alerts and the saved overrides.
    let second = Core::new(store.clone(), settings());
    second.correlation_tick().await.unwrap();
    let after = shape(
        &second
            .list_incidents(&admin, &IncidentFilter::default())
            .await
            .unwrap(),
    );
    assert_eq!(after, before);
    assert_eq!(second.get_incident(&admin, &i2).await.unwrap().id, i1);
}
