//! GPU install plans: what an operator writes (OS image, disk layout, NVIDIA stack, validation)
//! and what gpufleet knows about a node (network configuration from the CMDB, the versions and
//! GPU count and model of its profile) → the actions of a tink Template.
//!
//! The result is an [`InstallPlan`] (tasks and actions) that [`crate::build::template`] turns
//! into a Template after rendering and validating it, so a plan that cannot be rendered for a
//! node fails with a clear error before anything is created in the cluster.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::build::{InstallPlan, PlanAction, PlanTask};

/// Action images used when a plan does not name its own (`images` in the plan).
pub const DEFAULT_IMAGES: &[(&str, &str)] = &[
    ("image2disk", "quay.io/tinkerbell/actions/image2disk:latest"),
    ("oci2disk", "quay.io/tinkerbell/actions/oci2disk:latest"),
    ("writefile", "quay.io/tinkerbell/actions/writefile:latest"),
    ("cexec", "quay.io/tinkerbell/actions/cexec:latest"),
];

/// The names of the actions a plan renders, in order (absent steps are left out).
pub mod actions {
    pub const STREAM_IMAGE: &str = "stream-image";
    pub const PARTITIONS: &str = "create-filesystems";
    pub const NETPLAN: &str = "write-netplan";
    pub const HOSTNAME: &str = "write-hostname";
    pub const DRIVER: &str = "install-nvidia-driver";
    pub const CUDA: &str = "install-cuda";
    pub const FABRIC_MANAGER: &str = "install-fabric-manager";
    pub const VALIDATE: &str = "validate-gpus";
}

/// An install plan as stored in the CMDB (one immutable document per version).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    pub os: OsImage,
    /// Disk the image is written to (default `/dev/nvme0n1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
    /// The root partition inside the image, where files are written and commands run
    /// (default: partition 2 of `disk`, e.g. `/dev/nvme0n1p2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_partition: Option<String>,
    /// Filesystem of the root partition (default `ext4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_fs: Option<String>,
    /// A RAID volume created through gpufleet's out-of-band operations before the node boots
    /// into the installer (the OS disk, typically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid: Option<RaidVolume>,
    /// Extra partitions and filesystems (data disks, scratch), created in the installed OS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<Partition>,
    /// NVIDIA software; versions left out come from the node's profile (`driver`, `cuda`).
    #[serde(default)]
    pub nvidia: NvidiaStack,
    /// The final GPU validation (count and model against the profile, nvidia-smi, DCGM).
    #[serde(default)]
    pub validation: Validation,
    /// Action images by kind (`image2disk`, `oci2disk`, `writefile`, `cexec`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// Timeouts in seconds by action name (defaults: 1800 for the image, 1200 for NVIDIA
    /// packages, 900 for validation, 120 otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timeouts: BTreeMap<String, u64>,
    /// Deadline of the whole workflow in seconds (default 7200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_timeout_s: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsImage {
    /// `image2disk` (a raw disk image over HTTP) or `oci2disk` (a disk image in an OCI registry).
    pub method: String,
    /// Image URL (`image2disk`) or reference (`oci2disk`).
    pub url: String,
    /// The image is gzip-compressed (`image2disk`).
    #[serde(default)]
    pub compressed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaidVolume {
    /// Storage controller id as the BMC names it.
    pub controller: String,
    pub name: String,
    /// e.g. `RAID1` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid_type: Option<String>,
    /// Drive ids as the BMC names them.
    pub drives: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Whole device to partition, e.g. `/dev/nvme1n1`.
    pub device: String,
    /// Size, e.g. `500G`; absent: the rest of the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// `ext4` or `xfs`.
    pub filesystem: String,
    /// Mount point in the installed OS (an fstab line is written).
    pub mount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NvidiaStack {
    /// Driver version (default: the profile's `driver`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// CUDA toolkit version (default: the profile's `cuda`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda: Option<String>,
    /// Fabric manager: `true` installs the driver's version, a string names one, `false` or
    /// absent leaves it out (default: installed when the profile expects 8 or more GPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub fabric_manager: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Validation {
    /// Run the validation action at all.
    pub enabled: bool,
    /// `dcgmi diag -r <level>` (0: skip DCGM).
    pub dcgm_level: u8,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            enabled: true,
            dcgm_level: 1,
        }
    }
}

