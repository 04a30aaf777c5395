//! The full hardware inventory of one server as read over Redfish: system identity, CPUs,
//! memory, GPUs (wherever the vendor puts them), NICs with MACs, disks, firmware versions and
//! BIOS attributes. This is what the CMDB-Enricher turns into assets and configuration versions.
//!
//! Every list is sorted by its natural key (serial, MAC, id) so two reads of an unchanged server
//! compare equal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything a Redfish service says about one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub system: SystemInfo,
    pub cpus: Vec<Cpu>,
    pub memory: MemorySummary,
    pub gpus: Vec<Gpu>,
    pub nics: Vec<Nic>,
    pub disks: Vec<Disk>,
    /// Firmware component name → version (BMC, BIOS, GPU VBIOS, NIC, …).
    pub firmware: BTreeMap<String, String>,
    /// Current BIOS attributes.
    pub bios: BTreeMap<String, serde_json::Value>,
    /// What could not be read, worded for an operator (a missing optional collection, an
    /// unreadable member). Empty when the read was complete.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// The Redfish path of the host system (`/redfish/v1/Systems/…`).
    pub path: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub uuid: Option<String>,
    pub sku: Option<String>,
    pub bios_version: Option<String>,
    pub power_state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub id: String,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemorySummary {
    pub total_gib: Option<f64>,
    /// Populated DIMMs.
    pub dimms: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gpu {
    /// The Redfish id (`GPU_0`, `GPU1`, …).
    pub id: String,
    /// The resource the GPU was read from (a Processor or a Chassis/PCIe device path).
    pub path: String,
    pub serial: Option<String>,
    pub uuid: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub part_number: Option<String>,
    pub firmware: Option<String>,
    /// Slot / location label when the BMC gives one.
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nic {
    pub id: String,
    pub path: String,
    /// Lower-case, colon-separated.
    pub mac: String,
    pub model: Option<String>,
    pub speed_mbps: Option<u64>,
    pub link: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    pub id: String,
    pub path: String,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub capacity_bytes: Option<u64>,
    pub media: Option<String>,
    pub protocol: Option<String>,
}
