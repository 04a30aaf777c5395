//! Import, change history, events, audit; health, readiness and metrics.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleet_db::{AuditFilter, ImportSummary, VerifyReport};
use fleet_model::import::Format;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{parse_time, rfc3339, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `yaml` or `csv`; guessed from Content-Type when absent.
    pub format: Option<String>,
    /// Validate only; write nothing.
    pub dry_run: Option<bool>,
}

/// Import an inventory file (YAML or CSV). All or nothing: on any problem nothing is written and every problem is listed with its line in `errors`.
#[utoipa::path(post, path = "/api/v1/import", params(ImportQuery), request_body(content = String, content_type = "application/yaml"), tag = "inventory",
    responses((status = 201, body = ImportSummary), (status = 200, body = ImportSummary, description = "dry run"), (status = 422, body = Problem)))]
pub async fn import(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let format = match q.format.as_deref() {
        Some("yaml") | Some("yml") => Format::Yaml,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format '{other}' is not supported; use yaml or csv"
            )))
        }
        None => Format::guess(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        ),
    };
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the file is not UTF-8 text"))?;
    let dry = q.dry_run == Some(true);
    let summary = st
        .core
        .import(&caller.core_principal(), text, format, dry)
        .await?;
    Ok((
        if dry {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(summary),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// Asset (or other target) id.
    pub asset: Option<String>,
    pub actor: Option<String>,
    /// create, config, labels, move, lifecycle, relation, delete, profile, user, token, auth, import.
    pub kind: Option<String>,
    /// RFC 3339 or Unix ms, inclusive.
    pub since: Option<String>,
    /// RFC 3339 or Unix ms, exclusive.
    pub until: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub kind: String,
    pub target: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<ChangeView>,
    pub next_cursor: Option<String>,
}

fn audit_filter(q: &ChangeQuery) -> ApiResult<AuditFilter> {
    let limit = q.limit.unwrap_or(100);
    Ok(AuditFilter {
        target: q.asset.clone(),
        actor: q.actor.clone(),
        kind: q.kind.clone(),
        since_ms: q
            .since
            .as_deref()
            .map(|s| parse_time("since", s))
            .transpose()?,
        until_ms: q
            .until
            .as_deref()
            .map(|s| parse_time("until", s))
            .transpose()?,
        after_seq: q
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>().map_err(|_| {
                    ApiError::bad_request("'cursor' is not a cursor returned by this API")
                })
            })
            .transpose()?,
        limit,
        exclude_kinds: Vec::new(),
    })
}

fn parse_doc(s: Option<String>) -> Option<Value> {
    s.map(|d| serde_json::from_str(&d).unwrap_or(Value::String(d)))
}

/// Change history, per asset or fleet-wide, filtered by asset, actor, kind and time. Logins,
/// users, tokens and secrets are not part of it (see `/api/v1/audit`).
#[utoipa::path(get, path = "/api/v1/changes", params(ChangeQuery), tag = "inventory",
    responses((status = 200, body = ChangePage), (status = 400, body = Problem)))]
pub async fn changes(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ChangeQuery>,
) -> ApiResult<Json<ChangePage>> {
    let f = audit_filter(&q)?;
    let page = st.core.changes(&caller.core_principal(), &f).await?;
    Ok(Json(ChangePage {
        items: page
            .items
            .into_iter()
            .map(|r| ChangeView {
                seq: r.seq,
                at: rfc3339(r.at),
                actor: r.actor,
                action: r.action,
                kind: r.kind,
                target: r.target,
                before: parse_doc(r.before_doc),
                after: parse_doc(r.after_doc),
                request_id: r.request_id,
            })
            .collect(),
        next_cursor: page.next.map(|s| s.to_string()),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<fleet_db::AuditRow>,
    pub next_cursor: Option<String>,
}

/// The raw audit log with source addresses and chain hashes (admins).
#[utoipa::path(get, path = "/api/v1/audit", params(ChangeQuery), tag = "audit", responses((status = 200, body = AuditPage)))]
pub async fn audit(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ChangeQuery>,
) -> ApiResult<Json<AuditPage>> {
    let f = audit_filter(&q)?;
    let page = st.core.audit_log(&caller.core_principal(), &f).await?;
    Ok(Json(AuditPage {
        items: page.items,
        next_cursor: page.next.map(|s| s.to_string()),
    }))
}

/// Recompute the audit hash chain and report altered, inserted or deleted rows.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyReport)))]
pub async fn audit_verify(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<VerifyReport>> {
    Ok(Json(st.core.verify_audit(&caller.core_principal()).await?))
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers.
pub async fn readyz(State(st): State<AppState>) -> Result<&'static str, ApiError> {
    tokio::time::timeout(std::time::Duration::from_secs(2), st.core.ping())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready",
                "the database did not answer within 2 s",
            )
        })?
        .map_err(|e| {
            // The detail goes to the log: this route answers anyone, unauthenticated.
            tracing::warn!(error = %e, "not ready: the database check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready",
                "database check failed (the server log has the detail)",
            )
        })?;
    Ok("ready\n")
}

/// Prometheus metrics.
pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let mut gauges = Vec::new();
    let (counts, pending) = st.core.gauges().await;
    if let Some(counts) = counts {
        gauges.push((
            "gpufleet_assets",
            "Assets in the inventory by kind.",
            counts
                .into_iter()
                .map(|(k, n)| (format!("kind=\"{k}\""), n as f64))
                .collect(),
        ));
    }
    if let Some(p) = pending {
        gauges.push((
            "gpufleet_outbox_pending",
            "Events committed but not yet published.",
            vec![(String::new(), p as f64)],
        ));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(&gauges),
    )
}
