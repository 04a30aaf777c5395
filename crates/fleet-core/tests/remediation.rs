//! Remediation within guard rails, end to end in the core: XID 79 alerts on GPUs of nodes in
//! service become incidents; the automatic pass drains the first node (audited, in the
//! incident's timeline, lifecycle reason naming the incident), leaves the next one waiting for
//! approval once the budget is spent, and a person's approval drains it; the kill switch
//! refuses everything; a dry run changes nothing.

use std::collections::BTreeMap;

use fleet_core::correlation::{IncidentFilter, IncomingAlert};
use fleet_core::remediation::RemediationSettings;
use fleet_core::{Core, CoreSettings, Principal};
use fleet_correlate::remediate::GuardRails;
use fleet_db::{Actor, AuditFilter, NewAsset, Store, StoreOptions};
use fleet_model::asset::AssetKind;
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Role;
use serde_json::json;

async fn asset(
    store: &Store,
    kind: AssetKind,
    name: &str,
    parent: Option<&str>,
    config: serde_json::Value,
) -> String {
    store
        .create_asset(
            &Actor::system("test"),
            NewAsset {
                kind,
                name: name.into(),
                parent_id: parent.map(str::to_string),
                labels: BTreeMap::new(),
                config,
                profile_id: None,
                reason: None,
            },
        )
        .await
        .unwrap()
        .id
}

fn uuid(n: usize) -> String {
    format!("GPU-7e0d3c11-0000-4000-8000-0000000000{n:02}")
}

/// A rack of four nodes in service, each with a BMC and one GPU. Returns the node ids.
async fn rack(store: &Store) -> Vec<String> {
    let t = Actor::system("test");
    let rack = asset(store, AssetKind::Rack, "rem-r1", None, json!({})).await;
    let profile = store
        .create_profile(&t, "rem-p", &Default::default())
        .await
        .unwrap();
    let mut nodes = vec![];
    for n in 0..4 {
        let name = format!("rem-node-{n}");
        let node = asset(store, AssetKind::Node, &name, Some(&rack), json!({})).await;
        asset(
            store,
            AssetKind::Bmc,
            &format!("{name}-bmc"),
            Some(&node),
            json!({"address": format!("10.9.0.{n}")}),
        )
        .await;
        asset(
            store,
            AssetKind::Gpu,
            &format!("{name}-gpu0"),
            Some(&node),
            json!({"uuid": uuid(n)}),
        )
        .await;
        store
            .assign_profile(&t, &node, Some(&profile.id))
            .await
            .unwrap();
        for to in [
            NodeState::Inspecting,
            NodeState::Ready,
            NodeState::Provisioning,
            NodeState::InService,
        ] {
            store.transition(&t, &node, to, None).await.unwrap();
        }
        nodes.push(node);
    }
    nodes
}

