//! The out-of-band operations as one typed enum. A job stores its operation as a kind string
//! (`power.cycle`, `bios.set`, …) and a parameter document; both are written and read here
//! only, so no other code matches on kind strings or digs in parameter maps.

use std::collections::BTreeMap;

use fleet_bmc::{BootDevice, PowerAction};
use fleet_model::rbac::Permission;
use serde_json::{json, Value};

use crate::error::{CoreError, CoreResult};

/// What a `read` job reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    Power,
    Boot,
    Bios,
    Raid,
    Firmware,
    Sel,
    Sensors,
    Media,
}

impl ReadTarget {
    pub const ALL: [ReadTarget; 8] = [
        ReadTarget::Power,
        ReadTarget::Boot,
        ReadTarget::Bios,
        ReadTarget::Raid,
        ReadTarget::Firmware,
        ReadTarget::Sel,
        ReadTarget::Sensors,
        ReadTarget::Media,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadTarget::Power => "power",
            ReadTarget::Boot => "boot",
            ReadTarget::Bios => "bios",
            ReadTarget::Raid => "raid",
            ReadTarget::Firmware => "firmware",
            ReadTarget::Sel => "sel",
            ReadTarget::Sensors => "sensors",
            ReadTarget::Media => "media",
        }
    }

    fn parse(s: &str) -> Option<ReadTarget> {
        ReadTarget::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Where a firmware image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmwareImage {
    /// The BMC fetches it (Redfish SimpleUpdate).
    Url(String),
    /// Uploaded to gpufleet and pushed to the BMC; kept under the job's id in the upload
    /// directory until the job ends.
    Upload {
        filename: String,
        size: u64,
        sha256: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Power(PowerAction),
    Boot {
        device: BootDevice,
        persistent: bool,
    },
    MediaInsert {
        image: String,
    },
    MediaEject,
    Read(ReadTarget),
    SelClear,
    /// Restart the BMC itself (the host keeps running), then wait until it answers again.
    BmcReset,
    Bios {
        attributes: BTreeMap<String, Value>,
        /// Reset the node and verify the attributes in the same job.
        apply: bool,
    },
    RaidCreate {
        controller: String,
        name: String,
        raid_type: String,
        drives: Vec<String>,
    },
    RaidDelete {
        controller: String,
        volume: String,
    },
    Firmware {
        image: FirmwareImage,
        /// Firmware inventory ids to update (empty: what the BMC chooses).
        targets: Vec<String>,
        /// The version every target must report afterwards.
        expect_version: Option<String>,
    },
    /// A switch port administratively up or down (gNMI).
    PortAdmin {
        port: String,
        enabled: bool,
    },
}

fn power_str(a: PowerAction) -> &'static str {
    match a {
        PowerAction::On => "on",
        PowerAction::Off => "off",
        PowerAction::GracefulShutdown => "graceful_shutdown",
        PowerAction::Cycle => "cycle",
        PowerAction::Reset => "reset",
    }
}

fn text(params: &BTreeMap<String, Value>, k: &str) -> String {
    params
        .get(k)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

fn strings(params: &BTreeMap<String, Value>, k: &str) -> CoreResult<Vec<String>> {
    match params.get(k) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| CoreError::Invalid(format!("'{k}' must be a list of strings"))),
    }
}

impl Operation {
    /// The stored kind: `<group>.<verb>`.
    pub fn kind(&self) -> String {
        match self {
            Operation::Power(a) => format!("power.{}", power_str(*a)),
            Operation::Boot { .. } => "boot.set".into(),
            Operation::MediaInsert { .. } => "media.insert".into(),
            Operation::MediaEject => "media.eject".into(),
            Operation::Read(w) => format!("read.{}", w.as_str()),
            Operation::SelClear => "sel.clear".into(),
            Operation::BmcReset => "bmc.reset".into(),
            Operation::Bios { .. } => "bios.set".into(),
            Operation::RaidCreate { .. } => "raid.create".into(),
            Operation::RaidDelete { .. } => "raid.delete".into(),
            Operation::Firmware { .. } => "firmware.update".into(),
            Operation::PortAdmin { .. } => "port.admin".into(),
        }
    }

    /// The stored parameter document (never a credential).
    pub fn params(&self) -> Value {
        match self {
            Operation::Power(a) => json!({"action": power_str(*a)}),
            Operation::Boot { device, persistent } => {
                json!({"device": device, "persistent": persistent})
            }
            Operation::MediaInsert { image } => json!({"action": "insert", "image": image}),
            Operation::MediaEject => json!({"action": "eject"}),
            Operation::Read(w) => json!({"what": w.as_str()}),
            Operation::SelClear | Operation::BmcReset => json!({}),
            Operation::Bios { attributes, apply } => {
                json!({"attributes": attributes, "apply": apply})
            }
            Operation::RaidCreate {
                controller,
                name,
                raid_type,
                drives,
            } => json!({"action": "create", "controller": controller, "name": name,
                        "raid_type": raid_type, "drives": drives}),
            Operation::RaidDelete { controller, volume } => {
                json!({"action": "delete", "controller": controller, "volume": volume})
            }
            Operation::Firmware {
                image,
                targets,
                expect_version,
            } => {
                let mut v = match image {
                    FirmwareImage::Url(u) => json!({"url": u}),
                    FirmwareImage::Upload {
                        filename,
                        size,
                        sha256,
                    } => json!({"upload": {"filename": filename, "size": size, "sha256": sha256}}),
                };
                v["targets"] = json!(targets);
                if let Some(e) = expect_version {
                    v["expect_version"] = json!(e);
                }
                v
            }
            Operation::PortAdmin { port, enabled } => json!({"port": port, "enabled": enabled}),
        }
    }

