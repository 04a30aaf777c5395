//! What a sample is about: the identity labels a sender attaches, the keys they give for finding
//! the CMDB asset, the [`Resolver`] the caller implements over the CMDB, and the conversion of
//! parsed line-protocol points and Prometheus samples into per-GPU batches of [`GpuField`] values.
//!
//! Samples that no key resolves are counted per key in [`UnknownSenders`], never dropped silently.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::fields::GpuField;
use crate::line_protocol::Point;
use crate::prometheus::Exposition;
use crate::Nanos;

/// A key by which a sample can be matched to a CMDB asset, strongest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SampleKey {
    /// NVML/DCGM UUID (`GPU-xxxxxxxx-…`).
    GpuUuid { uuid: String },
    /// The GPU board serial (what the CMDB keys GPUs by).
    GpuSerial { serial: String },
    /// The node's hostname and the GPU's index on it (`gpu` label of dcgm-exporter).
    NodeGpu { node: String, index: u32 },
    /// The node's BMC address (BMC sensor readings).
    Bmc { address: String },
    /// The node alone (node-level readings).
    Node { node: String },
}

impl std::fmt::Display for SampleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::GpuUuid { uuid } => write!(f, "uuid={uuid}"),
            Self::GpuSerial { serial } => write!(f, "serial={serial}"),
            Self::NodeGpu { node, index } => write!(f, "node={node} gpu={index}"),
            Self::Bmc { address } => write!(f, "bmc={address}"),
            Self::Node { node } => write!(f, "node={node}"),
        }
    }
}

/// The identity labels of a sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub uuid: Option<String>,
    pub serial: Option<String>,
    pub hostname: Option<String>,
    pub gpu_index: Option<u32>,
    pub pci_bus_id: Option<String>,
    pub model: Option<String>,
    pub bmc: Option<String>,
}

impl Identity {
    /// Reads identity labels. dcgm-exporter: `UUID`, `gpu`, `Hostname`, `modelName`,
    /// `pci_bus_id`, `DCGM_FI_DEV_SERIAL`; Telegraf `nvidia_smi`: `uuid`, `index`, `name`, `host`;
    /// gpufleet's agent: `uuid`, `serial`, `gpu`, `node`, `pci_bus_id`, `model`; BMC readings: `bmc`.
    /// Returns whether the label was an identity label.
    pub fn take_label(&mut self, key: &str, value: &str) -> bool {
        let v = || Some(value.to_string());
        match key {
            "UUID" | "uuid" | "gpu_uuid" => self.uuid = v(),
            "serial" | "gpu_serial" | "DCGM_FI_DEV_SERIAL" => self.serial = v(),
            "Hostname" | "hostname" | "host" | "node" => self.hostname = v(),
            "gpu" | "index" | "gpu_index" => self.gpu_index = value.parse().ok(),
            "pci_bus_id" => self.pci_bus_id = v(),
            "modelName" | "model" | "name" => self.model = v(),
            "bmc" | "bmc_address" => self.bmc = v(),
            _ => return false,
        }
        true
    }

    pub fn from_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut id = Self::default();
        for (k, v) in labels {
            id.take_label(k, v);
        }
        id
    }

    /// The keys to try, strongest first (an empty value is no key).
    pub fn keys(&self) -> Vec<SampleKey> {
        let some = |o: &Option<String>| o.as_ref().filter(|s| !s.is_empty()).cloned();
        let mut keys = Vec::with_capacity(3);
        if let Some(uuid) = some(&self.uuid) {
            keys.push(SampleKey::GpuUuid { uuid });
        }
        if let Some(serial) = some(&self.serial) {
            keys.push(SampleKey::GpuSerial { serial });
        }
        if let (Some(node), Some(index)) = (some(&self.hostname), self.gpu_index) {
            keys.push(SampleKey::NodeGpu { node, index });
        }
        if let Some(address) = some(&self.bmc) {
            keys.push(SampleKey::Bmc { address });
        }
        if let Some(node) = some(&self.hostname) {
            keys.push(SampleKey::Node { node });
        }
        keys
    }
}

/// The values of one sender for one GPU at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleBatch {
    pub identity: Identity,
    /// Other labels (kept for alert-rule matching), sorted.
    pub labels: BTreeMap<String, String>,
    pub timestamp: Option<Nanos>,
    pub values: Vec<(GpuField, f64)>,
}

/// Names seen in input that map to no [`GpuField`] (counted, for the operator).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmapped {
    pub names: BTreeMap<String, u64>,
}

impl Unmapped {
    fn count(&mut self, name: &str) {
        *self.names.entry(name.to_string()).or_default() += 1;
    }
}

/// Measurement names whose fields are GPU fields (the agent's `gpu`, Telegraf's `nvidia_smi`,
/// and Telegraf's Prometheus input with `metric_version = 2`).
const GPU_MEASUREMENTS: &[&str] = &["gpu", "nvidia_smi", "dcgm", "prometheus"];

