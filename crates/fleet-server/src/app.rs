//! Router, middleware and the serve loop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

use crate::api::{assets, events, misc, nodes, telemetry, users};
use crate::auth::authorize;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router(st: AppState) -> Router {
    let v1 = Router::new()
        .route("/auth/login", post(users::login))
        .route("/auth/logout", post(users::logout))
        .route("/auth/whoami", get(users::whoami))
        .route("/tokens", get(users::list_tokens).post(users::create_token))
        .route("/tokens/{id}", axum::routing::delete(users::revoke_token))
        .route("/users", get(users::list_users).post(users::create_user))
        .route(
            "/users/{id}",
            get(users::get_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route("/assets", get(assets::list).post(assets::create))
        .route(
            "/assets/{id}",
            get(assets::get).patch(assets::patch).delete(assets::delete),
        )
        .route(
            "/assets/{id}/config",
            axum::routing::put(assets::put_config),
        )
        .route("/assets/{id}/versions", get(assets::versions))
        .route("/assets/{id}/versions/{version}", get(assets::version))
        .route(
            "/assets/{id}/versions/{version}/restore",
            post(assets::restore),
        )
        .route("/assets/{id}/diff", get(assets::diff_versions))
        .route("/assets/{id}/relations", get(assets::relations))
        .route("/relations", post(assets::create_relation))
        .route(
            "/relations/{id}",
            axum::routing::delete(assets::delete_relation),
        )
        .route("/nodes", get(nodes::list))
        .route("/nodes/{id}", get(nodes::get))
        .route("/nodes/{id}/transition", post(nodes::transition))
        .route("/nodes/{id}/history", get(nodes::history))
        .route(
            "/nodes/{id}/profile",
            axum::routing::put(nodes::assign_profile),
        )
        .route("/nodes/{id}/validation", get(nodes::validation))
        .route("/lifecycle", get(nodes::lifecycle))
        .route("/gpus", get(nodes::gpus))
        .route(
            "/profiles",
            get(nodes::list_profiles).post(nodes::create_profile),
        )
        .route(
            "/profiles/{id}",
            get(nodes::get_profile)
                .put(nodes::update_profile)
                .delete(nodes::delete_profile),
        )
        .route("/import", post(misc::import))
        .route("/discovery", post(crate::api::discovery::discover))
        .route("/discovery/announce", post(crate::api::discovery::announce))
        .route("/changes", get(misc::changes))
        .route("/events", get(events::list))
        .route("/events/stream", get(events::stream))
        .route("/stream", get(crate::api::stream::stream))
        .route("/events/types", get(events::types))
        .route("/events/dead-letters", get(events::dead_letters))
        .route("/events/dead-letters/{seq}/redrive", post(events::redrive))
        .route("/nodes/{id}/power", post(crate::api::ops::power))
        .route("/nodes/{id}/boot", post(crate::api::ops::boot))
        .route("/nodes/{id}/media", post(crate::api::ops::media))
        .route("/nodes/{id}/read", post(crate::api::ops::read))
        .route("/nodes/{id}/sel/clear", post(crate::api::ops::clear_sel))
        .route("/nodes/{id}/bmc/reset", post(crate::api::ops::bmc_reset))
        .route("/nodes/{id}/bios", post(crate::api::ops::bios))
        .route("/nodes/{id}/raid", post(crate::api::ops::raid))
        .route("/nodes/{id}/firmware", post(crate::api::ops::firmware))
        .route(
            "/nodes/{id}/firmware/upload",
            post(crate::api::ops::firmware_upload),
        )
        .route("/nodes/{id}/bios/diff", get(crate::api::ops::bios_diff))
        .route("/nodes/{id}/oplog", get(crate::api::ops::oplog))
        .route("/ops/bulk", post(crate::api::ops::bulk))
        .route("/jobs", get(crate::api::ops::list_jobs))
        .route("/jobs/{id}", get(crate::api::ops::get_job))
        .route("/jobs/{id}/cancel", post(crate::api::ops::cancel_job))
        .route("/switches/{id}/ports", get(crate::api::ops::switch_ports))
        .route(
            "/switches/{id}/ports/{port}/admin",
            post(crate::api::ops::port_admin),
        )
        .route(
            "/install-plans",
            get(crate::api::provision::list_plans).post(crate::api::provision::create_plan),
        )
        .route(
            "/install-plans/{name}",
            get(crate::api::provision::get_plan),
        )
        .route(
            "/nodes/{id}/provision",
            get(crate::api::provision::status).post(crate::api::provision::provision),
        )
        .route(
            "/nodes/{id}/diagnose",
            post(crate::api::provision::diagnose),
        )
        .route(
            "/nodes/{id}/provision/cancel",
            post(crate::api::provision::cancel),
        )
        .route("/provision/bulk", post(crate::api::provision::bulk))
        .route(
            "/alerts",
            get(crate::api::alerts::list_alerts).post(crate::api::alerts::post_alerts),
        )
        .route("/alerts/webhook", post(crate::api::alerts::webhook))
        .route("/alert-rules", get(crate::api::rules::list_rules))
        .route("/alert-rules/import", post(crate::api::rules::import_rules))
        .route(
            "/alert-rules/{name}",
            get(crate::api::rules::get_rule)
                .put(crate::api::rules::put_rule)
                .delete(crate::api::rules::delete_rule),
        )
        .route("/incidents", get(crate::api::alerts::list_incidents))
        .route("/incidents/{id}", get(crate::api::alerts::get_incident))
        .route("/incidents/{id}/ack", post(crate::api::alerts::ack))
        .route("/incidents/{id}/resolve", post(crate::api::alerts::resolve))
        .route("/incidents/{id}/merge", post(crate::api::alerts::merge))
        .route("/incidents/{id}/split", post(crate::api::alerts::split))
        .route("/incidents/{id}/plan", get(crate::api::remediation::plan))
        .route(
            "/incidents/{id}/remediate",
            post(crate::api::remediation::remediate),
        )
        .route("/remediation", get(crate::api::remediation::status))
        .route(
            "/remediation/kill-switch",
            axum::routing::put(crate::api::remediation::kill_switch),
        )
        .route("/audit", get(misc::audit))
        .route("/audit/verify", get(misc::audit_verify))
        .route("/graphql", post(crate::api::graphql::execute))
        .route("/graphql/schema", get(crate::api::graphql::schema))
        .route("/graphql/ws", get(crate::api::graphql::subscriptions))
        .route("/graphiql", get(crate::api::graphql::graphiql))
        .route("/graphiql/{file}", get(crate::api::graphql::graphiql_file))
        .route("/telemetry/write", post(telemetry::write))
        .route("/telemetry/status", get(telemetry::status))
        .route("/telemetry/series", get(telemetry::series))
        .route("/gpus/{id}/health", get(telemetry::gpu_health))
        .route("/nodes/{id}/health", get(telemetry::node_health))
        .route("/switches/{id}/health", get(telemetry::switch_health))
        .route_layer(middleware::from_fn_with_state(st.clone(), authorize));

    // The InfluxDB-compatible write paths (Telegraf's influxdb and influxdb_v2 outputs).
    let influx = Router::new()
        .route("/write", post(telemetry::write_v1))
        .route("/api/v2/write", post(telemetry::write_v2))
        .route("/api/v2/alerts", post(crate::api::alerts::post_alerts_v2))
        .route_layer(middleware::from_fn_with_state(st.clone(), authorize));

    let spec = crate::openapi::spec();
    Router::new()
        .nest("/api/v1", v1)
        .merge(influx)
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", spec))
        .route("/", get(index))
        .route("/healthz", get(misc::healthz))
        .route("/readyz", get(misc::readyz))
        .route("/metrics", get(misc::metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), access_log))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(st.config.request_timeout_secs),
        ))
        .layer(middleware::map_response(crate::error::problem_responses))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("the server failed while handling this request").into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(st)
}

