//! XID knowledge parsed from the real reference files (NVIDIA's XID catalog and NVSentinel's
//! mapping), read where they lie: `$GPUFLEET_REFERENCE_DIR`, default `shared/reference` beside
//! the repository. Without them the test skips, unless `GPUFLEET_TEST_COMMAND=1` (the project's
//! test command), where a missing file fails and is named.

use std::path::{Path, PathBuf};

mod common;

use fleet_correlate::{Action, Engine, RuleSet, XidCatalog};

fn reference_dir() -> PathBuf {
    std::env::var_os("GPUFLEET_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"))
}

/// The file's text; a missing file fails the test, naming what is missing.
fn read(rel: &str) -> String {
    let path = reference_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference file {} is missing ({e}): set GPUFLEET_REFERENCE_DIR to the reference \
             data directory that holds {rel} (shared/reference in this project)",
            path.display()
        )
    })
}

#[test]
fn real_catalog_and_mapping_parse_and_agree_with_the_builtin_table() {
    let (xids, buckets, nvs) = (
        read("gpu/nvidia-xid-catalog/xids.csv"),
        read("gpu/nvidia-xid-catalog/resolution-buckets.csv"),
        read("gpu/nvsentinel/xiderrorsmapping.csv"),
    );
    let mut c = XidCatalog::new();
    let rows = c.load_catalog_csv(&xids).unwrap();
    assert!(rows >= 150, "{rows} rows");
    assert!(c.load_buckets_csv(&buckets).unwrap() >= 10);
    assert!(c.load_nvsentinel_csv(&nvs).unwrap() >= 150);

    let x79 = c.get(79).unwrap();
    assert_eq!(x79.mnemonic, "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS");
    assert_eq!(x79.bucket, "RESTART_BM");
    assert_eq!(x79.fatal, Some(true));
    assert!(x79.actions().contains(&Action::RebootNode));
    assert!(c
        .bucket_text("RESTART_BM")
        .unwrap()
        .contains("Restart bare metal"));
    assert_eq!(c.get(48).unwrap().bucket, "WORKFLOW_XID_48");
    assert_eq!(c.get(13).unwrap().fatal, Some(false));

    // The built-in fallback says what the catalog says, for every XID it knows.
    let builtin = XidCatalog::builtin();
    for code in [13, 31, 43, 45, 48, 63, 64, 74, 79, 92, 94, 95, 119] {
        let (b, r) = (builtin.get(code).unwrap(), c.get(code).unwrap());
        assert_eq!(b.bucket, r.bucket, "XID {code}");
        assert_eq!(b.fatal, r.fatal, "XID {code}");
        assert!(
            r.mnemonic.starts_with(&b.mnemonic),
            "XID {code}: {} vs {}",
            b.mnemonic,
            r.mnemonic
        );
    }
}

#[test]
fn the_engine_cites_the_real_catalog_in_its_evidence() {
    let (xids, nvs) = (
        read("gpu/nvidia-xid-catalog/xids.csv"),
        read("gpu/nvsentinel/xiderrorsmapping.csv"),
    );
    // The catalog over the built-in table: what the files say wins.
    let mut c = XidCatalog::builtin();
    c.load_catalog_csv(&xids).unwrap();
    c.load_nvsentinel_csv(&nvs).unwrap();
    let s = common::gpu_off_bus();
    let mut e = Engine::new(common::hall(), RuleSet::default_rules().unwrap(), c);
    let incs = e.ingest_all(s.alerts, common::T0 + 3600 * common::S);
    assert_eq!(incs.len(), 1);
    let ev: Vec<&str> = incs[0]
        .root_cause
        .evidence
        .iter()
        .map(|e| e.detail.as_str())
        .collect();
    assert!(
        ev.iter()
            .any(|d| d.contains("XID 45 ROBUST_CHANNEL_PREEMPTIVE_REMOVAL")
                && d.contains("Preemptive cleanup, due to previous errors -- Most likely")),
        "{ev:#?}"
    );
    assert!(incs[0].actions.contains(&Action::RebootNode));
}
