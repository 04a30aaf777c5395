//! Authentication (bearer tokens) and authorisation (the route permission table).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fleet_db::Actor;
use fleet_model::rbac::{allows, Permission};

use crate::error::ApiError;
use crate::state::{AppState, Principal};

pub use fleet_core::identity::{hash_password, verify_password};

/// Who may call what: (method, route template, permission). `None` means the
/// route needs no authentication. A route missing here is refused (fail closed).
pub const ROUTES: &[(&str, &str, Option<Permission>)] = {
    use Permission::*;
    &[
        ("POST", "/api/v1/auth/login", None),
        // The GraphQL console's static files; the subscription socket authenticates its
        // bearer token at connection_init (browsers cannot send headers on a WebSocket).
        ("GET", "/api/v1/graphiql", None),
        ("GET", "/api/v1/graphiql/{file}", None),
        ("GET", "/api/v1/graphql/ws", None),
        ("POST", "/api/v1/auth/logout", Some(SelfService)),
        ("GET", "/api/v1/auth/whoami", Some(SelfService)),
        ("GET", "/api/v1/tokens", Some(SelfService)),
        ("POST", "/api/v1/tokens", Some(SelfService)),
        ("DELETE", "/api/v1/tokens/{id}", Some(SelfService)),
        ("GET", "/api/v1/users", Some(UserAdmin)),
        ("POST", "/api/v1/users", Some(UserAdmin)),
        ("GET", "/api/v1/users/{id}", Some(UserAdmin)),
        ("PATCH", "/api/v1/users/{id}", Some(UserAdmin)),
        ("DELETE", "/api/v1/users/{id}", Some(UserAdmin)),
        ("GET", "/api/v1/assets", Some(InventoryRead)),
        ("POST", "/api/v1/assets", Some(InventoryWrite)),
        ("GET", "/api/v1/assets/{id}", Some(InventoryRead)),
        ("PATCH", "/api/v1/assets/{id}", Some(InventoryWrite)),
        ("DELETE", "/api/v1/assets/{id}", Some(InventoryWrite)),
        ("PUT", "/api/v1/assets/{id}/config", Some(InventoryWrite)),
        ("GET", "/api/v1/assets/{id}/versions", Some(InventoryRead)),
        (
            "GET",
            "/api/v1/assets/{id}/versions/{version}",
            Some(InventoryRead),
        ),
        (
            "POST",
            "/api/v1/assets/{id}/versions/{version}/restore",
            Some(InventoryWrite),
        ),
        ("GET", "/api/v1/assets/{id}/diff", Some(InventoryRead)),
        ("GET", "/api/v1/assets/{id}/relations", Some(InventoryRead)),
        ("POST", "/api/v1/relations", Some(InventoryWrite)),
        ("DELETE", "/api/v1/relations/{id}", Some(InventoryWrite)),
        ("GET", "/api/v1/nodes", Some(InventoryRead)),
        ("GET", "/api/v1/nodes/{id}", Some(InventoryRead)),
        (
            "POST",
            "/api/v1/nodes/{id}/transition",
            Some(LifecycleWrite),
        ),
        ("GET", "/api/v1/nodes/{id}/history", Some(InventoryRead)),
        ("PUT", "/api/v1/nodes/{id}/profile", Some(LifecycleWrite)),
        ("GET", "/api/v1/nodes/{id}/validation", Some(InventoryRead)),
        ("GET", "/api/v1/lifecycle", Some(InventoryRead)),
        ("GET", "/api/v1/gpus", Some(InventoryRead)),
        ("GET", "/api/v1/profiles", Some(InventoryRead)),
        ("POST", "/api/v1/profiles", Some(ProfileWrite)),
        ("GET", "/api/v1/profiles/{id}", Some(InventoryRead)),
        ("PUT", "/api/v1/profiles/{id}", Some(ProfileWrite)),
        ("DELETE", "/api/v1/profiles/{id}", Some(ProfileWrite)),
        ("POST", "/api/v1/import", Some(InventoryWrite)),
        ("POST", "/api/v1/discovery", Some(InventoryWrite)),
        ("POST", "/api/v1/discovery/announce", Some(InventoryWrite)),
        ("GET", "/api/v1/changes", Some(InventoryRead)),
        ("GET", "/api/v1/events", Some(InventoryRead)),
        ("GET", "/api/v1/events/stream", Some(InventoryRead)),
        ("GET", "/api/v1/stream", Some(InventoryRead)),
        ("GET", "/api/v1/events/types", Some(InventoryRead)),
        ("GET", "/api/v1/events/dead-letters", Some(EventAdmin)),
        (
            "POST",
            "/api/v1/events/dead-letters/{seq}/redrive",
            Some(EventAdmin),
        ),
        ("POST", "/api/v1/nodes/{id}/power", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/boot", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/media", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/read", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/sel/clear", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/bmc/reset", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/bios", Some(OobAdmin)),
        ("POST", "/api/v1/nodes/{id}/raid", Some(OobAdmin)),
        ("POST", "/api/v1/nodes/{id}/firmware", Some(OobAdmin)),
        ("POST", "/api/v1/nodes/{id}/firmware/upload", Some(OobAdmin)),
        ("GET", "/api/v1/nodes/{id}/bios/diff", Some(OobOperate)),
        ("GET", "/api/v1/nodes/{id}/oplog", Some(InventoryRead)),
        ("POST", "/api/v1/ops/bulk", Some(OobOperate)),
        ("GET", "/api/v1/jobs", Some(InventoryRead)),
        ("GET", "/api/v1/jobs/{id}", Some(InventoryRead)),
        ("POST", "/api/v1/jobs/{id}/cancel", Some(OobOperate)),
        ("GET", "/api/v1/switches/{id}/ports", Some(OobOperate)),
        (
            "POST",
            "/api/v1/switches/{id}/ports/{port}/admin",
            Some(OobAdmin),
        ),
        ("GET", "/api/v1/install-plans", Some(InventoryRead)),
        ("POST", "/api/v1/install-plans", Some(ProfileWrite)),
        ("GET", "/api/v1/install-plans/{name}", Some(InventoryRead)),
        ("GET", "/api/v1/nodes/{id}/provision", Some(InventoryRead)),
        ("POST", "/api/v1/nodes/{id}/provision", Some(OobOperate)),
        ("POST", "/api/v1/nodes/{id}/diagnose", Some(OobOperate)),
        (
            "POST",
            "/api/v1/nodes/{id}/provision/cancel",
            Some(OobOperate),
        ),
        ("POST", "/api/v1/provision/bulk", Some(OobOperate)),
        ("GET", "/api/v1/audit", Some(AuditRead)),
        ("GET", "/api/v1/audit/verify", Some(AuditRead)),
        ("POST", "/api/v1/telemetry/write", Some(TelemetryWrite)),
        ("POST", "/write", Some(TelemetryWrite)),
        ("POST", "/api/v2/write", Some(TelemetryWrite)),
        ("POST", "/api/v2/alerts", Some(AlertWrite)),
        ("GET", "/api/v1/telemetry/status", Some(InventoryRead)),
        ("GET", "/api/v1/telemetry/series", Some(InventoryRead)),
        ("GET", "/api/v1/gpus/{id}/health", Some(InventoryRead)),
        ("GET", "/api/v1/nodes/{id}/health", Some(InventoryRead)),
        ("GET", "/api/v1/switches/{id}/health", Some(InventoryRead)),
        // Each field and mutation is checked by the core.
        ("POST", "/api/v1/graphql", Some(SelfService)),
        ("GET", "/api/v1/graphql/schema", Some(SelfService)),
        ("GET", "/api/v1/alerts", Some(InventoryRead)),
        ("POST", "/api/v1/alerts", Some(AlertWrite)),
        ("POST", "/api/v1/alerts/webhook", Some(AlertWrite)),
        ("GET", "/api/v1/alert-rules", Some(InventoryRead)),
        ("POST", "/api/v1/alert-rules/import", Some(AlertWrite)),
        ("GET", "/api/v1/alert-rules/{name}", Some(InventoryRead)),
        ("PUT", "/api/v1/alert-rules/{name}", Some(AlertWrite)),
        ("DELETE", "/api/v1/alert-rules/{name}", Some(AlertWrite)),
        ("GET", "/api/v1/incidents", Some(InventoryRead)),
        ("GET", "/api/v1/incidents/{id}", Some(InventoryRead)),
        ("POST", "/api/v1/incidents/{id}/ack", Some(IncidentManage)),
        (
            "POST",
            "/api/v1/incidents/{id}/resolve",
            Some(IncidentManage),
        ),
        ("POST", "/api/v1/incidents/{id}/merge", Some(IncidentManage)),
        ("POST", "/api/v1/incidents/{id}/split", Some(IncidentManage)),
        ("GET", "/api/v1/incidents/{id}/plan", Some(InventoryRead)),
        (
            "POST",
            "/api/v1/incidents/{id}/remediate",
            Some(IncidentManage),
        ),
        ("GET", "/api/v1/remediation", Some(InventoryRead)),
        (
            "PUT",
            "/api/v1/remediation/kill-switch",
            Some(RemediationAdmin),
        ),
    ]
};

