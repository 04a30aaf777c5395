//! REST face of telemetry: the write routes (gpufleet's own and the InfluxDB-compatible v1
//! and v2 paths, so Telegraf's `influxdb` and `influxdb_v2` outputs work unchanged) and the
//! health reads. Parsing, resolution, health and events are the core's (`fleet_core::telemetry`).

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use fleet_core::telemetry::IngestReport;
use fleet_telemetry::line_protocol::Precision;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::dto::{GpuHealth, NodeHealth, SeriesResponse, SwitchHealth, TelemetryStatusView};
use super::{parse_time, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Largest request body, compressed or not (InfluxDB's default `max-body-size` is 25 MB).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WriteQuery {
    /// Timestamp precision: ns (default), us, ms or s.
    pub precision: Option<String>,
    /// `line` (InfluxDB line protocol, default) or `prometheus` (a Prometheus text page such
    /// as dcgm-exporter's `/metrics`).
    pub format: Option<String>,
}

/// InfluxDB's parameters; only `precision` matters here, the others are accepted so that
/// clients work unchanged.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct V1Query {
    /// Database (accepted and ignored: gpufleet keeps one telemetry store).
    pub db: Option<String>,
    /// Retention policy (accepted and ignored).
    pub rp: Option<String>,
    /// Timestamp precision: n/ns (default), u/us, ms or s.
    pub precision: Option<String>,
    /// User name (ignored; the password is the API token).
    pub u: Option<String>,
    /// The API token, when not sent as `Authorization: Token|Bearer <token>` or basic auth.
    pub p: Option<String>,
}

/// InfluxDB's parameters; only `precision` matters here.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct V2Query {
    /// Organisation (accepted and ignored).
    pub org: Option<String>,
    #[serde(rename = "orgID")]
    pub org_id: Option<String>,
    /// Bucket (accepted and ignored: gpufleet keeps one telemetry store).
    pub bucket: Option<String>,
    /// Timestamp precision: ns (default), us, ms or s.
    pub precision: Option<String>,
}

fn precision(p: Option<&str>) -> ApiResult<Precision> {
    match p {
        None | Some("") => Ok(Precision::Ns),
        Some(s) => Precision::parse(s).map_err(|e| ApiError::bad_request(e.to_string())),
    }
}

/// The request body, gunzipped when `Content-Encoding: gzip`, at most [`MAX_BODY`] bytes.
async fn read_body(headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            format!(
                "the body is over {MAX_BODY} bytes (after decompression); send smaller batches"
            ),
        )
    };
    let raw = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large())?;
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::MultiGzDecoder::new(&raw[..])
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::bad_request(format!("the gzip body does not decompress: {e}"))
                })?;
            if out.len() > MAX_BODY {
                return Err(too_large());
            }
            Ok(Bytes::from(out))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("Content-Encoding '{other}' is not supported; send gzip or no encoding"),
        )),
    }
}

/// 204, or 400 naming each refused line (the good lines are kept, as InfluxDB does).
fn answer(r: IngestReport) -> ApiResult<StatusCode> {
    let Some(msg) = r.partial_write_message() else {
        return Ok(StatusCode::NO_CONTENT);
    };
    Err(
        ApiError::new(StatusCode::BAD_REQUEST, "Partial write", msg.clone())
            // InfluxDB clients (Telegraf) read `error`.
            .with("error", Value::String(msg))
            .with("errors", json!(r.errors))
            .with("rejected_lines", json!(r.rejected_lines))
            .with("accepted_points", json!(r.points)),
    )
}

