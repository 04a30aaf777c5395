//! Merges and splits by hand: the alerts go where the operator put them, later alerts follow,
//! and an engine given the same overrides and the same alerts (in any order) builds the same
//! incidents.

mod common;

use std::collections::BTreeSet;

use common::*;
use fleet_correlate::{Belief, CorrelateError, Engine, Incident, IncidentChange, Overrides};

const NOW: i64 = T0 + 3600 * S;

fn engine(alerts: &[fleet_correlate::Alert]) -> Engine {
    let mut e = Engine::with_defaults(hall()).unwrap();
    for a in alerts {
        e.ingest(a.clone(), a.starts_at);
    }
    e
}

fn members(i: &Incident) -> BTreeSet<&str> {
    i.members.iter().map(String::as_str).collect()
}

fn holding<'a>(incs: &'a [Incident], fp: &str) -> &'a Incident {
    incs.iter()
        .find(|i| i.members.iter().any(|m| m == fp))
        .unwrap_or_else(|| panic!("no incident holds {fp}"))
}

/// (id, members) of every incident, in id order.
fn shape(incs: &[Incident]) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<_> = incs
        .iter()
        .map(|i| (i.id.clone(), i.members.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn merged_incidents_become_one_and_later_alerts_follow() {
    let s = switch_and_unrelated_gpu();
    let mut e = engine(&s.alerts);
    let incs = e.incidents(NOW);
    assert_eq!(incs.len(), 2, "{:?}", shape(&incs));
    let sw = holding(&incs, "sw2-down").id.clone();
    let bus = holding(&incs, "bus-xid79").id.clone();

    let changes = e.merge(&sw, std::slice::from_ref(&bus), NOW).unwrap();
    assert!(
        changes.iter().any(|c| matches!(c,
            IncidentChange::Closed { id, merged_into } if *id == bus && merged_into.as_deref() == Some(sw.as_str()))),
        "{changes:?}"
    );
    let incs = e.incidents(NOW);
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].id, sw);
    assert_eq!(incs[0].members.len(), s.alerts.len());
    // The target keeps its own root cause.
    assert_eq!(incs[0].root_cause.asset_id.as_deref(), Some("sw2"));
    assert_eq!(incs[0].root_cause.belief, Belief::Announced);

    // Another alert of the merged fault (the same GPU's XID 48 within its window) joins the
    // target, not a re-opened incident of its own.
    e.ingest(xid("bus-xid48", "gpu-n1-3", 48, T0 + 40 * S), NOW);
    let incs = e.incidents(NOW);
    assert_eq!(incs.len(), 1, "{:?}", shape(&incs));
    assert!(incs[0].members.iter().any(|m| m == "bus-xid48"));
}

#[test]
fn a_split_group_is_its_own_incident_rooted_where_the_operator_said() {
    let s = gpu_off_bus();
    let mut e = engine(&s.alerts);
    let incs = e.incidents(NOW);
    assert_eq!(incs.len(), 1);
    let from = incs[0].id.clone();
    let nccl = vec!["bus-nccl-n3".to_string(), "bus-nccl-f1".to_string()];

    let (id, changes) = e
        .split(&from, &nccl, Some("sw2".into()), "alice", NOW)
        .unwrap();
    assert_eq!(id, "split:bus-nccl-n3");
    assert!(changes
        .iter()
        .any(|c| matches!(c, IncidentChange::Opened { incident } if incident.id == id)));
    let incs = e.incidents(NOW);
    assert_eq!(incs.len(), 2, "{:?}", shape(&incs));
    let split = e.incident(&id, NOW).unwrap();
    assert_eq!(
        members(&split),
        BTreeSet::from(["bus-nccl-n3", "bus-nccl-f1"])
    );
    assert_eq!(split.root_cause.belief, Belief::Manual);
    assert_eq!(split.root_cause.asset_id.as_deref(), Some("sw2"));
    assert_eq!(split.root_cause.confidence, 1.0);
    assert!(split.root_cause.evidence[0].detail.contains("alice"));
    assert_eq!(split.affected.jobs, vec!["j2"]);
    let rest = e.incident(&from, NOW).unwrap();
    assert_eq!(rest.members.len(), 3);
    assert_eq!(rest.root_cause.asset_id.as_deref(), Some("gpu-n3-2"));

    // Without a named root, the earliest alert's own asset.
    let (id2, _) = e
        .split(&from, &["bus-xid74-peer".to_string()], None, "bob", NOW)
        .unwrap();
    let two = e.incident(&id2, NOW).unwrap();
    assert_eq!(two.root_cause.asset_id.as_deref(), Some("gpu-n3-3"));
    assert_eq!(two.root_cause.confidence, 0.5);

    // Splitting off a split group moves the alert; the old group keeps the rest.
    let (id3, _) = e
        .split(&id, &["bus-nccl-f1".to_string()], None, "carol", NOW)
        .unwrap();
    assert_eq!(
        members(&e.incident(&id, NOW).unwrap()),
        BTreeSet::from(["bus-nccl-n3"])
    );
    assert_eq!(
        members(&e.incident(&id3, NOW).unwrap()),
        BTreeSet::from(["bus-nccl-f1"])
    );
    assert_eq!(e.overrides().splits[&id].alerts.len(), 1);
}

