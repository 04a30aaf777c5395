//! The scoring module on hand-made cases, including wrong ones.

use std::collections::BTreeSet;

use fleet_correlate::score::{combine, score};
use fleet_correlate::{Affected, Belief, Incident, RootCause, Severity, TrueIncident};

fn inc(id: &str, root: &str, fault: &str, members: &[&str]) -> Incident {
    Incident {
        id: id.into(),
        rule: None,
        root_cause: RootCause {
            asset_id: Some(root.into()),
            asset_name: None,
            kind: None,
            fault: fault.into(),
            belief: Belief::Announced,
            confidence: 1.0,
            evidence: Vec::new(),
        },
        members: members.iter().map(|s| s.to_string()).collect(),
        affected: Affected::default(),
        severity: Severity::Critical,
        started_at: 0,
        last_alert_at: 0,
        resolved: false,
        blast_radius: 0,
        priority: 1.0,
        actions: Vec::new(),
    }
}

fn truth(root: &str, fault: Option<&str>, members: &[&str]) -> TrueIncident {
    TrueIncident {
        root_asset: root.into(),
        fault: fault.map(String::from),
        members: members
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
    }
}

#[test]
fn perfect_grouping_scores_one() {
    let t = vec![
        truth("a", Some("f"), &["1", "2", "3"]),
        truth("b", None, &["4"]),
    ];
    let p = vec![
        inc("x", "a", "f", &["1", "2", "3"]),
        inc("y", "b", "g", &["4", "unknown"]),
    ];
    let s = score(&p, &t);
    assert_eq!((s.exact, s.root_cause_correct), (2, 2));
    assert_eq!((s.pairwise_precision, s.pairwise_recall), (1.0, 1.0));
    assert!(s.misses.is_empty());
}

#[test]
fn split_and_merged_incidents_are_counted() {
    let t = vec![
        truth("a", None, &["1", "2", "3", "4"]),
        truth("b", None, &["5"]),
    ];
    let p = vec![
        inc("p1", "a", "f", &["1", "2"]),
        inc("p2", "c", "f", &["3", "4", "5"]),
    ];
    let s = score(&p, &t);
    assert_eq!(s.exact, 0);
    assert_eq!(s.exact_incident_rate, 0.0);
    assert_eq!(s.pairwise_precision, 0.5); // 2 of the 4 produced pairs are true
    assert!((s.pairwise_recall - 2.0 / 6.0).abs() < 1e-9); // 2 of the 6 true pairs found
    assert_eq!(s.root_cause_correct, 1); // a's best incident (p1) names a; b's (p2) names c
    assert_eq!(s.misses.len(), 2);
}

#[test]
fn a_wrong_fault_is_a_wrong_root_cause() {
    let t = vec![truth("a", Some("power_feed_lost"), &["1", "2"])];
    let p = vec![inc("p", "a", "node_down", &["1", "2"])];
    let s = score(&p, &t);
    assert_eq!((s.exact, s.root_cause_correct), (1, 0));
    let c = combine(&[s.clone(), s]);
    assert_eq!((c.true_incidents, c.exact, c.root_cause_correct), (2, 2, 0));
}
