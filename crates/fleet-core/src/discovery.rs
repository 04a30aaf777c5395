//! Discovery: registering BMCs, from a list or from a sweep of a subnet for Redfish services,
//! or from a node announcing itself. Each BMC found becomes a node in `discovered` with its
//! BMC asset and the password sealed in the secret store (HardwareDiscovered, one
//! transaction); the enricher takes it from there. Registering an address again creates
//! nothing; with new credentials (only for a principal with `CredentialAdmin`) it replaces the
//! stored password and, for a node whose inspection failed, starts the inspection again.
//! Everything here needs `InventoryWrite`.

use std::net::Ipv4Addr;
use std::time::Duration;

use fleet_db::{BmcRegistration, DbError};
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::Core;

/// Most addresses one sweep may probe (a /20 on one port).
pub const MAX_SWEEP_TARGETS: usize = 4096;

/// Most BMCs one request may register.
pub const MAX_BMCS: usize = 10_000;

/// One BMC to register.
#[derive(Debug, Clone, Default)]
pub struct BmcSpec {
    /// Host, host:port or URL of the BMC.
    pub address: String,
    /// `redfish` (default) or `ipmi`.
    pub protocol: Option<String>,
    pub username: String,
    pub password: String,
    pub accept_self_signed: bool,
    /// Rack (id or name) the node goes into.
    pub rack: Option<String>,
    /// Expected profile (id or name).
    pub profile: Option<String>,
    /// Node name (default `node-<host:port>`).
    pub name: Option<String>,
    /// Redfish URL of a BMC registered with protocol `ipmi`.
    pub redfish_address: Option<String>,
}

/// A subnet to probe for Redfish services (`GET /redfish/v1/` without credentials).
#[derive(Debug, Clone, Default)]
pub struct SweepSpec {
    pub cidr: String,
    /// Ports to probe (default 443, or 80 for `http`).
    pub ports: Vec<u16>,
    /// `https` (default) or `http`.
    pub scheme: Option<String>,
    /// Credentials every BMC found is registered with.
    pub username: String,
    pub password: String,
    pub accept_self_signed: bool,
    pub rack: Option<String>,
    pub profile: Option<String>,
    /// Deadline of one probe (default 1500 ms).
    pub timeout_ms: Option<u64>,
    /// Probes in flight at once (default 64, at most 256).
    pub concurrency: Option<usize>,
}

/// What registering one BMC did.
#[derive(Debug, Clone, Default)]
pub struct Registered {
    pub address: String,
    pub node_id: Option<String>,
    pub node_name: Option<String>,
    pub bmc_id: Option<String>,
    pub created: bool,
    pub credentials_updated: bool,
    pub state: Option<NodeState>,
    /// Why this BMC was not registered.
    pub error: Option<String>,
}

/// What a discovery request did.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub results: Vec<Registered>,
    pub probed: usize,
    pub found: usize,
    pub created: usize,
    pub existing: usize,
    pub failed: usize,
}

/// A node announcing itself (its discovery image or an agent on its OS).
#[derive(Debug, Clone, Default)]
pub struct Announcement {
    pub bmc_address: String,
    pub protocol: Option<String>,
    pub redfish_address: Option<String>,
    /// Becomes the node's name when it is new.
    pub hostname: Option<String>,
    pub serial: Option<String>,
    pub macs: Vec<String>,
    pub rack: Option<String>,
    pub profile: Option<String>,
}

