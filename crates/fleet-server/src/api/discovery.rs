//! Discovery: registering BMCs, from a list or from a sweep of a subnet for Redfish services.
//! Each BMC found becomes a node in `discovered` with its BMC asset and the password sealed in
//! the secret store (HardwareDiscovered, one transaction); the enricher takes it from there.
//! Registering an address again creates nothing; with new credentials it replaces the stored
//! password and, for a node whose inspection failed, starts the inspection again.

use std::net::Ipv4Addr;
use std::time::Duration;

use axum::extract::State;
use fleet_db::{BmcRegistration, DbError};
use fleet_model::lifecycle::NodeState;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::Json;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Most addresses one sweep may probe (a /20 on one port).
pub const MAX_SWEEP_TARGETS: usize = 4096;

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

/// IPv4 host addresses of a network (no network or broadcast address below /31).
pub fn hosts(cidr: &str) -> Result<Vec<Ipv4Addr>, String> {
    let (ip, len) = cidr
        .split_once('/')
        .ok_or_else(|| format!("'{cidr}' is not a network in CIDR form such as 10.0.8.0/24"))?;
    let ip: Ipv4Addr = ip
        .trim()
        .parse()
        .map_err(|_| format!("'{cidr}': '{ip}' is not an IPv4 address"))?;
    let len: u32 = len
        .trim()
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("'{cidr}': the prefix length must be 0-32"))?;
    let size = 1u64 << (32 - len);
    if size > MAX_SWEEP_TARGETS as u64 {
        return Err(format!(
            "'{cidr}' has {size} addresses; sweep at most {MAX_SWEEP_TARGETS} at once (a /20 or smaller)"
        ));
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(ip) & mask;
    let (first, last) = if len >= 31 {
        (net as u64, net as u64 + size - 1)
    } else {
        (net as u64 + 1, net as u64 + size - 2)
    };
    Ok((first..=last).map(|a| Ipv4Addr::from(a as u32)).collect())
}

/// Whether a Redfish service answers at `base` (its unauthenticated service root).
async fn probe(http: &reqwest::Client, base: &str) -> bool {
    let Ok(r) = http.get(format!("{base}/redfish/v1/")).send().await else {
        return false;
    };
    if !r.status().is_success() {
        return false;
    }
    match r.json::<Value>().await {
        Ok(v) => v.get("RedfishVersion").is_some() || v.get("@odata.id").is_some(),
        Err(_) => false,
    }
}

async fn sweep(st: &AppState, s: &Sweep) -> ApiResult<(usize, Vec<BmcEntry>)> {
    let hosts = hosts(&s.cidr).map_err(ApiError::bad_request)?;
    let scheme = s.scheme.as_deref().unwrap_or("https");
    if !matches!(scheme, "http" | "https") {
        return Err(ApiError::bad_request("sweep.scheme is 'https' or 'http'"));
    }
    let ports = if s.ports.is_empty() {
        vec![if scheme == "http" { 80 } else { 443 }]
    } else {
        s.ports.clone()
    };
    let targets = hosts.len() * ports.len();
    if targets > MAX_SWEEP_TARGETS {
        return Err(ApiError::bad_request(format!(
            "the sweep would probe {targets} addresses; at most {MAX_SWEEP_TARGETS} (fewer ports or a smaller network)"
        )));
    }
    let timeout = Duration::from_millis(s.timeout_ms.unwrap_or(1500).clamp(50, 10_000));
    let concurrency = s.concurrency.unwrap_or(64).clamp(1, 256);
    // The whole sweep must end within the request's deadline.
    let rounds = targets.div_ceil(concurrency) as u128;
    let worst = timeout.as_millis() * rounds;
    let budget = (st.config.request_timeout_secs.saturating_sub(5).max(1) as u128) * 1000;
    if worst > budget {
        return Err(ApiError::bad_request(format!(
            "probing {targets} addresses {concurrency} at a time with a {} ms deadline may take {} s, longer than this request may run ({} s); raise 'concurrency', lower 'timeout_ms' or sweep a smaller network",
            timeout.as_millis(),
            worst / 1000,
            budget / 1000
        )));
    }
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Only the public service root is read; no credentials are sent while probing.
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let bases: Vec<String> = hosts
        .iter()
        .flat_map(|h| ports.iter().map(move |p| format!("{scheme}://{h}:{p}")))
        .collect();
    let found: Vec<String> = futures::stream::iter(bases)
        .map(|b| {
            let http = http.clone();
            async move { probe(&http, &b).await.then_some(b) }
        })
        .buffer_unordered(concurrency)
        .filter_map(|b| async move { b })
        .collect()
        .await;
    let mut found = found;
    found.sort();
    Ok((
        targets,
        found
            .into_iter()
            .map(|address| BmcEntry {
                address,
                protocol: Some("redfish".into()),
                username: s.username.clone(),
                password: s.password.clone(),
                accept_self_signed: s.accept_self_signed,
                rack: s.rack.clone(),
                profile: s.profile.clone(),
                name: None,
                redfish_address: None,
            })
            .collect(),
    ))
}

