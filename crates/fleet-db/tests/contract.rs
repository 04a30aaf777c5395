//! The store contract: every test runs against SQLite and PostgreSQL.
//!
//! PostgreSQL comes from `GPUFLEET_TEST_POSTGRES_URL` (started by
//! `scripts/services.sh up`, which `scripts/test.sh` runs); each test gets a
//! database of its own, created from that URL and dropped afterwards.

use std::collections::BTreeMap;

use fleet_db::{AssetFilter, AssetPatch, DbError, NewAsset, NewRelation, Store};
use fleet_model::asset::{AssetKind, RelationKind};
use fleet_model::import::{parse, Format};
use fleet_model::lifecycle::{Deadlines, NodeState};
use serde_json::json;

#[macro_use]
mod common;
use common::{actor, TestDb};

fn asset(kind: AssetKind, name: &str, parent: Option<&str>, config: serde_json::Value) -> NewAsset {
    NewAsset {
        kind,
        name: name.into(),
        parent_id: parent.map(str::to_string),
        labels: BTreeMap::new(),
        config,
        profile_id: None,
        reason: None,
    }
}

contract!(
    assets_nest_and_inherit_their_rack,
    config_versions_diff_and_restore,
    stale_write_is_refused_and_changes_nothing,
    lifecycle_transition_writes_state_history_audit_and_outbox,
    illegal_transition_names_allowed_states_and_changes_nothing,
    filters_and_cursor_pagination,
    stuck_nodes_are_found,
    secrets_are_encrypted_and_never_in_config,
    relations_and_port_conflicts,
    audit_chain_detects_altered_and_deleted_rows,
    audit_rows_written_without_the_key_are_caught,
    import_is_all_or_nothing,
    users_and_tokens,
    concurrent_transitions_keep_the_audit_chain_linear,
    moving_a_gpu_changes_its_rack,
    alert_rules_are_versioned_and_deleted_as_a_version,
    the_incident_store_state_is_saved_replaced_and_deleted,
);

async fn assets_nest_and_inherit_their_rack(db: TestDb) {
    let s = &db.store;
    let rack = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r1", None, json!({})))
        .await
        .unwrap();
    let node = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Node,
                "n1",
                Some(&rack.id),
                json!({"model": "HGX"}),
            ),
        )
        .await
        .unwrap();
    let gpu = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Gpu,
                "g1",
                Some(&node.id),
                json!({"serial": "S1", "uuid": "GPU-1"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(node.rack_id.as_deref(), Some(rack.id.as_str()));
    assert_eq!(gpu.rack_id.as_deref(), Some(rack.id.as_str()));
    assert_eq!(gpu.serial.as_deref(), Some("S1"));
    assert_eq!(node.state, Some(NodeState::Discovered));
    assert_eq!(node.model.as_deref(), Some("HGX"));
    // A GPU cannot live in a rack, and needs a parent.
    let e = s
        .create_asset(
            &actor(),
            asset(AssetKind::Gpu, "g2", Some(&rack.id), json!({})),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Invalid(_)), "{e}");
    let e = s
        .create_asset(&actor(), asset(AssetKind::Gpu, "g3", None, json!({})))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("must be inside"), "{e}");
    // Names are unique per kind.
    let e = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Conflict(_)), "{e}");
    // A container with children cannot be deleted; a leaf can.
    assert!(matches!(
        s.delete_asset(&actor(), &node.id).await.unwrap_err(),
        DbError::Conflict(_)
    ));
    s.delete_asset(&actor(), &gpu.id).await.unwrap();
    assert!(matches!(
        s.get_asset(&gpu.id).await.unwrap_err(),
        DbError::NotFound(_)
    ));
    assert_eq!(s.children(&node.id, None).await.unwrap().len(), 0);
}

