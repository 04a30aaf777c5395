//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Completes every operation with the error statuses that what sits in front of its handler
/// can answer (authentication, the permission table, the extractors of its path, query and
/// body, the store and the request timeout), and documents every error response as the RFC
/// 9457 problem document it is.
struct ErrorResponses;

/// Routes that answer a JSON body of the wrong shape with 400 (as Alertmanager does), not 422.
const WRONG_SHAPE_IS_400: &[&str] = &["/api/v1/alerts", "/api/v2/alerts", "/api/v1/alerts/webhook"];

/// Routes whose optional JSON body the handler reads itself: an empty body is allowed, any
/// Content-Type is taken, and a body of the wrong shape is 400 (never 415 or 422).
const BODY_READ_BY_HANDLER: &[&str] = &[
    "/api/v1/incidents/{id}/ack",
    "/api/v1/incidents/{id}/resolve",
    "/api/v1/incidents/{id}/remediate",
];

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let secured_by_default = openapi
            .security
            .as_ref()
            .is_some_and(|reqs| !reqs.iter().any(is_anonymous));
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                complete(path, op, secured_by_default);
            }
        }
    }
}

/// An empty security requirement: the operation may be called without credentials.
fn is_anonymous(r: &SecurityRequirement) -> bool {
    serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

fn is_string(schema: &Option<RefOr<Schema>>) -> bool {
    matches!(schema, Some(RefOr::T(Schema::Object(o)))
        if o.schema_type == SchemaType::Type(Type::String))
}

fn complete(path: &str, op: &mut Operation, secured_by_default: bool) {
    let secured = match &op.security {
        None => secured_by_default,
        Some(reqs) => !reqs.iter().any(is_anonymous),
    };
    let params = op.parameters.as_deref().unwrap_or_default();
    let typed_params = params.iter().any(|p| {
        matches!(p.parameter_in, ParameterIn::Query)
            || (matches!(p.parameter_in, ParameterIn::Path) && !is_string(&p.schema))
    });
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let mut add = vec![];
    if secured {
        add.push(401);
        add.push(403);
    }
    if typed_params || op.request_body.is_some() {
        add.push(400);
    }
    if path.contains('{') {
        add.push(404);
    }
    if json_body {
        add.push(413);
        if !BODY_READ_BY_HANDLER.contains(&path) {
            add.push(415);
            if !WRONG_SHAPE_IS_400.contains(&path) {
                add.push(422);
            }
        }
    }
    add.push(503);
    for status in add {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().build()));
    }
    for (code, resp) in op.responses.responses.iter_mut() {
        let RefOr::T(resp) = resp else { continue };
        if !(code.starts_with('4') || code.starts_with('5')) {
            if resp.description.is_empty() {
                resp.description = code
                    .parse()
                    .ok()
                    .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                    .and_then(|c| c.canonical_reason())
                    .unwrap_or("Success")
                    .into();
            }
            continue;
        }
        if resp.description.is_empty() {
            resp.description = describe(code).into();
        }
        resp.content.clear();
        resp.content.insert(
            "application/problem+json".into(),
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
    }
}

