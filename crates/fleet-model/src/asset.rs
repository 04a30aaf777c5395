//! Assets of the inventory and the relations between them.
//!
//! Containment (a GPU in a node, a node in a rack, an outlet on a PDU) is the
//! asset's `parent_id`. Other physical links (a node powered by an outlet, a NIC
//! cabled to a switch port, NVLink between GPUs) are [`Relation`]s. Together they
//! form the physical graph that root-cause analysis walks.
//!
//! The configuration document (`config`) is the versioned truth about an asset;
//! the indexed columns (model, serial, address) are derived from it by
//! [`indexed_fields`] on every write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::lifecycle::NodeState;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Rack,
    Node,
    Gpu,
    Bmc,
    Nic,
    Disk,
    Switch,
    Pdu,
    Outlet,
    /// A coolant distribution unit: serves the racks `cooled_by` it (in a row, or in a rack).
    Cdu,
}

impl AssetKind {
    pub const ALL: [AssetKind; 10] = [
        AssetKind::Rack,
        AssetKind::Node,
        AssetKind::Gpu,
        AssetKind::Bmc,
        AssetKind::Nic,
        AssetKind::Disk,
        AssetKind::Switch,
        AssetKind::Pdu,
        AssetKind::Outlet,
        AssetKind::Cdu,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Rack => "rack",
            AssetKind::Node => "node",
            AssetKind::Gpu => "gpu",
            AssetKind::Bmc => "bmc",
            AssetKind::Nic => "nic",
            AssetKind::Disk => "disk",
            AssetKind::Switch => "switch",
            AssetKind::Pdu => "pdu",
            AssetKind::Outlet => "outlet",
            AssetKind::Cdu => "cdu",
        }
    }

    /// The kinds an asset of this kind may be contained in (its `parent_id`).
    /// An empty list means: no parent.
    pub fn allowed_parents(self) -> &'static [AssetKind] {
        match self {
            AssetKind::Rack => &[],
            AssetKind::Node | AssetKind::Switch | AssetKind::Pdu | AssetKind::Cdu => {
                &[AssetKind::Rack]
            }
            AssetKind::Gpu | AssetKind::Nic | AssetKind::Disk | AssetKind::Bmc => {
                &[AssetKind::Node]
            }
            AssetKind::Outlet => &[AssetKind::Pdu],
        }
    }

    /// Whether an asset of this kind must have a parent.
    pub fn parent_required(self) -> bool {
        matches!(
            self,
            AssetKind::Gpu | AssetKind::Nic | AssetKind::Disk | AssetKind::Outlet
        )
    }

    /// The name of the configuration field holding a secret for this kind, if any.
    pub fn secret_field(self) -> Option<&'static str> {
        match self {
            AssetKind::Bmc | AssetKind::Switch | AssetKind::Pdu | AssetKind::Cdu => {
                Some("password")
            }
            _ => None,
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AssetKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown asset kind '{s}'; known kinds: {}",
                    AssetKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// node → outlet: the node draws power from this PDU outlet.
    PoweredBy,
    /// nic → switch: the NIC is cabled to a switch port (attribute `port`).
    ConnectedTo,
    /// gpu → gpu: NVLink between two GPUs.
    Nvlink,
    /// bmc → node: the BMC manages the node (also its parent, kept for queries from the node side).
    Manages,
    /// rack → cdu: the rack's liquid loop is served by this coolant distribution unit.
    CooledBy,
}

impl RelationKind {
    pub const ALL: [RelationKind; 5] = [
        RelationKind::PoweredBy,
        RelationKind::ConnectedTo,
        RelationKind::Nvlink,
        RelationKind::Manages,
        RelationKind::CooledBy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::PoweredBy => "powered_by",
            RelationKind::ConnectedTo => "connected_to",
            RelationKind::Nvlink => "nvlink",
            RelationKind::Manages => "manages",
            RelationKind::CooledBy => "cooled_by",
        }
    }

    /// (from kind, to kind) this relation connects; the main from kind (see
    /// [`RelationKind::from_kinds`]).
    pub fn endpoints(self) -> (AssetKind, AssetKind) {
        (self.from_kinds()[0], self.to_kind())
    }

    /// The kinds a relation may start from: `powered_by` from a node or a switch (a load on
    /// an outlet).
    pub fn from_kinds(self) -> &'static [AssetKind] {
        match self {
            RelationKind::PoweredBy => &[AssetKind::Node, AssetKind::Switch],
            RelationKind::ConnectedTo => &[AssetKind::Nic],
            RelationKind::Nvlink => &[AssetKind::Gpu],
            RelationKind::Manages => &[AssetKind::Bmc],
            RelationKind::CooledBy => &[AssetKind::Rack],
        }
    }

    /// The kind a relation points to.
    pub fn to_kind(self) -> AssetKind {
        match self {
            RelationKind::PoweredBy => AssetKind::Outlet,
            RelationKind::ConnectedTo => AssetKind::Switch,
            RelationKind::Nvlink => AssetKind::Gpu,
            RelationKind::Manages => AssetKind::Node,
            RelationKind::CooledBy => AssetKind::Cdu,
        }
    }
}