/// The caller's principal, once it may write telemetry, and the request body: refused before
/// a body the caller may not send is read, and when the caller's token is over its rate.
async fn authorized_body(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(fleet_core::Principal, Bytes)> {
    let principal = caller.core_principal();
    principal.require(
        fleet_model::rbac::Permission::TelemetryWrite,
        "write telemetry",
    )?;
    let body = read_body(headers, body).await?;
    let lines = crate::ratelimit::data_lines(&body);
    if let Err(secs) = st.write_limits.take(&caller.principal.token_id, lines) {
        return Err(fleet_core::CoreError::RateLimited {
            title: "Write rate exceeded",
            message: format!(
                "this token writes more than {} lines per second (telemetry.write_lines_per_sec); try again in {secs} s",
                st.config.telemetry.write_lines_per_sec
            ),
            retry_after_secs: secs,
        }
        .into());
    }
    Ok((principal, body))
}

async fn ingest_lines(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    precision: Precision,
) -> ApiResult<StatusCode> {
    let (principal, body) = authorized_body(st, caller, headers, body).await?;
    answer(
        st.core
            .ingest_line_protocol(&principal, &body, precision)
            .await?,
    )
}

/// What the write routes answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum WriteResponses {
    /// All lines written.
    #[response(status = 204)]
    Written,
    /// Bad parameters, or a partial write: `errors` names each refused line; the good lines
    /// were kept.
    #[response(status = 400)]
    Refused(Problem),
    /// The body is over 32 MiB (after decompression).
    #[response(status = 413)]
    TooLarge(Problem),
    /// A `Content-Encoding` other than gzip.
    #[response(status = 415)]
    Encoding(Problem),
    /// The token wrote more lines than `telemetry.write_lines_per_sec` allows; `Retry-After`
    /// says when to send again (nothing of this body was kept).
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    RateLimited(Problem),
}

/// Write telemetry: InfluxDB line protocol (default) or a Prometheus text page
/// (`format=prometheus`). `Content-Encoding: gzip` accepted.
#[utoipa::path(post, path = "/api/v1/telemetry/write", params(WriteQuery), tag = "telemetry",
    request_body(content = String, content_type = "text/plain"),
    responses(WriteResponses))]
pub async fn write(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let p = precision(q.precision.as_deref())?;
    match q.format.as_deref().unwrap_or("line") {
        "line" | "influx" => ingest_lines(&st, &caller, &headers, body, p).await,
        "prometheus" => {
            let (principal, body) = authorized_body(&st, &caller, &headers, body).await?;
            let text = std::str::from_utf8(&body)
                .map_err(|e| ApiError::bad_request(format!("the page is not UTF-8: {e}")))?;
            answer(st.core.ingest_prometheus(&principal, text, None).await?)
        }
        other => Err(ApiError::bad_request(format!(
            "unknown format '{other}': use line or prometheus"
        ))),
    }
}

/// InfluxDB 1.x write (`/write?db=&precision=`), for Telegraf's `influxdb` output and other
/// v1 clients. The token goes in `Authorization: Token|Bearer <token>`, basic auth (password)
/// or `p=`.
#[utoipa::path(post, path = "/write", params(V1Query), tag = "telemetry",
    request_body(content = String, content_type = "text/plain"),
    responses(WriteResponses))]
pub async fn write_v1(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<V1Query>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let p = precision(q.precision.as_deref())?;
    ingest_lines(&st, &caller, &headers, body, p).await
}

/// InfluxDB 2.x write (`/api/v2/write?org=&bucket=&precision=`), for Telegraf's
/// `influxdb_v2` output. The token goes in `Authorization: Token <token>` (or `Bearer`).
#[utoipa::path(post, path = "/api/v2/write", params(V2Query), tag = "telemetry",
    request_body(content = String, content_type = "text/plain"),
    responses(WriteResponses))]
pub async fn write_v2(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<V2Query>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let p = precision(q.precision.as_deref())?;
    ingest_lines(&st, &caller, &headers, body, p).await
}

/// A GPU's derived health, its reasons (XIDs with their catalog meaning, ECC, thermal,
/// missing telemetry…), the latest value of every field, when it was last seen, and its
/// latest health changes. `id`: asset id, name or serial.
#[utoipa::path(get, path = "/api/v1/gpus/{id}/health", params(("id" = String, Path)), tag = "telemetry",
    responses((status = 200, body = GpuHealth), (status = 404, body = Problem)))]
