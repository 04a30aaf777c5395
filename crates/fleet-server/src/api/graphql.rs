//! REST routes of the GraphQL API: the endpoint and its schema.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Json;
use crate::auth::Caller;
use crate::error::Problem;
use crate::state::AppState;

/// Execute a GraphQL query or mutation (`{query, variables, operationName}`). Any
/// authenticated caller may ask; each field and mutation needs the permission its core use case
/// needs, and answers an error with `extensions.code` `FORBIDDEN` otherwise. Errors of the
/// query itself (syntax, unknown fields, depth over 12, complexity over 5,000) come back as
/// GraphQL `errors` with status 200, as GraphQL clients expect.
#[utoipa::path(post, path = "/api/v1/graphql", tag = "graphql",
    request_body(content = Object, content_type = "application/json", description = "GraphQL request: query, variables, operationName"),
    responses((status = 200, content_type = "application/json", body = Object, description = "GraphQL response: data and errors"),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn execute(
    State(st): State<AppState>,
    caller: Caller,
    Json(req): Json<async_graphql::Request>,
) -> impl IntoResponse {
    let resp = crate::graphql::execute(&st, caller.core_principal(), req).await;
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&resp).unwrap_or_default(),
    )
}

/// The GraphQL schema (SDL), as served.
#[utoipa::path(get, path = "/api/v1/graphql/schema", tag = "graphql",
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = Problem)))]
pub async fn schema(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        st.graphql.sdl(),
    )
}
