//! The full hardware inventory of one server as read over Redfish: system identity, CPUs,
//! memory, GPUs (wherever the vendor puts them), NICs with MACs, disks, firmware versions and
//! BIOS attributes. This is what the CMDB-Enricher turns into assets and configuration versions.
//!
//! Every list is sorted by its natural key (CPUs, GPUs and disks by id then path, with numbers
//! compared as numbers so `GPU2` comes before `GPU10`; NICs by MAC) so two reads of an unchanged
//! server compare equal.
//!
//! How it is read ([`crate::redfish::RedfishClient::inventory`]): the host system (the first
//! member of `Systems`; unreadable = the whole read fails), then its Processors, Memory,
//! EthernetInterfaces, Storage (SimpleStorage where Storage is missing) and Bios, the chassis it
//! links (identity where the system has none, NetworkAdapters; a link that does not answer is
//! replaced by the members of the Chassis collection that belong to the system), GPU Processors
//! in the other systems of the service (HGX baseboards) with the PCIe devices they link, and
//! `UpdateService/FirmwareInventory`. Only where no system lists a GPU Processor are GPUs looked
//! for among PCIe devices (by name, or by a function's PCI vendor id and class) and in every
//! member of the Chassis collection that is a GPU by its names (DGX `HGX_GPU_SXM_n`, trays
//! `HGX_GPU_n`), with their PCIe devices: no vendor needs to be recognised for that. Where no GPU
//! is found although the system's or a chassis' model or chassis names promise GPUs, a `gpus`
//! warning and [`Inventory::gpus_promised_by`] say so. Members are read at most
//! [`CONCURRENCY`] at a time, each GET under the client's timeout and retries; after a few
//! network failures the read stops asking. Anything but the system that cannot be read becomes
//! a `warnings` entry. One GPU seen as a Processor, a PCIe device and a chassis is one GPU (the
//! Processor's `Links.PCIeDevice`, then the same serial in the same chassis, then the same
//! UUID); two resources of one kind reporting one serial (trays give both GPUs of a module its
//! serial) are two GPUs, named in a `gpu serials:` warning.
//!
//! What differs by vendor is data (`[inventory]` in `vendors/*.toml`): where GPUs live, how one
//! is recognised, which values mean "unknown", how firmware components are named.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redfish::RedfishClient;
use crate::{BmcError, Result};

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
    /// unreadable member). Empty when the read was complete. Each starts with the sections it
    /// concerns and a colon (`gpus: …`, `cpus,gpus: …`; see [`SECTIONS`] and
    /// [`Inventory::is_complete`]).
    pub warnings: Vec<String>,
    /// Set when no GPU was found although something said there would be GPUs (the system or
    /// chassis model, chassis named for GPUs): what said so, worded for an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus_promised_by: Option<String>,
}

/// The parts of an inventory a warning can concern.
pub const SECTIONS: &[&str] = &[
    "cpus", "memory", "gpus", "nics", "disks", "firmware", "bios",
];

