//! REST face of alert correlation: Alertmanager's API v2 "postable alerts" body (what Prometheus
//! sends to an Alertmanager) and its webhook payload (version 4, what an Alertmanager forwards),
//! and the incidents. Shapes and their mapping only; `fleet_core::correlation` validates,
//! resolves, de-duplicates, correlates and keeps incident state.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use fleet_core::correlation::{IncidentFilter, IncidentState, IncomingAlert, IngestReport};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::dto::{AlertIngestReport, AlertList, Incident};
use super::{parse_time, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One alert of Alertmanager's API v2 `POST /api/v2/alerts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// The label set; it identifies the alert (its fingerprint).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339; absent: now. Correlation windows use it, not the arrival time.
    pub starts_at: Option<String>,
    /// RFC 3339; in the past: the alert is resolved.
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
}

/// One alert of an Alertmanager webhook notification.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's fingerprint; gpufleet computes the same from the labels.
    pub fingerprint: Option<String>,
}

/// Alertmanager's webhook payload, version 4.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Must be "4".
    pub version: String,
    pub group_key: Option<String>,
    pub status: Option<String>,
    pub receiver: Option<String>,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: Option<String>,
    #[serde(default)]
    pub truncated_alerts: u64,
    pub alerts: Vec<WebhookAlert>,
}

/// An alert request's JSON body, read as Alertmanager reads one: a body that is JSON but not of
/// the expected shape is a bad request (400), not 422.
pub struct AlertBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AlertBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, st: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, st).await {
            Ok(Json(v)) => Ok(AlertBody(v)),
            Err(mut e) => {
                if e.status == StatusCode::UNPROCESSABLE_ENTITY {
                    e.status = StatusCode::BAD_REQUEST;
                }
                Err(e)
            }
        }
    }
}

impl From<PostableAlert> for IncomingAlert {
    fn from(a: PostableAlert) -> Self {
        IncomingAlert {
            labels: a.labels,
            annotations: a.annotations,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url,
            status: None,
        }
    }
}

impl From<WebhookAlert> for IncomingAlert {
    fn from(a: WebhookAlert) -> Self {
        IncomingAlert {
            labels: a.labels,
            annotations: a.annotations,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url,
            status: a.status,
        }
    }
}

/// What the alert write routes answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum IngestResponses {
    /// Every alert taken.
    #[response(status = 200)]
    Taken(AlertIngestReport),
    /// Unreadable body, another webhook payload version, or some alerts refused (named in
    /// `rejected`; the others were taken).
    #[response(status = 400)]
    Refused(Problem),
}

/// Hands the alerts to the core. 200 when every alert was taken; 400 (problem document with
/// `rejected` and `accepted`) when some were refused, the valid ones having been taken all the
/// same (as Alertmanager does).
async fn ingest(
    st: &AppState,
    caller: &Caller,
    incoming: Vec<IncomingAlert>,
) -> ApiResult<Json<AlertIngestReport>> {
    let report: IngestReport = st
        .core
        .ingest_alerts(&caller.core_principal(), incoming)
        .await?;
    if report.rejected.is_empty() {
        return Ok(Json(report.into()));
    }
    let first = &report.rejected[0];
    Err(ApiError::bad_request(format!(
        "{} of {} alerts refused (alert {}: {}); the other {} were taken",
        report.rejected.len(),
        report.received,
        first.index,
        first.reason,
        report.accepted
    ))
    .with("rejected", json!(report.rejected))
    .with("accepted", json!(report.accepted)))
}

/// Take alerts in Alertmanager's API v2 format (`POST /api/v2/alerts` of an Alertmanager), the
/// body Prometheus sends to its Alertmanagers.
/// Alertmanager's own path for the same body, so that Prometheus can send to gpufleet as to an
/// Alertmanager (`alerting.alertmanagers[].path_prefix: /`, bearer token in `authorization`).
/// Answers exactly as `POST /api/v1/alerts`.
#[utoipa::path(post, path = "/api/v2/alerts", request_body = Vec<PostableAlert>, tag = "alerts",
    responses(IngestResponses))]
