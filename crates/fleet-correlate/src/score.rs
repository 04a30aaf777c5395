//! Scoring produced incidents against ground truth (pure; the evaluation harness feeds it).
//!
//! - **exact-incident rate**: the share of true incidents for which one produced incident has
//!   exactly the same member alerts;
//! - **pairwise precision / recall**: over all pairs of alerts the truth knows, a pair is
//!   "together" when both alerts are in one incident; precision is the share of produced
//!   together-pairs that are truly together, recall the share of true together-pairs produced
//!   (1.0 when there is no pair to find);
//! - **root-cause accuracy**: the share of true incidents whose best-overlapping produced
//!   incident names the true root asset (and the true fault, when the truth gives one).
//!
//! Alerts the truth does not list are ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::graph::AssetId;
use crate::incident::Incident;

/// One true incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueIncident {
    /// The asset that failed.
    pub root_asset: AssetId,
    /// The fault, when the truth names it in the rules' terms (`power_feed_lost`).
    #[serde(default)]
    pub fault: Option<String>,
    pub members: BTreeSet<String>,
}

/// The scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub true_incidents: usize,
    pub produced_incidents: usize,
    pub exact: usize,
    pub exact_incident_rate: f64,
    pub pairwise_precision: f64,
    pub pairwise_recall: f64,
    pub root_cause_correct: usize,
    pub root_cause_accuracy: f64,
    /// For each true incident that missed: its root and what went wrong.
    pub misses: Vec<String>,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Scores `produced` against `truth`.
pub fn score(produced: &[Incident], truth: &[TrueIncident]) -> Score {
    // Which produced incident holds each alert the truth knows.
    let known: BTreeSet<&str> = truth
        .iter()
        .flat_map(|t| t.members.iter().map(String::as_str))
        .collect();
    let mut produced_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, inc) in produced.iter().enumerate() {
        for m in &inc.members {
            if known.contains(m.as_str()) {
                produced_of.insert(m.as_str(), i);
            }
        }
    }
    // Contingency table (true incident, produced incident) → alerts in both.
    let mut cells: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    let mut produced_sizes: BTreeMap<usize, u64> = BTreeMap::new();
    let mut true_pairs = 0;
    for (ti, t) in truth.iter().enumerate() {
        true_pairs += pairs(t.members.len() as u64);
        for m in &t.members {
            if let Some(&pi) = produced_of.get(m.as_str()) {
                *cells.entry((ti, pi)).or_insert(0) += 1;
                *produced_sizes.entry(pi).or_insert(0) += 1;
            }
        }
    }
    let together: u64 = cells.values().map(|&n| pairs(n)).sum();
    let produced_pairs: u64 = produced_sizes.values().map(|&n| pairs(n)).sum();

    let mut exact = 0;
    let mut root_ok = 0;
    let mut misses = Vec::new();
    for (ti, t) in truth.iter().enumerate() {
        // The produced incident holding most of this true incident's alerts (ties: lower index).
        let best = cells
            .range((ti, 0)..=(ti, usize::MAX))
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0 .1.cmp(&a.0 .1)))
            .map(|((_, pi), _)| *pi);
        let Some(pi) = best else {
            misses.push(format!(
                "{}: none of its alerts is in any incident",
                t.root_asset
            ));
            continue;
        };
        let inc = &produced[pi];
        let members: BTreeSet<&str> = inc
            .members
            .iter()
            .map(String::as_str)
            .filter(|m| known.contains(m))
            .collect();
        let want: BTreeSet<&str> = t.members.iter().map(String::as_str).collect();
        let is_exact = members == want;
        if is_exact {
            exact += 1;
        }
        let root_right = inc.root_cause.asset_id.as_deref() == Some(t.root_asset.as_str())
            && t.fault.as_ref().is_none_or(|f| *f == inc.root_cause.fault);
        if root_right {
            root_ok += 1;
        }
        if !is_exact || !root_right {
            misses.push(format!(
                "{}{}: best incident {} (root {} {}), {} of {} members{}",
                t.root_asset,
                t.fault
                    .as_ref()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default(),
                inc.id,
                inc.root_cause.asset_id.as_deref().unwrap_or("-"),
                inc.root_cause.fault,
                want.intersection(&members).count(),
                want.len(),
                if members.len() > want.intersection(&members).count() {
                    format!(
                        ", plus {} others",
                        members.len() - want.intersection(&members).count()
                    )
                } else {
                    String::new()
                }
            ));
        }
    }
    let n = truth.len() as u64;
    Score {
        true_incidents: truth.len(),
        produced_incidents: produced_sizes.len(),
        exact,
        exact_incident_rate: ratio(exact as u64, n),
        pairwise_precision: ratio(together, produced_pairs),
        pairwise_recall: ratio(together, true_pairs),
        root_cause_correct: root_ok,
        root_cause_accuracy: ratio(root_ok as u64, n),
        misses,
    }
}

/// Adds several scenario scores into one (counts summed, rates recomputed; pairwise rates are
/// the mean of the scenarios').
pub fn combine(scores: &[Score]) -> Score {
    let t: usize = scores.iter().map(|s| s.true_incidents).sum();
    let exact: usize = scores.iter().map(|s| s.exact).sum();
    let root: usize = scores.iter().map(|s| s.root_cause_correct).sum();
    let mean = |f: fn(&Score) -> f64| {
        if scores.is_empty() {
            1.0
        } else {
            scores.iter().map(f).sum::<f64>() / scores.len() as f64
        }
    };
    Score {
        true_incidents: t,
        produced_incidents: scores.iter().map(|s| s.produced_incidents).sum(),
        exact,
        exact_incident_rate: ratio(exact as u64, t as u64),
        pairwise_precision: mean(|s| s.pairwise_precision),
        pairwise_recall: mean(|s| s.pairwise_recall),
        root_cause_correct: root,
        root_cause_accuracy: ratio(root as u64, t as u64),
        misses: scores
            .iter()
            .flat_map(|s| s.misses.iter().cloned())
            .collect(),
    }
}