/// What the CMDB knows about the node being installed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub hostname: String,
    /// From the node's profile.
    pub gpu_count: Option<u32>,
    pub gpu_model: Option<String>,
    pub driver: Option<String>,
    pub cuda: Option<String>,
    /// The node's `network` configuration document (see [`NetworkConfig`]).
    pub network: Option<NetworkConfig>,
}

/// The network of an installed node, as the CMDB stores it in the node's configuration under
/// `network`; rendered to netplan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    #[serde(default)]
    pub ethernets: Vec<EthernetConfig>,
    #[serde(default)]
    pub bonds: Vec<BondConfig>,
    #[serde(default)]
    pub vlans: Vec<VlanConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EthernetConfig {
    /// netplan id, e.g. `eno1`.
    pub name: String,
    /// Matched by MAC when given.
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub dhcp: bool,
    /// CIDR addresses, e.g. `10.0.0.5/24`.
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BondConfig {
    pub name: String,
    /// Names of the member ethernets.
    pub interfaces: Vec<String>,
    /// Bond mode, e.g. `802.3ad` (default) or `active-backup`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VlanConfig {
    /// e.g. `bond0.100`.
    pub name: String,
    pub id: u16,
    /// The ethernet or bond it runs on.
    pub link: String,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// Why a plan could not be rendered for a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("install plan: {0}")]
    Invalid(String),
    #[error("network configuration of node {node}: {why}")]
    Network { node: String, why: String },
    #[error("install plan needs the NVIDIA {what} version: set nvidia.{what} in the plan or '{what}' in the node's profile")]
    MissingVersion { what: &'static str },
}

fn check_cidr(node: &str, field: &str, s: &str) -> Result<(), PlanError> {
    let bad = || PlanError::Network {
        node: node.into(),
        why: format!(
            "{field}: '{s}' is not an IPv4 address with a prefix length (e.g. 10.0.0.5/24)"
        ),
    };
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    ip.parse::<Ipv4Addr>().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    Ok(())
}

fn check_ip(node: &str, field: &str, s: &str) -> Result<(), PlanError> {
    s.parse::<Ipv4Addr>()
        .map(|_| ())
        .map_err(|_| PlanError::Network {
            node: node.into(),
            why: format!("{field}: '{s}' is not an IPv4 address"),
        })
}

fn safe_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~' | ':'))
}

fn yaml_list(out: &mut String, indent: &str, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{key}:");
    for i in items {
        let _ = writeln!(out, "{indent}  - \"{i}\"");
    }
}

#[allow(clippy::too_many_arguments)]
fn addressing(
    out: &mut String,
    indent: &str,
    node: &str,
    name: &str,
    addresses: &[String],
    gateway: &Option<String>,
    nameservers: &[String],
    mtu: Option<u32>,
) -> Result<(), PlanError> {
    for a in addresses {
        check_cidr(node, &format!("{name} address"), a)?;
    }
    yaml_list(out, indent, "addresses", addresses);
    if let Some(g) = gateway {
        check_ip(node, &format!("{name} gateway"), g)?;
        let _ = writeln!(
            out,
            "{indent}routes:\n{indent}  - to: default\n{indent}    via: \"{g}\""
        );
    }
    if !nameservers.is_empty() {
        for n in nameservers {
            check_ip(node, &format!("{name} nameserver"), n)?;
        }
        let _ = writeln!(out, "{indent}nameservers:");
        yaml_list(out, &format!("{indent}  "), "addresses", nameservers);
    }
    if let Some(m) = mtu {
        let _ = writeln!(out, "{indent}mtu: {m}");
    }
    Ok(())
}

/// The netplan document for a node's network configuration. Names, addresses, bond members and
/// VLAN links are checked; a mistake names the node and the field.
pub fn netplan(node: &str, net: &NetworkConfig) -> Result<String, PlanError> {
    let err = |why: String| PlanError::Network {
        node: node.into(),
        why,
    };
    let mut names = std::collections::BTreeSet::new();
    let ifname = |n: &str| -> Result<(), PlanError> {
        if n.is_empty()
            || n.len() > 15
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(err(format!(
                "'{n}' is not an interface name (1-15 of a-z, 0-9, '.', '-', '_')"
            )));
        }
        Ok(())
    };
    for n in net
        .ethernets
        .iter()
        .map(|e| &e.name)
        .chain(net.bonds.iter().map(|b| &b.name))
        .chain(net.vlans.iter().map(|v| &v.name))
    {
        ifname(n)?;
        if !names.insert(n.clone()) {
            return Err(err(format!("interface '{n}' is defined twice")));
        }
    }
    let mut out = String::from("network:\n  version: 2\n  renderer: networkd\n");
    if !net.ethernets.is_empty() {
        out.push_str("  ethernets:\n");
        for e in &net.ethernets {
            let _ = writeln!(out, "    {}:", e.name);
            if let Some(mac) = &e.mac {
                let mac = crate::build::normalize_mac(mac).map_err(|e| err(e.to_string()))?;
                let _ = writeln!(out, "      match:\n        macaddress: \"{mac}\"");
                let _ = writeln!(out, "      set-name: {}", e.name);
            }
            let _ = writeln!(out, "      dhcp4: {}", e.dhcp);
            addressing(
                &mut out,
                "      ",
                node,
                &e.name,
                &e.addresses,
                &e.gateway,
                &e.nameservers,
                e.mtu,
            )?;
        }
    }
    if !net.bonds.is_empty() {
        out.push_str("  bonds:\n");
        for b in &net.bonds {
            if b.interfaces.is_empty() {
                return Err(err(format!("bond '{}' has no member interfaces", b.name)));
            }
            for m in &b.interfaces {
                if !net.ethernets.iter().any(|e| &e.name == m) {
                    return Err(err(format!(
                        "bond '{}' member '{m}' is not one of the ethernets",
                        b.name
                    )));
                }
            }
            let mode = b.mode.as_deref().unwrap_or("802.3ad");
            if !matches!(
                mode,
                "balance-rr"
                    | "active-backup"
                    | "balance-xor"
                    | "broadcast"
                    | "802.3ad"
                    | "balance-tlb"
                    | "balance-alb"
            ) {
                return Err(err(format!("bond '{}': unknown mode '{mode}'", b.name)));
            }
            let _ = writeln!(out, "    {}:", b.name);
            yaml_list(&mut out, "      ", "interfaces", &b.interfaces);
            let _ = writeln!(out, "      parameters:\n        mode: {mode}");
            if mode == "802.3ad" {
                out.push_str("        lacp-rate: fast\n        transmit-hash-policy: layer3+4\n");
            }
            addressing(
                &mut out,
                "      ",
                node,
                &b.name,
                &b.addresses,
                &b.gateway,
                &b.nameservers,
                b.mtu,
            )?;
        }
    }
    if !net.vlans.is_empty() {
        out.push_str("  vlans:\n");
        for v in &net.vlans {
            if v.id == 0 || v.id > 4094 {
                return Err(err(format!("vlan '{}': id {} is not 1-4094", v.name, v.id)));
            }
            if !net.ethernets.iter().any(|e| e.name == v.link)
                && !net.bonds.iter().any(|b| b.name == v.link)
            {
                return Err(err(format!(
                    "vlan '{}': link '{}' is not an ethernet or bond",
                    v.name, v.link
                )));
            }
            let _ = writeln!(
                out,
                "    {}:\n      id: {}\n      link: {}",
                v.name, v.id, v.link
            );
            addressing(
                &mut out,
                "      ",
                node,
                &v.name,
                &v.addresses,
                &v.gateway,
                &v.nameservers,
                None,
            )?;
        }
    }
    // The output must be YAML that netplan can read.
    serde_yaml::from_str::<serde_yaml::Value>(&out)
        .map_err(|e| err(format!("rendered netplan is not YAML: {e}")))?;
    Ok(out)
}

