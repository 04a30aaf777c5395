//! Alert rules: the effective set (built-in rules and stored ones), versioned changes with
//! `If-Match`, deletion, and Prometheus rule files imported whole.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleet_core::alerting::{RuleDetail, RuleSource, RuleSpec, RuleView};
use fleet_model::timefmt::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{etag, if_match, Json};
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// A rule as a Prometheus rule file writes it, plus whether it is evaluated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAlertRule {
    /// `DCGM_FI_DEV_GPU_TEMP > 85`, `increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0`,
    /// `absent_over_time(DCGM_FI_DEV_GPU_TEMP[2m])`, `health == failed`; `{rack="r1"}` after
    /// the field scopes the rule.
    pub expr: String,
    /// How long the condition must hold before the alert fires (`30s`, `5m`, `1h`).
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// `severity`: critical, warning (default) or info.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `{{ $labels.node }}`, `{{ $value }}` are filled in.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub group: Option<String>,
    /// Default true; false keeps the rule (or switches a built-in rule off) without evaluating it.
    pub enabled: Option<bool>,
    /// Why it changes; kept with the version.
    pub comment: Option<String>,
}

/// A pending or firing alert of a rule, in the process that answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleAlertView {
    /// The GPU asset it is about.
    pub series: String,
    /// `pending` or `firing`.
    pub phase: String,
    /// When the condition became true.
    pub since: String,
    pub fired_at: Option<String>,
    pub value: Option<f64>,
}

/// One rule of the effective set.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRuleView {
    pub name: String,
    /// `builtin` (shipped, unchanged) or `stored` (through this API).
    pub source: String,
    /// A built-in rule of this name exists (a stored one overrides it).
    pub builtin: bool,
    /// The stored version (the `ETag`); 0 for a built-in rule never changed.
    pub version: i64,
    pub enabled: bool,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub group: Option<String>,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    pub active: Vec<RuleAlertView>,
}

impl From<RuleView> for AlertRuleView {
    fn from(v: RuleView) -> Self {
        let RuleSpec {
            expr,
            for_,
            labels,
            annotations,
            group,
        } = v.spec;
        AlertRuleView {
            name: v.name,
            source: match v.source {
                RuleSource::Builtin => "builtin",
                RuleSource::Stored => "stored",
            }
            .into(),
            builtin: v.builtin,
            version: v.version,
            enabled: v.enabled,
            expr,
            for_,
            labels,
            annotations,
            group,
            severity: v.severity,
            updated_by: v.actor,
            updated_at: v.updated_at_ms.map(rfc3339),
            active: v
                .active
                .into_iter()
                .map(|a| RuleAlertView {
                    series: a.series,
                    phase: match a.phase {
                        fleet_telemetry::rules::AlertPhase::Pending => "pending",
                        fleet_telemetry::rules::AlertPhase::Firing => "firing",
                    }
                    .into(),
                    since: rfc3339(a.since / 1_000_000),
                    fired_at: a.fired_at.map(|f| rfc3339(f / 1_000_000)),
                    value: a.value,
                })
                .collect(),
        }
    }
}

/// One stored version of a rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRuleVersionView {
    pub version: i64,
    pub enabled: bool,
    /// This version deleted the rule.
    pub deleted: bool,
    /// The rule as stored (`expr`, `for`, `labels`, `annotations`, `group`).
    pub spec: Value,
    pub comment: Option<String>,
    pub actor: String,
    pub created_at: String,
}

/// A rule with its stored versions (oldest first).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRuleDetail {
    pub rule: AlertRuleView,
    pub versions: Vec<AlertRuleVersionView>,
}

