//! Causal rules as data: a YAML document parsed and checked once, at start.
//!
//! See `docs/CORRELATION.md` and `default_rules.yaml` for the format. Errors name the rule (by
//! position and name) and the field; YAML syntax errors and unknown fields name the line.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::alert::{AlertKind, KindPattern};
use crate::error::CorrelateError;
use crate::graph::{AssetKind, Path, Relation, Step};

/// The default rules, as text.
pub const DEFAULT_RULES: &str = include_str!("default_rules.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc {
    #[serde(default)]
    version: Option<u32>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    root: String,
    fault: String,
    #[serde(default)]
    priority: Option<i32>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    window: Option<RawWindow>,
    #[serde(default)]
    trigger: Vec<String>,
    #[serde(default)]
    sequence: Vec<Vec<String>>,
    #[serde(default)]
    min_steps: Option<usize>,
    #[serde(default)]
    infer: Option<RawInfer>,
    #[serde(default)]
    explains: Vec<RawExplain>,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    xid_actions: bool,
    #[serde(default)]
    escalate: Vec<RawEscalate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default)]
    before_s: Option<i64>,
    #[serde(default)]
    after_s: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfer {
    population: String,
    of: String,
    alerts: Vec<String>,
    #[serde(default)]
    within_s: Option<i64>,
    #[serde(default)]
    min_fraction: Option<f64>,
    #[serde(default)]
    min_count: Option<usize>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    confirm: Option<RawConfirm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfirm {
    path: String,
    alerts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExplain {
    path: String,
    alerts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscalate {
    when: Vec<String>,
    actions: Vec<String>,
}

/// What a fault explains: alerts of these kinds on the assets at `path` from the root.
#[derive(Debug, Clone, Serialize)]
pub struct Explain {
    pub path: Path,
    /// `path` walked backwards: from an alert's asset to the candidate roots.
    #[serde(skip)]
    pub back: Path,
    pub alerts: Vec<KindPattern>,
}

/// When a fault nobody announced is believed anyway.
#[derive(Debug, Clone, Serialize)]
pub struct Infer {
    /// The assets that must go dark (`^powered_by`: the nodes on the feed).
    pub population: Path,
    #[serde(skip)]
    pub back: Path,
    /// The kind of asset counted: each asset the path reaches counts as its enclosing asset of
    /// this kind (a NIC as its node), and an alert on a part counts for it too.
    pub of: AssetKind,
    pub alerts: Vec<KindPattern>,
    /// All within this long of each other (event time).
    pub within_ms: i64,
    /// This share of the population at least …
    pub min_fraction: f64,
    /// … and this many assets at least.
    pub min_count: usize,
    pub confidence: f64,
    /// When the root can speak for itself, its silence must confirm the inference.
    pub confirm: Option<Confirm>,
}

/// The confirmation a monitored root owes an inference: when an asset at `path` from the root
/// is [monitored](crate::graph::Asset::monitored) (gpufleet polls it), the inference is believed
/// only with an alert of one of these kinds on such an asset within `within_s` of the
/// inference's first hit. A PDU that still answers refutes "every node on it went dark
/// because it lost power"; one nobody watches is inferred as before.
#[derive(Debug, Clone, Serialize)]
pub struct Confirm {
    pub path: Path,
    /// `path` walked backwards: from the alert's asset to the candidate roots.
    #[serde(skip)]
    pub back: Path,
    pub alerts: Vec<KindPattern>,
}

/// One causal rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub name: String,
    pub root: AssetKind,
    pub fault: String,
    /// Lower wins when several believed faults explain one alert.
    pub priority: i32,
    pub confidence: f64,
    /// Alerts are explained when they start from `before_ms` before to `after_ms` after the
    /// fault's anchor (its earliest trigger, first sequence alert, or first inferred alert).
    pub before_ms: i64,
    pub after_ms: i64,
    /// Alerts on the root asset that announce the fault.
    pub trigger: Vec<KindPattern>,
    /// A pattern of alerts on the root asset, in event-time order; `min_steps` of them believe it.
    pub sequence: Vec<Vec<KindPattern>>,
    pub min_steps: usize,
    pub infer: Option<Infer>,
    pub explains: Vec<Explain>,
    pub actions: Vec<Action>,
    /// Add the resolution-bucket actions of the XIDs that triggered the rule.
    pub xid_actions: bool,
    /// Extra actions when a member alert matches.
    pub escalate: Vec<(Vec<KindPattern>, Vec<Action>)>,
}

impl Rule {
    pub fn is_trigger(&self, kind: &AlertKind) -> bool {
        self.trigger.iter().any(|p| p.matches(kind))
    }

    /// The sequence step (0-based) this kind belongs to, if any.
    pub fn sequence_step(&self, kind: &AlertKind) -> Option<usize> {
        self.sequence
            .iter()
            .position(|step| step.iter().any(|p| p.matches(kind)))
    }

    /// Whether an alert of this kind confirms the rule's inference (`infer.confirm`).
    pub fn confirms_from(&self, kind: &AlertKind) -> bool {
        self.infer
            .as_ref()
            .and_then(|i| i.confirm.as_ref())
            .is_some_and(|c| c.alerts.iter().any(|p| p.matches(kind)))
    }

    pub fn infers_from(&self, kind: &AlertKind) -> bool {
        self.infer
            .as_ref()
            .is_some_and(|i| i.alerts.iter().any(|p| p.matches(kind)))
    }
}

/// The checked rules, in document order.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in default rules.
    pub fn default_rules() -> Result<RuleSet, CorrelateError> {
        RuleSet::parse(DEFAULT_RULES)
    }

    /// Parses and checks a rules document.
    pub fn parse(text: &str) -> Result<RuleSet, CorrelateError> {
        let doc: RawDoc =
            serde_yaml::from_str(text).map_err(|e| CorrelateError::RulesSyntax(e.to_string()))?;
        if let Some(v) = doc.version {
            if v != 1 {
                return Err(CorrelateError::RulesSyntax(format!(
                    "version {v} is not supported (this engine reads version 1)"
                )));
            }
        }
        let mut names = BTreeSet::new();
        let mut rules = Vec::with_capacity(doc.rules.len());
        for (i, raw) in doc.rules.into_iter().enumerate() {
            let index = i + 1;
            if !names.insert(raw.name.clone()) {
                return Err(CorrelateError::Rule {
                    index,
                    rule: raw.name,
                    field: "name".into(),
                    reason: "another rule has this name".into(),
                });
            }
            rules.push(compile(index, raw)?);
        }
        Ok(RuleSet { rules })
    }
}

fn compile(index: usize, raw: RawRule) -> Result<Rule, CorrelateError> {
    let name = raw.name.clone();
    let err = |field: &str, reason: String| CorrelateError::Rule {
        index,
        rule: name.clone(),
        field: field.to_string(),
        reason,
    };
    let kinds = |field: &str, list: &[String]| -> Result<Vec<KindPattern>, CorrelateError> {
        list.iter()
            .enumerate()
            .map(|(j, s)| {
                s.parse::<KindPattern>()
                    .map_err(|e| err(&format!("{field}[{j}]"), e.to_string()))
            })
            .collect()
    };
    let actions = |field: &str, list: &[String]| -> Result<Vec<Action>, CorrelateError> {
        list.iter()
            .enumerate()
            .map(|(j, s)| {
                s.parse::<Action>()
                    .map_err(|e| err(&format!("{field}[{j}]"), e.to_string()))
            })
            .collect()
    };
    let path = |field: &str, s: &str| s.parse::<Path>().map_err(|e| err(field, e.to_string()));
    let unit = |field: &str, v: f64| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(err(field, format!("{v} is outside 0..1")))
        }
    };
    let seconds = |field: &str, v: i64| {
        if v >= 0 {
            Ok(v.saturating_mul(1000))
        } else {
            Err(err(field, format!("{v} is negative")))
        }
    };

    if raw.name.trim().is_empty() {
        return Err(err("name", "is empty".into()));
    }
    let root = raw
        .root
        .parse::<AssetKind>()
        .map_err(|e| err("root", e.to_string()))?;
    if raw.fault.trim().is_empty() {
        return Err(err("fault", "is empty".into()));
    }
    let confidence = unit("confidence", raw.confidence.unwrap_or(0.9))?;
    let window = raw.window.unwrap_or(RawWindow {
        before_s: None,
        after_s: None,
    });
    let before_ms = seconds("window.before_s", window.before_s.unwrap_or(120))?;
    let after_ms = seconds("window.after_s", window.after_s.unwrap_or(1800))?;
    let trigger = kinds("trigger", &raw.trigger)?;
    let mut sequence = Vec::with_capacity(raw.sequence.len());
    for (j, step) in raw.sequence.iter().enumerate() {
        if step.is_empty() {
            return Err(err(
                &format!("sequence[{j}]"),
                "a step needs at least one alert kind".into(),
            ));
        }
        sequence.push(kinds(&format!("sequence[{j}]"), step)?);
    }
    let min_steps = raw.min_steps.unwrap_or(2);
    if !sequence.is_empty() && (min_steps == 0 || min_steps > sequence.len()) {
        return Err(err(
            "min_steps",
            format!(
                "{min_steps} must be between 1 and the sequence's {} steps",
                sequence.len()
            ),
        ));
    }
    let infer = match raw.infer {
        None => None,
        Some(ri) => {
            let population = path("infer.population", &ri.population)?;
            let of = ri
                .of
                .parse::<AssetKind>()
                .map_err(|e| err("infer.of", e.to_string()))?;
            let alerts = kinds("infer.alerts", &ri.alerts)?;
            if alerts.is_empty() {
                return Err(err("infer.alerts", "needs at least one alert kind".into()));
            }
            let min_fraction = unit("infer.min_fraction", ri.min_fraction.unwrap_or(1.0))?;
            if min_fraction == 0.0 {
                return Err(err("infer.min_fraction", "must be above 0".into()));
            }
            // From a counted asset back to the root: first down into its parts (the path
            // may end at a NIC inside the node that is counted), then the path reversed.
            let mut back = Path {
                steps: vec![Step {
                    relation: Relation::Contains,
                    reverse: false,
                    repeat: true,
                }],
            };
            back.steps.extend(population.reversed().steps);
            let confirm = match ri.confirm {
                None => None,
                Some(c) => {
                    let p = path("infer.confirm.path", &c.path)?;
                    let alerts = kinds("infer.confirm.alerts", &c.alerts)?;
                    if alerts.is_empty() {
                        return Err(err(
                            "infer.confirm.alerts",
                            "needs at least one alert kind".into(),
                        ));
                    }
                    Some(Confirm {
                        back: p.reversed(),
                        path: p,
                        alerts,
                    })
                }
            };
            Some(Infer {
                confirm,
                back,
                population,
                of,
                alerts,
                within_ms: seconds("infer.within_s", ri.within_s.unwrap_or(120))?,
                min_fraction,
                min_count: ri.min_count.unwrap_or(2).max(1),
                confidence: unit("infer.confidence", ri.confidence.unwrap_or(0.7))?,
            })
        }
    };
    if trigger.is_empty() && sequence.is_empty() && infer.is_none() {
        return Err(err(
            "trigger",
            "the rule can never be believed: give `trigger`, `sequence` or `infer`".into(),
        ));
    }
    let mut explains = Vec::with_capacity(raw.explains.len());
    for (j, e) in raw.explains.iter().enumerate() {
        let p = path(&format!("explains[{j}].path"), &e.path)?;
        let alerts = kinds(&format!("explains[{j}].alerts"), &e.alerts)?;
        if alerts.is_empty() {
            return Err(err(
                &format!("explains[{j}].alerts"),
                "needs at least one alert kind".into(),
            ));
        }
        explains.push(Explain {
            back: p.reversed(),
            path: p,
            alerts,
        });
    }
    let mut escalate = Vec::new();
    for (j, e) in raw.escalate.iter().enumerate() {
        escalate.push((
            kinds(&format!("escalate[{j}].when"), &e.when)?,
            actions(&format!("escalate[{j}].actions"), &e.actions)?,
        ));
    }
    Ok(Rule {
        name: raw.name,
        root,
        fault: raw.fault,
        priority: raw.priority.unwrap_or(100),
        confidence,
        before_ms,
        after_ms,
        trigger,
        sequence,
        min_steps,
        infer,
        explains,
        actions: actions("actions", &raw.actions)?,
        xid_actions: raw.xid_actions,
        escalate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_parse() {
        let r = RuleSet::default_rules().unwrap();
        assert!(r
            .rules
            .iter()
            .any(|r| r.name == "pdu_feed_lost" && r.infer.is_some()));
        let ecc = r.rules.iter().find(|r| r.name == "gpu_memory_ecc").unwrap();
        assert_eq!(ecc.sequence_step(&AlertKind::EccDbe), Some(1));
    }

    #[test]
    fn errors_name_the_rule_field_and_line() {
        let e = RuleSet::parse("rules:\n  - name: a\n    root: outlet\n    fault: f\n    trigger: [pdu_feed_lost]\n    explains:\n      - path: \"^powerd_by\"\n        alerts: [node_down]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rule 1 ('a')") && e.contains("explains[0].path") && e.contains("powerd_by"),
            "{e}"
        );
        let e = RuleSet::parse(
            "rules:\n  - name: a\n    root: outlet\n    fault: f\n    trigerr: [x]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("trigerr") && e.contains("line 5"), "{e}");
        let e = RuleSet::parse(
            "rules:\n  - name: a\n    root: outlt\n    fault: f\n    trigger: [node_down]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("field root") && e.contains("outlt"), "{e}");
        let e = RuleSet::parse("rules:\n  - name: a\n    root: node\n    fault: f\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("never be believed"), "{e}");
        let e = RuleSet::parse("rules:\n  - name: a\n    root: node\n    fault: f\n    confidence: 2\n    trigger: [node_down]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("confidence") && e.contains("outside"), "{e}");
        assert!(RuleSet::parse(": : :").is_err());
    }
}
