//! Fault scenarios on a small hall: each asserts the root cause and the exact membership, and
//! the score over all of them reaches the targets.

mod common;

use std::collections::BTreeSet;

use common::*;
use fleet_correlate::score::{combine, score};
use fleet_correlate::{
    correlate, Action, Belief, Engine, Incident, IncidentChange, RuleSet, XidCatalog,
};

const NOW: i64 = T0 + 3 * 3600 * S;

fn run(s: &Scenario) -> Vec<Incident> {
    let mut e = Engine::with_defaults(hall()).unwrap();
    for a in &s.alerts {
        e.ingest(a.clone(), a.starts_at);
    }
    e.incidents(NOW)
}

/// The incident holding `fp`.
fn holding<'a>(incs: &'a [Incident], fp: &str) -> &'a Incident {
    incs.iter()
        .find(|i| i.members.iter().any(|m| m == fp))
        .unwrap_or_else(|| panic!("no incident holds {fp}"))
}

/// Asserts that the scenario's true incidents come out exactly, with the right roots.
fn check_exact(s: &Scenario, incs: &[Incident]) {
    for t in &s.truth {
        let first = t.members.iter().next().unwrap();
        let inc = holding(incs, first);
        let members: BTreeSet<String> = inc.members.iter().cloned().collect();
        assert_eq!(members, t.members, "{}: members of {}", s.name, inc.id);
        assert_eq!(
            inc.root_cause.asset_id.as_deref(),
            Some(t.root_asset.as_str()),
            "{}: root of {}",
            s.name,
            inc.id
        );
        if let Some(f) = &t.fault {
            assert_eq!(&inc.root_cause.fault, f, "{}: fault of {}", s.name, inc.id);
        }
    }
    assert_eq!(
        incs.len(),
        s.truth.len(),
        "{}: incident count: {:#?}",
        s.name,
        ids(incs)
    );
}

fn ids(incs: &[Incident]) -> Vec<(&str, usize)> {
    incs.iter()
        .map(|i| (i.id.as_str(), i.members.len()))
        .collect()
}

#[test]
fn pdu_feed_lost_announced_is_one_incident_rooted_at_the_feed() {
    let s = pdu_feed_announced();
    let incs = run(&s);
    check_exact(&s, &incs);
    let inc = &incs[0];
    assert_eq!(inc.id, "pdu_feed_lost:a1@1800000000000");
    assert_eq!(inc.root_cause.belief, Belief::Announced);
    assert!(inc.root_cause.confidence >= 0.9);
    assert_eq!(inc.actions, vec![Action::FacilitiesPower]);
    assert_eq!(inc.affected.nodes, vec!["n1", "n2"]);
    assert_eq!(inc.affected.gpus.len(), 16);
    assert_eq!(inc.blast_radius, 18);
}

#[test]
fn pdu_feed_lost_unannounced_is_inferred_with_lower_confidence() {
    let s = pdu_feed_unannounced();
    let incs = run(&s);
    check_exact(&s, &incs);
    let rc = &incs[0].root_cause;
    assert_eq!(rc.belief, Belief::Inferred);
    assert!(
        rc.confidence < 0.9 && rc.confidence > 0.5,
        "{}",
        rc.confidence
    );
    assert!(
        rc.evidence
            .iter()
            .any(|e| e.code == "inferred" && e.detail.contains("raised no alert")),
        "{:?}",
        rc.evidence
    );
}

#[test]
fn unannounced_feed_merges_the_node_incidents_as_the_storm_arrives() {
    let s = pdu_feed_unannounced();
    let mut e = Engine::with_defaults(hall()).unwrap();
    let mut seen: Vec<IncidentChange> = Vec::new();
    for a in &s.alerts {
        seen.extend(e.ingest(a.clone(), a.starts_at));
    }
    // n1's node-down opened its own incident first, which later closed into the feed's.
    assert!(seen.iter().any(
        |c| matches!(c, IncidentChange::Opened { incident } if incident.id == "node_down:n1@1800000000000")
    ));
    assert!(seen.iter().any(|c| matches!(c,
        IncidentChange::Closed { id, merged_into: Some(to) } if id == "node_down:n1@1800000000000" && to == "pdu_feed_lost:a1@1800000000000")));
    // The same alerts in the same order give the same changes.
    let mut e2 = Engine::with_defaults(hall()).unwrap();
    let again: Vec<IncidentChange> = s
        .alerts
        .iter()
        .flat_map(|a| e2.ingest(a.clone(), a.starts_at))
        .collect();
    assert_eq!(seen, again);
}