    /// The permission that starting (and so cancelling) the operation needs.
    pub fn permission(&self) -> Permission {
        match self {
            Operation::Bios { .. }
            | Operation::RaidCreate { .. }
            | Operation::RaidDelete { .. }
            | Operation::Firmware { .. }
            | Operation::PortAdmin { .. } => Permission::OobAdmin,
            _ => Permission::OobOperate,
        }
    }

    /// Resets or reconfigures the node: at most one such job queued or running per node.
    pub fn exclusive(&self) -> bool {
        matches!(
            self,
            Operation::Power(_)
                | Operation::Boot { .. }
                | Operation::Bios { .. }
                | Operation::BmcReset
        )
    }

    /// Safe to run again from the start when its worker died half-way: the same request
    /// leaves the node in the same state. A power cycle, a reset, a BIOS apply, RAID and
    /// firmware changes are not: such a job fails as interrupted instead.
    pub fn repeatable(&self) -> bool {
        match self {
            Operation::Power(a) => matches!(
                a,
                PowerAction::On | PowerAction::Off | PowerAction::GracefulShutdown
            ),
            Operation::Boot { .. }
            | Operation::MediaInsert { .. }
            | Operation::MediaEject
            | Operation::Read(_)
            | Operation::SelClear
            | Operation::BmcReset
            | Operation::PortAdmin { .. } => true,
            Operation::Bios { apply, .. } => !apply,
            _ => false,
        }
    }

    /// Talks to a switch over gNMI, not to a node's BMC.
    pub fn on_switch(&self) -> bool {
        matches!(self, Operation::PortAdmin { .. })
    }

    /// A request for operation `group` (`power`, `boot`, `media`, `read`, `sel`, `bmc`,
    /// `bios`, `raid`, `firmware`) with its parameters, checked.
    pub fn from_request(group: &str, params: &BTreeMap<String, Value>) -> CoreResult<Operation> {
        let s = |k: &str| text(params, k);
        let bad = |m: &str| CoreError::Invalid(m.to_string());
        Ok(match group {
            "power" => Operation::Power(
                s("action")
                    .parse()
                    .map_err(|e: fleet_bmc::BmcError| CoreError::Invalid(e.to_string()))?,
            ),
            "boot" => Operation::Boot {
                device: s("device")
                    .parse()
                    .map_err(|e: fleet_bmc::BmcError| CoreError::Invalid(e.to_string()))?,
                persistent: params
                    .get("persistent")
                    .and_then(|p| p.as_bool())
                    .unwrap_or(false),
            },
            "media" => match s("action").as_str() {
                "insert" if !s("image").is_empty() => Operation::MediaInsert { image: s("image") },
                "eject" => Operation::MediaEject,
                _ => return Err(bad("media: action is 'insert' (with 'image') or 'eject'")),
            },
            "read" => Operation::Read(ReadTarget::parse(&s("what")).ok_or_else(|| {
                bad("read: 'what' is power, boot, bios, raid, firmware, sel, sensors or media")
            })?),
            "sel" => Operation::SelClear,
            "bmc" => Operation::BmcReset,
            "bios" => {
                let attributes: BTreeMap<String, Value> = params
                    .get("attributes")
                    .and_then(|a| a.as_object())
                    .filter(|o| !o.is_empty())
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .ok_or_else(|| bad("bios: 'attributes' must be a non-empty object"))?;
                Operation::Bios {
                    attributes,
                    apply: params
                        .get("apply")
                        .and_then(|a| a.as_bool())
                        .unwrap_or(false),
                }
            }
            "raid" => match s("action").as_str() {
                "create"
                    if !s("controller").is_empty()
                        && params.get("drives").is_some_and(|d| d.is_array()) =>
                {
                    Operation::RaidCreate {
                        controller: s("controller"),
                        name: s("name"),
                        raid_type: match s("raid_type") {
                            t if t.is_empty() => "RAID1".into(),
                            t => t,
                        },
                        drives: strings(params, "drives")?,
                    }
                }
                "delete" if !s("controller").is_empty() && !s("volume").is_empty() => {
                    Operation::RaidDelete {
                        controller: s("controller"),
                        volume: s("volume"),
                    }
                }
                _ => return Err(bad(
                    "raid: action 'create' (controller, raid_type, drives, name) or 'delete' (controller, volume)",
                )),
            },
            "firmware" => {
                if s("url").is_empty() {
                    return Err(bad("firmware: 'url' of the image is required"));
                }
                Operation::Firmware {
                    image: FirmwareImage::Url(s("url")),
                    targets: strings(params, "targets")?,
                    expect_version: params
                        .get("expect_version")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                }
            }
            "port" => {
                let port = s("port");
                if port.trim().is_empty() || port.contains(['[', ']', '/']) {
                    return Err(CoreError::Invalid(format!("'{port}' is not a port name")));
                }
                Operation::PortAdmin {
                    port,
                    enabled: params
                        .get("enabled")
                        .and_then(|v| v.as_bool())
                        .ok_or_else(|| bad("port: 'enabled' (true or false) is required"))?,
                }
            }
            other => return Err(CoreError::NotFound(format!("no operation group {other}"))),
        })
    }

