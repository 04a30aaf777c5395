//! A small hall for the scenarios, and alert builders.
//!
//! Rack `r1`: PDUs `pdu-a` (feeds `a1`, `a2`) and `pdu-b` (feeds `b1`, `b2`); nodes `n1`, `n2` on
//! feed `a1`, `n3`, `n4` on `b1`; each node has a BMC `bmc-nX`, a NIC and 8 GPUs `gpu-nX-0..7`
//! in an NVLink ring; leaf switch `sw1` with ports `sw1-p1..4` cabled to `n1..n4`; CDU `cdu1`
//! cools `r1`. Rack `r2` (far away): PDU `pdu-c` feed `c1` powering `f1`, `f2`; switch `sw2`;
//! CDU `cdu2`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use fleet_correlate::{Alert, AssetKind, Graph, Millis, Relation, TrueIncident};

pub const T0: Millis = 1_800_000_000_000;
pub const S: Millis = 1000;

fn node(g: &mut Graph, rack: &str, n: &str, feed: &str, port: &str) {
    g.add(n, AssetKind::Node);
    g.add_edge(rack, Relation::Contains, n).unwrap();
    g.add_edge(n, Relation::PoweredBy, feed).unwrap();
    let bmc = format!("bmc-{n}");
    g.add(&bmc, AssetKind::Bmc);
    g.add_edge(n, Relation::Contains, &bmc).unwrap();
    let nic = format!("nic-{n}");
    g.add(&nic, AssetKind::Nic);
    g.add_edge(n, Relation::Contains, &nic).unwrap();
    g.add_edge(&nic, Relation::ConnectedTo, port).unwrap();
    for i in 0..8 {
        let gpu = format!("gpu-{n}-{i}");
        g.add(&gpu, AssetKind::Gpu);
        g.add_edge(n, Relation::Contains, &gpu).unwrap();
        if i > 0 {
            g.add_edge(&format!("gpu-{n}-{}", i - 1), Relation::Nvlink, &gpu)
                .unwrap();
        }
    }
    g.add_edge(
        &format!("gpu-{n}-7"),
        Relation::Nvlink,
        &format!("gpu-{n}-0"),
    )
    .unwrap();
}

fn rack(g: &mut Graph, r: &str, pdus: &[(&str, &[&str])], sw: &str, cdu: &str, ports: usize) {
    g.add(r, AssetKind::Rack);
    for (pdu, feeds) in pdus {
        g.add(pdu, AssetKind::Pdu);
        g.add_edge(r, Relation::Contains, pdu).unwrap();
        for f in *feeds {
            g.add(f, AssetKind::Outlet);
            g.add_edge(pdu, Relation::Contains, f).unwrap();
        }
    }
    g.add(sw, AssetKind::Switch);
    g.add_edge(r, Relation::Contains, sw).unwrap();
    for p in 1..=ports {
        let port = format!("{sw}-p{p}");
        g.add(&port, AssetKind::SwitchPort);
        g.add_edge(sw, Relation::Contains, &port).unwrap();
    }
    g.add(cdu, AssetKind::Cdu);
    g.add_edge(r, Relation::CooledBy, cdu).unwrap();
}

pub fn hall() -> Graph {
    let mut g = Graph::new();
    rack(
        &mut g,
        "r1",
        &[("pdu-a", &["a1", "a2"]), ("pdu-b", &["b1", "b2"])],
        "sw1",
        "cdu1",
        4,
    );
    node(&mut g, "r1", "n1", "a1", "sw1-p1");
    node(&mut g, "r1", "n2", "a1", "sw1-p2");
    node(&mut g, "r1", "n3", "b1", "sw1-p3");
    node(&mut g, "r1", "n4", "b1", "sw1-p4");
    rack(&mut g, "r2", &[("pdu-c", &["c1"])], "sw2", "cdu2", 2);
    node(&mut g, "r2", "f1", "c1", "sw2-p1");
    node(&mut g, "r2", "f2", "c1", "sw2-p2");
    g
}