#[test]
fn leaf_switch_down_takes_the_far_ranks_nccl_timeouts() {
    let s = switch_down();
    let incs = run(&s);
    check_exact(&s, &incs);
    let inc = &incs[0];
    assert_eq!(
        inc.root_cause.kind,
        Some(fleet_correlate::AssetKind::Switch)
    );
    assert_eq!(inc.affected.jobs, vec!["j1"]);
    assert!(inc.affected.nodes.contains(&"f1".to_string()));
    assert!(inc.actions.contains(&Action::CheckCabling));
}

#[test]
fn gpu_off_the_bus_explains_xid45_nvlink_peer_and_job_timeouts() {
    let s = gpu_off_bus();
    let incs = run(&s);
    check_exact(&s, &incs);
    let inc = &incs[0];
    // XID 79's bucket (RESTART_BM) adds a reboot to the rule's drain.
    assert!(inc.actions.contains(&Action::DrainAndDiagnose));
    assert!(inc.actions.contains(&Action::RebootNode));
    assert!(inc.root_cause.evidence.iter().any(|e| e.code == "xid"
        && e.detail.contains("XID 79")
        && e.detail.contains("RESTART_BM")));
}

#[test]
fn cdu_fault_explains_thermal_and_throttle_of_its_racks_gpus() {
    let s = cdu_fault();
    let incs = run(&s);
    check_exact(&s, &incs);
    assert_eq!(incs[0].actions, vec![Action::FacilitiesCooling]);
}

#[test]
fn unannounced_cdu_fault_is_inferred_from_half_its_gpus_hot() {
    let mut alerts = Vec::new();
    for n in ["n1", "n2", "n3", "n4"] {
        for g in 0..5 {
            let gpu = format!("gpu-{n}-{g}");
            alerts.push(alert(
                &format!("hot-{gpu}"),
                "GpuThermal",
                Some(&gpu),
                T0 + g * 20 * S,
                &[],
            ));
        }
    }
    let incs = Engine::with_defaults(hall())
        .unwrap()
        .ingest_all(alerts, NOW);
    assert_eq!(ids(&incs), vec![("cdu_fault:cdu1@1800000000000", 20)]);
    assert_eq!(incs[0].root_cause.belief, Belief::Inferred);
}

#[test]
fn ecc_chain_is_one_incident_with_rma() {
    let s = ecc_chain();
    let incs = run(&s);
    check_exact(&s, &incs);
    let inc = &incs[0];
    assert_eq!(inc.root_cause.belief, Belief::Pattern);
    assert!(inc.actions.contains(&Action::Rma), "{:?}", inc.actions);
    assert!(inc.root_cause.evidence[0]
        .detail
        .contains("ecc_sbe → ecc_dbe → row_remap_failed"));
}

#[test]
fn ecc_sbe_alone_is_its_own_small_incident() {
    let alerts = ecc_chain_alerts("gpu-n4-5", T0);
    let incs = Engine::with_defaults(hall())
        .unwrap()
        .ingest_all(alerts[..1].to_vec(), NOW);
    assert_eq!(ids(&incs), vec![("alert:sbe-gpu-n4-5", 1)]);
    assert_eq!(incs[0].root_cause.belief, Belief::Alone);
    assert_eq!(incs[0].actions, vec![Action::Observe]);
}

#[test]
fn overlapping_faults_stay_separate() {
    let s = overlapping();
    check_exact(&s, &run(&s));
}