async fn config_versions_diff_and_restore(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(
            &actor(),
            asset(AssetKind::Node, "n1", None, json!({"driver": "535"})),
        )
        .await
        .unwrap();
    assert_eq!(n.version, 1);
    let n2 = s
        .update_config(
            &actor(),
            &n.id,
            Some(1),
            json!({"driver": "550", "cuda": "12.4"}),
            Some("upgrade".into()),
        )
        .await
        .unwrap();
    assert_eq!(n2.version, 2);
    // An identical write creates no version.
    let same = s
        .update_config(
            &actor(),
            &n.id,
            Some(2),
            json!({"driver": "550", "cuda": "12.4"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(same.version, 2);
    let versions = s.list_versions(&n.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    let v2 = &versions[1];
    assert_eq!(v2.actor, "tester");
    assert_eq!(v2.reason.as_deref(), Some("upgrade"));
    let paths: Vec<&str> = v2.diff.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["/cuda", "/driver"]);
    let restored = s
        .restore_version(&actor(), &n.id, 1, Some(2))
        .await
        .unwrap();
    assert_eq!(restored.version, 3);
    assert_eq!(restored.config, json!({"driver": "535"}));
    assert_eq!(
        s.get_version(&n.id, 3).await.unwrap().reason.as_deref(),
        Some("restore of version 1")
    );
    assert!(matches!(
        s.get_version(&n.id, 9).await.unwrap_err(),
        DbError::NotFound(_)
    ));
    // Every change is in the outbox.
    let events = s.outbox_list(Some(&n.id), 0, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.ty.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "io.gpufleet.hardware.discovered.v1",
            "io.gpufleet.config.changed.v1",
            "io.gpufleet.config.changed.v1"
        ]
    );
}

async fn stale_write_is_refused_and_changes_nothing(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(
            &actor(),
            asset(AssetKind::Node, "n1", None, json!({"a": 1})),
        )
        .await
        .unwrap();
    s.update_config(&actor(), &n.id, Some(1), json!({"a": 2}), None)
        .await
        .unwrap();
    let e = s
        .update_config(&actor(), &n.id, Some(1), json!({"a": 3}), None)
        .await
        .unwrap_err();
    match e {
        DbError::Stale {
            current_version, ..
        } => assert_eq!(current_version, 2),
        other => panic!("expected Stale, got {other}"),
    }
    let now = s.get_asset(&n.id).await.unwrap();
    assert_eq!(now.config, json!({"a": 2}));
    assert_eq!(s.list_versions(&n.id).await.unwrap().len(), 2);
}

async fn lifecycle_transition_writes_state_history_audit_and_outbox(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    // Guard: inspecting needs a BMC.
    let e = s
        .transition(&actor(), &n.id, NodeState::Inspecting, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no BMC"), "{e}");
    s.create_asset(
        &actor(),
        asset(
            AssetKind::Bmc,
            "n1-bmc",
            Some(&n.id),
            json!({"address": "127.0.0.2"}),
        ),
    )
    .await
    .unwrap();
    let audit_before = s
        .list_audit(&fleet_db::AuditFilter {
            target: Some(n.id.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let (after, hist) = s
        .transition(
            &actor(),
            &n.id,
            NodeState::Inspecting,
            Some("new node".into()),
        )
        .await
        .unwrap();
    assert_eq!(after.state, Some(NodeState::Inspecting));
    assert_eq!(hist.from_state, "discovered");
    let h = s.lifecycle_history(&n.id).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].reason.as_deref(), Some("new node"));
    assert_eq!(h[0].request_id.as_deref(), Some("req-1"));
    let audit = s
        .list_audit(&fleet_db::AuditFilter {
            target: Some(n.id.clone()),
            kind: Some("lifecycle".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].source.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        s.list_audit(&fleet_db::AuditFilter {
            target: Some(n.id.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        audit_before + 1
    );
    let ev = s.outbox_list(Some(&n.id), 0, 100).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(last.ty, "io.gpufleet.lifecycle.changed.v1");
    let payload: serde_json::Value = serde_json::from_str(&last.payload).unwrap();
    assert_eq!(payload["data"]["to"], "inspecting");
    assert_eq!(payload["correlationid"], "req-1");
}

async fn illegal_transition_names_allowed_states_and_changes_nothing(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    let events_before = s.outbox_list(None, 0, 1000).await.unwrap().len();
    let e = s
        .transition(&actor(), &n.id, NodeState::InService, None)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("inspecting") && msg.contains("retired"),
        "{msg}"
    );
    assert_eq!(
        s.get_asset(&n.id).await.unwrap().state,
        Some(NodeState::Discovered)
    );
    assert!(s.lifecycle_history(&n.id).await.unwrap().is_empty());
    assert_eq!(
        s.outbox_list(None, 0, 1000).await.unwrap().len(),
        events_before
    );
}

async fn filters_and_cursor_pagination(db: TestDb) {
    let s = &db.store;
    let r1 = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r1", None, json!({})))
        .await
        .unwrap();
    let r2 = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r2", None, json!({})))
        .await
        .unwrap();
    for i in 0..25 {
        let rack = if i % 2 == 0 { &r1.id } else { &r2.id };
        let mut a = asset(
            AssetKind::Node,
            &format!("n{i:02}"),
            Some(rack),
            json!({"model": if i < 5 { "A100" } else { "H100" }}),
        );
        a.labels.insert(
            "tier".into(),
            if i % 5 == 0 {
                "gold".into()
            } else {
                "std".into()
            },
        );
        s.create_asset(&actor(), a).await.unwrap();
    }
    let mut f = AssetFilter {
        kind: Some(AssetKind::Node),
        limit: 10,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let p = s.list_assets(&f).await.unwrap();
        seen.extend(p.items.iter().map(|a| a.name.clone()));
        match p.next_after {
            Some(c) => f.after_id = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "creation order is id order");
    let h100_r1 = s
        .list_assets(&AssetFilter {
            kind: Some(AssetKind::Node),
            model: Some("H100".into()),
            rack_id: Some(r1.id.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(h100_r1.items.len(), 10); // even i in 6..=24
    let gold = s
        .list_assets(&AssetFilter {
            labels: vec![("tier".into(), "gold".into())],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(gold.items.len(), 5);
    let prefix = s
        .list_assets(&AssetFilter {
            name_prefix: Some("n1".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(prefix.items.len(), 10);
    let underscore = s
        .list_assets(&AssetFilter {
            name_prefix: Some("n_".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        underscore.items.len(),
        0,
        "LIKE wildcards in a prefix are literal"
    );
    let counts = s.count_by_kind().await.unwrap();
    assert_eq!(counts["node"], 25);
}

async fn stuck_nodes_are_found(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    s.create_asset(&actor(), asset(AssetKind::Node, "n2", None, json!({})))
        .await
        .unwrap();
    let mut d = Deadlines::default();
    let now = fleet_db::now_ms();
    let f = |d: Deadlines, at| AssetFilter {
        kind: Some(AssetKind::Node),
        stuck_at: Some((at, d)),
        limit: 100,
        ..Default::default()
    };
    assert!(s
        .list_assets(&f(d.clone(), now))
        .await
        .unwrap()
        .items
        .is_empty());
    // 16 minutes later both are past the 15-minute discovered deadline.
    assert_eq!(
        s.list_assets(&f(d.clone(), now + 16 * 60_000))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    d.set(NodeState::Discovered, 0);
    assert!(s
        .list_assets(&f(d, now + 16 * 60_000))
        .await
        .unwrap()
        .items
        .is_empty());
    let _ = n;
}

/// The `secrets` row of `owner`, read behind the store's back: (key version, nonce, ciphertext),
/// nonce and ciphertext base64-decoded.
async fn raw_secret(raw: &sqlx::AnyPool, owner: &str) -> (i64, Vec<u8>, Vec<u8>, String) {
    use base64::Engine;
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT key_version, nonce, ciphertext FROM secrets WHERE owner_id = $1 AND name = 'password'",
    )
    .bind(owner)
    .fetch_all(raw)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "one secrets row for {owner}");
    let r = &rows[0];
    let b64 = base64::engine::general_purpose::STANDARD;
    let ciphertext: String = r.get(2);
    (
        r.get(0),
        b64.decode(r.get::<String, _>(1)).expect("nonce is base64"),
        b64.decode(&ciphertext).expect("ciphertext is base64"),
        ciphertext,
    )
}

/// Every text the database holds outside the `secrets` table, read behind the store's back.
async fn raw_texts(raw: &sqlx::AnyPool) -> String {
    use sqlx::Row;
    let mut all = String::new();
    for q in [
        "SELECT CAST(config AS TEXT) || ' ' || labels || ' ' || name FROM assets",
        "SELECT config || ' ' || diff || ' ' || COALESCE(reason, '') FROM config_versions",
        "SELECT COALESCE(before_doc, '') || ' ' || COALESCE(after_doc, '') || ' ' || action FROM audit_log",
        "SELECT payload FROM outbox",
    ] {
        for r in sqlx::query(q).fetch_all(raw).await.unwrap() {
            all.push_str(&r.get::<String, _>(0));
            all.push('\n');
        }
    }
    all
}

async fn secrets_are_encrypted_and_never_in_config(db: TestDb) {
    use base64::Engine;
    // Unique strings, so that finding one anywhere is a leak.
    const SECRET: &str = "bmc-pw-4d7a0c93e1";
    const SECRET2: &str = "bmc-pw-second-86b2";
    let s = &db.store;
    let raw = raw_pool(s).await;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    let b = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Bmc,
                "b1",
                Some(&n.id),
                json!({"address": "127.0.0.9", "username": "root", "password": SECRET}),
            ),
        )
        .await
        .unwrap();
    assert!(b.config.get("password").is_none());
    assert_eq!(b.config["credential_set"], true);
    assert_eq!(
        s.get_secret(&b.id, "password").await.unwrap().as_deref(),
        Some(SECRET)
    );

    // At rest: an XChaCha20-Poly1305 box (24-byte nonce, ciphertext = plaintext + 16-byte tag)
    // that holds the password in no readable form.
    let (version, nonce, ct, ct_text) = raw_secret(&raw, &b.id).await;
    assert_eq!(version, 1);
    assert_eq!(nonce.len(), 24);
    assert_eq!(ct.len(), SECRET.len() + 16);
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    assert!(
        !ct_text.contains(SECRET) && !ct_text.contains(&b64),
        "{ct_text}"
    );
    assert!(
        !ct.windows(4)
            .any(|w| SECRET.as_bytes().windows(4).any(|p| p == w)),
        "the stored bytes carry pieces of the plaintext"
    );
    // Nowhere else in the database either: configuration, versions, audit, outbox.
    let texts = raw_texts(&raw).await;
    assert!(
        texts.contains("127.0.0.9"),
        "the dump covers the BMC's rows"
    );
    assert!(
        !texts.contains(SECRET) && !texts.contains(&b64),
        "the password is stored outside the secrets table"
    );
    for v in s.list_versions(&b.id).await.unwrap() {
        assert!(!v.config.to_string().contains(SECRET));
    }
    for a in s
        .list_audit(&fleet_db::AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        assert!(
            !format!("{a:?}").contains(SECRET),
            "secret leaked into the audit log"
        );
    }

    // The box is bound to its row: another BMC's ciphertext copied onto this one does not open.
    let b2 = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Bmc,
                "b2",
                Some(&n.id),
                json!({"address": "127.0.0.10", "username": "root", "password": SECRET2}),
            ),
        )
        .await
        .unwrap();
    let saved = sqlx::query("SELECT nonce, ciphertext FROM secrets WHERE owner_id = $1")
        .bind(&b.id)
        .fetch_one(&raw)
        .await
        .unwrap();
    let (saved_nonce, saved_ct): (String, String) = {
        use sqlx::Row;
        (saved.get(0), saved.get(1))
    };
    sqlx::query("UPDATE secrets SET nonce = $1, ciphertext = $2 WHERE owner_id = $3")
        .bind(&saved_nonce)
        .bind(&saved_ct)
        .bind(&b2.id)
        .execute(&raw)
        .await
        .unwrap();
    assert!(
        s.get_secret(&b2.id, "password").await.is_err(),
        "a ciphertext moved to another owner decrypted"
    );
    // An altered ciphertext does not open either.
    let mut flipped = ct.clone();
    flipped[0] ^= 1;
    sqlx::query("UPDATE secrets SET ciphertext = $1 WHERE owner_id = $2")
        .bind(base64::engine::general_purpose::STANDARD.encode(&flipped))
        .bind(&b.id)
        .execute(&raw)
        .await
        .unwrap();
    assert!(s.get_secret(&b.id, "password").await.is_err());

    // Changing the password keeps the flag and seals it afresh.
    let b1 = s
        .update_config(
            &actor(),
            &b.id,
            None,
            json!({"address": "127.0.0.9", "username": "root", "password": "new-pw-2f61"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(b1.config["credential_set"], true);
    assert_eq!(
        s.get_secret(&b.id, "password").await.unwrap().as_deref(),
        Some("new-pw-2f61")
    );
    let (_, nonce_after, ct_after, _) = raw_secret(&raw, &b.id).await;
    assert_ne!(nonce_after, nonce, "a new nonce for the new value");
    assert_eq!(ct_after.len(), "new-pw-2f61".len() + 16);
    assert!(!raw_texts(&raw).await.contains("new-pw-2f61"));
}

async fn relations_and_port_conflicts(db: TestDb) {
    let s = &db.store;
    let rack = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r1", None, json!({})))
        .await
        .unwrap();
    let sw = s
        .create_asset(
            &actor(),
            asset(AssetKind::Switch, "leaf1", Some(&rack.id), json!({})),
        )
        .await
        .unwrap();
    let n = s
        .create_asset(
            &actor(),
            asset(AssetKind::Node, "n1", Some(&rack.id), json!({})),
        )
        .await
        .unwrap();
    let nic1 = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Nic,
                "nic1",
                Some(&n.id),
                json!({"mac": "0C:42:A1:00:00:01"}),
            ),
        )
        .await
        .unwrap();
    let nic2 = s
        .create_asset(
            &actor(),
            asset(
                AssetKind::Nic,
                "nic2",
                Some(&n.id),
                json!({"mac": "0c:42:a1:00:00:02"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(nic1.address.as_deref(), Some("0c:42:a1:00:00:01"));
    let r = s
        .create_relation(
            &actor(),
            NewRelation {
                kind: RelationKind::ConnectedTo,
                from_id: nic1.id.clone(),
                to_id: sw.id.clone(),
                attrs: json!({"port": "Ethernet1"}),
            },
        )
        .await
        .unwrap();
    let e = s
        .create_relation(
            &actor(),
            NewRelation {
                kind: RelationKind::ConnectedTo,
                from_id: nic2.id.clone(),
                to_id: sw.id.clone(),
                attrs: json!({"port": "Ethernet1"}),
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already cabled"), "{e}");
    let e = s
        .create_relation(
            &actor(),
            NewRelation {
                kind: RelationKind::PoweredBy,
                from_id: n.id.clone(),
                to_id: sw.id.clone(),
                attrs: json!({}),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Invalid(_)), "{e}");
    assert_eq!(s.relations_of(&sw.id).await.unwrap().len(), 1);
    s.delete_relation(&actor(), &r.id).await.unwrap();
    assert!(s.relations_of(&sw.id).await.unwrap().is_empty());
}

async fn audit_chain_detects_altered_and_deleted_rows(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    for i in 0..5 {
        s.update_config(&actor(), &n.id, None, json!({"i": i}), None)
            .await
            .unwrap();
    }
    let ok = s.verify_audit().await.unwrap();
    assert!(ok.ok, "{:?}", ok.problems);
    assert_eq!(ok.rows_checked, 6);
    // Alter a row behind the store's back.
    let raw = raw_pool(s).await;
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        .execute(&raw)
        .await
        .unwrap();
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert!(
        r.problems.iter().any(|p| p.contains("row 3 was altered")),
        "{:?}",
        r.problems
    );
    sqlx::query("UPDATE audit_log SET actor = 'tester' WHERE seq = 3")
        .execute(&raw)
        .await
        .unwrap();
    assert!(s.verify_audit().await.unwrap().ok);
    // Delete a row in the middle, then the last one.
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(&raw)
        .await
        .unwrap();
    let r = s.verify_audit().await.unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );
    let db2 = raw;
    sqlx::query("DELETE FROM audit_log WHERE seq = 6")
        .execute(&db2)
        .await
        .unwrap();
    let r = s.verify_audit().await.unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("head")),
        "{:?}",
        r.problems
    );
}

/// Someone with write access to the database but not gpufleet's key appends rows (here with
/// gpufleet's own code and another key, so every row is well formed and correctly linked): the
/// keyed chain shows each of them, and the rows before stay verified.
async fn audit_rows_written_without_the_key_are_caught(db: TestDb) {
    let s = &db.store;
    let n = s
        .create_asset(&actor(), asset(AssetKind::Node, "n1", None, json!({})))
        .await
        .unwrap();
    assert!(s.verify_audit().await.unwrap().ok);
    let mallory = s.clone().with_secrets(common::key());
    mallory
        .update_config(&actor(), &n.id, None, json!({"owner": "mallory"}), None)
        .await
        .unwrap();
    assert!(
        mallory
            .verify_audit()
            .await
            .unwrap()
            .problems
            .iter()
            .any(|p| p.contains("row 1 was altered")),
        "under another key even the genuine rows fail"
    );
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(
        r.problems,
        vec!["row 2 was altered: its content does not match its keyed hash".to_string()],
        "exactly the row written without the key"
    );
    let raw = raw_pool(s).await;
    let (hash,): (String,) = sqlx::query_as("SELECT hash FROM audit_log WHERE seq = 1")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert!(hash.starts_with("k1:"), "{hash}");
}

/// A pool straight to the same database, bypassing the store's API.
async fn raw_pool(s: &Store) -> sqlx::AnyPool {
    s.raw_pool_for_tests()
}

async fn import_is_all_or_nothing(db: TestDb) {
    let s = &db.store;
    let bad = "racks:\n  - name: r1\nnodes:\n  - name: n1\n    rack: r1\n  - name: n2\n    rack: r9\n    profile: nope\n";
    let plan = parse(bad, Format::Yaml).unwrap();
    let e = s.apply_import(&actor(), plan, false).await.unwrap_err();
    match e {
        DbError::Import(errs) => {
            assert_eq!(errs.len(), 2, "{errs:?}");
            assert!(errs.iter().all(|e| e.line == 6), "{errs:?}");
        }
        other => panic!("{other}"),
    }
    assert!(
        s.count_by_kind().await.unwrap().is_empty(),
        "nothing written"
    );
    let good = "racks:\n  - name: r1\npdus:\n  - {name: p1, rack: r1, outlets: 2}\nswitches:\n  - {name: leaf1, rack: r1}\nnodes:\n  - name: n1\n    rack: r1\n    bmc: {address: 127.0.0.5, password: pw}\n    power: {pdu: p1, outlet: 2}\n    nics: [{mac: '0c:42:a1:00:00:01', switch: leaf1, port: Ethernet1}]\n    gpus: [{serial: S1, uuid: GPU-1, model: H100}]\n";
    let dry = s
        .apply_import(&actor(), parse(good, Format::Yaml).unwrap(), true)
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert!(
        s.count_by_kind().await.unwrap().is_empty(),
        "dry run writes nothing"
    );
    let sum = s
        .apply_import(&actor(), parse(good, Format::Yaml).unwrap(), false)
        .await
        .unwrap();
    assert_eq!(sum.created["outlet"], 2);
    assert_eq!(sum.relations, 3);
    let node = s.find_asset(AssetKind::Node, "n1").await.unwrap().unwrap();
    assert_eq!(
        s.children(&node.id, Some(AssetKind::Gpu))
            .await
            .unwrap()
            .len(),
        1
    );
    let bmc = s
        .find_asset(AssetKind::Bmc, "n1-bmc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.get_secret(&bmc.id, "password").await.unwrap().as_deref(),
        Some("pw")
    );
    // Importing the same file again conflicts on every name, and writes nothing.
    let again = s
        .apply_import(&actor(), parse(good, Format::Yaml).unwrap(), false)
        .await
        .unwrap_err();
    assert!(
        matches!(again, DbError::Import(ref e) if e.iter().all(|x| x.message.contains("already exists"))),
        "{again}"
    );
    // CSV creates missing racks and PDUs.
    let csv = "name,rack,pdu,outlet,mac\nc1,r7,p7,1,0c:42:a1:00:00:07\n";
    s.apply_import(&actor(), parse(csv, Format::Csv).unwrap(), false)
        .await
        .unwrap();
    let c1 = s.find_asset(AssetKind::Node, "c1").await.unwrap().unwrap();
    let r7 = s.find_asset(AssetKind::Rack, "r7").await.unwrap().unwrap();
    assert_eq!(c1.rack_id, Some(r7.id));
    assert_eq!(s.relations_of(&c1.id).await.unwrap().len(), 1);
}

async fn users_and_tokens(db: TestDb) {
    use fleet_db::{NewUser, TokenKind, UserPatch};
    use fleet_model::rbac::Role;
    let s = &db.store;
    let u = s
        .create_user(
            &actor(),
            NewUser {
                username: "alice".into(),
                password_hash: "h".into(),
                role: Role::Operator,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        s.create_user(
            &actor(),
            NewUser {
                username: "alice".into(),
                password_hash: "h".into(),
                role: Role::Viewer
            }
        )
        .await
        .unwrap_err(),
        DbError::Conflict(_)
    ));
    assert!(s
        .create_user(
            &actor(),
            NewUser {
                username: "bad name".into(),
                password_hash: "h".into(),
                role: Role::Viewer
            }
        )
        .await
        .is_err());
    let (t, clear) = s
        .create_token(&actor(), &u.id, TokenKind::Session, None, 60_000)
        .await
        .unwrap();
    let (who, _) = s.authenticate_token(&clear).await.unwrap().unwrap();
    assert_eq!(who.username, "alice");
    assert!(s.authenticate_token("gfs_wrong").await.unwrap().is_none());
    let (_, expired) = s
        .create_token(&actor(), &u.id, TokenKind::Api, Some("ci".into()), -1)
        .await
        .unwrap();
    assert!(s.authenticate_token(&expired).await.unwrap().is_none());
    s.revoke_token(&actor(), &t.id).await.unwrap();
    assert!(s.authenticate_token(&clear).await.unwrap().is_none());
    let (_, c2) = s
        .create_token(&actor(), &u.id, TokenKind::Api, Some("ci".into()), 60_000)
        .await
        .unwrap();
    s.update_user(
        &actor(),
        &u.id,
        UserPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        s.authenticate_token(&c2).await.unwrap().is_none(),
        "disabling a user revokes its tokens"
    );
    assert_eq!(s.list_users().await.unwrap().len(), 1);
}

async fn concurrent_transitions_keep_the_audit_chain_linear(db: TestDb) {
    let s = db.store.clone();
    let mut ids = Vec::new();
    for i in 0..8 {
        let n = s
            .create_asset(
                &actor(),
                asset(AssetKind::Node, &format!("n{i}"), None, json!({})),
            )
            .await
            .unwrap();
        s.create_asset(
            &actor(),
            asset(
                AssetKind::Bmc,
                &format!("b{i}"),
                Some(&n.id),
                json!({"address": "x"}),
            ),
        )
        .await
        .unwrap();
        ids.push(n.id);
    }
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.transition(&actor(), &id, NodeState::Inspecting, None)
                .await
                .unwrap();
            s.transition(&actor(), &id, NodeState::Ready, None)
                .await
                .unwrap();
            s.patch_asset(
                &actor(),
                &id,
                None,
                AssetPatch {
                    labels: Some(BTreeMap::from([("k".into(), "v".into())])),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = s.verify_audit().await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.rows_checked, 16 + 24);
    for id in ids {
        assert_eq!(
            s.get_asset(&id).await.unwrap().state,
            Some(NodeState::Ready)
        );
    }
}

async fn moving_a_gpu_changes_its_rack(db: TestDb) {
    let s = &db.store;
    let r1 = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r1", None, json!({})))
        .await
        .unwrap();
    let r2 = s
        .create_asset(&actor(), asset(AssetKind::Rack, "r2", None, json!({})))
        .await
        .unwrap();
    let n1 = s
        .create_asset(
            &actor(),
            asset(AssetKind::Node, "n1", Some(&r1.id), json!({})),
        )
        .await
        .unwrap();
    let n2 = s
        .create_asset(
            &actor(),
            asset(AssetKind::Node, "n2", Some(&r2.id), json!({})),
        )
        .await
        .unwrap();
    let g = s
        .create_asset(
            &actor(),
            asset(AssetKind::Gpu, "g", Some(&n1.id), json!({"serial": "S"})),
        )
        .await
        .unwrap();
    let moved = s
        .patch_asset(
            &actor(),
            &g.id,
            None,
            AssetPatch {
                parent_id: Some(Some(n2.id.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.parent_id.as_deref(), Some(n2.id.as_str()));
    assert_eq!(moved.rack_id.as_deref(), Some(r2.id.as_str()));
    // Moving the node moves its children's rack too.
    s.patch_asset(
        &actor(),
        &n2.id,
        None,
        AssetPatch {
            parent_id: Some(Some(r1.id.clone())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_asset(&g.id).await.unwrap().rack_id.as_deref(),
        Some(r1.id.as_str())
    );
    let audit = s
        .list_audit(&fleet_db::AuditFilter {
            target: Some(g.id.clone()),
            kind: Some("move".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
}

async fn alert_rules_are_versioned_and_deleted_as_a_version(db: TestDb) {
    use fleet_db::NewRuleVersion;
    let s = &db.store;
    let mark0 = s.alert_rules_mark().await.unwrap();
    let v1 = json!({"expr": "DCGM_FI_DEV_GPU_TEMP > 85"});
    fn put<'a>(
        name: &'a str,
        spec: &'a serde_json::Value,
        deleted: bool,
        if_version: Option<i64>,
    ) -> NewRuleVersion<'a> {
        NewRuleVersion {
            name,
            spec,
            enabled: !deleted,
            deleted,
            if_version,
            comment: None,
        }
    }
    let r = s
        .put_alert_rule(&actor(), put("hot", &v1, false, Some(0)))
        .await
        .unwrap();
    assert_eq!(
        (r.version, r.enabled, r.deleted, r.actor.as_str()),
        (1, 1, 0, "tester")
    );
    // "Not stored yet" holds no longer; a stale version changes nothing.
    let stale = s
        .put_alert_rule(&actor(), put("hot", &v1, false, Some(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            DbError::Stale {
                current_version: 1,
                ..
            }
        ),
        "{stale:?}"
    );
    let v2 = json!({"expr": "DCGM_FI_DEV_GPU_TEMP > 90", "for": "5m"});
    let r = s
        .put_alert_rule(&actor(), put("hot", &v2, false, Some(1)))
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    s.put_alert_rule(&actor(), put("cold", &v1, false, None))
        .await
        .unwrap();
    let cur = s.current_alert_rules().await.unwrap();
    assert_eq!(
        cur.iter()
            .map(|r| (r.name.as_str(), r.version))
            .collect::<Vec<_>>(),
        vec![("cold", 1), ("hot", 2)]
    );
    let del = s
        .put_alert_rule(&actor(), put("hot", &v1, true, None))
        .await
        .unwrap();
    assert_eq!((del.version, del.deleted), (3, 1));
    let cur = s.current_alert_rules().await.unwrap();
    assert_eq!(
        cur.iter().find(|r| r.name == "hot").unwrap().deleted,
        1,
        "the newest version is the deletion"
    );
    let all = s.alert_rule_versions("hot").await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(all[1].spec.contains("\"for\":\"5m\""), "{}", all[1].spec);
    assert!(s.alert_rule_versions("never").await.unwrap().is_empty());
    assert_ne!(
        s.alert_rules_mark().await.unwrap(),
        mark0,
        "the mark moves with every version"
    );
    // Each version wrote its audit row.
    let audit = s
        .list_audit(&fleet_db::AuditFilter {
            kind: Some("alert_rule".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert!(
        actions.contains(&"alert_rule.delete") && actions.contains(&"alert_rule.create"),
        "{actions:?}"
    );
}

async fn the_incident_store_state_is_saved_replaced_and_deleted(db: TestDb) {
    use fleet_db::CorrelationChanges;
    let s = &db.store;
    assert!(s.load_correlation().await.unwrap().alerts.is_empty());
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    s.save_correlation(&CorrelationChanges {
        alerts: vec![pair("fp-b", r#"{"n":1}"#), pair("fp-a", r#"{"n":2}"#)],
        records: vec![pair("inc-1", r#"{"state":"open"}"#)],
        documents: vec![pair("overrides", r#"{"merged":{}}"#)],
        ..Default::default()
    })
    .await
    .unwrap();
    // The same keys again replace their bodies; gone keys are deleted, in one transaction.
    s.save_correlation(&CorrelationChanges {
        alerts: vec![pair("fp-b", r#"{"n":3}"#)],
        alerts_gone: vec!["fp-a".into()],
        records: vec![pair("inc-2", r#"{"state":"acknowledged"}"#)],
        records_gone: vec!["inc-1".into()],
        documents: vec![pair("overrides", r#"{"merged":{"a":"b"}}"#)],
    })
    .await
    .unwrap();
    let got = s.load_correlation().await.unwrap();
    assert_eq!(got.alerts, vec![pair("fp-b", r#"{"n":3}"#)]);
    assert_eq!(
        got.records,
        vec![pair("inc-2", r#"{"state":"acknowledged"}"#)]
    );
    assert_eq!(
        got.documents,
        vec![pair("overrides", r#"{"merged":{"a":"b"}}"#)]
    );
}