/// An alert as Alertmanager would send it, resolved to `asset`.
pub fn alert(
    fp: &str,
    alertname: &str,
    asset: Option<&str>,
    at: Millis,
    extra: &[(&str, &str)],
) -> Alert {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    labels.insert("alertname".into(), alertname.into());
    labels.insert("severity".into(), "critical".into());
    if let Some(a) = asset {
        labels.insert("asset".into(), a.into());
    }
    for (k, v) in extra {
        labels.insert(k.to_string(), v.to_string());
    }
    Alert::from_labels(fp, labels, at, asset.map(String::from))
}

pub fn xid(fp: &str, gpu: &str, code: u32, at: Millis) -> Alert {
    let c = code.to_string();
    alert(fp, "GpuXidError", Some(gpu), at, &[("xid", &c)])
}

pub fn nccl(fp: &str, on: &str, job: &str, nodes: &[&str], at: Millis) -> Alert {
    let n = nodes.join(",");
    alert(
        fp,
        "NcclTimeout",
        Some(on),
        at,
        &[("job_id", job), ("nodes", &n)],
    )
}

/// A scenario: its alerts (in startsAt order) and the true incidents.
pub struct Scenario {
    pub name: &'static str,
    pub alerts: Vec<Alert>,
    pub truth: Vec<TrueIncident>,
}

pub fn truth(root: &str, fault: Option<&str>, alerts: &[Alert]) -> TrueIncident {
    TrueIncident {
        root_asset: root.into(),
        fault: fault.map(String::from),
        members: alerts
            .iter()
            .map(|a| a.fingerprint.clone())
            .collect::<BTreeSet<_>>(),
    }
}

/// A dark feed: node down, BMC unreachable and every GPU's telemetry missing for `nodes`.
pub fn dark(prefix: &str, nodes: &[&str], at: Millis) -> Vec<Alert> {
    let mut v = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let t = at + (i as Millis) * 3 * S;
        v.push(alert(
            &format!("{prefix}-down-{n}"),
            "NodeDown",
            Some(n),
            t,
            &[],
        ));
        v.push(alert(
            &format!("{prefix}-bmc-{n}"),
            "BmcUnreachable",
            Some(&format!("bmc-{n}")),
            t + 10 * S,
            &[],
        ));
        for g in 0..8 {
            v.push(alert(
                &format!("{prefix}-tel-{n}-{g}"),
                "GpuTelemetryMissing",
                Some(&format!("gpu-{n}-{g}")),
                t + 60 * S,
                &[],
            ));
        }
    }
    v
}

pub fn pdu_feed_announced() -> Scenario {
    let mut alerts = vec![alert("feed-a1", "PduFeedLost", Some("a1"), T0, &[])];
    alerts.extend(dark("a1", &["n1", "n2"], T0 + 5 * S));
    let truth = vec![truth("a1", Some("power_feed_lost"), &alerts)];
    Scenario {
        name: "pdu feed lost, announced",
        alerts,
        truth,
    }
}

pub fn pdu_feed_unannounced() -> Scenario {
    let alerts = dark("a1", &["n1", "n2"], T0);
    let truth = vec![truth("a1", Some("power_feed_lost"), &alerts)];
    Scenario {
        name: "pdu feed lost, unannounced",
        alerts,
        truth,
    }
}

pub fn switch_down() -> Scenario {
    let mut alerts = vec![alert("sw1-down", "SwitchDown", Some("sw1"), T0, &[])];
    for (i, n) in ["n1", "n2", "n3", "n4"].iter().enumerate() {
        alerts.push(alert(
            &format!("link-{n}"),
            "NicLinkDown",
            Some(n),
            T0 + (2 + i as Millis) * S,
            &[],
        ));
    }
    // Job j1 spans n2 (under the switch) and the far nodes f1, f2: every rank times out.
    for (i, n) in ["n2", "f1", "f2"].iter().enumerate() {
        alerts.push(nccl(
            &format!("nccl-j1-{n}"),
            n,
            "j1",
            &["n2", "f1", "f2"],
            T0 + (120 + i as Millis) * S,
        ));
    }
    let truth = vec![truth("sw1", Some("switch_failed"), &alerts)];
    Scenario {
        name: "leaf switch down",
        alerts,
        truth,
    }
}