#[test]
fn neighbouring_feeds_in_one_rack_stay_separate() {
    let s = neighbouring_pdus();
    let incs = run(&s);
    check_exact(&s, &incs);
    assert!(incs.iter().all(|i| i.root_cause.belief == Belief::Inferred));
}

#[test]
fn switch_and_unrelated_gpu_stay_separate() {
    let s = switch_and_unrelated_gpu();
    check_exact(&s, &run(&s));
}

#[test]
fn noise_becomes_small_incidents_rooted_at_their_own_assets() {
    let s = noise();
    let incs = run(&s);
    check_exact(&s, &incs);
    let xid13 = holding(&incs, "noise-xid13");
    assert_eq!(xid13.root_cause.fault, "xid:13");
    // XID 13's bucket is RESTART_APP.
    assert_eq!(xid13.actions, vec![Action::RestartApplication]);
}

#[test]
fn an_unresolved_alert_is_kept_with_no_root_asset() {
    let a = alert("lost", "SomethingOdd", None, T0, &[]);
    let incs = Engine::with_defaults(hall()).unwrap().ingest_all([a], NOW);
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].root_cause.asset_id, None);
    assert!(incs[0].root_cause.confidence < 0.5);
}

#[test]
fn a_node_down_alone_is_rooted_at_the_node_with_its_parts() {
    let alerts = vec![
        alert("d", "NodeDown", Some("n3"), T0, &[]),
        alert("b", "BmcUnreachable", Some("bmc-n3"), T0 + 5 * S, &[]),
        alert(
            "t",
            "GpuTelemetryMissing",
            Some("gpu-n3-0"),
            T0 + 30 * S,
            &[],
        ),
    ];
    let incs = Engine::with_defaults(hall())
        .unwrap()
        .ingest_all(alerts, NOW);
    assert_eq!(ids(&incs), vec![("node_down:n3@1800000000000", 3)]);
}

#[test]
fn the_same_storm_shuffled_and_compressed_gives_the_same_incidents() {
    // Several faults at once, alerts delivered in a shuffled order, all "arriving" in the same
    // instant: the incidents depend on startsAt only.
    let mut storm = overlapping().alerts;
    storm.extend(ecc_chain().alerts);
    storm.extend(
        noise()
            .alerts
            .into_iter()
            .filter(|a| a.fingerprint != "noise-down"),
    );
    storm.extend(cdu_fault().alerts);
    let reference = run(&Scenario {
        name: "storm",
        alerts: storm.clone(),
        truth: Vec::new(),
    });
    for seed in [1, 7, 42, 1234] {
        let mut e = Engine::with_defaults(hall()).unwrap();
        for a in shuffled(storm.clone(), seed) {
            e.ingest(a, T0);
        }
        assert_eq!(e.incidents(NOW), reference, "seed {seed}");
    }
    let batch = correlate(
        hall(),
        RuleSet::default_rules().unwrap(),
        XidCatalog::builtin(),
        shuffled(storm, 99),
        NOW,
    );
    assert_eq!(batch, reference);
}

#[test]
fn resolution_marks_the_incident_resolved() {
    let s = gpu_off_bus();
    let mut e = Engine::with_defaults(hall()).unwrap();
    for a in &s.alerts {
        e.ingest(a.clone(), a.starts_at);
    }
    let mut last = Vec::new();
    for a in &s.alerts {
        let mut r = a.clone();
        r.ends_at = Some(T0 + 600 * S);
        last = e.ingest(r, T0 + 600 * S);
    }
    assert!(matches!(&last[..], [IncidentChange::Updated { incident }] if incident.resolved));
}

#[test]
fn priority_ranks_the_bigger_blast_radius_first_and_grows_with_age() {
    let s = overlapping();
    let incs = run(&s);
    assert_eq!(incs[0].id, "pdu_feed_lost:a1@1800000000000");
    let mut e = Engine::with_defaults(hall()).unwrap();
    e.ingest_all(s.alerts.clone(), T0);
    let early = e
        .incident("pdu_feed_lost:a1@1800000000000", T0 + 60 * S)
        .unwrap()
        .priority;
    let late = e
        .incident("pdu_feed_lost:a1@1800000000000", T0 + 3600 * S)
        .unwrap()
        .priority;
    assert!(late > early);
}

