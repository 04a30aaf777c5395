//! The recovery ladder in the core, with real jobs run by the core's own worker: a node stuck
//! in `inspecting` is retried, then its BMC is reset and it is retried, then it is power-cycled
//! and retried, then it is left in `inspection_failed` with the ladder's history — each rung
//! audited, one state deadline apart, the ladder kept across a restart; the hourly limit
//! defers rungs, the kill switch stops them, a stuck provisioning ends in `broken`.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::provisioning::Engine;
use fleet_core::recovery::RecoveryReport;
use fleet_core::{Core, CoreResult, CoreSettings, Principal};
use fleet_db::{Actor, AuditFilter, InstallPlanRow, NewAsset, Provisioning, Store, StoreOptions};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Role;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Provisioning off: the ladder gets no engine.
struct Off;

impl Engine for Off {
    fn concurrency(&self) -> usize {
        1
    }
    fn power_via(&self) -> String {
        "gpufleet".into()
    }
    fn object_base(&self, _: &Asset) -> Result<String, String> {
        Err("off".into())
    }
    async fn check(&self, _: &Asset, _: &InstallPlanRow, _: &str) -> Result<(), String> {
        Err("off".into())
    }
    fn batch_limit(&self, _: &str, _: usize) {}
    fn start(&self, _: Provisioning) {}
    async fn stop(&self, _: &Provisioning) -> CoreResult<()> {
        Ok(())
    }
}

async fn round(core: &Core) -> RecoveryReport {
    core.recovery_round::<Off>(None).await.unwrap()
}

async fn node(store: &Store, name: &str, to: &[NodeState]) -> String {
    let t = Actor::system("test");
    let new = |kind, name: String, parent: Option<String>, config| NewAsset {
        kind,
        name,
        parent_id: parent,
        labels: BTreeMap::new(),
        config,
        profile_id: None,
        reason: None,
    };
    let n = store
        .create_asset(&t, new(AssetKind::Node, name.into(), None, json!({})))
        .await
        .unwrap()
        .id;
    // A BMC nobody answers at: the reset and the power cycle jobs fail fast.
    store
        .create_asset(
            &t,
            new(
                AssetKind::Bmc,
                format!("{name}-bmc"),
                Some(n.clone()),
                json!({"address": "http://127.0.0.1:1", "protocol": "redfish"}),
            ),
        )
        .await
        .unwrap();
    for s in to {
        store
            .transition(&t, &n, *s, Some("test".into()))
            .await
            .unwrap();
    }
    n
}

async fn state(store: &Store, id: &str) -> Option<NodeState> {
    store.get_asset(id).await.unwrap().state
}

