//! Discovery: registering BMCs, from a list or from a sweep of a subnet for Redfish services.
//! Each BMC found becomes a node in `discovered` with its BMC asset and the password sealed in
//! the secret store (HardwareDiscovered, one transaction); the enricher takes it from there.
//! Registering an address again creates nothing; with new credentials it replaces the stored
//! password and, for a node whose inspection failed, starts the inspection again.

use std::time::Duration;

use axum::extract::State;
use fleet_core::discovery as core;
use fleet_model::lifecycle::NodeState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Json;
use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

pub use fleet_core::discovery::{hosts, MAX_SWEEP_TARGETS};

/// One BMC to register. The password is sealed in the secret store and never returned.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BmcEntry {
    /// Host, host:port or URL of the BMC (`https://` is assumed for a bare Redfish host).
    pub address: String,
    /// `redfish` (default) or `ipmi`.
    #[serde(default)]
    pub protocol: Option<String>,
    pub username: String,
    pub password: String,
    /// Accept a self-signed TLS certificate from this BMC.
    #[serde(default)]
    pub accept_self_signed: bool,
    /// Rack (id or name) the node goes into.
    #[serde(default)]
    pub rack: Option<String>,
    /// Expected profile (id or name).
    #[serde(default)]
    pub profile: Option<String>,
    /// Node name (default `node-<host:port>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Redfish URL of a BMC registered with protocol `ipmi` (the inventory is read over Redfish).
    #[serde(default)]
    pub redfish_address: Option<String>,
}

/// A subnet to probe for Redfish services (`GET /redfish/v1/` without credentials).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// IPv4 network, e.g. `10.0.8.0/24` (at most 4096 addresses × ports).
    pub cidr: String,
    /// Ports to probe (default 443).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// `https` (default) or `http`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Credentials every BMC found is registered with.
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub accept_self_signed: bool,
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    /// Deadline of one probe in milliseconds (default 1500).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Probes in flight at once (default 64, at most 256).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryRequest {
    #[serde(default)]
    pub bmcs: Vec<BmcEntry>,
    #[serde(default)]
    pub sweep: Option<Sweep>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscoveryResult {
    /// The BMC address as given (or as found by the sweep).
    pub address: String,
    pub node_id: Option<String>,
    pub node_name: Option<String>,
    pub bmc_id: Option<String>,
    /// A new node was created.
    pub created: bool,
    /// The stored credentials were replaced.
    pub credentials_updated: bool,
    /// The node's lifecycle state after registration.
    pub state: Option<NodeState>,
    /// Why this BMC was not registered.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscoveryResponse {
    pub results: Vec<DiscoveryResult>,
    /// Addresses the sweep probed.
    pub probed: usize,
    /// Redfish services the sweep found.
    pub found: usize,
    pub created: usize,
    pub existing: usize,
    pub failed: usize,
}

impl From<BmcEntry> for core::BmcSpec {
    fn from(e: BmcEntry) -> Self {
        core::BmcSpec {
            address: e.address,
            protocol: e.protocol,
            username: e.username,
            password: e.password,
            accept_self_signed: e.accept_self_signed,
            rack: e.rack,
            profile: e.profile,
            name: e.name,
            redfish_address: e.redfish_address,
        }
    }
}

impl From<&Sweep> for core::SweepSpec {
    fn from(s: &Sweep) -> Self {
        core::SweepSpec {
            cidr: s.cidr.clone(),
            ports: s.ports.clone(),
            scheme: s.scheme.clone(),
            username: s.username.clone(),
            password: s.password.clone(),
            accept_self_signed: s.accept_self_signed,
            rack: s.rack.clone(),
            profile: s.profile.clone(),
            timeout_ms: s.timeout_ms,
            concurrency: s.concurrency,
        }
    }
}

impl From<core::Registered> for DiscoveryResult {
    fn from(r: core::Registered) -> Self {
        DiscoveryResult {
            address: r.address,
            node_id: r.node_id,
            node_name: r.node_name,
            bmc_id: r.bmc_id,
            created: r.created,
            credentials_updated: r.credentials_updated,
            state: r.state,
            error: r.error,
        }
    }
}

/// Registers BMCs (a list and/or the Redfish services found in a subnet): each becomes a node
/// in `discovered` with its BMC (HardwareDiscovered), which the enricher inspects. Idempotent
/// on the BMC address. Per-BMC problems are reported in `results[].error`.
#[utoipa::path(post, path = "/api/v1/discovery", request_body = DiscoveryRequest, tag = "discovery",
    responses((status = 200, body = DiscoveryResponse), (status = 400, body = Problem)))]
pub async fn discover(
    State(st): State<AppState>,
    caller: Caller,
    Json(req): Json<DiscoveryRequest>,
) -> ApiResult<Json<DiscoveryResponse>> {
    // The whole sweep must end within the request's deadline.
    let budget = Duration::from_secs(st.config.request_timeout_secs.saturating_sub(5).max(1));
    let sweep = req.sweep.as_ref().map(core::SweepSpec::from);
    let d = st
        .core
        .discover(
            &caller.core_principal(),
            req.bmcs.into_iter().map(Into::into).collect(),
            sweep.as_ref(),
            budget,
        )
        .await?;
    Ok(Json(DiscoveryResponse {
        probed: d.probed,
        found: d.found,
        created: d.created,
        existing: d.existing,
        failed: d.failed,
        results: d.results.into_iter().map(Into::into).collect(),
    }))
}

/// A node announcing itself (its discovery image or an agent on its OS): where its BMC is, and
/// what the node knows of itself. The BMC is registered with the configured announcement
/// credentials (`enricher.announce_username` / `announce_password`), exactly as `POST
/// /api/v1/discovery` would; what the node said is kept on the BMC asset as `announced`.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// Host, host:port or URL of the node's BMC.
    pub bmc_address: String,
    /// `redfish` (default) or `ipmi` (then `redfish_address` is needed for the inventory).
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub redfish_address: Option<String>,
    /// The node's host name; becomes the node's name when it is new.
    #[serde(default)]
    pub hostname: Option<String>,
    /// System serial number as the OS reads it (SMBIOS).
    #[serde(default)]
    pub serial: Option<String>,
    /// MAC addresses of the node's NICs.
    #[serde(default)]
    pub macs: Vec<String>,
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
}

/// A node announces itself: its BMC is registered with the configured announcement
/// credentials and inspected like any discovered BMC. Idempotent on the BMC address. The
/// address must be an IP address inside `enricher.announce_networks`: the announcement
/// credentials are fleet-wide and go to no other host.
#[utoipa::path(post, path = "/api/v1/discovery/announce", request_body = Announcement, tag = "discovery",
    responses((status = 200, body = DiscoveryResult), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn announce(
    State(st): State<AppState>,
    caller: Caller,
    Json(a): Json<Announcement>,
) -> ApiResult<Json<DiscoveryResult>> {
    let cfg = &st.config.enricher;
    let settings = core::AnnounceSettings {
        username: cfg.announce_username.clone(),
        password: cfg.announce_password.clone(),
        accept_self_signed: cfg.announce_accept_self_signed,
        networks: cfg.announce_networks.clone(),
    };
    let out = st
        .core
        .announce(
            &caller.core_principal(),
            core::Announcement {
                bmc_address: a.bmc_address,
                protocol: a.protocol,
                redfish_address: a.redfish_address,
                hostname: a.hostname,
                serial: a.serial,
                macs: a.macs,
                rack: a.rack,
                profile: a.profile,
            },
            &settings,
        )
        .await?;
    Ok(Json(out.into()))
}