    /// The operation of a stored job.
    pub fn from_job(kind: &str, params: &str) -> CoreResult<Operation> {
        let mut p: BTreeMap<String, Value> = serde_json::from_str(params)
            .map_err(|e| CoreError::Invalid(format!("job parameters are not an object: {e}")))?;
        let (group, verb) = kind.split_once('.').unwrap_or((kind, ""));
        match group {
            "power" => {
                p.insert("action".into(), json!(verb));
            }
            "read" => {
                p.insert("what".into(), json!(verb));
            }
            "media" | "raid" => {
                p.insert("action".into(), json!(verb));
            }
            _ => {}
        }
        if group == "firmware" {
            if let Some(u) = p.get("upload") {
                let field = |k: &str| u.get(k).cloned().unwrap_or(Value::Null);
                return Ok(Operation::Firmware {
                    image: FirmwareImage::Upload {
                        filename: field("filename")
                            .as_str()
                            .unwrap_or("image.bin")
                            .to_string(),
                        size: field("size").as_u64().unwrap_or(0),
                        sha256: field("sha256").as_str().unwrap_or("").to_string(),
                    },
                    targets: strings(&p, "targets")?,
                    expect_version: p
                        .get("expect_version")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                });
            }
        }
        Operation::from_request(group, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_operation_survives_the_round_trip_through_a_stored_job() {
        let ops = [
            Operation::Power(PowerAction::Cycle),
            Operation::Power(PowerAction::GracefulShutdown),
            Operation::Boot {
                device: BootDevice::Pxe,
                persistent: true,
            },
            Operation::MediaInsert {
                image: "http://x/y.iso".into(),
            },
            Operation::MediaEject,
            Operation::Read(ReadTarget::Sensors),
            Operation::SelClear,
            Operation::BmcReset,
            Operation::Bios {
                attributes: req(json!({"SriovEnable": "Enabled"})),
                apply: true,
            },
            Operation::RaidCreate {
                controller: "RAID.1".into(),
                name: "os".into(),
                raid_type: "RAID1".into(),
                drives: vec!["d0".into(), "d1".into()],
            },
            Operation::RaidDelete {
                controller: "RAID.1".into(),
                volume: "v1".into(),
            },
            Operation::Firmware {
                image: FirmwareImage::Url("http://x/fw.bin".into()),
                targets: vec!["BMC".into()],
                expect_version: Some("2.1".into()),
            },
            Operation::Firmware {
                image: FirmwareImage::Upload {
                    filename: "fw.bin".into(),
                    size: 42,
                    sha256: "ab".into(),
                },
                targets: vec![],
                expect_version: None,
            },
            Operation::PortAdmin {
                port: "Ethernet1".into(),
                enabled: false,
            },
        ];
        for op in ops {
            let back = Operation::from_job(&op.kind(), &op.params().to_string()).unwrap();
            assert_eq!(back, op, "{}", op.kind());
        }
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = Operation::from_request("power", &req(json!({"action": "explode"}))).unwrap_err();
        assert!(matches!(e, CoreError::Invalid(_)) && e.to_string().contains("explode"));
        let e = Operation::from_request("bios", &req(json!({"attributes": {}}))).unwrap_err();
        assert!(e.to_string().contains("non-empty"), "{e}");
        let e = Operation::from_request("raid", &req(json!({"action": "create"}))).unwrap_err();
        assert!(e.to_string().contains("controller"), "{e}");
        assert!(matches!(
            Operation::from_request("warp", &req(json!({}))),
            Err(CoreError::NotFound(_))
        ));
        assert!(
            Operation::from_request("port", &req(json!({"port": "a/b", "enabled": true}))).is_err()
        );
    }

    #[test]
    fn permissions_exclusivity_and_repeatability() {
        let cycle = Operation::Power(PowerAction::Cycle);
        let on = Operation::Power(PowerAction::On);
        assert_eq!(cycle.permission(), Permission::OobOperate);
        assert!(cycle.exclusive() && on.exclusive());
        assert!(!cycle.repeatable(), "a second cycle is a second outage");
        assert!(on.repeatable());
        let fw = Operation::from_request("firmware", &req(json!({"url": "http://x"}))).unwrap();
        assert_eq!(fw.permission(), Permission::OobAdmin);
        assert!(!fw.exclusive() && !fw.repeatable());
        assert!(Operation::Read(ReadTarget::Power).repeatable());
    }
}
