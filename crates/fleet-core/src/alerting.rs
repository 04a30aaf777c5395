//! Alert rules: stored and versioned (a change or a deletion is a new version with its audit
//! row and event), evaluated on the telemetry stream — samples as they are ingested, health
//! changes as they are derived, absence and `for` durations on the telemetry tick — never by
//! polling the database.
//!
//! The effective rule set is the built-in rules ([`fleet_telemetry::rules::default_rules`],
//! from dcgm-exporter's fields and NVIDIA's XID catalog) overridden by stored rules of the same
//! name; a stored rule with `enabled: false` switches a rule off, and deleting a stored
//! override brings the built-in rule back. Every process reloads the set when the stored rules
//! change (its own changes at once, others' by the next tick).
//!
//! A rule alert that starts firing or stops is an `alert.raised` / `alert.resolved` event and
//! goes to the correlation as `system:alerting`, with the GPU's labels (`gpu`, `node`, `rack`,
//! `model`, `profile`) so that it resolves to its asset. Reloading the rules starts evaluation
//! afresh: alerts that were firing are resolved and fire again once their condition has held
//! for the rule's `for` duration.

use std::collections::BTreeMap;

use fleet_db::{AlertRuleRow, NewRuleVersion, OutboxEvent};
use fleet_model::event::types;
use fleet_model::rbac::Permission;
use fleet_model::timefmt::rfc3339;
use fleet_telemetry::health::HealthState;
use fleet_telemetry::rules::{
    self, ActiveAlert, AlertEvaluator, AlertTransition, Rule, TransitionKind,
};
use fleet_telemetry::Nanos;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::correlation::IncomingAlert;
use crate::error::{CoreError, CoreResult};
use crate::principal::{Principal, SystemRole};
use crate::Core;

/// A rule as a Prometheus rule file writes it (one entry of a group's `rules`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The expression: a field compared with a number (`DCGM_FI_DEV_GPU_TEMP > 85`), a rate or
    /// increase over a window, `absent_over_time(FIELD[2m])`, or `health == failed`; label
    /// matchers in braces scope it (`{rack="r1"}`).
    pub expr: String,
    /// How long the condition must hold before the alert fires (`5m`); none: at once.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels of the alert; `severity` is critical, warning (default) or info.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations; `{{ $labels.x }}` and `{{ $value }}` are filled in.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The group it belongs to (default `gpufleet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl RuleSpec {
    fn of(rule: &Rule) -> RuleSpec {
        RuleSpec {
            expr: rule.expr_text.clone(),
            for_: (rule.for_s > 0).then(|| format!("{}s", rule.for_s)),
            labels: rule.labels.clone(),
            annotations: rule.annotations.clone(),
            group: Some(rule.group.clone()),
        }
    }

    /// The document stored for a rule version.
    fn document(&self) -> CoreResult<serde_json::Value> {
        serde_json::to_value(self).map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// The rule, or what is wrong with it.
    pub fn compile(&self, name: &str) -> CoreResult<Rule> {
        rules::compile_rule(
            self.group.as_deref().unwrap_or("gpufleet"),
            name,
            &self.expr,
            self.for_.as_deref(),
            self.labels.clone(),
            self.annotations.clone(),
        )
        .map_err(|e| CoreError::Unprocessable(e.to_string()))
    }
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// Shipped with gpufleet, not changed here.
    Builtin,
    /// Stored through the API (possibly overriding a built-in rule of the same name).
    Stored,
}

/// One rule of the effective set.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub name: String,
    pub source: RuleSource,
    /// Whether a built-in rule of this name exists (a stored one then overrides it).
    pub builtin: bool,
    /// The stored version (0 for a built-in rule never changed here).
    pub version: i64,
    pub enabled: bool,
    pub spec: RuleSpec,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// Who stored the current version, and when (Unix ms); none for built-in rules.
    pub actor: Option<String>,
    pub updated_at_ms: Option<i64>,
    /// Pending and firing alerts of this rule in this process.
    pub active: Vec<ActiveAlert>,
}

/// A rule with its stored versions.
#[derive(Debug, Clone, Serialize)]
pub struct RuleDetail {
    pub rule: RuleView,
    pub versions: Vec<AlertRuleRow>,
}

/// The rule engine of this process.
pub(crate) struct RuleEngine {
    evaluator: Mutex<AlertEvaluator>,
    /// The stored rules' mark when the evaluator was built (None: never loaded).
    mark: Mutex<Option<(i64, i64)>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl Default for RuleEngine {
    fn default() -> Self {
        RuleEngine {
            evaluator: Mutex::new(AlertEvaluator::new(Vec::new())),
            mark: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
        }
    }
}

impl RuleEngine {
    pub(crate) fn observe(
        &self,
        series: &str,
        labels: &BTreeMap<String, String>,
        at: Nanos,
        values: &[(fleet_telemetry::fields::GpuField, f64)],
    ) -> Vec<AlertTransition> {
        self.evaluator.lock().observe(series, labels, at, values)
    }