#[test]
fn scores_reach_the_targets_across_all_scenarios() {
    let mut scores = Vec::new();
    for s in all() {
        let incs = run(&s);
        let sc = score(&incs, &s.truth);
        println!(
            "{:<28} true {:>2} exact {:.2} precision {:.2} recall {:.2} root {:.2}",
            s.name,
            sc.true_incidents,
            sc.exact_incident_rate,
            sc.pairwise_precision,
            sc.pairwise_recall,
            sc.root_cause_accuracy
        );
        scores.push(sc);
    }
    let all = combine(&scores);
    println!(
        "all: true {} exact {:.3} precision {:.3} recall {:.3} root {:.3} misses {:?}",
        all.true_incidents,
        all.exact_incident_rate,
        all.pairwise_precision,
        all.pairwise_recall,
        all.root_cause_accuracy,
        all.misses
    );
    assert!(all.exact_incident_rate >= 0.95, "{all:#?}");
    assert!(all.root_cause_accuracy >= 0.95, "{all:#?}");
}

#[test]
fn prune_forgets_ended_alerts_and_closes_their_incidents() {
    let mut e = Engine::with_defaults(hall()).unwrap();
    let mut storm = pdu_feed_announced().alerts;
    storm.extend(ecc_chain_alerts("gpu-n4-5", T0));
    e.ingest_all(storm.clone(), T0);
    // The feed's alerts end; the ECC chain stays open.
    for a in storm.iter().filter(|a| !a.fingerprint.contains("gpu-n4-5")) {
        let mut r = a.clone();
        r.ends_at = Some(T0 + 900 * S);
        e.ingest(r, T0 + 900 * S);
    }
    assert!(
        e.incident("pdu_feed_lost:a1@1800000000000", T0 + 900 * S)
            .unwrap()
            .resolved
    );
    let changes = e.prune(T0 + 1000 * S, T0 + 4000 * S);
    assert_eq!(
        changes,
        vec![IncidentChange::Closed {
            id: "pdu_feed_lost:a1@1800000000000".into(),
            merged_into: None
        }]
    );
    assert_eq!(e.alert_count(), 3);
    assert_eq!(
        ids(&e.incidents(NOW)),
        vec![("gpu_memory_ecc:gpu-n4-5@1800000000000", 3)]
    );
    // The same feed failing again later is a new incident under the same id.
    let again = pdu_feed_announced()
        .alerts
        .into_iter()
        .map(|mut a| {
            a.starts_at += 86_400 * S;
            a
        })
        .collect::<Vec<_>>();
    let incs = e.ingest_all(again, T0 + 86_400 * S);
    assert!(incs
        .iter()
        .any(|i| i.id == "pdu_feed_lost:a1@1800086400000" && i.members.len() == 21));
}

#[test]
fn unannounced_switch_is_inferred_from_links_down_on_its_nics() {
    let alerts: Vec<_> = ["n1", "n2", "n3", "n4"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            alert(
                &format!("link-{n}"),
                "NicLinkDown",
                Some(&format!("nic-{n}")),
                T0 + i as i64 * 5 * S,
                &[],
            )
        })
        .collect();
    let incs = Engine::with_defaults(hall())
        .unwrap()
        .ingest_all(alerts, NOW);
    assert_eq!(ids(&incs), vec![("switch_down:sw1@1800000000000", 4)]);
    assert_eq!(incs[0].root_cause.belief, Belief::Inferred);
    assert_eq!(incs[0].affected.nodes, vec!["n1", "n2", "n3", "n4"]);
}