impl PlanSpec {
    fn image(&self, kind: &str) -> String {
        self.images.get(kind).cloned().unwrap_or_else(|| {
            DEFAULT_IMAGES
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        })
    }

    fn timeout(&self, action: &str, default: u64) -> u64 {
        self.timeouts.get(action).copied().unwrap_or(default)
    }

    /// Checks what can be checked without a node.
    pub fn check(&self) -> Result<(), PlanError> {
        let bad = |m: String| Err(PlanError::Invalid(m));
        if !matches!(self.os.method.as_str(), "image2disk" | "oci2disk") {
            return bad(format!(
                "os.method is 'image2disk' or 'oci2disk', not '{}'",
                self.os.method
            ));
        }
        if self.os.url.trim().is_empty() {
            return bad("os.url is required (the image URL or OCI reference)".into());
        }
        if self.os.method == "image2disk"
            && !(self.os.url.starts_with("http://") || self.os.url.starts_with("https://"))
        {
            return bad(format!(
                "os.url '{}' must be an http(s) URL for image2disk",
                self.os.url
            ));
        }
        for d in [&self.disk, &self.root_partition].into_iter().flatten() {
            if !d.starts_with("/dev/") {
                return bad(format!("'{d}' is not a device path (/dev/...)"));
            }
        }
        if let Some(fs) = &self.root_fs {
            if !matches!(fs.as_str(), "ext4" | "xfs" | "btrfs") {
                return bad(format!("root_fs '{fs}' is not ext4, xfs or btrfs"));
            }
        }
        if let Some(r) = &self.raid {
            if r.controller.trim().is_empty() || r.name.trim().is_empty() || r.drives.is_empty() {
                return bad("raid needs controller, name and at least one drive".into());
            }
            if let Some(t) = &r.raid_type {
                if !matches!(
                    t.as_str(),
                    "RAID0" | "RAID1" | "RAID5" | "RAID6" | "RAID10" | "RAID50" | "RAID60"
                ) {
                    return bad(format!("raid.raid_type '{t}' is not RAID0/1/5/6/10/50/60"));
                }
            }
        }
        for p in &self.partitions {
            if !p.device.starts_with("/dev/") {
                return bad(format!(
                    "partition device '{}' is not a /dev path",
                    p.device
                ));
            }
            if !matches!(p.filesystem.as_str(), "ext4" | "xfs") {
                return bad(format!(
                    "partition on {}: filesystem '{}' is not ext4 or xfs",
                    p.device, p.filesystem
                ));
            }
            if !p.mount.starts_with('/')
                || p.mount.len() < 2
                || !p
                    .mount
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
            {
                return bad(format!(
                    "partition on {}: mount '{}' is not an absolute path",
                    p.device, p.mount
                ));
            }
            if let Some(s) = &p.size {
                if !safe_token(s) {
                    return bad(format!(
                        "partition on {}: size '{s}' is not like 500G",
                        p.device
                    ));
                }
            }
        }
        for (k, v) in &self.images {
            if !DEFAULT_IMAGES.iter().any(|(d, _)| d == k) {
                return bad(format!(
                    "images: unknown kind '{k}' (known: image2disk, oci2disk, writefile, cexec)"
                ));
            }
            if v.trim().is_empty() {
                return bad(format!("images.{k} is empty"));
            }
        }
        for (k, v) in &self.timeouts {
            if *v == 0 {
                return bad(format!("timeouts.{k} must be at least 1 second"));
            }
        }
        for (what, v) in [("driver", &self.nvidia.driver), ("cuda", &self.nvidia.cuda)] {
            if let Some(v) = v {
                if !safe_token(v) {
                    return bad(format!("nvidia.{what} '{v}' is not a version"));
                }
            }
        }
        match &self.nvidia.fabric_manager {
            None | Some(serde_json::Value::Bool(_)) => {}
            Some(serde_json::Value::String(s)) if safe_token(s) => {}
            Some(other) => {
                return bad(format!(
                    "nvidia.fabric_manager is true, false or a version, not {other}"
                ))
            }
        }
        if self.validation.dcgm_level > 4 {
            return bad("validation.dcgm_level is 0 to 4".into());
        }
        Ok(())
    }

