//! The one API error type, rendered as RFC 9457 `application/problem+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_db::DbError;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    /// Extra members of the problem document (e.g. `allowed`, `errors`).
    pub extra: serde_json::Map<String, Value>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// RFC 9457 problem document (schema for the OpenAPI description). Some carry more members:
/// `allowed` (an illegal transition's targets), `current_version` (a stale `If-Match`), `job`
/// (the job in the way), `errors` (an import's or a write's refused lines), `rejected`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub ty: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub instance: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            extra: Default::default(),
            headers: vec![],
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail);
        e.headers
            .push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        e
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", detail)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", detail)
    }
    pub fn with(mut self, key: &str, v: Value) -> Self {
        self.extra.insert(key.into(), v);
        self
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        use fleet_model::lifecycle::TransitionError;
        match e {
            DbError::NotFound(m) => ApiError::not_found(m),
            DbError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            DbError::Stale {
                message,
                current_version,
            } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "Precondition failed",
                message,
            )
            .with("current_version", Value::from(current_version)),
            DbError::Transition(t) => {
                let allowed = match &t {
                    TransitionError::Illegal { allowed, .. } => {
                        allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>()
                    }
                    TransitionError::Guarded { .. } => vec![],
                };
                let title = match t {
                    TransitionError::Illegal { .. } => "Illegal transition",
                    TransitionError::Guarded { .. } => "Transition refused",
                };
                ApiError::new(StatusCode::CONFLICT, title, t.to_string())
                    .with("allowed", serde_json::json!(allowed))
            }
            DbError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid input", m)
            }
            DbError::Import(errs) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Import rejected",
                format!("{} problem(s) found; nothing was imported", errs.len()),
            )
            .with("errors", serde_json::to_value(errs).unwrap_or_default()),
            DbError::Crypto(m) => {
                tracing::error!(error = %m, "secret store");
                ApiError::internal(format!("secret store: {m}"))
            }
            other => {
                tracing::error!(error = %other, "database");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage unavailable",
                    "the database failed to answer; retry shortly",
                )
            }
        }
    }
}

/// The core's errors, mapped once: every handler that calls the core returns them as is.
impl From<fleet_core::CoreError> for ApiError {
    fn from(e: fleet_core::CoreError) -> Self {
        use fleet_core::CoreError as C;
        match e {
            C::Forbidden(m) => ApiError::forbidden(m),
            C::NotFound(m) => ApiError::not_found(m),
            C::Unauthenticated(m) => ApiError::unauthorized(m),
            C::Invalid(m) => ApiError::bad_request(m),
            C::Unprocessable(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid input", m)
            }
            C::RateLimited {
                title,
                message,
                retry_after_secs,
            } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, title, message);
                e.headers.push((
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&retry_after_secs.to_string()).expect("digits"),
                ));
                e
            }
            C::Unavailable { title, message } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, title, message)
            }
            C::Conflict {
                title,
                message,
                job,
            } => {
                let e = ApiError::new(StatusCode::CONFLICT, title, message);
                match job {
                    Some(j) => e.with("job", Value::String(j)),
                    None => e,
                }
            }
            C::Upstream { title, message } => {
                ApiError::new(StatusCode::BAD_GATEWAY, title, message)
            }
            C::Store(d) => d.into(),
            C::Internal(m) => {
                tracing::error!(error = %m, "internal");
                ApiError::internal(m)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), Value::String("about:blank".into()));
        body.insert("title".into(), Value::String(self.title.into()));
        body.insert("status".into(), Value::from(self.status.as_u16()));
        body.insert("detail".into(), Value::String(self.detail));
        body.extend(self.extra);
        let mut resp = (
            self.status,
            serde_json::to_string(&Value::Object(body)).unwrap_or_default(),
        )
            .into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        resp
    }
}

/// Makes every error response a problem document: one that is not yet (axum's own answers
/// to a path parameter that does not parse or a method it does not route, the request
/// timeout's 503) is rewritten with its text as `detail`, keeping its other headers.
/// Error responses that already carry a JSON body are left as they are.
pub async fn problem_responses(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(ct.is_empty() || ct.starts_with("text/plain")) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("Error");
    let detail = if text.is_empty() {
        title.to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status, title, detail).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// Turns axum's own rejections (bad JSON, bad query) into problem documents.
pub fn from_rejection(r: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(r.to_string())
}