#[test]
fn inferred_faults_are_the_same_whatever_the_arrival_order() {
    // Everything here must be inferred or pieced together, the hardest case for order.
    let mut storm = neighbouring_pdus().alerts;
    storm.extend(switch_and_unrelated_gpu().alerts);
    for n in ["n1", "n2", "n3", "n4"] {
        for g in 0..5 {
            let gpu = format!("gpu-{n}-{g}");
            storm.push(alert(
                &format!("hot-{gpu}"),
                "GpuThermal",
                Some(&gpu),
                T0 + g * 20 * S,
                &[],
            ));
        }
    }
    storm.extend(ecc_chain_alerts("gpu-n4-5", T0 - 7200 * S));
    // Alerts long before: the same node's earlier, unrelated failure.
    storm.push(alert(
        "old-down-n1",
        "NodeDown",
        Some("n1"),
        T0 - 86_400 * S,
        &[],
    ));
    let reference = run(&Scenario {
        name: "inferred storm",
        alerts: storm.clone(),
        truth: Vec::new(),
    });
    let ids_ref: Vec<&str> = reference.iter().map(|i| i.id.as_str()).collect();
    for want in [
        "pdu_feed_lost:a1@1800000000000",
        "pdu_feed_lost:b1@1800000020000",
        "cdu_fault:cdu1@1800000000000",
        "switch_down:sw2@1800000000000",
        "node_down:n1@1799913600000",
    ] {
        assert!(ids_ref.contains(&want), "{want} missing from {ids_ref:?}");
    }
    assert_eq!(
        holding(&reference, "old-down-n1").id,
        "node_down:n1@1799913600000",
        "a day-old node-down is not part of today's feed loss"
    );
    for seed in [3, 5, 11, 2024, 65_537] {
        let mut e = Engine::with_defaults(hall()).unwrap();
        for a in shuffled(storm.clone(), seed) {
            e.ingest(a, T0);
        }
        assert_eq!(e.incidents(NOW), reference, "seed {seed}");
    }
}

#[test]
fn the_same_fault_again_a_day_later_is_a_second_incident() {
    let day = 86_400 * S;
    let mut alerts = Vec::new();
    for (k, at) in [(0, T0), (1, T0 + day)] {
        alerts.push(alert(&format!("d{k}"), "NodeDown", Some("n3"), at, &[]));
        alerts.push(alert(
            &format!("b{k}"),
            "BmcUnreachable",
            Some("bmc-n3"),
            at + 5 * S,
            &[],
        ));
        alerts.push(alert(
            &format!("t{k}"),
            "GpuTelemetryMissing",
            Some("gpu-n3-1"),
            at + 30 * S,
            &[],
        ));
    }
    for seed in [0, 1, 2] {
        let mut e = Engine::with_defaults(hall()).unwrap();
        for a in shuffled(alerts.clone(), seed) {
            e.ingest(a, T0 + 2 * day);
        }
        let incs = e.incidents(T0 + 2 * day);
        let mut got: Vec<(String, Vec<String>)> =
            incs.into_iter().map(|i| (i.id, i.members)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (
                    format!("node_down:n3@{T0}"),
                    vec!["b0".into(), "d0".into(), "t0".into()]
                ),
                (
                    format!("node_down:n3@{}", T0 + day),
                    vec!["b1".into(), "d1".into(), "t1".into()]
                ),
            ],
            "seed {seed}"
        );
    }
}

/// The hall with these PDUs watched by gpufleet (polled over Redfish).
fn hall_with_monitored(pdus: &[&str]) -> fleet_correlate::Graph {
    let mut g = hall();
    for id in pdus {
        let mut a = g.asset(id).unwrap().clone();
        a.monitored = true;
        g.add_asset(a);
    }
    g
}

