//! GraphQL loads related assets in batches: 100 nodes with their GPUs, BMC and rack cost the
//! same small number of SQL statements as 10 nodes. The statements are counted where sqlx
//! reports each one it executes (tracing target `sqlx::query`), in a test binary of its own so
//! that nothing else runs queries meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fleet_db::{Actor, NewAsset, SecretBox, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_model::rbac::Role;
use fleet_server::config::Config;
use fleet_server::state::AppState;
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Statements(Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>);

struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        if f.name() == "summary" {
            self.0 = format!("{v:?}");
        }
    }
    fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
        if f.name() == "summary" {
            self.0 = v.to_string();
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if e.metadata().target().starts_with("sqlx::query") {
            let mut s = Summary(String::new());
            e.record(&mut s);
            // A new pool connection's set-up is not a statement of the query.
            if s.0.starts_with("PRAGMA") {
                return;
            }
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1.lock().unwrap().push(s.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_nodes_with_gpus_bmc_and_rack_costs_a_constant_number_of_statements() {
    let counter = Statements::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(counter.clone()))
        .expect("the only subscriber of this test binary");
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap()
        .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap());
    let actor = Actor::system("test");
    store.seed_fleet(&actor, 2, 100, 8).await.unwrap();
    let nodes = store
        .list_assets(&fleet_db::AssetFilter {
            kind: Some(AssetKind::Node),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(nodes.len(), 100);
    for n in &nodes {
        store
            .create_asset(
                &actor,
                NewAsset {
                    kind: AssetKind::Bmc,
                    name: format!("{}-bmc", n.name),
                    parent_id: Some(n.id.clone()),
                    labels: Default::default(),
                    config: json!({"address": format!("10.0.0.{}", n.name.len())}),
                    profile_id: None,
                    reason: None,
                },
            )
            .await
            .unwrap();
    }
    let st = AppState::new(store, cfg);
    let viewer = fleet_core::Principal::user("u-1", "viewer", Role::Viewer);
    let query = |first: usize| {
        async_graphql::Request::new(format!(
            "{{ assets(kind: \"node\", first: {first}) {{ items {{ name rack {{ name }} bmc {{ name }} gpus {{ serial }} }} }} }}"
        ))
    };
    let mut counts = vec![];
    counter.1.lock().unwrap().clear();
    for first in [10, 100] {
        counter.1.lock().unwrap().clear();
        let before = counter.0.load(Ordering::SeqCst);
        let resp = fleet_server::graphql::execute(&st, viewer.clone(), query(first)).await;
        let used = counter.0.load(Ordering::SeqCst) - before;
        assert!(resp.errors.is_empty(), "{:?}", resp.errors);
        let data = resp.data.into_json().unwrap();
        let items = data["assets"]["items"].as_array().unwrap();
        assert_eq!(items.len(), first);
        for n in items {
            assert_eq!(n["gpus"].as_array().unwrap().len(), 8, "{n}");
            assert!(n["bmc"]["name"].is_string(), "{n}");
            assert!(n["rack"]["name"].is_string(), "{n}");
        }
        let seen: Vec<String> = counter.1.lock().unwrap().drain(..).collect();
        println!("{first} nodes with GPUs, BMC and rack: {used} SQL statements: {seen:#?}");
        counts.push(used);
    }
    assert!(counts[0] > 0, "statements are counted");
    assert_eq!(
        counts[0], counts[1],
        "10 and 100 nodes cost the same: {counts:?}"
    );
    assert!(
        counts[1] <= 6,
        "a page, the GPUs, the BMCs, the racks: {counts:?}"
    );
}
