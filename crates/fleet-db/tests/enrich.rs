//! Discovery and inventory enrichment in the store: every test runs against SQLite and
//! PostgreSQL.

use fleet_db::{
    BmcRegistration, DbError, EventFilter, InventoryApply, ObservedPart, PartKey, Store,
    ValidateWhen,
};
use fleet_model::asset::AssetKind;
use fleet_model::event::types;
use fleet_model::lifecycle::NodeState;
use fleet_model::profile::ProfileSpec;
use serde_json::{json, Map, Value};

#[macro_use]
mod common;
use common::{actor, TestDb};

contract!(
    registering_a_bmc_twice_creates_one_node_and_seals_the_password,
    concurrent_registrations_of_one_address_create_one_node,
    inventory_applied_twice_changes_nothing_the_second_time,
    a_gpu_found_in_another_node_is_the_same_gpu_moved,
    a_profile_mismatch_is_a_conflict_naming_the_field,
    bad_registrations_are_explained,
    two_nodes_with_one_system_serial_are_flagged,
    a_node_without_the_gpus_its_profile_asks_for_fails_inspection,
);

fn reg(address: &str) -> BmcRegistration {
    BmcRegistration {
        address: address.into(),
        protocol: "redfish".into(),
        username: "admin".into(),
        password: "s3cret-pw".into(),
        ..Default::default()
    }
}

fn gpu(serial: &str, model: &str) -> ObservedPart {
    ObservedPart {
        kind: AssetKind::Gpu,
        key: PartKey::Serial(serial.into()),
        name: format!("gpu-{serial}"),
        config: json!({"serial": serial, "model": model, "uuid": format!("GPU-{serial}")}),
    }
}

fn nic(mac: &str) -> ObservedPart {
    ObservedPart {
        kind: AssetKind::Nic,
        key: PartKey::Mac(mac.into()),
        name: format!("nic-{mac}"),
        config: json!({"mac": mac, "speed_mbps": 100000}),
    }
}

fn inventory(node: &str, parts: Vec<ObservedPart>, bios: Value) -> InventoryApply {
    let mut cfg = Map::new();
    cfg.insert("bios".into(), bios);
    cfg.insert("firmware".into(), json!({"BMC": "1.12.0"}));
    InventoryApply {
        node_id: node.into(),
        node_config: cfg,
        parts,
        complete_kinds: vec![AssetKind::Gpu, AssetKind::Nic, AssetKind::Disk],
        expect_state: Some(NodeState::Inspecting),
        transition_to: Some(NodeState::Ready),
        validate_when: ValidateWhen::Always,
        gpus_promised_by: None,
        reason: "inspection".into(),
    }
}