/// What an error status means on any route.
fn describe(code: &str) -> &'static str {
    match code {
        "400" => "Bad request: a path, query or body value that does not parse or is out of range",
        "401" => "Not authenticated: no valid token (missing, unknown, expired or revoked), or wrong credentials",
        "403" => "The caller's role lacks the permission this route needs",
        "404" => "Nothing with this id or name",
        "409" => "Conflict with the current state",
        "412" => "If-Match names a version that is no longer current",
        "413" => "The request body is too large",
        "415" => "The request body's Content-Type (or Content-Encoding) is not accepted",
        "422" => "The body is JSON but not of the expected shape, or a value is invalid",
        "429" => "Too many attempts; retry later",
        "502" => "The device (BMC, switch) or upstream service failed to answer",
        "503" => "The database failed to answer or the request timed out; retry shortly",
        _ => "Error",
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gpufleet API", version = "1.0.0", description = "Inventory (CMDB), lifecycle and administration of a fleet of bare-metal GPU servers. Errors are RFC 9457 problem documents. Lists use cursor pagination: pass `next_cursor` back as `cursor`. Versioned resources carry an `ETag`; send it as `If-Match` to avoid lost updates (412 when stale)."),
    modifiers(&Security, &ErrorResponses),
    // Schemas named only by the shared response blocks (`IntoResponses`) of their routes.
    components(schemas(crate::error::Problem, api::dto::AlertIngestReport)),
    security(("bearer" = [])),
    paths(
        api::users::login, api::users::logout, api::users::whoami,
        api::users::list_tokens, api::users::create_token, api::users::revoke_token,
        api::users::list_users, api::users::create_user, api::users::get_user, api::users::patch_user, api::users::delete_user,
        api::assets::list, api::assets::create, api::assets::get, api::assets::patch, api::assets::delete,
        api::assets::put_config, api::assets::versions, api::assets::version, api::assets::restore, api::assets::diff_versions,
        api::assets::relations, api::assets::create_relation, api::assets::delete_relation,
        api::discovery::discover,
        api::discovery::announce,
        api::nodes::list, api::nodes::get, api::nodes::transition, api::nodes::history, api::nodes::assign_profile,
        api::nodes::validation, api::nodes::lifecycle, api::nodes::gpus,
        api::nodes::list_profiles, api::nodes::create_profile, api::nodes::get_profile, api::nodes::update_profile, api::nodes::delete_profile,
        api::events::list, api::events::stream, api::stream::stream, api::events::types, api::events::dead_letters, api::events::redrive,
        api::ops::power, api::ops::boot, api::ops::media, api::ops::read, api::ops::clear_sel, api::ops::bmc_reset,
        api::ops::bios, api::ops::raid, api::ops::firmware, api::ops::oplog, api::ops::bulk,
        api::ops::list_jobs, api::ops::get_job, api::ops::cancel_job,
        api::ops::switch_ports, api::ops::port_admin, api::ops::firmware_upload, api::ops::bios_diff,
        api::provision::list_plans, api::provision::create_plan, api::provision::get_plan,
        api::provision::provision, api::provision::diagnose, api::provision::status, api::provision::cancel, api::provision::bulk,
        api::misc::import, api::misc::changes, api::misc::audit, api::misc::audit_verify,
        api::telemetry::write, api::telemetry::write_v1, api::telemetry::write_v2,
        api::telemetry::gpu_health, api::telemetry::node_health, api::telemetry::switch_health,
        api::telemetry::status,
        api::telemetry::series,
        api::graphql::execute, api::graphql::schema, api::graphql::subscriptions,
        api::graphql::graphiql, api::graphql::graphiql_file,
        api::alerts::post_alerts, api::alerts::post_alerts_v2, api::alerts::webhook, api::alerts::list_alerts,
        api::alerts::list_incidents, api::alerts::get_incident, api::alerts::ack, api::alerts::resolve,
        api::alerts::merge, api::alerts::split,
        api::remediation::plan, api::remediation::remediate, api::remediation::status,
        api::remediation::kill_switch,
        api::rules::list_rules, api::rules::get_rule, api::rules::put_rule, api::rules::delete_rule, api::rules::import_rules,
    ),
    tags(
        (name = "auth", description = "Login, sessions and API tokens"),
        (name = "users", description = "User administration (admin)"),
        (name = "assets", description = "Inventory assets, configuration versions and relations"),
        (name = "nodes", description = "Nodes, lifecycle and GPUs"),
        (name = "profiles", description = "Expected hardware profiles"),
        (name = "inventory", description = "Import and change history"),
        (name = "discovery", description = "Registering BMCs (list or subnet sweep); the enricher inspects what is found"),
        (name = "events", description = "Events (CloudEvents 1.0): query, live stream, catalogue, dead letters"),
        (name = "operations", description = "Out-of-band operations (Redfish, IPMI) as jobs"),
        (name = "provisioning", description = "Install plans and provisioning through Tinkerbell"),
        (name = "audit", description = "Audit log (admin)"),
        (name = "telemetry", description = "GPU telemetry ingest (line protocol, InfluxDB v1/v2 write paths, Prometheus text) and derived health"),
        (name = "graphql", description = "The GraphQL API over the same core (schema: GET /api/v1/graphql/schema)"),
        (name = "alerts", description = "Alert rules evaluated on the telemetry stream, alert ingest (Alertmanager API v2 and webhook) and incidents correlated over the physical graph"),
    )
)]
pub struct ApiDoc;

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