    pub(crate) fn observe_health(
        &self,
        series: &str,
        labels: &BTreeMap<String, String>,
        at: Nanos,
        state: HealthState,
    ) -> Vec<AlertTransition> {
        self.evaluator
            .lock()
            .observe_health(series, labels, at, state)
    }

    /// Whether the rules were loaded once.
    pub(crate) fn loaded(&self) -> bool {
        self.mark.lock().is_some()
    }

    pub(crate) fn tick(&self, now: Nanos) -> Vec<AlertTransition> {
        self.evaluator.lock().tick(now)
    }
}

fn builtin_rules() -> Vec<Rule> {
    // The built-in rules are data compiled into the binary; a unit test parses them.
    rules::default_rules().unwrap_or_else(|e| {
        tracing::error!(error = %e, "built-in alert rules do not parse");
        Vec::new()
    })
}

fn severity_of(rule: &Rule) -> String {
    serde_json::to_value(rule.severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The effective rules: built-in ones overridden by the newest stored version of each name.
fn effective(stored: &[AlertRuleRow]) -> Vec<(RuleView, Option<Rule>)> {
    let builtin = builtin_rules();
    let mut out: BTreeMap<String, (RuleView, Option<Rule>)> = BTreeMap::new();
    for r in &builtin {
        out.insert(
            r.name.clone(),
            (
                RuleView {
                    name: r.name.clone(),
                    source: RuleSource::Builtin,
                    builtin: true,
                    version: 0,
                    enabled: true,
                    spec: RuleSpec::of(r),
                    severity: severity_of(r),
                    actor: None,
                    updated_at_ms: None,
                    active: vec![],
                },
                Some(r.clone()),
            ),
        );
    }
    for row in stored {
        if row.deleted != 0 {
            continue;
        }
        let spec: RuleSpec = match serde_json::from_str(&row.spec) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(rule = %row.name, error = %e, "stored alert rule unreadable; not evaluated");
                continue;
            }
        };
        // A stored rule this build cannot evaluate (an older release accepted it) is listed
        // as switched off, and the others go on.
        let rule = match spec.compile(&row.name) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(rule = %row.name, error = %e, "stored alert rule not evaluated");
                None
            }
        };
        let enabled = row.enabled != 0 && rule.is_some();
        let builtin = builtin.iter().any(|b| b.name == row.name);
        out.insert(
            row.name.clone(),
            (
                RuleView {
                    name: row.name.clone(),
                    source: RuleSource::Stored,
                    builtin,
                    version: row.version,
                    enabled,
                    severity: rule.as_ref().map(severity_of).unwrap_or_default(),
                    spec,
                    actor: Some(row.actor.clone()),
                    updated_at_ms: Some(row.created_at),
                    active: vec![],
                },
                rule.filter(|_| enabled),
            ),
        );
    }
    out.into_values().collect()
}

fn alert_event(t: &AlertTransition) -> OutboxEvent {
    OutboxEvent {
        ty: match t.kind {
            TransitionKind::Raised => types::ALERT_RAISED,
            TransitionKind::Resolved => types::ALERT_RESOLVED,
        },
        subject: t.series.clone(),
        data: serde_json::json!({
            "rule": t.rule,
            "series": t.series,
            "severity": t.severity,
            "labels": t.labels,
            "annotations": t.annotations,
            "value": t.value,
            "active_since": rfc3339(t.active_since / 1_000_000),
            "fired_at": t.fired_at.map(|f| rfc3339(f / 1_000_000)),
            "at": rfc3339(t.at / 1_000_000),
        }),
    }
}

impl Core {
    /// Loads the stored rules into this process's evaluator when they changed since the last
    /// load (`force`: always).
    pub(crate) async fn reload_alert_rules(&self, force: bool) -> CoreResult<()> {
        let engine = &self.telemetry.rules;
        let _one = engine.reloading.lock().await;
        let mark = self.store.alert_rules_mark().await?;
        if !force && *engine.mark.lock() == Some(mark) {
            return Ok(());
        }
        let stored = self.store.current_alert_rules().await?;
        let rules: Vec<Rule> = effective(&stored)
            .into_iter()
            .filter_map(|(_, r)| r)
            .collect();
        let n = rules.len();
        let mut old = std::mem::replace(&mut *engine.evaluator.lock(), AlertEvaluator::new(rules));
        *engine.mark.lock() = Some(mark);
        tracing::info!(rules = n, "alert rules loaded");
        // Evaluation starts afresh: what was firing is resolved now (and fires again once its
        // condition has held for the rule's `for`).
        let resolved = old.resolve_all(crate::now_nanos());
        self.send_rule_alerts(resolved).await;
        Ok(())
    }

