//! One internal name per GPU metric ([`GpuField`]) and the mapping from the names senders use:
//! dcgm-exporter's `DCGM_FI_*` metrics, gpufleet's own snake-case names (the node agent), and
//! Telegraf's `nvidia_smi` input fields.
//!
//! dcgm-exporter's field list is `etc/default-counters.csv` / `etc/dcp-metrics-included.csv` of
//! github.com/NVIDIA/dcgm-exporter (format `DCGM field, Prometheus type, help`); [`parse_counters_csv`]
//! reads that text. Every counter there either maps to a [`GpuField`] or is listed in
//! [`IGNORED_DCGM`] with the reason.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a field's value behaves over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A current value (temperature, power, utilisation).
    Gauge,
    /// A monotonically increasing total; health looks at increments, never at the absolute value.
    Counter,
    /// A bit mask (throttle / clock-event reasons).
    Bitmask,
    /// A code whose change is an event (the last XID).
    Code,
}

macro_rules! gpu_fields {
    ($( $variant:ident => $name:literal, $kind:ident, [$($alias:literal),* $(,)?] ; )*) => {
        /// The GPU metrics gpufleet understands.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum GpuField { $($variant,)* }

        impl GpuField {
            /// Every field, in declaration order.
            pub const ALL: &'static [GpuField] = &[$(GpuField::$variant,)*];

            /// The canonical snake-case name (also the line-protocol field key the agent writes).
            pub fn name(self) -> &'static str {
                match self { $(GpuField::$variant => $name,)* }
            }

            pub fn kind(self) -> FieldKind {
                match self { $(GpuField::$variant => FieldKind::$kind,)* }
            }

            /// Every name that maps to this field: canonical, DCGM and Telegraf aliases.
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $(GpuField::$variant => &[$($alias,)*],)* }
            }
        }
    };
}