fn xid79(node: usize) -> IncomingAlert {
    let labels = [
        ("alertname", "GpuXidError".to_string()),
        ("xid", "79".to_string()),
        ("UUID", uuid(node)),
        ("Hostname", format!("rem-node-{node}")),
        ("severity", "critical".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    IncomingAlert {
        labels,
        ..Default::default()
    }
}

async fn state(store: &Store, node: &str) -> Option<NodeState> {
    store.get_asset(node).await.unwrap().state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_drains_respect_the_budget_approval_and_the_kill_switch() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let settings = || {
        let mut settings = CoreSettings::new(dir.path().into());
        settings.correlation.remediation = RemediationSettings {
            automatic: true,
            rails: GuardRails {
                max_nodes_per_window: 1,
                max_rack_fraction: 0.5,
                ..Default::default()
            },
        };
        settings
    };
    let core = Core::new(store.clone(), settings());
    let nodes = rack(&store).await;
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let operator = Principal::user("u-op", "oscar", Role::Operator);
    let viewer = Principal::user("u-view", "vera", Role::Viewer);

    // A GPU off the bus on node 0: an incident whose plan drains node 0.
    core.ingest_alerts(&admin, vec![xid79(0)]).await.unwrap();
    let incidents = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let first = incidents[0].id.clone();
    assert!(
        incidents[0]
            .actions
            .contains(&"drain_and_diagnose".to_string()),
        "{incidents:?}"
    );
    let plan = core.remediation_plan(&viewer, &first).await.unwrap();
    assert!(plan.dry_run);
    assert_eq!(plan.target_node.as_deref(), Some(nodes[0].as_str()));
    let drain = plan
        .steps
        .iter()
        .find(|s| s.action == "drain_and_diagnose")
        .expect("a drain step");
    assert_eq!(drain.decision, "execute", "{plan:?}");
    // A dry run moved nothing.
    assert_eq!(state(&store, &nodes[0]).await, Some(NodeState::InService));

    // The correlation tick runs the automatic pass: node 0 drains, once.
    core.correlation_tick().await.unwrap();
    assert_eq!(state(&store, &nodes[0]).await, Some(NodeState::Draining));
    let history = store.lifecycle_history(&nodes[0]).await.unwrap();
    let last = history.last().unwrap();
    assert!(
        last.reason.as_deref().unwrap_or("").contains(&first),
        "{last:?}"
    );
    assert_eq!(last.actor, "system:remediation");
    core.correlation_tick().await.unwrap();
    let st = core.remediation_status(&viewer).await.unwrap();
    assert_eq!(st.window_used, 1);
    assert_eq!(st.recent.len(), 1, "planned once: {st:?}");
    assert_eq!(st.recent[0].outcome, "done");
    let audit = store
        .list_audit(&AuditFilter {
            target: Some(first.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "incident.remediate"
        && a.actor == "system:remediation"
        && a.after_doc.as_deref().unwrap_or("").contains(&nodes[0])));
    let detail = core.get_incident(&viewer, &first).await.unwrap();
    assert!(detail
        .timeline
        .unwrap()
        .iter()
        .any(|t| t.event == "remediation" && t.detail.contains("done")));

    // A second GPU on node 1: the budget (one node per hour) is spent, the drain waits.
    core.ingest_alerts(&admin, vec![xid79(1)]).await.unwrap();
    core.correlation_tick().await.unwrap();
    assert_eq!(state(&store, &nodes[1]).await, Some(NodeState::InService));
    let second = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id != first)
        .unwrap()
        .id;
    let plan = core.remediation_plan(&viewer, &second).await.unwrap();
    let step = plan
        .steps
        .iter()
        .find(|s| s.action == "drain_and_diagnose")
        .unwrap();
    assert_eq!(step.decision, "needs_approval", "{plan:?}");
    assert!(
        step.reason.as_deref().unwrap().contains("budget"),
        "{plan:?}"
    );
    assert!(plan.approval_required);
    let detail = core.get_incident(&viewer, &second).await.unwrap();
    assert!(detail
        .timeline
        .unwrap()
        .iter()
        .any(|t| t.event == "remediation_waits"));
    // Viewers cannot run a plan; an operator without approval changes nothing.
    assert!(core
        .remediate_incident(&viewer, &second, true, false)
        .await
        .is_err());
    let ran = core
        .remediate_incident(&operator, &second, false, false)
        .await
        .unwrap();
    assert!(ran.steps.iter().all(|s| s.outcome.is_none()), "{ran:?}");
    assert_eq!(state(&store, &nodes[1]).await, Some(NodeState::InService));

    // The kill switch refuses even an approved run; only an admin may switch it.
    assert!(core.set_kill_switch(&operator, true, None).await.is_err());
    core.set_kill_switch(&admin, true, Some("datacenter work".into()))
        .await
        .unwrap();
    let ran = core
        .remediate_incident(&operator, &second, true, false)
        .await
        .unwrap();
    assert!(ran.kill_switch);
    let step = ran
        .steps
        .iter()
        .find(|s| s.action == "drain_and_diagnose")
        .unwrap();
    assert_eq!(step.decision, "refused", "{ran:?}");
    assert_eq!(state(&store, &nodes[1]).await, Some(NodeState::InService));
    // A restarted process keeps the kill switch, the budget spent and the record of actions.
    let restarted = Core::new(store.clone(), settings());
    let st = restarted.remediation_status(&viewer).await.unwrap();
    assert!(st.kill_switch, "{st:?}");
    assert_eq!(st.kill_switch_by.as_deref(), Some("admin"));
    assert_eq!(st.kill_switch_reason.as_deref(), Some("datacenter work"));
    assert_eq!(st.window_used, 1, "{st:?}");
    assert_eq!(st.recent.len(), 1, "{st:?}");
    // …and its automatic pass does not plan the incidents planned before the restart again.
    restarted.correlation_tick().await.unwrap();
    assert_eq!(
        restarted
            .remediation_status(&viewer)
            .await
            .unwrap()
            .recent
            .len(),
        1
    );
    drop(restarted);
    core.set_kill_switch(&admin, false, None).await.unwrap();

    // Approved by a person: node 1 drains, the step says who.
    let ran = core
        .remediate_incident(&operator, &second, true, false)
        .await
        .unwrap();
    let step = ran
        .steps
        .iter()
        .find(|s| s.action == "drain_and_diagnose")
        .unwrap();
    assert_eq!(step.outcome.as_deref(), Some("done"), "{ran:?}");
    assert_eq!(state(&store, &nodes[1]).await, Some(NodeState::Draining));
    let last = store
        .lifecycle_history(&nodes[1])
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        last.reason
            .as_deref()
            .unwrap()
            .contains("approved by oscar"),
        "{last:?}"
    );

    // Node 1 is now out: a third run refuses (nothing in service to drain), and the rack share
    // (2 of 4 out) would refuse node 2's automatic drain too.
    let ran = core
        .remediate_incident(&operator, &second, true, false)
        .await
        .unwrap();
    let step = ran
        .steps
        .iter()
        .find(|s| s.action == "drain_and_diagnose")
        .unwrap();
    assert_eq!(step.decision, "refused", "{ran:?}");
    let st = core.remediation_status(&viewer).await.unwrap();
    assert_eq!(st.window_used, 2);
    assert!(!st.kill_switch);
}

/// The ECC chain ending in a failed row remap on one GPU: its plan marks that GPU for return
/// (a record in the GPU's configuration, versioned and kept with the GPU), once; the
/// automatic pass would wait for approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rma_step_marks_the_failed_gpu_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let core = Core::new(store.clone(), CoreSettings::new(dir.path().into()));
    let nodes = rack(&store).await;
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let operator = Principal::user("u-op", "oscar", Role::Operator);
    let t0 = fleet_db::now_ms() - 600_000;
    let chain: Vec<IncomingAlert> = ["GpuEccSbe", "GpuEccDbe", "GpuRowRemapFailed"]
        .iter()
        .enumerate()
        .map(|(i, name)| IncomingAlert {
            labels: [
                ("alertname", name.to_string()),
                ("UUID", uuid(2)),
                ("Hostname", "rem-node-2".to_string()),
                ("severity", "critical".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            starts_at: Some(fleet_db::rfc3339(t0 + i as i64 * 60_000)),
            ..Default::default()
        })
        .collect();
    core.ingest_alerts(&admin, chain).await.unwrap();
    let inc = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert!(inc[0].actions.contains(&"rma".to_string()), "{inc:?}");
    let id = inc[0].id.clone();
    let gpu = inc[0].root_cause.asset_id.clone().unwrap();
    let plan = core.remediation_plan(&operator, &id).await.unwrap();
    let rma = plan.steps.iter().find(|s| s.action == "rma").unwrap();
    assert_eq!(rma.gpu.as_deref(), Some(gpu.as_str()), "{plan:?}");
    assert_eq!(rma.node.as_deref(), Some(nodes[2].as_str()));
    assert_eq!(rma.decision, "execute", "{plan:?}");

    let ran = core
        .remediate_incident(&operator, &id, false, false)
        .await
        .unwrap();
    let rma = ran.steps.iter().find(|s| s.action == "rma").unwrap();
    assert_eq!(rma.outcome.as_deref(), Some("done"), "{ran:?}");
    let g = store.get_asset(&gpu).await.unwrap();
    assert_eq!(g.config["rma"]["state"], "requested", "{:?}", g.config);
    assert_eq!(g.config["rma"]["incident"], id.as_str());
    assert_eq!(g.config["rma"]["requested_by"], "oscar");
    assert_eq!(g.version, 2, "a configuration version of the GPU");
    // The part budget is not the node budget: only the drain used it.
    let st = core.remediation_status(&operator).await.unwrap();
    assert_eq!(st.window_used, 1, "{st:?}");

    // Marked once: the next plan refuses it.
    let again = core.remediation_plan(&operator, &id).await.unwrap();
    let rma = again.steps.iter().find(|s| s.action == "rma").unwrap();
    assert_eq!(rma.decision, "refused", "{again:?}");
    assert!(rma.reason.as_deref().unwrap().contains("already marked"));
}

/// An install system that takes every attempt and runs none (the test ends them).
struct Accepting;

impl fleet_core::provisioning::Engine for Accepting {
    fn concurrency(&self) -> usize {
        4
    }
    fn power_via(&self) -> String {
        "gpufleet".into()
    }
    fn object_base(&self, node: &fleet_model::asset::Asset) -> Result<String, String> {
        Ok(node.name.clone())
    }
    async fn check(
        &self,
        _: &fleet_model::asset::Asset,
        _: &fleet_db::InstallPlanRow,
        _: &str,
    ) -> Result<(), String> {
        Ok(())
    }
    fn batch_limit(&self, _: &str, _: usize) {}
    fn start(&self, _: fleet_db::Provisioning) {}
    async fn stop(&self, _: &fleet_db::Provisioning) -> fleet_core::CoreResult<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diagnosis_returns_the_node_to_service_or_to_maintenance_with_an_rma_record() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let core = Core::new(store.clone(), CoreSettings::new(dir.path().into()));
    let nodes = rack(&store).await;
    let t = Actor::system("test");
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let operator = Principal::user("u-op", "oscar", Role::Operator);
    let viewer = Principal::user("u-view", "vera", Role::Viewer);
    let profile = store
        .get_asset(&nodes[0])
        .await
        .unwrap()
        .profile_id
        .unwrap();
    let spec = json!({"os": {"method": "image2disk", "url": "http://images/ubuntu.raw.gz",
                             "compressed": true},
                      "validation": {"enabled": true, "dcgm_level": 2}});
    store
        .create_install_plan(&t, "diag-plan", Some(&profile), &spec, None)
        .await
        .unwrap();
    let engine = Accepting;

    // XID 79 on nodes 0 and 1: two incidents rooted at their GPUs.
    core.ingest_alerts(&admin, vec![xid79(0), xid79(1)])
        .await
        .unwrap();
    let incidents = core
        .list_incidents(&admin, &IncidentFilter::default())
        .await
        .unwrap();
    let of = |n: usize| {
        incidents
            .iter()
            .find(|i| i.affected.nodes.contains(&nodes[n]))
            .unwrap()
            .id
            .clone()
    };
    let (inc0, inc1) = (of(0), of(1));

    // Only a drained node is diagnosed; viewers may not; the incident must be about this node.
    let e = core
        .diagnose_node(&operator, Some(&engine), &nodes[0], Some(&inc0))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only a drained node"), "{e}");
    for n in &nodes[..2] {
        store
            .transition(&t, n, NodeState::Draining, None)
            .await
            .unwrap();
    }
    assert!(matches!(
        core.diagnose_node(&viewer, Some(&engine), &nodes[0], Some(&inc0))
            .await
            .unwrap_err(),
        fleet_core::CoreError::Forbidden(_)
    ));
    let e = core
        .diagnose_node(&operator, Some(&engine), &nodes[0], Some(&inc1))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not in node"), "{e}");
    let e = core
        .diagnose_node::<Accepting>(&operator, None, &nodes[0], None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("provisioning is off"), "{e}");

    // Both diagnosed: drained → maintenance → provisioning with the profile's plan.
    let run0 = core
        .diagnose_node(&operator, Some(&engine), &nodes[0], Some(&inc0))
        .await
        .unwrap();
    let run1 = core
        .diagnose_node(&operator, Some(&engine), &nodes[1], Some(&inc1))
        .await
        .unwrap();
    assert_eq!(run0.node_state, Some(NodeState::Provisioning));
    assert_eq!(run0.provisioning.plan_name, "diag-plan");
    let states: Vec<String> = store
        .lifecycle_history(&nodes[0])
        .await
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|h| h.to_state.clone())
        .collect();
    assert_eq!(states, ["provisioning", "maintenance"]);
    assert_eq!(core.diagnoses(&viewer).await.unwrap().len(), 2);

    // Still running: nothing decided.
    core.correlation_tick().await.unwrap();
    assert_eq!(core.diagnoses(&viewer).await.unwrap().len(), 2);

    // Node 0 fails its GPU validation, node 1 passes (as the install system would report).
    store
        .finish_provisioning(
            &t,
            &run0.provisioning.id,
            "failed",
            NodeState::ProvisioningFailed,
            format!(
                "workflow {}: provision/validate-gpus: dcgmi diag -r 2: GPU 0 failed the memory test",
                run0.provisioning.workflow
            ),
            None,
            None,
        )
        .await
        .unwrap();
    store
        .finish_provisioning(
            &t,
            &run1.provisioning.id,
            "succeeded",
            NodeState::InService,
            "workflow succeeded (9 actions)".into(),
            None,
            None,
        )
        .await
        .unwrap();
    core.correlation_tick().await.unwrap();
    assert!(core.diagnoses(&viewer).await.unwrap().is_empty());

    assert_eq!(state(&store, &nodes[0]).await, Some(NodeState::Maintenance));
    let gpu0 = store
        .children(&nodes[0], Some(AssetKind::Gpu))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == AssetKind::Gpu)
        .unwrap();
    assert_eq!(gpu0.config["rma"]["state"], "requested", "{}", gpu0.config);
    assert_eq!(gpu0.config["rma"]["incident"], json!(inc0));
    assert!(gpu0.config["rma"]["reason"]
        .as_str()
        .unwrap()
        .contains("validate-gpus"));
    let timeline = core
        .get_incident(&viewer, &inc0)
        .await
        .unwrap()
        .timeline
        .unwrap();
    assert!(
        timeline.iter().any(|t| t.event == "diagnosis"
            && t.detail.contains("failed its GPU validation")
            && t.detail.ends_with("GPU marked for RMA")),
        "{timeline:?}"
    );

    assert_eq!(state(&store, &nodes[1]).await, Some(NodeState::InService));
    let gpu1 = store
        .children(&nodes[1], Some(AssetKind::Gpu))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == AssetKind::Gpu)
        .unwrap();
    assert!(gpu1.config.get("rma").is_none(), "{}", gpu1.config);
    let timeline = core
        .get_incident(&viewer, &inc1)
        .await
        .unwrap()
        .timeline
        .unwrap();
    assert!(timeline
        .iter()
        .any(|t| t.event == "diagnosis" && t.detail.contains("back in service")));
    let audit = store
        .list_audit(&AuditFilter {
            target: Some(nodes[0].clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "node.diagnose" && a.actor == "system:remediation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_drives_the_lifecycle_drain_then_diagnosis_then_rma() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let mut settings = CoreSettings::new(dir.path().into());
    settings.correlation.remediation = RemediationSettings {
        automatic: true,
        rails: GuardRails::default(),
    };
    let core = Core::new(store.clone(), settings);
    let nodes = rack(&store).await;
    let t = Actor::system("test");
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let profile = store
        .get_asset(&nodes[2])
        .await
        .unwrap()
        .profile_id
        .unwrap();
    store
        .create_install_plan(
            &t,
            "auto-plan",
            Some(&profile),
            &json!({"os": {"method": "image2disk", "url": "http://images/os.raw"}}),
            None,
        )
        .await
        .unwrap();
    let engine = Accepting;

    // XID 79: the automatic pass drains the node; nothing is diagnosed while it drains.
    core.ingest_alerts(&admin, vec![xid79(2)]).await.unwrap();
    core.correlation_tick().await.unwrap();
    assert_eq!(state(&store, &nodes[2]).await, Some(NodeState::Draining));
    assert!(core.diagnose_drained(Some(&engine)).await.is_empty());
    // The drain is complete (the scheduler or a person says so): diagnosed, for the incident.
    store
        .transition(
            &t,
            &nodes[2],
            NodeState::Maintenance,
            Some("drained".into()),
        )
        .await
        .unwrap();
    let started = core.diagnose_drained(Some(&engine)).await;
    assert_eq!(started.len(), 1);
    let d = &started[0];
    assert_eq!(d.by, "system:remediation");
    assert!(d.gpu.is_some() && d.incident.is_some(), "{d:?}");
    assert_eq!(
        state(&store, &nodes[2]).await,
        Some(NodeState::Provisioning)
    );
    assert!(
        core.diagnose_drained(Some(&engine)).await.is_empty(),
        "once"
    );
    // The GPU validation fails: maintenance, and the GPU is marked for return.
    store
        .finish_provisioning(
            &t,
            &d.run,
            "failed",
            NodeState::ProvisioningFailed,
            "workflow w: provision/validate-gpus: exit status 1".into(),
            None,
            None,
        )
        .await
        .unwrap();
    core.correlation_tick().await.unwrap();
    assert_eq!(state(&store, &nodes[2]).await, Some(NodeState::Maintenance));
    let gpu = store.get_asset(d.gpu.as_ref().unwrap()).await.unwrap();
    assert_eq!(gpu.config["rma"]["state"], "requested");
    assert_eq!(gpu.config["rma"]["requested_by"], "system:remediation");
}