impl From<RuleDetail> for AlertRuleDetail {
    fn from(d: RuleDetail) -> Self {
        AlertRuleDetail {
            rule: d.rule.into(),
            versions: d
                .versions
                .into_iter()
                .map(|r| AlertRuleVersionView {
                    version: r.version,
                    enabled: r.enabled != 0,
                    deleted: r.deleted != 0,
                    spec: serde_json::from_str(&r.spec).unwrap_or(Value::Null),
                    comment: r.comment,
                    actor: r.actor,
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
        }
    }
}

/// What an import stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRuleImport {
    /// The rules stored, each as a new version.
    pub imported: Vec<String>,
}

/// The effective alert rules (built-in and stored), each with its pending and firing alerts.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alerts",
    responses((status = 200, body = Vec<AlertRuleView>)))]
pub async fn list_rules(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AlertRuleView>>> {
    let rules = st.core.list_alert_rules(&caller.core_principal()).await?;
    Ok(Json(rules.into_iter().map(Into::into).collect()))
}

/// A rule with its stored versions. The `ETag` is its stored version (`"0"`: built in, never
/// stored).
#[utoipa::path(get, path = "/api/v1/alert-rules/{name}", params(("name" = String, Path)), tag = "alerts",
    responses((status = 200, body = AlertRuleDetail, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get_rule(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let d = st
        .core
        .get_alert_rule(&caller.core_principal(), &name)
        .await?;
    let v = d.rule.version;
    Ok(([etag(v)], Json(AlertRuleDetail::from(d))))
}

/// Store a rule: a new one (201), a change (200), or an override of a built-in rule of the
/// same name. The rule is compiled first (422 with the reason when it cannot be evaluated).
/// Send `If-Match` with the ETag you read (`"0"`: only if not stored yet): a stale one gets 412.
#[utoipa::path(put, path = "/api/v1/alert-rules/{name}", params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = PutAlertRule, tag = "alerts",
    responses((status = 200, body = AlertRuleDetail, headers(("ETag" = String))),
        (status = 201, body = AlertRuleDetail, headers(("ETag" = String))),
        (status = 400, body = Problem, description = "A malformed body or If-Match"),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_rule(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    Json(b): Json<PutAlertRule>,
) -> ApiResult<impl IntoResponse> {
    let spec = RuleSpec {
        expr: b.expr,
        for_: b.for_,
        labels: b.labels,
        annotations: b.annotations,
        group: b.group,
    };
    let (d, created) = st
        .core
        .put_alert_rule(
            &caller.core_principal(),
            &name,
            spec,
            b.enabled.unwrap_or(true),
            if_match(&headers)?,
            b.comment,
        )
        .await?;
    let v = d.rule.version;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, [etag(v)], Json(AlertRuleDetail::from(d))))
}

/// Delete a stored rule (its versions remain; a built-in rule of that name applies again).
/// To switch a built-in rule off, store it with `enabled: false`.
#[utoipa::path(delete, path = "/api/v1/alert-rules/{name}", params(("name" = String, Path), ("If-Match" = Option<String>, Header)), tag = "alerts",
    responses((status = 204, description = "Deleted"), (status = 400, body = Problem, description = "If-Match is not an ETag of this API"),
        (status = 404, body = Problem), (status = 412, body = Problem)))]
pub async fn delete_rule(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    st.core
        .delete_alert_rule(&caller.core_principal(), &name, if_match(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Import a Prometheus alerting-rule file (`groups: - name, rules: - alert, expr, for, labels,
/// annotations`): every rule is checked first, and nothing is stored when one is refused (422
/// naming the group, rule and reason; recording rules and unsupported expressions are refused).
#[utoipa::path(post, path = "/api/v1/alert-rules/import", tag = "alerts",
    request_body(content = String, content_type = "application/yaml", description = "A Prometheus rule file"),
    responses((status = 201, body = AlertRuleImport), (status = 422, body = Problem)))]
pub async fn import_rules(
    State(st): State<AppState>,
    caller: Caller,
    body: String,
) -> ApiResult<(StatusCode, Json<AlertRuleImport>)> {
    let imported = st
        .core
        .import_alert_rules(&caller.core_principal(), &body, None)
        .await?;
    Ok((StatusCode::CREATED, Json(AlertRuleImport { imported })))
}
