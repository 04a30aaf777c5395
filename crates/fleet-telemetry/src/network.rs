//! Derived health per switch port, from what a switch streams (gNMI `Subscribe` on the
//! OpenConfig interfaces model): administrative and operational status and the error counters.
//!
//! Like [`crate::health::HealthTracker`], a [`PortTracker`] takes readings with their time and
//! returns only the **changes**. A port's state:
//!
//! - `failed`: administratively up and operationally `DOWN`, `LOWER_LAYER_DOWN` or
//!   `NOT_PRESENT` (no link);
//! - `degraded`: up but `DORMANT`, `TESTING` or `UNKNOWN`, or input + output errors within
//!   `counter_window_s` at or over `port_errors_degraded`;
//! - `missing`: the switch's stream is gone ([`PortTracker::unreachable`]) until it reports again;
//! - `healthy`: otherwise, including a port set administratively down (switched off on purpose);
//! - `unknown`: nothing read yet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::health::{Health, HealthConfig, HealthState, Reason};
use crate::{Nanos, SECOND};

/// What one update says about one port; `None` leaves the field as it was.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PortReading {
    pub port: String,
    pub admin_up: Option<bool>,
    pub oper_status: Option<String>,
    /// Input errors (a counter).
    pub in_errors: Option<f64>,
    /// Output errors (a counter).
    pub out_errors: Option<f64>,
}

/// The latest known status of one port.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PortStatus {
    pub admin_up: Option<bool>,
    pub oper_status: Option<String>,
    pub in_errors: Option<f64>,
    pub out_errors: Option<f64>,
    /// Last update, nanoseconds since the Unix epoch.
    pub last_seen: Option<Nanos>,
    pub health: Health,
}

/// One change of a port's derived health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortChange {
    pub switch: String,
    pub port: String,
    pub at: Nanos,
    pub old: Health,
    pub new: Health,
}

#[derive(Debug, Clone, Default)]
struct Port {
    status: PortStatus,
    /// Error counter increments `(at, delta)` within the window.
    increments: Vec<(Nanos, f64)>,
    /// `(since, error)` while the switch cannot be read.
    unreachable: Option<(Nanos, String)>,
}

/// Derived health of every port of every switch, keyed by switch then port name.
#[derive(Debug, Clone, Default)]
pub struct PortTracker {
    config: HealthConfig,
    switches: BTreeMap<String, BTreeMap<String, Port>>,
}

impl PortTracker {
    pub fn new(config: HealthConfig) -> Self {
        Self {
            config,
            switches: BTreeMap::new(),
        }
    }

