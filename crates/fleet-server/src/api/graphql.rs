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

/// GraphQL subscriptions over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`):
/// `subscription { events(afterSequence, types, subject) { ... } }`. The bearer token comes in
/// the upgrade request's `Authorization` header or, from browsers (which cannot set headers on
/// a WebSocket), in the `connection_init` payload as `{"Authorization": "Bearer <token>"}`; an
/// unknown or missing token ends the connection at `connection_init`.
#[utoipa::path(get, path = "/api/v1/graphql/ws", tag = "graphql",
    responses((status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Not a WebSocket upgrade request"),
        (status = 426, body = Problem, content_type = "application/problem+json", description = "The connection cannot be upgraded")))]
pub async fn subscriptions(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    protocol: Result<async_graphql_axum::GraphQLProtocol, axum::http::StatusCode>,
    ws: Result<
        axum::extract::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> axum::response::Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => {
            let status = r.status();
            return crate::error::ApiError::new(status, "Not a WebSocket upgrade", r.body_text())
                .into_response();
        }
    };
    let Ok(protocol) = protocol else {
        return crate::error::ApiError::bad_request(
            "ask for the 'graphql-transport-ws' (or 'graphql-ws') WebSocket subprotocol",
        )
        .into_response();
    };
    let header_token = bearer_value(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let schema = st.graphql.clone();
    ws.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            async_graphql_axum::GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = header_token
                        .or_else(|| {
                            bearer_value(
                                payload
                                    .get("Authorization")
                                    .or_else(|| payload.get("authorization"))
                                    .and_then(|v| v.as_str()),
                            )
                        })
                        .ok_or_else(|| {
                            async_graphql::Error::new(
                                "missing bearer token: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                            )
                        })?;
                    let p = crate::auth::authenticate(&st, &token)
                        .await
                        .map_err(|e| async_graphql::Error::new(e.detail))?;
                    let (caller, by_id, children) =
                        crate::graphql::request_data(&st, p.core(None, None));
                    let mut data = async_graphql::Data::default();
                    data.insert(caller);
                    data.insert(by_id);
                    data.insert(children);
                    Ok(data)
                })
                .serve()
        })
}

fn bearer_value(v: Option<&str>) -> Option<String> {
    v.and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    })
    .map(str::trim)
    .filter(|t| !t.is_empty())
    .map(str::to_string)
}

/// The browser files of the GraphQL console, as `scripts/graphiql.sh` installs them.
const GRAPHIQL_FILES: &[(&str, &str)] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.css", "text/css; charset=utf-8"),
    ("react.production.min.js", "text/javascript; charset=utf-8"),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
    ),
];

fn graphiql_missing(st: &AppState) -> crate::error::ApiError {
    crate::error::ApiError::not_found(if st.config.graphiql_dir.as_os_str().is_empty() {
        "the GraphQL console is not installed: run scripts/graphiql.sh and set graphiql_dir (GPUFLEET_GRAPHIQL_DIR) to the folder it prints".to_string()
    } else {
        format!(
            "the GraphQL console's files are not in {}: run scripts/graphiql.sh",
            st.config.graphiql_dir.display()
        )
    })
}

/// GraphiQL, the GraphQL console, from the files in `graphiql_dir` (nothing is loaded from any
/// other site). Put `{"Authorization": "Bearer <token>"}` in its headers editor.
#[utoipa::path(get, path = "/api/v1/graphiql", tag = "graphql",
    responses((status = 200, content_type = "text/html", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "graphiql_dir is not set or lacks the files")))]
pub async fn graphiql(State(st): State<AppState>) -> axum::response::Response {
    let dir = &st.config.graphiql_dir;
    if dir.as_os_str().is_empty() || !GRAPHIQL_FILES.iter().all(|(f, _)| dir.join(f).is_file()) {
        return graphiql_missing(&st).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        GRAPHIQL_PAGE,
    )
        .into_response()
}

/// One of the console's files.
#[utoipa::path(get, path = "/api/v1/graphiql/{file}", tag = "graphql",
    params(("file" = String, Path, description = "graphiql.min.js, graphiql.min.css, react.production.min.js or react-dom.production.min.js")),
    responses((status = 200, content_type = "text/javascript", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn graphiql_file(
    State(st): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> axum::response::Response {
    let Some((name, ty)) = GRAPHIQL_FILES.iter().find(|(f, _)| *f == file) else {
        return crate::error::ApiError::not_found(format!("no console file '{file}'"))
            .into_response();
    };
    match tokio::fs::read(st.config.graphiql_dir.join(name)).await {
        Ok(bytes) if !st.config.graphiql_dir.as_os_str().is_empty() => (
            [
                (header::CONTENT_TYPE, *ty),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        _ => graphiql_missing(&st).into_response(),
    }
}

/// The console page: the files above, GraphiQL against `/api/v1/graphql`, subscriptions
/// through `/api/v1/graphql/ws`.
const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gpufleet GraphQL console</title>
<style>body { margin: 0; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="/api/v1/graphiql/graphiql.min.css">
</head>
<body>
<div id="graphiql">Loading the console…</div>
<script src="/api/v1/graphiql/react.production.min.js"></script>
<script src="/api/v1/graphiql/react-dom.production.min.js"></script>
<script src="/api/v1/graphiql/graphiql.min.js"></script>
<script>
  const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/graphql/ws";
  const fetcher = GraphiQL.createFetcher({ url: "/api/v1/graphql", subscriptionUrl: wsUrl });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultHeaders: '{"Authorization": "Bearer <token>"}',
      defaultEditorToolsVisibility: "headers",
    })
  );
</script>
</body>
</html>
"#;
