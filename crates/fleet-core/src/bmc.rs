//! How the server reaches a node's BMC: the BMC asset under the node, the address for the
//! protocol in use, the user name from its configuration and the password from the encrypted
//! secret store. Operations and the enricher both go through here, so a BMC registered by
//! discovery, by import or through the asset API is reached the same way.

use std::time::Duration;

use fleet_bmc::Endpoint;
use fleet_model::asset::AssetKind;
use serde_json::Value;

use fleet_db::Store;

/// A node's BMC, ready to be given to a driver.
pub struct NodeBmc {
    /// `redfish`, `ipmi` or `ipmitool`.
    pub protocol: String,
    /// Address for that protocol, credentials, timeout and TLS choice.
    pub endpoint: Endpoint,
}

/// The configuration's `timeout_s`, else `default`; at least a second.
fn request_timeout(cfg: &Value, default: Duration) -> Duration {
    cfg.get("timeout_s")
        .and_then(|v| v.as_u64())
        .map(Duration::from_secs)
        .unwrap_or(default)
        .max(Duration::from_secs(1))
}

fn text<'a>(cfg: &'a Value, key: &str) -> Option<&'a str> {
    cfg.get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// The BMC of `node` for `protocol` (default: the protocol it was registered with). The
/// Redfish address is `redfish_address`, else `address` when the BMC was registered for
/// Redfish (a bare host gets `https://`); the IPMI address is `ipmi_address`, else `address`
/// when it was registered for IPMI. The request timeout is the BMC's `timeout_s`, else
/// `default_timeout`.
pub async fn node_bmc(
    store: &Store,
    node: &str,
    protocol: Option<&str>,
    default_timeout: Duration,
) -> Result<NodeBmc, String> {
    let bmcs = store
        .children(node, Some(AssetKind::Bmc))
        .await
        .map_err(|e| format!("reading the node's BMC: {e}"))?;
    let bmc = bmcs.first().ok_or("the node has no BMC in the inventory")?;
    let cfg = &bmc.config;
    let registered = text(cfg, "protocol").unwrap_or("redfish");
    let protocol = protocol.unwrap_or(registered);
    let is_ipmi = |p: &str| matches!(p, "ipmi" | "ipmitool");
    let address = match protocol {
        p if is_ipmi(p) => match (text(cfg, "ipmi_address"), is_ipmi(registered)) {
            (Some(a), _) => a.to_string(),
            (None, true) => text(cfg, "address").ok_or("the BMC has no address")?.to_string(),
            (None, false) => {
                return Err(format!(
                    "the BMC was registered for {registered} and has no 'ipmi_address' to reach it over IPMI"
                ))
            }
        },
        "redfish" => {
            let a = match (text(cfg, "redfish_address"), registered) {
                (Some(a), _) => a.to_string(),
                (None, "redfish") => text(cfg, "address")
                    .ok_or("the BMC has no address")?
                    .to_string(),
                (None, other) => {
                    return Err(format!(
                        "the BMC was registered for {other} and has no 'redfish_address' to reach it over Redfish"
                    ))
                }
            };
            if a.contains("://") {
                a
            } else {
                format!("https://{a}")
            }
        }
        other => {
            return Err(format!(
                "unknown BMC protocol '{other}': use redfish, ipmi or ipmitool"
            ))
        }
    };
    let user = text(cfg, "username")
        .or_else(|| text(cfg, "user"))
        .unwrap_or("admin");
    let binding = fleet_model::asset::credential_binding(AssetKind::Bmc, cfg).unwrap_or_default();
    let password = store
        .get_secret_for(&bmc.id, "password", &binding)
        .await
        .map_err(|e| format!("cannot read the BMC password: {e}"))?
        .ok_or(
            "no BMC password in the credential store; register the BMC again with its password",
        )?;
    // `accept_self_signed`; BMCs registered or imported before it had that name keep theirs.
    let insecure = ["accept_self_signed", "insecure", "insecure_tls"]
        .iter()
        .any(|k| cfg.get(*k).and_then(|v| v.as_bool()) == Some(true));
    let timeout = request_timeout(cfg, default_timeout);
    Ok(NodeBmc {
        protocol: protocol.to_string(),
        endpoint: Endpoint::new(address, user, password)
            .with_timeout(timeout)
            .accept_self_signed(insecure),
    })
}

/// A PDU's or a CDU's Redfish controller: `address` from its configuration (a bare host gets
/// `https://`), the user name from `username` (default `admin`), the password from the secret
/// store (bound to the address like a BMC's), `accept_self_signed`, and `timeout_s` or
/// `default_timeout`. For the PDUs and CDUs that are polled (see [`pdu_is_polled`]).
pub async fn pdu_endpoint(
    store: &Store,
    pdu: &fleet_model::asset::Asset,
    default_timeout: Duration,
) -> Result<Endpoint, String> {
    let cfg = &pdu.config;
    let address = text(cfg, "address").ok_or(format!("the {} has no address", pdu.kind))?;
    let address = if address.contains("://") {
        address.to_string()
    } else {
        format!("https://{address}")
    };
    let binding = fleet_model::asset::credential_binding(pdu.kind, cfg).unwrap_or_default();
    let what = pdu.kind.as_str().to_uppercase();
    let password = match store.get_secret_for(&pdu.id, "password", &binding).await {
        Err(e) => return Err(format!("cannot read the {what} password: {e}")),
        Ok(None) => {
            return Err(format!(
                "no {what} password in the credential store; set the {what}'s password (import or the asset API)"
            ))
        }
        Ok(Some(p)) => p,
    };
    let user = text(cfg, "username").unwrap_or("admin");
    let insecure = cfg.get("accept_self_signed").and_then(|v| v.as_bool()) == Some(true);
    let timeout = request_timeout(cfg, default_timeout);
    Ok(Endpoint::new(address, user, password)
        .with_timeout(timeout)
        .accept_self_signed(insecure))
}

/// Whether gpufleet polls a PDU with this configuration: it names an `address` and a password
/// was stored for it (`credential_set`).
pub fn pdu_is_polled(cfg: &Value) -> bool {
    text(cfg, "address").is_some()
        && cfg.get("credential_set").and_then(|v| v.as_bool()) == Some(true)
}
