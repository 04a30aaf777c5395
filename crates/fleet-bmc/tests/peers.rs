//! The drivers against BMC implementations written outside this project: OpenStack sushy-tools
//! (`sushy-emulator --fake`, Redfish) and OpenIPMI's `ipmi_sim` (IPMI v2.0 over LAN). Both are
//! installed by `scripts/peers.sh`; the tests start them on 127.0.0.1 and stop them at the end.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Peer;

use fleet_bmc::ipmi::IpmiClient;
use fleet_bmc::ipmitool::IpmitoolClient;
use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::{
    wait_power, BootDevice, BootOverride, Endpoint, OutOfBand, PowerAction, PowerState,
};

/// sushy-tools' fake driver applies a power change 1-11 s after the request, at random.
const SUSHY_POWER: Duration = Duration::from_secs(30);

fn need(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing at {} - run scripts/peers.sh first",
        path.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redfish_against_sushy_tools() {
    let dir = tempfile::tempdir().unwrap();
    // The test chooses the system's initial power state (the fake driver's default is Off).
    let sushy = common::Sushy::start(dir.path(), "On");
    let url = sushy.url.clone();
    let bmc = RedfishClient::new(
        Endpoint::new(&url, "admin", "password").with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
    let start = Instant::now();
    let first = loop {
        match bmc.power_state().await {
            Ok(s) => break s,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "sushy-emulator did not answer: {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    assert_eq!(
        first,
        PowerState::On,
        "the state this test gave the fake system"
    );
    assert_eq!(bmc.profile().await.unwrap().name, "sushy");

    // One-time PXE boot, then persistent disk.
    // (sushy-tools keeps BootSourceOverrideEnabled at Continuous whatever is sent: only the
    // device is checked.)
    bmc.set_boot(BootOverride {
        device: BootDevice::Pxe,
        persistent: false,
    })
    .await
    .unwrap();
    assert_eq!(bmc.boot().await.unwrap().device, BootDevice::Pxe);
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

    // Power cycle (ForceRestart: sushy lists no PowerCycle), off, on.
    bmc.power(PowerAction::Cycle).await.unwrap();
    wait_power(&bmc, PowerState::On, SUSHY_POWER).await.unwrap();
    bmc.power(PowerAction::Off).await.unwrap();
    wait_power(&bmc, PowerState::Off, SUSHY_POWER)
        .await
        .unwrap();
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On, SUSHY_POWER).await.unwrap();

    // Virtual media (sushy-tools downloads the image: serve one).
    let image = serve_image().await;
    bmc.insert_media(&image).await.unwrap();
    let m = bmc.media().await.unwrap();
    assert!(
        m.iter().any(|x| x.inserted
            && x.image
                .as_deref()
                .is_some_and(|i| i.contains("installer.iso"))),
        "{m:?}"
    );
    bmc.eject_media().await.unwrap();
    assert!(bmc.media().await.unwrap().iter().all(|x| !x.inserted));

    // What the fake driver does not implement is reported, not hung on.
    let e = bmc.bios().await.unwrap_err();
    assert!(!e.to_string().is_empty());
    // sushy-tools' manager offers no Manager.Reset: a BMC reset is refused by name.
    let e = bmc.reset_bmc().await.unwrap_err();
    assert_eq!(e.kind(), "unsupported", "{e}");
    assert!(e.to_string().contains("Manager.Reset"), "{e}");
}

struct IpmiSim {
    _peer: Peer,
    addr: String,
    dir: tempfile::TempDir,
}

fn start_ipmi_sim() -> IpmiSim {
    let bin = Path::new("/usr/bin/ipmi_sim");
    need(bin, "ipmi_sim (Debian openipmi)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Chassis control program: ipmi_sim asks it for, and tells it, power and boot device.
    let script = d.join("chassis.sh");
    std::fs::write(
        &script,
        r#"#!/bin/sh
dir=$(dirname "$0")
shift
op=$1; shift
echo "$op $*" >> "$dir/chassis.log"
case $op in
  get)
    for p in "$@"; do
      case $p in
        power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 1)" ;;
        boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
      esac
    done ;;
  set)
    while [ $# -gt 1 ]; do
      p=$1; v=$2; shift 2
      case $p in
        power) echo "$v" > "$dir/power" ;;
        boot) echo "$v" > "$dir/boot" ;;
      esac
    done ;;
esac
exit 0
"#,
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    std::fs::write(
        d.join("lan.conf"),
        format!(
            r#"name "gpufleet-peer"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 0
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{} 0x20"
  user 1 true  ""      "test"     user   10 none md2 md5 straight
  user 2 true  "admin" "password" admin  10 none md2 md5 straight
"#,
            script.display()
        ),
    )
    .unwrap();
    // One MC with a SEL holding one temperature event.
    std::fs::write(
        d.join("bmc.emu"),
        "mc_setbmc 0x20\n\
         mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n\
         sel_enable 0x20 1000 0x0a\n\
         sel_add 0x20 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 0x01 0x30 0x01 0x07 0xff 0xff\n\
         mc_enable 0x20\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("state")).unwrap();
    let log_path = d.join("ipmi_sim.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(d.join("lan.conf"))
        .arg("-f")
        .arg(d.join("bmc.emu"))
        .arg("-s")
        .arg(d.join("state"))
        .arg("-n")
        .env("TMPDIR", d)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start ipmi_sim");
    // Port 0 in lan.conf: ipmi_sim binds a UDP port of its own choosing; read it back.
    let mut peer = Peer(child);
    let port = common::wait_bound_port(&mut peer.0, true, &log_path, Duration::from_secs(20));
    IpmiSim {
        _peer: peer,
        addr: format!("127.0.0.1:{port}"),
        dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipmi_against_openipmi_ipmi_sim() {
    let sim = start_ipmi_sim();
    let bmc = IpmiClient::new(
        Endpoint::new(&sim.addr, "admin", "password").with_timeout(Duration::from_secs(3)),
    );
    let start = Instant::now();
    let first = loop {
        match bmc.power_state().await {
            Ok(s) => break s,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "ipmi_sim did not answer: {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    assert_eq!(first, PowerState::On);

    bmc.power(PowerAction::Off).await.unwrap();
    wait_power(&bmc, PowerState::Off, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(sim.dir.path().join("power"))
            .unwrap()
            .trim(),
        "0"
    );
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On, Duration::from_secs(10))
        .await
        .unwrap();
    bmc.power(PowerAction::Cycle).await.unwrap();
    wait_power(&bmc, PowerState::On, Duration::from_secs(15))
        .await
        .unwrap();

    // One-time PXE: ipmi_sim hands the device to its chassis program.
    bmc.set_boot(BootOverride {
        device: BootDevice::Pxe,
        persistent: false,
    })
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(sim.dir.path().join("boot"))
            .unwrap()
            .trim(),
        "pxe"
    );
    assert_eq!(bmc.boot().await.unwrap().device, BootDevice::Pxe);

    let sel = bmc.sel().await.unwrap();
    assert_eq!(sel.len(), 1, "{sel:?}");
    assert!(sel[0].message.contains("temperature"), "{sel:?}");
    bmc.clear_sel().await.unwrap();
    assert!(bmc.sel().await.unwrap().is_empty());
    // ipmi_sim implements no cold reset: refused by name, and the session still works.
    let e = bmc.reset_bmc().await.unwrap_err();
    assert_eq!(e.kind(), "unsupported", "{e}");
    assert!(e.to_string().contains("cold reset"), "{e}");
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    bmc.close().await;

    // Wrong password: RAKP refuses, a clear error.
    let bad = IpmiClient::new(
        Endpoint::new(&sim.addr, "admin", "wrong").with_timeout(Duration::from_secs(2)),
    );
    let e = bad.power_state().await.unwrap_err();
    assert_eq!(e.kind(), "unauthorized", "{e}");

    // The ipmitool driver against the same peer.
    let t = IpmitoolClient::new(
        Endpoint::new(&sim.addr, "admin", "password").with_timeout(Duration::from_secs(3)),
    );
    assert_eq!(t.power_state().await.unwrap(), PowerState::On);
    bmc.set_boot(BootOverride {
        device: BootDevice::None,
        persistent: false,
    })
    .await
    .unwrap();
    assert_ne!(
        std::fs::read_to_string(sim.dir.path().join("boot"))
            .unwrap()
            .trim(),
        "pxe"
    );
    t.set_boot(BootOverride {
        device: BootDevice::Pxe,
        persistent: false,
    })
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(sim.dir.path().join("boot"))
            .unwrap()
            .trim(),
        "pxe"
    );
    assert_eq!(t.boot().await.unwrap().device, BootDevice::Pxe);
    bmc.close().await;
}

/// Serves a small "ISO image" over HTTP on 127.0.0.1 until the test ends; returns its URL.
async fn serve_image() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).starts_with("HEAD");
                let body = vec![0u8; 2048];
                let hdr = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(hdr.as_bytes()).await;
                if !head {
                    let _ = s.write_all(&body).await;
                }
            });
        }
    });
    format!("http://{addr}/installer.iso")
}