pub fn route_permission(method: &Method, path: &str) -> Option<Option<Permission>> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, perm)| *perm)
}

/// The token of `Authorization: Bearer <t>`, or `Token <t>` (what InfluxDB clients such as
/// Telegraf send).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .or_else(|| v.strip_prefix("Token "))
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::trim)
}

/// The InfluxDB 1.x write path also takes the token as the password: basic auth or `p=`
/// (InfluxDB v1 clients send credentials that way). Only there: elsewhere tokens stay out of
/// URLs.
fn influx_v1_token(req: &Request) -> Option<String> {
    use base64::Engine;
    let basic = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|up| up.split_once(':').map(|(_, p)| p.to_string()));
    basic.filter(|p| !p.is_empty()).or_else(|| {
        req.uri().query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "p")
                .map(|(_, v)| v.to_string())
                .filter(|v| !v.is_empty())
        })
    })
}

/// The principal of a bearer token (session or API token), through the token cache.
pub async fn authenticate(st: &AppState, token: &str) -> Result<Principal, ApiError> {
    let hash = fleet_db::hash_token(token);
    let now = fleet_db::now_ms();
    // Read before the lookup: a change in between makes the entry stale at once.
    let generation = st.core.identity_generation();
    if let Some(p) = st.tokens.get(&hash, now, generation) {
        return Ok(p);
    }
    match st.store.authenticate_token(token).await? {
        Some((user, tok)) => {
            let p = Principal {
                user,
                token_id: tok.id,
            };
            st.tokens.put(hash, p.clone(), tok.expires_at, generation);
            Ok(p)
        }
        None => Err(ApiError::unauthorized(
            "the token is unknown, expired or revoked; log in again",
        )),
    }
}