impl Inventory {
    /// Whether `section` (one of [`SECTIONS`]) was read without problems: no warning names it.
    /// A list that is incomplete must not be taken to mean that what is missing from it is gone.
    pub fn is_complete(&self, section: &str) -> bool {
        !self.warnings.iter().any(|w| {
            w.split_once(':')
                .is_some_and(|(head, _)| head.split(',').any(|s| s.trim() == section))
        })
    }
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
    /// The chassis the GPU sits in (its Id), where the BMC says: with the path, what tells
    /// apart two GPUs that report one serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis: Option<String>,
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

/// Most member GETs in flight at once against one BMC.
pub const CONCURRENCY: usize = 8;

/// Network failures (timeouts, refused connections) tolerated on optional parts before the read
/// stops asking and reports what it has.
const MAX_NETWORK_FAILURES: u32 = 3;

// ------------------------------------------------------------------------------ vendor data

const GENERIC: &str = include_str!("../vendors/generic.toml");
/// The same files as [`crate::vendor`], read for their `[inventory]` tables.
const VENDOR_FILES: &[(&str, &str)] = &[
    ("dell", include_str!("../vendors/dell.toml")),
    ("lenovo", include_str!("../vendors/lenovo.toml")),
    ("sushy", include_str!("../vendors/sushy.toml")),
    ("nvidia", include_str!("../vendors/nvidia.toml")),
    ("ami", include_str!("../vendors/ami.toml")),
];

/// The `[inventory]` table of a vendor profile (generic values with the vendor's laid over).
#[derive(Clone, Debug, Deserialize)]
pub struct InventoryQuirks {
    pub gpu_systems: Vec<String>,
    pub gpu_chassis: Vec<String>,
    pub gpu_processor_types: Vec<String>,
    pub gpu_model_words: Vec<String>,
    pub not_gpu_chassis_types: Vec<String>,
    pub gpu_pci_vendor_ids: Vec<String>,
    pub gpu_promise_words: Vec<String>,
    pub gpu_words: Vec<String>,
    pub not_gpu_words: Vec<String>,
    pub placeholders: Vec<String>,
    pub generic_names: Vec<String>,
    pub max_members: usize,
    pub nics: NicQuirks,
    pub firmware: FirmwareQuirks,
}

#[derive(Clone, Debug, Deserialize)]
pub struct NicQuirks {
    pub exclude_ids: Vec<String>,
    pub network_adapters: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FirmwareQuirks {
    pub id_prefixes: Vec<String>,
    pub component_after: String,
    pub bios_components: Vec<String>,
}

fn inventory_table(text: &str) -> Option<toml::Value> {
    toml::from_str::<toml::Value>(text)
        .ok()?
        .get("inventory")
        .cloned()
}

fn overlay(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(bv) if bv.is_table() && v.is_table() => overlay(bv, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

impl InventoryQuirks {
    /// The quirks of the named vendor profile (`generic` for an unknown name).
    pub fn for_profile(name: &str) -> InventoryQuirks {
        let mut base = inventory_table(GENERIC).expect("generic.toml has an [inventory] table");
        if let Some((_, text)) = VENDOR_FILES.iter().find(|(n, _)| *n == name) {
            if let Some(over) = inventory_table(text) {
                overlay(&mut base, over);
            }
        }
        base.try_into()
            .unwrap_or_else(|e| panic!("vendors/{name}.toml [inventory] does not parse: {e}"))
    }

    /// Every profile that has an inventory overlay file.
    pub fn names() -> Vec<&'static str> {
        std::iter::once("generic")
            .chain(VENDOR_FILES.iter().map(|(n, _)| *n))
            .collect()
    }

    fn clean(&self, v: &Value, key: &str) -> Option<String> {
        let s = match v.get(key)? {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let lower = s.to_lowercase();
        if self.placeholders.iter().any(|p| p.to_lowercase() == lower) {
            None
        } else {
            Some(s)
        }
    }

    fn looks_like_gpu(&self, text: &str) -> bool {
        let t = text.to_lowercase();
        self.gpu_words.iter().any(|w| t.contains(&w.to_lowercase()))
            && !self
                .not_gpu_words
                .iter()
                .any(|w| t.contains(&w.to_lowercase()))
    }

    /// A PCIe device or chassis that is a GPU by its names.
    fn is_gpu_device(&self, d: &Value) -> bool {
        let text = ["Manufacturer", "Model", "Name"]
            .iter()
            .filter_map(|k| d.get(*k).and_then(|x| x.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        self.looks_like_gpu(&text)
    }

    fn any_word(words: &[String], text: &str) -> bool {
        let t = text.to_lowercase();
        words.iter().any(|w| t.contains(&w.to_lowercase()))
    }

    /// A chassis that is a GPU: named in the profile's `gpu_chassis`, or one whose Id, Name or
    /// Model says GPU, that says nothing that rules it out (a root of trust, a switch, ...),
    /// contains no other chassis (a baseboard or tray holds GPUs, it is not one) and is not of a
    /// container type.
    fn is_gpu_chassis(&self, id: &str, ch: &Value) -> bool {
        if self.gpu_chassis.iter().any(|pat| id_matches(pat, id)) {
            return true;
        }
        let names = ["Name", "Model"]
            .iter()
            .filter_map(|k| ch.get(*k).and_then(|x| x.as_str()))
            .chain(std::iter::once(id))
            .collect::<Vec<_>>()
            .join(" ");
        let all = format!(
            "{names} {}",
            ch.get("Manufacturer")
                .and_then(|m| m.as_str())
                .unwrap_or("")
        );
        let contains = ch
            .get("Links")
            .map(|l| links(l.get("Contains")))
            .unwrap_or_default();
        let container = ch
            .get("ChassisType")
            .and_then(|t| t.as_str())
            .is_some_and(|t| self.not_gpu_chassis_types.iter().any(|c| c == t));
        Self::any_word(&self.gpu_model_words, &names)
            && !Self::any_word(&self.not_gpu_words, &all)
            && contains.is_empty()
            && !container
    }

    /// A PCIe device or function whose VendorId is a GPU maker's and whose class is a display
    /// controller or processing accelerator.
    fn is_gpu_pci_function(&self, f: &Value) -> bool {
        let vendor = f
            .get("VendorId")
            .and_then(|v| v.as_str())
            .map(str::to_lowercase);
        let Some(vendor) = vendor else { return false };
        if !self
            .gpu_pci_vendor_ids
            .iter()
            .any(|v| v.to_lowercase() == vendor)
        {
            return false;
        }
        let class_code = f.get("ClassCode").and_then(|c| c.as_str()).map(|c| {
            c.trim_start_matches("0x")
                .trim_start_matches("0X")
                .to_lowercase()
        });
        let device_class = f.get("DeviceClass").and_then(|c| c.as_str());
        class_code.is_some_and(|c| c.starts_with("03") || c.starts_with("12"))
            || matches!(
                device_class,
                Some("DisplayController" | "ProcessingAccelerators")
            )
    }

    /// A resource whose Manufacturer is one of the makers of GPUs named in `gpu_words`.
    fn is_gpu_maker(&self, d: &Value) -> bool {
        d.get("Manufacturer")
            .and_then(|m| m.as_str())
            .is_some_and(|m| Self::any_word(&self.gpu_words, m))
    }

    fn is_gpu_processor(&self, p: &Value) -> bool {
        match p.get("ProcessorType").and_then(|t| t.as_str()) {
            Some(t) if self.gpu_processor_types.iter().any(|g| g == t) => true,
            None | Some("OEM") => self.is_gpu_device(p),
            _ => false,
        }
    }
}

/// `pattern` is an Id, `Prefix*` or `*`.
pub(crate) fn id_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

// ------------------------------------------------------------------------------ pure helpers

/// A MAC address as lower-case colon-separated octets; `None` for anything else (and for the
/// all-zero address).
pub fn normalize_mac(s: &str) -> Option<String> {
    let hex: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let lower = hex.to_lowercase();
    if lower.chars().all(|c| c == '0') {
        return None;
    }
    let octets: Vec<&str> = (0..6).map(|i| &lower[i * 2..i * 2 + 2]).collect();
    Some(octets.join(":"))
}

/// Compares strings with runs of digits compared as numbers (`GPU2` < `GPU10`).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let ea = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                let eb = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
                let (na, nb) = (
                    a[..ea].trim_start_matches('0'),
                    b[..eb].trim_start_matches('0'),
                );
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[ea..];
                b = &b[eb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}

fn odata_id(v: &Value) -> Option<String> {
    v.get("@odata.id")
        .and_then(|x| x.as_str())
        .map(|s| s.trim_end_matches('/').to_string())
}

fn link(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(odata_id)
}

/// `@odata.id`s of an array of links (or of one link).
fn links(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(odata_id).collect(),
        Some(o @ Value::Object(_)) => odata_id(o).into_iter().collect(),
        _ => vec![],
    }
}

fn last_segment(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn id_of(v: &Value, path: &str) -> String {
    v.get("Id")
        .and_then(|x| x.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| last_segment(path))
}

fn state(v: &Value) -> Option<&str> {
    v.get("Status")
        .and_then(|s| s.get("State"))
        .and_then(|s| s.as_str())
}

fn absent(v: &Value) -> bool {
    state(v) == Some("Absent")
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    let x = v.get(key)?;
    x.as_u64()
        .or_else(|| x.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

fn location_label(v: &Value) -> Option<String> {
    let from = |l: &Value| {
        l.get("PartLocation")
            .and_then(|p| p.get("ServiceLabel"))
            .and_then(|s| s.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    v.get("Location")
        .and_then(from)
        .or_else(|| v.get("Slot").and_then(|s| s.get("Location")).and_then(from))
        .or_else(|| {
            v.get("Socket")
                .and_then(|s| s.as_str())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
}

fn fill<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if dst.is_none() {
        dst.clone_from(src);
    }
}

impl Gpu {
    fn fill_from(&mut self, o: &Gpu) {
        fill(&mut self.serial, &o.serial);
        fill(&mut self.uuid, &o.uuid);
        fill(&mut self.model, &o.model);
        fill(&mut self.manufacturer, &o.manufacturer);
        fill(&mut self.part_number, &o.part_number);
        fill(&mut self.firmware, &o.firmware);
        fill(&mut self.location, &o.location);
        fill(&mut self.chassis, &o.chassis);
    }

    /// Which kind of resource the GPU was read from: a Processor, a PCIe device or a chassis.
    fn source(&self) -> &'static str {
        if self.path.contains("/Processors/") {
            "processor"
        } else if self.path.contains("/PCIeDevices/") {
            "pcie"
        } else {
            "chassis"
        }
    }

    fn same_as(&self, o: &Gpu) -> bool {
        // GPUs in two different chassis are two GPUs, whatever they report.
        if let (Some(a), Some(b)) = (&self.chassis, &o.chassis) {
            if a != b {
                return false;
            }
        }
        if let (Some(a), Some(b)) = (&self.serial, &o.serial) {
            // Two resources of one kind (two Processors, two chassis) that report one serial are
            // two GPUs: some trays give both GPUs of a module the module's serial.
            return a == b && (self.source() != o.source() || self.path == o.path);
        }
        match (&self.uuid, &o.uuid) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => self.path == o.path,
        }
    }
}

/// Adds `g` to `gpus`, or completes the GPU it duplicates (same serial in the same place, else
/// same UUID, else same path).
pub fn merge_gpu(gpus: &mut Vec<Gpu>, g: Gpu) {
    match gpus.iter_mut().find(|x| x.same_as(&g)) {
        Some(x) => x.fill_from(&g),
        None => gpus.push(g),
    }
}

/// Warnings for GPUs that report one serial (kept apart by their location), worded for an
/// operator.
pub fn serial_collisions(gpus: &[Gpu]) -> Vec<String> {
    let mut by_serial: BTreeMap<&str, Vec<&Gpu>> = BTreeMap::new();
    for g in gpus {
        if let Some(s) = &g.serial {
            by_serial.entry(s).or_default().push(g);
        }
    }
    by_serial
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(serial, v)| {
            let places: Vec<String> = v
                .iter()
                .map(|g| match &g.chassis {
                    Some(c) if *c != g.id => format!("{} (chassis {c})", g.id),
                    _ => format!("{} ({})", g.id, g.path),
                })
                .collect();
            format!(
                "gpu serials: {} GPUs report serial {serial}: {}; they are told apart by their \
                 location",
                v.len(),
                places.join(", ")
            )
        })
        .collect()
}

/// The chassis a GPU resource sits in: its `Links.Chassis`, else the chassis in its path.
fn chassis_of(path: &str, d: &Value) -> Option<String> {
    let linked = d.get("Links").and_then(|l| match l.get("Chassis") {
        Some(Value::Array(a)) => a.first().and_then(odata_id),
        Some(o @ Value::Object(_)) => odata_id(o),
        _ => None,
    });
    linked
        .map(|p| last_segment(&p))
        .or_else(|| {
            let mut it = path.split('/');
            it.by_ref().find(|s| *s == "Chassis")?;
            it.next().map(str::to_string)
        })
        .filter(|c| !c.is_empty())
}

/// Adds `n` to `nics`, or completes the NIC with the same MAC.
pub fn merge_nic(nics: &mut Vec<Nic>, n: Nic) {
    match nics.iter_mut().find(|x| x.mac == n.mac) {
        Some(x) => {
            fill(&mut x.model, &n.model);
            fill(&mut x.speed_mbps, &n.speed_mbps);
            fill(&mut x.link, &n.link);
        }
        None => nics.push(n),
    }
}

/// Sorts every list by its natural key.
pub fn sort_inventory(inv: &mut Inventory) {
    inv.cpus.sort_by(|a, b| natural_cmp(&a.id, &b.id));
    inv.gpus
        .sort_by(|a, b| natural_cmp(&a.id, &b.id).then_with(|| natural_cmp(&a.path, &b.path)));
    inv.nics.sort_by(|a, b| a.mac.cmp(&b.mac));
    inv.disks
        .sort_by(|a, b| natural_cmp(&a.id, &b.id).then_with(|| natural_cmp(&a.path, &b.path)));
}

// ------------------------------------------------------------------------------ the read

struct Reader<'a> {
    c: &'a RedfishClient,
    q: InventoryQuirks,
    warnings: Vec<String>,
    network_failures: AtomicU32,
    requests: AtomicU32,
}

impl Reader<'_> {
    fn gave_up(&self) -> bool {
        self.network_failures.load(AtomicOrdering::Relaxed) >= MAX_NETWORK_FAILURES
    }

    /// One GET. `Unauthorized` ends the read; other failures are returned for the caller to
    /// turn into a warning.
    async fn fetch(&self, path: &str) -> Result<std::result::Result<Value, String>> {
        if self.gave_up() {
            return Ok(Err(format!("{path}: not read (the BMC stopped answering)")));
        }
        self.requests.fetch_add(1, AtomicOrdering::Relaxed);
        match self.c.inventory_get(path).await {
            Ok(v) => Ok(Ok(v)),
            Err(e @ BmcError::Unauthorized { .. }) => Err(e),
            Err(e) => {
                if matches!(e, BmcError::Timeout { .. } | BmcError::Connect { .. }) {
                    self.network_failures.fetch_add(1, AtomicOrdering::Relaxed);
                }
                // Warnings belong to one BMC's inventory: no endpoint prefix; the path once.
                let text = e.to_string();
                let prefix = format!("{}: ", self.c.inventory_endpoint());
                let text = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
                Ok(Err(if text.contains(path) {
                    text
                } else {
                    format!("{path}: {text}")
                }))
            }
        }
    }

    /// One optional resource: `None` (and a warning) when it cannot be read.
    async fn one(&mut self, path: &str, what: &str) -> Result<Option<Value>> {
        match self.fetch(path).await? {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                self.warnings.push(format!("{what} not read: {e}"));
                Ok(None)
            }
        }
    }

    /// Many resources, [`CONCURRENCY`] at a time, in the order given; unreadable ones are left
    /// out with a warning.
    async fn many(&mut self, paths: Vec<String>, what: &str) -> Result<Vec<(String, Value)>> {
        let this: &Self = self;
        let results: Vec<(String, Result<std::result::Result<Value, String>>)> =
            stream::iter(paths)
                .map(|p| async move {
                    let r = this.fetch(&p).await;
                    (p, r)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let mut out = vec![];
        for (p, r) in results {
            match r? {
                Ok(v) => out.push((p, v)),
                Err(e) => self.warnings.push(format!("{what} not read: {e}")),
            }
        }
        Ok(out)
    }

    /// Many resources, [`CONCURRENCY`] at a time, each with its result (no warnings).
    async fn try_many(
        &self,
        paths: Vec<String>,
    ) -> Result<Vec<(String, std::result::Result<Value, String>)>> {
        let results: Vec<(String, Result<std::result::Result<Value, String>>)> =
            stream::iter(paths)
                .map(|p| async move {
                    let r = self.fetch(&p).await;
                    (p, r)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        results.into_iter().map(|(p, r)| Ok((p, r?))).collect()
    }

    /// Every member of the Chassis collection (read once, kept in `cache`), except `skip`.
    async fn all_chassis(
        &mut self,
        cache: &mut Option<Vec<(String, Value)>>,
        coll: &str,
        skip: &[(String, String)],
    ) -> Result<Vec<(String, Value)>> {
        if let Some(c) = cache {
            return Ok(c.clone());
        }
        let members: Vec<String> = self
            .members(coll, "gpus: chassis")
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !skip.iter().any(|(d, _)| d == p))
            .collect();
        let docs = self.many(members, "gpus: chassis").await?;
        *cache = Some(docs.clone());
        Ok(docs)
    }

    /// The members of a collection (following `Members@odata.nextLink`), at most
    /// `max_members`.
    async fn members(&mut self, coll: &str, what: &str) -> Result<Option<Vec<String>>> {
        let Some(mut page) = self.one(coll, what).await? else {
            return Ok(None);
        };
        let mut out: Vec<String> = vec![];
        let mut pages = 1;
        loop {
            out.extend(links(page.get("Members")));
            let next = page
                .get("Members@odata.nextLink")
                .and_then(|n| n.as_str())
                .map(str::to_string);
            match next {
                Some(n) if pages < 16 && out.len() < self.q.max_members => {
                    pages += 1;
                    match self.one(&n, what).await? {
                        Some(p) => page = p,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|p| seen.insert(p.clone()));
        if out.len() > self.q.max_members {
            self.warnings.push(format!(
                "{what}: {coll} lists {} members; only the first {} were read",
                out.len(),
                self.q.max_members
            ));
            out.truncate(self.q.max_members);
        }
        Ok(Some(out))
    }

    /// Members of several collections, then the members themselves.
    async fn expand(&mut self, colls: Vec<String>, what: &str) -> Result<Vec<(String, Value)>> {
        let mut paths = vec![];
        for c in colls {
            if let Some(m) = self.members(&c, what).await? {
                paths.extend(m);
            }
        }
        let mut seen = BTreeSet::new();
        paths.retain(|p| seen.insert(p.clone()));
        self.many(paths, what).await
    }
}

fn system_info(q: &InventoryQuirks, path: &str, s: &Value) -> SystemInfo {
    SystemInfo {
        path: path.to_string(),
        manufacturer: q.clean(s, "Manufacturer"),
        model: q.clean(s, "Model"),
        serial: q.clean(s, "SerialNumber"),
        uuid: q.clean(s, "UUID").map(|u| u.to_lowercase()),
        sku: q.clean(s, "SKU"),
        bios_version: q.clean(s, "BiosVersion"),
        power_state: q.clean(s, "PowerState"),
    }
}

fn cpu_of(q: &InventoryQuirks, path: &str, p: &Value) -> Cpu {
    Cpu {
        id: id_of(p, path),
        model: q.clean(p, "Model"),
        manufacturer: q.clean(p, "Manufacturer"),
        cores: u64_of(p, "TotalCores").and_then(|c| u32::try_from(c).ok()),
        threads: u64_of(p, "TotalThreads").and_then(|c| u32::try_from(c).ok()),
        serial: q.clean(p, "SerialNumber"),
    }
}

/// A GPU from a Processor, PCIe device or chassis document.
fn gpu_of(q: &InventoryQuirks, path: &str, d: &Value) -> Gpu {
    let manufacturer = q.clean(d, "Manufacturer");
    let model = q.clean(d, "Model").or_else(|| {
        // PCIe devices often carry the product in Name only (Lenovo: "NVIDIA Quadro RTX A6000").
        q.clean(d, "Name").filter(|n| {
            let l = n.to_lowercase();
            q.looks_like_gpu(n)
                && !q.generic_names.iter().any(|g| g.to_lowercase() == l)
                && manufacturer.as_deref().map(str::to_lowercase) != Some(l)
        })
    });
    Gpu {
        id: id_of(d, path),
        path: path.to_string(),
        serial: q.clean(d, "SerialNumber"),
        uuid: q.clean(d, "UUID").map(|u| u.to_lowercase()),
        model,
        manufacturer,
        part_number: q.clean(d, "PartNumber"),
        firmware: q.clean(d, "FirmwareVersion"),
        location: location_label(d),
        chassis: chassis_of(path, d),
    }
}

fn disk_of(q: &InventoryQuirks, path: &str, d: &Value) -> Disk {
    Disk {
        id: id_of(d, path),
        path: path.to_string(),
        serial: q.clean(d, "SerialNumber"),
        model: q.clean(d, "Model"),
        capacity_bytes: u64_of(d, "CapacityBytes").filter(|c| *c > 0),
        media: q.clean(d, "MediaType"),
        protocol: q.clean(d, "Protocol"),
    }
}

/// The firmware component name of a FirmwareInventory member id, or `None` when the profile
/// leaves the member out.
fn firmware_component(q: &FirmwareQuirks, id: &str) -> Option<String> {
    if !q.id_prefixes.is_empty() && !q.id_prefixes.iter().any(|p| id.starts_with(p.as_str())) {
        return None;
    }
    if q.component_after.is_empty() {
        return Some(id.to_string());
    }
    Some(
        id.split_once(q.component_after.as_str())
            .map(|(_, c)| c)
            .unwrap_or(id)
            .to_string(),
    )
}

/// The version of the firmware component `pattern` (an id or `Prefix*`) names, if listed.
fn bios_in_firmware(pattern: &str, firmware: &BTreeMap<String, String>) -> Option<String> {
    firmware
        .iter()
        .find(|(id, _)| id_matches(pattern, id))
        .map(|(_, v)| v.clone())
}

pub(crate) async fn read(c: &RedfishClient) -> Result<Inventory> {
    read_with(c, None).await
}

/// The inventory read with these quirks instead of the detected vendor profile's (to try a
/// vendor file change against a BMC, or to read a tree another way).
pub async fn read_with(c: &RedfishClient, quirks: Option<InventoryQuirks>) -> Result<Inventory> {
    let (profile_name, sys_path, root) = c.inventory_start().await?;
    let q = quirks.unwrap_or_else(|| InventoryQuirks::for_profile(&profile_name));
    // The host system is the one thing that must be readable.
    let sys = c.inventory_get(&sys_path).await?;
    let mut r = Reader {
        c,
        q: q.clone(),
        warnings: vec![],
        network_failures: AtomicU32::new(0),
        requests: AtomicU32::new(1),
    };
    let mut inv = Inventory {
        system: system_info(&q, &sys_path, &sys),
        ..Default::default()
    };

    // ---- chassis the system links (identity fallback, NetworkAdapters, PCIe devices). A link
    // that does not answer is replaced by the members of the Chassis collection that belong to
    // the system (their Links.ComputerSystems name it), else by the top-level ones.
    let sys_links = sys.get("Links").cloned().unwrap_or(Value::Null);
    let host_chassis: Vec<String> = links(sys_links.get("Chassis"));
    let chassis_coll = link(&root, "Chassis").unwrap_or("/redfish/v1/Chassis".into());
    let mut all_chassis: Option<Vec<(String, Value)>> = None;
    let mut chassis_docs: Vec<(String, Value)> = vec![];
    let mut dead: Vec<(String, String)> = vec![];
    for (p, res) in r.try_many(host_chassis.clone()).await? {
        match res {
            Ok(v) => chassis_docs.push((p, v)),
            Err(e) => dead.push((p, e)),
        }
    }
    if chassis_docs.is_empty() {
        let all = r
            .all_chassis(&mut all_chassis, &chassis_coll, &dead)
            .await?;
        let belongs = |ch: &Value| {
            ch.get("Links")
                .map(|l| links(l.get("ComputerSystems")))
                .unwrap_or_default()
                .contains(&sys_path)
        };
        let mut found: Vec<(String, Value)> =
            all.iter().filter(|(_, c)| belongs(c)).cloned().collect();
        if found.is_empty() {
            found = all
                .iter()
                .filter(|(p, c)| {
                    c.get("Links").and_then(|l| l.get("ContainedBy")).is_none()
                        && !q.is_gpu_chassis(&last_segment(p), c)
                })
                .take(1)
                .cloned()
                .collect();
        }
        let names: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        for (p, e) in &dead {
            if names.is_empty() {
                r.warnings.push(format!("nics: chassis not read: {e}"));
            } else {
                r.warnings.push(format!(
                    "chassis: {p}, linked by the system, not read ({e}); read {} from the \
                     Chassis collection instead",
                    names.join(", ")
                ));
            }
        }
        chassis_docs = found;
    } else {
        for (_, e) in &dead {
            r.warnings.push(format!("nics: chassis not read: {e}"));
        }
    }
    if let Some((_, ch)) = chassis_docs.first() {
        // Some BMCs (GH200, BlueField) keep the board identity on the chassis only.
        let s = &mut inv.system;
        fill(&mut s.manufacturer, &q.clean(ch, "Manufacturer"));
        fill(&mut s.model, &q.clean(ch, "Model"));
        fill(&mut s.serial, &q.clean(ch, "SerialNumber"));
    }

    // ---- processors: CPUs of the host, GPUs of the host and the systems the profile names
    let mut proc_colls = vec![(
        true,
        link(&sys, "Processors").unwrap_or(format!("{sys_path}/Processors")),
    )];
    if !q.gpu_systems.is_empty() {
        let coll = link(&root, "Systems").unwrap_or("/redfish/v1/Systems".into());
        let others: Vec<String> = r
            .members(&coll, "gpus: systems")
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|p| *p != sys_path)
            .filter(|p| {
                let id = last_segment(p);
                q.gpu_systems.iter().any(|pat| id_matches(pat, &id))
            })
            .collect();
        for (_, d) in r.many(others, "gpus: system").await? {
            if let Some(pc) = link(&d, "Processors") {
                proc_colls.push((false, pc));
            }
        }
    }
    let mut gpus: Vec<Gpu> = vec![];
    // GPU index in `gpus` -> its Links.PCIeDevice
    let mut gpu_pcie_links: Vec<(usize, String)> = vec![];
    for (host, coll) in proc_colls {
        let what = if host {
            "cpus,gpus: processor"
        } else {
            "gpus: GPU processor"
        };
        for (p, d) in r.expand(vec![coll], what).await? {
            if absent(&d) {
                continue;
            }
            if q.is_gpu_processor(&d) {
                let g = gpu_of(&q, &p, &d);
                let before = gpus.len();
                merge_gpu(&mut gpus, g);
                if gpus.len() > before {
                    if let Some(l) = d.get("Links").and_then(|l| link(l, "PCIeDevice")) {
                        gpu_pcie_links.push((before, l));
                    }
                }
            } else if host {
                let t = d.get("ProcessorType").and_then(|t| t.as_str());
                if matches!(t, None | Some("CPU")) {
                    inv.cpus.push(cpu_of(&q, &p, &d));
                }
            }
        }
    }

    // ---- PCIe devices: those the GPU Processors link (model, slot, serial where the Processor
    // lacks them). Where the service lists no GPU Processor at all, GPUs are looked for among the
    // system's PCIe devices (else its chassis') and in every chassis that is a GPU. Where it
    // does, Processors are the list: a GPU that has fallen off the bus leaves Processors while
    // its PCIe device and chassis often stay until the next boot.
    let mut pcie_paths: Vec<String> = gpu_pcie_links.iter().map(|(_, l)| l.clone()).collect();
    let mut gpu_chassis_docs: Vec<(String, Value)> = vec![];
    if gpus.is_empty() {
        match sys.get("PCIeDevices") {
            Some(Value::Array(_)) => pcie_paths.extend(links(sys.get("PCIeDevices"))),
            Some(o @ Value::Object(_)) => {
                if let Some(coll) = odata_id(o) {
                    pcie_paths.extend(
                        r.members(&coll, "gpus: PCIe devices")
                            .await?
                            .unwrap_or_default(),
                    );
                }
            }
            _ => {
                for (_, ch) in &chassis_docs {
                    if let Some(coll) = link(ch, "PCIeDevices") {
                        pcie_paths.extend(
                            r.members(&coll, "gpus: PCIe devices")
                                .await?
                                .unwrap_or_default(),
                        );
                    }
                }
            }
        }
        // Every chassis of the service that is a GPU (by its names, or named in the profile).
        let all = r
            .all_chassis(&mut all_chassis, &chassis_coll, &dead)
            .await?;
        gpu_chassis_docs = all
            .iter()
            .filter(|(p, c)| !absent(c) && q.is_gpu_chassis(&last_segment(p), c))
            .cloned()
            .collect();
        for (_, ch) in &gpu_chassis_docs {
            if let Some(coll) = link(ch, "PCIeDevices") {
                pcie_paths.extend(
                    r.members(&coll, "gpus: PCIe devices")
                        .await?
                        .unwrap_or_default(),
                );
            }
        }
    }
    let mut seen = BTreeSet::new();
    pcie_paths.retain(|p| seen.insert(p.clone()));
    let pcie: HashMap<String, Value> = r
        .many(pcie_paths.clone(), "gpus: PCIe device")
        .await?
        .into_iter()
        .collect();
    let mut consumed = BTreeSet::new();
    for (i, l) in &gpu_pcie_links {
        if let Some(d) = pcie.get(l) {
            let from_pcie = gpu_of(&q, l, d);
            gpus[*i].fill_from(&from_pcie);
            consumed.insert(l.clone());
        }
    }
    // PCIe devices whose names say nothing either way: their functions' vendor and class.
    let unnamed: Vec<String> = pcie_paths
        .iter()
        .filter(|p| !consumed.contains(*p))
        .filter_map(|p| pcie.get(p).map(|d| (p, d)))
        .filter(|(_, d)| !absent(d) && !q.is_gpu_device(d) && !q.is_gpu_pci_function(d))
        .filter(|(_, d)| q.clean(d, "Manufacturer").is_none() || q.is_gpu_maker(d))
        .filter_map(|(_, d)| link(d, "PCIeFunctions"))
        .take(32)
        .collect();
    let mut gpu_by_function: BTreeSet<String> = BTreeSet::new();
    for coll in unnamed {
        let device = coll.rsplit_once('/').map(|(d, _)| d.to_string());
        let funcs = r.expand(vec![coll], "gpus: PCIe function").await?;
        if funcs.iter().any(|(_, f)| q.is_gpu_pci_function(f)) {
            gpu_by_function.extend(device);
        }
    }
    for p in &pcie_paths {
        if consumed.contains(p) {
            continue;
        }
        if let Some(d) = pcie.get(p) {
            let gpu = q.is_gpu_device(d) || q.is_gpu_pci_function(d) || gpu_by_function.contains(p);
            if !absent(d) && gpu {
                merge_gpu(&mut gpus, gpu_of(&q, p, d));
            }
        }
    }
    for (p, d) in &gpu_chassis_docs {
        merge_gpu(&mut gpus, gpu_of(&q, p, d));
    }
    r.warnings.extend(serial_collisions(&gpus));
    if gpus.is_empty() {
        // Something said there would be GPUs: the system's or its chassis' model, or a chassis
        // named for a GPU (absent, unreadable, or its GPU's root of trust).
        let mut why: Vec<String> = vec![];
        let models = std::iter::once(("system", &sys_path, &sys))
            .chain(chassis_docs.iter().map(|(p, c)| ("chassis", p, c)));
        for (what, p, d) in models {
            if let Some(m) = q.clean(d, "Model") {
                if InventoryQuirks::any_word(&q.gpu_promise_words, &m) {
                    why.push(format!("the {what} model is {m} ({p})"));
                }
            }
        }
        if let Some(all) = &all_chassis {
            let named: Vec<String> = all
                .iter()
                .map(|(p, _)| last_segment(p))
                .filter(|id| id.to_lowercase().contains("gpu"))
                .collect();
            if !named.is_empty() {
                why.push(format!("chassis named for GPUs: {}", named.join(", ")));
            }
        }
        if !why.is_empty() {
            let why = why.join("; ");
            r.warnings.push(format!(
                "gpus: no GPU found although {why}; looked in the Processors of every system, \
                 every chassis and their PCIe devices"
            ));
            inv.gpus_promised_by = Some(why);
        }
    }
    inv.gpus = gpus;

    // ---- memory
    let summary_gib = sys
        .get("MemorySummary")
        .and_then(|m| m.get("TotalSystemMemoryGiB"))
        .and_then(|g| g.as_f64());
    let mut dimm_mib = 0u64;
    match link(&sys, "Memory") {
        Some(coll) => {
            for (_, d) in r.expand(vec![coll], "memory: memory module").await? {
                let cap = u64_of(&d, "CapacityMiB");
                if absent(&d) || cap == Some(0) {
                    continue;
                }
                inv.memory.dimms += 1;
                dimm_mib += cap.unwrap_or(0);
            }
        }
        None if summary_gib.is_none() => r.warnings.push(
            "memory: unknown: the system has no MemorySummary and no Memory collection".into(),
        ),
        None => {}
    }
    inv.memory.total_gib = summary_gib
        .or_else(|| (dimm_mib > 0).then(|| dimm_mib as f64 / 1024.0))
        .filter(|g| *g > 0.0 || inv.memory.dimms > 0);

    // ---- NICs: the system's EthernetInterfaces, then the chassis' NetworkAdapters
    let mut nics: Vec<Nic> = vec![];
    let mut nic_sources = 0;
    if let Some(coll) = link(&sys, "EthernetInterfaces") {
        nic_sources += 1;
        for (p, e) in r.expand(vec![coll], "nics: Ethernet interface").await? {
            let id = id_of(&e, &p);
            let host_interface = e
                .get("Links")
                .is_some_and(|l| l.get("HostInterface").is_some());
            if host_interface || q.nics.exclude_ids.contains(&id) {
                continue;
            }
            let raw = q
                .clean(&e, "MACAddress")
                .or_else(|| q.clean(&e, "PermanentMACAddress"));
            let Some(raw) = raw else { continue };
            let Some(mac) = normalize_mac(&raw) else {
                r.warnings.push(format!(
                    "nics: {p}: MAC address {raw:?} is not a MAC address"
                ));
                continue;
            };
            merge_nic(
                &mut nics,
                Nic {
                    id,
                    path: p.clone(),
                    mac,
                    model: None,
                    speed_mbps: u64_of(&e, "SpeedMbps").filter(|s| *s > 0),
                    link: q.clean(&e, "LinkStatus"),
                },
            );
        }
    }
    if q.nics.network_adapters {
        let adapter_colls: Vec<String> = chassis_docs
            .iter()
            .filter_map(|(_, ch)| link(ch, "NetworkAdapters"))
            .collect();
        nic_sources += adapter_colls.len();
        for (_, a) in r.expand(adapter_colls, "nics: network adapter").await? {
            let model = q.clean(&a, "Model");
            let mut found = 0;
            if let Some(coll) = link(&a, "NetworkDeviceFunctions") {
                for (p, f) in r
                    .expand(vec![coll], "nics: network device function")
                    .await?
                {
                    let eth = f.get("Ethernet").cloned().unwrap_or(Value::Null);
                    let raw = q
                        .clean(&eth, "MACAddress")
                        .or_else(|| q.clean(&eth, "PermanentMACAddress"));
                    let Some(mac) = raw.as_deref().and_then(normalize_mac) else {
                        continue;
                    };
                    found += 1;
                    merge_nic(
                        &mut nics,
                        Nic {
                            id: id_of(&f, &p),
                            path: p.clone(),
                            mac,
                            model: model.clone(),
                            speed_mbps: None,
                            link: None,
                        },
                    );
                }
            }
            if found > 0 {
                continue;
            }
            // No functions with MACs: the ports may name them.
            let ports = link(&a, "Ports").or_else(|| link(&a, "NetworkPorts"));
            if let Some(coll) = ports {
                for (p, port) in r.expand(vec![coll], "nics: network port").await? {
                    let mut macs: Vec<String> = vec![];
                    for key in ["AssociatedNetworkAddresses"] {
                        if let Some(a) = port.get(key).and_then(|a| a.as_array()) {
                            macs.extend(a.iter().filter_map(|m| m.as_str().map(str::to_string)));
                        }
                    }
                    if let Some(a) = port
                        .get("Ethernet")
                        .and_then(|e| e.get("AssociatedMACAddresses"))
                        .and_then(|a| a.as_array())
                    {
                        macs.extend(a.iter().filter_map(|m| m.as_str().map(str::to_string)));
                    }
                    let speed = port
                        .get("CurrentSpeedGbps")
                        .and_then(|s| s.as_f64())
                        .map(|g| (g * 1000.0) as u64)
                        .or_else(|| u64_of(&port, "CurrentLinkSpeedMbps"))
                        .filter(|s| *s > 0);
                    for m in macs.iter().filter_map(|m| normalize_mac(m)) {
                        merge_nic(
                            &mut nics,
                            Nic {
                                id: id_of(&port, &p),
                                path: p.clone(),
                                mac: m,
                                model: model.clone(),
                                speed_mbps: speed,
                                link: q.clean(&port, "LinkStatus"),
                            },
                        );
                    }
                }
            }
        }
    }
    if nic_sources == 0 {
        r.warnings.push(
            "nics: unknown: the system has no EthernetInterfaces and its chassis no NetworkAdapters"
                .into(),
        );
    }
    inv.nics = nics;

    // ---- disks: Storage -> Drives; SimpleStorage where Storage is missing or unreadable
    let mut disks: Vec<Disk> = vec![];
    let storage_read = match link(&sys, "Storage") {
        Some(coll) => match r.members(&coll, "disks: storage").await? {
            Some(members) => {
                let mut drive_paths = vec![];
                for (_, st) in r.many(members, "disks: storage subsystem").await? {
                    match st.get("Drives") {
                        Some(Value::Array(_)) => drive_paths.extend(links(st.get("Drives"))),
                        Some(o @ Value::Object(_)) => {
                            if let Some(dc) = odata_id(o) {
                                drive_paths.extend(
                                    r.members(&dc, "disks: drives").await?.unwrap_or_default(),
                                );
                            }
                        }
                        _ => {}
                    }
                }
                let mut seen = BTreeSet::new();
                drive_paths.retain(|p| seen.insert(p.clone()));
                for (p, d) in r.many(drive_paths, "disks: drive").await? {
                    if absent(&d) {
                        continue;
                    }
                    let disk = disk_of(&q, &p, &d);
                    let dup = disk.serial.is_some()
                        && disks.iter().any(|x: &Disk| x.serial == disk.serial);
                    if !dup {
                        disks.push(disk);
                    }
                }
                true
            }
            None => false,
        },
        None => false,
    };
    if !storage_read {
        match link(&sys, "SimpleStorage") {
            Some(coll) => {
                for (p, ss) in r.expand(vec![coll], "disks: simple storage").await? {
                    let devices = ss
                        .get("Devices")
                        .and_then(|d| d.as_array())
                        .cloned()
                        .unwrap_or_default();
                    for (i, d) in devices.iter().enumerate() {
                        // Backplanes and enclosures are listed too, without a capacity.
                        if absent(d) || u64_of(d, "CapacityBytes").unwrap_or(0) == 0 {
                            continue;
                        }
                        let dp = format!("{p}#/Devices/{i}");
                        let mut disk = disk_of(&q, &dp, d);
                        disk.id = q.clean(d, "Name").unwrap_or_else(|| i.to_string());
                        disks.push(disk);
                    }
                }
            }
            None if link(&sys, "Storage").is_none() => r.warnings.push(
                "disks: unknown: the system has no Storage and no SimpleStorage collection".into(),
            ),
            None => {}
        }
    }
    inv.disks = disks;

    // ---- firmware inventory
    let us = link(&root, "UpdateService").unwrap_or("/redfish/v1/UpdateService".into());
    if let Some(u) = r.one(&us, "firmware: update service").await? {
        let fi = link(&u, "FirmwareInventory").unwrap_or(format!("{us}/FirmwareInventory"));
        let members: Vec<String> = r
            .members(&fi, "firmware: firmware inventory")
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|p| firmware_component(&q.firmware, &last_segment(p)).is_some())
            .collect();
        for (p, f) in r.many(members, "firmware: firmware component").await? {
            let id = id_of(&f, &p);
            let Some(component) = firmware_component(&q.firmware, &id) else {
                continue;
            };
            if let Some(v) = q.clean(&f, "Version") {
                inv.firmware.entry(component).or_insert(v);
            }
        }
    }
    if inv.system.bios_version.is_none() {
        inv.system.bios_version = q
            .firmware
            .bios_components
            .iter()
            .find_map(|b| bios_in_firmware(b, &inv.firmware));
    }

    // ---- BIOS attributes
    if let Some(b) = link(&sys, "Bios") {
        if let Some(bios) = r.one(&b, "bios: BIOS attributes").await? {
            if let Some(a) = bios.get("Attributes").and_then(|a| a.as_object()) {
                inv.bios = a.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            }
        }
    }

    if r.gave_up() {
        r.warnings.push(format!(
            "{}: the read stopped early after {MAX_NETWORK_FAILURES} network failures; the \
             inventory is incomplete",
            SECTIONS.join(",")
        ));
    }
    tracing::debug!(
        endpoint = %c.inventory_endpoint(),
        requests = r.requests.load(AtomicOrdering::Relaxed),
        warnings = r.warnings.len(),
        "Redfish inventory read"
    );
    inv.warnings = r.warnings;
    sort_inventory(&mut inv);
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_profile_has_inventory_quirks() {
        // The same vendor files as the profiles, so a new vendor file cannot be forgotten here.
        assert_eq!(
            InventoryQuirks::names(),
            crate::vendor::VendorProfile::names()
        );
        for n in InventoryQuirks::names() {
            let q = InventoryQuirks::for_profile(n);
            assert!(q.max_members > 0, "{n}");
        }
        let dell = InventoryQuirks::for_profile("dell");
        assert_eq!(dell.firmware.id_prefixes, ["Installed-"]);
        // inherited from generic
        assert_eq!(dell.gpu_processor_types, ["GPU"]);
        assert_eq!(
            InventoryQuirks::for_profile("nvidia").gpu_chassis,
            ["HGX_GPU_*"]
        );
        assert_eq!(
            InventoryQuirks::for_profile("lenovo").nics.exclude_ids,
            ["ToManager"]
        );
    }

    #[test]
    fn warnings_name_their_sections() {
        let inv = Inventory {
            warnings: vec![
                "cpus,gpus: processor not read: HTTP 500".into(),
                "nics: unknown: no EthernetInterfaces".into(),
            ],
            ..Default::default()
        };
        assert!(!inv.is_complete("cpus"));
        assert!(!inv.is_complete("gpus"));
        assert!(!inv.is_complete("nics"));
        assert!(inv.is_complete("disks"));
        assert!(inv.is_complete("memory"));
        assert!(Inventory::default().is_complete("gpus"));
    }

    #[test]
    fn macs_are_normalised() {
        assert_eq!(
            normalize_mac("70:B5:E8:F0:52:DC").as_deref(),
            Some("70:b5:e8:f0:52:dc")
        );
        assert_eq!(
            normalize_mac("70-B5-E8-F0-52-DC").as_deref(),
            Some("70:b5:e8:f0:52:dc")
        );
        assert_eq!(
            normalize_mac(" 70b5.e8f0.52dc ").as_deref(),
            Some("70:b5:e8:f0:52:dc")
        );
        assert_eq!(normalize_mac("00:00:00:00:00:00"), None);
        assert_eq!(normalize_mac("70:B5:E8:F0:52"), None);
        assert_eq!(normalize_mac("zz:B5:E8:F0:52:DC"), None);
        assert_eq!(normalize_mac(""), None);
    }

    #[test]
    fn natural_order() {
        let mut v = vec![
            "GPU10",
            "GPU2",
            "GPU1",
            "CPU.Socket.2",
            "CPU.Socket.10",
            "GPU_0",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "CPU.Socket.2",
                "CPU.Socket.10",
                "GPU1",
                "GPU2",
                "GPU10",
                "GPU_0"
            ]
        );
        assert_eq!(natural_cmp("a007", "a7"), Ordering::Equal);
    }

    #[test]
    fn placeholders_are_unknown() {
        let q = InventoryQuirks::for_profile("generic");
        let d = json!({"Model": "N/A", "SerialNumber": "  MT2328XZ185R   ", "SKU": "", "PartNumber": 42});
        assert_eq!(q.clean(&d, "Model"), None);
        assert_eq!(q.clean(&d, "SerialNumber").as_deref(), Some("MT2328XZ185R"));
        assert_eq!(q.clean(&d, "SKU"), None);
        assert_eq!(q.clean(&d, "PartNumber").as_deref(), Some("42"));
        assert_eq!(q.clean(&d, "Missing"), None);
    }

    #[test]
    fn gpus_are_recognised() {
        let q = InventoryQuirks::for_profile("generic");
        assert!(q.is_gpu_processor(&json!({"ProcessorType": "GPU"})));
        assert!(!q.is_gpu_processor(
            &json!({"ProcessorType": "CPU", "Manufacturer": "NVIDIA", "Model": "Grace A02"})
        ));
        assert!(!q.is_gpu_processor(&json!({"ProcessorType": "FPGA", "Manufacturer": "NVIDIA"})));
        assert!(q.is_gpu_processor(&json!({"Manufacturer": "NVIDIA", "Model": "H100"})));
        assert!(
            q.is_gpu_device(&json!({"Manufacturer": "NVIDIA", "Name": "NVIDIA Quadro RTX A6000"}))
        );
        assert!(!q.is_gpu_device(
            &json!({"Manufacturer": "Mellanox Technologies", "Name": "MT28908 Family [ConnectX-6]"})
        ));
        assert!(
            !q.is_gpu_device(&json!({"Manufacturer": "NVIDIA", "Model": "BlueField-3 SmartNIC"}))
        );
        assert!(!q.is_gpu_device(&json!({"Manufacturer": "Matrox Electronics Systems Ltd.", "Name": "Integrated Matrox G200eW3 Graphics Controller"})));
        // The PCIe device's Name stands in for a missing Model, unless it says nothing.
        let g = gpu_of(
            &q,
            "/p",
            &json!({"Id": "slot_4", "Manufacturer": "NVIDIA", "Model": "N/A", "Name": "NVIDIA Quadro RTX A6000"}),
        );
        assert_eq!(g.model.as_deref(), Some("NVIDIA Quadro RTX A6000"));
        let g = gpu_of(
            &q,
            "/p",
            &json!({"Manufacturer": "NVIDIA Corporation", "Name": "NVIDIA Corporation"}),
        );
        assert_eq!(g.model, None);
        assert_eq!(g.id, "p");
    }

    #[test]
    fn gpus_merge_by_serial_then_uuid() {
        let mut gpus = vec![];
        let a = Gpu {
            id: "GPU_0".into(),
            path: "/Systems/B/Processors/GPU_0".into(),
            serial: Some("S1".into()),
            firmware: Some("96.00".into()),
            ..Default::default()
        };
        merge_gpu(&mut gpus, a);
        merge_gpu(
            &mut gpus,
            Gpu {
                id: "GPU_0".into(),
                path: "/Chassis/HGX_GPU_0".into(),
                serial: Some("S1".into()),
                part_number: Some("2342-888-A1".into()),
                firmware: Some("other".into()),
                ..Default::default()
            },
        );
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].path, "/Systems/B/Processors/GPU_0");
        assert_eq!(gpus[0].part_number.as_deref(), Some("2342-888-A1"));
        assert_eq!(gpus[0].firmware.as_deref(), Some("96.00"));
        // Different serials are different GPUs even with one UUID.
        merge_gpu(
            &mut gpus,
            Gpu {
                id: "GPU_1".into(),
                path: "/x".into(),
                serial: Some("S2".into()),
                ..Default::default()
            },
        );
        assert_eq!(gpus.len(), 2);
        // No serial: the UUID decides (case-insensitively).
        merge_gpu(
            &mut gpus,
            Gpu {
                id: "u".into(),
                path: "/u1".into(),
                uuid: Some("ABC".into()),
                ..Default::default()
            },
        );
        merge_gpu(
            &mut gpus,
            Gpu {
                id: "u".into(),
                path: "/u2".into(),
                uuid: Some("abc".into()),
                model: Some("M".into()),
                ..Default::default()
            },
        );
        assert_eq!(gpus.len(), 3);
        assert_eq!(gpus[2].model.as_deref(), Some("M"));
    }

    #[test]
    fn gpus_with_one_serial_in_two_places_are_two_gpus() {
        let gpu = |path: &str, chassis: Option<&str>| Gpu {
            id: last_segment(path),
            path: path.into(),
            serial: Some("1652423051234".into()),
            chassis: chassis.map(str::to_string),
            ..Default::default()
        };
        let mut gpus = vec![];
        merge_gpu(
            &mut gpus,
            gpu("/redfish/v1/Chassis/HGX_GPU_0", Some("HGX_GPU_0")),
        );
        merge_gpu(
            &mut gpus,
            gpu("/redfish/v1/Chassis/HGX_GPU_1", Some("HGX_GPU_1")),
        );
        assert_eq!(gpus.len(), 2);
        // Two Processors without a chassis that report one serial are two GPUs too.
        let mut procs = vec![];
        merge_gpu(
            &mut procs,
            gpu("/redfish/v1/Systems/B/Processors/GPU_2", None),
        );
        merge_gpu(
            &mut procs,
            gpu("/redfish/v1/Systems/B/Processors/GPU_3", None),
        );
        assert_eq!(procs.len(), 2);
        gpus.extend(procs);
        // The PCIe device in HGX_GPU_1 completes that GPU, not the first with the serial.
        let mut dev = gpu(
            "/redfish/v1/Chassis/HGX_GPU_1/PCIeDevices/GPU_1",
            Some("HGX_GPU_1"),
        );
        dev.firmware = Some("97.00".into());
        merge_gpu(&mut gpus, dev);
        assert_eq!(gpus.len(), 4);
        assert_eq!(gpus[0].firmware, None);
        assert_eq!(gpus[1].firmware.as_deref(), Some("97.00"));
        let w = serial_collisions(&gpus);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("gpu serials: 4 GPUs report serial 1652423051234"));
        assert!(
            w[0].contains("HGX_GPU_1") && w[0].contains("GPU_3"),
            "{w:?}"
        );
    }

    #[test]
    fn gpu_chassis_and_functions_are_recognised() {
        let q = InventoryQuirks::for_profile("generic");
        let sxm = json!({"ChassisType": "Module", "Manufacturer": "NVIDIA", "Model": "NVIDIA H100 80GB HBM3"});
        assert!(q.is_gpu_chassis("HGX_GPU_SXM_1", &sxm));
        // By its id alone, whatever the model says.
        assert!(q.is_gpu_chassis(
            "HGX_GPU_0",
            &json!({"ChassisType": "Module", "Model": "N/A"})
        ));
        for (id, doc) in [
            (
                "BMC_0",
                json!({"ChassisType": "Component", "Manufacturer": "NVIDIA", "Model": "P3809"}),
            ),
            (
                "CPU_0",
                json!({"ChassisType": "Component", "Manufacturer": "NVIDIA", "Model": "Grace A02"}),
            ),
            (
                "HGX_ERoT_GPU_0",
                json!({"ChassisType": "Component", "Manufacturer": "NVIDIA"}),
            ),
            (
                "HGX_NVSwitch_0",
                json!({"Manufacturer": "NVIDIA", "Model": "NVSwitch GPU fabric"}),
            ),
            (
                "DGX",
                json!({"ChassisType": "RackMount", "Model": "DGX H100 8-GPU"}),
            ),
            (
                "HGX_Chassis_0",
                json!({"Model": "HGX B200", "Links": {"Contains": [{"@odata.id": "/redfish/v1/Chassis/HGX_GPU_0"}]}}),
            ),
        ] {
            assert!(!q.is_gpu_chassis(id, &doc), "{id} is not a GPU");
        }
        assert!(q.is_gpu_pci_function(&json!({"VendorId": "0x10DE", "ClassCode": "0x030200"})));
        assert!(q.is_gpu_pci_function(
            &json!({"VendorId": "0x10de", "DeviceClass": "ProcessingAccelerators"})
        ));
        // A ConnectX NIC is an NVIDIA PCIe function too; a Matrox is a display controller.
        assert!(!q.is_gpu_pci_function(&json!({"VendorId": "0x15b3", "ClassCode": "0x020000"})));
        assert!(!q.is_gpu_pci_function(&json!({"VendorId": "0x10de", "ClassCode": "0x020700"})));
        assert!(!q.is_gpu_pci_function(&json!({"VendorId": "0x102b", "ClassCode": "0x030000"})));
    }

    #[test]
    fn the_bios_version_is_found_under_every_name_the_vendors_use() {
        for (vendor, id) in [
            ("generic", "BIOS"),
            ("generic", "UEFI"),
            ("generic", "HostBIOS_0"),
            ("ami", "HostBIOS_0"),
            ("nvidia", "HostBIOS_0"),
            ("nvidia", "DPU_UEFI"),
            ("dell", "BIOS.Setup.1-1"),
        ] {
            let q = InventoryQuirks::for_profile(vendor);
            let fw: BTreeMap<String, String> = [
                ("BMC".to_string(), "1.0".to_string()),
                (id.to_string(), "02.04.12".to_string()),
            ]
            .into();
            let found = q
                .firmware
                .bios_components
                .iter()
                .find_map(|b| bios_in_firmware(b, &fw));
            assert_eq!(found.as_deref(), Some("02.04.12"), "{vendor}: {id}");
        }
    }

    #[test]
    fn firmware_components() {
        let dell = InventoryQuirks::for_profile("dell").firmware;
        assert_eq!(
            firmware_component(&dell, "Installed-159-1.8.2__BIOS.Setup.1-1").as_deref(),
            Some("BIOS.Setup.1-1")
        );
        assert_eq!(
            firmware_component(&dell, "Previous-159-1.2.4__BIOS.Setup.1-1"),
            None
        );
        let generic = InventoryQuirks::for_profile("generic").firmware;
        assert_eq!(
            firmware_component(&generic, "HGX_FW_GPU_0").as_deref(),
            Some("HGX_FW_GPU_0")
        );
    }
}
