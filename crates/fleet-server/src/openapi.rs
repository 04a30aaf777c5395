//! The OpenAPI 3.1 description, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

#[derive(OpenApi)]
#[openapi(
    info(title = "gpufleet API", version = "1.0.0", description = "Inventory (CMDB), lifecycle and administration of a fleet of bare-metal GPU servers. Errors are RFC 9457 problem documents. Lists use cursor pagination: pass `next_cursor` back as `cursor`. Versioned resources carry an `ETag`; send it as `If-Match` to avoid lost updates (412 when stale)."),
    modifiers(&Security),
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
        api::events::list, api::events::stream, api::events::types, api::events::dead_letters, api::events::redrive,
        api::ops::power, api::ops::boot, api::ops::media, api::ops::read, api::ops::clear_sel,
        api::ops::bios, api::ops::raid, api::ops::firmware, api::ops::oplog, api::ops::bulk,
        api::ops::list_jobs, api::ops::get_job, api::ops::cancel_job,
        api::ops::switch_ports, api::ops::port_admin, api::ops::firmware_upload, api::ops::bios_diff,
        api::provision::list_plans, api::provision::create_plan, api::provision::get_plan,
        api::provision::provision, api::provision::status, api::provision::cancel, api::provision::bulk,
        api::misc::import, api::misc::changes, api::misc::audit, api::misc::audit_verify,
        api::telemetry::write, api::telemetry::write_v1, api::telemetry::write_v2,
        api::telemetry::gpu_health, api::telemetry::node_health, api::telemetry::status,
        api::graphql::execute, api::graphql::schema, api::graphql::subscriptions,
        api::graphql::graphiql, api::graphql::graphiql_file,
        api::alerts::post_alerts, api::alerts::post_alerts_v2, api::alerts::webhook, api::alerts::list_alerts,
        api::alerts::list_incidents, api::alerts::get_incident, api::alerts::ack, api::alerts::resolve,
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
        (name = "alerts", description = "Alert ingest (Alertmanager API v2 and webhook) and incidents correlated over the physical graph"),
    )
)]
pub struct ApiDoc;

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