/// Authenticates the caller and checks the route's permission.
pub async fn authorize(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
    else {
        return Ok(next.run(req).await);
    };
    // HEAD is answered by the GET handler, under GET's permission.
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    let perm = match route_permission(&method, &path) {
        Some(p) => p,
        None => {
            // A method the route does not serve: 405 with the methods it does.
            let allowed: Vec<&str> = ROUTES
                .iter()
                .filter(|(_, p, _)| *p == path)
                .map(|(m, _, _)| *m)
                .collect();
            if !allowed.is_empty() {
                let mut allow = allowed.join(", ");
                if allowed.contains(&"GET") {
                    allow.push_str(", HEAD");
                }
                let mut resp = ApiError::new(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    format!("{path} answers {allow}, not {}", req.method()),
                )
                .into_response();
                if let Ok(v) = axum::http::HeaderValue::from_str(&allow) {
                    resp.headers_mut().insert(axum::http::header::ALLOW, v);
                }
                return Ok(resp);
            }
            tracing::error!(%path, method = %req.method(), "route has no entry in the permission table");
            return Err(ApiError::forbidden(
                "this route has no permission entry; refusing",
            ));
        }
    };
    let Some(perm) = perm else {
        return Ok(next.run(req).await);
    };
    let v1_token = (path == "/write").then(|| influx_v1_token(&req)).flatten();
    let token = bearer(req.headers())
        .or(v1_token.as_deref())
        .ok_or_else(|| {
            ApiError::unauthorized("missing bearer token: log in with POST /api/v1/auth/login and send 'Authorization: Bearer <token>'")
        })?;
    let principal = authenticate(&st, token).await?;
    if !allows(principal.user.role, perm) {
        return Err(ApiError::forbidden(format!(
            "role '{}' may not {} {}; this needs the {:?} permission",
            principal.user.role.as_str(),
            req.method(),
            path,
            perm
        )));
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// The request's caller as an audit actor: principal, source address, request id.
pub struct Caller {
    pub principal: Principal,
    pub actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("not authenticated"))?;
        let actor = Actor {
            name: principal.user.username.clone(),
            source: source_addr(parts),
            request_id: request_id(&parts.headers),
        };
        Ok(Caller { principal, actor })
    }
}