/// Waits until the job ends (the core's worker runs it).
async fn job_ends(store: &Store, id: &str) -> fleet_db::Job {
    for _ in 0..200 {
        let j = store.get_job(id).await.unwrap();
        if fleet_db::job_state_is_final(&j.state) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

fn settings(dir: &std::path::Path, max: usize) -> CoreSettings {
    let mut s = CoreSettings::new(dir.into());
    s.recovery.max_actions_per_hour = max;
    s.recovery.deadlines.set(NodeState::Inspecting, 1);
    s.recovery.deadlines.set(NodeState::Provisioning, 1);
    s.bmc_timeout = Duration::from_secs(2);
    s
}

const PAST_DEADLINE: Duration = Duration::from_millis(1_150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stuck_in_inspection_climbs_the_ladder_to_inspection_failed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let core = Core::new(store.clone(), settings(dir.path(), 20));
    let stop = CancellationToken::new();
    core.start_worker(stop.clone());
    let n = node(&store, "stuck-1", &[NodeState::Inspecting]).await;

    // Inside its deadline: nothing.
    let r = round(&core).await;
    assert_eq!((r.stuck, r.actions.len()), (0, 0), "{r:?}");

    // Rung 1: the inspection again (inspecting → inspection_failed → inspecting).
    tokio::time::sleep(PAST_DEADLINE).await;
    let r = round(&core).await;
    assert_eq!(r.stuck, 1);
    assert_eq!(r.actions.len(), 1, "{r:?}");
    assert_eq!(
        (r.actions[0].rung, r.actions[0].action.as_str()),
        (1, "retry")
    );
    assert_eq!(r.actions[0].outcome, "inspection retried");
    assert_eq!(state(&store, &n).await, Some(NodeState::Inspecting));
    let history = store.lifecycle_history(&n).await.unwrap();
    let last: Vec<(&str, &str)> = history
        .iter()
        .rev()
        .take(2)
        .map(|h| (h.to_state.as_str(), h.actor.as_str()))
        .collect();
    assert_eq!(
        last,
        [
            ("inspecting", "system:recovery"),
            ("inspection_failed", "system:recovery")
        ]
    );
    // Retried: not stuck again until its deadline has passed once more.
    assert!(round(&core).await.actions.is_empty());

    // The ladder survives a restart.
    let other = Core::new(store.clone(), settings(dir.path(), 20));
    let viewer = Principal::user("u", "vera", Role::Viewer);
    let ladders = other.recovery_ladders(&viewer).await.unwrap();
    assert_eq!(ladders[&n].rung, 1, "{ladders:?}");
    assert_eq!(ladders[&n].step, "inspection");
    drop(other);

    // Rungs 2 and 3: a BMC reset, then a power cycle, each a job followed by the retry.
    for (rung, action, kind) in [
        (2, "bmc_reset", "bmc.reset"),
        (3, "power_cycle", "power.cycle"),
    ] {
        tokio::time::sleep(PAST_DEADLINE).await;
        let r = round(&core).await;
        assert_eq!(r.actions.len(), 1, "{r:?}");
        let a = &r.actions[0];
        assert_eq!((a.rung, a.action.as_str()), (rung, action), "{a:?}");
        let job = core.recovery_ladders(&viewer).await.unwrap()[&n]
            .job
            .clone()
            .unwrap_or_else(|| panic!("a job for rung {rung}: {a:?}"));
        let j = job_ends(&store, &job).await;
        assert_eq!(j.kind, kind);
        assert_eq!(j.actor, "system:recovery");
        assert_eq!(
            j.state, "failed",
            "nobody answers at the BMC's address: {j:?}"
        );
        let r = round(&core).await;
        assert_eq!(r.actions.len(), 1, "the retry after the job: {r:?}");
        assert_eq!(r.actions[0].action, "retry");
        assert!(
            r.actions[0]
                .outcome
                .starts_with(&format!("after {kind} failed"))
                && r.actions[0].outcome.ends_with("inspection retried"),
            "{:?}",
            r.actions[0]
        );
        assert_eq!(state(&store, &n).await, Some(NodeState::Inspecting));
    }

    // Rung 4: given up, for a person, with what was tried.
    tokio::time::sleep(PAST_DEADLINE).await;
    let r = round(&core).await;
    assert_eq!(r.actions[0].action, "give_up", "{r:?}");
    assert_eq!(state(&store, &n).await, Some(NodeState::InspectionFailed));
    let why = store
        .lifecycle_history(&n)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .reason
        .unwrap();
    assert!(
        why.starts_with("recovery ladder exhausted")
            && why.contains("bmc_reset")
            && why.contains("power_cycle"),
        "{why}"
    );
    let ladders = core.recovery_ladders(&viewer).await.unwrap();
    assert_eq!(ladders[&n].rung, 4, "given up, kept: {ladders:?}");
    assert_eq!(ladders[&n].history.len(), 6);
    assert!(round(&core).await.actions.is_empty());
    let audit = store
        .list_audit(&AuditFilter {
            target: Some(n.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let rungs = audit.iter().filter(|a| a.action == "node.recover").count();
    assert_eq!(rungs, 6, "four rungs and two retries after jobs");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_limit_defers_and_the_kill_switch_stops_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let core = Core::new(store.clone(), settings(dir.path(), 1));
    let admin = Principal::user("u-admin", "admin", Role::Admin);
    let a = node(&store, "lim-a", &[NodeState::Inspecting]).await;
    let b = node(&store, "lim-b", &[NodeState::Inspecting]).await;
    // A node stuck in provisioning with provisioning off: the retry cannot run, the ladder
    // still climbs, and the last rung moves it to broken.
    let t = Actor::system("test");
    let profile = store
        .create_profile(&t, "rec-p", &Default::default())
        .await
        .unwrap();
    let p = node(&store, "lim-p", &[NodeState::Inspecting, NodeState::Ready]).await;
    store
        .assign_profile(&t, &p, Some(&profile.id))
        .await
        .unwrap();
    store
        .transition(&t, &p, NodeState::Provisioning, None)
        .await
        .unwrap();
    tokio::time::sleep(PAST_DEADLINE).await;

    core.set_kill_switch(&admin, true, Some("hands off".into()))
        .await
        .unwrap();
    let r = round(&core).await;
    assert_eq!(
        r.skipped.as_deref(),
        Some("remediation's kill switch is on")
    );
    assert!(r.actions.is_empty());
    assert_eq!(state(&store, &a).await, Some(NodeState::Inspecting));
    core.set_kill_switch(&admin, false, None).await.unwrap();

    let r = round(&core).await;
    assert_eq!(r.stuck, 3);
    assert_eq!(r.actions.len(), 1, "one rung an hour: {r:?}");
    assert_eq!(r.deferred, 2);
    assert_eq!(r.actions[0].node, std::cmp::min(&a, &b).min(&p).clone());
    drop(core);

    // Without the limit: the provisioning ladder. With provisioning off the retry cannot run
    // (said in the outcome); nothing runs jobs here, so each job is waited for until it is
    // cancelled; the last rung moves the node to broken.
    let core = Core::new(store.clone(), settings(dir.path(), 100));
    let of_p = |r: &RecoveryReport| r.actions.iter().find(|x| x.node == p).cloned();
    let x = of_p(&round(&core).await).expect("a rung for the provisioning node");
    assert_eq!(x.rung, 1);
    assert!(x.outcome.contains("provisioning is off"), "{x:?}");
    assert!(
        of_p(&round(&core).await).is_none(),
        "the next rung waits a deadline"
    );
    for (rung, kind) in [(2, "bmc.reset"), (3, "power.cycle")] {
        tokio::time::sleep(PAST_DEADLINE).await;
        let x = of_p(&round(&core).await).unwrap();
        assert_eq!(x.rung, rung, "{x:?}");
        let job = core.recovery_ladders(&admin).await.unwrap()[&p]
            .job
            .clone()
            .unwrap();
        assert!(of_p(&round(&core).await).is_none(), "waits for its job");
        core.cancel(&admin, &job).await.unwrap();
        let x = of_p(&round(&core).await).unwrap();
        assert_eq!(x.action, "retry");
        assert!(
            x.outcome.starts_with(&format!("after {kind} cancelled"))
                && x.outcome.contains("provisioning is off"),
            "{x:?}"
        );
    }
    tokio::time::sleep(PAST_DEADLINE).await;
    let x = of_p(&round(&core).await).unwrap();
    assert_eq!((x.rung, x.action.as_str()), (4, "give_up"));
    assert_eq!(state(&store, &p).await, Some(NodeState::Broken));
}