    /// Records rule alerts that started or stopped firing (events) and sends them to the
    /// correlation. Failures are logged: the evaluator has moved on either way.
    pub(crate) async fn send_rule_alerts(&self, transitions: Vec<AlertTransition>) {
        if transitions.is_empty() {
            return;
        }
        let p = Principal::system(SystemRole::Alerting);
        let events: Vec<OutboxEvent> = transitions.iter().map(alert_event).collect();
        if let Err(e) = self.store.record_events(&p.actor(), None, &events).await {
            tracing::error!(error = %e, n = events.len(), "alert events not recorded");
        }
        let alerts: Vec<IncomingAlert> = transitions
            .into_iter()
            .map(|t| {
                let resolved = t.kind == TransitionKind::Resolved;
                IncomingAlert {
                    labels: t.labels,
                    annotations: t.annotations,
                    starts_at: Some(rfc3339(t.fired_at.unwrap_or(t.active_since) / 1_000_000)),
                    ends_at: resolved.then(|| rfc3339(t.at / 1_000_000)),
                    generator_url: None,
                    status: Some(if resolved { "resolved" } else { "firing" }.to_string()),
                }
            })
            .collect();
        for chunk in alerts.chunks(crate::correlation::MAX_BATCH) {
            if let Err(e) = self.ingest_alerts(&p, chunk.to_vec()).await {
                tracing::error!(error = %e, "rule alerts not correlated");
            }
        }
    }

    /// The effective rules with their pending and firing alerts in this process.
    pub async fn list_alert_rules(&self, p: &Principal) -> CoreResult<Vec<RuleView>> {
        p.require(Permission::InventoryRead, "read alert rules")?;
        let stored = self.store.current_alert_rules().await?;
        let active = self.telemetry.rules.evaluator.lock().active();
        Ok(effective(&stored)
            .into_iter()
            .map(|(mut v, _)| {
                v.active = active
                    .iter()
                    .filter(|a| a.rule == v.name)
                    .cloned()
                    .collect();
                v
            })
            .collect())
    }

    /// One rule (effective, or a deleted stored one) with its stored versions.
    pub async fn get_alert_rule(&self, p: &Principal, name: &str) -> CoreResult<RuleDetail> {
        let rules = self.list_alert_rules(p).await?;
        let versions = self.store.alert_rule_versions(name).await?;
        let rule = rules.into_iter().find(|r| r.name == name).ok_or_else(|| {
            CoreError::NotFound(if versions.is_empty() {
                format!("no alert rule '{name}'")
            } else {
                format!("alert rule '{name}' was deleted (its versions remain)")
            })
        })?;
        Ok(RuleDetail { rule, versions })
    }