impl Caller {
    /// The caller as the application core's principal: the user, their role and what the
    /// audit log records about the request.
    pub fn core_principal(&self) -> fleet_core::Principal {
        self.principal
            .core(self.actor.source.clone(), self.actor.request_id.clone())
    }
}

pub fn source_addr(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicates() {
        let mut seen = std::collections::BTreeSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "duplicate {m} {p}");
        }
    }
}

#[cfg(test)]
mod core_mapping {
    //! The route table is a gate in front of the core, which checks again: both must agree,
    //! or a route would promise what the core refuses (or let through what it should not).
    use super::*;
    use fleet_core::ops::Operation;
    use serde_json::{json, Value};

    #[test]
    fn operation_routes_need_what_the_core_needs() {
        let cases: [(&str, &str, Value); 10] = [
            (
                "/api/v1/nodes/{id}/power",
                "power",
                json!({"action": "cycle"}),
            ),
            ("/api/v1/nodes/{id}/boot", "boot", json!({"device": "pxe"})),
            (
                "/api/v1/nodes/{id}/media",
                "media",
                json!({"action": "eject"}),
            ),
            ("/api/v1/nodes/{id}/read", "read", json!({"what": "power"})),
            ("/api/v1/nodes/{id}/sel/clear", "sel", json!({})),
            ("/api/v1/nodes/{id}/bmc/reset", "bmc", json!({})),
            (
                "/api/v1/nodes/{id}/bios",
                "bios",
                json!({"attributes": {"A": 1}}),
            ),
            (
                "/api/v1/nodes/{id}/raid",
                "raid",
                json!({"action": "delete", "controller": "c", "volume": "v"}),
            ),
            (
                "/api/v1/nodes/{id}/firmware",
                "firmware",
                json!({"url": "http://x/fw.bin"}),
            ),
            (
                "/api/v1/switches/{id}/ports/{port}/admin",
                "port",
                json!({"port": "e1", "enabled": true}),
            ),
        ];
        for (path, group, params) in cases {
            let op =
                Operation::from_request(group, &serde_json::from_value(params).unwrap()).unwrap();
            assert_eq!(
                route_permission(&Method::POST, path),
                Some(Some(op.permission())),
                "{path}"
            );
        }
        // Uploading firmware is a firmware operation.
        assert_eq!(
            route_permission(&Method::POST, "/api/v1/nodes/{id}/firmware/upload"),
            Some(Some(Permission::OobAdmin))
        );
    }