    /// Render this plan for one node into the tasks and actions of a Template named `name`.
    pub fn render(
        &self,
        name: &str,
        namespace: &str,
        node: &NodeFacts,
    ) -> Result<InstallPlan, PlanError> {
        self.check()?;
        let disk = self.disk.clone().unwrap_or_else(|| "/dev/nvme0n1".into());
        let root = self.root_partition.clone().unwrap_or_else(|| {
            if disk.chars().last().is_some_and(|c| c.is_ascii_digit()) {
                format!("{disk}p2")
            } else {
                format!("{disk}2")
            }
        });
        let root_fs = self.root_fs.clone().unwrap_or_else(|| "ext4".into());
        let env = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let in_root = |extra: &[(&str, String)]| {
            let mut e = env(&[
                ("BLOCK_DEVICE", root.clone()),
                ("FS_TYPE", root_fs.clone()),
                ("CHROOT", "y".into()),
                ("DEFAULT_INTERPRETER", "/bin/sh -c".into()),
            ]);
            e.extend(env(extra));
            e
        };
        let mut acts = Vec::new();
        // 1. The OS image.
        acts.push(PlanAction {
            name: actions::STREAM_IMAGE.into(),
            image: self.image(&self.os.method),
            timeout_s: self.timeout(actions::STREAM_IMAGE, 1800),
            environment: if self.os.method == "image2disk" {
                env(&[
                    ("IMG_URL", self.os.url.clone()),
                    ("DEST_DISK", disk.clone()),
                    ("COMPRESSED", self.os.compressed.to_string()),
                ])
            } else {
                env(&[
                    ("IMG_URL", self.os.url.clone()),
                    ("DEST_DISK", disk.clone()),
                ])
            },
            ..Default::default()
        });
        // 2. Extra partitions and filesystems.
        if !self.partitions.is_empty() {
            let mut script = String::from("set -e; ");
            for p in &self.partitions {
                let size = p
                    .size
                    .as_deref()
                    .map(|s| format!("+{s}"))
                    .unwrap_or_else(|| "0".into());
                let label = p
                    .label
                    .clone()
                    .unwrap_or_else(|| p.mount.trim_matches('/').replace('/', "-"));
                let part = if p.device.chars().last().is_some_and(|c| c.is_ascii_digit()) {
                    format!("{}p1", p.device)
                } else {
                    format!("{}1", p.device)
                };
                let mkfs = if p.filesystem == "xfs" {
                    format!("mkfs.xfs -f -L {label} {part}")
                } else {
                    format!("mkfs.ext4 -F -L {label} {part}")
                };
                let _ = write!(
                    script,
                    "sgdisk --zap-all {dev}; sgdisk -n 1:0:{size} -c 1:{label} {dev}; partprobe {dev}; {mkfs}; mkdir -p {mnt}; echo 'LABEL={label} {mnt} {fs} defaults,nofail 0 2' >> /etc/fstab; ",
                    dev = p.device,
                    mnt = p.mount,
                    fs = p.filesystem,
                );
            }
            acts.push(PlanAction {
                name: actions::PARTITIONS.into(),
                image: self.image("cexec"),
                timeout_s: self.timeout(actions::PARTITIONS, 300),
                environment: in_root(&[("CMD_LINE", script.trim_end().to_string())]),
                ..Default::default()
            });
        }
        // 3. Network configuration from the CMDB.
        if let Some(net) = &node.network {
            let doc = netplan(&node.hostname, net)?;
            acts.push(PlanAction {
                name: actions::NETPLAN.into(),
                image: self.image("writefile"),
                timeout_s: self.timeout(actions::NETPLAN, 120),
                environment: env(&[
                    ("DEST_DISK", root.clone()),
                    ("FS_TYPE", root_fs.clone()),
                    ("DEST_PATH", "/etc/netplan/50-gpufleet.yaml".into()),
                    ("CONTENTS", doc),
                    ("UID", "0".into()),
                    ("GID", "0".into()),
                    ("MODE", "0600".into()),
                    ("DIRMODE", "0755".into()),
                ]),
                ..Default::default()
            });
        }
        acts.push(PlanAction {
            name: actions::HOSTNAME.into(),
            image: self.image("writefile"),
            timeout_s: self.timeout(actions::HOSTNAME, 120),
            environment: env(&[
                ("DEST_DISK", root.clone()),
                ("FS_TYPE", root_fs.clone()),
                ("DEST_PATH", "/etc/hostname".into()),
                ("CONTENTS", format!("{}\n", node.hostname)),
                ("UID", "0".into()),
                ("GID", "0".into()),
                ("MODE", "0644".into()),
                ("DIRMODE", "0755".into()),
            ]),
            ..Default::default()
        });
        // 4. NVIDIA driver, CUDA and fabric manager at the profile's versions.
        let driver = self
            .nvidia
            .driver
            .clone()
            .or_else(|| node.driver.clone())
            .ok_or(PlanError::MissingVersion { what: "driver" })?;
        let cuda = self
            .nvidia
            .cuda
            .clone()
            .or_else(|| node.cuda.clone())
            .ok_or(PlanError::MissingVersion { what: "cuda" })?;
        for (what, v) in [("driver", &driver), ("cuda", &cuda)] {
            if !safe_token(v) {
                return Err(PlanError::Invalid(format!(
                    "the {what} version '{v}' is not a version"
                )));
            }
        }
        let major = driver.split('.').next().unwrap_or(&driver).to_string();
        let cuda_pkg = cuda.split('.').take(2).collect::<Vec<_>>().join("-");
        acts.push(PlanAction {
            name: actions::DRIVER.into(),
            image: self.image("cexec"),
            timeout_s: self.timeout(actions::DRIVER, 1200),
            environment: in_root(&[
                ("NVIDIA_DRIVER_VERSION", driver.clone()),
                (
                    "CMD_LINE",
                    format!(
                        "set -e; apt-get update; DEBIAN_FRONTEND=noninteractive apt-get install -y nvidia-driver-{major}-server={driver}* nvidia-utils-{major}-server={driver}*; apt-mark hold nvidia-driver-{major}-server"
                    ),
                ),
            ]),
            ..Default::default()
        });
        acts.push(PlanAction {
            name: actions::CUDA.into(),
            image: self.image("cexec"),
            timeout_s: self.timeout(actions::CUDA, 1200),
            environment: in_root(&[
                ("CUDA_VERSION", cuda.clone()),
                (
                    "CMD_LINE",
                    format!(
                        "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y cuda-toolkit-{cuda_pkg} datacenter-gpu-manager; echo 'PATH=/usr/local/cuda-{cuda}/bin:$PATH' > /etc/profile.d/cuda.sh"
                    ),
                ),
            ]),
            ..Default::default()
        });
        let fm = match &self.nvidia.fabric_manager {
            Some(serde_json::Value::Bool(true)) => Some(driver.clone()),
            Some(serde_json::Value::String(v)) => Some(v.clone()),
            Some(_) => None,
            None => (node.gpu_count.unwrap_or(0) >= 8).then(|| driver.clone()),
        };
        if let Some(fm) = fm {
            acts.push(PlanAction {
                name: actions::FABRIC_MANAGER.into(),
                image: self.image("cexec"),
                timeout_s: self.timeout(actions::FABRIC_MANAGER, 1200),
                environment: in_root(&[
                    ("FABRIC_MANAGER_VERSION", fm.clone()),
                    (
                        "CMD_LINE",
                        format!(
                            "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y nvidia-fabricmanager-{major}={fm}*; systemctl enable nvidia-fabricmanager"
                        ),
                    ),
                ]),
                ..Default::default()
            });
        }
        // 5. GPU validation: count and model against the profile, nvidia-smi, DCGM.
        if self.validation.enabled {
            let mut script = String::from("set -e; nvidia-smi; ");
            let mut extra = vec![];
            if let Some(n) = node.gpu_count {
                extra.push(("EXPECT_GPU_COUNT", n.to_string()));
                script.push_str(
                    "n=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l); [ \"$n\" -eq \"$EXPECT_GPU_COUNT\" ] || { echo \"found $n GPUs, expected $EXPECT_GPU_COUNT\"; exit 1; }; ",
                );
            }
            if let Some(m) = &node.gpu_model {
                extra.push(("EXPECT_GPU_MODEL", m.clone()));
                script.push_str(
                    "nvidia-smi --query-gpu=name --format=csv,noheader | grep -v -F \"$EXPECT_GPU_MODEL\" && { echo \"a GPU is not a $EXPECT_GPU_MODEL\"; exit 1; } || true; ",
                );
            }
            if self.validation.dcgm_level > 0 {
                let _ = write!(
                    script,
                    "nv-hostengine; dcgmi diag -r {}; ",
                    self.validation.dcgm_level
                );
            }
            extra.push(("CMD_LINE", script.trim_end().to_string()));
            acts.push(PlanAction {
                name: actions::VALIDATE.into(),
                image: self.image("cexec"),
                timeout_s: self.timeout(actions::VALIDATE, 900),
                environment: in_root(&extra),
                ..Default::default()
            });
        }
        for k in self.timeouts.keys() {
            if !acts.iter().any(|a| &a.name == k) {
                return Err(PlanError::Invalid(format!(
                    "timeouts names '{k}', which is not one of this plan's actions ({})",
                    acts.iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(InstallPlan {
            name: name.to_string(),
            namespace: namespace.to_string(),
            global_timeout_s: self.global_timeout_s.unwrap_or(7200),
            tasks: vec![PlanTask {
                name: "os-installation".into(),
                worker_key: None,
                volumes: vec![
                    "/dev:/dev".into(),
                    "/dev/console:/dev/console".into(),
                    "/lib/firmware:/lib/firmware:ro".into(),
                ],
                environment: BTreeMap::new(),
                actions: acts,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> PlanSpec {
        PlanSpec {
            os: OsImage {
                method: "image2disk".into(),
                url: "http://images.local/ubuntu-22.04.raw.gz".into(),
                compressed: true,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn facts() -> NodeFacts {
        NodeFacts {
            hostname: "gpu-001".into(),
            gpu_count: Some(8),
            gpu_model: Some("H100".into()),
            driver: Some("550.54.15".into()),
            cuda: Some("12.4".into()),
            network: Some(NetworkConfig {
                ethernets: vec![
                    EthernetConfig {
                        name: "eno1".into(),
                        mac: Some("3C:EC:EF:00:00:01".into()),
                        ..Default::default()
                    },
                    EthernetConfig {
                        name: "eno2".into(),
                        mac: Some("3c:ec:ef:00:00:02".into()),
                        ..Default::default()
                    },
                ],
                bonds: vec![BondConfig {
                    name: "bond0".into(),
                    interfaces: vec!["eno1".into(), "eno2".into()],
                    addresses: vec!["10.0.0.5/24".into()],
                    gateway: Some("10.0.0.1".into()),
                    nameservers: vec!["10.0.0.2".into()],
                    ..Default::default()
                }],
                vlans: vec![VlanConfig {
                    name: "bond0.100".into(),
                    id: 100,
                    link: "bond0".into(),
                    addresses: vec!["10.100.0.5/24".into()],
                    ..Default::default()
                }],
            }),
        }
    }

    #[test]
    fn renders_every_step_in_order() {
        let plan = spec().render("gpu-001-1", "default", &facts()).unwrap();
        let names: Vec<&str> = plan.tasks[0]
            .actions
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "stream-image",
                "write-netplan",
                "write-hostname",
                "install-nvidia-driver",
                "install-cuda",
                "install-fabric-manager",
                "validate-gpus"
            ]
        );
        let a = &plan.tasks[0].actions;
        assert_eq!(a[0].environment["DEST_DISK"], "/dev/nvme0n1");
        assert_eq!(a[1].environment["DEST_DISK"], "/dev/nvme0n1p2");
        let np = &a[1].environment["CONTENTS"];
        assert!(np.contains("macaddress: \"3c:ec:ef:00:00:01\""), "{np}");
        assert!(np.contains("mode: 802.3ad"), "{np}");
        assert!(np.contains("id: 100"), "{np}");
        assert_eq!(a[3].environment["NVIDIA_DRIVER_VERSION"], "550.54.15");
        assert!(a[3].environment["CMD_LINE"].contains("nvidia-driver-550-server"));
        assert!(a[4].environment["CMD_LINE"].contains("cuda-toolkit-12-4"));
        assert_eq!(a[6].environment["EXPECT_GPU_COUNT"], "8");
        assert!(a[6].environment["CMD_LINE"].contains("dcgmi diag -r 1"));
        // And it is a valid tink template.
        crate::build::template(&plan).unwrap();
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let mut s = spec();
        s.os.method = "dd".into();
        assert!(s
            .render("x", "default", &facts())
            .unwrap_err()
            .to_string()
            .contains("os.method"));
        let mut f = facts();
        f.driver = None;
        assert_eq!(
            spec().render("x", "default", &f).unwrap_err(),
            PlanError::MissingVersion { what: "driver" }
        );
        let mut f = facts();
        f.network.as_mut().unwrap().bonds[0]
            .interfaces
            .push("eno9".into());
        let e = spec().render("x", "default", &f).unwrap_err().to_string();
        assert!(e.contains("eno9") && e.contains("gpu-001"), "{e}");
        let mut f = facts();
        f.network.as_mut().unwrap().vlans[0].addresses = vec!["10.1.1.1".into()];
        assert!(spec()
            .render("x", "default", &f)
            .unwrap_err()
            .to_string()
            .contains("prefix"));
        let mut s = spec();
        s.timeouts.insert("no-such-action".into(), 5);
        assert!(s
            .render("x", "default", &facts())
            .unwrap_err()
            .to_string()
            .contains("no-such-action"));
        let mut s = spec();
        s.nvidia.fabric_manager = Some(serde_json::json!(false));
        let p = s.render("x", "default", &facts()).unwrap();
        assert!(!p.tasks[0]
            .actions
            .iter()
            .any(|a| a.name == "install-fabric-manager"));
    }
}
