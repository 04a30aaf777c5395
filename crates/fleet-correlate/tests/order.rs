//! Random storms on the small hall: whatever the arrival order, the same incidents; every alert
//! in exactly one incident. A fixed generator, so a failure names a seed that reproduces it.

mod common;

use std::collections::BTreeMap;

use common::*;
use fleet_correlate::{Alert, Engine, Incident};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

const NODES: [&str; 6] = ["n1", "n2", "n3", "n4", "f1", "f2"];

fn random_storm(seed: u64, len: usize) -> Vec<Alert> {
    let mut r = Lcg(seed);
    let mut out = Vec::new();
    for i in 0..len {
        let n = NODES[r.next(NODES.len())];
        let gpu = format!("gpu-{n}-{}", r.next(8));
        let at = T0 + r.next(3600) as i64 * S;
        let fp = format!("a{i}");
        let a = match r.next(16) {
            0 => alert(&fp, "NodeDown", Some(n), at, &[]),
            1 => alert(&fp, "BmcUnreachable", Some(&format!("bmc-{n}")), at, &[]),
            2 => alert(&fp, "GpuTelemetryMissing", Some(&gpu), at, &[]),
            3 => xid(&fp, &gpu, [79, 45, 74, 13, 48, 63][r.next(6)], at),
            4 => alert(&fp, "GpuEccSbe", Some(&gpu), at, &[]),
            5 => alert(&fp, "GpuEccDbe", Some(&gpu), at, &[]),
            6 => alert(&fp, "GpuRowRemapFailed", Some(&gpu), at, &[]),
            7 => alert(&fp, "GpuThermal", Some(&gpu), at, &[]),
            8 => alert(&fp, "GpuThrottling", Some(&gpu), at, &[]),
            9 => alert(&fp, "NicLinkDown", Some(n), at, &[]),
            10 => alert(&fp, "SwitchDown", Some(["sw1", "sw2"][r.next(2)]), at, &[]),
            11 => alert(
                &fp,
                "PduFeedLost",
                Some(["a1", "b1", "c1", "a2"][r.next(4)]),
                at,
                &[],
            ),
            12 => alert(&fp, "CduFault", Some(["cdu1", "cdu2"][r.next(2)]), at, &[]),
            13 => alert(
                &fp,
                "PduDown",
                Some(["pdu-a", "pdu-b", "pdu-c"][r.next(3)]),
                at,
                &[],
            ),
            14 => {
                let other = NODES[r.next(NODES.len())];
                nccl(&fp, n, &format!("j{}", r.next(3)), &[n, other], at)
            }
            _ => alert(&fp, "SomethingElse", None, at, &[]),
        };
        out.push(a);
    }
    out
}

fn incidents(alerts: &[Alert]) -> Vec<Incident> {
    let mut e = Engine::with_defaults(hall()).unwrap();
    for a in alerts {
        e.ingest(a.clone(), T0);
    }
    e.incidents(T0 + 7200 * S)
}

#[test]
fn random_storms_give_the_same_incidents_in_any_order() {
    for seed in 0..40u64 {
        let len = 10 + (seed as usize * 7) % 90;
        let storm = random_storm(seed, len);
        let reference = incidents(&storm);
        // Every alert in exactly one incident.
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for i in &reference {
            for m in &i.members {
                *count.entry(m.as_str()).or_default() += 1;
            }
        }
        assert_eq!(count.len(), storm.len(), "seed {seed}");
        assert!(count.values().all(|&c| c == 1), "seed {seed}");
        for shuffle in 1..4 {
            let got = incidents(&shuffled(storm.clone(), seed * 31 + shuffle));
            if got != reference {
                let a: Vec<_> = reference.iter().map(|i| (&i.id, i.members.len())).collect();
                let b: Vec<_> = got.iter().map(|i| (&i.id, i.members.len())).collect();
                panic!("seed {seed}, shuffle {shuffle}:\n{a:?}\n{b:?}");
            }
        }
    }
}