gpu_fields! {
    GpuTemp => "gpu_temp", Gauge, ["DCGM_FI_DEV_GPU_TEMP", "temperature_gpu"];
    MemoryTemp => "memory_temp", Gauge, ["DCGM_FI_DEV_MEMORY_TEMP", "temperature_memory"];
    PowerUsage => "power_usage", Gauge, ["DCGM_FI_DEV_POWER_USAGE", "power_draw"];
    PowerLimit => "power_limit", Gauge, ["DCGM_FI_DEV_POWER_MGMT_LIMIT", "power_limit"];
    TotalEnergy => "total_energy", Counter, ["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"];
    SmClock => "sm_clock", Gauge, ["DCGM_FI_DEV_SM_CLOCK", "clocks_current_sm"];
    MemClock => "mem_clock", Gauge, ["DCGM_FI_DEV_MEM_CLOCK", "clocks_current_memory"];
    GpuUtil => "gpu_util", Gauge, ["DCGM_FI_DEV_GPU_UTIL", "utilization_gpu"];
    MemCopyUtil => "mem_copy_util", Gauge, ["DCGM_FI_DEV_MEM_COPY_UTIL", "utilization_memory"];
    EncUtil => "enc_util", Gauge, ["DCGM_FI_DEV_ENC_UTIL", "utilization_encoder"];
    DecUtil => "dec_util", Gauge, ["DCGM_FI_DEV_DEC_UTIL", "utilization_decoder"];
    FanSpeed => "fan_speed", Gauge, ["DCGM_FI_DEV_FAN_SPEED", "fan_speed"];
    FbFree => "fb_free", Gauge, ["DCGM_FI_DEV_FB_FREE", "memory_free"];
    FbUsed => "fb_used", Gauge, ["DCGM_FI_DEV_FB_USED", "memory_used"];
    FbReserved => "fb_reserved", Gauge, ["DCGM_FI_DEV_FB_RESERVED", "memory_reserved"];
    XidErrors => "xid", Code, ["DCGM_FI_DEV_XID_ERRORS", "xid_errors"];
    EccSbeVolTotal => "ecc_sbe_vol_total", Counter, ["DCGM_FI_DEV_ECC_SBE_VOL_TOTAL"];
    EccDbeVolTotal => "ecc_dbe_vol_total", Counter, ["DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"];
    EccSbeAggTotal => "ecc_sbe_agg_total", Counter, ["DCGM_FI_DEV_ECC_SBE_AGG_TOTAL"];
    EccDbeAggTotal => "ecc_dbe_agg_total", Counter, ["DCGM_FI_DEV_ECC_DBE_AGG_TOTAL"];
    RetiredSbe => "retired_sbe", Counter, ["DCGM_FI_DEV_RETIRED_SBE", "retired_pages_single_bit"];
    RetiredDbe => "retired_dbe", Counter, ["DCGM_FI_DEV_RETIRED_DBE", "retired_pages_double_bit"];
    RetiredPending => "retired_pending", Gauge, ["DCGM_FI_DEV_RETIRED_PENDING", "retired_pages_pending"];
    RowRemapFailure => "row_remap_failure", Gauge, ["DCGM_FI_DEV_ROW_REMAP_FAILURE", "remapped_rows_failure"];
    RowRemapPending => "row_remap_pending", Gauge, ["DCGM_FI_DEV_ROW_REMAP_PENDING", "remapped_rows_pending"];
    UncorrectableRemappedRows => "uncorrectable_remapped_rows", Counter, ["DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "remapped_rows_uncorrectable"];
    CorrectableRemappedRows => "correctable_remapped_rows", Counter, ["DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "remapped_rows_correctable"];
    NvlinkCrcFlitErrors => "nvlink_crc_flit_errors", Counter, ["DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL"];
    NvlinkCrcDataErrors => "nvlink_crc_data_errors", Counter, ["DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL"];
    NvlinkReplayErrors => "nvlink_replay_errors", Counter, ["DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL"];
    NvlinkRecoveryErrors => "nvlink_recovery_errors", Counter, ["DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL"];
    NvlinkBandwidthTotal => "nvlink_bandwidth_total", Counter, ["DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL"];
    PcieReplayCounter => "pcie_replay_counter", Counter, ["DCGM_FI_DEV_PCIE_REPLAY_COUNTER"];
    ClockEventReasons => "clock_event_reasons", Bitmask, ["DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "clocks_throttle_reasons", "clocks_event_reasons"];
    PowerViolation => "power_violation", Counter, ["DCGM_FI_DEV_POWER_VIOLATION"];
    ThermalViolation => "thermal_violation", Counter, ["DCGM_FI_DEV_THERMAL_VIOLATION"];
    SyncBoostViolation => "sync_boost_violation", Counter, ["DCGM_FI_DEV_SYNC_BOOST_VIOLATION"];
    BoardLimitViolation => "board_limit_violation", Counter, ["DCGM_FI_DEV_BOARD_LIMIT_VIOLATION"];
    LowUtilViolation => "low_util_violation", Counter, ["DCGM_FI_DEV_LOW_UTIL_VIOLATION"];
    ReliabilityViolation => "reliability_violation", Counter, ["DCGM_FI_DEV_RELIABILITY_VIOLATION"];
    VgpuLicenseStatus => "vgpu_license_status", Gauge, ["DCGM_FI_DEV_VGPU_LICENSE_STATUS"];
    GrEngineActive => "gr_engine_active", Gauge, ["DCGM_FI_PROF_GR_ENGINE_ACTIVE"];
    SmActive => "sm_active", Gauge, ["DCGM_FI_PROF_SM_ACTIVE"];
    SmOccupancy => "sm_occupancy", Gauge, ["DCGM_FI_PROF_SM_OCCUPANCY"];
    PipeTensorActive => "pipe_tensor_active", Gauge, ["DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"];
    PipeFp64Active => "pipe_fp64_active", Gauge, ["DCGM_FI_PROF_PIPE_FP64_ACTIVE"];
    PipeFp32Active => "pipe_fp32_active", Gauge, ["DCGM_FI_PROF_PIPE_FP32_ACTIVE"];
    PipeFp16Active => "pipe_fp16_active", Gauge, ["DCGM_FI_PROF_PIPE_FP16_ACTIVE"];
    DramActive => "dram_active", Gauge, ["DCGM_FI_PROF_DRAM_ACTIVE"];
    PcieTxBytes => "pcie_tx_bytes", Gauge, ["DCGM_FI_PROF_PCIE_TX_BYTES"];
    PcieRxBytes => "pcie_rx_bytes", Gauge, ["DCGM_FI_PROF_PCIE_RX_BYTES"];
}

impl GpuField {
    /// Looks a name up: canonical, DCGM or Telegraf spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        static BY_NAME: std::sync::OnceLock<std::collections::HashMap<&'static str, GpuField>> =
            std::sync::OnceLock::new();
        BY_NAME
            .get_or_init(|| {
                let mut m = std::collections::HashMap::new();
                for f in Self::ALL {
                    m.insert(f.name(), *f);
                    for a in f.aliases() {
                        m.insert(*a, *f);
                    }
                }
                m
            })
            .get(name)
            .copied()
    }

    /// The dcgm-exporter metric name, where there is one.
    pub fn dcgm_name(self) -> Option<&'static str> {
        self.aliases()
            .iter()
            .copied()
            .find(|a| a.starts_with("DCGM_"))
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn count() -> usize {
        Self::ALL.len()
    }
}

impl std::fmt::Display for GpuField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// dcgm-exporter counters that are deliberately not mapped to a [`GpuField`], with the reason.
pub const IGNORED_DCGM: &[(&str, &str)] = &[
    ("DCGM_FI_DRIVER_VERSION", "a label on the other metrics, not a value"),
    ("DCGM_FI_NVML_VERSION", "a label on the other metrics, not a value"),
    ("DCGM_FI_DEV_BRAND", "a label on the other metrics, not a value"),
    ("DCGM_FI_DEV_SERIAL", "a label: read as the GPU serial identity key"),
    ("DCGM_FI_DEV_OEM_INFOROM_VER", "a label (inventory, not telemetry)"),
    ("DCGM_FI_DEV_ECC_INFOROM_VER", "a label (inventory, not telemetry)"),
    ("DCGM_FI_DEV_POWER_INFOROM_VER", "a label (inventory, not telemetry)"),
    ("DCGM_FI_DEV_INFOROM_IMAGE_VER", "a label (inventory, not telemetry)"),
    ("DCGM_FI_DEV_VBIOS_VERSION", "a label (inventory, not telemetry)"),
    (
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_L0",
        "per-lane bandwidth; the total is kept",
    ),
    (
        "DCGM_EXP_CLOCK_EVENTS_COUNT",
        "exporter-side count per reason label; the reason bit mask is kept",
    ),
    (
        "DCGM_EXP_XID_ERRORS_COUNT",
        "exporter-side count per xid label; XIDs come from DCGM_FI_DEV_XID_ERRORS and the kernel log",
    ),
    (
        "DCGM_EXP_GPU_HEALTH_STATUS",
        "DCGM's own health verdict; gpufleet derives health from the raw fields",
    ),
    ("DCGM_EXP_P2P_STATUS", "peer-to-peer status per link pair, not a per-GPU value"),
];

/// What a name is, for the dcgm-exporter counter list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcgmMapping {
    Field(GpuField),
    Ignored(&'static str),
    Unknown,
}

pub fn dcgm_mapping(name: &str) -> DcgmMapping {
    if let Some(f) = GpuField::from_name(name) {
        return DcgmMapping::Field(f);
    }
    match IGNORED_DCGM.iter().find(|(n, _)| *n == name) {
        Some((_, why)) => DcgmMapping::Ignored(why),
        None => DcgmMapping::Unknown,
    }
}

/// One line of dcgm-exporter's counter CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterDef {
    pub name: String,
    /// `gauge`, `counter` or `label`.
    pub prom_type: String,
    pub help: String,
    /// Whether the line is enabled (not commented out) in the file.
    pub enabled: bool,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("counter list line {line}: {message}")]
pub struct CounterCsvError {
    pub line: usize,
    pub message: String,
}

/// Parses dcgm-exporter's counter CSV text. Commented-out counters (`# DCGM_…, type, help`) are
/// returned with `enabled: false`; other comments and blank lines are skipped.
pub fn parse_counters_csv(text: &str) -> Result<Vec<CounterDef>, CounterCsvError> {
    let mut out = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let trimmed = raw.trim();
        let (enabled, body) = match trimmed.strip_prefix('#') {
            Some(rest) => (false, rest.trim()),
            None => (true, trimmed),
        };
        if body.is_empty() {
            continue;
        }
        let mut parts = body.splitn(3, ',');
        let name = parts.next().unwrap_or("").trim();
        if !name.starts_with("DCGM_") {
            if enabled {
                return Err(CounterCsvError {
                    line,
                    message: format!("expected a DCGM field name, found {name:?}"),
                });
            }
            continue; // prose comment
        }
        let (Some(prom_type), Some(help)) = (parts.next(), parts.next()) else {
            return Err(CounterCsvError {
                line,
                message: format!("{name}: expected `field, type, help`"),
            });
        };
        let prom_type = prom_type.trim().to_string();
        if !matches!(prom_type.as_str(), "gauge" | "counter" | "label") {
            return Err(CounterCsvError {
                line,
                message: format!("{name}: unknown type {prom_type:?}"),
            });
        }
        out.push(CounterDef {
            name: name.to_string(),
            prom_type,
            help: help.trim().to_string(),
            enabled,
            line,
        });
    }
    Ok(out)
}

