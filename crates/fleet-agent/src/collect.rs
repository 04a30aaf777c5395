//! GPU readings, the source port and its NVML adapter, and the lines a reading becomes.

use std::fmt::Write as _;

use fleet_telemetry::line_protocol::{self, FieldValue, Point, Precision};

/// One GPU at one moment: its identity and the values read (gpufleet field names).
#[derive(Debug, Clone, PartialEq)]
pub struct GpuReading {
    pub index: u32,
    /// NVML UUID (`GPU-…`).
    pub uuid: String,
    pub serial: Option<String>,
    /// dcgm-exporter's form, `00000000:3B:00.0`.
    pub pci_bus_id: Option<String>,
    pub model: Option<String>,
    pub values: Vec<(&'static str, f64)>,
}

/// Where readings come from.
pub trait Source: Send {
    /// What the source is, for the log.
    fn describe(&self) -> String;
    /// Every GPU now. A field the GPU does not support is left out, not an error.
    fn read(&mut self) -> anyhow::Result<Vec<GpuReading>>;
}

/// The measurement the agent writes.
pub const MEASUREMENT: &str = "gpu";

/// The lines for `readings` at `at_ns` from node `node`: one line per GPU with its identity as
/// tags (`uuid`, `serial`, `gpu`, `pci_bus_id`, `model`, `node`) and its values as fields.
pub fn lines(readings: &[GpuReading], node: &str, at_ns: i64) -> Vec<String> {
    readings
        .iter()
        .filter(|r| !r.values.is_empty())
        .filter_map(|r| {
            let mut tags = vec![
                ("uuid".to_string(), r.uuid.clone()),
                ("gpu".to_string(), r.index.to_string()),
                ("node".to_string(), node.to_string()),
            ];
            for (k, v) in [
                ("serial", &r.serial),
                ("pci_bus_id", &r.pci_bus_id),
                ("model", &r.model),
            ] {
                if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                    tags.push((k.to_string(), v.clone()));
                }
            }
            let p = Point {
                measurement: MEASUREMENT.into(),
                tags,
                fields: r
                    .values
                    .iter()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(k, v)| (k.to_string(), FieldValue::Float(*v)))
                    .collect(),
                timestamp: Some(at_ns),
            };
            let mut s = String::new();
            match line_protocol::write_point(&mut s, &p, Precision::Ns) {
                Ok(()) => Some(s),
                Err(e) => {
                    tracing::warn!(gpu = %r.uuid, error = %e, "reading not written");
                    None
                }
            }
        })
        .collect()
}

/// The line for an XID the driver logged: by the GPU's UUID when the agent knows which GPU sits
/// at that PCI address, else by node and PCI address (gpufleet then counts an unknown sender).
pub fn xid_line(
    uuid: Option<&str>,
    pci_bus_id: Option<&str>,
    node: &str,
    xid: u32,
    at_ns: i64,
) -> String {
    let mut tags = Vec::new();
    if let Some(u) = uuid {
        tags.push(("uuid".to_string(), u.to_string()));
    }
    tags.push(("node".to_string(), node.to_string()));
    if let Some(p) = pci_bus_id {
        tags.push(("pci_bus_id".to_string(), p.to_string()));
    }
    let p = Point {
        measurement: MEASUREMENT.into(),
        tags,
        fields: vec![("xid".into(), FieldValue::Integer(i64::from(xid)))],
        timestamp: Some(at_ns),
    };
    let mut s = String::new();
    if line_protocol::write_point(&mut s, &p, Precision::Ns).is_err() {
        // Only unwritable tag text fails; the node name is the one caller-given text.
        let _ = write!(s, "{MEASUREMENT} xid={xid}i {at_ns}");
    }
    s
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// NVML

/// Readings through NVML (`libnvidia-ml.so.1`, opened at [`NvmlSource::open`]).
pub struct NvmlSource {
    nvml: nvml_wrapper::Nvml,
}

impl NvmlSource {
    /// Loads NVML; on a machine without the NVIDIA driver this fails with NVML's reason.
    pub fn open() -> anyhow::Result<NvmlSource> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| {
            anyhow::anyhow!("NVML not available ({e}): is the NVIDIA driver installed and libnvidia-ml.so.1 on the library path?")
        })?;
        Ok(NvmlSource { nvml })
    }
}

impl Source for NvmlSource {
    fn describe(&self) -> String {
        let driver = self.nvml.sys_driver_version().unwrap_or_default();
        let n = self.nvml.device_count().unwrap_or(0);
        format!("NVML, driver {driver}, {n} GPUs")
    }

