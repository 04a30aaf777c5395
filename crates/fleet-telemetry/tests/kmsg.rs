//! The kernel-log XID parser on fixture lines written after the forms in NVIDIA's "Xid Errors"
//! documentation (<https://docs.nvidia.com/deploy/xid-errors/index.html>) and the GPU debug
//! guidelines (<https://docs.nvidia.com/deploy/gpu-debug-guidelines/index.html>): `/dev/kmsg`
//! records with continuation lines, `dmesg`, `dmesg -T` and syslog forms, with and without
//! `pid=`/`name=`, with `<unknown>` processes.

use fleet_telemetry::kmsg::parse_text;

#[test]
fn fixture_lines() {
    let events = parse_text(include_str!("fixtures/kmsg.txt"));
    let summary: Vec<(String, u32, Option<u32>, Option<String>)> = events
        .iter()
        .map(|e| (e.pci.clone(), e.xid, e.pid, e.process.clone()))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        summary,
        vec![
            ("0000:3b:00".into(), 79, Some(2049), s("python3")),
            ("0000:86:00".into(), 31, Some(3155), s("train")),
            ("0000:86:00".into(), 13, None, None),
            ("0000:b7:00".into(), 48, None, None),
            ("0000:b7:00".into(), 63, None, None),
            ("0000:18:00".into(), 94, Some(7781), s("pt_main_thread")),
            ("0000:18:00".into(), 119, Some(1), s("systemd")),
            ("0000:db:00".into(), 74, Some(9123), s("nccl")),
        ]
    );
    assert_eq!(events[0].message, "GPU has fallen off the bus.");
    assert_eq!(events[0].kmsg_seq, Some(1310));
    assert_eq!(events[0].uptime_us, Some(5_223_041));
    assert!(events[1]
        .message
        .starts_with("Ch 00000008, intr 10000000. MMU Fault"));
    assert!(events[2].message.starts_with("Graphics SM Warp Exception"));
    assert_eq!(events[3].uptime_us, Some(812_431_209));
    assert_eq!(events[5].uptime_us, None);
    assert_eq!(events[6].uptime_us, Some(3_312_000_001));
    assert!(events[7].message.contains("link 5(0x0, 0x0, 0x10000"));
    assert_eq!(
        events[7].dcgm_pci_bus_id().as_deref(),
        Some("00000000:DB:00.0")
    );
}