async fn events_of(s: &Store, ty: &str, subject: Option<&str>) -> Vec<Value> {
    s.outbox_query(&EventFilter {
        types: vec![ty.into()],
        subject: subject.map(str::to_string),
        limit: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|r| serde_json::from_str(&r.payload).unwrap())
    .collect()
}

async fn inspecting(s: &Store, address: &str) -> String {
    let r = s.register_bmc(&actor(), reg(address)).await.unwrap();
    s.transition(&actor(), &r.node.id, NodeState::Inspecting, None)
        .await
        .unwrap();
    r.node.id
}

async fn registering_a_bmc_twice_creates_one_node_and_seals_the_password(db: TestDb) {
    let s = &db.store;
    let a = s
        .register_bmc(&actor(), reg("HTTP://127.0.0.1:9001/"))
        .await
        .unwrap();
    assert!(a.created);
    assert_eq!(a.node.state, Some(NodeState::Discovered));
    assert_eq!(a.bmc.config["address"], "http://127.0.0.1:9001");
    assert!(a.bmc.config.get("password").is_none(), "{}", a.bmc.config);
    assert_eq!(a.bmc.config["credential_set"], true);
    assert_eq!(
        s.get_secret(&a.bmc.id, "password")
            .await
            .unwrap()
            .as_deref(),
        Some("s3cret-pw")
    );
    let b = s
        .register_bmc(&actor(), reg("http://127.0.0.1:9001"))
        .await
        .unwrap();
    assert!(!b.created);
    assert!(
        b.credentials_updated,
        "given credentials are stored again whether or not they match: the answer tells nothing about the stored password"
    );
    // The password is released for the address it was registered with.
    let binding =
        fleet_model::asset::credential_binding(fleet_model::asset::AssetKind::Bmc, &a.bmc.config)
            .unwrap();
    assert_eq!(
        s.get_secret_for(&a.bmc.id, "password", &binding)
            .await
            .unwrap()
            .as_deref(),
        Some("s3cret-pw")
    );
    assert_eq!(a.node.id, b.node.id);
    assert_eq!(
        events_of(s, types::HARDWARE_DISCOVERED, None).await.len(),
        1
    );
    // Registering again with another password replaces the stored one; no second node.
    let mut r = reg("http://127.0.0.1:9001");
    r.password = "other-pw".into();
    let c = s.register_bmc(&actor(), r).await.unwrap();
    assert!(c.credentials_updated && !c.created);
    assert_eq!(
        s.get_secret(&a.bmc.id, "password")
            .await
            .unwrap()
            .as_deref(),
        Some("other-pw")
    );
    let rels = s.relations_of(&a.node.id).await.unwrap();
    assert_eq!(rels.len(), 1, "{rels:?}");
    assert_eq!(rels[0].from_id, a.bmc.id);
}

async fn concurrent_registrations_of_one_address_create_one_node(db: TestDb) {
    let s = &db.store;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.register_bmc(&actor(), reg("10.1.2.3")).await })
        })
        .collect();
    let mut nodes = std::collections::BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        created += r.created as usize;
        nodes.insert(r.node.id);
    }
    assert_eq!(nodes.len(), 1);
    assert_eq!(created, 1);
    assert_eq!(
        events_of(s, types::HARDWARE_DISCOVERED, None).await.len(),
        1
    );
}