    fn read(&mut self) -> anyhow::Result<Vec<GpuReading>> {
        use nvml_wrapper::enum_wrappers::device::{
            Clock, EccCounter, MemoryError, TemperatureSensor,
        };
        let n = self.nvml.device_count()?;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let d = self.nvml.device_by_index(i)?;
            let mut v: Vec<(&'static str, f64)> = Vec::new();
            if let Ok(t) = d.temperature(TemperatureSensor::Gpu) {
                v.push(("gpu_temp", f64::from(t)));
            }
            if let Ok(mw) = d.power_usage() {
                v.push(("power_usage", f64::from(mw) / 1000.0));
            }
            if let Ok(mw) = d.enforced_power_limit() {
                v.push(("power_limit", f64::from(mw) / 1000.0));
            }
            if let Ok(mhz) = d.clock_info(Clock::SM) {
                v.push(("sm_clock", f64::from(mhz)));
            }
            if let Ok(mhz) = d.clock_info(Clock::Memory) {
                v.push(("mem_clock", f64::from(mhz)));
            }
            if let Ok(u) = d.utilization_rates() {
                v.push(("gpu_util", f64::from(u.gpu)));
                v.push(("mem_copy_util", f64::from(u.memory)));
            }
            if let Ok(m) = d.memory_info() {
                // MiB, as dcgm-exporter reports them.
                v.push(("fb_used", (m.used / (1 << 20)) as f64));
                v.push(("fb_free", (m.free / (1 << 20)) as f64));
            }
            if let Ok(mj) = d.total_energy_consumption() {
                v.push(("total_energy", mj as f64));
            }
            if let Ok(c) = d.total_ecc_errors(MemoryError::Corrected, EccCounter::Volatile) {
                v.push(("ecc_sbe_vol_total", c as f64));
            }
            if let Ok(c) = d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile) {
                v.push(("ecc_dbe_vol_total", c as f64));
            }
            if let Ok(c) = d.pcie_replay_counter() {
                v.push(("pcie_replay_counter", f64::from(c)));
            }
            if let Ok(r) = d.current_throttle_reasons() {
                v.push(("clock_event_reasons", r.bits() as f64));
            }
            out.push(GpuReading {
                index: i,
                uuid: d.uuid()?,
                serial: d.serial().ok(),
                pci_bus_id: d.pci_info().ok().map(|p| p.bus_id),
                model: d.name().ok(),
                values: v,
            });
        }
        Ok(out)
    }
}

/// Follows NVML's critical-XID events on every GPU in a thread of its own (NVML's event set
/// lives with the library handle there) and sends `(uuid, xid)` until `tx` closes. Returns
/// when NVML cannot be opened or no GPU supports the events.
pub fn nvml_xid_events(tx: tokio::sync::mpsc::Sender<(String, u32)>) -> anyhow::Result<()> {
    use nvml_wrapper::bitmasks::event::EventTypes;
    use nvml_wrapper::error::NvmlError;
    let nvml = nvml_wrapper::Nvml::init()?;
    let mut set = nvml.create_event_set()?;
    let mut registered = 0;
    for i in 0..nvml.device_count()? {
        let d = nvml.device_by_index(i)?;
        match d.register_events(EventTypes::CRITICAL_XID_ERROR, set) {
            Ok(s) => {
                set = s;
                registered += 1;
            }
            Err(e) => {
                anyhow::bail!("GPU {i}: XID events not supported: {}", e.error);
            }
        }
    }
    if registered == 0 {
        anyhow::bail!("no GPU to watch for XID events");
    }
    loop {
        if tx.is_closed() {
            return Ok(());
        }
        match set.wait(1000) {
            Ok(ev) => {
                let uuid = ev.device.uuid().unwrap_or_default();
                let xid = match ev.event_data {
                    Some(nvml_wrapper::enums::event::XidError::Value(v)) => v as u32,
                    _ => 0,
                };
                if tx.blocking_send((uuid, xid)).is_err() {
                    return Ok(());
                }
            }
            Err(NvmlError::Timeout) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_telemetry::line_protocol::{parse_body, Limits};

    #[test]
    fn a_reading_becomes_one_line_that_gpufleet_parses_back() {
        let r = GpuReading {
            index: 3,
            uuid: "GPU-9a0c".into(),
            serial: Some("1652822071234".into()),
            pci_bus_id: Some("00000000:3B:00.0".into()),
            model: Some("NVIDIA H100 80GB HBM3".into()),
            values: vec![
                ("gpu_temp", 41.0),
                ("power_usage", 312.5),
                ("fan_speed", f64::NAN),
            ],
        };
        let text = lines(
            std::slice::from_ref(&r),
            "node 1",
            1_796_452_190_000_000_000,
        )
        .join("\n");
        let parsed = parse_body(text.as_bytes(), Precision::Ns, &Limits::default());
        assert!(parsed.errors.is_empty(), "{text}: {:?}", parsed.errors);
        let p = &parsed.points[0];
        assert_eq!(p.tag("uuid"), Some("GPU-9a0c"));
        assert_eq!(p.tag("gpu"), Some("3"));
        assert_eq!(p.tag("node"), Some("node 1"));
        assert_eq!(p.tag("model"), Some("NVIDIA H100 80GB HBM3"));
        assert_eq!(p.timestamp, Some(1_796_452_190_000_000_000));
        assert_eq!(p.fields.len(), 2, "NaN is left out: {:?}", p.fields);
        // A GPU without values gives no line.
        let empty = GpuReading {
            values: vec![],
            ..r
        };
        assert!(lines(&[empty], "n", 0).is_empty());
    }

    #[test]
    fn an_xid_line_names_the_gpu_or_else_its_pci_address() {
        let by_uuid = xid_line(Some("GPU-1"), Some("00000000:3B:00.0"), "n1", 79, 5);
        assert_eq!(
            by_uuid,
            "gpu,uuid=GPU-1,node=n1,pci_bus_id=00000000:3B:00.0 xid=79i 5"
        );
        let by_pci = xid_line(None, Some("00000000:3B:00.0"), "n1", 48, 5);
        assert_eq!(by_pci, "gpu,node=n1,pci_bus_id=00000000:3B:00.0 xid=48i 5");
    }

    #[test]
    fn without_the_nvidia_driver_nvml_says_why() {
        // On machines with a GPU this opens NVML; on the others it must fail with a reason.
        match NvmlSource::open() {
            Ok(mut s) => assert!(s.read().is_ok(), "{}", s.describe()),
            Err(e) => assert!(e.to_string().contains("NVML not available"), "{e}"),
        }
    }
}