#[test]
fn bad_merges_and_splits_say_why_and_change_nothing() {
    let s = switch_and_unrelated_gpu();
    let mut e = engine(&s.alerts);
    let before = shape(&e.incidents(NOW));
    let sw = holding(&e.incidents(NOW), "sw2-down").id.clone();
    let all: Vec<String> = e.incident(&sw, NOW).unwrap().members;

    let err = e.merge(&sw, std::slice::from_ref(&sw), NOW).unwrap_err();
    assert!(err.to_string().contains("into itself"), "{err}");
    let err = e.merge(&sw, &[], NOW).unwrap_err();
    assert!(matches!(err, CorrelateError::Grouping(_)));
    let err = e.merge("nope", std::slice::from_ref(&sw), NOW).unwrap_err();
    assert!(matches!(err, CorrelateError::NoIncident(ref i) if i == "nope"));
    let err = e.merge(&sw, &["nope".to_string()], NOW).unwrap_err();
    assert!(matches!(err, CorrelateError::NoIncident(ref i) if i == "nope"));
    let err = e.split(&sw, &all, None, "x", NOW).unwrap_err();
    assert!(err.to_string().contains("every alert"), "{err}");
    let err = e
        .split(&sw, &["bus-xid79".to_string()], None, "x", NOW)
        .unwrap_err();
    assert!(err.to_string().contains("not in incident"), "{err}");
    let err = e.split(&sw, &[], None, "x", NOW).unwrap_err();
    assert!(matches!(err, CorrelateError::Grouping(_)));
    let err = e
        .split(
            &sw,
            &["link-f1".to_string()],
            Some("ghost".into()),
            "x",
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, CorrelateError::UnknownAsset { .. }), "{err}");

    assert_eq!(shape(&e.incidents(NOW)), before);
    assert!(e.overrides().is_empty());
}

#[test]
fn overrides_rebuild_the_same_incidents_in_any_order() {
    let mut alerts = switch_and_unrelated_gpu().alerts;
    alerts.extend(gpu_off_bus_alerts(
        "gpu-n3-2",
        "n3",
        "j2",
        "f1",
        T0 + 600 * S,
        "other",
    ));
    let mut e = engine(&alerts);
    let incs = e.incidents(NOW);
    let sw = holding(&incs, "sw2-down").id.clone();
    let other = holding(&incs, "bus-xid79").id.clone();
    e.merge(&sw, &[other], NOW).unwrap();
    let bus = holding(&e.incidents(NOW), "other-nccl-f1").id.clone();
    e.split(&bus, &["other-nccl-f1".to_string()], None, "alice", NOW)
        .unwrap();
    let want = shape(&e.incidents(NOW));
    let saved: Overrides =
        serde_json::from_str(&serde_json::to_string(e.overrides()).unwrap()).unwrap();
    assert_eq!(&saved, e.overrides());

    for seed in [1, 7, 42] {
        let mut again = Engine::with_defaults(hall()).unwrap();
        again.set_overrides(saved.clone());
        for a in shuffled(alerts.clone(), seed) {
            again.ingest(a, NOW);
        }
        assert_eq!(shape(&again.incidents(NOW)), want, "seed {seed}");
    }
    // Overrides given after the alerts give the same result too.
    let mut late = engine(&alerts);
    late.set_overrides(saved);
    assert_eq!(shape(&late.incidents(NOW)), want);
}

#[test]
fn forgotten_alerts_leave_their_split_group() {
    let s = gpu_off_bus();
    let mut e = engine(&s.alerts);
    let from = e.incidents(NOW)[0].id.clone();
    let (id, _) = e
        .split(&from, &["bus-nccl-f1".to_string()], None, "alice", NOW)
        .unwrap();
    let changes = e.forget("bus-nccl-f1", NOW);
    assert!(changes
        .iter()
        .any(|c| matches!(c, IncidentChange::Closed { id: i, .. } if *i == id)));
    assert!(e.overrides().splits.is_empty());
    // The same alert again is a new occurrence and correlates afresh.
    e.ingest(
        s.alerts
            .iter()
            .find(|a| a.fingerprint == "bus-nccl-f1")
            .unwrap()
            .clone(),
        NOW,
    );
    assert_eq!(e.incidents(NOW).len(), 1);
}