async fn index() -> Html<&'static str> {
    Html("<!doctype html><title>gpufleet</title><h1>gpufleet</h1><ul><li><a href=\"/api/v1/docs/\">API documentation</a></li><li><a href=\"/api/v1/openapi.json\">OpenAPI description</a></li><li><a href=\"/healthz\">health</a>, <a href=\"/readyz\">readiness</a>, <a href=\"/metrics\">metrics</a></li></ul>")
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}; see /api/v1/docs",
        req.method(),
        req.uri().path()
    ))
}

/// Access log and HTTP metrics.
async fn access_log(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let rid = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let h = req.headers();
    let has_body = h
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or_else(
            || h.contains_key(axum::http::header::TRANSFER_ENCODING),
            |n| n > 0,
        );
    let http1 = req.version() <= axum::http::Version::HTTP_11;
    let mut resp = next.run(req).await;
    // A request refused before its body was read leaves that body on the connection, which
    // is then dropped after the answer: say so (HTTP/1.1), so that a client does not send its
    // next request on a connection about to close.
    let s = resp.status();
    if http1 && has_body && (s.is_client_error() || s.is_server_error()) {
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let secs = start.elapsed().as_secs_f64();
    st.metrics
        .observe(method.as_str(), &route, resp.status().as_u16(), secs);
    tracing::info!(target: "access", method = %method, path = %path, status = resp.status().as_u16(), ms = format!("{:.2}", secs * 1000.0), request_id = %rid);
    resp
}

/// Serves until `shutdown` is cancelled, then drains in-flight requests.
pub async fn serve(
    st: AppState,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    serve_on(st, listener, shutdown).await
}

/// Serves the API on any listener of connections with a peer address (plain TCP or
/// [`crate::tls::TlsListener`]).
pub async fn serve_on<L>(
    st: AppState,
    listener: L,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    use axum::serve::ListenerExt;
    if st.config.operations.worker {
        st.core.sweep_uploads().await;
        st.core.start_worker(shutdown.clone());
    }
    // Telemetry: missing-telemetry ticks and CMDB index refresh for this process's ingest.
    st.core.start_telemetry(shutdown.clone());
    if let Some(s) = st.config.telemetry.scrape_settings() {
        st.core.start_scraper(s, shutdown.clone());
    }
    if let Some(s) = st.config.telemetry.network_settings() {
        st.core.start_network_watch(s, shutdown.clone());
    }
    let streams_done = st.streams_done.clone();
    let app = router(st);
    axum::serve(
        // `tap_io` gives any listener whose address is a SocketAddr the peer address as
        // connect info, as a TcpListener has it.
        listener.tap_io(|_| {}),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.cancelled().await;
        streams_done.cancel();
    })
    .await?;
    Ok(())
}