async fn inventory_applied_twice_changes_nothing_the_second_time(db: TestDb) {
    let s = &db.store;
    let node = inspecting(s, "10.0.0.1").await;
    let parts = vec![
        gpu("1650000000001", "NVIDIA H100 80GB HBM3"),
        gpu("1650000000002", "NVIDIA H100 80GB HBM3"),
        nic("0c:42:a1:00:00:01"),
    ];
    let out = s
        .apply_inventory(
            &actor(),
            inventory(
                &node,
                parts.clone(),
                json!({"SriovGlobalEnable": "Enabled"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(out.created.len(), 3);
    assert!(out.node_changed);
    assert_eq!(out.transitioned, Some(NodeState::Ready));
    assert_eq!(out.node.state, Some(NodeState::Ready));
    assert_eq!(
        out.node.config["parts"]["gpus"],
        json!(["1650000000001", "1650000000002"])
    );
    let versions = s.list_versions(&node).await.unwrap().len();

    // The same inspection again (a duplicate event): refused, nothing written.
    let dup = s
        .apply_inventory(
            &actor(),
            inventory(
                &node,
                parts.clone(),
                json!({"SriovGlobalEnable": "Enabled"}),
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, DbError::Conflict(_)), "{dup}");

    // A status sync that finds the same hardware: no version, no event.
    let events_before = s.outbox_pending(100_000).await.unwrap().len();
    let mut sync = inventory(
        &node,
        parts.clone(),
        json!({"SriovGlobalEnable": "Enabled"}),
    );
    sync.expect_state = None;
    sync.transition_to = None;
    sync.validate_when = ValidateWhen::OnChange;
    sync.reason = "status sync".into();
    let out = s.apply_inventory(&actor(), sync.clone()).await.unwrap();
    assert!(!out.changed(), "{out:?}");
    assert_eq!(s.list_versions(&node).await.unwrap().len(), versions);
    assert_eq!(
        s.outbox_pending(100_000).await.unwrap().len(),
        events_before
    );
    assert_eq!(
        s.children(&node, Some(AssetKind::Gpu)).await.unwrap().len(),
        2
    );

    // Drift: a GPU gone and a BIOS attribute changed.
    sync.parts = vec![parts[0].clone(), parts[2].clone()];
    sync.node_config
        .insert("bios".into(), json!({"SriovGlobalEnable": "Disabled"}));
    let out = s.apply_inventory(&actor(), sync).await.unwrap();
    assert!(out.node_changed);
    assert_eq!(out.removed.len(), 1);
    let gone = s.get_asset(&out.removed[0]).await.unwrap();
    assert_eq!(gone.config["present"], false);
    assert_eq!(gone.parent_id.as_deref(), Some(node.as_str()));
    let latest = s.list_versions(&node).await.unwrap();
    let last = latest.last().unwrap();
    assert!(
        last.diff.iter().any(|c| c.path.contains("bios")),
        "{:?}",
        last.diff
    );
}

async fn a_gpu_found_in_another_node_is_the_same_gpu_moved(db: TestDb) {
    let s = &db.store;
    let a = inspecting(s, "10.0.0.1").await;
    let b = inspecting(s, "10.0.0.2").await;
    let m = "NVIDIA H100 80GB HBM3";
    s.apply_inventory(
        &actor(),
        inventory(&a, vec![gpu("A1", m), gpu("A2", m)], json!({})),
    )
    .await
    .unwrap();
    s.apply_inventory(&actor(), inventory(&b, vec![gpu("B1", m)], json!({})))
        .await
        .unwrap();
    let moving = s.children(&a, Some(AssetKind::Gpu)).await.unwrap();
    let moving = moving
        .iter()
        .find(|g| g.serial.as_deref() == Some("A2"))
        .unwrap()
        .clone();
    let a_versions = s.list_versions(&a).await.unwrap().len();
    let b_versions = s.list_versions(&b).await.unwrap().len();

    // B's BMC now reports A2 as well.
    let mut sync = inventory(&b, vec![gpu("B1", m), gpu("A2", m)], json!({}));
    sync.expect_state = None;
    sync.transition_to = None;
    let out = s.apply_inventory(&actor(), sync).await.unwrap();
    assert!(out.created.is_empty(), "{out:?}");
    assert_eq!(out.moved.len(), 1);
    assert_eq!(out.moved[0].asset_id, moving.id);
    assert_eq!(out.moved[0].from_node.as_deref(), Some(a.as_str()));
    let g = s.get_asset(&moving.id).await.unwrap();
    assert_eq!(g.parent_id.as_deref(), Some(b.as_str()));
    assert_eq!(g.config["moved_from"], "node-10.0.0.1");
    // Both nodes have a new version; the GPU's history records the move.
    assert_eq!(s.list_versions(&a).await.unwrap().len(), a_versions + 1);
    assert_eq!(s.list_versions(&b).await.unwrap().len(), b_versions + 1);
    let a_now = s.get_asset(&a).await.unwrap();
    assert_eq!(a_now.config["parts"]["gpus"], json!(["A1"]));
    let gv = s.list_versions(&moving.id).await.unwrap();
    assert!(gv
        .last()
        .unwrap()
        .reason
        .as_deref()
        .unwrap()
        .contains("moved from node node-10.0.0.1"));
    let moves = events_of(s, types::RELATION_CHANGED, Some(&moving.id)).await;
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0]["data"]["op"], "move");
    assert_eq!(moves[0]["data"]["from_node"], a.as_str());
    assert_eq!(
        s.list_assets(&fleet_db::AssetFilter {
            kind: Some(AssetKind::Gpu),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .len(),
        3
    );

    // A's next read no longer lists A2: nothing is removed (it is B's now).
    let mut sync = inventory(&a, vec![gpu("A1", m)], json!({}));
    sync.expect_state = None;
    sync.transition_to = None;
    let out = s.apply_inventory(&actor(), sync).await.unwrap();
    assert!(out.removed.is_empty() && out.moved.is_empty(), "{out:?}");
}

async fn a_profile_mismatch_is_a_conflict_naming_the_field(db: TestDb) {
    let s = &db.store;
    let spec: ProfileSpec = serde_json::from_value(json!({
        "gpu_count": 2, "gpu_model": "NVIDIA H100 80GB HBM3",
        "bios": {"SriovGlobalEnable": "Enabled"}
    }))
    .unwrap();
    s.create_profile(&actor(), "HGX-2", &spec).await.unwrap();
    let mut r = reg("10.0.0.9");
    r.profile = Some("HGX-2".into());
    let node = s.register_bmc(&actor(), r).await.unwrap().node;
    assert!(node.profile_id.is_some());
    s.transition(&actor(), &node.id, NodeState::Inspecting, None)
        .await
        .unwrap();
    let m = "NVIDIA H100 80GB HBM3";
    let out = s
        .apply_inventory(
            &actor(),
            inventory(
                &node.id,
                vec![gpu("X1", m), gpu("X2", m)],
                json!({"SriovGlobalEnable": "Disabled"}),
            ),
        )
        .await
        .unwrap();
    let report = out.validation.unwrap();
    assert!(!report.passed);
    let conflicts = events_of(s, types::CONFIG_CONFLICT, Some(&node.id)).await;
    assert_eq!(conflicts.len(), 1);
    let d = &conflicts[0]["data"]["differences"];
    assert_eq!(
        d,
        &json!([{"field": "bios/SriovGlobalEnable", "expected": "Enabled", "actual": "Disabled"}])
    );
    assert_eq!(out.node.state, Some(NodeState::Ready));
    assert!(events_of(s, types::CONFIG_VALIDATED, Some(&node.id))
        .await
        .is_empty());
}

async fn bad_registrations_are_explained(db: TestDb) {
    let s = &db.store;
    let mut r = reg("10.0.0.1");
    r.protocol = "telnet".into();
    let e = s.register_bmc(&actor(), r).await.unwrap_err().to_string();
    assert!(e.contains("redfish"), "{e}");
    let mut r = reg("10.0.0.1");
    r.password = String::new();
    let e = s.register_bmc(&actor(), r).await.unwrap_err().to_string();
    assert!(e.contains("password"), "{e}");
    let mut r = reg("10.0.0.1");
    r.profile = Some("no-such-profile".into());
    let e = s.register_bmc(&actor(), r).await.unwrap_err();
    assert!(matches!(e, DbError::NotFound(_)), "{e}");
    assert!(s
        .find_bmc_by_address("https://10.0.0.1")
        .await
        .unwrap()
        .is_none());
}

async fn two_nodes_with_one_system_serial_are_flagged(db: TestDb) {
    let s = &db.store;
    let with_serial = |node: &str| {
        let mut i = inventory(node, vec![], json!({}));
        i.node_config.insert("serial".into(), json!("J101RZ43"));
        i
    };
    let a = inspecting(s, "10.0.0.21").await;
    let out = s.apply_inventory(&actor(), with_serial(&a)).await.unwrap();
    assert!(out.duplicate_serial_of.is_empty());
    let b = inspecting(s, "10.0.0.22").await;
    let out = s.apply_inventory(&actor(), with_serial(&b)).await.unwrap();
    assert_eq!(out.duplicate_serial_of, std::slice::from_ref(&a));
    let warnings = out.node.config["inventory_warnings"].to_string();
    assert!(
        warnings.contains("system serial J101RZ43 is also the serial of node(s)"),
        "{warnings}"
    );
    let alerts = events_of(s, types::ALERT_RAISED, Some(&b)).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["data"]["alert"], "DuplicateSystemSerial");
    assert_eq!(alerts[0]["data"]["also"][0]["id"], a.as_str());
    assert!(events_of(s, types::ALERT_RAISED, Some(&a)).await.is_empty());
}

async fn a_node_without_the_gpus_its_profile_asks_for_fails_inspection(db: TestDb) {
    let s = &db.store;
    let spec: ProfileSpec = serde_json::from_value(json!({"gpu_count": 8})).unwrap();
    s.create_profile(&actor(), "HGX-8", &spec).await.unwrap();
    let mut r = reg("10.0.0.31");
    r.profile = Some("HGX-8".into());
    let node = s.register_bmc(&actor(), r).await.unwrap().node;
    s.transition(&actor(), &node.id, NodeState::Inspecting, None)
        .await
        .unwrap();
    let out = s
        .apply_inventory(
            &actor(),
            inventory(&node.id, vec![nic("0c:42:a1:00:00:31")], json!({})),
        )
        .await
        .unwrap();
    assert_eq!(out.node.state, Some(NodeState::InspectionFailed));
    let h = s.lifecycle_history(&node.id).await.unwrap();
    let reason = h.last().unwrap().reason.clone().unwrap();
    assert!(reason.contains("'HGX-8' asks for 8"), "{reason}");
    // The NIC the BMC did report is in the CMDB all the same.
    assert_eq!(out.created.len(), 1);
    assert_eq!(
        events_of(s, types::CONFIG_CONFLICT, Some(&node.id))
            .await
            .len(),
        1
    );
}
