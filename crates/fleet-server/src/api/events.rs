//! Events: query (type, asset, time range, correlation id; cursor), a live
//! Server-Sent Events stream with the same filters, the event catalogue, and
//! the dead-letter stream of the bus (list, re-drive).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use fleet_db::{EventFilter, OutboxRow};
use fleet_model::event::{EventKind, CATALOG};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

use super::{parse_time, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Event types, comma-separated: CloudEvents types
    /// (`io.gpufleet.hardware.discovered.v1`) or catalogue names (`HardwareDiscovered`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub ty: Option<String>,
    /// The asset the events are about.
    pub asset: Option<String>,
    /// Same as `asset` (the CloudEvents attribute name).
    pub subject: Option<String>,
    /// Events caused by one request (its `X-Request-Id`).
    pub correlation_id: Option<String>,
    /// RFC 3339 or Unix ms, inclusive.
    pub since: Option<String>,
    /// RFC 3339 or Unix ms, exclusive.
    pub until: Option<String>,
    /// `next_cursor` of the previous page; for the stream: replay events after it first.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Stream only: seconds between heartbeat comments, 1 to 300 (default 15).
    #[param(minimum = 1, maximum = 300)]
    pub heartbeat: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// CloudEvents 1.0 JSON envelopes.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

fn parse_cursor(c: Option<&str>) -> ApiResult<i64> {
    c.map(|c| {
        c.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_request("'cursor' is not a cursor returned by this API"))
    })
    .transpose()
    .map(|c| c.unwrap_or(0))
}

fn filter(q: &EventQuery) -> ApiResult<EventFilter> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("'limit' must be between 1 and 1000"));
    }
    if q.asset.is_some() && q.subject.is_some() && q.asset != q.subject {
        return Err(ApiError::bad_request(
            "'asset' and 'subject' name the same filter; give one",
        ));
    }
    Ok(EventFilter {
        types: q
            .ty
            .as_deref()
            .map(fleet_core::events::resolve_event_types)
            .transpose()?
            .unwrap_or_default(),
        subject: q.asset.clone().or_else(|| q.subject.clone()),
        correlation_id: q.correlation_id.clone(),
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
        published_only: false,
        after_seq: parse_cursor(q.cursor.as_deref())?,
        limit,
    })
}

/// A reconnecting client's `Last-Event-ID` (absent or blank: none).
pub(super) fn last_event_id(headers: &axum::http::HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| ApiError::bad_request("Last-Event-ID is not ASCII"))?
        .trim();
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// Seconds between heartbeat comments: 1 to 300, 15 by default.
pub(super) fn heartbeat(asked: Option<u64>) -> ApiResult<u64> {
    let h = asked.unwrap_or(15);
    if !(1..=300).contains(&h) {
        return Err(ApiError::bad_request(
            "'heartbeat' must be between 1 and 300 seconds",
        ));
    }
    Ok(h)
}

pub(super) fn payload(r: &OutboxRow) -> Value {
    serde_json::from_str(&r.payload).unwrap_or(Value::Null)
}

/// Events in commit order (CloudEvents 1.0), filtered by type, asset, time range and correlation id.
#[utoipa::path(get, path = "/api/v1/events", params(EventQuery), tag = "events",
    responses((status = 200, body = EventPage), (status = 400, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<EventPage>> {
    let f = filter(&q)?;
    let page = st.core.events(&caller.core_principal(), &f).await?;
    Ok(Json(EventPage {
        items: page.items.iter().map(payload).collect(),
        next_cursor: page.next.map(|s| s.to_string()),
    }))
}

/// Does a published CloudEvent pass the stream's filter?
fn matches(f: &EventFilter, ev: &Value) -> bool {
    let s = |k: &str| ev.get(k).and_then(Value::as_str);
    if !f.types.is_empty() && !s("type").is_some_and(|t| f.types.iter().any(|x| x == t)) {
        return false;
    }
    if f.subject
        .as_deref()
        .is_some_and(|a| s("subject") != Some(a))
    {
        return false;
    }
    if f.correlation_id
        .as_deref()
        .is_some_and(|c| s("correlationid") != Some(c))
    {
        return false;
    }
    if f.since_ms.is_some() || f.until_ms.is_some() {
        let Some(ms) = s("time").and_then(|t| parse_time("time", t).ok()) else {
            return false;
        };
        if f.since_ms.is_some_and(|x| ms < x) || f.until_ms.is_some_and(|x| ms >= x) {
            return false;
        }
    }
    true
}

fn sse_event(ev: &Value) -> Event {
    let mut e = Event::default().event("cloudevent").data(ev.to_string());
    if let Some(id) = ev.get("id").and_then(Value::as_str) {
        e = e.id(id);
    }
    e
}

/// Most events replayed from `cursor` before going live.
pub(super) const REPLAY_MAX: usize = 10_000;

pub(super) struct StreamState {
    pub st: AppState,
    pub rx: tokio::sync::broadcast::Receiver<Arc<String>>,
    pub f: EventFilter,
    pub replay: VecDeque<Value>,
    pub replayed: HashSet<String>,
    pub scope: Option<Scope>,
    pub values: Option<Values>,
}

/// Live events as Server-Sent Events (`event: cloudevent`, `id` = event id,
/// data = the CloudEvent), with the filters of `GET /api/v1/events`. With
/// `cursor`, published events after it are sent first; a reconnecting client's
/// `Last-Event-ID` (the id of the last event it got) does the same from that event
/// (404 when that event is no longer kept). A comment line is sent
/// every `heartbeat` seconds; a client too slow to keep up gets `event: lagged`
/// with the number of events it missed (re-read them with the query API). The
/// stream ends when the server shuts down.
#[utoipa::path(get, path = "/api/v1/events/stream", params(EventQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")), tag = "events",
    responses((status = 200, content_type = "text/event-stream", description = "Server-Sent Events"), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "The Last-Event-ID event is not kept")))]