    /// The ports of `switch` with their status, by name.
    pub fn ports(&self, switch: &str) -> BTreeMap<String, PortStatus> {
        self.switches
            .get(switch)
            .map(|ps| {
                ps.iter()
                    .map(|(k, p)| (k.clone(), p.status.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ports known, by state.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for p in self.switches.values().flat_map(|ps| ps.values()) {
            *out.entry(p.status.health.state.as_str().to_string())
                .or_default() += 1;
        }
        out
    }

    /// Takes updates of `switch`'s ports at `at`. A reading is a sign of life of the whole
    /// switch: its ports leave `missing`.
    pub fn observe(
        &mut self,
        switch: &str,
        at: Nanos,
        readings: &[PortReading],
    ) -> Vec<PortChange> {
        let ports = self.switches.entry(switch.to_string()).or_default();
        let mut touched: Vec<String> = Vec::new();
        let revived: Vec<String> = ports
            .iter_mut()
            .filter_map(|(k, p)| p.unreachable.take().map(|_| k.clone()))
            .collect();
        for r in readings {
            let p = ports.entry(r.port.clone()).or_default();
            let s = &mut p.status;
            s.last_seen = Some(s.last_seen.map_or(at, |t| t.max(at)));
            if let Some(a) = r.admin_up {
                s.admin_up = Some(a);
            }
            if let Some(o) = &r.oper_status {
                s.oper_status = Some(o.to_ascii_uppercase());
            }
            for (slot, new) in [
                (&mut s.in_errors, r.in_errors),
                (&mut s.out_errors, r.out_errors),
            ] {
                let Some(v) = new.filter(|v| v.is_finite()) else {
                    continue;
                };
                // A counter that went down was reset: re-based, no increment.
                if let Some(prev) = *slot {
                    if v > prev {
                        p.increments.push((at, v - prev));
                    }
                }
                *slot = Some(v);
            }
            touched.push(r.port.clone());
        }
        touched.extend(revived);
        touched.sort_unstable();
        touched.dedup();
        let mut out = Vec::new();
        for port in touched {
            out.extend(self.evaluate(switch, &port, at));
        }
        out
    }

    /// The switch could not be read at `at`: every port known of it turns `missing`.
    pub fn unreachable(&mut self, switch: &str, at: Nanos, error: &str) -> Vec<PortChange> {
        let Some(ports) = self.switches.get_mut(switch) else {
            return Vec::new();
        };
        let names: Vec<String> = ports.keys().cloned().collect();
        for p in ports.values_mut() {
            let since = p.unreachable.as_ref().map_or(at, |(s, _)| *s);
            p.unreachable = Some((since, error.to_string()));
        }
        names
            .into_iter()
            .filter_map(|port| self.evaluate(switch, &port, at))
            .collect()
    }

    /// Re-derives every port at `now` (error windows that ran out).
    pub fn tick(&mut self, now: Nanos) -> Vec<PortChange> {
        let keys: Vec<(String, String)> = self
            .switches
            .iter()
            .flat_map(|(s, ps)| ps.keys().map(move |p| (s.clone(), p.clone())))
            .collect();
        keys.into_iter()
            .filter_map(|(s, p)| self.evaluate(&s, &p, now))
            .collect()
    }

    fn evaluate(&mut self, switch: &str, port: &str, now: Nanos) -> Option<PortChange> {
        let window_s = self.config.counter_window_s;
        let threshold = self.config.port_errors_degraded;
        let p = self.switches.get_mut(switch)?.get_mut(port)?;
        let from = now - window_s as Nanos * SECOND;
        p.increments.retain(|(at, _)| *at > from);
        let mut reasons = Vec::new();
        if let Some((since, error)) = &p.unreachable {
            reasons.push(Reason::SwitchUnreachable {
                since: *since,
                error: error.clone(),
            });
        }
        let s = &p.status;
        if s.admin_up == Some(true) {
            if let Some(o) = s.oper_status.as_deref().filter(|o| *o != "UP") {
                reasons.push(Reason::PortDown {
                    oper_status: o.to_string(),
                });
            }
        }
        let increase: f64 = p.increments.iter().map(|(_, d)| d).sum();
        if increase >= threshold && threshold > 0.0 {
            reasons.push(Reason::PortErrors {
                increase,
                window_s,
                threshold,
            });
        }
        let state = if s.last_seen.is_none() {
            HealthState::Unknown
        } else {
            reasons
                .iter()
                .map(Reason::severity)
                .max_by_key(|r| r.rank())
                .unwrap_or(HealthState::Healthy)
        };
        let new = Health { state, reasons };
        if p.status.health.same_as(&new) {
            return None;
        }
        let old = std::mem::replace(&mut p.status.health, new.clone());
        Some(PortChange {
            switch: switch.to_string(),
            port: port.to_string(),
            at: now,
            old,
            new,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Nanos = 1_700_000_000 * SECOND;

    fn reading(port: &str, admin: bool, oper: &str, errors: f64) -> PortReading {
        PortReading {
            port: port.into(),
            admin_up: Some(admin),
            oper_status: Some(oper.into()),
            in_errors: Some(errors),
            out_errors: Some(0.0),
        }
    }

    fn states(changes: &[PortChange]) -> Vec<(String, HealthState)> {
        changes
            .iter()
            .map(|c| (c.port.clone(), c.new.state))
            .collect()
    }

    #[test]
    fn link_down_fails_only_when_admin_up() {
        let mut t = PortTracker::new(HealthConfig::default());
        let c = t.observe(
            "sw1",
            T0,
            &[
                reading("Ethernet1", true, "UP", 0.0),
                reading("Ethernet2", false, "DOWN", 0.0),
            ],
        );
        assert_eq!(
            states(&c),
            vec![
                ("Ethernet1".into(), HealthState::Healthy),
                ("Ethernet2".into(), HealthState::Healthy)
            ]
        );
        // Only the oper-status of Ethernet1 arrives (an ON_CHANGE update).
        let c = t.observe(
            "sw1",
            T0 + SECOND,
            &[PortReading {
                port: "Ethernet1".into(),
                oper_status: Some("down".into()),
                ..Default::default()
            }],
        );
        assert_eq!(states(&c), vec![("Ethernet1".into(), HealthState::Failed)]);
        assert!(
            matches!(&c[0].new.reasons[0], Reason::PortDown { oper_status } if oper_status == "DOWN")
        );
        // The same again is no change; a dormant link is only degraded.
        assert!(t
            .observe(
                "sw1",
                T0 + 2 * SECOND,
                &[reading("Ethernet1", true, "DOWN", 0.0)]
            )
            .is_empty());
        let c = t.observe(
            "sw1",
            T0 + 3 * SECOND,
            &[reading("Ethernet1", true, "DORMANT", 0.0)],
        );
        assert_eq!(
            states(&c),
            vec![("Ethernet1".into(), HealthState::Degraded)]
        );
        assert_eq!(t.counts().get("healthy"), Some(&1));
    }

    #[test]
    fn errors_count_by_increase_within_the_window() {
        let mut t = PortTracker::new(HealthConfig::default());
        // A large absolute count at the start is history, not an increase.
        t.observe("sw1", T0, &[reading("Ethernet1", true, "UP", 5_000.0)]);
        let c = t.observe(
            "sw1",
            T0 + 10 * SECOND,
            &[reading("Ethernet1", true, "UP", 5_060.0)],
        );
        assert!(c.is_empty(), "{c:?}");
        let c = t.observe(
            "sw1",
            T0 + 20 * SECOND,
            &[reading("Ethernet1", true, "UP", 5_120.0)],
        );
        assert_eq!(
            states(&c),
            vec![("Ethernet1".into(), HealthState::Degraded)]
        );
        // A reset re-bases; the window running out clears the reason.
        assert!(t
            .observe(
                "sw1",
                T0 + 30 * SECOND,
                &[reading("Ethernet1", true, "UP", 3.0)]
            )
            .is_empty());
        let c = t.tick(T0 + 3_700 * SECOND);
        assert_eq!(states(&c), vec![("Ethernet1".into(), HealthState::Healthy)]);
    }

    #[test]
    fn an_unreachable_switch_makes_its_ports_missing_until_it_answers() {
        let mut t = PortTracker::new(HealthConfig::default());
        t.observe(
            "sw1",
            T0,
            &[
                reading("Ethernet1", true, "UP", 0.0),
                reading("Ethernet2", true, "UP", 0.0),
            ],
        );
        let c = t.unreachable("sw1", T0 + SECOND, "connection refused");
        assert_eq!(
            states(&c),
            vec![
                ("Ethernet1".into(), HealthState::Missing),
                ("Ethernet2".into(), HealthState::Missing)
            ]
        );
        // Still unreachable: no new change, and the first time stays.
        assert!(t.unreachable("sw1", T0 + 5 * SECOND, "timeout").is_empty());
        match &t.ports("sw1")["Ethernet1"].health.reasons[0] {
            Reason::SwitchUnreachable { since, .. } => assert_eq!(*since, T0 + SECOND),
            r => panic!("{r:?}"),
        }
        // One update of one port brings every port of the switch back.
        let c = t.observe(
            "sw1",
            T0 + 9 * SECOND,
            &[reading("Ethernet2", true, "UP", 0.0)],
        );
        assert_eq!(
            states(&c),
            vec![
                ("Ethernet1".into(), HealthState::Healthy),
                ("Ethernet2".into(), HealthState::Healthy)
            ]
        );
        assert!(t.unreachable("sw-unknown", T0, "x").is_empty());
    }
}