impl FromStr for RelationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RelationKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown relation kind '{s}'; known kinds: {}",
                    RelationKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub parent_id: Option<String>,
    /// The rack the asset is in, directly or through its parent (derived).
    pub rack_id: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// MAC for NICs, network address for BMCs, switches and PDUs.
    pub address: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The versioned configuration document.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Configuration version; starts at 1 and grows by one with every change.
    pub version: i64,
    /// Lifecycle state (nodes only).
    pub state: Option<NodeState>,
    /// When the node entered its state, Unix milliseconds (nodes only).
    pub state_entered_at: Option<i64>,
    /// Expected profile id (nodes only).
    pub profile_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Relation {
    pub id: String,
    pub kind: RelationKind,
    pub from_id: String,
    pub to_id: String,
    #[schema(value_type = Object)]
    pub attrs: Value,
    pub created_at: i64,
}

/// Validates a label key/value pair (Kubernetes-like rules, simplified).
pub fn validate_label(key: &str, value: &str) -> Result<(), String> {
    let ok_key = !key.is_empty()
        && key.len() <= 63
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if !ok_key {
        return Err(format!(
            "label key '{key}' is invalid: use 1-63 characters of letters, digits, '-', '_', '.', '/'"
        ));
    }
    if value.len() > 253 || value.chars().any(|c| c.is_control()) {
        return Err(format!(
            "label value for '{key}' is invalid: at most 253 printable characters"
        ));
    }
    Ok(())
}

/// Validates an asset name: 1-128 printable characters without '/'.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(format!(
            "name '{name}' is invalid: use 1-128 printable characters without '/'"
        ));
    }
    Ok(())
}

/// Normalises a MAC address to lower-case colon form, or explains why it is invalid.
pub fn normalize_mac(mac: &str) -> Result<String, String> {
    let hex: String = mac
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "MAC address '{mac}' is invalid: expected 6 hex octets such as 0c:42:a1:00:00:01"
        ));
    }
    let lower = hex.to_ascii_lowercase();
    Ok(lower
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn str_field<'a>(cfg: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("'{key}' must be a string, got {other}")),
    }
}

