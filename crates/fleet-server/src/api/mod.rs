//! REST API v1: handlers, request/response shapes, extractors.

pub mod alerts;
pub mod assets;
pub mod discovery;
pub mod dto;
pub mod events;
pub mod graphql;
pub mod misc;
pub mod nodes;
pub mod ops;
pub mod provision;
pub mod remediation;
pub mod rules;
pub mod stream;
pub mod telemetry;
pub mod users;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use fleet_model::asset::Asset;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::error::ApiError;

/// JSON body extractor whose errors are problem documents.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::new(r.status(), "Invalid request body", r.body_text())
    }
}

/// Query extractor whose errors are problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

pub fn encode_cursor(last_id: &str) -> String {
    B64.encode(last_id.as_bytes())
}

pub fn decode_cursor(c: &str) -> Result<String, ApiError> {
    B64.decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("'cursor' is not a cursor returned by this API"))
}

/// The form of every time the interfaces show (REST, gRPC, GraphQL): RFC 3339 UTC with
/// milliseconds.
pub use fleet_model::timefmt::rfc3339;

/// Parses an RFC 3339 time or Unix milliseconds.
pub fn parse_time(field: &str, s: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "'{field}' must be an RFC 3339 time (2026-01-31T12:00:00Z) or Unix milliseconds"
            ))
        })
}

/// `If-Match: "3"` → Some(3). `*` or absent → None.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not ASCII"))?
        .trim();
    if s == "*" {
        return Ok(None);
    }
    s.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "If-Match '{s}' is not an ETag from this API (e.g. \"3\")"
            ))
        })
}

pub fn etag(version: i64) -> (axum::http::HeaderName, HeaderValue) {
    (
        axum::http::header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).expect("ascii"),
    )
}

/// Resolves an optional profile id or name given in a request body; an
/// unknown profile is invalid input (422).
pub async fn profile_id(
    st: &crate::state::AppState,
    profile: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let Some(p) = profile else { return Ok(None) };
    match st.store.get_profile(p).await {
        Ok(prof) => Ok(Some(prof.id)),
        Err(fleet_db::DbError::NotFound(_)) => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            format!("profile '{p}' does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Distinguishes an absent field from an explicit `null`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Metadata {
    pub labels: BTreeMap<String, String>,
    /// Configuration version, also the ETag.
    pub version: i64,
    pub parent_id: Option<String>,
    pub rack_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<fleet_model::lifecycle::NodeState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_entered_at: Option<String>,
    /// When the node must have left its state (absent: no deadline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<String>,
    /// Past its state's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub address: Option<String>,
    /// A node's last failed inspection: why, and when (node detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_inspection_failure: Option<InspectionFailure>,
}

/// Why a node's inspection failed (the reason of its last step into `inspection_failed`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionFailure {
    pub reason: String,
    pub at: String,
    pub actor: String,
}

/// An asset as the API shows it: `{id, kind, name, metadata, spec, status}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    pub id: String,
    pub kind: fleet_model::asset::AssetKind,
    pub name: String,
    pub metadata: Metadata,
    /// The versioned configuration document. Secrets are never shown.
    #[schema(value_type = Object)]
    pub spec: Value,
    pub status: AssetStatus,
}

impl AssetView {
    pub fn from(a: Asset, deadlines: &fleet_model::lifecycle::Deadlines) -> AssetView {
        let now = fleet_db::now_ms();
        let (deadline_at, stuck) = match (a.state, a.state_entered_at) {
            (Some(s), Some(t)) => (
                deadlines.get(s).map(|d| rfc3339(t + d as i64 * 1000)),
                Some(deadlines.is_stuck(s, t, now)),
            ),
            _ => (None, None),
        };
        AssetView {
            id: a.id,
            kind: a.kind,
            name: a.name,
            metadata: Metadata {
                labels: a.labels,
                version: a.version,
                parent_id: a.parent_id,
                rack_id: a.rack_id,
                created_at: rfc3339(a.created_at),
                updated_at: rfc3339(a.updated_at),
            },
            spec: a.config,
            status: AssetStatus {
                state: a.state,
                state_entered_at: a.state_entered_at.map(rfc3339),
                deadline_at,
                stuck,
                profile_id: a.profile_id,
                model: a.model,
                serial: a.serial,
                address: a.address,
                last_inspection_failure: None,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetPage {
    pub items: Vec<AssetView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The node `id` (an id or a name); 404 when there is none.
pub(crate) async fn node(st: &crate::state::AppState, id: &str) -> Result<Asset, ApiError> {
    Ok(st.core.node(id).await?)
}