pub async fn post_alerts_v2(
    st: State<AppState>,
    caller: Caller,
    body: AlertBody<Vec<PostableAlert>>,
) -> ApiResult<Json<AlertIngestReport>> {
    post_alerts(st, caller, body).await
}

/// Take alerts in Alertmanager's API v2 format, the body Prometheus sends to its
/// Alertmanagers. Alerts are resolved to CMDB assets from their labels, de-duplicated by label
/// set and correlated into incidents by `startsAt`.
#[utoipa::path(post, path = "/api/v1/alerts", request_body = Vec<PostableAlert>, tag = "alerts",
    responses(IngestResponses))]
pub async fn post_alerts(
    State(st): State<AppState>,
    caller: Caller,
    AlertBody(alerts): AlertBody<Vec<PostableAlert>>,
) -> ApiResult<Json<AlertIngestReport>> {
    ingest(&st, &caller, alerts.into_iter().map(Into::into).collect()).await
}

/// Take an Alertmanager webhook notification (payload version 4), so that an existing
/// Alertmanager can forward to gpufleet (`webhook_configs[].url`). Each alert is taken as in
/// `POST /api/v1/alerts`; a `resolved` alert without `endsAt` ends now.
#[utoipa::path(post, path = "/api/v1/alerts/webhook", request_body = WebhookPayload, tag = "alerts",
    responses(IngestResponses))]
pub async fn webhook(
    State(st): State<AppState>,
    caller: Caller,
    AlertBody(body): AlertBody<WebhookPayload>,
) -> ApiResult<Json<AlertIngestReport>> {
    if body.version != "4" {
        return Err(ApiError::bad_request(format!(
            "webhook payload version '{}' is not supported; Alertmanager sends version \"4\"",
            body.version
        )));
    }
    ingest(
        &st,
        &caller,
        body.alerts.into_iter().map(Into::into).collect(),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertQuery {
    /// Only the alerts no CMDB asset matched.
    pub unresolved: Option<bool>,
    /// At most this many alerts in `alerts` (default 1000); the counts cover all.
    pub limit: Option<usize>,
}

/// The alerts held, with how many are firing and how many matched no asset.
#[utoipa::path(get, path = "/api/v1/alerts", params(AlertQuery), tag = "alerts",
    responses(
        (status = 200, body = AlertList, content_type = "application/json"),
        (status = 400, body = Problem)))]
pub async fn list_alerts(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> ApiResult<Json<AlertList>> {
    Ok(Json(
        st.core
            .list_alerts(
                &caller.core_principal(),
                q.unresolved.unwrap_or(false),
                q.limit.unwrap_or(1000).clamp(1, 100_000),
            )
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IncidentQuery {
    /// `open`, `acknowledged` or `resolved`.
    pub state: Option<String>,
    /// An asset id or name: the root cause, an affected node or GPU, or an alert's asset.
    pub asset: Option<String>,
    /// Incidents with an alert starting at or after this time (RFC 3339 or Unix ms).
    pub since: Option<String>,
    /// At most this many (default 500).
    pub limit: Option<usize>,
}

/// Incidents, highest priority first.
#[utoipa::path(get, path = "/api/v1/incidents", params(IncidentQuery), tag = "alerts",
    responses(
        (status = 200, body = Vec<Incident>, content_type = "application/json"),
        (status = 400, body = Problem)))]
pub async fn list_incidents(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<IncidentQuery>,
) -> ApiResult<Json<Vec<Incident>>> {
    let f = IncidentFilter {
        state: q.state.as_deref().map(IncidentState::parse).transpose()?,
        asset: q.asset,
        since: q
            .since
            .as_deref()
            .map(|s| parse_time("since", s))
            .transpose()?,
        limit: Some(q.limit.unwrap_or(500).clamp(1, 10_000)),
    };
    Ok(Json(
        st.core
            .list_incidents(&caller.core_principal(), &f)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One incident: root cause with evidence, member alerts with their labels as received,
/// affected assets, priority, state, timeline and suggested actions. The id of an incident that
/// merged into another answers with that one.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = String, Path)), tag = "alerts",
    responses(
        (status = 200, body = Incident, content_type = "application/json"),
        (status = 404, body = Problem)))]
pub async fn get_incident(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        st.core
            .get_incident(&caller.core_principal(), &id)
            .await?
            .into(),
    ))
}

/// Optional body of acknowledge and resolve.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    /// Written to the timeline and the audit log.
    pub note: Option<String>,
}