/// Bits of `DCGM_FI_DEV_CLOCK_THROTTLE_REASONS` / `DCGM_FI_DEV_CLOCKS_EVENT_REASONS`, the NVML
/// `nvmlClocksEventReason*` / `nvmlClocksThrottleReason*` constants (nvml.h).
pub mod clock_reasons {
    pub const GPU_IDLE: u64 = 0x1;
    pub const APPLICATIONS_CLOCKS_SETTING: u64 = 0x2;
    pub const SW_POWER_CAP: u64 = 0x4;
    pub const HW_SLOWDOWN: u64 = 0x8;
    pub const SYNC_BOOST: u64 = 0x10;
    pub const SW_THERMAL_SLOWDOWN: u64 = 0x20;
    pub const HW_THERMAL_SLOWDOWN: u64 = 0x40;
    pub const HW_POWER_BRAKE_SLOWDOWN: u64 = 0x80;
    pub const DISPLAY_CLOCK_SETTING: u64 = 0x100;

    /// Names of the bits set in `mask`.
    pub fn names(mask: u64) -> Vec<&'static str> {
        [
            (GPU_IDLE, "gpu_idle"),
            (APPLICATIONS_CLOCKS_SETTING, "applications_clocks_setting"),
            (SW_POWER_CAP, "sw_power_cap"),
            (HW_SLOWDOWN, "hw_slowdown"),
            (SYNC_BOOST, "sync_boost"),
            (SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
            (HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
            (HW_POWER_BRAKE_SLOWDOWN, "hw_power_brake_slowdown"),
            (DISPLAY_CLOCK_SETTING, "display_clock_setting"),
        ]
        .into_iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, n)| n)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for f in GpuField::ALL {
            assert!(seen.insert(f.name()), "duplicate name {}", f.name());
            for a in f.aliases() {
                assert!(seen.insert(a) || *a == f.name(), "duplicate alias {a}");
            }
            assert_eq!(GpuField::from_name(f.name()), Some(*f));
            assert_eq!(GpuField::ALL[f.index()], *f);
        }
        assert_eq!(
            GpuField::from_name("DCGM_FI_DEV_CLOCKS_EVENT_REASONS"),
            Some(GpuField::ClockEventReasons)
        );
        assert_eq!(
            GpuField::XidErrors.dcgm_name(),
            Some("DCGM_FI_DEV_XID_ERRORS")
        );
        assert_eq!(dcgm_mapping("DCGM_FI_NOPE"), DcgmMapping::Unknown);
    }

    #[test]
    fn counters_csv() {
        let text = "# Format\n# DCGM FIELD, Prometheus metric type, help message\n\n# Clocks\nDCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).\n# DCGM_FI_DEV_RETIRED_SBE,     counter, Total number of retired pages, single-bit.\nDCGM_FI_DEV_DEC_UTIL ,     gauge, Decoder utilization (in %).\n";
        let defs = parse_counters_csv(text).unwrap();
        assert_eq!(defs.len(), 3);
        assert!(defs[0].enabled);
        assert!(!defs[1].enabled);
        assert_eq!(defs[1].help, "Total number of retired pages, single-bit.");
        assert_eq!(defs[2].name, "DCGM_FI_DEV_DEC_UTIL");
        let err = parse_counters_csv("DCGM_FI_X, histogram, h\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(parse_counters_csv("DCGM_FI_X\n").is_err());
    }

    #[test]
    fn clock_reason_names() {
        assert_eq!(
            clock_reasons::names(0x40 | 0x80),
            vec!["hw_thermal_slowdown", "hw_power_brake_slowdown"]
        );
    }
}
