//! `GET /api/v1/stream`: the live status stream of a part of the fleet — status changes of the
//! assets asked for (by asset, rack and kind) as Server-Sent Events, resumable with
//! `Last-Event-ID`, and on request the latest values of their GPUs every few seconds.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::events::{
    heartbeat, last_event_id, live, payload, Scope, StreamState, Values, REPLAY_MAX,
};
use super::Query;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The event types the stream carries unless `type` says otherwise: state changes of GPUs,
/// nodes, links and the lifecycle, failures, alerts and incidents.
pub const STATUS_TYPES: &[&str] = &[
    "GPUStatusChanged",
    "SystemStatusChanged",
    "NetworkStatusChanged",
    "HardwareFailed",
    "LifecycleChanged",
    "AlertRaised",
    "AlertResolved",
    "AlertEscalated",
    "IncidentOpened",
    "IncidentUpdated",
    "IncidentResolved",
];

/// Most GPUs whose values one stream sends.
pub const MAX_VALUE_GPUS: usize = 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Assets (id or name, comma-separated): each with what it contains (a node: its GPUs and
    /// other parts; a rack: everything in it).
    pub asset: Option<String>,
    /// Racks (id or name, comma-separated): everything in them.
    pub rack: Option<String>,
    /// Asset kinds the events are about, comma-separated (`gpu`, `node`, `switch`, …).
    pub kind: Option<String>,
    /// Event types, comma-separated (CloudEvents types or catalogue names); default: the status
    /// changes (GPU, system and network status, failures, lifecycle, alerts, incidents).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub ty: Option<String>,
    /// Also send the latest values of the GPUs in scope (needs `asset` or `rack`, at most 1024
    /// GPUs) as `event: values` this often: a duration (`5s`, `1m`), at least 1 s.
    pub values: Option<String>,
    /// With `values`: only these fields (gpufleet names, comma-separated).
    pub fields: Option<String>,
    /// Seconds between heartbeat comments, 1 to 300 (default 15).
    #[param(minimum = 1, maximum = 300)]
    pub heartbeat: Option<u64>,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Status changes of a part of the fleet as Server-Sent Events (`event: cloudevent`, `id` =
/// event id, data = the CloudEvent). `asset`, `rack` and `kind` select what the events are
/// about (the scope is fixed when the stream opens); a reconnecting client's `Last-Event-ID`
/// replays the retained events after it first (404 when that event is no longer kept). With
/// `values`, `event: values` carries `{time, gpus: [{gpu, node, state, last_seen, fields}]}`
/// for the GPUs in scope on each tick (latest values, not retained). A client too slow to keep
/// up gets `event: lagged` with the number of events it missed; a comment line is sent every
/// `heartbeat` seconds.
#[utoipa::path(get, path = "/api/v1/stream", operation_id = "live_stream", params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")), tag = "events",
    responses((status = 200, content_type = "text/event-stream", description = "Server-Sent Events"), (status = 400, body = Problem),
        (status = 404, body = Problem, description = "An asset or rack named does not exist, or the Last-Event-ID event is not kept")))]
pub async fn stream(
    State(st): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Query(q): Query<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let heartbeat = heartbeat(q.heartbeat)?;
    let types = match q.ty.as_deref() {
        Some(t) => fleet_core::events::resolve_event_types(t)?,
        None => fleet_core::events::resolve_event_types(&STATUS_TYPES.join(","))?,
    };
    let kinds = list(&q.kind);
    for k in &kinds {
        k.parse::<fleet_model::asset::AssetKind>()
            .map_err(|e| ApiError::bad_request(format!("'kind': {e}")))?;
    }
    let (assets, racks) = (list(&q.asset), list(&q.rack));
    let p = caller.core_principal();
    let scoped = !(assets.is_empty() && racks.is_empty());
    let scope = if scoped {
        Some(st.core.stream_scope(&p, &assets, &racks).await?)
    } else {
        None
    };
    let values = match q.values.as_deref() {
        None | Some("") => None,
        Some(v) => {
            let secs = fleet_telemetry::rules::parse_duration(v)
                .map_err(|e| ApiError::bad_request(format!("'values': {e}")))?;
            if secs == 0 {
                return Err(ApiError::bad_request("'values' must be at least 1s"));
            }
            let Some(sc) = scope.as_ref() else {
                return Err(ApiError::bad_request(
                    "'values' needs 'asset' or 'rack' to say whose values",
                ));
            };
            if sc.gpus.len() > MAX_VALUE_GPUS {
                return Err(ApiError::bad_request(format!(
                    "'values' covers {} GPUs; at most {MAX_VALUE_GPUS} per stream",
                    sc.gpus.len()
                )));
            }
            let fields = list(&q.fields)
                .iter()
                .map(|f| {
                    fleet_telemetry::fields::GpuField::from_name(f)
                        .map(|g| g.name().to_string())
                        .ok_or_else(|| {
                            ApiError::bad_request(format!("'fields': unknown field '{f}'"))
                        })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Some(Values {
                principal: p.clone(),
                every: Duration::from_secs(secs),
                gpus: sc.gpus.clone(),
                fields,
                tick: None,
            })
        }
    };
    if values.is_none() && q.fields.is_some() {
        return Err(ApiError::bad_request("'fields' goes with 'values'"));
    }
    let last_event_id = last_event_id(&headers)?;
    let mut f = fleet_db::EventFilter {
        types,
        limit: REPLAY_MAX as i64,
        ..Default::default()
    };
    // Checked before anything is sent, even without a replay.
    st.core.last_published_event(&p).await?;
    let rx = st.events.subscribe();
    let scope = Scope {
        ids: scope.map(|s| s.ids),
        kinds,
    };
    let mut replay = VecDeque::new();
    let mut replayed = HashSet::new();
    if let Some(id) = &last_event_id {
        f.after_seq = st.core.event_sequence(&p, id).await?;
        for r in st.core.published_events(&p, &f).await? {
            let ev = payload(&r);
            replayed.insert(r.event_id.clone());
            if scope.admits(&ev) {
                replay.push_back(ev);
            }
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
            scope: Some(scope),
            values,
        },
        heartbeat,
    ))
}
