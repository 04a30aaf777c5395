//! `RedfishClient::inventory` against real vendor trees (Dell R750, NVIDIA GH200, Lenovo SR670 V2,
//! NVIDIA BlueField DPU: `redfish/vendor-captures/*.tar.gz` in the reference data, read where it
//! lies: `$GPUFLEET_REFERENCE_DIR`, default `shared/reference` beside the repository), against the
//! project's simulator, and against a BMC that answers some reads with errors.
//!
//! Each capture is unpacked into a temporary directory and served read-only by a small HTTP
//! server on 127.0.0.1 (`/redfish/v1/X` -> `redfish/v1/X/index.json`, mockup-creator layout),
//! which also counts the GETs it answers. The expected values were read from the captures with
//! an independent script (python `json`), not with this crate.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_bmc::inventory::{Inventory, InventoryQuirks};
use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::Endpoint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn reference_dir() -> PathBuf {
    std::env::var_os("GPUFLEET_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"))
}

/// Paths that answer 500 (to check that an unreadable part becomes a warning).
type Broken = Arc<Mutex<HashSet<String>>>;

/// A captured tree served over HTTP.
struct Capture {
    url: String,
    gets: Arc<AtomicUsize>,
    broken: Broken,
    /// Paths that are never answered (to check deadlines).
    hang: Broken,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn answer(
    mut sock: tokio::net::TcpStream,
    root: PathBuf,
    gets: Arc<AtomicUsize>,
    broken: Broken,
    hang: Broken,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let path = percent_decode(target.split(['?', '#']).next().unwrap_or("/"));
    let path = path.trim_end_matches('/').to_string();
    if hang.lock().unwrap().contains(&path) {
        tokio::time::sleep(Duration::from_secs(120)).await;
        return;
    }
    let (status, body) = if method != "GET" {
        (
            "405 Method Not Allowed",
            r#"{"error":{"message":"read-only capture"}}"#.to_string(),
        )
    } else if broken.lock().unwrap().contains(&path) {
        gets.fetch_add(1, Ordering::SeqCst);
        (
            "500 Internal Server Error",
            r#"{"error":{"message":"internal error (injected)"}}"#.to_string(),
        )
    } else {
        gets.fetch_add(1, Ordering::SeqCst);
        let rel = path.trim_start_matches('/');
        let file = root.join(rel).join("index.json");
        match (
            rel.split('/').any(|s| s == ".."),
            std::fs::read_to_string(&file),
        ) {
            (false, Ok(text)) => ("200 OK", text),
            _ => (
                "404 Not Found",
                format!(r#"{{"error":{{"message":"{path} not in the capture"}}}}"#),
            ),
        }
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(reply.as_bytes()).await;
    let _ = sock.shutdown().await;
}

async fn serve_capture(name: &str) -> Capture {
    let tarball = reference_dir()
        .join("redfish/vendor-captures")
        .join(format!("{name}.tar.gz"));
    assert!(
        tarball.exists(),
        "vendor capture {} is missing: set GPUFLEET_REFERENCE_DIR to the reference data directory \
         that holds redfish/vendor-captures/{name}.tar.gz (shared/reference in this project)",
        tarball.display()
    );
    // In memory where there is a tmpfs: thousands of small files are slow on a busy disk.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    // The schema files and message registries are not resources the inventory reads.
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .args([
            "--exclude=*/Schemas/*",
            "--exclude=*/schemas/*",
            "--exclude=*/JsonSchemas/*",
            "--exclude=*/Registries/*",
        ])
        .output()
        .expect("run tar (GNU tar unpacks the captures)");
    assert!(
        out.status.success(),
        "unpacking {} failed: {}",
        tarball.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let gets = Arc::new(AtomicUsize::new(0));
    let broken: Broken = Arc::default();
    let hang: Broken = Arc::default();
    let root = dir.path().to_path_buf();
    let (g, b, h) = (gets.clone(), broken.clone(), hang.clone());
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(sock, root.clone(), g.clone(), b.clone(), h.clone()));
        }
    });
    Capture {
        url,
        gets,
        broken,
        hang,
        _dir: dir,
        task,
    }
}

fn client(url: &str) -> RedfishClient {
    RedfishClient::new(
        Endpoint::new(url, "admin", "password").with_timeout(Duration::from_secs(10)),
    )
    .unwrap()
}

async fn inventory_of(name: &str) -> (Inventory, usize) {
    let cap = serve_capture(name).await;
    let inv = client(&cap.url).inventory().await.unwrap();
    let gets = cap.gets.load(Ordering::SeqCst);
    println!("{name}: {gets} GETs");
    (inv, gets)
}

fn gpu_serials(inv: &Inventory) -> Vec<&str> {
    inv.gpus
        .iter()
        .map(|g| g.serial.as_deref().unwrap_or("-"))
        .collect()
}

fn macs(inv: &Inventory) -> Vec<&str> {
    inv.nics.iter().map(|n| n.mac.as_str()).collect()
}