/// A leaf switch that carries the nodes' BMCs too: the switch goes silent, then every BMC
/// under it.
fn leaf_takes_the_bmcs() -> Vec<fleet_correlate::Alert> {
    let mut alerts = vec![alert("sw1-down", "SwitchDown", Some("sw1"), T0, &[])];
    for (i, n) in ["n1", "n2", "n3", "n4"].iter().enumerate() {
        // On the BMC asset, as gpufleet resolves a BmcUnreachable with a node label.
        alerts.push(alert(
            &format!("bmc-{n}"),
            "BmcUnreachable",
            Some(&format!("bmc-{n}")),
            T0 + (3 + i as i64) * S,
            &[],
        ));
        // Two minutes later, the node's GPUs fall silent too.
        alerts.push(alert(
            &format!("tel-{n}"),
            "GpuTelemetryMissing",
            Some(&format!("gpu-{n}-0")),
            T0 + (120 + i as i64) * S,
            &[],
        ));
    }
    alerts
}

#[test]
fn a_dark_leaf_looks_like_dark_feeds_when_no_pdu_can_speak() {
    // Every node of each feed lost its BMC within seconds and nobody watches the PDUs: the
    // feeds are inferred (the engine cannot tell), which is why PDUs should be polled.
    let incs = Engine::with_defaults(hall())
        .unwrap()
        .ingest_all(leaf_takes_the_bmcs(), NOW);
    let roots: BTreeSet<_> = incs
        .iter()
        .map(|i| i.root_cause.asset_id.clone().unwrap_or_default())
        .collect();
    assert!(roots.contains("a1") && roots.contains("b1"), "{roots:?}");
}

#[test]
fn pdus_that_still_answer_leave_the_dark_rack_to_its_leaf() {
    let alerts = leaf_takes_the_bmcs();
    let incs = Engine::with_defaults(hall_with_monitored(&["pdu-a", "pdu-b"]))
        .unwrap()
        .ingest_all(alerts.clone(), NOW);
    let s = Scenario {
        name: "leaf down, BMCs behind it, PDUs answering",
        truth: vec![truth("sw1", Some("switch_failed"), &alerts)],
        alerts,
    };
    check_exact(&s, &incs);
    assert_eq!(incs[0].root_cause.belief, Belief::Announced);
}

#[test]
fn a_polled_pdu_that_went_silent_with_its_nodes_confirms_the_dark_feed() {
    let mut alerts = dark("a1", &["n1", "n2"], T0);
    // The PDU's controller stopped answering a few seconds after the nodes went dark.
    alerts.push(alert(
        "pdu-a-silent",
        "PduUnreachable",
        Some("pdu-a"),
        T0 + 8 * S,
        &[],
    ));
    let incs = Engine::with_defaults(hall_with_monitored(&["pdu-a"]))
        .unwrap()
        .ingest_all(alerts.clone(), NOW);
    let s = Scenario {
        name: "feed dark, polled PDU silent",
        truth: vec![truth("a1", Some("power_feed_lost"), &alerts)],
        alerts,
    };
    check_exact(&s, &incs);
    let rc = &incs[0].root_cause;
    assert_eq!(rc.belief, Belief::Inferred);
    assert!(
        rc.evidence
            .iter()
            .any(|e| e.code == "inferred" && e.detail.contains("stopped answering")),
        "{:?}",
        rc.evidence
    );
    // Without the PDU's silence the same node alerts are not blamed on its feed.
    let incs = Engine::with_defaults(hall_with_monitored(&["pdu-a"]))
        .unwrap()
        .ingest_all(dark("a1", &["n1", "n2"], T0), NOW);
    assert!(
        incs.iter()
            .all(|i| i.root_cause.asset_id.as_deref() != Some("a1")),
        "{:#?}",
        ids(&incs)
    );
    // A silence long after the nodes went dark confirms nothing.
    let mut late = dark("a1", &["n1", "n2"], T0);
    late.push(alert(
        "pdu-a-silent",
        "PduUnreachable",
        Some("pdu-a"),
        T0 + 3600 * S,
        &[],
    ));
    let incs = Engine::with_defaults(hall_with_monitored(&["pdu-a"]))
        .unwrap()
        .ingest_all(late, NOW);
    assert!(incs
        .iter()
        .all(|i| i.root_cause.asset_id.as_deref() != Some("a1")));
}
