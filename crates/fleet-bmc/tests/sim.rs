//! The drivers against the project's fleet simulator (Redfish, IPMI, gNMI), including the fault
//! cases: each ends in a clear error within its deadline.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Sim;
use fleet_bmc::gnmi::GnmiClient;
use fleet_bmc::ipmi::IpmiClient;
use fleet_bmc::ipmitool::IpmitoolClient;
use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::{
    wait_power, BmcError, BootDevice, BootOverride, Endpoint, FirmwareSource, OutOfBand,
    PowerAction, PowerState, VolumeSpec,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn rf(url: &str) -> RedfishClient {
    RedfishClient::new(Endpoint::new(url, "admin", "password").with_timeout(Duration::from_secs(5)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redfish_operations_against_the_simulator() {
    let sim = Sim::start(1, 0.5);
    let bmc = rf(&sim.nodes[0].redfish);

    // Power: status, off, on, cycle.
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    bmc.power(PowerAction::Off).await.unwrap();
    wait_power(&bmc, PowerState::Off, WAIT).await.unwrap();
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On, WAIT).await.unwrap();
    bmc.power(PowerAction::Cycle).await.unwrap();
    wait_power(&bmc, PowerState::On, WAIT).await.unwrap();

    // One-time PXE boot.
    bmc.set_boot(BootOverride {
        device: BootDevice::Pxe,
        persistent: false,
    })
    .await
    .unwrap();
    assert_eq!(
        bmc.boot().await.unwrap(),
        BootOverride {
            device: BootDevice::Pxe,
            persistent: false
        }
    );
    bmc.set_boot(BootOverride {
        device: BootDevice::Disk,
        persistent: true,
    })
    .await
    .unwrap();
    assert_eq!(
        bmc.boot().await.unwrap(),
        BootOverride {
            device: BootDevice::Disk,
            persistent: true
        }
    );

    // BIOS: pending until reset, then applied.
    let before = bmc.bios().await.unwrap();
    assert_eq!(before.current["SysProfile"], json!("PerfOptimized"));
    let mut want = BTreeMap::new();
    want.insert("SysProfile".to_string(), json!("PerfPerWattOptimizedOs"));
    bmc.set_bios(&want).await.unwrap();
    let pending = bmc.bios().await.unwrap();
    assert_eq!(
        pending.pending.get("SysProfile"),
        Some(&json!("PerfPerWattOptimizedOs"))
    );
    assert_eq!(pending.current["SysProfile"], json!("PerfOptimized"));
    assert_eq!(fleet_bmc::bios_diff(&want, &pending.current).len(), 1);
    bmc.power(PowerAction::Reset).await.unwrap();
    let start = Instant::now();
    loop {
        let b = bmc.bios().await.unwrap();
        if fleet_bmc::bios_diff(&want, &b.current).is_empty() {
            assert!(b.pending.is_empty(), "pending after apply: {:?}", b.pending);
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "BIOS change not applied after reset: {:?}",
            b.current["SysProfile"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // RAID.
    let ctrls = bmc.storage().await.unwrap();
    assert_eq!(ctrls.len(), 1);
    assert!(ctrls[0].drives.len() >= 2);
    assert!(ctrls[0].raid_types.contains(&"RAID1".to_string()));
    let vol = bmc
        .create_volume(&VolumeSpec {
            controller: ctrls[0].id.clone(),
            name: "os".into(),
            raid_type: "RAID1".into(),
            drives: vec![ctrls[0].drives[0].id.clone(), ctrls[0].drives[1].id.clone()],
        })
        .await
        .unwrap();
    assert_eq!(vol.raid_type.as_deref(), Some("RAID1"));
    let after = bmc.storage().await.unwrap();
    assert_eq!(after[0].volumes.len(), 1);
    bmc.delete_volume(&ctrls[0].id, &vol.id).await.unwrap();
    assert!(bmc.storage().await.unwrap()[0].volumes.is_empty());

    // Firmware: update from a URL, follow the task, see the new version. The simulator is told
    // which version each image installs; no image name carries it, so the driver can only have
    // it from the BMC.
    let pushed = vec![0x5au8; 1024];
    sim.firmware_image(
        json!({"image": "http://images.example/bios-next.bin"}),
        "9.8.7",
    )
    .await;
    sim.firmware_image(
        json!({"sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pushed))}),
        "5.6.7",
    )
    .await;
    let fw = bmc.firmware().await.unwrap();
    assert!(fw.iter().any(|f| f.id == "BIOS"));
    let seen = std::sync::Mutex::new(vec![]);
    bmc.update_firmware(
        FirmwareSource::Url("http://images.example/bios-next.bin".into()),
        &["BIOS".to_string()],
        Duration::from_secs(30),
        &|p| seen.lock().unwrap().push(p),
    )
    .await
    .unwrap();
    assert!(seen.lock().unwrap().iter().any(|p| p.state == "Completed"));
    let fw = bmc.firmware().await.unwrap();
    assert_eq!(fw.iter().find(|f| f.id == "BIOS").unwrap().version, "9.8.7");
    // A failing image ends in a task error, not a hang.
    let e = bmc
        .update_firmware(
            FirmwareSource::Url("http://images.example/bmc-fail-1.2.3.bin".into()),
            &["BMC".to_string()],
            Duration::from_secs(30),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "task_failed", "{e}");
    // Upload (multipart push).
    bmc.update_firmware(
        FirmwareSource::Upload {
            filename: "bmc-next.bin".into(),
            bytes: pushed,
        },
        &["BMC".to_string()],
        Duration::from_secs(30),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        bmc.firmware()
            .await
            .unwrap()
            .iter()
            .find(|f| f.id == "BMC")
            .unwrap()
            .version,
        "5.6.7"
    );

    // Virtual media.
    bmc.insert_media("http://images.example/installer.iso")
        .await
        .unwrap();
    let m = bmc.media().await.unwrap();
    assert!(
        m.iter().any(
            |x| x.inserted && x.image.as_deref() == Some("http://images.example/installer.iso")
        ),
        "{m:?}"
    );
    bmc.eject_media().await.unwrap();
    assert!(bmc.media().await.unwrap().iter().all(|x| !x.inserted));

    // SEL and sensors.
    let sel = bmc.sel().await.unwrap();
    assert!(!sel.is_empty(), "the power changes above leave SEL entries");
    bmc.clear_sel().await.unwrap();
    assert!(bmc.sel().await.unwrap().len() <= 1);
    let sensors = bmc.sensors().await.unwrap();
    assert!(
        sensors
            .iter()
            .any(|s| s.kind == "temperature" && s.reading.is_some()),
        "{sensors:?}"
    );
    // A BMC reset: away for a moment, back with the reset in its log, the host still on.
    reset_and_wait(&bmc, &bmc).await;
    bmc.logout().await;
}

/// Resets the BMC, sees it gone (through `probe`, a client that gives up quickly), and waits
/// (at most 20 s) until it answers again.
async fn reset_and_wait(bmc: &dyn OutOfBand, probe: &dyn OutOfBand) {
    let before = bmc.sel().await.unwrap().len();
    bmc.reset_bmc().await.unwrap();
    assert!(
        probe.power_state().await.is_err(),
        "a BMC that just restarted does not answer"
    );
    let start = Instant::now();
    let state = loop {
        match bmc.power_state().await {
            Ok(s) => break s,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("the BMC did not come back: {e}"),
        }
    };
    assert_eq!(state, PowerState::On, "the host keeps running");
    let sel = bmc.sel().await.unwrap();
    assert_eq!(sel.len(), before + 1, "the reset is in the SEL: {sel:?}");
    if bmc.driver() == "redfish" {
        assert!(
            sel.iter().any(|e| e.message.contains("BMC reset")),
            "{sel:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redfish_https_pinned_ca_and_self_signed() {
    let sim = Sim::start(1, 0.0);
    let url = &sim.nodes[0].redfish_https;
    // Opted in to self-signed certificates.
    let ok = RedfishClient::new(Endpoint::new(url, "admin", "password").accept_self_signed(true))
        .unwrap();
    assert_eq!(ok.power_state().await.unwrap(), PowerState::On);
    // The BMC's own certificate as trusted CA.
    if let Some(cert) = &sim.cert {
        let mut ep = Endpoint::new(url.replace("127.0.0.1", "localhost"), "admin", "password");
        ep.ca_cert_pem = Some(std::fs::read(cert).unwrap());
        let pinned = RedfishClient::new(ep).unwrap();
        match pinned.power_state().await {
            Ok(s) => assert_eq!(s, PowerState::On),
            // A certificate without a localhost name is still rejected clearly.
            Err(e) => assert_eq!(e.kind(), "tls_certificate", "{e}"),
        }
    }
    // Strict verification (the default) rejects the self-signed certificate.
    let strict = RedfishClient::new(Endpoint::new(url, "admin", "password")).unwrap();
    let e = strict.power_state().await.unwrap_err();
    assert!(matches!(e, BmcError::TlsCertificate { .. }), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redfish_faults_end_in_clear_errors() {
    let sim = Sim::start(2, 0.0);
    let node = &sim.nodes[0];
    let quick = |url: &str| {
        RedfishClient::new(
            Endpoint::new(url, "admin", "password")
                .with_timeout(Duration::from_millis(800))
                .with_retries(1),
        )
        .unwrap()
    };

    // Wrong password: 401, no retry loop.
    let bad = RedfishClient::new(Endpoint::new(&node.redfish, "admin", "wrong")).unwrap();
    let e = bad.power_state().await.unwrap_err();
    assert!(matches!(e, BmcError::Unauthorized { .. }), "{e}");
    assert!(
        !e.to_string().contains("wrong"),
        "the password leaks into the error: {e}"
    );

    // A BMC that does not answer, or answers after 5 s, ends in the client's own timeout: the
    // error names the 800 ms it waited (a slow BMC would otherwise have answered, and a hung one
    // would have ended in a dropped connection or not at all).
    for (mode, kind) in [
        ("unresponsive", "timeout"),
        ("slow", "timeout"),
        ("5xx", "server_error"),
        ("malformed", "malformed"),
    ] {
        let id = sim
            .inject("bmc", &node.id, json!({"mode": mode, "delay_s": 5}))
            .await;
        let c = quick(&node.redfish);
        let e = c.power_state().await.unwrap_err();
        assert_eq!(e.kind(), kind, "mode {mode}: {e}");
        if kind == "timeout" {
            assert!(
                matches!(e, BmcError::Timeout { after, .. } if after == Duration::from_millis(800)),
                "mode {mode}: {e:?}"
            );
        }
        // The other node is unaffected.
        assert_eq!(
            quick(&sim.nodes[1].redfish).power_state().await.unwrap(),
            PowerState::On
        );
        sim.clear(&id).await;
    }
    // Recovered.
    assert_eq!(
        quick(&node.redfish).power_state().await.unwrap(),
        PowerState::On
    );

    // Nothing listening (a port held closed by this test, so nothing else can take it).
    let closed = common::closed_port();
    let e = quick(&format!("http://127.0.0.1:{}", closed.port))
        .power_state()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "connect", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipmi_operations_against_the_simulator() {
    let sim = Sim::start(1, 0.5);
    let node = &sim.nodes[0];
    let bmc = IpmiClient::new(
        Endpoint::new(&node.ipmi, "admin", "password").with_timeout(Duration::from_secs(3)),
    );
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    bmc.power(PowerAction::Off).await.unwrap();
    wait_power(&bmc, PowerState::Off, WAIT).await.unwrap();
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On, WAIT).await.unwrap();
    bmc.power(PowerAction::Cycle).await.unwrap();
    wait_power(&bmc, PowerState::On, WAIT).await.unwrap();

    bmc.set_boot(BootOverride {
        device: BootDevice::Pxe,
        persistent: false,
    })
    .await
    .unwrap();
    assert_eq!(
        bmc.boot().await.unwrap(),
        BootOverride {
            device: BootDevice::Pxe,
            persistent: false
        }
    );
    // Redfish sees the same override.
    let r = rf(&node.redfish);
    assert_eq!(r.boot().await.unwrap().device, BootDevice::Pxe);

    let sel = bmc.sel().await.unwrap();
    assert!(!sel.is_empty());
    bmc.clear_sel().await.unwrap();
    assert!(bmc.sel().await.unwrap().len() <= 1);
    let sensors = bmc.sensors().await.unwrap();
    assert!(
        sensors
            .iter()
            .any(|s| s.kind == "temperature" && s.reading.is_some_and(|r| r > 0.0 && r < 150.0)),
        "{sensors:?}"
    );
    // The driver retransmits across a short restart; the probe gives up at once.
    let probe = IpmiClient::new(
        Endpoint::new(&node.ipmi, "admin", "password")
            .with_timeout(Duration::from_millis(500))
            .with_retries(1),
    );
    reset_and_wait(&bmc, &probe).await;
    bmc.close().await;

    // Wrong password and a dead BMC end in clear errors.
    let bad = IpmiClient::new(
        Endpoint::new(&node.ipmi, "admin", "nope").with_timeout(Duration::from_secs(2)),
    );
    let e = bad.power_state().await.unwrap_err();
    assert!(matches!(e, BmcError::Unauthorized { .. }), "{e}");
    let id = sim
        .inject("bmc", &node.id, json!({"mode": "unresponsive"}))
        .await;
    let dead = IpmiClient::new(
        Endpoint::new(&node.ipmi, "admin", "password")
            .with_timeout(Duration::from_secs(1))
            .with_retries(1),
    );
    // Ended by the client's own per-request timeout, not by anything the BMC sent.
    let e = dead.power_state().await.unwrap_err();
    assert!(
        matches!(e, BmcError::Timeout { after, .. } if after == Duration::from_secs(1)),
        "{e:?}"
    );
    sim.clear(&id).await;
}

/// The ipmitool driver against the simulator's IPMI face. `ipmitool` comes from
/// `scripts/peers.sh`; without it this test fails and says so rather than passing unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipmitool_driver_against_the_simulator() {
    assert!(
        which("ipmitool"),
        "ipmitool is not on PATH - run scripts/peers.sh first"
    );
    let sim = Sim::start(1, 0.0);
    let node = &sim.nodes[0];
    let t = IpmitoolClient::new(
        Endpoint::new(&node.ipmi, "admin", "password").with_timeout(Duration::from_secs(3)),
    );
    assert_eq!(t.power_state().await.unwrap(), PowerState::On);
    for device in [BootDevice::Disk, BootDevice::Pxe] {
        t.set_boot(BootOverride {
            device,
            persistent: false,
        })
        .await
        .unwrap();
        // Read back by the project's own IPMI driver and over Redfish.
        let bmc = IpmiClient::new(
            Endpoint::new(&node.ipmi, "admin", "password").with_timeout(Duration::from_secs(3)),
        );
        assert_eq!(bmc.boot().await.unwrap().device, device);
        bmc.close().await;
        assert_eq!(rf(&node.redfish).boot().await.unwrap().device, device);
    }
    // A wrong password is refused, and the error does not carry it.
    let bad = IpmitoolClient::new(
        Endpoint::new(&node.ipmi, "admin", "wrong-pw-8e2d").with_timeout(Duration::from_secs(3)),
    );
    let e = bad.power_state().await.unwrap_err();
    assert!(!e.to_string().contains("wrong-pw-8e2d"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gnmi_port_status_and_admin_state() {
    let sim = Sim::start(1, 0.0);
    let (_, addr) = &sim.switches[0];
    let g = GnmiClient::new(addr, Duration::from_secs(5)).unwrap();
    let caps = g.capabilities().await.unwrap();
    assert!(caps
        .supported_models
        .iter()
        .any(|m| m.name == "openconfig-interfaces"));
    let p = g.port("Ethernet1").await.unwrap();
    assert!(p.admin_up, "{p:?}");
    // Every port in one Get: the harness gives the leaf 12 ports per node and 4 more.
    let all = g.ports().await.unwrap();
    assert_eq!(all.len(), 16, "{all:?}");
    assert_eq!(all.iter().find(|x| x.name == "Ethernet1"), Some(&p));
    g.set_admin("Ethernet1", false).await.unwrap();
    let p = g.port("Ethernet1").await.unwrap();
    assert!(!p.admin_up, "{p:?}");
    assert_eq!(p.oper_status, "DOWN");
    g.set_admin("Ethernet1", true).await.unwrap();
    assert!(g.port("Ethernet1").await.unwrap().admin_up);
    let e = g.port("NoSuchPort").await.unwrap_err();
    assert!(
        matches!(e, BmcError::Gnmi { .. } | BmcError::NotFound { .. }),
        "{e}"
    );
    // A target that is not there: a clear error within the deadline.
    let closed = common::closed_port();
    let dead = GnmiClient::new(
        &format!("127.0.0.1:{}", closed.port),
        Duration::from_secs(2),
    )
    .unwrap();
    // Refused at once: gRPC's Unavailable (a client that hung instead would meet its timeout).
    let e = dead.port("Ethernet1").await.unwrap_err();
    assert!(
        matches!(&e, BmcError::Gnmi { code, .. } if code == "Unavailable")
            || matches!(e.kind(), "connect" | "timeout"),
        "{e:?}"
    );
}

async fn next_event<S>(s: &mut S) -> fleet_bmc::gnmi::PortEvent
where
    S: futures::Stream<Item = fleet_bmc::Result<fleet_bmc::gnmi::PortEvent>> + Unpin,
{
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("an update within 10 s")
        .expect("the stream stays open")
        .expect("no stream error")
}

/// A STREAM subscription against the simulator's gNMI target (pygnmi's protobuf definitions on
/// the other side): every port in full, the sync marker, then the change of one port as it
/// happens, and counters sampled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gnmi_subscription_streams_port_changes() {
    use fleet_bmc::gnmi::PortEvent;
    use futures::StreamExt;
    let sim = Sim::start(1, 0.0);
    let (_, addr) = &sim.switches[0];
    let g = GnmiClient::new(addr, Duration::from_secs(5)).unwrap();
    let stream = g
        .subscribe_ports(Duration::from_secs(1), Duration::from_secs(10))
        .await
        .unwrap();
    let mut stream = Box::pin(stream);
    let mut seen = std::collections::BTreeMap::new();
    let mut counters = 0;
    loop {
        match next_event(&mut stream).await {
            PortEvent::Synced => break,
            PortEvent::Ports(ps) => {
                for p in ps {
                    counters += usize::from(p.in_errors.is_some());
                    let e = seen.entry(p.name.clone()).or_insert((None, None));
                    if p.admin_up.is_some() {
                        e.0 = p.admin_up;
                    }
                    if p.oper_status.is_some() {
                        e.1 = p.oper_status.clone();
                    }
                }
            }
        }
    }
    assert_eq!(seen.len(), 16, "{seen:?}");
    assert_eq!(seen["Ethernet1"], (Some(true), Some("UP".to_string())));
    assert!(
        counters >= 16,
        "counters of every port in the first full sample"
    );
    // A port switched off shows up as its own update without polling.
    g.set_admin("Ethernet1", false).await.unwrap();
    let mut down = false;
    for _ in 0..30 {
        if let PortEvent::Ports(ps) = next_event(&mut stream).await {
            if ps
                .iter()
                .any(|p| p.name == "Ethernet1" && p.oper_status.as_deref() == Some("DOWN"))
            {
                down = true;
                break;
            }
        }
    }
    assert!(down, "Ethernet1 reported DOWN on the stream");
    g.set_admin("Ethernet1", true).await.unwrap();
    // A target that is not there: the subscription fails within the connect timeout.
    let closed = common::closed_port();
    let dead = GnmiClient::new(
        &format!("127.0.0.1:{}", closed.port),
        Duration::from_secs(2),
    )
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        match dead
            .subscribe_ports(Duration::from_secs(1), Duration::from_secs(5))
            .await
        {
            Err(e) => Some(e),
            Ok(s) => Box::pin(s).next().await.and_then(|x| x.err()),
        }
    })
    .await
    .expect("a dead target answers within its deadline");
    assert!(r.is_some(), "an error from a dead target");
}

fn which(p: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).exists()))
}

/// BIOS writes where the settings object takes PATCH but answers GET with 405: at an
/// unadvertised URI the vendor data names (AMI `Bios/SD`, DGX persona) and at an advertised one
/// (GB200 tray). The write goes without If-Match and takes effect at the next reset. Where
/// neither the BMC nor the vendor data names a settings object, nothing is guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bios_writes_to_settings_objects_that_take_patch_but_not_get() {
    let sim = Sim::start_models(&["dgx-h100", "gb200-tray"], 0.2);
    for n in &sim.nodes {
        let bmc = rf(&n.redfish);
        let mut want = BTreeMap::new();
        want.insert("SysProfile".to_string(), json!("PerfPerWattOptimizedOs"));
        bmc.set_bios(&want)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", n.id));
        // The settings object cannot be read: nothing pending is visible, and that is no error.
        let b = bmc.bios().await.unwrap();
        assert_eq!(b.current["SysProfile"], json!("PerfOptimized"), "{}", n.id);
        bmc.power(PowerAction::Cycle).await.unwrap();
        let start = Instant::now();
        loop {
            let b = bmc.bios().await.unwrap();
            if b.current["SysProfile"] == json!("PerfPerWattOptimizedOs") {
                break;
            }
            assert!(
                start.elapsed() < WAIT,
                "{}: not applied: {:?}",
                n.id,
                b.current
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The DGX advertises no settings object: with the generic profile (no vendor data) the
    // write is refused with the reason instead of going to a guessed URI.
    let generic =
        rf(&sim.nodes[0].redfish).with_profile(fleet_bmc::vendor::VendorProfile::generic());
    let mut want = BTreeMap::new();
    want.insert("SysProfile".to_string(), json!("PerfOptimized"));
    let e = generic.set_bios(&want).await.unwrap_err().to_string();
    assert!(
        e.contains("advertises no @Redfish.Settings") && e.contains("settings_suffix"),
        "{e}"
    );
}

/// A BMC that refuses `ResetType: On` while the system is on (400): power on is a no-op there,
/// and off while off too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_on_while_on_is_not_sent() {
    let sim = Sim::start_models(&["dgx-h100"], 0.2);
    let bmc = rf(&sim.nodes[0].redfish);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    bmc.power(PowerAction::On).await.unwrap();
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    bmc.power(PowerAction::Off).await.unwrap();
    wait_power(&bmc, PowerState::Off, WAIT).await.unwrap();
    bmc.power(PowerAction::Off).await.unwrap();
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On, WAIT).await.unwrap();
}