    /// Stores a new version of rule `name` (a new rule, a change, or an override of a built-in
    /// one) after checking that it compiles; `if_version` makes it conditional (0: the rule
    /// must not be stored yet). Returns the rule and whether it was new.
    pub async fn put_alert_rule(
        &self,
        p: &Principal,
        name: &str,
        spec: RuleSpec,
        enabled: bool,
        if_version: Option<i64>,
        comment: Option<String>,
    ) -> CoreResult<(RuleDetail, bool)> {
        p.require(Permission::AlertWrite, "change alert rules")?;
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            return Err(CoreError::Invalid(format!(
                "alert rule name '{name}': give a name without spaces"
            )));
        }
        spec.compile(name)?;
        let doc = spec.document()?;
        let row = self
            .store
            .put_alert_rule(
                &p.actor(),
                NewRuleVersion {
                    name,
                    spec: &doc,
                    enabled,
                    deleted: false,
                    if_version,
                    comment,
                },
            )
            .await?;
        self.reload_alert_rules(true).await?;
        Ok((self.get_alert_rule(p, name).await?, row.version == 1))
    }

    /// Deletes the stored rule `name` (a built-in rule of that name applies again; to switch
    /// a built-in rule off, store it with `enabled: false`).
    pub async fn delete_alert_rule(
        &self,
        p: &Principal,
        name: &str,
        if_version: Option<i64>,
    ) -> CoreResult<()> {
        p.require(Permission::AlertWrite, "delete alert rules")?;
        let versions = self.store.alert_rule_versions(name).await?;
        let Some(last) = versions.last().filter(|r| r.deleted == 0) else {
            return Err(CoreError::NotFound(
                if builtin_rules().iter().any(|r| r.name == name) {
                    format!("alert rule '{name}' is built in and not stored: store it with enabled false to switch it off")
                } else {
                    format!("no stored alert rule '{name}'")
                },
            ));
        };
        let spec: serde_json::Value = serde_json::from_str(&last.spec)
            .map_err(|e| CoreError::Internal(format!("stored alert rule '{name}': {e}")))?;
        self.store
            .put_alert_rule(
                &p.actor(),
                NewRuleVersion {
                    name,
                    spec: &spec,
                    enabled: false,
                    deleted: true,
                    if_version,
                    comment: None,
                },
            )
            .await?;
        self.reload_alert_rules(true).await
    }

    /// Stores every alerting rule of a Prometheus rule file, after checking all of them:
    /// nothing is stored when one is refused. Returns the names stored.
    pub async fn import_alert_rules(
        &self,
        p: &Principal,
        yaml: &str,
        comment: Option<String>,
    ) -> CoreResult<Vec<String>> {
        p.require(Permission::AlertWrite, "import alert rules")?;
        let parsed =
            rules::parse_rule_file(yaml).map_err(|e| CoreError::Unprocessable(e.to_string()))?;
        if parsed.is_empty() {
            return Err(CoreError::Unprocessable(
                "the rule file holds no alerting rule".into(),
            ));
        }
        let mut names = Vec::with_capacity(parsed.len());
        for r in &parsed {
            let doc = RuleSpec::of(r).document()?;
            self.store
                .put_alert_rule(
                    &p.actor(),
                    NewRuleVersion {
                        name: &r.name,
                        spec: &doc,
                        enabled: true,
                        deleted: false,
                        if_version: None,
                        comment: comment.clone(),
                    },
                )
                .await?;
            names.push(r.name.clone());
        }
        self.reload_alert_rules(true).await?;
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, version: i64, spec: &str, enabled: bool, deleted: bool) -> AlertRuleRow {
        AlertRuleRow {
            id: format!("rule-{name}-{version}"),
            name: name.into(),
            version,
            spec: spec.into(),
            enabled: i64::from(enabled),
            deleted: i64::from(deleted),
            comment: None,
            actor: "tester".into(),
            created_at: 1,
        }
    }

    #[test]
    fn stored_rules_override_builtin_ones_and_a_bad_one_is_listed_off() {
        let builtin = builtin_rules();
        assert!(
            builtin.len() >= 10,
            "the built-in rules parse: {}",
            builtin.len()
        );
        let stored = vec![
            // Switches a built-in rule off.
            row(
                "GpuTemperatureHigh",
                1,
                r#"{"expr": "DCGM_FI_DEV_GPU_TEMP > 85"}"#,
                false,
                false,
            ),
            // Overrides one.
            row(
                "GpuMemoryTemperatureHigh",
                2,
                r#"{"expr": "DCGM_FI_DEV_MEMORY_TEMP > 90", "labels": {"severity": "critical"}}"#,
                true,
                false,
            ),
            // Cannot be evaluated by this build; unreadable; deleted.
            row(
                "Odd",
                1,
                r#"{"expr": "sum(DCGM_FI_DEV_GPU_TEMP) > 1"}"#,
                true,
                false,
            ),
            row("Broken", 1, "{not json", true, false),
            row(
                "Gone",
                3,
                r#"{"expr": "DCGM_FI_DEV_GPU_TEMP > 1"}"#,
                false,
                true,
            ),
        ];
        let eff = effective(&stored);
        let by = |n: &str| eff.iter().find(|(v, _)| v.name == n);
        let (t, rule) = by("GpuTemperatureHigh").unwrap();
        assert!(!t.enabled && rule.is_none() && t.builtin && t.source == RuleSource::Stored);
        let (m, rule) = by("GpuMemoryTemperatureHigh").unwrap();
        assert_eq!((m.version, m.severity.as_str()), (2, "critical"));
        assert_eq!(
            rule.as_ref().unwrap().expr_text,
            "DCGM_FI_DEV_MEMORY_TEMP > 90"
        );
        let (o, rule) = by("Odd").unwrap();
        assert!(
            !o.enabled && rule.is_none(),
            "a rule that does not compile is off"
        );
        assert!(by("Broken").is_none() && by("Gone").is_none());
        let (x, rule) = by("GpuXid79FallenOffBus").unwrap();
        assert!(x.enabled && rule.is_some() && x.source == RuleSource::Builtin && x.version == 0);
        let evaluated = eff.iter().filter(|(_, r)| r.is_some()).count();
        assert_eq!(
            evaluated,
            builtin.len() - 1,
            "one built-in switched off, one overridden"
        );
    }
}