/// Registers one BMC; errors are reported per entry.
async fn register(st: &AppState, caller: &Caller, e: BmcEntry) -> DiscoveryResult {
    register_with(st, caller, e, None).await
}

/// Registers one BMC, keeping `announced` (what a self-announcing node said) on the BMC asset.
async fn register_with(
    st: &AppState,
    caller: &Caller,
    e: BmcEntry,
    announced: Option<Value>,
) -> DiscoveryResult {
    let mut extra = Map::new();
    let is_announcement = announced.is_some();
    if let Some(a) = announced {
        extra.insert("announced".into(), a);
    }
    if let Some(r) = &e.redfish_address {
        extra.insert("redfish_address".into(), Value::String(r.clone()));
    }
    let reg = BmcRegistration {
        address: e.address.clone(),
        protocol: e.protocol.clone().unwrap_or_else(|| "redfish".into()),
        username: e.username.clone(),
        password: e.password.clone(),
        accept_self_signed: e.accept_self_signed,
        rack: e.rack.clone(),
        profile: e.profile.clone(),
        name: e.name.clone(),
        extra,
        // An announcement never replaces stored credentials with the fleet-wide ones, and only
        // a role that may replace credentials does so by registering an address again.
        keep_existing_credentials: is_announcement
            || !fleet_model::rbac::allows(
                caller.principal.user.role,
                fleet_model::rbac::Permission::CredentialAdmin,
            ),
    };
    let mut out = DiscoveryResult {
        address: e.address.clone(),
        node_id: None,
        node_name: None,
        bmc_id: None,
        created: false,
        credentials_updated: false,
        state: None,
        error: None,
    };
    match st.store.register_bmc(&caller.actor, reg).await {
        Ok(r) => {
            let mut state = r.node.state;
            // New credentials for a node whose inspection failed: inspect again.
            if !r.created && r.node.state == Some(NodeState::InspectionFailed) {
                match st
                    .store
                    .transition(
                        &caller.actor,
                        &r.node.id,
                        NodeState::Inspecting,
                        Some("BMC registered again".into()),
                    )
                    .await
                {
                    Ok((n, _)) => state = n.state,
                    Err(err) => {
                        tracing::warn!(node = %r.node.name, error = %err, "re-inspection not started")
                    }
                }
            }
            out.node_id = Some(r.node.id);
            out.node_name = Some(r.node.name);
            out.bmc_id = Some(r.bmc.id);
            out.created = r.created;
            out.credentials_updated = r.credentials_updated;
            out.state = state;
        }
        Err(err) => {
            out.error = Some(match err {
                DbError::Sqlx(_) | DbError::Migrate(_) => {
                    tracing::error!(error = %err, "registering a BMC failed");
                    "the store failed while registering this BMC; try again".into()
                }
                other => other.to_string(),
            })
        }
    }
    out
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
    if req.bmcs.is_empty() && req.sweep.is_none() {
        return Err(ApiError::bad_request(
            "give 'bmcs' (a list of {address, username, password, ...}) and/or 'sweep' ({cidr, ports, username, password})",
        ));
    }
    if req.bmcs.len() > 10_000 {
        return Err(ApiError::bad_request(
            "at most 10000 BMCs per request; send them in batches",
        ));
    }
    let mut entries = req.bmcs.clone();
    let (probed, found) = match &req.sweep {
        Some(s) => {
            let (probed, found) = sweep(&st, s).await?;
            let n = found.len();
            entries.extend(found);
            (probed, n)
        }
        None => (0, 0),
    };
    let results: Vec<DiscoveryResult> = futures::stream::iter(entries)
        .map(|e| register(&st, &caller, e))
        .buffered(8)
        .collect()
        .await;
    let created = results.iter().filter(|r| r.created).count();
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    Ok(Json(DiscoveryResponse {
        probed,
        found,
        created,
        existing: results.len() - created - failed,
        failed,
        results,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_expand_to_host_addresses() {
        let h = hosts("10.0.8.0/30").unwrap();
        assert_eq!(
            h,
            vec![Ipv4Addr::new(10, 0, 8, 1), Ipv4Addr::new(10, 0, 8, 2)]
        );
        assert_eq!(
            hosts("10.0.8.7/32").unwrap(),
            vec![Ipv4Addr::new(10, 0, 8, 7)]
        );
        assert_eq!(hosts("10.0.8.9/24").unwrap().len(), 254);
        assert_eq!(hosts("127.0.0.0/31").unwrap().len(), 2);
        assert!(hosts("10.0.0.0/8").unwrap_err().contains("at most 4096"));
        assert!(hosts("10.0.0.0").is_err());
        assert!(hosts("10.0.0.x/24").is_err());
        assert!(hosts("10.0.0.0/33").is_err());
    }
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

/// Refuses an announced address that is not an IP address inside the configured BMC networks.
fn announce_address_allowed(networks: &[String], address: &str) -> ApiResult<()> {
    use fleet_model::net::{ip_of, Cidr};
    if networks.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "Self-announcement is not configured",
            "announced BMCs are registered with the fleet-wide announcement credentials, which gpufleet only sends inside the BMC networks: set enricher.announce_networks (e.g. [\"10.0.8.0/22\"])",
        ));
    }
    let ip = ip_of(address).ok_or_else(|| {
        ApiError::bad_request(format!(
            "'{address}' is not an IP address; an announced BMC must give its IP address (a host name could resolve anywhere)"
        ))
    })?;
    for n in networks {
        let net: Cidr = n.parse().map_err(|e: String| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Bad configuration",
                format!("enricher.announce_networks: {e}"),
            )
        })?;
        if net.contains(ip) {
            return Ok(());
        }
    }
    Err(ApiError::forbidden(format!(
        "{ip} is outside the BMC networks of enricher.announce_networks ({}); announcements from there are refused",
        networks.join(", ")
    )))
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
    if cfg.announce_username.is_empty() || cfg.announce_password.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "Self-announcement is not configured",
            "nodes can announce themselves once gpufleet knows which BMC credentials to register them with: set enricher.announce_username and GPUFLEET_ENRICHER__ANNOUNCE_PASSWORD",
        ));
    }
    if a.bmc_address.trim().is_empty() {
        return Err(ApiError::bad_request("'bmc_address' is empty"));
    }
    announce_address_allowed(&cfg.announce_networks, &a.bmc_address)?;
    if let Some(r) = &a.redfish_address {
        announce_address_allowed(&cfg.announce_networks, r)?;
    }
    if let Some(h) = &a.hostname {
        if h.is_empty()
            || h.len() > 253
            || !h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(ApiError::bad_request(format!(
                "'hostname' {h:?} is not a host name (letters, digits, '-', '.', '_'; at most 253)"
            )));
        }
    }
    let mut macs = Vec::new();
    for m in &a.macs {
        match fleet_bmc::inventory::normalize_mac(m) {
            Some(n) => macs.push(n),
            None => return Err(ApiError::bad_request(format!("'{m}' is not a MAC address"))),
        }
    }
    let entry = BmcEntry {
        address: a.bmc_address.trim().to_string(),
        protocol: a.protocol.clone(),
        username: cfg.announce_username.clone(),
        password: cfg.announce_password.clone(),
        accept_self_signed: cfg.announce_accept_self_signed,
        rack: a.rack.clone(),
        profile: a.profile.clone(),
        name: a.hostname.clone(),
        redfish_address: a.redfish_address.clone(),
    };
    let announced = serde_json::json!({"hostname": a.hostname, "serial": a.serial, "macs": macs});
    let out = register_with(&st, &caller, entry, Some(announced)).await;
    if let Some(e) = &out.error {
        return Err(ApiError::bad_request(e.clone()));
    }
    Ok(Json(out))
}