pub fn gpu_off_bus_alerts(
    gpu: &str,
    node: &str,
    job: &str,
    far: &str,
    at: Millis,
    tag: &str,
) -> Vec<Alert> {
    let peer = format!(
        "{}{}",
        &gpu[..gpu.len() - 1],
        if gpu.ends_with('3') { "4" } else { "3" }
    );
    vec![
        xid(&format!("{tag}-xid79"), gpu, 79, at),
        xid(&format!("{tag}-xid45"), gpu, 45, at + 4 * S),
        xid(&format!("{tag}-xid74-peer"), &peer, 74, at + 6 * S),
        nccl(
            &format!("{tag}-nccl-{node}"),
            node,
            job,
            &[node, far],
            at + 90 * S,
        ),
        nccl(
            &format!("{tag}-nccl-{far}"),
            far,
            job,
            &[node, far],
            at + 91 * S,
        ),
    ]
}

pub fn gpu_off_bus() -> Scenario {
    let alerts = gpu_off_bus_alerts("gpu-n3-2", "n3", "j2", "f1", T0, "bus");
    let truth = vec![truth("gpu-n3-2", Some("gpu_fallen_off_bus"), &alerts)];
    Scenario {
        name: "gpu fallen off the bus",
        alerts,
        truth,
    }
}

pub fn cdu_fault() -> Scenario {
    let mut alerts = vec![alert("cdu1-fault", "CduFault", Some("cdu1"), T0, &[])];
    for (i, g) in [
        "gpu-n1-0", "gpu-n1-4", "gpu-n2-2", "gpu-n3-7", "gpu-n4-1", "gpu-n4-6",
    ]
    .iter()
    .enumerate()
    {
        alerts.push(alert(
            &format!("hot-{g}"),
            "GpuTemperatureHigh",
            Some(g),
            T0 + (200 + 7 * i as Millis) * S,
            &[],
        ));
        if i % 2 == 0 {
            alerts.push(alert(
                &format!("thr-{g}"),
                "GpuThrottling",
                Some(g),
                T0 + (260 + 7 * i as Millis) * S,
                &[("severity", "warning")],
            ));
        }
    }
    let truth = vec![truth("cdu1", Some("cooling_failed"), &alerts)];
    Scenario {
        name: "cdu fault",
        alerts,
        truth,
    }
}

pub fn ecc_chain_alerts(gpu: &str, at: Millis) -> Vec<Alert> {
    vec![
        alert(
            &format!("sbe-{gpu}"),
            "GpuEccSbe",
            Some(gpu),
            at,
            &[("severity", "warning")],
        ),
        alert(
            &format!("dbe-{gpu}"),
            "GpuEccDbe",
            Some(gpu),
            at + 3600 * S,
            &[],
        ),
        alert(
            &format!("remap-{gpu}"),
            "GpuRowRemapFailed",
            Some(gpu),
            at + 3610 * S,
            &[],
        ),
    ]
}

pub fn ecc_chain() -> Scenario {
    let alerts = ecc_chain_alerts("gpu-n4-5", T0);
    let truth = vec![truth("gpu-n4-5", Some("gpu_memory_degraded"), &alerts)];
    Scenario {
        name: "ecc chain",
        alerts,
        truth,
    }
}