/// Checks and normalises an asset's configuration document for its kind.
/// Returns every problem found, not just the first.
pub fn validate_config(kind: AssetKind, config: &Value) -> Result<Value, Vec<String>> {
    let Value::Object(map) = config else {
        return Err(vec!["'config' must be a JSON object".into()]);
    };
    let mut cfg = map.clone();
    let mut errors = Vec::new();
    for key in ["model", "serial"] {
        if let Err(e) = str_field(&cfg, key) {
            errors.push(e);
        }
    }
    if kind.secret_field().is_some() {
        // Credentials live in the secret store, never in an address (where they would be
        // versioned, logged and shown).
        for (k, v) in &cfg {
            if let Some(a) = v.as_str() {
                if is_endpoint_key(&k.to_ascii_lowercase()) && has_userinfo(a) {
                    errors.push(format!(
                        "'{k}' must not carry a user name or password ('user:password@host'); give 'username' and 'password' instead"
                    ));
                }
            }
        }
    }
    match kind {
        AssetKind::Nic => match str_field(&cfg, "mac") {
            Ok(Some(mac)) => match normalize_mac(mac) {
                Ok(m) => {
                    cfg.insert("mac".into(), Value::String(m));
                }
                Err(e) => errors.push(e),
            },
            Ok(None) => errors.push("a NIC needs 'mac'".into()),
            Err(e) => errors.push(e),
        },
        AssetKind::Bmc => {
            match str_field(&cfg, "address") {
                Ok(Some(a)) if !a.trim().is_empty() => {}
                Ok(_) => errors.push("a BMC needs 'address' (host or host:port or URL)".into()),
                Err(e) => errors.push(e),
            }
            match str_field(&cfg, "protocol") {
                Ok(None) => {
                    cfg.insert("protocol".into(), Value::String("redfish".into()));
                }
                Ok(Some("redfish" | "ipmi")) => {}
                Ok(Some(p)) => errors.push(format!(
                    "BMC protocol '{p}' is not supported; use 'redfish' or 'ipmi'"
                )),
                Err(e) => errors.push(e),
            }
        }
        AssetKind::Gpu => {
            if let Ok(Some(uuid)) = str_field(&cfg, "uuid") {
                if !uuid.starts_with("GPU-") {
                    errors.push(format!(
                        "GPU uuid '{uuid}' is invalid: NVIDIA GPU UUIDs start with 'GPU-'"
                    ));
                }
            }
            if let Some(peers) = cfg.get("nvlink_peers") {
                if !peers.is_array() {
                    errors.push("'nvlink_peers' must be a list of GPU UUIDs".into());
                }
            }
        }
        AssetKind::Outlet => {
            if let Some(n) = cfg.get("number") {
                if !n.is_u64() {
                    errors.push("outlet 'number' must be a non-negative integer".into());
                }
            }
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok(Value::Object(cfg))
    } else {
        Err(errors)
    }
}

/// The indexed columns derived from a configuration: (model, serial, address).
pub fn indexed_fields(
    kind: AssetKind,
    config: &Value,
) -> (Option<String>, Option<String>, Option<String>) {
    let get = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let address = match kind {
        AssetKind::Nic => get("mac"),
        AssetKind::Bmc | AssetKind::Switch | AssetKind::Pdu | AssetKind::Node | AssetKind::Cdu => {
            get("address")
        }
        _ => None,
    };
    (get("model"), get("serial"), address)
}

/// Removes the secret field (e.g. a BMC password) from a configuration so that
/// it is never stored in clear or versioned; returns the secret.
pub fn take_secret(kind: AssetKind, config: &mut Value) -> Option<String> {
    let field = kind.secret_field()?;
    let obj = config.as_object_mut()?;
    match obj.remove(field) {
        Some(Value::String(s)) => {
            obj.insert("credential_set".into(), Value::Bool(true));
            Some(s)
        }
        _ => None,
    }
}

/// Whether a URL-like address has a `user[:password]@` part before its host.
fn has_userinfo(address: &str) -> bool {
    let rest = address.split_once("://").map(|(_, r)| r).unwrap_or(address);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.contains('@')
}

/// Whether a configuration key says where a credential is sent or how the connection is
/// protected: an address, URL or port, the protocol, or a TLS choice.
fn is_endpoint_key(key: &str) -> bool {
    key.ends_with("address")
        || key.ends_with("url")
        || key.ends_with("port")
        || matches!(
            key,
            "protocol"
                | "insecure"
                | "insecure_tls"
                | "accept_self_signed"
                | "tls"
                | "gnmi_tls"
                | "gnmi_insecure"
                | "gnmi_plaintext"
                | "plaintext"
                | "tls_ca"
                | "ca"
                | "ca_file"
        )
}

/// The endpoint a stored credential (see [`AssetKind::secret_field`]) is bound to: every
/// address, URL, port, protocol and TLS setting of the configuration, as one canonical string
/// (sorted JSON; unset, empty and `false` values left out, so that writing a default does not
/// count as a change). A credential may only be sent to the endpoint it was stored for; a
/// configuration whose binding differs from the stored one must not receive it. `None` for
/// kinds that hold no credential.
pub fn credential_binding(kind: AssetKind, config: &Value) -> Option<String> {
    kind.secret_field()?;
    let mut fields = std::collections::BTreeMap::new();
    if let Some(obj) = config.as_object() {
        for (k, v) in obj {
            let unset = matches!(v, Value::Null | Value::Bool(false))
                || v.as_str().is_some_and(|s| s.trim().is_empty());
            if is_endpoint_key(&k.to_ascii_lowercase()) && !unset {
                fields.insert(k.clone(), v.clone());
            }
        }
    }
    Some(serde_json::to_string(&fields).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mac_normalisation() {
        assert_eq!(
            normalize_mac("0C-42-A1-00-00-0F").unwrap(),
            "0c:42:a1:00:00:0f"
        );
        assert_eq!(
            normalize_mac("0c42.a100.000f").unwrap(),
            "0c:42:a1:00:00:0f"
        );
        assert!(normalize_mac("0c:42:a1:00:00").is_err());
        assert!(normalize_mac("zz:42:a1:00:00:0f").is_err());
    }

    #[test]
    fn nic_config_is_normalised_and_bmc_protocol_defaults() {
        let v = validate_config(AssetKind::Nic, &json!({"mac": "AA:BB:CC:DD:EE:FF"})).unwrap();
        assert_eq!(v["mac"], "aa:bb:cc:dd:ee:ff");
        let b = validate_config(AssetKind::Bmc, &json!({"address": "10.0.0.1"})).unwrap();
        assert_eq!(b["protocol"], "redfish");
    }

    #[test]
    fn all_errors_are_reported() {
        let errs = validate_config(AssetKind::Bmc, &json!({"protocol": "telnet", "model": 3}))
            .unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(validate_config(AssetKind::Gpu, &json!({"uuid": "1234"})).is_err());
        let e = validate_config(
            AssetKind::Bmc,
            &json!({"address": "https://root:calvin@10.0.0.5/"}),
        )
        .unwrap_err();
        assert!(e[0].contains("user name or password"), "{e:?}");
        assert!(validate_config(
            AssetKind::Switch,
            &json!({"address": "admin@10.0.0.6:9339"})
        )
        .is_err());
        assert!(
            validate_config(AssetKind::Bmc, &json!({"address": "https://10.0.0.5/a@b"})).is_ok()
        );
        assert!(validate_config(AssetKind::Node, &json!([1])).is_err());
    }

    #[test]
    fn secrets_are_taken_out_of_configuration() {
        let mut c = json!({"address": "x", "username": "root", "password": "calvin"});
        assert_eq!(
            take_secret(AssetKind::Bmc, &mut c).as_deref(),
            Some("calvin")
        );
        assert!(c.get("password").is_none());
        assert_eq!(c["credential_set"], true);
        let mut n = json!({"password": "not a secret field for nodes"});
        assert_eq!(take_secret(AssetKind::Node, &mut n), None);
    }

    #[test]
    fn credential_binding_follows_the_endpoint_only() {
        let base = json!({"address": "10.0.0.5", "username": "root", "model": "R750"});
        let b = credential_binding(AssetKind::Bmc, &base).unwrap();
        // Unrelated fields and unset defaults do not move the binding.
        let mut other = base.clone();
        other["model"] = json!("R760");
        other["username"] = json!("admin");
        other["insecure_tls"] = json!(false);
        other["redfish_address"] = json!("");
        assert_eq!(credential_binding(AssetKind::Bmc, &other).unwrap(), b);
        // Address, a second address, the port, the protocol and TLS choices do.
        for (k, v) in [
            ("address", json!("http://127.60.0.1:18900")),
            ("redfish_address", json!("https://10.0.0.9")),
            ("ipmi_address", json!("10.0.0.9")),
            ("port", json!(8443)),
            ("protocol", json!("ipmi")),
            ("insecure_tls", json!(true)),
            ("accept_self_signed", json!(true)),
            ("gnmi_address", json!("10.0.0.9:9339")),
        ] {
            let mut c = base.clone();
            c[k] = v;
            assert_ne!(credential_binding(AssetKind::Bmc, &c).unwrap(), b, "{k}");
        }
        assert_eq!(credential_binding(AssetKind::Node, &base), None);
        assert!(credential_binding(AssetKind::Switch, &base).is_some());
    }

    #[test]
    fn a_real_gpu_identity_validates() {
        // As reported by nvidia-smi for an NVIDIA H200 (driver 580.159.04): 13-digit
        // board serial, GPU-prefixed UUID, PCI bus id with an 8-digit domain.
        let cfg = json!({
            "model": "NVIDIA H200",
            "serial": "1653724058070",
            "uuid": "GPU-4d44b188-25d2-522f-4f9f-652ae58c9129",
            "pci_address": "00000000:00:06.0",
            "vbios": "96.00.A5.00.1A"
        });
        let v = validate_config(AssetKind::Gpu, &cfg).unwrap();
        assert_eq!(
            indexed_fields(AssetKind::Gpu, &v),
            (
                Some("NVIDIA H200".into()),
                Some("1653724058070".into()),
                None
            )
        );
    }

    #[test]
    fn labels_and_names() {
        validate_label("team", "ml-infra").unwrap();
        assert!(validate_label("", "x").is_err());
        assert!(validate_label("bad key", "x").is_err());
        validate_name("gpu-node-001").unwrap();
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("").is_err());
    }

    #[test]
    fn parent_rules() {
        assert_eq!(AssetKind::Gpu.allowed_parents(), &[AssetKind::Node]);
        assert!(AssetKind::Rack.allowed_parents().is_empty());
        assert!(AssetKind::Outlet.parent_required());
        assert!(!AssetKind::Node.parent_required());
        for k in AssetKind::ALL {
            assert_eq!(k.as_str().parse::<AssetKind>().unwrap(), k);
        }
    }
}
