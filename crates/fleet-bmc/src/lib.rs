//! Out-of-band management for gpufleet: one [`OutOfBand`] trait over the BMC protocols, with
//! drivers for Redfish ([`redfish::RedfishClient`]), IPMI-over-LAN RMCP+ ([`ipmi::IpmiClient`],
//! implemented here: RAKP with HMAC-SHA1, HMAC-SHA1-96 integrity, AES-CBC-128 confidentiality —
//! cipher suite 3) and the `ipmitool` command ([`ipmitool::IpmitoolClient`]); plus a gNMI client
//! for switch ports ([`gnmi::GnmiClient`]).
//!
//! Rules every driver keeps:
//! - every network operation runs under a deadline ([`Endpoint::timeout`] per request, and the
//!   caller's overall deadline through [`with_deadline`]); nothing waits forever;
//! - only idempotent requests are retried (GET, status reads); actions that change state are sent
//!   once;
//! - credentials are never part of an error message, a log line or a `Debug` output.
//!
//! Vendor differences (URIs, reset types, settings paths) are data: `vendors/*.toml`, embedded
//! at build time and selected from the service root ([`vendor::VendorProfile`]).

pub mod cdu;
pub mod error;
pub mod gnmi;
pub mod inventory;
pub mod ipmi;
pub mod ipmitool;
pub mod pdu;
pub mod redfish;
pub mod vendor;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{BmcError, Result};

/// A secret string whose `Debug`/`Display` never shows the value.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// Where a BMC is and how to talk to it. `address` is `host[:port]` for IPMI, a base URL
/// (`https://10.0.0.5`) for Redfish.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub address: String,
    pub username: String,
    pub password: Secret,
    /// Deadline of one request (one HTTP exchange, one IPMI request with its retries).
    pub timeout: Duration,
    /// Accept any TLS certificate (self-signed BMC certificates). Opt-in per BMC.
    pub accept_invalid_certs: bool,
    /// A PEM CA certificate to trust for this BMC, in addition to the web PKI roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Retries of idempotent requests after a transient failure.
    pub retries: u32,
}

impl Endpoint {
    pub fn new(
        address: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Endpoint {
            address: address.into(),
            username: username.into(),
            password: Secret::new(password),
            timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
            ca_cert_pem: None,
            retries: 2,
        }
    }
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    pub fn accept_self_signed(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }
    pub fn with_retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    On,
    Off,
    PoweringOn,
    PoweringOff,
    Unknown,
}