/// The fleet-wide credentials announced BMCs are registered with, and where they may be.
#[derive(Debug, Clone, Default)]
pub struct AnnounceSettings {
    pub username: String,
    pub password: String,
    pub accept_self_signed: bool,
    /// The BMC networks (CIDR); the credentials go to no address outside them.
    pub networks: Vec<String>,
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

/// Probes a subnet; the number of addresses probed and a BMC to register per service found.
/// The whole sweep must fit in `budget`.
async fn sweep(s: &SweepSpec, budget: Duration) -> CoreResult<(usize, Vec<BmcSpec>)> {
    let hosts = hosts(&s.cidr).map_err(CoreError::Invalid)?;
    let scheme = s.scheme.as_deref().unwrap_or("https");
    if !matches!(scheme, "http" | "https") {
        return Err(CoreError::Invalid(
            "sweep.scheme is 'https' or 'http'".into(),
        ));
    }
    let ports = if s.ports.is_empty() {
        vec![if scheme == "http" { 80 } else { 443 }]
    } else {
        s.ports.clone()
    };
    let targets = hosts.len() * ports.len();
    if targets > MAX_SWEEP_TARGETS {
        return Err(CoreError::Invalid(format!(
            "the sweep would probe {targets} addresses; at most {MAX_SWEEP_TARGETS} (fewer ports or a smaller network)"
        )));
    }
    let timeout = Duration::from_millis(s.timeout_ms.unwrap_or(1500).clamp(50, 10_000));
    let concurrency = s.concurrency.unwrap_or(64).clamp(1, 256);
    let rounds = targets.div_ceil(concurrency) as u128;
    let worst = timeout.as_millis() * rounds;
    let budget = budget.as_millis();
    if worst > budget {
        return Err(CoreError::Invalid(format!(
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
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let bases: Vec<String> = hosts
        .iter()
        .flat_map(|h| ports.iter().map(move |p| format!("{scheme}://{h}:{p}")))
        .collect();
    let mut found: Vec<String> = futures::stream::iter(bases)
        .map(|b| {
            let http = http.clone();
            async move { probe(&http, &b).await.then_some(b) }
        })
        .buffer_unordered(concurrency)
        .filter_map(|b| async move { b })
        .collect()
        .await;
    found.sort();
    Ok((
        targets,
        found
            .into_iter()
            .map(|address| BmcSpec {
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

/// Refuses an announced address that is not an IP address inside the BMC networks.
fn announce_address_allowed(networks: &[String], address: &str) -> CoreResult<()> {
    use fleet_model::net::{ip_of, Cidr};
    if networks.is_empty() {
        return Err(CoreError::conflict(
            "Self-announcement is not configured",
            "announced BMCs are registered with the fleet-wide announcement credentials, which gpufleet only sends inside the BMC networks: set enricher.announce_networks (e.g. [\"10.0.8.0/22\"])",
        ));
    }
    let ip = ip_of(address).ok_or_else(|| {
        CoreError::Invalid(format!(
            "'{address}' is not an IP address; an announced BMC must give its IP address (a host name could resolve anywhere)"
        ))
    })?;
    for n in networks {
        let net: Cidr = n
            .parse()
            .map_err(|e: String| CoreError::Internal(format!("enricher.announce_networks: {e}")))?;
        if net.contains(ip) {
            return Ok(());
        }
    }
    Err(CoreError::Forbidden(format!(
        "{ip} is outside the BMC networks of enricher.announce_networks ({}); announcements from there are refused",
        networks.join(", ")
    )))
}

impl Core {
    /// Registers BMCs (a list and/or the Redfish services a sweep finds within
    /// `sweep_budget`). Per-BMC problems are reported in the results, not as an error.
    pub async fn discover(
        &self,
        p: &Principal,
        bmcs: Vec<BmcSpec>,
        sweep_spec: Option<&SweepSpec>,
        sweep_budget: Duration,
    ) -> CoreResult<Discovered> {
        p.require(Permission::InventoryWrite, "register BMCs")?;
        if bmcs.is_empty() && sweep_spec.is_none() {
            return Err(CoreError::Invalid(
                "give 'bmcs' (a list of {address, username, password, ...}) and/or 'sweep' ({cidr, ports, username, password})".into(),
            ));
        }
        if bmcs.len() > MAX_BMCS {
            return Err(CoreError::Invalid(format!(
                "at most {MAX_BMCS} BMCs per request; send them in batches"
            )));
        }
        let mut entries = bmcs;
        let (probed, found) = match sweep_spec {
            Some(s) => {
                let (probed, found) = sweep(s, sweep_budget).await?;
                let n = found.len();
                entries.extend(found);
                (probed, n)
            }
            None => (0, 0),
        };
        let results: Vec<Registered> = futures::stream::iter(entries)
            .map(|e| self.register(p, e, None))
            .buffered(8)
            .collect()
            .await;
        let created = results.iter().filter(|r| r.created).count();
        let failed = results.iter().filter(|r| r.error.is_some()).count();
        Ok(Discovered {
            probed,
            found,
            created,
            existing: results.len() - created - failed,
            failed,
            results,
        })
    }

    /// A node announces itself: its BMC is registered with the announcement credentials of
    /// `cfg`, only at an IP address inside its networks; what the node said is kept on the
    /// BMC asset as `announced`.
    pub async fn announce(
        &self,
        p: &Principal,
        a: Announcement,
        cfg: &AnnounceSettings,
    ) -> CoreResult<Registered> {
        p.require(Permission::InventoryWrite, "register announced BMCs")?;
        if cfg.username.is_empty() || cfg.password.is_empty() {
            return Err(CoreError::conflict(
                "Self-announcement is not configured",
                "nodes can announce themselves once gpufleet knows which BMC credentials to register them with: set enricher.announce_username and GPUFLEET_ENRICHER__ANNOUNCE_PASSWORD",
            ));
        }
        if a.bmc_address.trim().is_empty() {
            return Err(CoreError::Invalid("'bmc_address' is empty".into()));
        }
        announce_address_allowed(&cfg.networks, &a.bmc_address)?;
        if let Some(r) = &a.redfish_address {
            announce_address_allowed(&cfg.networks, r)?;
        }
        if let Some(h) = &a.hostname {
            if h.is_empty()
                || h.len() > 253
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            {
                return Err(CoreError::Invalid(format!(
                    "'hostname' {h:?} is not a host name (letters, digits, '-', '.', '_'; at most 253)"
                )));
            }
        }
        let mut macs = Vec::new();
        for m in &a.macs {
            match fleet_bmc::inventory::normalize_mac(m) {
                Some(n) => macs.push(n),
                None => return Err(CoreError::Invalid(format!("'{m}' is not a MAC address"))),
            }
        }
        let entry = BmcSpec {
            address: a.bmc_address.trim().to_string(),
            protocol: a.protocol.clone(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            accept_self_signed: cfg.accept_self_signed,
            rack: a.rack.clone(),
            profile: a.profile.clone(),
            name: a.hostname.clone(),
            redfish_address: a.redfish_address.clone(),
        };
        let announced =
            serde_json::json!({"hostname": a.hostname, "serial": a.serial, "macs": macs});
        let out = self.register(p, entry, Some(announced)).await;
        if let Some(e) = &out.error {
            return Err(CoreError::Invalid(e.clone()));
        }
        Ok(out)
    }

    /// Registers one BMC, keeping `announced` (what a self-announcing node said) on the BMC
    /// asset; errors are reported in the result.
    async fn register(&self, p: &Principal, e: BmcSpec, announced: Option<Value>) -> Registered {
        let mut extra = Map::new();
        let is_announcement = announced.is_some();
        if let Some(a) = announced {
            extra.insert("announced".into(), a);
        }
        if let Some(r) = &e.redfish_address {
            extra.insert("redfish_address".into(), Value::String(r.clone()));
        }
        let actor = p.actor();
        let reg = BmcRegistration {
            address: e.address.clone(),
            protocol: e.protocol.clone().unwrap_or_else(|| "redfish".into()),
            username: e.username,
            password: e.password,
            accept_self_signed: e.accept_self_signed,
            rack: e.rack,
            profile: e.profile,
            name: e.name,
            extra,
            // An announcement never replaces stored credentials with the fleet-wide ones, and
            // only a principal that may replace credentials does so by registering again.
            keep_existing_credentials: is_announcement || !p.allows(Permission::CredentialAdmin),
        };
        let mut out = Registered {
            address: e.address,
            ..Default::default()
        };
        match self.store.register_bmc(&actor, reg).await {
            Ok(r) => {
                let mut state = r.node.state;
                // New credentials for a node whose inspection failed: inspect again.
                if !r.created && r.node.state == Some(NodeState::InspectionFailed) {
                    match self
                        .store
                        .transition(
                            &actor,
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
                self.telemetry.cmdb_changed();
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
