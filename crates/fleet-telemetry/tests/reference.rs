//! Against the real reference data (`$GPUFLEET_REFERENCE_DIR`, default `shared/reference`
//! beside the repository): dcgm-exporter's counter lists, NVIDIA's XID catalog and NVSentinel's
//! XID mapping. When the data is absent the tests skip with a notice, or fail naming what is
//! missing when `GPUFLEET_TEST_COMMAND=1` (the project's test command).

use std::path::{Path, PathBuf};

use fleet_telemetry::fields::{dcgm_mapping, parse_counters_csv, DcgmMapping};
use fleet_telemetry::xid::{XidCatalog, XidSeverity};

fn reference_dir() -> PathBuf {
    std::env::var_os("GPUFLEET_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"))
}

/// Reads a reference file; a missing file fails the test, naming what is missing.
fn read(rel: &str) -> String {
    let path = reference_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference file {} is missing ({e}); set GPUFLEET_REFERENCE_DIR to the shared/reference directory",
            path.display()
        )
    })
}

#[test]
fn every_dcgm_exporter_counter_is_mapped_or_ignored() {
    for file in [
        "gpu/dcgm-exporter/default-counters.csv",
        "gpu/dcgm-exporter/dcp-metrics-included.csv",
    ] {
        let text = read(file);
        let defs = parse_counters_csv(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(defs.len() > 40, "{file}: only {} counters", defs.len());
        let mut unknown = Vec::new();
        for d in &defs {
            if dcgm_mapping(&d.name) == DcgmMapping::Unknown {
                unknown.push(format!("{} (line {})", d.name, d.line));
            }
        }
        assert!(
            unknown.is_empty(),
            "{file}: counters neither mapped to a GpuField nor listed in IGNORED_DCGM: {unknown:?}"
        );
        // The counters the health derivation needs are there.
        for needed in [
            "DCGM_FI_DEV_GPU_TEMP",
            "DCGM_FI_DEV_XID_ERRORS",
            "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        ] {
            assert!(
                defs.iter().any(|d| d.name == needed && d.enabled),
                "{file}: {needed}"
            );
        }
    }
}

#[test]
fn xid_catalog_from_the_real_files() {
    let (xids, buckets, nvs) = (
        read("gpu/nvidia-xid-catalog/xids.csv"),
        read("gpu/nvidia-xid-catalog/resolution-buckets.csv"),
        read("gpu/nvsentinel/xiderrorsmapping.csv"),
    );
    let catalog = XidCatalog::from_csv(&xids, Some(&buckets), Some(&nvs)).expect("catalog parses");
    assert!(catalog.len() >= 160, "{} XIDs", catalog.len());
    let x79 = catalog.get(79).expect("XID 79");
    assert_eq!(x79.mnemonic, "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS");
    assert_eq!(x79.bucket, "RESTART_BM");
    assert_eq!(x79.severity, XidSeverity::Failed);
    assert!(catalog
        .bucket_text("RESTART_BM")
        .unwrap()
        .contains("Restart bare metal"));
    assert_eq!(catalog.get(13).unwrap().severity, XidSeverity::Degraded);
    assert_eq!(catalog.get(63).unwrap().severity, XidSeverity::Ignore);
    assert_eq!(catalog.get(48).unwrap().bucket, "WORKFLOW_XID_48");

    // The built-in fallback agrees with the catalog on every code it carries.
    for (code, builtin) in &XidCatalog::builtin().xids {
        let real = catalog
            .get(*code)
            .unwrap_or_else(|| panic!("XID {code} not in the catalog"));
        assert_eq!(builtin.bucket, real.bucket, "XID {code} bucket");
        assert_eq!(builtin.severity, real.severity, "XID {code} severity");
        assert_eq!(builtin.fatal, real.fatal, "XID {code} fatal flag");
    }
}