pub async fn stream(
    State(st): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Query(q): Query<EventQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let mut f = filter(&q)?;
    let last_event_id = last_event_id(&headers)?;
    let heartbeat = heartbeat(q.heartbeat)?;
    // Subscribe before reading the replay so that nothing falls in between;
    // events in both are sent once.
    let p = caller.core_principal();
    // Checked before anything is sent, even without a replay.
    st.core.last_published_event(&p).await?;
    let rx = st.events.subscribe();
    let mut replay = VecDeque::new();
    let mut replayed = HashSet::new();
    if let Some(id) = &last_event_id {
        f.after_seq = st.core.event_sequence(&p, id).await?;
    }
    if q.cursor.is_some() || last_event_id.is_some() {
        let mut rf = f.clone();
        rf.limit = REPLAY_MAX as i64;
        for r in st.core.published_events(&p, &rf).await? {
            replayed.insert(r.event_id.clone());
            replay.push_back(payload(&r));
        }
    }
    f.after_seq = 0;
    Ok(live(
        StreamState {
            st,
            rx,
            f,
            replay,
            replayed,
            scope: None,
            values: None,
        },
        heartbeat,
    ))
}

/// What a live stream sends besides the events that pass its filter: only events about these
/// assets (and of these kinds), and the latest values of some GPUs every so often.
pub(super) struct Scope {
    /// Asset ids an event's subject must be one of (None: any).
    pub ids: Option<HashSet<String>>,
    /// Asset kinds (`gpu`, `node`, …) the subject must be of (empty: any).
    pub kinds: Vec<String>,
}

impl Scope {
    pub(super) fn admits(&self, ev: &Value) -> bool {
        let Some(subject) = ev.get("subject").and_then(Value::as_str) else {
            return self.ids.is_none() && self.kinds.is_empty();
        };
        if self.ids.as_ref().is_some_and(|ids| !ids.contains(subject)) {
            return false;
        }
        self.kinds.is_empty()
            || self.kinds.iter().any(|k| {
                subject.len() > k.len()
                    && subject.starts_with(k.as_str())
                    && subject.as_bytes()[k.len()] == b'-'
            })
    }
}

/// Latest values of GPUs, sent as `event: values` every `every`.
pub(super) struct Values {
    /// Who asked (the values are read as them).
    pub principal: fleet_core::Principal,
    pub every: Duration,
    pub gpus: Vec<String>,
    /// Fields to send (empty: all).
    pub fields: Vec<String>,
    pub tick: Option<tokio::time::Interval>,
}

/// One `event: values`: the latest values of the GPUs in scope (not retained: a reconnecting
/// client gets the next one).
async fn values_event(st: &AppState, v: &Values) -> Event {
    let statuses = match st.core.gpu_statuses(&v.principal, &v.gpus).await {
        Ok(s) => s,
        Err(e) => {
            return Event::default()
                .event("values-error")
                .data(serde_json::json!({ "error": e.to_string() }).to_string())
        }
    };
    let gpus: Vec<Value> = statuses
        .into_iter()
        .map(|s| {
            let fields: serde_json::Map<String, Value> = s
                .fields
                .into_iter()
                .filter(|(k, _)| v.fields.is_empty() || v.fields.contains(k))
                .map(|(k, x)| (k, serde_json::json!(x)))
                .collect();
            serde_json::json!({
                "gpu": s.gpu,
                "node": s.node,
                "state": s.state.as_str(),
                "last_seen": s.last_seen_ms.map(super::rfc3339),
                "fields": fields,
            })
        })
        .collect();
    let now = fleet_db::now_ms();
    Event::default()
        .event("values")
        .data(serde_json::json!({"time": super::rfc3339(now), "gpus": gpus}).to_string())
}