pub async fn gpu_health(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<GpuHealth>> {
    Ok(Json(
        st.core
            .gpu_health(&caller.core_principal(), &id)
            .await?
            .into(),
    ))
}

/// A node's health roll-up with the state of each of its GPUs. `id`: asset id or name.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/health", params(("id" = String, Path)), tag = "telemetry",
    responses((status = 200, body = NodeHealth), (status = 404, body = Problem)))]
pub async fn node_health(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<NodeHealth>> {
    Ok(Json(
        st.core
            .node_health(&caller.core_principal(), &id)
            .await?
            .into(),
    ))
}

/// A switch's ports as its gNMI stream reports them (administrative and operational status,
/// error counters) with each port's derived health and the latest port health changes. `id`:
/// asset id or name. Ports appear once gpufleet holds a gNMI stream from the switch
/// (`telemetry.gnmi_sample_interval_secs`; the switch needs a `gnmi_address`).
#[utoipa::path(get, path = "/api/v1/switches/{id}/health", params(("id" = String, Path)), tag = "telemetry",
    responses((status = 200, body = SwitchHealth), (status = 404, body = Problem)))]
pub async fn switch_health(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SwitchHealth>> {
    Ok(Json(
        st.core
            .switch_health(&caller.core_principal(), &id)
            .await?
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// A GPU (id, name or serial), a node or a rack (id or name): a node or rack gives a series
    /// for each of its GPUs.
    pub asset: String,
    /// A GPU field by its gpufleet name (`gpu_temp`, `power_usage`, `gpu_util`, …) or its
    /// dcgm-exporter name (`DCGM_FI_DEV_GPU_TEMP`).
    pub field: String,
    /// Start: RFC 3339 or Unix milliseconds (default: `to` minus one hour).
    pub from: Option<String>,
    /// End, excluded: RFC 3339 or Unix milliseconds (default: now).
    pub to: Option<String>,
    /// Step: a duration (`30s`, `5m`, `1h`); default: the range in about 300 steps, at least
    /// the write resolution. At most 11,000 steps.
    pub step: Option<String>,
    /// How a step combines its intervals: mean (default), min, max or last.
    pub agg: Option<String>,
}

/// A GPU field's history over a time range in steps, for a GPU or every GPU of a node or
/// rack. The history is kept at the configured write resolution (`history.resolution_secs`)
/// as mean, min, max and last per interval, so `max` sees every spike.
#[utoipa::path(get, path = "/api/v1/telemetry/series", params(SeriesParams), tag = "telemetry",
    responses((status = 200, body = SeriesResponse), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn series(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<SeriesParams>,
) -> ApiResult<Json<SeriesResponse>> {
    let step_ms = match q.step.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            fleet_telemetry::rules::parse_duration(s)
                .map_err(|e| ApiError::bad_request(format!("'step': {e}")))?
                .saturating_mul(1000) as i64,
        ),
    };
    let agg = q
        .agg
        .as_deref()
        .map(str::parse::<fleet_core::history::Agg>)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let req = fleet_core::history::SeriesRequest {
        asset: q.asset,
        field: q.field,
        from_ms: q
            .from
            .as_deref()
            .map(|s| parse_time("from", s))
            .transpose()?,
        to_ms: q.to.as_deref().map(|s| parse_time("to", s)).transpose()?,
        step_ms,
        agg,
    };
    Ok(Json(
        st.core
            .telemetry_series(&caller.core_principal(), req)
            .await?
            .into(),
    ))
}

/// What the telemetry pipeline of this process has done: samples ingested, unknown senders by
/// key, unmapped metric names, GPUs tracked and their health counts, events written.
#[utoipa::path(get, path = "/api/v1/telemetry/status", tag = "telemetry",
    responses((status = 200, body = TelemetryStatusView)))]
pub async fn status(
    State(st): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<TelemetryStatusView>> {
    Ok(Json(
        st.core
            .telemetry_status(&caller.core_principal())
            .await?
            .into(),
    ))
}