/// A feed lost and, at the same time, a GPU falling off the bus on a node of the other feed.
pub fn overlapping() -> Scenario {
    let mut feed = vec![alert("feed-a1", "PduFeedLost", Some("a1"), T0, &[])];
    feed.extend(dark("a1", &["n1", "n2"], T0 + 5 * S));
    let bus = gpu_off_bus_alerts("gpu-n3-3", "n3", "j3", "f2", T0 + 20 * S, "bus");
    let truth = vec![
        truth("a1", Some("power_feed_lost"), &feed),
        truth("gpu-n3-3", Some("gpu_fallen_off_bus"), &bus),
    ];
    let mut alerts: Vec<Alert> = feed.into_iter().chain(bus).collect();
    alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    Scenario {
        name: "overlapping faults",
        alerts,
        truth,
    }
}

/// Two feeds of two different PDUs in one rack dark at once, neither PDU saying anything.
pub fn neighbouring_pdus() -> Scenario {
    let a = dark("a1", &["n1", "n2"], T0);
    let b = dark("b1", &["n3", "n4"], T0 + 20 * S);
    let truth = vec![
        truth("a1", Some("power_feed_lost"), &a),
        truth("b1", Some("power_feed_lost"), &b),
    ];
    let mut alerts: Vec<Alert> = a.into_iter().chain(b).collect();
    alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    Scenario {
        name: "neighbouring feeds",
        alerts,
        truth,
    }
}

/// A switch down in one rack and an unrelated GPU off the bus in the other.
pub fn switch_and_unrelated_gpu() -> Scenario {
    let mut sw = vec![alert("sw2-down", "SwitchDown", Some("sw2"), T0, &[])];
    sw.push(alert("link-f1", "NicLinkDown", Some("f1"), T0 + 2 * S, &[]));
    sw.push(alert("link-f2", "NicLinkDown", Some("f2"), T0 + 3 * S, &[]));
    sw.push(nccl("nccl-j4-f1", "f1", "j4", &["f1", "f2"], T0 + 100 * S));
    let bus = gpu_off_bus_alerts("gpu-n1-3", "n1", "j5", "n4", T0 + 30 * S, "bus");
    let truth = vec![
        truth("sw2", Some("switch_failed"), &sw),
        truth("gpu-n1-3", Some("gpu_fallen_off_bus"), &bus),
    ];
    let mut alerts: Vec<Alert> = sw.into_iter().chain(bus).collect();
    alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    Scenario {
        name: "switch and unrelated gpu",
        alerts,
        truth,
    }
}

/// Unrelated single alerts: each its own incident, its own asset the root.
pub fn noise() -> Scenario {
    let alerts = vec![
        xid("noise-xid13", "gpu-n4-1", 13, T0),
        alert(
            "noise-hot",
            "GpuTemperatureHigh",
            Some("gpu-f1-3"),
            T0 + 40 * S,
            &[],
        ),
        alert(
            "noise-sbe",
            "GpuEccSbe",
            Some("gpu-n1-1"),
            T0 + 80 * S,
            &[("severity", "warning")],
        ),
        alert("noise-disk", "DiskFull", Some("n2"), T0 + 90 * S, &[]),
        alert("noise-link", "NicLinkDown", Some("f2"), T0 + 95 * S, &[]),
        alert("noise-down", "NodeDown", Some("n3"), T0 + 100 * S, &[]),
    ];
    let truth = alerts
        .iter()
        .map(|a| {
            truth(
                a.asset.as_deref().unwrap_or(""),
                None,
                std::slice::from_ref(a),
            )
        })
        .collect();
    Scenario {
        name: "pure noise",
        alerts,
        truth,
    }
}

pub fn all() -> Vec<Scenario> {
    vec![
        pdu_feed_announced(),
        pdu_feed_unannounced(),
        switch_down(),
        gpu_off_bus(),
        cdu_fault(),
        ecc_chain(),
        overlapping(),
        neighbouring_pdus(),
        switch_and_unrelated_gpu(),
        noise(),
    ]
}

/// A deterministic shuffle (a fixed linear congruential generator).
pub fn shuffled<T>(mut v: Vec<T>, seed: u64) -> Vec<T> {
    let mut x = seed;
    for i in (1..v.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = ((x >> 33) as usize) % (i + 1);
        v.swap(i, j);
    }
    v
}