/// Converts line-protocol points into batches. A point whose measurement is a GPU field name
/// (Telegraf's Prometheus input with `metric_version = 1` writes `DCGM_FI_DEV_GPU_TEMP
/// gauge=41`) takes its `gauge`/`counter`/`value` field as that field. Numeric fields only;
/// strings are skipped, booleans count as 0/1.
pub fn batches_from_points(points: &[Point], unmapped: &mut Unmapped) -> Vec<SampleBatch> {
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let mut identity = Identity::default();
        let mut labels = BTreeMap::new();
        for (k, v) in &p.tags {
            if !identity.take_label(k, v) {
                labels.insert(k.clone(), v.clone());
            }
        }
        let as_field = GpuField::from_name(&p.measurement);
        if as_field.is_none() && !GPU_MEASUREMENTS.contains(&p.measurement.as_str()) {
            unmapped.count(&p.measurement);
            continue;
        }
        let mut values = Vec::with_capacity(p.fields.len());
        for (k, v) in &p.fields {
            let Some(num) = v.as_f64() else { continue };
            let field = match as_field {
                Some(f) if matches!(k.as_str(), "gauge" | "counter" | "value") => Some(f),
                Some(_) => None,
                None => GpuField::from_name(k),
            };
            match field {
                Some(f) => values.push((f, num)),
                None => unmapped.count(k),
            }
        }
        if !values.is_empty() {
            out.push(SampleBatch {
                identity,
                labels,
                timestamp: p.timestamp,
                values,
            });
        }
    }
    out
}

/// Converts a scraped exposition into one batch per series identity (per GPU). `scrape_time`
/// stands in for samples without their own timestamp.
pub fn batches_from_exposition(
    exp: &Exposition,
    scrape_time: Nanos,
    unmapped: &mut Unmapped,
) -> Vec<SampleBatch> {
    let mut index: HashMap<(Identity, BTreeMap<String, String>, Nanos), usize> = HashMap::new();
    let mut out: Vec<SampleBatch> = Vec::new();
    for s in &exp.samples {
        let Some(field) = GpuField::from_name(&s.name) else {
            unmapped.count(&s.name);
            continue;
        };
        let mut identity = Identity::default();
        let mut labels = BTreeMap::new();
        for (k, v) in &s.labels {
            if !identity.take_label(k, v) && k != "device" && !k.starts_with("DCGM_FI_") {
                labels.insert(k.clone(), v.clone());
            }
        }
        let ts = s
            .timestamp_ms
            .and_then(|ms| ms.checked_mul(1_000_000))
            .unwrap_or(scrape_time);
        let key = (identity, labels, ts);
        let i = match index.get(&key) {
            Some(i) => *i,
            None => {
                let (identity, labels, ts) = key.clone();
                out.push(SampleBatch {
                    identity,
                    labels,
                    timestamp: Some(ts),
                    values: Vec::new(),
                });
                index.insert(key, out.len() - 1);
                out.len() - 1
            }
        };
        out[i].values.push((field, s.value));
    }
    out
}

/// The CMDB asset a sample belongs to, as the resolver reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    /// The GPU asset's id (or, for node-level readings, the node's id).
    pub asset: String,
    /// The node the GPU is installed in.
    pub node: Option<String>,
    /// Labels for alert-rule scopes: `rack`, `model`, `profile`, and whatever else the CMDB adds.
    pub labels: BTreeMap<String, String>,
}

/// Finds the asset for a key; implemented by the caller over the CMDB.
pub trait Resolver {
    fn resolve(&self, key: &SampleKey) -> Option<AssetRef>;
}

/// A resolver over a map, for tests and the embedded set-up.
#[derive(Debug, Clone, Default)]
pub struct MemoryResolver {
    map: HashMap<SampleKey, AssetRef>,
}

impl MemoryResolver {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, key: SampleKey, asset: AssetRef) {
        self.map.insert(key, asset);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Resolver for MemoryResolver {
    fn resolve(&self, key: &SampleKey) -> Option<AssetRef> {
        self.map.get(key).cloned()
    }
}

/// Samples from senders no key resolved, counted by their strongest key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownSenders {
    pub by_key: BTreeMap<SampleKey, u64>,
    /// Samples that carried no identity label at all.
    pub anonymous: u64,
}

impl UnknownSenders {
    pub fn total(&self) -> u64 {
        self.anonymous + self.by_key.values().sum::<u64>()
    }
}