fn note(body: &Bytes) -> ApiResult<Option<String>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<Option<IncidentNote>>(body)
        .map(|n| n.and_then(|n| n.note))
        .map_err(|e| {
            ApiError::bad_request(format!(
                "the body must be {{\"note\": \"...\"}} or empty: {e}"
            ))
        })
}

/// Acknowledge an incident (someone is on it). Acknowledging twice changes nothing.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", params(("id" = String, Path)),
    request_body(content = Option<IncidentNote>), tag = "alerts",
    responses(
        (status = 200, body = Incident, content_type = "application/json"),
        (status = 400, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The incident is resolved")))]
pub async fn ack(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let note = note(&body)?;
    let v = st
        .core
        .acknowledge_incident(&caller.core_principal(), &id, note)
        .await?;
    Ok((StatusCode::OK, Json(v.into())))
}

/// Resolve an incident by hand. An alert of it firing again reopens it.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", params(("id" = String, Path)),
    request_body(content = Option<IncidentNote>), tag = "alerts",
    responses(
        (status = 200, body = Incident, content_type = "application/json"),
        (status = 400, body = Problem),
        (status = 404, body = Problem)))]
pub async fn resolve(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let note = note(&body)?;
    let v = st
        .core
        .resolve_incident(&caller.core_principal(), &id, note)
        .await?;
    Ok((StatusCode::OK, Json(v.into())))
}

/// What to merge into the incident of the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The incidents whose alerts join this one (at least one).
    pub incidents: Vec<String>,
    /// Written to the timeline and the audit log.
    pub note: Option<String>,
}

/// What to split off the incident of the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// Fingerprints of the alerts to move into a new incident (at least one, not all of them).
    pub alerts: Vec<String>,
    /// The new incident's root cause, an asset id or name; absent: the earliest alert's own
    /// asset.
    pub root_asset: Option<String>,
    /// Written to both timelines and the audit log.
    pub note: Option<String>,
}

/// Merge incidents into this one by hand: their alerts join it, and so do alerts that would
/// have opened them later; each merged incident closes with `merged_into` (its id then names
/// this one) and an acknowledgement carries over. The root cause stays this incident's.
/// Audited (`incident.merge`); kept across restarts.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", params(("id" = String, Path)),
    request_body = MergeRequest, tag = "alerts",
    responses(
        (status = 200, body = Incident, content_type = "application/json",
            description = "The incident the others merged into"),
        (status = 400, body = Problem, description = "No incident named"),
        (status = 404, body = Problem, description = "An incident named does not exist"),
        (status = 422, body = Problem, description = "An incident named is this one")))]
pub async fn merge(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<MergeRequest>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        st.core
            .merge_incidents(&caller.core_principal(), &id, &req.incidents, req.note)
            .await?
            .into(),
    ))
}

/// Split alerts off this incident into a new one (`split:<fingerprint of the earliest>`),
/// whose root cause is `root_asset` when given (belief `manual`, confidence 1), else the
/// earliest alert's own asset. The alerts stay there whatever the rules conclude later, until
/// they are forgotten. Audited (`incident.split`); kept across restarts.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", params(("id" = String, Path)),
    request_body = SplitRequest, tag = "alerts",
    responses(
        (status = 201, body = Incident, content_type = "application/json",
            description = "The new incident"),
        (status = 400, body = Problem, description = "No alert named"),
        (status = 404, body = Problem),
        (status = 422, body = Problem,
            description = "An alert is not in this incident, every alert of it is named, or the root asset is unknown")))]
pub async fn split(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<SplitRequest>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let v = st
        .core
        .split_incident(
            &caller.core_principal(),
            &id,
            &req.alerts,
            req.root_asset.as_deref(),
            req.note,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}