impl PowerState {
    pub fn as_str(&self) -> &'static str {
        match self {
            PowerState::On => "on",
            PowerState::Off => "off",
            PowerState::PoweringOn => "powering_on",
            PowerState::PoweringOff => "powering_off",
            PowerState::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    On,
    /// Hard power off.
    Off,
    /// Ask the OS to shut down (ACPI).
    GracefulShutdown,
    /// Off, then on.
    Cycle,
    /// Hard reset (warm).
    Reset,
}

impl std::str::FromStr for PowerAction {
    type Err = BmcError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "on" => PowerAction::On,
            "off" => PowerAction::Off,
            "graceful_shutdown" | "soft" => PowerAction::GracefulShutdown,
            "cycle" => PowerAction::Cycle,
            "reset" => PowerAction::Reset,
            _ => {
                return Err(BmcError::Invalid(format!(
                    "unknown power action {s:?}; use on, off, graceful_shutdown, cycle or reset"
                )))
            }
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootDevice {
    Pxe,
    Disk,
    Cd,
    BiosSetup,
    None,
}

impl std::str::FromStr for BootDevice {
    type Err = BmcError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "pxe" => BootDevice::Pxe,
            "disk" | "hdd" => BootDevice::Disk,
            "cd" | "cdrom" => BootDevice::Cd,
            "bios" | "bios_setup" => BootDevice::BiosSetup,
            "none" => BootDevice::None,
            _ => {
                return Err(BmcError::Invalid(format!(
                    "unknown boot device {s:?}; use pxe, disk, cd, bios_setup or none"
                )))
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootOverride {
    pub device: BootDevice,
    /// true: every boot; false: the next boot only.
    pub persistent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BiosSettings {
    /// Attributes in effect now.
    pub current: BTreeMap<String, serde_json::Value>,
    /// Attributes written but not yet applied (applied at the next reset).
    pub pending: BTreeMap<String, serde_json::Value>,
}

/// One difference between the expected BIOS profile and a node's attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BiosDiff {
    pub attribute: String,
    pub expected: serde_json::Value,
    pub actual: Option<serde_json::Value>,
}

/// Attributes of `expected` that `actual` lacks or holds with another value.
pub fn bios_diff(
    expected: &BTreeMap<String, serde_json::Value>,
    actual: &BTreeMap<String, serde_json::Value>,
) -> Vec<BiosDiff> {
    expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| BiosDiff {
            attribute: k.clone(),
            expected: v.clone(),
            actual: actual.get(k).cloned(),
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageController {
    pub id: String,
    pub name: String,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub raid_types: Vec<String>,
    pub drives: Vec<Drive>,
    pub volumes: Vec<Volume>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drive {
    pub id: String,
    pub name: Option<String>,
    pub capacity_bytes: Option<u64>,
    pub media_type: Option<String>,
    pub serial: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub name: Option<String>,
    pub raid_type: Option<String>,
    pub capacity_bytes: Option<u64>,
    pub drives: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeSpec {
    pub controller: String,
    pub name: String,
    pub raid_type: String,
    /// Drive ids of the controller.
    pub drives: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirmwareItem {
    pub id: String,
    pub name: Option<String>,
    pub version: String,
    pub updateable: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FirmwareSource {
    /// The BMC fetches the image (SimpleUpdate).
    Url(String),
    /// The image is pushed to the BMC (multipart HTTP push).
    Upload { filename: String, bytes: Vec<u8> },
}

/// Progress of a long BMC task, reported to the caller while it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub percent: Option<u8>,
    pub state: String,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelEntry {
    pub id: String,
    pub created: Option<String>,
    pub severity: Option<String>,
    pub message: String,
}

/// One BMC reading: a temperature, fan, voltage, power supply or power draw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    pub name: String,
    /// `temperature`, `fan`, `voltage`, `power_supply`, `power`, … (Redfish `ReadingType`
    /// lower-cased for the newer Sensor resources).
    pub kind: String,
    pub reading: Option<f64>,
    pub units: Option<String>,
    /// The BMC's own verdict as it reports it: Redfish `Status.Health` (`OK`, `Warning`,
    /// `Critical`) or ipmitool's status column (`ok`, `nc`, `cr`, `nr`).
    pub health: Option<String>,
    /// Redfish `Status.State` when reported (`Enabled`, `Absent`, `UnavailableOffline`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The upper non-critical (caution) threshold, when the BMC reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_caution: Option<f64>,
    /// The upper critical threshold, when the BMC reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_critical: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualMediaStatus {
    pub id: String,
    pub inserted: bool,
    pub image: Option<String>,
}

/// Progress sink for long operations (firmware updates).
pub type ProgressFn<'a> = &'a (dyn Fn(TaskProgress) + Send + Sync);

/// One out-of-band interface to a server's BMC. Drivers implement what their protocol offers;
/// the rest answers [`BmcError::Unsupported`].
#[async_trait::async_trait]
pub trait OutOfBand: Send + Sync {
    /// Driver name: `redfish`, `ipmi`, `ipmitool`.
    fn driver(&self) -> &'static str;
    /// The BMC this talks to (no credentials).
    fn endpoint(&self) -> &str;

    async fn power_state(&self) -> Result<PowerState>;
    async fn power(&self, action: PowerAction) -> Result<()>;
    async fn set_boot(&self, boot: BootOverride) -> Result<()>;
    async fn boot(&self) -> Result<BootOverride>;
    async fn sel(&self) -> Result<Vec<SelEntry>>;
    async fn clear_sel(&self) -> Result<()>;
    async fn sensors(&self) -> Result<Vec<Sensor>>;

    /// Restarts the BMC itself (Redfish `Manager.Reset`, IPMI cold reset); the host keeps
    /// running. The BMC is away for a while afterwards: sessions end, requests fail until it
    /// is back.
    async fn reset_bmc(&self) -> Result<()> {
        Err(self.unsupported("BMC reset"))
    }

    async fn bios(&self) -> Result<BiosSettings> {
        Err(self.unsupported("BIOS attributes"))
    }
    async fn set_bios(&self, _attributes: &BTreeMap<String, serde_json::Value>) -> Result<()> {
        Err(self.unsupported("BIOS attributes"))
    }
    async fn storage(&self) -> Result<Vec<StorageController>> {
        Err(self.unsupported("RAID storage"))
    }
    async fn create_volume(&self, _spec: &VolumeSpec) -> Result<Volume> {
        Err(self.unsupported("RAID volume creation"))
    }
    async fn delete_volume(&self, _controller: &str, _volume: &str) -> Result<()> {
        Err(self.unsupported("RAID volume deletion"))
    }
    async fn firmware(&self) -> Result<Vec<FirmwareItem>> {
        Err(self.unsupported("firmware inventory"))
    }
    async fn update_firmware(
        &self,
        _source: FirmwareSource,
        _targets: &[String],
        _deadline: Duration,
        _progress: ProgressFn<'_>,
    ) -> Result<()> {
        Err(self.unsupported("firmware update"))
    }
    async fn insert_media(&self, _image: &str) -> Result<()> {
        Err(self.unsupported("virtual media"))
    }
    async fn eject_media(&self) -> Result<()> {
        Err(self.unsupported("virtual media"))
    }
    async fn media(&self) -> Result<Vec<VirtualMediaStatus>> {
        Err(self.unsupported("virtual media"))
    }

    fn unsupported(&self, what: &str) -> BmcError {
        BmcError::Unsupported {
            endpoint: self.endpoint().to_string(),
            driver: self.driver(),
            what: what.to_string(),
        }
    }
}

/// Runs `fut` under an overall deadline; an expired deadline is a [`BmcError::Timeout`].
pub async fn with_deadline<T>(
    endpoint: &str,
    deadline: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(BmcError::Timeout {
            endpoint: endpoint.to_string(),
            after: deadline,
        }),
    }
}

/// Polls `power_state` until it equals `want` or `deadline` passes (BMCs apply resets with a delay).
pub async fn wait_power(bmc: &dyn OutOfBand, want: PowerState, deadline: Duration) -> Result<()> {
    let start = tokio::time::Instant::now();
    let mut last = PowerState::Unknown;
    loop {
        match bmc.power_state().await {
            Ok(s) if s == want => return Ok(()),
            Ok(s) => last = s,
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e),
        }
        if start.elapsed() >= deadline {
            return Err(BmcError::Task {
                endpoint: bmc.endpoint().to_string(),
                what: format!("waiting for power {}", want.as_str()),
                detail: format!("still {} after {deadline:?}", last.as_str()),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// After a power cycle: polls until the BMC has reported the node off or in a power transition,
/// then on, within `deadline`. "On" before any sign of the off phase is not accepted: a BMC
/// that applies the cycle with a delay still reads "on" at first.
pub async fn wait_power_cycle(bmc: &dyn OutOfBand, deadline: Duration) -> Result<()> {
    let start = tokio::time::Instant::now();
    let mut went_down = false;
    let mut last = PowerState::Unknown;
    loop {
        match bmc.power_state().await {
            Ok(PowerState::On) if went_down => return Ok(()),
            Ok(s) => {
                went_down |= matches!(
                    s,
                    PowerState::Off | PowerState::PoweringOff | PowerState::PoweringOn
                );
                last = s;
            }
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e),
        }
        if start.elapsed() >= deadline {
            return Err(BmcError::Task {
                endpoint: bmc.endpoint().to_string(),
                what: "waiting for the power cycle".into(),
                detail: if went_down {
                    format!("still {} after {deadline:?}", last.as_str())
                } else {
                    format!(
                        "the node did not report off or a power transition within {deadline:?} (reads {})",
                        last.as_str()
                    )
                },
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_masked() {
        let e = Endpoint::new("https://bmc", "admin", "hunter2");
        let d = format!("{e:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("***"));
    }

    #[test]
    fn bios_diff_lists_missing_and_different() {
        let mut want = BTreeMap::new();
        want.insert("A".to_string(), serde_json::json!("x"));
        want.insert("B".to_string(), serde_json::json!(1));
        want.insert("C".to_string(), serde_json::json!(true));
        let mut have = BTreeMap::new();
        have.insert("A".to_string(), serde_json::json!("x"));
        have.insert("B".to_string(), serde_json::json!(2));
        let d = bios_diff(&want, &have);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].attribute, "B");
        assert_eq!(d[1].actual, None);
    }

    #[test]
    fn parse_actions() {
        assert_eq!("cycle".parse::<PowerAction>().unwrap(), PowerAction::Cycle);
        assert!("explode".parse::<PowerAction>().is_err());
        assert_eq!("pxe".parse::<BootDevice>().unwrap(), BootDevice::Pxe);
    }
}