/// Tries the identity's keys in order; on failure counts the batch's values under the strongest
/// key (or as anonymous).
pub fn resolve<R: Resolver + ?Sized>(
    resolver: &R,
    identity: &Identity,
    samples: u64,
    unknown: &mut UnknownSenders,
) -> Option<AssetRef> {
    let keys = identity.keys();
    for k in &keys {
        if let Some(a) = resolver.resolve(k) {
            return Some(a);
        }
    }
    match keys.into_iter().next() {
        Some(k) => *unknown.by_key.entry(k).or_default() += samples,
        None => unknown.anonymous += samples,
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_protocol::{parse_body, Limits, Precision};
    use crate::prometheus;

    #[test]
    fn keys_in_order() {
        let id = Identity::from_labels([
            ("gpu", "3"),
            ("Hostname", "n1"),
            ("UUID", "GPU-1"),
            ("serial", ""),
            ("bmc", "10.0.0.5"),
        ]);
        assert_eq!(
            id.keys(),
            vec![
                SampleKey::GpuUuid {
                    uuid: "GPU-1".into()
                },
                SampleKey::NodeGpu {
                    node: "n1".into(),
                    index: 3
                },
                SampleKey::Bmc {
                    address: "10.0.0.5".into()
                },
                SampleKey::Node { node: "n1".into() },
            ]
        );
    }

    #[test]
    fn resolves_by_second_key_and_counts_unknowns() {
        let mut r = MemoryResolver::new();
        r.insert(
            SampleKey::NodeGpu {
                node: "n1".into(),
                index: 0,
            },
            AssetRef {
                asset: "gpu-a".into(),
                node: Some("n1".into()),
                ..Default::default()
            },
        );
        let mut unknown = UnknownSenders::default();
        let id = Identity::from_labels([("UUID", "GPU-x"), ("Hostname", "n1"), ("gpu", "0")]);
        assert_eq!(resolve(&r, &id, 5, &mut unknown).unwrap().asset, "gpu-a");
        let stranger = Identity::from_labels([("UUID", "GPU-y")]);
        assert!(resolve(&r, &stranger, 4, &mut unknown).is_none());
        assert!(resolve(&r, &stranger, 1, &mut unknown).is_none());
        assert!(resolve(&r, &Identity::default(), 2, &mut unknown).is_none());
        assert_eq!(
            unknown.by_key[&SampleKey::GpuUuid {
                uuid: "GPU-y".into()
            }],
            5
        );
        assert_eq!(unknown.anonymous, 2);
        assert_eq!(unknown.total(), 7);
    }

    #[test]
    fn points_to_batches() {
        let body = b"gpu,uuid=GPU-1,node=n1,gpu=0,rack=r1 gpu_temp=41,power_usage=300.5,xid=0i,note=\"x\",bogus=1 10\n\
nvidia_smi,index=1,uuid=GPU-2,name=NVIDIA\\ H100 temperature_gpu=50i,power_draw=200 20\n\
DCGM_FI_DEV_GPU_TEMP,UUID=GPU-3 gauge=60 30\n\
cpu usage=3 40\n";
        let parsed = parse_body(body, Precision::Ns, &Limits::default());
        let mut unmapped = Unmapped::default();
        let b = batches_from_points(&parsed.points, &mut unmapped);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].identity.uuid.as_deref(), Some("GPU-1"));
        assert_eq!(b[0].labels["rack"], "r1");
        assert_eq!(
            b[0].values,
            vec![
                (GpuField::GpuTemp, 41.0),
                (GpuField::PowerUsage, 300.5),
                (GpuField::XidErrors, 0.0)
            ]
        );
        assert_eq!(b[1].identity.model.as_deref(), Some("NVIDIA H100"));
        assert_eq!(b[1].identity.gpu_index, Some(1));
        assert_eq!(b[2].values, vec![(GpuField::GpuTemp, 60.0)]);
        assert_eq!(unmapped.names["bogus"], 1);
        assert_eq!(unmapped.names["cpu"], 1);
    }

    #[test]
    fn exposition_to_batches_groups_by_gpu() {
        let text = "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-a\",device=\"nvidia0\",Hostname=\"n1\",DCGM_FI_DRIVER_VERSION=\"550\"} 40\n\
DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",UUID=\"GPU-b\",device=\"nvidia1\",Hostname=\"n1\"} 41\n\
DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-a\",device=\"nvidia0\",Hostname=\"n1\",DCGM_FI_DRIVER_VERSION=\"550\"} 300\n\
DCGM_FI_DEV_SERIAL{gpu=\"0\"} 1\n\
DCGM_EXP_XID_ERRORS_COUNT{gpu=\"0\",xid=\"79\"} 1\n";
        let exp = prometheus::parse(text);
        let mut unmapped = Unmapped::default();
        let b = batches_from_exposition(&exp, 99, &mut unmapped);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[0].values,
            vec![(GpuField::GpuTemp, 40.0), (GpuField::PowerUsage, 300.0)]
        );
        assert_eq!(b[0].timestamp, Some(99));
        assert!(b[0].labels.is_empty());
        assert_eq!(unmapped.names.len(), 2);
    }
}