/// Checks that hold for every capture: lists sorted and free of duplicates, MACs normalised.
fn check_shape(inv: &Inventory) {
    let ids: Vec<&str> = inv.cpus.iter().map(|c| c.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| fleet_bmc::inventory::natural_cmp(a, b));
    assert_eq!(ids, sorted, "CPUs are sorted by id");
    let m = macs(inv);
    let mut sm = m.clone();
    sm.sort();
    sm.dedup();
    assert_eq!(m, sm, "NICs sorted by MAC without duplicates");
    for mac in m {
        assert_eq!(mac.len(), 17, "{mac}");
        assert_eq!(mac, mac.to_lowercase(), "{mac}");
        assert_eq!(mac.matches(':').count(), 5, "{mac}");
    }
    let serials: Vec<&str> = inv
        .gpus
        .iter()
        .filter_map(|g| g.serial.as_deref())
        .collect();
    let unique: HashSet<&str> = serials.iter().copied().collect();
    assert_eq!(serials.len(), unique.len(), "one entry per GPU serial");
    let disk_serials: Vec<&str> = inv
        .disks
        .iter()
        .filter_map(|d| d.serial.as_deref())
        .collect();
    let unique: HashSet<&str> = disk_serials.iter().copied().collect();
    assert_eq!(
        disk_serials.len(),
        unique.len(),
        "one entry per disk serial"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dell_poweredge_r750() {
    let (inv, gets) = inventory_of("dell_poweredge_r750").await;
    check_shape(&inv);
    let s = &inv.system;
    assert_eq!(s.path, "/redfish/v1/Systems/System.Embedded.1");
    assert_eq!(s.manufacturer.as_deref(), Some("Dell Inc."));
    assert_eq!(s.model.as_deref(), Some("PowerEdge R750"));
    assert_eq!(s.serial.as_deref(), Some("CNIVC0014M0388"));
    assert_eq!(
        s.uuid.as_deref(),
        Some("4c4c4544-0035-3410-8050-c6c04f314733")
    );
    assert_eq!(s.sku.as_deref(), Some("F54P1G3"));
    assert_eq!(s.bios_version.as_deref(), Some("1.8.2"));
    assert_eq!(s.power_state.as_deref(), Some("On"));

    // Two sockets; the GPU listed among the Processors is not a CPU.
    assert_eq!(inv.cpus.len(), 2);
    assert_eq!(inv.cpus[0].id, "CPU.Socket.1");
    assert_eq!(
        inv.cpus[0].model.as_deref(),
        Some("Intel(R) Xeon(R) Gold 6354 CPU @ 3.00GHz")
    );
    assert_eq!(
        (inv.cpus[0].cores, inv.cpus[0].threads),
        (Some(18), Some(36))
    );
    assert_eq!(inv.memory.total_gib, Some(512.0));
    assert_eq!(inv.memory.dimms, 16);

    // The H100 is a Processor (Video.Slot.2-1) and a PCIe device (23-0, no serial) that the
    // Processor links: one GPU.
    assert_eq!(gpu_serials(&inv), ["1654422007043"]);
    let g = &inv.gpus[0];
    assert_eq!(g.id, "Video.Slot.2-1");
    assert_eq!(g.model.as_deref(), Some("NVIDIA H100 PCIe"));
    assert_eq!(g.part_number.as_deref(), Some("699-21010-0200-600"));

    // Five EthernetInterfaces plus the two InfiniBand functions known only to NetworkAdapters.
    assert_eq!(
        macs(&inv),
        [
            "70:b5:e8:f0:52:dc",
            "70:b5:e8:f0:52:dd",
            "b8:3f:d2:90:97:c4",
            "b8:3f:d2:a4:1b:d2",
            "b8:3f:d2:a4:1b:d3",
            "e4:3d:1a:13:27:f0",
            "e4:3d:1a:13:27:f1"
        ]
    );
    let nic = inv
        .nics
        .iter()
        .find(|n| n.mac == "e4:3d:1a:13:27:f0")
        .unwrap();
    assert_eq!(nic.id, "NIC.Integrated.1-1-1");
    assert_eq!(nic.model.as_deref(), Some("BRCM 2P 25G SFP 57414S OCP NIC"));
    assert_eq!(nic.link.as_deref(), Some("LinkDown"));

    // Storage -> Drives; SimpleStorage repeats the same three and is not read.
    let serials: Vec<&str> = inv
        .disks
        .iter()
        .filter_map(|d| d.serial.as_deref())
        .collect();
    assert_eq!(serials, ["61X0A002TCD8", "61M0A08ZTCD8", "61P0A06CTCD8"]);
    for d in &inv.disks {
        assert_eq!(d.capacity_bytes, Some(1_920_383_410_176));
        assert_eq!(d.media.as_deref(), Some("SSD"));
        assert_eq!(d.protocol.as_deref(), Some("PCIe"));
        assert_eq!(d.model.as_deref(), Some("Dell Ent NVMe CM6 RI 1.92TB"));
    }

    // Installed versions only, keyed by FQDD.
    assert_eq!(inv.firmware.len(), 21);
    assert_eq!(inv.firmware["BIOS.Setup.1-1"], "1.8.2");
    assert_eq!(inv.firmware["iDRAC.Embedded.1-1"], "6.00.30.00");
    assert_eq!(inv.firmware["NIC.Slot.5-1"], "24.40.10.00");
    assert!(!inv.firmware.keys().any(|k| k.starts_with("Previous-")));

    assert_eq!(inv.bios.len(), 455);
    assert_eq!(inv.bios["SysProfile"], "PerfOptimized");
    assert_eq!(inv.bios["AcPwrRcvryUserDelay"], 120);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert!(fleet_bmc::inventory::SECTIONS
        .iter()
        .all(|s| inv.is_complete(s)));
    assert!(gets <= 120, "{gets} GETs for one inventory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nvidia_gh200() {
    let (inv, gets) = inventory_of("gh200").await;
    check_shape(&inv);
    let s = &inv.system;
    assert_eq!(s.path, "/redfish/v1/Systems/System_0");
    assert_eq!(
        s.uuid.as_deref(),
        Some("1e90aa6e-6d05-9589-2253-ce7672d02d26")
    );
    // The system has no identity of its own: the board's chassis (BMC_0) gives it.
    assert_eq!(s.manufacturer.as_deref(), Some("NVIDIA"));
    assert_eq!(s.model.as_deref(), Some("P3809"));
    assert_eq!(s.serial.as_deref(), Some("1580624650610"));
    // No BiosVersion on the system: the UEFI firmware component's.
    assert_eq!(s.bios_version.as_deref(), Some("buildbrain-gcid-35803827"));
    assert_eq!(s.power_state.as_deref(), Some("On"));

    // Grace CPUs of the host system only (HGX_Baseboard_0 repeats them as HGX_CPU_*).
    assert_eq!(inv.cpus.len(), 2);
    assert_eq!(inv.cpus[0].id, "CPU_0");
    assert_eq!(inv.cpus[0].model.as_deref(), Some("Grace A02"));
    assert_eq!(inv.cpus[0].cores, Some(72));
    assert_eq!(
        inv.cpus[0].serial.as_deref(),
        Some("0x00000001780A0185100000000CFF80C0")
    );
    assert_eq!(inv.memory.total_gib, Some(960.0));
    assert_eq!(inv.memory.dimms, 2);

    // GPUs under Systems/HGX_Baseboard_0, also a PCIe device and a chassis each: two GPUs.
    assert_eq!(gpu_serials(&inv), ["1640124000234", "1640124000373"]);
    let g = &inv.gpus[0];
    assert_eq!(g.id, "GPU_0");
    assert_eq!(
        g.path,
        "/redfish/v1/Systems/HGX_Baseboard_0/Processors/GPU_0"
    );
    assert_eq!(
        g.uuid.as_deref(),
        Some("76def188-0f6f-c471-d807-dee9ac946a39")
    );
    assert_eq!(g.model.as_deref(), Some("NVIDIA GH200 96GB HBM3"));
    assert_eq!(g.firmware.as_deref(), Some("96.00.A6.00.01"));
    assert_eq!(g.part_number.as_deref(), Some("2342-888-A1"));

    assert!(inv.nics.is_empty());
    assert!(inv.disks.is_empty());
    assert_eq!(inv.firmware.len(), 19);
    // Trailing blanks in the capture are trimmed.
    assert_eq!(inv.firmware["HGX_FW_GPU_0"], "96.00.A6.00.01");
    assert_eq!(inv.firmware["FW_BMC_0"], "GH200-24.05-2");
    assert_eq!(inv.bios.len(), 203);
    assert_eq!(inv.bios["EGM"], false);
    // The capture has no NIC source at all: said, not failed.
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(
        inv.warnings[0].starts_with("nics: unknown"),
        "{:?}",
        inv.warnings
    );
    assert!(!inv.is_complete("nics"));
    assert!(inv.is_complete("gpus") && inv.is_complete("disks"));
    assert!(gets <= 80, "{gets} GETs for one inventory");
}

/// A BMC that lists its GPU baseboard before the host in `/redfish/v1/Systems`: the host is still
/// the system operations and the inventory's identity go to (`[systems] not_host`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_system_is_chosen_whatever_the_member_order() {
    let cap = serve_capture("gh200").await;
    let coll = cap._dir.path().join("redfish/v1/Systems/index.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&coll).unwrap()).unwrap();
    v["Members"].as_array_mut().unwrap().reverse();
    assert_eq!(
        v["Members"][0]["@odata.id"],
        "/redfish/v1/Systems/HGX_Baseboard_0"
    );
    std::fs::write(&coll, v.to_string()).unwrap();
    let bmc = client(&cap.url);
    assert_eq!(
        bmc.system_path().await.unwrap(),
        "/redfish/v1/Systems/System_0"
    );
    let inv = bmc.inventory().await.unwrap();
    assert_eq!(inv.system.path, "/redfish/v1/Systems/System_0");
    assert_eq!(inv.system.serial.as_deref(), Some("1580624650610"));
    assert_eq!(inv.gpus.len(), 2);
}

/// Where GPUs are looked for is data: with no other system searched, the GH200's GPUs are found
/// as the chassis the NVIDIA profile names (HGX_GPU_*) and their PCIe devices, one per serial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_from_chassis_when_no_processor_lists_them() {
    let cap = serve_capture("gh200").await;
    let bmc = client(&cap.url);
    let mut q = InventoryQuirks::for_profile("nvidia");
    assert_eq!(q.gpu_chassis, ["HGX_GPU_*"]);
    q.gpu_systems.clear();
    let inv = fleet_bmc::inventory::read_with(&bmc, Some(q))
        .await
        .unwrap();
    assert_eq!(gpu_serials(&inv), ["1640124000234", "1640124000373"]);
    let g = &inv.gpus[0];
    assert_eq!(g.id, "GPU_0");
    assert_eq!(g.path, "/redfish/v1/Chassis/HGX_GPU_0/PCIeDevices/GPU_0");
    assert_eq!(
        g.uuid.as_deref(),
        Some("76def188-0f6f-c471-d807-dee9ac946a39")
    );
    assert_eq!(g.model.as_deref(), Some("NVIDIA GH200 96GB HBM3"));
    assert_eq!(g.part_number.as_deref(), Some("2342-888-A1"));
    // Nothing else changes.
    let full = bmc.inventory().await.unwrap();
    assert_eq!(inv.cpus, full.cpus);
    assert_eq!(inv.firmware, full.firmware);
    assert_eq!(gpu_serials(&full), gpu_serials(&inv));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenovo_thinksystem_sr670_v2() {
    let (inv, gets) = inventory_of("lenovo_thinksystem_sr670").await;
    check_shape(&inv);
    let s = &inv.system;
    assert_eq!(s.path, "/redfish/v1/Systems/1");
    assert_eq!(s.manufacturer.as_deref(), Some("Lenovo"));
    assert_eq!(s.model.as_deref(), Some("ThinkSystem SR670 V2"));
    assert_eq!(s.serial.as_deref(), Some("J101RZ43"));
    assert_eq!(s.sku.as_deref(), Some("7Z23CTO1WW"));
    assert_eq!(s.bios_version.as_deref(), Some("U8E112A"));
    assert_eq!(
        s.uuid.as_deref(),
        Some("bc20d65a-1a53-11ec-8c43-7e8ae1d5a277")
    );

    assert_eq!(inv.cpus.len(), 2);
    assert_eq!(inv.cpus[0].id, "1");
    // 32 slots, 16 of them Absent.
    assert_eq!(inv.memory.dimms, 16);
    assert_eq!(inv.memory.total_gib, Some(512.0));

    // GPU1/GPU2 Processors have no Model; their linked PCIe devices name it.
    assert_eq!(gpu_serials(&inv), ["1322221026831", "1322221028609"]);
    for g in &inv.gpus {
        assert_eq!(g.model.as_deref(), Some("NVIDIA Quadro RTX A6000"));
        assert_eq!(g.firmware.as_deref(), Some("94.02.5C.00.02"));
    }
    assert_eq!(inv.gpus[0].id, "GPU1");

    // The only EthernetInterface is XCC's USB LAN to the host; the adapters list no functions.
    assert!(inv.nics.is_empty(), "{:?}", inv.nics);

    let serials: Vec<&str> = inv
        .disks
        .iter()
        .filter_map(|d| d.serial.as_deref())
        .collect();
    assert_eq!(serials, ["PHAB1234034Z1P9SGN", "PHAB123401GY1P9SGN"]);
    assert_eq!(inv.disks[0].model.as_deref(), Some("SSDPF2KE016T9L"));
    assert_eq!(inv.disks[0].capacity_bytes, Some(1_600_000_000_000));
    assert_eq!(inv.disks[0].protocol.as_deref(), Some("NVMe"));

    assert_eq!(inv.firmware.len(), 12);
    assert_eq!(inv.firmware["UEFI"], "12A-1.02");
    assert_eq!(inv.firmware["BMC-Primary"], "20E-1.40");
    assert_eq!(inv.bios.len(), 373);
    assert_eq!(inv.bios["BootModes_SystemBootMode"], "UEFIMode");
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert!(gets <= 100, "{gets} GETs for one inventory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nvidia_bluefield_dpu() {
    let (inv, gets) = inventory_of("nvidia_dpu").await;
    check_shape(&inv);
    let s = &inv.system;
    assert_eq!(s.path, "/redfish/v1/Systems/Bluefield");
    // Blank-padded in the capture.
    assert_eq!(s.serial.as_deref(), Some("MT2328XZ185R"));
    assert_eq!(s.sku.as_deref(), Some("900-9D3B6-00CV-AA0"));
    assert_eq!(
        s.uuid.as_deref(),
        Some("90633594-1a24-ee11-8000-a088c2088072")
    );
    assert_eq!(s.manufacturer.as_deref(), Some("Nvidia"));
    assert_eq!(s.bios_version.as_deref(), Some("4.5.0-40-gcbe848b"));
    assert!(inv.cpus.is_empty());
    assert!(inv.gpus.is_empty());
    // The BMC reports 0 GiB with the summary Disabled: unknown, not zero.
    assert_eq!(inv.memory.total_gib, None);
    assert_eq!(inv.memory.dimms, 0);
    // MACs from NetworkAdapters device functions.
    assert_eq!(macs(&inv), ["02:05:ad:f2:c0:63", "02:55:1a:2f:e9:73"]);
    assert!(inv.disks.is_empty());
    assert_eq!(inv.firmware.len(), 13);
    assert_eq!(inv.firmware["DPU_NIC"], "32.38.1002");
    assert_eq!(inv.firmware["BMC_Firmware"], "BF-24.07-14");
    assert_eq!(inv.bios.len(), 17);
    assert_eq!(inv.bios["Disable PCIe"], false);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert!(gets <= 50, "{gets} GETs for one inventory");
}

/// An unreadable part becomes a warning and the rest is still read; an unreadable system fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_parts_are_warnings() {
    let cap = serve_capture("dell_poweredge_r750").await;
    {
        let mut b = cap.broken.lock().unwrap();
        b.insert("/redfish/v1/Systems/System.Embedded.1/Memory/DIMM.Socket.A1".into());
        b.insert("/redfish/v1/Systems/System.Embedded.1/Processors/Video.Slot.2-1".into());
        b.insert("/redfish/v1/UpdateService/FirmwareInventory".into());
        b.insert("/redfish/v1/Systems/System.Embedded.1/Storage".into());
    }
    // No retries: the injected errors are permanent.
    let bmc = RedfishClient::new(
        Endpoint::new(&cap.url, "admin", "password")
            .with_timeout(Duration::from_secs(10))
            .with_retries(0),
    )
    .unwrap();
    let inv = bmc.inventory().await.unwrap();
    assert_eq!(inv.memory.dimms, 15);
    assert_eq!(inv.cpus.len(), 2);
    assert!(inv.firmware.is_empty());
    // Storage unreadable: SimpleStorage still names the three NVMe drives (without serials).
    assert_eq!(inv.disks.len(), 3, "{:?}", inv.disks);
    assert!(inv
        .disks
        .iter()
        .all(|d| d.capacity_bytes == Some(1_920_383_410_176)));
    // The H100 is still found as the PCIe device the system lists, without its serial.
    assert_eq!(inv.gpus.len(), 1, "{:?}", inv.gpus);
    assert_eq!(
        inv.gpus[0].path,
        "/redfish/v1/Systems/System.Embedded.1/PCIeDevices/23-0"
    );
    assert_eq!(inv.nics.len(), 7);
    let w = inv.warnings.join("\n");
    for part in [
        "DIMM.Socket.A1",
        "Video.Slot.2-1",
        "UpdateService/FirmwareInventory",
        "System.Embedded.1/Storage",
    ] {
        assert!(w.contains(part), "no warning names {part}:\n{w}");
    }
    assert!(w.contains("HTTP 500"), "{w}");
    assert_eq!(inv.warnings.len(), 4, "{w}");
    // Each warning names the sections it leaves incomplete.
    for section in ["memory", "cpus", "gpus", "firmware", "disks"] {
        assert!(!inv.is_complete(section), "{section}: {w}");
    }
    assert!(inv.is_complete("nics") && inv.is_complete("bios"), "{w}");

    cap.broken
        .lock()
        .unwrap()
        .insert("/redfish/v1/Systems/System.Embedded.1".into());
    let err = bmc.inventory().await.unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");
}

/// A BMC that stops answering: each GET ends at the endpoint's timeout, and after a few of them
/// the read stops asking and returns what it has, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bmc_that_stops_answering_ends_the_read() {
    let cap = serve_capture("lenovo_thinksystem_sr670").await;
    {
        let mut h = cap.hang.lock().unwrap();
        for i in 1..=32 {
            h.insert(format!("/redfish/v1/Systems/1/Memory/{i}"));
        }
    }
    let bmc = RedfishClient::new(
        Endpoint::new(&cap.url, "admin", "password")
            .with_timeout(Duration::from_secs(1))
            .with_retries(0),
    )
    .unwrap();
    // The deadline of this test, not a speed figure: 32 unanswered GETs at 1 s each, 8 at a
    // time, would be 4 s; a read that waited on each in turn would be 32 s.
    let inv = tokio::time::timeout(Duration::from_secs(60), bmc.inventory())
        .await
        .expect("the inventory read ends")
        .unwrap();
    assert_eq!(inv.system.serial.as_deref(), Some("J101RZ43"));
    assert_eq!(inv.cpus.len(), 2);
    assert_eq!(inv.memory.dimms, 0);
    let w = inv.warnings.join("\n");
    assert!(w.contains("no answer within"), "{w}");
    assert!(w.contains("stopped early"), "{w}");
    for section in fleet_bmc::inventory::SECTIONS {
        assert!(!inv.is_complete(section), "{section}: {w}");
    }
    // Nothing after the failures was asked for.
    assert!(inv.firmware.is_empty());
    assert!(inv.disks.is_empty());
}

/// The project's simulator: what its control API says about the node is what the inventory
/// reads; a GPU that falls off the bus leaves the inventory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_hgx_node() {
    let sim = common::Sim::start(1, 0.2);
    let node = &sim.nodes[0];
    let bmc = client(&node.redfish);
    let inv = bmc.inventory().await.unwrap();
    check_shape(&inv);
    let state: serde_json::Value = reqwest::get(format!("{}/nodes/{}", sim.control, node.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s = &inv.system;
    assert_eq!(s.path, "/redfish/v1/Systems/1");
    assert_eq!(s.model.as_deref(), Some("HGX H100 8-GPU"));
    assert_eq!(s.sku.as_deref(), Some("hgx-h100-8gpu"));
    assert!(
        s.serial.as_deref().is_some_and(|x| x.starts_with("SN")),
        "{s:?}"
    );
    assert_eq!(s.power_state.as_deref(), Some("On"));
    assert!(s.bios_version.is_some());
    // hgx-h100-8gpu: 2 x 56 cores, 32 x 64 GiB, 8 GPUs, 10 NICs, 8 x 3.84 TB.
    assert_eq!(inv.cpus.len(), 2);
    assert_eq!(inv.cpus[0].cores, Some(56));
    assert_eq!(inv.memory.dimms, 32);
    assert_eq!(inv.memory.total_gib, Some(2048.0));
    let want: Vec<(String, String)> = state["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["serial"].as_str().unwrap().to_string(),
                g["uuid"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("GPU-")
                    .to_lowercase(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = inv
        .gpus
        .iter()
        .map(|g| (g.serial.clone().unwrap(), g.uuid.clone().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(inv.gpus[0].id, "GPU0");
    assert_eq!(inv.gpus[0].location.as_deref(), Some("SXM1"));
    assert_eq!(inv.gpus[0].model.as_deref(), Some("NVIDIA H100 80GB HBM3"));
    assert_eq!(inv.nics.len(), 10);
    assert_eq!(inv.disks.len(), 8);
    assert!(inv
        .disks
        .iter()
        .all(|d| d.serial.is_some() && d.capacity_bytes == Some(3_840_000_000_000)));
    assert!(!inv.firmware.is_empty());
    assert!(!inv.bios.is_empty());
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);

    let gone = &want[3].0;
    let fault = sim
        .inject("gpu_off_bus", &node.id, serde_json::json!({"gpu": 3}))
        .await;
    let inv = bmc.inventory().await.unwrap();
    assert_eq!(inv.gpus.len(), 7);
    assert!(!inv.gpus.iter().any(|g| g.serial.as_ref() == Some(gone)));
    sim.clear(&fault).await;
}

/// OpenStack sushy-tools' fake BMC (an implementation written outside this project): lacks
/// most inventory resources; the read still succeeds and says what it could not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sushy_tools_fake_bmc() {
    let dir = tempfile::tempdir().unwrap();
    // Its state lives in this test's directory, powered on by this test's own configuration.
    let sushy = common::Sushy::start(dir.path(), "On");
    let bmc = client(&sushy.url);
    let start = std::time::Instant::now();
    let inv = loop {
        match bmc.inventory().await {
            Ok(inv) => break inv,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "sushy-emulator did not answer: {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    check_shape(&inv);
    assert!(inv.system.path.starts_with("/redfish/v1/Systems/"));
    assert!(inv.system.uuid.is_some(), "{:?}", inv.system);
    assert_eq!(inv.system.manufacturer.as_deref(), Some("Sushy Emulator"));
    assert_eq!(inv.system.power_state.as_deref(), Some("On"));
    // Its one EthernetInterface is read...
    assert_eq!(inv.nics.len(), 1, "{:?}", inv.nics);
    // ...and what it does not implement (Processors: HTTP 501, Memory, FirmwareInventory) is
    // named in the warnings.
    let w = inv.warnings.join("\n");
    for part in ["/Processors", "/Memory", "FirmwareInventory"] {
        assert!(w.contains(part), "no warning names {part}:\n{w}");
    }
}

/// The simulator started with one node of each vendor personality (its Redfish face is the
/// captured tree with live power, BIOS, sessions and faults on top).
struct VendorSim {
    child: std::process::Child,
    control: String,
    _dir: tempfile::TempDir,
}

impl Drop for VendorSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_vendor_sim(models: &[&str]) -> (VendorSim, Vec<(String, String)>) {
    let venv = common::venv();
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("topology.yaml");
    let nodes: String = models
        .iter()
        .enumerate()
        .map(|(i, m)| format!("      - {{count: 1, model: {m}, prefix: v{i}-}}\n"))
        .collect();
    std::fs::write(
        &topo,
        format!(
            "seed: 11\n\
             addressing: {{mode: port, host: 127.0.0.1, redfish_http_port: 0, redfish_https_port: 0, \
             telemetry_port: 0, ipmi_port: 0, gnmi_port: 0}}\n\
             racks:\n  - id: rack-v\n    pdus: [{{id: pdu-v, outlets: 8}}]\n    \
             switches: [{{id: leaf-v, ports: 32}}]\n    nodes:\n{nodes}"
        ),
    )
    .unwrap();
    // The simulator binds its control API on a port of its own choosing and prints it.
    let log = std::fs::File::create(dir.path().join("sim.log")).unwrap();
    let child = Command::new(venv.join("bin/gpufleet-sim"))
        .args(["up", "--topology"])
        .arg(&topo)
        .args(["--control", "127.0.0.1:0", "--quiet"])
        .env("GPUFLEET_REFERENCE_DIR", reference_dir())
        .env("TMPDIR", dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start gpufleet-sim");
    let mut sim = VendorSim {
        child,
        control: String::new(),
        _dir: dir,
    };
    let start = std::time::Instant::now();
    let fleet: serde_json::Value = loop {
        if let Some(status) = sim.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(sim._dir.path().join("sim.log")).unwrap_or_default();
            panic!("gpufleet-sim exited with {status}:\n{log}");
        }
        if sim.control.is_empty() {
            let log = std::fs::read_to_string(sim._dir.path().join("sim.log")).unwrap_or_default();
            if let Some(url) = common::announced_control(&log) {
                sim.control = url;
            }
        }
        if !sim.control.is_empty() {
            if let Ok(r) = reqwest::get(format!("{}/fleet", sim.control)).await {
                if let Ok(v) = r.json().await {
                    break v;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "gpufleet-sim did not come up within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let nodes = fleet["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["redfish"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (sim, nodes)
}

async fn inject(control: &str, kind: &str, target: &str, params: serde_json::Value) {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{control}/faults"))
        .json(&serde_json::json!({"kind": kind, "target": target, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["id"].is_string(), "fault not injected: {r}");
}

/// The simulator wearing each vendor's captured tree reads as the capture does; a GPU that
/// falls off the bus leaves the inventory even where its PCIe device (Lenovo) or chassis (GH200)
/// stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_vendor_personalities() {
    let (sim, nodes) = start_vendor_sim(&[
        "dell-r750",
        "nvidia-gh200",
        "lenovo-sr670v2",
        "bluefield-dpu",
    ])
    .await;
    assert_eq!(nodes.len(), 4);
    let mut invs = vec![];
    for (_, url) in &nodes {
        let inv = client(url).inventory().await.unwrap();
        check_shape(&inv);
        invs.push(inv);
    }
    let [dell, gh200, lenovo, dpu] = &invs[..] else {
        unreachable!()
    };
    assert_eq!(dell.system.serial.as_deref(), Some("CNIVC0014M0388"));
    assert_eq!(gpu_serials(dell), ["1654422007043"]);
    assert_eq!(dell.nics.len(), 7);
    assert_eq!(dell.disks.len(), 3);
    assert_eq!(gh200.system.serial.as_deref(), Some("1580624650610"));
    assert_eq!(gpu_serials(gh200), ["1640124000234", "1640124000373"]);
    assert_eq!(lenovo.system.serial.as_deref(), Some("J101RZ43"));
    assert_eq!(gpu_serials(lenovo), ["1322221026831", "1322221028609"]);
    assert_eq!(lenovo.disks.len(), 2);
    assert_eq!(dpu.system.serial.as_deref(), Some("MT2328XZ185R"));
    assert_eq!(macs(dpu), ["02:05:ad:f2:c0:63", "02:55:1a:2f:e9:73"]);
    for inv in &invs {
        assert!(inv.warnings.len() <= 1, "{:?}", inv.warnings);
        assert!(!inv.firmware.is_empty());
    }

    inject(
        &sim.control,
        "gpu_off_bus",
        &nodes[1].0,
        serde_json::json!({"gpu": 1}),
    )
    .await;
    inject(
        &sim.control,
        "gpu_off_bus",
        &nodes[2].0,
        serde_json::json!({"gpu": 0}),
    )
    .await;
    let gh200 = client(&nodes[1].1).inventory().await.unwrap();
    assert_eq!(gpu_serials(&gh200), ["1640124000234"]);
    let lenovo = client(&nodes[2].1).inventory().await.unwrap();
    assert_eq!(gpu_serials(&lenovo), ["1322221028609"]);
    assert_eq!(
        lenovo.gpus[0].model.as_deref(),
        Some("NVIDIA Quadro RTX A6000")
    );
}

/// Where GPUs are is not vendor knowledge: with the generic rules alone (no other system
/// searched, no chassis named), the GH200's GPUs are found as the chassis that look like GPUs,
/// and nothing else there (the Grace CPUs, the BMC board, roots of trust, the processor modules
/// that contain them) is taken for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_found_without_vendor_knowledge() {
    let cap = serve_capture("gh200").await;
    let bmc = client(&cap.url);
    let mut q = InventoryQuirks::for_profile("generic");
    q.gpu_systems.clear();
    assert!(q.gpu_chassis.is_empty());
    let inv = fleet_bmc::inventory::read_with(&bmc, Some(q))
        .await
        .unwrap();
    assert_eq!(gpu_serials(&inv), ["1640124000234", "1640124000373"]);
    let chassis: Vec<Option<&str>> = inv.gpus.iter().map(|g| g.chassis.as_deref()).collect();
    assert_eq!(chassis, [Some("HGX_GPU_0"), Some("HGX_GPU_1")]);
    assert_eq!(inv.gpus[0].model.as_deref(), Some("NVIDIA GH200 96GB HBM3"));
    assert_eq!(inv.gpus_promised_by, None);
}

/// The simulator's personas laid out like other makers' firmware (personas.py): GPUs only as
/// chassis (DGX `HGX_GPU_SXM_1..8` under ServiceRoot Vendor AMI; trays `HGX_GPU_0..3` under
/// WIWYNN and AMI), no GPU Processor, no system PCIe devices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personas_inventory_every_gpu() {
    let (_sim, nodes) = start_vendor_sim(&["dgx-h100", "gb200-tray", "gb300-tray"]).await;
    assert_eq!(nodes.len(), 3);
    let dgx = client(&nodes[0].1).inventory().await.unwrap();
    assert_eq!(dgx.system.model.as_deref(), Some("DGX H100"));
    assert_eq!(dgx.gpus.len(), 8, "{:?}", dgx.gpus);
    let ids: Vec<Option<&str>> = dgx.gpus.iter().map(|g| g.chassis.as_deref()).collect();
    let want: Vec<String> = (1..=8).map(|n| format!("HGX_GPU_SXM_{n}")).collect();
    assert_eq!(
        ids,
        want.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>()
    );
    assert!(dgx
        .gpus
        .iter()
        .all(|g| g.model.as_deref() == Some("NVIDIA H100 80GB HBM3") && g.serial.is_some()));
    let unique: HashSet<&str> = dgx
        .gpus
        .iter()
        .filter_map(|g| g.serial.as_deref())
        .collect();
    assert_eq!(unique.len(), 8);
    assert!(dgx.is_complete("gpus"), "{:?}", dgx.warnings);
    assert_eq!(dgx.cpus.len(), 2);
    for (name, url) in &nodes[1..] {
        let inv = client(url).inventory().await.unwrap();
        assert_eq!(inv.gpus.len(), 4, "{name}: {:?}", inv.gpus);
        assert!(inv.gpus.iter().all(|g| g
            .model
            .as_deref()
            .is_some_and(|m| m.starts_with("NVIDIA GB"))));
    }
}

/// Trays whose GPUs report their module's serial in pairs: four GPUs, two serials, each pair
/// two GPUs told apart by their chassis, with a warning naming the collision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_sharing_a_serial_are_told_apart_by_location() {
    let (_sim, nodes) = start_vendor_sim(&["gb200-tray", "gb300-tray"]).await;
    for (name, url) in &nodes {
        // The NVIDIA profile names the GPU chassis: the pairs are not merged even so.
        let q = InventoryQuirks::for_profile("nvidia");
        let bmc = client(url);
        let inv = fleet_bmc::inventory::read_with(&bmc, Some(q))
            .await
            .unwrap();
        assert_eq!(inv.gpus.len(), 4, "{name}: {:?}", inv.gpus);
        let chassis: Vec<&str> = inv
            .gpus
            .iter()
            .map(|g| g.path.split('/').nth(4).unwrap())
            .collect();
        assert_eq!(
            chassis,
            ["HGX_GPU_0", "HGX_GPU_1", "HGX_GPU_2", "HGX_GPU_3"],
            "{name}"
        );
        let serials = gpu_serials(&inv);
        assert_eq!(serials[0], serials[1], "{name}");
        assert_eq!(serials[2], serials[3], "{name}");
        assert_ne!(serials[0], serials[2], "{name}");
        let collisions: Vec<&String> = inv
            .warnings
            .iter()
            .filter(|w| w.starts_with("gpu serials:"))
            .collect();
        assert_eq!(collisions.len(), 2, "{name}: {:?}", inv.warnings);
        let first = collisions
            .iter()
            .find(|w| w.contains(serials[0]))
            .expect("a warning names the first pair's serial");
        assert!(
            first.contains("HGX_GPU_0") && first.contains("HGX_GPU_1"),
            "{first}"
        );
        // The collision is named, but the GPU list is complete.
        assert!(inv.is_complete("gpus"), "{name}: {:?}", inv.warnings);
    }
}

/// The GB200 tray's system links BaseBoard_0, which answers 404: the warning names it and the
/// chassis that the Chassis collection says belongs to the system is read instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_chassis_link_is_replaced_from_the_collection() {
    let (_sim, nodes) = start_vendor_sim(&["gb200-tray"]).await;
    let tray = client(&nodes[0].1).inventory().await.unwrap();
    let w = tray.warnings.join("\n");
    assert!(
        w.contains("/redfish/v1/Chassis/BaseBoard_0")
            && w.contains("read /redfish/v1/Chassis/Chassis_0 from the Chassis collection"),
        "{w}"
    );
    assert!(tray.is_complete("nics"), "{w}");
    assert_eq!(tray.gpus.len(), 4);
}

/// With its GPUs gone, the DGX's inventory says that GPUs were expected, and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persona_without_its_gpus_says_so() {
    let (sim, nodes) = start_vendor_sim(&["dgx-h100"]).await;
    for g in 0..8 {
        inject(
            &sim.control,
            "gpu_off_bus",
            &nodes[0].0,
            serde_json::json!({"gpu": g}),
        )
        .await;
    }
    let gone = client(&nodes[0].1).inventory().await.unwrap();
    assert!(gone.gpus.is_empty());
    let why = gone.gpus_promised_by.as_deref().unwrap_or_default();
    assert!(why.contains("DGX H100"), "{why}");
    assert!(why.contains("HGX_ERoT_GPU_SXM_1"), "{why}");
    assert!(!gone.is_complete("gpus"));
    assert!(
        gone.warnings
            .iter()
            .any(|w| w.starts_with("gpus: no GPU found although")),
        "{:?}",
        gone.warnings
    );
}

/// The DMTF cooling unit mockup (`redfish/dmtf-mockups/public-cooling-unit` in the reference
/// data) served as a CDU's controller: its health, roll-up and failed pump. Expected values
/// read from the mockup with python `json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmtf_cooling_unit_mockup_is_read() {
    let mockup = reference_dir().join("redfish/dmtf-mockups/public-cooling-unit");
    assert!(
        mockup.join("index.json").exists(),
        "the DMTF cooling unit mockup is missing: set GPUFLEET_REFERENCE_DIR to the reference \
         data directory that holds redfish/dmtf-mockups/public-cooling-unit (shared/reference \
         in this project)"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("redfish")).unwrap();
    std::os::unix::fs::symlink(
        mockup.canonicalize().unwrap(),
        dir.path().join("redfish/v1"),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let root = dir.path().to_path_buf();
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(
                sock,
                root.clone(),
                g.clone(),
                Broken::default(),
                Broken::default(),
            ));
        }
    });
    let units = client(&url).cooling_units().await.unwrap();
    task.abort();
    assert_eq!(units.len(), 1, "{units:?}");
    let cdu = &units[0];
    assert_eq!(cdu.path, "/redfish/v1/ThermalEquipment/CDUs/1");
    assert_eq!(cdu.equipment_type.as_deref(), Some("CDU"));
    assert_eq!(cdu.serial.as_deref(), Some("29347ZT536"));
    assert_eq!(cdu.health.as_deref(), Some("Warning"));
    assert_eq!(cdu.health_rollup.as_deref(), Some("Critical"));
    assert!(cdu.failed());
    assert_eq!(
        cdu.conditions.first().map(String::as_str),
        Some("The pump subsystem health is Critical.")
    );
    assert!(
        cdu.conditions.iter().any(|c| c == "Pump '2' has failed."),
        "{:?}",
        cdu.conditions
    );
}

/// The DMTF rack PDU mockup (`redfish/dmtf-mockups/public-pdu` in the reference data, a
/// directory in mockup layout) served as a PDU's controller. Expected values read from the
/// mockup with python `json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmtf_rack_pdu_mockup_outlets_are_read() {
    let mockup = reference_dir().join("redfish/dmtf-mockups/public-pdu");
    assert!(
        mockup.join("index.json").exists(),
        "the DMTF PDU mockup is missing: set GPUFLEET_REFERENCE_DIR to the reference data \
         directory that holds redfish/dmtf-mockups/public-pdu (shared/reference in this project)"
    );
    // `/redfish/v1/X` → `<dir>/redfish/v1/X/index.json`: link the mockup in as `redfish/v1`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("redfish")).unwrap();
    std::os::unix::fs::symlink(
        mockup.canonicalize().unwrap(),
        dir.path().join("redfish/v1"),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let root = dir.path().to_path_buf();
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(
                sock,
                root.clone(),
                g.clone(),
                Broken::default(),
                Broken::default(),
            ));
        }
    });
    let pdus = client(&url).power_distribution().await.unwrap();
    task.abort();
    let paths: Vec<&str> = pdus.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/redfish/v1/PowerEquipment/RackPDUs/1",
            "/redfish/v1/PowerEquipment/FloorPDUs/Row1"
        ]
    );
    let rack = &pdus[0];
    assert_eq!(rack.serial.as_deref(), Some("29347ZT536"));
    assert_eq!(rack.health.as_deref(), Some("OK"));
    let ids: Vec<&str> = rack.outlets.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "C1", "C2", "C3"]
    );
    // A5 is neither switched nor metered: unknown, not off.
    let a5 = &rack.outlets[4];
    assert_eq!((a5.power_on, a5.watts), (None, None));
    assert_eq!(
        rack.outlets
            .iter()
            .filter(|o| o.power_on == Some(true))
            .count(),
        10
    );
    assert_eq!(rack.outlets[0].watts, Some(197.4));
    assert_eq!(rack.outlets[3].watts, None);
    assert!(pdus[1].outlets.is_empty(), "the floor PDU lists no outlets");
    assert!(gets.load(Ordering::SeqCst) >= 15);
}

/// A server's BMC given as a PDU's address says what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_bmc_is_not_taken_for_a_pdu() {
    let cap = serve_capture("dell_poweredge_r750").await;
    let e = client(&cap.url).power_distribution().await.unwrap_err();
    assert!(e.to_string().contains("PowerEquipment"), "{e}");
}