    /// Routes whose handler is not (yet) one core use case with its own permission check:
    /// the table is their only gate. Every other authenticated route is checked below or in
    /// `operation_routes_need_what_the_core_needs`; a new route must be placed in one of them.
    const GATED_BY_THE_TABLE_ONLY: &[(&str, &str)] = &[
        ("GET", "/api/v1/auth/whoami"),
        ("PATCH", "/api/v1/assets/{id}"),
        ("GET", "/api/v1/assets/{id}/versions/{version}"),
        ("POST", "/api/v1/assets/{id}/versions/{version}/restore"),
        ("GET", "/api/v1/assets/{id}/diff"),
        ("GET", "/api/v1/assets/{id}/relations"),
        ("POST", "/api/v1/relations"),
        ("DELETE", "/api/v1/relations/{id}"),
        ("GET", "/api/v1/nodes"),
        ("GET", "/api/v1/nodes/{id}"),
        ("PUT", "/api/v1/nodes/{id}/profile"),
        ("GET", "/api/v1/nodes/{id}/validation"),
        ("GET", "/api/v1/lifecycle"),
        ("GET", "/api/v1/gpus"),
        ("GET", "/api/v1/profiles"),
        ("POST", "/api/v1/profiles"),
        ("GET", "/api/v1/profiles/{id}"),
        ("PUT", "/api/v1/profiles/{id}"),
        ("DELETE", "/api/v1/profiles/{id}"),
        ("GET", "/api/v1/events/types"),
        ("GET", "/api/v1/nodes/{id}/bios/diff"),
        ("GET", "/api/v1/nodes/{id}/oplog"),
        ("POST", "/api/v1/ops/bulk"),
        ("GET", "/api/v1/switches/{id}/ports"),
        ("POST", "/api/v1/telemetry/write"),
        ("POST", "/write"),
        ("POST", "/api/v2/write"),
        ("POST", "/api/v2/alerts"),
        ("GET", "/api/v1/telemetry/status"),
        ("GET", "/api/v1/gpus/{id}/health"),
        ("GET", "/api/v1/nodes/{id}/health"),
        ("POST", "/api/v1/graphql"),
        ("GET", "/api/v1/graphql/schema"),
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts/webhook"),
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents/{id}"),
        ("POST", "/api/v1/incidents/{id}/ack"),
        ("POST", "/api/v1/incidents/{id}/resolve"),
    ];