/// The SSE body of a stream: the replay first, then live events that pass the filter and the
/// scope, `lagged` when the client fell behind, `values` on their tick, heartbeats between.
pub(super) fn live(
    mut state: StreamState,
    heartbeat: u64,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    if let Some(v) = state.values.as_mut() {
        let mut iv = tokio::time::interval(v.every);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        v.tick = Some(iv);
    }
    let events = futures::stream::unfold(state, |mut s| async move {
        if let Some(ev) = s.replay.pop_front() {
            return Some((Ok(sse_event(&ev)), s));
        }
        loop {
            let values_due = async {
                match s.values.as_mut().and_then(|v| v.tick.as_mut()) {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let msg = tokio::select! {
                _ = s.st.streams_done.cancelled() => return None,
                _ = values_due => {
                    let e = match s.values.as_ref() {
                        Some(v) => values_event(&s.st, v).await,
                        None => continue,
                    };
                    return Some((Ok(e), s));
                }
                m = s.rx.recv() => m,
            };
            match msg {
                Ok(raw) => {
                    let Ok(ev) = serde_json::from_str::<Value>(&raw) else {
                        continue;
                    };
                    if !s.replayed.is_empty() {
                        if let Some(id) = ev.get("id").and_then(Value::as_str) {
                            if s.replayed.remove(id) {
                                continue;
                            }
                        }
                    }
                    if matches(&s.f, &ev) && s.scope.as_ref().is_none_or(|sc| sc.admits(&ev)) {
                        return Some((Ok(sse_event(&ev)), s));
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let e = Event::default()
                        .event("lagged")
                        .data(serde_json::json!({ "missed": n }).to_string());
                    return Some((Ok(e), s));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(heartbeat))
            .text("heartbeat"),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeView {
    /// CloudEvents `type`.
    #[serde(rename = "type")]
    pub ty: String,
    pub name: String,
    /// Bus domain (stream).
    pub domain: String,
    pub version: u32,
    pub description: String,
    /// Bus subject pattern.
    pub subject: String,
}

impl EventTypeView {
    fn from_kind(k: &EventKind, st: &AppState) -> Self {
        let topo = st.bus.topology();
        EventTypeView {
            ty: k.ty.into(),
            name: k.name.into(),
            domain: k.domain.into(),
            version: k.version,
            description: k.description.into(),
            subject: topo
                .subject_for(k.ty, "ASSET")
                .map(|s| s.replace(".ASSET", ".<asset>"))
                .unwrap_or_default(),
        }
    }
}

/// The event catalogue: every type gpufleet emits, with its bus subject.
#[utoipa::path(get, path = "/api/v1/events/types", tag = "events", responses((status = 200, body = Vec<EventTypeView>)))]
pub async fn types(State(st): State<AppState>) -> Json<Vec<EventTypeView>> {
    Json(
        CATALOG
            .iter()
            .map(|k| EventTypeView::from_kind(k, &st))
            .collect(),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Only dead letters of this consumer (handler).
    pub consumer: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    /// Sequence in the dead-letter stream: the id to re-drive.
    pub seq: u64,
    pub consumer: String,
    /// Subject the event was published on.
    pub subject: String,
    pub stream: String,
    pub stream_seq: u64,
    pub event_id: String,
    /// The handler's last error.
    pub error: String,
    pub attempts: u32,
    pub failed_at: String,
    /// The event (CloudEvent).
    #[schema(value_type = Object)]
    pub event: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DeadLetterView>,
    pub next_cursor: Option<String>,
}

/// Events that a consumer failed to handle after its retries (admins).
#[utoipa::path(get, path = "/api/v1/events/dead-letters", params(DeadLetterQuery), tag = "events",
    responses((status = 200, body = DeadLetterPage), (status = 400, body = Problem), (status = 503, body = Problem)))]
pub async fn dead_letters(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<DeadLetterQuery>,
) -> ApiResult<Json<DeadLetterPage>> {
    let after = parse_cursor(q.cursor.as_deref())? as u64;
    let page = st
        .core
        .dead_letters(
            &caller.core_principal(),
            &*st.bus,
            q.consumer.as_deref(),
            after,
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(DeadLetterPage {
        items: page
            .items
            .into_iter()
            .map(|d| DeadLetterView {
                seq: d.seq,
                consumer: d.consumer,
                subject: d.subject,
                stream: d.stream,
                stream_seq: d.stream_seq,
                event_id: d.event_id,
                error: d.error,
                attempts: d.attempts,
                failed_at: d.failed_at,
                event: d.event,
            })
            .collect(),
        next_cursor: page.next.map(|s| s.to_string()),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedriveResult {
    /// The dead letter that was re-driven (now removed).
    pub seq: u64,
    /// Where the event was published again.
    pub stream: String,
    pub stream_seq: u64,
}

/// Publish a dead letter again on its original subject and remove it from the dead-letter stream (admins). Consumers that handled the event before drop it by id.
#[utoipa::path(post, path = "/api/v1/events/dead-letters/{seq}/redrive", tag = "events",
    params(("seq" = u64, Path, description = "Sequence of the dead letter")),
    responses((status = 200, body = RedriveResult), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn redrive(
    State(st): State<AppState>,
    caller: Caller,
    Path(seq): Path<u64>,
) -> ApiResult<Json<RedriveResult>> {
    let ack = st
        .core
        .redrive(&caller.core_principal(), &*st.bus, seq)
        .await?;
    Ok(Json(RedriveResult {
        seq,
        stream: ack.stream,
        stream_seq: ack.sequence,
    }))
}
