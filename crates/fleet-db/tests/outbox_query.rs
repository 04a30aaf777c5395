//! The event query over the outbox (type, asset, time range, correlation id,
//! cursor), against SQLite and PostgreSQL (`GPUFLEET_TEST_POSTGRES_URL`).

#[path = "../../fleet-server/tests/support/pg.rs"]
mod pg;

use std::collections::BTreeMap;

use fleet_db::{Actor, EventFilter, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_model::event::types;

async fn sqlite(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    Store::connect(&StoreOptions::new(url)).await.unwrap()
}

fn actor(req: &str) -> Actor {
    Actor {
        name: "tester".into(),
        source: None,
        request_id: Some(req.into()),
    }
}

fn new(kind: AssetKind, name: &str) -> NewAsset {
    NewAsset {
        kind,
        name: name.into(),
        parent_id: None,
        labels: BTreeMap::new(),
        config: serde_json::json!({}),
        profile_id: None,
        reason: None,
    }
}

async fn query_filters_and_pages(s: &Store) {
    let n1 = s
        .create_asset(&actor("req-a"), new(AssetKind::Node, "n1"))
        .await
        .unwrap();
    let _r = s
        .create_asset(&actor("req-a"), new(AssetKind::Rack, "r1"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mid = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let n2 = s
        .create_asset(&actor("req-b"), new(AssetKind::Node, "n2"))
        .await
        .unwrap();
    let q = |f: EventFilter| async move { s.outbox_query(&f).await.unwrap() };
    let all = q(EventFilter {
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(all.len(), 3);

    let nodes = q(EventFilter {
        types: vec![types::HARDWARE_DISCOVERED.into()],
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(
        nodes.iter().map(|r| r.subject.as_str()).collect::<Vec<_>>(),
        vec![n1.id.as_str(), n2.id.as_str()]
    );
    let two_types = q(EventFilter {
        types: vec![
            types::HARDWARE_DISCOVERED.into(),
            types::ASSET_CREATED.into(),
        ],
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(two_types.len(), 3);

    let by_asset = q(EventFilter {
        subject: Some(n2.id.clone()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_asset.len(), 1);
    assert_eq!(by_asset[0].correlation_id.as_deref(), Some("req-b"));

    let corr = q(EventFilter {
        correlation_id: Some("req-a".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(corr.len(), 2);
    assert!(corr
        .iter()
        .all(|r| r.payload.contains("\"correlationid\":\"req-a\"")));

    let after = q(EventFilter {
        since_ms: Some(mid),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].subject, n2.id);
    let before = q(EventFilter {
        until_ms: Some(mid),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(before.len(), 2);

    // Cursor pages.
    let p1 = q(EventFilter {
        limit: 2,
        ..Default::default()
    })
    .await;
    let p2 = q(EventFilter {
        limit: 2,
        after_seq: p1[1].seq,
        ..Default::default()
    })
    .await;
    assert_eq!(p1.len(), 2);
    assert_eq!(p2.len(), 1);
    assert_eq!(p2[0].seq, all[2].seq);

    // Nothing published yet; then one batch is.
    assert!(q(EventFilter {
        published_only: true,
        limit: 100,
        ..Default::default()
    })
    .await
    .is_empty());
    s.outbox_mark_published(&[all[0].seq]).await.unwrap();
    let published = q(EventFilter {
        published_only: true,
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].seq, all[0].seq);
}

#[tokio::test]
async fn sqlite_query_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    query_filters_and_pages(&sqlite(&dir).await).await;
}

#[tokio::test]
async fn postgres_query_filters_and_pages() {
    // A database of this test's own, dropped when the test ends (passed or failed).
    let db = pg::TestDatabase::create("gpufleet_q").await;
    let store = Store::connect(&StoreOptions::new(db.url.clone()))
        .await
        .unwrap();
    query_filters_and_pages(&store).await;
    store.close().await;
}