    /// Calls the core use case behind route `(method, path)` as `p` with arguments that
    /// name nothing that exists: a permitted caller gets past the permission check (and
    /// fails later, or not), a refused one gets `Forbidden`. `None`: no such route here.
    async fn call(
        core: &fleet_core::Core,
        bus: &dyn fleet_bus::EventBus,
        p: &fleet_core::Principal,
        method: &str,
        path: &str,
    ) -> Option<Result<(), fleet_core::CoreError>> {
        use fleet_core::provisioning::ProvisionSpec;
        use fleet_model::import::Format;
        type NoEngine<'a> = crate::provision::TinkerbellEngine<'a>;
        let none: Option<&NoEngine> = None;
        let spec = ProvisionSpec::default();
        let audit = fleet_db::AuditFilter {
            limit: 10,
            ..Default::default()
        };
        let events = fleet_db::EventFilter {
            limit: 10,
            ..Default::default()
        };
        let r = match (method, path) {
            ("POST", "/api/v1/auth/logout") => core.logout(p, "no-such-token").await,
            ("GET", "/api/v1/tokens") => core.tokens(p, false).await.map(drop),
            ("POST", "/api/v1/tokens") => core.create_token(p, "t", None).await.map(drop),
            ("DELETE", "/api/v1/tokens/{id}") => core.revoke_token(p, "no-such-token").await,
            ("GET", "/api/v1/users") => core.users(p).await.map(drop),
            ("POST", "/api/v1/users") => core
                .create_user(
                    p,
                    fleet_core::identity::UserSpec {
                        username: "x".into(),
                        password: "short".into(),
                        role: fleet_model::rbac::Role::Viewer,
                    },
                )
                .await
                .map(drop),
            ("GET", "/api/v1/users/{id}") => core.user(p, "no-such-user").await.map(drop),
            ("PATCH", "/api/v1/users/{id}") => core
                .update_user(p, "no-such-user", Default::default())
                .await
                .map(drop),
            ("DELETE", "/api/v1/users/{id}") => core.delete_user(p, "no-such-user").await,
            ("GET", "/api/v1/assets") => core
                .assets(
                    p,
                    &fleet_db::AssetFilter {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
                .map(drop),
            ("POST", "/api/v1/assets") => core
                .create_asset(
                    p,
                    fleet_db::NewAsset {
                        kind: fleet_model::asset::AssetKind::Rack,
                        name: format!("rack-{}", p.name),
                        parent_id: None,
                        labels: Default::default(),
                        config: json!({}),
                        profile_id: None,
                        reason: None,
                    },
                )
                .await
                .map(drop),
            ("GET", "/api/v1/assets/{id}") => core.asset(p, "no-such-asset").await.map(drop),
            ("DELETE", "/api/v1/assets/{id}") => core.delete_asset(p, "no-such-asset").await,
            ("PUT", "/api/v1/assets/{id}/config") => core
                .put_config(p, "no-such-asset", None, json!({}), None)
                .await
                .map(drop),
            ("GET", "/api/v1/assets/{id}/versions") => {
                core.config_versions(p, "no-such-asset").await.map(drop)
            }
            ("POST", "/api/v1/nodes/{id}/transition") => core
                .transition(
                    p,
                    "no-such-node",
                    fleet_model::lifecycle::NodeState::Ready,
                    None,
                )
                .await
                .map(drop),
            ("GET", "/api/v1/nodes/{id}/history") => {
                core.lifecycle_history(p, "no-such-node").await.map(drop)
            }
            ("POST", "/api/v1/import") => core
                .import(p, "not: [valid", Format::Yaml, true)
                .await
                .map(drop),
            ("POST", "/api/v1/discovery") => core
                .discover(p, vec![], None, std::time::Duration::from_secs(1))
                .await
                .map(drop),
            ("POST", "/api/v1/discovery/announce") => core
                .announce(p, Default::default(), &Default::default())
                .await
                .map(drop),
            ("GET", "/api/v1/changes") => core.changes(p, &audit).await.map(drop),
            ("GET", "/api/v1/events") => core.events(p, &events).await.map(drop),
            ("GET", "/api/v1/events/stream") => core.published_events(p, &events).await.map(drop),
            ("GET", "/api/v1/stream") => core
                .stream_scope(p, &["no-such-asset".to_string()], &[])
                .await
                .map(drop),
            ("GET", "/api/v1/events/dead-letters") => {
                core.dead_letters(p, bus, None, 0, 10).await.map(drop)
            }
            ("POST", "/api/v1/events/dead-letters/{seq}/redrive") => {
                core.redrive(p, bus, 999_999).await.map(drop)
            }
            ("GET", "/api/v1/jobs") => core
                .jobs(
                    p,
                    &fleet_db::JobFilter {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
                .map(drop),
            ("GET", "/api/v1/jobs/{id}") => core.job(p, "no-such-job").await.map(drop),
            ("POST", "/api/v1/jobs/{id}/cancel") => core.cancel(p, "no-such-job").await.map(drop),
            ("GET", "/api/v1/install-plans") => core.install_plans(p).await.map(drop),
            ("POST", "/api/v1/install-plans") => core
                .create_install_plan(
                    p,
                    "plan",
                    None,
                    &fleet_tinkerbell::PlanSpec::default(),
                    None,
                )
                .await
                .map(drop),
            ("GET", "/api/v1/install-plans/{name}") => {
                core.install_plan(p, "no-such-plan", None).await.map(drop)
            }
            ("GET", "/api/v1/nodes/{id}/provision") => {
                core.provisioning(p, "no-such-node").await.map(drop)
            }
            ("POST", "/api/v1/nodes/{id}/provision") => core
                .provision(p, none, "no-such-node", &spec)
                .await
                .map(drop),
            ("POST", "/api/v1/nodes/{id}/diagnose") => core
                .diagnose_node(p, none, "no-such-node", None)
                .await
                .map(drop),
            ("POST", "/api/v1/nodes/{id}/provision/cancel") => core
                .cancel_provisioning(p, none, "no-such-node", None)
                .await
                .map(drop),
            ("POST", "/api/v1/provision/bulk") => core
                .bulk_provision(p, none, &Default::default(), &spec, None)
                .await
                .map(drop),
            ("GET", "/api/v1/alert-rules") => core.list_alert_rules(p).await.map(drop),
            ("GET", "/api/v1/alert-rules/{name}") => {
                core.get_alert_rule(p, "no-such-rule").await.map(drop)
            }
            ("PUT", "/api/v1/alert-rules/{name}") => core
                .put_alert_rule(
                    p,
                    "r",
                    fleet_core::alerting::RuleSpec {
                        expr: "DCGM_FI_DEV_GPU_TEMP > 90".into(),
                        ..Default::default()
                    },
                    true,
                    None,
                    None,
                )
                .await
                .map(drop),
            ("DELETE", "/api/v1/alert-rules/{name}") => core
                .delete_alert_rule(p, "no-such-rule", None)
                .await
                .map(drop),
            ("POST", "/api/v1/alert-rules/import") => core
                .import_alert_rules(p, "groups: []", None)
                .await
                .map(drop),
            ("GET", "/api/v1/telemetry/series") => core
                .telemetry_series(
                    p,
                    fleet_core::history::SeriesRequest {
                        asset: "no-such-gpu".into(),
                        field: "gpu_temp".into(),
                        ..Default::default()
                    },
                )
                .await
                .map(drop),
            ("GET", "/api/v1/switches/{id}/health") => {
                core.switch_health(p, "no-such-switch").await.map(drop)
            }
            ("POST", "/api/v1/incidents/{id}/merge") => core
                .merge_incidents(p, "no-such-incident", &["other".into()], None)
                .await
                .map(drop),
            ("POST", "/api/v1/incidents/{id}/split") => core
                .split_incident(p, "no-such-incident", &["fp".into()], None, None)
                .await
                .map(drop),
            ("GET", "/api/v1/incidents/{id}/plan") => {
                core.remediation_plan(p, "no-such-incident").await.map(drop)
            }
            ("POST", "/api/v1/incidents/{id}/remediate") => core
                .remediate_incident(p, "no-such-incident", false, true)
                .await
                .map(drop),
            ("GET", "/api/v1/remediation") => core.remediation_status(p).await.map(drop),
            ("PUT", "/api/v1/remediation/kill-switch") => {
                core.set_kill_switch(p, false, None).await.map(drop)
            }
            ("GET", "/api/v1/audit") => core.audit_log(p, &audit).await.map(drop),
            ("GET", "/api/v1/audit/verify") => core.verify_audit(p).await.map(drop),
            _ => return None,
        };
        Some(r)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_route_needs_what_its_core_use_case_needs() {
        use fleet_model::rbac::Role;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = fleet_db::Store::connect(&fleet_db::StoreOptions::new(url))
            .await
            .unwrap();
        let core = fleet_core::Core::new(store, fleet_core::CoreSettings::new(dir.path().into()));
        let bus = fleet_bus::InProcessBus::new(fleet_bus::Topology::default());
        let operations = [
            "/api/v1/nodes/{id}/power",
            "/api/v1/nodes/{id}/boot",
            "/api/v1/nodes/{id}/media",
            "/api/v1/nodes/{id}/read",
            "/api/v1/nodes/{id}/sel/clear",
            "/api/v1/nodes/{id}/bmc/reset",
            "/api/v1/nodes/{id}/bios",
            "/api/v1/nodes/{id}/raid",
            "/api/v1/nodes/{id}/firmware",
            "/api/v1/nodes/{id}/firmware/upload",
            "/api/v1/switches/{id}/ports/{port}/admin",
        ];
        let mut checked = 0;
        for (m, path, perm) in ROUTES {
            let Some(perm) = perm else { continue };
            if operations.contains(path) || GATED_BY_THE_TABLE_ONLY.contains(&(*m, *path)) {
                continue;
            }
            for role in Role::ALL {
                let p = fleet_core::Principal::user(
                    format!("user-{}", role.as_str()),
                    role.as_str(),
                    role,
                );
                let r = call(&core, &bus, &p, m, path)
                    .await
                    .unwrap_or_else(|| panic!("{m} {path} is neither checked against the core nor listed as gated by the table only"));
                let refused = matches!(r, Err(fleet_core::CoreError::Forbidden(_)));
                assert_eq!(
                    refused,
                    !allows(role, *perm),
                    "{m} {path} for {}: the table says {perm:?}, the core answered {r:?}",
                    role.as_str()
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 52, "routes checked against the core");
        // The list of routes the table alone gates holds only routes, none checked above.
        let admin = fleet_core::Principal::user("u", "admin", Role::Admin);
        for (m, path) in GATED_BY_THE_TABLE_ONLY {
            assert!(
                ROUTES.iter().any(|(rm, rp, _)| rm == m && rp == path),
                "{m} {path} is no route"
            );
            assert!(
                call(&core, &bus, &admin, m, path).await.is_none(),
                "{m} {path} is checked against the core: take it off the list"
            );
        }
    }
}
